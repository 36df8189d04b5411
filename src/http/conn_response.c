/* The response side of a server connection's API: heads formatted by hand (status line,
 * Date, Server, framing, Connection), one-call answers, streamed bodies (chunked or with a
 * length), the end of a response and its abort. */
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "http/conn_int.h"
#include "http/parser_int.h"

const char *wdn__http_reason_phrase(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Status";
    }
}

static void update_date(struct wdn_http_worker *w)
{
    time_t now = time(NULL);
    struct tm tm;

    if ((long)now == w->date_sec && w->date_len)
        return;
    w->date_sec = (long)now;
    gmtime_r(&now, &tm);
    w->date_len = strftime(w->date, sizeof(w->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
}

static int append_str(struct wdn_buf *b, struct wdn_str s)
{
    return wdn_buf_append(b, s.p, s.len);
}

/* Formats the status line and headers. framing: 'L' length, 'C' chunked, 'N' none/close. */
int wdn__http_format_head(struct wdn__http_conn *c, struct wdn_buf *b, int status,
                          const struct wdn_http_header *headers, size_t n, char framing,
                          uint64_t length)
{
    struct wdn_http_worker *w = c->w;
    struct wdn_http_req *r = &c->req;
    char line[96];
    int rc;

    bool has_date = false, has_server = false;

    if (status < 100 || status > 999)
        return WDN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!wdn__http_field_ok(headers[i].name, true) ||
            !wdn__http_field_ok(headers[i].value, false))
            return WDN_EINVAL;
        /* A proxied response keeps the origin's Date and Server. */
        if (headers[i].name.len == 4 && wdn_str_eq_case_cstr(headers[i].name, "date"))
            has_date = true;
        else if (headers[i].name.len == 6 && wdn_str_eq_case_cstr(headers[i].name, "server"))
            has_server = true;
    }
    update_date(w);
    /* Formatted by hand: printf per response is measurable on a hello benchmark. */
    memcpy(line, "HTTP/1.1 ", 9);
    line[9] = (char)('0' + status / 100);
    line[10] = (char)('0' + status / 10 % 10);
    line[11] = (char)('0' + status % 10);
    line[12] = ' ';
    rc = wdn_buf_append(b, line, 13);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, wdn__http_reason_phrase(status));
    if (rc == 0)
        rc = wdn_buf_append(b, "\r\n", 2);
    if (rc == 0 && !has_date)
        rc = wdn_buf_append(b, w->date, w->date_len);
    if (rc == 0 && w->srv->cfg.server_name && !has_server) {
        rc = wdn_buf_append_cstr(b, "Server: ");
        if (rc == 0)
            rc = wdn_buf_append_cstr(b, w->srv->cfg.server_name);
        if (rc == 0)
            rc = wdn_buf_append(b, "\r\n", 2);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = append_str(b, headers[i].name);
        if (rc == 0)
            rc = wdn_buf_append(b, ": ", 2);
        if (rc == 0)
            rc = append_str(b, headers[i].value);
        if (rc == 0)
            rc = wdn_buf_append(b, "\r\n", 2);
    }
    if (rc == 0 && framing == 'L') {
        rc = wdn_buf_append(b, "Content-Length: ", 16);
        if (rc == 0)
            rc = wdn_buf_append_u64(b, length);
        if (rc == 0)
            rc = wdn_buf_append(b, "\r\n", 2);
    } else if (rc == 0 && framing == 'C') {
        rc = wdn_buf_append_cstr(b, "Transfer-Encoding: chunked\r\n");
    }
    if (rc == 0) {
        if (!r->keep_alive)
            rc = wdn_buf_append_cstr(b, "Connection: close\r\n\r\n");
        else if (r->head.version_minor == 0)
            rc = wdn_buf_append_cstr(b, "Connection: keep-alive\r\n\r\n");
        else
            rc = wdn_buf_append(b, "\r\n", 2);
    }
    return rc;
}

