/* Project mode: peers are found in the project's registry. An entry whose sidecar process is
 * gone (it crashed and left its file) must not be dialled: its port may belong to anything by
 * now. The caller gets Dapr's 500 saying the sidecar is not running, and nothing connects to
 * the stale address. And a sidecar without an app channel says so when its own app is invoked.
 * Issue 18. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/log.h"
#include "jose/crypto.h"
#include "project/project.h"
#include "project/store.h"
#include "sidecar/internal.h"
#include "../support/logcap.h"
#include "../support/testdir.h"
#include "../support/testnet.h"
#include "../support/testsc.h"

static int setup(void **state)
{
    (void)state;
    if (testdir_make("sc-registry") == NULL)
        return -1;
    wdn_log_init("test", WDN_LOG_INFO, false);
    return logcap_begin();
}

static int teardown(void **state)
{
    (void)state;
    logcap_end(true);
    if (testdir_remove() != 0)
        return -1;
    wdn_jose_thread_cleanup();
    return 0;
}

/* A pid that no process has: a child that already exited and was reaped. */
static long dead_pid(void)
{
    pid_t p = fork();

    if (p == 0)
        _exit(0);
    assert_true(p > 0);
    assert_int_equal(waitpid(p, NULL, 0), p);
    return (long)p;
}

/* A listening socket on a free loopback port (what the stale entry points at). */
static int listener(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_stale_entry_not_dialled(void **state)
{
    struct wdn_sidecar_opts o = {
        .app_id = "caller", .metrics_port = -1, .workers = 1, .project = "reg"};
    struct wdn_store_sidecar ghost = {.app_id = "ghost"};
    struct testsc r;
    struct wdn_diag d;
    char why[300], req[256], raw[4096];
    int port, lfd, fd, closed;

    (void)state;
    assert_int_equal(wdn_project_create("reg", &d), 0);
    lfd = listener(&port);
    snprintf(ghost.internal_addr, sizeof(ghost.internal_addr), "127.0.0.1:%d", port);
    ghost.pid = dead_pid();
    assert_false(wdn_project_pid_alive(ghost.pid));
    assert_int_equal(wdn_store_put_sidecar("reg", &ghost), 0);

    if (testsc_start(&r, &o, why, sizeof(why)) != 0)
        fail_msg("%s", why);
    logcap_mark();
    fd = testnet_connect(wdn_sidecar_http_port(r.sc), 20000);
    assert_true(fd >= 0);
    snprintf(req, sizeof(req),
             "GET /v1.0/invoke/ghost/method/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
    testnet_recv_until_close(fd, raw, sizeof(raw), &closed);
    close(fd);
    assert_non_null(strstr(raw, "HTTP/1.1 500 "));
    assert_non_null(strstr(raw, "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"failed to "
                                "invoke, id: ghost, err: its sidecar is not running\"}"));
    assert_true(logcap_wait("invoke failed app_id=ghost err=", 10000));
    /* Nothing knocked on the stale address. */
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0);

    /* An entry without a pid (an older writer) still resolves, to an address nobody serves:
     * then the answer is the connection's failure, not "not running". */
    ghost.pid = 0;
    assert_int_equal(wdn_store_put_sidecar("reg", &ghost), 0);
    fd = testnet_connect(wdn_sidecar_http_port(r.sc), 20000);
    assert_true(fd >= 0);
    assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
    testnet_recv_until_close(fd, raw, sizeof(raw), &closed);
    close(fd);
    assert_null(strstr(raw, "its sidecar is not running"));
    assert_int_equal(poll(&p, 1, 10000), 1); /* this time it was dialled */
    close(lfd);

    /* This sidecar has no app channel (no --app-port): invoking its own app ID says so. */
    fd = testnet_connect(wdn_sidecar_http_port(r.sc), 20000);
    assert_true(fd >= 0);
    snprintf(req, sizeof(req),
             "GET /v1.0/invoke/caller/method/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_int_equal(testnet_send_all(fd, req, strlen(req)), 0);
    testnet_recv_until_close(fd, raw, sizeof(raw), &closed);
    close(fd);
    assert_non_null(strstr(raw, "HTTP/1.1 500 "));
    assert_non_null(strstr(raw, "failed to invoke: the app channel is not initialized (no "
                                "--app-port)"));
    assert_int_equal(testsc_stop(&r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_entry_not_dialled),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
