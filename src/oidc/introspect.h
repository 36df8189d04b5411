/* RFC 7662 token introspection for opaque bearer tokens: the sidecar asks the authorization
 * server whether a token is active, authenticating with its own client credentials
 * (client_secret_basic), and caches the answer. Fails closed: an endpoint that is down, slow
 * or answers nonsense makes the token "unavailable" (the middleware answers 503 with
 * Retry-After), never accepted.
 *
 * Never blocks the caller when it passes a wake function: a lookup that needs the endpoint
 * queues the call on the introspector's own threads and answers PENDING; wake(ud) is called
 * once the answer is stored, and the caller asks again (the second lookup answers from the
 * cache or the outcome table). Without a wake function the call is made on the caller's thread
 * (bounded by the timeout). */
#ifndef WDN_OIDC_INTROSPECT_H
#define WDN_OIDC_INTROSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/str.h"
#include "jose/jwt.h"

/** Caller-owned; strings are copied by wdn_introspector_new. */
struct wdn_introspect_config {
    const char *url;       /* the introspection endpoint, https */
    const char *client_id; /* the sidecar's own credentials (client_secret_basic) */
    const char *client_secret;
    const char *ca_file;          /* PEM CA bundle added to the system store; NULL = system */
    const char *issuer;           /* required: an answer's "iss" must equal it (absent: assumed) */
    const char *const *audiences; /* an answer's "aud" must contain one of these... */
    size_t n_audiences;
    bool skip_audience; /* ...unless the caller checks "aud" itself (RFC 8707) */
    const char *const *required_scopes;
    size_t n_required_scopes;
    int64_t clock_skew_s;   /* default 60 */
    unsigned timeout_ms;    /* one call, default 5000 */
    int64_t max_ttl_s;      /* an active answer is cached until its exp or this; default
                               300, 0 = never cached */
    int64_t negative_ttl_s; /* an inactive answer is remembered this long; default 10 */
    unsigned retry_ms;      /* after a failed call, lookups of new tokens answer UNAVAILABLE
                               this long without calling; default 1000 */
    size_t cache_bytes;     /* the active answers' cache; default 8 MiB */
    unsigned max_pending;   /* calls queued or running; more answer UNAVAILABLE; default 256 */
    unsigned threads;       /* default 2 */
};

/** Fills c with the defaults above and nothing else. */
void wdn_introspect_config_init(struct wdn_introspect_config *c);

/** An introspector: its threads, cache and outcome table. Opaque; thread-safe. */
struct wdn_introspector;

/** Appends "Authorization: Basic ..." for the endpoint's client credentials (RFC 7617 over
 * the form-encoded id and secret, as RFC 6749 2.3.1 says) to out, whose limit should be
 * WDN_INTROSPECT_AUTH_MAX_BYTES: WDN_ELIMIT when they do not fit. The configuration check uses
 * it too, so `warden check` refuses what the sidecar would. */
int wdn_introspect_auth_header(struct wdn_buf *out, const char *client_id,
                               const char *client_secret);

/** Starts the threads. NULL with d filled on a configuration error. Caller frees. */
struct wdn_introspector *wdn_introspector_new(const struct wdn_introspect_config *c,
                                              struct wdn_diag *d);
/** Stops the threads (calls in flight are abandoned; their waiters are woken) and frees. */
void wdn_introspector_free(struct wdn_introspector *in);

enum wdn_introspect_state {
    WDN_INTROSPECT_ACTIVE = 0,  /* *claims holds the answer's claims */
    WDN_INTROSPECT_REFUSED,     /* inactive, or active but failing a check: *why says which */
    WDN_INTROSPECT_UNAVAILABLE, /* endpoint down, slow, unreadable, or too many calls: 503 */
    WDN_INTROSPECT_PENDING,     /* asked; wake(ud) will be called once */
};

/**
 * Looks token up at time now (Unix seconds). ACTIVE sets *claims (a reference the caller
 * releases) and *cached. REFUSED sets *why (WDN_JWT_INACTIVE, WDN_JWT_WRONG_AUDIENCE, ...).
 * With wake set, a lookup that needs the endpoint answers PENDING and wake(ud) is called
 * exactly once, from another thread, when the answer is in (or the introspector is freed);
 * ud must stay valid until then. With wake NULL the call is made here.
 */
enum wdn_introspect_state wdn_introspect(struct wdn_introspector *in, struct wdn_str token,
                                         int64_t now, void (*wake)(void *ud), void *ud,
                                         struct wdn_jwt **claims, enum wdn_jwt_reason *why,
                                         bool *cached);

/**
 * Parses an introspection answer (RFC 7662 section 2.2) and checks it with rules at now:
 * "active" must be the JSON true (false: WDN_JWT_INACTIVE; absent or not a boolean, or not a
 * JSON object: WDN_JWT_MALFORMED, an unusable answer); then the claims go through the JWT
 * claim checks (exp, nbf, iat, iss, aud, scopes), with "iss" taken as rules->issuer when the
 * answer has none and "exp" as now + max_ttl_s when it has none. On WDN_JWT_OK *out holds the
 * claims. At most WDN_INTROSPECT_MAX_BYTES; pure, no I/O.
 */
enum wdn_jwt_reason wdn_introspect_parse(struct wdn_str body, const struct wdn_jwt_rules *rules,
                                         int64_t now, int64_t max_ttl_s, struct wdn_jwt **out);

/**
 * Stores body as the endpoint's answer for token at now, as a call would have (for benchmarks
 * and tests). Returns what the answer means (wdn_introspect_parse's reason).
 */
enum wdn_jwt_reason wdn_introspect_prime(struct wdn_introspector *in, struct wdn_str token,
                                         struct wdn_str body, int64_t now);

struct wdn_introspect_stats {
    uint64_t cache_hits, cache_misses, cache_entries, cache_bytes;
    uint64_t calls_ok, calls_failed; /* answers used; failures (down, slow, unreadable) */
    uint64_t active, inactive;       /* answers by outcome */
    uint64_t busy;                   /* lookups refused because max_pending calls were out */
    uint64_t pending;                /* calls queued or running now */
};

void wdn_introspect_stats(struct wdn_introspector *in, struct wdn_introspect_stats *out);

#endif
