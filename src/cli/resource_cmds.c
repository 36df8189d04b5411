/* `warden configuration` and `warden component`: create, show, list and delete the resources
 * stored in a project. Configurations made here are plain Dapr Configuration YAML, the same as
 * what `warden apply` stores. */
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

#define MAX_POLICIES 64

static const char configuration_usage[] =
    "Usage: warden configuration <create|get|list|delete> [NAME] [options]\n"
    "\n"
    "  configuration create NAME --default-action allow|deny [--policy APP:allow|deny ...]\n"
    "                [--trust-domain TD] [--namespace NS]\n"
    "      store a Configuration whose accessControl has that default and one policy per\n"
    "      --policy (the calling app ID and its default action); replaces one of the same name\n"
    "      refused when a sidecar would refuse it (for each app ID bound to it)\n"
    "  configuration get NAME [-o json|yaml]   print it (YAML as stored, or JSON)\n"
    "  configuration list [-o json|yaml]\n"
    "  configuration delete NAME [--yes]   refused while an app ID is bound to it\n"
    "\n"
    "Common options: --project P (default: WARDEN_PROJECT, then 'warden project use'),\n"
    "--yes (delete: do not ask; it asks only when standard input is a terminal), --no-wait.\n"
    "create and delete wait for the running sidecars they affect to apply the change (5 s\n"
    "at most; WARDEN_WAIT_TIMEOUT=SECS) and print 'applied to APP (generation N)' or the\n"
    "sidecar's error (exit 1); --no-wait skips that.\n";

static const char component_usage[] =
    "Usage: warden component <get|list|delete> [NAME] [options]\n"
    "\n"
    "  component get NAME [-o json|yaml]   print it (YAML as stored, or JSON)\n"
    "  component list [-o json|yaml]\n"
    "  component delete NAME [--yes]   refused while a configuration's pipeline names it\n"
    "\n"
    "Components are added with 'warden apply -f FILE'. Common options: --project P\n"
    "(default: WARDEN_PROJECT, then 'warden project use'). --yes: do not ask (delete asks\n"
    "only when standard input is a terminal). delete waits for the running sidecars to apply\n"
    "the change (as 'warden apply' does); --no-wait skips that.\n";

struct list_ctx {
    const char *project;
    const char *kind;
    json_t *rows;
};

/* One row per stored resource, with its type (components) or default action (configs). */
static int list_row(const char *name, void *arg)
{
    struct list_ctx *c = arg;
    struct wdn_buf b;
    const char *detail = "";
    struct wdn_resources *set = wdn_resources_new();

    if (set && wdn_store_get_resource(c->project, c->kind, name, &b) == 0) {
        wdn_resources_load_buffer(set, name, NULL, b.data, b.len);
        if (set->n_components && set->components[0]->spec.type)
            detail = set->components[0]->spec.type;
        else if (set->n_configurations &&
                 set->configurations[0]->spec.access_control.default_action)
            detail = set->configurations[0]->spec.access_control.default_action;
        wdn_buf_reset(&b);
    }
    json_array_append_new(c->rows, json_pack("{s:s, s:s}", "name", name, "detail", detail));
    wdn_resources_free(set);
    return 0;
}

static int list_kind(const char *project, const char *kind, int fmt)
{
    struct list_ctx c = {project, kind, json_array()};
    static const char *const cols[] = {"name", "detail"};
    const char *hdr[] = {"NAME", strcmp(kind, WDN_KIND_COMPONENT) == 0 ? "TYPE" : "DEFAULT ACTION"};

    wdn_store_list_resources(project, kind, list_row, &c);
    wdn_cli_print_records(c.rows, fmt, cols, hdr, 2, 0);
    json_decref(c.rows);
    return WDN_CLI_OK;
}

static int get_kind(const char *cmd, const char *project, const char *kind, const char *name,
                    int fmt)
{
    struct wdn_buf b;
    int rc = wdn_store_get_resource(project, kind, name, &b);

    if (rc) {
        wdn_cli_err(cmd, "%s '%s' not found in project '%s'", kind, name, project);
        return WDN_CLI_FAIL;
    }
    rc = wdn_cli_print_resource(b.data, b.len, fmt);
    wdn_buf_reset(&b);
    if (rc) {
        wdn_cli_err(cmd, "%s '%s' does not parse as YAML; fix it with 'warden apply'", kind, name);
        return WDN_CLI_FAIL;
    }
    return WDN_CLI_OK;
}

struct bound_ctx {
    const char *project, *config;
    char apps[512];
};

static int bound_app(const char *app, void *arg)
{
    struct bound_ctx *c = arg;
    struct wdn_store_appid a;
    size_t n = strlen(c->apps);

    if (wdn_store_get_appid(c->project, app, &a) == 0 && strcmp(a.app_config, c->config) == 0)
        snprintf(c->apps + n, sizeof(c->apps) - n, "%s%s", n ? ", " : "", app);
    return 0;
}

