/* Tests of the pipeline core and the bearer middleware: building from Components (refusing
 * missing, mistyped and scoped-away handlers and bad metadata with file:line), RFC 6750
 * answers, the verified-token cache, scopes, claims forwarded as headers, token stripping,
 * instance sharing across rebuilds, and 503 before a key set is loaded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "jose/jwt.h"
#include "jose/sign.h"
#include "pipeline/pipeline.h"
#include "../support/bearerdoc.h"

static struct wdn_jose_key *key, *other_key;
static char *jwks_json;

static int setup_keys(void **state)
{
    key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "k1", NULL);
    other_key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "k1", NULL);
    const struct wdn_jose_key *keys[] = {key};
    jwks_json = wdn_jose_jwks_export(keys, 1);
    return key && other_key && jwks_json ? 0 : -1;
}

static int teardown_keys(void **state)
{
    wdn_jose_key_free(key);
    wdn_jose_key_free(other_key);
    free(jwks_json);
    wdn_jose_thread_cleanup();
    return 0;
}

/* A Component + Configuration document pair with the given extra metadata lines. */
static struct wdn_resources *load(const char *extra_meta, const char *scopes)
{
    struct wdn_resources *set = wdn_resources_new();
    char *doc = NULL;
    size_t n;
    FILE *f = open_memstream(&doc, &n);

    fprintf(f,
            "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bearer\nspec:\n"
            "  type: middleware.http.bearer\n  version: v1\n  metadata:\n"
            "  - name: issuer\n    value: \"https://issuer.test/\"\n"
            "  - name: audience\n    value: \"https://api.test/, urn:second\"\n"
            "  - name: jwks\n    value: '%s'\n%s%s"
            "---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg\n"
            "spec:\n  appHttpPipeline:\n    handlers:\n    - name: bearer\n"
            "      type: middleware.http.bearer\n",
            jwks_json, extra_meta ? extra_meta : "", scopes ? scopes : "");
    fclose(f);
    wdn_resources_load_buffer(set, "test.yaml", NULL, doc, n);
    free(doc);
    return set;
}

static int build(struct wdn_resources *set, const char *app, struct wdn_mw_registry *reg,
                 struct wdn_pipeline **p, struct wdn_diag *d)
{
    const struct wdn_res_configuration *cfg = wdn_resources_find_configuration(set, "cfg");
    assert_non_null(cfg);
    return wdn_pipeline_build(&cfg->spec.app_http_pipeline, set, app, reg, p, d);
}

static char *sign(const struct wdn_jose_key *k, const char *claims)
{
    struct wdn_buf b;
    wdn_buf_init(&b, 1 << 16);
    assert_int_equal(wdn_jws_sign(k, wdn_str_from_cstr(claims), NULL, &b), 0);
    return wdn_buf_cstr(&b);
}

static char *claims(const char *aud, int64_t exp_delta, const char *extra)
{
    char *s = NULL;
    int64_t now = wdn_clock_unix();
    assert_true(asprintf(&s,
                         "{\"iss\":\"https://issuer.test/\",\"sub\":\"user-1\",\"aud\":\"%s\","
                         "\"iat\":%lld,\"exp\":%lld%s}",
                         aud, (long long)now, (long long)(now + exp_delta),
                         extra ? extra : "") > 0);
    return s;
}

/* Runs p on a request with the given Authorization value (NULL = none) and query. */
static bool want_auth;

static void run(struct wdn_pipeline *p, const char *auth, const char *query, struct wdn_arena *a,
                struct wdn_pipeline_out *out)
{
    struct wdn_http_request head;
    struct wdn_pipeline_req rq = {.head = &head, .arena = a, .want_auth = want_auth};

    memset(&head, 0, sizeof(head));
    head.method = WDN_STR("POST");
    head.path = WDN_STR("/mcp");
    head.query = query ? wdn_str_from_cstr(query) : (struct wdn_str){"", 0};
    head.headers[0].name = WDN_STR("X-User");
    head.headers[0].value = WDN_STR("forged");
    head.nheaders = 1;
    if (auth) {
        head.headers[1].name = WDN_STR("Authorization");
        head.headers[1].value = wdn_str_from_cstr(auth);
        head.nheaders = 2;
    }
    assert_int_equal(wdn_pipeline_run(p, &rq, out), 0);
}

#define hdr bd_header

