/* Tests for the pre-verification "iss" scanner: what it reads, what it refuses (duplicates,
 * escapes it does not decode, bad JSON, depth), and agreement with jansson where both answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/error.h"
#include "base/limits.h"
#include "oidc/peek.h"

static int scan(const char *json, char *out, size_t cap)
{
    size_t len = 0;
    int rc = wdn_oidc_scan_iss(json, strlen(json), out, cap, &len);
    if (rc == 0)
        assert_int_equal(len, strlen(out));
    return rc;
}

static void test_reads_iss(void **state)
{
    static const struct {
        const char *json, *iss;
    } ok[] = {
        {"{\"iss\":\"https://a.test/\"}", "https://a.test/"},
        {" { \"sub\" : \"x\" , \"iss\" : \"https://a.test/\" , \"exp\" : 1 } ", "https://a.test/"},
        {"{\"aud\":[\"a\",{\"iss\":\"nested\"}],\"iss\":\"top\"}", "top"},
        {"{\"x\":{\"iss\":\"inner\"},\"iss\":\"outer\"}", "outer"},
        {"{\"iss\":\"https:\\/\\/a.test\\/\"}", "https://a.test/"}, /* PHP escapes / */
        {"{\"\\u0069ss\":\"k\"}", "k"},                             /* escaped key */
        {"{\"iss\":\"\\u0041\\\"\\\\\"}", "A\"\\"},
        {"{\"n\":-1.5e+3,\"t\":true,\"f\":false,\"z\":null,\"iss\":\"x\"}", "x"},
        {"{\"\\u00e9\":1,\"iss\":\"x\"}", "x"}, /* a key it does not decode is not iss */
        {"{\"iss\":\"\"}", ""},
    };
    char out[256];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (scan(ok[i].json, out, sizeof(out)) != 0)
            fail_msg("case %zu refused: %s", i, ok[i].json);
        assert_string_equal(out, ok[i].iss);
    }
}

static void test_refuses(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "\"iss\"",
        "{\"iss\":\"a\",\"iss\":\"b\"}", /* duplicate */
        "{\"iss\":\"a\",\"\\u0069ss\":\"b\"}",
        "{\"iss\":1}",
        "{\"iss\":[\"a\"]}",
        "{\"iss\":\"\\u00e9\"}", /* not printable ASCII */
        "{\"iss\":\"a\\u0000b\"}",
        "{\"iss\":\"a\nb\"}", /* raw control character */
        "{\"iss\":\"a\\q\"}",
        "{\"iss\":\"a\"",
        "{\"iss\":\"a\"} x",
        "{\"iss\" \"a\"}",
        "{\"a\":1,}",
        "{\"a\":}",
        "{\"a\":[1,]}",
        "{\"a\":\"\\u12\"}",
    };
    char out[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (scan(bad[i], out, sizeof(out)) != WDN_EPARSE)
            fail_msg("case %zu accepted: %s", i, bad[i]);
    assert_int_equal(scan("{\"sub\":\"x\"}", out, sizeof(out)), WDN_ENOTFOUND);
    assert_int_equal(scan("{}", out, sizeof(out)), WDN_ENOTFOUND);
    assert_int_equal(scan("{\"iss\":\"0123456789\"}", out, 8), WDN_ELIMIT);
}

static void test_depth(void **state)
{
    char doc[256], out[16];
    size_t n = 0;

    n += (size_t)snprintf(doc + n, sizeof(doc) - n, "{\"a\":");
    for (int i = 0; i < WDN_JSON_MAX_DEPTH + 2; i++)
        doc[n++] = '[';
    for (int i = 0; i < WDN_JSON_MAX_DEPTH + 2; i++)
        doc[n++] = ']';
    n += (size_t)snprintf(doc + n, sizeof(doc) - n, ",\"iss\":\"x\"}");
    assert_int_equal(scan(doc, out, sizeof(out)), WDN_EPARSE);
}

static void test_peek_token(void **state)
{
    char out[64];
    size_t len;

    /* {"iss":"x"} */
    assert_int_equal(
        wdn_oidc_peek_issuer(wdn_str_from_cstr("e30.eyJpc3MiOiJ4In0.c2ln"), out, sizeof(out), &len),
        0);
    assert_string_equal(out, "x");
    assert_int_equal(
        wdn_oidc_peek_issuer(wdn_str_from_cstr("e30.eyJpc3MiOiJ4In0"), out, sizeof(out), &len),
        WDN_EPARSE);
    assert_int_equal(
        wdn_oidc_peek_issuer(wdn_str_from_cstr("e30.eyJpc3MiOiJ4In0.a.b"), out, sizeof(out), &len),
        WDN_EPARSE);
    assert_int_equal(
        wdn_oidc_peek_issuer(wdn_str_from_cstr(".eyJpc3MiOiJ4In0.c2ln"), out, sizeof(out), &len),
        WDN_EPARSE);
    assert_int_equal(
        wdn_oidc_peek_issuer(wdn_str_from_cstr("e30.e=30.c2ln"), out, sizeof(out), &len),
        WDN_EPARSE);
    assert_int_equal(
        wdn_oidc_peek_issuer(wdn_str_from_cstr("opaque-token"), out, sizeof(out), &len),
        WDN_EPARSE);
}

/* Where the scanner reads an "iss" and jansson parses the same text, they agree. */
static void test_agrees_with_jansson(void **state)
{
    static const char *const docs[] = {
        "{\"iss\":\"https:\\/\\/a\"}",
        "{\"a\":{\"iss\":1},\"iss\":\"b\"}",
        "{\"\\u0069\\u0073\\u0073\":\"c\",\"x\":[[],{}]}",
        "{\"iss\":\"\\t\"}",
    };
    char out[64];

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *j = json_loads(docs[i], JSON_REJECT_DUPLICATES, NULL);
        assert_non_null(j);
        assert_int_equal(scan(docs[i], out, sizeof(out)), 0);
        assert_string_equal(out, json_string_value(json_object_get(j, "iss")));
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_iss),
        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_peek_token),
        cmocka_unit_test(test_agrees_with_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
