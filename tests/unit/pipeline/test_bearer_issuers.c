/* Tests of the bearer middleware's issue-11 configuration, offline (inline keys): several
 * issuers per component (routing by iss, a token of one issuer claiming another, unknown
 * issuers), the resource audience (RFC 8707) from the component and from the sidecar's
 * request, a spoofed Host header changing nothing, IdP profiles (issuer forms, audiences, the
 * algorithm allow-list never widened, refusals with a reason), the resource facts the sidecar
 * reads for RFC 9728, and metadata errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "jose/crypto.h"
#include "jose/jwt.h"
#include "jose/sign.h"
#include "pipeline/pipeline.h"
#include "../support/bearerdoc.h"

static struct wdn_jose_key *ka, *kb, *krs, *kb_impostor;
static char *jwks_a, *jwks_b, *jwks_rs;

static int setup(void **state)
{
    const struct wdn_jose_key *k[1];

    ka = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "ka", NULL);
    kb = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "kb", NULL);
    kb_impostor = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "kb", NULL);
    krs = wdn_jose_key_generate(WDN_JOSE_RS256, 2048, "krs", NULL);
    k[0] = ka;
    jwks_a = wdn_jose_jwks_export(k, 1);
    k[0] = kb;
    jwks_b = wdn_jose_jwks_export(k, 1);
    k[0] = krs;
    jwks_rs = wdn_jose_jwks_export(k, 1);
    return ka && kb && krs && kb_impostor && jwks_a && jwks_b && jwks_rs ? 0 : -1;
}

static int teardown(void **state)
{
    wdn_jose_key_free(ka);
    wdn_jose_key_free(kb);
    wdn_jose_key_free(kb_impostor);
    wdn_jose_key_free(krs);
    free(jwks_a);
    free(jwks_b);
    free(jwks_rs);
    wdn_jose_thread_cleanup();
    return 0;
}

/* A bearer Component with metadata lines meta (each "name: value" pair pre-formatted). */
static struct wdn_resources *load(const char *meta)
{
    return bd_load("t.yaml", meta);
}

static int build(struct wdn_resources *set, struct wdn_pipeline **p, struct wdn_diag *d)
{
    return bd_build(set, "app", NULL, p, d);
}

/* check (warden check/apply) and build (the sidecar) agree; returns the build's code. */
static int build_and_check(const char *meta, struct wdn_pipeline **p, struct wdn_diag *d)
{
    struct wdn_resources *set = load(meta);
    struct wdn_diag dc;
    int rc = build(set, p, d), rcc;

    if (getenv("WDN_TEST_VERBOSE") && rc)
        print_message("build: %s\n", d->msg);
    rcc = wdn_pipeline_check_component(set->components[0], &dc);
    assert_int_equal(rc, rcc);
    if (rc != 0)
        assert_string_equal(d->msg, dc.msg);
    wdn_resources_free(set);
    return rc;
}

static char *token(const struct wdn_jose_key *k, const char *iss, const char *aud_json,
                   const char *extra)
{
    char claims[1024];
    struct wdn_buf b;
    int64_t now = wdn_clock_unix();

    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":%s,\"sub\":\"u\",\"iat\":%lld,\"exp\":%lld%s}", iss, aud_json,
             (long long)now, (long long)now + 600, extra ? extra : "");
    wdn_buf_init(&b, 1 << 16);
    assert_int_equal(wdn_jws_sign(k, wdn_str_from_cstr(claims), NULL, &b), 0);
    return wdn_buf_cstr(&b);
}

struct req {
    const char *host;
    const char *resource;
    const char *resource_metadata;
};

/* Runs p with "Bearer tok" (tok NULL: no header); returns the status (0 = passed). */
static int run(struct wdn_pipeline *p, const char *tok, const struct req *r,
               struct wdn_pipeline_out *o, struct wdn_arena *a)
{
    struct wdn_http_request head;
    char auth[20000];
    struct wdn_pipeline_req rq = {.head = &head, .arena = a};

    memset(&head, 0, sizeof(head));
    head.method = WDN_STR("POST");
    head.path = WDN_STR("/mcp");
    head.query = (struct wdn_str){"", 0};
    head.headers[0].name = WDN_STR("Host");
    head.headers[0].value = wdn_str_from_cstr(r && r->host ? r->host : "127.0.0.1:3500");
    head.nheaders = 1;
    if (tok) {
        snprintf(auth, sizeof(auth), "Bearer %s", tok);
        head.headers[1].name = WDN_STR("Authorization");
        head.headers[1].value = wdn_str_from_cstr(auth);
        head.nheaders = 2;
    }
    if (r) {
        rq.resource = r->resource;
        rq.resource_metadata = r->resource_metadata;
    }
    assert_int_equal(wdn_pipeline_run(p, &rq, o), 0);
    return o->status;
}

