/* The MCP server's span per JSON-RPC request (src/mcp/server_trace.c), against a local OTLP
 * receiver: its parent is params._meta.traceparent (SEP-414) or else the HTTP traceparent
 * header; bad contexts are ignored; a tool sees its request's context for the calls it makes;
 * errors mark the span. The C MCP client's side: the context it sends in _meta and headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "receiver.h"
#include "warden/error.h"
#include "warden/mcp.h"
#include "warden/trace.h"

#define CALLER_TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define META_TP "00-" CALLER_TRACE "-00f067aa0ba902b7-01"
#define HTTP_TP "00-" CALLER_TRACE "-1111111111111111-01"

static char seen_tp[64];

static int echo(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    if (wdn_mcp_call_traceparent(call, seen_tp, sizeof(seen_tp)) != 0)
        seen_tp[0] = '\0';
    return wdn_mcp_call_text(call, "ok");
}

static int broken(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    return WDN_EIO;
}

static int cap_head(void *ud, int status, const struct wdn_mcp_out_header *h, size_t n)
{
    *(int *)ud = status;
    return 0;
}

static int cap_body(void *ud, const char *p, size_t n)
{
    return 0;
}

/* POSTs body with an optional traceparent header; returns the HTTP status. */
static int post(struct wdn_mcp_server *srv, const char *body, const char *traceparent)
{
    struct wdn_mcp_hdr h[4] = {
        {"Accept", 6, "application/json, text/event-stream", 35},
        {"Content-Type", 12, "application/json", 16},
        {"MCP-Protocol-Version", 20, "2025-06-18", 10},
        {"traceparent", 11, traceparent, traceparent ? strlen(traceparent) : 0},
    };
    struct wdn_mcp_http_request r = {.method = "POST",
                                     .target = "/mcp",
                                     .headers = h,
                                     .nheaders = traceparent ? 4 : 3,
                                     .body = body,
                                     .body_len = strlen(body)};
    int status = 0;
    struct wdn_mcp_http_out out = {cap_head, cap_body, NULL, &status};
    struct wdn_mcp_stream *st = NULL;

    assert_int_equal(wdn_mcp_server_handle(srv, &r, &out, &st), 0);
    assert_null(st);
    return status;
}

/* The spans the receiver got, in order, as one JSON array (new reference). */
static json_t *spans_of(struct receiver *r)
{
    json_t *all = json_array();
    for (size_t i = 0; i < receiver_count(r); i++) {
        json_t *o = json_loads(r->bodies[i], 0, NULL);
        json_t *rs = json_array_get(json_object_get(o, "resourceSpans"), 0);
        json_t *svc =
            json_array_get(json_object_get(json_object_get(rs, "resource"), "attributes"), 0);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(svc, "value"), "stringValue")),
            "mcp-server");
        json_array_extend(
            all, json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans"));
        json_decref(o);
    }
    return all;
}

static const char *attr(json_t *span, const char *key)
{
    size_t i;
    json_t *a;
    json_array_foreach (json_object_get(span, "attributes"), i, a) {
        if (strcmp(json_string_value(json_object_get(a, "key")), key) == 0)
            return json_string_value(json_object_get(json_object_get(a, "value"), "stringValue"));
    }
    return NULL;
}

