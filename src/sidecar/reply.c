/* Every answer the sidecar writes itself: Dapr's error JSON, plain text, and any prepared
 * response, each counted in the metrics; and the request context those answers need. The
 * forwarding and MCP files answer through here, never through the port handlers. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "sidecar/internal.h"

const struct wdn_http_header wdn__sc_json_ct = {{"Content-Type", 12}, {"application/json", 16}};
const struct wdn_http_header wdn__sc_plain_ct = {{"Content-Type", 12},
                                                 {"text/plain; charset=utf-8", 25}};

struct wdn__sc_rq *wdn__sc_rq_new(struct wdn__sc_listener *l, struct wdn_http_req *req)
{
    struct wdn__sc_rq *rq = wdn_arena_alloc(wdn_http_req_arena(req), sizeof(*rq));

    if (rq == NULL)
        return NULL;
    rq->sc = l->sc;
    rq->l = l;
    rq->req = req;
    rq->port = l->port_kind;
    rq->t0 = wdn_clock_mono_ns();
    rq->obs = NULL;
    return rq;
}

uint64_t wdn__sc_next_id(struct wdn_sidecar *sc)
{
    return atomic_fetch_add_explicit(&sc->next_req_id, 1, memory_order_relaxed) + 1;
}

void wdn__sc_respond(struct wdn__sc_rq *rq, int status, const struct wdn_http_header *h, size_t n,
                     struct wdn_str body)
{
    wdn__sc_metrics_request(rq->sc, rq->port, status, rq->t0);
    wdn__sc_obs_end(rq, status);
    wdn_http_respond(rq->req, status, h, n, body);
}

void wdn__sc_plain(struct wdn__sc_rq *rq, int status, const char *text)
{
    wdn__sc_respond(rq, status, &wdn__sc_plain_ct, 1, wdn_str_from_cstr(text));
}

int wdn__sc_error_json(struct wdn_buf *out, const char *code, const char *msg)
{
    json_t *o = json_pack("{s:s, s:s}", "errorCode", code, "message", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int rc = s ? wdn_buf_append_cstr(out, s) : WDN_ENOMEM;

    free(s);
    json_decref(o);
    return rc;
}

void wdn__sc_error(struct wdn__sc_rq *rq, int status, const char *code, const char *msg)
{
    struct wdn_buf b;

    wdn_buf_init(&b, WDN_HTTP_MAX_LINE_BYTES);
    if (wdn__sc_error_json(&b, code, msg) == 0)
        wdn__sc_respond(rq, status, &wdn__sc_json_ct, 1, wdn_buf_str(&b));
    else
        wdn__sc_plain(rq, 500, "Internal Server Error");
    wdn_buf_reset(&b);
}

char *wdn__sc_fmt(struct wdn_http_req *req, const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (p = wdn_arena_alloc(wdn_http_req_arena(req), (size_t)n + 1)) == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* ---- Challenges point at the metadata document (RFC 9728 section 5.1) ------------------- */

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
