/* The redirect listener of a native OAuth client (RFC 8252 section 7.3): an HTTP listener on a
 * loopback address that receives the authorization response from the user's browser. */
#ifndef WDN_OAUTH2_LOOPBACK_H
#define WDN_OAUTH2_LOOPBACK_H

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"

struct wdn_oauth2_loopback;

/**
 * True when uri is a loopback redirect URI this listener can serve: http (not https), host
 * 127.0.0.1 (or another 127/8 address), [::1] or localhost, no fragment, no user info.
 */
bool wdn_oauth2_redirect_ok(const char *uri);

/**
 * Listens for redirect_uri (port 0 or none: a free port) on its loopback address, on a thread of
 * its own. actual (cap bytes) receives the URI with the port bound, to send as redirect_uri.
 * 0, or WDN_EINVAL (not a loopback redirect URI), WDN_EIO (cannot bind) with d set.
 */
int wdn_oauth2_loopback_start(const char *redirect_uri, struct wdn_oauth2_loopback **out,
                              char *actual, size_t cap, struct wdn_diag *d);

/**
 * Waits up to timeout_ms for the browser to reach the redirect URI's path. *query receives the
 * request's query string (malloc'd, caller frees; "" when none). Requests for other paths get
 * 404 and are not counted. The browser is answered with a short page saying to go back to the
 * terminal. 0, WDN_ETIMEOUT, WDN_ECANCELED (stop became true).
 */
int wdn_oauth2_loopback_wait(struct wdn_oauth2_loopback *l, long timeout_ms, char **query,
                             struct wdn_diag *d);

/** Stops listening and frees l. NULL is fine. */
void wdn_oauth2_loopback_free(struct wdn_oauth2_loopback *l);

#endif
