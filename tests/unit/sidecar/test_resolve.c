/* Unit tests of multi-host name resolution (src/sidecar/resolve.c): the --peer-dns template
 * (checking and expansion), host names in --peers, the lookup order, the address cache filled
 * on the main loop, and failover: a failure names its address and moves on once, a refresh
 * keeps the address in use, failures are remembered across refreshes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "sidecar/internal.h"

static const char *k8s = "{app-id}-warden.{namespace}.svc.cluster.local:50002";

static struct wdn_sidecar *bare(const char *tmpl)
{
    struct wdn_sidecar *sc = calloc(1, sizeof(*sc));
    assert_non_null(sc);
    pthread_mutex_init(&sc->peers_mu, NULL);
    sc->ns = strdup("prod");
    sc->peer_dns = tmpl ? strdup(tmpl) : NULL;
    return sc;
}

static void bare_free(struct wdn_sidecar *sc)
{
    wdn__sc_dns_free(sc);
    free(sc->peers);
    free(sc->ns);
    pthread_mutex_destroy(&sc->peers_mu);
    free(sc);
}

static void test_dns_label(void **state)
{
    (void)state;
    assert_true(wdn__sc_dns_label("mcp-server"));
    assert_true(wdn__sc_dns_label("A1"));
    assert_false(wdn__sc_dns_label("my_app"));
    assert_false(wdn__sc_dns_label("-x"));
    assert_false(wdn__sc_dns_label("x-"));
    assert_false(wdn__sc_dns_label(""));
    assert_false(wdn__sc_dns_label("a.b"));
    char long_label[65];
    memset(long_label, 'a', 64);
    long_label[64] = '\0';
    assert_false(wdn__sc_dns_label(long_label));
    long_label[63] = '\0';
    assert_true(wdn__sc_dns_label(long_label));
}

static void expect_bad(const char *tmpl, const char *ns, const char *needle)
{
    struct wdn_diag d;
    wdn_diag_clear(&d);
    assert_int_equal(wdn__sc_dns_template_check(tmpl, ns, &d), WDN_EINVAL);
    if (strstr(d.msg, needle) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", tmpl, d.msg, needle);
    assert_non_null(strstr(d.msg, "--peer-dns"));
}

static void test_template_check(void **state)
{
    struct wdn_diag d;
    char big[WDN_SIDECAR_MAX_PEER_DNS_BYTES + 16];

    (void)state;
    assert_int_equal(wdn__sc_dns_template_check(k8s, "default", &d), 0);
    assert_int_equal(wdn__sc_dns_template_check("{app-id}:3500", "x_y", &d), 0); /* ns unused */
    assert_int_equal(wdn__sc_dns_template_check("{app-id}.peers.example.:1", "d", &d), 0);
    expect_bad("peers.local:50002", "default", "must contain {app-id}");
    expect_bad("{app_id}.svc:1", "default", "unknown placeholder");
    expect_bad("{app-id}.{ns}.svc:1", "default", "unknown placeholder");
    expect_bad("{app-id}.svc", "default", "must end with :PORT");
    expect_bad("{app-id}.svc:", "default", "must end with :PORT");
    expect_bad("{app-id}.svc:0", "default", "1..65535");
    expect_bad("{app-id}.svc:70000", "default", "1..65535");
    expect_bad("{app-id}.svc:80x", "default", "1..65535");
    expect_bad("{app-id}..svc:80", "default", "not a DNS name");
    expect_bad("{app-id}.under_score:80", "default", "not a DNS name");
    expect_bad("{app-id}.sv c:80", "default", "not a DNS name");
    expect_bad("[{app-id}]:80", "default", "not a DNS name");
    wdn_diag_clear(&d);
    assert_int_equal(wdn__sc_dns_template_check(k8s, "Not_A_Label", &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "namespace 'Not_A_Label'"));
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "{app-id}", 8);
    memcpy(big + sizeof(big) - 4, ":80", 3);
    expect_bad(big, "default", "too long");
}

