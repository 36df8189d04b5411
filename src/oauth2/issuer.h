/* The development OAuth2 authorization server (`warden issuer`): the client credentials grant
 * at /oauth/token (Auth0 JSON bodies and RFC 6749 form bodies with client_secret_basic or
 * client_secret_post, RFC 8707 resource indicators), RFC 8414 / OIDC discovery documents, a
 * JWKS, and JWT access tokens (RFC 9068) signed with keys kept in a state folder that
 * `warden issuer rotate` rotates while the server runs.
 *
 * The request logic (wdn_issuer_handle) is a pure function of a request and the clock, so it
 * is tested and fuzzed without sockets; wdn_issuer_http_handler puts it on the HTTP server. */
#ifndef WDN_OAUTH2_ISSUER_H
#define WDN_OAUTH2_ISSUER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/str.h"
#include "jose/jwk.h"

/** Default access token lifetime and key overlap after a rotation, seconds. */
#define WDN_ISSUER_DEFAULT_LIFETIME_S 3600
#define WDN_ISSUER_DEFAULT_OVERLAP_S (24 * 3600)
/** Default time between publishing a rotated key and signing with it: longer than the 10 min
 * after which warden's bearer middleware refetches a JWKS at the latest (and than the JWKS's
 * max-age), so validators hold the new key before the first token signed with it. */
#define WDN_ISSUER_DEFAULT_ROTATE_DELAY_S 900
/** The audience of the client generated when none is configured. */
#define WDN_ISSUER_DEFAULT_AUDIENCE "https://warden.local/api/"
/** Paths served. */
#define WDN_ISSUER_TOKEN_PATH "/oauth/token"
#define WDN_ISSUER_JWKS_PATH "/.well-known/jwks.json"

/** One client. Strings are borrowed by wdn_issuer_new for the call only (it copies them). */
struct wdn_issuer_client_cfg {
    const char *id;                 /* client_id: 1..WDN_ISSUER_MAX_FIELD_BYTES printable */
    const char *secret;             /* client_secret, same rules */
    const char *const *audiences;   /* allowed audiences / resources; the first is the default */
    size_t naudiences;              /* at least one */
    const char *const *scopes;      /* allowed scopes; none means the client gets no scope */
    size_t nscopes;
};

/** Issuer settings. Borrowed for the call to wdn_issuer_new only. */
struct wdn_issuer_config {
    const char *issuer;     /* "iss" and the metadata's issuer, e.g. "https://127.0.0.1:9443/";
                               endpoints are this URL without its trailing slash + path */
    const char *state_dir;  /* folder with keys.json and keys/ (see wdn_issuer_keys_ensure) */
    const char *typ;        /* JWT header typ: NULL = "at+jwt" (RFC 9068); "JWT" also allowed */
    int64_t lifetime_s;     /* token lifetime; 0 = WDN_ISSUER_DEFAULT_LIFETIME_S */
    const struct wdn_issuer_client_cfg *clients;
    size_t nclients;        /* 1..WDN_ISSUER_MAX_CLIENTS */
};

/** A running issuer: immutable clients, a key set re-read when the state folder changes.
 * Thread-safe: wdn_issuer_handle may run on several threads at once. */
struct wdn_issuer;

/**
 * Creates an issuer and loads its keys from cfg->state_dir (which must already hold a key:
 * call wdn_issuer_keys_ensure first). Secrets are kept only as salted SHA-256 hashes.
 * Returns an owned issuer (free with wdn_issuer_free) or NULL with d saying what to fix.
 */
struct wdn_issuer *wdn_issuer_new(const struct wdn_issuer_config *cfg, struct wdn_diag *d);
/** Frees the issuer. NULL is fine. */
void wdn_issuer_free(struct wdn_issuer *iss);

/** The parts of an HTTP request the issuer looks at; every slice is borrowed for the call. */
struct wdn_issuer_request {
    struct wdn_str method;
    struct wdn_str path;          /* without the query */
    struct wdn_str content_type;  /* empty when absent */
    struct wdn_str authorization; /* empty when absent */
    bool has_authorization;       /* the header was present (even if empty) */
    bool repeated_auth_header;    /* more than one Authorization header */
    struct wdn_str body;
    bool body_too_large;          /* the body was over WDN_ISSUER_MAX_BODY_BYTES (body empty) */
};

