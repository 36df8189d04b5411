/* A sidecar on a thread of its own, for unit tests (testsc.h). */
#include "testsc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"

static void *runner(void *arg)
{
    struct wdn_diag d;
    return (void *)(intptr_t)wdn_sidecar_run(arg, &d);
}

int testsc_start(struct testsc *r, const struct wdn_sidecar_opts *o, char *why, size_t cap)
{
    struct wdn_diag d;
    uint64_t end;

    if (wdn_sidecar_new(o, &r->sc, &d) != 0) {
        snprintf(why, cap, "wdn_sidecar_new: %s", d.msg);
        return -1;
    }
    if (pthread_create(&r->t, NULL, runner, r->sc) != 0) {
        snprintf(why, cap, "pthread_create failed");
        wdn_sidecar_free(r->sc);
        return -1;
    }
    /* Bounded by time, not by tries: a loaded machine or a slow build takes longer. */
    for (end = wdn_clock_mono_ms() + 60000; !wdn_sidecar_ready(r->sc);) {
        if (wdn_clock_mono_ms() > end) {
            snprintf(why, cap, "the sidecar was not ready within 60 s");
            return -1;
        }
        usleep(10000);
    }
    return 0;
}

void testsc_up(struct testsc *r, const struct wdn_sidecar_opts *o)
{
    char why[300];

    if (testsc_start(r, o, why, sizeof(why)) != 0)
        fail_msg("%s", why);
}

int testsc_stop(struct testsc *r)
{
    void *ret = NULL;

    wdn_sidecar_stop(r->sc);
    pthread_join(r->t, &ret);
    wdn_sidecar_free(r->sc);
    return (int)(intptr_t)ret;
}
