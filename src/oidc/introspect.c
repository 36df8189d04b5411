/* RFC 7662 introspection: the answer parser, the call, the caches and the call threads.
 *
 * State. Active answers go to a verified-token cache (token_cache.c, keyed by the token's
 * SHA-256, bounded by memory) until min(exp, now + max_ttl). Every outcome also goes to a small
 * outcome table for a short while: inactive answers for negative_ttl (so a rejected token
 * repeated does not call again), failures for the retry window, and active answers for a few
 * seconds, so a request that waited for the call finds its answer when it runs again even if
 * the cache could not keep it. Calls in flight are listed by key, so concurrent lookups of one
 * token share one call.
 *
 * Failure. Any failure of a call (connection refused, timeout, TLS, a status other than 200,
 * an answer that is not an RFC 7662 object) counts as "unavailable": the middleware answers
 * 503 with Retry-After, never passes the request. After a failure, lookups of tokens not seen
 * before answer unavailable for retry_ms without calling: a down endpoint is not hammered,
 * and requests do not queue up behind timeouts. */
#include "oidc/introspect.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "base/json_scan.h"
#include "http/fetch.h"
#include "jose/crypto.h"
#include "oauth2/form.h"
#include "oidc/discovery.h"
#include "oidc/token_cache.h"

#define OUTCOMES WDN_INTROSPECT_OUTCOMES
#define PROBE 8
#define WAITERS WDN_INTROSPECT_MAX_WAITERS
#define ACTIVE_KEEP_MS 5000 /* an active outcome kept for the request that waited */

enum kind { K_EMPTY = 0, K_ACTIVE, K_REFUSED, K_FAILED };

struct outcome {
    unsigned char key[32];
    uint64_t until_ms;
    enum kind kind;
    enum wdn_jwt_reason why;
    struct wdn_jwt *jwt; /* K_ACTIVE */
};

struct waiter {
    void (*wake)(void *ud);
    void *ud;
};

struct job {
    struct job *next;
    bool running;
    unsigned char key[32];
    struct waiter w[WAITERS];
    size_t nw;
    size_t len;
    char token[];
};

/* What one call produced. */
struct result {
    enum kind kind;
    enum wdn_jwt_reason why;
    struct wdn_jwt *jwt;
    int64_t until; /* cache expiry, Unix seconds */
};

struct wdn_introspector {
    /* Immutable after creation. */
    char *url, *issuer, *ca_file;
    char *auth_header; /* "Authorization: Basic ..." */
    char **audiences, **scopes;
    size_t n_audiences, n_scopes;
    struct wdn_jwt_rules rules;
    unsigned timeout_ms, retry_ms, max_pending;
    int64_t max_ttl_s, negative_ttl_s;
    struct wdn_token_cache *cache;

    pthread_mutex_t mu;
    pthread_cond_t work;
    pthread_t *threads;
    unsigned n_threads;
    atomic_bool stop;
    struct job *jobs; /* queued and running, oldest first */
    unsigned n_pending;
    uint64_t down_until_ms;
    struct outcome out[OUTCOMES];
    uint64_t calls_ok, calls_failed, active, inactive, busy;
};

void wdn_introspect_config_init(struct wdn_introspect_config *c)
{
    memset(c, 0, sizeof(*c));
    c->clock_skew_s = 60;
    c->timeout_ms = 5000;
    c->max_ttl_s = 300;
    c->negative_ttl_s = 10;
    c->retry_ms = 1000;
    c->cache_bytes = WDN_TOKEN_CACHE_DEFAULT_BYTES;
    c->max_pending = 256;
    c->threads = 2;
}

/* ---- The answer ---------------------------------------------------------------------------- */

