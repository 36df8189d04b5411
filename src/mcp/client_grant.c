/* The tokens of the client's MCP authorization (client_auth.c decides when): registration
 * (pre-registered credentials bound to one issuer, a Client ID Metadata Document, dynamic
 * registration kept per issuer and redirect URI), the grants (authorization code + PKCE through
 * the loopback listener, client credentials, RFC 7523 assertions and the enterprise-managed
 * ID-JAG exchange), refresh, and the tokens in memory and in the 0600 cache. */
#include "warden/mcp_auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/error.h"
#include "base/limits.h"
#include "mcp/client_auth_int.h"
#include "oauth2/authcode.h"
#include "oauth2/discovery.h"
#include "oauth2/loopback.h"
#include "oauth2/metadata.h"
#include "oauth2/register.h"
#include "oauth2/store.h"
#include "oauth2/token.h"

#define JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"

/* ---------------------------------------------------------------------------------------- */
/* Tokens in memory and in the cache                                                          */

void wdn__mcp_oauth_drop_tokens(struct wdn_mcp_oauth *o)
{
    wdn__mcp_oauth_free_secret(o->token);
    wdn__mcp_oauth_free_secret(o->refresh);
    free(o->token_type);
    o->token = o->refresh = o->token_type = NULL;
    o->expires_at = o->refresh_at = 0;
    o->dpop = false;
}

/* Saves the tokens for the resource (DPoP-bound ones stay in memory: their key does). */
static void save_tokens(struct wdn_mcp_oauth *o)
{
    json_t *obj;

    if (o->cache_dir == NULL || o->token == NULL || o->dpop)
        return;
    obj = json_pack("{s:s, s:s?, s:s, s:s, s:s?, s:s?, s:I}", "issuer", o->issuer, "resource",
                    o->resource, "access_token", o->token, "token_type", o->token_type,
                    "refresh_token", o->refresh, "scope", o->requested_scope, "expires_at",
                    (json_int_t)o->expires_at);
    if (obj != NULL)
        (void)wdn_oauth2_store_put(o->cache_dir, "token", o->server_url, obj);
    json_decref(obj);
}

void wdn__mcp_oauth_load_tokens(struct wdn_mcp_oauth *o)
{
    json_t *obj = NULL;
    const char *iss, *tok, *type;

    o->loaded = true;
    if (wdn_oauth2_store_get(o->cache_dir, "token", o->server_url, &obj) != 0 || obj == NULL)
        return;
    iss = json_string_value(json_object_get(obj, "issuer"));
    tok = json_string_value(json_object_get(obj, "access_token"));
    type = json_string_value(json_object_get(obj, "token_type"));
    /* Pre-registered credentials bound elsewhere: the cached tokens are not ours to use. */
    if (iss != NULL && tok != NULL && type != NULL &&
        (o->client_issuer == NULL || strcmp(o->client_issuer, iss) == 0)) {
        wdn__mcp_oauth_set(&o->issuer, iss);
        wdn__mcp_oauth_set(&o->resource, json_string_value(json_object_get(obj, "resource")));
        o->token = strdup(tok);
        o->token_type = strdup(type);
        o->refresh = wdn__mcp_oauth_dup(json_string_value(json_object_get(obj, "refresh_token")));
        wdn__mcp_oauth_set(&o->requested_scope, json_string_value(json_object_get(obj, "scope")));
        o->expires_at = (int64_t)json_integer_value(json_object_get(obj, "expires_at"));
        o->refresh_at = o->expires_at > 0 ? o->expires_at - 30 : 0;
    }
    json_decref(obj);
}

