/* The sidecar's tracing and audit records as a caller and an operator see them (src/sidecar/
 * observe.c, issue 18), with a local OTLP receiver (tests/unit/trace/receiver.c) and an audit log
 * file: a caller's trace context is continued (its trace ID, its tracestate) and a broken one is
 * replaced by a new trace; each decision step becomes a span that says allow or deny, and a failed
 * forward marks the request's spans as errors; the audit log holds a record per decision, with the
 * verified token's subject and the trace ID, and one per tools/call, alone or in a batch; export
 * failures are logged (with the receiver's HTTP status) and counted; a reload that stops sampling,
 * or leaves no endpoint, stops the spans but not the trace context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "jose/crypto.h"
#include "sidecar/internal.h"
#include "../support/bearerdoc.h"
#include "../support/logcap.h"
#include "../support/testapp.h"
#include "../support/testdir.h"
#include "../support/testnet.h"
#include "../support/testsc.h"
#include "../trace/receiver.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT "00f067aa0ba902b7"
#define TP "traceparent: 00-" TRACE "-" PARENT "-01\r\n"

/* %s: the bearer's key set; %s: tracing (a YAML block under spec). */
static const char app_yaml[] = "apiVersion: dapr.io/v1alpha1\n"
                               "kind: Component\n"
                               "metadata: {name: bearer}\n"
                               "spec:\n"
                               "  type: middleware.http.bearer\n"
                               "  version: v1\n"
                               "  metadata:\n"
                               "  - {name: issuer, value: 'https://issuer.test/'}\n"
                               "  - {name: audience, value: app}\n"
                               "  - {name: jwks, value: '%s'}\n"
                               "---\n"
                               "apiVersion: dapr.io/v1alpha1\n"
                               "kind: Configuration\n"
                               "metadata: {name: cfg}\n"
                               "spec:\n"
                               "%s"
                               "  appHttpPipeline:\n"
                               "    handlers:\n"
                               "    - {name: bearer, type: middleware.http.bearer}\n"
                               "  accessControl:\n"
                               "    defaultAction: allow\n"
                               "    trustDomain: public\n"
                               "    policies:\n"
                               "    - appId: caller\n"
                               "      defaultAction: allow\n"
                               "      trustDomain: public\n"
                               "      namespace: default\n"
                               "      operations:\n"
                               "      - {name: /secret/**, httpVerb: ['*'], action: deny}\n"
                               "---\n"
                               "apiVersion: warden.dev/v1alpha1\n"
                               "kind: MCPServer\n"
                               "metadata: {name: tools}\n"
                               "spec:\n"
                               "  appId: app\n"
                               "  rules:\n"
                               "  - {callers: ['*'], tools: [add, echo], action: allow}\n";

static const struct wdn_http_header json_ct = {{"Content-Type", 12}, {"application/json", 16}};

/* /fail answers 500; /mcp a JSON-RPC result; anything else 200. */
static void app_answer(struct wdn_http_req *req, struct wdn_str body)
{
    const struct wdn_http_request *h = wdn_http_req_head(req);

    (void)body;
    if (wdn_str_eq_cstr(h->path, "/fail"))
        wdn_http_respond(req, 500, NULL, 0, WDN_STR("app failed"));
    else if (wdn_str_eq_cstr(h->path, "/mcp"))
        wdn_http_respond(req, 200, &json_ct, 1,
                         WDN_STR("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}"));
    else
        wdn_http_respond(req, 200, NULL, 0, WDN_STR("app says hi"));
}

static struct receiver rcv;
static struct wdn_jose_key *key;
static char *jwks;
static struct testsc app_sc, caller_sc;
static int api, caller_api;
static char audit_path[600], auth[2048];

/* The app's resources with this tracing block (YAML lines under spec, "" for none). */
static void write_resources(const char *tracing)
{
    static char text[sizeof(app_yaml) + 4096];

    snprintf(text, sizeof(text), app_yaml, jwks, tracing);
    testdir_write("res/app.yaml", text);
}

static const char *tracing_to(int port, const char *rate)
{
    static char t[256];
    snprintf(t, sizeof(t),
             "  tracing:\n"
             "    samplingRate: '%s'\n"
             "    otel: {endpointAddress: '127.0.0.1:%d', isSecure: false, protocol: http}\n",
             rate, port);
    return t;
}

