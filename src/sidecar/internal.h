/* Internal structures of the sidecar shared by its files: the immutable configuration
 * snapshot, the daemon state, and one section per file with what that file offers the others.
 * Files call one way only (checked by tests/unit/sidecar/file_cycles.sh):
 *   sidecar.c -> config.c identity.c listen.c resolve.c
 *   identity.c -> listen.c;  listen.c -> api.c peer.c metrics.c
 *   api.c, peer.c -> invoke.c -> mcp.c -> forward.c -> reply.c -> metrics.c
 * (each also uses the files further right: config.c, resolve.c, reply.c, metrics.c). */
#ifndef WDN_SIDECAR_INTERNAL_H
#define WDN_SIDECAR_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "audit/audit.h"
#include "base/buf.h"
#include "http/client.h"
#include "http/proxy.h"
#include "http/server.h"
#include "jose/jwt.h"
#include "pipeline/pipeline.h"
#include "pki/pki.h"
#include "policy/policy.h"
#include "sidecar/sidecar.h"

#define WDN__SC_MAX_WORKERS 64
#define WDN__SC_MAX_WATCHES 32

/* ---- Configuration snapshot: immutable once built, reference-counted ---------------------- */

struct wdn__sc_component {
    char *name;
    char *type;
    char *version;
};

/* Where /v1.0/mcp/<name> goes: the MCPServer's app and the path of its endpoint. */
struct wdn__sc_mcp_route {
    char *name;
    char *app_id;
    char *path; /* "/mcp" */
};

struct wdn__sc_cfg {
    atomic_int refs;
    uint64_t generation;
    char *config_name;                  /* "" when no Configuration applies */
    struct wdn_acl *acl;                /* NULL: no access control (allow all, as Dapr) */
    struct wdn_pipeline *http_pipeline; /* NULL when empty */
    struct wdn_pipeline *app_pipeline;
    struct wdn__sc_component *components; /* in scope for this app, for /v1.0/metadata */
    size_t n_components;
    struct wdn_tool_policy *mcp;          /* the MCPServer guarding this app, or NULL */
    char *mcp_name;                       /* its name */
    char *mcp_path;                       /* the app path it guards ("/mcp") */
    struct wdn__sc_mcp_route *mcp_routes; /* every MCPServer known here, by name */
    size_t n_mcp_routes;
    struct wdn__sc_tracing *tracing; /* spec.tracing (observe.c): one reference, or NULL */
};

/** Builds a snapshot from the sources named by the options. Errors are logged; d gets the
 * first. */
int wdn__sc_cfg_build(struct wdn_sidecar *sc, struct wdn__sc_cfg **out, struct wdn_diag *d);
/** The current snapshot with one reference (any thread). */
struct wdn__sc_cfg *wdn__sc_cfg_get(struct wdn_sidecar *sc);
/** Drops a reference (any thread). */
void wdn__sc_cfg_release(struct wdn__sc_cfg *cfg);
/** Installs cfg as current (takes the caller's reference), releasing the previous one. */
void wdn__sc_cfg_install(struct wdn_sidecar *sc, struct wdn__sc_cfg *cfg);
/** strdup (NULL for NULL) and calloc for what the sidecar keeps from its options and builds at
 * start and reload (alloc.c): each a fault site (src/base/fault.h) for the out-of-memory tests
 * (test_sidecar_faults). */
char *wdn__sc_strdup(const char *s);
void *wdn__sc_calloc(size_t n, size_t size);
/** A copy of s in the request's arena, or NULL when the arena has no room (the request is then
 * refused: a header or route is never sent on empty). */
char *wdn__sc_rq_strdup(struct wdn_http_req *req, const char *s);
/** Starts watching the sources on the main loop (reload on change). */
int wdn__sc_watch_start(struct wdn_sidecar *sc);
void wdn__sc_watch_stop(struct wdn_sidecar *sc);

/**
 * Writes this sidecar's registry entry (project mode; status.c): address and ports, the running
 * generation and its Configuration's name (config), the state hash its last build read
 * (sc->state) and err, the reason the last reload was refused (NULL after a good one). Main
 * loop only. 0 or an error.
 */
int wdn__sc_publish(struct wdn_sidecar *sc, const char *config, const struct wdn_diag *err);

/* ---- Metrics ------------------------------------------------------------------------------ */

enum { WDN__SC_PORT_API = 0, WDN__SC_PORT_INTERNAL = 1 };
#define WDN__SC_HIST_BUCKETS 14

