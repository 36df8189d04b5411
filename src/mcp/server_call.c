/* One exchange's answer (a JSON document or an SSE stream) and what a handler does with its
 * struct wdn_mcp_call: content, progress, log messages, requests to the client, cancellation. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "mcp/jsonrpc_int.h"
#include "mcp/server_int.h"

/* ---------------------------------------------------------------------------------------- */
/* Writing the answer                                                                         */

int wdn__mcp_ex_head(struct exchange *ex, int status, const char *ctype, const char *allow)
{
    struct wdn_mcp_out_header h[6] = {{NULL, NULL}};
    size_t n = 0;

    if (ex->head_sent)
        return 0;
    ex->head_sent = true;
    if (ctype != NULL)
        h[n++] = (struct wdn_mcp_out_header){"Content-Type", ctype};
    if (ctype != NULL && strcmp(ctype, "text/event-stream") == 0) {
        h[n++] = (struct wdn_mcp_out_header){"Cache-Control", "no-cache"};
        h[n++] = (struct wdn_mcp_out_header){"X-Accel-Buffering", "no"};
    }
    if (ex->new_session && ex->session[0] != '\0')
        h[n++] = (struct wdn_mcp_out_header){"Mcp-Session-Id", ex->session};
    if (allow != NULL)
        h[n++] = (struct wdn_mcp_out_header){"Allow", allow};
    if (ex->out->head(ex->out->ud, status, h, n) != 0)
        ex->dead = true;
    return 0;
}

void wdn__mcp_ex_body(struct exchange *ex, const char *p, size_t n)
{
    if (ex->dead || n == 0)
        return;
    if (ex->out->body(ex->out->ud, p, n) != 0)
        ex->dead = true;
}

/* Frames one JSON-RPC message as an SSE event (JSON escapes every newline: one data line). */
int wdn__mcp_sse_frame(struct wdn_buf *b, const json_t *msg)
{
    int rc;

    if ((rc = wdn_buf_append(b, "event: message\ndata: ", 21)) != 0 ||
        (rc = wdn__mcp_json_write(b, msg)) != 0)
        return rc;
    return wdn_buf_append(b, "\n\n", 2);
}

/* Sends a whole JSON body with a status, the way every HTTP-level error is answered. An answer
 * that cannot be written (nested deeper than WDN_MCP_ANSWER_MAX_DEPTH, over the size an answer
 * may have, no memory) is a 500 without a body. */
void wdn__mcp_ex_json(struct exchange *ex, int status, const json_t *doc)
{
    struct wdn_buf b;

    wdn_buf_init(&b, 2 * (size_t)WDN_JSONRPC_MAX_BYTES);
    if (wdn__mcp_json_write(&b, doc) != 0) {
        wdn__mcp_ex_head(ex, 500, NULL, NULL);
    } else {
        wdn__mcp_ex_head(ex, status, "application/json", NULL);
        wdn__mcp_ex_body(ex, b.data, b.len);
    }
    wdn_buf_reset(&b);
}

void wdn__mcp_ex_error(struct exchange *ex, int status, json_t *id, int code, const char *msg,
                       json_t *data)
{
    json_t *e = wdn_jsonrpc_make_error(id, code, msg, data);

    if (e == NULL) {
        wdn__mcp_ex_head(ex, 500, NULL, NULL);
        return;
    }
    wdn__mcp_ex_json(ex, status, e);
    json_decref(e);
}

void wdn__mcp_ex_status(struct exchange *ex, int status, const char *allow)
{
    wdn__mcp_ex_head(ex, status, NULL, allow);
}

/* ---------------------------------------------------------------------------------------- */
/* SSE answers to a POST                                                                      */

/*
 * Turns the answer into an SSE stream: the head, and in a resumable session a stream record
 * whose priming event goes out first. The head goes out under the lock so that a client that
 * resumes at once finds the stream in place.
 */
