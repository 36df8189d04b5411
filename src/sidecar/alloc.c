/* The sidecar's allocations at start and reload (its options, the configuration snapshot), each
 * a fault site (src/base/fault.h) so that the out-of-memory tests reach every refusal they lead
 * to (test_sidecar_faults), and the copies a request keeps in its arena (whose fault site is in
 * base/arena.c: test_sidecar_request_faults). Calls no other file of src/sidecar. */
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

char *wdn__sc_rq_strdup(struct wdn_http_req *req, const char *s)
{
    return wdn_arena_strdup(wdn_http_req_arena(req), wdn_str_from_cstr(s));
}
