/* Unit tests for the MCP server core: every Streamable HTTP rule and the server methods. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "support/mcpreq.h"
#include "warden/mcp.h"

/* ---- requests (captured by support/mcpreq) ---- */

#define ACCEPT_BOTH "Accept: application/json, text/event-stream"
#define CT_JSON "Content-Type: application/json"

/* One exchange with /mcp whose answer is complete: handled (0), one head, no stream left open.
 * Fills *c (free with mr_free). */
static void do_req(struct wdn_mcp_server *srv, const char *method, const char *const *headers,
                   const char *body, struct mr_answer *c)
{
    mr_send(srv, method, "/mcp", headers, body, body ? strlen(body) : 0, c);
    assert_int_equal(c->rc, 0);
    assert_int_equal(c->heads, 1);
    assert_false(c->streamed);
}

/* ---- a server with tools, resources and prompts ---- */

static int tool_add(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    char buf[64];
    (void)ud;
    snprintf(buf, sizeof(buf), "%g",
             json_number_value(json_object_get(args, "a")) +
                 json_number_value(json_object_get(args, "b")));
    return wdn_mcp_call_text(call, buf);
}

static int tool_progress(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    (void)args;
    (void)ud;
    wdn_mcp_call_progress(call, 1, 2, "half");
    wdn_mcp_call_log(call, WDN_MCP_LOG_DEBUG, "t", json_string("debug line"));
    wdn_mcp_call_log(call, WDN_MCP_LOG_ERROR, "t", json_string("error line"));
    wdn_mcp_call_progress(call, 2, 2, NULL);
    return wdn_mcp_call_text(call, "done");
}

static int tool_structured(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    (void)ud;
    json_t *bad = json_object_get(args, "bad");
    return wdn_mcp_call_structured(
        call, json_pack("{s:o}", "sum", bad ? json_incref(bad) : json_integer(3)));
}

static int tool_fail(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    (void)call;
    (void)args;
    (void)ud;
    return WDN_ECONNREFUSED;
}

static int tool_wait_cancel(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int i;
    (void)args;
    (void)ud;
    for (i = 0; i < 500 && !wdn_mcp_call_cancelled(call); i++)
        usleep(10000);
    return wdn_mcp_call_text(call, wdn_mcp_call_cancelled(call) ? "cancelled" : "not cancelled");
}

static int read_res(struct wdn_mcp_call *call, const char *uri, json_t *contents, void *ud)
{
    (void)call;
    (void)ud;
    if (strcmp(uri, "test://items/missing") == 0)
        return WDN_ENOTFOUND;
    return json_array_append_new(contents, json_pack("{s:s, s:s, s:s}", "uri", uri, "mimeType",
                                                     "text/plain", "text", "hello"));
}

static int get_prompt(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    (void)call;
    (void)ud;
    *messages = json_pack("[{s:s, s:{s:s, s:O}}]", "role", "user", "content", "type", "text",
                          "text", json_object_get(args, "topic"));
    return 0;
}

static int completer(const char *ref, const char *arg, const char *value, json_t *values, void *ud)
{
    (void)ref;
    (void)ud;
    if (strcmp(arg, "topic") == 0 && strncmp("weather", value, strlen(value)) == 0)
        json_array_append_new(values, json_string("weather"));
    return 0;
}

static struct wdn_mcp_server *make_server(bool stateless)
{
    struct wdn_mcp_server_config cfg = {.name = "test",
                                        .version = "1.0",
                                        .path = "/mcp",
                                        .stateless = stateless,
                                        .instructions = "be nice"};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);
    struct wdn_mcp_tool add = {
        .name = "add",
        .description = "Add two numbers together.",
        .input_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},"
                        "\"b\":{\"type\":\"number\"}},\"required\":[\"a\",\"b\"]}",
        .fn = tool_add};
    struct wdn_mcp_tool prog = {.name = "progress", .fn = tool_progress};
    struct wdn_mcp_tool st = {.name = "structured",
                              .output_schema = "{\"type\":\"object\",\"properties\":{\"sum\":"
                                               "{\"type\":\"integer\"}},\"required\":[\"sum\"]}",
                              .fn = tool_structured};
    struct wdn_mcp_tool fl = {.name = "fail", .fn = tool_fail};
    struct wdn_mcp_tool wc = {.name = "wait_cancel", .fn = tool_wait_cancel};
    struct wdn_mcp_resource r1 = {
        .uri = "test://static", .name = "static", .mime_type = "text/plain", .read = read_res};
    struct wdn_mcp_resource r2 = {
        .uri_template = "test://items/{id}", .name = "item", .read = read_res};
    struct wdn_mcp_prompt_arg pa[] = {{"topic", "what about", true}};
    struct wdn_mcp_prompt p = {
        .name = "ask", .description = "Ask", .args = pa, .nargs = 1, .get = get_prompt};

    assert_non_null(srv);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &add), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &add), WDN_EEXISTS);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &prog), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &st), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &fl), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &wc), 0);
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r1), 0);
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r2), 0);
    assert_int_equal(wdn_mcp_server_add_prompt(srv, &p), 0);
    wdn_mcp_server_set_completer(srv, completer, NULL);
    return srv;
}

