/* Connection I/O for the server and the client: plain TCP straight through libuv, or TLS through
 * the memory-BIO engine of tls.c (ciphertext in and out of the socket, plaintext to and from
 * the HTTP code). */
#include "http/transport.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "http/tls.h"

/* This thread's queue for writes that complete at once (wdn__http_tx_defer_bind). */
static _Thread_local struct wdn__http_tx_defer *bound;

/* Small pieces of one TLS write gathered into one record (the largest plaintext of a record). */
static _Thread_local char tls_gather[WDN_TLS_RECORD_PLAIN_BYTES];

/* A write of ciphertext produced outside an HTTP write (handshake, close_notify, or an early
 * flush while encrypting a large write). */
struct flush_req {
    uv_write_t w;
    char *data;
};

static void on_flush_done(uv_write_t *w, int status)
{
    struct flush_req *f = (struct flush_req *)w;
    free(f->data);
    free(f);
}

/* Sends whatever ciphertext the engine has ready. */
static int tls_flush(struct wdn__http_transport *tx)
{
    struct flush_req *f;
    char *data = NULL;
    size_t len = 0;
    uv_buf_t b;

    if (tx->tls == NULL || tx->closing || wdn_tls_pending_output(tx->tls) == 0)
        return 0;
    f = malloc(sizeof(*f));
    if (f == NULL)
        return WDN_ENOMEM;
    if (wdn_tls_take_output(tx->tls, &data, &len) != 0) {
        free(f);
        return 0;
    }
    f->data = data;
    b = uv_buf_init(data, (unsigned)len);
    if (uv_write(&f->w, (uv_stream_t *)tx->tcp, &b, 1, on_flush_done) != 0) {
        free(data);
        free(f);
        return WDN_ECLOSED;
    }
    return 0;
}

static void plain_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct wdn__http_transport *tx = h->data;
    char *base = NULL;
    size_t len = 0;

    tx->cbs->alloc(tx, &base, &len);
    buf->base = base;
    buf->len = len;
}

static void plain_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct wdn__http_transport *tx = s->data;

    if (n == 0 || tx->closing)
        return;
    if (n == UV_ENOBUFS) {
        wdn__http_tx_read_stop(tx);
        return;
    }
    tx->cbs->read(tx, n);
}

static void tls_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct wdn__http_transport *tx = h->data;
    size_t len = 0;

    buf->base = wdn_tls_in_space(tx->tls, &len);
    buf->len = len;
}

static void check_ready(struct wdn__http_transport *tx)
{
    if (!tx->ready_sent && !tx->closing && wdn_tls_handshake_done(tx->tls)) {
        tx->ready_sent = true;
        if (tx->cbs->ready)
            tx->cbs->ready(tx);
    }
}

/* Moves decrypted bytes to the connection while it has room. */
static void tls_pump(struct wdn__http_transport *tx)
{
    /* A connection that restarts reading from inside its read callback must not pump again
     * underneath this loop, which goes on by itself. */
    if (tx->pumping)
        return;
    tx->pumping = true;
    for (;;) {
        char *base = NULL;
        size_t len = 0;
        int n;

        if (tx->closing)
            break;
        check_ready(tx);
        if (tx->closing)
            break;
        tx->cbs->alloc(tx, &base, &len);
        if (len == 0) {
            /* No room: the rest waits in the engine until read_start pumps again. */
            if (tx->reading) {
                uv_read_stop((uv_stream_t *)tx->tcp);
                tx->reading = false;
            }
            break;
        }
        n = wdn_tls_read(tx->tls, base, len);
        if (n > 0) {
            tx->cbs->read(tx, n);
            /* Nothing left in the engine: another read would only say so, at the cost of a
             * record-layer call per read event. */
            if (!tx->closing && !wdn_tls_has_buffered_input(tx->tls))
                break;
            continue;
        }
        tls_flush(tx);
        if (n == WDN_EAGAIN)
            break;
        /* close_notify or a fatal error (handshake, verification): the connection ends. */
        tx->pumping = false;
        tx->cbs->read(tx, n == WDN_EEOF ? UV_EOF : UV_EPROTO);
        return;
    }
    tx->pumping = false;
    tls_flush(tx);
    check_ready(tx);
}

