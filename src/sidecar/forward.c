/* Forwarding a request to the app or to a peer sidecar: hook functions on the one proxy engine
 * (http/proxy.c), which streams both ways with backpressure. The hooks give failures Dapr's
 * error shape, count every outcome in the metrics, forget a peer address that failed, point a
 * peer's Bearer challenges at this sidecar's metadata document, and pass the MCP guard's body
 * (read in advance) and its tools/list rewrite through. */
#include <stdlib.h>

#include "base/error.h"
#include "base/log.h"
#include "sidecar/internal.h"

/* One forward's hook state, in the request's arena (the proxy calls done before the request
 * ends, so it never outlives it). */
struct fwd {
    struct wdn__sc_rq *rq;
    struct wdn__sc_fwd f;
    struct wdn_http_proxy_hooks hooks;
    struct wdn_http_proxy_request prq;
};

static void on_error(struct wdn_http_req *req, int err, struct wdn_http_proxy_answer *a, void *ud)
{
    struct fwd *fw = ud;
    char msg[512];

    (void)req;
    a->body.len = 0;
    a->headers[0] = wdn__sc_json_ct;
    a->nheaders = 1;
    if (err >= 400 && err <= 599) {
        /* The client's body broke. */
        wdn__sc_error_json(&a->body, "ERR_DIRECT_INVOKE",
                           err == 413 ? "request body too large" : "bad request body");
        return;
    }
    wdn_fmt(msg, sizeof(msg), "failed to invoke, id: %s, err: %s%s", fw->f.app_id,
            fw->f.to_app ? "app channel: " : "", wdn_strerror(err));
    if (!fw->f.to_app)
        wdn__sc_resolve_forget(fw->rq->sc, fw->f.app_id);
    wdn_log_info("invoke failed app_id=%s to=%s err=%s status=%d", fw->f.app_id,
                 fw->f.to_app ? "app" : "sidecar", wdn_errname(err), a->status);
    wdn__sc_error_json(&a->body, "ERR_DIRECT_INVOKE", msg);
}

/* A peer sidecar's refusal names no metadata URL (it cannot know where the client reached
 * us): point its Bearer challenge at ours. Public metadata gets its CORS header. */
static int on_response_headers(struct wdn_http_req *req, int status, struct wdn_http_hdrs *h,
                               void *ud)
{
    struct fwd *fw = ud;

    (void)req;
    if (status == 401 || status == 403)
        wdn__sc_challenge_point(fw->rq, h->v, h->n);
    if (fw->f.cors)
        return wdn_http_hdrs_set(h, WDN_STR("Access-Control-Allow-Origin"), WDN_STR("*"));
    return 0;
}

static void on_response(struct wdn_http_req *req, int status, void *ud)
{
    struct fwd *fw = ud;

    (void)req;
    wdn__sc_metrics_request(fw->rq->sc, fw->rq->port, status, fw->rq->t0);
    wdn__sc_obs_status(fw->rq, status);
}

static int on_transform(struct wdn_http_req *req, struct wdn_str ctype, struct wdn_str body,
                        struct wdn_buf *out, void *ud)
{
    struct fwd *fw = ud;

    (void)req;
    return fw->f.transform(fw->f.ud, ctype, body, out);
}

static void on_done(struct wdn_http_req *req, void *ud)
{
    struct fwd *fw = ud;

    (void)req;
    if (fw->f.done)
        fw->f.done(fw->f.ud);
    wdn__sc_obs_end(fw->rq, 0);
}

int wdn__sc_forward(struct wdn__sc_rq *rq, const struct wdn__sc_fwd *f)
{
    struct fwd *fw = wdn_arena_alloc(wdn_http_req_arena(rq->req), sizeof(*fw));
    int rc;

    if (fw == NULL) {
        if (f->done)
            f->done(f->ud);
        return WDN_ENOMEM;
    }
    fw->rq = rq;
    fw->f = *f;
    fw->hooks = (struct wdn_http_proxy_hooks){
        .response_headers = f->to_app && !f->cors ? NULL : on_response_headers,
        .error = on_error,
        .response = on_response,
        .transform = f->transform ? on_transform : NULL,
        .done = on_done,
        .ud = fw,
    };
    fw->prq = (struct wdn_http_proxy_request){
        .target = f->target,
        .headers = f->headers,
        .body = f->body,
        .retry = true,
        .max_transform_bytes = WDN_MCP_CLIENT_MAX_RESPONSE_BYTES,
    };
    rc = wdn_http_proxy_forward(rq->req, f->pool, &fw->prq, &fw->hooks);
    if (rc && f->done)
        f->done(f->ud);
    return rc;
}
