/* Incremental server-sent events parser (WHATWG event-stream format), shared by the client. */
#ifndef WDN_MCP_SSE_H
#define WDN_MCP_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

/**
 * Called once per dispatched event. event is the type ("message" when unnamed), data the
 * joined data lines (NUL-terminated, len bytes, borrowed for the call), id the last event id
 * ("" when none). Return 0 to go on, non-zero to stop parsing (wdn__sse_feed returns it).
 */
typedef int (*wdn__sse_event_fn)(void *ud, const char *event, const char *data, size_t len,
                                 const char *id);

/** Caller-allocated parser state; buffers are owned by the parser. */
struct wdn__sse_parser {
    struct wdn_buf line; /* the current, unfinished line */
    struct wdn_buf data; /* data lines of the current event */
    char event[64];
    char id[256];
    bool data_seen;
    bool last_cr;           /* the previous chunk ended in CR: a leading LF belongs to it */
    bool bom_done;          /* a UTF-8 BOM at the very start is skipped once */
    unsigned char bom_seen; /* bytes of that BOM seen so far (it may come in pieces) */
    long retry_ms;          /* the last "retry:" field (ASCII digits only), -1 when none came */
};

/** Prepares an empty parser; events may be up to max_event bytes. */
void wdn__sse_init(struct wdn__sse_parser *p, size_t max_event);
/** Frees the buffers. */
void wdn__sse_reset(struct wdn__sse_parser *p);
/**
 * Feeds n bytes. 0 when all were consumed, WDN_ELIMIT when a line or event exceeds the
 * maximum, or the callback's non-zero value when it asked to stop.
 */
int wdn__sse_feed(struct wdn__sse_parser *p, const char *buf, size_t n, wdn__sse_event_fn fn,
                  void *ud);

#endif
