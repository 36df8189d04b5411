/* Certificate issuance: the project CA itself, workload certificates (X.509-SVIDs) and server
 * certificates for HTTPS listeners. Subject alternative names are built as OpenSSL objects,
 * never through configuration strings, so an app ID can never inject an extra name. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "base/dns.h"
#include "base/error.h"
#include "base/limits.h"
#include "pki/pki_int.h"

void wdn_pki_cert_free(struct wdn_pki_cert *c)
{
    if (c == NULL)
        return;
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
    free(c);
}

static int crypto_fail(struct wdn_diag *d, const char *what)
{
    char why[256] = "no OpenSSL error recorded";
    unsigned long e = ERR_peek_last_error();

    if (e != 0)
        ERR_error_string_n(e, why, sizeof(why));
    ERR_clear_error();
    return wdn_diag_set(d, WDN_ECRYPTO, "PKI: %s failed (%s)", what, why);
}

/* A 128-bit positive random serial (RFC 5280 allows up to 20 octets; CAs/B Forum asks for at
 * least 64 bits of randomness). */
static int set_serial(X509 *x)
{
    unsigned char b[16];
    BIGNUM *bn = NULL;
    int rc = WDN_ECRYPTO;

    if (RAND_bytes(b, sizeof(b)) != 1)
        goto out;
    b[0] &= 0x7f;
    b[0] |= 0x01; /* never zero, never negative, always 16 bytes long */
    bn = BN_bin2bn(b, sizeof(b), NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto out;
    rc = 0;
out:
    BN_free(bn);
    return rc;
}

static int add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v, nid, value);
    if (ext == NULL)
        return WDN_ECRYPTO;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : WDN_ECRYPTO;
}

static int push_name(GENERAL_NAMES *gens, int type, const char *s)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = NULL;
    ASN1_OCTET_STRING *ip = NULL;

    if (gn == NULL)
        goto fail;
    if (type == GEN_IPADD) {
        ip = a2i_IPADDRESS(s);
        if (ip == NULL)
            goto fail;
        GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
    } else {
        ia5 = ASN1_IA5STRING_new();
        if (ia5 == NULL || ASN1_STRING_set(ia5, s, (int)strlen(s)) != 1) {
            ASN1_IA5STRING_free(ia5);
            goto fail;
        }
        GENERAL_NAME_set0_value(gn, type, ia5);
    }
    if (sk_GENERAL_NAME_push(gens, gn) <= 0)
        goto fail;
    return 0;
fail:
    GENERAL_NAME_free(gn);
    return WDN_ECRYPTO;
}

static bool ip_ok(const char *s)
{
    unsigned char b[16];

    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* The CA's notAfter as time_t, so issued certificates never outlive their issuer. */
static time_t not_after_of(X509 *x)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
        return 0;
    return timegm(&tm);
}

/*
 * Builds and signs a certificate for key. issuer NULL means self-signed (the CA). cn is the
 * subject common name; gens (may be NULL) the subject alternative names; eku an
 * extendedKeyUsage value for the configuration parser (a constant, never input) or NULL.
 */
static X509 *build(const struct wdn_pki_cert *issuer, EVP_PKEY *key, const char *cn,
                   GENERAL_NAMES *gens, bool is_ca, const char *eku, int64_t validity,
                   struct wdn_diag *d)
{
    X509 *x = X509_new();
    X509_NAME *name = NULL;
    X509 *signer_cert;
    EVP_PKEY *signer_key;
    time_t now = time(NULL), end;

