/* URL parsing and the proxy decision of the blocking client: which host, port and path a URL
 * names, whether a proxy applies to it (http_proxy, https_proxy, no_proxy as curl reads them).
 *
 * Strict on purpose: a URL here comes from configuration or from a discovery document, and
 * anything unusual (userinfo, spaces, control or non-ASCII bytes, zone identifiers, empty or
 * out-of-range ports) is refused with a reason rather than guessed at. */
#include "http/fetch_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/dns.h"
#include "base/error.h"
#include "base/str.h"

static int fail(char *why, size_t cap, const char *msg)
{
    if (why != NULL && cap > 0)
        snprintf(why, cap, "%s", msg);
    return WDN_EINVAL;
}

/* Percent-decodes s[0..len) into out (cap bytes with the NUL). -1 on a bad escape, a NUL byte
 * or when it does not fit. */
static int pct_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (len - i < 3)
                return -1;
            hi = wdn_hex_value((unsigned char)s[i + 1]);
            lo = wdn_hex_value((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* Parses "host[:port]" or "[v6][:port]" from a[0..len) into u. */
static int parse_hostport(const char *a, size_t len, struct wdn__fetch_url *u, char *why,
                          size_t cap)
{
    const char *host = a, *port = NULL;
    size_t hlen, plen = 0, i;
    unsigned char tmp[16];
    unsigned long v = 0;

    if (len > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', len);
        if (close == NULL)
            return fail(why, cap, "unterminated IPv6 address (missing ']')");
        host = a + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < a + len) {
            if (close[1] != ':')
                return fail(why, cap, "unexpected characters after the IPv6 address");
            port = close + 2;
            plen = (size_t)(a + len - port);
        }
        u->ipv6 = true;
        u->ip = true;
    } else {
        const char *colon = memchr(a, ':', len);
        hlen = colon ? (size_t)(colon - a) : len;
        if (colon != NULL) {
            port = colon + 1;
            plen = (size_t)(a + len - port);
        }
    }
    if (hlen == 0)
        return fail(why, cap, "the URL has no host");
    if (hlen > WDN_FETCH_MAX_HOST_BYTES)
        return fail(why, cap, "the host name is too long");
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    if (u->ipv6) {
        if (inet_pton(AF_INET6, u->host, tmp) != 1)
            return fail(why, cap, "invalid IPv6 address (zone identifiers are not supported)");
    } else {
        if (!wdn_dns_name_ok(u->host, WDN_DNS_TRAILING_DOT | WDN_DNS_UNDERSCORE))
            return fail(why, cap, "invalid host name");
        u->ip = inet_pton(AF_INET, u->host, tmp) == 1;
    }
    if (port != NULL) {
        if (plen == 0)
            return fail(why, cap, "empty port after ':'");
        if (plen > 5)
            return fail(why, cap, "port out of range (1-65535)");
        for (i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9')
                return fail(why, cap, "the port is not a number");
            v = v * 10 + (unsigned long)(port[i] - '0');
        }
        if (v < 1 || v > 65535)
            return fail(why, cap, "port out of range (1-65535)");
        u->port = (uint16_t)v;
    }
    return 0;
}

int wdn__fetch_url_parse(const char *url, bool proxy, struct wdn__fetch_url *u, char *why,
                         size_t cap)
{
    const char *p, *auth_end, *at = NULL, *frag;
    size_t len, i;
    int rc;

    memset(u, 0, sizeof(*u));
    if (url == NULL)
        return fail(why, cap, "no URL");
    len = strlen(url);
    if (len > WDN_FETCH_MAX_URL_BYTES)
        return fail(why, cap, "the URL is too long");
    for (i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return fail(why, cap, "the URL contains a space, control or non-ASCII byte");
    if (strncasecmp(url, "https://", 8) == 0) {
        if (proxy)
            return fail(why, cap, "https:// proxies are not supported (use an http:// proxy)");
        u->tls = true;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else if (proxy && strstr(url, "://") == NULL) {
        p = url; /* "host:port" means an http proxy, as curl reads it */
    } else {
        return fail(why, cap,
                    proxy ? "only http:// proxies are supported"
                          : "the URL must start with http:// or https://");
    }
    u->port = proxy ? 1080 : u->tls ? 443 : 80;
    auth_end = p + strcspn(p, "/?#");
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            at = q;
    if (at != NULL) {
        if (!proxy)
            return fail(why, cap, "credentials in the URL (user@host) are not allowed");
        if (pct_decode(p, (size_t)(at - p), u->auth, sizeof(u->auth)) != 0)
            return fail(why, cap, "invalid or too long proxy credentials");
        p = at + 1;
    }
    rc = parse_hostport(p, (size_t)(auth_end - p), u, why, cap);
    if (rc != 0)
        return rc;
    frag = strchr(auth_end, '#');
    u->target.p = auth_end;
    u->target.len = frag ? (size_t)(frag - auth_end) : strlen(auth_end);
    if (proxy && !(u->target.len == 0 || (u->target.len == 1 && u->target.p[0] == '/')))
        return fail(why, cap, "a proxy URL cannot have a path");
    return 0;
}

/* Matches an IP literal host against an IP entry, optionally with a /bits CIDR suffix. */
static bool ip_match(const struct wdn__fetch_url *h, const char *entry, size_t len)
{
    char buf[64];
    unsigned char a[16], b[16];
    const char *slash = memchr(entry, '/', len);
    size_t alen = slash ? (size_t)(slash - entry) : len, nbytes;
    unsigned long bits;
    int af = h->ipv6 ? AF_INET6 : AF_INET;
    size_t full = h->ipv6 ? 16 : 4, i;

    if (alen == 0 || alen >= sizeof(buf))
        return false;
    memcpy(buf, entry, alen);
    buf[alen] = '\0';
    if (inet_pton(af, buf, b) != 1 || inet_pton(af, h->host, a) != 1)
        return false;
    bits = full * 8;
    if (slash != NULL) {
        size_t blen = len - alen - 1;
        if (blen == 0 || blen > 3)
            return false;
        bits = 0;
        for (i = 0; i < blen; i++) {
            if (slash[1 + i] < '0' || slash[1 + i] > '9')
                return false;
            bits = bits * 10 + (unsigned long)(slash[1 + i] - '0');
        }
        if (bits > full * 8)
            return false;
    }
    nbytes = bits / 8;
    if (memcmp(a, b, nbytes) != 0)
        return false;
    if (bits % 8 != 0) {
        unsigned char mask = (unsigned char)(0xff << (8 - bits % 8));
        if ((a[nbytes] & mask) != (b[nbytes] & mask))
            return false;
    }
    return true;
}

/* Matches a host name against one no_proxy name: itself or a subdomain of it. */
static bool name_match(const char *host, size_t hlen, const char *entry, size_t len)
{
    while (len > 0 && entry[0] == '.') {
        entry++;
        len--;
    }
    while (len > 0 && entry[len - 1] == '.')
        len--;
    if (len == 0 || len > hlen)
        return false;
    if (strncasecmp(host + hlen - len, entry, len) != 0)
        return false;
    return hlen == len || host[hlen - len - 1] == '.';
}

static bool is_loopback(const struct wdn__fetch_url *h)
{
    size_t n = strlen(h->host);

    if (h->ipv6)
        return ip_match(h, "::1", 3);
    if (h->ip)
        return ip_match(h, "127.0.0.0/8", 11);
    while (n > 0 && h->host[n - 1] == '.')
        n--;
    return (n == 9 && strncasecmp(h->host, "localhost", 9) == 0) ||
           (n > 10 && strncasecmp(h->host + n - 10, ".localhost", 10) == 0);
}

bool wdn__fetch_no_proxy(const char *list, const struct wdn__fetch_url *host)
{
    size_t hlen = strlen(host->host);
    const char *p = list;

    if (is_loopback(host))
        return true;
    if (list == NULL)
        return false;
    while (hlen > 0 && host->host[hlen - 1] == '.')
        hlen--;
    while (*p != '\0') {
        size_t len;
        p += strspn(p, ", \t");
        len = strcspn(p, ", \t");
        if (len == 0)
            break;
        if (len == 1 && p[0] == '*')
            return true;
        if (host->ip) {
            /* IPv6 entries are written without brackets; tolerate them anyway. */
            const char *e = p;
            size_t elen = len;
            if (elen >= 2 && e[0] == '[' && memchr(e, ']', elen) != NULL) {
                const char *close = memchr(e, ']', elen);
                char tmp[80];
                size_t a = (size_t)(close - e - 1), rest = elen - (size_t)(close - e) - 1;
                if (a + rest < sizeof(tmp)) {
                    memcpy(tmp, e + 1, a);
                    memcpy(tmp + a, close + 1, rest);
                    if (ip_match(host, tmp, a + rest))
                        return true;
                }
            } else if (ip_match(host, e, elen)) {
                return true;
            }
        } else if (name_match(host->host, hlen, p, len)) {
            return true;
        }
        p += len;
    }
    return false;
}

const char *wdn__fetch_proxy_pick(bool tls, const char *http_proxy, const char *https_proxy,
                                  const char *https_proxy_upper, const char *all_proxy,
                                  const char *all_proxy_upper)
{
    const char *const order_http[] = {http_proxy, all_proxy, all_proxy_upper};
    const char *const order_https[] = {https_proxy, https_proxy_upper, all_proxy, all_proxy_upper};
    const char *const *v = tls ? order_https : order_http;
    size_t n = tls ? 4 : 3, i;

    for (i = 0; i < n; i++)
        if (v[i] != NULL && v[i][0] != '\0')
            return v[i];
    return NULL;
}
