/* What the OAuth client does with the answers of a registration endpoint (RFC 7591) and a token
 * endpoint (RFC 6749 5.1/5.2) that it does not control, against a scripted server: refusals
 * reported with the server's error code and description, answers that are not JSON or lack a
 * client_id / access_token / token_type refused as such, a registration for another redirect URI
 * refused (the code would travel elsewhere), and the client authentication chosen from what the
 * server supports (wdn_oauth2_pick_auth). */
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
#include "jose/sign.h"
#include "oauth2/client.h"
#include "oauth2/discovery.h"
#include "oauth2/metadata.h"
#include "oauth2/register.h"
#include "oauth2/token.h"
#include "../support/fakehttp.h"
#include "../support/jwsparts.h"

/* The next answer of the scripted server (or, when seq is set, the calls-th of a sequence of
 * answers with extra header lines), and what it saw last. */
struct scripted {
    int status;
    const char *headers;
    const char *body;
};
static struct {
    int status;
    const char *body;
    const struct scripted *seq;
    size_t nseq;
    int calls;
    char seen_body[4096];
    char seen_type[128];
    char seen_auth[512];
    char seen_dpop[2][2048];
} srv;

static void handler(void *ud, const struct fakehttp_req *req)
{
    (void)ud;
    snprintf(srv.seen_body, sizeof(srv.seen_body), "%s", req->body);
    if (fakehttp_header(req, "Content-Type", srv.seen_type, sizeof(srv.seen_type)) == NULL)
        srv.seen_type[0] = '\0';
    if (fakehttp_header(req, "Authorization", srv.seen_auth, sizeof(srv.seen_auth)) == NULL)
        srv.seen_auth[0] = '\0';
    if (srv.seq != NULL) {
        size_t i = (size_t)srv.calls < srv.nseq ? (size_t)srv.calls : srv.nseq - 1;
        if (srv.calls < 2 && fakehttp_header(req, "DPoP", srv.seen_dpop[srv.calls],
                                             sizeof(srv.seen_dpop[0])) == NULL)
            srv.seen_dpop[srv.calls][0] = '\0';
        srv.calls++;
        fakehttp_respond(req, srv.seq[i].status, srv.seq[i].headers, srv.seq[i].body);
        return;
    }
    srv.calls++;
    fakehttp_respond(req, srv.status, NULL, srv.body);
}

static struct fakehttp *fh;
static char reg_url[256], tok_url[256];
static const struct wdn_oauth2_net net = {.loopback_http = true, .timeout_ms = 30000};

static int setup(void **state)
{
    (void)state;
    fh = fakehttp_start(handler, NULL);
    if (fh == NULL)
        return -1;
    fakehttp_url(fh, "/register", reg_url, sizeof(reg_url));
    fakehttp_url(fh, "/token", tok_url, sizeof(tok_url));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fakehttp_stop(fh);
    return 0;
}

#define CB "http://127.0.0.1:53682/callback"

static int do_register(unsigned methods, int status, const char *body,
                       struct wdn_oauth2_registration *reg, struct wdn_diag *d)
{
    struct wdn_oauth2_asm as = {.registration_endpoint = reg_url, .auth_methods = methods};
    const struct wdn_oauth2_reg_req r = {.net = &net,
                                         .as = &as,
                                         .client_name = "warden test",
                                         .redirect_uri = CB,
                                         .grant_types = WDN_OAUTH2_GT_AUTHORIZATION_CODE |
                                                        WDN_OAUTH2_GT_REFRESH_TOKEN |
                                                        WDN_OAUTH2_GT_CLIENT_CREDENTIALS,
                                         .scope = "mcp:tools"};
    srv.status = status;
    srv.body = body;
    memset(reg, 0, sizeof(*reg));
    return wdn_oauth2_register(&r, reg, d);
}

