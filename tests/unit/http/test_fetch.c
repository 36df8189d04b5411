/* Tests for the blocking client (src/http/fetch*.c) against local servers (fetch_server.js on
 * Node): every response framing, the caps, timeouts and the stop flag, TLS verification with a
 * test CA, proxies (absolute-form and CONNECT) and no_proxy, and the URL/proxy parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "http/fetch.h"
#include "http/fetch_int.h"
#include "http/tls.h"
#include "../support/childproc.h"
#include "../support/testnet.h"

static struct {
    struct childproc proc;
    int http, https, wrong, proxy;
    char dir[64];
    char ca[128], other_ca[128];
} srv;

static char url[512];

static const char *U(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *U(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(url, sizeof(url), fmt, ap);
    va_end(ap);
    return url;
}

static void clear_proxy_env(void)
{
    static const char *const v[] = {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                    "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        unsetenv(v[i]);
}

static int setup(void **state)
{
    char script[1024], line[128] = "";
    const char *src = getenv("WDN_SOURCE_DIR");
    (void)state;

    signal(SIGPIPE, SIG_IGN);
    clear_proxy_env();
    snprintf(script, sizeof(script), "%s/tests/unit/http/fetch_server.js", src ? src : ".");
    snprintf(srv.dir, sizeof(srv.dir), "/tmp/wdn-fetch-XXXXXX");
    if (mkdtemp(srv.dir) == NULL)
        return -1;
    /* Four certificates with the openssl command line, then node: allow a busy machine 30 s. */
    char *argv[] = {"node", script, srv.dir, NULL};
    if (childproc_start_piped(&srv.proc, argv, 30000, line, sizeof(line)) != 0)
        return -1;
    if (sscanf(line, "PORTS %d %d %d %d", &srv.http, &srv.https, &srv.wrong, &srv.proxy) != 4)
        return -1;
    snprintf(srv.ca, sizeof(srv.ca), "%s/ca.pem", srv.dir);
    snprintf(srv.other_ca, sizeof(srv.other_ca), "%s/other_ca.pem", srv.dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;

    childproc_stop(&srv.proc); /* the server exits when its stdin closes */
    snprintf(cmd, sizeof(cmd), "rm -rf %s", srv.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", srv.dir);
    clear_proxy_env();
    return 0;
}

/* GETs u with the given CA file; the response is left in *r (reset by the caller). */
static int get(const char *u, const char *ca, struct wdn_fetch_response *r, struct wdn_diag *d)
{
    struct wdn_fetch_request req = {.url = u, .ca_file = ca, .timeout_ms = 5000};
    return wdn_fetch(&req, r, d);
}

/* ---------------------------------------------------------------------------------------- */
/* Framing                                                                                    */

static void test_content_length(void **state)
{
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    (void)state;

    assert_int_equal(get(U("http://127.0.0.1:%d/cl", srv.http), NULL, &r, &d), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(wdn_buf_cstr(&r.body), "hello");
    assert_string_equal(r.content_type, "text/plain");
    wdn_fetch_response_reset(&r);
}

static void test_chunked(void **state)
{
    struct wdn_fetch_response r;
    (void)state;

    assert_int_equal(get(U("http://127.0.0.1:%d/chunked", srv.http), NULL, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(wdn_buf_cstr(&r.body), "abcd");
    wdn_fetch_response_reset(&r);
}

static void test_until_close(void **state)
{
    struct wdn_fetch_response r;
    (void)state;

    assert_int_equal(get(U("http://127.0.0.1:%d/close", srv.http), NULL, &r, NULL), 0);
    assert_string_equal(wdn_buf_cstr(&r.body), "until-close");
    wdn_fetch_response_reset(&r);
}

static void test_interim_and_redirect(void **state)
{
    struct wdn_fetch_response r;
    (void)state;

    /* 1xx heads are skipped; redirects come back as they are. */
    assert_int_equal(get(U("http://127.0.0.1:%d/continue", srv.http), NULL, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(wdn_buf_cstr(&r.body), "after-100");
    wdn_fetch_response_reset(&r);
    assert_int_equal(get(U("http://127.0.0.1:%d/redirect", srv.http), NULL, &r, NULL), 0);
    assert_int_equal(r.status, 302);
    assert_int_equal(r.body.len, 0);
    wdn_fetch_response_reset(&r);
}

static void test_truncated_body(void **state)
{
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    (void)state;

    assert_int_equal(get(U("http://127.0.0.1:%d/short", srv.http), NULL, &r, &d), WDN_ECONNRESET);
    assert_non_null(strstr(d.msg, "3 of 10"));
    wdn_fetch_response_reset(&r);
}

/* What we send: the request line, Host with the port, our User-Agent, the caller's headers,
 * Content-Length for a body, Connection: close. */
static void test_request_format(void **state)
{
    static const char *const hdrs[] = {"Authorization: Bearer t0k", "X-Test: 1", NULL};
    struct wdn_fetch_request req = {
        .method = "POST", .headers = hdrs, .body = "a=b", .body_len = 3, .timeout_ms = 5000};
    struct wdn_fetch_response r;
    const char *b;
    char host[64];
    (void)state;

    req.url = U("http://127.0.0.1:%d/echo?q=1#frag", srv.http);
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0);
    b = wdn_buf_cstr(&r.body);
    snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%d\r\n", srv.http);
    assert_true(strncmp(b, "POST /echo?q=1 HTTP/1.1\r\n", 25) == 0);
    assert_non_null(strstr(b, host));
    assert_non_null(strstr(b, "\r\nUser-Agent: warden/"));
    assert_non_null(strstr(b, "\r\nAuthorization: Bearer t0k\r\n"));
    assert_non_null(strstr(b, "\r\nX-Test: 1\r\n"));
    assert_non_null(strstr(b, "\r\nContent-Length: 3\r\n"));
    assert_non_null(strstr(b, "\r\nConnection: close"));
    assert_non_null(strstr(b, "\r\n\r\na=b"));
    assert_string_equal(r.www_authenticate, "Bearer realm=\"t\"");
    assert_string_equal(r.cache_control, "max-age=60");
    wdn_fetch_response_reset(&r);
}

static void test_bad_requests(void **state)
{
    static const char *const crlf[] = {"X-A: 1\r\nX-Injected: 2", NULL};
    static const char *const host[] = {"Host: evil", NULL};
    struct wdn_fetch_request req = {.timeout_ms = 2000};
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    (void)state;

    req.url = U("http://127.0.0.1:%d/x", srv.http);
    req.headers = crlf;
    assert_int_equal(wdn_fetch(&req, &r, &d), WDN_EINVAL);
    assert_null(strstr(d.msg, "Injected")); /* header values are never quoted */
    wdn_fetch_response_reset(&r);
    req.headers = host;
    assert_int_equal(wdn_fetch(&req, &r, NULL), WDN_EINVAL);
    wdn_fetch_response_reset(&r);
    req.headers = NULL;
    req.url = "http://user:pw@127.0.0.1/";
    assert_int_equal(wdn_fetch(&req, &r, &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "credentials"));
    wdn_fetch_response_reset(&r);
    req.url = "ftp://127.0.0.1/";
    assert_int_equal(wdn_fetch(&req, &r, NULL), WDN_EINVAL);
    wdn_fetch_response_reset(&r);
    req.url = U("http://127.0.0.1:%d/cl", srv.http);
    req.https_only = true;
    assert_int_equal(wdn_fetch(&req, &r, &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "https"));
    wdn_fetch_response_reset(&r);
}

/* ---------------------------------------------------------------------------------------- */
/* Caps, timeouts, cancelation, refusal                                                       */

static void test_body_cap(void **state)
{
    struct wdn_fetch_request req = {.timeout_ms = 5000, .max_response = 1024};
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    (void)state;

    req.url = U("http://127.0.0.1:%d/big", srv.http);
    assert_int_equal(wdn_fetch(&req, &r, &d), WDN_ELIMIT);
    assert_non_null(strstr(d.msg, "1024"));
    wdn_fetch_response_reset(&r);
    req.url = U("http://127.0.0.1:%d/bigchunked", srv.http);
    assert_int_equal(wdn_fetch(&req, &r, NULL), WDN_ELIMIT);
    wdn_fetch_response_reset(&r);
    req.max_response = 4096; /* exactly the size: fine */
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0);
    assert_int_equal(r.body.len, 4096);
    wdn_fetch_response_reset(&r);
}

static void test_head_cap(void **state)
{
    struct wdn_fetch_request req = {.timeout_ms = 5000, .max_head = 8192};
    struct wdn_fetch_response r;
    (void)state;

    req.url = U("http://127.0.0.1:%d/bighead", srv.http);
    assert_int_equal(wdn_fetch(&req, &r, NULL), WDN_ELIMIT);
    wdn_fetch_response_reset(&r);
    req.max_head = 0; /* the parser's 32 KiB: a 15 KB head fits */
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    wdn_fetch_response_reset(&r);
}

static void test_timeout(void **state)
{
    struct wdn_fetch_request req = {.timeout_ms = 300};
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    uint64_t t0 = wdn_clock_mono_ms();
    (void)state;

    req.url = U("http://127.0.0.1:%d/hang", srv.http);
    assert_int_equal(wdn_fetch(&req, &r, &d), WDN_ETIMEOUT);
    assert_true(wdn_clock_mono_ms() - t0 >= 250);
    assert_true(wdn_clock_mono_ms() - t0 < 2000);
    assert_non_null(strstr(d.msg, "/hang"));
    wdn_fetch_response_reset(&r);
}

static void *raise_later(void *arg)
{
    usleep(200000);
    atomic_store((atomic_bool *)arg, true);
    return NULL;
}

static void test_stop_flag(void **state)
{
    atomic_bool stop = false;
    struct wdn_fetch_request req = {.timeout_ms = 20000, .stop = &stop};
    struct wdn_fetch_response r;
    uint64_t t0 = wdn_clock_mono_ms();
    pthread_t t;
    (void)state;

    req.url = U("http://127.0.0.1:%d/hang", srv.http);
    assert_int_equal(pthread_create(&t, NULL, raise_later, &stop), 0);
    assert_int_equal(wdn_fetch(&req, &r, NULL), WDN_ECANCELED);
    assert_true(wdn_clock_mono_ms() - t0 < 1500);
    pthread_join(t, NULL);
    wdn_fetch_response_reset(&r);
    /* Raised before the call: nothing is even sent. */
    assert_int_equal(wdn_fetch(&req, &r, NULL), WDN_ECANCELED);
    wdn_fetch_response_reset(&r);
}

static void test_refused(void **state)
{
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    int port = testnet_free_port();
    (void)state;

    assert_true(port > 0);
    assert_int_equal(get(U("http://127.0.0.1:%d/", port), NULL, &r, &d), WDN_ECONNREFUSED);
    assert_int_equal(r.status, 0);
    wdn_fetch_response_reset(&r);
}

/* ---------------------------------------------------------------------------------------- */
/* Streaming                                                                                  */

struct seen {
    int status;
    char ct[64];
    char body[64];
    size_t len;
};

static int seen_head(void *ud, const struct wdn_fetch_head *h)
{
    struct seen *s = ud;
    const struct wdn_http_header *ct =
        wdn_http_header_find(h->headers, h->nheaders, WDN_STR("content-type"));

    s->status = h->status;
    if (ct != NULL)
        snprintf(s->ct, sizeof(s->ct), "%.*s", (int)ct->value.len, ct->value.p);
    return 0;
}

static int seen_body_stop(void *ud, const char *p, size_t n)
{
    struct seen *s = ud;

    if (s->len + n < sizeof(s->body)) {
        memcpy(s->body + s->len, p, n);
        s->len += n;
        s->body[s->len] = '\0';
    }
    return strstr(s->body, "\n\n") != NULL ? 1 : 0; /* one whole event: enough */
}

static void test_stream_stop_early(void **state)
{
    struct seen s = {0};
    struct wdn_fetch_callbacks cb = {seen_head, seen_body_stop, &s};
    struct wdn_fetch_request req = {.timeout_ms = 10000, .max_response = SIZE_MAX};
    uint64_t t0 = wdn_clock_mono_ms();
    long status = 0;
    (void)state;

    /* The server never ends this stream: only the callback can. */
    req.url = U("http://127.0.0.1:%d/stream", srv.http);
    assert_int_equal(wdn_fetch_stream(&req, &cb, &status, NULL), 0);
    assert_true(wdn_clock_mono_ms() - t0 < 3000);
    assert_int_equal(status, 200);
    assert_int_equal(s.status, 200);
    assert_string_equal(s.ct, "text/event-stream");
    assert_string_equal(s.body, "data: one\n\n");
}

static int count_body(void *ud, const char *p, size_t n)
{
    (void)p;
    *(size_t *)ud += n;
    return 0;
}

/* A server that always has data ready still meets the deadline (and the cap). */
static void test_stream_deadline(void **state)
{
    size_t got = 0;
    struct wdn_fetch_callbacks cb = {NULL, count_body, &got};
    struct wdn_fetch_request req = {.timeout_ms = 500, .max_response = SIZE_MAX};
    uint64_t t0 = wdn_clock_mono_ms();
    (void)state;

    req.url = U("http://127.0.0.1:%d/flood", srv.http);
    assert_int_equal(wdn_fetch_stream(&req, &cb, NULL, NULL), WDN_ETIMEOUT);
    assert_true(wdn_clock_mono_ms() - t0 < 2000);
    assert_true(got > 0);
    req.timeout_ms = 10000;
    req.max_response = 100000;
    got = 0;
    assert_int_equal(wdn_fetch_stream(&req, &cb, NULL, NULL), WDN_ELIMIT);
    assert_true(got <= 100000);
}

static int refuse_head(void *ud, const struct wdn_fetch_head *h)
{
    (void)ud;
    (void)h;
    return WDN_EPROTO;
}

static void test_stream_callback_error(void **state)
{
    struct wdn_fetch_callbacks cb = {refuse_head, NULL, NULL};
    struct wdn_fetch_request req = {.timeout_ms = 5000};
    (void)state;

    req.url = U("http://127.0.0.1:%d/cl", srv.http);
    assert_int_equal(wdn_fetch_stream(&req, &cb, NULL, NULL), WDN_EPROTO);
}

/* ---------------------------------------------------------------------------------------- */
/* TLS                                                                                        */

static void test_https_ok(void **state)
{
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    (void)state;

    assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.https), srv.ca, &r, &d), 0);
    assert_string_equal(wdn_buf_cstr(&r.body), "hello");
    wdn_fetch_response_reset(&r);
    /* By name (localhost may resolve to ::1 first, where nothing listens: the next address). */
    assert_int_equal(get(U("https://localhost:%d/chunked", srv.https), srv.ca, &r, &d), 0);
    assert_string_equal(wdn_buf_cstr(&r.body), "abcd");
    wdn_fetch_response_reset(&r);
    assert_int_equal(get(U("https://127.0.0.1:%d/close", srv.https), srv.ca, &r, &d), 0);
    assert_string_equal(wdn_buf_cstr(&r.body), "until-close");
    wdn_fetch_response_reset(&r);
}

static void test_https_wrong_name(void **state)
{
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    (void)state;

    assert_int_equal(get(U("https://localhost:%d/cl", srv.wrong), srv.ca, &r, &d), WDN_ETLS);
    assert_non_null(strstr(d.msg, "hostname mismatch"));
    wdn_fetch_response_reset(&r);
    assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.wrong), srv.ca, &r, &d), WDN_ETLS);
    assert_non_null(strstr(d.msg, "IP address mismatch"));
    wdn_fetch_response_reset(&r);
}

