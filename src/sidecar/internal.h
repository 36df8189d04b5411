/* Internal structures of the sidecar shared by its files: the immutable configuration
 * snapshot, the daemon state, metrics, name resolution and the forwarding glue. */
#ifndef WDN_SIDECAR_INTERNAL_H
#define WDN_SIDECAR_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "http/client.h"
#include "http/proxy.h"
#include "http/server.h"
#include "jose/jwt.h"
#include "pipeline/pipeline.h"
#include "policy/policy.h"
#include "sidecar/sidecar.h"

#define WDN__SC_MAX_WORKERS 64
#define WDN__SC_MAX_WATCHES 32
/* TLS contexts kept after rotations (pools borrow them): two per rotation, so 1024 rotations
 * (cert-manager renewing an hourly certificate: over a month) before a restart is needed. */

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
/** Starts watching the sources on the main loop (reload on change). */
int wdn__sc_watch_start(struct wdn_sidecar *sc);
void wdn__sc_watch_stop(struct wdn_sidecar *sc);

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
/** Forgets a cached registry entry and moves on to the name's next address (after a connection
 * failure). */
void wdn__sc_resolve_forget(struct wdn_sidecar *sc, const char *app_id);
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

/* ---- Workload certificates from --cert-dir (certs.c) -------------------------------------- */

/**
 * Reads --cert-dir (tls.crt: the leaf then intermediates, tls.key, ca.crt: the trust bundle),
 * checks that the key matches, that the leaf's only URI SAN is this sidecar's SPIFFE ID, that it
 * chains to ca.crt and is valid now, and builds the server and client contexts (owned by the
 * caller). digest gets a SHA-256 of the three files' bytes. 0 or WDN_ECONFIG/WDN_EIO/WDN_ETLS
 * with d saying what to fix.
 */
int wdn__sc_certs_load(struct wdn_sidecar *sc, struct wdn_tls_ctx **srv, struct wdn_tls_ctx **cli,
                       unsigned char digest[32], struct wdn_diag *d);
/** Watches --cert-dir on the main loop (inotify plus a poll) and installs a changed set that
 * passes every check; a broken one is logged and the current one kept. */
int wdn__sc_certs_watch_start(struct wdn_sidecar *sc);
void wdn__sc_certs_watch_stop(struct wdn_sidecar *sc);
/**
 * Installs new contexts (taking both): new connections to the internal listener get srv (the
 * old certificate's connections retire after their next response), new peer connections cli.
 * Main loop only. 0, or an error (logged with what) and the contexts freed, the current ones
 * kept.
 */
int wdn__sc_tls_install(struct wdn_sidecar *sc, struct wdn_tls_ctx *srv, struct wdn_tls_ctx *cli,
                        const char *what);

/* ---- The daemon --------------------------------------------------------------------------- */

struct wdn__sc_listener {
    struct wdn_http_handler base; /* first */
    struct wdn_sidecar *sc;
    int port_kind;
    struct wdn_http_handler *chain[1]; /* the server borrows the chain: it lives here */
    struct wdn_http_client *clients[WDN__SC_MAX_WORKERS];
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
    bool cert_watching;
    pthread_mutex_t tls_mu;
    struct wdn_tls_ctx *tls_server;
    struct wdn_tls_ctx *tls_client;
    uv_timer_t rotate;
    uint64_t rotate_ms;

    /* Listeners. */
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

    struct wdn__sc_metrics m;
    atomic_uint_fast64_t next_req_id;
};

/* ---- Handlers and forwarding -------------------------------------------------------------- */

struct wdn__sc_fwd_info;

int wdn__sc_api_on_req(struct wdn_http_handler *self, struct wdn_http_req *req);
int wdn__sc_internal_on_req(struct wdn_http_handler *self, struct wdn_http_req *req);
int wdn__sc_metrics_on_req(struct wdn_http_handler *self, struct wdn_http_req *req);
int wdn__sc_worker_start(struct wdn_http_handler *self, struct wdn_http_worker *w);
void wdn__sc_worker_stop(struct wdn_http_handler *self, struct wdn_http_worker *w);

/**
 * The MCP tool policy on a request to the guarded path: reads the JSON-RPC body, answers 404 to
 * a caller without any grant and 403 to a tools/call of a tool not granted, else forwards
 * (wdn__sc_forward_body). Takes the request; takes its own reference on cfg.
 */
void wdn__sc_mcp_check(struct wdn_sidecar *sc, struct wdn_http_req *req, struct wdn__sc_cfg *cfg,
                       const char *caller, const struct wdn_pipeline_out *auth,
                       struct wdn_http_pool *pool, struct wdn_str target,
                       const struct wdn_http_hdrs *h, const struct wdn__sc_fwd_info *info);

/** Answers with Dapr's error JSON {"errorCode":code,"message":msg} and records metrics. */
void wdn__sc_error(struct wdn_sidecar *sc, struct wdn_http_req *req, int port, uint64_t t0,
                   int status, const char *code, const char *msg);
/** Answers in one call and records metrics. */
void wdn__sc_respond(struct wdn_sidecar *sc, struct wdn_http_req *req, int port, uint64_t t0,
                     int status, const struct wdn_http_header *h, size_t n, struct wdn_str body);

/** What a forwarded request needs besides the request: where errors name, how to count. */
struct wdn__sc_fwd_info {
    int port;           /* WDN__SC_PORT_* for metrics */
    uint64_t t0;        /* start, monotonic ns */
    const char *app_id; /* the target app ID, for error messages (arena string) */
    bool to_app;        /* app channel (true) or peer sidecar (false) */
};

/**
 * Forwards req to pool with headers h and target (both in the request's arena), streaming
 * both ways; failures before the response head are answered in Dapr's shape. Takes ownership
 * of the request on 0; on error the request is still the caller's.
 */
int wdn__sc_forward(struct wdn_sidecar *sc, struct wdn_http_req *req, struct wdn_http_pool *pool,
                    struct wdn_str target, const struct wdn_http_hdrs *h,
                    const struct wdn__sc_fwd_info *info);
/**
 * A rewrite of a whole 200 response (the MCP tools/list filter): transform gets the content
 * type and the buffered body and appends a replacement to out (return 0), or returns non-zero to
 * send the body unchanged. done is always called once when the forward ends.
 */
struct wdn__sc_xform {
    int (*transform)(void *ud, struct wdn_str content_type, struct wdn_str body,
                     struct wdn_buf *out);
    void (*done)(void *ud);
    void *ud;
};

/** The same with a request body already read in full (borrowed until the call returns) and an
 * optional response rewrite (borrowed until done). */
int wdn__sc_forward_body(struct wdn_sidecar *sc, struct wdn_http_req *req,
                         struct wdn_http_pool *pool, struct wdn_str target,
                         const struct wdn_http_hdrs *h, const struct wdn__sc_fwd_info *info,
                         struct wdn_str body, const struct wdn__sc_xform *xf);

#endif