enum wdn_jwt_reason wdn_introspect_parse(struct wdn_str body, const struct wdn_jwt_rules *rules,
                                         int64_t now, int64_t max_ttl_s, struct wdn_jwt **out)
{
    json_t *doc, *active;

    *out = NULL;
    if (body.len > WDN_INTROSPECT_MAX_BYTES ||
        !wdn_json_depth_ok(body.p, body.len, WDN_JSON_MAX_DEPTH))
        return WDN_JWT_MALFORMED;
    doc = json_loadb(body.p, body.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return WDN_JWT_MALFORMED;
    }
    active = json_object_get(doc, "active");
    if (!json_is_boolean(active)) {
        json_decref(doc);
        return WDN_JWT_MALFORMED;
    }
    if (!json_is_true(active)) {
        json_decref(doc);
        return WDN_JWT_INACTIVE;
    }
    /* RFC 7662: everything but "active" is optional. The authorization server that answered
     * is the issuer; without "exp" the answer holds for the cache's time at most. */
    if (json_object_get(doc, "iss") == NULL && rules->issuer != NULL &&
        json_object_set_new(doc, "iss", json_string(rules->issuer)) != 0)
        goto nomem;
    if (json_object_get(doc, "exp") == NULL &&
        json_object_set_new(doc, "exp", json_integer(now + max_ttl_s)) != 0)
        goto nomem;
    return wdn_jwt_from_claims(doc, rules, now, out);
nomem:
    json_decref(doc);
    return WDN_JWT_INTERNAL;
}

/* ---- Outcomes (under mu) --------------------------------------------------------------------- */

static struct outcome *outcome_find(struct wdn_introspector *in, const unsigned char *key,
                                    uint64_t now_ms)
{
    uint32_t h;

    memcpy(&h, key, sizeof(h));
    for (unsigned i = 0; i < PROBE; i++) {
        struct outcome *o = &in->out[(h + i) & (OUTCOMES - 1)];
        if (o->kind != K_EMPTY && o->until_ms > now_ms && memcmp(o->key, key, 32) == 0)
            return o;
    }
    return NULL;
}

/* Stores an outcome, taking over r's claims reference; returns a reference to drop later. */
static struct wdn_jwt *outcome_put(struct wdn_introspector *in, const unsigned char *key,
                                   const struct result *r, uint64_t until_ms, uint64_t now_ms)
{
    struct outcome *slot = NULL;
    struct wdn_jwt *old;
    uint32_t h;

    memcpy(&h, key, sizeof(h));
    for (unsigned i = 0; i < PROBE; i++) {
        struct outcome *o = &in->out[(h + i) & (OUTCOMES - 1)];
        if (o->kind == K_EMPTY || o->until_ms <= now_ms || memcmp(o->key, key, 32) == 0) {
            slot = o;
            break;
        }
        if (slot == NULL || o->until_ms < slot->until_ms)
            slot = o;
    }
    old = slot->jwt;
    memcpy(slot->key, key, 32);
    slot->kind = r->kind;
    slot->why = r->why;
    slot->jwt = r->kind == K_ACTIVE ? wdn_jwt_ref(r->jwt) : NULL;
    slot->until_ms = until_ms;
    return old;
}

/* ---- The call ------------------------------------------------------------------------------ */

/* What an answer body means: active (cached until min(exp, now + max_ttl)), refused, or
 * unusable (a failure). */
static struct result result_of(struct wdn_introspector *in, struct wdn_str body, int64_t now)
{
    struct result r = {.kind = K_FAILED};

    r.why = wdn_introspect_parse(body, &in->rules, now, in->max_ttl_s, &r.jwt);
    if (r.why == WDN_JWT_OK) {
        int64_t exp = wdn_jwt_exp(r.jwt), cap = now + in->max_ttl_s;
        r.kind = K_ACTIVE;
        r.until = exp < cap ? exp : cap;
    } else if (r.why != WDN_JWT_MALFORMED && r.why != WDN_JWT_INTERNAL) {
        r.kind = K_REFUSED;
    }
    return r;
}

