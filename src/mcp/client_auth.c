/* MCP authorization for the client (include/warden/mcp_auth.h): the OAuth 2.1 provider behind
 * wdn_mcp_client_config.auth. It follows the MCP authorization spec's client side: discovery from
 * the 401 (RFC 9728, RFC 8414 / OIDC, 2025-03-26 fallbacks), registration (pre-registered, Client
 * ID Metadata Document, dynamic), the grant, refresh, step-up on 403 insufficient_scope, DPoP when
 * the resource asks for it. The building blocks are in src/oauth2; this file decides (after a
 * refusal: which server, which scope, whether to try again), client_grant.c obtains and keeps
 * the tokens.
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
#include <time.h>

#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "jose/sign.h"
#include "mcp/client_auth_int.h"
#include "oauth2/assertion.h"
#include "oauth2/challenge.h"
#include "oauth2/client.h"
#include "oauth2/discovery.h"
#include "oauth2/loopback.h"
#include "oauth2/metadata.h"
#include "oauth2/store.h"

char *wdn__mcp_oauth_dup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

void wdn__mcp_oauth_free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void wdn__mcp_oauth_set(char **dst, const char *src)
{
    char *c = wdn__mcp_oauth_dup(src);

    free(*dst);
    *dst = c;
}

void wdn__mcp_oauth_say(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (msg == NULL || cap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
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
            wdn__mcp_oauth_say(msg, cap, "%s", d.msg);
        return rc;
    }
    if (rc != 0) {
        wdn__mcp_oauth_say(msg, cap, "%s", d.msg);
        return rc;
    }
    rc = wdn_oauth2_fetch_asm(&o->net, prm->authorization_servers[0], &o->as, &d);
    if (rc != 0)
        wdn__mcp_oauth_say(msg, cap, "%s", d.msg);
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
            wdn__mcp_oauth_drop_tokens(o);
        wdn__mcp_oauth_set(&o->resource, legacy ? NULL : prm.resource);
    } else {
        wdn__mcp_oauth_set(&o->resource, NULL);
    }
    /* Scope: what the caller insists on, else what the challenge asks, else what the resource
     * lists; with offline_access for a refresh token where the server offers it. */
    scope = wdn__mcp_oauth_dup(scope_in);
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
            wdn__mcp_oauth_say(msg, cap, "cannot make a DPoP key: %s", d.msg);
            rc = WDN_ECRYPTO;
            goto out;
        }
    }
    rc = wdn__mcp_oauth_grant(o, scope, msg, cap);
    if (rc == 0)
        wdn__mcp_oauth_set(&o->requested_scope, scope);
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
        wdn__mcp_oauth_load_tokens(o);
    if (o->token != NULL && expiring(o)) {
        if (wdn__mcp_oauth_refresh(o, NULL, 0) != 0)
            wdn__mcp_oauth_drop_tokens(o);
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
        wdn__mcp_oauth_say(msg, cap, "cannot add the credentials: %s", wdn_strerror(rc));
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
            wdn__mcp_oauth_say(msg, cap, "the MCP server refused access (HTTP 403%s%s)",
                               ch.error[0] ? ": " : "", ch.error);
            rc = WDN_EDENIED;
            goto out;
        }
        /* Step-up (SEP-835, SEP-2350): ask for what was granted plus what is missing. A server
         * that asks for scopes already asked for will not be satisfied by asking again. */
        if (o->token != NULL && ch.scope[0] != '\0' && o->requested_scope != NULL &&
            scope_covers(o->requested_scope, ch.scope)) {
            wdn__mcp_oauth_say(
                msg, cap,
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
            wdn__mcp_oauth_refresh(o, NULL, 0) == 0) {
            o->attempts++;
            rc = 0;
            goto out;
        }
        scope = scope_union(o->token != NULL ? o->requested_scope : NULL,
                            ch.scope[0] ? ch.scope : NULL);
    }
    if (o->attempts >= WDN_OAUTH2_AUTH_ATTEMPTS) {
        wdn__mcp_oauth_say(msg, cap,
                           "the MCP server keeps refusing freshly obtained credentials (HTTP %ld): "
                           "giving up",
                           status);
        rc = status == 403 ? WDN_EDENIED : WDN_EAUTH;
        goto out;
    }
    o->attempts++;
    wdn__mcp_oauth_drop_tokens(o);
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
        wdn__mcp_oauth_say(err, cap, "the MCP server URL is missing or not an http(s) URL");
        return NULL;
    }
    if (cfg->redirect_uri != NULL && !wdn_oauth2_redirect_ok(cfg->redirect_uri)) {
        wdn__mcp_oauth_say(
            err, cap,
            "redirect URI '%.200s' is not a loopback http URI: the sign-in must come back to "
            "this machine (http://127.0.0.1:PORT/path, http://[::1]:PORT/path or "
            "http://localhost:PORT/path)",
            cfg->redirect_uri);
        return NULL;
    }
    if (cfg->client_metadata_url != NULL &&
        (strncmp(cfg->client_metadata_url, "https://", 8) != 0 ||
         wdn_oauth2_url_parse(cfg->client_metadata_url, &u, NULL) != 0 || u.path[0] == '\0')) {
        wdn__mcp_oauth_say(err, cap, "a client metadata document URL must be https with a path");
        return NULL;
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL) {
        wdn__mcp_oauth_say(err, cap, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&o->lock, NULL);
    o->server_url = strdup(cfg->server_url);
    o->client_id = wdn__mcp_oauth_dup(cfg->client_id);
    o->client_secret = wdn__mcp_oauth_dup(cfg->client_secret);
    o->client_issuer = wdn__mcp_oauth_dup(cfg->client_issuer);
    o->client_metadata_url = wdn__mcp_oauth_dup(cfg->client_metadata_url);
    o->client_name = wdn__mcp_oauth_dup(cfg->client_name);
    o->redirect_uri =
        strdup(cfg->redirect_uri != NULL ? cfg->redirect_uri : "http://127.0.0.1/callback");
    o->redirect_default = cfg->redirect_uri == NULL;
    o->scope = wdn__mcp_oauth_dup(cfg->scope);
    o->token_endpoint = wdn__mcp_oauth_dup(cfg->token_endpoint);
    o->audience = wdn__mcp_oauth_dup(cfg->audience);
    o->auth_method = wdn__mcp_oauth_dup(cfg->auth_method);
    o->assertion = wdn__mcp_oauth_dup(cfg->assertion);
    o->idp_token_endpoint = wdn__mcp_oauth_dup(cfg->idp_token_endpoint);
    o->idp_id_token = wdn__mcp_oauth_dup(cfg->idp_id_token);
    o->idp_client_id = wdn__mcp_oauth_dup(cfg->idp_client_id);
    o->cache_dir = wdn__mcp_oauth_dup(cfg->cache_dir);
    o->ca_file =
        wdn__mcp_oauth_dup(cfg->ca_file != NULL ? cfg->ca_file : wdn_fetch_ca_file_from_env());
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
            wdn__mcp_oauth_say(err, cap, "a client key is for auth method private_key_jwt");
            wdn_mcp_oauth_free(o);
            return NULL;
        }
        o->client_key =
            wdn_jose_key_from_pem(wdn_str_from_cstr(cfg->client_key_pem), alg, NULL, &d);
        if (o->client_key == NULL)
            o->client_key = wdn_jose_key_from_pem(wdn_str_from_cstr(cfg->client_key_pem),
                                                  WDN_JOSE_RS256, NULL, &d);
        if (o->client_key == NULL) {
            wdn__mcp_oauth_say(err, cap, "the client key cannot be used: %s", d.msg);
            wdn_mcp_oauth_free(o);
            return NULL;
        }
    }
    if (!o->server_url || !o->redirect_uri || (cfg->client_id && !o->client_id) ||
        (cfg->client_secret && !o->client_secret)) {
        wdn__mcp_oauth_say(err, cap, "out of memory");
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
    wdn__mcp_oauth_drop_tokens(o);
    if (o->cache_dir != NULL)
        wdn_oauth2_store_drop(o->cache_dir, "token", o->server_url);
    o->loaded = true;
    pthread_mutex_unlock(&o->lock);
}

void wdn_mcp_oauth_free(struct wdn_mcp_oauth *o)
{
    if (o == NULL)
        return;
    wdn__mcp_oauth_drop_tokens(o);
    free(o->server_url);
    free(o->client_id);
    wdn__mcp_oauth_free_secret(o->client_secret);
    free(o->client_issuer);
    free(o->client_metadata_url);
    free(o->client_name);
    free(o->redirect_uri);
    free(o->scope);
    free(o->token_endpoint);
    free(o->audience);
    free(o->auth_method);
    wdn__mcp_oauth_free_secret(o->assertion);
    free(o->idp_token_endpoint);
    wdn__mcp_oauth_free_secret(o->idp_id_token);
    free(o->idp_client_id);
    free(o->cache_dir);
    free(o->ca_file);
    free(o->issuer);
    free(o->bound_issuer);
    free(o->resource);
    free(o->requested_scope);
    wdn__mcp_oauth_forget_registration(o);
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
        wdn__mcp_oauth_say(err, errcap, "%s", d.msg);
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