static void test_registration_refusals(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *body;
        int rc;
        const char *msg;
    } cases[] = {
        {400, "{\"error\":\"invalid_redirect_uri\",\"error_description\":\"not allowed here\"}",
         WDN_EAUTH,
         "dynamic registration refused (HTTP 400): invalid_redirect_uri: not allowed here"},
        {403, "{}", WDN_EAUTH, "dynamic registration refused (HTTP 403): no error code"},
        {201, "<html>ok</html>", WDN_EHTTP_STATUS, "registration answered HTTP 201 without JSON"},
        {500, "", WDN_EHTTP_STATUS, "registration answered HTTP 500 without JSON"},
        {201, "{\"client_secret\":\"s\"}", WDN_EPARSE,
         "the registration answer has no usable client_id"},
        {201, "{\"client_id\":\"\"}", WDN_EPARSE, "no usable client_id"},
        {201, "{\"client_id\":7}", WDN_EPARSE, "no usable client_id"},
        {201, "{\"client_id\":\"c1\",\"redirect_uris\":[\"http://127.0.0.1:9/elsewhere\",5]}",
         WDN_EAUTH, "registered other redirect URIs than this client's loopback one"},
        {201, "{\"client_id\":\"c1\",\"redirect_uris\":[]}", WDN_EAUTH, "other redirect URIs"},
    };
    struct wdn_oauth2_registration reg;
    struct wdn_diag d;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        d = (struct wdn_diag){0};
        int rc = do_register(WDN_OAUTH2_AM_NONE, cases[i].status, cases[i].body, &reg, &d);
        if (rc != cases[i].rc || strstr(d.msg, cases[i].msg) == NULL)
            fail_msg("%d %s: rc %d '%s', expected %d '%s'", cases[i].status, cases[i].body, rc,
                     d.msg, cases[i].rc, cases[i].msg);
        assert_null(reg.client_id);
        wdn_oauth2_registration_reset(&reg);
    }
    /* What was asked: a native client, the exact redirect URI, the grants, JSON. */
    json_t *sent = json_loads(srv.seen_body, 0, NULL);
    assert_non_null(sent);
    assert_string_equal(srv.seen_type, "application/json");
    assert_string_equal(json_string_value(json_object_get(sent, "client_name")), "warden test");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(sent, "redirect_uris"), 0)), CB);
    assert_int_equal(json_array_size(json_object_get(sent, "grant_types")), 3);
    assert_string_equal(json_string_value(json_object_get(sent, "scope")), "mcp:tools");
    assert_string_equal(json_string_value(json_object_get(sent, "token_endpoint_auth_method")),
                        "none");
    json_decref(sent);

    /* No registration endpoint: said so, nothing sent. */
    struct wdn_oauth2_asm none = {0};
    const struct wdn_oauth2_reg_req r = {.net = &net, .as = &none, .client_name = "x"};
    assert_int_equal(wdn_oauth2_register(&r, &reg, &d), WDN_EUNSUPPORTED);
}