/* Takes the tokens of a token response (t is emptied). */
static void take_tokens(struct wdn_mcp_oauth *o, struct wdn_oauth2_tokens *t, const char *issuer)
{
    char *keep_refresh = o->refresh;

    o->refresh = NULL;
    wdn__mcp_oauth_drop_tokens(o);
    o->token = t->access_token;
    o->token_type = t->token_type;
    /* A refresh answer without a new refresh token keeps the old one (RFC 6749 6). */
    o->refresh = t->refresh_token != NULL ? t->refresh_token : keep_refresh;
    if (t->refresh_token != NULL)
        wdn__mcp_oauth_free_secret(keep_refresh);
    t->access_token = t->token_type = t->refresh_token = NULL;
    o->expires_at = t->expires_in >= 0 ? (int64_t)time(NULL) + t->expires_in : 0;
    /* A tenth of the lifetime, at most 30 s, before expiry: never sent stale, never refreshed
     * on every request either. */
    o->refresh_at = t->expires_in >= 0
                        ? o->expires_at - (t->expires_in / 10 < 30 ? t->expires_in / 10 : 30)
                        : 0;
    o->dpop = strcasecmp(o->token_type, "DPoP") == 0;
    wdn__mcp_oauth_set(&o->issuer, issuer);
    wdn_oauth2_tokens_reset(t);
    save_tokens(o);
}

/* ---------------------------------------------------------------------------------------- */
/* Grants                                                                                     */

/* The client authentication for the pre-registered credentials at the server, or -1. */
static int configured_auth(struct wdn_mcp_oauth *o)
{
    return wdn_oauth2_pick_auth(o->as.auth_methods, o->client_secret != NULL, o->client_key != NULL,
                                o->auth_method);
}

/* Pre-registered credentials go only to the issuer they belong to (bound at first use). */
static int check_binding(struct wdn_mcp_oauth *o, const char *issuer, char *msg, size_t cap)
{
    const char *bound = o->client_issuer != NULL ? o->client_issuer : o->bound_issuer;

    if (bound != NULL && strcmp(bound, issuer) != 0) {
        wdn__mcp_oauth_say(
            msg, cap,
            "the server names authorization server '%.150s', but the client credentials belong "
            "to '%.150s': not sending them there",
            issuer, bound);
        return WDN_EDENIED;
    }
    if (bound == NULL)
        wdn__mcp_oauth_set(&o->bound_issuer, issuer);
    return 0;
}

static int token_call(struct wdn_mcp_oauth *o, struct wdn_oauth2_token_req *r,
                      struct wdn_oauth2_tokens *t, char *msg, size_t cap)
{
    struct wdn_diag d;
    int rc;

    memset(&d, 0, sizeof(d));
    r->net = &o->net;
    r->dpop_key = o->dpop_key;
    r->dpop_nonce = o->as_nonce;
    if (r->token_endpoint == NULL)
        r->token_endpoint = o->as.token_endpoint;
    if (r->assertion_audience == NULL)
        r->assertion_audience = o->as.issuer;
    rc = wdn_oauth2_token_request(r, t, &d);
    if (rc != 0)
        wdn__mcp_oauth_say(msg, cap, "%s", d.msg);
    return rc;
}

void wdn__mcp_oauth_forget_registration(struct wdn_mcp_oauth *o)
{
    wdn_oauth2_registration_reset(&o->reg);
    free(o->reg_issuer);
    free(o->reg_redirect);
    o->reg_issuer = o->reg_redirect = NULL;
}

/* The dynamic registration kept for the current issuer (memory, else cache_dir), if any. */
static void load_registration(struct wdn_mcp_oauth *o)
{
    json_t *cached = NULL;
    const char *id;

    if (o->reg.client_id != NULL && o->reg_issuer != NULL &&
        strcmp(o->reg_issuer, o->as.issuer) == 0)
        return;
    wdn__mcp_oauth_forget_registration(o);
    if (wdn_oauth2_store_get(o->cache_dir, "client", o->as.issuer, &cached) != 0 || cached == NULL)
        return;
    id = json_string_value(json_object_get(cached, "client_id"));
    if (id != NULL) {
        o->reg.client_id = strdup(id);
        o->reg.client_secret =
            wdn__mcp_oauth_dup(json_string_value(json_object_get(cached, "client_secret")));
        o->reg.auth = (enum wdn_oauth2_auth)json_integer_value(json_object_get(cached, "auth"));
        o->reg_issuer = strdup(o->as.issuer);
        o->reg_redirect =
            wdn__mcp_oauth_dup(json_string_value(json_object_get(cached, "redirect_uri")));
    }
    json_decref(cached);
}

