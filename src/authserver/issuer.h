/* The authorization server behind `warden issuer`: an OAuth 2.1 authorization server for
 * development and small teams that follows the MCP authorization spec (2025-06-18 through
 * 2026-07-28).
 *
 *   grants      client credentials (Auth0 JSON bodies and RFC 6749 forms, client_secret_basic
 *               or client_secret_post), authorization code with PKCE (S256 only), refresh
 *               tokens (rotated, family revoked on reuse, bound to client and resource)
 *   clients     configured client-credentials clients; clients registered with
 *               `warden issuer client add`; Client ID Metadata Documents (a client_id that is
 *               an https URL, fetched with SSRF guards); RFC 7591 registration behind --dcr
 *   people      users made with `warden issuer user add` (scrypt), a server-rendered sign-in
 *               and consent page without JavaScript, sessions, CSRF tokens, throttling
 *   discovery   RFC 8414 and OIDC documents on every well-known path (also path-inserted for
 *               an issuer with a path), a JWKS, JWT access tokens (RFC 9068) with RFC 8707
 *               resource -> aud, keys rotated while it runs (publish first, sign later)
 *
 * The request logic (wdn_issuer_handle) is a function of a request and the clock, so it is
 * tested and fuzzed without sockets; only Client ID Metadata Documents need the network, and
 * their fetch can be replaced (wdn_issuer_cimd_fetch_fn). wdn_issuer_http_handler puts it on
 * the HTTP server (requests run in libuv's thread pool: scrypt and fetches never stall the
 * loop), and wdn_issuer_daemon_run is the whole server `warden issuer` runs.
 *
 * State lives in a folder (the project's issuer/): keys, users.json, clients.json,
 * consents.json and refresh.json, each written atomically (0600), so it survives a restart.
 * Sessions, pending sign-ins and authorization codes (single use, 60 s) live in memory. */
#ifndef WDN_AUTHSERVER_ISSUER_H
#define WDN_AUTHSERVER_ISSUER_H

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
/** Default refresh token lifetimes: each token (unused) and a whole family from sign-in. */
#define WDN_ISSUER_DEFAULT_REFRESH_LIFETIME_S (14 * 24 * 3600)
#define WDN_ISSUER_DEFAULT_REFRESH_MAX_S (90 * 24 * 3600)
/** The audience of the client generated when none is configured. */
#define WDN_ISSUER_DEFAULT_AUDIENCE "https://warden.local/api/"
/** Paths served, below the issuer URL's path. */
#define WDN_ISSUER_TOKEN_PATH "/oauth/token"
#define WDN_ISSUER_JWKS_PATH "/.well-known/jwks.json"
#define WDN_ISSUER_AUTHORIZE_PATH "/authorize"
#define WDN_ISSUER_REGISTER_PATH "/register"

/** One client-credentials client. Strings are borrowed by wdn_issuer_new for the call only. */
struct wdn_issuer_client_cfg {
    const char *id;               /* client_id: 1..WDN_ISSUER_MAX_FIELD_BYTES printable */
    const char *secret;           /* client_secret, same rules */
    const char *const *audiences; /* allowed audiences / resources; the first is the default */
    size_t naudiences;            /* at least one */
    const char *const *scopes;    /* allowed scopes; none means the client gets no scope */
    size_t nscopes;
};

/** A Client ID Metadata Document as fetched: body and the max-age to cache it for. */
struct wdn_issuer_cimd_doc {
    struct wdn_buf body; /* the document (caller-initialised, bounded) */
    long status;         /* HTTP status */
    char content_type[128];
    int64_t max_age; /* seconds from Cache-Control; -1 when absent, 0 for no-store */
};

/**
 * Fetches url (an https client_id) into doc. 0, or a WDN_E* with d saying why (shown to the
 * user on the error page). The default fetch is wdn_fetch with the SSRF guard of
 * http/fetch.h (public addresses only unless allow_local_cimd), https only, no redirects and
 * the size and time limits of limits.h; tests and fuzzers replace it.
 */
typedef int (*wdn_issuer_cimd_fetch_fn)(void *ud, const char *url, struct wdn_issuer_cimd_doc *doc,
                                        struct wdn_diag *d);