static void test_https_untrusted(void **state)
{
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    char missing[160];
    (void)state;

    assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.https), srv.other_ca, &r, &d), WDN_ETLS);
    assert_non_null(strstr(d.msg, "verification failed"));
    wdn_fetch_response_reset(&r);
    snprintf(missing, sizeof(missing), "%s/nope.pem", srv.dir);
    assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.https), missing, &r, &d), WDN_ETLS);
    assert_non_null(strstr(d.msg, "nope.pem"));
    wdn_fetch_response_reset(&r);
    /* Plain http to a TLS port: a malformed response, not a hang. */
    assert_int_not_equal(get(U("http://127.0.0.1:%d/cl", srv.https), NULL, &r, NULL), 0);
    wdn_fetch_response_reset(&r);
}

static int copy_file(const char *from, const char *to)
{
    char cmd[1024];
    int n = snprintf(cmd, sizeof(cmd), "cp %s %s.tmp && mv %s.tmp %s", from, to, to, to);

    if (n < 0 || (size_t)n >= sizeof(cmd))
        return -1;
    return system(cmd);
}

/* TLS contexts are cached per CA file, but a changed file is read again. */
static void test_https_ca_file_changes(void **state)
{
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    char ca[160];
    (void)state;

    snprintf(ca, sizeof(ca), "%s/rotating.pem", srv.dir);
    assert_int_equal(copy_file(srv.ca, ca), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.https), ca, &r, &d), 0);
        wdn_fetch_response_reset(&r);
    }
    assert_int_equal(copy_file(srv.other_ca, ca), 0);
    assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.https), ca, &r, &d), WDN_ETLS);
    wdn_fetch_response_reset(&r);
    assert_int_equal(copy_file(srv.ca, ca), 0);
    assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.https), ca, &r, &d), 0);
    wdn_fetch_response_reset(&r);
    /* The system store (no ca_file) does not trust the test CA. */
    assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.https), NULL, &r, &d), WDN_ETLS);
    assert_non_null(strstr(d.msg, "verification failed"));
    wdn_fetch_response_reset(&r);
    /* SSL_CERT_FILE steers the system store, and a change of it is seen at once. */
    setenv("SSL_CERT_FILE", srv.ca, 1);
    assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.https), NULL, &r, &d), 0);
    wdn_fetch_response_reset(&r);
    /* A ca_file adds to the system store instead of replacing it: with the server's CA in the
     * system store (SSL_CERT_FILE) and another CA as ca_file, the server is still trusted. */
    snprintf(ca, sizeof(ca), "%s/other-only.pem", srv.dir);
    assert_int_equal(copy_file(srv.other_ca, ca), 0);
    assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.https), ca, &r, &d), 0);
    wdn_fetch_response_reset(&r);
    unsetenv("SSL_CERT_FILE");
    assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.https), ca, &r, &d), WDN_ETLS);
    wdn_fetch_response_reset(&r);
    assert_int_equal(get(U("https://127.0.0.1:%d/cl", srv.https), NULL, &r, &d), WDN_ETLS);
    wdn_fetch_response_reset(&r);
}

