/* Internal to src/oidc: one blocking HTTPS GET for the key-refresh thread, on http/fetch.h. */
#ifndef WDN_OIDC_FETCH_H
#define WDN_OIDC_FETCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/diag.h"

struct wdn__oidc_fetch {
    long status; /* HTTP status, 0 when no response */
    struct wdn_buf body;
    int64_t max_age; /* from Cache-Control, -1 when absent */
};

/**
 * GETs an https URL (no redirects, no other scheme) with a total timeout, a body limit of
 * max_bytes and an abort flag checked while waiting. ca_file NULL means the system store.
 * out->body must be initialised by the caller. 0 when a response arrived (any status), else
 * WDN_E* (WDN_ELIMIT over max_bytes, WDN_ETIMEOUT, WDN_ECANCELED when stop rose, WDN_ETLS...)
 * with d filled.
 */
int wdn__oidc_fetch(const char *url, const char *ca_file, unsigned timeout_ms, size_t max_bytes,
                    atomic_bool *stop, struct wdn__oidc_fetch *out, struct wdn_diag *d);

#endif
