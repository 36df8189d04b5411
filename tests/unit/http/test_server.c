/* Server tests over real sockets with raw bytes: the strictness rules (status and close),
 * keep-alive, pipelining, timeouts, slow clients, streamed bodies, 100-continue, the handler
 * chain, clients vanishing mid-stream and graceful shutdown. The server runs in-process on its
 * own worker thread; every socket read has a timeout, so nothing hangs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/str.h"
#include "http/server.h"
#include "http/server_int.h"
#include "test_server_util.h"

static atomic_int g_gone;       /* gone callbacks seen */
static atomic_int g_stream_end; /* streaming handlers that ended */

/* ---- Test handlers ------------------------------------------------------------------------ */

static const struct wdn_http_header text = {{"Content-Type", 12}, {"text/plain", 10}};

static void echo_done(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    char msg[64];
    if (status == WDN_ELIMIT) {
        wdn_http_respond(req, 413, &text, 1, WDN_STR("too large\n"));
        return;
    }
    if (status == WDN_ETIMEOUT) {
        wdn_http_respond(req, 408, &text, 1, WDN_STR("too slow\n"));
        return;
    }
    if (status < 0) {
        wdn_http_respond(req, 400, &text, 1, WDN_STR("bad body\n"));
        return;
    }
    wdn_fmt(msg, sizeof(msg), "len=%zu:", body.len);
    struct wdn_buf b;
    wdn_buf_init(&b, 1 << 20);
    wdn_buf_append_cstr(&b, msg);
    wdn_buf_append(&b, body.p, body.len);
    wdn_http_respond(req, 200, &text, 1, wdn_buf_str(&b));
    wdn_buf_reset(&b);
}

struct counter {
    size_t pieces;
    size_t bytes;
};

static void count_cb(struct wdn_http_req *req, int status, struct wdn_str data, void *ud)
{
    struct counter *c = ud;
    char msg[64];

    if (status == 0) {
        c->pieces++;
        c->bytes += data.len;
        return;
    }
    if (status == 1) {
        wdn_fmt(msg, sizeof(msg), "pieces=%zu bytes=%zu", c->pieces, c->bytes);
        free(c);
        wdn_http_respond(req, 200, &text, 1, wdn_str_from_cstr(msg));
        return;
    }
    free(c);
    wdn_http_respond(req, status == WDN_ELIMIT ? 413 : 400, &text, 1, WDN_STR("bad\n"));
}

struct later {
    uv_timer_t timer;
    struct wdn_http_req *req;
    int ticks;
    bool gone;
};

static void later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void slow_tick(uv_timer_t *t)
{
    struct later *l = t->data;
    wdn_http_respond(l->req, 200, &text, 1, WDN_STR("slow done"));
    uv_close((uv_handle_t *)t, later_closed);
}

/* An endless event stream: one event every 20 ms until the client goes away. */
static void stream_tick(uv_timer_t *t)
{
    struct later *l = t->data;
    char ev[64];

    if (l->gone || wdn_http_req_gone(l->req)) {
        wdn_http_resp_end(l->req);
        atomic_fetch_add(&g_stream_end, 1);
        uv_close((uv_handle_t *)t, later_closed);
        return;
    }
    wdn_fmt(ev, sizeof(ev), "data: event %d\n\n", l->ticks++);
    wdn_http_resp_write(l->req, wdn_str_from_cstr(ev), NULL, NULL);
}

static void stream_gone(struct wdn_http_req *req, void *ud)
{
    struct later *l = ud;
    l->gone = true;
    atomic_fetch_add(&g_gone, 1);
}

/* Work off the loop (a blocking call in libuv's thread pool), answered from after-work. */
static atomic_int g_work_closed; /* after-work answers that found the client gone */

struct work {
    uv_work_t w;
    struct wdn_http_req *req;
};

static void work_run(uv_work_t *w)
{
    tu_sleep_ms(200);
}

static void work_after(uv_work_t *w, int status)
{
    struct work *k = w->data;
    int rc = wdn_http_respond(k->req, 200, &text, 1, WDN_STR("worked"));
    if (rc == WDN_ECLOSED)
        atomic_fetch_add(&g_work_closed, 1);
    free(k);
}

