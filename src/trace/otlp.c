/* OTLP/HTTP in protobuf, the encoding OTLP/HTTP exporters send by default (and Dapr's "http"
 * protocol): spans encoded as an ExportTraceServiceRequest (opentelemetry-proto's
 * collector/trace/v1 and trace/v1 messages) and the receiver's ExportTraceServiceResponse read
 * back. Both run on the exporter's thread, never on a request's. IDs go out as their bytes and
 * times as fixed64: nothing to format, a third of the bytes of the JSON encoding. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "trace/span.h"

/* Protobuf wire types. */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* ---- Sizes ---------------------------------------------------------------------------------- */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A field's tag: fields below 16 take one byte, the others here (Span.flags) two. */
static size_t tag_len(unsigned field)
{
    return field < 16 ? 1 : 2;
}

/* A length-delimited field holding n bytes. */
static size_t len_field(unsigned field, size_t n)
{
    return tag_len(field) + varint_len(n) + n;
}

/* Protobuf strings must be valid UTF-8 (receivers refuse others): every byte that is not part
 * of a valid sequence becomes U+FFFD (3 bytes). */
static size_t clean_len_slow(struct wdn_str s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t n = 0, i = 0;

    while (i < s.len) {
        size_t k = p[i] < 0x80 ? 1 : wdn_utf8_seq_len(p + i, s.len - i);
        if (k) {
            i += k, n += k;
        } else {
            i++, n += 3;
        }
    }
    return n;
}

/* The cleaned length of s: plain ASCII, the common case, is seen eight bytes at a time. */
static size_t clean_len(struct wdn_str s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    uint64_t acc = 0;
    size_t i = 0;

    for (; i + 8 <= s.len; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        acc |= v;
    }
    for (; i < s.len; i++)
        acc |= p[i];
    return acc & 0x8080808080808080u ? clean_len_slow(s) : s.len;
}

static bool is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static struct wdn_str attr_text(const struct wdn_span *s, const struct wdn_span_attr *a)
{
    return (struct wdn_str){s->text + a->off, a->len};
}

/* The sizes of a span's parts, measured once and then written. */
struct span_sizes {
    size_t span;                       /* the Span message */
    size_t name;                       /* its name, cleaned */
    size_t key[WDN_TRACE_MAX_ATTRS];   /* each attribute's key */
    size_t value[WDN_TRACE_MAX_ATTRS]; /* each attribute's AnyValue message */
    size_t kv[WDN_TRACE_MAX_ATTRS];    /* each attribute's KeyValue message */
    size_t text[WDN_TRACE_MAX_ATTRS];  /* each string attribute's value, cleaned */
};

static void measure(const struct wdn_span *s, struct span_sizes *z)
{
    size_t n = len_field(1, 16) + len_field(2, 8);

    if (!is_zero(s->parent_id, 8))
        n += len_field(4, 8);
    z->name = clean_len((struct wdn_str){s->text, s->name_len});
    n += len_field(5, z->name);
    n += tag_len(6) + varint_len(s->kind);
    n += 2 * (tag_len(7) + 8);
    for (unsigned i = 0; i < s->nattrs; i++) {
        const struct wdn_span_attr *a = &s->attrs[i];
        z->key[i] = strlen(a->key);
        if (a->is_int) {
            z->value[i] = tag_len(3) + varint_len((uint64_t)a->ival);
        } else {
            z->text[i] = clean_len(attr_text(s, a));
            z->value[i] = len_field(1, z->text[i]);
        }
        z->kv[i] = len_field(1, z->key[i]) + len_field(2, z->value[i]);
        n += len_field(9, z->kv[i]);
    }
    if (s->status)
        n += len_field(15, tag_len(3) + varint_len(s->status));
    if (s->flags)
        n += tag_len(16) + 4;
    z->span = n;
}

/* A resource or scope attribute with a string value (KeyValue). */
static size_t kv_str_len(const char *key, struct wdn_str v)
{
    return len_field(1, strlen(key)) + len_field(2, len_field(1, clean_len(v)));
}

/* ---- Writing -------------------------------------------------------------------------------- */

static char *put_varint(char *w, uint64_t v)
{
    while (v >= 0x80) {
        *w++ = (char)(v | 0x80);
        v >>= 7;
    }
    *w++ = (char)v;
    return w;
}

