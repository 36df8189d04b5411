/* The verified-token cache: tokens that passed verification, keyed by the SHA-256 of the
 * token text, so that a repeated bearer token costs a hash and a lookup instead of a
 * signature verification (DESIGN.md section 3). Bounded by memory, not by a count: a
 * verified token's claims can weigh 0.5 KB or 30 KB, so a count bound would let a few
 * thousand large tokens take hundreds of megabytes. */
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
    uint64_t evictions;    /* all removals below, together */
    uint64_t evicted_size; /* least recently used entries dropped to stay within the budget */
    uint64_t evicted_exp;  /* found expired */
    uint64_t evicted_key;  /* the key that verified them left the key set */
    uint64_t too_large;    /* tokens not cached because one alone exceeds a shard's budget */
    uint64_t entries;
    uint64_t bytes;     /* estimated bytes held: claims plus the fixed index */
    uint64_t max_bytes; /* the budget */
};

/**
 * A cache that holds at most max_bytes (estimated: the claims' heap as wdn_jwt_mem_cost
 * says, plus the index preallocated here). max_bytes is clamped to
 * [WDN_TOKEN_CACHE_MIN_BYTES, WDN_TOKEN_CACHE_MAX_BYTES]. NULL when out of memory.
 */
struct wdn_token_cache *wdn_token_cache_new(size_t max_bytes);
/** Frees the cache and drops its references (NULL ignored). */
void wdn_token_cache_free(struct wdn_token_cache *c);

/**
 * Looks up the token whose SHA-256 is key. Returns the claims with a new reference (caller
 * releases) when present and now < the entry's expiry, else NULL (an expired entry is
 * removed). Counts a hit or a miss. With group non-NULL, *group receives the entry's group.
 */
struct wdn_jwt *wdn_token_cache_get(struct wdn_token_cache *c, const unsigned char key[32],
                                    int64_t now, unsigned *group);
/**
 * Stores claims under key until expires_at (Unix seconds), in group (an issuer's index, for
 * wdn_token_cache_retain_keys); takes its own reference. Least recently used entries of the
 * shard go until the new one fits; a token larger than a shard's budget is not stored.
 */
void wdn_token_cache_put(struct wdn_token_cache *c, const unsigned char key[32], struct wdn_jwt *j,
                         int64_t expires_at, unsigned group);
/** Removes every entry of group whose verifying key is not in keys (after that group's key
 * set was swapped). Returns the number removed. */
size_t wdn_token_cache_retain_keys(struct wdn_token_cache *c, const struct wdn_jwks *keys,
                                   unsigned group);
/** Counters and current size. */
void wdn_token_cache_stats(struct wdn_token_cache *c, struct wdn_token_cache_stats *out);

#endif
