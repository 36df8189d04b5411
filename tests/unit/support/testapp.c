/* The app behind a sidecar under test and the raw client (testapp.h). */
#include "testapp.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "testnet.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int received;     /* requests received whole */
static char last[65536]; /* see testapp_last */
static testapp_fn answer_fn;
static size_t max_body;
static struct wdn_http_server *server;

static void on_body(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    const struct wdn_http_request *h = wdn_http_req_head(req);
    size_t k = 0;

    (void)ud;
    pthread_mutex_lock(&mu);
    received += status == 0; /* a body that broke on the way counts as nothing received */
    k += (size_t)snprintf(last + k, sizeof(last) - k, "%.*s %.*s\n", WDN_STR_FMT(h->method),
                          WDN_STR_FMT(h->target));
    for (size_t i = 0; i < h->nheaders && k < sizeof(last); i++)
        k += (size_t)snprintf(last + k, sizeof(last) - k, "%.*s: %.*s\n",
                              WDN_STR_FMT(h->headers[i].name), WDN_STR_FMT(h->headers[i].value));
    if (k < sizeof(last))
        snprintf(last + k, sizeof(last) - k, "\n%.*s", status == 0 ? (int)body.len : 0, body.p);
    pthread_mutex_unlock(&mu);
    if (status != 0)
        wdn_http_respond(req, 400, NULL, 0, WDN_STR("bad body"));
    else if (answer_fn)
        answer_fn(req, body);
    else
        wdn_http_respond(req, 200, NULL, 0, WDN_STR("app says hi"));
}

static int on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    (void)self;
    return wdn_http_req_read_all(req, max_body, on_body, NULL) == 0 ? 0 : WDN_EIO;
}

static struct wdn_http_handler handler = {.on_req = on_req};
static struct wdn_http_handler *chain[] = {&handler};

int testapp_start(testapp_fn answer, size_t max)
{
    struct wdn_http_server_config c = {
        .listen = "127.0.0.1:0", .workers = 1, .handlers = chain, .nhandlers = 1};

    answer_fn = answer;
    max_body = max;
    return wdn_http_server_start(&c, &server) == 0 ? 0 : -1;
}

int testapp_port(void)
{
    return wdn_http_server_port(server);
}

int testapp_count(void)
{
    int n;

    pthread_mutex_lock(&mu);
    n = received;
    pthread_mutex_unlock(&mu);
    return n;
}

const char *testapp_last(void)
{
    static char copy[sizeof(last)];

    pthread_mutex_lock(&mu);
    memcpy(copy, last, sizeof(copy));
    pthread_mutex_unlock(&mu);
    return copy;
}

void testapp_stop(void)
{
    wdn_http_server_free(server);
    server = NULL;
}

void testapp_parse(struct testresp *r)
{
    r->status = 0;
    sscanf(r->raw, "HTTP/1.1 %d", &r->status);
    r->body = strstr(r->raw, "\r\n\r\n");
    r->body = r->body ? r->body + 4 : "";
}

void testapp_http(int port, const char *head, const char *body, struct testresp *r)
{
    static char req[1 << 17]; /* the tests call from one thread */
    int fd = testnet_connect(port, 30000), n;

    assert_true(fd >= 0);
    if (body == NULL)
        n = snprintf(req, sizeof(req), "%sConnection: close\r\n\r\n", head);
    else if (strstr(head, "Content-Length") || strstr(head, "Transfer-Encoding"))
        n = snprintf(req, sizeof(req), "%sConnection: close\r\n\r\n%s", head, body);
    else
        n = snprintf(req, sizeof(req), "%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", head,
                     strlen(body), body);
    assert_true(n > 0 && (size_t)n < sizeof(req));
    assert_int_equal(testnet_send_all(fd, req, (size_t)n), 0);
    r->closed = 0;
    testnet_recv_until_close(fd, r->raw, sizeof(r->raw), &r->closed);
    close(fd);
    testapp_parse(r);
}
