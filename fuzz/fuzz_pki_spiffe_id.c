/* libFuzzer target: SPIFFE ID parsing (the identity the sidecar reads from a peer certificate).
 * Invariants: an accepted ID splits into parts that format back to exactly the input, and
 * every part stays inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "pki/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *part(struct wdn_str s)
{
    char *p = malloc(s.len + 1);
    if (p == NULL)
        abort();
    memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn_str in = {(const char *)data, size};
    struct wdn_pki_spiffe_id id;
    char buf[WDN_SPIFFE_MAX_ID_BYTES + 1];

    if (wdn_pki_spiffe_parse(in, &id, NULL) != 0)
        return 0;
    const char *end = in.p + in.len;
    if (id.trust_domain.p < in.p || id.app_id.p + id.app_id.len != end || id.ns.len == 0)
        abort();
    char *td = part(id.trust_domain), *ns = part(id.ns), *app = part(id.app_id);
    if (wdn_pki_spiffe_format(buf, sizeof(buf), td, ns, app, NULL) != 0 ||
        strlen(buf) != size || memcmp(buf, data, size) != 0)
        abort();
    free(td);
    free(ns);
    free(app);
    return 0;
}
