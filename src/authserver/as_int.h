/* Internals shared by the authorization server's files: the issuer object, the state folder's
 * files, clients, the authorization request, and each part's small interface. Everything that
 * holds mutable state is guarded by the issuer's one mutex (iss->mu); slow work (scrypt, a
 * Client ID Metadata Document fetch, signing keys aside) runs with it released. */
#ifndef WDN_AUTHSERVER_AS_INT_H
#define WDN_AUTHSERVER_AS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <jansson.h>

#include "authserver/issuer.h"
#include "base/diag.h"
#include "base/limits.h"
#include "jose/sign.h"

#define WDN__ISSUER_MANIFEST "keys.json"
#define WDN__ISSUER_KEYS_DIR "keys"
#define WDN__AS_HASH_LEN 32
#define WDN__AS_RANDOM_CHARS 43 /* 32 random bytes in base64url */
#define WDN__AS_USER_MAX 64     /* a user name */

struct wdn_form;

/* ---- Keys (keys.c) ------------------------------------------------------------------------ */

/** The keys of the state folder as loaded at one moment. Owned by whoever loaded it. */
struct wdn__issuer_keyset {
    size_t n;
    struct wdn_jose_key *keys[WDN_ISSUER_MAX_KEYS];
    int64_t retires[WDN_ISSUER_MAX_KEYS];   /* 0: not retiring; else Unix time it leaves JWKS */
    int64_t activates[WDN_ISSUER_MAX_KEYS]; /* Unix time from which it may sign */
    struct stat st;                         /* keys.json when it was read (change detection) */
};

/** Loads keys.json and every key it lists. 0, or WDN_E* with d (out untouched). */
int wdn__issuer_keyset_load(const char *state_dir, struct wdn__issuer_keyset **out,
                            struct wdn_diag *d);
/** The index of the key that signs at Unix time now (see keys.c). */
size_t wdn__issuer_keyset_signing(const struct wdn__issuer_keyset *ks, int64_t now);
/** Frees a key set (NULL ok). */
void wdn__issuer_keyset_free(struct wdn__issuer_keyset *ks);
/** True when keys.json is no longer the file ks was read from (renamed over, changed). */
int wdn__issuer_keyset_stale(const struct wdn__issuer_keyset *ks, const char *state_dir);

/* ---- The state folder (store.c) ----------------------------------------------------------- */

/** Creates dir (0700, parents too) and takes the flock on dir/lock that every read-modify-write
 * of the folder's files holds; *fd for wdn__as_unlock. 0 or WDN_E* with d. */
int wdn__as_lock(const char *dir, int *fd, struct wdn_diag *d);
void wdn__as_unlock(int fd);
/** Reads dir/name (at most max bytes) as a JSON object into *out (owned); a missing file gives
 * *out = NULL and 0. st (may be NULL) receives the file's identity (zeroed when missing). */
int wdn__as_read_json(const char *dir, const char *name, size_t max, json_t **out, struct stat *st,
                      struct wdn_diag *d);
/** Writes root to dir/name atomically, 0600. 0 or WDN_E* with d. */
int wdn__as_write_json(const char *dir, const char *name, json_t *root, struct wdn_diag *d);
/** True when dir/name differs from the file st described (created, replaced, removed). */
bool wdn__as_file_changed(const char *dir, const char *name, const struct stat *st);
/** Locks dir and reads the array list of dir/file into *arr, borrowed from *root (owned; an
 * empty one when the file is missing). The caller writes *root back or not, then decrefs it
 * and unlocks *fd. 0 or WDN_E* with d. */
int wdn__as_list_open(const char *dir, const char *file, const char *list, int *fd, json_t **root,
                      json_t **arr, struct wdn_diag *d);
/** The index of the entry of arr whose string member key equals value, or -1. */
long wdn__as_list_find(json_t *arr, const char *key, const char *value);
/** Removes that entry from dir/file under the lock. WDN_ENOTFOUND ("no <what> '<value>'"). */
int wdn__as_list_remove(const char *dir, const char *file, const char *list, const char *key,
                        const char *value, const char *what, struct wdn_diag *d);
