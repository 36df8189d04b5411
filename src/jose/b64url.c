/* base64url and base64 codecs: strict decoders for untrusted tokens and keys, one encoder. */
#include "jose/b64url.h"

#include "base/error.h"

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Maps one character to its 6-bit value, or -1. Written as comparisons rather than a table
 * indexed by the byte so that a signed char can never index out of bounds. */
static int val(unsigned char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (url) {
        if (c == '-')
            return 62;
        if (c == '_')
            return 63;
    } else {
        if (c == '+')
            return 62;
        if (c == '/')
            return 63;
    }
    return -1;
}

size_t wdn_b64url_decoded_max(size_t n)
{
    return n / 4 * 3 + 3;
}

size_t wdn_b64url_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

/* The shared decoder for unpadded input of any length not 1 mod 4. */
static int decode(const char *p, size_t n, int url, unsigned char *out, size_t cap,
                  size_t *outlen)
{
    size_t o = 0, need;
    unsigned acc = 0;
    int bits = 0;
    int rc = WDN_EPARSE;

    if (n % 4 == 1)
        goto out;
    need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (need > cap) {
        rc = WDN_ELIMIT;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int v = val((unsigned char)p[i], url);
        if (v < 0)
            goto out;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero: otherwise two encodings would decode to the same bytes. */
    if (acc != 0)
        goto out;
    *outlen = o;
    rc = 0;
out:
    return rc;
}

int wdn_b64url_decode(struct wdn_str in, unsigned char *out, size_t cap, size_t *outlen)
{
    *outlen = 0;
    return decode(in.p, in.len, 1, out, cap, outlen);
}

int wdn_b64std_decode(struct wdn_str in, unsigned char *out, size_t cap, size_t *outlen)
{
    size_t n = in.len;

    *outlen = 0;
    if (n % 4 != 0)
        return WDN_EPARSE;
    /* At most two padding characters, and only at the end. */
    if (n >= 1 && in.p[n - 1] == '=')
        n--;
    if (n >= 1 && in.p[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return WDN_EPARSE;
    return decode(in.p, n, 0, out, cap, outlen);
}

int wdn_b64url_encode(const void *in, size_t n, char *out, size_t cap, size_t *outlen)
{
    const unsigned char *s = in;
    size_t need = wdn_b64url_encoded_len(n), o = 0, i = 0;

    *outlen = 0;
    if (need > cap)
        return WDN_ELIMIT;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        out[o++] = url_alphabet[v >> 18 & 63];
        out[o++] = url_alphabet[v >> 12 & 63];
        out[o++] = url_alphabet[v >> 6 & 63];
        out[o++] = url_alphabet[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)s[i] << 16;
        out[o++] = url_alphabet[v >> 18 & 63];
        out[o++] = url_alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
        out[o++] = url_alphabet[v >> 18 & 63];
        out[o++] = url_alphabet[v >> 12 & 63];
        out[o++] = url_alphabet[v >> 6 & 63];
    }
    if (o < cap)
        out[o] = '\0';
    *outlen = o;
    return 0;
}
