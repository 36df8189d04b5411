/* Fuzz target: form decoding as the issuer's token endpoint does it. Invariants: a decoded form
 * has unique non-empty names, and encoding then decoding a value gives it back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "oauth2/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn_str in = {(const char *)data, size};
    struct wdn_form f;

    if (wdn_form_decode(in, &f) == 0) {
        for (size_t i = 0; i < f.n; i++) {
            if (f.fields[i].name[0] == '\0')
                abort();
            for (size_t j = i + 1; j < f.n; j++) {
                if (strcmp(f.fields[i].name, f.fields[j].name) == 0)
                    abort();
            }
            /* Round trip: encode the value, decode it again. */
            struct wdn_buf b;
            struct wdn_form g;
            wdn_buf_init(&b, 1 << 20);
            if (wdn_form_add(&b, "v", f.fields[i].value) == 0) {
                if (wdn_form_decode(wdn_buf_str(&b), &g) != 0 ||
                    strcmp(wdn_form_get(&g, "v"), f.fields[i].value) != 0)
                    abort();
                wdn_form_reset(&g);
            }
            wdn_buf_reset(&b);
        }
        wdn_form_reset(&f);
    }
    return 0;
}
