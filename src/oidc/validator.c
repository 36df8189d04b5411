/* The validator: configuration, the key-refresh thread and the verify path.
 *
 * Threads. Request threads call wdn_oidc_verify; one refresh thread per validator fetches
 * discovery and JWKS documents with blocking wdn_fetch_stream calls (src/http/fetch.h). They share
 * the current key set through a pointer guarded by keys_mu, held only to copy the pointer and take
 * a reference, so verification never waits for a fetch. A key set is immutable; the refresh thread
 * builds a new one and swaps it in, and the old one is freed by whoever drops the last reference.
 */
#include "oidc/oidc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "oidc/discovery.h"
#include "oidc/fetch.h"
#include "oidc/token_cache.h"

struct wdn_oidc_validator {
    /* Immutable after creation. */
    char *issuer;
    char **audiences;
    size_t n_audiences;
    char **scopes;
    size_t n_scopes;
    char *jwks_url; /* configured; NULL for discovery */
    char *ca_file;
    char oidc_url[2048], oauth_url[2048];
    bool remote, discover;
    unsigned refresh_min_s, refresh_max_s, retry_ms, debounce_ms, timeout_ms;
    int64_t skew_s;
    struct wdn_jwt_rules rules;
    struct wdn_token_cache *cache; /* NULL when disabled */

    /* The current key set. */
    pthread_mutex_t keys_mu;
    struct wdn_jwks *keys;

    /* Refresh thread state, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t wake; /* to the refresh thread */
    pthread_cond_t done; /* from it, after each fetch */
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    bool refetch;
    bool fetching; /* a refresh is in progress: a new request would not see newer keys */
    bool last_failed;
    char *jwks_uri; /* from discovery, or a copy of jwks_url; refresh thread only */
    uint64_t fetch_ok, fetch_failed, refetch_kid;
    int64_t loaded_at;
    char last_error[512];

    atomic_uint_fast64_t last_refetch_ms;
};

void wdn_oidc_config_init(struct wdn_oidc_config *c)
{
    memset(c, 0, sizeof(*c));
    c->clock_skew_s = 60;
    c->refresh_min_s = 600;
    c->refresh_max_s = 86400;
    c->retry_ms = 10000;
    c->refetch_debounce_ms = 5000;
    c->fetch_timeout_ms = 10000;
    c->cache_bytes = WDN_TOKEN_CACHE_DEFAULT_BYTES;
}

const char *wdn_oidc_status_name(enum wdn_oidc_status s)
{
    switch (s) {
    case WDN_OIDC_FRESH:
        return "fresh";
    case WDN_OIDC_STALE:
        return "stale";
    default:
        return "never_loaded";
    }
}

static char **dup_list(const char *const *l, size_t n, bool *bad)
{
    char **out;

    if (n == 0)
        return NULL;
    out = calloc(n, sizeof(char *));
    if (out == NULL) {
        *bad = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = l[i] ? strdup(l[i]) : NULL;
        if (out[i] == NULL)
            *bad = true;
    }
    return out;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        free(l[i]);
    free(l);
}

/* Swaps in a new key set (taking over the caller's reference) and drops cached tokens whose
 * key is gone. */
static void swap_keys(struct wdn_oidc_validator *v, struct wdn_jwks *s)
{
    struct wdn_jwks *old;

    pthread_mutex_lock(&v->keys_mu);
    old = v->keys;
    v->keys = s;
    pthread_mutex_unlock(&v->keys_mu);
    if (v->cache != NULL)
        wdn_token_cache_retain_keys(v->cache, s, 0);
    wdn_jwks_release(old);
}

static struct wdn_jwks *get_keys(struct wdn_oidc_validator *v)
{
    struct wdn_jwks *s;

    pthread_mutex_lock(&v->keys_mu);
    s = wdn_jwks_ref(v->keys);
    pthread_mutex_unlock(&v->keys_mu);
    return s;
}

static int get_doc(struct wdn_oidc_validator *v, const char *url, size_t max,
                   struct wdn__oidc_fetch *f, struct wdn_diag *d)
{
    int rc = wdn__oidc_fetch(url, v->ca_file, v->timeout_ms, max, &v->stop, f, d);

