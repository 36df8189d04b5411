/* Forwarding a request to the app or to a peer sidecar over a pooled connection (client.h),
 * streaming both ways with backpressure. Unlike the generic proxy (http/proxy.c) failures are
 * answered in Dapr's error shape and every outcome is counted in the metrics, which is why the
 * sidecar carries this small piece of glue of its own. */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "sidecar/internal.h"

struct fwd {
    struct wdn_sidecar *sc;
    struct wdn_http_req *req;
    struct wdn_http_exchange *x;
    struct wdn__sc_fwd_info info;
    bool started;
    bool head_method;

    /* What a retry needs: a pooled keep-alive connection that the upstream closed just as we
     * reused it fails before any response byte; a request whose body we still have (none, or
     * read in full) is sent once more on a fresh connection, as HTTP clients do. */
    struct wdn_http_pool *pool;
    struct wdn_http_client_request rq;
    struct wdn_str body;
    bool have_body; /* the whole body is in `body` */
    bool retried;

    /* Whole-response rewrite (MCP tools/list): the 200 response is buffered, not streamed. The
     * rewrite's state lives in the request's arena, so it is finished (done) before the
     * request is released. */
    struct wdn__sc_xform xf;
    bool has_xf;
    bool buffering;
    int status;
    struct wdn_http_hdrs *hdrs; /* copies in the request's arena */
    struct wdn_str ctype;
    struct wdn_buf buf;
};

/* Ends the client's side according to how far we got, and frees the state. */
static void finish(struct fwd *f, int status)
{
    struct wdn_http_req *req = f->req;
    struct wdn_buf out;
    bool rewritten = false;

    if (f->x) {
        wdn_http_exchange_abort(f->x);
        f->x = NULL;
    }
    wdn_buf_init(&out, WDN_MCP_CLIENT_MAX_RESPONSE_BYTES);
    if (status == 0 && f->buffering)
        rewritten = f->xf.transform(f->xf.ud, f->ctype, wdn_buf_str(&f->buf), &out) == 0;
    if (f->has_xf && f->xf.done)
        f->xf.done(f->xf.ud);
    if (status == 0 && f->buffering) {
        wdn__sc_metrics_request(f->sc, f->info.port, f->status, f->info.t0);
        wdn_http_respond(req, f->status, f->hdrs->v, f->hdrs->n,
                         rewritten ? wdn_buf_str(&out) : wdn_buf_str(&f->buf));
    } else if (status == 0) {
        wdn_http_resp_end(req);
    } else if (f->started) {
        /* The upstream broke mid-body: the client must see a truncated response. */
        wdn_http_resp_abort(req);
    } else if (status == WDN_ECLOSED && wdn_http_req_gone(req)) {
        wdn__sc_metrics_request(f->sc, f->info.port, 499, f->info.t0);
        wdn_http_resp_end(req);
    } else if (status >= 400 && status <= 599) {
        wdn__sc_error(f->sc, req, f->info.port, f->info.t0, status, "ERR_DIRECT_INVOKE",
                      status == 413 ? "request body too large" : "bad request body");
    } else {
        char msg[512];
        int code = status == WDN_ETIMEOUT ? 504 : 502;
        wdn_fmt(msg, sizeof(msg), "failed to invoke, id: %s, err: %s%s", f->info.app_id,
                f->info.to_app ? "app channel: " : "", wdn_strerror(status));
        if (!f->info.to_app)
            wdn__sc_resolve_forget(f->sc, f->info.app_id);
        wdn_log_info("invoke failed app_id=%s to=%s err=%s status=%d", f->info.app_id,
                     f->info.to_app ? "app" : "sidecar", wdn_errname(status), code);
        wdn__sc_error(f->sc, req, f->info.port, f->info.t0, code, "ERR_DIRECT_INVOKE", msg);
    }
    wdn_buf_reset(&out);
    wdn_buf_reset(&f->buf);
    free(f);
}