static struct result call(struct wdn_introspector *in, const char *token, size_t len, int64_t now)
{
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json", in->auth_header, NULL};
    struct result r = {.kind = K_FAILED, .why = WDN_JWT_INTERNAL};
    struct wdn_fetch_request req = {0};
    struct wdn_fetch_response resp;
    struct wdn_buf form;

    memset(&resp, 0, sizeof(resp));
    wdn_buf_init(&form, 4 * WDN_JWT_MAX_TOKEN_BYTES);
    if (wdn_buf_append_cstr(&form, "token=") != 0 ||
        wdn_form_encode(&form, (struct wdn_str){token, len}) != 0 ||
        wdn_buf_append_cstr(&form, "&token_type_hint=access_token") != 0)
        goto out;
    req.method = "POST";
    req.url = in->url;
    req.headers = headers;
    req.body = form.data;
    req.body_len = form.len;
    req.timeout_ms = (long)in->timeout_ms;
    req.ca_file = in->ca_file;
    req.max_response = WDN_INTROSPECT_MAX_BYTES;
    req.https_only = true;
    req.stop = &in->stop;
    if (wdn_fetch(&req, &resp, NULL) != 0 || resp.status != 200)
        goto out;
    r = result_of(in, wdn_buf_str(&resp.body), now);
out:
    wdn_fetch_response_reset(&resp);
    OPENSSL_cleanse(form.data, form.cap); /* it held the token */
    wdn_buf_reset(&form);
    return r;
}

/* Records a call's result (taking over its claims reference): the cache, the outcome table,
 * the counters and the failure window. Called with mu held; returns a claims reference to
 * drop after unlocking. */
static struct wdn_jwt *record(struct wdn_introspector *in, const unsigned char *key,
                              struct result *r, int64_t now)
{
    uint64_t now_ms = wdn_clock_mono_ms(), until_ms;
    struct wdn_jwt *drop;

    switch (r->kind) {
    case K_ACTIVE:
        in->calls_ok++;
        in->active++;
        if (in->cache != NULL && r->until > now)
            wdn_token_cache_put(in->cache, key, r->jwt, r->until, 0);
        until_ms = now_ms + ACTIVE_KEEP_MS;
        break;
    case K_REFUSED:
        in->calls_ok++;
        in->inactive++;
        until_ms = now_ms + (uint64_t)in->negative_ttl_s * 1000;
        break;
    default:
        in->calls_failed++;
        in->down_until_ms = now_ms + in->retry_ms;
        until_ms = now_ms + (in->retry_ms > 2000 ? in->retry_ms : 2000);
        break;
    }
    drop = outcome_put(in, key, r, until_ms, now_ms);
    if (r->kind == K_ACTIVE) {
        /* The outcome holds its own reference now; hand ours back with the old one. */
        wdn_jwt_release(drop);
        drop = r->jwt;
        r->jwt = NULL;
    }
    return drop;
}

/* An outcome as the caller's answer. */
static enum wdn_introspect_state answer(const struct outcome *o, struct wdn_jwt **claims,
                                        enum wdn_jwt_reason *why)
{
    switch (o->kind) {
    case K_ACTIVE:
        *claims = wdn_jwt_ref(o->jwt);
        return WDN_INTROSPECT_ACTIVE;
    case K_REFUSED:
        *why = o->why;
        return WDN_INTROSPECT_REFUSED;
    default:
        return WDN_INTROSPECT_UNAVAILABLE;
    }
}

/* ---- Threads ------------------------------------------------------------------------------- */