/* Registration for the authorization code grant: client_id and how it authenticates. */
static int registration(struct wdn_mcp_oauth *o, const char *redirect_uri, const char *scope,
                        const char **client_id, const char **secret, int *auth, char *msg,
                        size_t cap)
{
    struct wdn_oauth2_reg_req rr;
    struct wdn_diag d;
    json_t *cached = NULL;
    int rc;

    if (o->client_id != NULL) { /* pre-registered */
        if ((rc = check_binding(o, o->as.issuer, msg, cap)) != 0)
            return rc;
        *client_id = o->client_id;
        *secret = o->client_secret;
        *auth = configured_auth(o);
        if (*auth < 0) {
            wdn__mcp_oauth_say(msg, cap,
                               "the authorization server supports no client authentication this "
                               "client can do with its credentials");
            return WDN_EUNSUPPORTED;
        }
        return 0;
    }
    if (o->as.cimd && o->client_metadata_url != NULL) { /* the URL is the client_id */
        *client_id = o->client_metadata_url;
        *secret = NULL;
        *auth = WDN_OAUTH2_AUTH_NONE;
        return 0;
    }
    /* Dynamic registration, kept per issuer (never one issuer's client at another) and for one
     * redirect URI (servers compare it exactly; the listener tries the registered port first). */
    load_registration(o);
    if (o->reg.client_id != NULL &&
        (o->reg_redirect == NULL || strcmp(o->reg_redirect, redirect_uri) != 0))
        wdn__mcp_oauth_forget_registration(o);
    if (o->reg.client_id == NULL) {
        if (o->no_dcr || o->as.registration_endpoint == NULL) {
            wdn__mcp_oauth_say(
                msg, cap,
                "cannot register at %.200s: it offers no dynamic registration%s; give a "
                "pre-registered client id",
                o->as.issuer,
                o->as.cimd ? " (it takes Client ID Metadata Documents: give one)" : "");
            return WDN_EUNSUPPORTED;
        }
        memset(&rr, 0, sizeof(rr));
        memset(&d, 0, sizeof(d));
        rr.net = &o->net;
        rr.as = &o->as;
        rr.client_name = o->client_name;
        rr.redirect_uri = redirect_uri;
        rr.grant_types = WDN_OAUTH2_GT_AUTHORIZATION_CODE | WDN_OAUTH2_GT_REFRESH_TOKEN;
        rr.scope = scope;
        if ((rc = wdn_oauth2_register(&rr, &o->reg, &d)) != 0) {
            wdn__mcp_oauth_say(msg, cap, "%s", d.msg);
            return rc;
        }
        o->reg_issuer = strdup(o->as.issuer);
        o->reg_redirect = strdup(redirect_uri);
        cached =
            json_pack("{s:s, s:s?, s:i, s:s}", "client_id", o->reg.client_id, "client_secret",
                      o->reg.client_secret, "auth", (int)o->reg.auth, "redirect_uri", redirect_uri);
        if (cached != NULL)
            (void)wdn_oauth2_store_put(o->cache_dir, "client", o->as.issuer, cached);
        json_decref(cached);
    }
    *client_id = o->reg.client_id;
    *secret = o->reg.client_secret;
    *auth = o->reg.auth;
    return 0;
}

