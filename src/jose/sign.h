/* Signing keys and compact JWS signing, for the development issuer and for tests: generate,
 * save and load PEM, sign claims, export the public half as JWK/JWKS. */
#ifndef WDN_JOSE_SIGN_H
#define WDN_JOSE_SIGN_H

#include <stddef.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/str.h"
#include "jose/jwk.h"

/** A private (or, loaded from a public PEM, public-only) key with its alg and kid. Owned. */
struct wdn_jose_key;

/**
 * Generates a key for alg: RS256 (bits 2048, 3072 or 4096; 0 means 2048), ES256 or EdDSA.
 * kid NULL means the RFC 7638 thumbprint. Returns a new key (caller frees) or NULL with d.
 */
struct wdn_jose_key *wdn_jose_key_generate(enum wdn_jose_alg alg, unsigned bits, const char *kid,
                                           struct wdn_diag *d);
/**
 * Loads a PEM private key (PKCS#8 or traditional) or, failing that, a PEM public key from
 * path. alg must suit the key (RS256/PS256 for RSA >= 2048 bits, ES256/384/512 for the
 * matching curve, EdDSA for Ed25519). kid NULL means the thumbprint. NULL with d on error.
 */
struct wdn_jose_key *wdn_jose_key_load_pem(const char *path, enum wdn_jose_alg alg,
                                           const char *kid, struct wdn_diag *d);
/** Like wdn_jose_key_load_pem, from PEM text in memory (private keys only). */
struct wdn_jose_key *wdn_jose_key_from_pem(struct wdn_str pem, enum wdn_jose_alg alg,
                                           const char *kid, struct wdn_diag *d);
/** Writes the private key as PKCS#8 PEM to path, created with mode 0600 (replaced atomically). */
int wdn_jose_key_save_pem(const struct wdn_jose_key *k, const char *path, struct wdn_diag *d);
/** Frees k (NULL ignored). */
void wdn_jose_key_free(struct wdn_jose_key *k);
/** The key's kid (borrowed). */
const char *wdn_jose_key_kid(const struct wdn_jose_key *k);
/** The key's algorithm. */
enum wdn_jose_alg wdn_jose_key_alg(const struct wdn_jose_key *k);

/**
 * Signs claims (a JSON object, copied verbatim as the payload) into a compact JWS with header
 * {"alg","kid","typ"} (typ NULL: "JWT"). Appends the token to out. 0 or WDN_E*.
 * Fails with WDN_EPERM for a public-only key.
 */
int wdn_jws_sign(const struct wdn_jose_key *k, struct wdn_str claims, const char *typ,
                 struct wdn_buf *out);
/**
 * Signs an arbitrary protected header and payload (both raw JSON text, copied verbatim);
 * the header must name the key's alg. For tests that need unusual headers. 0 or WDN_E*.
 */
int wdn_jws_sign_raw(const struct wdn_jose_key *k, struct wdn_str header, struct wdn_str payload,
                     struct wdn_buf *out);

/** The public JWK with kid, alg and "use":"sig" as compact JSON (malloc'd, caller frees). */
char *wdn_jose_key_public_jwk(const struct wdn_jose_key *k);
/** A JWKS of the public halves of n keys (malloc'd JSON, caller frees), NULL on failure. */
char *wdn_jose_jwks_export(const struct wdn_jose_key *const *keys, size_t n);

#endif
