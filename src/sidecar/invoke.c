/* Service invocation, after the port handlers decided who calls whom: to this sidecar's app
 * (the app pipeline, the MCP guard on the guarded path, then the app channel) or to another
 * app's sidecar over mTLS. Builds the forwarded request: the end-to-end headers minus what the
 * sidecars own, the pipelines' edits, the caller and callee app IDs, trace context. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "base/log.h"
#include "sidecar/internal.h"

/* Adds name with a copy of value in the request's arena. 0, WDN_ENOMEM (never an empty value in
 * place of an identity) or WDN_ELIMIT. */
static int add_copy(struct wdn_http_req *req, struct wdn_http_hdrs *h, const char *name,
                    const char *value)
{
    char *p = wdn__sc_rq_strdup(req, value);
    return p ? wdn_http_hdrs_add(h, wdn_str_from_cstr(name), wdn_str_from_cstr(p)) : WDN_ENOMEM;
}

/* Headers a caller may never set: the sidecars own them. */
#define NAME(lit) {(lit), sizeof(lit) - 1}
static const struct wdn_str sidecar_owned[] = {
    NAME("dapr-api-token"),        NAME("dapr-app-id"), NAME("dapr-caller-app-id"),
    NAME("dapr-callee-app-id"),    NAME("dapr-caller-namespace"), NAME("host"),
    NAME(WDN__SC_RESOURCE_HEADER),
};
static const struct wdn_str trace_headers[] = {NAME("traceparent"), NAME("tracestate")};
#undef NAME

static bool listed(struct wdn_str name, const struct wdn_str *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (wdn_str_eq_case(name, list[i]))
            return true;
    }
    return false;
}

/* The forwarded header list: end-to-end headers of the request, minus what the sidecars own
 * (and the trace context when asked), in one pass over the list. */
static int base_headers(const struct wdn_http_request *head, struct wdn_http_hdrs *h,
                        bool strip_trace)
{
    int rc = wdn_http_hdrs_end_to_end(head->headers, head->nheaders, h);
    size_t j = 0;

    if (rc)
        return rc;
    for (size_t i = 0; i < h->n; i++) {
        struct wdn_str name = h->v[i].name;
        if (listed(name, sidecar_owned, sizeof(sidecar_owned) / sizeof(sidecar_owned[0])) ||
            (strip_trace &&
             listed(name, trace_headers, sizeof(trace_headers) / sizeof(trace_headers[0]))))
            continue;
        h->v[j++] = h->v[i];
    }
    h->n = j;
    return 0;
}

static int apply_edits(struct wdn_http_hdrs *h, const struct wdn_pipeline_out *po)
{
    int rc = 0;

    for (size_t i = 0; i < po->nremove; i++)
        wdn_http_hdrs_remove(h, po->remove[i]);
    for (size_t i = 0; rc == 0 && i < po->nadd; i++)
        rc = wdn_http_hdrs_add(h, po->add[i].name, po->add[i].value);
    return rc;
}

/* Answers a pipeline's refusal, with the one log line per decision. */
static void pipeline_refused(struct wdn__sc_rq *rq, const char *which, struct wdn_pipeline_out *po)
{
    struct wdn_sidecar *sc = rq->sc;
    const struct wdn_http_request *head = wdn_http_req_head(rq->req);

    atomic_fetch_add_explicit(&sc->m.auth_failures[po->reason], 1, memory_order_relaxed);
    if (po->reason == WDN_MW_INVALID_TOKEN && po->jwt_reason > 0 &&
        po->jwt_reason < WDN_JWT_REASON_COUNT)
        atomic_fetch_add_explicit(&sc->m.jwt_failures[po->jwt_reason], 1, memory_order_relaxed);
    wdn_log_info("decision=deny req=%llu pipeline=%s handler=%s reason=%s%s%s status=%d "
                 "method=%.*s path=%.*s",
                 (unsigned long long)wdn__sc_next_id(sc), which, po->handler ? po->handler : "-",
                 wdn_mw_reason_name(po->reason), po->jwt_reason ? " check=" : "",
                 po->jwt_reason ? wdn_jwt_reason_name((enum wdn_jwt_reason)po->jwt_reason) : "",
                 po->status, WDN_STR_FMT(head->method), WDN_STR_FMT(head->path));
    wdn__sc_challenge_point(rq, po->headers, po->nheaders);
    wdn__sc_respond(rq, po->status, po->headers, po->nheaders, po->body);
}

