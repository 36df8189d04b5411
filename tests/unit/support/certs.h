/* Test helper: keys and X.509 certificates made in memory with OpenSSL, shaped at will (any
 * SAN, any extendedKeyUsage, any validity window), to feed the checks that refuse bad ones. */
#ifndef WDN_TESTS_CERTS_H
#define WDN_TESTS_CERTS_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/** A fresh EC P-256 key (owned), or NULL. */
EVP_PKEY *certs_key(void);

struct certs_spec {
    const char *cn;       /* subject CN */
    const char *san;      /* subjectAltName in openssl.cnf syntax ("URI:spiffe://..."); NULL none */
    const char *eku;      /* extendedKeyUsage ("serverAuth,clientAuth"); NULL none */
    int ca;               /* a CA (basicConstraints CA:TRUE, keyCertSign) */
    long not_before_secs; /* notBefore = now + this (negative: in the past) */
    long not_after_secs;  /* notAfter = now + this */
};

/**
 * A certificate for key, signed by issuer_key under issuer (both NULL: self-signed). Owned, or
 * NULL when OpenSSL refused a field.
 */
X509 *certs_make(EVP_PKEY *key, const struct certs_spec *s, X509 *issuer, EVP_PKEY *issuer_key);
/** Appends certificates (NULL-terminated list) as PEM to path ("w" when append is 0). 0 or -1. */
int certs_write(const char *path, int append, X509 *first, ...);
/** Writes key as unencrypted PKCS#8 PEM. 0 or -1. */
int certs_write_key(const char *path, EVP_PKEY *key);

#endif
