/* The server's listen addresses (src/http/listen.c) through wdn_http_server_start: every malformed
 * address refused with WDN_EINVAL before anything is bound (port 0 wherever the port is not what
 * is wrong, so that a mistaken accept binds nothing fixed), "localhost" read as 127.0.0.1, IPv6
 * literals, and a port someone else already listens on refused with WDN_EEXISTS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "http/server.h"

static int on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    return WDN_HTTP_DECLINED;
}

static struct wdn_http_handler handler = {on_req, NULL, NULL};
static struct wdn_http_handler *const chain[] = {&handler};

static int start(const char *listen, struct wdn_http_server **out)
{
    struct wdn_http_server_config cfg = {
        .listen = listen, .workers = 1, .handlers = chain, .nhandlers = 1};

    *out = NULL;
    return wdn_http_server_start(&cfg, out);
}

static void malformed(void **state)
{
    static const char *const bad[] = {
        "127.0.0.1",        /* no port */
        "127.0.0.1:",       /* empty port */
        "127.0.0.1:x",      /* not a number */
        "127.0.0.1:80x",    /* trailing junk */
        "127.0.0.1:-1",     /* negative */
        "127.0.0.1:65536",  /* too large */
        ":0",               /* no host */
        "[::1",             /* no closing bracket */
        "[::1]0",           /* no colon after the bracket */
        "[]:0",             /* empty IPv6 host */
        "[127.0.0.1]:0",    /* brackets hold IPv6 only */
        "[localhost]:0",    /* likewise */
        "::1:0",            /* IPv6 without brackets: where does the port start? */
        "::0",              /* likewise */
        "example.com:0",    /* a name, not an address */
        "256.0.0.1:0",      /* not an IPv4 address */
        "127.0.0.1:99999999999999999999",
        "1111111111111111111111111111111111111111111111111111111111111111111111:0",
    };
    struct wdn_http_server *srv;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = start(bad[i], &srv);
        if (rc != WDN_EINVAL)
            fail_msg("listen \"%s\": %d", bad[i], rc);
        assert_null(srv);
    }
    assert_int_equal(start(NULL, &srv), WDN_EINVAL);
}

static void accepted(void **state)
{
    struct wdn_http_server *srv;

    assert_int_equal(start("localhost:0", &srv), 0);
    assert_true(wdn_http_server_port(srv) > 0);
    wdn_http_server_free(srv);
    if (start("[::1]:0", &srv) == 0) /* hosts without IPv6 loopback skip this one */
        wdn_http_server_free(srv);
}

static void port_taken(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    struct wdn_http_server *srv;
    char listen_at[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    /* Someone listens there already: refused, even on another address of the same port. */
    snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", ntohs(a.sin_port));
    assert_int_equal(start(listen_at, &srv), WDN_EEXISTS);
    snprintf(listen_at, sizeof(listen_at), "0.0.0.0:%d", ntohs(a.sin_port));
    assert_int_equal(start(listen_at, &srv), WDN_EEXISTS);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(malformed),
        cmocka_unit_test(accepted),
        cmocka_unit_test(port_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
