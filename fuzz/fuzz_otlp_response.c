/* libFuzzer target: the OTLP receiver's answer to an export (ExportTraceServiceResponse in
 * protobuf), which the span exporter reads from whatever otel.endpointAddress names.
 * Invariants: the reader never reads past its input, a refused answer leaves the count at 0,
 * and whatever it accepts gives the same count when read again. */
#include <stdint.h>

#include "fuzz.h"
#include "trace/span.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t n = 1, again = 2;

    if (wdn_otlp_parse_response(data, size, &n) != 0) {
        CHECK(n == 0);
        return 0;
    }
    CHECK(wdn_otlp_parse_response(data, size, &again) == 0);
    CHECK(n == again);
    CHECK((int64_t)n >= 0);
    return 0;
}
