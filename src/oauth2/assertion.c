/* Client-signed JWTs. The key never leaves this process: an assertion proves the client holds
 * its registered private key, a DPoP proof binds a token to an ephemeral one (a stolen token
 * is useless without it). Both are short-lived and unique (a fresh jti each), so a captured one
 * cannot be replayed for long. */
#include "base/json_dump.h"
#include "oauth2/assertion.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "base/error.h"
#include "base/base64.h"
#include "jose/crypto.h"

/* 16 random bytes as base64url: a jti no one can guess or repeat. */
static int random_id(char out[32])
{
    unsigned char raw[16];
    size_t n;

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return WDN_ECRYPTO;
    return wdn_b64url_encode(raw, sizeof(raw), out, 32, &n);
}

int wdn_oauth2_client_assertion(const struct wdn_jose_key *key, const char *client_id,
                                const char *audience, struct wdn_buf *out)
{
    char jti[32];
    json_t *claims;
    char *s;
    int rc;
    time_t now = time(NULL);

    if ((rc = random_id(jti)) != 0)
        return rc;
    claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", client_id, "sub", client_id, "aud",
                       audience, "jti", jti, "iat", (json_int_t)now, "exp", (json_int_t)now + 60);
    s = claims != NULL ? wdn_json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);
    if (s == NULL)
        return WDN_ENOMEM;
    rc = wdn_jws_sign(key, wdn_str_from_cstr(s), "JWT", out);
    free(s);
    return rc;
}

/* The key's public members only (kty, crv, x, y / n, e): what RFC 9449 puts in the header. */
static json_t *public_members(const struct wdn_jose_key *key)
{
    static const char *const keep[] = {"kty", "crv", "x", "y", "n", "e"};
    char *text = wdn_jose_key_public_jwk(key);
    json_t *full = text != NULL ? json_loads(text, 0, NULL) : NULL, *out = json_object();
    size_t i;

    free(text);
    for (i = 0; full != NULL && out != NULL && i < sizeof(keep) / sizeof(keep[0]); i++)
        if (json_object_get(full, keep[i]) != NULL)
            json_object_set(out, keep[i], json_object_get(full, keep[i]));
    if (full == NULL) {
        json_decref(out);
        out = NULL;
    }
    json_decref(full);
    return out;
}

int wdn_oauth2_dpop_proof(const struct wdn_jose_key *key, const char *method, const char *url,
                          const char *access_token, const char *nonce, struct wdn_buf *out)
{
    char jti[32], ath[64];
    unsigned char digest[32];
    size_t n, htu_len = strcspn(url, "?#");
    json_t *header = NULL, *claims = NULL, *jwk;
    char *hs = NULL, *cs = NULL;
    int rc;

    if ((rc = random_id(jti)) != 0)
        return rc;
    rc = WDN_ENOMEM;
    jwk = public_members(key);
    header = json_pack("{s:s, s:s, s:o}", "typ", "dpop+jwt", "alg",
                       wdn_jose_alg_name(wdn_jose_key_alg(key)), "jwk", jwk);
    claims = json_pack("{s:s, s:s, s:s%, s:I}", "jti", jti, "htm", method, "htu", url, htu_len,
                       "iat", (json_int_t)time(NULL));
    if (header == NULL || claims == NULL)
        goto out;
    if (access_token != NULL) {
        if ((rc = wdn_jose_sha256(access_token, strlen(access_token), digest)) != 0 ||
            (rc = wdn_b64url_encode(digest, sizeof(digest), ath, sizeof(ath), &n)) != 0)
            goto out;
        rc = WDN_ENOMEM;
        json_object_set_new(claims, "ath", json_string(ath));
    }
    if (nonce != NULL && nonce[0] != '\0')
        json_object_set_new(claims, "nonce", json_string(nonce));
    hs = wdn_json_dumps(header, JSON_COMPACT);
    cs = wdn_json_dumps(claims, JSON_COMPACT);
    if (hs == NULL || cs == NULL)
        goto out;
    rc = wdn_jws_sign_raw(key, wdn_str_from_cstr(hs), wdn_str_from_cstr(cs), out);
out:
    free(hs);
    free(cs);
    json_decref(header);
    json_decref(claims);
    return rc;
}
