/* middleware.http.bearer: OAuth2 bearer tokens (RFC 6750) checked as JWTs against the issuer's
 * key set. Dapr's metadata (issuer, audience, jwksURL) plus warden's additions (several
 * audiences, clockSkew, requiredScopes, forwardClaims, stripToken, resourceMetadata); see
 * docs/sidecar.md. The key set is fetched by a background thread per instance (discovery when
 * jwksURL is empty), so a request never waits on the network: until the first key set is in,
 * protected requests get 503, never 200. Verified tokens are cached by their SHA-256. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "jose/crypto.h"
#include "jose/jwt.h"
#include "pipeline/internal.h"

struct claim_fwd {
    char *claim;
    char *header;
};

struct centry {
    unsigned char hash[32];
    struct wdn_jwt *jwt; /* one reference, or NULL for an empty slot */
};

struct bearer {
    struct wdn__mw base;

    /* Configuration, immutable after create. */
    char *issuer;
    char *aud_store; /* audiences split in place */
    const char *audiences[WDN_JWT_MAX_AUDIENCES];
    size_t n_aud;
    char *scope_store;
    const char *scopes[WDN_JWT_MAX_SCOPES];
    size_t n_scopes;
    char *jwks_url;    /* configured, or NULL for discovery */
    char *jwks_inline; /* metadata "jwks": a fixed key set, no fetching */
    char *resource_metadata;
    char *www_missing;         /* WWW-Authenticate for a request without a token */
    char *required_scope_text; /* "a b c" for insufficient_scope challenges */
    struct claim_fwd *claims;
    size_t n_claims;
    bool strip_token;
    struct wdn_jwt_rules rules;
    char *ca_file;

    /* The current key set, swapped by the refresh thread. */
    pthread_mutex_t keys_mu;
    struct wdn_jwks *keys;
    atomic_bool loaded;
    atomic_size_t nkeys;
    atomic_uint_fast64_t refresh_ok, refresh_err, hits, misses;
    char last_error[256]; /* under keys_mu */

    /* The refresh thread. */
    pthread_t thr;
    bool thr_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, kick;
    uint64_t last_kick_ms;

    /* Verified tokens, direct-mapped by hash. */
    pthread_mutex_t cache_mu;
    struct centry *cache;
};

/* ---- Metadata ---------------------------------------------------------------------------- */

static int meta_err(struct wdn_diag *d, const struct wdn_res_component *c,
                    const struct wdn_res_meta_item *it, const char *msg, const char *what)
{
    const struct wdn_res_pos *p = it ? &it->pos : &c->spec.pos;
    return wdn_diag_set_at(d, WDN_ECONFIG, p->file, p->line, p->col,
                           "component '%s' (middleware.http.bearer): %s%s", c->metadata.name, msg,
                           what ? what : "");
}

/* Splits s in place on commas and whitespace into v (at most max entries). */
static size_t split_list(char *s, const char **v, size_t max, bool *overflow)
{
    size_t n = 0;
    char *p = s;

    *overflow = false;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (n == max) {
            *overflow = true;
            break;
        }
        v[n++] = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

/* "90", "90s", "2m", "1h" -> seconds. */
static int parse_duration(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return WDN_EINVAL;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        *out = v;
    else if (strcmp(end, "m") == 0)
        *out = v * 60;
    else if (strcmp(end, "h") == 0)
        *out = v * 3600;
    else
        return WDN_EINVAL;
    return *out > 3600 ? WDN_ERANGE : 0;
}

static bool is_token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool quotable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\' || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static int parse_claims(struct bearer *b, const char *spec)
{
    char *copy = strdup(spec), *p, *save = NULL;
    int rc = WDN_EINVAL;

    if (copy == NULL)
        return WDN_ENOMEM;
    b->claims = calloc(WDN_PIPELINE_MAX_EDITS, sizeof(*b->claims));
    if (b->claims == NULL) {
        rc = WDN_ENOMEM;
        goto out;
    }
    for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char *colon, *claim, *hdr;
        while (*p == ' ')
            p++;
        colon = strchr(p, ':');
        if (colon == NULL || b->n_claims >= WDN_PIPELINE_MAX_EDITS / 2)
            goto out;
        *colon = '\0';
        claim = p;
        hdr = colon + 1;
        while (*hdr == ' ')
            hdr++;
        for (char *e = hdr + strlen(hdr); e > hdr && e[-1] == ' ';)
            *--e = '\0';
        for (char *e = claim + strlen(claim); e > claim && e[-1] == ' ';)
            *--e = '\0';
        if (*claim == '\0' || *hdr == '\0')
            goto out;
        for (const char *h = hdr; *h; h++)
            if (!is_token_char(*h))
                goto out;
        b->claims[b->n_claims].claim = strdup(claim);
        b->claims[b->n_claims].header = strdup(hdr);
        if (!b->claims[b->n_claims].claim || !b->claims[b->n_claims].header) {
            b->n_claims++;
            rc = WDN_ENOMEM;
            goto out;
        }
        b->n_claims++;
    }
    rc = b->n_claims ? 0 : WDN_EINVAL;
out:
    free(copy);
    return rc;
}

