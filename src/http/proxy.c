/* The reverse proxy: glue between a server request (server.h) and a client exchange
 * (client.h). Bodies stream without copies: a piece read on one side is written on the other
 * straight from the read buffer, and that side pauses until the write has been handed to the
 * kernel, which is the backpressure in both directions. */
#include "http/proxy.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"

/* ---- Header lists ------------------------------------------------------------------------- */

int wdn_http_hdrs_add(struct wdn_http_hdrs *h, struct wdn_str name, struct wdn_str value)
{
    if (h->n >= sizeof(h->v) / sizeof(h->v[0]))
        return WDN_ELIMIT;
    h->v[h->n].name = name;
    h->v[h->n].value = value;
    h->n++;
    return 0;
}

size_t wdn_http_hdrs_remove(struct wdn_http_hdrs *h, struct wdn_str name)
{
    size_t j = 0, removed = 0;

    for (size_t i = 0; i < h->n; i++) {
        if (wdn_str_eq_case(h->v[i].name, name)) {
            removed++;
            continue;
        }
        h->v[j++] = h->v[i];
    }
    h->n = j;
    return removed;
}

int wdn_http_hdrs_set(struct wdn_http_hdrs *h, struct wdn_str name, struct wdn_str value)
{
    wdn_http_hdrs_remove(h, name);
    return wdn_http_hdrs_add(h, name, value);
}

const struct wdn_http_header *wdn_http_hdrs_get(const struct wdn_http_hdrs *h, struct wdn_str name)
{
    return wdn_http_header_find(h->v, h->n, name);
}

/* True when a Connection header of in[] lists name as one of its tokens. */
static bool named_by_connection(const struct wdn_http_header *in, size_t n, struct wdn_str name)
{
    for (size_t i = 0; i < n; i++) {
        struct wdn_str v;
        if (!wdn_str_eq_case_cstr(in[i].name, "connection"))
            continue;
        v = in[i].value;
        while (v.len > 0) {
            long comma = wdn_str_index(v, ',');
            struct wdn_str tok = {v.p, comma < 0 ? v.len : (size_t)comma};
            if (wdn_str_eq_case(wdn_str_trim_ows(tok), name))
                return true;
            if (comma < 0)
                break;
            v.p += comma + 1;
            v.len -= (size_t)comma + 1;
        }
    }
    return false;
}

int wdn_http_hdrs_end_to_end(const struct wdn_http_header *in, size_t n, struct wdn_http_hdrs *out)
{
    bool has_connection = false;
    int rc = 0;

    for (size_t i = 0; i < n; i++)
        has_connection = has_connection || wdn_str_eq_case(in[i].name, WDN_STR("connection"));
    out->n = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct wdn_str name = in[i].name;
        /* Hop-by-hop (Transfer-Encoding among them), and the framing the proxy sets itself. */
        if (wdn_http_is_hop_by_hop(name) || wdn_str_eq_case(name, WDN_STR("content-length")) ||
            wdn_str_eq_case(name, WDN_STR("expect")))
            continue;
        if (has_connection && named_by_connection(in, n, name))
            continue;
        rc = wdn_http_hdrs_add(out, name, in[i].value);
    }
    return rc;
}

/* ---- One forwarded request ---------------------------------------------------------------- */

struct pstate {
    struct wdn_http_req *req;
    struct wdn_http_exchange *x;
    const struct wdn_http_proxy_hooks *hooks; /* never NULL (no_hooks) */
    bool started;                             /* the client's response head went out (streaming) */
    bool head_method;

    /* What a retry needs: method, target and headers live in the request (its head or its
     * arena) until it ends, so they can be sent again; the body only when read in advance. */
    struct wdn_http_pool *pool;
    struct wdn_http_client_request rq;
    struct wdn_str body;
    bool have_body;
    bool retry, retried;

    /* What a reroute (another upstream when a connection could not be made) needs of a
     * streamed body: the piece handed to the exchange and not yet taken by the upstream (the
     * server holds it while the body is paused), whether the upstream took any piece (then the
     * body cannot be sent again), and whether the client's body ended. */
    struct wdn_str piece;
    bool piece_held;
    bool body_taken;
    bool body_ended;
    unsigned reroutes;

