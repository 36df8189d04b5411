/* What every libFuzzer target here shares: the entry point's prototype and CHECK, which aborts
 * (a finding) when an invariant of the code under test does not hold. */
#ifndef WDN_FUZZ_H
#define WDN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#endif
