/* The bearer middleware's metadata (docs/sidecar.md): one row per field in wdn__bearer_fields,
 * read only through wdn__mw_configure (metadata.c), so the sidecar and `warden check`/`apply`
 * run the same checks; then wdn__bearer_finish applies the rules across fields, expands IdP
 * profiles (profiles.c) and lays out the trusted issuers the way the validator takes them. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fault.h"
#include "base/json_dump.h"
#include "jose/jwk.h"
#include "oidc/discovery.h"
#include "pipeline/bearer.h"

const char *wdn__bearer_strdup(struct bearer *b, const char *s)
{
    char *c;

    if (s == NULL)
        return NULL;
    if (b->n_pool == b->cap_pool) {
        size_t cap = b->cap_pool ? 2 * b->cap_pool : 32;
        char **p = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, realloc(b->pool, cap * sizeof(*p)));
        if (p == NULL)
            return NULL;
        b->pool = p;
        b->cap_pool = cap;
    }
    c = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(s));
    if (c != NULL)
        b->pool[b->n_pool++] = c;
    return c;
}

void wdn__bearer_conf_free(struct bearer *b)
{
    for (size_t i = 0; i < b->n_pool; i++)
        free(b->pool[i]);
    free(b->pool);
    for (size_t i = 0; i < b->n_claims; i++) {
        free(b->claims[i].claim);
        free(b->claims[i].header);
    }
    free(b->claims);
}

static int why_set(char *why, size_t cap, const char *msg)
{
    snprintf(why, cap, "%s", msg);
    return WDN_EINVAL;
}

/* Splits a pool copy of s on commas and whitespace into v (at most max entries). */
static int split_list(struct bearer *b, const char *s, const char **v, size_t *n, size_t max,
                      bool *overflow)
{
    char *p = (char *)wdn__bearer_strdup(b, s);

    *overflow = false;
    *n = 0;
    if (p == NULL)
        return WDN_ENOMEM;
    while (*p) {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (*n == max) {
            *overflow = true;
            break;
        }
        v[(*n)++] = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    return 0;
}

/* "90", "90s", "2m", "1h" -> seconds, at most max. */
static int parse_duration(const char *s, int64_t max, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0 || v > 100000000)
        return WDN_EINVAL;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        *out = v;
    else if (strcmp(end, "m") == 0)
        *out = v * 60;
    else if (strcmp(end, "h") == 0)
        *out = v * 3600;
    else
        return WDN_EINVAL;
    return *out > max ? WDN_ERANGE : 0;
}

/* "8Mi", "8MiB", "512Ki", "1Gi", "65536" (bytes) -> bytes; "0" turns the cache off. */
static int parse_size(const char *s, size_t *out)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {{"", 0},     {"Ki", 10}, {"KiB", 10}, {"Mi", 20},
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

/* Safe inside a quoted WWW-Authenticate parameter. */
static bool quotable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\' || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/* An absolute http(s) URL with a host, no fragment, nothing a challenge could not quote. */
static bool http_url(const char *v)
{
    const char *host;

    if (strncmp(v, "https://", 8) == 0)
        host = v + 8;
    else if (strncmp(v, "http://", 7) == 0)
        host = v + 7;
    else
        return false;
    return quotable(v) && strchr(v, '#') == NULL && strchr(v, ' ') == NULL &&
           strcspn(host, "/?") > 0 && memchr(host, '@', strcspn(host, "/?")) == NULL;
}

static int parse_claims(struct bearer *b, const char *spec)
{
    char *copy = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(spec)), *p, *save = NULL;
    int rc = WDN_EINVAL;

    if (copy == NULL)
        return WDN_ENOMEM;
    if (b->claims == NULL)
        b->claims =
            WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(WDN_PIPELINE_MAX_EDITS, sizeof(*b->claims)));
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
        b->claims[b->n_claims].claim = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(claim));
        b->claims[b->n_claims].header = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(hdr));
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

/* ---- Key source and audiences of one issuer (top level or an `issuers` entry) ------------- */

static int put_jwks_url(struct bearer *b, struct bearer_issuer *e, const char *v, char *why,
                        size_t cap)
{
    e->jwks_url = NULL;
    if (*v == '\0')
        return 0;
    if (!wdn_oidc_is_https_url(v))
        return why_set(why, cap, "jwksURL must be an https:// URL");
    e->jwks_url = wdn__bearer_strdup(b, v);
    return e->jwks_url ? 0 : WDN_ENOMEM;
}

