/* Sends a fixed set of spans through warden's exporter to the URL given, for the OTLP receiver
 * built on the OpenTelemetry project's packages (receiver.mjs) to check: a root SERVER span with
 * string and integer attributes (escapes, non-ASCII, invalid UTF-8), a CLIENT child with ERROR
 * status, and an INTERNAL grandchild. Prints the trace ID. Usage: emit_spans URL */
#include <stdio.h>

#include "trace/span.h"

int main(int argc, char **argv)
{
    struct wdn_trace_exporter_opts o = {.url = argc > 1 ? argv[1] : NULL,
                                        .service_name = "emit-spans"};
    struct wdn_trace_exporter *e;
    struct wdn_trace_stats st;
    struct wdn_trace_ctx root, child, grand;
    struct wdn_span s[3];
    char hex[33];

    if (o.url == NULL || wdn_trace_exporter_new(&o, &e, NULL) != 0) {
        fprintf(stderr, "usage: emit_spans URL\n");
        return 2;
    }
    wdn_trace_ctx_child(NULL, 1, &root);
    wdn_trace_ctx_child(&root, 1, &child);
    wdn_trace_ctx_child(&child, 1, &grand);
    wdn_span_start(&s[0], &root, NULL, WDN_SPAN_SERVER, "ingress");
    wdn_span_attr_str(&s[0], "http.request.method", WDN_STR("POST"));
    wdn_span_attr_str(&s[0], "url.path",
                      WDN_STR("/v1.0/invoke/caf\xc3\xa9/method/\"q\"\\\x01\xff"));
    wdn_span_attr_int(&s[0], "http.response.status_code", 200);
    wdn_span_start(&s[1], &child, root.span_id, WDN_SPAN_CLIENT, "forward");
    wdn_span_attr_int(&s[1], "big", 9007199254740991LL);
    wdn_span_start(&s[2], &grand, child.span_id, WDN_SPAN_INTERNAL, "tool_policy");
    wdn_span_end(&s[2], WDN_SPAN_OK);
    wdn_span_end(&s[1], WDN_SPAN_ERROR);
    wdn_span_end(&s[0], WDN_SPAN_UNSET);
    wdn_trace_exporter_submit(e, s, 3);
    int rc = wdn_trace_exporter_flush(e, 30000);
    wdn_trace_exporter_stats(e, &st);
    wdn_trace_exporter_free(e);
    wdn_hex_encode(root.trace_id, 16, hex);
    printf("%s exported=%llu failed=%llu\n", hex, (unsigned long long)st.exported,
           (unsigned long long)st.failed_spans);
    return rc == 0 && st.exported == 3 ? 0 : 1;
}
