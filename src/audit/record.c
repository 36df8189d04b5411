/* Records: an event is queued by the request thread as an entry (its fields and the bytes of its
 * strings, copied as they are: no formatting, escaping or hashing there), and formatted by the
 * writer thread into a JSON line with its sequence number, time, app ID and the previous
 * record's hash. Field order is fixed, so equal entries give equal lines. */
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

/* The record's key of each string of an entry. */
static const char *const str_keys[WDN__AUDIT_S_COUNT] = {
    [WDN__AUDIT_S_REASON] = "reason",
    [WDN__AUDIT_S_CALLER] = "caller",
    [WDN__AUDIT_S_ISS] = "iss",
    [WDN__AUDIT_S_SUB] = "sub",
    [WDN__AUDIT_S_CLIENT_ID] = "client_id",
    [WDN__AUDIT_S_JTI] = "jti",
    [WDN__AUDIT_S_VERB] = "verb",
    [WDN__AUDIT_S_PATH] = "path",
    [WDN__AUDIT_S_RPC] = "rpc",
    [WDN__AUDIT_S_TOOL] = "tool",
    [WDN__AUDIT_S_ARGS] = "args",
};

const char *wdn_audit_kind_name(enum wdn_audit_kind k)
{
    return (unsigned)k < WDN_AUDIT_KIND_COUNT ? kind_names[k] : NULL;
}

/* ---- The request thread: an event into its entry -------------------------------------------- */

/* How many bytes of v to keep: at most max, never ending inside a UTF-8 sequence. */
static size_t cut_len(struct wdn_str v, size_t max)
{
    size_t n = v.len;

    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)v.p[n] & 0xc0) == 0x80)
            n--;
    }
    return n;
}

/* The event's strings in entry order (args last). */
static void event_strs(const struct wdn_audit_event *ev, struct wdn_str *s)
{
    s[WDN__AUDIT_S_REASON] = wdn_str_from_cstr(ev->reason);
    s[WDN__AUDIT_S_CALLER] = wdn_str_from_cstr(ev->caller);
    s[WDN__AUDIT_S_ISS] = wdn_str_from_cstr(ev->iss);
    s[WDN__AUDIT_S_SUB] = wdn_str_from_cstr(ev->sub);
    s[WDN__AUDIT_S_CLIENT_ID] = wdn_str_from_cstr(ev->client_id);
    s[WDN__AUDIT_S_JTI] = wdn_str_from_cstr(ev->jti);
    s[WDN__AUDIT_S_VERB] = ev->verb;
    s[WDN__AUDIT_S_PATH] = ev->path;
    s[WDN__AUDIT_S_RPC] = ev->rpc;
    s[WDN__AUDIT_S_TOOL] = ev->tool;
    s[WDN__AUDIT_S_ARGS] = ev->args;
}

/* The bytes of the arguments an entry holds: all of them when they fit (the writer hashes
 * them), else a prefix when they are to be recorded, else none. */
static size_t args_kept(struct wdn_str args, bool record_args)
{
    if (args.len <= WDN_AUDIT_MAX_ARGS_BYTES)
        return args.len;
    return record_args ? cut_len(args, WDN_AUDIT_MAX_ARGS_BYTES) : 0;
}

size_t wdn__audit_entry_prepare(const struct wdn_audit_event *ev, bool record_args,
                                struct wdn__audit_prep *p)
{
    size_t n = sizeof(struct wdn__audit_entry);

    event_strs(ev, p->s);
    p->cut = false;
    for (int i = 0; i < WDN__AUDIT_S_ARGS; i++) {
        size_t k = cut_len(p->s[i], WDN_AUDIT_MAX_FIELD_BYTES);
        p->cut |= k < p->s[i].len;
        p->s[i].len = k;
        n += k;
    }
    p->args_hashed = false;
    if (ev->args.len > WDN_AUDIT_MAX_ARGS_BYTES) {
        /* Too long to queue: hashed here (the hash covers all of them, as always). */
        p->args_hashed = wdn_jose_sha256(ev->args.p, ev->args.len, p->args_sha256) == 0;
        p->cut |= record_args;
    }
    p->s[WDN__AUDIT_S_ARGS].len = args_kept(ev->args, record_args);
    return n + p->s[WDN__AUDIT_S_ARGS].len;
}