static int apply_meta(struct bearer *b, const struct wdn_res_component *c, struct wdn_diag *d)
{
    const struct wdn_res_meta_item *it_iss = NULL, *it_aud = NULL;
    bool overflow;
    int rc = 0;

    for (size_t i = 0; i < c->spec.n_metadata && rc == 0; i++) {
        const struct wdn_res_meta_item *it = &c->spec.metadata[i];
        const char *n = it->name, *v = it->value;

        if (v == NULL) {
            rc = meta_err(d, c, it, "secretKeyRef is not supported for ", n);
            break;
        }
        if (strstr(v, "${")) {
            rc = meta_err(d, c, it, "an unexpanded variable in ", n);
            if (d)
                strncat(d->msg, " (expand it first, e.g. `envsubst < FILE | warden apply -f -`)",
                        sizeof(d->msg) - strlen(d->msg) - 1);
            break;
        }
        if (strcmp(n, "issuer") == 0 || strcmp(n, "issuerURL") == 0) {
            free(b->issuer);
            b->issuer = strdup(v);
            it_iss = it;
        } else if (strcmp(n, "audience") == 0 || strcmp(n, "clientID") == 0) {
            free(b->aud_store);
            b->aud_store = strdup(v);
            if (b->aud_store == NULL)
                return WDN_ENOMEM;
            b->n_aud = split_list(b->aud_store, b->audiences, WDN_JWT_MAX_AUDIENCES, &overflow);
            if (overflow)
                rc = meta_err(d, c, it, "too many audiences", NULL);
            it_aud = it;
        } else if (strcmp(n, "jwksURL") == 0 || strcmp(n, "jwksUrl") == 0) {
            free(b->jwks_url);
            b->jwks_url = *v ? strdup(v) : NULL;
            if (*v && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
                rc = meta_err(d, c, it, "jwksURL must be an http:// or https:// URL", NULL);
        } else if (strcmp(n, "jwks") == 0) {
            struct wdn_diag jd;
            struct wdn_jwks *ks = wdn_jwks_parse(wdn_str_from_cstr(v), &jd);
            free(b->jwks_inline);
            b->jwks_inline = strdup(v);
            if (ks == NULL || wdn_jwks_count(ks) == 0)
                rc = meta_err(d, c, it, "jwks must be a JSON Web Key Set with a usable key: ",
                              ks ? "none is usable" : jd.msg);
            wdn_jwks_release(ks);
        } else if (strcmp(n, "clockSkew") == 0) {
            if (parse_duration(v, &b->rules.clock_skew_s) != 0)
                rc = meta_err(d, c, it, "clockSkew must be a duration up to 1h: 90, 90s, 2m", NULL);
        } else if (strcmp(n, "requiredScopes") == 0) {
            free(b->scope_store);
            b->scope_store = strdup(v);
            if (b->scope_store == NULL)
                return WDN_ENOMEM;
            b->n_scopes = split_list(b->scope_store, b->scopes, WDN_JWT_MAX_SCOPES, &overflow);
            if (overflow)
                rc = meta_err(d, c, it, "too many requiredScopes", NULL);
            for (size_t k = 0; k < b->n_scopes && rc == 0; k++)
                if (!quotable(b->scopes[k]))
                    rc = meta_err(d, c, it, "a scope with a forbidden character", NULL);
        } else if (strcmp(n, "forwardClaims") == 0) {
            rc = parse_claims(b, v);
            if (rc == WDN_EINVAL)
                rc = meta_err(d, c, it,
                              "forwardClaims must be 'claim:Header-Name' pairs separated by "
                              "commas",
                              NULL);
        } else if (strcmp(n, "stripToken") == 0) {
            if (strcmp(v, "true") == 0)
                b->strip_token = true;
            else if (strcmp(v, "false") == 0)
                b->strip_token = false;
            else
                rc = meta_err(d, c, it, "stripToken must be true or false", NULL);
        } else if (strcmp(n, "resourceMetadata") == 0) {
            free(b->resource_metadata);
            b->resource_metadata = strdup(v);
            if (!quotable(v) || (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0))
                rc = meta_err(d, c, it, "resourceMetadata must be an http(s) URL", NULL);
        } else {
            rc = meta_err(d, c, it, "unknown metadata field ", n);
            if (d)
                strncat(d->msg,
                        " (known: issuer, audience, jwksURL, jwks, clockSkew, requiredScopes, "
                        "forwardClaims, stripToken, resourceMetadata)",
                        sizeof(d->msg) - strlen(d->msg) - 1);
        }
    }
    if (rc)
        return rc;
    if (b->issuer == NULL || *b->issuer == '\0')
        return meta_err(d, c, it_iss, "metadata property 'issuer' is required", NULL);
    if (b->n_aud == 0)
        return meta_err(d, c, it_aud, "metadata property 'audience' is required", NULL);
    if (b->jwks_url && b->jwks_inline)
        return meta_err(d, c, it_iss, "set jwksURL or jwks, not both", NULL);
    if (b->jwks_url == NULL && b->jwks_inline == NULL && strncmp(b->issuer, "https://", 8) != 0 &&
        strncmp(b->issuer, "http://", 7) != 0)
        return meta_err(d, c, it_iss,
                        "issuer must be an http(s) URL for discovery (or set jwksURL)", NULL);
    return 0;
}

/* ---- Key set refresh --------------------------------------------------------------------- */

#define BEARER_FETCH_TIMEOUT_MS 5000
#define BEARER_REFRESH_MAX_S 600 /* refreshed at least this often */
#define BEARER_REFRESH_MIN_S 60
#define BEARER_KICK_MIN_MS 5000 /* refetch on an unknown kid at most this often */

/* Records why a fetch failed: "<what> <url>: <detail>". */
static void set_error(struct bearer *b, const char *what, const char *url, const char *detail)
{
    pthread_mutex_lock(&b->keys_mu);
    wdn_fmt(b->last_error, sizeof(b->last_error), "%s %s: %s", what, url ? url : "",
            detail ? detail : "");
    pthread_mutex_unlock(&b->keys_mu);
}

static int64_t max_age(const char *cc)
{
    const char *p = strstr(cc, "max-age=");
    long long v;

    if (p == NULL)
        return -1;
    v = strtoll(p + 8, NULL, 10);
    return v > 0 ? v : -1;
}

/* Discovery (OpenID Connect Discovery 1.0, issuer compared byte for byte as Dapr does):
 * returns a malloc'd jwks_uri or NULL. */
static char *discover(struct bearer *b)
{
    struct wdn_fetch_request rq = {.timeout_ms = BEARER_FETCH_TIMEOUT_MS,
                                   .ca_file = b->ca_file,
                                   .max_response = WDN_OIDC_MAX_DISCOVERY_BYTES};
    struct wdn_fetch_response resp;
    struct wdn_diag d;
    char url[2048];
    size_t ilen = strlen(b->issuer);
    json_t *doc = NULL;
    char *out = NULL;

    if (ilen && b->issuer[ilen - 1] == '/')
        ilen--;
    if (wdn_fmt(url, sizeof(url), "%.*s/.well-known/openid-configuration", (int)ilen, b->issuer) !=
        0) {
        set_error(b, "discovery", b->issuer, "issuer URL too long");
        return NULL;
    }
    rq.url = url;
    wdn_diag_clear(&d);
    if (wdn_fetch(&rq, &resp, &d) != 0) {
        set_error(b, "discovery", url, d.msg);
        goto out;
    }
    if (resp.status != 200) {
        char st[32];
        wdn_fmt(st, sizeof(st), "status %ld", resp.status);
        set_error(b, "discovery", url, st);
        goto out;
    }
    doc = json_loadb(resp.body.data, resp.body.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        set_error(b, "discovery", url, "not a JSON object");
        goto out;
    }
    if (!json_is_string(json_object_get(doc, "issuer")) ||
        strcmp(json_string_value(json_object_get(doc, "issuer")), b->issuer) != 0) {
        set_error(b, "discovery", url,
                  "the issuer in the document does not match the configured issuer");
        goto out;
    }
    if (!json_is_string(json_object_get(doc, "jwks_uri")) ||
        json_string_length(json_object_get(doc, "jwks_uri")) == 0) {
        set_error(b, "discovery", url, "the document does not contain a 'jwks_uri'");
        goto out;
    }
    out = strdup(json_string_value(json_object_get(doc, "jwks_uri")));
out:
    json_decref(doc);
    wdn_fetch_response_reset(&resp);
    return out;
}

/* One refresh. Returns 0 and the next interval, or an error (the last good set stays). */
static int refresh(struct bearer *b, char **discovered, int64_t *next_s)
{
    struct wdn_fetch_request rq = {.timeout_ms = BEARER_FETCH_TIMEOUT_MS,
                                   .ca_file = b->ca_file,
                                   .max_response = WDN_JWKS_MAX_BYTES};
    struct wdn_fetch_response resp;
    struct wdn_jwks *set = NULL, *old;
    struct wdn_diag d;
    int64_t age;
    int rc = WDN_EIO;

    memset(&resp, 0, sizeof(resp));
    if (b->jwks_url == NULL && *discovered == NULL) {
        *discovered = discover(b);
        if (*discovered == NULL)
            return WDN_EIO;
    }
    rq.url = b->jwks_url ? b->jwks_url : *discovered;
    wdn_diag_clear(&d);
    if (wdn_fetch(&rq, &resp, &d) != 0) {
        set_error(b, "JWKS", rq.url, d.msg);
        goto out;
    }
    if (resp.status != 200) {
        char st[32];
        wdn_fmt(st, sizeof(st), "status %ld", resp.status);
        set_error(b, "JWKS", rq.url, st);
        goto out;
    }
    set = wdn_jwks_parse((struct wdn_str){resp.body.data, resp.body.len}, &d);
    if (set == NULL) {
        set_error(b, "JWKS", rq.url, d.msg);
        goto out;
    }
    if (wdn_jwks_count(set) == 0) {
        set_error(b, "JWKS", rq.url, "no usable signing key");
        goto out;
    }
    pthread_mutex_lock(&b->keys_mu);
    old = b->keys;
    b->keys = set;
    b->last_error[0] = '\0';
    pthread_mutex_unlock(&b->keys_mu);
    atomic_store(&b->nkeys, wdn_jwks_count(set));
    atomic_store(&b->loaded, true);
    set = old;
    age = max_age(resp.cache_control);
    *next_s = BEARER_REFRESH_MAX_S;
    if (age > 0 && age < *next_s)
        *next_s = age < BEARER_REFRESH_MIN_S ? BEARER_REFRESH_MIN_S : age;
    rc = 0;
out:
    if (rc && *discovered) {
        /* Rediscover next time: the issuer may have moved its keys. */
        free(*discovered);
        *discovered = NULL;
    }
    wdn_jwks_release(set);
    wdn_fetch_response_reset(&resp);
    return rc;
}

static void *refresh_main(void *arg)
{
    struct bearer *b = arg;
    char *discovered = NULL;
    unsigned failures = 0;

    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        int64_t next_s = BEARER_REFRESH_MAX_S;
        struct timespec until;
        int rc;

        b->kick = false;
        pthread_mutex_unlock(&b->mu);
        rc = refresh(b, &discovered, &next_s);
        if (rc == 0) {
            atomic_fetch_add(&b->refresh_ok, 1);
            failures = 0;
        } else {
            atomic_fetch_add(&b->refresh_err, 1);
            /* Before the first key set, retry quickly (1, 2, 4 ... 30 s); afterwards the last
             * good set serves while we retry (5, 10 ... 300 s). */
            if (!atomic_load(&b->loaded))
                next_s = failures >= 5 ? 30 : (1 << failures);
            else
                next_s = failures >= 6 ? 300 : (5 << failures);
            failures++;
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += next_s;
        pthread_mutex_lock(&b->mu);
        while (!b->stop && !b->kick)
            if (pthread_cond_timedwait(&b->cv, &b->mu, &until) == ETIMEDOUT)
                break;
    }
    pthread_mutex_unlock(&b->mu);
    free(discovered);
    wdn_jose_thread_cleanup();
    return NULL;
}

static void kick(struct bearer *b)
{
    uint64_t now = wdn_clock_mono_ms();

    pthread_mutex_lock(&b->mu);
    if (b->last_kick_ms == 0 || now - b->last_kick_ms >= BEARER_KICK_MIN_MS) {
        b->last_kick_ms = now;
        b->kick = true;
        pthread_cond_signal(&b->cv);
    }
    pthread_mutex_unlock(&b->mu);
}

/* ---- Instance ---------------------------------------------------------------------------- */

static void bearer_destroy(struct wdn__mw *m)
{
    struct bearer *b = (struct bearer *)m;

    if (b->thr_started) {
        pthread_mutex_lock(&b->mu);
        b->stop = true;
        pthread_cond_signal(&b->cv);
        pthread_mutex_unlock(&b->mu);
        pthread_join(b->thr, NULL);
    }
    if (b->cache) {
        for (size_t i = 0; i < WDN_PIPELINE_TOKEN_CACHE_SLOTS; i++)
            wdn_jwt_release(b->cache[i].jwt);
        free(b->cache);
    }
    wdn_jwks_release(b->keys);
    for (size_t i = 0; i < b->n_claims; i++) {
        free(b->claims[i].claim);
        free(b->claims[i].header);
    }
    free(b->claims);
    free(b->issuer);
    free(b->aud_store);
    free(b->scope_store);
    free(b->jwks_url);
    free(b->jwks_inline);
    free(b->resource_metadata);
    free(b->www_missing);
    free(b->required_scope_text);
    free(b->ca_file);
    pthread_mutex_destroy(&b->keys_mu);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->cache_mu);
    free(b);
}

