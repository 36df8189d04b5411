/* A key source and its refresh thread.
 *
 * Threads. Request threads read the current key set; one refresh thread per remote source
 * fetches discovery and JWKS documents with blocking calls (oidc/fetch.h). They share the key
 * set through a pointer guarded by keys_mu, held only to copy the pointer and take a
 * reference, so verification never waits for a fetch. A key set is immutable; the refresh
 * thread builds a new one and swaps it in, and the old one is freed by whoever drops the last
 * reference.
 *
 * Refetches on an unknown kid. A token with a kid the set lacks may announce a rotation, or
 * may be an attacker's random kid. Fetch starts are spaced at least refetch_min_ms apart
 * (default 1 s) per source, whatever asks; a request that comes inside the window is not
 * dropped but remembered (one atomic flag) and served when the window ends. So a flood costs
 * the issuer one fetch per window, and a genuine new key is adopted within one window plus a
 * fetch of its first sighting: the flag is cleared when a fetch starts, so a kid first seen
 * while an older fetch is in flight asks for the next one. */
#include "oidc/keys.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "oidc/discovery.h"
#include "oidc/fetch.h"

struct wdn__oidc_keys {
    /* Immutable after creation. */
    char *issuer;
    char *jwks_url; /* configured; NULL for discovery */
    char *ca_file;
    char oidc_url[2048], oauth_url[2048];
    bool remote, discover;
    unsigned refresh_min_s, refresh_max_s, retry_ms, refetch_min_ms, timeout_ms;
    void (*on_swap)(void *ud, const struct wdn_jwks *keys, unsigned group);
    void *ud;
    unsigned group;

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
    atomic_bool pending; /* a refetch was asked for (unknown kid, no keys) */
    bool forced;         /* refresh_now: not rate-limited */
    bool last_failed;
    char *jwks_uri; /* from discovery, or a copy of jwks_url; refresh thread only */
    uint64_t fetch_ok, fetch_failed, refetch_kid;
    uint64_t last_start_ms; /* monotonic start of the latest fetch, 0 = none yet */
    int64_t loaded_at;
    char last_error[512];
};

static void swap_keys(struct wdn__oidc_keys *k, struct wdn_jwks *s)
{
    struct wdn_jwks *old;

    pthread_mutex_lock(&k->keys_mu);
    old = k->keys;
    k->keys = s;
    pthread_mutex_unlock(&k->keys_mu);
    if (k->on_swap != NULL)
        k->on_swap(k->ud, s, k->group);
    wdn_jwks_release(old);
}

struct wdn_jwks *wdn__oidc_keys_get(struct wdn__oidc_keys *k)
{
    struct wdn_jwks *s;

    pthread_mutex_lock(&k->keys_mu);
    s = wdn_jwks_ref(k->keys);
    pthread_mutex_unlock(&k->keys_mu);
    return s;
}

static int get_doc(struct wdn__oidc_keys *k, const char *url, size_t max, struct wdn__oidc_fetch *f,
                   struct wdn_diag *d)
{
    int rc = wdn__oidc_fetch(url, k->ca_file, k->timeout_ms, max, &k->stop, f, d);

    if (rc == 0 && f->status != 200)
        rc = wdn_diag_set(d, WDN_EHTTP_STATUS, "GET %s: HTTP status %ld", url, f->status);
    return rc;
}