static int put_jwks(struct bearer *b, struct bearer_issuer *e, const char *v, char *why, size_t cap)
{
    struct wdn_diag jd;
    struct wdn_jwks *ks = wdn_jwks_parse(wdn_str_from_cstr(v), &jd);
    int rc = 0;

    e->jwks_inline = wdn__bearer_strdup(b, v);
    if (ks == NULL || wdn_jwks_count(ks) == 0) {
        snprintf(why, cap, "jwks must be a JSON Web Key Set with a usable key: %s",
                 ks ? "none is usable" : jd.msg);
        rc = WDN_EINVAL;
    }
    wdn_jwks_release(ks);
    return rc ? rc : (e->jwks_inline ? 0 : WDN_ENOMEM);
}

static int put_audience(struct bearer *b, struct bearer_issuer *e, const char *v, char *why,
                        size_t cap)
{
    bool overflow;
    int rc = split_list(b, v, e->audiences, &e->n_aud, WDN_JWT_MAX_AUDIENCES, &overflow);

    if (rc == 0 && overflow)
        return why_set(why, cap, "too many audiences");
    return rc;
}

static int put_profile(struct bearer *b, struct bearer_issuer *e, const char *v, char *why,
                       size_t cap)
{
    static const char *const names[] = {"auth0", "entra", "keycloak", "okta", "google"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(v, names[i]) == 0) {
            e->profile = names[i];
            return 0;
        }
    }
    snprintf(why, cap, "profile must be one of %s (got '%.64s')", wdn__bearer_profile_names, v);
    return WDN_EINVAL;
}

/* ---- Fields ------------------------------------------------------------------------------ */

static int set_issuer(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    (void)why;
    (void)cap;
    b->top.issuer = wdn__bearer_strdup(b, v);
    return b->top.issuer ? 0 : WDN_ENOMEM;
}

static int set_audience(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;
    return put_audience(b, &b->top, v, why, cap);
}

static int set_jwks_url(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;
    return put_jwks_url(b, &b->top, v, why, cap);
}

static int set_jwks(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;
    return put_jwks(b, &b->top, v, why, cap);
}

static int set_profile(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;
    return put_profile(b, &b->top, v, why, cap);
}

/* `issuers`: a JSON array of {"issuer", "audience" (string or array), "jwksURL", "jwks"
 * (object or string), "profile"}. */
static int set_issuers(void *conf, const char *v, char *why, size_t cap)
{
    static const char *const known[] = {"issuer", "audience", "jwksURL", "jwks", "profile"};
    struct bearer *b = conf;
    json_error_t je;
    json_t *arr = json_loads(v, JSON_REJECT_DUPLICATES, &je), *e;
    size_t i;
    int rc = 0;

    b->n_decl = 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        rc = why_set(why, cap,
                     "issuers must be a JSON array of objects such as "
                     "[{\"issuer\": \"https://a.example/\", \"audience\": \"api\"}]");
        if (arr == NULL)
            snprintf(why + strlen(why), cap - strlen(why), " (%s at character %d)", je.text,
                     je.position);
        goto out;
    }
    if (json_array_size(arr) > WDN_BEARER_MAX_ISSUERS) {
        snprintf(why, cap, "issuers: at most %d entries", WDN_BEARER_MAX_ISSUERS);
        rc = WDN_EINVAL;
        goto out;
    }
    json_array_foreach (arr, i, e) {
        struct bearer_issuer *d = &b->decl[b->n_decl];
        const char *key;
        json_t *val;
        char sub[300];

        memset(d, 0, sizeof(*d));
        if (!json_is_object(e)) {
            snprintf(why, cap, "issuers[%zu] must be an object", i);
            rc = WDN_EINVAL;
            goto out;
        }
        json_object_foreach (e, key, val) {
            bool ok = false;
            for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
                ok = ok || strcmp(key, known[k]) == 0;
            if (!ok) {
                snprintf(why, cap,
                         "issuers[%zu]: unknown field '%.64s' (known: issuer, audience, jwksURL, "
                         "jwks, profile)",
                         i, key);
                rc = WDN_EINVAL;
                goto out;
            }
            sub[0] = '\0';
            if (strcmp(key, "jwks") == 0 && json_is_object(val)) {
                char *text = wdn_json_dumps(val, JSON_COMPACT);
                rc = text ? put_jwks(b, d, text, sub, sizeof(sub)) : WDN_ENOMEM;
                free(text);
            } else if (strcmp(key, "audience") == 0 && json_is_array(val)) {
                size_t k;
                json_t *a;
                json_array_foreach (val, k, a) {
                    if (!json_is_string(a) || json_string_length(a) == 0 ||
                        d->n_aud == WDN_JWT_MAX_AUDIENCES) {
                        rc = why_set(sub, sizeof(sub), "audience must hold non-empty strings");
                        break;
                    }
                    d->audiences[d->n_aud] = wdn__bearer_strdup(b, json_string_value(a));
                    if (d->audiences[d->n_aud++] == NULL)
                        rc = WDN_ENOMEM;
                }
            } else if (!json_is_string(val)) {
                snprintf(sub, sizeof(sub), "%s must be a string", key);
                rc = WDN_EINVAL;
            } else if (strcmp(key, "issuer") == 0) {
                d->issuer = wdn__bearer_strdup(b, json_string_value(val));
                rc = d->issuer ? 0 : WDN_ENOMEM;
            } else if (strcmp(key, "audience") == 0) {
                rc = put_audience(b, d, json_string_value(val), sub, sizeof(sub));
            } else if (strcmp(key, "jwksURL") == 0) {
                rc = put_jwks_url(b, d, json_string_value(val), sub, sizeof(sub));
            } else if (strcmp(key, "jwks") == 0) {
                rc = put_jwks(b, d, json_string_value(val), sub, sizeof(sub));
            } else {
                rc = put_profile(b, d, json_string_value(val), sub, sizeof(sub));
            }
            if (rc != 0) {
                if (rc != WDN_ENOMEM)
                    snprintf(why, cap, "issuers[%zu]: %s", i, sub);
                goto out;
            }
        }
        if (d->issuer == NULL && d->profile == NULL) {
            snprintf(why, cap, "issuers[%zu]: \"issuer\" is required", i);
            rc = WDN_EINVAL;
            goto out;
        }
        if (d->issuer == NULL)
            d->issuer = "";
        b->n_decl++;
    }
