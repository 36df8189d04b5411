/* The proxy (src/http/proxy.c over the client in client_exchange.c) against an upstream that
 * writes raw bytes (tests/unit/support/fakehttp.c), driven by raw sockets: interim 1xx heads
 * skipped, HEAD answers keeping the upstream's Content-Length without a body, 204 and 304 without
 * framing, 101 and malformed heads answered 502, a body cut short ending the client's connection,
 * a bad chunked body too, an upstream that closes without answering; and a client body that
 * breaks on the way (400) or grows past the server's limit (413). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "http/client.h"
#include "http/proxy.h"
#include "http/server.h"
#include "test_server_util.h"
#include "../support/fakehttp.h"

static void send_str(int fd, const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void upstream(void *ud, const struct fakehttp_req *req)
{
    const char *t = req->target;

    if (strcmp(t, "/interim") == 0)
        send_str(req->fd,
                 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                 "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
    else if (strcmp(t, "/head") == 0)
        send_str(req->fd,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/x\r\nContent-Length: 1000\r\n\r\n");
    else if (strcmp(t, "/204") == 0)
        send_str(req->fd, "HTTP/1.1 204 No Content\r\nX-Up: 1\r\n\r\n");
    else if (strcmp(t, "/304") == 0)
        send_str(req->fd, "HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\n\r\n");
    else if (strcmp(t, "/101") == 0)
        send_str(req->fd,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n");
    else if (strcmp(t, "/malformed") == 0)
        send_str(req->fd, "HTTP/1.1 200 OK\r\nno colon\r\n\r\n");
    else if (strcmp(t, "/cut") == 0)
        send_str(req->fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    else if (strcmp(t, "/badchunk") == 0)
        send_str(req->fd,
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n");
    else if (strcmp(t, "/silent-close") == 0)
        ; /* closes without a byte */
    else if (strcmp(t, "/slow") == 0)
        sleep(3); /* long after the proxy answered the client's broken body; then closes */
    else
        send_str(req->fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

static struct {
    struct fakehttp *up;
    struct wdn_http_proxy *proxy;
    struct wdn_http_server *px;
    struct wdn_http_handler *chain[1];
    int port;
} F;

static int setup(void **state)
{
    struct wdn_http_proxy_config pcfg = {
        .upstream = {.host = "127.0.0.1", .response_timeout_ms = 5000, .connect_timeout_ms = 5000},
    };
    static struct wdn_http_server_config cfg = {
        .listen = "127.0.0.1:0", .workers = 1, .max_body_bytes = 64};

    signal(SIGPIPE, SIG_IGN);
    F.up = fakehttp_start(upstream, NULL);
    if (F.up == NULL)
        return -1;
    pcfg.upstream.port = fakehttp_port(F.up);
    if (wdn_http_proxy_new(&pcfg, &F.proxy) != 0)
        return -1;
    F.chain[0] = wdn_http_proxy_handler(F.proxy);
    cfg.handlers = F.chain;
    cfg.nhandlers = 1;
    if (wdn_http_server_start(&cfg, &F.px) != 0)
        return -1;
    F.port = wdn_http_server_port(F.px);
    return 0;
}

static int teardown(void **state)
{
    wdn_http_server_stop(F.px);
    wdn_http_server_free(F.px);
    wdn_http_proxy_free(F.proxy);
    fakehttp_stop(F.up);
    return 0;
}

/* One request through the proxy; reads until the proxy closes. *closed tells whether it did. */
static void through(const char *method, const char *path, char *buf, size_t cap)
{
    char req[256];
    int closed = 0, fd = testnet_connect(F.port, 15000);

    assert_true(fd >= 0);
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", method,
             path);
    assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
    assert_true(testnet_recv_until_close(fd, buf, cap, &closed) >= 0);
    close(fd);
    assert_int_equal(closed, 1);
}

static void heads_and_framing(void **state)
{
    char buf[4096];

    /* 1xx heads are the upstream's business: the client sees the final answer only. */
    through("GET", "/interim", buf, sizeof(buf));
    assert_true(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_null(strstr(buf, "100 Continue"));
    assert_null(strstr(buf, "Early Hints"));
    assert_non_null(strstr(buf, "\r\n\r\nfinal"));
    /* HEAD: the upstream's length goes through, and no body. */
    through("HEAD", "/head", buf, sizeof(buf));
    assert_true(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(buf, "\r\nContent-Length: 1000\r\n"));
    assert_true(strcmp(buf + strlen(buf) - 4, "\r\n\r\n") == 0);
    /* 204 and 304: no body and no framing headers. */
    through("GET", "/204", buf, sizeof(buf));
    assert_true(strncmp(buf, "HTTP/1.1 204 No Content\r\n", 25) == 0);
    assert_non_null(strstr(buf, "\r\nX-Up: 1\r\n"));
    assert_null(strstr(buf, "Content-Length"));
    assert_null(strstr(buf, "Transfer-Encoding"));
    through("GET", "/304", buf, sizeof(buf));
    assert_true(strncmp(buf, "HTTP/1.1 304 Not Modified\r\n", 27) == 0);
    assert_non_null(strstr(buf, "\r\nETag: \"e\"\r\n"));
}

static void broken_upstreams(void **state)
{
    char buf[4096];

    /* Nothing usable before a head: 502. */
    through("GET", "/101", buf, sizeof(buf));
    assert_true(strncmp(buf, "HTTP/1.1 502 Bad Gateway\r\n", 26) == 0);
    through("GET", "/malformed", buf, sizeof(buf));
    assert_true(strncmp(buf, "HTTP/1.1 502 Bad Gateway\r\n", 26) == 0);
    through("GET", "/silent-close", buf, sizeof(buf));
    assert_true(strncmp(buf, "HTTP/1.1 502 Bad Gateway\r\n", 26) == 0);
    /* Broken after the head went out: the client's connection ends, the body short. */
    through("GET", "/cut", buf, sizeof(buf));
    assert_true(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(buf, "\r\nContent-Length: 10\r\n"));
    assert_true(strcmp(buf + strlen(buf) - 3, "abc") == 0);
    through("GET", "/badchunk", buf, sizeof(buf));
    assert_true(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_null(strstr(buf, "\r\n0\r\n\r\n")); /* never a clean end */
    /* The proxy still works. */
    through("GET", "/", buf, sizeof(buf));
    assert_non_null(strstr(buf, "\r\n\r\nok"));
}

/* The client's body breaks on the way: the proxy answers for it (the upstream has not). */
static void client_body_broken(void **state)
{
    char buf[4096];
    int closed = 0, fd;
    static const struct {
        const char *req;
        const char *line;
    } cases[] = {
        {"POST /slow HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
         "HTTP/1.1 400 Bad Request\r\n"},
        {"POST /slow HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
         "50\r\n01234567890123456789012345678901234567890123456789012345678901234567890123456789"
         "\r\n",
         "HTTP/1.1 413 Content Too Large\r\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fd = testnet_connect(F.port, 15000);
        assert_true(fd >= 0);
        assert_int_equal(testnet_send_all(fd, cases[i].req, strlen(cases[i].req)), 0);
        tu_recv_until(fd, buf, sizeof(buf), "\r\n\r\n", 1, 15000, &closed);
        close(fd);
        if (strncmp(buf, cases[i].line, strlen(cases[i].line)) != 0)
            fail_msg("case %zu: %.60s", i, buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heads_and_framing),
        cmocka_unit_test(broken_upstreams),
        cmocka_unit_test(client_body_broken),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
