/* The sidecar daemon (`warden sidecar`): the Dapr-compatible HTTP API beside one app, service
 * invocation to peer sidecars over mTLS, access control at the callee, middleware pipelines,
 * live reload of its configuration and Prometheus metrics. See docs/sidecar.md. */
#ifndef WDN_SIDECAR_SIDECAR_H
#define WDN_SIDECAR_SIDECAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/diag.h"
#include "base/limits.h"

/** How to run. Every pointer is borrowed for wdn_sidecar_new only (copies are kept). */
struct wdn_sidecar_opts {
    const char *app_id;           /* required */
    int app_port;                 /* 0: no app channel (invocations of this app fail) */
    const char *app_protocol;     /* "http" (the only one supported); NULL = http */
    const char *app_address;      /* app channel host; NULL = 127.0.0.1 */
    const char *listen_address;   /* API listener; NULL = 127.0.0.1 */
    const char *internal_address; /* mTLS listener; NULL = 127.0.0.1 */
    int http_port;                /* API port; 0 = a free one */
    int internal_port;            /* mTLS port; 0 = a free one */
    int metrics_port;             /* /metrics; 0 = a free one, < 0 = off */
    const char *resources_paths[WDN_SIDECAR_MAX_RESOURCE_PATHS]; /* files or folders */
    size_t n_resources_paths;
    const char *config;        /* a Configuration's name, or a YAML file; NULL = none */
    const char *project;       /* project mode: resources, binding, CA and registry */
    const char *peers_file;    /* static name resolution: "app-id host:port" lines */
    const char *ca_dir;        /* files mode: the CA folder (default $WARDEN_HOME/ca) */
    const char *cert_dir;      /* tls.crt, tls.key, ca.crt issued elsewhere (no CA key here);
                                  exclusive with ca_dir */
    const char *trust_domain;  /* of the SPIFFE ID; NULL = "public" */
    const char *ns;            /* namespace (SPIFFE ID, --peer-dns); NULL = "default" */
    const char *peer_dns;      /* name template for app IDs not in peers_file or the registry:
                                  "{app-id}-warden.{namespace}.svc.cluster.local:50002" */
    const char *api_token;     /* DAPR_API_TOKEN: required from callers when set */
    const char *app_api_token; /* APP_API_TOKEN: sent to the app when set */
    int workers;               /* worker threads per listener; 0 = cores */
    bool handle_signals;       /* stop cleanly on SIGINT and SIGTERM */
    const char *audit_log;     /* audit records to this file, "stdout" or "syslog"; NULL = none
                                  (docs/audit.md) */
    uint64_t audit_max_bytes;  /* rotate the file at this size; 0 = default (100 MiB) */
    unsigned audit_keep;       /* rotated files kept; 0 = default (5) */
    size_t audit_queue;        /* records waiting for the writer; 0 = default (8192) */
    bool audit_args;           /* tool arguments in records, not only their SHA-256 */
    bool audit_fsync;          /* fdatasync the file after each batch of records */
};

struct wdn_sidecar;

/**
 * Loads and builds the configuration (refusing a bad one: WDN_ECONFIG, every error logged and
 * the first in d with its file:line:col), sets up the CA and the workload certificate, and
 * binds nothing yet. *out is owned by the caller (wdn_sidecar_free).
 */
int wdn_sidecar_new(const struct wdn_sidecar_opts *opts, struct wdn_sidecar **out,
                    struct wdn_diag *d);

/**
 * Binds the listeners, registers in the project's registry, prints the chosen ports on stdout
 * ("warden sidecar ready: app-id=... http-port=... internal-port=... metrics-port=..."), and
 * serves until wdn_sidecar_stop (or a signal). Returns 0 after a clean stop, or an error when a
 * listener could not be bound (d says which).
 */
int wdn_sidecar_run(struct wdn_sidecar *sc, struct wdn_diag *d);

/** Asks a running sidecar to stop; safe from any thread. */
void wdn_sidecar_stop(struct wdn_sidecar *sc);

/** The ports actually bound (after wdn_sidecar_run started them), or -1. */
int wdn_sidecar_http_port(const struct wdn_sidecar *sc);
int wdn_sidecar_internal_port(const struct wdn_sidecar *sc);
int wdn_sidecar_metrics_port(const struct wdn_sidecar *sc);

/** True while /v1.0/healthz answers 204: from when peers can find the sidecar (its registry
 * entry written, in project mode) until it starts to stop. Safe from any thread. */
bool wdn_sidecar_ready(const struct wdn_sidecar *sc);

/** Frees everything (after run returned). NULL is fine. */
void wdn_sidecar_free(struct wdn_sidecar *sc);

#endif