static void test_bearer_answers(void **state)
{
    struct wdn_resources *set = load(NULL, NULL);
    struct wdn_mw_registry *reg = wdn_mw_registry_new();
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_out o;
    struct wdn_arena a;
    struct wdn_diag d;
    char *c, *tok, *auth = NULL;

    wdn_arena_init(&a, 4096, 0);
    assert_int_equal(build(set, "mcp-server", reg, &p, &d), 0);
    assert_int_equal(wdn_pipeline_count(p), 1);
    assert_true(wdn_pipeline_wait_ready(p, 1000));

    run(p, NULL, NULL, &a, &o);
    assert_int_equal(o.status, 401);
    assert_int_equal(o.reason, WDN_MW_MISSING_TOKEN);
    assert_string_equal(hdr(&o, "WWW-Authenticate"), "Bearer");
    assert_true(wdn_str_eq_cstr(o.body, "Unauthorized"));
    assert_string_equal(o.handler, "bearer");

    c = claims("https://api.test/", 600, NULL);
    tok = sign(key, c);
    assert_true(asprintf(&auth, "Bearer %s", tok) > 0);
    run(p, auth, NULL, &a, &o);
    assert_int_equal(o.status, 0);
    assert_false(o.cached);
    assert_string_equal(o.subject, "user-1");
    run(p, auth, NULL, &a, &o);
    assert_int_equal(o.status, 0);
    assert_true(o.cached);
    free(auth);
    free(tok);
    free(c);

    /* The second audience of the list, case-insensitive scheme. */
    c = claims("urn:second", 600, NULL);
    tok = sign(key, c);
    assert_true(asprintf(&auth, "bEaReR %s", tok) > 0);
    run(p, auth, NULL, &a, &o);
    assert_int_equal(o.status, 0);
    /* ... but never from the query string. */
    run(p, auth, "a=1&access_token=x", &a, &o);
    assert_int_equal(o.status, 401);
    assert_int_equal(o.reason, WDN_MW_TOKEN_IN_QUERY);
    assert_non_null(strstr(hdr(&o, "WWW-Authenticate"), "error=\"invalid_request\""));
    free(auth);
    free(tok);
    free(c);

    c = claims("https://other/", 600, NULL);
    tok = sign(key, c);
    assert_true(asprintf(&auth, "Bearer %s", tok) > 0);
    run(p, auth, NULL, &a, &o);
    assert_int_equal(o.status, 401);
    assert_int_equal(o.reason, WDN_MW_INVALID_TOKEN);
    assert_int_equal(o.jwt_reason, WDN_JWT_WRONG_AUDIENCE);
    assert_string_equal(hdr(&o, "WWW-Authenticate"),
                        "Bearer error=\"invalid_token\", error_description=\"the token is not "
                        "meant for this audience\"");
    free(auth);
    free(tok);
    free(c);

    c = claims("https://api.test/", -3600, NULL);
    tok = sign(key, c);
    assert_true(asprintf(&auth, "Bearer %s", tok) > 0);
    run(p, auth, NULL, &a, &o);
    assert_int_equal(o.jwt_reason, WDN_JWT_EXPIRED);
    free(auth);
    free(tok);
    free(c);

    /* Same kid, another key: a forged signature. */
    c = claims("https://api.test/", 600, NULL);
    tok = sign(other_key, c);
    assert_true(asprintf(&auth, "Bearer %s", tok) > 0);
    run(p, auth, NULL, &a, &o);
    assert_int_equal(o.status, 401);
    assert_int_equal(o.jwt_reason, WDN_JWT_BAD_SIGNATURE);
    free(auth);
    free(tok);
    free(c);

    run(p, "Bearer", NULL, &a, &o);
    assert_int_equal(o.reason, WDN_MW_MALFORMED_HEADER);
    run(p, "Basic dXNlcjpwYXNz", NULL, &a, &o);
    assert_int_equal(o.reason, WDN_MW_MALFORMED_HEADER);
    run(p, "Bearer a.b.c", NULL, &a, &o);
    assert_int_equal(o.status, 401);

    wdn_pipeline_free(p);
    wdn_mw_registry_free(reg);
    wdn_resources_free(set);
    wdn_arena_reset(&a);
}

