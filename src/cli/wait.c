/* Waiting for running sidecars to apply a change (see wait.h). A sidecar hashes the project files
 * it is about to read (wdn_store_state_hash) and publishes that hash with the outcome of the build
 * in its registry entry; when the published hash equals the one the CLI computes after its write,
 * that sidecar has read the change, and its generation or last error says what came of it. */
#include "cli/wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/str.h"
#include "project/project.h"
#include "project/store.h"

#define POLL_MS 50

enum outcome { PENDING, UNAFFECTED, APPLIED, REFUSED, STOPPED, STILL_REFUSED };

struct wdn_cli_wait_app {
    char app[128];
    char before[WDN_STORE_STATE_LEN];
    char after[WDN_STORE_STATE_LEN];
    long pid;
    enum outcome outcome;
    unsigned long long generation;
    char error[512];
};

static int note(const char *name, void *arg)
{
    struct wdn_cli_wait *w = arg;
    struct wdn_store_sidecar s;
    struct wdn_cli_wait_app *a, *grown;

    if (wdn_store_get_sidecar(w->project, name, &s) != 0 || s.pid <= 1)
        return 0; /* not running */
    grown = realloc(w->apps, (w->n + 1) * sizeof(*w->apps));
    if (grown == NULL)
        return 0;
    w->apps = grown;
    a = &w->apps[w->n];
    memset(a, 0, sizeof(*a));
    wdn_fmt(a->app, sizeof(a->app), "%s", name);
    a->pid = s.pid;
    a->generation = s.generation;
    /* A sidecar that publishes no state (files mode) cannot be waited for. */
    if (s.state[0] == '\0' ||
        wdn_store_state_hash(w->project, name, a->before, sizeof(a->before)) != 0)
        return 0;
    w->n++;
    return 0;
}

void wdn_cli_wait_begin(struct wdn_cli_wait *w, const char *project)
{
    char dir[WDN_MAX_PATH];

    memset(w, 0, sizeof(*w));
    wdn_fmt(w->project, sizeof(w->project), "%s", project);
    if (wdn_store_registry_dir(project, dir, sizeof(dir)) == 0)
        wdn_project_list_dir(dir, "json", note, w);
}

/* The wait budget: WARDEN_WAIT_TIMEOUT seconds when set and sane, else the default. */
static unsigned timeout_ms(void)
{
    const char *e = getenv("WARDEN_WAIT_TIMEOUT");
    char *end;
    double s = e && *e ? strtod(e, &end) : 0;

    if (e && *e && *end == '\0' && s > 0 && s <= WDN_CLI_WAIT_MAX_S)
        return (unsigned)(s * 1000);
    return WDN_CLI_WAIT_DEFAULT_S * 1000;
}

/* One look at an affected sidecar: its outcome once it has read the project as it is now. */
static void look(const struct wdn_cli_wait *w, struct wdn_cli_wait_app *a)
{
    struct wdn_store_sidecar s;
    int rc = wdn_store_get_sidecar(w->project, a->app, &s);

    if (rc != 0 || s.pid != a->pid) {
        a->outcome = STOPPED;
        return;
    }
    a->generation = s.generation;
    /* The project may have moved on since our write (another command): wait for what it holds
     * now, which includes our change or replaces it. */
    if (wdn_store_state_hash(w->project, a->app, a->after, sizeof(a->after)) != 0 ||
        strcmp(s.state, a->after) != 0)
        return;
    wdn_fmt(a->error, sizeof(a->error), "%s", s.last_error);
    a->outcome = s.last_error[0] ? REFUSED : APPLIED;
}

int wdn_cli_wait_end(struct wdn_cli_wait *w, const char *cmd, bool no_wait)
{
    unsigned budget = timeout_ms();
    uint64_t deadline = wdn_clock_mono_ms() + budget;
    struct timespec ts = {0, POLL_MS * 1000000L};
    size_t pending = 0;
    int failed = 0;

    for (size_t i = 0; i < w->n && !no_wait; i++) {
        struct wdn_cli_wait_app *a = &w->apps[i];
        /* Affected: what the sidecar reads differs from before the change. */
        if (wdn_store_state_hash(w->project, a->app, a->after, sizeof(a->after)) != 0 ||
            strcmp(a->after, a->before) == 0) {
            /* Not affected; but if it refuses the project as it is, say so (not our doing). */
            look(w, a);
            a->outcome = a->outcome == REFUSED ? STILL_REFUSED : UNAFFECTED;
        } else {
            pending++;
        }
    }
    while (pending && !no_wait) {
        for (size_t i = 0; i < w->n; i++) {
            struct wdn_cli_wait_app *a = &w->apps[i];
            if (a->outcome == PENDING) {
                look(w, a);
                pending -= a->outcome != PENDING;
            }
        }
        if (pending == 0 || wdn_clock_mono_ms() > deadline)
            break;
        nanosleep(&ts, NULL);
    }
    /* In app ID order (the registry's), whatever order they answered in. */
    for (size_t i = 0; i < w->n && !no_wait; i++) {
        const struct wdn_cli_wait_app *a = &w->apps[i];
        switch (a->outcome) {
        case APPLIED:
            printf("applied to %s (generation %llu)\n", a->app, a->generation);
            break;
        case REFUSED:
            fprintf(stderr,
                    "warden %s: %s refused the change: %s (it keeps running generation "
                    "%llu)\n",
                    cmd, a->app, a->error, a->generation);
            failed = 1;
            break;
        case STOPPED:
            fprintf(stderr,
                    "warden %s: the sidecar of %s (pid %ld) stopped before it applied "
                    "the change\n",
                    cmd, a->app, a->pid);
            failed = 1;
            break;
        case PENDING:
            fprintf(stderr,
                    "warden %s: %s did not apply the change within %.1f s (it runs generation "
                    "%llu; see 'warden status', or wait longer with WARDEN_WAIT_TIMEOUT)\n",
                    cmd, a->app, budget / 1000.0, a->generation);
            failed = 1;
            break;
        case STILL_REFUSED:
            fprintf(stderr,
                    "warden %s: note: %s refuses the project as it is: %s (it keeps running "
                    "generation %llu)\n",
                    cmd, a->app, a->error, a->generation);
            break;
        case UNAFFECTED:
            break;
        }
    }
    fflush(stdout);
    free(w->apps);
    w->apps = NULL;
    w->n = 0;
    return failed;
}
