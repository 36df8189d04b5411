/* Unit tests for the response-head parser: status line, framing (no body, length, chunked,
 * until close), keep-alive, the framing conflicts it refuses, and byte-by-byte feeding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "http/parser.h"

struct scase {
    const char *name;
    const char *method; /* the request it answers */
    const char *raw;
    size_t len;         /* 0: strlen(raw) */
    int rc;
    int status;         /* expected status code, -1 unchecked */
    int body;           /* expected framing, -1 unchecked */
    long long cl;       /* expected content_length, -1 unchecked */
    int ka;             /* expected keep_alive, -1 unchecked */
};

#define OK(n, m, r, st, b, c, k) {n, m, r, 0, 0, st, b, c, k}
#define BAD(n, r) {n, "GET", r, 0, WDN_EPARSE, -1, -1, -1, -1}
#define BADN(n, r) {n, "GET", r, sizeof(r) - 1, WDN_EPARSE, -1, -1, -1, -1}
#define MORE(n, r) {n, "GET", r, 0, WDN_EAGAIN, -1, -1, -1, -1}

#define NONE WDN_HTTP_BODY_NONE
#define LEN WDN_HTTP_BODY_LENGTH
#define CHUNKED WDN_HTTP_BODY_CHUNKED
#define CLOSE WDN_HTTP_BODY_UNTIL_CLOSE