static void test_method_spans(void **state)
{
    struct receiver rcv;
    char url[128];

    assert_int_equal(receiver_start(&rcv), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", rcv.port);
    struct wdn_tracer_config tc = {
        .endpoint = url, .service_name = "mcp-server", .sampling_rate = 1};
    struct wdn_tracer *t = wdn_tracer_new(&tc);
    assert_non_null(t);
    struct wdn_mcp_server_config sc = {
        .name = "s", .version = "1", .path = "/mcp", .stateless = true};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&sc);
    struct wdn_mcp_tool echo_tool = {.name = "echo", .description = "e", .fn = echo};
    struct wdn_mcp_tool broken_tool = {.name = "broken", .description = "b", .fn = broken};
    assert_int_equal(wdn_mcp_server_add_tool(srv, &echo_tool), 0);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &broken_tool), 0);

    /* Before a tracer is set: the caller's context passes through to the tool unchanged. */
    assert_int_equal(post(srv,
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                          "\"params\":{\"name\":\"echo\",\"arguments\":{}}}",
                          HTTP_TP),
                     200);
    assert_string_equal(seen_tp, HTTP_TP);
    wdn_mcp_server_set_tracer(srv, t);

    /* 1: _meta.traceparent wins over the header. */
    assert_int_equal(post(srv,
                          "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
                          "\"params\":{\"name\":\"echo\",\"arguments\":{},"
                          "\"_meta\":{\"traceparent\":\"" META_TP "\"}}}",
                          HTTP_TP),
                     200);
    char tp1[64];
    snprintf(tp1, sizeof(tp1), "%s", seen_tp);
    /* 2: only the header. */
    assert_int_equal(
        post(srv, "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"tools/list\"}", HTTP_TP), 200);
    /* 3: a _meta traceparent that does not parse falls back to the header. */
    assert_int_equal(post(srv,
                          "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
                          "\"params\":{\"name\":\"echo\",\"_meta\":{\"traceparent\":"
                          "\"00-ZZ-00f067aa0ba902b7-01\"}}}",
                          HTTP_TP),
                     200);
    /* 4: nothing: a new trace. 5: a tool that fails. 6: an unknown tool (-32602). */
    assert_int_equal(post(srv, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}", NULL), 200);
    assert_int_equal(post(srv,
                          "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
                          "\"params\":{\"name\":\"broken\"}}",
                          NULL),
                     200);
    assert_int_equal(post(srv,
                          "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\","
                          "\"params\":{\"name\":\"nope\"}}",
                          NULL),
                     200);
    assert_int_equal(wdn_tracer_flush(t, 30000), 0);

    json_t *spans = spans_of(&rcv);
    assert_int_equal(json_array_size(spans), 6);
    json_t *s1 = json_array_get(spans, 0), *s2 = json_array_get(spans, 1),
           *s3 = json_array_get(spans, 2), *s4 = json_array_get(spans, 3),
           *s5 = json_array_get(spans, 4), *s6 = json_array_get(spans, 5);

    assert_string_equal(json_string_value(json_object_get(s1, "name")), "tools/call echo");
    assert_int_equal(json_integer_value(json_object_get(s1, "kind")), 2);
    assert_string_equal(json_string_value(json_object_get(s1, "traceId")), CALLER_TRACE);
    assert_string_equal(json_string_value(json_object_get(s1, "parentSpanId")), "00f067aa0ba902b7");
    assert_string_equal(attr(s1, "mcp.method.name"), "tools/call");
    assert_string_equal(attr(s1, "gen_ai.tool.name"), "echo");
    assert_string_equal(attr(s1, "gen_ai.operation.name"), "execute_tool");
    assert_string_equal(attr(s1, "jsonrpc.request.id"), "7");
    assert_string_equal(attr(s1, "mcp.protocol.version"), "2025-06-18");
    assert_null(attr(s1, "error.type"));
    /* The tool saw its own span as the parent of what it calls. */
    char want[64];
    snprintf(want, sizeof(want), "00-%s-%s-01", CALLER_TRACE,
             json_string_value(json_object_get(s1, "spanId")));
    assert_string_equal(tp1, want);

    assert_string_equal(json_string_value(json_object_get(s2, "name")), "tools/list");
    assert_string_equal(json_string_value(json_object_get(s2, "parentSpanId")), "1111111111111111");
    assert_string_equal(attr(s2, "jsonrpc.request.id"), "b");
    assert_string_equal(json_string_value(json_object_get(s3, "parentSpanId")), "1111111111111111");
    assert_string_equal(json_string_value(json_object_get(s4, "name")), "ping");
    assert_null(json_object_get(s4, "parentSpanId"));
    assert_string_not_equal(json_string_value(json_object_get(s4, "traceId")), CALLER_TRACE);
    assert_string_equal(attr(s5, "error.type"), "tool_error");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s5, "status"), "code")), 2);
    assert_string_equal(attr(s6, "error.type"), "-32602");
    json_decref(spans);

    wdn_mcp_server_free(srv);
    wdn_tracer_free(t);
    receiver_stop(&rcv);
}

/* Rate 0: nothing is recorded, the context still reaches the tool (a new span ID, unsampled). */
static void test_rate_zero(void **state)
{
    struct receiver rcv;
    char url[128];

    assert_int_equal(receiver_start(&rcv), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces", rcv.port);
    struct wdn_tracer_config tc = {.endpoint = url, .service_name = "mcp-server"};
    struct wdn_tracer *t = wdn_tracer_new(&tc);
    struct wdn_mcp_server_config sc = {.name = "s", .version = "1", .stateless = true};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&sc);
    struct wdn_mcp_tool echo_tool = {.name = "echo", .description = "e", .fn = echo};
    assert_int_equal(wdn_mcp_server_add_tool(srv, &echo_tool), 0);
    wdn_mcp_server_set_tracer(srv, t);
    assert_int_equal(post(srv,
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                          "\"params\":{\"name\":\"echo\"}}",
                          "00-" CALLER_TRACE "-1111111111111111-00"),
                     200);
    assert_int_equal(strncmp(seen_tp, "00-" CALLER_TRACE "-", 36), 0);
    assert_string_equal(seen_tp + 52, "-00");
    assert_int_equal(wdn_tracer_flush(t, 30000), 0);
    assert_int_equal(receiver_count(&rcv), 0);
    wdn_mcp_server_free(srv);
    wdn_tracer_free(t);
    receiver_stop(&rcv);

    /* Bad tracer settings give no tracer. */
    struct wdn_tracer_config bad = {.endpoint = "grpc://x:4317", .service_name = "s"};
    assert_null(wdn_tracer_new(&bad));
    bad.endpoint = "http://x:4318";
    bad.sampling_rate = 2;
    assert_null(wdn_tracer_new(&bad));
    bad.sampling_rate = 1;
    bad.service_name = NULL;
    assert_null(wdn_tracer_new(&bad));
}