static int setup(void **state)
{
    char res[600], ca[600], peers[600], line[128], claims[256], *tok;
    int internal = testnet_free_port();
    long now = (long)wdn_clock_unix();

    (void)state;
    if (testdir_make("sc-observe") == NULL)
        return -1;
    wdn_log_init("test", WDN_LOG_INFO, false);
    if (logcap_begin() != 0 || testapp_start(app_answer, 1 << 20) != 0 || receiver_start(&rcv) != 0)
        return -1;
    jwks = bd_es256(&key);
    if (jwks == NULL)
        return -1;
    testdir_mkdir("res", res, sizeof(res));
    write_resources(tracing_to(rcv.port, "1"));
    snprintf(line, sizeof(line), "app 127.0.0.1:%d\n", internal);
    testdir_write("peers", line);
    testdir_path("ca", ca, sizeof(ca));
    testdir_path("peers", peers, sizeof(peers));
    testdir_path("audit.log", audit_path, sizeof(audit_path));
    struct wdn_sidecar_opts o = {.app_id = "app",
                                 .app_port = testapp_port(),
                                 .internal_port = internal,
                                 .metrics_port = 0,
                                 .workers = 1,
                                 .ca_dir = ca,
                                 .config = "cfg",
                                 .audit_log = audit_path,
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
             "\"exp\":%ld,\"jti\":\"j-1\"}",
             now, now + 3600);
    tok = bd_sign(key, claims);
    if (tok == NULL)
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    free(tok);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testsc_stop(&caller_sc);
    testsc_stop(&app_sc);
    testapp_stop();
    receiver_stop(&rcv);
    wdn_jose_key_free(key);
    free(jwks);
    logcap_end(true);
    wdn_jose_thread_cleanup();
    return testdir_remove();
}

/* ---- Helpers ------------------------------------------------------------------------------- */

/* A request to port: the request line, then these header lines, auth, then body. */
static void call(int port, const char *line, const char *headers, const char *body,
                 struct testresp *r)
{
    char head[4096];

    snprintf(head, sizeof(head), "%s HTTP/1.1\r\nHost: x\r\n%s%s", line, headers, auth);
    testapp_http(port, head, body, r);
}

/* True once a body the receiver got holds every needle (NULL-terminated), within 30 s. */
static bool spans_hold(const char *const *needles)
{
    for (uint64_t end = wdn_clock_mono_ms() + 30000; wdn_clock_mono_ms() < end; usleep(20000)) {
        bool all = false;
        pthread_mutex_lock(&rcv.mu);
        for (size_t i = 0; i < rcv.n && !all; i++) {
            all = true;
            for (size_t k = 0; needles[k] && all; k++)
                all = rcv.bodies[i] && strstr(rcv.bodies[i], needles[k]) != NULL;
        }
        pthread_mutex_unlock(&rcv.mu);
        if (all)
            return true;
    }
    return false;
}

/* The audit log's text once it holds n lines with needle (at most 30 s), or NULL. */
static const char *audit_with(const char *needle, int n)
{
    static char text[1 << 17];

    for (uint64_t end = wdn_clock_mono_ms() + 30000; wdn_clock_mono_ms() < end; usleep(20000)) {
        FILE *f = fopen(audit_path, "r");
        size_t len = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
        int seen = 0;
        if (f)
            fclose(f);
        text[len] = '\0';
        for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
            seen++;
        if (seen >= n)
            return text;
    }
    return NULL;
}

/* The audit line holding needle (a copy), or "". */
static const char *audit_line(const char *text, const char *needle)
{
    static char line[4096];
    const char *p = strstr(text, needle), *a, *b;

    if (p == NULL)
        return "";
    for (a = p; a > text && a[-1] != '\n'; a--)
        ;
    b = strchr(p, '\n');
    snprintf(line, sizeof(line), "%.*s", (int)(b ? b - a : (long)strlen(a)), a);
    return line;
}

/* ---- Trace context ------------------------------------------------------------------------- */

/* A valid traceparent is continued: the app gets the caller's trace ID under a new span ID with
 * the caller's tracestate, and the spans (ingress, bearer, forward) go to the receiver in that
 * trace, the ingress span under the caller's span. */