static void test_registration_answers(void **state)
{
    (void)state;
    struct wdn_oauth2_registration reg;
    struct wdn_diag d;

    /* The method the server registered wins over ours. */
    assert_int_equal(do_register(WDN_OAUTH2_AM_BASIC | WDN_OAUTH2_AM_POST, 201,
                                 "{\"client_id\":\"c1\",\"client_secret\":\"s1\","
                                 "\"client_secret_expires_at\":1900000000,"
                                 "\"token_endpoint_auth_method\":\"client_secret_post\","
                                 "\"redirect_uris\":[\"" CB "\"]}",
                                 &reg, &d),
                     0);
    assert_string_equal(reg.client_id, "c1");
    assert_string_equal(reg.client_secret, "s1");
    assert_int_equal(reg.auth, WDN_OAUTH2_AUTH_POST);
    assert_int_equal(reg.secret_expires_at, 1900000000);
    wdn_oauth2_registration_reset(&reg);
    /* Asked with basic (the server takes no public clients). */
    json_t *sent = json_loads(srv.seen_body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(sent, "token_endpoint_auth_method")),
                        "client_secret_basic");
    json_decref(sent);
    assert_int_equal(do_register(WDN_OAUTH2_AM_BASIC, 200,
                                 "{\"client_id\":\"c2\",\"client_secret\":\"s2\","
                                 "\"token_endpoint_auth_method\":\"client_secret_basic\"}",
                                 &reg, &d),
                     0);
    assert_int_equal(reg.auth, WDN_OAUTH2_AUTH_BASIC);
    wdn_oauth2_registration_reset(&reg);
    /* Only post offered: asked with post; an unknown registered method means none. */
    assert_int_equal(
        do_register(WDN_OAUTH2_AM_POST, 201,
                    "{\"client_id\":\"c3\",\"token_endpoint_auth_method\":\"tls_client_auth\"}",
                    &reg, &d),
        0);
    sent = json_loads(srv.seen_body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(sent, "token_endpoint_auth_method")),
                        "client_secret_post");
    json_decref(sent);
    assert_int_equal(reg.auth, WDN_OAUTH2_AUTH_NONE);
    assert_null(reg.client_secret);
    wdn_oauth2_registration_reset(&reg);
    /* No method said: with a secret, what the server supports (post here); nothing fits: none. */
    assert_int_equal(do_register(WDN_OAUTH2_AM_POST, 201,
                                 "{\"client_id\":\"c4\",\"client_secret\":\"s\"}", &reg, &d),
                     0);
    assert_int_equal(reg.auth, WDN_OAUTH2_AUTH_POST);
    wdn_oauth2_registration_reset(&reg);
    assert_int_equal(do_register(WDN_OAUTH2_AM_PRIVATE_KEY_JWT, 201,
                                 "{\"client_id\":\"c5\",\"client_secret\":\"s\"}", &reg, &d),
                     0);
    assert_int_equal(reg.auth, WDN_OAUTH2_AUTH_NONE);
    wdn_oauth2_registration_reset(&reg);
}

