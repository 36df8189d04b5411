/* Response heads (RFC 9112 4, 6.3): the status line and the header fields that decide how the
 * body is delimited, given the method of the request it answers. */
#include <string.h>

#include "base/error.h"
#include "http/parser_int.h"

/* Parses a status line buf[s..cr): HTTP/1.x SP 3DIGIT [ SP reason-phrase ]. */
static int parse_status_line(struct wdn__http_head *h, size_t s, size_t cr,
                             struct wdn_http_response *res)
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
    struct wdn__http_te ti;
    struct wdn__http_conn_opts conn;
};

static int response_field(struct wdn__http_head *h, struct wdn_http_response *res,
                          struct res_fields *f, const struct wdn_http_header *hd)
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
        if (wdn__http_te_parse(hd->value, &f->ti) != 0)
            return head_fail(h, WDN_EPARSE, 502, "malformed Transfer-Encoding");
        f->te = true;
    } else if (n.len == 10 && NAME_IS(n, "connection")) {
        wdn__http_conn_parse(hd->value, &f->conn);
    }
    return 0;
}

static int response_finish(struct wdn__http_head *h, struct wdn_http_response *res,
                           struct res_fields *f, struct wdn_str request_method)
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
    struct wdn__http_head h = {buf, len, 0, 0, NULL};
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
    rc = wdn__http_next_line(&h, WDN_HTTP_MAX_LINE_BYTES, 431, &cr);
    if (rc != 0)
        goto out;
    rc = parse_status_line(&h, s, cr, res);
    if (rc != 0)
        goto out;
    for (;;) {
        struct wdn_http_header *hd;

        rc = wdn__http_next_field(&h, res->headers, &res->nheaders, &hd);
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
