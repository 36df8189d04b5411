/* The sidecar's request handling: the Dapr HTTP API on the API port (healthz, metadata, service
 * invocation with the path and dapr-app-id forms, the API token) and the mTLS internal port
 * (caller identity from the peer certificate, access control, then the app pipeline and the
 * app). Both run the configuration snapshot taken when the request arrived. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "http/tls.h"
#include "sidecar/internal.h"

static const struct wdn_http_header json_ct = {{"Content-Type", 12}, {"application/json", 16}};
static const struct wdn_http_header plain_ct = {{"Content-Type", 12},
                                                {"text/plain; charset=utf-8", 25}};

void wdn__sc_respond(struct wdn_sidecar *sc, struct wdn_http_req *req, int port, uint64_t t0,
                     int status, const struct wdn_http_header *h, size_t n, struct wdn_str body)
{
    wdn__sc_metrics_request(sc, port, status, t0);
    wdn_http_respond(req, status, h, n, body);
}

void wdn__sc_error(struct wdn_sidecar *sc, struct wdn_http_req *req, int port, uint64_t t0,
                   int status, const char *code, const char *msg)
{
    json_t *o = json_pack("{s:s, s:s}", "errorCode", code, "message", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    if (s)
        wdn__sc_respond(sc, req, port, t0, status, &json_ct, 1, wdn_str_from_cstr(s));
    else
        wdn__sc_respond(sc, req, port, t0, 500, &plain_ct, 1, WDN_STR("Internal Server Error"));
    free(s);
    json_decref(o);
}

/* ---- Helpers ----------------------------------------------------------------------------- */

static struct wdn_str dup_str(struct wdn_http_req *req, const char *s)
{
    char *p = wdn_arena_strdup(wdn_http_req_arena(req), wdn_str_from_cstr(s));
    return p ? wdn_str_from_cstr(p) : (struct wdn_str){"", 0};
}

/* Trace and span IDs need to be unique, not secret: a per-thread xorshift generator seeded
 * once from the kernel keeps the getrandom system call off the request path. */
static uint64_t rand64(void)
{
    static __thread uint64_t s[2];

    if (s[0] == 0 && s[1] == 0) {
        if (getrandom(s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s) || (s[0] | s[1]) == 0) {
            s[0] = wdn_clock_mono_ns() | 1;
            s[1] = (uint64_t)(uintptr_t)&s ^ 0x9e3779b97f4a7c15u;
        }
    }
    uint64_t x = s[0], y = s[1];
    s[0] = y;
    x ^= x << 23;
    s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s[1] + y;
}

/* A fresh W3C traceparent (version 00, sampled) in the request's arena. */
static struct wdn_str new_traceparent(struct wdn_http_req *req)
{
    uint64_t a = rand64() | 1, b = rand64(), c = rand64() | 1;
    char buf[56];

    wdn_fmt(buf, sizeof(buf), "00-%016llx%016llx-%016llx-01", (unsigned long long)a,
            (unsigned long long)b, (unsigned long long)c);
    return dup_str(req, buf);
}

/* Headers a caller may never set: the sidecars own them. */
static const char *const sidecar_owned[] = {
    "dapr-api-token",     "dapr-app-id",           "dapr-caller-app-id",
    "dapr-callee-app-id", "dapr-caller-namespace", "host",
};

/* The forwarded header list: end-to-end headers of the request, minus what the sidecars own,
 * with a pipeline's edits applied. */
