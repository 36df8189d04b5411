/* One HTTP exchange of the MCP client over the blocking client of http/fetch.h: request headers
 * (version, session, 2026-07-28 routing headers, credentials), JSON or SSE answers, resumption of
 * a broken SSE stream, and the retry after a 401/403 the authorization provider resolved.
 * Redirects are never followed: a token must not travel elsewhere. */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/json_dump.h"
#include "base/limits.h"
#include "base/str.h"
#include "http/fetch.h"
#include "mcp/client_int.h"
#include "mcp/sse.h"

/* State of one HTTP exchange while it runs. */
struct xfer {
    struct wdn_mcp_client *c;
    struct wdn_buf body;
    struct wdn__sse_parser sse;
    int is_sse;
    json_t *want_id;
    json_t *response; /* the matching response, once seen */
    char session[WDN__MCP_SESSION_MAX + 1];
    char www_authenticate[512];
    char dpop_nonce[256];
    int fault;
    char last_id[256]; /* the stream's last event id: where a resumption starts ("" none) */
    atomic_bool *stop; /* abandons the transfer when it becomes true */
    bool signal_head;  /* the GET stream's thread: tell listen_start the stream is up */
};

/* Copies a header value into out when it fits (cap with the NUL); false otherwise. */
static bool copy_value(struct wdn_str v, char *out, size_t cap)
{
    if (v.len >= cap)
        return false;
    memcpy(out, v.p, v.len);
    out[v.len] = '\0';
    return true;
}

/* The GET stream's thread tells wdn__mcp_listen_start that its first attempt is settled. */
static void listen_ready(struct wdn_mcp_client *c)
{
    pthread_mutex_lock(&c->lock);
    c->listen_ready = true;
    pthread_cond_broadcast(&c->listen_cond);
    pthread_mutex_unlock(&c->lock);
}

static int on_head(void *ud, const struct wdn_fetch_head *head)
{
    struct xfer *x = ud;
    const struct wdn_http_header *h;

    if (x->signal_head)
        listen_ready(x->c);
    h = wdn_http_header_find(head->headers, head->nheaders, WDN_STR("content-type"));
    x->is_sse =
        h != NULL && h->value.len >= 17 && strncasecmp(h->value.p, "text/event-stream", 17) == 0;
    h = wdn_http_header_find(head->headers, head->nheaders, WDN_STR("www-authenticate"));
    if (h != NULL)
        (void)copy_value(h->value, x->www_authenticate, sizeof(x->www_authenticate));
    h = wdn_http_header_find(head->headers, head->nheaders, WDN_STR("dpop-nonce"));
    if (h != NULL)
        (void)copy_value(h->value, x->dpop_nonce, sizeof(x->dpop_nonce));
    h = wdn_http_header_find(head->headers, head->nheaders, WDN_STR("mcp-session-id"));
    /* Visible ASCII only, bounded: the value goes back out in our headers. */
    if (h != NULL && h->value.len > 0 && h->value.len <= WDN__MCP_SESSION_MAX) {
        size_t i;
        for (i = 0; i < h->value.len; i++)
            if (h->value.p[i] < 0x21 || h->value.p[i] > 0x7e)
                return 0;
        (void)copy_value(h->value, x->session, sizeof(x->session));
    }
    return 0;
}

static void send_reply(struct wdn_mcp_client *c, json_t *msg);

/* A message that arrived on an SSE stream: the response we wait for, a notification, or a
 * request from the server, which gets an answer so the server does not wait forever. */