static int bearer_create(const struct wdn_res_component *c, struct wdn__mw **out,
                         struct wdn_diag *d)
{
    struct bearer *b = calloc(1, sizeof(*b));
    struct wdn_buf w;
    const char *ca;
    int rc = WDN_ENOMEM;

    *out = NULL;
    wdn_buf_init(&w, 8192);
    if (b == NULL)
        return WDN_ENOMEM;
    pthread_mutex_init(&b->keys_mu, NULL);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    pthread_mutex_init(&b->cache_mu, NULL);
    b->base.vt = &wdn__mw_bearer;
    wdn_jwt_rules_init(&b->rules);
    rc = apply_meta(b, c, d);
    if (rc)
        goto out;
    rc = WDN_ENOMEM;
    b->rules.issuer = b->issuer;
    b->rules.audiences = b->audiences;
    b->rules.n_audiences = b->n_aud;
    b->rules.scopes = b->scopes;
    b->rules.n_scopes = b->n_scopes;
    ca = wdn_fetch_ca_file_from_env();
    if (ca && (b->ca_file = strdup(ca)) == NULL)
        goto out;
    if (wdn_buf_append_cstr(&w, "Bearer") != 0)
        goto out;
    if (b->resource_metadata &&
        wdn_buf_printf(&w, " resource_metadata=\"%s\"", b->resource_metadata) != 0)
        goto out;
    b->www_missing = strdup(wdn_buf_cstr(&w));
    wdn_buf_reset(&w);
    for (size_t i = 0; i < b->n_scopes; i++)
        if (wdn_buf_printf(&w, "%s%s", i ? " " : "", b->scopes[i]) != 0)
            goto out;
    b->required_scope_text = strdup(w.len ? wdn_buf_cstr(&w) : "");
    b->cache = calloc(WDN_PIPELINE_TOKEN_CACHE_SLOTS, sizeof(*b->cache));
    if (!b->www_missing || !b->required_scope_text || !b->cache)
        goto out;
    if (b->jwks_inline) {
        /* A fixed key set: loaded once, never fetched. */
        b->keys = wdn_jwks_parse(wdn_str_from_cstr(b->jwks_inline), NULL);
        if (b->keys == NULL)
            goto out;
        atomic_store(&b->nkeys, wdn_jwks_count(b->keys));
        atomic_store(&b->loaded, true);
        *out = &b->base;
        b = NULL;
        rc = 0;
        goto out;
    }
    if (pthread_create(&b->thr, NULL, refresh_main, b) != 0) {
        rc = WDN_ESYS;
        goto out;
    }
    b->thr_started = true;
    *out = &b->base;
    b = NULL;
    rc = 0;
out:
    wdn_buf_reset(&w);
    if (b)
        bearer_destroy(&b->base);
    return rc;
}

