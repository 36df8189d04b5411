/* The API port (DAPR_HTTP_PORT): healthz, metadata, RFC 9728 resource metadata, the API token,
 * the httpPipeline, and the routes into service invocation: the path form
 * /v1.0/invoke/<id>/method/<method>, the dapr-app-id header form, and the MCP proxy endpoint
 * /v1.0/mcp/<name>. Every request runs on the configuration snapshot taken when it arrived. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json_dump.h"
#include "base/log.h"
#include "sidecar/internal.h"

/* The MCP proxy endpoint: /v1.0/mcp/<name> goes to the app of the MCPServer called <name>, on
 * the path of its endpoint URL, exactly as /v1.0/invoke/<app>/method/<path> would (so the
 * server's sidecar applies its access control and MCP policy to this caller). The route's
 * strings belong to the configuration snapshot, which a reload may free while the request is
 * still in flight: they are copied into the request's arena. */
static void invoke_mcp(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg,
                       const struct wdn_pipeline_out *po)
{
    struct wdn_sidecar *sc = rq->sc;
    const struct wdn_http_request *head = wdn_http_req_head(rq->req);
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
        wdn__sc_error(rq, 404, "ERR_MCP_SERVER_NOT_FOUND", msg);
        return;
    }
    char *app = wdn__sc_rq_strdup(rq->req, r->app_id);
    char *method = wdn__sc_rq_strdup(rq->req, r->path + 1);
    if (app == NULL || method == NULL) {
        wdn__sc_error(rq, 500, "ERR_DIRECT_INVOKE", "out of memory");
        return;
    }
    if (strcmp(app, sc->app_id) == 0)
        wdn__sc_invoke_app(rq, cfg, sc->app_id, wdn_str_from_cstr(method), po);
    else
        wdn__sc_invoke_remote(rq, cfg, app, wdn_str_from_cstr(method), po);
}

static void metadata(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg)
{
    struct wdn_sidecar *sc = rq->sc;
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
    s = wdn_json_dumps(o, JSON_COMPACT);
    if (s)
        wdn__sc_respond(rq, 200, &wdn__sc_json_ct, 1, wdn_str_from_cstr(s));
    else
        wdn__sc_error(rq, 500, "ERR_METADATA_GET", "out of memory");
    free(s);
    json_decref(o);
}

/* Service invocation in either form: the target app ID from the path or the dapr-app-id
 * header, then to this sidecar's app or to the target's sidecar. */
static void invoke(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg,
                   const struct wdn_pipeline_out *po)
{
    struct wdn_sidecar *sc = rq->sc;
    const struct wdn_http_request *head = wdn_http_req_head(rq->req);
    const struct wdn_http_header *hid = wdn_http_req_header(rq->req, WDN_STR("dapr-app-id"));
    char idbuf[WDN_RES_MAX_APPID + 1 + 63 + 1]; /* "app.namespace", a namespace is a DNS label */
    struct wdn_str id, method;
    int rc;

    if (wdn__sc_parse_invoke(head->path, &id, &method) == 0) {
        /* the path form */
    } else if (hid && !wdn_str_has_prefix(head->path, WDN_STR("/v1.0/"))) {
        id = hid->value;
        method = head->path;
        while (method.len && method.p[0] == '/') {
            method.p++;
            method.len--;
        }
    } else if (wdn_str_has_prefix(head->path, WDN_STR("/v1.0/invoke"))) {
        wdn__sc_error(rq, 404, "ERR_DIRECT_INVOKE",
                      "failed getting app id either from the URL path or the header dapr-app-id");
        return;
    } else {
        wdn__sc_plain(rq, 404, "404 page not found\n");
        return;
    }
    rc = wdn__sc_decode_app_id(id, sc->ns, idbuf, sizeof(idbuf));
    if (rc == WDN_EUNSUPPORTED) {
        wdn__sc_error(rq, 400, "ERR_DIRECT_INVOKE",
                      "invalid app id: invoking an app in another namespace is not supported");
        return;
    }
    if (rc != 0) {
        wdn__sc_error(rq, 400, "ERR_DIRECT_INVOKE", "invalid app id");
        return;
    }
    if (strcmp(idbuf, sc->app_id) == 0) {
        wdn__sc_invoke_app(rq, cfg, sc->app_id, method, po);
        return;
    }
    char *app = wdn__sc_rq_strdup(rq->req, idbuf);
    if (app == NULL)
        wdn__sc_error(rq, 500, "ERR_DIRECT_INVOKE", "out of memory");
    else
        wdn__sc_invoke_remote(rq, cfg, app, method, po);
}

