/* Tests for JWS/JWT verification: RFC vectors, tokens from the openssl command line, and one
 * test per attack, named after it. */
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
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "jose/jwk.h"
#include "jose/jwt.h"
#include "jose/sign.h"

#define NOW 1700000000
#define ISS "https://issuer.example/"

static struct wdn_jose_key *rsa, *rsa_same_kid, *ec, *ed, *ps, *attacker;
static struct wdn_jwks *keys;
static struct wdn_jwt_rules rules;
static const char *const auds[] = {"api"};
static char tokbuf[WDN_JWT_MAX_TOKEN_BYTES * 2];

static struct wdn_jwks *parse(const char *json)
{
    return wdn_jwks_parse(wdn_str_from_cstr(json), NULL);
}

static int setup(void **state)
{
    const struct wdn_jose_key *set[4];
    char *jwks;

    rsa = wdn_jose_key_generate(WDN_JOSE_RS256, 2048, "rsa1", NULL);
    rsa_same_kid = wdn_jose_key_generate(WDN_JOSE_RS256, 2048, "rsa1", NULL);
    ec = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "ec1", NULL);
    ed = wdn_jose_key_generate(WDN_JOSE_EDDSA, 0, "ed1", NULL);
    ps = wdn_jose_key_generate(WDN_JOSE_PS256, 3072, "ps1", NULL);
    attacker = wdn_jose_key_generate(WDN_JOSE_RS256, 2048, "attacker", NULL);
    if (!rsa || !rsa_same_kid || !ec || !ed || !ps || !attacker)
        return -1;
    set[0] = rsa;
    set[1] = ec;
    set[2] = ed;
    set[3] = ps;
    jwks = wdn_jose_jwks_export(set, 4);
    keys = parse(jwks);
    free(jwks);
    if (keys == NULL || wdn_jwks_count(keys) != 4)
        return -1;
    wdn_jwt_rules_init(&rules);
    rules.issuer = ISS;
    rules.audiences = auds;
    rules.n_audiences = 1;
    return 0;
}

static int teardown(void **state)
{
    wdn_jwks_release(keys);
    wdn_jose_key_free(rsa);
    wdn_jose_key_free(rsa_same_kid);
    wdn_jose_key_free(ec);
    wdn_jose_key_free(ed);
    wdn_jose_key_free(ps);
    wdn_jose_key_free(attacker);
    wdn_jose_thread_cleanup();
    return 0;
}

/* A valid claims set with the given extra members (a JSON fragment or ""). */
static const char *claims(const char *extra)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"sub\":\"alice\",\"exp\":%d,\"iat\":%d%s%s}",
             NOW + 600, NOW - 10, *extra ? "," : "", extra);
    return buf;
}

static const char *sign_raw(const struct wdn_jose_key *k, const char *header, const char *payload)
{
    struct wdn_buf b;
    wdn_buf_init(&b, sizeof(tokbuf));
    assert_int_equal(
        wdn_jws_sign_raw(k, wdn_str_from_cstr(header), wdn_str_from_cstr(payload), &b), 0);
    memcpy(tokbuf, b.data, b.len);
    tokbuf[b.len] = '\0';
    wdn_buf_reset(&b);
    return tokbuf;
}

static const char *sign(const struct wdn_jose_key *k, const char *payload)
{
    struct wdn_buf b;
    wdn_buf_init(&b, sizeof(tokbuf));
    assert_int_equal(wdn_jws_sign(k, wdn_str_from_cstr(payload), NULL, &b), 0);
    memcpy(tokbuf, b.data, b.len);
    tokbuf[b.len] = '\0';
    wdn_buf_reset(&b);
    return tokbuf;
}

static enum wdn_jwt_reason verify_with(const struct wdn_jwks *ks, const char *tok)
{
    struct wdn_jwt *j = NULL;
    enum wdn_jwt_reason r = wdn_jwt_verify(ks, &rules, wdn_str_from_cstr(tok), NOW, &j);
    if (r == WDN_JWT_OK)
        assert_non_null(j);
    else
        assert_null(j);
    wdn_jwt_release(j);
    return r;
}

static enum wdn_jwt_reason verify(const char *tok)
{
    return verify_with(keys, tok);
}

#define assert_reason(got, want)                                                                   \
    do {                                                                                           \
        enum wdn_jwt_reason g_ = (got), w_ = (want);                                               \
        if (g_ != w_)                                                                              \
            fail_msg("reason %s, expected %s", wdn_jwt_reason_name(g_), wdn_jwt_reason_name(w_)); \
    } while (0)

/* ---- positive paths ---- */

static void test_ok_each_alg(void **state)
{
    const struct wdn_jose_key *ks[] = {rsa, ec, ed, ps};
    for (size_t i = 0; i < 4; i++)
        assert_reason(verify(sign(ks[i], claims(""))), WDN_JWT_OK);
}

static void test_claims_accessors(void **state)
{
    struct wdn_jwt *j = NULL;
    const char *t = sign(rsa, claims("\"scope\":\"read  write\",\"client_id\":\"mcp-client\","
                                     "\"roles\":[\"a\",\"b\"]"));
    char *roles;

    assert_reason(wdn_jwt_verify(keys, &rules, wdn_str_from_cstr(t), NOW, &j), WDN_JWT_OK);
    assert_string_equal(wdn_jwt_sub(j), "alice");
    assert_string_equal(wdn_jwt_client_id(j), "mcp-client");
    assert_int_equal(wdn_jwt_scope_count(j), 2);
    assert_true(wdn_jwt_has_scope(j, WDN_STR("write")));
    assert_false(wdn_jwt_has_scope(j, WDN_STR("writ")));
    assert_int_equal(wdn_jwt_exp(j), NOW + 600);
    assert_int_equal(wdn_jwt_alg(j), WDN_JOSE_RS256);
    roles = wdn_jwt_claim_json(j, "roles");
    assert_string_equal(roles, "[\"a\",\"b\"]");
    free(roles);
    assert_null(wdn_jwt_claim_string(j, "roles"));
    assert_memory_equal(wdn_jwt_key_thumbprint(j), wdn_jwk_thumbprint(wdn_jwks_key(keys, 0)), 32);
    wdn_jwt_release(j);
}

