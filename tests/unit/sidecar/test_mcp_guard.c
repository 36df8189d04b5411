/* The sidecar's MCP guard without sockets, as tests/unit/mcp drives the MCP core: the decision on
 * a request body (src/mcp's JSON-RPC parser, the tool policy) and the tools/list answer filter
 * (JSON and SSE through src/mcp's SSE parser), attacks included: bytes the parser refuses,
 * messages a lax app would still run, answers that cannot be read (refused, never passed on
 * unfiltered). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "sidecar/internal.h"

static const char policy_yaml[] = "apiVersion: warden.dev/v1alpha1\n"
                                  "kind: MCPServer\n"
                                  "metadata: {name: mcp-server}\n"
                                  "spec:\n"
                                  "  appId: mcp-server\n"
                                  "  rules:\n"
                                  "  - {callers: [client], tools: [add, echo], action: allow}\n"
                                  "  - callers: [client]\n"
                                  "    tools: ['get_*']\n"
                                  "    action: allow\n"
                                  "    requireScopes: ['weather:read']\n";

struct fx {
    struct wdn_tool_policy *p;
    struct wdn_buf out;
};

static int setup(void **state)
{
    struct wdn_resources *set = wdn_resources_new();
    struct fx *f = calloc(1, sizeof(*f));
    struct wdn_diag d;

    wdn_resources_load_buffer(set, "mcp.yaml", NULL, policy_yaml, strlen(policy_yaml));
    if (set->n_errors || set->n_mcpservers != 1 ||
        wdn_tool_policy_compile(set->mcpservers[0], &f->p, &d) != 0)
        return -1;
    wdn_resources_free(set);
    wdn_buf_init(&f->out, 1 << 20);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    wdn_tool_policy_free(f->p);
    wdn_buf_reset(&f->out);
    free(f);
    return 0;
}

static struct wdn_str S(const char *s) {
    return wdn_str_from_cstr(s);
}

/* Decides body for caller "client" without a token; returns the status. */
static int
decide(struct fx *f, const char *body, struct wdn__sc_mcp_verdict *v)
{
    f->out.len = 0;
    assert_int_equal(wdn__sc_mcp_decide(f->p, "client", NULL, S(body), v, &f->out), 0);
    return v->status;
}

static const char *answer(struct fx *f)
{
    return f->out.len ? wdn_buf_cstr(&f->out) : "";
}

static void test_decide_allows_and_lists(void **state)
{
    struct fx *f = *state;
    struct wdn__sc_mcp_verdict v;

    assert_int_equal(decide(f, "", &v), 0); /* a GET stream, a DELETE */
    assert_false(v.lists);
    assert_int_equal(decide(f,
                            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                            "\"params\":{\"name\":\"add\",\"arguments\":{}}}",
                            &v),
                     0);
    assert_string_equal(v.tool, "add");
    assert_int_equal(decide(f, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/list\"}", &v),
                     0);
    assert_true(v.lists);
    assert_string_equal(v.tool, "");
    /* Other methods, notifications and the client's own responses pass untouched. */
    assert_int_equal(decide(f,
                            "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
                            "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}},"
                            "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/list\"}]",
                            &v),
                     0);
    assert_true(v.lists);
}

static void test_decide_refuses_tools(void **state)
{
    struct fx *f = *state;
    struct wdn__sc_mcp_verdict v;

    assert_int_equal(decide(f,
                            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                            "\"params\":{\"name\":\"rm\"}}",
                            &v),
                     403);
    assert_string_equal(v.tool, "rm");
    assert_string_equal(answer(f), "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32003,"
                                   "\"message\":\"access denied: tool 'rm' is not granted to "
                                   "'client'\"}}");
    /* A scope condition the token does not meet refuses too. */
    assert_int_equal(decide(f,
                            "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\","
                            "\"params\":{\"name\":\"get_weather\"}}",
                            &v),
                     403);
    assert_string_equal(v.reason, "a required scope is missing from the token");
    /* One ungranted call in a batch refuses the whole batch (nothing reaches the app). */
    assert_int_equal(decide(f,
                            "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                            "\"params\":{\"name\":\"add\"}},"
                            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                            "\"params\":{\"name\":\"rm\"}}]",
                            &v),
                     403);
    assert_non_null(strstr(answer(f), "\"id\":2"));
    /* A name that is not a string, or none, is no tool the policy grants. */
    assert_int_equal(decide(f,
                            "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
                            "\"params\":{\"name\":[\"add\"]}}",
                            &v),
                     403);
    assert_int_equal(
        decide(f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{}}", &v),
        403);
    /* A notification cannot sneak a call past: it is checked like a request. */
    assert_int_equal(decide(f,
                            "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\","
                            "\"params\":{\"name\":\"rm\"}}",
                            &v),
                     403);
}

