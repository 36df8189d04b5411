/* Tracing and audit records of the sidecar (docs/tracing.md, docs/audit.md). Each request gets
 * a W3C trace context, continued from a valid traceparent header (the app's on the API port,
 * the caller sidecar's on the internal port) or created; when the Configuration's spec.tracing
 * samples it, the request's steps become spans (ingress, access_control, bearer, tool_policy,
 * forward) sent by the tracing settings' exporter when the request ends. Each access decision
 * writes an audit record with the request's facts (caller, verified claims, tool, trace ID,
 * configuration generation). Every function does nothing when its feature is off, so the
 * request path calls them without conditions. This file calls no other file of src/sidecar. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json_dump.h"
#include "base/log.h"
#include "base/str.h"
#include "http/fetch.h"
#include "sidecar/internal.h"
#include "trace/span.h"
#include "warden/mcp.h"
#include "warden/trace.h"

/* ---- Tracing settings, shared by snapshots ------------------------------------------------ */

struct wdn__sc_tracing {
    atomic_int refs;
    struct wdn_sidecar *sc;
    double rate;
    char url[WDN_TRACE_MAX_URL_BYTES]; /* "" when spans go nowhere */
    struct wdn_tracer *tracer;         /* NULL when spans go nowhere */
    uint64_t failures_logged;          /* failed exports already logged (main loop) */
    struct wdn__sc_tracing *next;      /* on the retired list */
};

