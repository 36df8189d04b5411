/* The blocking HTTP/1.1 client: one request per connection (fetch_conn.c connects and moves
 * the bytes, through TLS for https) unless the caller keeps one (struct wdn_fetch_keep),
 * http_proxy/https_proxy support with CONNECT tunnels, and
 * the strict parser of http/parser.h for the response. Redirects are never followed: a
 * token or key URL that redirects elsewhere is a configuration error to surface, not to hide,
 * and following one could carry a token to another host. */
#include "http/fetch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "base/base64.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch_int.h"
#include "http/tls.h"

#define STOPPED 1 /* a callback asked to end the transfer: success */

/* ---------------------------------------------------------------------------------------- */
/* Request                                                                                    */

static bool tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token(const char *p, size_t len)
{
    size_t i;

    if (len == 0)
        return false;
    for (i = 0; i < len; i++)
        if (!tchar((unsigned char)p[i]))
            return false;
    return true;
}

static bool name_is(const char *p, size_t len, const char *name)
{
    return strlen(name) == len && strncasecmp(p, name, len) == 0;
}

/* Appends "host[:port]" (IPv6 in brackets; the port only when not the scheme's default). */
static int put_authority(struct wdn_buf *b, const struct wdn__fetch_url *u, bool always_port)
{
    bool port = always_port || u->port != (u->tls ? 443 : 80);

    return wdn_buf_printf(b, u->ipv6 ? "[%s]" : "%s", u->host) ||
           (port && wdn_buf_printf(b, ":%u", (unsigned)u->port));
}

static int put_proxy_auth(struct wdn_buf *b, const struct wdn__fetch_url *proxy)
{
    char enc[4 * ((WDN_FETCH_MAX_PROXY_AUTH_BYTES + 2) / 3) + 1];
    size_t alen = strlen(proxy->auth), elen;
    int rc;

    if (alen == 0)
        return 0;
    rc = wdn_b64std_encode(proxy->auth, alen, enc, sizeof(enc), &elen);
    if (rc == 0)
        rc = wdn_buf_printf(b, "Proxy-Authorization: Basic %s\r\n", enc);
    OPENSSL_cleanse(enc, sizeof(enc));
    return rc;
}

/* Builds the request head into b, which is reserved once at its final size so that no copy of
 * a header (it may carry a token) is left behind in freed memory by a reallocation. */
static int build_head(struct wdn__fetch_xfer *x, const struct wdn_fetch_request *req,
                      const struct wdn__fetch_url *u, const struct wdn__fetch_url *proxy,
                      struct wdn_buf *b)
{
    const char *const *h;
    bool has_ua = false, has_accept = false, absolute = proxy != NULL && !u->tls;
    size_t need = 512 + 2 * strlen(u->host) + u->target.len + strlen(x->method);
    int rc;