static void test_bearer_scopes_claims_strip(void **state)
{
    struct wdn_resources *set =
        load("  - name: requiredScopes\n    value: \"mcp:read mcp:call\"\n"
             "  - name: forwardClaims\n    value: \"sub:X-User, scope:X-Scope\"\n"
             "  - name: stripToken\n    value: \"true\"\n"
             "  - name: resourceMetadata\n"
             "    value: \"https://api.test/.well-known/oauth-protected-resource\"\n",
             NULL);
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_out o;
    struct wdn_arena a;
    struct wdn_diag d;
    char *c, *tok, *auth = NULL;
    bool saw_user = false, removed_user = false, removed_auth = false;

    wdn_arena_init(&a, 4096, 0);
    assert_int_equal(build(set, "mcp-server", NULL, &p, &d), 0);

    /* No token: no error, the scopes to ask for (MCP 2025-11-25) and the metadata URL. */
    run(p, NULL, NULL, &a, &o);
    assert_string_equal(hdr(&o, "WWW-Authenticate"),
                        "Bearer scope=\"mcp:read mcp:call\", resource_metadata=\"https://api.test/"
                        ".well-known/oauth-protected-resource\"");

    c = claims("https://api.test/", 600, ",\"scope\":\"mcp:read\"");
    tok = sign(key, c);
    assert_true(asprintf(&auth, "Bearer %s", tok) > 0);
    run(p, auth, NULL, &a, &o);
    assert_int_equal(o.status, 403);
    assert_int_equal(o.reason, WDN_MW_INSUFFICIENT_SCOPE);
    assert_non_null(
        strstr(hdr(&o, "WWW-Authenticate"), "error=\"insufficient_scope\", error_description="));
    assert_non_null(strstr(hdr(&o, "WWW-Authenticate"), "scope=\"mcp:read mcp:call\""));
    free(auth);
    free(tok);
    free(c);

    c = claims("https://api.test/", 600,
               ",\"scope\":\"mcp:call mcp:read other\",\"groups\":[\"a\",\"b\"],\"n\":5");
    tok = sign(key, c);
    assert_true(asprintf(&auth, "Bearer %s", tok) > 0);
    want_auth = true;
    run(p, auth, NULL, &a, &o);
    want_auth = false;
    assert_int_equal(o.status, 0);
    /* Scopes and claims exported for the MCP tool policy. */
    assert_int_equal(o.n_scopes, 3);
    assert_string_equal(o.scopes[1], "mcp:read");
    int groups = 0, sub = 0, num = 0;
    for (size_t i = 0; i < o.n_claims; i++) {
        groups += strcmp(o.claims[i].name, "groups") == 0;
        sub += strcmp(o.claims[i].name, "sub") == 0 && strcmp(o.claims[i].value, "user-1") == 0;
        num += strcmp(o.claims[i].name, "n") == 0 && strcmp(o.claims[i].value, "5") == 0;
    }
    assert_int_equal(groups, 2);
    assert_int_equal(sub, 1);
    assert_int_equal(num, 1);
    for (size_t i = 0; i < o.nremove; i++) {
        removed_user |= wdn_str_eq_case_cstr(o.remove[i], "x-user");
        removed_auth |= wdn_str_eq_case_cstr(o.remove[i], "authorization");
    }
    for (size_t i = 0; i < o.nadd; i++) {
        if (wdn_str_eq_cstr(o.add[i].name, "X-User")) {
            saw_user = true;
            assert_true(wdn_str_eq_cstr(o.add[i].value, "user-1"));
        }
        if (wdn_str_eq_cstr(o.add[i].name, "X-Scope"))
            assert_true(wdn_str_eq_cstr(o.add[i].value, "mcp:call mcp:read other"));
    }
    assert_true(saw_user);
    assert_true(removed_user);
    assert_true(removed_auth);
    free(auth);
    free(tok);
    free(c);
    wdn_pipeline_free(p);
    wdn_resources_free(set);
    wdn_arena_reset(&a);
}