static const struct scase cases[] = {
    OK("200-length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200, LEN, 5, 1),
    OK("200-chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, CHUNKED,
       0, 1),
    OK("200-gzip-chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
       200, CHUNKED, 0, 1),
    OK("200-te-two-fields", "GET",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 200,
       CHUNKED, 0, 1),
    OK("200-te-not-chunked-reads-until-close", "GET",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 200, CLOSE, 0, 0),
    OK("200-no-framing", "GET", "HTTP/1.1 200 OK\r\n\r\n", 200, CLOSE, 0, 0),
    OK("200-close", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
       200, LEN, 0, 0),
    OK("200-cl-duplicate-equal", "GET",
       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 200, LEN, 3, 1),
    OK("200-no-reason", "GET", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200, LEN, 0, 1),
    OK("200-empty-reason", "GET", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", 200, LEN, 0, 1),
    OK("200-reason-obs-text", "GET", "HTTP/1.1 200 Tr\xc3\xa8s bien\r\nContent-Length: 0\r\n\r\n",
       200, LEN, 0, 1),
    OK("204-ignores-length", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", 204,
       NONE, 0, 1),
    OK("304", "GET", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 304, NONE,
       0, 1),
    OK("100-continue", "POST", "HTTP/1.1 100 Continue\r\n\r\n", 100, NONE, 0, 1),
    OK("101-switching", "GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\n\r\n", 101,
       NONE, 0, 1),
    OK("head-reply", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 200, NONE, 0, 1),
    OK("head-reply-chunked", "HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200,
       NONE, 0, 1),
    OK("connect-2xx", "CONNECT", "HTTP/1.1 200 Connection Established\r\n\r\n", 200, NONE, 0, 1),
    OK("connect-407-has-body", "CONNECT", "HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\n", 407,
       LEN, 2, 1),
    OK("http10-default-close", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", 200, LEN, 2,
       0),
    OK("http10-keep-alive", "GET",
       "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: Keep-Alive\r\n\r\n", 200, LEN, 2, 1),
    OK("http10-until-close", "GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", 200,
       CLOSE, 0, 0),
    OK("status-999", "GET", "HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", 999, LEN, 0, 1),

    MORE("empty", ""),
    MORE("partial-status", "HTTP/1.1 20"),
    MORE("partial-headers", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"),

    BAD("cl-and-te", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
    BAD("te-and-cl", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
    BAD("cl-duplicate-differ", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
    BAD("cl-list", "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n"),
    BAD("cl-plus", "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n"),
    BAD("cl-negative", "HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n"),
    BAD("cl-empty", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n"),
    BAD("cl-overflow", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"),
    BAD("te-chunked-twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
    BAD("te-chunked-not-last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
    BAD("te-malformed", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n"),
    BAD("te-http10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
    BAD("status-two-digits", "HTTP/1.1 20 OK\r\n\r\n"),
    BAD("status-four-digits", "HTTP/1.1 2000 OK\r\n\r\n"),
    BAD("status-below-100", "HTTP/1.1 099 OK\r\n\r\n"),
    BAD("status-letters", "HTTP/1.1 2x0 OK\r\n\r\n"),
    BAD("version-http2", "HTTP/2 200 OK\r\n\r\n"),
    BAD("version-http20", "HTTP/2.0 200 OK\r\n\r\n"),
    BAD("version-http12", "HTTP/1.2 200 OK\r\n\r\n"),
    BAD("version-lowercase", "http/1.1 200 OK\r\n\r\n"),
    BAD("status-tab-separator", "HTTP/1.1\t200 OK\r\n\r\n"),
    BAD("reason-ctl", "HTTP/1.1 200 O\x01K\r\n\r\n"),
    BAD("bare-lf-status", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),
    BAD("bare-lf-end", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"),
    BAD("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
    BAD("space-before-colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"),
    BADN("nul-value", "HTTP/1.1 200 OK\r\nX: a\0\r\nContent-Length: 0\r\n\r\n"),
    BAD("leading-empty-line", "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
};

static char *dup_exact(const char *p, size_t len)
{
    char *c = malloc(len ? len : 1);
    assert_non_null(c);
    if (len)
        memcpy(c, p, len);
    return c;
}

static bool inside(struct wdn_str s, const char *buf, size_t len)
{
    return s.len == 0 || (s.p >= buf && s.p + s.len <= buf + len);
}

static void run_case(const struct scase *c)
{
    static struct wdn_http_response r;
    size_t len = c->len ? c->len : strlen(c->raw), hl = 7;
    struct wdn_str m = wdn_str_from_cstr(c->method);
    char *buf = dup_exact(c->raw, len);
    int rc = wdn_http_parse_response(buf, len, m, &r, &hl);

    if (rc != c->rc)
        print_error("case %s: rc %d (%s), want %d\n", c->name, rc,
                    r.error_reason ? r.error_reason : "-", c->rc);
    assert_int_equal(rc, c->rc);
    if (rc == 0) {
        assert_int_equal(hl, len);
        if (c->status >= 0)
            assert_int_equal(r.status, c->status);
        if (c->body >= 0)
            assert_int_equal(r.body, c->body);
        if (c->cl >= 0)
            assert_true(r.content_length == (uint64_t)c->cl);
        if (c->ka >= 0)
            assert_int_equal(r.keep_alive, c->ka);
        assert_true(inside(r.reason, buf, len));
        for (size_t i = 0; i < r.nheaders; i++) {
            assert_true(inside(r.headers[i].name, buf, hl));
            assert_true(inside(r.headers[i].value, buf, hl));
        }
    } else if (rc != WDN_EAGAIN) {
        assert_non_null(r.error_reason);
    }
    free(buf);
    for (size_t k = 0; k <= len; k++) {
        char *p = dup_exact(c->raw, k);
        int prc = wdn_http_parse_response(p, k, m, &r, &hl);
        free(p);
        if (prc == WDN_EAGAIN)
            continue;
        if (prc != c->rc)
            print_error("case %s: prefix %zu gave rc %d\n", c->name, k, prc);
        assert_int_equal(prc, c->rc);
        if (prc == 0)
            assert_int_equal(k, len);
        return;
    }
    assert_int_equal(c->rc, WDN_EAGAIN);
}

static void test_table(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

static void test_fields(void **state)
{
    static struct wdn_http_response r;
    const char *raw = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n"
                      "\r\nnot found";
    size_t hl;

    assert_int_equal(wdn_http_parse_response(raw, strlen(raw), WDN_STR("GET"), &r, &hl), 0);
    assert_int_equal(hl, strlen(raw) - 9);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.version_minor, 1);
    assert_true(wdn_str_eq(r.reason, WDN_STR("Not Found")));
    assert_int_equal(r.nheaders, 2);
    assert_true(wdn_str_eq(r.headers[0].value, WDN_STR("text/plain")));
    assert_non_null(wdn_http_header_find(r.headers, r.nheaders, WDN_STR("content-type")));
}

static void test_limits(void **state)
{
    static struct wdn_http_response r;
    char *b = malloc(2 * WDN_HTTP_MAX_HEAD_BYTES);
    size_t n = 0, hl;

    assert_non_null(b);
    memcpy(b, "HTTP/1.1 200 OK\r\n", 17);
    n = 17;
    for (int i = 0; i <= WDN_HTTP_MAX_HEADERS; i++) {
        memcpy(b + n, "A: b\r\n", 6);
        n += 6;
    }
    memcpy(b + n, "\r\n", 2);
    n += 2;
    assert_int_equal(wdn_http_parse_response(b, n, WDN_STR("GET"), &r, &hl), WDN_ELIMIT);
    n = 17;
    memset(b + n, 'x', WDN_HTTP_MAX_HEAD_BYTES);
    n += WDN_HTTP_MAX_HEAD_BYTES;
    assert_int_equal(wdn_http_parse_response(b, n, WDN_STR("GET"), &r, &hl), WDN_ELIMIT);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
