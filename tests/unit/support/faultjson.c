/* jansson's allocations routed through the fault hook (faultjson.h). */
#include "faultjson.h"

#include <stdlib.h>

#include <jansson.h>

#include "base/fault.h"

static void *fault_malloc(size_t n)
{
    return WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, malloc(n));
}

void tf_json_faults(void)
{
    json_set_alloc_funcs(fault_malloc, free);
}
