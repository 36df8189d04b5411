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
    "  configuration get NAME        print its YAML\n"
    "  configuration list [-o json|yaml]\n"
    "  configuration delete NAME\n"
    "\n"
    "Common options: --project P (default: WARDEN_PROJECT, then 'warden project use').\n";

static const char component_usage[] =
    "Usage: warden component <get|list|delete> [NAME] [options]\n"
    "\n"
    "  component get NAME            print its YAML\n"
    "  component list [-o json|yaml]\n"
    "  component delete NAME\n"
    "\n"
    "Components are added with 'warden apply -f FILE'. Common options: --project P.\n";

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

static int get_kind(const char *cmd, const char *project, const char *kind, const char *name)
{
    struct wdn_buf b;
    int rc = wdn_store_get_resource(project, kind, name, &b);

    if (rc) {
        wdn_cli_err(cmd, "%s '%s' not found in project '%s'", kind, name, project);
        return WDN_CLI_FAIL;
    }
    fwrite(b.data, 1, b.len, stdout);
    wdn_buf_reset(&b);
    return WDN_CLI_OK;
}

static int delete_kind(const char *cmd, const char *project, const char *kind, const char *name)
{
    int fd, rc;

    if (wdn_project_lock(project, &fd) != 0) {
        wdn_cli_err(cmd, "cannot lock project '%s'", project);
        return WDN_CLI_FAIL;
    }
    rc = wdn_store_delete_resource(project, kind, name);
    wdn_project_unlock(fd);
    if (rc) {
        wdn_cli_err(cmd, "%s '%s' not found in project '%s'", kind, name, project);
        return WDN_CLI_FAIL;
    }
    printf("%s/%s deleted\n", kind, name);
    return WDN_CLI_OK;
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
                                size_t npolicies)
{
    struct wdn_buf y;
    struct wdn_resources *set = NULL;
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
    /* What we store must load: check it as the sidecar will. */
    set = wdn_resources_new();
    if (set == NULL || wdn_resources_load_buffer(set, name, NULL, y.data, y.len) != 0) {
        char msg[1024];
        wdn_cli_err("configuration", "invalid configuration: %s",
                    set && set->n_msgs ? wdn_resources_msg_format(&set->msgs[0], msg, sizeof(msg))
                                       : "out of memory");
        rc = WDN_CLI_USAGE;
        goto out;
    }
    if (wdn_project_lock(project, &fd) != 0 ||
        wdn_store_put_resource(project, WDN_KIND_CONFIGURATION, name, y.data, y.len, &ch) != 0) {
        wdn_cli_err("configuration", "cannot store configuration '%s' in project '%s'", name,
                    project);
        goto out;
    }
    printf("configuration/%s %s\n", name, wdn_store_change_name(ch));
    rc = WDN_CLI_OK;
out:
    wdn_project_unlock(fd);
    wdn_resources_free(set);
    wdn_buf_reset(&y);
    return rc;
}

/* The shared shape of both commands: VERB [NAME] with --project and -o. */
static int resource_command(int argc, char **argv, const char *kind, const char *usage,
                            int can_create)
{
    const char *pos[3], *proj = NULL, *out = NULL, *action = NULL, *td = "public",
                        *ns = "default", *policies[MAX_POLICIES];
    size_t npos, npolicies = 0;
    bool help;
    char project[128];
    struct wdn_diag d;
    const struct wdn_cli_opt opts[] = {
        {"project", 'p', &proj, NULL, NULL, NULL, 0},
        {"output", 'o', &out, NULL, NULL, NULL, 0},
        {"default-action", 0, &action, NULL, NULL, NULL, 0},
        {"trust-domain", 0, &td, NULL, NULL, NULL, 0},
        {"namespace", 0, &ns, NULL, NULL, NULL, 0},
        {"policy", 0, NULL, NULL, policies, &npolicies, MAX_POLICIES},
        {0},
    };
    const char *cmd = argv[0];
    int fmt, rc = wdn_cli_parse(argc, argv, can_create ? opts : opts + 0, pos, &npos, 3, &help);

    if (rc)
        return rc;
    if (help || npos == 0) {
        fputs(usage, help ? stdout : stderr);
        return help ? WDN_CLI_OK : WDN_CLI_USAGE;
    }
    if ((fmt = wdn_cli_output_parse(cmd, out)) < 0)
        return WDN_CLI_USAGE;
    if (!can_create && (action || npolicies)) {
        wdn_cli_err(cmd, "--default-action and --policy belong to 'warden configuration create'");
        return WDN_CLI_USAGE;
    }
    const char *verb = pos[0], *name = npos > 1 ? pos[1] : NULL;
    if (npos > 2 || (strcmp(verb, "list") != 0 && name == NULL) ||
        (strcmp(verb, "list") == 0 && name != NULL)) {
        fputs(usage, stderr);
        return WDN_CLI_USAGE;
    }
    if (wdn_project_resolve(proj, project, sizeof(project), &d) != 0) {
        wdn_cli_err(cmd, "%s", d.msg);
        return WDN_CLI_FAIL;
    }
    if (strcmp(verb, "list") == 0)
        return list_kind(project, kind, fmt);
    if (strcmp(verb, "get") == 0)
        return get_kind(cmd, project, kind, name);
    if (strcmp(verb, "delete") == 0)
        return delete_kind(cmd, project, kind, name);
    if (can_create && strcmp(verb, "create") == 0)
        return configuration_create(project, name, action, td, ns, policies, npolicies);
    fputs(usage, stderr);
    return WDN_CLI_USAGE;
}

int wdn_cli_configuration(int argc, char **argv)
{
    return resource_command(argc, argv, WDN_KIND_CONFIGURATION, configuration_usage, 1);
}

int wdn_cli_component(int argc, char **argv)
{
    return resource_command(argc, argv, WDN_KIND_COMPONENT, component_usage, 0);
}