static bool status_has_body(int status)
{
    return !(status < 200 || status == 204 || status == 304);
}

int wdn_http_respond(struct wdn_http_req *req, int status, const struct wdn_http_header *headers,
                     size_t nheaders, struct wdn_str body)
{
    struct wdn__http_conn *c = req->c;
    struct wdn__http_wreq *wr;
    bool head_method = wdn_str_eq_cstr(req->head.method, "HEAD");
    uv_buf_t b;
    int rc;

    if (!req->owned || req->resp != R_NONE)
        return WDN_ESTATE;
    req->resp = R_ENDED;
    if (c->closing) {
        rc = WDN_ECLOSED;
        goto out;
    }
    if (req->head.expect_continue && !req->continue_sent && !req->body_done)
        req->keep_alive = false;
    if (c->w->stopping)
        req->keep_alive = false;
    wr = wreq_get(c->w);
    if (wr == NULL) {
        rc = WDN_ENOMEM;
        c->want_close = true;
        goto out;
    }
    rc = wdn__http_format_head(c, &wr->buf, status, headers, nheaders,
                               status_has_body(status) ? 'L' : 'N', body.len);
    if (rc == 0 && status_has_body(status) && !head_method)
        rc = wdn_buf_append(&wr->buf, body.p, body.len);
    if (rc) {
        wreq_put(c->w, wr);
        c->want_close = true;
        goto out;
    }
    b = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
    rc = wdn__http_conn_write(c, wr, &b, 1);
out:
    wdn__http_req_release(req);
    return rc;
}

int wdn_http_resp_start(struct wdn_http_req *req, int status, const struct wdn_http_header *headers,
                        size_t nheaders, uint64_t content_length)
{
    struct wdn__http_conn *c = req->c;
    struct wdn__http_wreq *wr;
    char framing;
    int rc;

    if (!req->owned || req->resp != R_NONE)
        return WDN_ESTATE;
    req->resp = R_STARTED;
    req->no_body = wdn_str_eq_cstr(req->head.method, "HEAD") || !status_has_body(status);
    req->length_known = content_length != WDN_HTTP_LENGTH_UNKNOWN;
    req->resp_left = req->length_known ? content_length : 0;
    req->chunked_out = false;
    if (c->closing)
        return WDN_ECLOSED;
    if (req->head.expect_continue && !req->continue_sent && !req->body_done)
        req->keep_alive = false;
    if (c->w->stopping)
        req->keep_alive = false;
    if (!status_has_body(status)) {
        framing = 'N';
        req->length_known = true;
        req->resp_left = 0;
    } else if (req->length_known) {
        framing = 'L';
    } else if (req->head.version_minor >= 1) {
        framing = 'C';
        req->chunked_out = !req->no_body;
    } else {
        /* HTTP/1.0 with no length: the end of the body is the end of the connection. */
        framing = 'N';
        req->keep_alive = false;
    }
    if (req->no_body) {
        req->resp_left = 0;
        req->length_known = true;
    }
    wr = wreq_get(c->w);
    if (wr == NULL)
        return WDN_ENOMEM;
    rc = wdn__http_format_head(c, &wr->buf, status, headers, nheaders, framing, content_length);
    if (rc) {
        wreq_put(c->w, wr);
        req->resp = R_NONE;
        return rc;
    }
    req->head_wr = wr;
    if (!c->in_flush) {
        c->in_flush = true;
        c->flush_next = c->w->flush;
        c->w->flush = c;
    }
    return 0;
}

