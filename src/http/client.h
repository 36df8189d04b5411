/* The HTTP/1.1 client on libuv: connection pools per upstream with keep-alive reuse, streaming
 * request and response bodies with backpressure, connect and response timeouts, TLS.
 *
 * Everything here belongs to one loop (one server worker): a pool and its exchanges are used
 * only on that loop's thread. A pool serves one upstream (host:port, plain or TLS); a client
 * is a set of pools keyed by upstream, one per worker, for callers that talk to many upstreams
 * (the sidecar's app channel and peer sidecars). */
#ifndef WDN_HTTP_CLIENT_H
#define WDN_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/str.h"
#include "http/parser.h"

struct wdn_http_pool;
struct wdn_http_client;
struct wdn_http_exchange;
struct wdn_tls_ctx;

/** An upstream and how to talk to it. Strings are copied; tls is referenced (borrowed: it
 * must outlive the pool). Zero values take the defaults of base/limits.h. */
struct wdn_http_pool_config {
    const char *host; /* IPv4/IPv6 literal, or a DNS name resolved off the loop
                         (uv_getaddrinfo, IPv4 first, reused for 30 s) */
    int port;
    struct wdn_tls_ctx *tls;      /* client context for HTTPS (the pool holds a reference) */
    const char *server_name;      /* name the server certificate must match; NULL = host */
    uint64_t connect_timeout_ms;  /* WDN_HTTP_UPSTREAM_CONNECT_TIMEOUT_MS */
    uint64_t response_timeout_ms; /* no byte from the upstream for this long:
                                     WDN_HTTP_UPSTREAM_TIMEOUT_MS */
    uint64_t idle_timeout_ms;     /* idle pooled connection kept this long: 30 s */
    size_t max_idle;              /* idle connections kept: WDN_HTTP_POOL_MAX_IDLE */
};

/**
 * Creates a pool on loop. *out is owned by the caller (wdn_http_pool_free). 0, WDN_EINVAL (bad
 * host or port), WDN_ENOMEM.
 */
int wdn_http_pool_new(uv_loop_t *loop, const struct wdn_http_pool_config *cfg,
                      struct wdn_http_pool **out);

/**
 * Closes the idle connections and frees the pool once its handles are closed (the loop must
 * run on). Exchanges still running are aborted without callbacks. NULL is fine.
 */
void wdn_http_pool_free(struct wdn_http_pool *pool);

/** Idle connections currently kept (for tests and metrics). */
size_t wdn_http_pool_idle(const struct wdn_http_pool *pool);
/** Connections opened since the pool was created (for tests: reuse means this stays low). */
uint64_t wdn_http_pool_connects(const struct wdn_http_pool *pool);

/** A set of pools on one loop, keyed by host, port and TLS context. Owned by the caller. */
int wdn_http_client_new(uv_loop_t *loop, struct wdn_http_client **out);
/**
 * The pool for cfg's upstream, created on first use with cfg's settings. *out is borrowed
 * (owned by the client). 0, WDN_EINVAL, WDN_ENOMEM.
 */
int wdn_http_client_pool(struct wdn_http_client *cl, const struct wdn_http_pool_config *cfg,
                         struct wdn_http_pool **out);
/** Frees every pool (as wdn_http_pool_free) and the client. NULL is fine. */
void wdn_http_client_free(struct wdn_http_client *cl);
/** How long a pool may have no connection before wdn_http_client_pool frees it (default
 * WDN_HTTP_POOL_EVICT_MS; tests shorten it). */
void wdn_http_client_set_evict_ms(struct wdn_http_client *cl, uint64_t ms);
/** Pools the client holds now. */
size_t wdn_http_client_npools(const struct wdn_http_client *cl);

/** What to send. Everything is borrowed for the call only (the head is serialized at once). */
struct wdn_http_client_request {
    struct wdn_str method;                 /* "GET" */
    struct wdn_str target;                 /* "/path?query" */
    const struct wdn_http_header *headers; /* without Content-Length, Transfer-Encoding,
                                              Connection; a Host is added when missing */
    size_t nheaders;
    uint64_t body_length; /* 0: no body; WDN_HTTP_LENGTH_UNKNOWN (server.h)
                             or UINT64_MAX: chunked */
};

/**
 * Callbacks of one exchange, all from the loop. on_head: the response head (1xx responses are
 * skipped), borrowed for the call. on_body: the next piece, borrowed until the callback
 * returns or, if it called wdn_http_exchange_pause, until wdn_http_exchange_resume. on_done:
 * the last call: 0 when the response was complete, else WDN_ECONNREFUSED (no connection
 * could be made: refused, host or network unreachable),
 * WDN_ECONNRESET (reset), WDN_ECLOSED (closed early), WDN_ETIMEOUT (connect or response
 * timeout), WDN_EPROTO (malformed response), WDN_ETLS, WDN_EDNS (the name did not resolve); the
 * exchange is freed after it returns.
 */
struct wdn_http_exchange_cbs {
    void (*on_head)(struct wdn_http_exchange *x, const struct wdn_http_response *res, void *ud);
    void (*on_body)(struct wdn_http_exchange *x, struct wdn_str data, void *ud);
    void (*on_done)(struct wdn_http_exchange *x, int status, void *ud);
};

/**
 * Starts an exchange on an idle pooled connection or a new one. cbs is borrowed for the
 * exchange's life. A request without a body is complete at once; with a body, write it with
 * wdn_http_exchange_write and finish with wdn_http_exchange_end. *out is valid until on_done
 * returns or until wdn_http_exchange_abort. 0, WDN_EINVAL (bad header), WDN_ENOMEM.
 */
int wdn_http_exchange_start(struct wdn_http_pool *pool, const struct wdn_http_client_request *rq,
                            const struct wdn_http_exchange_cbs *cbs, void *ud,
                            struct wdn_http_exchange **out);

/** Called when a body write was handed to the kernel (0) or failed (< 0). */
typedef void (*wdn_http_exchange_write_cb)(struct wdn_http_exchange *x, int status, void *ud);

/**
 * Writes a piece of the request body: copied when cb is NULL, else borrowed until cb runs
 * (cb is called iff this returns 0, and never after on_done or abort). 0, WDN_EINVAL (more than
 * body_length), WDN_ESTATE (ended), WDN_ENOMEM.
 */
int wdn_http_exchange_write(struct wdn_http_exchange *x, struct wdn_str data,
                            wdn_http_exchange_write_cb cb, void *ud);
/** Ends the request body. WDN_EINVAL when fewer than body_length bytes were written. */
int wdn_http_exchange_end(struct wdn_http_exchange *x);
/** Backpressure on the response body (from on_body or later). */
void wdn_http_exchange_pause(struct wdn_http_exchange *x);
void wdn_http_exchange_resume(struct wdn_http_exchange *x);
/** Cancels: no more callbacks; the connection is closed (never reused). x is freed. */
void wdn_http_exchange_abort(struct wdn_http_exchange *x);

#endif
