/* The client's exchanges: one request and its response on a pooled connection, with streaming
 * bodies both ways, backpressure, and clean errors.
 *
 * An exchange is separate from the connection that carries it, so that it can be replayed once
 * on a fresh connection when the connection failed in a way that lost nothing: a reused
 * keep-alive connection which the upstream had just closed (before any body byte was sent and
 * any response byte arrived; nginx does the same for idempotent requests), or an established
 * connection closed or reset before a byte of the request left us (a TLS handshake cut short
 * by a server that was retiring the connection). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "http/client_int.h"
#include "http/parser_int.h"
#include "http/server.h"

static void cc_process(struct cconn *cc);
static void x_finish(struct wdn_http_exchange *x, int status);
static void cc_attach(struct cconn *cc, struct wdn_http_exchange *x);

/* ---- Exchanges ----------------------------------------------------------------------------- */

static struct wdn_http_exchange *x_get(struct wdn_http_pool *p)
{
    struct wdn_http_exchange *x = p->free_x;

    if (x) {
        p->free_x = x->next_free;
        p->nfree_x--;
    } else {
        x = calloc(1, sizeof(*x));
        if (x == NULL)
            return NULL;
        wdn_buf_init(&x->head, WDN_HTTP_MAX_HEAD_BYTES + 1024);
    }
    x->pool = p;
    x->cc = NULL;
    x->gen = ++p->gen;
    x->head.len = 0;
    x->req_left = 0;
    x->req_chunked = false;
    x->req_ended = false;
    x->body_written = false;
    x->sent = false;
    x->retried = false;
    x->got_bytes = false;
    x->head_done = false;
    x->body_done = false;
    x->paused = false;
    x->held = 0;
    x->body_left = 0;
    return x;
}

void wdn__http_x_put(struct wdn_http_exchange *x)
{
    struct wdn_http_pool *p = x->pool;

    x->gen = 0;
    x->cbs = NULL;
    if (x->head.cap > 8192)
        wdn_buf_reset(&x->head);
    if (p->nfree_x >= FREE_MAX) {
        wdn_buf_reset(&x->head);
        free(x);
        return;
    }
    x->next_free = p->free_x;
    p->free_x = x;
    p->nfree_x++;
}

static int map_uv_error(ssize_t e)
{
    switch (e) {
    case UV_ECONNREFUSED:
        return WDN_ECONNREFUSED;
    case UV_ECONNRESET:
    case UV_EPIPE:
        return WDN_ECONNRESET;
    case UV_ETIMEDOUT:
        return WDN_ETIMEOUT;
    case UV_EOF:
        return WDN_ECLOSED;
    case UV_EPROTO:
        return WDN_ETLS;
    default:
        return WDN_ECLOSED;
    }
}

/* The exchange on cc failed with err: replay it once on a fresh connection when that is safe,
 * else report. */
void wdn__http_cc_fail(struct cconn *cc, int err)
{
    struct wdn_http_exchange *x = cc->x;

    cc->x = NULL;
    wdn__http_cc_close(cc);
    if (x == NULL)
        return;
    x->cc = NULL;
    /* Replayable: nothing of the response arrived and no body byte was taken from the caller
     * (queued body bytes would be lost with cc), and either the connection was a reused
     * keep-alive one (the upstream closed it as we reused it) or it was established and closed
     * before anything of the request was sent. A connection that could not be made is not
     * retried here: the same address would fail the same way (the caller may pick another). */
    if (!x->retried && !x->got_bytes && !x->body_written &&
        (cc->reused || (cc->connected && !x->sent)) &&
        (err == WDN_ECLOSED || err == WDN_ECONNRESET) && !x->pool->closing) {
        struct cconn *fresh = wdn__http_cc_new(x->pool);
        x->retried = true;
        if (fresh) {
            cc_attach(fresh, x);
            return;
        }
    }
    x_finish(x, err);
}