static void test_template_expand(void **state)
{
    char host[WDN_SIDECAR_MAX_HOST_BYTES + 1], app[130];
    int port = 0;

    (void)state;
    assert_int_equal(
        wdn__sc_dns_template_expand(k8s, "prod", "mcp-server", host, sizeof(host), &port), 0);
    assert_string_equal(host, "mcp-server-warden.prod.svc.cluster.local");
    assert_int_equal(port, 50002);
    assert_int_equal(
        wdn__sc_dns_template_expand("{app-id}.{app-id}:7", "d", "Ab", host, sizeof(host), &port),
        0);
    assert_string_equal(host, "Ab.Ab");
    assert_int_equal(port, 7);
    /* App IDs may hold '_' and be 128 long; DNS labels may not. */
    assert_int_equal(wdn__sc_dns_template_expand(k8s, "prod", "my_app", host, sizeof(host), &port),
                     WDN_EINVAL);
    memset(app, 'a', 64);
    app[64] = '\0';
    assert_int_equal(wdn__sc_dns_template_expand(k8s, "prod", app, host, sizeof(host), &port),
                     WDN_EINVAL);
    /* A name that would pass 253 bytes. */
    memset(app, 'a', 63);
    app[63] = '\0';
    assert_int_equal(wdn__sc_dns_template_expand("{app-id}.{app-id}.{app-id}.{app-id}.x:1", "d",
                                                 app, host, sizeof(host), &port),
                     WDN_ELIMIT);
    /* The small buffer is never overrun. */
    char small[8];
    assert_int_equal(wdn__sc_dns_template_expand(k8s, "prod", "mcp", small, sizeof(small), &port),
                     WDN_ELIMIT);
}

static void test_peers_names_and_order(void **state)
{
    char path[] = "/tmp/wdn-sc-resolve-XXXXXX";
    struct wdn_sidecar *sc = bare(k8s);
    struct wdn__sc_peer p;
    struct wdn_diag d;
    int fd = mkstemp(path);
    FILE *f;

    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("b 10.1.2.3:4001\nc peer.example.internal:50002 # a name\nd [::1]:9\n", f);
    fclose(f);
    assert_int_equal(wdn__sc_peers_load(sc, path, &d), 0);
    assert_int_equal(sc->n_static, 3);
    /* The static map first. */
    assert_int_equal(wdn__sc_resolve(sc, "c", &p), 0);
    assert_string_equal(p.host, "peer.example.internal"); /* no lookup yet: the name itself */
    assert_int_equal(p.port, 50002);
    assert_int_equal(wdn__sc_resolve(sc, "b", &p), 0);
    assert_string_equal(p.host, "10.1.2.3");
    /* Then the template. */
    assert_int_equal(wdn__sc_resolve(sc, "weather", &p), 0);
    assert_string_equal(p.host, "weather-warden.prod.svc.cluster.local");
    assert_int_equal(p.port, 50002);
    assert_string_equal(p.app_id, "weather");
    assert_int_equal(wdn__sc_resolve(sc, "my_app", &p), WDN_EINVAL);
    assert_non_null(strstr(wdn__sc_resolve_strerror(WDN_EINVAL), "not a DNS label"));
    assert_non_null(strstr(wdn__sc_resolve_strerror(WDN_ENOTFOUND), "no sidecar found"));
    bare_free(sc);

    /* Without a template, an unknown app ID is not found. */
    sc = bare(NULL);
    assert_int_equal(wdn__sc_peers_load(sc, path, &d), 0);
    assert_int_equal(wdn__sc_resolve(sc, "weather", &p), WDN_ENOTFOUND);
    bare_free(sc);

    /* Host names must be DNS names. */
    const char *bad[] = {"x under_score.example:1\n", "x -lead.example:1\n", "x a..b:1\n",
                         "x host:\n", "x host:+5\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sc = bare(NULL);
        f = fopen(path, "w");
        fputs(bad[i], f);
        fclose(f);
        wdn_diag_clear(&d);
        assert_int_equal(wdn__sc_peers_load(sc, path, &d), WDN_ECONFIG);
        assert_non_null(strstr(d.msg, "DNS name"));
        bare_free(sc);
    }
    unlink(path);
}

