/* Thin wrappers over clock_gettime so tests and callers share one notion of time. */
#include "base/clock.h"

#include <time.h>

uint64_t wdn_clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t wdn_clock_mono_ms(void)
{
    return wdn_clock_mono_ns() / 1000000u;
}

int64_t wdn_clock_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}
