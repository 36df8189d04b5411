/* Fault injection for tests (fault.h): one armed site class, a countdown to the call that fails,
 * process-wide and atomic so that a fault armed on the test's thread can fire on a worker. Only
 * built with WDN_FAULT (CMake), which the asan and coverage presets turn on. */
#include "base/fault.h"

#include <stdatomic.h>

static atomic_int armed = -1; /* the armed site class, -1 = none */
static atomic_uint countdown; /* calls left before the one that fails */
static atomic_uint calls;     /* calls counted at the armed class */
static atomic_bool fired;

void wdn_fault_arm(enum wdn_fault_site site, unsigned nth)
{
    atomic_store(&armed, -1);
    atomic_store(&calls, 0);
    atomic_store(&fired, false);
    atomic_store(&countdown, nth);
    atomic_store(&armed, (int)site);
}

void wdn_fault_disarm(void)
{
    atomic_store(&armed, -1);
}

bool wdn_fault_fired(void)
{
    return atomic_load(&fired);
}

unsigned wdn_fault_calls(void)
{
    return atomic_load(&calls);
}

bool wdn__fault_hit(enum wdn_fault_site site)
{
    unsigned left;

    if (atomic_load_explicit(&armed, memory_order_relaxed) != (int)site)
        return false;
    atomic_fetch_add(&calls, 1);
    left = atomic_load(&countdown);
    /* Only the call that takes the countdown from 1 to 0 fails; later ones find it at 0. */
    while (left > 0) {
        if (atomic_compare_exchange_weak(&countdown, &left, left - 1)) {
            if (left == 1) {
                atomic_store(&fired, true);
                return true;
            }
            return false;
        }
    }
    return false;
}
