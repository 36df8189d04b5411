/* MCP authorization for the client (include/warden/mcp_auth.h): the OAuth 2.1 provider behind
 * wdn_mcp_client_config.auth. It follows the MCP authorization spec's client side: discovery from
 * the 401 (RFC 9728, RFC 8414 / OIDC, 2025-03-26 fallbacks), registration (pre-registered, Client
 * ID Metadata Document, dynamic), the grant, refresh, step-up on 403 insufficient_scope, DPoP when
 * the resource asks for it. The building blocks are in src/oauth2; this file decides.
 *
 * What keeps credentials where they belong: the resource in protected resource metadata must be
 * this server (or a parent of it); an authorization server's metadata must name the issuer it was
 * fetched for; pre-registered credentials are bound to one issuer and never presented to another;
 * dynamically registered clients are kept per issuer; tokens are kept per issuer and resource and
 * only ever sent to this server; every URL a server chose is fetched under struct wdn_oauth2_net's
 * rules, never following redirects. */
#include "warden/mcp_auth.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "jose/sign.h"
#include "oauth2/assertion.h"
#include "oauth2/authcode.h"
#include "oauth2/challenge.h"
#include "oauth2/discovery.h"
#include "oauth2/loopback.h"
#include "oauth2/register.h"
#include "oauth2/store.h"
#include "oauth2/token.h"

#define JWT_BEARER "urn:ietf:params:oauth:grant-type:jwt-bearer"

struct wdn_mcp_oauth {
    /* Settings (copies). */
    char *server_url, *client_id, *client_secret, *client_issuer, *client_metadata_url;
    char *client_name, *redirect_uri, *scope, *token_endpoint, *audience, *auth_method;
    char *assertion, *idp_token_endpoint, *idp_id_token, *idp_client_id, *cache_dir, *ca_file;
    enum wdn_mcp_oauth_grant grant;
    bool no_dcr, no_offline, no_dpop;
    long login_timeout_ms, timeout_ms;
    wdn_mcp_oauth_browser_fn browser;
    void *browser_ud;
    struct wdn_jose_key *client_key;
    struct wdn_oauth2_net net;
    struct wdn_mcp_auth provider;
    pthread_mutex_t lock;

    /* State. */
    bool loaded;           /* the cache was read */
    bool redirect_default; /* no redirect URI configured: any loopback port will do */
    char *issuer;          /* of the tokens and registration in use */
    char *bound_issuer;    /* where pre-registered credentials may go */
    char *resource;        /* RFC 8707 resource the tokens are for (NULL: none sent) */
    char *token, *token_type, *refresh, *requested_scope;
    int64_t expires_at;                 /* unix seconds, 0: unknown */
    int64_t refresh_at;                 /* refreshed before use from then on (0: never) */
    struct wdn_oauth2_asm as;           /* the issuer's metadata (token endpoint for refresh) */
    struct wdn_oauth2_registration reg; /* dynamic registration at issuer */
    char *reg_issuer;
    char *reg_redirect; /* the redirect URI it was registered with */
    struct wdn_jose_key *dpop_key;
    bool dpop; /* the token is DPoP-bound */
    char as_nonce[WDN_OAUTH2_NONCE_MAX], rs_nonce[WDN_OAUTH2_NONCE_MAX];
    int attempts; /* authorizations since a request was last accepted */
};

