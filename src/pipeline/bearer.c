/* middleware.http.bearer: OAuth2 bearer tokens (RFC 6750). JWTs are checked against the key
 * sets of the trusted issuers (several per component, routed by "iss"; IdP profiles set their
 * defaults), opaque tokens by RFC 7662 introspection; optionally the token must name this
 * resource in "aud" (RFC 8707). Metadata: bearer_config.c and profiles.c; docs/sidecar.md.
 * Tokens are checked by src/oidc: key sets load on background threads, so a request never
 * waits on the network for keys (until the first key set is in, protected requests get 503,
 * never 200); an introspection call is made on the introspector's threads while the request
 * is parked (out->pending), or inline when the caller gave no wake function. Verified tokens
 * and introspection answers are cached by SHA-256. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "jose/jwt.h"
#include "pipeline/bearer.h"

/* ---- Instance ---------------------------------------------------------------------------- */

static void conf_init(struct bearer *b)
{
    b->base.vt = &wdn__mw_bearer;
    b->cache_bytes = WDN_TOKEN_CACHE_DEFAULT_BYTES;
    b->clock_skew_s = 60;
    b->introspection_ttl_s = 300;
    b->introspection_timeout_s = 5;
}

static void bearer_destroy(struct wdn__mw *m)
{
    struct bearer *b = (struct bearer *)m;

    wdn_oidc_validator_free(b->v);
    wdn_introspector_free(b->in);
    wdn__bearer_conf_free(b);
    free(b);
}

/* A validator or introspector error, pointed at the component as metadata errors are. */
static int at_component(const struct wdn_res_component *c, struct wdn_diag *d)
{
    int rc = d && d->code ? d->code : WDN_ECONFIG;

    if (d) {
        char msg[sizeof(d->msg)];
        memcpy(msg, d->msg, sizeof(msg));
        wdn_diag_set_at(d, rc, c->pos.file, c->pos.line, c->pos.col, "component \"%.64s\": %.400s",
                        c->metadata.name, msg);
    }
    return rc;
}

static int bearer_create(const struct wdn_res_component *c, struct wdn__mw **out,
                         struct wdn_diag *d)
{
    struct bearer *b = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(1, sizeof(*b)));
    const char *ca;
    int rc;

    *out = NULL;
    if (b == NULL)
        return WDN_ENOMEM;
    conf_init(b);
    rc = wdn__mw_configure(&wdn__mw_bearer, b, c, d);
    if (rc)
        goto out;
    ca = wdn_fetch_ca_file_from_env();
    if (ca && (b->ca_file = wdn__bearer_strdup(b, ca)) == NULL) {
        rc = WDN_ENOMEM;
        goto out;
    }
    if (b->n_trusted > 0) {
        struct wdn_oidc_config oc;
        wdn_oidc_config_init(&oc);
        oc.issuers = b->trusted;
        oc.n_issuers = b->n_trusted;
        oc.skip_audience = b->require_resource_aud;
        oc.clock_skew_s = b->clock_skew_s;
        oc.required_scopes = b->scopes;
        oc.n_required_scopes = b->n_scopes;
        oc.ca_file = b->ca_file;
        oc.cache_bytes = b->cache_bytes;
        b->v = wdn_oidc_validator_new(&oc, d);
        if (b->v == NULL) {
            rc = at_component(c, d);
            goto out;
        }
    }
    if (b->introspection_url != NULL) {
        struct wdn_introspect_config ic;
        wdn_introspect_config_init(&ic);
        ic.url = b->introspection_url;
        ic.client_id = b->introspection_client_id;
        ic.client_secret = b->introspection_secret;
        ic.ca_file = b->ca_file;
        ic.issuer = b->top.issuer;
        ic.audiences = b->top.audiences;
        ic.n_audiences = b->top.n_aud;
        ic.skip_audience = b->require_resource_aud;
        ic.required_scopes = b->scopes;
        ic.n_required_scopes = b->n_scopes;
        ic.clock_skew_s = b->clock_skew_s;
        ic.timeout_ms = (unsigned)b->introspection_timeout_s * 1000;
        ic.max_ttl_s = b->introspection_ttl_s;
        ic.cache_bytes = b->cache_bytes;
        b->in = wdn_introspector_new(&ic, d);
        if (b->in == NULL) {
            rc = at_component(c, d);
            goto out;
        }
    }
    *out = &b->base;
    b = NULL;
    rc = 0;
out:
    if (b)
        bearer_destroy(&b->base);
    return rc;
}