/* Configuration errors name the place; nothing is ever skipped. */
static void test_build_refusals(void **state)
{
    struct wdn_resources *set;
    struct wdn_pipeline *p = NULL;
    struct wdn_diag d;

    set = load(NULL, "scopes:\n- mcp-server\n");
    wdn_diag_clear(&d);
    assert_int_equal(build(set, "other-app", NULL, &p, &d), WDN_ECONFIG);
    assert_null(p);
    assert_non_null(strstr(d.msg, "scoped away"));
    assert_true(d.line > 0);
    assert_int_equal(build(set, "mcp-server", NULL, &p, &d), 0);
    wdn_pipeline_free(p);
    p = NULL;
    wdn_resources_free(set);

    set = load("  - name: audiance\n    value: x\n", NULL);
    wdn_diag_clear(&d);
    assert_int_equal(build(set, "a", NULL, &p, &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "unknown metadata field audiance"));
    assert_string_equal(d.file, "test.yaml");
    assert_int_equal(d.line, 15);
    wdn_resources_free(set);

    set = load("  - name: clockSkew\n    value: forever\n", NULL);
    assert_int_equal(build(set, "a", NULL, &p, &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "clockSkew"));
    wdn_resources_free(set);

    set = load("  - name: jwksURL\n    value: \"https://x/jwks\"\n", NULL);
    assert_int_equal(build(set, "a", NULL, &p, &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "not both"));
    wdn_resources_free(set);

    static const char *const bad_sizes[] = {"8MB", "1000", "2Gi", "-1", "Mi", "1.5Mi", ""};
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        char meta[128];
        snprintf(meta, sizeof(meta), "  - name: tokenCacheSize\n    value: \"%s\"\n", bad_sizes[i]);
        set = load(meta, NULL);
        wdn_diag_clear(&d);
        assert_int_equal(build(set, "a", NULL, &p, &d), WDN_ECONFIG);
        assert_non_null(strstr(d.msg, "tokenCacheSize must be"));
        assert_int_equal(d.line, 15);
        wdn_resources_free(set);
    }

    /* A handler without a component. */
    set = wdn_resources_new();
    static const char doc[] = "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n"
                              "  name: cfg\nspec:\n  appHttpPipeline:\n    handlers:\n"
                              "    - name: bearer\n      type: middleware.http.bearer\n";
    wdn_resources_load_buffer(set, "cfg.yaml", NULL, doc, sizeof(doc) - 1);
    wdn_diag_clear(&d);
    assert_int_equal(build(set, "a", NULL, &p, &d), WDN_ECONFIG);
    assert_string_equal(d.file, "cfg.yaml");
    assert_int_equal(d.line, 8);
    assert_non_null(strstr(d.msg, "no component named 'bearer'"));
    wdn_resources_free(set);
}

static void count_stats(const struct wdn_mw_stats *s, void *arg)
{
    (*(int *)arg)++;
    assert_string_equal(s->type, "middleware.http.bearer");
    assert_true(s->keys_loaded);
    assert_int_equal(s->keys, 1);
}

/* Rebuilding with an unchanged Component shares the instance (key set, cache). */
static void test_registry_shares(void **state)
{
    struct wdn_resources *set = load(NULL, NULL),
                         *set2 = load("  - name: clockSkew\n    value: 2m\n", NULL);
    struct wdn_mw_registry *reg = wdn_mw_registry_new();
    struct wdn_pipeline *p1 = NULL, *p2 = NULL, *p3 = NULL;
    struct wdn_diag d;
    int n = 0;

    assert_int_equal(build(set, "a", reg, &p1, &d), 0);
    assert_int_equal(build(set, "a", reg, &p2, &d), 0);
    wdn_mw_registry_stats(reg, count_stats, &n);
    assert_int_equal(n, 1);
    assert_int_equal(build(set2, "a", reg, &p3, &d), 0);
    n = 0;
    wdn_mw_registry_stats(reg, count_stats, &n);
    assert_int_equal(n, 2);
    wdn_pipeline_free(p1);
    wdn_pipeline_free(p2);
    wdn_mw_registry_gc(reg);
    n = 0;
    wdn_mw_registry_stats(reg, count_stats, &n);
    assert_int_equal(n, 1); /* only the one p3 uses */
    wdn_pipeline_free(p3);
    wdn_mw_registry_free(reg);
    wdn_resources_free(set);
    wdn_resources_free(set2);
}

