/* --cert-dir refusals (issue 18): a certificate set the sidecar must not serve with is refused
 * at start with a message saying what to fix (key not matching, no or another SPIFFE ID, an
 * extendedKeyUsage without serverAuth and clientAuth, a chain that does not verify, files that
 * hold no certificate or key); a good set starts. While running, the periodic re-read (the
 * polling fallback beside inotify) warns when the certificate is about to expire and says when
 * it has expired. */
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
#include "sidecar/sidecar.h"
#include "../support/certs.h"
#include "../support/logcap.h"

static char dir[] = "/tmp/wdn-sc-certdir-XXXXXX";
static EVP_PKEY *ca_key, *other_ca_key;
static X509 *ca, *other_ca;

static const char app_id[] = "app";
static const char my_id[] = "URI:spiffe://public/ns/default/app";

static int setup(void **state)
{
    struct certs_spec cs = {
        .cn = "test CA", .ca = 1, .not_before_secs = -600, .not_after_secs = 86400};

    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    wdn_log_init("test", WDN_LOG_INFO, false);
    ca_key = certs_key();
    other_ca_key = certs_key();
    ca = certs_make(ca_key, &cs, NULL, NULL);
    cs.cn = "another CA";
    other_ca = certs_make(other_ca_key, &cs, NULL, NULL);
    return ca && other_ca && logcap_begin() == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[600];

    (void)state;
    logcap_end(true); /* shown by ctest only when a test failed; holds cmocka's messages too */
    X509_free(ca);
    X509_free(other_ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_ca_key);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    wdn_jose_thread_cleanup();
    return system(cmd) == 0 ? 0 : -1;
}

/* A folder dir/name holding tls.crt (leaf signed by issuer), tls.key (key_file's key) and
 * ca.crt (trust). Returns the folder's path (static). */
static const char *write_set(const char *name, X509 *leaf, EVP_PKEY *key_file, X509 *trust)
{
    static char path[512];
    char f[600];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    mkdir(path, 0700);
    snprintf(f, sizeof(f), "%s/tls.crt", path);
    assert_int_equal(certs_write(f, 0, leaf, NULL), 0);
    snprintf(f, sizeof(f), "%s/tls.key", path);
    assert_int_equal(certs_write_key(f, key_file), 0);
    snprintf(f, sizeof(f), "%s/ca.crt", path);
    assert_int_equal(certs_write(f, 0, trust, NULL), 0);
    return path;
}

static X509 *leaf(EVP_PKEY *key, const char *san, const char *eku, long not_after, X509 *issuer,
                  EVP_PKEY *issuer_key)
{
    struct certs_spec s = {
        .cn = "app", .san = san, .eku = eku, .not_before_secs = -600, .not_after_secs = not_after};
    X509 *x = certs_make(key, &s, issuer, issuer_key);
    assert_non_null(x);
    return x;
}

static int sidecar_new(const char *cert_dir, struct wdn_sidecar **sc, struct wdn_diag *d)
{
    struct wdn_sidecar_opts o = {
        .app_id = app_id, .cert_dir = cert_dir, .metrics_port = -1, .workers = 1};
    wdn_diag_clear(d);
    return wdn_sidecar_new(&o, sc, d);
}