static void test_from_env(void **state)
{
    unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    assert_null(wdn_tracer_from_env("x"));
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/", 1);
    setenv("OTEL_TRACES_SAMPLER", "bogus", 1);
    assert_null(wdn_tracer_from_env("x"));
    setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio", 1);
    setenv("OTEL_TRACES_SAMPLER_ARG", "0.5", 1);
    struct wdn_tracer *t = wdn_tracer_from_env("x");
    assert_non_null(t);
    wdn_tracer_free(t);
    setenv("OTEL_TRACES_SAMPLER_ARG", "5", 1);
    assert_null(wdn_tracer_from_env("x"));
    unsetenv("OTEL_TRACES_SAMPLER");
    unsetenv("OTEL_TRACES_SAMPLER_ARG");
    unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
}

/* The C MCP client carries the context wdn_mcp_client_set_trace gave it in params._meta of
 * each request (SEP-414) and in the W3C headers (for the sidecars on the way); a traceparent
 * the caller put in _meta stays; invalid contexts are refused; notifications carry none. */
static void test_client_trace(void **state)
{
    struct receiver rcv;
    struct wdn_mcp_error err;
    char url[128];
    json_t *result = NULL;

    assert_int_equal(receiver_start(&rcv), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/mcp", rcv.port);
    struct wdn_mcp_client_config cc = {.url = url};
    struct wdn_mcp_client *c = wdn_mcp_client_new(&cc, &err);
    assert_non_null(c);

    assert_int_equal(wdn_mcp_client_set_trace(c, "00-" CALLER_TRACE "-00f067aa0ba902b7", NULL),
                     WDN_EINVAL);
    assert_int_equal(wdn_mcp_client_set_trace(c, "00-" CALLER_TRACE "-0000000000000000-01", NULL),
                     WDN_EINVAL);
    assert_int_equal(wdn_mcp_client_set_trace(c, META_TP, "bad state"), WDN_EINVAL);
    assert_int_equal(wdn_mcp_client_set_trace(c, META_TP, "vendor=v1"), 0);

    /* 1: a tools/call carries the context in _meta and in the headers. */
    rcv.reply = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}";
    assert_int_equal(wdn_mcp_client_call_tool(c, "echo", json_pack("{s:i}", "a", 1), &result, &err),
                     0);
    json_decref(result);
    /* 2: the caller's own _meta.traceparent stays, and the headers say the same. */
    rcv.reply = "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}";
    assert_int_equal(wdn_mcp_client_request(c, "ping",
                                            json_pack("{s:{s:s}}", "_meta", "traceparent", HTTP_TP),
                                            &result, &err),
                     0);
    json_decref(result);
    /* 3: a notification carries nothing; 4: after clearing, a request carries nothing. */
    rcv.reply = "";
    atomic_store(&rcv.status, 202);
    wdn_mcp_client_notify(c, "notifications/initialized", NULL, &err);
    atomic_store(&rcv.status, 200);
    assert_int_equal(wdn_mcp_client_set_trace(c, NULL, NULL), 0);
    rcv.reply = "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}";
    assert_int_equal(wdn_mcp_client_request(c, "ping", NULL, &result, &err), 0);
    json_decref(result);

    assert_int_equal(receiver_count(&rcv), 4);
    json_t *m1 = json_loads(rcv.bodies[0], 0, NULL), *m2 = json_loads(rcv.bodies[1], 0, NULL),
           *m3 = json_loads(rcv.bodies[2], 0, NULL), *m4 = json_loads(rcv.bodies[3], 0, NULL);
    json_t *meta1 = json_object_get(json_object_get(m1, "params"), "_meta");
    assert_string_equal(json_string_value(json_object_get(meta1, "traceparent")), META_TP);
    assert_string_equal(json_string_value(json_object_get(meta1, "tracestate")), "vendor=v1");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(m1, "params"), "arguments"), "a")),
                     1);
    assert_string_equal(rcv.tparents[0], META_TP);
    assert_string_equal(rcv.tstates[0], "vendor=v1");
    json_t *meta2 = json_object_get(json_object_get(m2, "params"), "_meta");
    assert_string_equal(json_string_value(json_object_get(meta2, "traceparent")), HTTP_TP);
    assert_null(json_object_get(meta2, "tracestate"));
    assert_string_equal(rcv.tparents[1], HTTP_TP);
    assert_string_equal(rcv.tstates[1], "");
    assert_string_equal(json_string_value(json_object_get(m3, "method")),
                        "notifications/initialized");
    assert_null(
        json_object_get(json_object_get(json_object_get(m3, "params"), "_meta"), "traceparent"));
    assert_string_equal(rcv.tparents[2], "");
    assert_null(
        json_object_get(json_object_get(json_object_get(m4, "params"), "_meta"), "traceparent"));
    assert_string_equal(rcv.tparents[3], "");
    json_decref(m1);
    json_decref(m2);
    json_decref(m3);
    json_decref(m4);
    wdn_mcp_client_free(c);
    receiver_stop(&rcv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_method_spans),
        cmocka_unit_test(test_rate_zero),
        cmocka_unit_test(test_from_env),
        cmocka_unit_test(test_client_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