static void test_scopes_required(void **state)
{
    static const char *const need[] = {"mcp:tools", "read"};
    rules.scopes = need;
    rules.n_scopes = 2;
    assert_reason(verify(sign(rsa, claims("\"scope\":\"read mcp:tools\""))), WDN_JWT_OK);
    assert_reason(verify(sign(rsa, claims("\"scp\":[\"mcp:tools\",\"read\"]"))), WDN_JWT_OK);
    assert_reason(verify(sign(rsa, claims("\"scp\":\"read mcp:tools\""))), WDN_JWT_OK);
    assert_reason(verify(sign(rsa, claims("\"scope\":\"read\""))), WDN_JWT_INSUFFICIENT_SCOPE);
    assert_reason(verify(sign(rsa, claims(""))), WDN_JWT_INSUFFICIENT_SCOPE);
    rules.scopes = NULL;
    rules.n_scopes = 0;
}

static void test_typ(void **state)
{
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"at+jwt\"}",
                                  claims(""))),
                  WDN_JWT_OK);
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"application/at+JWT\"}",
                                  claims(""))),
                  WDN_JWT_OK);
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"dpop+jwt\"}",
                                  claims(""))),
                  WDN_JWT_BAD_TYP);
}

static void test_alg_allow_list(void **state)
{
    rules.allowed_algs = WDN_JOSE_ALG_BIT(WDN_JOSE_ES256);
    assert_reason(verify(sign(ec, claims(""))), WDN_JWT_OK);
    assert_reason(verify(sign(rsa, claims(""))), WDN_JWT_ALG_NOT_ALLOWED);
    rules.allowed_algs = 0;
}

static void test_no_kid_single_candidate(void **state)
{
    /* Only one EC key in the set: a token without kid may use it. Two RSA keys: ambiguous. */
    assert_reason(verify(sign_raw(ec, "{\"alg\":\"ES256\"}", claims(""))), WDN_JWT_OK);
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\"}", claims(""))), WDN_JWT_OK);
    {
        const struct wdn_jose_key *two[] = {rsa, attacker};
        char *doc = wdn_jose_jwks_export(two, 2);
        struct wdn_jwks *ks = parse(doc);
        assert_reason(verify_with(ks, sign_raw(rsa, "{\"alg\":\"RS256\"}", claims(""))),
                      WDN_JWT_UNKNOWN_KID);
        wdn_jwks_release(ks);
        free(doc);
    }
}

static void test_key_without_alg_inferred(void **state)
{
    /* Entra ID publishes RSA keys without alg: RS256 is inferred from kty. */
    char *jwk = wdn_jose_key_public_jwk(rsa);
    json_t *o = json_loads(jwk, 0, NULL);
    json_t *doc = json_pack("{s:[o]}", "keys", o);
    char *s;
    struct wdn_jwks *ks;

    json_object_del(o, "alg");
    json_object_del(o, "use");
    s = json_dumps(doc, 0);
    ks = parse(s);
    assert_int_equal(wdn_jwks_count(ks), 1);
    assert_int_equal(wdn_jwk_alg(wdn_jwks_key(ks, 0)), WDN_JOSE_ALG_UNKNOWN);
    assert_reason(verify_with(ks, sign(rsa, claims(""))), WDN_JWT_OK);
    wdn_jwks_release(ks);
    free(s);
    json_decref(doc);
    free(jwk);
}

static void test_key_set_not_loaded(void **state)
{
    assert_reason(verify_with(NULL, sign(rsa, claims(""))), WDN_JWT_KEY_SET_NOT_LOADED);
}

static void test_reason_names(void **state)
{
    assert_string_equal(wdn_jwt_reason_name(WDN_JWT_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(wdn_jwt_reason_name(WDN_JWT_KEY_SET_NOT_LOADED), "key_set_not_loaded");
    assert_string_equal(wdn_jwt_reason_name(WDN_JWT_INTERNAL), "internal");
    assert_string_equal(wdn_jwt_reason_name((enum wdn_jwt_reason)999), "internal");
    for (int r = 0; r < WDN_JWT_REASON_COUNT; r++)
        assert_non_null(strstr(wdn_jwt_reason_text((enum wdn_jwt_reason)r), " ") ? "x" : (r == 0 ? "x" : NULL));
}

/* ---- attacks, one test each, named after the attack ---- */

static void test_alg_none(void **state)
{
    char t[512], p[256];
    size_t n;
    const char *c = claims("");
    wdn_b64url_encode(c, strlen(c), p, sizeof(p), &n);
    snprintf(t, sizeof(t), "eyJhbGciOiJub25lIn0.%s.", p); /* {"alg":"none"} */
    assert_reason(verify(t), WDN_JWT_ALG_NONE);
    snprintf(t, sizeof(t), "eyJhbGciOiJOb05lIn0.%s.", p); /* {"alg":"NoNe"} */
    assert_reason(verify(t), WDN_JWT_ALG_NONE);
}

static void test_hs256_with_rsa_public_key(void **state)
{
    /* The classic confusion: HMAC keyed with the RSA public key the verifier holds. */
    char *pub = wdn_jose_key_public_jwk(rsa);
    char h[128], p[1024], si[1200], s[64], t[1400];
    unsigned char mac[32];
    unsigned maclen = 0;
    size_t n;
    const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"rsa1\"}";
    const char *c = claims("");

    wdn_b64url_encode(hdr, strlen(hdr), h, sizeof(h), &n);
    wdn_b64url_encode(c, strlen(c), p, sizeof(p), &n);
    snprintf(si, sizeof(si), "%s.%s", h, p);
    HMAC(EVP_sha256(), pub, (int)strlen(pub), (unsigned char *)si, strlen(si), mac, &maclen);
    wdn_b64url_encode(mac, maclen, s, sizeof(s), &n);
    snprintf(t, sizeof(t), "%s.%s", si, s);
    assert_reason(verify(t), WDN_JWT_UNSUPPORTED_ALG);
    free(pub);
}

static void test_kty_alg_mismatch(void **state)
{
    /* Token claims RS256 but names the EC key. */
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\",\"kid\":\"ec1\"}", claims(""))),
                  WDN_JWT_KEY_ALG_MISMATCH);
    /* PS256 token against the RSA key published with alg RS256. */
    assert_reason(verify(sign_raw(ps, "{\"alg\":\"PS256\",\"kid\":\"rsa1\"}", claims(""))),
                  WDN_JWT_KEY_ALG_MISMATCH);
    /* A JWK whose alg disagrees with its kty is not a key at all. */
    {
        char *jwk = wdn_jose_key_public_jwk(rsa);
        json_t *o = json_loads(jwk, 0, NULL);
        json_t *doc = json_pack("{s:[o]}", "keys", o);
        char *s;
        struct wdn_jwks *ks;
        json_object_set_new(o, "alg", json_string("ES256"));
        s = json_dumps(doc, 0);
        ks = parse(s);
        assert_int_equal(wdn_jwks_count(ks), 0);
        assert_int_equal(wdn_jwks_skipped(ks), 1);
        wdn_jwks_release(ks);
        free(s);
        json_decref(doc);
        free(jwk);
    }
}

