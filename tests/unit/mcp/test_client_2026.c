/* Unit tests for the MCP client's 2026-07-28 side against a scripted server: server/discover and
 * its retry on UnsupportedProtocolVersion, the fallback to initialize, per-request _meta,
 * Mcp-Method / Mcp-Name / Mcp-Param-* headers and the tools whose x-mcp-header marks are invalid,
 * input_required rounds (SEP-2322) and cancellation, also of a tools/call that may become a
 * task (SEP-2663). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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

#define MAX_SEEN 64

/* What the scripted server saw and how it behaves. */
struct script {
    pthread_mutex_t lock;
    json_t *seen[MAX_SEEN]; /* request bodies, in order */
    char heads[MAX_SEEN][2048];
    int n;
    int reject_versions;   /* answer this many requests with -32022 first */
    bool legacy_only;      /* no server/discover: 404 -32601, initialize works */
    const char *supported; /* data.supported of -32022, JSON array text */
    int input_rounds;      /* tools/call "ask" answers input_required this many times */
    bool slow;             /* tools/call waits (for cancel) */
    int slow_ms;           /* that long at most (0: 4000) */
    bool hold_task;        /* tools/call answers a task, once the client was cancelled */
    atomic_bool holding;   /* the held tools/call arrived */
    atomic_bool cancel_issued;
    atomic_bool cancelled;
};

static struct script S;

static void record(const struct fakehttp_req *req, json_t *body)
{
    pthread_mutex_lock(&S.lock);
    if (S.n < MAX_SEEN) {
        S.seen[S.n] = json_incref(body);
        snprintf(S.heads[S.n], sizeof(S.heads[S.n]), "%s", req->head);
        S.n++;
    }
    pthread_mutex_unlock(&S.lock);
}

static void reply(const struct fakehttp_req *req, json_t *id, json_t *result)
{
    json_t *msg = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
    char *s = json_dumps(msg, JSON_COMPACT);

    fakehttp_respond(req, 200, NULL, s);
    free(s);
    json_decref(msg);
}

static void reply_error(const struct fakehttp_req *req, int status, json_t *id, int code,
                        json_t *data)
{
    json_t *err = json_pack("{s:i, s:s}", "code", code, "message", "refused");
    json_t *msg;
    char *s;

    if (data != NULL)
        json_object_set_new(err, "data", data);
    msg = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error", err);
    s = json_dumps(msg, JSON_COMPACT);
    fakehttp_respond(req, status, NULL, s);
    free(s);
    json_decref(msg);
}

static const char *TOOLS =
    "{\"tools\":["
    "{\"name\":\"good\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
    "\"note\":{\"type\":\"string\",\"x-mcp-header\":\"Note\"},"
    "\"count\":{\"type\":\"integer\",\"x-mcp-header\":\"Count\"},"
    "\"flag\":{\"type\":\"boolean\",\"x-mcp-header\":\"Flag\"},"
    "\"gone\":{\"type\":\"string\",\"x-mcp-header\":\"Gone\"},"
    "\"plain\":{\"type\":\"string\"}}}},"
    "{\"name\":\"empty\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"v\":{\"type\":\"string\",\"x-mcp-header\":\"\"}}}},"
    "{\"name\":\"object\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"v\":{\"type\":\"object\",\"x-mcp-header\":\"V\"}}}},"
    "{\"name\":\"number\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"v\":{\"type\":\"number\",\"x-mcp-header\":\"V\"}}}},"
    "{\"name\":\"twice\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"a\":{\"type\":\"string\",\"x-mcp-header\":\"Same\"},"
    "\"b\":{\"type\":\"string\",\"x-mcp-header\":\"same\"}}}},"
    "{\"name\":\"colon\",\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"v\":{\"type\":\"string\",\"x-mcp-header\":\"A:B\"}}}},"
    "{\"name\":\"plain\",\"inputSchema\":{\"type\":\"object\"}}]}";

