/* Key set documents an issuer (or an attacker in its place) could publish: members of the wrong
 * JSON type, certificate-only keys without a certificate, too many keys, documents too large or
 * of the wrong shape. Each bad key is skipped (counted), never imported half-checked, and a token
 * it would have verified is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/error.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "jose/jwk.h"
#include "jose/jwt.h"
#include "jose/sign.h"

#define NOW 1700000000
#define ISS "https://issuer.example/"
#define CLAIMS "{\"iss\":\"" ISS "\",\"aud\":\"api\",\"sub\":\"alice\",\"exp\":1700000600}"

static struct wdn_jose_key *ec, *rsa;
static struct wdn_jwt_rules rules;
static const char *const auds[] = {"api"};
static char ec_tok[2048], rsa_tok[2048];

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

static int setup(void **state)
{
    ec = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "ec1", NULL);
    rsa = wdn_jose_key_generate(WDN_JOSE_RS256, 2048, "rsa1", NULL);
    if (ec == NULL || rsa == NULL)
        return -1;
    wdn_jwt_rules_init(&rules);
    rules.issuer = ISS;
    rules.audiences = auds;
    rules.n_audiences = 1;
    return 0;
}

static int teardown(void **state)
{
    wdn_jose_key_free(ec);
    wdn_jose_key_free(rsa);
    wdn_jose_thread_cleanup();
    return 0;
}

/* k's public JWK with member name set to the JSON value json (NULL: removed), as a JWKS. */
static char *jwks_variant(const struct wdn_jose_key *k, const char *name, const char *json)
{
    char *jwk = wdn_jose_key_public_jwk(k), *txt;
    json_t *o = json_loads(jwk, 0, NULL), *doc;

    if (json == NULL)
        json_object_del(o, name);
    else
        json_object_set_new(o, name, json_loads(json, JSON_DECODE_ANY, NULL));
    doc = json_pack("{s:[o]}", "keys", o);
    txt = json_dumps(doc, 0);
    json_decref(doc);
    free(jwk);
    return txt;
}

/* The variant is skipped: no key, one skipped, and the key's token is refused. */
static void assert_skipped(const struct wdn_jose_key *k, const char *tok, const char *name,
                           const char *json)
{
    char *doc = jwks_variant(k, name, json);
    struct wdn_jwks *ks = wdn_jwks_parse(wdn_str_from_cstr(doc), NULL);

    if (ks == NULL || wdn_jwks_count(ks) != 0 || wdn_jwks_skipped(ks) != 1)
        fail_msg("%s=%s: %zu keys, %zu skipped (expected 0 and 1)", name, json ? json : "(none)",
                 wdn_jwks_count(ks), wdn_jwks_skipped(ks));
    if (wdn_jwt_verify(ks, &rules, wdn_str_from_cstr(tok), NOW, NULL) == WDN_JWT_OK)
        fail_msg("%s=%s: the token verified", name, json ? json : "(none)");
    wdn_jwks_release(ks);
    free(doc);
}

static void assert_kept(const struct wdn_jose_key *k, const char *tok, const char *name,
                        const char *json)
{
    char *doc = jwks_variant(k, name, json);
    struct wdn_jwks *ks = wdn_jwks_parse(wdn_str_from_cstr(doc), NULL);

    assert_int_equal(wdn_jwks_count(ks), 1);
    assert_int_equal(wdn_jwt_verify(ks, &rules, wdn_str_from_cstr(tok), NOW, NULL), WDN_JWT_OK);
    wdn_jwks_release(ks);
    free(doc);
}

/* Members of the wrong JSON type never pass for absent ones. */
static void test_member_types(void **state)
{
    char long_kid[WDN_JWK_MAX_KID_BYTES + 8];

    assert_skipped(ec, ec_tok, "x", "5");
    assert_skipped(ec, ec_tok, "crv", "1");
    assert_skipped(ec, ec_tok, "use", "1");
    assert_skipped(ec, ec_tok, "alg", "256");
    assert_skipped(ec, ec_tok, "kty", "[\"EC\"]");
    assert_skipped(ec, ec_tok, "key_ops", "\"verify\"");
    assert_skipped(ec, ec_tok, "key_ops", "[1,\"sign\"]");
    assert_kept(ec, ec_tok, "key_ops", "[1,\"sign\",\"verify\"]");
    long_kid[0] = '"';
    memset(long_kid + 1, 'k', WDN_JWK_MAX_KID_BYTES + 1);
    memcpy(long_kid + WDN_JWK_MAX_KID_BYTES + 2, "\"", 2);
    assert_skipped(ec, ec_tok, "kid", long_kid);
    assert_skipped(rsa, rsa_tok, "n", "65537");
    assert_skipped(rsa, rsa_tok, "e", "\"\"");
    assert_skipped(rsa, rsa_tok, "e", NULL); /* n without e */
    assert_skipped(ec, ec_tok, "kty", "\"oct\"");
}

