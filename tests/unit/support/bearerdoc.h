/* Test helper for the bearer middleware (src/pipeline): a Component "bearer" of type
 * middleware.http.bearer with the given metadata lines and a Configuration "cfg" whose app
 * pipeline runs it, built and run the way the sidecar does, with signed tokens. Failures of the
 * helper itself fail the calling cmocka test. */
#ifndef WDN_TEST_BEARERDOC_H
#define WDN_TEST_BEARERDOC_H

#include <stdbool.h>

#include "jose/crypto.h"
#include "jose/sign.h"
#include "pipeline/pipeline.h"

/**
 * Loads the two documents from file name `file` (for messages): the Component's spec.metadata
 * is exactly `meta` (YAML list items, each line ending in "\n"). The loader must accept them.
 */
struct wdn_resources *bd_load(const char *file, const char *meta);

/** wdn_pipeline_build of "cfg"'s app pipeline for app (may be NULL), d cleared first. */
int bd_build(struct wdn_resources *set, const char *app, struct wdn_mw_registry *reg,
             struct wdn_pipeline **p, struct wdn_diag *d);

/**
 * Runs p on POST /mcp with "Authorization: Bearer <tok>" (no header when tok is NULL); tmpl (may
 * be NULL) gives the other request fields (resource, want_auth, ...). Returns o->status.
 */
int bd_run(struct wdn_pipeline *p, const char *tok, const struct wdn_pipeline_req *tmpl,
           struct wdn_arena *a, struct wdn_pipeline_out *o);

/** The value of the answer's header name (case-insensitive), or NULL; valid until the next call. */
const char *bd_header(const struct wdn_pipeline_out *o, const char *name);

/** A compact JWS of claims (a JSON object) signed by k, malloc'd. */
char *bd_sign(const struct wdn_jose_key *k, const char *claims);

/** A new ES256 key with kid "k1" (*key, free with wdn_jose_key_free) and its public JWKS,
 * malloc'd; NULL on failure. */
char *bd_es256(struct wdn_jose_key **key);

/** The public JWKS of a new ES256 key that is thrown away (a usable key set nothing signs
 * for), malloc'd; NULL on failure. */
char *bd_jwks(void);

#endif