#define hdr bd_header

/* Two issuers in `issuers`, each with its own keys and audience. */
static void test_several_issuers(void **state)
{
    char meta[8192], *t;
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_out o;
    struct wdn_pipeline_resource res;
    struct wdn_arena a;
    struct wdn_diag d;

    snprintf(meta, sizeof(meta),
             "  - name: issuers\n    value: |\n"
             "      [{\"issuer\": \"https://a.test/\", \"audience\": \"api-a\", \"jwks\": %s},\n"
             "       {\"issuer\": \"https://b.test/\", \"audience\": [\"api-b\", \"urn:b\"],"
             " \"jwks\": %s}]\n",
             jwks_a, jwks_b);
    wdn_arena_init(&a, 4096, 0);
    assert_int_equal(build_and_check(meta, &p, &d), 0);
    assert_true(wdn_pipeline_resource(p, &res));
    assert_int_equal(res.n_issuers, 2);
    assert_string_equal(res.issuers[0], "https://a.test/");
    assert_string_equal(res.issuers[1], "https://b.test/");

    t = token(ka, "https://a.test/", "\"api-a\"", NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 0);
    free(t);
    t = token(kb, "https://b.test/", "[\"x\",\"urn:b\"]", NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 0);
    free(t);
    /* Issuer A's key, claiming issuer B: checked with B's keys only. */
    t = token(ka, "https://b.test/", "\"api-b\"", NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 401);
    assert_int_equal(o.jwt_reason, WDN_JWT_UNKNOWN_KID);
    free(t);
    /* ... even with B's kid on A's key. */
    t = token(kb_impostor, "https://b.test/", "\"api-b\"", NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 401);
    assert_int_equal(o.jwt_reason, WDN_JWT_BAD_SIGNATURE);
    free(t);
    /* A's token for B's audience. */
    t = token(ka, "https://a.test/", "\"api-b\"", NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 401);
    assert_int_equal(o.jwt_reason, WDN_JWT_WRONG_AUDIENCE);
    free(t);
    /* An issuer nobody trusts. */
    t = token(ka, "https://c.test/", "\"api-a\"", NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 401);
    assert_int_equal(o.jwt_reason, WDN_JWT_WRONG_ISSUER);
    free(t);
    wdn_pipeline_free(p);
    wdn_arena_reset(&a);
}

/* RFC 8707: with requireResourceAudience the token must name the resource; the resource comes
 * from the component, else from the sidecar's request, never from the Host header. */
