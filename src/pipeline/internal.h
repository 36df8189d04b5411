/* Internal interface between the pipeline core (pipeline.c) and the middleware types: an
 * instance embeds struct wdn__mw first, its type supplies the vtable. */
#ifndef WDN_PIPELINE_INTERNAL_H
#define WDN_PIPELINE_INTERNAL_H

#include <stdatomic.h>

#include "pipeline/pipeline.h"

struct wdn__mw;

/**
 * One spec.metadata field of a middleware type: the table is the only place a type's metadata
 * is read, by the sidecar (create) and by `warden check`/`apply` (check) alike. set() parses
 * value into the type's configuration conf; on a bad value it returns WDN_EINVAL and puts a
 * short sentence naming the field in why (WDN_ENOMEM when out of memory).
 */
struct wdn__mw_field {
    const char *name;
    const char *alias; /* a second accepted name (Dapr's other spelling), or NULL */
    int (*set)(void *conf, const char *value, char *why, size_t cap);
};

/** A middleware type: its Component type name and what it can do. */
struct wdn__mw_type {
    const char *type;                   /* "middleware.http.bearer" */
    const struct wdn__mw_field *fields; /* its metadata; name == NULL ends the table */
    /* Rules across fields (required ones, exclusive pairs), after every field was set. */
    int (*finish)(void *conf, const struct wdn_res_component *c, struct wdn_diag *d);
    /* Reads c into a scratch configuration (wdn__mw_configure) and drops it: no thread, no
     * network. What `warden check` and `warden apply` run. */
    int (*check)(const struct wdn_res_component *c, struct wdn_diag *d);
    /* Builds an instance from a Component (borrowed for the call); metadata errors carry the
     * item's file:line:col. */
    int (*create)(const struct wdn_res_component *c, struct wdn__mw **out, struct wdn_diag *d);
    void (*destroy)(struct wdn__mw *m);
    int (*run)(struct wdn__mw *m, const struct wdn_pipeline_req *rq, struct wdn_pipeline_out *out);
    void (*stats)(struct wdn__mw *m, struct wdn_mw_stats *s);
    bool (*ready)(struct wdn__mw *m); /* NULL: always ready */
    /* What the instance protects (issuers, scopes, configured resource), borrowed from it;
     * NULL for a type that protects nothing. */
    void (*resource)(struct wdn__mw *m, struct wdn_pipeline_resource *out);
};

/** The common head of every instance. name and ctype are owned by the instance. */
struct wdn__mw {
    const struct wdn__mw_type *vt;
    atomic_int refs;
    char *name;
    char *ctype;
    char *fingerprint;    /* name, type, version and metadata: identical Components share */
    struct wdn__mw *next; /* registry list */
};

extern const struct wdn__mw_type wdn__mw_bearer;

/**
 * Reads c's spec.metadata into conf through vt's field table, then vt->finish. Unknown names
 * (the error lists the known ones), secretKeyRef values and bad values are WDN_ECONFIG with d
 * at the item's file:line:col. (Unexpanded ${VAR} values never get here: the YAML decoder
 * refuses them for every component type.)
 */
int wdn__mw_configure(const struct wdn__mw_type *vt, void *conf, const struct wdn_res_component *c,
                      struct wdn_diag *d);

/** The metadata item of c that sets field (by its name or alias), or NULL. */
const struct wdn_res_meta_item *wdn__mw_item(const struct wdn__mw_type *vt,
                                             const struct wdn_res_component *c, const char *field);

/** d = "component 'NAME' (TYPE): MSG" at it (or at c's spec when it is NULL). Returns WDN_ECONFIG.
 */
int wdn__mw_err(struct wdn_diag *d, const struct wdn_res_component *c,
                const struct wdn_res_meta_item *it, const char *msg);

/** Takes a reference. */
void wdn__mw_ref(struct wdn__mw *m);
/** Drops a reference; destroys the instance with the last one. */
void wdn__mw_unref(struct wdn__mw *m);

#endif
