/* Serves an MCP server core (include/warden/mcp.h) through the libuv HTTP server (src/http). */
#ifndef WDN_MCP_HTTP_ADAPTER_H
#define WDN_MCP_HTTP_ADAPTER_H

#include <stdbool.h>

#include "http/server.h"
#include "warden/mcp.h"

/**
 * A handler for the chain of wdn_http_server_config. Requests whose path is `path` go to the
 * MCP core (any path when path is NULL); others are declined. Caller-allocated; srv and path
 * are borrowed and must outlive the HTTP server.
 *
 * Threads: with run_inline false the core (and so every tool handler) runs on libuv's thread
 * pool, so handlers may block (a wdn_fetch call); with run_inline true it runs on the worker's
 * loop thread, which is faster for handlers that never block.
 */
struct wdn_mcp_http_handler {
    struct wdn_http_handler base; /* first: the server calls base.on_req */
    struct wdn_mcp_server *srv;
    const char *path;
    bool run_inline;
};

/** Fills h; returns &h->base for the handler chain. */
struct wdn_http_handler *wdn_mcp_http_handler_init(struct wdn_mcp_http_handler *h,
                                                   struct wdn_mcp_server *srv, const char *path,
                                                   bool run_inline);

#endif
