/* Unit tests for the MCP server's input rounds (multi round-trip requests, SEP-2322, and the
 * same handlers in a session of the initialize era), tasks (SEP-2663), pagination and caching
 * hints: the core driven through wdn_mcp_server_handle, no sockets. */
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

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "support/mcpreq.h"
#include "warden/mcp.h"

/* ---- requests (captured by support/mcpreq) ------------------------------------------------ */

/* POSTs body to /mcp with the header lines; the answer must be complete (handled, no stream left
 * open). Returns the JSON-RPC message (owned; NULL when none), the status and the session id
 * (into session_out, 128 bytes). */
static json_t *post(struct wdn_mcp_server *srv, const char *const *lines, const char *body,
                    int *status, char *session_out)
{
    struct mr_answer a;
    const char *sid;
    json_t *j;

    mr_post(srv, lines, body, &a);
    assert_int_equal(a.rc, 0);
    assert_false(a.streamed);
    if (status != NULL)
        *status = a.status;
    if (session_out != NULL) {
        sid = mr_header(&a, "Mcp-Session-Id");
        snprintf(session_out, 128, "%s", sid != NULL ? sid : "");
    }
    j = json_incref(a.msg);
    mr_free(&a);
    return j;
}

/*
 * A 2026-07-28 request: _meta with the version and caps (borrowed; NULL: {}), the Mcp-Method
 * and Mcp-Name headers. params stolen. Returns the whole response message.
 */
static json_t *modern(struct wdn_mcp_server *srv, const char *method, const char *name,
                      json_t *params, json_t *caps, int *status)
{
    char hm[128], hn[256], *body;
    const char *lines[] = {"Content-Type: application/json",
                           "Accept: application/json, text/event-stream",
                           "MCP-Protocol-Version: 2026-07-28",
                           hm,
                           name ? hn : NULL,
                           NULL};
    json_t *msg, *r;

    if (params == NULL)
        params = json_object();
    json_object_set_new(params, "_meta",
                        json_pack("{s:s, s:O}", "io.modelcontextprotocol/protocolVersion",
                                  "2026-07-28", "io.modelcontextprotocol/clientCapabilities",
                                  caps ? caps : json_object()));
    msg = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 7, "method", method, "params",
                    params);
    body = json_dumps(msg, JSON_COMPACT);
    snprintf(hm, sizeof(hm), "Mcp-Method: %s", method);
    snprintf(hn, sizeof(hn), "Mcp-Name: %s", name ? name : "");
    r = post(srv, lines, body, status, NULL);
    free(body);
    json_decref(msg);
    return r;
}

static json_t *result_of(json_t *msg)
{
    return json_object_get(msg, "result");
}

static int error_code(json_t *msg)
{
    return (int)json_integer_value(json_object_get(json_object_get(msg, "error"), "code"));
}

static const char *first_text(json_t *result)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(result, "content"), 0), "text"));
}

static json_t *accept(const char *field, const char *value)
{
    return json_pack("{s:s, s:{s:s}}", "action", "accept", "content", field, value);
}

/* ---- fixtures ----------------------------------------------------------------------------- */

static const char *content_of(struct wdn_mcp_call *call, const char *key, const char *field)
{
    return json_string_value(
        json_object_get(json_object_get(wdn_mcp_call_input(call, key), "content"), field));
}

static int t_hello(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    const char *name = content_of(call, "who", "name");
    char buf[128];

    if (name == NULL)
        return wdn_mcp_call_input_request(
            call, "who", "elicitation/create",
            json_pack("{s:s, s:{s:s}}", "message", "Name?", "requestedSchema", "type", "object"));
    snprintf(buf, sizeof(buf), "Hello, %s!", name);
    return wdn_mcp_call_text(call, buf);
}

/* Three rounds; the last one still sees the first round's answer and the state. */
static int t_steps(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    const char *a = content_of(call, "a", "v"), *b = content_of(call, "b", "v");
    const char *st = wdn_mcp_call_state(call);
    char buf[128];

    if (a == NULL) {
        wdn_mcp_call_set_state(call, "one");
        return wdn_mcp_call_input_request(call, "a", "elicitation/create", NULL);
    }
    if (b == NULL) {
        assert_string_equal(st, "one");
        wdn_mcp_call_set_state(call, "two");
        return wdn_mcp_call_input_request(call, "b", "elicitation/create", NULL);
    }
    snprintf(buf, sizeof(buf), "%s+%s state=%s", a, b, st ? st : "-");
    return wdn_mcp_call_text(call, buf);
}

