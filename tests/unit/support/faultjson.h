/* Test helper: jansson allocates through the fault hook (src/base/fault.h), so that a test armed
 * with WDN_FAULT_ALLOC also fails jansson's allocations (json_object(), json_dumps(), parsing) in
 * turn. Only in builds with WDN_FAULT (the asan and coverage presets). */
#ifndef WDN_TEST_FAULTJSON_H
#define WDN_TEST_FAULTJSON_H

/** Routes jansson's malloc through WDN_FAULT_ALLOC (free stays free(), so objects made before
 * stay valid). Call once, before the sweeps. */
void tf_json_faults(void);

#endif