/* ---- Writing ------------------------------------------------------------------------------ */

static void on_cc_write(struct wdn__http_wreq *wr, int status)
{
    struct cconn *cc = wr->c;
    struct wdn_http_exchange *x = wr->x;
    struct wdn_http_pool *p = cc->pool;

    cc->writes_pending--;
    if (x && x->gen == wr->req_gen && x->cc == cc) {
        if (wr->xcb)
            wr->xcb(x, status < 0 ? WDN_ECLOSED : 0, wr->ud);
        if (status < 0 && x->gen == wr->req_gen && cc->x == x)
            wdn__http_cc_fail(cc, map_uv_error(status));
    }
    wr_put(p, wr);
    wdn__http_cc_maybe_free(cc);
}

static void cc_send_queue(struct cconn *cc)
{
    while (cc->qhead && !cc->closing) {
        struct wdn__http_wreq *wr = cc->qhead;
        cc->qhead = wr->qnext;
        if (cc->qhead == NULL)
            cc->qtail = NULL;
        wr->c = cc;
        if (cc->x && wr->x == cc->x && wr->req_gen == cc->x->gen)
            cc->x->sent = true;
        cc->writes_pending++;
        if (wdn__http_tx_write(&cc->tx, wr, wr->bufs, wr->nbufs, on_cc_write) != 0) {
            cc->writes_pending--;
            wr_put(cc->pool, wr);
            wdn__http_cc_fail(cc, WDN_ECONNRESET);
            return;
        }
    }
}

static void cc_enqueue(struct cconn *cc, struct wdn__http_wreq *wr)
{
    wr->qnext = NULL;
    if (cc->qtail)
        cc->qtail->qnext = wr;
    else
        cc->qhead = wr;
    cc->qtail = wr;
    if (cc->state == CC_BUSY && wdn__http_tx_ready(&cc->tx))
        cc_send_queue(cc);
}

/* Queues the exchange's head on cc (first thing on a new or idle connection). */
static int cc_queue_head(struct cconn *cc, struct wdn_http_exchange *x)
{
    struct wdn__http_wreq *wr = wr_get(cc->pool);

    if (wr == NULL)
        return WDN_ENOMEM;
    wr->x = x;
    wr->req_gen = x->gen;
    wr->bufs[0] = uv_buf_init(x->head.data, (unsigned)x->head.len);
    wr->nbufs = 1;
    cc_enqueue(cc, wr);
    return 0;
}

/* ---- Reading ------------------------------------------------------------------------------ */

static void cc_alloc(struct wdn__http_transport *tx, char **base, size_t *len)
{
    struct cconn *cc = (struct cconn *)tx;

    if (cc->rbuf == NULL)
        cc->rbuf = malloc(CLIENT_READ_BUF_BYTES);
    if (cc->rbuf == NULL) {
        *base = NULL;
        *len = 0;
        return;
    }
    /* Squeeze out consumed bytes unless a paused consumer still holds them. */
    if (cc->pos > 0 && !(cc->x && cc->x->paused)) {
        memmove(cc->rbuf, cc->rbuf + cc->pos, cc->rlen - cc->pos);
        cc->rlen -= cc->pos;
        cc->pos = 0;
    }
    *base = cc->rbuf + cc->rlen;
    *len = CLIENT_READ_BUF_BYTES - cc->rlen;
}

static void cc_read(struct wdn__http_transport *tx, ssize_t n)
{
    struct cconn *cc = (struct cconn *)tx;
    struct wdn_http_exchange *x = cc->x;

    if (cc->closing)
        return;
    if (n < 0) {
        if (x == NULL) {
            wdn__http_cc_close(cc);
            return;
        }
        /* The end of the stream: what is already buffered still counts (a complete response
         * followed by a close, or a close-delimited body); the state machine decides. */
        cc->eof = map_uv_error(n);
        wdn__http_tx_read_stop(&cc->tx);
        cc_process(cc);
        return;
    }
    if (x == NULL) {
        /* Bytes on an idle connection: the upstream is confused; do not reuse it. */
        wdn__http_cc_close(cc);
        return;
    }
    cc->rlen += (size_t)n;
    x->got_bytes = true;
    wdn__http_cc_timer_update(cc);
    cc_process(cc);
}

