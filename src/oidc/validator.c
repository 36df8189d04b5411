/* The validator: several trusted issuers, each with its audiences and a key source (keys.c),
 * one verified-token cache for all of them, and the verify path.
 *
 * Routing. A cache miss reads the token's "iss" with the pre-verification scanner (peek.c)
 * and picks the issuer with exactly that string; no such issuer refuses the token before any
 * key lookup, so an attacker's "iss" can neither choose keys nor cause a fetch. The chosen
 * issuer's rules compare "iss" again on the verified claims. Issuers naming the same key
 * source share one (one refresh thread, one key set); the cache groups entries by source, so
 * a key set swap drops only that source's tokens whose key left. */
#include "oidc/oidc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "oidc/keys.h"
#include "oidc/peek.h"
#include "oidc/token_cache.h"

#define MAX_ISSUERS WDN_OIDC_MAX_ISSUERS

struct trusted {
    char *issuer;
    char **audiences;
    size_t n_audiences;
    struct wdn_jwt_rules rules;
    size_t source; /* index into sources */
};

struct wdn_oidc_validator {
    struct trusted iss[MAX_ISSUERS];
    size_t n_iss;
    struct wdn__oidc_keys *sources[MAX_ISSUERS];
    char *source_ids[MAX_ISSUERS]; /* what makes two issuers share a source */
    size_t n_sources;
    char **scopes;
    size_t n_scopes;
    int64_t skew_s;
    struct wdn_token_cache *cache; /* NULL when disabled */
    atomic_uint_fast64_t unknown_issuer;
};

void wdn_oidc_config_init(struct wdn_oidc_config *c)
{
    memset(c, 0, sizeof(*c));
    c->clock_skew_s = 60;
    c->refresh_min_s = 600;
    c->refresh_max_s = 86400;
    c->retry_ms = 10000;
    c->refetch_min_ms = 1000;
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
    out = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(n, sizeof(char *)));
    if (out == NULL) {
        *bad = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = l[i] ? WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(l[i])) : NULL;
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

/* The refresh thread of a source swapped in a new key set: drop that source's cached tokens
 * whose key is gone. */
static void on_swap(void *ud, const struct wdn_jwks *keys, unsigned group)
{
    struct wdn_oidc_validator *v = ud;

    if (v->cache != NULL)
        wdn_token_cache_retain_keys(v->cache, keys, group);
}

/* The source for issuer e: an existing one with the same identity, or a new one. */
static int source_for(struct wdn_oidc_validator *v, const struct wdn_oidc_issuer *e,
                      const struct wdn_oidc_config *c, size_t *out, struct wdn_diag *d)
{
    struct wdn__oidc_keys_config kc = {0};
    const char *disc = e->discovery_issuer ? e->discovery_issuer : e->issuer;
    char *id = NULL;
    int n;

    if (e->jwks_json)
        n = WDN_FAULT_OR(WDN_FAULT_ALLOC, -1, asprintf(&id, "json:%s", e->jwks_json));
    else if (e->jwks_url)
        n = WDN_FAULT_OR(WDN_FAULT_ALLOC, -1, asprintf(&id, "url:%s", e->jwks_url));
    else
        n = WDN_FAULT_OR(WDN_FAULT_ALLOC, -1, asprintf(&id, "discovery:%s", disc));
    if (n < 0)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    for (size_t i = 0; i < v->n_sources; i++) {
        if (strcmp(v->source_ids[i], id) == 0) {
            free(id);
            *out = i;
            return 0;
        }
    }
    kc.issuer = disc;
    kc.jwks_json = e->jwks_json;
    kc.jwks_url = e->jwks_url;
    kc.ca_file = c->ca_file;
    kc.refresh_min_s = c->refresh_min_s;
    kc.refresh_max_s = c->refresh_max_s;
    kc.retry_ms = c->retry_ms;
    kc.refetch_min_ms = c->refetch_min_ms;
    kc.fetch_timeout_ms = c->fetch_timeout_ms;
    kc.on_swap = on_swap;
    kc.ud = v;
    kc.group = (unsigned)v->n_sources;
    /* Registered before the thread can call on_swap (the cache exists by now). */
    v->source_ids[v->n_sources] = id;
    v->sources[v->n_sources] = wdn__oidc_keys_new(&kc, d);
    if (v->sources[v->n_sources] == NULL) {
        free(id);
        v->source_ids[v->n_sources] = NULL;
        return d && d->code ? d->code : WDN_ECONFIG;
    }
    *out = v->n_sources++;
    return 0;
}