    if (strlen(x->method) > WDN_HTTP_MAX_METHOD_BYTES || !is_token(x->method, strlen(x->method)))
        return wdn__fetch_fail(x, WDN_EINVAL, "invalid method");
    for (h = req->headers; h != NULL && *h != NULL; h++) {
        const char *colon = strchr(*h, ':');
        size_t nlen = colon ? (size_t)(colon - *h) : 0;

        if (colon == NULL || !is_token(*h, nlen))
            return wdn__fetch_fail(x, WDN_EINVAL, "request header %zu is not \"Name: value\"",
                                   (size_t)(h - req->headers) + 1);
        for (const char *v = colon + 1; *v != '\0'; v++)
            if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
                return wdn__fetch_fail(
                    x, WDN_EINVAL, "request header %.*s holds a control character", (int)nlen, *h);
        if (name_is(*h, nlen, "host") || name_is(*h, nlen, "content-length") ||
            name_is(*h, nlen, "transfer-encoding") || name_is(*h, nlen, "connection"))
            return wdn__fetch_fail(x, WDN_EINVAL, "request header %.*s is set by the client itself",
                                   (int)nlen, *h);
        has_ua |= name_is(*h, nlen, "user-agent");
        has_accept |= name_is(*h, nlen, "accept");
        need += strlen(*h) + 2;
    }
    if (proxy != NULL)
        need += 4 * ((WDN_FETCH_MAX_PROXY_AUTH_BYTES + 2) / 3) + 64;
    if (need > WDN_FETCH_MAX_REQUEST_HEAD_BYTES)
        return wdn__fetch_fail(x, WDN_ELIMIT, "request headers larger than %u bytes",
                               (unsigned)WDN_FETCH_MAX_REQUEST_HEAD_BYTES);
    wdn_buf_init(b, need);
    if (wdn_buf_reserve(b, need) != 0)
        return wdn__fetch_fail(x, WDN_ENOMEM, "out of memory");
    rc = wdn_buf_printf(b, "%s ", x->method);
    if (absolute)
        rc = rc || wdn_buf_append_cstr(b, "http://") || put_authority(b, u, false);
    if (u->target.len == 0 || u->target.p[0] == '?')
        rc = rc || wdn_buf_append_cstr(b, "/");
    rc = rc || wdn_buf_append(b, u->target.p, u->target.len) ||
         wdn_buf_append_cstr(b, " HTTP/1.1\r\nHost: ") || put_authority(b, u, false) ||
         wdn_buf_append_cstr(b, "\r\n");
    if (!has_ua)
        rc = rc || wdn_buf_append_cstr(b, "User-Agent: warden/" WDN_VERSION "\r\n");
    if (!has_accept)
        rc = rc || wdn_buf_append_cstr(b, "Accept: */*\r\n");
    for (h = req->headers; h != NULL && *h != NULL && rc == 0; h++)
        rc = wdn_buf_append_cstr(b, *h) || wdn_buf_append_cstr(b, "\r\n");
    if (absolute)
        rc = rc || put_proxy_auth(b, proxy);
    if (req->body != NULL)
        rc = rc || wdn_buf_printf(b, "Content-Length: %zu\r\n", req->body_len);
    rc = rc ||
         wdn_buf_append_cstr(b, req->keep && proxy == NULL ? "\r\n" : "Connection: close\r\n\r\n");
    if (rc != 0)
        return wdn__fetch_fail(x, WDN_ELIMIT, "request headers too large");
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Response                                                                                   */

struct rd {
    char *buf;
    size_t cap;      /* allocated */
    size_t head_cap; /* most head bytes accepted */
    size_t have;     /* bytes in buf */
    bool extra;      /* bytes came after the response's end: the connection cannot be reused */
};

/* Reads until a final (non-1xx) response head parsed; leaves its bytes at the front of r->buf
 * and the head's size in *head_len. */
static int read_head(struct wdn__fetch_xfer *x, struct rd *r, struct wdn_str method,
                     struct wdn_http_response *res, size_t *head_len)
{
    for (;;) {
        size_t n = 0;
        int rc;

        if (r->have > 0) {
            rc = wdn_http_parse_response(r->buf, r->have, method, res, head_len);
            if (rc == 0 && *head_len > r->head_cap)
                return wdn__fetch_fail(x, WDN_ELIMIT, "response head larger than %zu bytes",
                                       r->head_cap);
            if (rc == 0 && res->status == 101)
                return wdn__fetch_fail(x, WDN_EIO, "unexpected 101 Switching Protocols");
            if (rc == 0 && res->status < 200) {
                memmove(r->buf, r->buf + *head_len, r->have - *head_len);
                r->have -= *head_len;
                continue;
            }
            if (rc == 0)
                return 0;
            if (rc == WDN_ELIMIT)
                return wdn__fetch_fail(x, WDN_ELIMIT, "response head too large: %s",
                                       res->error_reason ? res->error_reason : "limit exceeded");
            if (rc != WDN_EAGAIN)
                return wdn__fetch_fail(x, WDN_EIO, "malformed response: %s",
                                       res->error_reason ? res->error_reason : "parse error");
            if (r->have >= r->head_cap)
                return wdn__fetch_fail(x, WDN_ELIMIT, "response head larger than %zu bytes",
                                       r->head_cap);
        }
        rc = wdn__fetch_read(x, r->buf + r->have, r->cap - r->have, &n, "waiting for the response");
        if (rc != 0)
            return rc;
        if (n == 0)
            return wdn__fetch_fail(x, WDN_ECONNRESET,
                                   r->have == 0 ? "the server closed the connection without "
                                                  "a response"
                                                : "the server closed the connection in the "
                                                  "middle of the response head");
        r->have += n;
    }
}

struct sink {
    const struct wdn_fetch_callbacks *cb;
    size_t max;
    size_t total;
};

/* Hands body bytes to the caller: 0 to go on, STOPPED, or an error. */
static int deliver(struct wdn__fetch_xfer *x, struct sink *s, const char *p, size_t len)
{
    int r;

    if (len == 0)
        return 0;
    if (len > s->max - s->total)
        return wdn__fetch_fail(x, WDN_ELIMIT, "response body larger than %zu bytes", s->max);
    s->total += len;
    if (s->cb == NULL || s->cb->on_body == NULL)
        return 0;
    r = s->cb->on_body(s->cb->ud, p, len);
    if (r < 0)
        return wdn__fetch_fail(x, r, "the response was refused while reading its body: %s",
                               wdn_strerror(r));
    return r > 0 ? STOPPED : 0;
}

static int read_body_length(struct wdn__fetch_xfer *x, struct rd *r, struct sink *s, size_t off,
                            uint64_t length)
{
    uint64_t left = length;
    size_t n = r->have - off;
    int rc;

    if (length > s->max)
        return wdn__fetch_fail(x, WDN_ELIMIT, "response body of %llu bytes is larger than %zu",
                               (unsigned long long)length, s->max);
    if (n > left) {
        n = (size_t)left;
        r->extra = true;
    }
    rc = deliver(x, s, r->buf + off, n);
    left -= n;
    while (rc == 0 && left > 0) {
        rc = wdn__fetch_read(x, r->buf, r->cap, &n, "reading the response body");
        if (rc != 0)
            break;
        if (n == 0)
            return wdn__fetch_fail(x, WDN_ECONNRESET,
                                   "the server closed the connection after %llu of %llu body bytes",
                                   (unsigned long long)(length - left), (unsigned long long)length);
        if (n > left) {
            n = (size_t)left;
            r->extra = true;
        }
        rc = deliver(x, s, r->buf, n);
        left -= n;
    }
    return rc;
}

static int read_body_chunked(struct wdn__fetch_xfer *x, struct rd *r, struct sink *s, size_t off)
{
    struct wdn_http_chunked ch;
    const char *p = r->buf + off;
    size_t len = r->have - off;
    int rc;

    wdn_http_chunked_init(&ch, s->max == SIZE_MAX ? UINT64_MAX : (uint64_t)s->max);
    for (;;) {
        while (len > 0) {
            struct wdn_str data = {NULL, 0};
            size_t used = 0;
            int d = wdn_http_chunked_decode(&ch, p, len, &used, &data);

            if (d == WDN_ELIMIT && ch.error_status == 413)
                return wdn__fetch_fail(x, WDN_ELIMIT, "response body larger than %zu bytes",
                                       s->max);
            if (d < 0)
                return wdn__fetch_fail(x, WDN_EIO, "malformed chunked body: %s",
                                       ch.error_reason ? ch.error_reason : "parse error");
            rc = deliver(x, s, data.p, data.len);
            if (rc != 0)
                return rc;
            if (d == 1) {
                r->extra = used < len;
                return 0;
            }
            if (used == 0)
                break;
            p += used;
            len -= used;
        }
        rc = wdn__fetch_read(x, r->buf, r->cap, &len, "reading the response body");
        if (rc != 0)
            return rc;
        if (len == 0)
            return wdn__fetch_fail(
                x, WDN_ECONNRESET,
                "the server closed the connection in the middle of a chunked body");
        p = r->buf;
    }
}

static int read_body_close(struct wdn__fetch_xfer *x, struct rd *r, struct sink *s, size_t off)
{
    size_t n;
    int rc = deliver(x, s, r->buf + off, r->have - off);

    while (rc == 0) {
        rc = wdn__fetch_read(x, r->buf, r->cap, &n, "reading the response body");
        if (rc != 0)
            break;
        if (n == 0) {
            if (x->tls_unclean_eof)
                return wdn__fetch_fail(x, WDN_ECONNRESET,
                                       "the TLS connection ended without close_notify "
                                       "before the end of the body was known");
            break;
        }
        rc = deliver(x, s, r->buf, n);
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Proxies                                                                                    */

/* Decides whether a proxy from the environment applies; *use tells. */
static int pick_proxy(struct wdn__fetch_xfer *x, const struct wdn__fetch_url *u, bool ignore_env,
                      struct wdn__fetch_url *proxy, bool *use)
{
    const char *v, *np;
    char why[128];

    *use = false;
    if (ignore_env)
        return 0;
    v = wdn__fetch_proxy_pick(u->tls, getenv("http_proxy"), getenv("https_proxy"),
                              getenv("HTTPS_PROXY"), getenv("all_proxy"), getenv("ALL_PROXY"));
    if (v == NULL)
        return 0;
    np = getenv("no_proxy");
    if (np == NULL)
        np = getenv("NO_PROXY");
    if (wdn__fetch_no_proxy(np, u))
        return 0;
    /* The proxy URL itself is not quoted: it may carry a password. */
    if (wdn__fetch_url_parse(v, true, proxy, why, sizeof(why)) != 0)
        return wdn__fetch_fail(x, WDN_EINVAL, "invalid proxy setting in the environment: %s", why);
    *use = true;
    return 0;
}

/* Opens a CONNECT tunnel through the proxy x is connected to. */
static int tunnel(struct wdn__fetch_xfer *x, const struct wdn__fetch_url *u,
                  const struct wdn__fetch_url *proxy, struct rd *r)
{
    struct wdn_http_response res;
    struct wdn_buf b;
    size_t head_len = 0;
    int rc;

    wdn_buf_init(&b, 2048);
    rc = wdn_buf_append_cstr(&b, "CONNECT ") || put_authority(&b, u, true) ||
         wdn_buf_append_cstr(&b, " HTTP/1.1\r\nHost: ") || put_authority(&b, u, true) ||
         wdn_buf_append_cstr(&b, "\r\nUser-Agent: warden/" WDN_VERSION "\r\n") ||
         put_proxy_auth(&b, proxy) || wdn_buf_append_cstr(&b, "\r\n");
    if (rc != 0) {
        rc = wdn__fetch_fail(x, WDN_ENOMEM, "out of memory");
        goto out;
    }
    rc = wdn__fetch_raw_send(x, b.data, b.len);
    if (rc != 0)
        goto out;
    rc = read_head(x, r, WDN_STR("CONNECT"), &res, &head_len);
    if (rc != 0)
        goto out;
    if (res.status == 407) {
        rc = wdn__fetch_fail(x, WDN_EAUTH, "the proxy requires authentication (407)");
        goto out;
    }
    if (res.status < 200 || res.status > 299) {
        rc = wdn__fetch_fail(x, WDN_ECONNREFUSED, "the proxy refused the tunnel with status %d",
                             res.status);
        goto out;
    }
    /* The server speaks only after our ClientHello: bytes here would be the proxy's. */
    if (r->have != head_len) {
        rc = wdn__fetch_fail(x, WDN_EIO, "the proxy sent data after its CONNECT response");
        goto out;
    }
    r->have = 0;
out:
    if (b.data != NULL)
        OPENSSL_cleanse(b.data, b.cap);
    wdn_buf_reset(&b);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

/* Sends the request head and body over x's connection; the head waits for the body (MSG_MORE)
 * so that both leave in as few packets as the sizes allow. */
static int send_head_body(struct wdn__fetch_xfer *x, const struct wdn_fetch_request *req,
                          const struct wdn_buf *head)
{
    bool body = req->body != NULL && req->body_len > 0;
    int rc;

    x->more = body;
    rc = wdn__fetch_write(x, head->data, head->len);
    x->more = false;
    if (rc == 0 && body)
        rc = wdn__fetch_write(x, req->body, req->body_len);
    return rc;
}

/* Connects (through the proxy, with TLS when the URL says so) and sends the request head and
 * body. */
static int send_request(struct wdn__fetch_xfer *x, const struct wdn_fetch_request *req,
                        const struct wdn__fetch_url *u, const struct wdn__fetch_url *proxy,
                        const struct wdn_buf *head, struct rd *r, long connect_ms)
{
    int rc = wdn__fetch_connect(x, proxy ? proxy : u, connect_ms);

    if (rc == 0 && proxy && u->tls)
        rc = tunnel(x, u, proxy, r);
    if (rc == 0 && u->tls)
        rc = wdn__fetch_tls_start(x, u, req->ca_file);
    if (rc == 0)
        rc = send_head_body(x, req, head);
    return rc;
}

/* Reads the response head, lets the caller look at it, and streams the body into s. *reuse:
 * the connection may carry the next request (keep-alive, and the body was read to its end). */
static int receive(struct wdn__fetch_xfer *x, const struct wdn_fetch_callbacks *cb, struct rd *r,
                   struct sink *s, long *status, bool *reuse)
{
    struct wdn_http_response res;
    size_t head_len = 0;
    int rc;

    *reuse = false;
    rc = read_head(x, r, wdn_str_from_cstr(x->method), &res, &head_len);

    if (rc != 0)
        return rc;
    if (status != NULL)
        *status = res.status;
    if (cb != NULL && cb->on_head != NULL) {
        struct wdn_fetch_head h = {res.status, res.headers, res.nheaders};
        int hr = cb->on_head(cb->ud, &h);
        if (hr != 0)
            return hr > 0
                       ? 0
                       : wdn__fetch_fail(x, hr, "the response was refused: %s", wdn_strerror(hr));
    }
    *reuse = res.keep_alive && res.version_minor >= 1 && res.body != WDN_HTTP_BODY_UNTIL_CLOSE;
    switch (res.body) {
    case WDN_HTTP_BODY_NONE:
        rc = 0;
        r->extra = r->have > head_len;
        break;
    case WDN_HTTP_BODY_LENGTH:
        rc = read_body_length(x, r, s, head_len, res.content_length);
        break;
    case WDN_HTTP_BODY_CHUNKED:
        rc = read_body_chunked(x, r, s, head_len);
        break;
    default:
        rc = read_body_close(x, r, s, head_len);
        break;
    }
    if (rc != 0 || r->extra)
        *reuse = false;
    return rc == STOPPED ? 0 : rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Kept connections                                                                           */

struct wdn_fetch_keep {
    int fd; /* -1: none */
    struct wdn_tls *tls;
    struct wdn_tls_ctx *tls_ctx;
    bool tls_on;
    uint16_t port;
    char host[WDN_FETCH_MAX_HOST_BYTES + 1];
    char *ca_file; /* what the TLS peer was verified against; NULL: the system's */
};

struct wdn_fetch_keep *wdn_fetch_keep_new(void)
{
    struct wdn_fetch_keep *k = calloc(1, sizeof(*k));

    if (k)
        k->fd = -1;
    return k;
}

/* Closes one connection (its TLS engine, the engine's context and the socket; any of them may
 * be absent) and leaves the three fields empty. The one way both the kept connection and a
 * transfer's close theirs. */
static void conn_close(int *fd, struct wdn_tls **tls, struct wdn_tls_ctx **tls_ctx)
{
    wdn_tls_free(*tls);
    wdn_tls_ctx_free(*tls_ctx);
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    *tls = NULL;
    *tls_ctx = NULL;
}

static void keep_drop(struct wdn_fetch_keep *k)
{
    conn_close(&k->fd, &k->tls, &k->tls_ctx);
    free(k->ca_file);
    k->ca_file = NULL;
}

void wdn_fetch_keep_free(struct wdn_fetch_keep *k)
{
    if (k == NULL)
        return;
    keep_drop(k);
    free(k);
}

/* Whether two CA file settings are the same text (NULL, the system's CAs, only equals NULL).
 * Compares the names as given, not the files they lead to. */
static bool same_text_or_both_null(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Moves the kept connection into x when it goes where u does and is still open: nothing to
 * read on an idle connection but its end (the server closed it) or bytes nobody asked for. */
static bool keep_take(struct wdn_fetch_keep *k, struct wdn__fetch_xfer *x,
                      const struct wdn__fetch_url *u, const char *ca_file)
{
    struct pollfd p;

    if (k == NULL || k->fd < 0)
        return false;
    p = (struct pollfd){k->fd, POLLIN, 0};
    if (k->tls_on != u->tls || k->port != u->port || strcmp(k->host, u->host) != 0 ||
        !same_text_or_both_null(k->ca_file, ca_file) || poll(&p, 1, 0) != 0) {
        keep_drop(k);
        return false;
    }
    x->fd = k->fd;
    x->tls = k->tls;
    x->tls_ctx = k->tls_ctx;
    k->fd = -1;
    k->tls = NULL;
    k->tls_ctx = NULL;
    free(k->ca_file);
    k->ca_file = NULL;
    return true;
}

/* Keeps x's connection in k for the next request (x no longer owns it). */
static void keep_put(struct wdn_fetch_keep *k, struct wdn__fetch_xfer *x,
                     const struct wdn__fetch_url *u, const char *ca_file)
{
    keep_drop(k);
    if (ca_file && (k->ca_file = strdup(ca_file)) == NULL)
        return; /* out of memory: the connection is closed as without keep-alive */
    k->fd = x->fd;
    k->tls = x->tls;
    k->tls_ctx = x->tls_ctx;
    k->tls_on = u->tls;
    k->port = u->port;
    memcpy(k->host, u->host, sizeof(k->host));
    x->fd = -1;
    x->tls = NULL;
    x->tls_ctx = NULL;
}

/* Closes x's connection (a kept one that failed) so that the transfer can start over. */
static void xfer_reset_conn(struct wdn__fetch_xfer *x)
{
    conn_close(&x->fd, &x->tls, &x->tls_ctx);
    x->sock_eof = x->tls_unclean_eof = false;
}

int wdn_fetch_stream(const struct wdn_fetch_request *req, const struct wdn_fetch_callbacks *cb,
                     long *status, struct wdn_diag *diag)
{
    struct wdn__fetch_xfer x;
    struct wdn__fetch_url u, proxy;
    struct wdn_buf head;
    struct rd r = {NULL, 0, 0, 0, false};
    struct sink s = {cb, 0, 0};
    bool use_proxy = false;
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : WDN_FETCH_DEFAULT_TIMEOUT_MS;
    long connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000;
    char why[128];
    int rc;

    memset(&x, 0, sizeof(x));
    x.method = req->method ? req->method : "GET";
    x.url = req->url ? req->url : "(no URL)";
    x.diag = diag;
    x.stop = req->stop;
    x.fd = -1;
    x.deadline = wdn_clock_mono_ms() + (uint64_t)timeout;
    wdn_buf_init(&head, 0);
    if (status != NULL)
        *status = 0;
    if (connect_ms > timeout)
        connect_ms = timeout;
    s.max = req->max_response ? req->max_response : WDN_FETCH_DEFAULT_MAX_BODY;
    if (wdn__fetch_url_parse(req->url, false, &u, why, sizeof(why)) != 0) {
        rc = wdn__fetch_fail(&x, WDN_EINVAL, "invalid URL: %s", why);
        goto out;
    }
    if ((req->https_only || req->public_only) && !u.tls) {
        rc = wdn__fetch_fail(&x, WDN_EINVAL, "only https:// URLs are allowed here");
        goto out;
    }
    /* The guard checks the addresses we connect to; through a proxy it could not. */
    x.public_only = req->public_only;
    rc = pick_proxy(&x, &u, req->no_proxy_env || req->public_only, &proxy, &use_proxy);
    if (rc != 0)
        goto out;
    rc = build_head(&x, req, &u, use_proxy ? &proxy : NULL, &head);
    if (rc != 0)
        goto out;
    r.head_cap = req->max_head && req->max_head < WDN_HTTP_MAX_HEAD_BYTES ? req->max_head
                                                                          : WDN_HTTP_MAX_HEAD_BYTES;
    r.cap = r.head_cap + WDN__FETCH_IO_CHUNK;
    r.buf = malloc(r.cap);
    if (r.buf == NULL) {
        rc = wdn__fetch_fail(&x, WDN_ENOMEM, "out of memory");
        goto out;
    }
    struct wdn_fetch_keep *keep = use_proxy ? NULL : req->keep;
    bool reuse = false, fresh = true;
    if (keep_take(keep, &x, &u, req->ca_file)) {
        rc = send_head_body(&x, req, &head);
        if (rc == 0)
            rc = receive(&x, cb, &r, &s, status, &reuse);
        /* The server closed the kept connection before a byte of answer (an idle timeout that
         * crossed our request): once more, on a new connection. */
        fresh = rc != 0 && r.have == 0 && s.total == 0 && rc != WDN_ECANCELED && rc != WDN_ETIMEOUT;
        if (fresh)
            xfer_reset_conn(&x);
    }
    if (fresh) {
        rc = send_request(&x, req, &u, use_proxy ? &proxy : NULL, &head, &r, connect_ms);
        if (rc == 0)
            rc = receive(&x, cb, &r, &s, status, &reuse);
    }
    if (rc == 0 && reuse && keep != NULL)
        keep_put(keep, &x, &u, req->ca_file);
out:
    conn_close(&x.fd, &x.tls, &x.tls_ctx);
    ERR_clear_error();
    if (head.data != NULL)
        OPENSSL_cleanse(head.data, head.cap);
    wdn_buf_reset(&head);
    free(r.buf);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Collected responses                                                                        */

/* Copies the first header named name into out (truncated to cap - 1 bytes), once. */
static void take_header(const struct wdn_fetch_head *h, const char *name, char *out, size_t cap)
{
    const struct wdn_http_header *hd =
        wdn_http_header_find(h->headers, h->nheaders, wdn_str_from_cstr(name));
    size_t n;

    out[0] = '\0';
    if (hd == NULL)
        return;
    n = hd->value.len < cap - 1 ? hd->value.len : cap - 1;
    memcpy(out, hd->value.p, n);
    out[n] = '\0';
}

static int collect_head(void *ud, const struct wdn_fetch_head *h)
{
    struct wdn_fetch_response *resp = ud;

    resp->status = h->status;
    take_header(h, "content-type", resp->content_type, sizeof(resp->content_type));
    take_header(h, "cache-control", resp->cache_control, sizeof(resp->cache_control));
    take_header(h, "www-authenticate", resp->www_authenticate, sizeof(resp->www_authenticate));
    return 0;
}

static int collect_body(void *ud, const char *data, size_t len)
{
    struct wdn_fetch_response *resp = ud;

    return wdn_buf_append(&resp->body, data, len);
}

int wdn_fetch(const struct wdn_fetch_request *req, struct wdn_fetch_response *resp,
              struct wdn_diag *diag)
{
    struct wdn_fetch_request r = *req;
    struct wdn_fetch_callbacks cb = {collect_head, collect_body, resp};
    int rc;

    memset(resp, 0, sizeof(*resp));
    if (r.max_response == 0 || r.max_response == SIZE_MAX)
        r.max_response = WDN_FETCH_DEFAULT_MAX_BODY;
    wdn_buf_init(&resp->body, r.max_response);
    rc = wdn_fetch_stream(&r, &cb, &resp->status, diag);
    if (rc == 0 && wdn_buf_cstr(&resp->body) == NULL)
        rc = wdn_diag_set(diag, WDN_ENOMEM, "out of memory");
    return rc;
}

void wdn_fetch_response_reset(struct wdn_fetch_response *resp)
{
    wdn_buf_reset(&resp->body);
}

const char *wdn_fetch_ca_file_from_env(void)
{
    static const char *const vars[] = {"WARDEN_CA_FILE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return v;
    }
    return NULL;
}