#define INIT_BODY(v)                                                                               \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"" v \
    "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"

/* Initializes a session and returns its id in sid. */
static void open_session(struct wdn_mcp_server *srv, const char *version, char *sid, size_t cap)
{
    const char *h[] = {ACCEPT_BOTH, CT_JSON, NULL};
    char body[512];
    struct mr_answer c;

    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
             "{\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
             "\"version\":\"1\"}}}",
             version);
    do_req(srv, "POST", h, body, &c);
    assert_int_equal(c.status, 200);
    assert_non_null(mr_header(&c, "Mcp-Session-Id"));
    snprintf(sid, cap, "Mcp-Session-Id: %s", mr_header(&c, "Mcp-Session-Id"));
    mr_free(&c);
}

/* Posts body within a session and returns the parsed answer. */
static json_t *post(struct wdn_mcp_server *srv, const char *sid, const char *version,
                    const char *body, struct mr_answer *c)
{
    char pv[64];
    const char *h[] = {ACCEPT_BOTH, CT_JSON, sid, pv, NULL};

    snprintf(pv, sizeof(pv), "MCP-Protocol-Version: %s", version);
    if (sid == NULL) {
        h[2] = pv;
        h[3] = NULL;
    }
    do_req(srv, "POST", h, body, c);
    return json_incref(c->msg);
}

/* ---- tests ---- */

static void test_initialize_session(void **state)
{
    struct wdn_mcp_server *srv = make_server(false);
    const char *h[] = {ACCEPT_BOTH, CT_JSON, NULL};
    struct mr_answer c, c2;
    json_t *j;
    const char *sid;
    (void)state;

    do_req(srv, "POST", h, INIT_BODY("2025-06-18"), &c);
    assert_int_equal(c.status, 200);
    assert_string_equal(mr_header(&c, "Content-Type"), "application/json");
    sid = mr_header(&c, "Mcp-Session-Id");
    assert_non_null(sid);
    assert_int_equal(strlen(sid), 64);
    assert_int_equal(strspn(sid, "0123456789abcdef"), 64);
    j = json_incref(c.msg);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "result"), "protocolVersion")),
        "2025-06-18");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "result"), "serverInfo"), "name")),
                        "test");
    assert_non_null(
        json_object_get(json_object_get(json_object_get(j, "result"), "capabilities"), "tools"));
    assert_non_null(
        json_object_get(json_object_get(json_object_get(j, "result"), "capabilities"), "prompts"));
    json_decref(j);

    /* A second session gets a different random id. */
    do_req(srv, "POST", h, INIT_BODY("1999-01-01"), &c2);
    assert_string_not_equal(mr_header(&c2, "Mcp-Session-Id"), sid);
    /* An unknown version is answered with the latest, not an error. */
    j = json_incref(c2.msg);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "result"), "protocolVersion")),
        "2025-11-25");
    json_decref(j);
    assert_int_equal(wdn_mcp_server_session_count(srv), 2);
    mr_free(&c);
    mr_free(&c2);
    wdn_mcp_server_free(srv);
}

static void test_session_rules(void **state)
{
    struct wdn_mcp_server *srv = make_server(false);
    const char *list = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}";
    const char *h_nosid[] = {ACCEPT_BOTH, CT_JSON, NULL};
    const char *h_badsid[] = {ACCEPT_BOTH, CT_JSON, "Mcp-Session-Id: deadbeef", NULL};
    char sid[128];
    struct mr_answer c;
    json_t *j;
    (void)state;

    open_session(srv, "2025-11-25", sid, sizeof(sid));
    do_req(srv, "POST", h_nosid, list, &c);
    assert_int_equal(c.status, 400);
    mr_free(&c);
    do_req(srv, "POST", h_badsid, list, &c);
    assert_int_equal(c.status, 404);
    j = json_incref(c.msg);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32001);
    json_decref(j);
    mr_free(&c);

    j = post(srv, sid, "2025-11-25", list, &c);
    assert_int_equal(c.status, 200);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "result"), "tools")), 5);
    json_decref(j);
    mr_free(&c);

    /* Re-initialize inside a session is refused. */
    j = post(srv, sid, "2025-11-25", INIT_BODY("2025-11-25"), &c);
    assert_int_equal(c.status, 400);
    json_decref(j);
    mr_free(&c);

    /* DELETE ends the session; afterwards the id is unknown (404). */
    {
        const char *h[] = {sid, NULL};
        do_req(srv, "DELETE", h, NULL, &c);
        assert_int_equal(c.status, 200);
        mr_free(&c);
        do_req(srv, "DELETE", h, NULL, &c);
        assert_int_equal(c.status, 404);
        mr_free(&c);
    }
    j = post(srv, sid, "2025-11-25", list, &c);
    assert_int_equal(c.status, 404);
    json_decref(j);
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

