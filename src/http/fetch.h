/* Blocking outbound HTTP(S)/1.1 requests over plain sockets and OpenSSL, for calls that are not
 * on the proxy data path: token endpoints, discovery documents, JWKS, the MCP client. Callers
 * run them off the event loop. One request per connection, unless the caller keeps one
 * (struct wdn_fetch_keep: a thread that sends many requests to one place); redirects are never
 * followed; responses are parsed by the strict parser of http/parser.h. See docs/fetch.md. */
#ifndef WDN_HTTP_FETCH_H
#define WDN_HTTP_FETCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/diag.h"
#include "http/parser.h"

/**
 * A connection kept open between requests to the same origin (HTTP/1.1 keep-alive), for a
 * caller that sends many requests to one place from one thread (the span exporter). Used by one
 * call at a time; wdn_fetch_keep_free closes it.
 */
struct wdn_fetch_keep;
/** A holder with no connection yet; NULL when out of memory. */
struct wdn_fetch_keep *wdn_fetch_keep_new(void);
/** Closes the kept connection, if any, and frees the holder. NULL is fine. */
void wdn_fetch_keep_free(struct wdn_fetch_keep *k);

/** What to send. Every pointer is borrowed for the duration of the call. Zero fields take the
 * defaults named here, so `{.url = u}` is a complete GET. */
struct wdn_fetch_request {
    const char *method;         /* "GET" when NULL */
    const char *url;            /* http:// or https:// only; no user@ part */
    const char *const *headers; /* NULL-terminated list of "Name: value", or NULL. Host,
                                   Content-Length, Transfer-Encoding and Connection are ours
                                   and refused here; User-Agent and Accept replace ours. */
    const void *body;           /* request body, or NULL (then no Content-Length is sent) */
    size_t body_len;
    long timeout_ms;         /* whole transfer; 0 = WDN_FETCH_DEFAULT_TIMEOUT_MS */
    long connect_timeout_ms; /* TCP connect (every address in turn); 0 = the smaller of
                                timeout_ms and 10 s */
    const char *ca_file;     /* trust these CAs too, besides the system's default paths
                                (which honour SSL_CERT_FILE and SSL_CERT_DIR); NULL = only
                                those */
    size_t max_response;     /* response body cap; 0 = WDN_FETCH_DEFAULT_MAX_BODY; more is
                                WDN_ELIMIT; SIZE_MAX for none (streaming callers) */
    size_t max_head;         /* response head cap; 0 = WDN_HTTP_MAX_HEAD_BYTES (also the
                                most the parser accepts); more is WDN_ELIMIT */
    bool https_only;         /* refuse http:// URLs with WDN_EINVAL */
    bool public_only;        /* SSRF guard, for a URL someone else chose (a Client ID Metadata
                                Document, discovered metadata): implies https_only and no proxy
                                from the environment, and every address the host resolves to
                                that is not public unicast is refused (wdn_fetch_addr_public),
                                checked on the address connected to, so DNS cannot change it
                                between check and use. Nothing usable: WDN_EDENIED */
    bool no_proxy_env;       /* ignore http_proxy/https_proxy/... from the environment */
    atomic_bool *stop;       /* when set, becomes true to abandon the transfer: the call
                                returns WDN_ECANCELED within WDN_FETCH_POLL_SLICE_MS of a
                                wait (name resolution itself is not interruptible) */
    /* NULL: one connection per request (Connection: close). Else the request goes over the
     * connection kept there when it is to the same scheme, host, port and CA file and still
     * open (no proxy), and the connection is kept there after a response that allows it
     * (HTTP/1.1, no Connection: close, a framed body read to its end). A kept connection the
     * server closed before answering is replaced once. */
    struct wdn_fetch_keep *keep;
};

/** What came back. Owned by the caller: wdn_fetch_response_reset frees it. */
struct wdn_fetch_response {
    long status;                 /* HTTP status; 0 when no response arrived */
    struct wdn_buf body;         /* NUL-terminated via wdn_buf_cstr */
    char content_type[128];      /* "" when absent */
    char cache_control[256];     /* "" when absent */
    char www_authenticate[1024]; /* first WWW-Authenticate header, "" when absent */
};

/**
 * Performs the request, following no redirects (a redirect is returned as is). Returns 0 when
 * a response arrived (whatever its status), else WDN_ECONNREFUSED, WDN_ETIMEOUT, WDN_ETLS (with
 * the verification failure's reason), WDN_EDNS, WDN_ECONNRESET (closed early), WDN_ELIMIT (head
 * over max_head or body over max_response), WDN_EINVAL (bad URL, scheme, header or proxy
 * setting), WDN_ECANCELED (stop flag), WDN_ENOMEM or WDN_EIO (malformed response, other
 * failures), with a message naming the URL (never a header) in diag (may be NULL).
 * resp is initialised by the call, also on failure.
 */
int wdn_fetch(const struct wdn_fetch_request *req, struct wdn_fetch_response *resp,
              struct wdn_diag *diag);

/** The status line and headers of a streamed response. Borrowed, valid during the callback. */
struct wdn_fetch_head {
    int status;
    const struct wdn_http_header *headers;
    size_t nheaders;
};

/** Called once with the final response head (1xx heads are skipped). Return 0 to go on, 1 to
 * stop the transfer (the call then returns 0), or a negative WDN_E* to fail with it. */
typedef int (*wdn_fetch_head_fn)(void *ud, const struct wdn_fetch_head *head);
/** Called with each piece of decoded body (chunked framing removed); data is borrowed for the
 * call. Returns like wdn_fetch_head_fn. */
typedef int (*wdn_fetch_body_fn)(void *ud, const char *data, size_t len);

/** The callbacks of a streaming request; on_head and on_body may be NULL. */
struct wdn_fetch_callbacks {
    wdn_fetch_head_fn on_head;
    wdn_fetch_body_fn on_body;
    void *ud;
};

/**
 * Performs the request like wdn_fetch, handing the response to cb as it arrives instead of
 * collecting it. A callback that returns 1 ends the transfer early, which is success (0); one
 * that returns a negative code ends it with that code (diag then says the caller stopped it).
 * Body bytes past req->max_response are WDN_ELIMIT. *status (may be NULL) receives the final
 * status, 0 when none arrived.
 */
int wdn_fetch_stream(const struct wdn_fetch_request *req, const struct wdn_fetch_callbacks *cb,
                     long *status, struct wdn_diag *diag);

/**
 * True when sa (AF_INET or AF_INET6) is a public unicast address: not unspecified, loopback,
 * private (RFC 1918, IPv6 ULA), shared (100.64/10), link-local (169.254/16 with the cloud
 * metadata address, fe80::/10), multicast, broadcast, reserved, documentation or benchmarking
 * ranges, nor one of those inside an IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4 address.
 */
struct sockaddr;
bool wdn_fetch_addr_public(const struct sockaddr *sa);

/** Frees what a response owns. */
void wdn_fetch_response_reset(struct wdn_fetch_response *resp);

/**
 * The CA bundle warden's outbound clients trust, from the environment: WARDEN_CA_FILE, then
 * CURL_CA_BUNDLE (still honoured for existing set-ups), then SSL_CERT_FILE; NULL when none is
 * set (the system store is used).
 */
const char *wdn_fetch_ca_file_from_env(void);

#endif
