/* The MCP client's API: configuration, requests and notifications, the list and call helpers,
 * input_required rounds (SEP-2322) and cancellation. The exchange itself is client_http.c, the
 * lifecycle client_session.c. */
#include "warden/mcp.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "mcp/client_int.h"

#define WATCH_SLICE_MS 20 /* a task request's watchdog looks at the stop flag this often */

#ifndef WDN_VERSION
#define WDN_VERSION "0"
#endif

void wdn__mcp_err_set(struct wdn_mcp_error *e, int code, long http, long rpc, const char *fmt, ...)
{
    va_list ap;

    if (e == NULL)
        return;
    e->code = code;
    e->http_status = http;
    e->rpc_code = rpc;
    e->www_authenticate[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

bool wdn__mcp_header_value_ok(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

struct wdn_mcp_client *wdn_mcp_client_new(const struct wdn_mcp_client_config *cfg,
                                          struct wdn_mcp_error *err)
{
    struct wdn_mcp_client *c = NULL;
    const char *const *h;

    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (cfg == NULL || cfg->url == NULL ||
        (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0)) {
        wdn__mcp_err_set(err, WDN_EINVAL, 0, 0, "MCP URL must start with http:// or https://");
        return NULL;
    }
    if (cfg->protocol_version != NULL && wdn__mcp_static_version(cfg->protocol_version) == NULL) {
        wdn__mcp_err_set(err, WDN_EUNSUPPORTED, 0, 0, "unsupported protocol version %.32s",
                         cfg->protocol_version);
        return NULL;
    }
    if (cfg->bearer_token != NULL && !wdn__mcp_header_value_ok(cfg->bearer_token)) {
        wdn__mcp_err_set(err, WDN_EINVAL, 0, 0, "bearer token contains control characters");
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto nomem;
    atomic_init(&c->stop, false);
    atomic_init(&c->listen_stop, false);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->listen_cond, NULL);
    if (cfg->capabilities != NULL) {
        c->capabilities = json_loads(cfg->capabilities, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(c->capabilities)) {
            wdn__mcp_err_set(err, WDN_EINVAL, 0, 0, "capabilities must be a JSON object");
            wdn_mcp_client_free(c);
            return NULL;
        }
    } else if ((c->capabilities = json_object()) == NULL) {
        goto nomem;
    }
    c->url = strdup(cfg->url);
    c->want_version = strdup(cfg->protocol_version ? cfg->protocol_version : WDN_MCP_LATEST_LEGACY);
    c->name = strdup(cfg->client_name ? cfg->client_name : "warden-mcp-client");
    c->cversion = strdup(cfg->client_version ? cfg->client_version : WDN_VERSION);
    c->static_token = cfg->bearer_token ? strdup(cfg->bearer_token) : NULL;
    if (!c->url || !c->want_version || !c->name || !c->cversion ||
        (cfg->bearer_token && !c->static_token))
        goto nomem;
    for (h = cfg->extra_headers; h != NULL && *h != NULL; h++) {
        if (strchr(*h, ':') == NULL || !wdn__mcp_header_value_ok(*h)) {
            wdn__mcp_err_set(err, WDN_EINVAL, 0, 0, "extra header must be \"Name: value\"");
            wdn_mcp_client_free(c);
            return NULL;
        }
        c->nextra++;
    }
    c->extra = calloc(c->nextra + 1, sizeof(*c->extra));
    if (c->extra == NULL)
        goto nomem;
    for (size_t i = 0; i < c->nextra; i++)
        if ((c->extra[i] = strdup(cfg->extra_headers[i])) == NULL)
            goto nomem;
    c->token_fn = cfg->token_fn;
    c->token_ud = cfg->token_ud;
    c->auth = cfg->auth;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : WDN_MCP_CLIENT_TIMEOUT_MS;
    c->on_notify = cfg->on_notify;
    c->notify_ud = cfg->notify_ud;
    c->on_request = cfg->on_request;
    c->request_ud = cfg->request_ud;
    c->progress = cfg->progress;
    c->next_id = 1;
    return c;
nomem:
    wdn__mcp_err_set(err, WDN_ENOMEM, 0, 0, "out of memory");
    wdn_mcp_client_free(c);
    return NULL;
}

const char *wdn_mcp_client_version(const struct wdn_mcp_client *c)
{
    return c->version;
}

json_t *wdn_mcp_client_server_info(const struct wdn_mcp_client *c)
{
    return c->server_info;
}

void wdn_mcp_client_cancel(struct wdn_mcp_client *c)
{
    atomic_store(&c->stop, true);
}

/* Tells the server that request id will not be waited for (best effort, short timeout). */
static void send_cancelled(struct wdn_mcp_client *c, json_int_t id)
{
    json_t *params =
        json_pack("{s:I, s:s}", "requestId", (json_int_t)id, "reason", "canceled by the user");
    json_t *msg =
        wdn_jsonrpc_make_request(NULL, "notifications/cancelled", wdn__mcp_with_meta(c, params));
    long saved = c->timeout_ms;

    atomic_store(&c->stop, false);
    c->timeout_ms = 3000;
    if (msg != NULL)
        (void)wdn__mcp_post(c, true, msg, NULL, NULL, NULL, NULL);
    c->timeout_ms = saved;
    json_decref(msg);
}

/* The watchdog of a request that may become a task: raises task_stop once stop has been up for
 * WDN_MCP_CLIENT_TASK_CANCEL_WAIT_MS, and ends as soon as the request does. A thread, because
 * wdn_mcp_client_cancel may run in a signal handler, where it can only set a flag. */
struct task_watch {
    struct wdn_mcp_client *c;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* on the monotonic clock */
    bool done;
    pthread_t thread;
};

static void *watch_main(void *arg)
{
    struct task_watch *w = arg;
    uint64_t until = 0, now;
    struct timespec ts;

    pthread_mutex_lock(&w->lock);
    while (!w->done) {
        now = wdn_clock_mono_ms();
        if (until == 0 && atomic_load(&w->c->stop))
            until = now + WDN_MCP_CLIENT_TASK_CANCEL_WAIT_MS;
        if (until != 0 && now >= until) {
            atomic_store(&w->c->task_stop, true);
            break;
        }
        /* stop is a flag (no wake-up): look again every WATCH_SLICE_MS. */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += WATCH_SLICE_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Starts the watchdog; false when it cannot (the request is then abandoned at once on cancel,
 * as any other). */
static bool watch_start(struct wdn_mcp_client *c, struct task_watch *w)
{
    pthread_condattr_t ca;

    memset(w, 0, sizeof(*w));
    w->c = c;
    atomic_store(&c->task_stop, false);
    if (pthread_condattr_init(&ca) != 0)
        return false;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&w->cond, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        return false;
    }
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->lock, NULL);
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        return false;
    }
    c->task_grace = true;
    return true;
}

static void watch_end(struct wdn_mcp_client *c, struct task_watch *w)
{
    pthread_mutex_lock(&w->lock);
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    c->task_grace = false;
}

/* A tools/call the server may answer with a task: the client declared the tasks extension. */
static bool may_become_task(const struct wdn_mcp_client *c, const char *method)
{
    return strcmp(method, "tools/call") == 0 &&
           json_object_get(json_object_get(c->capabilities, "extensions"), WDN_MCP_EXT_TASKS) !=
               NULL;
}

static bool is_task(json_t *response)
{
    const char *t =
        json_string_value(json_object_get(json_object_get(response, "result"), "resultType"));

    return t != NULL && strcmp(t, "task") == 0;
}

int wdn_mcp_client_set_trace(struct wdn_mcp_client *c, const char *traceparent,
                             const char *tracestate)
{
    struct wdn_trace_ctx ctx;

    if (traceparent == NULL) {
        c->traceparent[0] = c->tracestate[0] = '\0';
        return 0;
    }
    if (wdn_traceparent_parse(wdn_str_from_cstr(traceparent), &ctx) != 0 ||
        strlen(traceparent) != WDN_TRACEPARENT_LEN ||
        (tracestate != NULL && (strlen(tracestate) > WDN_TRACESTATE_MAX_BYTES ||
                                !wdn_tracestate_valid(wdn_str_from_cstr(tracestate)))))
        return WDN_EINVAL;
    memcpy(c->traceparent, traceparent, WDN_TRACEPARENT_LEN + 1);
    snprintf(c->tracestate, sizeof(c->tracestate), "%s", tracestate ? tracestate : "");
    return 0;
}

/* The trace context of wdn_mcp_client_set_trace in params._meta of a request (SEP-414), unless
 * the caller put a traceparent there. Returns params (made when NULL), or NULL without memory. */
static json_t *with_trace(struct wdn_mcp_client *c, json_t *params)
{
    json_t *meta;

    if (c->traceparent[0] == '\0')
        return params;
    if (params == NULL && (params = json_object()) == NULL)
        return NULL;
    if ((meta = wdn__mcp_meta(params)) == NULL)
        return params;
    if (json_object_get(meta, "traceparent") != NULL)
        return params;
    json_object_set_new(meta, "traceparent", json_string(c->traceparent));
    if (c->tracestate[0])
        json_object_set_new(meta, "tracestate", json_string(c->tracestate));
    return params;
}

int wdn__mcp_request_once(struct wdn_mcp_client *c, const char *method, json_t *params,
                          json_t **response, long *status, struct wdn_mcp_error *err)
{
    json_int_t num = c->next_id++;
    json_t *id = json_integer(num);
    json_t *msg =
        wdn_jsonrpc_make_request(id, method, with_trace(c, wdn__mcp_with_meta(c, params)));
    struct task_watch w;
    bool grace;
    int rc;

    *response = NULL;
    if (msg == NULL || id == NULL) {
        json_decref(id);
        json_decref(msg);
        wdn__mcp_err_set(err, WDN_ENOMEM, 0, 0, "out of memory");
        return WDN_ENOMEM;
    }
    grace = may_become_task(c, method) && watch_start(c, &w);
    c->current_id = num;
    rc = wdn__mcp_post(c, true, msg, id, response, status, err);
    c->current_id = 0;
    if (grace)
        watch_end(c, &w);
    if (grace && rc == 0 && atomic_load(&c->stop) && !is_task(*response)) {
        /* Cancelled while the answer was on its way, and it is not a task (a task goes on to
         * wdn__mcp_task_wait, which sees stop and sends tasks/cancel): the request is over,
         * so there is nothing to tell the server. */
        json_decref(*response);
        *response = NULL;
        atomic_store(&c->stop, false);
        wdn__mcp_err_set(err, WDN_ECANCELED, 0, 0, "request canceled");
        rc = WDN_ECANCELED;
    } else if (rc == WDN_ECANCELED) {
        send_cancelled(c, num);
    }
    json_decref(msg);
    json_decref(id);
    return rc;
}

/* The result of response, or the JSON-RPC error it carries as err. */
static int take_result(json_t *resp, long status, json_t **result, struct wdn_mcp_error *err)
{
    json_t *e = json_object_get(resp, "error");

    if (e != NULL) {
        wdn__mcp_err_set(err, WDN_EPROTO, status,
                         (long)json_integer_value(json_object_get(e, "code")), "%s",
                         json_string_value(json_object_get(e, "message"))
                             ? json_string_value(json_object_get(e, "message"))
                             : "error without message");
        return WDN_EPROTO;
    }
    if (!json_is_object(json_object_get(resp, "result"))) {
        wdn__mcp_err_set(err, WDN_EPROTO, 0, 0, "response without a result object");
        return WDN_EPROTO;
    }
    *result = json_incref(json_object_get(resp, "result"));
    return 0;
}

int wdn__mcp_request(struct wdn_mcp_client *c, const char *method, json_t *params, json_t **result,
                     long *status, struct wdn_mcp_error *err)
{
    json_t *resp = NULL, *r = NULL, *prev = NULL, *responses = NULL, *again;
    long st = 0;
    int rc, round;

    *result = NULL;
    if (params != NULL && !json_is_object(params)) {
        json_decref(params);
        wdn__mcp_err_set(err, WDN_EINVAL, 0, 0, "params must be an object");
        return WDN_EINVAL;
    }
    /* Each round sends a fresh copy of params, so that the inputResponses and requestState of
     * one round never leak into another request (SEP-2322). */
    for (round = 0;; round++) {
        again = params != NULL ? json_deep_copy(params) : NULL;
        if (prev != NULL && again == NULL)
            again = json_object();
        if ((params != NULL || prev != NULL) && again == NULL) {
            rc = WDN_ENOMEM;
            wdn__mcp_err_set(err, rc, 0, 0, "out of memory");
            break;
        }
        if (prev != NULL) {
            json_t *state = json_object_get(prev, "requestState");
            json_object_set(again, "inputResponses", responses);
            if (state != NULL)
                json_object_set(again, "requestState", state);
        }
        json_decref(prev);
        json_decref(responses);
        json_decref(resp);
        prev = responses = resp = NULL;
        rc = wdn__mcp_request_once(c, method, again, &resp, &st, err);
        if (status != NULL)
            *status = st;
        if (rc != 0) {
            /* An HTTP error status that still carries a JSON-RPC error: report that. */
            if (json_is_object(json_object_get(resp, "error")))
                rc = take_result(resp, st, &r, err);
            break;
        }
        rc = take_result(resp, st, &r, err);
        if (rc != 0)
            break;
        /* A task (SEP-2663): polled to its end in client_tasks.c. */
        if (json_is_string(json_object_get(r, "resultType")) &&
            strcmp(json_string_value(json_object_get(r, "resultType")), "task") == 0) {
            rc = wdn__mcp_task_wait(c, r, result, err);
            break;
        }
        /* A result without resultType is complete (SEP-2322). */
        if (!json_is_string(json_object_get(r, "resultType")) ||
            strcmp(json_string_value(json_object_get(r, "resultType")), "input_required") != 0) {
            *result = r;
            r = NULL;
            break;
        }
        if (round + 1 >= WDN_MCP_CLIENT_INPUT_ROUNDS) {
            rc = WDN_ELIMIT;
            wdn__mcp_err_set(err, rc, 0, 0, "server asked for input %d times; giving up",
                             WDN_MCP_CLIENT_INPUT_ROUNDS);
            break;
        }
        rc = wdn__mcp_input_responses(c, json_object_get(r, "inputRequests"), &responses, err);
        if (rc != 0)
            break;
        prev = r;
        r = NULL;
    }
    json_decref(r);
    json_decref(prev);
    json_decref(responses);
    json_decref(resp);
    json_decref(params);
    return rc;
}

int wdn_mcp_client_request(struct wdn_mcp_client *c, const char *method, json_t *params,
                           json_t **result, struct wdn_mcp_error *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    atomic_store(&c->stop, false);
    return wdn__mcp_request(c, method, params, result, NULL, err);
}

int wdn_mcp_client_notify(struct wdn_mcp_client *c, const char *method, json_t *params,
                          struct wdn_mcp_error *err)
{
    json_t *msg = wdn_jsonrpc_make_request(NULL, method, wdn__mcp_with_meta(c, params));
    int rc;

    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (msg == NULL) {
        wdn__mcp_err_set(err, WDN_ENOMEM, 0, 0, "out of memory");
        return WDN_ENOMEM;
    }
    rc = wdn__mcp_post(c, true, msg, NULL, NULL, NULL, err);
    json_decref(msg);
    return rc;
}

/* One list method, page after page; learn sees each page's array before it is kept. */
static int list_all(struct wdn_mcp_client *c, const char *method, const char *key, bool tools,
                    json_t **items, struct wdn_mcp_error *err)
{
    json_t *all = json_array(), *result = NULL, *cursor = NULL;
    int pages = 0, rc = 0;

    *items = NULL;
    if (all == NULL)
        return WDN_ENOMEM;
    do {
        json_t *params = cursor ? json_pack("{s:O}", "cursor", cursor) : NULL;
        json_decref(cursor);
        cursor = NULL;
        rc = wdn_mcp_client_request(c, method, params, &result, err);
        if (rc != 0)
            break;
        if (tools && (rc = wdn__mcp_tools_learn(c, json_object_get(result, key))) != 0) {
            wdn__mcp_err_set(err, rc, 0, 0, "cannot keep the tools' header mapping");
            break;
        }
        json_array_extend(all, json_object_get(result, key));
        if (json_is_string(json_object_get(result, "nextCursor")))
            cursor = json_incref(json_object_get(result, "nextCursor"));
        json_decref(result);
        result = NULL;
    } while (cursor != NULL && ++pages < WDN_MCP_CLIENT_LIST_PAGES);
    json_decref(result);
    json_decref(cursor);
    if (rc != 0) {
        json_decref(all);
        return rc;
    }
    *items = all;
    return 0;
}

int wdn_mcp_client_list_tools(struct wdn_mcp_client *c, json_t **tools, struct wdn_mcp_error *err)
{
    return list_all(c, "tools/list", "tools", true, tools, err);
}

int wdn_mcp_client_list(struct wdn_mcp_client *c, const char *method, const char *key,
                        json_t **items, struct wdn_mcp_error *err)
{
    return list_all(c, method, key, false, items, err);
}

int wdn_mcp_client_call_tool(struct wdn_mcp_client *c, const char *name, json_t *args,
                             json_t **result, struct wdn_mcp_error *err)
{
    json_t *params =
        json_pack("{s:s, s:o}", "name", name, "arguments", args != NULL ? args : json_object());

    if (params != NULL && c->progress)
        json_object_set_new(params, "_meta",
                            json_pack("{s:I}", "progressToken", (json_int_t)c->next_id));
    return wdn_mcp_client_request(c, "tools/call", params, result, err);
}

const char *wdn_mcp_result_text(const json_t *result)
{
    json_t *content = json_object_get(result, "content"), *b;
    size_t i;

    json_array_foreach (content, i, b) {
        if (json_is_string(json_object_get(b, "type")) &&
            strcmp(json_string_value(json_object_get(b, "type")), "text") == 0)
            return json_string_value(json_object_get(b, "text"));
    }
    return NULL;
}

void wdn_mcp_client_free(struct wdn_mcp_client *c)
{
    if (c == NULL)
        return;
    wdn__mcp_listen_stop(c);
    wdn__mcp_delete_session(c);
    for (size_t i = 0; c->extra != NULL && i < c->nextra; i++)
        free(c->extra[i]);
    free(c->extra);
    if (c->static_token != NULL)
        OPENSSL_cleanse(c->static_token, strlen(c->static_token));
    free(c->static_token);
    free(c->url);
    free(c->want_version);
    free(c->name);
    free(c->cversion);
    json_decref(c->server_info);
    json_decref(c->capabilities);
    wdn__mcp_tools_free(c);
    pthread_cond_destroy(&c->listen_cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
