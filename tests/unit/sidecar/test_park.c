/* Requests parked while their bearer asks an RFC 7662 introspection endpoint (park.c): the
 * sidecar runs one worker, the endpoint (tests/unit/oidc/jwks_server.js, mode "hold") answers
 * only when the test says so, and meanwhile the same worker keeps answering other requests;
 * once released the parked request goes on to the app. A client that leaves while parked, and a
 * sidecar stopped with a request parked, end cleanly (ASan and LSan watch). */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../support/childproc.h"
#include "../support/testapp.h"
#include "../support/testdir.h"
#include "../support/testnet.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "http/fetch.h"
#include "jose/crypto.h"
#include "sidecar/internal.h"

static char ca[600], base[128];
static struct childproc proc;
static struct wdn_sidecar *sc;
static pthread_t runner_t;
static int api;
static int last_fd = -1; /* a request left parked at the end */

/* ---- The app and the endpoint ------------------------------------------------------------ */

static long ctl(const char *path, const char *body, char *resp, size_t cap)
{
    char u[256];
    struct wdn_fetch_request req = {0};
    struct wdn_fetch_response r;
    long status = 0;

    snprintf(u, sizeof(u), "%s%s", base, path);
    req.method = body ? "POST" : "GET";
    req.url = u;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.timeout_ms = 5000;
    req.ca_file = ca;
    if (wdn_fetch(&req, &r, NULL) == 0)
        status = r.status;
    if (resp)
        wdn_fmt(resp, cap, "%.*s", (int)r.body.len, r.body.data ? r.body.data : "");
    wdn_fetch_response_reset(&r);
    return status;
}

/* Introspection calls the endpoint has received. */
static int calls(void)
{
    char resp[256];
    const char *p;

    if (ctl("/ctl/count", NULL, resp, sizeof(resp)) != 200 ||
        (p = strstr(resp, "\"introspect\":")) == NULL)
        return -1;
    return atoi(p + 13);
}

/* Polls until the endpoint has received n calls (the request is parked by then). */
static void wait_calls(int n)
{
    for (int i = 0; i < 1000 && calls() < n; i++)
        usleep(10000);
    assert_true(calls() >= n);
}

/* ---- The sidecar ------------------------------------------------------------------------- */

static void *runner(void *arg)
{
    struct wdn_diag d;
    return (void *)(intptr_t)wdn_sidecar_run(arg, &d);
}

static int setup(void **state)
{
    const char *src = getenv("WDN_SOURCE_DIR");
    char script[1024], line[64] = "", res[700], cas[700], yaml[2048], answer[256];
    struct wdn_diag d;
    int port;

    if (testdir_make("sc-park") == NULL)
        return -1;
    wdn_log_init("test", WDN_LOG_ERROR, false);
    snprintf(script, sizeof(script), "%s/tests/unit/oidc/jwks_server.js", src ? src : ".");
    char *argv[] = {"node", script, (char *)testdir(), NULL};
    if (childproc_start_piped(&proc, argv, 20000, line, sizeof(line)) != 0 ||
        sscanf(line, "PORT %d", &port) != 1)
        return -1;
    testdir_path("cert.pem", ca, sizeof(ca));
    snprintf(base, sizeof(base), "https://127.0.0.1:%d", port);
    setenv("WARDEN_CA_FILE", ca, 1); /* the bearer trusts the endpoint's certificate */
    snprintf(answer, sizeof(answer),
             "{\"active\":true,\"aud\":\"api\",\"sub\":\"svc\",\"exp\":%lld}",
             (long long)wdn_clock_unix() + 600);
    if (ctl("/ctl/introspect", answer, NULL, 0) != 200 ||
        ctl("/ctl/introspect-mode", "hold", NULL, 0) != 200)
        return -1;
    if (testapp_start(NULL, 1 << 20) != 0)
        return -1;
    testdir_path("res", res, sizeof(res));
    mkdir(res, 0700);
    snprintf(yaml, sizeof(yaml),
             "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: opaque}\n"
             "spec:\n  type: middleware.http.bearer\n  version: v1\n  metadata:\n"
             "  - {name: issuer, value: 'https://as.test/'}\n"
             "  - {name: audience, value: api}\n"
             "  - {name: introspectionURL, value: '%s/introspect'}\n"
             "  - {name: introspectionClientID, value: rs}\n"
             "  - {name: introspectionClientSecret, value: rs-secret}\n"
             "---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: auth}\n"
             "spec:\n  appHttpPipeline:\n    handlers:\n"
             "    - {name: opaque, type: middleware.http.bearer}\n",
             base);
    testdir_write("res/auth.yaml", yaml);
    testdir_path("ca", cas, sizeof(cas));
    struct wdn_sidecar_opts o = {.app_id = "app",
                                 .app_port = testapp_port(),
                                 .metrics_port = -1,
                                 .workers = 1,
                                 .ca_dir = cas,
                                 .config = "auth",
                                 .resources_paths = {res},
                                 .n_resources_paths = 1};
    if (wdn_sidecar_new(&o, &sc, &d) != 0) {
        fprintf(stderr, "sidecar: %s\n", d.msg);
        return -1;
    }
    if (pthread_create(&runner_t, NULL, runner, sc) != 0)
        return -1;
    for (int i = 0; i < 3000 && !wdn_sidecar_ready(sc); i++) /* healthz 204 from then on */
        usleep(10000);
    api = wdn_sidecar_http_port(sc);
    return api > 0 && testnet_wait_port(api, 10000) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    void *ret;

    wdn_sidecar_stop(sc);
    pthread_join(runner_t, &ret);
    wdn_sidecar_free(sc);
    if (last_fd >= 0)
        close(last_fd);
    testapp_stop();
    childproc_stop(&proc);
    if (testdir_remove() != 0)
        return -1;
    wdn_jose_thread_cleanup();
    return 0;
}

