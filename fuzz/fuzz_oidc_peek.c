/* libFuzzer target: the pre-verification "iss" scanner (src/oidc/peek.c), which reads an
 * unauthenticated JWT payload to route the token to one issuer. Input: the payload JSON, also
 * tried as a whole token. Differential oracle: wherever the scanner finds an "iss" and jansson
 * (which parses the payload after the signature is checked) accepts the same text, both must
 * name the same issuer, or a token could be verified under one issuer's rules while routed by
 * another's name. */
#include <jansson.h>
#include <string.h>

#include "base/error.h"
#include "fuzz.h"
#include "oidc/peek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char iss[256];
    size_t len = 0;
    int rc = wdn_oidc_scan_iss((const char *)data, size, iss, sizeof(iss), &len);

    CHECK(rc == 0 || rc == WDN_EPARSE || rc == WDN_ENOTFOUND || rc == WDN_ELIMIT);
    if (rc == 0) {
        json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        CHECK(len < sizeof(iss) && iss[len] == '\0' && strlen(iss) == len);
        if (j != NULL) {
            json_t *v = json_object_get(j, "iss");
            CHECK(json_is_string(v));
            CHECK(json_string_length(v) == len && memcmp(json_string_value(v), iss, len) == 0);
            json_decref(j);
        }
    }
    /* The same bytes as a compact token: splitting and base64url decoding. */
    rc = wdn_oidc_peek_issuer((struct wdn_str){(const char *)data, size}, iss, sizeof(iss), &len);
    CHECK(rc == 0 || rc == WDN_EPARSE || rc == WDN_ENOTFOUND || rc == WDN_ELIMIT);
    return 0;
}
