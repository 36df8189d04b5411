/* HTTP middleware pipelines (Configuration spec.httpPipeline and spec.appHttpPipeline): a chain
 * of middleware instances built from Components, run on a request's head before it is
 * forwarded. One file per middleware type (bearer.c for middleware.http.bearer). */
#ifndef WDN_PIPELINE_PIPELINE_H
#define WDN_PIPELINE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/diag.h"
#include "base/str.h"
#include "http/parser.h"
#include "policy/policy.h"
#include "resources/resources.h"

/**
 * Why a middleware decided what it did. X(name, value). Names are stable: they appear in logs
 * and as the `reason` label of warden_auth_failures_total. Append only.
 */
#define WDN_MW_REASON_TABLE(X)                                                                     \
    X(OK, 0)                                                                                       \
    X(MISSING_TOKEN, 1)                                                                            \
    X(MALFORMED_HEADER, 2)                                                                         \
    X(TOKEN_IN_QUERY, 3)                                                                           \
    X(KEYS_NOT_LOADED, 4)                                                                          \
    X(INVALID_TOKEN, 5) /* the JWT reason says which check failed */                               \
    X(INSUFFICIENT_SCOPE, 6)                                                                       \
    X(INTERNAL, 7)                                                                                 \
    X(INTROSPECTION_UNAVAILABLE, 8) /* the introspection endpoint is down, slow or garbled */      \
    X(NO_RESOURCE, 9)               /* requireResourceAudience without a resource URI: 500 */

enum wdn_mw_reason {
#define WDN__MW_REASON_ENUM(name, value) WDN_MW_##name = (value),
    WDN_MW_REASON_TABLE(WDN__MW_REASON_ENUM)
#undef WDN__MW_REASON_ENUM
        WDN_MW_REASON_COUNT
};

/** The reason's snake_case name ("missing_token"), static. */
const char *wdn_mw_reason_name(enum wdn_mw_reason r);

/** Most claims exported from one token (want_auth). */
#define WDN_PIPELINE_MAX_CLAIMS 64

/** Most header edits one pipeline run may ask for. */
#define WDN_PIPELINE_MAX_EDITS 32

/**
 * What a pipeline run decided. status 0: pass the request on, after removing the headers named
 * in remove[] and adding add[] to what is forwarded. status != 0: answer with status, headers
 * and body instead (the request goes no further). Slices point at static text, at the
 * middleware's configuration (alive while the pipeline is) or into the request's arena.
 */
struct wdn_pipeline_out {
    int status;
    struct wdn_http_header headers[4];
    size_t nheaders;
    struct wdn_str body;
    struct wdn_str remove[WDN_PIPELINE_MAX_EDITS];
    size_t nremove;
    struct wdn_http_header add[WDN_PIPELINE_MAX_EDITS];
    size_t nadd;

    /* For the one log line per decision: which handler decided, why, and (never the token)
     * the subject and the JWT check that failed, when there was a token. */
    const char *handler;       /* the handler's component name, or NULL when none decided */
    enum wdn_mw_reason reason; /* WDN_MW_OK when everything passed */
    int jwt_reason;            /* enum wdn_jwt_reason when reason is INVALID_TOKEN, else 0 */
    const char *subject;       /* "sub" of a verified token (arena copy), or NULL */
    /* Audit records (never the token): "iss", "client_id" (else "azp") and "jti" of a
     * verified token, arena copies, or NULL. */
    const char *issuer, *client_id, *jti;
    bool cached;       /* the token came from the verified-token cache */
    bool introspected; /* the token was an opaque one, checked by RFC 7662 */

    /* The run could not decide without a network round trip (token introspection) and the
     * request gave a wake function: status is 0 and nothing else is set. Park the request;
     * when wake(wake_ud) is called (exactly once, from another thread) run the pipeline again
     * from the start: the second run answers from what the round trip stored. */
    bool pending;

    /* With want_auth: what the verified token grants, for authorization further on (the MCP
     * tool policy). Arena copies; all empty when no token was verified. */
    const char **scopes;
    size_t n_scopes;
    struct wdn_tool_claim *claims; /* the one claim type (policy.h) */
    size_t n_claims;
};

/** What a run looks at. Borrowed for the call. */
struct wdn_pipeline_req {
    const struct wdn_http_request *head; /* method, path, query, headers */
    struct wdn_arena *arena;             /* the request's arena, for strings in out */
    int64_t now;                         /* Unix seconds (0 = the clock) */
    bool want_auth;                      /* export scopes and claims into the out */
    /* The resource the client reached, as the sidecar derives it (its listen address and the
     * route, never the Host header), and the URL of its RFC 9728 metadata document. A bearer
     * component's own `resource` / `resourceMetadata` take precedence. NULL = none. */
    const char *resource;
    const char *resource_metadata;
    /* For runs that need a network round trip (see out->pending). NULL: such a middleware
     * makes the round trip on the calling thread instead (bounded by its timeout). */
    void (*wake)(void *ud);
    void *wake_ud;
};

/**
 * What a pipeline's bearer middleware says about its resource, for the RFC 9728 metadata
 * document and for challenges. Borrowed from the pipeline (alive while it is).
 */
