/* String slice helpers and the constant-time comparison used for every secret. */
#include "base/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

struct wdn_str wdn_str_from_cstr(const char *s)
{
    struct wdn_str r = {s, s ? strlen(s) : 0};
    return r;
}

bool wdn_str_eq(struct wdn_str a, struct wdn_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool wdn_str_eq_case(struct wdn_str a, struct wdn_str b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return false;
    }
    return true;
}

bool wdn_str_eq_cstr(struct wdn_str a, const char *b)
{
    return wdn_str_eq(a, wdn_str_from_cstr(b));
}

bool wdn_str_eq_case_cstr(struct wdn_str a, const char *b)
{
    return wdn_str_eq_case(a, wdn_str_from_cstr(b));
}

bool wdn_str_has_prefix(struct wdn_str s, struct wdn_str prefix)
{
    return s.len >= prefix.len && (prefix.len == 0 || memcmp(s.p, prefix.p, prefix.len) == 0);
}

struct wdn_str wdn_str_trim_ows(struct wdn_str s)
{
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

long wdn_str_index(struct wdn_str s, char c)
{
    const char *hit = s.len ? memchr(s.p, c, s.len) : NULL;
    return hit ? (long)(hit - s.p) : -1;
}

void wdn_hex_encode(const void *p, size_t n, char *out)
{
    /* One lookup per byte: trace and audit records are full of IDs. */
    static const char pairs[513] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        memcpy(out + 2 * i, pairs + 2 * b[i], 2);
    out[2 * n] = '\0';
}

char *wdn_u64_write(char *w, uint64_t v)
{
    /* Digits counted first, then written in place from the right, two per division, in 32-bit
     * arithmetic once the rest fits: span times and record numbers are long numbers. */
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930"
                                   "31323334353637383940414243444546474849505152535455565758596061"
                                   "62636465666768697071727374757677787980818283848586878889909192"
                                   "93949596979899";
    static const uint64_t p10[20] = {1u,
                                     10u,
                                     100u,
                                     1000u,
                                     10000u,
                                     100000u,
                                     1000000u,
                                     10000000u,
                                     100000000u,
                                     1000000000u,
                                     10000000000u,
                                     100000000000u,
                                     1000000000000u,
                                     10000000000000u,
                                     100000000000000u,
                                     1000000000000000u,
                                     10000000000000000u,
                                     100000000000000000u,
                                     1000000000000000000u,
                                     10000000000000000000u};
    /* floor(log10(v)) from the bit length: 1233 / 4096 ~ log10(2). */
    unsigned t = (unsigned)(64 - __builtin_clzll(v | 1)) * 1233u >> 12;
    unsigned n = t + 1 - ((v | 1) < p10[t]);
    char *end = w + n, *p = end;

    while (v >= 0x100000000u) {
        p -= 2;
        memcpy(p, pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    uint32_t x = (uint32_t)v;
    while (x >= 100) {
        p -= 2;
        memcpy(p, pairs + 2 * (x % 100), 2);
        x /= 100;
    }
    if (x >= 10) {
        p -= 2;
        memcpy(p, pairs + 2 * x, 2);
    } else {
        *--p = (char)('0' + x);
    }
    return end;
}

int wdn_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int wdn_str_to_u64(struct wdn_str s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0)
        return WDN_EPARSE;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9)
            return WDN_EPARSE;
        if (d > max || v > (max - d) / 10)
            return WDN_ERANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

char *wdn_str_dup(struct wdn_str s)
{
    char *r = malloc(s.len + 1);
    if (r == NULL)
        return NULL;
    if (s.len)
        memcpy(r, s.p, s.len);
    r[s.len] = '\0';
    return r;
}

bool wdn_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    const volatile unsigned char *x = a;
    const volatile unsigned char *y = b;
    unsigned char diff = 0;

    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}

int wdn_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        return WDN_EINVAL;
    return (size_t)n < cap ? 0 : WDN_ELIMIT;
}
