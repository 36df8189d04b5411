/* W3C Trace Context (https://www.w3.org/TR/trace-context/): the traceparent and tracestate
 * values every sidecar creates or continues, the IDs in them, and the sampling decision. */
#ifndef WDN_TRACE_CONTEXT_H
#define WDN_TRACE_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

/** "00-" 32 hex "-" 16 hex "-" 2 hex: the length of a version 00 traceparent. */
#define WDN_TRACEPARENT_LEN 55
#define WDN_TRACE_FLAG_SAMPLED 0x01

/** One position in a trace: the trace, the span that is the parent of what comes next, flags. */
struct wdn_trace_ctx {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags; /* WDN_TRACE_FLAG_SAMPLED or not; other bits are kept as received */
};

/**
 * Parses a traceparent header value by the W3C rules: version 00 is exactly 55 characters;
 * a higher version (not ff) may be longer when a '-' follows the first 55 characters, which
 * are then read as version 00; lowercase hex only; neither ID all zeros. Surrounding spaces
 * and tabs are ignored. 0 and *out, or WDN_EPARSE (out untouched).
 */
int wdn_traceparent_parse(struct wdn_str s, struct wdn_trace_ctx *out);

/** Writes the version 00 traceparent of c and a NUL into out (WDN_TRACEPARENT_LEN + 1 bytes). */
void wdn_traceparent_format(const struct wdn_trace_ctx *c, char *out);

/**
 * True when s is a tracestate value that may be forwarded: at most WDN_TRACESTATE_MAX_BYTES,
 * at most WDN_TRACESTATE_MAX_MEMBERS list members, each key=value by the W3C grammar (simple
 * or tenant@system keys, values of printable ASCII without ',' and '='), no key twice. Empty
 * members (",,") are allowed, as the specification allows them.
 */
bool wdn_tracestate_valid(struct wdn_str s);

/**
 * Fills n bytes with random bits from a per-thread generator seeded once from the kernel
 * (trace and span IDs must be unique, not secret; no system call per ID). Never all zeros.
 */
void wdn_trace_random_id(uint8_t *out, size_t n);

/**
 * A new span's context: in parent's trace (may be NULL: a new trace ID) with a new span ID and
 * the sampled flag set by wdn_trace_should_sample (the parent's other flags are kept).
 */
void wdn_trace_ctx_child(const struct wdn_trace_ctx *parent, double rate,
                         struct wdn_trace_ctx *out);

/**
 * The sampling decision for a span in trace_id (Dapr's rule): a sampled parent is followed;
 * otherwise the trace ID decides, so that every sidecar with the same rate agrees: sampled
 * when the last 8 bytes of the ID, as a number shifted right once, fall below rate * 2^63.
 * rate <= 0 never samples, rate >= 1 always does.
 */
bool wdn_trace_should_sample(const uint8_t trace_id[16], bool parent_sampled, double rate);

/**
 * Parses a Dapr samplingRate string ("1", "0.5", "0", "1e-4"): a number in [0, 1].
 * 0 and *out, or WDN_EINVAL.
 */
int wdn_trace_parse_rate(const char *s, double *out);

#endif
