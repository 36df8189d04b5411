/* Tracing for apps built on libwarden: a tracer exports spans over OTLP/HTTP (protobuf) to any
 * OpenTelemetry receiver. Give one to an MCP server (wdn_mcp_server_set_tracer) and every
 * JSON-RPC method it handles becomes a span, continuing the caller's trace from the request's
 * params._meta.traceparent (SEP-414) or, without one, from its HTTP traceparent header. */
#ifndef WARDEN_TRACE_H
#define WARDEN_TRACE_H

#include "warden/error.h"

/** What a tracer needs. Strings are copied. */
struct wdn_tracer_config {
    const char *endpoint;     /* OTLP/HTTP base URL ("http://127.0.0.1:4318", "/v1/traces" is
                                 added) or the full traces URL (a path other than "/") */
    const char *service_name; /* the spans' service.name, e.g. the app ID */
    double sampling_rate;     /* 0..1: the share of new traces recorded; a trace whose caller
                                 recorded it (sampled flag) is always recorded */
    const char *ca_file;      /* https: CA bundle to trust besides the system's; may be NULL */
};

struct wdn_tracer;

/** A tracer with its export thread, or NULL (missing endpoint or service name, a bad URL,
 * out of memory). Free with wdn_tracer_free. */
struct wdn_tracer *wdn_tracer_new(const struct wdn_tracer_config *cfg);

/**
 * A tracer from the OpenTelemetry environment variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 * (the traces URL as is) or OTEL_EXPORTER_OTLP_ENDPOINT (a base URL); OTEL_SERVICE_NAME (else
 * service_name); OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (always_on, always_off,
 * traceidratio and their parentbased_ forms; default: always on). NULL when no endpoint is set
 * (tracing off) or the settings are unusable.
 */
struct wdn_tracer *wdn_tracer_from_env(const char *service_name);

/** Waits up to timeout_ms until every span finished so far was sent. 0 or WDN_ETIMEOUT. */
int wdn_tracer_flush(struct wdn_tracer *t, unsigned timeout_ms);

/** Sends what is queued (briefly), stops the export thread and frees. NULL is fine. */
void wdn_tracer_free(struct wdn_tracer *t);

#endif
