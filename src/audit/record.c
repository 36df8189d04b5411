/* Record formatting: the body is built on the request thread from borrowed event fields (the
 * only copy the request path makes); the writer thread wraps it into a line with its sequence
 * number, time, app ID and the previous record's hash. Field order is fixed, so equal events
 * give equal lines. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/internal.h"
#include "base/error.h"
#include "base/limits.h"
#include "jose/crypto.h"

static const char *const kind_names[] = {
#define WDN__AUDIT_KIND_NAME(name, value, text) [value] = text,
    WDN_AUDIT_KIND_TABLE(WDN__AUDIT_KIND_NAME)
#undef WDN__AUDIT_KIND_NAME
};

const char *wdn_audit_kind_name(enum wdn_audit_kind k)
{
    return (unsigned)k < WDN_AUDIT_KIND_COUNT ? kind_names[k] : NULL;
}

/* A body is a list of fields, measured, then written in one go (request threads build it: no
 * printf, one reservation). */
enum { F_STR, F_NUM, F_HEX, F_LIT };

struct field {
    int type;
    const char *key;  /* F_LIT: the text itself */
    struct wdn_str v; /* F_STR: the value; F_HEX: the bytes */
    uint64_t n;       /* F_NUM */
};

/* Cuts v to max bytes, never inside a UTF-8 sequence. */
static struct wdn_str cut_to(struct wdn_str v, size_t max, bool *cut)
{
    if (v.len > max) {
        v.len = max;
        while (v.len > 0 && ((unsigned char)v.p[v.len] & 0xc0) == 0x80)
            v.len--;
        *cut = true;
    }
    return v;
}

static char *put_u64(char *w, uint64_t v)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(w, tmp + sizeof(tmp) - n, n);
    return w + n;
}

/* Appends the fields: ,"key":value each (the first without its comma). */
static int put_fields(struct wdn_buf *b, const struct field *f, size_t n)
{
    size_t worst = 0;
    char *w;
    int rc;

    for (size_t i = 0; i < n; i++)
        worst += strlen(f[i].key) + 6 +
                 (f[i].type == F_STR   ? WDN_JSON_STR_MAX(f[i].v.len)
                  : f[i].type == F_HEX ? 2 * f[i].v.len + 2
                                       : 20);
    rc = wdn_buf_reserve(b, worst);
    if (rc == WDN_ELIMIT) {
        /* Near the record's limit: what the strings really take. */
        worst = 0;
        for (size_t i = 0; i < n; i++)
            worst += strlen(f[i].key) + 6 +
                     (f[i].type == F_STR   ? wdn_json_str_len(f[i].v)
                      : f[i].type == F_HEX ? 2 * f[i].v.len + 2
                                           : 20);
        rc = wdn_buf_reserve(b, worst);
    }
    if (rc)
        return rc;
    w = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(f[i].key);
        if (f[i].type == F_LIT) {
            memcpy(w, f[i].key, k);
            w += k;
            continue;
        }
        if (i)
            *w++ = ',';
        *w++ = '"';
        memcpy(w, f[i].key, k);
        w += k;
        *w++ = '"';
        *w++ = ':';
        if (f[i].type == F_STR) {
            w = wdn_json_str_write(w, f[i].v);
        } else if (f[i].type == F_NUM) {
            w = put_u64(w, f[i].n);
        } else {
            *w++ = '"';
            wdn_hex_encode(f[i].v.p, f[i].v.len, w);
            w += 2 * f[i].v.len;
            *w++ = '"';
        }
    }
    b->len = (size_t)(w - b->data);
    b->data[b->len] = '\0';
    return 0;
}

