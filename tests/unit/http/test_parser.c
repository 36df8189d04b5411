/* Unit tests for the request-head parser: every strictness rule, each smuggling shape by name,
 * limits at their exact boundaries, and byte-by-byte feeding against feeding all at once. */
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

struct rcase {
    const char *name;
    const char *raw;
    size_t len; /* 0: strlen(raw); set for inputs holding NUL bytes */
    int rc;
    int status;
    int body;   /* expected enum wdn_http_body, -1 unchecked */
    long long cl; /* expected content_length, -1 unchecked */
    int ka;     /* expected keep_alive, -1 unchecked */
};

#define OK(n, r, b, c, k) {n, r, 0, 0, 0, b, c, k}
#define BAD(n, r, s) {n, r, 0, WDN_EPARSE, s, -1, -1, -1}
#define BADN(n, r, s) {n, r, sizeof(r) - 1, WDN_EPARSE, s, -1, -1, -1}
#define MORE(n, r) {n, r, 0, WDN_EAGAIN, 0, -1, -1, -1}

#define NONE WDN_HTTP_BODY_NONE
#define LEN WDN_HTTP_BODY_LENGTH
#define CHUNKED WDN_HTTP_BODY_CHUNKED

#define H11 " HTTP/1.1\r\nHost: example.com\r\n"