static void test_accept_and_content_type(void **state)
{
    struct wdn_mcp_server *srv = make_server(true);
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    const char *only_json[] = {"Accept: application/json", CT_JSON, NULL};
    const char *none[] = {CT_JSON, NULL};
    const char *wild[] = {"Accept: */*", CT_JSON, NULL};
    const char *q0[] = {"Accept: application/json, text/event-stream;q=0", CT_JSON, NULL};
    const char *bad_ct[] = {ACCEPT_BOTH, "Content-Type: text/plain", NULL};
    const char *no_ct[] = {ACCEPT_BOTH, NULL};
    const char *ct_params[] = {ACCEPT_BOTH, "content-type: Application/JSON; charset=utf-8", NULL};
    struct mr_answer c;
    (void)state;

    do_req(srv, "POST", only_json, ping, &c);
    assert_int_equal(c.status, 406);
    mr_free(&c);
    do_req(srv, "POST", none, ping, &c);
    assert_int_equal(c.status, 406);
    mr_free(&c);
    do_req(srv, "POST", q0, ping, &c);
    assert_int_equal(c.status, 406);
    mr_free(&c);
    do_req(srv, "POST", wild, ping, &c);
    assert_int_equal(c.status, 200);
    mr_free(&c);
    do_req(srv, "POST", bad_ct, ping, &c);
    assert_int_equal(c.status, 415);
    mr_free(&c);
    do_req(srv, "POST", no_ct, ping, &c);
    assert_int_equal(c.status, 415);
    mr_free(&c);
    do_req(srv, "POST", ct_params, ping, &c);
    assert_int_equal(c.status, 200);
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

static void test_origin_and_host(void **state)
{
    struct wdn_mcp_server *srv = make_server(true);
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    const char *evil_origin[] = {ACCEPT_BOTH, CT_JSON, "Origin: http://evil.example.com", NULL};
    const char *null_origin[] = {ACCEPT_BOTH, CT_JSON, "Origin: null", NULL};
    const char *evil_host[] = {ACCEPT_BOTH, CT_JSON, "Host: evil.example.com", NULL};
    const char *tricky_host[] = {ACCEPT_BOTH, CT_JSON, "Host: localhost.evil.com:80", NULL};
    const char *ok[] = {ACCEPT_BOTH, CT_JSON, "Host: 127.0.0.1:8000",
                        "Origin: http://localhost:3000", NULL};
    const char *ok6[] = {ACCEPT_BOTH, CT_JSON, "Host: [::1]:8000", NULL};
    const char *two_hosts[] = {ACCEPT_BOTH, CT_JSON, "Host: localhost", "Host: evil.com", NULL};
    struct mr_answer c;
    (void)state;

    do_req(srv, "POST", evil_origin, ping, &c);
    assert_int_equal(c.status, 403);
    mr_free(&c);
    do_req(srv, "POST", null_origin, ping, &c);
    assert_int_equal(c.status, 403);
    mr_free(&c);
    do_req(srv, "POST", evil_host, ping, &c);
    assert_int_equal(c.status, 403);
    mr_free(&c);
    do_req(srv, "POST", tricky_host, ping, &c);
    assert_int_equal(c.status, 403);
    mr_free(&c);
    do_req(srv, "POST", two_hosts, ping, &c);
    assert_int_equal(c.status, 403);
    mr_free(&c);
    do_req(srv, "GET", evil_host, NULL, &c);
    assert_int_equal(c.status, 403);
    mr_free(&c);
    do_req(srv, "POST", ok, ping, &c);
    assert_int_equal(c.status, 200);
    mr_free(&c);
    do_req(srv, "POST", ok6, ping, &c);
    assert_int_equal(c.status, 200);
    mr_free(&c);
    wdn_mcp_server_free(srv);

    /* Configured hosts and origins replace the loopback defaults. */
    {
        const char *hosts[] = {"mcp.internal", NULL};
        const char *origins[] = {"https://app.example", NULL};
        struct wdn_mcp_server_config cfg = {.name = "t",
                                            .version = "1",
                                            .stateless = true,
                                            .allowed_hosts = hosts,
                                            .allowed_origins = origins};
        const char *h1[] = {ACCEPT_BOTH, CT_JSON, "Host: mcp.internal:80",
                            "Origin: https://app.example", NULL};
        const char *h2[] = {ACCEPT_BOTH, CT_JSON, "Host: localhost", NULL};
        srv = wdn_mcp_server_new(&cfg);
        do_req(srv, "POST", h1, ping, &c);
        assert_int_equal(c.status, 200);
        mr_free(&c);
        do_req(srv, "POST", h2, ping, &c);
        assert_int_equal(c.status, 403);
        mr_free(&c);
        wdn_mcp_server_free(srv);
    }
}

static void test_methods_and_paths(void **state)
{
    struct wdn_mcp_server *srv = make_server(true);
    struct mr_answer c;
    const char *h[] = {ACCEPT_BOTH, CT_JSON, NULL};
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    (void)state;

    do_req(srv, "PUT", h, "{}", &c);
    assert_int_equal(c.status, 405);
    assert_string_equal(mr_header(&c, "Allow"), "POST");
    mr_free(&c);
    /* Stateless: no GET stream, no DELETE. */
    do_req(srv, "GET", h, NULL, &c);
    assert_int_equal(c.status, 405);
    mr_free(&c);
    do_req(srv, "DELETE", h, NULL, &c);
    assert_int_equal(c.status, 405);
    mr_free(&c);

    mr_send(srv, "POST", "/other", NULL, NULL, 0, &c);
    assert_int_equal(c.rc, 0);
    assert_int_equal(c.status, 404);
    mr_free(&c);
    mr_send(srv, "POST", "/mcp?x=1", h, ping, strlen(ping), &c);
    assert_int_equal(c.rc, 0);
    assert_int_equal(c.status, 200);
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

static void test_notifications_get_202(void **state)
{
    struct wdn_mcp_server *srv = make_server(false);
    char sid[128];
    struct mr_answer c;
    json_t *j;
    (void)state;

    open_session(srv, "2025-11-25", sid, sizeof(sid));
    j = post(srv, sid, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &c);
    assert_int_equal(c.status, 202);
    assert_string_equal(c.body, "");
    assert_null(j);
    mr_free(&c);
    /* A response from the client (to a server request) is accepted the same way. */
    j = post(srv, sid, "2025-11-25", "{\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"result\":{}}", &c);
    assert_int_equal(c.status, 202);
    assert_string_equal(c.body, "");
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

static void test_protocol_version_header(void **state)
{
    struct wdn_mcp_server *srv = make_server(false);
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
    char sid[128];
    struct mr_answer c;
    json_t *j;
    (void)state;

    open_session(srv, "2025-11-25", sid, sizeof(sid));
    j = post(srv, sid, "2099-01-01", ping, &c);
    assert_int_equal(c.status, 400);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32022);
    assert_non_null(
        json_object_get(json_object_get(json_object_get(j, "error"), "data"), "supported"));
    json_decref(j);
    mr_free(&c);
    /* Any supported version is accepted, not only the negotiated one. */
    j = post(srv, sid, "2025-03-26", ping, &c);
    assert_int_equal(c.status, 200);
    json_decref(j);
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

static void test_parse_and_invalid(void **state)
{
    struct wdn_mcp_server *srv = make_server(true);
    struct mr_answer c;
    json_t *j;
    (void)state;

    j = post(srv, NULL, "2025-11-25", "{not json", &c);
    assert_int_equal(c.status, 400);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32700);
    assert_true(json_is_null(json_object_get(j, "id")));
    json_decref(j);
    mr_free(&c);
    j = post(srv, NULL, "2025-11-25", "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", &c);
    assert_int_equal(c.status, 400);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32600);
    json_decref(j);
    mr_free(&c);
    j = post(srv, NULL, "2025-11-25", "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"nope\"}", &c);
    assert_int_equal(c.status, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32601);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "x");
    json_decref(j);
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

static void test_batches(void **state)
{
    struct wdn_mcp_server *srv = make_server(true);
    const char *batch = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
                        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
                        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"},"
                        "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}]";
    struct mr_answer c;
    json_t *j;
    (void)state;

    j = post(srv, NULL, "2025-03-26", batch, &c);
    assert_int_equal(c.status, 200);
    assert_true(json_is_array(j));
    /* Two answers and one error; the notification is never answered. */
    assert_int_equal(json_array_size(j), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "id")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 1), "id")), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(json_array_get(j, 2), "error"), "code")),
        -32600);
    json_decref(j);
    mr_free(&c);
    j = post(srv, NULL, "2025-06-18", batch, &c);
    assert_int_equal(c.status, 400);
    json_decref(j);
    mr_free(&c);
    j = post(srv, NULL, "2025-03-26", "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}]", &c);
    assert_int_equal(c.status, 202);
    mr_free(&c);
    j = post(srv, NULL, "2025-03-26", "[]", &c);
    assert_int_equal(c.status, 400);
    json_decref(j);
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

