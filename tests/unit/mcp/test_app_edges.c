/* The app host (include/warden/app.h, src/mcp/app.c) at its edges, through the public API only:
 * configurations and registrations it refuses (and when), answers a handler may not set, a
 * handler that fails without answering (500), an IPv6 host, and wdn_app_fetch's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "warden/app.h"
#include "warden/mcp.h"

static int r_ok(struct wdn_app_req *req, void *ud)
{
    return wdn_app_respond(req, 200, "text/plain", "ok", 2);
}

/* Answers that cannot be set are refused; the handler then answers properly. */
static int r_rules(struct wdn_app_req *req, void *ud)
{
    int *seen = ud;

    seen[0] = wdn_app_respond(req, 99, NULL, NULL, 0);
    seen[1] = wdn_app_respond(req, 1000, NULL, NULL, 0);
    seen[2] = wdn_app_respond(req, 200, NULL, NULL, 3); /* a length without a body */
    return wdn_app_respond(req, 201, NULL, NULL, 0);
}

static int r_fail(struct wdn_app_req *req, void *ud)
{
    return WDN_EIO; /* no answer set: the app answers 500 */
}

static void config_and_registration(void **state)
{
    struct wdn_app_config bad_port = {.port = 70000}, neg_port = {.port = -1},
                          neg_workers = {.workers = -2}, ok = {0};
    struct wdn_mcp_server_config mc = {.name = "m", .version = "1"};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&mc);
    struct wdn_app *app;
    char path[16];
    int i;

    assert_null(wdn_app_new(NULL));
    assert_null(wdn_app_new(&bad_port));
    assert_null(wdn_app_new(&neg_port));
    assert_null(wdn_app_new(&neg_workers));
    app = wdn_app_new(&ok);
    assert_non_null(app);
    assert_int_equal(wdn_app_port(app), -1); /* not started */
    assert_int_equal(wdn_app_route(app, "GET", "/x", NULL, NULL), WDN_EINVAL);
    assert_int_equal(wdn_app_route(NULL, "GET", "/x", r_ok, NULL), WDN_EINVAL);
    for (i = 0; i < 32; i++) {
        snprintf(path, sizeof(path), "/r%d", i);
        assert_int_equal(wdn_app_route(app, NULL, path, r_ok, NULL), 0);
    }
    assert_int_equal(wdn_app_route(app, NULL, "/one-more", r_ok, NULL), WDN_ELIMIT);
    assert_int_equal(wdn_app_mcp(app, NULL, srv, false), WDN_EINVAL);
    assert_int_equal(wdn_app_mcp(app, "/mcp", NULL, false), WDN_EINVAL);
    assert_int_equal(wdn_app_mcp(app, "/mcp", srv, false), 0);
    assert_int_equal(wdn_app_mcp(app, "/mcp2", srv, false), WDN_EINVAL); /* one endpoint */
    assert_int_equal(wdn_app_start(app), 0);
    assert_true(wdn_app_port(app) > 0);
    /* After the start nothing more is registered, and it does not start twice. */
    assert_int_equal(wdn_app_route(app, NULL, "/late", r_ok, NULL), WDN_EINVAL);
    assert_int_equal(wdn_app_start(app), WDN_EINVAL);
    wdn_app_free(app);
    wdn_mcp_server_free(srv);
}

