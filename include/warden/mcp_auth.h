/* MCP authorization for the C MCP client: an OAuth 2.1 client that plugs into
 * wdn_mcp_client_config.auth. On a 401 it reads the challenge (resource_metadata, scope), finds
 * the authorization server (RFC 9728, then RFC 8414 / OpenID Connect, then the 2025-03-26
 * fallbacks), registers (pre-registered credentials, a Client ID Metadata Document URL, or
 * dynamic registration), obtains a token (authorization code + PKCE through a loopback redirect
 * listener and the user's browser, client credentials, a JWT assertion, or enterprise-managed
 * ID-JAG), refreshes it, steps up on 403 insufficient_scope, and keeps tokens per issuer and
 * resource. Credentials only ever go to the authorization server they belong to. */
#ifndef WARDEN_MCP_AUTH_H
#define WARDEN_MCP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "warden/mcp.h"

/** How the client obtains tokens. */
enum wdn_mcp_oauth_grant {
    WDN_MCP_OAUTH_AUTHORIZATION_CODE = 0, /* a user signs in with the browser (default) */
    WDN_MCP_OAUTH_CLIENT_CREDENTIALS,     /* the client acts for itself (machine to machine) */
    WDN_MCP_OAUTH_JWT_BEARER,             /* RFC 7523 assertion grant (workload identity) */
    WDN_MCP_OAUTH_ENTERPRISE,             /* ID-JAG: token exchange at the enterprise IdP, then
                                             the JWT bearer grant at the MCP server's AS */
};

/**
 * Opens url in the user's browser. 0, or a negative code to give up. The default prints the URL
 * on stderr for the user to open.
 */
typedef int (*wdn_mcp_oauth_browser_fn)(void *ud, const char *url);

/** Settings; strings are copied by wdn_mcp_oauth_new. Zero fields take the defaults named. */
struct wdn_mcp_oauth_config {
    const char *server_url; /* the MCP endpoint (required): the protected resource */
    enum wdn_mcp_oauth_grant grant;

    /* Registration, in this order: pre-registered, Client ID Metadata Document, dynamic. */
    const char *client_id;           /* pre-registered client */
    const char *client_secret;       /* its secret (confidential client), or NULL */
    const char *client_key_pem;      /* PEM private key text for private_key_jwt, or NULL */
    const char *client_issuer;       /* the issuer these credentials belong to; NULL: the first
                                        issuer they are used with (a later, different one is
                                        refused: they are never sent elsewhere) */
    const char *client_metadata_url; /* https URL of this client's metadata document, used as
                                        client_id where the server supports it */
    const char *client_name;         /* client_name for dynamic registration; NULL: "warden" */
    bool no_dynamic_registration;    /* never register dynamically */

    /* Authorization code. */
    const char *redirect_uri;         /* loopback http URI; port 0 or none picks a free port.
                                         NULL: http://127.0.0.1/callback. Anything else than
                                         loopback is refused. */
    wdn_mcp_oauth_browser_fn browser; /* NULL: print the URL on stderr */
    void *browser_ud;
    long login_timeout_ms; /* 0: 5 minutes */

    /* What to ask for. */
    const char *scope;      /* NULL: the challenge's scope, else the resource's scopes_supported */
    bool no_offline_access; /* by default offline_access is asked for where advertised */
    bool no_dpop;           /* by default DPoP-bound tokens are used when the resource asks for
                               them (a DPoP challenge) and the server supports ES256 */

    /* Client credentials without discovery (an Auth0 tenant, the tutorial's environment). */
    const char *token_endpoint; /* set: skip discovery, ask here */
    const char *audience;       /* Auth0's audience parameter */
    const char *auth_method;    /* client_secret_basic, client_secret_post, json (Auth0),
                                   private_key_jwt or none; NULL: what the server supports */

    /* JWT bearer and enterprise-managed grants. */
    const char *assertion;          /* the JWT the grant presents (workload identity) */
    const char *idp_token_endpoint; /* enterprise: the IdP's token endpoint */
    const char *idp_id_token;       /* enterprise: the user's ID token from the IdP */
    const char *idp_client_id;      /* enterprise: this client at the IdP */

    /* Where things are kept and how requests go out. */
    const char *cache_dir; /* tokens (per issuer and resource) and registrations (per issuer)
                              kept in files here, mode 0600; NULL: in memory only */
    const char *ca_file;   /* trusted CAs (PEM); NULL: the system store or WARDEN_CA_FILE */
    long timeout_ms;       /* each request to an authorization server; 0: 10 s */
};

struct wdn_mcp_oauth;

/**
 * A new OAuth client for one MCP server, or NULL with a reason in err (cap bytes, may be NULL):
 * missing server_url, a redirect URI that is not loopback, an unreadable key, no memory.
 */
struct wdn_mcp_oauth *wdn_mcp_oauth_new(const struct wdn_mcp_oauth_config *cfg, char *err,
                                        size_t cap);
/** Frees the client; tokens in memory are wiped. NULL is fine. */
void wdn_mcp_oauth_free(struct wdn_mcp_oauth *o);

/** The provider for wdn_mcp_client_config.auth (borrowed from o, valid while o lives). */
const struct wdn_mcp_auth *wdn_mcp_oauth_provider(struct wdn_mcp_oauth *o);

/**
 * Fills cfg for client credentials from the environment, as the tutorial's apps read it:
 * AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, AUTH0_AUDIENCE (all four) give
 * https://$AUTH0_DOMAIN/oauth/token with Auth0's JSON body; otherwise OAUTH2_TOKEN_URL,
 * OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET and optional OAUTH2_AUDIENCE, OAUTH2_RESOURCE (ignored:
 * the resource is server_url), OAUTH2_SCOPE, OAUTH2_AUTH_METHOD. Strings are borrowed from the
 * environment or written into buf (cap bytes). server_url is left to the caller. 0,
 * WDN_ENOTFOUND when neither set is complete, WDN_EINVAL (a bad value; err says which).
 */
int wdn_mcp_oauth_config_from_env(struct wdn_mcp_oauth_config *cfg, char *buf, size_t cap,
                                  char *err, size_t errcap);

/** The issuer whose token is in use, or NULL (borrowed; valid until the next request). */
const char *wdn_mcp_oauth_issuer(struct wdn_mcp_oauth *o);

/** Forgets the tokens kept for server_url (memory and cache_dir). */
void wdn_mcp_oauth_forget(struct wdn_mcp_oauth *o);

#endif
