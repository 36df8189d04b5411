/* The project CA's refusals (src/pki/cert.c, store.c), one case each with its message: a CA
 * name that cannot be a certificate's, certificates asked of no CA or of half a CA, workload and
 * server certificates with a validity outside 1 s..10 years, too many or malformed extra names
 * and addresses, and files that are not what they should be (a folder, no key, nothing to save).
 * And what the accepted options put into the certificate: the names, and no DNS name for an app
 * ID that is not a DNS label. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/x509v3.h>

#include "base/limits.h"
#include "pki/pki.h"

static struct wdn_pki_cert *ca;
static char dir[64];

static int setup(void **state)
{
    struct wdn_diag d;
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/wdn-pki-edges-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    ca = wdn_pki_ca_create("edges", &d);
    return ca ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    wdn_pki_cert_free(ca);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void expect_refused(struct wdn_pki_cert *c, const struct wdn_diag *d, const char *msg)
{
    if (c != NULL) {
        wdn_pki_cert_free(c);
        fail_msg("accepted, expected '%s'", msg);
    }
    if (strstr(d->msg, msg) == NULL)
        fail_msg("message '%s', expected '%s'", d->msg, msg);
}

static void test_ca_name(void **state)
{
    (void)state;
    struct wdn_diag d;
    char long_name[48];
    memset(long_name, 'a', 47);
    long_name[47] = '\0';
    static const char *const bad[] = {"", "a/b", "a b", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_refused(wdn_pki_ca_create(bad[i], &d), &d,
                       "the project name must be 1..46 letters, digits, '.', '-' or '_'");
    expect_refused(wdn_pki_ca_create(NULL, &d), &d, "the project name must be");
    expect_refused(wdn_pki_ca_create(long_name, &d), &d, "the project name must be");
}

/* Half a CA (no key) is no CA: nothing is signed with it. */
static void test_no_ca(void **state)
{
    (void)state;
    struct wdn_diag d;
    struct wdn_pki_cert half = {.cert = ca->cert};
    const struct wdn_pki_workload_opts w = {.app_id = "svc"};

    expect_refused(wdn_pki_issue_workload(NULL, &w, &d), &d, "no CA (create one with");
    expect_refused(wdn_pki_issue_workload(&half, &w, &d), &d, "no CA");
    expect_refused(wdn_pki_issue_server(NULL, NULL, &d), &d, "no CA");
    expect_refused(wdn_pki_issue_server(&half, NULL, &d), &d, "no CA");
}

static void test_workload_refusals(void **state)
{
    (void)state;
    struct wdn_diag d;
    const struct wdn_pki_workload_opts none = {0};
    const struct wdn_pki_workload_opts negative = {.app_id = "svc", .validity_secs = -1};
    const struct wdn_pki_workload_opts too_long = {.app_id = "svc",
                                                   .validity_secs = WDN_PKI_CA_VALIDITY_SECS + 1};
    const struct wdn_pki_workload_opts bad_id = {.app_id = "a/b"};

    expect_refused(wdn_pki_issue_workload(ca, NULL, &d), &d, "needs an app ID");
    expect_refused(wdn_pki_issue_workload(ca, &none, &d), &d, "needs an app ID");
    expect_refused(wdn_pki_issue_workload(ca, &negative, &d), &d,
                   "validity must be between 1 second and 10 years");
    expect_refused(wdn_pki_issue_workload(ca, &too_long, &d), &d, "validity must be between");
    expect_refused(wdn_pki_issue_workload(ca, &bad_id, &d), &d, "app");
}

/* The DNS names and IP addresses a certificate carries, as "DNS:x IP:y ..." (malloc'd). */
static char *sans(const struct wdn_pki_cert *c)
{
    GENERAL_NAMES *g = X509_get_ext_d2i(c->cert, NID_subject_alt_name, NULL, NULL);
    char *out = calloc(1, 4096);
    size_t n = 0;
    assert_non_null(g);
    for (int i = 0; i < sk_GENERAL_NAME_num(g); i++) {
        const GENERAL_NAME *e = sk_GENERAL_NAME_value(g, i);
        if (e->type == GEN_DNS)
            n += (size_t)snprintf(out + n, 4096 - n, "DNS:%s ",
                                  (const char *)ASN1_STRING_get0_data(e->d.dNSName));
        else if (e->type == GEN_IPADD)
            n += (size_t)snprintf(out + n, 4096 - n, "IP:%d ", ASN1_STRING_length(e->d.iPAddress));
        else if (e->type == GEN_URI)
            n += (size_t)snprintf(
                out + n, 4096 - n, "URI:%s ",
                (const char *)ASN1_STRING_get0_data(e->d.uniformResourceIdentifier));
    }
    GENERAL_NAMES_free(g);
    return out;
}

