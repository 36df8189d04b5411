/* Plumbing shared by the example apps, on libwarden's public API only (include/warden): the
 * port, the environment, an access log, serving until SIGINT or SIGTERM. */
#ifndef WDN_EXAMPLE_APP_H
#define WDN_EXAMPLE_APP_H

#include "warden/app.h"

/** The port from `--port N` or `-p N`, else $APP_PORT, else def. -1 when a value is invalid. */
int app_port(int argc, char **argv, int def);

/** The value of $name, or def when unset or empty. */
const char *app_env(const char *name, const char *def);

/**
 * A new app on 127.0.0.1:port that logs "<name>: METHOD PATH" to stderr for every request (so
 * a test can see whether a request reached the app at all), or NULL after printing why.
 * $APP_WORKERS sets the HTTP worker threads (default 1).
 */
struct wdn_app *app_new(const char *name, int port);

/**
 * Starts app, prints "<name> listening on http://127.0.0.1:<port>" to stderr, serves until
 * SIGINT or SIGTERM, then stops gracefully and frees the app. Returns the exit status.
 */
int app_run(const char *name, struct wdn_app *app);

#endif
