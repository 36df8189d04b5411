/* Internal to src/pipeline: the bearer middleware's configuration, shared by its metadata
 * reader (bearer_config.c), the IdP profiles (profiles.c) and the instance (bearer.c). */
#ifndef WDN_PIPELINE_BEARER_H
#define WDN_PIPELINE_BEARER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"
#include "oidc/introspect.h"
#include "oidc/oidc.h"
#include "pipeline/internal.h"

/* Most issuers one bearer component trusts, after profiles expanded them. */
#define WDN_BEARER_MAX_ISSUERS WDN_OIDC_MAX_ISSUERS

struct claim_fwd {
    char *claim;
    char *header;
};

/* One trusted issuer as configured (the top-level issuer/audience/jwksURL/jwks/profile, or an
 * entry of `issuers`), before its profile is applied. Strings are in the bearer's pool. */
struct bearer_issuer {
    const char *issuer;
    const char *audiences[WDN_JWT_MAX_AUDIENCES];
    size_t n_aud;
    const char *jwks_url;
    const char *jwks_inline;
    const char *profile;
    /* Set by the profile: */
    const char *discovery_issuer;
    unsigned allowed_algs;
    bool advertise; /* listed in RFC 9728 authorization_servers */
};

struct bearer {
    struct wdn__mw base;

    /* Configuration, immutable after create. Every string is in pool (freed with it). */
    char **pool;
    size_t n_pool, cap_pool;
    struct bearer_issuer top;                          /* the top-level fields */
    struct bearer_issuer decl[WDN_BEARER_MAX_ISSUERS]; /* the `issuers` entries */
    size_t n_decl;
    struct bearer_issuer iss[WDN_BEARER_MAX_ISSUERS]; /* all, after their profiles */
    size_t n_iss;
    const char *scopes[WDN_JWT_MAX_SCOPES];
    size_t n_scopes;
    const char *resource;            /* canonical resource URI (RFC 8707 / RFC 9728), or NULL */
    bool require_resource_aud;       /* aud must contain the resource */
    const char *resource_metadata;   /* resourceMetadata override, or NULL */
    const char *required_scope_text; /* "a b c" for insufficient_scope challenges */
    struct claim_fwd *claims;
    size_t n_claims;
    bool strip_token;
    int64_t clock_skew_s;
    size_t cache_bytes; /* tokenCacheSize */
    const char *ca_file;

    /* RFC 7662 introspection (opaque tokens). */
    const char *introspection_url;
    const char *introspection_client_id;
    const char *introspection_secret;
    int64_t introspection_ttl_s;     /* most an answer is cached */
    int64_t introspection_timeout_s; /* per call */

    /* The trusted issuers as the validator takes them (pointing into iss). */
    struct wdn_oidc_issuer trusted[WDN_BEARER_MAX_ISSUERS];
    size_t n_trusted;
    const char *advertised[WDN_BEARER_MAX_ISSUERS]; /* authorization_servers */
    size_t n_advertised;

    /* Key sets, refresh and the verified-token cache (NULL when only introspection). */
    struct wdn_oidc_validator *v;
    /* Introspection with its cache (NULL when not configured). */
    struct wdn_introspector *in;
};

/** The metadata table of middleware.http.bearer and its cross-field rules. */
extern const struct wdn__mw_field wdn__bearer_fields[];
int wdn__bearer_finish(void *conf, const struct wdn_res_component *c, struct wdn_diag *d);
/** Frees the configuration part (the pool, claims); not the validator or introspector. */
void wdn__bearer_conf_free(struct bearer *b);
/** A copy of s in b's pool, or NULL when out of memory. */
const char *wdn__bearer_strdup(struct bearer *b, const char *s);

/**
 * Applies issuer in's profile (in->profile, or none) and appends the issuers it stands for to
 * out[*n] (at most max): the issuer forms the provider uses, their key source, audiences in
 * every form the provider writes them, and an algorithm allow-list narrower than or equal to
 * the default. Never widens a signature rule. 0, or WDN_EINVAL with a sentence in why.
 */
int wdn__bearer_profile(struct bearer *b, const struct bearer_issuer *in, struct bearer_issuer *out,
                        size_t *n, size_t max, char *why, size_t cap);

/** The profile names, for messages ("auth0, entra, keycloak, okta, google"). */
extern const char wdn__bearer_profile_names[];

#endif