static void serve(void *ud, const struct fakehttp_req *req)
{
    json_t *body, *id, *params;
    const char *method;
    (void)ud;

    if (strcmp(req->method, "POST") != 0) {
        fakehttp_respond(req, 405, NULL, NULL);
        return;
    }
    body = json_loads(req->body, 0, NULL);
    record(req, body);
    id = json_object_get(body, "id");
    method = json_string_value(json_object_get(body, "method"));
    params = json_object_get(body, "params");
    if (id == NULL) {
        if (strcmp(method, "notifications/cancelled") == 0)
            atomic_store(&S.cancelled, true);
        fakehttp_respond(req, 202, NULL, NULL);
    } else if (S.reject_versions > 0) {
        S.reject_versions--;
        reply_error(req, 400, id, WDN_MCP_ERR_UNSUPPORTED_VERSION,
                    json_pack("{s:o, s:s}", "supported", json_loads(S.supported, 0, NULL),
                              "requested", "x"));
    } else if (strcmp(method, "server/discover") == 0 && S.legacy_only) {
        reply_error(req, 404, id, WDN_JSONRPC_METHOD_NOT_FOUND, NULL);
    } else if (strcmp(method, "server/discover") == 0) {
        reply(req, id,
              json_pack("{s:[s], s:{s:{}}, s:{s:s, s:s}}", "supportedVersions", "2026-07-28",
                        "capabilities", "tools", "serverInfo", "name", "fake", "version", "1"));
    } else if (strcmp(method, "initialize") == 0) {
        reply(req, id,
              json_pack("{s:O, s:{}, s:{s:s, s:s}}", "protocolVersion",
                        json_object_get(params, "protocolVersion"), "capabilities", "serverInfo",
                        "name", "fake", "version", "1"));
    } else if (strcmp(method, "tools/list") == 0) {
        reply(req, id, json_loads(TOOLS, 0, NULL));
    } else if (strcmp(method, "tools/call") == 0 && S.slow) {
        for (int i = 0; i < (S.slow_ms ? S.slow_ms : 4000) / 20 && !atomic_load(&S.cancelled); i++)
            usleep(20000);
        reply(req, id, json_pack("{s:[]}", "content"));
    } else if (strcmp(method, "tools/call") == 0 && S.hold_task) {
        /* The CreateTaskResult leaves only after the client was cancelled. */
        atomic_store(&S.holding, true);
        for (int i = 0; i < 500 && !atomic_load(&S.cancel_issued); i++)
            usleep(20000);
        reply(req, id,
              json_pack("{s:s, s:s, s:s, s:i, s:i}", "resultType", "task", "taskId", "task-7",
                        "status", "working", "pollIntervalMs", 20, "ttlMs", 60000));
    } else if (strcmp(method, "tasks/cancel") == 0) {
        reply(req, id,
              json_pack("{s:O, s:s}", "taskId", json_object_get(params, "taskId"), "status",
                        "cancelled"));
    } else if (strcmp(method, "tools/call") == 0 &&
               strcmp(json_string_value(json_object_get(params, "name")), "ask") == 0 &&
               S.input_rounds > 0) {
        S.input_rounds--;
        reply(req, id,
              json_pack("{s:s, s:{s:{s:s, s:{s:s}}}, s:s}", "resultType", "input_required",
                        "inputRequests", "q", "method", "elicitation/create", "params", "message",
                        "ok?", "requestState", "opaque-state"));
    } else {
        reply(req, id,
              json_pack("{s:s, s:[{s:s, s:s}]}", "resultType", "complete", "content", "type",
                        "text", "text", "done"));
    }
    json_decref(body);
}

static struct fakehttp *srv;
static char url[128];

static int setup(void **state)
{
    (void)state;
    memset(&S, 0, sizeof(S));
    pthread_mutex_init(&S.lock, NULL);
    srv = fakehttp_start(serve, NULL);
    if (srv == NULL)
        return -1;
    fakehttp_url(srv, "/mcp", url, sizeof(url));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fakehttp_stop(srv);
    for (int i = 0; i < S.n; i++)
        json_decref(S.seen[i]);
    pthread_mutex_destroy(&S.lock);
    return 0;
}