/* Checks the queueing rules from inside a handler, then answers. */
static int t_rules(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    assert_int_equal(wdn_mcp_call_input_request(call, "bad key", "elicitation/create", NULL),
                     WDN_EINVAL);
    assert_int_equal(wdn_mcp_call_input_request(call, "k", "tools/call", NULL), WDN_EINVAL);
    assert_int_equal(wdn_mcp_call_input_request(call, "k", "elicitation/create", json_array()),
                     WDN_EINVAL);
    /* The client declared sampling only. */
    assert_int_equal(wdn_mcp_call_input_request(call, "e", "elicitation/create", NULL),
                     WDN_EUNSUPPORTED);
    assert_int_equal(wdn_mcp_call_input_request(call, "r", "roots/list", NULL), WDN_EUNSUPPORTED);
    assert_int_equal(wdn_mcp_call_input_request(call, "s", "sampling/createMessage", NULL), 0);
    assert_int_equal(wdn_mcp_call_input_request(call, "s", "sampling/createMessage", NULL),
                     WDN_EEXISTS);
    return wdn_mcp_call_text(call, "ignored: the round has an open request");
}

static atomic_int slow_started;

static int t_slow(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int i, ms = (int)json_integer_value(json_object_get(args, "ms"));

    slow_started++;
    for (i = 0; i < ms / 10; i++) {
        if (wdn_mcp_call_cancelled(call))
            return WDN_ECANCELED;
        usleep(10000);
    }
    return wdn_mcp_call_text(call, "slow done");
}

static int t_fail(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    wdn_mcp_call_fail(call, -32099, "it broke");
    return 0;
}

static int t_tool_error(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    return WDN_EIO;
}

/* Two questions at once; completes when both are answered. */
static int t_two(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int n = 0;

    if (wdn_mcp_call_input(call, "x") == NULL)
        n += wdn_mcp_call_input_request(call, "x", "elicitation/create", NULL) == 0;
    if (wdn_mcp_call_input(call, "y") == NULL)
        n += wdn_mcp_call_input_request(call, "y", "elicitation/create", NULL) == 0;
    return n > 0 ? 0 : wdn_mcp_call_text(call, wdn_mcp_call_is_task(call) ? "task: both" : "both");
}

static int t_plain(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    return wdn_mcp_call_text(call, "plain");
}

static int r_read(struct wdn_mcp_call *call, const char *uri, json_t *contents, void *ud)
{
    if (strcmp(uri, "test://cached") == 0)
        wdn_mcp_call_cache(call, 5000, true);
    if (strcmp(uri, "test://asks") == 0 && content_of(call, "ok", "v") == NULL)
        return wdn_mcp_call_input_request(call, "ok", "elicitation/create", NULL);
    return json_array_append_new(contents, json_pack("{s:s, s:s}", "uri", uri, "text", "x"));
}

static struct wdn_mcp_server *server(bool stateless, size_t page_size)
{
    struct wdn_mcp_server_config cfg = {.name = "t",
                                        .version = "1",
                                        .path = "/mcp",
                                        .stateless = stateless,
                                        .page_size = page_size,
                                        .task_poll_ms = 50};
    const struct wdn_mcp_tool tools[] = {
        {.name = "hello", .fn = t_hello},
        {.name = "steps", .fn = t_steps},
        {.name = "rules", .fn = t_rules},
        {.name = "slow", .fn = t_slow, .task_support = WDN_MCP_TASK_OPTIONAL},
        {.name = "fail", .fn = t_fail, .task_support = WDN_MCP_TASK_OPTIONAL},
        {.name = "tool_error", .fn = t_tool_error, .task_support = WDN_MCP_TASK_REQUIRED},
        {.name = "two", .fn = t_two, .task_support = WDN_MCP_TASK_OPTIONAL},
        {.name = "prepared",
         .fn = t_two,
         .prepare = t_hello,
         .task_support = WDN_MCP_TASK_REQUIRED},
        {.name = "plain", .fn = t_plain},
    };
    const struct wdn_mcp_resource res[] = {
        {.uri = "test://cached", .name = "cached", .read = r_read},
        {.uri = "test://plain", .name = "plain", .read = r_read},
        {.uri = "test://asks", .name = "asks", .read = r_read},
    };
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);
    size_t i;

    assert_non_null(srv);
    for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
        assert_int_equal(wdn_mcp_server_add_tool(srv, &tools[i]), 0);
    for (i = 0; i < sizeof(res) / sizeof(res[0]); i++)
        assert_int_equal(wdn_mcp_server_add_resource(srv, &res[i]), 0);
    return srv;
}

static json_t *call_tool(struct wdn_mcp_server *srv, const char *tool, json_t *extra, json_t *caps,
                         int *status)
{
    json_t *p = json_pack("{s:s, s:{}}", "name", tool, "arguments");

    if (extra != NULL) {
        json_object_update(p, extra);
        json_decref(extra);
    }
    return modern(srv, "tools/call", tool, p, caps, status);
}

