/* DNS names (src/base/dns.c): the base rule of RFC 1123 and each flag that callers use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/dns.h"

struct dns_case {
    const char *name;
    unsigned rules;
    enum wdn_dns_problem want;
};

static void test_cases(void **state)
{
    static char long_label[70], long_name[300];
    (void)state;

    memset(long_label, 'a', 64);
    long_label[64] = '\0';
    /* "a.a.a....a": 255 bytes of valid labels, over the 253 a name may have. */
    for (size_t i = 0; i < 255; i++)
        long_name[i] = i % 2 ? '.' : 'a';
    long_name[255] = '\0';
    const struct dns_case cases[] = {
        /* The base rule: labels of letters, digits, inner hyphens; case-insensitive. */
        {"example.com", 0, WDN_DNS_OK},
        {"Mixed-Case.Example", 0, WDN_DNS_OK},
        {"a", 0, WDN_DNS_OK},
        {"127.0.0.1", 0, WDN_DNS_OK}, /* digits are fine; callers tell addresses apart */
        {"", 0, WDN_DNS_BAD_LENGTH},
        {long_name, 0, WDN_DNS_BAD_LENGTH},
        {"a b", 0, WDN_DNS_BAD_CHAR},
        {"a_b", 0, WDN_DNS_BAD_CHAR},
        {"a:80", 0, WDN_DNS_BAD_CHAR},
        {"-a", 0, WDN_DNS_BAD_EDGE},
        {"a-", 0, WDN_DNS_BAD_EDGE},
        {".a", 0, WDN_DNS_BAD_EDGE},
        {"a.", 0, WDN_DNS_BAD_EDGE},
        {"a..b", 0, WDN_DNS_BAD_LABEL},
        {"a.-b", 0, WDN_DNS_BAD_LABEL},
        {"a-.b", 0, WDN_DNS_BAD_LABEL},
        {long_label, 0, WDN_DNS_BAD_LABEL},
        /* One label (app IDs as DNS labels, namespaces). */
        {"my-app", WDN_DNS_ONE_LABEL, WDN_DNS_OK},
        {"a.b", WDN_DNS_ONE_LABEL, WDN_DNS_BAD_CHAR},
        {long_label, WDN_DNS_ONE_LABEL, WDN_DNS_BAD_LENGTH},
        /* Kubernetes names: lower case; a subdomain's labels may be long. */
        {"bearer", WDN_DNS_LOWER | WDN_DNS_ONE_LABEL, WDN_DNS_OK},
        {"Bearer", WDN_DNS_LOWER | WDN_DNS_ONE_LABEL, WDN_DNS_BAD_CHAR},
        {"Bad_Name", WDN_DNS_LOWER | WDN_DNS_LONG_LABELS, WDN_DNS_BAD_CHAR},
        {long_label, WDN_DNS_LOWER | WDN_DNS_LONG_LABELS, WDN_DNS_OK},
        /* A fully qualified name; underscores as found in URLs. */
        {"example.com.", WDN_DNS_TRAILING_DOT, WDN_DNS_OK},
        {"example.com..", WDN_DNS_TRAILING_DOT, WDN_DNS_BAD_EDGE},
        {".", WDN_DNS_TRAILING_DOT, WDN_DNS_BAD_EDGE},
        {"_dmarc.example.com", WDN_DNS_UNDERSCORE, WDN_DNS_OK},
        {"under_score.svc", WDN_DNS_UNDERSCORE | WDN_DNS_TRAILING_DOT, WDN_DNS_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum wdn_dns_problem got =
            wdn_dns_check(cases[i].name, strlen(cases[i].name), cases[i].rules);
        if (got != cases[i].want)
            print_error("case %zu \"%.40s\" rules %u: got %d, want %d\n", i, cases[i].name,
                        cases[i].rules, got, cases[i].want);
        assert_int_equal(got, cases[i].want);
        assert_int_equal(wdn_dns_name_ok(cases[i].name, cases[i].rules),
                         cases[i].want == WDN_DNS_OK);
    }
    assert_false(wdn_dns_name_ok(NULL, 0));
    /* The length counts, not a NUL: a name inside a longer buffer. */
    assert_int_equal(wdn_dns_check("abc:443", 3, 0), WDN_DNS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
