/* JSON Schema formats (RFC 3339 dates and times, ISO 8601 durations, e-mail addresses, host
 * names, IP addresses, URIs, UUIDs, JSON pointers, regular expressions) and patterns: ECMA-262
 * regular expressions compiled by PCRE2 and matched under the limits of limits.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "mcp/schema_int.h"

/* ---- patterns -------------------------------------------------------------------------------- */

pcre2_code *wdn__mcp_pattern_compile(const char *src, size_t n, int *rc, char *err, size_t cap)
{
    pcre2_compile_context *cc;
    pcre2_code *re = NULL;
    PCRE2_SIZE off;
    int code;

    if (rc != NULL)
        *rc = WDN_EINVAL;
    if (n > WDN_MCP_SCHEMA_MAX_PATTERN) {
        if (err != NULL && cap > 0)
            snprintf(err, cap, "pattern longer than %d bytes", WDN_MCP_SCHEMA_MAX_PATTERN);
        return NULL;
    }
    cc = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, pcre2_compile_context_create(NULL));
    if (cc == NULL) {
        if (rc != NULL)
            *rc = WDN_ENOMEM;
        return NULL;
    }
    /* ECMA-262 semantics where PCRE2 differs: \uXXXX and \u{...} escapes, $ only at the end. */
    pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
    pcre2_set_max_pattern_length(cc, WDN_MCP_SCHEMA_MAX_PATTERN);
    re = pcre2_compile((PCRE2_SPTR)src, n,
                       PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
                       &code, &off, cc);
    pcre2_compile_context_free(cc);
    if (re == NULL && err != NULL && cap > 0) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(code, msg, sizeof(msg));
        snprintf(err, cap, "invalid pattern at offset %zu: %s", (size_t)off, (const char *)msg);
    }
    return re;
}

int wdn__mcp_pattern_match(const struct wdn_mcp_schema *s, const pcre2_code *re, const char *p,
                           size_t n)
{
    pcre2_match_data *md = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, pcre2_match_data_create(1, NULL));
    int rc;

    if (md == NULL)
        return WDN_ENOMEM;
    /* jansson strings are valid UTF-8 already. A match that reaches the match or depth limit
     * (catastrophic backtracking) returns an error: the instance is refused, the server goes
     * on (schema_validate.c). */
    rc = pcre2_match(re, (PCRE2_SPTR)p, n, 0, PCRE2_NO_UTF_CHECK, md, s->mctx);
    pcre2_match_data_free(md);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    return rc == PCRE2_ERROR_NOMEMORY ? WDN_ENOMEM : WDN_ELIMIT;
}

/* ---- small parsers ----------------------------------------------------------------------------
 */

static bool digits(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return n > 0;
}

static int num(const char *p, size_t n)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

static bool full_date(const char *p, size_t n)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, max;

    if (n != 10 || p[4] != '-' || p[7] != '-' || !digits(p, 4) || !digits(p + 5, 2) ||
        !digits(p + 8, 2))
        return false;
    y = num(p, 4);
    m = num(p + 5, 2);
    d = num(p + 8, 2);
    if (m < 1 || m > 12 || d < 1)
        return false;
    max = days[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    return d <= max;
}

/* full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
static bool full_time(const char *p, size_t n)
{
    size_t i = 8;

    if (n < 9 || p[2] != ':' || p[5] != ':' || !digits(p, 2) || !digits(p + 3, 2) ||
        !digits(p + 6, 2) || num(p, 2) > 23 || num(p + 3, 2) > 59 || num(p + 6, 2) > 60)
        return false;
    if (p[i] == '.') {
        size_t start = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i + 1 == n && (p[i] == 'Z' || p[i] == 'z'))
        return true;
    return i + 6 == n && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':' && digits(p + i + 1, 2) &&
           digits(p + i + 4, 2) && num(p + i + 1, 2) <= 23 && num(p + i + 4, 2) <= 59;
}

/* ISO 8601 durations as RFC 3339 appendix A writes them: P1Y2M3DT4H5M6S, P2W. */
static bool duration(const char *p, size_t n)
{
    const char *units = "YMD";
    size_t i = 1;
    bool time = false;

    if (n < 3 || p[0] != 'P')
        return false;
    if (p[n - 1] == 'W')
        return digits(p + 1, n - 2);
    while (i < n) {
        size_t start = i;
        const char *u;
        if (p[i] == 'T') {
            if (time || i + 1 == n)
                return false;
            time = true;
            units = "HMS";
            i++;
            continue;
        }
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == start || i == n || (u = strchr(units, p[i])) == NULL || p[i] == '\0')
            return false;
        units = u + 1; /* components in order, each once */
        i++;
    }
    /* The loop only ends after a number and its unit (a T needs something after it): never
     * empty, never on a T. */
    return true;
}

