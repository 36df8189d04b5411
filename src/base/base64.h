/* base64 (RFC 4648): unpadded base64url (JOSE, PKCE, tokens), strict, and standard base64 with
 * padding (JWK x5c, HTTP Basic credentials, MCP header values). The one base64 codec. */
#ifndef WDN_BASE_BASE64_H
#define WDN_BASE_BASE64_H

#include <stddef.h>

#include "base/str.h"

/** Bytes needed to decode n characters of base64url (an upper bound). */
size_t wdn_b64url_decoded_max(size_t n);
/** Characters produced by encoding n bytes without padding. */
size_t wdn_b64url_encoded_len(size_t n);

/**
 * Decodes unpadded base64url. Strict: only A-Z a-z 0-9 '-' '_', no '=', no whitespace, a
 * length that is not 1 modulo 4, and zero bits after the last byte (so every byte string has
 * exactly one accepted encoding). Writes into out (caller-owned, cap bytes) and sets *outlen.
 * Returns 0, WDN_EPARSE for a bad encoding, WDN_ELIMIT when cap is too small.
 */
int wdn_b64url_decode(struct wdn_str in, unsigned char *out, size_t cap, size_t *outlen);

/**
 * Encodes n bytes as unpadded base64url into out (caller-owned, cap bytes; a NUL is added
 * when room remains). Sets *outlen. Returns 0 or WDN_ELIMIT.
 */
int wdn_b64url_encode(const void *in, size_t n, char *out, size_t cap, size_t *outlen);

/**
 * Decodes standard base64 with padding (RFC 4648 section 4), as used by the JWK "x5c"
 * member. Strict like wdn_b64url_decode. Returns 0, WDN_EPARSE or WDN_ELIMIT.
 */
int wdn_b64std_decode(struct wdn_str in, unsigned char *out, size_t cap, size_t *outlen);

/** Characters produced by encoding n bytes as standard base64 with padding. */
size_t wdn_b64std_encoded_len(size_t n);

/**
 * Encodes n bytes as standard base64 with padding (RFC 4648 section 4) into out (caller-owned,
 * cap bytes; a NUL is added when room remains). Sets *outlen. Returns 0 or WDN_ELIMIT.
 */
int wdn_b64std_encode(const void *in, size_t n, char *out, size_t cap, size_t *outlen);

#endif