/** bytes random bytes as base64url into out (cap >= 4 * bytes / 3 + 2). 0 or WDN_ECRYPTO. */
int wdn__as_random(char *out, size_t cap, size_t bytes);
/** SHA-256 of p. */
void wdn__as_sha256(const void *p, size_t n, unsigned char out[WDN__AS_HASH_LEN]);
/** SHA-256 of s as base64url (43 characters) into out (cap >= 44). */
void wdn__as_sha256_b64(const char *s, char *out, size_t cap);

/* ---- URIs (uri.c) ------------------------------------------------------------------------- */

/** The parts of an absolute http(s) URI that redirect matching and CIMD need. */
struct wdn__as_uri {
    bool https;
    bool loopback;       /* host is 127.0.0.1, [::1] or localhost */
    bool loopback_ip;    /* host is 127.0.0.1 or [::1] (RFC 8252 7.3: any port matches) */
    struct wdn_str host; /* as written, brackets included for IPv6 */
    struct wdn_str port; /* digits, empty when absent */
    struct wdn_str path; /* from the first '/' to the end (query included), may be empty */
};

/** Splits an http or https URI (borrowed: slices point into s). 0, or WDN_EINVAL with *why. */
int wdn__as_uri_parse(const char *s, struct wdn__as_uri *u, const char **why);
/** A redirect URI a client may register: https, or http on a loopback host; no fragment, no
 * userinfo, printable ASCII without spaces, at most WDN_ISSUER_MAX_URI_BYTES. */
int wdn__as_redirect_uri_ok(const char *s, const char **why);
/** True when presented matches registered: byte for byte, or for http on 127.0.0.1 / [::1]
 * the same but for the port (RFC 8252 7.3). */
bool wdn__as_redirect_match(const char *registered, const char *presented);
/** A CIMD client_id: https with a path other than "/", no fragment, userinfo, dot segments. */
int wdn__as_cimd_url_ok(const char *s, const char **why);
/** "scheme://host[:port]" of an http(s) URI into out. 0 or WDN_EINVAL. */
int wdn__as_uri_origin(const char *s, char *out, size_t cap);
/** Two resource indicators name the same resource: equal, but for the case of the scheme and
 * the host (MCP: accept uppercase scheme and host, compare the rest exactly). */
bool wdn__as_resource_eq(const char *a, const char *b);
/** RFC 8707 2: an absolute URI without a fragment. */
bool wdn__as_absolute_uri(const char *s);
/** 1..max bytes without control characters (names shown on pages, ids, scopes). */
bool wdn__as_printable(const char *s, size_t max);
/** A scope value: scope tokens (RFC 6749 3.3) separated by single spaces; "" is fine. */
bool wdn__as_scope_ok(const char *scope);
/** RFC 6749 3.3 scope token. */
bool wdn__as_scope_token_ok(struct wdn_str s);
/** True when every token of scope (space-separated) is in the space-separated set. */
bool wdn__as_scope_subset(const char *scope, const char *set);

/* ---- Clients that use the authorization code grant (registry.c, cimd.c) ------------------- */

enum wdn__as_source { WDN__AS_SRC_CLI = 0, WDN__AS_SRC_DCR, WDN__AS_SRC_CIMD };

/** A client of the authorization code grant; owns its strings. */
struct wdn__as_client {
    char *id;
    char *name; /* display name; never NULL once filled */
    char **redirects;
    size_t nredirects;
    bool public_client;                          /* no secret: PKCE and client_id only */
    unsigned char secret_hash[WDN__AS_HASH_LEN]; /* SHA-256 of the secret (confidential) */
    char *scope; /* space-separated scopes it may ask for; NULL = any offered */
    enum wdn__as_source source;
};

void wdn__as_client_reset(struct wdn__as_client *c);
int wdn__as_client_copy(struct wdn__as_client *dst, const struct wdn__as_client *src);

