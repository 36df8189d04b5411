/* Out of memory while the sidecar starts or reloads (src/base/fault.h, curl's torture mode):
 * every allocation wdn_sidecar_new makes through the sidecar's own sites (its options, the
 * configuration it compiles: components, the MCP guard and routes), and every OpenSSL call that
 * can fail internally while a --cert-dir set is read and checked, is failed in turn. Each
 * failure must come out as a refused start (an error, no sidecar, nothing leaked: LSan checks
 * at exit), never a crash, a half-made sidecar or a protection silently off (an API token or a
 * Configuration whose copy failed); the run after the sweep starts normally and the sidecar it
 * makes is complete. Issue 18. */
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
#include "base/fault.h"
#include "base/log.h"
#include "jose/crypto.h"
#include "sidecar/internal.h"
#include "../support/certs.h"
#include "../support/logcap.h"
#include "../support/testdir.h"

static const char res_yaml[] = "apiVersion: dapr.io/v1alpha1\n"
                               "kind: Component\n"
                               "metadata: {name: store}\n"
                               "spec: {type: state.redis, version: v1}\n"
                               "---\n"
                               "apiVersion: dapr.io/v1alpha1\n"
                               "kind: Configuration\n"
                               "metadata: {name: cfg}\n"
                               "spec:\n"
                               "  accessControl: {defaultAction: allow, trustDomain: public}\n"
                               "---\n"
                               "apiVersion: warden.dev/v1alpha1\n"
                               "kind: MCPServer\n"
                               "metadata: {name: tools}\n"
                               "spec:\n"
                               "  appId: app\n"
                               "  endpoint: {streamableHTTP: {url: 'http://127.0.0.1:1/api/mcp'}}\n"
                               "  rules:\n"
                               "  - {callers: ['*'], tools: [add], action: allow}\n"
                               "---\n"
                               "apiVersion: warden.dev/v1alpha1\n"
                               "kind: MCPServer\n"
                               "metadata: {name: other-tools}\n"
                               "spec:\n"
                               "  appId: other\n"
                               "  rules:\n"
                               "  - {callers: ['*'], tools: [add], action: allow}\n";

static int setup(void **state)
{
    char path[600];

    (void)state;
    if (testdir_make("sc-faults") == NULL)
        return -1;
    testdir_mkdir("res", path, sizeof(path));
    testdir_write("res/r.yaml", res_yaml);
    testdir_write("peers", "other 127.0.0.1:1\n");
    wdn_log_init("test", WDN_LOG_INFO, false);
    return logcap_begin();
}

static int teardown(void **state)
{
    (void)state;
    wdn_fault_disarm();
    logcap_end(true);
    wdn_jose_thread_cleanup();
    return testdir_remove();
}

static void test_start_out_of_memory(void **state)
{
    char res[600], ca[600], peers[600];
    struct wdn_sidecar_opts o = {.app_id = "app",
                                 .app_port = 1,
                                 .metrics_port = -1,
                                 .config = "cfg",
                                 .api_token = "token",
                                 .app_api_token = "app-token",
                                 .peer_dns = "{app-id}.{namespace}.svc:50002",
                                 .n_resources_paths = 1};
    struct wdn_sidecar *sc;
    struct wdn_diag d;
    unsigned n, refused = 0;
    int rc;

    (void)state;
    testdir_path("res", res, sizeof(res));
    testdir_path("ca", ca, sizeof(ca));
    testdir_path("peers", peers, sizeof(peers));
    o.resources_paths[0] = res;
    o.ca_dir = ca;
    o.peers_file = peers;
    for (n = 1;; n++) {
        sc = (struct wdn_sidecar *)&sc;
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        rc = wdn_sidecar_new(&o, &sc, &d);
        bool fired = wdn_fault_fired();
        wdn_fault_disarm();
        if (!fired)
            break;
        if (rc == 0)
            fail_msg("allocation %u failed, yet the sidecar was made", n);
        assert_null(sc);
        refused++;
    }
    print_message("%u allocations failed in turn, each refused\n", refused);
    assert_true(refused >= 20); /* the sites are reached: options, components, MCP routes */
    assert_int_equal(rc, 0);
    struct wdn__sc_cfg *c = wdn__sc_cfg_get(sc);
    assert_string_equal(c->config_name, "cfg");
    assert_string_equal(c->mcp_name, "tools");
    assert_string_equal(c->mcp_path, "/api/mcp");
    assert_int_equal(c->n_mcp_routes, 2);
    assert_int_equal(c->n_components, 1);
    assert_string_equal(c->components[0].version, "v1");
    wdn__sc_cfg_release(c);
    assert_string_equal(sc->api_token, "token");
    assert_string_equal(sc->peer_dns, "{app-id}.{namespace}.svc:50002");
    wdn_sidecar_free(sc);
}