    /* A transformed response: the 200's head is kept (in the request's arena) and its body
     * buffered until the end. */
    bool buffering;
    int status;
    struct wdn_http_hdrs *kept;
    struct wdn_str ctype;
    struct wdn_buf buf;
};

static const struct wdn_http_proxy_hooks no_hooks;
static const struct wdn_http_header text_plain = {{"Content-Type", 12}, {"text/plain", 10}};

/* The default answer to a failure before the response head; the error hook may reshape it. */
static void failure_answer(struct pstate *st, int err, struct wdn_http_proxy_answer *a)
{
    const char *text;

    if (err == WDN_ETIMEOUT) {
        a->status = 504;
        text = "Gateway Timeout\n";
    } else if (err >= 400 && err <= 599) {
        a->status = err;
        text = "Request refused\n";
    } else {
        a->status = 502;
        text = "Bad Gateway\n";
    }
    a->headers[0] = text_plain;
    a->nheaders = 1;
    wdn_buf_init(&a->body, WDN_HTTP_MAX_LINE_BYTES);
    wdn_buf_append_cstr(&a->body, text);
    if (st->hooks->error)
        st->hooks->error(st->req, err, a, st->hooks->ud);
}

static void hook_response(struct pstate *st, int status)
{
    if (st->hooks->response)
        st->hooks->response(st->req, status, st->hooks->ud);
}

/*
 * Ends the client's side according to how far we got, and frees the state. status is 0 when
 * the upstream's response is complete, else why the forward failed (WDN_E*, or an HTTP status
 * for a client body that broke). The hooks' done runs before the request is released.
 */
static void finish(struct pstate *st, int status)
{
    struct wdn_http_req *req = st->req;
    struct wdn_http_proxy_answer a = {0};
    struct wdn_buf out;
    int rc = 1;

    if (st->x) {
        wdn_http_exchange_abort(st->x);
        st->x = NULL;
    }
    wdn_buf_init(&out, st->buf.max);
    if (status == 0 && st->buffering) {
        rc = st->hooks->transform(req, st->ctype, wdn_buf_str(&st->buf), &out, st->hooks->ud);
        if (rc < 0)
            status = WDN_EPROTO;
    }
    if (status == 0 && st->buffering) {
        hook_response(st, st->status);
        if (st->hooks->done)
            st->hooks->done(req, st->hooks->ud);
        wdn_http_respond(req, st->status, st->kept->v, st->kept->n,
                         rc == 0 ? wdn_buf_str(&out) : wdn_buf_str(&st->buf));
    } else if (status == 0) {
        if (st->hooks->done)
            st->hooks->done(req, st->hooks->ud);
        wdn_http_resp_end(req);
    } else if (st->started) {
        /* The upstream broke mid-body: the client must see a truncated response. */
        if (st->hooks->done)
            st->hooks->done(req, st->hooks->ud);
        wdn_http_resp_abort(req);
    } else if (status == WDN_ECLOSED && wdn_http_req_gone(req)) {
        hook_response(st, 499);
        if (st->hooks->done)
            st->hooks->done(req, st->hooks->ud);
        wdn_http_resp_end(req);
    } else {
        failure_answer(st, status, &a);
        hook_response(st, a.status);
        if (st->hooks->done)
            st->hooks->done(req, st->hooks->ud);
        wdn_http_respond(req, a.status, a.headers, a.nheaders, wdn_buf_str(&a.body));
        wdn_buf_reset(&a.body);
    }
    wdn_buf_reset(&out);
    wdn_buf_reset(&st->buf);
    free(st);
}

static void on_client_gone(struct wdn_http_req *req, void *ud)
{
    finish(ud, WDN_ECLOSED);
}

static void on_client_written(struct wdn_http_req *req, int status, void *ud)
{
    struct pstate *st = ud;
    if (status == 0 && st->x)
        wdn_http_exchange_resume(st->x);
}