/* ---- A raw client ------------------------------------------------------------------------ */

static int send_req(const char *token)
{
    char req[512];
    int fd = testnet_connect(api, 20000);

    assert_true(fd >= 0);
    snprintf(req, sizeof(req),
             "GET /v1.0/invoke/app/method/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Authorization: Bearer %s\r\n\r\n",
             token);
    assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
    return fd;
}

/* Reads the answer until the server closes; returns the status. */
static int read_status(int fd, char *buf, size_t cap)
{
    int closed, status = 0;

    testnet_recv_until_close(fd, buf, cap, &closed);
    close(fd);
    sscanf(buf, "HTTP/1.1 %d", &status);
    return status;
}

/* True when fd has nothing to read yet (the request still waits). */
static bool silent(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 0;
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void test_parked_request_frees_its_worker(void **state)
{
    char buf[4096];
    int before = calls(), fd, hz;

    fd = send_req("good");
    wait_calls(before + 1);
    /* The one worker answers another request while the first one waits for the endpoint. */
    hz = testnet_connect(api, 20000);
    assert_true(hz >= 0);
    const char *h = "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(testnet_send_all(hz, h, strlen(h)), 0);
    assert_int_equal(read_status(hz, buf, sizeof(buf)), 204);
    assert_true(silent(fd));
    assert_int_equal(ctl("/ctl/release", "", NULL, 0), 200);
    assert_int_equal(read_status(fd, buf, sizeof(buf)), 200);
    assert_non_null(strstr(buf, "app says hi"));
    /* The answer is cached now: the next request does not wait. */
    fd = send_req("good");
    assert_int_equal(read_status(fd, buf, sizeof(buf)), 200);
    assert_int_equal(calls(), before + 1);
}

static void test_inactive_token_after_the_wait(void **state)
{
    char buf[4096];
    int before = calls(), fd;

    fd = send_req("revoked");
    wait_calls(before + 1);
    assert_true(silent(fd));
    assert_int_equal(ctl("/ctl/release", "", NULL, 0), 200);
    assert_int_equal(read_status(fd, buf, sizeof(buf)), 401);
}

static void test_client_leaves_while_parked(void **state)
{
    char buf[4096];
    int before = calls(), fd;

    fd = send_req("left-early");
    wait_calls(before + 1);
    close(fd);
    for (int i = 0; i < 1000 && atomic_load(&sc->m.requests[WDN__SC_PORT_API][499]) == 0; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&sc->m.requests[WDN__SC_PORT_API][499]), 1);
    /* The wake that comes later only frees the ticket; the worker goes on. */
    assert_int_equal(ctl("/ctl/release", "", NULL, 0), 200);
    fd = send_req("good");
    assert_int_equal(read_status(fd, buf, sizeof(buf)), 200);
}

/* Left parked: teardown stops the sidecar (the connection closes, the request ends) and then
 * the endpoint, whose call fails; nothing may leak or run on the closed worker. */
static void test_stopped_while_parked(void **state)
{
    int before = calls();

    last_fd = send_req("at-shutdown");
    wait_calls(before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parked_request_frees_its_worker),
        cmocka_unit_test(test_inactive_token_after_the_wait),
        cmocka_unit_test(test_client_leaves_while_parked),
        cmocka_unit_test(test_stopped_while_parked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
