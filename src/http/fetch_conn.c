/* The blocking client's connection: connecting with a deadline (every address in turn), raw
 * socket I/O through poll with the stop flag checked in short slices, and for https the TLS
 * engine of tls.h on memory buffers (the one the server and the pools use), so every byte goes
 * through send(MSG_NOSIGNAL) under the same deadline.
 * What goes over the connection (request, response, proxies) is fetch.c's business. */
#include <errno.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "http/fetch_int.h"
#include "http/tls.h"

int wdn__fetch_fail(struct wdn__fetch_xfer *x, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return wdn_diag_set(x->diag, code, "%s %s: %s", x->method, x->url, msg);
}

/* Waits until fd is ready for events, the deadline passes or the stop flag rises, in slices
 * short enough that a stop request is seen promptly. */
static int wait_io(struct wdn__fetch_xfer *x, short events, uint64_t until)
{
    for (;;) {
        struct pollfd p = {x->fd, events, 0};
        uint64_t now;
        int n;

        if (x->stop != NULL && atomic_load(x->stop))
            return WDN_ECANCELED;
        now = wdn_clock_mono_ms();
        if (now >= until)
            return WDN_ETIMEOUT;
        n = poll(
            &p, 1,
            (int)(until - now < WDN_FETCH_POLL_SLICE_MS ? until - now : WDN_FETCH_POLL_SLICE_MS));
        if (n > 0)
            return 0; /* also on POLLERR/POLLHUP: the next call reports what happened */
        if (n < 0 && errno != EINTR)
            return WDN_EIO;
    }
}

/* The deadline and the stop flag, also checked before each read and write: a peer that always
 * has data ready would otherwise never let a wait see them. */
static int check_time(struct wdn__fetch_xfer *x)
{
    if (x->stop != NULL && atomic_load(x->stop))
        return WDN_ECANCELED;
    return wdn_clock_mono_ms() >= x->deadline ? WDN_ETIMEOUT : 0;
}

static int wait_fail(struct wdn__fetch_xfer *x, int rc, const char *what)
{
    if (rc == WDN_ECANCELED)
        return wdn__fetch_fail(x, rc, "canceled %s", what);
    if (rc == WDN_ETIMEOUT)
        return wdn__fetch_fail(x, rc, "timed out %s", what);
    return wdn__fetch_fail(x, rc, "poll failed %s: %s", what, strerror(errno));
}

/* ---------------------------------------------------------------------------------------- */
/* Connecting                                                                                 */

static int connect_one(struct wdn__fetch_xfer *x, const struct addrinfo *ai, uint64_t until,
                       int *err)
{
    socklen_t len = sizeof(*err);
    int one = 1, rc;

    x->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (x->fd < 0) {
        *err = errno;
        return WDN_EIO;
    }
    (void)setsockopt(x->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(x->fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS) {
        *err = errno;
        rc = WDN_ECONNREFUSED;
        goto fail;
    }
    rc = wait_io(x, POLLOUT, until);
    if (rc != 0)
        goto fail;
    if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, err, &len) != 0)
        *err = errno;
    if (*err == 0)
        return 0;
    rc = *err == ETIMEDOUT ? WDN_ETIMEOUT : WDN_ECONNREFUSED;
fail:
    close(x->fd);
    x->fd = -1;
    return rc;
}

static bool v4_public(uint32_t a)
{
    static const struct {
        uint32_t net;
        int bits;
    } refused[] = {
        {0x00000000, 8},  {0x0a000000, 8},  {0x64400000, 10}, {0x7f000000, 8},
        {0xa9fe0000, 16}, {0xac100000, 12}, {0xc0000000, 24}, {0xc0000200, 24},
        {0xc0a80000, 16}, {0xc6120000, 15}, {0xc6336400, 24}, {0xcb007100, 24},
        {0xe0000000, 4},  {0xf0000000, 4},
    };

    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if ((a >> (32 - refused[i].bits)) == (refused[i].net >> (32 - refused[i].bits)))
            return false;
    return true;
}

static uint32_t v4_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool wdn_fetch_addr_public(const struct sockaddr *sa)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    const unsigned char *b;

    if (sa->sa_family == AF_INET)
        return v4_public(ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
    if (sa->sa_family != AF_INET6)
        return false;
    b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return v4_public(v4_at(b + 12));
    if (b[0] == 0x20 && b[1] == 0x02) /* 6to4 carries an IPv4 address */
        return v4_public(v4_at(b + 2));
    if ((b[0] & 0xe0) != 0x20) /* only 2000::/3 is global unicast */
        return false;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* documentation */
        return false;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) /* Teredo */
        return false;
    return true;
}

