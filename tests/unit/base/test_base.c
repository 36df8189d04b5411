/* Unit tests for src/base: slices, number parsing, buffers with limits, arenas, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/diag.h"
#include "base/error.h"
#include "base/log.h"
#include "base/str.h"

static void test_str_to_u64(void **state)
{
    uint64_t v = 0;
    assert_int_equal(wdn_str_to_u64(WDN_STR("0"), UINT64_MAX, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(wdn_str_to_u64(WDN_STR("18446744073709551615"), UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(wdn_str_to_u64(WDN_STR("18446744073709551616"), UINT64_MAX, &v), WDN_ERANGE);
    assert_int_equal(wdn_str_to_u64(WDN_STR("+4"), UINT64_MAX, &v), WDN_EPARSE);
    assert_int_equal(wdn_str_to_u64(WDN_STR("-1"), UINT64_MAX, &v), WDN_EPARSE);
    assert_int_equal(wdn_str_to_u64(WDN_STR(" 4"), UINT64_MAX, &v), WDN_EPARSE);
    assert_int_equal(wdn_str_to_u64(WDN_STR(""), UINT64_MAX, &v), WDN_EPARSE);
    assert_int_equal(wdn_str_to_u64(WDN_STR("7"), 5, &v), WDN_ERANGE);
    assert_int_equal(wdn_str_to_u64(WDN_STR("100"), 99, &v), WDN_ERANGE);
    assert_int_equal(wdn_str_to_u64(WDN_STR("99"), 99, &v), 0);
    assert_int_equal(v, 99);
}

static void test_str_compare(void **state)
{
    assert_true(wdn_str_eq_case(WDN_STR("Content-Length"), WDN_STR("content-length")));
    assert_false(wdn_str_eq_case(WDN_STR("Content-Length"), WDN_STR("content-lengt")));
    assert_true(wdn_str_eq_cstr(WDN_STR("abc"), "abc"));
    assert_false(wdn_str_eq_cstr(WDN_STR("abc"), "abcd"));
    struct wdn_str t = wdn_str_trim_ows(WDN_STR(" \t chunked\t "));
    assert_true(wdn_str_eq_cstr(t, "chunked"));
    assert_int_equal(wdn_str_index(WDN_STR("a?b"), '?'), 1);
    assert_int_equal(wdn_str_index(WDN_STR("ab"), '?'), -1);
}

static void test_ct_equal(void **state)
{
    assert_true(wdn_ct_equal("secret", 6, "secret", 6));
    assert_false(wdn_ct_equal("secret", 6, "secreT", 6));
    assert_false(wdn_ct_equal("secret", 6, "secret!", 7));
    assert_true(wdn_ct_equal("", 0, "", 0));
}

static void test_buf_limit(void **state)
{
    struct wdn_buf b;
    wdn_buf_init(&b, 10);
    assert_int_equal(wdn_buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(wdn_buf_append(&b, "x", 1), WDN_ELIMIT);
    assert_int_equal(b.len, 10);
    assert_string_equal(wdn_buf_cstr(&b), "0123456789");
    wdn_buf_consume(&b, 4);
    assert_string_equal(wdn_buf_cstr(&b), "456789");
    assert_int_equal(wdn_buf_printf(&b, "%d", 1234), 0);
    assert_string_equal(wdn_buf_cstr(&b), "4567891234");
    assert_int_equal(wdn_buf_printf(&b, "%d", 5), WDN_ELIMIT);
    wdn_buf_reset(&b);
    assert_int_equal(b.len, 0);
}

static void test_arena(void **state)
{
    struct wdn_arena a;
    wdn_arena_init(&a, 64, 1024);
    char *s = wdn_arena_strdup(&a, WDN_STR("hello"));
    assert_string_equal(s, "hello");
    void *big = wdn_arena_alloc(&a, 512); /* larger than a block: gets its own */
    assert_non_null(big);
    char *t = wdn_arena_strdup(&a, WDN_STR("world"));
    assert_string_equal(t, "world");
    assert_string_equal(s, "hello");
    assert_null(wdn_arena_alloc(&a, 1024)); /* over max_total */
    wdn_arena_reset(&a);
    assert_int_equal(a.total, 0);
}

static void test_errors(void **state)
{
    assert_string_equal(wdn_strerror(WDN_ENOMEM), "out of memory");
    assert_string_equal(wdn_errname(WDN_ELIMIT), "LIMIT");
    assert_string_equal(wdn_strerror(12345), "unknown error");
    assert_int_equal(wdn_error_from_errno(104 /* ECONNRESET */), WDN_ECONNRESET);
}

static void test_diag(void **state)
{
    struct wdn_diag d;
    char buf[600];
    assert_int_equal(wdn_diag_set_at(&d, WDN_ECONFIG, "a.yaml", 3, 7, "unknown key %s", "foo"),
                     WDN_ECONFIG);
    assert_string_equal(wdn_diag_format(&d, buf, sizeof(buf)), "a.yaml:3:7: unknown key foo");
    assert_int_equal(wdn_diag_set(NULL, WDN_EINVAL, "ignored"), WDN_EINVAL);
}

