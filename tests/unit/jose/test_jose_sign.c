/* The signing side's refusals (what the issuer and `warden issuer keys` rely on): key sizes and
 * algorithms that cannot be generated, kids out of bounds, keys that do not suit the algorithm,
 * PEM files missing, too large or without a key, public keys that cannot be saved or sign. */
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

#include "base/buf.h"
#include "base/diag.h"
#include "base/error.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "jose/jwk.h"
#include "jose/sign.h"

static char dir[] = "/tmp/wdn-jose-sign-XXXXXX";

static int setup(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[96];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    wdn_jose_thread_cleanup();
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
}

static void test_generate_refusals(void **state)
{
    struct wdn_diag d;
    char kid[WDN_JWK_MAX_KID_BYTES + 2];

    wdn_diag_clear(&d);
    assert_null(wdn_jose_key_generate(WDN_JOSE_RS256, 1024, "k", &d));
    assert_int_equal(d.code, WDN_EINVAL);
    assert_string_equal(d.msg, "RSA keys are 2048, 3072 or 4096 bits");
    wdn_diag_clear(&d);
    assert_null(wdn_jose_key_generate(WDN_JOSE_RS384, 0, "k", &d));
    assert_int_equal(d.code, WDN_EUNSUPPORTED);
    assert_string_equal(d.msg, "cannot generate keys for RS384");
    wdn_diag_clear(&d);
    assert_null(wdn_jose_key_generate(WDN_JOSE_ES256, 0, "", &d));
    assert_int_equal(d.code, WDN_EINVAL);
    assert_string_equal(d.msg, "kid must be 1 to 256 bytes");
    memset(kid, 'k', sizeof(kid) - 1);
    kid[sizeof(kid) - 1] = '\0';
    wdn_diag_clear(&d);
    assert_null(wdn_jose_key_generate(WDN_JOSE_ES256, 0, kid, &d));
    assert_string_equal(d.msg, "kid must be 1 to 256 bytes");
    kid[WDN_JWK_MAX_KID_BYTES] = '\0';
    struct wdn_jose_key *k = wdn_jose_key_generate(WDN_JOSE_ES256, 0, kid, &d);
    assert_non_null(k);
    assert_int_equal(strlen(wdn_jose_key_kid(k)), WDN_JWK_MAX_KID_BYTES);
    wdn_jose_key_free(k);
    assert_string_equal(wdn_jose_alg_name((enum wdn_jose_alg)99), "unknown");
    assert_string_equal(wdn_jose_alg_name(WDN_JOSE_ALG_UNKNOWN), "unknown");
}

/* A key is loaded only for an algorithm it suits (type, curve, size). */
static void test_key_must_suit_alg(void **state)
{
    char path[128];
    struct wdn_jose_key *ec = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "ec", NULL);
    struct wdn_jose_key *k;
    struct wdn_diag d;

    assert_non_null(ec);
    snprintf(path, sizeof(path), "%s/ec.pem", dir);
    assert_int_equal(wdn_jose_key_save_pem(ec, path, NULL), 0);
    static const enum wdn_jose_alg wrong[] = {WDN_JOSE_RS256, WDN_JOSE_ES384, WDN_JOSE_EDDSA,
                                              WDN_JOSE_ALG_UNKNOWN};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        wdn_diag_clear(&d);
        assert_null(wdn_jose_key_load_pem(path, wrong[i], "ec", &d));
        assert_int_equal(d.code, WDN_EINVAL);
        assert_non_null(strstr(d.msg, "the key does not suit"));
    }
    k = wdn_jose_key_load_pem(path, WDN_JOSE_ES256, NULL, &d);
    assert_non_null(k);
    wdn_jose_key_free(k);
    wdn_jose_key_free(ec);
}

