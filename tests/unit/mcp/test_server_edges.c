/* Edge cases of the MCP server core's transport rules beside test_server.c, driven through
 * wdn_mcp_server_handle (tests/unit/support/mcpreq.c, no sockets): Accept and Content-Type,
 * Host and Origin (DNS rebinding), the endpoint path, MCP-Protocol-Version, the session rules of
 * the initialize era, the 2026-07-28 headers that must mirror the body (Mcp-Method, Mcp-Name,
 * _meta, Mcp-Param-* from x-mcp-header) and what registration refuses. Each refusal is checked
 * with its HTTP status, JSON-RPC code and message. */
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

#define ACCEPT "Accept: application/json, text/event-stream"
#define CTYPE "Content-Type: application/json"
#define PV_LEGACY "MCP-Protocol-Version: 2025-06-18"
#define PV_MODERN "MCP-Protocol-Version: 2026-07-28"
#define PV_LEGACY_1125 "MCP-Protocol-Version: 2025-11-25"

static const char *const list_body = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}";

static int t_echo(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    char *s = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = wdn_mcp_call_text(call, s != NULL ? s : "?");

    free(s);
    return rc;
}

static const char *const geo_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
    "\"count\":{\"type\":\"integer\",\"x-mcp-header\":\"Count\"},"
    "\"flag\":{\"type\":\"boolean\",\"x-mcp-header\":\"Flag\"},"
    "\"where\":{\"type\":\"object\",\"properties\":{"
    "\"zone\":{\"type\":\"string\",\"x-mcp-header\":\"Zone\"}}}}}";

static struct wdn_mcp_server *server_with(const char *const *hosts, const char *const *origins,
                                          bool stateless, const char *path)
{
    struct wdn_mcp_server_config cfg = {.name = "edges", .version = "1.0"};
    struct wdn_mcp_tool geo = {.name = "geo", .input_schema = geo_schema, .fn = t_echo};
    struct wdn_mcp_server *srv;

    cfg.allowed_hosts = hosts;
    cfg.allowed_origins = origins;
    cfg.stateless = stateless;
    cfg.path = path;
    srv = wdn_mcp_server_new(&cfg);
    assert_non_null(srv);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &geo), 0);
    return srv;
}

static struct wdn_mcp_server *server(void)
{
    return server_with(NULL, NULL, true, "/mcp");
}

/* A stateless tools/list with one more header line (NULL: none); the HTTP status. */
static int list_with(struct wdn_mcp_server *srv, const char *extra, const char *extra2,
                     struct mr_answer *a)
{
    const char *lines[] = {ACCEPT, CTYPE, PV_LEGACY, extra, extra2, NULL};

    mr_post(srv, lines, list_body, a);
    return a->status;
}

static int list_status(struct wdn_mcp_server *srv, const char *extra, const char *extra2)
{
    struct mr_answer a;
    int st = list_with(srv, extra, extra2, &a);

    assert_int_equal(a.rc, 0);
    mr_free(&a);
    return st;
}

/* Asserts the answer: HTTP status, JSON-RPC error code and message. */
static void refused_as(struct mr_answer *a, int status, long code, const char *msg)
{
    if (a->status != status || mr_error_code(a) != code ||
        (msg != NULL && (mr_error_message(a) == NULL || strcmp(mr_error_message(a), msg) != 0)))
        fail_msg("expected %d %ld \"%s\", got %d: %s", status, code, msg ? msg : "", a->status,
                 a->body);
    mr_free(a);
}

/* ---- Accept, Content-Type, size ----------------------------------------------------------- */

static void accept_header(void **state)
{
    static const struct {
        const char *accept;
        int status;
    } cases[] = {
        {"Accept: */*", 200},
        {"Accept: application/*, text/*", 200},
        {"Accept: APPLICATION/JSON, Text/Event-Stream", 200},
        {"Accept: application/json;q=0.5, text/event-stream;q=1", 200},
        {"Accept: application/json ; q = 0.01 , text/event-stream", 200},
        {"Accept: application/json;q=0, text/event-stream", 406},
        {"Accept: application/json;q=0.0, text/event-stream", 406},
        {"Accept: application/json;q=0.000, text/event-stream", 406},
        {"Accept: application/json ; q = 0 , text/event-stream", 406},
        {"Accept: application/json, text/event-stream;level=1;q=0", 406},
        {"Accept: application/json", 406},
        {"Accept: text/event-stream", 406},
        {"Accept: application, text/event-stream", 406},
        {"Accept: */json, text/event-stream", 406},
        {"Accept: application/jsonx, text/event-stream", 406},
        {"Accept: ", 406},
    };
    struct wdn_mcp_server *srv = server();
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *lines[] = {cases[i].accept, CTYPE, PV_LEGACY, NULL};
        struct mr_answer a;

        mr_post(srv, lines, list_body, &a);
        if (a.status != cases[i].status)
            fail_msg("%s: expected %d, got %d", cases[i].accept, cases[i].status, a.status);
        if (a.status == 406)
            refused_as(&a, 406, WDN_MCP_ERR_TRANSPORT,
                       "Not Acceptable: Client must accept both application/json and "
                       "text/event-stream");
        else
            mr_free(&a);
    }
    wdn_mcp_server_free(srv);
}

static void content_type_and_size(void **state)
{
    struct wdn_mcp_server *srv = server();
    const char *const plain[] = {ACCEPT, "Content-Type: text/plain", PV_LEGACY, NULL};
    const char *const twice[] = {ACCEPT, CTYPE, CTYPE, PV_LEGACY, NULL};
    const char *const none[] = {ACCEPT, PV_LEGACY, NULL};
    const char *const charset[] = {ACCEPT, "Content-Type: Application/JSON ; charset=utf-8",
                                   PV_LEGACY, NULL};
    const char *const ok[] = {ACCEPT, CTYPE, PV_LEGACY, NULL};
    const char *msg = "Unsupported Media Type: Content-Type must be application/json";
    size_t big_len = WDN_JSONRPC_MAX_BYTES + 1;
    char *big = malloc(big_len);
    struct mr_answer a;

    mr_post(srv, plain, list_body, &a);
    refused_as(&a, 415, WDN_MCP_ERR_TRANSPORT, msg);
    mr_post(srv, twice, list_body, &a);
    refused_as(&a, 415, WDN_MCP_ERR_TRANSPORT, msg);
    mr_post(srv, none, list_body, &a);
    refused_as(&a, 415, WDN_MCP_ERR_TRANSPORT, msg);
    mr_post(srv, charset, list_body, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(json_object_get(a.msg, "result"));
    mr_free(&a);
    /* One byte over the message limit: refused before it is parsed. */
    assert_non_null(big);
    memset(big, ' ', big_len);
    mr_send(srv, "POST", "/mcp", ok, big, big_len, &a);
    refused_as(&a, 413, WDN_MCP_ERR_TRANSPORT, "Payload Too Large");
    free(big);
    wdn_mcp_server_free(srv);
}

/* ---- Host and Origin ------------------------------------------------------------------------ */

static void host_header(void **state)
{
    static const struct {
        const char *host;
        int status;
    } cases[] = {
        {"Host: localhost", 200},
        {"Host: LOCALHOST:8080", 200},
        {"Host: 127.0.0.1:1", 200},
        {"Host: [::1]:65535", 200},
        {"Host: [::1]", 200},
        {"Host: [::1", 403},            /* no closing bracket */
        {"Host: [::1]x", 403},          /* junk after the address */
        {"Host: localhost:", 403},      /* an empty port */
        {"Host: localhost:65536", 403}, /* out of range */
        {"Host: localhost:80x", 403},
        {"Host: :80", 403}, /* no host at all */
        {"Host: ", 403},
        {"Host: evil.example", 403},
        {"Host: localhost.evil.example", 403},
        {"Host: 127.0.0.2", 403},
    };
    struct wdn_mcp_server *srv = server();
    struct mr_answer a;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        list_with(srv, cases[i].host, NULL, &a);
        if (a.status != cases[i].status)
            fail_msg("%s: expected %d, got %d", cases[i].host, cases[i].status, a.status);
        if (a.status == 403)
            refused_as(&a, 403, WDN_MCP_ERR_TRANSPORT, "Forbidden: Host not allowed");
        else
            mr_free(&a);
    }
    /* Two Host headers: which one would a proxy have checked? */
    list_with(srv, "Host: localhost", "Host: evil.example", &a);
    refused_as(&a, 403, WDN_MCP_ERR_TRANSPORT, "Forbidden: Host not allowed");
    list_with(srv, "Host: localhost", "Host: localhost", &a);
    refused_as(&a, 403, WDN_MCP_ERR_TRANSPORT, "Forbidden: Host not allowed");
    wdn_mcp_server_free(srv);
}

static void host_lists(void **state)
{
    const char *const named[] = {"mcp.example.com", "other.example", NULL};
    const char *const any[] = {"*", NULL};
    struct wdn_mcp_server *srv = server_with(named, NULL, true, "/mcp");

    /* A configured list replaces the loopback names. */
    assert_int_equal(list_status(srv, "Host: mcp.example.com:443", NULL), 200);
    assert_int_equal(list_status(srv, "Host: OTHER.example", NULL), 200);
    assert_int_equal(list_status(srv, "Host: localhost", NULL), 403);
    /* Origins follow the list when no origin list is set. */
    assert_int_equal(list_status(srv, "Origin: https://mcp.example.com", NULL), 200);
    assert_int_equal(list_status(srv, "Origin: http://localhost:3000", NULL), 403);
    wdn_mcp_server_free(srv);

    /* "*": any Host (a proxy checked it), but a browser Origin must still be a loopback one. */
    srv = server_with(any, NULL, true, "/mcp");
    assert_int_equal(list_status(srv, "Host: anything.example:8443", NULL), 200);
    assert_int_equal(list_status(srv, "Origin: http://anything.example", NULL), 403);
    assert_int_equal(list_status(srv, "Origin: http://localhost:5173", NULL), 200);
    wdn_mcp_server_free(srv);
}