static json_t *call_tool(struct wdn_mcp_server *srv, const char *name, const char *args,
                         struct mr_answer *c)
{
    char body[512];

    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
             "\"arguments\":%s}}",
             name, args);
    return post(srv, NULL, "2025-11-25", body, c);
}

static const char *result_text(json_t *j)
{
    return json_string_value(json_object_get(
        json_array_get(json_object_get(json_object_get(j, "result"), "content"), 0), "text"));
}

static void test_tools_call(void **state)
{
    struct wdn_mcp_server *srv = make_server(true);
    struct mr_answer c;
    json_t *j;
    (void)state;

    j = call_tool(srv, "add", "{\"a\":2,\"b\":3}", &c);
    assert_int_equal(c.status, 200);
    assert_string_equal(result_text(j), "5");
    assert_null(json_object_get(json_object_get(j, "result"), "isError"));
    json_decref(j);
    mr_free(&c);

    j = call_tool(srv, "add", "{\"a\":2,\"b\":\"x\"}", &c);
    assert_true(json_is_true(json_object_get(json_object_get(j, "result"), "isError")));
    assert_string_equal(result_text(j), "Invalid arguments for tool add: /b: expected number, got "
                                        "string");
    json_decref(j);
    mr_free(&c);

    j = call_tool(srv, "nope", "{}", &c);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32602);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
                        "Unknown tool: nope");
    json_decref(j);
    mr_free(&c);

    j = call_tool(srv, "fail", "{}", &c);
    assert_true(json_is_true(json_object_get(json_object_get(j, "result"), "isError")));
    assert_string_equal(result_text(j), "Tool fail failed: connection refused");
    json_decref(j);
    mr_free(&c);

    j = call_tool(srv, "structured", "{}", &c);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(j, "result"), "structuredContent"), "sum")),
        3);
    assert_string_equal(result_text(j), "{\"sum\":3}");
    json_decref(j);
    mr_free(&c);
    /* Output that violates the declared schema is a server bug: -32603. */
    j = call_tool(srv, "structured", "{\"bad\":\"str\"}", &c);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32603);
    json_decref(j);
    mr_free(&c);

    j = post(srv, NULL, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{}}", &c);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32602);
    json_decref(j);
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