static bool bearer_ready(struct wdn__mw *m)
{
    return atomic_load(&((struct bearer *)m)->loaded);
}

static void bearer_stats(struct wdn__mw *m, struct wdn_mw_stats *s)
{
    struct bearer *b = (struct bearer *)m;

    s->keys_loaded = atomic_load(&b->loaded);
    s->keys = atomic_load(&b->nkeys);
    s->refresh_ok = atomic_load(&b->refresh_ok);
    s->refresh_errors = atomic_load(&b->refresh_err);
    s->cache_hits = atomic_load(&b->hits);
    s->cache_misses = atomic_load(&b->misses);
    pthread_mutex_lock(&b->keys_mu);
    memcpy(s->last_error, b->last_error, sizeof(s->last_error));
    pthread_mutex_unlock(&b->keys_mu);
}

/* ---- Per request ------------------------------------------------------------------------- */

static const struct wdn_http_header plain = {{"Content-Type", 12},
                                             {"text/plain; charset=utf-8", 25}};

static void deny(struct bearer *b, struct wdn_pipeline_out *out, int status,
                 enum wdn_mw_reason reason, struct wdn_str challenge)
{
    out->status = status;
    out->reason = reason;
    out->headers[0] = plain;
    out->nheaders = 1;
    if (challenge.len) {
        out->headers[1].name = WDN_STR("WWW-Authenticate");
        out->headers[1].value = challenge;
        out->nheaders = 2;
    }
    if (status == 503) {
        out->headers[out->nheaders].name = WDN_STR("Retry-After");
        out->headers[out->nheaders].value = WDN_STR("1");
        out->nheaders++;
        out->body = WDN_STR("Service Unavailable: the token issuer's key set has not been "
                            "loaded yet; retry shortly");
    } else if (status == 403) {
        out->body = WDN_STR("Forbidden");
    } else {
        out->body = WDN_STR("Unauthorized");
    }
}

