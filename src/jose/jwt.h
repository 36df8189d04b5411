/* JWT verification (RFC 7519 over RFC 7515 compact JWS): the yes-or-no on a bearer token,
 * a stable reason for every no, and the verified claims for every yes. */
#ifndef WDN_JOSE_JWT_H
#define WDN_JOSE_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/str.h"
#include "jose/jwk.h"

/**
 * Why a token was refused. X(name, value, description). Names are stable: they appear in
 * logs, metrics labels and the error_description of a 401. Append only.
 */
#define WDN_JWT_REASON_TABLE(X)                                                                    \
    X(OK, 0, "ok")                                                                                 \
    X(MALFORMED, 1, "the token is not a well-formed compact JWS/JWT")                              \
    X(TOKEN_TOO_LARGE, 2, "the token exceeds the size limit")                                      \
    X(UNSUPPORTED_ALG, 3, "the token's alg is not a supported signature algorithm")               \
    X(ALG_NONE, 4, "unsigned tokens (alg none) are never accepted")                                \
    X(KEY_ALG_MISMATCH, 5, "the token's alg does not match the key's type or alg")                 \
    X(CRIT_UNSUPPORTED, 6, "the token names a critical header extension we do not understand")    \
    X(UNKNOWN_KID, 7, "no key in the key set matches the token's kid")                             \
    X(BAD_SIGNATURE, 8, "the signature does not verify")                                           \
    X(EXPIRED, 9, "the token has expired")                                                         \
    X(NOT_YET_VALID, 10, "the token is not valid yet (nbf)")                                       \
    X(IAT_IN_FUTURE, 11, "the token was issued in the future (iat)")                               \
    X(WRONG_ISSUER, 12, "the token's issuer is not the configured one")                            \
    X(WRONG_AUDIENCE, 13, "the token is not meant for this audience")                              \
    X(MISSING_EXP, 14, "the token has no expiry (exp)")                                            \
    X(INSUFFICIENT_SCOPE, 15, "the token lacks a required scope")                                  \
    X(BAD_TYP, 16, "the token's typ is not JWT or at+jwt")                                         \
    X(KEY_SET_NOT_LOADED, 17, "the issuer's key set has not been loaded yet")                      \
    X(ALG_NOT_ALLOWED, 18, "the token's alg is not in the configured allow-list")                  \
    X(BAD_CLAIM, 19, "a registered claim has the wrong type")                                      \
    X(INTERNAL, 20, "internal error while verifying")                                             \
    X(INACTIVE, 21, "the authorization server says the token is not active")

enum wdn_jwt_reason {
#define WDN__JWT_REASON_ENUM(name, value, desc) WDN_JWT_##name = (value),
    WDN_JWT_REASON_TABLE(WDN__JWT_REASON_ENUM)
#undef WDN__JWT_REASON_ENUM
        WDN_JWT_REASON_COUNT
};

/** The reason's stable snake_case name ("bad_signature"), static; "internal" if unknown. */
const char *wdn_jwt_reason_name(enum wdn_jwt_reason r);
/** A sentence describing the reason, static, safe to show to the client. */
const char *wdn_jwt_reason_text(enum wdn_jwt_reason r);

/**
 * What a token must satisfy besides its signature. Caller-owned; strings are borrowed and
 * must outlive every verify call that uses them. Start from wdn_jwt_rules_init().
 */
struct wdn_jwt_rules {
    const char *issuer;           /* exact byte match with "iss"; required */
    const char *const *audiences; /* "aud" (string or array) must contain one of these */
    size_t n_audiences;           /* at least one; zero rejects every token... */
    bool skip_audience;           /* ...unless the caller checks "aud" itself (RFC 8707) */
    int64_t clock_skew_s;         /* leeway for exp, nbf and iat; default 60 */
    const char *const *scopes;    /* all required, from "scope" (string) or "scp" */
    size_t n_scopes;
    unsigned allowed_algs;        /* WDN_JOSE_ALG_BIT set; 0 = every supported algorithm */
    bool signature_only;          /* skip claim checks (RFC test vectors only) */
};

/** Fills r with defaults: no issuer or audience yet, 60 s skew, all algorithms. */
void wdn_jwt_rules_init(struct wdn_jwt_rules *r);

/** Verified claims: immutable and reference-counted, safe to share between threads. */
struct wdn_jwt;

/**
 * Verifies a compact JWS token against a key set and rules at time now (Unix seconds).
 * Never fetches anything and never uses keys named by the token (jku, x5u, jwk, x5c).
 * On WDN_JWT_OK and when out is not NULL, *out receives the claims with one reference
 * (caller releases with wdn_jwt_release); otherwise *out is set to NULL.
 * keys may be NULL: the result is then WDN_JWT_KEY_SET_NOT_LOADED for a well-formed token.
 */
enum wdn_jwt_reason wdn_jwt_verify(const struct wdn_jwks *keys, const struct wdn_jwt_rules *rules,
                                   struct wdn_str token, int64_t now, struct wdn_jwt **out);

