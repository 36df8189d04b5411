/* Internal to src/oidc: one key source (a static JWKS, a JWKS URL, or discovery from an issuer)
 * and its refresh thread. The validator (validator.c) owns one per distinct key source and
 * routes tokens to them by issuer. */
#ifndef WDN_OIDC_KEYS_H
#define WDN_OIDC_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/diag.h"
#include "jose/jwk.h"
#include "oidc/oidc.h"

struct wdn__oidc_keys;

/** Borrowed for wdn__oidc_keys_new (strings are copied). */
struct wdn__oidc_keys_config {
    const char *issuer;    /* discovery starts here, and its document must name it exactly */
    const char *jwks_json; /* static key set: no thread, no fetch */
    const char *jwks_url;  /* else this URL (https); else discovery */
    const char *ca_file;
    unsigned refresh_min_s, refresh_max_s, retry_ms, refetch_min_ms, fetch_timeout_ms;
    /* Called on the refresh thread after a new key set is in (to drop cached tokens whose key
     * is gone); NULL for none. */
    void (*on_swap)(void *ud, const struct wdn_jwks *keys, unsigned group);
    void *ud;
    unsigned group;
};

/** A key source; for remote ones the refresh thread starts at once and fetches. NULL + d on
 * a configuration error. */
struct wdn__oidc_keys *wdn__oidc_keys_new(const struct wdn__oidc_keys_config *c,
                                          struct wdn_diag *d);
/** Stops the thread (aborting a fetch) and frees. NULL ok. */
void wdn__oidc_keys_free(struct wdn__oidc_keys *k);
/** The current key set with a reference (caller releases), or NULL before the first load. */
struct wdn_jwks *wdn__oidc_keys_get(struct wdn__oidc_keys *k);
/**
 * A token named a kid the set lacks (or no set is loaded): asks for a refetch. Fetches start at
 * most once per refetch_min_ms per source; a request inside that window is remembered and
 * served when it ends, so a genuine new key is adopted at most one window (plus a fetch) after
 * it was first seen, however many unknown kids arrive. Costs one atomic load when a refetch is
 * already pending. No-op for static sources.
 */
void wdn__oidc_keys_want_refetch(struct wdn__oidc_keys *k);
enum wdn_oidc_status wdn__oidc_keys_status(struct wdn__oidc_keys *k);
/** Adds this source's counters (fetches, refetches, keys, loaded_at: the oldest) to out. */
void wdn__oidc_keys_stats(struct wdn__oidc_keys *k, struct wdn_oidc_stats *out);
const char *wdn__oidc_keys_last_error(struct wdn__oidc_keys *k, char *buf, size_t cap);
void wdn__oidc_keys_refresh_now(struct wdn__oidc_keys *k);
/** Fetch attempts finished so far (ok + failed). */
uint64_t wdn__oidc_keys_fetches(struct wdn__oidc_keys *k);
/** Waits up to timeout_ms for at least n fetch attempts in total. */
bool wdn__oidc_keys_wait_fetches(struct wdn__oidc_keys *k, uint64_t n, unsigned timeout_ms);

#endif
