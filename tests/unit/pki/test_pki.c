/* Unit tests for src/pki: the project CA, workload and server certificates, SPIFFE IDs. */
#include <arpa/inet.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/error.h"
#include "pki/pki.h"

static char tmpdir[256];

static int setup_dir(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/wdn-pki-test-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static mode_t file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n;
}

static long long asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
    return (long long)timegm(&tm);
}

/* The subject alternative names of x as "URI:...", "DNS:...", "IP:..." joined by commas. */
static void sans(X509 *x, char *buf, size_t cap)
{
    GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; g != NULL && i < sk_GENERAL_NAME_num(g); i++) {
        GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, i);
        const char *kind = gn->type == GEN_URI ? "URI" : gn->type == GEN_DNS ? "DNS" : "IP";
        char val[256];
        if (gn->type == GEN_IPADD) {
            int n = ASN1_STRING_length(gn->d.iPAddress);
            inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(gn->d.iPAddress), val,
                      sizeof(val));
        } else {
            snprintf(val, sizeof(val), "%.*s", ASN1_STRING_length(gn->d.ia5),
                     (const char *)ASN1_STRING_get0_data(gn->d.ia5));
        }
        off += (size_t)snprintf(buf + off, cap - off, "%s%s:%s", off ? "," : "", kind, val);
    }
    GENERAL_NAMES_free(g);
}

static int verify_with(X509 *ca, X509 *leaf, int purpose)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok;
    X509_STORE_add_cert(st, ca);
    X509_STORE_CTX_init(ctx, st, leaf, NULL);
    X509_STORE_CTX_set_purpose(ctx, purpose);
    ok = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return ok;
}

