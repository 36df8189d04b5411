/* Unit tests for the TLS engine on its own (no project CA): policy decisions visible on the
 * wire (ALPN, minimum version), a self-signed server, and input the engine must refuse. The
 * mTLS, SPIFFE and interop tests live in tests/unit/pki, which can link the CA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/x509v3.h>

#include "base/error.h"
#include "http/tls.h"

static EVP_PKEY *key;
static X509 *cert; /* self-signed, DNS:localhost, serverAuth */

static int setup(void **state)
{
    X509V3_CTX v;
    X509_EXTENSION *ext;

    key = EVP_EC_gen("P-256");
    cert = X509_new();
    if (key == NULL || cert == NULL)
        return -1;
    X509_set_version(cert, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_gmtime_adj(X509_getm_notBefore(cert), -300);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509V3_set_ctx(&v, cert, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v, NID_subject_alt_name, "DNS:localhost");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return X509_sign(cert, key, EVP_sha256()) > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    X509_free(cert);
    EVP_PKEY_free(key);
    return 0;
}

static struct wdn_tls_ctx *plain_server(void)
{
    struct wdn_diag d;
    struct wdn_tls_config c = {
        .server = true, .cert = cert, .key = key, .verify = WDN_TLS_VERIFY_NONE};
    struct wdn_tls_ctx *ctx = wdn_tls_ctx_new(&c, &d);
    if (ctx == NULL)
        fail_msg("%s", d.msg);
    return ctx;
}

/* Moves output between the engines until neither has anything to say. */
static void pump(struct wdn_tls *a, struct wdn_tls *b, int *ea, int *eb)
{
    for (int round = 0; round < 50; round++) {
        struct wdn_tls *from[2] = {a, b}, *to[2] = {b, a};
        int *err[2] = {eb, ea};
        bool moved = false;
        for (int i = 0; i < 2; i++) {
            char *data, plain[1024];
            size_t len;
            int r;
            if (wdn_tls_take_output(from[i], &data, &len) == 0) {
                moved = true;
                if (wdn_tls_feed(to[i], data, len) != 0)
                    *err[i] = WDN_ESTATE;
                free(data);
            }
            while ((r = wdn_tls_read(to[i], plain, sizeof(plain))) > 0)
                ;
            if (r != WDN_EAGAIN && *err[i] == 0)
                *err[i] = r;
        }
        if (!moved)
            return;
    }
    fail_msg("no progress");
}

static void test_self_signed_trust_anchor(void **state)
{
    struct wdn_diag d;
    struct wdn_tls_ctx *sctx = plain_server();
    struct wdn_tls_config cc = {.ca = cert};
    struct wdn_tls_ctx *cctx = wdn_tls_ctx_new(&cc, &d);
    assert_non_null(cctx);
    struct wdn_tls *c = wdn_tls_new_client(cctx, "localhost", NULL);
    struct wdn_tls *s = wdn_tls_new_server(sctx);
    int ec = 0, es = 0;

    assert_int_equal(wdn_tls_handshake(c), WDN_EAGAIN);
    pump(c, s, &ec, &es);
    assert_int_equal(ec, 0);
    assert_int_equal(es, 0);
    assert_true(wdn_tls_handshake_done(c));
    assert_non_null(wdn_tls_peer_cert(c));
    assert_null(wdn_tls_peer_cert(s)); /* no client certificate was asked for */
    /* Not an X.509-SVID: no URI SAN. */
    struct wdn_str id;
    assert_int_equal(wdn_tls_peer_spiffe_id(c, &id), WDN_EAUTH);
    assert_int_equal(wdn_tls_handshake(c), 0);
    wdn_tls_free(c);
    wdn_tls_free(s);
    wdn_tls_ctx_free(cctx);
    wdn_tls_ctx_free(sctx);
}

static char *read_seed(const char *name, size_t *len)
{
    const char *root = getenv("WDN_SOURCE_DIR");
    char path[1024];
    FILE *f;
    static char buf[4096];

    snprintf(path, sizeof(path), "%s/fuzz/corpus/tls_server_feed/%s", root ? root : ".", name);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s (set WDN_SOURCE_DIR)", path);
    *len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return buf;
}

/* Captured ClientHellos from `openssl s_client` that the server policy must refuse. */
static void test_refused_client_hellos(void **state)
{
    static const struct {
        const char *seed, *reason;
    } cases[] = {
        {"s_client_tls13_h2_only", "no application protocol"}, /* ALPN without http/1.1 */
        {"s_client_tls11", "unsupported protocol"},            /* below TLS 1.2 */
        {"plaintext_http", "http request"},
        {"oversized_record_header", "length too long"}, /* refused from the header alone */
        {"alert_handshake_failure", "unexpected message"},    /* an alert before any hello */
    };
    struct wdn_tls_ctx *sctx = plain_server();

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        char *hello = read_seed(cases[i].seed, &len);
        struct wdn_tls *s = wdn_tls_new_server(sctx);
        char plain[64];
        assert_int_equal(wdn_tls_feed(s, hello, len), 0);
        int r = wdn_tls_read(s, plain, sizeof(plain));
        assert_int_equal(r, WDN_ETLS);
        if (strstr(wdn_tls_error(s), cases[i].reason) == NULL)
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].seed, wdn_tls_error(s),
                     cases[i].reason);
        wdn_tls_free(s);
    }

    /* The ones we accept get a ServerHello. */
    static const char *ok[] = {"s_client_tls13_sni_alpn", "s_client_tls12", "warden_client_sni"};
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        char *hello = read_seed(ok[i], &len);
        struct wdn_tls *s = wdn_tls_new_server(sctx);
        char plain[64];
        assert_int_equal(wdn_tls_feed(s, hello, len), 0);
        if (wdn_tls_read(s, plain, sizeof(plain)) != WDN_EAGAIN)
            fail_msg("%s: %s", ok[i], wdn_tls_error(s));
        assert_true(wdn_tls_pending_output(s) > 0);
        wdn_tls_free(s);
    }
    wdn_tls_ctx_free(sctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_signed_trust_anchor),
        cmocka_unit_test(test_refused_client_hellos),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