static int elicits;

static int on_request(void *ud, const char *method, json_t *params, json_t **result, char *msg,
                      size_t cap)
{
    (void)ud;
    (void)params;
    (void)msg;
    (void)cap;
    if (strcmp(method, "elicitation/create") != 0)
        return WDN_ENOTFOUND;
    elicits++;
    *result = json_pack("{s:s, s:{s:b}}", "action", "accept", "content", "ok", 1);
    return 0;
}

static struct wdn_mcp_client *client(const char *version, bool handler)
{
    struct wdn_mcp_client_config cfg;
    struct wdn_mcp_error e;

    memset(&cfg, 0, sizeof(cfg));
    cfg.url = url;
    cfg.protocol_version = version;
    cfg.client_name = "t";
    cfg.client_version = "9";
    cfg.timeout_ms = 10000;
    cfg.capabilities = "{\"elicitation\":{}}";
    if (handler)
        cfg.on_request = on_request;
    return wdn_mcp_client_new(&cfg, &e);
}

static const char *head_value(int i, const char *name, char *out, size_t cap)
{
    struct fakehttp_req r;

    memset(&r, 0, sizeof(r));
    r.head = S.heads[i];
    return fakehttp_header(&r, name, out, cap);
}

static const char *method_of(int i)
{
    return json_string_value(json_object_get(S.seen[i], "method"));
}

/* server/discover, then every request carries the version in _meta and the header. */
static void test_discover_and_meta(void **state)
{
    struct wdn_mcp_client *c = client("2026-07-28", false);
    struct wdn_mcp_error e;
    json_t *tools = NULL, *meta;
    char v[128];
    (void)state;

    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    assert_string_equal(wdn_mcp_client_version(c), "2026-07-28");
    assert_int_equal(wdn_mcp_client_list_tools(c, &tools, &e), 0);
    json_decref(tools);
    assert_int_equal(S.n, 2);
    assert_string_equal(method_of(0), "server/discover");
    for (int i = 0; i < 2; i++) {
        meta = json_object_get(json_object_get(S.seen[i], "params"), "_meta");
        assert_string_equal(
            json_string_value(json_object_get(meta, "io.modelcontextprotocol/protocolVersion")),
            "2026-07-28");
        assert_string_equal(
            json_string_value(json_object_get(
                json_object_get(meta, "io.modelcontextprotocol/clientInfo"), "name")),
            "t");
        assert_true(json_is_object(json_object_get(
            json_object_get(meta, "io.modelcontextprotocol/clientCapabilities"), "elicitation")));
        assert_string_equal(head_value(i, "MCP-Protocol-Version", v, sizeof(v)), "2026-07-28");
        assert_string_equal(head_value(i, "Mcp-Method", v, sizeof(v)), method_of(i));
        assert_null(head_value(i, "Mcp-Session-Id", v, sizeof(v)));
    }
    wdn_mcp_client_free(c);
}

/* Positional params (a JSON array) have no _meta. A request refuses them (MCP params are
 * objects); a notification sends them as given, the version in its header only (the metadata
 * was written into an object jansson had already released). */
static void test_positional_params(void **state)
{
    struct wdn_mcp_client *c = client("2026-07-28", false);
    struct wdn_mcp_error e;
    json_t *result = NULL;
    char v[128];
    (void)state;

    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    assert_int_equal(wdn_mcp_client_request(c, "x/positional", json_pack("[i]", 1), &result, &e),
                     WDN_EINVAL);
    assert_null(result);
    assert_string_equal(e.message, "params must be an object");
    assert_int_equal(
        wdn_mcp_client_notify(c, "notifications/x", json_pack("[i, s]", 1, "two"), &e), 0);
    assert_int_equal(S.n, 2);
    assert_string_equal(method_of(1), "notifications/x");
    json_t *params = json_object_get(S.seen[1], "params");
    assert_true(json_is_array(params));
    assert_int_equal(json_array_size(params), 2);
    assert_string_equal(json_string_value(json_array_get(params, 1)), "two");
    assert_string_equal(head_value(1, "MCP-Protocol-Version", v, sizeof(v)), "2026-07-28");
    wdn_mcp_client_free(c);
}

