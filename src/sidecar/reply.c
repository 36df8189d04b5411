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
#include "base/json_dump.h"
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
    char *s = o ? wdn_json_dumps(o, JSON_COMPACT) : NULL;
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