/* Builds 'Bearer error="E", error_description="D"[, scope="S"][, resource_metadata="R"]' in
 * the request's arena (D is a static sentence without quotes). */
static struct wdn_str challenge(struct bearer *b, struct wdn_arena *a, const char *err,
                                const char *desc, bool with_scope)
{
    char buf[2048];
    int rc;

    rc =
        wdn_fmt(buf, sizeof(buf), "Bearer error=\"%s\", error_description=\"%s\"%s%s%s%s%s%s", err,
                desc, with_scope ? ", scope=\"" : "", with_scope ? b->required_scope_text : "",
                with_scope ? "\"" : "", b->resource_metadata ? ", resource_metadata=\"" : "",
                b->resource_metadata ? b->resource_metadata : "", b->resource_metadata ? "\"" : "");
    if (rc != 0)
        return WDN_STR("Bearer error=\"invalid_token\"");
    char *s = wdn_arena_strdup(a, wdn_str_from_cstr(buf));
    return s ? wdn_str_from_cstr(s) : WDN_STR("Bearer error=\"invalid_token\"");
}

/* True when the query string carries an access_token parameter (RFC 6750 section 2.3), which
 * warden refuses: URLs end up in logs and Referer headers. */
static bool token_in_query(struct wdn_str q)
{
    while (q.len) {
        long amp = wdn_str_index(q, '&');
        struct wdn_str part = {q.p, amp < 0 ? q.len : (size_t)amp};
        if (wdn_str_has_prefix(part, WDN_STR("access_token=")) ||
            wdn_str_eq_cstr(part, "access_token"))
            return true;
        if (amp < 0)
            break;
        q.p += amp + 1;
        q.len -= (size_t)amp + 1;
    }
    return false;
}

