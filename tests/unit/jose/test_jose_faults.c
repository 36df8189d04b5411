/* Failure paths inside OpenSSL and allocation, reached with the fault hook (src/base/fault.h,
 * curl's torture mode): every OpenSSL call and allocation that verification, signing and key
 * handling make is failed in turn, and each failure must come out as a refusal (a token never
 * accepted, never a "bad signature" that is really an internal fault), with nothing leaked
 * (LeakSanitizer) and the next call working again. Built only with WDN_FAULT (asan, coverage). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "jose/jwk.h"
#include "jose/jwt.h"
#include "jose/sign.h"
#include "../support/certs.h"
#include "../support/faultjson.h"

#define NOW 1700000000
#define ISS "https://issuer.example/"
#define CLAIMS "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"sub\":\"alice\",\"exp\":1700000600}"

static struct wdn_jose_key *rsa, *ps, *ec, *ed;
static struct wdn_jwks *keys;
static struct wdn_jwt_rules rules;
static const char *const auds[] = {"api"};

static int setup(void **state)
{
    const struct wdn_jose_key *set[4];
    char *jwks;

    rsa = wdn_jose_key_generate(WDN_JOSE_RS256, 2048, "rsa1", NULL);
    ps = wdn_jose_key_generate(WDN_JOSE_PS256, 2048, "ps1", NULL);
    ec = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "ec1", NULL);
    ed = wdn_jose_key_generate(WDN_JOSE_EDDSA, 0, "ed1", NULL);
    if (!rsa || !ps || !ec || !ed)
        return -1;
    set[0] = rsa;
    set[1] = ps;
    set[2] = ec;
    set[3] = ed;
    jwks = wdn_jose_jwks_export(set, 4);
    keys = wdn_jwks_parse(wdn_str_from_cstr(jwks), NULL);
    free(jwks);
    if (keys == NULL || wdn_jwks_count(keys) != 4)
        return -1;
    wdn_jwt_rules_init(&rules);
    rules.issuer = ISS;
    rules.audiences = auds;
    rules.n_audiences = 1;
    tf_json_faults();
    return 0;
}

static int teardown(void **state)
{
    wdn_fault_disarm();
    wdn_jwks_release(keys);
    wdn_jose_key_free(rsa);
    wdn_jose_key_free(ps);
    wdn_jose_key_free(ec);
    wdn_jose_key_free(ed);
    wdn_jose_thread_cleanup();
    return 0;
}

/* A token signed by k (no faults armed), in a caller buffer. */
static void sign_into(const struct wdn_jose_key *k, char *tok, size_t cap)
{
    struct wdn_buf b;

    wdn_buf_init(&b, WDN_JWT_MAX_TOKEN_BYTES);
    assert_int_equal(wdn_jws_sign(k, wdn_str_from_cstr(CLAIMS), NULL, &b), 0);
    assert_true(b.len < cap);
    memcpy(tok, b.data, b.len);
    tok[b.len] = '\0';
    wdn_buf_reset(&b);
}

static enum wdn_jwt_reason verify(const char *tok)
{
    struct wdn_jwt *j = NULL;
    enum wdn_jwt_reason r = wdn_jwt_verify(keys, &rules, wdn_str_from_cstr(tok), NOW, &j);

    if (r == WDN_JWT_OK)
        assert_non_null(j);
    else
        assert_null(j);
    wdn_jwt_release(j);
    return r;
}

#define assert_reason(got, want)                                                                   \
    do {                                                                                           \
        enum wdn_jwt_reason g_ = (got), w_ = (want);                                               \
        if (g_ != w_)                                                                              \
            fail_msg("reason %s, expected %s", wdn_jwt_reason_name(g_), wdn_jwt_reason_name(w_));  \
    } while (0)

/* Verification with a fresh thread state (no cached digest or key contexts) and the nth site of
 * `site` failing; returns the number of sites failed in turn before the clean run. */
static unsigned sweep_verify(enum wdn_fault_site site, const char *tok)
{
    unsigned n;

    for (n = 1;; n++) {
        enum wdn_jwt_reason r;

        wdn_jose_thread_cleanup();
        wdn_fault_arm(site, n);
        r = verify(tok);
        wdn_fault_disarm();
        if (!wdn_fault_fired()) {
            assert_reason(r, WDN_JWT_OK);
            break;
        }
        /* An internal failure is never a valid token, and never reported as a forged one. */
        assert_reason(r, WDN_JWT_INTERNAL);
    }
    return n - 1;
}