static void test_resource_audience(void **state)
{
    char meta[8192], *t_res, *t_other, *t_api;
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_out o;
    struct wdn_pipeline_resource res;
    struct wdn_arena a;
    struct wdn_diag d;
    struct req sidecar = {.resource = "http://127.0.0.1:3500/v1.0/mcp/weather",
                          .resource_metadata = "http://127.0.0.1:3500/.well-known/"
                                               "oauth-protected-resource/v1.0/mcp/weather"};
    struct req spoofed = sidecar;

    wdn_arena_init(&a, 4096, 0);
    /* No audience at all: the resource alone binds the token. */
    snprintf(meta, sizeof(meta),
             "  - name: issuer\n    value: https://a.test/\n"
             "  - name: jwks\n    value: '%s'\n"
             "  - name: requireResourceAudience\n    value: \"true\"\n",
             jwks_a);
    assert_int_equal(build_and_check(meta, &p, &d), 0);
    t_res = token(ka, "https://a.test/", "[\"http://127.0.0.1:3500/v1.0/mcp/weather\"]", NULL);
    t_other = token(ka, "https://a.test/", "\"http://127.0.0.1:3500/v1.0/mcp/other\"", NULL);
    assert_int_equal(run(p, t_res, &sidecar, &o, &a), 0);
    assert_int_equal(run(p, t_res, &sidecar, &o, &a), 0);
    assert_true(o.cached);
    assert_int_equal(run(p, t_other, &sidecar, &o, &a), 401);
    assert_int_equal(o.jwt_reason, WDN_JWT_WRONG_AUDIENCE);
    assert_non_null(strstr(hdr(&o, "WWW-Authenticate"),
                           "resource_metadata=\"http://127.0.0.1:3500/.well-known/"
                           "oauth-protected-resource/v1.0/mcp/weather\""));
    /* A Host header naming the other resource changes nothing. */
    spoofed.host = "evil.example";
    assert_int_equal(run(p, t_other, &spoofed, &o, &a), 401);
    assert_int_equal(run(p, t_res, &spoofed, &o, &a), 0);
    /* A cached token is checked against each route's resource too. */
    sidecar.resource = "http://127.0.0.1:3500/v1.0/mcp/other";
    assert_int_equal(run(p, t_res, &sidecar, &o, &a), 401);
    assert_int_equal(run(p, t_other, &sidecar, &o, &a), 0);
    /* No resource from anywhere: fail closed. */
    assert_int_equal(run(p, t_res, NULL, &o, &a), 500);
    assert_int_equal(o.reason, WDN_MW_NO_RESOURCE);
    wdn_pipeline_free(p);

    /* Configured resource and audience: both must hold; the request's resource is ignored. */
    snprintf(meta, sizeof(meta),
             "  - name: issuer\n    value: https://a.test/\n"
             "  - name: audience\n    value: api\n"
             "  - name: jwks\n    value: '%s'\n"
             "  - name: resource\n    value: https://mcp.example.com/mcp\n"
             "  - name: requireResourceAudience\n    value: \"true\"\n",
             jwks_a);
    assert_int_equal(build_and_check(meta, &p, &d), 0);
    assert_true(wdn_pipeline_resource(p, &res));
    assert_string_equal(res.resource, "https://mcp.example.com/mcp");
    assert_true(res.require_resource_audience);
    t_api = token(ka, "https://a.test/", "[\"api\",\"https://mcp.example.com/mcp\"]", NULL);
    assert_int_equal(run(p, t_api, &sidecar, &o, &a), 0);
    free(t_api);
    t_api = token(ka, "https://a.test/", "\"https://mcp.example.com/mcp\"", NULL);
    assert_int_equal(run(p, t_api, &sidecar, &o, &a), 401); /* no configured audience */
    free(t_api);
    t_api = token(ka, "https://a.test/", "\"api\"", NULL);
    assert_int_equal(run(p, t_api, &sidecar, &o, &a), 401); /* no resource */
    wdn_pipeline_free(p);
    free(t_api);
    free(t_res);
    free(t_other);
    wdn_arena_reset(&a);
}

