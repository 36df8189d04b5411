/* Keys and certificates for tests; see certs.h. */
#include "certs.h"

#include <stdarg.h>
#include <stdio.h>

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

EVP_PKEY *certs_key(void)
{
    return EVP_EC_gen("P-256");
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

X509 *certs_make(EVP_PKEY *key, const struct certs_spec *s, X509 *issuer, EVP_PKEY *issuer_key)
{
    static long serial = 1000;
    X509 *x = X509_new();
    X509_NAME *name;
    int bad = 0;

    if (x == NULL)
        return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), s->not_before_secs);
    X509_gmtime_adj(X509_getm_notAfter(x), s->not_after_secs);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)s->cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    bad |= add_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (issuer)
        bad |= add_ext(x, issuer, NID_authority_key_identifier, "keyid");
    if (s->ca) {
        bad |= add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
        bad |= add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        bad |= add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
        bad |= add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
    }
    if (s->eku)
        bad |= add_ext(x, issuer, NID_ext_key_usage, s->eku);
    if (s->san)
        bad |= add_ext(x, issuer, NID_subject_alt_name, s->san);
    if (bad || X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int certs_write(const char *path, int append, X509 *first, ...)
{
    FILE *f = fopen(path, append ? "a" : "w");
    va_list ap;
    int rc = 0;

    if (f == NULL)
        return -1;
    va_start(ap, first);
    for (X509 *x = first; x != NULL; x = va_arg(ap, X509 *))
        if (!PEM_write_X509(f, x))
            rc = -1;
    va_end(ap);
    return fclose(f) == 0 ? rc : -1;
}

int certs_write_key(const char *path, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    int rc;

    if (f == NULL)
        return -1;
    rc = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}
