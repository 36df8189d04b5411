/* Unit tests of the sidecar's pieces: the --peers file and name resolution, the metrics text,
 * configuration refusals at start (file:line), and a start/stop cycle on free ports. The
 * end-to-end behaviour (invocation, mTLS, ACL, pipelines, reload) is in tests/e2e/sidecar_*. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "jose/crypto.h"
#include "project/project.h"
#include "project/store.h"
#include "sidecar/internal.h"
#include "../support/testdir.h"

static int setup(void **state)
{
    if (testdir_make("sc-unit") == NULL)
        return -1;
    wdn_log_init("test", WDN_LOG_ERROR, false);
    return 0;
}

static int teardown(void **state)
{
    if (testdir_remove() != 0)
        return -1;
    wdn_jose_thread_cleanup();
    return 0;
}

static struct wdn_sidecar *bare(void)
{
    struct wdn_sidecar *sc = calloc(1, sizeof(*sc));
    pthread_mutex_init(&sc->peers_mu, NULL);
    pthread_mutex_init(&sc->cfg_mu, NULL);
    return sc;
}

static void bare_free(struct wdn_sidecar *sc)
{
    free(sc->peers);
    pthread_mutex_destroy(&sc->peers_mu);
    pthread_mutex_destroy(&sc->cfg_mu);
    free(sc);
}

static void test_peers(void **state)
{
    struct wdn_sidecar *sc = bare();
    struct wdn__sc_peer p;
    struct wdn_diag d;
    char path[512];

    testdir_write("peers", "# static map\nmcp-server 127.0.0.1:4001\n\nweather [::1]:4002 # v6\n");
    testdir_path("peers", path, sizeof(path));
    assert_int_equal(wdn__sc_peers_load(sc, path, &d), 0);
    assert_int_equal(sc->n_static, 2);
    assert_int_equal(wdn__sc_resolve(sc, "mcp-server", &p), 0);
    assert_string_equal(p.host, "127.0.0.1");
    assert_int_equal(p.port, 4001);
    assert_int_equal(wdn__sc_resolve(sc, "weather", &p), 0);
    assert_string_equal(p.host, "::1");
    assert_int_equal(p.port, 4002);
    assert_int_equal(wdn__sc_resolve(sc, "nobody", &p), WDN_ENOTFOUND);
    /* Forgetting touches cached registry entries only, never the static map. */
    assert_int_equal(wdn__sc_resolve(sc, "mcp-server", &p), 0);
    wdn__sc_resolve_forget(sc, &p);
    assert_int_equal(wdn__sc_resolve(sc, "mcp-server", &p), 0);
    assert_string_equal(p.host, "127.0.0.1");
    assert_false(p.suspect);
    bare_free(sc);

    sc = bare();
    testdir_write("peers-bad", "ok 127.0.0.1:1\nbad-line-without-address\n");
    testdir_path("peers-bad", path, sizeof(path));
    wdn_diag_clear(&d);
    assert_int_equal(wdn__sc_peers_load(sc, path, &d), WDN_ECONFIG);
    assert_int_equal(d.line, 2);
    bare_free(sc);

    sc = bare();
    testdir_write("peers-port", "a 127.0.0.1:99999\n");
    testdir_path("peers-port", path, sizeof(path));
    assert_int_equal(wdn__sc_peers_load(sc, path, &d), WDN_ECONFIG);
    bare_free(sc);
}

static void test_metrics(void **state)
{
    struct wdn_sidecar *sc = bare();
    struct wdn_buf b;

    wdn__sc_metrics_request(sc, WDN__SC_PORT_API, 200, wdn_clock_mono_ns());
    wdn__sc_metrics_request(sc, WDN__SC_PORT_API, 200, wdn_clock_mono_ns());
    wdn__sc_metrics_request(sc, WDN__SC_PORT_INTERNAL, 403, wdn_clock_mono_ns() - 3000000);
    wdn__sc_metrics_request(sc, WDN__SC_PORT_API, 42, wdn_clock_mono_ns()); /* clamped */
    sc->m.auth_failures[WDN_MW_MISSING_TOKEN] = 3;
    sc->m.acl[0][WDN_ACL_BY_APP] = 1;
    wdn_buf_init(&b, 1 << 20);
    wdn__sc_metrics_render(sc, &b);
    const char *t = wdn_buf_cstr(&b);
    assert_non_null(strstr(t, "warden_requests_total{port=\"api\",code=\"200\"} 2\n"));
    assert_non_null(strstr(t, "warden_requests_total{port=\"internal\",code=\"403\"} 1\n"));
    assert_non_null(strstr(t, "warden_requests_total{port=\"api\",code=\"599\"} 1\n"));
    assert_non_null(
        strstr(t, "warden_request_duration_seconds_bucket{port=\"internal\",le=\"0.0025\"} 0\n"));
    assert_non_null(
        strstr(t, "warden_request_duration_seconds_bucket{port=\"internal\",le=\"0.005\"} 1\n"));
    assert_non_null(strstr(t, "warden_request_duration_seconds_count{port=\"api\"} 3\n"));
    assert_non_null(strstr(t, "warden_auth_failures_total{reason=\"missing_token\"} 3\n"));
    assert_non_null(strstr(t, "warden_acl_decisions_total{decision=\"deny\",by=\"app\"} 1\n"));
    assert_non_null(strstr(t, "# TYPE warden_request_duration_seconds histogram\n"));
    wdn_buf_reset(&b);
    bare_free(sc);
}

