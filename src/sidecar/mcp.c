/* The MCP tool policy (kind MCPServer) at the app's sidecar: requests to the guarded MCP
 * endpoint are read in full (at most WDN_JSONRPC_MAX_BYTES) and parsed with src/mcp's JSON-RPC
 * parser (the fuzzed one the MCP server uses), every tools/call in them is checked against the
 * policy for the verified caller and the token's scopes and claims, and only then forwarded. A
 * caller without any grant gets 404 (it cannot tell the endpoint exists); an ungranted tool
 * gets 403 with a JSON-RPC error; bytes the parser refuses get 400. The body the app receives is
 * the bytes that were checked. When the request lists tools, the app's 200 answer (JSON, or an
 * SSE stream read with src/mcp's SSE parser) is buffered and every result.tools array in it
 * filtered to the granted tools; an answer that cannot be read is refused, never passed on
 * unfiltered. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json_dump.h"
#include "base/log.h"
#include "mcp/sse.h"
#include "sidecar/internal.h"
#include "warden/mcp.h"

/* ---- The decision on a request body ------------------------------------------------------ */

/* The JSON-RPC error answer for id (may be NULL) into out. */
static int jsonrpc_error(struct wdn_buf *out, json_t *id, int code, const char *msg)
{
    json_t *e = wdn_jsonrpc_make_error(id, code, msg, NULL);
    char *s = e ? wdn_json_dumps(e, JSON_COMPACT) : NULL;
    int rc = s ? wdn_buf_append_cstr(out, s) : WDN_ENOMEM;

    free(s);
    json_decref(e);
    return rc;
}

/* One header of the request: how many times it came, and the first value. */
static int header(const struct wdn_http_request *head, const char *name, struct wdn_str *v)
{
    int n = 0;

    *v = (struct wdn_str){NULL, 0};
    for (size_t i = 0; head && i < head->nheaders; i++) {
        if (!wdn_str_eq_case_cstr(head->headers[i].name, name))
            continue;
        if (n++ == 0)
            *v = head->headers[i].value;
    }
    return n;
}

/* What Mcp-Name mirrors (2026-07-28): params.name of tools/call and prompts/get, params.uri of
 * resources/read; NULL for other methods. */
static const char *named(const struct wdn_jsonrpc_msg *m)
{
    if (strcmp(m->method, "tools/call") == 0 || strcmp(m->method, "prompts/get") == 0)
        return json_string_value(json_object_get(m->params, "name"));
    if (strcmp(m->method, "resources/read") == 0)
        return json_string_value(json_object_get(m->params, "uri"));
    return NULL;
}

/*
 * The 2026-07-28 headers against the body, as the MCP server checks them: Mcp-Method equal to
 * the method, Mcp-Name to the name it mirrors (required with Mcp-Method when the method has
 * one), each at most once, on a single request or notification. An intermediary that
 * authorizes on the headers and a server that runs the body must never see two different
 * requests. Returns why they disagree, or NULL.
 */
static const char *headers_disagree(const struct wdn_http_request *head, json_t *root,
                                    const struct wdn_jsonrpc_msg *m)
{
    struct wdn_str hm, hn;
    int cm = header(head, "Mcp-Method", &hm), cn = header(head, "Mcp-Name", &hn);
    const char *name;

    if (cm == 0 && cn == 0)
        return NULL;
    if (cm > 1 || cn > 1)
        return "Header mismatch: Mcp-Method and Mcp-Name may be sent once";
    if (json_is_array(root))
        return "Header mismatch: a batch cannot match Mcp-Method or Mcp-Name";
    if (m->kind != WDN_JSONRPC_REQUEST && m->kind != WDN_JSONRPC_NOTIFICATION)
        return "Header mismatch: a response carries no method";
    if (cm && !wdn_str_eq_cstr(hm, m->method))
        return "Header mismatch: Mcp-Method does not match the body method";
    name = named(m);
    if (cn && (name == NULL || !wdn_str_eq_cstr(hn, name)))
        return "Header mismatch: Mcp-Name does not match the body";
    if (cm && name != NULL && cn == 0)
        return "Header mismatch: Mcp-Name header is required";
    return NULL;
}