void wdn__mcp_ex_sse_begin(struct exchange *ex)
{
    struct wdn_mcp_server *srv = ex->srv;
    struct session *s;
    char prime[96];
    int n;

    if (ex->head_sent)
        return;
    ex->sse = true;
    if (!ex->resumable) {
        wdn__mcp_ex_head(ex, 200, "text/event-stream", NULL);
        return;
    }
    pthread_mutex_lock(&srv->mu);
    s = wdn__mcp_session_find(srv, wdn_str_from_cstr(ex->session));
    ex->rs = s != NULL ? wdn__mcp_rs_new(srv, s, false) : NULL;
    wdn__mcp_ex_head(ex, 200, "text/event-stream", NULL);
    if (ex->rs != NULL) {
        n = wdn__mcp_rs_priming(srv, ex->rs, prime, sizeof(prime));
        wdn__mcp_ex_body(ex, prime, (size_t)n);
        if (!ex->dead)
            ex->rs->live = *ex->out;
        else
            ex->rs->idle_since_ms = wdn_clock_mono_ms();
    }
    pthread_mutex_unlock(&srv->mu);
}

void wdn__mcp_ex_event(struct exchange *ex, const json_t *msg)
{
    struct wdn_buf b;

    wdn__mcp_ex_sse_begin(ex);
    if (ex->rs != NULL) {
        pthread_mutex_lock(&ex->srv->mu);
        wdn__mcp_rs_emit(ex->srv, ex->rs, msg);
        pthread_mutex_unlock(&ex->srv->mu);
        return;
    }
    wdn_buf_init(&b, WDN_SSE_MAX_EVENT_BYTES);
    if (wdn__mcp_sse_frame(&b, msg) == 0)
        wdn__mcp_ex_body(ex, b.data, b.len);
    wdn_buf_reset(&b);
}

/*
 * Polling: closes the POST's connection right after the priming event, so that no connection
 * is held while the request runs; the client comes back with GET + Last-Event-ID.
 */
void wdn__mcp_ex_poll_close(struct exchange *ex)
{
    if (ex->srv->poll_ms <= 0 || !ex->resumable || ex->out->end == NULL || ex->head_sent)
        return;
    wdn__mcp_ex_sse_begin(ex);
    if (ex->rs == NULL)
        return;
    pthread_mutex_lock(&ex->srv->mu);
    if (ex->rs->live.ud == ex->out->ud && ex->rs->live.body != NULL)
        wdn__mcp_rs_detach(ex->srv, ex->rs, true);
    pthread_mutex_unlock(&ex->srv->mu);
    ex->dead = true; /* nothing more goes to this connection, only to the stream */
}

/* The request is over: its stream ends, and the connection that carries it now (a resumed
 * GET) is ended too; the POST's own connection is left to the caller. */