/* ---- multi round-trip requests ----------------------------------------------------------- */

static void mrtr_round_trip(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0);
    json_t *caps = json_pack("{s:{}}", "elicitation");
    json_t *r1, *r2, *res;
    int status;

    r1 = call_tool(srv, "hello", NULL, caps, &status);
    res = result_of(r1);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(res, "resultType")), "input_required");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(res, "inputRequests"), "who"), "method")),
        "elicitation/create");
    assert_true(json_is_string(json_object_get(res, "requestState")));
    assert_null(json_object_get(res, "content"));
    assert_null(json_object_get(res, "ttlMs")); /* interim results are not cacheable */
    r2 = call_tool(srv, "hello",
                   json_pack("{s:{s:o}, s:O}", "inputResponses", "who", accept("name", "Alice"),
                             "requestState", json_object_get(res, "requestState")),
                   caps, &status);
    assert_string_equal(json_string_value(json_object_get(result_of(r2), "resultType")),
                        "complete");
    assert_string_equal(first_text(result_of(r2)), "Hello, Alice!");
    json_decref(r2);
    /* The answer alone is enough: requestState is optional for the client to echo when the
     * server sent none, and this handler keeps nothing in it. */
    r2 = call_tool(srv, "hello",
                   json_pack("{s:{s:o}}", "inputResponses", "who", accept("name", "Bob")), caps,
                   NULL);
    assert_string_equal(first_text(result_of(r2)), "Hello, Bob!");
    json_decref(r2);
    json_decref(r1);
    json_decref(caps);
    wdn_mcp_server_free(srv);
}

static void mrtr_state_is_sealed(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0);
    struct wdn_mcp_server *other = server(true, 0);
    json_t *caps = json_pack("{s:{}}", "elicitation");
    json_t *r1, *r2, *r3, *bad;
    const char *st;
    char tampered[4096];

    r1 = call_tool(srv, "steps", NULL, caps, NULL);
    st = json_string_value(json_object_get(result_of(r1), "requestState"));
    assert_non_null(st);
    /* Round 2 with the state; the answer to "a" travels on in the next state. */
    r2 = call_tool(srv, "steps",
                   json_pack("{s:{s:{s:s, s:{s:s}}}, s:s}", "inputResponses", "a", "action",
                             "accept", "content", "v", "A", "requestState", st),
                   caps, NULL);
    assert_string_equal(json_string_value(json_object_get(result_of(r2), "resultType")),
                        "input_required");
    assert_string_not_equal(json_string_value(json_object_get(result_of(r2), "requestState")), st);
    r3 = call_tool(srv, "steps",
                   json_pack("{s:{s:{s:s, s:{s:s}}}, s:O}", "inputResponses", "b", "action",
                             "accept", "content", "v", "B", "requestState",
                             json_object_get(result_of(r2), "requestState")),
                   caps, NULL);
    assert_string_equal(first_text(result_of(r3)), "A+B state=two");
    json_decref(r3);

    /* Tampered, truncated, garbage, from another tool, other arguments, another server. */
    snprintf(tampered, sizeof(tampered), "%s", st);
    tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
    const char *wrong[] = {tampered, "x", "", "a.b", NULL};
    for (int i = 0; wrong[i] != NULL; i++) {
        bad = call_tool(srv, "steps", json_pack("{s:s}", "requestState", wrong[i]), caps, NULL);
        assert_int_equal(error_code(bad), WDN_JSONRPC_INVALID_PARAMS);
        json_decref(bad);
    }
    bad = call_tool(srv, "hello", json_pack("{s:s}", "requestState", st), caps, NULL);
    assert_int_equal(error_code(bad), WDN_JSONRPC_INVALID_PARAMS);
    json_decref(bad);
    bad = modern(
        srv, "tools/call", "steps",
        json_pack("{s:s, s:{s:i}, s:s}", "name", "steps", "arguments", "n", 1, "requestState", st),
        caps, NULL);
    assert_int_equal(error_code(bad), WDN_JSONRPC_INVALID_PARAMS);
    json_decref(bad);
    bad = call_tool(other, "steps", json_pack("{s:s}", "requestState", st), caps, NULL);
    assert_int_equal(error_code(bad), WDN_JSONRPC_INVALID_PARAMS);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(bad, "error"), "message")),
               "requestState"));
    json_decref(bad);
    bad = call_tool(srv, "steps", json_pack("{s:i}", "requestState", 5), caps, NULL);
    assert_int_equal(error_code(bad), WDN_JSONRPC_INVALID_PARAMS);
    json_decref(bad);

    json_decref(r1);
    json_decref(r2);
    json_decref(caps);
    wdn_mcp_server_free(srv);
    wdn_mcp_server_free(other);
}

