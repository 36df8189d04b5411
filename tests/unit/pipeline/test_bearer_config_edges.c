/* middleware.http.bearer configuration edges (issue 18), offline: each refusal the metadata
 * reader and the cross-field rules make that no other test reached, checked through both
 * `warden check`'s path (wdn_pipeline_check_component) and the sidecar's (wdn_pipeline_build),
 * which must refuse with the same message at the item's line; and what an accepted
 * configuration turns into (issuer forms, key URLs and audiences per IdP profile, what is
 * advertised as an authorization server), read from the configuration the type builds
 * (wdn__mw_configure, as bearer_check runs it: no thread, no network). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/error.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "pipeline/bearer.h"
#include "pipeline/pipeline.h"
#include "../support/bearerdoc.h"

static char *jwks; /* one usable public key, JSON */

static int setup(void **state)
{
    (void)state;
    jwks = bd_jwks();
    return jwks ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(jwks);
    wdn_jose_thread_cleanup();
    return 0;
}

/* s as a JSON string literal (quotes and escapes), malloc'd. */
static char *json_dumps_string_for_test(const char *s)
{
    json_t *j = json_string(s);
    char *out = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

    json_decref(j);
    assert_non_null(out);
    return out;
}

static struct wdn_resources *load(const char *meta)
{
    return bd_load("c.yaml", meta);
}

/* Both paths refuse meta with a message holding want, at a line of the Component; the
 * message is returned in d. */
static void refused(const char *meta, const char *want, struct wdn_diag *d)
{
    struct wdn_resources *set = load(meta);
    struct wdn_pipeline *p = NULL;
    struct wdn_diag db;

    wdn_diag_clear(d);
    assert_int_equal(wdn_pipeline_check_component(set->components[0], d), WDN_ECONFIG);
    assert_int_equal(bd_build(set, "app", NULL, &p, &db), WDN_ECONFIG);
    assert_null(p);
    if (strstr(d->msg, want) == NULL)
        fail_msg("got '%s', expected '%s'", d->msg, want);
    assert_string_equal(d->msg, db.msg);
    assert_string_equal(d->file, "c.yaml");
    assert_true(d->line >= 4 && d->line < 8 + 2 * 40);
    wdn_resources_free(set);
}

/* The configuration the type reads from meta (as `warden check` does), or fails the test. */
static struct bearer *configured(const char *meta)
{
    struct wdn_resources *set = load(meta);
    struct bearer *b = calloc(1, sizeof(*b));
    struct wdn_diag d;

    assert_non_null(b);
    b->base.vt = &wdn__mw_bearer;
    b->clock_skew_s = 60;
    b->introspection_ttl_s = 300;
    b->introspection_timeout_s = 5;
    wdn_diag_clear(&d);
    if (wdn__mw_configure(&wdn__mw_bearer, b, set->components[0], &d) != 0)
        fail_msg("refused: %s", d.msg);
    wdn_resources_free(set); /* the configuration keeps its own copies */
    return b;
}

static void release(struct bearer *b)
{
    wdn__bearer_conf_free(b);
    free(b);
}

#define ISS "  - name: issuer\n    value: https://as.test/\n"
#define AUD "  - name: audience\n    value: api\n"

/* ---- single fields ----------------------------------------------------------------------------
 */

