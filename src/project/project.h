/* Project state under $WARDEN_HOME (default ~/.warden): one folder per project holding the
 * applied resources, app ID bindings, the project CA, the registry of running sidecars and logs.
 * Every write is atomic (temp file, fsync, rename, fsync of the folder) and writers take the
 * project's lock, so concurrent CLI calls and watching sidecars never see half a file.
 *
 *   $WARDEN_HOME/current-project               name of the default project
 *   $WARDEN_HOME/projects/<p>/project.json     {"name":..., "created":...}
 *   $WARDEN_HOME/projects/<p>/resources/<kind>/<name>.yaml   kind: component, configuration,
 *                                                            mcpserver
 *   $WARDEN_HOME/projects/<p>/appids/<app>.json          {"appId":..., "appConfig":...}
 *   $WARDEN_HOME/projects/<p>/registry/<app>.json        a running sidecar (name resolution)
 *   $WARDEN_HOME/projects/<p>/ca/, issuer/, logs/
 */
#ifndef WDN_PROJECT_PROJECT_H
#define WDN_PROJECT_PROJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/limits.h"

/** The state folder ($WARDEN_HOME, else $HOME/.warden) into buf. 0 or WDN_ELIMIT/WDN_EINVAL. */
int wdn_project_home(char *buf, size_t cap);

/** True when name is a valid project name: 1..63 of [a-z0-9-], not starting or ending in '-'. */
bool wdn_project_valid_name(const char *name);

/** "<home>/projects/<project>/<rel>" (rel may be NULL or "") into buf. */
int wdn_project_path(char *buf, size_t cap, const char *project, const char *rel);

/** True when the project's folder exists. */
bool wdn_project_exists(const char *project);

/** Creates the project's folders. WDN_EEXISTS when it exists, WDN_EINVAL for a bad name. */
int wdn_project_create(const char *project, struct wdn_diag *diag);

/** Removes the project's folder and everything in it (and the default if it was this one). */
int wdn_project_delete(const char *project, struct wdn_diag *diag);

/** Calls fn for each project name, sorted. Returns 0 or the first non-zero fn result. */
int wdn_project_list(int (*fn)(const char *name, void *arg), void *arg);

/** Sets the default project (it must exist). */
int wdn_project_use(const char *project, struct wdn_diag *diag);

/** The default project into buf; WDN_ENOTFOUND when none is set. */
int wdn_project_current(char *buf, size_t cap);

/**
 * Resolves the project a command works on: flag (may be NULL), else WARDEN_PROJECT, else the
 * default. Checks that it exists. diag says what to do when none is known.
 */
int wdn_project_resolve(const char *flag, char *buf, size_t cap, struct wdn_diag *diag);

/** Takes the project's exclusive lock (flock on <project>/lock); *fd for _unlock. */
int wdn_project_lock(const char *project, int *fd);
void wdn_project_unlock(int fd);

/**
 * Who runs a process that holds an exclusive flock on lock_path while it runs and records its pid
 * in pid_path (`dev run`: run.lock/run.pid; `warden issuer`: issuer/issuer.lock/issuer.pid): its
 * pid; 0 when nobody holds the lock (a pid file left behind is stale and names nobody); -1 when
 * the lock is held but the pid is unknown.
 */
long wdn_project_lock_holder(const char *lock_path, const char *pid_path);

/**
 * True while process pid runs: false once it is gone or only a zombie waiting for its parent
 * (a process that released its lock may still be exiting; a stale registry entry names nobody).
 */
bool wdn_project_pid_alive(long pid);

/** Calls fn for each "<name>.<ext>" file of a folder (name without extension), sorted. */
int wdn_project_list_dir(const char *dir, const char *ext, int (*fn)(const char *name, void *arg),
                         void *arg);

#endif
