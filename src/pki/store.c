/* Saving and loading keys and certificates as PEM files, atomically and with strict modes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/file.h"
#include "base/limits.h"
#include "pki/pki_int.h"

int wdn__pki_write_atomic(const char *path, const void *data, size_t n, mode_t mode,
                          struct wdn_diag *d)
{
    int rc = wdn_file_write_atomic(path, data, n, (int)mode);

    if (rc)
        return wdn_diag_set(d, rc, "PKI: cannot write %s (%s)", path, wdn_strerror(rc));
    return 0;
}

/* Reads a whole small PEM file into b (the caller cleanses and frees it). */
static int read_file(const char *path, struct wdn_buf *b, struct wdn_diag *d)
{
    int rc = wdn_file_read(path, WDN_PKI_MAX_FILE_BYTES, b);

    if (rc == WDN_ELIMIT)
        return wdn_diag_set(d, rc, "PKI: %s is larger than %u bytes", path,
                            WDN_PKI_MAX_FILE_BYTES);
    if (rc == WDN_EINVAL)
        return wdn_diag_set(d, rc, "PKI: %s is not a regular file", path);
    if (rc)
        return wdn_diag_set(d, rc, "PKI: cannot open %s (%s)", path, wdn_strerror(rc));
    return 0;
}

static X509 *load_cert(const char *path, struct wdn_diag *d)
{
    struct wdn_buf pem;
    BIO *bio = NULL;
    X509 *x = NULL;

    if (read_file(path, &pem, d) != 0)
        goto out;
    bio = BIO_new_mem_buf(pem.data, (int)pem.len);
    if (bio != NULL)
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (x == NULL)
        wdn_diag_set(d, WDN_EPARSE, "PKI: %s holds no PEM certificate", path);
out:
    BIO_free(bio);
    wdn_buf_reset(&pem);
    ERR_clear_error();
    return x;
}

static EVP_PKEY *load_key(const char *path, struct wdn_diag *d)
{
    struct wdn_buf pem;
    BIO *bio = NULL;
    EVP_PKEY *key = NULL;

    if (read_file(path, &pem, d) != 0)
        goto out;
    bio = BIO_new_mem_buf(pem.data, (int)pem.len);
    /* An empty passphrase callback: encrypted keys fail instead of prompting. */
    if (bio != NULL)
        key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
    if (key == NULL)
        wdn_diag_set(d, WDN_EPARSE, "PKI: %s holds no unencrypted PEM private key", path);
out:
    BIO_free(bio);
    if (pem.data != NULL)
        OPENSSL_cleanse(pem.data, pem.cap);
    wdn_buf_reset(&pem);
    ERR_clear_error();
    return key;
}

static int save_pair(const struct wdn_pki_cert *c, const char *cert_path, const char *key_path,
                     struct wdn_diag *d)
{
    BIO *cb = BIO_new(BIO_s_mem());
    BIO *kb = BIO_new(BIO_s_secmem()); /* cleared when freed */
    char *p;
    long n;
    int rc = WDN_ECRYPTO;

    if (c == NULL || c->cert == NULL || c->key == NULL) {
        rc = wdn_diag_set(d, WDN_EINVAL, "PKI: nothing to save");
        goto out;
    }
    if (cb == NULL || kb == NULL || PEM_write_bio_X509(cb, c->cert) != 1 ||
        PEM_write_bio_PrivateKey(kb, c->key, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = wdn_diag_set(d, WDN_ECRYPTO, "PKI: cannot encode the certificate or key as PEM");
        goto out;
    }
    /* The key first: a certificate without its key on disk is worse than the reverse. */
    n = BIO_get_mem_data(kb, &p);
    if ((rc = wdn__pki_write_atomic(key_path, p, (size_t)n, 0600, d)) != 0)
        goto out;
    n = BIO_get_mem_data(cb, &p);
    if ((rc = wdn__pki_write_atomic(cert_path, p, (size_t)n, 0644, d)) != 0)
        goto out;
    rc = 0;
out:
    BIO_free(cb);
    BIO_free(kb);
    ERR_clear_error();
    return rc;
}

static struct wdn_pki_cert *load_pair(const char *cert_path, const char *key_path,
                                      struct wdn_diag *d)
{
    struct wdn_pki_cert *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        wdn_diag_set(d, WDN_ENOMEM, "PKI: out of memory");
        goto fail;
    }
    c->cert = load_cert(cert_path, d);
    if (c->cert == NULL)
        goto fail;
    c->key = load_key(key_path, d);
    if (c->key == NULL)
        goto fail;
    if (X509_check_private_key(c->cert, c->key) != 1) {
        ERR_clear_error();
        wdn_diag_set(d, WDN_ECRYPTO,
                     "PKI: the key in %s does not belong to the certificate in %s; restore the "
                     "pair or issue a new one",
                     key_path, cert_path);
        goto fail;
    }
    return c;
fail:
    wdn_pki_cert_free(c);
    return NULL;
}

int wdn_pki_cert_save(const struct wdn_pki_cert *c, const char *cert_path, const char *key_path,
                      struct wdn_diag *d)
{
    return save_pair(c, cert_path, key_path, d);
}

struct wdn_pki_cert *wdn_pki_cert_load(const char *cert_path, const char *key_path,
                                       struct wdn_diag *d)
{
    return load_pair(cert_path, key_path, d);
}

static int ca_paths(const char *dir, char *crt, char *key, size_t cap, struct wdn_diag *d)
{
    if (wdn_fmt(crt, cap, "%s/%s", dir, WDN_PKI_CA_CERT_FILE) != 0 ||
        wdn_fmt(key, cap, "%s/%s", dir, WDN_PKI_CA_KEY_FILE) != 0)
        return wdn_diag_set(d, WDN_ELIMIT, "PKI: folder path too long: %s", dir);
    return 0;
}

int wdn_pki_ca_save(const struct wdn_pki_cert *ca, const char *dir, struct wdn_diag *d)
{
    char crt[4096], key[4096];
    int rc;

    if ((rc = ca_paths(dir, crt, key, sizeof(crt), d)) != 0)
        goto out;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = wdn_diag_set(d, wdn_error_from_errno(errno), "PKI: cannot create folder %s (%s)",
                          dir, strerror(errno));
        goto out;
    }
    rc = save_pair(ca, crt, key, d);
out:
    return rc;
}

struct wdn_pki_cert *wdn_pki_ca_load(const char *dir, struct wdn_diag *d)
{
    char crt[4096], key[4096];
    struct wdn_pki_cert *ca = NULL;

    if (ca_paths(dir, crt, key, sizeof(crt), d) != 0)
        goto out;
    ca = load_pair(crt, key, d);
    if (ca == NULL)
        goto out;
    if (X509_check_ca(ca->cert) < 1) {
        wdn_diag_set(d, WDN_ECONFIG, "PKI: %s is not a CA certificate", crt);
        wdn_pki_cert_free(ca);
        ca = NULL;
    }
out:
    return ca;
}