static void origin_header(void **state)
{
    static const struct {
        const char *origin;
        int status;
    } cases[] = {
        {"Origin: http://localhost:3000", 200},
        {"Origin: https://127.0.0.1", 200},
        {"Origin: http://[::1]:8080", 200},
        {"Origin: null", 403},
        {"Origin: file://localhost", 403},
        {"Origin: ws://localhost", 403},
        {"Origin: http://evil.example", 403},
        {"Origin: https://localhost.evil.example", 403},
        {"Origin: http://[::1", 403},
        {"Origin: http://localhost:x", 403},
        {"Origin: http://localhost:99999", 403},
        {"Origin: http://", 403},
    };
    const char *const exact[] = {"https://app.example.com", NULL};
    struct wdn_mcp_server *srv = server();
    struct mr_answer a;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        list_with(srv, cases[i].origin, NULL, &a);
        if (a.status != cases[i].status)
            fail_msg("%s: expected %d, got %d", cases[i].origin, cases[i].status, a.status);
        if (a.status == 403)
            refused_as(&a, 403, WDN_MCP_ERR_TRANSPORT, "Forbidden: Origin not allowed");
        else
            mr_free(&a);
    }
    list_with(srv, "Origin: http://localhost", "Origin: http://localhost", &a);
    refused_as(&a, 403, WDN_MCP_ERR_TRANSPORT, "Forbidden: Origin not allowed");
    wdn_mcp_server_free(srv);

    /* An origin list: exact values (case aside), nothing else, not even loopback. */
    srv = server_with(NULL, exact, true, "/mcp");
    assert_int_equal(list_status(srv, "Origin: HTTPS://APP.EXAMPLE.COM", NULL), 200);
    assert_int_equal(list_status(srv, "Origin: https://app.example.com:443", NULL), 403);
    assert_int_equal(list_status(srv, "Origin: http://app.example.com", NULL), 403);
    assert_int_equal(list_status(srv, "Origin: http://localhost", NULL), 403);
    wdn_mcp_server_free(srv);
}

/* ---- path, method, protocol version --------------------------------------------------------- */

static void endpoint_path(void **state)
{
    const char *const lines[] = {ACCEPT, CTYPE, PV_LEGACY, NULL};
    static const struct {
        const char *target;
        int status;
    } cases[] = {
        {"/mcp", 200}, {"/mcp?x=1", 200}, {"/mcp#frag", 200}, {"/mcpx", 404},
        {"/mc", 404},  {"/", 404},        {"/MCP", 404},      {"/mcp/", 404},
    };
    struct wdn_mcp_server *srv = server();
    struct mr_answer a;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mr_send(srv, "POST", cases[i].target, lines, list_body, strlen(list_body), &a);
        if (a.status != cases[i].status)
            fail_msg("%s: expected %d, got %d", cases[i].target, cases[i].status, a.status);
        mr_free(&a);
    }
    wdn_mcp_server_free(srv);
    /* No path configured: every path is the endpoint. */
    srv = server_with(NULL, NULL, true, NULL);
    mr_send(srv, "POST", "/anything/else", lines, list_body, strlen(list_body), &a);
    assert_int_equal(a.status, 200);
    mr_free(&a);
    wdn_mcp_server_free(srv);
}

static void methods_not_allowed(void **state)
{
    const char *const legacy[] = {ACCEPT, CTYPE, PV_LEGACY, NULL};
    const char *const modern[] = {ACCEPT, CTYPE, PV_MODERN, NULL};
    struct wdn_mcp_server *stateless = server();
    struct wdn_mcp_server *sessions = server_with(NULL, NULL, false, "/mcp");
    struct mr_answer a;

    mr_send(sessions, "PUT", "/mcp", legacy, NULL, 0, &a);
    assert_int_equal(a.status, 405);
    assert_string_equal(mr_header(&a, "Allow"), "GET, POST, DELETE");
    mr_free(&a);
    mr_send(stateless, "PUT", "/mcp", legacy, NULL, 0, &a);
    assert_int_equal(a.status, 405);
    assert_string_equal(mr_header(&a, "Allow"), "POST");
    mr_free(&a);
    /* 2026-07-28 has no GET stream and no DELETE. */
    mr_send(sessions, "PATCH", "/mcp", modern, NULL, 0, &a);
    assert_int_equal(a.status, 405);
    assert_string_equal(mr_header(&a, "Allow"), "POST");
    mr_free(&a);
    mr_send(sessions, "GET", "/mcp", modern, NULL, 0, &a);
    assert_int_equal(a.status, 405);
    mr_free(&a);
    mr_send(sessions, "DELETE", "/mcp", modern, NULL, 0, &a);
    assert_int_equal(a.status, 405);
    mr_free(&a);
    mr_send(stateless, "GET", "/mcp", legacy, NULL, 0, &a);
    assert_int_equal(a.status, 405);
    assert_string_equal(mr_header(&a, "Allow"), "POST");
    mr_free(&a);
    mr_send(stateless, "DELETE", "/mcp", legacy, NULL, 0, &a);
    assert_int_equal(a.status, 405);
    mr_free(&a);
    wdn_mcp_server_free(stateless);
    wdn_mcp_server_free(sessions);
}

static void protocol_version_header(void **state)
{
    struct wdn_mcp_server *srv = server();
    char longv[160];
    const char *const bad[] = {ACCEPT, CTYPE, "MCP-Protocol-Version: 1999-01-01", NULL};
    const char *const twice[] = {ACCEPT, CTYPE, PV_LEGACY, PV_LEGACY, NULL};
    const char *const toolong[] = {ACCEPT, CTYPE, longv, NULL};
    const char *msg = "Unsupported protocol version";
    json_t *data, *sup;
    struct mr_answer a;

    mr_post(srv, bad, list_body, &a);
    assert_int_equal(a.status, 400);
    assert_int_equal(mr_error_code(&a), WDN_MCP_ERR_UNSUPPORTED_VERSION);
    assert_int_equal(json_integer_value(json_object_get(a.msg, "id")), 7); /* from the body */
    data = json_object_get(json_object_get(a.msg, "error"), "data");
    assert_string_equal(json_string_value(json_object_get(data, "requested")), "1999-01-01");
    sup = json_object_get(data, "supported");
    assert_int_equal(json_array_size(sup), 4);
    assert_string_equal(json_string_value(json_array_get(sup, 0)), WDN_MCP_V2026_07_28);
    mr_free(&a);
    /* A string id is named too; an id of another type, or a body that is no JSON, is not. */
    mr_post(srv, bad, "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"tools/list\"}", &a);
    assert_string_equal(json_string_value(json_object_get(a.msg, "id")), "abc");
    refused_as(&a, 400, WDN_MCP_ERR_UNSUPPORTED_VERSION, msg);
    mr_post(srv, bad, "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"tools/list\"}", &a);
    assert_true(json_is_null(json_object_get(a.msg, "id")));
    refused_as(&a, 400, WDN_MCP_ERR_UNSUPPORTED_VERSION, msg);
    mr_post(srv, bad, "not json", &a);
    assert_true(json_is_null(json_object_get(a.msg, "id")));
    refused_as(&a, 400, WDN_MCP_ERR_UNSUPPORTED_VERSION, msg);
    mr_post(srv, bad, NULL, &a);
    refused_as(&a, 400, WDN_MCP_ERR_UNSUPPORTED_VERSION, msg);
    /* Two headers: no version is chosen. */
    mr_post(srv, twice, list_body, &a);
    refused_as(&a, 400, WDN_MCP_ERR_UNSUPPORTED_VERSION, msg);
    /* A long value is refused, and echoed back at most 64 bytes long. */
    snprintf(longv, sizeof(longv), "MCP-Protocol-Version: %0100d", 7);
    mr_post(srv, toolong, list_body, &a);
    data = json_object_get(json_object_get(a.msg, "error"), "data");
    assert_int_equal(strlen(json_string_value(json_object_get(data, "requested"))), 64);
    refused_as(&a, 400, WDN_MCP_ERR_UNSUPPORTED_VERSION, msg);
    wdn_mcp_server_free(srv);
}

/* ---- sessions of the initialize era ---------------------------------------------------------- */

