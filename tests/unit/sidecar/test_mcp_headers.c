/* The MCP guard's Mcp-Method / Mcp-Name check (2026-07-28) for every method that has a name to
 * mirror and for messages that have none: an intermediary that authorizes on the headers and a
 * server that runs the body must never see two different requests, so every disagreement is a
 * 400 with the JSON-RPC error -32020 before the tool policy runs. And the tools/list filter of an
 * SSE answer keeps the reconnection fields (id, retry) a client relies on. Issue 18. */
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
                                  "  - {callers: [client], tools: [add], action: allow}\n";

static struct wdn_tool_policy *policy;
static struct wdn_buf out;

static int setup(void **state)
{
    struct wdn_resources *set = wdn_resources_new();
    struct wdn_diag d;
    int rc;

    (void)state;
    wdn_resources_load_buffer(set, "mcp.yaml", NULL, policy_yaml, strlen(policy_yaml));
    rc = set->n_errors || set->n_mcpservers != 1 ||
                 wdn_tool_policy_compile(set->mcpservers[0], &policy, &d) != 0
             ? -1
             : 0;
    wdn_resources_free(set);
    wdn_buf_init(&out, 1 << 20);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    wdn_tool_policy_free(policy);
    wdn_buf_reset(&out);
    return 0;
}

/* Decides body for caller "client" with these headers ("Name: value" strings, NULL-ended);
 * returns the status, the answer in out. */
static int decide(const char *const *headers, const char *body, struct wdn__sc_mcp_verdict *v)
{
    static struct wdn_http_request head;

    memset(&head, 0, sizeof(head));
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *colon = strchr(headers[i], ':');
        head.headers[i].name = (struct wdn_str){headers[i], (size_t)(colon - headers[i])};
        head.headers[i].value = wdn_str_from_cstr(colon + 2);
        head.nheaders++;
    }
    out.len = 0;
    assert_int_equal(wdn__sc_mcp_decide(policy,
                                        &(struct wdn__sc_mcp_req){.caller = "client", .head = &head},
                                        wdn_str_from_cstr(body), v, &out),
                     0);
    return v->status;
}

static const char *answer(void)
{
    return out.len ? wdn_buf_cstr(&out) : "";
}

#define READ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///a\"}}"
#define PROMPT "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"prompts/get\",\"params\":{\"name\":\"greet\"}}"
#define NOTE "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"
#define RESULT "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}"

static void mismatch(const char *const *headers, const char *body, const char *why)
{
    struct wdn__sc_mcp_verdict v;

    if (decide(headers, body, &v) != 400)
        fail_msg("%s: status %d, expected 400 (%s)", body, v.status, why);
    assert_string_equal(v.code, "header_mismatch");
    assert_non_null(strstr(answer(), "\"code\":-32020"));
    if (strstr(answer(), why) == NULL)
        fail_msg("%s: answer %s, expected %s", body, answer(), why);
}

static void test_named_methods(void **state)
{
    struct wdn__sc_mcp_verdict v;

    (void)state;
    /* resources/read mirrors params.uri, prompts/get params.name. */
    assert_int_equal(
        decide((const char *[]){"Mcp-Method: resources/read", "Mcp-Name: file:///a", NULL}, READ,
               &v),
        0);
    assert_int_equal(
        decide((const char *[]){"Mcp-Method: prompts/get", "Mcp-Name: greet", NULL}, PROMPT, &v),
        0);
    mismatch((const char *[]){"Mcp-Method: resources/read", "Mcp-Name: file:///b", NULL}, READ,
             "Mcp-Name does not match the body");
    mismatch((const char *[]){"Mcp-Method: resources/read", NULL}, READ,
             "Mcp-Name header is required");
    mismatch((const char *[]){"Mcp-Method: prompts/get", "Mcp-Name: other", NULL}, PROMPT,
             "Mcp-Name does not match the body");
    /* Header names are case-insensitive: a lower-case twin is the same header twice. */
    mismatch((const char *[]){"Mcp-Method: prompts/get", "Mcp-Name: greet", "mcp-name: greet",
                              NULL},
             PROMPT, "Mcp-Method and Mcp-Name may be sent once");
}

static void test_unnamed_messages(void **state)
{
    struct wdn__sc_mcp_verdict v;

    (void)state;
    /* A notification has a method and no name. */
    assert_int_equal(decide((const char *[]){"Mcp-Method: notifications/initialized", NULL}, NOTE,
                            &v),
                     0);
    mismatch((const char *[]){"Mcp-Method: notifications/initialized", "Mcp-Name: x", NULL}, NOTE,
             "Mcp-Name does not match the body");
    /* A response (a client answering a server's request) has neither. */
    mismatch((const char *[]){"Mcp-Method: tools/call", NULL}, RESULT,
             "a response carries no method");
    mismatch((const char *[]){"Mcp-Name: add", NULL}, RESULT, "a response carries no method");
    /* Without the headers the same messages pass (clients of earlier versions send none). */
    assert_int_equal(decide(NULL, RESULT, &v), 0);
    assert_int_equal(decide(NULL, NOTE, &v), 0);
}

/* A retry announced after the last event (the server's hint for the reconnection) is kept, as
 * the last id is. */
static void test_filter_sse_trailing_retry(void **state)
{
    const char *in = "id: 1\n"
                     "data: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":"
                     "[{\"name\":\"add\"},{\"name\":\"rm\"}]}}\n\n"
                     "retry: 2500\n\n";

    (void)state;
    out.len = 0;
    assert_int_equal(wdn__sc_mcp_filter(policy, "client", NULL,
                                        wdn_str_from_cstr("text/event-stream"),
                                        wdn_str_from_cstr(in), &out),
                     0);
    assert_string_equal(
        answer(), "event: message\nid: 1\n"
                  "data: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"add\"}]}}\n\n"
                  "retry: 2500\n\n");
}

/* The step-up challenge's scope list is cut at a scope boundary when it does not fit: the first
 * scopes still say what to ask for, and no scope is ever cut in half. */
static void test_scope_list_cut(void **state)
{
    const char *base[] = {"openid"};
    const char *need[] = {"weather:read", "weather:write", "openid", "admin"};
    struct wdn__sc_mcp_req r = {.base_scopes = base, .n_base_scopes = 1};
    char list[32];

    (void)state;
    wdn__sc_mcp_scope_list(&r, need, 4, list, sizeof(list));
    assert_string_equal(list, "openid weather:read"); /* "weather:write" would not fit */
    wdn__sc_mcp_scope_list(&r, need, 4, list, 8);
    assert_string_equal(list, "openid");
    wdn__sc_mcp_scope_list(&r, need, 4, list, 4);
    assert_string_equal(list, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_methods),
        cmocka_unit_test(test_unnamed_messages),
        cmocka_unit_test(test_filter_sse_trailing_retry),
        cmocka_unit_test(test_scope_list_cut),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
