/* W3C traceparent and tracestate: strict parsing (a header someone else sent), formatting, IDs
 * and Dapr's sampling rule. A value that does not parse is never forwarded: the sidecar starts
 * a new trace instead, as the specification asks. */
#include "trace/context.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"

/* Lowercase hex only: the specification's HEXDIGLC. -1 for anything else. */
static int hexlc(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes 2n lowercase hex digits at p into out; false on any other byte. */
static bool unhex(const char *p, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexlc((unsigned char)p[2 * i]), lo = hexlc((unsigned char)p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int wdn_traceparent_parse(struct wdn_str s, struct wdn_trace_ctx *out)
{
    struct wdn_trace_ctx c;
    uint8_t version;

    s = wdn_str_trim_ows(s);
    if (s.len < WDN_TRACEPARENT_LEN || !unhex(s.p, &version, 1) || version == 0xff)
        return WDN_EPARSE;
    if (version == 0 && s.len != WDN_TRACEPARENT_LEN)
        return WDN_EPARSE;
    if (s.len > WDN_TRACEPARENT_LEN && s.p[WDN_TRACEPARENT_LEN] != '-')
        return WDN_EPARSE;
    if (s.p[2] != '-' || s.p[35] != '-' || s.p[52] != '-')
        return WDN_EPARSE;
    if (!unhex(s.p + 3, c.trace_id, 16) || !unhex(s.p + 36, c.span_id, 8) ||
        !unhex(s.p + 53, &c.flags, 1))
        return WDN_EPARSE;
    if (all_zero(c.trace_id, 16) || all_zero(c.span_id, 8))
        return WDN_EPARSE;
    /* Version 00 defines only the sampled bit; a newer version's other flags mean nothing to a
     * version 00 reader and are not passed on. */
    if (version != 0)
        c.flags &= WDN_TRACE_FLAG_SAMPLED;
    *out = c;
    return 0;
}

void wdn_traceparent_format(const struct wdn_trace_ctx *c, char *out)
{
    memcpy(out, "00-", 3);
    wdn_hex_encode(c->trace_id, 16, out + 3);
    out[35] = '-';
    wdn_hex_encode(c->span_id, 8, out + 36);
    out[52] = '-';
    wdn_hex_encode(&c->flags, 1, out + 53);
}

/* ---- tracestate ---------------------------------------------------------------------------- */

static bool lcalpha(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}

static bool key_char(unsigned char c)
{
    return lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/';
}

/* key = simple-key / multi-tenant-key. simple-key = lcalpha 0*255(key chars);
 * tenant-id = (lcalpha / DIGIT) 0*240(key chars); system-id = lcalpha 0*13(key chars). */
static bool key_valid(struct wdn_str k)
{
    long at = wdn_str_index(k, '@');

    if (k.len == 0)
        return false;
    if (at < 0) {
        if (k.len > 256 || !lcalpha((unsigned char)k.p[0]))
            return false;
        for (size_t i = 1; i < k.len; i++)
            if (!key_char((unsigned char)k.p[i]))
                return false;
        return true;
    }
    size_t t = (size_t)at, sys = k.len - t - 1;
    if (t == 0 || t > 241 || sys == 0 || sys > 14)
        return false;
    if (!lcalpha((unsigned char)k.p[0]) && !(k.p[0] >= '0' && k.p[0] <= '9'))
        return false;
    for (size_t i = 1; i < t; i++)
        if (!key_char((unsigned char)k.p[i]))
            return false;
    if (!lcalpha((unsigned char)k.p[t + 1]))
        return false;
    for (size_t i = t + 2; i < k.len; i++)
        if (!key_char((unsigned char)k.p[i]))
            return false;
    return true;
}

/* value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E. */
static bool value_valid(struct wdn_str v)
{
    if (v.len == 0 || v.len > 256 || v.p[v.len - 1] == ' ')
        return false;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return false;
    }
    return true;
}

bool wdn_tracestate_valid(struct wdn_str s)
{
    struct wdn_str keys[WDN_TRACESTATE_MAX_MEMBERS];
    size_t nkeys = 0, i = 0;

    if (s.len > WDN_TRACESTATE_MAX_BYTES)
        return false;
    while (i <= s.len) {
        size_t j = i;
        while (j < s.len && s.p[j] != ',')
            j++;
        struct wdn_str m = wdn_str_trim_ows((struct wdn_str){s.p + i, j - i});
        if (m.len > 0) {
            long eq = wdn_str_index(m, '=');
            if (eq <= 0 || nkeys == WDN_TRACESTATE_MAX_MEMBERS)
                return false;
            struct wdn_str k = {m.p, (size_t)eq};
            struct wdn_str v = {m.p + eq + 1, m.len - (size_t)eq - 1};
            if (!key_valid(k) || !value_valid(v))
                return false;
            for (size_t n = 0; n < nkeys; n++)
                if (wdn_str_eq(keys[n], k))
                    return false;
            keys[nkeys++] = k;
        }
        i = j + 1;
    }
    return true;
}

/* ---- IDs and sampling ---------------------------------------------------------------------- */

/* xoshiro-style xorshift128+ per thread: seeded from getrandom once, then no system call. */
static uint64_t next64(void)
{
    static __thread uint64_t st[2];

    if (st[0] == 0 && st[1] == 0) {
        if (getrandom(st, sizeof(st), GRND_NONBLOCK) != (ssize_t)sizeof(st) ||
            (st[0] | st[1]) == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            st[0] = wdn_clock_mono_ns() ^ (uint64_t)ts.tv_nsec ^ 0x9e3779b97f4a7c15u;
            st[1] = (uint64_t)(uintptr_t)&st | 1;
        }
    }
    uint64_t x = st[0], y = st[1];
    st[0] = y;
    x ^= x << 23;
    st[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return st[1] + y;
}

void wdn_trace_random_id(uint8_t *out, size_t n)
{
    do {
        for (size_t i = 0; i < n; i += 8) {
            uint64_t r = next64();
            size_t k = n - i < 8 ? n - i : 8;
            memcpy(out + i, &r, k);
        }
    } while (all_zero(out, n));
}

bool wdn_trace_should_sample(const uint8_t trace_id[16], bool parent_sampled, double rate)
{
    uint64_t x = 0;

    if (rate <= 0)
        return false;
    if (parent_sampled || rate >= 1)
        return true;
    for (int i = 8; i < 16; i++)
        x = x << 8 | trace_id[i];
    return (x >> 1) < (uint64_t)(rate * 9223372036854775808.0);
}

void wdn_trace_ctx_child(const struct wdn_trace_ctx *parent, double rate, struct wdn_trace_ctx *out)
{
    bool parent_sampled = parent && (parent->flags & WDN_TRACE_FLAG_SAMPLED);

    if (parent) {
        memcpy(out->trace_id, parent->trace_id, 16);
        out->flags = parent->flags & (uint8_t)~WDN_TRACE_FLAG_SAMPLED;
    } else {
        wdn_trace_random_id(out->trace_id, 16);
        out->flags = 0;
    }
    if (wdn_trace_should_sample(out->trace_id, parent_sampled, rate))
        out->flags |= WDN_TRACE_FLAG_SAMPLED;
    wdn_trace_random_id(out->span_id, 8);
}

int wdn_trace_parse_rate(const char *s, double *out)
{
    char *end;
    double v;

    if (s == NULL || *s == '\0' || *s == ' ')
        return WDN_EINVAL;
    v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v) || v < 0 || v > 1)
        return WDN_EINVAL;
    *out = v;
    return 0;
}
