/* The issuer on the HTTP server over HTTPS with a certificate from a test CA, used the way the
 * sidecar and the tutorial use it: discovery and the client-credentials client
 * (src/oauth2) get tokens in every body style, the JWKS is fetched over the wire and the
 * tokens pass our verifier; after a rotation behind the running server's back the new
 * tokens verify against the freshly served JWKS and the old ones still do (overlap). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../support/testnet.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "http/server.h"
#include "http/tls.h"
#include "jose/jwt.h"
#include "oauth2/client.h"
#include "oauth2/discovery.h"
#include "authserver/issuer.h"
#include "pki/pki.h"

static char dir[256], ca_file[512], issuer_url[128];
static struct wdn_issuer *iss;
static struct wdn_http_handler *handler;
static struct wdn_http_handler *chain[1];
static struct wdn_tls_ctx *tls;
static struct wdn_http_server *srv;
static int logged_tokens;

static const char *const auds[] = {"https://warden.local/api/"};
static const char *const scopes[] = {"read:weather"};

static void on_log(const struct wdn_issuer_log_event *ev, void *ud)
{
    if (strcmp(ev->event, "token") == 0 && strcmp(ev->path, "/oauth/token") == 0)
        logged_tokens++;
}

static int setup(void **state)
{
    struct wdn_diag d;
    char cmd[300];

    snprintf(dir, sizeof(dir), "/tmp/wdn-issuer-http-XXXXXX");
    if (mkdtemp(dir) == NULL ||
        wdn_issuer_keys_ensure(dir, 0, 3600, wdn_clock_unix(), NULL, &d) != 0)
        return -1;
    struct wdn_pki_cert *ca = wdn_pki_ca_create("issuer-test", &d);
    snprintf(cmd, sizeof(cmd), "%s/ca", dir);
    snprintf(ca_file, sizeof(ca_file), "%s/ca/ca.crt", dir);
    if (ca == NULL || wdn_pki_ca_save(ca, cmd, &d) != 0)
        return -1;
    struct wdn_pki_cert *leaf = wdn_pki_issue_server(ca, NULL, &d);
    struct wdn_tls_config tc = {
        .server = true, .cert = leaf->cert, .key = leaf->key, .verify = WDN_TLS_VERIFY_NONE};
    tls = wdn_tls_ctx_new(&tc, &d);
    wdn_pki_cert_free(leaf);
    wdn_pki_cert_free(ca);
    if (tls == NULL)
        return -1;
    /* The issuer URL names the port, so a free port is picked first (and picked again if
     * another process takes it before the server binds). */
    struct wdn_issuer_client_cfg clients[] = {{.id = "m2m",
                                               .secret = "s3cret",
                                               .audiences = auds,
                                               .naudiences = 1,
                                               .scopes = scopes,
                                               .nscopes = 1}};
    for (int attempt = 0; attempt < 5 && srv == NULL; attempt++) {
        int port = testnet_free_port();
        char listen[64];
        snprintf(issuer_url, sizeof(issuer_url), "https://127.0.0.1:%d/", port);
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        wdn_issuer_free(iss);
        wdn_issuer_http_handler_free(handler);
        iss = wdn_issuer_new(
            &(struct wdn_issuer_config){
                .issuer = issuer_url, .state_dir = dir, .clients = clients, .nclients = 1},
            &d);
        handler = iss ? wdn_issuer_http_handler_new(iss, on_log, NULL) : NULL;
        if (handler == NULL)
            return -1;
        chain[0] = handler;
        struct wdn_http_server_config sc = {
            .listen = listen, .workers = 2, .handlers = chain, .nhandlers = 1, .tls = tls};
        if (wdn_http_server_start(&sc, &srv) != 0)
            srv = NULL;
    }
    return srv ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];
    wdn_http_server_free(srv);
    wdn_issuer_http_handler_free(handler);
    wdn_issuer_free(iss);
    wdn_tls_ctx_free(tls);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct wdn_jwks *fetch_jwks(const char *url)
{
    struct wdn_fetch_request req = {.url = url, .ca_file = ca_file};
    struct wdn_fetch_response r;
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.cache_control, "public, max-age=60");
    struct wdn_jwks *k = wdn_jwks_parse(wdn_buf_str(&r.body), NULL);
    assert_non_null(k);
    wdn_fetch_response_reset(&r);
    return k;
}

static void get_token(const char *token_url, enum wdn_oauth2_auth auth, char *buf, size_t cap)
{
    struct wdn_diag d;
    struct wdn_oauth2_config cfg = {.token_url = token_url,
                                    .client_id = "m2m",
                                    .client_secret = "s3cret",
                                    .audience = auth == WDN_OAUTH2_AUTH_JSON ? auds[0] : NULL,
                                    .resource = auth == WDN_OAUTH2_AUTH_JSON ? NULL : auds[0],
                                    .scope = "read:weather",
                                    .auth = auth,
                                    .ca_file = ca_file};
    struct wdn_oauth2_client *c = wdn_oauth2_client_new(&cfg, &d);
    assert_non_null(c);
    if (wdn_oauth2_client_token(c, buf, cap, &d) != 0)
        fail_msg("token: %s", d.msg);
    wdn_oauth2_client_free(c);
}