/* A --peers file line that is not 'app-id host:port' is refused with its line number, whatever
 * part is wrong; comments and blank lines are skipped; past WDN_SIDECAR_MAX_PEERS entries the
 * file is refused as too long. */
static void test_peers_file_refusals(void **state)
{
    static const char *const bad[] = {
        "a\n",                /* no address */
        "a 10.0.0.1\n",       /* no port */
        "a :80\n",            /* no host */
        "a []:80\n",          /* empty brackets */
        "a 10.0.0.1:x80\n",   /* port not a number */
        "a 10.0.0.1:80x\n",   /* trailing text */
        "a 10.0.0.1:0\n",     /* port out of range */
        "a 10.0.0.1:65536\n", /* port out of range */
        "a.b 10.0.0.1:80\n",  /* not an app ID */
        "a bad!host:80\n",    /* not a DNS name */
    };
    char path[] = "/tmp/wdn-sc-peers-XXXXXX", longhost[400], buf[700];
    struct wdn_sidecar *sc;
    struct wdn_diag d;
    int fd = mkstemp(path);
    FILE *f;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sc = bare(NULL);
        f = fopen(path, "w");
        fprintf(f, "# peers\n\nok 10.0.0.2:1 # fine\n%s", bad[i]);
        fclose(f);
        wdn_diag_clear(&d);
        if (wdn__sc_peers_load(sc, path, &d) != WDN_ECONFIG)
            fail_msg("%s: accepted", bad[i]);
        assert_int_equal(d.line, 4);
        assert_non_null(strstr(wdn_diag_format(&d, buf, sizeof(buf)),
                               "expected 'app-id host:port' (host: an IPv4 or [IPv6] address or "
                               "a DNS name; port 1..65535)"));
        assert_int_equal(sc->n_static, 1);
        bare_free(sc);
    }
    /* A host longer than an address can be. */
    memset(longhost, 'h', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = '\0';
    sc = bare(NULL);
    f = fopen(path, "w");
    fprintf(f, "a %.290s:80\n", longhost);
    fclose(f);
    assert_int_equal(wdn__sc_peers_load(sc, path, &d), WDN_ECONFIG);
    bare_free(sc);
    /* As many entries as allowed, then one more. */
    sc = bare(NULL);
    f = fopen(path, "w");
    for (int i = 0; i < WDN_SIDECAR_MAX_PEERS; i++)
        fprintf(f, "p%d 10.0.%d.%d:80\n", i, i / 250, i % 250 + 1);
    fclose(f);
    assert_int_equal(wdn__sc_peers_load(sc, path, &d), 0);
    assert_int_equal(sc->n_static, WDN_SIDECAR_MAX_PEERS);
    bare_free(sc);
    sc = bare(NULL);
    f = fopen(path, "a");
    fputs("extra 10.9.9.9:80\n", f);
    fclose(f);
    wdn_diag_clear(&d);
    assert_int_equal(wdn__sc_peers_load(sc, path, &d), WDN_ELIMIT);
    assert_int_equal(d.line, WDN_SIDECAR_MAX_PEERS + 1);
    assert_string_equal(d.msg, "too many peers");
    bare_free(sc);
    /* A file that is not there. */
    unlink(path);
    sc = bare(NULL);
    assert_int_equal(wdn__sc_peers_load(sc, path, &d), WDN_EIO);
    assert_non_null(strstr(d.msg, "cannot open peers file /tmp/wdn-sc-peers-"));
    bare_free(sc);
}