static int base_headers(const struct wdn_http_request *head, struct wdn_http_hdrs *h,
                        bool strip_trace)
{
    int rc = wdn_http_hdrs_end_to_end(head->headers, head->nheaders, h);

    for (size_t i = 0; rc == 0 && i < sizeof(sidecar_owned) / sizeof(sidecar_owned[0]); i++)
        wdn_http_hdrs_remove(h, wdn_str_from_cstr(sidecar_owned[i]));
    if (strip_trace) {
        wdn_http_hdrs_remove(h, WDN_STR("traceparent"));
        wdn_http_hdrs_remove(h, WDN_STR("tracestate"));
    }
    return rc;
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

static uint64_t next_id(struct wdn_sidecar *sc)
{
    return atomic_fetch_add_explicit(&sc->next_req_id, 1, memory_order_relaxed) + 1;
}

/* Answers a pipeline's refusal, with the one log line per decision. */
static void pipeline_refused(struct wdn_sidecar *sc, struct wdn_http_req *req, int port,
                             uint64_t t0, const char *which, const struct wdn_pipeline_out *po)
{
    const struct wdn_http_request *head = wdn_http_req_head(req);

    atomic_fetch_add_explicit(&sc->m.auth_failures[po->reason], 1, memory_order_relaxed);
    if (po->reason == WDN_MW_INVALID_TOKEN && po->jwt_reason > 0 &&
        po->jwt_reason < WDN_JWT_REASON_COUNT)
        atomic_fetch_add_explicit(&sc->m.jwt_failures[po->jwt_reason], 1, memory_order_relaxed);
    wdn_log_info("decision=deny req=%llu pipeline=%s handler=%s reason=%s%s%s status=%d "
                 "method=%.*s path=%.*s",
                 (unsigned long long)next_id(sc), which, po->handler ? po->handler : "-",
                 wdn_mw_reason_name(po->reason), po->jwt_reason ? " check=" : "",
                 po->jwt_reason ? wdn_jwt_reason_name((enum wdn_jwt_reason)po->jwt_reason) : "",
                 po->status, WDN_STR_FMT(head->method), WDN_STR_FMT(head->path));
    wdn__sc_respond(sc, req, port, t0, po->status, po->headers, po->nheaders, po->body);
}

static struct wdn_http_client *worker_client(struct wdn__sc_listener *l, struct wdn_http_req *req)
{
    int id = wdn_http_worker_id(wdn_http_req_worker(req));
    return id < WDN__SC_MAX_WORKERS ? l->clients[id] : NULL;
}

/* "?query" exactly as the client sent it (or empty). */
static struct wdn_str query_suffix(const struct wdn_http_request *head)
{
    long q = wdn_str_index(head->target, '?');
    if (q < 0)
        return (struct wdn_str){"", 0};
    return (struct wdn_str){head->target.p + q, head->target.len - (size_t)q};
}

/* 1 when the method path is the MCP endpoint the policy guards or below it, compared after
 * normalisation (percent-decoding, dot segments) and case-insensitively, so "/MCP", "/mcp/" or
 * "/./mcp" cannot slip past; -1 when it cannot be normalised; 0 otherwise. */
static int mcp_guarded(const struct wdn__sc_cfg *cfg, struct wdn_str method)
{
    char norm[WDN_POLICY_MAX_OP_BYTES];
    size_t n = strlen(cfg->mcp_path);

    if (wdn_acl_normalize(method.p, method.len, norm, sizeof(norm)) != 0)
        return -1;
    if (strncasecmp(norm, cfg->mcp_path, n) == 0 && (norm[n] == '\0' || norm[n] == '/'))
        return 1;
    return 0;
}

/* Sends the request to this sidecar's app: the app pipeline first, then the app channel.
 * caller is the verified (or, for self-invocation, own) app ID. ingress holds the edits of the
 * httpPipeline, if the request came in through the API port. */
static void invoke_app(struct wdn_sidecar *sc, struct wdn__sc_listener *l, struct wdn_http_req *req,
                       int port, uint64_t t0, struct wdn__sc_cfg *cfg, const char *caller,
                       struct wdn_str method, struct wdn_str traceparent,
                       const struct wdn_pipeline_out *ingress)
{
    const struct wdn_http_request *head = wdn_http_req_head(req);
    struct wdn_pipeline_req prq = {
        .head = head, .arena = wdn_http_req_arena(req), .want_auth = cfg->mcp != NULL};
    struct wdn_pipeline_out po;
    struct wdn_http_pool_config pc = {.host = sc->app_address, .port = sc->app_port};
    struct wdn_http_client *cl = worker_client(l, req);
    struct wdn_http_pool *pool = NULL;
    struct wdn__sc_fwd_info info = {.port = port, .t0 = t0, .app_id = sc->app_id, .to_app = true};
    struct wdn_http_hdrs *h;
    struct wdn_str q = query_suffix(head);
    char *target;
    int rc;

    wdn_pipeline_run(cfg->app_pipeline, &prq, &po);
    if (po.status) {
        pipeline_refused(sc, req, port, t0, "appHttpPipeline", &po);
        return;
    }
    if (po.subject || po.handler)
        wdn_log_debug("decision=allow pipeline=appHttpPipeline sub=%s cached=%d",
                      po.subject ? po.subject : "-", po.cached);
    if (sc->app_port <= 0) {
        wdn__sc_error(sc, req, port, t0, 500, "ERR_DIRECT_INVOKE",
                      "failed to invoke: the app channel is not initialized (no --app-port)");
        return;
    }
    h = wdn_arena_alloc(wdn_http_req_arena(req), sizeof(*h));
    target = wdn_arena_alloc(wdn_http_req_arena(req), method.len + q.len + 2);
    if (h == NULL || target == NULL || cl == NULL) {
        wdn__sc_error(sc, req, port, t0, 500, "ERR_DIRECT_INVOKE", "out of memory");
        return;
    }
    target[0] = '/';
    memcpy(target + 1, method.p, method.len);
    memcpy(target + 1 + method.len, q.p, q.len);
    target[1 + method.len + q.len] = '\0';
    rc = base_headers(head, h, port == WDN__SC_PORT_API);
    if (rc == 0 && ingress)
        rc = apply_edits(h, ingress);
    if (rc == 0)
        rc = apply_edits(h, &po);
    if (rc == 0)
        rc = wdn_http_hdrs_add(h, WDN_STR("dapr-caller-app-id"), dup_str(req, caller));
    if (rc == 0)
        rc = wdn_http_hdrs_add(h, WDN_STR("dapr-callee-app-id"), dup_str(req, sc->app_id));
    if (rc == 0 && traceparent.len)
        rc = wdn_http_hdrs_set(h, WDN_STR("traceparent"), traceparent);
    if (rc == 0 && sc->app_api_token)
        rc = wdn_http_hdrs_add(h, WDN_STR("dapr-api-token"), dup_str(req, sc->app_api_token));
    if (rc == 0)
        rc = wdn_http_client_pool(cl, &pc, &pool);
    if (rc == 0 && cfg->mcp) {
        switch (mcp_guarded(cfg, method)) {
        case 1:
            wdn__sc_mcp_check(sc, req, cfg, caller, &po, pool, wdn_str_from_cstr(target), h, &info);
            return;
        case -1:
            wdn__sc_error(sc, req, port, t0, 400, "ERR_DIRECT_INVOKE",
                          "the method path cannot be normalised safely");
            return;
        default:
            break;
        }
    }
    if (rc == 0)
        rc = wdn__sc_forward(sc, req, pool, wdn_str_from_cstr(target), h, &info);
    if (rc)
        wdn__sc_error(sc, req, port, t0, rc == WDN_ELIMIT ? 431 : 500, "ERR_DIRECT_INVOKE",
                      "failed to invoke: the request could not be forwarded");
}

/* True when s is one DNS label (what a workload certificate carries as a DNS SAN). */
static bool dns_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* Sends the request to another app's sidecar over mTLS. */
static void invoke_remote(struct wdn_sidecar *sc, struct wdn_http_req *req, uint64_t t0,
                          const char *app_id, struct wdn_str method,
                          const struct wdn_pipeline_out *ingress)
{
    const struct wdn_http_request *head = wdn_http_req_head(req);
    struct wdn__sc_fwd_info info = {.port = WDN__SC_PORT_API, .t0 = t0, .app_id = app_id};
    struct wdn_http_client *cl = worker_client(&sc->api, req);
    struct wdn_http_pool *pool = NULL;
    struct wdn_http_hdrs *h;
    struct wdn__sc_peer peer;
    struct wdn_str q = query_suffix(head);
    struct wdn_buf t;
    char msg[512];
    int rc;

    rc = wdn__sc_resolve(sc, app_id, &peer);
    if (rc) {
        wdn_fmt(msg, sizeof(msg), "failed to invoke, id: %s, err: %s", app_id,
                wdn__sc_resolve_strerror(rc));
        wdn_log_info("invoke failed app_id=%s err=%s", app_id, wdn_errname(rc));
        wdn__sc_error(sc, req, WDN__SC_PORT_API, t0, 500, "ERR_DIRECT_INVOKE", msg);
        return;
    }
    /* The callee's certificate must name the callee: its DNS SAN is the app ID. */
    struct wdn_http_pool_config pc = {
        .host = peer.host,
        .port = peer.port,
        .server_name = dns_label(app_id) ? app_id : NULL,
    };
    h = wdn_arena_alloc(wdn_http_req_arena(req), sizeof(*h));
    wdn_buf_init(&t, WDN_HTTP_MAX_LINE_BYTES);
    rc = wdn_buf_printf(&t, "/v1.0/invoke/%s/method/%.*s%.*s", app_id, WDN_STR_FMT(method),
                        WDN_STR_FMT(q));
    if (h == NULL || cl == NULL || rc) {
        wdn_buf_reset(&t);
        wdn__sc_error(sc, req, WDN__SC_PORT_API, t0, rc == WDN_ELIMIT ? 414 : 500,
                      "ERR_DIRECT_INVOKE", "failed to invoke: the request could not be built");
        return;
    }
    struct wdn_str target = dup_str(req, wdn_buf_cstr(&t));
    wdn_buf_reset(&t);
    rc = base_headers(head, h, true);
    if (rc == 0 && ingress)
        rc = apply_edits(h, ingress);
    if (rc == 0)
        rc = wdn_http_hdrs_add(h, WDN_STR("dapr-caller-app-id"), dup_str(req, sc->app_id));
    if (rc == 0)
        rc = wdn_http_hdrs_add(h, WDN_STR("dapr-callee-app-id"), dup_str(req, app_id));
    if (rc == 0)
        rc = wdn_http_hdrs_add(h, WDN_STR("traceparent"), new_traceparent(req));
    if (rc == 0) {
        /* A reference of our own: a certificate rotation on the main thread may drop the
         * sidecar's at any moment; the pool takes its own when it is created. */
        pthread_mutex_lock(&sc->tls_mu);
        pc.tls = wdn_tls_ctx_ref(sc->tls_client);
        pthread_mutex_unlock(&sc->tls_mu);
        rc = wdn_http_client_pool(cl, &pc, &pool);
        wdn_tls_ctx_free(pc.tls);
    }
    if (rc == 0)
        rc = wdn__sc_forward(sc, req, pool, target, h, &info);
    if (rc)
        wdn__sc_error(sc, req, WDN__SC_PORT_API, t0, rc == WDN_ELIMIT ? 431 : 500,
                      "ERR_DIRECT_INVOKE", "failed to invoke: the request could not be forwarded");
}

/* Percent-decodes an app ID segment into buf; strips the ".<namespace>" suffix of this sidecar's
 * own namespace (Dapr's "app.namespace" form). Another namespace is refused: cross-namespace
 * invocation is not supported, and sending it to a same-named app here would be wrong. */
static int decode_app_id(struct wdn_str s, const char *ns, char *buf, size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == '%') {
            if (i + 2 >= s.len)
                return WDN_EINVAL;
            char hx[3] = {s.p[i + 1], s.p[i + 2], 0};
            char *end;
            long v = strtol(hx, &end, 16);
            if (*end != '\0')
                return WDN_EINVAL;
            c = (char)v;
            i += 2;
        }
        if (k + 1 >= cap)
            return WDN_ELIMIT;
        buf[k++] = c;
    }
    buf[k] = '\0';
    char *dot = strchr(buf, '.');
    if (dot != NULL && strcmp(dot + 1, ns) != 0)
        return wdn_resources_valid_app_id(dot + 1) ? WDN_EUNSUPPORTED : WDN_EINVAL;
    if (dot != NULL)
        *dot = '\0';
    return wdn_resources_valid_app_id(buf) ? 0 : WDN_EINVAL;
}

