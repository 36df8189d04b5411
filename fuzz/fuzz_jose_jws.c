/* Fuzz target: compact JWS/JWT verification against a fixed key set. The first byte picks
 * the mode: even = the rest is a token (signatures will rarely verify, so this covers
 * parsing, key selection and every early rejection); odd = the rest is "header\0payload",
 * signed here with a fixed Ed25519 key and then verified, so that header and claim checks
 * run on arbitrary, correctly signed JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "jose/crypto.h"
#include "jose/jwk.h"
#include "jose/jwt.h"
#include "jose/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 7515 A.2 (RSA), A.3 (EC P-256) and RFC 8037 A.2 (Ed25519) public keys, so that the
 * RFC tokens in the seed corpus verify. */
static const char fixed_jwks[] =
    "{\"keys\":["
    "{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"
    "4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_"
    "7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5"
    "ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\","
    "\"e\":\"AQAB\"},"
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
    "]}";

static struct wdn_jwks *keys;
static struct wdn_jwks *signer_keys;
static struct wdn_jose_key *signer;

static void init(void)
{
    char *doc;

    keys = wdn_jwks_parse((struct wdn_str){fixed_jwks, sizeof(fixed_jwks) - 1}, NULL);
    signer = wdn_jose_key_generate(WDN_JOSE_EDDSA, 0, "fuzz", NULL);
    doc = signer ? wdn_jose_jwks_export((const struct wdn_jose_key *const *)&signer, 1) : NULL;
    signer_keys = doc ? wdn_jwks_parse(wdn_str_from_cstr(doc), NULL) : NULL;
    free(doc);
    if (keys == NULL || wdn_jwks_count(keys) != 3 || signer_keys == NULL)
        abort();
}

static void use_claims(struct wdn_jwt *j)
{
    char *s;

    if (j == NULL)
        return;
    (void)wdn_jwt_sub(j);
    (void)wdn_jwt_client_id(j);
    for (size_t i = 0; i < wdn_jwt_scope_count(j); i++)
        (void)wdn_jwt_scope(j, i);
    s = wdn_jwt_claim_json(j, "aud");
    free(s);
    wdn_jwt_release(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const auds[] = {"api", "joe"};
    static const char *const scopes[] = {"read"};
    struct wdn_jwt_rules rules;
    struct wdn_jwt *j = NULL;

    if (keys == NULL)
        init();
    if (size < 1)
        return 0;
    wdn_jwt_rules_init(&rules);
    rules.issuer = "joe";
    rules.audiences = auds;
    rules.n_audiences = 2;
    rules.signature_only = (data[0] & 2) != 0;
    if (data[0] & 4) {
        rules.scopes = scopes;
        rules.n_scopes = 1;
    }
    if ((data[0] & 1) == 0) {
        /* 1300819000: before the RFC 7515 tokens' exp. */
        (void)wdn_jwt_verify(keys, &rules, (struct wdn_str){(const char *)data + 1, size - 1},
                             1300819000, &j);
        use_claims(j);
    } else {
        const char *p = (const char *)data + 1, *nul = memchr(p, '\0', size - 1);
        struct wdn_buf b;
        if (nul == NULL)
            return 0;
        wdn_buf_init(&b, 1 << 16);
        if (wdn_jws_sign_raw(signer, (struct wdn_str){p, (size_t)(nul - p)},
                             (struct wdn_str){nul + 1, size - 1 - (size_t)(nul + 1 - p)}, &b) == 0) {
            (void)wdn_jwt_verify(signer_keys, &rules, wdn_buf_str(&b), 1300819000, &j);
            use_claims(j);
        }
        wdn_buf_reset(&b);
    }
    return 0;
}
