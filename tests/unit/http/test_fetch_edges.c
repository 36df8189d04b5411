/* Edge cases of the blocking client (src/http/fetch.c) beside test_fetch.c, against a scripted
 * server (tests/unit/support/fakehttp.c) that writes raw bytes: requests refused before anything
 * is sent (method, header shape, control characters, headers the client sets itself, size),
 * what the request head carries, malformed or oversized response heads, 101, malformed chunked
 * bodies, HEAD, streaming callbacks that refuse, and CONNECT proxies that refuse the tunnel
 * (407, other statuses, data after the response). Each refusal with its code and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "../support/fakehttp.h"

static struct fakehttp *fh;
static char url[512];
static char last_head[8192]; /* the request head the server saw last */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void send_raw(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_raw(fd, s, strlen(s));
}

/* Answers by path (or, for CONNECT, by the host asked for). */
static void serve(void *ud, const struct fakehttp_req *req)
{
    const char *t = req->target;
    char big[40000];
    size_t i;

    pthread_mutex_lock(&mu);
    snprintf(last_head, sizeof(last_head), "%s %s\r\n%s", req->method, req->target, req->head);
    pthread_mutex_unlock(&mu);
    if (strcmp(req->method, "CONNECT") == 0) {
        if (strncmp(t, "p407.", 5) == 0)
            send_str(req->fd, "HTTP/1.1 407 Proxy Authentication Required\r\n"
                              "Proxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n");
        else if (strncmp(t, "p502.", 5) == 0)
            send_str(req->fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        else if (strncmp(t, "p100.", 5) == 0)
            send_str(req->fd, "HTTP/1.1 101 Switching Protocols\r\n\r\n");
        else if (strncmp(t, "pextra.", 7) == 0)
            send_str(req->fd, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01");
        else if (strncmp(t, "pgarbage.", 9) == 0)
            send_str(req->fd, "HTTP/1.1 200\r\nno colon here\r\n\r\n");
        return;
    }
    if (strcmp(t, "/101") == 0) {
        send_str(req->fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\n\r\n");
    } else if (strcmp(t, "/interim") == 0) {
        send_str(req->fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                          "Link: </a>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n"
                          "Content-Length: 2\r\n\r\nok");
    } else if (strcmp(t, "/malformed") == 0) {
        send_str(req->fd, "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n");
    } else if (strcmp(t, "/badstatus") == 0) {
        send_str(req->fd, "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(t, "/notjson") == 0) {
        send_str(req->fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
    } else if (strcmp(t, "/manyheaders") == 0) {
        send_str(req->fd, "HTTP/1.1 200 OK\r\n");
        for (i = 0; i <= WDN_HTTP_MAX_HEADERS; i++) {
            snprintf(big, sizeof(big), "X-H%zu: v\r\n", i);
            send_str(req->fd, big);
        }
        send_str(req->fd, "Content-Length: 0\r\n\r\n");
    } else if (strcmp(t, "/bighead") == 0) {
        /* One header of 2000 bytes: over a small max_head, still incomplete when cut. */
        send_str(req->fd, "HTTP/1.1 200 OK\r\nX-Big: ");
        memset(big, 'b', 2000);
        send_raw(req->fd, big, 2000);
        send_str(req->fd, "\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(t, "/cut-head") == 0) {
        send_str(req->fd, "HTTP/1.1 200 OK\r\nContent-Le");
    } else if (strcmp(t, "/badchunk") == 0) {
        send_str(req->fd,
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n");
    } else if (strcmp(t, "/bigchunks") == 0) {
        send_str(req->fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (i = 0; i < 4; i++)
            send_str(req->fd, "10\r\n0123456789abcdef\r\n");
        send_str(req->fd, "0\r\n\r\n");
    } else if (strcmp(t, "/cut-chunked") == 0) {
        send_str(req->fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab");
    } else if (strcmp(t, "/head") == 0) {
        /* A HEAD answer announces a length and sends no body. */
        send_str(req->fd,
                 "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/x\r\n\r\n");
    } else if (strcmp(t, "/long") == 0) {
        send_str(req->fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
    } else {
        send_str(req->fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    }
}

/* The request head the server saw last (copied: no assertion runs under the lock). */
static const char *seen_head(void)
{
    static char copy[sizeof(last_head)];

    pthread_mutex_lock(&mu);
    memcpy(copy, last_head, sizeof(copy));
    pthread_mutex_unlock(&mu);
    return copy;
}

static const char *U(const char *path)
{
    fakehttp_url(fh, path, url, sizeof(url));
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
    signal(SIGPIPE, SIG_IGN);
    clear_proxy_env();
    fh = fakehttp_start(serve, NULL);
    return fh != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    fakehttp_stop(fh);
    clear_proxy_env();
    return 0;
}

/* A request that must fail with code and a message holding msg. */
static void fails(const struct wdn_fetch_request *req, int code, const char *msg)
{
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    int rc = wdn_fetch(req, &r, &d);

    if (rc != code || strstr(d.msg, msg) == NULL)
        fail_msg("%s: expected %d \"%s\", got %d \"%s\"", req->url, code, msg, rc, d.msg);
    wdn_fetch_response_reset(&r);
}

static void refused_before_sending(void **state)
{
    char longm[64], bigh[WDN_FETCH_MAX_REQUEST_HEAD_BYTES + 16];
    const char *const no_colon[] = {"Accept: a", "X-No-Colon", NULL};
    const char *const bad_name[] = {"X Bad: v", NULL};
    const char *const empty_name[] = {": v", NULL};
    const char *const ctl[] = {"X-A: a\r\nInjected: yes", NULL};
    const char *const del[] = {"X-A: a\x7f", NULL};
    const char *const host[] = {"host: evil.example", NULL};
    const char *const cl[] = {"Content-Length: 5", NULL};
    const char *const te[] = {"Transfer-Encoding: chunked", NULL};
    const char *const conn[] = {"Connection: keep-alive", NULL};
    const char *const big[] = {bigh, NULL};
    struct wdn_fetch_request req = {.url = U("/"), .timeout_ms = 10000};

    memset(longm, 'M', 40);
    longm[40] = '\0';
    req.method = longm;
    fails(&req, WDN_EINVAL, "invalid method");
    req.method = "GE T";
    fails(&req, WDN_EINVAL, "invalid method");
    req.method = "";
    fails(&req, WDN_EINVAL, "invalid method");
    req.method = NULL;
    req.headers = no_colon;
    fails(&req, WDN_EINVAL, "request header 2 is not \"Name: value\"");
    req.headers = bad_name;
    fails(&req, WDN_EINVAL, "request header 1 is not \"Name: value\"");
    req.headers = empty_name;
    fails(&req, WDN_EINVAL, "request header 1 is not \"Name: value\"");
    req.headers = ctl;
    fails(&req, WDN_EINVAL, "request header X-A holds a control character");
    req.headers = del;
    fails(&req, WDN_EINVAL, "request header X-A holds a control character");
    req.headers = host;
    fails(&req, WDN_EINVAL, "request header host is set by the client itself");
    req.headers = cl;
    fails(&req, WDN_EINVAL, "request header Content-Length is set by the client itself");
    req.headers = te;
    fails(&req, WDN_EINVAL, "request header Transfer-Encoding is set by the client itself");
    req.headers = conn;
    fails(&req, WDN_EINVAL, "request header Connection is set by the client itself");
    memcpy(bigh, "X-Big: ", 7);
    memset(bigh + 7, 'x', sizeof(bigh) - 8);
    bigh[sizeof(bigh) - 1] = '\0';
    req.headers = big;
    fails(&req, WDN_ELIMIT, "request headers larger than 65536 bytes");
    /* None of them reached the server. */
    assert_string_equal(seen_head(), "");
}

static void request_head(void **state)
{
    const char *const mine[] = {"User-Agent: probe/1", "accept: application/json", "X-Tab: a\tb",
                                NULL};
    struct wdn_fetch_request req = {.timeout_ms = 10000};
    struct wdn_fetch_response r;
    const char *h;
    char q[300];

    /* Our User-Agent and Accept give way to the caller's; a query without a path gets "/". */
    snprintf(q, sizeof(q), "http://127.0.0.1:%d?x=1", fakehttp_port(fh));
    req.url = q;
    req.headers = mine;
    req.method = "POST";
    req.body = "{}";
    req.body_len = 2;
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0);
    assert_string_equal(wdn_buf_cstr(&r.body), "hello");
    wdn_fetch_response_reset(&r);
    h = seen_head();
    assert_true(strncmp(h, "POST /?x=1\r\n", 12) == 0);
    assert_non_null(strstr(h, "User-Agent: probe/1\r\n"));
    assert_null(strstr(h, "User-Agent: warden/"));
    assert_non_null(strstr(h, "accept: application/json\r\n"));
    assert_null(strstr(h, "Accept: */*"));
    assert_non_null(strstr(h, "X-Tab: a\tb\r\n"));
    assert_non_null(strstr(h, "Content-Length: 2\r\n"));
    assert_non_null(strstr(h, "\r\nConnection: close")); /* the head's last line */
    /* Without a body, no Content-Length; the default headers are there. */
    req.url = U("/");
    req.headers = NULL;
    req.method = "DELETE";
    req.body = NULL;
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0);
    wdn_fetch_response_reset(&r);
    h = seen_head();
    assert_true(strncmp(h, "DELETE /\r\n", 10) == 0);
    assert_non_null(strstr(h, "User-Agent: warden/"));
    assert_non_null(strstr(h, "Accept: */*\r\n"));
    assert_null(strstr(h, "Content-Length"));
}

static void bad_responses(void **state)
{
    struct wdn_fetch_request req = {.timeout_ms = 10000};
    struct wdn_fetch_response r;

    req.url = U("/101");
    fails(&req, WDN_EIO, "unexpected 101 Switching Protocols");
    req.url = U("/malformed");
    fails(&req, WDN_EIO, "malformed response: ");
    req.url = U("/badstatus");
    fails(&req, WDN_EIO, "malformed response: ");
    req.url = U("/notjson");
    fails(&req, WDN_EIO, "malformed response: ");
    req.url = U("/manyheaders");
    fails(&req, WDN_ELIMIT, "response head too large: ");
    req.url = U("/cut-head");
    fails(&req, WDN_ECONNRESET,
          "the server closed the connection in the middle of the response head");
    req.url = U("/badchunk");
    fails(&req, WDN_EIO, "malformed chunked body: ");
    req.url = U("/cut-chunked");
    fails(&req, WDN_ECONNRESET, "the server closed the connection in the middle of a chunked body");
    /* A small head cap: the head is refused while still incomplete. */
    req.url = U("/bighead");
    req.max_head = 1024;
    fails(&req, WDN_ELIMIT, "response head larger than 1024 bytes");
    req.max_head = 0;
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0); /* the parser's own cap is larger */
    wdn_fetch_response_reset(&r);
    /* Body caps: chunked pieces add up, a length is refused at once. */
    req.url = U("/bigchunks");
    req.max_response = 40;
    fails(&req, WDN_ELIMIT, "response body larger than 40 bytes");
    req.max_response = 64;
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0);
    assert_int_equal(r.body.len, 64);
    wdn_fetch_response_reset(&r);
    req.url = U("/long");
    req.max_response = 9;
    fails(&req, WDN_ELIMIT, "response body of 10 bytes is larger than 9");
    /* 1xx heads are skipped. */
    req.max_response = 0;
    req.url = U("/interim");
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(wdn_buf_cstr(&r.body), "ok");
    wdn_fetch_response_reset(&r);
    /* HEAD: the announced length is not read. */
    req.url = U("/head");
    req.method = "HEAD";
    assert_int_equal(wdn_fetch(&req, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/x");
    assert_int_equal(r.body.len, 0);
    wdn_fetch_response_reset(&r);
}

/* ---- streaming callbacks ---- */

struct seen {
    int heads, bodies;
    size_t bytes;
    int head_rc, body_rc;
};

static int on_head(void *ud, const struct wdn_fetch_head *h)
{
    struct seen *s = ud;

    s->heads++;
    return s->head_rc;
}

static int on_body(void *ud, const char *p, size_t n)
{
    struct seen *s = ud;

    s->bodies++;
    s->bytes += n;
    return s->body_rc;
}

static void streaming(void **state)
{
    struct wdn_fetch_request req = {.url = U("/long"), .timeout_ms = 10000};
    struct seen s = {0};
    struct wdn_fetch_callbacks cb = {on_head, on_body, &s};
    struct wdn_fetch_callbacks head_only = {on_head, NULL, &s};
    struct wdn_diag d = {0};
    long status = -1;

    /* A head refused with an error: that error, said as the caller's refusal. */
    s.head_rc = WDN_EDENIED;
    assert_int_equal(wdn_fetch_stream(&req, &cb, &status, &d), WDN_EDENIED);
    assert_non_null(strstr(d.msg, "the response was refused: "));
    assert_int_equal(status, 200);
    assert_int_equal(s.bodies, 0);
    /* A head that ends the transfer: success, no body read. */
    s.head_rc = 1;
    assert_int_equal(wdn_fetch_stream(&req, &cb, &status, NULL), 0);
    assert_int_equal(s.bodies, 0);
    /* A body refused with an error. */
    s.head_rc = 0;
    s.body_rc = WDN_EPROTO;
    assert_int_equal(wdn_fetch_stream(&req, &cb, NULL, &d), WDN_EPROTO);
    assert_non_null(strstr(d.msg, "the response was refused while reading its body"));
    /* Without on_body the body is read and dropped (its cap still applies). */
    s.bodies = 0;
    assert_int_equal(wdn_fetch_stream(&req, &head_only, &status, NULL), 0);
    assert_int_equal(s.bodies, 0);
    req.max_response = 5;
    assert_int_equal(wdn_fetch_stream(&req, &head_only, &status, &d), WDN_ELIMIT);
    /* No callbacks at all. */
    req.max_response = 0;
    assert_int_equal(wdn_fetch_stream(&req, NULL, &status, NULL), 0);
    assert_int_equal(status, 200);
}

/* ---- CONNECT proxies that refuse ---- */

static void connect_refusals(void **state)
{
    struct wdn_fetch_request req = {.timeout_ms = 10000};
    const char *h;
    char proxy[96];

    snprintf(proxy, sizeof(proxy), "http://user:secret@127.0.0.1:%d", fakehttp_port(fh));
    setenv("https_proxy", proxy, 1);
    req.url = "https://p407.example.com/";
    fails(&req, WDN_EAUTH, "the proxy requires authentication (407)");
    h = seen_head();
    assert_true(strncmp(h, "CONNECT p407.example.com:443\r\n", 30) == 0);
    assert_non_null(strstr(h, "Host: p407.example.com:443\r\n"));
    /* base64("user:secret") */
    assert_non_null(strstr(h, "Proxy-Authorization: Basic dXNlcjpzZWNyZXQ="));
    req.url = "https://p502.example.com:8443/x";
    fails(&req, WDN_ECONNREFUSED, "the proxy refused the tunnel with status 502");
    req.url = "https://p100.example.com/";
    fails(&req, WDN_EIO, "unexpected 101 Switching Protocols");
    req.url = "https://pextra.example.com/";
    fails(&req, WDN_EIO, "the proxy sent data after its CONNECT response");
    req.url = "https://pgarbage.example.com/";
    fails(&req, WDN_EIO, "malformed response: ");
    /* public_only never uses a proxy from the environment: no DNS for the name here. */
    req.url = "https://p407.example.invalid/";
    req.public_only = true;
    {
        struct wdn_fetch_response r;
        struct wdn_diag d = {0};
        assert_int_not_equal(wdn_fetch(&req, &r, &d), WDN_EAUTH);
        wdn_fetch_response_reset(&r);
    }
    clear_proxy_env();
}

/* ---- a raw TCP peer: reads what comes first, answers reply (may be ""), closes ---- */

struct raw {
    int lfd, port;
    const char *reply;
    pthread_t th;
};

static void *raw_main(void *arg)
{
    struct raw *r = arg;
    struct timeval tv = {2, 0};
    char buf[4096];
    int fd;

    while ((fd = accept(r->lfd, NULL, NULL)) >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (recv(fd, buf, sizeof(buf), 0) > 0)
            send_str(fd, r->reply);
        close(fd);
    }
    return NULL;
}

static void raw_start(struct raw *r, const char *reply)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->reply = reply;
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->lfd >= 0);
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(r->lfd, 8), 0);
    assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&a, &len), 0);
    r->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&r->th, NULL, raw_main, r), 0);
}

static void raw_stop(struct raw *r)
{
    shutdown(r->lfd, SHUT_RDWR); /* ends the accept */
    pthread_join(r->th, NULL);
    close(r->lfd);
}

/* TLS with a peer that does not speak it: refused with WDN_ETLS, said. */
static void tls_peers(void **state)
{
    struct wdn_fetch_request req = {.timeout_ms = 10000};
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    struct raw plain, gone;
    char u[96];

    raw_start(&plain, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    snprintf(u, sizeof(u), "https://127.0.0.1:%d/", plain.port);
    req.url = u;
    assert_int_equal(wdn_fetch(&req, &r, &d), WDN_ETLS);
    assert_non_null(strstr(d.msg, "TLS handshake failed"));
    wdn_fetch_response_reset(&r);
    raw_stop(&plain);
    raw_start(&gone, "");
    snprintf(u, sizeof(u), "https://127.0.0.1:%d/", gone.port);
    assert_int_equal(wdn_fetch(&req, &r, &d), WDN_ETLS);
    assert_non_null(strstr(d.msg, "closed the connection during the TLS handshake"));
    wdn_fetch_response_reset(&r);
    raw_stop(&gone);
}

/* A server that stops reading and closes while a large body is still being sent. */
static void body_cut_off(void **state)
{
    size_t n = 32u << 20;
    char *body = malloc(n);
    struct wdn_fetch_request req = {.url = U("/"), .method = "POST", .timeout_ms = 30000};
    struct wdn_fetch_response r;
    struct wdn_diag d = {0};
    int rc;

    assert_non_null(body);
    memset(body, 'b', n);
    req.body = body;
    req.body_len = n;
    rc = wdn_fetch(&req, &r, &d);
    /* Lost while sending, or (when the kernel took it all) closed with no answer. */
    if (rc != WDN_ECONNRESET ||
        (strstr(d.msg, "connection lost while sending the request") == NULL &&
         strstr(d.msg, "closed the connection without a response") == NULL &&
         strstr(d.msg, "connection reset") == NULL))
        fail_msg("got %d \"%s\"", rc, d.msg);
    wdn_fetch_response_reset(&r);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_before_sending), cmocka_unit_test(request_head),
        cmocka_unit_test(bad_responses),          cmocka_unit_test(streaming),
        cmocka_unit_test(connect_refusals),       cmocka_unit_test(tls_peers),
        cmocka_unit_test(body_cut_off),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
