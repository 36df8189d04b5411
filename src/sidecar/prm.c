/* RFC 9728 Protected Resource Metadata, served where clients reach the resource: the API port
 * answers GET /.well-known/oauth-protected-resource/<route> for the routes
 * /v1.0/invoke/<app>/method/<path> and /v1.0/mcp/<name>, and the root form when one answer fits
 * every route. A document says which authorization servers issue tokens for the resource and
 * which scopes exist, from the bearer middleware that guards the route (the httpPipeline here,
 * the app pipeline of the app's sidecar) and the MCP tool policy's requireScopes. For an app
 * behind another sidecar the document comes from that sidecar over mTLS (the internal port
 * answers for its own app) and this one fills in what only it knows: where the client reached
 * it. `resource` comes from configuration (the bearer's `resource` metadata) or from this
 * sidecar's listen address, never from the request's Host header. The documents are public
 * (no API token, no bearer) and carry CORS headers so browser-based clients can read them. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json_dump.h"
#include "base/json_scan.h"
#include "base/log.h"
#include "sidecar/internal.h"

/* A header as a constant initializer. */
#define HDR(n, v)                                                                                  \
    {                                                                                              \
        {(n), sizeof(n) - 1},                                                                      \
        {                                                                                          \
            (v), sizeof(v) - 1                                                                     \
        }                                                                                          \
    }

static const struct wdn_http_header cors = HDR("Access-Control-Allow-Origin", "*");

/* What a document says, gathered from pipelines and the policy (borrowed strings). */
struct facts {
    bool protected_;
    const char *resource; /* configured, or NULL */
    const char *issuers[WDN_POLICY_MAX_SCOPES];
    size_t n_issuers;
    const char *scopes[WDN_POLICY_MAX_SCOPES];
    size_t n_scopes;
};

static void add_unique(const char **v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(v[i], s) == 0)
            return;
    if (*n < WDN_POLICY_MAX_SCOPES)
        v[(*n)++] = s;
}

/* A pipeline's bearer handlers: their issuers, scopes and configured resource. */
static void add_pipeline(struct facts *f, const struct wdn_pipeline *p)
{
    struct wdn_pipeline_resource r;

    if (p == NULL || !wdn_pipeline_resource(p, &r))
        return;
    f->protected_ = true;
    if (f->resource == NULL)
        f->resource = r.resource;
    for (size_t i = 0; i < r.n_issuers; i++)
        add_unique(f->issuers, &f->n_issuers, r.issuers[i]);
    for (size_t i = 0; i < r.n_scopes; i++)
        add_unique(f->scopes, &f->n_scopes, r.scopes[i]);
}

/* This sidecar's app, reached on method: its app pipeline and, on the guarded MCP path, every
 * scope the tool policy can ask for. */
static void add_app(struct facts *f, const struct wdn__sc_cfg *cfg, struct wdn_str method)
{
    const char *s[WDN_POLICY_MAX_SCOPES];
    size_t n;

    add_pipeline(f, cfg->app_pipeline);
    if (cfg->mcp == NULL || wdn__sc_mcp_guarded(cfg, method) != 1)
        return;
    n = wdn_tool_policy_scopes(cfg->mcp, s, WDN_POLICY_MAX_SCOPES);
    for (size_t i = 0; i < n; i++)
        add_unique(f->scopes, &f->n_scopes, s[i]);
}