static int add_issuer(struct wdn_oidc_validator *v, const struct wdn_oidc_issuer *e,
                      const struct wdn_oidc_config *c, struct wdn_diag *d)
{
    struct trusted *t;
    bool bad = false;
    int rc;

    if (e->issuer == NULL || e->issuer[0] == '\0')
        return wdn_diag_set(d, WDN_ECONFIG, "the issuer is required");
    if (v->n_iss == MAX_ISSUERS)
        return wdn_diag_set(d, WDN_ECONFIG, "at most %d issuers", MAX_ISSUERS);
    for (size_t i = 0; i < v->n_iss; i++)
        if (strcmp(v->iss[i].issuer, e->issuer) == 0)
            return wdn_diag_set(d, WDN_ECONFIG, "issuer '%.200s' is listed twice", e->issuer);
    if (e->n_audiences == 0 && !c->skip_audience)
        return wdn_diag_set(d, WDN_ECONFIG, "at least one audience is required");
    for (size_t i = 0; i < e->n_audiences; i++)
        if (e->audiences[i] == NULL || e->audiences[i][0] == '\0')
            return wdn_diag_set(d, WDN_ECONFIG, "audiences must not be empty");
    t = &v->iss[v->n_iss];
    t->issuer = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(e->issuer));
    t->audiences = dup_list(e->audiences, e->n_audiences, &bad);
    t->n_audiences = e->n_audiences;
    v->n_iss++; /* freed with the validator from here on */
    if (t->issuer == NULL || bad)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    rc = source_for(v, e, c, &t->source, d);
    if (rc != 0)
        return rc;
    wdn_jwt_rules_init(&t->rules);
    t->rules.issuer = t->issuer;
    t->rules.audiences = (const char *const *)t->audiences;
    t->rules.n_audiences = t->n_audiences;
    t->rules.skip_audience = t->n_audiences == 0;
    t->rules.clock_skew_s = v->skew_s;
    t->rules.scopes = (const char *const *)v->scopes;
    t->rules.n_scopes = v->n_scopes;
    t->rules.allowed_algs = e->allowed_algs ? e->allowed_algs : c->allowed_algs;
    return 0;
}

