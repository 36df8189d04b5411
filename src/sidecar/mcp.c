/* The MCP tool policy (kind MCPServer) at the app's sidecar: requests to the guarded MCP
 * endpoint are read in full (JSON-RPC, at most WDN_JSONRPC_MAX_BYTES), every tools/call in them
 * is checked against the policy for the verified caller and the token's scopes and claims, and
 * only then forwarded. A caller without any grant gets 404 (it cannot tell the endpoint
 * exists); an ungranted tool gets 403 with a JSON-RPC error. The body the app receives is the
 * bytes that were checked. When the request lists tools, the app's 200 answer (JSON or an SSE
 * stream) is buffered and every result.tools array in it filtered to the granted tools. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "sidecar/internal.h"

struct mcp_ctx {
    struct wdn_sidecar *sc;
    struct wdn__sc_cfg *cfg; /* one reference, released when done */
    const char *caller;
    struct wdn_tool_auth auth;
    struct wdn_http_pool *pool;
    struct wdn_str target;
    struct wdn_http_hdrs *h;
    struct wdn__sc_fwd_info info;
    struct wdn__sc_xform xf;
};

/* Drops the tools the caller may not use from every result.tools array of a JSON-RPC
 * response (or batch). Returns true when something was removed. */
static bool filter_doc(struct mcp_ctx *m, json_t *doc)
{
    bool changed = false;

    if (json_is_array(doc)) {
        size_t i;
        json_t *e;
        json_array_foreach (doc, i, e)
            changed |= filter_doc(m, e);
        return changed;
    }
    json_t *tools = json_object_get(json_object_get(doc, "result"), "tools");
    size_t n = json_array_size(tools);
    if (n == 0)
        return false;
    const char **names = calloc(n, sizeof(*names));
    bool *keep = calloc(n, sizeof(*keep));
    if (names && keep) {
        for (size_t i = 0; i < n; i++) {
            const char *nm = json_string_value(json_object_get(json_array_get(tools, i), "name"));
            names[i] = nm ? nm : "";
        }
        wdn_tool_policy_filter(m->cfg->mcp, m->caller, &m->auth, names, n, keep);
        for (size_t i = n; i-- > 0;)
            if (!keep[i]) {
                json_array_remove(tools, i);
                changed = true;
            }
    } else {
        json_array_clear(tools); /* out of memory: fail closed */
        changed = true;
    }
    free(names);
    free(keep);
    return changed;
}

/* Rewrites an SSE stream event by event: data lines of each event are joined, filtered as JSON,
 * and written back as one data line; other fields (event:, id:, retry:, comments) stay. */
static int filter_sse(struct mcp_ctx *m, struct wdn_str body, struct wdn_buf *out)
{
    const char *p = body.p, *end = body.p + body.len;
    struct wdn_buf data, other;
    int rc = 0;

    wdn_buf_init(&data, WDN_SSE_MAX_EVENT_BYTES);
    wdn_buf_init(&other, WDN_SSE_MAX_EVENT_BYTES);
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct wdn_str line = {p, len && p[len - 1] == '\r' ? len - 1 : len};

        p += len + (nl ? 1 : 0);
        if (line.len == 0) { /* end of an event */
            if (data.len) {
                json_t *doc = json_loadb(data.data, data.len, 0, NULL);
                char *s = NULL;
                if (doc && filter_doc(m, doc))
                    s = json_dumps(doc, JSON_COMPACT);
                rc = wdn_buf_append(out, other.data ? other.data : "", other.len);
                if (rc == 0)
                    rc = wdn_buf_printf(out, "data: %s\n", s ? s : wdn_buf_cstr(&data));
                free(s);
                json_decref(doc);
            } else if (other.len) {
                rc = wdn_buf_append(out, other.data, other.len);
            }
            if (rc == 0)
                rc = wdn_buf_append(out, "\n", 1);
            data.len = other.len = 0;
        } else if (wdn_str_has_prefix(line, WDN_STR("data:"))) {
            struct wdn_str v = {line.p + 5, line.len - 5};
            if (v.len && v.p[0] == ' ') {
                v.p++;
                v.len--;
            }
            if (data.len)
                rc = wdn_buf_append(&data, "\n", 1);
            if (rc == 0)
                rc = wdn_buf_append(&data, v.p, v.len);
        } else {
            rc = wdn_buf_append(&other, line.p, line.len);
            if (rc == 0)
                rc = wdn_buf_append(&other, "\n", 1);
        }
    }
    if (rc == 0 && (data.len || other.len)) {
        /* An unterminated last event: keep it as it was. */
        rc = wdn_buf_append(out, other.data ? other.data : "", other.len);
        if (rc == 0 && data.len)
            rc = wdn_buf_printf(out, "data: %s\n", wdn_buf_cstr(&data));
    }
    wdn_buf_reset(&data);
    wdn_buf_reset(&other);
    return rc;
}

