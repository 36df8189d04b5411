/* The people who sign in: <state>/users.json (0600) holds each user's name and an scrypt hash
 * of the password, made through OpenSSL's EVP_KDF ("$scrypt$ln=15,r=8,p=1$<salt>$<key>",
 * base64url, 16-byte salt, 32-byte key). `warden issuer user add` writes it under the state
 * lock; a running issuer re-reads it when it changed. A check of an unknown name runs scrypt
 * all the same, so the time taken does not tell which names exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "base/base64.h"

#define USERS_FILE "users.json"
#define SALT_LEN 16
#define KEY_LEN 32
#define SCRYPT_R 8
#define SCRYPT_P 1
#define HASH_MAX 160

struct user {
    char *name;
    char *hash;
};

struct wdn__as_users {
    struct user *v;
    size_t n;
    struct stat st;
    bool loaded;
};

struct wdn__as_users *wdn__as_users_new(void)
{
    return calloc(1, sizeof(struct wdn__as_users));
}

static void users_clear(struct wdn__as_users *u)
{
    for (size_t i = 0; i < u->n; i++) {
        free(u->v[i].name);
        free(u->v[i].hash);
    }
    free(u->v);
    u->v = NULL;
    u->n = 0;
}

void wdn__as_users_free(struct wdn__as_users *u)
{
    if (u == NULL)
        return;
    users_clear(u);
    free(u);
}

bool wdn__as_user_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > WDN__AS_USER_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._@+-", c)))
            return false;
    }
    return true;
}

/* scrypt(password, salt) with N = 2^log_n into key. 0 or WDN_ECRYPTO. */
static int scrypt(const char *password, size_t plen, const unsigned char *salt, size_t slen,
                  unsigned log_n, unsigned char key[KEY_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    uint64_t n = (uint64_t)1 << log_n;
    uint32_t r = SCRYPT_R, p = SCRYPT_P;
    static const char empty[1] = {0};
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                          (void *)(plen ? password : empty), plen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, slen),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx != NULL && EVP_KDF_derive(ctx, key, KEY_LEN, params) == 1;

    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? 0 : WDN_ECRYPTO;
}

