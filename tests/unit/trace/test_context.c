/* Unit tests for src/trace/context.c: traceparent parsing by the W3C rules, tracestate
 * validation, IDs and Dapr's sampling rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/limits.h"
#include "trace/context.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static int parse(const char *s, struct wdn_trace_ctx *c)
{
    return wdn_traceparent_parse(wdn_str_from_cstr(s), c);
}

static void test_traceparent_valid(void **state)
{
    struct wdn_trace_ctx c;
    char out[WDN_TRACEPARENT_LEN + 1];
    static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                    0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    static const uint8_t sid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

    assert_int_equal(parse(TP, &c), 0);
    assert_memory_equal(c.trace_id, tid, 16);
    assert_memory_equal(c.span_id, sid, 8);
    assert_int_equal(c.flags, 1);
    wdn_traceparent_format(&c, out);
    assert_string_equal(out, TP);

    /* Not sampled, and spaces around the value (OWS) are ignored. */
    assert_int_equal(parse(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\t", &c), 0);
    assert_int_equal(c.flags, 0);
    /* A future version: longer is fine after a '-', and only the sampled flag is kept. */
    assert_int_equal(parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-future"
                           "-holds",
                           &c),
                     0);
    assert_int_equal(c.flags, 1);
    assert_int_equal(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &c), 0);
}

static void test_traceparent_invalid(void **state)
{
    struct wdn_trace_ctx c;
    static const char *const bad[] = {
        "",
        "00",
        /* version ff is forbidden, version 00 must be exactly 55 characters */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-010",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        /* a future version longer without '-' */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        /* uppercase hex is not HEXDIGLC */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        /* all-zero IDs */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        /* separators and characters */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&c, 0x5a, sizeof(c));
        if (parse(bad[i], &c) != WDN_EPARSE)
            fail_msg("accepted: '%s'", bad[i]);
        assert_int_equal(c.flags, 0x5a); /* untouched */
    }
    /* A NUL inside the value. */
    char nul[] = TP;
    nul[10] = '\0';
    assert_int_equal(wdn_traceparent_parse((struct wdn_str){nul, sizeof(nul) - 1}, &c), WDN_EPARSE);
}

static bool ts(const char *s)
{
    return wdn_tracestate_valid(wdn_str_from_cstr(s));
}

