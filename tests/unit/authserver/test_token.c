/* The development issuer's request logic without sockets: every body style, every RFC 6749
 * 5.2 error, discovery, the JWKS, tokens checked by our JWT verifier, key rotation with an
 * overlap, other algorithms, and the clients file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/error.h"
#include "base/limits.h"
#include "base/base64.h"
#include "jose/jwt.h"
#include "oauth2/form.h"
#include "authserver/issuer.h"

#define ISS "https://issuer.test:9443/"
#define NOW 1800000000

static char state_dir[256];
static struct wdn_issuer *iss;

static const char *const c1_auds[] = {"https://api/", "https://other/"};
static const char *const c1_scopes[] = {"read", "write", "tools:call"};
static const char *const c2_auds[] = {"urn:x"};

static int rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static struct wdn_issuer *make_issuer(const char *dir, const char *typ)
{
    const struct wdn_issuer_client_cfg clients[] = {
        {.id = "c1",
         .secret = "s3cret",
         .audiences = c1_auds,
         .naudiences = 2,
         .scopes = c1_scopes,
         .nscopes = 3},
        {.id = "c 2", .secret = "p+w&d:x%", .audiences = c2_auds, .naudiences = 1},
    };
    struct wdn_issuer_config cfg = {
        .issuer = ISS, .state_dir = dir, .typ = typ, .clients = clients, .nclients = 2};
    struct wdn_diag d;
    struct wdn_issuer *i = wdn_issuer_new(&cfg, &d);
    if (i == NULL)
        fail_msg("issuer: %s", d.msg);
    return i;
}

static int setup(void **state)
{
    bool created;
    snprintf(state_dir, sizeof(state_dir), "/tmp/wdn-issuer-test-XXXXXX");
    if (mkdtemp(state_dir) == NULL)
        return -1;
    if (wdn_issuer_keys_ensure(state_dir, 0, 100, NOW, &created, NULL) != 0 || !created)
        return -1;
    iss = make_issuer(state_dir, NULL);
    return iss ? 0 : -1;
}

static int teardown(void **state)
{
    wdn_issuer_free(iss);
    rm_rf(state_dir);
    return 0;
}

/* One request; the response is left in *r (caller resets). */
static void call(struct wdn_issuer *i, const char *method, const char *path, const char *ct,
                 const char *auth, const char *body, int64_t now, struct wdn_issuer_response *r)
{
    struct wdn_issuer_request req = {.method = wdn_str_from_cstr(method),
                                     .path = wdn_str_from_cstr(path),
                                     .content_type = wdn_str_from_cstr(ct),
                                     .authorization = wdn_str_from_cstr(auth),
                                     .has_authorization = auth != NULL,
                                     .body = wdn_str_from_cstr(body)};
    assert_int_equal(wdn_issuer_handle(i, &req, now, r), 0);
}

static json_t *body_json(const struct wdn_issuer_response *r)
{
    json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
    assert_non_null(j);
    return j;
}

/* Asserts an RFC 6749 5.2 error and its headers. */
static void expect_error(struct wdn_issuer_response *r, int status, const char *error)
{
    json_t *j = body_json(r);
    if (r->status != status || strcmp(json_string_value(json_object_get(j, "error")), error))
        fail_msg("expected %d %s, got %d %.*s", status, error, r->status, (int)r->body.len,
                 r->body.data);
    assert_non_null(json_string_value(json_object_get(j, "error_description")));
    assert_string_equal(r->cache_control, "no-store");
    assert_true(r->pragma_no_cache);
    if (status == 401)
        assert_non_null(strstr(r->www_authenticate, "Basic realm="));
    else
        assert_string_equal(r->www_authenticate, "");
    json_decref(j);
    wdn_issuer_response_reset(r);
}

static const char *form = "application/x-www-form-urlencoded";

static char *basic(const char *id, const char *secret)
{
    struct wdn_buf b;
    wdn_buf_init(&b, 4096);
    assert_int_equal(wdn_form_basic_auth(&b, id, secret), 0);
    return wdn_buf_cstr(&b);
}

static struct wdn_jwks *fetch_jwks(struct wdn_issuer *i, int64_t now)
{
    struct wdn_issuer_response r;
    call(i, "GET", WDN_ISSUER_JWKS_PATH, NULL, NULL, NULL, now, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.cache_control, "public, max-age=60");
    struct wdn_jwks *k = wdn_jwks_parse(wdn_buf_str(&r.body), NULL);
    assert_non_null(k);
    wdn_issuer_response_reset(&r);
    return k;
}