/* attack: make OpenSSL fail (memory pressure) while a token is checked, hoping the failure reads
 * as success. Every context creation, initialisation, padding/digest setting and digest step of
 * RS256, PS256, ES256 and EdDSA verification is failed in turn. */
static void test_verify_openssl_failure_refused(void **state)
{
    struct {
        const struct wdn_jose_key *k;
        unsigned min_sites;
    } cases[] = {
        /* 2 thread contexts, digest init/update/final, context new/init/padding/md (+ mgf1 and
         * salt length for PSS); EdDSA: 2 thread contexts and the one-shot init. */
        {rsa, 9},
        {ps, 11},
        {ec, 8},
        {ed, 3},
    };
    char tok[WDN_JWT_MAX_TOKEN_BYTES];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sign_into(cases[i].k, tok, sizeof(tok));
        unsigned sites = sweep_verify(WDN_FAULT_CRYPTO, tok);
        if (sites < cases[i].min_sites)
            fail_msg("%s: %u OpenSSL sites failed in turn, expected at least %u",
                     wdn_jose_alg_name(wdn_jose_key_alg(cases[i].k)), sites, cases[i].min_sites);
        /* The per-thread context cache was not left holding a half-made context. */
        assert_reason(verify(tok), WDN_JWT_OK);
    }
}

/* The per-thread state cannot be allocated: the token is refused as an internal error. */
static void test_verify_thread_state_alloc_failure_refused(void **state)
{
    char tok[WDN_JWT_MAX_TOKEN_BYTES];

    sign_into(rsa, tok, sizeof(tok));
    wdn_jose_thread_cleanup();
    wdn_fault_arm(WDN_FAULT_ALLOC, 1);
    assert_reason(verify(tok), WDN_JWT_INTERNAL);
    wdn_fault_disarm();
    assert_true(wdn_fault_fired());
    assert_reason(verify(tok), WDN_JWT_OK);
}

/* A cached context is reused: a second token under the same key makes no context call, so a
 * fault armed for the first context call lands on a digest step and still refuses it. */
static void test_verify_cached_context_digest_failure_refused(void **state)
{
    char tok[WDN_JWT_MAX_TOKEN_BYTES];

    sign_into(ec, tok, sizeof(tok));
    assert_reason(verify(tok), WDN_JWT_OK);
    for (unsigned n = 1; n <= 3; n++) {
        wdn_fault_arm(WDN_FAULT_CRYPTO, n);
        assert_reason(verify(tok), WDN_JWT_INTERNAL);
        assert_true(wdn_fault_fired());
    }
    wdn_fault_arm(WDN_FAULT_CRYPTO, 4);
    assert_reason(verify(tok), WDN_JWT_OK);
    assert_false(wdn_fault_fired());
    wdn_fault_disarm();
}

/* wdn_jose_sha256 (token hashes, thumbprints): an allocation failure is WDN_ENOMEM, an OpenSSL
 * failure WDN_ECRYPTO, and the digest is right again afterwards. */
static void test_sha256_failures(void **state)
{
    static const unsigned char abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                          0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                          0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                          0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    unsigned char out[32];
    unsigned n;

    wdn_jose_thread_cleanup();
    wdn_fault_arm(WDN_FAULT_ALLOC, 1);
    assert_int_equal(wdn_jose_sha256("abc", 3, out), WDN_ENOMEM);
    for (n = 1;; n++) {
        int rc;

        wdn_jose_thread_cleanup();
        wdn_fault_arm(WDN_FAULT_CRYPTO, n);
        rc = wdn_jose_sha256("abc", 3, out);
        wdn_fault_disarm();
        if (!wdn_fault_fired()) {
            assert_int_equal(rc, 0);
            break;
        }
        /* The first two sites make the thread's contexts (no memory), the rest digest. */
        assert_int_equal(rc, n <= 2 ? WDN_ENOMEM : WDN_ECRYPTO);
    }
    assert_int_equal(n - 1, 5);
    assert_memory_equal(out, abc, 32);
}

/* Signing: every OpenSSL step failed in turn is WDN_ECRYPTO with the output buffer as it was
 * (no half-written token), for each key type; then signing works and the token verifies. */