/* "$scrypt$ln=N,r=8,p=1$salt$key" for password into out. */
static int hash_password(const char *password, char *out, size_t cap)
{
    unsigned char salt[SALT_LEN], key[KEY_LEN];
    char s64[32], k64[48];
    size_t n;
    int rc = WDN_ECRYPTO;

    if (RAND_bytes(salt, SALT_LEN) != 1 ||
        scrypt(password, strlen(password), salt, SALT_LEN, WDN_ISSUER_SCRYPT_LOG_N, key) != 0)
        goto out;
    rc = wdn_b64url_encode(salt, SALT_LEN, s64, sizeof(s64), &n);
    if (rc == 0)
        rc = wdn_b64url_encode(key, KEY_LEN, k64, sizeof(k64), &n);
    if (rc == 0)
        rc = wdn_fmt(out, cap, "$scrypt$ln=%u,r=%u,p=%u$%s$%s", WDN_ISSUER_SCRYPT_LOG_N, SCRYPT_R,
                     SCRYPT_P, s64, k64);
out:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* Checks password against an encoded hash (NULL: a dummy of the same cost, always false). */
static bool verify_password(const char *password, const char *encoded)
{
    unsigned char salt[SALT_LEN], want[KEY_LEN], got[KEY_LEN];
    char s64[32], k64[48];
    unsigned ln, r, p;
    size_t sn = 0, kn = 0;
    bool real = encoded != NULL, ok;

    RAND_bytes(salt, SALT_LEN);
    RAND_bytes(want, KEY_LEN);
    ln = WDN_ISSUER_SCRYPT_LOG_N;
    if (real) {
        if (sscanf(encoded, "$scrypt$ln=%u,r=%u,p=%u$%31[A-Za-z0-9_-]$%47[A-Za-z0-9_-]", &ln, &r,
                   &p, s64, k64) != 5 ||
            ln < 10 || ln > 20 || r != SCRYPT_R || p != SCRYPT_P ||
            wdn_b64url_decode(wdn_str_from_cstr(s64), salt, sizeof(salt), &sn) != 0 ||
            sn != SALT_LEN ||
            wdn_b64url_decode(wdn_str_from_cstr(k64), want, sizeof(want), &kn) != 0 ||
            kn != KEY_LEN) {
            real = false; /* unreadable: fails, at the same cost */
            ln = WDN_ISSUER_SCRYPT_LOG_N;
        }
    }
    if (scrypt(password, strlen(password), salt, SALT_LEN, ln, got) != 0)
        return false;
    ok = wdn_ct_equal(got, KEY_LEN, want, KEY_LEN) && real;
    OPENSSL_cleanse(got, sizeof(got));
    return ok;
}

/* Re-reads users.json when it changed. With the mutex. */
static void users_refresh(struct wdn_issuer *iss)
{
    struct wdn__as_users *u = iss->users;
    json_t *root = NULL, *arr, *e;
    struct stat st;
    size_t i;

    if (u->loaded && !wdn__as_file_changed(iss->state_dir, USERS_FILE, &u->st))
        return;
    if (wdn__as_read_json(iss->state_dir, USERS_FILE, WDN_ISSUER_MAX_STORE_BYTES, &root, &st,
                          NULL) != 0)
        return; /* keep the last good list */
    users_clear(u);
    u->st = st;
    u->loaded = true;
    arr = json_object_get(root, "users");
    if (json_is_array(arr) && json_array_size(arr) <= WDN_ISSUER_MAX_USERS)
        u->v = calloc(json_array_size(arr) + 1, sizeof(*u->v));
    json_array_foreach (arr, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *hash = json_string_value(json_object_get(e, "hash"));
        if (u->v == NULL || name == NULL || hash == NULL || !wdn__as_user_name_ok(name))
            continue;
        u->v[u->n].name = strdup(name);
        u->v[u->n].hash = strdup(hash);
        if (u->v[u->n].name && u->v[u->n].hash)
            u->n++;
        else {
            free(u->v[u->n].name);
            free(u->v[u->n].hash);
        }
    }
    json_decref(root);
}

int wdn__as_password_check(struct wdn_issuer *iss, const char *name, const char *password, bool *ok)
{
    char hash[HASH_MAX] = "";
    bool found = false;

    pthread_mutex_lock(&iss->mu);
    users_refresh(iss);
    for (size_t i = 0; i < iss->users->n; i++)
        if (strcmp(iss->users->v[i].name, name) == 0)
            found = wdn_fmt(hash, sizeof(hash), "%s", iss->users->v[i].hash) == 0;
    pthread_mutex_unlock(&iss->mu);
    *ok = verify_password(password, found ? hash : NULL) && found;
    return 0;
}

/* ---- The CLI side: users.json under the state lock ---------------------------------------- */

int wdn_issuer_user_add(const char *state_dir, const char *name, const char *password, bool replace,
                        struct wdn_diag *d)
{
    char hash[HASH_MAX];
    json_t *root = NULL, *arr = NULL, *entry = NULL;
    size_t plen = strlen(password);
    int fd = -1, rc;
    long at;

    if (!wdn__as_user_name_ok(name))
        return wdn_diag_set(d, WDN_EINVAL,
                            "user name '%s': use 1..%d of letters, digits and . _ @ + -", name,
                            WDN__AS_USER_MAX);
    if (plen < 8 || plen > WDN_ISSUER_MAX_PASSWORD_BYTES)
        return wdn_diag_set(d, WDN_EINVAL, "the password must be 8..%d bytes long",
                            WDN_ISSUER_MAX_PASSWORD_BYTES);
    rc = hash_password(password, hash, sizeof(hash));
    if (rc != 0)
        return wdn_diag_set(d, rc, "cannot hash the password: %s", wdn_strerror(rc));
    rc = wdn__as_list_open(state_dir, USERS_FILE, "users", &fd, &root, &arr, d);
    if (rc != 0)
        goto out;
    at = wdn__as_list_find(arr, "name", name);
    if (at >= 0 && !replace) {
        rc = wdn_diag_set(d, WDN_EEXISTS, "user '%s' exists (give --replace to set a new password)",
                          name);
        goto out;
    }
    if (at < 0 && json_array_size(arr) >= WDN_ISSUER_MAX_USERS) {
        rc = wdn_diag_set(d, WDN_ELIMIT, "at most %d users", WDN_ISSUER_MAX_USERS);
        goto out;
    }
    entry = json_pack("{ssss}", "name", name, "hash", hash);
    if (entry == NULL ||
        (at >= 0 ? json_array_set(arr, (size_t)at, entry) : json_array_append(arr, entry)) != 0) {
        rc = wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto out;
    }
    rc = wdn__as_write_json(state_dir, USERS_FILE, root, d);
out:
    json_decref(entry);
    json_decref(root);
    wdn__as_unlock(fd);
    OPENSSL_cleanse(hash, sizeof(hash));
    return rc;
}

int wdn_issuer_user_remove(const char *state_dir, const char *name, struct wdn_diag *d)
{
    return wdn__as_list_remove(state_dir, USERS_FILE, "users", "name", name, "user", d);
}

int wdn_issuer_user_list(const char *state_dir, int (*fn)(const char *name, void *ud), void *ud,
                         struct wdn_diag *d)
{
    json_t *root = NULL, *e;
    size_t i;
    int rc = wdn__as_read_json(state_dir, USERS_FILE, WDN_ISSUER_MAX_STORE_BYTES, &root, NULL, d);

    json_array_foreach (json_object_get(root, "users"), i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (rc == 0 && n != NULL)
            rc = fn(n, ud);
    }
    json_decref(root);
    return rc;
}
