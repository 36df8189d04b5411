/* Test helper: run a helper process (e.g. a Node test server) that prints "PORT <n>" when ready. */
#ifndef WDN_TESTS_CHILDPROC_H
#define WDN_TESTS_CHILDPROC_H

#include <sys/types.h>

struct childproc {
    pid_t pid;
    int port;
};

/**
 * Starts argv (argv[0] looked up in PATH) with stdout piped; waits up to timeout_ms for a line
 * "PORT <n>". Returns 0 with cp filled, -1 on failure (the child is killed).
 */
int childproc_start(struct childproc *cp, char *const argv[], int timeout_ms);
/** SIGTERM, then SIGKILL after 2 s; reaps the child. */
void childproc_stop(struct childproc *cp);

#endif
