/* Fuzz target: the OIDC/RFC 8414 metadata document check and the Cache-Control parser (both
 * read what an issuer, or whoever answers in its place, sends back). */
#include <stdint.h>
#include <stdlib.h>

#include "oidc/discovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn_str in = {(const char *)data, size};
    char *uri = NULL;

    if (wdn_oidc_discovery_parse(in, "https://issuer.example/", &uri, NULL) == 0) {
        if (!wdn_oidc_is_https_url(uri))
            abort();
        free(uri);
    }
    (void)wdn_oidc_cache_max_age(in);
    return 0;
}