static const char cfg_yaml[] = "apiVersion: dapr.io/v1alpha1\nkind: Configuration\n"
                               "metadata:\n  name: cfg\nspec:\n  appHttpPipeline:\n"
                               "    handlers:\n    - name: missing\n"
                               "      type: middleware.http.bearer\n";

static void test_refuses_missing_handler(void **state)
{
    struct wdn_sidecar_opts o = {.app_id = "app", .http_port = 0, .metrics_port = -1};
    struct wdn_sidecar *sc = NULL;
    struct wdn_diag d;
    char res[512];

    testdir_path("res", res, sizeof(res));
    assert_int_equal(mkdir(res, 0700), 0);
    testdir_write("res/cfg.yaml", cfg_yaml);
    o.resources_paths[0] = res;
    o.n_resources_paths = 1;
    o.config = "cfg";
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), WDN_ECONFIG);
    assert_null(sc);
    assert_non_null(strstr(d.file, "res/cfg.yaml"));
    assert_int_equal(d.line, 8);
    o.config = "absent";
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), WDN_ECONFIG);
    o.app_id = "bad id";
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), WDN_EINVAL);
}

static void *runner(void *arg)
{
    struct wdn_diag d;
    return (void *)(intptr_t)wdn_sidecar_run(arg, &d);
}

static void test_start_stop(void **state)
{
    struct wdn_sidecar_opts o = {.app_id = "app", .http_port = 0, .metrics_port = 0, .workers = 1};
    struct wdn_sidecar *sc = NULL;
    struct wdn_diag d;
    pthread_t t;
    void *ret;
    char ca[512];

    testdir_path("ca", ca, sizeof(ca));
    o.ca_dir = ca;
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), 0);
    assert_int_equal(pthread_create(&t, NULL, runner, sc), 0);
    for (int i = 0; i < 3000 && !wdn_sidecar_ready(sc); i++) /* all ports bound by then */
        usleep(10000);
    assert_true(wdn_sidecar_http_port(sc) > 0);
    assert_true(wdn_sidecar_internal_port(sc) > 0);
    assert_true(wdn_sidecar_metrics_port(sc) > 0);
    wdn_sidecar_stop(sc);
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_int_equal((int)(intptr_t)ret, 0);
    wdn_sidecar_free(sc);
    /* The CA was created once and is reused. */
    assert_int_equal(access("/dev/null", F_OK), 0);
    testdir_path("ca/ca.crt", ca, sizeof(ca));
    assert_int_equal(access(ca, F_OK), 0);
}

/* GET /v1.0/healthz on 127.0.0.1:port; the status, or 0 when no answer. body gets the start of
 * the body. */
static int healthz(int port, char *body, size_t cap)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    static const char req[] = "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char buf[1024];
    size_t n = 0;
    ssize_t k;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    body[0] = '\0';
    if (fd < 0)
        return 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(req) - 1)) {
        while (n < sizeof(buf) - 1 && (k = recv(fd, buf + n, sizeof(buf) - 1 - n, 0)) > 0)
            n += (size_t)k;
        buf[n] = '\0';
        if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
            status = 0;
        const char *b = strstr(buf, "\r\n\r\n");
        snprintf(body, cap, "%s", b ? b + 4 : "");
    }
    close(fd);
    return status;
}

/* In project mode the sidecar says it is healthy only once peers can find it: dev run and the
 * Dapr SDKs start the apps on healthz, and a first call to a peer whose registry entry was not
 * written yet failed with 500 ERR_DIRECT_INVOKE (the tutorial's step 5 answered "MCP server
 * returned HTTP 500" under load). Asked as fast as possible from the moment the port is bound,
 * every 204 must come with the registry entry in place; before it the answer is Dapr's
 * ERR_HEALTH_NOT_READY. */
