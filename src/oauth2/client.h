/* The OAuth2 client-credentials client (RFC 6749 section 4.4) with a thread-safe token cache
 * that refreshes before expiry, for Auth0 (JSON body with `audience`) and standard servers
 * (form body, client_secret_basic or client_secret_post, RFC 8707 `resource`). */
#ifndef WDN_OAUTH2_CLIENT_H
#define WDN_OAUTH2_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"

/** How the client authenticates and shapes the token request body. */
enum wdn_oauth2_auth {
    WDN_OAUTH2_AUTH_BASIC = 0,       /* form body, HTTP Basic credentials (RFC 6749 default) */
    WDN_OAUTH2_AUTH_POST,            /* form body with client_id and client_secret */
    WDN_OAUTH2_AUTH_JSON,            /* JSON body with client_id and client_secret (Auth0) */
    WDN_OAUTH2_AUTH_NONE,            /* a public client: client_id in the form, no secret */
    WDN_OAUTH2_AUTH_PRIVATE_KEY_JWT, /* a signed client assertion (RFC 7523) */
};

/** Configuration; strings are copied by wdn_oauth2_client_new. */
struct wdn_oauth2_config {
    const char *token_url;     /* required */
    const char *client_id;     /* required */
    const char *client_secret; /* required */
    const char *audience;      /* Auth0-style `audience`, or NULL */
    const char *resource;      /* RFC 8707 `resource`, or NULL */
    const char *scope;         /* space-separated, or NULL */
    enum wdn_oauth2_auth auth;
    const char *ca_file; /* trust these CAs (PEM bundle); NULL: system store */
    long timeout_ms;     /* per token request; 0 = 10 s */
};

struct wdn_oauth2_client;

/**
 * Reads a configuration from the environment into cfg (strings borrowed from the
 * environment). AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, AUTH0_AUDIENCE (all four)
 * give https://$AUTH0_DOMAIN/oauth/token with a JSON body, as the tutorial's client does;
 * otherwise OAUTH2_TOKEN_URL, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET and optional
 * OAUTH2_AUDIENCE, OAUTH2_RESOURCE, OAUTH2_SCOPE, OAUTH2_AUTH_METHOD (client_secret_basic,
 * client_secret_post or json). The CA bundle comes from wdn_fetch_ca_file_from_env().
 * url_buf holds the built Auth0 URL. Returns 0, WDN_ENOTFOUND when neither set is complete,
 * WDN_EINVAL for a bad OAUTH2_AUTH_METHOD (diag says which).
 */
int wdn_oauth2_config_from_env(struct wdn_oauth2_config *cfg, char *url_buf, size_t url_cap,
                               struct wdn_diag *diag);

/** A new client, or NULL with diag set (missing field, out of memory). Free with _free. */
struct wdn_oauth2_client *wdn_oauth2_client_new(const struct wdn_oauth2_config *cfg,
                                                struct wdn_diag *diag);

/** Frees the client and wipes the cached token and secret. NULL is fine. */
void wdn_oauth2_client_free(struct wdn_oauth2_client *c);

/**
 * Copies a valid access token into buf (NUL-terminated). Uses the cached token while it has
 * more than its refresh margin left (a tenth of its lifetime, at most 60 s), else fetches a new
 * one; concurrent callers share one fetch. Blocking: call it off any event loop. Returns 0,
 * WDN_ELIMIT (buf too small), WDN_EAUTH (the server refused: diag has its error and
 * error_description), WDN_EHTTP_STATUS (unexpected status or body) or a transport error.
 */
int wdn_oauth2_client_token(struct wdn_oauth2_client *c, char *buf, size_t cap,
                            struct wdn_diag *diag);

/** Drops the cached token (e.g. after the resource server answered 401). */
void wdn_oauth2_client_invalidate(struct wdn_oauth2_client *c);

/** Counters for tests and metrics: tokens fetched from the server, and cache hits. */
void wdn_oauth2_client_stats(struct wdn_oauth2_client *c, uint64_t *fetches, uint64_t *hits);

#endif