/* --cert-dir with a chain (leaf, intermediate) and a bundle of two CAs: every OpenSSL failure
 * while the set is read, hashed, checked and verified refuses the start; then it starts, with
 * the intermediate sent and both CAs trusted. */
static void test_cert_dir_crypto_failures(void **state)
{
    struct certs_spec ca_spec = {
        .cn = "root", .ca = 1, .not_before_secs = -600, .not_after_secs = 86400};
    struct certs_spec leaf_spec = {.cn = "app",
                                   .san = "URI:spiffe://public/ns/default/app",
                                   .eku = "serverAuth,clientAuth",
                                   .not_before_secs = -600,
                                   .not_after_secs = 3600};
    EVP_PKEY *ca_key = certs_key(), *mid_key = certs_key(), *other_key = certs_key(),
             *key = certs_key();
    X509 *ca = certs_make(ca_key, &ca_spec, NULL, NULL), *other, *mid, *leaf;
    char certs[600], f[700];
    struct wdn_sidecar_opts o = {.app_id = "app", .metrics_port = -1};
    struct wdn_sidecar *sc;
    struct wdn_diag d;
    unsigned n, refused = 0;
    int rc;

    (void)state;
    ca_spec.cn = "intermediate";
    mid = certs_make(mid_key, &ca_spec, ca, ca_key);
    ca_spec.cn = "another root";
    other = certs_make(other_key, &ca_spec, NULL, NULL);
    leaf = certs_make(key, &leaf_spec, mid, mid_key);
    assert_true(ca && mid && other && leaf);
    testdir_path("certs", certs, sizeof(certs));
    mkdir(certs, 0700);
    snprintf(f, sizeof(f), "%s/tls.crt", certs);
    assert_int_equal(certs_write(f, 0, leaf, mid, NULL), 0);
    snprintf(f, sizeof(f), "%s/tls.key", certs);
    assert_int_equal(certs_write_key(f, key), 0);
    snprintf(f, sizeof(f), "%s/ca.crt", certs);
    assert_int_equal(certs_write(f, 0, other, ca, NULL), 0);
    o.cert_dir = certs;
    for (n = 1;; n++) {
        sc = (struct wdn_sidecar *)&sc;
        wdn_fault_arm(WDN_FAULT_CRYPTO, n);
        rc = wdn_sidecar_new(&o, &sc, &d);
        bool fired = wdn_fault_fired();
        wdn_fault_disarm();
        if (!fired)
            break;
        if (rc == 0)
            fail_msg("OpenSSL call %u failed, yet the sidecar was made", n);
        assert_null(sc);
        refused++;
    }
    print_message("%u OpenSSL calls failed in turn, each refused\n", refused);
    assert_true(refused >= 8);
    assert_int_equal(rc, 0);
    assert_true(logcap_wait("spiffe_id=spiffe://public/ns/default/app serial=", 1000));
    assert_true(logcap_wait(" chain=1 trusted=2", 1000));
    wdn_sidecar_free(sc);
    X509_free(ca);
    X509_free(mid);
    X509_free(other);
    X509_free(leaf);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(mid_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_out_of_memory),
        cmocka_unit_test(test_cert_dir_crypto_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