static json_t *str_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* The document's JSON; resource may be NULL (a peer leaves it to the caller's sidecar). */
static char *document(const struct facts *f, const char *resource, const char *name)
{
    json_t *o = json_object();
    char *s;

    if (resource)
        json_object_set_new(o, "resource", json_string(resource));
    json_object_set_new(o, "authorization_servers", str_array(f->issuers, f->n_issuers));
    if (f->n_scopes)
        json_object_set_new(o, "scopes_supported", str_array(f->scopes, f->n_scopes));
    json_object_set_new(o, "bearer_methods_supported", json_pack("[s]", "header"));
    if (name)
        json_object_set_new(o, "resource_name", json_string(name));
    s = wdn_json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void answer(struct wdn__sc_rq *rq, const struct facts *f, const char *resource,
                   const char *name)
{
    struct wdn_http_header h[2] = {wdn__sc_json_ct, cors};
    char *s;

    if (!f->protected_) {
        struct wdn_http_header p[2] = {wdn__sc_plain_ct, cors};
        wdn__sc_respond(rq, 404, p, 2, WDN_STR("404 page not found\n"));
        return;
    }
    s = document(f, resource, name);
    if (s == NULL) {
        wdn__sc_error(rq, 500, "ERR_METADATA_GET", "out of memory");
        return;
    }
    wdn__sc_respond(rq, 200, h, 2, wdn_str_from_cstr(s));
    free(s);
}

/* ---- A route of this sidecar ------------------------------------------------------------- */

/* The document of an app behind another sidecar: that sidecar's, completed here. */
struct remote {
    struct wdn__sc_rq *rq;
    const char *resource; /* derived here */
    const char *name;
};

static int complete(void *ud, struct wdn_str ctype, struct wdn_str body, struct wdn_buf *out)
{
    struct remote *r = ud;
    json_error_t jerr;
    json_t *o;
    char *s;
    int rc = WDN_EPARSE;

    (void)ctype;
    if (body.len > WDN_PRM_MAX_BYTES || !wdn_json_depth_ok(body.p, body.len, WDN_JSON_MAX_DEPTH))
        return WDN_ELIMIT;
    o = json_loadb(body.p, body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o))
        goto out;
    if (!json_is_string(json_object_get(o, "resource")))
        json_object_set_new(o, "resource", json_string(r->resource));
    if (!json_is_string(json_object_get(o, "resource_name")))
        json_object_set_new(o, "resource_name", json_string(r->name));
    s = wdn_json_dumps(o, JSON_COMPACT);
    rc = s ? wdn_buf_append_cstr(out, s) : WDN_ENOMEM;
    free(s);
out:
    json_decref(o);
    return rc;
}

static void from_peer(struct wdn__sc_rq *rq, const struct wdn__sc_route *rt, const char *resource)
{
    struct wdn_arena *a = wdn_http_req_arena(rq->req);
    struct remote *r = wdn_arena_calloc(a, sizeof(*r));
    struct wdn_http_hdrs *h = wdn_arena_calloc(a, sizeof(*h));
    const char *app = wdn_arena_strdup(a, wdn_str_from_cstr(rt->app));
    struct wdn__sc_peer peer;
    struct wdn__sc_fwd fwd = {.app_id = app, .cors = true, .peer = &peer};
    struct wdn_buf t;
    int rc;

    if (r == NULL || h == NULL || app == NULL) {
        wdn__sc_error(rq, 500, "ERR_METADATA_GET", "out of memory");
        return;
    }
    if (wdn__sc_peer_pool(rq, app, &peer, &fwd.pool) != 0)
        return; /* answered */
    *r = (struct remote){.rq = rq, .resource = resource, .name = rt->name};
    /* The app's sidecar knows its routes as /v1.0/invoke/<app>/method/<path>. */
    wdn_buf_init(&t, WDN_HTTP_MAX_LINE_BYTES);
    rc = wdn_buf_printf(&t, WDN__SC_PRM_PREFIX "/v1.0/invoke/%s/method", app);
    if (rc == 0)
        rc = wdn__sc_append_path(&t, rt->method);
    fwd.target = wdn_str_from_cstr(rc == 0 ? wdn_arena_strdup(a, wdn_buf_str(&t)) : "");
    wdn_buf_reset(&t);
    if (rc == 0)
        rc = wdn_http_hdrs_add(h, WDN_STR("Accept"), WDN_STR("application/json"));
    fwd.headers = h;
    fwd.transform = complete;
    fwd.ud = r;
    if (rc == 0 && fwd.target.len)
        rc = wdn__sc_forward(rq, &fwd);
    else if (rc == 0)
        rc = WDN_ENOMEM;
    if (rc)
        wdn__sc_error(rq, 500, "ERR_METADATA_GET", "the metadata request could not be sent");
}

