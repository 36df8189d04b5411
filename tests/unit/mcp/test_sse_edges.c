/* The server-sent events parser (src/mcp/sse.c) at its edges, fed in every way a stream can be
 * cut: a BOM (also split across reads: its first field was lost before), CR, LF and CRLF line ends
 * (CRLF split across chunks), lines split across chunks, comments, fields without a colon or a
 * space, a too long event name (cut), ids with NUL or too long (ignored), retry values (digits
 * only, bounded), unknown fields, blank lines without data (no event), the event size limit, and a
 * callback that stops the parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "mcp/sse.h"

struct got {
    int n;
    char event[8][80];
    char data[8][256];
    char id[8][300];
    int stop_at; /* return 7 from this event (1-based), 0: never */
};

static int on_event(void *ud, const char *event, const char *data, size_t len, const char *id)
{
    struct got *g = ud;

    if (g->n < 8) {
        snprintf(g->event[g->n], sizeof(g->event[0]), "%s", event);
        snprintf(g->data[g->n], sizeof(g->data[0]), "%.*s", (int)len, data);
        snprintf(g->id[g->n], sizeof(g->id[0]), "%s", id);
    }
    g->n++;
    return g->stop_at == g->n ? 7 : 0;
}

/* Feeds text (n bytes) in pieces of step bytes; the parser's result. */
static int feed(struct wdn__sse_parser *p, const char *text, size_t n, size_t step, struct got *g)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i += step)
        rc = wdn__sse_feed(p, text + i, n - i < step ? n - i : step, on_event, g);
    return rc;
}

/* The same stream must parse the same whatever the chunking. */
static void chunking(void **state)
{
    const char *s = "\xEF\xBB\xBF"
                    "event: greet\r\n"
                    ": a comment\r\n"
                    "data: one\r\n"
                    "data:two\r\n"
                    "id: 9\r\n"
                    "\r\n"
                    "data\rdata: x\r\r"
                    "retry: 1500\n"
                    "unknown: field\n"
                    "data: last\n\n";
    size_t step;

    for (step = 1; step <= strlen(s); step++) {
        struct wdn__sse_parser p;
        struct got g = {0};

        wdn__sse_init(&p, 1024);
        assert_int_equal(feed(&p, s, strlen(s), step, &g), 0);
        if (g.n != 3)
            fail_msg("step %zu: %d events", step, g.n);
        assert_string_equal(g.event[0], "greet");
        assert_string_equal(g.data[0], "one\ntwo");
        assert_string_equal(g.id[0], "9");
        /* "data" without a colon is an empty data line. */
        assert_string_equal(g.event[1], "message");
        assert_string_equal(g.data[1], "\nx");
        assert_string_equal(g.id[1], "9"); /* the last id stays */
        assert_string_equal(g.data[2], "last");
        assert_int_equal(p.retry_ms, 1500);
        wdn__sse_reset(&p);
    }
}

static void fields(void **state)
{
    struct wdn__sse_parser p;
    struct got g = {0};
    char big[400], id_nul[] = "id: a\0b\n\ndata: z\n\n";

    wdn__sse_init(&p, 4096);
    /* A blank line without data dispatches nothing; the event name is forgotten. */
    assert_int_equal(feed(&p, "event: x\n\n\ndata: y\n\n", 20, 100, &g), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.event[0], "message");
    /* An event name longer than the field is cut. */
    memset(big, 'e', 100);
    memcpy(big, "event: ", 7);
    memcpy(big + 100, "\ndata: 1\n\n", 11);
    assert_int_equal(feed(&p, big, strlen(big), 4096, &g), 0);
    assert_int_equal(strlen(g.event[1]), sizeof(p.event) - 1);
    /* An id with a NUL, or too long, is ignored: the last one stays. */
    assert_int_equal(feed(&p, "id: good\n\n", 10, 100, &g), 0);
    assert_int_equal(feed(&p, id_nul, sizeof(id_nul) - 1, 100, &g), 0);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.id[2], "good");
    memset(big, 'i', 300);
    memcpy(big, "id: ", 4);
    memcpy(big + 300, "\ndata: 2\n\n", 11);
    assert_int_equal(feed(&p, big, strlen(big), 4096, &g), 0);
    assert_string_equal(g.id[3], "good");
    /* retry: ASCII digits only, at most nine of them. */
    assert_int_equal(feed(&p, "retry: 12a\n", 11, 100, &g), 0);
    assert_int_equal(p.retry_ms, -1);
    assert_int_equal(feed(&p, "retry: 1234567890\n", 18, 100, &g), 0);
    assert_int_equal(p.retry_ms, -1);
    assert_int_equal(feed(&p, "retry:\n", 7, 100, &g), 0);
    assert_int_equal(p.retry_ms, -1);
    assert_int_equal(feed(&p, "retry: 0\n", 9, 100, &g), 0);
    assert_int_equal(p.retry_ms, 0);
    /* No BOM after the start: a field of that name is unknown, ignored. */
    assert_int_equal(feed(&p,
                          "\xEF\xBB\xBF"
                          "data: 3\n\n",
                          12, 100, &g),
                     0);
    assert_int_equal(g.n, 4);
    wdn__sse_reset(&p);
    /* Two bytes that begin a BOM and a third that does not: not a BOM, part of the first line
     * (a field named "\xEF\xBBdata", unknown). */
    wdn__sse_init(&p, 4096);
    memset(&g, 0, sizeof(g));
    assert_int_equal(feed(&p, "\xEF\xBB", 2, 1, &g), 0);
    assert_int_equal(feed(&p, "data: z\n\ndata: w\n\n", 18, 100, &g), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.data[0], "w");
    wdn__sse_reset(&p);
}

static void limits_and_stop(void **state)
{
    struct wdn__sse_parser p;
    struct got g = {0};
    char big[300];

    /* A line longer than the limit, whole or in pieces. */
    memset(big, 'd', sizeof(big));
    memcpy(big, "data: ", 6);
    wdn__sse_init(&p, 64);
    assert_int_equal(feed(&p, big, sizeof(big), sizeof(big), &g), WDN_ELIMIT);
    wdn__sse_reset(&p);
    wdn__sse_init(&p, 64);
    assert_int_equal(feed(&p, big, sizeof(big), 10, &g), WDN_ELIMIT);
    wdn__sse_reset(&p);
    /* An event made of lines each under the limit but together over it. */
    wdn__sse_init(&p, 64);
    assert_int_equal(feed(&p,
                          "data: 0123456789012345678901234567890123456789\n"
                          "data: 0123456789012345678901234567890123456789\n\n",
                          94, 94, &g),
                     WDN_ELIMIT);
    wdn__sse_reset(&p);
    /* The callback stops the parser: its value comes back, the rest is not read. */
    wdn__sse_init(&p, 1024);
    g.stop_at = 1;
    assert_int_equal(feed(&p, "data: a\n\ndata: b\n\n", 18, 18, &g), 7);
    assert_int_equal(g.n, 1);
    wdn__sse_reset(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chunking),
        cmocka_unit_test(fields),
        cmocka_unit_test(limits_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
