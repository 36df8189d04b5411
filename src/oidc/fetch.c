/* HTTPS GET for discovery and JWKS documents. Runs only on the key-refresh thread, so a
 * blocking easy handle is the simplest correct tool; the abort flag keeps shutdown prompt. */
#include "oidc/fetch.h"

#include <pthread.h>
#include <string.h>

#include <curl/curl.h>

#include "base/error.h"
#include "oidc/discovery.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void wdn__oidc_curl_init(void)
{
    pthread_once(&curl_once, curl_init_once);
}

struct ctx {
    struct wdn__oidc_fetch *out;
    atomic_bool *stop;
    int over_limit;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct ctx *c = arg;

    if (wdn_buf_append(&c->out->body, p, size * n) != 0) {
        c->over_limit = 1;
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct ctx *c = arg;
    struct wdn_str line = {p, size * n};
    static const char name[] = "cache-control:";

    if (line.len > sizeof(name) - 1 &&
        wdn_str_eq_case((struct wdn_str){p, sizeof(name) - 1}, WDN_STR(name))) {
        struct wdn_str v = {p + sizeof(name) - 1, line.len - (sizeof(name) - 1)};
        while (v.len > 0 && (v.p[v.len - 1] == '\r' || v.p[v.len - 1] == '\n'))
            v.len--;
        c->out->max_age = wdn_oidc_cache_max_age(wdn_str_trim_ows(v));
    }
    return size * n;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c2, curl_off_t d)
{
    struct ctx *c = arg;
    return c->stop != NULL && atomic_load(c->stop) ? 1 : 0;
}

int wdn__oidc_fetch(const char *url, const char *ca_file, unsigned timeout_ms, size_t max_bytes,
                    atomic_bool *stop, struct wdn__oidc_fetch *out, struct wdn_diag *d)
{
    CURL *h = curl_easy_init();
    struct ctx c = {out, stop, 0};
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    CURLcode cc;
    int rc = WDN_EIO;

    out->status = 0;
    out->max_age = -1;
    out->body.max = max_bytes;
    if (h == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    hdrs = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "warden/" WDN_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_bytes);
    if (ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
    cc = curl_easy_perform(h);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        rc = 0;
    } else if (c.over_limit || cc == CURLE_FILESIZE_EXCEEDED) {
        rc = wdn_diag_set(d, WDN_ELIMIT, "GET %s: response larger than %zu bytes", url, max_bytes);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = wdn_diag_set(d, WDN_ETIMEOUT, "GET %s: timed out", url);
    } else if (cc == CURLE_ABORTED_BY_CALLBACK) {
        rc = wdn_diag_set(d, WDN_ECANCELED, "GET %s: canceled", url);
    } else {
        rc = wdn_diag_set(d, WDN_EIO, "GET %s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rc;
}
