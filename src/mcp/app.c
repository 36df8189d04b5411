/* The app host of include/warden/app.h: routes whose handlers run on libuv's pool, the MCP
 * endpoint through http_adapter.c, and outbound calls through http/fetch.h. */
#include "base/json_dump.h"
#include "warden/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/error.h"
#include "base/str.h"
#include "http/fetch.h"
#include "http/server.h"
#include "mcp/http_adapter.h"

#define MAX_ROUTES 32
#define DEFAULT_MAX_BODY (1024 * 1024)
#define DEFAULT_FETCH_TIMEOUT_MS 30000
#define FETCH_MAX_RESPONSE (4 * 1024 * 1024)

struct route {
    char *method; /* NULL: any */
    char *path;
    wdn_app_fn fn;
    void *ud;
};

struct wdn_app {
    struct wdn_app_config cfg;
    char listen[96];
    struct route routes[MAX_ROUTES];
    size_t nroutes;
    char *mcp_path;
    struct wdn_mcp_http_handler mcp;
    struct wdn_http_handler log, router;
    struct wdn_http_handler *chain[3];
    struct wdn_http_server *srv;
};

/* A header value copied for the handler; freed with the request. */
struct hcopy {
    struct hcopy *next;
    char value[];
};

struct wdn_app_req {
    struct wdn_http_req *req;
    const struct route *route;
    uv_work_t work;
    char *method, *path;
    struct wdn_str body;
    struct hcopy *copies;
    int status; /* 0 until the handler answers */
    char *ctype;
    char *answer;
    size_t answer_len;
};

struct wdn_app *wdn_app_new(const struct wdn_app_config *cfg)
{
    struct wdn_app *app;

    if (cfg == NULL || cfg->port < 0 || cfg->port > 65535 || cfg->workers < 0)
        return NULL;
    app = calloc(1, sizeof(*app));
    if (app == NULL)
        return NULL;
    app->cfg = *cfg;
    if (app->cfg.workers == 0)
        app->cfg.workers = 1;
    if (app->cfg.max_body == 0)
        app->cfg.max_body = DEFAULT_MAX_BODY;
    if (strchr(cfg->host ? cfg->host : "", ':') != NULL)
        snprintf(app->listen, sizeof(app->listen), "[%s]:%d", cfg->host, cfg->port);
    else
        snprintf(app->listen, sizeof(app->listen), "%s:%d", cfg->host ? cfg->host : "127.0.0.1",
                 cfg->port);
    app->cfg.host = NULL; /* not kept: the listen string holds it */
    return app;
}

int wdn_app_route(struct wdn_app *app, const char *method, const char *path, wdn_app_fn fn,
                  void *ud)
{
    struct route *r;

    if (app == NULL || fn == NULL || app->srv != NULL)
        return WDN_EINVAL;
    if (app->nroutes >= MAX_ROUTES)
        return WDN_ELIMIT;
    r = &app->routes[app->nroutes];
    r->method = method != NULL ? strdup(method) : NULL;
    r->path = path != NULL ? strdup(path) : NULL;
    if ((method != NULL && r->method == NULL) || (path != NULL && r->path == NULL)) {
        free(r->method);
        free(r->path);
        return WDN_ENOMEM;
    }
    r->fn = fn;
    r->ud = ud;
    app->nroutes++;
    return 0;
}

int wdn_app_mcp(struct wdn_app *app, const char *path, struct wdn_mcp_server *srv, bool run_inline)
{
    if (app == NULL || path == NULL || srv == NULL || app->srv != NULL || app->mcp_path != NULL)
        return WDN_EINVAL;
    app->mcp_path = strdup(path);
    if (app->mcp_path == NULL)
        return WDN_ENOMEM;
    wdn_mcp_http_handler_init(&app->mcp, srv, app->mcp_path, run_inline);
    return 0;
}

/* ---- Routes ------------------------------------------------------------------------------ */

static void req_free(struct wdn_app_req *r)
{
    while (r->copies != NULL) {
        struct hcopy *c = r->copies;
        r->copies = c->next;
        free(c);
    }
    free(r->method);
    free(r->path);
    free(r->ctype);
    free(r->answer);
    free(r);
}

