/* The MCP client (src/mcp/client*.c) against a scripted server that misbehaves: session ids it
 * must not echo, error statuses with and without a JSON-RPC error, bodies that are no answer
 * (not JSON, another id, an SSE stream that ends without the response), a resumed stream that
 * is not SSE, an expired session; and requests it must refuse to build (a header line without
 * a colon, a token with a line break, a failing token provider, bad trace context). Each with
 * the error code, HTTP status and message the caller gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <unistd.h>

#include "base/error.h"
#include "support/fakehttp.h"
#include "warden/mcp.h"

enum mode {
    M_OK,
    M_500_RPC,         /* 500 with a JSON-RPC error body */
    M_403_HTML,        /* 403, text/html */
    M_NOT_JSON,        /* 200, a body that is not JSON */
    M_OTHER_ID,        /* 200, the answer to another request */
    M_SSE_EMPTY,       /* 200 SSE: a notification, no response, no event id */
    M_SSE_RESUME_JSON, /* 200 SSE with an event id, no response; the resume GET answers JSON */
    M_404,             /* 404: the session is gone */
    M_RESULT_NUMBER,   /* 200, a response whose result is not an object */
    M_TOOLS,           /* tools/list names a tool with x-mcp-header mappings */
};

static struct {
    pthread_mutex_t lock;
    enum mode mode;
    const char *session; /* the Mcp-Session-Id initialize answers with */
    char last_head[4096];
    char last_method[64];
    int gets;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void reply_json(const struct fakehttp_req *req, int status, const char *headers,
                       const char *body)
{
    fakehttp_respond(req, status, headers, body);
}

static void serve(void *ud, const struct fakehttp_req *req)
{
    json_t *msg = json_loadb(req->body, req->body_len, 0, NULL);
    const char *method = json_string_value(json_object_get(msg, "method"));
    json_int_t id = json_integer_value(json_object_get(msg, "id"));
    enum mode mode;
    char body[512], head[256];

    pthread_mutex_lock(&S.lock);
    snprintf(S.last_head, sizeof(S.last_head), "%s", req->head);
    snprintf(S.last_method, sizeof(S.last_method), "%s", method ? method : req->method);
    mode = S.mode;
    if (strcmp(req->method, "GET") == 0)
        S.gets++;
    pthread_mutex_unlock(&S.lock);

    if (strcmp(req->method, "DELETE") == 0) {
        fakehttp_respond(req, 200, NULL, "");
    } else if (strcmp(req->method, "GET") == 0) {
        /* A resume (Last-Event-ID): answered with plain JSON, not a stream. */
        fakehttp_respond(req, 200, "Content-Type: application/json\r\n", "{}");
    } else if (method != NULL && strcmp(method, "server/discover") == 0) {
        snprintf(
            body, sizeof(body),
            "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"supportedVersions\":[\"2026-07-28\"],"
            "\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"s\",\"version\":\"1\"}}}",
            (long long)id);
        reply_json(req, 200, NULL, body);
    } else if (method != NULL && strcmp(method, "tools/list") == 0 && mode == M_TOOLS) {
        /* A tool without a name (left out by the client) and one with header mappings. */
        snprintf(body, sizeof(body),
                 "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"tools\":[{\"inputSchema\":{}},"
                 "{\"name\":\"t\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
                 "\"a\":{\"type\":\"string\",\"x-mcp-header\":\"A\"},"
                 "\"n\":{\"type\":\"integer\",\"x-mcp-header\":\"N\"},"
                 "\"b\":{\"type\":\"boolean\",\"x-mcp-header\":\"B\"}}}}]}}",
                 (long long)id);
        reply_json(req, 200, NULL, body);
    } else if (method != NULL && strcmp(method, "initialize") == 0) {
        snprintf(head, sizeof(head), "Mcp-Session-Id: %s\r\n", S.session);
        snprintf(
            body, sizeof(body),
            "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"protocolVersion\":\"2025-06-18\","
            "\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"s\",\"version\":\"1\"}}}",
            (long long)id);
        reply_json(req, 200, head, body);
    } else if (json_object_get(msg, "id") == NULL) {
        fakehttp_respond(req, 202, NULL, "");
    } else if (mode == M_500_RPC) {
        snprintf(
            body, sizeof(body),
            "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32603,\"message\":\"boom\"}}",
            (long long)id);
        reply_json(req, 500, NULL, body);
    } else if (mode == M_403_HTML) {
        fakehttp_respond(req, 403, "Content-Type: text/html\r\n", "<html>no</html>");
    } else if (mode == M_NOT_JSON) {
        fakehttp_respond(req, 200, "Content-Type: application/json\r\n", "not json at all");
    } else if (mode == M_OTHER_ID) {
        snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{}}",
                 (long long)id + 1000);
        reply_json(req, 200, NULL, body);
    } else if (mode == M_SSE_EMPTY || mode == M_SSE_RESUME_JSON) {
        const char *ev = mode == M_SSE_EMPTY
                             ? "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\","
                               "\"params\":{\"level\":\"info\",\"data\":\"x\"}}\n\n"
                             : "id: 7-1\nretry: 10\ndata: \n\n";
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 strlen(ev));
        if (write(req->fd, head, strlen(head)) < 0 || write(req->fd, ev, strlen(ev)) < 0)
            fprintf(stderr, "write failed\n");
    } else if (mode == M_RESULT_NUMBER) {
        snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":5}",
                 (long long)id);
        reply_json(req, 200, NULL, body);
    } else if (mode == M_404) {
        fakehttp_respond(req, 404, NULL, "");
    } else {
        snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"tools\":[]}}",
                 (long long)id);
        reply_json(req, 200, NULL, body);
    }
    json_decref(msg);
}

