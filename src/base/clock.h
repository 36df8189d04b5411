/* Clocks: monotonic time for timeouts and durations, wall time for token claims. */
#ifndef WDN_BASE_CLOCK_H
#define WDN_BASE_CLOCK_H

#include <stdint.h>

/** Monotonic milliseconds (CLOCK_MONOTONIC). */
uint64_t wdn_clock_mono_ms(void);
/** Monotonic nanoseconds, for latency measurements. */
uint64_t wdn_clock_mono_ns(void);
/** Wall-clock seconds since the Unix epoch (for exp/nbf/iat). */
int64_t wdn_clock_unix(void);

#endif
