/* The routes of the API port as clients name them (/v1.0/invoke/<app>/method/<path>,
 * /v1.0/mcp/<name>), and their public identity as an OAuth resource server: the resource URI a
 * client reached (RFC 8707 / RFC 9728: the configured `resource`, else this sidecar's listen
 * address and the route, never the request's Host header) and the URL of the route's metadata
 * document. Shared by the metadata documents (prm.c), challenges (reply.c) and the pipelines'
 * audience binding (invoke.c). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "sidecar/internal.h"

int wdn__sc_parse_invoke(struct wdn_str path, struct wdn_str *id, struct wdn_str *method)
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

/* Percent-decodes an app ID segment into buf; strips the ".<namespace>" suffix of this sidecar's
 * own namespace (Dapr's "app.namespace" form). Another namespace is refused: cross-namespace
 * invocation is not supported, and sending it to a same-named app here would be wrong. */
int wdn__sc_decode_app_id(struct wdn_str s, const char *ns, char *buf, size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c == '%') {
            int hi = i + 2 < s.len ? wdn_hex_value((unsigned char)s.p[i + 1]) : -1;
            int lo = i + 2 < s.len ? wdn_hex_value((unsigned char)s.p[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return WDN_EINVAL;
            c = (char)(hi * 16 + lo);
            i += 2;
            /* %00 would end the decoded ID early: "ap%00p" must not name app "ap". */
            if (c == '\0')
                return WDN_EINVAL;
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

int wdn__sc_append_path(struct wdn_buf *b, const char *p)
{
    static const char keep[] = "-._~/!$&'()*+,;=:@";
    int rc = 0;

    for (; *p && rc == 0; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr(keep, c))
            rc = wdn_buf_append(b, p, 1);
        else
            rc = wdn_buf_printf(b, "%%%02X", c);
    }
    return rc;
}

int wdn__sc_route_parse(struct wdn__sc_rq *rq, const struct wdn__sc_cfg *cfg, struct wdn_str path,
                        struct wdn__sc_route *out)
{
    struct wdn_str id, m;

    out->mcp = false;
    out->name = NULL;
    out->app[0] = out->rpath[0] = out->method[0] = '\0';
    if (wdn_str_has_prefix(path, WDN_STR("/v1.0/mcp/"))) {
        struct wdn_str n = {path.p + 10, path.len - 10};
        for (size_t i = 0; i < cfg->n_mcp_routes; i++) {
            const struct wdn__sc_mcp_route *r = &cfg->mcp_routes[i];
            if (!wdn_str_eq_cstr(n, r->name))
                continue;
            out->mcp = true;
            out->name = wdn_arena_strdup(wdn_http_req_arena(rq->req), n);
            if (out->name == NULL || wdn_fmt(out->app, sizeof(out->app), "%s", r->app_id) != 0 ||
                wdn_fmt(out->method, sizeof(out->method), "%s", r->path) != 0 ||
                wdn_fmt(out->rpath, sizeof(out->rpath), "/v1.0/mcp/%s", r->name) != 0)
                return WDN_ENOTFOUND;
            return 0;
        }
        return WDN_ENOTFOUND;
    }
    if (wdn__sc_parse_invoke(path, &id, &m) != 0 ||
        wdn__sc_decode_app_id(id, rq->sc->ns, out->app, sizeof(out->app)) != 0 ||
        wdn_acl_normalize(m.p, m.len, out->method, sizeof(out->method)) != 0 ||
        wdn_fmt(out->rpath, sizeof(out->rpath), "/v1.0/invoke/%s/method", out->app) != 0)
        return WDN_ENOTFOUND;
    out->name = wdn_arena_strdup(wdn_http_req_arena(rq->req), wdn_str_from_cstr(out->app));
    return out->name ? 0 : WDN_ENOTFOUND;
}

const char *wdn__sc_route_resource(struct wdn__sc_rq *rq, const struct wdn__sc_route *r,
                                   const char *configured)
{
    struct wdn_buf b;
    char *s = NULL;

    if (configured)
        return configured;
    wdn_buf_init(&b, WDN_HTTP_MAX_LINE_BYTES);
    if (wdn_buf_append_cstr(&b, rq->sc->api_origin) == 0 &&
        (r == NULL || wdn_buf_append_cstr(&b, r->rpath) == 0) &&
        (r == NULL || r->mcp || wdn__sc_append_path(&b, r->method) == 0))
        s = wdn_arena_strdup(wdn_http_req_arena(rq->req), wdn_buf_str(&b));
    wdn_buf_reset(&b);
    return s;
}

const char *wdn__sc_request_resource(struct wdn__sc_rq *rq, const struct wdn__sc_cfg *cfg)
{
    const struct wdn_http_request *head = wdn_http_req_head(rq->req);
    struct wdn__sc_route *r;
    const char *res;

    if (rq->port == WDN__SC_PORT_INTERNAL) {
        /* The caller's sidecar says where its client reached the app (mTLS: a sidecar of the
         * project, which strips this header from what its clients send). */
        const struct wdn_http_header *h =
            wdn_http_req_header(rq->req, WDN_STR(WDN__SC_RESOURCE_HEADER));
        return h ? wdn_arena_strdup(wdn_http_req_arena(rq->req), h->value) : NULL;
    }
    r = malloc(sizeof(*r)); /* large: not on the worker's stack */
    if (r == NULL)
        return NULL;
    res = wdn__sc_route_parse(rq, cfg, head->path, r) == 0 ? wdn__sc_route_resource(rq, r, NULL)
                                                           : NULL;
    free(r);
    return res;
}

/* True for a path that may go into a quoted challenge parameter and a URL as it is. */
static bool quotable_path(struct wdn_str p)
{
    for (size_t i = 0; i < p.len; i++)
        if ((unsigned char)p.p[i] <= 0x20 || (unsigned char)p.p[i] >= 0x7f || p.p[i] == '"' ||
            p.p[i] == '\\')
            return false;
    return true;
}

const char *wdn__sc_metadata_url(struct wdn__sc_rq *rq)
{
    const struct wdn_http_request *head = wdn_http_req_head(rq->req);

    if (rq->port != WDN__SC_PORT_API || rq->sc->api_origin[0] == '\0' ||
        !(wdn_str_has_prefix(head->path, WDN_STR("/v1.0/invoke/")) ||
          wdn_str_has_prefix(head->path, WDN_STR("/v1.0/mcp/"))) ||
        !quotable_path(head->path))
        return NULL;
    return wdn__sc_fmt(rq->req, "%s" WDN__SC_PRM_PREFIX "%.*s", rq->sc->api_origin,
                       WDN_STR_FMT(head->path));
}

/* ---- Challenges point at the metadata document (RFC 9728 section 5.1) ------------------- */

void wdn__sc_challenge_point(struct wdn__sc_rq *rq, struct wdn_http_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct wdn_str v = h[i].value;
        const char *url, *nv;

        if (!wdn_str_eq_case_cstr(h[i].name, "www-authenticate") || v.len < 6 ||
            !wdn_str_eq_case((struct wdn_str){v.p, 6}, WDN_STR("Bearer")) ||
            (v.len > 6 && v.p[6] != ' ') || memmem(v.p, v.len, "resource_metadata=", 18) != NULL)
            continue;
        url = wdn__sc_metadata_url(rq);
        if (url == NULL)
            return;
        nv = wdn__sc_fmt(rq->req, "%.*s%sresource_metadata=\"%s\"", WDN_STR_FMT(v),
                         wdn_str_trim_ows((struct wdn_str){v.p + 6, v.len - 6}).len ? ", " : " ",
                         url);
        if (nv)
            h[i].value = wdn_str_from_cstr(nv);
    }
}
