/* Child processes for `warden dev run`: spawned in their own process group with their output
 * prefixed line by line (`== APP - <id> == ...`), optionally copied to a log file, and stopped
 * with SIGTERM then SIGKILL so that nothing is left behind. */
#ifndef WDN_CLI_DEVRUN_PROC_H
#define WDN_CLI_DEVRUN_PROC_H

#include <stdbool.h>
#include <stdio.h>

#include <uv.h>

struct wdn_proc;

/** Called on the loop when the process has exited (status: exit code, or 128+signal). */
typedef void (*wdn_proc_exit_cb)(struct wdn_proc *p, int status, void *ud);

/** How to start a process. Every pointer is borrowed for the call only. */
struct wdn_proc_spec {
    const char *const *argv; /* argv[0] looked up in PATH */
    const char *const *env;  /* full environment, NULL-terminated */
    const char *cwd;         /* NULL = ours */
    const char *prefix;      /* e.g. "== APP - mcp-server ==" */
    const char *color;       /* ANSI colour for the prefix on a terminal, or NULL */
    bool to_console;         /* copy output to our stdout */
    const char *log_file;    /* also append output here, or NULL */
};

/**
 * Spawns the process. Returns 0 and *out (owned by the loop until wdn_proc_close), or a
 * negative libuv error (e.g. UV_ENOENT when the command does not exist).
 */
int wdn_proc_start(uv_loop_t *loop, const struct wdn_proc_spec *spec, wdn_proc_exit_cb cb,
                   void *ud, struct wdn_proc **out);

/** True while the process runs. */
bool wdn_proc_running(const struct wdn_proc *p);
/** The pid (0 after exit). */
int wdn_proc_pid(const struct wdn_proc *p);
/** The last lines it printed (for error reports), NUL-terminated, borrowed. */
const char *wdn_proc_tail(const struct wdn_proc *p);

/** Sends SIGTERM to the process group; after grace_ms SIGKILL if it still runs. */
void wdn_proc_stop(struct wdn_proc *p, unsigned grace_ms);

/** Releases the handles once the process has exited (the memory is freed by the loop). */
void wdn_proc_close(struct wdn_proc *p);

#endif