    if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) != 0)
        goto fail;
    name = X509_NAME_new();
    if (name == NULL ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"warden", -1,
                                   -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_subject_name(x, name) != 1)
        goto fail;
    signer_cert = issuer ? issuer->cert : x;
    signer_key = issuer ? issuer->key : key;
    if (X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert) : name) != 1 ||
        X509_set_pubkey(x, key) != 1)
        goto fail;
    end = now + (time_t)validity;
    if (issuer != NULL) {
        time_t ca_end = not_after_of(issuer->cert);
        if (ca_end != 0 && end > ca_end)
            end = ca_end;
    }
    if (ASN1_TIME_set(X509_getm_notBefore(x), now - WDN_PKI_BACKDATE_SECS) == NULL ||
        ASN1_TIME_set(X509_getm_notAfter(x), end) == NULL)
        goto fail;
    if (is_ca) {
        if (add_conf_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") != 0 ||
            add_conf_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
            add_conf_ext(x, x, NID_subject_key_identifier, "hash") != 0 ||
            add_conf_ext(x, x, NID_authority_key_identifier, "keyid:always") != 0)
            goto fail;
    } else {
        if (add_conf_ext(x, signer_cert, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
            add_conf_ext(x, signer_cert, NID_key_usage, "critical,digitalSignature") != 0 ||
            (eku != NULL && add_conf_ext(x, signer_cert, NID_ext_key_usage, eku) != 0) ||
            add_conf_ext(x, signer_cert, NID_subject_key_identifier, "hash") != 0 ||
            add_conf_ext(x, signer_cert, NID_authority_key_identifier, "keyid:always") != 0)
            goto fail;
    }
    if (gens != NULL &&
        X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
        goto fail;
    if (X509_sign(x, signer_key, EVP_sha256()) <= 0)
        goto fail;
    X509_NAME_free(name);
    return x;
fail:
    crypto_fail(d, "building the certificate");
    X509_NAME_free(name);
    X509_free(x);
    return NULL;
}

static struct wdn_pki_cert *cert_new(EVP_PKEY *key, X509 *x)
{
    struct wdn_pki_cert *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        EVP_PKEY_free(key);
        X509_free(x);
        return NULL;
    }
    c->key = key;
    c->cert = x;
    return c;
}

/* A new P-256 key and a certificate for it: subject cn, names gens (borrowed, may be NULL),
 * extended key usage eku (NULL for none), signed by signer, or self-signed as a CA when signer
 * is NULL. what names it in messages ("workload"). */
static struct wdn_pki_cert *new_cert(const struct wdn_pki_cert *signer, const char *cn,
                                     GENERAL_NAMES *gens, const char *eku, int64_t validity,
                                     const char *what, struct wdn_diag *d)
{
    struct wdn_pki_cert *c = NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = NULL;
    char step[64];

    if (key == NULL) {
        wdn_fmt(step, sizeof(step), "generating the %s key", what);
        crypto_fail(d, step);
        goto out;
    }
    x = build(signer, key, cn, gens, signer == NULL, eku, validity, d);
    if (x == NULL)
        goto out;
    c = cert_new(key, x);
    key = NULL;
    x = NULL;
    if (c == NULL)
        wdn_diag_set(d, WDN_ENOMEM, "PKI: out of memory");
out:
    EVP_PKEY_free(key);
    X509_free(x);
    return c;
}

struct wdn_pki_cert *wdn_pki_ca_create(const char *project, struct wdn_diag *d)
{
    struct wdn_pki_cert *ca = NULL;
    char cn[64];
    size_t n = project ? strlen(project) : 0;

    if (n == 0 || n > 46 || wdn__pki_check_segment(wdn_str_from_cstr(project), "project", NULL)) {
        wdn_diag_set(d, WDN_EINVAL,
                     "PKI: the project name must be 1..46 letters, digits, '.', '-' or '_'");
        goto out;
    }
    snprintf(cn, sizeof(cn), "warden project CA %s", project);
    ca = new_cert(NULL, cn, NULL, NULL, WDN_PKI_CA_VALIDITY_SECS, "CA", d);
out:
    return ca;
}

static bool ca_usable(const struct wdn_pki_cert *ca, struct wdn_diag *d)
{
    if (ca == NULL || ca->cert == NULL || ca->key == NULL) {
        wdn_diag_set(d, WDN_EINVAL, "PKI: no CA (create one with `warden project create`)");
        return false;
    }
    return true;
}

struct wdn_pki_cert *wdn_pki_issue_workload(const struct wdn_pki_cert *ca,
                                            const struct wdn_pki_workload_opts *opts,
                                            struct wdn_diag *d)
{
    struct wdn_pki_cert *c = NULL;
    GENERAL_NAMES *gens = NULL;
    char uri[WDN_SPIFFE_MAX_ID_BYTES + 1];
    int64_t validity;

