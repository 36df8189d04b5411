/* Internals shared by the issuer's files: the loaded key set and small helpers. */
#ifndef WDN_OAUTH2_ISSUER_INT_H
#define WDN_OAUTH2_ISSUER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "base/diag.h"
#include "base/limits.h"
#include "jose/sign.h"

#define WDN__ISSUER_MANIFEST "keys.json"
#define WDN__ISSUER_KEYS_DIR "keys"
#define WDN__ISSUER_PATH_MAX 4096

/** The keys of the state folder as loaded at one moment. Owned by whoever loaded it. */
struct wdn__issuer_keyset {
    size_t n;
    struct wdn_jose_key *keys[WDN_ISSUER_MAX_KEYS];
    int64_t retires[WDN_ISSUER_MAX_KEYS];   /* 0: not retiring; else Unix time it leaves JWKS */
    int64_t activates[WDN_ISSUER_MAX_KEYS]; /* Unix time from which it may sign */
    struct stat st;                       /* keys.json when it was read (change detection) */
};

/** Loads keys.json and every key it lists. 0, or WDN_E* with d (out untouched). */
int wdn__issuer_keyset_load(const char *state_dir, struct wdn__issuer_keyset **out,
                            struct wdn_diag *d);
/** The index of the key that signs at Unix time now (see issuer_keys.c). */
size_t wdn__issuer_keyset_signing(const struct wdn__issuer_keyset *ks, int64_t now);
/** Frees a key set (NULL ok). */
void wdn__issuer_keyset_free(struct wdn__issuer_keyset *ks);
/** True when keys.json is no longer the file ks was read from (renamed over, changed). */
int wdn__issuer_keyset_stale(const struct wdn__issuer_keyset *ks, const char *state_dir);

#endif