/* The step-up scope list: the bearer's scopes, then those the policy asks for, once each. */
void wdn__sc_mcp_scope_list(const struct wdn__sc_mcp_req *r, const char *const *need, size_t n_need,
                            char *out, size_t cap)
{
    const char *all[WDN_POLICY_MAX_SCOPES];
    size_t n = 0, k = 0;

    for (size_t i = 0; i < r->n_base_scopes + n_need && n < WDN_POLICY_MAX_SCOPES; i++) {
        const char *s = i < r->n_base_scopes ? r->base_scopes[i] : need[i - r->n_base_scopes];
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(all[j], s) == 0;
        if (!seen)
            all[n++] = s;
    }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(all[i]);
        if (k + len + 2 > cap)
            break; /* a shorter list still says what to ask for first */
        if (k)
            out[k++] = ' ';
        memcpy(out + k, all[i], len + 1);
        k += len;
    }
}

int wdn__sc_mcp_decide(const struct wdn_tool_policy *p, const struct wdn__sc_mcp_req *r,
                       struct wdn_str body, struct wdn__sc_mcp_verdict *v, struct wdn_buf *body_out)
{
    struct wdn_jsonrpc_fault fault;
    json_t *root = NULL;
    size_t n;
    int rc = 0;

    memset(v, 0, sizeof(*v));
    if (body.len == 0)
        return 0; /* nothing the app could run (a GET stream, a DELETE) */
    if (wdn_jsonrpc_parse(body.p, body.len, &root, &fault) != 0) {
        /* The sidecar cannot tell what it would let through, so it refuses. */
        v->status = 400;
        v->reason = "the body is not JSON-RPC";
        v->code = "invalid_jsonrpc";
        return jsonrpc_error(body_out, NULL, fault.code, fault.message);
    }
    n = json_is_array(root) ? json_array_size(root) : 1;
    for (size_t i = 0; i < n && v->status == 0; i++) {
        json_t *el = json_is_array(root) ? json_array_get(root, i) : root;
        struct wdn_tool_decision dec;
        struct wdn_jsonrpc_msg m;
        const char *tool, *need[WDN_POLICY_MAX_SCOPES], *mismatch;
        size_t n_need;
        char msg[512];

        if (wdn_jsonrpc_classify(el, &m, &fault) != 0) {
            /* A message the MCP server would refuse too, but a laxer app might run. */
            v->status = 400;
            v->reason = "an invalid JSON-RPC message";
            v->code = "invalid_jsonrpc";
            rc = jsonrpc_error(body_out, fault.id, fault.code, fault.message);
            break;
        }
        mismatch = i == 0 ? headers_disagree(r->head, root, &m) : NULL;
        if (mismatch) {
            v->status = 400;
            v->reason = "the Mcp-Method/Mcp-Name headers disagree with the body";
            v->code = "header_mismatch";
            rc = jsonrpc_error(body_out, m.id, WDN_MCP_ERR_HEADER_MISMATCH, mismatch);
            break;
        }
        if (m.kind != WDN_JSONRPC_REQUEST && m.kind != WDN_JSONRPC_NOTIFICATION)
            continue;
        if (strcmp(m.method, "tools/list") == 0)
            v->lists = true;
        if (strcmp(m.method, "tools/call") != 0)
            continue;
        tool = json_string_value(json_object_get(m.params, "name"));
        if (tool == NULL)
            tool = "";
        wdn_fmt(v->tool, sizeof(v->tool), "%s", tool);
        wdn_tool_policy_eval(p, r->caller, tool, r->auth, &dec);
        if (dec.allowed)
            continue;
        v->status = 403;
        v->reason = dec.reason;
        v->code = "tool_not_granted";
        n_need = tool[0] ? wdn_tool_policy_scopes_needed(p, r->caller, tool, r->auth, need,
                                                         WDN_POLICY_MAX_SCOPES)
                         : 0;
        if (n_need) {
            /* Step-up: the same call with a token holding these scopes would pass. */
            wdn__sc_mcp_scope_list(r, need, n_need, v->scope, sizeof(v->scope));
            v->reason = "a required scope is missing from the token";
            v->code = "insufficient_scope";
            wdn_fmt(msg, sizeof(msg), "insufficient scope: tool '%s' needs the scopes '%s'", tool,
                    v->scope);
        } else {
            wdn_fmt(msg, sizeof(msg), "access denied: tool '%s' is not granted to '%s'", tool,
                    r->caller);
        }
        rc = jsonrpc_error(body_out, m.id, -32003, msg);
    }
    json_decref(root);
    return rc;
}

