/* Forwarding a request to the app or to a peer sidecar: hook functions on the one proxy engine
 * (http/proxy.c), which streams both ways with backpressure. The hooks give failures Dapr's
 * error shape, count every outcome in the metrics, forget a peer address that failed and send a
 * request whose connection could not be made to the peer's next address at once, point a
 * peer's Bearer challenges at this sidecar's metadata document, and pass the MCP guard's body
 * (read in advance) and its tools/list rewrite through. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "http/tls.h"
#include "sidecar/internal.h"

/* One forward's hook state, in the request's arena (the proxy calls done before the request
 * ends, so it never outlives it). */
struct fwd {
    struct wdn__sc_rq *rq;
    struct wdn__sc_fwd f;
    struct wdn__sc_peer peer; /* the peer address the current pool goes to (not to_app) */
    struct wdn_http_proxy_hooks hooks;
    struct wdn_http_proxy_request prq;
};

struct wdn_http_client *wdn__sc_worker_client(struct wdn__sc_rq *rq)
{
    int id = wdn_http_worker_id(wdn_http_req_worker(rq->req));
    return id < WDN__SC_MAX_WORKERS ? rq->l->clients[id] : NULL;
}

int wdn__sc_peer_pool_for(struct wdn__sc_rq *rq, const struct wdn__sc_peer *peer,
                          struct wdn_http_pool **pool)
{
    struct wdn_sidecar *sc = rq->sc;
    struct wdn_http_client *cl = wdn__sc_worker_client(rq);
    /* The callee's certificate must name the callee: its DNS SAN is the app ID. */
    struct wdn_http_pool_config pc = {
        .host = peer->host,
        .port = peer->port,
        .server_name = wdn__sc_dns_label(peer->app_id) ? peer->app_id : NULL,
    };
    int rc;

    /* A reference of our own: a certificate rotation on the main thread may drop the sidecar's
     * at any moment; the pool takes its own when it is created. */
    pthread_mutex_lock(&sc->tls_mu);
    pc.tls = wdn_tls_ctx_ref(sc->tls_client);
    pthread_mutex_unlock(&sc->tls_mu);
    rc = cl ? wdn_http_client_pool(cl, &pc, pool) : WDN_ENOMEM;
    wdn_tls_ctx_free(pc.tls);
    return rc;
}

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
        wdn__sc_resolve_forget(fw->rq->sc, &fw->peer);
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

/* A peer sidecar's address could not be reached (refused, unreachable: nothing was sent): the
 * address is forgotten and the request goes at once to the name's next address, unless there
 * is none that has not failed recently. */
static int on_reroute(struct wdn_http_req *req, int err, struct wdn_http_pool **pool, void *ud)
{
    struct fwd *fw = ud;
    struct wdn__sc_peer next;
    int rc;

    (void)req;
    if (fw->f.to_app)
        return WDN_ENOTFOUND; /* the app channel has one address */
    wdn__sc_resolve_forget(fw->rq->sc, &fw->peer);
    rc = wdn__sc_resolve(fw->rq->sc, fw->f.app_id, &next);
    if (rc == 0 && (next.suspect || (next.port == fw->peer.port &&
                                     strcmp(next.host, fw->peer.host) == 0)))
        rc = WDN_ENOTFOUND; /* no other address worth a try */
    if (rc == 0)
        rc = wdn__sc_peer_pool_for(fw->rq, &next, pool);
    if (rc)
        return rc;
    wdn_log_info("invoke app_id=%s address=%s:%d err=%s: trying address=%s:%d", fw->f.app_id,
                 fw->peer.host, fw->peer.port, wdn_errname(err), next.host, next.port);
    fw->peer = next;
    return 0;
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
    if (f->peer)
        fw->peer = *f->peer;
    else
        memset(&fw->peer, 0, sizeof(fw->peer));
    fw->hooks = (struct wdn_http_proxy_hooks){
        .response_headers = f->to_app && !f->cors ? NULL : on_response_headers,
        .error = on_error,
        .response = on_response,
        .transform = f->transform ? on_transform : NULL,
        .done = on_done,
        .reroute = f->to_app ? NULL : on_reroute,
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
