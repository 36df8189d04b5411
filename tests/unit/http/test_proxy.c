/* Proxy tests: a real upstream server and the proxy handler, both in-process on their own
 * worker threads, driven by raw sockets: SSE events flowing one by one, bodies streaming both
 * ways, hop-by-hop headers dropped, header hooks, upstream down (502), silent (504), reset
 * before the head (502) and mid-body (client connection closed), clients vanishing. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <pthread.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/str.h"
#include "http/proxy.h"
#include "http/server.h"
#include "test_server_util.h"

static atomic_int g_release_event2; /* the test lets the upstream send SSE event 2 */
static atomic_int g_upstream_gone;  /* upstream streams that saw their client (the proxy) go */
static atomic_int g_upstream_reqs;

static const struct wdn_http_header text = {{"Content-Type", 12}, {"text/plain", 10}};

/* 200000 numbered lines, built once before the servers start. */
#define BIG_BYTES 2000000
static char g_big[BIG_BYTES + 1];

static void big_init(void)
{
    for (int i = 0; i < 200000; i++) {
        int v = i;
        for (int d = 8; d >= 0; d--) {
            g_big[10 * i + d] = (char)('0' + v % 10);
            v /= 10;
        }
        g_big[10 * i + 9] = '\n';
    }
}

/* ---- The upstream ------------------------------------------------------------------------- */

struct up_stream {
    uv_timer_t timer;
    struct wdn_http_req *req;
    int step;
    bool gone;
    bool sse;
};

static void up_closed(uv_handle_t *h)
{
    free(h->data);
}

/* The proxy let go of this upstream request: end it and stop its timer. */
static void up_gone(struct wdn_http_req *req, void *ud)
{
    struct up_stream *s = ud;
    s->gone = true;
    atomic_fetch_add(&g_upstream_gone, 1);
    wdn_http_resp_end(s->req);
    uv_close((uv_handle_t *)&s->timer, up_closed);
}

static void up_tick(uv_timer_t *t)
{
    struct up_stream *s = t->data;

    if (s->sse) {
        /* Event 1 at once; event 2 only when the test has seen event 1; then the end. */
        if (s->step == 0) {
            wdn_http_resp_write(s->req, WDN_STR("event: m\ndata: one\n\n"), NULL, NULL);
            s->step = 1;
        } else if (s->step == 1 && atomic_load(&g_release_event2)) {
            wdn_http_resp_write(s->req, WDN_STR("event: m\ndata: two\n\n"), NULL, NULL);
            s->step = 2;
        } else if (s->step == 2) {
            wdn_http_resp_end(s->req);
            uv_close((uv_handle_t *)t, up_closed);
        }
        return;
    }
    /* Endless stream until the proxy lets go. */
    wdn_http_resp_write(s->req, WDN_STR("data: tick\n\n"), NULL, NULL);
}

static void up_echo(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    if (status < 0) {
        wdn_http_respond(req, 400, &text, 1, WDN_STR("bad\n"));
        return;
    }
    wdn_http_respond(req, 200, &text, 1, body);
}

static int up_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    const struct wdn_http_request *h = wdn_http_req_head(req);
    struct wdn_str path = h->path;

    atomic_fetch_add(&g_upstream_reqs, 1);
    if (wdn_str_eq_cstr(path, "/sse") || wdn_str_eq_cstr(path, "/endless")) {
        static const struct wdn_http_header sse = {{"Content-Type", 12}, {"text/event-stream", 17}};
        struct up_stream *s = calloc(1, sizeof(*s));
        s->req = req;
        s->sse = wdn_str_eq_cstr(path, "/sse");
        s->timer.data = s;
        uv_timer_init(wdn_http_req_loop(req), &s->timer);
        wdn_http_req_on_gone(req, up_gone, s);
        wdn_http_resp_start(req, 200, &sse, 1, WDN_HTTP_LENGTH_UNKNOWN);
        uv_timer_start(&s->timer, up_tick, 10, 10);
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/echo")) {
        wdn_http_req_read_all(req, 0, up_echo, NULL);
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/headers")) {
        /* Echo what arrived, so the test can see which headers were forwarded. */
        struct wdn_buf b;
        wdn_buf_init(&b, 1 << 16);
        for (size_t i = 0; i < h->nheaders; i++)
            wdn_buf_printf(&b, "%.*s=%.*s\n", WDN_STR_FMT(h->headers[i].name),
                           WDN_STR_FMT(h->headers[i].value));
        /* Hop-by-hop headers in the response too (a test may write Connection itself). */
        static const struct wdn_http_header extra[] = {
            {{"Content-Type", 12}, {"text/plain", 10}},
            {{"Connection", 10}, {"x-secret-hop", 12}},
            {{"X-Secret-Hop", 12}, {"no", 2}},
            {{"Keep-Alive", 10}, {"timeout=5", 9}},
            {{"X-Up", 4}, {"yes", 3}},
        };
        wdn_http_respond(req, 200, extra, 5, wdn_buf_str(&b));
        wdn_buf_reset(&b);
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/truncate")) {
        /* Announce 1000 bytes, send 10, then break the connection. */
        wdn_http_resp_start(req, 200, &text, 1, 1000);
        wdn_http_resp_write(req, WDN_STR("0123456789"), NULL, NULL);
        wdn_http_resp_abort(req);
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/nohead")) {
        wdn_http_resp_abort(req);
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/silent")) {
        /* Never answers until the proxy gives up and closes. */
        struct up_stream *s = calloc(1, sizeof(*s));
        s->req = req;
        s->timer.data = s;
        uv_timer_init(wdn_http_req_loop(req), &s->timer);
        wdn_http_req_on_gone(req, up_gone, s);
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/big")) {
        wdn_http_respond(req, 200, &text, 1, (struct wdn_str){g_big, BIG_BYTES});
        return 0;
    }
    wdn_http_respond(req, 200, &text, 1, path);
    return 0;
}

