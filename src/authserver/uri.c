/* URIs the authorization server trusts or refuses: redirect URIs (https, or http on a loopback
 * host), their exact matching with RFC 8252's any-port rule for loopback IP literals, Client ID
 * Metadata Document URLs, resource indicators and scope tokens. Strict on purpose: a redirect
 * URI is where codes go, so anything unusual is refused rather than normalised. */
#include <string.h>
#include <strings.h>

#include "authserver/as_int.h"
#include "base/error.h"

/* Printable ASCII without space, quotes, angle brackets, backslash, caret, backtick, braces
 * and pipe: what RFC 3986 allows unencoded, so a URI never needs escaping in a header. */
static bool uri_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"<>\\^`{|}", c);
}

static bool is_port(struct wdn_str p)
{
    if (p.len == 0 || p.len > 5)
        return false;
    for (size_t i = 0; i < p.len; i++)
        if (p.p[i] < '0' || p.p[i] > '9')
            return false;
    return true;
}

/* A registered name or an IPv4 literal: letters, digits, '-', '.'; or a bracketed IPv6
 * literal of hex digits, ':' and '.'. */
static bool host_ok(struct wdn_str h)
{
    if (h.len == 0 || h.len > 255)
        return false;
    if (h.p[0] == '[') {
        if (h.len < 4 || h.p[h.len - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < h.len; i++) {
            char c = h.p[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.'))
                return false;
        }
        return true;
    }
    for (size_t i = 0; i < h.len; i++) {
        char c = h.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

int wdn__as_uri_parse(const char *s, struct wdn__as_uri *u, const char **why)
{
    const char *p, *auth, *end;
    size_t n = strlen(s);

    memset(u, 0, sizeof(*u));
    if (n == 0 || n > WDN_ISSUER_MAX_URI_BYTES) {
        *why = "it is empty or longer than the limit";
        return WDN_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (!uri_char_ok((unsigned char)s[i])) {
            *why = "it holds spaces, control or other characters that must be percent-encoded";
            return WDN_EINVAL;
        }
    if (strncmp(s, "https://", 8) == 0) {
        u->https = true;
        auth = s + 8;
    } else if (strncmp(s, "http://", 7) == 0) {
        auth = s + 7;
    } else {
        *why = "it is not an http or https URI";
        return WDN_EINVAL;
    }
    if (strchr(s, '#') != NULL) {
        *why = "it has a fragment";
        return WDN_EINVAL;
    }
    end = auth + strcspn(auth, "/?");
    if (memchr(auth, '@', (size_t)(end - auth)) != NULL) {
        *why = "it has a user name or password";
        return WDN_EINVAL;
    }
    /* host[:port], the host possibly bracketed */
    if (*auth == '[') {
        const char *rb = memchr(auth, ']', (size_t)(end - auth));
        if (rb == NULL) {
            *why = "its IPv6 address has no closing bracket";
            return WDN_EINVAL;
        }
        p = rb + 1;
    } else {
        p = memchr(auth, ':', (size_t)(end - auth));
        if (p == NULL)
            p = end;
    }
    u->host = (struct wdn_str){auth, (size_t)(p - auth)};
    if (p < end) {
        if (*p != ':') {
            *why = "its host is malformed";
            return WDN_EINVAL;
        }
        u->port = (struct wdn_str){p + 1, (size_t)(end - p - 1)};
        if (!is_port(u->port)) {
            *why = "its port is not a number";
            return WDN_EINVAL;
        }
    }
    if (!host_ok(u->host)) {
        *why = "its host is malformed";
        return WDN_EINVAL;
    }
    u->path = (struct wdn_str){end, n - (size_t)(end - s)};
    u->loopback_ip = wdn_str_eq_cstr(u->host, "127.0.0.1") || wdn_str_eq_cstr(u->host, "[::1]");
    u->loopback = u->loopback_ip || wdn_str_eq_case_cstr(u->host, "localhost");
    return 0;
}

int wdn__as_redirect_uri_ok(const char *s, const char **why)
{
    struct wdn__as_uri u;
    int rc = wdn__as_uri_parse(s, &u, why);

    if (rc != 0)
        return rc;
    if (!u.https && !u.loopback) {
        *why = "plain http is only allowed on a loopback host (127.0.0.1, [::1], localhost)";
        return WDN_EINVAL;
    }
    return 0;
}

bool wdn__as_redirect_match(const char *registered, const char *presented)
{
    struct wdn__as_uri r, p;
    const char *why;

    if (strcmp(registered, presented) == 0)
        return true;
    /* RFC 8252 7.3: a native app's loopback redirect may use any port. Only http on the IP
     * literals: "localhost" may resolve elsewhere, and https has a fixed port by nature. */
    if (wdn__as_uri_parse(registered, &r, &why) != 0 || wdn__as_uri_parse(presented, &p, &why) ||
        r.https || p.https || !r.loopback_ip || !p.loopback_ip)
        return false;
    return wdn_str_eq(r.host, p.host) && wdn_str_eq(r.path, p.path);
}

int wdn__as_cimd_url_ok(const char *s, const char **why)
{
    struct wdn__as_uri u;
    int rc = wdn__as_uri_parse(s, &u, why);
    struct wdn_str path;

    if (rc != 0)
        return rc;
    if (!u.https) {
        *why = "a client_id URL must use https";
        return WDN_EINVAL;
    }
    path = u.path;
    if (wdn_str_index(path, '?') >= 0)
        path.len = (size_t)wdn_str_index(path, '?');
    if (path.len <= 1) {
        *why = "a client_id URL must have a path";
        return WDN_EINVAL;
    }
    /* No "." or ".." segments: the URL must be the document's one spelling. */
    for (size_t i = 0; i < path.len; i++) {
        if (path.p[i] != '/')
            continue;
        size_t j = i + 1;
        while (j < path.len && path.p[j] != '/')
            j++;
        struct wdn_str seg = {path.p + i + 1, j - i - 1};
        if (wdn_str_eq_cstr(seg, ".") || wdn_str_eq_cstr(seg, "..")) {
            *why = "a client_id URL must not have . or .. segments";
            return WDN_EINVAL;
        }
    }
    return 0;
}

int wdn__as_uri_origin(const char *s, char *out, size_t cap)
{
    struct wdn__as_uri u;
    const char *why;

    if (wdn__as_uri_parse(s, &u, &why) != 0)
        return WDN_EINVAL;
    return wdn_fmt(out, cap, "%s://%.*s%s%.*s", u.https ? "https" : "http", WDN_STR_FMT(u.host),
                   u.port.len ? ":" : "", WDN_STR_FMT(u.port));
}

/* The length of "scheme://authority" of s, or of its scheme only when it has no authority. */
static size_t origin_len(const char *s)
{
    const char *sep = strstr(s, "://");

    if (sep == NULL)
        return (size_t)(strchr(s, ':') ? strchr(s, ':') - s : 0);
    return (size_t)(sep + 3 - s) + strcspn(sep + 3, "/?");
}

bool wdn__as_resource_eq(const char *a, const char *b)
{
    size_t na = origin_len(a), nb = origin_len(b);

    return na == nb && strncasecmp(a, b, na) == 0 && strcmp(a + na, b + nb) == 0;
}

bool wdn__as_absolute_uri(const char *s)
{
    const char *colon = strchr(s, ':');
    size_t n = strlen(s);

    if (colon == NULL || colon == s || strchr(s, '#') != NULL || n > WDN_ISSUER_MAX_URI_BYTES)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!uri_char_ok((unsigned char)s[i]))
            return false;
    for (const char *p = s; p < colon; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alpha && (p == s || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')))
            return false;
    }
    return true;
}

/* RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
bool wdn__as_scope_token_ok(struct wdn_str s)
{
    if (s.len == 0 || s.len > WDN_ISSUER_MAX_FIELD_BYTES)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!(c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)))
            return false;
    }
    return true;
}

bool wdn__as_printable(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return false;
    return true;
}

bool wdn__as_scope_ok(const char *scope)
{
    for (const char *p = scope; *p;) {
        size_t len = strcspn(p, " ");
        if (!wdn__as_scope_token_ok((struct wdn_str){p, len}))
            return false;
        p += len;
        p += *p == ' ';
    }
    return true;
}

static bool set_has(const char *set, struct wdn_str t)
{
    for (const char *p = set; p && *p;) {
        size_t len = strcspn(p, " ");
        if (wdn_str_eq(t, (struct wdn_str){p, len}))
            return true;
        p += len;
        p += *p == ' ';
    }
    return false;
}

bool wdn__as_scope_subset(const char *scope, const char *set)
{
    for (const char *p = scope; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len > 0 && !set_has(set, (struct wdn_str){p, len}))
            return false;
        p += len;
        p += *p == ' ';
    }
    return true;
}