/* Runs the loop until the lookup has answered (at most 5 s). */
static void run_until_resolved(struct wdn_sidecar *sc, const char *app_id, const char *want)
{
    struct wdn__sc_peer p;
    uint64_t end = wdn_clock_mono_ms() + 5000;

    while (wdn_clock_mono_ms() < end) {
        uv_run(&sc->loop, UV_RUN_NOWAIT);
        assert_int_equal(wdn__sc_resolve(sc, app_id, &p), 0);
        if (strcmp(p.host, want) == 0)
            return;
        usleep(5000);
    }
    fail_msg("%s never resolved to %s", app_id, want);
}

static void test_address_cache(void **state)
{
    struct wdn_sidecar *sc = bare("{app-id}:4100");
    struct wdn__sc_peer p;

    (void)state;
    assert_int_equal(uv_loop_init(&sc->loop), 0);
    assert_int_equal(wdn__sc_dns_start(sc), 0);
    /* First: the name goes to the pool, a lookup starts on the loop. */
    assert_int_equal(wdn__sc_resolve(sc, "localhost", &p), 0);
    assert_string_equal(p.host, "localhost");
    assert_int_equal(p.port, 4100);
    run_until_resolved(sc, "localhost", "127.0.0.1");
    /* A connection failure on the one address of the name: it stays in use (there is no other)
     * but is marked as failed, and the name is looked up again. The lookup (127.0.0.1, and
     * ::1 when /etc/hosts has it) must not clear the failure: 127.0.0.1 never comes back as
     * a fresh address. */
    assert_int_equal(wdn__sc_dns_put(sc, "localhost", 4100, (const char *[]){"127.0.0.1"}, 1), 0);
    assert_int_equal(wdn__sc_resolve(sc, "localhost", &p), 0);
    assert_string_equal(p.host, "127.0.0.1");
    assert_false(p.suspect);
    wdn__sc_resolve_forget(sc, &p);
    for (int i = 0; i < 200; i++) {
        uv_run(&sc->loop, UV_RUN_NOWAIT);
        assert_int_equal(wdn__sc_resolve(sc, "localhost", &p), 0);
        if (strcmp(p.host, "127.0.0.1") == 0)
            assert_true(p.suspect);
        else
            assert_string_equal(p.host, "::1");
        usleep(5000);
    }
    wdn__sc_dns_stop(sc);
    uv_run(&sc->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&sc->loop), 0);
    bare_free(sc);
}

/* Resolves "weather" and checks the address and whether it failed recently. */
static void expect_addr(struct wdn_sidecar *sc, const char *host, bool suspect)
{
    struct wdn__sc_peer p;

    assert_int_equal(wdn__sc_resolve(sc, "weather", &p), 0);
    assert_string_equal(p.host, host);
    assert_int_equal(p.port, 50002);
    assert_int_equal(p.suspect, suspect);
}

/* A connection to host (an address of weather's name) failed. */
static void fail_on(struct wdn_sidecar *sc, const char *host)
{
    struct wdn__sc_peer p = {.app_id = "weather", .port = 50002};

    snprintf(p.host, sizeof(p.host), "%s", host);
    wdn__sc_resolve_forget(sc, &p);
}

#define WEATHER "weather-warden.prod.svc.cluster.local"

/* Several addresses for one name: used in turn after connection failures; once every one has
 * failed, the one that failed longest ago (marked suspect: a failover does not retry it). */