/* ---------------------------------------------------------------------------------------- */
/* Proxies                                                                                    */

static int proxy_stats(int *connects, int *forwards)
{
    struct wdn_fetch_response r;
    int rc = get(U("http://127.0.0.1:%d/stats", srv.proxy), NULL, &r, NULL);

    if (rc == 0 &&
        sscanf(wdn_buf_cstr(&r.body), "{\"connects\":%d,\"forwards\":%d}", connects, forwards) != 2)
        rc = -1;
    wdn_fetch_response_reset(&r);
    return rc;
}

static void test_http_proxy(void **state)
{
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    char proxy[96];
    int c0, f0, c1, f1;
    (void)state;

    assert_int_equal(proxy_stats(&c0, &f0), 0);
    snprintf(proxy, sizeof(proxy), "http://u%%3A:p@127.0.0.1:%d", srv.proxy);
    setenv("http_proxy", proxy, 1);
    setenv("no_proxy", "example.com, .other.test", 1);
    /* The test proxy answers absolute-form requests itself, echoing what it got. */
    assert_int_equal(get("http://fetch.test:8080/p?x=1", NULL, &r, &d), 0);
    assert_true(strncmp(wdn_buf_cstr(&r.body), "proxied GET http://fetch.test:8080/p?x=1 HTTP/1.1",
                        49) == 0);
    assert_non_null(strstr(r.body.data, "\r\nHost: fetch.test:8080\r\n"));
    /* "u:" percent-encoded as u%3A, password "p": base64("u::p") */
    assert_non_null(strstr(r.body.data, "\r\nProxy-Authorization: Basic dTo6cA==\r\n"));
    wdn_fetch_response_reset(&r);
    /* Loopback targets never go through the proxy. */
    assert_int_equal(get(U("http://127.0.0.1:%d/cl", srv.http), NULL, &r, &d), 0);
    assert_string_equal(wdn_buf_cstr(&r.body), "hello");
    wdn_fetch_response_reset(&r);
    /* An https proxy setting is not used for http URLs, and HTTP_PROXY is never read. */
    unsetenv("http_proxy");
    setenv("HTTP_PROXY", proxy, 1);
    setenv("https_proxy", "http://127.0.0.1:1", 1);
    assert_int_not_equal(get("http://fetch.test:8080/p", NULL, &r, &d), 0); /* direct: no DNS */
    wdn_fetch_response_reset(&r);
    assert_int_equal(proxy_stats(&c1, &f1), 0);
    assert_int_equal(f1, f0 + 1);
    assert_int_equal(c1, c0);
    unsetenv("HTTP_PROXY");
    clear_proxy_env();
    /* A broken proxy setting is refused without quoting it (it may hold a password). */
    setenv("http_proxy", "socks5://secret@127.0.0.1:1", 1);
    assert_int_equal(get("http://fetch.test/", NULL, &r, &d), WDN_EINVAL);
    assert_null(strstr(d.msg, "secret"));
    wdn_fetch_response_reset(&r);
    clear_proxy_env();
}

