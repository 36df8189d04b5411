/* Reading audit records back: `warden audit verify` walks the hash chain and names the first
 * record that breaks it; `warden audit query` filters records. Both read files whole lines at a
 * time with a bounded buffer (a line longer than a record may be is a broken record, never an
 * allocation) and take the files in the order of their first record's seq, so that a shell
 * glob's order (audit.log audit.log.1 audit.log.2) does not matter. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/internal.h"
#include "base/error.h"
#include "base/limits.h"

/* One line of a file: len bytes at buf (no newline), or too_long. */
struct reader {
    FILE *f;
    char *buf;
    size_t len;
    bool too_long;
    uint64_t lineno;
};

/* Reads the next line. 1 when there is one, 0 at the end, WDN_EIO on a read error. */
static int next_line(struct reader *r)
{
    const size_t cap = WDN_AUDIT_MAX_RECORD_BYTES + 2;

    if (fgets(r->buf, (int)cap, r->f) == NULL)
        return ferror(r->f) ? WDN_EIO : 0;
    r->lineno++;
    r->len = strlen(r->buf);
    r->too_long = false;
    if (r->len > 0 && r->buf[r->len - 1] == '\n') {
        r->len--;
    } else if (!feof(r->f)) {
        /* Longer than the buffer: skip to the end of the line. */
        int c;
        r->too_long = true;
        while ((c = getc(r->f)) != EOF && c != '\n')
            ;
    }
    if (r->len > WDN_AUDIT_MAX_RECORD_BYTES)
        r->too_long = true;
    return 1;
}

/* A record's seq and prev, read from a line. 0, or WDN_EPARSE with why. */
static int parse_record(const char *p, size_t n, json_t **out, uint64_t *seq, const char **prev,
                        const char **why)
{
    json_t *o = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL), *s, *pv;
    const char *h;

    *out = o;
    if (!json_is_object(o)) {
        *why = "is not a JSON record (cut short, a key twice, or not a record at all)";
        return WDN_EPARSE;
    }
    s = json_object_get(o, "seq");
    pv = json_object_get(o, "prev");
    if (!json_is_integer(s) || json_integer_value(s) < 1) {
        *why = "has no valid \"seq\"";
        return WDN_EPARSE;
    }
    h = json_string_value(pv);
    if (h == NULL || strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64) {
        *why = "has no valid \"prev\" hash";
        return WDN_EPARSE;
    }
    *seq = (uint64_t)json_integer_value(s);
    *prev = h;
    return 0;
}

struct infile {
    const char *path;
    uint64_t first_seq; /* 0 when the first line is not a record */
    size_t index;
};

