/* The reverse-proxy building block: forward a server request to an upstream over a pooled
 * connection, streaming both ways with backpressure, without hop-by-hop headers, with hooks
 * that let the caller edit the headers (the sidecar sets dapr-caller-app-id, traceparent...).
 *
 * Outcomes: the upstream's response streams through; 502 when the upstream cannot be reached
 * or breaks before its response head; 504 when it stays silent past the response timeout; an
 * upstream that breaks mid-body closes the client connection (never a silent truncation). */
#ifndef WDN_HTTP_PROXY_H
#define WDN_HTTP_PROXY_H

#include <stddef.h>

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
 * Hooks, all optional, called on the loop. A hook returning an error fails the request: a
 * request hook's error is answered 502 unless it is an HTTP status (400..599) to answer
 * instead; a response hook's error gives 502.
 */
struct wdn_http_proxy_hooks {
    int (*request_headers)(struct wdn_http_req *req, struct wdn_http_hdrs *h, void *ud);
    int (*response_headers)(struct wdn_http_req *req, int status, struct wdn_http_hdrs *h,
                            void *ud);
    void *ud;
};

/**
 * Forwards req to pool's upstream and takes ownership of the request (on success the caller's
 * on_req returns 0). target overrides the request-target sent upstream (borrowed: copy it into
 * the request's arena), or is empty to send the client's. hooks is borrowed until the request
 * ends. Returns 0, or an error with the request still the caller's (WDN_ENOMEM, WDN_EINVAL).
 */
int wdn_http_proxy_forward(struct wdn_http_req *req, struct wdn_http_pool *pool,
                           struct wdn_str target, const struct wdn_http_proxy_hooks *hooks);

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
