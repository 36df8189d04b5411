/* `warden appid`: app IDs and the Configuration bound to each. A running sidecar watches its
 * binding file, so `appid update APP --app-config NAME` applies without a restart. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/error.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "cli/validate.h"
#include "cli/wait.h"
#include "project/project.h"
#include "project/store.h"
#include "resources/resources.h"

static const char appid_usage[] =
    "Usage: warden appid <create|update|get|list|delete> [APP] [options]\n"
    "\n"
    "  appid create APP [--app-config NAME]   register an app ID, optionally bound to a\n"
    "                                         Configuration of the project\n"
    "  appid update APP --app-config NAME     bind APP to Configuration NAME (creates APP when\n"
    "                                         missing); a running sidecar applies it live\n"
    "  appid get APP [-o json|yaml]\n"
    "  appid list [-o json|yaml]\n"
    "  appid delete APP [--yes]               (asks first when standard input is a terminal)\n"
    "\n"
    "Common options: --project P (default: WARDEN_PROJECT, then 'warden project use').\n"
    "create and update refuse a binding its sidecar would refuse. create, update and delete\n"
    "then wait for the app's running sidecar to apply the change (5 s at most;\n"
    "WARDEN_WAIT_TIMEOUT=SECS) and print 'applied to APP (generation N)' or its error\n"
    "(exit 1); --no-wait skips the wait.\n";

static int row(const char *name, void *arg)
{
    json_t **ctx = arg;
    struct wdn_store_appid a;
    const char *project = json_string_value(ctx[1]);

    if (wdn_store_get_appid(project, name, &a) == 0)
        json_array_append_new(
            ctx[0], json_pack("{s:s, s:s}", "appId", a.app_id, "appConfig", a.app_config));
    return 0;
}

static int put(const char *project, const char *app, const char *config, int must_be_new,
               bool no_wait)
{
    struct wdn_cli_wait w;
    struct wdn_store_appid a;
    enum wdn_store_change ch;
    struct wdn_buf b;
    int fd, rc, exists;

    if (!wdn_resources_valid_app_id(app)) {
        wdn_cli_err("appid", "invalid app ID '%s': use letters, digits, '-' and '_'", app);
        return WDN_CLI_USAGE;
    }
    if (config && *config) {
        if (wdn_store_get_resource(project, WDN_KIND_CONFIGURATION, config, &b) != 0) {
            wdn_cli_err("appid",
                        "configuration '%s' not found in project '%s': apply it with 'warden "
                        "apply -f FILE' or create it with 'warden configuration create'",
                        config, project);
            return WDN_CLI_FAIL;
        }
        wdn_buf_reset(&b);
        /* The app's sidecar would run this Configuration: check it as that sidecar will. */
        struct wdn_cli_change bind = {.bind_app = app, .bind_config = config};
        size_t errors = wdn_cli_check_change("appid", project, &bind);
        if (errors) {
            fprintf(stderr, "warden appid: app ID '%s' not changed (%zu error%s)\n", app, errors,
                    errors == 1 ? "" : "s");
            return WDN_CLI_FAIL;
        }
    }
    if (wdn_project_lock(project, &fd) != 0) {
        wdn_cli_err("appid", "cannot lock project '%s'", project);
        return WDN_CLI_FAIL;
    }
    exists = wdn_store_get_appid(project, app, &a) == 0;
    if (must_be_new && exists) {
        wdn_project_unlock(fd);
        wdn_cli_err("appid", "app ID '%s' already exists (use 'warden appid update')", app);
        return WDN_CLI_FAIL;
    }
    snprintf(a.app_id, sizeof(a.app_id), "%s", app);
    if (config)
        snprintf(a.app_config, sizeof(a.app_config), "%s", config);
    wdn_cli_wait_begin(&w, project);
    rc = wdn_store_put_appid(project, &a, &ch);
    wdn_project_unlock(fd);
    if (rc) {
        wdn_cli_wait_end(&w, "appid", true);
        wdn_cli_err("appid", "cannot store app ID '%s': %s", app, wdn_strerror(rc));
        return WDN_CLI_FAIL;
    }
    if (a.app_config[0])
        printf("appid/%s %s (config %s)\n", app, wdn_store_change_name(ch), a.app_config);
    else
        printf("appid/%s %s\n", app, wdn_store_change_name(ch));
    return wdn_cli_wait_end(&w, "appid", no_wait) ? WDN_CLI_FAIL : WDN_CLI_OK;
}

