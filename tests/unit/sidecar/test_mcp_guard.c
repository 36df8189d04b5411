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
    assert_int_equal(wdn__sc_mcp_decide(f->p, &(struct wdn__sc_mcp_req){.caller = "client"},
                                        S(body), v, &f->out),
                     0);
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
    /* A step-up: the answer names the scopes that would pass (RFC 6750 insufficient_scope). */
    assert_string_equal(v.code, "insufficient_scope");
    assert_string_equal(v.scope, "weather:read");
    assert_non_null(strstr(answer(f), "insufficient scope: tool 'get_weather' needs the scopes "
                                      "'weather:read'"));
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

/* 2026-07-28: Mcp-Method / Mcp-Name must say what the body says, or an intermediary that reads
 * the headers and a server that runs the body would see two different requests (-32020). */
static int decide_h(struct fx *f, const char *method, const char *name, const char *body,
                    struct wdn__sc_mcp_verdict *v)
{
    static struct wdn_http_request head;
    size_t n = 0;

    if (method)
        head.headers[n++] = (struct wdn_http_header){WDN_STR("mcp-method"), S(method)};
    if (name)
        head.headers[n++] = (struct wdn_http_header){WDN_STR("Mcp-Name"), S(name)};
    head.nheaders = n;
    f->out.len = 0;
    assert_int_equal(
        wdn__sc_mcp_decide(f->p, &(struct wdn__sc_mcp_req){.caller = "client", .head = &head},
                           S(body), v, &f->out),
        0);
    return v->status;
}

static void test_decide_headers(void **state)
{
    struct fx *f = *state;
    struct wdn__sc_mcp_verdict v;
    const char *add = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                      "\"params\":{\"name\":\"add\"}}";
    const char *rm = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
                     "\"params\":{\"name\":\"rm\"}}";
    const char *list = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}";

    assert_int_equal(decide_h(f, "tools/call", "add", add, &v), 0);
    assert_int_equal(decide_h(f, "tools/list", NULL, list, &v), 0);
    assert_int_equal(decide_h(f, NULL, NULL, add, &v), 0); /* older versions send none */
    /* A granted name in the header, another tool in the body. */
    assert_int_equal(decide_h(f, "tools/call", "add", rm, &v), 400);
    assert_string_equal(answer(f), "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32020,"
                                   "\"message\":\"Header mismatch: Mcp-Name does not match the "
                                   "body\"}}");
    assert_int_equal(decide_h(f, "tools/list", NULL, add, &v), 400);
    assert_non_null(strstr(answer(f), "Mcp-Method does not match the body method"));
    assert_int_equal(decide_h(f, "tools/call", NULL, add, &v), 400);
    assert_non_null(strstr(answer(f), "Mcp-Name header is required"));
    assert_int_equal(decide_h(f, NULL, "add", rm, &v), 400);
    assert_int_equal(decide_h(f, NULL, "add", list, &v), 400);
    /* A batch cannot match one method. */
    assert_int_equal(decide_h(f, "tools/call", "add",
                              "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                              "\"params\":{\"name\":\"add\"}}]",
                              &v),
                     400);
    /* The same header twice. */
    {
        static struct wdn_http_request head;
        head.headers[0] = (struct wdn_http_header){WDN_STR("Mcp-Method"), S("tools/call")};
        head.headers[1] = (struct wdn_http_header){WDN_STR("Mcp-Method"), S("tools/call")};
        head.headers[2] = (struct wdn_http_header){WDN_STR("Mcp-Name"), S("add")};
        head.nheaders = 3;
        f->out.len = 0;
        wdn__sc_mcp_decide(f->p, &(struct wdn__sc_mcp_req){.caller = "client", .head = &head},
                           S(add), &v, &f->out);
        assert_int_equal(v.status, 400);
        assert_non_null(strstr(answer(f), "-32020"));
    }
}

/* The step-up scope list: the bearer's scopes first, then the rule's, once each. */
static void test_step_up_scope_list(void **state)
{
    struct fx *f = *state;
    struct wdn__sc_mcp_verdict v;
    const char *base[] = {"openid", "weather:read"};
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\","
                       "\"params\":{\"name\":\"get_alerts\"}}";
    struct wdn__sc_mcp_req r = {.caller = "client", .base_scopes = base, .n_base_scopes = 2};
    const char *have[] = {"weather:read"};
    const struct wdn_tool_auth ok = {have, 1, NULL, 0};

    f->out.len = 0;
    assert_int_equal(wdn__sc_mcp_decide(f->p, &r, S(call), &v, &f->out), 0);
    assert_int_equal(v.status, 403);
    assert_string_equal(v.scope, "openid weather:read");
    /* With the scope the call passes; an unknown caller is no step-up case. */
    r.auth = &ok;
    assert_int_equal(wdn__sc_mcp_decide(f->p, &r, S(call), &v, &f->out), 0);
    assert_int_equal(v.status, 0);
    r.caller = "stranger";
    assert_int_equal(wdn__sc_mcp_decide(f->p, &r, S(call), &v, &f->out), 0);
    assert_int_equal(v.status, 403);
    assert_string_equal(v.scope, "");
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

/* A list filtered for one caller is marked private where the 2026-07-28 caching hints exist. */
static void test_filter_cache_scope(void **state)
{
    struct fx *f = *state;

    f->out.len = 0;
    assert_int_equal(wdn__sc_mcp_filter(f->p, "client", NULL, S("application/json"),
                                        S("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":"
                                          "[{\"name\":\"add\"}],\"ttlMs\":60000,"
                                          "\"cacheScope\":\"public\",\"resultType\":"
                                          "\"complete\"}}"),
                                        &f->out),
                     0);
    assert_string_equal(answer(f), "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":"
                                   "[{\"name\":\"add\"}],\"ttlMs\":60000,\"cacheScope\":"
                                   "\"private\",\"resultType\":\"complete\"}}");
    /* An empty list too (another caller may get more). */
    f->out.len = 0;
    assert_int_equal(wdn__sc_mcp_filter(f->p, "client", NULL, S("application/json"),
                                        S("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":"
                                          "[],\"ttlMs\":0}}"),
                                        &f->out),
                     0);
    assert_non_null(strstr(answer(f), "\"cacheScope\":\"private\""));
    /* Already private, or an older version without the hints: left as it is. */
    assert_int_equal(wdn__sc_mcp_filter(f->p, "client", NULL, S("application/json"),
                                        S("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":"
                                          "[],\"cacheScope\":\"private\"}}"),
                                        &f->out),
                     1);
    assert_int_equal(wdn__sc_mcp_filter(f->p, "client", NULL, S("application/json"),
                                        S("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":"
                                          "[{\"name\":\"add\"}]}}"),
                                        &f->out),
                     1);
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
        cmocka_unit_test(test_decide_headers),
        cmocka_unit_test(test_step_up_scope_list),
        cmocka_unit_test(test_filter_cache_scope),
        cmocka_unit_test(test_filter_json),
        cmocka_unit_test(test_filter_refuses_unreadable),
        cmocka_unit_test(test_filter_sse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
