/* The authorization code front channel. What makes it safe: a fresh PKCE verifier and state for
 * each attempt (CSPRNG), S256 only, a loopback-only redirect, the response's state compared in
 * constant time, a repeated parameter refused (the strict form decoder), and the RFC 9207 iss
 * compared exactly with the issuer the client discovered, so a response produced by another
 * authorization server (mix-up) is never redeemed. */
#include "oauth2/authcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/base64.h"
#include "jose/crypto.h"
#include "oauth2/form.h"
#include "oauth2/loopback.h"

static int random_b64(size_t bytes, char *out, size_t cap)
{
    unsigned char raw[48];
    size_t n;

    if (bytes > sizeof(raw) || RAND_bytes(raw, (int)bytes) != 1)
        return WDN_ECRYPTO;
    return wdn_b64url_encode(raw, bytes, out, cap, &n);
}

int wdn_oauth2_pkce_challenge(const char *verifier, char *out, size_t cap)
{
    unsigned char digest[32];
    size_t n;
    int rc = wdn_jose_sha256(verifier, strlen(verifier), digest);

    return rc != 0 ? rc : wdn_b64url_encode(digest, sizeof(digest), out, cap, &n);
}

static int print_url(void *ud, const char *url)
{
    (void)ud;
    fprintf(stderr, "Open this URL in your browser to sign in:\n\n  %s\n\n", url);
    return 0;
}

int wdn_oauth2_authcode_listen(const char *redirect_uri, struct wdn_oauth2_loopback **l,
                               struct wdn_oauth2_authcode *out, struct wdn_diag *d)
{
    memset(out, 0, sizeof(*out));
    return wdn_oauth2_loopback_start(redirect_uri, l, out->redirect_uri, sizeof(out->redirect_uri),
                                     d);
}

/* The authorization request URL into u. */
static int build_url(const struct wdn_oauth2_authcode_req *r, const char *state,
                     const char *challenge, const char *redirect, struct wdn_buf *u)
{
    const char *ep = r->as->authorization_endpoint;
    struct wdn_buf q;
    int rc;

    wdn_buf_init(&q, 16384);
    rc = wdn_form_add(&q, "response_type", "code");
    if (rc == 0)
        rc = wdn_form_add(&q, "client_id", r->client_id);
    if (rc == 0)
        rc = wdn_form_add(&q, "redirect_uri", redirect);
    if (rc == 0)
        rc = wdn_form_add(&q, "code_challenge", challenge);
    if (rc == 0)
        rc = wdn_form_add(&q, "code_challenge_method", "S256");
    if (rc == 0)
        rc = wdn_form_add(&q, "state", state);
    if (rc == 0 && r->scope != NULL && r->scope[0] != '\0')
        rc = wdn_form_add(&q, "scope", r->scope);
    if (rc == 0 && r->resource != NULL)
        rc = wdn_form_add(&q, "resource", r->resource);
    if (rc == 0)
        rc = wdn_buf_printf(u, "%s%c%s", ep, strchr(ep, '?') != NULL ? '&' : '?', wdn_buf_cstr(&q));
    wdn_buf_reset(&q);
    return rc;
}

