/* Fuzz target: the strict base64url and base64 decoders; a decoded value must re-encode to
 * exactly the input (one accepted encoding per byte string). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn_str in = {(const char *)data, size};
    unsigned char *out = malloc(size + 4);
    char *enc = malloc(size + 8);
    size_t n = 0, m = 0;

    if (out == NULL || enc == NULL)
        goto out;
    if (wdn_b64url_decode(in, out, size + 4, &n) == 0) {
        if (wdn_b64url_encode(out, n, enc, size + 8, &m) != 0 || m != size ||
            memcmp(enc, data, size) != 0)
            abort();
    }
    /* A too-small buffer must be refused, never overrun. */
    if (size > 4)
        (void)wdn_b64url_decode(in, out, size / 2, &n);
    (void)wdn_b64std_decode(in, out, size + 4, &n);
out:
    free(out);
    free(enc);
    return 0;
}
