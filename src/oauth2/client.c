/* Client credentials with a cache. One mutex guards the cached token; a fetch happens with the
 * mutex held so concurrent callers wait for one request rather than each sending their own. */
#include "oauth2/client.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "oauth2/form.h"
#include "oauth2/token.h"

struct wdn_oauth2_client {
    char *token_url, *client_id, *client_secret, *audience, *resource, *scope, *ca_file;
    enum wdn_oauth2_auth auth;
    long timeout_ms;
    pthread_mutex_t lock;
    char *token;         /* cached access token, or NULL */
    uint64_t refresh_at; /* monotonic ms after which the token is refreshed */
    uint64_t fetches, hits;
};

static char *dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

int wdn_oauth2_config_from_env(struct wdn_oauth2_config *cfg, char *url_buf, size_t url_cap,
                               struct wdn_diag *diag)
{
    const char *domain = getenv("AUTH0_DOMAIN");
    const char *method;

    memset(cfg, 0, sizeof(*cfg));
    cfg->ca_file = wdn_fetch_ca_file_from_env();
    if (domain && *domain && getenv("AUTH0_CLIENT_ID") && getenv("AUTH0_CLIENT_SECRET") &&
        getenv("AUTH0_AUDIENCE")) {
        /* AUTH0_DOMAIN is a host[:port]; tolerate a pasted URL with scheme or slash. */
        if (strncmp(domain, "https://", 8) == 0)
            domain += 8;
        size_t dlen = strcspn(domain, "/");
        if (wdn_fmt(url_buf, url_cap, "https://%.*s/oauth/token", (int)dlen, domain))
            return wdn_diag_set(diag, WDN_ELIMIT, "AUTH0_DOMAIN is too long");
        cfg->token_url = url_buf;
        cfg->client_id = getenv("AUTH0_CLIENT_ID");
        cfg->client_secret = getenv("AUTH0_CLIENT_SECRET");
        cfg->audience = getenv("AUTH0_AUDIENCE");
        cfg->auth = WDN_OAUTH2_AUTH_JSON;
        return 0;
    }
    if (!getenv("OAUTH2_TOKEN_URL") || !getenv("OAUTH2_CLIENT_ID") ||
        !getenv("OAUTH2_CLIENT_SECRET"))
        return wdn_diag_set(diag, WDN_ENOTFOUND,
                            "no OAuth2 client configured: set AUTH0_DOMAIN, AUTH0_CLIENT_ID, "
                            "AUTH0_CLIENT_SECRET and AUTH0_AUDIENCE, or OAUTH2_TOKEN_URL, "
                            "OAUTH2_CLIENT_ID and OAUTH2_CLIENT_SECRET");
    cfg->token_url = getenv("OAUTH2_TOKEN_URL");
    cfg->client_id = getenv("OAUTH2_CLIENT_ID");
    cfg->client_secret = getenv("OAUTH2_CLIENT_SECRET");
    cfg->audience = getenv("OAUTH2_AUDIENCE");
    cfg->resource = getenv("OAUTH2_RESOURCE");
    cfg->scope = getenv("OAUTH2_SCOPE");
    method = getenv("OAUTH2_AUTH_METHOD");
    if (method == NULL || strcmp(method, "client_secret_basic") == 0)
        cfg->auth = WDN_OAUTH2_AUTH_BASIC;
    else if (strcmp(method, "client_secret_post") == 0)
        cfg->auth = WDN_OAUTH2_AUTH_POST;
    else if (strcmp(method, "json") == 0)
        cfg->auth = WDN_OAUTH2_AUTH_JSON;
    else
        return wdn_diag_set(diag, WDN_EINVAL,
                            "OAUTH2_AUTH_METHOD must be client_secret_basic, client_secret_post "
                            "or json, not '%s'",
                            method);
    return 0;
}

struct wdn_oauth2_client *wdn_oauth2_client_new(const struct wdn_oauth2_config *cfg,
                                                struct wdn_diag *diag)
{
    struct wdn_oauth2_client *c;