static int grant_authorization_code(struct wdn_mcp_oauth *o, const char *scope, char *msg,
                                    size_t cap)
{
    struct wdn_oauth2_loopback *l = NULL;
    struct wdn_oauth2_authcode ac;
    struct wdn_oauth2_tokens t;
    struct wdn_diag d;
    const char *client_id = NULL, *secret = NULL;
    const char *params[12];
    int auth = 0, rc, np = 0;

    memset(&d, 0, sizeof(d));
    /* The listener first: registration needs the exact redirect URI, port included. A client
     * registered dynamically before listens where it was registered when that port is free. */
    rc = -1;
    if (o->client_id == NULL && !(o->as.cimd && o->client_metadata_url != NULL) &&
        o->redirect_default) {
        load_registration(o);
        if (o->reg_redirect != NULL)
            rc = wdn_oauth2_authcode_listen(o->reg_redirect, &l, &ac, &d);
    }
    if (rc != 0)
        rc = wdn_oauth2_authcode_listen(o->redirect_uri, &l, &ac, &d);
    if (rc != 0) {
        wdn__mcp_oauth_say(msg, cap, "%s", d.msg);
        return rc;
    }
    rc = registration(o, ac.redirect_uri, scope, &client_id, &secret, &auth, msg, cap);
    if (rc != 0) {
        wdn_oauth2_loopback_free(l);
        return rc;
    }
    {
        struct wdn_oauth2_authcode_req ar = {
            .net = &o->net,
            .as = &o->as,
            .client_id = client_id,
            .scope = scope,
            .resource = o->resource,
            .open_url = o->browser,
            .open_ud = o->browser_ud,
            .timeout_ms = o->login_timeout_ms,
        };
        rc = wdn_oauth2_authcode_finish(&ar, l, &ac, &d);
    }
    if (rc != 0) {
        wdn__mcp_oauth_say(msg, cap, "%s", d.msg);
        wdn_oauth2_authcode_reset(&ac);
        return rc;
    }
    params[np++] = "grant_type";
    params[np++] = "authorization_code";
    params[np++] = "code";
    params[np++] = ac.code;
    params[np++] = "redirect_uri";
    params[np++] = ac.redirect_uri;
    params[np++] = "code_verifier";
    params[np++] = ac.verifier;
    if (o->resource != NULL) {
        params[np++] = "resource";
        params[np++] = o->resource;
    }
    params[np] = NULL;
    {
        struct wdn_oauth2_token_req r = {.auth = (enum wdn_oauth2_auth)auth,
                                         .client_id = client_id,
                                         .client_secret = secret,
                                         .client_key = o->client_id != NULL ? o->client_key : NULL,
                                         .params = params};
        rc = token_call(o, &r, &t, msg, cap);
    }
    wdn_oauth2_authcode_reset(&ac);
    if (rc == 0)
        take_tokens(o, &t, o->as.issuer);
    return rc;
}

static int grant_client_credentials(struct wdn_mcp_oauth *o, const char *scope, char *msg,
                                    size_t cap)
{
    struct wdn_oauth2_tokens t;
    const char *params[10];
    int np = 0, auth, rc;

    if (o->client_id == NULL || (o->client_secret == NULL && o->client_key == NULL)) {
        wdn__mcp_oauth_say(msg, cap, "client credentials need a client id and a secret or key");
        return WDN_EINVAL;
    }
    if (o->token_endpoint == NULL && (rc = check_binding(o, o->as.issuer, msg, cap)) != 0)
        return rc;
    if (o->token_endpoint != NULL) {
        /* No metadata to choose from: the configured method, client_secret_basic by default. */
        const char *m = o->auth_method != NULL ? o->auth_method : "client_secret_basic";
        auth = strcmp(m, "json") == 0                 ? WDN_OAUTH2_AUTH_JSON
               : strcmp(m, "client_secret_post") == 0 ? WDN_OAUTH2_AUTH_POST
               : strcmp(m, "private_key_jwt") == 0    ? WDN_OAUTH2_AUTH_PRIVATE_KEY_JWT
                                                      : WDN_OAUTH2_AUTH_BASIC;
    } else {
        auth = configured_auth(o);
    }
    if (auth < 0) {
        wdn__mcp_oauth_say(msg, cap,
                           "the authorization server supports no client authentication this client "
                           "can do with its credentials");
        return WDN_EUNSUPPORTED;
    }
    params[np++] = "grant_type";
    params[np++] = "client_credentials";
    if (o->audience != NULL) {
        params[np++] = "audience";
        params[np++] = o->audience;
    }
    if (o->resource != NULL) {
        params[np++] = "resource";
        params[np++] = o->resource;
    }
    if (scope != NULL) {
        params[np++] = "scope";
        params[np++] = scope;
    }
    params[np] = NULL;
    {
        struct wdn_oauth2_token_req r = {.token_endpoint = o->token_endpoint,
                                         .auth = (enum wdn_oauth2_auth)auth,
                                         .client_id = o->client_id,
                                         .client_secret = o->client_secret,
                                         .client_key = o->client_key,
                                         .params = params};
        rc = token_call(o, &r, &t, msg, cap);
    }
    if (rc == 0)
        take_tokens(o, &t, o->token_endpoint != NULL ? o->token_endpoint : o->as.issuer);
    return rc;
}