static void test_workload_names(void **state)
{
    (void)state;
    struct wdn_diag d;
    const struct wdn_pki_workload_opts label = {
        .app_id = "svc-1", .ns = "prod", .trust_domain = "example.org"};
    const struct wdn_pki_workload_opts not_label = {.app_id = "My_App"};
    struct wdn_pki_cert *c = wdn_pki_issue_workload(ca, &label, &d);
    char *s;

    assert_non_null(c);
    s = sans(c);
    assert_string_equal(s, "URI:spiffe://example.org/ns/prod/svc-1 DNS:svc-1 DNS:localhost IP:4 ");
    free(s);
    wdn_pki_cert_free(c);
    /* An app ID that is no DNS label gets no DNS name (it would be an invalid SAN). */
    c = wdn_pki_issue_workload(ca, &not_label, &d);
    assert_non_null(c);
    s = sans(c);
    assert_string_equal(s, "URI:spiffe://public/ns/default/My_App DNS:localhost IP:4 ");
    free(s);
    wdn_pki_cert_free(c);
}

static void test_server_refusals(void **state)
{
    (void)state;
    struct wdn_diag d;
    const char *many[WDN_PKI_MAX_SANS + 1];
    for (size_t i = 0; i < WDN_PKI_MAX_SANS + 1; i++)
        many[i] = "a.example";
    const char *const bad_dns[] = {"ok.example", "bad_name"};
    const char *const dash_dns[] = {"-a.example"};
    const char *const null_dns[] = {NULL};
    const char *const bad_ip[] = {"999.1.1.1"};
    const char *const name_ip[] = {"localhost"};
    const char *const null_ip[] = {NULL};
    struct {
        struct wdn_pki_server_opts o;
        const char *msg;
    } cases[] = {
        {{.dns = many, .ndns = WDN_PKI_MAX_SANS + 1}, "at most 64 extra names and addresses"},
        {{.dns = many, .ndns = 40, .ips = many, .nips = 25}, "at most 64"},
        {{.validity_secs = -5}, "validity must be between 1 second and 10 years"},
        {{.validity_secs = WDN_PKI_CA_VALIDITY_SECS + 1}, "validity must be between"},
        {{.dns = bad_dns, .ndns = 2}, "\"bad_name\" is not a DNS name"},
        {{.dns = dash_dns, .ndns = 1}, "\"-a.example\" is not a DNS name"},
        {{.dns = null_dns, .ndns = 1}, "\"(null)\" is not a DNS name"},
        {{.ips = bad_ip, .nips = 1}, "\"999.1.1.1\" is not an IPv4 or IPv6 address"},
        {{.ips = name_ip, .nips = 1}, "\"localhost\" is not an IPv4 or IPv6 address"},
        {{.ips = null_ip, .nips = 1}, "\"(null)\" is not an IPv4 or IPv6 address"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_refused(wdn_pki_issue_server(ca, &cases[i].o, &d), &d, cases[i].msg);

    /* Accepted: the extra names after localhost and 127.0.0.1, IPv6 too. */
    const char *const dns[] = {"issuer.ns.svc", "Example.COM"};
    const char *const ips[] = {"10.0.0.7", "::1"};
    const struct wdn_pki_server_opts ok = {
        .dns = dns, .ndns = 2, .ips = ips, .nips = 2, .validity_secs = 3600};
    struct wdn_pki_cert *c = wdn_pki_issue_server(ca, &ok, &d);
    assert_non_null(c);
    char *s = sans(c);
    assert_string_equal(s, "DNS:localhost IP:4 DNS:issuer.ns.svc DNS:Example.COM IP:4 IP:16 ");
    free(s);
    wdn_pki_cert_free(c);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_files(void **state)
{
    (void)state;
    struct wdn_diag d;
    char crt[128], key[128], sub[128], junk[128];
    struct wdn_pki_cert empty = {0};

    snprintf(crt, sizeof(crt), "%s/s.crt", dir);
    snprintf(key, sizeof(key), "%s/s.key", dir);
    snprintf(sub, sizeof(sub), "%s/folder", dir);
    snprintf(junk, sizeof(junk), "%s/junk.pem", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(junk, "-----BEGIN NOTHING-----\nAAAA\n-----END NOTHING-----\n");

    assert_int_not_equal(wdn_pki_cert_save(&empty, crt, key, &d), 0);
    assert_non_null(strstr(d.msg, "nothing to save"));
    assert_int_not_equal(wdn_pki_cert_save(NULL, crt, key, &d), 0);
    assert_non_null(strstr(d.msg, "nothing to save"));

    struct wdn_pki_cert *c = wdn_pki_issue_server(ca, NULL, &d);
    assert_non_null(c);
    assert_int_equal(wdn_pki_cert_save(c, crt, key, &d), 0);
    wdn_pki_cert_free(c);

    /* A folder where the key should be; a file with no key in it; a missing file. */
    expect_refused(wdn_pki_cert_load(crt, sub, &d), &d, "is not a regular file");
    expect_refused(wdn_pki_cert_load(crt, junk, &d), &d, "holds no unencrypted PEM private key");
    expect_refused(wdn_pki_cert_load(sub, key, &d), &d, "is not a regular file");
    /* The CA folder: missing, and a folder whose files are not a CA. */
    expect_refused(wdn_pki_ca_load("/nonexistent/wdn-pki", &d), &d, "/nonexistent/wdn-pki");
    c = wdn_pki_cert_load(crt, key, &d);
    assert_non_null(c);
    wdn_pki_cert_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_name),           cmocka_unit_test(test_no_ca),
        cmocka_unit_test(test_workload_refusals), cmocka_unit_test(test_workload_names),
        cmocka_unit_test(test_server_refusals),   cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