static struct wdn_http_handler up_handler = {.on_req = up_on_req};
static struct wdn_http_handler *up_chain[] = {&up_handler};

/* ---- The proxy ---------------------------------------------------------------------------- */

static int add_headers(struct wdn_http_req *req, struct wdn_http_hdrs *h, void *ud)
{
    wdn_http_hdrs_remove(h, WDN_STR("dapr-caller-app-id"));
    return wdn_http_hdrs_add(h, WDN_STR("dapr-caller-app-id"), WDN_STR("trusted"));
}

struct fixture {
    struct wdn_http_server *up;
    struct wdn_http_server *px;
    struct wdn_http_proxy *proxy;
    struct wdn_http_handler *px_chain[1];
    int up_port;
    int px_port;
    struct rst_up *raw;
};

static int start(void **state, int upstream_port)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct wdn_http_server_config ucfg = {
        .listen = "127.0.0.1:0",
        .workers = 1,
        .handlers = up_chain,
        .nhandlers = 1,
    };
    struct wdn_http_proxy_config pcfg = {
        .upstream = {.host = "127.0.0.1", .response_timeout_ms = 500, .connect_timeout_ms = 1000},
        .hooks = {.request_headers = add_headers},
    };
    struct wdn_http_server_config pxcfg = {.listen = "127.0.0.1:0", .workers = 1};

    if (upstream_port == 0) {
        if (wdn_http_server_start(&ucfg, &f->up) != 0)
            return -1;
        f->up_port = wdn_http_server_port(f->up);
    } else {
        f->up_port = upstream_port;
    }
    pcfg.upstream.port = f->up_port;
    if (wdn_http_proxy_new(&pcfg, &f->proxy) != 0)
        return -1;
    f->px_chain[0] = wdn_http_proxy_handler(f->proxy);
    pxcfg.handlers = f->px_chain;
    pxcfg.nhandlers = 1;
    if (wdn_http_server_start(&pxcfg, &f->px) != 0)
        return -1;
    f->px_port = wdn_http_server_port(f->px);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    atomic_store(&g_release_event2, 0);
    return start(state, 0);
}

static int setup_down(void **state)
{
    return start(state, testnet_free_port());
}

struct rst_up;
static void rst_up_stop(struct rst_up *u);