/* Splits "/v1.0/invoke/<id>/method/<method...>" (path) into id and method. 0 or WDN_EINVAL. */
static int parse_invoke(struct wdn_str path, struct wdn_str *id, struct wdn_str *method)
{
    static const struct wdn_str prefix = WDN_STR("/v1.0/invoke/");
    struct wdn_str rest;
    long slash;

    if (!wdn_str_has_prefix(path, prefix))
        return WDN_EINVAL;
    rest = (struct wdn_str){path.p + prefix.len, path.len - prefix.len};
    slash = wdn_str_index(rest, '/');
    if (slash <= 0)
        return WDN_EINVAL;
    *id = (struct wdn_str){rest.p, (size_t)slash};
    rest.p += slash;
    rest.len -= (size_t)slash;
    if (wdn_str_eq_cstr(rest, "/method")) {
        *method = (struct wdn_str){"", 0};
        return 0;
    }
    if (!wdn_str_has_prefix(rest, WDN_STR("/method/")))
        return WDN_EINVAL;
    *method = (struct wdn_str){rest.p + 8, rest.len - 8};
    return 0;
}

/* The MCP proxy endpoint: /v1.0/mcp/<name> goes to the app of the MCPServer called <name>, on
 * the path of its endpoint URL, exactly as /v1.0/invoke/<app>/method/<path> would (so the
 * server's sidecar applies its access control and MCP policy to this caller). The route's
 * strings belong to the configuration snapshot, which a reload may free while the request is
 * still in flight: they are copied into the request's arena. */