static struct wdn_jwt *cache_get(struct bearer *b, const unsigned char h[32],
                                 const struct wdn_jwks *keys, int64_t now)
{
    struct centry *e =
        &b->cache[(h[0] | (h[1] << 8) | ((size_t)h[2] << 16)) % WDN_PIPELINE_TOKEN_CACHE_SLOTS];
    struct wdn_jwt *j = NULL;

    pthread_mutex_lock(&b->cache_mu);
    if (e->jwt && memcmp(e->hash, h, 32) == 0)
        j = wdn_jwt_ref(e->jwt);
    pthread_mutex_unlock(&b->cache_mu);
    /* A cached token stays good only while it has not expired and the key that verified it is
     * still in the current key set (a rotated-out key revokes its tokens). */
    if (j && (now > wdn_jwt_exp(j) + b->rules.clock_skew_s ||
              !wdn_jwks_has_thumbprint(keys, wdn_jwt_key_thumbprint(j)))) {
        wdn_jwt_release(j);
        j = NULL;
    }
    return j;
}

static void cache_put(struct bearer *b, const unsigned char h[32], struct wdn_jwt *j)
{
    struct centry *e =
        &b->cache[(h[0] | (h[1] << 8) | ((size_t)h[2] << 16)) % WDN_PIPELINE_TOKEN_CACHE_SLOTS];
    struct wdn_jwt *old;

    pthread_mutex_lock(&b->cache_mu);
    old = e->jwt;
    memcpy(e->hash, h, 32);
    e->jwt = wdn_jwt_ref(j);
    pthread_mutex_unlock(&b->cache_mu);
    wdn_jwt_release(old);
}

