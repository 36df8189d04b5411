/* middleware.http.bearer: OAuth2 bearer tokens (RFC 6750) checked as JWTs against the issuer's
 * key set. Dapr's metadata (issuer, audience, jwksURL) plus warden's additions (several
 * audiences, clockSkew, requiredScopes, forwardClaims, stripToken, resourceMetadata); see
 * docs/sidecar.md. Tokens are checked by the OIDC validator (src/oidc): its background thread
 * fetches the key set (discovery when jwksURL is empty), so a request never waits on the
 * network: until the first key set is in, protected requests get 503, never 200. Verified
 * tokens are cached there by their SHA-256. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "jose/jwt.h"
#include "oidc/oidc.h"
#include "pipeline/internal.h"

struct claim_fwd {
    char *claim;
    char *header;
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
    size_t cache_bytes; /* tokenCacheSize */

    /* Key set, refresh and verified-token cache. */
    struct wdn_oidc_validator *v;
};

/* ---- Metadata: one row per field (struct wdn__mw_field); see src/pipeline/metadata.c ---- */

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

/* "8Mi", "8MiB", "512Ki", "1Gi", "65536" (bytes) -> bytes; "0" turns the cache off. */
static int parse_size(const char *s, size_t *out)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {{"", 0},   {"Ki", 10}, {"KiB", 10}, {"Mi", 20},
                 {"MiB", 20}, {"Gi", 30}, {"GiB", 30}};
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return WDN_EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return WDN_EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) != 0)
            continue;
        if (v > (WDN_TOKEN_CACHE_MAX_BYTES >> units[i].shift))
            return WDN_ERANGE;
        *out = (size_t)(v << units[i].shift);
        return *out == 0 || *out >= WDN_TOKEN_CACHE_MIN_BYTES ? 0 : WDN_ERANGE;
    }
    return WDN_EINVAL;
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

static int why_set(char *why, size_t cap, const char *msg)
{
    snprintf(why, cap, "%s", msg);
    return WDN_EINVAL;
}

static int set_issuer(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    (void)why;
    (void)cap;
    free(b->issuer);
    b->issuer = strdup(v);
    return b->issuer ? 0 : WDN_ENOMEM;
}

static int set_audience(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;
    bool overflow;

    free(b->aud_store);
    b->aud_store = strdup(v);
    if (b->aud_store == NULL)
        return WDN_ENOMEM;
    b->n_aud = split_list(b->aud_store, b->audiences, WDN_JWT_MAX_AUDIENCES, &overflow);
    return overflow ? why_set(why, cap, "too many audiences") : 0;
}

static int set_jwks_url(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    free(b->jwks_url);
    b->jwks_url = NULL;
    if (*v == '\0')
        return 0;
    if ((b->jwks_url = strdup(v)) == NULL)
        return WDN_ENOMEM;
    return strncmp(v, "https://", 8) != 0 ? why_set(why, cap, "jwksURL must be an https:// URL")
                                          : 0;
}

static int set_jwks(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;
    struct wdn_diag jd;
    struct wdn_jwks *ks = wdn_jwks_parse(wdn_str_from_cstr(v), &jd);
    int rc = 0;

    free(b->jwks_inline);
    b->jwks_inline = strdup(v);
    if (ks == NULL || wdn_jwks_count(ks) == 0) {
        snprintf(why, cap, "jwks must be a JSON Web Key Set with a usable key: %s",
                 ks ? "none is usable" : jd.msg);
        rc = WDN_EINVAL;
    }
    wdn_jwks_release(ks);
    return rc ? rc : (b->jwks_inline ? 0 : WDN_ENOMEM);
}

static int set_clock_skew(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    if (parse_duration(v, &b->rules.clock_skew_s) != 0)
        return why_set(why, cap, "clockSkew must be a duration up to 1h: 90, 90s, 2m");
    return 0;
}

static int set_required_scopes(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;
    bool overflow;

    free(b->scope_store);
    b->scope_store = strdup(v);
    if (b->scope_store == NULL)
        return WDN_ENOMEM;
    b->n_scopes = split_list(b->scope_store, b->scopes, WDN_JWT_MAX_SCOPES, &overflow);
    if (overflow)
        return why_set(why, cap, "too many requiredScopes");
    for (size_t k = 0; k < b->n_scopes; k++)
        if (!quotable(b->scopes[k]))
            return why_set(why, cap, "a scope with a forbidden character");
    return 0;
}

