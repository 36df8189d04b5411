/* Reload acknowledged (issue 14): after a command changes a project, it waits for every running
 * sidecar the change affects to apply it, and says what each one runs now, or why it refused. */
#ifndef WDN_CLI_WAIT_H
#define WDN_CLI_WAIT_H

#include <stdbool.h>
#include <stddef.h>

/** Default and bounds of how long a command waits (seconds; env WARDEN_WAIT_TIMEOUT). */
#define WDN_CLI_WAIT_DEFAULT_S 5
#define WDN_CLI_WAIT_MAX_S 600

struct wdn_cli_wait_app;

/** The running sidecars of a project, noted before a change. Caller-allocated. */
struct wdn_cli_wait {
    char project[128];
    struct wdn_cli_wait_app *apps;
    size_t n;
};

/**
 * Notes project's running sidecars and the project state each would read now (call it under the
 * project lock, before writing). Nothing to free when it fails (then nothing is waited for).
 */
void wdn_cli_wait_begin(struct wdn_cli_wait *w, const char *project);

/**
 * After the change (and after the project lock is released): for each noted sidecar whose state
 * the change altered, waits until it publishes that state (at most WARDEN_WAIT_TIMEOUT seconds,
 * default 5, for all of them), then prints "applied to APP (generation N)" on stdout, or on
 * stderr "warden CMD: APP refused the change: ERROR (it keeps running generation N)", or that
 * it did not answer in time. no_wait skips all of it. Frees what begin noted. Returns 0 when every
 * affected sidecar applied the change (or none is affected), 1 otherwise.
 */
int wdn_cli_wait_end(struct wdn_cli_wait *w, const char *cmd, bool no_wait);

#endif