/* Keeps the head of a response to transform: copies into the request's arena. */
static int keep_head(struct pstate *st, int status, const struct wdn_http_hdrs *h)
{
    struct wdn_arena *a = wdn_http_req_arena(st->req);

    st->kept = wdn_arena_alloc(a, sizeof(*st->kept));
    if (st->kept == NULL)
        return WDN_ENOMEM;
    st->kept->n = 0;
    for (size_t i = 0; i < h->n; i++) {
        char *n = wdn_arena_strdup(a, h->v[i].name), *v = wdn_arena_strdup(a, h->v[i].value);
        if (n == NULL || v == NULL)
            return WDN_ENOMEM;
        wdn_http_hdrs_add(st->kept, wdn_str_from_cstr(n), wdn_str_from_cstr(v));
        if (wdn_str_eq_case_cstr(h->v[i].name, "content-type"))
            st->ctype = wdn_str_from_cstr(v);
    }
    st->status = status;
    st->buffering = true;
    return 0;
}

static void on_up_head(struct wdn_http_exchange *x, const struct wdn_http_response *res, void *ud)
{
    struct pstate *st = ud;
    struct wdn_http_hdrs h;
    uint64_t len = WDN_HTTP_LENGTH_UNKNOWN;
    int rc;

    rc = wdn_http_hdrs_end_to_end(res->headers, res->nheaders, &h);
    if (rc == 0 && st->hooks->response_headers)
        rc = st->hooks->response_headers(st->req, res->status, &h, st->hooks->ud);
    if (rc) {
        finish(st, WDN_EPROTO);
        return;
    }
    if (st->hooks->transform && res->status == 200 && !st->head_method) {
        if (keep_head(st, res->status, &h) != 0)
            finish(st, WDN_ENOMEM);
        return;
    }
    if (res->body == WDN_HTTP_BODY_LENGTH) {
        len = res->content_length;
    } else if (res->body == WDN_HTTP_BODY_NONE) {
        len = 0;
        /* A reply to HEAD announces the length of what GET would return. */
        const struct wdn_http_header *cl =
            wdn_http_header_find(res->headers, res->nheaders, WDN_STR("content-length"));
        uint64_t v;
        if (st->head_method && cl && wdn_str_to_u64(cl->value, UINT64_MAX - 1, &v) == 0)
            len = v;
    }
    rc = wdn_http_resp_start(st->req, res->status, h.v, h.n, len);
    if (rc) {
        finish(st, rc == WDN_ECLOSED ? WDN_ECLOSED : WDN_EPROTO);
        return;
    }
    st->started = true;
    hook_response(st, res->status);
}

static void on_up_body(struct wdn_http_exchange *x, struct wdn_str data, void *ud)
{
    struct pstate *st = ud;
    int rc;

    if (st->buffering) {
        if (wdn_buf_append(&st->buf, data.p, data.len) != 0)
            finish(st, WDN_ELIMIT);
        return;
    }
    rc = wdn_http_resp_write(st->req, data, on_client_written, st);
    if (rc == 0) {
        wdn_http_exchange_pause(x);
    } else if (rc != WDN_EINVAL) {
        finish(st, WDN_ECLOSED);
    }
    /* WDN_EINVAL: a body the client must not get (HEAD, 304), or more than announced, which
     * the parser's framing rules out: dropped. */
}

static const struct wdn_http_exchange_cbs up_cbs;
static void on_up_written(struct wdn_http_exchange *x, int status, void *ud);

static int start_exchange(struct pstate *st)
{
    int rc = wdn_http_exchange_start(st->pool, &st->rq, &up_cbs, st, &st->x);

    if (rc == 0 && st->have_body) {
        /* Copied by the client (cb NULL); the exchange owns the bytes from here. */
        if ((st->body.len && wdn_http_exchange_write(st->x, st->body, NULL, NULL) != 0) ||
            wdn_http_exchange_end(st->x) != 0) {
            wdn_http_exchange_abort(st->x);
            st->x = NULL;
            rc = WDN_EPROTO;
        }
    }
    return rc;
}

/* Sends the whole request again to another upstream the reroute hook names, when a connection
 * could not be made (nothing of the request left). True when it is on its way. */