static void replace_file(const char *folder, const char *file, const char *text)
{
    char f[600];
    FILE *fp;

    snprintf(f, sizeof(f), "%s/%s", folder, file);
    fp = fopen(f, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_cert_dir_refusals(void **state)
{
    EVP_PKEY *key = certs_key(), *wrong_key = certs_key();
    struct {
        const char *name;
        X509 *leaf;
        EVP_PKEY *key;
        X509 *trust;
        const char *want;
    } cases[] = {
        {"mismatch", leaf(key, my_id, "serverAuth,clientAuth", 3600, ca, ca_key), wrong_key, ca,
         "--cert-dir: tls.key does not match the certificate in tls.crt"},
        {"no-san", leaf(key, NULL, "serverAuth,clientAuth", 3600, ca, ca_key), key, ca,
         "--cert-dir: tls.crt names no SPIFFE ID (it needs exactly one URI SAN spiffe://... and "
         "must not be a CA); expected spiffe://public/ns/default/app"},
        {"dns-san", leaf(key, "DNS:app", "serverAuth,clientAuth", 3600, ca, ca_key), key, ca,
         "tls.crt names no SPIFFE ID"},
        {"two-ids",
         leaf(key, "URI:spiffe://public/ns/default/app,URI:spiffe://public/ns/default/b",
              "serverAuth,clientAuth", 3600, ca, ca_key),
         key, ca, "tls.crt names no SPIFFE ID"},
        {"other-id",
         leaf(key, "URI:spiffe://public/ns/default/other", "serverAuth,clientAuth", 3600, ca,
              ca_key),
         key, ca,
         "--cert-dir: tls.crt names spiffe://public/ns/default/other, but this sidecar is "
         "spiffe://public/ns/default/app (from --app-id, --namespace and --trust-domain)"},
        {"other-ns",
         leaf(key, "URI:spiffe://public/ns/prod/app", "serverAuth,clientAuth", 3600, ca, ca_key),
         key, ca, "tls.crt names spiffe://public/ns/prod/app, but this sidecar is"},
        {"server-only", leaf(key, my_id, "serverAuth", 3600, ca, ca_key), key, ca,
         "--cert-dir: tls.crt cannot serve as both TLS server and client certificate (its "
         "extendedKeyUsage needs serverAuth and clientAuth)"},
        {"client-only", leaf(key, my_id, "clientAuth", 3600, ca, ca_key), key, ca,
         "cannot serve as both TLS server and client certificate"},
        {"other-ca", leaf(key, my_id, "serverAuth,clientAuth", 3600, other_ca, other_ca_key), key,
         ca, "--cert-dir: tls.crt does not verify against ca.crt: "},
        {"expired", leaf(key, my_id, "serverAuth,clientAuth", -60, ca, ca_key), key, ca,
         "--cert-dir: tls.crt does not verify against ca.crt: certificate has expired"},
    };
    struct wdn_sidecar *sc = NULL;
    struct wdn_diag d;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *p = write_set(cases[i].name, cases[i].leaf, cases[i].key, cases[i].trust);
        if (sidecar_new(p, &sc, &d) != WDN_ECONFIG || strstr(d.msg, cases[i].want) == NULL)
            fail_msg("%s: got '%s', expected '%s'", cases[i].name, d.msg, cases[i].want);
        assert_null(sc);
        X509_free(cases[i].leaf);
    }

    /* Files that hold no certificate or key. */
    X509 *good = leaf(key, my_id, "serverAuth,clientAuth", 3600, ca, ca_key);
    const char *p = write_set("files", good, key, ca);
    replace_file(p, "tls.crt", "not a certificate\n");
    assert_int_equal(sidecar_new(p, &sc, &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "--cert-dir: tls.crt holds no PEM certificate"));
    p = write_set("files", good, key, ca);
    replace_file(p, "ca.crt", "");
    assert_int_equal(sidecar_new(p, &sc, &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "--cert-dir: ca.crt holds no PEM certificate"));
    p = write_set("files", good, key, ca);
    replace_file(p, "tls.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert_int_equal(sidecar_new(p, &sc, &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "--cert-dir: tls.key holds no unencrypted PEM private key"));

    /* The same good set starts. */
    p = write_set("files", good, key, ca);
    logcap_mark();
    assert_int_equal(sidecar_new(p, &sc, &d), 0);
    assert_non_null(sc);
    assert_true(logcap_wait("workload certificate loaded from", 1000));
    wdn_sidecar_free(sc);
    X509_free(good);
    EVP_PKEY_free(key);
    EVP_PKEY_free(wrong_key);
}

struct running {
    struct wdn_sidecar *sc;
    pthread_t t;
};

static void *runner(void *arg)
{
    struct wdn_diag d;
    return (void *)(intptr_t)wdn_sidecar_run(arg, &d);
}

/* Nobody renews the certificate: the periodic re-read (every WDN_SIDECAR_CERT_POLL_MS, the
 * fallback for a folder inotify cannot follow) warns once it expires within the hour, and says
 * so once it has expired. */
static void test_cert_dir_expiry(void **state)
{
    EVP_PKEY *key = certs_key();
    X509 *soon = leaf(key, my_id, "serverAuth,clientAuth", 1800, ca, ca_key);
    /* Valid for the start, expired by the first re-read. */
    X509 *brief = leaf(key, my_id, "serverAuth,clientAuth", 3, ca, ca_key);
    struct running r[2];
    struct wdn_diag d;
    char soon_dir[512], brief_dir[512];

    (void)state;
    snprintf(soon_dir, sizeof(soon_dir), "%s", write_set("soon", soon, key, ca));
    snprintf(brief_dir, sizeof(brief_dir), "%s", write_set("brief", brief, key, ca));
    logcap_mark();
    assert_int_equal(sidecar_new(soon_dir, &r[0].sc, &d), 0);
    assert_int_equal(sidecar_new(brief_dir, &r[1].sc, &d), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&r[i].t, NULL, runner, r[i].sc), 0);
    /* First re-read after WDN_SIDECAR_CERT_POLL_MS (10 s); generous bound for a loaded machine. */
    char want[700];
    snprintf(want, sizeof(want), "the workload certificate in %s expires in ", soon_dir);
    if (!logcap_wait(want, 60000))
        fail_msg("no expiry warning for %s", soon_dir);
    snprintf(want, sizeof(want), "the workload certificate in %s has expired: peers refuse it",
             brief_dir);
    if (!logcap_wait(want, 60000))
        fail_msg("no expired error for %s", brief_dir);
    /* Said once, not at every re-read. */
    assert_int_equal(logcap_count("has expired: peers refuse it"), 1);
    for (int i = 0; i < 2; i++) {
        wdn_sidecar_stop(r[i].sc);
        assert_int_equal(pthread_join(r[i].t, NULL), 0);
        wdn_sidecar_free(r[i].sc);
    }
    X509_free(soon);
    X509_free(brief);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cert_dir_refusals),
        cmocka_unit_test(test_cert_dir_expiry),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