/* Each profile: the forms it accepts, the refusals it explains, and no widened signature rule. */
static void test_profiles(void **state)
{
    static const char tenant[] = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    static const char app[] = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
    char meta[8192], iss[256], aud[256], *t;
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_out o;
    struct wdn_pipeline_resource res;
    struct wdn_arena a;
    struct wdn_diag d;

    wdn_arena_init(&a, 4096, 0);

    /* Entra: the tenant ID gives both issuer forms; the app ID both audience forms. */
    snprintf(meta, sizeof(meta),
             "  - name: profile\n    value: entra\n"
             "  - name: issuer\n    value: %s\n"
             "  - name: audience\n    value: %s\n"
             "  - name: jwks\n    value: '%s'\n",
             tenant, app, jwks_rs);
    assert_int_equal(build_and_check(meta, &p, &d), 0);
    assert_true(wdn_pipeline_resource(p, &res));
    assert_int_equal(res.n_issuers, 1); /* v2 is the one clients discover */
    snprintf(iss, sizeof(iss), "https://login.microsoftonline.com/%s/v2.0", tenant);
    assert_string_equal(res.issuers[0], iss);
    snprintf(aud, sizeof(aud), "\"%s\"", app);
    t = token(krs, iss, aud, NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 0);
    free(t);
    snprintf(iss, sizeof(iss), "https://sts.windows.net/%s/", tenant);
    snprintf(aud, sizeof(aud), "\"api://%s\"", app);
    t = token(krs, iss, aud, NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 0);
    free(t);
    /* Another tenant is another issuer. */
    t = token(krs, "https://sts.windows.net/00000000-0000-0000-0000-000000000000/", aud, NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 401);
    assert_int_equal(o.jwt_reason, WDN_JWT_WRONG_ISSUER);
    free(t);
    wdn_pipeline_free(p);
    /* The v2 URL form works as well; ES256 is not what Entra signs with: refused. */
    snprintf(meta, sizeof(meta),
             "  - name: profile\n    value: entra\n"
             "  - name: issuer\n    value: https://login.microsoftonline.com/%s/v2.0\n"
             "  - name: audience\n    value: api://%s\n"
             "  - name: jwks\n    value: '%s'\n",
             tenant, app, jwks_a);
    assert_int_equal(build_and_check(meta, &p, &d), 0);
    snprintf(iss, sizeof(iss), "https://login.microsoftonline.com/%s/v2.0", tenant);
    snprintf(aud, sizeof(aud), "\"%s\"", app);
    t = token(ka, iss, aud, NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 401);
    assert_int_equal(o.jwt_reason, WDN_JWT_ALG_NOT_ALLOWED);
    free(t);
    wdn_pipeline_free(p);
    p = NULL;
    static const char *const bad_entra[] = {"common", "contoso.onmicrosoft.com",
                                            "https://login.microsoftonline.com/common/v2.0",
                                            "https://evil.example/72f988bf-86f1-41af-91ab-"
                                            "2d7cd011db47/v2.0"};
    for (size_t i = 0; i < sizeof(bad_entra) / sizeof(bad_entra[0]); i++) {
        snprintf(meta, sizeof(meta),
                 "  - name: profile\n    value: entra\n  - name: issuer\n    value: %s\n"
                 "  - name: audience\n    value: x\n",
                 bad_entra[i]);
        assert_int_equal(build_and_check(meta, &p, &d), WDN_ECONFIG);
        assert_non_null(strstr(d.msg, "profile entra"));
    }

    /* Auth0: the trailing slash is added; a bare domain works. */
    snprintf(
        meta, sizeof(meta),
        "  - name: profile\n    value: auth0\n  - name: issuer\n    value: tenant.us.auth0.com\n"
        "  - name: audience\n    value: https://api.example\n"
        "  - name: jwks\n    value: '%s'\n",
        jwks_rs);
    assert_int_equal(build_and_check(meta, &p, &d), 0);
    t = token(krs, "https://tenant.us.auth0.com/", "\"https://api.example\"", NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 0);
    free(t);
    t = token(krs, "https://tenant.us.auth0.com", "\"https://api.example\"", NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 401); /* tokens carry the slash: exact match */
    free(t);
    wdn_pipeline_free(p);

    /* Keycloak: the realm path; the trailing slash dropped (Keycloak's iss has none). */
    snprintf(meta, sizeof(meta),
             "  - name: profile\n    value: keycloak\n"
             "  - name: issuer\n    value: https://kc.example/realms/demo/\n"
             "  - name: audience\n    value: mcp-server\n  - name: jwks\n    value: '%s'\n",
             jwks_a);
    assert_int_equal(build_and_check(meta, &p, &d), 0);
    t = token(ka, "https://kc.example/realms/demo", "[\"account\",\"mcp-server\"]",
              ",\"azp\":\"mcp-client\"");
    assert_int_equal(run(p, t, NULL, &o, &a), 0);
    free(t);
    wdn_pipeline_free(p);
    snprintf(meta, sizeof(meta),
             "  - name: profile\n    value: keycloak\n"
             "  - name: issuer\n    value: https://kc.example/auth/realms/demo\n"
             "  - name: audience\n    value: mcp-server\n");
    assert_int_equal(build_and_check(meta, &p, &d), 0); /* Keycloak before 17 */
    wdn_pipeline_free(p);
    p = NULL;
    snprintf(meta, sizeof(meta),
             "  - name: profile\n    value: keycloak\n"
             "  - name: issuer\n    value: https://kc.example/demo\n"
             "  - name: audience\n    value: mcp-server\n");
    assert_int_equal(build_and_check(meta, &p, &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "/realms/<realm>"));

    /* Okta: a custom authorization server; default's audience is api://default. */
    snprintf(meta, sizeof(meta),
             "  - name: profile\n    value: okta\n"
             "  - name: issuer\n    value: https://example.okta.com/oauth2/default\n"
             "  - name: jwks\n    value: '%s'\n",
             jwks_rs);
    assert_int_equal(build_and_check(meta, &p, &d), 0);
    t = token(krs, "https://example.okta.com/oauth2/default", "\"api://default\"",
              ",\"scp\":[\"mcp.read\"]");
    assert_int_equal(run(p, t, NULL, &o, &a), 0);
    free(t);
    wdn_pipeline_free(p);
    p = NULL;
    snprintf(meta, sizeof(meta),
             "  - name: profile\n    value: okta\n"
             "  - name: issuer\n    value: https://example.okta.com\n"
             "  - name: audience\n    value: api\n");
    assert_int_equal(build_and_check(meta, &p, &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "org authorization server"));

    /* Google: both issuer spellings of its ID tokens. */
    snprintf(meta, sizeof(meta),
             "  - name: profile\n    value: google\n"
             "  - name: audience\n    value: https://svc.example.run.app\n"
             "  - name: jwks\n    value: '%s'\n",
             jwks_rs);
    assert_int_equal(build_and_check(meta, &p, &d), 0);
    assert_true(wdn_pipeline_resource(p, &res));
    assert_int_equal(res.n_issuers, 1);
    assert_string_equal(res.issuers[0], "https://accounts.google.com");
    t = token(krs, "https://accounts.google.com", "\"https://svc.example.run.app\"", NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 0);
    free(t);
    t = token(krs, "accounts.google.com", "\"https://svc.example.run.app\"", NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 0);
    free(t);
    wdn_pipeline_free(p);
    p = NULL;

    /* An unknown profile names the known ones. */
    assert_int_equal(build_and_check("  - name: profile\n    value: ping\n"
                                     "  - name: issuer\n    value: https://a/\n"
                                     "  - name: audience\n    value: x\n",
                                     &p, &d),
                     WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "auth0, entra, keycloak, okta, google"));
    wdn_arena_reset(&a);
}

