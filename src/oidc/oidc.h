/* The token validator the bearer middleware uses: configured once with an issuer, audiences
 * and a key source (static JWKS, a JWKS URL, or discovery from the issuer), it answers
 * verify() on any thread without ever blocking on the network. Keys are fetched and refreshed
 * by a background thread and swapped in atomically; verified tokens are cached. */
#ifndef WDN_OIDC_OIDC_H
#define WDN_OIDC_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/str.h"
#include "jose/jwt.h"

/** Caller-owned configuration; every string is copied by wdn_oidc_validator_new. */
struct wdn_oidc_config {
    const char *issuer;           /* required; exact "iss" (Auth0: trailing '/') */
    const char *const *audiences; /* required, one or more */
    size_t n_audiences;
    int64_t clock_skew_s;               /* default 60 */
    const char *const *required_scopes; /* optional: all must be granted */
    size_t n_required_scopes;
    unsigned allowed_algs; /* WDN_JOSE_ALG_BIT set; 0 = all supported */
    /* Key source: jwks_json (static), else jwks_url, else discovery from the issuer
     * (/.well-known/openid-configuration, then RFC 8414 oauth-authorization-server). */
    const char *jwks_json;
    const char *jwks_url;         /* https only */
    const char *ca_file;          /* PEM CA bundle for fetches; NULL = system store */
    unsigned refresh_min_s;       /* default 600: refresh no more often than this */
    unsigned refresh_max_s;       /* default 86400: and at least this often */
    unsigned retry_ms;            /* default 10000: after a failed fetch */
    unsigned refetch_debounce_ms; /* default 5000: unknown-kid refetch at most this often */
    unsigned fetch_timeout_ms;    /* default 10000 */
    size_t cache_bytes;           /* verified-token cache budget, default
                                     WDN_TOKEN_CACHE_DEFAULT_BYTES (8 MiB); 0 = off */
};

/** Fills c with the defaults above and no issuer, audience or key source. */
void wdn_oidc_config_init(struct wdn_oidc_config *c);

/** Key set status, for metrics and health: never loaded, loaded and current, or kept after
 * the latest fetch failed. */
enum wdn_oidc_status { WDN_OIDC_NEVER_LOADED = 0, WDN_OIDC_FRESH, WDN_OIDC_STALE };

/** "never_loaded", "fresh", "stale". */
const char *wdn_oidc_status_name(enum wdn_oidc_status s);

struct wdn_oidc_stats {
    uint64_t cache_hits, cache_misses, cache_entries, cache_evictions;
    uint64_t cache_evicted_size;           /* evictions to stay within the memory budget */
    uint64_t cache_bytes, cache_max_bytes; /* estimated bytes held, and the budget */
    uint64_t fetch_ok, fetch_failed;       /* JWKS fetch attempts (discovery included) */
    uint64_t refetch_unknown_kid; /* refetches requested by verify: unknown kid or no keys */
    uint64_t keys;                /* keys in the current set */
    int64_t loaded_at;            /* Unix seconds of the current set, 0 = never */
};

/** A validator. Opaque; thread-safe after creation. */
struct wdn_oidc_validator;

/**
 * Creates a validator and, for remote key sources, starts its refresh thread, which fetches
 * the key set at once. Returns NULL with d filled on configuration errors (no issuer, no
 * audience, a non-https URL, a static JWKS that does not parse). Caller frees.
 */
struct wdn_oidc_validator *wdn_oidc_validator_new(const struct wdn_oidc_config *c,
                                                  struct wdn_diag *d);
/** Stops the refresh thread (aborting a fetch in progress) and frees everything. NULL ok. */
void wdn_oidc_validator_free(struct wdn_oidc_validator *v);

/**
 * Verifies a bearer token at time now (Unix seconds). Never blocks on the network: with no
 * key set yet the answer is WDN_JWT_KEY_SET_NOT_LOADED (the middleware answers 503); an
 * unknown kid schedules a debounced background refetch and answers WDN_JWT_UNKNOWN_KID.
 * On WDN_JWT_OK and when claims is not NULL, *claims gets a reference the caller releases.
 */
enum wdn_jwt_reason wdn_oidc_verify(struct wdn_oidc_validator *v, struct wdn_str token, int64_t now,
                                    struct wdn_jwt **claims);

/** wdn_oidc_verify that also says (cached non-NULL) whether the verified-token cache answered. */
enum wdn_jwt_reason wdn_oidc_verify_ex(struct wdn_oidc_validator *v, struct wdn_str token,
                                       int64_t now, struct wdn_jwt **claims, bool *cached);

/** Current key set status. */
enum wdn_oidc_status wdn_oidc_status(struct wdn_oidc_validator *v);
/** Counters. */
void wdn_oidc_stats(struct wdn_oidc_validator *v, struct wdn_oidc_stats *out);
/** The latest fetch or parse error as text into buf (empty when none); returns buf. */
const char *wdn_oidc_last_error(struct wdn_oidc_validator *v, char *buf, size_t cap);
/** Asks the refresh thread to fetch now (not debounced; for admin commands and tests). */
void wdn_oidc_refresh_now(struct wdn_oidc_validator *v);
/**
 * Waits up to timeout_ms for the refresh thread to finish at least n fetch attempts in
 * total (successful or not). For startup ("wait for keys, then serve") and tests. Returns
 * true when reached.
 */
bool wdn_oidc_wait_fetches(struct wdn_oidc_validator *v, uint64_t n, unsigned timeout_ms);

#endif