static void session_rules(void **state)
{
    struct wdn_mcp_server *srv = server_with(NULL, NULL, false, "/mcp");
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"2025-03-26\",\"capabilities\":{},"
                       "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
    const char *const plain[] = {ACCEPT, CTYPE, NULL};
    char sid_line[160];
    const char *const with_sid[] = {ACCEPT, CTYPE, sid_line, NULL};
    const char *const two_sids[] = {ACCEPT, CTYPE, sid_line, sid_line, NULL};
    const char *const unknown[] = {ACCEPT, CTYPE, "Mcp-Session-Id: nope", NULL};
    const char *const get_no_accept[] = {sid_line, NULL};
    const char *const get_two[] = {"Accept: text/event-stream", sid_line, sid_line, NULL};
    const char *const get_unknown[] = {"Accept: text/event-stream", "Mcp-Session-Id: nope", NULL};
    char batch[8192], *p = batch;
    struct mr_answer a;
    int i;

    mr_post(srv, plain, init, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(mr_header(&a, "Mcp-Session-Id"));
    snprintf(sid_line, sizeof(sid_line), "Mcp-Session-Id: %s", mr_header(&a, "Mcp-Session-Id"));
    mr_free(&a);

    /* initialize inside a session, a second session id, an unknown one, none at all. */
    mr_post(srv, with_sid, init, &a);
    refused_as(&a, 400, WDN_JSONRPC_INVALID_REQUEST,
               "Invalid Request: session already initialized");
    mr_post(srv, two_sids, list_body, &a);
    refused_as(&a, 400, WDN_MCP_ERR_TRANSPORT, "Bad Request: duplicate Mcp-Session-Id");
    mr_post(srv, unknown, list_body, &a);
    refused_as(&a, 404, WDN_MCP_ERR_SESSION_NOT_FOUND, "Session not found");
    mr_post(srv, plain, list_body, &a);
    refused_as(&a, 400, WDN_MCP_ERR_TRANSPORT, "Bad Request: Mcp-Session-Id header is required");

    /* Batches (2025-03-26 only): initialize may not be in one; empty and oversized ones. */
    mr_post(srv, with_sid,
            "[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{}},"
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}]",
            &a);
    assert_int_equal(a.status, 200);
    assert_true(json_is_array(a.msg));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_array_get(a.msg, 0), "error"), "code")),
                     WDN_JSONRPC_INVALID_REQUEST);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(a.msg, 0), "error"), "message")),
                        "Invalid Request: initialize must be sent alone");
    assert_non_null(json_object_get(json_array_get(a.msg, 1), "result"));
    mr_free(&a);
    mr_post(srv, with_sid, "[]", &a);
    refused_as(&a, 400, WDN_JSONRPC_INVALID_REQUEST, "Invalid Request: empty batch");
    p += sprintf(p, "[");
    for (i = 0; i <= WDN_MCP_MAX_BATCH; i++)
        p += sprintf(p, "%s{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}", i ? "," : "");
    sprintf(p, "]");
    mr_post(srv, with_sid, batch, &a);
    refused_as(&a, 400, WDN_JSONRPC_INVALID_REQUEST, "Invalid Request: batch not supported");
    /* A batch of notifications only: accepted, nothing to answer. */
    mr_post(srv, with_sid, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}]", &a);
    assert_int_equal(a.status, 202);
    mr_free(&a);

    /* GET: Accept must admit SSE, one session id, a known one. */
    mr_send(srv, "GET", "/mcp", get_no_accept, NULL, 0, &a);
    refused_as(&a, 406, WDN_MCP_ERR_TRANSPORT,
               "Not Acceptable: Client must accept text/event-stream");
    mr_send(srv, "GET", "/mcp", get_two, NULL, 0, &a);
    refused_as(&a, 400, WDN_MCP_ERR_TRANSPORT, "Bad Request: Mcp-Session-Id header is required");
    mr_send(srv, "GET", "/mcp", get_unknown, NULL, 0, &a);
    refused_as(&a, 404, WDN_MCP_ERR_SESSION_NOT_FOUND, "Session not found");

    /* DELETE: one session id; a second DELETE finds nothing. */
    mr_send(srv, "DELETE", "/mcp", two_sids, NULL, 0, &a);
    refused_as(&a, 400, WDN_MCP_ERR_TRANSPORT, "Bad Request: Mcp-Session-Id header is required");
    mr_send(srv, "DELETE", "/mcp", with_sid, NULL, 0, &a);
    assert_int_equal(a.status, 200);
    mr_free(&a);
    mr_send(srv, "DELETE", "/mcp", with_sid, NULL, 0, &a);
    refused_as(&a, 404, WDN_MCP_ERR_SESSION_NOT_FOUND, "Session not found");
    assert_int_equal(wdn_mcp_server_session_count(srv), 0);
    wdn_mcp_server_free(srv);
}

/* A batch in a session of a version without batches. */
static void batch_in_later_version(void **state)
{
    struct wdn_mcp_server *srv = server_with(NULL, NULL, false, "/mcp");
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                       "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
    const char *const plain[] = {ACCEPT, CTYPE, NULL};
    char sid_line[160];
    const char *const with_sid[] = {ACCEPT, CTYPE, sid_line, NULL};
    struct mr_answer a;

    mr_post(srv, plain, init, &a);
    assert_int_equal(a.status, 200);
    snprintf(sid_line, sizeof(sid_line), "Mcp-Session-Id: %s", mr_header(&a, "Mcp-Session-Id"));
    mr_free(&a);
    mr_post(srv, with_sid, "[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}]", &a);
    refused_as(&a, 400, WDN_JSONRPC_INVALID_REQUEST,
               "Invalid Request: batch not supported in this protocol version");
    wdn_mcp_server_free(srv);
}

/* ---- 2026-07-28: the headers mirror the body ------------------------------------------------- */

/* A 2026-07-28 POST: method and params text (with _meta unless meta is false), the headers
 * given (Mcp-Method etc.; NULL-terminated, at most 8). */
static void modern_post(struct wdn_mcp_server *srv, const char *method, const char *params,
                        const char *const *extra, struct mr_answer *a)
{
    const char *lines[16] = {ACCEPT, CTYPE, PV_MODERN};
    char body[2048];
    size_t n = 3;

    for (; extra != NULL && *extra != NULL && n < 15; extra++)
        lines[n++] = *extra;
    lines[n] = NULL;
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"%s\",\"params\":%s}",
             method, params);
    mr_post(srv, lines, body, a);
}

#define META                                                                                       \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":{}}"

static void modern_method_and_name(void **state)
{
    struct wdn_mcp_server *srv = server();
    const char *mm = "Header mismatch: Mcp-Method header is required";
    struct mr_answer a;

    /* Mcp-Method: required, once, equal to the body's method. */
    modern_post(srv, "tools/list", "{" META "}", NULL, &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH, mm);
    modern_post(srv, "tools/list", "{" META "}",
                (const char *[]){"Mcp-Method: tools/list", "Mcp-Method: tools/list", NULL}, &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH, mm);
    modern_post(srv, "tools/list", "{" META "}", (const char *[]){"Mcp-Method: tools/call", NULL},
                &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH,
               "Header mismatch: Mcp-Method does not match the body method");
    modern_post(srv, "tools/list", "{" META "}", (const char *[]){"Mcp-Method: tools/list", NULL},
                &a);
    assert_int_equal(a.status, 200);
    assert_non_null(json_object_get(a.msg, "result"));
    mr_free(&a);

    /* Mcp-Name carries the tool or prompt name, the resource URI, the task id. */
    modern_post(srv, "tools/call", "{\"name\":\"geo\",\"arguments\":{}," META "}",
                (const char *[]){"Mcp-Method: tools/call", NULL}, &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH,
               "Header mismatch: Mcp-Name header is required");
    modern_post(srv, "tools/call", "{\"name\":\"geo\",\"arguments\":{}," META "}",
                (const char *[]){"Mcp-Method: tools/call", "Mcp-Name: geo", "Mcp-Name: geo", NULL},
                &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH,
               "Header mismatch: Mcp-Name header is required");
    modern_post(srv, "tools/call", "{\"name\":\"geo\",\"arguments\":{}," META "}",
                (const char *[]){"Mcp-Method: tools/call", "Mcp-Name: other", NULL}, &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH,
               "Header mismatch: Mcp-Name does not match the body");
    modern_post(srv, "prompts/get", "{\"name\":\"p\"," META "}",
                (const char *[]){"Mcp-Method: prompts/get", "Mcp-Name: q", NULL}, &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH,
               "Header mismatch: Mcp-Name does not match the body");
    modern_post(srv, "resources/read", "{\"uri\":\"file:///a\"," META "}",
                (const char *[]){"Mcp-Method: resources/read", "Mcp-Name: file:///b", NULL}, &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH,
               "Header mismatch: Mcp-Name does not match the body");
    modern_post(srv, "tasks/get", "{\"taskId\":\"t1\"," META "}",
                (const char *[]){"Mcp-Method: tasks/get", NULL}, &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH,
               "Header mismatch: Mcp-Name header is required");
    modern_post(srv, "tasks/cancel", "{\"taskId\":\"t1\"," META "}",
                (const char *[]){"Mcp-Method: tasks/cancel", "Mcp-Name: t2", NULL}, &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH,
               "Header mismatch: Mcp-Name does not match the body");
    modern_post(srv, "tasks/update", "{\"taskId\":\"t1\"," META "}",
                (const char *[]){"Mcp-Method: tasks/update", "Mcp-Name: t2", NULL}, &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH,
               "Header mismatch: Mcp-Name does not match the body");
    wdn_mcp_server_free(srv);
}

