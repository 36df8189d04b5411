/* A sidecar on a thread of its own, for unit tests: started, waited for until it is ready
 * (healthz 204: registered, every listener bound, first keys in), stopped and freed. */
#ifndef WDN_TEST_TESTSC_H
#define WDN_TEST_TESTSC_H

#include <pthread.h>
#include <stddef.h>

#include "sidecar/sidecar.h"

struct testsc {
    struct wdn_sidecar *sc;
    pthread_t t;
};

/* 0 once the sidecar runs and is ready (at most 60 s); else -1 and why. */
int testsc_start(struct testsc *r, const struct wdn_sidecar_opts *o, char *why, size_t cap);

/* testsc_start, failing the test (cmocka) with why when the sidecar does not come up. */
void testsc_up(struct testsc *r, const struct wdn_sidecar_opts *o);

/* Stops, joins and frees it; wdn_sidecar_run's result. */
int testsc_stop(struct testsc *r);

#endif
