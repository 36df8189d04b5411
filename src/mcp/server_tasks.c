/* Tasks (SEP-2663, the io.modelcontextprotocol/tasks extension): a tools/call answered with a
 * task handle while the tool runs on a thread of its own, then tasks/get (status, the pending
 * input requests, the result or error inlined), tasks/update (answers for an input_required
 * task) and tasks/cancel. tasks/list and tasks/result were removed by the SEP and are not
 * methods here (-32601). */
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "mcp/server_int.h"

enum tstatus { T_WORKING, T_INPUT, T_COMPLETED, T_FAILED, T_CANCELLED };

static const char *const status_names[] = {"working", "input_required", "completed", "failed",
                                           "cancelled"};

struct task {
    struct task *next;
    char id[33];                      /* 128 random bits, hex */
    char session[SESSION_ID_LEN + 1]; /* the session it belongs to; "" on 2026-07-28 */
    enum tstatus status;
    uint64_t created_ms, updated_ms; /* wall clock, for createdAt / lastUpdatedAt */
    uint64_t expires_mono;           /* a finished task is dropped after this */
    long ttl_ms, poll_ms;
    json_t *result, *error; /* completed / failed */
    json_t *pending;        /* input_required: the requests not answered yet */
    json_t *answers;        /* every answer so far (tasks/update, or gathered before) */
    atomic_bool cancelled;
    bool done; /* the thread has finished */
    pthread_t thread;

    /* What runs: owned copies, read by the task's thread only. */
    struct wdn_mcp_server *srv;
    struct tool *tool;
    json_t *args, *caps;
    char *state;
    const char *version;
    bool modern;
};

static bool task_terminal(const struct task *t)
{
    return t->status == T_COMPLETED || t->status == T_FAILED || t->status == T_CANCELLED;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void iso8601(uint64_t ms, char *out, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char base[32];

    gmtime_r(&secs, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03uZ", base, (unsigned)(ms % 1000));
}

static void task_free(struct task *t)
{
    json_decref(t->result);
    json_decref(t->error);
    json_decref(t->pending);
    json_decref(t->answers);
    json_decref(t->args);
    json_decref(t->caps);
    free(t->state);
    free(t);
}

/* The Task fields every shape carries (CreateTaskResult, tasks/get). Caller holds srv->mu. */
static json_t *task_json(const struct task *t, const char *result_type)
{
    char created[40], updated[40];

    iso8601(t->created_ms, created, sizeof(created));
    iso8601(t->updated_ms, updated, sizeof(updated));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "resultType", result_type, "taskId",
                     t->id, "status", status_names[t->status], "createdAt", created,
                     "lastUpdatedAt", updated, "ttlMs", (json_int_t)t->ttl_ms, "pollIntervalMs",
                     (json_int_t)t->poll_ms);
}

/* Caller holds srv->mu. */
static void set_status(struct task *t, enum tstatus s)
{
    t->status = s;
    t->updated_ms = wall_ms();
    if (task_terminal(t))
        t->expires_mono = wdn_clock_mono_ms() + (uint64_t)t->ttl_ms;
}

/* ---- The task's thread ------------------------------------------------------------------- */

static int null_head(void *ud, int status, const struct wdn_mcp_out_header *h, size_t n)
{
    return 1;
}

static int null_body(void *ud, const char *p, size_t n)
{
    return 1;
}

/* A task has no stream: progress and log messages are not sent on tasks (SEP-2663). */
static const struct wdn_mcp_http_out null_out = {null_head, null_body, NULL, NULL};

/* Parks the task in input_required until every pending request has an answer; merges the
 * answers into call. 0, or WDN_ECANCELED (cancelled, server stopping), WDN_ETIMEOUT. */
static int wait_input(struct task *t, struct wdn_mcp_call *call, json_t *pending)
{
    struct wdn_mcp_server *srv = t->srv;
    uint64_t deadline = wdn_clock_mono_ms() + WDN_MCP_TASK_INPUT_WAIT_MS;
    int rc = 0;

    pthread_mutex_lock(&srv->mu);
    json_decref(t->pending);
    t->pending = pending;
    if (!atomic_load(&t->cancelled))
        set_status(t, T_INPUT);
    while (rc == 0 && json_object_size(t->pending) > 0) {
        struct timespec ts;
        uint64_t now = wdn_clock_mono_ms();
        if (atomic_load(&t->cancelled) || srv->stopping)
            rc = WDN_ECANCELED;
        else if (now >= deadline)
            rc = WDN_ETIMEOUT;
        else {
            /* The condition variable uses the real-time clock; wake at least once a second. */
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&srv->task_cv, &srv->mu, &ts);
        }
    }
    json_decref(t->pending);
    t->pending = NULL;
    if (rc == 0) {
        if (call->answers == NULL)
            call->answers = json_object();
        if (call->answers == NULL || json_object_update(call->answers, t->answers) != 0)
            rc = WDN_ENOMEM;
        if (!atomic_load(&t->cancelled))
            set_status(t, T_WORKING);
    }
    pthread_mutex_unlock(&srv->mu);
    return rc;
}