int wdn_http_resp_write(struct wdn_http_req *req, struct wdn_str data, wdn_http_write_cb cb,
                        void *ud)
{
    struct wdn__http_conn *c = req->c;
    struct wdn__http_wreq *wr;
    uv_buf_t bufs[3];
    unsigned n = 0;
    char line[32];
    int rc;

    if (!req->owned || req->resp != R_STARTED)
        return WDN_ESTATE;
    if (c->closing)
        return WDN_ECLOSED;
    if (req->no_body && data.len > 0)
        return WDN_EINVAL;
    if (req->length_known && data.len > req->resp_left)
        return WDN_EINVAL;
    if (c->tcp.write_queue_size > WDN_HTTP_MAX_WRITE_QUEUE_BYTES)
        return WDN_EBUSY; /* the client does not read: wait for a write callback */
    req->resp_left -= req->length_known ? data.len : 0;
    wr = req->head_wr;
    if (wr) {
        req->head_wr = NULL;
        wdn__http_conn_flush_unlink(c);
    } else {
        wr = wreq_get(c->w);
        if (wr == NULL)
            return WDN_ENOMEM;
    }
    rc = 0;
    if (req->chunked_out && data.len > 0) {
        rc = wdn_fmt(line, sizeof(line), "%zx\r\n", data.len);
        if (rc == 0)
            rc = wdn_buf_append_cstr(&wr->buf, line);
    }
    if (rc == 0 && cb == NULL) {
        rc = wdn_buf_append(&wr->buf, data.p, data.len);
        if (rc == 0 && req->chunked_out && data.len > 0)
            rc = wdn_buf_append(&wr->buf, "\r\n", 2);
        bufs[n++] = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
    } else if (rc == 0) {
        if (wr->buf.len)
            bufs[n++] = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
        bufs[n++] = uv_buf_init((char *)data.p, (unsigned)data.len);
        if (req->chunked_out && data.len > 0)
            bufs[n++] = uv_buf_init((char *)"\r\n", 2);
    }
    if (rc) {
        wreq_put(c->w, wr);
        return rc;
    }
    wr->cb = cb;
    wr->ud = ud;
    return wdn__http_conn_write(c, wr, bufs, n);
}

int wdn_http_resp_end(struct wdn_http_req *req)
{
    struct wdn__http_conn *c = req->c;
    struct wdn__http_wreq *wr;
    int rc = 0;

    if (!req->owned)
        return WDN_ESTATE;
    if (req->resp == R_NONE) {
        static const struct wdn_http_header ct = {{"Content-Type", 12}, {"text/plain", 10}};
        wdn_http_respond(req, 500, &ct, 1, WDN_STR("Internal Server Error\n"));
        return WDN_ESTATE;
    }
    req->resp = R_ENDED;
    if (c->closing) {
        rc = WDN_ECLOSED;
        goto out;
    }
    if (req->length_known && req->resp_left > 0) {
        /* Short of the announced length: the client must see the truncation. */
        c->want_close = true;
        rc = WDN_EINVAL;
        goto out;
    }
    if (!req->length_known && !req->chunked_out)
        req->keep_alive = false;
    if (req->chunked_out) {
        static const char last[] = "0\r\n\r\n";
        wr = req->head_wr;
        req->head_wr = NULL;
        wdn__http_conn_flush_unlink(c);
        if (wr == NULL)
            wr = wreq_get(c->w);
        if (wr == NULL || wdn_buf_append(&wr->buf, last, sizeof(last) - 1) != 0) {
            wreq_put(c->w, wr);
            c->want_close = true;
            rc = WDN_ENOMEM;
            goto out;
        }
        uv_buf_t b = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
        rc = wdn__http_conn_write(c, wr, &b, 1);
    } else {
        rc = wdn__http_conn_flush_head(c);
    }
out:
    wdn__http_req_release(req);
    return rc;
}

void wdn_http_resp_abort(struct wdn_http_req *req)
{
    struct wdn__http_conn *c = req->c;

    if (!req->owned)
        return;
    req->resp = R_ENDED;
    req->keep_alive = false;
    if (req->head_wr) {
        /* Nothing sent yet: a truncated head helps nobody; just close. */
        wreq_put(c->w, req->head_wr);
        req->head_wr = NULL;
        wdn__http_conn_flush_unlink(c);
    }
    c->want_close = true;
    wdn__http_req_release(req);
}