static struct wdn__sc_tracing *tracing_ref(struct wdn__sc_tracing *t)
{
    if (t)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void wdn__sc_tracing_release(struct wdn__sc_tracing *t)
{
    if (t == NULL || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Stopping an exporter waits for its thread: never on a request's thread. */
    pthread_mutex_lock(&t->sc->obs_mu);
    t->next = t->sc->retired;
    t->sc->retired = t;
    pthread_mutex_unlock(&t->sc->obs_mu);
}

int wdn__sc_tracing_get(struct wdn_sidecar *sc, const struct wdn_res_tracing *spec,
                        struct wdn__sc_tracing **out, struct wdn_diag *d)
{
    struct wdn__sc_tracing *t, *old;
    char url[WDN_TRACE_MAX_URL_BYTES] = "";

    *out = NULL;
    if (spec == NULL)
        return 0;
    if (spec->otel.endpoint_address &&
        wdn_otlp_url(spec->otel.endpoint_address, spec->otel.is_secure == 1, url, sizeof(url)) != 0)
        return wdn_diag_set_at(d, WDN_ECONFIG, spec->otel.pos.file, spec->otel.pos.line,
                               spec->otel.pos.col,
                               "tracing.otel.endpointAddress \"%s\" is not host:port or an "
                               "http(s) URL without user, query or fragment",
                               spec->otel.endpoint_address);
    pthread_mutex_lock(&sc->obs_mu);
    old = sc->tracing;
    if (old && old->rate == spec->rate && strcmp(old->url, url) == 0) {
        *out = tracing_ref(old);
        pthread_mutex_unlock(&sc->obs_mu);
        return 0;
    }
    pthread_mutex_unlock(&sc->obs_mu);
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    atomic_init(&t->refs, 1);
    t->sc = sc;
    t->rate = spec->rate;
    memcpy(t->url, url, sizeof(url));
    if (url[0] && spec->rate > 0) {
        struct wdn_tracer_config tc = {.endpoint = url,
                                       .service_name = sc->app_id,
                                       .sampling_rate = spec->rate,
                                       .ca_file = wdn_fetch_ca_file_from_env()};
        t->tracer = wdn_tracer_new_scope(&tc, "warden.sidecar");
        if (t->tracer == NULL) {
            free(t);
            return wdn_diag_set(d, WDN_ENOMEM, "could not start the trace exporter");
        }
    }
    /* The sidecar keeps the newest settings to share with the next snapshot. */
    pthread_mutex_lock(&sc->obs_mu);
    old = sc->tracing;
    sc->tracing = tracing_ref(t);
    pthread_mutex_unlock(&sc->obs_mu);
    wdn__sc_tracing_release(old);
    *out = t;
    return 0;
}

static void tracing_free(struct wdn__sc_tracing *t)
{
    wdn_tracer_free(t->tracer);
    free(t);
}

void wdn__sc_obs_housekeeping(struct wdn_sidecar *sc, bool final)
{
    struct wdn__sc_tracing *list, *cur;

    pthread_mutex_lock(&sc->obs_mu);
    if (final) {
        cur = sc->tracing;
        sc->tracing = NULL;
        pthread_mutex_unlock(&sc->obs_mu);
        wdn__sc_tracing_release(cur);
        pthread_mutex_lock(&sc->obs_mu);
    }
    list = sc->retired;
    sc->retired = NULL;
    cur = tracing_ref(sc->tracing);
    pthread_mutex_unlock(&sc->obs_mu);
    while (list) {
        struct wdn__sc_tracing *next = list->next;
        tracing_free(list);
        list = next;
    }
    if (cur && cur->tracer) {
        struct wdn_trace_stats st;
        wdn_tracer_stats(cur->tracer, &st);
        if (st.failed_exports > cur->failures_logged) {
            char http[32] = "";
            if (st.last_status)
                wdn_fmt(http, sizeof(http), ", HTTP %ld", st.last_status);
            wdn_log_warn("tracing: %llu span export(s) to %s failed (last: %s%s)",
                         (unsigned long long)(st.failed_exports - cur->failures_logged), cur->url,
                         wdn_strerror(st.last_error), http);
            cur->failures_logged = st.failed_exports;
        }
    }
    wdn__sc_tracing_release(cur);
}

void wdn__sc_obs_metrics(struct wdn_sidecar *sc, const struct wdn__sc_tracing *t,
                         struct wdn_buf *out)
{
    struct wdn_trace_stats ts;
    struct wdn_audit_stats as;

    wdn_tracer_stats(t ? t->tracer : NULL, &ts);
    wdn_buf_printf(out,
                   "# HELP warden_trace_spans_total Spans by what became of them.\n"
                   "# TYPE warden_trace_spans_total counter\n"
                   "warden_trace_spans_total{result=\"exported\"} %llu\n"
                   "warden_trace_spans_total{result=\"dropped\"} %llu\n"
                   "warden_trace_spans_total{result=\"failed\"} %llu\n"
                   "# HELP warden_trace_export_failures_total OTLP export requests that failed.\n"
                   "# TYPE warden_trace_export_failures_total counter\n"
                   "warden_trace_export_failures_total %llu\n",
                   (unsigned long long)ts.exported, (unsigned long long)ts.dropped,
                   (unsigned long long)ts.failed_spans, (unsigned long long)ts.failed_exports);
    if (sc->audit == NULL)
        return;
    wdn_audit_stats(sc->audit, &as);
    wdn_buf_printf(out,
                   "# HELP warden_audit_records_total Audit records written.\n"
                   "# TYPE warden_audit_records_total counter\n"
                   "warden_audit_records_total %llu\n"
                   "# HELP warden_audit_dropped_total Audit records lost (queue full, failed "
                   "writes).\n"
                   "# TYPE warden_audit_dropped_total counter\n"
                   "warden_audit_dropped_total %llu\n"
                   "# HELP warden_audit_write_errors_total Failed writes to the audit sink.\n"
                   "# TYPE warden_audit_write_errors_total counter\n"
                   "warden_audit_write_errors_total %llu\n",
                   (unsigned long long)as.written, (unsigned long long)as.dropped,
                   (unsigned long long)as.sink_errors);
}

/* ---- One request ---------------------------------------------------------------------------- */

#define OBS_MAX_SPANS 6

struct wdn__sc_obs {
    struct wdn__sc_tracing *tracing; /* a reference while this request records spans */
    struct wdn_trace_ctx ctx;        /* this hop: the trace and the ingress span's ID */
    bool has_parent;
    uint8_t parent_id[8];
    struct wdn_str tracestate; /* the caller's, when valid (borrowed from the request) */
    uint64_t generation;
    const char *caller;                      /* SPIFFE ID (arena), or NULL */
    const char *iss, *sub, *client_id, *jti; /* of the verified token (arena), or NULL */
    const char *tool;                        /* the decided tools/call's tool (arena), or NULL */
    /* Every tools/call of the message or batch (arena): one record each. */
    size_t ncalls;
    struct obs_call {
        const char *tool, *args; /* args: compact JSON with sorted keys, or NULL */
    } * calls;
    bool tool_forwarded;
    int status;
    bool ended;
    int forward; /* index of the forward span, or -1 */
    size_t nspans;
    /* Each in the request's arena when it starts (~800 bytes each: three fit beside the
     * request's other arena use, where six at once took a block of their own per request). */
    struct wdn_span *spans[OBS_MAX_SPANS];
};

static struct wdn_str header(struct wdn_http_req *req, const char *name)
{
    const struct wdn_http_header *h = wdn_http_req_header(req, wdn_str_from_cstr(name));
    return h ? h->value : (struct wdn_str){NULL, 0};
}

void wdn__sc_obs_begin(struct wdn__sc_rq *rq, const struct wdn__sc_cfg *cfg, struct wdn_str caller)
{
    struct wdn_arena *a = wdn_http_req_arena(rq->req);
    struct wdn__sc_obs *o = wdn_arena_calloc(a, sizeof(*o));
    struct wdn__sc_tracing *t = cfg->tracing;
    struct wdn_trace_ctx parent;
    const struct wdn_http_request *head = wdn_http_req_head(rq->req);

    if (o == NULL)
        return;
    rq->obs = o;
    o->forward = -1;
    o->generation = cfg->generation;
    if (caller.len)
        o->caller = wdn_arena_strdup(a, caller);
    o->has_parent = wdn_traceparent_parse(header(rq->req, "traceparent"), &parent) == 0;
    if (o->has_parent) {
        struct wdn_str ts = header(rq->req, "tracestate");
        memcpy(o->parent_id, parent.span_id, 8);
        if (ts.len && wdn_tracestate_valid(ts))
            o->tracestate = ts;
    }
    /* Without tracing settings the rate is Dapr's default: it only sets the sampled flag of
     * the traceparent sent on. */
    wdn_trace_ctx_child(o->has_parent ? &parent : NULL, t ? t->rate : 0.0001, &o->ctx);
    if (t == NULL || t->tracer == NULL || !(o->ctx.flags & WDN_TRACE_FLAG_SAMPLED))
        return;
    struct wdn_span *in = wdn_arena_alloc(a, sizeof(*in));
    if (in == NULL)
        return;
    o->tracing = tracing_ref(t);
    wdn_span_start(in, &o->ctx, o->has_parent ? o->parent_id : NULL, WDN_SPAN_SERVER, "ingress");
    o->spans[0] = in;
    o->nspans = 1;
    wdn_span_attr_str(in, "http.request.method", head->method);
    wdn_span_attr_str(in, "url.path", head->path);
    wdn_span_attr_str(in, "warden.port",
                      rq->port == WDN__SC_PORT_API ? WDN_STR("api") : WDN_STR("internal"));
    if (o->caller)
        wdn_span_attr_str(in, "warden.caller", caller);
}

/* A new span under the ingress span, or -1. */
static int child_span(struct wdn__sc_rq *rq, enum wdn_span_kind kind, const char *name)
{
    struct wdn__sc_obs *o = rq->obs;
    struct wdn_trace_ctx c;
    struct wdn_span *s;

    if (o == NULL || o->tracing == NULL || o->ended || o->nspans >= OBS_MAX_SPANS)
        return -1;
    s = wdn_arena_alloc(wdn_http_req_arena(rq->req), sizeof(*s));
    if (s == NULL)
        return -1;
    c = o->ctx;
    wdn_trace_random_id(c.span_id, sizeof(c.span_id));
    wdn_span_start(s, &c, o->ctx.span_id, kind, name);
    o->spans[o->nspans] = s;
    return (int)o->nspans++;
}

int wdn__sc_obs_step(struct wdn__sc_rq *rq, const char *name)
{
    return child_span(rq, WDN_SPAN_INTERNAL, name);
}

void wdn__sc_obs_step_end(struct wdn__sc_rq *rq, int step, bool allowed, const char *reason)
{
    struct wdn_span *s;

    if (step < 0 || rq->obs == NULL || rq->obs->ended)
        return;
    s = rq->obs->spans[step];
    wdn_span_attr_str(s, "warden.decision", allowed ? WDN_STR("allow") : WDN_STR("deny"));
    if (reason)
        wdn_span_attr_str(s, "warden.reason", wdn_str_from_cstr(reason));
    wdn_span_end(s, allowed ? WDN_SPAN_UNSET : WDN_SPAN_ERROR);
}

int wdn__sc_obs_headers(struct wdn__sc_rq *rq, struct wdn_http_hdrs *h, const char *target,
                        bool to_app)
{
    struct wdn__sc_obs *o = rq->obs;
    struct wdn_trace_ctx next;
    char *tp;
    int rc;

    wdn_http_hdrs_remove(h, WDN_STR("tracestate"));
    if (o == NULL) {
        wdn_http_hdrs_remove(h, WDN_STR("traceparent"));
        return 0;
    }
    next = o->ctx;
    int f = o->forward < 0 ? child_span(rq, WDN_SPAN_CLIENT, "forward") : o->forward;
    if (f >= 0) {
        o->forward = f;
        memcpy(next.span_id, o->spans[f]->span_id, 8);
        wdn_span_attr_str(o->spans[f], "warden.target", wdn_str_from_cstr(target));
        wdn_span_attr_str(o->spans[f], "warden.target_kind",
                          to_app ? WDN_STR("app") : WDN_STR("sidecar"));
    }
    tp = wdn_arena_alloc(wdn_http_req_arena(rq->req), WDN_TRACEPARENT_LEN + 1);
    if (tp == NULL)
        return WDN_ENOMEM;
    wdn_traceparent_format(&next, tp);
    rc = wdn_http_hdrs_set(h, WDN_STR("traceparent"), (struct wdn_str){tp, WDN_TRACEPARENT_LEN});
    if (rc == 0 && o->tracestate.len)
        rc = wdn_http_hdrs_set(h, WDN_STR("tracestate"), o->tracestate);
    return rc;
}

void wdn__sc_obs_status(struct wdn__sc_rq *rq, int status)
{
    if (rq->obs)
        rq->obs->status = status;
}

static void audit_calls(struct wdn__sc_rq *rq, struct wdn_audit_event *ev, const char *reason);

void wdn__sc_obs_end(struct wdn__sc_rq *rq, int status)
{
    struct wdn__sc_obs *o = rq->obs;

    if (o == NULL || o->ended)
        return;
    o->ended = true;
    if (status)
        o->status = status;
    if (o->tool_forwarded) {
        struct wdn_audit_event ev = {
            .kind = WDN_AUDIT_TOOL_CALL, .allowed = true, .status = o->status};
        audit_calls(rq, &ev, "forwarded");
    }
    if (o->tracing == NULL)
        return;
    if (o->forward >= 0) {
        wdn_span_attr_int(o->spans[o->forward], "http.response.status_code", o->status);
        wdn_span_end(o->spans[o->forward],
                     o->status >= 500 || o->status == 0 ? WDN_SPAN_ERROR : WDN_SPAN_UNSET);
    }
    for (size_t i = 1; i < o->nspans; i++)
        if (o->spans[i]->end_ns == 0)
            wdn_span_end(o->spans[i], WDN_SPAN_UNSET);
    wdn_span_attr_int(o->spans[0], "http.response.status_code", o->status);
    wdn_span_end(o->spans[0], o->status >= 500 || o->status == 0 ? WDN_SPAN_ERROR : WDN_SPAN_UNSET);
    wdn_tracer_submit_each(o->tracing->tracer, (const struct wdn_span *const *)o->spans, o->nspans);
    wdn__sc_tracing_release(o->tracing);
    o->tracing = NULL;
}

/* ---- Audit records -------------------------------------------------------------------------- */

bool wdn__sc_audit_on(const struct wdn__sc_rq *rq)
{
    return rq->sc->audit != NULL;
}

bool wdn__sc_audit_is_log(const struct wdn_sidecar *sc, const char *name)
{
    return wdn_audit_is_log_name(sc->audit, name);
}

void wdn__sc_audit(struct wdn__sc_rq *rq, struct wdn_audit_event *ev)
{
    struct wdn__sc_obs *o = rq->obs;
    const struct wdn_http_request *head = wdn_http_req_head(rq->req);

    if (rq->sc->audit == NULL)
        return;
    if (ev->verb.len == 0)
        ev->verb = head->method;
    if (ev->path.len == 0)
        ev->path = head->path;
    if (o) {
        ev->generation = o->generation;
        ev->trace_id = o->ctx.trace_id;
        if (ev->caller == NULL)
            ev->caller = o->caller;
        if (o->sub && ev->sub == NULL) {
            ev->iss = o->iss;
            ev->sub = o->sub;
            ev->client_id = o->client_id;
            ev->jti = o->jti;
        }
    }
    wdn_audit_emit(rq->sc->audit, ev);
}

/* A tool_policy or tool_call record for each tools/call of the message or batch: the call the
 * decision named gets reason; in a refused batch, the others (refused with it) batch_refused. */
static void audit_calls(struct wdn__sc_rq *rq, struct wdn_audit_event *ev, const char *reason)
{
    struct wdn__sc_obs *o = rq->obs;
    bool named = false;

    if (o == NULL || o->ncalls == 0) {
        if (o && o->tool) { /* a call whose arguments could not be read */
            ev->rpc = WDN_STR("tools/call");
            ev->tool = wdn_str_from_cstr(o->tool);
        }
        ev->reason = reason;
        wdn__sc_audit(rq, ev);
        return;
    }
    for (size_t i = 0; i < o->ncalls; i++) {
        struct wdn_audit_event one = *ev;
        bool is_it = !named && strcmp(o->calls[i].tool, o->tool) == 0;
        named |= is_it;
        one.rpc = WDN_STR("tools/call");
        one.tool = wdn_str_from_cstr(o->calls[i].tool);
        one.args = wdn_str_from_cstr(o->calls[i].args);
        one.reason = ev->allowed || is_it ? reason : "batch_refused";
        wdn__sc_audit(rq, &one);
    }
}

void wdn__sc_obs_auth(struct wdn__sc_rq *rq, const struct wdn_pipeline_out *po)
{
    struct wdn__sc_obs *o = rq->obs;

    /* The pipeline's strings live in the request's arena: kept as they are. */
    if (o && po->status == 0 && po->subject) {
        o->iss = po->issuer;
        o->sub = po->subject;
        o->client_id = po->client_id;
        o->jti = po->jti;
    }
}

/* Every tools/call of a message or batch into o->calls, with its arguments as compact JSON with
 * sorted keys (at most WDN_MCP_MAX_BATCH: the guard refuses longer batches). */
static void collect_calls(struct wdn__sc_obs *o, struct wdn_arena *a, json_t *root)
{
    size_t n = json_is_array(root) ? json_array_size(root) : 1;

    if (n > WDN_MCP_MAX_BATCH)
        n = WDN_MCP_MAX_BATCH;
    o->calls = wdn_arena_calloc(a, n * sizeof(*o->calls));
    if (o->calls == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_is_array(root) ? json_array_get(root, i) : root;
        json_t *params = json_object_get(m, "params");
        const char *method = json_string_value(json_object_get(m, "method"));
        const char *name = json_string_value(json_object_get(params, "name"));
        if (method == NULL || strcmp(method, "tools/call") != 0)
            continue;
        struct obs_call *c = &o->calls[o->ncalls];
        c->tool = wdn_arena_strdup(a, wdn_str_from_cstr(name ? name : ""));
        if (c->tool == NULL)
            return;
        json_t *args = json_object_get(params, "arguments");
        char *s = args ? wdn_json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
        c->args = wdn_arena_strdup(a, wdn_str_from_cstr(s ? s : "{}"));
        free(s);
        o->ncalls++;
    }
}

void wdn__sc_obs_tool(struct wdn__sc_rq *rq, struct wdn_str body, const char *tool, bool forwarded)
{
    struct wdn__sc_obs *o = rq->obs;
    struct wdn_arena *a = wdn_http_req_arena(rq->req);
    json_t *root = NULL;

    if (o == NULL || rq->sc->audit == NULL || tool == NULL || tool[0] == '\0')
        return;
    o->tool = wdn_arena_strdup(a, wdn_str_from_cstr(tool));
    o->tool_forwarded = forwarded && o->tool != NULL;
    /* The guard parsed this body already; the audit path parses it again rather than make the
     * guard keep what only the records need. */
    if (o->tool && wdn_jsonrpc_parse(body.p, body.len, &root, NULL) == 0)
        collect_calls(o, a, root);
    json_decref(root);
}

void wdn__sc_audit_tool_policy(struct wdn__sc_rq *rq, bool allowed, const char *reason, int status)
{
    struct wdn_audit_event ev = {
        .kind = WDN_AUDIT_TOOL_POLICY, .allowed = allowed, .status = status};
    audit_calls(rq, &ev, reason);
}