struct wdn__sc_metrics {
    atomic_uint_fast64_t requests[2][600]; /* by port and status */
    atomic_uint_fast64_t auth_failures[WDN_MW_REASON_COUNT];
    atomic_uint_fast64_t jwt_failures[WDN_JWT_REASON_COUNT];
    atomic_uint_fast64_t acl[2][5]; /* [allowed][by] */
    atomic_uint_fast64_t hist[2][WDN__SC_HIST_BUCKETS + 1];
    atomic_uint_fast64_t hist_sum_us[2];
    atomic_uint_fast64_t reloads_ok, reloads_failed;
    atomic_uint_fast64_t generation;
};

void wdn__sc_metrics_request(struct wdn_sidecar *sc, int port, int status, uint64_t t0_ns);
void wdn__sc_metrics_render(struct wdn_sidecar *sc, struct wdn_buf *out);

/* ---- Name resolution ---------------------------------------------------------------------- */

struct wdn__sc_peer {
    char app_id[WDN_RES_MAX_APPID + 1];
    char host[WDN_SIDECAR_MAX_HOST_BYTES + 1]; /* an address literal or a DNS name */
    int port;
    uint64_t expires_ms; /* cache entries; 0 for --peers entries */
    bool suspect;        /* host is an address that failed recently (so has every other one of
                            the name): a failover should not try it again at once */
};

/** One peer host name's addresses, resolved on the main loop (uv_getaddrinfo); resolve.c. */
struct wdn__sc_dns;

int wdn__sc_peers_load(struct wdn_sidecar *sc, const char *file, struct wdn_diag *d);
/**
 * Where app_id's sidecar listens (mTLS): the --peers map, then the project registry, then the
 * --peer-dns template. A host name comes back as one of its cached addresses when a recent
 * lookup has them (tried in turn after failures), else as the name itself (the connection pool
 * resolves it off the loop) while the cache is refreshed on the main loop. Never blocks on DNS.
 * 0, WDN_ENOTFOUND, WDN_ESTATE (its process is gone), WDN_EINVAL (the app ID is not a DNS label,
 * so the template cannot name it).
 */
int wdn__sc_resolve(struct wdn_sidecar *sc, const char *app_id, struct wdn__sc_peer *out);
/**
 * After a connection to failed (as wdn__sc_resolve gave it) failed: forgets app_id's cached
 * registry entry, remembers that the address failed, and moves the name on to its next address
 * that has not failed recently, but only when failed's address is still the one in use (many
 * requests failing on one address move on once). Once every address has failed recently, the one
 * that failed longest ago is used and the name is looked up again.
 */
void wdn__sc_resolve_forget(struct wdn_sidecar *sc, const struct wdn__sc_peer *failed);
/** Why wdn__sc_resolve failed, in words for Dapr's error message (static). */
const char *wdn__sc_resolve_strerror(int rc);
/**
 * Checks a --peer-dns template: "HOST:PORT" where HOST is DNS name characters with the
 * placeholders {app-id} (required) and {namespace}, and PORT a number 1..65535. ns is the
 * namespace. 0 or WDN_EINVAL with d saying what is wrong (naming the flag).
 */
int wdn__sc_dns_template_check(const char *tmpl, const char *ns, struct wdn_diag *d);
/**
 * Expands a checked template for app_id into host (cap bytes, NUL-terminated) and *port.
 * 0, WDN_EINVAL when app_id is not a DNS label (1..63 letters, digits and inner hyphens),
 * WDN_ELIMIT when the name would be too long.
 */
int wdn__sc_dns_template_expand(const char *tmpl, const char *ns, const char *app_id, char *host,
                                size_t cap, int *port);
/** True when s is one DNS label: 1..63 of letters, digits and inner hyphens. */
bool wdn__sc_dns_label(const char *s);
/** Stores addresses (numeric, borrowed) for host:port as a lookup would, for n <=
 * WDN_SIDECAR_DNS_MAX_ADDRS (more are dropped). For tests of the failover order. 0 or WDN_ENOMEM/
 * WDN_EBUSY (no free slot), WDN_EINVAL (not numeric). */
int wdn__sc_dns_put(struct wdn_sidecar *sc, const char *host, int port, const char *const *addrs,
                    size_t n);
/** Starts the address cache's wake-up on the main loop; stop closes it (the loop runs on). */
int wdn__sc_dns_start(struct wdn_sidecar *sc);
void wdn__sc_dns_stop(struct wdn_sidecar *sc);
/** Frees the address cache (after the main loop ended). */
void wdn__sc_dns_free(struct wdn_sidecar *sc);

/* ---- Workload identity: CA, certificates, rotation (identity.c) ------------------------- */