/** The registered clients (clients.json), re-read when the file changes. */
struct wdn__as_registry;
struct wdn__as_registry *wdn__as_registry_new(void);
void wdn__as_registry_free(struct wdn__as_registry *r);
/** Copies client id from clients.json into out (re-reading the file when it changed). Called
 * with iss->mu held. 0 or WDN_ENOTFOUND. */
int wdn__as_registry_find(struct wdn_issuer *iss, const char *id, struct wdn__as_client *out);
/** Parses one clients.json entry (fuzzed through DCR). 0 or WDN_EPARSE. */
int wdn__as_client_from_json(json_t *e, struct wdn__as_client *out);
/** The JSON entry of c (with source and created), owned. */
json_t *wdn__as_client_to_json(const struct wdn__as_client *c, int64_t created);
/** Adds c to dir/clients.json under the folder lock. WDN_EEXISTS when the id is taken,
 * WDN_ELIMIT when WDN_ISSUER_MAX_REG_CLIENTS are registered. */
int wdn__as_registry_add(const char *dir, const struct wdn__as_client *c, int64_t now,
                         struct wdn_diag *d);

/** The cache of fetched Client ID Metadata Documents. */
struct wdn__as_cimd_cache;
struct wdn__as_cimd_cache *wdn__as_cimd_cache_new(void);
void wdn__as_cimd_cache_free(struct wdn__as_cimd_cache *c);
/**
 * Validates a fetched document for url: a JSON object whose client_id equals url byte for byte,
 * with client_name, redirect_uris (valid, at most WDN_ISSUER_MAX_REDIRECTS), no secret and a
 * token_endpoint_auth_method of none. Fills out (a public client). 0 or WDN_EINVAL with d.
 */
int wdn__as_cimd_parse(const char *url, struct wdn_str doc, struct wdn__as_client *out,
                       struct wdn_diag *d);
/** The client of a CIMD client_id: from the cache, else fetched (with iss->mu released) and
 * validated. Called without the mutex. 0 or WDN_E* with d saying why. */
int wdn__as_cimd_client(struct wdn_issuer *iss, const char *url, int64_t now,
                        struct wdn__as_client *out, struct wdn_diag *d);
/** The default fetch (wdn_fetch with the SSRF guard). ud is the issuer. */
int wdn__as_cimd_fetch_default(void *ud, const char *url, struct wdn_issuer_cimd_doc *doc,
                               struct wdn_diag *d);

/**
 * Finds an authorization-code client by id: registered, else (an https URL) through its
 * metadata document. Called without the mutex. 0, WDN_ENOTFOUND, or a CIMD failure with d.
 */
int wdn__as_find_client(struct wdn_issuer *iss, const char *id, int64_t now,
                        struct wdn__as_client *out, struct wdn_diag *d);

/* ---- Users (users.c) ---------------------------------------------------------------------- */

struct wdn__as_users;
struct wdn__as_users *wdn__as_users_new(void);
void wdn__as_users_free(struct wdn__as_users *u);
/** True when name is a valid user name. */
bool wdn__as_user_name_ok(const char *name);
/** Checks name's password (scrypt, with iss->mu released; an unknown name costs the same).
 * *ok tells. 0 or WDN_E* (state unreadable). Called without the mutex. */
int wdn__as_password_check(struct wdn_issuer *iss, const char *name, const char *password,
                           bool *ok);

/* ---- Sessions, pending sign-ins, throttling (session.c) ----------------------------------- */

/** What a request's session cookie names. Copies. */
struct wdn__as_session_view {
    bool found;
    unsigned char hash[WDN__AS_HASH_LEN]; /* of the session id */
    char user[WDN__AS_USER_MAX + 1];      /* "" when not signed in */
    char csrf[WDN__AS_RANDOM_CHARS + 1];
};

struct wdn__as_sessions;
struct wdn__as_sessions *wdn__as_sessions_new(void);
void wdn__as_sessions_free(struct wdn__as_sessions *s);
/** The session name of the cookie: "__Host-warden-session" over https, else "warden-session". */
const char *wdn__as_cookie_name(const struct wdn_issuer *iss);
/** Finds the session of a Cookie header value at now. Called with the mutex. */
void wdn__as_session_find(struct wdn_issuer *iss, struct wdn_str cookie, int64_t now,
                          struct wdn__as_session_view *out);