static void invoke_mcp(struct wdn_sidecar *sc, struct wdn_http_req *req, uint64_t t0,
                       struct wdn__sc_cfg *cfg, const struct wdn_pipeline_out *po)
{
    const struct wdn_http_request *head = wdn_http_req_head(req);
    static const struct wdn_str prefix = WDN_STR("/v1.0/mcp/");
    struct wdn_str name = {head->path.p + prefix.len, head->path.len - prefix.len};
    const struct wdn__sc_mcp_route *r = NULL;
    char msg[WDN_RES_MAX_NAME + 64];

    for (size_t i = 0; i < cfg->n_mcp_routes && name.len > 0; i++)
        if (wdn_str_eq_cstr(name, cfg->mcp_routes[i].name))
            r = &cfg->mcp_routes[i];
    if (r == NULL) {
        /* Echo the name only when it could be a resource name (a-z 0-9 . -). */
        bool plain = name.len > 0 && name.len <= WDN_RES_MAX_NAME;
        for (size_t i = 0; plain && i < name.len; i++)
            plain = (name.p[i] >= 'a' && name.p[i] <= 'z') ||
                    (name.p[i] >= '0' && name.p[i] <= '9') || name.p[i] == '.' || name.p[i] == '-';
        if (plain)
            wdn_fmt(msg, sizeof(msg), "no MCP server named '%.*s'", WDN_STR_FMT(name));
        else
            wdn_fmt(msg, sizeof(msg), "no MCP server with that name");
        wdn__sc_error(sc, req, WDN__SC_PORT_API, t0, 404, "ERR_MCP_SERVER_NOT_FOUND", msg);
        return;
    }
    struct wdn_str app = dup_str(req, r->app_id);
    struct wdn_str method = dup_str(req, r->path + 1);
    if (app.len == 0 || method.len == 0) {
        wdn__sc_error(sc, req, WDN__SC_PORT_API, t0, 500, "ERR_DIRECT_INVOKE", "out of memory");
        return;
    }
    if (strcmp(app.p, sc->app_id) == 0)
        invoke_app(sc, &sc->api, req, WDN__SC_PORT_API, t0, cfg, sc->app_id, method,
                   new_traceparent(req), po);
    else
        invoke_remote(sc, req, t0, app.p, method, po);
}

