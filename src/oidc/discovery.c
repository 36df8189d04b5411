/* Discovery document handling. The issuer comparison is exact because the issuer is what
 * every token's "iss" is compared with: if discovery could change it, a metadata document on
 * another path of the same host could redirect key loading. */
#include "oidc/discovery.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/error.h"
#include "base/limits.h"

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
    size_t len, host_end;
    const char *path;

    if (!wdn_oidc_is_https_url(issuer) || strchr(issuer, '?') != NULL)
        return WDN_EINVAL;
    len = strlen(issuer);
    while (len > 8 && issuer[len - 1] == '/')
        len--;
    if (wdn_fmt(oidc, oidc_cap, "%.*s/.well-known/openid-configuration", (int)len, issuer) != 0)
        return WDN_ELIMIT;
    /* RFC 8414 section 3.1: the well-known segment goes between host and path. */
    host_end = 8 + strcspn(issuer + 8, "/");
    path = issuer + host_end;
    if (host_end > len)
        host_end = len;
    if (wdn_fmt(oauth, oauth_cap, "%.*s/.well-known/oauth-authorization-server%.*s",
                (int)host_end, issuer, (int)(len - host_end), path) != 0)
        return WDN_ELIMIT;
    return 0;
}

int wdn_oidc_discovery_parse(struct wdn_str doc, const char *issuer, char **jwks_uri,
                             struct wdn_diag *d)
{
    json_t *root = NULL, *iss, *uri;
    json_error_t err;
    int rc;

    *jwks_uri = NULL;
    if (doc.len > WDN_OIDC_MAX_DISCOVERY_BYTES) {
        rc = wdn_diag_set(d, WDN_ELIMIT, "discovery document too large (%zu bytes)", doc.len);
        goto out;
    }
    root = json_loadb(doc.p, doc.len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(root)) {
        rc = wdn_diag_set(d, WDN_EPARSE, "discovery document is not a JSON object");
        goto out;
    }
    iss = json_object_get(root, "issuer");
    if (!json_is_string(iss) ||
        !wdn_str_eq((struct wdn_str){json_string_value(iss), json_string_length(iss)},
                    wdn_str_from_cstr(issuer))) {
        rc = wdn_diag_set(d, WDN_EAUTH,
                          "the issuer in the discovery document does not match the configured "
                          "issuer '%s'",
                          issuer);
        goto out;
    }
    uri = json_object_get(root, "jwks_uri");
    if (!json_is_string(uri) || strlen(json_string_value(uri)) != json_string_length(uri) ||
        !wdn_oidc_is_https_url(json_string_value(uri))) {
        rc = wdn_diag_set(d, WDN_EPARSE, "the discovery document has no https 'jwks_uri'");
        goto out;
    }
    *jwks_uri = strdup(json_string_value(uri));
    rc = *jwks_uri ? 0 : wdn_diag_set(d, WDN_ENOMEM, "out of memory");
out:
    json_decref(root);
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