static void mrtr_input_checks(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0);
    json_t *caps = json_pack("{s:{}}", "sampling");
    json_t *r;

    r = call_tool(srv, "hello", json_pack("{s:n}", "inputResponses"), caps, NULL);
    assert_int_equal(error_code(r), WDN_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    r = call_tool(srv, "hello", json_pack("{s:{s:i}}", "inputResponses", "who", 12345), caps, NULL);
    assert_int_equal(error_code(r), WDN_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    /* An answer under another key is ignored: the request is made again. Here the client did
     * not declare elicitation, so nothing is queued and the handler's error is the result. */
    r = call_tool(srv, "rules", NULL, caps, NULL);
    assert_string_equal(json_string_value(json_object_get(result_of(r), "resultType")),
                        "input_required");
    assert_int_equal(json_object_size(json_object_get(result_of(r), "inputRequests")), 1);
    assert_non_null(json_object_get(json_object_get(result_of(r), "inputRequests"), "s"));
    json_decref(r);
    json_decref(caps);
    wdn_mcp_server_free(srv);
}

/* A resource read takes rounds too; its caching hints are the handler's, never on a retry. */
static void resources_read_rounds_and_cache(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0);
    json_t *caps = json_pack("{s:{}}", "elicitation");
    json_t *r, *r2;

    r = modern(srv, "resources/read", "test://cached", json_pack("{s:s}", "uri", "test://cached"),
               caps, NULL);
    assert_int_equal(json_integer_value(json_object_get(result_of(r), "ttlMs")), 5000);
    assert_string_equal(json_string_value(json_object_get(result_of(r), "cacheScope")), "public");
    json_decref(r);
    r = modern(srv, "resources/read", "test://plain", json_pack("{s:s}", "uri", "test://plain"),
               caps, NULL);
    assert_int_equal(json_integer_value(json_object_get(result_of(r), "ttlMs")), 0);
    assert_string_equal(json_string_value(json_object_get(result_of(r), "cacheScope")), "private");
    json_decref(r);
    r = modern(srv, "resources/read", "test://asks", json_pack("{s:s}", "uri", "test://asks"), caps,
               NULL);
    assert_string_equal(json_string_value(json_object_get(result_of(r), "resultType")),
                        "input_required");
    r2 = modern(srv, "resources/read", "test://asks",
                json_pack("{s:s, s:{s:{s:s, s:{s:s}}}, s:O}", "uri", "test://asks",
                          "inputResponses", "ok", "action", "accept", "content", "v", "1",
                          "requestState", json_object_get(result_of(r), "requestState")),
                caps, NULL);
    assert_string_equal(json_string_value(json_object_get(result_of(r2), "resultType")),
                        "complete");
    assert_int_equal(json_integer_value(json_object_get(result_of(r2), "ttlMs")), 0);
    json_decref(r);
    json_decref(r2);
    json_decref(caps);
    wdn_mcp_server_free(srv);
}

/* ---- the same handler in a session of the initialize era ---------------------------------- */

struct legacy_call {
    struct wdn_mcp_server *srv;
    char session[128];
    json_t *response;
};

static const char *const *legacy_headers(const char *session, char *buf, size_t cap)
{
    static const char *lines[6];

    snprintf(buf, cap, "Mcp-Session-Id: %s", session);
    lines[0] = "Content-Type: application/json";
    lines[1] = "Accept: application/json, text/event-stream";
    lines[2] = "MCP-Protocol-Version: 2025-06-18";
    lines[3] = buf;
    lines[4] = NULL;
    return lines;
}

/* Runs the tools/call on its own thread: it blocks until the client answers over the stream. */
static struct wdn_buf *legacy_stream;
static pthread_mutex_t legacy_mu = PTHREAD_MUTEX_INITIALIZER;

static int stream_body(void *ud, const char *p, size_t n)
{
    pthread_mutex_lock(&legacy_mu);
    wdn_buf_append(legacy_stream, p, n);
    pthread_mutex_unlock(&legacy_mu);
    return 0;
}

static int stream_head(void *ud, int status, const struct wdn_mcp_out_header *h, size_t n)
{
    return 0;
}

static void *legacy_tool(void *arg)
{
    struct legacy_call *lc = arg;
    char buf[200];
    const char *const *lines = legacy_headers(lc->session, buf, sizeof(buf));
    struct wdn_mcp_hdr h[8];
    struct wdn_mcp_http_request r;
    struct wdn_mcp_http_out out = {stream_head, stream_body, NULL, NULL};
    struct wdn_mcp_stream *st = NULL;
    const char *body =
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"hello\",\"arguments\":{}}}";
    size_t n;

    for (n = 0; lines[n] != NULL; n++) {
        const char *colon = strchr(lines[n], ':');
        h[n] = (struct wdn_mcp_hdr){lines[n], (size_t)(colon - lines[n]), colon + 1,
                                    strlen(colon + 1)};
    }
    memset(&r, 0, sizeof(r));
    r.method = "POST";
    r.target = "/mcp";
    r.headers = h;
    r.nheaders = n;
    r.body = body;
    r.body_len = strlen(body);
    wdn_mcp_server_handle(lc->srv, &r, &out, &st);
    return NULL;
}