static void *run(void *arg)
{
    struct wdn_introspector *in = arg;

    pthread_mutex_lock(&in->mu);
    for (;;) {
        struct job *j = in->jobs, **pp;
        struct waiter w[WAITERS];
        struct result r;
        struct wdn_jwt *drop;
        size_t nw;

        while (j != NULL && j->running)
            j = j->next;
        if (atomic_load(&in->stop))
            break;
        if (j == NULL) {
            pthread_cond_wait(&in->work, &in->mu);
            continue;
        }
        j->running = true;
        pthread_mutex_unlock(&in->mu);
        r = call(in, j->token, j->len, wdn_clock_unix());
        pthread_mutex_lock(&in->mu);
        drop = record(in, j->key, &r, wdn_clock_unix());
        for (pp = &in->jobs; *pp != j; pp = &(*pp)->next)
            ;
        *pp = j->next;
        in->n_pending--;
        nw = j->nw;
        memcpy(w, j->w, nw * sizeof(w[0]));
        pthread_mutex_unlock(&in->mu);
        wdn_jwt_release(drop);
        /* Woken after the outcome is stored, so the next lookup finds it. */
        for (size_t i = 0; i < nw; i++)
            w[i].wake(w[i].ud);
        free(j);
        pthread_mutex_lock(&in->mu);
    }
    pthread_mutex_unlock(&in->mu);
    wdn_jose_thread_cleanup();
    return NULL;
}

/* ---- Life cycle ---------------------------------------------------------------------------- */

static char **dup_list(const char *const *l, size_t n, bool *bad)
{
    char **out = n ? WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(n, sizeof(char *))) : NULL;

    if (n && out == NULL)
        *bad = true;
    for (size_t i = 0; out && i < n; i++)
        if ((out[i] = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(l[i] ? l[i] : ""))) == NULL)
            *bad = true;
    return out;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        free(l[i]);
    free(l);
}

int wdn_introspect_auth_header(struct wdn_buf *out, const char *client_id,
                               const char *client_secret)
{
    if (wdn_buf_append_cstr(out, "Authorization: ") != 0)
        return WDN_ELIMIT;
    return wdn_form_basic_auth(out, client_id, client_secret);
}

struct wdn_introspector *wdn_introspector_new(const struct wdn_introspect_config *c,
                                              struct wdn_diag *d)
{
    struct wdn_introspector *in = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(1, sizeof(*in)));
    struct wdn_buf auth;
    bool bad = false;

    if (in == NULL) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&in->mu, NULL);
    pthread_cond_init(&in->work, NULL);
    atomic_init(&in->stop, false);
    wdn_buf_init(&auth, WDN_INTROSPECT_AUTH_MAX_BYTES);
    if (c->url == NULL || !wdn_oidc_is_https_url(c->url)) {
        wdn_diag_set(d, WDN_ECONFIG, "the introspection URL must be an https URL");
        goto fail;
    }
    if (c->client_id == NULL || c->client_secret == NULL || c->issuer == NULL ||
        c->issuer[0] == '\0') {
        wdn_diag_set(d, WDN_ECONFIG, "introspection needs client credentials and the issuer");
        goto fail;
    }
    if (c->n_audiences == 0 && !c->skip_audience) {
        wdn_diag_set(d, WDN_ECONFIG, "at least one audience is required");
        goto fail;
    }
    if (wdn_introspect_auth_header(&auth, c->client_id, c->client_secret) != 0) {
        wdn_diag_set(d, WDN_ECONFIG, "the introspection client credentials are too long");
        goto fail;
    }
    in->url = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(c->url));
    in->issuer = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(c->issuer));
    in->ca_file = c->ca_file ? WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(c->ca_file)) : NULL;
    in->auth_header = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(wdn_buf_cstr(&auth)));
    in->audiences = dup_list(c->audiences, c->n_audiences, &bad);
    in->n_audiences = c->n_audiences;
    in->scopes = dup_list(c->required_scopes, c->n_required_scopes, &bad);
    in->n_scopes = c->n_required_scopes;
    if (bad || !in->url || !in->issuer || !in->auth_header || (c->ca_file && !in->ca_file)) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto fail;
    }
    wdn_jwt_rules_init(&in->rules);
    in->rules.issuer = in->issuer;
    in->rules.audiences = (const char *const *)in->audiences;
    in->rules.n_audiences = in->n_audiences;
    in->rules.skip_audience = c->skip_audience && c->n_audiences == 0;
    in->rules.scopes = (const char *const *)in->scopes;
    in->rules.n_scopes = in->n_scopes;
    in->rules.clock_skew_s = c->clock_skew_s;
    in->timeout_ms = c->timeout_ms ? c->timeout_ms : 5000;
    in->retry_ms = c->retry_ms ? c->retry_ms : 1000;
    in->max_pending = c->max_pending ? c->max_pending : 256;
    in->max_ttl_s = c->max_ttl_s > 0 ? c->max_ttl_s : 1;
    in->negative_ttl_s = c->negative_ttl_s > 0 ? c->negative_ttl_s : 1;
    if (c->cache_bytes > 0 && (in->cache = wdn_token_cache_new(c->cache_bytes)) == NULL) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto fail;
    }
    in->threads =
        WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(c->threads ? c->threads : 2, sizeof(pthread_t)));
    if (in->threads == NULL) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < (c->threads ? c->threads : 2); i++) {
        if (pthread_create(&in->threads[i], NULL, run, in) != 0) {
            wdn_diag_set(d, WDN_ESYS, "cannot start an introspection thread");
            goto fail;
        }
        in->n_threads++;
    }
    wdn_buf_reset(&auth);
    return in;
