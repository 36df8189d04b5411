/* Request heads (RFC 9112 3): the request line with its target forms, the header fields that
 * decide the framing (Host, Content-Length, Transfer-Encoding, Connection, Expect), strictly:
 * anything two implementations could read differently is an error with the status to answer. */
#include <string.h>

#include "base/error.h"
#include "http/parser_int.h"

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
static int target_form(struct wdn__http_head *h, struct wdn_http_request *req)
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
static int method_early(struct wdn__http_head *h, size_t s)
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
static int parse_request_line(struct wdn__http_head *h, size_t s, size_t cr,
                              struct wdn_http_request *req)
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
    struct wdn__http_conn_opts conn;
};

/* Applies one header field of a request; duplicates and bad values are caught as they come. */
static int request_field(struct wdn__http_head *h, struct wdn_http_request *req,
                         struct req_fields *f, const struct wdn_http_header *hd)
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
        if (NAME_IS(n, "expect") && req->version_minor == 1 && NAME_IS(hd->value, "100-continue"))
            req->expect_continue = true;
        break;
    case 7:
        if (NAME_IS(n, "upgrade"))
            f->upgrade_field = true;
        break;
    case 10:
        if (NAME_IS(n, "connection"))
            wdn__http_conn_parse(hd->value, &f->conn);
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
        struct wdn__http_te ti = {0};
        if (!NAME_IS(n, "transfer-encoding"))
            break;
        if (req->version_minor == 0)
            return head_fail(h, WDN_EPARSE, 400, "Transfer-Encoding on HTTP/1.0");
        if (f->te)
            return head_fail(h, WDN_EPARSE, 400, "duplicate Transfer-Encoding");
        if (wdn__http_te_parse(hd->value, &ti) != 0)
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
static int request_finish(struct wdn__http_head *h, struct wdn_http_request *req,
                          struct req_fields *f)
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
    struct wdn__http_head h = {buf, len, 0, 0, NULL};
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
        rc = wdn__http_next_line(&h, WDN_HTTP_MAX_LINE_BYTES, 414, &cr);
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

        rc = wdn__http_next_field(&h, req->headers, &req->nheaders, &hd);
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