static void test_duration_and_size_refusals(void **state)
{
    static const char *const skews[] = {"5x", "3601", "2h", "99999999999", "-5", "m"};
    char meta[512];
    struct wdn_diag d;
    struct bearer *b;

    (void)state;
    for (size_t i = 0; i < sizeof(skews) / sizeof(skews[0]); i++) {
        snprintf(meta, sizeof(meta), ISS AUD "  - name: clockSkew\n    value: \"%s\"\n", skews[i]);
        refused(meta, "clockSkew must be a duration up to 1h: 90, 90s, 2m", &d);
        assert_int_equal(d.line, 13);
    }
    refused(ISS AUD "  - name: tokenCacheSize\n    value: \"99999999999999999999999\"\n",
            "tokenCacheSize must be a size from 64Ki to 1Gi", &d);
    static const char *const ttls[] = {"0", "25h", "abc", "0s"};
    for (size_t i = 0; i < sizeof(ttls) / sizeof(ttls[0]); i++) {
        snprintf(meta, sizeof(meta), ISS AUD "  - name: introspectionCacheTTL\n    value: \"%s\"\n",
                 ttls[i]);
        refused(meta, "introspectionCacheTTL must be a duration from 1s to 24h", &d);
    }
    refused(ISS AUD "  - name: introspectionTimeout\n    value: \"0\"\n",
            "introspectionTimeout must be a duration from 1s to 60s", &d);
    refused(ISS AUD "  - name: introspectionClientID\n    value: \"\"\n",
            "introspectionClientID must not be empty", &d);

    /* What the accepted forms mean. */
    b = configured(ISS AUD "  - name: clockSkew\n    value: 1h\n"
                           "  - name: introspectionCacheTTL\n    value: 10m\n"
                           "  - name: introspectionTimeout\n    value: 30s\n"
                           "  - name: tokenCacheSize\n    value: 512KiB\n");
    assert_int_equal(b->clock_skew_s, 3600);
    assert_int_equal(b->introspection_ttl_s, 600);
    assert_int_equal(b->introspection_timeout_s, 30);
    assert_int_equal(b->cache_bytes, 512u << 10);
    release(b);
    b = configured(ISS AUD "  - name: introspectionCacheTTL\n    value: 24h\n");
    assert_int_equal(b->introspection_ttl_s, 86400);
    release(b);
}

/* Lists split on commas and blanks, empty entries dropped; scopes and header names are checked
 * character by character. */
static void test_lists_scopes_and_headers(void **state)
{
    char meta[8192];
    size_t k;
    struct wdn_diag d;
    struct bearer *b;

    (void)state;
    b = configured(ISS "  - name: audience\n    value: \", a\\t,b , \"\n"
                       "  - name: requiredScopes\n    value: \"  read,\\twrite \"\n");
    assert_int_equal(b->top.n_aud, 2);
    assert_string_equal(b->top.audiences[0], "a");
    assert_string_equal(b->top.audiences[1], "b");
    assert_int_equal(b->n_scopes, 2);
    assert_string_equal(b->required_scope_text, "read write");
    release(b);

    refused(ISS AUD "  - name: requiredScopes\n    value: \"read wr\\x01ite\"\n",
            "a scope with a forbidden character", &d);
    refused(ISS AUD "  - name: requiredScopes\n    value: \"read wr\\x7fite\"\n",
            "a scope with a forbidden character", &d);
    refused(ISS AUD "  - name: requiredScopes\n    value: \"read caf\\u00e9\"\n",
            "a scope with a forbidden character", &d);
    /* A challenge's scope list has a bound: nine 500-byte scopes do not fit. */
    k = (size_t)snprintf(meta, sizeof(meta), ISS AUD "  - name: requiredScopes\n    value: \"");
    for (int i = 0; i < 9; i++) {
        memset(meta + k, 'a' + i, 500);
        k += 500;
        meta[k++] = ' ';
    }
    snprintf(meta + k, sizeof(meta) - k, "\"\n");
    refused(meta, "requiredScopes is too long", &d);

    /* Header names: every token character is accepted, anything else refused. */
    b = configured(ISS AUD "  - name: forwardClaims\n"
                           "    value: \"sub:X-User  , email :x_Y.9~!#$%&'*+-^`|\"\n");
    assert_int_equal(b->n_claims, 2);
    assert_string_equal(b->claims[0].header, "X-User");
    assert_string_equal(b->claims[1].claim, "email");
    assert_string_equal(b->claims[1].header, "x_Y.9~!#$%&'*+-^`|");
    release(b);
    static const char *const bad_headers[] = {"X(User", "X@User", "X/User", "X:User", "X\\\"User"};
    for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
        snprintf(meta, sizeof(meta), ISS AUD "  - name: forwardClaims\n    value: \"sub:%s\"\n",
                 bad_headers[i]);
        refused(meta, "forwardClaims must be 'claim:Header-Name' pairs", &d);
    }
    /* At most WDN_PIPELINE_MAX_EDITS / 2 claims (each removes and adds a header). */
    k = (size_t)snprintf(meta, sizeof(meta), ISS AUD "  - name: forwardClaims\n    value: \"");
    for (int i = 0; i <= WDN_PIPELINE_MAX_EDITS / 2; i++)
        k += (size_t)snprintf(meta + k, sizeof(meta) - k, "c%d:X-C%d,", i, i);
    snprintf(meta + k, sizeof(meta) - k, "\"\n");
    refused(meta, "forwardClaims must be", &d);
}

