/* Unit tests for the MCP client against the SDK's own server on the libuv HTTP server:
 * versions, sessions, SSE answers, the token hook, extra headers and HTTP status errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/limits.h"
#include "mcp/http_adapter.h"
#include "support/testnet.h"
#include "warden/mcp.h"

/* GETs that carried Last-Event-ID (the client resuming a stream), counted by the gate. */
static atomic_int resumes;

/* A gate in front of the MCP handler: requires "Authorization: Bearer good" and
 * "dapr-api-token: secret"; "Bearer forbidden" gets 403. */
static int gate(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    const struct wdn_http_header *auth = wdn_http_req_header(req, WDN_STR("Authorization"));
    const struct wdn_http_header *api = wdn_http_req_header(req, WDN_STR("dapr-api-token"));

    (void)self;
    if (wdn_http_req_header(req, WDN_STR("Last-Event-ID")) != NULL)
        resumes++;
    if (auth != NULL && wdn_str_eq_cstr(auth->value, "Bearer forbidden"))
        return wdn_http_respond(req, 403, NULL, 0, WDN_STR("Forbidden")), 0;
    if (auth == NULL || !wdn_str_eq_cstr(auth->value, "Bearer good") || api == NULL ||
        !wdn_str_eq_cstr(api->value, "secret")) {
        struct wdn_http_header h = {
            WDN_STR("WWW-Authenticate"),
            WDN_STR("Bearer resource_metadata=\"http://127.0.0.1/.well-known/"
                    "oauth-protected-resource/mcp\"")};
        return wdn_http_respond(req, 401, &h, 1, WDN_STR("Unauthorized")), 0;
    }
    return WDN_HTTP_DECLINED;
}

static int tool_add(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    char buf[32];

    (void)ud;
    snprintf(buf, sizeof(buf), "%lld",
             (long long)(json_integer_value(json_object_get(args, "a")) +
                         json_integer_value(json_object_get(args, "b"))));
    return wdn_mcp_call_text(call, buf);
}

static int tool_progress(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    (void)args;
    (void)ud;
    wdn_mcp_call_log(call, WDN_MCP_LOG_INFO, "t", json_string("working"));
    return wdn_mcp_call_text(call, "done");
}

static int tool_ask(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    json_t *result = NULL;
    char err[128];
    int rc;

    (void)args;
    (void)ud;
    rc = wdn_mcp_call_request(call, "ping", NULL, 5000, &result, err, sizeof(err));
    json_decref(result);
    return wdn_mcp_call_text(call, rc == 0 ? "pong" : "no pong");
}

/* Slow enough that the client's resumption finds it still running (polling). */
static int tool_slow(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    (void)args;
    (void)ud;
    wdn_mcp_call_log(call, WDN_MCP_LOG_INFO, "t", json_string("started"));
    usleep(300000);
    wdn_mcp_call_log(call, WDN_MCP_LOG_INFO, "t", json_string("finished"));
    return wdn_mcp_call_text(call, "slow done");
}

/* More messages than a stream keeps, before the client comes back: it cannot resume. */
static int tool_flood(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int i;

    (void)args;
    (void)ud;
    for (i = 0; i < WDN_MCP_RESUME_MAX_EVENTS + 10; i++)
        wdn_mcp_call_log(call, WDN_MCP_LOG_INFO, "t", json_string("flood"));
    return wdn_mcp_call_text(call, "flooded");
}

struct fixture {
    struct wdn_mcp_server *mcp;
    struct wdn_http_server *http;
    struct wdn_mcp_http_handler mh;
    struct wdn_http_handler gate;
    char url[128];
};

static struct fixture fx;

