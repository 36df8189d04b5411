/* The client-credentials client against a local mock authorization server (mock_as.js):
 * each body style, the cache, refresh before expiry, concurrency, errors and discovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "../support/childproc.h"
#include "base/error.h"
#include "http/fetch.h"
#include "oauth2/client.h"
#include "oauth2/discovery.h"

static struct childproc as;
static char token_url[256];

static int setup(void **state)
{
    char script[1024];
    snprintf(script, sizeof(script), "%s/tests/unit/oauth2/mock_as.js", getenv("WDN_SOURCE_DIR"));
    char *argv[] = {"node", script, NULL};
    if (childproc_start(&as, argv, 10000) != 0)
        return -1;
    snprintf(token_url, sizeof(token_url), "http://127.0.0.1:%d/oauth/token", as.port);
    return 0;
}

static int teardown(void **state)
{
    childproc_stop(&as);
    return 0;
}

static void get(const char *path)
{
    char url[256];
    struct wdn_fetch_response r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", as.port, path);
    struct wdn_fetch_request req = {.url = url};
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    wdn_fetch_response_reset(&r);
}

static struct wdn_oauth2_client *client(enum wdn_oauth2_auth auth, const char *secret)
{
    struct wdn_oauth2_config cfg = {.token_url = token_url, .client_id = "cid",
                                    .client_secret = secret, .audience = "https://api/",
                                    .scope = "read write", .auth = auth};
    struct wdn_oauth2_client *c = wdn_oauth2_client_new(&cfg, NULL);
    assert_non_null(c);
    return c;
}

static void test_each_auth_style(void **state)
{
    const enum wdn_oauth2_auth styles[] = {WDN_OAUTH2_AUTH_JSON, WDN_OAUTH2_AUTH_BASIC,
                                           WDN_OAUTH2_AUTH_POST};
    char tok[512];
    get("/lifetime?s=3600");
    for (size_t i = 0; i < 3; i++) {
        struct wdn_diag d;
        struct wdn_oauth2_client *c = client(styles[i], "c s+cret&");
        int rc = wdn_oauth2_client_token(c, tok, sizeof(tok), &d);
        if (rc)
            fail_msg("style %zu: %s", i, d.msg);
        /* the server echoes audience and scope into the token */
        assert_non_null(strstr(tok, "-https://api/--read write"));
        wdn_oauth2_client_free(c);
    }
}

static void test_wrong_secret(void **state)
{
    char tok[512];
    struct wdn_diag d;
    struct wdn_oauth2_client *c = client(WDN_OAUTH2_AUTH_BASIC, "wrong");
    assert_int_equal(wdn_oauth2_client_token(c, tok, sizeof(tok), &d), WDN_EAUTH);
    assert_non_null(strstr(d.msg, "HTTP 401"));
    assert_non_null(strstr(d.msg, "invalid_client"));
    assert_null(strstr(d.msg, "wrong")); /* the secret never reaches a message */
    wdn_oauth2_client_free(c);
}

static void test_cache_and_refresh(void **state)
{
    char tok1[512], tok2[512];
    uint64_t fetches, hits;
    get("/lifetime?s=3600");
    struct wdn_oauth2_client *c = client(WDN_OAUTH2_AUTH_POST, "c s+cret&");
    assert_int_equal(wdn_oauth2_client_token(c, tok1, sizeof(tok1), NULL), 0);
    assert_int_equal(wdn_oauth2_client_token(c, tok2, sizeof(tok2), NULL), 0);
    assert_string_equal(tok1, tok2);
    wdn_oauth2_client_stats(c, &fetches, &hits);
    assert_int_equal(fetches, 1);
    assert_int_equal(hits, 1);
    wdn_oauth2_client_invalidate(c);
    assert_int_equal(wdn_oauth2_client_token(c, tok2, sizeof(tok2), NULL), 0);
    assert_string_not_equal(tok1, tok2);
    wdn_oauth2_client_free(c);

    /* A one-second token is refreshed once its lifetime has passed. */
    get("/lifetime?s=1");
    c = client(WDN_OAUTH2_AUTH_POST, "c s+cret&");
    assert_int_equal(wdn_oauth2_client_token(c, tok1, sizeof(tok1), NULL), 0);
    usleep(1100 * 1000);
    assert_int_equal(wdn_oauth2_client_token(c, tok2, sizeof(tok2), NULL), 0);
    assert_string_not_equal(tok1, tok2);
    wdn_oauth2_client_stats(c, &fetches, &hits);
    assert_int_equal(fetches, 2);
    wdn_oauth2_client_free(c);
    get("/lifetime?s=3600");
}