static void test_progress_streams_sse(void **state)
{
    struct wdn_mcp_server *srv = make_server(false);
    char sid[128];
    struct mr_answer c;
    json_t *j;
    const char *body;
    (void)state;

    open_session(srv, "2025-11-25", sid, sizeof(sid));
    j = post(srv, sid, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"logging/setLevel\",\"params\":"
             "{\"level\":\"warning\"}}",
             &c);
    assert_non_null(json_object_get(j, "result"));
    json_decref(j);
    mr_free(&c);
    j = post(srv, sid, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"progress\",\"_meta\":{\"progressToken\":\"tok\"}}}",
             &c);
    assert_int_equal(c.status, 200);
    assert_string_equal(mr_header(&c, "Content-Type"), "text/event-stream");
    body = c.body;
    assert_non_null(strstr(body, "\"method\":\"notifications/progress\""));
    assert_non_null(strstr(body, "\"progressToken\":\"tok\""));
    assert_non_null(strstr(body, "error line"));
    /* Below the level set with logging/setLevel: not sent. */
    assert_null(strstr(body, "debug line"));
    /* The response is the last event. */
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 10);
    assert_string_equal(result_text(j), "done");
    json_decref(j);
    mr_free(&c);

    j = post(srv, sid, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"logging/setLevel\",\"params\":"
             "{\"level\":\"loud\"}}",
             &c);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32602);
    json_decref(j);
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

static void test_get_stream_and_broadcast(void **state)
{
    struct wdn_mcp_server *srv = make_server(false);
    char sid[128];
    const char *h_noacc[] = {"Accept: application/json", sid, NULL};
    const char *h_nosid[] = {"Accept: text/event-stream", NULL};
    const char *h[] = {"Accept: text/event-stream", sid, NULL};
    struct mr_stream *st, *st2;
    struct mr_answer c, c2;
    (void)state;

    open_session(srv, "2025-11-25", sid, sizeof(sid));
    do_req(srv, "GET", h_noacc, NULL, &c);
    assert_int_equal(c.status, 406);
    mr_free(&c);
    do_req(srv, "GET", h_nosid, NULL, &c);
    assert_int_equal(c.status, 400);
    mr_free(&c);

    st = mr_open(srv, h, &c);
    assert_non_null(st);
    assert_int_equal(c.heads, 1);
    assert_int_equal(c.status, 200);
    assert_string_equal(mr_header(&c, "Content-Type"), "text/event-stream");
    mr_free(&c);
    st2 = mr_open(srv, h, &c2);
    assert_null(st2);
    assert_int_equal(c2.heads, 1);
    assert_int_equal(c2.status, 409);
    mr_free(&c2);

    assert_int_equal(wdn_mcp_server_broadcast(srv, "notifications/tools/list_changed", NULL), 1);
    assert_true(mr_stream_has(st, "notifications/tools/list_changed"));
    assert_true(mr_stream_has(st, "event: message\ndata: {"));

    /* Subscriptions route resource updates to this session's stream only. */
    assert_int_equal(wdn_mcp_server_resource_updated(srv, "test://static"), 0);
    {
        struct mr_answer cs;
        json_t *j = post(srv, sid, "2025-11-25",
                         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/subscribe\","
                         "\"params\":{\"uri\":\"test://static\"}}",
                         &cs);
        assert_non_null(json_object_get(j, "result"));
        json_decref(j);
        mr_free(&cs);
        assert_int_equal(wdn_mcp_server_resource_updated(srv, "test://static"), 1);
        assert_int_equal(wdn_mcp_server_resource_updated(srv, "test://other"), 0);
        assert_true(mr_stream_has(st, "notifications/resources/updated"));
        j = post(srv, sid, "2025-11-25",
                 "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/unsubscribe\","
                 "\"params\":{\"uri\":\"test://static\"}}",
                 &cs);
        json_decref(j);
        mr_free(&cs);
        assert_int_equal(wdn_mcp_server_resource_updated(srv, "test://static"), 0);
    }
    /* The client goes away: the stream is forgotten, a new GET may open one. */
    mr_stream_close(srv, st);
    assert_int_equal(wdn_mcp_server_broadcast(srv, "notifications/tools/list_changed", NULL), 0);
    st = mr_open(srv, h, &c);
    assert_non_null(st);
    mr_free(&c);
    /* DELETE closes the session's stream through end. */
    {
        const char *hd[] = {sid, NULL};
        do_req(srv, "DELETE", hd, NULL, &c2);
        assert_int_equal(c2.status, 200);
        mr_free(&c2);
    }
    assert_int_equal(mr_stream_end_count(st), 1);
    mr_stream_close(NULL, st); /* ended by the server: only the capture is freed */
    wdn_mcp_server_free(srv);
}