out:
    json_decref(arr);
    return rc;
}

static int set_resource(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    if (!http_url(v))
        return why_set(why, cap,
                       "resource must be an absolute http(s) URL without fragment, e.g. "
                       "https://mcp.example.com/mcp");
    b->resource = wdn__bearer_strdup(b, v);
    return b->resource ? 0 : WDN_ENOMEM;
}

static int set_bool(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0)
        *out = false;
    else
        return WDN_EINVAL;
    return 0;
}

static int set_require_resource_audience(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    if (set_bool(v, &b->require_resource_aud) != 0)
        return why_set(why, cap, "requireResourceAudience must be true or false");
    return 0;
}

static int set_clock_skew(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    if (parse_duration(v, 3600, &b->clock_skew_s) != 0)
        return why_set(why, cap, "clockSkew must be a duration up to 1h: 90, 90s, 2m");
    return 0;
}

static int set_required_scopes(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;
    bool overflow;
    int rc = split_list(b, v, b->scopes, &b->n_scopes, WDN_JWT_MAX_SCOPES, &overflow);

    if (rc)
        return rc;
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

    if (set_bool(v, &b->strip_token) != 0)
        return why_set(why, cap, "stripToken must be true or false");
    return 0;
}

static int set_resource_metadata(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    if (!http_url(v))
        return why_set(why, cap, "resourceMetadata must be an http(s) URL");
    b->resource_metadata = wdn__bearer_strdup(b, v);
    return b->resource_metadata ? 0 : WDN_ENOMEM;
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

static int set_introspection_url(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    if (!wdn_oidc_is_https_url(v))
        return why_set(why, cap, "introspectionURL must be an https:// URL");
    b->introspection_url = wdn__bearer_strdup(b, v);
    return b->introspection_url ? 0 : WDN_ENOMEM;
}

static int set_introspection_client_id(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    if (*v == '\0')
        return why_set(why, cap, "introspectionClientID must not be empty");
    b->introspection_client_id = wdn__bearer_strdup(b, v);
    return b->introspection_client_id ? 0 : WDN_ENOMEM;
}

static int set_introspection_secret(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    (void)why;
    (void)cap;
    b->introspection_secret = wdn__bearer_strdup(b, v);
    return b->introspection_secret ? 0 : WDN_ENOMEM;
}

static int set_introspection_ttl(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    if (parse_duration(v, 86400, &b->introspection_ttl_s) != 0 || b->introspection_ttl_s == 0)
        return why_set(why, cap,
                       "introspectionCacheTTL must be a duration from 1s to 24h: 30s, "
                       "5m, 1h");
    return 0;
}

static int set_introspection_timeout(void *conf, const char *v, char *why, size_t cap)
{
    struct bearer *b = conf;

    if (parse_duration(v, 60, &b->introspection_timeout_s) != 0 || b->introspection_timeout_s == 0)
        return why_set(why, cap, "introspectionTimeout must be a duration from 1s to 60s");
    return 0;
}

/* Every metadata field of middleware.http.bearer (docs/sidecar.md). A new field is a new row
 * here: the sidecar and `warden check`/`apply` both read metadata through this table only. */
const struct wdn__mw_field wdn__bearer_fields[] = {
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
    {"resource", NULL, set_resource},
    {"requireResourceAudience", NULL, set_require_resource_audience},
    {"issuers", NULL, set_issuers},
    {"profile", NULL, set_profile},
    {"introspectionURL", NULL, set_introspection_url},
    {"introspectionClientID", NULL, set_introspection_client_id},
    {"introspectionClientSecret", NULL, set_introspection_secret},
    {"introspectionCacheTTL", NULL, set_introspection_ttl},
    {"introspectionTimeout", NULL, set_introspection_timeout},
    {NULL, NULL, NULL},
};

/* ---- Rules across fields ----------------------------------------------------------------- */

static int err_at(struct wdn_diag *d, const struct wdn_res_component *c, const char *field,
                  const char *msg)
{
    return wdn__mw_err(d, c, wdn__mw_item(&wdn__mw_bearer, c, field), msg);
}

/* One declared issuer through its profile into b->iss, with the checks every issuer needs. */
static int finish_issuer(struct bearer *b, const struct bearer_issuer *in, const char *field,
                         const struct wdn_res_component *c, struct wdn_diag *d)
{
    struct bearer_issuer e = *in;
    size_t first = b->n_iss;
    char why[400], msg[480];
    int rc;

    if (e.n_aud == 0 && in != &b->top) {
        /* An `issuers` entry without audiences takes the top-level ones. */
        memcpy(e.audiences, b->top.audiences, b->top.n_aud * sizeof(e.audiences[0]));
        e.n_aud = b->top.n_aud;
    }
    if (e.jwks_url && e.jwks_inline)
        return err_at(d, c, field == NULL ? "jwks" : field, "set jwksURL or jwks, not both");
    why[0] = '\0';
    rc = wdn__bearer_profile(b, &e, b->iss, &b->n_iss, WDN_BEARER_MAX_ISSUERS, why, sizeof(why));
    if (rc == WDN_ENOMEM)
        return wdn_diag_set(d, rc, "out of memory");
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "%s%s", field ? "issuers: " : "", why);
        return err_at(d, c, field ? field : (e.profile ? "profile" : "issuer"), msg);
    }
    for (size_t i = first; i < b->n_iss; i++) {
        const struct bearer_issuer *o = &b->iss[i];
        if (o->issuer == NULL || o->issuer[0] == '\0')
            return err_at(d, c, field ? field : "issuer", "metadata property 'issuer' is required");
        if (o->n_aud == 0 && !b->require_resource_aud) {
            snprintf(msg, sizeof(msg),
                     "metadata property 'audience' is required%s (or requireResourceAudience: "
                     "true)",
                     field ? " (for every entry of issuers, or at top level)" : "");
            return err_at(d, c, field ? field : "audience", msg);
        }
        if (o->jwks_url == NULL && o->jwks_inline == NULL &&
            !wdn_oidc_is_https_url(o->discovery_issuer ? o->discovery_issuer : o->issuer)) {
            snprintf(msg, sizeof(msg),
                     "%sissuer '%.200s' must be an https:// URL for discovery (or set jwksURL)",
                     field ? "issuers: " : "", o->issuer);
            return err_at(d, c, field ? field : "issuer", msg);
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(b->iss[k].issuer, o->issuer) == 0) {
                snprintf(msg, sizeof(msg), "issuer '%.200s' is trusted twice", o->issuer);
                return err_at(d, c, field ? field : "issuer", msg);
            }
    }
    return 0;
}