/* An issuer that cannot be reached: protected requests get 503, never 200. */
static void test_keys_not_loaded(void **state)
{
    struct wdn_resources *set = wdn_resources_new();
    static const char doc[] =
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bearer\nspec:\n"
        "  type: middleware.http.bearer\n  version: v1\n  metadata:\n"
        "  - name: issuer\n    value: \"https://issuer.test/\"\n"
        "  - name: audience\n    value: aud\n"
        "  - name: jwksURL\n    value: \"https://127.0.0.1:1/jwks\"\n"
        "---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg\n"
        "spec:\n  appHttpPipeline:\n    handlers:\n    - name: bearer\n"
        "      type: middleware.http.bearer\n";
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_out o;
    struct wdn_arena a;
    struct wdn_diag d;
    char *c = claims("aud", 600, NULL), *tok = sign(key, c), *auth = NULL;

    wdn_arena_init(&a, 4096, 0);
    wdn_resources_load_buffer(set, "t.yaml", NULL, doc, sizeof(doc) - 1);
    assert_int_equal(set->n_errors, 0);
    assert_int_equal(build(set, "a", NULL, &p, &d), 0);
    assert_false(wdn_pipeline_wait_ready(p, 100));
    assert_true(asprintf(&auth, "Bearer %s", tok) > 0);
    run(p, auth, NULL, &a, &o);
    assert_int_equal(o.status, 503);
    assert_int_equal(o.reason, WDN_MW_KEYS_NOT_LOADED);
    assert_string_equal(hdr(&o, "Retry-After"), "1");
    free(auth);
    free(tok);
    free(c);
    wdn_pipeline_free(p);
    wdn_resources_free(set);
    wdn_arena_reset(&a);
}

static void cache_stats(const struct wdn_mw_stats *s, void *arg)
{
    *(struct wdn_mw_stats *)arg = *s;
}

/* tokenCacheSize: 0 turns the cache off; a size bounds it (the gauge stays within it). */
static void test_token_cache_size(void **state)
{
    static const char *const sizes[] = {"0", "64Ki", "2MiB"};
    char *c = claims("urn:second", 600, NULL), *tok = sign(key, c), *auth = NULL;

    assert_true(asprintf(&auth, "Bearer %s", tok) > 0);
    for (size_t i = 0; i < 3; i++) {
        struct wdn_mw_registry *reg = wdn_mw_registry_new();
        struct wdn_pipeline *p = NULL;
        struct wdn_mw_stats st;
        struct wdn_pipeline_out o;
        struct wdn_arena a;
        struct wdn_diag d;
        char meta[128];
        struct wdn_resources *set;

        snprintf(meta, sizeof(meta), "  - name: tokenCacheSize\n    value: \"%s\"\n", sizes[i]);
        set = load(meta, NULL);
        wdn_arena_init(&a, 4096, 0);
        assert_int_equal(build(set, "a", reg, &p, &d), 0);
        run(p, auth, NULL, &a, &o);
        assert_int_equal(o.status, 0);
        assert_false(o.cached);
        run(p, auth, NULL, &a, &o);
        assert_int_equal(o.status, 0);
        assert_int_equal(o.cached, i != 0);
        wdn_mw_registry_stats(reg, cache_stats, &st);
        assert_int_equal(st.cache_entries, i != 0 ? 1 : 0);
        if (i == 1)
            assert_true(st.cache_bytes > 0 && st.cache_bytes <= (64u << 10));
        if (i == 2)
            assert_true(st.cache_bytes > 0 && st.cache_bytes <= (2u << 20));
        wdn_pipeline_free(p);
        wdn_mw_registry_free(reg);
        wdn_resources_free(set);
        wdn_arena_reset(&a);
    }
    free(auth);
    free(tok);
    free(c);
}

static void test_reason_names(void **state)
{
    assert_string_equal(wdn_mw_reason_name(WDN_MW_MISSING_TOKEN), "missing_token");
    assert_string_equal(wdn_mw_reason_name(WDN_MW_KEYS_NOT_LOADED), "keys_not_loaded");
    assert_string_equal(wdn_mw_reason_name((enum wdn_mw_reason)99), "internal");
    assert_int_equal(wdn_pipeline_count(NULL), 0);
}

/* A bearer Component with exactly these metadata lines (no defaults), built for app "a". */
static int build_meta(const char *meta, struct wdn_diag *d)
{
    struct wdn_resources *set = wdn_resources_new();
    struct wdn_pipeline *p = NULL;
    char *doc = NULL;
    size_t n;
    FILE *f = open_memstream(&doc, &n);
    int rc;

    fprintf(f,
            "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bearer\nspec:\n"
            "  type: middleware.http.bearer\n  version: v1\n  metadata:\n%s"
            "---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg\n"
            "spec:\n  appHttpPipeline:\n    handlers:\n    - name: bearer\n"
            "      type: middleware.http.bearer\n",
            meta);
    fclose(f);
    wdn_resources_load_buffer(set, "test.yaml", NULL, doc, n);
    free(doc);
    wdn_diag_clear(d);
    rc = build(set, "a", NULL, &p, d);
    if (rc == 0)
        wdn_pipeline_free(p);
    else
        assert_null(p);
    wdn_resources_free(set);
    return rc;
}

