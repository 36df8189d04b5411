/* Filling spans in place (no allocation on the request path), and the OTLP endpoint's URL (the
 * encoding is otlp.c's). */
#include "trace/span.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/error.h"

uint64_t wdn_trace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Copies up to n bytes into the span's text; returns how many fit. A cut value never ends
 * inside a UTF-8 sequence. */
static uint16_t put_text(struct wdn_span *s, const char *p, size_t n)
{
    size_t room = sizeof(s->text) - s->used;

    if (n > room) {
        n = room;
        while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
            n--;
    }
    if (n)
        memcpy(s->text + s->used, p, n);
    s->used = (uint16_t)(s->used + n);
    return (uint16_t)n;
}

void wdn_span_start(struct wdn_span *s, const struct wdn_trace_ctx *ctx, const uint8_t *parent_id,
                    enum wdn_span_kind kind, const char *name)
{
    memcpy(s->trace_id, ctx->trace_id, 16);
    memcpy(s->span_id, ctx->span_id, 8);
    if (parent_id)
        memcpy(s->parent_id, parent_id, 8);
    else
        memset(s->parent_id, 0, 8);
    s->kind = (uint8_t)kind;
    s->status = WDN_SPAN_UNSET;
    s->flags = ctx->flags;
    s->nattrs = 0;
    s->used = 0;
    s->end_ns = 0;
    s->name_len = put_text(s, name, strlen(name));
    s->start_ns = wdn_trace_now_ns();
}

void wdn_span_attr_str(struct wdn_span *s, const char *key, struct wdn_str v)
{
    struct wdn_span_attr *a;

    if (s->nattrs >= WDN_TRACE_MAX_ATTRS || s->used >= sizeof(s->text))
        return;
    a = &s->attrs[s->nattrs++];
    a->key = key;
    a->is_int = false;
    a->ival = 0;
    a->off = s->used;
    a->len = put_text(s, v.p, v.len);
}

void wdn_span_attr_int(struct wdn_span *s, const char *key, int64_t v)
{
    struct wdn_span_attr *a;

    if (s->nattrs >= WDN_TRACE_MAX_ATTRS)
        return;
    a = &s->attrs[s->nattrs++];
    a->key = key;
    a->is_int = true;
    a->ival = v;
    a->off = a->len = 0;
}

void wdn_span_end(struct wdn_span *s, enum wdn_span_status status)
{
    s->status = (uint8_t)status;
    s->end_ns = wdn_trace_now_ns();
}

/* ---- The endpoint URL ---------------------------------------------------------------------- */

int wdn_otlp_url(const char *addr, bool is_secure, char *out, size_t cap)
{
    const char *scheme = is_secure ? "https://" : "http://";
    const char *rest = addr;
    size_t n;
    int k;

    if (addr == NULL || *addr == '\0')
        return WDN_EINVAL;
    if (strncmp(addr, "http://", 7) == 0 || strncmp(addr, "https://", 8) == 0) {
        scheme = "";
        rest = strchr(addr, '/') + 2;
    } else if (strstr(addr, "://") != NULL) {
        return WDN_EINVAL;
    }
    n = strlen(addr);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)addr[i];
        if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '@' || c == '\\')
            return WDN_EINVAL;
    }
    if (*rest == '\0' || *rest == '/' || *rest == ':')
        return WDN_EINVAL;
    const char *slash = strchr(rest, '/');
    bool no_path = slash == NULL || slash[1] == '\0';
    /* "host:4318/" and "host:4318" both mean the default path. */
    size_t keep = slash && slash[1] == '\0' ? n - 1 : n;
    k = snprintf(out, cap, "%s%.*s%s", scheme, (int)keep, addr, no_path ? "/v1/traces" : "");
    if (k < 0 || (size_t)k >= cap)
        return WDN_ELIMIT;
    return 0;
}