struct wdn_oidc_validator *wdn_oidc_validator_new(const struct wdn_oidc_config *c,
                                                  struct wdn_diag *d)
{
    struct wdn_oidc_validator *v = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(1, sizeof(*v)));
    struct wdn_oidc_issuer single;
    const struct wdn_oidc_issuer *list = c->issuers;
    size_t n = c->n_issuers;
    bool bad = false;

    if (v == NULL) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&v->unknown_issuer, 0);
    if (c->clock_skew_s < 0 || c->clock_skew_s > 3600) {
        wdn_diag_set(d, WDN_ECONFIG, "clock skew must be 0 to 3600 seconds");
        goto fail;
    }
    v->skew_s = c->clock_skew_s;
    v->scopes = dup_list(c->required_scopes, c->n_required_scopes, &bad);
    v->n_scopes = c->n_required_scopes;
    if (bad) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto fail;
    }
    if (c->cache_bytes > 0) {
        v->cache = wdn_token_cache_new(c->cache_bytes);
        if (v->cache == NULL) {
            wdn_diag_set(d, WDN_ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (n == 0) {
        single = (struct wdn_oidc_issuer){.issuer = c->issuer,
                                          .audiences = c->audiences,
                                          .n_audiences = c->n_audiences,
                                          .jwks_json = c->jwks_json,
                                          .jwks_url = c->jwks_url};
        list = &single;
        n = 1;
    }
    for (size_t i = 0; i < n; i++)
        if (add_issuer(v, &list[i], c, d) != 0)
            goto fail;
    return v;
fail:
    wdn_oidc_validator_free(v);
    return NULL;
}

void wdn_oidc_validator_free(struct wdn_oidc_validator *v)
{
    if (v == NULL)
        return;
    /* Threads first: they call on_swap, which uses the cache. */
    for (size_t i = 0; i < v->n_sources; i++) {
        wdn__oidc_keys_free(v->sources[i]);
        free(v->source_ids[i]);
    }
    wdn_token_cache_free(v->cache);
    for (size_t i = 0; i < v->n_iss; i++) {
        free(v->iss[i].issuer);
        free_list(v->iss[i].audiences, v->iss[i].n_audiences);
    }
    free_list(v->scopes, v->n_scopes);
    free(v);
}

/* The issuer whose string the token's "iss" is, or NULL. */
static struct trusted *route(struct wdn_oidc_validator *v, struct wdn_str token,
                             enum wdn_jwt_reason *why)
{
    char iss[2048];
    size_t len = 0;
    int rc = wdn_oidc_peek_issuer(token, iss, sizeof(iss), &len);

    if (rc == WDN_EPARSE) {
        *why = WDN_JWT_MALFORMED;
        return NULL;
    }
    *why = WDN_JWT_WRONG_ISSUER;
    if (rc != 0)
        return NULL;
    for (size_t i = 0; i < v->n_iss; i++)
        if (wdn_str_eq((struct wdn_str){iss, len}, wdn_str_from_cstr(v->iss[i].issuer)))
            return &v->iss[i];
    return NULL;
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
    struct trusted *t;
    struct wdn__oidc_keys *src;
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
    t = route(v, token, &r);
    if (t == NULL) {
        if (r == WDN_JWT_WRONG_ISSUER)
            atomic_fetch_add_explicit(&v->unknown_issuer, 1, memory_order_relaxed);
        return r;
    }
    src = v->sources[t->source];
    keys = wdn__oidc_keys_get(src);
    r = wdn_jwt_verify(keys, &t->rules, token, now, &j);
    wdn_jwks_release(keys);
    if (r == WDN_JWT_UNKNOWN_KID || r == WDN_JWT_KEY_SET_NOT_LOADED)
        wdn__oidc_keys_want_refetch(src);
    if (r == WDN_JWT_OK && v->cache != NULL) {
        /* exp is the issuer's number and may be huge: saturate instead of overflowing. */
        int64_t exp = wdn_jwt_exp(j);
        int64_t until = exp > INT64_MAX - v->skew_s ? INT64_MAX : exp + v->skew_s;
        wdn_token_cache_put(v->cache, digest, j, until, (unsigned)t->source);
    }
    if (claims)
        *claims = j;
    else
        wdn_jwt_release(j);
    return r;
}

enum wdn_oidc_status wdn_oidc_status(struct wdn_oidc_validator *v)
{
    enum wdn_oidc_status worst = WDN_OIDC_FRESH;

    for (size_t i = 0; i < v->n_sources; i++) {
        enum wdn_oidc_status s = wdn__oidc_keys_status(v->sources[i]);
        if (s == WDN_OIDC_NEVER_LOADED)
            return s;
        if (s == WDN_OIDC_STALE)
            worst = s;
    }
    return worst;
}

void wdn_oidc_stats(struct wdn_oidc_validator *v, struct wdn_oidc_stats *out)
{
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
    for (size_t i = 0; i < v->n_sources; i++)
        wdn__oidc_keys_stats(v->sources[i], out);
    out->sources = v->n_sources;
    out->unknown_issuer = atomic_load_explicit(&v->unknown_issuer, memory_order_relaxed);
    if (out->sources_not_loaded)
        out->loaded_at = 0;
}

const char *wdn_oidc_last_error(struct wdn_oidc_validator *v, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < v->n_sources && buf[0] == '\0'; i++)
        wdn__oidc_keys_last_error(v->sources[i], buf, cap);
    return buf;
}

void wdn_oidc_refresh_now(struct wdn_oidc_validator *v)
{
    for (size_t i = 0; i < v->n_sources; i++)
        wdn__oidc_keys_refresh_now(v->sources[i]);
}

bool wdn_oidc_wait_fetches(struct wdn_oidc_validator *v, uint64_t n, unsigned timeout_ms)
{
    uint64_t start = 0, have = 0;

    for (size_t i = 0; i < v->n_sources; i++)
        start += wdn__oidc_keys_fetches(v->sources[i]);
    if (start >= n || v->n_sources == 0)
        return start >= n;
    if (v->n_sources == 1)
        return wdn__oidc_keys_wait_fetches(v->sources[0], n, timeout_ms);
    for (unsigned waited = 0; waited <= timeout_ms; waited += 20) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        have = 0;
        for (size_t i = 0; i < v->n_sources; i++)
            have += wdn__oidc_keys_fetches(v->sources[i]);
        if (have >= n)
            return true;
        nanosleep(&ts, NULL);
    }
    return false;
}