static void test_pick_auth(void **state)
{
    (void)state;
    const unsigned all = WDN_OAUTH2_AM_NONE | WDN_OAUTH2_AM_BASIC | WDN_OAUTH2_AM_POST |
                         WDN_OAUTH2_AM_PRIVATE_KEY_JWT;
    static const struct {
        unsigned methods;
        bool secret, key;
        const char *preferred;
        int want;
    } cases[] = {
        {WDN_OAUTH2_AM_BASIC | WDN_OAUTH2_AM_POST, true, false, "client_secret_post",
         WDN_OAUTH2_AUTH_POST},
        {WDN_OAUTH2_AM_BASIC, true, false, "client_secret_post", WDN_OAUTH2_AUTH_BASIC},
        {WDN_OAUTH2_AM_NONE, true, false, "bogus", WDN_OAUTH2_AUTH_NONE},
        {WDN_OAUTH2_AM_PRIVATE_KEY_JWT | WDN_OAUTH2_AM_BASIC, true, true, NULL,
         WDN_OAUTH2_AUTH_PRIVATE_KEY_JWT},
        {WDN_OAUTH2_AM_BASIC, false, true, NULL, -1},
        {WDN_OAUTH2_AM_BASIC | WDN_OAUTH2_AM_POST, true, false, NULL, WDN_OAUTH2_AUTH_BASIC},
        {WDN_OAUTH2_AM_POST, true, false, NULL, WDN_OAUTH2_AUTH_POST},
        {WDN_OAUTH2_AM_NONE, true, false, NULL, WDN_OAUTH2_AUTH_NONE},
        {WDN_OAUTH2_AM_PRIVATE_KEY_JWT, true, false, NULL, -1},
        {WDN_OAUTH2_AM_NONE | WDN_OAUTH2_AM_BASIC, false, false, NULL, WDN_OAUTH2_AUTH_NONE},
        {WDN_OAUTH2_AM_BASIC, false, false, NULL, -1},
        {0, false, false, "none", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (wdn_oauth2_pick_auth(cases[i].methods, cases[i].secret, cases[i].key,
                                 cases[i].preferred) != cases[i].want)
            fail_msg("case %zu: got %d, expected %d", i,
                     wdn_oauth2_pick_auth(cases[i].methods, cases[i].secret, cases[i].key,
                                          cases[i].preferred),
                     cases[i].want);
    assert_int_equal(wdn_oauth2_pick_auth(all, false, true, "private_key_jwt"),
                     WDN_OAUTH2_AUTH_PRIVATE_KEY_JWT);
}

static int do_token(enum wdn_oauth2_auth auth, int status, const char *body,
                    struct wdn_oauth2_tokens *t, struct wdn_diag *d)
{
    static const char *const params[] = {"grant_type", "client_credentials", "scope", "a b", NULL};
    const struct wdn_oauth2_token_req r = {.net = &net,
                                           .token_endpoint = tok_url,
                                           .auth = auth,
                                           .client_id = "cid",
                                           .client_secret = "sec ret",
                                           .params = params};
    srv.status = status;
    srv.body = body;
    memset(t, 0, sizeof(*t));
    return wdn_oauth2_token_request(&r, t, d);
}

static void test_token_refusals(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *body;
        int rc;
        const char *error, *msg;
    } cases[] = {
        {400, "{\"error\":\"invalid_grant\",\"error_description\":\"the code expired\"}", WDN_EAUTH,
         "invalid_grant", "token endpoint answered HTTP 400: invalid_grant: the code expired"},
        {401, "{\"error\":\"invalid_client\"}", WDN_EAUTH, "invalid_client",
         "token endpoint answered HTTP 401: invalid_client"},
        {500, "{\"message\":\"boom\"}", WDN_EHTTP_STATUS, "",
         "token endpoint answered HTTP 500: no error code"},
        {200, "<html>", WDN_EHTTP_STATUS, "",
         "token endpoint answered HTTP 200 with a body that is not a JSON object"},
        {200, "[\"a\"]", WDN_EHTTP_STATUS, "", "not a JSON object"},
        {200, "{\"token_type\":\"Bearer\"}", WDN_EHTTP_STATUS, "",
         "token response has no usable access_token"},
        {200, "{\"access_token\":\"\",\"token_type\":\"Bearer\"}", WDN_EHTTP_STATUS, "",
         "no usable access_token"},
        {200, "{\"access_token\":5,\"token_type\":\"Bearer\"}", WDN_EHTTP_STATUS, "",
         "no usable access_token"},
        {200, "{\"access_token\":\"at\"}", WDN_EHTTP_STATUS, "",
         "token response has no token_type"},
    };
    struct wdn_oauth2_tokens t;
    struct wdn_diag d;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        d = (struct wdn_diag){0};
        int rc = do_token(WDN_OAUTH2_AUTH_BASIC, cases[i].status, cases[i].body, &t, &d);
        if (rc != cases[i].rc || strstr(d.msg, cases[i].msg) == NULL ||
            strcmp(t.error, cases[i].error) != 0)
            fail_msg("%d %s: rc %d '%s' error '%s', expected %d '%s'", cases[i].status,
                     cases[i].body, rc, d.msg, t.error, cases[i].rc, cases[i].msg);
        assert_null(t.access_token);
        wdn_oauth2_tokens_reset(&t);
    }
    /* A private_key_jwt request without a key is not sent. */
    const struct wdn_oauth2_token_req nokey = {.net = &net,
                                               .token_endpoint = tok_url,
                                               .auth = WDN_OAUTH2_AUTH_PRIVATE_KEY_JWT,
                                               .client_id = "cid"};
    srv.seen_body[0] = '\0';
    assert_int_equal(wdn_oauth2_token_request(&nokey, &t, &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "cannot build the token request"));
    assert_string_equal(srv.seen_body, "");
}