int wdn_cli_appid(int argc, char **argv)
{
    const char *pos[3], *proj = NULL, *out = NULL, *config = NULL;
    size_t npos;
    bool help, yes = false, no_wait = false;
    char project[128];
    struct wdn_diag d;
    const struct wdn_cli_opt opts[] = {
        {"project", 'p', &proj, NULL, NULL, NULL, 0},    {"output", 'o', &out, NULL, NULL, NULL, 0},
        {"app-config", 0, &config, NULL, NULL, NULL, 0}, {"yes", 'y', NULL, &yes, NULL, NULL, 0},
        {"no-wait", 0, NULL, &no_wait, NULL, NULL, 0},   {0},
    };
    int fmt, rc = wdn_cli_parse(argc, argv, opts, pos, &npos, 3, &help);

    if (rc)
        return rc;
    static const struct wdn_cli_verb verbs[] = {
        {"create", 1, 1, "an APP ID"}, {"update", 1, 1, "an APP ID"}, {"get", 1, 1, "an APP ID"},
        {"list", 0, 0, NULL},          {"delete", 1, 1, "an APP ID"}, {NULL, 0, 0, NULL},
    };
    if (help) {
        fputs(appid_usage, stdout);
        return WDN_CLI_OK;
    }
    if (wdn_cli_verb("appid", verbs, pos, npos) < 0)
        return WDN_CLI_USAGE;
    if ((fmt = wdn_cli_output_parse("appid", out)) < 0)
        return WDN_CLI_USAGE;
    const char *verb = pos[0], *app = npos > 1 ? pos[1] : NULL;
    int is_list = strcmp(verb, "list") == 0;
    if (wdn_project_resolve(proj, project, sizeof(project), &d) != 0) {
        wdn_cli_err("appid", "%s", d.msg);
        return WDN_CLI_FAIL;
    }
    static const char *const cols[] = {"appId", "appConfig"}, *const hdr[] = {"APP ID", "CONFIG"};
    if (is_list || strcmp(verb, "get") == 0) {
        json_t *ctx[2] = {json_array(), json_string(project)};
        if (is_list) {
            wdn_store_list_appids(project, row, ctx);
        } else if (row(app, ctx), json_array_size(ctx[0]) == 0) {
            wdn_cli_err("appid", "app ID '%s' not found in project '%s'", app, project);
            json_decref(ctx[0]);
            json_decref(ctx[1]);
            return WDN_CLI_FAIL;
        }
        wdn_cli_print_records(ctx[0], fmt, cols, hdr, 2, !is_list);
        json_decref(ctx[0]);
        json_decref(ctx[1]);
        return WDN_CLI_OK;
    }
    if (strcmp(verb, "create") == 0)
        return put(project, app, config, 1, no_wait);
    if (strcmp(verb, "update") == 0) {
        if (config == NULL) {
            wdn_cli_err("appid", "update needs --app-config NAME");
            return WDN_CLI_USAGE;
        }
        return put(project, app, config, 0, no_wait);
    }
    if (strcmp(verb, "delete") == 0) {
        int fd;
        if (!wdn_cli_confirm(yes, "Delete app ID '%s' from project '%s'?", app, project)) {
            fprintf(stderr, "not deleted\n");
            return WDN_CLI_FAIL;
        }
        struct wdn_cli_wait w;
        if (wdn_project_lock(project, &fd) != 0)
            return WDN_CLI_FAIL;
        wdn_cli_wait_begin(&w, project);
        rc = wdn_store_delete_appid(project, app);
        wdn_project_unlock(fd);
        if (rc) {
            wdn_cli_wait_end(&w, "appid", true);
            wdn_cli_err("appid", "app ID '%s' not found in project '%s'", app, project);
            return WDN_CLI_FAIL;
        }
        printf("appid/%s deleted\n", app);
        return wdn_cli_wait_end(&w, "appid", no_wait) ? WDN_CLI_FAIL : WDN_CLI_OK;
    }
    fputs(appid_usage, stderr);
    return WDN_CLI_USAGE;
}