void wdn__mcp_ex_finish(struct exchange *ex)
{
    struct rstream *rs = ex->rs;

    if (rs == NULL)
        return;
    pthread_mutex_lock(&ex->srv->mu);
    rs->ended = true;
    if (rs->handle != NULL || (rs->live.body != NULL && rs->live.ud != ex->out->ud))
        wdn__mcp_rs_detach(ex->srv, rs, true);
    else
        wdn__mcp_rs_detach(ex->srv, rs, false);
    wdn__mcp_rs_release(ex->srv, rs);
    pthread_mutex_unlock(&ex->srv->mu);
    ex->rs = NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Call helpers                                                                               */

int wdn_mcp_call_text(struct wdn_mcp_call *call, const char *text)
{
    json_t *b = json_pack("{s:s, s:s}", "type", "text", "text", text ? text : "");

    return wdn_mcp_call_content(call, b);
}

int wdn_mcp_call_content(struct wdn_mcp_call *call, json_t *block)
{
    if (block == NULL)
        return WDN_ENOMEM;
    if (!json_is_object(block) || call->content == NULL) {
        json_decref(block);
        return WDN_EINVAL;
    }
    return json_array_append_new(call->content, block) == 0 ? 0 : WDN_ENOMEM;
}

int wdn_mcp_call_structured(struct wdn_mcp_call *call, json_t *obj)
{
    if (!json_is_object(obj)) {
        json_decref(obj);
        return WDN_EINVAL;
    }
    json_decref(call->structured);
    call->structured = obj;
    return 0;
}

void wdn_mcp_call_set_error(struct wdn_mcp_call *call)
{
    call->is_error = true;
}

int wdn_mcp_call_require_capability(struct wdn_mcp_call *call, const char *capability)
{
    /* Unknown capabilities (a stateless server of the initialize era) are not held against
     * the client; declared ones are checked. */
    if (call->caps == NULL || json_object_get(call->caps, capability) != NULL)
        return 0;
    call->missing_cap = capability;
    return WDN_EUNSUPPORTED;
}

bool wdn_mcp_call_cancelled(const struct wdn_mcp_call *call)
{
    return (call->inf != NULL && atomic_load(&call->inf->cancelled)) ||
           (call->task != NULL && wdn__mcp_task_cancelled(call->task));
}

const char *wdn_mcp_call_version(const struct wdn_mcp_call *call)
{
    return call->ex->version;
}

static void send_notification(struct exchange *ex, const char *method, json_t *params)
{
    json_t *n = wdn_jsonrpc_make_request(NULL, method, params);

    if (n == NULL)
        return;
    wdn__mcp_ex_event(ex, n);
    json_decref(n);
}

int wdn_mcp_call_progress(struct wdn_mcp_call *call, double progress, double total,
                          const char *message)
{
    json_t *p;

    if (call->progress_token == NULL)
        return 0;
    p = json_pack("{s:O, s:f}", "progressToken", call->progress_token, "progress", progress);
    if (p == NULL)
        return WDN_ENOMEM;
    if ((total > 0 && json_object_set_new(p, "total", json_real(total)) != 0) ||
        (message != NULL && json_object_set_new(p, "message", json_string(message)) != 0)) {
        json_decref(p);
        return WDN_ENOMEM;
    }
    send_notification(call->ex, "notifications/progress", p);
    return 0;
}

int wdn_mcp_call_log(struct wdn_mcp_call *call, enum wdn_mcp_log_level level, const char *logger,
                     json_t *data)
{
    json_t *p;

    if ((int)level < 0 || level > WDN_MCP_LOG_EMERGENCY || data == NULL) {
        json_decref(data);
        return WDN_EINVAL;
    }
    /* -2: a 2026-07-28 request that asked for no log messages. */
    if (call->ex->log_level == -2 ||
        (call->ex->log_level >= 0 && (int)level < call->ex->log_level)) {
        json_decref(data);
        return 0;
    }
    p = json_pack("{s:s, s:o}", "level", wdn__mcp_log_levels[level], "data", data);
    if (p == NULL)
        return WDN_ENOMEM;
    if (logger != NULL && json_object_set_new(p, "logger", json_string(logger)) != 0) {
        json_decref(p);
        return WDN_ENOMEM;
    }
    send_notification(call->ex, "notifications/message", p);
    return 0;
}

int wdn_mcp_call_request(struct wdn_mcp_call *call, const char *method, json_t *params,
                         long timeout_ms, json_t **result, char *errmsg, size_t errcap)
{
    struct wdn_mcp_server *srv = call->ex->srv;
    struct pending *p = NULL, **pp;
    struct timespec deadline;
    json_t *id = NULL, *req = NULL, *err;
    int rc = WDN_ESTATE;

    *result = NULL;
    if (errmsg != NULL && errcap > 0)
        errmsg[0] = '\0';
    /* Server requests need a stream to travel on and a session to match the reply to. */
    if (call->ex->session[0] == '\0' || call->ex->modern) {
        json_decref(params);
        goto out;
    }
    rc = WDN_ENOMEM;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        json_decref(params);
        goto out;
    }
    memcpy(p->session, call->ex->session, sizeof(p->session));
    pthread_mutex_lock(&srv->mu);
    snprintf(p->id, sizeof(p->id), "srv-%llu", (unsigned long long)++srv->next_request_id);
    p->next = srv->pending;
    srv->pending = p;
    pthread_mutex_unlock(&srv->mu);
    id = json_string(p->id);
    req = wdn_jsonrpc_make_request(id, method, params);
    if (req == NULL)
        goto unlink;
    wdn__mcp_ex_event(call->ex, req);
    /* A resumable stream keeps the request for the client's next GET; others lose it. */
    if (call->ex->dead && call->ex->rs == NULL) {
        rc = WDN_ECLOSED;
        goto unlink;
    }
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    rc = 0;
    pthread_mutex_lock(&srv->mu);
    while (p->reply == NULL && rc == 0)
        rc = pthread_cond_timedwait(&srv->reply_cv, &srv->mu, &deadline) == 0 ? 0 : WDN_ETIMEOUT;
    if (p->reply != NULL)
        rc = 0;
    pthread_mutex_unlock(&srv->mu);
    if (rc != 0)
        goto unlink;
    err = json_object_get(p->reply, "error");
    if (err != NULL) {
        rc = WDN_EPROTO;
        if (errmsg != NULL)
            snprintf(errmsg, errcap, "%s",
                     json_string_value(json_object_get(err, "message"))
                         ? json_string_value(json_object_get(err, "message"))
                         : "error");
    } else {
        *result = json_incref(json_object_get(p->reply, "result"));
    }
unlink:
    if (p != NULL) {
        pthread_mutex_lock(&srv->mu);
        for (pp = &srv->pending; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        }
        pthread_mutex_unlock(&srv->mu);
        json_decref(p->reply);
        free(p);
    }
out:
    json_decref(req);
    json_decref(id);
    return rc;
}