static void metadata(struct wdn_sidecar *sc, struct wdn_http_req *req, uint64_t t0,
                     struct wdn__sc_cfg *cfg)
{
    json_t *o = json_object(), *comps = json_array();
    char *s;

    for (size_t i = 0; i < cfg->n_components; i++)
        json_array_append_new(comps,
                              json_pack("{s:s, s:s, s:s, s:[]}", "name", cfg->components[i].name,
                                        "type", cfg->components[i].type, "version",
                                        cfg->components[i].version, "capabilities"));
    json_object_set_new(o, "id", json_string(sc->app_id));
    json_object_set_new(o, "runtimeVersion", json_string("warden-" WDN_VERSION));
    json_object_set_new(o, "enabledFeatures", json_array());
    json_object_set_new(o, "actors", json_array());
    json_object_set_new(o, "components", comps);
    json_object_set_new(o, "configuration", json_string(cfg->config_name));
    json_object_set_new(o, "extended",
                        json_pack("{s:s, s:s}", "daprRuntimeVersion", "warden-" WDN_VERSION,
                                  "configuration", cfg->config_name));
    json_object_set_new(o, "subscriptions", json_array());
    json_object_set_new(o, "httpEndpoints", json_array());
    json_object_set_new(o, "appConnectionProperties",
                        json_pack("{s:i, s:s, s:s}", "port", sc->app_port, "protocol", "http",
                                  "channelAddress", sc->app_address));
    s = json_dumps(o, JSON_COMPACT);
    if (s)
        wdn__sc_respond(sc, req, WDN__SC_PORT_API, t0, 200, &json_ct, 1, wdn_str_from_cstr(s));
    else
        wdn__sc_error(sc, req, WDN__SC_PORT_API, t0, 500, "ERR_METADATA_GET", "out of memory");
    free(s);
    json_decref(o);
}

