/* libcurl behind a small blocking interface. Redirects are never followed (a token or key URL
 * that redirects elsewhere is a configuration error to surface, not to hide), only http and
 * https are allowed, and the response body is capped. */
#include "http/fetch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "base/error.h"

struct fetch_ctx {
    struct wdn_fetch_response *resp;
    size_t max;
    int over_limit;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct fetch_ctx *ctx = arg;
    size_t len = size * n;

    if (ctx->resp->body.len + len > ctx->max) {
        ctx->over_limit = 1;
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    if (wdn_buf_append(&ctx->resp->body, p, len) != 0)
        return 0;
    return len;
}

/* Copies the value of header `name` from a raw header line into out, once (first one wins). */
static void take_header(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);

    if (out[0] != '\0' || len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
        return;
    const char *v = line + nlen + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);
    if (vlen >= cap)
        vlen = cap - 1;
    memcpy(out, v, vlen);
    out[vlen] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct fetch_ctx *ctx = arg;
    size_t len = size * n;

    /* A new status line (e.g. after 100 Continue) starts a new set of headers. */
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
        ctx->resp->content_type[0] = '\0';
        ctx->resp->cache_control[0] = '\0';
        ctx->resp->www_authenticate[0] = '\0';
        return len;
    }
    take_header(p, len, "content-type", ctx->resp->content_type, sizeof(ctx->resp->content_type));
    take_header(p, len, "cache-control", ctx->resp->cache_control,
                sizeof(ctx->resp->cache_control));
    take_header(p, len, "www-authenticate", ctx->resp->www_authenticate,
                sizeof(ctx->resp->www_authenticate));
    return len;
}

int wdn_fetch_curl_error(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_COULDNT_CONNECT:
        return WDN_ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return WDN_ETIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return WDN_EDNS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return WDN_ETLS;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        return WDN_ECONNRESET;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return WDN_EINVAL;
    case CURLE_OUT_OF_MEMORY:
        return WDN_ENOMEM;
    default:
        return WDN_EIO;
    }
}

int wdn_fetch(const struct wdn_fetch_request *req, struct wdn_fetch_response *resp,
              struct wdn_diag *diag)
{
    struct fetch_ctx ctx = {resp, req->max_response ? req->max_response : (1u << 20), 0};
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode c;
    CURL *h = NULL;
    int rc = 0;

    memset(resp, 0, sizeof(*resp));
    wdn_buf_init(&resp->body, ctx.max);
    if (req->url == NULL ||
        (strncmp(req->url, "https://", 8) != 0 && strncmp(req->url, "http://", 7) != 0)) {
        rc = wdn_diag_set(diag, WDN_EINVAL, "URL must start with https:// or http://: %s",
                          req->url ? req->url : "(none)");
        goto out;
    }
    h = curl_easy_init();
    if (h == NULL) {
        rc = wdn_diag_set(diag, WDN_ENOMEM, "cannot create a libcurl handle");
        goto out;
    }
    for (const char *const *p = req->headers; p && *p; p++) {
        struct curl_slist *next = curl_slist_append(hdrs, *p);
        if (next == NULL) {
            rc = wdn_diag_set(diag, WDN_ENOMEM, "out of memory building request headers");
            goto out;
        }
        hdrs = next;
    }
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "warden/" WDN_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &ctx);
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (req->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
    if (req->method)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    c = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    if (c != CURLE_OK) {
        rc = ctx.over_limit ? WDN_ELIMIT : wdn_fetch_curl_error(c);
        if (rc == WDN_ELIMIT)
            wdn_diag_set(diag, rc, "response from %s is larger than %zu bytes", req->url,
                         ctx.max);
        else
            wdn_diag_set(diag, rc, "request to %s failed: %s", req->url,
                         errbuf[0] ? errbuf : curl_easy_strerror(c));
        goto out;
    }
    if (wdn_buf_cstr(&resp->body) == NULL)
        rc = wdn_diag_set(diag, WDN_ENOMEM, "out of memory");
out:
    curl_slist_free_all(hdrs);
    if (h)
        curl_easy_cleanup(h);
    return rc;
}

void wdn_fetch_response_reset(struct wdn_fetch_response *resp)
{
    wdn_buf_reset(&resp->body);
}

const char *wdn_fetch_ca_file_from_env(void)
{
    static const char *const vars[] = {"WARDEN_CA_FILE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return v;
    }
    return NULL;
}