static int delete_kind(const char *cmd, const char *project, const char *kind, const char *name,
                       bool yes, bool no_wait)
{
    struct wdn_cli_wait w;
    struct wdn_buf b;
    int fd, rc;

    if (wdn_store_get_resource(project, kind, name, &b) != 0) {
        wdn_cli_err(cmd, "%s '%s' not found in project '%s'", kind, name, project);
        return WDN_CLI_FAIL;
    }
    wdn_buf_reset(&b);
    if (strcmp(kind, WDN_KIND_CONFIGURATION) == 0) {
        /* A bound app's sidecar would lose its Configuration and refuse to reload. */
        struct bound_ctx c = {project, name, ""};
        wdn_store_list_appids(project, bound_app, &c);
        if (c.apps[0]) {
            wdn_cli_err(cmd,
                        "configuration '%s' is bound to app ID %s; bind %s to another "
                        "configuration first (warden appid update APP --app-config NAME)",
                        name, c.apps, strchr(c.apps, ',') ? "them" : "it");
            return WDN_CLI_FAIL;
        }
    } else {
        /* Without it, every pipeline that names it would be refused. */
        struct wdn_cli_change ch = {kind, name, NULL, 0, NULL, NULL};
        size_t errors = wdn_cli_check_change(cmd, project, &ch);
        if (errors) {
            fprintf(stderr, "warden %s: %s '%s' not deleted (%zu error%s without it)\n", cmd, kind,
                    name, errors, errors == 1 ? "" : "s");
            return WDN_CLI_FAIL;
        }
    }
    if (!wdn_cli_confirm(yes, "Delete %s '%s' from project '%s'?", kind, name, project)) {
        fprintf(stderr, "not deleted\n");
        return WDN_CLI_FAIL;
    }
    if (wdn_project_lock(project, &fd) != 0) {
        wdn_cli_err(cmd, "cannot lock project '%s'", project);
        return WDN_CLI_FAIL;
    }
    wdn_cli_wait_begin(&w, project);
    rc = wdn_store_delete_resource(project, kind, name);
    wdn_project_unlock(fd);
    if (rc) {
        wdn_cli_wait_end(&w, cmd, true);
        wdn_cli_err(cmd, "%s '%s' not found in project '%s'", kind, name, project);
        return WDN_CLI_FAIL;
    }
    printf("%s/%s deleted\n", kind, name);
    return wdn_cli_wait_end(&w, cmd, no_wait) ? WDN_CLI_FAIL : WDN_CLI_OK;
}

static int valid_action(const char *a)
{
    return a && (strcmp(a, "allow") == 0 || strcmp(a, "deny") == 0);
}

/* Builds the Configuration YAML that `configuration create` stores. */
static int build_configuration(struct wdn_buf *y, const char *name, const char *action,
                               const char *td, const char *ns, const char **policies,
                               size_t npolicies)
{
    int rc = wdn_buf_printf(y,
                            "apiVersion: dapr.io/v1alpha1\n"
                            "kind: Configuration\n"
                            "metadata:\n"
                            "  name: %s\n"
                            "spec:\n"
                            "  accessControl:\n"
                            "    defaultAction: %s\n"
                            "    trustDomain: \"%s\"\n",
                            name, action, td);
    if (rc == 0 && npolicies)
        rc = wdn_buf_append_cstr(y, "    policies:\n");
    for (size_t i = 0; i < npolicies && rc == 0; i++) {
        const char *colon = strrchr(policies[i], ':');
        rc = wdn_buf_printf(y,
                            "    - appId: %.*s\n"
                            "      defaultAction: %s\n"
                            "      trustDomain: \"%s\"\n"
                            "      namespace: \"%s\"\n",
                            (int)(colon - policies[i]), policies[i], colon + 1, td, ns);
    }
    return rc;
}

