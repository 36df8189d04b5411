/* The server's responses (src/http/conn_response.c) through a running server and raw sockets:
 * the reason phrase of every status the server names (and "Status" for others), the headers a
 * handler may not send (bad names or values, a status out of range: refused, the connection
 * closed rather than a broken answer sent), Date and Server kept when the handler sets them,
 * framing of streamed answers (chunked on HTTP/1.1, close-delimited on HTTP/1.0, none for
 * 204 and HEAD), writes past the announced length or into a body-less answer refused, a short
 * body ended by closing, Expect: 100-continue left unread closing the connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "http/server.h"
#include "test_server_util.h"

static struct wdn_http_server *srv;
static int port;
static atomic_int rc1, rc2, rc3, cb_status = 1;

/* A zero-copy write's data is borrowed until this runs: the answer ends here. */
static void on_written(struct wdn_http_req *req, int status, void *ud)
{
    atomic_store(&cb_status, status);
    atomic_store(&rc3, wdn_http_resp_end(req));
}

static int on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    const struct wdn_http_request *h = wdn_http_req_head(req);
    char path[128];
    struct wdn_http_header hd;
    int st;

    snprintf(path, sizeof(path), "%.*s", (int)h->path.len, h->path.p);
    if (sscanf(path, "/s/%d", &st) == 1) {
        wdn_http_respond(req, st, NULL, 0, WDN_STR("x"));
    } else if (strcmp(path, "/hdr/date") == 0) {
        hd = (struct wdn_http_header){WDN_STR("date"), WDN_STR("Mon, 01 Jan 2001 00:00:00 GMT")};
        wdn_http_respond(req, 200, &hd, 1, WDN_STR("x"));
    } else if (strcmp(path, "/hdr/server") == 0) {
        hd = (struct wdn_http_header){WDN_STR("Server"), WDN_STR("upstream/1")};
        wdn_http_respond(req, 200, &hd, 1, WDN_STR("x"));
    } else if (strcmp(path, "/bad/name") == 0) {
        hd = (struct wdn_http_header){WDN_STR("Bad Name"), WDN_STR("v")};
        atomic_store(&rc1, wdn_http_respond(req, 200, &hd, 1, WDN_STR("x")));
    } else if (strcmp(path, "/bad/value") == 0) {
        hd = (struct wdn_http_header){WDN_STR("X-A"), WDN_STR("a\r\nInjected: yes")};
        atomic_store(&rc1, wdn_http_respond(req, 200, &hd, 1, WDN_STR("x")));
    } else if (strcmp(path, "/bad/status") == 0) {
        atomic_store(&rc1, wdn_http_respond(req, 1000, NULL, 0, WDN_STR("x")));
    } else if (strcmp(path, "/bad/low") == 0) {
        atomic_store(&rc1, wdn_http_respond(req, 99, NULL, 0, WDN_STR("x")));
    } else if (strcmp(path, "/start-bad") == 0) {
        /* A refused head leaves the request unanswered: the handler can still answer. */
        hd = (struct wdn_http_header){WDN_STR("X-A"), WDN_STR("a\nb")};
        atomic_store(&rc1, wdn_http_resp_start(req, 200, &hd, 1, WDN_HTTP_LENGTH_UNKNOWN));
        wdn_http_respond(req, 500, NULL, 0, WDN_STR("fallback"));
    } else if (strcmp(path, "/stream") == 0) {
        wdn_http_resp_start(req, 200, NULL, 0, WDN_HTTP_LENGTH_UNKNOWN);
        atomic_store(&rc1, wdn_http_resp_write(req, WDN_STR("abc"), NULL, NULL));
        atomic_store(&rc2, wdn_http_resp_write(req, WDN_STR("defg"), on_written, NULL));
        if (atomic_load(&rc2) != 0) /* HEAD: no body; the callback will not run */
            atomic_store(&rc3, wdn_http_resp_end(req));
    } else if (strcmp(path, "/stream/204") == 0) {
        wdn_http_resp_start(req, 204, NULL, 0, WDN_HTTP_LENGTH_UNKNOWN);
        atomic_store(&rc1, wdn_http_resp_write(req, WDN_STR("x"), NULL, NULL));
        atomic_store(&rc2, wdn_http_resp_write(req, WDN_STR(""), NULL, NULL));
        atomic_store(&rc3, wdn_http_resp_end(req));
    } else if (strcmp(path, "/stream/len") == 0) {
        wdn_http_resp_start(req, 200, NULL, 0, 3);
        atomic_store(&rc1, wdn_http_resp_write(req, WDN_STR("abcd"), NULL, NULL));
        atomic_store(&rc2, wdn_http_resp_write(req, WDN_STR("abc"), NULL, NULL));
        atomic_store(&rc3, wdn_http_resp_end(req));
    } else if (strcmp(path, "/stream/short") == 0) {
        wdn_http_resp_start(req, 200, NULL, 0, 10);
        atomic_store(&rc1, wdn_http_resp_write(req, WDN_STR("abc"), NULL, NULL));
        atomic_store(&rc3, wdn_http_resp_end(req));
    } else if (strcmp(path, "/stream/abort") == 0) {
        wdn_http_resp_start(req, 200, NULL, 0, WDN_HTTP_LENGTH_UNKNOWN);
        wdn_http_resp_abort(req);
    } else if (strcmp(path, "/twice") == 0) {
        wdn_http_resp_start(req, 200, NULL, 0, 1);
        atomic_store(&rc1, wdn_http_resp_start(req, 200, NULL, 0, 1));
        atomic_store(&rc2, wdn_http_resp_write(req, WDN_STR("z"), NULL, NULL));
        atomic_store(&rc3, wdn_http_resp_end(req));
    } else {
        return WDN_HTTP_DECLINED;
    }
    return 0;
}

