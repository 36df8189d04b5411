/* Discovery document handling. The issuer comparison is exact because the issuer is what
 * every token's "iss" is compared with: if discovery could change it, a metadata document on
 * another path of the same host could redirect key loading. */
#include "oidc/discovery.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "oauth2/discovery.h"
#include "oauth2/metadata.h"

bool wdn_oidc_is_https_url(const char *s)
{
    struct wdn_str u = wdn_str_from_cstr(s);
    size_t host_end;

    if (!wdn_str_has_prefix(u, WDN_STR("https://")) || u.len > 2048)
        return false;
    u.p += 8;
    u.len -= 8;
    host_end = strcspn(u.p, "/?#");
    if (host_end == 0 || memchr(u.p, '@', host_end) != NULL || strchr(u.p, '#') != NULL)
        return false;
    for (size_t i = 0; i < u.len; i++) {
        unsigned char c = (unsigned char)u.p[i];
        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

int wdn_oidc_discovery_urls(const char *issuer, char *oidc, size_t oidc_cap, char *oauth,
                            size_t oauth_cap)
{
    if (!wdn_oidc_is_https_url(issuer) || strchr(issuer, '?') != NULL)
        return WDN_EINVAL;
    /* The well-known URLs are built in one place, the OAuth client's discovery. */
    if (wdn_oauth2_oidc_config_url(issuer, oidc, oidc_cap) != 0 ||
        wdn_oauth2_well_known_url(issuer, "oauth-authorization-server", oauth, oauth_cap) != 0)
        return WDN_ELIMIT;
    return 0;
}

int wdn_oidc_discovery_parse(struct wdn_str doc, const char *issuer, char **jwks_uri,
                             struct wdn_diag *d)
{
    struct wdn_oauth2_asm m;
    int rc;

    *jwks_uri = NULL;
    if (doc.len > WDN_OIDC_MAX_DISCOVERY_BYTES)
        return wdn_diag_set(d, WDN_ELIMIT, "discovery document too large (%zu bytes)", doc.len);
    /* The same reader (and exact issuer check) as the OAuth client's discovery; a resource
     * server needs an https jwks_uri from it. */
    rc = wdn_oauth2_asm_parse(doc, issuer, &m, d);
    if (rc == WDN_EAUTH)
        return wdn_diag_set(d, WDN_EAUTH,
                            "the issuer in the discovery document does not match the configured "
                            "issuer '%s'",
                            issuer);
    if (rc != 0 && rc != WDN_ENOMEM)
        rc = WDN_EPARSE; /* every other refusal is a malformed document here (d says why) */
    if (rc != 0)
        return rc;
    if (m.jwks_uri == NULL || !wdn_oidc_is_https_url(m.jwks_uri))
        rc = wdn_diag_set(d, WDN_EPARSE, "the discovery document has no https 'jwks_uri'");
    else if ((*jwks_uri = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(m.jwks_uri))) == NULL)
        rc = wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    wdn_oauth2_asm_reset(&m);
    return rc;
}

int64_t wdn_oidc_cache_max_age(struct wdn_str v)
{
    int64_t result = -1;
    size_t i = 0;

    /* Directives are comma-separated tokens, optionally token=value; case-insensitive. */
    while (i < v.len) {
        size_t start, end;
        struct wdn_str dir, name, val = {NULL, 0};
        long eq;
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        start = i;
        while (i < v.len && v.p[i] != ',')
            i++;
        end = i;
        dir = wdn_str_trim_ows((struct wdn_str){v.p + start, end - start});
        eq = wdn_str_index(dir, '=');
        name = dir;
        if (eq >= 0) {
            name = wdn_str_trim_ows((struct wdn_str){dir.p, (size_t)eq});
            val = wdn_str_trim_ows((struct wdn_str){dir.p + eq + 1, dir.len - (size_t)eq - 1});
            if (val.len >= 2 && val.p[0] == '"' && val.p[val.len - 1] == '"') {
                val.p++;
                val.len -= 2;
            }
        }
        if (wdn_str_eq_case_cstr(name, "no-store") || wdn_str_eq_case_cstr(name, "no-cache")) {
            result = 0;
            break;
        }
        if (wdn_str_eq_case_cstr(name, "max-age")) {
            uint64_t n;
            if (wdn_str_to_u64(val, 100000000, &n) == 0)
                result = (int64_t)n;
        }
    }
    return result;
}