    if (rc == 0 && f->status != 200)
        rc = wdn_diag_set(d, WDN_EHTTP_STATUS, "GET %s: HTTP status %ld", url, f->status);
    return rc;
}

/* Discovery: the OIDC document first, then RFC 8414's. */
static int discover(struct wdn_oidc_validator *v, struct wdn_diag *d)
{
    const char *urls[2] = {v->oidc_url, v->oauth_url};
    int rc = WDN_ENOTFOUND;

    for (int i = 0; i < 2; i++) {
        struct wdn__oidc_fetch f;
        wdn_buf_init(&f.body, WDN_OIDC_MAX_DISCOVERY_BYTES);
        rc = get_doc(v, urls[i], WDN_OIDC_MAX_DISCOVERY_BYTES, &f, d);
        if (rc == 0) {
            free(v->jwks_uri);
            v->jwks_uri = NULL;
            rc = wdn_oidc_discovery_parse(wdn_buf_str(&f.body), v->issuer, &v->jwks_uri, d);
        }
        wdn_buf_reset(&f.body);
        /* Only a missing document sends us to the other well-known path. */
        if (rc == 0 || !(rc == WDN_EHTTP_STATUS && f.status == 404))
            break;
    }
    return rc;
}

/* One refresh: discovery when needed, then the JWKS. Sets *next_ms to the delay until the
 * next scheduled refresh. */
static int refresh(struct wdn_oidc_validator *v, uint64_t *next_ms, struct wdn_diag *d)
{
    struct wdn__oidc_fetch f;
    struct wdn_jwks *s;
    int64_t interval;
    int rc;

    if (v->jwks_uri == NULL) {
        rc = v->discover ? discover(v, d) : WDN_ESTATE;
        if (rc != 0)
            return rc;
    }
    wdn_buf_init(&f.body, WDN_JWKS_MAX_BYTES);
    rc = get_doc(v, v->jwks_uri, WDN_JWKS_MAX_BYTES, &f, d);
    if (rc != 0)
        goto out;
    s = wdn_jwks_parse(wdn_buf_str(&f.body), d);
    if (s == NULL) {
        rc = d->code ? d->code : WDN_EPARSE;
        goto out;
    }
    if (wdn_jwks_count(s) == 0) {
        /* An empty set would refuse every token: keep the last good one instead. */
        wdn_jwks_release(s);
        rc = wdn_diag_set(d, WDN_EPARSE, "the JWKS at %s holds no usable signing key", v->jwks_uri);
        goto out;
    }
    swap_keys(v, s);
    interval = f.max_age;
    if (interval < (int64_t)v->refresh_min_s)
        interval = v->refresh_min_s;
    if (interval > (int64_t)v->refresh_max_s)
        interval = v->refresh_max_s;
    *next_ms = (uint64_t)interval * 1000;
    rc = 0;
out:
    if (rc != 0 && v->discover) {
        /* The issuer may have moved its keys: rediscover next time. */
        free(v->jwks_uri);
        v->jwks_uri = NULL;
    }
    wdn_buf_reset(&f.body);
    return rc;
}