/* RFC 7523's assertion grant; with enterprise, after an RFC 8693 exchange at the IdP for an
 * ID-JAG. A refused assertion is final: no retry, no other grant. */
static int grant_assertion(struct wdn_mcp_oauth *o, const char *scope, char *msg, size_t cap)
{
    struct wdn_oauth2_tokens jag, t;
    const char *params[10], *assertion = o->assertion;
    int np = 0, rc, auth;

    memset(&jag, 0, sizeof(jag));
    if (o->grant == WDN_MCP_OAUTH_ENTERPRISE) {
        struct wdn_oauth2_net idp = o->net;
        const char *xp[16];
        int n = 0;
        if (o->idp_token_endpoint == NULL || o->idp_id_token == NULL) {
            wdn__mcp_oauth_say(
                msg, cap,
                "enterprise-managed authorization needs the IdP's token endpoint and "
                "an ID token");
            return WDN_EINVAL;
        }
        idp.user_chosen = true; /* configured by the user, not named by a server */
        xp[n++] = "grant_type";
        xp[n++] = "urn:ietf:params:oauth:grant-type:token-exchange";
        xp[n++] = "requested_token_type";
        xp[n++] = "urn:ietf:params:oauth:token-type:id-jag";
        xp[n++] = "audience";
        xp[n++] = o->as.issuer;
        if (o->resource != NULL) {
            xp[n++] = "resource";
            xp[n++] = o->resource;
        }
        xp[n++] = "subject_token";
        xp[n++] = o->idp_id_token;
        xp[n++] = "subject_token_type";
        xp[n++] = "urn:ietf:params:oauth:token-type:id_token";
        if (scope != NULL) {
            xp[n++] = "scope";
            xp[n++] = scope;
        }
        xp[n] = NULL;
        {
            struct wdn_oauth2_token_req r = {.net = &idp,
                                             .token_endpoint = o->idp_token_endpoint,
                                             .auth = WDN_OAUTH2_AUTH_NONE,
                                             .client_id = o->idp_client_id,
                                             .params = xp};
            struct wdn_diag d;
            memset(&d, 0, sizeof(d));
            rc = wdn_oauth2_token_request(&r, &jag, &d);
            if (rc != 0) {
                wdn__mcp_oauth_say(msg, cap, "token exchange at the IdP: %s", d.msg);
                return rc;
            }
        }
        assertion = jag.access_token;
    }
    if (assertion == NULL) {
        wdn__mcp_oauth_say(msg, cap, "the JWT bearer grant needs an assertion");
        return WDN_EINVAL;
    }
    if (o->client_id != NULL && (rc = check_binding(o, o->as.issuer, msg, cap)) != 0) {
        wdn_oauth2_tokens_reset(&jag);
        return rc;
    }
    auth = o->client_secret != NULL || o->client_key != NULL ? configured_auth(o)
                                                             : WDN_OAUTH2_AUTH_NONE;
    if (auth < 0)
        auth = WDN_OAUTH2_AUTH_NONE;
    params[np++] = "grant_type";
    params[np++] = JWT_BEARER;
    params[np++] = "assertion";
    params[np++] = assertion;
    if (scope != NULL) {
        params[np++] = "scope";
        params[np++] = scope;
    }
    if (o->resource != NULL && o->grant != WDN_MCP_OAUTH_ENTERPRISE) {
        params[np++] = "resource";
        params[np++] = o->resource;
    }
    params[np] = NULL;
    {
        struct wdn_oauth2_token_req r = {.auth = (enum wdn_oauth2_auth)auth,
                                         .client_id = o->client_id,
                                         .client_secret = o->client_secret,
                                         .client_key = o->client_key,
                                         .params = params};
        rc = token_call(o, &r, &t, msg, cap);
    }
    wdn_oauth2_tokens_reset(&jag);
    if (rc == 0)
        take_tokens(o, &t, o->as.issuer);
    return rc;
}

