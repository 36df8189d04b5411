/* One request to a token endpoint (RFC 6749 section 3.2), whatever the grant: the client
 * authentication (none, client_secret_basic, client_secret_post, private_key_jwt, or Auth0's JSON
 * body), an optional DPoP proof with the server's nonce, and the answer read as RFC 6749 5.1/5.2.
 */
#ifndef WDN_OAUTH2_TOKEN_H
#define WDN_OAUTH2_TOKEN_H

#include <stdint.h>

#include "base/diag.h"
#include "jose/sign.h"
#include "oauth2/client.h"
#include "oauth2/discovery.h"

/** What to send. Everything borrowed for the call. */
struct wdn_oauth2_token_req {
    const struct wdn_oauth2_net *net;
    const char *token_endpoint;
    enum wdn_oauth2_auth auth;
    const char *client_id;                 /* NULL only for grants that need none */
    const char *client_secret;             /* basic, post, json */
    const struct wdn_jose_key *client_key; /* private_key_jwt */
    const char *assertion_audience;        /* aud of the client assertion: the issuer */
    const char *const *params;             /* NULL-terminated name, value, name, value, ... */
    const struct wdn_jose_key *dpop_key;   /* when set, a DPoP proof goes along */
    char *dpop_nonce;                      /* in/out, WDN_OAUTH2_NONCE_MAX bytes: the token
                                              endpoint's last DPoP-Nonce ("" none) */
};

#define WDN_OAUTH2_NONCE_MAX 256

/** The answer. Owned; wdn_oauth2_tokens_reset wipes and frees. */
struct wdn_oauth2_tokens {
    char *access_token;
    char *token_type; /* "Bearer" or "DPoP" (or N_A for token exchange) */
    char *refresh_token;
    char *scope;             /* granted, when the server said */
    char *issued_token_type; /* token exchange (RFC 8693) */
    int64_t expires_in;      /* seconds; -1 when the server did not say */
    char error[64];          /* on WDN_EAUTH: the server's error code (invalid_grant, ...) */
};

/**
 * Sends the request and reads the answer. With a DPoP key, a use_dpop_nonce refusal is retried
 * once with the server's nonce (RFC 9449 section 8). 0 with out filled; WDN_EAUTH when the
 * server refused (d carries its error and error_description), WDN_EHTTP_STATUS for an answer that
 * is not a token response, or a transport error.
 */
int wdn_oauth2_token_request(const struct wdn_oauth2_token_req *r, struct wdn_oauth2_tokens *out,
                             struct wdn_diag *d);

void wdn_oauth2_tokens_reset(struct wdn_oauth2_tokens *t);

#endif