static void test_token_answers(void **state)
{
    (void)state;
    struct wdn_oauth2_tokens t;
    struct wdn_diag d;

    /* expires_in as a number of any JSON kind; absent or a string: unknown (-1). */
    assert_int_equal(do_token(WDN_OAUTH2_AUTH_BASIC, 200,
                              "{\"access_token\":\"at\",\"token_type\":\"Bearer\","
                              "\"expires_in\":59.9,\"refresh_token\":\"rt\",\"scope\":\"a\"}",
                              &t, &d),
                     0);
    assert_string_equal(t.access_token, "at");
    assert_int_equal(t.expires_in, 59);
    assert_string_equal(t.refresh_token, "rt");
    assert_string_equal(t.scope, "a");
    /* Basic credentials (RFC 6749 2.3.1: id and secret encoded first, "sec%20ret"), form body
     * without the secret. */
    assert_string_equal(srv.seen_auth, "Basic Y2lkOnNlYyUyMHJldA==");
    assert_null(strstr(srv.seen_body, "client_secret"));
    wdn_oauth2_tokens_reset(&t);
    assert_int_equal(do_token(WDN_OAUTH2_AUTH_POST, 200,
                              "{\"access_token\":\"at\",\"token_type\":\"Bearer\","
                              "\"expires_in\":\"60\"}",
                              &t, &d),
                     0);
    assert_int_equal(t.expires_in, -1);
    assert_null(t.refresh_token);
    assert_string_equal(srv.seen_auth, "");
    assert_non_null(strstr(srv.seen_body, "client_id=cid"));
    assert_non_null(strstr(srv.seen_body, "client_secret=sec%20ret"));
    wdn_oauth2_tokens_reset(&t);
    /* Auth0's JSON body carries everything, the params included. */
    assert_int_equal(do_token(WDN_OAUTH2_AUTH_JSON, 200,
                              "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}", &t, &d),
                     0);
    assert_int_equal(t.expires_in, -1);
    assert_string_equal(srv.seen_type, "application/json");
    json_t *sent = json_loads(srv.seen_body, 0, NULL);
    assert_non_null(sent);
    assert_string_equal(json_string_value(json_object_get(sent, "client_secret")), "sec ret");
    assert_string_equal(json_string_value(json_object_get(sent, "scope")), "a b");
    json_decref(sent);
    wdn_oauth2_tokens_reset(&t);
    /* A public client: client_id in the form, nothing else. */
    assert_int_equal(do_token(WDN_OAUTH2_AUTH_NONE, 200,
                              "{\"access_token\":\"at\",\"token_type\":\"DPoP\"}", &t, &d),
                     0);
    assert_string_equal(t.token_type, "DPoP");
    assert_non_null(strstr(srv.seen_body, "client_id=cid"));
    assert_null(strstr(srv.seen_body, "secret"));
    wdn_oauth2_tokens_reset(&t);
}

/* private_key_jwt: a signed assertion for the issuer instead of a secret; without a key or an
 * audience nothing is sent (covered above). */
static void test_token_private_key_jwt(void **state)
{
    (void)state;
    struct wdn_diag d;
    struct wdn_jose_key *key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "k1", &d);
    static const char *const params[] = {"grant_type", "client_credentials", NULL};
    const struct wdn_oauth2_token_req r = {.net = &net,
                                           .token_endpoint = tok_url,
                                           .auth = WDN_OAUTH2_AUTH_PRIVATE_KEY_JWT,
                                           .client_id = "cid",
                                           .client_key = key,
                                           .assertion_audience = "https://as.test",
                                           .params = params};
    struct wdn_oauth2_tokens t;
    char v[2048];

    assert_non_null(key);
    srv.seq = NULL;
    srv.status = 200;
    srv.body = "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}";
    assert_int_equal(wdn_oauth2_token_request(&r, &t, &d), 0);
    wdn_oauth2_tokens_reset(&t);
    assert_string_equal(srv.seen_auth, "");
    assert_non_null(fakehttp_form(srv.seen_body, "client_assertion_type", v, sizeof(v)));
    assert_string_equal(v, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    assert_non_null(fakehttp_form(srv.seen_body, "client_assertion", v, sizeof(v)));
    json_t *c = jwsparts_json(v, 1);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "iss")), "cid");
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "cid");
    assert_string_equal(json_string_value(json_object_get(c, "aud")), "https://as.test");
    json_decref(c);
    wdn_jose_key_free(key);
}