/* A claim's value as header text, or NULL when absent or unsafe in a header. */
static char *claim_value(const struct wdn_jwt *j, const char *name, struct wdn_arena *a)
{
    const char *s = wdn_jwt_claim_string(j, name);
    char *json = NULL, *out = NULL;

    if (s == NULL) {
        json = wdn_jwt_claim_json(j, name);
        s = json;
    }
    if (s == NULL || strlen(s) > WDN_MCP_MAX_HEADER_VALUE)
        goto out;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            goto out;
    out = wdn_arena_strdup(a, wdn_str_from_cstr(s));
out:
    free(json);
    return out;
}

/* Copies the token's scopes and claims (as text) into the request's arena for later checks. */
static void export_auth(const struct wdn_jwt *j, struct wdn_arena *a, struct wdn_pipeline_out *out)
{
    size_t ns = wdn_jwt_scope_count(j);
    const json_t *claims = wdn_jwt_claims(j);
    const char *key;
    json_t *v;

    out->scopes = ns ? wdn_arena_alloc(a, ns * sizeof(*out->scopes)) : NULL;
    for (size_t i = 0; out->scopes && i < ns; i++) {
        char *s = wdn_arena_strdup(a, wdn_jwt_scope(j, i));
        if (s)
            out->scopes[out->n_scopes++] = s;
    }
    out->claims = wdn_arena_alloc(a, WDN_PIPELINE_MAX_CLAIMS * sizeof(*out->claims));
    if (out->claims == NULL || !json_is_object(claims))
        return;
    json_object_foreach ((json_t *)claims, key, v) {
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t i = 0; i < n && out->n_claims < WDN_PIPELINE_MAX_CLAIMS; i++) {
            json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
            char *text = NULL, *copy;
            if (json_is_string(e))
                copy = wdn_arena_strdup(a, wdn_str_from_cstr(json_string_value(e)));
            else if (json_is_number(e) || json_is_boolean(e)) {
                text = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
                copy = text ? wdn_arena_strdup(a, wdn_str_from_cstr(text)) : NULL;
                free(text);
            } else
                continue;
            char *name = wdn_arena_strdup(a, wdn_str_from_cstr(key));
            if (copy && name) {
                out->claims[out->n_claims].name = name;
                out->claims[out->n_claims].value = copy;
                out->n_claims++;
            }
        }
    }
}

static int bearer_run(struct wdn__mw *m, const struct wdn_pipeline_req *rq,
                      struct wdn_pipeline_out *out)
{
    struct bearer *b = (struct bearer *)m;
    const struct wdn_http_request *head = rq->head;
    const struct wdn_http_header *auth;
    struct wdn_jwks *keys = NULL;
    struct wdn_jwt *jwt = NULL;
    struct wdn_str tok;
    unsigned char h[32];
    enum wdn_jwt_reason r;
    int64_t now = rq->now ? rq->now : wdn_clock_unix();
    int rc = 0;