static int bearer_check(const struct wdn_res_component *c, struct wdn_diag *d)
{
    struct bearer *b = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(1, sizeof(*b)));
    int rc;

    if (b == NULL)
        return WDN_ENOMEM;
    conf_init(b);
    rc = wdn__mw_configure(&wdn__mw_bearer, b, c, d);
    bearer_destroy(&b->base);
    return rc;
}

static bool bearer_ready(struct wdn__mw *m)
{
    struct bearer *b = (struct bearer *)m;

    return b->v == NULL || wdn_oidc_status(b->v) != WDN_OIDC_NEVER_LOADED;
}

static void bearer_stats(struct wdn__mw *m, struct wdn_mw_stats *s)
{
    struct bearer *b = (struct bearer *)m;

    s->keys_loaded = true;
    if (b->v != NULL) {
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
    if (b->in != NULL) {
        struct wdn_introspect_stats is;
        wdn_introspect_stats(b->in, &is);
        s->cache_hits += is.cache_hits;
        s->cache_misses += is.cache_misses;
        s->cache_entries += is.cache_entries;
        s->cache_bytes += is.cache_bytes;
        s->introspect_ok = is.calls_ok;
        s->introspect_errors = is.calls_failed;
    }
}

/* What this instance protects, for RFC 9728 metadata (wdn_pipeline_resource merges the
 * handlers): the advertised issuers, required scopes, configured resource. Borrowed from b. */
static void bearer_resource(struct wdn__mw *m, struct wdn_pipeline_resource *out)
{
    struct bearer *b = (struct bearer *)m;

    memset(out, 0, sizeof(*out));
    out->resource = b->resource;
    out->resource_metadata = b->resource_metadata;
    out->issuers = b->advertised;
    out->n_issuers = b->n_advertised;
    out->scopes = b->scopes;
    out->n_scopes = b->n_scopes;
    out->require_resource_audience = b->require_resource_aud;
    out->introspects = b->in != NULL;
}

/* ---- Per request ------------------------------------------------------------------------- */

static const struct wdn_http_header plain = {{"Content-Type", 12},
                                             {"text/plain; charset=utf-8", 25}};

static void deny(struct wdn_pipeline_out *out, int status, enum wdn_mw_reason reason,
                 struct wdn_str challenge)
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
        out->body = reason == WDN_MW_INTROSPECTION_UNAVAILABLE
                        ? WDN_STR("Service Unavailable: the token could not be checked with the "
                                  "authorization server; retry shortly")
                        : WDN_STR("Service Unavailable: the token issuer's key set has not been "
                                  "loaded yet; retry shortly");
    } else if (status == 403) {
        out->body = WDN_STR("Forbidden");
    } else if (status == 500) {
        out->body = WDN_STR("Internal Server Error");
    } else {
        out->body = WDN_STR("Unauthorized");
    }
}

/* The metadata URL for challenges: the configured one, else the sidecar's for this route. */
static const char *metadata_url(const struct bearer *b, const struct wdn_pipeline_req *rq)
{
    const char *u = b->resource_metadata ? b->resource_metadata : rq->resource_metadata;

    if (u == NULL)
        return NULL;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == '"' || *p == '\\' || (unsigned char)*p >= 0x7f)
            return NULL; /* not quotable: left out rather than sent broken */
    return u;
}

/* Builds 'Bearer [error="E", error_description="D"][, scope="S"][, resource_metadata="R"]' in
 * the request's arena (D is a static sentence without quotes; err NULL for a request without
 * a token, RFC 6750 section 3.1). */
