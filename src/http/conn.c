/* Server connections: reading and parsing requests, the handler chain, streaming request
 * bodies with backpressure, streaming responses, keep-alive, pipelining, timeouts.
 *
 * One request at a time per connection: bytes of pipelined requests wait in the read buffer
 * until the current response has ended, which answers them in order by construction. The read
 * buffer holds the current head at its start (the parser's slices point there) followed by the
 * unconsumed bytes (body, then pipelined requests); consumed body bytes are squeezed out
 * between the head and the rest when room is needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/limits.h"
#include "http/server.h"
#include "http/server_int.h"
#include "http/transport.h"

enum { C_HEAD, C_REQ, C_CLOSING };
enum { T_NONE, T_IDLE, T_HEADER, T_READ, T_WRITE, T_LINGER };
enum { R_NONE, R_STARTED, R_ENDED };

#define LINGER_MS 2000
#define WREQ_KEEP_BYTES 65536
#define WREQ_FREE_MAX 256

struct wdn_http_req {
    struct wdn__http_conn *c;
    struct wdn_http_request head;
    struct wdn_arena arena;
    uint64_t gen;
    bool owned;
    bool gone;
    wdn_http_gone_cb gone_cb;
    void *gone_ud;
    void *data;
    /* Request body. */
    uint64_t body_left;
    struct wdn_http_chunked chunked;
    wdn_http_body_cb body_cb;
    void *body_ud;
    bool body_paused;
    bool body_done;     /* every body byte has been decoded */
    bool body_reported; /* the end (or an error) has been delivered */
    int body_err;       /* an error waiting to be delivered */
    size_t held;        /* input bytes behind the piece a paused consumer holds */
    bool continue_sent;
    /* wdn_http_req_read_all. */
    struct wdn_buf all;
    wdn_http_full_body_cb all_cb;
    void *all_ud;
    bool all_failed;
    /* Response. */
    int resp;
    bool chunked_out;
    bool no_body;
    bool length_known;
    uint64_t resp_left;
    struct wdn__http_wreq *head_wr; /* a formatted head not sent yet */
    bool keep_alive;
};

struct wdn__http_conn {
    struct wdn__http_transport tx; /* first: the transport's callbacks cast back to us */
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    struct wdn_http_worker *w;
    struct wdn__http_conn *prev, *next;
    struct wdn__http_conn *flush_next;
    bool in_flush;
    char *rbuf;
    size_t rlen;
    size_t head_len;
    size_t body_pos;
    int state;
    int timer_mode;
    bool closing;
    bool in_process;
    bool again;
    bool want_close;
    bool close_after_write;
    bool lingering;
    int handles_open;
    unsigned writes_pending;
    uint64_t tls_gen; /* the server's TLS context generation this connection was accepted on */
    struct wdn_http_req req;
};

static void conn_process(struct wdn__http_conn *c);
static void conn_close(struct wdn__http_conn *c);

/* ---- Write requests --------------------------------------------------------------------- */

static struct wdn__http_wreq *wreq_get(struct wdn_http_worker *w)
{
    return wdn__http_wreq_get(&w->wreqs);
}

static void wreq_put(struct wdn_http_worker *w, struct wdn__http_wreq *wr)
{
    wdn__http_wreq_put(&w->wreqs, wr, WREQ_FREE_MAX, WREQ_KEEP_BYTES);
}

void wdn__http_worker_free_wreqs(struct wdn_http_worker *w)
{
    wdn__http_wreq_cache_drain(&w->wreqs);
}

/* ---- Small helpers ---------------------------------------------------------------------- */

static const char *reason_phrase(int status)
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

/* A header we may write: a token name and a value without CR, LF or NUL (response splitting). */
static bool header_ok(const struct wdn_http_header *h)
{
    if (h->name.len == 0)
        return false;
    for (size_t i = 0; i < h->name.len; i++) {
        unsigned char ch = (unsigned char)h->name.p[i];
        if (ch <= ' ' || ch == ':' || ch >= 0x7f)
            return false;
    }
    for (size_t i = 0; i < h->value.len; i++) {
        unsigned char ch = (unsigned char)h->value.p[i];
        if (ch == '\r' || ch == '\n' || ch == '\0')
            return false;
    }
    return true;
}

/* Appends v in decimal. */
static int append_u64(struct wdn_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return wdn_buf_append(b, tmp + i, sizeof(tmp) - i);
}

static int append_str(struct wdn_buf *b, struct wdn_str s)
{
    return wdn_buf_append(b, s.p, s.len);
}