static struct wdn_http_handler handler = {on_req, NULL, NULL};

static int setup(void **state)
{
    /* Borrowed by the server while it runs. */
    static struct wdn_http_handler *const hs[] = {&handler};
    static struct wdn_http_server_config cfg = {.listen = "127.0.0.1:0",
                                                .workers = 1,
                                                .handlers = hs,
                                                .nhandlers = 1,
                                                .server_name = "warden-test"};

    signal(SIGPIPE, SIG_IGN);
    if (wdn_http_server_start(&cfg, &srv) != 0)
        return -1;
    port = wdn_http_server_port(srv);
    return 0;
}

static int teardown(void **state)
{
    wdn_http_server_stop(srv);
    wdn_http_server_free(srv);
    return 0;
}

/* Sends req and reads until the server closes; the answer in buf. */
static size_t exchange(const char *req, char *buf, size_t cap)
{
    int closed = 0, fd = testnet_connect(port, 10000);
    ssize_t n;

    assert_true(fd >= 0);
    assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
    n = testnet_recv_until_close(fd, buf, cap, &closed);
    close(fd);
    if (n < 0 || closed != 1)
        fail_msg("%.40s: the server did not close (read %zd: %s)", req, n, n > 0 ? buf : "");
    return (size_t)n;
}