static struct wdn_str challenge(const struct bearer *b, const struct wdn_pipeline_req *rq,
                                const char *err, const char *desc, bool with_scope)
{
    const char *rm = metadata_url(b, rq);
    char buf[2048];
    int rc;

    with_scope = with_scope && b->required_scope_text[0] != '\0';
    rc = wdn_fmt(buf, sizeof(buf), "Bearer%s%s%s%s%s%s%s%s%s%s%s", err ? " error=\"" : "",
                 err ? err : "", err ? "\", error_description=\"" : "", err ? desc : "",
                 err ? "\"" : "", with_scope ? (err ? ", scope=\"" : " scope=\"") : "",
                 with_scope ? b->required_scope_text : "", with_scope ? "\"" : "",
                 rm ? (err || with_scope ? ", resource_metadata=\"" : " resource_metadata=\"") : "",
                 rm ? rm : "", rm ? "\"" : "");
    if (rc != 0)
        return WDN_STR("Bearer error=\"invalid_token\"");
    char *s = wdn_arena_strdup(rq->arena, wdn_str_from_cstr(buf));
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

/* A claim's value as header text into *v: NULL when absent or unsafe in a header (the header is
 * then left out). 0, or WDN_ENOMEM when the copy could not be made. */
static int claim_value(const struct wdn_jwt *j, const char *name, struct wdn_arena *a, char **v)
{
    const char *s = wdn_jwt_claim_string(j, name);
    char *json = NULL;
    int rc = 0;

    *v = NULL;
    if (s == NULL) {
        json = wdn_jwt_claim_json(j, name);
        s = json;
    }
    if (s == NULL || strlen(s) > WDN_MCP_MAX_HEADER_VALUE)
        goto out;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            goto out;
    *v = wdn_arena_strdup(a, wdn_str_from_cstr(s));
    rc = *v ? 0 : WDN_ENOMEM;
out:
    free(json);
    return rc;
}

/* A string claim of the verified token, copied into the arena, or NULL. */
static const char *claim_text(const struct wdn_jwt *j, const char *name, struct wdn_arena *a)
{
    const char *v = wdn_jwt_claim_string(j, name);
    return v ? wdn_arena_strdup(a, wdn_str_from_cstr(v)) : NULL;
}

/* One claim (name = value as text) for later checks, when it is a string, number or boolean. */
static void export_claim(const struct wdn_jwt_claim *c, struct wdn_str name, struct wdn_arena *a,
                         struct wdn_pipeline_out *out)
{
    char num[64], *copy, *n;

    if (c->kind == WDN_JWT_CLAIM_STRING)
        copy = wdn_arena_strdup(a, c->text);
    else if (c->kind == WDN_JWT_CLAIM_INT || c->kind == WDN_JWT_CLAIM_REAL ||
             c->kind == WDN_JWT_CLAIM_TRUE || c->kind == WDN_JWT_CLAIM_FALSE)
        copy = wdn_jwt_claim_scalar(c, num, sizeof(num)) >= 0
                   ? wdn_arena_strdup(a, wdn_str_from_cstr(num))
                   : NULL;
    else
        return;
    n = wdn_arena_strdup(a, name);
    if (copy && n) {
        out->claims[out->n_claims].name = n;
        out->claims[out->n_claims].value = copy;
        out->n_claims++;
    }
}

/* Copies the token's scopes and claims (as text) into the request's arena for later checks:
 * strings, numbers and booleans, and those inside arrays; objects and null are left out. */
static void export_auth(const struct wdn_jwt *j, struct wdn_arena *a, struct wdn_pipeline_out *out)
{
    size_t ns = wdn_jwt_scope_count(j), nc = wdn_jwt_claim_count(j);
    struct wdn_jwt_claim c, e;

    out->scopes = ns ? wdn_arena_alloc(a, ns * sizeof(*out->scopes)) : NULL;
    for (size_t i = 0; out->scopes && i < ns; i++) {
        char *s = wdn_arena_strdup(a, wdn_jwt_scope(j, i));
        if (s)
            out->scopes[out->n_scopes++] = s;
    }
    out->claims = wdn_arena_alloc(a, WDN_PIPELINE_MAX_CLAIMS * sizeof(*out->claims));
    if (out->claims == NULL)
        return;
    for (size_t i = 0; i < nc && wdn_jwt_claim_at(j, i, &c); i++) {
        if (c.kind != WDN_JWT_CLAIM_ARRAY) {
            if (out->n_claims < WDN_PIPELINE_MAX_CLAIMS)
                export_claim(&c, c.name, a, out);
            continue;
        }
        for (size_t k = 0;
             out->n_claims < WDN_PIPELINE_MAX_CLAIMS && wdn_jwt_claim_elem(j, &c, k, &e); k++)
            export_claim(&e, c.name, a, out);
    }
}

/* True when "aud" (a string or an array) contains resource exactly (RFC 8707). */
static bool aud_has(const struct wdn_jwt *j, const char *resource)
{
    struct wdn_jwt_claim aud, v;

    if (!wdn_jwt_claim_get(j, "aud", &aud))
        return false;
    if (aud.kind == WDN_JWT_CLAIM_STRING)
        return strcmp(aud.text.p, resource) == 0;
    for (size_t i = 0; i < WDN_JWT_MAX_AUDIENCES && wdn_jwt_claim_elem(j, &aud, i, &v); i++) {
        if (v.kind == WDN_JWT_CLAIM_STRING && strcmp(v.text.p, resource) == 0)
            return true;
    }
    return false;
}

/* A compact JWS has exactly two dots; anything else is an opaque token. */
static bool jwt_shaped(struct wdn_str t)
{
    size_t dots = 0;

    for (size_t i = 0; i < t.len; i++)
        dots += t.p[i] == '.';
    return dots == 2;
}

/* Answers a refused token: 403 for a missing scope, else 401. */
static void refuse(const struct bearer *b, const struct wdn_pipeline_req *rq,
                   struct wdn_pipeline_out *out, enum wdn_jwt_reason r)
{
    out->jwt_reason = r;
    if (r == WDN_JWT_INSUFFICIENT_SCOPE)
        deny(out, 403, WDN_MW_INSUFFICIENT_SCOPE,
             challenge(b, rq, "insufficient_scope", wdn_jwt_reason_text(r), true));
    else
        deny(out, 401, WDN_MW_INVALID_TOKEN,
             challenge(b, rq, "invalid_token", wdn_jwt_reason_text(r), false));
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

    if (token_in_query(head->query)) {
        deny(out, 401, WDN_MW_TOKEN_IN_QUERY,
             challenge(b, rq, "invalid_request",
                       "tokens in the query string are not accepted; use the Authorization "
                       "header",
                       false));
        goto out;
    }
    auth = wdn_http_header_find(head->headers, head->nheaders, WDN_STR("authorization"));
    if (auth == NULL) {
        deny(out, 401, WDN_MW_MISSING_TOKEN, challenge(b, rq, NULL, NULL, true));
        goto out;
    }
    if (auth->value.len <= 7 ||
        !wdn_str_eq_case((struct wdn_str){auth->value.p, 7}, WDN_STR("bearer "))) {
        deny(out, 401, WDN_MW_MALFORMED_HEADER,
             challenge(b, rq, "invalid_request",
                       "the Authorization header must be 'Bearer <token>'", false));
        goto out;
    }
    tok = wdn_str_trim_ows((struct wdn_str){auth->value.p + 7, auth->value.len - 7});
    if (b->v != NULL && (b->in == NULL || jwt_shaped(tok))) {
        /* Never blocks: an unknown kid or a missing key set asks for a background refetch. */
        r = wdn_oidc_verify_ex(b->v, tok, now, &jwt, &out->cached);
        if (r == WDN_JWT_KEY_SET_NOT_LOADED) {
            deny(out, 503, WDN_MW_KEYS_NOT_LOADED, (struct wdn_str){NULL, 0});
            goto out;
        }
    } else {
        bool cached = false;
        switch (wdn_introspect(b->in, tok, now, rq->wake, rq->wake_ud, &jwt, &r, &cached)) {
        case WDN_INTROSPECT_PENDING:
            out->pending = true;
            goto out;
        case WDN_INTROSPECT_UNAVAILABLE:
            deny(out, 503, WDN_MW_INTROSPECTION_UNAVAILABLE, (struct wdn_str){NULL, 0});
            goto out;
        case WDN_INTROSPECT_REFUSED:
            break;
        case WDN_INTROSPECT_ACTIVE:
            r = WDN_JWT_OK;
            out->cached = cached;
            out->introspected = true;
            break;
        }
    }
    if (r != WDN_JWT_OK) {
        refuse(b, rq, out, r);
        goto out;
    }
    if (b->require_resource_aud) {
        /* RFC 8707: the token must have been issued for this resource. */
        const char *res = b->resource ? b->resource : rq->resource;
        if (res == NULL) {
            deny(out, 500, WDN_MW_NO_RESOURCE, (struct wdn_str){NULL, 0});
            goto out;
        }
        if (!aud_has(jwt, res)) {
            refuse(b, rq, out, WDN_JWT_WRONG_AUDIENCE);
            goto out;
        }
    }
    /* Accepted. Claim headers are always removed first, so a caller cannot forge them. */
    for (size_t i = 0; i < b->n_claims && out->nremove < WDN_PIPELINE_MAX_EDITS; i++)
        out->remove[out->nremove++] = wdn_str_from_cstr(b->claims[i].header);
    if (b->strip_token && out->nremove < WDN_PIPELINE_MAX_EDITS)
        out->remove[out->nremove++] = WDN_STR("Authorization");
    for (size_t i = 0; i < b->n_claims && out->nadd < WDN_PIPELINE_MAX_EDITS; i++) {
        char *v;
        if (claim_value(jwt, b->claims[i].claim, rq->arena, &v) != 0) {
            /* Never on without a header the app may read the caller's identity from. */
            deny(out, 500, WDN_MW_INTERNAL, (struct wdn_str){NULL, 0});
            goto out;
        }
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
    return 0;
}

const struct wdn__mw_type wdn__mw_bearer = {
    .type = "middleware.http.bearer",
    .fields = wdn__bearer_fields,
    .finish = wdn__bearer_finish,
    .check = bearer_check,
    .create = bearer_create,
    .destroy = bearer_destroy,
    .run = bearer_run,
    .stats = bearer_stats,
    .ready = bearer_ready,
    .resource = bearer_resource,
};