static void wake(void *ud)
{
    (*(int *)ud)++;
}

/* Opaque tokens go to introspection, JWTs to the issuers; an endpoint that cannot be reached
 * is 503 with Retry-After (never a pass); with a wake function the run parks (pending). */
static void test_introspection_routing(void **state)
{
    char meta[8192], *t;
    struct wdn_pipeline *p = NULL;
    struct wdn_pipeline_out o;
    struct wdn_pipeline_resource res;
    struct wdn_http_request head;
    struct wdn_pipeline_req rq = {.head = &head};
    struct wdn_arena a;
    struct wdn_diag d;
    int woken = 0;

    snprintf(meta, sizeof(meta),
             "  - name: issuer\n    value: https://as.test/\n"
             "  - name: audience\n    value: api\n"
             "  - name: introspectionURL\n    value: https://127.0.0.1:1/introspect\n"
             "  - name: introspectionClientID\n    value: rs\n"
             "  - name: introspectionClientSecret\n    value: s3cret\n"
             "  - name: issuers\n    value: '[{\"issuer\":\"https://a.test/\",\"jwks\":%s}]'\n",
             jwks_a);
    wdn_arena_init(&a, 4096, 0);
    assert_int_equal(build_and_check(meta, &p, &d), 0);
    assert_true(wdn_pipeline_resource(p, &res));
    assert_int_equal(res.n_issuers, 2); /* the JWT issuer and the introspecting server */
    assert_string_equal(res.issuers[1], "https://as.test/");
    /* A JWT of the trusted issuer: verified locally. */
    t = token(ka, "https://a.test/", "\"api\"", NULL);
    assert_int_equal(run(p, t, NULL, &o, &a), 0);
    assert_false(o.introspected);
    free(t);
    /* An opaque token: the endpoint is unreachable, so 503, never 200. */
    assert_int_equal(run(p, "opaque-token-1", NULL, &o, &a), 503);
    assert_int_equal(o.reason, WDN_MW_INTROSPECTION_UNAVAILABLE);
    assert_string_equal(hdr(&o, "Retry-After"), "1");
    assert_non_null(strstr((const char *)o.body.p, "authorization server"));
    /* Parked and woken: the sidecar's path. (Within the failure window it answers at once.) */
    usleep(2100 * 1000);
    memset(&head, 0, sizeof(head));
    head.method = WDN_STR("POST");
    head.path = WDN_STR("/mcp");
    head.headers[0].name = WDN_STR("Authorization");
    head.headers[0].value = WDN_STR("Bearer opaque-token-2");
    head.nheaders = 1;
    rq.arena = &a;
    rq.wake = wake;
    rq.wake_ud = &woken;
    assert_int_equal(wdn_pipeline_run(p, &rq, &o), 0);
    assert_true(o.pending);
    assert_int_equal(o.status, 0);
    assert_string_equal(o.handler, "bearer");
    for (int i = 0; i < 200 && woken == 0; i++)
        usleep(50000);
    assert_int_equal(woken, 1);
    assert_int_equal(wdn_pipeline_run(p, &rq, &o), 0);
    assert_false(o.pending);
    assert_int_equal(o.status, 503);
    wdn_pipeline_free(p);
    wdn_arena_reset(&a);
}