static bool hostname(const char *p, size_t n)
{
    size_t i, label = 0;

    if (n == 0 || n > 253)
        return false;
    for (i = 0; i <= n; i++) {
        if (i == n || p[i] == '.') {
            if (label == 0 || label > 63 || p[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
              (p[i] >= '0' && p[i] <= '9') || (p[i] == '-' && label > 0)))
            return false;
        label++;
    }
    return true;
}

static bool ipv4(const char *p, size_t n)
{
    size_t i = 0, part;

    for (part = 0; part < 4; part++) {
        size_t start = i;
        while (i < n && p[i] >= '0' && p[i] <= '9' && i - start < 3)
            i++;
        if (i == start || (i - start > 1 && p[start] == '0') || num(p + start, i - start) > 255)
            return false;
        if (part < 3 && (i >= n || p[i++] != '.'))
            return false;
    }
    return i == n;
}

static bool ipv6(const char *p, size_t n)
{
    char buf[64];
    unsigned char out[16];

    if (n == 0 || n >= sizeof(buf) || memchr(p, '%', n) != NULL)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, out) == 1;
}

static bool email(const char *p, size_t n)
{
    const char *at = memchr(p, '@', n);
    size_t local, i;

    if (at == NULL || (local = (size_t)(at - p)) == 0 || local > 64)
        return false;
    for (i = 0; i < local; i++) {
        char ch = p[i];
        if (ch == '.') {
            if (i == 0 || i + 1 == local || p[i + 1] == '.')
                return false;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL)) {
            return false;
        }
    }
    p = at + 1;
    n -= local + 1;
    if (n > 2 && p[0] == '[' && p[n - 1] == ']') {
        if (n > 7 && strncmp(p + 1, "IPv6:", 5) == 0)
            return ipv6(p + 6, n - 7);
        return ipv4(p + 1, n - 2);
    }
    return hostname(p, n);
}

/* RFC 3986 characters: unreserved, reserved, and %XX escapes. */
static bool uri_chars(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '%') {
            if (i + 2 >= n + 0 || !isxdigit((unsigned char)p[i + 1]) ||
                !isxdigit((unsigned char)p[i + 2]))
                return false;
            i += 2;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || strchr("-._~:/?#[]@!$&'()*+,;=", ch) != NULL) ||
                   ch == '\0') {
            return false;
        }
    }
    return true;
}

static bool uri(const char *p, size_t n, bool need_scheme)
{
    size_t i = 0;

    if (!uri_chars(p, n))
        return false;
    if (n > 0 && ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z'))) {
        for (i = 1; i < n && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                              (p[i] >= '0' && p[i] <= '9') || strchr("+.-", p[i]) != NULL);
             i++)
            ;
        if (i < n && p[i] == ':')
            return true;
    }
    return !need_scheme;
}

static bool uuid(const char *p, size_t n)
{
    size_t i;

    if (n != 36)
        return false;
    for (i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (p[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)p[i])) {
            return false;
        }
    }
    return true;
}

static bool json_pointer(const char *p, size_t n)
{
    size_t i;

    if (n > 0 && p[0] != '/')
        return false;
    for (i = 0; i < n; i++)
        if (p[i] == '~' && (i + 1 == n || (p[i + 1] != '0' && p[i + 1] != '1')))
            return false;
    return true;
}

static bool relative_json_pointer(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    if (i == 0 || (i > 1 && p[0] == '0'))
        return false;
    return (i + 1 == n && p[i] == '#') || json_pointer(p + i, n - i);
}

bool wdn__mcp_format_ok(const struct wdn_mcp_schema *s, int f, const char *p, size_t n)
{
    const char *t;
    pcre2_code *re;

    switch (f) {
    case F_DATE_TIME:
        t = memchr(p, 'T', n);
        if (t == NULL)
            t = memchr(p, 't', n);
        return t != NULL && full_date(p, (size_t)(t - p)) &&
               full_time(t + 1, n - (size_t)(t - p) - 1);
    case F_DATE:
        return full_date(p, n);
    case F_TIME:
        return full_time(p, n);
    case F_DURATION:
        return duration(p, n);
    case F_EMAIL:
        return email(p, n);
    case F_HOSTNAME:
        return hostname(p, n);
    case F_IPV4:
        return ipv4(p, n);
    case F_IPV6:
        return ipv6(p, n);
    case F_URI:
        return uri(p, n, true);
    case F_URI_REFERENCE:
        return uri(p, n, false);
    case F_UUID:
        return uuid(p, n);
    case F_JSON_POINTER:
        return json_pointer(p, n);
    case F_RELATIVE_JSON_POINTER:
        return relative_json_pointer(p, n);
    case F_REGEX:
        re = wdn__mcp_pattern_compile(p, n, NULL, NULL, 0);
        pcre2_code_free(re);
        return re != NULL;
    default:
        return true;
    }
}
