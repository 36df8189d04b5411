/* Fuzz target: JWKS documents (as fetched from an issuer) through the JWKS parser and every
 * key accessor. */
#include <stdint.h>
#include <stdlib.h>

#include "jose/jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn_str in = {(const char *)data, size};
    struct wdn_jwks *s = wdn_jwks_parse(in, NULL);
    size_t sum = 0;

    for (size_t i = 0; i < wdn_jwks_count(s); i++) {
        const struct wdn_jwk *k = wdn_jwks_key(s, i);
        sum += wdn_jwk_kid(k).len + (size_t)wdn_jwk_kty(k) + (size_t)wdn_jwk_alg(k);
        if (!wdn_jwks_has_thumbprint(s, wdn_jwk_thumbprint(k)))
            abort();
    }
    wdn_jwks_release(s);
    s = wdn_jwks_parse_jwk(in, NULL);
    wdn_jwks_release(s);
    return sum == (size_t)-1;
}