static int start(bool stateless, long poll_ms)
{
    struct wdn_mcp_server_config cfg = {.name = "t",
                                        .version = "1",
                                        .path = "/mcp",
                                        .stateless = stateless,
                                        .sse_poll_ms = poll_ms};
    struct wdn_mcp_tool add = {.name = "add",
                               .description = "Add two numbers together.",
                               .input_schema = "{\"type\":\"object\",\"properties\":{\"a\":"
                                               "{\"type\":\"integer\"},\"b\":{\"type\":"
                                               "\"integer\"}},\"required\":[\"a\",\"b\"]}",
                               .fn = tool_add};
    struct wdn_mcp_tool prog = {.name = "progress", .fn = tool_progress};
    struct wdn_mcp_tool ask = {.name = "ask", .fn = tool_ask};
    struct wdn_mcp_tool slow = {.name = "slow", .fn = tool_slow};
    struct wdn_mcp_tool flood = {.name = "flood", .fn = tool_flood};
    static struct wdn_http_handler *chain[2];
    struct wdn_http_server_config hc;

    memset(&fx, 0, sizeof(fx));
    fx.mcp = wdn_mcp_server_new(&cfg);
    if (fx.mcp == NULL || wdn_mcp_server_add_tool(fx.mcp, &add) != 0 ||
        wdn_mcp_server_add_tool(fx.mcp, &prog) != 0 || wdn_mcp_server_add_tool(fx.mcp, &ask) != 0)
        return -1;
    /* The extra tools only where the tool list is not counted. */
    if (poll_ms > 0 && (wdn_mcp_server_add_tool(fx.mcp, &slow) != 0 ||
                        wdn_mcp_server_add_tool(fx.mcp, &flood) != 0))
        return -1;
    fx.gate.on_req = gate;
    chain[0] = &fx.gate;
    chain[1] = wdn_mcp_http_handler_init(&fx.mh, fx.mcp, "/mcp", false);
    memset(&hc, 0, sizeof(hc));
    hc.listen = "127.0.0.1:0";
    hc.workers = 1;
    hc.handlers = chain;
    hc.nhandlers = 2;
    hc.shutdown_grace_ms = 500;
    if (wdn_http_server_start(&hc, &fx.http) != 0)
        return -1;
    snprintf(fx.url, sizeof(fx.url), "http://127.0.0.1:%d/mcp", wdn_http_server_port(fx.http));
    return 0;
}

static int setup_sessions(void **state)
{
    (void)state;
    return start(false, 0);
}

static int setup_polling(void **state)
{
    (void)state;
    return start(false, 200);
}

static int setup_stateless(void **state)
{
    (void)state;
    return start(true, 0);
}

static int teardown(void **state)
{
    (void)state;
    wdn_http_server_stop(fx.http);
    wdn_http_server_free(fx.http);
    wdn_mcp_server_free(fx.mcp);
    return 0;
}

static const char *const api_headers[] = {"dapr-api-token: secret", NULL};

static int token_good(void *ud, char *buf, size_t cap)
{
    (*(int *)ud)++;
    return wdn_fmt(buf, cap, "good");
}

static struct wdn_mcp_client *client(const char *version, const char *token,
                                     struct wdn_mcp_error *e)
{
    struct wdn_mcp_client_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.url = fx.url;
    cfg.protocol_version = version;
    cfg.bearer_token = token;
    cfg.extra_headers = api_headers;
    cfg.timeout_ms = 5000;
    return wdn_mcp_client_new(&cfg, e);
}

static void roundtrip(const char *version, const char *expect_version, bool expect_session)
{
    struct wdn_mcp_error e;
    struct wdn_mcp_client *c = client(version, "good", &e);
    json_t *tools = NULL, *result = NULL;
    size_t before = wdn_mcp_server_session_count(fx.mcp);

    assert_non_null(c);
    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    assert_string_equal(wdn_mcp_client_version(c), expect_version);
    assert_int_equal(wdn_mcp_server_session_count(fx.mcp), before + (expect_session ? 1 : 0));
    assert_int_equal(wdn_mcp_client_list_tools(c, &tools, &e), 0);
    assert_int_equal(json_array_size(tools), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tools, 0), "name")),
                        "add");
    assert_int_equal(
        wdn_mcp_client_call_tool(c, "add", json_pack("{s:i, s:i}", "a", 2, "b", 3), &result, &e),
        0);
    assert_string_equal(wdn_mcp_result_text(result), "5");
    json_decref(result);
    /* A JSON-RPC error carries its code. */
    assert_int_equal(wdn_mcp_client_call_tool(c, "nope", NULL, &result, &e), WDN_EPROTO);
    assert_int_equal(e.rpc_code, -32602);
    assert_null(result);
    json_decref(tools);
    wdn_mcp_client_free(c);
    /* free ends the session with DELETE. */
    assert_int_equal(wdn_mcp_server_session_count(fx.mcp), before);
}

