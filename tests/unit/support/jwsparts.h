/* Test helper: the parts of a compact JWS read without verifying it, for tests that check what
 * was signed (an access token's claims, a client assertion, a DPoP proof). */
#ifndef WDN_TESTS_JWSPARTS_H
#define WDN_TESTS_JWSPARTS_H

#include <jansson.h>

/** The JSON of part 0 (header) or 1 (payload) of jws (caller decrefs), or NULL when jws has no
 * such part or it is not base64url-encoded JSON. */
json_t *jwsparts_json(const char *jws, int part);

#endif
