/* Multi round-trip requests (SEP-2322) at their edges, through wdn_mcp_server_handle
 * (tests/unit/support/mcpreq.c): the sealed requestState refused when tampered with, cut, of
 * another tool, of other arguments or of another server (unless both share state_key), when it
 * would grow past WDN_MCP_MAX_STATE_BYTES; malformed inputResponses; the queueing limits a
 * handler meets; and a stateless server of the initialize era, which cannot ask at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/limits.h"
#include "support/mcpreq.h"
#include "warden/mcp.h"

static const unsigned char shared_key[32] = "0123456789abcdef0123456789abcdef";

/* Asks "who" (elicitation); answers "Hello, <name>" with the state it set on the way. */
static int t_ask(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    json_t *who = wdn_mcp_call_input(call, "who");
    const char *st = wdn_mcp_call_state(call);
    char buf[256];

    if (who == NULL) {
        assert_int_equal(wdn_mcp_call_set_state(call, "asked"), 0);
        return wdn_mcp_call_input_request(
            call, "who", "elicitation/create",
            json_pack("{s:s, s:{s:s}}", "message", "Name?", "requestedSchema", "type", "object"));
    }
    snprintf(buf, sizeof(buf), "Hello, %s (%s)",
             json_string_value(json_object_get(json_object_get(who, "content"), "name")),
             st ? st : "-");
    return wdn_mcp_call_text(call, buf);
}

/* Sets the largest state there is, then asks: the sealed state no longer fits. */
static int t_big_state(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    char *s = malloc(WDN_MCP_MAX_STATE_BYTES + 2);
    int rc;

    assert_non_null(s);
    memset(s, 's', WDN_MCP_MAX_STATE_BYTES + 1);
    s[WDN_MCP_MAX_STATE_BYTES + 1] = '\0';
    assert_int_equal(wdn_mcp_call_set_state(call, s), WDN_ELIMIT); /* one byte too many */
    s[WDN_MCP_MAX_STATE_BYTES] = '\0';
    assert_int_equal(wdn_mcp_call_set_state(call, s), 0);
    free(s);
    rc = wdn_mcp_call_input_request(call, "k", "roots/list", NULL);
    assert_int_equal(rc, 0);
    return 0;
}

/* The queueing rules a handler meets. */
static int t_rules(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    char key[80];
    int i;

    memset(key, 'k', 65);
    key[65] = '\0';
    assert_int_equal(wdn_mcp_call_input_request(call, key, "roots/list", NULL), WDN_EINVAL);
    assert_int_equal(wdn_mcp_call_input_request(call, "", "roots/list", NULL), WDN_EINVAL);
    assert_int_equal(wdn_mcp_call_input_request(call, NULL, "roots/list", NULL), WDN_EINVAL);
    assert_int_equal(wdn_mcp_call_input_request(call, "k", NULL, NULL), WDN_EINVAL);
    assert_int_equal(wdn_mcp_call_input_request(call, "k", "ping", NULL), WDN_EINVAL);
    /* sampling was not declared by this client */
    assert_int_equal(wdn_mcp_call_input_request(call, "k", "sampling/createMessage", NULL),
                     WDN_EUNSUPPORTED);
    for (i = 0; i < WDN_MCP_MAX_INPUT_REQUESTS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(wdn_mcp_call_input_request(call, key, "roots/list", NULL), 0);
    }
    assert_int_equal(wdn_mcp_call_input_request(call, "k0", "roots/list", NULL), WDN_EEXISTS);
    assert_int_equal(wdn_mcp_call_input_request(call, "one-more", "roots/list", NULL), WDN_ELIMIT);
    assert_null(wdn_mcp_call_input(call, NULL));
    assert_null(wdn_mcp_call_input(call, "k0"));
    return 0;
}

static struct wdn_mcp_server *server(const unsigned char *key, bool stateless)
{
    struct wdn_mcp_server_config cfg = {.name = "in", .version = "1", .stateless = stateless};
    struct wdn_mcp_tool ask = {.name = "ask", .fn = t_ask};
    struct wdn_mcp_tool ask2 = {.name = "ask2", .fn = t_ask};
    struct wdn_mcp_tool big = {.name = "big", .fn = t_big_state};
    struct wdn_mcp_tool rules = {.name = "rules", .fn = t_rules};
    struct wdn_mcp_server *srv;