static void deadline(struct timespec *ts, uint64_t ms_from_now)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms_from_now / 1000);
    ts->tv_nsec += (long)(ms_from_now % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *run(void *arg)
{
    struct wdn_oidc_validator *v = arg;
    uint64_t due = wdn_clock_mono_ms(); /* fetch at once */

    pthread_mutex_lock(&v->mu);
    while (!atomic_load(&v->stop)) {
        uint64_t now = wdn_clock_mono_ms(), next_ms = 0;
        struct wdn_diag d;
        int rc;

        if (!v->refetch && now < due) {
            struct timespec ts;
            deadline(&ts, due - now);
            pthread_cond_timedwait(&v->wake, &v->mu, &ts);
            continue;
        }
        v->refetch = false;
        v->fetching = true;
        pthread_mutex_unlock(&v->mu);
        wdn_diag_clear(&d);
        rc = refresh(v, &next_ms, &d);
        pthread_mutex_lock(&v->mu);
        v->fetching = false;
        if (rc == 0) {
            v->fetch_ok++;
            v->last_failed = false;
            v->loaded_at = wdn_clock_unix();
            v->last_error[0] = '\0';
            due = wdn_clock_mono_ms() + next_ms;
        } else {
            v->fetch_failed++;
            v->last_failed = true;
            wdn_fmt(v->last_error, sizeof(v->last_error), "%s",
                    d.msg[0] ? d.msg : wdn_strerror(rc));
            due = wdn_clock_mono_ms() + v->retry_ms;
        }
        pthread_cond_broadcast(&v->done);
    }
    pthread_mutex_unlock(&v->mu);
    /* This thread's OpenSSL contexts (used for thumbprints) go with it. */
    wdn_jose_thread_cleanup();
    return NULL;
}

struct wdn_oidc_validator *wdn_oidc_validator_new(const struct wdn_oidc_config *c,
                                                  struct wdn_diag *d)
{
    struct wdn_oidc_validator *v = calloc(1, sizeof(*v));
    pthread_condattr_t ca;
    bool bad = false;

    if (v == NULL) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&v->keys_mu, NULL);
    pthread_mutex_init(&v->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&v->wake, &ca);
    pthread_cond_init(&v->done, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&v->stop, false);
    atomic_init(&v->last_refetch_ms, 0);

    if (c->issuer == NULL || c->issuer[0] == '\0') {
        wdn_diag_set(d, WDN_ECONFIG, "the issuer is required");
        goto fail;
    }
    if (c->n_audiences == 0) {
        wdn_diag_set(d, WDN_ECONFIG, "at least one audience is required");
        goto fail;
    }
    for (size_t i = 0; i < c->n_audiences; i++) {
        if (c->audiences[i] == NULL || c->audiences[i][0] == '\0') {
            wdn_diag_set(d, WDN_ECONFIG, "audiences must not be empty");
            goto fail;
        }
    }
    if (c->clock_skew_s < 0 || c->clock_skew_s > 3600) {
        wdn_diag_set(d, WDN_ECONFIG, "clock skew must be 0 to 3600 seconds");
        goto fail;
    }
    v->issuer = strdup(c->issuer);
    v->audiences = dup_list(c->audiences, c->n_audiences, &bad);
    v->n_audiences = c->n_audiences;
    v->scopes = dup_list(c->required_scopes, c->n_required_scopes, &bad);
    v->n_scopes = c->n_required_scopes;
    v->ca_file = c->ca_file ? strdup(c->ca_file) : NULL;
    if (v->issuer == NULL || bad || (c->ca_file && v->ca_file == NULL)) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto fail;
    }
    v->skew_s = c->clock_skew_s;
    v->refresh_min_s = c->refresh_min_s ? c->refresh_min_s : 600;
    v->refresh_max_s = c->refresh_max_s > v->refresh_min_s ? c->refresh_max_s : v->refresh_min_s;
    v->retry_ms = c->retry_ms ? c->retry_ms : 10000;
    v->debounce_ms = c->refetch_debounce_ms;
    v->timeout_ms = c->fetch_timeout_ms ? c->fetch_timeout_ms : 10000;

    wdn_jwt_rules_init(&v->rules);
    v->rules.issuer = v->issuer;
    v->rules.audiences = (const char *const *)v->audiences;
    v->rules.n_audiences = v->n_audiences;
    v->rules.clock_skew_s = v->skew_s;
    v->rules.scopes = (const char *const *)v->scopes;
    v->rules.n_scopes = v->n_scopes;
    v->rules.allowed_algs = c->allowed_algs;

    if (c->cache_bytes > 0) {
        v->cache = wdn_token_cache_new(c->cache_bytes);
        if (v->cache == NULL) {
            wdn_diag_set(d, WDN_ENOMEM, "out of memory");
            goto fail;
        }
    }

    if (c->jwks_json != NULL) {
        struct wdn_jwks *s = wdn_jwks_parse(wdn_str_from_cstr(c->jwks_json), d);
        if (s == NULL)
            goto fail;
        if (wdn_jwks_count(s) == 0) {
            wdn_jwks_release(s);
            wdn_diag_set(d, WDN_ECONFIG, "the static JWKS holds no usable signing key");
            goto fail;
        }
        v->keys = s;
        v->loaded_at = wdn_clock_unix();
        return v;
    }
    v->remote = true;
    if (c->jwks_url != NULL) {
        if (!wdn_oidc_is_https_url(c->jwks_url)) {
            wdn_diag_set(d, WDN_ECONFIG, "jwksURL must be an https URL");
            goto fail;
        }
        v->jwks_url = strdup(c->jwks_url);
        v->jwks_uri = strdup(c->jwks_url);
        if (v->jwks_url == NULL || v->jwks_uri == NULL) {
            wdn_diag_set(d, WDN_ENOMEM, "out of memory");
            goto fail;
        }
    } else {
        v->discover = true;
        if (wdn_oidc_discovery_urls(v->issuer, v->oidc_url, sizeof(v->oidc_url), v->oauth_url,
                                    sizeof(v->oauth_url)) != 0) {
            wdn_diag_set(d, WDN_ECONFIG, "discovery needs an https issuer URL without query ('%s')",
                         v->issuer);
            goto fail;
        }
    }
    if (pthread_create(&v->thread, NULL, run, v) != 0) {
        wdn_diag_set(d, WDN_ESYS, "cannot start the key refresh thread");
        goto fail;
    }
    v->thread_started = true;
    return v;