void wdn__audit_entry_fill(struct wdn__audit_entry *e, const struct wdn_audit_event *ev,
                           const struct wdn__audit_prep *p, bool record_args, uint64_t time_ns)
{
    char *w = (char *)(e + 1);

    memset(e, 0, sizeof(*e));
    e->kind = (uint8_t)ev->kind;
    e->allowed = ev->allowed;
    e->status = ev->status > 0 && ev->status < 1000 ? (uint16_t)ev->status : 0;
    e->time_ns = time_ns;
    e->generation = ev->generation;
    e->record_args = record_args;
    e->cut = p->cut;
    if (ev->trace_id) {
        memcpy(e->trace_id, ev->trace_id, 16);
        e->has_trace = true;
    }
    if (p->args_hashed) {
        memcpy(e->args_sha256, p->args_sha256, sizeof(e->args_sha256));
        e->args_hashed = true;
    }
    for (int i = 0; i < WDN__AUDIT_S_COUNT; i++) {
        e->len[i] = (uint32_t)p->s[i].len;
        if (p->s[i].len)
            memcpy(w, p->s[i].p, p->s[i].len);
        w += p->s[i].len;
    }
}

/* ---- The writer thread: an entry into its line ---------------------------------------------- */

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

#define LIT(w, s) (memcpy((w), (s), sizeof(s) - 1), (w) + sizeof(s) - 1)

/* The strings of e (pointers into the entry), and whether each goes into the line. */
static void entry_strs(const struct wdn__audit_entry *e, struct wdn_str *s)
{
    const char *p = (const char *)(e + 1);

    for (int i = 0; i < WDN__AUDIT_S_COUNT; i++) {
        s[i] = (struct wdn_str){p, e->len[i]};
        p += e->len[i];
    }
}

static bool args_in_line(const struct wdn__audit_entry *e)
{
    return e->record_args && e->len[WDN__AUDIT_S_ARGS] > 0;
}

/* Frame, app ID and the fixed-size fields; strings are added by the caller. */
#define LINE_FIXED 512

size_t wdn__audit_line_max(struct wdn_str app_id, const struct wdn__audit_entry *e)
{
    struct wdn_str s[WDN__AUDIT_S_COUNT];
    size_t n = LINE_FIXED + WDN_JSON_STR_MAX(app_id.len);

    entry_strs(e, s);
    for (int i = 0; i < WDN__AUDIT_S_COUNT; i++)
        if (s[i].len && (i != WDN__AUDIT_S_ARGS || args_in_line(e)))
            n += 16 + WDN_JSON_STR_MAX(s[i].len);
    if (n <= WDN_AUDIT_MAX_RECORD_BYTES)
        return n;
    /* Escaping at worst would pass the limit: what these strings really take. */
    n = LINE_FIXED + wdn_json_str_len(app_id);
    for (int i = 0; i < WDN__AUDIT_S_COUNT; i++)
        if (s[i].len && (i != WDN__AUDIT_S_ARGS || args_in_line(e)))
            n += 16 + wdn_json_str_len(s[i]);
    return n;
}