static void test_crit_unknown(void **state)
{
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"exp\"],\"exp\":1}",
                                  claims(""))),
                  WDN_JWT_CRIT_UNSUPPORTED);
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[]}", claims(""))),
                  WDN_JWT_MALFORMED);
}

static void test_jku_ignored(void **state)
{
    /* Signed by the attacker, pointing at the attacker's key set: never fetched, never used. */
    assert_reason(verify(sign_raw(attacker,
                                  "{\"alg\":\"RS256\",\"kid\":\"attacker\",\"jku\":\"https://127.0.0.1:1/jwks\"}",
                                  claims(""))),
                  WDN_JWT_UNKNOWN_KID);
    assert_reason(verify(sign_raw(attacker,
                                  "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"jku\":\"https://127.0.0.1:1/jwks\"}",
                                  claims(""))),
                  WDN_JWT_BAD_SIGNATURE);
}

static void test_x5u_ignored(void **state)
{
    assert_reason(verify(sign_raw(attacker,
                                  "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"x5u\":\"https://127.0.0.1:1/cert.pem\"}",
                                  claims(""))),
                  WDN_JWT_BAD_SIGNATURE);
}

static void test_embedded_jwk_ignored(void **state)
{
    char *jwk = wdn_jose_key_public_jwk(attacker);
    char hdr[2048];

    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"jwk\":%s}", jwk);
    assert_reason(verify(sign_raw(attacker, hdr, claims(""))), WDN_JWT_BAD_SIGNATURE);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"jwk\":%s}", jwk);
    assert_reason(verify(sign_raw(ec, hdr, claims(""))), WDN_JWT_OK); /* our EC key, not theirs */
    free(jwk);
}

static void test_expired(void **state)
{
    char c[256];
    snprintf(c, sizeof(c), "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"exp\":%d}", NOW - 61);
    assert_reason(verify(sign(rsa, c)), WDN_JWT_EXPIRED);
    snprintf(c, sizeof(c), "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"exp\":%d}", NOW - 59);
    assert_reason(verify(sign(rsa, c)), WDN_JWT_OK); /* within the 60 s skew */
    snprintf(c, sizeof(c), "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"exp\":%d.5}", NOW - 100);
    assert_reason(verify(sign(rsa, c)), WDN_JWT_EXPIRED);
    assert_reason(verify(sign(rsa, "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"exp\":\"never\"}")),
                  WDN_JWT_BAD_CLAIM);
}

static void test_nbf_future(void **state)
{
    char e[64];
    snprintf(e, sizeof(e), "\"nbf\":%d", NOW + 120);
    assert_reason(verify(sign(rsa, claims(e))), WDN_JWT_NOT_YET_VALID);
    snprintf(e, sizeof(e), "\"nbf\":%d", NOW + 30);
    assert_reason(verify(sign(rsa, claims(e))), WDN_JWT_OK);
    /* iat far in the future is refused as well. */
    {
        char c[256];
        snprintf(c, sizeof(c), "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"exp\":%d,\"iat\":%d}",
                 NOW + 600, NOW + 300);
        assert_reason(verify(sign(rsa, c)), WDN_JWT_IAT_IN_FUTURE);
    }
}

static void test_wrong_iss(void **state)
{
    char c[256];
    snprintf(c, sizeof(c), "{\"iss\":\"https://evil.example/\",\"aud\":\"api\",\"exp\":%d}",
             NOW + 600);
    assert_reason(verify(sign(rsa, c)), WDN_JWT_WRONG_ISSUER);
    snprintf(c, sizeof(c), "{\"aud\":\"api\",\"exp\":%d}", NOW + 600);
    assert_reason(verify(sign(rsa, c)), WDN_JWT_WRONG_ISSUER);
    snprintf(c, sizeof(c), "{\"iss\":[\"" ISS "\"],\"aud\":\"api\",\"exp\":%d}", NOW + 600);
    assert_reason(verify(sign(rsa, c)), WDN_JWT_WRONG_ISSUER);
}

static void test_iss_prefix(void **state)
{
    /* Auth0 issuers end in '/': neither a prefix nor an extension of it is the issuer. */
    const char *bad[] = {"https://issuer.example", "https://issuer.example/x",
                         "https://issuer.example//", "HTTPS://issuer.example/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char c[256];
        snprintf(c, sizeof(c), "{\"iss\":\"%s\",\"aud\":\"api\",\"exp\":%d}", bad[i], NOW + 600);
        assert_reason(verify(sign(rsa, c)), WDN_JWT_WRONG_ISSUER);
    }
}

