/* Finding the token endpoint for a protected resource: RFC 9728 protected resource metadata
 * (from a 401's resource_metadata or the well-known URL), then RFC 8414 / OpenID Connect
 * authorization server metadata. */
#ifndef WDN_OAUTH2_DISCOVERY_H
#define WDN_OAUTH2_DISCOVERY_H

#include "base/diag.h"
#include "base/str.h"

/** What discovery found; strings are malloc'd and owned by the struct. */
struct wdn_oauth2_discovered {
    char *resource;        /* the resource identifier to send as RFC 8707 `resource` */
    char *issuer;          /* the authorization server's issuer */
    char *token_endpoint;  /* where to ask for tokens */
    char *jwks_uri;        /* the server's key set, or NULL */
    int supports_basic;    /* token_endpoint_auth_methods_supported has client_secret_basic */
    int supports_post;     /* ... client_secret_post */
};

/**
 * Discovers the token endpoint for resource_url (e.g. an MCP endpoint). www_authenticate is
 * the WWW-Authenticate value of a 401 from the resource, or NULL: when it carries
 * resource_metadata, that URL is used, else the RFC 9728 well-known URLs (path-suffixed, then
 * root). The metadata's `resource` must match resource_url's origin-and-path (RFC 9728 3.3) and
 * the authorization server metadata's `issuer` must equal the issuer it was fetched for
 * (RFC 8414 3.3). ca_file may be NULL. Returns 0 with out filled, or an error with diag set.
 */
int wdn_oauth2_discover(const char *resource_url, const char *www_authenticate,
                        const char *ca_file, struct wdn_oauth2_discovered *out,
                        struct wdn_diag *diag);

/**
 * Fetches authorization server metadata for issuer: RFC 8414 well-known (path inserted after
 * the host), then OpenID Connect discovery in both placements. Checks `issuer`.
 */
int wdn_oauth2_discover_issuer(const char *issuer, const char *ca_file,
                               struct wdn_oauth2_discovered *out, struct wdn_diag *diag);

/** Frees what out holds and zeroes it. */
void wdn_oauth2_discovered_reset(struct wdn_oauth2_discovered *out);

/**
 * Builds "<scheme>://<authority>/.well-known/<name><path>" from url (its query and fragment
 * dropped, a lone "/" path omitted) into buf. Returns 0, WDN_EINVAL (not an http(s) URL) or
 * WDN_ELIMIT.
 */
int wdn_oauth2_well_known_url(const char *url, const char *name, char *buf, size_t cap);

#endif