void wdn__sc_prm_serve(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg)
{
    const struct wdn_http_request *head = wdn_http_req_head(rq->req);
    struct wdn_str path = {head->path.p + sizeof(WDN__SC_PRM_PREFIX) - 1,
                           head->path.len - (sizeof(WDN__SC_PRM_PREFIX) - 1)};
    struct wdn__sc_route rt;
    struct facts f = {0};

    if (wdn_str_eq_cstr(head->method, "OPTIONS")) {
        /* A browser's preflight: the SDK sends MCP-Protocol-Version with its discovery. */
        static const struct wdn_http_header pre[] = {
            HDR("Access-Control-Allow-Origin", "*"),
            HDR("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
            HDR("Access-Control-Allow-Headers", "MCP-Protocol-Version"),
            HDR("Access-Control-Max-Age", "86400"),
        };
        wdn__sc_respond(rq, 204, pre, 4, (struct wdn_str){NULL, 0});
        return;
    }
    if (!wdn_str_eq_cstr(head->method, "GET") && !wdn_str_eq_cstr(head->method, "HEAD")) {
        static const struct wdn_http_header allow[] = {HDR("Allow", "GET, HEAD, OPTIONS"),
                                                       HDR("Access-Control-Allow-Origin", "*")};
        wdn__sc_respond(rq, 405, allow, 2, WDN_STR("Method Not Allowed"));
        return;
    }
    add_pipeline(&f, cfg->http_pipeline); /* the ingress: every route of this port */
    if (path.len == 0 || wdn_str_eq_cstr(path, "/")) {
        /* The root form: one answer for the whole port when the ingress guards it, or for the
         * one MCP server this sidecar knows. Anything else would be a guess. */
        if (f.protected_) {
            answer(rq, &f, wdn__sc_route_resource(rq, NULL, f.resource), NULL);
            return;
        }
        if (cfg->n_mcp_routes != 1) {
            answer(rq, &f, NULL, NULL);
            return;
        }
        path = wdn_str_from_cstr(wdn__sc_fmt(rq->req, "/v1.0/mcp/%s", cfg->mcp_routes[0].name));
    }
    if (wdn__sc_route_parse(rq, cfg, path, &rt) != 0) {
        answer(rq, &(struct facts){0}, NULL, NULL);
        return;
    }
    if (strcmp(rt.app, rq->sc->app_id) == 0) {
        add_app(&f, cfg, wdn_str_from_cstr(rt.method));
    } else if (!f.protected_) {
        /* Only the app's sidecar knows how it is guarded. */
        from_peer(rq, &rt, wdn__sc_route_resource(rq, &rt, NULL));
        return;
    }
    answer(rq, &f, wdn__sc_route_resource(rq, &rt, f.resource), rt.name);
}

/* ---- For a peer sidecar (the internal port) ------------------------------------------------ */

void wdn__sc_prm_peer(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg, struct wdn_str method)
{
    char norm[WDN_POLICY_MAX_OP_BYTES];
    struct facts f = {0};

    if (!wdn_str_eq_cstr(wdn_http_req_head(rq->req)->method, "GET") &&
        !wdn_str_eq_cstr(wdn_http_req_head(rq->req)->method, "HEAD")) {
        wdn__sc_plain(rq, 405, "Method Not Allowed");
        return;
    }
    if (wdn_acl_normalize(method.p, method.len, norm, sizeof(norm)) != 0) {
        answer(rq, &f, NULL, NULL);
        return;
    }
    add_app(&f, cfg, wdn_str_from_cstr(norm));
    /* resource only when configured: the caller's sidecar knows where its client reached it. */
    answer(rq, &f, f.resource, NULL);
}