static int transform(void *ud, struct wdn_str ctype, struct wdn_str body, struct wdn_buf *out)
{
    struct mcp_ctx *m = ud;
    json_t *doc;
    char *s;
    int rc = WDN_EINVAL;

    if (wdn_str_has_prefix(ctype, WDN_STR("text/event-stream")))
        return filter_sse(m, body, out);
    doc = json_loadb(body.p, body.len, 0, NULL);
    if (doc == NULL)
        return WDN_EINVAL;
    if (filter_doc(m, doc) && (s = json_dumps(doc, JSON_COMPACT)) != NULL) {
        rc = wdn_buf_append_cstr(out, s);
        free(s);
    }
    json_decref(doc);
    return rc;
}

static void xform_done(void *ud)
{
    struct mcp_ctx *m = ud;
    wdn__sc_cfg_release(m->cfg);
    m->cfg = NULL;
}

static const struct wdn_http_header json_ct = {{"Content-Type", 12}, {"application/json", 16}};
static const struct wdn_http_header plain_ct = {{"Content-Type", 12},
                                                {"text/plain; charset=utf-8", 25}};

/* Checks one JSON-RPC message; on a denied tools/call fills *tool and returns false. */
static bool message_allowed(struct mcp_ctx *m, json_t *msg, const char **tool, const char **why,
                            bool *lists)
{
    struct wdn_tool_decision dec;
    const char *method;
    json_t *name;

    if (!json_is_object(msg))
        return true; /* the app answers malformed messages itself */
    method = json_string_value(json_object_get(msg, "method"));
    if (method && strcmp(method, "tools/list") == 0)
        *lists = true;
    if (method == NULL || strcmp(method, "tools/call") != 0)
        return true;
    name = json_object_get(json_object_get(msg, "params"), "name");
    *tool = json_is_string(name) ? json_string_value(name) : "";
    if (wdn_tool_policy_eval(m->cfg->mcp, m->caller, *tool, &m->auth, &dec) != 0)
        return false;
    *why = dec.reason;
    return dec.allowed;
}

static void deny_tool(struct mcp_ctx *m, struct wdn_http_req *req, json_t *id, const char *tool)
{
    char msg[512];
    json_t *o;
    char *s;

    wdn_fmt(msg, sizeof(msg), "access denied: tool '%s' is not granted to '%s'", tool, m->caller);
    o = json_pack("{s:s, s:O?, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error", "code", -32003,
                  "message", msg);
    s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    wdn__sc_respond(m->sc, req, m->info.port, m->info.t0, 403, &json_ct, 1,
                    s ? wdn_str_from_cstr(s) : WDN_STR("{}"));
    free(s);
    json_decref(o);
}