/** Issuer settings. Borrowed for the call to wdn_issuer_new only. */
struct wdn_issuer_config {
    const char *issuer;    /* "iss" and the metadata's issuer, e.g. "https://127.0.0.1:9443/"
                              or "https://127.0.0.1:9443/tenant" (a path: endpoints live
                              below it, and discovery is also served path-inserted) */
    const char *state_dir; /* folder with keys.json and keys/ (see wdn_issuer_keys_ensure) */
    const char *typ;       /* JWT header typ: NULL = "at+jwt" (RFC 9068); "JWT" also allowed */
    int64_t lifetime_s;    /* access token lifetime; 0 = WDN_ISSUER_DEFAULT_LIFETIME_S */
    const struct wdn_issuer_client_cfg *clients; /* client-credentials clients */
    size_t nclients;                             /* 0..WDN_ISSUER_MAX_CLIENTS */
    /* Interactive clients (authorization code): the resources (token audiences) they may ask
     * for, the first being the default when a request names none; with none given, every
     * client-credentials client's audiences. A resource outside the list is invalid_target. */
    const char *const *resources;
    size_t nresources;
    /* The scopes interactive clients may ask for (also scopes_supported). */
    const char *const *scopes;
    size_t nscopes;
    int64_t refresh_lifetime_s; /* 0 = WDN_ISSUER_DEFAULT_REFRESH_LIFETIME_S */
    int64_t refresh_max_s;      /* 0 = WDN_ISSUER_DEFAULT_REFRESH_MAX_S */
    bool dcr;                   /* serve RFC 7591 registration at /register */
    bool allow_local_cimd;      /* CIMD URLs may resolve to loopback/private addresses (dev) */
    const char *ca_file;        /* extra CA the default CIMD fetch trusts (NULL: system only) */
    wdn_issuer_cimd_fetch_fn cimd_fetch; /* NULL: the default fetch */
    void *cimd_fetch_ud;
};

/** A running issuer. Thread-safe: wdn_issuer_handle may run on several threads at once. */
struct wdn_issuer;

/**
 * Creates an issuer and loads its state from cfg->state_dir (which must already hold a key:
 * call wdn_issuer_keys_ensure first). Client secrets are kept only as hashes.
 * Returns an owned issuer (free with wdn_issuer_free) or NULL with d saying what to fix.
 */
struct wdn_issuer *wdn_issuer_new(const struct wdn_issuer_config *cfg, struct wdn_diag *d);
/** Frees the issuer. NULL is fine. */
void wdn_issuer_free(struct wdn_issuer *iss);

/** The parts of an HTTP request the issuer looks at; every slice is borrowed for the call. */
struct wdn_issuer_request {
    struct wdn_str method;
    struct wdn_str path;          /* without the query */
    struct wdn_str query;         /* after '?', empty when none */
    struct wdn_str content_type;  /* empty when absent */
    struct wdn_str authorization; /* empty when absent */
    bool has_authorization;       /* the header was present (even if empty) */
    bool repeated_auth_header;    /* more than one Authorization header */
    struct wdn_str cookie;        /* the Cookie header(s), empty when absent */
    struct wdn_str origin;        /* the Origin header, empty when absent */
    const char *peer;             /* the client's address as text (throttling); NULL = "-" */
    struct wdn_str body;
    bool body_too_large; /* the body was over WDN_ISSUER_MAX_BODY_BYTES (body empty) */
};

/** A response header beyond the fixed ones. name is static; value is owned by the response. */
struct wdn_issuer_header {
    const char *name;
    char *value;
};

#define WDN_ISSUER_MAX_RESP_HEADERS 10

/** The answer. Caller-allocated; header strings are static or owned by the struct. */
struct wdn_issuer_response {
    int status;
    const char *content_type;  /* "application/json" or "text/html; charset=utf-8" */
    const char *cache_control; /* "no-store" for tokens, pages and errors; max-age for
                                  metadata */
    bool pragma_no_cache;      /* add Pragma: no-cache (token responses, RFC 6749 5.1) */
    const char *allow;         /* Allow header for 405, else NULL */
    char www_authenticate[96]; /* "" when not sent */
    struct wdn_issuer_header headers[WDN_ISSUER_MAX_RESP_HEADERS]; /* Location, Set-Cookie,
                                     Content-Security-Policy, X-Frame-Options, ... */
    size_t nheaders;
    struct wdn_buf body; /* owned: release with wdn_issuer_response_reset */
    /* For logs only (never a secret, a token, a code or a password): the endpoint ("token",
     * "authorize", "sign-in", ...), the outcome's error code ("" on success), the client id
     * and the user ("" when none). Borrowed from the issuer or static, or held in user. */
    const char *event;
    const char *error;
    char client_id[256]; /* truncated copy */
    char user[72];
};