static void test_connect_proxy(void **state)
{
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    char proxy[96];
    int c0, f0, c1, f1;
    (void)state;

    assert_int_equal(proxy_stats(&c0, &f0), 0);
    snprintf(proxy, sizeof(proxy), "127.0.0.1:%d", srv.proxy); /* no scheme: http */
    setenv("HTTPS_PROXY", proxy, 1);
    setenv("NO_PROXY", "example.com", 1);
    /* The test proxy tunnels every CONNECT to 127.0.0.1; the certificate names fetch.test. */
    assert_int_equal(get(U("https://fetch.test:%d/cl", srv.https), srv.ca, &r, &d), 0);
    assert_string_equal(wdn_buf_cstr(&r.body), "hello");
    wdn_fetch_response_reset(&r);
    assert_int_equal(get(U("https://fetch.test:%d/chunked", srv.https), srv.ca, &r, &d), 0);
    assert_string_equal(wdn_buf_cstr(&r.body), "abcd");
    wdn_fetch_response_reset(&r);
    /* Through the tunnel the name is still checked. */
    assert_int_equal(get(U("https://fetch.test:%d/cl", srv.wrong), srv.ca, &r, &d), WDN_ETLS);
    assert_non_null(strstr(d.msg, "hostname mismatch"));
    wdn_fetch_response_reset(&r);
    assert_int_equal(proxy_stats(&c1, &f1), 0);
    assert_int_equal(c1, c0 + 3);
    assert_int_equal(f1, f0);
    /* no_proxy "*" sends everything direct: fetch.test then does not resolve. */
    setenv("no_proxy", "*", 1);
    assert_int_not_equal(get(U("https://fetch.test:%d/cl", srv.https), srv.ca, &r, &d), 0);
    wdn_fetch_response_reset(&r);
    assert_int_equal(proxy_stats(&c1, &f1), 0);
    assert_int_equal(c1, c0 + 3);
    clear_proxy_env();
}