static int on_message(struct xfer *x, json_t *msg)
{
    struct wdn_jsonrpc_msg m;
    struct wdn_jsonrpc_fault f;

    if (wdn_jsonrpc_classify(msg, &m, &f) != 0)
        return 0;
    if ((m.kind == WDN_JSONRPC_RESULT || m.kind == WDN_JSONRPC_ERROR) && x->want_id != NULL &&
        json_equal(m.id, x->want_id)) {
        json_decref(x->response);
        x->response = json_incref(msg);
        return 1; /* got it: stop reading */
    }
    if (m.kind == WDN_JSONRPC_NOTIFICATION && x->c->on_notify != NULL)
        x->c->on_notify(x->c->notify_ud, m.method, m.params);
    if (m.kind == WDN_JSONRPC_REQUEST) {
        json_t *reply = wdn__mcp_answer(x->c, m.id, m.method, m.params);
        if (reply != NULL)
            send_reply(x->c, reply);
        json_decref(reply);
    }
    return 0;
}

static int on_sse_event(void *ud, const char *event, const char *data, size_t len, const char *id)
{
    struct xfer *x = ud;
    struct wdn_jsonrpc_fault f;
    json_t *msg = NULL;
    int rc;

    /* The event-stream format's last event id: kept across events, reset by an empty id. */
    snprintf(x->last_id, sizeof(x->last_id), "%s", id);
    /* Priming events carry an empty data field; other event types are not ours. */
    if (len == 0 || strcmp(event, "message") != 0)
        return 0;
    if (wdn_jsonrpc_parse(data, len, &msg, &f) != 0)
        return 0;
    rc = on_message(x, msg);
    json_decref(msg);
    return rc;
}