static void test_failover_order(void **state)
{
    struct wdn_sidecar *sc = bare("{app-id}-warden.{namespace}.svc.cluster.local:50002");
    const char *addrs[] = {"10.0.0.1", "10.0.0.2", "fd00::3"};
    struct wdn__sc_peer p;

    (void)state;
    assert_int_equal(wdn__sc_dns_put(sc, WEATHER, 50002, addrs, 3), 0);
    expect_addr(sc, "10.0.0.1", false);
    expect_addr(sc, "10.0.0.1", false); /* no failure: the same address */
    fail_on(sc, "10.0.0.1");
    expect_addr(sc, "10.0.0.2", false);
    fail_on(sc, "10.0.0.2");
    expect_addr(sc, "fd00::3", false);
    fail_on(sc, "fd00::3");
    expect_addr(sc, "10.0.0.1", true);
    fail_on(sc, "10.0.0.1");
    expect_addr(sc, "10.0.0.2", true);
    /* A failure on another port, or of an address the name does not have, moves nothing. */
    struct wdn__sc_peer other = {.app_id = "weather", .host = "10.0.0.2", .port = 1};
    wdn__sc_resolve_forget(sc, &other);
    fail_on(sc, "10.9.9.9");
    expect_addr(sc, "10.0.0.2", true);
    /* A name that was never looked up: nothing to move, the name goes to the pool. */
    assert_int_equal(wdn__sc_resolve(sc, "rain", &p), 0);
    assert_string_equal(p.host, "rain-warden.prod.svc.cluster.local");
    wdn__sc_resolve_forget(sc, &p);
    assert_int_equal(wdn__sc_resolve(sc, "rain", &p), 0);
    assert_string_equal(p.host, "rain-warden.prod.svc.cluster.local");
    assert_false(p.suspect);
    bare_free(sc);
}

/* Many requests in flight on one address fail together: the first failure moves the name on,
 * the others name the address that already failed and move nothing (they used to move it
 * once each, back onto the dead address, and then clear the cache). */