/* ---- The API port ------------------------------------------------------------------------ */

int wdn__sc_api_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct wdn_sidecar *sc = ((struct wdn__sc_listener *)self)->sc;
    const struct wdn_http_request *head = wdn_http_req_head(req);
    uint64_t t0 = wdn_clock_mono_ns();
    struct wdn_pipeline_req prq = {.head = head, .arena = wdn_http_req_arena(req)};
    struct wdn_pipeline_out po;
    struct wdn__sc_cfg *cfg = NULL;
    struct wdn_str id, method;
    const struct wdn_http_header *hid;
    char idbuf[WDN_RES_MAX_APPID + 1 + 63 + 1]; /* "app.namespace", a namespace is a DNS label */
    int rc;
    const int P = WDN__SC_PORT_API;

    if (wdn_str_eq_cstr(head->path, "/v1.0/healthz") ||
        wdn_str_eq_cstr(head->path, "/v1.0/healthz/outbound")) {
        if (wdn_str_eq_cstr(head->method, "GET") || wdn_str_eq_cstr(head->method, "HEAD"))
            wdn__sc_respond(sc, req, P, t0, 204, NULL, 0, (struct wdn_str){NULL, 0});
        else
            wdn__sc_respond(sc, req, P, t0, 405, &plain_ct, 1, WDN_STR("Method Not Allowed"));
        return 0;
    }
    if (sc->api_token) {
        const struct wdn_http_header *t = wdn_http_req_header(req, WDN_STR("dapr-api-token"));
        if (t == NULL ||
            !wdn_ct_equal(t->value.p, t->value.len, sc->api_token, strlen(sc->api_token))) {
            wdn_log_info("decision=deny req=%llu reason=%s status=401 path=%.*s",
                         (unsigned long long)next_id(sc),
                         t ? "invalid_api_token" : "missing_api_token", WDN_STR_FMT(head->path));
            wdn__sc_respond(sc, req, P, t0, 401, &plain_ct, 1, WDN_STR("invalid api token\n"));
            return 0;
        }
    }
    cfg = wdn__sc_cfg_get(sc);
    wdn_pipeline_run(cfg->http_pipeline, &prq, &po);
    if (po.status) {
        pipeline_refused(sc, req, P, t0, "httpPipeline", &po);
        goto out;
    }
    if (wdn_str_eq_cstr(head->path, "/v1.0/metadata")) {
        if (wdn_str_eq_cstr(head->method, "GET"))
            metadata(sc, req, t0, cfg);
        else
            wdn__sc_respond(sc, req, P, t0, 405, &plain_ct, 1, WDN_STR("Method Not Allowed"));
        goto out;
    }
    if (wdn_str_has_prefix(head->path, WDN_STR("/v1.0/mcp/"))) {
        invoke_mcp(sc, req, t0, cfg, &po);
        goto out;
    }
    hid = wdn_http_req_header(req, WDN_STR("dapr-app-id"));
    if (parse_invoke(head->path, &id, &method) == 0) {
        /* the path form */
    } else if (hid && !wdn_str_has_prefix(head->path, WDN_STR("/v1.0/"))) {
        id = hid->value;
        method = head->path;
        while (method.len && method.p[0] == '/') {
            method.p++;
            method.len--;
        }
    } else if (wdn_str_has_prefix(head->path, WDN_STR("/v1.0/invoke"))) {
        wdn__sc_error(sc, req, P, t0, 404, "ERR_DIRECT_INVOKE",
                      "failed getting app id either from the URL path or the header dapr-app-id");
        goto out;
    } else {
        wdn__sc_respond(sc, req, P, t0, 404, &plain_ct, 1, WDN_STR("404 page not found\n"));
        goto out;
    }
    rc = decode_app_id(id, sc->ns, idbuf, sizeof(idbuf));
    if (rc == WDN_EUNSUPPORTED) {
        wdn__sc_error(sc, req, P, t0, 400, "ERR_DIRECT_INVOKE",
                      "invalid app id: invoking an app in another namespace is not supported");
        goto out;
    }
    if (rc != 0) {
        wdn__sc_error(sc, req, P, t0, 400, "ERR_DIRECT_INVOKE", "invalid app id");
        goto out;
    }
    if (strcmp(idbuf, sc->app_id) == 0)
        invoke_app(sc, &sc->api, req, P, t0, cfg, sc->app_id, method, new_traceparent(req), &po);
    else
        invoke_remote(sc, req, t0, dup_str(req, idbuf).p, method, &po);
