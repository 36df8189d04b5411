/* The request side of a server connection's API: the parsed head and what comes with it
 * (arena, peer, TLS identity), and the request body, streamed with backpressure or read whole.
 * The connection itself (conn.c) decodes the body; this file hands it over. */

#include "base/error.h"
#include "http/conn_int.h"

const struct wdn_http_request *wdn_http_req_head(const struct wdn_http_req *req)
{
    return &req->head;
}

const struct wdn_http_header *wdn_http_req_header(const struct wdn_http_req *req,
                                                  struct wdn_str name)
{
    return wdn_http_header_find(req->head.headers, req->head.nheaders, name);
}

struct wdn_arena *wdn_http_req_arena(struct wdn_http_req *req)
{
    return &req->arena;
}

struct wdn_http_worker *wdn_http_req_worker(struct wdn_http_req *req)
{
    return req->c->w;
}

uv_loop_t *wdn_http_req_loop(struct wdn_http_req *req)
{
    return &req->c->w->loop;
}

int wdn_http_req_peer(const struct wdn_http_req *req, struct sockaddr_storage *out)
{
    int len = sizeof(*out);
    if (uv_tcp_getpeername(&req->c->tcp, (struct sockaddr *)out, &len) != 0)
        return WDN_ESYS;
    return 0;
}

bool wdn_http_req_is_tls(const struct wdn_http_req *req)
{
    return wdn__http_tx_is_tls(&req->c->tx);
}

struct wdn_tls *wdn_http_req_tls(struct wdn_http_req *req)
{
    return wdn__http_tx_tls(&req->c->tx);
}

bool wdn_http_req_gone(const struct wdn_http_req *req)
{
    return req->gone || req->c->closing;
}

void wdn_http_req_set_data(struct wdn_http_req *req, void *data)
{
    req->data = data;
}

void *wdn_http_req_data(const struct wdn_http_req *req)
{
    return req->data;
}

void wdn_http_req_on_gone(struct wdn_http_req *req, wdn_http_gone_cb cb, void *ud)
{
    req->gone_cb = cb;
    req->gone_ud = ud;
}

bool wdn_http_req_has_body(const struct wdn_http_req *req)
{
    return (req->head.body == WDN_HTTP_BODY_LENGTH && req->head.content_length > 0) ||
           req->head.body == WDN_HTTP_BODY_CHUNKED;
}

int wdn_http_req_read_body(struct wdn_http_req *req, wdn_http_body_cb cb, void *ud)
{
    struct wdn__http_conn *c = req->c;

    if (!req->owned || req->body_cb || cb == NULL)
        return WDN_ESTATE;
    req->body_cb = cb;
    req->body_ud = ud;
    if (req->head.expect_continue && req->head.version_minor == 1 && req->resp == R_NONE &&
        !req->body_done && !req->continue_sent && !c->closing) {
        static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        struct wdn__http_wreq *wr = wreq_get(c->w);
        req->continue_sent = true;
        if (wr) {
            uv_buf_t b = uv_buf_init(cont, sizeof(cont) - 1);
            wdn__http_conn_write(c, wr, &b, 1);
        }
    }
    if (c->closing) {
        /* Already gone: report it from here, as the connection will not call again. */
        if (!req->body_reported) {
            req->body_reported = true;
            cb(req, WDN_ECLOSED, (struct wdn_str){NULL, 0}, ud);
        }
        return 0;
    }
    wdn__http_conn_process(c);
    return 0;
}

void wdn_http_req_body_pause(struct wdn_http_req *req)
{
    req->body_paused = true;
}

void wdn_http_req_body_resume(struct wdn_http_req *req)
{
    struct wdn__http_conn *c = req->c;

    if (!req->body_paused)
        return;
    req->body_paused = false;
    c->body_pos += req->held;
    req->held = 0;
    if (!c->closing)
        wdn__http_conn_process(c);
}

static void read_all_cb(struct wdn_http_req *req, int status, struct wdn_str data, void *ud)
{
    if (req->all_failed)
        return;
    if (status == 0) {
        int rc = wdn_buf_append(&req->all, data.p, data.len);
        if (rc) {
            req->all_failed = true;
            req->keep_alive = false;
            req->all_cb(req, rc, (struct wdn_str){NULL, 0}, req->all_ud);
        }
        return;
    }
    req->all_failed = true;
    if (status == 1)
        req->all_cb(req, 0, wdn_buf_str(&req->all), req->all_ud);
    else
        req->all_cb(req, status, (struct wdn_str){NULL, 0}, req->all_ud);
}

int wdn_http_req_read_all(struct wdn_http_req *req, size_t max, wdn_http_full_body_cb cb, void *ud)
{
    uint64_t limit = max ? max : req->c->w->srv->cfg.max_body_bytes;

    if (!req->owned || req->body_cb || cb == NULL)
        return WDN_ESTATE;
    wdn_buf_reset(&req->all);
    req->all.max = (size_t)limit;
    req->all_cb = cb;
    req->all_ud = ud;
    if (req->head.body == WDN_HTTP_BODY_LENGTH && req->head.content_length > limit) {
        /* Known too big: fail without reading (delivered from the state machine). */
        req->body_err = WDN_ELIMIT;
        req->body_cb = read_all_cb;
        req->body_ud = NULL;
        wdn__http_conn_process(req->c);
        return 0;
    }
    return wdn_http_req_read_body(req, read_all_cb, NULL);
}
