/* Spans and their export: a span is a fixed-size value filled on the request path without
 * allocation; an exporter copies the used part of finished spans into a bounded queue that drops
 * rather than blocks, and a thread of its own encodes them (OTLP protobuf) and sends them in
 * batches over OTLP/HTTP. See docs/tracing.md. */
#ifndef WDN_TRACE_SPAN_H
#define WDN_TRACE_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/limits.h"
#include "base/str.h"
#include "trace/context.h"

/** OTLP SpanKind values. */
enum wdn_span_kind { WDN_SPAN_INTERNAL = 1, WDN_SPAN_SERVER = 2, WDN_SPAN_CLIENT = 3 };
/** OTLP Status codes. */
enum wdn_span_status { WDN_SPAN_UNSET = 0, WDN_SPAN_OK = 1, WDN_SPAN_ERROR = 2 };

/** One attribute: a static key and an integer or a string kept in the span's text. */
struct wdn_span_attr {
    const char *key; /* a literal of plain ASCII without '"' or '\\': never copied nor escaped */
    int64_t ival;
    uint16_t off, len;
    bool is_int;
};

/** A span, filled in place (no allocation); its used part is copied into an exporter's queue. */
struct wdn_span {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_id[8]; /* all zeros: a root span */
    uint8_t kind, status, nattrs, flags;
    uint64_t start_ns, end_ns; /* Unix epoch nanoseconds */
    uint16_t name_len, used;   /* the name is text[0..name_len) */
    struct wdn_span_attr attrs[WDN_TRACE_MAX_ATTRS];
    char text[WDN_TRACE_ATTR_BYTES];
};

/** Wall-clock nanoseconds since the Unix epoch (span timestamps). */
uint64_t wdn_trace_now_ns(void);

/**
 * Starts span s (now) as ctx's span (ctx->span_id is the span's own ID) with parent_id as its
 * parent (NULL or all zeros: a root span). name is copied (cut to fit).
 */
void wdn_span_start(struct wdn_span *s, const struct wdn_trace_ctx *ctx, const uint8_t *parent_id,
                    enum wdn_span_kind kind, const char *name);
/** Adds a string attribute (copied; cut to what room is left; dropped when none is). */
void wdn_span_attr_str(struct wdn_span *s, const char *key, struct wdn_str v);
/** Adds an integer attribute (dropped when the span has WDN_TRACE_MAX_ATTRS already). */
void wdn_span_attr_int(struct wdn_span *s, const char *key, int64_t v);
/** Ends the span now with status. */
void wdn_span_end(struct wdn_span *s, enum wdn_span_status status);

/**
 * Appends an OTLP ExportTraceServiceRequest in protobuf (the OTLP/HTTP default encoding,
 * application/x-protobuf) for n spans of one service, recorded by the instrumentation scope
 * scope_name ("warden.sidecar"), to out. Strings that are not valid UTF-8 have U+FFFD for each
 * bad byte. 0 or WDN_ENOMEM.
 */
int wdn_otlp_encode(struct wdn_buf *out, const char *service_name, const char *scope_name,
                    const struct wdn_span *spans, size_t n);

/**
 * Reads an ExportTraceServiceResponse (protobuf): *rejected gets partial_success.rejected_spans
 * (0 when absent or negative). An empty body is a full success. 0 or WDN_EPARSE.
 */
int wdn_otlp_parse_response(const void *body, size_t len, uint64_t *rejected);

/**
 * The OTLP/HTTP traces URL for Dapr's otel.endpointAddress and otel.isSecure: "host:port"
 * becomes http(s)://host:port/v1/traces; a value with a scheme keeps it (isSecure is then
 * ignored) and gets /v1/traces when it has no path. 0, WDN_EINVAL (empty, spaces, user@,
 * query or fragment, or a scheme other than http/https) or WDN_ELIMIT.
 */
int wdn_otlp_url(const char *endpoint_address, bool is_secure, char *out, size_t cap);

