/* The reverse-proxy building block: forward a server request to an upstream over a pooled
 * connection, streaming both ways with backpressure, without hop-by-hop headers, with hooks
 * that let the caller edit the headers (the sidecar sets dapr-caller-app-id, traceparent...).
 *
 * Outcomes: the upstream's response streams through; 502 when the upstream cannot be reached
 * (after the reroute hook, if any, named no other upstream that could) or breaks before its
 * response head; 504 when it stays silent past the response timeout; an
 * upstream that breaks mid-body closes the client connection (never a silent truncation).
 * This is the one proxy engine: the sidecar's forwarding is a set of hooks on it (errors in
 * Dapr's shape, metrics, a body read in advance, the MCP tools/list rewrite, retries). */
#ifndef WDN_HTTP_PROXY_H
#define WDN_HTTP_PROXY_H

#include <stddef.h>

#include "base/buf.h"
#include "base/str.h"
#include "http/client.h"
#include "http/parser.h"
#include "http/server.h"

/** Extra room for headers a hook adds beyond what the message carried. */
#define WDN_HTTP_PROXY_EXTRA_HEADERS 32

/**
 * A header list being forwarded. The slices are borrowed: from the message, or from whatever
 * the hook points them at, which must live until the request ends (use the request's arena).
 */
struct wdn_http_hdrs {
    size_t n;
    struct wdn_http_header v[WDN_HTTP_MAX_HEADERS + WDN_HTTP_PROXY_EXTRA_HEADERS];
};

/** Appends a header. 0 or WDN_ELIMIT. */
int wdn_http_hdrs_add(struct wdn_http_hdrs *h, struct wdn_str name, struct wdn_str value);
/** Removes every header of that name (case-insensitive); returns how many. */
size_t wdn_http_hdrs_remove(struct wdn_http_hdrs *h, struct wdn_str name);
/** Replaces every header of that name with one. 0 or WDN_ELIMIT. */
int wdn_http_hdrs_set(struct wdn_http_hdrs *h, struct wdn_str name, struct wdn_str value);
/** The first header of that name or NULL (borrowed from h). */
const struct wdn_http_header *wdn_http_hdrs_get(const struct wdn_http_hdrs *h, struct wdn_str name);

/**
 * Copies the end-to-end headers of in[0..n) into out: drops hop-by-hop headers (RFC 9110
 * 7.6.1), headers named in Connection, Content-Length, Transfer-Encoding and Expect (framing is
 * the proxy's business on each side). Returns 0 or WDN_ELIMIT.
 */
int wdn_http_hdrs_end_to_end(const struct wdn_http_header *in, size_t n, struct wdn_http_hdrs *out);

/**
 * The answer to a failure before any response head went out, as the error hook may shape it.
 * The proxy fills status (502: the upstream could not be reached or broke before its head, or
 * a response hook or transform failed; 504: silent past the response timeout; 400, 408 or 413:
 * the client's body broke; or the HTTP status a request hook returned), a text/plain content
 * type and a short body; the hook may change all three. headers are borrowed until the proxy
 * has sent the answer (static text or the request's arena); body is the proxy's buffer.
 */
struct wdn_http_proxy_answer {
    int status;
    struct wdn_http_header headers[4];
    size_t nheaders;
    struct wdn_buf body;
};