static void legacy_session_rounds(void **state)
{
    struct wdn_mcp_server *srv = server(false, 0);
    struct legacy_call lc = {srv, "", NULL};
    const char *init_lines[] = {"Content-Type: application/json",
                                "Accept: application/json, text/event-stream", NULL};
    struct wdn_buf stream;
    pthread_t th;
    json_t *r;
    char buf[200], reply[300], id[64] = "";
    int i, status;

    r = post(srv, init_lines,
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
             "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"elicitation\":{}},"
             "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}",
             &status, lc.session);
    assert_int_equal(status, 200);
    assert_true(lc.session[0] != '\0');
    json_decref(r);
    wdn_buf_init(&stream, 1 << 20);
    legacy_stream = &stream;
    assert_int_equal(pthread_create(&th, NULL, legacy_tool, &lc), 0);
    /* Wait for the elicitation request on the stream, then answer it on another POST. */
    for (i = 0; i < 1000 && id[0] == '\0'; i++) {
        const char *p;
        pthread_mutex_lock(&legacy_mu);
        p = strstr(wdn_buf_cstr(&stream) ? wdn_buf_cstr(&stream) : "", "\"id\":\"srv-");
        if (p != NULL)
            sscanf(p + 6, "%63[^\"]", id);
        pthread_mutex_unlock(&legacy_mu);
        if (id[0] == '\0')
            usleep(10000);
    }
    assert_true(id[0] != '\0');
    assert_non_null(strstr(wdn_buf_cstr(&stream), "elicitation/create"));
    snprintf(reply, sizeof(reply),
             "{\"jsonrpc\":\"2.0\",\"id\":\"%s\",\"result\":{\"action\":\"accept\",\"content\":"
             "{\"name\":\"Carol\"}}}",
             id);
    r = post(srv, legacy_headers(lc.session, buf, sizeof(buf)), reply, &status, NULL);
    assert_int_equal(status, 202);
    json_decref(r);
    pthread_join(th, NULL);
    assert_non_null(strstr(wdn_buf_cstr(&stream), "Hello, Carol!"));
    wdn_buf_reset(&stream);
    wdn_mcp_server_free(srv);
}

/* A stateless server of the initialize era cannot ask: a clear JSON-RPC error. */
static void legacy_stateless_cannot_ask(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0);
    const char *lines[] = {"Content-Type: application/json",
                           "Accept: application/json, text/event-stream",
                           "MCP-Protocol-Version: 2025-06-18", NULL};
    json_t *r = post(srv, lines,
                     "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
                     "\"hello\"}}",
                     NULL, NULL);

    assert_int_equal(error_code(r), WDN_JSONRPC_INTERNAL_ERROR);
    json_decref(r);
    wdn_mcp_server_free(srv);
}

/* ---- tasks -------------------------------------------------------------------------------- */

static json_t *tasks_caps(void)
{
    return json_pack("{s:{}, s:{s:{}}}", "elicitation", "extensions", WDN_MCP_EXT_TASKS);
}

/* Polls tasks/get until the status is want (or terminal); returns the last result message. */
static json_t *wait_status(struct wdn_mcp_server *srv, const char *id, const char *want,
                           json_t *caps)
{
    json_t *r = NULL;
    int i;

    for (i = 0; i < 1000; i++) {
        const char *st;
        json_decref(r);
        r = modern(srv, "tasks/get", id, json_pack("{s:s}", "taskId", id), caps, NULL);
        st = json_string_value(json_object_get(result_of(r), "status"));
        assert_non_null(st);
        if (strcmp(st, want) == 0 || strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0 ||
            strcmp(st, "cancelled") == 0)
            return r;
        usleep(10000);
    }
    fail_msg("task %s never reached %s", id, want);
    return r;
}

static char *start_task(struct wdn_mcp_server *srv, const char *tool, json_t *args, json_t *caps)
{
    json_t *r =
        modern(srv, "tools/call", tool,
               json_pack("{s:s, s:o}", "name", tool, "arguments", args ? args : json_object()),
               caps, NULL);
    json_t *res = result_of(r);
    char *id;

    assert_string_equal(json_string_value(json_object_get(res, "resultType")), "task");
    assert_string_equal(json_string_value(json_object_get(res, "status")), "working");
    assert_true(json_is_string(json_object_get(res, "createdAt")));
    assert_true(json_is_string(json_object_get(res, "lastUpdatedAt")));
    assert_true(json_integer_value(json_object_get(res, "ttlMs")) > 0);
    assert_int_equal(json_integer_value(json_object_get(res, "pollIntervalMs")), 50);
    assert_null(json_object_get(res, "requestState"));
    id = strdup(json_string_value(json_object_get(res, "taskId")));
    json_decref(r);
    return id;
}