static void on_body(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    struct mcp_ctx *m = ud;
    json_error_t jerr;
    json_t *doc = NULL;
    const char *tool = NULL, *why = NULL;
    json_t *denied_id = NULL;
    bool ok = true, lists = false;
    int rc;

    if (status < 0) {
        if (status == WDN_ECLOSED) {
            wdn_http_resp_end(req);
        } else {
            wdn__sc_error(m->sc, req, m->info.port, m->info.t0, status == WDN_ELIMIT ? 413 : 400,
                          "ERR_DIRECT_INVOKE",
                          status == WDN_ELIMIT ? "request body too large" : "bad request body");
        }
        goto out;
    }
    if (body.len > 0) {
        doc = json_loadb(body.p, body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (doc == NULL) {
            /* Unparseable: the sidecar cannot tell what it would let through, so it refuses. */
            wdn__sc_respond(m->sc, req, m->info.port, m->info.t0, 400, &json_ct, 1,
                            WDN_STR("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
                                    "\"message\":\"Parse error\"}}"));
            goto out;
        }
        if (json_is_array(doc)) {
            size_t i;
            json_t *e;
            json_array_foreach (doc, i, e) {
                if (!message_allowed(m, e, &tool, &why, &lists)) {
                    ok = false;
                    denied_id = json_object_get(e, "id");
                    break;
                }
            }
        } else if (!message_allowed(m, doc, &tool, &why, &lists)) {
            ok = false;
            denied_id = json_object_get(doc, "id");
        }
    }
    if (!ok) {
        wdn_log_info("decision=deny mcpserver=%s caller=%s tool=\"%s\" reason=\"%s\" status=403",
                     m->cfg->mcp_name, m->caller, tool ? tool : "", why ? why : "-");
        deny_tool(m, req, denied_id, tool ? tool : "");
        goto out;
    }
    if (tool)
        wdn_log_debug("decision=allow mcpserver=%s caller=%s tool=\"%s\"", m->cfg->mcp_name,
                      m->caller, tool);
    m->xf = (struct wdn__sc_xform){.transform = transform, .done = xform_done, .ud = m};
    rc = wdn__sc_forward_body(m->sc, req, m->pool, m->target, m->h, &m->info, body,
                              lists ? &m->xf : NULL);
    if (rc)
        wdn__sc_error(m->sc, req, m->info.port, m->info.t0, 500, "ERR_DIRECT_INVOKE",
                      "failed to invoke: the request could not be forwarded");
    if (rc == 0 && lists) {
        /* The rewrite holds the configuration until the response is done. */
        json_decref(doc);
        return;
    }
out:
    json_decref(doc);
    wdn__sc_cfg_release(m->cfg);
}

void wdn__sc_mcp_check(struct wdn_sidecar *sc, struct wdn_http_req *req, struct wdn__sc_cfg *cfg,
                       const char *caller, const struct wdn_pipeline_out *auth,
                       struct wdn_http_pool *pool, struct wdn_str target,
                       const struct wdn_http_hdrs *h, const struct wdn__sc_fwd_info *info)
{
    struct wdn_arena *a = wdn_http_req_arena(req);
    struct mcp_ctx *m = wdn_arena_calloc(a, sizeof(*m));
    struct wdn_tool_claim *claims = NULL;

    if (m == NULL || (m->h = wdn_arena_alloc(a, sizeof(*m->h))) == NULL ||
        (auth->n_claims &&
         (claims = wdn_arena_alloc(a, auth->n_claims * sizeof(*claims))) == NULL)) {
        wdn__sc_error(sc, req, info->port, info->t0, 500, "ERR_DIRECT_INVOKE", "out of memory");
        return;
    }
    m->sc = sc;
    m->cfg = cfg;
    atomic_fetch_add(&cfg->refs, 1);
    m->caller = caller;
    m->pool = pool;
    m->target = target;
    *m->h = *h;
    m->info = *info;
    for (size_t i = 0; i < auth->n_claims; i++) {
        claims[i].name = auth->claims[i].name;
        claims[i].value = auth->claims[i].value;
    }
    m->auth.scopes = (const char *const *)auth->scopes;
    m->auth.n_scopes = auth->n_scopes;
    m->auth.claims = claims;
    m->auth.n_claims = auth->n_claims;
    if (!wdn_tool_policy_has_grant(cfg->mcp, caller, &m->auth)) {
        wdn_log_info("decision=deny mcpserver=%s caller=%s reason=no_grant status=404",
                     cfg->mcp_name, caller);
        wdn__sc_respond(sc, req, info->port, info->t0, 404, &plain_ct, 1,
                        WDN_STR("404 page not found\n"));
        wdn__sc_cfg_release(cfg);
        return;
    }
    if (wdn_http_req_read_all(req, WDN_JSONRPC_MAX_BYTES, on_body, m) != 0) {
        wdn__sc_error(sc, req, info->port, info->t0, 500, "ERR_DIRECT_INVOKE",
                      "failed to read the request body");
        wdn__sc_cfg_release(cfg);
    }
}
