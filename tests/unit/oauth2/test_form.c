/* Form encoding/decoding, Basic credentials and WWW-Authenticate parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "oauth2/challenge.h"
#include "oauth2/discovery.h"
#include "oauth2/form.h"

static void test_encode(void **state)
{
    struct wdn_buf b;
    wdn_buf_init(&b, 1024);
    assert_int_equal(wdn_form_add(&b, "grant_type", "client_credentials"), 0);
    assert_int_equal(wdn_form_add(&b, "scope", "a b/c&d=e"), 0);
    assert_string_equal(wdn_buf_cstr(&b), "grant_type=client_credentials&scope=a%20b%2Fc%26d%3De");
    wdn_buf_reset(&b);
}

static void test_basic_auth(void **state)
{
    struct wdn_buf b;
    wdn_buf_init(&b, 1024);
    /* RFC 6749 2.3.1: id and secret are form-encoded before base64: "a:b%3Ac" */
    assert_int_equal(wdn_form_basic_auth(&b, "a", "b:c"), 0);
    assert_string_equal(wdn_buf_cstr(&b), "Basic YTpiJTNBYw==");
    wdn_buf_reset(&b);
}

static void test_decode_ok(void **state)
{
    struct wdn_form f;
    assert_int_equal(wdn_form_decode(WDN_STR("grant_type=client_credentials&scope=a+b%2Fc&x="), &f), 0);
    assert_int_equal(f.n, 3);
    assert_string_equal(wdn_form_get(&f, "grant_type"), "client_credentials");
    assert_string_equal(wdn_form_get(&f, "scope"), "a b/c");
    assert_string_equal(wdn_form_get(&f, "x"), "");
    assert_null(wdn_form_get(&f, "missing"));
    wdn_form_reset(&f);
    assert_int_equal(wdn_form_decode(WDN_STR(""), &f), 0);
    assert_int_equal(f.n, 0);
}

static void test_decode_rejects(void **state)
{
    static const char *const bad[] = {
        "a=1&a=2",  /* repeated parameter (RFC 6749 3.2) */
        "a=1&&b=2", /* empty field */
        "novalue",  /* no '=' */
        "=x",       /* empty name */
        "a=%4",     /* truncated escape */
        "a=%zz",    /* not hex */
        "a=%00",    /* NUL */
        "a=1&",     /* trailing '&' */
        "&a=1",
    };
    struct wdn_form f;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = wdn_form_decode(wdn_str_from_cstr(bad[i]), &f);
        if (rc != WDN_EPARSE)
            fail_msg("'%s' gave %d, expected WDN_EPARSE", bad[i], rc);
        assert_int_equal(f.n, 0);
    }
    char many[400] = "";
    for (int i = 0; i < 40; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sk%d=v", i ? "&" : "", i);
    assert_int_equal(wdn_form_decode(wdn_str_from_cstr(many), &f), WDN_ELIMIT);
}

static void test_challenge(void **state)
{
    char out[256];
    const struct wdn_str h = WDN_STR(
        "Basic realm=\"x\", Bearer realm=\"mcp\", error=\"invalid_token\", "
        "resource_metadata=\"https://h/.well-known/oauth-protected-resource\"");
    assert_int_equal(wdn_challenge_param(h, "bearer", "resource_metadata", out, sizeof(out)), 0);
    assert_string_equal(out, "https://h/.well-known/oauth-protected-resource");
    assert_int_equal(wdn_challenge_param(h, "Bearer", "error", out, sizeof(out)), 0);
    assert_string_equal(out, "invalid_token");
    assert_int_equal(wdn_challenge_param(h, "Basic", "realm", out, sizeof(out)), 0);
    assert_string_equal(out, "x");
    assert_int_equal(wdn_challenge_param(h, "Basic", "error", out, sizeof(out)), WDN_ENOTFOUND);
    assert_int_equal(wdn_challenge_param(WDN_STR("Bearer"), "Bearer", "error", out, sizeof(out)),
                     WDN_ENOTFOUND);
    /* token68 credentials and token values */
    assert_int_equal(wdn_challenge_param(WDN_STR("Negotiate abc+/==, Bearer error=insufficient_scope"),
                                         "Bearer", "error", out, sizeof(out)), 0);
    assert_string_equal(out, "insufficient_scope");
    /* escapes inside quoted strings */
    assert_int_equal(wdn_challenge_param(WDN_STR("Bearer realm=\"a\\\"b\""), "Bearer", "realm",
                                         out, sizeof(out)), 0);
    assert_string_equal(out, "a\"b");
    /* malformed */
    assert_int_equal(wdn_challenge_param(WDN_STR("Bearer realm=\"unterminated"), "Bearer", "realm",
                                         out, sizeof(out)), WDN_EPARSE);
    assert_int_equal(wdn_challenge_param(WDN_STR("Bearer realm=\"a\x01\""), "Bearer", "realm",
                                         out, sizeof(out)), WDN_EPARSE);
    assert_int_equal(wdn_challenge_param(WDN_STR("Bearer realm=\"abcdef\""), "Bearer", "realm",
                                         out, 4), WDN_ELIMIT);
}

static void test_well_known(void **state)
{
    char buf[256];
    assert_int_equal(wdn_oauth2_well_known_url("https://h:8443/mcp?x=1", "oauth-protected-resource",
                                               buf, sizeof(buf)), 0);
    assert_string_equal(buf, "https://h:8443/.well-known/oauth-protected-resource/mcp");
    assert_int_equal(wdn_oauth2_well_known_url("https://h/", "openid-configuration", buf,
                                               sizeof(buf)), 0);
    assert_string_equal(buf, "https://h/.well-known/openid-configuration");
    assert_int_equal(wdn_oauth2_well_known_url("ftp://h/", "x", buf, sizeof(buf)), WDN_EINVAL);
    assert_int_equal(wdn_oauth2_well_known_url("https:///path", "x", buf, sizeof(buf)), WDN_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),         cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_decode_ok),      cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_challenge),      cmocka_unit_test(test_well_known),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