static void test_wrong_aud(void **state)
{
    char c[256];
    snprintf(c, sizeof(c), "{\"iss\":\"" ISS "\",\"aud\":\"apix\",\"exp\":%d}", NOW + 600);
    assert_reason(verify(sign(rsa, c)), WDN_JWT_WRONG_AUDIENCE);
    snprintf(c, sizeof(c), "{\"iss\":\"" ISS "\",\"aud\":[\"x\",\"y\"],\"exp\":%d}", NOW + 600);
    assert_reason(verify(sign(rsa, c)), WDN_JWT_WRONG_AUDIENCE);
    snprintf(c, sizeof(c), "{\"iss\":\"" ISS "\",\"exp\":%d}", NOW + 600);
    assert_reason(verify(sign(rsa, c)), WDN_JWT_WRONG_AUDIENCE);
}

static void test_aud_array_ok(void **state)
{
    static const char *const two[] = {"other", "api"};
    char c[256];
    snprintf(c, sizeof(c), "{\"iss\":\"" ISS "\",\"aud\":[\"x\",1,\"api\"],\"exp\":%d}", NOW + 600);
    assert_reason(verify(sign(rsa, c)), WDN_JWT_OK);
    rules.audiences = two;
    rules.n_audiences = 2;
    assert_reason(verify(sign(rsa, claims(""))), WDN_JWT_OK);
    rules.audiences = auds;
    rules.n_audiences = 1;
}

static void test_missing_exp(void **state)
{
    assert_reason(verify(sign(rsa, "{\"iss\":\"" ISS "\",\"aud\":\"api\"}")), WDN_JWT_MISSING_EXP);
}

static void test_tampered_payload(void **state)
{
    char t[4096], p[1024];
    size_t n;
    const char *evil = "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"sub\":\"admin\",\"exp\":1800000000}";
    const char *orig = sign(rsa, claims(""));
    const char *d1 = strchr(orig, '.'), *d2 = strchr(d1 + 1, '.');

    wdn_b64url_encode(evil, strlen(evil), p, sizeof(p), &n);
    snprintf(t, sizeof(t), "%.*s.%s%s", (int)(d1 - orig), orig, p, d2);
    assert_reason(verify(t), WDN_JWT_BAD_SIGNATURE);
}

static void test_wrong_key_same_kid(void **state)
{
    assert_reason(verify(sign(rsa_same_kid, claims(""))), WDN_JWT_BAD_SIGNATURE);
}

static void test_unknown_kid(void **state)
{
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa2\"}", claims(""))),
                  WDN_JWT_UNKNOWN_KID);
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa\"}", claims(""))),
                  WDN_JWT_UNKNOWN_KID);
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\",\"kid\":\"\"}", claims(""))),
                  WDN_JWT_MALFORMED);
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\",\"kid\":7}", claims(""))),
                  WDN_JWT_MALFORMED);
}

static void test_rsa_1024(void **state)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    char path[] = "/tmp/wdn-rsa1024-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    struct wdn_diag d;

    assert_non_null(k);
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    /* Our own loader refuses to sign with it... */
    assert_null(wdn_jose_key_load_pem(path, WDN_JOSE_RS256, "weak", &d));
    unlink(path);
    /* ...and a JWKS carrying one skips it. */
    {
        BIGNUM *n = NULL;
        unsigned char nb[128];
        char nenc[200], doc[512];
        size_t len;
        struct wdn_jwks *ks;
        EVP_PKEY_get_bn_param(k, "n", &n);
        BN_bn2bin(n, nb);
        wdn_b64url_encode(nb, 128, nenc, sizeof(nenc), &len);
        snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"weak\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", nenc);
        ks = parse(doc);
        assert_int_equal(wdn_jwks_count(ks), 0);
        assert_int_equal(wdn_jwks_skipped(ks), 1);
        wdn_jwks_release(ks);
        BN_free(n);
    }
    EVP_PKEY_free(k);
}

static void test_ec_point_off_curve(void **state)
{
    /* RFC 7515 A.3 key with the last byte of y changed: not on P-256. */
    struct wdn_jwks *ks = parse(
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
        "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4\"}]}");
    assert_int_equal(wdn_jwks_count(ks), 0);
    wdn_jwks_release(ks);
    /* Coordinates of the wrong length are refused before any curve arithmetic. */
    ks = parse("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}");
    assert_int_equal(wdn_jwks_count(ks), 0);
    wdn_jwks_release(ks);
    /* The point at infinity has no uncompressed encoding of the right length; all-zero x,y is
     * not on the curve either. */
    ks = parse("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
               "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}");
    assert_int_equal(wdn_jwks_count(ks), 0);
    wdn_jwks_release(ks);
}

/* Replaces the signature of tok with the base64url of n bytes of sig. */
static const char *with_sig(const char *tok, const unsigned char *sig, size_t n)
{
    static char t[4096];
    const char *d2 = strrchr(tok, '.');
    size_t len;
    int pre = (int)(d2 - tok);
    snprintf(t, sizeof(t), "%.*s.", pre, tok);
    wdn_b64url_encode(sig, n, t + pre + 1, sizeof(t) - (size_t)pre - 1, &len);
    return t;
}

static void test_ecdsa_sig_wrong_length(void **state)
{
    char tok[2048];
    unsigned char sig[140];
    size_t n;
    const char *d2;

    strcpy(tok, sign(ec, claims("")));
    d2 = strrchr(tok, '.');
    assert_int_equal(wdn_b64url_decode(wdn_str_from_cstr(d2 + 1), sig, sizeof(sig), &n), 0);
    assert_int_equal(n, 64);
    assert_reason(verify(tok), WDN_JWT_OK);
    assert_reason(verify(with_sig(tok, sig, 63)), WDN_JWT_BAD_SIGNATURE);
    sig[64] = 0;
    assert_reason(verify(with_sig(tok, sig, 65)), WDN_JWT_BAD_SIGNATURE);
    /* r = 0 and s = 0 are never valid (the "psychic signature" shape). */
    memset(sig, 0, 64);
    assert_reason(verify(with_sig(tok, sig, 64)), WDN_JWT_BAD_SIGNATURE);
    /* A DER signature in place of r || s. */
    assert_reason(verify(with_sig(tok, (const unsigned char *)"\x30\x06\x02\x01\x01\x02\x01\x01", 8)),
                  WDN_JWT_BAD_SIGNATURE);
    /* Ed25519 and RSA lengths are exact too. */
    strcpy(tok, sign(ed, claims("")));
    assert_reason(verify(with_sig(tok, sig, 63)), WDN_JWT_BAD_SIGNATURE);
    strcpy(tok, sign(rsa, claims("")));
    assert_reason(verify(with_sig(tok, sig, 64)), WDN_JWT_BAD_SIGNATURE);
}

