/* The issuer's key store: signing keys in a state folder, created on first start, rotated by
 * `warden issuer rotate`, and re-read by a running issuer when keys.json changes.
 *
 *   <state>/keys.json        {"keys":[{"kid","alg","created","activates","retires"}...]},
 *                            0600. Every entry is published until its retires time (0: not
 *                            retiring). The key that signs at time t is the published one
 *                            with the latest activates <= t, so a rotation publishes the new
 *                            key first and it starts signing only at its activates time
 *                            (entries without activates, from older versions, count as 0)
 *   <state>/keys/<kid>.pem   PKCS#8 private keys, 0600
 *   <state>/lock             flock'ed while the store is modified
 *
 * Writers replace keys.json atomically (temporary file and rename) after the new key file is
 * on disk, so a reader sees either the old list or the new one, and every key a list names
 * exists. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "authserver/as_int.h"
#include "authserver/issuer.h"
#include "base/error.h"
#include "base/file.h"
#include "base/json_dump.h"
#include "base/str.h"
#include "project/project.h"

/* A kid becomes a file name, so only base64url characters are accepted (thumbprints are). */
static int kid_ok(const char *kid)
{
    size_t n = strlen(kid);

    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = kid[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int key_path(char *buf, size_t cap, const char *dir, const char *kid)
{
    return wdn_fmt(buf, cap, "%s/" WDN__ISSUER_KEYS_DIR "/%s.pem", dir, kid);
}

/* Reads keys.json into a jansson array (owned by the caller); a missing file is an empty list.
 * st receives the file's identity when it exists. */
static int read_manifest(const char *dir, json_t **out, struct stat *st, struct wdn_diag *d)
{
    char path[WDN_MAX_PATH];
    struct wdn_buf b;
    json_t *root = NULL, *keys;
    json_error_t jerr;
    int rc;

    *out = NULL;
    wdn_buf_init(&b, WDN_ISSUER_MAX_STATE_BYTES);
    rc = wdn_fmt(path, sizeof(path), "%s/" WDN__ISSUER_MANIFEST, dir);
    if (rc != 0) {
        rc = wdn_diag_set(d, rc, "state folder path too long");
        goto out;
    }
    if (st != NULL && stat(path, st) != 0)
        memset(st, 0, sizeof(*st));
    rc = wdn_file_read(path, WDN_ISSUER_MAX_STATE_BYTES, &b);
    if (rc == WDN_ENOTFOUND) {
        *out = json_array();
        rc = *out ? 0 : WDN_ENOMEM;
        goto out;
    }
    if (rc != 0) {
        rc = wdn_diag_set(d, rc, "cannot read %s: %s", path, wdn_strerror(rc));
        goto out;
    }
    root = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
    keys = root ? json_object_get(root, "keys") : NULL;
    if (!json_is_array(keys) || json_array_size(keys) > WDN_ISSUER_MAX_KEYS) {
        rc = wdn_diag_set(d, WDN_EPARSE, "%s is not a key list this version understands", path);
        goto out;
    }
    *out = json_incref(keys);
    rc = 0;
out:
    json_decref(root);
    wdn_buf_reset(&b);
    return rc;
}

static int write_manifest(const char *dir, json_t *keys, struct wdn_diag *d)
{
    char path[WDN_MAX_PATH];
    json_t *root = json_pack("{sO}", "keys", keys);
    char *text = root ? wdn_json_dumps(root, JSON_INDENT(2)) : NULL;
    int rc = WDN_ENOMEM;

    if (text == NULL)
        goto out;
    rc = wdn_fmt(path, sizeof(path), "%s/" WDN__ISSUER_MANIFEST, dir);
    if (rc == 0)
        rc = wdn_file_write_atomic(path, text, strlen(text), 0600);
    if (rc != 0)
        wdn_diag_set(d, rc, "cannot write %s: %s", path, wdn_strerror(rc));
out:
    free(text);
    json_decref(root);
    return rc;
}

void wdn__issuer_keyset_free(struct wdn__issuer_keyset *ks)
{
    if (ks == NULL)
        return;
    for (size_t i = 0; i < ks->n; i++)
        wdn_jose_key_free(ks->keys[i]);
    free(ks);
}

int wdn__issuer_keyset_load(const char *state_dir, struct wdn__issuer_keyset **out,
                            struct wdn_diag *d)
{
    struct wdn__issuer_keyset *ks = calloc(1, sizeof(*ks));
    json_t *keys = NULL, *e;
    size_t i;
    int rc = WDN_ENOMEM, have_signing = 0;

    if (ks == NULL)
        goto out;
    rc = read_manifest(state_dir, &keys, &ks->st, d);
    if (rc != 0)
        goto out;
    json_array_foreach (keys, i, e) {
        const char *kid = json_string_value(json_object_get(e, "kid"));
        const char *alg_name = json_string_value(json_object_get(e, "alg"));
        json_t *ret = json_object_get(e, "retires");
        enum wdn_jose_alg alg = wdn_jose_alg_parse(wdn_str_from_cstr(alg_name));
        char path[WDN_MAX_PATH];

        if (kid == NULL || !kid_ok(kid) || alg == WDN_JOSE_ALG_UNKNOWN || !json_is_integer(ret)) {
            rc = wdn_diag_set(d, WDN_EPARSE, "%s/" WDN__ISSUER_MANIFEST ": entry %zu is invalid",
                              state_dir, i);
            goto out;
        }
        rc = key_path(path, sizeof(path), state_dir, kid);
        if (rc != 0)
            goto out;
        ks->keys[ks->n] = wdn_jose_key_load_pem(path, alg, kid, d);
        if (ks->keys[ks->n] == NULL) {
            rc = WDN_EIO;
            goto out;
        }
        ks->retires[ks->n] = json_integer_value(ret);
        ks->activates[ks->n] = json_integer_value(json_object_get(e, "activates"));
        have_signing |= ks->retires[ks->n] == 0;
        ks->n++;
    }
    if (!have_signing) {
        rc = wdn_diag_set(d, WDN_ENOTFOUND, "%s holds no signing key (run `warden issuer` once)",
                          state_dir);
        goto out;
    }
    *out = ks;
    ks = NULL;
    rc = 0;
out:
    wdn__issuer_keyset_free(ks);
    json_decref(keys);
    return rc;
}

size_t wdn__issuer_keyset_signing(const struct wdn__issuer_keyset *ks, int64_t now)
{
    size_t best = ks->n;

    for (size_t i = 0; i < ks->n; i++) {
        if ((ks->retires[i] != 0 && ks->retires[i] <= now) || ks->activates[i] > now)
            continue;
        if (best == ks->n || ks->activates[i] >= ks->activates[best])
            best = i;
    }
    if (best < ks->n)
        return best;
    /* Nothing active yet (a clock set back past every activation): the earliest key to
     * activate among those not retiring, so some key always signs. */
    for (size_t i = 0; i < ks->n; i++)
        if (ks->retires[i] == 0 && (best == ks->n || ks->activates[i] < ks->activates[best]))
            best = i;
    return best < ks->n ? best : 0;
}

int wdn__issuer_keyset_stale(const struct wdn__issuer_keyset *ks, const char *state_dir)
{
    char path[WDN_MAX_PATH];
    struct stat st;

    if (wdn_fmt(path, sizeof(path), "%s/" WDN__ISSUER_MANIFEST, state_dir) != 0 ||
        stat(path, &st) != 0)
        return 0; /* keep serving the keys we have */
    return st.st_ino != ks->st.st_ino || st.st_dev != ks->st.st_dev ||
           st.st_size != ks->st.st_size || st.st_mtim.tv_sec != ks->st.st_mtim.tv_sec ||
           st.st_mtim.tv_nsec != ks->st.st_mtim.tv_nsec;
}

/* The index of the signing entry of a manifest, or -1. */
static long signing_entry(json_t *keys)
{
    long found = -1;
    size_t i;
    json_t *e;

    json_array_foreach (keys, i, e) {
        if (json_integer_value(json_object_get(e, "retires")) == 0)
            found = (long)i;
    }
    return found;
}

/* Adds a new key to the manifest that signs from now + delay_s: the keys not retiring so far
 * retire at that moment + overlap (so they keep signing until the new key takes over and stay
 * published for the overlap after), keys whose retirement has passed and keys still waiting
 * to sign are dropped (with their files), then the key file and the manifest are written.
 * Called locked. */
static int add_key(const char *dir, json_t *keys, enum wdn_jose_alg alg, int64_t delay_s,
                   int64_t overlap_s, int64_t now, char *kid_out, size_t kid_cap,
                   struct wdn_diag *d)
{
    int64_t activates = now + (delay_s > 0 ? delay_s : 0);

    char path[WDN_MAX_PATH], keydir[WDN_MAX_PATH];
    struct wdn_jose_key *k = NULL;
    json_t *entry = NULL;
    size_t i = 0;
    int rc;

    while (i < json_array_size(keys)) {
        json_t *e = json_array_get(keys, i);
        json_int_t r = json_integer_value(json_object_get(e, "retires"));
        json_int_t a = json_integer_value(json_object_get(e, "activates"));
        const char *kid = json_string_value(json_object_get(e, "kid"));

        /* Retired, or still waiting to sign (it never signed anything: the new key replaces
         * it, so it never starts). */
        if ((r != 0 && r <= now) || (r == 0 && a > now)) {
            if (kid && kid_ok(kid) && key_path(path, sizeof(path), dir, kid) == 0)
                unlink(path);
            json_array_remove(keys, i);
            continue;
        }
        if (r == 0)
            json_object_set_new(e, "retires",
                                json_integer(activates + (overlap_s > 0 ? overlap_s : 1)));
        i++;
    }
    /* Keep room for the new key: the oldest retiring keys go first. */
    while (json_array_size(keys) >= WDN_ISSUER_MAX_KEYS) {
        const char *kid = json_string_value(json_object_get(json_array_get(keys, 0), "kid"));
        if (kid && kid_ok(kid) && key_path(path, sizeof(path), dir, kid) == 0)
            unlink(path);
        json_array_remove(keys, 0);
    }
    k = wdn_jose_key_generate(alg ? alg : WDN_JOSE_RS256, 0, NULL, d);
    if (k == NULL) {
        rc = WDN_ECRYPTO;
        goto out;
    }
    rc = wdn_fmt(keydir, sizeof(keydir), "%s/" WDN__ISSUER_KEYS_DIR, dir);
    if (rc == 0 && mkdir(keydir, 0700) != 0 && errno != EEXIST)
        rc = wdn_diag_set(d, WDN_EIO, "cannot create %s: %s", keydir, strerror(errno));
    if (rc == 0)
        rc = key_path(path, sizeof(path), dir, wdn_jose_key_kid(k));
    if (rc == 0)
        rc = wdn_jose_key_save_pem(k, path, d);
    if (rc != 0)
        goto out;
    entry = json_pack("{sssssIsIsI}", "kid", wdn_jose_key_kid(k), "alg",
                      wdn_jose_alg_name(wdn_jose_key_alg(k)), "created", (json_int_t)now,
                      "activates", (json_int_t)activates, "retires", (json_int_t)0);
    if (entry == NULL || json_array_append(keys, entry) != 0) {
        rc = WDN_ENOMEM;
        goto out;
    }
    rc = write_manifest(dir, keys, d);
    if (rc == 0 && kid_out != NULL)
        rc = wdn_fmt(kid_out, kid_cap, "%s", wdn_jose_key_kid(k));
out:
    json_decref(entry);
    wdn_jose_key_free(k);
    return rc;
}

int wdn_issuer_keys_ensure(const char *state_dir, enum wdn_jose_alg alg, int64_t overlap_s,
                           int64_t now, bool *created, struct wdn_diag *d)
{
    json_t *keys = NULL;
    int fd = -1, rc;
    long cur;

    if (created)
        *created = false;
    if (alg == WDN_JOSE_ALG_UNKNOWN)
        alg = WDN_JOSE_RS256;
    rc = wdn__as_lock(state_dir, &fd, d);
    if (rc == 0)
        rc = read_manifest(state_dir, &keys, NULL, d);
    if (rc != 0)
        goto out;
    cur = signing_entry(keys);
    if (cur >= 0) {
        const char *name = json_string_value(json_object_get(json_array_get(keys, cur), "alg"));
        if (wdn_jose_alg_parse(wdn_str_from_cstr(name)) == alg)
            goto out; /* rc is 0: the current key already fits */
    }
    rc = add_key(state_dir, keys, alg, 0, overlap_s, now, NULL, 0, d);
    if (rc == 0 && created)
        *created = true;
out:
    json_decref(keys);
    wdn__as_unlock(fd);
    return rc;
}

int wdn_issuer_keys_rotate(const char *state_dir, enum wdn_jose_alg alg, int64_t delay_s,
                           int64_t overlap_s, int64_t now, char *kid_out, size_t kid_cap,
                           struct wdn_diag *d)
{
    json_t *keys = NULL;
    int fd = -1, rc;
    long cur;

    rc = wdn__as_lock(state_dir, &fd, d);
    if (rc == 0)
        rc = read_manifest(state_dir, &keys, NULL, d);
    if (rc != 0)
        goto out;
    cur = signing_entry(keys);
    if (alg == WDN_JOSE_ALG_UNKNOWN && cur >= 0) {
        const char *name = json_string_value(json_object_get(json_array_get(keys, cur), "alg"));
        alg = wdn_jose_alg_parse(wdn_str_from_cstr(name));
    }
    rc = add_key(state_dir, keys, alg, delay_s, overlap_s, now, kid_out, kid_cap, d);
out:
    json_decref(keys);
    wdn__as_unlock(fd);
    return rc;
}