static void test_resources_prompts_completion(void **state)
{
    struct wdn_mcp_server *srv = make_server(true);
    struct mr_answer c;
    json_t *j;
    (void)state;

    j = post(srv, NULL, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\"}", &c);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "result"), "resources")),
                     1);
    json_decref(j);
    mr_free(&c);
    j = post(srv, NULL, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/templates/list\"}", &c);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(j, "result"), "resourceTemplates"), 0),
            "uriTemplate")),
        "test://items/{id}");
    json_decref(j);
    mr_free(&c);
    j = post(srv, NULL, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
             "\"test://items/42\"}}",
             &c);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(j, "result"), "contents"), 0), "uri")),
        "test://items/42");
    json_decref(j);
    mr_free(&c);
    j = post(srv, NULL, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
             "\"test://nothing\"}}",
             &c);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32002);
    json_decref(j);
    mr_free(&c);
    j = post(srv, NULL, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":"
             "\"test://items/missing\"}}",
             &c);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32002);
    json_decref(j);
    mr_free(&c);
    j = post(srv, NULL, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\",\"params\":{\"name\":"
             "\"ask\"}}",
             &c);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32602);
    json_decref(j);
    mr_free(&c);
    j = post(srv, NULL, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\",\"params\":{\"name\":"
             "\"ask\",\"arguments\":{\"topic\":\"rain\"}}}",
             &c);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(
                json_array_get(json_object_get(json_object_get(j, "result"), "messages"), 0),
                "content"),
            "text")),
        "rain");
    json_decref(j);
    mr_free(&c);
    j = post(srv, NULL, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{\"ref\":"
             "{\"type\":\"ref/prompt\",\"name\":\"ask\"},\"argument\":{\"name\":\"topic\","
             "\"value\":\"wea\"}}}",
             &c);
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_object_get(json_object_get(j, "result"), "completion"), "values"),
            0)),
        "weather");
    json_decref(j);
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

static json_t *post_modern(struct wdn_mcp_server *srv, const char *const *extra, const char *body,
                           struct mr_answer *c)
{
    const char *h[10] = {ACCEPT_BOTH, CT_JSON, "MCP-Protocol-Version: 2026-07-28"};
    size_t n = 3;

    for (; extra != NULL && *extra != NULL && n < 9; extra++)
        h[n++] = *extra;
    h[n] = NULL;
    do_req(srv, "POST", h, body, c);
    return json_incref(c->msg);
}

#define META                                                                                       \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":{}}"

static void test_modern_stateless(void **state)
{
    struct wdn_mcp_server *srv = make_server(false);
    const char *disc = "{\"jsonrpc\":\"2.0\",\"id\":\"d\",\"method\":\"server/discover\","
                       "\"params\":{" META "}}";
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"add\",\"arguments\":{\"a\":1,\"b\":1}," META "}}";
    const char *m_disc[] = {"Mcp-Method: server/discover", "Mcp-Session-Id: abc", NULL};
    const char *m_call[] = {"Mcp-Method: tools/call", "Mcp-Name: add", NULL};
    const char *m_call_wrong[] = {"Mcp-Method: tools/call", "Mcp-Name: echo", NULL};
    const char *m_call_noname[] = {"Mcp-Method: tools/call", NULL};
    const char *m_wrong_method[] = {"Mcp-Method: tools/list", "Mcp-Name: add", NULL};
    struct mr_answer c;
    json_t *j;
    (void)state;

    /* Works without initialize or a session, even on a server that has sessions. */
    j = post_modern(srv, m_disc, disc, &c);
    assert_int_equal(c.status, 200);
    assert_null(mr_header(&c, "Mcp-Session-Id"));
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(j, "result"), "supportedVersions")), 4);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "result"), "resultType")), "complete");
    json_decref(j);
    mr_free(&c);

    j = post_modern(srv, m_call, call, &c);
    assert_int_equal(c.status, 200);
    assert_string_equal(result_text(j), "2");
    json_decref(j);
    mr_free(&c);

    j = post_modern(srv, NULL, call, &c);
    assert_int_equal(c.status, 400);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32020);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 3);
    json_decref(j);
    mr_free(&c);
    j = post_modern(srv, m_call_wrong, call, &c);
    assert_int_equal(c.status, 400);
    json_decref(j);
    mr_free(&c);
    j = post_modern(srv, m_call_noname, call, &c);
    assert_int_equal(c.status, 400);
    json_decref(j);
    mr_free(&c);
    j = post_modern(srv, m_wrong_method, call, &c);
    assert_int_equal(c.status, 400);
    json_decref(j);
    mr_free(&c);

    /* _meta must carry the same version as the header. */
    {
        const char *m[] = {"Mcp-Method: tools/list", NULL};
        j = post_modern(srv, m, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}", &c);
        assert_int_equal(c.status, 400);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                         -32602);
        json_decref(j);
        mr_free(&c);
        j = post_modern(srv, m,
                        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":{"
                        "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2025-11-25\"}}}",
                        &c);
        assert_int_equal(c.status, 400);
        json_decref(j);
        mr_free(&c);
    }
    /* Unknown methods are 404 with -32601; ping is gone in this version. */
    {
        const char *m[] = {"Mcp-Method: ping", NULL};
        j = post_modern(
            srv, m, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\",\"params\":{" META "}}", &c);
        assert_int_equal(c.status, 404);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                         -32601);
        json_decref(j);
        mr_free(&c);
    }
    {
        const char *m[] = {"Mcp-Method: logging/setLevel", NULL};
        j = post_modern(srv, m,
                        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"logging/setLevel\","
                        "\"params\":{\"level\":\"info\"," META "}}",
                        &c);
        assert_int_equal(c.status, 404);
        json_decref(j);
        mr_free(&c);
    }
    /* Lists carry caching hints. */
    {
        const char *m[] = {"Mcp-Method: tools/list", NULL};
        j = post_modern(srv, m,
                        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\","
                        "\"params\":{" META "}}",
                        &c);
        assert_int_equal(c.status, 200);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "result"), "ttlMs")),
                         0);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(j, "result"), "cacheScope")),
            "private");
        json_decref(j);
        mr_free(&c);
    }
    /* Batches, GET and DELETE do not exist in this version. */
    j = post_modern(srv, m_disc,
                    "["
                    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\"}]",
                    &c);
    assert_int_equal(c.status, 400);
    json_decref(j);
    mr_free(&c);
    {
        const char *h[] = {"Accept: text/event-stream", "MCP-Protocol-Version: 2026-07-28", NULL};
        do_req(srv, "GET", h, NULL, &c);
        assert_int_equal(c.status, 405);
        mr_free(&c);
        do_req(srv, "DELETE", h, NULL, &c);
        assert_int_equal(c.status, 405);
        mr_free(&c);
    }
    {
        const char *m[] = {"Mcp-Method: notifications/cancelled", NULL};
        j = post_modern(srv, m,
                        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
                        "{\"requestId\":1}}",
                        &c);
        assert_int_equal(c.status, 202);
        mr_free(&c);
        j = post_modern(srv, NULL,
                        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
                        "{\"requestId\":1}}",
                        &c);
        assert_int_equal(c.status, 400);
        json_decref(j);
        mr_free(&c);
    }
    assert_int_equal(wdn_mcp_server_session_count(srv), 0);
    wdn_mcp_server_free(srv);
}