/* Connects to host:port, trying every address getaddrinfo returns in turn; each attempt gets
 * an equal share of what is left of the connect budget, so one black-holed address cannot use
 * it all. */
int wdn__fetch_connect(struct wdn__fetch_xfer *x, const struct wdn__fetch_url *to, long connect_ms)
{
    struct addrinfo hints, *res = NULL, *ai;
    char port[8];
    uint64_t until = wdn_clock_mono_ms() + (uint64_t)connect_ms;
    int rc = WDN_ECONNREFUSED, g, err = 0;
    size_t left = 0, refused = 0, total;

    if (until > x->deadline)
        until = x->deadline;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (to->ip ? AI_NUMERICHOST : 0);
    snprintf(port, sizeof(port), "%u", (unsigned)to->port);
    g = getaddrinfo(to->host, port, &hints, &res);
    if (g != 0) {
        rc = wdn__fetch_fail(x, g == EAI_MEMORY ? WDN_ENOMEM : WDN_EDNS,
                             "cannot resolve host %s: %s", to->host,
                             g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
        goto out;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next)
        left++;
    total = left;
    for (ai = res; ai != NULL; ai = ai->ai_next, left--) {
        uint64_t now = wdn_clock_mono_ms();
        uint64_t slot = now < until ? now + (until - now) / left : now;
        if (x->public_only && !wdn_fetch_addr_public(ai->ai_addr)) {
            refused++;
            continue;
        }
        rc = connect_one(x, ai, left == 1 ? until : slot, &err);
        if (rc == 0 || rc == WDN_ECANCELED)
            break;
        if (rc == WDN_ETIMEOUT && wdn_clock_mono_ms() >= until)
            break;
    }
    if (rc != 0 && refused > 0 && refused == total)
        rc = wdn__fetch_fail(x, WDN_EDENIED,
                             "refused to connect to %s: it resolves only to addresses that are "
                             "not public (loopback, private, link-local or reserved)",
                             to->host);
    else if (rc == WDN_ECANCELED)
        rc = wdn__fetch_fail(x, rc, "canceled while connecting to %s port %u", to->host, to->port);
    else if (rc == WDN_ETIMEOUT)
        rc = wdn__fetch_fail(x, rc, "timed out connecting to %s port %u", to->host, to->port);
    else if (rc != 0)
        rc = wdn__fetch_fail(x, rc, "cannot connect to %s port %u: %s", to->host, to->port,
                             err ? strerror(err) : "no address");
out:
    if (res != NULL)
        freeaddrinfo(res);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Plain socket I/O                                                                           */

int wdn__fetch_raw_send(struct wdn__fetch_xfer *x, const char *p, size_t len)
{
    while (len > 0) {
        int rc = check_time(x);
        ssize_t n;

        if (rc != 0)
            return wait_fail(x, rc, "sending the request");
        n = send(x->fd, p, len, MSG_NOSIGNAL | (x->more ? MSG_MORE : 0));
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            rc = wait_io(x, POLLOUT, x->deadline);
            if (rc != 0)
                return wait_fail(x, rc, "sending the request");
            continue;
        }
        return wdn__fetch_fail(x, WDN_ECONNRESET, "connection lost while sending the request: %s",
                               strerror(errno));
    }
    return 0;
}

/* Reads what is available (waiting for at least one byte); *n == 0 at end of stream. */
static int raw_recv(struct wdn__fetch_xfer *x, char *buf, size_t cap, size_t *n, const char *what)
{
    for (;;) {
        int rc = check_time(x);
        ssize_t r;

        if (rc != 0)
            return wait_fail(x, rc, what);
        r = recv(x->fd, buf, cap, 0);
        if (r >= 0) {
            *n = (size_t)r;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            rc = wait_io(x, POLLIN, x->deadline);
            if (rc != 0)
                return wait_fail(x, rc, what);
            continue;
        }
        if (errno == ECONNRESET)
            return wdn__fetch_fail(x, WDN_ECONNRESET, "connection reset %s", what);
        return wdn__fetch_fail(x, WDN_EIO, "receive failed %s: %s", what, strerror(errno));
    }
}

/* ---------------------------------------------------------------------------------------- */
/* TLS: the engine of tls.h, pumped from this blocking socket                                */

/* Sends whatever ciphertext the engine has ready. */
static int tls_flush(struct wdn__fetch_xfer *x)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (wdn_tls_take_output(x->tls, &data, &len) != 0)
        return 0;
    rc = wdn__fetch_raw_send(x, data, len);
    free(data);
    return rc;
}