/**
 * Serves one request at Unix time now: every endpoint listed above. Fills resp (initialised by
 * the call). Returns 0 when the path is the issuer's (resp holds the answer, errors included),
 * WDN_ENOTFOUND for any other path (resp untouched apart from its initialisation), or
 * WDN_ENOMEM / WDN_EINTERNAL when no answer could be built (answer 500).
 */
int wdn_issuer_handle(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                      struct wdn_issuer_response *resp);
/** Frees what resp owns. */
void wdn_issuer_response_reset(struct wdn_issuer_response *resp);
/** The value of response header name (case-insensitive), or NULL. Borrowed from resp. */
const char *wdn_issuer_response_header(const struct wdn_issuer_response *resp, const char *name);
/** True when path (without query) is one of the issuer's, so an HTTP adapter can decline the
 * rest without reading bodies. */
bool wdn_issuer_owns_path(const struct wdn_issuer *iss, struct wdn_str path);
/** The issuer URL (borrowed). */
const char *wdn_issuer_url(const struct wdn_issuer *iss);

/** The kid of the key tokens are signed with at Unix time now (copied into buf). 0 or WDN_E*. */
int wdn_issuer_signing_kid(struct wdn_issuer *iss, int64_t now, char *buf, size_t cap);

/* ---- The key store ---------------------------------------------------------------------- */

/**
 * Makes sure state_dir (created 0700 when missing) holds a signing key of alg (0 = RS256):
 * when it holds none, one is generated; when the current key has another algorithm, this is
 * a rotation to a new key of alg that signs at once (the old one stays published for
 * overlap_s). Key files are keys/<kid>.pem (0600) and keys.json (0600) lists them. Takes a
 * lock on state_dir/lock. If created is not NULL it tells whether a key was generated.
 * 0 or WDN_E* with d.
 */
int wdn_issuer_keys_ensure(const char *state_dir, enum wdn_jose_alg alg, int64_t overlap_s,
                           int64_t now, bool *created, struct wdn_diag *d);

/**
 * Rotates: generates a new key (alg 0 = the current key's algorithm, else RS256) that is
 * published at once and signs from now + delay_s (0: at once, for emergencies); the previous
 * keys keep signing until then and retire at now + delay_s + overlap_s (they stay in the JWKS
 * until then); keys whose retirement has passed, and a key still waiting to sign, are dropped.
 * A running issuer picks it up on its next request. The new kid is copied into kid_out (may
 * be NULL). 0 or WDN_E* with d.
 */
int wdn_issuer_keys_rotate(const char *state_dir, enum wdn_jose_alg alg, int64_t delay_s,
                           int64_t overlap_s, int64_t now, char *kid_out, size_t kid_cap,
                           struct wdn_diag *d);

/* ---- Users and registered clients (the state folder; the CLI's user/client commands) ---- */

/**
 * Adds user name with password (hashed with scrypt through OpenSSL's EVP_KDF; the password
 * itself is never stored) to state_dir/users.json (0600), or replaces its password when
 * replace is set. Names are 1..64 of [A-Za-z0-9._@+-]; passwords 8..1024 bytes. A running
 * issuer picks the change up on its next sign-in. 0, WDN_EEXISTS, WDN_EINVAL or WDN_E* with d.
 */
int wdn_issuer_user_add(const char *state_dir, const char *name, const char *password, bool replace,
                        struct wdn_diag *d);
/** Removes a user (and its remembered consents stay harmless). 0 or WDN_ENOTFOUND with d. */
int wdn_issuer_user_remove(const char *state_dir, const char *name, struct wdn_diag *d);
/** Calls fn for each user name, in file order. 0, the first non-zero fn result, or WDN_E*. */
int wdn_issuer_user_list(const char *state_dir, int (*fn)(const char *name, void *ud), void *ud,
                         struct wdn_diag *d);

/** A client registered for the authorization code grant. Borrowed for the call. */
struct wdn_issuer_reg_client {
    const char *id;                   /* 1..WDN_ISSUER_MAX_FIELD_BYTES printable, not https:// */
    const char *name;                 /* shown on the consent page; NULL = the id */
    const char *const *redirect_uris; /* https, or http on a loopback host; at least one */
    size_t nredirect_uris;
    bool public_client; /* token_endpoint_auth_method none (PKCE only) */
    const char *scope;  /* space-separated scopes it may ask for; NULL = any
                           the issuer offers */
};