/* Takes the access token out of a 200 response (malloc'd). */
static char *take_token(struct wdn_issuer_response *r, const char *want_scope)
{
    json_t *j = body_json(r);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->cache_control, "no-store");
    assert_true(r->pragma_no_cache);
    assert_string_equal(json_string_value(json_object_get(j, "token_type")), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(j, "expires_in")), 3600);
    if (want_scope)
        assert_string_equal(json_string_value(json_object_get(j, "scope")), want_scope);
    else
        assert_null(json_object_get(j, "scope"));
    char *t = strdup(json_string_value(json_object_get(j, "access_token")));
    json_decref(j);
    wdn_issuer_response_reset(r);
    return t;
}

/* Verifies with our verifier against keys; returns the claims (caller releases). */
static struct wdn_jwt *verify_keys(const struct wdn_jwks *keys, const char *token, const char *aud,
                                   int64_t now, enum wdn_jwt_reason want)
{
    struct wdn_jwt_rules rules;
    struct wdn_jwt *jwt = NULL;
    const char *auds[] = {aud};
    wdn_jwt_rules_init(&rules);
    rules.issuer = ISS;
    rules.audiences = auds;
    rules.n_audiences = 1;
    enum wdn_jwt_reason why = wdn_jwt_verify(keys, &rules, wdn_str_from_cstr(token), now, &jwt);
    if (why != want)
        fail_msg("verify gave %s, expected %s", wdn_jwt_reason_name(why),
                 wdn_jwt_reason_name(want));
    return jwt;
}

/* The same against the issuer's JWKS at now. */
static struct wdn_jwt *verify(struct wdn_issuer *i, const char *token, const char *aud, int64_t now,
                              enum wdn_jwt_reason want)
{
    struct wdn_jwks *keys = fetch_jwks(i, now);
    struct wdn_jwt *jwt = verify_keys(keys, token, aud, now, want);
    wdn_jwks_release(keys);
    return jwt;
}

static json_t *token_header(const char *token)
{
    unsigned char buf[1024];
    size_t n;
    const char *dot = strchr(token, '.');
    assert_int_equal(
        wdn_b64url_decode((struct wdn_str){token, (size_t)(dot - token)}, buf, sizeof(buf), &n), 0);
    json_t *h = json_loadb((const char *)buf, n, 0, NULL);
    assert_non_null(h);
    return h;
}

static void test_basic_form(void **state)
{
    struct wdn_issuer_response r;
    char *auth = basic("c1", "s3cret");
    call(iss, "POST", "/oauth/token", form, auth, "grant_type=client_credentials", NOW, &r);
    char *tok = take_token(&r, "read write tools:call");
    struct wdn_jwt *jwt = verify(iss, tok, "https://api/", NOW + 10, WDN_JWT_OK);
    assert_string_equal(wdn_jwt_sub(jwt), "c1@clients");
    assert_string_equal(wdn_jwt_claim_string(jwt, "client_id"), "c1");
    assert_string_equal(wdn_jwt_claim_string(jwt, "azp"), "c1");
    assert_string_equal(wdn_jwt_claim_string(jwt, "iss"), ISS);
    assert_string_equal(wdn_jwt_claim_string(jwt, "aud"), "https://api/");
    assert_int_equal(strlen(wdn_jwt_claim_string(jwt, "jti")), 22);
    assert_int_equal(wdn_jwt_exp(jwt), NOW + 3600);
    assert_true(wdn_jwt_has_scope(jwt, WDN_STR("tools:call")));
    assert_int_equal(wdn_jwt_alg(jwt), WDN_JOSE_RS256);
    json_t *h = token_header(tok);
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "at+jwt");
    char kid[256];
    assert_int_equal(wdn_issuer_signing_kid(iss, NOW, kid, sizeof(kid)), 0);
    assert_string_equal(json_string_value(json_object_get(h, "kid")), kid);
    json_decref(h);
    wdn_jwt_release(jwt);
    /* Expired an hour later (and the 60 s skew). */
    assert_null(verify(iss, tok, "https://api/", NOW + 3700, WDN_JWT_EXPIRED));
    /* Another audience is refused by the verifier. */
    assert_null(verify(iss, tok, "https://other/", NOW, WDN_JWT_WRONG_AUDIENCE));
    /* The basic scheme name is case-insensitive. */
    auth[0] = 'b';
    call(iss, "POST", "/oauth/token", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", auth,
         "grant_type=client_credentials&unknown=ignored", NOW, &r);
    free(take_token(&r, "read write tools:call"));
    free(auth);
    free(tok);
}

