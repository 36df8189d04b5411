/* Tests for the pure discovery helpers: well-known URLs, document checks, Cache-Control. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/error.h"
#include "oidc/discovery.h"

static void test_urls(void **state)
{
    char a[256], b[256];

    assert_int_equal(wdn_oidc_discovery_urls("https://tenant.auth0.com/", a, sizeof(a), b, sizeof(b)), 0);
    assert_string_equal(a, "https://tenant.auth0.com/.well-known/openid-configuration");
    assert_string_equal(b, "https://tenant.auth0.com/.well-known/oauth-authorization-server");
    assert_int_equal(wdn_oidc_discovery_urls("https://login.example/tenant/v2.0", a, sizeof(a), b, sizeof(b)), 0);
    assert_string_equal(a, "https://login.example/tenant/v2.0/.well-known/openid-configuration");
    assert_string_equal(b, "https://login.example/.well-known/oauth-authorization-server/tenant/v2.0");
    assert_int_equal(wdn_oidc_discovery_urls("https://h:8443", a, sizeof(a), b, sizeof(b)), 0);
    assert_string_equal(b, "https://h:8443/.well-known/oauth-authorization-server");
    assert_int_equal(wdn_oidc_discovery_urls("http://insecure/", a, sizeof(a), b, sizeof(b)), WDN_EINVAL);
    assert_int_equal(wdn_oidc_discovery_urls("https://u:p@h/", a, sizeof(a), b, sizeof(b)), WDN_EINVAL);
    assert_int_equal(wdn_oidc_discovery_urls("https://h/?q", a, sizeof(a), b, sizeof(b)), WDN_EINVAL);
    assert_int_equal(wdn_oidc_discovery_urls("https://h/", a, 10, b, sizeof(b)), WDN_ELIMIT);
}

static void test_parse(void **state)
{
    char *uri = NULL;
    struct wdn_diag d;

    assert_int_equal(wdn_oidc_discovery_parse(WDN_STR("{\"issuer\":\"https://i/\",\"jwks_uri\":\"https://i/k\"}"),
                                              "https://i/", &uri, &d), 0);
    assert_string_equal(uri, "https://i/k");
    free(uri);
    /* The issuer must match exactly (Auth0's trailing slash included). */
    assert_int_equal(wdn_oidc_discovery_parse(WDN_STR("{\"issuer\":\"https://i\",\"jwks_uri\":\"https://i/k\"}"),
                                              "https://i/", &uri, &d), WDN_EAUTH);
    assert_null(uri);
    assert_int_equal(wdn_oidc_discovery_parse(WDN_STR("{\"issuer\":\"https://i/\",\"jwks_uri\":\"http://i/k\"}"),
                                              "https://i/", &uri, &d), WDN_EPARSE);
    assert_int_equal(wdn_oidc_discovery_parse(WDN_STR("{\"issuer\":\"https://i/\"}"), "https://i/", &uri, &d),
                     WDN_EPARSE);
    assert_int_equal(wdn_oidc_discovery_parse(WDN_STR("[1]"), "https://i/", &uri, &d), WDN_EPARSE);
    assert_int_equal(wdn_oidc_discovery_parse(WDN_STR("{\"issuer\":\"https://i/\",\"issuer\":\"x\"}"),
                                              "https://i/", &uri, &d), WDN_EPARSE);
}

static void test_cache_control(void **state)
{
    assert_int_equal(wdn_oidc_cache_max_age(WDN_STR("max-age=3600")), 3600);
    assert_int_equal(wdn_oidc_cache_max_age(WDN_STR("public, Max-Age=120, must-revalidate")), 120);
    assert_int_equal(wdn_oidc_cache_max_age(WDN_STR("max-age=\"60\"")), 60);
    assert_int_equal(wdn_oidc_cache_max_age(WDN_STR("no-cache")), 0);
    assert_int_equal(wdn_oidc_cache_max_age(WDN_STR("public")), -1);
    assert_int_equal(wdn_oidc_cache_max_age(WDN_STR("max-age=-1")), -1);
    assert_int_equal(wdn_oidc_cache_max_age(WDN_STR("max-age=99999999999999999999")), -1);
    assert_int_equal(wdn_oidc_cache_max_age(WDN_STR("")), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_cache_control),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
