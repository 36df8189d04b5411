/* base64url and base64 (src/base/base64.c): round trips, known vectors, strictness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/base64.h"

static int dec(const char *s, unsigned char *out, size_t cap, size_t *n)
{
    return wdn_b64url_decode(wdn_str_from_cstr(s), out, cap, n);
}

static void test_roundtrip(void **state)
{
    unsigned char in[64], out[64];
    char enc[100];
    size_t n, m;

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(i * 37 + 250);
    for (size_t len = 0; len <= sizeof(in); len++) {
        assert_int_equal(wdn_b64url_encode(in, len, enc, sizeof(enc), &n), 0);
        assert_int_equal(n, wdn_b64url_encoded_len(len));
        assert_null(memchr(enc, '=', n));
        assert_int_equal(wdn_b64url_decode((struct wdn_str){enc, n}, out, sizeof(out), &m), 0);
        assert_int_equal(m, len);
        assert_memory_equal(in, out, len);
    }
}

static void test_known(void **state)
{
    unsigned char out[16];
    size_t n;

    /* RFC 4648 section 10 vectors, unpadded. */
    assert_int_equal(dec("Zm9vYmFy", out, sizeof(out), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(dec("Zm9vYg", out, sizeof(out), &n), 0);
    assert_memory_equal(out, "foob", 4);
    /* The URL alphabet: 0xfb 0xff -> "-_8" */
    assert_int_equal(dec("-_8", out, sizeof(out), &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 0xfb);
    assert_int_equal(out[1], 0xff);
}

static void test_strict(void **state)
{
    unsigned char out[16];
    size_t n;

    assert_int_equal(dec("Zm9vYg==", out, sizeof(out), &n), WDN_EPARSE); /* padding */
    assert_int_equal(dec("Zm9v Yg", out, sizeof(out), &n), WDN_EPARSE);  /* space */
    assert_int_equal(dec("+/8", out, sizeof(out), &n), WDN_EPARSE);      /* std alphabet */
    assert_int_equal(dec("Zm9vY", out, sizeof(out), &n), WDN_EPARSE);    /* 1 mod 4 */
    assert_int_equal(dec("Zm9vYh", out, sizeof(out), &n), WDN_EPARSE);   /* stray low bits */
    assert_int_equal(dec("Zm9\n", out, sizeof(out), &n), WDN_EPARSE);
    assert_int_equal(dec("Zm9vYmFy", out, 5, &n), WDN_ELIMIT);
    assert_int_equal(dec("", out, sizeof(out), &n), 0);
    assert_int_equal(n, 0);
}

static void test_std(void **state)
{
    unsigned char out[16];
    size_t n;

    assert_int_equal(wdn_b64std_decode(WDN_STR("Zm9vYg=="), out, sizeof(out), &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(wdn_b64std_decode(WDN_STR("+/8="), out, sizeof(out), &n), 0);
    assert_int_equal(out[0], 0xfb);
    assert_int_equal(wdn_b64std_decode(WDN_STR("Zm9vYg"), out, sizeof(out), &n), WDN_EPARSE);
    assert_int_equal(wdn_b64std_decode(WDN_STR("Zm9v=g=="), out, sizeof(out), &n), WDN_EPARSE);
    assert_int_equal(wdn_b64std_decode(WDN_STR("-_8="), out, sizeof(out), &n), WDN_EPARSE);
}

/* RFC 4648 section 10 vectors for the padded standard encoder, the bytes 0xfb 0xff that tell
 * the two alphabets apart, the limit, and the round trip through the strict decoder. */
static void test_std_encode(void **state)
{
    static const char *const want[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                       "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    unsigned char back[8];
    char out[16];
    size_t n, m;
    (void)state;

    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(wdn_b64std_encode("foobar", i, out, sizeof(out), &n), 0);
        assert_int_equal(n, wdn_b64std_encoded_len(i));
        assert_string_equal(out, want[i]);
        assert_int_equal(wdn_b64std_decode((struct wdn_str){out, n}, back, sizeof(back), &m), 0);
        assert_int_equal(m, i);
        assert_memory_equal(back, "foobar", i);
    }
    assert_int_equal(wdn_b64std_encode("\xfb\xff", 2, out, sizeof(out), &n), 0);
    assert_string_equal(out, "+/8=");
    assert_int_equal(wdn_b64std_encode("foobar", 6, out, 7, &n), WDN_ELIMIT);
    assert_int_equal(wdn_b64std_encode("foobar", 6, out, 8, &n), 0); /* no room for the NUL */
    assert_int_equal(n, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),  cmocka_unit_test(test_known),
        cmocka_unit_test(test_strict),     cmocka_unit_test(test_std),
        cmocka_unit_test(test_std_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
