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
};

/* Ends the client's side according to how far we got, and frees the state. */
static void finish(struct fwd *f, int status)
{
    struct wdn_http_req *req = f->req;

    if (f->x) {
        wdn_http_exchange_abort(f->x);
        f->x = NULL;
    }
    if (status == 0) {
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
    free(f);
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
    int rc = wdn_http_resp_write(f->req, data, on_client_written, f);

    if (rc == 0)
        wdn_http_exchange_pause(x);
    else if (rc != WDN_EINVAL)
        finish(f, WDN_ECLOSED);
}

static void on_up_done(struct wdn_http_exchange *x, int status, void *ud)
{
    struct fwd *f = ud;
    f->x = NULL;
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
                   const struct wdn__sc_fwd_info *info, const struct wdn_str *body)
{
    const struct wdn_http_request *head = wdn_http_req_head(req);
    struct wdn_http_client_request rq;
    struct fwd *f = calloc(1, sizeof(*f));
    int rc;

    if (f == NULL)
        return WDN_ENOMEM;
    f->sc = sc;
    f->req = req;
    f->info = *info;
    f->head_method = wdn_str_eq_cstr(head->method, "HEAD");
    rq.method = head->method;
    rq.target = target;
    rq.headers = h->v;
    rq.nheaders = h->n;
    if (body)
        rq.body_length = body->len;
    else if (head->body == WDN_HTTP_BODY_CHUNKED)
        rq.body_length = UINT64_MAX;
    else if (head->body == WDN_HTTP_BODY_LENGTH)
        rq.body_length = head->content_length;
    else
        rq.body_length = 0;
    rc = wdn_http_exchange_start(pool, &rq, &up_cbs, f, &f->x);
    if (rc) {
        free(f);
        return rc;
    }
    wdn_http_req_on_gone(req, on_client_gone, f);
    if (body) {
        /* Copied by the client (cb NULL); the exchange owns the bytes from here. */
        if ((body->len && wdn_http_exchange_write(f->x, *body, NULL, NULL) != 0) ||
            wdn_http_exchange_end(f->x) != 0)
            finish(f, WDN_EPROTO);
    } else if (rq.body_length > 0) {
        wdn_http_req_read_body(req, on_client_body, f);
    }
    return 0;
}

int wdn__sc_forward(struct wdn_sidecar *sc, struct wdn_http_req *req, struct wdn_http_pool *pool,
                    struct wdn_str target, const struct wdn_http_hdrs *h,
                    const struct wdn__sc_fwd_info *info)
{
    return forward(sc, req, pool, target, h, info, NULL);
}

int wdn__sc_forward_body(struct wdn_sidecar *sc, struct wdn_http_req *req,
                         struct wdn_http_pool *pool, struct wdn_str target,
                         const struct wdn_http_hdrs *h, const struct wdn__sc_fwd_info *info,
                         struct wdn_str body)
{
    return forward(sc, req, pool, target, h, info, &body);
}