static void modern_meta(void **state)
{
    struct wdn_mcp_server *srv = server();
    const char *const mm[] = {"Mcp-Method: tools/list", NULL};
    const char *need = "Invalid params: _meta must carry io.modelcontextprotocol/protocolVersion "
                       "and io.modelcontextprotocol/clientCapabilities";
    struct mr_answer a;

    modern_post(srv, "tools/list", "{}", mm, &a);
    refused_as(&a, 400, WDN_JSONRPC_INVALID_PARAMS, need);
    modern_post(srv, "tools/list", "{\"_meta\":[]}", mm, &a);
    refused_as(&a, 400, WDN_JSONRPC_INVALID_PARAMS, need);
    modern_post(srv, "tools/list",
                "{\"_meta\":{\"io.modelcontextprotocol/clientCapabilities\":{}}}", mm, &a);
    refused_as(&a, 400, WDN_JSONRPC_INVALID_PARAMS, need);
    modern_post(srv, "tools/list",
                "{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
                "\"io.modelcontextprotocol/clientCapabilities\":true}}",
                mm, &a);
    refused_as(&a, 400, WDN_JSONRPC_INVALID_PARAMS, need);
    modern_post(srv, "tools/list",
                "{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2025-11-25\","
                "\"io.modelcontextprotocol/clientCapabilities\":{}}}",
                mm, &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH,
               "Header mismatch: MCP-Protocol-Version does not match _meta protocolVersion");
    /* A log level travels in _meta; a known one is taken, an unknown one ignored. */
    modern_post(srv, "tools/list",
                "{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
                "\"io.modelcontextprotocol/clientCapabilities\":{},"
                "\"io.modelcontextprotocol/logLevel\":\"warning\"}}",
                mm, &a);
    assert_int_equal(a.status, 200);
    mr_free(&a);
    modern_post(srv, "tools/list",
                "{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
                "\"io.modelcontextprotocol/clientCapabilities\":{},"
                "\"io.modelcontextprotocol/logLevel\":\"loud\"}}",
                mm, &a);
    assert_int_equal(a.status, 200);
    mr_free(&a);
    wdn_mcp_server_free(srv);
}

static void modern_body_shapes(void **state)
{
    struct wdn_mcp_server *srv = server();
    const char *const lines[] = {ACCEPT, CTYPE, PV_MODERN, "Mcp-Method: tools/list", NULL};
    const char *const note[] = {ACCEPT, CTYPE, PV_MODERN, "Mcp-Method: notifications/x", NULL};
    struct mr_answer a;

    /* No batches, no responses from the client. */
    mr_post(srv, lines, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}]", &a);
    refused_as(&a, 400, WDN_JSONRPC_INVALID_REQUEST, "Invalid Request: batch not supported");
    mr_post(srv, lines, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", &a);
    refused_as(&a, 400, WDN_JSONRPC_INVALID_REQUEST,
               "Invalid Request: clients do not send responses in this version");
    mr_post(srv, lines, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"message\":\"m\"}}",
            &a);
    refused_as(&a, 400, WDN_JSONRPC_INVALID_REQUEST,
               "Invalid Request: clients do not send responses in this version");
    /* A notification needs its Mcp-Method, not _meta; it is accepted with nothing to say. */
    mr_post(srv, note, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}", &a);
    assert_int_equal(a.status, 202);
    mr_free(&a);
    mr_post(srv, lines, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}", &a);
    refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH,
               "Header mismatch: Mcp-Method does not match the body method");
    wdn_mcp_server_free(srv);
}

/* x-mcp-header: an argument present in the body must arrive as Mcp-Param-<Name> too. */
static void param_headers(void **state)
{
    static const struct {
        const char *args;
        const char *h1, *h2;
        const char *error; /* NULL: accepted */
    } cases[] = {
        {"{\"region\":\"eu\"}", "Mcp-Param-Region: eu", NULL, NULL},
        {"{\"region\":\"eu\"}", "mcp-param-region:  eu ", NULL, NULL},
        {"{\"region\":\"eu\"}", NULL, NULL, "Header mismatch: Mcp-Param-Region header is required"},
        {"{\"region\":\"eu\"}", "Mcp-Param-Region: eu", "Mcp-Param-Region: eu",
         "Header mismatch: Mcp-Param-Region header is required"},
        {"{\"region\":\"eu\"}", "Mcp-Param-Region: us", NULL,
         "Header mismatch: Mcp-Param-Region does not match the body"},
        {"{\"region\":\"eu\"}", "Mcp-Param-Region: eu2", NULL,
         "Header mismatch: Mcp-Param-Region does not match the body"},
        /* base64 for values a header cannot carry literally */
        {"{\"region\":\"eu\"}", "Mcp-Param-Region: =?base64?ZXU=?=", NULL, NULL},
        {"{\"region\":\"\xc3\xa9t\xc3\xa9\"}", "Mcp-Param-Region: =?base64?w6l0w6k=?=", NULL, NULL},
        {"{\"region\":\"eu\"}", "Mcp-Param-Region: =?base64?dXM=?=", NULL,
         "Header mismatch: Mcp-Param-Region does not match the body"},
        {"{\"region\":\"eu\"}", "Mcp-Param-Region: =?base64?!!!?=", NULL,
         "Header mismatch: Mcp-Param-Region is not valid base64"},
        {"{\"region\":\"=?base64?\"}", "Mcp-Param-Region: =?base64?", NULL, NULL}, /* too short */
        /* numbers compare as numbers */
        {"{\"count\":42}", "Mcp-Param-Count: 42", NULL, NULL},
        {"{\"count\":42}", "Mcp-Param-Count: 42.0", NULL, NULL},
        {"{\"count\":42}", "Mcp-Param-Count: 4.2e1", NULL, NULL},
        {"{\"count\":42}", "Mcp-Param-Count: 43", NULL,
         "Header mismatch: Mcp-Param-Count does not match the body"},
        {"{\"count\":42}", "Mcp-Param-Count: 42x", NULL,
         "Header mismatch: Mcp-Param-Count does not match the body"},
        {"{\"count\":42}", "Mcp-Param-Count: ", NULL,
         "Header mismatch: Mcp-Param-Count does not match the body"},
        {"{\"count\":42}",
         "Mcp-Param-Count: 42.000000000000000000000000000000000000000000000000000000000000000000",
         NULL, "Header mismatch: Mcp-Param-Count does not match the body"},
        /* booleans as true/false */
        {"{\"flag\":true}", "Mcp-Param-Flag: true", NULL, NULL},
        {"{\"flag\":false}", "Mcp-Param-Flag: false", NULL, NULL},
        {"{\"flag\":true}", "Mcp-Param-Flag: false", NULL,
         "Header mismatch: Mcp-Param-Flag does not match the body"},
        {"{\"flag\":true}", "Mcp-Param-Flag: 1", NULL,
         "Header mismatch: Mcp-Param-Flag does not match the body"},
        {"{\"flag\":false}", "Mcp-Param-Flag: fals", NULL,
         "Header mismatch: Mcp-Param-Flag does not match the body"},
        /* a nested property */
        {"{\"where\":{\"zone\":\"z1\"}}", "Mcp-Param-Zone: z1", NULL, NULL},
        {"{\"where\":{\"zone\":\"z1\"}}", NULL, NULL,
         "Header mismatch: Mcp-Param-Zone header is required"},
        {"{\"where\":{}}", NULL, NULL, NULL},
        /* a value of another type than the header's can carry */
        {"{\"region\":{\"a\":1}}", "Mcp-Param-Region: x", NULL,
         "Header mismatch: Mcp-Param-Region does not match the body"},
        {"{\"region\":[1]}", "Mcp-Param-Region: [1]", NULL,
         "Header mismatch: Mcp-Param-Region does not match the body"},
    };
    struct wdn_mcp_server *srv = server();
    char params[512];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *extra[] = {"Mcp-Method: tools/call", "Mcp-Name: geo", cases[i].h1, cases[i].h2,
                               NULL};
        struct mr_answer a;

        if (cases[i].h1 == NULL)
            extra[2] = NULL;
        snprintf(params, sizeof(params), "{\"name\":\"geo\",\"arguments\":%s," META "}",
                 cases[i].args);
        modern_post(srv, "tools/call", params, extra, &a);
        if (cases[i].error == NULL) {
            if (a.status != 200 || json_object_get(a.msg, "result") == NULL)
                fail_msg("case %zu (%s): expected a result, got %d %s", i, cases[i].args, a.status,
                         a.body);
            mr_free(&a);
        } else {
            refused_as(&a, 400, WDN_MCP_ERR_HEADER_MISMATCH, cases[i].error);
        }
    }
    /* A null value needs no header (the schema then judges the value). */
    {
        const char *extra[] = {"Mcp-Method: tools/call", "Mcp-Name: geo", NULL};
        struct mr_answer a;

        modern_post(srv, "tools/call",
                    "{\"name\":\"geo\",\"arguments\":{\"region\":null}," META "}", extra, &a);
        assert_int_not_equal(mr_error_code(&a), WDN_MCP_ERR_HEADER_MISMATCH);
        assert_null(strstr(a.body, "Header mismatch"));
        mr_free(&a);
        /* An unknown tool has no annotations to check: the call itself is refused. */
        extra[1] = "Mcp-Name: nope";
        modern_post(srv, "tools/call", "{\"name\":\"nope\",\"arguments\":{}," META "}", extra, &a);
        assert_null(strstr(a.body, "Header mismatch"));
        assert_true(a.status == 200 || a.status == 400);
        mr_free(&a);
    }
    wdn_mcp_server_free(srv);
}

/* ---- methods: what each refuses ------------------------------------------------------------ */

/* A stateless 2025-06-18 request: method and params text (NULL: none). */
static void rpc(struct wdn_mcp_server *srv, const char *method, const char *params,
                struct mr_answer *a)
{
    const char *const lines[] = {ACCEPT, CTYPE, PV_LEGACY, NULL};
    char body[4096];

    if (params != NULL)
        snprintf(body, sizeof(body),
                 "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"%s\",\"params\":%s}", method, params);
    else
        snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"%s\"}", method);
    mr_post(srv, lines, body, a);
}

static json_t *result(struct mr_answer *a)
{
    if (json_object_get(a->msg, "result") == NULL)
        fail_msg("no result: %s", a->body);
    return json_object_get(a->msg, "result");
}