static const struct rcase cases[] = {
    /* Valid requests. */
    OK("get", "GET /" H11 "\r\n", NONE, 0, 1),
    OK("get-query", "GET /a/b?x=1&y=2" H11 "\r\n", NONE, 0, 1),
    OK("http10-no-host", "GET / HTTP/1.0\r\n\r\n", NONE, 0, 0),
    OK("http10-keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", NONE, 0, 1),
    OK("http10-keep-alive-and-close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
       NONE, 0, 0),
    OK("http11-close", "GET /" H11 "Connection: close\r\n\r\n", NONE, 0, 0),
    OK("http11-close-in-list", "GET /" H11 "Connection: foo ,\tCLOSE \r\n\r\n", NONE, 0, 0),
    OK("http11-close-second-field", "GET /" H11 "Connection: foo\r\nConnection: Close\r\n\r\n",
       NONE, 0, 0),
    OK("http11-close-prefix-is-not-close", "GET /" H11 "Connection: closed\r\n\r\n", NONE, 0, 1),
    OK("post-content-length", "POST /x" H11 "Content-Length: 5\r\n\r\n", LEN, 5, 1),
    OK("content-length-zero", "POST /x" H11 "Content-Length: 0\r\n\r\n", LEN, 0, 1),
    OK("content-length-ows", "POST /x" H11 "Content-Length: \t 12 \t\r\n\r\n", LEN, 12, 1),
    OK("content-length-leading-zeros", "POST /x" H11 "Content-Length: 007\r\n\r\n", LEN, 7, 1),
    OK("content-length-int64-max",
       "POST /x" H11 "Content-Length: 9223372036854775807\r\n\r\n", LEN, 9223372036854775807LL,
       1),
    OK("chunked", "POST /x" H11 "Transfer-Encoding: chunked\r\n\r\n", CHUNKED, 0, 1),
    OK("chunked-uppercase", "POST /x" H11 "Transfer-Encoding: CHUNKED\r\n\r\n", CHUNKED, 0, 1),
    OK("chunked-ows", "POST /x" H11 "Transfer-Encoding:\t chunked \t\r\n\r\n", CHUNKED, 0, 1),
    OK("leading-empty-line", "\r\nGET /" H11 "\r\n", NONE, 0, 1),
    BAD("leading-empty-lines-two", "\r\n\r\nGET /" H11 "\r\n", 400),
    OK("absolute-form", "GET http://example.com/a?b=c" H11 "\r\n", NONE, 0, 1),
    OK("absolute-form-https-no-path", "GET HTTPS://example.com:8443" H11 "\r\n", NONE, 0, 1),
    OK("absolute-form-query-no-path", "GET http://example.com?q" H11 "\r\n", NONE, 0, 1),
    OK("options-asterisk", "OPTIONS *" H11 "\r\n", NONE, 0, 1),
    OK("options-origin", "OPTIONS /x" H11 "\r\n", NONE, 0, 1),
    OK("connect-authority", "CONNECT example.com:443" H11 "\r\n", NONE, 0, 1),
    OK("connect-ipv6", "CONNECT [::1]:443" H11 "\r\n", NONE, 0, 1),
    OK("host-ipv6-port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", NONE, 0, 1),
    OK("host-case", "GET / HTTP/1.1\r\nhOsT: a\r\n\r\n", NONE, 0, 1),
    OK("custom-method", "PURGE /" H11 "\r\n", NONE, 0, 1),
    OK("method-32-bytes", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 /" H11 "\r\n", NONE, 0, 1),
    OK("value-obs-text", "GET /" H11 "X-Name: caf\xc3\xa9\r\n\r\n", NONE, 0, 1),
    OK("value-htab-inside", "GET /" H11 "X-A: a\tb c\r\n\r\n", NONE, 0, 1),
    OK("value-empty", "GET /" H11 "X-Empty:\r\nX-Blank: \t \r\n\r\n", NONE, 0, 1),
    OK("name-all-tchars", "GET /" H11 "!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n", NONE, 0, 1),
    OK("expect-continue", "POST /" H11 "Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n", LEN,
       3, 1),
    OK("upgrade", "GET /" H11 "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", NONE, 0, 1),
    OK("target-all-vchars", "GET /!$&'()*+,-./09:;=?@AZ[\\]^_`az{|}~%20" H11 "\r\n", NONE, 0, 1),

    /* Incomplete heads. */
    MORE("empty", ""),
    MORE("partial-method", "GE"),
    MORE("partial-request-line", "GET / HTTP/1."),
    MORE("partial-request-line-cr", "GET / HTTP/1.1\r"),
    MORE("partial-headers", "GET /" H11),
    MORE("partial-final-cr", "GET /" H11 "\r"),
    MORE("only-empty-line", "\r\n"),

    /* Request smuggling: Content-Length against Transfer-Encoding (CL.TE / TE.CL). */
    BAD("cl-te-both", "POST /" H11 "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    BAD("te-cl-both", "POST /" H11 "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", 400),
    BAD("te-cl-both-cl-zero",
        "POST /" H11 "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 400),
    /* Content-Length shapes. */
    BAD("cl-duplicate-equal", "POST /" H11 "Content-Length: 4\r\nContent-Length: 4\r\n\r\n", 400),
    BAD("cl-duplicate-differ", "POST /" H11 "Content-Length: 4\r\nContent-Length: 5\r\n\r\n",
        400),
    BAD("cl-duplicate-case", "POST /" H11 "Content-Length: 4\r\ncontent-length: 4\r\n\r\n", 400),
    BAD("cl-plus", "POST /" H11 "Content-Length: +4\r\n\r\n", 400),
    BAD("cl-minus", "POST /" H11 "Content-Length: -1\r\n\r\n", 400),
    BAD("cl-list-equal", "POST /" H11 "Content-Length: 4, 4\r\n\r\n", 400),
    BAD("cl-list-differ", "POST /" H11 "Content-Length: 4, 5\r\n\r\n", 400),
    BAD("cl-empty", "POST /" H11 "Content-Length:\r\n\r\n", 400),
    BAD("cl-space-inside", "POST /" H11 "Content-Length: 4 4\r\n\r\n", 400),
    BAD("cl-hex", "POST /" H11 "Content-Length: 0x10\r\n\r\n", 400),
    BAD("cl-decimal-point", "POST /" H11 "Content-Length: 4.0\r\n\r\n", 400),
    BAD("cl-overflow-int64", "POST /" H11 "Content-Length: 9223372036854775808\r\n\r\n", 400),
    BAD("cl-overflow-uint64", "POST /" H11 "Content-Length: 18446744073709551616\r\n\r\n", 400),
    BAD("cl-overflow-long", "POST /" H11 "Content-Length: 99999999999999999999999999\r\n\r\n",
        400),
    BAD("cl-space-before-colon", "POST /" H11 "Content-Length : 4\r\n\r\n", 400),
    BAD("cl-vtab", "POST /" H11 "Content-Length: \v4\r\n\r\n", 400),
    /* Transfer-Encoding shapes: unsupported but well-formed codings get 501 (like nginx). */
    BAD("te-identity", "POST /" H11 "Transfer-Encoding: identity\r\n\r\n", 501),
    BAD("te-identity-chunked", "POST /" H11 "Transfer-Encoding: identity, chunked\r\n\r\n", 501),
    BAD("te-gzip-chunked", "POST /" H11 "Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
    BAD("te-chunked-gzip", "POST /" H11 "Transfer-Encoding: chunked, gzip\r\n\r\n", 501),
    BAD("te-chunked-chunked", "POST /" H11 "Transfer-Encoding: chunked, chunked\r\n\r\n", 501),
    BAD("te-xchunked", "POST /" H11 "Transfer-Encoding: xchunked\r\n\r\n", 501),
    BAD("te-chunkedx", "POST /" H11 "Transfer-Encoding: chunkedx\r\n\r\n", 501),
    BAD("te-gzip-param", "POST /" H11 "Transfer-Encoding: foo;q=\"a b\", chunked\r\n\r\n", 501),
    /* ... and malformed ones 400. */
    BAD("te-empty", "POST /" H11 "Transfer-Encoding:\r\n\r\n", 400),
    BAD("te-trailing-comma", "POST /" H11 "Transfer-Encoding: chunked,\r\n\r\n", 400),
    BAD("te-leading-comma", "POST /" H11 "Transfer-Encoding: , chunked\r\n\r\n", 400),
    BAD("te-empty-element", "POST /" H11 "Transfer-Encoding: gzip,,chunked\r\n\r\n", 400),
    BAD("te-vtab-before", "POST /" H11 "Transfer-Encoding: \vchunked\r\n\r\n", 400),
    BAD("te-formfeed-after", "POST /" H11 "Transfer-Encoding: chunked\f\r\n\r\n", 400),
    BADN("te-nul-after", "POST /" H11 "Transfer-Encoding: chunked\0\r\n\r\n", 400),
    BAD("te-bare-cr-inside", "POST /" H11 "Transfer-Encoding: chun\rked\r\n\r\n", 400),
    BAD("te-quoted", "POST /" H11 "Transfer-Encoding: \"chunked\"\r\n\r\n", 400),
    BAD("te-chunked-param", "POST /" H11 "Transfer-Encoding: chunked;q=1\r\n\r\n", 400),
    BAD("te-space-inside-token", "POST /" H11 "Transfer-Encoding: chun ked\r\n\r\n", 400),
    BAD("te-duplicate", "POST /" H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        400),
    BAD("te-duplicate-identity",
        "POST /" H11 "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    BAD("te-http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    BAD("te-http10-with-cl",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
    BAD("te-space-before-colon", "POST /" H11 "Transfer-Encoding : chunked\r\n\r\n", 400),
    BAD("te-tab-before-colon", "POST /" H11 "Transfer-Encoding\t: chunked\r\n\r\n", 400),
    BAD("te-obs-fold", "POST /" H11 "Transfer-Encoding:\r\n chunked\r\n\r\n", 400),
    BAD("te-leading-space-name", "POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n",
        400),
    BAD("te-leading-tab-name", "POST /" H11 "\tTransfer-Encoding: chunked\r\n\r\n", 400),
    /* An underscore variant is an ordinary field, never taken for Transfer-Encoding. */
    OK("te-underscore-is-not-te", "POST /" H11 "Transfer_Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
       LEN, 3, 1),
    /* Line endings and control bytes. */
    BAD("bare-lf-request-line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
    BAD("bare-lf-header", "GET /" H11 "X: a\n\r\n", 400),
    BAD("bare-lf-end", "GET /" H11 "\n", 400),
    BAD("bare-lf-everywhere", "GET / HTTP/1.1\nHost: a\n\n", 400),
    BAD("bare-lf-leading", "\nGET /" H11 "\r\n", 400),
    BAD("bare-cr-request-line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
    BAD("bare-cr-value", "GET /" H11 "X: a\rb\r\n\r\n", 400),
    BAD("bare-cr-name", "GET /" H11 "X\r: a\r\n\r\n", 400),
    BAD("double-cr", "GET /" H11 "X: a\r\r\n\r\n", 400),
    BADN("nul-value", "GET /" H11 "X: a\0b\r\n\r\n", 400),
    BADN("nul-name", "GET /" H11 "X\0Y: a\r\n\r\n", 400),
    BADN("nul-request-line", "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("ctl-value", "GET /" H11 "X: a\x01\r\n\r\n", 400),
    BAD("del-value", "GET /" H11 "X: a\x7f\r\n\r\n", 400),
    BAD("esc-value", "GET /" H11 "X: \x1b[31m\r\n\r\n", 400),
    /* Field syntax. */
    BAD("space-before-colon", "GET /" H11 "X-A : b\r\n\r\n", 400),
    BAD("no-colon", "GET /" H11 "X-A b\r\n\r\n", 400),
    BAD("no-colon-token", "GET /" H11 "X-A\r\n\r\n", 400),
    BAD("empty-name", "GET /" H11 ": b\r\n\r\n", 400),
    BAD("name-bad-char", "GET /" H11 "X(A): b\r\n\r\n", 400),
    BAD("name-non-ascii", "GET /" H11 "X\xc3\xa9: b\r\n\r\n", 400),
    BAD("obs-fold-space", "GET /" H11 "X-A: b\r\n c\r\n\r\n", 400),
    BAD("obs-fold-tab", "GET /" H11 "X-A: b\r\n\tc\r\n\r\n", 400),
    BAD("first-header-folded", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
    /* Host. */
    BAD("host-missing", "GET / HTTP/1.1\r\n\r\n", 400),
    BAD("host-missing-absolute-form", "GET http://a/ HTTP/1.1\r\n\r\n", 400),
    BAD("host-duplicate", "GET /" H11 "Host: example.com\r\n\r\n", 400),
    BAD("host-duplicate-differ", "GET /" H11 "HOST: evil.com\r\n\r\n", 400),
    BAD("host-duplicate-http10", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    BAD("host-empty", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400),
    BAD("host-slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    BAD("host-userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400),
    BAD("host-space-inside", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    BAD("host-backslash", "GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", 400),
    /* Method. */
    BAD("method-empty", " /" H11 "\r\n", 400),
    BAD("method-bad-char", "G(T /" H11 "\r\n", 400),
    BAD("method-non-ascii", "G\xc3\x89T /" H11 "\r\n", 400),
    BAD("method-33-bytes", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456 /" H11 "\r\n", 400),
    BAD("method-tab-separator", "GET\t/" H11 "\r\n", 400),
    BADN("tls-client-hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    /* Request-target. */
    BAD("target-empty", "GET  HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("target-double-space", "GET  /" H11 "\r\n", 400),
    BAD("target-space-inside", "GET /a b" H11 "\r\n", 400),
    BAD("target-tab-inside", "GET /a\tb" H11 "\r\n", 400),
    BAD("target-ctl", "GET /a\x01" H11 "\r\n", 400),
    BAD("target-del", "GET /a\x7f" H11 "\r\n", 400),
    BAD("target-non-ascii", "GET /caf\xc3\xa9" H11 "\r\n", 400),
    BAD("target-fragment", "GET /a#b" H11 "\r\n", 400),
    BAD("target-relative", "GET a/b" H11 "\r\n", 400),
    BAD("target-asterisk-get", "GET *" H11 "\r\n", 400),
    BAD("target-asterisk-path", "OPTIONS */x" H11 "\r\n", 400),
    BAD("target-authority-get", "GET example.com:80" H11 "\r\n", 400),
    BAD("target-unknown-scheme", "GET ftp://example.com/" H11 "\r\n", 400),
    BAD("target-absolute-userinfo", "GET http://user@example.com/" H11 "\r\n", 400),
    BAD("target-absolute-no-authority", "GET http:///a" H11 "\r\n", 400),
    BAD("target-absolute-scheme-only", "GET http://" H11 "\r\n", 400),
    BAD("connect-origin-form", "CONNECT /" H11 "\r\n", 400),
    BAD("connect-absolute-form", "CONNECT http://a:443/" H11 "\r\n", 400),
    BAD("connect-no-port", "CONNECT example.com" H11 "\r\n", 400),
    BAD("connect-empty-port", "CONNECT example.com:" H11 "\r\n", 400),
    BAD("connect-empty-host", "CONNECT :443" H11 "\r\n", 400),
    BAD("connect-port-too-long", "CONNECT a:123456" H11 "\r\n", 400),
    BAD("connect-port-letters", "CONNECT a:https" H11 "\r\n", 400),
    /* Version. */
    BAD("version-http2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    BAD("version-http12", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
    BAD("version-http09", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
    BAD("version-http30", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
    BAD("version-lowercase", "GET / http/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("version-missing", "GET /\r\nHost: a\r\n\r\n", 400),
    BAD("version-http2-short", "GET / HTTP/2\r\nHost: a\r\n\r\n", 400),
    BAD("version-two-digit-minor", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
    BAD("version-trailing-space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
    BAD("version-trailing-junk", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400),
    BAD("version-garbage", "GET / FOO/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("request-line-three-spaces", "GET / / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("request-line-only-method", "GET\r\n\r\n", 400),
    BAD("garbage-first-byte", "\x80", 400),
    BAD("garbage-after-method", "GET\x01", 400),
    BAD("method-too-long-early", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", 400),
};

/* A heap copy of exactly len bytes, so that ASan catches any read past the end. */
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
    if (s.len == 0)
        return true;
    return s.p >= buf && s.p + s.len <= buf + len;
}

/* Prefixes of a big input worth trying one by one: near line ends, limits and the end. */
static bool near_interesting(const char *raw, size_t len, size_t k)
{
    static const size_t marks[] = {WDN_HTTP_MAX_LINE_BYTES, WDN_HTTP_MAX_HEAD_BYTES};

    if (k < 2048 || k % 61 == 0 || k + 16 > len)
        return true;
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        if (k + 32 > marks[i] && k < marks[i] + 32)
            return true;
    }
    for (size_t i = k > 8 ? k - 8 : 0; i < k + 8 && i < len; i++) {
        if (raw[i] == '\n')
            return true;
    }
    return false;
}

/* Checks what must hold of any successful parse. */
static void check_invariants(const char *buf, size_t len, const struct wdn_http_request *r,
                             size_t head_len)
{
    assert_true(head_len <= len);
    assert_true(head_len >= 4);
    assert_memory_equal(buf + head_len - 4, "\r\n\r\n", 4);
    assert_true(inside(r->method, buf, head_len));
    assert_true(inside(r->target, buf, head_len));
    assert_true(inside(r->path, buf, head_len));
    assert_true(inside(r->query, buf, head_len));
    assert_true(inside(r->host, buf, head_len));
    assert_true(r->nheaders <= WDN_HTTP_MAX_HEADERS);
    for (size_t i = 0; i < r->nheaders; i++) {
        assert_true(r->headers[i].name.len > 0);
        assert_true(inside(r->headers[i].name, buf, head_len));
        assert_true(inside(r->headers[i].value, buf, head_len));
    }
    assert_true(r->version_minor == 0 || r->version_minor == 1);
    if (r->body != WDN_HTTP_BODY_LENGTH)
        assert_true(r->content_length == 0 || r->body == WDN_HTTP_BODY_NONE);
}

/* Parses buf all at once and then prefix by prefix; both must agree. */
static void run_case(const char *name, const char *raw, size_t len, int want_rc, int want_status,
                     int body, long long cl, int ka)
{
    static struct wdn_http_request r;
    size_t head_len = 99;
    char *buf = dup_exact(raw, len);
    int rc = wdn_http_parse_request(buf, len, &r, &head_len);

    if (rc != want_rc || (rc != 0 && rc != WDN_EAGAIN && r.error_status != want_status))
        print_error("case %s: rc %d status %d (%s), want rc %d status %d\n", name, rc,
                    r.error_status, r.error_reason ? r.error_reason : "-", want_rc, want_status);
    assert_int_equal(rc, want_rc);
    if (rc == 0) {
        assert_int_equal(head_len, len);
        check_invariants(buf, len, &r, head_len);
        if (body >= 0)
            assert_int_equal(r.body, body);
        if (cl >= 0)
            assert_true(r.content_length == (uint64_t)cl);
        if (ka >= 0)
            assert_int_equal(r.keep_alive, ka);
        assert_int_equal(r.error_status, 0);
    } else if (rc == WDN_EAGAIN) {
        assert_int_equal(head_len, 0);
    } else {
        assert_int_equal(r.error_status, want_status);
        assert_non_null(r.error_reason);
        assert_int_equal(head_len, 0);
    }
    free(buf);

    /*
     * Byte by byte: every prefix is incomplete until the first verdict, which is the same.
     * Each prefix gets an exact-size heap copy so that ASan sees any read past it. The big
     * limit cases try every prefix near a line end, near a limit or near the end, and every
     * 61st elsewhere, to keep the test fast.
     */
    for (size_t k = 0; k <= len; k++) {
        if (len > 4096 && !near_interesting(raw, len, k))
            continue;
        char *p = dup_exact(raw, k);
        int prc = wdn_http_parse_request(p, k, &r, &head_len);
        free(p);
        if (prc == WDN_EAGAIN) {
            continue;
        }
        if (prc != want_rc || (prc != 0 && r.error_status != want_status))
            print_error("case %s: prefix %zu gave rc %d status %d (%s)\n", name, k, prc,
                        r.error_status, r.error_reason ? r.error_reason : "-");
        assert_int_equal(prc, want_rc);
        if (prc == 0)
            assert_int_equal(k, len);
        else
            assert_int_equal(r.error_status, want_status);
        return;
    }
    assert_int_equal(want_rc, WDN_EAGAIN);
}

static void test_table(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rcase *c = &cases[i];
        run_case(c->name, c->raw, c->len ? c->len : strlen(c->raw), c->rc, c->status, c->body,
                 c->cl, c->ka);
    }
}

static void test_fields(void **state)
{
    static struct wdn_http_request r;
    const char *raw = "\r\nPOST /a/b?x=1&y HTTP/1.1\r\nHost:  example.com:8080 \r\n"
                      "X-Trim: \t spaced value \t\r\nEmpty:\r\nContent-Length: 3\r\n"
                      "Expect: 100-continue\r\nConnection: keep-alive, Upgrade\r\n"
                      "Upgrade: h2c\r\n\r\nabc";
    size_t len = strlen(raw), head_len = 0;
    const struct wdn_http_header *h;

    assert_int_equal(wdn_http_parse_request(raw, len, &r, &head_len), 0);
    assert_int_equal(head_len, len - 3);
    assert_true(wdn_str_eq(r.method, WDN_STR("POST")));
    assert_true(wdn_str_eq(r.target, WDN_STR("/a/b?x=1&y")));
    assert_true(wdn_str_eq(r.path, WDN_STR("/a/b")));
    assert_true(wdn_str_eq(r.query, WDN_STR("x=1&y")));
    assert_true(wdn_str_eq(r.host, WDN_STR("example.com:8080")));
    assert_int_equal(r.version_minor, 1);
    assert_int_equal(r.body, WDN_HTTP_BODY_LENGTH);
    assert_true(r.content_length == 3);
    assert_true(r.keep_alive);
    assert_true(r.expect_continue);
    assert_true(r.upgrade);
    assert_int_equal(r.nheaders, 7);
    assert_true(wdn_str_eq(r.headers[1].name, WDN_STR("X-Trim")));
    assert_true(wdn_str_eq(r.headers[1].value, WDN_STR("spaced value")));
    assert_int_equal(r.headers[2].value.len, 0);
    h = wdn_http_header_find(r.headers, r.nheaders, WDN_STR("x-trim"));
    assert_ptr_equal(h, &r.headers[1]);
    h = wdn_http_header_find(r.headers, r.nheaders, WDN_STR("CONTENT-LENGTH"));
    assert_ptr_equal(h, &r.headers[3]);
    assert_null(wdn_http_header_find(r.headers, r.nheaders, WDN_STR("X-Tri")));
    assert_null(wdn_http_header_find(r.headers, 0, WDN_STR("Host")));

    /* Expect is ignored on HTTP/1.0; Upgrade needs both the field and the option. */
    raw = "GET / HTTP/1.0\r\nExpect: 100-continue\r\nUpgrade: x\r\n\r\n";
    assert_int_equal(wdn_http_parse_request(raw, strlen(raw), &r, &head_len), 0);
    assert_false(r.expect_continue);
    assert_false(r.upgrade);
    assert_int_equal(r.version_minor, 0);
    raw = "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n";
    assert_int_equal(wdn_http_parse_request(raw, strlen(raw), &r, &head_len), 0);
    assert_false(r.upgrade);
    raw = "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue-not\r\n\r\n";
    assert_int_equal(wdn_http_parse_request(raw, strlen(raw), &r, &head_len), 0);
    assert_false(r.expect_continue);
}

static void test_target_forms(void **state)
{
    static struct wdn_http_request r;
    size_t hl;
    const char *raw = "GET http://example.com:80/p/q?r=s HTTP/1.1\r\nHost: other\r\n\r\n";

    assert_int_equal(wdn_http_parse_request(raw, strlen(raw), &r, &hl), 0);
    assert_true(wdn_str_eq(r.path, WDN_STR("/p/q")));
    assert_true(wdn_str_eq(r.query, WDN_STR("r=s")));
    assert_true(wdn_str_eq(r.host, WDN_STR("other")));
    raw = "GET http://example.com HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_int_equal(wdn_http_parse_request(raw, strlen(raw), &r, &hl), 0);
    assert_int_equal(r.path.len, 0);
    assert_int_equal(r.query.len, 0);
    raw = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_int_equal(wdn_http_parse_request(raw, strlen(raw), &r, &hl), 0);
    assert_true(wdn_str_eq(r.path, WDN_STR("*")));
    raw = "CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\n\r\n";
    assert_int_equal(wdn_http_parse_request(raw, strlen(raw), &r, &hl), 0);
    assert_true(wdn_str_eq(r.target, WDN_STR("a.b:443")));
    assert_int_equal(r.path.len, 0);
    raw = "GET /? HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_int_equal(wdn_http_parse_request(raw, strlen(raw), &r, &hl), 0);
    assert_true(wdn_str_eq(r.path, WDN_STR("/")));
    assert_int_equal(r.query.len, 0);
}

/* Appends s to the growing buffer b at *n (the test sizes its buffer generously). */
static void put(char *b, size_t *n, const char *s, size_t len)
{
    memcpy(b + *n, s, len);
    *n += len;
}

static void put_rep(char *b, size_t *n, char c, size_t count)
{
    memset(b + *n, c, count);
    *n += count;
}

#define PUTS(b, n, lit) put((b), (n), (lit), sizeof(lit) - 1)

static void test_limits(void **state)
{
    char *b = malloc(4 * WDN_HTTP_MAX_HEAD_BYTES);
    size_t n;
    char name[32];

    assert_non_null(b);
    /* Request line content of exactly WDN_HTTP_MAX_LINE_BYTES is accepted; one more is 414. */
    n = 0;
    PUTS(b, &n, "GET /");
    put_rep(b, &n, 'a', WDN_HTTP_MAX_LINE_BYTES - 14);
    PUTS(b, &n, " HTTP/1.1\r\nHost: a\r\n\r\n");
    run_case("request-line-at-limit", b, n, 0, 0, NONE, 0, 1);
    n = 0;
    PUTS(b, &n, "GET /");
    put_rep(b, &n, 'a', WDN_HTTP_MAX_LINE_BYTES - 13);
    PUTS(b, &n, " HTTP/1.1\r\nHost: a\r\n\r\n");
    run_case("request-line-over-limit", b, n, WDN_ELIMIT, 414, -1, -1, -1);
    /* Without a line end at all: 414 as soon as the line is provably too long. */
    n = 0;
    PUTS(b, &n, "GET /");
    put_rep(b, &n, 'a', 3 * WDN_HTTP_MAX_LINE_BYTES);
    run_case("request-line-unterminated", b, n, WDN_ELIMIT, 414, -1, -1, -1);

    /* A header line of exactly the limit, then one byte more (431). */
    n = 0;
    PUTS(b, &n, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    put_rep(b, &n, 'v', WDN_HTTP_MAX_LINE_BYTES - 3);
    PUTS(b, &n, "\r\n\r\n");
    run_case("header-line-at-limit", b, n, 0, 0, NONE, 0, 1);
    n = 0;
    PUTS(b, &n, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    put_rep(b, &n, 'v', WDN_HTTP_MAX_LINE_BYTES - 2);
    PUTS(b, &n, "\r\n\r\n");
    run_case("header-line-over-limit", b, n, WDN_ELIMIT, 431, -1, -1, -1);
    n = 0;
    PUTS(b, &n, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    put_rep(b, &n, 'v', 2 * WDN_HTTP_MAX_LINE_BYTES);
    run_case("header-line-unterminated", b, n, WDN_ELIMIT, 431, -1, -1, -1);

    /* The whole head: many lines each under the line limit. */
    n = 0;
    PUTS(b, &n, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 5; i++) {
        PUTS(b, &n, "X: ");
        put_rep(b, &n, 'v', 8000);
        PUTS(b, &n, "\r\n");
    }
    PUTS(b, &n, "\r\n");
    run_case("head-too-large", b, n, WDN_ELIMIT, 431, -1, -1, -1);
    /* Exactly WDN_HTTP_MAX_HEAD_BYTES with the final CRLF CRLF is accepted. */
    n = 0;
    PUTS(b, &n, "GET / HTTP/1.1\r\nHost: a\r\n");
    while (n + 8000 + 5 + 4 < WDN_HTTP_MAX_HEAD_BYTES) {
        PUTS(b, &n, "X: ");
        put_rep(b, &n, 'v', 8000);
        PUTS(b, &n, "\r\n");
    }
    PUTS(b, &n, "Y: ");
    put_rep(b, &n, 'v', WDN_HTTP_MAX_HEAD_BYTES - n - 4);
    PUTS(b, &n, "\r\n\r\n");
    assert_int_equal(n, WDN_HTTP_MAX_HEAD_BYTES);
    run_case("head-at-limit", b, n, 0, 0, NONE, 0, 1);
    b[n - 4] = 'v';
    b[n - 3] = '\r';
    b[n - 2] = '\n';
    b[n - 1] = '\r';
    b[n++] = '\n';
    run_case("head-over-limit-by-one", b, n, WDN_ELIMIT, 431, -1, -1, -1);

    /* Header count: WDN_HTTP_MAX_HEADERS fields pass, one more is 431. */
    n = 0;
    PUTS(b, &n, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < WDN_HTTP_MAX_HEADERS; i++) {
        int w = snprintf(name, sizeof(name), "X-%d: %d\r\n", i, i);
        put(b, &n, name, (size_t)w);
    }
    PUTS(b, &n, "\r\n");
    run_case("headers-at-limit", b, n, 0, 0, NONE, 0, 1);
    n -= 2;
    PUTS(b, &n, "X-Last: 1\r\n\r\n");
    run_case("headers-over-limit", b, n, WDN_ELIMIT, 431, -1, -1, -1);

    /* A huge leading run of empty lines is refused at the second. */
    n = 0;
    for (int i = 0; i < WDN_HTTP_MAX_HEAD_BYTES / 2 + 1; i++)
        PUTS(b, &n, "\r\n");
    PUTS(b, &n, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    run_case("leading-empty-lines-many", b, n, WDN_EPARSE, 400, -1, -1, -1);
    free(b);
}

/* Bytes that never complete a head keep returning WDN_EAGAIN only up to a limit. */
static void test_no_hang(void **state)
{
    static struct wdn_http_request r;
    char *b = malloc(WDN_HTTP_MAX_HEAD_BYTES + 16);
    size_t hl, n = 0;

    assert_non_null(b);
    PUTS(b, &n, "GET / HTTP/1.1\r\n");
    while (n + 6 <= WDN_HTTP_MAX_HEAD_BYTES + 8)
        PUTS(b, &n, "A: b\r\n");
    assert_int_equal(wdn_http_parse_request(b, n, &r, &hl), WDN_ELIMIT);
    assert_int_equal(r.error_status, 431);
    free(b);
}

/*
 * Every byte value at every position of a 16-byte value, name and target: accepted exactly
 * when the grammar allows it (this also pins the word-at-a-time value scan to the table).
 */
static void test_every_byte(void **state)
{
    static struct wdn_http_request r;
    char b[128];
    size_t hl;

    for (int c = 0; c < 256; c++) {
        bool value_ok = c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80;
        bool target_ok = c >= 0x21 && c <= 0x7e && c != '#';
        bool name_ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                       (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
        for (int pos = 0; pos < 16; pos++) {
            char field[16];
            int n, rc;

            memset(field, 'a', sizeof(field));
            field[pos] = (char)c;
            n = snprintf(b, sizeof(b), "GET / HTTP/1.1\r\nHost: a\r\nX: ");
            memcpy(b + n, field, 16);
            memcpy(b + n + 16, "\r\n\r\n", 4);
            rc = wdn_http_parse_request(b, (size_t)n + 20, &r, &hl);
            if ((rc == 0) != value_ok)
                print_error("value byte 0x%02x at %d: rc %d\n", c, pos, rc);
            assert_int_equal(rc == 0, value_ok);

            n = snprintf(b, sizeof(b), "GET / HTTP/1.1\r\nHost: a\r\n");
            memcpy(b + n, field, 16);
            memcpy(b + n + 16, ": v\r\n\r\n", 7);
            rc = wdn_http_parse_request(b, (size_t)n + 23, &r, &hl);
            /* A colon inside just ends a shorter name (and starts the value). */
            assert_int_equal(rc == 0, name_ok || (c == ':' && pos > 0));

            n = snprintf(b, sizeof(b), "GET /");
            memcpy(b + n, field, 16);
            memcpy(b + n + 16, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
            rc = wdn_http_parse_request(b, (size_t)n + 38, &r, &hl);
            assert_int_equal(rc == 0, target_ok);
        }
    }
}

static void test_hop_by_hop(void **state)
{
    static const char *const hop[] = {"Connection",       "keep-alive",          "PROXY-CONNECTION",
                                      "Proxy-Authenticate", "proxy-authorization", "TE",
                                      "Trailer",          "transfer-encoding",   "Upgrade"};
    static const char *const end[] = {"Host",    "Content-Length", "Trailers", "T",
                                      "Upgrades", "Connectio",     "Authorization", "",
                                      "Keep-Alive2", "X-Connection"};

    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        assert_true(wdn_http_is_hop_by_hop(wdn_str_from_cstr(hop[i])));
    for (size_t i = 0; i < sizeof(end) / sizeof(end[0]); i++)
        assert_false(wdn_http_is_hop_by_hop(wdn_str_from_cstr(end[i])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),       cmocka_unit_test(test_fields),
        cmocka_unit_test(test_target_forms), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_no_hang),     cmocka_unit_test(test_hop_by_hop),
        cmocka_unit_test(test_every_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
