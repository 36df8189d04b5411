/* Internal to src/http's blocking client: URL parsing and the proxy decision (fetch_url.c),
 * pure functions of their inputs so the fuzzer and the tests can drive them directly; the TLS
 * context cache (fetch_tls.c); the connection of one transfer (fetch_conn.c). */
#ifndef WDN_HTTP_FETCH_INT_H
#define WDN_HTTP_FETCH_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/limits.h"
#include "base/str.h"

struct wdn_tls;
struct wdn_tls_ctx;

/** A parsed http:// or https:// URL. */
struct wdn__fetch_url {
    bool tls;                                /* https */
    bool ip;                                 /* host is an IPv4 or IPv6 literal */
    bool ipv6;                               /* host is an IPv6 literal (bracketed in the URL) */
    uint16_t port;                           /* explicit or the scheme's default */
    char host[WDN_FETCH_MAX_HOST_BYTES + 1]; /* without brackets, as written */
    struct wdn_str target;                   /* path and query, borrowed from the input, without
                                                the fragment; empty means "/" */
    char auth[WDN_FETCH_MAX_PROXY_AUTH_BYTES + 1]; /* proxies only: "user:password",
                                                      percent-decoded; "" when none */
};

/**
 * Parses url (NUL-terminated, borrowed: u->target points into it). Targets (proxy false) must be
 * http:// or https:// with no userinfo. Proxy URLs (proxy true) may omit the scheme (http is
 * assumed), may carry "user:password@", must be http://, and default to port 1080 as curl does.
 * Returns 0 or WDN_EINVAL with a reason in why (cap bytes, may be NULL for none).
 */
int wdn__fetch_url_parse(const char *url, bool proxy, struct wdn__fetch_url *u, char *why,
                         size_t cap);

/**
 * True when host (a parsed URL's host) must bypass a proxy: it matches the no_proxy list
 * (curl's rules: comma- or space-separated, "*" matches everything, names match themselves and
 * their subdomains, a leading dot is ignored, IP literals match exactly or by CIDR prefix) or it
 * is a loopback destination (localhost, *.localhost, 127.0.0.0/8, ::1). list may be NULL.
 */
bool wdn__fetch_no_proxy(const char *list, const struct wdn__fetch_url *host);

/**
 * The proxy setting that applies to target from explicit values (NULL = unset), in curl's order:
 * http:// targets use http_proxy (the lowercase name only, as curl, so a CGI "Proxy:" request
 * header cannot steer it), https:// targets https_proxy then HTTPS_PROXY; both fall back to
 * all_proxy then ALL_PROXY. Returns the chosen value (borrowed) or NULL.
 */
const char *wdn__fetch_proxy_pick(bool tls, const char *http_proxy, const char *https_proxy,
                                  const char *https_proxy_upper, const char *all_proxy,
                                  const char *all_proxy_upper);

/**
 * A client TLS context (tls.h: TLS 1.2 minimum, peer verification on) trusting the system's
 * default paths and ca_file when not NULL. Cached per ca_file and reused while the file
 * (without one: the default file) and SSL_CERT_FILE, SSL_CERT_DIR are unchanged; thread-safe.
 * The caller owns one reference (wdn_tls_ctx_free). NULL with a reason in why (cap bytes) when
 * the CAs cannot be loaded.
 */
struct wdn_tls_ctx *wdn__fetch_tls_ctx(const char *ca_file, char *why, size_t cap);

/* ---- The connection of one transfer (fetch_conn.c) --------------------------------------- */

#define WDN__FETCH_IO_CHUNK 16384 /* bytes moved per read or write */

/** One transfer in progress: its connection, deadline and where failures are reported. */
struct wdn__fetch_xfer {
    const char *method;
    const char *url; /* for messages; never a header, they may hold tokens */
    struct wdn_diag *diag;
    atomic_bool *stop;
    uint64_t deadline; /* monotonic ms */
    int fd;
    struct wdn_tls_ctx *tls_ctx;
    struct wdn_tls *tls; /* the TLS engine on memory buffers, once TLS started */
    bool sock_eof;
    bool tls_unclean_eof;
    bool public_only; /* connect only to public addresses (wdn_fetch_request.public_only) */
    bool more;        /* more bytes follow at once (the body after the head): MSG_MORE */
};

/** Records a failure in x->diag as "METHOD URL: message" and returns code. */
int wdn__fetch_fail(struct wdn__fetch_xfer *x, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Connects x->fd to `to` (every address getaddrinfo gives, in turn, within connect_ms and the
 * deadline). 0 or a failure recorded with wdn__fetch_fail. */
int wdn__fetch_connect(struct wdn__fetch_xfer *x, const struct wdn__fetch_url *to, long connect_ms);

/** Sends len bytes on the plain socket (a proxy CONNECT request, before TLS starts). */
int wdn__fetch_raw_send(struct wdn__fetch_xfer *x, const char *p, size_t len);

/** Starts TLS to u over the connected socket: SNI, peer verification against ca_file (or the
 * system store), host name or IP check, handshake within the deadline. */
int wdn__fetch_tls_start(struct wdn__fetch_xfer *x, const struct wdn__fetch_url *u,
                         const char *ca_file);

/** Writes all of p (through TLS when started). */
int wdn__fetch_write(struct wdn__fetch_xfer *x, const char *p, size_t len);

/** Reads at most cap bytes into buf; *n = 0 at the end of the stream. `what` names the step for
 * messages ("reading the response"). */
int wdn__fetch_read(struct wdn__fetch_xfer *x, char *buf, size_t cap, size_t *n, const char *what);

#endif