int wdn__bearer_finish(void *conf, const struct wdn_res_component *c, struct wdn_diag *d)
{
    struct bearer *b = conf;
    bool top_trusted;
    char text[4096];
    size_t n = 0;
    int rc;

    if (b->introspection_url) {
        if (b->introspection_client_id == NULL || b->introspection_secret == NULL)
            return err_at(d, c, "introspectionURL",
                          "introspectionURL needs introspectionClientID and "
                          "introspectionClientSecret (the sidecar's own client credentials)");
        struct wdn_buf auth;
        wdn_buf_init(&auth, WDN_INTROSPECT_AUTH_MAX_BYTES);
        rc = wdn_introspect_auth_header(&auth, b->introspection_client_id, b->introspection_secret);
        wdn_buf_reset(&auth);
        if (rc == WDN_ENOMEM)
            return rc;
        if (rc != 0) {
            snprintf(text, sizeof(text),
                     "introspectionClientID and introspectionClientSecret are too long: their "
                     "HTTP Basic header must fit in %u bytes",
                     WDN_INTROSPECT_AUTH_MAX_BYTES);
            return err_at(d, c, "introspectionClientSecret", text);
        }
        if (b->top.issuer == NULL || !http_url(b->top.issuer))
            return err_at(d, c, "issuer",
                          "with introspectionURL, issuer must name the authorization server "
                          "(an http(s) URL)");
        if (b->top.n_aud == 0 && !b->require_resource_aud)
            return err_at(d, c, "audience",
                          "metadata property 'audience' is required (or requireResourceAudience: "
                          "true)");
        if (b->top.profile)
            return err_at(d, c, "profile",
                          "profile applies to JWT issuers; with introspectionURL give the JWT "
                          "issuers in issuers");
    } else if (b->introspection_client_id || b->introspection_secret) {
        return err_at(d, c,
                      b->introspection_client_id ? "introspectionClientID"
                                                 : "introspectionClientSecret",
                      "introspection credentials without introspectionURL");
    }
    /* The top-level issuer is verified locally, except that with introspection and no key
     * source of its own it is only the introspecting authorization server. */
    top_trusted = b->top.issuer != NULL || b->top.jwks_url != NULL || b->top.jwks_inline != NULL ||
                  b->top.profile != NULL;
    if (b->introspection_url && b->top.jwks_url == NULL && b->top.jwks_inline == NULL)
        top_trusted = false;
    if (!top_trusted && b->n_decl == 0 && b->introspection_url == NULL)
        return err_at(d, c, "issuer", "metadata property 'issuer' is required");
    if (b->top.issuer == NULL && top_trusted) {
        if (b->top.profile == NULL)
            return err_at(d, c, "issuer", "metadata property 'issuer' is required");
        b->top.issuer = "";
    }
    if (top_trusted && (rc = finish_issuer(b, &b->top, NULL, c, d)) != 0)
        return rc;
    for (size_t i = 0; i < b->n_decl; i++)
        if ((rc = finish_issuer(b, &b->decl[i], "issuers", c, d)) != 0)
            return rc;
    /* The validator's view, and the authorization servers to advertise. */
    b->n_trusted = 0;
    b->n_advertised = 0;
    for (size_t i = 0; i < b->n_iss; i++) {
        const struct bearer_issuer *o = &b->iss[i];
        b->trusted[b->n_trusted++] = (struct wdn_oidc_issuer){
            .issuer = o->issuer,
            .audiences = o->audiences,
            .n_audiences = o->n_aud,
            .allowed_algs = o->allowed_algs,
            .jwks_json = o->jwks_inline,
            .jwks_url = o->jwks_url,
            .discovery_issuer = o->discovery_issuer,
        };
        if (o->advertise && http_url(o->issuer))
            b->advertised[b->n_advertised++] = o->issuer;
    }
    if (b->introspection_url && b->n_advertised < WDN_BEARER_MAX_ISSUERS) {
        bool seen = false;
        for (size_t i = 0; i < b->n_advertised; i++)
            seen = seen || strcmp(b->advertised[i], b->top.issuer) == 0;
        if (!seen)
            b->advertised[b->n_advertised++] = b->top.issuer;
    }
    text[0] = '\0';
    for (size_t i = 0; i < b->n_scopes && n < sizeof(text); i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s", i ? " " : "", b->scopes[i]);
    if (n >= sizeof(text))
        return err_at(d, c, "requiredScopes", "requiredScopes is too long");
    b->required_scope_text = wdn__bearer_strdup(b, text);
    return b->required_scope_text ? 0 : wdn_diag_set(d, WDN_ENOMEM, "out of memory");
}