/**
 * Makes this sidecar's first TLS contexts (sc->tls_server, sc->tls_client): a workload
 * certificate issued by the project CA (created on first use), or the set in --cert-dir checked
 * against this sidecar's SPIFFE ID and trust bundle. 0 or an error with d saying what to fix.
 */
int wdn__sc_identity_load(struct wdn_sidecar *sc, struct wdn_diag *d);
/** On the main loop: renews the issued certificate every rotate_ms, or watches --cert-dir
 * (inotify plus a poll) and installs a changed set that passes every check. */
void wdn__sc_identity_start(struct wdn_sidecar *sc);
void wdn__sc_identity_stop(struct wdn_sidecar *sc);

/* ---- The daemon --------------------------------------------------------------------------- */

struct wdn__sc_listener {
    struct wdn_http_handler base; /* first */
    struct wdn_sidecar *sc;
    int port_kind;
    struct wdn_http_handler *chain[1]; /* the server borrows the chain: it lives here */
    struct wdn_http_client *clients[WDN__SC_MAX_WORKERS];
    struct wdn__sc_parking *parking[WDN__SC_MAX_WORKERS]; /* requests waiting (park.c) */
};

struct wdn_sidecar {
    /* Options (owned copies). */
    char *app_id;
    int app_port;
    char *app_address;
    char *listen_address;
    char *internal_address;
    int http_port, internal_port, metrics_port;
    char *resources_paths[WDN_SIDECAR_MAX_RESOURCE_PATHS];
    size_t n_resources_paths;
    char *config;
    char *project;
    char *api_token;
    char *app_api_token;
    int workers;
    bool handle_signals;

    /* Configuration. */
    pthread_mutex_t cfg_mu;
    struct wdn__sc_cfg *cfg;
    struct wdn_mw_registry *reg;
    uint64_t generation;
    char state[65]; /* wdn_store_state_hash read by the last build (project mode) */

    /* mTLS. The contexts are replaced when the workload certificate is rotated: the internal
     * listener takes the new server context (wdn_http_server_set_tls), and new peer pools use
     * the new client context. Old contexts live while connections or pools hold them. */
    char *ca_dir;
    char *cert_dir;     /* certificates provisioned from outside: no CA key, no issuing */
    char *trust_domain; /* of this sidecar's SPIFFE ID */
    char *ns;           /* namespace: SPIFFE ID and the {namespace} of --peer-dns */
    char *spiffe_id;    /* spiffe://<trust_domain>/ns/<ns>/<app_id> */
    unsigned char cert_digest[32], cert_bad_digest[32]; /* the installed and last refused sets */
    int64_t cert_not_after;                             /* the installed leaf's, Unix time */
    int cert_expiry_warned;                             /* 1: soon, 2: expired (logged once) */
    uv_fs_event_t cert_event;
    uv_timer_t cert_poll, cert_debounce;
    pthread_mutex_t tls_mu;
    struct wdn_tls_ctx *tls_server;
    struct wdn_tls_ctx *tls_client;
    uv_timer_t rotate;
    uint64_t rotate_ms;
    bool identity_running; /* the rotation timer or the --cert-dir watch is on the loop */

    /* Listeners. */
    char api_origin[WDN_SIDECAR_MAX_HOST_BYTES + 16]; /* "http://127.0.0.1:3500" once bound */
    struct wdn__sc_listener api, internal, metrics;
    struct wdn_http_server *srv_api, *srv_internal, *srv_metrics;
    int bound_http, bound_internal, bound_metrics;

    /* Name resolution. */
    pthread_mutex_t peers_mu;
    struct wdn__sc_peer *peers; /* static entries first, then cached registry entries */
    size_t n_static, n_peers, cap_peers;
    char *peer_dns;                                     /* --peer-dns template, or NULL */
    struct wdn__sc_dns *dns[WDN_SIDECAR_DNS_MAX_NAMES]; /* under peers_mu */
    size_t n_dns;
    uv_async_t dns_async; /* wakes the main loop to start lookups */
    bool dns_ready;       /* dns_async may be sent to (under peers_mu) */

    /* The main loop: signals, file watches, reload debounce, periodic housekeeping. */
    uv_loop_t loop;
    uv_async_t stop_async;
    uv_signal_t sigint, sigterm;
    uv_timer_t debounce, housekeeping;
    uv_fs_event_t watches[WDN__SC_MAX_WATCHES];
    size_t n_watches;
    bool loop_ready;
    bool registered;
    /* /v1.0/healthz answers 204 only while this is set: from when the sidecar can be found (its
     * registry entry written, in project mode) and its bearer middleware has its first key set
     * (or WDN_SIDECAR_READY_KEYS_MS passed) until it starts to stop. A caller that starts
     * on healthz (dev run, the Dapr SDKs) must not reach a peer that cannot resolve it yet. */
    atomic_bool ready;
    uv_timer_t ready_timer;    /* until the first keys are in (at most WDN_SIDECAR_READY_KEYS_MS) */
    uint64_t ready_deadline_ms;