static void answers(void **state)
{
    struct wdn_app_config cfg = {0};
    struct wdn_app *app = wdn_app_new(&cfg);
    int seen[3] = {1, 1, 1};
    struct wdn_app_response resp;
    struct wdn_app_fetch f = {0};
    char url[96], err[160];

    assert_non_null(app);
    assert_int_equal(wdn_app_route(app, "GET", "/rules", r_rules, seen), 0);
    assert_int_equal(wdn_app_route(app, "GET", "/fail", r_fail, NULL), 0);
    assert_int_equal(wdn_app_start(app), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/rules", wdn_app_port(app));
    f.url = url;
    assert_int_equal(wdn_app_fetch(&f, &resp, err, sizeof(err)), 0);
    assert_int_equal(resp.status, 201);
    wdn_app_fetch_reset(&resp);
    assert_int_equal(seen[0], WDN_EINVAL);
    assert_int_equal(seen[1], WDN_EINVAL);
    assert_int_equal(seen[2], WDN_EINVAL);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/fail", wdn_app_port(app));
    assert_int_equal(wdn_app_fetch(&f, &resp, err, sizeof(err)), 0);
    assert_int_equal(resp.status, 500);
    wdn_app_fetch_reset(&resp);
    wdn_app_free(app);
}

static void ipv6_host(void **state)
{
    struct wdn_app_config cfg = {.host = "::1"};
    struct wdn_app *app = wdn_app_new(&cfg);
    struct wdn_app_response resp;
    struct wdn_app_fetch f = {0};
    char url[96];

    assert_non_null(app);
    assert_int_equal(wdn_app_route(app, NULL, NULL, r_ok, NULL), 0);
    if (wdn_app_start(app) != 0) { /* no IPv6 loopback here */
        wdn_app_free(app);
        skip();
    }
    snprintf(url, sizeof(url), "http://[::1]:%d/anything", wdn_app_port(app));
    f.url = url;
    assert_int_equal(wdn_app_fetch(&f, &resp, NULL, 0), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "ok");
    wdn_app_fetch_reset(&resp);
    wdn_app_free(app);
}

static void fetch_refusals(void **state)
{
    struct wdn_app_fetch f = {0};
    struct wdn_app_response resp;
    char err[160];

    assert_int_equal(wdn_app_fetch(&f, &resp, err, sizeof(err)), WDN_EINVAL);
    assert_null(resp.body);
    assert_int_equal(wdn_app_fetch(NULL, &resp, NULL, 0), WDN_EINVAL);
    f.url = "ftp://example.com/";
    assert_int_equal(wdn_app_fetch(&f, &resp, err, sizeof(err)), WDN_EINVAL);
    assert_true(err[0] != '\0');
    assert_int_equal(resp.status, 0);
    wdn_app_fetch_reset(&resp);
}

/* The MCP endpoint behind the app's HTTP adapter: a body that is no JSON is answered at once
 * (-32700), another path is not the endpoint; a route's body over max_body gets 413. */
static void mcp_endpoint(void **state)
{
    struct wdn_app_config cfg = {.max_body = 256};
    struct wdn_mcp_server_config mc = {.name = "m", .version = "1", .stateless = true};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&mc);
    struct wdn_app *app = wdn_app_new(&cfg);
    const char *const h[] = {"Accept: application/json, text/event-stream",
                             "Content-Type: application/json", "MCP-Protocol-Version: 2025-06-18",
                             NULL};
    struct wdn_app_response resp;
    struct wdn_app_fetch f = {.method = "POST", .headers = h};
    char url[96], big[600];

    assert_non_null(srv);
    assert_non_null(app);
    assert_int_equal(wdn_app_mcp(app, "/mcp", srv, false), 0);
    assert_int_equal(wdn_app_route(app, "POST", "/route", r_ok, NULL), 0);
    assert_int_equal(wdn_app_start(app), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/mcp", wdn_app_port(app));
    f.url = url;
    f.body = "{not json";
    f.body_len = strlen(f.body);
    assert_int_equal(wdn_app_fetch(&f, &resp, NULL, 0), 0);
    assert_int_equal(resp.status, 400);
    assert_non_null(strstr(resp.body, "-32700"));
    wdn_app_fetch_reset(&resp);
    /* max_body is the routes' limit: past it a route's request gets 413. */
    memset(big, ' ', sizeof(big));
    f.body = big;
    f.body_len = sizeof(big);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/route", wdn_app_port(app));
    assert_int_equal(wdn_app_fetch(&f, &resp, NULL, 0), 0);
    assert_int_equal(resp.status, 413);
    wdn_app_fetch_reset(&resp);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/mcp", wdn_app_port(app));
    /* A well-formed call still works, and a neighbouring path is not the endpoint. */
    f.body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    f.body_len = strlen(f.body);
    assert_int_equal(wdn_app_fetch(&f, &resp, NULL, 0), 0);
    assert_int_equal(resp.status, 200);
    wdn_app_fetch_reset(&resp);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/mcpx", wdn_app_port(app));
    assert_int_equal(wdn_app_fetch(&f, &resp, NULL, 0), 0);
    assert_int_equal(resp.status, 404);
    wdn_app_fetch_reset(&resp);
    wdn_app_free(app);
    wdn_mcp_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_and_registration),
        cmocka_unit_test(answers),
        cmocka_unit_test(ipv6_host),
        cmocka_unit_test(fetch_refusals),
        cmocka_unit_test(mcp_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