/* Writes 64 KiB pieces, each after the previous one left, until the client is dropped. */
static char g_flood[65536];
static atomic_int g_flood_gone;

static void flood_written(struct wdn_http_req *req, int status, void *ud)
{
    if (status != 0 || wdn_http_req_gone(req)) {
        atomic_fetch_add(&g_flood_gone, 1);
        wdn_http_resp_end(req);
        return;
    }
    if (wdn_http_resp_write(req, (struct wdn_str){g_flood, sizeof(g_flood)}, flood_written, NULL) !=
        0) {
        atomic_fetch_add(&g_flood_gone, 1);
        wdn_http_resp_end(req);
    }
}

static int first_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    const struct wdn_http_request *h = wdn_http_req_head(req);
    struct wdn_str path = h->path;

    if (wdn_str_eq_cstr(path, "/echo")) {
        wdn_http_req_read_all(req, 0, echo_done, NULL);
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/small")) {
        wdn_http_req_read_all(req, 8, echo_done, NULL);
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/count")) {
        struct counter *c = calloc(1, sizeof(*c));
        wdn_http_req_read_body(req, count_cb, c);
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/slow") || wdn_str_eq_cstr(path, "/stream")) {
        struct later *l = calloc(1, sizeof(*l));
        bool slow = wdn_str_eq_cstr(path, "/slow");
        l->req = req;
        l->timer.data = l;
        uv_timer_init(wdn_http_req_loop(req), &l->timer);
        if (slow) {
            uv_timer_start(&l->timer, slow_tick, 300, 0);
        } else {
            static const struct wdn_http_header sse = {{"Content-Type", 12},
                                                       {"text/event-stream", 17}};
            wdn_http_req_on_gone(req, stream_gone, l);
            wdn_http_resp_start(req, 200, &sse, 1, WDN_HTTP_LENGTH_UNKNOWN);
            uv_timer_start(&l->timer, stream_tick, 20, 20);
        }
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/work")) {
        struct work *k = calloc(1, sizeof(*k));
        k->req = req;
        k->w.data = k;
        uv_queue_work(wdn_http_req_loop(req), &k->w, work_run, work_after);
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/flood")) {
        wdn_http_resp_start(req, 200, &text, 1, WDN_HTTP_LENGTH_UNKNOWN);
        flood_written(req, 0, NULL);
        return 0;
    }
    if (wdn_str_eq_cstr(path, "/next"))
        return WDN_HTTP_DECLINED;
    /* Everything else: the path back, so pipelined answers can be told apart. */
    wdn_http_respond(req, 200, &text, 1, path);
    return 0;
}

static int second_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    const struct wdn_http_request *h = wdn_http_req_head(req);
    if (wdn_str_eq_cstr(h->path, "/next")) {
        wdn_http_respond(req, 200, &text, 1, WDN_STR("second handler"));
        return 0;
    }
    return WDN_HTTP_DECLINED;
}

static struct wdn_http_handler first = {.on_req = first_on_req};
static struct wdn_http_handler second = {.on_req = second_on_req};
static struct wdn_http_handler *chain[] = {&first, &second};

