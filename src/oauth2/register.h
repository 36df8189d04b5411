/* OAuth 2.0 Dynamic Client Registration (RFC 7591) for a native client, and the choice of how a
 * client authenticates at a token endpoint. */
#ifndef WDN_OAUTH2_REGISTER_H
#define WDN_OAUTH2_REGISTER_H

#include <stdint.h>

#include "base/diag.h"
#include "oauth2/client.h"
#include "oauth2/discovery.h"

/** What to register. Borrowed for the call. */
struct wdn_oauth2_reg_req {
    const struct wdn_oauth2_net *net;
    const struct wdn_oauth2_asm *as; /* registration_endpoint, auth methods */
    const char *client_name;
    const char *redirect_uri; /* the exact loopback URI (authorization code), or NULL */
    unsigned grant_types;     /* WDN_OAUTH2_GT_* the client will use */
    const char *scope;        /* NULL: none */
};

/** A registered client. Owned; _reset wipes the secret. */
struct wdn_oauth2_registration {
    char *client_id;
    char *client_secret; /* NULL for a public client */
    enum wdn_oauth2_auth auth;
    int64_t secret_expires_at; /* unix seconds, 0: never */
};

/**
 * Registers at as->registration_endpoint as a native application: the redirect URI, the grant
 * types, and a token endpoint authentication method the server supports (none when it may, a
 * public client using PKCE; else client_secret_basic, else client_secret_post). The answer must
 * carry a client_id; when it lists redirect_uris they must include ours exactly (a server that
 * registered another redirect URI would send the code elsewhere). 0 or WDN_E* with d set.
 */
int wdn_oauth2_register(const struct wdn_oauth2_reg_req *r, struct wdn_oauth2_registration *out,
                        struct wdn_diag *d);

void wdn_oauth2_registration_reset(struct wdn_oauth2_registration *reg);

/**
 * The client authentication a client with (secret, key) uses at a server supporting methods
 * (WDN_OAUTH2_AM_*): private_key_jwt with a key, basic (else post) with a secret, none without
 * either. preferred (a method name, or NULL) wins when the server supports it. WDN_OAUTH2_AUTH_*,
 * or -1 when nothing fits.
 */
int wdn_oauth2_pick_auth(unsigned methods, bool has_secret, bool has_key, const char *preferred);

#endif