/** The answer. Caller-allocated; header strings are static or point into the struct. */
struct wdn_issuer_response {
    int status;
    const char *content_type;     /* "application/json" */
    const char *cache_control;    /* "no-store" for tokens and errors, max-age for metadata */
    bool pragma_no_cache;         /* add Pragma: no-cache (token responses, RFC 6749 5.1) */
    const char *allow;            /* Allow header for 405, else NULL */
    char www_authenticate[96];    /* "" when not sent */
    struct wdn_buf body;          /* owned: release with wdn_issuer_response_reset */
    /* For logs only (never a secret or a token): the outcome's error code ("" on success),
     * and the authenticated client id ("" when none; borrowed from the issuer). */
    const char *error;
    const char *client_id;
};

/**
 * Serves one request at Unix time now: POST /oauth/token, GET (or HEAD) of
 * /.well-known/openid-configuration, /.well-known/oauth-authorization-server and the JWKS.
 * Fills resp (initialised by the call). Returns 0 when the path is the issuer's (resp holds
 * the answer, errors included), WDN_ENOTFOUND for any other path (resp untouched apart from
 * its initialisation), or WDN_ENOMEM / WDN_EINTERNAL when no answer could be built (answer
 * 500).
 */
int wdn_issuer_handle(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                      struct wdn_issuer_response *resp);
/** Frees what resp owns. */
void wdn_issuer_response_reset(struct wdn_issuer_response *resp);

/** The kid of the key tokens are signed with at Unix time now (copied into buf). 0 or WDN_E*. */
int wdn_issuer_signing_kid(struct wdn_issuer *iss, int64_t now, char *buf, size_t cap);

/* ---- The key store ---------------------------------------------------------------------- */

/**
 * Makes sure state_dir (created 0700 when missing) holds a signing key of alg (0 = RS256):
 * when it holds none, one is generated; when the current key has another algorithm, this is
 * a rotation to a new key of alg (the old one stays published for overlap_s). Key files are
 * keys/<kid>.pem (0600) and keys.json (0600) lists them. Takes a lock on state_dir/lock.
 * If created is not NULL it tells whether a key was generated. 0 or WDN_E* with d.
 */
int wdn_issuer_keys_ensure(const char *state_dir, enum wdn_jose_alg alg, int64_t overlap_s,
                           int64_t now, bool *created, struct wdn_diag *d);

/**
 * Rotates: generates a new key (alg 0 = the current key's algorithm, else RS256) that is
 * published at once and signs from now + delay_s (0: at once, for emergencies); the previous
 * keys keep signing until then and retire at now + delay_s + overlap_s (they stay in the JWKS
 * until then); keys whose retirement has passed are dropped. A running issuer picks it up on
 * its next request. The new kid is copied into kid_out (may be NULL). 0 or WDN_E* with d.
 */
int wdn_issuer_keys_rotate(const char *state_dir, enum wdn_jose_alg alg, int64_t delay_s,
                           int64_t overlap_s, int64_t now, char *kid_out, size_t kid_cap,
                           struct wdn_diag *d);

/* ---- The clients file ------------------------------------------------------------------- */

/** Clients read from a YAML file; owns every string the configs point to. */
struct wdn_issuer_clients;

/**
 * Reads a clients file:
 *
 *   clients:
 *     - id: my-m2m-app
 *       secret: s3cret
 *       audiences: [https://warden.local/api/]   # or `audience: X`
 *       scopes: [read:weather, tools:call]        # or `scope: "a b"`
 *
 * Unknown keys, missing fields and bad values are errors with file:line:col in d. Returns an
 * owned list (wdn_issuer_clients_free) or NULL.
 */
struct wdn_issuer_clients *wdn_issuer_clients_load(const char *path, struct wdn_diag *d);
/** Same from a buffer (name is used in messages). */
struct wdn_issuer_clients *wdn_issuer_clients_parse(struct wdn_str yaml, const char *name,
                                                    struct wdn_diag *d);
/** The clients (borrowed from list) and their count. */
const struct wdn_issuer_client_cfg *wdn_issuer_clients_items(const struct wdn_issuer_clients *l,
                                                             size_t *n);
/** Frees the list and wipes the secrets. NULL is fine. */
void wdn_issuer_clients_free(struct wdn_issuer_clients *l);

/* ---- On the HTTP server ----------------------------------------------------------------- */

struct wdn_http_handler;

/**
 * A handler for src/http/server.h that serves iss (borrowed; must outlive the handler) and
 * declines every other path. log, when set, is called once per token request with the
 * outcome (never a secret or token). Returns an owned handler (wdn_issuer_http_handler_free)
 * or NULL when out of memory.
 */
typedef void (*wdn_issuer_log_fn)(const char *method, const char *path, int status,
                                  const char *error, const char *client_id, void *ud);
struct wdn_http_handler *wdn_issuer_http_handler_new(struct wdn_issuer *iss, wdn_issuer_log_fn log,
                                                     void *log_ud);
void wdn_issuer_http_handler_free(struct wdn_http_handler *h);

#endif