static void cc_ready(struct wdn__http_transport *tx)
{
    struct cconn *cc = (struct cconn *)tx;

    if (cc->state == CC_CONNECTING) {
        cc->state = CC_BUSY;
        wdn__http_cc_timer_update(cc);
    }
    cc_send_queue(cc);
}

const struct wdn__http_transport_cbs wdn__http_cc_tx_cbs = {
    .alloc = cc_alloc,
    .read = cc_read,
    .ready = cc_ready,
};

/* Finishes an exchange: the connection goes back to the pool (before on_done, so a request
 * started from on_done can reuse it) or closes, then the caller hears the outcome. */
static void x_finish(struct wdn_http_exchange *x, int status)
{
    struct cconn *cc = x->cc;
    struct wdn_http_pool *p = x->pool;
    const struct wdn_http_exchange_cbs *cbs = x->cbs;
    void *ud = x->ud;

    if (cc) {
        cc->x = NULL;
        x->cc = NULL;
        if (status == 0 && x->res.keep_alive && x->req_ended && cc->pos == cc->rlen && !cc->eof &&
            !cc->closing && !p->closing && p->nidle < p->max_idle && cc->qhead == NULL) {
            list_unlink(&p->busy, cc);
            cc->state = CC_IDLE;
            cc->reused = true;
            cc->rlen = cc->pos = 0;
            list_push(&p->idle, cc);
            p->nidle++;
            wdn__http_cc_timer_update(cc);
            wdn__http_tx_read_start(&cc->tx);
        } else {
            wdn__http_cc_close(cc);
        }
    }
    x->gen = 0;
    if (cbs && cbs->on_done)
        cbs->on_done(x, status, ud);
    wdn__http_x_put(x);
}

/* What one step of reading did: go on with the next, or stop until more bytes (or a resume)
 * come; STEP_STOP also after the exchange ended or failed. */
enum { STEP_NEXT, STEP_STOP };

/* Parses the response head at cc->pos: skips 1xx heads, hands the final head to on_head and
 * decides how its body is delimited. */
static int read_head(struct cconn *cc, struct wdn_http_exchange *x)
{
    struct wdn_str m = {x->method, x->method_len};
    size_t head_len = 0;
    int rc = wdn_http_parse_response(cc->rbuf + cc->pos, cc->rlen - cc->pos, m, &x->res, &head_len);

    if (rc == WDN_EAGAIN) {
        if (cc->eof)
            wdn__http_cc_fail(cc, cc->eof);
        else if (cc->rlen >= CLIENT_READ_BUF_BYTES)
            wdn__http_cc_fail(cc, WDN_EPROTO);
        return STEP_STOP;
    }
    if (rc < 0 || x->res.status == 101) {
        wdn__http_cc_fail(cc, WDN_EPROTO);
        return STEP_STOP;
    }
    if (x->res.status < 200) {
        cc->pos += head_len; /* 100 Continue and friends: not for the caller */
        return STEP_NEXT;
    }
    x->head_done = true;
    x->body_done = x->res.body == WDN_HTTP_BODY_NONE ||
                   (x->res.body == WDN_HTTP_BODY_LENGTH && x->res.content_length == 0);
    x->body_left = x->res.content_length;
    if (x->res.body == WDN_HTTP_BODY_CHUNKED)
        wdn_http_chunked_init(&x->chunked, UINT64_MAX);
    if (x->res.body == WDN_HTTP_BODY_UNTIL_CLOSE)
        x->res.keep_alive = false;
    if (x->cbs->on_head)
        x->cbs->on_head(x, &x->res, x->ud);
    /* The head's slices are dead from here: its bytes may be overwritten. */
    if (cc->x == x)
        cc->pos += head_len;
    return STEP_NEXT;
}

