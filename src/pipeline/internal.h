/* Internal interface between the pipeline core (pipeline.c) and the middleware types: an
 * instance embeds struct wdn__mw first, its type supplies the vtable. */
#ifndef WDN_PIPELINE_INTERNAL_H
#define WDN_PIPELINE_INTERNAL_H

#include <stdatomic.h>

#include "pipeline/pipeline.h"

struct wdn__mw;

/** A middleware type: its Component type name and what it can do. */
struct wdn__mw_type {
    const char *type; /* "middleware.http.bearer" */
    /* Builds an instance from a Component (borrowed for the call); metadata errors carry the
     * item's file:line:col. */
    int (*create)(const struct wdn_res_component *c, struct wdn__mw **out, struct wdn_diag *d);
    void (*destroy)(struct wdn__mw *m);
    int (*run)(struct wdn__mw *m, const struct wdn_pipeline_req *rq, struct wdn_pipeline_out *out);
    void (*stats)(struct wdn__mw *m, struct wdn_mw_stats *s);
    bool (*ready)(struct wdn__mw *m); /* NULL: always ready */
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

/** Takes a reference. */
void wdn__mw_ref(struct wdn__mw *m);
/** Drops a reference; destroys the instance with the last one. */
void wdn__mw_unref(struct wdn__mw *m);

#endif
