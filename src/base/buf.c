/* Growable buffers. Growth doubles; the named maximum turns unbounded input into WDN_ELIMIT. */
#include "base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

void wdn_buf_init(struct wdn_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void wdn_buf_reset(struct wdn_buf *b)
{
    free(b->data);
    wdn_buf_init(b, b->max);
}

int wdn_buf_reserve(struct wdn_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    /* One byte more than asked, so that wdn_buf_cstr never needs to grow past max. */
    if (n > b->max - b->len)
        return WDN_ELIMIT;
    need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = realloc(b->data, cap);
    if (p == NULL)
        return WDN_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int wdn_buf_append(struct wdn_buf *b, const void *p, size_t n)
{
    int rc;

    if (n == 0)
        return 0;
    rc = wdn_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0'; /* room is always reserved: the contents stay a C string */
    return 0;
}

int wdn_buf_append_cstr(struct wdn_buf *b, const char *s)
{
    return wdn_buf_append(b, s, strlen(s));
}

int wdn_buf_printf(struct wdn_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return WDN_EINVAL;
    rc = wdn_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int wdn_buf_append_u64(struct wdn_buf *b, uint64_t v)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return wdn_buf_append(b, tmp + sizeof(tmp) - n, n);
}

size_t wdn_utf8_seq_len(const unsigned char *p, size_t n)
{
    size_t need;
    unsigned cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        need = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        need = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        need = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return need;
}

char *wdn_json_str_write(char *w, struct wdn_str s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0;

    *w++ = '"';
    while (i < s.len) {
        /* Eight bytes at a time while they are all plain ASCII (0x20..0x7f but '"' and '\\'),
         * the common case: a word has such a byte when (v - 0x20..) borrows, the top bit is set,
         * or v ^ '"' / v ^ '\\' has a zero byte. */
        while (i + 8 <= s.len) {
            const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
            uint64_t v, q, b;
            memcpy(&v, p + i, 8);
            q = v ^ (ones * '"');
            b = v ^ (ones * '\\');
            if (((v - ones * 0x20) | v | (q - ones) | (b - ones)) & highs)
                break;
            memcpy(w, &v, 8);
            w += 8;
            i += 8;
        }
        if (i >= s.len)
            break;
        unsigned char c = p[i];
        /* Plain ASCII is the common case: no decoding needed. */
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *w++ = (char)c;
            i++;
            continue;
        }
        size_t k = c >= 0x80 ? wdn_utf8_seq_len(p + i, s.len - i) : 0;
        if (k > 0) {
            memcpy(w, p + i, k);
            w += k;
            i += k;
            continue;
        }
        if (c == '"' || c == '\\') {
            *w++ = '\\';
            *w++ = (char)c;
        } else if (c < 0x20) {
            memcpy(w, "\\u00", 4);
            w[4] = hex[c >> 4];
            w[5] = hex[c & 15];
            w += 6;
        } else {
            memcpy(w, "\\ufffd", 6);
            w += 6;
        }
        i++;
    }
    *w++ = '"';
    return w;
}

size_t wdn_json_str_len(struct wdn_str s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t n = 2, i = 0;

    while (i < s.len) {
        unsigned char c = p[i];
        size_t k = c >= 0x80 ? wdn_utf8_seq_len(p + i, s.len - i) : 0;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\')
            n++, i++;
        else if (k > 0)
            n += k, i += k;
        else
            n += c == '"' || c == '\\' ? 2 : 6, i++;
    }
    return n;
}

int wdn_buf_append_json_str(struct wdn_buf *b, struct wdn_str s)
{
    /* Room for the worst case, or, near the buffer's maximum, for exactly what it takes. */
    int rc = wdn_buf_reserve(b, WDN_JSON_STR_MAX(s.len));

    if (rc == WDN_ELIMIT)
        rc = wdn_buf_reserve(b, wdn_json_str_len(s));
    if (rc)
        return rc;
    b->len = (size_t)(wdn_json_str_write(b->data + b->len, s) - b->data);
    b->data[b->len] = '\0';
    return 0;
}

void wdn_buf_consume(struct wdn_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        if (b->data)
            b->data[0] = '\0';
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *wdn_buf_cstr(struct wdn_buf *b)
{
    if (b->data == NULL || b->len + 1 > b->cap) {
        if (wdn_buf_reserve(b, 0))
            return NULL;
    }
    b->data[b->len] = '\0';
    return b->data;
}

struct wdn_str wdn_buf_str(const struct wdn_buf *b)
{
    struct wdn_str s = {b->data, b->len};
    return s;
}