/* Hands the next piece of the body to on_body (decoded when chunked), or finishes the exchange
 * at its end. */
static int read_body(struct cconn *cc, struct wdn_http_exchange *x)
{
    size_t consumed = 0, avail = cc->rlen - cc->pos;
    struct wdn_str data = {NULL, 0};
    int rc;

    if (x->paused)
        return STEP_STOP;
    if (x->body_done) {
        x_finish(x, 0);
        return STEP_STOP;
    }
    if (avail == 0 && cc->eof) {
        if (x->res.body == WDN_HTTP_BODY_UNTIL_CLOSE && cc->eof == WDN_ECLOSED) {
            x->body_done = true; /* the end of a close-delimited body */
            return STEP_NEXT;
        }
        wdn__http_cc_fail(cc, cc->eof);
        return STEP_STOP;
    }
    if (avail == 0)
        return STEP_STOP;
    if (x->res.body == WDN_HTTP_BODY_LENGTH) {
        consumed = avail < x->body_left ? avail : (size_t)x->body_left;
        data.p = cc->rbuf + cc->pos;
        data.len = consumed;
        x->body_left -= consumed;
        x->body_done = x->body_left == 0;
    } else if (x->res.body == WDN_HTTP_BODY_CHUNKED) {
        rc = wdn_http_chunked_decode(&x->chunked, cc->rbuf + cc->pos, avail, &consumed, &data);
        if (rc < 0) {
            wdn__http_cc_fail(cc, WDN_EPROTO);
            return STEP_STOP;
        }
        x->body_done = rc == 1;
    } else {
        consumed = avail;
        data.p = cc->rbuf + cc->pos;
        data.len = avail;
    }
    x->held = consumed;
    if (data.len > 0 && x->cbs->on_body)
        x->cbs->on_body(x, data, x->ud);
    if (cc->x == x && !x->paused) {
        cc->pos += x->held;
        x->held = 0;
    }
    return STEP_NEXT;
}

/* Reads what the buffer holds for the connection's exchange: its head, then its body, then
 * the connection's reading state. Re-entrant calls (from the callbacks) ask for another turn. */
static void cc_process(struct cconn *cc)
{
    if (cc->in_process) {
        cc->again = true;
        return;
    }
    cc->in_process = true;
    for (;;) {
        struct wdn_http_exchange *x = cc->x;

        cc->again = false;
        if (cc->closing || x == NULL)
            break;
        if ((x->head_done ? read_body(cc, x) : read_head(cc, x)) == STEP_STOP)
            break;
    }
    cc->in_process = false;
    if (!cc->closing && cc->x && !cc->x->paused && cc->pos > 0) {
        /* Consumed bytes leave the buffer (the head's slices died with on_head). */
        memmove(cc->rbuf, cc->rbuf + cc->pos, cc->rlen - cc->pos);
        cc->rlen -= cc->pos;
        cc->pos = 0;
    }
    if (!cc->closing && cc->x) {
        /* Backpressure: reading stops only when the buffer is full (the consumer holds a piece
         * or the upstream sent ahead); stopping at every pause would cost two epoll_ctl calls
         * per response. */
        if (cc->rlen >= CLIENT_READ_BUF_BYTES || cc->eof)
            wdn__http_tx_read_stop(&cc->tx);
        else
            wdn__http_tx_read_start(&cc->tx);
    }
}

static void cc_attach(struct cconn *cc, struct wdn_http_exchange *x)
{
    cc->x = x;
    x->cc = cc;
    cc->pos = cc->rlen = 0;
    if (cc_queue_head(cc, x) != 0) {
        wdn__http_cc_fail(cc, WDN_ENOMEM);
        return;
    }
}

/* ---- Public API --------------------------------------------------------------------------- */

