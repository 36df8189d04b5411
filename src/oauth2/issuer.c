/* The development issuer's request logic: the token endpoint (client credentials), the
 * discovery documents and the JWKS, as a pure function from a request to a response. */
#include "oauth2/issuer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/error.h"
#include "base/limits.h"
#include "jose/b64url.h"
#include "jose/sign.h"
#include "oauth2/form.h"
#include "oauth2/issuer_int.h"

#define HASH_LEN 32
#define SALT_LEN 16

struct client {
    char *id;
    unsigned char hash[HASH_LEN]; /* SHA-256(salt || secret): the secret itself is not kept */
    char **auds;
    size_t naud;
    char **scopes;
    size_t nscopes;
};

struct wdn_issuer {
    char *issuer;   /* "iss", e.g. "https://127.0.0.1:9443/" */
    char *base;     /* issuer without its trailing slash, for endpoint URLs */
    char *state_dir;
    char *typ;
    int64_t lifetime_s;
    struct client *clients;
    size_t nclients;
    unsigned char salt[SALT_LEN];
    unsigned char dummy_hash[HASH_LEN]; /* compared against when the client id is unknown */
    pthread_mutex_t mu;                 /* guards ks (reload swaps it) and signing */
    struct wdn__issuer_keyset *ks;
};

/* The printable ASCII RFC 6749 allows in client ids, secrets (VSCHAR) and our audiences. */
static int vschar_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > WDN_ISSUER_MAX_FIELD_BYTES)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

/* RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
static int scope_char_ok(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static int scope_token_ok(struct wdn_str s)
{
    if (s.len == 0 || s.len > WDN_ISSUER_MAX_FIELD_BYTES)
        return 0;
    for (size_t i = 0; i < s.len; i++)
        if (!scope_char_ok((unsigned char)s.p[i]))
            return 0;
    return 1;
}

static int hash_secret(const struct wdn_issuer *iss, const char *secret, size_t len,
                       unsigned char out[HASH_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, iss->salt, SALT_LEN) && EVP_DigestUpdate(ctx, secret, len) &&
             EVP_DigestFinal_ex(ctx, out, &n) && n == HASH_LEN;

    EVP_MD_CTX_free(ctx);
    return ok ? 0 : WDN_ECRYPTO;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int copy_strv(char ***out, const char *const *in, size_t n)
{
    *out = calloc(n ? n : 1, sizeof(char *));
    if (*out == NULL)
        return WDN_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (((*out)[i] = strdup(in[i])) == NULL)
            return WDN_ENOMEM;
    return 0;
}

void wdn_issuer_free(struct wdn_issuer *iss)
{
    if (iss == NULL)
        return;
    for (size_t i = 0; iss->clients && i < iss->nclients; i++) {
        free(iss->clients[i].id);
        free_strv(iss->clients[i].auds, iss->clients[i].naud);
        free_strv(iss->clients[i].scopes, iss->clients[i].nscopes);
    }
    free(iss->clients);
    wdn__issuer_keyset_free(iss->ks);
    pthread_mutex_destroy(&iss->mu);
    free(iss->issuer);
    free(iss->base);
    free(iss->state_dir);
    free(iss->typ);
    free(iss);
}

static int check_client(const struct wdn_issuer_client_cfg *c, size_t idx, struct wdn_diag *d)
{
    if (!vschar_ok(c->id))
        return wdn_diag_set(d, WDN_EINVAL, "client %zu: the id must be 1..%d printable characters",
                            idx + 1, WDN_ISSUER_MAX_FIELD_BYTES);
    if (!vschar_ok(c->secret))
        return wdn_diag_set(d, WDN_EINVAL,
                            "client '%s': the secret must be 1..%d printable characters", c->id,
                            WDN_ISSUER_MAX_FIELD_BYTES);
    if (c->naudiences == 0 || c->naudiences > WDN_ISSUER_MAX_AUDIENCES)
        return wdn_diag_set(d, WDN_EINVAL, "client '%s': give 1..%d audiences", c->id,
                            WDN_ISSUER_MAX_AUDIENCES);
    for (size_t i = 0; i < c->naudiences; i++)
        if (!vschar_ok(c->audiences[i]) || strchr(c->audiences[i], ' ') != NULL)
            return wdn_diag_set(d, WDN_EINVAL, "client '%s': audience %zu is empty, too long or "
                                "has spaces or control characters", c->id, i + 1);
    if (c->nscopes > WDN_ISSUER_MAX_SCOPES)
        return wdn_diag_set(d, WDN_EINVAL, "client '%s': at most %d scopes", c->id,
                            WDN_ISSUER_MAX_SCOPES);
    for (size_t i = 0; i < c->nscopes; i++)
        if (c->scopes[i] == NULL || !scope_token_ok(wdn_str_from_cstr(c->scopes[i])))
            return wdn_diag_set(d, WDN_EINVAL, "client '%s': scope %zu is not a valid scope "
                                "token (RFC 6749 3.3)", c->id, i + 1);
    return 0;
}

struct wdn_issuer *wdn_issuer_new(const struct wdn_issuer_config *cfg, struct wdn_diag *d)
{
    struct wdn_issuer *iss = NULL;
    size_t il;
    int rc = WDN_EINVAL;

    if (cfg->issuer == NULL || cfg->state_dir == NULL || (il = strlen(cfg->issuer)) == 0) {
        wdn_diag_set(d, rc, "the issuer URL and state folder are required");
        goto fail;
    }
    if (cfg->nclients == 0 || cfg->nclients > WDN_ISSUER_MAX_CLIENTS) {
        wdn_diag_set(d, rc, "give 1..%d clients", WDN_ISSUER_MAX_CLIENTS);
        goto fail;
    }
    if (cfg->typ != NULL && strcmp(cfg->typ, "at+jwt") != 0 && strcmp(cfg->typ, "JWT") != 0) {
        wdn_diag_set(d, rc, "typ must be at+jwt or JWT");
        goto fail;
    }
    for (size_t i = 0; i < cfg->nclients; i++) {
        if (check_client(&cfg->clients[i], i, d) != 0)
            goto fail;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->clients[i].id, cfg->clients[j].id) == 0) {
                wdn_diag_set(d, rc, "client '%s' is given twice", cfg->clients[i].id);
                goto fail;
            }
    }
    iss = calloc(1, sizeof(*iss));
    if (iss == NULL || pthread_mutex_init(&iss->mu, NULL) != 0) {
        free(iss);
        iss = NULL;
        wdn_diag_set(d, WDN_ENOMEM, "out of memory");
        goto fail;
    }
    iss->issuer = strdup(cfg->issuer);
    iss->base = strndup(cfg->issuer, cfg->issuer[il - 1] == '/' ? il - 1 : il);
    iss->state_dir = strdup(cfg->state_dir);
    iss->typ = strdup(cfg->typ ? cfg->typ : "at+jwt");
    iss->lifetime_s = cfg->lifetime_s > 0 ? cfg->lifetime_s : WDN_ISSUER_DEFAULT_LIFETIME_S;
    iss->clients = calloc(cfg->nclients, sizeof(*iss->clients));
    if (!iss->issuer || !iss->base || !iss->state_dir || !iss->typ || !iss->clients ||
        RAND_bytes(iss->salt, SALT_LEN) != 1 || RAND_bytes(iss->dummy_hash, HASH_LEN) != 1) {
        wdn_diag_set(d, WDN_ENOMEM, "out of memory or no randomness");
        goto fail;
    }
    iss->nclients = cfg->nclients;
    for (size_t i = 0; i < cfg->nclients; i++) {
        const struct wdn_issuer_client_cfg *c = &cfg->clients[i];
        struct client *o = &iss->clients[i];
        o->naud = c->naudiences;
        o->nscopes = c->nscopes;
        if ((o->id = strdup(c->id)) == NULL || copy_strv(&o->auds, c->audiences, o->naud) ||
            copy_strv(&o->scopes, c->scopes, o->nscopes) ||
            hash_secret(iss, c->secret, strlen(c->secret), o->hash) != 0) {
            wdn_diag_set(d, WDN_ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (wdn__issuer_keyset_load(iss->state_dir, &iss->ks, d) != 0)
        goto fail;
    return iss;
fail:
    wdn_issuer_free(iss);
    return NULL;
}

/* Re-reads the key set when keys.json changed; on a failed read the last good set stays.
 * Called with the mutex held. */
static void refresh_keys(struct wdn_issuer *iss)
{
    struct wdn__issuer_keyset *fresh = NULL;

    if (!wdn__issuer_keyset_stale(iss->ks, iss->state_dir))
        return;
    if (wdn__issuer_keyset_load(iss->state_dir, &fresh, NULL) == 0) {
        wdn__issuer_keyset_free(iss->ks);
        iss->ks = fresh;
    }
}