/* Bytes src/mcp's parser refuses are answered 400 with its JSON-RPC error, as the MCP server
 * would, so an app with a laxer parser never sees them. */
static void test_decide_parser_refusals(void **state)
{
    struct fx *f = *state;
    struct wdn__sc_mcp_verdict v;
    char deep[200];
    size_t k = 0;

    assert_int_equal(decide(f, "{not json", &v), 400);
    assert_non_null(strstr(answer(f), "\"code\":-32700"));
    assert_non_null(strstr(answer(f), "\"id\":null"));
    /* Duplicate keys: which "name" would the app read? */
    assert_int_equal(decide(f,
                            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                            "\"params\":{\"name\":\"add\",\"name\":\"rm\"}}",
                            &v),
                     400);
    /* Nesting past WDN_JSON_MAX_DEPTH. */
    for (int i = 0; i < 60; i++)
        deep[k++] = '[';
    for (int i = 0; i < 60; i++)
        deep[k++] = ']';
    deep[k] = '\0';
    assert_int_equal(decide(f, deep, &v), 400);
    /* Not JSON-RPC 2.0: a lax app might run it, so it is refused, with the id when readable. */
    assert_int_equal(decide(f,
                            "{\"jsonrpc\":\"1.0\",\"id\":9,\"method\":\"tools/call\","
                            "\"params\":{\"name\":\"rm\"}}",
                            &v),
                     400);
    assert_non_null(strstr(answer(f), "\"code\":-32600"));
    assert_non_null(strstr(answer(f), "\"id\":9"));
    assert_int_equal(decide(f,
                            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                            "\"params\":\"add\"}",
                            &v),
                     400);
    assert_int_equal(decide(f, "\"tools/call\"", &v), 400);
    assert_int_equal(decide(f, "[1]", &v), 400);
}

