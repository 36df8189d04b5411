/* What a verified token does on its way to the app, through a sidecar whose appHttpPipeline
 * runs a bearer with forwardClaims and stripToken, in front of an MCP server whose only grant
 * needs a scope: the app gets the token's claims in the configured headers and never the
 * caller's forged ones, nor the token itself; a caller whose token lacks the scope of every
 * grant is asked to step up (403 insufficient_scope naming the scope) before its body is read,
 * and reaches the tool once its token has it. Issue 18. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "jose/crypto.h"
#include "jose/sign.h"
#include "sidecar/internal.h"
#include "../support/logcap.h"
#include "../support/testapp.h"
#include "../support/testdir.h"
#include "../support/testapp.h"
#include "../support/testdir.h"
#include "../support/testnet.h"
#include "../support/testsc.h"

/* ---- The sidecar --------------------------------------------------------------------------- */

/* %s: the test key's public JWK. */
static const char res_yaml[] =
    "apiVersion: dapr.io/v1alpha1\n"
    "kind: Component\n"
    "metadata: {name: bearer}\n"
    "spec:\n"
    "  type: middleware.http.bearer\n"
    "  version: v1\n"
    "  metadata:\n"
    "  - {name: issuer, value: 'https://issuer.test/'}\n"
    "  - {name: audience, value: guarded}\n"
    "  - {name: forwardClaims, value: 'sub:X-User-Id, scope:X-Scopes'}\n"
    "  - {name: stripToken, value: 'true'}\n"
    "  - {name: jwks, value: '{\"keys\":[%s]}'}\n"
    "---\n"
    "apiVersion: dapr.io/v1alpha1\n"
    "kind: Configuration\n"
    "metadata: {name: auth}\n"
    "spec:\n"
    "  appHttpPipeline:\n"
    "    handlers:\n"
    "    - {name: bearer, type: middleware.http.bearer}\n"
    "---\n"
    "apiVersion: warden.dev/v1alpha1\n"
    "kind: MCPServer\n"
    "metadata: {name: admin-tools}\n"
    "spec:\n"
    "  appId: guarded\n"
    "  rules:\n"
    "  - {callers: ['*'], tools: ['admin_*'], action: allow, requireScopes: [admin]}\n";

static struct wdn_jose_key *key;
static struct testsc sc;
static int api;

/* A token of the bearer's issuer for aud, for sub, with these scopes. */
static const char *token_for(const char *aud, const char *sub, const char *scope)
{
    static char out[2048];
    char claims[1024];
    struct wdn_buf b;
    long now = (long)wdn_clock_unix();

    snprintf(claims, sizeof(claims),
             "{\"iss\":\"https://issuer.test/\",\"sub\":\"%s\",\"aud\":\"%s\","
             "\"iat\":%ld,\"exp\":%ld,\"scope\":\"%s\"}",
             sub, aud, now, now + 600, scope);
    wdn_buf_init(&b, sizeof(out) - 1);
    assert_int_equal(wdn_jws_sign(key, wdn_str_from_cstr(claims), NULL, &b), 0);
    snprintf(out, sizeof(out), "%s", wdn_buf_cstr(&b));
    wdn_buf_reset(&b);
    return out;
}

/* A token for "guarded". */
static const char *token(const char *sub, const char *scope)
{
    return token_for("guarded", sub, scope);
}