    if (token_in_query(head->query)) {
        deny(b, out, 401, WDN_MW_TOKEN_IN_QUERY,
             challenge(b, rq->arena, "invalid_request",
                       "tokens in the query string are not accepted; use the Authorization "
                       "header",
                       false));
        goto out;
    }
    auth = wdn_http_header_find(head->headers, head->nheaders, WDN_STR("authorization"));
    if (auth == NULL) {
        deny(b, out, 401, WDN_MW_MISSING_TOKEN, wdn_str_from_cstr(b->www_missing));
        goto out;
    }
    if (auth->value.len <= 7 ||
        !wdn_str_eq_case((struct wdn_str){auth->value.p, 7}, WDN_STR("bearer "))) {
        deny(b, out, 401, WDN_MW_MALFORMED_HEADER,
             challenge(b, rq->arena, "invalid_request",
                       "the Authorization header must be 'Bearer <token>'", false));
        goto out;
    }
    tok = wdn_str_trim_ows((struct wdn_str){auth->value.p + 7, auth->value.len - 7});
    pthread_mutex_lock(&b->keys_mu);
    keys = b->keys ? wdn_jwks_ref(b->keys) : NULL;
    pthread_mutex_unlock(&b->keys_mu);
    if (keys == NULL) {
        kick(b);
        deny(b, out, 503, WDN_MW_KEYS_NOT_LOADED, (struct wdn_str){NULL, 0});
        goto out;
    }
    if (tok.len > WDN_JWT_MAX_TOKEN_BYTES || wdn_jose_sha256(tok.p, tok.len, h) != 0) {
        r = tok.len > WDN_JWT_MAX_TOKEN_BYTES ? WDN_JWT_TOKEN_TOO_LARGE : WDN_JWT_INTERNAL;
    } else if ((jwt = cache_get(b, h, keys, now)) != NULL) {
        atomic_fetch_add_explicit(&b->hits, 1, memory_order_relaxed);
        out->cached = true;
        r = WDN_JWT_OK;
    } else {
        atomic_fetch_add_explicit(&b->misses, 1, memory_order_relaxed);
        r = wdn_jwt_verify(keys, &b->rules, tok, now, &jwt);
        if (r == WDN_JWT_OK)
            cache_put(b, h, jwt);
    }
    if (r == WDN_JWT_UNKNOWN_KID)
        kick(b);
    if (r == WDN_JWT_INSUFFICIENT_SCOPE) {
        out->jwt_reason = r;
        deny(b, out, 403, WDN_MW_INSUFFICIENT_SCOPE,
             challenge(b, rq->arena, "insufficient_scope", wdn_jwt_reason_text(r), true));
        goto out;
    }
    if (r != WDN_JWT_OK) {
        out->jwt_reason = r;
        deny(b, out, 401, WDN_MW_INVALID_TOKEN,
             challenge(b, rq->arena, "invalid_token", wdn_jwt_reason_text(r), false));
        goto out;
    }
    /* Accepted. Claim headers are always removed first, so a caller cannot forge them. */
    for (size_t i = 0; i < b->n_claims && out->nremove < WDN_PIPELINE_MAX_EDITS; i++)
        out->remove[out->nremove++] = wdn_str_from_cstr(b->claims[i].header);
    if (b->strip_token && out->nremove < WDN_PIPELINE_MAX_EDITS)
        out->remove[out->nremove++] = WDN_STR("Authorization");
    for (size_t i = 0; i < b->n_claims && out->nadd < WDN_PIPELINE_MAX_EDITS; i++) {
        char *v = claim_value(jwt, b->claims[i].claim, rq->arena);
        if (v == NULL)
            continue;
        out->add[out->nadd].name = wdn_str_from_cstr(b->claims[i].header);
        out->add[out->nadd].value = wdn_str_from_cstr(v);
        out->nadd++;
    }
    if (wdn_jwt_sub(jwt))
        out->subject = wdn_arena_strdup(rq->arena, wdn_str_from_cstr(wdn_jwt_sub(jwt)));
    if (rq->want_auth)
        export_auth(jwt, rq->arena, out);
out:
    wdn_jwt_release(jwt);
    wdn_jwks_release(keys);
    return rc;
}

const struct wdn__mw_type wdn__mw_bearer = {
    .type = "middleware.http.bearer",
    .create = bearer_create,
    .destroy = bearer_destroy,
    .run = bearer_run,
    .stats = bearer_stats,
    .ready = bearer_ready,
};
