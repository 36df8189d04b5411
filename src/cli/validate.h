/* What the CLI checks before it stores anything: the sidecar's own checks
 * (src/sidecar/validate.c) over the project as it would be after the change, for every app ID
 * bound to a configuration, so that no command says "configured" about what a sidecar refuses. */
#ifndef WDN_CLI_VALIDATE_H
#define WDN_CLI_VALIDATE_H

#include <stddef.h>

#include "resources/resources.h"

/** A stored resource that a change replaces or removes (WDN_KIND_* and metadata.name). */
struct wdn_cli_resref {
    const char *kind;
    const char *name;
};

/**
 * Loads the project's stored resources into set, except the nskip listed in skip. Errors in
 * stored files land in the set (with the stored file's path). Returns 0, or WDN_ENOMEM/WDN_EIO.
 */
int wdn_cli_load_project(struct wdn_resources *set, const char *project,
                         const struct wdn_cli_resref *skip, size_t nskip);

/**
 * Runs on set what the sidecars would run. With a project: every resource, then each
 * Configuration as each app ID bound to it runs it (bind_app bound to bind_config stands for a
 * binding being changed; either may be NULL), and each Configuration bound to none as any app.
 * Without a project (`warden check`): every resource and each Configuration as app_id runs it
 * (bind_app; NULL: as any app). Adds errors and warnings to set.
 */
void wdn_cli_validate(struct wdn_resources *set, const char *project, const char *bind_app,
                      const char *bind_config);

/** One change to a project: a resource stored, replaced or removed, or an app ID bound. */
struct wdn_cli_change {
    const char *kind, *name; /* a resource (WDN_KIND_*), or NULL */
    const char *yaml;        /* its new text; NULL: the resource is removed */
    size_t len;
    const char *bind_app, *bind_config; /* an app ID bound to a Configuration, or NULL */
};

/**
 * Checks the project as it would be after ch, as its sidecars will (wdn_cli_load_project,
 * wdn_cli_validate), printing every message on stderr. Returns the number of errors (0: the
 * change may be stored), or 1 after printing why the project could not be read.
 */
size_t wdn_cli_check_change(const char *cmd, const char *project, const struct wdn_cli_change *ch);

/**
 * Prints every message of set once, in order, on stderr as file:line:col. Returns the number of
 * distinct errors printed.
 */
size_t wdn_cli_print_msgs(const struct wdn_resources *set, const char *cmd);

#endif
