/* SPIFFE IDs: parsing and formatting spiffe://<trust-domain>/ns/<namespace>/<app-id>. */
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "pki/pki_int.h"

/* The character sets come from the SPIFFE ID specification (section 2.1 and 2.2). */
static bool td_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool seg_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

int wdn__pki_check_trust_domain(struct wdn_str td, struct wdn_diag *d)
{
    int rc = WDN_EPARSE;

    if (td.len == 0) {
        wdn_diag_set(d, rc, "SPIFFE ID: the trust domain is empty");
        goto out;
    }
    if (td.len > WDN_SPIFFE_MAX_TRUST_DOMAIN_BYTES) {
        wdn_diag_set(d, rc, "SPIFFE ID: the trust domain is longer than %d bytes",
                     WDN_SPIFFE_MAX_TRUST_DOMAIN_BYTES);
        goto out;
    }
    for (size_t i = 0; i < td.len; i++) {
        if (!td_char(td.p[i])) {
            wdn_diag_set(d, rc,
                         "SPIFFE ID: the trust domain may hold only lowercase letters, digits, "
                         "'.', '-' and '_' (found byte 0x%02x at offset %zu; no ports or "
                         "userinfo)",
                         (unsigned char)td.p[i], i);
            goto out;
        }
    }
    rc = 0;
out:
    return rc;
}

int wdn__pki_check_segment(struct wdn_str seg, const char *what, struct wdn_diag *d)
{
    int rc = WDN_EPARSE;

    if (seg.len == 0) {
        wdn_diag_set(d, rc, "SPIFFE ID: the %s is empty", what);
        goto out;
    }
    if (wdn_str_eq_cstr(seg, ".") || wdn_str_eq_cstr(seg, "..")) {
        wdn_diag_set(d, rc, "SPIFFE ID: the %s may not be '.' or '..'", what);
        goto out;
    }
    for (size_t i = 0; i < seg.len; i++) {
        if (!seg_char(seg.p[i])) {
            wdn_diag_set(d, rc,
                         "SPIFFE ID: the %s may hold only letters, digits, '.', '-' and '_' "
                         "(found byte 0x%02x at offset %zu)",
                         what, (unsigned char)seg.p[i], i);
            goto out;
        }
    }
    rc = 0;
out:
    return rc;
}

/* Splits off the next path segment after a '/' at *pos. */
static bool next_segment(struct wdn_str s, size_t *pos, struct wdn_str *seg)
{
    size_t start, end;

    if (*pos >= s.len || s.p[*pos] != '/')
        return false;
    start = *pos + 1;
    end = start;
    while (end < s.len && s.p[end] != '/')
        end++;
    *seg = (struct wdn_str){s.p + start, end - start};
    *pos = end;
    return true;
}

int wdn_pki_spiffe_parse(struct wdn_str id, struct wdn_pki_spiffe_id *out,
                         struct wdn_diag *d)
{
    static const char scheme[] = "spiffe://";
    struct wdn_str rest, td, s1, s2, s3;
    size_t pos = 0;
    int rc = WDN_EPARSE;

    memset(out, 0, sizeof(*out));
    if (id.len > WDN_SPIFFE_MAX_ID_BYTES) {
        wdn_diag_set(d, rc, "SPIFFE ID: longer than %d bytes", WDN_SPIFFE_MAX_ID_BYTES);
        goto out;
    }
    if (!wdn_str_has_prefix(id, WDN_STR(scheme))) {
        wdn_diag_set(d, rc, "SPIFFE ID: must start with \"spiffe://\" (lowercase scheme)");
        goto out;
    }
    rest = (struct wdn_str){id.p + sizeof(scheme) - 1, id.len - (sizeof(scheme) - 1)};
    while (pos < rest.len && rest.p[pos] != '/')
        pos++;
    td = (struct wdn_str){rest.p, pos};
    if ((rc = wdn__pki_check_trust_domain(td, d)) != 0)
        goto out;
    rc = WDN_EPARSE;
    if (!next_segment(rest, &pos, &s1) || !next_segment(rest, &pos, &s2) ||
        !next_segment(rest, &pos, &s3) || pos != rest.len) {
        wdn_diag_set(d, rc,
                     "SPIFFE ID: the path must be exactly /ns/<namespace>/<app-id> (no trailing "
                     "slash, query or fragment)");
        goto out;
    }
    if (!wdn_str_eq_cstr(s1, "ns")) {
        wdn_diag_set(d, rc, "SPIFFE ID: the path must start with /ns/");
        goto out;
    }
    if ((rc = wdn__pki_check_segment(s2, "namespace", d)) != 0 ||
        (rc = wdn__pki_check_segment(s3, "app ID", d)) != 0)
        goto out;
    out->trust_domain = td;
    out->ns = s2;
    out->app_id = s3;
    rc = 0;
out:
    return rc;
}

int wdn_pki_spiffe_format(char *buf, size_t cap, const char *td, const char *ns,
                          const char *app_id, struct wdn_diag *d)
{
    int rc = WDN_EINVAL;

    if (td == NULL)
        td = WDN_PKI_DEFAULT_TRUST_DOMAIN;
    if (ns == NULL)
        ns = WDN_PKI_DEFAULT_NAMESPACE;
    if (app_id == NULL) {
        wdn_diag_set(d, rc, "SPIFFE ID: an app ID is required");
        goto out;
    }
    if (wdn__pki_check_trust_domain(wdn_str_from_cstr(td), d) != 0 ||
        wdn__pki_check_segment(wdn_str_from_cstr(ns), "namespace", d) != 0 ||
        wdn__pki_check_segment(wdn_str_from_cstr(app_id), "app ID", d) != 0) {
        if (d != NULL)
            d->code = rc;
        goto out;
    }
    rc = wdn_fmt(buf, cap, "spiffe://%s/ns/%s/%s", td, ns, app_id);
    if (rc != 0) {
        wdn_diag_set(d, rc, "SPIFFE ID: longer than the buffer");
        goto out;
    }
    if (strlen(buf) > WDN_SPIFFE_MAX_ID_BYTES) {
        rc = wdn_diag_set(d, WDN_ELIMIT, "SPIFFE ID: longer than %d bytes",
                          WDN_SPIFFE_MAX_ID_BYTES);
        goto out;
    }
out:
    return rc;
}