/* Discovery: the OIDC document first, then RFC 8414's. */
static int discover(struct wdn__oidc_keys *k, struct wdn_diag *d)
{
    const char *urls[2] = {k->oidc_url, k->oauth_url};
    int rc = WDN_ENOTFOUND;

    for (int i = 0; i < 2; i++) {
        struct wdn__oidc_fetch f;
        wdn_buf_init(&f.body, WDN_OIDC_MAX_DISCOVERY_BYTES);
        rc = get_doc(k, urls[i], WDN_OIDC_MAX_DISCOVERY_BYTES, &f, d);
        if (rc == 0) {
            free(k->jwks_uri);
            k->jwks_uri = NULL;
            rc = wdn_oidc_discovery_parse(wdn_buf_str(&f.body), k->issuer, &k->jwks_uri, d);
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
static int refresh(struct wdn__oidc_keys *k, uint64_t *next_ms, struct wdn_diag *d)
{
    struct wdn__oidc_fetch f;
    struct wdn_jwks *s;
    int64_t interval;
    int rc;

    if (k->jwks_uri == NULL) {
        rc = k->discover ? discover(k, d) : WDN_ESTATE;
        if (rc != 0)
            return rc;
    }
    wdn_buf_init(&f.body, WDN_JWKS_MAX_BYTES);
    rc = get_doc(k, k->jwks_uri, WDN_JWKS_MAX_BYTES, &f, d);
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
        rc = wdn_diag_set(d, WDN_EPARSE, "the JWKS at %s holds no usable signing key", k->jwks_uri);
        goto out;
    }
    swap_keys(k, s);
    interval = f.max_age;
    if (interval < (int64_t)k->refresh_min_s)
        interval = k->refresh_min_s;
    if (interval > (int64_t)k->refresh_max_s)
        interval = k->refresh_max_s;
    *next_ms = (uint64_t)interval * 1000;
    rc = 0;
out:
    if (rc != 0 && k->discover) {
        /* The issuer may have moved its keys: rediscover next time. */
        free(k->jwks_uri);
        k->jwks_uri = NULL;
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

/* When the next fetch may start: the schedule, or the end of the rate-limit window when a
 * refetch is pending, or now when forced. */
static uint64_t next_start(struct wdn__oidc_keys *k, uint64_t due)
{
    if (k->forced)
        return 0;
    if (atomic_load(&k->pending)) {
        uint64_t open = k->last_start_ms ? k->last_start_ms + k->refetch_min_ms : 0;
        return open < due ? open : due;
    }
    return due;
}

static void *run(void *arg)
{
    struct wdn__oidc_keys *k = arg;
    uint64_t due = wdn_clock_mono_ms(); /* fetch at once */

    pthread_mutex_lock(&k->mu);
    while (!atomic_load(&k->stop)) {
        uint64_t now = wdn_clock_mono_ms(), next_ms = 0, start = next_start(k, due);
        struct wdn_diag d;
        int rc;

        if (now < start) {
            struct timespec ts;
            deadline(&ts, start - now);
            pthread_cond_timedwait(&k->wake, &k->mu, &ts);
            continue;
        }
        /* Cleared as the fetch starts: a kid first seen from now on asks for the next one. */
        atomic_store(&k->pending, false);
        k->forced = false;
        k->last_start_ms = now ? now : 1;
        pthread_mutex_unlock(&k->mu);
        wdn_diag_clear(&d);
        rc = refresh(k, &next_ms, &d);
        pthread_mutex_lock(&k->mu);
        if (rc == 0) {
            k->fetch_ok++;
            k->last_failed = false;
            k->loaded_at = wdn_clock_unix();
            k->last_error[0] = '\0';
            due = wdn_clock_mono_ms() + next_ms;
        } else {
            k->fetch_failed++;
            k->last_failed = true;
            wdn_fmt(k->last_error, sizeof(k->last_error), "%s",
                    d.msg[0] ? d.msg : wdn_strerror(rc));
            due = wdn_clock_mono_ms() + k->retry_ms;
        }
        pthread_cond_broadcast(&k->done);
    }
    pthread_mutex_unlock(&k->mu);
    /* This thread's OpenSSL contexts (used for thumbprints) go with it. */
    wdn_jose_thread_cleanup();
    return NULL;
}

static char *dup_or_null(const char *s, bool *bad)
{
    char *r;

    if (s == NULL)
        return NULL;
    r = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(s));
    if (r == NULL)
        *bad = true;
    return r;
}

struct wdn__oidc_keys *wdn__oidc_keys_new(const struct wdn__oidc_keys_config *c, struct wdn_diag *d)
{
    struct wdn__oidc_keys *k = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(1, sizeof(*k)));
    pthread_condattr_t ca;
    bool bad = false;

    if (k == NULL) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&k->keys_mu, NULL);
    pthread_mutex_init(&k->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->wake, &ca);
    pthread_cond_init(&k->done, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&k->stop, false);
    atomic_init(&k->pending, false);
    k->issuer = dup_or_null(c->issuer, &bad);
    k->ca_file = dup_or_null(c->ca_file, &bad);
    if (bad) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto fail;
    }
    k->refresh_min_s = c->refresh_min_s ? c->refresh_min_s : 600;
    k->refresh_max_s = c->refresh_max_s > k->refresh_min_s ? c->refresh_max_s : k->refresh_min_s;
    k->retry_ms = c->retry_ms ? c->retry_ms : 10000;
    k->refetch_min_ms = c->refetch_min_ms;
    k->timeout_ms = c->fetch_timeout_ms ? c->fetch_timeout_ms : 10000;
    k->on_swap = c->on_swap;
    k->ud = c->ud;
    k->group = c->group;

    if (c->jwks_json != NULL) {
        struct wdn_jwks *s = wdn_jwks_parse(wdn_str_from_cstr(c->jwks_json), d);
        if (s == NULL)
            goto fail;
        if (wdn_jwks_count(s) == 0) {
            wdn_jwks_release(s);
            wdn_diag_set(d, WDN_ECONFIG, "the static JWKS holds no usable signing key");
            goto fail;
        }
        k->keys = s;
        k->loaded_at = wdn_clock_unix();
        return k;
    }
    k->remote = true;
    if (c->jwks_url != NULL) {
        if (!wdn_oidc_is_https_url(c->jwks_url)) {
            wdn_diag_set(d, WDN_ECONFIG, "jwksURL must be an https URL");
            goto fail;
        }
        k->jwks_url = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(c->jwks_url));
        k->jwks_uri = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(c->jwks_url));
        if (k->jwks_url == NULL || k->jwks_uri == NULL) {
            wdn_diag_set(d, WDN_ENOMEM, "out of memory");
            goto fail;
        }
    } else {
        k->discover = true;
        if (k->issuer == NULL ||
            wdn_oidc_discovery_urls(k->issuer, k->oidc_url, sizeof(k->oidc_url), k->oauth_url,
                                    sizeof(k->oauth_url)) != 0) {
            wdn_diag_set(d, WDN_ECONFIG, "discovery needs an https issuer URL without query ('%s')",
                         k->issuer ? k->issuer : "");
            goto fail;
        }
    }
    if (pthread_create(&k->thread, NULL, run, k) != 0) {
        wdn_diag_set(d, WDN_ESYS, "cannot start the key refresh thread");
        goto fail;
    }
    k->thread_started = true;
    return k;