static bool reroute(struct pstate *st, int err)
{
    struct wdn_http_pool *pool = NULL;

    if (st->hooks->reroute == NULL || st->reroutes >= WDN_HTTP_PROXY_MAX_REROUTES ||
        st->started || st->buffering || st->body_taken || wdn_http_req_gone(st->req))
        return false;
    st->reroutes++;
    if (st->hooks->reroute(st->req, err, &pool, st->hooks->ud) != 0 || pool == NULL)
        return false;
    st->pool = pool;
    if (start_exchange(st) != 0)
        return false;
    if (!st->have_body && ((st->piece_held && wdn_http_exchange_write(st->x, st->piece,
                                                                       on_up_written, st) != 0) ||
                           (st->body_ended && wdn_http_exchange_end(st->x) != 0))) {
        wdn_http_exchange_abort(st->x);
        st->x = NULL;
        return false;
    }
    return true;
}

static void on_up_done(struct wdn_http_exchange *x, int status, void *ud)
{
    struct pstate *st = ud;

    st->x = NULL;
    if (status == WDN_ECONNREFUSED && reroute(st, status))
        return;
    if ((status == WDN_ECLOSED || status == WDN_ECONNRESET) && st->retry && !st->retried &&
        !st->started && !st->buffering && (st->rq.body_length == 0 || st->have_body) &&
        !wdn_http_req_gone(st->req)) {
        st->retried = true;
        if (start_exchange(st) == 0)
            return;
    }
    finish(st, status);
}

static const struct wdn_http_exchange_cbs up_cbs = {
    .on_head = on_up_head,
    .on_body = on_up_body,
    .on_done = on_up_done,
};

static void on_up_written(struct wdn_http_exchange *x, int status, void *ud)
{
    struct pstate *st = ud;
    if (status == 0) {
        st->piece_held = false;
        st->body_taken = true;
        wdn_http_req_body_resume(st->req);
    }
}

static void on_client_body(struct wdn_http_req *req, int status, struct wdn_str data, void *ud)
{
    struct pstate *st = ud;
    int rc;

    if (st->x == NULL)
        return;
    if (status == 0) {
        rc = wdn_http_exchange_write(st->x, data, on_up_written, st);
        if (rc == 0) {
            st->piece = data;
            st->piece_held = true;
            wdn_http_req_body_pause(req);
        } else {
            finish(st, WDN_EPROTO);
        }
    } else if (status == 1) {
        st->body_ended = true;
        if (wdn_http_exchange_end(st->x) != 0)
            finish(st, WDN_EPROTO);
    } else if (status == WDN_ECLOSED) {
        finish(st, WDN_ECLOSED);
    } else {
        /* The client's body broke (bad chunking, over the limit, timeout). */
        finish(st, status == WDN_ELIMIT ? 413 : status == WDN_ETIMEOUT ? 408 : 400);
    }
}