static void tls_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct wdn__http_transport *tx = s->data;

    if (tx->closing)
        return;
    if (n == UV_ENOBUFS || n == 0) {
        tls_pump(tx);
        return;
    }
    if (n < 0) {
        tx->cbs->read(tx, n);
        return;
    }
    wdn_tls_in_commit(tx->tls, (size_t)n);
    tls_pump(tx);
}

int wdn__http_tx_init(struct wdn__http_transport *tx, const struct wdn__http_transport_cbs *cbs,
                      uv_tcp_t *tcp, struct wdn_tls_ctx *ctx, bool server, const char *server_name,
                      const char *session_key)
{
    tx->cbs = cbs;
    tx->tcp = tcp;
    tx->tls = NULL;
    tx->reading = false;
    tx->closing = false;
    tx->ready_sent = false;
    tx->pumping = false;
    tx->err = 0;
    tx->deferred = 0;
    tx->defer = bound && bound->loop == tcp->loop && !bound->closing ? bound : NULL;
    if (ctx == NULL)
        return 0;
    tx->tls = server ? wdn_tls_new_server(ctx) : wdn_tls_new_client(ctx, server_name, session_key);
    return tx->tls ? 0 : WDN_ENOMEM;
}

int wdn__http_tx_connected(struct wdn__http_transport *tx)
{
    int rc;

    if (tx->tls == NULL)
        return 0;
    rc = wdn_tls_handshake(tx->tls);
    if (rc == WDN_EAGAIN)
        rc = 0;
    if (rc == 0)
        rc = tls_flush(tx);
    if (rc == 0)
        wdn__http_tx_read_start(tx);
    return rc;
}

bool wdn__http_tx_ready(const struct wdn__http_transport *tx)
{
    return tx->tls == NULL || wdn_tls_handshake_done(tx->tls);
}

void wdn__http_tx_read_start(struct wdn__http_transport *tx)
{
    if (tx->closing)
        return;
    if (tx->tls) {
        bool was_reading = tx->reading;
        if (!tx->reading) {
            tx->reading = true;
            uv_read_start((uv_stream_t *)tx->tcp, tls_alloc, tls_read);
        }
        /* Plaintext may already wait in the engine from before the pause. A connection that
         * kept reading, past its handshake, with nothing buffered (a kept-alive connection
         * going back to its pool) has nothing to pump: asking OpenSSL costs a record-layer
         * call per request. */
        if (!was_reading || !tx->ready_sent || wdn_tls_has_buffered_input(tx->tls))
            tls_pump(tx);
        return;
    }
    if (!tx->reading) {
        tx->reading = true;
        uv_read_start((uv_stream_t *)tx->tcp, plain_alloc, plain_read);
    }
}

void wdn__http_tx_read_stop(struct wdn__http_transport *tx)
{
    if (tx->reading) {
        tx->reading = false;
        uv_read_stop((uv_stream_t *)tx->tcp);
    }
}

/* ---- Writes that complete at once ------------------------------------------------------- */

/* Runs the completions queued so far; one that writes again queues for the next turn. */
static void defer_run(struct wdn__http_tx_defer *d)
{
    struct wdn__http_wreq *wr = d->head;

    d->head = d->tail = NULL;
    while (wr) {
        struct wdn__http_wreq *next = wr->dnext;
        wr->dnext = NULL;
        wr->tx->deferred--;
        wr->done(wr, wr->dstatus);
        wr = next;
    }
}

static void on_defer_idle(uv_idle_t *h)
{
    struct wdn__http_tx_defer *d = h->data;

    defer_run(d);
    if (d->head == NULL)
        uv_idle_stop(h);
}

