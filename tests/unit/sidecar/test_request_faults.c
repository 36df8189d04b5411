/* Out of memory on the request path (issue 18): every allocation a request makes from its arena
 * (src/base/arena.c, fault class WDN_FAULT_ARENA) fails in turn, in the sidecars and in the app
 * behind them, for each kind of request: a verified token on the MCP guard's path, a call the
 * tool policy refuses, an invocation through a caller's sidecar over mTLS, the protected
 * resource metadata served locally and fetched from the app's sidecar. Each failure must leave
 * the caller with a whole answer (a status and a closed connection, never a hang or a crash), and
 * the guard must fail closed: a refused call never reaches the app, and whatever reaches the app
 * carries the verified identity, never the caller's forged one nor the token. LSan checks that no
 * failure leaks. Only in builds with WDN_FAULT (the asan and coverage presets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/fault.h"
#include "base/log.h"
#include "jose/crypto.h"
#include "sidecar/internal.h"
#include "../support/bearerdoc.h"
#include "../support/logcap.h"
#include "../support/testapp.h"
#include "../support/testdir.h"
#include "../support/testnet.h"
#include "../support/testsc.h"

/* %s: the bearer's key set; %d: a port nobody listens on (spans are made, their export fails). */
static const char app_yaml[] =
    "apiVersion: dapr.io/v1alpha1\n"
    "kind: Component\n"
    "metadata: {name: bearer}\n"
    "spec:\n"
    "  type: middleware.http.bearer\n"
    "  version: v1\n"
    "  metadata:\n"
    "  - {name: issuer, value: 'https://issuer.test/'}\n"
    "  - {name: audience, value: app}\n"
    "  - {name: forwardClaims, value: 'sub:X-User-Id'}\n"
    "  - {name: stripToken, value: 'true'}\n"
    "  - {name: jwks, value: '%s'}\n"
    "---\n"
    "apiVersion: dapr.io/v1alpha1\n"
    "kind: Configuration\n"
    "metadata: {name: cfg}\n"
    "spec:\n"
    "  tracing:\n"
    "    samplingRate: '1'\n"
    "    otel: {endpointAddress: '127.0.0.1:%d', isSecure: false, protocol: http}\n"
    "  appHttpPipeline:\n"
    "    handlers:\n"
    "    - {name: bearer, type: middleware.http.bearer}\n"
    "  accessControl:\n"
    "    defaultAction: allow\n"
    "    trustDomain: public\n"
    "---\n"
    "apiVersion: warden.dev/v1alpha1\n"
    "kind: MCPServer\n"
    "metadata: {name: tools}\n"
    "spec:\n"
    "  appId: app\n"
    "  rules:\n"
    "  - {callers: ['*'], tools: [add], action: allow}\n";

static const struct wdn_http_header json_ct = {{"Content-Type", 12}, {"application/json", 16}};

static void app_answer(struct wdn_http_req *req, struct wdn_str body)
{
    (void)body;
    wdn_http_respond(req, 200, &json_ct, 1,
                     WDN_STR("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}"));
}

static struct wdn_jose_key *key;
static struct testsc app_sc, caller_sc;
static int api, caller_api;
static char head_ok[4096];

#define TP "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
#define CALL(tool)                                                                                 \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"" tool         \
    "\",\"arguments\":{\"a\":1}}}"

static int setup(void **state)
{
    static char text[sizeof(app_yaml) + 2048];
    char res[600], ca[600], peers[600], audit[600], line[128];
    char *jwks, *tok, claims[256];
    int internal = testnet_free_port();
    long now = (long)wdn_clock_unix();

    (void)state;
    if (testdir_make("sc-reqfaults") == NULL)
        return -1;
    wdn_log_init("test", WDN_LOG_INFO, false);
    if (logcap_begin() != 0 || testapp_start(app_answer, 1 << 20) != 0)
        return -1;
    jwks = bd_es256(&key);
    if (jwks == NULL)
        return -1;
    snprintf(text, sizeof(text), app_yaml, jwks, testnet_free_port());
    free(jwks);
    testdir_mkdir("res", res, sizeof(res));
    testdir_write("res/app.yaml", text);
    snprintf(line, sizeof(line), "app 127.0.0.1:%d\n", internal);
    testdir_write("peers", line);
    testdir_path("ca", ca, sizeof(ca));
    testdir_path("peers", peers, sizeof(peers));
    testdir_path("audit.log", audit, sizeof(audit));
    struct wdn_sidecar_opts o = {.app_id = "app",
                                 .app_port = testapp_port(),
                                 .internal_port = internal,
                                 .metrics_port = -1,
                                 .workers = 1,
                                 .ca_dir = ca,
                                 .config = "cfg",
                                 .audit_log = audit,
                                 .audit_args = true,
                                 .resources_paths = {res},
                                 .n_resources_paths = 1};
    testsc_up(&app_sc, &o);
    struct wdn_sidecar_opts oc = {
        .app_id = "caller", .metrics_port = -1, .workers = 1, .ca_dir = ca, .peers_file = peers};
    testsc_up(&caller_sc, &oc);
    api = wdn_sidecar_http_port(app_sc.sc);
    caller_api = wdn_sidecar_http_port(caller_sc.sc);

    snprintf(claims, sizeof(claims),
             "{\"iss\":\"https://issuer.test/\",\"sub\":\"alice\",\"aud\":\"app\",\"iat\":%ld,"
             "\"exp\":%ld}",
             now, now + 3600);
    tok = bd_sign(key, claims);
    if (tok == NULL)
        return -1;
    /* A forged identity header and a trace context from the caller, which the sidecar replaces
     * (X-User-Id) and continues (traceparent). */
    snprintf(head_ok, sizeof(head_ok),
             "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "X-User-Id: root\r\n" TP "tracestate: vendor=1\r\nContent-Type: application/json\r\n",
             tok);
    free(tok);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    wdn_fault_disarm();
    testsc_stop(&caller_sc);
    testsc_stop(&app_sc);
    testapp_stop();
    wdn_jose_key_free(key);
    logcap_end(true);
    wdn_jose_thread_cleanup();
    return testdir_remove();
}