/** Starts a session for user ("" for an anonymous one that only carries a CSRF token), with a
 * fresh id: fills out and adds its Set-Cookie header to resp. Called with the mutex. */
int wdn__as_session_start(struct wdn_issuer *iss, const char *user, int64_t now,
                          struct wdn__as_session_view *out, struct wdn_issuer_response *resp);
/** Ends the session with that hash (no-op when gone). Called with the mutex. */
void wdn__as_session_end(struct wdn_issuer *iss, const unsigned char hash[WDN__AS_HASH_LEN]);
/** Adds a Set-Cookie header that clears the session cookie. */
int wdn__as_session_clear_cookie(struct wdn_issuer *iss, struct wdn_issuer_response *resp);

/** Whether a sign-in for user from peer may be tried at now; *wait_s says how long not. */
bool wdn__as_throttle_allows(struct wdn_issuer *iss, const char *user, const char *peer,
                             int64_t now, int64_t *wait_s);
/** Records a failed or a successful sign-in. */
void wdn__as_throttle_record(struct wdn_issuer *iss, const char *user, const char *peer,
                             int64_t now, bool ok);

/* ---- The authorization request (authorize.c) ---------------------------------------------- */

/** A validated authorization request; owns its strings. */
struct wdn__as_authz {
    char *client_id, *client_name, *redirect_uri, *state, *scope, *resource, *challenge;
    enum wdn__as_source source;
    bool public_client;
    bool prompt_none, prompt_login, prompt_consent;
};

void wdn__as_authz_reset(struct wdn__as_authz *a);
int wdn__as_authz_copy(struct wdn__as_authz *dst, const struct wdn__as_authz *src);

/** Why an authorization request was refused: shown on a page (the client or its redirect URI
 * could not be trusted: never redirected), or redirected to the client as error/description. */
struct wdn__as_authz_error {
    bool page; /* true: show message on an error page with status */
    int status;
    const char *error; /* OAuth error code (redirect), static */
    char message[512];
};

/**
 * Parses and validates the query of an authorization request at now: client (registered or
 * CIMD, fetched without the mutex), redirect URI, response type, PKCE (S256 only), scope,
 * resource, state, prompt. 0 with out filled, or WDN_EINVAL with err filled (out empty).
 * Called without the mutex.
 */
int wdn__as_authz_parse(struct wdn_issuer *iss, struct wdn_str query, int64_t now,
                        struct wdn__as_authz *out, struct wdn__as_authz_error *err);
/** The redirect to a->redirect_uri carrying code (or error and description), state and the
 * RFC 9207 iss: Location header and status (302, or 303 after a form). */
int wdn__as_authz_redirect(struct wdn_issuer *iss, const struct wdn__as_authz *a, const char *code,
                           const char *error, const char *description, int status,
                           struct wdn_issuer_response *resp);

struct wdn__as_pending;
struct wdn__as_pending *wdn__as_pending_new(void);
void wdn__as_pending_free(struct wdn__as_pending *p);
/** Keeps a (copied) until now + WDN_ISSUER_PENDING_LIFETIME_S, bound to the session with hash
 * session; its id into rid (cap >= 44). Called with the mutex. */
int wdn__as_pending_put(struct wdn_issuer *iss, const struct wdn__as_authz *a,
                        const unsigned char session[WDN__AS_HASH_LEN], int64_t now, char *rid,
                        size_t cap);
/** Copies the pending request rid of session into out. take removes it. Called with the mutex.
 * 0 or WDN_ENOTFOUND (unknown, expired or another session's). */
int wdn__as_pending_get(struct wdn_issuer *iss, const char *rid,
                        const unsigned char session[WDN__AS_HASH_LEN], int64_t now, bool take,
                        struct wdn__as_authz *out);