static int set_forward_claims(void *conf, const char *v, char *why, size_t cap)
{
    int rc = parse_claims(conf, v);

    if (rc == WDN_EINVAL)
        why_set(why, cap, "forwardClaims must be 'claim:Header-Name' pairs separated by commas");
    return rc;
}

static int set_strip_token(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    if (strcmp(v, "true") == 0)
        b->strip_token = true;
    else if (strcmp(v, "false") == 0)
        b->strip_token = false;
    else
        return why_set(why, cap, "stripToken must be true or false");
    return 0;
}

static int set_resource_metadata(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    free(b->resource_metadata);
    b->resource_metadata = strdup(v);
    if (b->resource_metadata == NULL)
        return WDN_ENOMEM;
    if (!quotable(v) || (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0))
        return why_set(why, cap, "resourceMetadata must be an http(s) URL");
    return 0;
}

static int set_token_cache_size(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    if (parse_size(v, &b->cache_bytes) != 0)
        return why_set(why, cap,
                       "tokenCacheSize must be a size from 64Ki to 1Gi (8Mi, 512Ki, 65536) or 0 "
                       "to turn the cache off");
    return 0;
}

/* Every metadata field of middleware.http.bearer (docs/sidecar.md). A new field is a new row
 * here: the sidecar and `warden check`/`apply` both read metadata through this table only. */
static const struct wdn__mw_field bearer_fields[] = {
    {"issuer", "issuerURL", set_issuer},
    {"audience", "clientID", set_audience},
    {"jwksURL", "jwksUrl", set_jwks_url},
    {"jwks", NULL, set_jwks},
    {"clockSkew", NULL, set_clock_skew},
    {"requiredScopes", NULL, set_required_scopes},
    {"forwardClaims", NULL, set_forward_claims},
    {"stripToken", NULL, set_strip_token},
    {"resourceMetadata", NULL, set_resource_metadata},
    {"tokenCacheSize", NULL, set_token_cache_size},
    {NULL, NULL, NULL},
};

/* The rules across fields, once every field is read. */
static int bearer_finish(void *conf, const struct wdn_res_component *c, struct wdn_diag *d)
{
    const struct wdn__mw_type *vt = &wdn__mw_bearer;
    struct bearer *b = conf;

    if (b->issuer == NULL || *b->issuer == '\0')
        return wdn__mw_err(d, c, wdn__mw_item(vt, c, "issuer"),
                           "metadata property 'issuer' is required");
    if (b->n_aud == 0)
        return wdn__mw_err(d, c, wdn__mw_item(vt, c, "audience"),
                           "metadata property 'audience' is required");
    if (b->jwks_url && b->jwks_inline)
        return wdn__mw_err(d, c, wdn__mw_item(vt, c, "jwks"), "set jwksURL or jwks, not both");
    if (b->jwks_url == NULL && b->jwks_inline == NULL && strncmp(b->issuer, "https://", 8) != 0)
        return wdn__mw_err(d, c, wdn__mw_item(vt, c, "issuer"),
                           "issuer must be an https:// URL for discovery (or set jwksURL)");
    return 0;
}

/* ---- Instance ---------------------------------------------------------------------------- */

static void bearer_destroy(struct wdn__mw *m)
{
    struct bearer *b = (struct bearer *)m;

    wdn_oidc_validator_free(b->v);
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
    b->base.vt = &wdn__mw_bearer;
    b->cache_bytes = WDN_TOKEN_CACHE_DEFAULT_BYTES;
    wdn_jwt_rules_init(&b->rules);
    rc = wdn__mw_configure(&wdn__mw_bearer, b, c, d);
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
    if (!b->www_missing || !b->required_scope_text)
        goto out;
    struct wdn_oidc_config oc;
    wdn_oidc_config_init(&oc);
    oc.issuer = b->issuer;
    oc.audiences = b->audiences;
    oc.n_audiences = b->n_aud;
    oc.clock_skew_s = b->rules.clock_skew_s;
    oc.required_scopes = b->scopes;
    oc.n_required_scopes = b->n_scopes;
    oc.jwks_json = b->jwks_inline;
    oc.jwks_url = b->jwks_url;
    oc.ca_file = b->ca_file;
    oc.cache_bytes = b->cache_bytes;
    b->v = wdn_oidc_validator_new(&oc, d);
    if (b->v == NULL) {
        rc = d ? d->code : WDN_ECONFIG;
        if (d) {
            /* Point at the component, as the metadata errors do. */
            char msg[sizeof(d->msg)];
            memcpy(msg, d->msg, sizeof(msg));
            wdn_diag_set_at(d, rc, c->pos.file, c->pos.line, c->pos.col,
                            "component \"%.64s\": %.400s", c->metadata.name, msg);
        }
        goto out;
    }
    *out = &b->base;
    b = NULL;
    rc = 0;
out:
    wdn_buf_reset(&w);
    if (b)
        bearer_destroy(&b->base);
    return rc;
}