static int completions_asked;

static int complete_many(const char *ref, const char *arg, const char *value, json_t *values,
                         void *ud)
{
    char v[32];
    int i;

    completions_asked++;
    if (strcmp(value, "fail") == 0)
        return WDN_EIO;
    for (i = 0; i < 150; i++) {
        snprintf(v, sizeof(v), "%s-%s-%d", ref, value, i);
        json_array_append_new(values, json_string(v));
    }
    return 0;
}

static int p_fail(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    return WDN_EIO;
}

static int p_nothing(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    *messages = json_object(); /* not an array */
    return 0;
}

static int p_hello(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    *messages = json_pack("[{s:s, s:{s:s, s:s}}]", "role", "user", "content", "type", "text",
                          "text", json_string_value(json_object_get(args, "who")));
    return 0;
}

static int r_fail(struct wdn_mcp_call *call, const char *uri, json_t *contents, void *ud)
{
    return strstr(uri, "gone") != NULL ? WDN_ENOTFOUND : WDN_EIO;
}

static int t_structured(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    const char *how = json_string_value(json_object_get(args, "how"));

    if (strcmp(how, "none") == 0)
        return wdn_mcp_call_text(call, "no structure");
    if (strcmp(how, "wrong") == 0)
        return wdn_mcp_call_structured(call, json_pack("{s:s}", "n", "not a number"));
    if (strcmp(how, "fail") == 0)
        return WDN_EIO;
    if (strcmp(how, "failmsg") == 0) {
        wdn_mcp_call_fail(call, -32050, "custom failure");
        return 0;
    }
    return wdn_mcp_call_structured(call, json_pack("{s:i}", "n", 4));
}

static struct wdn_mcp_server *methods_server(void)
{
    struct wdn_mcp_server_config cfg = {.name = "m",
                                        .version = "2",
                                        .title = "Methods",
                                        .instructions = "be brief",
                                        .stateless = true,
                                        .page_size = 2};
    struct wdn_mcp_prompt_arg who[] = {{"who", NULL, true}};
    struct wdn_mcp_prompt hello = {
        .name = "hello", .description = "greets", .args = who, .nargs = 1, .get = p_hello};
    struct wdn_mcp_prompt fail = {.name = "fail", .get = p_fail};
    struct wdn_mcp_prompt nothing = {.name = "nothing", .get = p_nothing};
    struct wdn_mcp_resource r = {.uri_template = "test://{id}/x", .name = "r", .read = r_fail};
    struct wdn_mcp_tool st = {
        .name = "st",
        .input_schema = "{\"type\":\"object\",\"properties\":{\"how\":{\"type\":\"string\"}},"
                        "\"required\":[\"how\"]}",
        .output_schema = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},"
                         "\"required\":[\"n\"]}",
        .fn = t_structured};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);
    char name[16];
    int i;

    assert_non_null(srv);
    assert_int_equal(wdn_mcp_server_add_prompt(srv, &hello), 0);
    assert_int_equal(wdn_mcp_server_add_prompt(srv, &fail), 0);
    assert_int_equal(wdn_mcp_server_add_prompt(srv, &nothing), 0);
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &st), 0);
    for (i = 0; i < 4; i++) {
        struct wdn_mcp_tool t = {.name = name, .fn = t_echo};
        snprintf(name, sizeof(name), "t%d", i);
        assert_int_equal(wdn_mcp_server_add_tool(srv, &t), 0);
    }
    wdn_mcp_server_set_completer(srv, complete_many, NULL);
    return srv;
}

#define RPC_REFUSED(srv, method, params, code, msg)                                                \
    do {                                                                                           \
        struct mr_answer a_;                                                                       \
        rpc(srv, method, params, &a_);                                                             \
        refused_as(&a_, 200, code, msg);                                                           \
    } while (0)

static void initialize_and_discover(void **state)
{
    struct wdn_mcp_server *srv = methods_server();
    const char *const discover[] = {ACCEPT, CTYPE, PV_MODERN, "Mcp-Method: server/discover", NULL};
    struct mr_answer a;
    json_t *r;

    RPC_REFUSED(srv, "initialize", "{\"capabilities\":{}}", WDN_JSONRPC_INVALID_PARAMS,
                "Invalid params: protocolVersion is required");
    rpc(srv, "initialize", "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{}}", &a);
    r = result(&a);
    assert_string_equal(json_string_value(json_object_get(r, "protocolVersion")), "2025-06-18");
    assert_string_equal(json_string_value(json_object_get(r, "instructions")), "be brief");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r, "serverInfo"), "title")), "Methods");
    assert_non_null(json_object_get(json_object_get(r, "capabilities"), "completions"));
    assert_non_null(json_object_get(json_object_get(r, "capabilities"), "prompts"));
    mr_free(&a);
    /* A version of another era, or an unknown one, gets the newest of the initialize era. */
    rpc(srv, "initialize", "{\"protocolVersion\":\"2026-07-28\",\"capabilities\":{}}", &a);
    assert_string_equal(json_string_value(json_object_get(result(&a), "protocolVersion")),
                        WDN_MCP_LATEST_LEGACY);
    mr_free(&a);
    rpc(srv, "initialize", "{\"protocolVersion\":\"1999-01-01\",\"capabilities\":{}}", &a);
    assert_string_equal(json_string_value(json_object_get(result(&a), "protocolVersion")),
                        WDN_MCP_LATEST_LEGACY);
    mr_free(&a);
    mr_post(srv, discover,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\",\"params\":{" META "}}",
            &a);
    r = result(&a);
    assert_string_equal(json_string_value(json_object_get(r, "instructions")), "be brief");
    assert_int_equal(json_array_size(json_object_get(r, "supportedVersions")), 4);
    mr_free(&a);
    wdn_mcp_server_free(srv);
}

static void pagination(void **state)
{
    struct wdn_mcp_server *srv = methods_server();
    static const char *const bad[] = {
        "{\"cursor\":5}",
        "{\"cursor\":\"!!\"}",
        "{\"cursor\":\"cA\"}",   /* "p" alone */
        "{\"cursor\":\"cDA\"}",  /* "p0" */
        "{\"cursor\":\"cDAx\"}", /* "p01" */
        "{\"cursor\":\"cXg\"}",  /* "px" */
        "{\"cursor\":\"cDF4\"}", /* "p1x" */
        "{\"cursor\":\"cDk\"}",  /* "p9": past the end */
        "{\"cursor\":\"eDE\"}",  /* "x1" */
        "{\"cursor\":\"cDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw"
        "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA\"}",
    };
    char params[128];
    const char *cursor;
    struct mr_answer a;
    json_t *r;
    size_t i, seen = 0;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        RPC_REFUSED(srv, "tools/list", bad[i], WDN_JSONRPC_INVALID_PARAMS,
                    "Invalid params: invalid cursor");
    /* Five tools, two per page, each page's cursor leading to the next. */
    snprintf(params, sizeof(params), "{\"cursor\":null}");
    for (i = 0; i < 5; i++) {
        rpc(srv, "tools/list", params, &a);
        r = result(&a);
        seen += json_array_size(json_object_get(r, "tools"));
        cursor = json_string_value(json_object_get(r, "nextCursor"));
        if (cursor == NULL) {
            mr_free(&a);
            break;
        }
        snprintf(params, sizeof(params), "{\"cursor\":\"%s\"}", cursor);
        mr_free(&a);
    }
    assert_int_equal(i, 2);
    assert_int_equal(seen, 5);
    wdn_mcp_server_free(srv);
}

static void tool_calls(void **state)
{
    struct wdn_mcp_server *srv = methods_server();
    struct mr_answer a;
    json_t *r;

    RPC_REFUSED(srv, "tools/call", "{\"name\":5}", WDN_JSONRPC_INVALID_PARAMS,
                "Invalid params: name must be a string");
    RPC_REFUSED(srv, "tools/call", "{}", WDN_JSONRPC_INVALID_PARAMS,
                "Invalid params: name must be a string");
    RPC_REFUSED(srv, "tools/call", "{\"name\":\"nope\"}", WDN_JSONRPC_INVALID_PARAMS,
                "Unknown tool: nope");
    RPC_REFUSED(srv, "tools/call", "{\"name\":\"t0\",\"arguments\":[1]}",
                WDN_JSONRPC_INVALID_PARAMS, "Invalid params: arguments must be an object");
    /* null arguments are no arguments. */
    rpc(srv, "tools/call", "{\"name\":\"t0\",\"arguments\":null}", &a);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(result(&a), "content"), 0), "text")),
                        "{}");
    mr_free(&a);
    /* Invalid arguments are a tool error the model can read (SEP-1303). */
    rpc(srv, "tools/call", "{\"name\":\"st\",\"arguments\":{}}", &a);
    r = result(&a);
    assert_true(json_is_true(json_object_get(r, "isError")));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r, "content"), 0), "text")),
                        "Invalid arguments for tool st: /: missing required property \"how\"");
    mr_free(&a);
    /* Output schemas: structured content required and checked; echoed as text. */
    RPC_REFUSED(srv, "tools/call", "{\"name\":\"st\",\"arguments\":{\"how\":\"none\"}}",
                WDN_JSONRPC_INTERNAL_ERROR,
                "Tool st has an output schema but returned no structured content");
    RPC_REFUSED(srv, "tools/call", "{\"name\":\"st\",\"arguments\":{\"how\":\"wrong\"}}",
                WDN_JSONRPC_INTERNAL_ERROR,
                "Tool st returned invalid structured content: /n: expected integer, got string");
    rpc(srv, "tools/call", "{\"name\":\"st\",\"arguments\":{\"how\":\"ok\"}}", &a);
    r = result(&a);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "structuredContent"), "n")), 4);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r, "content"), 0), "text")),
                        "{\"n\":4}");
    mr_free(&a);
    /* A failing handler: an isError result naming the failure (no structure needed then). */
    rpc(srv, "tools/call", "{\"name\":\"st\",\"arguments\":{\"how\":\"fail\"}}", &a);
    r = result(&a);
    assert_true(json_is_true(json_object_get(r, "isError")));
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_array_get(json_object_get(r, "content"), 0), "text")),
                           "Tool st failed: "));
    mr_free(&a);
    /* wdn_mcp_call_fail: a JSON-RPC error of the handler's choosing. */
    RPC_REFUSED(srv, "tools/call", "{\"name\":\"st\",\"arguments\":{\"how\":\"failmsg\"}}", -32050,
                "custom failure");
    wdn_mcp_server_free(srv);
}

