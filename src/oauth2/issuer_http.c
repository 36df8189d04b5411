/* The issuer on the HTTP server: reads a bounded body, hands the request to wdn_issuer_handle
 * and writes its answer. */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/server.h"
#include "oauth2/issuer.h"

struct issuer_handler {
    struct wdn_http_handler base; /* first: the server casts back to it */
    struct wdn_issuer *iss;
    wdn_issuer_log_fn log;
    void *log_ud;
};

static void answer(struct issuer_handler *h, struct wdn_http_req *req, struct wdn_str body,
                   bool too_large)
{
    const struct wdn_http_request *head = wdn_http_req_head(req);
    struct wdn_issuer_request ir = {.method = head->method, .path = head->path, .body = body,
                                    .body_too_large = too_large};
    struct wdn_issuer_response resp;
    struct wdn_http_header hdrs[5];
    size_t nh = 0, nauth = 0;
    int rc;

    for (size_t i = 0; i < head->nheaders; i++) {
        const struct wdn_http_header *x = &head->headers[i];
        if (wdn_str_eq_case_cstr(x->name, "authorization")) {
            ir.authorization = x->value;
            nauth++;
        } else if (wdn_str_eq_case_cstr(x->name, "content-type")) {
            ir.content_type = x->value;
        }
    }
    ir.has_authorization = nauth > 0;
    ir.repeated_auth_header = nauth > 1;
    rc = wdn_issuer_handle(h->iss, &ir, wdn_clock_unix(), &resp);
    if (rc != 0) {
        wdn_http_respond(req, 500, NULL, 0, WDN_STR("internal error\n"));
        goto out;
    }
    hdrs[nh++] = (struct wdn_http_header){WDN_STR("Content-Type"),
                                          wdn_str_from_cstr(resp.content_type)};
    hdrs[nh++] = (struct wdn_http_header){WDN_STR("Cache-Control"),
                                          wdn_str_from_cstr(resp.cache_control)};
    if (resp.pragma_no_cache)
        hdrs[nh++] = (struct wdn_http_header){WDN_STR("Pragma"), WDN_STR("no-cache")};
    if (resp.www_authenticate[0])
        hdrs[nh++] = (struct wdn_http_header){WDN_STR("WWW-Authenticate"),
                                              wdn_str_from_cstr(resp.www_authenticate)};
    if (resp.allow)
        hdrs[nh++] = (struct wdn_http_header){WDN_STR("Allow"), wdn_str_from_cstr(resp.allow)};
    if (h->log && wdn_str_eq_cstr(head->path, WDN_ISSUER_TOKEN_PATH)) {
        char m[16], p[64];
        wdn_fmt(m, sizeof(m), "%.*s", (int)(head->method.len < 15 ? head->method.len : 15),
                head->method.p);
        wdn_fmt(p, sizeof(p), "%s", WDN_ISSUER_TOKEN_PATH);
        h->log(m, p, resp.status, resp.error, resp.client_id, h->log_ud);
    }
    wdn_http_respond(req, resp.status, hdrs, nh, wdn_buf_str(&resp.body));
out:
    wdn_issuer_response_reset(&resp);
}

static void on_body(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    struct issuer_handler *h = ud;

    if (status == 0) {
        answer(h, req, body, false);
    } else if (status == WDN_ELIMIT) {
        answer(h, req, (struct wdn_str){NULL, 0}, true);
    } else {
        /* The client went away or broke the framing: end the request quietly. */
        wdn_http_respond(req, 400, NULL, 0, WDN_STR("bad request body\n"));
    }
}

static int on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct issuer_handler *h = (struct issuer_handler *)self;
    const struct wdn_http_request *head = wdn_http_req_head(req);

    if (!wdn_str_eq_cstr(head->path, WDN_ISSUER_TOKEN_PATH) &&
        !wdn_str_eq_cstr(head->path, WDN_ISSUER_JWKS_PATH) &&
        !wdn_str_eq_cstr(head->path, "/.well-known/openid-configuration") &&
        !wdn_str_eq_cstr(head->path, "/.well-known/oauth-authorization-server"))
        return WDN_HTTP_DECLINED;
    if (!wdn_http_req_has_body(req)) {
        answer(h, req, (struct wdn_str){NULL, 0}, false);
        return 0;
    }
    if (wdn_http_req_read_all(req, WDN_ISSUER_MAX_BODY_BYTES, on_body, h) != 0)
        wdn_http_respond(req, 500, NULL, 0, WDN_STR("internal error\n"));
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
