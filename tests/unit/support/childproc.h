/* Test helper: run a helper process (e.g. a Node test server) that prints "PORT <n>" (or any
 * first line, for the piped form) when ready. */
#ifndef WDN_TESTS_CHILDPROC_H
#define WDN_TESTS_CHILDPROC_H

#include <stddef.h>
#include <sys/types.h>

struct childproc {
    pid_t pid;
    int port;
    int in_fd; /* the child's stdin (childproc_start_piped), else -1 */
};

/**
 * Starts argv (argv[0] looked up in PATH) with stdout piped; waits up to timeout_ms for a line
 * "PORT <n>". Returns 0 with cp filled, -1 on failure (the child is killed).
 */
int childproc_start(struct childproc *cp, char *const argv[], int timeout_ms);
/**
 * Starts argv with stdin and stdout piped; waits up to timeout_ms for its first line on stdout,
 * copied into line (cap bytes, NUL-terminated, without the newline). The child's stdin stays
 * open until childproc_stop, so a server that exits when its stdin closes never outlives the
 * test. Returns 0, or -1 (the child is stopped) when no line came.
 */
int childproc_start_piped(struct childproc *cp, char *const argv[], int timeout_ms, char *line,
                          size_t cap);
/** Closes the child's stdin if piped and waits up to 5 s, else SIGTERM and up to 2 s; then
 * SIGKILL; reaps the child. */
void childproc_stop(struct childproc *cp);

#endif
