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

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 when it is not one: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
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

int wdn_buf_append_json_str(struct wdn_buf *b, struct wdn_str s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0, run = 0;
    int rc;

    if (s.len == 0)
        return wdn_buf_append(b, "\"\"", 2);
    rc = wdn_buf_append(b, "\"", 1);

    /* Runs of bytes that need no escape are appended in one call. */
    while (rc == 0 && i < s.len) {
        size_t k = p[i] >= 0x20 && p[i] != '"' && p[i] != '\\' ? utf8_len(p + i, s.len - i) : 0;
        if (k > 0) {
            i += k;
            run += k;
            continue;
        }
        rc = wdn_buf_append(b, p + i - run, run);
        run = 0;
        if (rc)
            break;
        if (p[i] == '"' || p[i] == '\\') {
            char esc[2] = {'\\', (char)p[i]};
            rc = wdn_buf_append(b, esc, 2);
        } else if (p[i] < 0x20) {
            rc = wdn_buf_printf(b, "\\u%04x", p[i]);
        } else {
            rc = wdn_buf_append(b, "\\ufffd", 6);
        }
        i++;
    }
    if (rc == 0)
        rc = wdn_buf_append(b, p + i - run, run);
    if (rc == 0)
        rc = wdn_buf_append(b, "\"", 1);
    return rc;
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