/* After the API token: the httpPipeline, then the route. Runs again when a parked request is
 * woken (the pipeline then decides). */
static void ingress(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg, void *arg)
{
    const struct wdn_http_request *head = wdn_http_req_head(rq->req);
    struct wdn_pipeline_out po;

    (void)arg;
    if (!wdn__sc_pipeline_pass(rq, cfg, cfg->http_pipeline, "httpPipeline", false, &po, ingress,
                               NULL))
        return;
    if (wdn_str_eq_cstr(head->path, "/v1.0/metadata")) {
        if (wdn_str_eq_cstr(head->method, "GET"))
            metadata(rq, cfg);
        else
            wdn__sc_plain(rq, 405, "Method Not Allowed");
        return;
    }
    if (wdn_str_has_prefix(head->path, WDN_STR("/v1.0/mcp/")))
        invoke_mcp(rq, cfg, &po);
    else
        invoke(rq, cfg, &po);
}

int wdn__sc_api_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct wdn_sidecar *sc = ((struct wdn__sc_listener *)self)->sc;
    const struct wdn_http_request *head = wdn_http_req_head(req);
    struct wdn__sc_rq *rq = wdn__sc_rq_new((struct wdn__sc_listener *)self, req);
    struct wdn__sc_cfg *cfg = NULL;

    if (rq == NULL) {
        wdn_http_respond(req, 500, &wdn__sc_plain_ct, 1, WDN_STR("Internal Server Error"));
        return 0;
    }
    if (wdn_str_eq_cstr(head->path, "/v1.0/healthz") ||
        wdn_str_eq_cstr(head->path, "/v1.0/healthz/outbound")) {
        if (!wdn_str_eq_cstr(head->method, "GET") && !wdn_str_eq_cstr(head->method, "HEAD"))
            wdn__sc_plain(rq, 405, "Method Not Allowed");
        else if (atomic_load(&sc->ready))
            wdn__sc_respond(rq, 204, NULL, 0, (struct wdn_str){NULL, 0});
        else /* Dapr's answer while it starts or stops */
            wdn__sc_error(rq, 500, "ERR_HEALTH_NOT_READY",
                          "the sidecar is not ready: it is starting (not yet registered where "
                          "peers find it) or stopping");
        return 0;
    }
    cfg = wdn__sc_cfg_get(sc);
    wdn__sc_obs_begin(rq, cfg, (struct wdn_str){NULL, 0});
    if (wdn_str_has_prefix(head->path, WDN_STR(WDN__SC_PRM_PREFIX)) &&
        (head->path.len == sizeof(WDN__SC_PRM_PREFIX) - 1 ||
         head->path.p[sizeof(WDN__SC_PRM_PREFIX) - 1] == '/')) {
        /* Public metadata (RFC 9728): before the API token and the pipelines. */
        wdn__sc_prm_serve(rq, cfg);
        goto out;
    }
    if (sc->api_token) {
        const struct wdn_http_header *t = wdn_http_req_header(req, WDN_STR("dapr-api-token"));
        bool ok = t != NULL &&
                  wdn_ct_equal(t->value.p, t->value.len, sc->api_token, strlen(sc->api_token));
        struct wdn_audit_event ev = {.kind = WDN_AUDIT_API_TOKEN,
                                     .allowed = ok,
                                     .reason = ok  ? "valid_api_token"
                                               : t ? "invalid_api_token"
                                                   : "missing_api_token",
                                     .status = ok ? 0 : 401};
        wdn__sc_audit(rq, &ev);
        if (!ok) {
            wdn_log_info("decision=deny req=%llu reason=%s status=401 path=%.*s",
                         (unsigned long long)wdn__sc_next_id(sc), ev.reason,
                         WDN_STR_FMT(head->path));
            wdn__sc_plain(rq, 401, "invalid api token\n");
            goto out;
        }
    }
    ingress(rq, cfg, NULL);
out:
    wdn__sc_cfg_release(cfg);
    return 0;
}
