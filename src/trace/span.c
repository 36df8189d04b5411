/* Filling spans in place (no allocation on the request path) and encoding them as OTLP JSON. */
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

/* ---- OTLP JSON ------------------------------------------------------------------------------ */

static int put_hex(struct wdn_buf *out, const char *key, const uint8_t *id, size_t n)
{
    char hex[33];
    wdn_hex_encode(id, n, hex);
    return wdn_buf_printf(out, "\"%s\":\"%s\"", key, hex);
}

static int put_attr_str(struct wdn_buf *out, const char *key, struct wdn_str v)
{
    int rc = wdn_buf_append_cstr(out, "{\"key\":");
    if (rc == 0)
        rc = wdn_buf_append_json_str(out, wdn_str_from_cstr(key));
    if (rc == 0)
        rc = wdn_buf_append_cstr(out, ",\"value\":{\"stringValue\":");
    if (rc == 0)
        rc = wdn_buf_append_json_str(out, v);
    if (rc == 0)
        rc = wdn_buf_append_cstr(out, "}}");
    return rc;
}

static int put_span(struct wdn_buf *out, const struct wdn_span *s)
{
    static const uint8_t zero[8];
    int rc = wdn_buf_append(out, "{", 1);

    if (rc == 0)
        rc = put_hex(out, "traceId", s->trace_id, 16);
    if (rc == 0)
        rc = wdn_buf_append(out, ",", 1);
    if (rc == 0)
        rc = put_hex(out, "spanId", s->span_id, 8);
    if (rc == 0 && memcmp(s->parent_id, zero, 8) != 0) {
        rc = wdn_buf_append(out, ",", 1);
        if (rc == 0)
            rc = put_hex(out, "parentSpanId", s->parent_id, 8);
    }
    if (rc == 0)
        rc = wdn_buf_append_cstr(out, ",\"name\":");
    if (rc == 0)
        rc = wdn_buf_append_json_str(out, (struct wdn_str){s->text, s->name_len});
    if (rc == 0)
        rc = wdn_buf_printf(out,
                            ",\"kind\":%u,\"flags\":%u,\"startTimeUnixNano\":\"%llu\","
                            "\"endTimeUnixNano\":\"%llu\",\"attributes\":[",
                            s->kind, (unsigned)s->flags, (unsigned long long)s->start_ns,
                            (unsigned long long)(s->end_ns ? s->end_ns : s->start_ns));
    for (unsigned i = 0; rc == 0 && i < s->nattrs; i++) {
        const struct wdn_span_attr *a = &s->attrs[i];
        if (i)
            rc = wdn_buf_append(out, ",", 1);
        if (rc == 0 && a->is_int)
            rc = wdn_buf_printf(out, "{\"key\":\"%s\",\"value\":{\"intValue\":\"%lld\"}}", a->key,
                                (long long)a->ival);
        else if (rc == 0)
            rc = put_attr_str(out, a->key, (struct wdn_str){s->text + a->off, a->len});
    }
    if (rc == 0)
        rc = wdn_buf_printf(out, "],\"status\":{\"code\":%u}}", s->status);
    return rc;
}

int wdn_otlp_encode(struct wdn_buf *out, const char *service_name, const char *scope_name,
                    const struct wdn_span *spans, size_t n)
{
    int rc = wdn_buf_append_cstr(out, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");

    if (rc == 0)
        rc = put_attr_str(out, "service.name", wdn_str_from_cstr(service_name));
    if (rc == 0)
        rc = wdn_buf_append(out, ",", 1);
    if (rc == 0)
        rc = put_attr_str(out, "telemetry.sdk.name", WDN_STR("warden"));
    if (rc == 0)
        rc = wdn_buf_append(out, ",", 1);
    if (rc == 0)
        rc = put_attr_str(out, "telemetry.sdk.language", WDN_STR("c"));
    if (rc == 0)
        rc = wdn_buf_append(out, ",", 1);
    if (rc == 0)
        rc = put_attr_str(out, "telemetry.sdk.version", WDN_STR(WDN_VERSION));
    if (rc == 0)
        rc = wdn_buf_append_cstr(out, "]},\"scopeSpans\":[{\"scope\":{\"name\":");
    if (rc == 0)
        rc = wdn_buf_append_json_str(out, wdn_str_from_cstr(scope_name ? scope_name : "warden"));
    if (rc == 0)
        rc = wdn_buf_append_cstr(out, ",\"version\":\"" WDN_VERSION "\"},\"spans\":[");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i)
            rc = wdn_buf_append(out, ",", 1);
        if (rc == 0)
            rc = put_span(out, &spans[i]);
    }
    if (rc == 0)
        rc = wdn_buf_append_cstr(out, "]}]}]}");
    return rc;
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