static void test_context_continued(void **state)
{
    struct testresp r;
    const char *seen;

    (void)state;
    call(api, "GET /v1.0/invoke/app/method/hello", TP "tracestate: vendor=1,other=2\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    seen = testapp_last();
    assert_non_null(strstr(seen, "traceparent: 00-" TRACE "-"));
    assert_null(strstr(seen, "-" PARENT "-"));
    assert_non_null(strstr(seen, "tracestate: vendor=1,other=2\n"));
    const char *const want[] = {"\"traceId\":\"" TRACE "\"", "\"parentSpanId\":\"" PARENT "\"",
                                "\"name\":\"ingress\"",      "\"name\":\"forward\"",
                                "\"name\":\"bearer\"",       NULL};
    assert_true(spans_hold(want));
}

/* A traceparent that does not parse starts a new trace (and its tracestate is dropped); a
 * tracestate that does not parse is dropped from a valid context. */
static void test_context_replaced(void **state)
{
    struct testresp r;
    const char *seen;

    (void)state;
    call(api, "GET /v1.0/invoke/app/method/hello",
         "traceparent: 00-" TRACE "-" PARENT "-zz\r\ntracestate: vendor=1\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    seen = testapp_last();
    assert_non_null(strstr(seen, "traceparent: 00-"));
    assert_null(strstr(seen, TRACE));
    assert_null(strstr(seen, "tracestate:"));

    call(api, "GET /v1.0/invoke/app/method/hello", TP "tracestate: =bad==\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    seen = testapp_last();
    assert_non_null(strstr(seen, "traceparent: 00-" TRACE "-"));
    assert_null(strstr(seen, "tracestate:"));
}

/* Each decision step's span says what it decided: the access control of the app's sidecar
 * refusing the caller's sidecar (its span a deny, with the caller), and a forward that failed
 * (the app answered 500) marks the request's spans as errors. */
static void test_step_spans(void **state)
{
    struct testresp r;

    (void)state;
    call(caller_api, "GET /v1.0/invoke/app/method/secret/x",
         "traceparent: 00-11111111111111111111111111111111-2222222222222222-01\r\n", NULL, &r);
    assert_int_equal(r.status, 403);
    const char *const denied[] = {"\"traceId\":\"11111111111111111111111111111111\"",
                                  "\"name\":\"access_control\"", "\"deny\"",
                                  "spiffe://public/ns/default/caller", NULL};
    assert_true(spans_hold(denied));

    call(api, "GET /v1.0/invoke/app/method/fail",
         "traceparent: 00-33333333333333333333333333333333-4444444444444444-01\r\n", NULL, &r);
    assert_int_equal(r.status, 500);
    const char *const failed[] = {"\"traceId\":\"33333333333333333333333333333333\"",
                                  "\"http.response.status_code\"", "\"code\":2", NULL};
    assert_true(spans_hold(failed));
}

/* ---- Audit records ------------------------------------------------------------------------- */

/* A granted batch writes a tool_call record per tools/call (the other messages none), with the
 * verified subject and the trace ID; a refused batch a tool_policy record per call: the one the
 * policy refused with its reason, the others batch_refused. */
static void test_audit_batches(void **state)
{
    struct testresp r;
    const char *text;

    (void)state;
    call(api, "POST /v1.0/invoke/app/method/mcp",
         "traceparent: 00-55555555555555555555555555555555-6666666666666666-01\r\n"
         "Content-Type: application/json\r\n",
         "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"add\","
         "\"arguments\":{\"b\":2,\"a\":1}}},"
         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"},"
         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}]",
         &r);
    assert_int_equal(r.status, 200);
    /* A tool_policy allow and a tool_call record for each of the two calls (the tool_call
     * records come last, when the app has answered). */
    text = audit_with("\"reason\":\"forwarded\"", 2);
    assert_non_null(text);
    const char *granted = audit_line(text, "\"tool\":\"add\"");
    assert_non_null(strstr(granted, "\"kind\":\"tool_policy\",\"decision\":\"allow\""));
    assert_non_null(strstr(granted, "\"sub\":\"alice\""));
    assert_non_null(strstr(granted, "\"jti\":\"j-1\""));
    const char *add = audit_line(text, "\"kind\":\"tool_call\"");
    assert_non_null(strstr(add, "\"reason\":\"forwarded\""));
    assert_non_null(strstr(add, "\"status\":200"));
    assert_non_null(strstr(add, "\"rpc\":\"tools/call\",\"tool\":\"add\",\"args_sha256\":\""));
    const char *echo = audit_line(strstr(text, add) + strlen(add), "\"kind\":\"tool_call\"");
    assert_non_null(strstr(echo, "\"tool\":\"echo\""));
    assert_null(strstr(text, "tools/list"));

    /* One call alone: its record as in a batch. */
    call(api, "POST /v1.0/invoke/app/method/mcp", "Content-Type: application/json\r\n",
         "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
         "\"arguments\":{\"x\":\"y\"}}}",
         &r);
    assert_int_equal(r.status, 200);
    text = audit_with("\"reason\":\"forwarded\"", 3);
    assert_non_null(text);

    int before = testapp_count();
    call(api, "POST /v1.0/invoke/app/method/mcp",
         "traceparent: 00-77777777777777777777777777777777-6666666666666666-01\r\n"
         "Content-Type: application/json\r\n",
         "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"add\"}},"
         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"rm\"}}]",
         &r);
    assert_int_equal(r.status, 403);
    text = audit_with("\"reason\":\"batch_refused\"", 1);
    assert_non_null(text);
    assert_int_equal(testapp_count(), before);
    const char *rm = audit_line(text, "\"tool\":\"rm\"");
    assert_non_null(strstr(rm, "\"kind\":\"tool_policy\""));
    assert_non_null(strstr(rm, "\"decision\":\"deny\""));
    assert_non_null(strstr(rm, "\"status\":403"));
    assert_non_null(strstr(rm, "\"sub\":\"alice\""));
    const char *other = audit_line(text, "\"reason\":\"batch_refused\"");
    assert_non_null(strstr(other, "\"tool\":\"add\""));
    assert_non_null(strstr(other, "\"trace_id\":\"77777777777777777777777777777777\""));
}

/* ---- The exporter and the settings --------------------------------------------------------- */

/* Counted spans and records on /metrics. */
static void test_metrics(void **state)
{
    struct testresp r;
    int port = wdn_sidecar_metrics_port(app_sc.sc);

    (void)state;
    assert_true(port > 0);
    testapp_http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "warden_trace_spans_total{result=\"exported\"} "));
    assert_null(strstr(r.body, "warden_trace_spans_total{result=\"exported\"} 0\n"));
    assert_non_null(strstr(r.body, "warden_audit_records_total "));
    assert_null(strstr(r.body, "warden_audit_records_total 0\n"));
}

