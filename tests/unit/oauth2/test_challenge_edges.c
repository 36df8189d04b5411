/* WWW-Authenticate as servers we do not control send it (src/oauth2/challenge.c), one row per
 * grammar rule: several challenges, token68 credentials, quoted strings with escapes, case, bad
 * whitespace, and every malformed shape refused (WDN_EPARSE) instead of guessed, values longer than
 * the caller's buffer refused (WDN_ELIMIT) instead of cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "oauth2/challenge.h"

static void test_param(void **state)
{
    (void)state;
    static const struct {
        const char *header, *scheme, *param;
        size_t cap;
        int rc;
        const char *value;
    } cases[] = {
        {"Bearer realm=\"x\", error=\"invalid_token\"", "Bearer", "error", 64, 0, "invalid_token"},
        {"Bearer error=invalid_token", "Bearer", "error", 64, 0, "invalid_token"},
        {"bearer ERROR=\"x\"", "Bearer", "error", 64, 0, "x"},
        {"Basic realm=\"a\", Bearer scope=\"s\"", "Bearer", "scope", 64, 0, "s"},
        {"Basic realm=\"a\", Bearer scope=\"s\"", "Basic", "realm", 64, 0, "a"},
        {"Bearer realm=\"a\" , scope = \"s t\"", "Bearer", "scope", 64, 0, "s t"},
        {"Bearer\tscope=\t\"x\"", "Bearer", "scope", 64, 0, "x"},
        {"Bearer scope=\"a\\\"b\\\\c\"", "Bearer", "scope", 64, 0, "a\"b\\c"},
        {"Bearer scope=\"a\tb\"", "Bearer", "scope", 64, 0, "a\tb"},
        {"Bearer scope=\"\"", "Bearer", "scope", 64, 0, ""},
        {", , Bearer scope=s", "Bearer", "scope", 64, 0, "s"},
        {"Bearer scope=\"s\", error=\"e\" ,", "Bearer", "error", 64, 0, "e"},
        {"Negotiate abc123==, Bearer scope=\"s\"", "Bearer", "scope", 64, 0, "s"},
        {"Negotiate a-b.c_d~e+f/g= , Bearer scope=\"s\"", "Bearer", "scope", 64, 0, "s"},
        {"Negotiate abc, Bearer scope=\"s\"", "Bearer", "scope", 64, 0, "s"},
        {"Negotiate a=b, Bearer scope=\"s\"", "Bearer", "scope", 64, 0, "s"},
        {"Bearer", "Bearer", "scope", 64, WDN_ENOTFOUND, NULL},
        {"", "Bearer", "scope", 64, WDN_ENOTFOUND, NULL},
        {"Bearer error=\"x\"", "Bearer", "scope", 64, WDN_ENOTFOUND, NULL},
        {"Bearer error=\"x\", DPoP scope=\"y\"", "Bearer", "scope", 64, WDN_ENOTFOUND, NULL},
        {"Bearer scope=\"x\"", "DPoP", "scope", 64, WDN_ENOTFOUND, NULL},
        {"Basic scope=\"x\"", "Bearer", "scope", 64, WDN_ENOTFOUND, NULL},
        /* malformed */
        {"Bearer scope=\"a\\", "Bearer", "scope", 64, WDN_EPARSE, NULL},
        {"Bearer scope=\"a", "Bearer", "scope", 64, WDN_EPARSE, NULL},
        {"Bearer scope=\"a\x01b\"", "Bearer", "scope", 64, WDN_EPARSE, NULL},
        {"Bearer scope=\"a\x7f\"", "Bearer", "scope", 64, WDN_EPARSE, NULL},
        {"Bearer scope=\"a\\\x01\"", "Bearer", "scope", 64, WDN_EPARSE, NULL},
        /* "scope=" alone is a token68 credential (RFC 9110 11.4), not a parameter. */
        {"Bearer scope=", "Bearer", "scope", 64, WDN_ENOTFOUND, NULL},
        {"Bearer realm=\"r\", scope=", "Bearer", "scope", 64, WDN_EPARSE, NULL},
        {"Bearer realm=r, scope=, error=x", "Bearer", "error", 64, WDN_EPARSE, NULL},
        {"Bearer scope=\"s\" junk", "Bearer", "error", 64, WDN_EPARSE, NULL},
        {"Bearer scope=s;x", "Bearer", "error", 64, WDN_EPARSE, NULL},
        {"Bearer @", "Bearer", "scope", 64, WDN_EPARSE, NULL},
        {"Basic @, Bearer scope=s", "Bearer", "scope", 64, WDN_EPARSE, NULL},
        {"=x", "Bearer", "scope", 64, WDN_EPARSE, NULL},
        {"Bearer realm=\"unterminated, scope=\"s\"", "Bearer", "scope", 64, WDN_EPARSE, NULL},
        /* the caller's buffer */
        {"Bearer scope=\"abcdef\"", "Bearer", "scope", 4, WDN_ELIMIT, NULL},
        {"Bearer scope=abcdef", "Bearer", "scope", 4, WDN_ELIMIT, NULL},
        {"Bearer scope=abc", "Bearer", "scope", 4, 0, "abc"},
        {"Bearer scope=\"abc\"", "Bearer", "scope", 4, 0, "abc"},
        {"Bearer scope=abc", "Bearer", "scope", 0, WDN_ELIMIT, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64] = "untouched";
        int rc = wdn_challenge_param(wdn_str_from_cstr(cases[i].header), cases[i].scheme,
                                     cases[i].param, out, cases[i].cap);
        if (rc != cases[i].rc || (rc == 0 && strcmp(out, cases[i].value) != 0))
            fail_msg("'%s' %s %s: rc %d '%s', expected %d '%s'", cases[i].header, cases[i].scheme,
                     cases[i].param, rc, rc == 0 ? out : "", cases[i].rc,
                     cases[i].value ? cases[i].value : "");
    }
    char out[8];
    assert_int_equal(wdn_challenge_param(WDN_STR("Bearer scope=s"), "Bearer", NULL, out, 8),
                     WDN_EINVAL);
}

