/* Typed resources loaded from YAML: Component, Configuration, MCPServer and the multi-app run
 * file, with every error reported as file:line:col (see docs/resources.md). */
#ifndef WDN_RESOURCES_RESOURCES_H
#define WDN_RESOURCES_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"

/*
 * Ownership: everything reachable from a struct wdn_resources (strings, lists, nested structs)
 * lives in the set's arena and is freed by wdn_resources_free(). Strings are NUL-terminated
 * copies of the YAML scalars, byte for byte: "true", "1" and "${VAR}" stay the text they were.
 */

/** Where a node was: file (owned by the set), 1-based line and column. line 0 = absent. */
struct wdn_res_pos {
    const char *file;
    unsigned line;
    unsigned col;
};

/** Tri-state booleans and unset integers, so that a run file's app can override `common`. */
#define WDN_RES_UNSET (-1)
#define WDN_RES_INT_UNSET INT64_MIN

/** A list of strings. */
struct wdn_res_strlist {
    const char **v;
    size_t n;
};

/** One entry of a string-to-string mapping (env, requireClaims, labels). */
struct wdn_res_kv {
    struct wdn_res_pos pos;
    const char *name;
    const char *value;
};

struct wdn_res_map {
    struct wdn_res_kv *v;
    size_t n;
};

/** metadata: of every resource kind. */
struct wdn_res_objmeta {
    struct wdn_res_pos pos;
    const char *name;
    const char *ns; /* metadata.namespace, NULL when absent */
    struct wdn_res_map labels;
    struct wdn_res_map annotations;
};

/* ---- Component (apiVersion dapr.io/v1alpha1) ---------------------------------------- */

struct wdn_res_secret_ref {
    struct wdn_res_pos pos;
    const char *name;
    const char *key;
};

/** spec.metadata[i]: exactly one of value and secretKeyRef is set. */
struct wdn_res_meta_item {
    struct wdn_res_pos pos;
    const char *name;
    const char *value; /* NULL when secret_ref is used */
    struct wdn_res_secret_ref secret_ref;
};

struct wdn_res_component_spec {
    struct wdn_res_pos pos;
    const char *type;         /* e.g. middleware.http.bearer */
    const char *version;      /* e.g. v1 */
    const char *init_timeout; /* accepted, kept as text */
    int ignore_errors;        /* WDN_RES_UNSET, 0 or 1; warden fails closed regardless */
    struct wdn_res_meta_item *metadata;
    size_t n_metadata;
};

struct wdn_res_component_auth {
    struct wdn_res_pos pos;
    const char *secret_store;
};

struct wdn_res_component {
    struct wdn_res_pos pos; /* the document's root */
    bool invalid;           /* its document had errors: checks beyond the decoder skip it */
    const char *api_version;
    const char *kind;
    struct wdn_res_objmeta metadata;
    struct wdn_res_component_spec spec;
    struct wdn_res_component_auth auth;
    struct wdn_res_strlist scopes; /* app IDs; empty = every app */
};

/* ---- Configuration (apiVersion dapr.io/v1alpha1) ------------------------------------ */

struct wdn_res_handler {
    struct wdn_res_pos pos;
    const char *name;
    const char *type;
    const char *version; /* NULL means v1 */
};

struct wdn_res_pipeline {
    struct wdn_res_pos pos; /* line 0 when the pipeline is absent */
    struct wdn_res_handler *handlers;
    size_t n_handlers;
};

struct wdn_res_acl_operation {
    struct wdn_res_pos pos;
    const char *name;             /* e.g. "mcp", "invoke/STAR", "api/STAR-STAR" (see docs) */
    struct wdn_res_strlist verbs; /* httpVerb: GET, POST, ... or * */
    const char *action;           /* "allow" or "deny" (canonical lower case) */
};

struct wdn_res_acl_policy {
    struct wdn_res_pos pos;
    const char *app_id;
    const char *default_action; /* "allow", "deny" or NULL */
    const char *trust_domain;
    const char *ns;
    struct wdn_res_acl_operation *operations;
    size_t n_operations;
};

struct wdn_res_access_control {
    struct wdn_res_pos pos;     /* line 0 when absent */
    const char *default_action; /* "allow", "deny" or NULL */
    const char *trust_domain;
    struct wdn_res_acl_policy *policies;
    size_t n_policies;
};

/* spec.tracing, as Dapr defines it: the sampling rate and where spans go (OTLP/HTTP only). */
struct wdn_res_tracing_otel {
    struct wdn_res_pos pos;
    const char *endpoint_address; /* "host:port" or an http(s) URL; NULL: spans go nowhere */
    int is_secure;                /* WDN_RES_UNSET, 0 or 1: https to a "host:port" */
    const char *protocol;         /* "http" (grpc is refused); NULL: http, with a warning */
};