/* UnsupportedProtocolVersion naming a modern version: the discover is sent again, once. */
static void test_unsupported_version_retry(void **state)
{
    struct wdn_mcp_client *c = client("2026-07-28", false);
    struct wdn_mcp_error e;
    (void)state;

    S.reject_versions = 1;
    S.supported = "[\"2026-07-28\"]";
    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    assert_string_equal(wdn_mcp_client_version(c), "2026-07-28");
    assert_int_equal(S.n, 2);
    assert_string_equal(method_of(0), "server/discover");
    assert_string_equal(method_of(1), "server/discover");
    wdn_mcp_client_free(c);
}

/* UnsupportedProtocolVersion naming only initialize-era versions: initialize with the best. */
static void test_unsupported_version_legacy(void **state)
{
    struct wdn_mcp_client *c = client("2026-07-28", false);
    struct wdn_mcp_error e;
    (void)state;

    S.reject_versions = 1;
    S.supported = "[\"2025-03-26\",\"2025-06-18\",\"1999-01-01\"]";
    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    assert_string_equal(wdn_mcp_client_version(c), "2025-06-18");
    assert_string_equal(method_of(1), "initialize");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(S.seen[1], "params"), "protocolVersion")),
        "2025-06-18");
    wdn_mcp_client_free(c);
}

/* A server of the initialize era: discover gets 404, the client falls back. */
static void test_fallback_to_initialize(void **state)
{
    struct wdn_mcp_client *c = client("2026-07-28", false);
    struct wdn_mcp_error e;
    (void)state;

    S.legacy_only = true;
    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    assert_string_equal(wdn_mcp_client_version(c), "2025-11-25");
    assert_string_equal(method_of(0), "server/discover");
    assert_string_equal(method_of(1), "initialize");
    assert_string_equal(method_of(2), "notifications/initialized");
    wdn_mcp_client_free(c);
}

/* x-mcp-header: invalid tools are dropped from the list; a call mirrors the marked arguments. */
static void test_param_headers(void **state)
{
    struct wdn_mcp_client *c = client("2026-07-28", false);
    struct wdn_mcp_error e;
    json_t *tools = NULL, *res = NULL;
    char v[256];
    int last;
    (void)state;

    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    assert_int_equal(wdn_mcp_client_list_tools(c, &tools, &e), 0);
    assert_int_equal(json_array_size(tools), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tools, 0), "name")),
                        "good");
    assert_string_equal(json_string_value(json_object_get(json_array_get(tools, 1), "name")),
                        "plain");
    json_decref(tools);
    assert_int_equal(wdn_mcp_client_call_tool(c, "good",
                                              json_pack("{s:s, s:s, s:i, s:b, s:n, s:s}", "region",
                                                        "us-west1", "note", " Grüße\n", "count", 42,
                                                        "flag", 0, "gone", "plain", "x"),
                                              &res, &e),
                     0);
    json_decref(res);
    last = S.n - 1;
    assert_string_equal(head_value(last, "Mcp-Method", v, sizeof(v)), "tools/call");
    assert_string_equal(head_value(last, "Mcp-Name", v, sizeof(v)), "good");
    assert_string_equal(head_value(last, "Mcp-Param-Region", v, sizeof(v)), "us-west1");
    /* " Grüße\n" in UTF-8, Base64. */
    assert_string_equal(head_value(last, "Mcp-Param-Note", v, sizeof(v)),
                        "=?base64?IEdyw7zDn2UK?=");
    assert_string_equal(head_value(last, "Mcp-Param-Count", v, sizeof(v)), "42");
    assert_string_equal(head_value(last, "Mcp-Param-Flag", v, sizeof(v)), "false");
    assert_null(head_value(last, "Mcp-Param-Gone", v, sizeof(v)));  /* null: omitted */
    assert_null(head_value(last, "Mcp-Param-Plain", v, sizeof(v))); /* not marked */
    wdn_mcp_client_free(c);
}