static struct fakehttp *fh;
static char url[128];

static int setup(void **state)
{
    fh = fakehttp_start(serve, NULL);
    if (fh == NULL)
        return -1;
    fakehttp_url(fh, "/mcp", url, sizeof(url));
    return 0;
}

static int teardown(void **state)
{
    fakehttp_stop(fh);
    return 0;
}

static struct wdn_mcp_client *connected(const char *session, struct wdn_mcp_error *err)
{
    struct wdn_mcp_client_config cfg = {
        .url = url, .protocol_version = "2025-06-18", .timeout_ms = 10000};
    struct wdn_mcp_client *c;

    S.session = session;
    S.mode = M_OK;
    c = wdn_mcp_client_new(&cfg, err);
    assert_non_null(c);
    assert_int_equal(wdn_mcp_client_connect(c, err), 0);
    return c;
}

static int request_in(struct wdn_mcp_client *c, enum mode mode, struct wdn_mcp_error *err)
{
    json_t *result = NULL;
    int rc;

    pthread_mutex_lock(&S.lock);
    S.mode = mode;
    pthread_mutex_unlock(&S.lock);
    memset(err, 0, sizeof(*err));
    rc = wdn_mcp_client_request(c, "tools/list", NULL, &result, err);
    json_decref(result);
    return rc;
}

