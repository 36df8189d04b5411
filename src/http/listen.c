/* The server's listening sockets: one SO_REUSEPORT socket per worker, so each worker accepts
 * on its own socket and the kernel spreads connections across them without a shared accept
 * lock, on a port that is this process's alone.
 *
 * SO_REUSEPORT lets any process of the same user join a port's group, and the kernel then
 * splits the connections between the processes: two issuers on one port answered in turn, two
 * sidecars on one --http-port served different apps at random. Two checks keep the port ours:
 * - before binding, a probe socket without SO_REUSEPORT is bound to the address: the kernel
 *   refuses it while anyone listens there (a running warden, any other program), so a second
 *   process stops before it could take a single connection from the first;
 * - after listening, every listening socket on the port in this network namespace (a
 *   sock_diag netlink dump of the listening TCP sockets) must be one of ours: two processes
 *   that started at the same moment and both passed the probe see each other here, and at
 *   least one of them stops.
 * Without netlink only the probe runs. A program that joins the group after us without such a
 * check cannot be stopped by us; nothing in warden does that. */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "http/server_int.h"

#define PORT0_ATTEMPTS 8 /* port 0: another ephemeral port when the kernel's pick was shared */

int wdn__http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[64];
    const char *colon, *hs, *he;
    char *end;
    long port;
    bool bracketed;

    if (s == NULL)
        return WDN_EINVAL;
    bracketed = s[0] == '[';
    if (bracketed) {
        he = strchr(s, ']');
        if (he == NULL || he[1] != ':')
            return WDN_EINVAL;
        hs = s + 1;
        colon = he + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return WDN_EINVAL;
        hs = s;
        he = colon;
    }
    if ((size_t)(he - hs) >= sizeof(host) || he == hs)
        return WDN_EINVAL;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end != '\0' || end == colon + 1 || port < 0 || port > 65535)
        return WDN_EINVAL;
    memset(ss, 0, sizeof(*ss));
    if (strcmp(host, "localhost") == 0 && !bracketed)
        memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    /* Brackets hold an IPv6 literal and only that (RFC 3986 host syntax): "[127.0.0.1]:80" and
     * an unbracketed "::1:80", whose port cannot be told from the address, are refused. */
    if (!bracketed && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *sslen = sizeof(*a4);
        return 0;
    }
    if (bracketed && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *sslen = sizeof(*a6);
        return 0;
    }
    return WDN_EINVAL;
}

/* A socket bound with SO_REUSEPORT (listening comes later). */
static int bind_one(const struct sockaddr_storage *ss, socklen_t sslen, int *fd_out)
{
    int one = 1, rc = WDN_ESYS;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return WDN_ESYS;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
        goto out;
    if (bind(fd, (const struct sockaddr *)ss, sslen) != 0) {
        rc = errno == EADDRINUSE ? WDN_EEXISTS : WDN_ESYS;
        goto out;
    }
    *fd_out = fd;
    fd = -1;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- Who else holds the port ------------------------------------------------------------ */

/* WDN_EEXISTS when someone listens on ss (a bind without SO_REUSEPORT is refused then; with
 * SO_REUSEADDR, connections in TIME_WAIT on the port do not count). 0 when free. */
static int probe(const struct sockaddr_storage *ss, socklen_t sslen)
{
    int one = 1, rc = 0;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return WDN_ESYS;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
        rc = WDN_ESYS;
    else if (bind(fd, (const struct sockaddr *)ss, sslen) != 0)
        rc = errno == EADDRINUSE ? WDN_EEXISTS : WDN_ESYS;
    close(fd);
    return rc;
}

/* An address as 16 bytes: IPv6 as is, IPv4 as its v4-mapped form (::ffff:a.b.c.d). */
static void addr16(const struct sockaddr_storage *ss, unsigned char out[16])
{
    memset(out, 0, 16);
    if (ss->ss_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
        return;
    }
    out[10] = out[11] = 0xff;
    memcpy(out + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
}

/* True for a v4-mapped address. */
static bool is_v4(const unsigned char a[16])
{
    static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, prefix, 12) == 0;
}

/* The wildcard of the address's family (0.0.0.0 or ::). */
static bool is_any(const unsigned char a[16])
{
    static const unsigned char zero[16];
    return is_v4(a) ? memcmp(a + 12, zero, 4) == 0 : memcmp(a, zero, 16) == 0;
}

/* Two bound addresses that would receive the same connections: equal, or one of them the
 * wildcard of the other's family, or :: (which takes IPv4 too unless IPV6_V6ONLY). */
static bool overlaps(const unsigned char a[16], const unsigned char b[16])
{
    if (memcmp(a, b, 16) == 0)
        return true;
    if ((!is_v4(a) && is_any(a)) || (!is_v4(b) && is_any(b)))
        return true;
    return is_v4(a) && is_v4(b) && (is_any(a) || is_any(b));
}

/* One sock_diag dump of the TCP sockets of a family that listen (the kernel sends only those:
 * a few per service, where /proc/net/tcp lists every connection, 25,000 lines on a busy test
 * machine and 0.27 s of reading per bind). Sets *taken when one listens on port at an address
 * that overlaps ours and is not one of mine. Returns false when the dump cannot be had (no
 * netlink): then only the probe guards the port. */
static bool diag_scan(int family, const unsigned char ours[16], unsigned port, const ino_t *mine,
                      int n, bool *taken)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
    _Alignas(struct nlmsghdr) char buf[16384];
    bool done = false, ok = true;
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

    if (fd < 0)
        return false;
    memset(&req, 0, sizeof(req));
    req.nlh.nlmsg_len = sizeof(req);
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.sdiag_family = (uint8_t)family;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = 1u << TCP_LISTEN;
    if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
        close(fd);
        return false;
    }
    while (!done && ok) {
        ssize_t got = recv(fd, buf, sizeof(buf), 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            ok = false;
            break;
        }
        size_t left = (size_t)got;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                done = true;
                break;
            }
            if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
                ok = false;
                break;
            }
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            unsigned char a[16];
            bool mine_too = false;
            if (ntohs(m->id.idiag_sport) != port || m->idiag_state != TCP_LISTEN)
                continue;
            memset(a, 0, 16);
            if (family == AF_INET) {
                a[10] = a[11] = 0xff;
                memcpy(a + 12, m->id.idiag_src, 4);
            } else {
                memcpy(a, m->id.idiag_src, 16);
            }
            if (!overlaps(a, ours))
                continue;
            for (int i = 0; i < n; i++)
                mine_too = mine_too || (unsigned long long)mine[i] == m->idiag_inode;
            if (!mine_too)
                *taken = true;
        }
    }
    close(fd);
    return ok;
}