struct wdn_res_tracing {
    struct wdn_res_pos pos;
    const char *sampling_rate; /* as written ("1", "0.0001"); NULL when not given */
    double rate;               /* its value, 0..1; Dapr's default 0.0001 when not given */
    struct wdn_res_tracing_otel otel;
};

struct wdn_res_config_spec {
    struct wdn_res_pos pos;
    struct wdn_res_pipeline http_pipeline;     /* Dapr API ingress */
    struct wdn_res_pipeline app_http_pipeline; /* before the app */
    struct wdn_res_access_control access_control;
    struct wdn_res_tracing tracing;
};

struct wdn_res_configuration {
    struct wdn_res_pos pos;
    bool invalid; /* its document had errors: checks beyond the decoder skip it */
    const char *api_version;
    const char *kind;
    struct wdn_res_objmeta metadata;
    struct wdn_res_config_spec spec;
};

/* ---- MCPServer (apiVersion warden.dev/v1alpha1, our kind) ---------------------------- */

struct wdn_res_mcp_rule {
    struct wdn_res_pos pos;
    struct wdn_res_strlist callers;        /* app IDs or "*" */
    struct wdn_res_strlist tools;          /* names, "*" or globs with '*' */
    const char *action;                    /* "allow" or "deny" */
    struct wdn_res_strlist require_scopes; /* allow rules only */
    struct wdn_res_map require_claims;     /* allow rules only: claim -> exact value */
};

struct wdn_res_mcp_http_endpoint {
    struct wdn_res_pos pos;
    const char *url;
};

struct wdn_res_mcp_endpoint {
    struct wdn_res_pos pos;
    struct wdn_res_mcp_http_endpoint streamable_http;
};

struct wdn_res_mcpserver_spec {
    struct wdn_res_pos pos;
    const char *app_id;         /* the MCP server's app ID */
    const char *default_action; /* "deny" (default) or "allow" */
    struct wdn_res_mcp_endpoint endpoint;
    struct wdn_res_mcp_rule *rules;
    size_t n_rules;
};

struct wdn_res_mcpserver {
    struct wdn_res_pos pos;
    bool invalid; /* its document had errors: checks beyond the decoder skip it */
    const char *api_version;
    const char *kind;
    struct wdn_res_objmeta metadata;
    struct wdn_res_mcpserver_spec spec;
};

/* ---- Multi-app run file (`dapr run -f` / `warden dev run -f`) ----------------------- */

/** Fields allowed both in `common` and in each app; after loading, each app's copy holds the
 * merged values (the app's own value wins, then common's, then the default). */
struct wdn_res_run_shared {
    struct wdn_res_pos pos; /* of `common` (line 0 inside an app) */
    const char *config_file_path;
    const char *app_protocol; /* http (default), https, grpc, grpcs, h2c */
    const char *api_listen_addresses;
    int enable_profiling;
    const char *log_level; /* debug, info (default), warn, error, fatal, panic */
    int64_t app_max_concurrency;
    const char *placement_host_address;
    const char *scheduler_host_address;
    const char *resources_path; /* deprecated single path */
    struct wdn_res_strlist resources_paths;
    int app_ssl;
    const char *max_body_size;
    const char *read_buffer_size;
    int enable_app_health_check;
    const char *app_health_check_path;
    int64_t app_health_probe_interval;
    int64_t app_health_probe_timeout;
    int64_t app_health_threshold;
    int enable_api_logging;
    const char *runtime_path;
    struct wdn_res_map env;
    const char *daprd_log_destination; /* console, file (default), fileAndConsole */
    const char *app_log_destination;   /* console, file, fileAndConsole (default) */
    const char *audit_log;             /* warden: the sidecar's --audit-log (docs/audit.md) */
};

struct wdn_res_run_app {
    struct wdn_res_pos pos;
    struct wdn_res_run_shared sh;
    const char *app_id;       /* defaults to the base name of appDirPath */
    const char *app_dir_path; /* as written */
    const char *app_channel_address;
    int64_t app_port; /* WDN_RES_INT_UNSET or 0..65535 */
    int64_t dapr_http_port;
    int64_t dapr_grpc_port;
    int64_t dapr_internal_grpc_port;
    int64_t metrics_port;
    int64_t profile_port;
    const char *unix_domain_socket;
    struct wdn_res_strlist command;
    const char *container_image;
    const char *container_image_pull_policy;
    int create_service;

    /* Resolved after loading (absolute when the run file's folder is known). */
    const char *app_dir;              /* appDirPath against the run file's folder */
    struct wdn_res_strlist resources; /* effective resources folders, in precedence order */
    const char *config_file;          /* effective configFilePath, resolved, or NULL */
    const char *audit_log;            /* effective auditLog: a resolved file with {appID}
                                         replaced, "stdout", "syslog", or NULL */
};