/* ---- Filtering the tools/list answer ----------------------------------------------------- */

struct filter {
    const struct wdn_tool_policy *p;
    const char *caller;
    const struct wdn_tool_auth *auth;
};

/* A list filtered for one caller must not land in a shared cache: a result carrying the
 * 2026-07-28 caching hints gets cacheScope "private" (older versions have no such field, and
 * none is added). True when it changed. */
static bool mark_private(json_t *result)
{
    json_t *scope = json_object_get(result, "cacheScope");

    if (scope == NULL && json_object_get(result, "ttlMs") == NULL)
        return false;
    if (json_is_string(scope) && strcmp(json_string_value(scope), "private") == 0)
        return false;
    json_object_set_new(result, "cacheScope", json_string("private"));
    return true;
}

/* Drops the tools the caller may not use from every result.tools array of a JSON-RPC message
 * (or batch), and marks those results private. Returns true when something changed. */
static bool filter_doc(const struct filter *f, json_t *doc)
{
    bool changed = false;

    if (json_is_array(doc)) {
        size_t i;
        json_t *e;
        json_array_foreach (doc, i, e)
            changed |= filter_doc(f, e);
        return changed;
    }
    json_t *tools = json_object_get(json_object_get(doc, "result"), "tools");
    size_t n = json_array_size(tools);
    if (!json_is_array(tools))
        return false;
    if (n == 0)
        return mark_private(json_object_get(doc, "result"));
    const char **names = calloc(n, sizeof(*names));
    bool *keep = calloc(n, sizeof(*keep));
    if (names && keep) {
        for (size_t i = 0; i < n; i++) {
            const char *nm = json_string_value(json_object_get(json_array_get(tools, i), "name"));
            names[i] = nm ? nm : "";
        }
        wdn_tool_policy_filter(f->p, f->caller, f->auth, names, n, keep);
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
    return mark_private(json_object_get(doc, "result")) || changed;
}

/* Parses one JSON-RPC message (or batch) with src/mcp's parser and filters it; *changed says
 * whether it was rewritten, in which case its compact form is appended to out. */
static int filter_json(const struct filter *f, const char *p, size_t len, struct wdn_buf *out,
                       bool *changed)
{
    json_t *root = NULL;
    char *s = NULL;
    int rc = wdn_jsonrpc_parse(p, len, &root, NULL);

    *changed = false;
    if (rc)
        return rc;
    if (filter_doc(f, root)) {
        s = wdn_json_dumps(root, JSON_COMPACT);
        rc = s ? wdn_buf_append_cstr(out, s) : WDN_ENOMEM;
        *changed = true;
    }
    free(s);
    json_decref(root);
    return rc;
}

/* An SSE answer, rewritten event by event from what src/mcp's parser dispatches: the event
 * type, the id and retry fields when they change, the data (filtered, or its lines as they
 * were). Comments and an unfinished last event are dropped, as a
 * conforming client would ignore them. */
struct sse_rewrite {
    const struct filter *f;
    struct wdn__sse_parser ps;
    struct wdn_buf *out;
    char last_id[sizeof(((struct wdn__sse_parser *)0)->id)];
    long last_retry;
    bool changed;
};

static int data_lines(struct wdn_buf *out, const char *data, size_t len)
{
    int rc = 0;

    do {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        rc = wdn_buf_printf(out, "data: %.*s\n", (int)n, data);
        data += n + (nl ? 1 : 0);
        len -= n + (nl ? 1 : 0);
    } while (rc == 0 && len > 0);
    return rc;
}

static int on_sse_event(void *ud, const char *event, const char *data, size_t len, const char *id)
{
    struct sse_rewrite *r = ud;
    bool changed = false;
    int rc = 0;

    /* The type goes out even when it is the default: the parser cannot tell an explicit
     * "message" from none, and both mean the same. */
    rc = wdn_buf_printf(r->out, "event: %s\n", event);
    if (rc == 0 && strcmp(id, r->last_id) != 0) {
        rc = wdn_buf_printf(r->out, "id: %s\n", id);
        wdn_fmt(r->last_id, sizeof(r->last_id), "%s", id);
    }
    if (rc == 0 && r->ps.retry_ms >= 0 && r->ps.retry_ms != r->last_retry) {
        rc = wdn_buf_printf(r->out, "retry: %ld\n", r->ps.retry_ms);
        r->last_retry = r->ps.retry_ms;
    }
    if (rc == 0 && len > 0) {
        size_t mark = r->out->len;
        rc = wdn_buf_append(r->out, "data: ", 6);
        if (rc == 0)
            rc = filter_json(r->f, data, len, r->out, &changed);
        if (rc == 0 && changed) {
            rc = wdn_buf_append(r->out, "\n", 1);
            r->changed = true;
        } else if (rc == 0) {
            r->out->len = mark;
            rc = data_lines(r->out, data, len);
        }
    } else if (rc == 0) {
        rc = wdn_buf_append(r->out, "data:\n", 6);
    }
    if (rc == 0)
        rc = wdn_buf_append(r->out, "\n", 1);
    return rc;
}

static int filter_sse(const struct filter *f, struct wdn_str body, struct wdn_buf *out)
{
    struct sse_rewrite r = {.f = f, .out = out, .last_retry = -1};
    int rc;

    wdn__sse_init(&r.ps, WDN_SSE_MAX_EVENT_BYTES);
    rc = wdn__sse_feed(&r.ps, body.p, body.len, on_sse_event, &r);
    /* An id or retry announced after the last event still counts for a reconnection. */
    if (rc == 0 && strcmp(r.ps.id, r.last_id) != 0)
        rc = wdn_buf_printf(out, "id: %s\n\n", r.ps.id);
    if (rc == 0 && r.ps.retry_ms >= 0 && r.ps.retry_ms != r.last_retry)
        rc = wdn_buf_printf(out, "retry: %ld\n\n", r.ps.retry_ms);
    wdn__sse_reset(&r.ps);
    if (rc == 0 && !r.changed)
        rc = 1;
    return rc;
}

int wdn__sc_mcp_filter(const struct wdn_tool_policy *p, const char *caller,
                       const struct wdn_tool_auth *auth, struct wdn_str content_type,
                       struct wdn_str body, struct wdn_buf *out)
{
    struct filter f = {.p = p, .caller = caller, .auth = auth};
    bool changed;
    int rc;

    if (body.len == 0)
        return 1;
    if (wdn_str_has_prefix(content_type, WDN_STR("text/event-stream")))
        return filter_sse(&f, body, out);
    rc = filter_json(&f, body.p, body.len, out, &changed);
    if (rc == 0 && !changed)
        rc = 1;
    return rc;
}

/* ---- On a request ------------------------------------------------------------------------ */

struct mcp_ctx {
    struct wdn__sc_rq *rq;
    struct wdn__sc_cfg *cfg; /* one reference, released when done */
    struct wdn__sc_mcp_req r;
    struct wdn_tool_auth auth;
    struct wdn__sc_fwd fwd;
    struct wdn_str body;
    const char *base[WDN_POLICY_MAX_SCOPES]; /* r.base_scopes (borrowed from cfg's pipelines) */
};

/* The scopes every token needs on this route before the tool policy asks for more: the
 * requiredScopes of the bearer handlers the request passed (the httpPipeline's on the API port,
 * then the app pipeline's), so that a step-up challenge names the union and a client asking
 * for exactly those scopes is not refused by the bearer next. */
static void base_scopes(struct mcp_ctx *m)
{
    const struct wdn_pipeline *ps[2] = {
        m->rq->port == WDN__SC_PORT_API ? m->cfg->http_pipeline : NULL,
        m->cfg->app_pipeline,
    };
    struct wdn_pipeline_resource pr;
    size_t n = 0;

    for (size_t i = 0; i < 2; i++) {
        if (ps[i] == NULL || !wdn_pipeline_resource(ps[i], &pr))
            continue;
        for (size_t j = 0; j < pr.n_scopes && n < WDN_POLICY_MAX_SCOPES; j++)
            m->base[n++] = pr.scopes[j]; /* duplicates go in wdn__sc_mcp_scope_list */
    }
    m->r.base_scopes = m->base;
    m->r.n_base_scopes = n;
}

static int transform(void *ud, struct wdn_str ctype, struct wdn_str body, struct wdn_buf *out)
{
    struct mcp_ctx *m = ud;
    int rc = wdn__sc_mcp_filter(m->cfg->mcp, m->r.caller, &m->auth, ctype, body, out);

    if (rc < 0)
        wdn_log_warn("mcpserver=%s the tools/list answer could not be read (%s): refused",
                     m->cfg->mcp_name, wdn_errname(rc));
    return rc;
}

static void release(void *ud)
{
    struct mcp_ctx *m = ud;
    wdn__sc_cfg_release(m->cfg);
    m->cfg = NULL;
}

/* A refusal as JSON: with scope set, the step-up challenge of RFC 6750 (insufficient_scope,
 * the scopes that would pass) pointing at this route's metadata document. */
static void refuse(struct wdn__sc_rq *rq, int status, const char *scope, struct wdn_str body)
{
    struct wdn_http_header h[2] = {wdn__sc_json_ct};
    size_t n = 1;
    char *v;

    if (scope && scope[0] &&
        (v = wdn__sc_fmt(rq->req, "Bearer error=\"insufficient_scope\", scope=\"%s\"", scope))) {
        h[n++] = (struct wdn_http_header){WDN_STR("WWW-Authenticate"), wdn_str_from_cstr(v)};
        wdn__sc_challenge_point(rq, h, n);
    }
    wdn__sc_respond(rq, status, h, n, body);
}

static void on_body(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    struct mcp_ctx *m = ud;
    struct wdn__sc_mcp_verdict v;
    struct wdn_buf answer;
    int rc;

    wdn_buf_init(&answer, WDN_HTTP_MAX_LINE_BYTES);
    if (status < 0) {
        if (status == WDN_ECLOSED) {
            wdn__sc_obs_end(m->rq, 0);
            wdn_http_resp_end(req);
        } else
            wdn__sc_error(m->rq, status == WDN_ELIMIT ? 413 : 400, "ERR_DIRECT_INVOKE",
                          status == WDN_ELIMIT ? "request body too large" : "bad request body");
        goto out;
    }
    int step = wdn__sc_obs_step(m->rq, "tool_policy");
    if (wdn__sc_mcp_decide(m->cfg->mcp, &m->r, body, &v, &answer) != 0) {
        wdn__sc_error(m->rq, 500, "ERR_DIRECT_INVOKE", "out of memory");
        goto out;
    }
    if (v.tool[0] || v.status) {
        const char *why = v.status == 0 ? "granted" : v.code;
        wdn__sc_obs_tool(m->rq, body, v.tool, v.status == 0);
        wdn__sc_obs_step_end(m->rq, step, v.status == 0, why);
        wdn__sc_audit_tool_policy(m->rq, v.status == 0, why, v.status);
    } else {
        wdn__sc_obs_step_end(m->rq, step, true, NULL);
    }
    if (v.status) {
        wdn_log_info("decision=deny mcpserver=%s caller=%s tool=\"%s\" reason=\"%s\"%s%s%s "
                     "status=%d",
                     m->cfg->mcp_name, m->r.caller, v.tool, v.reason ? v.reason : "-",
                     v.scope[0] ? " scope=\"" : "", v.scope, v.scope[0] ? "\"" : "", v.status);
        refuse(m->rq, v.status, v.scope, wdn_buf_str(&answer));
        goto out;
    }
    if (v.tool[0])
        wdn_log_debug("decision=allow mcpserver=%s caller=%s tool=\"%s\"", m->cfg->mcp_name,
                      m->r.caller, v.tool);
    m->body = body;
    m->fwd.body = &m->body;
    if (v.lists) {
        /* The rewrite holds the configuration until the response is done. */
        m->fwd.transform = transform;
        m->fwd.done = release;
        m->fwd.ud = m;
    }
    rc = wdn__sc_forward(m->rq, &m->fwd);
    if (rc)
        wdn__sc_error(m->rq, 500, "ERR_DIRECT_INVOKE",
                      "failed to invoke: the request could not be forwarded");
    wdn_buf_reset(&answer);
    if (v.lists)
        return; /* done released the configuration, or will */
    wdn__sc_cfg_release(m->cfg);
    return;
out:
    wdn_buf_reset(&answer);
    wdn__sc_cfg_release(m->cfg);
}

/* A caller no rule grants anything: 404 like an unknown endpoint, unless a token with more
 * scopes would be granted something, which is a step-up (403 insufficient_scope). */
static void no_grant(struct mcp_ctx *m)
{
    const char *need[WDN_POLICY_MAX_SCOPES];
    struct wdn__sc_mcp_verdict v = {0};
    size_t n = wdn_tool_policy_scopes_needed(m->cfg->mcp, m->r.caller, NULL, &m->auth, need,
                                             WDN_POLICY_MAX_SCOPES);
    char msg[1200];
    json_t *e;
    char *s;

    if (n == 0) {
        wdn__sc_audit_tool_policy(m->rq, false, "no_grant", 404);
        wdn_log_info("decision=deny mcpserver=%s caller=%s reason=no_grant status=404",
                     m->cfg->mcp_name, m->r.caller);
        wdn__sc_plain(m->rq, 404, "404 page not found\n");
        return;
    }
    wdn__sc_audit_tool_policy(m->rq, false, "insufficient_scope", 403);
    wdn__sc_mcp_scope_list(&m->r, need, n, v.scope, sizeof(v.scope));
    wdn_log_info("decision=deny mcpserver=%s caller=%s reason=insufficient_scope scope=\"%s\" "
                 "status=403",
                 m->cfg->mcp_name, m->r.caller, v.scope);
    wdn_fmt(msg, sizeof(msg), "insufficient scope: '%s' needs the scopes '%s'", m->r.caller,
            v.scope);
    e = wdn_jsonrpc_make_error(NULL, -32003, msg, NULL);
    s = e ? wdn_json_dumps(e, JSON_COMPACT) : NULL;
    refuse(m->rq, 403, v.scope, s ? wdn_str_from_cstr(s) : WDN_STR("{}"));
    free(s);
    json_decref(e);
}

void wdn__sc_mcp_check(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg, const char *caller,
                       const struct wdn_pipeline_out *auth, const struct wdn__sc_fwd *fwd)
{
    struct mcp_ctx *m = wdn_arena_calloc(wdn_http_req_arena(rq->req), sizeof(*m));

    if (m == NULL) {
        wdn__sc_error(rq, 500, "ERR_DIRECT_INVOKE", "out of memory");
        return;
    }
    m->rq = rq;
    m->cfg = cfg;
    atomic_fetch_add(&cfg->refs, 1);
    m->fwd = *fwd;
    /* The pipeline's scopes and claims are the policy's types: no conversion. */
    m->auth.scopes = (const char *const *)auth->scopes;
    m->auth.n_scopes = auth->n_scopes;
    m->auth.claims = auth->claims;
    m->auth.n_claims = auth->n_claims;
    m->r.caller = caller;
    m->r.auth = &m->auth;
    m->r.head = wdn_http_req_head(rq->req);
    base_scopes(m);
    if (!wdn_tool_policy_has_grant(cfg->mcp, caller, &m->auth)) {
        no_grant(m);
        wdn__sc_cfg_release(cfg);
        return;
    }
    if (wdn_http_req_read_all(rq->req, WDN_JSONRPC_MAX_BYTES, on_body, m) != 0) {
        wdn__sc_error(rq, 500, "ERR_DIRECT_INVOKE", "failed to read the request body");
        wdn__sc_cfg_release(cfg);
    }
}