/* ---------------------------------------------------------------------------------------- */
/* The parsers                                                                                */

static void test_url_parse(void **state)
{
    struct wdn__fetch_url u;
    char why[128];
    static const char *const bad[] = {
        "",
        "http://",
        "http:///x",
        "http://a:0/",
        "http://a:65536/",
        "http://a:/",
        "http://a:x/",
        "http://[::1/",
        "http://[::1]x/",
        "http://[fe80::1%eth0]/",
        "http://a b/",
        "http://a/\x01",
        "http://u@a/",
        "mailto:x",
        "http://a_b$/",
        "http://a:123456/",
        "//a/",
    };
    (void)state;

    assert_int_equal(wdn__fetch_url_parse("https://Example.com", false, &u, why, sizeof(why)), 0);
    assert_true(u.tls);
    assert_int_equal(u.port, 443);
    assert_string_equal(u.host, "Example.com");
    assert_int_equal(u.target.len, 0);
    assert_int_equal(
        wdn__fetch_url_parse("http://[::1]:8080/a/b?c=d#e", false, &u, why, sizeof(why)), 0);
    assert_true(u.ipv6 && u.ip);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 8080);
    assert_int_equal(u.target.len, 8);
    assert_true(strncmp(u.target.p, "/a/b?c=d", 8) == 0);
    assert_int_equal(wdn__fetch_url_parse("http://10.0.0.1?q", false, &u, why, sizeof(why)), 0);
    assert_true(u.ip && !u.ipv6);
    assert_int_equal(u.port, 80);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(wdn__fetch_url_parse(bad[i], false, &u, why, sizeof(why)), WDN_EINVAL);
        assert_true(why[0] != '\0');
    }
    /* Proxies: scheme optional, credentials decoded, default port 1080, no path. */
    assert_int_equal(wdn__fetch_url_parse("proxy.corp", true, &u, why, sizeof(why)), 0);
    assert_int_equal(u.port, 1080);
    assert_int_equal(
        wdn__fetch_url_parse("http://a%40b:p%3A@proxy:3128/", true, &u, why, sizeof(why)), 0);
    assert_string_equal(u.auth, "a@b:p:");
    assert_int_equal(u.port, 3128);
    assert_int_equal(wdn__fetch_url_parse("https://proxy:3128", true, &u, why, sizeof(why)),
                     WDN_EINVAL);
    assert_int_equal(wdn__fetch_url_parse("http://proxy/x", true, &u, why, sizeof(why)),
                     WDN_EINVAL);
    assert_int_equal(wdn__fetch_url_parse("http://a%zz@proxy", true, &u, why, sizeof(why)),
                     WDN_EINVAL);
    assert_int_equal(wdn__fetch_url_parse("http://a%0@proxy", true, &u, why, sizeof(why)),
                     WDN_EINVAL);
}

