/* The HTTP/1.1 server on libuv: worker threads, connections, a handler chain, streaming
 * request and response bodies.
 *
 * Threads: the server runs `workers` threads, each with its own libuv loop and its own
 * SO_REUSEPORT listening socket; a connection lives and dies on one worker. The port is the
 * process's alone: a port another process listens on is refused at start (listen.c). Every function
 * below that takes a request must be called on that request's worker thread (the loop thread).
 * Work done elsewhere (a blocking wdn_fetch in the thread pool) comes back to the loop with
 * uv_queue_work's after-work callback or a uv_async_t, and answers from there.
 *
 * Ownership of a request: a handler that takes a request (on_req returns 0) owns it until it
 * finishes the response with wdn_http_respond or wdn_http_resp_end. Those two calls always
 * release the request, even when the client has gone away meanwhile (they then return
 * WDN_ECLOSED); the request and its arena stay valid until then, so a handler answering late
 * never touches freed memory. */
#ifndef WDN_HTTP_SERVER_H
#define WDN_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "base/arena.h"
#include "base/str.h"
#include "http/parser.h"

struct wdn_http_server;
struct wdn_http_worker;
struct wdn_http_req;
struct wdn_tls_ctx;

/** What on_req returns to let the next handler in the chain have the request. */
#define WDN_HTTP_DECLINED 1

/**
 * A handler. Embed this struct first in your own (h2o style) and cast back in on_req.
 * on_req returns 0 when it took the request (it answered, or will answer later), or
 * WDN_HTTP_DECLINED to pass the request on; when every handler declines the server answers
 * 404. The optional worker hooks run on each worker thread when the worker starts and when it
 * has stopped serving (every connection closed), before its loop closes: a handler keeps
 * per-worker state (client pools) there, indexed by wdn_http_worker_id. on_worker_stop must
 * start closing every handle it opened on the loop; the loop runs until they are closed.
 */
struct wdn_http_handler {
    int (*on_req)(struct wdn_http_handler *self, struct wdn_http_req *req);
    int (*on_worker_start)(struct wdn_http_handler *self, struct wdn_http_worker *w);
    void (*on_worker_stop)(struct wdn_http_handler *self, struct wdn_http_worker *w);
};

/** Server settings. Every pointer is borrowed and must outlive the server. Zero = default. */
struct wdn_http_server_config {
    const char *listen;                       /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0" */
    int workers;                              /* worker threads; 0 = number of cores */
    struct wdn_http_handler *const *handlers; /* the chain, tried in order */
    size_t nhandlers;
    uint64_t header_timeout_ms; /* whole head must arrive within (WDN_HTTP_HEADER_TIMEOUT_MS) */
    uint64_t idle_timeout_ms;   /* keep-alive idle (WDN_HTTP_IDLE_TIMEOUT_MS) */
    uint64_t
        read_timeout_ms; /* gap between body reads / stalled writes (WDN_HTTP_READ_TIMEOUT_MS) */
    uint64_t shutdown_grace_ms; /* graceful shutdown bound (WDN_HTTP_SHUTDOWN_GRACE_MS) */
    uint64_t max_body_bytes;    /* request body cap -> 413 (WDN_HTTP_MAX_BODY_BYTES) */
    struct wdn_tls_ctx *tls;    /* serve HTTPS with this server context (the server takes a
                                   reference); NULL = plain */
    const char *server_name;    /* Server header value; NULL = none */
};

/**
 * Creates a server, binds and listens on every worker's socket (so an address in use fails
 * here, synchronously) and starts the worker threads. On success *out is owned by the caller:
 * stop it with wdn_http_server_stop and free it with wdn_http_server_free.
 * Returns 0, WDN_EINVAL (bad listen address), WDN_EEXISTS (the port is in use by another
 * process, or another server of this one: its workers never share a port with anyone),
 * WDN_ESYS, WDN_ENOMEM.
 */
int wdn_http_server_start(const struct wdn_http_server_config *cfg, struct wdn_http_server **out);

/**
 * Replaces the TLS server context (a rotated or reloaded certificate) without closing the
 * listener, so no connection waiting to be accepted is lost; safe from any thread. New
 * connections use ctx (the server takes its own reference: the caller may free its own). A
 * connection accepted on an earlier context is retired without losing a request: the request
 * in progress, or the next one if it is idle, is answered with Connection: close, then it
 * ends. 0, or WDN_EINVAL when ctx is NULL or the server is plain.
 */