static void test_basic_encoded_credentials(void **state)
{
    struct wdn_issuer_response r;
    /* RFC 6749 2.3.1: id and secret are form-encoded before base64. */
    char *auth = basic("c 2", "p+w&d:x%");
    call(iss, "POST", "/oauth/token", form, auth, "grant_type=client_credentials", NOW, &r);
    char *tok = take_token(&r, NULL);
    struct wdn_jwt *jwt = verify(iss, tok, "urn:x", NOW, WDN_JWT_OK);
    assert_string_equal(wdn_jwt_sub(jwt), "c 2@clients");
    assert_null(wdn_jwt_claim_string(jwt, "scope"));
    wdn_jwt_release(jwt);
    free(tok);
    free(auth);
}

static void test_post_form_resource(void **state)
{
    struct wdn_issuer_response r;
    call(iss, "POST", "/oauth/token", form, NULL,
         "grant_type=client_credentials&client_id=c1&client_secret=s3cret&scope=write+read+write"
         "&resource=https%3A%2F%2Fother%2F",
         NOW, &r);
    char *tok = take_token(&r, "write read");
    struct wdn_jwt *jwt = verify(iss, tok, "https://other/", NOW, WDN_JWT_OK);
    assert_false(wdn_jwt_has_scope(jwt, WDN_STR("tools:call")));
    wdn_jwt_release(jwt);
    free(tok);
}

static void test_json_auth0(void **state)
{
    struct wdn_issuer_response r;
    call(iss, "POST", "/oauth/token", "application/json", NULL,
         "{\"client_id\":\"c1\",\"client_secret\":\"s3cret\",\"audience\":\"https://other/\","
         "\"grant_type\":\"client_credentials\",\"extra\":[1]}",
         NOW, &r);
    char *tok = take_token(&r, "read write tools:call");
    wdn_jwt_release(verify(iss, tok, "https://other/", NOW, WDN_JWT_OK));
    free(tok);
    /* audience and resource naming the same target is fine */
    call(iss, "POST", "/oauth/token", "application/json", NULL,
         "{\"client_id\":\"c1\",\"client_secret\":\"s3cret\",\"audience\":\"https://api/\","
         "\"resource\":\"https://api/\",\"grant_type\":\"client_credentials\",\"scope\":\"read\"}",
         NOW, &r);
    free(take_token(&r, "read"));
}

static void test_invalid_client(void **state)
{
    struct wdn_issuer_response r;
    char *wrong, *unknown;
    char *a = basic("c1", "wrong");
    call(iss, "POST", "/oauth/token", form, a, "grant_type=client_credentials", NOW, &r);
    wrong = strndup(r.body.data, r.body.len);
    expect_error(&r, 401, "invalid_client");
    free(a);
    a = basic("nobody", "s3cret");
    call(iss, "POST", "/oauth/token", form, a, "grant_type=client_credentials", NOW, &r);
    unknown = strndup(r.body.data, r.body.len);
    expect_error(&r, 401, "invalid_client");
    free(a);
    /* An unknown client and a wrong secret are indistinguishable. */
    assert_string_equal(wrong, unknown);
    free(wrong);
    free(unknown);
    /* Post style, wrong secret; a secret differing only in length. */
    call(iss, "POST", "/oauth/token", form, NULL,
         "grant_type=client_credentials&client_id=c1&client_secret=s3cre", NOW, &r);
    expect_error(&r, 401, "invalid_client");
    call(iss, "POST", "/oauth/token", "application/json", NULL,
         "{\"grant_type\":\"client_credentials\",\"client_id\":\"c1\",\"client_secret\":\"x\"}",
         NOW, &r);
    expect_error(&r, 401, "invalid_client");
    /* No authentication at all, or only a client_id. */
    call(iss, "POST", "/oauth/token", form, NULL, "grant_type=client_credentials", NOW, &r);
    expect_error(&r, 401, "invalid_client");
    call(iss, "POST", "/oauth/token", form, NULL, "grant_type=client_credentials&client_id=c1", NOW,
         &r);
    expect_error(&r, 401, "invalid_client");
    /* Another scheme, malformed Basic, Basic without a colon. */
    call(iss, "POST", "/oauth/token", form, "Bearer abc", "grant_type=client_credentials", NOW, &r);
    expect_error(&r, 401, "invalid_client");
    call(iss, "POST", "/oauth/token", form, "Basic !!!", "grant_type=client_credentials", NOW, &r);
    expect_error(&r, 401, "invalid_client");
    call(iss, "POST", "/oauth/token", form, "Basic YzFzM2NyZXQ=", /* "c1s3cret" */
         "grant_type=client_credentials", NOW, &r);
    expect_error(&r, 401, "invalid_client");
}