fail:
    wdn_oidc_validator_free(v);
    return NULL;
}

void wdn_oidc_validator_free(struct wdn_oidc_validator *v)
{
    if (v == NULL)
        return;
    if (v->thread_started) {
        pthread_mutex_lock(&v->mu);
        atomic_store(&v->stop, true);
        pthread_cond_broadcast(&v->wake);
        pthread_mutex_unlock(&v->mu);
        pthread_join(v->thread, NULL);
    }
    wdn_token_cache_free(v->cache);
    wdn_jwks_release(v->keys);
    free(v->issuer);
    free_list(v->audiences, v->n_audiences);
    free_list(v->scopes, v->n_scopes);
    free(v->jwks_url);
    free(v->jwks_uri);
    free(v->ca_file);
    pthread_cond_destroy(&v->wake);
    pthread_cond_destroy(&v->done);
    pthread_mutex_destroy(&v->mu);
    pthread_mutex_destroy(&v->keys_mu);
    free(v);
}

/* An unknown kid may mean the issuer rotated keys: ask for a refetch, at most once per
 * debounce window however many such tokens arrive (an attacker can send random kids). The
 * window is claimed with one compare-and-swap, so a flood costs an atomic load per request. */
static void request_refetch(struct wdn_oidc_validator *v)
{
    uint64_t now = wdn_clock_mono_ms();
    uint_fast64_t last = atomic_load_explicit(&v->last_refetch_ms, memory_order_relaxed);

    if (last != 0 && now - last < v->debounce_ms)
        return;
    if (!atomic_compare_exchange_strong(&v->last_refetch_ms, &last, now))
        return;
    pthread_mutex_lock(&v->mu);
    /* A fetch already under way (the first load, typically) answers this request too. */
    if (!v->fetching) {
        v->refetch = true;
        v->refetch_kid++;
        pthread_cond_signal(&v->wake);
    }
    pthread_mutex_unlock(&v->mu);
}

enum wdn_jwt_reason wdn_oidc_verify(struct wdn_oidc_validator *v, struct wdn_str token, int64_t now,
                                    struct wdn_jwt **claims)
{
    return wdn_oidc_verify_ex(v, token, now, claims, NULL);
}

