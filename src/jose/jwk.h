/* JSON Web Keys (RFC 7517): the public keys a token may be verified with, parsed once into
 * ready-to-use OpenSSL keys, and the algorithms (RFC 7518, RFC 8037) each key allows. */
#ifndef WDN_JOSE_JWK_H
#define WDN_JOSE_JWK_H

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"
#include "base/str.h"

/** The signature algorithms warden verifies. 0 is "none of them" (unknown or refused). */
enum wdn_jose_alg {
    WDN_JOSE_ALG_UNKNOWN = 0,
    WDN_JOSE_RS256,
    WDN_JOSE_RS384,
    WDN_JOSE_RS512,
    WDN_JOSE_PS256,
    WDN_JOSE_PS384,
    WDN_JOSE_PS512,
    WDN_JOSE_ES256,
    WDN_JOSE_ES384,
    WDN_JOSE_ES512,
    WDN_JOSE_EDDSA,
    WDN_JOSE_ALG_COUNT
};

/** A bit per algorithm, for allow-lists: WDN_JOSE_ALG_BIT(WDN_JOSE_RS256) | ... */
#define WDN_JOSE_ALG_BIT(a) (1u << (a))

/** The JWA name ("RS256"), static; "unknown" for 0. */
const char *wdn_jose_alg_name(enum wdn_jose_alg alg);
/** Parses a JWA name exactly (case-sensitive); WDN_JOSE_ALG_UNKNOWN when not ours. */
enum wdn_jose_alg wdn_jose_alg_parse(struct wdn_str name);

/** Key types. */
enum wdn_jwk_kty { WDN_JWK_RSA = 1, WDN_JWK_EC, WDN_JWK_OKP };

/** One public key of a key set: immutable, owned by its struct wdn_jwks. */
struct wdn_jwk;
/** An immutable, reference-counted set of public keys, safe to share between threads. */
struct wdn_jwks;

/**
 * Parses a JWKS document ({"keys":[...]}, at most WDN_JWKS_MAX_BYTES) into ready keys.
 * Keys that cannot be used for verification are skipped, not fatal: unknown kty or crv,
 * "use" other than "sig", "key_ops" without "verify", an "alg" we do not verify with or that
 * disagrees with the key type, RSA under 2048 bits, EC points not on the curve. At most
 * WDN_JWKS_MAX_KEYS keys are kept. Returns a new set with one reference (caller releases), or
 * NULL with d filled when the document is not a JWKS at all. A set may hold zero keys.
 */
struct wdn_jwks *wdn_jwks_parse(struct wdn_str json, struct wdn_diag *d);
/** Parses a single JWK object into a one-key set (same rules; NULL when the key is skipped). */
struct wdn_jwks *wdn_jwks_parse_jwk(struct wdn_str json, struct wdn_diag *d);
/** Takes a reference (thread-safe). Returns s. */
struct wdn_jwks *wdn_jwks_ref(struct wdn_jwks *s);
/** Drops a reference; frees the set with the last one. NULL is ignored. Thread-safe. */
void wdn_jwks_release(struct wdn_jwks *s);
/** Number of usable keys. */
size_t wdn_jwks_count(const struct wdn_jwks *s);
/** Number of keys skipped while parsing (for logs). */
size_t wdn_jwks_skipped(const struct wdn_jwks *s);
/** Key i (borrowed, lives as long as the set), or NULL when out of range. */
const struct wdn_jwk *wdn_jwks_key(const struct wdn_jwks *s, size_t i);
/** True when the set holds a key with this RFC 7638 thumbprint. */
bool wdn_jwks_has_thumbprint(const struct wdn_jwks *s, const unsigned char tp[32]);

/** The key's "kid" (borrowed; empty when the JWK had none). */
struct wdn_str wdn_jwk_kid(const struct wdn_jwk *k);
/** The key type. */
enum wdn_jwk_kty wdn_jwk_kty(const struct wdn_jwk *k);
/** The "alg" the JWK named, or WDN_JOSE_ALG_UNKNOWN when it named none (then inferred). */
enum wdn_jose_alg wdn_jwk_alg(const struct wdn_jwk *k);
/** True when a token signed with alg may be verified with this key (kty, crv and alg agree). */
bool wdn_jwk_allows(const struct wdn_jwk *k, enum wdn_jose_alg alg);
/** The RFC 7638 SHA-256 thumbprint (32 bytes, borrowed). */
const unsigned char *wdn_jwk_thumbprint(const struct wdn_jwk *k);

#endif