/* Keeps the response head for a buffered response: copies into the request's arena. */
static int keep_head(struct fwd *f, const struct wdn_http_response *res,
                     const struct wdn_http_hdrs *h)
{
    struct wdn_arena *a = wdn_http_req_arena(f->req);

    f->hdrs = wdn_arena_alloc(a, sizeof(*f->hdrs));
    if (f->hdrs == NULL)
        return WDN_ENOMEM;
    f->hdrs->n = 0;
    for (size_t i = 0; i < h->n; i++) {
        char *n = wdn_arena_strdup(a, h->v[i].name), *v = wdn_arena_strdup(a, h->v[i].value);
        if (n == NULL || v == NULL)
            return WDN_ENOMEM;
        wdn_http_hdrs_add(f->hdrs, wdn_str_from_cstr(n), wdn_str_from_cstr(v));
        if (wdn_str_eq_case_cstr(h->v[i].name, "content-type"))
            f->ctype = wdn_str_from_cstr(v);
    }
    f->status = res->status;
    f->buffering = true;
    return 0;
}

static void on_client_gone(struct wdn_http_req *req, void *ud)
{
    finish(ud, WDN_ECLOSED);
}

static void on_client_written(struct wdn_http_req *req, int status, void *ud)
{
    struct fwd *f = ud;
    if (status == 0 && f->x)
        wdn_http_exchange_resume(f->x);
}

static void on_up_head(struct wdn_http_exchange *x, const struct wdn_http_response *res, void *ud)
{
    struct fwd *f = ud;
    struct wdn_http_hdrs h;
    uint64_t len = WDN_HTTP_LENGTH_UNKNOWN;
    int rc;

    rc = wdn_http_hdrs_end_to_end(res->headers, res->nheaders, &h);
    if (rc) {
        finish(f, WDN_EPROTO);
        return;
    }
    if (f->has_xf && res->status == 200 && !f->head_method) {
        if (keep_head(f, res, &h) != 0)
            finish(f, WDN_ENOMEM);
        return;
    }
    if (res->body == WDN_HTTP_BODY_LENGTH) {
        len = res->content_length;
    } else if (res->body == WDN_HTTP_BODY_NONE) {
        const struct wdn_http_header *cl =
            wdn_http_header_find(res->headers, res->nheaders, WDN_STR("content-length"));
        uint64_t v;
        len = 0;
        /* A reply to HEAD announces the length of what GET would return. */
        if (f->head_method && cl && wdn_str_to_u64(cl->value, UINT64_MAX - 1, &v) == 0)
            len = v;
    }
    rc = wdn_http_resp_start(f->req, res->status, h.v, h.n, len);
    if (rc) {
        finish(f, rc == WDN_ECLOSED ? WDN_ECLOSED : WDN_EPROTO);
        return;
    }
    f->started = true;
    wdn__sc_metrics_request(f->sc, f->info.port, res->status, f->info.t0);
}

static void on_up_body(struct wdn_http_exchange *x, struct wdn_str data, void *ud)
{
    struct fwd *f = ud;
    int rc;

    if (f->buffering) {
        if (wdn_buf_append(&f->buf, data.p, data.len) != 0)
            finish(f, WDN_ELIMIT);
        return;
    }
    rc = wdn_http_resp_write(f->req, data, on_client_written, f);
    if (rc == 0)
        wdn_http_exchange_pause(x);
    else if (rc != WDN_EINVAL)
        finish(f, WDN_ECLOSED);
}

static const struct wdn_http_exchange_cbs up_cbs;

static int start_exchange(struct fwd *f)
{
    int rc = wdn_http_exchange_start(f->pool, &f->rq, &up_cbs, f, &f->x);

    if (rc == 0 && f->have_body) {
        /* Copied by the client (cb NULL); the exchange owns the bytes from here. */
        if ((f->body.len && wdn_http_exchange_write(f->x, f->body, NULL, NULL) != 0) ||
            wdn_http_exchange_end(f->x) != 0) {
            wdn_http_exchange_abort(f->x);
            f->x = NULL;
            rc = WDN_EPROTO;
        }
    }
    return rc;
}