/* Runs a pipeline on the request; false when it answered (a refusal) or parked it. */
bool wdn__sc_pipeline_pass(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg,
                           const struct wdn_pipeline *p, const char *which, bool want_auth,
                           struct wdn_pipeline_out *po, wdn__sc_resume_fn again, void *arg)
{
    struct wdn_pipeline_req prq = {.head = wdn_http_req_head(rq->req),
                                   .arena = wdn_http_req_arena(rq->req),
                                   .want_auth = want_auth};
    struct wdn_pipeline_resource pr;
    struct wdn__sc_ticket *t = NULL;
    int step;

    if (p == NULL) {
        wdn_pipeline_run(NULL, &prq, po);
        return true;
    }
    /* RFC 8707: a bearer that binds tokens to the resource and has none configured checks
     * the one the client reached (derived only then: it costs a route parse). Challenges get
     * their resource_metadata from pipeline_refused. */
    if (wdn_pipeline_resource(p, &pr) && pr.require_resource_audience && pr.resource == NULL)
        prq.resource = wdn__sc_request_resource(rq, cfg);
    /* A run that must ask the introspection endpoint parks the request instead of holding the
     * worker (no ticket, as when out of memory: the bearer asks inline, bounded by its
     * timeout). */
    if (pr.introspects && again && (t = wdn__sc_ticket_new(rq)) != NULL) {
        prq.wake = wdn__sc_ticket_wake;
        prq.wake_ud = t;
    }
    step = wdn__sc_obs_step(rq, "bearer");
    wdn_pipeline_run(p, &prq, po);
    if (po->pending) {
        wdn__sc_obs_step_end(rq, step, true, "pending");
        wdn__sc_park(t, cfg, again, arg);
        return false;
    }
    wdn__sc_ticket_drop(t);
    {
        /* The pipeline's handlers are bearer middlewares (the one type warden runs). */
        struct wdn_audit_event ev = {.kind = WDN_AUDIT_BEARER,
                                     .allowed = po->status == 0,
                                     .reason = wdn_mw_reason_name(po->reason),
                                     .status = po->status};
        wdn__sc_obs_auth(rq, po);
        wdn__sc_obs_step_end(rq, step, po->status == 0, ev.reason);
        wdn__sc_audit(rq, &ev);
    }
    if (po->status) {
        pipeline_refused(rq, which, po);
        return false;
    }
    return true;
}

/* "?query" exactly as the client sent it (or empty). */
static struct wdn_str query_suffix(const struct wdn_http_request *head)
{
    long q = wdn_str_index(head->target, '?');
    if (q < 0)
        return (struct wdn_str){"", 0};
    return (struct wdn_str){head->target.p + q, head->target.len - (size_t)q};
}

int wdn__sc_mcp_guarded(const struct wdn__sc_cfg *cfg, struct wdn_str method)
{
    char norm[WDN_POLICY_MAX_OP_BYTES];
    size_t n = strlen(cfg->mcp_path);

    if (wdn_acl_normalize(method.p, method.len, norm, sizeof(norm)) != 0)
        return -1;
    if (strncasecmp(norm, cfg->mcp_path, n) == 0 && (norm[n] == '\0' || norm[n] == '/'))
        return 1;
    return 0;
}

/* What invoke_app needs again when its app pipeline parked the request (the request's arena). */
struct app_again {
    const char *caller;
    struct wdn_str method;
    const struct wdn_pipeline_out *ingress; /* a copy, or NULL */
};

static void app_again(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg, void *arg)
{
    struct app_again *a = arg;
    wdn__sc_invoke_app(rq, cfg, a->caller, a->method, a->ingress);
}

/* The arguments of invoke_app in the request's arena, for app_again (NULL: out of memory, and
 * the bearer then asks inline instead). */
static struct app_again *keep_args(struct wdn__sc_rq *rq, const char *caller, struct wdn_str method,
                                   const struct wdn_pipeline_out *ingress)
{
    struct wdn_arena *ar = wdn_http_req_arena(rq->req);
    struct app_again *a = wdn_arena_alloc(ar, sizeof(*a));
    struct wdn_pipeline_out *in = NULL;

    if (a == NULL || (ingress && (in = wdn_arena_alloc(ar, sizeof(*in))) == NULL))
        return NULL;
    if (in)
        *in = *ingress; /* its strings live in the arena or the configuration already */
    *a = (struct app_again){.caller = caller, .method = method, .ingress = in};
    return a;
}

