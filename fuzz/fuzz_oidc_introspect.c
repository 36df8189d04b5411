/* libFuzzer target: the RFC 7662 introspection answer parser (src/oidc/introspect.c), which
 * reads what the authorization server sent back about an opaque token. Invariants: an answer
 * is accepted only when it is a JSON object whose "active" is true and whose claims pass the
 * rules (issuer, audience, expiry, scope); anything unreadable is MALFORMED (the middleware
 * then answers 503, never a pass). */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "jose/jwt.h"
#include "oidc/introspect.h"

#define NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const auds[] = {"api"};
    static const char *const scopes[] = {"mcp:read"};
    struct wdn_jwt_rules r;
    struct wdn_jwt *j = NULL;
    enum wdn_jwt_reason why;

    wdn_jwt_rules_init(&r);
    r.issuer = "https://as.test/";
    r.audiences = auds;
    r.n_audiences = 1;
    r.scopes = scopes;
    r.n_scopes = 1;
    why = wdn_introspect_parse((struct wdn_str){(const char *)data, size}, &r, NOW, 300, &j);
    CHECK((why == WDN_JWT_OK) == (j != NULL));
    if (why == WDN_JWT_OK) {
        json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        json_t *tree = wdn_jwt_claims_tree(j);
        const json_t *aud = json_object_get(tree, "aud");
        struct wdn_jwt_claim c;
        CHECK(json_is_true(json_object_get(doc, "active")));
        CHECK(wdn_jwt_exp(j) > NOW - 60);
        CHECK(wdn_jwt_has_scope(j, WDN_STR("mcp:read")));
        CHECK(strcmp(wdn_jwt_claim_string(j, "iss"), "https://as.test/") == 0);
        CHECK(json_is_string(aud) || json_is_array(aud));
        /* The claims read without a tree say what the tree says. */
        CHECK(wdn_jwt_claim_get(j, "aud", &c));
        CHECK(json_is_string(aud)
                  ? c.kind == WDN_JWT_CLAIM_STRING && strcmp(c.text.p, json_string_value(aud)) == 0
                  : c.kind == WDN_JWT_CLAIM_ARRAY && c.n_elems == json_array_size(aud));
        CHECK(json_object_size(tree) == wdn_jwt_claim_count(j));
        json_decref(tree);
        json_decref(doc);
        wdn_jwt_release(j);
    }
    return 0;
}