static int build_head(struct wdn_http_pool *p, struct wdn_http_exchange *x,
                      const struct wdn_http_client_request *rq)
{
    struct wdn_buf *b = &x->head;
    bool has_host = false;
    int rc = 0;

    if (rq->method.len == 0 || rq->method.len > WDN_HTTP_MAX_METHOD_BYTES ||
        !wdn__http_field_ok(rq->method, true) || rq->target.len == 0 ||
        !wdn__http_field_ok(rq->target, true))
        return WDN_EINVAL;
    memcpy(x->method, rq->method.p, rq->method.len);
    x->method_len = rq->method.len;
    rc = wdn_buf_append(b, rq->method.p, rq->method.len);
    if (rc == 0)
        rc = wdn_buf_append(b, " ", 1);
    if (rc == 0)
        rc = wdn_buf_append(b, rq->target.p, rq->target.len);
    if (rc == 0)
        rc = wdn_buf_append(b, " HTTP/1.1\r\n", 11);
    for (size_t i = 0; i < rq->nheaders && rc == 0; i++) {
        const struct wdn_http_header *h = &rq->headers[i];
        if (!wdn__http_field_ok(h->name, true) || !wdn__http_field_ok(h->value, false))
            return WDN_EINVAL;
        if (wdn_str_eq_case_cstr(h->name, "host"))
            has_host = true;
        rc = wdn_buf_append(b, h->name.p, h->name.len);
        if (rc == 0)
            rc = wdn_buf_append(b, ": ", 2);
        if (rc == 0)
            rc = wdn_buf_append(b, h->value.p, h->value.len);
        if (rc == 0)
            rc = wdn_buf_append(b, "\r\n", 2);
    }
    if (rc == 0 && !has_host)
        rc = wdn_buf_append_cstr(b, p->host_line);
    if (rc == 0 && rq->body_length == UINT64_MAX) {
        rc = wdn_buf_append_cstr(b, "Transfer-Encoding: chunked\r\n");
    } else if (rc == 0 &&
               (rq->body_length > 0 || wdn_str_eq_cstr(rq->method, "POST") ||
                wdn_str_eq_cstr(rq->method, "PUT") || wdn_str_eq_cstr(rq->method, "PATCH"))) {
        rc = wdn_buf_append(b, "Content-Length: ", 16);
        if (rc == 0)
            rc = wdn_buf_append_u64(b, rq->body_length);
        if (rc == 0)
            rc = wdn_buf_append(b, "\r\n", 2);
    }
    if (rc == 0)
        rc = wdn_buf_append(b, "\r\n", 2);
    return rc;
}

int wdn_http_exchange_start(struct wdn_http_pool *p, const struct wdn_http_client_request *rq,
                            const struct wdn_http_exchange_cbs *cbs, void *ud,
                            struct wdn_http_exchange **out)
{
    struct wdn_http_exchange *x;
    struct cconn *cc;
    int rc;

    *out = NULL;
    if (p->closing)
        return WDN_ESTATE;
    x = x_get(p);
    if (x == NULL)
        return WDN_ENOMEM;
    x->cbs = cbs;
    x->ud = ud;
    rc = build_head(p, x, rq);
    if (rc) {
        wdn__http_x_put(x);
        return rc;
    }
    x->req_chunked = rq->body_length == UINT64_MAX;
    x->req_left = x->req_chunked ? 0 : rq->body_length;
    x->req_ended = rq->body_length == 0;
    p->last_used = uv_now(p->loop);
    /* The most recently used idle connection first: it is the least likely to have been
     * closed by the upstream's idle timeout. */
    cc = p->idle;
    if (cc) {
        list_unlink(&p->idle, cc);
        p->nidle--;
        list_push(&p->busy, cc);
        cc->state = CC_BUSY; /* the idle keep's deadline gives way to the response's below */
    } else {
        cc = wdn__http_cc_new(p);
        if (cc == NULL) {
            wdn__http_x_put(x);
            return WDN_ENOMEM;
        }
    }
    *out = x;
    cc_attach(cc, x);
    if (cc->state == CC_BUSY)
        wdn__http_cc_timer_update(cc);
    return 0;
}