struct fixture {
    struct wdn_http_server *srv;
    int port;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct wdn_http_server_config cfg = {
        .listen = "127.0.0.1:0",
        .workers = 1,
        .handlers = chain,
        .nhandlers = 2,
        .header_timeout_ms = 400,
        .idle_timeout_ms = 400,
        .read_timeout_ms = 400,
        .shutdown_grace_ms = 2000,
        .max_body_bytes = 1 << 16,
    };
    if (wdn_http_server_start(&cfg, &f->srv) != 0) {
        free(f);
        return -1;
    }
    f->port = wdn_http_server_port(f->srv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    wdn_http_server_free(f->srv);
    free(f);
    return 0;
}

/* ---- Strictness: every rule over a real socket, status and close -------------------------- */

struct bad_case {
    const char *name;
    const char *raw;
    size_t len; /* 0: strlen */
    int status;
};

static const struct bad_case bad_cases[] = {
    {"cl-and-te",
     "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\n",
     0, 400},
    {"te-and-cl",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
     "0\r\n\r\n",
     0, 400},
    {"cl-plus", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd", 0, 400},
    {"cl-minus", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\nabcd", 0, 400},
    {"cl-list", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\n\r\nabcd", 0, 400},
    {"cl-list-differing", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\nabcd", 0,
     400},
    {"cl-duplicate",
     "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd", 0,
     400},
    {"cl-duplicate-differing",
     "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd", 0,
     400},
    {"te-identity-chunked",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n", 0,
     501},
    {"te-xchunked",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 0, 501},
    {"te-leading-space-line",
     "POST /echo HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n0\r\n\r\n", 0, 400},
    {"te-folded-after-host",
     "POST /echo HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 400},
    {"space-before-colon", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length : 4\r\n\r\nabcd", 0,
     400},
    {"tab-before-colon", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length\t: 4\r\n\r\nabcd", 0,
     400},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 0, 400},
    {"nul-in-value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n", 37, 400},
    {"bare-cr-in-value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 0, 400},
    {"missing-host", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 0, 400},
    {"duplicate-host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, 400},
    {"te-on-http10", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 400},
    {"invalid-method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 400},
    {"method-with-nul", "G\0T / HTTP/1.1\r\nHost: a\r\n\r\n", 27, 400},
    {"http-version-2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 0, 505},
    {"chunk-size-overflow",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "fffffffffffffffff1\r\nabc\r\n0\r\n\r\n",
     0, 400},
    {"chunk-size-not-hex",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
     0, 400},
};

static void test_strict_rules(void **state)
{
    struct fixture *f = *state;
    char out[8192];

    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *bc = &bad_cases[i];
        size_t len = bc->len ? bc->len : strlen(bc->raw);
        int closed = 0;
        int st = tu_raw(f->port, bc->raw, len, out, sizeof(out), &closed);
        if (st != bc->status || !closed || !strstr(out, "Connection: close\r\n")) {
            print_error("case %s: status %d (want %d), closed %d\n%s\n", bc->name, st, bc->status,
                        closed, out);
            fail();
        }
    }
}

static void test_oversized_headers_431(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    struct wdn_buf b;
    int closed = 0;

    /* One header line over the line limit. */
    wdn_buf_init(&b, 1 << 20);
    wdn_buf_append_cstr(&b, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    for (int i = 0; i < 9000; i++)
        wdn_buf_append(&b, "a", 1);
    wdn_buf_append_cstr(&b, "\r\n\r\n");
    assert_int_equal(tu_raw(f->port, b.data, b.len, out, sizeof(out), &closed), 431);
    assert_true(closed);
    wdn_buf_reset(&b);

    /* Many short headers: over the count limit. */
    wdn_buf_append_cstr(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 150; i++)
        wdn_buf_printf(&b, "X-H%d: v\r\n", i);
    wdn_buf_append_cstr(&b, "\r\n");
    assert_int_equal(tu_raw(f->port, b.data, b.len, out, sizeof(out), &closed), 431);
    assert_true(closed);
    wdn_buf_reset(&b);

    /* A head over the total limit made of lines that are each fine. */
    wdn_buf_append_cstr(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 9; i++) {
        wdn_buf_printf(&b, "X-L%d: ", i);
        for (int j = 0; j < 4000; j++)
            wdn_buf_append(&b, "b", 1);
        wdn_buf_append_cstr(&b, "\r\n");
    }
    wdn_buf_append_cstr(&b, "\r\n");
    assert_int_equal(tu_raw(f->port, b.data, b.len, out, sizeof(out), &closed), 431);
    assert_true(closed);
    wdn_buf_reset(&b);
}

static void test_body_limit_413(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    int closed = 0;
    const char *big = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\nabc";
    const char *small = "POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n"
                        "01234567890123456789";

    assert_int_equal(tu_raw(f->port, big, strlen(big), out, sizeof(out), &closed), 413);
    assert_true(closed);
    assert_int_equal(tu_raw(f->port, small, strlen(small), out, sizeof(out), &closed), 413);
    assert_true(closed);
}

/* ---- Keep-alive, pipelining --------------------------------------------------------------- */

static void test_keepalive_reuse(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    int closed = 0;
    int fd = testnet_connect(f->port, 3000);

    assert_true(fd >= 0);
    for (int i = 0; i < 3; i++) {
        char req[64];
        snprintf(req, sizeof(req), "GET /k%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
        assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
        char want[16];
        snprintf(want, sizeof(want), "/k%d", i);
        tu_recv_until(fd, out, sizeof(out), want, 1, 3000, &closed);
        assert_int_equal(tu_status(out), 200);
        assert_false(closed);
        assert_null(strstr(out, "Connection: close"));
    }
    /* A body on the same connection, then one more request. */
    const char *post = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
    assert_int_equal(testnet_send_all(fd, post, strlen(post)), 0);
    tu_recv_until(fd, out, sizeof(out), "len=5:hello", 1, 3000, &closed);
    assert_non_null(strstr(out, "len=5:hello"));
    const char *last = "GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    assert_int_equal(testnet_send_all(fd, last, strlen(last)), 0);
    tu_recv_until(fd, out, sizeof(out), NULL, 0, 3000, &closed);
    assert_int_equal(tu_status(out), 200);
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_non_null(strstr(out, "/last"));
    assert_true(closed);
    close(fd);
}

static void test_pipelining_in_order(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    const char *three = "GET /first HTTP/1.1\r\nHost: a\r\n\r\n"
                        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                        "GET /third HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    int fd = testnet_connect(f->port, 3000);

    assert_true(fd >= 0);
    assert_int_equal(testnet_send_all(fd, three, strlen(three)), 0);
    tu_recv_until(fd, out, sizeof(out), NULL, 0, 3000, &closed);
    close(fd);
    assert_true(closed);
    assert_int_equal(tu_count(out, "HTTP/1.1 200 OK"), 3);
    char *a = strstr(out, "/first"), *b = strstr(out, "len=3:abc"), *c = strstr(out, "/third");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
}

static void test_http10(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    int closed = 0;
    const char *r = "GET /old HTTP/1.0\r\n\r\n";

    assert_int_equal(tu_raw(f->port, r, strlen(r), out, sizeof(out), &closed), 200);
    assert_true(closed);
    /* HTTP/1.0 with keep-alive stays open. */
    int fd = testnet_connect(f->port, 3000);
    const char *ka = "GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    assert_int_equal(testnet_send_all(fd, ka, strlen(ka)), 0);
    tu_recv_until(fd, out, sizeof(out), "/ka", 1, 3000, &closed);
    assert_non_null(strstr(out, "Connection: keep-alive\r\n"));
    assert_false(closed);
    close(fd);
}

static void test_handler_chain(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    int closed = 0;
    const char *r = "GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

    assert_int_equal(tu_raw(f->port, r, strlen(r), out, sizeof(out), &closed), 200);
    assert_non_null(strstr(out, "second handler"));
}

/* ---- Timeouts and slow clients ------------------------------------------------------------ */

static void test_header_timeout(void **state)
{
    struct fixture *f = *state;
    int fd = testnet_connect(f->port, 3000);
    long t0 = tu_now_ms();

    assert_true(fd >= 0);
    assert_int_equal(testnet_send_all(fd, "GET / HTTP/1.1\r\nHo", 19), 0);
    /* Trickling more bytes does not extend the header deadline. */
    tu_sleep_ms(150);
    assert_int_equal(testnet_send_all(fd, "st", 2), 0);
    tu_sleep_ms(150);
    assert_int_equal(testnet_send_all(fd, ": a", 3), 0);
    assert_true(tu_wait_closed(fd, 3000));
    long took = tu_now_ms() - t0;
    assert_true(took >= 350 && took < 2000);
    close(fd);
}

static void test_idle_timeout(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    int closed = 0;
    int fd = testnet_connect(f->port, 3000);

    assert_true(fd >= 0);
    /* A connection that never sends anything... */
    long t0 = tu_now_ms();
    assert_true(tu_wait_closed(fd, 3000));
    assert_true(tu_now_ms() - t0 < 2000);
    close(fd);
    /* ...and one that goes idle after a response. */
    fd = testnet_connect(f->port, 3000);
    /* The clock starts before the request: the server's idle timer starts after it wrote the
     * response, so the close can never come sooner than 300 ms after this; a t0 taken after
     * reading the response is late by however long a loaded machine takes to read it. */
    t0 = tu_now_ms();
    assert_int_equal(testnet_send_all(fd, "GET /i HTTP/1.1\r\nHost: a\r\n\r\n", 28), 0);
    tu_recv_until(fd, out, sizeof(out), "/i", 1, 3000, &closed);
    assert_int_equal(tu_status(out), 200);
    assert_true(tu_wait_closed(fd, 3000));
    long took = tu_now_ms() - t0;
    if (!(took >= 300 && took < 2000))
        print_error("idle close after %ld ms\n", took);
    assert_true(took >= 300 && took < 2000);
    close(fd);
}

static void test_slow_client(void **state)
{
    struct fixture *f = *state;
    const char *req = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n";
    char out[4096];
    int closed = 0;
    int fd = testnet_connect(f->port, 3000);

    assert_true(fd >= 0);
    /* The head one byte at a time (within the header timeout), then the body one byte at a
     * time with pauses longer than all of the head took (each within the read timeout). */
    for (size_t i = 0; i < strlen(req); i++) {
        assert_int_equal(testnet_send_all(fd, req + i, 1), 0);
        tu_sleep_ms(1);
    }
    for (int i = 0; i < 4; i++) {
        tu_sleep_ms(150);
        assert_int_equal(testnet_send_all(fd, &"abcd"[i], 1), 0);
    }
    tu_recv_until(fd, out, sizeof(out), "len=4:abcd", 1, 3000, &closed);
    assert_int_equal(tu_status(out), 200);
    assert_non_null(strstr(out, "len=4:abcd"));
    close(fd);
}

static void test_body_read_timeout(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    int closed = 0;
    int fd = testnet_connect(f->port, 3000);
    const char *part = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc";

    assert_int_equal(testnet_send_all(fd, part, strlen(part)), 0);
    tu_recv_until(fd, out, sizeof(out), NULL, 0, 3000, &closed);
    /* The handler hears WDN_ETIMEOUT and answers; the connection closes after. */
    assert_int_equal(tu_status(out), 408);
    assert_true(closed);
    close(fd);
}

static void test_body_many_small_chunks(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    int closed = 0;
    int fd = testnet_connect(f->port, 3000);
    const char *head = "POST /count HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\n";
    size_t total = 0;

    assert_true(fd >= 0);
    assert_int_equal(testnet_send_all(fd, head, strlen(head)), 0);
    for (int i = 0; i < 100; i++) {
        char chunk[32];
        int n = 1 + i % 3;
        snprintf(chunk, sizeof(chunk), "%x\r\n%.*s\r\n", n, n, "xyz");
        total += (size_t)n;
        assert_int_equal(testnet_send_all(fd, chunk, strlen(chunk)), 0);
        if (i % 10 == 0)
            tu_sleep_ms(5);
    }
    assert_int_equal(testnet_send_all(fd, "0\r\n\r\n", 5), 0);
    tu_recv_until(fd, out, sizeof(out), NULL, 0, 3000, &closed);
    close(fd);
    assert_int_equal(tu_status(out), 200);
    char want[64];
    snprintf(want, sizeof(want), "bytes=%zu", total);
    assert_non_null(strstr(out, want));
}

static void test_expect_continue(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    int closed = 0;
    int fd = testnet_connect(f->port, 3000);
    const char *head = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                       "Expect: 100-continue\r\n\r\n";

    assert_int_equal(testnet_send_all(fd, head, strlen(head)), 0);
    tu_recv_until(fd, out, sizeof(out), "\r\n\r\n", 1, 3000, &closed);
    assert_int_equal(tu_status(out), 100);
    assert_int_equal(testnet_send_all(fd, "xyz", 3), 0);
    tu_recv_until(fd, out, sizeof(out), "len=3:xyz", 1, 3000, &closed);
    assert_int_equal(tu_status(out), 200);
    close(fd);
}

/* ---- Streaming responses and vanishing clients -------------------------------------------- */

static void test_stream_and_client_vanishes(void **state)
{
    struct fixture *f = *state;
    char out[8192];
    int closed = 0;
    int gone0 = atomic_load(&g_gone), end0 = atomic_load(&g_stream_end);
    int fd = testnet_connect(f->port, 3000);
    const char *r = "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n";

    assert_int_equal(testnet_send_all(fd, r, strlen(r)), 0);
    tu_recv_until(fd, out, sizeof(out), "data: event 2\n\n", 1, 3000, &closed);
    assert_int_equal(tu_status(out), 200);
    assert_non_null(strstr(out, "Transfer-Encoding: chunked\r\n"));
    assert_non_null(strstr(out, "data: event 0\n\n\r\n"));
    assert_non_null(strstr(out, "data: event 2\n\n"));
    /* Vanish mid-stream with a reset. */
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    for (int i = 0; i < 100 && atomic_load(&g_stream_end) == end0; i++)
        tu_sleep_ms(20);
    assert_int_equal(atomic_load(&g_gone), gone0 + 1);
    assert_int_equal(atomic_load(&g_stream_end), end0 + 1);
    /* The server keeps serving. */
    const char *again = "GET /alive HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    assert_int_equal(tu_raw(f->port, again, strlen(again), out, sizeof(out), &closed), 200);
}

static void test_answer_after_thread_pool_work(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    int closed = 0;
    int closed0 = atomic_load(&g_work_closed);
    const char *r = "GET /work HTTP/1.1\r\nHost: a\r\n\r\n";
    int fd = testnet_connect(f->port, 3000);

    /* Answered later, on the loop, after the work ran elsewhere; the connection lives on. */
    assert_int_equal(testnet_send_all(fd, r, strlen(r)), 0);
    tu_recv_until(fd, out, sizeof(out), "worked", 1, 3000, &closed);
    assert_int_equal(tu_status(out), 200);
    assert_false(closed);
    /* The client vanishes while the work runs: the late answer is a harmless WDN_ECLOSED. */
    assert_int_equal(testnet_send_all(fd, r, strlen(r)), 0);
    tu_sleep_ms(50);
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    for (int i = 0; i < 100 && atomic_load(&g_work_closed) == closed0; i++)
        tu_sleep_ms(20);
    assert_int_equal(atomic_load(&g_work_closed), closed0 + 1);
    const char *again = "GET /alive HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    assert_int_equal(tu_raw(f->port, again, strlen(again), out, sizeof(out), &closed), 200);
}

static void test_client_that_never_reads(void **state)
{
    struct fixture *f = *state;
    const char *r = "GET /flood HTTP/1.1\r\nHost: a\r\n\r\n";
    int gone0 = atomic_load(&g_flood_gone);
    int fd = testnet_connect(f->port, 3000);
    int small = 4096;

    /* A small receive window so the server's writes stall soon. */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    assert_int_equal(testnet_send_all(fd, r, strlen(r)), 0);
    for (int i = 0; i < 250 && atomic_load(&g_flood_gone) == gone0; i++)
        tu_sleep_ms(20);
    /* Dropped after the write stalled for read_timeout_ms, the handler told. */
    assert_int_equal(atomic_load(&g_flood_gone), gone0 + 1);
    close(fd);
}

/* ---- Graceful shutdown -------------------------------------------------------------------- */

static void test_graceful_shutdown(void **state)
{
    struct fixture *f = *state;
    char out[4096];
    int closed = 0;
    int busy = testnet_connect(f->port, 3000);
    int idle = testnet_connect(f->port, 3000);
    const char *r = "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n";

    assert_true(busy >= 0 && idle >= 0);
    assert_int_equal(testnet_send_all(idle, "GET /i HTTP/1.1\r\nHost: a\r\n\r\n", 28), 0);
    tu_recv_until(idle, out, sizeof(out), "/i", 1, 3000, &closed);
    assert_int_equal(tu_status(out), 200);
    assert_int_equal(testnet_send_all(busy, r, strlen(r)), 0);
    tu_sleep_ms(50);
    wdn_http_server_stop(f->srv);
    /* The idle keep-alive connection is closed at once... */
    assert_true(tu_wait_closed(idle, 1000));
    /* ...the in-flight request finishes, told that the connection closes. */
    tu_recv_until(busy, out, sizeof(out), NULL, 0, 3000, &closed);
    assert_int_equal(tu_status(out), 200);
    assert_non_null(strstr(out, "slow done"));
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_true(closed);
    close(busy);
    close(idle);
    /* No new connections. */
    tu_sleep_ms(50);
    int late = testnet_connect(f->port, 500);
    if (late >= 0) {
        /* With SO_REUSEPORT the kernel may still complete a handshake on a closing listener;
         * it must then close without an answer. */
        testnet_send_all(late, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27);
        tu_recv_until(late, out, sizeof(out), NULL, 0, 1000, &closed);
        assert_int_equal(tu_status(out), -1);
        close(late);
    }
}

/* A connection the server accepted but that has not sent its first request when the stop
 * begins: the client had no way to know, and its request may already be on the way, so the
 * request is still answered (with Connection: close); one that sends nothing is closed after
 * min(header timeout, WDN_HTTP_STOP_FIRST_REQUEST_MS), long before this server's 60 s grace. */
static void test_shutdown_answers_first_request(void **state)
{
    struct wdn_http_server_config cfg = {
        .listen = "127.0.0.1:0",
        .workers = 1,
        .handlers = chain,
        .nhandlers = 2,
        .header_timeout_ms = 400,
        .shutdown_grace_ms = 60000,
    };
    struct wdn_http_server *srv;
    char out[4096];
    int closed = 0, port, fresh, silent, probe;
    const char *r = "GET /late HTTP/1.1\r\nHost: a\r\n\r\n";

    assert_int_equal(wdn_http_server_start(&cfg, &srv), 0);
    port = wdn_http_server_port(srv);
    fresh = testnet_connect(port, 3000);
    silent = testnet_connect(port, 3000);
    probe = testnet_connect(port, 3000);
    assert_true(fresh >= 0 && silent >= 0 && probe >= 0);
    /* The probe's answer means the server has accepted the two connections made before it. */
    assert_int_equal(testnet_send_all(probe, "GET /p HTTP/1.1\r\nHost: a\r\n\r\n", 28), 0);
    tu_recv_until(probe, out, sizeof(out), "/p", 1, 3000, &closed);
    assert_int_equal(tu_status(out), 200);
    wdn_http_server_stop(srv);
    /* The probe is an idle keep-alive connection: closed, which also shows the stop began. */
    assert_true(tu_wait_closed(probe, 5000));
    assert_int_equal(testnet_send_all(fresh, r, strlen(r)), 0);
    tu_recv_until(fresh, out, sizeof(out), NULL, 0, 5000, &closed);
    assert_int_equal(tu_status(out), 200);
    assert_non_null(strstr(out, "/late"));
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_true(closed);
    assert_true(tu_wait_closed(silent, 20000));
    close(fresh);
    close(silent);
    close(probe);
    wdn_http_server_free(srv);
}

/* ---- Exclusive ports ----------------------------------------------------------------------- */

/* A socket with SO_REUSEPORT on 127.0.0.1:port, as a process sharing the port holds it. */
static int reuseport_socket(int port, bool do_listen)
{
    struct sockaddr_in a = {0};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    if (do_listen)
        assert_int_equal(listen(fd, 8), 0);
    return fd;
}

/* The workers of one server share their port; anyone else listening on it (another server, on
 * the same or the wildcard address, or a socket in the SO_REUSEPORT group) makes the start fail
 * with WDN_EEXISTS instead of splitting the connections. */
static void test_port_is_exclusive(void **state)
{
    struct wdn_http_server_config cfg = {
        .listen = "127.0.0.1:0", .workers = 4, .handlers = chain, .nhandlers = 2};
    struct wdn_http_server *a, *b = NULL;
    char listen_on[64], out[4096];
    int port, closed = 0;

    assert_int_equal(wdn_http_server_start(&cfg, &a), 0);
    port = wdn_http_server_port(a);
    snprintf(listen_on, sizeof(listen_on), "127.0.0.1:%d", port);
    cfg.listen = listen_on;
    cfg.workers = 1;
    assert_int_equal(wdn_http_server_start(&cfg, &b), WDN_EEXISTS);
    assert_null(b);
    snprintf(listen_on, sizeof(listen_on), "0.0.0.0:%d", port);
    assert_int_equal(wdn_http_server_start(&cfg, &b), WDN_EEXISTS);
    assert_int_equal(tu_raw(port, "GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 47,
                            out, sizeof(out), &closed),
                     200);
    wdn_http_server_free(a);

    /* A socket that joined the group before us (a program without our checks). */
    int p = testnet_free_port(), fd = reuseport_socket(p, true);
    snprintf(listen_on, sizeof(listen_on), "127.0.0.1:%d", p);
    assert_int_equal(wdn_http_server_start(&cfg, &b), WDN_EEXISTS);
    close(fd);
    /* Once it is gone the port is free. */
    assert_int_equal(wdn_http_server_start(&cfg, &b), 0);
    wdn_http_server_free(b);
}

/* The check behind it, on sockets of this process: a listener on the same port counts when its
 * address overlaps ours (equal, or a wildcard), never our own sockets, never another port. */
static void test_port_shared_check(void **state)
{
    int p = testnet_free_port(), mine = reuseport_socket(p, true), other;
    struct sockaddr_storage ss;
    socklen_t len;
    char a[64];

    snprintf(a, sizeof(a), "127.0.0.1:%d", p);
    assert_int_equal(wdn__http_parse_listen(a, &ss, &len), 0);
    assert_false(wdn__http_port_shared(&ss, &mine, 1));
    other = reuseport_socket(p, true);
    assert_true(wdn__http_port_shared(&ss, &mine, 1));
    int both[2] = {mine, other};
    assert_false(wdn__http_port_shared(&ss, both, 2));
    snprintf(a, sizeof(a), "0.0.0.0:%d", p);
    assert_int_equal(wdn__http_parse_listen(a, &ss, &len), 0);
    assert_true(wdn__http_port_shared(&ss, &mine, 1)); /* 0.0.0.0 takes 127.0.0.1's connections */
    snprintf(a, sizeof(a), "[::]:%d", p);
    assert_int_equal(wdn__http_parse_listen(a, &ss, &len), 0);
    assert_true(wdn__http_port_shared(&ss, &mine, 1)); /* :: takes IPv4 too */
    snprintf(a, sizeof(a), "[::1]:%d", p);
    assert_int_equal(wdn__http_parse_listen(a, &ss, &len), 0);
    assert_false(wdn__http_port_shared(&ss, &mine, 1)); /* another address */
    snprintf(a, sizeof(a), "127.0.0.2:%d", p);
    assert_int_equal(wdn__http_parse_listen(a, &ss, &len), 0);
    assert_false(wdn__http_port_shared(&ss, &mine, 1));
    snprintf(a, sizeof(a), "127.0.0.1:%d", p == 65535 ? p - 1 : p + 1);
    assert_int_equal(wdn__http_parse_listen(a, &ss, &len), 0);
    assert_false(wdn__http_port_shared(&ss, &mine, 1));
    close(other);
    close(mine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_strict_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_headers_431, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_limit_413, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelining_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_read_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_many_small_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_and_client_vanishes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_after_thread_pool_work, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_that_never_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graceful_shutdown, setup, teardown),
        cmocka_unit_test(test_shutdown_answers_first_request),
        cmocka_unit_test(test_port_is_exclusive),
        cmocka_unit_test(test_port_shared_check),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