/* An RSA key that names neither n/e nor a usable certificate. */
static void test_x5c_without_certificate(void **state)
{
    static const char *const bad[] = {
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"x5c\":[]}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"x5c\":[7]}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"x5c\":\"MIIB\"}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"x5c\":[\"not base64!\"]}]}",
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa1\"}]}",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wdn_jwks *ks = wdn_jwks_parse(wdn_str_from_cstr(bad[i]), NULL);
        assert_non_null(ks);
        assert_int_equal(wdn_jwks_count(ks), 0);
        assert_int_equal(wdn_jwks_skipped(ks), 1);
        assert_int_equal(wdn_jwt_verify(ks, &rules, wdn_str_from_cstr(rsa_tok), NOW, NULL),
                         WDN_JWT_UNKNOWN_KID);
        wdn_jwks_release(ks);
    }
}

/* Documents of the wrong size or shape are refused as a whole, with a message saying why. */
static void test_document_refusals(void **state)
{
    struct wdn_diag d;
    size_t big = WDN_JWKS_MAX_BYTES + 1;
    char *doc = malloc(big + 1);

    memset(doc, ' ', big);
    memcpy(doc, "{\"keys\":[]}", 11);
    doc[big] = '\0';
    wdn_diag_clear(&d);
    assert_null(wdn_jwks_parse((struct wdn_str){doc, big}, &d));
    assert_int_equal(d.code, WDN_ELIMIT);
    assert_non_null(strstr(d.msg, "exceeds the limit"));
    free(doc);
    wdn_diag_clear(&d);
    assert_null(wdn_jwks_parse(wdn_str_from_cstr("[{\"kty\":\"EC\"}]"), &d));
    assert_int_equal(d.code, WDN_EPARSE);
    assert_string_equal(d.msg, "JWKS is not a JSON object");
    wdn_diag_clear(&d);
    assert_null(wdn_jwks_parse(wdn_str_from_cstr("{\"keys\":{}}"), &d));
    assert_string_equal(d.msg, "JWKS has no \"keys\" array");
    wdn_diag_clear(&d);
    assert_null(wdn_jwks_parse_jwk(wdn_str_from_cstr("[]"), &d));
    assert_string_equal(d.msg, "JWKS is not a JSON object");
}

/* At most WDN_JWKS_MAX_KEYS keys are kept; the rest, and entries that are not objects, are
 * counted as skipped. */
static void test_too_many_keys(void **state)
{
    char *jwk = wdn_jose_key_public_jwk(ec);
    json_t *one = json_loads(jwk, 0, NULL), *arr = json_array(), *doc;
    struct wdn_jwks *ks;
    char *txt;

    json_array_append_new(arr, json_string("not a key"));
    for (int i = 0; i < WDN_JWKS_MAX_KEYS + 5; i++) {
        json_t *k = json_deep_copy(one);
        char kid[16];
        snprintf(kid, sizeof(kid), "k%d", i);
        json_object_set_new(k, "kid", json_string(kid));
        json_array_append_new(arr, k);
    }
    doc = json_pack("{s:o}", "keys", arr);
    txt = json_dumps(doc, 0);
    ks = wdn_jwks_parse(wdn_str_from_cstr(txt), NULL);
    assert_int_equal(wdn_jwks_count(ks), WDN_JWKS_MAX_KEYS);
    assert_int_equal(wdn_jwks_skipped(ks), 6);
    assert_null(wdn_jwks_key(ks, WDN_JWKS_MAX_KEYS));
    assert_true(wdn_jwks_has_thumbprint(ks, wdn_jwk_thumbprint(wdn_jwks_key(ks, 0))));
    wdn_jwks_release(ks);
    free(txt);
    json_decref(doc);
    json_decref(one);
    free(jwk);
}

/* No key set (not loaded yet) answers like an empty one; algorithms outside the table are never
 * allowed. */
static void test_accessors_without_keys(void **state)
{
    static const unsigned char zero[32];
    char *doc = jwks_variant(ec, "alg", "\"ES256\"");
    struct wdn_jwks *ks = wdn_jwks_parse(wdn_str_from_cstr(doc), NULL);
    const struct wdn_jwk *k = wdn_jwks_key(ks, 0);

    assert_int_equal(wdn_jwks_count(NULL), 0);
    assert_int_equal(wdn_jwks_skipped(NULL), 0);
    assert_null(wdn_jwks_key(NULL, 0));
    assert_false(wdn_jwks_has_thumbprint(NULL, zero));
    assert_false(wdn_jwks_has_thumbprint(ks, zero));
    assert_non_null(k);
    assert_true(wdn_jwk_allows(k, WDN_JOSE_ES256));
    assert_false(wdn_jwk_allows(k, WDN_JOSE_ALG_UNKNOWN));
    assert_false(wdn_jwk_allows(k, WDN_JOSE_ALG_COUNT));
    assert_int_equal(wdn_jwk_alg(k), WDN_JOSE_ES256);
    wdn_jwks_release(ks);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_types),
        cmocka_unit_test(test_x5c_without_certificate),
        cmocka_unit_test(test_document_refusals),
        cmocka_unit_test(test_too_many_keys),
        cmocka_unit_test(test_accessors_without_keys),
    };
    int rc;

    if (setup(NULL) != 0)
        return 1;
    sign_into(ec, ec_tok, sizeof(ec_tok));
    sign_into(rsa, rsa_tok, sizeof(rsa_tok));
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    teardown(NULL);
    return rc;
}