struct wdn_pipeline_resource {
    const char *resource;          /* configured `resource` metadata, or NULL (derive it) */
    const char *resource_metadata; /* configured `resourceMetadata` URL, or NULL */
    const char *const *issuers;    /* -> authorization_servers: every advertised issuer */
    size_t n_issuers;
    const char *const *scopes; /* requiredScopes of the bearer handlers (union) */
    size_t n_scopes;
    bool require_resource_audience; /* tokens must carry the resource in "aud" */
    bool introspects; /* a run may need a round trip (RFC 7662): give it a wake function */
};

/** One middleware instance's health, for /metrics. */
struct wdn_mw_stats {
    const char *name;        /* component name (borrowed from the instance) */
    const char *type;        /* component type */
    bool keys_loaded;        /* a key set has been loaded at least once */
    size_t keys;             /* keys in the current set */
    uint64_t refresh_ok;     /* successful key set fetches */
    uint64_t refresh_errors; /* failed fetches (discovery or JWKS) */
    uint64_t cache_hits;     /* verified-token cache */
    uint64_t cache_misses;
    uint64_t cache_evictions;   /* entries dropped to stay within the memory budget */
    uint64_t cache_entries;     /* entries held now */
    uint64_t cache_bytes;       /* estimated bytes held now (tokenCacheSize is the budget) */
    uint64_t introspect_ok;     /* RFC 7662 calls answered (active or not) */
    uint64_t introspect_errors; /* calls failed: endpoint down, slow or garbled */
    char last_error[256];       /* why the last key set fetch failed, "" after a success */
};

/**
 * Middleware instances shared by successive configurations, so that a reload which keeps a
 * Component unchanged keeps its loaded key set and token cache (no 503 window on reload).
 * Instances are keyed by the Component's name, type, version and metadata. Owned by the
 * caller; used from one thread (the one that builds configurations).
 */
struct wdn_mw_registry;

/** A new empty registry, or NULL when out of memory. */
struct wdn_mw_registry *wdn_mw_registry_new(void);
/**
 * Drops the registry's hold on instances no pipeline uses any more (call after an old
 * configuration was released). Instances still used by a pipeline stay.
 */
void wdn_mw_registry_gc(struct wdn_mw_registry *reg);
/** Calls fn for each live instance's stats. Thread-safe with respect to requests. */
void wdn_mw_registry_stats(struct wdn_mw_registry *reg,
                           void (*fn)(const struct wdn_mw_stats *s, void *arg), void *arg);
/** Frees the registry and its holds (pipelines keep their instances alive). NULL is fine. */
void wdn_mw_registry_free(struct wdn_mw_registry *reg);

/** A built pipeline: immutable, thread-safe to run, owns references to its instances. */
struct wdn_pipeline;

/**
 * Builds the pipeline spec (borrowed; may be absent: n_handlers 0) for app_id from the
 * Components of set (borrowed for the call). Every handler must name a Component in scope for
 * app_id with the handler's type and version, and every Component's metadata must be valid for
 * its type: otherwise WDN_ECONFIG with d saying which file and line (never skipped, unlike
 * Dapr). Instances come from reg when an identical Component was built before. *out is owned by
 * the caller (wdn_pipeline_free); it is NULL for an empty pipeline.
 */
int wdn_pipeline_build(const struct wdn_res_pipeline *spec, const struct wdn_resources *set,
                       const char *app_id, struct wdn_mw_registry *reg, struct wdn_pipeline **out,
                       struct wdn_diag *d);

/**
 * Checks a Component as building its middleware would, without building it (no thread, no
 * network): every spec.metadata item against its type's field table (unknown names, secretKeyRef,
 * each value) and the type's rules across fields. `warden check` and `warden apply` run this;
 * the sidecar runs the same code when it builds the middleware. Returns 0, WDN_ECONFIG with d at
 * the offending item (file:line:col), or WDN_EUNSUPPORTED when warden implements no middleware
 * of c's type (d says so; a pipeline naming such a component is refused).
 */
int wdn_pipeline_check_component(const struct wdn_res_component *c, struct wdn_diag *d);

/** Frees a pipeline (drops its instance references). NULL is fine; any thread. */
void wdn_pipeline_free(struct wdn_pipeline *p);

/** Number of handlers (0 for NULL). */
size_t wdn_pipeline_count(const struct wdn_pipeline *p);

/**
 * Runs every handler in order on rq until one answers. p NULL passes everything. Fills *out
 * (zeroed first). Never blocks: key sets load in the background. Returns 0, or WDN_ENOMEM
 * (out then holds a 500).
 */
int wdn_pipeline_run(const struct wdn_pipeline *p, const struct wdn_pipeline_req *rq,
                     struct wdn_pipeline_out *out);

/**
 * Fills *out (zeroed first) with what p's bearer handlers say about the resource they guard:
 * the first configured resource / resourceMetadata, the union of their advertised issuers and
 * required scopes. Pointers are borrowed from p. false when p has no bearer handler (the route
 * is not protected by a token).
 */
bool wdn_pipeline_resource(const struct wdn_pipeline *p, struct wdn_pipeline_resource *out);

/** True when every middleware of p is ready (a bearer's first key set is in); NULL is ready.
 * Never blocks. */
bool wdn_pipeline_ready(const struct wdn_pipeline *p);

/**
 * Waits up to timeout_ms for every bearer instance of p to have its first key set (for a
 * sidecar that prefers to start warm). Returns true when all are loaded.
 */
bool wdn_pipeline_wait_ready(const struct wdn_pipeline *p, uint64_t timeout_ms);

#endif
