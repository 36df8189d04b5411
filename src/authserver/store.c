/* The authorization server's state folder: the lock every read-modify-write holds, JSON files
 * read with a size limit and written atomically (0600), change detection by stat, and the
 * random identifiers and hashes the other files use. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "base/file.h"
#include "base/base64.h"
#include "base/json_dump.h"
#include "project/project.h"

static int mkdir_p(const char *dir, struct wdn_diag *d)
{
    char tmp[WDN_MAX_PATH];
    int rc = wdn_fmt(tmp, sizeof(tmp), "%s", dir);

    if (rc != 0)
        return wdn_diag_set(d, rc, "state folder path too long");
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return wdn_diag_set(d, WDN_EIO, "cannot create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return wdn_diag_set(d, WDN_EIO, "cannot create %s: %s", tmp, strerror(errno));
    return 0;
}

int wdn__as_lock(const char *dir, int *fd, struct wdn_diag *d)
{
    char path[WDN_MAX_PATH];
    int rc = mkdir_p(dir, d);

    *fd = -1;
    if (rc != 0)
        return rc;
    if (wdn_fmt(path, sizeof(path), "%s/lock", dir) != 0)
        return wdn_diag_set(d, WDN_ELIMIT, "state folder path too long");
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return wdn_diag_set(d, WDN_EIO, "cannot open %s: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX) != 0) {
        close(*fd);
        *fd = -1;
        return wdn_diag_set(d, WDN_EIO, "cannot lock %s: %s", path, strerror(errno));
    }
    return 0;
}

void wdn__as_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

int wdn__as_read_json(const char *dir, const char *name, size_t max, json_t **out, struct stat *st,
                      struct wdn_diag *d)
{
    char path[WDN_MAX_PATH];
    struct wdn_buf b;
    json_error_t jerr;
    int rc;

    *out = NULL;
    if (st != NULL)
        memset(st, 0, sizeof(*st));
    if (wdn_fmt(path, sizeof(path), "%s/%s", dir, name) != 0)
        return wdn_diag_set(d, WDN_ELIMIT, "state folder path too long");
    if (st != NULL && stat(path, st) != 0)
        memset(st, 0, sizeof(*st));
    rc = wdn_file_read(path, max, &b);
    if (rc == WDN_ENOTFOUND)
        return 0;
    if (rc != 0)
        return wdn_diag_set(d, rc, "cannot read %s: %s", path, wdn_strerror(rc));
    *out = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
    OPENSSL_cleanse(b.data, b.len);
    wdn_buf_reset(&b);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return wdn_diag_set(d, WDN_EPARSE, "%s is not a JSON object this version understands",
                            path);
    }
    return 0;
}

int wdn__as_write_json(const char *dir, const char *name, json_t *root, struct wdn_diag *d)
{
    char path[WDN_MAX_PATH];
    char *text = wdn_json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    int rc = WDN_ENOMEM;

    if (text == NULL)
        return wdn_diag_set(d, rc, "out of memory");
    rc = wdn_fmt(path, sizeof(path), "%s/%s", dir, name);
    if (rc == 0)
        rc = wdn_file_write_atomic(path, text, strlen(text), 0600);
    if (rc != 0)
        wdn_diag_set(d, rc, "cannot write %s: %s", path, wdn_strerror(rc));
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    return rc;
}

bool wdn__as_file_changed(const char *dir, const char *name, const struct stat *st)
{
    char path[WDN_MAX_PATH];
    struct stat now;

    if (wdn_fmt(path, sizeof(path), "%s/%s", dir, name) != 0)
        return false;
    if (stat(path, &now) != 0)
        return st->st_ino != 0; /* removed since */
    return now.st_ino != st->st_ino || now.st_dev != st->st_dev || now.st_size != st->st_size ||
           now.st_mtim.tv_sec != st->st_mtim.tv_sec || now.st_mtim.tv_nsec != st->st_mtim.tv_nsec;
}

int wdn__as_random(char *out, size_t cap, size_t bytes)
{
    unsigned char r[64];
    size_t n;
    int rc;

    if (bytes > sizeof(r) || RAND_bytes(r, (int)bytes) != 1)
        return WDN_ECRYPTO;
    rc = wdn_b64url_encode(r, bytes, out, cap, &n);
    OPENSSL_cleanse(r, sizeof(r));
    return rc;
}

void wdn__as_sha256(const void *p, size_t n, unsigned char out[WDN__AS_HASH_LEN])
{
    unsigned int len = 0;

    if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != WDN__AS_HASH_LEN)
        RAND_bytes(out, WDN__AS_HASH_LEN); /* matches nothing: fails closed */
}

void wdn__as_sha256_b64(const char *s, char *out, size_t cap)
{
    unsigned char h[WDN__AS_HASH_LEN];
    size_t n;

    wdn__as_sha256(s, strlen(s), h);
    if (wdn_b64url_encode(h, sizeof(h), out, cap, &n) != 0 && cap > 0)
        out[0] = '\0';
}

int wdn__as_list_open(const char *dir, const char *file, const char *list, int *fd, json_t **root,
                      json_t **arr, struct wdn_diag *d)
{
    int rc = wdn__as_lock(dir, fd, d);

    *root = *arr = NULL;
    if (rc == 0)
        rc = wdn__as_read_json(dir, file, WDN_ISSUER_MAX_STORE_BYTES, root, NULL, d);
    if (rc != 0)
        return rc;
    if (*root == NULL && (*root = json_pack("{s[]}", list)) == NULL)
        return wdn_diag_set(d, WDN_ENOMEM, "out of memory");
    *arr = json_object_get(*root, list);
    if (!json_is_array(*arr))
        return wdn_diag_set(d, WDN_EPARSE, "%s/%s has no %s list", dir, file, list);
    return 0;
}

long wdn__as_list_find(json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *e;

    json_array_foreach (arr, i, e) {
        const char *v = json_string_value(json_object_get(e, key));
        if (v && strcmp(v, value) == 0)
            return (long)i;
    }
    return -1;
}

int wdn__as_list_remove(const char *dir, const char *file, const char *list, const char *key,
                        const char *value, const char *what, struct wdn_diag *d)
{
    json_t *root = NULL, *arr = NULL;
    int fd = -1, rc = wdn__as_list_open(dir, file, list, &fd, &root, &arr, d);
    long at;

    if (rc != 0)
        goto out;
    at = wdn__as_list_find(arr, key, value);
    if (at < 0) {
        rc = wdn_diag_set(d, WDN_ENOTFOUND, "no %s '%s'", what, value);
        goto out;
    }
    json_array_remove(arr, (size_t)at);
    rc = wdn__as_write_json(dir, file, root, d);
out:
    json_decref(root);
    wdn__as_unlock(fd);
    return rc;
}
