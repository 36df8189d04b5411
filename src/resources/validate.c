/* Checks across resources: duplicate names, component scopes, and pipeline handlers that must
 * name a loaded, matching, in-scope component (Dapr skips such handlers; warden refuses). */
#include "resources/internal.h"

#include <string.h>

#include "base/error.h"

bool wdn_resources_component_in_scope(const struct wdn_res_component *comp, const char *app_id)
{
    if (comp == NULL)
        return false;
    if (comp->scopes.n == 0)
        return true;
    if (app_id == NULL)
        return false;
    for (size_t i = 0; i < comp->scopes.n; i++) {
        if (strcmp(comp->scopes.v[i], app_id) == 0)
            return true;
    }
    return false;
}

#define FIND_BY_NAME(arr, n, name)                                                                 \
    do {                                                                                           \
        for (size_t i_ = 0; name && i_ < (n); i_++) {                                              \
            if ((arr)[i_]->metadata.name && strcmp((arr)[i_]->metadata.name, name) == 0)           \
                return (arr)[i_];                                                                  \
        }                                                                                          \
        return NULL;                                                                               \
    } while (0)

const struct wdn_res_component *wdn_resources_find_component(const struct wdn_resources *set,
                                                             const char *name)
{
    FIND_BY_NAME(set->components, set->n_components, name);
}

const struct wdn_res_configuration *
wdn_resources_find_configuration(const struct wdn_resources *set, const char *name)
{
    FIND_BY_NAME(set->configurations, set->n_configurations, name);
}

const struct wdn_res_mcpserver *wdn_resources_find_mcpserver(const struct wdn_resources *set,
                                                             const char *name)
{
    FIND_BY_NAME(set->mcpservers, set->n_mcpservers, name);
}

const char *wdn_resources_component_meta(const struct wdn_res_component *comp, const char *name)
{
    for (size_t i = 0; comp && i < comp->spec.n_metadata; i++) {
        if (comp->spec.metadata[i].name && strcmp(comp->spec.metadata[i].name, name) == 0)
            return comp->spec.metadata[i].value;
    }
    return NULL;
}

