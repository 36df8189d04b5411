/* The internal (mTLS) port, where peer sidecars deliver invocations of this app: the caller is
 * the SPIFFE ID in the verified client certificate, read by the strict parser of src/pki (never
 * a header), access control (Configuration.accessControl) decides, then the app pipeline and
 * the app. */
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "http/tls.h"
#include "sidecar/internal.h"

int wdn__sc_caller_parse(struct wdn_str spiffe_id, struct wdn__sc_caller *out)
{
    struct wdn_pki_spiffe_id parts;
    struct wdn_str v[3];
    char *p = out->buf;

    memset(&out->acl, 0, sizeof(out->acl));
    if (wdn_pki_spiffe_parse(spiffe_id, &parts, NULL) != 0)
        return WDN_EPARSE;
    v[0] = parts.trust_domain;
    v[1] = parts.ns;
    v[2] = parts.app_id;
    /* The three parts are shorter than the whole ID, which the parser bounded. */
    for (int i = 0; i < 3; i++) {
        memcpy(p, v[i].p, v[i].len);
        p[v[i].len] = '\0';
        if (i == 0)
            out->acl.trust_domain = p;
        else if (i == 1)
            out->acl.ns = p;
        else
            out->acl.app_id = p;
        p += v[i].len + 1;
    }
    return 0;
}

int wdn__sc_peer_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct wdn_sidecar *sc = ((struct wdn__sc_listener *)self)->sc;
    const struct wdn_http_request *head = wdn_http_req_head(req);
    struct wdn__sc_rq *rq = wdn__sc_rq_new((struct wdn__sc_listener *)self, req);
    struct wdn_tls *tls = wdn_http_req_tls(req);
    struct wdn__sc_cfg *cfg = NULL;
    struct wdn__sc_caller caller;
    struct wdn_acl_decision dec;
    struct wdn_str sid, id, method;
    const char *cid;
    char verb[WDN_HTTP_MAX_METHOD_BYTES + 1], msg[1024], deny[900];

    if (rq == NULL) {
        wdn_http_respond(req, 500, &wdn__sc_plain_ct, 1, WDN_STR("Internal Server Error"));
        return 0;
    }
    /* The server requires a verified client certificate from the project CA; the SPIFFE ID in
     * it is the only caller identity the access control trusts. */
    bool identified = tls != NULL && wdn_tls_peer_spiffe_id(tls, &sid) == 0 &&
                      wdn__sc_caller_parse(sid, &caller) == 0;
    cfg = wdn__sc_cfg_get(sc);
    wdn__sc_obs_begin(rq, cfg, identified ? sid : (struct wdn_str){NULL, 0});
    if (!identified) {
        struct wdn_audit_event ev = {
            .kind = WDN_AUDIT_ACCESS_CONTROL, .reason = "no_spiffe_identity", .status = 403};
        wdn__sc_audit(rq, &ev);
        wdn_log_info("decision=deny req=%llu reason=no_spiffe_identity status=403",
                     (unsigned long long)wdn__sc_next_id(sc));
        wdn__sc_error(rq, 403, "ERR_DIRECT_INVOKE",
                      "the caller did not present a valid workload identity");
        goto out;
    }
    if (wdn_str_has_prefix(head->path, WDN_STR(WDN__SC_PRM_PREFIX "/v1.0/invoke/"))) {
        /* A peer asks how this app is guarded, for its client (public metadata: no ACL). */
        struct wdn_str route = {head->path.p + sizeof(WDN__SC_PRM_PREFIX) - 1,
                                head->path.len - (sizeof(WDN__SC_PRM_PREFIX) - 1)};
        if (wdn__sc_parse_invoke(route, &id, &method) != 0 || !wdn_str_eq_cstr(id, sc->app_id))
            wdn__sc_plain(rq, 404, "404 page not found\n");
        else
            wdn__sc_prm_peer(rq, cfg, method);
        goto out;
    }
    if (wdn__sc_parse_invoke(head->path, &id, &method) != 0 || !wdn_str_eq_cstr(id, sc->app_id)) {
        wdn__sc_error(rq, 404, "ERR_DIRECT_INVOKE",
                      "this sidecar does not serve the requested app ID");
        goto out;
    }
    wdn_fmt(verb, sizeof(verb), "%.*s", WDN_STR_FMT(head->method));
    int step = cfg->acl ? wdn__sc_obs_step(rq, "access_control") : -1;
    wdn_acl_eval(cfg->acl, &caller.acl, verb, method.p, method.len, &dec);
    atomic_fetch_add_explicit(&sc->m.acl[dec.allowed ? 1 : 0][dec.by < 5 ? dec.by : 0], 1,
                              memory_order_relaxed);
    if (cfg->acl || !dec.allowed) {
        static const char *const by_code[] = {"no_access_control", "global_default", "app_default",
                                              "operation", "invalid_operation"};
        struct wdn_audit_event ev = {.kind = WDN_AUDIT_ACCESS_CONTROL,
                                     .allowed = dec.allowed,
                                     .reason = dec.by < 5 ? by_code[dec.by] : "unknown",
                                     .status = dec.allowed ? 0 : 403};
        wdn__sc_obs_step_end(rq, step, dec.allowed, ev.reason);
        wdn__sc_audit(rq, &ev);
    }
    if (!dec.allowed) {
        char op[WDN_POLICY_MAX_OP_BYTES];
        if (wdn_acl_normalize(method.p, method.len, op, sizeof(op)) != 0)
            wdn_fmt(op, sizeof(op), "%.*s", WDN_STR_FMT(method));
        wdn_acl_deny_message(&caller.acl, op[0] == '/' ? op + 1 : op, verb, deny, sizeof(deny));
        wdn_fmt(msg, sizeof(msg),
                "failed to invoke, id: %s, err: rpc error: code = PermissionDenied desc = %s",
                sc->app_id, deny);
        wdn_log_info("decision=deny req=%llu acl=\"%s\" policy=%s operation=%s caller=%s verb=%s "
                     "path=%.*s status=403",
                     (unsigned long long)wdn__sc_next_id(sc), dec.reason ? dec.reason : "-",
                     dec.policy_app_id ? dec.policy_app_id : "-",
                     dec.operation ? dec.operation : "-", caller.acl.app_id, verb,
                     WDN_STR_FMT(head->path));
        wdn__sc_error(rq, 403, "ERR_DIRECT_INVOKE", msg);
        goto out;
    }
    wdn_log_debug("decision=allow acl=\"%s\" caller=%s verb=%s", dec.reason ? dec.reason : "-",
                  caller.acl.app_id, verb);
    /* The caller's app ID outlives this frame (the MCP guard reads the body later). */
    cid = wdn_arena_strdup(wdn_http_req_arena(req), wdn_str_from_cstr(caller.acl.app_id));
    if (cid == NULL) {
        wdn__sc_error(rq, 500, "ERR_DIRECT_INVOKE", "out of memory");
        goto out;
    }
    wdn__sc_invoke_app(rq, cfg, cid, method, NULL);
out:
    wdn__sc_cfg_release(cfg);
    return 0;
}