struct wdn_res_runfile {
    struct wdn_res_pos pos;
    const char *base_dir; /* the run file's folder ("." for stdin) */
    int64_t version;
    const char *name;
    struct wdn_res_run_shared common;
    struct wdn_res_run_app *apps;
    size_t n_apps;
};

/* ---- The set ------------------------------------------------------------------------ */

/** One error or warning, with its place. */
struct wdn_res_msg {
    bool warning;
    struct wdn_diag d;
};

/** Everything loaded so far, plus every message. Opaque fields are internal. */
struct wdn_resources {
    struct wdn_res_component **components;
    size_t n_components;
    struct wdn_res_configuration **configurations;
    size_t n_configurations;
    struct wdn_res_mcpserver **mcpservers;
    size_t n_mcpservers;
    struct wdn_res_runfile **runfiles;
    size_t n_runfiles;

    struct wdn_res_msg *msgs; /* errors and warnings, in the order found */
    size_t n_msgs;
    size_t n_errors;
    size_t n_warnings;
    bool truncated; /* more than WDN_RES_MAX_ERRORS messages: the rest were dropped */

    void *priv; /* internal */
};

/** A new empty set, or NULL when out of memory. Free with wdn_resources_free(). */
struct wdn_resources *wdn_resources_new(void);
/** Frees the set and everything it owns; NULL is fine. */
void wdn_resources_free(struct wdn_resources *set);

/**
 * Loads path into the set: a YAML file (several documents allowed), or a folder whose *.yaml
 * and *.yml files are loaded in sorted order (not recursive). Errors are collected in the set;
 * the return value is 0 when this call added no error, WDN_ECONFIG when it did, or
 * WDN_ENOMEM/WDN_EIO for failures that stop loading.
 */
int wdn_resources_load_path(struct wdn_resources *set, const char *path);

/**
 * Loads YAML from memory; name is what errors show (e.g. "-" for stdin) and base_dir is
 * where a run file's relative paths start (NULL = "."). data is borrowed for the call only.
 */
int wdn_resources_load_buffer(struct wdn_resources *set, const char *name, const char *base_dir,
                              const char *data, size_t len);

/**
 * Names that must be unique: two resources of one kind with one name (and namespace), or two
 * MCPServers for one app. Adds errors to the set; returns 0 or WDN_ECONFIG.
 */
int wdn_resources_check_unique(struct wdn_resources *set);

/**
 * Cross-resource checks: wdn_resources_check_unique, and every Configuration's httpPipeline and
 * appHttpPipeline handler must name a Component that exists with the handler's type and
 * version. With app_id non-NULL the Component must also be in scope for that app (Dapr skips
 * such handlers silently; warden refuses). Adds errors to the set; returns 0 or WDN_ECONFIG.
 */
int wdn_resources_validate(struct wdn_resources *set, const char *app_id);

/**
 * Pipeline check for one Configuration as one app will run it (used by the sidecar at start
 * and on reload): like wdn_resources_validate but only for cfg and app_id. Adds errors.
 */
int wdn_resources_check_pipeline(struct wdn_resources *set, const struct wdn_res_configuration *cfg,
                                 const char *app_id);

/** True when comp is loaded by app_id: its scopes are empty or list app_id exactly. */
bool wdn_resources_component_in_scope(const struct wdn_res_component *comp, const char *app_id);

/** Finders by metadata.name (NULL when absent); results are borrowed from the set. */
const struct wdn_res_component *wdn_resources_find_component(const struct wdn_resources *set,
                                                             const char *name);
const struct wdn_res_configuration *
wdn_resources_find_configuration(const struct wdn_resources *set, const char *name);
const struct wdn_res_mcpserver *wdn_resources_find_mcpserver(const struct wdn_resources *set,
                                                             const char *name);

/** The value of a Component's spec.metadata entry (plain value only), or NULL. */
const char *wdn_resources_component_meta(const struct wdn_res_component *comp, const char *name);

/**
 * Adds d (a check made outside the loader: a middleware's metadata, an access control list, an
 * MCP policy) to the set's messages as an error, or as a warning, so that every tool prints and
 * counts them as it does the loader's own (the counters stay exact even when the list is full).
 */
void wdn_resources_add_diag(struct wdn_resources *set, bool warning, const struct wdn_diag *d);

/** Returns a message's text as "file:line:col: message" (warnings add "warning: "). */
const char *wdn_resources_msg_format(const struct wdn_res_msg *m, char *buf, size_t cap);

/** True when s is a valid app ID (1..WDN_RES_MAX_APPID bytes of [A-Za-z0-9_-]). */
bool wdn_resources_valid_app_id(const char *s);

#endif