static void test_malformed_base64(void **state)
{
    char tok[2048], t[2100];
    const char *d1;

    strcpy(tok, sign(rsa, claims("")));
    d1 = strchr(tok, '.');
    snprintf(t, sizeof(t), "%.*s=%s", (int)(d1 - tok), tok, d1); /* padding in the header */
    assert_reason(verify(t), WDN_JWT_MALFORMED);
    strcpy(t, tok);
    t[3] = '+';
    assert_reason(verify(t), WDN_JWT_MALFORMED);
    strcpy(t, tok);
    t[strlen(t) - 2] = '/';
    assert_reason(verify(t), WDN_JWT_MALFORMED);
    assert_reason(verify("..."), WDN_JWT_MALFORMED);
    assert_reason(verify(""), WDN_JWT_MALFORMED);
    assert_reason(verify("abc"), WDN_JWT_MALFORMED);
    assert_reason(verify("e30.e30"), WDN_JWT_MALFORMED);
    /* Header that is JSON but not an object, and duplicate members. */
    assert_reason(verify(sign_raw(rsa, "[\"RS256\"]", claims(""))), WDN_JWT_MALFORMED);
    assert_reason(verify(sign_raw(rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"alg\":\"none\"}", claims(""))),
                  WDN_JWT_MALFORMED);
    /* Payload that is not a JSON object, validly signed. */
    assert_reason(verify(sign(rsa, "[1,2]")), WDN_JWT_MALFORMED);
    assert_reason(verify(sign(rsa, "{\"exp\":1,\"exp\":2}")), WDN_JWT_MALFORMED);
}

static void test_trailing_garbage(void **state)
{
    char tok[2048], t[2100];

    strcpy(tok, sign(rsa, claims("")));
    snprintf(t, sizeof(t), "%s.", tok);
    assert_reason(verify(t), WDN_JWT_MALFORMED);
    snprintf(t, sizeof(t), "%s.AAAA.AAAA", tok); /* JWE-shaped: five parts */
    assert_reason(verify(t), WDN_JWT_MALFORMED);
    snprintf(t, sizeof(t), "%s ", tok);
    assert_reason(verify(t), WDN_JWT_MALFORMED);
    snprintf(t, sizeof(t), "%s!", tok);
    assert_reason(verify(t), WDN_JWT_MALFORMED);
    snprintf(t, sizeof(t), "%sA", tok);
    assert_reason(verify(t), WDN_JWT_BAD_SIGNATURE);
    snprintf(t, sizeof(t), "%sAA", tok);
    assert_reason(verify(t), WDN_JWT_BAD_SIGNATURE);
    /* A NUL inside the slice is just a bad byte. */
    {
        size_t n = strlen(tok);
        tok[n - 3] = '\0';
        assert_reason(wdn_jwt_verify(keys, &rules, (struct wdn_str){tok, n}, NOW, NULL),
                      WDN_JWT_MALFORMED);
    }
}

static void test_oversized_token(void **state)
{
    char *big = malloc(WDN_JWT_MAX_TOKEN_BYTES + 2);
    char *pad = malloc(WDN_JWT_MAX_TOKEN_BYTES);
    memset(big, 'A', WDN_JWT_MAX_TOKEN_BYTES + 1);
    big[10] = '.';
    big[20] = '.';
    big[WDN_JWT_MAX_TOKEN_BYTES + 1] = '\0';
    assert_reason(verify(big), WDN_JWT_TOKEN_TOO_LARGE);
    /* A header over WDN_JWT_MAX_HEADER_BYTES inside a token under the limit. */
    memset(pad, 'x', 5000);
    pad[5000] = '\0';
    {
        char *hdr = malloc(6000);
        snprintf(hdr, 6000, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"pad\":\"%s\"}", pad);
        assert_reason(verify(sign_raw(rsa, hdr, claims(""))), WDN_JWT_TOKEN_TOO_LARGE);
        free(hdr);
    }
    free(pad);
    free(big);
}

static void test_deeply_nested_header(void **state)
{
    char hdr[1024];
    size_t o = 0;
    o += (size_t)snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"x\":");
    for (int i = 0; i < 100; i++)
        hdr[o++] = '[';
    for (int i = 0; i < 100; i++)
        hdr[o++] = ']';
    hdr[o++] = '}';
    hdr[o] = '\0';
    assert_reason(verify(sign_raw(rsa, hdr, claims(""))), WDN_JWT_MALFORMED);
    /* The same for the payload. */
    {
        char pl[1024];
        o = (size_t)snprintf(pl, sizeof(pl), "{\"x\":");
        for (int i = 0; i < 100; i++)
            pl[o++] = '{', pl[o++] = '"', pl[o++] = 'a', pl[o++] = '"', pl[o++] = ':';
        pl[o++] = '1';
        for (int i = 0; i < 101; i++)
            pl[o++] = '}';
        pl[o] = '\0';
        assert_reason(verify(sign(rsa, pl)), WDN_JWT_MALFORMED);
    }
}

/* ---- RFC vectors (tests/vectors/jose) ---- */

static json_t *load_vector(const char *name)
{
    char path[1024];
    const char *src = getenv("WDN_SOURCE_DIR");
    json_t *v;
    snprintf(path, sizeof(path), "%s/tests/vectors/jose/%s", src ? src : ".", name);
    v = json_load_file(path, 0, NULL);
    if (v == NULL)
        fail_msg("cannot load %s", path);
    return v;
}