/**
 * Registers c in state_dir/clients.json (0600). A confidential client gets a random secret,
 * copied into secret_out (cap >= 64; only its hash is stored). 0, WDN_EEXISTS (the id is
 * taken), WDN_EINVAL (a bad redirect URI or field, d says which) or WDN_E*.
 */
int wdn_issuer_client_add(const char *state_dir, const struct wdn_issuer_reg_client *c,
                          char *secret_out, size_t cap, struct wdn_diag *d);
/** Removes a registered client. 0 or WDN_ENOTFOUND with d. */
int wdn_issuer_client_remove(const char *state_dir, const char *id, struct wdn_diag *d);
/** Calls fn for each registered client: its id, whether public, its redirect URIs joined by
 * spaces and where it came from ("cli" or "dcr"). */
int wdn_issuer_client_list(const char *state_dir,
                           int (*fn)(const char *id, bool public_client, const char *redirects,
                                     const char *source, void *ud),
                           void *ud, struct wdn_diag *d);

/* ---- The clients file (client credentials) ---------------------------------------------- */

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

/**
 * The client kept in state_dir/client.json (0600) for an issuer started without clients: read
 * when present, else generated (random id, 256-bit secret) and written, so a restart prints
 * the same credentials. id and secret receive them (cap >= 64 each). 0 or WDN_E*.
 */
int wdn_issuer_generated_client(const char *state_dir, char *id, char *secret, size_t cap);

/* ---- On the HTTP server ----------------------------------------------------------------- */

struct wdn_http_handler;

/** One line's worth of what happened (never a secret, token, code or password). */
struct wdn_issuer_log_event {
    const char *method, *path, *event, *error, *client_id, *user, *peer;
    int status;
};
typedef void (*wdn_issuer_log_fn)(const struct wdn_issuer_log_event *ev, void *ud);

/**
 * A handler for src/http/server.h that serves iss (borrowed; must outlive the handler) and
 * declines every other path. Requests run in libuv's thread pool and are answered on the
 * loop. log, when set, is called once per request with the outcome. Returns an owned handler
 * (wdn_issuer_http_handler_free) or NULL when out of memory.
 */
struct wdn_http_handler *wdn_issuer_http_handler_new(struct wdn_issuer *iss, wdn_issuer_log_fn log,
                                                     void *log_ud);
void wdn_issuer_http_handler_free(struct wdn_http_handler *h);

/* ---- The daemon ------------------------------------------------------------------------- */

/** What `warden issuer` runs. Borrowed for the call. */
struct wdn_issuer_daemon_config {
    struct wdn_issuer_config issuer; /* .issuer is filled in by the daemon from the port */
    const char *path;                /* the issuer URL's path ("" or "/tenant"); NULL = "" */
    int port;                        /* on the address; 0 picks a free one */
    const char *address;             /* listen address (IPv4); NULL = 127.0.0.1 */
    const char *host;                /* the issuer URL's host (a DNS name or an IPv4 address),
                                        also named by the HTTPS certificate; NULL = 127.0.0.1 */
    bool http;                       /* plain HTTP instead of HTTPS (tests) */
    const char *project;             /* the project whose CA signs the HTTPS certificate; NULL: a CA
                                        kept in state_dir/ca */
    wdn_issuer_log_fn log;           /* per request, on a worker thread */
    void *log_ud;
    /* Called once the server listens and signals are handled, before it serves: url is the
     * issuer URL, port the bound port, ca_file the CA of the HTTPS certificate ("" with http).
     * Returning non-zero stops the daemon at once with that status. */
    int (*ready)(void *ud, const char *url, int port, const char *ca_file);
    void *ready_ud;
};

/**
 * Runs the issuer until SIGINT or SIGTERM: takes state_dir/issuer.lock (one issuer per state
 * folder; WDN_EBUSY with d naming the running one's pid otherwise), sets up HTTPS with a fresh
 * server certificate from the CA, listens, writes state_dir/issuer.pid, calls ready, serves,
 * and on a signal finishes in-flight requests and removes the pid file. Returns 0 after a
 * clean stop or WDN_E* with d (nothing is printed or logged by the library apart from cfg->log).
 */
int wdn_issuer_daemon_run(const struct wdn_issuer_daemon_config *cfg, struct wdn_diag *d);

#endif