void wdn__sc_invoke_app(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg, const char *caller,
                        struct wdn_str method, const struct wdn_pipeline_out *ingress)
{
    struct wdn_pipeline_resource pr;
    struct app_again *again = NULL;
    struct wdn_sidecar *sc = rq->sc;
    struct wdn_http_req *req = rq->req;
    const struct wdn_http_request *head = wdn_http_req_head(req);
    struct wdn_pipeline_out po;
    struct wdn_http_pool_config pc = {.host = sc->app_address, .port = sc->app_port};
    struct wdn_http_client *cl = wdn__sc_worker_client(rq);
    struct wdn__sc_fwd fwd = {.app_id = sc->app_id, .to_app = true};
    struct wdn_http_hdrs *h;
    struct wdn_str q = query_suffix(head);
    char *target;
    int rc;

    if (wdn_pipeline_resource(cfg->app_pipeline, &pr) && pr.introspects)
        again = keep_args(rq, caller, method, ingress);
    if (!wdn__sc_pipeline_pass(rq, cfg, cfg->app_pipeline, "appHttpPipeline", cfg->mcp != NULL, &po,
                               again ? app_again : NULL, again))
        return;
    if (po.subject || po.handler)
        wdn_log_debug("decision=allow pipeline=appHttpPipeline sub=%s cached=%d",
                      po.subject ? po.subject : "-", po.cached);
    if (sc->app_port <= 0) {
        wdn__sc_error(rq, 500, "ERR_DIRECT_INVOKE",
                      "failed to invoke: the app channel is not initialized (no --app-port)");
        return;
    }
    h = wdn_arena_alloc(wdn_http_req_arena(req), sizeof(*h));
    target = wdn_arena_alloc(wdn_http_req_arena(req), method.len + q.len + 2);
    if (h == NULL || target == NULL || cl == NULL) {
        wdn__sc_error(rq, 500, "ERR_DIRECT_INVOKE", "out of memory");
        return;
    }
    target[0] = '/';
    memcpy(target + 1, method.p, method.len);
    memcpy(target + 1 + method.len, q.p, q.len);
    target[1 + method.len + q.len] = '\0';
    rc = base_headers(head, h, rq->port == WDN__SC_PORT_API);
    if (rc == 0 && ingress)
        rc = apply_edits(h, ingress);
    if (rc == 0)
        rc = apply_edits(h, &po);
    if (rc == 0)
        rc = add_copy(req, h, "dapr-caller-app-id", caller);
    if (rc == 0)
        rc = add_copy(req, h, "dapr-callee-app-id", sc->app_id);
    if (rc == 0)
        rc = wdn__sc_obs_headers(rq, h, sc->app_id, true);
    if (rc == 0 && sc->app_api_token)
        rc = add_copy(req, h, "dapr-api-token", sc->app_api_token);
    if (rc == 0)
        rc = wdn_http_client_pool(cl, &pc, &fwd.pool);
    fwd.target = wdn_str_from_cstr(target);
    fwd.headers = h;
    if (rc == 0 && cfg->mcp) {
        switch (wdn__sc_mcp_guarded(cfg, method)) {
        case 1:
            wdn__sc_mcp_check(rq, cfg, caller, &po, &fwd);
            return;
        case -1:
            wdn__sc_error(rq, 400, "ERR_DIRECT_INVOKE",
                          "the method path cannot be normalised safely");
            return;
        default:
            break;
        }
    }
    if (rc == 0)
        rc = wdn__sc_forward(rq, &fwd);
    if (rc)
        wdn__sc_error(rq, rc == WDN_ELIMIT ? 431 : 500, "ERR_DIRECT_INVOKE",
                      "failed to invoke: the request could not be forwarded");
}

int wdn__sc_peer_pool(struct wdn__sc_rq *rq, const char *app_id, struct wdn__sc_peer *peer,
                      struct wdn_http_pool **pool)
{
    struct wdn_sidecar *sc = rq->sc;
    char msg[512];
    int rc = wdn__sc_resolve(sc, app_id, peer);

    if (rc) {
        wdn_fmt(msg, sizeof(msg), "failed to invoke, id: %s, err: %s", app_id,
                wdn__sc_resolve_strerror(rc));
        wdn_log_info("invoke failed app_id=%s err=%s", app_id, wdn_errname(rc));
        wdn__sc_error(rq, 500, "ERR_DIRECT_INVOKE", msg);
        return rc;
    }
    rc = wdn__sc_peer_pool_for(rq, peer, pool);
    if (rc)
        wdn__sc_error(rq, 500, "ERR_DIRECT_INVOKE",
                      "failed to invoke: the request could not be forwarded");
    return rc;
}

