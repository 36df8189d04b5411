/* Interop: the TLS engine against real peers (`openssl s_server` and `openssl s_client`) over
 * TCP on 127.0.0.1, with the test driving the socket the way the libuv code drives the engine. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../support/testnet.h"
#include "base/buf.h"
#include "base/error.h"
#include "http/tls.h"
#include "pki/pki.h"

static struct {
    struct wdn_pki_cert *ca, *other_ca, *server, *client, *stranger_server;
    char dir[128];
    char ca_file[256], srv_crt[256], srv_key[256], cli_crt[256], cli_key[256];
    char bad_crt[256], bad_key[256];
} F;

static int setup(void **state)
{
    struct wdn_diag d;
    struct wdn_pki_workload_opts srv = {.app_id = "mcp-server"};
    struct wdn_pki_workload_opts cli = {.app_id = "mcp-client"};

    signal(SIGPIPE, SIG_IGN);
    F.ca = wdn_pki_ca_create("interop", &d);
    F.other_ca = wdn_pki_ca_create("other", &d);
    if (F.ca == NULL || F.other_ca == NULL)
        return -1;
    F.server = wdn_pki_issue_workload(F.ca, &srv, &d);
    F.client = wdn_pki_issue_workload(F.ca, &cli, &d);
    F.stranger_server = wdn_pki_issue_workload(F.other_ca, &srv, &d);
    snprintf(F.dir, sizeof(F.dir), "/tmp/wdn-tls-interop-XXXXXX");
    if (F.server == NULL || F.client == NULL || F.stranger_server == NULL ||
        mkdtemp(F.dir) == NULL)
        return -1;
    snprintf(F.ca_file, sizeof(F.ca_file), "%s/ca.crt", F.dir);
    snprintf(F.srv_crt, sizeof(F.srv_crt), "%s/srv.crt", F.dir);
    snprintf(F.srv_key, sizeof(F.srv_key), "%s/srv.key", F.dir);
    snprintf(F.cli_crt, sizeof(F.cli_crt), "%s/cli.crt", F.dir);
    snprintf(F.cli_key, sizeof(F.cli_key), "%s/cli.key", F.dir);
    snprintf(F.bad_crt, sizeof(F.bad_crt), "%s/bad.crt", F.dir);
    snprintf(F.bad_key, sizeof(F.bad_key), "%s/bad.key", F.dir);
    if (wdn_pki_ca_save(F.ca, F.dir, &d) != 0 ||
        wdn_pki_cert_save(F.server, F.srv_crt, F.srv_key, &d) != 0 ||
        wdn_pki_cert_save(F.client, F.cli_crt, F.cli_key, &d) != 0 ||
        wdn_pki_cert_save(F.stranger_server, F.bad_crt, F.bad_key, &d) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[256];
    wdn_pki_cert_free(F.ca);
    wdn_pki_cert_free(F.other_ca);
    wdn_pki_cert_free(F.server);
    wdn_pki_cert_free(F.client);
    wdn_pki_cert_free(F.stranger_server);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Starts `timeout 30 openssl ARGS...` with stdin/stdout on pipes (fds returned, may be NULL)
 * and stderr in a log file. Returns the pid. */