/**
 * Claims that an authorization server vouched for (an RFC 7662 introspection answer) rather
 * than a signature: checks them with the same rules as wdn_jwt_verify's claim step (exp, nbf,
 * iat, iss, aud, scopes) and wraps them like verified claims. Takes over the caller's
 * reference to claims (a JSON object) in every case. The result has no algorithm and an
 * all-zero key thumbprint. On WDN_JWT_OK, *out gets one reference.
 */
enum wdn_jwt_reason wdn_jwt_from_claims(json_t *claims, const struct wdn_jwt_rules *rules,
                                        int64_t now, struct wdn_jwt **out);

/** Takes a reference. Returns j. */
struct wdn_jwt *wdn_jwt_ref(struct wdn_jwt *j);
/** Drops a reference; NULL ignored. */
void wdn_jwt_release(struct wdn_jwt *j);

/** What a claim's value is (jansson's types, with true and false apart). */
enum wdn_jwt_claim_kind {
    WDN_JWT_CLAIM_STRING,
    WDN_JWT_CLAIM_INT,
    WDN_JWT_CLAIM_REAL,
    WDN_JWT_CLAIM_TRUE,
    WDN_JWT_CLAIM_FALSE,
    WDN_JWT_CLAIM_NULL,
    WDN_JWT_CLAIM_ARRAY,
    WDN_JWT_CLAIM_OBJECT,
};

/**
 * One member of the payload, or one element of a top-level array, as read without a JSON
 * tree. Everything is borrowed from the claims and lives as long as they do.
 */
struct wdn_jwt_claim {
    struct wdn_str name; /* the member's decoded name, NUL-terminated; empty for elements */
    enum wdn_jwt_claim_kind kind;
    struct wdn_str text; /* STRING: the decoded text; OBJECT, and an ARRAY inside an array:
                            the value's JSON text as the token carries it; NUL-terminated.
                            Empty for numbers, booleans, null and top-level arrays */
    int64_t i;           /* INT */
    double d;            /* REAL */
    size_t n_elems;      /* ARRAY member: its elements (wdn_jwt_claim_elem) */
    size_t first_;       /* internal */
};

/** Number of members of the payload. */
size_t wdn_jwt_claim_count(const struct wdn_jwt *j);
/** Member i (in the token's order) into *out; false when out of range. */
bool wdn_jwt_claim_at(const struct wdn_jwt *j, size_t i, struct wdn_jwt_claim *out);
/** The member named name into *out; false when absent. */
bool wdn_jwt_claim_get(const struct wdn_jwt *j, const char *name, struct wdn_jwt_claim *out);
/** Element i of array member a into *out; false when out of range. Nested arrays and objects
 * come back with their JSON text only (n_elems 0). */
bool wdn_jwt_claim_elem(const struct wdn_jwt *j, const struct wdn_jwt_claim *a, size_t i,
                        struct wdn_jwt_claim *out);
/**
 * A scalar as text, the way jansson's compact encoder writes it (an integer in decimal, a
 * real as jansson formats doubles, true, false, null; a string's decoded text as is), into
 * buf. Returns the length, or -1 for arrays and objects or when buf is too small.
 */
int wdn_jwt_claim_scalar(const struct wdn_jwt_claim *c, char *buf, size_t size);
/** The whole payload as a new JSON tree (caller releases with json_decref), built on demand:
 * verification keeps no tree. NULL when out of memory. */
json_t *wdn_jwt_claims_tree(const struct wdn_jwt *j);
/** A string claim (borrowed), or NULL when absent or not a string. */
const char *wdn_jwt_claim_string(const struct wdn_jwt *j, const char *name);
/** Any claim serialised as compact JSON (malloc'd, caller frees), or NULL when absent. */
char *wdn_jwt_claim_json(const struct wdn_jwt *j, const char *name);
/** "sub", or NULL. Borrowed. */
const char *wdn_jwt_sub(const struct wdn_jwt *j);
/** "client_id", else "azp", else "appid" (Entra v1), or NULL. Borrowed. */
const char *wdn_jwt_client_id(const struct wdn_jwt *j);
/** Number of scopes granted ("scope" string split on spaces, or "scp" array or string). */
size_t wdn_jwt_scope_count(const struct wdn_jwt *j);
/** Scope i (borrowed slice), empty when out of range. */
struct wdn_str wdn_jwt_scope(const struct wdn_jwt *j, size_t i);
/** True when the token grants scope s. */
bool wdn_jwt_has_scope(const struct wdn_jwt *j, struct wdn_str s);
/** "exp" in Unix seconds. */
int64_t wdn_jwt_exp(const struct wdn_jwt *j);
/** The algorithm the token was verified with. */
enum wdn_jose_alg wdn_jwt_alg(const struct wdn_jwt *j);
/** The heap bytes j holds (one block: the struct, the scopes, the claims read from the
 * payload), for caches that are bounded by memory. */
size_t wdn_jwt_mem_cost(const struct wdn_jwt *j);
/** The RFC 7638 thumbprint of the key that verified the token (32 bytes, borrowed). */
const unsigned char *wdn_jwt_key_thumbprint(const struct wdn_jwt *j);

#endif