/* Every configuration refusal of middleware.http.bearer (issue 18): the Component is refused
 * with WDN_ECONFIG, a message that says what to fix, and the line of the offending item; the
 * same Component without the bad item builds. */
static void test_bearer_config_refusals(void **state)
{
    static const char iss[] = "  - name: issuer\n    value: \"https://issuer.test/\"\n"
                              "  - name: audience\n    value: api\n";
    char many_aud[2048], many_scopes[4096], meta[8192], jwks_meta[4096];
    size_t k;
    struct {
        const char *item, *want;
    } cases[] = {
        {"  - name: clockSkew\n    secretKeyRef:\n      name: s\n      key: k\n",
         "secretKeyRef is not supported for clockSkew (warden has no secret stores"},
        {"  - name: jwksURL\n    value: \"http://issuer.test/jwks\"\n",
         "jwksURL must be an https:// URL"},
        {"  - name: jwks\n    value: '{\"keys\":[]}'\n",
         "jwks must be a JSON Web Key Set with a usable key: none is usable"},
        {"  - name: jwks\n    value: 'not json'\n", "jwks must be a JSON Web Key Set"},
        {many_aud, "too many audiences"},
        {many_scopes, "too many requiredScopes"},
        {"  - name: requiredScopes\n    value: 'read wr\"ite'\n",
         "a scope with a forbidden character"},
        {"  - name: requiredScopes\n    value: 'read wr\\ite'\n",
         "a scope with a forbidden character"},
        {"  - name: stripToken\n    value: \"yes\"\n", "stripToken must be true or false"},
        {"  - name: resourceMetadata\n    value: \"ftp://api.test/prm\"\n",
         "resourceMetadata must be an http(s) URL"},
        {"  - name: resourceMetadata\n    value: \"https://api.test/prm#frag\"\n",
         "resourceMetadata must be an http(s) URL"},
        {"  - name: resourceMetadata\n    value: \"https://user@api.test/prm\"\n",
         "resourceMetadata must be an http(s) URL"},
        {"  - name: forwardClaims\n    value: \"sub\"\n",
         "forwardClaims must be 'claim:Header-Name'"},
        {"  - name: forwardClaims\n    value: \"sub:\"\n", "forwardClaims must be"},
        {"  - name: forwardClaims\n    value: \":X-User\"\n", "forwardClaims must be"},
        {"  - name: forwardClaims\n    value: \"sub:X User\"\n", "forwardClaims must be"},
        {"  - name: forwardClaims\n    value: \"sub:X-User\\r\\nX-Evil:1\"\n",
         "forwardClaims must be"},
        {"  - name: forwardClaims\n    value: \",\"\n", "forwardClaims must be"},
    };

    (void)state;
    k = (size_t)snprintf(many_aud, sizeof(many_aud), "  - name: audience\n    value: \"");
    for (int i = 0; i <= WDN_JWT_MAX_AUDIENCES; i++)
        k += (size_t)snprintf(many_aud + k, sizeof(many_aud) - k, "a%d,", i);
    snprintf(many_aud + k, sizeof(many_aud) - k, "\"\n");
    k = (size_t)snprintf(many_scopes, sizeof(many_scopes),
                         "  - name: requiredScopes\n    value: \"");
    for (int i = 0; i <= WDN_JWT_MAX_SCOPES; i++)
        k += (size_t)snprintf(many_scopes + k, sizeof(many_scopes) - k, "s%d ", i);
    snprintf(many_scopes + k, sizeof(many_scopes) - k, "\"\n");
    snprintf(jwks_meta, sizeof(jwks_meta), "  - name: jwks\n    value: '%s'\n", jwks_json);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wdn_diag d;
        /* The bad item after the issuer and audience (a jwks item replaces the good key set;
         * the audience item follows the issuer so "too many audiences" is the later one). */
        bool own_jwks = strstr(cases[i].item, "name: jwks\n") != NULL;
        bool own_aud = strstr(cases[i].item, "name: audience\n") != NULL;
        snprintf(meta, sizeof(meta),
                 "  - name: issuer\n    value: \"https://issuer.test/\"\n%s%s%s",
                 own_aud ? "" : "  - name: audience\n    value: api\n", own_jwks ? "" : jwks_meta,
                 cases[i].item);
        if (build_meta(meta, &d) != WDN_ECONFIG || strstr(d.msg, cases[i].want) == NULL)
            fail_msg("case %zu: got '%s', expected '%s'", i, d.msg, cases[i].want);
        /* The bad item is the last one; its line is reported (past the Component's 8 lines). */
        assert_true(d.line > 8);
        assert_string_equal(d.file, "test.yaml");
    }
    /* The same Component with good values builds (so each refusal above is the item's). */
    snprintf(meta, sizeof(meta),
             "%s%s  - name: requiredScopes\n    value: \"read write\"\n"
             "  - name: stripToken\n    value: \"false\"\n"
             "  - name: forwardClaims\n    value: \"sub:X-User, email : X-Email\"\n"
             "  - name: resourceMetadata\n    value: \"https://api.test/prm\"\n",
             iss, jwks_meta);
    struct wdn_diag d;
    assert_int_equal(build_meta(meta, &d), 0);
}