/* A control byte in a logged value cannot start a second (forged) log line. */
static void test_log_no_injection(void **state)
{
    int fds[2], saved = dup(2);
    char buf[512] = "";
    assert_int_equal(pipe(fds), 0);
    dup2(fds[1], 2);
    wdn_log_init("t", WDN_LOG_INFO, false);
    wdn_log_info("client_id=%s", "evil\nlevel=error forged");
    dup2(saved, 2);
    close(fds[1]);
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    close(saved);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "client_id=evil?level=error forged\n"));
    assert_ptr_equal(strchr(buf, '\n'), buf + n - 1); /* exactly one line */
}

/* JSON string escaping: quotes, backslashes, control bytes, and bytes that are not UTF-8. */
static void test_json_str_and_hex(void **state)
{
    struct wdn_buf b;
    char hex[9];
    static const unsigned char raw[4] = {0x00, 0x0f, 0xa0, 0xff};

    wdn_buf_init(&b, 256);
    assert_int_equal(wdn_buf_append_json_str(&b, WDN_STR("")), 0);
    assert_int_equal(wdn_buf_append_json_str(&b, WDN_STR("a\"b\\c\n\x01"
                                                         "caf\xc3\xa9")),
                     0);
    assert_string_equal(b.data, "\"\"\"a\\\"b\\\\c\\u000a\\u0001"
                                "caf\xc3\xa9\"");
    wdn_buf_reset(&b);
    /* A lone continuation byte, a truncated sequence, an overlong form, a surrogate. */
    assert_int_equal(
        wdn_buf_append_json_str(&b, WDN_STR("\x80x\xc3\xc0\xafy\xed\xa0\x80z\xf0\x9f\x98\x80")), 0);
    assert_string_equal(b.data,
                        "\"\\ufffdx\\ufffd\\ufffd\\ufffdy\\ufffd\\ufffd\\ufffdz\xf0\x9f\x98\x80\"");
    wdn_buf_reset(&b);
    wdn_buf_init(&b, 4);
    assert_int_equal(wdn_buf_append_json_str(&b, WDN_STR("abcdef")), WDN_ELIMIT);
    wdn_buf_reset(&b);
    wdn_hex_encode(raw, 4, hex);
    assert_string_equal(hex, "000fa0ff");
    /* Decimal: every length from 1 to 20 digits, both sides of each power of ten. */
    {
        char d[32];
        assert_int_equal(wdn_u64_write(d, 0) - d, 1);
        assert_memory_equal(d, "0", 1);
        uint64_t p10 = 1;
        for (int k = 1; k <= 20; k++) {
            uint64_t vs[] = {p10, p10 - 1, p10 + 7, p10 * 3 + 42};
            for (size_t j = 0; j < sizeof(vs) / sizeof(vs[0]); j++) {
                char want[32];
                int n = snprintf(want, sizeof(want), "%llu", (unsigned long long)vs[j]);
                assert_int_equal(wdn_u64_write(d, vs[j]) - d, n);
                assert_memory_equal(d, want, (size_t)n);
            }
            if (k < 20)
                p10 *= 10;
        }
        int n = (int)(wdn_u64_write(d, UINT64_MAX) - d);
        assert_int_equal(n, 20);
        assert_memory_equal(d, "18446744073709551615", 20);
    }

    /* Long strings take the eight-bytes-at-a-time path: whatever mix of plain bytes, quotes,
     * backslashes, control bytes and UTF-8, the output parses back to the input. */
    static const char *const pieces[] = {"abcdefgh", "\"",          "\\",           "\n",
                                         "\x01",     "caf\xc3\xa9", "\xe2\x82\xac", "xyz",
                                         " ",        "\x7f",        "0123456789"};
    uint64_t seed = 42;
    for (int round = 0; round < 500; round++) {
        char in[512];
        size_t n = 0;
        while (n < 400) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            const char *piece = pieces[(seed >> 33) % (sizeof(pieces) / sizeof(pieces[0]))];
            memcpy(in + n, piece, strlen(piece));
            n += strlen(piece);
        }
        wdn_buf_init(&b, 1 << 16);
        assert_int_equal(wdn_buf_append_json_str(&b, (struct wdn_str){in, n}), 0);
        assert_int_equal(b.len, wdn_json_str_len((struct wdn_str){in, n}));
        json_error_t err;
        json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY, &err);
        assert_non_null(v);
        assert_int_equal(json_string_length(v), n);
        assert_memory_equal(json_string_value(v), in, n);
        json_decref(v);
        wdn_buf_reset(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_str_to_u64),
        cmocka_unit_test(test_str_compare),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_buf_limit),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_diag),
        cmocka_unit_test(test_log_no_injection),
        cmocka_unit_test(test_json_str_and_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