/* input_required: the handler answers, the retry carries inputResponses and the state with a
 * new id; the next, unrelated request carries neither. */
static void test_input_required(void **state)
{
    struct wdn_mcp_client *c = client("2026-07-28", true);
    struct wdn_mcp_error e;
    json_t *res = NULL, *p;
    (void)state;

    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    S.input_rounds = 2;
    elicits = 0;
    assert_int_equal(wdn_mcp_client_call_tool(c, "ask", NULL, &res, &e), 0);
    assert_string_equal(wdn_mcp_result_text(res), "done");
    json_decref(res);
    assert_int_equal(elicits, 2);
    assert_int_equal(S.n, 4); /* discover, ask, ask + input, ask + input */
    assert_null(json_object_get(json_object_get(S.seen[1], "params"), "inputResponses"));
    for (int i = 2; i < 4; i++) {
        p = json_object_get(S.seen[i], "params");
        assert_true(json_is_true(json_object_get(
            json_object_get(json_object_get(json_object_get(p, "inputResponses"), "q"), "content"),
            "ok")));
        assert_string_equal(json_string_value(json_object_get(p, "requestState")), "opaque-state");
        assert_false(
            json_equal(json_object_get(S.seen[i], "id"), json_object_get(S.seen[i - 1], "id")));
    }
    assert_int_equal(wdn_mcp_client_call_tool(c, "other", NULL, &res, &e), 0);
    json_decref(res);
    p = json_object_get(S.seen[S.n - 1], "params");
    assert_null(json_object_get(p, "inputResponses"));
    assert_null(json_object_get(p, "requestState"));
    /* A server that never stops asking: bounded. */
    S.input_rounds = 1000;
    assert_int_equal(wdn_mcp_client_call_tool(c, "ask", NULL, &res, &e), WDN_ELIMIT);
    assert_null(res);
    wdn_mcp_client_free(c);
}

/* Without a handler the client cannot give input: a clear error, no retry. */
static void test_input_required_unanswerable(void **state)
{
    struct wdn_mcp_client *c = client("2026-07-28", false);
    struct wdn_mcp_error e;
    json_t *res = NULL;
    int before;
    (void)state;

    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    S.input_rounds = 1;
    before = S.n;
    assert_int_equal(wdn_mcp_client_call_tool(c, "ask", NULL, &res, &e), WDN_EUNSUPPORTED);
    assert_non_null(strstr(e.message, "elicitation/create"));
    assert_int_equal(S.n, before + 1);
    wdn_mcp_client_free(c);
}

struct canceller {
    struct wdn_mcp_client *c;
};

static void *cancel_main(void *arg)
{
    struct canceller *k = arg;

    usleep(200000);
    wdn_mcp_client_cancel(k->c);
    return NULL;
}

/* Cancel from another thread (as a SIGINT handler would): ECANCELED, and the server is told. */
static void test_cancel(void **state)
{
    struct wdn_mcp_client *c = client("2026-07-28", false);
    struct wdn_mcp_error e;
    struct canceller k = {c};
    json_t *res = NULL, *cancelled = NULL;
    pthread_t t;
    (void)state;

    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    S.slow = true;
    assert_int_equal(pthread_create(&t, NULL, cancel_main, &k), 0);
    assert_int_equal(wdn_mcp_client_call_tool(c, "slow", NULL, &res, &e), WDN_ECANCELED);
    pthread_join(t, NULL);
    assert_true(atomic_load(&S.cancelled));
    for (int i = 0; i < S.n; i++)
        if (strcmp(method_of(i), "notifications/cancelled") == 0)
            cancelled = S.seen[i];
    assert_non_null(cancelled);
    assert_true(json_equal(json_object_get(json_object_get(cancelled, "params"), "requestId"),
                           json_object_get(S.seen[1], "id")));
    wdn_mcp_client_free(c);
}

