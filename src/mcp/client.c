/* The MCP client over the blocking client of http/fetch.h: Streamable HTTP with JSON or SSE
 * answers, sessions, tokens. Redirects are never followed: a token must not travel elsewhere. */
#include "warden/mcp.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "http/fetch.h"
#include "base/limits.h"
#include "base/str.h"
#include "mcp/sse.h"

#ifndef WDN_VERSION
#define WDN_VERSION "0"
#endif

#define SESSION_MAX 256

struct wdn_mcp_client {
    char *url;
    char *want_version;
    char *name;
    char *cversion;
    char *static_token;
    wdn_mcp_token_fn token_fn;
    void *token_ud;
    char **extra; /* NULL-terminated copies of the extra header lines */
    size_t nextra;
    long timeout_ms;
    wdn_mcp_notify_fn on_notify;
    void *notify_ud;

    char session[SESSION_MAX + 1];
    const char *version; /* negotiated, static */
    bool modern;
    json_t *server_info;
    json_int_t next_id;
};

/* State of one HTTP exchange while it runs. */
struct xfer {
    struct wdn_mcp_client *c;
    struct wdn_buf body;
    struct wdn__sse_parser sse;
    int is_sse; /* -1: unknown yet */
    json_t *want_id;
    json_t *response; /* the matching response, once seen */
    char session[SESSION_MAX + 1];
    char www_authenticate[512];
    int fault;
    char last_id[256]; /* the stream's last event id: where a resumption starts ("" none) */
};