/* Feeds the engine what the socket has (at least one byte, or the end of the stream). */
static int tls_fill(struct wdn__fetch_xfer *x, const char *what)
{
    char tmp[WDN__FETCH_IO_CHUNK];
    size_t n = 0;
    int rc = raw_recv(x, tmp, sizeof(tmp), &n, what);

    if (rc != 0)
        return rc;
    if (n == 0) {
        x->sock_eof = true;
        return 0;
    }
    if (wdn_tls_feed(x->tls, tmp, n) != 0)
        return wdn__fetch_fail(x, WDN_ENOMEM, "out of memory");
    return 0;
}

/* Reports a TLS failure with its reason: the certificate check's verdict when that failed
 * (untrusted issuer, name mismatch, expiry), else the engine's. */
static int tls_fail(struct wdn__fetch_xfer *x, const char *what)
{
    const char *vr = wdn_tls_verify_error(x->tls);

    if (vr != NULL)
        return wdn__fetch_fail(x, WDN_ETLS, "TLS certificate verification failed: %s", vr);
    if (wdn_tls_error(x->tls)[0] != '\0')
        return wdn__fetch_fail(x, WDN_ETLS, "%s failed: %s", what, wdn_tls_error(x->tls));
    return wdn__fetch_fail(x, WDN_ETLS, "%s failed", what);
}

int wdn__fetch_tls_start(struct wdn__fetch_xfer *x, const struct wdn__fetch_url *u,
                         const char *ca_file)
{
    char why[320], key[WDN_FETCH_MAX_HOST_BYTES + 8];
    int rc;

    x->tls_ctx = wdn__fetch_tls_ctx(ca_file, why, sizeof(why));
    if (x->tls_ctx == NULL)
        return wdn__fetch_fail(x, WDN_ETLS, "%s", why);
    /* The session key names the endpoint: a later transfer to it resumes the session. */
    wdn_fmt(key, sizeof(key), "%s:%d", u->host, u->port);
    /* SNI and the name check for a DNS name; for an address literal no SNI (RFC 6066 3) and the
     * certificate must name the address. */
    x->tls = wdn_tls_new_client(x->tls_ctx, u->host, key);
    if (x->tls == NULL)
        return wdn__fetch_fail(x, WDN_ENOMEM, "cannot create a TLS connection to %s", u->host);
    for (;;) {
        int r = wdn_tls_handshake(x->tls);

        rc = tls_flush(x);
        if (rc != 0)
            return rc;
        if (r == 0)
            return 0;
        if (r != WDN_EAGAIN)
            return tls_fail(x, "TLS handshake");
        if (x->sock_eof)
            return wdn__fetch_fail(x, WDN_ETLS,
                                   "the server closed the connection during the TLS handshake");
        rc = tls_fill(x, "during the TLS handshake");
        if (rc != 0)
            return rc;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Either                                                                                     */

int wdn__fetch_write(struct wdn__fetch_xfer *x, const char *p, size_t len)
{
    if (x->tls == NULL)
        return wdn__fetch_raw_send(x, p, len);
    while (len > 0) {
        int k = wdn_tls_write(x->tls, p, len);
        int rc;

        if (k == WDN_EAGAIN) {
            /* Output at its high-water mark: send it, then go on. */
            if (wdn_tls_pending_output(x->tls) == 0)
                return tls_fail(x, "TLS write");
            rc = tls_flush(x);
            if (rc != 0)
                return rc;
            continue;
        }
        if (k < 0)
            return tls_fail(x, "TLS write");
        p += k;
        len -= (size_t)k;
    }
    return tls_flush(x);
}

/* Reads at least one byte, or *n == 0 at the end of the stream. A TLS stream that ends without
 * close_notify sets tls_unclean_eof: fine when the HTTP framing says the message is complete,
 * a possible truncation when the body runs until close. */
int wdn__fetch_read(struct wdn__fetch_xfer *x, char *buf, size_t cap, size_t *n, const char *what)
{
    if (x->tls == NULL)
        return raw_recv(x, buf, cap, n, what);
    for (;;) {
        int r = wdn_tls_read(x->tls, buf, cap);
        int rc = tls_flush(x); /* reading may answer (key updates, alerts) */

        if (rc != 0)
            return rc;
        if (r > 0) {
            *n = (size_t)r;
            return 0;
        }
        if (r == WDN_EEOF) {
            *n = 0;
            return 0;
        }
        if (r != WDN_EAGAIN)
            return tls_fail(x, "TLS read");
        if (x->sock_eof) {
            x->tls_unclean_eof = true;
            *n = 0;
            return 0;
        }
        rc = tls_fill(x, what);
        if (rc != 0)
            return rc;
    }
}
