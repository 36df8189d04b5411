/* Interop the other way round from the issuer: a third-party authorization server
 * (oidc-provider from npm, tests/interop/oauth2/oidc_server.mjs) issues client-credentials
 * tokens to our client (src/oauth2: discovery, client_secret_basic and client_secret_post,
 * RFC 8707 resource), and our verifier (src/jose) accepts them against that server's JWKS.
 * Exits 77 (skipped) when tests/interop/oauth2/node_modules was not installed (npm ci needs
 * the npm registry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../support/childproc.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "jose/jwt.h"
#include "oauth2/client.h"
#include "oauth2/discovery.h"

#define RESOURCE "https://api.example/"
#define SECRET "interop-secret-0123456789"

static struct childproc as;
static char issuer[128];
static struct wdn_oauth2_discovered disc;
static struct wdn_jwks *keys;

static int setup(void **state)
{
    char script[1024];
    struct wdn_diag d;
    struct wdn_fetch_response r;

    snprintf(script, sizeof(script), "%s/tests/interop/oauth2/oidc_server.mjs",
             getenv("WDN_SOURCE_DIR"));
    char *argv[] = {"node", script, NULL};
    if (childproc_start(&as, argv, 30000) != 0)
        return -1;
    snprintf(issuer, sizeof(issuer), "http://127.0.0.1:%d", as.port);
    if (wdn_oauth2_discover_issuer(issuer, NULL, &disc, &d) != 0) {
        fprintf(stderr, "discovery: %s\n", d.msg);
        return -1;
    }
    struct wdn_fetch_request req = {.url = disc.jwks_uri};
    if (wdn_fetch(&req, &r, &d) != 0 || r.status != 200)
        return -1;
    keys = wdn_jwks_parse(wdn_buf_str(&r.body), &d);
    wdn_fetch_response_reset(&r);
    return keys ? 0 : -1;
}

static int teardown(void **state)
{
    childproc_stop(&as);
    wdn_jwks_release(keys);
    wdn_oauth2_discovered_reset(&disc);
    return 0;
}

static void token_and_verify(const char *client_id, enum wdn_oauth2_auth auth)
{
    static char tok[WDN_JWT_MAX_TOKEN_BYTES];
    struct wdn_diag d;
    struct wdn_oauth2_config cfg = {.token_url = disc.token_endpoint, .client_id = client_id,
                                    .client_secret = SECRET, .resource = RESOURCE,
                                    .scope = "read", .auth = auth};
    struct wdn_oauth2_client *c = wdn_oauth2_client_new(&cfg, &d);
    assert_non_null(c);
    if (wdn_oauth2_client_token(c, tok, sizeof(tok), &d) != 0)
        fail_msg("token from oidc-provider: %s", d.msg);
    wdn_oauth2_client_free(c);

    const char *auds[] = {RESOURCE}, *scopes[] = {"read"};
    struct wdn_jwt_rules rules;
    struct wdn_jwt *jwt = NULL;
    wdn_jwt_rules_init(&rules);
    rules.issuer = disc.issuer;
    rules.audiences = auds;
    rules.n_audiences = 1;
    rules.scopes = scopes;
    rules.n_scopes = 1;
    enum wdn_jwt_reason why = wdn_jwt_verify(keys, &rules, wdn_str_from_cstr(tok),
                                             wdn_clock_unix(), &jwt);
    if (why != WDN_JWT_OK)
        fail_msg("our verifier refused oidc-provider's token: %s", wdn_jwt_reason_name(why));
    assert_string_equal(wdn_jwt_client_id(jwt), client_id);
    assert_false(wdn_jwt_has_scope(jwt, WDN_STR("write")));
    wdn_jwt_release(jwt);

    /* The same token for another audience or issuer is refused. */
    const char *other[] = {"https://other.example/"};
    rules.audiences = other;
    assert_int_equal(wdn_jwt_verify(keys, &rules, wdn_str_from_cstr(tok), wdn_clock_unix(), NULL),
                     WDN_JWT_WRONG_AUDIENCE);
    rules.audiences = auds;
    rules.issuer = "http://127.0.0.1:1";
    assert_int_equal(wdn_jwt_verify(keys, &rules, wdn_str_from_cstr(tok), wdn_clock_unix(), NULL),
                     WDN_JWT_WRONG_ISSUER);
}

static void test_discovery(void **state)
{
    assert_string_equal(disc.issuer, issuer);
    assert_non_null(strstr(disc.token_endpoint, "/token"));
    assert_true(disc.supports_basic && disc.supports_post);
    assert_true(wdn_jwks_count(keys) >= 1);
}

static void test_basic(void **state)
{
    token_and_verify("cid-basic", WDN_OAUTH2_AUTH_BASIC);
}

static void test_post(void **state)
{
    token_and_verify("cid-post", WDN_OAUTH2_AUTH_POST);
}

static void test_refusals(void **state)
{
    char tok[256];
    struct wdn_diag d;
    struct wdn_oauth2_config cfg = {.token_url = disc.token_endpoint, .client_id = "cid-basic",
                                    .client_secret = "wrong", .resource = RESOURCE};
    struct wdn_oauth2_client *c = wdn_oauth2_client_new(&cfg, &d);
    assert_int_equal(wdn_oauth2_client_token(c, tok, sizeof(tok), &d), WDN_EAUTH);
    assert_non_null(strstr(d.msg, "invalid_client"));
    wdn_oauth2_client_free(c);
    cfg.client_secret = SECRET;
    cfg.resource = "https://not-registered.example/";
    c = wdn_oauth2_client_new(&cfg, &d);
    assert_int_equal(wdn_oauth2_client_token(c, tok, sizeof(tok), &d), WDN_EAUTH);
    assert_non_null(strstr(d.msg, "invalid_target"));
    wdn_oauth2_client_free(c);
}

int main(void)
{
    char marker[1024];
    const char *src = getenv("WDN_SOURCE_DIR");

    snprintf(marker, sizeof(marker), "%s/tests/interop/oauth2/node_modules/oidc-provider/package.json",
             src ? src : ".");
    if (access(marker, R_OK) != 0) {
        printf("SKIP: %s is missing: the npm registry was unreachable for `npm ci` in "
               "tests/interop/oauth2\n", marker);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_post),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