/* A forwarded claim whose value holds a control character (CR LF: header injection) or is longer
 * than a header value may be is not forwarded, while the header of that name the caller sent is
 * still removed; the other claims are forwarded. */
static void test_bearer_forward_claim_dropped(void **state)
{
    struct wdn_resources *set =
        load("  - name: forwardClaims\n"
             "    value: \"sub:X-User, note:X-Note, big:X-Big, tab:X-Tab\"\n",
             NULL);
    static char big[WDN_MCP_MAX_HEADER_VALUE + 2];
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_out o;
    struct wdn_arena a;
    struct wdn_diag d;
    char extra[WDN_MCP_MAX_HEADER_VALUE + 200], *c, *tok, *auth = NULL;
    int removed = 0;

    (void)state;
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(extra, sizeof(extra),
             ",\"note\":\"ok\\r\\nX-Evil: 1\",\"big\":\"%s\",\"tab\":\"a\\u007fb\"", big);
    wdn_arena_init(&a, 4096, 0);
    assert_int_equal(build(set, "a", NULL, &p, &d), 0);
    c = claims("https://api.test/", 600, extra);
    tok = sign(key, c);
    assert_true(asprintf(&auth, "Bearer %s", tok) > 0);
    run(p, auth, NULL, &a, &o);
    assert_int_equal(o.status, 0);
    for (size_t i = 0; i < o.nadd; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%.*s", WDN_STR_FMT(o.add[i].name));
        if (strcmp(name, "X-User") != 0)
            fail_msg("claim header %s forwarded: '%.*s'", name, WDN_STR_FMT(o.add[i].value));
        assert_true(wdn_str_eq_cstr(o.add[i].value, "user-1"));
    }
    assert_int_equal(o.nadd, 1);
    for (size_t i = 0; i < o.nremove; i++)
        removed += wdn_str_eq_case_cstr(o.remove[i], "X-Note") ||
                   wdn_str_eq_case_cstr(o.remove[i], "X-Big") ||
                   wdn_str_eq_case_cstr(o.remove[i], "X-Tab");
    assert_int_equal(removed, 3);
    free(auth);
    free(tok);
    free(c);
    /* At the limit exactly, the value is forwarded. */
    big[sizeof(big) - 2] = '\0';
    snprintf(extra, sizeof(extra), ",\"big\":\"%s\"", big);
    c = claims("https://api.test/", 600, extra);
    tok = sign(key, c);
    assert_true(asprintf(&auth, "Bearer %s", tok) > 0);
    run(p, auth, NULL, &a, &o);
    assert_int_equal(o.status, 0);
    assert_int_equal(o.nadd, 2);
    free(auth);
    free(tok);
    free(c);
    wdn_pipeline_free(p);
    wdn_resources_free(set);
    wdn_arena_reset(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer_answers),
        cmocka_unit_test(test_bearer_scopes_claims_strip),
        cmocka_unit_test(test_build_refusals),
        cmocka_unit_test(test_registry_shares),
        cmocka_unit_test(test_keys_not_loaded),
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_token_cache_size),
        cmocka_unit_test(test_bearer_config_refusals),
        cmocka_unit_test(test_bearer_forward_claim_dropped),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