    struct wdn__sc_metrics m;
    atomic_uint_fast64_t next_req_id;

    /* Audit records and tracing (observe.c). */
    struct wdn_audit *audit;         /* --audit-log, or NULL */
    pthread_mutex_t obs_mu;          /* guards the two below */
    struct wdn__sc_tracing *tracing; /* the newest tracing settings (a reference), or NULL */
    struct wdn__sc_tracing *retired; /* unused ones, freed on the main loop */
};

/* ---- The listeners (listen.c) -------------------------------------------------------------- */

/** Binds the API, internal (mTLS, sc->tls_server) and metrics listeners. 0 or an error with d
 * naming the port that could not be bound. */
int wdn__sc_listeners_start(struct wdn_sidecar *sc, struct wdn_diag *d);
/** Stops every listener gracefully (returns at once); free waits for their workers. */
void wdn__sc_listeners_stop(struct wdn_sidecar *sc);
void wdn__sc_listeners_free(struct wdn_sidecar *sc);
/**
 * Installs new contexts (taking both): new connections to the internal listener get srv (the
 * old certificate's connections retire after their next response), new peer connections cli.
 * Main loop only. 0, or an error (logged with what) and the contexts freed, the current ones
 * kept.
 */
int wdn__sc_tls_install(struct wdn_sidecar *sc, struct wdn_tls_ctx *srv, struct wdn_tls_ctx *cli,
                        const char *what);

/* ---- One request (the handlers below share it) ------------------------------------------ */

/**
 * A request being served: what replies, metrics and log lines need. Lives in the request's
 * arena (valid until the request ends). The place for per-request state that later steps add
 * (audit record, trace span).
 */
struct wdn__sc_rq {
    struct wdn_sidecar *sc;
    struct wdn__sc_listener *l; /* the listener it came in on (its worker's client pools) */
    struct wdn_http_req *req;
    int port;                /* WDN__SC_PORT_* for metrics */
    uint64_t t0;             /* arrival, monotonic ns */
    struct wdn__sc_obs *obs; /* trace context, spans, audit facts (observe.c), or NULL */
};

/** A fresh request context in req's arena, or NULL when out of memory. */
struct wdn__sc_rq *wdn__sc_rq_new(struct wdn__sc_listener *l, struct wdn_http_req *req);
/** A number for log lines (increasing per sidecar). */
uint64_t wdn__sc_next_id(struct wdn_sidecar *sc);

/* ---- Ports (api.c, peer.c, metrics.c) ------------------------------------------------------ */

/** The API port: healthz, metadata, the API token, the httpPipeline, service invocation in the
 * path and dapr-app-id forms, the MCP proxy endpoint /v1.0/mcp/<name>. */
int wdn__sc_api_on_req(struct wdn_http_handler *self, struct wdn_http_req *req);
/** The internal (mTLS) port: the caller's SPIFFE ID, access control, then the app. */
int wdn__sc_peer_on_req(struct wdn_http_handler *self, struct wdn_http_req *req);
int wdn__sc_metrics_on_req(struct wdn_http_handler *self, struct wdn_http_req *req);

/** A caller identity read from a peer certificate's SPIFFE ID (copies of its parts). */
struct wdn__sc_caller {
    char buf[WDN_SPIFFE_MAX_ID_BYTES + 3]; /* the three parts, each NUL-terminated */
    struct wdn_acl_caller acl;             /* points into buf */
};
/** Reads spiffe://<td>/ns/<ns>/<app-id> with the strict parser of src/pki into out. 0 or
 * WDN_EPARSE. */
int wdn__sc_caller_parse(struct wdn_str spiffe_id, struct wdn__sc_caller *out);

/* ---- Routes and their public identity (route.c) ------------------------------------------ */

/** Where RFC 9728 documents live: this prefix, then the route's path ("" for the root form). */
#define WDN__SC_PRM_PREFIX "/.well-known/oauth-protected-resource"
/** The header in which a sidecar tells the app's sidecar (over mTLS) the resource URI its client
 * reached, for audience binding; a sidecar-owned header, never taken from a client. */
#define WDN__SC_RESOURCE_HEADER "warden-resource"

