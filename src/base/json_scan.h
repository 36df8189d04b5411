/* A byte-level pre-check of JSON text, run before a parser that recurses (jansson) sees it. */
#ifndef WDN_BASE_JSON_SCAN_H
#define WDN_BASE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/**
 * True when no object or array in p[0..n) nests deeper than max (strings and escapes are
 * skipped; the text is not otherwise validated). Linear time, no allocation.
 */
bool wdn_json_depth_ok(const char *p, size_t n, int max);

#endif
