/* The authorization code grant's front channel for a native client (OAuth 2.1, RFC 8252): PKCE
 * S256, state, the authorization request in the user's browser, the loopback redirect, and the
 * checks on the response (state, error, RFC 9207 iss). The code is then exchanged at the token
 * endpoint by the caller (oauth2/token.h). */
#ifndef WDN_OAUTH2_AUTHCODE_H
#define WDN_OAUTH2_AUTHCODE_H

#include "base/diag.h"
#include "base/limits.h"
#include "oauth2/discovery.h"

/** What the front channel needs. Borrowed for the call. */
struct wdn_oauth2_authcode_req {
    const struct wdn_oauth2_net *net;
    const struct wdn_oauth2_asm *as; /* authorization_endpoint, issuer, iss_parameter, pkce */
    const char *client_id;
    const char *redirect_uri; /* loopback; its port may be 0 (a free one is bound) */
    const char *scope;        /* NULL: none sent */
    const char *resource;     /* RFC 8707, NULL: none sent */
    int (*open_url)(void *ud, const char *url); /* NULL: print on stderr */
    void *open_ud;
    long timeout_ms;
};

/** What came back. */
struct wdn_oauth2_authcode {
    char *code;                            /* malloc'd; wiped by _reset */
    char verifier[64];                     /* the PKCE code_verifier */
    char redirect_uri[WDN_OAUTH2_MAX_URL]; /* the URI sent, to repeat at the token endpoint */
};

/**
 * Starts the redirect listener (so the registration may use its exact URI: see the two-step
 * form below) and runs the whole front channel. The authorization server must support S256
 * (MCP: clients refuse to proceed otherwise). The response must carry our state; an `error`
 * parameter gives WDN_EAUTH with the server's error; an `iss` parameter must equal as->issuer
 * byte for byte, and when the server advertised it (authorization_response_iss_parameter_
 * supported) it must be there (RFC 9207: mix-up defence). 0 with out filled.
 */
int wdn_oauth2_authcode_run(const struct wdn_oauth2_authcode_req *r,
                            struct wdn_oauth2_authcode *out, struct wdn_diag *d);

struct wdn_oauth2_loopback;
/**
 * The same in two steps, for clients that must know the redirect URI (with its port) before
 * running the front channel (dynamic registration): _listen binds and fills out->redirect_uri;
 * _finish (r->redirect_uri is then ignored) does the rest and frees the listener.
 */
int wdn_oauth2_authcode_listen(const char *redirect_uri, struct wdn_oauth2_loopback **l,
                               struct wdn_oauth2_authcode *out, struct wdn_diag *d);
int wdn_oauth2_authcode_finish(const struct wdn_oauth2_authcode_req *r,
                               struct wdn_oauth2_loopback *l, struct wdn_oauth2_authcode *out,
                               struct wdn_diag *d);

void wdn_oauth2_authcode_reset(struct wdn_oauth2_authcode *a);

/** The PKCE S256 challenge of verifier into out (44 bytes with the NUL). */
int wdn_oauth2_pkce_challenge(const char *verifier, char *out, size_t cap);

#endif
