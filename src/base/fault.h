/* Fault injection for tests (curl's torture mode is the model): a test arms "fail the Nth call
 * at site class X", runs the code under test, and checks that the failure came out as a clean
 * refusal (the right error, nothing leaked). Compiled in only when CMake's WDN_FAULT option is on
 * (the asan and coverage presets); in every other build WDN_FAULT() is the constant 0, so a call
 * site costs nothing and the compiler drops the branch.
 *
 * A call site wraps the real call: when the fault fires the call is not made and the site sees
 * the value the call returns on failure, so the caller's own error branch runs:
 *     t = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(1, sizeof(*t)));
 *     if (WDN_FAULT_OR(WDN_FAULT_CRYPTO, 0, EVP_DigestInit_ex2(c, md, NULL)) <= 0) goto fail;
 *
 * A test sweeps every site a function reaches:
 *     for (unsigned n = 1;; n++) {
 *         wdn_fault_arm(WDN_FAULT_CRYPTO, n);
 *         rc = code_under_test();
 *         if (!wdn_fault_fired()) break;        // n is past the last site: the clean run
 *         assert_int_equal(rc, WDN_ECRYPTO);    // each failure refused, not ignored
 *     }
 *     wdn_fault_disarm();
 * The counters are process-wide (atomic), so a fault armed by a test can fire on a worker
 * thread of the code under test. */
#ifndef WDN_BASE_FAULT_H
#define WDN_BASE_FAULT_H

#include <stdbool.h>

/** Classes of call sites. A test arms one class at a time. */
enum wdn_fault_site {
    WDN_FAULT_ALLOC,  /* our own malloc/calloc/realloc calls */
    WDN_FAULT_CRYPTO, /* OpenSSL calls that can fail internally (context new/init, digest) */
    WDN_FAULT_ARENA,  /* wdn_arena_alloc (base/arena.c): a request's allocations, as when its
                         arena reaches its limit; a class of its own, so that the ALLOC sweeps
                         count what they always counted */
    WDN_FAULT_SITE_COUNT
};

/* Declared in every build, though fault.c is built only with WDN_FAULT (only tests call these
 * directly), so that tools reading fault.c without that build's flags (make lint) see them. */

/** Fails the nth call (1 = the next one) at a site of class `site` from now on, once; any other
 * armed class is disarmed, and the fired flag and call count are cleared. */
void wdn_fault_arm(enum wdn_fault_site site, unsigned nth);

/** Disarms every class; later calls succeed. */
void wdn_fault_disarm(void);

/** True once the armed fault has fired (since the last wdn_fault_arm). */
bool wdn_fault_fired(void);

/** Calls counted at the armed class since the last wdn_fault_arm (fired or not). */
unsigned wdn_fault_calls(void);

/** The hook a call site asks: true when this call must fail. Use WDN_FAULT(). */
bool wdn__fault_hit(enum wdn_fault_site site);

#ifdef WDN_FAULT_INJECTION

#define WDN_FAULT(site) wdn__fault_hit(site)

#else

#define WDN_FAULT(site) 0

#endif

/** `call`, or `fail` without making the call when the armed fault fires at this site. */
#define WDN_FAULT_OR(site, fail, call) (WDN_FAULT(site) ? (fail) : (call))

#endif