static pid_t spawn(char *const argv[], int *in_fd, int *out_fd)
{
    int in[2], out[2];
    char log[300];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    snprintf(log, sizeof(log), "%s/openssl.log", F.dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (fd >= 0)
            dup2(fd, 2);
        close(in[1]);
        close(out[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (in_fd)
        *in_fd = in[1];
    else
        close(in[1]);
    if (out_fd)
        *out_fd = out[0];
    else
        close(out[0]);
    return pid;
}

static void stop(pid_t pid)
{
    int st;
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
}

/* Sends all pending ciphertext. */
static void flush(int fd, struct wdn_tls *t)
{
    char *data;
    size_t len;
    if (wdn_tls_take_output(t, &data, &len) != 0)
        return;
    assert_int_equal(testnet_send_all(fd, data, len), 0);
    free(data);
}

/*
 * Runs one connection the way a libuv read callback would: receive into the engine's buffer,
 * read plaintext until WDN_EAGAIN, flush; send `msg` once the handshake is done. Stops when the
 * peer closes, when `until` has arrived (if not NULL), or on a TLS error. Returns the last
 * wdn_tls_read result that ended the loop (WDN_EEOF, WDN_ETLS, 0 for socket close or `until`).
 */
static int converse(int fd, struct wdn_tls *t, const char *msg, const char *until,
                    struct wdn_buf *got)
{
    bool sent = msg == NULL;
    int rc = 0;

    for (int rounds = 0; rounds < 10000; rounds++) {
        if (!sent && wdn_tls_handshake_done(t)) {
            size_t off = 0, len = strlen(msg);
            while (off < len) {
                int w = wdn_tls_write(t, msg + off, len - off);
                assert_true(w > 0);
                off += (size_t)w;
            }
            sent = true;
        }
        flush(fd, t);
        if (until != NULL && got->len > 0 && strstr(wdn_buf_cstr(got), until) != NULL)
            return 0;
        size_t room = 0;
        char *p = wdn_tls_in_space(t, &room);
        assert_non_null(p);
        ssize_t n = recv(fd, p, room, 0);
        if (n <= 0) {
            assert_true(n == 0); /* a timeout here means the peer hung */
            return 0;
        }
        wdn_tls_in_commit(t, (size_t)n);
        for (;;) {
            char plain[4096];
            int r = wdn_tls_read(t, plain, sizeof(plain));
            if (r > 0) {
                assert_int_equal(wdn_buf_append(got, plain, (size_t)r), 0);
                continue;
            }
            if (r == WDN_EAGAIN)
                break;
            flush(fd, t); /* an alert, or our close_notify reply */
            return r;
        }
    }
    return rc;
}

static int run_against_s_server(const char *crt, const char *key, struct wdn_tls_ctx *cctx,
                                const char *name, struct wdn_buf *got, struct wdn_tls **out)
{
    int port = testnet_free_port();
    char accept_arg[64];
    snprintf(accept_arg, sizeof(accept_arg), "127.0.0.1:%d", port);
    char *argv[] = {"timeout", "30", "openssl", "s_server", "-accept", accept_arg, "-cert",
                    (char *)crt, "-key", (char *)key, "-CAfile", F.ca_file, "-Verify", "1",
                    "-verify_return_error", "-alpn", "http/1.1", "-www", NULL};
    pid_t pid = spawn(argv, NULL, NULL);
    assert_int_equal(testnet_wait_port(port, 10000), 0);

    int fd = testnet_connect(port, 10000);
    assert_true(fd >= 0);
    struct wdn_tls *t = wdn_tls_new_client(cctx, name, accept_arg);
    assert_non_null(t);
    assert_int_equal(wdn_tls_handshake(t), WDN_EAGAIN);
    int rc = converse(fd, t, "GET / HTTP/1.0\r\n\r\n", NULL, got);
    close(fd);
    stop(pid);
    *out = t;
    return rc;
}

static void test_client_vs_s_server(void **state)
{
    struct wdn_diag d;
    struct wdn_tls_config cc = {.cert_file = F.cli_crt, .key_file = F.cli_key,
                                .ca_file = F.ca_file};
    struct wdn_tls_ctx *cctx = wdn_tls_ctx_new(&cc, &d);
    struct wdn_buf got;
    struct wdn_tls *t = NULL;
    assert_non_null(cctx);
    wdn_buf_init(&got, 1u << 20);

    int rc = run_against_s_server(F.srv_crt, F.srv_key, cctx, "127.0.0.1", &got, &t);
    if (rc != WDN_EEOF && rc != 0)
        fail_msg("rc %d: %s", rc, wdn_tls_error(t));
    const char *page = wdn_buf_cstr(&got);
    assert_non_null(strstr(page, "HTTP/1.0 200 ok"));
    /* s_server -www describes the session it saw, including our client certificate. */
    assert_non_null(strstr(page, "TLSv1.3"));
    assert_non_null(strstr(page, "mcp-client"));
    assert_string_equal(wdn_tls_version(t), "TLSv1.3");
    assert_true(wdn_str_eq_cstr(wdn_tls_alpn(t), "http/1.1"));
    struct wdn_str id;
    assert_int_equal(wdn_tls_peer_spiffe_id(t, &id), 0);
    assert_true(wdn_str_eq_cstr(id, "spiffe://public/ns/default/mcp-server"));
    wdn_tls_free(t);

    /* A server whose certificate comes from another CA is refused. */
    wdn_buf_reset(&got);
    rc = run_against_s_server(F.bad_crt, F.bad_key, cctx, "127.0.0.1", &got, &t);
    assert_int_equal(rc, WDN_ETLS);
    assert_non_null(strstr(wdn_tls_error(t), "certificate verify failed"));
    assert_int_equal(got.len, 0);
    wdn_tls_free(t);

    wdn_buf_reset(&got);
    wdn_tls_ctx_free(cctx);
}

static int listen_any(int *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void read_all(int fd, struct wdn_buf *out)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char buf[4096];
        if (poll(&p, 1, 10000) <= 0)
            return;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            return;
        assert_int_equal(wdn_buf_append(out, buf, (size_t)n), 0);
    }
}

static void s_client_round(struct wdn_tls_ctx *sctx, const char *proto, const char *want_version)
{
    int port, in_fd, out_fd;
    int lfd = listen_any(&port);
    char connect_arg[64];
    snprintf(connect_arg, sizeof(connect_arg), "127.0.0.1:%d", port);
    char *argv[] = {"timeout", "30", "openssl", "s_client", "-connect", connect_arg,
                    "-CAfile", F.ca_file, "-cert", F.cli_crt, "-key", F.cli_key,
                    "-verify_return_error", "-verify_ip", "127.0.0.1", "-alpn", "http/1.1",
                    "-quiet", (char *)proto, NULL};
    pid_t pid = spawn(argv, &in_fd, &out_fd);
    static const char hello[] = "hello from s_client\n";
    assert_int_equal(write(in_fd, hello, sizeof(hello) - 1), (ssize_t)(sizeof(hello) - 1));

    struct pollfd p = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

    struct wdn_tls *t = wdn_tls_new_server(sctx);
    struct wdn_buf got;
    wdn_buf_init(&got, 1u << 16);
    int rc = converse(fd, t, NULL, "hello from s_client\n", &got);
    if (rc != 0)
        fail_msg("rc %d: %s", rc, wdn_tls_error(t));
    assert_string_equal(wdn_buf_cstr(&got), hello);
    assert_string_equal(wdn_tls_version(t), want_version);
    assert_true(wdn_str_eq_cstr(wdn_tls_alpn(t), "http/1.1"));
    struct wdn_str id;
    assert_int_equal(wdn_tls_peer_spiffe_id(t, &id), 0);
    assert_true(wdn_str_eq_cstr(id, "spiffe://public/ns/default/mcp-client"));

    /* Answer, then close_notify and close: s_client prints what it got and exits. */
    static const char reply[] = "hello from warden\n";
    assert_int_equal(wdn_tls_write(t, reply, sizeof(reply) - 1), (int)(sizeof(reply) - 1));
    assert_int_equal(wdn_tls_close(t), 0);
    flush(fd, t);
    shutdown(fd, SHUT_WR);
    struct wdn_buf out;
    wdn_buf_init(&out, 1u << 16);
    read_all(out_fd, &out);
    assert_non_null(strstr(wdn_buf_cstr(&out), "hello from warden"));

    close(in_fd);
    close(out_fd);
    close(fd);
    close(lfd);
    stop(pid);
    wdn_buf_reset(&out);
    wdn_buf_reset(&got);
    wdn_tls_free(t);
}

static void test_server_vs_s_client(void **state)
{
    struct wdn_diag d;
    struct wdn_tls_config sc = {.server = true, .cert = F.server->cert, .key = F.server->key,
                                .ca = F.ca->cert, .verify = WDN_TLS_VERIFY_REQUIRED};
    struct wdn_tls_ctx *sctx = wdn_tls_ctx_new(&sc, &d);
    assert_non_null(sctx);
    s_client_round(sctx, "-tls1_3", "TLSv1.3");
    s_client_round(sctx, "-tls1_2", "TLSv1.2");
    wdn_tls_ctx_free(sctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_vs_s_server),
        cmocka_unit_test(test_server_vs_s_client),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