static void prompts_and_resources(void **state)
{
    struct wdn_mcp_server *srv = methods_server();
    struct mr_answer a;
    json_t *r;

    RPC_REFUSED(srv, "prompts/get", "{\"name\":[]}", WDN_JSONRPC_INVALID_PARAMS,
                "Invalid params: name must be a string");
    RPC_REFUSED(srv, "prompts/get", "{\"name\":\"nope\"}", WDN_JSONRPC_INVALID_PARAMS,
                "Unknown prompt: nope");
    RPC_REFUSED(srv, "prompts/get", "{\"name\":\"hello\",\"arguments\":\"x\"}",
                WDN_JSONRPC_INVALID_PARAMS, "Invalid params: arguments must be an object");
    RPC_REFUSED(srv, "prompts/get", "{\"name\":\"hello\",\"arguments\":{\"who\":1}}",
                WDN_JSONRPC_INVALID_PARAMS, "Invalid params: argument who must be a string");
    RPC_REFUSED(srv, "prompts/get", "{\"name\":\"hello\"}", WDN_JSONRPC_INVALID_PARAMS,
                "Invalid params: missing required argument who");
    RPC_REFUSED(srv, "prompts/get", "{\"name\":\"fail\"}", WDN_JSONRPC_INTERNAL_ERROR,
                "Internal error: input/output error");
    RPC_REFUSED(srv, "prompts/get", "{\"name\":\"nothing\"}", WDN_JSONRPC_INTERNAL_ERROR,
                "Internal error: prompt produced no messages");
    rpc(srv, "prompts/get", "{\"name\":\"hello\",\"arguments\":{\"who\":\"Ada\"}}", &a);
    r = result(&a);
    assert_string_equal(json_string_value(json_object_get(r, "description")), "greets");
    assert_int_equal(json_array_size(json_object_get(r, "messages")), 1);
    mr_free(&a);

    RPC_REFUSED(srv, "resources/read", "{\"uri\":1}", WDN_JSONRPC_INVALID_PARAMS,
                "Invalid params: uri must be a string");
    RPC_REFUSED(srv, "resources/read", "{\"uri\":\"test://a/y\"}", WDN_MCP_ERR_RESOURCE_NOT_FOUND,
                "Resource not found");
    RPC_REFUSED(srv, "resources/read", "{\"uri\":\"test://a/b/x\"}", WDN_MCP_ERR_RESOURCE_NOT_FOUND,
                "Resource not found"); /* {id} is one segment */
    RPC_REFUSED(srv, "resources/read", "{\"uri\":\"test:///x\"}", WDN_MCP_ERR_RESOURCE_NOT_FOUND,
                "Resource not found"); /* {id} is not empty */
    RPC_REFUSED(srv, "resources/read", "{\"uri\":\"test://gone/x\"}",
                WDN_MCP_ERR_RESOURCE_NOT_FOUND, "Resource not found");
    RPC_REFUSED(srv, "resources/read", "{\"uri\":\"test://a/x\"}", WDN_JSONRPC_INTERNAL_ERROR,
                "Internal error: input/output error");
    RPC_REFUSED(srv, "resources/subscribe", "{}", WDN_JSONRPC_INVALID_PARAMS,
                "Invalid params: uri must be a string");
    rpc(srv, "resources/subscribe", "{\"uri\":\"test://a/x\"}", &a);
    assert_int_equal(json_object_size(result(&a)), 0); /* stateless: acknowledged */
    mr_free(&a);
    RPC_REFUSED(srv, "logging/setLevel", "{\"level\":\"loud\"}", WDN_JSONRPC_INVALID_PARAMS,
                "Invalid params: unknown log level");
    RPC_REFUSED(srv, "logging/setLevel", "{}", WDN_JSONRPC_INVALID_PARAMS,
                "Invalid params: unknown log level");
    rpc(srv, "logging/setLevel", "{\"level\":\"error\"}", &a);
    assert_non_null(result(&a));
    mr_free(&a);
    wdn_mcp_server_free(srv);
}

static void completion(void **state)
{
    struct wdn_mcp_server *srv = methods_server();
    const char *need = "Invalid params: ref.type, argument.name and argument.value are required";
    struct mr_answer a;
    json_t *c;

    RPC_REFUSED(srv, "completion/complete", "{}", WDN_JSONRPC_INVALID_PARAMS, need);
    RPC_REFUSED(
        srv, "completion/complete",
        "{\"ref\":{\"type\":\"ref/prompt\",\"name\":\"hello\"},\"argument\":{\"name\":\"who\"}}",
        WDN_JSONRPC_INVALID_PARAMS, need);
    RPC_REFUSED(srv, "completion/complete",
                "{\"ref\":{\"type\":\"ref/tool\",\"name\":\"t0\"},"
                "\"argument\":{\"name\":\"a\",\"value\":\"b\"}}",
                WDN_JSONRPC_INVALID_PARAMS, "Invalid params: bad ref");
    RPC_REFUSED(
        srv, "completion/complete",
        "{\"ref\":{\"type\":\"ref/resource\"},\"argument\":{\"name\":\"a\",\"value\":\"b\"}}",
        WDN_JSONRPC_INVALID_PARAMS, "Invalid params: bad ref");
    RPC_REFUSED(srv, "completion/complete",
                "{\"ref\":{\"type\":\"ref/prompt\",\"name\":\"hello\"},"
                "\"argument\":{\"name\":\"who\",\"value\":\"fail\"}}",
                WDN_JSONRPC_INTERNAL_ERROR, "Internal error: completion failed");
    /* At most 100 values; the total says how many there were. */
    rpc(srv, "completion/complete",
        "{\"ref\":{\"type\":\"ref/resource\",\"uri\":\"test://{id}/x\"},"
        "\"argument\":{\"name\":\"id\",\"value\":\"v\"}}",
        &a);
    c = json_object_get(result(&a), "completion");
    assert_int_equal(json_array_size(json_object_get(c, "values")), 100);
    assert_int_equal(json_integer_value(json_object_get(c, "total")), 150);
    assert_true(json_is_true(json_object_get(c, "hasMore")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "values"), 0)),
                        "test://{id}/x-v-0");
    mr_free(&a);
    wdn_mcp_server_free(srv);
}

/* ---- resumable streams: Last-Event-ID ----------------------------------------------------- */

static void last_event_id(void **state)
{
    struct wdn_mcp_server_config cfg = {
        .name = "r", .version = "1", .resumable = true, .sse_responses = true};
    struct wdn_mcp_tool geo = {.name = "geo", .input_schema = geo_schema, .fn = t_echo};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
                       "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
    const char *const plain[] = {ACCEPT, CTYPE, NULL};
    static const char *const bad[] = {
        "",
        "abc",
        "1",
        "1-",
        "-1",
        "1--2",
        "1-x",
        "1-2-3",
        "+1-1",
        "123456789012345678901-1",                    /* 21 digits */
        "18446744073709551616-1",                     /* 2^64 */
        "1-18446744073709551616",                     /* 2^64 */
        "12345678901234567890-123456789012345678901", /* 42 bytes */
        "99-0",                                       /* no such stream */
    };
    char sid_line[160], last_line[160], stream_id[64];
    const char *const with_sid[] = {ACCEPT, CTYPE, PV_LEGACY_1125, sid_line, NULL};
    const char *const get[] = {"Accept: text/event-stream", sid_line, last_line, NULL};
    const char *const get_two[] = {"Accept: text/event-stream", sid_line, last_line, last_line,
                                   NULL};
    struct mr_answer a;
    const char *idp;
    size_t i;

    assert_non_null(srv);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &geo), 0);
    mr_post(srv, plain, init, &a);
    assert_int_equal(a.status, 200);
    snprintf(sid_line, sizeof(sid_line), "Mcp-Session-Id: %s", mr_header(&a, "Mcp-Session-Id"));
    mr_free(&a);
    /* A call answered on a resumable stream: events carry "<stream>-<seq>" ids. */
    mr_post(srv, with_sid,
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"geo\","
            "\"arguments\":{\"region\":\"eu\"}}}",
            &a);
    assert_int_equal(a.status, 200);
    idp = strstr(a.body, "id: ");
    assert_non_null(idp);
    snprintf(stream_id, sizeof(stream_id), "%.*s", (int)strcspn(idp + 4, "-"), idp + 4);
    mr_free(&a);
    /* Resuming after the priming event replays the answer. */
    snprintf(last_line, sizeof(last_line), "Last-Event-ID: %s-0", stream_id);
    mr_send(srv, "GET", "/mcp", get, NULL, 0, &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "{\\\"region\\\":\\\"eu\\\"}"));
    mr_free(&a);
    /* Twice the header, or an id that names nothing: 400, nothing replayed. */
    mr_send(srv, "GET", "/mcp", get_two, NULL, 0, &a);
    refused_as(&a, 400, WDN_MCP_ERR_TRANSPORT, "Bad Request: duplicate Last-Event-ID");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(last_line, sizeof(last_line), "Last-Event-ID: %s", bad[i]);
        mr_send(srv, "GET", "/mcp", get, NULL, 0, &a);
        if (a.status != 400 ||
            strcmp(mr_error_message(&a), "Bad Request: unknown or expired Last-Event-ID") != 0)
            fail_msg("Last-Event-ID \"%s\": %d %s", bad[i], a.status, a.body);
        mr_free(&a);
    }
    /* A sequence number past what the stream sent. */
    snprintf(last_line, sizeof(last_line), "Last-Event-ID: %s-999", stream_id);
    mr_send(srv, "GET", "/mcp", get, NULL, 0, &a);
    refused_as(&a, 400, WDN_MCP_ERR_TRANSPORT,
               "Bad Request: events after Last-Event-ID are no longer available");
    wdn_mcp_server_free(srv);
}