static char *dup_opt(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static void free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static void set_str(char **dst, const char *src)
{
    char *c = dup_opt(src);

    free(*dst);
    *dst = c;
}

static void say(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (msg == NULL || cap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------------- */
/* Tokens in memory and in the cache                                                          */

static void drop_tokens(struct wdn_mcp_oauth *o)
{
    free_secret(o->token);
    free_secret(o->refresh);
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

static void load_tokens(struct wdn_mcp_oauth *o)
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
        set_str(&o->issuer, iss);
        set_str(&o->resource, json_string_value(json_object_get(obj, "resource")));
        o->token = strdup(tok);
        o->token_type = strdup(type);
        o->refresh = dup_opt(json_string_value(json_object_get(obj, "refresh_token")));
        set_str(&o->requested_scope, json_string_value(json_object_get(obj, "scope")));
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
    drop_tokens(o);
    o->token = t->access_token;
    o->token_type = t->token_type;
    /* A refresh answer without a new refresh token keeps the old one (RFC 6749 6). */
    o->refresh = t->refresh_token != NULL ? t->refresh_token : keep_refresh;
    if (t->refresh_token != NULL)
        free_secret(keep_refresh);
    t->access_token = t->token_type = t->refresh_token = NULL;
    o->expires_at = t->expires_in >= 0 ? (int64_t)time(NULL) + t->expires_in : 0;
    /* A tenth of the lifetime, at most 30 s, before expiry: never sent stale, never refreshed
     * on every request either. */
    o->refresh_at = t->expires_in >= 0
                        ? o->expires_at - (t->expires_in / 10 < 30 ? t->expires_in / 10 : 30)
                        : 0;
    o->dpop = strcasecmp(o->token_type, "DPoP") == 0;
    set_str(&o->issuer, issuer);
    wdn_oauth2_tokens_reset(t);
    save_tokens(o);
}

/* ---------------------------------------------------------------------------------------- */
/* Scopes                                                                                     */

/* a + b as a set, in order, space-separated (malloc'd; NULL when both are empty). */
static char *scope_union(const char *a, const char *b)
{
    struct wdn_buf out;
    const char *lists[2] = {a, b};
    int i;

    wdn_buf_init(&out, WDN_OAUTH2_MAX_SCOPE);
    for (i = 0; i < 2; i++) {
        const char *p = lists[i];
        while (p != NULL && *p != '\0') {
            size_t len;
            char item[256];
            p += strspn(p, " ");
            len = strcspn(p, " ");
            if (len > 0 && len < sizeof(item)) {
                memcpy(item, p, len);
                item[len] = '\0';
                if (!wdn_oauth2_scope_has(out.data, item) &&
                    wdn_buf_printf(&out, "%s%s", out.len > 0 ? " " : "", item) != 0)
                    break;
            }
            p += len;
        }
    }
    if (out.len == 0) {
        wdn_buf_reset(&out);
        return NULL;
    }
    return out.data;
}

/* True when every scope of b is in a. */
static bool scope_covers(const char *a, const char *b)
{
    const char *p = b;

    while (p != NULL && *p != '\0') {
        char item[256];
        size_t len;
        p += strspn(p, " ");
        len = strcspn(p, " ");
        if (len > 0 && len < sizeof(item)) {
            memcpy(item, p, len);
            item[len] = '\0';
            if (!wdn_oauth2_scope_has(a, item))
                return false;
        }
        p += len;
    }
    return true;
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
        say(msg, cap,
            "the server names authorization server '%.150s', but the client credentials belong "
            "to '%.150s': not sending them there",
            issuer, bound);
        return WDN_EDENIED;
    }
    if (bound == NULL)
        set_str(&o->bound_issuer, issuer);
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
        say(msg, cap, "%s", d.msg);
    return rc;
}

static void forget_registration(struct wdn_mcp_oauth *o)
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
    forget_registration(o);
    if (wdn_oauth2_store_get(o->cache_dir, "client", o->as.issuer, &cached) != 0 || cached == NULL)
        return;
    id = json_string_value(json_object_get(cached, "client_id"));
    if (id != NULL) {
        o->reg.client_id = strdup(id);
        o->reg.client_secret = dup_opt(json_string_value(json_object_get(cached, "client_secret")));
        o->reg.auth = (enum wdn_oauth2_auth)json_integer_value(json_object_get(cached, "auth"));
        o->reg_issuer = strdup(o->as.issuer);
        o->reg_redirect = dup_opt(json_string_value(json_object_get(cached, "redirect_uri")));
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
            say(msg, cap,
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
        forget_registration(o);
    if (o->reg.client_id == NULL) {
        if (o->no_dcr || o->as.registration_endpoint == NULL) {
            say(msg, cap,
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
            say(msg, cap, "%s", d.msg);
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
        say(msg, cap, "%s", d.msg);
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
        say(msg, cap, "%s", d.msg);
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
        say(msg, cap, "client credentials need a client id and a secret or key");
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
        say(msg, cap,
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
            say(msg, cap,
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
                say(msg, cap, "token exchange at the IdP: %s", d.msg);
                return rc;
            }
        }
        assertion = jag.access_token;
    }
    if (assertion == NULL) {
        say(msg, cap, "the JWT bearer grant needs an assertion");
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

static int do_refresh(struct wdn_mcp_oauth *o, char *msg, size_t cap)
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
        drop_tokens(o);
        if (o->cache_dir != NULL)
            wdn_oauth2_store_drop(o->cache_dir, "token", o->server_url);
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Authorization after a refusal                                                              */

/* Finds the authorization server for this resource (every time: it may have moved). */
static int discover(struct wdn_mcp_oauth *o, const struct wdn_challenge *ch,
                    struct wdn_oauth2_prm *prm, bool *legacy, char *msg, size_t cap)
{
    struct wdn_diag d;
    int rc;

    memset(&d, 0, sizeof(d));
    *legacy = false;
    wdn_oauth2_asm_reset(&o->as);
    rc = wdn_oauth2_fetch_prm(&o->net, o->server_url, ch->resource_metadata, prm, NULL, &d);
    if (rc == WDN_ENOTFOUND && ch->resource_metadata[0] == '\0') {
        /* No protected resource metadata: a 2025-03-26 server is its own authorization server. */
        *legacy = true;
        rc = wdn_oauth2_legacy_asm(&o->net, o->server_url, &o->as, &d);
        if (rc != 0)
            say(msg, cap, "%s", d.msg);
        return rc;
    }
    if (rc != 0) {
        say(msg, cap, "%s", d.msg);
        return rc;
    }
    rc = wdn_oauth2_fetch_asm(&o->net, prm->authorization_servers[0], &o->as, &d);
    if (rc != 0)
        say(msg, cap, "%s", d.msg);
    return rc;
}

static int authorize(struct wdn_mcp_oauth *o, const struct wdn_challenge *ch, const char *scope_in,
                     char *msg, size_t cap)
{
    struct wdn_oauth2_prm prm;
    bool legacy = false;
    char *scope = NULL;
    int rc;

    memset(&prm, 0, sizeof(prm));
    if (o->token_endpoint == NULL) {
        rc = discover(o, ch, &prm, &legacy, msg, cap);
        if (rc != 0)
            goto out;
        /* Another authorization server than the one of our tokens: they are not valid there. */
        if (o->issuer != NULL && strcmp(o->issuer, o->as.issuer) != 0)
            drop_tokens(o);
        set_str(&o->resource, legacy ? NULL : prm.resource);
    } else {
        set_str(&o->resource, NULL);
    }
    /* Scope: what the caller insists on, else what the challenge asks, else what the resource
     * lists; with offline_access for a refresh token where the server offers it. */
    scope = dup_opt(scope_in);
    if (scope == NULL && o->scope != NULL)
        scope = strdup(o->scope);
    if (scope == NULL && prm.scopes_supported != NULL)
        scope = strdup(prm.scopes_supported);
    if (o->grant == WDN_MCP_OAUTH_AUTHORIZATION_CODE && !o->no_offline && o->as.offline_access &&
        !wdn_oauth2_scope_has(scope, "offline_access")) {
        char *s = scope_union(scope, "offline_access");
        free(scope);
        scope = s;
    }
    /* DPoP when the resource asked for it and the server can bind tokens to our key. */
    if (!o->no_dpop && o->as.dpop_es256 && (strcmp(ch->scheme, "DPoP") == 0 || prm.dpop_bound) &&
        o->dpop_key == NULL) {
        struct wdn_diag d;
        memset(&d, 0, sizeof(d));
        o->dpop_key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, NULL, &d);
        if (o->dpop_key == NULL) {
            say(msg, cap, "cannot make a DPoP key: %s", d.msg);
            rc = WDN_ECRYPTO;
            goto out;
        }
    }
    switch (o->grant) {
    case WDN_MCP_OAUTH_CLIENT_CREDENTIALS:
        rc = grant_client_credentials(o, scope, msg, cap);
        break;
    case WDN_MCP_OAUTH_JWT_BEARER:
    case WDN_MCP_OAUTH_ENTERPRISE:
        rc = grant_assertion(o, scope, msg, cap);
        break;
    default:
        rc = grant_authorization_code(o, scope, msg, cap);
        break;
    }
    if (rc == 0)
        set_str(&o->requested_scope, scope);
out:
    free(scope);
    wdn_oauth2_prm_reset(&prm);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* The provider                                                                               */

static bool expiring(const struct wdn_mcp_oauth *o)
{
    return o->refresh_at > 0 && (int64_t)time(NULL) >= o->refresh_at;
}

static int p_headers(void *ud, const char *method, const char *url,
                     int (*add)(void *ctx, const char *line), void *ctx, char *msg, size_t cap)
{
    struct wdn_mcp_oauth *o = ud;
    struct wdn_buf line;
    int rc = 0;

    /* Tokens are for this server only: a request anywhere else goes without them. */
    if (!wdn_oauth2_same_origin(url, o->server_url))
        return 0;
    pthread_mutex_lock(&o->lock);
    if (!o->loaded)
        load_tokens(o);
    if (o->token != NULL && expiring(o)) {
        if (do_refresh(o, NULL, 0) != 0)
            drop_tokens(o);
    }
    /* Without discovery (a configured token endpoint) the token comes before the first
     * request, as the tutorial's client always did. */
    if (o->token == NULL && o->token_endpoint != NULL) {
        struct wdn_challenge none;
        memset(&none, 0, sizeof(none));
        rc = authorize(o, &none, NULL, msg, cap);
        if (rc != 0)
            goto out;
    }
    if (o->token == NULL)
        goto out;
    wdn_buf_init(&line, WDN_JWT_MAX_TOKEN_BYTES + 8192);
    rc = wdn_buf_printf(&line, "Authorization: %s %s", o->dpop ? "DPoP" : "Bearer", o->token);
    if (rc == 0)
        rc = add(ctx, wdn_buf_cstr(&line));
    if (rc == 0 && o->dpop && o->dpop_key != NULL) {
        line.len = 0;
        rc = wdn_buf_append_cstr(&line, "DPoP: ");
        if (rc == 0)
            rc = wdn_oauth2_dpop_proof(o->dpop_key, method, url, o->token, o->rs_nonce, &line);
        if (rc == 0)
            rc = add(ctx, wdn_buf_cstr(&line));
    }
    if (line.data != NULL)
        OPENSSL_cleanse(line.data, line.cap);
    wdn_buf_reset(&line);
    if (rc != 0)
        say(msg, cap, "cannot add the credentials: %s", wdn_strerror(rc));
out:
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static int p_refused(void *ud, long status, const char *www_authenticate, const char *dpop_nonce,
                     char *msg, size_t cap)
{
    struct wdn_mcp_oauth *o = ud;
    struct wdn_challenge ch;
    char *scope = NULL;
    int rc;

    pthread_mutex_lock(&o->lock);
    if (wdn_challenge_read(wdn_str_from_cstr(www_authenticate), &ch) != 0)
        memset(&ch, 0, sizeof(ch));
    /* RFC 9449 9: the resource wants our proof to carry its nonce; same token, again. */
    if (status == 401 && strcmp(ch.error, "use_dpop_nonce") == 0 && dpop_nonce[0] != '\0' &&
        o->dpop && strcmp(o->rs_nonce, dpop_nonce) != 0) {
        snprintf(o->rs_nonce, sizeof(o->rs_nonce), "%s", dpop_nonce);
        rc = 0;
        goto out;
    }
    if (status == 403) {
        if (strcmp(ch.error, "insufficient_scope") != 0) {
            say(msg, cap, "the MCP server refused access (HTTP 403%s%s)", ch.error[0] ? ": " : "",
                ch.error);
            rc = WDN_EDENIED;
            goto out;
        }
        /* Step-up (SEP-835, SEP-2350): ask for what was granted plus what is missing. A server
         * that asks for scopes already asked for will not be satisfied by asking again. */
        if (o->token != NULL && ch.scope[0] != '\0' && o->requested_scope != NULL &&
            scope_covers(o->requested_scope, ch.scope)) {
            say(msg, cap,
                "the MCP server wants scope '%.200s', which was already asked for and not "
                "granted: giving up",
                ch.scope);
            rc = WDN_EDENIED;
            goto out;
        }
        scope = scope_union(o->requested_scope, ch.scope[0] ? ch.scope : NULL);
    } else {
        /* 401: an expired or revoked token is refreshed once before anything else. */
        if (o->token != NULL && o->refresh != NULL && o->attempts == 0 &&
            do_refresh(o, NULL, 0) == 0) {
            o->attempts++;
            rc = 0;
            goto out;
        }
        scope = scope_union(o->token != NULL ? o->requested_scope : NULL,
                            ch.scope[0] ? ch.scope : NULL);
    }
    if (o->attempts >= WDN_OAUTH2_AUTH_ATTEMPTS) {
        say(msg, cap,
            "the MCP server keeps refusing freshly obtained credentials (HTTP %ld): "
            "giving up",
            status);
        rc = status == 403 ? WDN_EDENIED : WDN_EAUTH;
        goto out;
    }
    o->attempts++;
    drop_tokens(o);
    rc = authorize(o, &ch, scope, msg, cap);
    if (rc != 0 && rc != WDN_EDENIED && rc != WDN_EAUTH)
        rc = status == 403 ? WDN_EDENIED : WDN_EAUTH;
out:
    free(scope);
    pthread_mutex_unlock(&o->lock);
    return rc;
}

static void p_nonce(void *ud, const char *dpop_nonce)
{
    struct wdn_mcp_oauth *o = ud;

    pthread_mutex_lock(&o->lock);
    snprintf(o->rs_nonce, sizeof(o->rs_nonce), "%s", dpop_nonce);
    pthread_mutex_unlock(&o->lock);
}

static void p_accepted(void *ud)
{
    struct wdn_mcp_oauth *o = ud;

    pthread_mutex_lock(&o->lock);
    o->attempts = 0;
    pthread_mutex_unlock(&o->lock);
}

/* ---------------------------------------------------------------------------------------- */

struct wdn_mcp_oauth *wdn_mcp_oauth_new(const struct wdn_mcp_oauth_config *cfg, char *err,
                                        size_t cap)
{
    struct wdn_mcp_oauth *o;
    struct wdn_oauth2_url u;
    struct wdn_diag d;

    memset(&d, 0, sizeof(d));
    if (cfg == NULL || cfg->server_url == NULL ||
        wdn_oauth2_url_parse(cfg->server_url, &u, &d) != 0) {
        say(err, cap, "the MCP server URL is missing or not an http(s) URL");
        return NULL;
    }
    if (cfg->redirect_uri != NULL && !wdn_oauth2_redirect_ok(cfg->redirect_uri)) {
        say(err, cap,
            "redirect URI '%.200s' is not a loopback http URI: the sign-in must come back to "
            "this machine (http://127.0.0.1:PORT/path, http://[::1]:PORT/path or "
            "http://localhost:PORT/path)",
            cfg->redirect_uri);
        return NULL;
    }
    if (cfg->client_metadata_url != NULL &&
        (strncmp(cfg->client_metadata_url, "https://", 8) != 0 ||
         wdn_oauth2_url_parse(cfg->client_metadata_url, &u, NULL) != 0 || u.path[0] == '\0')) {
        say(err, cap, "a client metadata document URL must be https with a path");
        return NULL;
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL) {
        say(err, cap, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&o->lock, NULL);
    o->server_url = strdup(cfg->server_url);
    o->client_id = dup_opt(cfg->client_id);
    o->client_secret = dup_opt(cfg->client_secret);
    o->client_issuer = dup_opt(cfg->client_issuer);
    o->client_metadata_url = dup_opt(cfg->client_metadata_url);
    o->client_name = dup_opt(cfg->client_name);
    o->redirect_uri =
        strdup(cfg->redirect_uri != NULL ? cfg->redirect_uri : "http://127.0.0.1/callback");
    o->redirect_default = cfg->redirect_uri == NULL;
    o->scope = dup_opt(cfg->scope);
    o->token_endpoint = dup_opt(cfg->token_endpoint);
    o->audience = dup_opt(cfg->audience);
    o->auth_method = dup_opt(cfg->auth_method);
    o->assertion = dup_opt(cfg->assertion);
    o->idp_token_endpoint = dup_opt(cfg->idp_token_endpoint);
    o->idp_id_token = dup_opt(cfg->idp_id_token);
    o->idp_client_id = dup_opt(cfg->idp_client_id);
    o->cache_dir = dup_opt(cfg->cache_dir);
    o->ca_file = dup_opt(cfg->ca_file != NULL ? cfg->ca_file : wdn_fetch_ca_file_from_env());
    o->grant = cfg->grant;
    o->no_dcr = cfg->no_dynamic_registration;
    o->no_offline = cfg->no_offline_access;
    o->no_dpop = cfg->no_dpop;
    o->login_timeout_ms = cfg->login_timeout_ms;
    o->timeout_ms = cfg->timeout_ms;
    o->browser = cfg->browser;
    o->browser_ud = cfg->browser_ud;
    if (cfg->client_key_pem != NULL) {
        enum wdn_jose_alg alg = WDN_JOSE_ES256;
        if (cfg->auth_method != NULL && strcmp(cfg->auth_method, "private_key_jwt") != 0) {
            say(err, cap, "a client key is for auth method private_key_jwt");
            wdn_mcp_oauth_free(o);
            return NULL;
        }
        o->client_key =
            wdn_jose_key_from_pem(wdn_str_from_cstr(cfg->client_key_pem), alg, NULL, &d);
        if (o->client_key == NULL)
            o->client_key = wdn_jose_key_from_pem(wdn_str_from_cstr(cfg->client_key_pem),
                                                  WDN_JOSE_RS256, NULL, &d);
        if (o->client_key == NULL) {
            say(err, cap, "the client key cannot be used: %s", d.msg);
            wdn_mcp_oauth_free(o);
            return NULL;
        }
    }
    if (!o->server_url || !o->redirect_uri || (cfg->client_id && !o->client_id) ||
        (cfg->client_secret && !o->client_secret)) {
        say(err, cap, "out of memory");
        wdn_mcp_oauth_free(o);
        return NULL;
    }
    wdn_oauth2_net_for(o->server_url, o->ca_file, o->timeout_ms, &o->net);
    o->provider.headers = p_headers;
    o->provider.refused = p_refused;
    o->provider.nonce = p_nonce;
    o->provider.accepted = p_accepted;
    o->provider.ud = o;
    return o;
}

const struct wdn_mcp_auth *wdn_mcp_oauth_provider(struct wdn_mcp_oauth *o)
{
    return &o->provider;
}

const char *wdn_mcp_oauth_issuer(struct wdn_mcp_oauth *o)
{
    return o->token != NULL ? o->issuer : NULL;
}

void wdn_mcp_oauth_forget(struct wdn_mcp_oauth *o)
{
    pthread_mutex_lock(&o->lock);
    drop_tokens(o);
    if (o->cache_dir != NULL)
        wdn_oauth2_store_drop(o->cache_dir, "token", o->server_url);
    o->loaded = true;
    pthread_mutex_unlock(&o->lock);
}

void wdn_mcp_oauth_free(struct wdn_mcp_oauth *o)
{
    if (o == NULL)
        return;
    drop_tokens(o);
    free(o->server_url);
    free(o->client_id);
    free_secret(o->client_secret);
    free(o->client_issuer);
    free(o->client_metadata_url);
    free(o->client_name);
    free(o->redirect_uri);
    free(o->scope);
    free(o->token_endpoint);
    free(o->audience);
    free(o->auth_method);
    free_secret(o->assertion);
    free(o->idp_token_endpoint);
    free_secret(o->idp_id_token);
    free(o->idp_client_id);
    free(o->cache_dir);
    free(o->ca_file);
    free(o->issuer);
    free(o->bound_issuer);
    free(o->resource);
    free(o->requested_scope);
    forget_registration(o);
    wdn_oauth2_asm_reset(&o->as);
    wdn_jose_key_free(o->client_key);
    wdn_jose_key_free(o->dpop_key);
    pthread_mutex_destroy(&o->lock);
    free(o);
}

int wdn_mcp_oauth_config_from_env(struct wdn_mcp_oauth_config *cfg, char *buf, size_t cap,
                                  char *err, size_t errcap)
{
    struct wdn_oauth2_config env;
    struct wdn_diag d;
    int rc;

    memset(&d, 0, sizeof(d));
    rc = wdn_oauth2_config_from_env(&env, buf, cap, &d);
    if (rc != 0) {
        say(err, errcap, "%s", d.msg);
        return rc;
    }
    memset(cfg, 0, sizeof(*cfg));
    cfg->grant = WDN_MCP_OAUTH_CLIENT_CREDENTIALS;
    cfg->token_endpoint = env.token_url;
    cfg->client_id = env.client_id;
    cfg->client_secret = env.client_secret;
    cfg->audience = env.audience;
    cfg->scope = env.scope;
    cfg->ca_file = env.ca_file;
    cfg->auth_method = env.auth == WDN_OAUTH2_AUTH_JSON   ? "json"
                       : env.auth == WDN_OAUTH2_AUTH_POST ? "client_secret_post"
                                                          : "client_secret_basic";
    return 0;
}