static void on_up_done(struct wdn_http_exchange *x, int status, void *ud)
{
    struct fwd *f = ud;

    f->x = NULL;
    if ((status == WDN_ECLOSED || status == WDN_ECONNRESET) && !f->started && !f->buffering &&
        !f->retried && (f->rq.body_length == 0 || f->have_body) && !wdn_http_req_gone(f->req)) {
        f->retried = true;
        if (start_exchange(f) == 0)
            return;
    }
    finish(f, status);
}

static const struct wdn_http_exchange_cbs up_cbs = {
    .on_head = on_up_head,
    .on_body = on_up_body,
    .on_done = on_up_done,
};

static void on_up_written(struct wdn_http_exchange *x, int status, void *ud)
{
    struct fwd *f = ud;
    if (status == 0)
        wdn_http_req_body_resume(f->req);
}

static void on_client_body(struct wdn_http_req *req, int status, struct wdn_str data, void *ud)
{
    struct fwd *f = ud;

    if (f->x == NULL)
        return;
    if (status == 0) {
        if (wdn_http_exchange_write(f->x, data, on_up_written, f) == 0)
            wdn_http_req_body_pause(req);
        else
            finish(f, WDN_EPROTO);
    } else if (status == 1) {
        if (wdn_http_exchange_end(f->x) != 0)
            finish(f, WDN_EPROTO);
    } else {
        finish(f, status == WDN_ELIMIT ? 413 : status == WDN_ECLOSED ? WDN_ECLOSED : 400);
    }
}

static int forward(struct wdn_sidecar *sc, struct wdn_http_req *req, struct wdn_http_pool *pool,
                   struct wdn_str target, const struct wdn_http_hdrs *h,
                   const struct wdn__sc_fwd_info *info, const struct wdn_str *body,
                   const struct wdn__sc_xform *xf)
{
    const struct wdn_http_request *head = wdn_http_req_head(req);
    struct fwd *f = calloc(1, sizeof(*f));
    int rc;

    if (f == NULL)
        return WDN_ENOMEM;
    f->sc = sc;
    f->req = req;
    f->info = *info;
    f->pool = pool;
    if (xf) {
        f->xf = *xf;
        f->has_xf = true;
    }
    wdn_buf_init(&f->buf, WDN_MCP_CLIENT_MAX_RESPONSE_BYTES);
    f->head_method = wdn_str_eq_cstr(head->method, "HEAD");
    /* The method, target and headers live in the request (its head or its arena) until the
     * request ends, so a retry can send them again. */
    f->rq.method = head->method;
    f->rq.target = target;
    f->rq.headers = h->v;
    f->rq.nheaders = h->n;
    if (body) {
        f->body = *body;
        f->have_body = true;
        f->rq.body_length = body->len;
    } else if (head->body == WDN_HTTP_BODY_CHUNKED) {
        f->rq.body_length = UINT64_MAX;
    } else if (head->body == WDN_HTTP_BODY_LENGTH) {
        f->rq.body_length = head->content_length;
    }
    rc = start_exchange(f);
    if (rc) {
        /* The caller still owns the request and the rewrite (it calls done itself). */
        wdn_buf_reset(&f->buf);
        free(f);
        return rc;
    }
    wdn_http_req_on_gone(req, on_client_gone, f);
    if (!body && f->rq.body_length > 0)
        wdn_http_req_read_body(req, on_client_body, f);
    return 0;
}

int wdn__sc_forward(struct wdn_sidecar *sc, struct wdn_http_req *req, struct wdn_http_pool *pool,
                    struct wdn_str target, const struct wdn_http_hdrs *h,
                    const struct wdn__sc_fwd_info *info)
{
    return forward(sc, req, pool, target, h, info, NULL, NULL);
}

int wdn__sc_forward_body(struct wdn_sidecar *sc, struct wdn_http_req *req,
                         struct wdn_http_pool *pool, struct wdn_str target,
                         const struct wdn_http_hdrs *h, const struct wdn__sc_fwd_info *info,
                         struct wdn_str body, const struct wdn__sc_xform *xf)
{
    return forward(sc, req, pool, target, h, info, &body, xf);
}
