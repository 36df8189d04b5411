/* Blocking outbound HTTP(S) requests through libcurl, for calls that are not on the proxy data
 * path: token endpoints, discovery documents, JWKS. Callers run them off the event loop. */
#ifndef WDN_HTTP_FETCH_H
#define WDN_HTTP_FETCH_H

#include <stddef.h>

#include "base/buf.h"
#include "base/diag.h"

/** What to send. Every pointer is borrowed for the duration of the call. */
struct wdn_fetch_request {
    const char *method;          /* "GET" when NULL */
    const char *url;             /* http:// or https:// only */
    const char *const *headers;  /* NULL-terminated list of "Name: value", or NULL */
    const void *body;            /* request body, or NULL */
    size_t body_len;
    long timeout_ms;             /* whole transfer; 0 = 10 s */
    const char *ca_file;         /* trust these CAs instead of the system's; NULL = default */
    size_t max_response;         /* response body cap; 0 = 1 MiB; more is WDN_ELIMIT */
};

/** What came back. Owned by the caller: wdn_fetch_response_reset frees it. */
struct wdn_fetch_response {
    long status;                  /* HTTP status; 0 when no response arrived */
    struct wdn_buf body;          /* NUL-terminated via wdn_buf_cstr */
    char content_type[128];       /* "" when absent */
    char cache_control[256];      /* "" when absent */
    char www_authenticate[1024];  /* first WWW-Authenticate header, "" when absent */
};

/**
 * Performs the request, following no redirects (a redirect is returned as is). Returns 0 when
 * a response arrived (whatever its status), WDN_ECONNREFUSED, WDN_ETIMEOUT, WDN_ETLS,
 * WDN_EDNS, WDN_ELIMIT (body over max_response), WDN_EINVAL (bad URL or scheme) or WDN_EIO,
 * with a message in diag (may be NULL). resp is initialised by the call.
 */
int wdn_fetch(const struct wdn_fetch_request *req, struct wdn_fetch_response *resp,
              struct wdn_diag *diag);

/**
 * Maps a libcurl result (a CURLcode) to WDN_E*: refused, timeout, DNS, TLS, reset, bad URL,
 * out of memory, else WDN_EIO. For every libcurl caller, so all report failures alike.
 */
int wdn_fetch_curl_error(int curl_code);

/** Frees what a response owns. */
void wdn_fetch_response_reset(struct wdn_fetch_response *resp);

/**
 * The CA bundle warden's outbound clients trust, from the environment: WARDEN_CA_FILE, then
 * CURL_CA_BUNDLE, then SSL_CERT_FILE; NULL when none is set (the system store is used).
 */
const char *wdn_fetch_ca_file_from_env(void);

#endif