static void test_sign_openssl_failure(void **state)
{
    const struct wdn_jose_key *ks[] = {rsa, ps, ec, ed};
    static const unsigned min_sites[] = {3, 5, 4, 3};

    for (size_t i = 0; i < 4; i++) {
        struct wdn_buf b;
        unsigned n;

        wdn_buf_init(&b, WDN_JWT_MAX_TOKEN_BYTES);
        assert_int_equal(wdn_buf_append_cstr(&b, "prefix"), 0);
        for (n = 1;; n++) {
            int rc;

            wdn_fault_arm(WDN_FAULT_CRYPTO, n);
            rc = wdn_jws_sign(ks[i], wdn_str_from_cstr(CLAIMS), NULL, &b);
            wdn_fault_disarm();
            if (!wdn_fault_fired()) {
                assert_int_equal(rc, 0);
                break;
            }
            assert_int_equal(rc, WDN_ECRYPTO);
            assert_int_equal(b.len, 6);
            assert_memory_equal(b.data, "prefix", 6);
        }
        if (n - 1 < min_sites[i])
            fail_msg("key %zu: %u OpenSSL sites, expected at least %u", i, n - 1, min_sites[i]);
        char *tok = strndup(b.data + 6, b.len - 6);
        assert_reason(verify(tok), WDN_JWT_OK);
        free(tok);
        wdn_buf_reset(&b);
    }
}

/* Signing when jansson cannot allocate the header: WDN_ENOMEM, output untouched. */
static void test_sign_header_alloc_failure(void **state)
{
    struct wdn_buf b;
    unsigned n;

    wdn_buf_init(&b, WDN_JWT_MAX_TOKEN_BYTES);
    for (n = 1;; n++) {
        int rc;

        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        rc = wdn_jws_sign(ec, wdn_str_from_cstr(CLAIMS), "at+jwt", &b);
        wdn_fault_disarm();
        if (!wdn_fault_fired()) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, WDN_ENOMEM);
        assert_int_equal(b.len, 0);
    }
    /* json_object, three members (key and string each), the dump. */
    assert_true(n - 1 >= 5);
    wdn_buf_reset(&b);
}

/* Key generation: OpenSSL failing is "key generation failed"; the thumbprint (the default kid)
 * failing is "cannot compute the key thumbprint"; the handle's allocation "out of memory". */
static void test_key_generate_failures(void **state)
{
    static const enum wdn_jose_alg algs[] = {WDN_JOSE_RS256, WDN_JOSE_ES256, WDN_JOSE_ES384,
                                             WDN_JOSE_EDDSA};
    struct wdn_diag d;
    struct wdn_jose_key *k;

    for (size_t i = 0; i < 4; i++) {
        wdn_diag_clear(&d);
        wdn_fault_arm(WDN_FAULT_CRYPTO, 1);
        k = wdn_jose_key_generate(algs[i], 0, "k", &d);
        wdn_fault_disarm();
        assert_null(k);
        assert_int_equal(d.code, WDN_ECRYPTO);
        assert_string_equal(d.msg, "key generation failed");
    }
    /* No kid: the thumbprint's digest (after the key is made) fails. */
    wdn_jose_thread_cleanup();
    wdn_diag_clear(&d);
    wdn_fault_arm(WDN_FAULT_CRYPTO, 4);
    k = wdn_jose_key_generate(WDN_JOSE_EDDSA, 0, NULL, &d);
    wdn_fault_disarm();
    assert_true(wdn_fault_fired());
    assert_null(k);
    assert_int_equal(d.code, WDN_ECRYPTO);
    assert_string_equal(d.msg, "cannot compute the key thumbprint");
    /* The handle. */
    wdn_diag_clear(&d);
    wdn_fault_arm(WDN_FAULT_ALLOC, 1);
    k = wdn_jose_key_generate(WDN_JOSE_EDDSA, 0, "k", &d);
    wdn_fault_disarm();
    assert_null(k);
    assert_int_equal(d.code, WDN_ENOMEM);
    assert_string_equal(d.msg, "out of memory");
    /* The thumbprint's JSON (jansson through the same hook). */
    for (unsigned n = 1;; n++) {
        wdn_diag_clear(&d);
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        k = wdn_jose_key_generate(WDN_JOSE_EDDSA, 0, NULL, &d);
        wdn_fault_disarm();
        if (!wdn_fault_fired()) {
            assert_non_null(k);
            assert_int_equal(strlen(wdn_jose_key_kid(k)), 43);
            wdn_jose_key_free(k);
            break;
        }
        assert_null(k);
        assert_true(d.code == WDN_ENOMEM || d.code == WDN_ECRYPTO);
    }
}