int wdn_issuer_signing_kid(struct wdn_issuer *iss, int64_t now, char *buf, size_t cap)
{
    int rc;

    pthread_mutex_lock(&iss->mu);
    refresh_keys(iss);
    rc = wdn_fmt(buf, cap, "%s",
                 wdn_jose_key_kid(iss->ks->keys[wdn__issuer_keyset_signing(iss->ks, now)]));
    pthread_mutex_unlock(&iss->mu);
    return rc;
}

void wdn_issuer_response_reset(struct wdn_issuer_response *resp)
{
    if (resp->body.data)
        OPENSSL_cleanse(resp->body.data, resp->body.len); /* it may hold a token */
    wdn_buf_reset(&resp->body);
}

static void resp_init(struct wdn_issuer_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    wdn_buf_init(&resp->body, WDN_JWKS_MAX_BYTES);
    resp->content_type = "application/json";
    resp->cache_control = "no-store";
    resp->error = "";
    resp->client_id = "";
}

/* Serialises obj into the body (and drops the reference). */
static int set_json(struct wdn_issuer_response *resp, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    int rc = text ? wdn_buf_append_cstr(&resp->body, text) : WDN_ENOMEM;

    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    json_decref(obj);
    return rc;
}

/* An RFC 6749 5.2 error. description is ASCII without quotes or backslashes. */
static int token_error(struct wdn_issuer_response *resp, int status, const char *error,
                       const char *description)
{
    resp->status = status;
    resp->error = error;
    resp->pragma_no_cache = true;
    if (status == 401)
        memcpy(resp->www_authenticate, "Basic realm=\"warden issuer\", charset=\"UTF-8\"",
               sizeof("Basic realm=\"warden issuer\", charset=\"UTF-8\""));
    return set_json(resp, json_pack("{ssss}", "error", error, "error_description", description));
}

/* The parameters of a token request, from either body style. NULL = absent (or empty, which
 * RFC 6749 3.1 says to treat as absent). Borrowed from the decoded form or JSON. */
struct params {
    const char *grant_type, *client_id, *client_secret, *audience, *resource, *scope;
};

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

static void params_from_form(struct params *p, const struct wdn_form *f)
{
    p->grant_type = nonempty(wdn_form_get(f, "grant_type"));
    p->client_id = nonempty(wdn_form_get(f, "client_id"));
    p->client_secret = nonempty(wdn_form_get(f, "client_secret"));
    p->audience = nonempty(wdn_form_get(f, "audience"));
    p->resource = nonempty(wdn_form_get(f, "resource"));
    p->scope = nonempty(wdn_form_get(f, "scope"));
}

/* JSON bodies (Auth0): known members must be strings; others are ignored (RFC 6749 3.2). */
static int params_from_json(struct params *p, json_t *obj)
{
    static const char *const names[] = {"grant_type", "client_id", "client_secret",
                                        "audience", "resource", "scope"};
    const char **slots[] = {&p->grant_type, &p->client_id, &p->client_secret,
                            &p->audience, &p->resource, &p->scope};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        json_t *v = json_object_get(obj, names[i]);
        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return WDN_EPARSE;
        *slots[i] = nonempty(json_string_value(v));
    }
    return 0;
}