static void *grab(void *arg)
{
    char tok[512];
    for (int i = 0; i < 20; i++) {
        if (wdn_oauth2_client_token(arg, tok, sizeof(tok), NULL) != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_threads_share_one_fetch(void **state)
{
    pthread_t t[8];
    uint64_t fetches, hits;
    struct wdn_oauth2_client *c = client(WDN_OAUTH2_AUTH_JSON, "c s+cret&");
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, grab, c);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    wdn_oauth2_client_stats(c, &fetches, &hits);
    assert_int_equal(fetches, 1);
    assert_int_equal(hits, 159);
    wdn_oauth2_client_free(c);
}

static void test_small_buffer_and_down_server(void **state)
{
    char tok[4];
    struct wdn_oauth2_client *c = client(WDN_OAUTH2_AUTH_JSON, "c s+cret&");
    assert_int_equal(wdn_oauth2_client_token(c, tok, sizeof(tok), NULL), WDN_ELIMIT);
    wdn_oauth2_client_free(c);

    struct wdn_oauth2_config cfg = {.token_url = "http://127.0.0.1:1/oauth/token",
                                    .client_id = "a", .client_secret = "b"};
    c = wdn_oauth2_client_new(&cfg, NULL);
    char t2[64];
    struct wdn_diag d;
    assert_int_equal(wdn_oauth2_client_token(c, t2, sizeof(t2), &d), WDN_ECONNREFUSED);
    wdn_oauth2_client_free(c);
}

static void test_discovery_from_401(void **state)
{
    char url[256], wa[1024];
    struct wdn_fetch_response r;
    struct wdn_oauth2_discovered disc;
    struct wdn_diag d;

    /* The resource answers 401 with resource_metadata; discovery follows it to the token URL. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/mcp", as.port);
    struct wdn_fetch_request req = {.url = url};
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0);
    assert_int_equal(r.status, 401);
    snprintf(wa, sizeof(wa), "%s", r.www_authenticate);
    wdn_fetch_response_reset(&r);
    int rc = wdn_oauth2_discover(url, wa, NULL, &disc, &d);
    if (rc)
        fail_msg("%s", d.msg);
    assert_string_equal(disc.token_endpoint, token_url);
    assert_string_equal(disc.resource, url);
    assert_true(disc.supports_post);
    assert_false(disc.supports_basic);
    wdn_oauth2_discovered_reset(&disc);

    /* Without the header: the well-known URL with the path suffix. */
    assert_int_equal(wdn_oauth2_discover(url, NULL, NULL, &disc, NULL), 0);
    assert_string_equal(disc.token_endpoint, token_url);
    wdn_oauth2_discovered_reset(&disc);

    /* Metadata naming another resource is refused. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/evil", as.port);
    assert_int_equal(wdn_oauth2_discover(url, NULL, NULL, &disc, &d), WDN_EAUTH);
    assert_null(disc.token_endpoint);
}

static void test_config_from_env(void **state)
{
    struct wdn_oauth2_config cfg;
    char buf[256];
    struct wdn_diag d;

    unsetenv("AUTH0_DOMAIN");
    unsetenv("OAUTH2_TOKEN_URL");
    assert_int_equal(wdn_oauth2_config_from_env(&cfg, buf, sizeof(buf), &d), WDN_ENOTFOUND);
    setenv("AUTH0_DOMAIN", "127.0.0.1:8443", 1);
    setenv("AUTH0_CLIENT_ID", "id", 1);
    setenv("AUTH0_CLIENT_SECRET", "s", 1);
    setenv("AUTH0_AUDIENCE", "https://api/", 1);
    assert_int_equal(wdn_oauth2_config_from_env(&cfg, buf, sizeof(buf), &d), 0);
    assert_string_equal(cfg.token_url, "https://127.0.0.1:8443/oauth/token");
    assert_int_equal(cfg.auth, WDN_OAUTH2_AUTH_JSON);
    assert_string_equal(cfg.audience, "https://api/");
    unsetenv("AUTH0_DOMAIN");
    setenv("OAUTH2_TOKEN_URL", "https://as/token", 1);
    setenv("OAUTH2_CLIENT_ID", "id", 1);
    setenv("OAUTH2_CLIENT_SECRET", "s", 1);
    setenv("OAUTH2_AUTH_METHOD", "client_secret_post", 1);
    assert_int_equal(wdn_oauth2_config_from_env(&cfg, buf, sizeof(buf), &d), 0);
    assert_int_equal(cfg.auth, WDN_OAUTH2_AUTH_POST);
    setenv("OAUTH2_AUTH_METHOD", "private_key_jwt", 1);
    assert_int_equal(wdn_oauth2_config_from_env(&cfg, buf, sizeof(buf), &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "private_key_jwt"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_auth_style),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_cache_and_refresh),
        cmocka_unit_test(test_threads_share_one_fetch),
        cmocka_unit_test(test_small_buffer_and_down_server),
        cmocka_unit_test(test_discovery_from_401),
        cmocka_unit_test(test_config_from_env),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