/* PEM: saving fails cleanly (no file left behind), loading reports out of memory rather than
 * "no PEM key" when the memory BIO cannot be made. */
static void test_pem_failures(void **state)
{
    char dir[] = "/tmp/wdn-jose-faults-XXXXXX", path[64];
    struct wdn_diag d;
    struct wdn_jose_key *k;
    struct stat st;
    unsigned n;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    for (n = 1;; n++) {
        int rc;

        wdn_diag_clear(&d);
        wdn_fault_arm(WDN_FAULT_CRYPTO, n);
        rc = wdn_jose_key_save_pem(ec, path, &d);
        wdn_fault_disarm();
        if (!wdn_fault_fired()) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, WDN_ECRYPTO);
        assert_string_equal(d.msg, "cannot encode the key");
        assert_int_equal(stat(path, &st), -1);
    }
    assert_int_equal(n - 1, 2);
    assert_int_equal(stat(path, &st), 0);

    wdn_diag_clear(&d);
    wdn_fault_arm(WDN_FAULT_CRYPTO, 1);
    k = wdn_jose_key_load_pem(path, WDN_JOSE_ES256, "ec1", &d);
    wdn_fault_disarm();
    assert_null(k);
    assert_int_equal(d.code, WDN_ENOMEM);
    assert_string_equal(d.msg, "out of memory");
    k = wdn_jose_key_load_pem(path, WDN_JOSE_ES256, "ec1", &d);
    assert_non_null(k);
    wdn_jose_key_free(k);

    wdn_diag_clear(&d);
    wdn_fault_arm(WDN_FAULT_CRYPTO, 1);
    k = wdn_jose_key_from_pem(wdn_str_from_cstr("-----BEGIN PRIVATE KEY-----\n"), WDN_JOSE_ES256,
                              NULL, &d);
    wdn_fault_disarm();
    assert_null(k);
    assert_int_equal(d.code, WDN_ENOMEM);
    unlink(path);
    rmdir(dir);
}

/* Publishing keys (JWKS, one public JWK) when jansson cannot allocate: NULL, nothing leaked. */
static void test_jwks_export_alloc_failure(void **state)
{
    const struct wdn_jose_key *set[] = {rsa, ec, ed};
    unsigned n;
    char *s;

    for (n = 1;; n++) {
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        s = wdn_jose_jwks_export(set, 3);
        wdn_fault_disarm();
        if (!wdn_fault_fired())
            break;
        assert_null(s);
    }
    assert_non_null(s);
    assert_non_null(strstr(s, "\"kid\":\"ed1\""));
    free(s);
    assert_true(n - 1 >= 10);
    for (n = 1;; n++) {
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        s = wdn_jose_key_public_jwk(rsa);
        wdn_fault_disarm();
        if (!wdn_fault_fired())
            break;
        assert_null(s);
    }
    assert_non_null(strstr(s, "\"kid\":\"rsa1\""));
    free(s);
}

/* One key's JWKS imported while OpenSSL or an allocation fails: the result is no key set (out of
 * memory) or a set that skipped the key, never a half-imported key; a token the key signed is
 * then refused, and the clean import verifies it. */
static void sweep_jwks_import(const char *doc, const char *tok, const char *what)
{
    static const enum wdn_fault_site sites[] = {WDN_FAULT_CRYPTO, WDN_FAULT_ALLOC};

    for (size_t c = 0; c < 2; c++) {
        unsigned n;

        for (n = 1;; n++) {
            struct wdn_diag d;
            struct wdn_jwks *ks;

            wdn_diag_clear(&d);
            wdn_fault_arm(sites[c], n);
            ks = wdn_jwks_parse(wdn_str_from_cstr(doc), &d);
            wdn_fault_disarm();
            if (!wdn_fault_fired()) {
                assert_non_null(ks);
                assert_int_equal(wdn_jwks_count(ks), 1);
                assert_reason(wdn_jwt_verify(ks, &rules, wdn_str_from_cstr(tok), NOW, NULL),
                              WDN_JWT_OK);
                wdn_jwks_release(ks);
                break;
            }
            if (ks == NULL) {
                /* Our allocations say so; jansson reports its own as a document it could not
                 * parse. Either way no key set. */
                assert_true(d.code == WDN_ENOMEM || d.code == WDN_EPARSE);
                continue;
            }
            assert_int_equal(wdn_jwks_count(ks), 0);
            assert_int_equal(wdn_jwks_skipped(ks), 1);
            assert_reason(wdn_jwt_verify(ks, &rules, wdn_str_from_cstr(tok), NOW, NULL),
                          WDN_JWT_UNKNOWN_KID);
            wdn_jwks_release(ks);
        }
        if (n - 1 < 2)
            fail_msg("%s: only %u %s sites failed in turn", what, n - 1,
                     c == 0 ? "OpenSSL" : "allocation");
    }
}

