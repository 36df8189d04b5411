/* Writing a jansson value out as text, with no silent loss under memory pressure. */
#ifndef WDN_BASE_JSON_DUMP_H
#define WDN_BASE_JSON_DUMP_H

#include <stddef.h>

#include <jansson.h>

/**
 * json_dumps(o, flags), or NULL when it cannot say exactly o. jansson 2.14's dumper ignores a
 * failed append of an object key and still returns the text (dump.c ignores dump_string's
 * result), so when an allocation fails it returns the text with a key missing: in
 * test_base_json_dump's sweep, `..."sub":"c",":1893456000,...` where an expiry's key was (JSON a
 * strict reader refuses, and nothing promises every such text is malformed). This one writes
 * with json_dumpb (a size pass, then into a buffer of that size), which cannot lose a key; NULL
 * when out of memory. Caller frees. Use it for every text that is
 * stored, signed or sent.
 */
char *wdn_json_dumps(const json_t *o, size_t flags);

#endif