static enum wdn_jwt_reason check(const struct wdn_jwks *k, const char *token)
{
    struct wdn_jwt_rules rules;
    struct wdn_jwt *jwt = NULL;
    wdn_jwt_rules_init(&rules);
    rules.issuer = issuer_url;
    rules.audiences = auds;
    rules.n_audiences = 1;
    rules.scopes = scopes;
    rules.n_scopes = 1;
    enum wdn_jwt_reason r =
        wdn_jwt_verify(k, &rules, wdn_str_from_cstr(token), wdn_clock_unix(), &jwt);
    if (r == WDN_JWT_OK)
        assert_string_equal(wdn_jwt_client_id(jwt), "m2m");
    wdn_jwt_release(jwt);
    return r;
}

static void test_discover_token_verify_rotate(void **state)
{
    struct wdn_oauth2_discovered disc = {0};
    struct wdn_diag d;
    static char t1[WDN_JWT_MAX_TOKEN_BYTES], t2[WDN_JWT_MAX_TOKEN_BYTES];

    /* The tutorial's issuer value, with its trailing slash, discovers the endpoints. */
    if (wdn_oauth2_discover_issuer(issuer_url, ca_file, &disc, &d) != 0)
        fail_msg("discovery: %s", d.msg);
    assert_string_equal(disc.issuer, issuer_url);
    assert_true(disc.supports_basic && disc.supports_post);
    assert_non_null(disc.jwks_uri);

    struct wdn_jwks *k = fetch_jwks(disc.jwks_uri);
    const enum wdn_oauth2_auth methods[] = {WDN_OAUTH2_AUTH_BASIC, WDN_OAUTH2_AUTH_POST,
                                            WDN_OAUTH2_AUTH_JSON};
    for (size_t i = 0; i < 3; i++) {
        get_token(disc.token_endpoint, methods[i], t1, sizeof(t1));
        assert_int_equal(check(k, t1), WDN_JWT_OK);
    }
    assert_true(logged_tokens >= 3);

    /* Rotate while the server runs, as `warden issuer rotate` does by default: the new key is
     * published at once and signs only after the delay, so a validator that has not refetched
     * since (k, fetched before the rotation) keeps accepting new tokens. */
    char kid[256], kid_now[256];
    assert_int_equal(wdn_issuer_keys_rotate(dir, 0, WDN_ISSUER_DEFAULT_ROTATE_DELAY_S, 3600,
                                            wdn_clock_unix(), kid, sizeof(kid), &d),
                     0);
    get_token(disc.token_endpoint, WDN_OAUTH2_AUTH_BASIC, t2, sizeof(t2));
    assert_int_equal(check(k, t2), WDN_JWT_OK);
    struct wdn_jwks *k2 = fetch_jwks(disc.jwks_uri);
    assert_int_equal(wdn_jwks_count(k2), 2); /* the new key is already out */
    wdn_jwks_release(k2);

    /* `rotate --now` (a leaked key): the next token has a kid the cached set does not know. */
    assert_int_equal(
        wdn_issuer_keys_rotate(dir, 0, 0, 3600, wdn_clock_unix(), kid_now, sizeof(kid_now), &d), 0);
    get_token(disc.token_endpoint, WDN_OAUTH2_AUTH_BASIC, t2, sizeof(t2));
    assert_int_equal(check(k, t2), WDN_JWT_UNKNOWN_KID);
    wdn_jwks_release(k);
    /* A validator refetching the JWKS (no restart of anything) accepts old and new tokens. */
    k = fetch_jwks(disc.jwks_uri);
    assert_int_equal(wdn_jwks_count(k), 2); /* the first key and kid_now; kid never signed */
    assert_int_equal(check(k, t2), WDN_JWT_OK);
    assert_int_equal(check(k, t1), WDN_JWT_OK);
    wdn_jwks_release(k);
    wdn_oauth2_discovered_reset(&disc);
}

static void test_wrong_secret_and_plain_http_refused(void **state)
{
    char url[256], buf[256];
    struct wdn_diag d;
    snprintf(url, sizeof(url), "%soauth/token", issuer_url);
    struct wdn_oauth2_config cfg = {
        .token_url = url, .client_id = "m2m", .client_secret = "wrong", .ca_file = ca_file};
    struct wdn_oauth2_client *c = wdn_oauth2_client_new(&cfg, &d);
    assert_int_equal(wdn_oauth2_client_token(c, buf, sizeof(buf), &d), WDN_EAUTH);
    assert_non_null(strstr(d.msg, "invalid_client"));
    wdn_oauth2_client_free(c);
    /* Without the CA the certificate is not trusted. */
    struct wdn_fetch_request req = {.url = url};
    struct wdn_fetch_response r;
    assert_int_not_equal(wdn_fetch(&req, &r, NULL), 0);
    wdn_fetch_response_reset(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discover_token_verify_rotate),
        cmocka_unit_test(test_wrong_secret_and_plain_http_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
