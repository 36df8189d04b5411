/* Finding the authorization server of a protected resource: RFC 9728 protected resource
 * metadata (from a 401's resource_metadata, else the path-aware well-known URL, then the root
 * one), then RFC 8414 / OpenID Connect authorization server metadata (path-inserted forms
 * first), and the 2025-03-26 fallbacks for servers without either. The one place that builds
 * well-known URLs and fetches metadata documents. Every URL here was chosen by a server, so each
 * fetch follows the rules of struct wdn_oauth2_net. */
#ifndef WDN_OAUTH2_DISCOVERY_H
#define WDN_OAUTH2_DISCOVERY_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/str.h"
#include "oauth2/metadata.h"

/**
 * Where a client may send requests to URLs a server chose, derived from the URL the user gave
 * (see coord/client.md): https only, never a redirect, and no address more internal than the
 * MCP server's own: a server on a public address cannot send the client (and its credentials)
 * to loopback, private or link-local addresses (the fetch client's public_only guard, checked on
 * the address connected to). A loopback server (development, the conformance suite) may point
 * at http:// loopback hosts.
 */
struct wdn_oauth2_net {
    const char *ca_file; /* borrowed; NULL: the system store */
    long timeout_ms;     /* per request; 0: 10 s */
    bool loopback_http;  /* http:// accepted, for loopback hosts only */
    bool public_only;    /* only public unicast destinations (fetch.h public_only) */
    bool user_chosen;    /* the URLs come from the user's configuration: any http(s) URL */
};

/**
 * The rules for a client talking to server_url (borrowed ca_file): its host is resolved once to
 * tell a public server (public_only) from a private one; a name that does not resolve counts as
 * public (fail closed).
 */
void wdn_oauth2_net_for(const char *server_url, const char *ca_file, long timeout_ms,
                        struct wdn_oauth2_net *net);

/** 0 when url may be contacted under net, else WDN_EPERM with d saying why. */
int wdn_oauth2_url_allowed(const struct wdn_oauth2_net *net, const char *url, struct wdn_diag *d);

/**
 * GETs a JSON document at url (after wdn_oauth2_url_allowed) into body (at most
 * WDN_OAUTH2_MAX_METADATA_BYTES); *status gets the HTTP status. 0 when an answer arrived.
 */
int wdn_oauth2_get(const struct wdn_oauth2_net *net, const char *url, struct wdn_buf *body,
                   long *status, struct wdn_diag *d);

/**
 * Builds "<scheme>://<authority>/.well-known/<name><path>" from url (its query and fragment
 * dropped, a lone "/" path omitted) into buf. Returns 0, WDN_EINVAL (not an http(s) URL) or
 * WDN_ELIMIT.
 */
int wdn_oauth2_well_known_url(const char *url, const char *name, char *buf, size_t cap);

/**
 * OpenID Connect Discovery's URL for issuer: the issuer without trailing slashes +
 * "/.well-known/openid-configuration". 0 or WDN_ELIMIT.
 */
int wdn_oauth2_oidc_config_url(const char *issuer, char *buf, size_t cap);

/**
 * Protected resource metadata for resource_url: header_url (a challenge's resource_metadata) when
 * given, else the path-aware then the root well-known URL. found (WDN_OAUTH2_MAX_URL bytes, may
 * be NULL) receives the URL that answered. WDN_ENOTFOUND when no document exists (a server of
 * the 2025-03-26 era); WDN_EAUTH when one names another resource; other errors with d.
 */
int wdn_oauth2_fetch_prm(const struct wdn_oauth2_net *net, const char *resource_url,
                         const char *header_url, struct wdn_oauth2_prm *out, char *found,
                         struct wdn_diag *d);

/**
 * Authorization server metadata of issuer: RFC 8414 with the well-known segment inserted before
 * the issuer's path, then OpenID Connect inserted, then appended (for an issuer without a path:
 * the RFC 8414 and OIDC root documents). The document's issuer must match exactly (WDN_EAUTH,
 * never retried elsewhere). WDN_ENOTFOUND when none answers 200.
 */
int wdn_oauth2_fetch_asm(const struct wdn_oauth2_net *net, const char *issuer,
                         struct wdn_oauth2_asm *out, struct wdn_diag *d);

/**
 * The 2025-03-26 way, for a server without protected resource metadata: the authorization
 * server is the MCP server's origin, its metadata at the origin's RFC 8414 URL, or, when that is
 * missing too, the default endpoints /authorize, /token and /register there (out->defaults).
 */
int wdn_oauth2_legacy_asm(const struct wdn_oauth2_net *net, const char *server_url,
                          struct wdn_oauth2_asm *out, struct wdn_diag *d);

/* ---------------------------------------------------------------------------------------- */
/* The first, token-endpoint-only interface (client credentials); built on the above.        */

/** What discovery found; strings are malloc'd and owned by the struct. */
struct wdn_oauth2_discovered {
    char *resource;       /* the resource identifier to send as RFC 8707 `resource` */
    char *issuer;         /* the authorization server's issuer */
    char *token_endpoint; /* where to ask for tokens */
    char *jwks_uri;       /* the server's key set, or NULL */
    int supports_basic;   /* token_endpoint_auth_methods_supported has client_secret_basic */
    int supports_post;    /* ... client_secret_post */
};

/**
 * Discovers the token endpoint for resource_url (e.g. an MCP endpoint). www_authenticate is
 * the WWW-Authenticate value of a 401 from the resource, or NULL: when it carries
 * resource_metadata, that URL is used, else the RFC 9728 well-known URLs (path-suffixed, then
 * root). The metadata's `resource` must match resource_url's origin-and-path (RFC 9728 3.3) and
 * the authorization server metadata's `issuer` must equal the issuer it was fetched for
 * (RFC 8414 3.3). ca_file may be NULL. Returns 0 with out filled, or an error with diag set.
 */
int wdn_oauth2_discover(const char *resource_url, const char *www_authenticate, const char *ca_file,
                        struct wdn_oauth2_discovered *out, struct wdn_diag *diag);

/**
 * Fetches authorization server metadata for issuer: RFC 8414 well-known (path inserted after
 * the host), then OpenID Connect discovery in both placements. Checks `issuer`.
 */
int wdn_oauth2_discover_issuer(const char *issuer, const char *ca_file,
                               struct wdn_oauth2_discovered *out, struct wdn_diag *diag);

/** Frees what out holds and zeroes it. */
void wdn_oauth2_discovered_reset(struct wdn_oauth2_discovered *out);

#endif