/* Records the outcome unless the task was cancelled meanwhile (its result is then dropped). */
static void finish(struct task *t, json_t *result, int code, const char *msg)
{
    struct wdn_mcp_server *srv = t->srv;

    pthread_mutex_lock(&srv->mu);
    if (!atomic_load(&t->cancelled) && !task_terminal(t)) {
        if (result != NULL) {
            t->result = result;
            result = NULL;
            set_status(t, T_COMPLETED);
        } else {
            t->error = json_pack("{s:i, s:s}", "code", code, "message", msg);
            set_status(t, T_FAILED);
        }
    }
    t->done = true;
    srv->nrunning--;
    pthread_cond_broadcast(&srv->task_cv);
    pthread_mutex_unlock(&srv->mu);
    json_decref(result);
}

static void *task_main(void *arg)
{
    struct task *t = arg;
    struct exchange ex;
    struct wdn_mcp_call call;
    struct rpc_err e = {0, "", NULL};
    json_t *pending, *result = NULL;
    int rc = 0, round;

    memset(&ex, 0, sizeof(ex));
    ex.srv = t->srv;
    ex.out = &null_out;
    ex.head_sent = ex.dead = true;
    ex.version = t->version;
    ex.modern = t->modern;
    ex.log_level = -2;
    memset(&call, 0, sizeof(call));
    call.ex = &ex;
    call.caps = t->caps;
    call.task = t;
    call.method = "tools/call";
    call.name = t->tool->name;
    call.args = t->args;
    call.content = json_array();
    pthread_mutex_lock(&t->srv->mu);
    call.answers = json_copy(t->answers);
    call.state_in = t->state;
    t->state = NULL;
    pthread_mutex_unlock(&t->srv->mu);
    if (call.content == NULL || call.answers == NULL) {
        finish(t, NULL, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
        goto out;
    }
    for (round = 0; round < WDN_MCP_MAX_INPUT_ROUNDS; round++) {
        rc = t->tool->fn(&call, t->args, t->tool->ud);
        if (atomic_load(&t->cancelled))
            break;
        if (call.fail_code != 0) {
            finish(t, NULL, call.fail_code, call.fail_msg);
            goto out;
        }
        if ((pending = wdn__mcp_unanswered(&call)) == NULL) {
            result = wdn__mcp_tool_result(t->tool, &call, rc, &e);
            finish(t, result, e.code, e.msg);
            json_decref(e.data);
            goto out;
        }
        rc = wait_input(t, &call, pending);
        if (rc != 0)
            break;
        wdn__mcp_round_reset(&call);
    }
    finish(t, NULL, WDN_JSONRPC_INTERNAL_ERROR,
           rc == WDN_ETIMEOUT ? "Internal error: no answer to the task's input requests"
                              : "Internal error: the task ended without a result");
out:
    json_decref(call.content);
    json_decref(call.structured);
    wdn__mcp_input_done(&call);
    return NULL;
}

/* ---- Methods ---------------------------------------------------------------------------- */

static json_t *request_caps(const struct exchange *ex, json_t *params)
{
    return ex->modern ? json_object_get(json_object_get(params, "_meta"),
                                        "io.modelcontextprotocol/clientCapabilities")
                      : ex->client_caps;
}

static bool caps_have_tasks(const json_t *caps)
{
    return json_object_get(json_object_get(caps, "extensions"), WDN_MCP_EXT_TASKS) != NULL;
}

bool wdn__mcp_task_cancelled(const struct task *t)
{
    return atomic_load(&t->cancelled);
}

bool wdn__mcp_client_has_tasks(const struct wdn_mcp_call *call)
{
    return caps_have_tasks(call->caps);
}

/* Drops finished tasks past their TTL. Caller holds srv->mu; the threads are done. */
static void sweep(struct wdn_mcp_server *srv)
{
    struct task **pp = &srv->tasks, *t;
    uint64_t now = wdn_clock_mono_ms();

    while ((t = *pp) != NULL) {
        if (t->done && task_terminal(t) && now >= t->expires_mono) {
            *pp = t->next;
            srv->ntasks--;
            pthread_join(t->thread, NULL); /* finished: returns at once */
            task_free(t);
        } else {
            pp = &t->next;
        }
    }
}

json_t *wdn__mcp_task_start(struct exchange *ex, struct tool *tool, json_t *params,
                            struct wdn_mcp_call *call, struct rpc_err *e)
{
    struct wdn_mcp_server *srv = ex->srv;
    json_t *args = json_object_get(params, "arguments");
    unsigned char raw[16];
    struct task *t;
    json_t *r;
    size_t i;

    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    t->srv = srv;
    t->tool = tool;
    t->version = ex->version;
    t->modern = ex->modern;
    memcpy(t->session, ex->session, sizeof(t->session));
    t->ttl_ms = srv->task_ttl_ms;
    t->poll_ms = srv->task_poll_ms;
    atomic_init(&t->cancelled, false);
    t->args = json_is_object(args) ? json_deep_copy(args) : json_object();
    t->caps = call->caps != NULL ? json_deep_copy(call->caps) : NULL;
    t->answers = call->answers != NULL ? json_deep_copy(call->answers) : json_object();
    if (call->state_out != NULL || call->state_in != NULL)
        t->state = strdup(call->state_out != NULL ? call->state_out : call->state_in);
    if (t->args == NULL || (call->caps != NULL && t->caps == NULL) || t->answers == NULL ||
        RAND_bytes(raw, sizeof(raw)) != 1) {
        task_free(t);
        return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    }
    for (i = 0; i < sizeof(raw); i++)
        snprintf(t->id + 2 * i, 3, "%02x", raw[i]);
    t->created_ms = t->updated_ms = wall_ms();

    pthread_mutex_lock(&srv->mu);
    sweep(srv);
    if (srv->stopping || srv->ntasks >= WDN_MCP_MAX_TASKS ||
        srv->nrunning >= WDN_MCP_MAX_TASK_THREADS) {
        pthread_mutex_unlock(&srv->mu);
        task_free(t);
        return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR,
                             "Internal error: too many tasks, try again later");
    }
    /* Linked before the answer goes out, so tasks/get finds it at once (durable create). */
    if (pthread_create(&t->thread, NULL, task_main, t) != 0) {
        pthread_mutex_unlock(&srv->mu);
        task_free(t);
        return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: cannot start task");
    }
    t->next = srv->tasks;
    srv->tasks = t;
    srv->ntasks++;
    srv->nrunning++;
    r = task_json(t, "task");
    pthread_mutex_unlock(&srv->mu);
    if (r == NULL)
        wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    return r;
}