    if (!ca_usable(ca, d))
        goto out;
    if (opts == NULL || opts->app_id == NULL) {
        wdn_diag_set(d, WDN_EINVAL, "PKI: a workload certificate needs an app ID");
        goto out;
    }
    validity = opts->validity_secs ? opts->validity_secs : WDN_PKI_WORKLOAD_VALIDITY_SECS;
    if (validity < 0 || validity > WDN_PKI_CA_VALIDITY_SECS) {
        wdn_diag_set(d, WDN_EINVAL, "PKI: validity must be between 1 second and 10 years");
        goto out;
    }
    if (wdn_pki_spiffe_format(uri, sizeof(uri), opts->trust_domain, opts->ns, opts->app_id, d) != 0)
        goto out;
    gens = sk_GENERAL_NAME_new_null();
    if (gens == NULL || push_name(gens, GEN_URI, uri) != 0 ||
        (wdn_dns_name_ok(opts->app_id, 0) && push_name(gens, GEN_DNS, opts->app_id) != 0) ||
        push_name(gens, GEN_DNS, "localhost") != 0 ||
        push_name(gens, GEN_IPADD, "127.0.0.1") != 0) {
        crypto_fail(d, "building subject alternative names");
        goto out;
    }
    c = new_cert(ca, opts->app_id, gens, "serverAuth,clientAuth", validity, "workload", d);
out:
    GENERAL_NAMES_free(gens);
    return c;
}

struct wdn_pki_cert *wdn_pki_issue_server(const struct wdn_pki_cert *ca,
                                          const struct wdn_pki_server_opts *opts,
                                          struct wdn_diag *d)
{
    static const struct wdn_pki_server_opts none;
    struct wdn_pki_cert *c = NULL;
    GENERAL_NAMES *gens = NULL;
    int64_t validity;

    if (!ca_usable(ca, d))
        goto out;
    if (opts == NULL)
        opts = &none;
    if (opts->ndns + opts->nips > WDN_PKI_MAX_SANS) {
        wdn_diag_set(d, WDN_ELIMIT, "PKI: at most %d extra names and addresses", WDN_PKI_MAX_SANS);
        goto out;
    }
    validity = opts->validity_secs ? opts->validity_secs : WDN_PKI_SERVER_VALIDITY_SECS;
    if (validity < 0 || validity > WDN_PKI_CA_VALIDITY_SECS) {
        wdn_diag_set(d, WDN_EINVAL, "PKI: validity must be between 1 second and 10 years");
        goto out;
    }
    gens = sk_GENERAL_NAME_new_null();
    if (gens == NULL || push_name(gens, GEN_DNS, "localhost") != 0 ||
        push_name(gens, GEN_IPADD, "127.0.0.1") != 0) {
        crypto_fail(d, "building subject alternative names");
        goto out;
    }
    for (size_t i = 0; i < opts->ndns; i++) {
        if (opts->dns[i] == NULL || !wdn_dns_name_ok(opts->dns[i], 0)) {
            wdn_diag_set(d, WDN_EINVAL,
                         "PKI: \"%s\" is not a DNS name (letters, digits and inner hyphens in "
                         "dot-separated labels)",
                         opts->dns[i] ? opts->dns[i] : "(null)");
            goto out;
        }
        if (push_name(gens, GEN_DNS, opts->dns[i]) != 0) {
            crypto_fail(d, "adding a DNS name");
            goto out;
        }
    }
    for (size_t i = 0; i < opts->nips; i++) {
        if (opts->ips[i] == NULL || !ip_ok(opts->ips[i])) {
            wdn_diag_set(d, WDN_EINVAL, "PKI: \"%s\" is not an IPv4 or IPv6 address",
                         opts->ips[i] ? opts->ips[i] : "(null)");
            goto out;
        }
        if (push_name(gens, GEN_IPADD, opts->ips[i]) != 0) {
            crypto_fail(d, "adding an IP address");
            goto out;
        }
    }
    c = new_cert(ca, opts->ndns > 0 ? opts->dns[0] : "localhost", gens, "serverAuth", validity,
                 "server", d);
out:
    GENERAL_NAMES_free(gens);
    return c;
}
