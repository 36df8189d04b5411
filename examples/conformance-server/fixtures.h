/* The conformance server's fixtures for 2026-07-28 and its extensions (fixtures_2026.c). */
#ifndef WDN_CONFORMANCE_FIXTURES_H
#define WDN_CONFORMANCE_FIXTURES_H

#include "warden/mcp.h"

/** Registers the multi round-trip, tasks and stateless fixtures on srv. 0 or a WDN_E* code. */
int fixtures_2026_add(struct wdn_mcp_server *srv);

#endif