/*
 * The common start of tasks/get, tasks/update and tasks/cancel: the extension must be declared
 * (-32021) and the task known to this caller (-32602). Returns the task with srv->mu held, or
 * NULL with e filled and the lock released.
 */
static struct task *task_find(struct exchange *ex, json_t *params, struct rpc_err *e)
{
    const char *id = json_string_value(json_object_get(params, "taskId"));
    struct task *t;

    if (!caps_have_tasks(request_caps(ex, params))) {
        e->data =
            json_pack("{s:{s:{s:{}}}}", "requiredCapabilities", "extensions", WDN_MCP_EXT_TASKS);
        wdn__mcp_fail(e, WDN_MCP_ERR_MISSING_CAPABILITY,
                      "Missing required client capability: extensions." WDN_MCP_EXT_TASKS);
        return NULL;
    }
    if (id == NULL) {
        wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: taskId must be a string");
        return NULL;
    }
    pthread_mutex_lock(&ex->srv->mu);
    sweep(ex->srv);
    for (t = ex->srv->tasks; t != NULL; t = t->next)
        if (strcmp(t->id, id) == 0 && strcmp(t->session, ex->session) == 0)
            return t;
    pthread_mutex_unlock(&ex->srv->mu);
    wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: unknown task");
    return NULL;
}