static void reason_phrases(void **state)
{
    static const struct {
        int status;
        const char *line;
    } cases[] = {
        {200, "HTTP/1.1 200 OK\r\n"},
        {206, "HTTP/1.1 206 Partial Content\r\n"},
        {301, "HTTP/1.1 301 Moved Permanently\r\n"},
        {307, "HTTP/1.1 307 Temporary Redirect\r\n"},
        {308, "HTTP/1.1 308 Permanent Redirect\r\n"},
        {406, "HTTP/1.1 406 Not Acceptable\r\n"},
        {409, "HTTP/1.1 409 Conflict\r\n"},
        {411, "HTTP/1.1 411 Length Required\r\n"},
        {414, "HTTP/1.1 414 URI Too Long\r\n"},
        {415, "HTTP/1.1 415 Unsupported Media Type\r\n"},
        {417, "HTTP/1.1 417 Expectation Failed\r\n"},
        {422, "HTTP/1.1 422 Unprocessable Content\r\n"},
        {429, "HTTP/1.1 429 Too Many Requests\r\n"},
        {299, "HTTP/1.1 299 Status\r\n"},
        {599, "HTTP/1.1 599 Status\r\n"},
        {999, "HTTP/1.1 999 Status\r\n"},
    };
    char req[128], buf[2048];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(req, sizeof(req), "GET /s/%d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                 cases[i].status);
        exchange(req, buf, sizeof(buf));
        if (strncmp(buf, cases[i].line, strlen(cases[i].line)) != 0)
            fail_msg("status %d: got %.40s", cases[i].status, buf);
        assert_non_null(strstr(buf, "\r\nContent-Length: 1\r\n"));
        assert_non_null(strstr(buf, "\r\nServer: warden-test\r\n"));
        assert_non_null(strstr(buf, "\r\nConnection: close\r\n\r\nx"));
    }
    /* 304 and 204 carry no body and no length. */
    exchange("GET /s/304 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
    assert_true(strncmp(buf, "HTTP/1.1 304 Not Modified\r\n", 27) == 0);
    assert_null(strstr(buf, "Content-Length"));
    assert_true(strlen(buf) > 4 && strcmp(buf + strlen(buf) - 4, "\r\n\r\n") == 0);
    /* HEAD: the length of the body it would have had, no body. */
    exchange("HEAD /s/200 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
    assert_non_null(strstr(buf, "\r\nContent-Length: 1\r\n"));
    assert_true(strcmp(buf + strlen(buf) - 4, "\r\n\r\n") == 0);
}

static void handler_headers(void **state)
{
    char buf[2048];

    /* The handler's Date and Server win (a proxied answer keeps the origin's). */
    exchange("GET /hdr/date HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(tu_count(buf, "ate: "), 1);
    assert_non_null(strstr(buf, "\r\ndate: Mon, 01 Jan 2001 00:00:00 GMT\r\n"));
    exchange("GET /hdr/server HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(tu_count(buf, "Server: "), 1);
    assert_non_null(strstr(buf, "\r\nServer: upstream/1\r\n"));
    /* A header that cannot be sent is refused, and nothing broken goes out. */
    exchange("GET /bad/name HTTP/1.1\r\nHost: a\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(atomic_load(&rc1), WDN_EINVAL);
    assert_string_equal(buf, "");
    exchange("GET /bad/value HTTP/1.1\r\nHost: a\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(atomic_load(&rc1), WDN_EINVAL);
    assert_string_equal(buf, "");
    assert_null(strstr(buf, "Injected"));
    exchange("GET /bad/status HTTP/1.1\r\nHost: a\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(atomic_load(&rc1), WDN_EINVAL);
    assert_string_equal(buf, "");
    exchange("GET /bad/low HTTP/1.1\r\nHost: a\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(atomic_load(&rc1), WDN_EINVAL);
    assert_string_equal(buf, "");
    exchange("GET /start-bad HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(atomic_load(&rc1), WDN_EINVAL);
    assert_true(strncmp(buf, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0);
    assert_non_null(strstr(buf, "\r\n\r\nfallback"));
}

static void streamed(void **state)
{
    char buf[2048];

    /* HTTP/1.1 without a length: chunked, a copied write and a zero-copy one. */
    exchange("GET /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(atomic_load(&rc1), 0);
    assert_int_equal(atomic_load(&rc2), 0);
    assert_int_equal(atomic_load(&rc3), 0);
    assert_non_null(strstr(buf, "\r\nTransfer-Encoding: chunked\r\n"));
    assert_non_null(strstr(buf, "\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"));
    assert_int_equal(atomic_load(&cb_status), 0); /* it ended the answer the client read */
    /* HTTP/1.0: no chunked encoding, the end of the body is the end of the connection. */
    exchange("GET /stream HTTP/1.0\r\nHost: a\r\n\r\n", buf, sizeof(buf));
    assert_null(strstr(buf, "Transfer-Encoding"));
    assert_null(strstr(buf, "Content-Length"));
    assert_non_null(strstr(buf, "\r\nConnection: close\r\n\r\nabcdefg"));
    /* HEAD: announced as chunked, nothing written. */
    exchange("HEAD /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(atomic_load(&rc1), WDN_EINVAL);
    assert_int_equal(atomic_load(&rc2), WDN_EINVAL);
    assert_true(strcmp(buf + strlen(buf) - 4, "\r\n\r\n") == 0);
    assert_null(strstr(buf, "abc"));
    /* 204: no body allowed, no framing headers; an empty write is fine. */
    exchange("GET /stream/204 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(atomic_load(&rc1), WDN_EINVAL);
    assert_int_equal(atomic_load(&rc2), 0);
    assert_int_equal(atomic_load(&rc3), 0);
    assert_true(strncmp(buf, "HTTP/1.1 204 No Content\r\n", 25) == 0);
    assert_null(strstr(buf, "Transfer-Encoding"));
    assert_null(strstr(buf, "Content-Length"));
    /* A write past the announced length is refused; the length is then met. */
    exchange("GET /stream/len HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(atomic_load(&rc1), WDN_EINVAL);
    assert_int_equal(atomic_load(&rc2), 0);
    assert_int_equal(atomic_load(&rc3), 0);
    assert_non_null(strstr(buf, "\r\nContent-Length: 3\r\n"));
    assert_non_null(strstr(buf, "\r\n\r\nabc"));
    /* Fewer bytes than announced: the connection is closed so the client sees the truncation. */
    exchange("GET /stream/short HTTP/1.1\r\nHost: a\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(atomic_load(&rc1), 0);
    assert_int_equal(atomic_load(&rc3), WDN_EINVAL);
    assert_non_null(strstr(buf, "\r\nContent-Length: 10\r\n"));
    assert_true(strcmp(buf + strlen(buf) - 3, "abc") == 0);
    /* Aborted before anything was written: the head is never sent. */
    exchange("GET /stream/abort HTTP/1.1\r\nHost: a\r\n\r\n", buf, sizeof(buf));
    assert_string_equal(buf, "");
    /* A second start is refused. */
    exchange("GET /twice HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", buf, sizeof(buf));
    assert_int_equal(atomic_load(&rc1), WDN_ESTATE);
    assert_int_equal(atomic_load(&rc2), 0);
    assert_non_null(strstr(buf, "\r\n\r\nz"));
}

static void connection_rules(void **state)
{
    char buf[2048];
    int closed = 0, fd;

    /* HTTP/1.0 asking for keep-alive gets it, said back. */
    fd = testnet_connect(port, 10000);
    assert_true(fd >= 0);
    assert_int_equal(
        testnet_send_all(fd, "GET /s/200 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 47), 0);
    tu_recv_until(fd, buf, sizeof(buf), "\r\n\r\nx", 1, 10000, &closed);
    assert_int_equal(closed, 0);
    assert_non_null(strstr(buf, "\r\nConnection: keep-alive\r\n"));
    close(fd);
    /* A body announced with Expect: 100-continue and never read: the final answer comes at
     * once, without a 100, and says the connection will not be reused. */
    fd = testnet_connect(port, 10000);
    assert_true(fd >= 0);
    {
        const char *r = "POST /s/200 HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                        "Content-Length: 5\r\n\r\n";
        assert_int_equal(testnet_send_all(fd, r, strlen(r)), 0);
    }
    tu_recv_until(fd, buf, sizeof(buf), "\r\n\r\nx", 1, 10000, &closed);
    close(fd);
    assert_true(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
    assert_null(strstr(buf, "100 Continue"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reason_phrases),
        cmocka_unit_test(handler_headers),
        cmocka_unit_test(streamed),
        cmocka_unit_test(connection_rules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
