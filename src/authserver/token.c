/* The token endpoint: the request read (RFC 6749 form or Auth0 JSON), the caller identified
 * (client_secret_basic, client_secret_post, or a public client's client_id), the grant
 * dispatched, the client credentials grant itself, and access tokens minted and answered.
 * Checks run in a fixed order (request shape, grant type, client, then the grant's own), so an
 * unauthenticated caller learns nothing about clients, scopes or audiences. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "base/json_dump.h"
#include "base/limits.h"
#include "base/base64.h"
#include "jose/sign.h"
#include "oauth2/form.h"

/* What a token request carried, with the storage its parameters borrow from. */
struct token_req {
    struct wdn__as_token_params p;
    struct wdn_form form;
    json_t *json;
    char *basic_id, *basic_secret; /* decoded HTTP Basic credentials, malloc'd */
};

static void token_req_reset(struct token_req *t)
{
    wdn__as_form_wipe(&t->form);
    json_decref(t->json);
    if (t->basic_secret)
        OPENSSL_cleanse(t->basic_secret, strlen(t->basic_secret));
    free(t->basic_id);
    free(t->basic_secret);
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

static const char *const param_names[] = {
    "grant_type", "client_id", "client_secret", "audience",      "resource",
    "scope",      "code",      "redirect_uri",  "code_verifier", "refresh_token",
};

static const char **param_slot(struct wdn__as_token_params *p, size_t i)
{
    const char **slots[] = {
        &p->grant_type, &p->client_id, &p->client_secret, &p->audience,      &p->resource,
        &p->scope,      &p->code,      &p->redirect_uri,  &p->code_verifier, &p->refresh_token};
    return slots[i];
}

#define NPARAMS (sizeof(param_names) / sizeof(param_names[0]))

/* JSON bodies (Auth0): known members must be strings; others are ignored (RFC 6749 3.2). */
static int params_from_json(struct wdn__as_token_params *p, json_t *obj)
{
    for (size_t i = 0; i < NPARAMS; i++) {
        json_t *v = json_object_get(obj, param_names[i]);
        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return WDN_EPARSE;
        *param_slot(p, i) = nonempty(json_string_value(v));
    }
    return 0;
}

/* The body, by Content-Type. 0, or WDN__AS_DONE with the error answered. */
static int read_body(const struct wdn_issuer_request *req, struct token_req *t,
                     struct wdn_issuer_response *resp)
{
    if (req->body_too_large)
        return wdn__as_done(
            wdn__as_token_error(resp, 413, "invalid_request", "the request body is too large"));
    if (wdn__as_media_type_is(req->content_type, "application/x-www-form-urlencoded")) {
        int rc = wdn_form_decode(req->body, &t->form);
        if (rc != 0)
            return wdn__as_done(wdn__as_token_error(resp, 400, "invalid_request",
                                                    rc == WDN_ENOMEM
                                                        ? "out of memory"
                                                        : "the form body is malformed or repeats "
                                                          "a parameter"));
        for (size_t i = 0; i < NPARAMS; i++)
            *param_slot(&t->p, i) = nonempty(wdn_form_get(&t->form, param_names[i]));
        return 0;
    }
    if (wdn__as_media_type_is(req->content_type, "application/json")) {
        json_error_t jerr;
        t->json = json_loadb(req->body.p, req->body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(t->json) || params_from_json(&t->p, t->json) != 0)
            return wdn__as_done(
                wdn__as_token_error(resp, 400, "invalid_request",
                                    "the JSON body must be an object of string parameters "
                                    "without repeated names"));
        return 0;
    }
    return wdn__as_done(
        wdn__as_token_error(resp, 400, "invalid_request",
                            "Content-Type must be application/x-www-form-urlencoded or "
                            "application/json"));
}

/* Basic credentials (RFC 7617 with RFC 6749 2.3.1's form-encoding of id and secret). Fills
 * *id and *secret (malloc'd). 0, or WDN_EAUTH when the header is not usable Basic. */
static int basic_credentials(struct wdn_str auth, char **id, char **secret)
{
    unsigned char raw[2 * WDN_ISSUER_MAX_FIELD_BYTES * 3 + 8];
    size_t n = 0;
    struct wdn_str b64;
    long colon;
    int rc = WDN_EAUTH;

    *id = *secret = NULL;
    if (auth.len < 6 || !wdn_str_eq_case(WDN_STR("basic "), (struct wdn_str){auth.p, 6}))
        goto out;
    b64 = wdn_str_trim_ows((struct wdn_str){auth.p + 6, auth.len - 6});
    if (wdn_b64std_decode(b64, raw, sizeof(raw), &n) != 0)
        goto out;
    colon = wdn_str_index((struct wdn_str){(const char *)raw, n}, ':');
    if (colon <= 0)
        goto out;
    *id = wdn_form_percent_decode((struct wdn_str){(const char *)raw, (size_t)colon}, 1);
    *secret = wdn_form_percent_decode(
        (struct wdn_str){(const char *)raw + colon + 1, n - (size_t)colon - 1}, 1);
    if (*id == NULL || *secret == NULL || **id == '\0' || **secret == '\0')
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    if (rc != 0) {
        if (*secret)
            OPENSSL_cleanse(*secret, strlen(*secret));
        free(*id);
        free(*secret);
        *id = *secret = NULL;
    }
    return rc;
}

/* The credentials presented: HTTP Basic or the body, never both. 0 or WDN__AS_DONE. */
static int credentials(const struct wdn_issuer_request *req, struct token_req *t,
                       struct wdn_issuer_response *resp)
{
    if (req->repeated_auth_header)
        return wdn__as_done(
            wdn__as_token_error(resp, 400, "invalid_request", "Authorization is repeated"));
    if (!req->has_authorization)
        return 0;
    if (basic_credentials(req->authorization, &t->basic_id, &t->basic_secret) != 0)
        return wdn__as_done(wdn__as_token_error(resp, 401, "invalid_client",
                                                "the Authorization header is not usable HTTP Basic "
                                                "credentials"));
    if (t->p.client_secret != NULL ||
        (t->p.client_id != NULL && strcmp(t->p.client_id, t->basic_id) != 0))
        return wdn__as_done(
            wdn__as_token_error(resp, 400, "invalid_request",
                                "use one client authentication method: HTTP Basic or "
                                "client_secret in the body, not both"));
    t->p.client_id = t->basic_id;
    t->p.client_secret = t->basic_secret;
    return 0;
}

/* A registered confidential client's secret (SHA-256 stored, compared in constant time). */
static bool registered_secret_ok(struct wdn_issuer *iss, const char *id, const char *secret)
{
    struct wdn__as_client c = {0};
    unsigned char got[WDN__AS_HASH_LEN];
    bool ok;

    pthread_mutex_lock(&iss->mu);
    int rc = wdn__as_registry_find(iss, id, &c);
    pthread_mutex_unlock(&iss->mu);
    wdn__as_sha256(secret, strlen(secret), got);
    ok = wdn_ct_equal(got, sizeof(got),
                      rc == 0 && !c.public_client ? c.secret_hash : iss->dummy_hash,
                      WDN__AS_HASH_LEN) &&
         rc == 0 && !c.public_client;
    wdn__as_client_reset(&c);
    return ok;
}

/* Who calls: with a secret, a client-credentials client or a registered confidential one; with
 * a client_id alone (authorization code and refresh grants), a public client, registered or a
 * metadata document. 0 with *who filled, or WDN__AS_DONE with invalid_client answered. */
static int identify(struct wdn_issuer *iss, const struct wdn__as_token_params *p, bool interactive,
                    int64_t now, struct wdn__as_caller *who, struct wdn_issuer_response *resp)
{
    memset(who, 0, sizeof(*who));
    if (p->client_id != NULL && p->client_secret != NULL) {
        bool known;
        who->cc = wdn__as_cc_authenticate(iss, p->client_id, p->client_secret, &known);
        if (who->cc != NULL ||
            (!known && interactive && registered_secret_ok(iss, p->client_id, p->client_secret))) {
            who->id = who->cc ? who->cc->id : p->client_id;
            who->authenticated = true;
            return 0;
        }
        return wdn__as_done(
            wdn__as_token_error(resp, 401, "invalid_client", "client authentication failed"));
    }
    if (p->client_id != NULL && interactive) {
        struct wdn__as_client c = {0};
        struct wdn_diag d;
        int rc = wdn__as_find_client(iss, p->client_id, now, &c, &d);
        bool pub = rc == 0 && c.public_client;
        wdn__as_client_reset(&c);
        if (pub) {
            who->id = p->client_id;
            return 0;
        }
        return wdn__as_done(
            wdn__as_token_error(resp, 401, "invalid_client",
                                rc == 0 ? "this client must authenticate with its secret"
                                        : "client authentication failed"));
    }
    return wdn__as_done(wdn__as_token_error(resp, 401, "invalid_client",
                                            interactive
                                                ? "client authentication is required "
                                                  "(client_secret_basic, client_secret_post, or "
                                                  "client_id for a public client)"
                                                : "client authentication is required "
                                                  "(client_secret_basic or client_secret_post)"));
}

static int has_str(char *const *v, size_t n, struct wdn_str s)
{
    for (size_t i = 0; i < n; i++)
        if (wdn_str_eq_cstr(s, v[i]))
            return 1;
    return 0;
}

/* Checks the requested scope against the client's and writes the granted scope into out
 * (deduplicated, in request order; all allowed scopes when none was asked for). Returns 0, or
 * WDN_EDENIED with why (static) set. */
static int grant_scope(const struct wdn__as_cc_client *c, const char *scope, struct wdn_buf *out,
                       const char **why)
{
    struct wdn_str seen[WDN_ISSUER_MAX_SCOPES];
    size_t nseen = 0;
    int rc = 0;

    if (scope == NULL) {
        for (size_t i = 0; i < c->nscopes && rc == 0; i++)
            rc = wdn_buf_printf(out, "%s%s", i ? " " : "", c->scopes[i]);
        return rc;
    }
    for (const char *p = scope;;) {
        const char *sp = strchr(p, ' ');
        struct wdn_str t = {p, sp ? (size_t)(sp - p) : strlen(p)};
        int dup = 0;

        if (!wdn__as_scope_token_ok(t)) {
            *why = "the scope is malformed (RFC 6749 3.3: tokens separated by one space)";
            return WDN_EDENIED;
        }
        if (!has_str(c->scopes, c->nscopes, t)) {
            *why = "a requested scope is not allowed for this client";
            return WDN_EDENIED;
        }
        for (size_t i = 0; i < nseen; i++)
            dup |= wdn_str_eq(seen[i], t);
        if (!dup) {
            if (nseen == WDN_ISSUER_MAX_SCOPES) {
                *why = "too many scopes";
                return WDN_EDENIED;
            }
            seen[nseen++] = t;
            rc = wdn_buf_printf(out, "%s%.*s", out->len ? " " : "", WDN_STR_FMT(t));
            if (rc != 0)
                return rc;
        }
        if (sp == NULL)
            break;
        p = sp + 1;
    }
    return 0;
}

/* The client credentials grant: scope within the client's, target among its audiences. */
static int grant_client_credentials(struct wdn_issuer *iss, const struct wdn__as_token_params *p,
                                    const struct wdn__as_caller *who, int64_t now,
                                    struct wdn_issuer_response *resp)
{
    const struct wdn__as_cc_client *c = who->cc;
    struct wdn_buf scope, tok;
    const char *aud, *why = NULL;
    char sub[WDN_ISSUER_MAX_FIELD_BYTES + 16];
    int rc;

    wdn_buf_init(&scope, 64 * 1024);
    wdn_buf_init(&tok, WDN_JWT_MAX_TOKEN_BYTES);
    if (c == NULL) {
        rc = wdn__as_token_error(resp, 400, "unauthorized_client",
                                 "this client may not use the client_credentials grant");
        goto out;
    }
    rc = grant_scope(c, p->scope, &scope, &why);
    if (rc == WDN_EDENIED) {
        rc = wdn__as_token_error(resp, 400, "invalid_scope", why);
        goto out;
    }
    if (rc != 0 || wdn_buf_cstr(&scope) == NULL)
        goto out;
    if (p->resource != NULL && !wdn__as_absolute_uri(p->resource)) {
        rc = wdn__as_token_error(resp, 400, "invalid_target",
                                 "resource must be an absolute URI without a fragment (RFC 8707)");
        goto out;
    }
    if (p->resource != NULL && p->audience != NULL && strcmp(p->resource, p->audience) != 0) {
        rc = wdn__as_token_error(resp, 400, "invalid_target",
                                 "audience and resource name different targets");
        goto out;
    }
    aud = p->audience ? p->audience : p->resource ? p->resource : c->auds[0];
    if (!has_str(c->auds, c->naud, wdn_str_from_cstr(aud))) {
        rc = wdn__as_token_error(resp, 400, "invalid_target",
                                 "the requested audience is not allowed for this client");
        goto out;
    }
    rc = wdn_fmt(sub, sizeof(sub), "%s@clients", c->id);
    if (rc != 0)
        goto out;
    pthread_mutex_lock(&iss->mu);
    rc = wdn__as_mint_token(iss,
                            &(struct wdn__as_mint){.sub = sub,
                                                   .client_id = c->id,
                                                   .aud = aud,
                                                   .scope = scope.data,
                                                   .gty = "client-credentials"},
                            now, &tok);
    pthread_mutex_unlock(&iss->mu);
    if (rc == 0)
        rc = wdn__as_token_ok(iss, resp, &tok, scope.data, NULL);
out:
    if (tok.data)
        OPENSSL_cleanse(tok.data, tok.len);
    wdn_buf_reset(&tok);
    wdn_buf_reset(&scope);
    return rc;
}

int wdn__as_mint_token(struct wdn_issuer *iss, const struct wdn__as_mint *m, int64_t now,
                       struct wdn_buf *out)
{
    char jti[32];
    json_t *claims = NULL;
    char *text = NULL;
    int rc = wdn__as_random(jti, sizeof(jti), 16);

    if (rc != 0)
        goto out;
    rc = WDN_ENOMEM;
    claims = json_pack("{sssssssIsIssssss}", "iss", iss->issuer, "sub", m->sub, "aud", m->aud,
                       "iat", (json_int_t)now, "exp", (json_int_t)(now + iss->lifetime_s), "jti",
                       jti, "client_id", m->client_id, "azp", m->client_id);
    if (claims == NULL)
        goto out;
    if (m->gty && json_object_set_new(claims, "gty", json_string(m->gty)) != 0)
        goto out;
    if (m->scope && *m->scope && json_object_set_new(claims, "scope", json_string(m->scope)) != 0)
        goto out;
    text = wdn_json_dumps(claims, JSON_COMPACT);
    if (text == NULL)
        goto out;
    wdn__as_refresh_keys(iss);
    rc = wdn_jws_sign(iss->ks->keys[wdn__issuer_keyset_signing(iss->ks, now)],
                      wdn_str_from_cstr(text), iss->typ, out);
    if (rc == 0 && wdn_buf_cstr(out) == NULL)
        rc = WDN_ENOMEM;
out:
    free(text);
    json_decref(claims);
    return rc;
}

int wdn__as_token_ok(struct wdn_issuer *iss, struct wdn_issuer_response *resp,
                     struct wdn_buf *access, const char *scope, const char *refresh)
{
    json_t *ok = json_pack("{sssssI}", "access_token", access->data, "token_type", "Bearer",
                           "expires_in", (json_int_t)iss->lifetime_s);

    if (ok != NULL && scope && *scope && json_object_set_new(ok, "scope", json_string(scope)))
        ok = (json_decref(ok), NULL);
    if (ok != NULL && refresh && json_object_set_new(ok, "refresh_token", json_string(refresh)))
        ok = (json_decref(ok), NULL);
    resp->status = 200;
    resp->pragma_no_cache = true;
    return wdn__as_set_json(resp, ok);
}

int wdn__as_token(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                  struct wdn_issuer_response *resp)
{
    struct token_req t = {0};
    struct wdn__as_caller who;
    const char *g;
    bool cc, code, refresh;
    int rc;

    if (!wdn_str_eq_cstr(req->method, "POST")) {
        resp->allow = "POST";
        rc = wdn__as_token_error(resp, 405, "invalid_request",
                                 "the token endpoint accepts POST only");
        goto out;
    }
    rc = read_body(req, &t, resp);
    if (rc == 0)
        rc = credentials(req, &t, resp);
    if (rc != 0)
        goto out;
    g = t.p.grant_type;
    if (g == NULL) {
        rc = wdn__as_token_error(resp, 400, "invalid_request", "grant_type is required");
        goto out;
    }
    cc = strcmp(g, "client_credentials") == 0;
    code = strcmp(g, "authorization_code") == 0;
    refresh = strcmp(g, "refresh_token") == 0;
    if (!cc && !code && !refresh) {
        rc = wdn__as_token_error(resp, 400, "unsupported_grant_type",
                                 "the grants are client_credentials, authorization_code and "
                                 "refresh_token");
        goto out;
    }
    rc = identify(iss, &t.p, !cc, now, &who, resp);
    if (rc != 0)
        goto out;
    wdn_fmt(resp->client_id, sizeof(resp->client_id), "%s", who.id);
    if (cc)
        rc = grant_client_credentials(iss, &t.p, &who, now, resp);
    else if (code)
        rc = wdn__as_grant_code(iss, &t.p, &who, now, resp);
    else
        rc = wdn__as_grant_refresh(iss, &t.p, &who, now, resp);
out:
    token_req_reset(&t);
    return rc == WDN__AS_DONE ? 0 : rc;
}
