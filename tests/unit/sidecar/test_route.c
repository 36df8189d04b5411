/* The API port's route names as route.c reads and writes them: the invocation path split into
 * app ID and method (anything else is not an invocation), the app ID percent-decoded strictly
 * (a namespace other than the sidecar's own is refused, never mapped to a same-named app here),
 * and a method path written back into a URL (the metadata document's resource, the target sent
 * to the app's sidecar) with every byte that could end the path or start a query, a fragment or
 * an escape percent-encoded. Issue 18. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "sidecar/internal.h"

static void test_parse_invoke(void **state)
{
    static const struct {
        const char *path, *id, *method; /* id NULL: refused */
    } cases[] = {
        {"/v1.0/invoke/app/method/hello/there", "app", "hello/there"},
        {"/v1.0/invoke/app/method/", "app", ""},
        {"/v1.0/invoke/app/method", "app", ""},
        {"/v1.0/invoke/a%2Fb/method/x", "a%2Fb", "x"}, /* decoded (and refused) later */
        {"/v1.0/invoke/app/methodx", NULL, NULL},
        {"/v1.0/invoke/app/other/x", NULL, NULL},
        {"/v1.0/invoke/app", NULL, NULL},
        {"/v1.0/invoke//method/x", NULL, NULL},
        {"/v1.0/invoke/", NULL, NULL},
        {"/v1.0/invok/app/method/x", NULL, NULL},
        {"/v1.0/mcp/tools", NULL, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wdn_str id = {0}, method = {0};
        int rc = wdn__sc_parse_invoke(wdn_str_from_cstr(cases[i].path), &id, &method);
        if (cases[i].id == NULL) {
            if (rc != WDN_EINVAL)
                fail_msg("%s: accepted", cases[i].path);
            continue;
        }
        if (rc != 0)
            fail_msg("%s: refused", cases[i].path);
        assert_true(wdn_str_eq_cstr(id, cases[i].id));
        if (!wdn_str_eq_cstr(method, cases[i].method))
            fail_msg("%s: method %.*s, expected %s", cases[i].path, WDN_STR_FMT(method),
                     cases[i].method);
    }
}

static void test_decode_app_id(void **state)
{
    static const struct {
        const char *in;
        int rc;
        const char *out;
    } cases[] = {
        {"app", 0, "app"},
        {"%61pp", 0, "app"},
        {"app.default", 0, "app"},         /* this sidecar's own namespace */
        {"app%2Edefault", 0, "app"},       /* the same, encoded */
        {"app.prod", WDN_EUNSUPPORTED, 0}, /* another namespace: not here */
        {"app.not valid", WDN_EINVAL, 0},
        {"app.", WDN_EINVAL, 0},
        {"ap%00p", WDN_EINVAL, 0},
        {"ap%zz", WDN_EINVAL, 0},
        {"ap%4", WDN_EINVAL, 0},
        {"a%2Fb", WDN_EINVAL, 0},
        {"a b", WDN_EINVAL, 0},
        {"", WDN_EINVAL, 0},
    };
    char buf[WDN_RES_MAX_APPID + 1], big[WDN_RES_MAX_APPID + 40];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = wdn__sc_decode_app_id(wdn_str_from_cstr(cases[i].in), "default", buf, sizeof(buf));
        if (rc != cases[i].rc)
            fail_msg("%s: %d, expected %d", cases[i].in, rc, cases[i].rc);
        if (rc == 0)
            assert_string_equal(buf, cases[i].out);
    }
    /* Longer than the buffer: refused as a limit, not cut. */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(wdn__sc_decode_app_id(wdn_str_from_cstr(big), "default", buf, sizeof(buf)),
                     WDN_ELIMIT);
}

static void test_append_path(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"tools/list", "tools/list"},
        {"a-b.c_d~e/!$&'()*+,;=:@", "a-b.c_d~e/!$&'()*+,;=:@"}, /* RFC 3986 pchar, kept */
        {"a b", "a%20b"},
        {"x?q=1", "x%3Fq=1"},
        {"x#frag", "x%23frag"},
        {"100%", "100%25"},
        {"say \"hi\"", "say%20%22hi%22"},
        {"back\\slash", "back%5Cslash"},
        {"\xc3\xa9t\xc3\xa9", "%C3%A9t%C3%A9"},
        {"line\r\nX-Injected: 1", "line%0D%0AX-Injected:%201"},
        {"", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wdn_buf b;
        wdn_buf_init(&b, 1024);
        assert_int_equal(wdn__sc_append_path(&b, cases[i].in), 0);
        if (strcmp(wdn_buf_cstr(&b), cases[i].out) != 0)
            fail_msg("\"%s\": \"%s\", expected \"%s\"", cases[i].in, wdn_buf_cstr(&b),
                     cases[i].out);
        wdn_buf_reset(&b);
    }
    /* A buffer that cannot hold the result says so. */
    struct wdn_buf small;
    wdn_buf_init(&small, 4);
    assert_int_not_equal(wdn__sc_append_path(&small, "a b c"), 0);
    wdn_buf_reset(&small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_invoke),
        cmocka_unit_test(test_decode_app_id),
        cmocka_unit_test(test_append_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