int wdn__mcp_oauth_refresh(struct wdn_mcp_oauth *o, char *msg, size_t cap)
{
    struct wdn_oauth2_tokens t;
    const char *params[8], *client_id = o->client_id, *secret = o->client_secret;
    int np = 0, rc, auth = WDN_OAUTH2_AUTH_NONE;
    struct wdn_diag d;

    if (o->refresh == NULL)
        return WDN_ENOTFOUND;
    if (o->as.token_endpoint == NULL || o->as.issuer == NULL ||
        strcmp(o->as.issuer, o->issuer) != 0) {
        wdn_oauth2_asm_reset(&o->as);
        memset(&d, 0, sizeof(d));
        if (wdn_oauth2_fetch_asm(&o->net, o->issuer, &o->as, &d) != 0)
            return WDN_ENOTFOUND;
    }
    if (o->client_id != NULL) {
        auth = configured_auth(o);
    } else if (o->reg.client_id != NULL && o->reg_issuer != NULL &&
               strcmp(o->reg_issuer, o->issuer) == 0) {
        client_id = o->reg.client_id;
        secret = o->reg.client_secret;
        auth = o->reg.auth;
    } else if (o->as.cimd && o->client_metadata_url != NULL) {
        client_id = o->client_metadata_url;
    } else {
        return WDN_ENOTFOUND; /* no client to refresh as: sign in again */
    }
    if (auth < 0)
        return WDN_ENOTFOUND;
    params[np++] = "grant_type";
    params[np++] = "refresh_token";
    params[np++] = "refresh_token";
    params[np++] = o->refresh;
    if (o->resource != NULL) {
        params[np++] = "resource";
        params[np++] = o->resource;
    }
    params[np] = NULL;
    {
        struct wdn_oauth2_token_req r = {.auth = (enum wdn_oauth2_auth)auth,
                                         .client_id = client_id,
                                         .client_secret = secret,
                                         .client_key = o->client_key,
                                         .params = params};
        rc = token_call(o, &r, &t, msg, cap);
    }
    if (rc == 0) {
        char *iss = strdup(o->issuer);
        take_tokens(o, &t, iss);
        free(iss);
    } else {
        wdn__mcp_oauth_drop_tokens(o);
        if (o->cache_dir != NULL)
            wdn_oauth2_store_drop(o->cache_dir, "token", o->server_url);
    }
    return rc;
}

int wdn__mcp_oauth_grant(struct wdn_mcp_oauth *o, const char *scope, char *msg, size_t cap)
{
    switch (o->grant) {
    case WDN_MCP_OAUTH_CLIENT_CREDENTIALS:
        return grant_client_credentials(o, scope, msg, cap);
    case WDN_MCP_OAUTH_JWT_BEARER:
    case WDN_MCP_OAUTH_ENTERPRISE:
        return grant_assertion(o, scope, msg, cap);
    default:
        return grant_authorization_code(o, scope, msg, cap);
    }
}