/** Splits "/v1.0/invoke/<id>/method/<method...>" (path) into id and method. 0 or WDN_EINVAL. */
int wdn__sc_parse_invoke(struct wdn_str path, struct wdn_str *id, struct wdn_str *method);
/** Percent-decodes an app ID path segment into buf (cap bytes) and strips ".<ns>" (this
 * sidecar's namespace). 0, WDN_EUNSUPPORTED (another namespace), WDN_EINVAL, WDN_ELIMIT. */
int wdn__sc_decode_app_id(struct wdn_str s, const char *ns, char *buf, size_t cap);

/** A route of the API port as a client names it. */
struct wdn__sc_route {
    bool mcp;                                 /* /v1.0/mcp/<name> */
    char app[WDN_RES_MAX_APPID + 1 + 63 + 1]; /* the app it goes to */
    char rpath[WDN_RES_MAX_NAME + 64]; /* "/v1.0/mcp/<name>" or "/v1.0/invoke/<app>/method" */
    const char *name;                  /* resource name: the MCPServer's, or the app ID */
    char method[WDN_POLICY_MAX_OP_BYTES + 1]; /* the app's path, normalised ('/' first) */
};
/** Parses path (a /v1.0/invoke/... or /v1.0/mcp/... route; cfg for MCPServer names) into out.
 * 0 or WDN_ENOTFOUND (not a route, an unknown name, a path the ACL cannot normalise). */
int wdn__sc_route_parse(struct wdn__sc_rq *rq, const struct wdn__sc_cfg *cfg, struct wdn_str path,
                        struct wdn__sc_route *out);
/** The resource URI of route r (NULL: the whole port): configured when not NULL, else this
 * sidecar's origin and the route's path. In the request's arena; NULL when out of memory. */
const char *wdn__sc_route_resource(struct wdn__sc_rq *rq, const struct wdn__sc_route *r,
                                   const char *configured);
/** The resource URI the client of rq reached, for a pipeline's audience binding: derived from
 * the route on the API port, the caller's sidecar's WDN__SC_RESOURCE_HEADER on the internal
 * port. NULL when there is none. */
const char *wdn__sc_request_resource(struct wdn__sc_rq *rq, const struct wdn__sc_cfg *cfg);
/** Appends a decoded path percent-encoded where a URL path needs it. 0 or WDN_ELIMIT. */
int wdn__sc_append_path(struct wdn_buf *b, const char *p);
/**
 * The URL of the metadata document for the route rq came in on (the API port's
 * /v1.0/invoke/... and /v1.0/mcp/... paths), in the request's arena; NULL for any other request
 * (on the internal port the caller's sidecar names its own).
 */
const char *wdn__sc_metadata_url(struct wdn__sc_rq *rq);
/**
 * Adds resource_metadata="<wdn__sc_metadata_url>" to every Bearer challenge (WWW-Authenticate)
 * in h[0..n) that has none, so a client finds the authorization server from any refusal: the
 * pipelines', a peer sidecar's, the MCP guard's. A configured resourceMetadata already in the
 * challenge wins. New values live in the request's arena.
 */
void wdn__sc_challenge_point(struct wdn__sc_rq *rq, struct wdn_http_header *h, size_t n);

/* ---- RFC 9728 metadata (prm.c) ------------------------------------------------------------ */

/** Answers a request to WDN__SC_PRM_PREFIX[/<route>] on the API port (public, CORS). */
void wdn__sc_prm_serve(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg);
/** Answers a peer sidecar's request for this app's document on method (the internal port). */
void wdn__sc_prm_peer(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg, struct wdn_str method);

/* ---- Requests waiting for a round trip (park.c) ----------------------------------------- */

/** What runs when a parked request is woken, on its loop, with a configuration reference the
 * ticket holds for the call. */
typedef void (*wdn__sc_resume_fn)(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg, void *arg);
struct wdn__sc_parking;
struct wdn__sc_ticket;

/** A worker's parking (its uv_async_t on loop); close it when the worker stops. */
struct wdn__sc_parking *wdn__sc_parking_new(uv_loop_t *loop);
void wdn__sc_parking_close(struct wdn__sc_parking *pk);
/** A ticket for a run that may pend (its wake function is wdn__sc_ticket_wake), or NULL. */
struct wdn__sc_ticket *wdn__sc_ticket_new(struct wdn__sc_rq *rq);
/** The pipeline's wake: from any thread, exactly once per ticket that pended. */
void wdn__sc_ticket_wake(void *ud);
/** The run did not pend: the wake will never come. NULL is fine. */
void wdn__sc_ticket_drop(struct wdn__sc_ticket *t);
/** The run pended: the request waits; resume(rq, cfg, arg) runs when the ticket is woken
 * (unless the client left first: the request is then ended at once). Takes a reference on
 * cfg for the call. */