static int setup(void **state)
{
    static char text[sizeof(res_yaml) + 1024];
    char res[600], ca[600];
    struct wdn_diag kd;
    char *jwk;

    (void)state;
    if (testdir_make("sc-token") == NULL)
        return -1;
    wdn_log_init("test", WDN_LOG_INFO, false);
    if (logcap_begin() != 0 || testapp_start(NULL, 1 << 20) != 0)
        return -1;
    key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "k1", &kd);
    jwk = key ? wdn_jose_key_public_jwk(key) : NULL;
    if (jwk == NULL)
        return -1;
    snprintf(text, sizeof(text), res_yaml, jwk);
    free(jwk);
    testdir_path("res", res, sizeof(res));
    testdir_path("ca", ca, sizeof(ca));
    mkdir(res, 0700);
    testdir_write("res/guarded.yaml", text);
    struct wdn_sidecar_opts o = {.app_id = "guarded",
                                 .app_port = testapp_port(),
                                 .metrics_port = -1,
                                 .workers = 1,
                                 .ca_dir = ca,
                                 .config = "auth",
                                 .resources_paths = {res},
                                 .n_resources_paths = 1};
    testsc_up(&sc, &o);
    api = wdn_sidecar_http_port(sc.sc);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testsc_stop(&sc);
    testapp_stop();
    wdn_jose_key_free(key);
    logcap_end(true); /* shown by ctest only when a test failed */
    if (testdir_remove() != 0)
        return -1;
    wdn_jose_thread_cleanup();
    return 0;
}

/* ---- Tests --------------------------------------------------------------------------------- */

/* The app learns who called from the headers forwardClaims names; a caller sending those headers
 * itself is ignored (they are removed before the verified values go in), and stripToken keeps
 * the token away from the app. */
static void test_claims_forwarded_token_stripped(void **state)
{
    char head[4096];
    struct testresp r;
    int before = testapp_count();

    (void)state;
    snprintf(head, sizeof(head),
             "GET /v1.0/invoke/guarded/method/hello HTTP/1.1\r\nHost: x\r\n"
             "X-User-Id: root\r\nx-scopes: everything\r\nAuthorization: Bearer %s\r\n",
             token("alice", "openid read"));
    testapp_http(api, head, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "app says hi");
    assert_int_equal(testapp_count(), before + 1);
    const char *seen = testapp_last();
    assert_non_null(strstr(seen, "X-User-Id: alice\n"));
    assert_non_null(strstr(seen, "X-Scopes: openid read\n"));
    assert_null(strstr(seen, "root"));
    assert_null(strstr(seen, "everything"));
    assert_null(strcasestr(seen, "authorization"));
    assert_null(strstr(seen, "Bearer"));

    /* Without a token nothing is forwarded at all. */
    testapp_http(api,
                 "GET /v1.0/invoke/guarded/method/hello HTTP/1.1\r\nHost: x\r\nX-User-Id: root\r\n",
                 NULL, &r);
    assert_int_equal(r.status, 401);
    assert_int_equal(testapp_count(), before + 1);
}

#define CALL_ADMIN                                                                                 \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"                \
    "\"admin_reset\"}}"

/* Every grant of the MCP server needs the scope admin: a token without it is not refused as an
 * unknown endpoint (404) but asked to step up, with the scope to ask for, before the body is
 * read; the tool is reached once the token carries it. */
static void test_scope_only_grant_steps_up(void **state)
{
    char head[4096];
    struct testresp r;
    int before = testapp_count();
    uint64_t denied = atomic_load(&sc.sc->m.requests[WDN__SC_PORT_API][403]);

    (void)state;
    logcap_mark();
    snprintf(head, sizeof(head),
             "POST /v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
             "Authorization: Bearer %s\r\n",
             token("alice", "openid"));
    testapp_http(api, head, CALL_ADMIN, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.raw, "WWW-Authenticate: Bearer error=\"insufficient_scope\", "
                                  "scope=\"admin\""));
    assert_non_null(strstr(r.body, "\"code\":-32003"));
    assert_non_null(strstr(r.body, "needs the scopes 'admin'"));
    assert_true(logcap_wait("decision=deny mcpserver=admin-tools caller=guarded "
                            "reason=insufficient_scope scope=\"admin\" status=403",
                            10000));
    assert_int_equal(testapp_count(), before);
    assert_int_equal(atomic_load(&sc.sc->m.requests[WDN__SC_PORT_API][403]), denied + 1);

    snprintf(head, sizeof(head),
             "POST /v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
             "Authorization: Bearer %s\r\n",
             token("alice", "openid admin"));
    testapp_http(api, head, CALL_ADMIN, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(testapp_count(), before + 1);
    assert_non_null(strstr(testapp_last(), "admin_reset"));
}