/* ---- standalone GET streams --------------------------------------------------------------- */

/* A new session of 2025-06-18 on srv: its "Mcp-Session-Id: ..." line into line. */
static void new_session(struct wdn_mcp_server *srv, char *line, size_t cap)
{
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                       "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
    const char *const plain[] = {ACCEPT, CTYPE, NULL};
    struct mr_answer a;

    mr_post(srv, plain, init, &a);
    assert_int_equal(a.status, 200);
    snprintf(line, cap, "Mcp-Session-Id: %s", mr_header(&a, "Mcp-Session-Id"));
    mr_free(&a);
}

static void get_streams(void **state)
{
    struct wdn_mcp_server *srv = server_with(NULL, NULL, false, "/mcp");
    char sid[160], sid2[160];
    const char *const get[] = {"Accept: text/event-stream", sid, NULL};
    const char *const get2[] = {"Accept: text/event-stream", sid2, NULL};
    const char *const post[] = {ACCEPT, CTYPE, PV_LEGACY, sid, NULL};
    struct mr_stream *s1, *s2;
    struct mr_answer a;

    new_session(srv, sid, sizeof(sid));
    s1 = mr_open(srv, get, &a);
    assert_non_null(s1);
    assert_int_equal(a.status, 200);
    assert_string_equal(mr_header(&a, "Content-Type"), "text/event-stream");
    mr_free(&a);
    /* One GET stream per session. */
    assert_null(mr_open(srv, get, &a));
    refused_as(&a, 409, WDN_MCP_ERR_TRANSPORT,
               "Conflict: only one SSE stream is allowed per session");
    /* Notifications reach it: a broadcast, and an update of a subscribed resource only. */
    assert_int_equal(wdn_mcp_server_broadcast(srv, "notifications/tools/list_changed", NULL), 1);
    assert_true(mr_stream_has(s1, "notifications/tools/list_changed"));
    mr_post(srv, post,
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/subscribe\",\"params\":{"
            "\"uri\":\"file:///a\"}}",
            &a);
    assert_int_equal(a.status, 200);
    mr_free(&a);
    assert_int_equal(wdn_mcp_server_resource_updated(srv, "file:///b"), 0);
    assert_int_equal(wdn_mcp_server_resource_updated(srv, "file:///a"), 1);
    assert_true(mr_stream_has(s1, "\"uri\":\"file:///a\""));
    mr_post(srv, post,
            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/unsubscribe\",\"params\":{"
            "\"uri\":\"file:///a\"}}",
            &a);
    mr_free(&a);
    assert_int_equal(wdn_mcp_server_resource_updated(srv, "file:///a"), 0);
    /* Ending the session ends its stream. */
    mr_send(srv, "DELETE", "/mcp", post, NULL, 0, &a);
    assert_int_equal(a.status, 200);
    mr_free(&a);
    assert_true(mr_stream_ended(s1));
    assert_int_equal(wdn_mcp_server_broadcast(srv, "notifications/tools/list_changed", NULL), 0);
    mr_stream_close(srv, s1);
    /* Freeing the server ends the streams still open. */
    new_session(srv, sid2, sizeof(sid2));
    s2 = mr_open(srv, get2, &a);
    assert_non_null(s2);
    mr_free(&a);
    wdn_mcp_server_free(srv);
    assert_true(mr_stream_ended(s2));
    mr_stream_close(NULL, s2);
}

/* ---- the helpers a handler calls ------------------------------------------------------------ */

/* Checks what each helper refuses from inside a handler, then logs and reports progress. */
static int t_helpers(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    char err[64] = "x";
    json_t *res = NULL;

    assert_int_equal(wdn_mcp_call_content(call, NULL), WDN_ENOMEM);
    assert_int_equal(wdn_mcp_call_content(call, json_array()), WDN_EINVAL);
    assert_int_equal(wdn_mcp_call_structured(call, json_string("no")), WDN_EINVAL);
    assert_int_equal(wdn_mcp_call_log(call, (enum wdn_mcp_log_level)99, NULL, json_string("d")),
                     WDN_EINVAL);
    assert_int_equal(wdn_mcp_call_log(call, WDN_MCP_LOG_INFO, NULL, NULL), WDN_EINVAL);
    assert_string_equal(wdn_mcp_call_version(call), "2025-06-18");
    /* A stateless server knows nothing of the client's capabilities: not held against it. */
    assert_int_equal(wdn_mcp_call_require_capability(call, "sampling"), 0);
    /* ... and cannot send it requests (no session to carry them). */
    assert_int_equal(
        wdn_mcp_call_request(call, "roots/list", json_object(), 1000, &res, err, sizeof(err)),
        WDN_ESTATE);
    assert_string_equal(err, "");
    assert_null(res);
    assert_int_equal(wdn_mcp_call_progress(call, 1, 4, "a quarter"), 0);
    assert_int_equal(wdn_mcp_call_progress(call, 2, 0, NULL), 0);
    assert_int_equal(wdn_mcp_call_log(call, WDN_MCP_LOG_WARNING, "edges", json_string("careful")),
                     0);
    return wdn_mcp_call_text(call, "done");
}

static void call_helpers(void **state)
{
    struct wdn_mcp_server *srv = server();
    struct wdn_mcp_tool t = {.name = "helpers", .fn = t_helpers};
    struct mr_answer a;

    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), 0);
    /* With a progress token: the answer becomes a stream of the notifications, then the result. */
    rpc(srv, "tools/call", "{\"name\":\"helpers\",\"_meta\":{\"progressToken\":\"tok\"}}", &a);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "event: message\ndata: "));
    assert_non_null(strstr(a.body, "\"method\":\"notifications/progress\""));
    assert_non_null(strstr(a.body, "\"progressToken\":\"tok\""));
    assert_non_null(strstr(a.body, "\"total\":4"));
    assert_non_null(strstr(a.body, "\"message\":\"a quarter\""));
    assert_non_null(strstr(a.body, "\"method\":\"notifications/message\""));
    assert_non_null(strstr(a.body, "\"logger\":\"edges\""));
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(a.msg, "result"), "content"), 0),
            "text")),
        "done");
    mr_free(&a);
    /* Without one, progress is a no-op; the log still goes out. */
    rpc(srv, "tools/call", "{\"name\":\"helpers\"}", &a);
    assert_null(strstr(a.body, "notifications/progress"));
    mr_free(&a);
    /* A log level set for the stateless server filters what is below it. */
    rpc(srv, "logging/setLevel", "{\"level\":\"error\"}", &a);
    mr_free(&a);
    rpc(srv, "tools/call", "{\"name\":\"helpers\"}", &a);
    assert_null(strstr(a.body, "notifications/message"));
    mr_free(&a);
    wdn_mcp_server_free(srv);
}

/* ---- registration ---------------------------------------------------------------------------- */

static int add_tool(struct wdn_mcp_server *srv, const char *name, const char *in, const char *out,
                    const char *ann)
{
    struct wdn_mcp_tool t = {
        .name = name, .input_schema = in, .output_schema = out, .annotations = ann, .fn = t_echo};

    return wdn_mcp_server_add_tool(srv, &t);
}