int wdn_http_proxy_forward(struct wdn_http_req *req, struct wdn_http_pool *pool,
                           const struct wdn_http_proxy_request *rq,
                           const struct wdn_http_proxy_hooks *hooks)
{
    static const struct wdn_http_proxy_request defaults;
    const struct wdn_http_request *head = wdn_http_req_head(req);
    const struct wdn_http_hdrs *h;
    struct pstate *st;
    int rc;

    if (rq == NULL)
        rq = &defaults;
    if (hooks == NULL)
        hooks = &no_hooks;
    h = rq->headers;
    if (h == NULL) {
        /* The client's headers, kept in the arena so that a retry can send them again. */
        struct wdn_http_hdrs *own = wdn_arena_alloc(wdn_http_req_arena(req), sizeof(*own));
        if (own == NULL)
            return WDN_ENOMEM;
        rc = wdn_http_hdrs_end_to_end(head->headers, head->nheaders, own);
        if (rc == 0 && hooks->request_headers)
            rc = hooks->request_headers(req, own, hooks->ud);
        if (rc)
            return rc;
        h = own;
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return WDN_ENOMEM;
    st->req = req;
    st->hooks = hooks;
    st->pool = pool;
    st->retry = rq->retry;
    st->head_method = wdn_str_eq_cstr(head->method, "HEAD");
    wdn_buf_init(&st->buf,
                 rq->max_transform_bytes ? rq->max_transform_bytes : WDN_HTTP_MAX_BODY_BYTES);
    st->rq.method = head->method;
    st->rq.target = rq->target.len ? rq->target : head->target;
    st->rq.headers = h->v;
    st->rq.nheaders = h->n;
    if (rq->body) {
        st->body = *rq->body;
        st->have_body = true;
        st->rq.body_length = rq->body->len;
    } else if (head->body == WDN_HTTP_BODY_CHUNKED) {
        st->rq.body_length = WDN_HTTP_LENGTH_UNKNOWN;
    } else if (head->body == WDN_HTTP_BODY_LENGTH) {
        st->rq.body_length = head->content_length;
    }
    rc = start_exchange(st);
    if (rc) {
        free(st);
        return rc;
    }
    wdn_http_req_on_gone(req, on_client_gone, st);
    if (!st->have_body && st->rq.body_length > 0)
        wdn_http_req_read_body(req, on_client_body, st);
    return 0;
}

/* ---- The ready-made handler --------------------------------------------------------------- */

#define PROXY_MAX_WORKERS 256

struct wdn_http_proxy {
    struct wdn_http_handler base;
    struct wdn_http_proxy_config cfg;
    char *host;
    char *server_name;
    struct wdn_http_pool *pools[PROXY_MAX_WORKERS];
};

static int proxy_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct wdn_http_proxy *p = (struct wdn_http_proxy *)self;
    int id = wdn_http_worker_id(wdn_http_req_worker(req));
    int rc;

    if (id >= PROXY_MAX_WORKERS || p->pools[id] == NULL)
        return WDN_ESTATE;
    rc = wdn_http_proxy_forward(req, p->pools[id], NULL, &p->cfg.hooks);
    if (rc >= 400 && rc <= 599) {
        wdn_http_respond(req, rc, &text_plain, 1, WDN_STR("Request refused\n"));
        return 0;
    }
    if (rc) {
        wdn_http_respond(req, 502, &text_plain, 1, WDN_STR("Bad Gateway\n"));
        return 0;
    }
    return 0;
}

static int proxy_worker_start(struct wdn_http_handler *self, struct wdn_http_worker *w)
{
    struct wdn_http_proxy *p = (struct wdn_http_proxy *)self;
    int id = wdn_http_worker_id(w);

    if (id >= PROXY_MAX_WORKERS)
        return WDN_ELIMIT;
    return wdn_http_pool_new(wdn_http_worker_loop(w), &p->cfg.upstream, &p->pools[id]);
}

static void proxy_worker_stop(struct wdn_http_handler *self, struct wdn_http_worker *w)
{
    struct wdn_http_proxy *p = (struct wdn_http_proxy *)self;
    int id = wdn_http_worker_id(w);

    if (id < PROXY_MAX_WORKERS) {
        wdn_http_pool_free(p->pools[id]);
        p->pools[id] = NULL;
    }
}

int wdn_http_proxy_new(const struct wdn_http_proxy_config *cfg, struct wdn_http_proxy **out)
{
    struct wdn_http_proxy *p = calloc(1, sizeof(*p));
    int rc = WDN_ENOMEM;

    *out = NULL;
    if (p == NULL)
        goto out;
    p->cfg = *cfg;
    if (cfg->upstream.host == NULL) {
        rc = WDN_EINVAL;
        goto out;
    }
    p->host = strdup(cfg->upstream.host);
    if (p->host == NULL)
        goto out;
    p->cfg.upstream.host = p->host;
    if (cfg->upstream.server_name) {
        p->server_name = strdup(cfg->upstream.server_name);
        if (p->server_name == NULL)
            goto out;
        p->cfg.upstream.server_name = p->server_name;
    }
    p->base.on_req = proxy_on_req;
    p->base.on_worker_start = proxy_worker_start;
    p->base.on_worker_stop = proxy_worker_stop;
    *out = p;
    p = NULL;
    rc = 0;
out:
    wdn_http_proxy_free(p);
    return rc;
}

struct wdn_http_handler *wdn_http_proxy_handler(struct wdn_http_proxy *p)
{
    return &p->base;
}

void wdn_http_proxy_free(struct wdn_http_proxy *p)
{
    if (p == NULL)
        return;
    free(p->host);
    free(p->server_name);
    free(p);
}
