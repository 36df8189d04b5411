/* Failover between a peer's addresses through real sidecars (src/sidecar/resolve.c, forward.c
 * and the reroute hook of http/proxy.c): a caller's sidecar finds the app's sidecar under a
 * --peer-dns name with several addresses (loopback addresses on one port: only 127.0.0.1
 * listens). A request whose connection is refused goes to the next address at once, with its
 * body (none, in one piece, chunked, several pieces), and the refused address is not tried
 * again; when no address answers the client gets Dapr's 502 after each address was tried once.
 * The app ID is "localhost", so that a real lookup of the name (the cache asks for one when
 * every address failed) answers at once from /etc/hosts and still lists the live address. */
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

#include "base/error.h"
#include "base/log.h"
#include "jose/crypto.h"
#include "sidecar/internal.h"
#include "../support/testapp.h"
#include "../support/testdir.h"
#include "../support/testnet.h"
#include "../support/testsc.h"

#define APP "localhost"
#define LIVE "127.0.0.1"

/* A loopback address nobody listens on, a new one at each call: an address that failed is
 * remembered (WDN_SIDECAR_DNS_FAIL_MS), so each case needs its own. */
static const char *dead(void)
{
    static char v[16][16];
    static unsigned k;
    char *s = v[k % 16];
    snprintf(s, sizeof(v[0]), "127.0.0.%u", 10 + k++ % 200);
    return s;
}

/* ---- The app: answers with the size and a checksum of the body it got ------------------- */

static void app_answer(struct wdn_http_req *req, struct wdn_str body)
{
    char out[128];
    uint32_t h = 2166136261u; /* FNV-1a */

    for (size_t i = 0; i < body.len; i++)
        h = (h ^ (unsigned char)body.p[i]) * 16777619u;
    snprintf(out, sizeof(out), "n=%zu sum=%08x", body.len, h);
    wdn_http_respond(req, 200, NULL, 0, wdn_str_from_cstr(out));
}

static char *expected(const char *body, size_t len)
{
    static char out[128];
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)body[i]) * 16777619u;
    snprintf(out, sizeof(out), "n=%zu sum=%08x", len, h);
    return out;
}

/* ---- Sidecars ---------------------------------------------------------------------------- */

struct fx {
    struct testsc callee, caller;
    int port; /* the callee's internal port, on LIVE */
    int api;  /* the caller's API port */
};

static int setup(void **state)
{
    static struct fx f;
    static char tmpl[64];
    char ca[600];

    if (testdir_make("sc-failover") == NULL)
        return -1;
    wdn_log_init("test", WDN_LOG_ERROR, false);
    if (testapp_start(app_answer, 8 << 20) != 0)
        return -1;
    testdir_path("ca", ca, sizeof(ca));
    f.port = testnet_free_port();
    snprintf(tmpl, sizeof(tmpl), "{app-id}:%d", f.port);
    struct wdn_sidecar_opts o = {.app_id = APP,
                                 .app_port = testapp_port(),
                                 .internal_address = LIVE,
                                 .internal_port = f.port,
                                 .metrics_port = -1,
                                 .workers = 1,
                                 .ca_dir = ca};
    testsc_up(&f.callee, &o);
    /* Two workers: the address cache is shared, the connection pools are not. */
    struct wdn_sidecar_opts oc = {
        .app_id = "caller", .metrics_port = -1, .workers = 2, .ca_dir = ca, .peer_dns = tmpl};
    testsc_up(&f.caller, &oc);
    f.api = wdn_sidecar_http_port(f.caller.sc);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    testsc_stop(&f->caller);
    testsc_stop(&f->callee);
    testapp_stop();
    if (testdir_remove() != 0)
        return -1;
    wdn_jose_thread_cleanup();
    return 0;
}

/* The addresses the caller's sidecar knows for the callee's name, as a DNS answer would give
 * them. */
static void addresses(struct fx *f, const char *a, const char *b, const char *c)
{
    const char *v[] = {a, b, c};
    size_t n = c ? 3 : b ? 2 : 1;
    assert_int_equal(wdn__sc_dns_put(f->caller.sc, APP, f->port, v, n), 0);
}

static const char *in_use(struct fx *f)
{
    static struct wdn__sc_peer p;
    assert_int_equal(wdn__sc_resolve(f->caller.sc, APP, &p), 0);
    return p.host;
}

/* The name has a new dead address first and the live one second, and the dead one is in use
 * (a lookup keeps the address in use while it is listed, so it must leave DNS first). */
static void dead_first(struct fx *f)
{
    const char *d = dead();

    addresses(f, d, NULL, NULL);
    addresses(f, d, LIVE, NULL);
    assert_string_equal(in_use(f), d);
}