static void test_ca_create_save_load(void **state)
{
    struct wdn_diag d;
    char dir[512], crt[600], key[600];
    struct wdn_pki_cert *ca = wdn_pki_ca_create("demo-project", &d);
    assert_non_null(ca);

    /* Subject, extensions, key type and lifetime. */
    char cn[128];
    X509_NAME_get_text_by_NID(X509_get_subject_name(ca->cert), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "warden project CA demo-project");
    int crit = 0;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(ca->cert, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_true(bc->ca);
    assert_int_equal(crit, 1);
    BASIC_CONSTRAINTS_free(bc);
    ASN1_BIT_STRING *ku = X509_get_ext_d2i(ca->cert, NID_key_usage, &crit, NULL);
    assert_non_null(ku);
    assert_int_equal(crit, 1);
    ASN1_BIT_STRING_free(ku);
    assert_int_equal(X509_get_key_usage(ca->cert), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    char group[64];
    size_t glen = 0;
    assert_int_equal(EVP_PKEY_get_group_name(ca->key, group, sizeof(group), &glen), 1);
    assert_string_equal(group, "prime256v1");
    long long nb = asn1_time(X509_get0_notBefore(ca->cert));
    long long na = asn1_time(X509_get0_notAfter(ca->cert));
    assert_true(na - nb >= 10LL * 365 * 86400);
    assert_true(nb <= (long long)time(NULL) - 250);
    assert_int_equal(X509_check_issued(ca->cert, ca->cert), X509_V_OK);

    /* Save into a folder that does not exist yet: created 0700, files 0644 and 0600. */
    snprintf(dir, sizeof(dir), "%s/proj", tmpdir);
    assert_int_equal(wdn_pki_ca_save(ca, dir, &d), 0);
    snprintf(crt, sizeof(crt), "%s/ca.crt", dir);
    snprintf(key, sizeof(key), "%s/ca.key", dir);
    assert_int_equal(file_mode(dir), 0700);
    assert_int_equal(file_mode(crt), 0644);
    assert_int_equal(file_mode(key), 0600);
    assert_int_equal(count_entries(dir), 2); /* no temporary files left behind */

    /* Saving again replaces both atomically, even over a file with a loose mode. */
    assert_int_equal(chmod(key, 0666), 0);
    assert_int_equal(wdn_pki_ca_save(ca, dir, &d), 0);
    assert_int_equal(file_mode(key), 0600);
    assert_int_equal(count_entries(dir), 2);

    struct wdn_pki_cert *back = wdn_pki_ca_load(dir, &d);
    assert_non_null(back);
    assert_int_equal(X509_cmp(back->cert, ca->cert), 0);
    assert_int_equal(EVP_PKEY_eq(back->key, ca->key), 1);
    wdn_pki_cert_free(back);

    /* A key that belongs to another CA is refused with a message that says so. */
    struct wdn_pki_cert *other = wdn_pki_ca_create("other", &d);
    assert_non_null(other);
    char odir[512];
    snprintf(odir, sizeof(odir), "%s/other", tmpdir);
    assert_int_equal(wdn_pki_ca_save(other, odir, &d), 0);
    char okey[600];
    snprintf(okey, sizeof(okey), "%s/ca.key", odir);
    assert_int_equal(rename(okey, key), 0);
    assert_null(wdn_pki_ca_load(dir, &d));
    assert_int_equal(d.code, WDN_ECRYPTO);
    assert_non_null(strstr(d.msg, "does not belong"));
    wdn_pki_cert_free(other);
    wdn_pki_cert_free(ca);
}

static void test_ca_errors(void **state)
{
    struct wdn_diag d;
    char dir[512];

    assert_null(wdn_pki_ca_create("", &d));
    assert_int_equal(d.code, WDN_EINVAL);
    assert_null(wdn_pki_ca_create("a b", &d));
    assert_int_equal(d.code, WDN_EINVAL);
    assert_null(wdn_pki_ca_create("x/../y", &d));
    assert_null(wdn_pki_ca_create("0123456789012345678901234567890123456789012345678", &d));
    assert_non_null(strstr(d.msg, "project name"));

    snprintf(dir, sizeof(dir), "%s/missing", tmpdir);
    assert_null(wdn_pki_ca_load(dir, &d));
    assert_int_equal(d.code, WDN_ENOTFOUND);
    assert_non_null(strstr(d.msg, "ca.crt"));

    /* A workload certificate is not a CA. */
    struct wdn_pki_cert *ca = wdn_pki_ca_create("p", &d);
    struct wdn_pki_workload_opts o = {.app_id = "svc"};
    struct wdn_pki_cert *w = wdn_pki_issue_workload(ca, &o, &d);
    assert_non_null(w);
    snprintf(dir, sizeof(dir), "%s/notca", tmpdir);
    assert_int_equal(wdn_pki_ca_save(w, dir, &d), 0);
    assert_null(wdn_pki_ca_load(dir, &d));
    assert_int_equal(d.code, WDN_ECONFIG);

    /* Garbage instead of PEM. */
    char crt[600];
    snprintf(crt, sizeof(crt), "%s/ca.crt", dir);
    FILE *f = fopen(crt, "w");
    fputs("not a certificate\n", f);
    fclose(f);
    assert_null(wdn_pki_ca_load(dir, &d));
    assert_int_equal(d.code, WDN_EPARSE);

    assert_null(wdn_pki_issue_workload(NULL, &o, &d));
    assert_int_equal(d.code, WDN_EINVAL);
    wdn_pki_cert_free(w);
    wdn_pki_cert_free(ca);
}

static void test_workload_cert(void **state)
{
    struct wdn_diag d;
    char buf[1024];
    struct wdn_pki_cert *ca = wdn_pki_ca_create("p", &d);
    struct wdn_pki_cert *other = wdn_pki_ca_create("q", &d);
    struct wdn_pki_workload_opts o = {.app_id = "mcp-client"};
    struct wdn_pki_cert *w = wdn_pki_issue_workload(ca, &o, &d);
    struct wdn_pki_cert *w2 = wdn_pki_issue_workload(ca, &o, &d);
    assert_non_null(w);
    assert_non_null(w2);

    assert_int_equal(verify_with(ca->cert, w->cert, X509_PURPOSE_SSL_CLIENT), 1);
    assert_int_equal(verify_with(ca->cert, w->cert, X509_PURPOSE_SSL_SERVER), 1);
    assert_int_equal(verify_with(other->cert, w->cert, X509_PURPOSE_SSL_CLIENT), 0);

    sans(w->cert, buf, sizeof(buf));
    assert_string_equal(buf, "URI:spiffe://public/ns/default/mcp-client,DNS:mcp-client,"
                             "DNS:localhost,IP:127.0.0.1");
    uint32_t xku = X509_get_extended_key_usage(w->cert);
    assert_true(xku & XKU_SSL_SERVER);
    assert_true(xku & XKU_SSL_CLIENT);
    assert_int_equal(X509_check_ca(w->cert), 0);
    assert_true(X509_get_key_usage(w->cert) & KU_DIGITAL_SIGNATURE);

    /* 24 hours, backdated 5 minutes; 128-bit random serials. */
    long long now = (long long)time(NULL);
    long long nb = asn1_time(X509_get0_notBefore(w->cert));
    long long na = asn1_time(X509_get0_notAfter(w->cert));
    assert_true(nb <= now - 295 && nb >= now - 310);
    assert_true(na - nb == 86400 + 300);
    const ASN1_INTEGER *s1 = X509_get0_serialNumber(w->cert);
    const ASN1_INTEGER *s2 = X509_get0_serialNumber(w2->cert);
    assert_int_equal(ASN1_STRING_length(s1), 16);
    assert_int_not_equal(ASN1_INTEGER_cmp(s1, s2), 0);
    assert_int_equal(EVP_PKEY_eq(w->key, w2->key), 0);

    /* Trust domain, namespace and validity options. */
    struct wdn_pki_workload_opts o2 = {
        .app_id = "api_v2", .trust_domain = "example.org", .ns = "prod", .validity_secs = 3600};
    struct wdn_pki_cert *w3 = wdn_pki_issue_workload(ca, &o2, &d);
    assert_non_null(w3);
    sans(w3->cert, buf, sizeof(buf));
    /* "api_v2" is not a DNS label, so it gets no DNS SAN. */
    assert_string_equal(buf, "URI:spiffe://example.org/ns/prod/api_v2,DNS:localhost,"
                             "IP:127.0.0.1");
    assert_true(asn1_time(X509_get0_notAfter(w3->cert)) -
                    asn1_time(X509_get0_notBefore(w3->cert)) ==
                3600 + 300);

    /* Bad inputs never reach a certificate. */
    struct wdn_pki_workload_opts bad[] = {
        {.app_id = "a/b"},          {.app_id = ""},
        {.app_id = ".."},           {.app_id = "x", .trust_domain = "Example.org"},
        {.app_id = "x", .ns = "a b"}, {.app_id = "x", .validity_secs = -1},
        {.app_id = "x,URI:spiffe://evil/ns/default/admin"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(wdn_pki_issue_workload(ca, &bad[i], &d));
        assert_true(d.code == WDN_EINVAL || d.code == WDN_EPARSE);
        assert_true(d.msg[0] != '\0');
    }

    /* Save and load the pair with strict modes. */
    char crt[600], key[600];
    snprintf(crt, sizeof(crt), "%s/w.crt", tmpdir);
    snprintf(key, sizeof(key), "%s/w.key", tmpdir);
    assert_int_equal(wdn_pki_cert_save(w, crt, key, &d), 0);
    assert_int_equal(file_mode(crt), 0644);
    assert_int_equal(file_mode(key), 0600);
    struct wdn_pki_cert *back = wdn_pki_cert_load(crt, key, &d);
    assert_non_null(back);
    assert_int_equal(X509_cmp(back->cert, w->cert), 0);
    assert_int_equal(EVP_PKEY_eq(back->key, w->key), 1);
    wdn_pki_cert_free(back);
    /* A key from another pair is refused. */
    char key2[600], crt2[600];
    snprintf(crt2, sizeof(crt2), "%s/w2.crt", tmpdir);
    snprintf(key2, sizeof(key2), "%s/w2.key", tmpdir);
    assert_int_equal(wdn_pki_cert_save(w2, crt2, key2, &d), 0);
    assert_null(wdn_pki_cert_load(crt, key2, &d));
    assert_int_equal(d.code, WDN_ECRYPTO);

    wdn_pki_cert_free(w3);
    wdn_pki_cert_free(w2);
    wdn_pki_cert_free(w);
    wdn_pki_cert_free(other);
    wdn_pki_cert_free(ca);
}

static void test_server_cert(void **state)
{
    struct wdn_diag d;
    char buf[1024];
    struct wdn_pki_cert *ca = wdn_pki_ca_create("p", &d);
    const char *dns[] = {"issuer.local", "auth.example.com"};
    const char *ips[] = {"::1", "10.0.0.7"};
    struct wdn_pki_server_opts o = {.dns = dns, .ndns = 2, .ips = ips, .nips = 2};
    struct wdn_pki_cert *s = wdn_pki_issue_server(ca, &o, &d);
    assert_non_null(s);
    sans(s->cert, buf, sizeof(buf));
    assert_string_equal(buf, "DNS:localhost,IP:127.0.0.1,DNS:issuer.local,DNS:auth.example.com,"
                             "IP:::1,IP:10.0.0.7");
    assert_int_equal(verify_with(ca->cert, s->cert, X509_PURPOSE_SSL_SERVER), 1);
    assert_int_equal(X509_check_host(s->cert, "issuer.local", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(s->cert, "127.0.0.1", 0), 1);
    uint32_t xku = X509_get_extended_key_usage(s->cert);
    assert_true(xku & XKU_SSL_SERVER);
    assert_false(xku & XKU_SSL_CLIENT);
    wdn_pki_cert_free(s);

    s = wdn_pki_issue_server(ca, NULL, &d);
    assert_non_null(s);
    sans(s->cert, buf, sizeof(buf));
    assert_string_equal(buf, "DNS:localhost,IP:127.0.0.1");
    wdn_pki_cert_free(s);

    const char *bad_dns[] = {"bad name"};
    struct wdn_pki_server_opts b1 = {.dns = bad_dns, .ndns = 1};
    assert_null(wdn_pki_issue_server(ca, &b1, &d));
    assert_int_equal(d.code, WDN_EINVAL);
    assert_non_null(strstr(d.msg, "bad name"));
    const char *bad_ip[] = {"300.1.1.1"};
    struct wdn_pki_server_opts b2 = {.ips = bad_ip, .nips = 1};
    assert_null(wdn_pki_issue_server(ca, &b2, &d));
    assert_int_equal(d.code, WDN_EINVAL);
    wdn_pki_cert_free(ca);
}

static int write_pem(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    int ok = f && PEM_write_X509(f, x) == 1;
    if (f)
        fclose(f);
    return ok ? 0 : -1;
}

/* Runs a shell command with a timeout; returns its exit status and its output in out. */
static int run(const char *cmd, char *out, size_t cap)
{
    char full[2048];
    snprintf(full, sizeof(full), "timeout 20 %s 2>&1", cmd);
    FILE *p = popen(full, "r");
    size_t n = 0;
    assert_non_null(p);
    while (n + 1 < cap) {
        size_t r = fread(out + n, 1, cap - 1 - n, p);
        if (r == 0)
            break;
        n += r;
    }
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_openssl_cli(void **state)
{
    struct wdn_diag d;
    char ca_path[600], leaf[600], stranger[600], cmd[2048];
    static char out[16384];
    struct wdn_pki_cert *ca = wdn_pki_ca_create("cli", &d);
    struct wdn_pki_cert *other = wdn_pki_ca_create("other", &d);
    struct wdn_pki_workload_opts o = {.app_id = "mcp-client"};
    struct wdn_pki_cert *w = wdn_pki_issue_workload(ca, &o, &d);
    struct wdn_pki_cert *x = wdn_pki_issue_workload(other, &o, &d);

    snprintf(ca_path, sizeof(ca_path), "%s/cli-ca.crt", tmpdir);
    snprintf(leaf, sizeof(leaf), "%s/cli-leaf.crt", tmpdir);
    snprintf(stranger, sizeof(stranger), "%s/cli-stranger.crt", tmpdir);
    assert_int_equal(write_pem(ca_path, ca->cert), 0);
    assert_int_equal(write_pem(leaf, w->cert), 0);
    assert_int_equal(write_pem(stranger, x->cert), 0);

    snprintf(cmd, sizeof(cmd), "openssl x509 -noout -text -in %s", leaf);
    assert_int_equal(run(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "URI:spiffe://public/ns/default/mcp-client"));
    assert_non_null(strstr(out, "DNS:mcp-client"));
    assert_non_null(strstr(out, "DNS:localhost"));
    assert_non_null(strstr(out, "IP Address:127.0.0.1"));
    assert_non_null(strstr(out, "TLS Web Server Authentication, TLS Web Client Authentication"));
    assert_non_null(strstr(out, "CA:FALSE"));
    assert_non_null(strstr(out, "ecdsa-with-SHA256"));
    assert_non_null(strstr(out, "Issuer: O = warden, CN = warden project CA cli"));

    snprintf(cmd, sizeof(cmd), "openssl x509 -noout -text -in %s", ca_path);
    assert_int_equal(run(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "X509v3 Basic Constraints: critical"));
    assert_non_null(strstr(out, "CA:TRUE"));
    assert_non_null(strstr(out, "X509v3 Key Usage: critical"));
    assert_non_null(strstr(out, "Certificate Sign, CRL Sign"));
    assert_non_null(strstr(out, "NIST CURVE: P-256"));

    snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s -purpose sslclient %s", ca_path, leaf);
    assert_int_equal(run(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, ": OK"));
    snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s -purpose sslserver %s", ca_path, leaf);
    assert_int_equal(run(cmd, out, sizeof(out)), 0);
    snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s %s", ca_path, stranger);
    assert_int_not_equal(run(cmd, out, sizeof(out)), 0);
    assert_null(strstr(out, ": OK"));

    wdn_pki_cert_free(x);
    wdn_pki_cert_free(w);
    wdn_pki_cert_free(other);
    wdn_pki_cert_free(ca);
}

struct spiffe_case {
    const char *id;
    const char *td, *ns, *app; /* NULL td: must be rejected */
};

static void test_spiffe_parse(void **state)
{
    static const struct spiffe_case cases[] = {
        {"spiffe://public/ns/default/mcp-client", "public", "default", "mcp-client"},
        {"spiffe://example.org/ns/prod/api_v2.1", "example.org", "prod", "api_v2.1"},
        {"spiffe://a-b_c.d/ns/N-1/App.X", "a-b_c.d", "N-1", "App.X"},
        {"spiffe://public/ns/default/...", "public", "default", "..."},
        {"SPIFFE://public/ns/default/a", NULL, NULL, NULL},
        {"spiffe:/public/ns/default/a", NULL, NULL, NULL},
        {"http://public/ns/default/a", NULL, NULL, NULL},
        {"spiffe://", NULL, NULL, NULL},
        {"spiffe:///ns/default/a", NULL, NULL, NULL},
        {"spiffe://Public/ns/default/a", NULL, NULL, NULL},
        {"spiffe://public:443/ns/default/a", NULL, NULL, NULL},
        {"spiffe://user@public/ns/default/a", NULL, NULL, NULL},
        {"spiffe://public", NULL, NULL, NULL},
        {"spiffe://public/", NULL, NULL, NULL},
        {"spiffe://public/ns/default", NULL, NULL, NULL},
        {"spiffe://public/ns/default/", NULL, NULL, NULL},
        {"spiffe://public/ns/default/a/", NULL, NULL, NULL},
        {"spiffe://public/ns/default/a/b", NULL, NULL, NULL},
        {"spiffe://public/ns//a", NULL, NULL, NULL},
        {"spiffe://public/NS/default/a", NULL, NULL, NULL},
        {"spiffe://public/x/default/a", NULL, NULL, NULL},
        {"spiffe://public/ns/./a", NULL, NULL, NULL},
        {"spiffe://public/ns/default/..", NULL, NULL, NULL},
        {"spiffe://public/ns/default/a?x=1", NULL, NULL, NULL},
        {"spiffe://public/ns/default/a#f", NULL, NULL, NULL},
        {"spiffe://public/ns/default/a%41", NULL, NULL, NULL},
        {"spiffe://public/ns/default/a b", NULL, NULL, NULL},
        {"spiffe://public/ns/de\xc3\xa9/a", NULL, NULL, NULL},
        {"", NULL, NULL, NULL},
    };
    struct wdn_pki_spiffe_id id;
    struct wdn_diag d;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = wdn_pki_spiffe_parse(wdn_str_from_cstr(cases[i].id), &id, &d);
        if (cases[i].td == NULL) {
            if (rc != WDN_EPARSE)
                fail_msg("accepted %s", cases[i].id);
            assert_true(d.msg[0] != '\0');
            assert_int_equal(id.app_id.len, 0);
            continue;
        }
        if (rc != 0)
            fail_msg("rejected %s: %s", cases[i].id, d.msg);
        assert_true(wdn_str_eq_cstr(id.trust_domain, cases[i].td));
        assert_true(wdn_str_eq_cstr(id.ns, cases[i].ns));
        assert_true(wdn_str_eq_cstr(id.app_id, cases[i].app));
    }
    /* An embedded NUL ends nothing: the slice length counts. */
    assert_int_equal(wdn_pki_spiffe_parse((struct wdn_str){"spiffe://public/ns/default/a\0b", 30},
                                          &id, &d),
                     WDN_EPARSE);
    /* Length limit. */
    static char longid[2100];
    memcpy(longid, "spiffe://public/ns/default/", 27);
    memset(longid + 27, 'a', sizeof(longid) - 28);
    assert_int_equal(wdn_pki_spiffe_parse(wdn_str_from_cstr(longid), &id, &d), WDN_EPARSE);
    assert_non_null(strstr(d.msg, "2048"));

    char buf[128];
    assert_int_equal(wdn_pki_spiffe_format(buf, sizeof(buf), NULL, NULL, "x", &d), 0);
    assert_string_equal(buf, "spiffe://public/ns/default/x");
    assert_int_equal(wdn_pki_spiffe_format(buf, sizeof(buf), "td", "n", "a/b", &d), WDN_EINVAL);
    assert_int_equal(wdn_pki_spiffe_format(buf, 10, NULL, NULL, "x", &d), WDN_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_create_save_load),
        cmocka_unit_test(test_ca_errors),
        cmocka_unit_test(test_workload_cert),
        cmocka_unit_test(test_server_cert),
        cmocka_unit_test(test_openssl_cli),
        cmocka_unit_test(test_spiffe_parse),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
