/* The authorization server under memory pressure (src/base/fault.h with jansson's allocations
 * routed through it, tests/unit/support/faultjson): each allocation of a request fails in turn,
 * and the answer is either complete or a refusal, never a half-built one: no 2xx whose JSON body
 * does not parse or lacks what the endpoint promises (a token response without access_token, a
 * metadata document without its issuer), no crash, no leak (LSan). Only with WDN_FAULT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "authserver/as_int.h"
#include "authserver/issuer.h"
#include "base/error.h"
#include "base/fault.h"
#include "../support/faultjson.h"
#include "../support/jwsparts.h"

#define ISS "https://issuer.test/"
#define NOW 1800000000
#define CB "http://127.0.0.1/callback"

static char dir[64];
static struct wdn_issuer *iss;
static char *clients_json; /* clients.json as setup left it */

static int setup(void **state)
{
    struct wdn_diag d;
    static const char *const aud[] = {"https://api.test/"};
    static const char *const scopes[] = {"read"};
    const struct wdn_issuer_client_cfg cc = {.id = "svc",
                                             .secret = "s3cret",
                                             .audiences = aud,
                                             .naudiences = 1,
                                             .scopes = scopes,
                                             .nscopes = 1};
    const char *uris[] = {CB};
    struct wdn_issuer_reg_client app = {
        .id = "app", .redirect_uris = uris, .nredirect_uris = 1, .public_client = true};
    (void)state;

    snprintf(dir, sizeof(dir), "/tmp/wdn-issuer-faults-XXXXXX");
    if (mkdtemp(dir) == NULL || wdn_issuer_keys_ensure(dir, WDN_JOSE_ES256, 100, NOW, NULL, &d))
        return -1;
    if (wdn_issuer_client_add(dir, &app, NULL, 0, &d) != 0)
        return -1;
    struct wdn_issuer_config cfg = {.issuer = ISS,
                                    .state_dir = dir,
                                    .clients = &cc,
                                    .nclients = 1,
                                    .scopes = scopes,
                                    .nscopes = 1,
                                    .dcr = true};
    iss = wdn_issuer_new(&cfg, &d);
    if (iss == NULL)
        return -1;
    char path[128];
    snprintf(path, sizeof(path), "%s/clients.json", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    clients_json = calloc(1, 65536);
    if (clients_json == NULL || fread(clients_json, 1, 65535, f) == 0)
        return -1;
    fclose(f);
    tf_json_faults();
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    wdn_fault_disarm();
    wdn_issuer_free(iss);
    free(clients_json);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

struct call {
    const char *name;
    const char *method, *path, *query, *content_type, *auth, *body;
    int ok_status;         /* the status of the clean run */
    const char *must_have; /* a member every 2xx JSON answer holds */
    bool fresh_clients;    /* put clients.json back as setup left it before each run */
};

static void put_back_clients(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/clients.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(clients_json, f);
    fclose(f);
}

/* Runs one request with the nth allocation failing; checks the answer is whole or a refusal. */
static bool run_once(const struct call *c, unsigned nth, int *status)
{
    struct wdn_issuer_request req = {.method = wdn_str_from_cstr(c->method),
                                     .path = wdn_str_from_cstr(c->path),
                                     .query = wdn_str_from_cstr(c->query ? c->query : ""),
                                     .content_type = wdn_str_from_cstr(c->content_type),
                                     .authorization = wdn_str_from_cstr(c->auth),
                                     .has_authorization = c->auth != NULL,
                                     .body = wdn_str_from_cstr(c->body),
                                     .peer = "192.0.2.1"};
    struct wdn_issuer_response r;
    bool fired;

    if (c->fresh_clients)
        put_back_clients();
    if (nth > 0)
        wdn_fault_arm(WDN_FAULT_ALLOC, nth);
    int rc = wdn_issuer_handle(iss, &req, NOW, &r);
    fired = nth > 0 && wdn_fault_fired();
    wdn_fault_disarm();
    *status = rc == 0 ? r.status : 500;
    /* No answer built (the HTTP adapter answers 500): a refusal too. Without a fault the
     * request is answered. */
    if (rc != 0 && nth == 0)
        fail_msg("%s: wdn_issuer_handle returned %d (%s)", c->name, rc, wdn_strerror(rc));
    if (rc == 0 && r.status >= 200 && r.status < 300 && r.content_type &&
        strcmp(r.content_type, "application/json") == 0) {
        json_t *j = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
        if (j == NULL || json_object_get(j, c->must_have) == NULL)
            fail_msg("%s, allocation %u: %d with a broken body: %.*s", c->name, nth, r.status,
                     (int)(r.body.len > 300 ? 300 : r.body.len), r.body.data ? r.body.data : "");
        /* A token's claims are whole too: what was signed is what was meant. */
        const char *at = json_string_value(json_object_get(j, "access_token"));
        if (at != NULL) {
            json_t *claims = jwsparts_json(at, 1);
            if (claims == NULL || !json_is_string(json_object_get(claims, "aud")) ||
                !json_is_string(json_object_get(claims, "iss")) ||
                !json_is_string(json_object_get(claims, "sub")))
                fail_msg("%s, allocation %u: a token with broken claims", c->name, nth);
            json_decref(claims);
        }
        json_decref(j);
    }
    if (rc == 0 && r.status >= 200 && r.status < 300 && r.content_type &&
        strncmp(r.content_type, "text/html", 9) == 0 &&
        (r.body.data == NULL || strstr(r.body.data, "</html>") == NULL))
        fail_msg("%s, allocation %u: %d with a cut page", c->name, nth, r.status);
    wdn_issuer_response_reset(&r);
    return fired;
}

static void sweep(const struct call *c)
{
    int status;
    unsigned n, refused = 0;

    run_once(c, 0, &status);
    if (status != c->ok_status)
        fail_msg("%s: clean run answered %d, expected %d", c->name, status, c->ok_status);
    for (n = 1; n < 5000; n++) {
        if (!run_once(c, n, &status))
            break;
        refused += status != c->ok_status;
    }
    assert_true(n > 1);    /* the request allocates at all */
    assert_true(n < 5000); /* and the sweep ended */
    (void)refused;
}

static void test_discovery_under_oom(void **state)
{
    (void)state;
    const struct call metadata = {.name = "metadata",
                                  .method = "GET",
                                  .path = "/.well-known/oauth-authorization-server",
                                  .content_type = "",
                                  .ok_status = 200,
                                  .must_have = "issuer"};
    const struct call jwks = {.name = "jwks",
                              .method = "GET",
                              .path = "/.well-known/jwks.json",
                              .content_type = "",
                              .ok_status = 200,
                              .must_have = "keys"};
    sweep(&metadata);
    sweep(&jwks);
}

static void test_token_under_oom(void **state)
{
    (void)state;
    const struct call cc = {.name = "client_credentials",
                            .method = "POST",
                            .path = "/oauth/token",
                            .content_type = "application/x-www-form-urlencoded",
                            .auth = "Basic c3ZjOnMzY3JldA==",
                            .body = "grant_type=client_credentials&scope=read",
                            .ok_status = 200,
                            .must_have = "access_token"};
    const struct call json_body = {
        .name = "client_credentials (JSON body)",
        .method = "POST",
        .path = "/oauth/token",
        .content_type = "application/json",
        .body = "{\"grant_type\":\"client_credentials\",\"client_id\":\"svc\","
                "\"client_secret\":\"s3cret\",\"audience\":\"https://api.test/\"}",
        .ok_status = 200,
        .must_have = "access_token"};
    const struct call bad = {.name = "invalid_grant",
                             .method = "POST",
                             .path = "/oauth/token",
                             .content_type = "application/x-www-form-urlencoded",
                             .body = "grant_type=authorization_code&client_id=app&code=nope"
                                     "&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback"
                                     "&code_verifier=x",
                             .ok_status = 400,
                             .must_have = "error"};
    sweep(&cc);
    sweep(&json_body);
    sweep(&bad);
}

static void test_registration_under_oom(void **state)
{
    (void)state;
    const struct call reg = {.name = "register",
                             .method = "POST",
                             .path = "/register",
                             .content_type = "application/json",
                             .body = "{\"redirect_uris\":[\"" CB "\"],\"client_name\":\"Tool\","
                                     "\"token_endpoint_auth_method\":\"none\"}",
                             .ok_status = 201,
                             .must_have = "client_id",
                             .fresh_clients = true};
    sweep(&reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discovery_under_oom),
        cmocka_unit_test(test_token_under_oom),
        cmocka_unit_test(test_registration_under_oom),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
