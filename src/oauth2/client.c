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

struct wdn_oauth2_client {
    char *token_url, *client_id, *client_secret, *audience, *resource, *scope, *ca_file;
    enum wdn_oauth2_auth auth;
    long timeout_ms;
    pthread_mutex_t lock;
    char *token;          /* cached access token, or NULL */
    uint64_t refresh_at;  /* monotonic ms after which the token is refreshed */
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
    if (!c->token_url || !c->client_id || !c->client_secret ||
        (cfg->audience && !c->audience) || (cfg->resource && !c->resource) ||
        (cfg->scope && !c->scope) || (cfg->ca_file && !c->ca_file)) {
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

/* Builds the token request body (and the Authorization header for Basic). */
static int build_request(const struct wdn_oauth2_client *c, struct wdn_buf *body,
                         struct wdn_buf *authz)
{
    int rc = 0;

    if (c->auth == WDN_OAUTH2_AUTH_JSON) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "grant_type", "client_credentials", "client_id",
                              c->client_id, "client_secret", c->client_secret);
        if (o == NULL)
            return WDN_ENOMEM;
        if (c->audience)
            json_object_set_new(o, "audience", json_string(c->audience));
        if (c->resource)
            json_object_set_new(o, "resource", json_string(c->resource));
        if (c->scope)
            json_object_set_new(o, "scope", json_string(c->scope));
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (s == NULL)
            return WDN_ENOMEM;
        rc = wdn_buf_append_cstr(body, s);
        OPENSSL_cleanse(s, strlen(s));
        free(s);
        return rc;
    }
    rc = wdn_form_add(body, "grant_type", "client_credentials");
    if (rc == 0 && c->auth == WDN_OAUTH2_AUTH_POST) {
        rc = wdn_form_add(body, "client_id", c->client_id);
        if (rc == 0)
            rc = wdn_form_add(body, "client_secret", c->client_secret);
    }
    if (rc == 0 && c->audience)
        rc = wdn_form_add(body, "audience", c->audience);
    if (rc == 0 && c->resource)
        rc = wdn_form_add(body, "resource", c->resource);
    if (rc == 0 && c->scope)
        rc = wdn_form_add(body, "scope", c->scope);
    if (rc == 0 && c->auth == WDN_OAUTH2_AUTH_BASIC) {
        rc = wdn_buf_append_cstr(authz, "Authorization: ");
        if (rc == 0)
            rc = wdn_form_basic_auth(authz, c->client_id, c->client_secret);
    }
    return rc;
}

/* Reads RFC 6749 5.1 (success) or 5.2 (error) from a token endpoint's answer. */
static int parse_token_response(const struct wdn_fetch_response *r, char **token,
                                int64_t *expires_in, struct wdn_diag *diag)
{
    json_error_t jerr;
    json_t *o = json_loadb(r->body.data ? r->body.data : "", r->body.len,
                           JSON_REJECT_DUPLICATES, &jerr);
    int rc = 0;

    if (o == NULL || !json_is_object(o)) {
        rc = wdn_diag_set(diag, WDN_EHTTP_STATUS,
                          "token endpoint answered HTTP %ld with a body that is not a JSON object",
                          r->status);
        goto out;
    }
    if (r->status != 200) {
        const char *err = json_string_value(json_object_get(o, "error"));
        const char *desc = json_string_value(json_object_get(o, "error_description"));
        rc = wdn_diag_set(diag, err ? WDN_EAUTH : WDN_EHTTP_STATUS,
                          "token endpoint answered HTTP %ld: %s%s%s", r->status,
                          err ? err : "no error code", desc ? ": " : "", desc ? desc : "");
        goto out;
    }
    const char *tok = json_string_value(json_object_get(o, "access_token"));
    const char *type = json_string_value(json_object_get(o, "token_type"));
    json_t *exp = json_object_get(o, "expires_in");
    if (tok == NULL || tok[0] == '\0' || strlen(tok) > WDN_JWT_MAX_TOKEN_BYTES) {
        rc = wdn_diag_set(diag, WDN_EHTTP_STATUS, "token response has no usable access_token");
        goto out;
    }
    if (type == NULL || strcasecmp(type, "bearer") != 0) {
        rc = wdn_diag_set(diag, WDN_EHTTP_STATUS, "token_type is '%s', expected Bearer",
                          type ? type : "(missing)");
        goto out;
    }
    /* expires_in is RECOMMENDED; without it, cache briefly rather than forever. */
    *expires_in = json_is_integer(exp) ? (int64_t)json_integer_value(exp)
                  : json_is_real(exp)  ? (int64_t)json_real_value(exp)
                                       : 300;
    *token = strdup(tok);
    if (*token == NULL)
        rc = wdn_diag_set(diag, WDN_ENOMEM, "out of memory");
out:
    json_decref(o);
    return rc;
}

static int fetch_token(struct wdn_oauth2_client *c, struct wdn_diag *diag)
{
    struct wdn_buf body, authz;
    struct wdn_fetch_response resp;
    const char *headers[4] = {0};
    size_t nh = 0;
    char *token = NULL;
    int64_t expires_in = 0;
    int rc;

    wdn_buf_init(&body, 16384);
    wdn_buf_init(&authz, 8192);
    memset(&resp, 0, sizeof(resp));
    rc = build_request(c, &body, &authz);
    if (rc) {
        wdn_diag_set(diag, rc, "cannot build the token request: %s", wdn_strerror(rc));
        goto out;
    }
    headers[nh++] = c->auth == WDN_OAUTH2_AUTH_JSON
                        ? "Content-Type: application/json"
                        : "Content-Type: application/x-www-form-urlencoded";
    headers[nh++] = "Accept: application/json";
    if (authz.len)
        headers[nh++] = wdn_buf_cstr(&authz);
    struct wdn_fetch_request req = {
        .method = "POST",
        .url = c->token_url,
        .headers = headers,
        .body = body.data,
        .body_len = body.len,
        .timeout_ms = c->timeout_ms,
        .ca_file = c->ca_file,
        .max_response = 64 * 1024,
    };
    rc = wdn_fetch(&req, &resp, diag);
    if (rc)
        goto out;
    rc = parse_token_response(&resp, &token, &expires_in, diag);
    if (rc)
        goto out;
    if (expires_in < 1)
        expires_in = 1;
    /* Refresh when a tenth of the lifetime (at most 60 s) is left, so a token never expires
     * between our check and the resource server's. */
    int64_t margin = expires_in / 10 < 60 ? expires_in / 10 : 60;
    free_secret(c->token);
    c->token = token;
    token = NULL;
    c->refresh_at = wdn_clock_mono_ms() + (uint64_t)(expires_in - margin) * 1000u;
    c->fetches++;
out:
    free_secret(token);
    if (body.data)
        OPENSSL_cleanse(body.data, body.len);
    if (authz.data)
        OPENSSL_cleanse(authz.data, authz.len);
    wdn_buf_reset(&body);
    wdn_buf_reset(&authz);
    if (resp.body.data)
        OPENSSL_cleanse(resp.body.data, resp.body.len);
    wdn_fetch_response_reset(&resp);
    return rc;
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
