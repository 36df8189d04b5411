/* The project as it would be after a change, checked the way its sidecars will check it (see
 * validate.h). Loading goes through the same loader and the same checks as the sidecar's
 * reload; only the choice of which Configuration each app runs comes from the bindings here. */
#include "cli/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "project/project.h"
#include "project/store.h"
#include "sidecar/validate.h"

struct load_ctx {
    struct wdn_resources *set;
    const char *project, *kind;
    const struct wdn_cli_resref *skip;
    size_t nskip;
    int rc;
};

static int load_one(const char *name, void *arg)
{
    struct load_ctx *c = arg;
    char path[WDN_MAX_PATH];
    int rc;

    for (size_t i = 0; i < c->nskip; i++)
        if (strcmp(c->skip[i].kind, c->kind) == 0 && strcmp(c->skip[i].name, name) == 0)
            return 0;
    if (wdn_store_resource_path(c->project, c->kind, name, path, sizeof(path)) != 0)
        return 0;
    rc = wdn_resources_load_path(c->set, path);
    if (rc == WDN_ENOMEM || rc == WDN_EIO)
        c->rc = rc;
    return c->rc;
}

int wdn_cli_load_project(struct wdn_resources *set, const char *project,
                         const struct wdn_cli_resref *skip, size_t nskip)
{
    static const char *const kinds[] = {WDN_KIND_COMPONENT, WDN_KIND_CONFIGURATION,
                                        WDN_KIND_MCPSERVER};
    struct load_ctx c = {set, project, NULL, skip, nskip, 0};

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && c.rc == 0; i++) {
        c.kind = kinds[i];
        wdn_store_list_resources(project, kinds[i], load_one, &c);
    }
    return c.rc;
}

struct bind_ctx {
    struct wdn_resources *set;
    const char *project, *bind_app, *bind_config;
    bool *bound; /* per configuration of the set */
};

/* One app ID's binding: its Configuration checked as that app runs it. */
static int check_binding(const char *app, void *arg)
{
    struct bind_ctx *c = arg;
    struct wdn_store_appid a;
    const char *cfg_name;

    if (c->bind_app && strcmp(app, c->bind_app) == 0)
        return 0; /* checked with its new binding */
    if (wdn_store_get_appid(c->project, app, &a) != 0 || a.app_config[0] == '\0')
        return 0;
    cfg_name = a.app_config;
    for (size_t i = 0; i < c->set->n_configurations; i++) {
        const struct wdn_res_configuration *cfg = c->set->configurations[i];
        if (cfg->metadata.name && strcmp(cfg->metadata.name, cfg_name) == 0) {
            c->bound[i] = true;
            wdn_sidecar_check_config(c->set, cfg, app);
            return 0;
        }
    }
    /* The sidecar of this app would refuse to reload (its Configuration is gone). */
    struct wdn_diag d;
    wdn_diag_set(&d, WDN_ECONFIG,
                 "app ID '%s' is bound to configuration '%s', which is not in project '%s' "
                 "(bind it to another: warden appid update %s --app-config NAME)",
                 app, cfg_name, c->project, app);
    wdn_resources_add_diag(c->set, false, &d);
    return 0;
}

void wdn_cli_validate(struct wdn_resources *set, const char *project, const char *bind_app,
                      const char *bind_config)
{
    bool *bound = calloc(set->n_configurations + 1, sizeof(*bound));
    struct bind_ctx c = {set, project, bind_app, bind_config, bound};

    if (bound == NULL) {
        struct wdn_diag d;
        wdn_diag_set(&d, WDN_ENOMEM, "out of memory");
        wdn_resources_add_diag(set, false, &d);
        return;
    }
    wdn_sidecar_check_resources(set);
    if (project == NULL) {
        for (size_t i = 0; i < set->n_configurations; i++)
            wdn_sidecar_check_config(set, set->configurations[i], bind_app);
        free(bound);
        return;
    }
    wdn_store_list_appids(project, check_binding, &c);
    if (bind_app && bind_config && *bind_config) {
        const struct wdn_res_configuration *cfg = NULL;
        for (size_t i = 0; i < set->n_configurations; i++)
            if (set->configurations[i]->metadata.name &&
                strcmp(set->configurations[i]->metadata.name, bind_config) == 0) {
                cfg = set->configurations[i];
                bound[i] = true;
            }
        if (cfg)
            wdn_sidecar_check_config(set, cfg, bind_app);
    }
    for (size_t i = 0; i < set->n_configurations; i++)
        if (!bound[i])
            wdn_sidecar_check_config(set, set->configurations[i], NULL);
    free(bound);
}

size_t wdn_cli_print_msgs(const struct wdn_resources *set, const char *cmd)
{
    size_t errors = 0, listed = 0;
    char line[1200], prev[1200];

    for (size_t i = 0; i < set->n_msgs; i++) {
        bool seen = false;
        listed += !set->msgs[i].warning;
        wdn_resources_msg_format(&set->msgs[i], line, sizeof(line));
        /* The same Configuration checked for two apps can say the same thing twice. */
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(wdn_resources_msg_format(&set->msgs[j], prev, sizeof(prev)), line) == 0;
        if (seen)
            continue;
        fprintf(stderr, "%s\n", line);
        if (!set->msgs[i].warning)
            errors++;
    }
    if (set->truncated)
        fprintf(stderr, "warden %s: more messages were found and not shown\n", cmd);
    return errors + (set->n_errors - listed);
}

size_t wdn_cli_check_change(const char *cmd, const char *project, const struct wdn_cli_change *ch)
{
    struct wdn_resources *set = wdn_resources_new();
    struct wdn_cli_resref skip = {ch->kind, ch->name};
    char path[WDN_MAX_PATH];
    size_t errors = 1;
    int rc = set ? 0 : WDN_ENOMEM;

    if (rc == 0 && ch->kind && ch->yaml) {
        /* Named as the file it will be stored in, which is what a sidecar's errors will say. */
        rc = wdn_store_resource_path(project, ch->kind, ch->name, path, sizeof(path));
        if (rc == 0)
            rc = wdn_resources_load_buffer(set, path, NULL, ch->yaml, ch->len);
        if (rc == WDN_ECONFIG)
            rc = 0;
    }
    if (rc == 0)
        rc = wdn_cli_load_project(set, project, &skip, ch->kind ? 1 : 0);
    if (rc) {
        fprintf(stderr, "warden %s: cannot read project '%s': %s\n", cmd, project,
                wdn_strerror(rc));
        goto out;
    }
    wdn_cli_validate(set, project, ch->bind_app, ch->bind_config);
    errors = wdn_cli_print_msgs(set, cmd);
out:
    wdn_resources_free(set);
    return errors;
}
