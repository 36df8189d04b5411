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

/* ,"key":"value" for a non-empty value, cut to the field limit (never inside a UTF-8
 * sequence). */
static int put_str(struct wdn_buf *b, const char *key, struct wdn_str v, bool *cut)
{
    int rc;

    if (v.len == 0)
        return 0;
    if (v.len > WDN_AUDIT_MAX_FIELD_BYTES) {
        v.len = WDN_AUDIT_MAX_FIELD_BYTES;
        while (v.len > 0 && ((unsigned char)v.p[v.len] & 0xc0) == 0x80)
            v.len--;
        *cut = true;
    }
    rc = wdn_buf_printf(b, ",\"%s\":", key);
    if (rc == 0)
        rc = wdn_buf_append_json_str(b, v);
    return rc;
}

static int put_cstr(struct wdn_buf *b, const char *key, const char *v, bool *cut)
{
    return put_str(b, key, wdn_str_from_cstr(v), cut);
}

int wdn__audit_body(const struct wdn_audit_event *ev, bool record_args, struct wdn_buf *b)
{
    const char *kind = wdn_audit_kind_name(ev->kind);
    bool cut = false;
    char hex[65];
    int rc;

    rc = wdn_buf_printf(b, "\"kind\":\"%s\",\"decision\":\"%s\"", kind ? kind : "unknown",
                        ev->allowed ? "allow" : "deny");
    if (rc == 0)
        rc = put_cstr(b, "reason", ev->reason, &cut);
    if (rc == 0 && ev->status)
        rc = wdn_buf_printf(b, ",\"status\":%d", ev->status);
    if (rc == 0)
        rc = put_cstr(b, "caller", ev->caller, &cut);
    if (rc == 0)
        rc = put_cstr(b, "iss", ev->iss, &cut);
    if (rc == 0)
        rc = put_cstr(b, "sub", ev->sub, &cut);
    if (rc == 0)
        rc = put_cstr(b, "client_id", ev->client_id, &cut);
    if (rc == 0)
        rc = put_cstr(b, "jti", ev->jti, &cut);
    if (rc == 0)
        rc = put_str(b, "verb", ev->verb, &cut);
    if (rc == 0)
        rc = put_str(b, "path", ev->path, &cut);
    if (rc == 0)
        rc = put_str(b, "rpc", ev->rpc, &cut);
    if (rc == 0)
        rc = put_str(b, "tool", ev->tool, &cut);
    if (rc == 0 && ev->args.len) {
        unsigned char digest[32];
        rc = wdn_jose_sha256(ev->args.p, ev->args.len, digest);
        if (rc == 0) {
            wdn_hex_encode(digest, 32, hex);
            rc = wdn_buf_printf(b, ",\"args_sha256\":\"%s\"", hex);
        }
        /* The arguments themselves go in as JSON text, not as a JSON value: the record stays
         * well-formed whatever the caller passed, and the hash is of exactly these bytes. */
        if (rc == 0 && record_args) {
            struct wdn_str a = ev->args;
            if (a.len > WDN_AUDIT_MAX_ARGS_BYTES) {
                a.len = WDN_AUDIT_MAX_ARGS_BYTES;
                while (a.len > 0 && ((unsigned char)a.p[a.len] & 0xc0) == 0x80)
                    a.len--;
                cut = true;
            }
            rc = wdn_buf_append_cstr(b, ",\"args\":");
            if (rc == 0)
                rc = wdn_buf_append_json_str(b, a);
        }
    }
    if (rc == 0 && ev->generation)
        rc = wdn_buf_printf(b, ",\"generation\":%llu", (unsigned long long)ev->generation);
    if (rc == 0 && ev->trace_id) {
        wdn_hex_encode(ev->trace_id, 16, hex);
        rc = wdn_buf_printf(b, ",\"trace_id\":\"%s\"", hex);
    }
    if (rc == 0 && cut)
        rc = wdn_buf_append_cstr(b, ",\"truncated\":true");
    return rc;
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
    char ts[32];
    int rc;

    wdn__audit_time(time_ns, ts);
    rc = wdn_buf_printf(out, "{\"seq\":%llu,\"time\":\"%s\",\"app_id\":", (unsigned long long)seq,
                        ts);
    if (rc == 0)
        rc = wdn_buf_append_json_str(out, wdn_str_from_cstr(app_id));
    if (rc == 0)
        rc = wdn_buf_append(out, ",", 1);
    if (rc == 0)
        rc = wdn_buf_append(out, body.p, body.len);
    if (rc == 0)
        rc = wdn_buf_printf(out, ",\"prev\":\"%s\"}\n", prev_hex);
    return rc;
}

int wdn__audit_hash(struct wdn_str line, char *hex)
{
    unsigned char digest[32];
    int rc = wdn_jose_sha256(line.p, line.len, digest);

    if (rc == 0)
        wdn_hex_encode(digest, 32, hex);
    return rc;
}