static void run_route(uv_work_t *w)
{
    struct wdn_app_req *r = w->data;
    int rc = r->route->fn(r, r->route->ud);

    if (rc < 0 && r->status == 0)
        r->status = 500;
}

static void route_done(uv_work_t *w, int status)
{
    struct wdn_app_req *r = w->data;
    struct wdn_http_header h[1];
    size_t nh = 0;

    (void)status;
    if (r->status == 0) {
        wdn_http_respond(r->req, 500, NULL, 0, WDN_STR(""));
    } else {
        if (r->ctype != NULL)
            h[nh++] =
                (struct wdn_http_header){WDN_STR("Content-Type"), wdn_str_from_cstr(r->ctype)};
        wdn_http_respond(r->req, r->status, h, nh,
                         (struct wdn_str){r->answer ? r->answer : "", r->answer_len});
    }
    req_free(r);
}

static void start_route(struct wdn_app_req *r)
{
    r->work.data = r;
    if (uv_queue_work(wdn_http_req_loop(r->req), &r->work, run_route, route_done) != 0) {
        wdn_http_respond(r->req, 503, NULL, 0, WDN_STR(""));
        req_free(r);
    }
}

static void on_body(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    struct wdn_app_req *r = ud;

    if (status < 0) {
        wdn_http_respond(req, status == WDN_ELIMIT ? 413 : 400, NULL, 0, WDN_STR(""));
        req_free(r);
        return;
    }
    r->body = body;
    start_route(r);
}

static int route_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct wdn_app *app = (struct wdn_app *)((char *)self - offsetof(struct wdn_app, router));
    const struct wdn_http_request *head = wdn_http_req_head(req);
    const struct route *route = NULL;
    struct wdn_app_req *r;
    size_t i;

    for (i = 0; i < app->nroutes && route == NULL; i++)
        if ((app->routes[i].path == NULL || wdn_str_eq_cstr(head->path, app->routes[i].path)) &&
            (app->routes[i].method == NULL || wdn_str_eq_cstr(head->method, app->routes[i].method)))
            route = &app->routes[i];
    if (route == NULL)
        return WDN_HTTP_DECLINED;
    r = calloc(1, sizeof(*r));
    if (r != NULL) {
        r->method = strndup(head->method.p, head->method.len);
        r->path = strndup(head->path.p, head->path.len);
    }
    if (r == NULL || r->method == NULL || r->path == NULL) {
        if (r != NULL)
            req_free(r);
        wdn_http_respond(req, 503, NULL, 0, WDN_STR(""));
        return 0;
    }
    r->req = req;
    r->route = route;
    r->body = WDN_STR("");
    if (wdn_http_req_has_body(req))
        wdn_http_req_read_all(req, app->cfg.max_body, on_body, r);
    else
        start_route(r);
    return 0;
}

static int log_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct wdn_app *app = (struct wdn_app *)((char *)self - offsetof(struct wdn_app, log));
    const struct wdn_http_request *head = wdn_http_req_head(req);
    char method[16], path[512];

    if (app->cfg.on_request != NULL) {
        snprintf(method, sizeof(method), "%.*s", WDN_STR_FMT(head->method));
        snprintf(path, sizeof(path), "%.*s", WDN_STR_FMT(head->path));
        app->cfg.on_request(app->cfg.ud, method, path);
    }
    return WDN_HTTP_DECLINED;
}

/* ---- Life cycle -------------------------------------------------------------------------- */

int wdn_app_start(struct wdn_app *app)
{
    struct wdn_http_server_config cfg;
    size_t n = 0;

    if (app == NULL || app->srv != NULL)
        return WDN_EINVAL;
    app->log.on_req = log_req;
    app->router.on_req = route_req;
    app->chain[n++] = &app->log;
    if (app->mcp_path != NULL)
        app->chain[n++] = &app->mcp.base; /* before the routes: a route may match any path */
    app->chain[n++] = &app->router;
    memset(&cfg, 0, sizeof(cfg));
    cfg.listen = app->listen;
    cfg.workers = app->cfg.workers;
    cfg.handlers = app->chain;
    cfg.nhandlers = n;
    cfg.shutdown_grace_ms = 2000;
    return wdn_http_server_start(&cfg, &app->srv);
}

int wdn_app_port(const struct wdn_app *app)
{
    return app != NULL && app->srv != NULL ? wdn_http_server_port(app->srv) : -1;
}