static void tasks_lifecycle(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0);
    json_t *caps = tasks_caps(), *none = json_object(), *r;
    char *id;

    /* Completed, with the tool's result inlined. */
    id = start_task(srv, "slow", json_pack("{s:i}", "ms", 30), caps);
    r = wait_status(srv, id, "completed", caps);
    assert_string_equal(json_string_value(json_object_get(result_of(r), "resultType")), "complete");
    assert_string_equal(first_text(json_object_get(result_of(r), "result")), "slow done");
    assert_null(json_object_get(result_of(r), "error"));
    json_decref(r);
    /* Cancelling a finished task: the same empty acknowledgement. */
    r = modern(srv, "tasks/cancel", id, json_pack("{s:s}", "taskId", id), caps, NULL);
    assert_string_equal(json_string_value(json_object_get(result_of(r), "resultType")), "complete");
    assert_null(json_object_get(result_of(r), "status"));
    json_decref(r);
    free(id);

    /* A tool error is a completed task with isError; a protocol failure a failed one. */
    id = start_task(srv, "tool_error", NULL, caps);
    r = wait_status(srv, id, "completed", caps);
    assert_true(json_is_true(json_object_get(json_object_get(result_of(r), "result"), "isError")));
    json_decref(r);
    free(id);
    id = start_task(srv, "fail", NULL, caps);
    r = wait_status(srv, id, "failed", caps);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(result_of(r), "error"), "code")),
        -32099);
    assert_null(json_object_get(result_of(r), "result"));
    json_decref(r);
    free(id);

    /* Cancelled while running: the status settles to cancelled, the result is dropped. */
    slow_started = 0;
    id = start_task(srv, "slow", json_pack("{s:i}", "ms", 60000), caps);
    r = modern(srv, "tasks/cancel", id, json_pack("{s:s}", "taskId", id), caps, NULL);
    json_decref(r);
    r = wait_status(srv, id, "cancelled", caps);
    assert_string_equal(json_string_value(json_object_get(result_of(r), "status")), "cancelled");
    json_decref(r);

    /* Gating and unknown tasks. */
    r = modern(srv, "tasks/get", id, json_pack("{s:s}", "taskId", id), none, NULL);
    assert_int_equal(error_code(r), WDN_MCP_ERR_MISSING_CAPABILITY);
    json_decref(r);
    free(id);
    r = modern(srv, "tasks/get", "nope", json_pack("{s:s}", "taskId", "nope"), caps, NULL);
    assert_int_equal(error_code(r), WDN_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    r = modern(srv, "tasks/list", NULL, NULL, caps, NULL);
    assert_int_equal(error_code(r), WDN_JSONRPC_METHOD_NOT_FOUND);
    json_decref(r);
    /* Without the extension: optional tools run synchronously, required ones are refused. */
    r = call_tool(srv, "slow", json_pack("{s:{s:i}}", "arguments", "ms", 0), none, NULL);
    assert_string_equal(first_text(result_of(r)), "slow done");
    json_decref(r);
    r = call_tool(srv, "tool_error", NULL, none, NULL);
    assert_int_equal(error_code(r), WDN_MCP_ERR_MISSING_CAPABILITY);
    assert_non_null(json_object_get(
        json_object_get(json_object_get(json_object_get(json_object_get(r, "error"), "data"),
                                        "requiredCapabilities"),
                        "extensions"),
        WDN_MCP_EXT_TASKS));
    json_decref(r);
    /* The extension is advertised. */
    r = modern(srv, "server/discover", NULL, NULL, none, NULL);
    assert_non_null(json_object_get(
        json_object_get(json_object_get(result_of(r), "capabilities"), "extensions"),
        WDN_MCP_EXT_TASKS));
    json_decref(r);
    json_decref(caps);
    json_decref(none);
    wdn_mcp_server_free(srv);
}

