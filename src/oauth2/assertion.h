/* The JWTs an OAuth client signs: private_key_jwt client assertions (RFC 7523 section 2.2) and
 * DPoP proofs (RFC 9449), on src/jose's signing. */
#ifndef WDN_OAUTH2_ASSERTION_H
#define WDN_OAUTH2_ASSERTION_H

#include "base/buf.h"
#include "base/diag.h"
#include "jose/sign.h"

/**
 * Appends a client assertion to out: iss = sub = client_id, aud = audience (the authorization
 * server's issuer), a random jti, iat now, exp a minute later, signed with key. 0 or WDN_E*.
 */
int wdn_oauth2_client_assertion(const struct wdn_jose_key *key, const char *client_id,
                                const char *audience, struct wdn_buf *out);

/**
 * Appends a DPoP proof to out for a request (method, url): header {typ "dpop+jwt", alg, jwk: the
 * key's public half}, claims jti (random), htm, htu (url without query and fragment), iat, and,
 * when given, ath = base64url(SHA-256(access_token)) and the server's nonce. 0 or WDN_E*.
 */
int wdn_oauth2_dpop_proof(const struct wdn_jose_key *key, const char *method, const char *url,
                          const char *access_token, const char *nonce, struct wdn_buf *out);

#endif