/* Checks the redirect's query and takes the code. */
static int check_response(const struct wdn_oauth2_authcode_req *r, const char *state,
                          const char *query, struct wdn_oauth2_authcode *out, struct wdn_diag *d)
{
    struct wdn_form f;
    const char *got_state, *iss, *code, *error;
    int rc;

    memset(&f, 0, sizeof(f));
    rc = wdn_form_decode(wdn_str_from_cstr(query), &f);
    if (rc != 0)
        return wdn_diag_set(d, WDN_EAUTH,
                            "the authorization response is malformed (a repeated "
                            "or badly encoded parameter): refusing it");
    got_state = wdn_form_get(&f, "state");
    iss = wdn_form_get(&f, "iss");
    code = wdn_form_get(&f, "code");
    error = wdn_form_get(&f, "error");
    if (got_state == NULL || strlen(got_state) != strlen(state) ||
        CRYPTO_memcmp(got_state, state, strlen(state)) != 0) {
        rc = wdn_diag_set(d, WDN_EAUTH,
                          "the authorization response does not carry this sign-in's state: "
                          "refusing it");
        goto out;
    }
    /* RFC 9207 2.4: compare exactly, whether or not the server advertised iss. */
    if (iss != NULL && strcmp(iss, r->as->issuer) != 0) {
        rc = wdn_diag_set(d, WDN_EAUTH,
                          "the authorization response comes from issuer '%.200s', not '%.200s' "
                          "(mix-up attack?): refusing it",
                          iss, r->as->issuer);
        goto out;
    }
    if (iss == NULL && r->as->iss_parameter) {
        rc = wdn_diag_set(d, WDN_EAUTH,
                          "the authorization server promised an iss parameter in its responses "
                          "and this one has none: refusing it");
        goto out;
    }
    if (error != NULL) {
        const char *desc = wdn_form_get(&f, "error_description");
        rc = wdn_diag_set(d, WDN_EAUTH, "sign-in refused: %.60s%s%.160s", error,
                          desc != NULL ? ": " : "", desc != NULL ? desc : "");
        goto out;
    }
    if (code == NULL || code[0] == '\0') {
        rc = wdn_diag_set(d, WDN_EAUTH, "the authorization response has no code");
        goto out;
    }
    out->code = strdup(code);
    rc = out->code != NULL ? 0 : wdn_diag_set(d, WDN_ENOMEM, "out of memory");
out:
    for (size_t i = 0; i < f.n; i++)
        if (f.fields[i].value != NULL)
            OPENSSL_cleanse(f.fields[i].value, strlen(f.fields[i].value));
    wdn_form_reset(&f);
    return rc;
}

int wdn_oauth2_authcode_finish(const struct wdn_oauth2_authcode_req *r,
                               struct wdn_oauth2_loopback *l, struct wdn_oauth2_authcode *out,
                               struct wdn_diag *d)
{
    char state[64], challenge[64];
    char *query = NULL;
    struct wdn_buf url;
    int rc;

    wdn_buf_init(&url, 32768);
    if (r->as->authorization_endpoint == NULL) {
        rc = wdn_diag_set(d, WDN_EUNSUPPORTED,
                          "the authorization server has no authorization_endpoint");
        goto out;
    }
    if (!r->as->pkce_s256) {
        rc = wdn_diag_set(d, WDN_EUNSUPPORTED,
                          "the authorization server does not support PKCE with S256 "
                          "(code_challenge_methods_supported): refusing to sign in there");
        goto out;
    }
    if ((rc = wdn_oauth2_url_allowed(r->net, r->as->authorization_endpoint, d)) != 0)
        goto out;
    if ((rc = random_b64(32, out->verifier, sizeof(out->verifier))) != 0 ||
        (rc = random_b64(24, state, sizeof(state))) != 0 ||
        (rc = wdn_oauth2_pkce_challenge(out->verifier, challenge, sizeof(challenge))) != 0) {
        wdn_diag_set(d, rc, "no random bytes for PKCE");
        goto out;
    }
    if ((rc = build_url(r, state, challenge, out->redirect_uri, &url)) != 0) {
        wdn_diag_set(d, rc, "authorization URL too long");
        goto out;
    }
    rc = (r->open_url != NULL ? r->open_url : print_url)(r->open_ud, wdn_buf_cstr(&url));
    if (rc != 0) {
        wdn_diag_set(d, rc, "the sign-in did not start");
        goto out;
    }
    rc = wdn_oauth2_loopback_wait(
        l, r->timeout_ms > 0 ? r->timeout_ms : WDN_OAUTH2_LOGIN_TIMEOUT_MS, &query, d);
    if (rc == 0)
        rc = check_response(r, state, query, out, d);
out:
    if (query != NULL) {
        OPENSSL_cleanse(query, strlen(query));
        free(query);
    }
    wdn_buf_reset(&url);
    wdn_oauth2_loopback_free(l);
    return rc;
}

int wdn_oauth2_authcode_run(const struct wdn_oauth2_authcode_req *r,
                            struct wdn_oauth2_authcode *out, struct wdn_diag *d)
{
    struct wdn_oauth2_loopback *l = NULL;
    int rc = wdn_oauth2_authcode_listen(r->redirect_uri, &l, out, d);

    if (rc != 0)
        return rc;
    return wdn_oauth2_authcode_finish(r, l, out, d);
}

void wdn_oauth2_authcode_reset(struct wdn_oauth2_authcode *a)
{
    if (a->code != NULL) {
        OPENSSL_cleanse(a->code, strlen(a->code));
        free(a->code);
    }
    OPENSSL_cleanse(a->verifier, sizeof(a->verifier));
    memset(a, 0, sizeof(*a));
}
