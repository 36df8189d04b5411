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

/**
 * One trusted issuer: tokens whose "iss" equals issuer are verified with this issuer's key
 * source and audiences. Strings are borrowed for wdn_oidc_validator_new, which copies them.
 */
struct wdn_oidc_issuer {
    const char *issuer;           /* exact "iss" (Auth0: trailing '/') */
    const char *const *audiences; /* "aud" must contain one; none only with skip_audience */
    size_t n_audiences;
    unsigned allowed_algs; /* WDN_JOSE_ALG_BIT set; 0 = the config's */
    /* Key source: jwks_json (static), else jwks_url, else discovery from discovery_issuer
     * (NULL: issuer). Issuers naming the same source share it: one key set, one refresh
     * thread (Entra's v1 and v2 issuers are one tenant's keys). */
    const char *jwks_json;
    const char *jwks_url;
    const char *discovery_issuer;
};

/** Caller-owned configuration; every string is copied by wdn_oidc_validator_new. */
struct wdn_oidc_config {
    /* The trusted issuers. With n_issuers == 0, the single issuer of the four fields below. */
    const struct wdn_oidc_issuer *issuers;
    size_t n_issuers;
    const char *issuer;           /* exact "iss" (Auth0: trailing '/') */
    const char *const *audiences; /* one or more (none only with skip_audience) */
    size_t n_audiences;
    const char *jwks_json; /* key source as in struct wdn_oidc_issuer */
    const char *jwks_url;  /* https only */

    bool skip_audience;   /* issuers without audiences are allowed: the caller checks "aud"
                             itself (RFC 8707 resource binding) on every answer, cached or not */
    int64_t clock_skew_s; /* default 60 */
    const char *const *required_scopes; /* optional: all must be granted */
    size_t n_required_scopes;
    unsigned allowed_algs;     /* WDN_JOSE_ALG_BIT set; 0 = all supported */
    const char *ca_file;       /* PEM CA bundle for fetches; NULL = system store */
    unsigned refresh_min_s;    /* default 600: refresh no more often than this */
    unsigned refresh_max_s;    /* default 86400: and at least this often */
    unsigned retry_ms;         /* default 10000: after a failed fetch */
    unsigned refetch_min_ms;   /* default 1000: fetch starts per key source at most this often
                                  (unknown kids); a request inside the window waits for its end */
    unsigned fetch_timeout_ms; /* default 10000 */
    size_t cache_bytes;        /* verified-token cache budget, default
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
    uint64_t unknown_issuer;               /* tokens refused before any key lookup: no such iss */
    uint64_t sources, sources_not_loaded;  /* key sources, and those without a key set yet */
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
 * Creates a validator and, for each remote key source, starts its refresh thread, which
 * fetches the key set at once. Returns NULL with d filled on configuration errors (no issuer,
 * an issuer twice, no audience, a non-https URL, a static JWKS that does not parse). Caller
 * frees.
 */
struct wdn_oidc_validator *wdn_oidc_validator_new(const struct wdn_oidc_config *c,
                                                  struct wdn_diag *d);
/** Stops the refresh thread (aborting a fetch in progress) and frees everything. NULL ok. */
void wdn_oidc_validator_free(struct wdn_oidc_validator *v);

/**
 * Verifies a bearer token at time now (Unix seconds). A verified-token cache hit answers at
 * once. Otherwise the token's "iss" is read (before any key is looked at) and picks the
 * issuer; an "iss" no issuer has is WDN_JWT_WRONG_ISSUER and fetches nothing. Never blocks on
 * the network: with no key set yet for that issuer the answer is WDN_JWT_KEY_SET_NOT_LOADED
 * (the middleware answers 503); an unknown kid asks for a rate-limited background refetch and
 * answers WDN_JWT_UNKNOWN_KID. On WDN_JWT_OK and when claims is not NULL, *claims gets a
 * reference the caller releases.
 */
enum wdn_jwt_reason wdn_oidc_verify(struct wdn_oidc_validator *v, struct wdn_str token, int64_t now,
                                    struct wdn_jwt **claims);

/** wdn_oidc_verify that also says (cached non-NULL) whether the verified-token cache answered. */
enum wdn_jwt_reason wdn_oidc_verify_ex(struct wdn_oidc_validator *v, struct wdn_str token,
                                       int64_t now, struct wdn_jwt **claims, bool *cached);

/** Key set status over every source: never_loaded while any has none, else stale while any
 * failed its latest fetch, else fresh. */
enum wdn_oidc_status wdn_oidc_status(struct wdn_oidc_validator *v);
/** Counters. */
void wdn_oidc_stats(struct wdn_oidc_validator *v, struct wdn_oidc_stats *out);
/** The latest fetch or parse error as text into buf (empty when none); returns buf. */
const char *wdn_oidc_last_error(struct wdn_oidc_validator *v, char *buf, size_t cap);
/** Asks every refresh thread to fetch now (not rate-limited; for admin commands and tests). */
void wdn_oidc_refresh_now(struct wdn_oidc_validator *v);
/**
 * Waits up to timeout_ms for the refresh threads to finish at least n fetch attempts in
 * total (successful or not, summed over sources). For startup and tests. Returns true when
 * reached.
 */
bool wdn_oidc_wait_fetches(struct wdn_oidc_validator *v, uint64_t n, unsigned timeout_ms);

#endif
