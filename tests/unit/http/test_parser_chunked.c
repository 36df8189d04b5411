/* Unit tests for the chunked body decoder: valid bodies with extensions and trailers, every
 * malformed shape, limits, and the same result whatever the split of the input. */
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

struct ccase {
    const char *name;
    const char *in;
    int rc;           /* final: 1 complete, 0 needs more, or the error */
    const char *data; /* decoded data (when rc >= 0) */
    size_t used;      /* bytes consumed when complete (the rest belongs to the next message) */
    int status;       /* error_status on error */
    uint64_t max;     /* 0: 1 MiB */
    size_t len;       /* 0: strlen(in); set for inputs holding NUL bytes */
};

#define DONE(n, in, data, used) {n, in, 1, data, used, 0, 0, 0}
#define PART(n, in, data) {n, in, 0, data, 0, 0, 0, 0}
#define BAD(n, in) {n, in, WDN_EPARSE, NULL, 0, 400, 0, 0}
#define BADN(n, in) {n, in, WDN_EPARSE, NULL, 0, 400, 0, sizeof(in) - 1}
#define LIMIT(n, in, st, max) {n, in, WDN_ELIMIT, NULL, 0, st, max, 0}

static const struct ccase cases[] = {
    DONE("simple", "5\r\nhello\r\n0\r\n\r\n", "hello", 15),
    DONE("two-chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 26),
    DONE("empty-body", "0\r\n\r\n", "", 5),
    DONE("hex-upper-lower", "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n",
         "0123456789abcdefghij", 35),
    DONE("leading-zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello", 20),
    DONE("sixteen-digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", "hello", 30),
    DONE("ext-name", "5;foo\r\nhello\r\n0\r\n\r\n", "hello", 19),
    DONE("ext-token-value", "5;foo=bar\r\nhello\r\n0;last=1\r\n\r\n", "hello", 30),
    DONE("ext-quoted-value", "5;a=\"x \\\" ;y\"\r\nhello\r\n0\r\n\r\n", "hello", 27),
    DONE("ext-several", "5;a=1;b;c=\"\"\r\nhello\r\n0\r\n\r\n", "hello", 26),
    DONE("ext-bws", "5 \t; a = 1 ;b\r\nhello\r\n0\r\n\r\n", "hello", 27),
    DONE("trailers", "5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\n\r\n", "hello", 31),
    DONE("trailer-obs-text", "0\r\nX: caf\xc3\xa9\t!\r\n\r\n", "", 17),
    DONE("next-message-follows", "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "abc", 13),
    DONE("data-contains-crlf", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", 14),

    PART("partial-size", "5", ""),
    PART("partial-data", "5\r\nhel", "hel"),
    PART("partial-data-crlf", "5\r\nhello\r", "hello"),
    PART("partial-trailers", "0\r\nX: y\r\n", ""),
    PART("partial-final", "0\r\n\r", ""),

    BAD("size-empty", "\r\nhello\r\n0\r\n\r\n"),
    BAD("size-not-hex", "g\r\n"),
    BAD("size-0x-prefix", "0x5\r\nhello\r\n0\r\n\r\n"),
    BAD("size-plus", "+5\r\nhello\r\n0\r\n\r\n"),
    BAD("size-minus", "-5\r\nhello\r\n0\r\n\r\n"),
    BAD("size-leading-space", " 5\r\nhello\r\n0\r\n\r\n"),
    BAD("size-trailing-space", "5 \r\nhello\r\n0\r\n\r\n"),
    BAD("size-trailing-tab", "5\t\r\nhello\r\n0\r\n\r\n"),
    BAD("size-17-digits", "00000000000000005\r\nhello\r\n0\r\n\r\n"),
    BAD("size-overflow-17", "10000000000000000\r\n"),
    BAD("size-bare-lf", "5\nhello\r\n0\r\n\r\n"),
    BAD("size-bare-cr", "5\rhello\r\n0\r\n\r\n"),
    BADN("size-nul", "5\0\r\nhello\r\n0\r\n\r\n"),
    BAD("data-too-long", "3\r\nhello\r\n0\r\n\r\n"),
    BAD("data-no-crlf", "5\r\nhello0\r\n\r\n"),
    BAD("data-bare-lf", "5\r\nhello\n0\r\n\r\n"),
    BAD("data-bare-cr", "5\r\nhello\r0\r\n\r\n"),
    BAD("ext-empty-name", "5;\r\nhello\r\n0\r\n\r\n"),
    BAD("ext-ws-before-cr", "5;a \r\nhello\r\n0\r\n\r\n"),
    BAD("ext-value-ws-before-cr", "5;a=b \r\nhello\r\n0\r\n\r\n"),
    BAD("ext-empty-value", "5;a=\r\nhello\r\n0\r\n\r\n"),
    BAD("ext-bad-name", "5;a(b\r\nhello\r\n0\r\n\r\n"),
    BAD("ext-ctl", "5;a=\x01\r\nhello\r\n0\r\n\r\n"),
    BAD("ext-unterminated-quote", "5;a=\"b\r\nhello\r\n0\r\n\r\n"),
    BAD("ext-quote-ctl", "5;a=\"b\x7f\"\r\nhello\r\n0\r\n\r\n"),
    BAD("ext-after-quote", "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n"),
    BAD("ext-bare-lf", "5;a=b\nhello\r\n0\r\n\r\n"),
    BAD("trailer-obs-fold", "0\r\nX: a\r\n b\r\n\r\n"),
    BAD("trailer-space-before-colon", "0\r\nX : a\r\n\r\n"),
    BAD("trailer-no-colon", "0\r\nX a\r\n\r\n"),
    BAD("trailer-empty-name", "0\r\n: a\r\n\r\n"),
    BAD("trailer-ctl", "0\r\nX: a\x01\r\n\r\n"),
    BAD("trailer-bare-lf", "0\r\nX: a\n\r\n"),
    BAD("trailer-bare-cr", "0\r\nX: a\rb\r\n\r\n"),
    BAD("final-bare-lf", "0\r\n\n"),
    BAD("last-chunk-bare-lf", "0\n\r\n"),

    LIMIT("body-over-max", "5\r\nhello\r\n0\r\n\r\n", 413, 4),
    LIMIT("body-over-max-second-chunk", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 413, 4),
    LIMIT("size-huge", "ffffffffffffffff\r\n", 413, 0),
};

static char *dup_exact(const char *p, size_t len)
{
    char *c = malloc(len ? len : 1);
    assert_non_null(c);
    if (len)
        memcpy(c, p, len);
    return c;
}

struct outcome {
    int rc;
    size_t used;
    size_t ndata;
    char data[256];
    int status;
};

/*
 * Feeds in[0..len) in pieces of at most step bytes starting at split (0: none), calling the
 * decoder the way a server does: again with the unconsumed rest while it returns 0.
 */
static void feed(const struct ccase *c, const char *in, size_t len, size_t split, size_t step,
                 struct outcome *o)
{
    struct wdn_http_chunked d;
    size_t off = 0;

    wdn_http_chunked_init(&d, c->max ? c->max : (1u << 20));
    memset(o, 0, sizeof(*o));
    while (off < len) {
        size_t end = split && off < split ? split : len;
        if (step && end - off > step)
            end = off + step;
        char *piece = dup_exact(in + off, end - off);
        size_t pos = 0;
        int rc = 0;
        while (pos < end - off) {
            size_t used = 99;
            struct wdn_str data;
            rc = wdn_http_chunked_decode(&d, piece + pos, end - off - pos, &used, &data);
            assert_true(used <= end - off - pos);
            assert_true(data.len <= used);
            if (data.len) {
                assert_true(data.p >= piece + pos && data.p + data.len <= piece + end - off);
                assert_true(o->ndata + data.len <= sizeof(o->data));
                memcpy(o->data + o->ndata, data.p, data.len);
                o->ndata += data.len;
            }
            pos += used;
            if (rc != 0)
                break;
            assert_true(used > 0); /* progress on every call with input */
        }
        free(piece);
        off += pos;
        o->rc = rc;
        if (rc != 0) {
            o->used = off;
            o->status = rc < 0 ? d.error_status : 0;
            if (rc < 0)
                assert_non_null(d.error_reason);
            break;
        }
    }
    assert_true(d.total == o->ndata);
    /* After the end or an error the verdict is sticky and nothing more is consumed. */
    if (o->rc != 0) {
        size_t used = 5;
        struct wdn_str data;
        assert_int_equal(wdn_http_chunked_decode(&d, "0\r\n\r\n", 5, &used, &data), o->rc);
        assert_int_equal(used, 0);
        assert_int_equal(data.len, 0);
    }
}

static void check(const struct ccase *c, const struct outcome *o, const char *how)
{
    if (o->rc != c->rc || (c->rc < 0 && o->status != c->status))
        print_error("case %s (%s): rc %d status %d, want rc %d status %d\n", c->name, how, o->rc,
                    o->status, c->rc, c->status);
    assert_int_equal(o->rc, c->rc);
    if (c->rc < 0) {
        assert_int_equal(o->status, c->status);
        return;
    }
    assert_int_equal(o->ndata, strlen(c->data));
    assert_memory_equal(o->data, c->data, o->ndata);
    if (c->rc == 1)
        assert_int_equal(o->used, c->used);
}

static void test_table(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ccase *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        struct outcome all, o;

        feed(c, c->in, len, 0, 0, &all);
        check(c, &all, "at once");
        feed(c, c->in, len, 0, 1, &o);
        check(c, &o, "byte by byte");
        for (size_t k = 1; k < len; k++) {
            feed(c, c->in, len, k, 0, &o);
            check(c, &o, "split");
        }
    }
}

/* A long body in many chunks, fed in pieces that never line up with the chunk boundaries. */
static void test_long_body(void **state)
{
    enum { CHUNKS = 300 };
    char *in = malloc(CHUNKS * 32 + 16);
    size_t n = 0;
    uint64_t want = 0;

    assert_non_null(in);
    for (int i = 1; i <= CHUNKS; i++) {
        size_t sz = (size_t)(i % 17) + 1;
        n += (size_t)sprintf(in + n, "%zx\r\n", sz);
        memset(in + n, 'a' + i % 26, sz);
        n += sz;
        memcpy(in + n, "\r\n", 2);
        n += 2;
        want += sz;
    }
    memcpy(in + n, "0\r\n\r\n", 5);
    n += 5;
    for (size_t step = 1; step < 40; step += 3) {
        struct wdn_http_chunked d;
        size_t off = 0;
        int rc = 0;
        wdn_http_chunked_init(&d, want);
        while (off < n && rc == 0) {
            size_t len = n - off < step ? n - off : step, used;
            struct wdn_str data;
            rc = wdn_http_chunked_decode(&d, in + off, len, &used, &data);
            off += used;
        }
        assert_int_equal(rc, 1);
        assert_int_equal(off, n);
        assert_true(d.total == want);
    }
    /* One byte less allowed: 413. */
    {
        struct wdn_http_chunked d;
        size_t off = 0, used;
        int rc = 0;
        struct wdn_str data;
        wdn_http_chunked_init(&d, want - 1);
        while (off < n && rc == 0) {
            rc = wdn_http_chunked_decode(&d, in + off, n - off, &used, &data);
            off += used;
        }
        assert_int_equal(rc, WDN_ELIMIT);
        assert_int_equal(d.error_status, 413);
    }
    free(in);
}

static void test_limits(void **state)
{
    char *in = malloc(4 * WDN_HTTP_MAX_TRAILER_BYTES);
    size_t n;
    struct wdn_http_chunked d;
    size_t used;
    struct wdn_str data;

    assert_non_null(in);
    /* Extensions: exactly WDN_HTTP_MAX_CHUNK_EXT_BYTES pass, one more is refused. */
    n = 0;
    in[n++] = '0';
    in[n++] = ';';
    memset(in + n, 'e', WDN_HTTP_MAX_CHUNK_EXT_BYTES - 1);
    n += WDN_HTTP_MAX_CHUNK_EXT_BYTES - 1;
    memcpy(in + n, "\r\n\r\n", 4);
    n += 4;
    wdn_http_chunked_init(&d, 10);
    assert_int_equal(wdn_http_chunked_decode(&d, in, n, &used, &data), 1);
    memmove(in + 3, in + 2, n - 2);
    in[2] = 'e';
    n++;
    wdn_http_chunked_init(&d, 10);
    assert_int_equal(wdn_http_chunked_decode(&d, in, n, &used, &data), WDN_ELIMIT);
    assert_int_equal(d.error_status, 400);

    /* Trailers: many small fields beyond WDN_HTTP_MAX_TRAILER_BYTES. */
    n = 0;
    memcpy(in, "0\r\n", 3);
    n = 3;
    while (n < 2 * WDN_HTTP_MAX_TRAILER_BYTES) {
        memcpy(in + n, "X-T: value\r\n", 12);
        n += 12;
    }
    memcpy(in + n, "\r\n", 2);
    n += 2;
    wdn_http_chunked_init(&d, 10);
    assert_int_equal(wdn_http_chunked_decode(&d, in, n, &used, &data), WDN_ELIMIT);
    assert_int_equal(d.error_status, 400);
    assert_true(used <= WDN_HTTP_MAX_TRAILER_BYTES + 3);

    /* An empty call makes no progress and no verdict. */
    wdn_http_chunked_init(&d, 10);
    assert_int_equal(wdn_http_chunked_decode(&d, in, 0, &used, &data), 0);
    assert_int_equal(used, 0);
    assert_int_equal(data.len, 0);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_long_body),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