/* A reload that keeps the tracing settings keeps exporting; one that points them at a port
 * nobody listens on logs the failed exports; one that samples nothing sends no spans while the
 * app still gets a trace context. */
static void test_reload(void **state)
{
    char want[128];
    struct testresp r;
    int dead = testnet_free_port();
    size_t n;

    (void)state;
    /* Another file, the same settings: the exporter goes on. */
    logcap_mark();
    testdir_write("res/extra.yaml", "# nothing\n");
    assert_true(logcap_wait("configuration reloaded generation=", 30000));
    call(api, "GET /v1.0/invoke/app/method/hello",
         "traceparent: 00-88888888888888888888888888888888-2222222222222222-01\r\n", NULL, &r);
    const char *const still[] = {"\"traceId\":\"88888888888888888888888888888888\"", NULL};
    assert_true(spans_hold(still));

    /* A dead endpoint: the failures are logged by the main loop. */
    logcap_mark();
    write_resources(tracing_to(dead, "1"));
    assert_true(logcap_wait("configuration reloaded generation=", 30000));
    call(api, "GET /v1.0/invoke/app/method/hello", "", NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want), "span export(s) to http://127.0.0.1:%d/v1/traces failed (last: %s)",
             dead, wdn_strerror(WDN_ECONNREFUSED));
    assert_true(logcap_wait(want, 60000)); /* no HTTP status: none was answered */

    /* A receiver that answers 500: its status is in the line. */
    logcap_mark();
    atomic_store(&rcv.status, 500);
    write_resources(tracing_to(rcv.port, "1"));
    assert_true(logcap_wait("configuration reloaded generation=", 30000));
    call(api, "GET /v1.0/invoke/app/method/hello", "", NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want), "span export(s) to http://127.0.0.1:%d/v1/traces failed",
             rcv.port);
    assert_true(logcap_wait(want, 60000));
    assert_true(logcap_wait(", HTTP 500)", 10000));
    atomic_store(&rcv.status, 200);

    /* Nothing sampled: no spans, the app still gets a (not sampled) context. */
    logcap_mark();
    write_resources(tracing_to(rcv.port, "0"));
    assert_true(logcap_wait("configuration reloaded generation=", 30000));
    n = receiver_count(&rcv);
    call(api, "GET /v1.0/invoke/app/method/hello",
         "traceparent: 00-99999999999999999999999999999999-2222222222222222-00\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(testapp_last(), "traceparent: 00-99999999999999999999999999999999-"));
    /* Sampled, but no endpoint: the context goes on, no spans go anywhere. */
    logcap_mark();
    write_resources("  tracing:\n    samplingRate: '1'\n");
    assert_true(logcap_wait("configuration reloaded generation=", 30000));
    call(api, "GET /v1.0/invoke/app/method/hello",
         "traceparent: 00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-2222222222222222-01\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(testapp_last(), "traceparent: 00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-"));
    usleep(1500000); /* longer than the exporter's interval: a span would have been sent */
    assert_int_equal(receiver_count(&rcv), n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_continued), cmocka_unit_test(test_context_replaced),
        cmocka_unit_test(test_step_spans),        cmocka_unit_test(test_audit_batches),
        cmocka_unit_test(test_metrics),           cmocka_unit_test(test_reload),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