static int teardown(void **state)
{
    struct fixture *f = *state;
    wdn_http_server_free(f->px);
    wdn_http_proxy_free(f->proxy);
    wdn_http_server_free(f->up);
    if (f->raw)
        rst_up_stop(f->raw);
    free(f);
    return 0;
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void test_simple_and_reuse(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    int fd = testnet_connect(f->px_port, 3000);

    for (int i = 0; i < 5; i++) {
        char req[64], want[16];
        snprintf(req, sizeof(req), "GET /p%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
        snprintf(want, sizeof(want), "/p%d", i);
        assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
        tu_recv_until(fd, out, sizeof(out), want, 1, 3000, &closed);
        assert_int_equal(tu_status(out), 200);
        assert_non_null(strstr(out, want));
        assert_int_equal(tu_count(out, "Date:"), 1);
    }
    close(fd);
}

static void test_headers_forwarded(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    const char *r = "GET /headers?q=1 HTTP/1.1\r\nHost: example\r\nX-Keep: 1\r\n"
                    "Connection: keep-alive, x-drop-me\r\nX-Drop-Me: secret\r\n"
                    "Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: b\r\n"
                    "dapr-caller-app-id: forged\r\n\r\n";
    int fd = testnet_connect(f->px_port, 3000);

    assert_int_equal(testnet_send_all(fd, r, strlen(r)), 0);
    tu_recv_until(fd, out, sizeof(out), "X-Keep=1", 1, 3000, &closed);
    close(fd);
    assert_int_equal(tu_status(out), 200);
    assert_non_null(strstr(out, "Host=example\n"));
    assert_non_null(strstr(out, "X-Keep=1\n"));
    assert_null(strstr(out, "X-Drop-Me"));
    assert_null(strstr(out, "Keep-Alive="));
    assert_null(strstr(out, "TE="));
    assert_null(strstr(out, "Proxy-Authorization"));
    assert_null(strstr(out, "forged"));
    assert_non_null(strstr(out, "dapr-caller-app-id=trusted\n"));
    /* Response hop-by-hop headers are dropped too; end-to-end ones pass. */
    assert_null(strstr(out, "Keep-Alive: timeout"));
    assert_null(strstr(out, "X-Secret-Hop"));
    assert_null(strstr(out, "x-secret-hop"));
    assert_non_null(strstr(out, "X-Up: yes\r\n"));
}

static void test_sse_events_one_by_one(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    int fd = testnet_connect(f->px_port, 3000);
    const char *r = "GET /sse HTTP/1.1\r\nHost: a\r\nAccept: text/event-stream\r\n\r\n";

    assert_int_equal(testnet_send_all(fd, r, strlen(r)), 0);
    /* Event 1 must arrive while the upstream is still holding event 2 back. */
    tu_recv_until(fd, out, sizeof(out), "data: one\n\n", 1, 3000, &closed);
    assert_int_equal(tu_status(out), 200);
    assert_non_null(strstr(out, "data: one\n\n"));
    assert_null(strstr(out, "data: two"));
    assert_false(closed);
    atomic_store(&g_release_event2, 1);
    tu_recv_until(fd, out, sizeof(out), "0\r\n\r\n", 1, 3000, &closed);
    assert_non_null(strstr(out, "data: two\n\n"));
    assert_non_null(strstr(out, "\r\n0\r\n\r\n"));
    close(fd);
}

static void test_request_body_streams(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    int fd = testnet_connect(f->px_port, 3000);
    const char *head = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

    assert_int_equal(testnet_send_all(fd, head, strlen(head)), 0);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(testnet_send_all(fd, "2\r\nab\r\n", 7), 0);
        if (i % 10 == 0)
            tu_sleep_ms(5);
    }
    assert_int_equal(testnet_send_all(fd, "0\r\n\r\n", 5), 0);
    tu_recv_until(fd, out, sizeof(out), "abab", 1, 3000, &closed);
    assert_int_equal(tu_status(out), 200);
    assert_non_null(strstr(out, "Content-Length: 100\r\n"));
    /* Content-Length body as well, on the same connection. */
    const char *cl = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nqwerty";
    assert_int_equal(testnet_send_all(fd, cl, strlen(cl)), 0);
    tu_recv_until(fd, out, sizeof(out), "qwerty", 1, 3000, &closed);
    assert_non_null(strstr(out, "qwerty"));
    close(fd);
}

static void test_big_response_intact(void **state)
{
    struct fixture *f = *state;
    size_t cap = 4 << 20;
    char *out = malloc(cap);
    int closed = 0;
    int fd = testnet_connect(f->px_port, 3000);
    const char *r = "GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

    assert_int_equal(testnet_send_all(fd, r, strlen(r)), 0);
    /* Read slowly at first so the proxy has to hold back (backpressure). */
    tu_sleep_ms(200);
    size_t n = tu_recv_until(fd, out, cap, NULL, 0, 5000, &closed);
    close(fd);
    assert_true(closed);
    char *body = strstr(out, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    if ((size_t)(out + n - body) != 2000000)
        print_error("got %zu bytes: %.300s\n", n, out);
    assert_int_equal((size_t)(out + n - body), 2000000);
    assert_memory_equal(body, g_big, BIG_BYTES);
    free(out);
}

static void test_upstream_reset_mid_body(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    const char *r = "GET /truncate HTTP/1.1\r\nHost: a\r\n\r\n";

    int st = tu_raw(f->px_port, r, strlen(r), out, sizeof(out), &closed);
    /* The client sees the head, part of the body, then the connection ends: never a clean
     * short response. */
    assert_int_equal(st, 200);
    assert_non_null(strstr(out, "Content-Length: 1000\r\n"));
    assert_true(closed);
    char *body = strstr(out, "\r\n\r\n");
    assert_true(strlen(body + 4) < 1000);
}

static void test_upstream_breaks_before_head_502(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    const char *r = "GET /nohead HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

    assert_int_equal(tu_raw(f->px_port, r, strlen(r), out, sizeof(out), &closed), 502);
    assert_true(closed);
}

static void test_upstream_silent_504(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    int gone0 = atomic_load(&g_upstream_gone);
    const char *r = "GET /silent HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    long t0 = tu_now_ms();

    assert_int_equal(tu_raw(f->px_port, r, strlen(r), out, sizeof(out), &closed), 504);
    assert_true(tu_now_ms() - t0 < 2500);
    /* The upstream connection was dropped, so the upstream handler heard about it. */
    for (int i = 0; i < 100 && atomic_load(&g_upstream_gone) == gone0; i++)
        tu_sleep_ms(20);
    assert_int_equal(atomic_load(&g_upstream_gone), gone0 + 1);
}

static void test_client_vanishes_mid_stream(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    int gone0 = atomic_load(&g_upstream_gone);
    int fd = testnet_connect(f->px_port, 3000);
    const char *r = "GET /endless HTTP/1.1\r\nHost: a\r\n\r\n";

    assert_int_equal(testnet_send_all(fd, r, strlen(r)), 0);
    tu_recv_until(fd, out, sizeof(out), "data: tick", 3, 3000, &closed);
    /* At least three: on a loaded machine more ticks (10 ms apart) may arrive in one read. */
    assert_true(tu_count(out, "data: tick") >= 3);
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    /* The proxy drops the upstream exchange, and the upstream sees its client go. */
    for (int i = 0; i < 100 && atomic_load(&g_upstream_gone) == gone0; i++)
        tu_sleep_ms(20);
    assert_int_equal(atomic_load(&g_upstream_gone), gone0 + 1);
    const char *again = "GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    assert_int_equal(tu_raw(f->px_port, again, strlen(again), out, sizeof(out), &closed), 200);
}

static void test_upstream_down_502(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    const char *r = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    int fd = testnet_connect(f->px_port, 3000);

    for (int i = 0; i < 2; i++) {
        assert_int_equal(testnet_send_all(fd, r, strlen(r)), 0);
        tu_recv_until(fd, out, sizeof(out), "Bad Gateway", 1, 3000, &closed);
        assert_int_equal(tu_status(out), 502);
        /* A 502 does not cost the client its connection. */
        assert_false(closed);
    }
    close(fd);
}

/* A raw upstream thread: reads one request, sends a head announcing 1000 bytes and a few of
 * them, then resets the connection (SO_LINGER 0). */
struct rst_up {
    int lfd;
    int port;
    pthread_t thread;
};

static void *rst_up_main(void *arg)
{
    struct rst_up *u = arg;
    char buf[4096];
    int fd = accept(u->lfd, NULL, NULL);
    struct linger lg = {1, 0};
    struct timeval tv = {2, 0};
    const char *reply = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial";

    if (fd < 0)
        return NULL;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)recv(fd, buf, sizeof(buf), 0);
    testnet_send_all(fd, reply, strlen(reply));
    tu_sleep_ms(100);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    return NULL;
}

static int setup_rst(void **state)
{
    struct rst_up *u = calloc(1, sizeof(*u));
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    struct fixture *f;

    u->lfd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(u->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(u->lfd, 8) != 0)
        return -1;
    getsockname(u->lfd, (struct sockaddr *)&a, &alen);
    u->port = ntohs(a.sin_port);
    pthread_create(&u->thread, NULL, rst_up_main, u);
    if (start(state, u->port) != 0)
        return -1;
    f = *state;
    f->raw = u;
    return 0;
}

static void rst_up_stop(struct rst_up *u)
{
    shutdown(u->lfd, SHUT_RDWR);
    pthread_join(u->thread, NULL);
    close(u->lfd);
    free(u);
}

static void test_upstream_rst_mid_body(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    const char *r = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";

    /* The head and the first bytes pass; the reset ends the client's connection early. */
    assert_int_equal(tu_raw(f->px_port, r, strlen(r), out, sizeof(out), &closed), 200);
    assert_true(closed);
    assert_non_null(strstr(out, "Content-Length: 1000\r\n"));
    assert_non_null(strstr(out, "\r\n\r\npartial"));
    assert_true(strlen(strstr(out, "\r\n\r\n") + 4) < 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_simple_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_forwarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sse_events_one_by_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_body_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_response_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_reset_mid_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_breaks_before_head_502, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_silent_504, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_vanishes_mid_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_down_502, setup_down, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_rst_mid_body, setup_rst, teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    big_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
