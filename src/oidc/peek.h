/* Reading a token's "iss" before its signature is checked, to route it to the one issuer that
 * may verify it (several issuers per bearer component, issue 11). The payload is untrusted at
 * this point, so it is not given to jansson (src/jose parses only authenticated payloads): a
 * small scanner reads the top-level members and copies the one "iss" string. Anything it is
 * unsure of (a duplicate "iss", an escape it does not decode, bad JSON) is "no issuer": the
 * token is refused without a key lookup or a fetch. The issuer found is only a routing hint;
 * the chosen issuer's verification compares "iss" again on the parsed, verified claims. */
#ifndef WDN_OIDC_PEEK_H
#define WDN_OIDC_PEEK_H

#include <stddef.h>

#include "base/str.h"

/**
 * Copies the top-level "iss" string member of the JSON object json[0..n) into buf (cap bytes,
 * NUL-terminated), its length into *len. Escapes \" \\ \/ \b \f \n \r \t and \u00XX of
 * printable ASCII are decoded; any other \u escape, a control character, a duplicate "iss", a
 * non-string "iss", nesting deeper than WDN_JSON_MAX_DEPTH or malformed JSON: WDN_EPARSE. No
 * "iss": WDN_ENOTFOUND. Longer than cap - 1: WDN_ELIMIT. Linear time, no allocation.
 */
int wdn_oidc_scan_iss(const char *json, size_t n, char *buf, size_t cap, size_t *len);

/**
 * The "iss" of a compact JWS (three base64url parts) as wdn_oidc_scan_iss reads it from the
 * decoded payload. WDN_EPARSE for anything that is not a compact JWS with a decodable payload.
 */
int wdn_oidc_peek_issuer(struct wdn_str token, char *buf, size_t cap, size_t *len);

#endif