/* ---- A raw HTTP client ------------------------------------------------------------------- */

/* Sends head (request line and headers, "\r\n" each, without the blank line) plus
 * "Connection: close", then the body parts; reads the answer until the server closes. */
static void http(int port, const char *head, const char *const *parts, const size_t *lens,
                 size_t nparts, struct testresp *r)
{
    char h[2048];
    int fd = testnet_connect(port, 30000), closed, n;

    assert_true(fd >= 0);
    n = snprintf(h, sizeof(h), "%sConnection: close\r\n\r\n", head);
    assert_true(n > 0 && (size_t)n < sizeof(h));
    assert_int_equal(testnet_send_all(fd, h, (size_t)n), 0);
    for (size_t i = 0; i < nparts; i++) {
        if (i > 0)
            usleep(20000); /* separate pieces on the sidecar's side */
        assert_int_equal(testnet_send_all(fd, parts[i], lens[i]), 0);
    }
    testnet_recv_until_close(fd, r->raw, sizeof(r->raw), &closed);
    close(fd);
    r->status = 0;
    sscanf(r->raw, "HTTP/1.1 %d", &r->status);
    r->body = strstr(r->raw, "\r\n\r\n");
    r->body = r->body ? r->body + 4 : "";
}

#define URL "/v1.0/invoke/" APP "/method/echo"

/* ---- Cases ------------------------------------------------------------------------------- */

/* The first address refuses: the request goes on to the live one, and the refused address is
 * no longer the one in use, for this worker and the other. */
static void test_refused_goes_on(void **state)
{
    struct fx *f = *state;
    struct testresp r;
    char d[WDN_SIDECAR_MAX_HOST_BYTES + 1];

    dead_first(f);
    snprintf(d, sizeof(d), "%s", in_use(f));
    http(f->api, "GET " URL " HTTP/1.1\r\nHost: x\r\n", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "n=0 sum=811c9dc5");
    assert_string_equal(in_use(f), LIVE);
    for (int i = 0; i < 6; i++) {
        http(f->api, "GET " URL " HTTP/1.1\r\nHost: x\r\n", NULL, NULL, 0, &r);
        assert_int_equal(r.status, 200);
    }
    /* A refresh that still lists the dead first address keeps the live one. */
    addresses(f, d, LIVE, NULL);
    assert_string_equal(in_use(f), LIVE);
}

/* Bodies are sent whole to the next address: in one piece with the head, chunked, and in
 * several pieces of which the first was waiting for the refused connection. */
static void test_refused_with_body(void **state)
{
    struct fx *f = *state;
    static char big[300000];
    const char *parts[3];
    size_t lens[3];
    struct testresp r;
    char head[512];

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + (i * 7) % 26);

    dead_first(f);
    parts[0] = "hello, failover";
    lens[0] = strlen(parts[0]);
    http(f->api, "POST " URL " HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n", parts, lens, 1, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, expected("hello, failover", 15));

    dead_first(f);
    parts[0] = "5\r\nhello\r\n";
    parts[1] = "9\r\n, chunked\r\n0\r\n\r\n";
    lens[0] = strlen(parts[0]);
    lens[1] = strlen(parts[1]);
    http(f->api, "POST " URL " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n", parts, lens,
         2, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, expected("hello, chunked", 14));

    dead_first(f);
    parts[0] = big;
    lens[0] = 1000;
    parts[1] = big + 1000;
    lens[1] = 100000;
    parts[2] = big + 101000;
    lens[2] = sizeof(big) - 101000;
    snprintf(head, sizeof(head), "PUT " URL " HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n",
             sizeof(big));
    http(f->api, head, parts, lens, 3, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, expected(big, sizeof(big)));
    assert_string_equal(in_use(f), LIVE);
}

/* No address answers: Dapr's 502 once every address was tried (no endless loop). */
static void test_every_address_refuses(void **state)
{
    struct fx *f = *state;
    const char *d1 = dead(), *d2 = dead();
    struct testresp r;

    addresses(f, d1, d2, NULL);
    http(f->api, "GET " URL " HTTP/1.1\r\nHost: x\r\n", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 502);
    assert_non_null(strstr(r.body, "\"errorCode\":\"ERR_DIRECT_INVOKE\""));
    assert_non_null(strstr(r.body, "failed to invoke, id: " APP));
    /* The live address comes back in DNS: used at once (the dead ones failed recently). */
    addresses(f, d1, d2, LIVE);
    assert_string_equal(in_use(f), LIVE);
    http(f->api, "GET " URL " HTTP/1.1\r\nHost: x\r\n", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_goes_on),
        cmocka_unit_test(test_refused_with_body),
        cmocka_unit_test(test_every_address_refuses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
