/* The grants of interactive clients at the token endpoint. authorization_code: the code must
 * be live and unused, the client the one it was issued to, redirect_uri the exact one of the
 * request, and SHA-256(code_verifier) its code_challenge (PKCE); the token's aud is the
 * resource the person consented to, and a refresh token starts a new family. refresh_token:
 * rotated on every use (a new token, the old one spent), bound to its client and resource, a
 * narrower scope allowed. Every failure is invalid_grant (or invalid_target / invalid_scope)
 * with a reason that helps the client's developer and nobody else. */
#include <string.h>

#include <openssl/crypto.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "base/base64.h"

/* RFC 7636 4.1: code_verifier = 43*128unreserved. */
static bool verifier_ok(const char *v)
{
    size_t n = strlen(v);

    return n >= 43 && n <= 128 &&
           strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") == n;
}

/* BASE64URL(SHA256(verifier)) == challenge, compared in constant time. */
static bool pkce_ok(const char *verifier, const char *challenge)
{
    unsigned char h[WDN__AS_HASH_LEN];
    char b64[48];
    size_t n;

    if (!verifier_ok(verifier))
        return false;
    wdn__as_sha256(verifier, strlen(verifier), h);
    if (wdn_b64url_encode(h, sizeof(h), b64, sizeof(b64), &n) != 0)
        return false;
    return wdn_ct_equal(b64, n, challenge, strlen(challenge));
}

/* An access token for user and its answer, with a refresh token from v (v->family empty: a
 * new family). With mutex. */
static int issue(struct wdn_issuer *iss, struct wdn__as_refresh_view *v, const char *scope,
                 int64_t now, struct wdn_issuer_response *resp)
{
    struct wdn_buf tok;
    char refresh[WDN__AS_RANDOM_CHARS + 1];
    int rc;

    wdn_buf_init(&tok, WDN_JWT_MAX_TOKEN_BYTES);
    rc = wdn__as_mint_token(
        iss,
        &(struct wdn__as_mint){
            .sub = v->user, .client_id = v->client_id, .aud = v->resource, .scope = scope},
        now, &tok);
    if (rc == 0)
        rc = wdn__as_refresh_issue(iss, v, now, refresh, sizeof(refresh));
    if (rc == 0)
        rc = wdn__as_token_ok(iss, resp, &tok, scope, refresh);
    if (tok.data)
        OPENSSL_cleanse(tok.data, tok.len);
    wdn_buf_reset(&tok);
    OPENSSL_cleanse(refresh, sizeof(refresh));
    return rc;
}

int wdn__as_grant_code(struct wdn_issuer *iss, const struct wdn__as_token_params *p,
                       const struct wdn__as_caller *who, int64_t now,
                       struct wdn_issuer_response *resp)
{
    struct wdn__as_grant g;
    struct wdn__as_refresh_view v = {0};
    const char *why = NULL;
    int rc;

    if (p->code == NULL || p->redirect_uri == NULL)
        return wdn__as_token_error(resp, 400, "invalid_request",
                                   "code and redirect_uri are required");
    pthread_mutex_lock(&iss->mu);
    rc = wdn__as_code_redeem(iss, p->code, now, &g);
    if (rc == WDN_ENOTFOUND)
        why = "the code is unknown or expired";
    else if (rc == WDN_EEXISTS)
        why = "the code was used before: the tokens it gave are revoked";
    else if (rc != 0)
        goto out;
    else if (strcmp(g.authz.client_id, who->id) != 0)
        why = "the code was issued to another client";
    else if (strcmp(g.authz.redirect_uri, p->redirect_uri) != 0)
        why = "redirect_uri differs from the authorization request's";
    else if (p->code_verifier == NULL)
        why = "code_verifier is required (PKCE)";
    else if (!pkce_ok(p->code_verifier, g.authz.challenge))
        why = "code_verifier does not match the code_challenge";
    if (why != NULL) {
        rc = wdn__as_token_error(resp, 400, "invalid_grant", why);
        goto out;
    }
    if (p->resource != NULL && !wdn__as_resource_eq(g.authz.resource, p->resource)) {
        rc = wdn__as_token_error(resp, 400, "invalid_target",
                                 "resource differs from the one the user consented to");
        goto out;
    }
    wdn_fmt(resp->user, sizeof(resp->user), "%s", g.user);
    v.client_id = g.authz.client_id;
    v.user = g.user;
    v.scope = g.authz.scope;
    v.resource = g.authz.resource;
    rc = issue(iss, &v, g.authz.scope, now, resp);
    if (rc == 0)
        wdn__as_code_set_family(iss, g.code_hash, v.family);
out:
    pthread_mutex_unlock(&iss->mu);
    wdn__as_grant_reset(&g);
    return rc;
}

int wdn__as_grant_refresh(struct wdn_issuer *iss, const struct wdn__as_token_params *p,
                          const struct wdn__as_caller *who, int64_t now,
                          struct wdn_issuer_response *resp)
{
    struct wdn__as_refresh_view v;
    int rc;

    if (p->refresh_token == NULL)
        return wdn__as_token_error(resp, 400, "invalid_request", "refresh_token is required");
    if (p->scope != NULL && !wdn__as_scope_ok(p->scope))
        return wdn__as_token_error(resp, 400, "invalid_scope", "the scope is malformed");
    pthread_mutex_lock(&iss->mu);
    rc = wdn__as_refresh_spend(iss, p->refresh_token, who->id, p->resource, p->scope, now, &v);
    if (rc == WDN_ENOTFOUND)
        rc = wdn__as_token_error(resp, 400, "invalid_grant",
                                 "the refresh token is unknown, expired, revoked or another "
                                 "client's");
    else if (rc == WDN_EEXISTS)
        rc = wdn__as_token_error(resp, 400, "invalid_grant",
                                 "the refresh token was used before: every token of its "
                                 "sign-in is revoked");
    else if (rc == WDN_ERANGE)
        rc = wdn__as_token_error(resp, 400, "invalid_target",
                                 "resource differs from the refresh token's");
    else if (rc == WDN_EDENIED)
        rc = wdn__as_token_error(resp, 400, "invalid_scope",
                                 "the scope asks for more than the refresh token has");
    else if (rc == 0) {
        /* The new refresh token keeps the family's scope; the access token may be narrower. */
        char *scope = v.scope;
        wdn_fmt(resp->user, sizeof(resp->user), "%s", v.user);
        rc = issue(iss, &v, p->scope ? p->scope : scope, now, resp);
    }
    pthread_mutex_unlock(&iss->mu);
    wdn__as_refresh_view_reset(&v);
    return rc;
}