static void tasks_input(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0);
    json_t *caps = tasks_caps(), *r, *req;
    char *id;

    id = start_task(srv, "two", NULL, caps);
    r = wait_status(srv, id, "input_required", caps);
    req = json_object_get(result_of(r), "inputRequests");
    assert_int_equal(json_object_size(req), 2);
    json_decref(r);
    /* Answers to unknown keys are ignored; a partial answer keeps the task waiting. */
    r = modern(srv, "tasks/update", id,
               json_pack("{s:s, s:{s:{}, s:{}}}", "taskId", id, "inputResponses", "zzz", "x"), caps,
               NULL);
    assert_string_equal(json_string_value(json_object_get(result_of(r), "resultType")), "complete");
    assert_null(json_object_get(result_of(r), "taskId"));
    json_decref(r);
    r = wait_status(srv, id, "input_required", caps);
    req = json_object_get(result_of(r), "inputRequests");
    assert_int_equal(json_object_size(req), 1);
    assert_non_null(json_object_get(req, "y"));
    json_decref(r);
    r = modern(srv, "tasks/update", id, json_pack("{s:s, s:i}", "taskId", id, "inputResponses", 1),
               caps, NULL);
    assert_int_equal(error_code(r), WDN_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    r = modern(srv, "tasks/update", id,
               json_pack("{s:s, s:{s:{}}}", "taskId", id, "inputResponses", "y"), caps, NULL);
    json_decref(r);
    r = wait_status(srv, id, "completed", caps);
    assert_string_equal(first_text(json_object_get(result_of(r), "result")), "task: both");
    json_decref(r);
    free(id);

    /* prepare gathers input with round trips before the task exists. */
    r = call_tool(srv, "prepared", NULL, caps, NULL);
    assert_string_equal(json_string_value(json_object_get(result_of(r), "resultType")),
                        "input_required");
    assert_null(json_object_get(result_of(r), "taskId"));
    json_t *r2 =
        call_tool(srv, "prepared",
                  json_pack("{s:{s:o}, s:O}", "inputResponses", "who", accept("name", "Dee"),
                            "requestState", json_object_get(result_of(r), "requestState")),
                  caps, NULL);
    assert_string_equal(json_string_value(json_object_get(result_of(r2), "resultType")), "task");
    assert_null(json_object_get(result_of(r2), "requestState"));
    json_decref(r);
    json_decref(r2);
    json_decref(caps);
    wdn_mcp_server_free(srv);
}

/* Freeing the server ends running tasks and joins their threads (LSan checks the rest). */
static void tasks_free_while_running(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0);
    json_t *caps = tasks_caps();
    char *ids[3];
    int i;

    slow_started = 0;
    for (i = 0; i < 3; i++)
        ids[i] = start_task(srv, "slow", json_pack("{s:i}", "ms", 600000), caps);
    for (i = 0; i < 500 && slow_started < 3; i++)
        usleep(10000);
    wdn_mcp_server_free(srv);
    for (i = 0; i < 3; i++)
        free(ids[i]);
    json_decref(caps);
}

static void tasks_limit(void **state)
{
    struct wdn_mcp_server *srv = server(true, 0);
    json_t *caps = tasks_caps(), *r;
    char *ids[WDN_MCP_MAX_TASK_THREADS];
    int i;

    for (i = 0; i < WDN_MCP_MAX_TASK_THREADS; i++)
        ids[i] = start_task(srv, "slow", json_pack("{s:i}", "ms", 600000), caps);
    r = call_tool(srv, "slow", json_pack("{s:{s:i}}", "arguments", "ms", 1), caps, NULL);
    assert_int_equal(error_code(r), WDN_JSONRPC_INTERNAL_ERROR);
    json_decref(r);
    for (i = 0; i < WDN_MCP_MAX_TASK_THREADS; i++)
        free(ids[i]);
    json_decref(caps);
    wdn_mcp_server_free(srv);
}

/* ---- pagination and caching hints --------------------------------------------------------- */

static void pagination(void **state)
{
    struct wdn_mcp_server *srv = server(true, 4);
    json_t *r, *res, *none = json_object();
    const char *cursor;
    size_t seen = 0;
    char copy[128];
    int pages = 0;

    r = modern(srv, "tools/list", NULL, NULL, none, NULL);
    for (;;) {
        res = result_of(r);
        seen += json_array_size(json_object_get(res, "tools"));
        pages++;
        assert_true(json_array_size(json_object_get(res, "tools")) <= 4);
        assert_non_null(json_object_get(res, "ttlMs"));
        cursor = json_string_value(json_object_get(res, "nextCursor"));
        if (cursor == NULL)
            break;
        snprintf(copy, sizeof(copy), "%s", cursor);
        json_decref(r);
        r = modern(srv, "tools/list", NULL, json_pack("{s:s}", "cursor", copy), none, NULL);
    }
    json_decref(r);
    assert_int_equal(seen, 9);
    assert_int_equal(pages, 3);
    /* Cursors that are not ours: -32602. */
    const char *bad[] = {"", "p4", "cDk5OQ", "cDA", "!!", NULL};
    for (int i = 0; bad[i] != NULL; i++) {
        r = modern(srv, "tools/list", NULL, json_pack("{s:s}", "cursor", bad[i]), none, NULL);
        assert_int_equal(error_code(r), WDN_JSONRPC_INVALID_PARAMS);
        json_decref(r);
    }
    r = modern(srv, "resources/list", NULL, json_pack("{s:i}", "cursor", 3), none, NULL);
    assert_int_equal(error_code(r), WDN_JSONRPC_INVALID_PARAMS);
    json_decref(r);
    json_decref(none);
    wdn_mcp_server_free(srv);
}

