/* Unit tests for src/trace/span.c and exporter.c: spans filled in place, the OTLP JSON they
 * encode to, the endpoint URL, and the exporter against a local receiver: batches, failures
 * counted, a full queue dropping instead of blocking, a stalled receiver. */
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
#include "receiver.h"
#include "trace/span.h"
#include "../support/testnet.h"

static void make_span(struct wdn_span *s, const struct wdn_trace_ctx *parent, const char *name)
{
    struct wdn_trace_ctx c;
    wdn_trace_ctx_child(parent, 1, &c);
    wdn_span_start(s, &c, parent ? parent->span_id : NULL, WDN_SPAN_INTERNAL, name);
}

static void test_span_fill(void **state)
{
    struct wdn_span s;
    char big[WDN_TRACE_ATTR_BYTES * 2];

    make_span(&s, NULL, "ingress");
    assert_int_equal(s.name_len, 7);
    wdn_span_attr_str(&s, "http.request.method", WDN_STR("POST"));
    wdn_span_attr_int(&s, "http.response.status_code", 200);
    wdn_span_end(&s, WDN_SPAN_OK);
    assert_true(s.end_ns >= s.start_ns);
    assert_int_equal(s.nattrs, 2);
    assert_memory_equal(s.text + s.attrs[0].off, "POST", 4);
    /* A value longer than the room left is cut, never past the buffer, never mid-UTF-8. */
    memset(big, 'x', sizeof(big));
    big[WDN_TRACE_ATTR_BYTES - 12] = '\xc3';
    big[WDN_TRACE_ATTR_BYTES - 11] = '\xa9';
    wdn_span_attr_str(&s, "big", (struct wdn_str){big, sizeof(big)});
    assert_int_equal(s.nattrs, 3);
    assert_true(s.used <= sizeof(s.text));
    assert_int_equal(s.attrs[2].len, WDN_TRACE_ATTR_BYTES - 12); /* stops before the lead byte */
    /* The byte left takes one more; then no room is left: strings are dropped, integers fit. */
    wdn_span_attr_str(&s, "fill", WDN_STR("yy"));
    assert_int_equal(s.nattrs, 4);
    assert_int_equal(s.attrs[3].len, 1);
    assert_int_equal(s.used, sizeof(s.text));
    wdn_span_attr_str(&s, "more", WDN_STR("x"));
    assert_int_equal(s.nattrs, 4);
    for (int i = 0; i < WDN_TRACE_MAX_ATTRS + 3; i++)
        wdn_span_attr_int(&s, "n", i);
    assert_int_equal(s.nattrs, WDN_TRACE_MAX_ATTRS);
}

static void test_otlp_encode(void **state)
{
    struct wdn_span s[2];
    struct wdn_buf b;
    json_error_t err;
    char hex[33];

    make_span(&s[0], NULL, "ingress");
    wdn_span_attr_str(&s[0], "url.path", WDN_STR("/v1.0/invoke/a\"b\\c\x01\xff"));
    wdn_span_end(&s[0], WDN_SPAN_ERROR);
    struct wdn_trace_ctx pc;
    memcpy(pc.trace_id, s[0].trace_id, 16);
    memcpy(pc.span_id, s[0].span_id, 8);
    pc.flags = 1;
    make_span(&s[1], &pc, "bearer");
    wdn_span_attr_int(&s[1], "http.response.status_code", 401);
    wdn_span_end(&s[1], WDN_SPAN_UNSET);

    wdn_buf_init(&b, 1 << 20);
    assert_int_equal(wdn_otlp_encode(&b, "mcp-server", "warden.sidecar", s, 2), 0);
    char *doc = otlp_pb_to_json((const unsigned char *)b.data, b.len);
    json_t *o = json_loads(doc, 0, &err);
    if (o == NULL)
        fail_msg("did not decode: %s: %s", err.text, doc);
    free(doc);
    json_t *rs = json_array_get(json_object_get(o, "resourceSpans"), 0);
    json_t *attr0 =
        json_array_get(json_object_get(json_object_get(rs, "resource"), "attributes"), 0);
    assert_string_equal(json_string_value(json_object_get(attr0, "key")), "service.name");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(attr0, "value"), "stringValue")),
        "mcp-server");
    json_t *ss = json_array_get(json_object_get(rs, "scopeSpans"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ss, "scope"), "name")),
                        "warden.sidecar");
    json_t *spans = json_object_get(ss, "spans");
    assert_int_equal(json_array_size(spans), 2);
    json_t *a = json_array_get(spans, 0), *c = json_array_get(spans, 1);
    wdn_hex_encode(s[0].trace_id, 16, hex);
    assert_string_equal(json_string_value(json_object_get(a, "traceId")), hex);
    assert_null(json_object_get(a, "parentSpanId")); /* a root span */
    assert_string_equal(json_string_value(json_object_get(c, "parentSpanId")),
                        json_string_value(json_object_get(a, "spanId")));
    assert_string_equal(json_string_value(json_object_get(a, "name")), "ingress");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "status"), "code")), 2);
    assert_int_equal(json_integer_value(json_object_get(c, "kind")), 1);
    /* Quotes, backslashes and control bytes go as they are; a byte that is not UTF-8 becomes
     * U+FFFD (protobuf strings must be UTF-8). */
    json_t *v = json_array_get(json_object_get(a, "attributes"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(v, "value"), "stringValue")),
        "/v1.0/invoke/a\"b\\c\x01\xef\xbf\xbd");
    json_t *iv = json_array_get(json_object_get(c, "attributes"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(iv, "value"), "intValue")), "401");
    char start[32];
    snprintf(start, sizeof(start), "%llu", (unsigned long long)s[0].start_ns);
    assert_string_equal(json_string_value(json_object_get(a, "startTimeUnixNano")), start);
    json_decref(o);
    wdn_buf_reset(&b);
}