/* resource and resourceMetadata are quoted into challenges: an absolute URL with a host, no
 * blank, no fragment; plain http is allowed (a sidecar on loopback). An empty jwksURL is no
 * jwksURL. */
static void test_urls(void **state)
{
    struct wdn_diag d;
    struct bearer *b;
    char meta[4096];

    (void)state;
    refused(ISS AUD "  - name: resource\n    value: \"https:///mcp\"\n",
            "resource must be an absolute http(s) URL without fragment", &d);
    refused(ISS AUD "  - name: resource\n    value: \"https://mcp.example/a b\"\n",
            "resource must be an absolute http(s) URL", &d);
    refused(ISS AUD "  - name: resource\n    value: \"https://mcp.example/a\\\"b\"\n",
            "resource must be an absolute http(s) URL", &d);
    refused(ISS AUD "  - name: resourceMetadata\n    value: \"http://?x\"\n",
            "resourceMetadata must be an http(s) URL", &d);
    b = configured(ISS AUD "  - name: resource\n    value: http://127.0.0.1:3500/mcp\n");
    assert_string_equal(b->resource, "http://127.0.0.1:3500/mcp");
    release(b);
    snprintf(meta, sizeof(meta),
             ISS AUD "  - name: jwksURL\n    value: \"\"\n"
                     "  - name: jwks\n    value: '%s'\n",
             jwks);
    b = configured(meta);
    assert_null(b->iss[0].jwks_url);
    assert_non_null(b->iss[0].jwks_inline);
    release(b);
}

/* ---- rules across fields ------------------------------------------------------------------- */

static void test_introspection_rules(void **state)
{
    static const char intro[] =
        "  - name: introspectionURL\n    value: https://as.test/introspect\n"
        "  - name: introspectionClientID\n    value: rs\n"
        "  - name: introspectionClientSecret\n    value: s3cret\n";
    char meta[4096];
    struct wdn_diag d;
    struct bearer *b;

    (void)state;
    refused("  - name: issuer\n    value: urn:as\n" AUD "  - name: introspectionURL\n"
            "    value: https://as.test/introspect\n"
            "  - name: introspectionClientID\n    value: rs\n"
            "  - name: introspectionClientSecret\n    value: s3cret\n",
            "with introspectionURL, issuer must name the authorization server", &d);
    assert_int_equal(d.line, 9); /* the issuer item */
    snprintf(meta, sizeof(meta), "%s%s", ISS, intro);
    refused(meta, "metadata property 'audience' is required (or requireResourceAudience: true)",
            &d);
    snprintf(meta, sizeof(meta), "%s%s%s  - name: profile\n    value: okta\n", ISS, AUD, intro);
    refused(meta, "profile applies to JWT issuers; with introspectionURL give the JWT issuers", &d);
    refused(ISS AUD "  - name: introspectionClientSecret\n    value: s3cret\n",
            "introspection credentials without introspectionURL", &d);
    assert_int_equal(d.line, 13);

    /* Without an audience, requireResourceAudience binds the answer instead. */
    snprintf(meta, sizeof(meta), "%s%s  - name: requireResourceAudience\n    value: \"true\"\n",
             ISS, intro);
    b = configured(meta);
    assert_int_equal(b->n_trusted, 0); /* the issuer is only the introspecting server */
    assert_int_equal(b->n_advertised, 1);
    assert_string_equal(b->advertised[0], "https://as.test/");
    release(b);
    /* The introspecting server with keys of its own (JWTs too) is advertised once. */
    snprintf(meta, sizeof(meta), "%s%s%s  - name: jwks\n    value: '%s'\n", ISS, AUD, intro, jwks);
    b = configured(meta);
    assert_int_equal(b->n_trusted, 1);
    assert_int_equal(b->n_advertised, 1);
    assert_string_equal(b->advertised[0], "https://as.test/");
    release(b);
}