static void check_vector(const char *name, enum wdn_jose_alg alg)
{
    json_t *v = load_vector(name);
    char *jwks = json_dumps(json_object_get(v, "jwks"), 0);
    const char *tok = json_string_value(json_object_get(v, "token"));
    struct wdn_jwks *ks = parse(jwks);
    struct wdn_jwt_rules sig_only;
    struct wdn_jwt *j = NULL;
    char bad[2048];

    assert_int_equal(wdn_jwks_count(ks), 1);
    wdn_jwt_rules_init(&sig_only);
    sig_only.signature_only = true;
    assert_reason(wdn_jwt_verify(ks, &sig_only, wdn_str_from_cstr(tok), NOW, &j), WDN_JWT_OK);
    assert_int_equal(wdn_jwt_alg(j), alg);
    wdn_jwt_release(j);
    /* One changed signature character must break it. */
    strcpy(bad, tok);
    bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
    assert_reason(wdn_jwt_verify(ks, &sig_only, wdn_str_from_cstr(bad), NOW, NULL),
                  WDN_JWT_BAD_SIGNATURE);
    /* With full rules, the RFC tokens fail on claims (expired in 2011, or not a JWT). */
    assert_true(wdn_jwt_verify(ks, &rules, wdn_str_from_cstr(tok), NOW, NULL) != WDN_JWT_OK);
    wdn_jwks_release(ks);
    free(jwks);
    json_decref(v);
}

static void test_rfc7515_a2_rs256(void **state)
{
    check_vector("rfc7515_a2_rs256.json", WDN_JOSE_RS256);
}

static void test_rfc7515_a3_es256(void **state)
{
    check_vector("rfc7515_a3_es256.json", WDN_JOSE_ES256);
}

static void test_rfc7515_a4_es512(void **state)
{
    check_vector("rfc7515_a4_es512.json", WDN_JOSE_ES512);
}

static void test_rfc8037_a4_ed25519(void **state)
{
    check_vector("rfc8037_a4_ed25519.json", WDN_JOSE_EDDSA);
}

static void test_rfc7517_a1_public_keys(void **state)
{
    json_t *v = load_vector("rfc7517_a1_public_keys.json");
    char *jwks = json_dumps(json_object_get(v, "jwks"), 0);
    struct wdn_jwks *ks = parse(jwks);
    const struct wdn_jwk *k;
    char tp[64];
    size_t n;

    assert_int_equal(wdn_jwks_count(ks), 1); /* the "use":"enc" EC key is skipped */
    assert_int_equal(wdn_jwks_skipped(ks), 1);
    k = wdn_jwks_key(ks, 0);
    assert_true(wdn_str_eq_cstr(wdn_jwk_kid(k), "2011-04-29"));
    assert_int_equal(wdn_jwk_kty(k), WDN_JWK_RSA);
    assert_int_equal(wdn_jwk_alg(k), WDN_JOSE_RS256);
    assert_true(wdn_jwk_allows(k, WDN_JOSE_RS256));
    assert_false(wdn_jwk_allows(k, WDN_JOSE_PS256));
    wdn_b64url_encode(wdn_jwk_thumbprint(k), 32, tp, sizeof(tp), &n);
    assert_string_equal(tp, json_string_value(json_object_get(v, "thumbprint_2011-04-29")));
    assert_true(wdn_jwks_has_thumbprint(ks, wdn_jwk_thumbprint(k)));
    wdn_jwks_release(ks);
    free(jwks);
    json_decref(v);
}

static void test_jwks_documents(void **state)
{
    struct wdn_diag d;
    struct wdn_jwks *ks;

    assert_null(wdn_jwks_parse(WDN_STR("not json"), &d));
    assert_int_equal(d.code, WDN_EPARSE);
    assert_null(wdn_jwks_parse(WDN_STR("{\"keys\":{}}"), &d));
    assert_null(wdn_jwks_parse(WDN_STR("[]"), &d));
    ks = wdn_jwks_parse(WDN_STR("{\"keys\":[1,\"x\",{},{\"kty\":\"oct\",\"k\":\"AAAA\"},"
                                "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AAAA\"}]}"),
                        &d);
    assert_non_null(ks);
    assert_int_equal(wdn_jwks_count(ks), 0);
    assert_int_equal(wdn_jwks_skipped(ks), 5);
    wdn_jwks_release(ks);
}

/* ---- tokens signed by the openssl command line ---- */