/**
 * Hooks, all optional, called on the loop with ud. They let a caller (the sidecar) shape what
 * is sent and answered while the proxy keeps the streaming, the framing and the failures.
 *
 * request_headers: edits the headers sent upstream when the caller passed none of its own. An
 *   error fails the request: 502, or the HTTP status (400..599) it returns.
 * response_headers: edits the upstream's response headers before the client gets them; an
 *   error answers 502.
 * error: shapes the answer to a failure before any response head (see the answer above); err
 *   is the cause (WDN_E*, or the request hook's status).
 * response: called once per forward with the status of the response head the client gets (the
 *   upstream's, a transformed response's, or an error answer's), when that head is committed;
 *   499 when the client left before any head. For metrics: the time to the head.
 * transform: rewrites a whole 200 response to a request other than HEAD, buffered in memory
 *   (at most max_transform_bytes, else 502): appends a replacement to out and returns 0,
 *   returns 1 to send the body unchanged, or a negative WDN_E* to answer an error (502).
 * done: called once when the proxy is finished with the hooks (after the last hook call and
 *   before the request ends, so ud may live in the request's arena): release what ud holds.
 *   Not called when wdn_http_proxy_forward fails.
 * reroute: the connection to the current upstream could not be made (err WDN_ECONNREFUSED:
 *   refused, host or network unreachable; nothing of the request left this process): return 0
 *   with *pool set to send the whole request to another upstream at once (borrowed until the
 *   request ends, like the first pool), or an error to answer the failure as usual (the error
 *   hook). Asked at most WDN_HTTP_PROXY_MAX_REROUTES times per request, and only while the
 *   request can be sent again in full: no body, a body read in advance, or a streamed body
 *   whose pieces so far are still held (the upstream never took one).
 */
struct wdn_http_proxy_hooks {
    int (*request_headers)(struct wdn_http_req *req, struct wdn_http_hdrs *h, void *ud);
    int (*response_headers)(struct wdn_http_req *req, int status, struct wdn_http_hdrs *h,
                            void *ud);
    void (*error)(struct wdn_http_req *req, int err, struct wdn_http_proxy_answer *a, void *ud);
    void (*response)(struct wdn_http_req *req, int status, void *ud);
    int (*transform)(struct wdn_http_req *req, struct wdn_str content_type, struct wdn_str body,
                     struct wdn_buf *out, void *ud);
    void (*done)(struct wdn_http_req *req, void *ud);
    int (*reroute)(struct wdn_http_req *req, int err, struct wdn_http_pool **pool, void *ud);
    void *ud;
};

/** What to send upstream besides the client's request. Everything is borrowed until the
 * request ends (the request's head or arena). Zero values: as the client sent it. */
struct wdn_http_proxy_request {
    struct wdn_str target;               /* empty: the client's request-target */
    const struct wdn_http_hdrs *headers; /* NULL: the client's end-to-end headers, through the
                                            request_headers hook */
    const struct wdn_str *body;          /* the client's body already read in full, or NULL to
                                            stream it */
    bool retry;                 /* a pooled connection the upstream closed just as it was reused
                                   fails before any response byte: send the request once more on
                                   a fresh connection when its body can be sent again (none, or
                                   read in full), as HTTP clients do */
    size_t max_transform_bytes; /* the transform's buffer; 0 = WDN_HTTP_MAX_BODY_BYTES */
};

/**
 * Forwards req to pool's upstream and takes ownership of the request (on success the caller's
 * on_req returns 0). rq (NULL: all defaults) and hooks (may be NULL) are borrowed until the
 * request ends. Returns 0, or an error with the request still the caller's and no hook called
 * (WDN_ENOMEM, WDN_EINVAL, or a request hook's error).
 */
int wdn_http_proxy_forward(struct wdn_http_req *req, struct wdn_http_pool *pool,
                           const struct wdn_http_proxy_request *rq,
                           const struct wdn_http_proxy_hooks *hooks);

/** A ready-made handler forwarding every request to one upstream (hello-proxy uses it). */
struct wdn_http_proxy_config {
    struct wdn_http_pool_config upstream; /* copied (strings too) */
    struct wdn_http_proxy_hooks hooks;    /* copied */
};

struct wdn_http_proxy;
/** Creates the handler; the caller owns it and frees it after the server. 0 or WDN_E*. */
int wdn_http_proxy_new(const struct wdn_http_proxy_config *cfg, struct wdn_http_proxy **out);
/** The handler to put in a server's chain (borrowed from p). */
struct wdn_http_handler *wdn_http_proxy_handler(struct wdn_http_proxy *p);
/** Frees the handler (after wdn_http_server_free). NULL is fine. */
void wdn_http_proxy_free(struct wdn_http_proxy *p);

#endif