enum wdn_jwt_reason wdn_oidc_verify_ex(struct wdn_oidc_validator *v, struct wdn_str token,
                                       int64_t now, struct wdn_jwt **claims, bool *cached)
{
    unsigned char digest[32];
    struct wdn_jwks *keys;
    struct wdn_jwt *j = NULL;
    enum wdn_jwt_reason r;

    if (claims)
        *claims = NULL;
    if (cached)
        *cached = false;
    if (token.len > WDN_JWT_MAX_TOKEN_BYTES)
        return WDN_JWT_TOKEN_TOO_LARGE;
    if (v->cache != NULL) {
        if (wdn_jose_sha256(token.p, token.len, digest) != 0)
            return WDN_JWT_INTERNAL;
        j = wdn_token_cache_get(v->cache, digest, now, NULL);
        if (j != NULL) {
            if (cached)
                *cached = true;
            if (claims)
                *claims = j;
            else
                wdn_jwt_release(j);
            return WDN_JWT_OK;
        }
    }
    keys = get_keys(v);
    r = wdn_jwt_verify(keys, &v->rules, token, now, &j);
    wdn_jwks_release(keys);
    if (r == WDN_JWT_UNKNOWN_KID && v->remote)
        request_refetch(v);
    if (r == WDN_JWT_KEY_SET_NOT_LOADED && v->remote)
        request_refetch(v);
    if (r == WDN_JWT_OK && v->cache != NULL) {
        /* exp is the issuer's number and may be huge: saturate instead of overflowing. */
        int64_t exp = wdn_jwt_exp(j);
        int64_t until = exp > INT64_MAX - v->skew_s ? INT64_MAX : exp + v->skew_s;
        wdn_token_cache_put(v->cache, digest, j, until, 0);
    }
    if (claims)
        *claims = j;
    else
        wdn_jwt_release(j);
    return r;
}

enum wdn_oidc_status wdn_oidc_status(struct wdn_oidc_validator *v)
{
    enum wdn_oidc_status s;
    bool loaded;

    pthread_mutex_lock(&v->keys_mu);
    loaded = v->keys != NULL;
    pthread_mutex_unlock(&v->keys_mu);
    pthread_mutex_lock(&v->mu);
    s = !loaded ? WDN_OIDC_NEVER_LOADED : v->last_failed ? WDN_OIDC_STALE : WDN_OIDC_FRESH;
    pthread_mutex_unlock(&v->mu);
    return s;
}

void wdn_oidc_stats(struct wdn_oidc_validator *v, struct wdn_oidc_stats *out)
{
    struct wdn_jwks *keys = get_keys(v);

    memset(out, 0, sizeof(*out));
    if (v->cache != NULL) {
        struct wdn_token_cache_stats cs;
        wdn_token_cache_stats(v->cache, &cs);
        out->cache_hits = cs.hits;
        out->cache_misses = cs.misses;
        out->cache_entries = cs.entries;
        out->cache_evictions = cs.evictions;
        out->cache_evicted_size = cs.evicted_size;
        out->cache_bytes = cs.bytes;
        out->cache_max_bytes = cs.max_bytes;
    }
    out->keys = wdn_jwks_count(keys);
    wdn_jwks_release(keys);
    pthread_mutex_lock(&v->mu);
    out->fetch_ok = v->fetch_ok;
    out->fetch_failed = v->fetch_failed;
    out->refetch_unknown_kid = v->refetch_kid;
    out->loaded_at = v->loaded_at;
    pthread_mutex_unlock(&v->mu);
}

const char *wdn_oidc_last_error(struct wdn_oidc_validator *v, char *buf, size_t cap)
{
    pthread_mutex_lock(&v->mu);
    wdn_fmt(buf, cap, "%s", v->last_error);
    pthread_mutex_unlock(&v->mu);
    return buf;
}

void wdn_oidc_refresh_now(struct wdn_oidc_validator *v)
{
    pthread_mutex_lock(&v->mu);
    v->refetch = true;
    pthread_cond_signal(&v->wake);
    pthread_mutex_unlock(&v->mu);
}

bool wdn_oidc_wait_fetches(struct wdn_oidc_validator *v, uint64_t n, unsigned timeout_ms)
{
    struct timespec ts;
    bool ok;

    deadline(&ts, timeout_ms);
    pthread_mutex_lock(&v->mu);
    while (v->fetch_ok + v->fetch_failed < n) {
        if (pthread_cond_timedwait(&v->done, &v->mu, &ts) != 0)
            break;
    }
    ok = v->fetch_ok + v->fetch_failed >= n;
    pthread_mutex_unlock(&v->mu);
    return ok;
}
