/* The checks a sidecar runs on what it loads, as functions the CLI calls too: `warden check`,
 * `apply`, `appid update`, `configuration create` and `mcpserver access` refuse exactly what a
 * sidecar would refuse, with the same file:line:col messages (issue 14, "one validator"). */
#ifndef WDN_SIDECAR_VALIDATE_H
#define WDN_SIDECAR_VALIDATE_H

#include "resources/resources.h"

/**
 * What every loaded resource must pass, whichever app runs: unique names
 * (wdn_resources_check_unique), each Component's metadata against its middleware type's field
 * table (wdn_pipeline_check_component; a type warden does not implement is a warning), each
 * Configuration's access control and each MCPServer's policy compiled as the sidecar compiles
 * them. Adds errors and warnings to set; returns 0 or WDN_ECONFIG.
 */
int wdn_sidecar_check_resources(struct wdn_resources *set);

/**
 * cfg's pipelines as app_id runs them (app_id NULL: as any app, without the scope test): each
 * handler names a loaded Component of its type and version, in scope for the app, of a type
 * warden implements. Adds errors to set; returns 0 or WDN_ECONFIG.
 */
int wdn_sidecar_check_config(struct wdn_resources *set, const struct wdn_res_configuration *cfg,
                             const char *app_id);

#endif
