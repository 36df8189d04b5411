/* Internal to src/jose: the key structure and the crypto primitives the files share. */
#ifndef WDN_JOSE_INTERNAL_H
#define WDN_JOSE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "jose/jwk.h"

struct wdn_jwk {
    enum wdn_jwk_kty kty;
    enum wdn_jose_alg alg; /* named by the JWK, or 0 */
    unsigned allowed;      /* WDN_JOSE_ALG_BIT set of algorithms this key verifies */
    size_t sig_len;        /* exact signature length: modulus bytes, 2 * coordinate, 64 */
    char *kid;             /* NUL-terminated copy, kid_len bytes; "" when absent */
    size_t kid_len;
    EVP_PKEY *pkey;
    uint64_t id; /* unique for the process lifetime; keys the per-thread context cache */
    unsigned char tp[32];
};

struct wdn_jwks {
    atomic_long refs;
    size_t n;
    size_t skipped;
    struct wdn_jwk keys[];
};

/** The digest an algorithm hashes with (fetched once), or NULL for EdDSA. */
const EVP_MD *wdn__jose_md(enum wdn_jose_alg alg);
/**
 * Verifies sig over the signing input with key k and algorithm alg, which the caller has
 * already checked k allows and whose signature length it has checked. 0 when valid,
 * WDN_EAUTH when not, WDN_ECRYPTO or WDN_ENOMEM on failure.
 */
int wdn__jose_verify(const struct wdn_jwk *k, enum wdn_jose_alg alg, const unsigned char *in,
                     size_t n, const unsigned char *sig, size_t siglen);
/** A fresh unique key id. */
uint64_t wdn__jose_next_id(void);
/**
 * The public members of a key as a new JSON object ({"kty","n","e"} / {"kty","crv","x","y"}
 * / {"kty","crv","x"}), the RFC 7638 required members. Caller owns it; NULL on failure.
 */
json_t *wdn__jose_public_members(EVP_PKEY *pkey);
/** The RFC 7638 thumbprint of the key's public members. 0 or a WDN_E* code. */
int wdn__jose_thumbprint(EVP_PKEY *pkey, unsigned char out[32]);
/** The ECDSA coordinate size of an EC key's group (32/48/66), 0 when not a supported curve. */
size_t wdn__jose_ec_coord(EVP_PKEY *pkey, enum wdn_jose_alg *alg);

#endif
