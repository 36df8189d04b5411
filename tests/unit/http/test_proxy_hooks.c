/* The proxy engine's hooks (http/proxy.h), which the sidecar's forwarding is made of: the error
 * answer in the caller's shape, the response hook (once per forward, with the status the client
 * got, 499 when it left), a body read in advance, the buffered transform (rewritten, unchanged,
 * refused), done before the request ends, and the retry of a stale pooled connection. A raw
 * upstream thread scripts each case on loopback. */
#include <setjmp.h>
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

#include "base/error.h"
#include "http/proxy.h"
#include "http/server.h"
#include "test_server_util.h"

/* ---- A scripted raw upstream ------------------------------------------------------------- */

enum script {
    S_ANSWER, /* answer every request on a connection with "hello" (keep-alive) */
    S_STALE,  /* answer the first request, then close as the second one arrives */
};

struct up {
    int lfd, port;
    enum script script;
    atomic_int conns, reqs;
    pthread_t thread;
};

static int recv_head(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            /* A Content-Length body follows the head: read it too. */
            const char *cl = strstr(buf, "Content-Length: ");
            size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
            while (got < want && got + 1 < cap) {
                n = recv(fd, buf + got, cap - 1 - got, 0);
                if (n <= 0)
                    return -1;
                got += (size_t)n;
            }
            buf[got] = '\0';
            return 0;
        }
    }
    return -1;
}

static void *up_main(void *arg)
{
    struct up *u = arg;
    char buf[8192];

    for (;;) {
        int fd = accept(u->lfd, NULL, NULL);
        struct timeval tv = {5, 0};
        if (fd < 0)
            return NULL;
        atomic_fetch_add(&u->conns, 1);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        for (int i = 0; recv_head(fd, buf, sizeof(buf)) == 0; i++) {
            char reply[sizeof(buf) + 128];
            const char *body = strstr(buf, "\r\n\r\n") + 4;
            if (u->script == S_STALE && i == 1)
                break; /* the request arrived on a connection we are closing: no answer */
            atomic_fetch_add(&u->reqs, 1);
            snprintf(reply, sizeof(reply),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n\r\nhello%s",
                     5 + strlen(body), body);
            testnet_send_all(fd, reply, strlen(reply));
        }
        close(fd);
    }
}

static struct up *up_start(enum script s)
{
    struct up *u = calloc(1, sizeof(*u));
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);

    u->script = s;
    u->lfd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(u->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(u->lfd, 8), 0);
    getsockname(u->lfd, (struct sockaddr *)&a, &alen);
    u->port = ntohs(a.sin_port);
    pthread_create(&u->thread, NULL, up_main, u);
    return u;
}

static void up_stop(struct up *u)
{
    shutdown(u->lfd, SHUT_RDWR);
    pthread_join(u->thread, NULL);
    close(u->lfd);
    free(u);
}

/* ---- A proxy handler with hooks ------------------------------------------------------------ */

static atomic_int g_response_status, g_responses, g_dones, g_errors;
static bool g_retry, g_preread, g_transform;
static int g_transform_rc; /* what the transform returns */

static void h_error(struct wdn_http_req *req, int err, struct wdn_http_proxy_answer *a, void *ud)
{
    atomic_fetch_add(&g_errors, 1);
    a->body.len = 0;
    wdn_buf_printf(&a->body, "E:%d:%s", a->status, wdn_errname(err));
}

static void h_response(struct wdn_http_req *req, int status, void *ud)
{
    atomic_fetch_add(&g_responses, 1);
    atomic_store(&g_response_status, status);
}

static int h_transform(struct wdn_http_req *req, struct wdn_str ctype, struct wdn_str body,
                       struct wdn_buf *out, void *ud)
{
    if (g_transform_rc != 0)
        return g_transform_rc;
    return wdn_buf_printf(out, "[%.*s|%.*s]", WDN_STR_FMT(ctype), WDN_STR_FMT(body));
}

