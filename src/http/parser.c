/* The HTTP/1.1 grammar shared by request and response heads: character classes, lines and
 * field lines (strict, zero-copy), the Transfer-Encoding and Connection values, and lookups on
 * parsed fields. The heads themselves are parsed in parser_request.c and parser_response.c,
 * chunked bodies in parser_chunked.c. */
#include <string.h>

#include "base/error.h"
#include "http/parser_int.h"

/* The table behind IS(): generated from the RFC 9110/9112 grammar (see parser_int.h). */
const unsigned char wdn__http_cls[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x22, 0x2f, 0x06, 0x23, 0x2f, 0x2f, 0x2f, 0x2f, 0x2e, 0x2e, 0x2f, 0x2f, 0x2e, 0x2f, 0x2f, 0x26,
    0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x2e, 0x2e, 0x26, 0x2e, 0x26, 0x26,
    0x26, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f,
    0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2e, 0x06, 0x2e, 0x27, 0x2f,
    0x27, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f,
    0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x26, 0x27, 0x26, 0x2f, 0x00,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
};

/*
 * Finds the line that starts at h->pos. Every decision depends only on bytes before the
 * decision point, so feeding a head byte by byte reaches the same verdict as feeding it at
 * once: a line is looked at only when its LF has arrived or when it has provably outgrown a
 * limit. A line's content may be max_line bytes, then CR LF, and the whole head must end
 * before WDN_HTTP_MAX_HEAD_BYTES. On 0, *cr is the index of the line's CR (buf[*cr] == '\r'
 * is a sentinel that stops every character-class loop) and h->pos moves past its LF.
 */
int wdn__http_next_line(struct wdn__http_head *h, size_t max_line, int line_status, size_t *cr)
{
    size_t start = h->pos;
    size_t wend = start + max_line + 2;
    size_t search_end;
    bool head_bound = false;
    const char *lf = NULL;
    size_t at;

    if (wend >= WDN_HTTP_MAX_HEAD_BYTES) {
        wend = WDN_HTTP_MAX_HEAD_BYTES;
        head_bound = true;
    }
    search_end = wend < h->len ? wend : h->len;
    if (search_end > start)
        lf = memchr(h->buf + start, '\n', search_end - start);
    if (lf == NULL) {
        if (search_end == h->len && h->len < wend)
            return WDN_EAGAIN;
        if (head_bound)
            return head_fail(h, WDN_ELIMIT, 431, "head too large");
        return head_fail(h, WDN_ELIMIT, line_status,
                         line_status == 414 ? "request line too long" : "header line too long");
    }
    at = (size_t)(lf - h->buf);
    /* A bare LF is a line end for some parsers and not for others: reject it outright. */
    if (at == start || h->buf[at - 1] != '\r')
        return head_fail(h, WDN_EPARSE, 400, "bare LF line ending");
    *cr = at - 1;
    h->pos = at + 1;
    return 0;
}

/* A byte a field may not carry: CR, LF or NUL anywhere; in a name also controls, space, ':',
 * DEL and non-ASCII. */
static bool field_byte_bad(unsigned char ch, bool name)
{
    if (ch == '\r' || ch == '\n' || ch == '\0')
        return true;
    return name && (ch <= ' ' || ch == ':' || ch >= 0x7f);
}

/* Values (tokens, cookies) are the bulk of a head: eight bytes at a time while a word has no
 * byte below 0x0e, which covers CR, LF and NUL; from a word that has one, byte by byte. */
bool wdn__http_field_ok(struct wdn_str s, bool name)
{
    size_t i = 0;

    if (name && s.len == 0)
        return false;
    while (!name && s.len - i >= 8) {
        uint64_t x;
        memcpy(&x, s.p + i, 8);
        if (HAS_LESS(x, 0x0e))
            break;
        i += 8;
    }
    for (; i < s.len; i++) {
        if (field_byte_bad((unsigned char)s.p[i], name))
            return false;
    }
    return true;
}

/*
 * Scans field-value bytes from p and returns the index of the first other byte (at most cr,
 * where buf[cr] == '\r'). Eight bytes at a time while a word holds no control byte or DEL,
 * since long values (tokens, cookies) are the bulk of a head.
 */
static size_t scan_value(const char *b, size_t p, size_t cr)
{
    for (;;) {
        size_t stop;

        while (cr - p >= 8) {
            uint64_t x;
            memcpy(&x, b + p, 8);
            if (HAS_LESS(x, 0x20) || HAS_ZERO(x ^ (ONES * 0x7f)))
                break;
            p += 8;
        }
        /* A word with HTAB or a bad byte: byte by byte through it, then fast again. */
        stop = cr - p > 8 ? p + 8 : cr;
        while (p < stop && IS(b[p], C_VALUE))
            p++;
        if (p < stop || p == cr)
            return p;
    }
}

/*
 * Parses the header line buf[s..cr) into *out. The caller guarantees buf[cr] == '\r', which
 * ends every scan below without a bounds check.
 */
static int parse_field_line(struct wdn__http_head *h, size_t s, size_t cr,
                            struct wdn_http_header *out)
{
    const char *b = h->buf;
    size_t p = s, v, e;