static void test_versions_with_sessions(void **state)
{
    (void)state;
    roundtrip("2025-03-26", "2025-03-26", true);
    roundtrip("2025-06-18", "2025-06-18", true);
    roundtrip("2025-11-25", "2025-11-25", true);
    roundtrip(NULL, "2025-11-25", true);
    /* 2026-07-28: server/discover, no initialize and no session. */
    roundtrip("2026-07-28", "2026-07-28", false);
}

static void test_stateless(void **state)
{
    (void)state;
    roundtrip("2025-06-18", "2025-06-18", false);
    roundtrip("2026-07-28", "2026-07-28", false);
}

static int notes;

static void on_note(void *ud, const char *method, json_t *params)
{
    (void)ud;
    (void)params;
    if (strcmp(method, "notifications/message") == 0)
        notes++;
}

static void test_sse_and_server_requests(void **state)
{
    struct wdn_mcp_client_config cfg;
    struct wdn_mcp_error e;
    struct wdn_mcp_client *c;
    json_t *result = NULL;
    int calls = 0;
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.url = fx.url;
    cfg.token_fn = token_good;
    cfg.token_ud = &calls;
    cfg.extra_headers = api_headers;
    cfg.on_notify = on_note;
    c = wdn_mcp_client_new(&cfg, &e);
    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    /* The token provider is asked for every request: initialize, notifications/initialized and
     * the GET stream the client opens because it takes notifications. */
    assert_int_equal(calls, 3);
    notes = 0;
    assert_int_equal(wdn_mcp_client_call_tool(c, "progress", NULL, &result, &e), 0);
    assert_string_equal(wdn_mcp_result_text(result), "done");
    assert_int_equal(notes, 1);
    json_decref(result);
    /* The server pings the client inside the SSE stream; the client answers on a new POST. */
    assert_int_equal(wdn_mcp_client_call_tool(c, "ask", NULL, &result, &e), 0);
    assert_string_equal(wdn_mcp_result_text(result), "pong");
    json_decref(result);
    wdn_mcp_client_free(c);
}

static void test_http_errors(void **state)
{
    struct wdn_mcp_error e;
    struct wdn_mcp_client *c;
    struct wdn_mcp_client_config cfg;
    (void)state;

    c = client(NULL, NULL, &e);
    assert_int_equal(wdn_mcp_client_connect(c, &e), WDN_EAUTH);
    assert_int_equal(e.http_status, 401);
    assert_string_equal(e.message, "MCP server returned HTTP 401");
    assert_string_equal(e.www_authenticate, "Bearer resource_metadata=\"http://127.0.0.1/"
                                            ".well-known/oauth-protected-resource/mcp\"");
    wdn_mcp_client_free(c);

    c = client(NULL, "forbidden", &e);
    assert_int_equal(wdn_mcp_client_connect(c, &e), WDN_EDENIED);
    assert_int_equal(e.http_status, 403);
    wdn_mcp_client_free(c);

    /* 404 for a path that is not the MCP endpoint. */
    memset(&cfg, 0, sizeof(cfg));
    snprintf(fx.url + strlen(fx.url) - 4, 8, "/nope");
    c = client(NULL, "good", &e);
    assert_int_equal(wdn_mcp_client_connect(c, &e), WDN_EHTTP_STATUS);
    assert_int_equal(e.http_status, 404);
    wdn_mcp_client_free(c);
    snprintf(fx.url + strlen(fx.url) - 5, 8, "/mcp");

    /* Nobody listening: a connection error without an HTTP status. */
    cfg.url = "http://127.0.0.1:1/mcp";
    cfg.timeout_ms = 2000;
    c = wdn_mcp_client_new(&cfg, &e);
    assert_int_equal(wdn_mcp_client_connect(c, &e), WDN_ECONNREFUSED);
    assert_int_equal(e.http_status, 0);
    wdn_mcp_client_free(c);

    /* Bad configuration is refused up front. */
    cfg.url = "ftp://x";
    assert_null(wdn_mcp_client_new(&cfg, &e));
    assert_int_equal(e.code, WDN_EINVAL);
    cfg.url = fx.url;
    cfg.bearer_token = "a\r\nX-Injected: 1";
    assert_null(wdn_mcp_client_new(&cfg, &e));
    cfg.bearer_token = NULL;
    cfg.protocol_version = "2024-01-01";
    assert_null(wdn_mcp_client_new(&cfg, &e));
    assert_int_equal(e.code, WDN_EUNSUPPORTED);
}