int wdn__audit_body(const struct wdn_audit_event *ev, bool record_args, struct wdn_buf *b)
{
    const char *kind = wdn_audit_kind_name(ev->kind);
    struct field f[24];
    unsigned char digest[32];
    size_t n = 0;
    bool cut = false;
    int rc;

#define STR(k, s)                                                                                  \
    do {                                                                                           \
        struct wdn_str v_ = (s);                                                                   \
        if (v_.len)                                                                                \
            f[n++] = (struct field){F_STR, k, cut_to(v_, WDN_AUDIT_MAX_FIELD_BYTES, &cut), 0};     \
    } while (0)
    f[n++] = (struct field){F_STR, "kind", wdn_str_from_cstr(kind ? kind : "unknown"), 0};
    f[n++] = (struct field){F_STR, "decision", ev->allowed ? WDN_STR("allow") : WDN_STR("deny"), 0};
    STR("reason", wdn_str_from_cstr(ev->reason));
    if (ev->status > 0)
        f[n++] = (struct field){F_NUM, "status", {NULL, 0}, (uint64_t)ev->status};
    STR("caller", wdn_str_from_cstr(ev->caller));
    STR("iss", wdn_str_from_cstr(ev->iss));
    STR("sub", wdn_str_from_cstr(ev->sub));
    STR("client_id", wdn_str_from_cstr(ev->client_id));
    STR("jti", wdn_str_from_cstr(ev->jti));
    STR("verb", ev->verb);
    STR("path", ev->path);
    STR("rpc", ev->rpc);
    STR("tool", ev->tool);
#undef STR
    if (ev->args.len) {
        rc = wdn_jose_sha256(ev->args.p, ev->args.len, digest);
        if (rc)
            return rc;
        f[n++] = (struct field){F_HEX, "args_sha256", {(const char *)digest, 32}, 0};
        /* The arguments themselves go in as JSON text, not as a JSON value: the record stays
         * well-formed whatever the caller passed, and the hash is of exactly these bytes. */
        if (record_args)
            f[n++] =
                (struct field){F_STR, "args", cut_to(ev->args, WDN_AUDIT_MAX_ARGS_BYTES, &cut), 0};
    }
    if (ev->generation)
        f[n++] = (struct field){F_NUM, "generation", {NULL, 0}, ev->generation};
    if (ev->trace_id)
        f[n++] = (struct field){F_HEX, "trace_id", {(const char *)ev->trace_id, 16}, 0};
    if (cut)
        f[n++] = (struct field){F_LIT, ",\"truncated\":true", {NULL, 0}, 0};
    return put_fields(b, f, n);
}

void wdn__audit_time(uint64_t unix_ns, char *out)
{
    time_t secs = (time_t)(unix_ns / 1000000000u);
    struct tm tm;

    /* strftime for the calendar part: gcc's format-truncation check sees tm's fields as full
     * ints and refuses a 32-byte snprintf of them in the release build. */
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06uZ", (unsigned)(unix_ns % 1000000000u / 1000u));
}

int wdn__audit_line(struct wdn_buf *out, uint64_t seq, uint64_t time_ns, const char *app_id,
                    struct wdn_str body, const char *prev_hex)
{
    /* The calendar part changes once a second: formatted then, not per record. */
    static __thread uint64_t cached_sec = UINT64_MAX;
    static __thread char cached[32];
    struct wdn_str app = wdn_str_from_cstr(app_id);
    char *w;
    int rc;

    if (time_ns / 1000000000u != cached_sec) {
        wdn__audit_time(time_ns, cached);
        cached_sec = time_ns / 1000000000u;
    }
    rc = wdn_buf_reserve(out, 200 + WDN_JSON_STR_MAX(app.len) + body.len);
    if (rc)
        return rc;
    w = out->data + out->len;
    memcpy(w, "{\"seq\":", 7);
    w = put_u64(w + 7, seq);
    memcpy(w, ",\"time\":\"", 9);
    w += 9;
    memcpy(w, cached, 20); /* "2026-11-01T10:00:00." */
    uint64_t us = time_ns % 1000000000u / 1000u;
    for (int i = 25; i >= 20; i--, us /= 10)
        w[i] = (char)('0' + us % 10);
    w[26] = 'Z';
    w += 27;
    memcpy(w, "\",\"app_id\":", 11);
    w = wdn_json_str_write(w + 11, app);
    *w++ = ',';
    memcpy(w, body.p, body.len);
    w += body.len;
    memcpy(w, ",\"prev\":\"", 9);
    memcpy(w + 9, prev_hex, 64);
    memcpy(w + 73, "\"}\n", 3);
    w += 76;
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int wdn__audit_hash(struct wdn_str line, char *hex)
{
    unsigned char digest[32];
    int rc = wdn_jose_sha256(line.p, line.len, digest);

    if (rc == 0)
        wdn_hex_encode(digest, 32, hex);
    return rc;
}