static void tool_registration(void **state)
{
    struct wdn_mcp_server_config none = {.version = "1"};
    struct wdn_mcp_server *srv = server();
    struct wdn_mcp_tool t = {.name = "x", .fn = t_echo};
    char name[200];
    char schema[512];
    struct mr_answer a;
    int i;

    assert_null(wdn_mcp_server_new(NULL));
    assert_null(wdn_mcp_server_new(&none));
    assert_int_equal(wdn_mcp_server_add_tool(srv, NULL), WDN_EINVAL);
    t.fn = NULL;
    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), WDN_EINVAL);
    t.fn = t_echo;
    t.task_support = (enum wdn_mcp_task_support)7;
    assert_int_equal(wdn_mcp_server_add_tool(srv, &t), WDN_EINVAL);
    /* Names: 1-128 of [A-Za-z0-9_.-]. */
    assert_int_equal(add_tool(srv, NULL, NULL, NULL, NULL), WDN_EINVAL);
    assert_int_equal(add_tool(srv, "", NULL, NULL, NULL), WDN_EINVAL);
    assert_int_equal(add_tool(srv, "a b", NULL, NULL, NULL), WDN_EINVAL);
    assert_int_equal(add_tool(srv, "a/b", NULL, NULL, NULL), WDN_EINVAL);
    assert_int_equal(add_tool(srv, "caf\xc3\xa9", NULL, NULL, NULL), WDN_EINVAL);
    memset(name, 'n', 129);
    name[129] = '\0';
    assert_int_equal(add_tool(srv, name, NULL, NULL, NULL), WDN_EINVAL);
    name[128] = '\0';
    assert_int_equal(add_tool(srv, name, NULL, NULL, NULL), 0);
    assert_int_equal(add_tool(srv, "Az09_.-", NULL, NULL, NULL), 0);
    assert_int_equal(add_tool(srv, "geo", NULL, NULL, NULL), WDN_EEXISTS);
    /* Schemas: JSON objects, the input one of type object, nothing unsupported. */
    assert_int_equal(add_tool(srv, "s1", "{\"type\":\"string\"}", NULL, NULL), WDN_EINVAL);
    assert_int_equal(add_tool(srv, "s2", "{}", NULL, NULL), WDN_EINVAL);
    assert_int_equal(add_tool(srv, "s3", "[1]", NULL, NULL), WDN_EINVAL);
    assert_int_equal(add_tool(srv, "s4", "{\"type\":\"object\",\"type\":\"object\"}", NULL, NULL),
                     WDN_EINVAL);
    assert_int_equal(add_tool(srv, "s5", "{\"type\":\"object\"", NULL, NULL), WDN_EINVAL);
    assert_int_equal(add_tool(srv, "s6", "{\"type\":\"object\",\"madeUp\":1}", NULL, NULL),
                     WDN_EUNSUPPORTED);
    assert_int_equal(add_tool(srv, "s7", NULL, "nope", NULL), WDN_EINVAL);
    assert_int_equal(add_tool(srv, "s8", NULL, "{\"madeUp\":1}", NULL), WDN_EUNSUPPORTED);
    assert_int_equal(add_tool(srv, "s9", NULL, NULL, "[]"), WDN_EINVAL);
    assert_int_equal(add_tool(srv, "s10", NULL, NULL, "{\"a\":1,\"a\":2}"), WDN_EINVAL);
    assert_int_equal(
        add_tool(srv, "annotated", NULL, "{\"type\":\"object\"}", "{\"readOnlyHint\":true}"), 0);
    /* x-mcp-header: a token naming a string, integer or boolean, unique regardless of case. */
    static const char *const bad_marks[] = {
        "{\"type\":\"number\",\"x-mcp-header\":\"A\"}",
        "{\"type\":\"object\",\"x-mcp-header\":\"A\"}",
        "{\"x-mcp-header\":\"A\"}",
        "{\"type\":\"string\",\"x-mcp-header\":\"\"}",
        "{\"type\":\"string\",\"x-mcp-header\":5}",
        "{\"type\":\"string\",\"x-mcp-header\":\"A B\"}",
        "{\"type\":\"string\",\"x-mcp-header\":\"A:B\"}",
        "{\"type\":\"string\",\"x-mcp-header\":\"A\\u00e9\"}",
        "{\"type\":\"string\",\"x-mcp-header\":"
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", /* 64 */
        "{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"number\",\"x-mcp-header\":"
        "\"B\"}}}",
    };
    for (i = 0; i < (int)(sizeof(bad_marks) / sizeof(bad_marks[0])); i++) {
        snprintf(name, sizeof(name), "mark%d", i);
        snprintf(schema, sizeof(schema), "{\"type\":\"object\",\"properties\":{\"a\":%s}}",
                 bad_marks[i]);
        if (add_tool(srv, name, schema, NULL, NULL) != WDN_EINVAL)
            fail_msg("x-mcp-header %s was accepted", bad_marks[i]);
    }
    assert_int_equal(add_tool(srv, "dup",
                              "{\"type\":\"object\",\"properties\":{"
                              "\"a\":{\"type\":\"string\",\"x-mcp-header\":\"Same\"},"
                              "\"b\":{\"type\":\"integer\",\"x-mcp-header\":\"SAME\"}}}",
                              NULL, NULL),
                     WDN_EINVAL);
    assert_int_equal(
        add_tool(srv, "marks-ok",
                 "{\"type\":\"object\",\"properties\":{"
                 "\"a\":{\"type\":\"string\",\"x-mcp-header\":\"A-1_x.y!#$%&'*+^`|~\"},"
                 "\"b\":{\"type\":\"boolean\",\"x-mcp-header\":\"B\"}}}",
                 NULL, NULL),
        0);
    /* None of the refused tools is listed. */
    {
        const char *const lines[] = {ACCEPT, CTYPE, PV_LEGACY, NULL};
        json_t *tools;

        mr_post(srv, lines, list_body, &a);
        tools = json_object_get(json_object_get(a.msg, "result"), "tools");
        assert_int_equal(json_array_size(tools), 5); /* geo, n*128, Az09_.-, annotated, marks-ok */
        assert_true(json_is_true(json_object_get(
            json_object_get(json_array_get(tools, 3), "annotations"), "readOnlyHint")));
        mr_free(&a);
    }
    wdn_mcp_server_free(srv);
}

static int r_read(struct wdn_mcp_call *call, const char *uri, json_t *contents, void *ud)
{
    return 0;
}

static int p_get(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    *messages = json_array();
    return 0;
}

static void resource_and_prompt_registration(void **state)
{
    struct wdn_mcp_server *srv = server();
    struct wdn_mcp_resource r = {.uri = "file:///a", .name = "a", .read = r_read};
    struct wdn_mcp_prompt_arg args[] = {{"who", "the name", true}, {NULL, "no name", false}};
    struct wdn_mcp_prompt p = {.name = "p", .get = p_get};
    char uri[64];
    int i;

    assert_int_equal(wdn_mcp_server_add_resource(srv, NULL), WDN_EINVAL);
    r.read = NULL;
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r), WDN_EINVAL);
    r.read = r_read;
    r.name = NULL;
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r), WDN_EINVAL);
    r.name = "a";
    r.uri_template = "file:///{x}";
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r), WDN_EINVAL); /* both */
    r.uri = NULL;
    r.uri_template = NULL;
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r), WDN_EINVAL); /* neither */
    r.uri = "file:///a";
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r), 0);
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r), WDN_EEXISTS);
    r.uri = NULL;
    r.uri_template = "file:///{x}";
    r.title = "X";
    r.description = "an X";
    r.mime_type = "text/plain";
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r), 0);
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r), WDN_EEXISTS);
    /* A URI equal to a template's text is the same registration. */
    r.uri = "file:///{x}";
    r.uri_template = NULL;
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r), WDN_EEXISTS);
    /* WDN_MCP_MAX_TOOLS resources at most. */
    for (i = 2; i < WDN_MCP_MAX_TOOLS; i++) {
        snprintf(uri, sizeof(uri), "file:///r%d", i);
        r.uri = uri;
        assert_int_equal(wdn_mcp_server_add_resource(srv, &r), 0);
    }
    r.uri = "file:///one-more";
    assert_int_equal(wdn_mcp_server_add_resource(srv, &r), WDN_ELIMIT);

    assert_int_equal(wdn_mcp_server_add_prompt(srv, NULL), WDN_EINVAL);
    p.get = NULL;
    assert_int_equal(wdn_mcp_server_add_prompt(srv, &p), WDN_EINVAL);
    p.get = p_get;
    p.nargs = 1;
    assert_int_equal(wdn_mcp_server_add_prompt(srv, &p), WDN_EINVAL); /* nargs without args */
    p.args = args;
    assert_int_equal(wdn_mcp_server_add_prompt(srv, &p), 0);
    assert_int_equal(wdn_mcp_server_add_prompt(srv, &p), WDN_EEXISTS);
    /* An argument without a name is a caller's mistake, not a lack of memory. */
    p.name = "q";
    p.nargs = 2;
    assert_int_equal(wdn_mcp_server_add_prompt(srv, &p), WDN_EINVAL);
    wdn_mcp_server_free(srv);
}

static void tool_limit(void **state)
{
    struct wdn_mcp_server *srv = server();
    char name[32];
    int i;

    for (i = 1; i < WDN_MCP_MAX_TOOLS; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        assert_int_equal(add_tool(srv, name, NULL, NULL, NULL), 0);
    }
    assert_int_equal(add_tool(srv, "one-more", NULL, NULL, NULL), WDN_ELIMIT);
    wdn_mcp_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accept_header),
        cmocka_unit_test(content_type_and_size),
        cmocka_unit_test(host_header),
        cmocka_unit_test(host_lists),
        cmocka_unit_test(origin_header),
        cmocka_unit_test(endpoint_path),
        cmocka_unit_test(methods_not_allowed),
        cmocka_unit_test(protocol_version_header),
        cmocka_unit_test(session_rules),
        cmocka_unit_test(batch_in_later_version),
        cmocka_unit_test(modern_method_and_name),
        cmocka_unit_test(modern_meta),
        cmocka_unit_test(modern_body_shapes),
        cmocka_unit_test(param_headers),
        cmocka_unit_test(initialize_and_discover),
        cmocka_unit_test(pagination),
        cmocka_unit_test(tool_calls),
        cmocka_unit_test(prompts_and_resources),
        cmocka_unit_test(completion),
        cmocka_unit_test(call_helpers),
        cmocka_unit_test(last_event_id),
        cmocka_unit_test(get_streams),
        cmocka_unit_test(tool_registration),
        cmocka_unit_test(resource_and_prompt_registration),
        cmocka_unit_test(tool_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