static void caching_hints(void **state)
{
    struct wdn_mcp_server_config cfg = {.name = "t",
                                        .version = "1",
                                        .stateless = true,
                                        .cache_ttl_ms = 60000,
                                        .cache_public = true};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);
    json_t *none = json_object(), *r;
    const char *methods[] = {"tools/list",      "prompts/list",
                             "resources/list",  "resources/templates/list",
                             "server/discover", NULL};

    for (int i = 0; methods[i] != NULL; i++) {
        r = modern(srv, methods[i], NULL, NULL, none, NULL);
        assert_int_equal(json_integer_value(json_object_get(result_of(r), "ttlMs")), 60000);
        assert_string_equal(json_string_value(json_object_get(result_of(r), "cacheScope")),
                            "public");
        json_decref(r);
    }
    json_decref(none);
    wdn_mcp_server_free(srv);
    /* A key of the wrong length is refused rather than silently replaced. */
    unsigned char key[16] = {0};
    cfg.state_key = key;
    cfg.state_key_len = sizeof(key);
    assert_null(wdn_mcp_server_new(&cfg));
}

/* Which requests the adapter may run on its loop thread. */
static void quick_requests(void **state)
{
    struct wdn_mcp_server_config cfg = {.name = "t", .version = "1"};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);
    const struct wdn_mcp_tool fast = {.name = "fast", .fn = t_plain, .quick = true};
    const struct wdn_mcp_tool slow = {.name = "slow", .fn = t_plain};
    struct wdn_mcp_hdr sid = {"Mcp-Session-Id", 14, "abc", 3};
    struct wdn_mcp_http_request r = {.method = "POST", .target = "/mcp"};
    struct {
        const char *body;
        bool session, quick;
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"fast\"}}",
         false, true},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"slow\"}}",
         false, false},
        /* In a session a handler may wait for its client (input rounds over SSE). */
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"fast\"}}",
         true, false},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", true, true},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\"}", false, false},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\"}", false, true},
        {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"id\":2,"
         "\"method\":\"tools/call\",\"params\":{\"name\":\"slow\"}}]",
         false, false},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}}",
         false, true},
    };
    size_t i;

    assert_non_null(srv);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &fast), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &slow), 0);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wdn_jsonrpc_fault f;
        assert_int_equal(wdn_jsonrpc_parse(cases[i].body, strlen(cases[i].body), &r.parsed, &f), 0);
        r.headers = cases[i].session ? &sid : NULL;
        r.nheaders = cases[i].session ? 1 : 0;
        if (wdn_mcp_server_is_quick(srv, &r) != cases[i].quick)
            fail_msg("case %zu: %s", i, cases[i].body);
        json_decref(r.parsed);
    }
    /* Unparsed POSTs are not quick; GET and DELETE reach no handler. */
    r.parsed = NULL;
    assert_false(wdn_mcp_server_is_quick(srv, &r));
    r.method = "GET";
    assert_true(wdn_mcp_server_is_quick(srv, &r));
    wdn_mcp_server_free(srv);
    /* A polling server cuts a tools/call loose from its POST: never quick. */
    cfg.sse_poll_ms = 100;
    srv = wdn_mcp_server_new(&cfg);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &fast), 0);
    r.method = "POST";
    r.headers = NULL;
    r.nheaders = 0;
    struct wdn_jsonrpc_fault f2;
    assert_int_equal(wdn_jsonrpc_parse(cases[0].body, strlen(cases[0].body), &r.parsed, &f2), 0);
    assert_false(wdn_mcp_server_is_quick(srv, &r));
    json_decref(r.parsed);
    wdn_mcp_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mrtr_round_trip),
        cmocka_unit_test(mrtr_state_is_sealed),
        cmocka_unit_test(mrtr_input_checks),
        cmocka_unit_test(resources_read_rounds_and_cache),
        cmocka_unit_test(legacy_session_rounds),
        cmocka_unit_test(legacy_stateless_cannot_ask),
        cmocka_unit_test(tasks_lifecycle),
        cmocka_unit_test(tasks_input),
        cmocka_unit_test(tasks_free_while_running),
        cmocka_unit_test(tasks_limit),
        cmocka_unit_test(pagination),
        cmocka_unit_test(caching_hints),
        cmocka_unit_test(quick_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