static void h_done(struct wdn_http_req *req, void *ud)
{
    atomic_fetch_add(&g_dones, 1);
}

static struct wdn_http_proxy_hooks g_hooks = {
    .error = h_error, .response = h_response, .done = h_done};

struct handler {
    struct wdn_http_handler base;
    struct wdn_http_pool_config pc;
    struct wdn_http_pool *pool;
};

static void forward(struct wdn_http_req *req, struct handler *h, const struct wdn_str *body)
{
    struct wdn_http_proxy_request *rq = wdn_arena_calloc(wdn_http_req_arena(req), sizeof(*rq));

    rq->retry = g_retry;
    rq->body = body;
    rq->max_transform_bytes = 1024;
    g_hooks.transform = g_transform ? h_transform : NULL;
    if (wdn_http_proxy_forward(req, h->pool, rq, &g_hooks) != 0)
        wdn_http_respond(req, 500, NULL, 0, WDN_STR("forward failed"));
}

static void on_full_body(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    struct wdn_str *copy = wdn_arena_alloc(wdn_http_req_arena(req), sizeof(*copy));
    *copy = body;
    forward(req, ud, copy);
}

static int h_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    struct handler *h = (struct handler *)self;

    if (g_preread)
        return wdn_http_req_read_all(req, 1 << 16, on_full_body, h);
    forward(req, h, NULL);
    return 0;
}

static int h_worker_start(struct wdn_http_handler *self, struct wdn_http_worker *w)
{
    struct handler *h = (struct handler *)self;
    return wdn_http_pool_new(wdn_http_worker_loop(w), &h->pc, &h->pool);
}

static void h_worker_stop(struct wdn_http_handler *self, struct wdn_http_worker *w)
{
    struct handler *h = (struct handler *)self;
    wdn_http_pool_free(h->pool);
    h->pool = NULL;
}

struct fixture {
    struct up *up;
    struct handler h;
    struct wdn_http_handler *chain[1];
    struct wdn_http_server *px;
    int port;
};

static struct fixture *start(enum script s, int upstream_port)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct wdn_http_server_config c = {.listen = "127.0.0.1:0", .workers = 1, .nhandlers = 1};

    atomic_store(&g_responses, 0);
    atomic_store(&g_dones, 0);
    atomic_store(&g_errors, 0);
    atomic_store(&g_response_status, 0);
    g_retry = g_preread = g_transform = false;
    g_transform_rc = 0;
    if (upstream_port == 0)
        f->up = up_start(s);
    f->h.base = (struct wdn_http_handler){
        .on_req = h_on_req, .on_worker_start = h_worker_start, .on_worker_stop = h_worker_stop};
    f->h.pc = (struct wdn_http_pool_config){.host = "127.0.0.1",
                                            .port = f->up ? f->up->port : upstream_port,
                                            .connect_timeout_ms = 2000,
                                            .response_timeout_ms = 5000};
    f->chain[0] = &f->h.base;
    c.handlers = f->chain;
    assert_int_equal(wdn_http_server_start(&c, &f->px), 0);
    f->port = wdn_http_server_port(f->px);
    return f;
}

static void stop(struct fixture *f)
{
    wdn_http_server_free(f->px);
    if (f->up)
        up_stop(f->up);
    free(f);
}

/* One request on its own connection; returns the status, out gets the whole answer. */
static int ask(struct fixture *f, const char *req, char *out, size_t cap)
{
    int closed = 0;
    return tu_raw(f->port, req, strlen(req), out, cap, &closed);
}