static int tool_ok(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    (void)args;
    (void)ud;
    return wdn_mcp_call_text(call, "ok");
}

static void test_modern_param_headers(void **state)
{
    struct wdn_mcp_server_config cfg = {.name = "t", .version = "1", .stateless = true};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);
    struct wdn_mcp_tool t = {
        .name = "sql",
        .input_schema = "{\"type\":\"object\",\"properties\":{\"region\":{\"type\":\"string\","
                        "\"x-mcp-header\":\"Region\"},\"opts\":{\"type\":\"object\",\"properties\":"
                        "{\"n\":{\"type\":\"integer\",\"x-mcp-header\":\"N\"}}}},"
                        "\"required\":[\"region\"]}",
        .fn = tool_ok};
    const char *body =
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{"
        "\"name\":\"sql\",\"arguments\":{\"region\":\"us-west1\",\"opts\":{\"n\":42}}," META "}}";
    const char *ok[] = {"Mcp-Method: tools/call", "Mcp-Name: sql", "Mcp-Param-Region: us-west1",
                        "Mcp-Param-N: 42.0", NULL};
    const char *b64[] = {"Mcp-Method: tools/call", "Mcp-Name: sql",
                         "mcp-param-region: =?base64?dXMtd2VzdDE=?=", "Mcp-Param-N: 42", NULL};
    const char *badpad[] = {"Mcp-Method: tools/call", "Mcp-Name: sql",
                            "Mcp-Param-Region: =?base64?dXMtd2VzdDE?=", "Mcp-Param-N: 42", NULL};
    const char *missing[] = {"Mcp-Method: tools/call", "Mcp-Name: sql", "Mcp-Param-N: 42", NULL};
    const char *wrong[] = {"Mcp-Method: tools/call", "Mcp-Name: sql", "Mcp-Param-Region: eu",
                           "Mcp-Param-N: 42", NULL};
    const char *wrong_n[] = {"Mcp-Method: tools/call", "Mcp-Name: sql",
                             "Mcp-Param-Region: us-west1", "Mcp-Param-N: 43", NULL};
    const char *const *bad[] = {badpad, missing, wrong, wrong_n};
    struct mr_answer c;
    json_t *j;
    size_t i;
    (void)state;

    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), 0);
    j = post_modern(srv, ok, body, &c);
    assert_int_equal(c.status, 200);
    assert_string_equal(result_text(j), "ok");
    json_decref(j);
    mr_free(&c);
    j = post_modern(srv, b64, body, &c);
    assert_int_equal(c.status, 200);
    json_decref(j);
    mr_free(&c);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = post_modern(srv, bad[i], body, &c);
        assert_int_equal(c.status, 400);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                         -32020);
        json_decref(j);
        mr_free(&c);
    }
    /* Annotations that cannot be mirrored safely refuse the tool. */
    t.name = "bad1";
    t.input_schema = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"number\","
                     "\"x-mcp-header\":\"X\"}}}";
    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), WDN_EINVAL);
    t.input_schema = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\","
                     "\"x-mcp-header\":\"A B\"}}}";
    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), WDN_EINVAL);
    t.input_schema = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\","
                     "\"x-mcp-header\":\"Dup\"},\"y\":{\"type\":\"string\",\"x-mcp-header\":"
                     "\"dup\"}}}";
    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), WDN_EINVAL);
    wdn_mcp_server_free(srv);
}