/* A refusal's challenge points at the metadata document of the route the client reached
 * (RFC 9728 section 5.1), built from this sidecar's own origin, never the Host header; a path
 * that cannot be quoted in the header as it is (a quote) gets a challenge without the pointer
 * rather than a broken or injected parameter. */
static void test_challenge_points_at_metadata(void **state)
{
    char want[512];
    struct testresp r;

    (void)state;
    testapp_http(api, "GET /v1.0/invoke/guarded/method/hello HTTP/1.1\r\nHost: evil.test\r\n", NULL,
                 &r);
    assert_int_equal(r.status, 401);
    snprintf(want, sizeof(want),
             "WWW-Authenticate: Bearer resource_metadata=\"http://127.0.0.1:%d"
             "/.well-known/oauth-protected-resource/v1.0/invoke/guarded/method/hello\"\r\n",
             api);
    if (strstr(r.raw, want) == NULL)
        fail_msg("no %s in %s", want, r.raw);
    assert_null(strstr(r.raw, "evil.test"));
    testapp_http(api, "GET /v1.0/invoke/guarded/method/say\"hi HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.raw, "WWW-Authenticate: Bearer\r\n"));
    assert_null(strstr(r.raw, "resource_metadata"));
    /* Bytes outside ASCII do not get that far: the HTTP parser refuses the request line. */
    testapp_http(api, "GET /v1.0/invoke/guarded/method/caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n", NULL,
                 &r);
    assert_int_equal(r.status, 400);
}

/* Allowed requests leave no line at the default level (one line per denial is what operators
 * read), and one per decision at debug level: who the token named, which tool was granted. */
static void test_allow_decisions_logged_at_debug(void **state)
{
    char head[4096];
    struct testresp r;

    (void)state;
    snprintf(head, sizeof(head),
             "POST /v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
             "Authorization: Bearer %s\r\n",
             token("bob", "admin"));
    logcap_mark();
    testapp_http(api, head, CALL_ADMIN, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(logcap_count("decision=allow"), 0);

    wdn_log_level = WDN_LOG_DEBUG; /* what --log-level debug sets; read by the workers */
    testapp_http(api, head, CALL_ADMIN, &r);
    wdn_log_level = WDN_LOG_INFO;
    assert_int_equal(r.status, 200);
    assert_true(logcap_wait("decision=allow pipeline=appHttpPipeline sub=bob cached=", 10000));
    assert_true(logcap_wait("decision=allow mcpserver=admin-tools caller=guarded "
                            "tool=\"admin_reset\"",
                            10000));
}

/* requireResourceAudience without a configured resource (RFC 8707): a token is accepted only
 * for the resource the client reached, this sidecar's own URL of the route (never the Host
 * header): not another route's, not a plain audience. */
static void test_audience_bound_to_route(void **state)
{
    static char yaml[2048];
    char res[600], ca[600], head[4096], aud[256];
    struct testsc bound;
    struct testresp r;
    int port, before = testapp_count();
    char *jwk = wdn_jose_key_public_jwk(key);

    (void)state;
    assert_non_null(jwk);
    snprintf(yaml, sizeof(yaml),
             "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: bound}\n"
             "spec:\n  type: middleware.http.bearer\n  version: v1\n  metadata:\n"
             "  - {name: issuer, value: 'https://issuer.test/'}\n"
             "  - {name: requireResourceAudience, value: 'true'}\n"
             "  - {name: jwks, value: '{\"keys\":[%s]}'}\n"
             "---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: bound}\n"
             "spec:\n  appHttpPipeline:\n    handlers:\n"
             "    - {name: bound, type: middleware.http.bearer}\n",
             jwk);
    free(jwk);
    testdir_mkdir("bres", res, sizeof(res));
    testdir_write("bres/bound.yaml", yaml);
    testdir_path("ca", ca, sizeof(ca));
    struct wdn_sidecar_opts o = {.app_id = "bound",
                                 .app_port = testapp_port(),
                                 .metrics_port = -1,
                                 .workers = 1,
                                 .ca_dir = ca,
                                 .config = "bound",
                                 .resources_paths = {res},
                                 .n_resources_paths = 1};
    testsc_up(&bound, &o);
    port = wdn_sidecar_http_port(bound.sc);
    snprintf(aud, sizeof(aud), "http://127.0.0.1:%d/v1.0/invoke/bound/method/hello", port);

    snprintf(head, sizeof(head),
             "GET /v1.0/invoke/bound/method/hello HTTP/1.1\r\nHost: evil.test\r\n"
             "Authorization: Bearer %s\r\n",
             token_for(aud, "carol", "openid"));
    testapp_http(port, head, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(testapp_count(), before + 1);
    /* The same token on another route, and a token for a plain audience. */
    snprintf(head, sizeof(head),
             "GET /v1.0/invoke/bound/method/other HTTP/1.1\r\nHost: x\r\n"
             "Authorization: Bearer %s\r\n",
             token_for(aud, "carol", "openid"));
    testapp_http(port, head, NULL, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.raw, "WWW-Authenticate: Bearer error=\"invalid_token\""));
    snprintf(head, sizeof(head),
             "GET /v1.0/invoke/bound/method/hello HTTP/1.1\r\nHost: x\r\n"
             "Authorization: Bearer %s\r\n",
             token_for("bound", "carol", "openid"));
    testapp_http(port, head, NULL, &r);
    assert_int_equal(r.status, 401);
    assert_int_equal(testapp_count(), before + 1);
    testsc_stop(&bound);
}

/* An issuer whose key set cannot be fetched does not keep the sidecar unhealthy for ever: it is
 * ready after WDN_SIDECAR_READY_KEYS_MS and says why, the failed fetch is logged, and the
 * requests its bearer protects get 503 (never through to the app) until the keys load. */
static void test_issuer_down(void **state)
{
    char res[600], ca[600], yaml[1024], head[4096];
    struct testsc down;
    struct testresp r;
    int before = testapp_count();

    (void)state;
    snprintf(yaml, sizeof(yaml),
             "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: down}\n"
             "spec:\n  type: middleware.http.bearer\n  version: v1\n  metadata:\n"
             "  - {name: issuer, value: 'https://issuer.test/'}\n"
             "  - {name: audience, value: guarded}\n"
             "  - {name: jwksURL, value: 'https://127.0.0.1:%d/jwks'}\n"
             "---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: down}\n"
             "spec:\n  appHttpPipeline:\n    handlers:\n"
             "    - {name: down, type: middleware.http.bearer}\n",
             testnet_free_port());
    testdir_mkdir("dres", res, sizeof(res));
    testdir_write("dres/down.yaml", yaml);
    testdir_path("ca", ca, sizeof(ca));
    struct wdn_sidecar_opts o = {.app_id = "down",
                                 .app_port = testapp_port(),
                                 .metrics_port = -1,
                                 .workers = 1,
                                 .ca_dir = ca,
                                 .config = "down",
                                 .resources_paths = {res},
                                 .n_resources_paths = 1};
    logcap_mark();
    testsc_up(&down, &o); /* ready only once the wait for keys has run out */
    assert_true(logcap_wait("no key set loaded after 10 s: healthy anyway; requests the bearer "
                            "middleware protects get 503 until the keys load",
                            1000));
    assert_true(logcap_wait("jwks refresh failed component=down error=\"", 30000));
    assert_true(logcap_wait("(protected requests get 503 until it loads)", 1000));
    snprintf(head, sizeof(head),
             "GET /v1.0/invoke/down/method/hello HTTP/1.1\r\nHost: x\r\n"
             "Authorization: Bearer %s\r\n",
             token("carol", "openid"));
    testapp_http(wdn_sidecar_http_port(down.sc), head, NULL, &r);
    assert_int_equal(r.status, 503);
    assert_int_equal(testapp_count(), before);
    testsc_stop(&down);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claims_forwarded_token_stripped),
        cmocka_unit_test(test_scope_only_grant_steps_up),
        cmocka_unit_test(test_challenge_points_at_metadata),
        cmocka_unit_test(test_allow_decisions_logged_at_debug),
        cmocka_unit_test(test_audience_bound_to_route),
        cmocka_unit_test(test_issuer_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