static void test_otlp_url(void **state)
{
    char u[WDN_TRACE_MAX_URL_BYTES];

    assert_int_equal(wdn_otlp_url("localhost:4318", false, u, sizeof(u)), 0);
    assert_string_equal(u, "http://localhost:4318/v1/traces");
    assert_int_equal(wdn_otlp_url("otel.example.com:4318", true, u, sizeof(u)), 0);
    assert_string_equal(u, "https://otel.example.com:4318/v1/traces");
    assert_int_equal(wdn_otlp_url("http://127.0.0.1:4318/", true, u, sizeof(u)), 0);
    assert_string_equal(u, "http://127.0.0.1:4318/v1/traces");
    assert_int_equal(wdn_otlp_url("https://c.example/otlp/v1/traces", false, u, sizeof(u)), 0);
    assert_string_equal(u, "https://c.example/otlp/v1/traces");
    assert_int_equal(wdn_otlp_url("", false, u, sizeof(u)), WDN_EINVAL);
    assert_int_equal(wdn_otlp_url("grpc://x:4317", false, u, sizeof(u)), WDN_EINVAL);
    assert_int_equal(wdn_otlp_url("user@x:4318", false, u, sizeof(u)), WDN_EINVAL);
    assert_int_equal(wdn_otlp_url("x:4318/?a=b", false, u, sizeof(u)), WDN_EINVAL);
    assert_int_equal(wdn_otlp_url("x 4318", false, u, sizeof(u)), WDN_EINVAL);
    assert_int_equal(wdn_otlp_url("http://", false, u, sizeof(u)), WDN_EINVAL);
    assert_int_equal(wdn_otlp_url("localhost:4318", false, u, 10), WDN_ELIMIT);
}

/* The receiver's ExportTraceServiceResponse: partial_success.rejected_spans, whatever else it
 * holds; anything that is not protobuf is refused. */