/* Reads from fd until needle shows up in buf (NUL-terminated) or the socket times out. */
static bool read_until(int fd, char *buf, size_t cap, size_t *len, const char *needle)
{
    while (strstr(buf, needle) == NULL) {
        ssize_t n = recv(fd, buf + *len, cap - 1 - *len, 0);
        if (n <= 0)
            return false;
        *len += (size_t)n;
        buf[*len] = '\0';
    }
    return true;
}

static int port_of_url(void)
{
    return (int)strtol(strrchr(fx.url, ':') + 1, NULL, 10);
}

/* The GET stream through the adapter: opened, fed by broadcast, and forgotten when the client
 * disconnects (the server must never write to a closed connection's state). */
static void test_get_stream_lifecycle(void **state)
{
    static const char body[] =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}";
    char req[2048], buf[8192], sid[80];
    const char *p;
    size_t len = 0;
    int fd, i, n = 0, closed = 0;
    (void)state;

    /* The GET streams of the clients of earlier tests are gone once the server noticed. */
    for (i = 0; i < 500 && wdn_mcp_server_broadcast(fx.mcp, "notifications/tools/list_changed",
                                                      NULL) != 0;
         i++)
        usleep(10000);
    fd = testnet_connect(port_of_url(), 5000);
    assert_true(fd >= 0);
    snprintf(req, sizeof(req),
             "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer good\r\n"
             "dapr-api-token: secret\r\nAccept: application/json, text/event-stream\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(body), body);
    assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
    assert_true(testnet_recv_until_close(fd, buf, sizeof(buf), &closed) > 0);
    close(fd);
    p = strcasestr(buf, "\r\nMcp-Session-Id: ");
    assert_non_null(p);
    p += 18;
    while (p[n] != '\r' && n < 79)
        n++;
    memcpy(sid, p, (size_t)n);
    sid[n] = '\0';
    assert_int_equal(strlen(sid), 64);

    fd = testnet_connect(port_of_url(), 5000);
    assert_true(fd >= 0);
    snprintf(req, sizeof(req),
             "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer good\r\n"
             "dapr-api-token: secret\r\nAccept: text/event-stream\r\nMcp-Session-Id: %s\r\n\r\n",
             sid);
    assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
    buf[0] = '\0';
    assert_true(read_until(fd, buf, sizeof(buf), &len, "\r\n\r\n"));
    assert_non_null(strstr(buf, "200"));
    assert_non_null(strcasestr(buf, "text/event-stream"));
    assert_int_equal(wdn_mcp_server_broadcast(fx.mcp, "notifications/tools/list_changed", NULL), 1);
    assert_true(read_until(fd, buf, sizeof(buf), &len, "notifications/tools/list_changed"));
    close(fd);
    /* The adapter notices the disconnect and detaches the stream. */
    for (i = 0; i < 200; i++) {
        if (wdn_mcp_server_broadcast(fx.mcp, "notifications/tools/list_changed", NULL) == 0)
            break;
        usleep(10000);
    }
    assert_true(i < 200);

    fd = testnet_connect(port_of_url(), 5000);
    snprintf(req, sizeof(req),
             "DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer good\r\n"
             "dapr-api-token: secret\r\nMcp-Session-Id: %s\r\nConnection: close\r\n\r\n",
             sid);
    assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
    assert_true(testnet_recv_until_close(fd, buf, sizeof(buf), &closed) > 0);
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    close(fd);
}