void wdn__sc_invoke_remote(struct wdn__sc_rq *rq, const struct wdn__sc_cfg *cfg, const char *app_id,
                           struct wdn_str method, const struct wdn_pipeline_out *ingress)
{
    const char *res;
    struct wdn_sidecar *sc = rq->sc;
    struct wdn_http_req *req = rq->req;
    const struct wdn_http_request *head = wdn_http_req_head(req);
    struct wdn__sc_peer peer;
    struct wdn__sc_fwd fwd = {.app_id = app_id, .peer = &peer};
    struct wdn_http_hdrs *h;
    struct wdn_str q = query_suffix(head);
    struct wdn_buf t;
    char *target;
    int rc;

    if (wdn__sc_peer_pool(rq, app_id, &peer, &fwd.pool) != 0)
        return; /* answered */
    h = wdn_arena_alloc(wdn_http_req_arena(req), sizeof(*h));
    wdn_buf_init(&t, WDN_HTTP_MAX_LINE_BYTES);
    /* Appended piece by piece: a printf per request is measurable at this path's cost. */
    rc = wdn_buf_append_cstr(&t, "/v1.0/invoke/");
    if (rc == 0)
        rc = wdn_buf_append_cstr(&t, app_id);
    if (rc == 0)
        rc = wdn_buf_append_cstr(&t, "/method/");
    if (rc == 0)
        rc = wdn_buf_append(&t, method.p, method.len);
    if (rc == 0)
        rc = wdn_buf_append(&t, q.p, q.len);
    target = rc == 0 ? wdn__sc_rq_strdup(req, wdn_buf_cstr(&t)) : NULL;
    wdn_buf_reset(&t);
    if (h == NULL || target == NULL) {
        wdn__sc_error(rq, rc == WDN_ELIMIT ? 414 : 500, "ERR_DIRECT_INVOKE",
                      "failed to invoke: the request could not be built");
        return;
    }
    fwd.target = wdn_str_from_cstr(target);
    fwd.headers = h;
    rc = base_headers(head, h, true);
    if (rc == 0 && ingress)
        rc = apply_edits(h, ingress);
    if (rc == 0)
        rc = add_copy(req, h, "dapr-caller-app-id", sc->app_id);
    if (rc == 0)
        rc = add_copy(req, h, "dapr-callee-app-id", app_id);
    if (rc == 0)
        rc = wdn__sc_obs_headers(rq, h, app_id, false);
    if (rc == 0 && (res = wdn__sc_request_resource(rq, cfg)) != NULL)
        /* Where our client reached the app, for the app's sidecar's audience binding. */
        rc = wdn_http_hdrs_add(h, WDN_STR(WDN__SC_RESOURCE_HEADER), wdn_str_from_cstr(res));
    if (rc == 0)
        rc = wdn__sc_forward(rq, &fwd);
    if (rc)
        wdn__sc_error(rq, rc == WDN_ELIMIT ? 431 : 500, "ERR_DIRECT_INVOKE",
                      "failed to invoke: the request could not be forwarded");
}

/* ---- Per-worker connection pools --------------------------------------------------------- */

int wdn__sc_worker_start(struct wdn_http_handler *self, struct wdn_http_worker *w)
{
    struct wdn__sc_listener *l = (struct wdn__sc_listener *)self;
    int id = wdn_http_worker_id(w);

    if (id >= WDN__SC_MAX_WORKERS)
        return WDN_ELIMIT;
    l->parking[id] = wdn__sc_parking_new(wdn_http_worker_loop(w));
    if (l->parking[id] == NULL)
        return WDN_ENOMEM;
    return wdn_http_client_new(wdn_http_worker_loop(w), &l->clients[id]);
}

void wdn__sc_worker_stop(struct wdn_http_handler *self, struct wdn_http_worker *w)
{
    struct wdn__sc_listener *l = (struct wdn__sc_listener *)self;
    int id = wdn_http_worker_id(w);

    if (id < WDN__SC_MAX_WORKERS) {
        wdn_http_client_free(l->clients[id]);
        l->clients[id] = NULL;
        wdn__sc_parking_close(l->parking[id]);
        l->parking[id] = NULL;
    }
}