static int configuration_create(const char *project, const char *name, const char *action,
                                const char *td, const char *ns, const char **policies,
                                size_t npolicies, bool no_wait)
{
    struct wdn_cli_wait w = {0};
    struct wdn_buf y;
    enum wdn_store_change ch;
    int fd = -1, rc = WDN_CLI_FAIL;

    if (!valid_action(action)) {
        wdn_cli_err("configuration", "--default-action must be allow or deny");
        return WDN_CLI_USAGE;
    }
    for (size_t i = 0; i < npolicies; i++) {
        const char *colon = strrchr(policies[i], ':');
        char app[256];
        if (colon == NULL || !valid_action(colon + 1) ||
            wdn_fmt(app, sizeof(app), "%.*s", (int)(colon - policies[i]), policies[i]) ||
            !wdn_resources_valid_app_id(app)) {
            wdn_cli_err("configuration", "--policy must be APP:allow or APP:deny, not '%s'",
                        policies[i]);
            return WDN_CLI_USAGE;
        }
    }
    wdn_buf_init(&y, 1 << 20);
    if (build_configuration(&y, name, action, td, ns, policies, npolicies) != 0)
        goto out;
    /* What we store must pass what the sidecars will check (with the apps bound to it). */
    struct wdn_cli_change chg = {WDN_KIND_CONFIGURATION, name, y.data, y.len, NULL, NULL};
    size_t errors = wdn_cli_check_change("configuration", project, &chg);
    if (errors) {
        fprintf(stderr, "warden configuration: configuration '%s' not stored (%zu error%s)\n", name,
                errors, errors == 1 ? "" : "s");
        goto out;
    }
    if (wdn_project_lock(project, &fd) != 0) {
        wdn_cli_err("configuration", "cannot lock project '%s'", project);
        goto out;
    }
    wdn_cli_wait_begin(&w, project);
    if (wdn_store_put_resource(project, WDN_KIND_CONFIGURATION, name, y.data, y.len, &ch) != 0) {
        wdn_cli_err("configuration", "cannot store configuration '%s' in project '%s'", name,
                    project);
        no_wait = true;
        goto out;
    }
    printf("configuration/%s %s\n", name, wdn_store_change_name(ch));
    rc = WDN_CLI_OK;
out:
    wdn_project_unlock(fd);
    if (wdn_cli_wait_end(&w, "configuration", no_wait))
        rc = WDN_CLI_FAIL;
    wdn_buf_reset(&y);
    return rc;
}

/* The shared shape of both commands: VERB [NAME] with --project and -o. */
static int resource_command(int argc, char **argv, const char *kind, const char *usage,
                            int can_create)
{
    const char *pos[3], *proj = NULL, *out = NULL, *action = NULL, *td = "public", *ns = "default",
                        *policies[MAX_POLICIES];
    size_t npos, npolicies = 0;
    bool help, yes = false, no_wait = false;
    char project[128];
    struct wdn_diag d;
    const struct wdn_cli_opt opts[] = {
        {"project", 'p', &proj, NULL, NULL, NULL, 0},
        {"output", 'o', &out, NULL, NULL, NULL, 0},
        {"yes", 'y', NULL, &yes, NULL, NULL, 0},
        {"no-wait", 0, NULL, &no_wait, NULL, NULL, 0},
        {"default-action", 0, &action, NULL, NULL, NULL, 0},
        {"trust-domain", 0, &td, NULL, NULL, NULL, 0},
        {"namespace", 0, &ns, NULL, NULL, NULL, 0},
        {"policy", 0, NULL, NULL, policies, &npolicies, MAX_POLICIES},
        {0},
    };
    /* `component` has none of the create options: the table ends early for it. */
    struct wdn_cli_opt copts[5];
    const char *cmd = argv[0];
    int fmt, rc;

    memcpy(copts, opts, 4 * sizeof(opts[0]));
    memset(&copts[4], 0, sizeof(copts[4]));
    rc = wdn_cli_parse(argc, argv, can_create ? opts : copts, pos, &npos, 3, &help);
    if (rc)
        return rc;
    if (help) {
        fputs(usage, stdout);
        return WDN_CLI_OK;
    }
    static const struct wdn_cli_verb verbs[] = {
        {"get", 1, 1, "a NAME"},    {"list", 0, 0, NULL}, {"delete", 1, 1, "a NAME"},
        {"create", 1, 1, "a NAME"}, {NULL, 0, 0, NULL},
    };
    static const struct wdn_cli_verb cverbs[] = {
        {"get", 1, 1, "a NAME"},
        {"list", 0, 0, NULL},
        {"delete", 1, 1, "a NAME"},
        {NULL, 0, 0, NULL},
    };
    if (wdn_cli_verb(cmd, can_create ? verbs : cverbs, pos, npos) < 0)
        return WDN_CLI_USAGE;
    if ((fmt = wdn_cli_output_parse(cmd, out)) < 0)
        return WDN_CLI_USAGE;
    const char *verb = pos[0], *name = npos > 1 ? pos[1] : NULL;
    bool is_list = strcmp(verb, "list") == 0;
    if (strcmp(verb, "create") != 0 && (action || npolicies)) {
        wdn_cli_err(cmd, "--default-action and --policy belong to 'warden configuration create'");
        return WDN_CLI_USAGE;
    }
    if (wdn_project_resolve(proj, project, sizeof(project), &d) != 0) {
        wdn_cli_err(cmd, "%s", d.msg);
        return WDN_CLI_FAIL;
    }
    if (is_list)
        return list_kind(project, kind, fmt);
    if (strcmp(verb, "get") == 0)
        return get_kind(cmd, project, kind, name, fmt);
    if (strcmp(verb, "delete") == 0)
        return delete_kind(cmd, project, kind, name, yes, no_wait);
    return configuration_create(project, name, action, td, ns, policies, npolicies, no_wait);
}

int wdn_cli_configuration(int argc, char **argv)
{
    return resource_command(argc, argv, WDN_KIND_CONFIGURATION, configuration_usage, 1);
}

int wdn_cli_component(int argc, char **argv)
{
    return resource_command(argc, argv, WDN_KIND_COMPONENT, component_usage, 0);
}