fail:
    wdn__oidc_keys_free(k);
    return NULL;
}

void wdn__oidc_keys_free(struct wdn__oidc_keys *k)
{
    if (k == NULL)
        return;
    if (k->thread_started) {
        pthread_mutex_lock(&k->mu);
        atomic_store(&k->stop, true);
        pthread_cond_broadcast(&k->wake);
        pthread_mutex_unlock(&k->mu);
        pthread_join(k->thread, NULL);
    }
    wdn_jwks_release(k->keys);
    free(k->issuer);
    free(k->jwks_url);
    free(k->jwks_uri);
    free(k->ca_file);
    pthread_cond_destroy(&k->wake);
    pthread_cond_destroy(&k->done);
    pthread_mutex_destroy(&k->mu);
    pthread_mutex_destroy(&k->keys_mu);
    free(k);
}

void wdn__oidc_keys_want_refetch(struct wdn__oidc_keys *k)
{
    if (!k->remote || atomic_load_explicit(&k->pending, memory_order_relaxed))
        return;
    if (atomic_exchange(&k->pending, true))
        return;
    pthread_mutex_lock(&k->mu);
    k->refetch_kid++;
    pthread_cond_signal(&k->wake);
    pthread_mutex_unlock(&k->mu);
}

enum wdn_oidc_status wdn__oidc_keys_status(struct wdn__oidc_keys *k)
{
    enum wdn_oidc_status s;
    bool loaded;

    pthread_mutex_lock(&k->keys_mu);
    loaded = k->keys != NULL;
    pthread_mutex_unlock(&k->keys_mu);
    pthread_mutex_lock(&k->mu);
    s = !loaded ? WDN_OIDC_NEVER_LOADED : k->last_failed ? WDN_OIDC_STALE : WDN_OIDC_FRESH;
    pthread_mutex_unlock(&k->mu);
    return s;
}

void wdn__oidc_keys_stats(struct wdn__oidc_keys *k, struct wdn_oidc_stats *out)
{
    struct wdn_jwks *keys = wdn__oidc_keys_get(k);

    out->keys += wdn_jwks_count(keys);
    wdn_jwks_release(keys);
    pthread_mutex_lock(&k->mu);
    out->fetch_ok += k->fetch_ok;
    out->fetch_failed += k->fetch_failed;
    out->refetch_unknown_kid += k->refetch_kid;
    if (out->loaded_at == 0 || (k->loaded_at != 0 && k->loaded_at < out->loaded_at))
        out->loaded_at = k->loaded_at;
    if (k->loaded_at == 0)
        out->sources_not_loaded++;
    pthread_mutex_unlock(&k->mu);
}

const char *wdn__oidc_keys_last_error(struct wdn__oidc_keys *k, char *buf, size_t cap)
{
    pthread_mutex_lock(&k->mu);
    wdn_fmt(buf, cap, "%s", k->last_error);
    pthread_mutex_unlock(&k->mu);
    return buf;
}

void wdn__oidc_keys_refresh_now(struct wdn__oidc_keys *k)
{
    pthread_mutex_lock(&k->mu);
    k->forced = true;
    pthread_cond_signal(&k->wake);
    pthread_mutex_unlock(&k->mu);
}

uint64_t wdn__oidc_keys_fetches(struct wdn__oidc_keys *k)
{
    uint64_t n;

    pthread_mutex_lock(&k->mu);
    n = k->fetch_ok + k->fetch_failed;
    pthread_mutex_unlock(&k->mu);
    return n;
}

bool wdn__oidc_keys_wait_fetches(struct wdn__oidc_keys *k, uint64_t n, unsigned timeout_ms)
{
    struct timespec ts;
    bool ok;

    deadline(&ts, timeout_ms);
    pthread_mutex_lock(&k->mu);
    while (k->fetch_ok + k->fetch_failed < n) {
        if (pthread_cond_timedwait(&k->done, &k->mu, &ts) != 0)
            break;
    }
    ok = k->fetch_ok + k->fetch_failed >= n;
    pthread_mutex_unlock(&k->mu);
    return ok;
}