static int tool_needs_sampling(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int rc = wdn_mcp_call_require_capability(call, "sampling");

    (void)args;
    (void)ud;
    return rc != 0 ? rc : wdn_mcp_call_text(call, "ok");
}

static void test_required_capability(void **state)
{
    struct wdn_mcp_server_config cfg = {.name = "t", .version = "1"};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);
    struct wdn_mcp_tool t = {.name = "s", .fn = tool_needs_sampling};
    const char *h[] = {ACCEPT_BOTH, CT_JSON, NULL};
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"s\"}}";
    const char *m[] = {"Mcp-Method: tools/call", "Mcp-Name: s", NULL};
    char sid[128];
    struct mr_answer c;
    json_t *j;
    (void)state;

    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), 0);
    /* initialize without sampling: the tool is refused with -32021 naming it. */
    open_session(srv, "2025-11-25", sid, sizeof(sid));
    j = post(srv, sid, "2025-11-25", call, &c);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32021);
    assert_non_null(
        json_object_get(json_object_get(json_object_get(json_object_get(j, "error"), "data"),
                                        "requiredCapabilities"),
                        "sampling"));
    json_decref(j);
    mr_free(&c);
    /* initialize with sampling: allowed. */
    do_req(srv, "POST", h,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
           "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"sampling\":{}},"
           "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}",
           &c);
    snprintf(sid, sizeof(sid), "Mcp-Session-Id: %s", mr_header(&c, "Mcp-Session-Id"));
    mr_free(&c);
    j = post(srv, sid, "2025-11-25", call, &c);
    assert_string_equal(result_text(j), "ok");
    json_decref(j);
    mr_free(&c);
    /* 2026-07-28: the capabilities of this request's _meta count; HTTP 400. */
    j = post_modern(srv, m,
                    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
                    "\"name\":\"s\"," META "}}",
                    &c);
    assert_int_equal(c.status, 400);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32021);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 3);
    json_decref(j);
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

struct canceller {
    struct wdn_mcp_server *srv;
    const char *sid;
};

static void *cancel_thread(void *arg)
{
    struct canceller *k = arg;
    struct mr_answer c;
    json_t *j;

    usleep(50000);
    j = post(k->srv, k->sid, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
             "{\"requestId\":\"slow\",\"reason\":\"user\"}}",
             &c);
    json_decref(j);
    mr_free(&c);
    return NULL;
}

static void test_cancellation(void **state)
{
    struct wdn_mcp_server *srv = make_server(false);
    char sid[128];
    struct canceller k = {srv, sid};
    pthread_t th;
    struct mr_answer c;
    json_t *j;
    (void)state;

    open_session(srv, "2025-11-25", sid, sizeof(sid));
    assert_int_equal(pthread_create(&th, NULL, cancel_thread, &k), 0);
    j = post(srv, sid, "2025-11-25",
             "{\"jsonrpc\":\"2.0\",\"id\":\"slow\",\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"wait_cancel\"}}",
             &c);
    pthread_join(th, NULL);
    assert_string_equal(result_text(j), "cancelled");
    json_decref(j);
    mr_free(&c);
    wdn_mcp_server_free(srv);
}

static void test_registration_rules(void **state)
{
    struct wdn_mcp_server_config cfg = {.name = "t", .version = "1"};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);
    struct wdn_mcp_tool t = {.name = "bad name", .fn = tool_add};
    (void)state;

    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), WDN_EINVAL);
    t.name = "ok";
    t.input_schema = "{\"type\":\"string\"}";
    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), WDN_EINVAL);
    t.input_schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"http://x/s\"}}}";
    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), WDN_EUNSUPPORTED);
    t.input_schema = "{not json";
    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), WDN_EINVAL);
    t.input_schema = NULL;
    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), 0);
    cfg.name = NULL;
    assert_null(wdn_mcp_server_new(&cfg));
    wdn_mcp_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initialize_session),
        cmocka_unit_test(test_session_rules),
        cmocka_unit_test(test_accept_and_content_type),
        cmocka_unit_test(test_origin_and_host),
        cmocka_unit_test(test_methods_and_paths),
        cmocka_unit_test(test_notifications_get_202),
        cmocka_unit_test(test_protocol_version_header),
        cmocka_unit_test(test_parse_and_invalid),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_tools_call),
        cmocka_unit_test(test_progress_streams_sse),
        cmocka_unit_test(test_get_stream_and_broadcast),
        cmocka_unit_test(test_resources_prompts_completion),
        cmocka_unit_test(test_modern_stateless),
        cmocka_unit_test(test_modern_param_headers),
        cmocka_unit_test(test_required_capability),
        cmocka_unit_test(test_cancellation),
        cmocka_unit_test(test_registration_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