void wdn_app_stop(struct wdn_app *app)
{
    if (app != NULL && app->srv != NULL)
        wdn_http_server_stop(app->srv);
}

void wdn_app_free(struct wdn_app *app)
{
    size_t i;

    if (app == NULL)
        return;
    wdn_http_server_free(app->srv);
    for (i = 0; i < app->nroutes; i++) {
        free(app->routes[i].method);
        free(app->routes[i].path);
    }
    free(app->mcp_path);
    free(app);
}

/* ---- In a handler ------------------------------------------------------------------------ */

const char *wdn_app_req_method(const struct wdn_app_req *req)
{
    return req->method;
}

const char *wdn_app_req_path(const struct wdn_app_req *req)
{
    return req->path;
}

const char *wdn_app_req_header(struct wdn_app_req *req, const char *name)
{
    const struct wdn_http_header *h = wdn_http_req_header(req->req, wdn_str_from_cstr(name));
    struct hcopy *c;

    if (h == NULL)
        return NULL;
    c = malloc(sizeof(*c) + h->value.len + 1);
    if (c == NULL)
        return NULL;
    memcpy(c->value, h->value.p, h->value.len);
    c->value[h->value.len] = '\0';
    c->next = req->copies;
    req->copies = c;
    return c->value;
}

const char *wdn_app_req_body(const struct wdn_app_req *req, size_t *len)
{
    if (len != NULL)
        *len = req->body.len;
    return req->body.len > 0 ? req->body.p : "";
}

int wdn_app_respond(struct wdn_app_req *req, int status, const char *content_type, const char *body,
                    size_t len)
{
    char *ctype = content_type != NULL ? strdup(content_type) : NULL;
    char *copy = malloc(len + 1);

    if (status < 100 || status > 999 || (len > 0 && body == NULL)) {
        free(ctype);
        free(copy);
        return WDN_EINVAL;
    }
    if (copy == NULL || (content_type != NULL && ctype == NULL)) {
        free(ctype);
        free(copy);
        return WDN_ENOMEM;
    }
    if (len > 0)
        memcpy(copy, body, len);
    copy[len] = '\0';
    free(req->ctype);
    free(req->answer);
    req->status = status;
    req->ctype = ctype;
    req->answer = copy;
    req->answer_len = len;
    return 0;
}

int wdn_app_respond_json(struct wdn_app_req *req, int status, const json_t *doc)
{
    char *s = wdn_json_dumps(doc, JSON_COMPACT);
    int rc;

    if (s == NULL)
        return WDN_ENOMEM;
    rc = wdn_app_respond(req, status, "application/json", s, strlen(s));
    free(s);
    return rc;
}

/* ---- Calling out ------------------------------------------------------------------------- */

int wdn_app_fetch(const struct wdn_app_fetch *req, struct wdn_app_response *resp, char *err,
                  size_t errcap)
{
    struct wdn_fetch_request f;
    struct wdn_fetch_response r;
    struct wdn_diag diag;
    int rc;

    memset(resp, 0, sizeof(*resp));
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (req == NULL || req->url == NULL)
        return WDN_EINVAL;
    memset(&f, 0, sizeof(f));
    f.method = req->method;
    f.url = req->url;
    f.headers = req->headers;
    f.body = req->body;
    f.body_len = req->body != NULL ? req->body_len : 0;
    f.timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_FETCH_TIMEOUT_MS;
    f.ca_file = wdn_fetch_ca_file_from_env();
    f.max_response = FETCH_MAX_RESPONSE;
    rc = wdn_fetch(&f, &r, &diag);
    if (rc != 0) {
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "%s", diag.msg);
        wdn_fetch_response_reset(&r);
        return rc;
    }
    resp->status = r.status;
    resp->body_len = r.body.len;
    resp->body = malloc(r.body.len + 1);
    if (resp->body == NULL) {
        wdn_fetch_response_reset(&r);
        resp->status = 0;
        return WDN_ENOMEM;
    }
    if (r.body.len > 0)
        memcpy(resp->body, r.body.data, r.body.len);
    resp->body[r.body.len] = '\0';
    wdn_fetch_response_reset(&r);
    return 0;
}

void wdn_app_fetch_reset(struct wdn_app_response *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}