/* A client that declared the tasks extension (SEP-2663). */
static struct wdn_mcp_client *task_client(void)
{
    struct wdn_mcp_client_config cfg;
    struct wdn_mcp_error e;

    memset(&cfg, 0, sizeof(cfg));
    cfg.url = url;
    cfg.protocol_version = "2026-07-28";
    cfg.timeout_ms = 10000;
    cfg.capabilities = "{\"extensions\":{\"" WDN_MCP_EXT_TASKS "\":{}}}";
    return wdn_mcp_client_new(&cfg, &e);
}

static int count_method(const char *method, json_t **last)
{
    int n = 0;

    for (int i = 0; i < S.n; i++)
        if (strcmp(method_of(i), method) == 0) {
            n++;
            if (last != NULL)
                *last = S.seen[i];
        }
    return n;
}

static void *cancel_when_held(void *arg)
{
    for (int i = 0; i < 500 && !atomic_load(&S.holding); i++)
        usleep(20000);
    wdn_mcp_client_cancel(arg);
    atomic_store(&S.cancel_issued, true);
    return NULL;
}

/* A tools/call that may become a task, cancelled before its CreateTaskResult arrived: the client
 * waits for the answer (bounded) and ends the task it names with tasks/cancel, instead of
 * leaving it to run on with only a notifications/cancelled for a request that was answered. */
static void test_cancel_before_task_created(void **state)
{
    struct wdn_mcp_client *c = task_client();
    struct wdn_mcp_error e;
    json_t *res = NULL, *tc = NULL;
    pthread_t t;
    (void)state;

    assert_non_null(c);
    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    S.hold_task = true;
    assert_int_equal(pthread_create(&t, NULL, cancel_when_held, c), 0);
    assert_int_equal(wdn_mcp_client_call_tool(c, "slow", NULL, &res, &e), WDN_ECANCELED);
    pthread_join(t, NULL);
    assert_null(res);
    assert_int_equal(count_method("tasks/cancel", &tc), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(tc, "params"), "taskId")),
                        "task-7");
    assert_int_equal(count_method("notifications/cancelled", NULL), 0);
    assert_int_equal(count_method("tasks/get", NULL), 0);
    wdn_mcp_client_free(c);
}

/* The same client, but the server never answers the tools/call: the wait for a task is bounded
 * (WDN_MCP_CLIENT_TASK_CANCEL_WAIT_MS, well within the server's 9 s hold and the call's 10 s
 * timeout), then the request is abandoned and the server told with notifications/cancelled. */
static void test_cancel_task_request_unanswered(void **state)
{
    struct wdn_mcp_client *c = task_client();
    struct wdn_mcp_error e;
    struct canceller k = {c};
    json_t *res = NULL, *call = NULL, *cancelled = NULL;
    pthread_t t;
    (void)state;

    assert_non_null(c);
    assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
    S.slow = true;
    S.slow_ms = 9000;
    assert_int_equal(pthread_create(&t, NULL, cancel_main, &k), 0);
    assert_int_equal(wdn_mcp_client_call_tool(c, "slow", NULL, &res, &e), WDN_ECANCELED);
    pthread_join(t, NULL);
    assert_int_equal(count_method("tools/call", &call), 1);
    assert_int_equal(count_method("notifications/cancelled", &cancelled), 1);
    assert_true(json_equal(json_object_get(json_object_get(cancelled, "params"), "requestId"),
                           json_object_get(call, "id")));
    assert_int_equal(count_method("tasks/cancel", NULL), 0);
    wdn_mcp_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_discover_and_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_positional_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_version_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_version_legacy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fallback_to_initialize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_param_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_required_unanswerable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_before_task_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_task_request_unanswered, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