/* ---- The exporter ------------------------------------------------------------------------- */

/** How to export. Pointers are borrowed for wdn_trace_exporter_new only. */
struct wdn_trace_exporter_opts {
    const char *url;          /* http(s)://.../v1/traces (wdn_otlp_url) */
    const char *service_name; /* resource service.name: the app ID */
    const char *scope_name;   /* instrumentation scope; NULL = "warden" */
    const char *ca_file;      /* for https; NULL = the system's */
    size_t queue_cap;         /* spans waiting; 0 = WDN_TRACE_QUEUE_DEFAULT */
    size_t batch_max;         /* spans per request; 0 = WDN_TRACE_BATCH_MAX */
    unsigned flush_ms;        /* a partial batch waits at most this; 0 = WDN_TRACE_FLUSH_MS */
    unsigned timeout_ms;      /* one request; 0 = WDN_TRACE_EXPORT_TIMEOUT_MS */
};

/** Counters since the exporter was made. */
struct wdn_trace_stats {
    uint64_t submitted;      /* spans taken into the queue */
    uint64_t dropped;        /* spans refused because the queue was full */
    uint64_t exported;       /* spans the receiver accepted */
    uint64_t failed_spans;   /* spans lost to failed requests or rejected by the receiver */
    uint64_t failed_exports; /* requests that failed (no answer, or a status other than 2xx) */
    int last_error;          /* WDN_E* of the last failure, 0 when none */
    long last_status;        /* HTTP status of the last failed request, 0 when none */
};

struct wdn_trace_exporter;

/** Starts the exporter's thread. *out is the caller's (wdn_trace_exporter_free). */
int wdn_trace_exporter_new(const struct wdn_trace_exporter_opts *opts,
                           struct wdn_trace_exporter **out, struct wdn_diag *d);

/**
 * Queues n finished spans (copied). Never blocks on I/O and never fails: spans that do not fit
 * are counted as dropped. Any thread.
 */
void wdn_trace_exporter_submit(struct wdn_trace_exporter *e, const struct wdn_span *spans,
                               size_t n);
/** As wdn_trace_exporter_submit, for spans that are not side by side: spans[i] points to each. */
void wdn_trace_exporter_submit_each(struct wdn_trace_exporter *e,
                                    const struct wdn_span *const *spans, size_t n);

/** Reads the counters (any thread). */
void wdn_trace_exporter_stats(struct wdn_trace_exporter *e, struct wdn_trace_stats *out);

/**
 * Asks for everything queued so far to be sent now and waits until it was (or failed), at most
 * timeout_ms. 0, or WDN_ETIMEOUT.
 */
int wdn_trace_exporter_flush(struct wdn_trace_exporter *e, unsigned timeout_ms);

/** Sends what is queued (one last try, bounded by the request timeout), stops the thread and
 * frees everything. NULL is fine. */
void wdn_trace_exporter_free(struct wdn_trace_exporter *e);

/* ---- The tracer (include/warden/trace.h): an exporter and a sampling rate ---------------- */

struct wdn_tracer;
struct wdn_tracer_config;

/** wdn_tracer_new with the instrumentation scope of the spans ("warden.sidecar"); the public
 * one names them "warden.mcp". */
struct wdn_tracer *wdn_tracer_new_scope(const struct wdn_tracer_config *cfg, const char *scope);
/** The rate for new traces (0 for a NULL tracer). */
double wdn_tracer_rate(const struct wdn_tracer *t);
/** Queues finished spans for export (as wdn_trace_exporter_submit); NULL: nothing. */
void wdn_tracer_submit(struct wdn_tracer *t, const struct wdn_span *spans, size_t n);
/** As wdn_tracer_submit, spans[i] pointing to each span. */
void wdn_tracer_submit_each(struct wdn_tracer *t, const struct wdn_span *const *spans, size_t n);
/** The exporter's counters (zeros for NULL). */
void wdn_tracer_stats(struct wdn_tracer *t, struct wdn_trace_stats *out);

#endif
