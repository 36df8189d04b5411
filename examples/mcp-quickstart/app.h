/* Plumbing shared by the quickstart apps: port selection, JSON answers, serving until a signal. */
#ifndef WDN_EXAMPLE_APP_H
#define WDN_EXAMPLE_APP_H

#include <jansson.h>
#include <stddef.h>

#include "http/server.h"

/** The port from `--port N` or `-p N`, else $APP_PORT, else def. -1 when a value is invalid. */
int app_port(int argc, char **argv, int def);

/** Answers with status and the JSON document (borrowed), Content-Type application/json. */
int app_respond_json(struct wdn_http_req *req, int status, const json_t *doc);

/** The value of $name, or def when unset or empty. */
const char *app_env(const char *name, const char *def);

/**
 * Serves the handler chain on 127.0.0.1:port with `workers` threads until SIGINT or SIGTERM,
 * then shuts down gracefully. Prints "<name> listening on http://127.0.0.1:<port>" to stderr.
 * Returns the process exit status.
 */
int app_serve(const char *name, struct wdn_http_handler *const *handlers, size_t n, int port,
              int workers);

#endif