fail:
    wdn_buf_reset(&auth);
    wdn_introspector_free(in);
    return NULL;
}

void wdn_introspector_free(struct wdn_introspector *in)
{
    struct job *j;

    if (in == NULL)
        return;
    pthread_mutex_lock(&in->mu);
    atomic_store(&in->stop, true);
    pthread_cond_broadcast(&in->work);
    pthread_mutex_unlock(&in->mu);
    for (unsigned i = 0; i < in->n_threads; i++)
        pthread_join(in->threads[i], NULL);
    /* Calls that never ran, or were abandoned: their waiters find no answer and ask again
     * of whatever replaced this introspector. */
    while ((j = in->jobs) != NULL) {
        in->jobs = j->next;
        for (size_t i = 0; i < j->nw; i++)
            j->w[i].wake(j->w[i].ud);
        free(j);
    }
    for (size_t i = 0; i < OUTCOMES; i++)
        wdn_jwt_release(in->out[i].jwt);
    wdn_token_cache_free(in->cache);
    free(in->threads);
    free(in->url);
    free(in->issuer);
    free(in->ca_file);
    if (in->auth_header)
        OPENSSL_cleanse(in->auth_header, strlen(in->auth_header));
    free(in->auth_header);
    free_list(in->audiences, in->n_audiences);
    free_list(in->scopes, in->n_scopes);
    pthread_cond_destroy(&in->work);
    pthread_mutex_destroy(&in->mu);
    free(in);
}

/* ---- Lookups ------------------------------------------------------------------------------- */