int wdn__audit_line(struct wdn_buf *out, uint64_t seq, struct wdn_str app_id,
                    const struct wdn__audit_entry *e, const char *prev_hex, size_t max)
{
    /* The calendar part changes once a second: formatted then, not per record. */
    static __thread uint64_t cached_sec = UINT64_MAX;
    static __thread char cached[32];
    struct wdn_str s[WDN__AUDIT_S_COUNT];
    const char *kind = wdn_audit_kind_name((enum wdn_audit_kind)e->kind);
    bool verdict = e->kind != WDN_AUDIT_START && e->kind != WDN_AUDIT_DROPPED;
    char *w;
    int rc;

    if (max > WDN_AUDIT_MAX_RECORD_BYTES)
        return WDN_ELIMIT;
    rc = wdn_buf_reserve(out, max);
    if (rc)
        return rc;
    entry_strs(e, s);
    if (e->time_ns / 1000000000u != cached_sec) {
        wdn__audit_time(e->time_ns, cached);
        cached_sec = e->time_ns / 1000000000u;
    }
    w = out->data + out->len;
    w = LIT(w, "{\"seq\":");
    w = wdn_u64_write(w, seq);
    w = LIT(w, ",\"time\":\"");
    memcpy(w, cached, 20); /* "2026-11-01T10:00:00." */
    uint64_t us = e->time_ns % 1000000000u / 1000u;
    for (int i = 25; i >= 20; i--, us /= 10)
        w[i] = (char)('0' + us % 10);
    w[26] = 'Z';
    w += 27;
    w = LIT(w, "\",\"app_id\":");
    w = wdn_json_str_write(w, app_id);
    w = LIT(w, ",\"kind\":");
    w = wdn_json_str_write(w, wdn_str_from_cstr(kind ? kind : "unknown"));
    if (!verdict)
        w = LIT(w, ",\"decision\":\"none\"");
    else if (e->allowed)
        w = LIT(w, ",\"decision\":\"allow\"");
    else
        w = LIT(w, ",\"decision\":\"deny\"");
    for (int i = 0; i < WDN__AUDIT_S_ARGS; i++) {
        if (i == WDN__AUDIT_S_CALLER && e->status) {
            /* status: after the reason, before the caller */
            w = LIT(w, ",\"status\":");
            w = wdn_u64_write(w, e->status);
        }
        if (s[i].len == 0)
            continue;
        *w++ = ',';
        *w++ = '"';
        size_t k = strlen(str_keys[i]);
        memcpy(w, str_keys[i], k);
        w += k;
        *w++ = '"';
        *w++ = ':';
        w = wdn_json_str_write(w, s[i]);
    }
    if (e->args_hashed || s[WDN__AUDIT_S_ARGS].len) {
        unsigned char digest[32];
        const unsigned char *h = e->args_sha256;
        if (!e->args_hashed) {
            /* The writer hashes what the request thread queued whole. */
            rc = wdn_jose_sha256(s[WDN__AUDIT_S_ARGS].p, s[WDN__AUDIT_S_ARGS].len, digest);
            if (rc)
                return rc;
            h = digest;
        }
        w = LIT(w, ",\"args_sha256\":\"");
        wdn_hex_encode(h, 32, w);
        w += 64;
        *w++ = '"';
        /* The arguments themselves go in as JSON text, not as a JSON value: the record stays
         * well-formed whatever the caller passed, and the hash is of exactly these bytes. */
        if (args_in_line(e)) {
            w = LIT(w, ",\"args\":");
            w = wdn_json_str_write(w, s[WDN__AUDIT_S_ARGS]);
        }
    }
    if (e->generation) {
        w = LIT(w, ",\"generation\":");
        w = wdn_u64_write(w, e->generation);
    }
    if (e->has_trace) {
        w = LIT(w, ",\"trace_id\":\"");
        wdn_hex_encode(e->trace_id, 16, w);
        w += 32;
        *w++ = '"';
    }
    if (e->cut)
        w = LIT(w, ",\"truncated\":true");
    if (e->kind == WDN_AUDIT_DROPPED) {
        w = LIT(w, ",\"count\":");
        w = wdn_u64_write(w, e->count);
    } else if (e->kind == WDN_AUDIT_START) {
        w = LIT(w, ",\"version\":\"" WDN_VERSION "\"");
    }
    w = LIT(w, ",\"prev\":\"");
    memcpy(w, prev_hex, 64);
    w += 64;
    w = LIT(w, "\"}\n");
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