/* Against a polling server: every tools/call's POST stream closes after its priming event,
 * and the client gets notifications, server requests and the result on GET + Last-Event-ID. */
static void test_polling_resume(void **state)
{
    struct wdn_mcp_client_config cfg;
    struct wdn_mcp_error e;
    struct wdn_mcp_client *c;
    json_t *result = NULL;
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.url = fx.url;
    cfg.bearer_token = "good";
    cfg.extra_headers = api_headers;
    cfg.on_notify = on_note;
    cfg.timeout_ms = 5000;
    c = wdn_mcp_client_new(&cfg, &e);
    assert_non_null(c);
    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    assert_string_equal(wdn_mcp_client_version(c), "2025-11-25");
    resumes = 0;
    assert_int_equal(
        wdn_mcp_client_call_tool(c, "add", json_pack("{s:i, s:i}", "a", 2, "b", 3), &result, &e),
        0);
    assert_string_equal(wdn_mcp_result_text(result), "5");
    json_decref(result);
    assert_int_equal(resumes, 1);
    /* Still running when the client comes back: the rest arrives live. */
    notes = 0;
    assert_int_equal(wdn_mcp_client_call_tool(c, "slow", NULL, &result, &e), 0);
    assert_string_equal(wdn_mcp_result_text(result), "slow done");
    assert_int_equal(notes, 2);
    json_decref(result);
    assert_int_equal(resumes, 2);
    /* A server request that waits in the stream for the client to come back. */
    assert_int_equal(wdn_mcp_client_call_tool(c, "ask", NULL, &result, &e), 0);
    assert_string_equal(wdn_mcp_result_text(result), "pong");
    json_decref(result);
    /* Events the server no longer has: the resumption is refused and the call fails cleanly. */
    assert_int_equal(wdn_mcp_client_call_tool(c, "flood", NULL, &result, &e), WDN_EHTTP_STATUS);
    assert_null(result);
    assert_int_equal(e.http_status, 400);
    assert_non_null(strstr(e.message, "refused to resume"));
    /* The session goes on. */
    assert_int_equal(
        wdn_mcp_client_call_tool(c, "add", json_pack("{s:i, s:i}", "a", 1, "b", 1), &result, &e),
        0);
    assert_string_equal(wdn_mcp_result_text(result), "2");
    json_decref(result);
    wdn_mcp_client_free(c);

    /* An older version: no ids, so no polling, and the answer comes on the POST. */
    c = client("2025-06-18", "good", &e);
    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    resumes = 0;
    assert_int_equal(wdn_mcp_client_call_tool(c, "slow", NULL, &result, &e), 0);
    assert_string_equal(wdn_mcp_result_text(result), "slow done");
    assert_int_equal(resumes, 0);
    json_decref(result);
    wdn_mcp_client_free(c);
}

/* ---- a hand-written server whose SSE connection breaks mid-answer ---- */

struct fake {
    int lfd, port;
    char last_id[64]; /* the Last-Event-ID of the resuming GET */
    int gets;
};

/* Reads one request (head and Content-Length body) into buf; its length, or -1. */
static ssize_t fake_read(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    char *eoh = NULL, *cl;
    ssize_t n;

    buf[0] = '\0';
    while (eoh == NULL || len < (size_t)(eoh - buf) + 4 + (size_t)(cl ? atoi(cl + 16) : 0)) {
        n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        eoh = strstr(buf, "\r\n\r\n");
        cl = strcasestr(buf, "Content-Length: ");
    }
    return (ssize_t)len;
}

