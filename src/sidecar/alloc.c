/* The sidecar's allocations at start and reload (its options, the configuration snapshot), each
 * a fault site (src/base/fault.h) so that the out-of-memory tests reach every refusal they lead
 * to (test_sidecar_faults). Calls no other file of src/sidecar. */
#include <stdlib.h>
#include <string.h>

#include "base/fault.h"
#include "sidecar/internal.h"

char *wdn__sc_strdup(const char *s)
{
    return s ? WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, strdup(s)) : NULL;
}

void *wdn__sc_calloc(size_t n, size_t size)
{
    return WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(n, size));
}