static char *put_tag(char *w, unsigned field, unsigned wire)
{
    return put_varint(w, (uint64_t)field << 3 | wire);
}

static char *put_len(char *w, unsigned field, size_t n)
{
    return put_varint(put_tag(w, field, WT_LEN), n);
}

static char *put_bytes(char *w, unsigned field, const void *p, size_t n)
{
    w = put_len(w, field, n);
    memcpy(w, p, n);
    return w + n;
}

/* A string field of clean (its cleaned length): valid UTF-8 as it is, U+FFFD for the rest. */
static char *put_clean(char *w, unsigned field, struct wdn_str s, size_t clean)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0;

    w = put_len(w, field, clean);
    if (clean == s.len) { /* nothing to replace: every byte was part of a valid sequence */
        memcpy(w, s.p, s.len);
        return w + s.len;
    }
    while (i < s.len) {
        size_t k = p[i] < 0x80 ? 1 : wdn_utf8_seq_len(p + i, s.len - i);
        if (k) {
            memcpy(w, p + i, k);
            w += k, i += k;
        } else {
            memcpy(w, "\xef\xbf\xbd", 3);
            w += 3, i++;
        }
    }
    return w;
}

/* Little-endian, as protobuf's fixed64 and fixed32 are. */
static char *put_fixed(char *w, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++, v >>= 8)
        *w++ = (char)(v & 0xff);
    return w;
}

static char *put_kv_str(char *w, unsigned field, const char *key, struct wdn_str v)
{
    size_t clean = clean_len(v);

    w = put_len(w, field, kv_str_len(key, v));
    w = put_bytes(w, 1, key, strlen(key));
    w = put_len(w, 2, len_field(1, clean));
    return put_clean(w, 1, v, clean);
}

/* ScopeSpans.spans: one Span. */
static char *put_span(char *w, const struct wdn_span *s, const struct span_sizes *z)
{
    w = put_len(w, 2, z->span);
    w = put_bytes(w, 1, s->trace_id, 16);
    w = put_bytes(w, 2, s->span_id, 8);
    if (!is_zero(s->parent_id, 8))
        w = put_bytes(w, 4, s->parent_id, 8);
    w = put_clean(w, 5, (struct wdn_str){s->text, s->name_len}, z->name);
    w = put_tag(w, 6, WT_VARINT);
    w = put_varint(w, s->kind);
    w = put_tag(w, 7, WT_I64);
    w = put_fixed(w, s->start_ns, 8);
    w = put_tag(w, 8, WT_I64);
    w = put_fixed(w, s->end_ns ? s->end_ns : s->start_ns, 8);
    for (unsigned i = 0; i < s->nattrs; i++) {
        const struct wdn_span_attr *a = &s->attrs[i];
        w = put_len(w, 9, z->kv[i]);
        w = put_bytes(w, 1, a->key, z->key[i]);
        w = put_len(w, 2, z->value[i]);
        if (a->is_int) {
            w = put_tag(w, 3, WT_VARINT);
            w = put_varint(w, (uint64_t)a->ival); /* int64: a negative one takes ten bytes */
        } else {
            w = put_clean(w, 1, attr_text(s, a), z->text[i]);
        }
    }
    if (s->status) {
        w = put_len(w, 15, tag_len(3) + varint_len(s->status));
        w = put_tag(w, 3, WT_VARINT);
        w = put_varint(w, s->status);
    }
    if (s->flags) {
        w = put_tag(w, 16, WT_I32);
        w = put_fixed(w, s->flags, 4);
    }
    return w;
}

/* The resource's attributes, in order. */
#define RESOURCE_ATTRS(X, service)                                                                 \
    X("service.name", wdn_str_from_cstr(service))                                                  \
    X("telemetry.sdk.name", WDN_STR("warden"))                                                     \
    X("telemetry.sdk.language", WDN_STR("c"))                                                      \
    X("telemetry.sdk.version", WDN_STR(WDN_VERSION))