/* A whole answer: a status line and a closed connection (an error status is fine). */
static void whole(const struct testresp *r, unsigned n)
{
    if (!r->closed || r->status < 200 || r->status > 599)
        fail_msg("arena allocation %u failed: no whole answer (status %d, closed %d): %.200s", n,
                 r->status, r->closed, r->raw);
}

/* Runs one request with the nth arena allocation failing; true when that fault fired. */
static bool with_fault(unsigned n, int port, const char *head, const char *body, struct testresp *r)
{
    bool fired;

    wdn_fault_arm(WDN_FAULT_ARENA, n);
    testapp_http(port, head, body, r);
    fired = wdn_fault_fired();
    wdn_fault_disarm();
    return fired;
}

#define MAX_SITES 2000 /* far more than a request makes: a sweep that never ends is a failure */

/* A granted tools/call with a verified token: whatever reaches the app carries the token's
 * subject in X-User-Id and no Authorization; the clean run gets the tool's answer. */
static void test_granted_call(void **state)
{
    struct testresp r;
    unsigned n, failed = 0, refused = 0;

    (void)state;
    for (n = 1; n < MAX_SITES; n++) {
        int before = testapp_count();
        if (!with_fault(n, api, head_ok, CALL("add"), &r))
            break;
        failed++;
        whole(&r, n);
        refused += r.status != 200;
        if (testapp_count() > before) {
            const char *seen = testapp_last();
            if (strstr(seen, "X-User-Id: alice\n") == NULL || strstr(seen, "X-User-Id: root") ||
                strstr(seen, "Authorization:"))
                fail_msg("arena allocation %u failed: the app got %.600s", n, seen);
        }
    }
    print_message("%u arena allocations failed in turn (%u answered with an error)\n", failed,
                  refused);
    assert_true(n < MAX_SITES);
    assert_true(failed >= 10);
    assert_true(refused >= 1);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"result\""));
    assert_non_null(strstr(testapp_last(), "X-User-Id: alice\n"));
}

/* A tools/call the policy refuses never reaches the app, whichever allocation fails. */
static void test_refused_call(void **state)
{
    struct testresp r;
    int before = testapp_count();
    unsigned n;

    (void)state;
    for (n = 1; n < MAX_SITES; n++) {
        bool fired = with_fault(n, api, head_ok, CALL("rm"), &r);
        whole(&r, n);
        if (r.status == 200 || testapp_count() != before)
            fail_msg("arena allocation %u failed: the refused call got %d, the app %d calls", n,
                     r.status, testapp_count() - before);
        if (!fired)
            break;
    }
    assert_true(n < MAX_SITES);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "rm"));
}

/* Through the caller's sidecar over mTLS: what reaches the app names the caller. */
static void test_remote_invoke(void **state)
{
    struct testresp r;
    unsigned n, failed = 0;

    (void)state;
    for (n = 1; n < MAX_SITES; n++) {
        int before = testapp_count();
        if (!with_fault(n, caller_api, head_ok, CALL("add"), &r))
            break;
        failed++;
        whole(&r, n);
        if (testapp_count() > before && !strstr(testapp_last(), "dapr-caller-app-id: caller\n"))
            fail_msg("arena allocation %u failed: the app got %.600s", n, testapp_last());
    }
    assert_true(n < MAX_SITES);
    assert_true(failed >= 10);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(testapp_last(), "dapr-caller-app-id: caller\n"));
    assert_non_null(strstr(testapp_last(), "X-User-Id: alice\n"));
}

/* The protected resource metadata, served by the app's sidecar and fetched through the caller's:
 * each failure answers with an error, never with a document missing what it must say. */
static void test_resource_metadata(void **state)
{
    static const char *const heads[] = {
        "GET /.well-known/oauth-protected-resource/v1.0/invoke/app/method/mcp HTTP/1.1\r\n"
        "Host: x\r\n"};
    struct testresp r;
    int ports[2] = {api, caller_api};

    (void)state;
    for (size_t p = 0; p < 2; p++) {
        unsigned n, failed = 0;
        for (n = 1; n < MAX_SITES; n++) {
            bool fired = with_fault(n, ports[p], heads[0], NULL, &r);
            whole(&r, n);
            if (r.status == 200 && strstr(r.body, "\"authorization_servers\":[\"https://"
                                                  "issuer.test/\"]") == NULL)
                fail_msg("arena allocation %u failed: a document without its issuer: %s", n,
                         r.body);
            if (!fired)
                break;
            failed++;
        }
        assert_true(n < MAX_SITES);
        assert_true(failed >= 1);
        assert_int_equal(r.status, 200);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_granted_call),
        cmocka_unit_test(test_refused_call),
        cmocka_unit_test(test_remote_invoke),
        cmocka_unit_test(test_resource_metadata),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