/* True when a socket that is not one of fds listens on ss's port at an overlapping address in
 * this network namespace. */
bool wdn__http_port_shared(const struct sockaddr_storage *ss, const int *fds, int n)
{
    unsigned char ours[16];
    ino_t mine[256];
    bool taken = false, v4 = ss->ss_family == AF_INET;
    unsigned port = ntohs(v4 ? ((const struct sockaddr_in *)ss)->sin_port
                             : ((const struct sockaddr_in6 *)ss)->sin6_port);

    for (int i = 0; i < n && i < 256; i++) {
        struct stat st;
        mine[i] = fstat(fds[i], &st) == 0 ? st.st_ino : 0;
    }
    addr16(ss, ours);
    if (diag_scan(AF_INET, ours, port, mine, n, &taken))
        diag_scan(AF_INET6, ours, port, mine, n, &taken);
    return taken;
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

/* Binds n sockets on ss (port 0: the first picks the port, the others join it). */
static int bind_group(struct sockaddr_storage *ss, socklen_t sslen, int *fds, int n, int *port)
{
    int rc;

    for (int i = 0; i < n; i++) {
        rc = bind_one(ss, sslen, &fds[i]);
        if (rc)
            return rc;
        if (i == 0) {
            struct sockaddr_storage bound;
            socklen_t blen = sizeof(bound);
            if (getsockname(fds[0], (struct sockaddr *)&bound, &blen) != 0)
                return WDN_ESYS;
            uint16_t p = bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                     : ((struct sockaddr_in *)&bound)->sin_port;
            *port = ntohs(p);
            if (ss->ss_family == AF_INET6)
                ((struct sockaddr_in6 *)ss)->sin6_port = p;
            else
                ((struct sockaddr_in *)ss)->sin_port = p;
        }
    }
    return 0;
}

int wdn__http_listen(const struct sockaddr_storage *addr, socklen_t sslen, int *fds, int n,
                     int *port)
{
    struct sockaddr_storage ss;
    bool any_port = addr->ss_family == AF_INET6
                        ? ((const struct sockaddr_in6 *)addr)->sin6_port == 0
                        : ((const struct sockaddr_in *)addr)->sin_port == 0;
    int rc = WDN_EEXISTS;

    if (!any_port) {
        rc = probe(addr, sslen);
        if (rc)
            return rc;
    }
    for (int attempt = 0; attempt < (any_port ? PORT0_ATTEMPTS : 1); attempt++) {
        ss = *addr;
        for (int i = 0; i < n; i++)
            fds[i] = -1;
        rc = bind_group(&ss, sslen, fds, n, port);
        for (int i = 0; rc == 0 && i < n; i++) {
            if (listen(fds[i], 1024) != 0)
                rc = WDN_ESYS;
        }
        if (rc == 0 && wdn__http_port_shared(&ss, fds, n))
            rc = WDN_EEXISTS;
        if (rc == 0)
            return 0;
        close_all(fds, n);
        if (rc != WDN_EEXISTS)
            break;
    }
    return rc;
}