static void bad_answers(void **state)
{
    struct wdn_mcp_error err = {0};
    struct wdn_mcp_client *c = connected("abc123", &err);
    json_t *res = NULL;
    char sid[64];

    /* The session id is echoed on the next request. */
    assert_int_equal(request_in(c, M_OK, &err), 0);
    assert_non_null(fakehttp_header(&(struct fakehttp_req){.head = S.last_head}, "Mcp-Session-Id",
                                    sid, sizeof(sid)));
    assert_string_equal(sid, "abc123");
    /* A JSON-RPC error under a 500: the server's code and message. */
    assert_int_equal(request_in(c, M_500_RPC, &err), WDN_EPROTO);
    assert_int_equal(err.http_status, 500);
    assert_int_equal(err.rpc_code, -32603);
    assert_non_null(strstr(err.message, "boom"));
    /* 403 without JSON. */
    assert_int_equal(request_in(c, M_403_HTML, &err), WDN_EDENIED);
    assert_int_equal(err.http_status, 403);
    /* Bodies that answer nothing. */
    assert_int_equal(request_in(c, M_NOT_JSON, &err), WDN_EPROTO);
    assert_int_equal(err.http_status, 200);
    assert_int_equal(request_in(c, M_OTHER_ID, &err), WDN_EPROTO);
    assert_int_equal(request_in(c, M_SSE_EMPTY, &err), WDN_EPROTO);
    /* A stream that ends early is resumed; a resume that is no stream is refused. */
    assert_int_equal(request_in(c, M_SSE_RESUME_JSON, &err), WDN_EPROTO);
    assert_true(S.gets >= 1);
    assert_non_null(fakehttp_header(&(struct fakehttp_req){.head = S.last_head}, "Last-Event-ID",
                                    sid, sizeof(sid)));
    assert_string_equal(sid, "7-1");
    /* A result that is not an object. */
    assert_int_equal(request_in(c, M_RESULT_NUMBER, &err), WDN_EPROTO);
    assert_string_equal(err.message, "response without a result object");
    /* params must be an object: refused before anything is sent. */
    assert_int_equal(wdn_mcp_client_request(c, "tools/list", json_array(), &res, &err), WDN_EINVAL);
    assert_string_equal(err.message, "params must be an object");
    assert_null(res);
    /* What the server said of itself at initialize. */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(wdn_mcp_client_server_info(c), "serverInfo"), "name")),
                        "s");
    /* The session is gone. */
    assert_int_equal(request_in(c, M_404, &err), WDN_EHTTP_STATUS);
    assert_int_equal(err.http_status, 404);
    wdn_mcp_client_free(c);
}

/* A session id that is not visible ASCII (here a space) is not kept: it goes back out in our
 * headers. */
static void session_id_refused(void **state)
{
    struct wdn_mcp_error err = {0};
    struct wdn_mcp_client *c = connected("bad id", &err);
    char sid[64];

    assert_int_equal(request_in(c, M_OK, &err), 0);
    assert_null(fakehttp_header(&(struct fakehttp_req){.head = S.last_head}, "Mcp-Session-Id", sid,
                                sizeof(sid)));
    wdn_mcp_client_free(c);
}

static int token_fails(void *ud, char *out, size_t cap)
{
    return WDN_EAUTH;
}

static int token_breaks(void *ud, char *out, size_t cap)
{
    snprintf(out, cap, "abc\r\nX-Injected: 1");
    return 0;
}

static void requests_not_built(void **state)
{
    const char *const no_colon[] = {"dapr-api-token secret", NULL};
    struct wdn_mcp_client_config cfg = {
        .url = url, .protocol_version = "2025-06-18", .timeout_ms = 10000};
    struct wdn_mcp_error err = {0};
    struct wdn_mcp_client *c;

    S.mode = M_OK;
    S.session = "s1";
    cfg.url = "ftp://example.com/mcp";
    assert_null(wdn_mcp_client_new(&cfg, &err));
    cfg.url = url;
    /* Capabilities must be a JSON object; header lines must not hold control characters. */
    cfg.capabilities = "[1]";
    assert_null(wdn_mcp_client_new(&cfg, &err));
    assert_string_equal(err.message, "capabilities must be a JSON object");
    cfg.capabilities = "{\"roots\":{}}";
    cfg.extra_headers = (const char *const[]){"X-A: a\x01b", NULL};
    assert_null(wdn_mcp_client_new(&cfg, &err));
    assert_int_equal(err.code, WDN_EINVAL);
    /* A header line without a colon is refused when the client is made. */
    cfg.extra_headers = no_colon;
    assert_null(wdn_mcp_client_new(&cfg, &err));
    assert_int_equal(err.code, WDN_EINVAL);
    assert_string_equal(err.message, "extra header must be \"Name: value\"");
    cfg.extra_headers = NULL;
    cfg.token_fn = token_fails;
    c = wdn_mcp_client_new(&cfg, &err);
    assert_non_null(c);
    assert_int_equal(wdn_mcp_client_connect(c, &err), WDN_EAUTH);
    assert_non_null(strstr(err.message, "token provider failed"));
    wdn_mcp_client_free(c);
    cfg.token_fn = token_breaks;
    c = wdn_mcp_client_new(&cfg, &err);
    assert_non_null(c);
    assert_int_equal(wdn_mcp_client_connect(c, &err), WDN_EINVAL);
    /* A token that would split the header: nothing is sent. */
    assert_int_equal(err.code, WDN_EINVAL);
    assert_string_equal(err.message, "cannot build request headers");
    assert_null(strstr(S.last_head, "X-Injected"));
    wdn_mcp_client_free(c);
}