static bool np(const char *list, const char *url_s)
{
    struct wdn__fetch_url u;

    assert_int_equal(wdn__fetch_url_parse(url_s, false, &u, NULL, 0), 0);
    return wdn__fetch_no_proxy(list, &u);
}

static void test_no_proxy(void **state)
{
    (void)state;
    /* curl's examples: "ample.com" matches ample.com and www.ample.com, not www.example.com. */
    assert_true(np("ample.com", "http://ample.com/"));
    assert_true(np("ample.com", "http://www.ample.com:80/"));
    assert_false(np("ample.com", "http://www.example.com/"));
    assert_false(np("ample.com", "http://ample.com.org/"));
    assert_true(np(".ample.com", "http://ample.com/"));
    assert_true(np("x.org, AMPLE.com", "http://WWW.Ample.Com./"));
    assert_true(np("a.org b.org", "http://b.org/"));
    assert_true(np("*", "http://anything.example/"));
    assert_false(np("", "http://ample.com/"));
    assert_false(np(NULL, "http://ample.com/"));
    assert_false(np("*.ample.com", "http://www.ample.com/")); /* only a lone * is a wildcard */
    /* IP literals: exact or CIDR, IPv6 without (or with) brackets. */
    assert_true(np("192.168.0.0/16", "http://192.168.7.1/"));
    assert_false(np("192.168.0.0/16", "http://192.169.7.1/"));
    assert_true(np("10.1.2.3", "http://10.1.2.3/"));
    assert_false(np("10.1.2.3", "http://10.1.2.4/"));
    assert_true(np("10.0.0.0/9", "http://10.127.0.1/"));
    assert_false(np("10.0.0.0/9", "http://10.128.0.1/"));
    assert_true(np("2001:db8::/32", "http://[2001:db8:1::5]/"));
    assert_true(np("[2001:db8::5]", "http://[2001:db8::5]/"));
    assert_false(np("2001:db8::/33", "http://[2001:db8:8000::5]/"));
    assert_false(np("10.0.0.0/33", "http://10.0.0.1/"));
    assert_false(np("ample.com", "http://10.0.0.1/"));
    /* Loopback never goes through a proxy. */
    assert_true(np(NULL, "http://127.0.0.1/"));
    assert_true(np(NULL, "http://127.9.9.9/"));
    assert_true(np(NULL, "http://[::1]/"));
    assert_true(np(NULL, "http://localhost/"));
    assert_true(np(NULL, "http://api.localhost./"));
    assert_false(np(NULL, "http://localhost.example/"));
}