int wdn_http_server_set_tls(struct wdn_http_server *srv, struct wdn_tls_ctx *ctx);

/** The port actually bound (useful with port 0). */
int wdn_http_server_port(const struct wdn_http_server *srv);

/**
 * Graceful shutdown; safe from any thread (a signal handler's loop, a test thread). Workers stop
 * accepting, close idle keep-alive connections (a client reusing one retries, as HTTP clients
 * do), let in-flight requests finish (their responses say Connection: close), give a connection
 * that has not sent its first request yet WDN_HTTP_STOP_FIRST_REQUEST_MS to send it (its
 * request may be on the way: the client cannot know the server is stopping and must not see
 * it dropped), and after the grace period close whatever is left. Returns at once;
 * wdn_http_server_free waits for the workers.
 */
void wdn_http_server_stop(struct wdn_http_server *srv);

/** Stops (if not yet), waits for every worker thread to end, frees everything. NULL is fine. */
void wdn_http_server_free(struct wdn_http_server *srv);

/** The worker's index, 0..count-1, and the number of workers. */
int wdn_http_worker_id(const struct wdn_http_worker *w);
int wdn_http_worker_count(const struct wdn_http_worker *w);
/** The worker's loop (borrowed; valid while the worker runs). */
uv_loop_t *wdn_http_worker_loop(struct wdn_http_worker *w);

/* ---- The request ------------------------------------------------------------------------ */

/** The parsed head (method, target, path, query, headers). Borrowed until the request ends. */
const struct wdn_http_request *wdn_http_req_head(const struct wdn_http_req *req);
/** The first header of that name (case-insensitive), or NULL. Borrowed like the head. */
const struct wdn_http_header *wdn_http_req_header(const struct wdn_http_req *req,
                                                  struct wdn_str name);
/** The request's arena: freed at once when the request ends. */
struct wdn_arena *wdn_http_req_arena(struct wdn_http_req *req);
/** The worker serving the request and its loop. */
struct wdn_http_worker *wdn_http_req_worker(struct wdn_http_req *req);
uv_loop_t *wdn_http_req_loop(struct wdn_http_req *req);
/** The client's address (copied into *out). 0 or WDN_ESYS. */
int wdn_http_req_peer(const struct wdn_http_req *req, struct sockaddr_storage *out);
/** True when the connection is TLS. */
bool wdn_http_req_is_tls(const struct wdn_http_req *req);
/**
 * The TLS engine of the connection (to read the verified peer certificate and its SPIFFE ID
 * with the functions of tls.h), or NULL on a plain connection. Borrowed until the request ends.
 */
struct wdn_tls *wdn_http_req_tls(struct wdn_http_req *req);
/** True once the client has gone (reset, closed, timed out); answering is then a no-op. */
bool wdn_http_req_gone(const struct wdn_http_req *req);
/** A slot for the handler's own pointer (not touched by the server). */
void wdn_http_req_set_data(struct wdn_http_req *req, void *data);
void *wdn_http_req_data(const struct wdn_http_req *req);

/**
 * Called once if the connection breaks (client reset or closed, timeout, server shutdown
 * grace over) while a handler owns the request. The handler still ends the request with
 * wdn_http_respond or wdn_http_resp_end, which then return WDN_ECLOSED.
 */
typedef void (*wdn_http_gone_cb)(struct wdn_http_req *req, void *ud);
void wdn_http_req_on_gone(struct wdn_http_req *req, wdn_http_gone_cb cb, void *ud);

/* ---- The request body ------------------------------------------------------------------- */

/**
 * Body delivery. status 0: data is the next piece of the body (possibly empty), borrowed until
 * the callback returns, or, when the callback paused the body, until wdn_http_req_body_resume.
 * status 1: the body is complete (data empty). status < 0: the body failed (WDN_ELIMIT: over
 * the limit; WDN_EPARSE: bad chunked framing; WDN_ECLOSED: the client went away; WDN_ETIMEOUT);
 * no more calls follow, and the handler should answer (a 4xx if it still can) or just end.
 */
typedef void (*wdn_http_body_cb)(struct wdn_http_req *req, int status, struct wdn_str data,
                                 void *ud);