/* RFC 9449 8: use_dpop_nonce is retried once with the server's nonce, never more. */
static void test_token_dpop_nonce(void **state)
{
    (void)state;
    struct wdn_diag d;
    struct wdn_jose_key *key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "dk", &d);
    static const char *const params[] = {"grant_type", "client_credentials", NULL};
    char nonce[WDN_OAUTH2_NONCE_MAX] = "";
    const struct wdn_oauth2_token_req r = {.net = &net,
                                           .token_endpoint = tok_url,
                                           .auth = WDN_OAUTH2_AUTH_NONE,
                                           .client_id = "cid",
                                           .params = params,
                                           .dpop_key = key,
                                           .dpop_nonce = nonce};
    static const struct scripted once[] = {
        {400, "DPoP-Nonce: n-1\r\n", "{\"error\":\"use_dpop_nonce\"}"},
        {200, NULL, "{\"access_token\":\"at\",\"token_type\":\"DPoP\"}"}};
    static const struct scripted always[] = {
        {400, "DPoP-Nonce: n-2\r\n", "{\"error\":\"use_dpop_nonce\"}"}};
    static const struct scripted no_nonce[] = {{400, NULL, "{\"error\":\"use_dpop_nonce\"}"}};
    struct wdn_oauth2_tokens t;

    assert_non_null(key);
    srv.seq = once;
    srv.nseq = 2;
    srv.calls = 0;
    assert_int_equal(wdn_oauth2_token_request(&r, &t, &d), 0);
    assert_int_equal(srv.calls, 2);
    assert_string_equal(t.token_type, "DPoP");
    assert_string_equal(nonce, "n-1");
    json_t *p0 = jwsparts_json(srv.seen_dpop[0], 1), *p1 = jwsparts_json(srv.seen_dpop[1], 1);
    assert_non_null(p0);
    assert_non_null(p1);
    assert_null(json_object_get(p0, "nonce"));
    assert_string_equal(json_string_value(json_object_get(p1, "nonce")), "n-1");
    assert_string_equal(json_string_value(json_object_get(p1, "htm")), "POST");
    json_decref(p0);
    json_decref(p1);
    wdn_oauth2_tokens_reset(&t);

    /* A server that keeps asking: the second refusal is the answer. */
    srv.seq = always;
    srv.nseq = 1;
    srv.calls = 0;
    assert_int_equal(wdn_oauth2_token_request(&r, &t, &d), WDN_EAUTH);
    assert_int_equal(srv.calls, 2);
    assert_string_equal(t.error, "use_dpop_nonce");
    assert_null(t.access_token);
    assert_string_equal(nonce, "n-2");
    /* No nonce given: nothing to retry with. */
    srv.seq = no_nonce;
    srv.calls = 0;
    assert_int_equal(wdn_oauth2_token_request(&r, &t, &d), WDN_EAUTH);
    assert_int_equal(srv.calls, 1);
    srv.seq = NULL;
    wdn_jose_key_free(key);

    /* A token endpoint the rules do not allow (plain http off loopback) is never contacted. */
    const struct wdn_oauth2_token_req far = {.net = &net,
                                             .token_endpoint = "http://as.example/token",
                                             .auth = WDN_OAUTH2_AUTH_NONE,
                                             .client_id = "cid",
                                             .params = params};
    srv.calls = 0;
    assert_int_not_equal(wdn_oauth2_token_request(&far, &t, &d), 0);
    assert_int_equal(srv.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registration_refusals),
        cmocka_unit_test(test_registration_answers),
        cmocka_unit_test(test_pick_auth),
        cmocka_unit_test(test_token_refusals),
        cmocka_unit_test(test_token_answers),
        cmocka_unit_test(test_token_private_key_jwt),
        cmocka_unit_test(test_token_dpop_nonce),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
