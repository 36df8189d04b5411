/* Unit tests for src/base/ring.c: entries of any size in and out in order, a ring full by count
 * or by bytes refusing, wraps that leave gaps at the end, partial releases, and a model check of
 * many random pushes and takes against a plain queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/ring.h"

static void fill(void *p, size_t n, unsigned tag)
{
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)p)[i] = (unsigned char)(tag + i);
}

static void check(const void *p, size_t n, unsigned tag)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(((const unsigned char *)p)[i], (unsigned char)(tag + i));
}

static void test_ring_basics(void **state)
{
    struct wdn_ring r;
    struct wdn_ring_run run;
    size_t size;
    void *p;

    assert_int_equal(wdn_ring_init(&r, 3, 256), 0);
    assert_int_equal(wdn_ring_cost(0), 8);
    assert_int_equal(wdn_ring_cost(1), 16);
    assert_int_equal(wdn_ring_cost(8), 16);
    p = wdn_ring_push(&r, 5);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 8, 0);
    fill(p, 5, 1);
    fill(wdn_ring_push(&r, 100), 100, 2);
    fill(wdn_ring_push(&r, 0), 0, 3);
    assert_null(wdn_ring_push(&r, 1)); /* three entries: full by count */
    wdn_ring_take(&r, &run);
    assert_int_equal(run.n, 3);
    const void *q = wdn_ring_next(&r, &run, &size);
    assert_non_null(q);
    assert_true(size >= 5 && size < 13); /* rounded up to 8 with the header */
    check(q, 5, 1);
    /* Given back after the first: the others stay, one slot is free. */
    wdn_ring_release(&r, &run);
    assert_int_equal(r.count, 2);
    assert_non_null(wdn_ring_push(&r, 1));
    assert_null(wdn_ring_push(&r, 1));
    wdn_ring_take(&r, &run);
    check(wdn_ring_next(&r, &run, &size), 100, 2);
    assert_non_null(wdn_ring_next(&r, &run, &size));
    assert_non_null(wdn_ring_next(&r, &run, &size));
    assert_null(wdn_ring_next(&r, &run, &size));
    wdn_ring_release(&r, &run);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.used, 0);
    /* Full by bytes: an entry larger than the memory never fits. */
    assert_null(wdn_ring_push(&r, 256));
    assert_non_null(wdn_ring_push(&r, 248));
    assert_null(wdn_ring_push(&r, 1));
    wdn_ring_free(&r);
}

/* A wrap: the end is too short, the entry goes to the front, the gap is skipped and counted. */
static void test_ring_wrap(void **state)
{
    struct wdn_ring r;
    struct wdn_ring_run run;
    size_t size;

    assert_int_equal(wdn_ring_init(&r, 100, 128), 0);
    fill(wdn_ring_push(&r, 40), 40, 1); /* 48 bytes at 0 */
    fill(wdn_ring_push(&r, 40), 40, 2); /* 48 at 48: 32 left at the end */
    wdn_ring_take(&r, &run);
    check(wdn_ring_next(&r, &run, &size), 40, 1);
    wdn_ring_release(&r, &run); /* the first is given back: 48 free at the front */
    fill(wdn_ring_push(&r, 40), 40, 3); /* does not fit the 32 at the end: wraps to 0 */
    assert_int_equal(r.used, 48 + 32 + 48);
    assert_null(wdn_ring_push(&r, 1)); /* nothing left anywhere */
    wdn_ring_take(&r, &run);
    check(wdn_ring_next(&r, &run, &size), 40, 2);
    check(wdn_ring_next(&r, &run, &size), 40, 3);
    assert_null(wdn_ring_next(&r, &run, &size));
    wdn_ring_release(&r, &run);
    assert_int_equal(r.used, 0);
    assert_int_equal(r.count, 0);
    /* Entries that end exactly at the end: the next goes to the front with no gap at all. */
    fill(wdn_ring_push(&r, 56), 56, 4); /* 64 bytes at 0 */
    fill(wdn_ring_push(&r, 56), 56, 5); /* 64 at 64: the end */
    wdn_ring_take(&r, &run);
    check(wdn_ring_next(&r, &run, &size), 56, 4);
    wdn_ring_release(&r, &run);
    fill(wdn_ring_push(&r, 8), 8, 6);
    assert_int_equal(r.used, 64 + 16);
    wdn_ring_take(&r, &run);
    check(wdn_ring_next(&r, &run, &size), 56, 5);
    check(wdn_ring_next(&r, &run, &size), 8, 6);
    wdn_ring_release(&r, &run);
    assert_int_equal(r.used, 0);
    wdn_ring_free(&r);
}

/* Random sizes, pushes and takes (some read only in part) against a model queue. */
static void test_ring_model(void **state)
{
    struct wdn_ring r;
    enum { MAXQ = 64 };
    unsigned tags[4096], sizes[4096];
    size_t qh = 0, qt = 0; /* the model: entries [qh, qt) */
    unsigned seed = 12345, tag = 0;

    assert_int_equal(wdn_ring_init(&r, MAXQ, 1000), 0);
    for (int step = 0; step < 200000; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned roll = (seed >> 16) % 100;
        if (roll < 60) {
            unsigned n = (seed >> 8) % 200;
            void *p = wdn_ring_push(&r, n);
            if (p) {
                fill(p, n, ++tag);
                tags[qt % 4096] = tag;
                sizes[qt % 4096] = n;
                qt++;
            } else {
                /* Refused only when full by count or bytes. */
                size_t gap = r.tail + wdn_ring_cost(n) > r.bytes ? r.bytes - r.tail : 0;
                assert_true(qt - qh == MAXQ || r.used + gap + wdn_ring_cost(n) > r.bytes);
            }
        } else {
            struct wdn_ring_run run;
            size_t size, want = (seed >> 4) % (MAXQ + 1);
            const void *p;
            wdn_ring_take(&r, &run);
            assert_int_equal(run.n, qt - qh);
            for (size_t i = 0; i < want && (p = wdn_ring_next(&r, &run, &size)) != NULL; i++) {
                assert_true(size >= sizes[qh % 4096]);
                check(p, sizes[qh % 4096], tags[qh % 4096]);
                qh++;
            }
            wdn_ring_release(&r, &run);
        }
        assert_int_equal(r.count, qt - qh);
        assert_true(r.used <= r.bytes);
    }
    wdn_ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_basics),
        cmocka_unit_test(test_ring_wrap),
        cmocka_unit_test(test_ring_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