static void test_filter_json(void **state)
{
    struct fx *f = *state;
    const char *in = "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":["
                     "{\"name\":\"add\"},{\"name\":\"rm\"},{\"name\":\"get_weather\"},"
                     "{\"name\":\"echo\"},{\"nameless\":1}]}}";
    const struct wdn_tool_auth none = {0};
    const char *scopes[] = {"weather:read"};
    const struct wdn_tool_auth scoped = {scopes, 1, NULL, 0};

    f->out.len = 0;
    assert_int_equal(
        wdn__sc_mcp_filter(f->p, "client", &none, S("application/json"), S(in), &f->out), 0);
    assert_string_equal(answer(f), "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":["
                                   "{\"name\":\"add\"},{\"name\":\"echo\"}]}}");
    f->out.len = 0;
    assert_int_equal(
        wdn__sc_mcp_filter(f->p, "client", &scoped, S("application/json"), S(in), &f->out), 0);
    assert_non_null(strstr(answer(f), "get_weather"));
    assert_null(strstr(answer(f), "\"rm\""));
    /* A batch answer: every result is filtered. */
    f->out.len = 0;
    assert_int_equal(wdn__sc_mcp_filter(f->p, "client", &none, S("application/json"),
                                        S("[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":"
                                          "[{\"name\":\"rm\"}]}},{\"jsonrpc\":\"2.0\",\"id\":2,"
                                          "\"result\":{\"tools\":[{\"name\":\"x\"}]}}]"),
                                        &f->out),
                     0);
    assert_null(strstr(answer(f), "\"rm\""));
    assert_null(strstr(answer(f), "\"x\""));
    /* Nothing to drop: the body goes out as it came (1). */
    f->out.len = 0;
    assert_int_equal(wdn__sc_mcp_filter(f->p, "client", &none, S("application/json"),
                                        S("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":"
                                          "[{\"name\":\"add\"}]}}"),
                                        &f->out),
                     1);
    assert_int_equal(f->out.len, 0);
    assert_int_equal(
        wdn__sc_mcp_filter(f->p, "client", &none, S("application/json"), S(""), &f->out), 1);
}

/* An answer the sidecar cannot read is refused: passing it on would leak ungranted tools. */
static void test_filter_refuses_unreadable(void **state)
{
    struct fx *f = *state;
    char deep[400];
    int k;

    assert_true(wdn__sc_mcp_filter(f->p, "client", NULL, S("application/json"),
                                   S("{\"result\":{\"tools\":[{\"name\":\"rm\"}]"), &f->out) < 0);
    k = snprintf(deep, sizeof(deep),
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":"
                 "[{\"name\":\"rm\",\"x\":");
    for (int i = 0; i < 40; i++)
        deep[k++] = '[';
    for (int i = 0; i < 40; i++)
        deep[k++] = ']';
    snprintf(deep + k, sizeof(deep) - (size_t)k, "}]}}");
    assert_true(wdn__sc_mcp_filter(f->p, "client", NULL, S("application/json"), S(deep), &f->out) <
                0);
    assert_true(wdn__sc_mcp_filter(f->p, "client", NULL, S("text/event-stream"),
                                   S("data: {\"result\":{\"tools\":[{\"name\":\"rm\"}]\n\n"),
                                   &f->out) < 0);
}

static void test_filter_sse(void **state)
{
    struct fx *f = *state;
    const char *in =
        ": a comment\r\n"
        "id: 0\r\nretry: 500\r\ndata:\r\n\r\n" /* a priming event (2025-11-25) */
        "event: message\nid: 1\n"
        "data: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":\n"
        "data: [{\"name\":\"add\"},{\"name\":\"rm\"}]}}\n\n"
        "data: not json\ndata: on two lines\n\n" /* refused: the filter cannot read it */
        "";
    const char *ok = "id: 0\nretry: 500\ndata:\n\n"
                     "event: message\nid: 1\n"
                     "data: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":\n"
                     "data: [{\"name\":\"add\"},{\"name\":\"rm\"}]}}\n\n"
                     "event: progress\n"
                     "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n"
                     "id: 7\n\n"; /* an id after the last event still counts */

    f->out.len = 0;
    assert_true(wdn__sc_mcp_filter(f->p, "client", NULL, S("text/event-stream"), S(in), &f->out) <
                0);
    f->out.len = 0;
    assert_int_equal(wdn__sc_mcp_filter(f->p, "client", NULL, S("text/event-stream; charset=utf-8"),
                                        S(ok), &f->out),
                     0);
    assert_string_equal(
        answer(f),
        "event: message\nid: 0\nretry: 500\ndata:\n\n"
        "event: message\nid: 1\n"
        "data: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"add\"}]}}\n\n"
        "event: progress\n"
        "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n"
        "id: 7\n\n");
    /* Nothing removed: sent as it came. */
    f->out.len = 0;
    assert_int_equal(wdn__sc_mcp_filter(f->p, "client", NULL, S("text/event-stream"),
                                        S("data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"),
                                        &f->out),
                     1);
    /* An event larger than WDN_SSE_MAX_EVENT_BYTES is refused. */
    {
        size_t n = WDN_SSE_MAX_EVENT_BYTES + 64;
        char *big = malloc(n + 1);
        memcpy(big, "data: ", 6);
        memset(big + 6, 'a', n - 6);
        big[n] = '\0';
        f->out.len = 0;
        assert_true(
            wdn__sc_mcp_filter(f->p, "client", NULL, S("text/event-stream"), S(big), &f->out) < 0);
        free(big);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide_allows_and_lists),
        cmocka_unit_test(test_decide_refuses_tools),
        cmocka_unit_test(test_decide_parser_refusals),
        cmocka_unit_test(test_filter_json),
        cmocka_unit_test(test_filter_refuses_unreadable),
        cmocka_unit_test(test_filter_sse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
