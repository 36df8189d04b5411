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

/* Spans are encoded on the exporter's thread, which shares the machine with the request
 * threads: each span reserves its worst case once and is written with pointer bumps, no printf
 * and no per-field bounds checks. */
#define LIT(w, s) (memcpy((w), (s), sizeof(s) - 1), (w) + sizeof(s) - 1)

/* The hex of the IDs encoded last: the spans of one request follow each other in a batch and
 * share their trace ID, and the ingress span's ID is the others' parent. */
struct id_cache {
    uint8_t trace[16];
    char trace_hex[33];
    bool has_trace;
    uint8_t span[4][8];
    char span_hex[4][17];
    unsigned nspan, next;
};

static char *put_trace_id(char *w, struct id_cache *c, const uint8_t *id)
{
    if (!c->has_trace || memcmp(c->trace, id, 16) != 0) {
        memcpy(c->trace, id, 16);
        wdn_hex_encode(id, 16, c->trace_hex);
        c->has_trace = true;
    }
    memcpy(w, c->trace_hex, 32);
    return w + 32;
}

static char *put_span_id(char *w, struct id_cache *c, const uint8_t *id)
{
    unsigned i;

    for (i = 0; i < c->nspan; i++)
        if (memcmp(c->span[i], id, 8) == 0)
            break;
    if (i == c->nspan) {
        i = c->next;
        c->next = (c->next + 1) % 4;
        if (c->nspan < 4)
            c->nspan++;
        memcpy(c->span[i], id, 8);
        wdn_hex_encode(id, 8, c->span_hex[i]);
    }
    memcpy(w, c->span_hex[i], 16);
    return w + 16;
}

/* What one span can take, whatever its strings hold. */
static size_t span_bound(const struct wdn_span *s)
{
    size_t n = 300 + WDN_JSON_STR_MAX(s->name_len);

    for (unsigned i = 0; i < s->nattrs; i++)
        n += 64 + strlen(s->attrs[i].key) +
             (s->attrs[i].is_int ? 22 : WDN_JSON_STR_MAX(s->attrs[i].len));
    return n;
}

static char *put_span(char *w, struct id_cache *c, const struct wdn_span *s)
{
    static const uint8_t zero[8];

    w = LIT(w, "{\"traceId\":\"");
    w = put_trace_id(w, c, s->trace_id);
    w = LIT(w, "\",\"spanId\":\"");
    w = put_span_id(w, c, s->span_id);
    if (memcmp(s->parent_id, zero, 8) != 0) {
        w = LIT(w, "\",\"parentSpanId\":\"");
        w = put_span_id(w, c, s->parent_id);
    }
    w = LIT(w, "\",\"name\":");
    w = wdn_json_str_write(w, (struct wdn_str){s->text, s->name_len});
    w = LIT(w, ",\"kind\":");
    w = wdn_u64_write(w, s->kind);
    w = LIT(w, ",\"flags\":");
    w = wdn_u64_write(w, s->flags);
    w = LIT(w, ",\"startTimeUnixNano\":\"");
    w = wdn_u64_write(w, s->start_ns);
    w = LIT(w, "\",\"endTimeUnixNano\":\"");
    w = wdn_u64_write(w, s->end_ns ? s->end_ns : s->start_ns);
    w = LIT(w, "\",\"attributes\":[");
    for (unsigned i = 0; i < s->nattrs; i++) {
        const struct wdn_span_attr *a = &s->attrs[i];
        if (i)
            *w++ = ',';
        /* Keys are literals of warden's code, plain ASCII (span.h): no escaping. */
        size_t k = strlen(a->key);
        w = LIT(w, "{\"key\":\"");
        memcpy(w, a->key, k);
        w += k;
        *w++ = '"';
        if (a->is_int) {
            w = LIT(w, ",\"value\":{\"intValue\":\"");
            if (a->ival < 0)
                *w++ = '-';
            w = wdn_u64_write(w, a->ival < 0 ? (uint64_t)0 - (uint64_t)a->ival : (uint64_t)a->ival);
            w = LIT(w, "\"}}");
        } else {
            w = LIT(w, ",\"value\":{\"stringValue\":");
            w = wdn_json_str_write(w, (struct wdn_str){s->text + a->off, a->len});
            w = LIT(w, "}}");
        }
    }
    w = LIT(w, "],\"status\":{\"code\":");
    w = wdn_u64_write(w, s->status);
    w = LIT(w, "}}");
    return w;
}

/* A resource or scope attribute through the buffer's own checks (once per request body). */
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

int wdn_otlp_encode(struct wdn_buf *out, const char *service_name, const char *scope_name,
                    const struct wdn_span *spans, size_t n)
{
    struct id_cache ids = {.nspan = 0};
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
        rc = wdn_buf_reserve(out, span_bound(&spans[i]) + 1);
        if (rc)
            break;
        char *w = out->data + out->len;
        if (i)
            *w++ = ',';
        out->len = (size_t)(put_span(w, &ids, &spans[i]) - out->data);
        out->data[out->len] = '\0';
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