void wdn__sc_park(struct wdn__sc_ticket *t, struct wdn__sc_cfg *cfg, wdn__sc_resume_fn resume,
                  void *arg);

/* ---- Invocation (invoke.c) ----------------------------------------------------------------- */

/**
 * Sends the request to this sidecar's app: the app pipeline, the MCP guard when the path is
 * the guarded MCP endpoint, then the app channel. caller is the verified (or, for
 * self-invocation, own) app ID; ingress holds the httpPipeline's edits when the request came in
 * on the API port. The trace context sent on is the request's (observe.c). Answers every
 * failure itself.
 */
void wdn__sc_invoke_app(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg, const char *caller,
                        struct wdn_str method, const struct wdn_pipeline_out *ingress);
/** 1 when the method path is the MCP endpoint cfg's policy guards or below it, compared after
 * normalisation (percent-decoding, dot segments) and case-insensitively, so "/MCP", "/mcp/" or
 * "/./mcp" cannot slip past; -1 when it cannot be normalised; 0 otherwise. */
int wdn__sc_mcp_guarded(const struct wdn__sc_cfg *cfg, struct wdn_str method);
/** The connection pool (mTLS) to app_id's sidecar on rq's worker and the address it goes to
 * (*peer, for failover). 0, or an error already answered in Dapr's shape (the name did not
 * resolve, out of memory). */
int wdn__sc_peer_pool(struct wdn__sc_rq *rq, const char *app_id, struct wdn__sc_peer *peer,
                      struct wdn_http_pool **pool);
/** Sends the request to app_id's sidecar over mTLS, with the resource URI its client reached
 * (WDN__SC_RESOURCE_HEADER). Answers every failure itself. */
void wdn__sc_invoke_remote(struct wdn__sc_rq *rq, const struct wdn__sc_cfg *cfg, const char *app_id,
                           struct wdn_str method, const struct wdn_pipeline_out *ingress);
/** Runs pipeline p (NULL passes) on the request; when it refuses, answers (with the one log
 * line per decision and the failure metrics) and returns false. which names it in the log.
 * When the run needs a network round trip first (introspection), parks the request and returns
 * false too: again(rq, cfg, arg) runs on the request's loop once the answer is in (arg in the
 * request's arena), and should call this again, which then decides. */
bool wdn__sc_pipeline_pass(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg,
                           const struct wdn_pipeline *p, const char *which, bool want_auth,
                           struct wdn_pipeline_out *po, wdn__sc_resume_fn again, void *arg);
/** The per-worker client pools of the listener (on_worker_start/stop). */
int wdn__sc_worker_start(struct wdn_http_handler *self, struct wdn_http_worker *w);
void wdn__sc_worker_stop(struct wdn_http_handler *self, struct wdn_http_worker *w);

/* ---- The MCP guard (mcp.c) ----------------------------------------------------------------- */

struct wdn__sc_fwd;

/**
 * The MCP tool policy on a request to the guarded path: a caller without any grant gets 404;
 * the body is read in full and parsed with src/mcp's JSON-RPC parser; a tools/call of a tool
 * not granted gets 403; else the checked bytes are forwarded (fwd's target and headers, with
 * the tools/list answer filtered). Takes its own reference on cfg. Answers every failure.
 */
void wdn__sc_mcp_check(struct wdn__sc_rq *rq, struct wdn__sc_cfg *cfg, const char *caller,
                       const struct wdn_pipeline_out *auth, const struct wdn__sc_fwd *fwd);

/** What the guard knows about a request besides its body (all borrowed for the call). */
struct wdn__sc_mcp_req {
    const char *caller;
    const struct wdn_tool_auth *auth;    /* the token's scopes and claims (may be NULL) */
    const struct wdn_http_request *head; /* for the Mcp-Method / Mcp-Name headers; may be NULL */
    const char *const *base_scopes;      /* scopes the bearer requires of every token, for the */
    size_t n_base_scopes;                /* step-up challenge's scope list */
};

/** What the guard decided about a request body (wdn__sc_mcp_decide). */
struct wdn__sc_mcp_verdict {
    int status;         /* 0: forward; else answer with status, content type JSON, body */
    bool lists;         /* a tools/list is among the messages: filter its answer */
    char tool[256];     /* the tool refused or the last one allowed ("" when none) */
    const char *reason; /* why it was refused, in words (static), or NULL */
    const char *code;   /* ... as a code for audit records and metrics: tool_not_granted,
                           insufficient_scope, header_mismatch, invalid_jsonrpc (static) */
    char scope[1024];   /* a 403 a token with these scopes would pass (insufficient_scope): the
                           space-separated scopes for the challenge; "" otherwise */
};
/**
 * Decides a request body (len 0: nothing to check) for r: answers (in body_out) a JSON-RPC
 * error with status 400 for bytes src/mcp's parser refuses and for Mcp-Method / Mcp-Name
 * headers that disagree with the body (-32020), and 403 for a tools/call of a tool not granted
 * (with v->scope set when more scopes would grant it). 0, or WDN_ENOMEM.
 */
