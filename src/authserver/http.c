/* The authorization server on the HTTP server: claims the issuer's paths, reads a bounded body,
 * runs wdn_issuer_handle in libuv's thread pool (scrypt and metadata document fetches take
 * tens of milliseconds to seconds and must not stall the loop), and answers on the loop. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "authserver/issuer.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/server.h"

struct issuer_handler {
    struct wdn_http_handler base; /* first: the server casts back to it */
    struct wdn_issuer *iss;
    wdn_issuer_log_fn log;
    void *log_ud;
};

/* One request on its way through the thread pool. The slices in ir point into the request,
 * which stays valid until it is answered. */
struct job {
    uv_work_t work;
    struct issuer_handler *h;
    struct wdn_http_req *req;
    struct wdn_issuer_request ir;
    char peer[INET6_ADDRSTRLEN];
    struct wdn_issuer_response resp;
    int rc;
};

static void job_free(struct job *j)
{
    wdn_issuer_response_reset(&j->resp);
    free(j);
}

static void respond(struct job *j)
{
    const struct wdn_issuer_response *r = &j->resp;
    struct wdn_http_header hdrs[5 + WDN_ISSUER_MAX_RESP_HEADERS];
    const struct wdn_http_request *head = wdn_http_req_head(j->req);
    size_t nh = 0;

    if (j->rc != 0) {
        wdn_http_respond(j->req, 500, NULL, 0, WDN_STR("internal error\n"));
        return;
    }
    hdrs[nh++] =
        (struct wdn_http_header){WDN_STR("Content-Type"), wdn_str_from_cstr(r->content_type)};
    hdrs[nh++] =
        (struct wdn_http_header){WDN_STR("Cache-Control"), wdn_str_from_cstr(r->cache_control)};
    if (r->pragma_no_cache)
        hdrs[nh++] = (struct wdn_http_header){WDN_STR("Pragma"), WDN_STR("no-cache")};
    if (r->www_authenticate[0])
        hdrs[nh++] = (struct wdn_http_header){WDN_STR("WWW-Authenticate"),
                                              wdn_str_from_cstr(r->www_authenticate)};
    if (r->allow)
        hdrs[nh++] = (struct wdn_http_header){WDN_STR("Allow"), wdn_str_from_cstr(r->allow)};
    for (size_t i = 0; i < r->nheaders; i++)
        hdrs[nh++] = (struct wdn_http_header){wdn_str_from_cstr(r->headers[i].name),
                                              wdn_str_from_cstr(r->headers[i].value)};
    if (j->h->log) {
        char m[16], p[128];
        wdn_fmt(m, sizeof(m), "%.*s", (int)(head->method.len < 15 ? head->method.len : 15),
                head->method.p);
        wdn_fmt(p, sizeof(p), "%.*s", (int)(head->path.len < 127 ? head->path.len : 127),
                head->path.p);
        struct wdn_issuer_log_event ev = {.method = m,
                                          .path = p,
                                          .event = r->event,
                                          .error = r->error,
                                          .client_id = r->client_id,
                                          .user = r->user,
                                          .peer = j->peer,
                                          .status = r->status};
        j->h->log(&ev, j->h->log_ud);
    }
    wdn_http_respond(j->req, r->status, hdrs, nh, wdn_buf_str(&r->body));
}

static void work(uv_work_t *w)
{
    struct job *j = w->data;

    j->rc = wdn_issuer_handle(j->h->iss, &j->ir, wdn_clock_unix(), &j->resp);
}

static void after_work(uv_work_t *w, int status)
{
    struct job *j = w->data;

    if (status != 0)
        j->rc = WDN_ECANCELED;
    respond(j);
    job_free(j);
}

static void submit(struct job *j)
{
    j->work.data = j;
    if (uv_queue_work(wdn_http_req_loop(j->req), &j->work, work, after_work) != 0) {
        work(&j->work); /* no pool: answer on the loop rather than not at all */
        after_work(&j->work, 0);
    }
}

static void on_body(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    struct job *j = ud;

    if (status == 0) {
        j->ir.body = body;
    } else if (status == WDN_ELIMIT) {
        j->ir.body_too_large = true;
    } else {
        /* The client went away or broke the framing: end the request quietly. */
        wdn_http_respond(req, 400, NULL, 0, WDN_STR("bad request body\n"));
        job_free(j);
        return;
    }
    submit(j);
}

static void peer_text(struct wdn_http_req *req, char *out, size_t cap)
{
    struct sockaddr_storage ss;

    out[0] = '\0';
    if (wdn_http_req_peer(req, &ss) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)cap);
}

static int on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct issuer_handler *h = (struct issuer_handler *)self;
    const struct wdn_http_request *head = wdn_http_req_head(req);
    struct job *j;
    size_t nauth = 0;

    if (!wdn_issuer_owns_path(h->iss, head->path))
        return WDN_HTTP_DECLINED;
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        wdn_http_respond(req, 500, NULL, 0, WDN_STR("internal error\n"));
        return 0;
    }
    j->h = h;
    j->req = req;
    j->ir.method = head->method;
    j->ir.path = head->path;
    j->ir.query = head->query;
    for (size_t i = 0; i < head->nheaders; i++) {
        const struct wdn_http_header *x = &head->headers[i];
        if (wdn_str_eq_case_cstr(x->name, "authorization")) {
            j->ir.authorization = x->value;
            nauth++;
        } else if (wdn_str_eq_case_cstr(x->name, "content-type")) {
            j->ir.content_type = x->value;
        } else if (wdn_str_eq_case_cstr(x->name, "cookie") && j->ir.cookie.len == 0) {
            j->ir.cookie = x->value;
        } else if (wdn_str_eq_case_cstr(x->name, "origin")) {
            j->ir.origin = x->value;
        }
    }
    j->ir.has_authorization = nauth > 0;
    j->ir.repeated_auth_header = nauth > 1;
    peer_text(req, j->peer, sizeof(j->peer));
    j->ir.peer = j->peer;
    if (!wdn_http_req_has_body(req)) {
        submit(j);
        return 0;
    }
    if (wdn_http_req_read_all(req, WDN_ISSUER_MAX_BODY_BYTES, on_body, j) != 0) {
        wdn_http_respond(req, 500, NULL, 0, WDN_STR("internal error\n"));
        job_free(j);
    }
    return 0;
}

struct wdn_http_handler *wdn_issuer_http_handler_new(struct wdn_issuer *iss, wdn_issuer_log_fn log,
                                                     void *log_ud)
{
    struct issuer_handler *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->base.on_req = on_req;
    h->iss = iss;
    h->log = log;
    h->log_ud = log_ud;
    return &h->base;
}

void wdn_issuer_http_handler_free(struct wdn_http_handler *h)
{
    free(h);
}
