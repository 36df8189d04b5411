/* Tasks on the client side (SEP-2663): a request answered with resultType "task" is driven to
 * its end here, so the caller gets the final result as if the server had answered at once:
 * tasks/get at the server's pollIntervalMs, the inputRequests of an input_required task
 * answered through the application's request handler and sent with tasks/update (each key
 * once), tasks/cancel when the call is cancelled (wdn_mcp_client_cancel). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "mcp/client_int.h"

#define POLL_DEFAULT_MS 500 /* when the server names no pollIntervalMs */
#define POLL_MIN_MS 20      /* never poll faster than this, whatever the server says */
#define POLL_MAX_MS 5000    /* nor slower */
#define SLICE_MS 20         /* a cancellation is noticed within this while waiting */

/* Sends one tasks/get, tasks/update or tasks/cancel request; its result (new reference) in *result,
 * or an error in err. */
static int task_call(struct wdn_mcp_client *c, const char *method, json_t *params, json_t **result,
                     struct wdn_mcp_error *err)
{
    json_t *resp = NULL, *e;
    long status = 0;
    int rc = wdn__mcp_request_once(c, method, params, &resp, &status, err);

    *result = NULL;
    if (rc == 0 || json_is_object(json_object_get(resp, "error"))) {
        if ((e = json_object_get(resp, "error")) != NULL) {
            wdn__mcp_err_set(err, WDN_EPROTO, status,
                             (long)json_integer_value(json_object_get(e, "code")), "%s: %s", method,
                             json_string_value(json_object_get(e, "message"))
                                 ? json_string_value(json_object_get(e, "message"))
                                 : "error without message");
            rc = WDN_EPROTO;
        } else if (!json_is_object(json_object_get(resp, "result"))) {
            wdn__mcp_err_set(err, WDN_EPROTO, status, 0, "%s: response without a result", method);
            rc = WDN_EPROTO;
        } else {
            *result = json_incref(json_object_get(resp, "result"));
        }
    }
    json_decref(resp);
    return rc;
}

/* Tells the server the task is no longer wanted (best effort; the call is over either way). */
static void cancel_task(struct wdn_mcp_client *c, const char *id)
{
    json_t *r = NULL;
    long saved = c->timeout_ms;

    atomic_store(&c->stop, false);
    c->timeout_ms = 3000;
    task_call(c, "tasks/cancel", json_pack("{s:s}", "taskId", id), &r, NULL);
    c->timeout_ms = saved;
    json_decref(r);
}

/* Waits ms, in slices; false when the call was cancelled meanwhile. */
static bool wait_ms(struct wdn_mcp_client *c, long ms)
{
    struct timespec ts = {0, SLICE_MS * 1000000L};

    for (; ms > 0; ms -= SLICE_MS) {
        if (atomic_load(&c->stop))
            return false;
        nanosleep(&ts, NULL);
    }
    return !atomic_load(&c->stop);
}

static long poll_interval(const json_t *task)
{
    json_t *p = json_object_get(task, "pollIntervalMs");
    long ms = json_is_integer(p) ? (long)json_integer_value(p) : POLL_DEFAULT_MS;

    return ms < POLL_MIN_MS ? POLL_MIN_MS : ms > POLL_MAX_MS ? POLL_MAX_MS : ms;
}

/* Answers the requests of an input_required task that were not answered yet. */
static int answer_inputs(struct wdn_mcp_client *c, const char *id, json_t *task, json_t *answered,
                         struct wdn_mcp_error *err)
{
    json_t *reqs = json_object_get(task, "inputRequests"), *todo = json_object(), *v, *responses;
    json_t *ack = NULL;
    const char *k;
    int rc = 0;

    if (todo == NULL)
        return WDN_ENOMEM;
    json_object_foreach (reqs, k, v) {
        if (json_object_get(answered, k) == NULL)
            json_object_set(todo, k, v);
    }
    if (json_object_size(todo) > 0) {
        rc = wdn__mcp_input_responses(c, todo, &responses, err);
        if (rc == 0) {
            json_object_foreach (todo, k, v) {
                json_object_set_new(answered, k, json_true());
            }
            rc = task_call(c, "tasks/update",
                           json_pack("{s:s, s:o}", "taskId", id, "inputResponses", responses), &ack,
                           err);
        }
    }
    json_decref(ack);
    json_decref(todo);
    return rc;
}

int wdn__mcp_task_wait(struct wdn_mcp_client *c, json_t *created, json_t **result,
                       struct wdn_mcp_error *err)
{
    const char *tid = json_string_value(json_object_get(created, "taskId"));
    json_t *ttl = json_object_get(created, "ttlMs");
    json_t *answered = json_object(), *task = NULL;
    uint64_t deadline = 0;
    char id[256];
    long poll = poll_interval(created);
    const char *st;
    int rc = 0;

    *result = NULL;
    if (tid == NULL || strlen(tid) >= sizeof(id) || answered == NULL) {
        json_decref(answered);
        wdn__mcp_err_set(err, WDN_EPROTO, 0, 0, "server answered with a task without a taskId");
        return WDN_EPROTO;
    }
    snprintf(id, sizeof(id), "%s", tid);
    /* The task's TTL bounds the wait: the server may drop it after that (null: no bound). */
    if (json_is_integer(ttl) && json_integer_value(ttl) > 0)
        deadline = wdn_clock_mono_ms() + (uint64_t)json_integer_value(ttl);
    for (;;) {
        if (!wait_ms(c, poll)) {
            cancel_task(c, id);
            wdn__mcp_err_set(err, WDN_ECANCELED, 0, 0, "canceled");
            rc = WDN_ECANCELED;
            break;
        }
        json_decref(task);
        task = NULL;
        if ((rc = task_call(c, "tasks/get", json_pack("{s:s}", "taskId", id), &task, err)) != 0) {
            if (rc == WDN_ECANCELED) /* cancelled while tasks/get was on its way */
                cancel_task(c, id);
            break;
        }
        st = json_string_value(json_object_get(task, "status"));
        poll = poll_interval(task);
        if (st != NULL && strcmp(st, "completed") == 0) {
            *result = json_incref(json_object_get(task, "result"));
            rc = *result != NULL ? 0 : WDN_EPROTO;
            if (rc != 0)
                wdn__mcp_err_set(err, rc, 0, 0, "completed task without a result");
            break;
        }
        if (st != NULL && strcmp(st, "failed") == 0) {
            json_t *e = json_object_get(task, "error");
            wdn__mcp_err_set(err, WDN_EPROTO, 0,
                             (long)json_integer_value(json_object_get(e, "code")), "%s",
                             json_string_value(json_object_get(e, "message"))
                                 ? json_string_value(json_object_get(e, "message"))
                                 : "task failed");
            rc = WDN_EPROTO;
            break;
        }
        if (st != NULL && strcmp(st, "cancelled") == 0) {
            wdn__mcp_err_set(err, WDN_ECANCELED, 0, 0, "the server cancelled the task");
            rc = WDN_ECANCELED;
            break;
        }
        if (st != NULL && strcmp(st, "input_required") == 0 &&
            (rc = answer_inputs(c, id, task, answered, err)) != 0) {
            if (rc == WDN_ECANCELED) /* cancelled while tasks/update was on its way */
                cancel_task(c, id);
            break;
        }
        if (deadline != 0 && wdn_clock_mono_ms() > deadline) {
            wdn__mcp_err_set(err, WDN_ETIMEOUT, 0, 0, "task %s did not finish within its ttlMs",
                             id);
            rc = WDN_ETIMEOUT;
            break;
        }
    }
    json_decref(task);
    json_decref(answered);
    return rc;
}