json_t *wdn__mcp_tasks_get(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    struct task *t = task_find(ex, params, e);
    json_t *r;

    if (t == NULL)
        return NULL;
    r = task_json(t, "complete");
    if (r != NULL && t->status == T_INPUT && t->pending != NULL)
        json_object_set(r, "inputRequests", t->pending);
    if (r != NULL && t->status == T_COMPLETED)
        json_object_set(r, "result", t->result);
    if (r != NULL && t->status == T_FAILED)
        json_object_set(r, "error", t->error);
    pthread_mutex_unlock(&ex->srv->mu);
    if (r == NULL)
        wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    return r;
}

json_t *wdn__mcp_tasks_update(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    json_t *in = json_object_get(params, "inputResponses"), *v;
    const char *k;
    struct task *t;

    if (!json_is_object(in))
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                             "Invalid params: inputResponses must be an object");
    json_object_foreach (in, k, v) {
        if (!json_is_object(v))
            return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                                 "Invalid params: inputResponses.%.64s must be an object", k);
    }
    if ((t = task_find(ex, params, e)) == NULL)
        return NULL;
    /* Answers count only for requests outstanding now; others are ignored (SEP-2663). */
    json_object_foreach (in, k, v) {
        if (json_object_get(t->pending, k) != NULL) {
            json_object_set(t->answers, k, v);
            json_object_del(t->pending, k);
        }
    }
    pthread_cond_broadcast(&ex->srv->task_cv);
    pthread_mutex_unlock(&ex->srv->mu);
    return json_pack("{s:s}", "resultType", "complete");
}

json_t *wdn__mcp_tasks_cancel(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    struct task *t = task_find(ex, params, e);

    if (t == NULL)
        return NULL;
    /* Cancelling a finished task is an acknowledged no-op. */
    if (!task_terminal(t)) {
        atomic_store(&t->cancelled, true);
        json_decref(t->pending);
        t->pending = NULL;
        set_status(t, T_CANCELLED);
        pthread_cond_broadcast(&ex->srv->task_cv);
    }
    pthread_mutex_unlock(&ex->srv->mu);
    return json_pack("{s:s}", "resultType", "complete");
}

void wdn__mcp_tasks_stop(struct wdn_mcp_server *srv)
{
    struct task *t;

    pthread_mutex_lock(&srv->mu);
    srv->stopping = true;
    for (t = srv->tasks; t != NULL; t = t->next)
        atomic_store(&t->cancelled, true);
    pthread_cond_broadcast(&srv->task_cv);
    pthread_mutex_unlock(&srv->mu);
    /* The threads take the lock to finish, so they are joined without it. */
    for (t = srv->tasks; t != NULL; t = t->next)
        pthread_join(t->thread, NULL);
    while ((t = srv->tasks) != NULL) {
        srv->tasks = t->next;
        task_free(t);
    }
    srv->ntasks = 0;
}
