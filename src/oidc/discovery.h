/* OpenID Connect Discovery 1.0 and RFC 8414 metadata: where the documents live, what in them
 * we trust, and the Cache-Control rule for JWKS refresh. Pure functions, no I/O. */
#ifndef WDN_OIDC_DISCOVERY_H
#define WDN_OIDC_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/str.h"

/**
 * Builds the two metadata URLs for issuer into caller buffers: the OIDC one
 * (issuer without trailing '/' + "/.well-known/openid-configuration") and the RFC 8414 one
 * (scheme://host + "/.well-known/oauth-authorization-server" + issuer path). The issuer must
 * be an https URL without query or fragment. 0, WDN_EINVAL or WDN_ELIMIT.
 */
int wdn_oidc_discovery_urls(const char *issuer, char *oidc, size_t oidc_cap, char *oauth,
                            size_t oauth_cap);

/**
 * Parses a metadata document (at most WDN_OIDC_MAX_DISCOVERY_BYTES): its "issuer" must equal
 * the configured issuer byte for byte, and "jwks_uri" must be an https URL. On success
 * *jwks_uri receives a malloc'd copy (caller frees). 0 or WDN_EPARSE/WDN_EAUTH/WDN_ELIMIT
 * with d filled.
 */
int wdn_oidc_discovery_parse(struct wdn_str doc, const char *issuer, char **jwks_uri,
                             struct wdn_diag *d);

/** The max-age of a Cache-Control header value in seconds; -1 when absent or malformed, 0 for
 * no-cache / no-store. */
int64_t wdn_oidc_cache_max_age(struct wdn_str value);

/** True when s is an absolute https URL with a host and without userinfo or fragment. */
bool wdn_oidc_is_https_url(const char *s);

#endif