    if (!cfg->token_url || !cfg->client_id || !cfg->client_secret) {
        wdn_diag_set(diag, WDN_EINVAL, "token URL, client ID and client secret are required");
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto nomem;
    pthread_mutex_init(&c->lock, NULL);
    c->token_url = strdup(cfg->token_url);
    c->client_id = strdup(cfg->client_id);
    c->client_secret = strdup(cfg->client_secret);
    c->audience = dup_opt(cfg->audience);
    c->resource = dup_opt(cfg->resource);
    c->scope = dup_opt(cfg->scope);
    c->ca_file = dup_opt(cfg->ca_file);
    c->auth = cfg->auth;
    c->timeout_ms = cfg->timeout_ms;
    if (!c->token_url || !c->client_id || !c->client_secret || (cfg->audience && !c->audience) ||
        (cfg->resource && !c->resource) || (cfg->scope && !c->scope) ||
        (cfg->ca_file && !c->ca_file)) {
        wdn_oauth2_client_free(c);
        goto nomem;
    }
    return c;
nomem:
    wdn_diag_set(diag, WDN_ENOMEM, "out of memory");
    return NULL;
}

void wdn_oauth2_client_free(struct wdn_oauth2_client *c)
{
    if (c == NULL)
        return;
    free(c->token_url);
    free(c->client_id);
    free_secret(c->client_secret);
    free(c->audience);
    free(c->resource);
    free(c->scope);
    free(c->ca_file);
    free_secret(c->token);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static int fetch_token(struct wdn_oauth2_client *c, struct wdn_diag *diag)
{
    const char *params[10];
    size_t np = 0;
    struct wdn_oauth2_net net = {.ca_file = c->ca_file,
                                 .timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 10000,
                                 .user_chosen = true};
    struct wdn_oauth2_token_req req = {.net = &net,
                                       .token_endpoint = c->token_url,
                                       .auth = c->auth,
                                       .client_id = c->client_id,
                                       .client_secret = c->client_secret,
                                       .params = params};
    struct wdn_oauth2_tokens t;
    int64_t expires_in, margin;
    int rc;

    params[np++] = "grant_type";
    params[np++] = "client_credentials";
    if (c->audience) {
        params[np++] = "audience";
        params[np++] = c->audience;
    }
    if (c->resource) {
        params[np++] = "resource";
        params[np++] = c->resource;
    }
    if (c->scope) {
        params[np++] = "scope";
        params[np++] = c->scope;
    }
    params[np] = NULL;
    rc = wdn_oauth2_token_request(&req, &t, diag);
    if (rc)
        return rc;
    if (strcasecmp(t.token_type, "bearer") != 0) {
        rc = wdn_diag_set(diag, WDN_EHTTP_STATUS, "token_type is '%.40s', expected Bearer",
                          t.token_type);
        wdn_oauth2_tokens_reset(&t);
        return rc;
    }
    /* expires_in is RECOMMENDED; without it, cache briefly rather than forever. */
    expires_in = t.expires_in >= 0 ? t.expires_in : 300;
    if (expires_in < 1)
        expires_in = 1;
    /* Refresh when a tenth of the lifetime (at most 60 s) is left, so a token never expires
     * between our check and the resource server's. */
    margin = expires_in / 10 < 60 ? expires_in / 10 : 60;
    free_secret(c->token);
    c->token = t.access_token;
    t.access_token = NULL;
    wdn_oauth2_tokens_reset(&t);
    c->refresh_at = wdn_clock_mono_ms() + (uint64_t)(expires_in - margin) * 1000u;
    c->fetches++;
    return 0;
}

int wdn_oauth2_client_token(struct wdn_oauth2_client *c, char *buf, size_t cap,
                            struct wdn_diag *diag)
{
    int rc = 0;

    pthread_mutex_lock(&c->lock);
    if (c->token && wdn_clock_mono_ms() < c->refresh_at) {
        c->hits++;
    } else {
        rc = fetch_token(c, diag);
        if (rc)
            goto out;
    }
    if (strlen(c->token) + 1 > cap) {
        rc = wdn_diag_set(diag, WDN_ELIMIT, "access token does not fit the caller's buffer");
        goto out;
    }
    memcpy(buf, c->token, strlen(c->token) + 1);
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void wdn_oauth2_client_invalidate(struct wdn_oauth2_client *c)
{
    pthread_mutex_lock(&c->lock);
    free_secret(c->token);
    c->token = NULL;
    pthread_mutex_unlock(&c->lock);
}

void wdn_oauth2_client_stats(struct wdn_oauth2_client *c, uint64_t *fetches, uint64_t *hits)
{
    pthread_mutex_lock(&c->lock);
    *fetches = c->fetches;
    *hits = c->hits;
    pthread_mutex_unlock(&c->lock);
}
