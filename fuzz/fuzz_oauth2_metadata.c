/* Fuzz target: the documents an OAuth client reads from servers it does not trust yet. The first
 * byte picks the parser (even: RFC 9728 protected resource metadata for https://h/mcp; odd:
 * RFC 8414 / OIDC authorization server metadata for issuer https://as/t), the rest is the
 * document. Invariants: a parsed document satisfies what the parser promises (the resource
 * covers the endpoint's origin, at least one authorization server, the issuer exactly) and a
 * failed parse leaves nothing behind. */
#include <string.h>

#include "fuzz.h"
#include "oauth2/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn_str doc;
    struct wdn_oauth2_prm p;
    struct wdn_oauth2_asm m;

    if (size == 0)
        return 0;
    doc.p = (const char *)data + 1;
    doc.len = size - 1;
    if ((data[0] & 1) == 0) {
        if (wdn_oauth2_prm_parse(doc, "https://h/mcp", &p, NULL) == 0) {
            CHECK(p.resource != NULL && p.n_as > 0 && p.authorization_servers[0] != NULL);
            CHECK(wdn_oauth2_same_origin(p.resource, "https://h/mcp"));
            wdn_oauth2_prm_reset(&p);
        } else {
            CHECK(p.resource == NULL && p.authorization_servers == NULL);
        }
    } else {
        if (wdn_oauth2_asm_parse(doc, "https://as/t", &m, NULL) == 0) {
            CHECK(m.issuer != NULL && strcmp(m.issuer, "https://as/t") == 0);
            wdn_oauth2_asm_reset(&m);
        } else {
            CHECK(m.issuer == NULL && m.token_endpoint == NULL);
        }
    }
    return 0;
}
