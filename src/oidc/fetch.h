/* Internal to src/oidc: one blocking HTTPS GET with libcurl, for the key-refresh thread only. */
#ifndef WDN_OIDC_FETCH_H
#define WDN_OIDC_FETCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/diag.h"

struct wdn__oidc_fetch {
    long status;        /* HTTP status, 0 when no response */
    struct wdn_buf body;
    int64_t max_age;    /* from Cache-Control, -1 when absent */
};

/** Initialises the libcurl library once per process (thread-safe). */
void wdn__oidc_curl_init(void);

/**
 * GETs an https URL (no redirects, no other protocols) with a total timeout, a body limit
 * of max_bytes and an abort flag checked during the transfer. ca_file NULL means the system
 * store. out->body must be initialised by the caller. 0 when a response arrived (any status),
 * else WDN_E* with d filled.
 */
int wdn__oidc_fetch(const char *url, const char *ca_file, unsigned timeout_ms, size_t max_bytes,
                    atomic_bool *stop, struct wdn__oidc_fetch *out, struct wdn_diag *d);

#endif