static void fake_send(int fd, const char *s)
{
    (void)testnet_send_all(fd, s, strlen(s));
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    char buf[8192], out[1024];
    const char *body, *h;
    int fd, i;

    for (i = 0; i < 7; i++) {
        fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            break;
        if (fake_read(fd, buf, sizeof(buf)) < 0) {
            close(fd);
            continue;
        }
        body = strstr(buf, "\r\n\r\n") + 4;
        if (strncmp(buf, "GET ", 4) == 0 && strcasestr(buf, "\r\nLast-Event-ID: ") == NULL) {
            /* The standalone stream the client opens for its notifications: not offered. */
            fake_send(fd, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n");
        } else if (strncmp(buf, "GET ", 4) == 0) {
            f->gets++;
            h = strcasestr(buf, "\r\nLast-Event-ID: ");
            sscanf(h + 17, "%63[^\r]", f->last_id);
            fake_send(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                          "Connection: close\r\n\r\n"
                          "id: 7-2\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,"
                          "\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"resumed\"}]}}"
                          "\n\n");
        } else if (strstr(body, "\"initialize\"") != NULL) {
            const char *res = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":"
                              "\"2025-11-25\",\"capabilities\":{},\"serverInfo\":{\"name\":"
                              "\"fake\",\"version\":\"1\"}}}";
            snprintf(out, sizeof(out),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: s1\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     strlen(res), res);
            fake_send(fd, out);
        } else if (strstr(body, "\"tools/call\"") != NULL) {
            /* Two numbered events, then the connection breaks in the middle of the chunked
             * body, with no last chunk: the client must resume from 7-1. */
            fake_send(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n");
            snprintf(out, sizeof(out), "%s",
                     "id: 7-0\ndata: \n\nid: 7-1\nevent: message\ndata: {\"jsonrpc\":\"2.0\","
                     "\"method\":\"notifications/message\",\"params\":{\"level\":\"info\","
                     "\"data\":\"x\"}}\n\n");
            snprintf(buf, sizeof(buf), "%zx\r\n%s\r\n", strlen(out), out);
            fake_send(fd, buf);
        } else {
            fake_send(fd,
                      "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
        close(fd);
    }
    return NULL;
}

/* The connection of an SSE answer breaks: the client resumes with the last id it saw. */
static void test_broken_stream_resumes(void **state)
{
    struct fake f;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    struct wdn_mcp_client_config cfg;
    struct wdn_mcp_error e;
    struct wdn_mcp_client *c;
    json_t *result = NULL;
    char url[64];
    pthread_t t;
    (void)state;

    memset(&f, 0, sizeof(f));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f.lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f.lfd >= 0);
    assert_int_equal(bind(f.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f.lfd, 8), 0);
    assert_int_equal(getsockname(f.lfd, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/mcp", ntohs(a.sin_port));
    assert_int_equal(pthread_create(&t, NULL, fake_main, &f), 0);

    memset(&cfg, 0, sizeof(cfg));
    cfg.url = url;
    cfg.timeout_ms = 5000;
    cfg.on_notify = on_note;
    c = wdn_mcp_client_new(&cfg, &e);
    assert_non_null(c);
    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    notes = 0;
    assert_int_equal(wdn_mcp_client_call_tool(c, "x", NULL, &result, &e), 0);
    assert_string_equal(wdn_mcp_result_text(result), "resumed");
    assert_int_equal(notes, 1);
    json_decref(result);
    wdn_mcp_client_free(c); /* DELETE: the seventh connection */
    shutdown(f.lfd, SHUT_RDWR);
    assert_int_equal(pthread_join(t, NULL), 0);
    close(f.lfd);
    assert_int_equal(f.gets, 1);
    assert_string_equal(f.last_id, "7-1");
}

int main(void)
{
    const struct CMUnitTest sessions[] = {
        cmocka_unit_test(test_versions_with_sessions),
        cmocka_unit_test(test_sse_and_server_requests),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_get_stream_lifecycle),
    };
    const struct CMUnitTest stateless[] = {
        cmocka_unit_test(test_stateless),
    };
    const struct CMUnitTest polling[] = {
        cmocka_unit_test(test_polling_resume),
        cmocka_unit_test(test_broken_stream_resumes),
    };
    int rc;

    rc = cmocka_run_group_tests(sessions, setup_sessions, teardown);
    rc |= cmocka_run_group_tests(stateless, setup_stateless, teardown);
    rc |= cmocka_run_group_tests(polling, setup_polling, teardown);
    return rc;
}
