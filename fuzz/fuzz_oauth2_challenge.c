/* Fuzz target: WWW-Authenticate parsing as the OAuth2 client does on a 401/403, one parameter at
 * a time and whole challenges (Bearer, then DPoP). Invariants: a found value fits its buffer and
 * is NUL-terminated; a read challenge has a known scheme and NUL-terminated fields, and a failed
 * read leaves everything empty. */
#include <string.h>

#include "fuzz.h"
#include "oauth2/challenge.h"

static void terminated(const char *s, size_t cap)
{
    CHECK(memchr(s, '\0', cap) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const params[] = {"resource_metadata", "error", "realm", "scope"};
    struct wdn_str in = {(const char *)data, size};
    struct wdn_challenge ch;
    char out[64];

    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        memset(out, 'x', sizeof(out));
        if (wdn_challenge_param(in, "Bearer", params[i], out, sizeof(out)) == 0)
            terminated(out, sizeof(out));
    }
    memset(&ch, 'x', sizeof(ch));
    if (wdn_challenge_read(in, &ch) == 0) {
        CHECK(strcmp(ch.scheme, "Bearer") == 0 || strcmp(ch.scheme, "DPoP") == 0);
        terminated(ch.error, sizeof(ch.error));
        terminated(ch.error_description, sizeof(ch.error_description));
        terminated(ch.scope, sizeof(ch.scope));
        terminated(ch.resource_metadata, sizeof(ch.resource_metadata));
    } else {
        CHECK(ch.scheme[0] == '\0' && ch.scope[0] == '\0' && ch.resource_metadata[0] == '\0');
    }
    return 0;
}