enum wdn_introspect_state wdn_introspect(struct wdn_introspector *in, struct wdn_str token,
                                         int64_t now, void (*wake)(void *ud), void *ud,
                                         struct wdn_jwt **claims, enum wdn_jwt_reason *why,
                                         bool *cached)
{
    unsigned char key[32];
    enum wdn_introspect_state st;
    struct outcome *o;
    struct job *j;
    struct result r;
    struct wdn_jwt *drop;
    uint64_t now_ms;

    *claims = NULL;
    *why = WDN_JWT_OK;
    *cached = false;
    if (token.len == 0 || token.len > WDN_JWT_MAX_TOKEN_BYTES) {
        *why = token.len ? WDN_JWT_TOKEN_TOO_LARGE : WDN_JWT_MALFORMED;
        return WDN_INTROSPECT_REFUSED;
    }
    if (wdn_jose_sha256(token.p, token.len, key) != 0)
        return WDN_INTROSPECT_UNAVAILABLE;
    if (in->cache != NULL && (*claims = wdn_token_cache_get(in->cache, key, now, NULL)) != NULL) {
        *cached = true;
        return WDN_INTROSPECT_ACTIVE;
    }
    now_ms = wdn_clock_mono_ms();
    pthread_mutex_lock(&in->mu);
    if ((o = outcome_find(in, key, now_ms)) != NULL) {
        st = answer(o, claims, why);
        *cached = true;
        pthread_mutex_unlock(&in->mu);
        return st;
    }
    if (now_ms < in->down_until_ms) {
        pthread_mutex_unlock(&in->mu);
        return WDN_INTROSPECT_UNAVAILABLE;
    }
    if (wake != NULL) {
        for (j = in->jobs; j != NULL; j = j->next) {
            if (memcmp(j->key, key, 32) == 0) {
                st = WDN_INTROSPECT_UNAVAILABLE;
                if (j->nw < WAITERS) {
                    j->w[j->nw++] = (struct waiter){wake, ud};
                    st = WDN_INTROSPECT_PENDING;
                }
                pthread_mutex_unlock(&in->mu);
                return st;
            }
        }
        if (in->n_pending >= in->max_pending ||
            (j = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, malloc(sizeof(*j) + token.len))) == NULL) {
            in->busy++;
            pthread_mutex_unlock(&in->mu);
            return WDN_INTROSPECT_UNAVAILABLE;
        }
        memset(j, 0, sizeof(*j));
        memcpy(j->key, key, 32);
        memcpy(j->token, token.p, token.len);
        j->len = token.len;
        j->w[0] = (struct waiter){wake, ud};
        j->nw = 1;
        /* Appended: oldest first. */
        struct job **pp = &in->jobs;
        while (*pp != NULL)
            pp = &(*pp)->next;
        *pp = j;
        in->n_pending++;
        pthread_cond_signal(&in->work);
        pthread_mutex_unlock(&in->mu);
        return WDN_INTROSPECT_PENDING;
    }
    pthread_mutex_unlock(&in->mu);
    /* No wake function: the call is made here. */
    r = call(in, token.p, token.len, now);
    pthread_mutex_lock(&in->mu);
    st = r.kind == K_ACTIVE    ? WDN_INTROSPECT_ACTIVE
         : r.kind == K_REFUSED ? WDN_INTROSPECT_REFUSED
                               : WDN_INTROSPECT_UNAVAILABLE;
    *why = r.why;
    if (r.kind == K_ACTIVE)
        *claims = wdn_jwt_ref(r.jwt);
    drop = record(in, key, &r, now);
    pthread_mutex_unlock(&in->mu);
    wdn_jwt_release(drop);
    return st;
}

enum wdn_jwt_reason wdn_introspect_prime(struct wdn_introspector *in, struct wdn_str token,
                                         struct wdn_str body, int64_t now)
{
    unsigned char key[32];
    struct result r;
    struct wdn_jwt *drop;

    if (wdn_jose_sha256(token.p, token.len, key) != 0)
        return WDN_JWT_INTERNAL;
    r = result_of(in, body, now);
    pthread_mutex_lock(&in->mu);
    drop = record(in, key, &r, now);
    pthread_mutex_unlock(&in->mu);
    wdn_jwt_release(drop);
    return r.why;
}

void wdn_introspect_stats(struct wdn_introspector *in, struct wdn_introspect_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (in->cache != NULL) {
        struct wdn_token_cache_stats cs;
        wdn_token_cache_stats(in->cache, &cs);
        out->cache_hits = cs.hits;
        out->cache_misses = cs.misses;
        out->cache_entries = cs.entries;
        out->cache_bytes = cs.bytes;
    }
    pthread_mutex_lock(&in->mu);
    out->calls_ok = in->calls_ok;
    out->calls_failed = in->calls_failed;
    out->active = in->active;
    out->inactive = in->inactive;
    out->busy = in->busy;
    out->pending = in->n_pending;
    pthread_mutex_unlock(&in->mu);
}
