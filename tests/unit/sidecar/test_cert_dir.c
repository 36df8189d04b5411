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
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/limits.h"
#include "base/log.h"
#include "jose/crypto.h"
#include "sidecar/sidecar.h"
#include "../support/certs.h"
#include "../support/logcap.h"
#include "../support/testdir.h"

static EVP_PKEY *ca_key, *other_ca_key;
static X509 *ca, *other_ca;

static const char app_id[] = "app";
static const char my_id[] = "URI:spiffe://public/ns/default/app";

static int setup(void **state)
{
    struct certs_spec cs = {
        .cn = "test CA", .ca = 1, .not_before_secs = -600, .not_after_secs = 86400};

    (void)state;
    if (testdir_make("sc-certdir") == NULL)
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
    (void)state;
    logcap_end(true); /* shown by ctest only when a test failed; holds cmocka's messages too */
    X509_free(ca);
    X509_free(other_ca);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_ca_key);
    wdn_jose_thread_cleanup();
    return testdir_remove();
}

/* A folder dir/name holding tls.crt (leaf signed by issuer), tls.key (key_file's key) and
 * ca.crt (trust). Returns the folder's path (static). */
static const char *write_set(const char *name, X509 *leaf, EVP_PKEY *key_file, X509 *trust)
{
    static char path[512];
    char f[600];

    testdir_mkdir(name, path, sizeof(path));
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
    /* An encrypted key is refused, never a passphrase prompt on the terminal. */
    p = write_set("files", good, key, ca);
    {
        char f[600];
        FILE *fp;
        snprintf(f, sizeof(f), "%s/tls.key", p);
        fp = fopen(f, "w");
        assert_non_null(fp);
        assert_int_equal(PEM_write_PKCS8PrivateKey(fp, key, EVP_aes_128_cbc(), "pw", 2, NULL,
                                                   NULL),
                         1);
        fclose(fp);
    }
    assert_int_equal(sidecar_new(p, &sc, &d), WDN_ECONFIG);
    assert_non_null(strstr(d.msg, "--cert-dir: tls.key holds no unencrypted PEM private key"));

    /* Limits: a path too long for the files, a file larger than the limit, more
     * intermediates than WDN_SIDECAR_MAX_CERT_CHAIN. */
    {
        char longdir[WDN_MAX_PATH + 32], f[600];
        FILE *fp;
        memset(longdir, 'd', sizeof(longdir) - 1);
        longdir[0] = '/';
        longdir[sizeof(longdir) - 1] = '\0';
        assert_int_equal(sidecar_new(longdir, &sc, &d), WDN_ELIMIT);
        char want[80];
        snprintf(want, sizeof(want), "--cert-dir: path longer than %u bytes: /ddd",
                 (unsigned)WDN_MAX_PATH);
        if (strncmp(d.msg, want, strlen(want)) != 0)
            fail_msg("%s", d.msg);
        p = write_set("files", good, key, ca);
        snprintf(f, sizeof(f), "%s/ca.crt", p);
        fp = fopen(f, "a");
        assert_non_null(fp);
        for (unsigned i = 0; i < WDN_SIDECAR_MAX_CERT_FILE_BYTES / 64 + 1; i++)
            fputs("# padding padding padding padding padding padding padding paddin\n", fp);
        fclose(fp);
        assert_int_equal(sidecar_new(p, &sc, &d), WDN_ELIMIT);
        assert_non_null(strstr(d.msg, "ca.crt is larger than"));
        p = write_set("files", good, key, ca);
        snprintf(f, sizeof(f), "%s/tls.crt", p);
        for (int i = 0; i < WDN_SIDECAR_MAX_CERT_CHAIN + 1; i++)
            assert_int_equal(certs_write(f, 1, ca, NULL), 0);
        assert_int_equal(sidecar_new(p, &sc, &d), WDN_ECONFIG);
        assert_non_null(strstr(d.msg, "tls.crt holds no PEM certificate (or more than 8 after"));
    }
    /* The same CA twice in the bundle is harmless. */
    p = write_set("files", good, key, ca);
    {
        char f[600];
        snprintf(f, sizeof(f), "%s/ca.crt", p);
        assert_int_equal(certs_write(f, 1, ca, NULL), 0);
    }
    logcap_mark();
    assert_int_equal(sidecar_new(p, &sc, &d), 0);
    assert_true(logcap_wait(" chain=0 trusted=2", 1000));
    wdn_sidecar_free(sc);

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

struct testsc {
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
    struct testsc r[2];
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

/* The running sidecar re-reads the folder on every change: a set with a file missing (they are
 * replaced one by one) is only postponed; a complete set that fails a check is refused once,
 * not at every re-read, and the current certificate stays; a good renewal is installed. */
static void test_cert_dir_reload(void **state)
{
    EVP_PKEY *key = certs_key();
    X509 *good = leaf(key, my_id, "serverAuth,clientAuth", 3600, ca, ca_key);
    X509 *renewed = leaf(key, my_id, "serverAuth,clientAuth", 7200, ca, ca_key);
    X509 *other = leaf(key, "URI:spiffe://public/ns/default/other", "serverAuth,clientAuth", 3600,
                       ca, ca_key);
    struct testsc r;
    struct wdn_diag d;
    char live[512], f[600], away[600];

    (void)state;
    snprintf(live, sizeof(live), "%s", write_set("live", good, key, ca));
    assert_int_equal(sidecar_new(live, &r.sc, &d), 0);
    assert_int_equal(pthread_create(&r.t, NULL, runner, r.sc), 0);
    for (int i = 0; i < 6000 && !wdn_sidecar_ready(r.sc); i++) /* watching by then */
        usleep(10000);
    assert_true(wdn_sidecar_ready(r.sc));

    /* tls.key taken away: postponed, said as a warning. */
    logcap_mark();
    snprintf(f, sizeof(f), "%s/tls.key", live);
    snprintf(away, sizeof(away), "%s/tls.key.away", live);
    assert_int_equal(rename(f, away), 0);
    snprintf(f, sizeof(f), "certificate reload postponed: --cert-dir: cannot read %s/tls.key",
             live);
    if (!logcap_wait(f, 60000))
        fail_msg("no postponed reload");

    /* A complete set naming another workload: refused, once. */
    snprintf(f, sizeof(f), "%s/tls.crt", live);
    assert_int_equal(certs_write(f, 0, other, NULL), 0);
    snprintf(f, sizeof(f), "%s/tls.key", live);
    assert_int_equal(rename(away, f), 0);
    if (!logcap_wait("certificate reload refused (the current certificate stays): --cert-dir: "
                     "tls.crt names spiffe://public/ns/default/other",
                     60000))
        fail_msg("no refused reload");
    /* The same bytes again (a touch of ca.crt, the periodic re-read): not reported again. */
    snprintf(f, sizeof(f), "%s/ca.crt", live);
    assert_int_equal(certs_write(f, 0, ca, NULL), 0);
    usleep(500 * 1000);

    /* The renewal is installed. */
    snprintf(f, sizeof(f), "%s/tls.crt", live);
    assert_int_equal(certs_write(f, 0, renewed, NULL), 0);
    if (!logcap_wait("workload certificate reloaded app_id=app", 60000))
        fail_msg("renewal not installed");
    assert_int_equal(logcap_count("certificate reload refused"), 1);
    wdn_sidecar_stop(r.sc);
    assert_int_equal(pthread_join(r.t, NULL), 0);
    wdn_sidecar_free(r.sc);
    X509_free(good);
    X509_free(renewed);
    X509_free(other);
    EVP_PKEY_free(key);
}

/* --ca-dir (the local CA): the workload certificate is issued again at every rotation tick. A
 * CA that cannot be read at a tick fails that rotation only (logged; the current certificate
 * stays); the next tick after the CA is back rotates again. A CA folder that cannot be made or
 * read refuses the start. */
static void test_ca_rotation(void **state)
{
    char cadir[700], crt[800], saved[800], blocker[600];
    struct wdn_sidecar_opts o = {.app_id = app_id, .metrics_port = -1, .workers = 1};
    struct testsc r;
    struct wdn_diag d;

    (void)state;
    /* Refused at start: the CA folder under a regular file, an unreadable CA. */
    testdir_path("blocker", blocker, sizeof(blocker));
    replace_file(testdir(), "blocker", "a file\n");
    snprintf(cadir, sizeof(cadir), "%s/sub/ca", blocker);
    o.ca_dir = cadir;
    assert_int_not_equal(wdn_sidecar_new(&o, &r.sc, &d), 0);
    assert_null(r.sc);
    assert_non_null(strstr(d.msg, "cannot create the CA folder"));
    testdir_path("broken-ca", cadir, sizeof(cadir));
    mkdir(cadir, 0700);
    replace_file(cadir, "ca.crt", "not a certificate\n");
    o.ca_dir = cadir;
    assert_int_not_equal(wdn_sidecar_new(&o, &r.sc, &d), 0);
    assert_null(r.sc);
    assert_non_null(strstr(d.msg, "broken-ca/ca.crt holds no PEM certificate"));

    testdir_path("rot-ca", cadir, sizeof(cadir));
    o.ca_dir = cadir;
    setenv("WARDEN_SIDECAR_ROTATE_MS", "200", 1);
    assert_int_equal(wdn_sidecar_new(&o, &r.sc, &d), 0);
    unsetenv("WARDEN_SIDECAR_ROTATE_MS");
    logcap_mark();
    assert_int_equal(pthread_create(&r.t, NULL, runner, r.sc), 0);
    if (!logcap_wait("workload certificate rotated app_id=app", 60000))
        fail_msg("no rotation");
    snprintf(crt, sizeof(crt), "%s/ca.crt", cadir);
    snprintf(saved, sizeof(saved), "%s/ca.crt.saved", cadir);
    assert_int_equal(rename(crt, saved), 0);
    replace_file(cadir, "ca.crt", "not a certificate\n");
    if (!logcap_wait("certificate rotation failed: PKI: ", 60000))
        fail_msg("no failed rotation");
    assert_true(wdn_sidecar_ready(r.sc)); /* still serving with the current certificate */
    assert_int_equal(rename(saved, crt), 0);
    logcap_mark();
    if (!logcap_wait("workload certificate rotated app_id=app", 60000))
        fail_msg("no rotation after the CA came back");
    wdn_sidecar_stop(r.sc);
    assert_int_equal(pthread_join(r.t, NULL), 0);
    wdn_sidecar_free(r.sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cert_dir_refusals),
        cmocka_unit_test(test_cert_dir_expiry),
        cmocka_unit_test(test_cert_dir_reload),
        cmocka_unit_test(test_ca_rotation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