static void test_jwks_import_failures(void **state)
{
    const struct wdn_jose_key *ks[] = {rsa, ec, ed};
    char tok[WDN_JWT_MAX_TOKEN_BYTES];

    for (size_t i = 0; i < 3; i++) {
        char *jwk = wdn_jose_key_public_jwk(ks[i]), doc[4096];

        snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", jwk);
        free(jwk);
        sign_into(ks[i], tok, sizeof(tok));
        sweep_jwks_import(doc, tok, wdn_jose_key_kid(ks[i]));
    }
}

/* The same for an RSA key published only as a certificate (x5c). */
static void test_jwks_import_x5c_failures(void **state)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    struct certs_spec spec = {.cn = "x5c", .not_before_secs = -60, .not_after_secs = 3600};
    X509 *cert;
    unsigned char *der = NULL;
    char b64[4096], doc[4600], tok[WDN_JWT_MAX_TOKEN_BYTES];
    struct wdn_jose_key *signer;
    BIO *bio = BIO_new(BIO_s_mem());
    char *p;
    long plen;
    size_t len = 0;
    int dlen;

    assert_non_null(key);
    cert = certs_make(key, &spec, NULL, NULL);
    assert_non_null(cert);
    dlen = i2d_X509(cert, &der);
    assert_true(dlen > 0);
    assert_int_equal(wdn_b64std_encode(der, (size_t)dlen, b64, sizeof(b64), &len), 0);
    snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x5c1\",\"x5c\":[\"%.*s\"]}]}",
             (int)len, b64);
    /* The signer: the same key as a warden key handle (through PEM). */
    assert_true(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1);
    plen = BIO_get_mem_data(bio, &p);
    signer = wdn_jose_key_from_pem((struct wdn_str){p, (size_t)plen}, WDN_JOSE_RS256, "x5c1", NULL);
    assert_non_null(signer);
    sign_into(signer, tok, sizeof(tok));
    sweep_jwks_import(doc, tok, "x5c");
    wdn_jose_key_free(signer);
    BIO_free(bio);
    OPENSSL_free(der);
    X509_free(cert);
    EVP_PKEY_free(key);
}

/* One JWK (not a set) imported while allocations fail: no key, and a reason. */
static void test_jwk_import_alloc_failure(void **state)
{
    char *jwk = wdn_jose_key_public_jwk(ec);
    unsigned n;

    for (n = 1;; n++) {
        struct wdn_diag d;
        struct wdn_jwks *ks;

        wdn_diag_clear(&d);
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        ks = wdn_jwks_parse_jwk(wdn_str_from_cstr(jwk), &d);
        wdn_fault_disarm();
        if (!wdn_fault_fired()) {
            assert_int_equal(wdn_jwks_count(ks), 1);
            wdn_jwks_release(ks);
            break;
        }
        assert_null(ks);
        if (d.code != WDN_ENOMEM && d.code != WDN_EPARSE && d.code != WDN_EUNSUPPORTED)
            fail_msg("allocation %u: %d %s", n, d.code, d.msg);
    }
    assert_true(n - 1 >= 3);
    free(jwk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_openssl_failure_refused),
        cmocka_unit_test(test_verify_thread_state_alloc_failure_refused),
        cmocka_unit_test(test_verify_cached_context_digest_failure_refused),
        cmocka_unit_test(test_sha256_failures),
        cmocka_unit_test(test_sign_openssl_failure),
        cmocka_unit_test(test_sign_header_alloc_failure),
        cmocka_unit_test(test_key_generate_failures),
        cmocka_unit_test(test_pem_failures),
        cmocka_unit_test(test_jwks_export_alloc_failure),
        cmocka_unit_test(test_jwks_import_failures),
        cmocka_unit_test(test_jwks_import_x5c_failures),
        cmocka_unit_test(test_jwk_import_alloc_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