/** Moves every pending request of session old to session new (sign-in renews the id). */
void wdn__as_pending_rebind(struct wdn_issuer *iss, const unsigned char old[WDN__AS_HASH_LEN],
                            const unsigned char fresh[WDN__AS_HASH_LEN]);

/* ---- The sign-in and consent endpoints (signin.c), pages (pages.c) ------------------------ */

int wdn__as_authorize(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                      struct wdn_issuer_response *resp);
int wdn__as_signin(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                   struct wdn_issuer_response *resp);
int wdn__as_consent(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                    struct wdn_issuer_response *resp);
int wdn__as_signout(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                    struct wdn_issuer_response *resp);
/**
 * The next step of a validated request a for session s (mutex held): the sign-in page when
 * nobody is signed in (or prompt=login), else a code redirected to the client (status 302 or
 * 303) when the user already consented to this client, resource and scopes, else the consent
 * page. prompt=none turns the pages into login_required / consent_required redirects. A
 * redirect ends the pending request rid.
 */
int wdn__as_proceed(struct wdn_issuer *iss, const struct wdn__as_authz *a,
                    const struct wdn__as_session_view *s, const char *rid, int64_t now, int status,
                    struct wdn_issuer_response *resp);

/** What a page shows. Strings are borrowed (escaped when written). */
struct wdn__as_page {
    const char *title;
    const char *message; /* error or notice text, may be NULL */
    bool message_is_error;
    const char *csrf;                  /* the session's CSRF token for forms */
    const char *rid;                   /* the pending request the forms carry */
    const char *user;                  /* signed-in user, or the name typed (sign-in form) */
    const struct wdn__as_authz *authz; /* consent: the request */
    const char *form_action_origin;    /* the client's redirect origin, for CSP form-action */
};

/** The sign-in page (status 200, or 401 / 429 with a message). */
int wdn__as_page_signin(struct wdn_issuer *iss, int status, const struct wdn__as_page *p,
                        struct wdn_issuer_response *resp);
/** The consent page. */
int wdn__as_page_consent(struct wdn_issuer *iss, const struct wdn__as_page *p,
                         struct wdn_issuer_response *resp);
/** An error or notice page with status (never a link back to the client). */
int wdn__as_page_message(struct wdn_issuer *iss, int status, const struct wdn__as_page *p,
                         struct wdn_issuer_response *resp);
/** Appends s to out with HTML escaping (& < > " ' and control bytes). */
int wdn__as_html_escape(struct wdn_buf *out, const char *s);
/** The CSP hash of the pages' style sheet ('sha256-...'), computed once. */
const char *wdn__as_style_hash(void);

/* ---- Codes, consents, refresh tokens ------------------------------------------------------ */

/** What a redeemed code carried; owns its strings. */
struct wdn__as_grant {
    struct wdn__as_authz authz;
    char user[WDN__AS_USER_MAX + 1];
    unsigned char code_hash[WDN__AS_HASH_LEN];
};

struct wdn__as_codes;
struct wdn__as_codes *wdn__as_codes_new(void);
void wdn__as_codes_free(struct wdn__as_codes *c);
/** Issues a single-use code for a and user, valid WDN_ISSUER_CODE_LIFETIME_S; the code into
 * out (cap >= 44). Called with the mutex. */
int wdn__as_code_issue(struct wdn_issuer *iss, const struct wdn__as_authz *a, const char *user,
                       int64_t now, char *out, size_t cap);
/**
 * Redeems code at now into g. WDN_ENOTFOUND (unknown or expired), or WDN_EEXISTS when it was
 * redeemed before: then the refresh family issued for it is revoked too. Called with the mutex.
 */
int wdn__as_code_redeem(struct wdn_issuer *iss, const char *code, int64_t now,
                        struct wdn__as_grant *g);
/** Records the refresh family issued for the code with hash h (revoked if it is reused). */
void wdn__as_code_set_family(struct wdn_issuer *iss, const unsigned char h[WDN__AS_HASH_LEN],
                             const char *family);
void wdn__as_grant_reset(struct wdn__as_grant *g);

