/* Internal to the client's MCP authorization (src/mcp/client_auth.c, the provider and its
 * decisions; src/mcp/client_grant.c, registration, grants, refresh and the token cache): the
 * provider object and what the two files share. Every function expects o->lock held, except the
 * string helpers. */
#ifndef WDN_MCP_CLIENT_AUTH_INT_H
#define WDN_MCP_CLIENT_AUTH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jose/sign.h"
#include "oauth2/discovery.h"
#include "oauth2/metadata.h"
#include "oauth2/register.h"
#include "oauth2/token.h"
#include "warden/mcp.h"
#include "warden/mcp_auth.h"

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

/* strdup of an optional string (NULL stays NULL). */
char *wdn__mcp_oauth_dup(const char *s);
/* Wipes and frees a secret (NULL: nothing). */
void wdn__mcp_oauth_free_secret(char *s);
/* *dst becomes a copy of src (NULL allowed); the old value is freed. */
void wdn__mcp_oauth_set(char **dst, const char *src);
/* Writes a message into msg (msg may be NULL). */
void wdn__mcp_oauth_say(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Forgets the tokens in memory (the cache keeps them). */
void wdn__mcp_oauth_drop_tokens(struct wdn_mcp_oauth *o);
/* Reads the cached tokens for this server (once; marks the cache read). */
void wdn__mcp_oauth_load_tokens(struct wdn_mcp_oauth *o);
/* Forgets the dynamic registration in memory. */
void wdn__mcp_oauth_forget_registration(struct wdn_mcp_oauth *o);
/* Obtains tokens for scope (NULL: none asked) with the configured grant, from o->as (or the
 * configured token endpoint). 0, or a WDN_E* code with msg saying why. */
int wdn__mcp_oauth_grant(struct wdn_mcp_oauth *o, const char *scope, char *msg, size_t cap);
/* Refreshes the tokens; WDN_ENOTFOUND when there is nothing to refresh with. On a refused
 * refresh the tokens are dropped, from the cache too. */
int wdn__mcp_oauth_refresh(struct wdn_mcp_oauth *o, char *msg, size_t cap);

#endif