static int by_first_seq(const void *a, const void *b)
{
    const struct infile *x = a, *y = b;
    if (x->first_seq != y->first_seq)
        return x->first_seq < y->first_seq ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The files in chain order. *out is malloc'd. */
static int order_files(const char *const *files, size_t n, char *buf, struct infile **out,
                       struct wdn_diag *d)
{
    struct infile *v;

    if (n > WDN_AUDIT_MAX_FILES)
        return wdn_diag_set(d, WDN_ELIMIT, "at most %u files at once", WDN_AUDIT_MAX_FILES);
    v = calloc(n ? n : 1, sizeof(*v));
    if (v == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct reader r = {.f = fopen(files[i], "r"), .buf = buf};
        json_t *o = NULL;
        const char *prev, *why;
        uint64_t seq;

        v[i].path = files[i];
        v[i].index = i;
        if (r.f == NULL) {
            int e = errno;
            free(v);
            return wdn_diag_set(d, WDN_EIO, "cannot read %s: %s", files[i], strerror(e));
        }
        if (next_line(&r) == 1 && !r.too_long &&
            parse_record(r.buf, r.len, &o, &seq, &prev, &why) == 0)
            v[i].first_seq = seq;
        json_decref(o);
        fclose(r.f);
    }
    qsort(v, n, sizeof(*v), by_first_seq);
    *out = v;
    return 0;
}

static void broken(struct wdn_audit_verify_result *r, const char *file, uint64_t line,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void broken(struct wdn_audit_verify_result *r, const char *file, uint64_t line,
                   const char *fmt, ...)
{
    va_list ap;

    r->ok = false;
    snprintf(r->file, sizeof(r->file), "%s", file);
    r->line = line;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
}

int wdn_audit_verify(const char *const *files, size_t n, struct wdn_audit_verify_result *r,
                     struct wdn_diag *d)
{
    char *buf = malloc(WDN_AUDIT_MAX_RECORD_BYTES + 2);
    struct infile *v = NULL;
    /* The record before the current one: its hash, seq and where it is. */
    char last_hash[65] = "";
    char last_file[4096] = "";
    uint64_t last_seq = 0, last_line = 0;
    bool any = false;
    int rc;

    memset(r, 0, sizeof(*r));
    r->ok = true;
    if (buf == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    rc = order_files(files, n, buf, &v, d);
    if (rc)
        goto out;
    for (size_t i = 0; i < n && r->ok; i++) {
        struct reader rd = {.f = fopen(v[i].path, "r"), .buf = buf};
        int more = 0;

        if (rd.f == NULL) {
            rc = wdn_diag_set(d, WDN_EIO, "cannot read %s: %s", v[i].path, strerror(errno));
            goto out;
        }
        r->files++;
        while (r->ok && (more = next_line(&rd)) == 1) {
            json_t *o = NULL;
            const char *prev = NULL, *why = NULL;
            uint64_t seq = 0;
            char hash[65];

            if (rd.too_long) {
                broken(r, v[i].path, rd.lineno,
                       "the line is longer than a record may be (%u bytes)",
                       WDN_AUDIT_MAX_RECORD_BYTES);
            } else if (parse_record(rd.buf, rd.len, &o, &seq, &prev, &why) != 0) {
                broken(r, v[i].path, rd.lineno, "the line %s", why);
            } else if (!any) {
                bool genesis = strcmp(prev, WDN__AUDIT_GENESIS) == 0;
                if (genesis && seq != 1)
                    broken(r, v[i].path, rd.lineno,
                           "record seq %llu claims to start the chain, which only seq 1 does",
                           (unsigned long long)seq);
                r->starts_mid_chain = !genesis;
                r->first_seq = seq;
            } else if (seq != last_seq + 1) {
                if (seq <= last_seq)
                    broken(r, v[i].path, rd.lineno,
                           "record seq %llu comes after seq %llu (%s:%llu): records were "
                           "reordered or repeated",
                           (unsigned long long)seq, (unsigned long long)last_seq, last_file,
                           (unsigned long long)last_line);
                else
                    broken(r, v[i].path, rd.lineno,
                           "records seq %llu..%llu are missing before this record (seq %llu): "
                           "they were removed or reordered",
                           (unsigned long long)last_seq + 1, (unsigned long long)seq - 1,
                           (unsigned long long)seq);
            } else if (strcmp(prev, last_hash) != 0) {
                /* The chain says what the record before looked like when this one was written:
                 * that record is the one that changed (or this prev was). */
                broken(r, last_file, last_line,
                       "record seq %llu was changed after it was written: its SHA-256 no longer "
                       "matches the prev of seq %llu (%s:%llu)",
                       (unsigned long long)last_seq, (unsigned long long)seq, v[i].path,
                       (unsigned long long)rd.lineno);
            }
            json_decref(o);
            if (!r->ok)
                break;
            if (wdn__audit_hash((struct wdn_str){rd.buf, rd.len}, hash) != 0) {
                rc = wdn_diag_set(d, WDN_ECRYPTO, "SHA-256 failed");
                fclose(rd.f);
                goto out;
            }
            any = true;
            memcpy(last_hash, hash, sizeof(hash));
            last_seq = seq;
            last_line = rd.lineno;
            snprintf(last_file, sizeof(last_file), "%s", v[i].path);
            r->records++;
        }
        fclose(rd.f);
        if (more < 0 && r->ok) {
            rc = wdn_diag_set(d, WDN_EIO, "cannot read %s", v[i].path);
            goto out;
        }
    }
    r->last_seq = last_seq;
    memcpy(r->last_hash, last_hash, sizeof(r->last_hash));
out:
    free(v);
    free(buf);
    return rc;
}

/* ---- query -------------------------------------------------------------------------------- */

static bool field_is(json_t *o, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && strcmp(v, want) == 0;
}

/* A caller matches its whole SPIFFE ID or the ID's last segment (the app ID). */
static bool caller_is(json_t *o, const char *want)
{
    const char *v = json_string_value(json_object_get(o, "caller"));
    const char *slash;

    if (v == NULL)
        return false;
    if (strcmp(v, want) == 0)
        return true;
    slash = strrchr(v, '/');
    return slash && strcmp(slash + 1, want) == 0;
}

static bool matches(json_t *o, const struct wdn_audit_filter *f)
{
    if (f->tool && !field_is(o, "tool", f->tool))
        return false;
    if (f->decision && !field_is(o, "decision", f->decision))
        return false;
    if (f->kind && !field_is(o, "kind", f->kind))
        return false;
    if (f->sub && !field_is(o, "sub", f->sub))
        return false;
    if (f->app_id && !field_is(o, "app_id", f->app_id))
        return false;
    if (f->trace_id && !field_is(o, "trace_id", f->trace_id))
        return false;
    if (f->caller && !caller_is(o, f->caller))
        return false;
    if (f->since_ns || f->until_ns) {
        const char *t = json_string_value(json_object_get(o, "time"));
        int64_t ns;
        if (t == NULL || wdn_audit_parse_time(t, 0, &ns) != 0)
            return false;
        if ((f->since_ns && ns < f->since_ns) || (f->until_ns && ns >= f->until_ns))
            return false;
    }
    return true;
}

int wdn_audit_query(const char *const *files, size_t n, const struct wdn_audit_filter *f,
                    int (*fn)(void *ud, struct wdn_str line), void *ud, uint64_t *skipped,
                    struct wdn_diag *d)
{
    char *buf = malloc(WDN_AUDIT_MAX_RECORD_BYTES + 2);
    struct infile *v = NULL;
    uint64_t skip = 0;
    int rc;

    if (buf == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    rc = order_files(files, n, buf, &v, d);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct reader rd = {.f = fopen(v[i].path, "r"), .buf = buf};
        int more = 0;

        if (rd.f == NULL) {
            rc = wdn_diag_set(d, WDN_EIO, "cannot read %s: %s", v[i].path, strerror(errno));
            break;
        }
        while (rc == 0 && (more = next_line(&rd)) == 1) {
            json_t *o = NULL;
            const char *prev, *why;
            uint64_t seq;

            if (rd.too_long || parse_record(rd.buf, rd.len, &o, &seq, &prev, &why) != 0)
                skip++;
            else if (matches(o, f))
                rc = fn(ud, (struct wdn_str){rd.buf, rd.len});
            json_decref(o);
        }
        fclose(rd.f);
        if (rc == 0 && more < 0)
            rc = wdn_diag_set(d, WDN_EIO, "cannot read %s", v[i].path);
    }
    if (skipped)
        *skipped = skip;
    free(v);
    free(buf);
    return rc;
}

/* ---- times -------------------------------------------------------------------------------- */

/* Reads exactly n digits at *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

int wdn_audit_parse_time(const char *s, int64_t now_ns, int64_t *out)
{
    struct tm tm = {0};
    const char *p = s;
    int64_t frac_ns = 0, offset = 0;
    int y, mo, da, h = 0, mi = 0, se = 0;
    size_t n;

    if (s == NULL || *s == '\0')
        return WDN_EINVAL;
    n = strlen(s);
    /* A duration before now: 90s, 15m, 2h, 7d. */
    if (strspn(s, "0123456789") == n - 1 && n >= 2 && n <= 12) {
        static const struct {
            char unit;
            int64_t ns;
        } units[] = {{'s', 1000000000LL},
                     {'m', 60LL * 1000000000LL},
                     {'h', 3600LL * 1000000000LL},
                     {'d', 86400LL * 1000000000LL}};
        int64_t v = strtoll(s, NULL, 10);
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (s[n - 1] == units[i].unit) {
                if (v > INT64_MAX / units[i].ns)
                    return WDN_EINVAL;
                *out = now_ns - v * units[i].ns;
                return 0;
            }
        }
        return WDN_EINVAL;
    }
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &da))
        return WDN_EINVAL;
    if (*p != '\0') {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return WDN_EINVAL;
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
            !digits(&p, 2, &se))
            return WDN_EINVAL;
        if (*p == '.') {
            int64_t scale = 100000000;
            p++;
            if (*p < '0' || *p > '9')
                return WDN_EINVAL;
            for (; *p >= '0' && *p <= '9'; p++) {
                frac_ns += (*p - '0') * scale;
                scale /= 10;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om, sign = *p == '-' ? -1 : 1;
            p++;
            if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
                return WDN_EINVAL;
            offset = sign * (oh * 3600 + om * 60);
        } else {
            return WDN_EINVAL;
        }
        if (*p != '\0')
            return WDN_EINVAL;
    }
    if (mo < 1 || mo > 12 || da < 1 || da > 31 || h > 23 || mi > 59 || se > 60)
        return WDN_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = da;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != da)
        return WDN_EINVAL;
    *out = ((int64_t)t - offset) * 1000000000LL + frac_ns;
    return 0;
}
