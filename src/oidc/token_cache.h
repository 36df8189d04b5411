/* The verified-token cache: tokens that passed verification, keyed by the SHA-256 of the
 * token text, so that a repeated bearer token costs a hash and a lookup instead of a
 * signature verification (DESIGN.md section 3). */
#ifndef WDN_OIDC_TOKEN_CACHE_H
#define WDN_OIDC_TOKEN_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "jose/jwk.h"
#include "jose/jwt.h"

/** Bounded, sharded (16 locks), LRU within each shard. Thread-safe. Owned by its creator. */
struct wdn_token_cache;

struct wdn_token_cache_stats {
    uint64_t hits;
    uint64_t misses;
    uint64_t evictions; /* dropped for room, expiry or key removal */
    uint64_t entries;
};

/** A cache of at most capacity entries (capped by WDN_TOKEN_CACHE_MAX_ENTRIES, at least 16).
 * NULL when out of memory. */
struct wdn_token_cache *wdn_token_cache_new(size_t capacity);
/** Frees the cache and drops its references (NULL ignored). */
void wdn_token_cache_free(struct wdn_token_cache *c);

/**
 * Looks up the token whose SHA-256 is key. Returns the claims with a new reference (caller
 * releases) when present and now < the entry's expiry, else NULL (an expired entry is
 * removed). Counts a hit or a miss.
 */
struct wdn_jwt *wdn_token_cache_get(struct wdn_token_cache *c, const unsigned char key[32],
                                    int64_t now);
/** Stores claims under key until expires_at (Unix seconds); takes its own reference. When
 * full, the least recently used entry of the shard goes. */
void wdn_token_cache_put(struct wdn_token_cache *c, const unsigned char key[32], struct wdn_jwt *j,
                         int64_t expires_at);
/** Removes every entry whose verifying key is not in keys (after a key set swap). Returns the
 * number removed. */
size_t wdn_token_cache_retain_keys(struct wdn_token_cache *c, const struct wdn_jwks *keys);
/** Counters and current size. */
void wdn_token_cache_stats(struct wdn_token_cache *c, struct wdn_token_cache_stats *out);

#endif