struct wdn__as_consents;
struct wdn__as_consents *wdn__as_consents_new(void);
void wdn__as_consents_free(struct wdn__as_consents *c);
/** True when user consented to client for resource and every scope of scope. With mutex. */
bool wdn__as_consent_has(struct wdn_issuer *iss, const char *user, const char *client,
                         const char *resource, const char *scope);
/** Remembers a consent (consents.json). With mutex. */
int wdn__as_consent_put(struct wdn_issuer *iss, const char *user, const char *client,
                        const char *resource, const char *scope, int64_t now);

/** A refresh token's grant; owns its strings. */
struct wdn__as_refresh_view {
    char family[WDN__AS_RANDOM_CHARS + 1];
    char *client_id, *user, *scope, *resource;
    int64_t family_expires;
};
void wdn__as_refresh_view_reset(struct wdn__as_refresh_view *v);

struct wdn__as_refresh;
struct wdn__as_refresh *wdn__as_refresh_new(void);
void wdn__as_refresh_free(struct wdn__as_refresh *r);
/** Loads refresh.json. Called from wdn_issuer_new. */
int wdn__as_refresh_load(struct wdn_issuer *iss, struct wdn_diag *d);
/** Issues a refresh token for v (a new family when v->family is "", whose absolute expiry is
 * now + refresh_max_s) into out (cap >= 44), persisted. Fills v->family. With mutex. */
int wdn__as_refresh_issue(struct wdn_issuer *iss, struct wdn__as_refresh_view *v, int64_t now,
                          char *out, size_t cap);
/**
 * Spends token at now for client_id: 0 with v filled (the token is now used), WDN_ENOTFOUND
 * (unknown, expired, revoked, another client's), WDN_ERANGE (resource, when not NULL, is not
 * the token's) or WDN_EDENIED (scope, when not NULL, asks for more than it has) leaving the
 * token unspent,
 * or WDN_EEXISTS when it was spent before: its whole family is revoked. With mutex.
 */
int wdn__as_refresh_spend(struct wdn_issuer *iss, const char *token, const char *client_id,
                          const char *resource, const char *scope, int64_t now,
                          struct wdn__as_refresh_view *v);
/** Revokes every token of family. With mutex. */
void wdn__as_refresh_revoke_family(struct wdn_issuer *iss, const char *family);

/* ---- Endpoints (token.c, grants.c, metadata.c, dcr.c) ------------------------------------- */

int wdn__as_token(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                  struct wdn_issuer_response *resp);
int wdn__as_metadata(struct wdn_issuer *iss, int64_t now, struct wdn_issuer_response *resp);
int wdn__as_jwks(struct wdn_issuer *iss, int64_t now, struct wdn_issuer_response *resp);
int wdn__as_register(struct wdn_issuer *iss, const struct wdn_issuer_request *req, int64_t now,
                     struct wdn_issuer_response *resp);

/** The token endpoint's parameters, from a form or an Auth0 JSON body; borrowed. */
struct wdn__as_token_params {
    const char *grant_type, *client_id, *client_secret, *audience, *resource, *scope;
    const char *code, *redirect_uri, *code_verifier, *refresh_token;
};

/** Who is calling the token endpoint. */
struct wdn__as_caller {
    const char *id;     /* borrowed from the request or the issuer */
    bool authenticated; /* a secret was checked (client credentials or confidential) */
    const struct wdn__as_cc_client *cc; /* a client-credentials client, else NULL */
};

/** A step that answered the request itself (an error): the caller stops and returns 0. */
#define WDN__AS_DONE 1
/** rc of the call that answered: a failure stays, success becomes WDN__AS_DONE. */
static inline int wdn__as_done(int rc)
{
    return rc != 0 ? rc : WDN__AS_DONE;
}

/** Checks a client-credentials client's secret in constant time (an unknown id costs the same);
 * *known tells whether the id is a client-credentials client. NULL when it fails. */
const struct wdn__as_cc_client *wdn__as_cc_authenticate(const struct wdn_issuer *iss,
                                                        const char *id, const char *secret,
                                                        bool *known);