/** True when the request has a body (Content-Length > 0 or chunked). */
bool wdn_http_req_has_body(const struct wdn_http_req *req);
/**
 * Starts streaming the body into cb (sends 100 Continue first when the client asked). Calls
 * happen from the loop, possibly before this returns. 0, or WDN_ESTATE when already started.
 */
int wdn_http_req_read_body(struct wdn_http_req *req, wdn_http_body_cb cb, void *ud);
/** Backpressure: stop deliveries (call from inside the body callback or any time after). */
void wdn_http_req_body_pause(struct wdn_http_req *req);
/** Releases the piece held since the pause and continues delivering. */
void wdn_http_req_body_resume(struct wdn_http_req *req);

/**
 * Reads the whole body (up to max bytes, 0 = the server's limit) into a buffer owned by the
 * request (freed when it ends; the body slice is valid until then) and calls cb once: status 0
 * with the body, or < 0 (WDN_ELIMIT when over max, known from Content-Length before reading,
 * or the errors above).
 */
typedef void (*wdn_http_full_body_cb)(struct wdn_http_req *req, int status, struct wdn_str body,
                                      void *ud);
int wdn_http_req_read_all(struct wdn_http_req *req, size_t max, wdn_http_full_body_cb cb, void *ud);

/* ---- The response ----------------------------------------------------------------------- */

/**
 * Answers in one call: status line, the caller's headers (borrowed for the call; they must not
 * include Content-Length, Transfer-Encoding or Connection, which the server writes), and body
 * (copied). Ends the request. 0, or WDN_ECLOSED when the client is gone, WDN_ESTATE when a
 * response was already started.
 */
int wdn_http_respond(struct wdn_http_req *req, int status, const struct wdn_http_header *headers,
                     size_t nheaders, struct wdn_str body);

/** Length value for wdn_http_resp_start when the length is not known: chunked encoding. */
#define WDN_HTTP_LENGTH_UNKNOWN UINT64_MAX

/**
 * Starts a streamed response. content_length is exact, or WDN_HTTP_LENGTH_UNKNOWN (chunked on
 * HTTP/1.1, close-delimited on HTTP/1.0). The head is sent with the first write, or at the end
 * of the current loop iteration at the latest. Same header rules as wdn_http_respond.
 */
int wdn_http_resp_start(struct wdn_http_req *req, int status, const struct wdn_http_header *headers,
                        size_t nheaders, uint64_t content_length);

/**
 * Called when a write has been handed to the kernel (status 0) or failed (< 0): the moment the
 * caller may reuse or free the data, and the signal for backpressure.
 */
typedef void (*wdn_http_write_cb)(struct wdn_http_req *req, int status, void *ud);

/**
 * Writes a piece of the body and sends it at once (one chunk when chunked), so an SSE event
 * reaches the client without waiting. With cb NULL the data is copied; with cb the data is
 * borrowed until the write completes (zero copy), and cb runs then, once, if this returned 0 and
 * the request is still the caller's: after wdn_http_resp_end, wdn_http_resp_abort or a close
 * has released it, a write completing later runs no callback (req and ud may be gone by then), so
 * borrowed data must belong to something that outlives the connection's writes. Writes beyond
 * content_length, or any body for HEAD/204/304, are WDN_EINVAL. WDN_EBUSY when more than
 * WDN_HTTP_MAX_WRITE_QUEUE_BYTES wait unsent (a client that does not read: use the callback to
 * pace writes). A client that accepts nothing for read_timeout_ms is disconnected. 0,
 * WDN_ECLOSED, WDN_ESTATE (not started or already ended).
 */
int wdn_http_resp_write(struct wdn_http_req *req, struct wdn_str data, wdn_http_write_cb cb,
                        void *ud);

/**
 * Ends the response (the final chunk when chunked) and the request. When fewer bytes than the
 * announced content_length were written, the connection is closed instead (the client sees the
 * truncation). Always releases the request; 0 or WDN_ECLOSED.
 */
int wdn_http_resp_end(struct wdn_http_req *req);

/**
 * Ends the request by closing the connection without a proper end: for a proxy whose upstream
 * broke mid-body, so the client sees a truncated response instead of a silently short one.
 * Releases the request.
 */
void wdn_http_resp_abort(struct wdn_http_req *req);

#endif
