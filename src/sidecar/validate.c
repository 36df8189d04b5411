/* The sidecar's checks on loaded resources (see validate.h): the sidecar runs them on start and
 * on every reload, the CLI before it stores anything. Each check is the code that builds the
 * thing (the middleware's field table, the ACL and MCP policy compilers), run without building
 * the runtime, so there is no second copy of any rule. */
#include "sidecar/validate.h"

#include <string.h>

#include "base/error.h"
#include "pipeline/pipeline.h"
#include "policy/policy.h"
#include "trace/span.h"

int wdn_sidecar_check_resources(struct wdn_resources *set)
{
    size_t before = set->n_errors;
    struct wdn_diag d;

    wdn_resources_check_unique(set);
    /* A resource whose document already had errors is not checked further: what follows would
     * only repeat them in other words. */
    for (size_t i = 0; i < set->n_components; i++) {
        if (set->components[i]->invalid)
            continue;
        int rc = wdn_pipeline_check_component(set->components[i], &d);
        /* A Dapr component warden does not run (a state store, ...) is kept and ignored; a
         * pipeline that names it is refused by wdn_sidecar_check_config. */
        if (rc == WDN_EUNSUPPORTED)
            wdn_resources_add_diag(set, true, &d);
        else if (rc)
            wdn_resources_add_diag(set, false, &d);
    }
    for (size_t i = 0; i < set->n_configurations; i++) {
        struct wdn_acl *acl = NULL;
        if (set->configurations[i]->invalid)
            continue;
        if (wdn_acl_compile(&set->configurations[i]->spec.access_control, true, &acl, &d) != 0)
            wdn_resources_add_diag(set, false, &d);
        wdn_acl_free(acl);
        const struct wdn_res_tracing_otel *otel = &set->configurations[i]->spec.tracing.otel;
        char url[WDN_TRACE_MAX_URL_BYTES];
        if (otel->endpoint_address &&
            wdn_otlp_url(otel->endpoint_address, otel->is_secure == 1, url, sizeof(url)) != 0) {
            wdn_diag_set_at(&d, WDN_ECONFIG, otel->pos.file, otel->pos.line, otel->pos.col,
                            "tracing.otel.endpointAddress \"%s\" is not host:port or an http(s) "
                            "URL without user, query or fragment",
                            otel->endpoint_address);
            wdn_resources_add_diag(set, false, &d);
        }
    }
    for (size_t i = 0; i < set->n_mcpservers; i++) {
        struct wdn_tool_policy *p = NULL;
        if (set->mcpservers[i]->invalid)
            continue;
        if (wdn_tool_policy_compile(set->mcpservers[i], &p, &d) != 0)
            wdn_resources_add_diag(set, false, &d);
        wdn_tool_policy_free(p);
    }
    return set->n_errors > before ? WDN_ECONFIG : 0;
}

/* A handler whose (matching) component is of a type warden does not implement. */
static void check_types(struct wdn_resources *set, const char *cfg_name,
                        const struct wdn_res_pipeline *p, const char *which)
{
    for (size_t i = 0; i < p->n_handlers; i++) {
        const struct wdn_res_handler *h = &p->handlers[i];
        const struct wdn_res_component *c = wdn_resources_find_component(set, h->name);
        struct wdn_diag d;

        if (c == NULL || c->spec.type == NULL || h->type == NULL ||
            strcmp(c->spec.type, h->type) != 0)
            continue; /* reported by wdn_resources_check_pipeline */
        if (wdn_pipeline_check_component(c, &d) == WDN_EUNSUPPORTED) {
            wdn_diag_set_at(&d, WDN_ECONFIG, h->pos.file, h->pos.line, h->pos.col,
                            "Configuration \"%s\" %s.handlers[%zu]: middleware type \"%s\" is not "
                            "supported by warden (supported: middleware.http.bearer); the "
                            "handler cannot be skipped",
                            cfg_name, which, i, h->type);
            wdn_resources_add_diag(set, false, &d);
        }
    }
}

int wdn_sidecar_check_config(struct wdn_resources *set, const struct wdn_res_configuration *cfg,
                             const char *app_id)
{
    size_t before = set->n_errors;
    const char *name = cfg->metadata.name ? cfg->metadata.name : "?";

    wdn_resources_check_pipeline(set, cfg, app_id);
    check_types(set, name, &cfg->spec.http_pipeline, "httpPipeline");
    check_types(set, name, &cfg->spec.app_http_pipeline, "appHttpPipeline");
    return set->n_errors > before ? WDN_ECONFIG : 0;
}
