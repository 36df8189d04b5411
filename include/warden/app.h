/* Hosting an app with libwarden: a small HTTP/1.1 server whose routes run handlers that may
 * block, the MCP endpoint of a struct wdn_mcp_server on it, and a blocking HTTP(S) client for
 * handlers that call other services (a Dapr sidecar, an API). */
#ifndef WARDEN_APP_H
#define WARDEN_APP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "warden/error.h"
#include "warden/mcp.h"

/*
 * Conventions as in warden/mcp.h: 0 or a negative WDN_E* code (warden/error.h). Strings given
 * to wdn_app_* are copied unless said otherwise.
 */

struct wdn_app;
struct wdn_app_req;

/**
 * A route handler. Runs on a thread of libuv's pool, so it may block (call wdn_app_fetch, an
 * MCP client). Answer with wdn_app_respond or wdn_app_respond_json; the answer goes out when
 * the handler returns. A handler that answers nothing gets 500 (and so does a negative return
 * when nothing was answered). req is valid until the handler returns.
 */
typedef int (*wdn_app_fn)(struct wdn_app_req *req, void *ud);

/** Called for every request before routing (on the HTTP thread: must not block). */
typedef void (*wdn_app_log_fn)(void *ud, const char *method, const char *path);

struct wdn_app_config {
    const char *host;          /* address to listen on; NULL: "127.0.0.1" */
    int port;                  /* 0: any free port (wdn_app_port tells which) */
    int workers;               /* HTTP worker threads; 0: 1 */
    size_t max_body;           /* largest request body a route accepts (413 beyond); 0: 1 MiB */
    wdn_app_log_fn on_request; /* optional, e.g. an access log line */
    void *ud;
};

/** A new app, not yet listening, or NULL (no memory, bad config). Free with wdn_app_free. */
struct wdn_app *wdn_app_new(const struct wdn_app_config *cfg);

/**
 * Adds a route: requests whose path (without the query) equals path (NULL: any path, a
 * fallback to add last) and whose method equals method (NULL: any method) go to fn. Routes are
 * tried in the order added, after the MCP endpoint; a request no route takes gets 404. Before
 * wdn_app_start only. WDN_ELIMIT beyond 32 routes.
 */
int wdn_app_route(struct wdn_app *app, const char *method, const char *path, wdn_app_fn fn,
                  void *ud);

/**
 * Serves srv (borrowed; it must outlive the app) at path with Streamable HTTP. run_inline:
 * the MCP core and its handlers run on the HTTP thread (only for handlers that never block);
 * otherwise they run on libuv's pool. Before wdn_app_start only; at most one endpoint.
 */
int wdn_app_mcp(struct wdn_app *app, const char *path, struct wdn_mcp_server *srv, bool run_inline);

/** Listens and starts the workers. WDN_EEXISTS when the address is in use, WDN_EINVAL. */
int wdn_app_start(struct wdn_app *app);

/** The port listened on (after wdn_app_start), else -1. */
int wdn_app_port(const struct wdn_app *app);

/**
 * Graceful stop, from any thread: no new connections, requests in flight finish (within 2 s).
 * Returns at once; wdn_app_free waits for the workers.
 */
void wdn_app_stop(struct wdn_app *app);

/** Stops (if running), waits for every worker and frees the app. NULL is fine. */
void wdn_app_free(struct wdn_app *app);

/* ---- In a route handler ------------------------------------------------------------------ */

/** The request method ("GET", "POST" ...), borrowed. */
const char *wdn_app_req_method(const struct wdn_app_req *req);
/** The path, without the query, borrowed. */
const char *wdn_app_req_path(const struct wdn_app_req *req);
/** The first header of that name (case-insensitive) as a NUL-terminated copy, or NULL. */
const char *wdn_app_req_header(struct wdn_app_req *req, const char *name);
/** The whole body (NUL-terminated; *len its length, may be NULL). "" when there is none. */
const char *wdn_app_req_body(const struct wdn_app_req *req, size_t *len);

/**
 * Sets the answer: status, Content-Type (NULL: none) and body (copied; body may be NULL when
 * len is 0). A second call replaces the first. 0 or WDN_ENOMEM.
 */
int wdn_app_respond(struct wdn_app_req *req, int status, const char *content_type, const char *body,
                    size_t len);
/** Sets a JSON answer (doc borrowed), Content-Type application/json. */
int wdn_app_respond_json(struct wdn_app_req *req, int status, const json_t *doc);

/* ---- Calling out -------------------------------------------------------------------------- */

/** An outbound request; every pointer borrowed for the call. `{.url = u}` is a GET. */
struct wdn_app_fetch {
    const char *method;         /* NULL: "GET" */
    const char *url;            /* http:// or https://; redirects are never followed */
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
    const char *body;           /* NULL: none */
    size_t body_len;
    long timeout_ms; /* whole exchange; 0: 30 s */
};

/** What came back; wdn_app_fetch_reset frees it. */
struct wdn_app_response {
    long status; /* 0 when no answer arrived */
    char *body;  /* NUL-terminated, owned; NULL when there was no answer */
    size_t body_len;
};

/**
 * Performs the request (blocking; HTTPS trusts the system's CAs and $WARDEN_CA_FILE). 0 when an
 * answer arrived, whatever its status; else WDN_ECONNREFUSED, WDN_ETIMEOUT, WDN_EDNS, WDN_ETLS,
 * WDN_EINVAL (bad URL or header), WDN_ELIMIT (answer over 4 MiB) ... with a message in err
 * (may be NULL). resp is initialised in every case.
 */
int wdn_app_fetch(const struct wdn_app_fetch *req, struct wdn_app_response *resp, char *err,
                  size_t errcap);
/** Frees what wdn_app_fetch returned. */
void wdn_app_fetch_reset(struct wdn_app_response *resp);

#endif