    cfg.state_key = key;
    cfg.state_key_len = key != NULL ? 32 : 0;
    srv = wdn_mcp_server_new(&cfg);
    assert_non_null(srv);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &ask), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &ask2), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &big), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &rules), 0);
    return srv;
}

/* A 2026-07-28 tools/call of tool with arguments and extra params (text, may be ""); the client
 * declares elicitation and roots. */
static void call(struct wdn_mcp_server *srv, const char *tool, const char *args, const char *extra,
                 struct mr_answer *a)
{
    char hn[96], body[8192];
    const char *lines[] = {"Accept: application/json, text/event-stream",
                           "Content-Type: application/json",
                           "MCP-Protocol-Version: 2026-07-28",
                           "Mcp-Method: tools/call",
                           hn,
                           NULL};

    snprintf(hn, sizeof(hn), "Mcp-Name: %s", tool);
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
             "\"arguments\":%s,%s\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":"
             "\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{\"elicitation\":{},"
             "\"roots\":{}}}}}",
             tool, args, extra);
    mr_post(srv, lines, body, a);
}

static const char *text_of(const struct mr_answer *a)
{
    return json_string_value(json_object_get(
        json_array_get(json_object_get(json_object_get(a->msg, "result"), "content"), 0), "text"));
}

/* The requestState of a first call of tool (copied into out). */
static void first_round(struct wdn_mcp_server *srv, const char *tool, const char *args, char *out,
                        size_t cap)
{
    struct mr_answer a;
    json_t *r;

    call(srv, tool, args, "", &a);
    r = json_object_get(a.msg, "result");
    if (r == NULL || strcmp(json_string_value(json_object_get(r, "resultType")), "input_required"))
        fail_msg("no input_required: %s", a.body);
    assert_non_null(json_object_get(json_object_get(r, "inputRequests"), "who"));
    snprintf(out, cap, "%s", json_string_value(json_object_get(r, "requestState")));
    mr_free(&a);
}

#define ANSWER                                                                                     \
    "\"inputResponses\":{\"who\":{\"action\":\"accept\",\"content\":{\"name\":\"Ada\"}}},"

static void refused_state(struct wdn_mcp_server *srv, const char *tool, const char *args,
                          const char *state)
{
    char extra[4096];
    struct mr_answer a;

    snprintf(extra, sizeof(extra), ANSWER "\"requestState\":%s,", state);
    call(srv, tool, args, extra, &a);
    if (mr_error_code(&a) != WDN_JSONRPC_INVALID_PARAMS ||
        strcmp(mr_error_message(&a), "Invalid params: requestState failed verification "
                                     "(tampered, expired, or from another request)") != 0)
        fail_msg("state %.60s for %s accepted: %s", state, tool, a.body);
    mr_free(&a);
}

static void sealed_state(void **state)
{
    struct wdn_mcp_server *srv = server(NULL, false), *other = server(NULL, false);
    char st[4096], q[4200], extra[4400];
    struct mr_answer a;
    size_t n;

    first_round(srv, "ask", "{\"x\":1}", st, sizeof(st));
    /* The round trip: the answer and the state come back; the state verifies. */
    snprintf(extra, sizeof(extra), ANSWER "\"requestState\":\"%s\",", st);
    call(srv, "ask", "{\"x\":1}", extra, &a);
    assert_string_equal(text_of(&a), "Hello, Ada (asked)");
    mr_free(&a);
    /* Tampered with: a byte of the MAC, a byte of the payload. */
    n = strlen(st);
    snprintf(q, sizeof(q), "\"%s\"", st);
    q[n] = q[n] == 'A' ? 'B' : 'A'; /* the MAC's last character */
    refused_state(srv, "ask", "{\"x\":1}", q);
    snprintf(q, sizeof(q), "\"%s\"", st);
    q[3] = q[3] == 'A' ? 'B' : 'A';
    refused_state(srv, "ask", "{\"x\":1}", q);
    /* Cut: no MAC, a short MAC, not base64, not a string. */
    snprintf(q, sizeof(q), "\"%.*s\"", (int)(strchr(st, '.') - st), st);
    refused_state(srv, "ask", "{\"x\":1}", q);
    snprintf(q, sizeof(q), "\"%.*sAAAA\"", (int)(strchr(st, '.') - st) + 1, st);
    refused_state(srv, "ask", "{\"x\":1}", q);
    snprintf(q, sizeof(q), "\"%.*s!!!!\"", (int)(strchr(st, '.') - st) + 1, st);
    refused_state(srv, "ask", "{\"x\":1}", q);
    refused_state(srv, "ask", "{\"x\":1}", "42");
    refused_state(srv, "ask", "{\"x\":1}", "\"\"");
    /* Bound to the tool and to its arguments. */
    snprintf(q, sizeof(q), "\"%s\"", st);
    refused_state(srv, "ask2", "{\"x\":1}", q);
    refused_state(srv, "ask", "{\"x\":2}", q);
    refused_state(srv, "ask", "{}", q);
    /* Another server's key. */
    refused_state(other, "ask", "{\"x\":1}", q);
    wdn_mcp_server_free(srv);
    wdn_mcp_server_free(other);
}