static void test_invalid_request(void **state)
{
    struct wdn_issuer_response r;
    char *a = basic("c1", "s3cret");
    /* missing grant_type (with valid credentials) */
    call(iss, "POST", "/oauth/token", form, a, "scope=read", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    call(iss, "POST", "/oauth/token", form, a, "grant_type=", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    /* duplicate parameter */
    call(iss, "POST", "/oauth/token", form, a,
         "grant_type=client_credentials&grant_type=client_credentials", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    call(iss, "POST", "/oauth/token", form, a,
         "grant_type=client_credentials&resource=https://api/&resource=https://other/", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    call(iss, "POST", "/oauth/token", "application/json", NULL,
         "{\"grant_type\":\"client_credentials\",\"client_id\":\"c1\",\"client_id\":\"c1\","
         "\"client_secret\":\"s3cret\"}",
         NOW, &r);
    expect_error(&r, 400, "invalid_request");
    /* both Basic and client_secret in the body */
    call(iss, "POST", "/oauth/token", form, a,
         "grant_type=client_credentials&client_id=c1&client_secret=s3cret", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    /* Basic with a different client_id in the body */
    call(iss, "POST", "/oauth/token", form, a, "grant_type=client_credentials&client_id=c2", NOW,
         &r);
    expect_error(&r, 400, "invalid_request");
    /* the same client_id in the body is fine */
    call(iss, "POST", "/oauth/token", form, a, "grant_type=client_credentials&client_id=c1", NOW,
         &r);
    free(take_token(&r, "read write tools:call"));
    /* content types */
    call(iss, "POST", "/oauth/token", "text/plain", a, "grant_type=client_credentials", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    call(iss, "POST", "/oauth/token", NULL, a, "grant_type=client_credentials", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    call(iss, "POST", "/oauth/token", "application/x-www-form-urlencodedx", a,
         "grant_type=client_credentials", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    /* malformed bodies */
    call(iss, "POST", "/oauth/token", form, a, "grant_type=client%ZZcredentials", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    call(iss, "POST", "/oauth/token", "application/json", a, "[\"grant_type\"]", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    call(iss, "POST", "/oauth/token", "application/json", a, "{\"grant_type\":1}", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    call(iss, "POST", "/oauth/token", "application/json", a,
         "{\"grant_type\":\"client_credentials\\u0000\"}", NOW, &r);
    expect_error(&r, 400, "invalid_request");
    /* repeated Authorization header */
    struct wdn_issuer_request req = {.method = WDN_STR("POST"),
                                     .path = WDN_STR("/oauth/token"),
                                     .content_type = wdn_str_from_cstr(form),
                                     .authorization = wdn_str_from_cstr(a),
                                     .has_authorization = true,
                                     .repeated_auth_header = true,
                                     .body = WDN_STR("grant_type=client_credentials")};
    assert_int_equal(wdn_issuer_handle(iss, &req, NOW, &r), 0);
    expect_error(&r, 400, "invalid_request");
    /* oversized body */
    req = (struct wdn_issuer_request){.method = WDN_STR("POST"),
                                      .path = WDN_STR("/oauth/token"),
                                      .content_type = wdn_str_from_cstr(form),
                                      .body_too_large = true};
    assert_int_equal(wdn_issuer_handle(iss, &req, NOW, &r), 0);
    expect_error(&r, 413, "invalid_request");
    /* GET on the token endpoint */
    call(iss, "GET", "/oauth/token", NULL, NULL, NULL, NOW, &r);
    assert_string_equal(r.allow, "POST");
    expect_error(&r, 405, "invalid_request");
    free(a);
}

static void test_grant_scope_target(void **state)
{
    struct wdn_issuer_response r;
    char *a = basic("c1", "s3cret");
    call(iss, "POST", "/oauth/token", form, a, "grant_type=password&username=u&password=p", NOW,
         &r);
    expect_error(&r, 400, "unsupported_grant_type");
    call(iss, "POST", "/oauth/token", "application/json", NULL,
         "{\"grant_type\":\"password\",\"client_id\":\"c1\",\"client_secret\":\"s3cret\"}", NOW,
         &r);
    expect_error(&r, 400, "unsupported_grant_type");
    /* scope outside the client's, malformed scopes */
    call(iss, "POST", "/oauth/token", form, a, "grant_type=client_credentials&scope=read+admin",
         NOW, &r);
    expect_error(&r, 400, "invalid_scope");
    call(iss, "POST", "/oauth/token", form, a, "grant_type=client_credentials&scope=read++write",
         NOW, &r);
    expect_error(&r, 400, "invalid_scope");
    call(iss, "POST", "/oauth/token", form, a, "grant_type=client_credentials&scope=re%22ad", NOW,
         &r);
    expect_error(&r, 400, "invalid_scope");
    /* the other client has no scopes at all */
    char *a2 = basic("c 2", "p+w&d:x%");
    call(iss, "POST", "/oauth/token", form, a2, "grant_type=client_credentials&scope=read", NOW,
         &r);
    expect_error(&r, 400, "invalid_scope");
    /* targets (RFC 8707) */
    call(iss, "POST", "/oauth/token", form, a,
         "grant_type=client_credentials&audience=https://evil/", NOW, &r);
    expect_error(&r, 400, "invalid_target");
    call(iss, "POST", "/oauth/token", form, a,
         "grant_type=client_credentials&resource=https://evil/", NOW, &r);
    expect_error(&r, 400, "invalid_target");
    call(iss, "POST", "/oauth/token", form, a,
         "grant_type=client_credentials&resource=https://api/%23frag", NOW, &r);
    expect_error(&r, 400, "invalid_target");
    call(iss, "POST", "/oauth/token", form, a, "grant_type=client_credentials&resource=not-a-uri",
         NOW, &r);
    expect_error(&r, 400, "invalid_target");
    call(iss, "POST", "/oauth/token", form, a,
         "grant_type=client_credentials&audience=https://api/&resource=https://other/", NOW, &r);
    expect_error(&r, 400, "invalid_target");
    /* c 2 may not ask for c1's audience */
    call(iss, "POST", "/oauth/token", form, a2,
         "grant_type=client_credentials&audience=https://api/", NOW, &r);
    expect_error(&r, 400, "invalid_target");
    free(a);
    free(a2);
}

static void test_discovery(void **state)
{
    const char *paths[] = {"/.well-known/openid-configuration",
                           "/.well-known/oauth-authorization-server"};
    char *first = NULL;
    for (size_t i = 0; i < 2; i++) {
        struct wdn_issuer_response r;
        call(iss, "GET", paths[i], NULL, NULL, NULL, NOW, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.cache_control, "public, max-age=300");
        json_t *j = body_json(&r);
        assert_string_equal(json_string_value(json_object_get(j, "issuer")), ISS);
        assert_string_equal(json_string_value(json_object_get(j, "token_endpoint")),
                            "https://issuer.test:9443/oauth/token");
        assert_string_equal(json_string_value(json_object_get(j, "jwks_uri")),
                            "https://issuer.test:9443/.well-known/jwks.json");
        char *gt = json_dumps(json_object_get(j, "grant_types_supported"), JSON_COMPACT);
        assert_string_equal(gt,
                            "[\"authorization_code\",\"refresh_token\",\"client_credentials\"]");
        free(gt);
        char *am =
            json_dumps(json_object_get(j, "token_endpoint_auth_methods_supported"), JSON_COMPACT);
        assert_string_equal(am, "[\"client_secret_basic\",\"client_secret_post\",\"none\"]");
        free(am);
        char *sc = json_dumps(json_object_get(j, "scopes_supported"), JSON_COMPACT);
        assert_string_equal(sc, "[\"read\",\"write\",\"tools:call\",\"offline_access\"]");
        free(sc);
        char *al =
            json_dumps(json_object_get(j, "id_token_signing_alg_values_supported"), JSON_COMPACT);
        assert_string_equal(al, "[\"RS256\"]");
        free(al);
        json_decref(j);
        if (first == NULL) {
            first = strndup(r.body.data, r.body.len);
        } else {
            /* Both documents carry the same metadata. */
            assert_int_equal(strlen(first), r.body.len);
            assert_memory_equal(first, r.body.data, r.body.len);
        }
        wdn_issuer_response_reset(&r);
        call(iss, "POST", paths[i], form, NULL, "x=y", NOW, &r);
        assert_int_equal(r.status, 405);
        assert_string_equal(r.allow, "GET");
        wdn_issuer_response_reset(&r);
    }
    free(first);
    /* Anything else is not ours. */
    struct wdn_issuer_response r;
    struct wdn_issuer_request req = {.method = WDN_STR("GET"), .path = WDN_STR("/oauth/token/x")};
    assert_int_equal(wdn_issuer_handle(iss, &req, NOW, &r), WDN_ENOTFOUND);
    wdn_issuer_response_reset(&r);
    req.path = WDN_STR("/.well-known/jwks.json/");
    assert_int_equal(wdn_issuer_handle(iss, &req, NOW, &r), WDN_ENOTFOUND);
    wdn_issuer_response_reset(&r);
}

static char *get_token(struct wdn_issuer *i, int64_t now)
{
    struct wdn_issuer_response r;
    call(i, "POST", "/oauth/token", form, NULL,
         "grant_type=client_credentials&client_id=c1&client_secret=s3cret&scope=read", now, &r);
    return take_token(&r, "read");
}

static void test_rotation(void **state)
{
    char dir[256], kid1[256], kid2[256], path[1024];
    struct stat st;
    snprintf(dir, sizeof(dir), "/tmp/wdn-issuer-rot-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(wdn_issuer_keys_ensure(dir, 0, 100, NOW, NULL, NULL), 0);
    struct wdn_issuer *i = make_issuer(dir, NULL);
    assert_int_equal(wdn_issuer_signing_kid(i, NOW, kid1, sizeof(kid1)), 0);
    /* Keys are private to the user. */
    snprintf(path, sizeof(path), "%s/keys/%s.pem", dir, kid1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/keys.json", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    char *old = get_token(i, NOW);
    /* Rotate behind the running issuer's back, with a 100 s overlap. */
    assert_int_equal(wdn_issuer_keys_rotate(dir, 0, 0, 100, NOW + 1, kid2, sizeof(kid2), NULL), 0);
    assert_string_not_equal(kid1, kid2);
    char *fresh = get_token(i, NOW + 2);
    json_t *h = token_header(fresh);
    assert_string_equal(json_string_value(json_object_get(h, "kid")), kid2);
    json_decref(h);
    struct wdn_jwks *k = fetch_jwks(i, NOW + 2);
    assert_int_equal(wdn_jwks_count(k), 2);
    wdn_jwks_release(k);
    /* Both verify during the overlap. */
    wdn_jwt_release(verify(i, old, "https://api/", NOW + 50, WDN_JWT_OK));
    wdn_jwt_release(verify(i, fresh, "https://api/", NOW + 50, WDN_JWT_OK));
    /* After it, the old key is gone from the JWKS. */
    k = fetch_jwks(i, NOW + 200);
    assert_int_equal(wdn_jwks_count(k), 1);
    wdn_jwks_release(k);
    assert_null(verify(i, old, "https://api/", NOW + 200, WDN_JWT_UNKNOWN_KID));
    wdn_jwt_release(verify(i, fresh, "https://api/", NOW + 200, WDN_JWT_OK));
    /* A restart keeps the current key. */
    wdn_issuer_free(i);
    i = make_issuer(dir, NULL);
    assert_int_equal(wdn_issuer_signing_kid(i, NOW + 2, kid1, sizeof(kid1)), 0);
    assert_string_equal(kid1, kid2);
    /* The next rotation after the overlap deletes the retired key file. */
    char kid3[256];
    assert_int_equal(wdn_issuer_keys_rotate(dir, 0, 0, 100, NOW + 500, kid3, sizeof(kid3), NULL),
                     0);
    k = fetch_jwks(i, NOW + 500);
    assert_int_equal(wdn_jwks_count(k), 2); /* kid2 (overlapping) and kid3 */
    wdn_jwks_release(k);
    free(old);
    free(fresh);
    wdn_issuer_free(i);
    rm_rf(dir);
}

/* A rotation publishes the new key first and signs with it only after the delay, so a
 * validator holding the JWKS from before the rotation keeps accepting new tokens until then;
 * the previous key stays published for the overlap after the switch. */
static void test_rotation_delay(void **state)
{
    char dir[256], kid1[256], kid2[256], kid3[256], now_kid[256];
    snprintf(dir, sizeof(dir), "/tmp/wdn-issuer-delay-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(wdn_issuer_keys_ensure(dir, 0, 100, NOW, NULL, NULL), 0);
    struct wdn_issuer *i = make_issuer(dir, NULL);
    assert_int_equal(wdn_issuer_signing_kid(i, NOW, kid1, sizeof(kid1)), 0);
    struct wdn_jwks *cached = fetch_jwks(i, NOW); /* a validator that will not refetch */

    assert_int_equal(wdn_issuer_keys_rotate(dir, 0, 900, 100, NOW + 10, kid2, sizeof(kid2), NULL),
                     0);
    struct wdn_jwks *k = fetch_jwks(i, NOW + 11);
    assert_int_equal(wdn_jwks_count(k), 2); /* published at once */
    wdn_jwks_release(k);
    /* Until the delay is over, tokens are signed with the old key: the cached set takes them. */
    for (int64_t t = NOW + 11; t < NOW + 910; t += 449) {
        char *tok = get_token(i, t);
        json_t *h = token_header(tok);
        assert_string_equal(json_string_value(json_object_get(h, "kid")), kid1);
        json_decref(h);
        wdn_jwt_release(verify_keys(cached, tok, "https://api/", t, WDN_JWT_OK));
        free(tok);
    }
    assert_int_equal(wdn_issuer_signing_kid(i, NOW + 909, now_kid, sizeof(now_kid)), 0);
    assert_string_equal(now_kid, kid1);
    /* Then the new key signs; the old one stays published for the overlap after the switch. */
    assert_int_equal(wdn_issuer_signing_kid(i, NOW + 910, now_kid, sizeof(now_kid)), 0);
    assert_string_equal(now_kid, kid2);
    k = fetch_jwks(i, NOW + 1009);
    assert_int_equal(wdn_jwks_count(k), 2);
    wdn_jwks_release(k);
    k = fetch_jwks(i, NOW + 1010);
    assert_int_equal(wdn_jwks_count(k), 1);
    wdn_jwks_release(k);
    /* --now: an emergency rotation signs with the new key at once. */
    assert_int_equal(wdn_issuer_keys_rotate(dir, 0, 0, 100, NOW + 2000, kid3, sizeof(kid3), NULL),
                     0);
    assert_int_equal(wdn_issuer_signing_kid(i, NOW + 2000, now_kid, sizeof(now_kid)), 0);
    assert_string_equal(now_kid, kid3);
    /* A rotation replacing a key that was still waiting: the waiting one never signs. */
    char kid4[256], kid5[256];
    assert_int_equal(wdn_issuer_keys_rotate(dir, 0, 900, 100, NOW + 3000, kid4, sizeof(kid4), NULL),
                     0);
    assert_int_equal(wdn_issuer_keys_rotate(dir, 0, 900, 100, NOW + 3001, kid5, sizeof(kid5), NULL),
                     0);
    k = fetch_jwks(i, NOW + 3002);
    assert_int_equal(wdn_jwks_count(k), 2); /* kid3 and kid5: kid4 was dropped unused */
    wdn_jwks_release(k);
    for (int64_t t = NOW + 3001; t < NOW + 3901; t += 100) {
        assert_int_equal(wdn_issuer_signing_kid(i, t, now_kid, sizeof(now_kid)), 0);
        assert_string_equal(now_kid, kid3);
    }
    assert_int_equal(wdn_issuer_signing_kid(i, NOW + 3901, now_kid, sizeof(now_kid)), 0);
    assert_string_equal(now_kid, kid5);
    wdn_jwks_release(cached);
    wdn_issuer_free(i);
    rm_rf(dir);
}

static void test_algorithms(void **state)
{
    const enum wdn_jose_alg algs[] = {WDN_JOSE_ES256, WDN_JOSE_EDDSA};
    for (size_t a = 0; a < 2; a++) {
        char dir[256];
        snprintf(dir, sizeof(dir), "/tmp/wdn-issuer-alg-XXXXXX");
        assert_non_null(mkdtemp(dir));
        assert_int_equal(wdn_issuer_keys_ensure(dir, algs[a], 100, NOW, NULL, NULL), 0);
        struct wdn_issuer *i = make_issuer(dir, "JWT");
        char *tok = get_token(i, NOW);
        json_t *h = token_header(tok);
        assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
        assert_string_equal(json_string_value(json_object_get(h, "alg")),
                            wdn_jose_alg_name(algs[a]));
        json_decref(h);
        struct wdn_jwt *jwt = verify(i, tok, "https://api/", NOW, WDN_JWT_OK);
        assert_int_equal(wdn_jwt_alg(jwt), algs[a]);
        wdn_jwt_release(jwt);
        free(tok);
        /* ensure with another alg rotates to it, keeping the old key published */
        bool created = false;
        assert_int_equal(wdn_issuer_keys_ensure(dir, WDN_JOSE_RS256, 100, NOW, &created, NULL), 0);
        assert_true(created);
        struct wdn_jwks *k = fetch_jwks(i, NOW);
        assert_int_equal(wdn_jwks_count(k), 2);
        wdn_jwks_release(k);
        tok = get_token(i, NOW);
        h = token_header(tok);
        assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
        json_decref(h);
        free(tok);
        wdn_issuer_free(i);
        rm_rf(dir);
    }
}

static void test_config_errors(void **state)
{
    const char *const auds[] = {"https://api/"};
    const char *const bad_scopes[] = {"a\"b"};
    struct wdn_issuer_client_cfg c = {.id = "x", .secret = "y", .audiences = auds, .naudiences = 1};
    struct wdn_issuer_config cfg = {
        .issuer = ISS, .state_dir = state_dir, .clients = &c, .nclients = 1};
    struct wdn_diag d;
    struct wdn_issuer *i = wdn_issuer_new(&cfg, &d);
    assert_non_null(i);
    wdn_issuer_free(i);
    c.secret = "";
    assert_null(wdn_issuer_new(&cfg, &d));
    c.secret = "y";
    c.naudiences = 0;
    assert_null(wdn_issuer_new(&cfg, &d));
    c.naudiences = 1;
    c.scopes = bad_scopes;
    c.nscopes = 1;
    assert_null(wdn_issuer_new(&cfg, &d));
    c.nscopes = 0;
    cfg.typ = "jwt";
    assert_null(wdn_issuer_new(&cfg, &d));
    cfg.typ = NULL;
    cfg.state_dir = "/nonexistent/wdn-issuer";
    assert_null(wdn_issuer_new(&cfg, &d));
    assert_non_null(strstr(d.msg, "no signing key"));
    struct wdn_issuer_client_cfg two[] = {c, c};
    cfg.state_dir = state_dir;
    cfg.clients = two;
    cfg.nclients = 2;
    assert_null(wdn_issuer_new(&cfg, &d));
    assert_non_null(strstr(d.msg, "twice"));
}

static void test_clients_file(void **state)
{
    static const char good[] = "clients:\n"
                               "  - id: app-1\n"
                               "    secret: \"s 1\"\n"
                               "    audiences: [https://a/, https://b/]\n"
                               "    scopes: [read, write]\n"
                               "  - id: app-2\n"
                               "    secret: s2\n"
                               "    audience: urn:c\n"
                               "    scope: \"x y\"\n";
    struct wdn_diag d;
    struct wdn_issuer_clients *l = wdn_issuer_clients_parse(WDN_STR(good), "c.yaml", &d);
    if (l == NULL)
        fail_msg("%s:%u:%u %s", d.file, d.line, d.col, d.msg);
    size_t n;
    const struct wdn_issuer_client_cfg *c = wdn_issuer_clients_items(l, &n);
    assert_int_equal(n, 2);
    assert_string_equal(c[0].id, "app-1");
    assert_string_equal(c[0].secret, "s 1");
    assert_int_equal(c[0].naudiences, 2);
    assert_string_equal(c[0].audiences[1], "https://b/");
    assert_int_equal(c[0].nscopes, 2);
    assert_string_equal(c[1].audiences[0], "urn:c");
    assert_int_equal(c[1].nscopes, 2);
    assert_string_equal(c[1].scopes[1], "y");
    struct wdn_issuer_config cfg = {
        .issuer = ISS, .state_dir = state_dir, .clients = c, .nclients = n};
    struct wdn_issuer *i = wdn_issuer_new(&cfg, &d);
    assert_non_null(i);
    wdn_issuer_free(i);
    wdn_issuer_clients_free(l);

    static const struct {
        const char *yaml;
        unsigned line, col;
        const char *msg;
    } bad[] = {
        {"clients:\n  - id: a\n    secret: b\n    audiences: [x]\n    colour: red\n", 5, 5,
         "unknown key 'colour'"},
        {"clients:\n  - id: a\n    audiences: [x]\n", 2, 5, "needs id, secret"},
        {"clients:\n  - id: a\n    secret: b\n    audiences: {x: 1}\n", 4, 16, "list of strings"},
        {"client:\n  - id: a\n", 1, 1, "unknown key 'client'"},
        {"clients: []\n", 1, 10, "non-empty"},
        {"clients:\n  - [a\n", 3, 1, ""},
        {"- a\n", 1, 1, "mapping"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        wdn_diag_clear(&d);
        l = wdn_issuer_clients_parse(wdn_str_from_cstr(bad[k].yaml), "c.yaml", &d);
        if (l != NULL || d.line != bad[k].line || d.col != bad[k].col ||
            strstr(d.msg, bad[k].msg) == NULL || strcmp(d.file, "c.yaml") != 0)
            fail_msg("case %zu: got %s:%u:%u %s", k, d.file, d.line, d.col, d.msg);
    }
    assert_null(wdn_issuer_clients_load("/nonexistent/clients.yaml", &d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_form),         cmocka_unit_test(test_basic_encoded_credentials),
        cmocka_unit_test(test_post_form_resource), cmocka_unit_test(test_json_auth0),
        cmocka_unit_test(test_invalid_client),     cmocka_unit_test(test_invalid_request),
        cmocka_unit_test(test_grant_scope_target), cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_rotation),           cmocka_unit_test(test_rotation_delay),
        cmocka_unit_test(test_algorithms),         cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_clients_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