static void on_defer_closed(uv_handle_t *h)
{
    struct wdn__http_tx_defer *d = h->data;

    while (d->head)
        defer_run(d);
    d->ready = false;
}

static void defer_push(struct wdn__http_tx_defer *d, struct wdn__http_wreq *wr, int status)
{
    wr->dstatus = status;
    wr->dnext = NULL;
    wr->tx->deferred++;
    if (d->tail)
        d->tail->dnext = wr;
    else
        d->head = wr;
    d->tail = wr;
    if (!d->closing)
        uv_idle_start(&d->idle, on_defer_idle);
}

int wdn__http_tx_defer_init(struct wdn__http_tx_defer *d, uv_loop_t *loop)
{
    memset(d, 0, sizeof(*d));
    if (uv_idle_init(loop, &d->idle) != 0)
        return WDN_ESYS;
    d->idle.data = d;
    d->loop = loop;
    d->ready = true;
    return 0;
}

void wdn__http_tx_defer_bind(struct wdn__http_tx_defer *d)
{
    bound = d;
}

void wdn__http_tx_defer_close(struct wdn__http_tx_defer *d)
{
    if (bound == d)
        bound = NULL;
    if (!d->ready || d->closing)
        return;
    d->closing = true;
    uv_close((uv_handle_t *)&d->idle, on_defer_closed);
}

static void on_tx_write(uv_write_t *w, int status)
{
    struct wdn__http_wreq *wr = (struct wdn__http_wreq *)w;

    /* Completions keep the order of the writes: this one waits behind those of ours that
     * left at once and are still queued. */
    if (wr->tx->deferred > 0) {
        defer_push(wr->tx->defer, wr, status);
        return;
    }
    wr->done(wr, status);
}

/* Sends bufs: first straight to the socket when nothing is queued on it (uv_try_write), then
 * whatever it did not take through uv_write. Errors of the attempt are left to uv_write to
 * report, as before. */
static int send_bufs(struct wdn__http_transport *tx, struct wdn__http_wreq *wr, uv_buf_t *bufs,
                     unsigned n)
{
    uv_buf_t rest[4];
    size_t total = 0, skip;
    unsigned j = 0;
    int k;

    if (tx->defer == NULL || tx->defer->closing || n > 4)
        goto queue;
    for (unsigned i = 0; i < n; i++)
        total += bufs[i].len;
    k = uv_try_write((uv_stream_t *)tx->tcp, bufs, n);
    if (k < 0)
        goto queue;
    if ((size_t)k == total) {
        defer_push(tx->defer, wr, 0);
        return 0;
    }
    skip = (size_t)k;
    for (unsigned i = 0; i < n; i++) {
        if (skip >= bufs[i].len) {
            skip -= bufs[i].len;
            continue;
        }
        rest[j++] = uv_buf_init(bufs[i].base + skip, (unsigned)(bufs[i].len - skip));
        skip = 0;
    }
    bufs = rest;
    n = j;
queue:
    return uv_write(&wr->w, (uv_stream_t *)tx->tcp, bufs, n, on_tx_write) ? WDN_ECLOSED : 0;
}