static void shared_key_across_servers(void **state)
{
    struct wdn_mcp_server_config bad = {.name = "in", .version = "1"};
    struct wdn_mcp_server *a1 = server(shared_key, false), *a2 = server(shared_key, false);
    char st[4096], extra[4400];
    struct mr_answer a;

    /* A key of another size is refused. */
    bad.state_key = shared_key;
    bad.state_key_len = 16;
    assert_null(wdn_mcp_server_new(&bad));
    /* Behind a load balancer: the next round may reach another instance with the same key. */
    first_round(a1, "ask", "{}", st, sizeof(st));
    snprintf(extra, sizeof(extra), ANSWER "\"requestState\":\"%s\",", st);
    call(a2, "ask", "{}", extra, &a);
    assert_string_equal(text_of(&a), "Hello, Ada (asked)");
    mr_free(&a);
    wdn_mcp_server_free(a1);
    wdn_mcp_server_free(a2);
}

static void input_responses_shape(void **state)
{
    struct wdn_mcp_server *srv = server(NULL, false);
    struct mr_answer a;

    call(srv, "ask", "{}", "\"inputResponses\":[1],", &a);
    assert_int_equal(mr_error_code(&a), WDN_JSONRPC_INVALID_PARAMS);
    assert_string_equal(mr_error_message(&a), "Invalid params: inputResponses must be an object");
    mr_free(&a);
    call(srv, "ask", "{}", "\"inputResponses\":{\"who\":\"Ada\"},", &a);
    assert_int_equal(mr_error_code(&a), WDN_JSONRPC_INVALID_PARAMS);
    assert_string_equal(mr_error_message(&a),
                        "Invalid params: inputResponses.who must be an object");
    mr_free(&a);
    /* Answers without a state are fine: the handler sees them (no state then). */
    call(srv, "ask", "{}", ANSWER, &a);
    assert_string_equal(text_of(&a), "Hello, Ada (-)");
    mr_free(&a);
    wdn_mcp_server_free(srv);
}

static void limits(void **state)
{
    struct wdn_mcp_server *srv = server(NULL, false);
    struct mr_answer a;
    json_t *reqs;

    /* The state a handler may set fits; sealed with the rest it does not: refused, said. */
    call(srv, "big", "{}", "", &a);
    assert_int_equal(mr_error_code(&a), WDN_JSONRPC_INTERNAL_ERROR);
    assert_string_equal(mr_error_message(&a), "Internal error: request state too large to carry");
    mr_free(&a);
    /* The queueing rules (asserted in the handler); the round asks the 16 it could queue. */
    call(srv, "rules", "{}", "", &a);
    reqs = json_object_get(json_object_get(a.msg, "result"), "inputRequests");
    assert_int_equal(json_object_size(reqs), WDN_MCP_MAX_INPUT_REQUESTS);
    mr_free(&a);
    wdn_mcp_server_free(srv);
}

/* A stateless server of the initialize era has no way to ask its client. */
static void stateless_cannot_ask(void **state)
{
    struct wdn_mcp_server *srv = server(NULL, true);
    const char *const lines[] = {"Accept: application/json, text/event-stream",
                                 "Content-Type: application/json",
                                 "MCP-Protocol-Version: 2025-06-18", NULL};
    struct mr_answer a;

    mr_post(
        srv, lines,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\"}}",
        &a);
    assert_int_equal(mr_error_code(&a), WDN_JSONRPC_INTERNAL_ERROR);
    assert_string_equal(mr_error_message(&a),
                        "Internal error: the request needs input from the client, which a "
                        "stateless server of this protocol version cannot ask");
    mr_free(&a);
    wdn_mcp_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sealed_state),          cmocka_unit_test(shared_key_across_servers),
        cmocka_unit_test(input_responses_shape), cmocka_unit_test(limits),
        cmocka_unit_test(stateless_cannot_ask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