/* Formats the status line and headers. framing: 'L' length, 'C' chunked, 'N' none/close. */
static int format_head(struct wdn__http_conn *c, struct wdn_buf *b, int status,
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
        if (!header_ok(&headers[i]))
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
        rc = wdn_buf_append_cstr(b, reason_phrase(status));
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
            rc = append_u64(b, length);
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

/* ---- Connection lifetime ---------------------------------------------------------------- */

static void flush_unlink(struct wdn__http_conn *c)
{
    struct wdn__http_conn **pp = &c->w->flush;

    if (!c->in_flush)
        return;
    while (*pp && *pp != c)
        pp = &(*pp)->flush_next;
    if (*pp)
        *pp = c->flush_next;
    c->in_flush = false;
    c->flush_next = NULL;
}

static void req_cleanup(struct wdn__http_conn *c)
{
    struct wdn_http_req *r = &c->req;

    wdn_arena_reset(&r->arena);
    wdn_buf_reset(&r->all);
    if (r->head_wr) {
        wreq_put(c->w, r->head_wr);
        r->head_wr = NULL;
    }
    flush_unlink(c);
}

static void conn_maybe_free(struct wdn__http_conn *c)
{
    struct wdn_http_worker *w = c->w;

    if (c->handles_open > 0 || c->req.owned || c->writes_pending > 0)
        return;
    req_cleanup(c);
    wdn__http_tx_free(&c->tx);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    free(c->rbuf);
    free(c);
    wdn__http_worker_conn_gone(w);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct wdn__http_conn *c = h->data;
    c->handles_open--;
    conn_maybe_free(c);
}

/* Abrupt close: the client went away, a timeout fired, or the response must be truncated.
 * A handler that owns the request hears about it (body callback, then gone callback) and still
 * releases the request itself; the memory stays until it does. */
static void conn_close(struct wdn__http_conn *c)
{
    struct wdn_http_req *r = &c->req;

    if (c->closing)
        return;
    c->closing = true;
    flush_unlink(c);
    wdn__http_tx_close(&c->tx, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    if (r->owned && !r->gone) {
        r->gone = true;
        if (r->body_cb && !r->body_reported) {
            r->body_reported = true;
            r->body_cb(r, WDN_ECLOSED, (struct wdn_str){NULL, 0}, r->body_ud);
        }
        if (r->owned && r->gone_cb)
            r->gone_cb(r, r->gone_ud);
    }
}

static void on_timer(uv_timer_t *t)
{
    struct wdn__http_conn *c = t->data;
    struct wdn_http_req *r = &c->req;

    if (c->timer_mode == T_READ && r->owned && r->body_cb && !r->body_reported) {
        /* A body that stopped arriving: the handler hears WDN_ETIMEOUT and may answer 408;
         * the connection closes after that answer. */
        c->timer_mode = T_NONE;
        r->keep_alive = false;
        r->body_err = WDN_ETIMEOUT;
        conn_process(c);
        return;
    }
    conn_close(c);
}

static void timer_set(struct wdn__http_conn *c, int mode, uint64_t ms)
{
    if (c->timer_mode == mode)
        return;
    c->timer_mode = mode;
    if (mode == T_NONE)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void on_shutdown(uv_shutdown_t *s, int status)
{
    struct wdn__http_conn *c = s->data;
    if (status < 0)
        conn_close(c);
}

/* The last response is out: half-close and keep reading (and dropping) for a moment, so
 * unread request bytes in our receive queue do not turn the close into a reset that could
 * destroy the response before the client reads it. */
static void start_linger(struct wdn__http_conn *c)
{
    if (c->lingering || c->closing)
        return;
    c->lingering = true;
    c->timer_mode = T_NONE;
    timer_set(c, T_LINGER, LINGER_MS);
    c->shutdown.data = c;
    if (wdn__http_tx_shutdown(&c->tx, &c->shutdown, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    c->rlen = 0;
    wdn__http_tx_read_start(&c->tx);
}

static void on_write(struct wdn__http_wreq *wr, int status)
{
    struct wdn__http_conn *c = wr->c;
    struct wdn_http_req *r = &c->req;

    c->writes_pending--;
    if (c->timer_mode == T_WRITE && c->writes_pending > 0 && !c->closing && status >= 0)
        uv_timer_start(&c->timer, on_timer, c->w->srv->cfg.read_timeout_ms, 0);
    if (wr->cb && wr->req_gen == r->gen && r->owned)
        wr->cb(r, status < 0 ? WDN_ECLOSED : 0, wr->ud);
    wreq_put(c->w, wr);
    if (status < 0) {
        conn_close(c);
    } else if (c->closing) {
        /* nothing: the close callbacks free the connection */
    } else if (c->close_after_write && c->writes_pending == 0 && c->state == C_CLOSING) {
        start_linger(c);
    } else if (c->writes_pending == 0) {
        conn_process(c);
    }
    conn_maybe_free(c);
}

static int conn_write(struct wdn__http_conn *c, struct wdn__http_wreq *wr, uv_buf_t *bufs,
                      unsigned n)
{
    int rc;

    wr->c = c;
    wr->req_gen = c->req.gen;
    c->writes_pending++;
    /* A client that stops reading gets read_timeout_ms per write before it is dropped. */
    if (c->timer_mode == T_NONE && c->state != C_HEAD && !c->lingering)
        timer_set(c, T_WRITE, c->w->srv->cfg.read_timeout_ms);
    rc = wdn__http_tx_write(&c->tx, wr, bufs, n, on_write);
    if (rc) {
        c->writes_pending--;
        wreq_put(c->w, wr);
        c->want_close = true;
        return WDN_ECLOSED;
    }
    return 0;
}

/* Sends a formatted head that is still waiting, alone. */
static int flush_head(struct wdn__http_conn *c)
{
    struct wdn__http_wreq *wr = c->req.head_wr;
    uv_buf_t b;

    if (wr == NULL)
        return 0;
    c->req.head_wr = NULL;
    flush_unlink(c);
    b = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
    return conn_write(c, wr, &b, 1);
}

void wdn__http_conns_flush(struct wdn_http_worker *w)
{
    while (w->flush) {
        struct wdn__http_conn *c = w->flush;
        w->flush = c->flush_next;
        c->flush_next = NULL;
        c->in_flush = false;
        if (!c->closing)
            flush_head(c);
    }
}

/* ---- Requests --------------------------------------------------------------------------- */

static void send_simple_error(struct wdn__http_conn *c, int status)
{
    struct wdn_http_req *r = &c->req;
    struct wdn__http_wreq *wr = wreq_get(c->w);
    const char *reason = reason_phrase(status);
    static const struct wdn_http_header ct = {{"Content-Type", 12}, {"text/plain", 10}};
    uv_buf_t b;

    c->state = C_CLOSING;
    c->close_after_write = true;
    r->keep_alive = false;
    if (wr == NULL || format_head(c, &wr->buf, status, &ct, 1, 'L', strlen(reason) + 1) != 0 ||
        wdn_buf_append_cstr(&wr->buf, reason) != 0 || wdn_buf_append(&wr->buf, "\n", 1) != 0) {
        wreq_put(c->w, wr);
        conn_close(c);
        return;
    }
    b = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
    conn_write(c, wr, &b, 1);
}

static void body_discard(struct wdn_http_req *req, int status, struct wdn_str data, void *ud)
{
}

/* The handler let go of the request: drop its body callbacks and move on. */
static void req_release(struct wdn_http_req *r)
{
    struct wdn__http_conn *c = r->c;

    r->owned = false;
    r->gone_cb = NULL;
    if (r->body_paused) {
        r->body_paused = false;
        c->body_pos += r->held;
        r->held = 0;
    }
    if (!r->body_reported) {
        /* The rest of an unread body is read and dropped to keep the connection, unless the
         * client still waits for 100 Continue (it may never send it). */
        if (r->head.expect_continue && !r->continue_sent)
            r->keep_alive = false;
        r->body_cb = body_discard;
        r->body_ud = NULL;
    }
    if (c->closing) {
        conn_maybe_free(c);
        return;
    }
    conn_process(c);
}

static void dispatch(struct wdn__http_conn *c)
{
    struct wdn_http_req *r = &c->req;
    const struct wdn_http_server_config *cfg = &c->w->srv->cfg;
    int rc = WDN_HTTP_DECLINED;

    for (size_t i = 0; i < cfg->nhandlers && r->owned; i++) {
        rc = cfg->handlers[i]->on_req(cfg->handlers[i], r);
        if (rc != WDN_HTTP_DECLINED)
            break;
    }
    if (!r->owned || rc == 0)
        return;
    if (r->resp == R_NONE) {
        static const struct wdn_http_header ct = {{"Content-Type", 12}, {"text/plain", 10}};
        if (rc == WDN_HTTP_DECLINED)
            wdn_http_respond(r, 404, &ct, 1, WDN_STR("Not Found\n"));
        else
            wdn_http_respond(r, 500, &ct, 1, WDN_STR("Internal Server Error\n"));
    } else {
        wdn_http_resp_abort(r);
    }
}

static void req_begin(struct wdn__http_conn *c, size_t head_len)
{
    struct wdn_http_req *r = &c->req;
    uint64_t max_body = c->w->srv->cfg.max_body_bytes;

    r->gen++;
    c->head_len = head_len;
    c->body_pos = head_len;
    c->state = C_REQ;
    timer_set(c, T_NONE, 0);
    r->owned = true;
    r->gone = false;
    r->gone_cb = NULL;
    r->data = NULL;
    r->body_cb = NULL;
    r->body_paused = false;
    r->body_reported = false;
    r->body_err = 0;
    r->held = 0;
    r->continue_sent = false;
    r->all_cb = NULL;
    r->all_failed = false;
    r->resp = R_NONE;
    r->head_wr = NULL;
    /* A stopping server, or a TLS context replaced since the accept, retires the connection
     * after this response. */
    r->keep_alive =
        r->head.keep_alive && !c->w->stopping && !wdn__http_worker_tls_retired(c->w, c->tls_gen);
    r->body_done = true;
    if (r->head.body == WDN_HTTP_BODY_LENGTH && r->head.content_length > 0) {
        r->body_done = false;
        r->body_left = r->head.content_length;
    } else if (r->head.body == WDN_HTTP_BODY_CHUNKED) {
        r->body_done = false;
        wdn_http_chunked_init(&r->chunked, max_body);
    }
    if (r->head.body == WDN_HTTP_BODY_LENGTH && r->head.content_length > max_body) {
        static const struct wdn_http_header ct = {{"Content-Type", 12}, {"text/plain", 10}};
        r->keep_alive = false;
        wdn_http_respond(r, 413, &ct, 1, WDN_STR("Content Too Large\n"));
        return;
    }
    dispatch(c);
}

/* Delivers one piece of the body (or its end, or an error). True when something happened. */
static bool body_step(struct wdn__http_conn *c)
{
    struct wdn_http_req *r = &c->req;
    struct wdn_str data = {NULL, 0};
    size_t avail, consumed = 0;
    int rc;

    if (r->body_cb == NULL || r->body_paused || r->body_reported)
        return false;
    if (r->body_err) {
        r->body_reported = true;
        r->keep_alive = false;
        r->body_cb(r, r->body_err, data, r->body_ud);
        return true;
    }
    if (r->body_done) {
        r->body_reported = true;
        r->body_cb(r, 1, data, r->body_ud);
        return true;
    }
    avail = c->rlen - c->body_pos;
    if (avail == 0)
        return false;
    if (r->head.body == WDN_HTTP_BODY_LENGTH) {
        consumed = avail < r->body_left ? avail : (size_t)r->body_left;
        data.p = c->rbuf + c->body_pos;
        data.len = consumed;
        r->body_left -= consumed;
        r->body_done = r->body_left == 0;
    } else {
        rc = wdn_http_chunked_decode(&r->chunked, c->rbuf + c->body_pos, avail, &consumed, &data);
        if (rc < 0) {
            r->body_err = rc;
            return true;
        }
        r->body_done = rc == 1;
    }
    r->held = consumed;
    if (data.len > 0)
        r->body_cb(r, 0, data, r->body_ud);
    if (!r->body_paused && r->held) {
        c->body_pos += r->held;
        r->held = 0;
    }
    return true;
}

/* After a response: the next request, or the end of the connection. */
static void req_finish(struct wdn__http_conn *c)
{
    struct wdn_http_req *r = &c->req;

    if (!r->keep_alive) {
        c->state = C_CLOSING;
        c->close_after_write = true;
        req_cleanup(c);
        if (c->writes_pending == 0)
            start_linger(c);
        return;
    }
    req_cleanup(c);
    memmove(c->rbuf, c->rbuf + c->body_pos, c->rlen - c->body_pos);
    c->rlen -= c->body_pos;
    c->body_pos = 0;
    c->head_len = 0;
    c->state = C_HEAD;
}

/* How long a new connection may still take to send its first request once the server is
 * stopping. */
static uint64_t stop_wait_ms(const struct wdn__http_conn *c)
{
    uint64_t h = c->w->srv->cfg.header_timeout_ms;
    return h < WDN_HTTP_STOP_FIRST_REQUEST_MS ? h : WDN_HTTP_STOP_FIRST_REQUEST_MS;
}

static void update_io(struct wdn__http_conn *c)
{
    struct wdn_http_req *r = &c->req;
    const struct wdn_http_server_config *cfg = &c->w->srv->cfg;
    bool want_read = false;

    if (c->closing || c->lingering)
        return;
    if (c->state == C_HEAD) {
        want_read = c->rlen < WDN_HTTP_READ_BUF_BYTES;
        if (c->rlen == 0 && c->w->stopping)
            timer_set(c, T_HEADER, stop_wait_ms(c));
        else if (c->rlen == 0)
            timer_set(c, T_IDLE, cfg->idle_timeout_ms);
        else
            timer_set(c, T_HEADER, cfg->header_timeout_ms);
    } else if (c->state == C_REQ) {
        /* Squeeze consumed body bytes out, unless a paused consumer still holds them. */
        if (!r->body_paused && c->body_pos > c->head_len) {
            memmove(c->rbuf + c->head_len, c->rbuf + c->body_pos, c->rlen - c->body_pos);
            c->rlen -= c->body_pos - c->head_len;
            c->body_pos = c->head_len;
        }
        want_read = c->rlen < WDN_HTTP_READ_BUF_BYTES;
        if (r->body_cb && !r->body_paused && !r->body_done && !r->body_reported &&
            c->rlen == c->body_pos)
            timer_set(c, T_READ, cfg->read_timeout_ms);
        else if (c->writes_pending)
            timer_set(c, T_WRITE, cfg->read_timeout_ms);
        else
            timer_set(c, T_NONE, 0);
    } else {
        if (c->writes_pending)
            timer_set(c, T_WRITE, cfg->read_timeout_ms);
    }
    if (want_read && !c->tx.reading)
        wdn__http_tx_read_start(&c->tx);
    else if (!want_read && c->tx.reading)
        wdn__http_tx_read_stop(&c->tx);
}

/* The state machine. Re-entrant calls (from callbacks it makes) only ask for another turn. */
static void conn_process(struct wdn__http_conn *c)
{
    struct wdn_http_req *r = &c->req;
    size_t head_len = 0;
    int rc;

    if (c->in_process) {
        c->again = true;
        return;
    }
    c->in_process = true;
    for (;;) {
        c->again = false;
        if (c->want_close)
            conn_close(c);
        if (c->closing || c->lingering)
            break;
        if (c->state == C_HEAD) {
            if (c->rlen == 0) {
                /* Stopping: a connection that has served its requests ends; a new one may
                 * still have its first request on the way (the timer bounds the wait). */
                if (c->w->stopping && c->req.gen > 0) {
                    c->state = C_CLOSING;
                    c->close_after_write = true;
                    if (c->writes_pending == 0)
                        conn_close(c);
                }
                break;
            }
            rc = wdn_http_parse_request(c->rbuf, c->rlen, &r->head, &head_len);
            if (rc == WDN_EAGAIN) {
                if (c->rlen >= WDN_HTTP_READ_BUF_BYTES)
                    send_simple_error(c, 431);
                break;
            }
            if (rc < 0) {
                send_simple_error(c, r->head.error_status ? r->head.error_status : 400);
                break;
            }
            req_begin(c, head_len);
            continue;
        }
        if (c->state == C_REQ) {
            if (body_step(c))
                continue;
            if (!r->owned && r->resp == R_ENDED && (r->body_reported || r->body_err)) {
                req_finish(c);
                continue;
            }
        }
        if (!c->again)
            break;
    }
    c->in_process = false;
    update_io(c);
}

/* ---- Transport callbacks ---------------------------------------------------------------- */

static void on_tx_alloc(struct wdn__http_transport *tx, char **base, size_t *len)
{
    struct wdn__http_conn *c = (struct wdn__http_conn *)tx;

    if (c->rbuf == NULL)
        c->rbuf = malloc(WDN_HTTP_READ_BUF_BYTES);
    if (c->rbuf == NULL || c->lingering) {
        if (c->rbuf && c->lingering)
            c->rlen = 0;
        *base = c->rbuf;
        *len = c->rbuf ? WDN_HTTP_READ_BUF_BYTES : 0;
        return;
    }
    *base = c->rbuf + c->rlen;
    *len = WDN_HTTP_READ_BUF_BYTES - c->rlen;
}

static void on_tx_read(struct wdn__http_transport *tx, ssize_t n)
{
    struct wdn__http_conn *c = (struct wdn__http_conn *)tx;

    if (c->closing)
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (c->lingering) {
        c->rlen = 0;
        return;
    }
    c->rlen += (size_t)n;
    if (c->timer_mode == T_READ) {
        c->timer_mode = T_NONE;
        uv_timer_stop(&c->timer);
    }
    conn_process(c);
}

static const struct wdn__http_transport_cbs conn_tx_cbs = {
    .alloc = on_tx_alloc,
    .read = on_tx_read,
    .ready = NULL,
};

/* ---- Accept and shutdown ---------------------------------------------------------------- */

void wdn__http_conn_accept(struct wdn_http_worker *w)
{
    struct wdn__http_conn *c = calloc(1, sizeof(*c));
    struct wdn_tls_ctx *tls;

    if (c == NULL) {
        /* Out of memory: accept and drop, so the listener does not spin on a pending socket. */
        uv_tcp_t *t = malloc(sizeof(*t));
        if (t && uv_tcp_init(&w->loop, t) == 0) {
            if (uv_accept((uv_stream_t *)&w->listener, (uv_stream_t *)t) == 0) {
                uv_close((uv_handle_t *)t, (uv_close_cb)free);
                return;
            }
            uv_close((uv_handle_t *)t, (uv_close_cb)free);
            return;
        }
        free(t);
        return;
    }
    c->w = w;
    uv_tcp_init(&w->loop, &c->tcp);
    uv_timer_init(&w->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles_open = 2;
    c->req.c = c;
    wdn_arena_init(&c->req.arena, 4096, 0);
    wdn_buf_init(&c->req.all, WDN_HTTP_MAX_BODY_BYTES);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    tls = wdn__http_worker_tls(w, &c->tls_gen);
    if (uv_accept((uv_stream_t *)&w->listener, (uv_stream_t *)&c->tcp) != 0 ||
        wdn__http_tx_init(&c->tx, &conn_tx_cbs, &c->tcp, tls, true, NULL, NULL) != 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->state = C_HEAD;
    update_io(c);
}

/* Idle keep-alive connections close now (a client that reuses one just then retries, as HTTP
 * clients do for a reused connection); a connection that has not sent its first request keeps
 * a short wait for it instead, since its client had no way to know and may have sent it
 * already. Busy connections finish their response, which says Connection: close. */
void wdn__http_conns_stop(struct wdn_http_worker *w)
{
    struct wdn__http_conn *c = w->conns, *next;

    for (; c; c = next) {
        next = c->next;
        if (c->closing || c->state != C_HEAD || c->rlen != 0 || c->writes_pending != 0)
            continue;
        if (c->req.gen > 0)
            conn_close(c);
        else
            update_io(c);
    }
}

void wdn__http_conns_kill(struct wdn_http_worker *w)
{
    struct wdn__http_conn *c = w->conns, *next;

    for (; c; c = next) {
        next = c->next;
        conn_close(c);
    }
}

/* ---- Public request API ----------------------------------------------------------------- */

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
            conn_write(c, wr, &b, 1);
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
    conn_process(c);
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
        conn_process(c);
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
        conn_process(req->c);
        return 0;
    }
    return wdn_http_req_read_body(req, read_all_cb, NULL);
}

/* ---- Public response API ---------------------------------------------------------------- */

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
    rc = format_head(c, &wr->buf, status, headers, nheaders, status_has_body(status) ? 'L' : 'N',
                     body.len);
    if (rc == 0 && status_has_body(status) && !head_method)
        rc = wdn_buf_append(&wr->buf, body.p, body.len);
    if (rc) {
        wreq_put(c->w, wr);
        c->want_close = true;
        goto out;
    }
    b = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
    rc = conn_write(c, wr, &b, 1);
out:
    req_release(req);
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
    rc = format_head(c, &wr->buf, status, headers, nheaders, framing, content_length);
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
        flush_unlink(c);
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
    return conn_write(c, wr, bufs, n);
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
        flush_unlink(c);
        if (wr == NULL)
            wr = wreq_get(c->w);
        if (wr == NULL || wdn_buf_append(&wr->buf, last, sizeof(last) - 1) != 0) {
            wreq_put(c->w, wr);
            c->want_close = true;
            rc = WDN_ENOMEM;
            goto out;
        }
        uv_buf_t b = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
        rc = conn_write(c, wr, &b, 1);
    } else {
        rc = flush_head(c);
    }
out:
    req_release(req);
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
        flush_unlink(c);
    }
    c->want_close = true;
    req_release(req);
}