int wdn__sc_mcp_decide(const struct wdn_tool_policy *p, const struct wdn__sc_mcp_req *r,
                       struct wdn_str body, struct wdn__sc_mcp_verdict *v,
                       struct wdn_buf *body_out);
/** The step-up scope list: r's base scopes, then need[0..n), once each, space-separated into
 * out (cap bytes; a list that does not fit is cut at a scope boundary). */
void wdn__sc_mcp_scope_list(const struct wdn__sc_mcp_req *r, const char *const *need, size_t n,
                            char *out, size_t cap);
/**
 * Filters the tools of every result in an answer (application/json, or text/event-stream
 * parsed with src/mcp's SSE parser) to those granted to caller, and marks such a result's
 * caching hint private (cacheScope, 2026-07-28): the list is this caller's. Appends the
 * rewritten body to out and returns 0; 1 when nothing needed a change (send the body as it
 * is); WDN_EPARSE or WDN_ELIMIT when the answer cannot be read (refused: never passed on
 * unfiltered).
 */
int wdn__sc_mcp_filter(const struct wdn_tool_policy *p, const char *caller,
                       const struct wdn_tool_auth *auth, struct wdn_str content_type,
                       struct wdn_str body, struct wdn_buf *out);

/* ---- Forwarding (forward.c: hook functions on http/proxy.c) ---------------------------- */

/** Where and what to forward. Everything is borrowed until the request ends. */
struct wdn__sc_fwd {
    struct wdn_http_pool *pool;
    struct wdn_str target;
    const struct wdn_http_hdrs *headers;
    const char *app_id;         /* the target app ID, for error messages (arena string) */
    bool to_app;                /* app channel (true) or peer sidecar (false) */
    const struct wdn__sc_peer *peer; /* a peer: the address pool goes to (copied), for failover */
    const struct wdn_str *body; /* read in advance (the MCP guard), or NULL to stream it */
    bool cors;                  /* the answer is public metadata: readable from any origin */
    /* A rewrite of the whole 200 answer (the MCP tools/list filter), or NULL: appends to out
     * and returns 0, 1 to send the body unchanged, < 0 to answer 502. done is called once when
     * the forward ends (also when wdn__sc_forward fails). */
    int (*transform)(void *ud, struct wdn_str content_type, struct wdn_str body,
                     struct wdn_buf *out);
    void (*done)(void *ud);
    void *ud;
};

/**
 * Forwards rq's request as fwd says, streaming both ways (http/proxy.c), with failures
 * answered in Dapr's shape and every outcome counted. A peer sidecar's address that cannot be
 * reached is forgotten and the request sent to the name's next address. 0 when the request was
 * taken; else an error, the request still the caller's (done was called).
 */
int wdn__sc_forward(struct wdn__sc_rq *rq, const struct wdn__sc_fwd *fwd);
/** The client pools of rq's worker (NULL past WDN__SC_MAX_WORKERS). */
struct wdn_http_client *wdn__sc_worker_client(struct wdn__sc_rq *rq);
/** The connection pool (mTLS, the callee's certificate checked against its app ID) to a peer
 * address on rq's worker. 0, WDN_ENOMEM, WDN_EINVAL. */
int wdn__sc_peer_pool_for(struct wdn__sc_rq *rq, const struct wdn__sc_peer *peer,
                          struct wdn_http_pool **pool);

/* ---- Tracing and audit records (observe.c: calls no other file of src/sidecar) ---------- */

/** A Configuration's spec.tracing: its rate and exporter, shared by successive snapshots while
 * unchanged (reference-counted; the last release hands it to the main loop to free). */
struct wdn__sc_tracing;

/**
 * The tracing settings for a snapshot (one reference into *out, NULL when spec is NULL): the
 * sidecar's current ones when equal, else new ones with an exporter to otel.endpointAddress.
 * 0, or WDN_ECONFIG (an endpoint that makes no URL) / WDN_ENOMEM with d.
 */
int wdn__sc_tracing_get(struct wdn_sidecar *sc, const struct wdn_res_tracing *spec,
                        struct wdn__sc_tracing **out, struct wdn_diag *d);
