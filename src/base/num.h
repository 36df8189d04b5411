/* JSON number checks without libm: floor() was the only reason our programs mapped libm.so,
 * which costs each process ~300 kB of RSS for two calls (docs/benchmarks/mcp.md). */
#ifndef WDN_BASE_NUM_H
#define WDN_BASE_NUM_H

#include <math.h> /* isfinite: a built-in, no libm call */
#include <stdbool.h>

/**
 * floor(3) for every double: NaN, infinities and values of magnitude 2^52 or more (which have
 * no fractional part) come back unchanged; -0.5 gives -1.0. Only the sign of a zero may differ
 * from floor(3) (-0.0 gives 0.0).
 */
static inline double wdn_floor(double d)
{
    double t;

    if (!(d > -4503599627370496.0 && d < 4503599627370496.0)) /* |d| >= 2^52, or NaN */
        return d;
    t = (double)(long long)d; /* exact here; truncates toward zero */
    return t > d ? t - 1.0 : t;
}

/** True when d is finite and has no fractional part (5.0 counts, 5.5 and NaN do not). */
static inline bool wdn_is_integral(double d)
{
    return isfinite(d) && wdn_floor(d) == d;
}

#endif
