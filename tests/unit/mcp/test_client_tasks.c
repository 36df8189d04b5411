/* Unit tests for the client's side of tasks (SEP-2663, src/mcp/client_tasks.c) against the
 * SDK's own server on real sockets (include/warden/app.h): a tools/call answered with a task is
 * polled to its result, an input_required task is answered through the application's request
 * handler, a failed task is an error with its code, and a cancelled call cancels the task. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "warden/app.h"

static atomic_int cancelled_seen, asked, started;

static int t_slow(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int i, ms = (int)json_integer_value(json_object_get(args, "ms"));

    started++;
    for (i = 0; i < ms / 10; i++) {
        if (wdn_mcp_call_cancelled(call)) {
            cancelled_seen++;
            return WDN_ECANCELED;
        }
        usleep(10000);
    }
    return wdn_mcp_call_text(call, "slow done");
}

static int t_ask(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    json_t *a = wdn_mcp_call_input(call, "who");
    char buf[128];

    if (a == NULL)
        return wdn_mcp_call_input_request(call, "who", "elicitation/create",
                                          json_pack("{s:s}", "message", "Name?"));
    snprintf(buf, sizeof(buf), "Hello, %s",
             json_string_value(json_object_get(json_object_get(a, "content"), "name")));
    return wdn_mcp_call_text(call, buf);
}

static int t_fail(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    wdn_mcp_call_fail(call, -32042, "job exploded");
    return 0;
}

static int on_request(void *ud, const char *method, json_t *params, json_t **result, char *msg,
                      size_t cap)
{
    asked++;
    if (strcmp(method, "elicitation/create") != 0)
        return WDN_ENOTFOUND;
    *result = json_pack("{s:s, s:{s:s}}", "action", "accept", "content", "name", "Ada");
    return 0;
}

struct fixture {
    struct wdn_app *app;
    struct wdn_mcp_server *srv;
    char url[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct wdn_app_config ac = {0};
    struct wdn_mcp_server_config sc = {
        .name = "t", .version = "1", .stateless = true, .task_poll_ms = 20};
    const struct wdn_mcp_tool tools[] = {
        {.name = "slow", .fn = t_slow, .task_support = WDN_MCP_TASK_REQUIRED},
        {.name = "ask", .fn = t_ask, .task_support = WDN_MCP_TASK_REQUIRED},
        {.name = "fail", .fn = t_fail, .task_support = WDN_MCP_TASK_REQUIRED},
    };
    size_t i;

    assert_non_null(f);
    f->srv = wdn_mcp_server_new(&sc);
    f->app = wdn_app_new(&ac);
    assert_non_null(f->srv);
    for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
        assert_int_equal(wdn_mcp_server_add_tool(f->srv, &tools[i]), 0);
    assert_int_equal(wdn_app_mcp(f->app, "/mcp", f->srv, false), 0);
    assert_int_equal(wdn_app_start(f->app), 0);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/mcp", wdn_app_port(f->app));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    wdn_app_free(f->app);
    wdn_mcp_server_free(f->srv);
    free(f);
    return 0;
}

static struct wdn_mcp_client *client(struct fixture *f)
{
    struct wdn_mcp_client_config cfg = {
        .url = f->url,
        .protocol_version = WDN_MCP_V2026_07_28,
        .capabilities = "{\"elicitation\":{},\"extensions\":{\"" WDN_MCP_EXT_TASKS "\":{}}}",
        .on_request = on_request,
        .timeout_ms = 10000};
    struct wdn_mcp_error err;
    struct wdn_mcp_client *c = wdn_mcp_client_new(&cfg, &err);

    assert_non_null(c);
    assert_int_equal(wdn_mcp_client_connect(c, &err), 0);
    assert_string_equal(wdn_mcp_client_version(c), WDN_MCP_V2026_07_28);
    return c;
}

static void task_polled_to_result(void **state)
{
    struct wdn_mcp_client *c = client(*state);
    struct wdn_mcp_error err;
    json_t *r = NULL;

    assert_int_equal(wdn_mcp_client_call_tool(c, "slow", json_pack("{s:i}", "ms", 60), &r, &err),
                     0);
    assert_string_equal(wdn_mcp_result_text(r), "slow done");
    json_decref(r);
    wdn_mcp_client_free(c);
}

static void task_input_answered(void **state)
{
    struct wdn_mcp_client *c = client(*state);
    struct wdn_mcp_error err;
    json_t *r = NULL;

    asked = 0;
    assert_int_equal(wdn_mcp_client_call_tool(c, "ask", NULL, &r, &err), 0);
    assert_string_equal(wdn_mcp_result_text(r), "Hello, Ada");
    assert_int_equal(asked, 1); /* asked once, although the task was polled several times */
    json_decref(r);
    wdn_mcp_client_free(c);
}

static void task_failed(void **state)
{
    struct wdn_mcp_client *c = client(*state);
    struct wdn_mcp_error err;
    json_t *r = NULL;

    assert_int_equal(wdn_mcp_client_call_tool(c, "fail", NULL, &r, &err), WDN_EPROTO);
    assert_int_equal(err.rpc_code, -32042);
    assert_non_null(strstr(err.message, "job exploded"));
    assert_null(r);
    wdn_mcp_client_free(c);
}

/* Cancels once the task runs on the server: the client then knows its id (a call cancelled
 * before the CreateTaskResult arrived could only send notifications/cancelled). Then waits for
 * the client to be polling, so the cancellation is a tasks/cancel. */
static void *cancel_later(void *arg)
{
    int i;

    for (i = 0; i < 3000 && started == 0; i++)
        usleep(10000);
    usleep(100000);
    wdn_mcp_client_cancel(arg);
    return NULL;
}

static void task_cancelled(void **state)
{
    struct wdn_mcp_client *c = client(*state);
    struct wdn_mcp_error err;
    json_t *r = NULL;
    pthread_t th;
    int i;

    cancelled_seen = started = 0;
    assert_int_equal(pthread_create(&th, NULL, cancel_later, c), 0);
    assert_int_equal(wdn_mcp_client_call_tool(c, "slow", json_pack("{s:i}", "ms", 60000), &r, &err),
                     WDN_ECANCELED);
    pthread_join(th, NULL);
    /* The client sent tasks/cancel: the tool sees it and stops. */
    for (i = 0; i < 3000 && cancelled_seen == 0; i++)
        usleep(10000);
    assert_int_equal(cancelled_seen, 1);
    wdn_mcp_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(task_polled_to_result, setup, teardown),
        cmocka_unit_test_setup_teardown(task_input_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(task_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(task_cancelled, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