int wdn_otlp_encode(struct wdn_buf *out, const char *service_name, const char *scope_name,
                    const struct wdn_span *spans, size_t n)
{
    struct wdn_str scope = wdn_str_from_cstr(scope_name ? scope_name : "warden");
    size_t resource = 0, scope_msg, scope_spans, resource_spans, scope_clean = clean_len(scope);
    /* Every span is measured once, for the lengths around it and then to write it. */
    struct span_sizes *z = n ? malloc(n * sizeof(*z)) : NULL;
    char *w;
    int rc;

    if (n && z == NULL)
        return WDN_ENOMEM;
#define WDN__ATTR_LEN(k, v) resource += len_field(1, kv_str_len(k, v));
    RESOURCE_ATTRS(WDN__ATTR_LEN, service_name)
#undef WDN__ATTR_LEN
    scope_msg = len_field(1, scope_clean) + len_field(2, strlen(WDN_VERSION));
    scope_spans = len_field(1, scope_msg);
    for (size_t i = 0; i < n; i++) {
        measure(&spans[i], &z[i]);
        scope_spans += len_field(2, z[i].span);
    }
    resource_spans = len_field(1, resource) + len_field(2, scope_spans);
    rc = wdn_buf_reserve(out, len_field(1, resource_spans));
    if (rc) {
        free(z);
        return rc;
    }
    w = out->data + out->len;
    w = put_len(w, 1, resource_spans); /* ExportTraceServiceRequest.resource_spans */
    w = put_len(w, 1, resource);       /* ResourceSpans.resource */
#define WDN__ATTR_PUT(k, v) w = put_kv_str(w, 1, k, v);
    RESOURCE_ATTRS(WDN__ATTR_PUT, service_name)
#undef WDN__ATTR_PUT
    w = put_len(w, 2, scope_spans); /* ResourceSpans.scope_spans */
    w = put_len(w, 1, scope_msg);   /* ScopeSpans.scope */
    w = put_clean(w, 1, scope, scope_clean);
    w = put_bytes(w, 2, WDN_VERSION, strlen(WDN_VERSION));
    for (size_t i = 0; i < n; i++)
        w = put_span(w, &spans[i], &z[i]);
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
    free(z);
    return 0;
}

/* ---- The receiver's answer ------------------------------------------------------------------ */

/* Reads a varint at *p (before end). 0 or WDN_EPARSE. */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return WDN_EPARSE;
}

/* Steps over one field's value of wire type wt. 0 or WDN_EPARSE. */
static int skip_field(const uint8_t **p, const uint8_t *end, unsigned wt)
{
    uint64_t n;

    switch (wt) {
    case WT_VARINT:
        return get_varint(p, end, &n);
    case WT_I64:
        n = 8;
        break;
    case WT_I32:
        n = 4;
        break;
    case WT_LEN:
        if (get_varint(p, end, &n) != 0)
            return WDN_EPARSE;
        break;
    default:
        return WDN_EPARSE; /* groups, and wire types protobuf does not have */
    }
    if (n > (uint64_t)(end - *p))
        return WDN_EPARSE;
    *p += n;
    return 0;
}

int wdn_otlp_parse_response(const void *body, size_t len, uint64_t *rejected)
{
    const uint8_t *p = body, *end = p + len;
    uint64_t key, n;

    *rejected = 0;
    while (p < end) {
        if (get_varint(&p, end, &key) != 0)
            return WDN_EPARSE;
        if (key != (1 << 3 | WT_LEN)) {
            if (skip_field(&p, end, (unsigned)(key & 7)) != 0)
                return WDN_EPARSE;
            continue;
        }
        /* partial_success: ExportTracePartialSuccess */
        if (get_varint(&p, end, &n) != 0 || n > (uint64_t)(end - p))
            return WDN_EPARSE;
        const uint8_t *q = p, *qend = p + n;
        p = qend;
        while (q < qend) {
            if (get_varint(&q, qend, &key) != 0)
                return WDN_EPARSE;
            if (key == (1 << 3 | WT_VARINT)) { /* rejected_spans, an int64 */
                if (get_varint(&q, qend, &n) != 0)
                    return WDN_EPARSE;
                *rejected = (int64_t)n > 0 ? n : 0;
            } else if (skip_field(&q, qend, (unsigned)(key & 7)) != 0) {
                return WDN_EPARSE;
            }
        }
    }
    return 0;
}