static void trace_context(void **state)
{
    struct wdn_mcp_error err = {0};
    struct wdn_mcp_client *c = connected("t1", &err);
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    char got[128];

    assert_int_equal(wdn_mcp_client_set_trace(c, "00-bad", NULL), WDN_EINVAL);
    assert_int_equal(wdn_mcp_client_set_trace(c, tp, "a=1\r\nX: y"), WDN_EINVAL);
    assert_int_equal(wdn_mcp_client_set_trace(c, tp, "vendor=abc"), 0);
    assert_int_equal(request_in(c, M_OK, &err), 0);
    assert_non_null(fakehttp_header(&(struct fakehttp_req){.head = S.last_head}, "traceparent", got,
                                    sizeof(got)));
    assert_string_equal(got, tp);
    assert_non_null(fakehttp_header(&(struct fakehttp_req){.head = S.last_head}, "tracestate", got,
                                    sizeof(got)));
    assert_string_equal(got, "vendor=abc");
    /* Cleared: no trace headers any more. */
    assert_int_equal(wdn_mcp_client_set_trace(c, NULL, NULL), 0);
    assert_int_equal(request_in(c, M_OK, &err), 0);
    assert_null(fakehttp_header(&(struct fakehttp_req){.head = S.last_head}, "traceparent", got,
                                sizeof(got)));
    wdn_mcp_client_free(c);
}

/* 2026-07-28: arguments mapped with x-mcp-header travel as Mcp-Param-* headers, encoded. */
static void param_headers(void **state)
{
    struct wdn_mcp_client_config cfg = {
        .url = url, .protocol_version = "2026-07-28", .timeout_ms = 10000};
    struct wdn_mcp_error err = {0};
    struct wdn_mcp_client *c;
    json_t *tools = NULL, *res = NULL;
    char v[128];
    const struct fakehttp_req seen = {.head = S.last_head};

    S.mode = M_TOOLS;
    c = wdn_mcp_client_new(&cfg, &err);
    assert_non_null(c);
    assert_int_equal(wdn_mcp_client_connect(c, &err), 0);
    assert_int_equal(wdn_mcp_client_list_tools(c, &tools, &err), 0);
    assert_int_equal(json_array_size(tools), 1); /* the nameless one is left out */
    json_decref(tools);
    /* Listed again: the mapping is replaced, not added twice. */
    assert_int_equal(wdn_mcp_client_list_tools(c, &tools, &err), 0);
    json_decref(tools);
    S.mode = M_OK;
    assert_int_equal(
        wdn_mcp_client_call_tool(
            c, "t", json_pack("{s:s, s:f, s:b}", "a", "=?x", "n", 42.0, "b", 1), &res, &err),
        0);
    json_decref(res);
    /* A value that could be read as encoded is encoded; 42.0 goes as 42; booleans as words. */
    assert_string_equal(fakehttp_header(&seen, "Mcp-Param-A", v, sizeof(v)), "=?base64?PT94?=");
    assert_string_equal(fakehttp_header(&seen, "Mcp-Param-N", v, sizeof(v)), "42");
    assert_string_equal(fakehttp_header(&seen, "Mcp-Param-B", v, sizeof(v)), "true");
    /* A value with edge spaces is encoded too; a fraction for an integer is not sent. */
    assert_int_equal(
        wdn_mcp_client_call_tool(c, "t", json_pack("{s:s, s:f}", "a", " x", "n", 1.5), &res, &err),
        0);
    json_decref(res);
    assert_string_equal(fakehttp_header(&seen, "Mcp-Param-A", v, sizeof(v)), "=?base64?IHg=?=");
    assert_null(fakehttp_header(&seen, "Mcp-Param-N", v, sizeof(v)));
    wdn_mcp_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_answers),        cmocka_unit_test(session_id_refused),
        cmocka_unit_test(requests_not_built), cmocka_unit_test(trace_context),
        cmocka_unit_test(param_headers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