static void test_proxy_pick(void **state)
{
    (void)state;
    assert_string_equal(wdn__fetch_proxy_pick(false, "h", "s", "S", "a", "A"), "h");
    assert_string_equal(wdn__fetch_proxy_pick(true, "h", "s", "S", "a", "A"), "s");
    assert_string_equal(wdn__fetch_proxy_pick(true, "h", NULL, "S", "a", "A"), "S");
    assert_string_equal(wdn__fetch_proxy_pick(true, "h", "", NULL, "a", "A"), "a");
    assert_string_equal(wdn__fetch_proxy_pick(false, NULL, "s", "S", NULL, "A"), "A");
    assert_null(wdn__fetch_proxy_pick(false, NULL, "s", "S", NULL, NULL));
}

static void test_ca_from_env(void **state)
{
    (void)state;
    unsetenv("WARDEN_CA_FILE");
    unsetenv("CURL_CA_BUNDLE");
    unsetenv("SSL_CERT_FILE");
    assert_null(wdn_fetch_ca_file_from_env());
    setenv("SSL_CERT_FILE", "/c", 1);
    assert_string_equal(wdn_fetch_ca_file_from_env(), "/c");
    setenv("CURL_CA_BUNDLE", "/b", 1);
    assert_string_equal(wdn_fetch_ca_file_from_env(), "/b");
    setenv("WARDEN_CA_FILE", "/a", 1);
    assert_string_equal(wdn_fetch_ca_file_from_env(), "/a");
    unsetenv("WARDEN_CA_FILE");
    unsetenv("CURL_CA_BUNDLE");
    unsetenv("SSL_CERT_FILE");
}