out:
    wdn__sc_cfg_release(cfg);
    return 0;
}

/* ---- The internal (mTLS) port ------------------------------------------------------------ */

int wdn__sc_internal_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct wdn_sidecar *sc = ((struct wdn__sc_listener *)self)->sc;
    const struct wdn_http_request *head = wdn_http_req_head(req);
    uint64_t t0 = wdn_clock_mono_ns();
    struct wdn_tls *tls = wdn_http_req_tls(req);
    struct wdn__sc_cfg *cfg = NULL;
    struct wdn_acl_caller caller;
    struct wdn_acl_decision dec;
    struct wdn_str sid, id, method;
    const struct wdn_http_header *tp;
    char idbuf[WDN_SPIFFE_MAX_ID_BYTES + 1], partbuf[WDN_SPIFFE_MAX_ID_BYTES + 1];
    char verb[WDN_HTTP_MAX_METHOD_BYTES + 1], msg[1024], deny[900];
    const int P = WDN__SC_PORT_INTERNAL;

    /* The server requires a verified client certificate from the project CA; the SPIFFE ID in
     * it is the only caller identity the access control trusts. */
    if (tls == NULL || wdn_tls_peer_spiffe_id(tls, &sid) != 0 || sid.len >= sizeof(idbuf) ||
        (memcpy(idbuf, sid.p, sid.len), idbuf[sid.len] = '\0',
         wdn_acl_parse_spiffe(idbuf, sid.len, partbuf, sizeof(partbuf), &caller) != 0)) {
        wdn_log_info("decision=deny req=%llu reason=no_spiffe_identity status=403",
                     (unsigned long long)next_id(sc));
        wdn__sc_error(sc, req, P, t0, 403, "ERR_DIRECT_INVOKE",
                      "the caller did not present a valid workload identity");
        return 0;
    }
    if (parse_invoke(head->path, &id, &method) != 0 || !wdn_str_eq_cstr(id, sc->app_id)) {
        wdn__sc_error(sc, req, P, t0, 404, "ERR_DIRECT_INVOKE",
                      "this sidecar does not serve the requested app ID");
        return 0;
    }
    cfg = wdn__sc_cfg_get(sc);
    wdn_fmt(verb, sizeof(verb), "%.*s", WDN_STR_FMT(head->method));
    wdn_acl_eval(cfg->acl, &caller, verb, method.p, method.len, &dec);
    atomic_fetch_add_explicit(&sc->m.acl[dec.allowed ? 1 : 0][dec.by < 5 ? dec.by : 0], 1,
                              memory_order_relaxed);
    if (!dec.allowed) {
        char op[WDN_POLICY_MAX_OP_BYTES];
        if (wdn_acl_normalize(method.p, method.len, op, sizeof(op)) != 0)
            wdn_fmt(op, sizeof(op), "%.*s", WDN_STR_FMT(method));
        wdn_acl_deny_message(&caller, op[0] == '/' ? op + 1 : op, verb, deny, sizeof(deny));
        wdn_fmt(msg, sizeof(msg),
                "failed to invoke, id: %s, err: rpc error: code = PermissionDenied desc = %s",
                sc->app_id, deny);
        wdn_log_info("decision=deny req=%llu acl=\"%s\" policy=%s operation=%s caller=%s verb=%s "
                     "path=%.*s status=403",
                     (unsigned long long)next_id(sc), dec.reason ? dec.reason : "-",
                     dec.policy_app_id ? dec.policy_app_id : "-",
                     dec.operation ? dec.operation : "-", caller.app_id, verb,
                     WDN_STR_FMT(head->path));
        wdn__sc_error(sc, req, P, t0, 403, "ERR_DIRECT_INVOKE", msg);
        goto out;
    }
    wdn_log_debug("decision=allow acl=\"%s\" caller=%s verb=%s", dec.reason ? dec.reason : "-",
                  caller.app_id, verb);
    tp = wdn_http_req_header(req, WDN_STR("traceparent"));
    invoke_app(sc, (struct wdn__sc_listener *)self, req, P, t0, cfg, dup_str(req, caller.app_id).p,
               method, tp ? tp->value : (struct wdn_str){NULL, 0}, NULL);
out:
    wdn__sc_cfg_release(cfg);
    return 0;
}

/* ---- Per-worker connection pools --------------------------------------------------------- */

int wdn__sc_worker_start(struct wdn_http_handler *self, struct wdn_http_worker *w)
{
    struct wdn__sc_listener *l = (struct wdn__sc_listener *)self;
    int id = wdn_http_worker_id(w);

    if (id >= WDN__SC_MAX_WORKERS)
        return WDN_ELIMIT;
    return wdn_http_client_new(wdn_http_worker_loop(w), &l->clients[id]);
}

void wdn__sc_worker_stop(struct wdn_http_handler *self, struct wdn_http_worker *w)
{
    struct wdn__sc_listener *l = (struct wdn__sc_listener *)self;
    int id = wdn_http_worker_id(w);

    if (id < WDN__SC_MAX_WORKERS) {
        wdn_http_client_free(l->clients[id]);
        l->clients[id] = NULL;
    }
}