static int bearer_check(const struct wdn_res_component *c, struct wdn_diag *d)
{
    struct bearer *b = calloc(1, sizeof(*b));
    int rc;

    if (b == NULL)
        return WDN_ENOMEM;
    wdn_jwt_rules_init(&b->rules);
    rc = wdn__mw_configure(&wdn__mw_bearer, b, c, d);
    bearer_destroy(&b->base);
    return rc;
}

static bool bearer_ready(struct wdn__mw *m)
{
    return wdn_oidc_status(((struct bearer *)m)->v) != WDN_OIDC_NEVER_LOADED;
}

static void bearer_stats(struct wdn__mw *m, struct wdn_mw_stats *s)
{
    struct bearer *b = (struct bearer *)m;
    struct wdn_oidc_stats st;

    wdn_oidc_stats(b->v, &st);
    s->keys_loaded = st.loaded_at != 0;
    s->keys = st.keys;
    s->refresh_ok = st.fetch_ok;
    s->refresh_errors = st.fetch_failed;
    s->cache_hits = st.cache_hits;
    s->cache_misses = st.cache_misses;
    s->cache_evictions = st.cache_evicted_size;
    s->cache_entries = st.cache_entries;
    s->cache_bytes = st.cache_bytes;
    wdn_oidc_last_error(b->v, s->last_error, sizeof(s->last_error));
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

/* A string claim of the verified token, copied into the arena, or NULL. */
static const char *claim_text(const struct wdn_jwt *j, const char *name, struct wdn_arena *a)
{
    const char *v = json_string_value(json_object_get(wdn_jwt_claims(j), name));
    return v ? wdn_arena_strdup(a, wdn_str_from_cstr(v)) : NULL;
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
    struct wdn_jwt *jwt = NULL;
    struct wdn_str tok;
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
    /* Never blocks: an unknown kid or a missing key set schedules a (debounced) refetch. */
    r = wdn_oidc_verify_ex(b->v, tok, now, &jwt, &out->cached);
    if (r == WDN_JWT_KEY_SET_NOT_LOADED) {
        deny(b, out, 503, WDN_MW_KEYS_NOT_LOADED, (struct wdn_str){NULL, 0});
        goto out;
    }
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
    out->issuer = claim_text(jwt, "iss", rq->arena);
    out->client_id = claim_text(jwt, "client_id", rq->arena);
    if (out->client_id == NULL)
        out->client_id = claim_text(jwt, "azp", rq->arena);
    out->jti = claim_text(jwt, "jti", rq->arena);
    if (rq->want_auth)
        export_auth(jwt, rq->arena, out);
out:
    wdn_jwt_release(jwt);
    return rc;
}

/* What this instance protects, for RFC 9728 metadata: its issuer and required scopes. */
static void bearer_resource(struct wdn__mw *m, struct wdn_pipeline_resource *out)
{
    struct bearer *b = (struct bearer *)m;

    memset(out, 0, sizeof(*out));
    out->issuers = (const char *const *)&b->issuer;
    out->n_issuers = b->issuer ? 1 : 0;
    out->scopes = b->scopes;
    out->n_scopes = b->n_scopes;
    out->resource_metadata = b->resource_metadata;
}

const struct wdn__mw_type wdn__mw_bearer = {
    .type = "middleware.http.bearer",
    .fields = bearer_fields,
    .finish = bearer_finish,
    .check = bearer_check,
    .create = bearer_create,
    .destroy = bearer_destroy,
    .run = bearer_run,
    .stats = bearer_stats,
    .ready = bearer_ready,
    .resource = bearer_resource,
};
