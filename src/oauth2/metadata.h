/* What an OAuth client reads from the documents a server chose: RFC 9728 protected resource
 * metadata and RFC 8414 / OpenID Connect authorization server metadata, parsed and checked
 * without I/O (fuzzed: fuzz/fuzz_oauth2_metadata.c), and the URL facts the client's rules need
 * (origin, loopback, https). discovery.h fetches the documents. */
#ifndef WDN_OAUTH2_METADATA_H
#define WDN_OAUTH2_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/limits.h"
#include "base/str.h"

/** An http(s) URL as the client's rules see it. */
struct wdn_oauth2_url {
    bool https;
    bool loopback;                   /* localhost, *.localhost, 127.0.0.0/8, ::1 */
    char origin[WDN_OAUTH2_MAX_URL]; /* "scheme://host[:port]", lower case, default port
                                        omitted, IPv6 in brackets */
    char path[WDN_OAUTH2_MAX_URL];   /* "" for none or "/", else the path without query */
};

/**
 * Parses an absolute http(s) URL without user info (the fetch client's own parser, fuzzed in
 * fuzz_http_url). 0 or WDN_EINVAL / WDN_ELIMIT with d set.
 */
int wdn_oauth2_url_parse(const char *url, struct wdn_oauth2_url *u, struct wdn_diag *d);

/** True when a and b are the same origin (scheme, host and port). */
bool wdn_oauth2_same_origin(const char *a, const char *b);

/** RFC 9728 protected resource metadata. Strings owned (wdn_oauth2_prm_reset frees them). */
struct wdn_oauth2_prm {
    char *resource;               /* checked against the resource it was fetched for */
    char **authorization_servers; /* issuer identifiers, in the document's order */
    size_t n_as;
    char *scopes_supported; /* space-joined, or NULL when absent */
    bool dpop_bound;        /* dpop_bound_access_tokens_required */
};

/**
 * Parses a protected resource metadata document fetched for resource_url (RFC 9728 section
 * 3.3): `resource` must name resource_url or a path-segment parent of it on the same origin
 * (what the MCP SDKs accept), authorization_servers must list at least one http(s) URL.
 * At most WDN_OAUTH2_MAX_METADATA_BYTES. 0, or WDN_EPARSE / WDN_EAUTH (resource mismatch) /
 * WDN_ELIMIT / WDN_ENOMEM with d set.
 */
int wdn_oauth2_prm_parse(struct wdn_str doc, const char *resource_url, struct wdn_oauth2_prm *out,
                         struct wdn_diag *d);
void wdn_oauth2_prm_reset(struct wdn_oauth2_prm *p);

/** Client authentication methods at the token endpoint (bits). */
enum {
    WDN_OAUTH2_AM_NONE = 1u << 0,
    WDN_OAUTH2_AM_BASIC = 1u << 1,
    WDN_OAUTH2_AM_POST = 1u << 2,
    WDN_OAUTH2_AM_PRIVATE_KEY_JWT = 1u << 3,
};

/** Grant types (bits). */
enum {
    WDN_OAUTH2_GT_AUTHORIZATION_CODE = 1u << 0,
    WDN_OAUTH2_GT_CLIENT_CREDENTIALS = 1u << 1,
    WDN_OAUTH2_GT_REFRESH_TOKEN = 1u << 2,
    WDN_OAUTH2_GT_JWT_BEARER = 1u << 3,
    WDN_OAUTH2_GT_TOKEN_EXCHANGE = 1u << 4,
};

/** Authorization server metadata as the client uses it. Strings owned. */
struct wdn_oauth2_asm {
    char *issuer;
    char *authorization_endpoint; /* NULL when absent */
    char *token_endpoint;         /* NULL when absent (a client needs one: discovery checks) */
    char *registration_endpoint; /* NULL: no dynamic registration */
    char *jwks_uri;
    char *scopes_supported; /* space-joined, or NULL */
    unsigned auth_methods;  /* WDN_OAUTH2_AM_*; client_secret_basic when not listed */
    bool auth_methods_listed;
    unsigned grant_types; /* WDN_OAUTH2_GT_*; code and implicit when not listed */
    bool pkce_s256;       /* code_challenge_methods_supported lists S256 */
    bool pkce_listed;     /* ... the field is there at all */
    bool iss_parameter;   /* authorization_response_iss_parameter_supported (RFC 9207) */
    bool cimd;            /* client_id_metadata_document_supported */
    bool dpop_es256;      /* dpop_signing_alg_values_supported lists ES256 */
    bool offline_access;  /* scopes_supported lists offline_access */
    bool assertion_es256, assertion_rs256; /* token_endpoint_auth_signing_alg_values_supported
                                              (both true when not listed) */
    bool defaults; /* built from 2025-03-26's default endpoints, no document */
};

/**
 * Parses authorization server metadata fetched for issuer: `issuer` must equal it byte for
 * byte (RFC 8414 section 3.3, no normalization; issuer NULL: the caller checks it) and every
 * endpoint present must be an http(s) URL (which ones are required is the caller's business:
 * a client needs token_endpoint, a resource server jwks_uri). 0, or WDN_EPARSE / WDN_EAUTH (issuer
 * mismatch) / WDN_ELIMIT / WDN_ENOMEM with d set.
 */
int wdn_oauth2_asm_parse(struct wdn_str doc, const char *issuer, struct wdn_oauth2_asm *out,
                         struct wdn_diag *d);
void wdn_oauth2_asm_reset(struct wdn_oauth2_asm *m);

/** True when scope (space-separated) contains item. */
bool wdn_oauth2_scope_has(const char *scope, const char *item);

#endif