static void test_healthy_only_once_registered(void **state)
{
    struct wdn_sidecar_opts o = {
        .app_id = "app", .http_port = 0, .metrics_port = -1, .workers = 1, .project = "hz"};
    struct wdn_sidecar *sc = NULL;
    struct wdn_store_sidecar rec;
    struct wdn_diag d;
    char body[512];
    pthread_t t;
    void *ret;
    int port = 0, ok = 0, not_ready = 0;

    (void)state;
    assert_int_equal(wdn_project_create("hz", &d), 0);
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), 0);
    assert_int_equal(pthread_create(&t, NULL, runner, sc), 0);
    for (int i = 0; i < 100000 && (port = wdn_sidecar_http_port(sc)) <= 0; i++)
        usleep(100);
    assert_true(port > 0);
    /* Bounded by time, not by tries: a slow build answers fewer of them. */
    for (uint64_t end = wdn_clock_mono_ms() + 60000; ok < 3 && wdn_clock_mono_ms() < end;) {
        int st = healthz(port, body, sizeof(body));
        if (st == 204) {
            assert_int_equal(wdn_store_get_sidecar("hz", "app", &rec), 0);
            ok++;
        } else if (st == 500) {
            assert_non_null(strstr(body, "ERR_HEALTH_NOT_READY"));
            not_ready++;
        } else {
            usleep(1000); /* not listening yet: no answer */
        }
    }
    assert_int_equal(ok, 3);
    print_message("healthz: %d not-ready answers before the first 204\n", not_ready);
    wdn_sidecar_stop(sc);
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_int_equal((int)(intptr_t)ret, 0);
    wdn_sidecar_free(sc);
    /* Gone from the registry once stopped. */
    assert_int_not_equal(wdn_store_get_sidecar("hz", "app", &rec), 0);
}

/* A sidecar whose bearer middleware has no keys yet is not healthy: an app started on healthz
 * would get 503 keys_not_loaded for its first call (the tutorial's step 6 saw it under load).
 * An issuer that never answers does not keep it unhealthy for ever: after
 * WDN_SIDECAR_READY_KEYS_MS it is healthy, and protected requests get 503. */
static void test_healthy_waits_for_keys(void **state)
{
    struct wdn_sidecar_opts o = {.app_id = "app", .http_port = 0, .metrics_port = -1,
                                 .workers = 1, .app_port = 1, .config = "keys"};
    struct wdn_sidecar *sc = NULL;
    struct wdn_diag d;
    char res[512], body[512];
    pthread_t t;
    void *ret;
    uint64_t t0, waited;
    int port = 0, st;

    (void)state;
    testdir_path("res-keys", res, sizeof(res));
    assert_int_equal(mkdir(res, 0700), 0);
    /* Port 1 on loopback refuses: the key set never loads. */
    testdir_write("res-keys/bearer.yaml",
                  "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bearer\n"
                  "spec:\n  type: middleware.http.bearer\n  version: v1\n  metadata:\n"
                  "  - name: issuer\n    value: https://127.0.0.1:1/\n"
                  "  - name: audience\n    value: api\n");
    testdir_write("res-keys/keys.yaml",
                  "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: keys\n"
                  "spec:\n  appHttpPipeline:\n    handlers:\n    - name: bearer\n"
                  "      type: middleware.http.bearer\n");
    o.resources_paths[0] = res;
    o.n_resources_paths = 1;
    assert_int_equal(wdn_sidecar_new(&o, &sc, &d), 0);
    t0 = wdn_clock_mono_ms();
    assert_int_equal(pthread_create(&t, NULL, runner, sc), 0);
    for (int i = 0; i < 3000 && (port = wdn_sidecar_http_port(sc)) <= 0; i++)
        usleep(10000);
    assert_true(port > 0);
    for (int i = 0; i < 100 && (st = healthz(port, body, sizeof(body))) == 0; i++)
        usleep(10000);
    assert_int_equal(st, 500); /* no keys: not ready */
    assert_non_null(strstr(body, "ERR_HEALTH_NOT_READY"));
    for (int i = 0; i < 6000 && !wdn_sidecar_ready(sc); i++)
        usleep(10000);
    waited = wdn_clock_mono_ms() - t0;
    assert_true(wdn_sidecar_ready(sc));
    assert_true(waited >= WDN_SIDECAR_READY_KEYS_MS); /* it waited for the keys, then gave up */
    assert_int_equal(healthz(port, body, sizeof(body)), 204);
    wdn_sidecar_stop(sc);
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_int_equal((int)(intptr_t)ret, 0);
    wdn_sidecar_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peers),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_refuses_missing_handler),
        cmocka_unit_test(test_start_stop),
        cmocka_unit_test(test_healthy_only_once_registered),
        cmocka_unit_test(test_healthy_waits_for_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
