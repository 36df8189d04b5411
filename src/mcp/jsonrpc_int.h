/* Internal to the MCP SDK: the compact JSON writer the server's answers go out through. */
#ifndef WDN_MCP_JSONRPC_INT_H
#define WDN_MCP_JSONRPC_INT_H

#include <jansson.h>

#include "base/buf.h"

/*
 * Appends v as compact JSON to b: the same JSON value as json_dumpb(v, JSON_COMPACT) gives (the
 * key order of objects kept; strings escaped by wdn_json_str_write, so a control byte may be
 * spelled \u000a where jansson writes \n; reals formatted by jansson itself), without jansson's
 * cycle check, which formats and hashes a "%p" key for every object and array it writes: most of
 * what dumping a small answer cost (docs/benchmarks/mcp.md). Nesting deeper than
 * WDN_MCP_ANSWER_MAX_DEPTH (which also ends a cycle) is refused. 0, WDN_ELIMIT (too deep, or
 * over b's max) or WDN_ENOMEM; b then holds a partial text the caller drops.
 */
int wdn__mcp_json_write(struct wdn_buf *b, const json_t *v);

#endif
