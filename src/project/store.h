/* The control plane's records inside a project: applied resources, app ID bindings and the
 * registry of running sidecars. Writers hold the project lock (see project.h). */
#ifndef WDN_PROJECT_STORE_H
#define WDN_PROJECT_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/diag.h"

/** Resource kinds kept by the store (the folder names under resources/). */
#define WDN_KIND_COMPONENT "component"
#define WDN_KIND_CONFIGURATION "configuration"
#define WDN_KIND_MCPSERVER "mcpserver"

/** What a put did, for `apply`'s "component/bearer configured" lines. */
enum wdn_store_change { WDN_STORE_CREATED, WDN_STORE_CONFIGURED, WDN_STORE_UNCHANGED };

/** "created", "configured" or "unchanged". */
const char *wdn_store_change_name(enum wdn_store_change c);

/** The path of a resource's file, resources/<kind>/<name>.yaml (what errors about it name). */
int wdn_store_resource_path(const char *project, const char *kind, const char *name, char *buf,
                            size_t cap);
/** Stores a resource's YAML text as resources/<kind>/<name>.yaml. */
int wdn_store_put_resource(const char *project, const char *kind, const char *name,
                           const char *yaml, size_t len, enum wdn_store_change *change);
/** Reads one resource's YAML (out initialised by the call). WDN_ENOTFOUND when absent. */
int wdn_store_get_resource(const char *project, const char *kind, const char *name,
                           struct wdn_buf *out);
/** Deletes one resource. WDN_ENOTFOUND when absent. */
int wdn_store_delete_resource(const char *project, const char *kind, const char *name);
/** Calls fn for each resource name of a kind, sorted. */
int wdn_store_list_resources(const char *project, const char *kind,
                             int (*fn)(const char *name, void *arg), void *arg);
/** The folder holding every resource of the project (for `sidecar --resources-path`). */
int wdn_store_resources_dir(const char *project, char *buf, size_t cap);

/** An app ID binding. */
struct wdn_store_appid {
    char app_id[128];
    char app_config[254]; /* the bound Configuration's name, "" for none */
};

/** Creates or updates a binding; change says which. */
int wdn_store_put_appid(const char *project, const struct wdn_store_appid *a,
                        enum wdn_store_change *change);
/** Reads a binding. WDN_ENOTFOUND when the app ID was never created. */
int wdn_store_get_appid(const char *project, const char *app_id, struct wdn_store_appid *a);
int wdn_store_delete_appid(const char *project, const char *app_id);
int wdn_store_list_appids(const char *project, int (*fn)(const char *name, void *arg), void *arg);
/** The path of an app ID's binding file (what a sidecar watches). */
int wdn_store_appid_path(const char *project, const char *app_id, char *buf, size_t cap);

/** Bytes of a state hash as text (64 hex digits and a NUL). */
#define WDN_STORE_STATE_LEN 65

/**
 * A running sidecar, as the registry records it: for name resolution (address, ports) and for
 * the CLI (`warden status`, and the commands that wait for running sidecars to apply a change).
 */
struct wdn_store_sidecar {
    char app_id[128];
    char internal_addr[64]; /* "127.0.0.1:<port>": the mTLS sidecar-to-sidecar port */
    int http_port;          /* the Dapr API port */
    int app_port;
    long pid;
    int metrics_port;                /* 0: none */
    unsigned long long generation;   /* the configuration generation it runs (1 at start) */
    char config[254];                /* the Configuration that generation runs, "" for none */
    char state[WDN_STORE_STATE_LEN]; /* wdn_store_state_hash of the project state its last
                                        build read (the running generation's, or the refused
                                        reload's); "" when it does not say */
    char last_error[512];            /* why the last reload was refused (file:line:col), ""
                                        after a good one */
};

/** Records a running sidecar (registry/<app>.json). */
int wdn_store_put_sidecar(const char *project, const struct wdn_store_sidecar *s);
/** Reads one; WDN_ENOTFOUND when none is registered, WDN_ESTATE when its process is gone. */
int wdn_store_get_sidecar(const char *project, const char *app_id, struct wdn_store_sidecar *s);
/** Removes an entry, but only while it still names pid (a newer sidecar keeps its own). */
int wdn_store_remove_sidecar(const char *project, const char *app_id, long pid);
/**
 * A hash (SHA-256, hex) of what a sidecar of app_id in project reads from the project: every
 * stored resource (names and texts) and app_id's binding. A sidecar computes it before it reads
 * them and publishes it with the result (registry entry's state and last_error); the CLI computes
 * it after a change and waits until each sidecar has published the same value. out holds
 * WDN_STORE_STATE_LEN bytes. Returns 0 or an error.
 */
int wdn_store_state_hash(const char *project, const char *app_id, char *out, size_t cap);

/** The registry folder (what a sidecar's name resolution reads). */
int wdn_store_registry_dir(const char *project, char *buf, size_t cap);

#endif
