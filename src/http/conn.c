/* Server connections: reading and parsing requests, the handler chain, request bodies
 * decoded with backpressure, writes, keep-alive, pipelining, timeouts, accept and stop. The API
 * a handler uses lives in conn_request.c (head, body) and conn_response.c (answers).
 *
 * One request at a time per connection: bytes of pipelined requests wait in the read buffer
 * until the current response has ended, which answers them in order by construction. The read
 * buffer holds the current head at its start (the parser's slices point there) followed by the
 * unconsumed bytes (body, then pipelined requests); consumed body bytes are squeezed out
 * between the head and the rest when room is needed. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "http/conn_int.h"

#define LINGER_MS 2000

static void conn_close(struct wdn__http_conn *c);

void wdn__http_worker_free_wreqs(struct wdn_http_worker *w)
{
    wdn__http_wreq_cache_drain(&w->wreqs);
}

/* ---- Connection lifetime ---------------------------------------------------------------- */

void wdn__http_conn_flush_unlink(struct wdn__http_conn *c)
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
    wdn__http_conn_flush_unlink(c);
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
    wdn__http_conn_flush_unlink(c);
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

/* The connection's timer is armed lazily, like the client's (client_pool.c): c->deadline is
 * when the current wait (timer_mode) ends, and the uv timer, armed for c->armed <= deadline, is
 * restarted only for an earlier deadline; one that fires before the deadline re-arms for the
 * rest. A kept-alive connection's idle wait, its response write and idle again cost no timer
 * restart in the steady state (there were two starts and two stops per request: issue 20). */
static void on_timer(uv_timer_t *t)
{
    struct wdn__http_conn *c = t->data;
    struct wdn_http_req *r = &c->req;
    uint64_t now = uv_now(&c->w->loop);

    c->armed = 0;
    if (c->deadline == 0)
        return; /* the wait it was armed for is over (T_NONE) */
    if (now < c->deadline) {
        c->armed = c->deadline;
        uv_timer_start(&c->timer, on_timer, c->deadline - now, 0);
        return;
    }
    c->deadline = 0;
    if (c->timer_mode == T_READ && r->owned && r->body_cb && !r->body_reported) {
        /* A body that stopped arriving: the handler hears WDN_ETIMEOUT and may answer 408;
         * the connection closes after that answer. */
        c->timer_mode = T_NONE;
        r->keep_alive = false;
        r->body_err = WDN_ETIMEOUT;
        wdn__http_conn_process(c);
        return;
    }
    conn_close(c);
}

/* The current wait ends ms from now. */
static void conn_arm(struct wdn__http_conn *c, uint64_t ms)
{
    c->deadline = uv_now(&c->w->loop) + ms;
    if (c->armed == 0 || c->deadline < c->armed) {
        c->armed = c->deadline;
        uv_timer_start(&c->timer, on_timer, ms, 0);
    }
}

static void timer_set(struct wdn__http_conn *c, int mode, uint64_t ms)
{
    if (c->timer_mode == mode)
        return;
    c->timer_mode = mode;
    if (mode == T_NONE)
        c->deadline = 0;
    else
        conn_arm(c, ms);
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
        conn_arm(c, c->w->srv->cfg.read_timeout_ms);
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
        wdn__http_conn_process(c);
    }
    conn_maybe_free(c);
}

int wdn__http_conn_write(struct wdn__http_conn *c, struct wdn__http_wreq *wr, uv_buf_t *bufs,
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
int wdn__http_conn_flush_head(struct wdn__http_conn *c)
{
    struct wdn__http_wreq *wr = c->req.head_wr;
    uv_buf_t b;

    if (wr == NULL)
        return 0;
    c->req.head_wr = NULL;
    wdn__http_conn_flush_unlink(c);
    b = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
    return wdn__http_conn_write(c, wr, &b, 1);
}

void wdn__http_conns_flush(struct wdn_http_worker *w)
{
    while (w->flush) {
        struct wdn__http_conn *c = w->flush;
        w->flush = c->flush_next;
        c->flush_next = NULL;
        c->in_flush = false;
        if (!c->closing)
            wdn__http_conn_flush_head(c);
    }
}

/* ---- Requests --------------------------------------------------------------------------- */

static void send_simple_error(struct wdn__http_conn *c, int status)
{
    struct wdn_http_req *r = &c->req;
    struct wdn__http_wreq *wr = wreq_get(c->w);
    const char *reason = wdn__http_reason_phrase(status);
    static const struct wdn_http_header ct = {{"Content-Type", 12}, {"text/plain", 10}};
    uv_buf_t b;

    c->state = C_CLOSING;
    c->close_after_write = true;
    r->keep_alive = false;
    if (wr == NULL ||
        wdn__http_format_head(c, &wr->buf, status, &ct, 1, 'L', strlen(reason) + 1) != 0 ||
        wdn_buf_append_cstr(&wr->buf, reason) != 0 || wdn_buf_append(&wr->buf, "\n", 1) != 0) {
        wreq_put(c->w, wr);
        conn_close(c);
        return;
    }
    b = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
    wdn__http_conn_write(c, wr, &b, 1);
}

static void body_discard(struct wdn_http_req *req, int status, struct wdn_str data, void *ud)
{
}

/* The handler let go of the request: drop its body callbacks and move on. */
void wdn__http_req_release(struct wdn_http_req *r)
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
    wdn__http_conn_process(c);
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
    wdn__http_worker_request(c->w);
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
void wdn__http_conn_process(struct wdn__http_conn *c)
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
        c->deadline = 0;
    }
    wdn__http_conn_process(c);
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
    wdn_arena_init(&c->req.arena, WDN_HTTP_REQ_ARENA_BLOCK_BYTES, 0);
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