/* Waits for the handler's worker to have called done (it runs on the worker thread). */
static void wait_dones(int n)
{
    for (int i = 0; i < 500 && atomic_load(&g_dones) < n; i++)
        tu_sleep_ms(10);
    assert_int_equal(atomic_load(&g_dones), n);
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void test_response_and_done(void **state)
{
    struct fixture *f = start(S_ANSWER, 0);
    char out[4096];

    assert_int_equal(
        ask(f, "GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", out, sizeof(out)), 200);
    assert_non_null(strstr(out, "\r\n\r\nhello"));
    wait_dones(1);
    assert_int_equal(atomic_load(&g_responses), 1);
    assert_int_equal(atomic_load(&g_response_status), 200);
    assert_int_equal(atomic_load(&g_errors), 0);
    stop(f);
}

static void test_error_hook_shapes_the_answer(void **state)
{
    struct fixture *f = start(S_ANSWER, testnet_free_port()); /* nothing listens there */
    char out[4096];

    assert_int_equal(
        ask(f, "GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", out, sizeof(out)), 502);
    assert_non_null(strstr(out, "\r\n\r\nE:502:CONNREFUSED"));
    wait_dones(1);
    assert_int_equal(atomic_load(&g_errors), 1);
    /* The response hook sees the error answer's status too: one place for metrics. */
    assert_int_equal(atomic_load(&g_responses), 1);
    assert_int_equal(atomic_load(&g_response_status), 502);
    stop(f);
}

static void test_preread_body_and_transform(void **state)
{
    struct fixture *f = start(S_ANSWER, 0);
    char out[4096];
    const char *post = "POST /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                       "Content-Length: 3\r\n\r\nxyz";

    g_preread = true;
    g_transform = true;
    assert_int_equal(ask(f, post, out, sizeof(out)), 200);
    assert_non_null(strstr(out, "\r\n\r\n[text/plain|helloxyz]"));
    assert_non_null(strstr(out, "Content-Length: 21\r\n"));
    /* 1: the body goes out unchanged. */
    g_transform_rc = 1;
    assert_int_equal(ask(f, post, out, sizeof(out)), 200);
    assert_non_null(strstr(out, "\r\n\r\nhelloxyz"));
    /* < 0: refused, through the error hook. */
    g_transform_rc = WDN_EPARSE;
    assert_int_equal(ask(f, post, out, sizeof(out)), 502);
    assert_non_null(strstr(out, "E:502:"));
    wait_dones(3);
    assert_int_equal(atomic_load(&g_responses), 3);
    stop(f);
}

static void test_transform_limit(void **state)
{
    struct fixture *f = start(S_ANSWER, 0);
    char out[8192], post[4096];
    char body[2000];

    memset(body, 'b', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    snprintf(post, sizeof(post),
             "POST /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    g_transform = true; /* max_transform_bytes is 1024 */
    assert_int_equal(ask(f, post, out, sizeof(out)), 502);
    assert_non_null(strstr(out, "E:502:LIMIT"));
    stop(f);
}

/* A pooled connection that the upstream closes as the next request arrives. The client
 * replays a request whose body it has not started sending by itself; once body bytes went out
 * only the proxy can send it again, from the body read in advance: with retry the request goes
 * once more on a fresh connection, without it the client gets 502. */
static void test_stale_keepalive_retry(void **state)
{
    char out[4096];
    const char *get = "GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    const char *post = "POST /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                       "Content-Length: 3\r\n\r\nxyz";

    for (int retry = 0; retry < 2; retry++) {
        struct fixture *f = start(S_STALE, 0);
        g_retry = retry;
        g_preread = true;
        assert_int_equal(ask(f, get, out, sizeof(out)), 200);
        assert_int_equal(ask(f, post, out, sizeof(out)), retry ? 200 : 502);
        if (retry)
            assert_non_null(strstr(out, "\r\n\r\nhelloxyz"));
        assert_int_equal(atomic_load(&f->up->conns), retry ? 2 : 1);
        stop(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_and_done),
        cmocka_unit_test(test_error_hook_shapes_the_answer),
        cmocka_unit_test(test_preread_body_and_transform),
        cmocka_unit_test(test_transform_limit),
        cmocka_unit_test(test_stale_keepalive_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
