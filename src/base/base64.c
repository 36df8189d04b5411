/* base64url and base64 codecs: strict decoders for untrusted tokens and keys, and encoders. */
#include "base/base64.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "base/error.h"

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Decoding tables, 256 entries indexed by the byte as unsigned char: 0-63 for alphabet
 * characters, 64 for everything else. Built once, read-only after that. */
static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static unsigned char tab_url[256], tab_std[256];
static pthread_once_t tab_once = PTHREAD_ONCE_INIT;

static void tab_init(void)
{
    memset(tab_url, 64, sizeof(tab_url));
    memset(tab_std, 64, sizeof(tab_std));
    for (int i = 0; i < 64; i++) {
        tab_url[(unsigned char)url_alphabet[i]] = (unsigned char)i;
        tab_std[(unsigned char)std_alphabet[i]] = (unsigned char)i;
    }
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
static int decode(const char *p, size_t n, int url, unsigned char *out, size_t cap, size_t *outlen)
{
    size_t o = 0, i = 0, need;
    int rc = WDN_EPARSE;
    const unsigned char *tab;

    pthread_once(&tab_once, tab_init);
    tab = url ? tab_url : tab_std;

    if (n % 4 == 1)
        goto out;
    need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (need > cap) {
        rc = WDN_ELIMIT;
        goto out;
    }
    /* Whole quanta: four characters, three bytes. Invalid characters map to 64, so one OR
     * of the four values tells whether any was invalid. */
    for (; i + 4 <= n; i += 4) {
        unsigned a = tab[(unsigned char)p[i]], b = tab[(unsigned char)p[i + 1]];
        unsigned c = tab[(unsigned char)p[i + 2]], d = tab[(unsigned char)p[i + 3]];
        unsigned v = a << 18 | b << 12 | c << 6 | d;
        if ((a | b | c | d) > 63)
            goto out;
        out[o] = (unsigned char)(v >> 16);
        out[o + 1] = (unsigned char)(v >> 8);
        out[o + 2] = (unsigned char)v;
        o += 3;
    }
    /* A final partial quantum of 2 or 3 characters; its unused low bits must be zero, or two
     * encodings would decode to the same bytes. */
    if (n - i == 2) {
        unsigned a = tab[(unsigned char)p[i]], b = tab[(unsigned char)p[i + 1]];
        unsigned v = a << 6 | b;
        if ((a | b) > 63 || (v & 0xf) != 0)
            goto out;
        out[o++] = (unsigned char)(v >> 4);
    } else if (n - i == 3) {
        unsigned a = tab[(unsigned char)p[i]], b = tab[(unsigned char)p[i + 1]];
        unsigned c = tab[(unsigned char)p[i + 2]];
        unsigned v = a << 12 | b << 6 | c;
        if ((a | b | c) > 63 || (v & 0x3) != 0)
            goto out;
        out[o++] = (unsigned char)(v >> 10);
        out[o++] = (unsigned char)(v >> 2);
    }
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

/* The shared encoder: the alphabet's characters for n bytes, '=' padding when asked. */
static int encode(const void *in, size_t n, const char *alphabet, bool pad, char *out, size_t cap,
                  size_t *outlen)
{
    const unsigned char *s = in;
    size_t need = pad ? wdn_b64std_encoded_len(n) : wdn_b64url_encoded_len(n), o = 0, i = 0;

    *outlen = 0;
    if (need > cap)
        return WDN_ELIMIT;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)s[i] << 16;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        if (pad)
            out[o++] = '=';
    }
    if (o < cap)
        out[o] = '\0';
    *outlen = o;
    return 0;
}

int wdn_b64url_encode(const void *in, size_t n, char *out, size_t cap, size_t *outlen)
{
    return encode(in, n, url_alphabet, false, out, cap, outlen);
}

size_t wdn_b64std_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

int wdn_b64std_encode(const void *in, size_t n, char *out, size_t cap, size_t *outlen)
{
    return encode(in, n, std_alphabet, true, out, cap, outlen);
}
