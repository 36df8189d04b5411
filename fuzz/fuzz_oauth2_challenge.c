/* Fuzz target: WWW-Authenticate parsing as the OAuth2 client does on a 401. Invariants: a found
 * value fits its buffer and is NUL-terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth2/challenge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const params[] = {"resource_metadata", "error", "realm", "scope"};
    struct wdn_str in = {(const char *)data, size};
    char out[64];

    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        memset(out, 'x', sizeof(out));
        if (wdn_challenge_param(in, "Bearer", params[i], out, sizeof(out)) == 0 &&
            memchr(out, '\0', sizeof(out)) == NULL)
            abort();
    }
    return 0;
}