static int on_body(void *ud, const char *buf, size_t len)
{
    struct xfer *x = ud;
    int rc;

    if (x->is_sse) {
        rc = wdn__sse_feed(&x->sse, buf, len, on_sse_event, x);
        if (rc == 1)
            return 1; /* the response arrived: end the transfer early */
        if (rc != 0)
            x->fault = rc < 0 ? rc : WDN_EPROTO;
        return x->fault;
    }
    if (wdn_buf_append(&x->body, buf, len) != 0) {
        x->fault = WDN_ELIMIT;
        return x->fault;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Request headers                                                                            */

/* Request header lines, each malloc'd; the list is NULL-terminated for struct
 * wdn_fetch_request. Lines are wiped before they are freed: one may hold a token. */
struct hdrs {
    char **v;
    size_t n, cap;
    bool ok;
};

static void add_line(struct hdrs *h, char *line)
{
    if (line == NULL || !h->ok || h->n + 1 >= h->cap) {
        h->ok = false;
        if (line != NULL)
            OPENSSL_cleanse(line, strlen(line));
        free(line);
        return;
    }
    h->v[h->n++] = line;
    h->v[h->n] = NULL;
}

static void add_header(struct hdrs *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_header(struct hdrs *h, const char *fmt, ...)
{
    char line[WDN_MCP_MAX_HEADER_VALUE + 64];
    va_list ap;
    int w;

    if (!h->ok)
        return;
    va_start(ap, fmt);
    w = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof(line) || !wdn__mcp_header_value_ok(line)) {
        h->ok = false;
        return;
    }
    add_line(h, strdup(line));
}

/* The trace context of a message's params._meta (SEP-414) as the W3C headers too, so that the
 * HTTP hops (a sidecar) continue the same trace; only values that are valid Trace Context. */
static void trace_headers(struct hdrs *h, json_t *meta)
{
    const char *tp = json_string_value(json_object_get(meta, "traceparent"));
    const char *ts = json_string_value(json_object_get(meta, "tracestate"));
    struct wdn_trace_ctx ctx;

    if (tp == NULL || strlen(tp) != WDN_TRACEPARENT_LEN ||
        wdn_traceparent_parse(wdn_str_from_cstr(tp), &ctx) != 0)
        return;
    add_header(h, "traceparent: %s", tp);
    if (ts != NULL && ts[0] && strlen(ts) <= WDN_TRACESTATE_MAX_BYTES &&
        wdn_tracestate_valid(wdn_str_from_cstr(ts)))
        add_header(h, "tracestate: %s", ts);
}

/* The add() of struct wdn_mcp_auth and of the Mcp-Param mapping: one whole line, which may be
 * long (a token) but must be "Name: value" without control characters. */
static int add_cb(void *ctx, const char *line)
{
    struct hdrs *h = ctx;
    const char *colon = line != NULL ? strchr(line, ':') : NULL;

    if (colon == NULL || colon == line || !wdn__mcp_header_value_ok(line) ||
        strlen(line) > WDN_JWT_MAX_TOKEN_BYTES + 4096) {
        h->ok = false;
        return WDN_EINVAL;
    }
    add_line(h, strdup(line));
    return h->ok ? 0 : WDN_ELIMIT;
}

/* Cleans the token out of the header lines before freeing them. */
static void free_headers(struct hdrs *h)
{
    size_t i;

    for (i = 0; i < h->n; i++) {
        OPENSSL_cleanse(h->v[i], strlen(h->v[i]));
        free(h->v[i]);
    }
    free(h->v);
    memset(h, 0, sizeof(*h));
}

/* The credentials of one request: the provider's lines, else a bearer token. */
static int add_credentials(struct wdn_mcp_client *c, const char *http_method, struct hdrs *h,
                           struct wdn_mcp_error *err)
{
    char tok[WDN_JWT_MAX_TOKEN_BYTES + 1];
    int rc = 0;

    if (c->auth != NULL && c->auth->headers != NULL) {
        char msg[200] = "";
        rc = c->auth->headers(c->auth->ud, http_method, c->url, add_cb, h, msg, sizeof(msg));
        if (rc != 0)
            wdn__mcp_err_set(err, rc, 0, 0, "authorization failed: %s",
                             msg[0] ? msg : wdn_strerror(rc));
        return rc;
    }
    if (c->token_fn == NULL && c->static_token == NULL)
        return 0;
    tok[0] = '\0';
    if (c->token_fn != NULL) {
        rc = c->token_fn(c->token_ud, tok, sizeof(tok));
        tok[sizeof(tok) - 1] = '\0';
    } else {
        snprintf(tok, sizeof(tok), "%s", c->static_token);
    }
    if (rc != 0) {
        wdn__mcp_err_set(err, rc, 0, 0, "token provider failed: %s", wdn_strerror(rc));
    } else if (tok[0] != '\0') {
        size_t n = strlen(tok) + 32;
        char *line = malloc(n);
        if (line == NULL || !wdn__mcp_header_value_ok(tok)) {
            h->ok = false;
            free(line);
        } else {
            snprintf(line, n, "Authorization: Bearer %s", tok);
            add_line(h, line);
        }
    }
    OPENSSL_cleanse(tok, sizeof(tok));
    return rc;
}

/* Builds the request headers into h (0), or fills err and returns its code. With last_id, the
 * headers of a GET that resumes an SSE stream (msg is then NULL); http_method names the verb. */
static int build_headers(struct wdn_mcp_client *c, const json_t *msg, const char *http_method,
                         const char *last_id, struct hdrs *h, struct wdn_mcp_error *err)
{
    const char *method = json_string_value(json_object_get(msg, "method"));
    json_t *params = json_object_get(msg, "params");
    size_t i;
    int rc;

    memset(h, 0, sizeof(*h));
    h->ok = true;
    h->cap = 24 + c->nextra + WDN_MCP_CLIENT_MAX_PARAM_HEADERS;
    h->v = calloc(h->cap, sizeof(*h->v));
    if (h->v == NULL) {
        wdn__mcp_err_set(err, WDN_ENOMEM, 0, 0, "out of memory");
        return WDN_ENOMEM;
    }
    if (last_id != NULL) {
        add_header(h, "Accept: text/event-stream");
        add_header(h, "Last-Event-ID: %s", last_id);
    } else if (msg != NULL) {
        add_header(h, "Content-Type: application/json");
        add_header(h, "Accept: application/json, text/event-stream");
    }
    if (c->version != NULL)
        add_header(h, "MCP-Protocol-Version: %s", c->version);
    trace_headers(h, json_object_get(params, "_meta"));
    pthread_mutex_lock(&c->lock);
    if (c->session[0] != '\0')
        add_header(h, "Mcp-Session-Id: %s", c->session);
    pthread_mutex_unlock(&c->lock);
    if (c->modern && method != NULL) {
        const char *name = NULL;
        add_header(h, "Mcp-Method: %s", method);
        if (strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0)
            name = json_string_value(json_object_get(params, "name"));
        else if (strcmp(method, "resources/read") == 0)
            name = json_string_value(json_object_get(params, "uri"));
        else if (strncmp(method, "tasks/", 6) == 0) /* SEP-2663 routing header */
            name = json_string_value(json_object_get(params, "taskId"));
        if (name != NULL)
            add_header(h, "Mcp-Name: %s", name);
        if (strcmp(method, "tools/call") == 0 && name != NULL &&
            wdn__mcp_tool_param_headers(c, name, json_object_get(params, "arguments"), add_cb, h) !=
                0)
            h->ok = false;
    }
    rc = add_credentials(c, http_method, h, err);
    if (rc != 0) {
        free_headers(h);
        return rc;
    }
    for (i = 0; i < c->nextra && h->ok; i++)
        add_header(h, "%s", c->extra[i]);
    if (!h->ok) {
        free_headers(h);
        wdn__mcp_err_set(err, WDN_EINVAL, 0, 0, "cannot build request headers");
        return WDN_EINVAL;
    }
    return 0;
}

/* The message of a JSON-RPC error body, if the body is one. */
static void body_error(const struct wdn_buf *b, long *code, char *msg, size_t cap)
{
    json_t *j = json_loadb(b->data ? b->data : "", b->len, 0, NULL);
    json_t *e = json_object_get(j, "error");

    if (json_is_object(e)) {
        *code = (long)json_integer_value(json_object_get(e, "code"));
        snprintf(msg, cap, "%s",
                 json_string_value(json_object_get(e, "message"))
                     ? json_string_value(json_object_get(e, "message"))
                     : "");
    }
    json_decref(j);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int status_code(long status)
{
    return status == 401 ? WDN_EAUTH : status == 403 ? WDN_EDENIED : WDN_EHTTP_STATUS;
}

/* Runs one HTTP request of the exchange x, with the client's stop flag and limits. */
static int run(struct wdn_mcp_client *c, struct xfer *x, const char *http_method,
               const struct hdrs *h, const char *body, long timeout_ms, long *status,
               struct wdn_diag *diag)
{
    struct wdn_fetch_request req = {
        .method = http_method,
        .url = c->url,
        .headers = (const char *const *)h->v,
        .body = body,
        .body_len = body != NULL ? strlen(body) : 0,
        .timeout_ms = timeout_ms > 0 ? timeout_ms : 1,
        .connect_timeout_ms = timeout_ms < 10000 ? (timeout_ms > 0 ? timeout_ms : 1) : 10000L,
        /* SSE streams may run long; the JSON body and each event have their own caps. */
        .max_response = SIZE_MAX,
        .stop = x->stop,
    };
    struct wdn_fetch_callbacks cb = {on_head, on_body, x};

    *status = 0;
    memset(diag, 0, sizeof(*diag));
    return wdn_fetch_stream(&req, &cb, status, diag);
}

/*
 * The SSE answer to a request ended before its response and the server numbered its events:
 * reconnect with GET + Last-Event-ID (after the server's retry: time, bounded) and read on,
 * at most WDN_MCP_CLIENT_RESUME_MAX times and within the call's time budget (deadline_ms on
 * the monotonic clock). 0 once x->response arrived; otherwise fills err like any failed call.
 */
static int resume_stream(struct wdn_mcp_client *c, struct xfer *x, uint64_t deadline_ms,
                         struct wdn_mcp_error *err)
{
    struct hdrs hdrs = {NULL, 0, 0, false};
    struct wdn_diag diag;
    long status = 0, wait, retry_ms;
    uint64_t now;
    int attempt, rc = WDN_EPROTO;

    wdn__mcp_err_set(err, rc, 0, 0, "MCP server sent no response to the request");
    for (attempt = 0; attempt < WDN_MCP_CLIENT_RESUME_MAX && x->response == NULL; attempt++) {
        if (x->last_id[0] == '\0')
            break; /* nothing to resume from */
        wait = x->sse.retry_ms >= 0 ? x->sse.retry_ms : WDN_MCP_CLIENT_RESUME_WAIT_MS;
        if (wait > WDN_MCP_CLIENT_RESUME_MAX_WAIT_MS)
            wait = WDN_MCP_CLIENT_RESUME_MAX_WAIT_MS;
        now = wdn_clock_mono_ms();
        if (now + (uint64_t)wait + 1 >= deadline_ms) {
            rc = WDN_ETIMEOUT;
            wdn__mcp_err_set(err, rc, 0, 0,
                             "MCP response did not arrive in time (stream resumed %d times)",
                             attempt);
            break;
        }
        sleep_ms(wait);
        rc = build_headers(c, NULL, "GET", x->last_id, &hdrs, err);
        if (rc != 0)
            break;
        /* A new connection is a new event stream; the reconnection time carries over. */
        retry_ms = x->sse.retry_ms;
        wdn__sse_reset(&x->sse);
        wdn__sse_init(&x->sse, WDN_SSE_MAX_EVENT_BYTES);
        x->sse.retry_ms = retry_ms;
        x->body.len = 0;
        x->is_sse = 0;
        rc = run(c, x, "GET", &hdrs, NULL, (long)(deadline_ms - wdn_clock_mono_ms()), &status,
                 &diag);
        free_headers(&hdrs);
        if (rc != 0) {
            if (x->fault != 0) {
                rc = x->fault;
                wdn__mcp_err_set(err, rc, status, 0, "MCP response too large or malformed");
                break;
            }
            if (rc == WDN_ECANCELED) {
                wdn__mcp_err_set(err, rc, 0, 0, "request canceled");
                break;
            }
            /* The network failed again: try once more while attempts and time remain. */
            wdn__mcp_err_set(err, rc, 0, 0, "cannot resume the MCP stream: %s", diag.msg);
            continue;
        }
        if (status < 200 || status > 299) {
            long rpc = 0;
            char msgbuf[160] = "";
            body_error(&x->body, &rpc, msgbuf, sizeof(msgbuf));
            rc = status_code(status);
            wdn__mcp_err_set(err, rc, status, rpc,
                             "MCP server refused to resume the stream: HTTP %ld%s%s", status,
                             msgbuf[0] ? ": " : "", msgbuf);
            if (err != NULL)
                memcpy(err->www_authenticate, x->www_authenticate, sizeof(err->www_authenticate));
            break;
        }
        if (!x->is_sse) {
            rc = WDN_EPROTO;
            wdn__mcp_err_set(err, rc, status, 0,
                             "MCP server resumed the stream without text/event-stream");
            break;
        }
        rc = WDN_EPROTO;
        wdn__mcp_err_set(err, rc, status, 0, "MCP server sent no response to the request");
    }
    if (x->response != NULL) {
        rc = 0;
        if (err != NULL)
            memset(err, 0, sizeof(*err));
    }
    return rc;
}

static void xfer_init(struct xfer *x, struct wdn_mcp_client *c, json_t *want_id)
{
    memset(x, 0, sizeof(*x));
    x->c = c;
    x->stop = &c->stop;
    x->want_id = want_id;
    wdn_buf_init(&x->body, WDN_MCP_CLIENT_MAX_RESPONSE_BYTES);
    wdn__sse_init(&x->sse, WDN_SSE_MAX_EVENT_BYTES);
}

static void xfer_reset(struct xfer *x)
{
    json_decref(x->response);
    wdn_buf_reset(&x->body);
    wdn__sse_reset(&x->sse);
}

/*
 * One POST of body and its answer into x. 0 when a response (any status) arrived; the caller
 * reads x and *status. Failures before an answer fill err.
 */
static int post_once(struct wdn_mcp_client *c, json_t *msg, const char *body, struct xfer *x,
                     uint64_t deadline_ms, long *status, struct wdn_mcp_error *err)
{
    struct hdrs hdrs;
    struct wdn_diag diag;
    int rc;

    rc = build_headers(c, msg, "POST", NULL, &hdrs, err);
    if (rc != 0)
        return rc;
    rc = run(c, x, "POST", &hdrs, body, (long)(deadline_ms - wdn_clock_mono_ms()), status, &diag);
    free_headers(&hdrs);
    /* An SSE answer whose connection broke after the server numbered its events is resumed
     * later like one the server closed; other failures are final. */
    if (rc != 0 && rc != WDN_ETIMEOUT && rc != WDN_ECANCELED && x->fault == 0 && *status >= 200 &&
        *status <= 299 && x->is_sse && x->want_id != NULL && x->response == NULL &&
        x->last_id[0] != '\0')
        rc = 0;
    if (rc != 0) {
        if (x->fault != 0) {
            rc = x->fault;
            wdn__mcp_err_set(err, rc, *status, 0, "MCP response too large or malformed");
        } else if (rc == WDN_ECANCELED) {
            wdn__mcp_err_set(err, rc, 0, 0, "request canceled");
        } else {
            wdn__mcp_err_set(err, rc, *status, 0, "cannot reach MCP server: %s", diag.msg);
        }
    }
    return rc;
}

/* Lets the provider resolve a 401/403 (x holds the response): 0 to send again. Otherwise err
 * says why (the provider's reason, or the HTTP status and the server's message). */
static int refused(struct wdn_mcp_client *c, struct xfer *x, long status, int tries,
                   struct wdn_mcp_error *err)
{
    char msg[200] = "", msgbuf[160] = "";
    long rpc = 0;
    int rc = status_code(status);

    if (c->auth != NULL && c->auth->refused != NULL && tries < WDN_MCP_CLIENT_AUTH_RETRIES) {
        rc = c->auth->refused(c->auth->ud, status, x->www_authenticate, x->dpop_nonce, msg,
                              sizeof(msg));
        if (rc == 0)
            return 0;
    }
    if (msg[0] != '\0') {
        wdn__mcp_err_set(err, rc, status, 0, "%s", msg);
    } else {
        body_error(&x->body, &rpc, msgbuf, sizeof(msgbuf));
        rc = status_code(status);
        wdn__mcp_err_set(err, rc, status, rpc, "MCP server returned HTTP %ld%s%s", status,
                         msgbuf[0] ? ": " : "", msgbuf);
    }
    if (err != NULL)
        memcpy(err->www_authenticate, x->www_authenticate, sizeof(err->www_authenticate));
    return rc;
}

int wdn__mcp_post(struct wdn_mcp_client *c, bool main_exchange, json_t *msg, json_t *want_id,
                  json_t **response, long *status_out, struct wdn_mcp_error *err)
{
    struct xfer x;
    char *body = NULL;
    long status = 0;
    int rc = WDN_ENOMEM, tries;
    uint64_t deadline_ms = wdn_clock_mono_ms() + (uint64_t)c->timeout_ms;

    xfer_init(&x, c, want_id);
    if (main_exchange && c->task_grace)
        x.stop = &c->task_stop;
    if (response != NULL)
        *response = NULL;
    body = wdn_json_dumps(msg, JSON_COMPACT);
    if (body == NULL) {
        wdn__mcp_err_set(err, WDN_ENOMEM, 0, 0, "out of memory");
        goto out;
    }
    for (tries = 0;; tries++) {
        rc = post_once(c, msg, body, &x, deadline_ms, &status, err);
        if (status_out != NULL)
            *status_out = status;
        if (rc != 0)
            goto out;
        if (status != 401 && status != 403)
            break;
        rc = refused(c, &x, status, tries, err);
        if (rc != 0)
            goto out;
        /* New credentials: the same message again, on a fresh exchange. */
        xfer_reset(&x);
        xfer_init(&x, c, want_id);
        if (main_exchange && c->task_grace)
            x.stop = &c->task_stop;
    }
    if (x.dpop_nonce[0] != '\0' && c->auth != NULL && c->auth->nonce != NULL)
        c->auth->nonce(c->auth->ud, x.dpop_nonce);
    if (status >= 200 && status <= 299 && c->auth != NULL && c->auth->accepted != NULL)
        c->auth->accepted(c->auth->ud);
    if (status < 200 || status > 299) {
        long rpc = 0;
        char msgbuf[160] = "";
        body_error(&x.body, &rpc, msgbuf, sizeof(msgbuf));
        rc = status_code(status);
        wdn__mcp_err_set(err, rc, status, rpc, "MCP server returned HTTP %ld%s%s", status,
                         msgbuf[0] ? ": " : "", msgbuf);
        if (status == 404 && main_exchange) {
            pthread_mutex_lock(&c->lock);
            c->session[0] = '\0'; /* the session is gone; the caller must reconnect */
            pthread_mutex_unlock(&c->lock);
        }
        /* A 400 may still carry a JSON-RPC error the caller acts on (UnsupportedProtocolVersion
         * of 2026-07-28), so hand it over. */
        if (response != NULL && want_id != NULL && x.body.len > 0) {
            struct wdn_jsonrpc_fault f;
            json_t *j = NULL;
            if (wdn_jsonrpc_parse(x.body.data, x.body.len, &j, &f) == 0 &&
                json_is_object(json_object_get(j, "error")))
                *response = j;
            else
                json_decref(j);
        }
        goto out;
    }
    if (x.session[0] != '\0' && main_exchange) {
        pthread_mutex_lock(&c->lock);
        memcpy(c->session, x.session, sizeof(c->session));
        pthread_mutex_unlock(&c->lock);
    }
    if (want_id == NULL) {
        rc = 0;
        goto out;
    }
    if (x.response == NULL && !x.is_sse && x.body.len > 0) {
        struct wdn_jsonrpc_fault f;
        json_t *j = NULL;
        if (wdn_jsonrpc_parse(x.body.data, x.body.len, &j, &f) == 0) {
            on_message(&x, j);
            json_decref(j);
        }
    }
    /* An SSE answer that ended early (the server polls, or the network broke) resumes. */
    if (x.response == NULL && x.is_sse && x.last_id[0] != '\0') {
        rc = resume_stream(c, &x, deadline_ms, err);
        if (rc != 0)
            goto out;
    }
    if (x.response == NULL) {
        rc = WDN_EPROTO;
        wdn__mcp_err_set(err, rc, status, 0, "MCP server sent no response to the request");
        goto out;
    }
    *response = x.response;
    x.response = NULL;
    rc = 0;
out:
    xfer_reset(&x);
    free(body);
    return rc;
}

/* Answers a server request from inside an SSE stream, on a connection of its own. */
static void send_reply(struct wdn_mcp_client *c, json_t *msg)
{
    wdn__mcp_post(c, false, msg, NULL, NULL, NULL, NULL);
}

void wdn__mcp_delete_session(struct wdn_mcp_client *c)
{
    struct hdrs h;
    struct xfer x;
    struct wdn_diag diag;
    long status = 0;

    if (c->session[0] == '\0')
        return;
    xfer_init(&x, c, NULL);
    atomic_store(&c->stop, false);
    if (build_headers(c, NULL, "DELETE", NULL, &h, NULL) == 0) {
        (void)run(c, &x, "DELETE", &h, NULL, 2000, &status, &diag);
        free_headers(&h);
    }
    xfer_reset(&x);
    pthread_mutex_lock(&c->lock);
    c->session[0] = '\0';
    pthread_mutex_unlock(&c->lock);
}

/* ---------------------------------------------------------------------------------------- */
/* The standalone GET stream (initialize era)                                                 */

/* Reads the session's GET stream for as long as the client lives: notifications go to
 * on_notify and requests (an elicitation outside any tools/call, as the TypeScript SDK's server
 * sends them) to the request handler, each answered on a POST of its own. A server without the
 * stream (405) or refusing it ends the thread; a stream that ends is opened again after the
 * server's retry: time (with Last-Event-ID when its events were numbered). */
static void *listen_main(void *arg)
{
    struct wdn_mcp_client *c = arg;
    struct xfer x;
    struct hdrs h;
    struct wdn_diag diag;
    long status, retry_ms = WDN_MCP_CLIENT_RESUME_WAIT_MS;
    char last_id[256] = "";
    int rc, rounds, sse;

    for (rounds = 0; rounds < WDN_MCP_CLIENT_LISTEN_ROUNDS && !atomic_load(&c->listen_stop);
         rounds++) {
        xfer_init(&x, c, NULL);
        x.stop = &c->listen_stop;
        x.signal_head = rounds == 0;
        x.sse.retry_ms = -1;
        if (build_headers(c, NULL, "GET", last_id[0] ? last_id : NULL, &h, NULL) != 0) {
            xfer_reset(&x);
            break;
        }
        if (last_id[0] == '\0') {
            /* build_headers adds Accept only for resumption; a first GET needs it too. */
            add_header(&h, "Accept: text/event-stream");
        }
        rc = run(c, &x, "GET", &h, NULL, 24L * 3600 * 1000, &status, &diag);
        free_headers(&h);
        if (x.sse.retry_ms >= 0)
            retry_ms = x.sse.retry_ms;
        snprintf(last_id, sizeof(last_id), "%s", x.last_id);
        sse = x.is_sse;
        xfer_reset(&x);
        if (atomic_load(&c->listen_stop) || rc == WDN_ECANCELED || (rc == 0 && !sse) ||
            (status != 0 && (status < 200 || status > 299)))
            break;
        if (retry_ms > WDN_MCP_CLIENT_RESUME_MAX_WAIT_MS)
            retry_ms = WDN_MCP_CLIENT_RESUME_MAX_WAIT_MS;
        for (long waited = 0; waited < retry_ms && !atomic_load(&c->listen_stop); waited += 50)
            sleep_ms(retry_ms - waited < 50 ? retry_ms - waited : 50);
    }
    listen_ready(c);
    return NULL;
}

void wdn__mcp_listen_start(struct wdn_mcp_client *c)
{
    if (c->listening || c->modern || c->session[0] == '\0' ||
        (c->on_request == NULL && c->on_notify == NULL))
        return;
    atomic_store(&c->listen_stop, false);
    c->listen_ready = false;
    if (pthread_create(&c->listener, NULL, listen_main, c) != 0)
        return;
    c->listening = true;
    /* Wait (briefly) until the stream is open: a server sends what it has for the session on
     * the stream it has at that moment, so requests made before it opened could miss it. */
    {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += WDN_MCP_CLIENT_LISTEN_WAIT_MS / 1000;
        pthread_mutex_lock(&c->lock);
        while (!c->listen_ready)
            if (pthread_cond_timedwait(&c->listen_cond, &c->lock, &until) != 0)
                break;
        pthread_mutex_unlock(&c->lock);
    }
}

void wdn__mcp_listen_stop(struct wdn_mcp_client *c)
{
    if (!c->listening)
        return;
    atomic_store(&c->listen_stop, true);
    pthread_join(c->listener, NULL);
    c->listening = false;
}