void wdn__sc_tracing_release(struct wdn__sc_tracing *t);
/** Main loop: frees retired exporters and logs export failures (housekeeping); at the end
 * (final) frees every one. */
void wdn__sc_obs_housekeeping(struct wdn_sidecar *sc, bool final);
/** Appends the audit and tracing counters to /metrics. t: the snapshot's (may be NULL). */
void wdn__sc_obs_metrics(struct wdn_sidecar *sc, const struct wdn__sc_tracing *t,
                         struct wdn_buf *out);

/**
 * Starts observing a request: its trace context, created or continued from a valid
 * traceparent header (the app's on the API port, the caller sidecar's on the internal port),
 * the ingress span when cfg's tracing records this trace, and the configuration generation for
 * audit records. caller: the verified SPIFFE ID (internal port), else NULL.
 */
void wdn__sc_obs_begin(struct wdn__sc_rq *rq, const struct wdn__sc_cfg *cfg, struct wdn_str caller);
/** Starts a step span ("access_control", "bearer", "tool_policy") under the ingress span; -1
 * when not recording. */
int wdn__sc_obs_step(struct wdn__sc_rq *rq, const char *name);
/** Ends step with the decision and its reason code. */
void wdn__sc_obs_step_end(struct wdn__sc_rq *rq, int step, bool allowed, const char *reason);
/**
 * Sets traceparent (and a valid tracestate) on the headers of a request going on to target
 * (the app, or a peer sidecar), starting the forward span: the next hop continues this trace.
 * 0 or WDN_ENOMEM/WDN_ELIMIT.
 */
int wdn__sc_obs_headers(struct wdn__sc_rq *rq, struct wdn_http_hdrs *h, const char *target,
                        bool to_app);
/** The status of the answer (forward.c, when the response head is known). */
void wdn__sc_obs_status(struct wdn__sc_rq *rq, int status);
/** Ends the request's spans and sends them, and writes the tool_call record of a forwarded
 * tools/call; status 0: the one given to wdn__sc_obs_status. Later calls do nothing. */
void wdn__sc_obs_end(struct wdn__sc_rq *rq, int status);
/** True when the sidecar writes audit records. */
bool wdn__sc_audit_on(const struct wdn__sc_rq *rq);
/** True when name (a file in a watched folder) is the sidecar's audit log or a rotation of it:
 * its writes are no change of configuration. */
bool wdn__sc_audit_is_log(const struct wdn_sidecar *sc, const char *name);
/** Writes an audit record of ev, with this request's configuration generation, trace ID,
 * caller and (when ev has none) HTTP method and path filled in. */
void wdn__sc_audit(struct wdn__sc_rq *rq, struct wdn_audit_event *ev);
/** Records the verified token's claims (a pipeline's answer) for the records that follow. */
void wdn__sc_obs_auth(struct wdn__sc_rq *rq, const struct wdn_pipeline_out *po);
/**
 * The tools/call of tool in body (a JSON-RPC request or batch) for the records that follow:
 * the tool and the SHA-256 of its arguments, serialised compactly with sorted keys. forwarded:
 * the call goes on to the app, so a tool_call record follows at the end. Only with audit on.
 */
void wdn__sc_obs_tool(struct wdn__sc_rq *rq, struct wdn_str body, const char *tool, bool forwarded);
/** Audit kinds for the tool policy's records (observe.c fills tool, args and claims). */
void wdn__sc_audit_tool_policy(struct wdn__sc_rq *rq, bool allowed, const char *reason, int status);

/* ---- Replies (reply.c) --------------------------------------------------------------------- */

/** Answers in one call and records metrics. */
void wdn__sc_respond(struct wdn__sc_rq *rq, int status, const struct wdn_http_header *h, size_t n,
                     struct wdn_str body);
/** Answers with Dapr's error JSON {"errorCode":code,"message":msg} and records metrics. */
void wdn__sc_error(struct wdn__sc_rq *rq, int status, const char *code, const char *msg);
/** Answers text/plain (utf-8) with text and records metrics. */
void wdn__sc_plain(struct wdn__sc_rq *rq, int status, const char *text);
/** Appends Dapr's error JSON to out. 0 or WDN_ENOMEM/WDN_ELIMIT. */
int wdn__sc_error_json(struct wdn_buf *out, const char *code, const char *msg);
/** printf into the request's arena; NULL when out of memory. */
char *wdn__sc_fmt(struct wdn_http_req *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** The Content-Type headers of JSON and plain-text answers (static). */
extern const struct wdn_http_header wdn__sc_json_ct, wdn__sc_plain_ct;

#endif