/* The media type of a Content-Type value, without parameters, compared case-insensitively. */
static int media_type_is(struct wdn_str ct, const char *type)
{
    long semi = wdn_str_index(ct, ';');
    struct wdn_str t = {ct.p, semi >= 0 ? (size_t)semi : ct.len};

    return wdn_str_eq_case_cstr(wdn_str_trim_ows(t), type);
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

/* Finds the client and checks its secret. Every call hashes the presented secret and makes
 * one constant-time comparison, against a random hash when the id is unknown, so an unknown
 * client and a wrong secret take the same path and the same time. */
static const struct client *authenticate(const struct wdn_issuer *iss, const char *id,
                                         const char *secret)
{
    const struct client *found = NULL;
    const unsigned char *want = iss->dummy_hash;
    unsigned char got[HASH_LEN];
    bool eq;

    for (size_t i = 0; i < iss->nclients; i++)
        if (strcmp(iss->clients[i].id, id) == 0) {
            found = &iss->clients[i];
            want = found->hash;
        }
    if (hash_secret(iss, secret, strlen(secret), got) != 0)
        return NULL;
    eq = wdn_ct_equal(got, HASH_LEN, want, HASH_LEN);
    OPENSSL_cleanse(got, sizeof(got));
    return eq ? found : NULL;
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
static int grant_scope(const struct client *c, const char *scope, struct wdn_buf *out,
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

        if (!scope_token_ok(t)) {
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

/* RFC 8707 2: a resource is an absolute URI without a fragment. */
static int absolute_uri(const char *s)
{
    const char *colon = strchr(s, ':');

    if (colon == NULL || colon == s || strchr(s, '#') != NULL)
        return 0;
    for (const char *p = s; p < colon; p++) {
        char c = *p;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alpha && (p == s || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')))
            return 0;
    }
    return 1;
}

/* Builds and signs the access token into out. Called with the mutex held. */
static int mint(struct wdn_issuer *iss, const struct client *c, const char *aud,
                const char *scope, int64_t now, struct wdn_buf *out)
{
    unsigned char rnd[16];
    char jti[32], sub[WDN_ISSUER_MAX_FIELD_BYTES + 16];
    size_t jl;
    json_t *claims = NULL;
    char *text = NULL;
    int rc = WDN_ECRYPTO;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
        wdn_b64url_encode(rnd, sizeof(rnd), jti, sizeof(jti), &jl) != 0)
        goto out;
    rc = wdn_fmt(sub, sizeof(sub), "%s@clients", c->id);
    if (rc != 0)
        goto out;
    rc = WDN_ENOMEM;
    claims = json_pack("{sssssssIsIssssssss}", "iss", iss->issuer, "sub", sub, "aud", aud,
                       "iat", (json_int_t)now, "exp", (json_int_t)(now + iss->lifetime_s),
                       "jti", jti, "client_id", c->id, "azp", c->id, "gty",
                       "client-credentials");
    if (claims == NULL)
        goto out;
    if (*scope && json_object_set_new(claims, "scope", json_string(scope)) != 0)
        goto out;
    text = json_dumps(claims, JSON_COMPACT);
    if (text == NULL)
        goto out;
    rc = wdn_jws_sign(iss->ks->keys[wdn__issuer_keyset_signing(iss->ks, now)],
                      wdn_str_from_cstr(text), iss->typ, out);
out:
    free(text);
    json_decref(claims);
    return rc;
}

static int token(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                 struct wdn_issuer_response *resp)
{
    struct wdn_form form = {0};
    json_t *json = NULL;
    struct params p = {0};
    char *bid = NULL, *bsecret = NULL;
    const char *id, *secret, *aud, *why = NULL;
    const struct client *c;
    struct wdn_buf scope, tok;
    json_t *ok;
    int rc;

    wdn_buf_init(&scope, 64 * 1024);
    wdn_buf_init(&tok, WDN_JWT_MAX_TOKEN_BYTES);
    if (!wdn_str_eq_cstr(req->method, "POST")) {
        resp->allow = "POST";
        rc = token_error(resp, 405, "invalid_request", "the token endpoint accepts POST only");
        goto out;
    }
    if (req->body_too_large) {
        rc = token_error(resp, 413, "invalid_request", "the request body is too large");
        goto out;
    }
    if (media_type_is(req->content_type, "application/x-www-form-urlencoded")) {
        rc = wdn_form_decode(req->body, &form);
        if (rc != 0) {
            rc = token_error(resp, 400, "invalid_request",
                             rc == WDN_ENOMEM ? "out of memory"
                                              : "the form body is malformed or repeats a "
                                                "parameter");
            goto out;
        }
        params_from_form(&p, &form);
    } else if (media_type_is(req->content_type, "application/json")) {
        json_error_t jerr;
        json = json_loadb(req->body.p, req->body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(json) || params_from_json(&p, json) != 0) {
            rc = token_error(resp, 400, "invalid_request",
                             "the JSON body must be an object of string parameters without "
                             "repeated names");
            goto out;
        }
    } else {
        rc = token_error(resp, 400, "invalid_request",
                         "Content-Type must be application/x-www-form-urlencoded or "
                         "application/json");
        goto out;
    }
    if (req->repeated_auth_header) {
        rc = token_error(resp, 400, "invalid_request", "Authorization is repeated");
        goto out;
    }
    if (req->has_authorization) {
        if (basic_credentials(req->authorization, &bid, &bsecret) != 0) {
            rc = token_error(resp, 401, "invalid_client",
                             "the Authorization header is not usable HTTP Basic credentials");
            goto out;
        }
        if (p.client_secret != NULL || (p.client_id != NULL && strcmp(p.client_id, bid) != 0)) {
            rc = token_error(resp, 400, "invalid_request",
                             "use one client authentication method: HTTP Basic or "
                             "client_secret in the body, not both");
            goto out;
        }
        id = bid;
        secret = bsecret;
    } else {
        id = p.client_id;
        secret = p.client_secret;
    }
    if (p.grant_type == NULL) {
        rc = token_error(resp, 400, "invalid_request", "grant_type is required");
        goto out;
    }
    if (strcmp(p.grant_type, "client_credentials") != 0) {
        rc = token_error(resp, 400, "unsupported_grant_type",
                         "only the client_credentials grant is supported");
        goto out;
    }
    if (id == NULL || secret == NULL) {
        rc = token_error(resp, 401, "invalid_client",
                         "client authentication is required (client_secret_basic or "
                         "client_secret_post)");
        goto out;
    }
    c = authenticate(iss, id, secret);
    if (c == NULL) {
        rc = token_error(resp, 401, "invalid_client", "client authentication failed");
        goto out;
    }
    resp->client_id = c->id;
    rc = grant_scope(c, p.scope, &scope, &why);
    if (rc == WDN_EDENIED) {
        rc = token_error(resp, 400, "invalid_scope", why);
        goto out;
    }
    if (rc != 0 || wdn_buf_cstr(&scope) == NULL)
        goto out;
    if (p.resource != NULL && !absolute_uri(p.resource)) {
        rc = token_error(resp, 400, "invalid_target",
                         "resource must be an absolute URI without a fragment (RFC 8707)");
        goto out;
    }
    if (p.resource != NULL && p.audience != NULL && strcmp(p.resource, p.audience) != 0) {
        rc = token_error(resp, 400, "invalid_target", "audience and resource name different "
                                                      "targets");
        goto out;
    }
    aud = p.audience ? p.audience : p.resource ? p.resource : c->auds[0];
    if (!has_str(c->auds, c->naud, wdn_str_from_cstr(aud))) {
        rc = token_error(resp, 400, "invalid_target",
                         "the requested audience is not allowed for this client");
        goto out;
    }
    pthread_mutex_lock(&iss->mu);
    refresh_keys(iss);
    rc = mint(iss, c, aud, scope.data, now, &tok);
    pthread_mutex_unlock(&iss->mu);
    if (rc != 0 || wdn_buf_cstr(&tok) == NULL)
        goto out;
    ok = json_pack("{sssssI}", "access_token", tok.data, "token_type", "Bearer",
                           "expires_in", (json_int_t)iss->lifetime_s);
    if (ok != NULL && scope.len > 0 && json_object_set_new(ok, "scope", json_string(scope.data)))
        ok = (json_decref(ok), NULL);
    resp->status = 200;
    resp->pragma_no_cache = true;
    rc = set_json(resp, ok);
out:
    if (bsecret)
        OPENSSL_cleanse(bsecret, strlen(bsecret));
    free(bid);
    free(bsecret);
    for (size_t i = 0; i < form.n; i++)
        if (form.fields[i].value)
            OPENSSL_cleanse(form.fields[i].value, strlen(form.fields[i].value));
    wdn_form_reset(&form);
    json_decref(json);
    if (tok.data)
        OPENSSL_cleanse(tok.data, tok.len);
    wdn_buf_reset(&tok);
    wdn_buf_reset(&scope);
    return rc;
}

/* The published keys: every key not retired by now, so a key is out before it signs and stays
 * out for its overlap after it stopped. Called locked. */
static size_t published(const struct wdn_issuer *iss, int64_t now,
                        const struct wdn_jose_key **out)
{
    size_t n = 0;

    for (size_t i = 0; i < iss->ks->n; i++)
        if (iss->ks->retires[i] == 0 || iss->ks->retires[i] > now)
            out[n++] = iss->ks->keys[i];
    return n;
}

static int jwks(struct wdn_issuer *iss, int64_t now, struct wdn_issuer_response *resp)
{
    const struct wdn_jose_key *keys[WDN_ISSUER_MAX_KEYS];
    char *doc;
    int rc;

    pthread_mutex_lock(&iss->mu);
    refresh_keys(iss);
    doc = wdn_jose_jwks_export(keys, published(iss, now, keys));
    pthread_mutex_unlock(&iss->mu);
    rc = doc ? wdn_buf_append_cstr(&resp->body, doc) : WDN_ENOMEM;
    free(doc);
    resp->status = 200;
    /* Short, so a rotation reaches validators that honour max-age quickly; validators also
     * refetch on an unknown kid. */
    resp->cache_control = "public, max-age=60";
    return rc;
}

static json_t *strv_json(char **v, size_t n, json_t *arr)
{
    for (size_t i = 0; arr && i < n; i++) {
        size_t j, dup = 0;
        json_t *e;
        json_array_foreach(arr, j, e) {
            dup |= strcmp(json_string_value(e), v[i]) == 0;
        }
        if (!dup)
            json_array_append_new(arr, json_string(v[i]));
    }
    return arr;
}

static int metadata(struct wdn_issuer *iss, int64_t now, struct wdn_issuer_response *resp)
{
    const struct wdn_jose_key *keys[WDN_ISSUER_MAX_KEYS];
    char token_ep[2048], jwks_uri[2048];
    json_t *scopes = json_array(), *algs = json_array(), *doc = NULL;
    size_t n;
    int rc = WDN_ELIMIT;

    if (wdn_fmt(token_ep, sizeof(token_ep), "%s" WDN_ISSUER_TOKEN_PATH, iss->base) != 0 ||
        wdn_fmt(jwks_uri, sizeof(jwks_uri), "%s" WDN_ISSUER_JWKS_PATH, iss->base) != 0)
        goto out;
    for (size_t i = 0; i < iss->nclients; i++)
        strv_json(iss->clients[i].scopes, iss->clients[i].nscopes, scopes);
    pthread_mutex_lock(&iss->mu);
    refresh_keys(iss);
    n = published(iss, now, keys);
    for (size_t i = 0; algs && i < n; i++) {
        char *name = (char *)wdn_jose_alg_name(wdn_jose_key_alg(keys[i]));
        strv_json(&name, 1, algs);
    }
    pthread_mutex_unlock(&iss->mu);
    rc = WDN_ENOMEM;
    if (scopes == NULL || algs == NULL)
        goto out;
    /* response_types_supported and subject_types_supported are required members of both
     * documents; there is no authorization endpoint, so they are only there for parsers. */
    doc = json_pack("{sssssss[s]s[s]s[ss]sOsOsOs[s]}", "issuer", iss->issuer, "token_endpoint",
                    token_ep, "jwks_uri", jwks_uri, "grant_types_supported",
                    "client_credentials", "response_types_supported", "token",
                    "token_endpoint_auth_methods_supported", "client_secret_basic",
                    "client_secret_post", "scopes_supported", scopes,
                    "id_token_signing_alg_values_supported", algs,
                    "access_token_signing_alg_values_supported", algs,
                    "subject_types_supported", "public");
    resp->status = 200;
    resp->cache_control = "public, max-age=300";
    rc = set_json(resp, doc);
out:
    json_decref(scopes);
    json_decref(algs);
    return rc;
}

int wdn_issuer_handle(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                      struct wdn_issuer_response *resp)
{
    int get = wdn_str_eq_cstr(req->method, "GET");

    resp_init(resp);
    if (wdn_str_eq_cstr(req->path, WDN_ISSUER_TOKEN_PATH))
        return token(iss, req, now, resp);
    if (wdn_str_eq_cstr(req->path, WDN_ISSUER_JWKS_PATH) ||
        wdn_str_eq_cstr(req->path, "/.well-known/openid-configuration") ||
        wdn_str_eq_cstr(req->path, "/.well-known/oauth-authorization-server")) {
        if (!get) {
            resp->status = 405;
            resp->allow = "GET";
            resp->error = "method_not_allowed";
            return set_json(resp, json_pack("{ss}", "error", "method_not_allowed"));
        }
        if (wdn_str_eq_cstr(req->path, WDN_ISSUER_JWKS_PATH))
            return jwks(iss, now, resp);
        return metadata(iss, now, resp);
    }
    return WDN_ENOTFOUND;
}