static void test_openssl_cli_tokens(void **state)
{
    char dir[] = "/tmp/wdn-ossl-XXXXXX", cmd[2048], path[1200];
    const char *src = getenv("WDN_SOURCE_DIR");
    static const struct {
        const char *file, *pem, *kid;
        enum wdn_jose_alg alg;
    } cases[] = {
        {"rs256.jwt", "rsa.pub.pem", "ossl-rsa", WDN_JOSE_RS256},
        {"ps256.jwt", "rsa.pub.pem", "ossl-rsa", WDN_JOSE_PS256},
        {"es256.jwt", "ec.pub.pem", "ossl-ec", WDN_JOSE_ES256},
        {"eddsa.jwt", "ed.pub.pem", "ossl-ed", WDN_JOSE_EDDSA},
    };

    assert_non_null(mkdtemp(dir));
    snprintf(cmd, sizeof(cmd), "sh %s/tests/vectors/jose/openssl_tokens.sh %s %d",
             src ? src : ".", dir, NOW);
    assert_int_equal(system(cmd), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wdn_jose_key *k;
        struct wdn_jwks *ks;
        char *doc, tok[4096];
        FILE *f;
        size_t n;
        struct wdn_jwt *j = NULL;

        snprintf(path, sizeof(path), "%s/%s", dir, cases[i].pem);
        k = wdn_jose_key_load_pem(path, cases[i].alg, cases[i].kid, NULL);
        assert_non_null(k);
        doc = wdn_jose_jwks_export((const struct wdn_jose_key *const *)&k, 1);
        ks = parse(doc);
        assert_int_equal(wdn_jwks_count(ks), 1);
        snprintf(path, sizeof(path), "%s/%s", dir, cases[i].file);
        f = fopen(path, "r");
        assert_non_null(f);
        n = fread(tok, 1, sizeof(tok) - 1, f);
        fclose(f);
        tok[n] = '\0';
        assert_reason(wdn_jwt_verify(ks, &rules, (struct wdn_str){tok, n}, NOW, &j), WDN_JWT_OK);
        assert_string_equal(wdn_jwt_sub(j), "openssl-cli");
        wdn_jwt_release(j);
        /* A public-only key cannot sign. */
        {
            struct wdn_buf b;
            wdn_buf_init(&b, 4096);
            assert_int_equal(wdn_jws_sign(k, WDN_STR("{}"), NULL, &b), WDN_EPERM);
            wdn_buf_reset(&b);
        }
        wdn_jwks_release(ks);
        free(doc);
        wdn_jose_key_free(k);
    }
    /* PSS with a salt shorter than the hash is refused. */
    {
        struct wdn_jose_key *k;
        struct wdn_jwks *ks;
        char *doc, tok[4096];
        FILE *f;
        size_t n;
        snprintf(path, sizeof(path), "%s/rsa.pub.pem", dir);
        k = wdn_jose_key_load_pem(path, WDN_JOSE_PS256, "ossl-rsa", NULL);
        doc = wdn_jose_jwks_export((const struct wdn_jose_key *const *)&k, 1);
        ks = parse(doc);
        snprintf(path, sizeof(path), "%s/ps256_salt20.jwt", dir);
        f = fopen(path, "r");
        assert_non_null(f);
        n = fread(tok, 1, sizeof(tok) - 1, f);
        fclose(f);
        tok[n] = '\0';
        assert_reason(wdn_jwt_verify(ks, &rules, (struct wdn_str){tok, n}, NOW, NULL),
                      WDN_JWT_BAD_SIGNATURE);
        wdn_jwks_release(ks);
        free(doc);
        wdn_jose_key_free(k);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- key storage ---- */

static void test_pem_roundtrip_0600(void **state)
{
    char dir[] = "/tmp/wdn-pem-XXXXXX", path[256];
    const struct wdn_jose_key *ks[] = {rsa, ec, ed};
    struct stat st;

    assert_non_null(mkdtemp(dir));
    for (size_t i = 0; i < 3; i++) {
        struct wdn_jose_key *k2;
        char *a, *b;
        snprintf(path, sizeof(path), "%s/k%zu.pem", dir, i);
        assert_int_equal(wdn_jose_key_save_pem(ks[i], path, NULL), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        k2 = wdn_jose_key_load_pem(path, wdn_jose_key_alg(ks[i]), wdn_jose_key_kid(ks[i]), NULL);
        assert_non_null(k2);
        a = wdn_jose_key_public_jwk(ks[i]);
        b = wdn_jose_key_public_jwk(k2);
        assert_string_equal(a, b);
        /* A token signed by the reloaded key verifies against the original's JWKS. */
        assert_reason(verify(sign(k2, claims(""))), WDN_JWT_OK);
        free(a);
        free(b);
        wdn_jose_key_free(k2);
        unlink(path);
    }
    /* Wrong algorithm for the key type. */
    snprintf(path, sizeof(path), "%s/ec.pem", dir);
    assert_int_equal(wdn_jose_key_save_pem(ec, path, NULL), 0);
    assert_null(wdn_jose_key_load_pem(path, WDN_JOSE_RS256, NULL, NULL));
    unlink(path);
    rmdir(dir);
}

static void test_x5c_only_rsa_key(void **state)
{
    /* Some issuers publish only a certificate chain for a key: the first certificate's key is
     * used, and it is the same key as its n/e form (same thumbprint). */
    char dir[] = "/tmp/wdn-x5c-XXXXXX", cmd[1024], path[256], b64[4096], doc[4600];
    FILE *f;
    size_t n;
    struct wdn_jwks *ks;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/k.pem", dir);
    assert_int_equal(wdn_jose_key_save_pem(rsa, path, NULL), 0);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -key %s -subj /CN=x5c -days 1 -outform DER 2>/dev/null"
             " | openssl base64 -A > %s/c.b64",
             path, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/c.b64", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(b64, 1, sizeof(b64) - 1, f);
    fclose(f);
    b64[n] = '\0';
    snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"x5c\":[\"%s\"]}]}", b64);
    ks = parse(doc);
    assert_int_equal(wdn_jwks_count(ks), 1);
    assert_memory_equal(wdn_jwk_thumbprint(wdn_jwks_key(ks, 0)),
                        wdn_jwk_thumbprint(wdn_jwks_key(keys, 0)), 32);
    assert_reason(verify_with(ks, sign(rsa, claims(""))), WDN_JWT_OK);
    wdn_jwks_release(ks);
    /* A truncated certificate is skipped, not fatal. */
    b64[n - 8] = '\0';
    snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"x5c\":[\"%s\"]}]}", b64);
    ks = parse(doc);
    assert_int_equal(wdn_jwks_count(ks), 0);
    wdn_jwks_release(ks);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A JWKS of one key's public JWK with members changed: set (name=value JSON) or removed. */
static struct wdn_jwks *variant(const struct wdn_jose_key *k, const char *set_name,
                                const char *set_json, const char *del_name)
{
    char *jwk = wdn_jose_key_public_jwk(k);
    json_t *o = json_loads(jwk, 0, NULL);
    json_t *doc = json_pack("{s:[o]}", "keys", o);
    char *txt;
    struct wdn_jwks *ks;

    if (del_name)
        json_object_del(o, del_name);
    if (set_name)
        json_object_set_new(o, set_name, json_loads(set_json, JSON_DECODE_ANY, NULL));
    txt = json_dumps(doc, 0);
    ks = parse(txt);
    free(txt);
    json_decref(doc);
    free(jwk);
    return ks;
}

static void test_use_and_key_ops(void **state)
{
    struct wdn_jwks *ks;

    ks = variant(ec, "use", "\"enc\"", NULL);
    assert_int_equal(wdn_jwks_count(ks), 0);
    wdn_jwks_release(ks);
    ks = variant(ec, "key_ops", "[\"sign\",\"encrypt\"]", NULL);
    assert_int_equal(wdn_jwks_count(ks), 0);
    wdn_jwks_release(ks);
    ks = variant(ec, "key_ops", "[\"verify\"]", NULL);
    assert_int_equal(wdn_jwks_count(ks), 1);
    assert_reason(verify_with(ks, sign(ec, claims(""))), WDN_JWT_OK);
    wdn_jwks_release(ks);
    ks = variant(ec, "alg", "\"RSA-OAEP\"", NULL);
    assert_int_equal(wdn_jwks_count(ks), 0);
    wdn_jwks_release(ks);
    ks = variant(ec, "kid", "17", NULL);
    assert_int_equal(wdn_jwks_count(ks), 0);
    wdn_jwks_release(ks);
}

static void test_rsa_and_ec_variants(void **state)
{
    /* RS384/RS512/PS384/PS512 against an RSA key published without alg, ES384 on P-384. */
    static const enum wdn_jose_alg rsa_algs[] = {WDN_JOSE_RS384, WDN_JOSE_RS512, WDN_JOSE_PS384,
                                                 WDN_JOSE_PS512};
    char dir[] = "/tmp/wdn-var-XXXXXX", path[256];
    struct wdn_jwks *ks = variant(rsa, NULL, NULL, "alg");
    struct wdn_jose_key *e384 = wdn_jose_key_generate(WDN_JOSE_ES384, 0, "e384", NULL);
    char *doc = wdn_jose_jwks_export((const struct wdn_jose_key *const *)&e384, 1);
    struct wdn_jwks *ks384 = parse(doc);
    struct wdn_jwt *j = NULL;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/rsa.pem", dir);
    assert_int_equal(wdn_jose_key_save_pem(rsa, path, NULL), 0);
    for (size_t i = 0; i < 4; i++) {
        struct wdn_jose_key *k = wdn_jose_key_load_pem(path, rsa_algs[i], "rsa1", NULL);
        assert_non_null(k);
        assert_reason(wdn_jwt_verify(ks, &rules, wdn_str_from_cstr(sign(k, claims(""))), NOW, &j),
                      WDN_JWT_OK);
        assert_int_equal(wdn_jwt_alg(j), rsa_algs[i]);
        wdn_jwt_release(j);
        j = NULL;
        wdn_jose_key_free(k);
    }
    unlink(path);
    rmdir(dir);
    assert_reason(verify_with(ks384, sign(e384, claims(""))), WDN_JWT_OK);
    /* The P-384 key verifies ES384 only: an ES256 header naming it is a mismatch. */
    assert_reason(verify_with(ks384, sign_raw(ec, "{\"alg\":\"ES256\",\"kid\":\"e384\"}", claims(""))),
                  WDN_JWT_KEY_ALG_MISMATCH);
    wdn_jwks_release(ks384);
    wdn_jwks_release(ks);
    free(doc);
    wdn_jose_key_free(e384);
}

static void test_default_kid_is_thumbprint(void **state)
{
    struct wdn_jose_key *k = wdn_jose_key_generate(WDN_JOSE_ES256, 0, NULL, NULL);
    char *jwk = wdn_jose_key_public_jwk(k);
    struct wdn_jwks *ks = wdn_jwks_parse_jwk(wdn_str_from_cstr(jwk), NULL);
    char tp[64];
    size_t n;

    assert_non_null(ks);
    wdn_b64url_encode(wdn_jwk_thumbprint(wdn_jwks_key(ks, 0)), 32, tp, sizeof(tp), &n);
    assert_string_equal(wdn_jose_key_kid(k), tp);
    wdn_jwks_release(ks);
    free(jwk);
    wdn_jose_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_each_alg),
        cmocka_unit_test(test_claims_accessors),
        cmocka_unit_test(test_scopes_required),
        cmocka_unit_test(test_typ),
        cmocka_unit_test(test_alg_allow_list),
        cmocka_unit_test(test_no_kid_single_candidate),
        cmocka_unit_test(test_key_without_alg_inferred),
        cmocka_unit_test(test_key_set_not_loaded),
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_hs256_with_rsa_public_key),
        cmocka_unit_test(test_kty_alg_mismatch),
        cmocka_unit_test(test_crit_unknown),
        cmocka_unit_test(test_jku_ignored),
        cmocka_unit_test(test_x5u_ignored),
        cmocka_unit_test(test_embedded_jwk_ignored),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_nbf_future),
        cmocka_unit_test(test_wrong_iss),
        cmocka_unit_test(test_iss_prefix),
        cmocka_unit_test(test_wrong_aud),
        cmocka_unit_test(test_aud_array_ok),
        cmocka_unit_test(test_missing_exp),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_wrong_key_same_kid),
        cmocka_unit_test(test_unknown_kid),
        cmocka_unit_test(test_rsa_1024),
        cmocka_unit_test(test_ec_point_off_curve),
        cmocka_unit_test(test_ecdsa_sig_wrong_length),
        cmocka_unit_test(test_malformed_base64),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_oversized_token),
        cmocka_unit_test(test_deeply_nested_header),
        cmocka_unit_test(test_rfc7515_a2_rs256),
        cmocka_unit_test(test_rfc7515_a3_es256),
        cmocka_unit_test(test_rfc7515_a4_es512),
        cmocka_unit_test(test_rfc8037_a4_ed25519),
        cmocka_unit_test(test_rfc7517_a1_public_keys),
        cmocka_unit_test(test_jwks_documents),
        cmocka_unit_test(test_openssl_cli_tokens),
        cmocka_unit_test(test_pem_roundtrip_0600),
        cmocka_unit_test(test_x5c_only_rsa_key),
        cmocka_unit_test(test_use_and_key_ops),
        cmocka_unit_test(test_rsa_and_ec_variants),
        cmocka_unit_test(test_default_kid_is_thumbprint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