static void test_ctx_cache(void **state)
{
    char why[320] = "";
    struct wdn_tls_ctx *a, *b;
    (void)state;

    unsetenv("SSL_CERT_FILE");
    a = wdn__fetch_tls_ctx(NULL, why, sizeof(why));
    b = wdn__fetch_tls_ctx(NULL, why, sizeof(why));
    assert_non_null(a);
    assert_ptr_equal(a, b); /* built once, shared */
    wdn_tls_ctx_free(a);
    wdn_tls_ctx_free(b);
    assert_null(wdn__fetch_tls_ctx("/nonexistent/ca.pem", why, sizeof(why)));
    assert_non_null(strstr(why, "/nonexistent/ca.pem"));
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_url_parse),  cmocka_unit_test(test_no_proxy),
        cmocka_unit_test(test_proxy_pick), cmocka_unit_test(test_ca_from_env),
        cmocka_unit_test(test_ctx_cache),
    };
    const struct CMUnitTest net[] = {
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_until_close),
        cmocka_unit_test(test_interim_and_redirect),
        cmocka_unit_test(test_truncated_body),
        cmocka_unit_test(test_request_format),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_head_cap),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_stop_flag),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_stream_stop_early),
        cmocka_unit_test(test_stream_callback_error),
        cmocka_unit_test(test_stream_deadline),
        cmocka_unit_test(test_https_ok),
        cmocka_unit_test(test_https_wrong_name),
        cmocka_unit_test(test_https_untrusted),
        cmocka_unit_test(test_https_ca_file_changes),
        cmocka_unit_test(test_http_proxy),
        cmocka_unit_test(test_connect_proxy),
    };
    int rc = cmocka_run_group_tests(pure, NULL, NULL);

    rc |= cmocka_run_group_tests(net, setup, teardown);
    return rc;
}