static void err_set(struct wdn_mcp_error *e, int code, long http, long rpc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void err_set(struct wdn_mcp_error *e, int code, long http, long rpc, const char *fmt, ...)
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

static bool header_value_ok(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

static const char *static_version(const char *v)
{
    static const char *const all[] = {WDN_MCP_V2026_07_28, WDN_MCP_V2025_11_25, WDN_MCP_V2025_06_18,
                                      WDN_MCP_V2025_03_26};
    size_t i;

    for (i = 0; v != NULL && i < 4; i++)
        if (strcmp(v, all[i]) == 0)
            return all[i];
    return NULL;
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
        err_set(err, WDN_EINVAL, 0, 0, "MCP URL must start with http:// or https://");
        return NULL;
    }
    if (cfg->protocol_version != NULL && static_version(cfg->protocol_version) == NULL) {
        err_set(err, WDN_EUNSUPPORTED, 0, 0, "unsupported protocol version %.32s",
                cfg->protocol_version);
        return NULL;
    }
    if (cfg->bearer_token != NULL && !header_value_ok(cfg->bearer_token)) {
        err_set(err, WDN_EINVAL, 0, 0, "bearer token contains control characters");
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto nomem;
    c->url = strdup(cfg->url);
    c->want_version = strdup(cfg->protocol_version ? cfg->protocol_version : WDN_MCP_LATEST_LEGACY);
    c->name = strdup(cfg->client_name ? cfg->client_name : "warden-mcp-client");
    c->cversion = strdup(cfg->client_version ? cfg->client_version : WDN_VERSION);
    c->static_token = cfg->bearer_token ? strdup(cfg->bearer_token) : NULL;
    if (!c->url || !c->want_version || !c->name || !c->cversion ||
        (cfg->bearer_token && !c->static_token))
        goto nomem;
    for (h = cfg->extra_headers; h != NULL && *h != NULL; h++) {
        if (strchr(*h, ':') == NULL || !header_value_ok(*h)) {
            err_set(err, WDN_EINVAL, 0, 0, "extra header must be \"Name: value\"");
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
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : WDN_MCP_CLIENT_TIMEOUT_MS;
    c->on_notify = cfg->on_notify;
    c->notify_ud = cfg->notify_ud;
    c->next_id = 1;
    return c;
nomem:
    err_set(err, WDN_ENOMEM, 0, 0, "out of memory");
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

/* ---------------------------------------------------------------------------------------- */
/* One HTTP exchange                                                                          */

/* Copies a header value into out when it fits (cap with the NUL); false otherwise. */
static bool copy_value(struct wdn_str v, char *out, size_t cap)
{
    if (v.len >= cap)
        return false;
    memcpy(out, v.p, v.len);
    out[v.len] = '\0';
    return true;
}

static int on_head(void *ud, const struct wdn_fetch_head *head)
{
    struct xfer *x = ud;
    const struct wdn_http_header *h;

    h = wdn_http_header_find(head->headers, head->nheaders, WDN_STR("content-type"));
    x->is_sse =
        h != NULL && h->value.len >= 17 && strncasecmp(h->value.p, "text/event-stream", 17) == 0;
    h = wdn_http_header_find(head->headers, head->nheaders, WDN_STR("www-authenticate"));
    if (h != NULL)
        (void)copy_value(h->value, x->www_authenticate, sizeof(x->www_authenticate));
    h = wdn_http_header_find(head->headers, head->nheaders, WDN_STR("mcp-session-id"));
    /* Visible ASCII only, bounded: the value goes back out in our headers. */
    if (h != NULL && h->value.len > 0 && h->value.len <= SESSION_MAX) {
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
        json_t *reply = strcmp(m.method, "ping") == 0
                            ? wdn_jsonrpc_make_result(m.id, json_object())
                            : wdn_jsonrpc_make_error(m.id, WDN_JSONRPC_METHOD_NOT_FOUND,
                                                     "Method not supported by this client", NULL);
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

/* Request header lines, each malloc'd; the list is NULL-terminated for struct
 * wdn_fetch_request. Lines are wiped before they are freed: one may hold a token. */
struct hdrs {
    char **v;
    size_t n, cap;
};

static void add_line(struct hdrs *h, bool *ok, char *line)
{
    if (line == NULL || h->n + 1 >= h->cap) {
        *ok = false;
        free(line);
        return;
    }
    h->v[h->n++] = line;
    h->v[h->n] = NULL;
}

static void add_header(struct hdrs *h, bool *ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_header(struct hdrs *h, bool *ok, const char *fmt, ...)
{
    char line[WDN_MCP_MAX_HEADER_VALUE + 64];
    va_list ap;
    int w;

    if (!*ok)
        return;
    va_start(ap, fmt);
    w = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof(line) || !header_value_ok(line)) {
        *ok = false;
        return;
    }
    add_line(h, ok, strdup(line));
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

/* Builds the request headers into h (0), or fills err and returns its code. With last_id,
 * the headers of a GET that resumes an SSE stream (msg is then NULL). */
static int build_headers(struct wdn_mcp_client *c, const json_t *msg, const char *last_id,
                         struct hdrs *h, struct wdn_mcp_error *err)
{
    bool ok = true;
    const char *method = json_string_value(json_object_get(msg, "method"));
    size_t i;

    memset(h, 0, sizeof(*h));
    h->cap = 16 + c->nextra;
    h->v = calloc(h->cap, sizeof(*h->v));
    if (h->v == NULL) {
        err_set(err, WDN_ENOMEM, 0, 0, "out of memory");
        return WDN_ENOMEM;
    }
    if (last_id != NULL) {
        add_header(h, &ok, "Accept: text/event-stream");
        add_header(h, &ok, "Last-Event-ID: %s", last_id);
    } else {
        add_header(h, &ok, "Content-Type: application/json");
        add_header(h, &ok, "Accept: application/json, text/event-stream");
    }
    if (c->version != NULL)
        add_header(h, &ok, "MCP-Protocol-Version: %s", c->version);
    if (c->session[0] != '\0')
        add_header(h, &ok, "Mcp-Session-Id: %s", c->session);
    if (c->modern && method != NULL) {
        json_t *params = json_object_get(msg, "params");
        const char *name = NULL;
        add_header(h, &ok, "Mcp-Method: %s", method);
        if (strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0)
            name = json_string_value(json_object_get(params, "name"));
        else if (strcmp(method, "resources/read") == 0)
            name = json_string_value(json_object_get(params, "uri"));
        if (name != NULL)
            add_header(h, &ok, "Mcp-Name: %s", name);
    }
    if (c->token_fn != NULL || c->static_token != NULL) {
        char tok[WDN_JWT_MAX_TOKEN_BYTES + 1];
        int rc = 0;
        if (c->token_fn != NULL) {
            tok[0] = '\0';
            rc = c->token_fn(c->token_ud, tok, sizeof(tok));
            tok[sizeof(tok) - 1] = '\0';
        } else {
            snprintf(tok, sizeof(tok), "%s", c->static_token);
        }
        if (rc != 0) {
            OPENSSL_cleanse(tok, sizeof(tok));
            free_headers(h);
            err_set(err, rc, 0, 0, "token provider failed: %s", wdn_strerror(rc));
            return rc;
        }
        if (tok[0] != '\0') {
            size_t n = strlen(tok) + 32;
            char *line = malloc(n);
            if (line == NULL || !header_value_ok(tok)) {
                ok = false;
                free(line);
            } else {
                snprintf(line, n, "Authorization: Bearer %s", tok);
                add_line(h, &ok, line);
            }
        }
        OPENSSL_cleanse(tok, sizeof(tok));
    }
    for (i = 0; i < c->nextra && ok; i++)
        add_header(h, &ok, "%s", c->extra[i]);
    if (!ok) {
        free_headers(h);
        err_set(err, WDN_EINVAL, 0, 0, "cannot build request headers");
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

/*
 * The SSE answer to a request ended before its response and the server numbered its events:
 * reconnect with GET + Last-Event-ID (after the server's retry: time, bounded) and read on,
 * at most WDN_MCP_CLIENT_RESUME_MAX times and within the call's time budget (deadline_ms on
 * the monotonic clock). 0 once x->response arrived; otherwise fills err like any failed call.
 */
static int resume_stream(struct wdn_mcp_client *c, struct xfer *x, uint64_t deadline_ms,
                         struct wdn_mcp_error *err)
{
    struct hdrs hdrs = {NULL, 0, 0};
    struct wdn_diag diag;
    long status = 0, wait, retry_ms;
    uint64_t now;
    int attempt, rc = WDN_EPROTO;

    err_set(err, rc, 0, 0, "MCP server sent no response to the request");
    for (attempt = 0; attempt < WDN_MCP_CLIENT_RESUME_MAX && x->response == NULL; attempt++) {
        if (x->last_id[0] == '\0')
            break; /* nothing to resume from */
        wait = x->sse.retry_ms >= 0 ? x->sse.retry_ms : WDN_MCP_CLIENT_RESUME_WAIT_MS;
        if (wait > WDN_MCP_CLIENT_RESUME_MAX_WAIT_MS)
            wait = WDN_MCP_CLIENT_RESUME_MAX_WAIT_MS;
        now = wdn_clock_mono_ms();
        if (now + (uint64_t)wait + 1 >= deadline_ms) {
            rc = WDN_ETIMEOUT;
            err_set(err, rc, 0, 0, "MCP response did not arrive in time (stream resumed %d times)",
                    attempt);
            break;
        }
        sleep_ms(wait);
        rc = build_headers(c, NULL, x->last_id, &hdrs, err);
        if (rc != 0)
            break;
        /* A new connection is a new event stream; the reconnection time carries over. */
        retry_ms = x->sse.retry_ms;
        wdn__sse_reset(&x->sse);
        wdn__sse_init(&x->sse, WDN_SSE_MAX_EVENT_BYTES);
        x->sse.retry_ms = retry_ms;
        x->body.len = 0;
        x->is_sse = 0;
        memset(&diag, 0, sizeof(diag));
        status = 0;
        {
            long left = (long)(deadline_ms - wdn_clock_mono_ms());
            struct wdn_fetch_request req = {
                .method = "GET",
                .url = c->url,
                .headers = (const char *const *)hdrs.v,
                .timeout_ms = left > 0 ? left : 1,
                .connect_timeout_ms = left < 10000 ? (left > 0 ? left : 1) : 10000L,
                .max_response = SIZE_MAX,
            };
            struct wdn_fetch_callbacks cb = {on_head, on_body, x};
            rc = wdn_fetch_stream(&req, &cb, &status, &diag);
        }
        free_headers(&hdrs);
        if (rc != 0) {
            if (x->fault != 0) {
                rc = x->fault;
                err_set(err, rc, status, 0, "MCP response too large or malformed");
                break;
            }
            /* The network failed again: try once more while attempts and time remain. */
            err_set(err, rc, 0, 0, "cannot resume the MCP stream: %s", diag.msg);
            continue;
        }
        if (status < 200 || status > 299) {
            long rpc = 0;
            char msgbuf[160] = "";
            body_error(&x->body, &rpc, msgbuf, sizeof(msgbuf));
            rc = status == 401 ? WDN_EAUTH : status == 403 ? WDN_EDENIED : WDN_EHTTP_STATUS;
            err_set(err, rc, status, rpc, "MCP server refused to resume the stream: HTTP %ld%s%s",
                    status, msgbuf[0] ? ": " : "", msgbuf);
            if (err != NULL)
                memcpy(err->www_authenticate, x->www_authenticate, sizeof(err->www_authenticate));
            break;
        }
        if (!x->is_sse) {
            rc = WDN_EPROTO;
            err_set(err, rc, status, 0, "MCP server resumed the stream without text/event-stream");
            break;
        }
        rc = WDN_EPROTO;
        err_set(err, rc, status, 0, "MCP server sent no response to the request");
    }
    if (x->response != NULL) {
        rc = 0;
        if (err != NULL)
            memset(err, 0, sizeof(*err));
    }
    return rc;
}

/*
 * POSTs msg. When want_id is set the answer must carry the response (JSON body or an SSE
 * event); *response receives it. Without want_id, 202 (or any 2xx) is success. Only the main
 * exchanges (not the replies sent from inside an SSE stream) adopt a session id.
 */
static int post_on(struct wdn_mcp_client *c, bool main_exchange, json_t *msg, json_t *want_id,
                   json_t **response, long *status_out, struct wdn_mcp_error *err)
{
    struct xfer x;
    struct hdrs hdrs = {NULL, 0, 0};
    struct wdn_diag diag;
    char *body = NULL;
    long status = 0;
    int rc = WDN_ENOMEM;
    uint64_t deadline_ms = wdn_clock_mono_ms() + (uint64_t)c->timeout_ms;

    memset(&x, 0, sizeof(x));
    memset(&diag, 0, sizeof(diag));
    x.c = c;
    x.is_sse = 0;
    x.want_id = want_id;
    wdn_buf_init(&x.body, WDN_MCP_CLIENT_MAX_RESPONSE_BYTES);
    wdn__sse_init(&x.sse, WDN_SSE_MAX_EVENT_BYTES);
    if (response != NULL)
        *response = NULL;
    body = json_dumps(msg, JSON_COMPACT);
    if (body == NULL) {
        err_set(err, WDN_ENOMEM, 0, 0, "out of memory");
        goto out;
    }
    rc = build_headers(c, msg, NULL, &hdrs, err);
    if (rc != 0)
        goto out;
    {
        struct wdn_fetch_request req = {
            .method = "POST",
            .url = c->url,
            .headers = (const char *const *)hdrs.v,
            .body = body,
            .body_len = strlen(body),
            .timeout_ms = c->timeout_ms,
            .connect_timeout_ms = c->timeout_ms < 10000 ? c->timeout_ms : 10000L,
            /* SSE streams may run long; the JSON body and each event have their own caps. */
            .max_response = SIZE_MAX,
        };
        struct wdn_fetch_callbacks cb = {on_head, on_body, &x};
        rc = wdn_fetch_stream(&req, &cb, &status, &diag);
    }
    if (status_out != NULL)
        *status_out = status;
    /* An SSE answer whose connection broke after the server numbered its events is resumed
     * below like one the server closed; other failures are final. */
    if (rc != 0 && rc != WDN_ETIMEOUT && x.fault == 0 && status >= 200 && status <= 299 &&
        x.is_sse && want_id != NULL && x.response == NULL && x.last_id[0] != '\0')
        rc = 0;
    if (rc != 0) {
        if (x.fault != 0) {
            rc = x.fault;
            err_set(err, rc, status, 0, "MCP response too large or malformed");
        } else {
            err_set(err, rc, status, 0, "cannot reach MCP server: %s", diag.msg);
        }
        goto out;
    }
    if (status < 200 || status > 299) {
        long rpc = 0;
        char msgbuf[160] = "";
        body_error(&x.body, &rpc, msgbuf, sizeof(msgbuf));
        rc = status == 401 ? WDN_EAUTH : status == 403 ? WDN_EDENIED : WDN_EHTTP_STATUS;
        err_set(err, rc, status, rpc, "MCP server returned HTTP %ld%s%s", status,
                msgbuf[0] ? ": " : "", msgbuf);
        if (err != NULL)
            memcpy(err->www_authenticate, x.www_authenticate, sizeof(err->www_authenticate));
        if (status == 404 && c->session[0] != '\0')
            c->session[0] = '\0'; /* the session is gone; the caller must reconnect */
        goto out;
    }
    if (x.session[0] != '\0' && main_exchange)
        memcpy(c->session, x.session, sizeof(c->session));
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
        err_set(err, rc, status, 0, "MCP server sent no response to the request");
        goto out;
    }
    *response = x.response;
    x.response = NULL;
    rc = 0;
out:
    json_decref(x.response);
    wdn_buf_reset(&x.body);
    wdn__sse_reset(&x.sse);
    free_headers(&hdrs);
    free(body);
    return rc;
}

/* Answers a server request from inside an SSE stream, on a connection of its own. */
static void send_reply(struct wdn_mcp_client *c, json_t *msg)
{
    post_on(c, false, msg, NULL, NULL, NULL, NULL);
}

/* Adds the per-request metadata of the stateless era to params. */
static json_t *with_meta(struct wdn_mcp_client *c, json_t *params)
{
    json_t *meta;

    if (!c->modern)
        return params;
    if (params == NULL)
        params = json_object();
    if (params == NULL)
        return NULL;
    meta = json_object_get(params, "_meta");
    if (meta == NULL) {
        meta = json_object();
        json_object_set_new(params, "_meta", meta);
    }
    json_object_set_new(meta, "io.modelcontextprotocol/protocolVersion",
                        json_string(WDN_MCP_V2026_07_28));
    json_object_set_new(meta, "io.modelcontextprotocol/clientInfo",
                        json_pack("{s:s, s:s}", "name", c->name, "version", c->cversion));
    json_object_set_new(meta, "io.modelcontextprotocol/clientCapabilities", json_object());
    return params;
}

static int request_raw(struct wdn_mcp_client *c, const char *method, json_t *params,
                       json_t **result, long *status, struct wdn_mcp_error *err)
{
    json_t *id = json_integer(c->next_id++);
    json_t *msg = wdn_jsonrpc_make_request(id, method, with_meta(c, params));
    json_t *resp = NULL, *e;
    int rc;

    *result = NULL;
    if (msg == NULL || id == NULL) {
        json_decref(id);
        json_decref(msg);
        err_set(err, WDN_ENOMEM, 0, 0, "out of memory");
        return WDN_ENOMEM;
    }
    rc = post_on(c, true, msg, id, &resp, status, err);
    if (rc == 0) {
        e = json_object_get(resp, "error");
        if (e != NULL) {
            rc = WDN_EPROTO;
            err_set(err, rc, status ? *status : 0,
                    (long)json_integer_value(json_object_get(e, "code")), "%s",
                    json_string_value(json_object_get(e, "message"))
                        ? json_string_value(json_object_get(e, "message"))
                        : "error without message");
        } else if (!json_is_object(json_object_get(resp, "result"))) {
            rc = WDN_EPROTO;
            err_set(err, rc, 0, 0, "response without a result object");
        } else {
            *result = json_incref(json_object_get(resp, "result"));
        }
    }
    json_decref(resp);
    json_decref(msg);
    json_decref(id);
    return rc;
}

int wdn_mcp_client_request(struct wdn_mcp_client *c, const char *method, json_t *params,
                           json_t **result, struct wdn_mcp_error *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    return request_raw(c, method, params, result, NULL, err);
}

int wdn_mcp_client_notify(struct wdn_mcp_client *c, const char *method, json_t *params,
                          struct wdn_mcp_error *err)
{
    json_t *msg = wdn_jsonrpc_make_request(NULL, method, params);
    int rc;

    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (msg == NULL) {
        err_set(err, WDN_ENOMEM, 0, 0, "out of memory");
        return WDN_ENOMEM;
    }
    rc = post_on(c, true, msg, NULL, NULL, NULL, err);
    json_decref(msg);
    return rc;
}

static int connect_legacy(struct wdn_mcp_client *c, const char *want, struct wdn_mcp_error *err)
{
    json_t *params, *result = NULL;
    const char *got;
    int rc;

    c->modern = false;
    c->version = NULL;
    c->session[0] = '\0';
    params = json_pack("{s:s, s:{}, s:{s:s, s:s}}", "protocolVersion", want, "capabilities",
                       "clientInfo", "name", c->name, "version", c->cversion);
    rc = request_raw(c, "initialize", params, &result, NULL, err);
    if (rc != 0)
        goto out;
    got = static_version(json_string_value(json_object_get(result, "protocolVersion")));
    if (got == NULL || wdn_mcp_version_is_modern(got)) {
        rc = WDN_EUNSUPPORTED;
        err_set(err, rc, 0, 0, "server chose a protocol version this client does not speak");
        goto out;
    }
    c->version = got;
    json_decref(c->server_info);
    c->server_info = json_incref(result);
    rc = wdn_mcp_client_notify(c, "notifications/initialized", NULL, err);
out:
    json_decref(result);
    return rc;
}

int wdn_mcp_client_connect(struct wdn_mcp_client *c, struct wdn_mcp_error *err)
{
    json_t *result = NULL, *sv;
    long status = 0;
    size_t i;
    int rc;

    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (!wdn_mcp_version_is_modern(c->want_version))
        return connect_legacy(c, c->want_version, err);
    c->modern = true;
    c->version = WDN_MCP_V2026_07_28;
    rc = request_raw(c, "server/discover", NULL, &result, &status, err);
    if (rc == 0) {
        sv = json_object_get(result, "supportedVersions");
        for (i = 0; i < json_array_size(sv); i++)
            if (wdn_mcp_version_is_modern(json_string_value(json_array_get(sv, i)))) {
                json_decref(c->server_info);
                c->server_info = result;
                return 0;
            }
        json_decref(result);
    } else if (rc == WDN_EAUTH || rc == WDN_EDENIED || rc == WDN_ECONNREFUSED ||
               rc == WDN_ETIMEOUT || rc == WDN_EDNS || rc == WDN_ETLS) {
        c->modern = false;
        c->version = NULL;
        return rc;
    }
    /* A server of the initialize era (or one without 2026-07-28): fall back, as the spec's
     * backward-compatibility section describes. */
    return connect_legacy(c, WDN_MCP_LATEST_LEGACY, err);
}

int wdn_mcp_client_list_tools(struct wdn_mcp_client *c, json_t **tools, struct wdn_mcp_error *err)
{
    json_t *all = json_array(), *result = NULL, *cursor = NULL;
    int pages = 0, rc = 0;

    *tools = NULL;
    if (all == NULL)
        return WDN_ENOMEM;
    do {
        json_t *params = cursor ? json_pack("{s:O}", "cursor", cursor) : NULL;
        json_decref(cursor);
        cursor = NULL;
        rc = wdn_mcp_client_request(c, "tools/list", params, &result, err);
        if (rc != 0)
            break;
        json_array_extend(all, json_object_get(result, "tools"));
        if (json_is_string(json_object_get(result, "nextCursor")))
            cursor = json_incref(json_object_get(result, "nextCursor"));
        json_decref(result);
        result = NULL;
    } while (cursor != NULL && ++pages < 100);
    json_decref(cursor);
    if (rc != 0) {
        json_decref(all);
        return rc;
    }
    *tools = all;
    return 0;
}

int wdn_mcp_client_call_tool(struct wdn_mcp_client *c, const char *name, json_t *args,
                             json_t **result, struct wdn_mcp_error *err)
{
    json_t *params =
        json_pack("{s:s, s:o}", "name", name, "arguments", args != NULL ? args : json_object());

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
    if (c->session[0] != '\0') {
        /* Tell the server the session is over; its answer does not matter. */
        struct hdrs h;
        if (build_headers(c, NULL, NULL, &h, NULL) == 0) {
            struct wdn_fetch_request req = {
                .method = "DELETE",
                .url = c->url,
                .headers = (const char *const *)h.v,
                .timeout_ms = 2000,
            };
            (void)wdn_fetch_stream(&req, NULL, NULL, NULL);
            free_headers(&h);
        }
    }
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
    free(c);
}
