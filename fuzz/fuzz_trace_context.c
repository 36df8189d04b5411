/* libFuzzer target: W3C traceparent and tracestate (headers any caller or peer may send).
 * Input: a traceparent value, optionally a NUL byte, then a tracestate value. Invariants: an
 * accepted traceparent formats back to a value that parses to the same context, whose IDs are
 * not zero, and equals the input when that was a version 00 value without spaces; a
 * tracestate, accepted or not, never makes the check read past its input. */
#include <stdint.h>
#include <string.h>

#include "base/limits.h"
#include "fuzz.h"
#include "trace/context.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nul = memchr(p, '\0', size);
    size_t tp_len = nul ? (size_t)(nul - p) : size;
    struct wdn_trace_ctx c, back;
    char out[WDN_TRACEPARENT_LEN + 1];
    static const uint8_t zero[16];

    if (wdn_traceparent_parse((struct wdn_str){p, tp_len}, &c) == 0) {
        CHECK(memcmp(c.trace_id, zero, 16) != 0 && memcmp(c.span_id, zero, 8) != 0);
        wdn_traceparent_format(&c, out);
        CHECK(strlen(out) == WDN_TRACEPARENT_LEN);
        CHECK(wdn_traceparent_parse(wdn_str_from_cstr(out), &back) == 0);
        CHECK(memcmp(&back, &c, sizeof(c)) == 0);
        if (tp_len == WDN_TRACEPARENT_LEN && p[0] == '0' && p[1] == '0')
            CHECK(memcmp(out, p, WDN_TRACEPARENT_LEN) == 0);
    }
    if (nul) {
        struct wdn_str ts = {nul + 1, size - tp_len - 1};
        bool ok = wdn_tracestate_valid(ts);
        CHECK(!ok || ts.len <= WDN_TRACESTATE_MAX_BYTES);
    }
    return 0;
}