static void err_at(struct wdn_resources *set, const struct wdn_res_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void err_at(struct wdn_resources *set, const struct wdn_res_pos *pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wdn__res_vmsg(set, false, pos->file, pos->line, pos->col, fmt, ap);
    va_end(ap);
}

static bool same_ns(const char *a, const char *b)
{
    return strcmp(a ? a : "default", b ? b : "default") == 0;
}

/* One handler against the loaded components; app_id NULL skips the scope test. */
static void check_handler(struct wdn_resources *set, const struct wdn_res_configuration *cfg,
                          const char *which, size_t idx, const struct wdn_res_handler *h,
                          const char *app_id)
{
    const struct wdn_res_component *comp = NULL;
    const char *hv = h->version ? h->version : "v1";
    const char *cname = cfg->metadata.name ? cfg->metadata.name : "?";

    if (h->name == NULL || h->type == NULL)
        return; /* already reported by the decoder */
    for (size_t i = 0; i < set->n_components && comp == NULL; i++) {
        const struct wdn_res_component *c = set->components[i];
        if (c->metadata.name && strcmp(c->metadata.name, h->name) == 0 &&
            same_ns(c->metadata.ns, cfg->metadata.ns))
            comp = c;
    }
    if (comp == NULL) {
        err_at(set, &h->pos,
               "Configuration \"%s\" %s.handlers[%zu]: no Component named \"%s\" is loaded; "
               "the handler cannot be skipped",
               cname, which, idx, h->name);
        return;
    }
    if (comp->spec.type == NULL || strcmp(comp->spec.type, h->type) != 0) {
        err_at(set, &h->pos,
               "Configuration \"%s\" %s.handlers[%zu]: handler type \"%s\" does not match "
               "Component \"%s\" of type \"%s\" (%s:%u)",
               cname, which, idx, h->type, h->name, comp->spec.type ? comp->spec.type : "?",
               comp->pos.file, comp->pos.line);
        return;
    }
    if (comp->spec.version && strcmp(comp->spec.version, hv) != 0) {
        err_at(set, &h->pos,
               "Configuration \"%s\" %s.handlers[%zu]: handler version \"%s\" does not match "
               "Component \"%s\" version \"%s\"",
               cname, which, idx, hv, h->name, comp->spec.version);
        return;
    }
    if (app_id && !wdn_resources_component_in_scope(comp, app_id))
        err_at(set, &h->pos,
               "Configuration \"%s\" %s.handlers[%zu]: Component \"%s\" is scoped away from "
               "app \"%s\" (scopes at %s:%u); the handler cannot be skipped",
               cname, which, idx, h->name, app_id, comp->pos.file, comp->pos.line);
}

static void check_config(struct wdn_resources *set, const struct wdn_res_configuration *cfg,
                         const char *app_id)
{
    const struct wdn_res_pipeline *p = &cfg->spec.http_pipeline;
    const struct wdn_res_pipeline *a = &cfg->spec.app_http_pipeline;

    for (size_t i = 0; i < p->n_handlers; i++)
        check_handler(set, cfg, "httpPipeline", i, &p->handlers[i], app_id);
    for (size_t i = 0; i < a->n_handlers; i++)
        check_handler(set, cfg, "appHttpPipeline", i, &a->handlers[i], app_id);
}

int wdn_resources_check_pipeline(struct wdn_resources *set, const struct wdn_res_configuration *cfg,
                                 const char *app_id)
{
    size_t before;

    if (set == NULL || cfg == NULL)
        return WDN_EINVAL;
    before = set->n_errors;
    check_config(set, cfg, app_id);
    return set->n_errors > before ? WDN_ECONFIG : 0;
}

#define CHECK_DUPS(arr, n, kindname)                                                               \
    for (size_t i = 0; i < (n); i++) {                                                             \
        for (size_t j = 0; j < i; j++) {                                                           \
            const char *a_ = (arr)[i]->metadata.name, *b_ = (arr)[j]->metadata.name;               \
            if (a_ && b_ && strcmp(a_, b_) == 0 &&                                                 \
                same_ns((arr)[i]->metadata.ns, (arr)[j]->metadata.ns)) {                           \
                err_at(set, &(arr)[i]->pos, "a second " kindname " named \"%s\" (first at %s:%u)", \
                       a_, (arr)[j]->pos.file, (arr)[j]->pos.line);                                \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
    }

int wdn_resources_check_unique(struct wdn_resources *set)
{
    size_t before;

    if (set == NULL)
        return WDN_EINVAL;
    before = set->n_errors;
    CHECK_DUPS(set->components, set->n_components, "Component");
    CHECK_DUPS(set->configurations, set->n_configurations, "Configuration");
    CHECK_DUPS(set->mcpservers, set->n_mcpservers, "MCPServer");
    /* Two MCPServers guarding the same app would each need to agree; refuse the ambiguity. */
    for (size_t i = 0; i < set->n_mcpservers; i++) {
        for (size_t j = 0; j < i; j++) {
            const char *a = set->mcpservers[i]->spec.app_id, *b = set->mcpservers[j]->spec.app_id;
            if (a && b && strcmp(a, b) == 0) {
                err_at(set, &set->mcpservers[i]->pos,
                       "a second MCPServer for app \"%s\" (first at %s:%u)", a,
                       set->mcpservers[j]->pos.file, set->mcpservers[j]->pos.line);
                break;
            }
        }
    }
    return set->n_errors > before ? WDN_ECONFIG : 0;
}

int wdn_resources_validate(struct wdn_resources *set, const char *app_id)
{
    size_t before;

    if (set == NULL)
        return WDN_EINVAL;
    before = set->n_errors;
    wdn_resources_check_unique(set);
    for (size_t i = 0; i < set->n_configurations; i++)
        check_config(set, set->configurations[i], app_id);
    return set->n_errors > before ? WDN_ECONFIG : 0;
}