/* A response from the client: hand it to the handler waiting for it, if any. */
void wdn__mcp_deliver_reply(struct exchange *ex, json_t *msg, const struct wdn_jsonrpc_msg *m)
{
    struct pending *p;

    if (!json_is_string(m->id))
        return;
    pthread_mutex_lock(&ex->srv->mu);
    for (p = ex->srv->pending; p != NULL; p = p->next) {
        if (p->reply == NULL && strcmp(p->session, ex->session) == 0 &&
            strcmp(p->id, json_string_value(m->id)) == 0) {
            p->reply = json_incref(msg);
            pthread_cond_broadcast(&ex->srv->reply_cv);
            break;
        }
    }
    pthread_mutex_unlock(&ex->srv->mu);
}

static struct inflight *inflight_add(struct wdn_mcp_server *srv, const char *session, json_t *id)
{
    struct inflight *inf;

    pthread_mutex_lock(&srv->mu);
    if (srv->ninflight >= WDN_MCP_MAX_INFLIGHT) {
        pthread_mutex_unlock(&srv->mu);
        return NULL;
    }
    inf = calloc(1, sizeof(*inf));
    if (inf != NULL) {
        snprintf(inf->session, sizeof(inf->session), "%s", session);
        inf->id = json_incref(id);
        atomic_init(&inf->cancelled, false);
        inf->next = srv->inflight;
        srv->inflight = inf;
        srv->ninflight++;
    }
    pthread_mutex_unlock(&srv->mu);
    return inf;
}

static void inflight_remove(struct wdn_mcp_server *srv, struct inflight *inf)
{
    struct inflight **pp;

    if (inf == NULL)
        return;
    pthread_mutex_lock(&srv->mu);
    for (pp = &srv->inflight; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == inf) {
            *pp = inf->next;
            srv->ninflight--;
            break;
        }
    }
    pthread_mutex_unlock(&srv->mu);
    json_decref(inf->id);
    free(inf);
}

void wdn__mcp_call_init(struct wdn_mcp_call *call, struct exchange *ex, json_t *params, json_t *id)
{
    json_t *meta = json_object_get(params, "_meta");
    json_t *tok = json_object_get(meta, "progressToken");

    memset(call, 0, sizeof(*call));
    call->ex = ex;
    call->caps = ex->modern ? json_object_get(meta, "io.modelcontextprotocol/clientCapabilities")
                            : ex->client_caps;
    if (json_is_string(tok) || json_is_integer(tok))
        call->progress_token = tok;
    /* notifications/cancelled names a request by its id, which only a session makes unique:
     * without one, a client could cancel another client's request that has the same id. */
    if (id != NULL && ex->session[0] != '\0')
        call->inf = inflight_add(ex->srv, ex->session, id);
}

void wdn__mcp_call_done(struct wdn_mcp_call *call)
{
    inflight_remove(call->ex->srv, call->inf);
    json_decref(call->content);
    json_decref(call->structured);
    wdn__mcp_input_done(call);
}
