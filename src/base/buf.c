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
