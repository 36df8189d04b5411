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

#include "base/error.h"
#include "base/limits.h"
#include "pki/pki_int.h"

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int wdn__pki_write_atomic(const char *path, const void *data, size_t n, mode_t mode,
                          struct wdn_diag *d)
{
    char tmp[4096], dir[4096];
    const char *slash;
    int fd = -1, dfd = -1, rc = WDN_EIO;
    bool created = false;

    if (wdn_fmt(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) != 0) {
        rc = wdn_diag_set(d, WDN_ELIMIT, "PKI: path too long: %s", path);
        goto out;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = wdn_diag_set(d, wdn_error_from_errno(errno),
                          "PKI: cannot create a file beside %s (%s); check that the folder exists "
                          "and is writable",
                          path, strerror(errno));
        goto out;
    }
    created = true;
    /* mkstemp creates 0600; fchmod sets the exact mode whatever the umask. */
    if (fchmod(fd, mode) != 0 || write_all(fd, data, n) != 0 || fsync(fd) != 0) {
        rc = wdn_diag_set(d, WDN_EIO, "PKI: cannot write %s (%s)", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = wdn_diag_set(d, WDN_EIO, "PKI: cannot write %s (%s)", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = wdn_diag_set(d, WDN_EIO, "PKI: cannot rename %s to %s (%s)", tmp, path,
                          strerror(errno));
        goto out;
    }
    created = false;
    /* The rename is durable only once the folder itself is synced. */
    slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        (void)fsync(dfd);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (created)
        unlink(tmp);
    return rc;
}

/* Reads a whole small file; *out is malloc'd (the caller cleanses and frees it). */
static int read_file(const char *path, char **out, size_t *len, struct wdn_diag *d)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd, rc = WDN_EIO;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = wdn_diag_set(d, errno == ENOENT ? WDN_ENOTFOUND : wdn_error_from_errno(errno),
                          "PKI: cannot open %s (%s)", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = wdn_diag_set(d, WDN_EIO, "PKI: %s is not a regular file", path);
        goto out;
    }
    if (st.st_size > (off_t)WDN_PKI_MAX_FILE_BYTES) {
        rc = wdn_diag_set(d, WDN_ELIMIT, "PKI: %s is larger than %u bytes", path,
                          WDN_PKI_MAX_FILE_BYTES);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        rc = wdn_diag_set(d, WDN_ENOMEM, "PKI: out of memory");
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got != (size_t)st.st_size) {
        rc = wdn_diag_set(d, WDN_EIO, "PKI: cannot read %s", path);
        goto out;
    }
    *out = buf;
    *len = got;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

static X509 *load_cert(const char *path, struct wdn_diag *d)
{
    char *pem = NULL;
    size_t n = 0;
    BIO *bio = NULL;
    X509 *x = NULL;

    if (read_file(path, &pem, &n, d) != 0)
        goto out;
    bio = BIO_new_mem_buf(pem, (int)n);
    if (bio != NULL)
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (x == NULL)
        wdn_diag_set(d, WDN_EPARSE, "PKI: %s holds no PEM certificate", path);
out:
    BIO_free(bio);
    free(pem);
    ERR_clear_error();
    return x;
}

static EVP_PKEY *load_key(const char *path, struct wdn_diag *d)
{
    char *pem = NULL;
    size_t n = 0;
    BIO *bio = NULL;
    EVP_PKEY *key = NULL;

    if (read_file(path, &pem, &n, d) != 0)
        goto out;
    bio = BIO_new_mem_buf(pem, (int)n);
    /* An empty passphrase callback: encrypted keys fail instead of prompting. */
    if (bio != NULL)
        key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
    if (key == NULL)
        wdn_diag_set(d, WDN_EPARSE, "PKI: %s holds no unencrypted PEM private key", path);
out:
    BIO_free(bio);
    if (pem != NULL)
        OPENSSL_cleanse(pem, n);
    free(pem);
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
