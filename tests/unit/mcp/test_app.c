/* Unit tests for the app host of include/warden/app.h, on real sockets and through the public
 * API only: routes by method and path, a fallback route, bodies, headers, 404, 413, an answer
 * set twice, a handler that answers nothing, the MCP endpoint beside the routes, and
 * wdn_app_fetch's errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "warden/app.h"

static int echo(struct wdn_app_req *req, void *ud)
{
    const char *tag = wdn_app_req_header(req, "x-tag");
    size_t len;
    const char *body = wdn_app_req_body(req, &len);
    char out[256];

    snprintf(out, sizeof(out), "%s %s %s %.*s %s", (const char *)ud, wdn_app_req_method(req),
             wdn_app_req_path(req), (int)len, body, tag ? tag : "-");
    wdn_app_respond(req, 500, NULL, NULL, 0); /* replaced by the next answer */
    return wdn_app_respond(req, 201, "text/plain", out, strlen(out));
}

static int silent(struct wdn_app_req *req, void *ud)
{
    return 0;
}

static int failing(struct wdn_app_req *req, void *ud)
{
    return WDN_EIO;
}

static int json_fallback(struct wdn_app_req *req, void *ud)
{
    json_t *doc = json_pack("{s:s}", "path", wdn_app_req_path(req));
    int rc = wdn_app_respond_json(req, 404, doc);

    json_decref(doc);
    return rc;
}

static int tool_add(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%lld",
             (long long)(json_integer_value(json_object_get(args, "a")) +
                         json_integer_value(json_object_get(args, "b"))));
    return wdn_mcp_call_text(call, buf);
}

struct fixture {
    struct wdn_app *app;
    struct wdn_mcp_server *srv;
    char base[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct wdn_app_config cfg = {.max_body = 64};
    struct wdn_mcp_server_config mc = {.name = "t", .version = "1", .stateless = true};
    struct wdn_mcp_tool add = {.name = "add", .fn = tool_add};

    assert_non_null(f);
    f->app = wdn_app_new(&cfg);
    f->srv = wdn_mcp_server_new(&mc);
    assert_non_null(f->app);
    assert_non_null(f->srv);
    assert_int_equal(wdn_mcp_server_add_tool(f->srv, &add), 0);
    assert_int_equal(wdn_app_route(f->app, "POST", "/echo", echo, "post"), 0);
    assert_int_equal(wdn_app_route(f->app, "GET", "/echo", echo, "get"), 0);
    assert_int_equal(wdn_app_route(f->app, "GET", "/silent", silent, NULL), 0);
    assert_int_equal(wdn_app_route(f->app, "GET", "/failing", failing, NULL), 0);
    assert_int_equal(wdn_app_mcp(f->app, "/mcp", f->srv, true), 0);
    assert_int_equal(wdn_app_mcp(f->app, "/other", f->srv, true), WDN_EINVAL);
    assert_int_equal(wdn_app_start(f->app), 0);
    assert_true(wdn_app_port(f->app) > 0);
    assert_int_equal(wdn_app_route(f->app, "GET", "/late", echo, NULL), WDN_EINVAL);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", wdn_app_port(f->app));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    wdn_app_stop(f->app);
    wdn_app_free(f->app);
    wdn_mcp_server_free(f->srv);
    free(f);
    return 0;
}

static long fetch(struct fixture *f, const char *method, const char *path, const char *body,
                  const char *const *headers, char *out, size_t cap)
{
    char url[128];
    struct wdn_app_fetch req = {.method = method,
                                .url = url,
                                .headers = headers,
                                .body = body,
                                .body_len = body ? strlen(body) : 0};
    struct wdn_app_response resp;
    long status;

    snprintf(url, sizeof(url), "%s%s", f->base, path);
    assert_int_equal(wdn_app_fetch(&req, &resp, NULL, 0), 0);
    snprintf(out, cap, "%s", resp.body);
    status = resp.status;
    wdn_app_fetch_reset(&resp);
    return status;
}

static void routes_by_method_and_path(void **state)
{
    struct fixture *f = *state;
    const char *const tag[] = {"X-Tag: blue", NULL};
    char out[512];

    assert_int_equal(fetch(f, "POST", "/echo?x=1", "hello", tag, out, sizeof(out)), 201);
    assert_string_equal(out, "post POST /echo hello blue");
    assert_int_equal(fetch(f, "GET", "/echo", NULL, NULL, out, sizeof(out)), 201);
    assert_string_equal(out, "get GET /echo  -");
    /* No route for the method or the path, and no fallback yet: 404. */
    assert_int_equal(fetch(f, "DELETE", "/echo", NULL, NULL, out, sizeof(out)), 404);
    assert_int_equal(fetch(f, "GET", "/nothing", NULL, NULL, out, sizeof(out)), 404);
}

static void limits_and_failures(void **state)
{
    struct fixture *f = *state;
    char big[200], out[512];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(fetch(f, "POST", "/echo", big, NULL, out, sizeof(out)), 413);
    assert_int_equal(fetch(f, "GET", "/silent", NULL, NULL, out, sizeof(out)), 500);
    assert_int_equal(fetch(f, "GET", "/failing", NULL, NULL, out, sizeof(out)), 500);
}

static void mcp_beside_routes(void **state)
{
    struct fixture *f = *state;
    const char *const h[] = {"Content-Type: application/json",
                             "Accept: application/json, text/event-stream",
                             "MCP-Protocol-Version: 2025-06-18", NULL};
    char out[512];

    assert_int_equal(fetch(f, "POST", "/mcp",
                           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
                           "{\"name\":\"add\",\"arguments\":{\"a\":2,\"b\":3}}}",
                           h, out, sizeof(out)),
                     200);
    assert_non_null(strstr(out, "\"text\":\"5\""));
}

static void fetch_errors(void **state)
{
    struct wdn_app_fetch bad = {.url = "ftp://example.com/"};
    struct wdn_app_fetch refused = {.url = "http://127.0.0.1:1/", .timeout_ms = 5000};
    struct wdn_app_response resp;
    char err[256];

    (void)state;
    assert_int_equal(wdn_app_fetch(&bad, &resp, err, sizeof(err)), WDN_EINVAL);
    assert_null(resp.body);
    assert_true(err[0] != '\0');
    assert_int_equal(wdn_app_fetch(&refused, &resp, err, sizeof(err)), WDN_ECONNREFUSED);
    assert_int_equal(resp.status, 0);
    wdn_app_fetch_reset(&resp);
}

static void fallback_route(void **state)
{
    struct wdn_app_config cfg = {0};
    struct wdn_app *app = wdn_app_new(&cfg);
    struct fixture f;
    char out[256];

    (void)state;
    assert_non_null(app);
    assert_int_equal(wdn_app_route(app, NULL, NULL, json_fallback, NULL), 0);
    assert_int_equal(wdn_app_start(app), 0);
    f.app = app;
    snprintf(f.base, sizeof(f.base), "http://127.0.0.1:%d", wdn_app_port(app));
    assert_int_equal(fetch(&f, "PUT", "/any/where", "x", NULL, out, sizeof(out)), 404);
    assert_string_equal(out, "{\"path\":\"/any/where\"}");
    wdn_app_free(app);
    /* Bad settings are refused. */
    cfg.port = 70000;
    assert_null(wdn_app_new(&cfg));
    assert_null(wdn_app_new(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(routes_by_method_and_path, setup, teardown),
        cmocka_unit_test_setup_teardown(limits_and_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(mcp_beside_routes, setup, teardown),
        cmocka_unit_test(fetch_errors),
        cmocka_unit_test(fallback_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
