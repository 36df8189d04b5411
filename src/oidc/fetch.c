/* HTTPS GET for discovery and JWKS documents. Runs only on the key-refresh thread, so the
 * blocking client of http/fetch.h is the simplest correct tool; the abort flag keeps shutdown
 * prompt. */
#include "oidc/fetch.h"

#include <string.h>

#include "base/error.h"
#include "http/fetch.h"
#include "oidc/discovery.h"

static int on_head(void *ud, const struct wdn_fetch_head *h)
{
    struct wdn__oidc_fetch *out = ud;
    const struct wdn_http_header *cc =
        wdn_http_header_find(h->headers, h->nheaders, WDN_STR("cache-control"));

    out->status = h->status;
    if (cc != NULL)
        out->max_age = wdn_oidc_cache_max_age(cc->value);
    return 0;
}

static int on_body(void *ud, const char *data, size_t len)
{
    struct wdn__oidc_fetch *out = ud;

    return wdn_buf_append(&out->body, data, len);
}

int wdn__oidc_fetch(const char *url, const char *ca_file, unsigned timeout_ms, size_t max_bytes,
                    atomic_bool *stop, struct wdn__oidc_fetch *out, struct wdn_diag *d)
{
    static const char *const headers[] = {"Accept: application/json", NULL};
    struct wdn_fetch_request req = {
        .url = url,
        .headers = headers,
        .timeout_ms = (long)timeout_ms,
        .connect_timeout_ms = (long)timeout_ms,
        .ca_file = ca_file,
        .max_response = max_bytes,
        .https_only = true,
        .stop = stop,
    };
    struct wdn_fetch_callbacks cb = {on_head, on_body, out};

    out->status = 0;
    out->max_age = -1;
    out->body.max = max_bytes;
    return wdn_fetch_stream(&req, &cb, &out->status, d);
}