/** Grants for interactive clients (grants.c). resp gets the answer (errors included). */
int wdn__as_grant_code(struct wdn_issuer *iss, const struct wdn__as_token_params *p,
                       const struct wdn__as_caller *who, int64_t now,
                       struct wdn_issuer_response *resp);
int wdn__as_grant_refresh(struct wdn_issuer *iss, const struct wdn__as_token_params *p,
                          const struct wdn__as_caller *who, int64_t now,
                          struct wdn_issuer_response *resp);

/** Signs an access token. With mutex (reads the key set). */
struct wdn__as_mint {
    const char *sub, *client_id, *aud, *scope, *gty; /* gty may be NULL */
};
int wdn__as_mint_token(struct wdn_issuer *iss, const struct wdn__as_mint *m, int64_t now,
                       struct wdn_buf *out);
/** Answers a token request with access_token (and refresh_token when not NULL). */
int wdn__as_token_ok(struct wdn_issuer *iss, struct wdn_issuer_response *resp,
                     struct wdn_buf *access, const char *scope, const char *refresh);

/* ---- The issuer object (issuer.c) --------------------------------------------------------- */

/** A client-credentials client: the secret is kept only as SHA-256(salt || secret). */
struct wdn__as_cc_client {
    char *id;
    unsigned char hash[WDN__AS_HASH_LEN];
    char **auds;
    size_t naud;
    char **scopes;
    size_t nscopes;
};

struct wdn_issuer {
    char *issuer; /* "iss", e.g. "https://127.0.0.1:9443/" */
    char *base;   /* issuer without its trailing slash, for endpoint URLs */
    char *path;   /* the issuer's path without a trailing slash: "" or "/tenant" */
    char *origin; /* scheme://host:port of the issuer */
    bool https;
    char *state_dir;
    char *typ;
    int64_t lifetime_s, refresh_lifetime_s, refresh_max_s;
    struct wdn__as_cc_client *clients;
    size_t nclients;
    char **resources; /* audiences interactive clients may ask for; [0] is the default */
    size_t nresources;
    char *scopes; /* the scopes offered to interactive clients, space-separated */
    bool dcr, allow_local_cimd;
    char *ca_file;
    wdn_issuer_cimd_fetch_fn cimd_fetch;
    void *cimd_fetch_ud;
    unsigned char salt[16];
    unsigned char dummy_hash[WDN__AS_HASH_LEN]; /* compared against when a client is unknown */

    pthread_mutex_t mu; /* guards everything below */
    struct wdn__issuer_keyset *ks;
    struct wdn__as_registry *registry;
    struct wdn__as_users *users;
    struct wdn__as_sessions *sessions;
    struct wdn__as_pending *pending;
    struct wdn__as_codes *codes;
    struct wdn__as_consents *consents;
    struct wdn__as_refresh *refresh;
    struct wdn__as_cimd_cache *cimd;
};

/** Re-reads the key set when keys.json changed (the last good set stays). With mutex. */
void wdn__as_refresh_keys(struct wdn_issuer *iss);

/** Response helpers (issuer.c). */
void wdn__as_resp_init(struct wdn_issuer_response *resp);
/** Serialises obj (reference taken) as the JSON body. */
int wdn__as_set_json(struct wdn_issuer_response *resp, json_t *obj);
/** Adds a header whose value is copied. */
int wdn__as_add_header(struct wdn_issuer_response *resp, const char *name, const char *value);
/** An RFC 6749 5.2 error from the token or registration endpoint. description is ASCII. */
int wdn__as_token_error(struct wdn_issuer_response *resp, int status, const char *error,
                        const char *description);
/** "<base><suffix>" into out. */
int wdn__as_endpoint(const struct wdn_issuer *iss, const char *suffix, char *out, size_t cap);
/** The media type of a Content-Type value is type (parameters ignored, case-insensitive). */
bool wdn__as_media_type_is(struct wdn_str ct, const char *type);
/** Wipes and frees a decoded form (its values may be secrets). */
void wdn__as_form_wipe(struct wdn_form *f);

#endif