int wdn_http_exchange_write(struct wdn_http_exchange *x, struct wdn_str data,
                            wdn_http_exchange_write_cb cb, void *ud)
{
    struct cconn *cc = x->cc;
    struct wdn__http_wreq *wr;
    char line[32];
    int rc = 0;

    if (x->req_ended)
        return WDN_ESTATE;
    if (cc == NULL)
        return WDN_ECLOSED;
    if (!x->req_chunked && data.len > x->req_left)
        return WDN_EINVAL;
    wr = wr_get(x->pool);
    if (wr == NULL)
        return WDN_ENOMEM;
    if (x->req_chunked && data.len > 0) {
        rc = wdn_fmt(line, sizeof(line), "%zx\r\n", data.len);
        if (rc == 0)
            rc = wdn_buf_append_cstr(&wr->buf, line);
    }
    if (rc == 0 && cb == NULL) {
        rc = wdn_buf_append(&wr->buf, data.p, data.len);
        if (rc == 0 && x->req_chunked && data.len > 0)
            rc = wdn_buf_append(&wr->buf, "\r\n", 2);
        wr->bufs[wr->nbufs++] = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
    } else if (rc == 0) {
        if (wr->buf.len)
            wr->bufs[wr->nbufs++] = uv_buf_init(wr->buf.data, (unsigned)wr->buf.len);
        wr->bufs[wr->nbufs++] = uv_buf_init((char *)data.p, (unsigned)data.len);
        if (x->req_chunked && data.len > 0)
            wr->bufs[wr->nbufs++] = uv_buf_init((char *)"\r\n", 2);
    }
    if (rc) {
        wr_put(x->pool, wr);
        return rc;
    }
    if (!x->req_chunked)
        x->req_left -= data.len;
    x->body_written = true;
    wr->x = x;
    wr->req_gen = x->gen;
    wr->xcb = cb;
    wr->ud = ud;
    cc_enqueue(cc, wr);
    if (cc->x == x && cc->state == CC_BUSY)
        wdn__http_cc_timer_update(cc);
    return 0;
}

int wdn_http_exchange_end(struct wdn_http_exchange *x)
{
    struct cconn *cc = x->cc;
    struct wdn__http_wreq *wr;

    if (x->req_ended)
        return 0;
    if (!x->req_chunked && x->req_left > 0)
        return WDN_EINVAL;
    x->req_ended = true;
    if (!x->req_chunked || cc == NULL)
        return 0;
    wr = wr_get(x->pool);
    if (wr == NULL)
        return WDN_ENOMEM;
    wr->bufs[0] = uv_buf_init((char *)"0\r\n\r\n", 5);
    wr->nbufs = 1;
    wr->x = x;
    wr->req_gen = x->gen;
    x->body_written = true;
    cc_enqueue(cc, wr);
    return 0;
}

void wdn_http_exchange_pause(struct wdn_http_exchange *x)
{
    x->paused = true;
    if (x->cc)
        wdn__http_cc_timer_update(x->cc);
}

void wdn_http_exchange_resume(struct wdn_http_exchange *x)
{
    struct cconn *cc = x->cc;

    if (!x->paused)
        return;
    x->paused = false;
    if (cc == NULL)
        return;
    cc->pos += x->held;
    x->held = 0;
    wdn__http_cc_timer_update(cc);
    cc_process(cc);
}

void wdn_http_exchange_abort(struct wdn_http_exchange *x)
{
    struct cconn *cc = x->cc;

    if (cc) {
        cc->x = NULL;
        x->cc = NULL;
        wdn__http_cc_close(cc);
    }
    wdn__http_x_put(x);
}