static void test_tracestate(void **state)
{
    char big[WDN_TRACESTATE_MAX_BYTES + 8];

    assert_true(ts("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
    assert_true(ts("rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE"));
    assert_true(ts("a=1,,b=2"));
    assert_true(ts(""));
    assert_true(ts("tenant1@vendor=x,t2@v=y"));
    assert_true(ts("a*b/c_d-e=value with spaces"));
    assert_false(ts("Rojo=1"));              /* uppercase key */
    assert_false(ts("1abc=1"));              /* a simple key starts with a letter */
    assert_false(ts("rojo"));                /* no value */
    assert_false(ts("rojo="));               /* empty value */
    assert_false(ts("rojo=a=b"));            /* '=' in a value */
    assert_false(ts("rojo=1,rojo=2"));       /* duplicate key */
    assert_false(ts("@vendor=x"));           /* empty tenant */
    assert_false(ts("t@=x"));                /* empty system */
    assert_false(ts("t@Vendor=x"));          /* system starts lowercase */
    assert_false(ts("t@abcdefghijklmno=x")); /* system longer than 14 */
    assert_false(ts("rojo=caf\xc3\xa9"));    /* non-ASCII value */
    assert_false(ts("rojo=a\tb"));           /* control byte */
    /* 32 members are fine, 33 are not. */
    char list[33 * 8] = "";
    for (int i = 0; i < 32; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%sk%d=v", i ? "," : "", i);
    assert_true(ts(list));
    strcat(list, ",k99=v");
    assert_false(ts(list));
    /* Longer than WDN_TRACESTATE_MAX_BYTES is dropped. */
    memset(big, 'a', sizeof(big));
    big[0] = 'k';
    big[1] = '=';
    big[WDN_TRACESTATE_MAX_BYTES + 1] = '\0';
    assert_false(ts(big));
    big[200] = '\0';
    assert_true(ts(big));
}

static void test_sampling(void **state)
{
    uint8_t id[16] = {0};
    unsigned sampled = 0;

    assert_false(wdn_trace_should_sample(id, true, 0));
    assert_true(wdn_trace_should_sample(id, false, 1));
    assert_true(wdn_trace_should_sample(id, true, 0.001));
    /* The decision is the trace ID's: deterministic, and about rate of IDs pass. */
    for (uint64_t i = 0; i < 20000; i++) {
        uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull;
        for (int b = 0; b < 8; b++)
            id[8 + b] = (uint8_t)(x >> (56 - 8 * b));
        bool s = wdn_trace_should_sample(id, false, 0.25);
        assert_int_equal(s, wdn_trace_should_sample(id, false, 0.25));
        sampled += s;
    }
    assert_in_range(sampled, 4500, 5500);
    /* The last 8 bytes decide: all-ones never passes below 1, zero always passes above 0. */
    memset(id + 8, 0xff, 8);
    assert_false(wdn_trace_should_sample(id, false, 0.9999));
    memset(id + 8, 0, 8);
    assert_true(wdn_trace_should_sample(id, false, 0.0001));
}

static void test_rate(void **state)
{
    double r = -1;

    assert_int_equal(wdn_trace_parse_rate("1", &r), 0);
    assert_true(r == 1.0);
    assert_int_equal(wdn_trace_parse_rate("0", &r), 0);
    assert_true(r == 0.0);
    assert_int_equal(wdn_trace_parse_rate("0.0001", &r), 0);
    assert_int_equal(wdn_trace_parse_rate("1e-4", &r), 0);
    assert_true(r > 0.00009 && r < 0.00011);
    assert_int_equal(wdn_trace_parse_rate("1.5", &r), WDN_EINVAL);
    assert_int_equal(wdn_trace_parse_rate("-0.1", &r), WDN_EINVAL);
    assert_int_equal(wdn_trace_parse_rate("abc", &r), WDN_EINVAL);
    assert_int_equal(wdn_trace_parse_rate("0.5x", &r), WDN_EINVAL);
    assert_int_equal(wdn_trace_parse_rate("", &r), WDN_EINVAL);
    assert_int_equal(wdn_trace_parse_rate("nan", &r), WDN_EINVAL);
    assert_int_equal(wdn_trace_parse_rate(NULL, &r), WDN_EINVAL);
}

static void test_child_and_ids(void **state)
{
    struct wdn_trace_ctx p, c, c2;
    static const uint8_t zero[16];

    assert_int_equal(parse(TP, &p), 0);
    wdn_trace_ctx_child(&p, 0.0001, &c);
    assert_memory_equal(c.trace_id, p.trace_id, 16);
    assert_memory_not_equal(c.span_id, p.span_id, 8);
    assert_int_equal(c.flags, 1); /* a sampled parent is followed */
    wdn_trace_ctx_child(&p, 0, &c);
    assert_int_equal(c.flags, 0); /* rate 0 records nothing */
    wdn_trace_ctx_child(NULL, 1, &c);
    wdn_trace_ctx_child(NULL, 1, &c2);
    assert_memory_not_equal(c.trace_id, zero, 16);
    assert_memory_not_equal(c.trace_id, c2.trace_id, 16);
    assert_int_equal(c.flags, 1);
    wdn_trace_ctx_child(NULL, 0, &c);
    assert_int_equal(c.flags, 0);
    /* Formatted IDs parse back. */
    char out[WDN_TRACEPARENT_LEN + 1];
    struct wdn_trace_ctx back;
    wdn_traceparent_format(&c2, out);
    assert_int_equal(parse(out, &back), 0);
    assert_memory_equal(&back, &c2, sizeof(back));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traceparent_valid),
        cmocka_unit_test(test_traceparent_invalid),
        cmocka_unit_test(test_tracestate),
        cmocka_unit_test(test_sampling),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_child_and_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
