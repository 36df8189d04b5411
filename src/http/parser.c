/* Strict, zero-copy HTTP/1.1 parsing of request heads, response heads and chunked bodies. */
#include "http/parser.h"

#include <string.h>

#include "base/error.h"

/*
 * Character classes, one bit each, looked up in one 256-byte table so that every inner loop
 * is a load and a test. The table was generated from the RFC 9110/9112 grammar:
 *   C_TCHAR  token characters: ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~
 *   C_VALUE  field-value bytes: HTAB, SP, VCHAR and obs-text (0x80-0xff); never CR, LF, NUL
 *   C_TARGET request-target bytes: VCHAR except '#' (a fragment is never sent)
 *   C_HOST   uri-host and port bytes: unreserved, sub-delims, ':', '[', ']', '%'
 *   C_HEX    hexadecimal digits
 *   C_QDTEXT quoted-string text: HTAB SP 0x21 0x23-0x5b 0x5d-0x7e obs-text
 */
enum {
    C_TCHAR = 0x01,
    C_VALUE = 0x02,
    C_TARGET = 0x04,
    C_HOST = 0x08,
    C_HEX = 0x10,
    C_QDTEXT = 0x20,
};

static const unsigned char cls[256] = {
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

#define IS(c, f) ((cls[(unsigned char)(c)] & (f)) != 0)
#define IS_WS(c) ((c) == ' ' || (c) == '\t')

/* Where a head parse stands: the buffer, the start of the next line, and the error. */
struct head {
    const char *buf;
    size_t len;
    size_t pos;
    int status;
    const char *reason;
};

static int head_fail(struct head *h, int rc, int status, const char *reason)
{
    h->status = status;
    h->reason = reason;
    return rc;
}

/*
 * Finds the line that starts at h->pos. Every decision depends only on bytes before the
 * decision point, so feeding a head byte by byte reaches the same verdict as feeding it at
 * once: a line is looked at only when its LF has arrived or when it has provably outgrown a
 * limit. A line's content may be max_line bytes, then CR LF, and the whole head must end
 * before WDN_HTTP_MAX_HEAD_BYTES. On 0, *cr is the index of the line's CR (buf[*cr] == '\r'
 * is a sentinel that stops every character-class loop) and h->pos moves past its LF.
 */
static int next_line(struct head *h, size_t max_line, int line_status, size_t *cr)
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

/* Word-at-a-time tests (Hacker's Delight / "Bit Twiddling Hacks"): exact as booleans. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
#define HAS_ZERO(x) ((((x)-ONES) & ~(x)&HIGHS) != 0)
#define HAS_LESS(x, n) ((((x)-ONES * (n)) & ~(x)&HIGHS) != 0)

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
static int parse_field_line(struct head *h, size_t s, size_t cr, struct wdn_http_header *out)
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

static bool name_is(struct wdn_str name, const char *lower, size_t n)
{
    if (name.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c | 0x20);
        if (c != (unsigned char)lower[i])
            return false;
    }
    return true;
}
#define NAME_IS(name, lit) name_is((name), (lit), sizeof(lit) - 1)

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

/* What a Transfer-Encoding field value says. */
/* Reads the next field line of a head into fields[*n] (at most WDN_HTTP_MAX_HEADERS);
 * *out = NULL at the empty line that ends the head. Requests and responses share it. */
static int next_field(struct head *h, struct wdn_http_header *fields, size_t *n,
                      struct wdn_http_header **out)
{
    size_t s = h->pos, cr;
    int rc;

    *out = NULL;
    rc = next_line(h, WDN_HTTP_MAX_LINE_BYTES, 431, &cr);
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

struct te_info {
    size_t codings;  /* transfer-codings listed */
    size_t chunked;  /* how many of them are "chunked" */
    bool last_chunked;
};

/*
 * Checks a Transfer-Encoding value against the grammar 1#transfer-coding, where
 * transfer-coding = token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ).
 * Empty list elements and "chunked" with parameters are malformed here (nothing legitimate
 * sends them). Counts into *ti so that several fields can be combined (responses).
 */
static int te_parse(struct wdn_str v, struct te_info *ti)
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

/* The connection options that matter to us, from a Connection field (a token list). */
struct conn_info {
    bool close;
    bool keep_alive;
    bool upgrade;
};

static void conn_parse(struct wdn_str v, struct conn_info *ci)
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

static bool host_valid(struct wdn_str v)
{
    if (v.len == 0)
        return false;
    for (size_t i = 0; i < v.len; i++) {
        if (!IS(v.p[i], C_HOST))
            return false;
    }
    return true;
}

/* An authority-form target (CONNECT): host ":" port with a non-empty host, 1-5 digit port. */
static bool authority_form_valid(struct wdn_str t)
{
    size_t colon = t.len, digits;

    if (!host_valid(t))
        return false;
    while (colon > 0 && t.p[colon - 1] != ':')
        colon--;
    if (colon < 2)
        return false;
    digits = t.len - colon;
    if (digits == 0 || digits > 5)
        return false;
    for (size_t i = colon; i < t.len; i++) {
        if (t.p[i] < '0' || t.p[i] > '9')
            return false;
    }
    return true;
}

static void split_query(struct wdn_str s, struct wdn_str *path, struct wdn_str *query)
{
    const char *q = s.len ? memchr(s.p, '?', s.len) : NULL;

    if (q == NULL) {
        *path = s;
        query->p = s.p + s.len;
        query->len = 0;
        return;
    }
    path->p = s.p;
    path->len = (size_t)(q - s.p);
    query->p = q + 1;
    query->len = s.len - path->len - 1;
}

/* Checks the form of the request-target against the method and fills path and query. */
static int target_form(struct head *h, struct wdn_http_request *req)
{
    struct wdn_str t = req->target;
    bool connect = wdn_str_eq(req->method, WDN_STR("CONNECT"));
    size_t skip;

    if (connect) {
        if (!authority_form_valid(t))
            return head_fail(h, WDN_EPARSE, 400, "CONNECT needs an authority-form target");
        req->path.p = t.p;
        req->path.len = 0;
        req->query = req->path;
        return 0;
    }
    if (t.p[0] == '/') {
        split_query(t, &req->path, &req->query);
        return 0;
    }
    if (t.len == 1 && t.p[0] == '*') {
        if (!wdn_str_eq(req->method, WDN_STR("OPTIONS")))
            return head_fail(h, WDN_EPARSE, 400, "asterisk-form target without OPTIONS");
        req->path = t;
        req->query.p = t.p + 1;
        req->query.len = 0;
        return 0;
    }
    if (t.len > 7 && name_is((struct wdn_str){t.p, 7}, "http://", 7))
        skip = 7;
    else if (t.len > 8 && name_is((struct wdn_str){t.p, 8}, "https://", 8))
        skip = 8;
    else
        return head_fail(h, WDN_EPARSE, 400, "invalid request-target form");
    {
        /* absolute-form: the authority runs to the first '/' or '?'; no userinfo allowed. */
        size_t a = skip, i = skip;
        while (i < t.len && t.p[i] != '/' && t.p[i] != '?')
            i++;
        if (!host_valid((struct wdn_str){t.p + a, i - a}))
            return head_fail(h, WDN_EPARSE, 400, "invalid authority in an absolute-form target");
        split_query((struct wdn_str){t.p + i, t.len - i}, &req->path, &req->query);
    }
    return 0;
}

/*
 * Checks the method at the start of a request line before the line is complete, so that a
 * peer speaking something else (a TLS ClientHello, random bytes) is refused at once instead
 * of after a line's worth of bytes. The same check runs however the bytes arrive, so the
 * verdict does not depend on how they were split.
 */
static int method_early(struct head *h, size_t s)
{
    size_t p = s, end = s + WDN_HTTP_MAX_METHOD_BYTES + 1;

    if (end > h->len)
        end = h->len;
    while (p < end && IS(h->buf[p], C_TCHAR))
        p++;
    if (p - s > WDN_HTTP_MAX_METHOD_BYTES)
        return head_fail(h, WDN_EPARSE, 400, "method too long");
    if (p == end)
        return 0;
    if (p == s && (h->buf[p] == '\r' || h->buf[p] == '\n'))
        return 0; /* an empty line (or a bare LF, which next_line refuses) */
    if (p == s || h->buf[p] != ' ')
        return head_fail(h, WDN_EPARSE, 400, "invalid method");
    return 0;
}

/* Parses the request line buf[s..cr). */
static int parse_request_line(struct head *h, size_t s, size_t cr, struct wdn_http_request *req)
{
    const char *b = h->buf;
    size_t p = s, t;

    while (IS(b[p], C_TCHAR))
        p++;
    if (p == s || b[p] != ' ')
        return head_fail(h, WDN_EPARSE, 400, "invalid method");
    if (p - s > WDN_HTTP_MAX_METHOD_BYTES)
        return head_fail(h, WDN_EPARSE, 400, "method too long");
    req->method.p = b + s;
    req->method.len = p - s;
    t = ++p;
    while (IS(b[p], C_TARGET))
        p++;
    if (p == t || b[p] != ' ')
        return head_fail(h, WDN_EPARSE, 400, "invalid request-target");
    req->target.p = b + t;
    req->target.len = p - t;
    p++;
    if (cr - p != 8 || memcmp(b + p, "HTTP/", 5) != 0 || b[p + 5] < '0' || b[p + 5] > '9' ||
        b[p + 6] != '.' || b[p + 7] < '0' || b[p + 7] > '9')
        return head_fail(h, WDN_EPARSE, 400, "malformed HTTP version");
    if (b[p + 5] != '1' || b[p + 7] > '1')
        return head_fail(h, WDN_EPARSE, 505, "unsupported HTTP version");
    req->version_minor = b[p + 7] - '0';
    return target_form(h, req);
}

/* Framing facts gathered from the header fields of a request. */
struct req_fields {
    bool host;
    bool cl;
    bool te;
    bool upgrade_field;
    struct wdn_str te_value;
    struct conn_info conn;
};

/* Applies one header field of a request; duplicates and bad values are caught as they come. */
static int request_field(struct head *h, struct wdn_http_request *req, struct req_fields *f,
                         const struct wdn_http_header *hd)
{
    struct wdn_str n = hd->name;

    switch (n.len) {
    case 4:
        if (!NAME_IS(n, "host"))
            break;
        if (f->host)
            return head_fail(h, WDN_EPARSE, 400, "duplicate Host");
        if (!host_valid(hd->value))
            return head_fail(h, WDN_EPARSE, 400, "invalid Host");
        f->host = true;
        req->host = hd->value;
        break;
    case 6:
        if (NAME_IS(n, "expect") && req->version_minor == 1 &&
            NAME_IS(hd->value, "100-continue"))
            req->expect_continue = true;
        break;
    case 7:
        if (NAME_IS(n, "upgrade"))
            f->upgrade_field = true;
        break;
    case 10:
        if (NAME_IS(n, "connection"))
            conn_parse(hd->value, &f->conn);
        break;
    case 14:
        if (!NAME_IS(n, "content-length"))
            break;
        /* Even equal duplicates are refused: some intermediaries merge, some take the last. */
        if (f->cl)
            return head_fail(h, WDN_EPARSE, 400, "duplicate Content-Length");
        if (wdn_str_to_u64(hd->value, INT64_MAX, &req->content_length) != 0)
            return head_fail(h, WDN_EPARSE, 400, "invalid Content-Length");
        f->cl = true;
        break;
    case 17: {
        struct te_info ti = {0};
        if (!NAME_IS(n, "transfer-encoding"))
            break;
        if (req->version_minor == 0)
            return head_fail(h, WDN_EPARSE, 400, "Transfer-Encoding on HTTP/1.0");
        if (f->te)
            return head_fail(h, WDN_EPARSE, 400, "duplicate Transfer-Encoding");
        if (te_parse(hd->value, &ti) != 0)
            return head_fail(h, WDN_EPARSE, 400, "malformed Transfer-Encoding");
        f->te = true;
        f->te_value = hd->value;
        break;
    }
    default:
        break;
    }
    return 0;
}

/* Decides the framing of a request once its head is complete. */
static int request_finish(struct head *h, struct wdn_http_request *req, struct req_fields *f)
{
    if (req->version_minor == 1 && !f->host)
        return head_fail(h, WDN_EPARSE, 400, "missing Host");
    if (f->te) {
        if (f->cl)
            return head_fail(h, WDN_EPARSE, 400, "both Content-Length and Transfer-Encoding");
        if (!NAME_IS(f->te_value, "chunked"))
            return head_fail(h, WDN_EPARSE, 501, "unsupported Transfer-Encoding");
        req->body = WDN_HTTP_BODY_CHUNKED;
    } else if (f->cl) {
        req->body = WDN_HTTP_BODY_LENGTH;
    }
    if (req->version_minor == 1)
        req->keep_alive = !f->conn.close;
    else
        req->keep_alive = f->conn.keep_alive && !f->conn.close;
    req->upgrade = f->conn.upgrade && f->upgrade_field;
    return 0;
}

static void request_reset(struct wdn_http_request *req)
{
    req->method = (struct wdn_str){NULL, 0};
    req->target = req->method;
    req->path = req->method;
    req->query = req->method;
    req->host = req->method;
    req->version_minor = 1;
    req->body = WDN_HTTP_BODY_NONE;
    req->content_length = 0;
    req->keep_alive = false;
    req->expect_continue = false;
    req->upgrade = false;
    req->nheaders = 0;
    req->error_status = 0;
    req->error_reason = NULL;
}

int wdn_http_parse_request(const char *buf, size_t len, struct wdn_http_request *req,
                           size_t *head_len)
{
    struct head h = {buf, len, 0, 0, NULL};
    struct req_fields f = {0};
    size_t s, cr;
    int rc;

    request_reset(req);
    *head_len = 0;
    /*
     * RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line
     * (some clients send a stray CRLF after a body). One is ignored, not more: a peer that
     * trickles empty lines would otherwise make each re-parse walk all of them.
     */
    for (int empty = 0;; empty++) {
        s = h.pos;
        rc = method_early(&h, s);
        if (rc != 0)
            goto out;
        rc = next_line(&h, WDN_HTTP_MAX_LINE_BYTES, 414, &cr);
        if (rc != 0)
            goto out;
        if (cr != s)
            break;
        if (empty == 1) {
            rc = head_fail(&h, WDN_EPARSE, 400, "more than one empty line before the request");
            goto out;
        }
    }
    rc = parse_request_line(&h, s, cr, req);
    if (rc != 0)
        goto out;
    for (;;) {
        struct wdn_http_header *hd;

        rc = next_field(&h, req->headers, &req->nheaders, &hd);
        if (rc == 0 && hd != NULL)
            rc = request_field(&h, req, &f, hd);
        if (rc != 0)
            goto out;
        if (hd == NULL)
            break;
    }
    rc = request_finish(&h, req, &f);
    if (rc != 0)
        goto out;
    *head_len = h.pos;
out:
    if (rc != 0 && rc != WDN_EAGAIN) {
        req->error_status = h.status;
        req->error_reason = h.reason;
    }
    return rc;
}

/* Parses a status line buf[s..cr): HTTP/1.x SP 3DIGIT [ SP reason-phrase ]. */
static int parse_status_line(struct head *h, size_t s, size_t cr, struct wdn_http_response *res)
{
    const char *b = h->buf;
    size_t p;

    if (cr - s < 12 || memcmp(b + s, "HTTP/1.", 7) != 0 || (b[s + 7] != '0' && b[s + 7] != '1') ||
        b[s + 8] != ' ')
        return head_fail(h, WDN_EPARSE, 502, "malformed or unsupported status-line version");
    res->version_minor = b[s + 7] - '0';
    for (p = s + 9; p < s + 12; p++) {
        if (b[p] < '0' || b[p] > '9')
            return head_fail(h, WDN_EPARSE, 502, "malformed status code");
    }
    if (b[s + 9] == '0')
        return head_fail(h, WDN_EPARSE, 502, "status code below 100");
    res->status = (b[s + 9] - '0') * 100 + (b[s + 10] - '0') * 10 + (b[s + 11] - '0');
    res->reason.p = b + cr;
    res->reason.len = 0;
    if (cr == s + 12)
        return 0;
    if (b[s + 12] != ' ')
        return head_fail(h, WDN_EPARSE, 502, "malformed status-line");
    p = s + 13;
    while (IS(b[p], C_VALUE))
        p++;
    if (p != cr)
        return head_fail(h, WDN_EPARSE, 502, "control character in the reason phrase");
    res->reason.p = b + s + 13;
    res->reason.len = cr - s - 13;
    return 0;
}

/* Framing facts gathered from the header fields of a response. */
struct res_fields {
    bool cl;
    bool te;
    struct te_info ti;
    struct conn_info conn;
};

static int response_field(struct head *h, struct wdn_http_response *res, struct res_fields *f,
                          const struct wdn_http_header *hd)
{
    struct wdn_str n = hd->name;

    if (n.len == 14 && NAME_IS(n, "content-length")) {
        uint64_t v;
        if (wdn_str_to_u64(hd->value, INT64_MAX, &v) != 0)
            return head_fail(h, WDN_EPARSE, 502, "invalid Content-Length");
        /* Repeating the same length is tolerated from an upstream; differing ones are not. */
        if (f->cl && v != res->content_length)
            return head_fail(h, WDN_EPARSE, 502, "conflicting Content-Length values");
        res->content_length = v;
        f->cl = true;
    } else if (n.len == 17 && NAME_IS(n, "transfer-encoding")) {
        if (res->version_minor == 0)
            return head_fail(h, WDN_EPARSE, 502, "Transfer-Encoding on HTTP/1.0");
        if (te_parse(hd->value, &f->ti) != 0)
            return head_fail(h, WDN_EPARSE, 502, "malformed Transfer-Encoding");
        f->te = true;
    } else if (n.len == 10 && NAME_IS(n, "connection")) {
        conn_parse(hd->value, &f->conn);
    }
    return 0;
}

static int response_finish(struct head *h, struct wdn_http_response *res, struct res_fields *f,
                           struct wdn_str request_method)
{
    int st = res->status;

    if (f->cl && f->te)
        return head_fail(h, WDN_EPARSE, 502, "both Content-Length and Transfer-Encoding");
    if (f->te && (f->ti.chunked > 1 || (f->ti.chunked == 1 && !f->ti.last_chunked)))
        return head_fail(h, WDN_EPARSE, 502, "chunked applied twice or not last");
    if (res->version_minor == 1)
        res->keep_alive = !f->conn.close;
    else
        res->keep_alive = f->conn.keep_alive && !f->conn.close;
    if (st < 200 || st == 204 || st == 304 || wdn_str_eq(request_method, WDN_STR("HEAD")) ||
        (st < 300 && wdn_str_eq(request_method, WDN_STR("CONNECT")))) {
        res->body = WDN_HTTP_BODY_NONE;
    } else if (f->te) {
        res->body = f->ti.last_chunked ? WDN_HTTP_BODY_CHUNKED : WDN_HTTP_BODY_UNTIL_CLOSE;
    } else if (f->cl) {
        res->body = WDN_HTTP_BODY_LENGTH;
    } else {
        res->body = WDN_HTTP_BODY_UNTIL_CLOSE;
    }
    if (res->body == WDN_HTTP_BODY_UNTIL_CLOSE)
        res->keep_alive = false;
    if (res->body != WDN_HTTP_BODY_LENGTH)
        res->content_length = 0;
    return 0;
}

int wdn_http_parse_response(const char *buf, size_t len, struct wdn_str request_method,
                            struct wdn_http_response *res, size_t *head_len)
{
    struct head h = {buf, len, 0, 0, NULL};
    struct res_fields f = {0};
    size_t s, cr;
    int rc;

    res->status = 0;
    res->reason = (struct wdn_str){NULL, 0};
    res->version_minor = 1;
    res->body = WDN_HTTP_BODY_NONE;
    res->content_length = 0;
    res->keep_alive = false;
    res->nheaders = 0;
    res->error_reason = NULL;
    *head_len = 0;
    s = h.pos;
    rc = next_line(&h, WDN_HTTP_MAX_LINE_BYTES, 431, &cr);
    if (rc != 0)
        goto out;
    rc = parse_status_line(&h, s, cr, res);
    if (rc != 0)
        goto out;
    for (;;) {
        struct wdn_http_header *hd;

        rc = next_field(&h, res->headers, &res->nheaders, &hd);
        if (rc == 0 && hd != NULL)
            rc = response_field(&h, res, &f, hd);
        if (rc != 0)
            goto out;
        if (hd == NULL)
            break;
    }
    rc = response_finish(&h, res, &f, request_method);
    if (rc != 0)
        goto out;
    *head_len = h.pos;
out:
    if (rc != 0 && rc != WDN_EAGAIN)
        res->error_reason = h.reason;
    return rc;
}

const struct wdn_http_header *wdn_http_header_find(const struct wdn_http_header *headers,
                                                   size_t n, struct wdn_str name)
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

/* Chunked decoder states; the order matters only for the extension range check. */
enum {
    CH_SIZE_START = 0,
    CH_SIZE,
    CH_EXT_WS,          /* BWS after the size or a value, before ';' */
    CH_EXT_NAME_WS,     /* after ';', before the extension name */
    CH_EXT_NAME,
    CH_EXT_AFTER_NAME,  /* BWS after a name: '=' or ';' follows */
    CH_EXT_VAL_WS,      /* after '=' */
    CH_EXT_VAL_TOKEN,
    CH_EXT_QUOTED,
    CH_EXT_QUOTED_PAIR,
    CH_EXT_AFTER_VAL,   /* after a closing quote */
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER_START,
    CH_TRAILER_NAME,
    CH_TRAILER_VALUE,
    CH_TRAILER_LF,
    CH_FINAL_LF,
    CH_DONE,
    CH_ERROR_PARSE,
    CH_ERROR_LIMIT,
};

void wdn_http_chunked_init(struct wdn_http_chunked *d, uint64_t max_total)
{
    d->state = CH_SIZE_START;
    d->remaining = 0;
    d->line_bytes = 0;
    d->trailer_bytes = 0;
    d->total = 0;
    d->max_total = max_total;
    d->error_status = 0;
    d->error_reason = NULL;
}

static int chunked_fail(struct wdn_http_chunked *d, int rc, int status, const char *reason)
{
    d->state = rc == WDN_ELIMIT ? CH_ERROR_LIMIT : CH_ERROR_PARSE;
    d->error_status = status;
    d->error_reason = reason;
    return rc;
}

static unsigned hex_value(unsigned char c)
{
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/* The one-byte steps of the chunk-size line, its extensions and the trailer section. */
static int chunked_step(struct wdn_http_chunked *d, unsigned char c)
{
    if (d->state >= CH_EXT_WS && d->state <= CH_EXT_AFTER_VAL && c != '\r' &&
        ++d->line_bytes > WDN_HTTP_MAX_CHUNK_EXT_BYTES)
        return chunked_fail(d, WDN_ELIMIT, 400, "chunk extensions too long");
    if (d->state >= CH_TRAILER_START && d->state <= CH_FINAL_LF) {
        if (++d->trailer_bytes > WDN_HTTP_MAX_TRAILER_BYTES)
            return chunked_fail(d, WDN_ELIMIT, 400, "trailer section too large");
        if (++d->line_bytes > WDN_HTTP_MAX_LINE_BYTES + 2)
            return chunked_fail(d, WDN_ELIMIT, 400, "trailer line too long");
    }
    switch (d->state) {
    case CH_SIZE_START:
        if (!IS(c, C_HEX))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk size");
        d->remaining = hex_value(c);
        d->line_bytes = 1;
        d->state = CH_SIZE;
        return 0;
    case CH_SIZE:
        if (IS(c, C_HEX)) {
            /* 16 hex digits fill 64 bits; more could only be leading zeros or overflow. */
            if (++d->line_bytes > 16)
                return chunked_fail(d, WDN_EPARSE, 400, "chunk size too long");
            d->remaining = (d->remaining << 4) | hex_value(c);
            return 0;
        }
        if (d->remaining > d->max_total - d->total)
            return chunked_fail(d, WDN_ELIMIT, 413, "chunked body too large");
        d->line_bytes = 1;
        if (c == '\r')
            d->state = CH_SIZE_LF;
        else if (c == ';')
            d->state = CH_EXT_NAME_WS;
        else if (IS_WS(c))
            d->state = CH_EXT_WS;
        else
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk size");
        return 0;
    case CH_EXT_WS:
        if (c == ';')
            d->state = CH_EXT_NAME_WS;
        else if (!IS_WS(c))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension");
        return 0;
    case CH_EXT_NAME_WS:
        if (IS(c, C_TCHAR))
            d->state = CH_EXT_NAME;
        else if (!IS_WS(c))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension");
        return 0;
    case CH_EXT_NAME:
    case CH_EXT_VAL_TOKEN:
        if (IS(c, C_TCHAR))
            return 0;
        if (c == ';')
            d->state = CH_EXT_NAME_WS;
        else if (c == '\r')
            d->state = CH_SIZE_LF;
        else if (c == '=' && d->state == CH_EXT_NAME)
            d->state = CH_EXT_VAL_WS;
        else if (IS_WS(c))
            d->state = d->state == CH_EXT_NAME ? CH_EXT_AFTER_NAME : CH_EXT_WS;
        else
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension");
        return 0;
    case CH_EXT_AFTER_NAME:
        if (c == '=')
            d->state = CH_EXT_VAL_WS;
        else if (c == ';')
            d->state = CH_EXT_NAME_WS;
        else if (!IS_WS(c))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension");
        return 0;
    case CH_EXT_VAL_WS:
        if (c == '"')
            d->state = CH_EXT_QUOTED;
        else if (IS(c, C_TCHAR))
            d->state = CH_EXT_VAL_TOKEN;
        else if (!IS_WS(c))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension value");
        return 0;
    case CH_EXT_QUOTED:
        if (c == '"')
            d->state = CH_EXT_AFTER_VAL;
        else if (c == '\\')
            d->state = CH_EXT_QUOTED_PAIR;
        else if (!IS(c, C_QDTEXT))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension value");
        return 0;
    case CH_EXT_QUOTED_PAIR:
        if (!IS(c, C_VALUE))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension value");
        d->state = CH_EXT_QUOTED;
        return 0;
    case CH_EXT_AFTER_VAL:
        if (c == ';')
            d->state = CH_EXT_NAME_WS;
        else if (c == '\r')
            d->state = CH_SIZE_LF;
        else if (IS_WS(c))
            d->state = CH_EXT_WS;
        else
            return chunked_fail(d, WDN_EPARSE, 400, "invalid chunk extension");
        return 0;
    case CH_SIZE_LF:
        if (c != '\n')
            return chunked_fail(d, WDN_EPARSE, 400, "chunk size line without CRLF");
        if (d->remaining == 0) {
            d->state = CH_TRAILER_START;
            d->line_bytes = 0;
            d->trailer_bytes = 0;
        } else {
            d->state = CH_DATA;
        }
        return 0;
    case CH_DATA_CR:
        if (c != '\r')
            return chunked_fail(d, WDN_EPARSE, 400, "chunk data not followed by CRLF");
        d->state = CH_DATA_LF;
        return 0;
    case CH_DATA_LF:
        if (c != '\n')
            return chunked_fail(d, WDN_EPARSE, 400, "chunk data not followed by CRLF");
        d->state = CH_SIZE_START;
        return 0;
    case CH_TRAILER_START:
        if (c == '\r')
            d->state = CH_FINAL_LF;
        else if (IS(c, C_TCHAR))
            d->state = CH_TRAILER_NAME;
        else
            return chunked_fail(d, WDN_EPARSE, 400, "invalid trailer field");
        return 0;
    case CH_TRAILER_NAME:
        if (c == ':')
            d->state = CH_TRAILER_VALUE;
        else if (!IS(c, C_TCHAR))
            return chunked_fail(d, WDN_EPARSE, 400, "invalid trailer field name");
        return 0;
    case CH_TRAILER_VALUE:
        if (c == '\r')
            d->state = CH_TRAILER_LF;
        else if (!IS(c, C_VALUE))
            return chunked_fail(d, WDN_EPARSE, 400, "control character in a trailer field");
        return 0;
    case CH_TRAILER_LF:
        if (c != '\n')
            return chunked_fail(d, WDN_EPARSE, 400, "trailer line without CRLF");
        d->state = CH_TRAILER_START;
        d->line_bytes = 0;
        return 0;
    case CH_FINAL_LF:
        if (c != '\n')
            return chunked_fail(d, WDN_EPARSE, 400, "chunked body without final CRLF");
        d->state = CH_DONE;
        return 1;
    default:
        return chunked_fail(d, WDN_EPARSE, 400, "chunked decoder in a bad state");
    }
}

int wdn_http_chunked_decode(struct wdn_http_chunked *d, const char *in, size_t len,
                            size_t *consumed, struct wdn_str *data)
{
    size_t i = 0;
    int rc = 0;

    data->p = in;
    data->len = 0;
    if (d->state == CH_DONE) {
        rc = 1;
        goto out;
    }
    if (d->state == CH_ERROR_PARSE || d->state == CH_ERROR_LIMIT) {
        rc = d->state == CH_ERROR_LIMIT ? WDN_ELIMIT : WDN_EPARSE;
        goto out;
    }
    while (i < len) {
        if (d->state == CH_DATA) {
            /* Data is handed out in place, one slice per call. */
            size_t n = len - i;
            if (n > d->remaining)
                n = (size_t)d->remaining;
            data->p = in + i;
            data->len = n;
            d->remaining -= n;
            d->total += n;
            i += n;
            if (d->remaining == 0)
                d->state = CH_DATA_CR;
            goto out;
        }
        rc = chunked_step(d, (unsigned char)in[i]);
        if (rc < 0)
            goto out;
        i++;
        if (rc == 1)
            goto out;
    }
out:
    *consumed = i;
    return rc;
}