int wdn__http_tx_write(struct wdn__http_transport *tx, struct wdn__http_wreq *wr, uv_buf_t *bufs,
                       unsigned n, void (*done)(struct wdn__http_wreq *wr, int status))
{
    uv_buf_t out, one;
    char *data = NULL;
    size_t len = 0;

    wr->done = done;
    wr->tx = tx;
    if (tx->closing)
        return WDN_ECLOSED;
    if (tx->tls == NULL)
        return send_bufs(tx, wr, bufs, n);
    /* TLS: a head and a small body (or a chunk and its framing) become one record instead of
     * one each: every record costs a seal on this side and an open on the other. */
    if (n > 1) {
        size_t total = 0;
        for (unsigned i = 0; i < n; i++)
            total += bufs[i].len;
        if (total <= sizeof(tls_gather)) {
            size_t off = 0;
            for (unsigned i = 0; i < n; i++) {
                if (bufs[i].len > 0)
                    memcpy(tls_gather + off, bufs[i].base, bufs[i].len);
                off += bufs[i].len;
            }
            one = uv_buf_init(tls_gather, (unsigned)total);
            bufs = &one;
            n = 1;
        }
    }
    /* Encrypt everything now (so the caller's bytes are free once done runs), sending early
     * whenever the engine's output reaches its high-water mark. */
    for (unsigned i = 0; i < n; i++) {
        const char *p = bufs[i].base;
        size_t left = bufs[i].len;
        while (left > 0) {
            int k = wdn_tls_write(tx->tls, p, left);
            if (k > 0) {
                p += k;
                left -= (size_t)k;
                continue;
            }
            if (k == WDN_EAGAIN && wdn_tls_pending_output(tx->tls) > 0) {
                if (tls_flush(tx) != 0)
                    return WDN_ECLOSED;
                continue;
            }
            tx->err = k;
            return k == WDN_EAGAIN ? WDN_ESTATE : WDN_ETLS;
        }
    }
    if (wdn_tls_take_output(tx->tls, &data, &len) != 0) {
        data = NULL;
        len = 0;
    }
    wr->tls_out = data;
    out = uv_buf_init(data, (unsigned)len);
    return send_bufs(tx, wr, &out, 1);
}

int wdn__http_tx_shutdown(struct wdn__http_transport *tx, uv_shutdown_t *req, uv_shutdown_cb cb)
{
    if (tx->closing)
        return WDN_ECLOSED;
    if (tx->tls) {
        wdn_tls_close(tx->tls);
        tls_flush(tx);
    }
    return uv_shutdown(req, (uv_stream_t *)tx->tcp, cb) ? WDN_ECLOSED : 0;
}

void wdn__http_tx_close(struct wdn__http_transport *tx, uv_close_cb close_cb)
{
    if (tx->closing)
        return;
    tx->closing = true;
    if (tx->reading) {
        uv_read_stop((uv_stream_t *)tx->tcp);
        tx->reading = false;
    }
    uv_close((uv_handle_t *)tx->tcp, close_cb);
}

void wdn__http_tx_free(struct wdn__http_transport *tx)
{
    wdn_tls_free(tx->tls);
    tx->tls = NULL;
}

bool wdn__http_tx_is_tls(const struct wdn__http_transport *tx)
{
    return tx->tls != NULL;
}

struct wdn_tls *wdn__http_tx_tls(struct wdn__http_transport *tx)
{
    return tx->tls;
}

struct wdn__http_wreq *wdn__http_wreq_get(struct wdn__http_wreq_cache *c)
{
    struct wdn__http_wreq *wr = c->free;
    struct wdn_buf buf;

    if (wr) {
        c->free = wr->next_free;
        c->n--;
        buf = wr->buf;
        buf.len = 0;
    } else {
        wr = malloc(sizeof(*wr));
        if (wr == NULL)
            return NULL;
        wdn_buf_init(&buf, (size_t)WDN_HTTP_MAX_BODY_BYTES + 65536);
    }
    memset(wr, 0, sizeof(*wr));
    wr->buf = buf;
    return wr;
}

void wdn__http_wreq_put(struct wdn__http_wreq_cache *c, struct wdn__http_wreq *wr, size_t max,
                        size_t keep_bytes)
{
    if (wr == NULL)
        return;
    free(wr->tls_out);
    wr->tls_out = NULL;
    if (wr->buf.cap > keep_bytes)
        wdn_buf_reset(&wr->buf);
    if (c->n >= max) {
        wdn_buf_reset(&wr->buf);
        free(wr);
        return;
    }
    wr->next_free = c->free;
    c->free = wr;
    c->n++;
}

void wdn__http_wreq_cache_drain(struct wdn__http_wreq_cache *c)
{
    while (c->free) {
        struct wdn__http_wreq *wr = c->free;
        c->free = wr->next_free;
        wdn_buf_reset(&wr->buf);
        free(wr);
    }
    c->n = 0;
}