/* Key sources: discovery needs an https issuer; a key source without an issuer is refused; an
 * issuer that is not a URL is trusted with its keys but never advertised as an authorization
 * server. */
static void test_issuer_rules(void **state)
{
    char meta[4096];
    struct wdn_diag d;
    struct bearer *b;

    (void)state;
    refused("  - name: issuer\n    value: http://as.test/\n" AUD,
            "issuer 'http://as.test/' must be an https:// URL for discovery (or set jwksURL)", &d);
    refused(AUD "  - name: jwksURL\n    value: https://as.test/keys\n",
            "metadata property 'issuer' is required", &d);
    snprintf(meta, sizeof(meta),
             "  - name: issuer\n    value: urn:example:issuer\n" AUD
             "  - name: jwks\n    value: '%s'\n",
             jwks);
    b = configured(meta);
    assert_int_equal(b->n_trusted, 1);
    assert_string_equal(b->trusted[0].issuer, "urn:example:issuer");
    assert_int_equal(b->n_advertised, 0);
    release(b);
}

/* `issuers` entries: the shapes refused with the entry's index, and the entry forms accepted
 * (jwks as a string, a profile standing for the issuer). */
static void test_issuers_entries(void **state)
{
    char meta[16384], val[12000];
    size_t k;
    struct wdn_diag d;
    struct bearer *b;

    (void)state;
    k = (size_t)snprintf(val, sizeof(val), "[");
    for (int i = 0; i <= WDN_BEARER_MAX_ISSUERS; i++)
        k += (size_t)snprintf(val + k, sizeof(val) - k, "%s{\"issuer\":\"https://i%d.test/\"}",
                              i ? "," : "", i);
    snprintf(val + k, sizeof(val) - k, "]");
    snprintf(meta, sizeof(meta), AUD "  - name: issuers\n    value: '%s'\n", val);
    refused(meta, "issuers: at most 16 entries", &d);

    static const struct {
        const char *json, *want;
    } bad[] = {
        {"[5]", "issuers[0] must be an object"},
        {"[{\"issuer\":\"https://a/\"},\"x\"]", "issuers[1] must be an object"},
        {"[{\"issuer\":\"https://a/\",\"audience\":[\"\"]}]",
         "issuers[0]: audience must hold non-empty strings"},
        {"[{\"issuer\":\"https://a/\",\"audience\":[\"x\",7]}]",
         "issuers[0]: audience must hold non-empty strings"},
        {"[{\"issuer\":5}]", "issuers[0]: issuer must be a string"},
        {"[{\"issuer\":\"https://a/\",\"jwks\":\"not json\"}]",
         "issuers[0]: jwks must be a JSON Web Key Set with a usable key"},
        {"[{\"issuer\":\"https://a/\",\"jwks\":[]}]", "issuers[0]: jwks must be a string"},
        {"[{\"issuer\":\"https://a/\",\"profile\":\"ping\"}]",
         "issuers[0]: profile must be one of auth0, entra, keycloak, okta, google (got 'ping')"},
        {"[{\"issuer\":\"\",\"audience\":\"x\",\"jwksURL\":\"https://a/k\"}]",
         "metadata property 'issuer' is required"},
        {"[{\"issuer\":\"http://b.test/\",\"audience\":\"x\"}]",
         "issuers: issuer 'http://b.test/' must be an https:// URL for discovery"},
        {"[{\"issuer\":\"https://kc.test/demo\",\"audience\":\"x\",\"profile\":\"keycloak\"}]",
         "issuers: profile keycloak: issuer must end in /realms/<realm>"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(meta, sizeof(meta), AUD "  - name: issuers\n    value: '%s'\n", bad[i].json);
        refused(meta, bad[i].want, &d);
    }
    /* Both key sources in one entry. */
    snprintf(meta, sizeof(meta),
             AUD "  - name: issuers\n    value: '[{\"issuer\":\"https://a/\",\"jwksURL\":"
                 "\"https://a/k\",\"jwks\":%s}]'\n",
             jwks);
    refused(meta, "set jwksURL or jwks, not both", &d);
    /* 33 audiences in one entry. */
    k = (size_t)snprintf(val, sizeof(val), "[{\"issuer\":\"https://a/\",\"audience\":[");
    for (int i = 0; i <= WDN_JWT_MAX_AUDIENCES; i++)
        k += (size_t)snprintf(val + k, sizeof(val) - k, "%s\"a%d\"", i ? "," : "", i);
    snprintf(val + k, sizeof(val) - k, "]}]");
    snprintf(meta, sizeof(meta), "  - name: issuers\n    value: '%s'\n", val);
    refused(meta, "issuers[0]: audience must hold non-empty strings", &d);

    /* A profile alone stands for the issuer; jwks may be given as a JSON string. */
    char *quoted = json_dumps_string_for_test(jwks);
    snprintf(meta, sizeof(meta),
             "  - name: issuers\n    value: '[{\"profile\":\"google\",\"audience\":\"svc\","
             "\"jwks\":%s}]'\n",
             quoted);
    free(quoted);
    b = configured(meta);
    assert_int_equal(b->n_iss, 2);
    assert_string_equal(b->iss[0].issuer, "https://accounts.google.com");
    assert_string_equal(b->iss[1].issuer, "accounts.google.com");
    assert_null(b->iss[0].jwks_url); /* its own keys, not Google's */
    assert_non_null(b->iss[0].jwks_inline);
    assert_int_equal(b->n_advertised, 1);
    release(b);
}

/* ---- IdP profiles -------------------------------------------------------------------------- */

#define TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"

static void test_profile_refusals(void **state)
{
    char meta[8192];
    size_t k;
    struct wdn_diag d;

    (void)state;
    refused("  - name: profile\n    value: auth0\n" AUD, "profile auth0 needs the issuer", &d);
    refused("  - name: profile\n    value: auth0\n  - name: issuer\n    value: "
            "https://t.auth0.com/api\n" AUD,
            "profile auth0: issuer must be your Auth0 domain", &d);
    refused("  - name: profile\n    value: auth0\n  - name: issuer\n    value: "
            "http://t.auth0.com/\n" AUD,
            "profile auth0: issuer must be your Auth0 domain", &d);
    /* Entra: a tenant that is not a GUID (a non-hex digit, a dash out of place), a v1 URL with
     * more path. */
    static const char *const tenants[] = {
        "72f988bf-86f1-41af-91ab-2d7cd011db4g", "72f988bf186f1-41af-91ab-2d7cd011db47",
        "72f988bf-86f1-41af-91ab-2d7cd011db4", "https://sts.windows.net/" TENANT "/extra",
        "https://login.microsoftonline.com/" TENANT "/v1.0"};
    for (size_t i = 0; i < sizeof(tenants) / sizeof(tenants[0]); i++) {
        snprintf(meta, sizeof(meta),
                 "  - name: profile\n    value: entra\n  - name: issuer\n    value: %s\n" AUD,
                 tenants[i]);
        refused(meta, "profile entra: the tenant must be its ID, a GUID", &d);
    }
    /* Entra doubles every GUID audience (app ID and api:// URI): 17 GUIDs are 34 > 32. */
    k = (size_t)snprintf(meta, sizeof(meta),
                         "  - name: profile\n    value: entra\n  - name: issuer\n    value: " TENANT
                         "\n  - name: audience\n    value: \"");
    for (int i = 0; i < 17; i++)
        k += (size_t)snprintf(meta + k, sizeof(meta) - k, "%08x-86f1-41af-91ab-2d7cd011db47,",
                              0x10000000 + i);
    snprintf(meta + k, sizeof(meta) - k, "\"\n");
    refused(meta, "): too many audiences", &d);
    assert_int_equal(d.line, 9); /* the profile item */

    static const struct {
        const char *profile, *issuer, *want;
    } bad[] = {
        {"keycloak", "http://kc.test/realms/a",
         "profile keycloak: issuer must be the realm's https"},
        {"keycloak", "https://u@kc.test/realms/a", "profile keycloak: issuer must be the realm's"},
        {"keycloak", "https://kc.test/realms/a/b", "profile keycloak: issuer must end in /realms/"},
        {"keycloak", "https://kc.test/x/realms/a", "profile keycloak: issuer must end in /realms/"},
        {"keycloak", "https://kc.test/realms/a?x=1",
         "profile keycloak: issuer must end in /realms/"},
        {"keycloak", "https://kc.test/realms/", "profile keycloak: issuer must end in /realms/"},
        {"okta", "http://x.okta.com/oauth2/default",
         "profile okta: issuer must be a custom "
         "authorization server, e.g."},
        {"okta", "https://x.okta.com/oauth2/",
         "profile okta: issuer must be a custom "
         "authorization server https://<org>.okta.com"},
        {"okta", "https://x.okta.com/oauth2/a/b", "(\"default\" is built in)"},
        {"google", "https://evil.example",
         "profile google: issuer must be "
         "https://accounts.google.com or left out"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(meta, sizeof(meta),
                 "  - name: profile\n    value: %s\n  - name: issuer\n    value: \"%s\"\n" AUD,
                 bad[i].profile, bad[i].issuer);
        refused(meta, bad[i].want, &d);
        assert_int_equal(d.line, 9); /* the profile item: the profile refused the issuer */
    }
}

/* More issuers than a component may trust, once profiles expanded them: the entry that does
 * not fit is refused (Entra and Google each stand for two issuers). */
static void test_profile_issuer_limit(void **state)
{
    static const char *const last[] = {
        "{\"profile\":\"entra\",\"issuer\":\"" TENANT "\"}",
        "{\"profile\":\"google\"}",
    };
    char meta[16384], val[12000];
    struct wdn_diag d;

    (void)state;
    for (size_t j = 0; j < 2; j++) {
        size_t k = (size_t)snprintf(val, sizeof(val), "[");
        /* The top-level issuer and 15 entries fill the 16 places. */
        for (int i = 0; i < WDN_BEARER_MAX_ISSUERS - 1; i++)
            k += (size_t)snprintf(val + k, sizeof(val) - k, "{\"issuer\":\"https://i%d.test/\"},",
                                  i);
        snprintf(val + k, sizeof(val) - k, "%s]", last[j]);
        snprintf(meta, sizeof(meta), ISS AUD "  - name: issuers\n    value: '%s'\n", val);
        refused(meta, "issuers: too many issuers (at most 16 after profiles)", &d);
    }
}

/* What each profile makes of an accepted configuration: issuer forms, the provider's key URL
 * when none is given, audiences. */
static void test_profile_defaults(void **state)
{
    struct bearer *b;

    (void)state;
    /* Entra from its v1 issuer URL, upper-case GUID, no keys given: the tenant's key URL; a
     * non-GUID audience is kept as it is, without an api:// twin. */
    b = configured("  - name: profile\n    value: entra\n"
                   "  - name: issuer\n    value: https://sts.windows.net/72F988BF-86F1-41AF-91AB-"
                   "2D7CD011DB47/\n"
                   "  - name: audience\n    value: https://api.example\n");
    assert_int_equal(b->n_iss, 2);
    assert_string_equal(b->iss[0].issuer,
                        "https://login.microsoftonline.com/72F988BF-86F1-41AF-91AB-2D7CD011DB47/"
                        "v2.0");
    assert_string_equal(b->iss[0].jwks_url, "https://login.microsoftonline.com/72F988BF-86F1-41AF-"
                                            "91AB-2D7CD011DB47/discovery/v2.0/keys");
    assert_string_equal(b->iss[1].issuer,
                        "https://sts.windows.net/72F988BF-86F1-41AF-91AB-2D7CD011DB47/");
    assert_string_equal(b->iss[1].jwks_url, b->iss[0].jwks_url);
    assert_int_equal(b->iss[0].n_aud, 1);
    assert_int_equal(b->iss[0].allowed_algs, WDN_JOSE_ALG_BIT(WDN_JOSE_RS256));
    assert_int_equal(b->n_advertised, 1);
    release(b);

    /* Keycloak: keys at the realm's certs endpoint. */
    b = configured("  - name: profile\n    value: keycloak\n"
                   "  - name: issuer\n    value: https://kc.test/realms/demo\n" AUD);
    assert_string_equal(b->iss[0].jwks_url,
                        "https://kc.test/realms/demo/protocol/openid-connect/certs");
    release(b);

    /* Okta: the trailing slash goes, keys at /v1/keys; a given audience replaces
     * api://default. */
    b = configured("  - name: profile\n    value: okta\n"
                   "  - name: issuer\n    value: https://x.okta.com/oauth2/default/\n" AUD);
    assert_string_equal(b->iss[0].issuer, "https://x.okta.com/oauth2/default");
    assert_string_equal(b->iss[0].jwks_url, "https://x.okta.com/oauth2/default/v1/keys");
    assert_int_equal(b->iss[0].n_aud, 1);
    assert_string_equal(b->iss[0].audiences[0], "api");
    release(b);
    /* Another custom server gets no default audience. */
    b = configured("  - name: profile\n    value: okta\n"
                   "  - name: issuer\n    value: https://x.okta.com/oauth2/aus1\n" AUD);
    assert_string_equal(b->iss[0].audiences[0], "api");
    release(b);

    /* Google, its issuer spelled without the scheme: both forms, Google's key URL. */
    b = configured("  - name: profile\n    value: google\n"
                   "  - name: issuer\n    value: accounts.google.com\n" AUD);
    assert_int_equal(b->n_iss, 2);
    assert_string_equal(b->iss[0].issuer, "https://accounts.google.com");
    assert_string_equal(b->iss[0].jwks_url, "https://www.googleapis.com/oauth2/v3/certs");
    release(b);

    /* Auth0 given with its trailing slash already. */
    b = configured("  - name: profile\n    value: auth0\n"
                   "  - name: issuer\n    value: https://t.eu.auth0.com/\n" AUD);
    assert_string_equal(b->iss[0].issuer, "https://t.eu.auth0.com/");
    release(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_and_size_refusals),
        cmocka_unit_test(test_lists_scopes_and_headers),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_introspection_rules),
        cmocka_unit_test(test_issuer_rules),
        cmocka_unit_test(test_issuers_entries),
        cmocka_unit_test(test_profile_refusals),
        cmocka_unit_test(test_profile_issuer_limit),
        cmocka_unit_test(test_profile_defaults),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
