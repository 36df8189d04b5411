/* Connection I/O under HTTP: plain TCP or TLS (tls.h engine) behind one small interface, so
 * the server and the client code never care which. Not a public header. */
#ifndef WDN_HTTP_TRANSPORT_H
#define WDN_HTTP_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "http/server.h"

struct wdn_tls;
struct wdn_tls_ctx;
struct wdn__http_transport;
struct wdn_http_exchange;

/* One write handed to the transport: the bytes we own (head, chunk framing, copied data) and,
 * for a zero-copy write, the caller's callback. Recycled through free lists so the steady
 * state allocates nothing. */
struct wdn__http_wreq {
    uv_write_t w;
    void *c; /* the connection that wrote it */
    struct wdn__http_wreq *next_free;
    struct wdn_buf buf;
    wdn_http_write_cb cb;
    void *ud;
    uint64_t req_gen; /* the request it belongs to; callbacks of ended requests are dropped */
    char *tls_out;    /* ciphertext we own when the connection is TLS (freed with free()) */
    void (*done)(struct wdn__http_wreq *wr, int status);
    /* Client side: the exchange it belongs to, its callback, and the buffers while queued. */
    struct wdn_http_exchange *x;
    void (*xcb)(struct wdn_http_exchange *x, int status, void *ud);
    struct wdn__http_wreq *qnext;
    uv_buf_t bufs[3];
    unsigned nbufs;
    /* A completion waiting in the loop's deferred queue (struct wdn__http_tx_defer). */
    struct wdn__http_transport *tx;
    struct wdn__http_wreq *dnext;
    int dstatus;
};

/* Writes that left at once (uv_try_write) complete from here: a uv_idle handle runs their
 * callbacks in the order they were queued, from the loop, never inside the call that wrote.
 * A plain uv_write that completes at once costs two epoll_ctl calls (libuv watches for
 * POLLOUT, then stops); this path costs none. One per loop thread: an HTTP server worker
 * binds its own (wdn__http_tx_defer_bind) and every transport made on that loop by that
 * thread uses it; transports on other loops write through uv_write as before. */
struct wdn__http_tx_defer {
    uv_idle_t idle;
    uv_loop_t *loop;
    struct wdn__http_wreq *head, *tail;
    bool ready, closing;
};

/* Sets up d on loop (0 or WDN_ESYS) and makes it this thread's queue for loop. */
int wdn__http_tx_defer_init(struct wdn__http_tx_defer *d, uv_loop_t *loop);
/* This thread's queue is d again (a worker thread, before it runs its loop), or none (NULL). */
void wdn__http_tx_defer_bind(struct wdn__http_tx_defer *d);
/* Stops taking new completions and closes the handle; what is queued still runs (from the
 * close callback). The thread's binding is dropped. */
void wdn__http_tx_defer_close(struct wdn__http_tx_defer *d);

/* A free list of write requests with a cap (one per worker, one per client pool), so the
 * steady state allocates nothing. Used on one loop thread only. */
struct wdn__http_wreq_cache {
    struct wdn__http_wreq *free;
    size_t n;
};

/* A clean write request (buf empty, every pointer field NULL), or NULL when out of memory. */
struct wdn__http_wreq *wdn__http_wreq_get(struct wdn__http_wreq_cache *c);
/* Returns wr (NULL is fine): frees its TLS output and keeps it for reuse while the cache holds
 * fewer than max; a buffer grown past keep_bytes is released. */
void wdn__http_wreq_put(struct wdn__http_wreq_cache *c, struct wdn__http_wreq *wr, size_t max,
                        size_t keep_bytes);
/* Frees every cached request. */
void wdn__http_wreq_cache_drain(struct wdn__http_wreq_cache *c);

/* Callbacks into the connection that owns the transport. */
struct wdn__http_transport_cbs {
    /* Where the next plaintext bytes go; *len 0 means "no room now" (reading pauses). */
    void (*alloc)(struct wdn__http_transport *tx, char **base, size_t *len);
    /* n plaintext bytes landed in the space from alloc; n < 0: EOF or error (then no more). */
    void (*read)(struct wdn__http_transport *tx, ssize_t n);
    /* The TLS handshake completed (clients wait for this before writing); may be NULL. */
    void (*ready)(struct wdn__http_transport *tx);
};

/* Embedded first in a connection struct whose tcp handle's data points at that struct. */
struct wdn__http_transport {
    const struct wdn__http_transport_cbs *cbs;
    uv_tcp_t *tcp;
    struct wdn_tls *tls;
    bool reading;
    bool closing;
    bool ready_sent;
    bool pumping;
    int err;                          /* a fatal TLS error seen while writing */
    struct wdn__http_tx_defer *defer; /* NULL: no write is tried at once */
    unsigned deferred;                /* completions of ours waiting in defer */
};

/* Sets up the transport on a connected (or connecting) tcp handle. With ctx, the connection is
 * TLS: server side when server is true; otherwise client side, verifying server_name. */
int wdn__http_tx_init(struct wdn__http_transport *tx, const struct wdn__http_transport_cbs *cbs,
                      uv_tcp_t *tcp, struct wdn_tls_ctx *ctx, bool server, const char *server_name,
                      const char *session_key);
/* Starts the TLS client handshake (no-op for plain); the ready callback follows. */
int wdn__http_tx_connected(struct wdn__http_transport *tx);
/* True when application data may be written (plain, or TLS after the handshake). */
bool wdn__http_tx_ready(const struct wdn__http_transport *tx);
void wdn__http_tx_read_start(struct wdn__http_transport *tx);
void wdn__http_tx_read_stop(struct wdn__http_transport *tx);
/* Writes bufs (borrowed until done runs); done runs once, from the loop, with 0 or < 0. */
int wdn__http_tx_write(struct wdn__http_transport *tx, struct wdn__http_wreq *wr, uv_buf_t *bufs,
                       unsigned n, void (*done)(struct wdn__http_wreq *wr, int status));
/* Half-close after the queued writes (close_notify first on TLS). */
int wdn__http_tx_shutdown(struct wdn__http_transport *tx, uv_shutdown_t *req, uv_shutdown_cb cb);
/* Closes the tcp handle (close_cb as for uv_close). */
void wdn__http_tx_close(struct wdn__http_transport *tx, uv_close_cb close_cb);
/* Frees the TLS engine; call from the close callback. */
void wdn__http_tx_free(struct wdn__http_transport *tx);
bool wdn__http_tx_is_tls(const struct wdn__http_transport *tx);
struct wdn_tls *wdn__http_tx_tls(struct wdn__http_transport *tx);

#endif