/* Metadata errors for the new fields, the same from check and build. */
static void test_metadata_errors(void **state)
{
    static const struct {
        const char *meta, *want;
    } cases[] = {
        {"  - name: issuers\n    value: 'not json'\n", "issuers must be a JSON array"},
        {"  - name: issuers\n    value: '[]'\n", "issuers must be a JSON array"},
        {"  - name: issuers\n    value: '[{\"issuer\":\"https://a/\",\"audiance\":\"x\"}]'\n",
         "issuers[0]: unknown field 'audiance'"},
        {"  - name: issuers\n    value: '[{\"audience\":\"x\"}]'\n", "\"issuer\" is required"},
        {"  - name: issuers\n    value: "
         "'[{\"issuer\":\"https://a/\",\"jwksURL\":\"http://a/k\"}]'\n",
         "jwksURL must be an https:// URL"},
        {"  - name: issuers\n    value: '[{\"issuer\":\"https://a/\"}]'\n",
         "metadata property 'audience' is required"},
        {"  - name: issuers\n    value: '[{\"issuer\":\"https://a/\",\"audience\":\"x\"},"
         "{\"issuer\":\"https://a/\",\"audience\":\"y\"}]'\n",
         "trusted twice"},
        {"  - name: issuer\n    value: https://a/\n  - name: audience\n    value: x\n"
         "  - name: resource\n    value: 'https://a/mcp#frag'\n",
         "resource must be an absolute http(s) URL"},
        {"  - name: issuer\n    value: https://a/\n  - name: audience\n    value: x\n"
         "  - name: requireResourceAudience\n    value: yes\n",
         "requireResourceAudience must be true or false"},
        {"  - name: issuer\n    value: https://a/\n  - name: audience\n    value: x\n"
         "  - name: introspectionURL\n    value: https://a/introspect\n",
         "needs introspectionClientID and introspectionClientSecret"},
        {"  - name: issuer\n    value: https://a/\n  - name: audience\n    value: x\n"
         "  - name: introspectionURL\n    value: http://a/introspect\n",
         "introspectionURL must be an https:// URL"},
        {"  - name: issuer\n    value: https://a/\n  - name: audience\n    value: x\n"
         "  - name: introspectionClientID\n    value: rs\n",
         "introspection credentials without introspectionURL"},
        {"  - name: issuer\n    value: https://a/\n  - name: audience\n    value: x\n"
         "  - name: introspectionTimeout\n    value: 2m\n",
         "introspectionTimeout must be"},
        {"  - name: audience\n    value: x\n", "metadata property 'issuer' is required"},
    };
    struct wdn_pipeline *p = NULL;
    struct wdn_diag d;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(build_and_check(cases[i].meta, &p, &d), WDN_ECONFIG);
        if (strstr(d.msg, cases[i].want) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, cases[i].want);
        assert_string_equal(d.file, "t.yaml");
        assert_true(d.line > 0);
    }

    /* Credentials whose Basic header cannot fit: refused by check as by build (check accepted
     * them and only the sidecar refused). 2,200 '+' form-encode to 6,600 bytes. */
    char meta[4096], secret[2201];
    memset(secret, '+', sizeof(secret) - 1);
    secret[sizeof(secret) - 1] = '\0';
    snprintf(meta, sizeof(meta),
             "  - name: issuer\n    value: https://a/\n  - name: audience\n    value: x\n"
             "  - name: introspectionURL\n    value: https://a/introspect\n"
             "  - name: introspectionClientID\n    value: rs\n"
             "  - name: introspectionClientSecret\n    value: '%s'\n",
             secret);
    assert_int_equal(build_and_check(meta, &p, &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "introspectionClientID and introspectionClientSecret are too "
                                  "long: their HTTP Basic header must fit in 4096 bytes"));
    /* 700 fit: 2,103 bytes encoded, 2,804 in base64. */
    secret[700] = '\0';
    snprintf(meta, sizeof(meta),
             "  - name: issuer\n    value: https://a/\n  - name: audience\n    value: x\n"
             "  - name: introspectionURL\n    value: https://a/introspect\n"
             "  - name: introspectionClientID\n    value: rs\n"
             "  - name: introspectionClientSecret\n    value: '%s'\n",
             secret);
    assert_int_equal(build_and_check(meta, &p, &d), 0);
    wdn_pipeline_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_several_issuers), cmocka_unit_test(test_resource_audience),
        cmocka_unit_test(test_profiles),        cmocka_unit_test(test_introspection_routing),
        cmocka_unit_test(test_metadata_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