static void test_forget_names_address(void **state)
{
    struct wdn_sidecar *sc = bare("{app-id}-warden.{namespace}.svc.cluster.local:50002");
    const char *two[] = {"10.0.0.1", "10.0.0.2"};
    struct wdn__sc_peer inflight[8];

    (void)state;
    assert_int_equal(wdn__sc_dns_put(sc, WEATHER, 50002, two, 2), 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(wdn__sc_resolve(sc, "weather", &inflight[i]), 0);
    for (int i = 0; i < 8; i++) {
        assert_string_equal(inflight[i].host, "10.0.0.1");
        wdn__sc_resolve_forget(sc, &inflight[i]);
        expect_addr(sc, "10.0.0.2", false);
    }
    /* The same with three addresses, failures interleaved with new requests on the next one. */
    const char *three[] = {"10.1.0.1", "10.1.0.2", "10.1.0.3"};
    assert_int_equal(wdn__sc_dns_put(sc, WEATHER, 50002, three, 3), 0);
    expect_addr(sc, "10.1.0.1", false);
    fail_on(sc, "10.1.0.1");
    expect_addr(sc, "10.1.0.2", false);
    fail_on(sc, "10.1.0.1");
    fail_on(sc, "10.1.0.1");
    expect_addr(sc, "10.1.0.2", false);
    bare_free(sc);
}

/* A refresh (a new lookup) keeps the address in use while DNS lists it, even when it is not the
 * first; failures are remembered across refreshes, so a crashed pod still in DNS is not tried
 * again; an address that left DNS is replaced by the first one that has not failed. */
static void test_refresh_keeps_current(void **state)
{
    struct wdn_sidecar *sc = bare("{app-id}-warden.{namespace}.svc.cluster.local:50002");
    const char *ab[] = {"10.0.0.1", "10.0.0.2"}, *ba[] = {"10.0.0.2", "10.0.0.1"};
    const char *abc[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"}, *ac[] = {"10.0.0.1", "10.0.0.3"};
    const char *cd[] = {"10.0.0.3", "10.0.0.4"};

    (void)state;
    assert_int_equal(wdn__sc_dns_put(sc, WEATHER, 50002, ab, 2), 0);
    expect_addr(sc, "10.0.0.1", false);
    assert_int_equal(wdn__sc_dns_put(sc, WEATHER, 50002, ba, 2), 0);
    expect_addr(sc, "10.0.0.1", false); /* in use and listed: kept, though not first */
    fail_on(sc, "10.0.0.1");
    expect_addr(sc, "10.0.0.2", false);
    /* Refreshes that list the dead address first: traffic stays on the live one. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wdn__sc_dns_put(sc, WEATHER, 50002, ab, 2), 0);
        expect_addr(sc, "10.0.0.2", false);
    }
    assert_int_equal(wdn__sc_dns_put(sc, WEATHER, 50002, abc, 3), 0);
    expect_addr(sc, "10.0.0.2", false);
    /* The live one leaves DNS: not the dead first address, the next one that has not failed. */
    assert_int_equal(wdn__sc_dns_put(sc, WEATHER, 50002, ac, 2), 0);
    expect_addr(sc, "10.0.0.3", false);
    /* It fails too: the dead one is the only other, and failed before (suspect). */
    fail_on(sc, "10.0.0.3");
    expect_addr(sc, "10.0.0.1", true);
    /* New addresses: the first that has not failed recently (10.0.0.3 has). */
    assert_int_equal(wdn__sc_dns_put(sc, WEATHER, 50002, cd, 2), 0);
    expect_addr(sc, "10.0.0.4", false);
    bare_free(sc);
}

static void test_cache_bounds(void **state)
{
    struct wdn_sidecar *sc = bare("{app-id}-warden.{namespace}.svc.cluster.local:50002");
    const char *addrs[] = {"10.0.0.1", "10.0.0.2", "fd00::3"};
    struct wdn__sc_peer p;

    (void)state;
    assert_int_equal(wdn__sc_dns_put(sc, WEATHER, 50002, addrs, 3), 0);
    /* Another app's failure does not move this one. */
    struct wdn__sc_peer other = {.app_id = "other", .host = "10.0.0.1", .port = 50002};
    wdn__sc_resolve_forget(sc, &other);
    assert_int_equal(wdn__sc_resolve(sc, "weather", &p), 0);
    assert_string_equal(p.host, "10.0.0.1");
    /* An app ID that is not a DNS label keeps the host name: the callee's certificate is
     * checked against it. */
    struct wdn__sc_peer st = {.app_id = "my_app", .host = "peer.example.internal", .port = 7};
    sc->peers = malloc(sizeof(st));
    assert_non_null(sc->peers);
    sc->peers[0] = st;
    sc->n_static = sc->n_peers = sc->cap_peers = 1;
    assert_int_equal(wdn__sc_dns_put(sc, "peer.example.internal", 7, addrs, 3), 0);
    assert_int_equal(wdn__sc_resolve(sc, "my_app", &p), 0);
    assert_string_equal(p.host, "peer.example.internal");
    /* The cache is bounded: the least recently used names make room. */
    for (int i = 0; i < WDN_SIDECAR_DNS_MAX_NAMES + 10; i++) {
        char h[32];
        snprintf(h, sizeof(h), "h%d.example", i);
        assert_int_equal(wdn__sc_dns_put(sc, h, 1, addrs, 1), 0);
    }
    assert_int_equal(sc->n_dns, WDN_SIDECAR_DNS_MAX_NAMES);
    const char *bad[] = {"not-an-address"};
    assert_int_equal(wdn__sc_dns_put(sc, "x", 1, bad, 1), WDN_EINVAL);
    bare_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_label),
        cmocka_unit_test(test_template_check),
        cmocka_unit_test(test_template_expand),
        cmocka_unit_test(test_peers_names_and_order),
        cmocka_unit_test(test_peers_file_refusals),
        cmocka_unit_test(test_address_cache),
        cmocka_unit_test(test_failover_order),
        cmocka_unit_test(test_forget_names_address),
        cmocka_unit_test(test_refresh_keeps_current),
        cmocka_unit_test(test_cache_bounds),
    };
    wdn_log_init("test", WDN_LOG_ERROR, false);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