static void test_read(void **state)
{
    (void)state;
    struct wdn_challenge ch;
    char big[400];

    assert_int_equal(
        wdn_challenge_read(
            WDN_STR("Bearer error=\"insufficient_scope\", error_description=\"needs more\", "
                    "scope=\"a b\", resource_metadata=\"https://h/.well-known/oauth-protected-"
                    "resource/mcp\""),
            &ch),
        0);
    assert_string_equal(ch.scheme, "Bearer");
    assert_string_equal(ch.error, "insufficient_scope");
    assert_string_equal(ch.error_description, "needs more");
    assert_string_equal(ch.scope, "a b");
    assert_string_equal(ch.resource_metadata, "https://h/.well-known/oauth-protected-resource/mcp");
    /* DPoP alone; Bearer preferred when both are offered, whatever the order. */
    assert_int_equal(
        wdn_challenge_read(WDN_STR("DPoP algs=\"ES256\", error=\"use_dpop_nonce\""), &ch), 0);
    assert_string_equal(ch.scheme, "DPoP");
    assert_string_equal(ch.error, "use_dpop_nonce");
    assert_string_equal(ch.scope, "");
    assert_int_equal(wdn_challenge_read(WDN_STR("DPoP error=\"x\", Bearer scope=\"y\""), &ch), 0);
    assert_string_equal(ch.scheme, "Bearer");
    assert_string_equal(ch.error, "");
    assert_string_equal(ch.scope, "y");
    /* Neither scheme; malformed; a field longer than its room: refused and zeroed. */
    assert_int_equal(wdn_challenge_read(WDN_STR("Basic realm=\"r\""), &ch), WDN_ENOTFOUND);
    assert_int_equal(wdn_challenge_read(WDN_STR("Bearer @"), &ch), WDN_EPARSE);
    assert_int_equal(wdn_challenge_read(WDN_STR("Basic @"), &ch), WDN_EPARSE);
    assert_int_equal(wdn_challenge_read(WDN_STR("Bearer error=\"x\", scope=\"y"), &ch), WDN_EPARSE);
    assert_string_equal(ch.scheme, "");
    assert_string_equal(ch.error, "");
    snprintf(big, sizeof(big), "Bearer error=\"e\", error_description=\"%0300d\"", 0);
    assert_int_equal(wdn_challenge_read(wdn_str_from_cstr(big), &ch), WDN_ELIMIT);
    assert_string_equal(ch.scheme, "");
    assert_string_equal(ch.error, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param),
        cmocka_unit_test(test_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