    if (IS_WS(b[p]))
        return head_fail(h, WDN_EPARSE, 400, "obs-fold or whitespace before a header name");
    while (IS(b[p], C_TCHAR))
        p++;
    if (p == s)
        return head_fail(h, WDN_EPARSE, 400, "invalid header name");
    if (b[p] != ':') {
        if (IS_WS(b[p]))
            return head_fail(h, WDN_EPARSE, 400, "whitespace before the colon");
        return head_fail(h, WDN_EPARSE, 400, "invalid character in a header name");
    }
    out->name.p = b + s;
    out->name.len = p - s;
    p++;
    while (IS_WS(b[p]))
        p++;
    v = p;
    p = scan_value(b, p, cr);
    if (p != cr)
        return head_fail(h, WDN_EPARSE, 400, "control character in a header value");
    e = p;
    while (e > v && IS_WS(b[e - 1]))
        e--;
    out->value.p = b + v;
    out->value.len = e - v;
    return 0;
}

static void skip_ows(const char **p, const char *e)
{
    while (*p < e && IS_WS(**p))
        (*p)++;
}

/* Consumes a token; false when none is there. */
static bool take_token(const char **p, const char *e)
{
    const char *s = *p;
    while (*p < e && IS(**p, C_TCHAR))
        (*p)++;
    return *p != s;
}

/* Consumes a quoted-string (RFC 9110 5.6.4) starting at its opening quote. */
static bool take_quoted(const char **p, const char *e)
{
    if (*p >= e || **p != '"')
        return false;
    (*p)++;
    while (*p < e) {
        unsigned char c = (unsigned char)**p;
        if (c == '"') {
            (*p)++;
            return true;
        }
        if (c == '\\') {
            (*p)++;
            if (*p >= e || !IS(**p, C_VALUE))
                return false;
        } else if (!IS(c, C_QDTEXT)) {
            return false;
        }
        (*p)++;
    }
    return false;
}

/* Reads the next field line into fields[*n]; requests and responses share it. */
int wdn__http_next_field(struct wdn__http_head *h, struct wdn_http_header *fields, size_t *n,
                         struct wdn_http_header **out)
{
    size_t s = h->pos, cr;
    int rc;

    *out = NULL;
    rc = wdn__http_next_line(h, WDN_HTTP_MAX_LINE_BYTES, 431, &cr);
    if (rc != 0 || cr == s)
        return rc;
    if (*n == WDN_HTTP_MAX_HEADERS)
        return head_fail(h, WDN_ELIMIT, 431, "too many header fields");
    rc = parse_field_line(h, s, cr, &fields[*n]);
    if (rc != 0)
        return rc;
    *out = &fields[(*n)++];
    return 0;
}

/*
 * Checks a Transfer-Encoding value against the grammar 1#transfer-coding, where
 * transfer-coding = token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ).
 * Empty list elements and "chunked" with parameters are malformed here (nothing legitimate
 * sends them). Counts into *ti so that several fields can be combined (responses).
 */
int wdn__http_te_parse(struct wdn_str v, struct wdn__http_te *ti)
{
    const char *p = v.p, *e = v.p + v.len;

    for (;;) {
        const char *name;
        bool chunked, params = false;

        skip_ows(&p, e);
        name = p;
        if (!take_token(&p, e))
            return WDN_EPARSE;
        chunked = name_is((struct wdn_str){name, (size_t)(p - name)}, "chunked", 7);
        skip_ows(&p, e);
        while (p < e && *p == ';') {
            params = true;
            p++;
            skip_ows(&p, e);
            if (!take_token(&p, e))
                return WDN_EPARSE;
            skip_ows(&p, e);
            if (p >= e || *p != '=')
                return WDN_EPARSE;
            p++;
            skip_ows(&p, e);
            if (p < e && *p == '"') {
                if (!take_quoted(&p, e))
                    return WDN_EPARSE;
            } else if (!take_token(&p, e)) {
                return WDN_EPARSE;
            }
            skip_ows(&p, e);
        }
        if (chunked && params)
            return WDN_EPARSE;
        ti->codings++;
        ti->chunked += chunked;
        ti->last_chunked = chunked;
        if (p == e)
            return 0;
        if (*p != ',')
            return WDN_EPARSE;
        p++;
    }
}

void wdn__http_conn_parse(struct wdn_str v, struct wdn__http_conn_opts *ci)
{
    const char *p = v.p, *e = v.p + v.len;

    while (p < e) {
        const char *s, *t;
        struct wdn_str tok;

        skip_ows(&p, e);
        s = p;
        while (p < e && *p != ',')
            p++;
        t = p;
        while (t > s && IS_WS(t[-1]))
            t--;
        tok.p = s;
        tok.len = (size_t)(t - s);
        if (NAME_IS(tok, "close"))
            ci->close = true;
        else if (NAME_IS(tok, "keep-alive"))
            ci->keep_alive = true;
        else if (NAME_IS(tok, "upgrade"))
            ci->upgrade = true;
        if (p < e)
            p++;
    }
}

const struct wdn_http_header *wdn_http_header_find(const struct wdn_http_header *headers, size_t n,
                                                   struct wdn_str name)
{
    for (size_t i = 0; i < n; i++) {
        if (wdn_str_eq_case(headers[i].name, name))
            return &headers[i];
    }
    return NULL;
}

bool wdn_http_is_hop_by_hop(struct wdn_str name)
{
    switch (name.len) {
    case 2:
        return NAME_IS(name, "te");
    case 7:
        return NAME_IS(name, "trailer") || NAME_IS(name, "upgrade");
    case 10:
        return NAME_IS(name, "connection") || NAME_IS(name, "keep-alive");
    case 16:
        return NAME_IS(name, "proxy-connection");
    case 17:
        return NAME_IS(name, "transfer-encoding");
    case 18:
        return NAME_IS(name, "proxy-authenticate");
    case 19:
        return NAME_IS(name, "proxy-authorization");
    default:
        return false;
    }
}