static void test_pem_refusals(void **state)
{
    char path[128], big[WDN_PKI_MAX_FILE_BYTES + 2];
    struct wdn_diag d;

    snprintf(path, sizeof(path), "%s/missing.pem", dir);
    wdn_diag_clear(&d);
    assert_null(wdn_jose_key_load_pem(path, WDN_JOSE_ES256, "k", &d));
    assert_int_equal(d.code, WDN_EIO);
    assert_non_null(strstr(d.msg, "cannot read"));
    snprintf(path, sizeof(path), "%s/big.pem", dir);
    memset(big, 'A', sizeof(big));
    write_file(path, big, sizeof(big));
    wdn_diag_clear(&d);
    assert_null(wdn_jose_key_load_pem(path, WDN_JOSE_ES256, "k", &d));
    assert_int_equal(d.code, WDN_ELIMIT);
    snprintf(path, sizeof(path), "%s/text.pem", dir);
    write_file(path, "not a key\n", 10);
    wdn_diag_clear(&d);
    assert_null(wdn_jose_key_load_pem(path, WDN_JOSE_ES256, "k", &d));
    assert_int_equal(d.code, WDN_EPARSE);
    assert_non_null(strstr(d.msg, "holds no PEM key"));
    wdn_diag_clear(&d);
    assert_null(wdn_jose_key_from_pem(wdn_str_from_cstr(""), WDN_JOSE_ES256, "k", &d));
    assert_string_equal(d.msg, "no PEM key, or one too long");
    wdn_diag_clear(&d);
    assert_null(
        wdn_jose_key_from_pem((struct wdn_str){big, 64 * 1024 + 1}, WDN_JOSE_ES256, "k", &d));
    assert_string_equal(d.msg, "no PEM key, or one too long");
    wdn_diag_clear(&d);
    assert_null(wdn_jose_key_from_pem(wdn_str_from_cstr("-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                                        "-----END PRIVATE KEY-----\n"),
                                      WDN_JOSE_ES256, "k", &d));
    assert_int_equal(d.code, WDN_EPARSE);
    assert_string_equal(d.msg, "the text holds no PEM private key");
}

/* A public key (loaded from a PUBLIC KEY PEM) verifies but never signs or is saved as private. */
static void test_public_key_cannot_sign_or_be_saved(void **state)
{
    struct wdn_jose_key *ed = wdn_jose_key_generate(WDN_JOSE_EDDSA, 0, "ed", NULL), *pub;
    char path[128], cmd[400];
    struct wdn_diag d;
    struct wdn_buf b;

    assert_non_null(ed);
    snprintf(path, sizeof(path), "%s/ed.pem", dir);
    assert_int_equal(wdn_jose_key_save_pem(ed, path, NULL), 0);
    snprintf(cmd, sizeof(cmd), "openssl pkey -in %s -pubout -out %s/ed.pub 2>/dev/null", path, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/ed.pub", dir);
    pub = wdn_jose_key_load_pem(path, WDN_JOSE_EDDSA, "ed", &d);
    assert_non_null(pub);
    snprintf(path, sizeof(path), "%s/pub-as-private.pem", dir);
    wdn_diag_clear(&d);
    assert_int_equal(wdn_jose_key_save_pem(pub, path, &d), WDN_EPERM);
    assert_string_equal(d.msg, "a public key cannot be saved as a private key");
    assert_int_equal(access(path, F_OK), -1);
    wdn_buf_init(&b, 4096);
    assert_int_equal(wdn_jws_sign(pub, wdn_str_from_cstr("{}"), NULL, &b), WDN_EPERM);
    assert_int_equal(b.len, 0);
    wdn_buf_reset(&b);
    /* Its public JWK is the same as the private key's. */
    char *a = wdn_jose_key_public_jwk(pub), *e = wdn_jose_key_public_jwk(ed);
    assert_string_equal(a, e);
    free(a);
    free(e);
    /* Saving where no file can be written (below a regular file) says where. */
    snprintf(path, sizeof(path), "%s/ed.pem/k.pem", dir);
    wdn_diag_clear(&d);
    assert_int_not_equal(wdn_jose_key_save_pem(ed, path, &d), 0);
    snprintf(cmd, sizeof(cmd), "cannot write %s", path);
    assert_non_null(strstr(d.msg, cmd));
    wdn_jose_key_free(pub);
    wdn_jose_key_free(ed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_refusals),
        cmocka_unit_test(test_key_must_suit_alg),
        cmocka_unit_test(test_pem_refusals),
        cmocka_unit_test(test_public_key_cannot_sign_or_be_saved),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