static void test_otlp_response(void **state)
{
    uint64_t n = 99;

    assert_int_equal(wdn_otlp_parse_response("", 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(wdn_otlp_parse_response("\x0a\x06\x08\x03\x12\x02no", 8, &n), 0);
    assert_int_equal(n, 3);
    /* An unknown field before it (varint 7, fixed64, fixed32) is stepped over. */
    static const char other[] = "\x10\x07\x19"
                                "abcdefgh"
                                "\x25"
                                "abcd"
                                "\x0a\x03\x08\xac\x02";
    assert_int_equal(wdn_otlp_parse_response(other, sizeof(other) - 1, &n), 0);
    assert_int_equal(n, 300);
    /* A negative count (int64 -1: ten bytes) rejects nothing. */
    static const char neg[] = "\x0a\x0b\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
    assert_int_equal(wdn_otlp_parse_response(neg, sizeof(neg) - 1, &n), 0);
    assert_int_equal(n, 0);
    /* JSON, a length past the end, a varint cut short, a group. */
    assert_int_equal(wdn_otlp_parse_response("{}", 2, &n), WDN_EPARSE);
    assert_int_equal(wdn_otlp_parse_response("\x0a\x05\x08\x03", 4, &n), WDN_EPARSE);
    assert_int_equal(wdn_otlp_parse_response("\x0a\x02\x08\x83", 4, &n), WDN_EPARSE);
    assert_int_equal(wdn_otlp_parse_response("\x0b", 1, &n), WDN_EPARSE);
}

static int count_spans(const char *body)
{
    json_t *o = json_loads(body, 0, NULL);
    json_t *rs = json_array_get(json_object_get(o, "resourceSpans"), 0);
    int n = (int)json_array_size(
        json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans"));
    json_decref(o);
    return n;
}

static void url_of(const struct receiver *r, char *u, size_t cap)
{
    snprintf(u, cap, "http://127.0.0.1:%d/v1/traces", r->port);
}

static void test_exporter_batches(void **state)
{
    struct receiver r;
    struct wdn_trace_exporter *e;
    struct wdn_trace_stats st;
    struct wdn_span s[10];
    char url[128];

    assert_int_equal(receiver_start(&r), 0);
    url_of(&r, url, sizeof(url));
    struct wdn_trace_exporter_opts o = {
        .url = url, .service_name = "svc", .batch_max = 3, .flush_ms = 60000};
    assert_int_equal(wdn_trace_exporter_new(&o, &e, NULL), 0);
    for (int i = 0; i < 10; i++) {
        make_span(&s[i], NULL, "x");
        wdn_span_end(&s[i], WDN_SPAN_OK);
    }
    wdn_trace_exporter_submit(e, s, 10);
    assert_int_equal(wdn_trace_exporter_flush(e, 30000), 0);
    wdn_trace_exporter_stats(e, &st);
    assert_int_equal(st.submitted, 10);
    assert_int_equal(st.exported, 10);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.failed_exports, 0);
    /* Batches of at most 3, every span once, on the OTLP path in protobuf. */
    int total = 0;
    for (size_t i = 0; i < receiver_count(&r); i++) {
        int n = count_spans(r.bodies[i]);
        assert_in_range(n, 1, 3);
        total += n;
        assert_string_equal(r.paths[i], "/v1/traces");
        assert_string_equal(r.ctypes[i], "application/x-protobuf");
    }
    assert_int_equal(total, 10);
    assert_true(receiver_count(&r) >= 4);
    wdn_trace_exporter_free(e);
    receiver_stop(&r);
}

static void test_exporter_failures(void **state)
{
    struct receiver r;
    struct wdn_trace_exporter *e;
    struct wdn_trace_stats st;
    struct wdn_span s[4];
    char url[128];

    assert_int_equal(receiver_start(&r), 0);
    url_of(&r, url, sizeof(url));
    struct wdn_trace_exporter_opts o = {.url = url, .service_name = "svc", .flush_ms = 60000};
    assert_int_equal(wdn_trace_exporter_new(&o, &e, NULL), 0);
    for (int i = 0; i < 4; i++) {
        make_span(&s[i], NULL, "x");
        wdn_span_end(&s[i], WDN_SPAN_OK);
    }
    /* A 503 is a failed export of every span in it. */
    atomic_store(&r.status, 503);
    wdn_trace_exporter_submit(e, s, 4);
    assert_int_equal(wdn_trace_exporter_flush(e, 30000), 0);
    wdn_trace_exporter_stats(e, &st);
    assert_int_equal(st.failed_exports, 1);
    assert_int_equal(st.failed_spans, 4);
    assert_int_equal(st.exported, 0);
    assert_int_equal(st.last_status, 503);
    assert_int_equal(st.last_error, WDN_EHTTP_STATUS);
    /* A partial success counts the rejected spans as failed. */
    atomic_store(&r.status, 200);
    /* ExportTraceServiceResponse{partial_success{rejected_spans: 3, error_message: "no"}} */
    r.reply = "\x0a\x06\x08\x03\x12\x02no";
    wdn_trace_exporter_submit(e, s, 4);
    assert_int_equal(wdn_trace_exporter_flush(e, 30000), 0);
    wdn_trace_exporter_stats(e, &st);
    assert_int_equal(st.exported, 1);
    assert_int_equal(st.failed_spans, 7);
    wdn_trace_exporter_free(e);
    receiver_stop(&r);

    /* Nobody listening: a failed export, counted, nothing else. */
    int port = testnet_free_port();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces", port);
    assert_int_equal(wdn_trace_exporter_new(&o, &e, NULL), 0);
    wdn_trace_exporter_submit(e, s, 2);
    assert_int_equal(wdn_trace_exporter_flush(e, 30000), 0);
    wdn_trace_exporter_stats(e, &st);
    assert_int_equal(st.failed_exports, 1);
    assert_int_equal(st.failed_spans, 2);
    assert_int_equal(st.last_error, WDN_ECONNREFUSED);
    wdn_trace_exporter_free(e);
}

/* One connection for every batch while the receiver keeps it; one per batch when it answers
 * "Connection: close"; a kept connection the receiver closes when the next request comes (an
 * idle timeout crossing it) costs no export: it goes again on a new connection. */
static void test_exporter_keep_alive(void **state)
{
    struct receiver r;
    struct wdn_trace_exporter *e;
    struct wdn_trace_stats st;
    struct wdn_span s[4];
    char url[128];

    assert_int_equal(receiver_start(&r), 0);
    atomic_store(&r.keep_alive, true);
    url_of(&r, url, sizeof(url));
    struct wdn_trace_exporter_opts o = {.url = url, .service_name = "svc", .flush_ms = 60000};
    assert_int_equal(wdn_trace_exporter_new(&o, &e, NULL), 0);
    for (int i = 0; i < 4; i++) {
        make_span(&s[i], NULL, "x");
        wdn_span_end(&s[i], WDN_SPAN_OK);
    }
    for (int i = 0; i < 3; i++) {
        wdn_trace_exporter_submit(e, s, 4);
        assert_int_equal(wdn_trace_exporter_flush(e, 30000), 0);
    }
    assert_int_equal(receiver_count(&r), 3);
    assert_int_equal(receiver_conns(&r), 1);
    /* "Connection: close": the kept connection serves one more, then one per export. */
    atomic_store(&r.keep_alive, false);
    for (int i = 0; i < 2; i++) {
        wdn_trace_exporter_submit(e, s, 4);
        assert_int_equal(wdn_trace_exporter_flush(e, 30000), 0);
    }
    assert_int_equal(receiver_count(&r), 5);
    assert_int_equal(receiver_conns(&r), 2);
    /* Kept, but closed unanswered when the next request comes on it. */
    atomic_store(&r.keep_alive, true);
    atomic_store(&r.close_kept, true);
    for (int i = 0; i < 3; i++) {
        wdn_trace_exporter_submit(e, s, 4);
        assert_int_equal(wdn_trace_exporter_flush(e, 30000), 0);
    }
    wdn_trace_exporter_stats(e, &st);
    assert_int_equal(st.exported, 32);
    assert_int_equal(st.failed_exports, 0);
    assert_int_equal(receiver_count(&r), 8);
    assert_int_equal(receiver_conns(&r), 5);
    for (size_t i = 0; i < receiver_count(&r); i++)
        assert_int_equal(count_spans(r.bodies[i]), 4);
    wdn_trace_exporter_free(e);
    receiver_stop(&r);
}

/* A receiver that never answers holds the exporter's thread; submitting goes on at once and
 * drops what does not fit. (Without the bounded queue this test would hang, not fail.) */
static void test_exporter_stalled_receiver(void **state)
{
    struct receiver r;
    struct wdn_trace_exporter *e;
    struct wdn_trace_stats st;
    struct wdn_span s;
    char url[128];

    assert_int_equal(receiver_start(&r), 0);
    atomic_store(&r.hang, true);
    url_of(&r, url, sizeof(url));
    struct wdn_trace_exporter_opts o = {.url = url,
                                        .service_name = "svc",
                                        .queue_cap = 64,
                                        .batch_max = 8,
                                        .flush_ms = 10,
                                        .timeout_ms = 60000};
    assert_int_equal(wdn_trace_exporter_new(&o, &e, NULL), 0);
    make_span(&s, NULL, "x");
    wdn_span_end(&s, WDN_SPAN_OK);
    wdn_trace_exporter_submit(e, &s, 1);
    assert_true(receiver_wait(&r, 1, 30000)); /* the thread is now stuck in that request */
    for (int i = 0; i < 1000; i++)
        wdn_trace_exporter_submit(e, &s, 1);
    wdn_trace_exporter_stats(e, &st);
    assert_int_equal(st.submitted + st.dropped, 1001);
    assert_true(st.dropped >= 1000 - 64);
    assert_int_equal(wdn_trace_exporter_flush(e, 50), WDN_ETIMEOUT);
    atomic_store(&r.hang, false);
    wdn_trace_exporter_free(e);
    receiver_stop(&r);
}

/* The queue keeps only the used part of each span (base/ring.c's own test covers its wrapping):
 * spans of every size, 0 to 10 attributes and up to ~500 bytes of text, go through a small queue
 * round after round and each arrives whole, its attributes and their text intact. */
static void test_exporter_packs_spans(void **state)
{
    struct receiver r;
    struct wdn_trace_exporter *e;
    struct wdn_trace_stats st;
    struct wdn_span s[5];
    char url[128], val[WDN_TRACE_ATTR_BYTES];
    int sent = 0;

    assert_int_equal(receiver_start(&r), 0);
    url_of(&r, url, sizeof(url));
    struct wdn_trace_exporter_opts o = {
        .url = url, .service_name = "svc", .queue_cap = 6, .batch_max = 6, .flush_ms = 60000};
    assert_int_equal(wdn_trace_exporter_new(&o, &e, NULL), 0);
    for (int round = 0; round < 12; round++) {
        for (int i = 0; i < 5; i++) {
            char name[16];
            snprintf(name, sizeof(name), "s%d", sent + i);
            make_span(&s[i], NULL, name);
            /* 0 to 9 attributes, strings of 0 to ~500 bytes, a number naming the span. */
            int k = (sent + i) % WDN_TRACE_MAX_ATTRS;
            for (int j = 0; j + 1 < k; j++) {
                size_t len = (size_t)((sent + i) * 37 + j * 11) % (WDN_TRACE_ATTR_BYTES / 8);
                memset(val, 'a' + j, len);
                wdn_span_attr_str(&s[i], "v", (struct wdn_str){val, len});
            }
            wdn_span_attr_int(&s[i], "n", sent + i);
            wdn_span_end(&s[i], WDN_SPAN_OK);
        }
        wdn_trace_exporter_submit(e, s, 5);
        assert_int_equal(wdn_trace_exporter_flush(e, 30000), 0);
        sent += 5;
    }
    wdn_trace_exporter_stats(e, &st);
    assert_int_equal(st.submitted, 60);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.exported, 60);
    int seen = 0;
    for (size_t b = 0; b < receiver_count(&r); b++) {
        json_t *o2 = json_loads(r.bodies[b], 0, NULL);
        json_t *rs = json_array_get(json_object_get(o2, "resourceSpans"), 0);
        json_t *spans =
            json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans");
        for (size_t i = 0; i < json_array_size(spans); i++) {
            json_t *sp = json_array_get(spans, i);
            json_t *attrs = json_object_get(sp, "attributes");
            size_t na = json_array_size(attrs);
            assert_true(na >= 1);
            json_t *last = json_object_get(json_array_get(attrs, na - 1), "value");
            int n = atoi(json_string_value(json_object_get(last, "intValue")));
            char name[16];
            snprintf(name, sizeof(name), "s%d", n);
            assert_string_equal(json_string_value(json_object_get(sp, "name")), name);
            int k = n % WDN_TRACE_MAX_ATTRS;
            assert_int_equal(na, k > 1 ? (size_t)k : 1);
            for (int j = 0; j + 1 < k; j++) {
                size_t len = (size_t)(n * 37 + j * 11) % (WDN_TRACE_ATTR_BYTES / 8);
                const char *v = json_string_value(json_object_get(
                    json_object_get(json_array_get(attrs, j), "value"), "stringValue"));
                assert_non_null(v);
                assert_int_equal(strlen(v), len);
                for (size_t c = 0; c < len; c++)
                    assert_int_equal(v[c], 'a' + j);
            }
            seen++;
        }
        json_decref(o2);
    }
    assert_int_equal(seen, 60);
    wdn_trace_exporter_free(e);
    receiver_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span_fill),
        cmocka_unit_test(test_otlp_encode),
        cmocka_unit_test(test_otlp_url),
        cmocka_unit_test(test_otlp_response),
        cmocka_unit_test(test_exporter_batches),
        cmocka_unit_test(test_exporter_failures),
        cmocka_unit_test(test_exporter_stalled_receiver),
        cmocka_unit_test(test_exporter_packs_spans),
        cmocka_unit_test(test_exporter_keep_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
