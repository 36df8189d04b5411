/* `warden project`: create, use, get, list and delete projects (the unit of state). */
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/error.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "project/project.h"
#include "project/store.h"

#define STOP_WAIT_MS 15000

static const char project_usage[] =
    "Usage: warden project <create|use|get|list|delete> [NAME] [options]\n"
    "\n"
    "Projects hold resources, app IDs, the project CA and the registry of running sidecars,\n"
    "under $WARDEN_HOME (default ~/.warden).\n"
    "\n"
    "  project create NAME [--use]   create a project (and make it the default with --use)\n"
    "  project use NAME              make NAME the default project\n"
    "  project get [NAME] [-o json|yaml]   show a project (default: the default project)\n"
    "  project list [-o json|yaml]   list projects; '*' marks the default\n"
    "  project delete NAME [--yes]   stop what runs in the project ('warden dev run', its\n"
    "                                apps and sidecars, 'warden issuer --project NAME') and\n"
    "                                remove its state\n";

static int collect(const char *name, void *arg)
{
    char cur[128] = "";
    json_t *row;

    wdn_project_current(cur, sizeof(cur));
    row = json_pack("{s:s, s:b}", "name", name, "default", strcmp(cur, name) == 0);
    json_array_append_new(arg, row);
    return 0;
}

static int add_count(const char *name, void *arg)
{
    (void)name;
    (*(int *)arg)++;
    return 0;
}

/* Stops what runs under lock_rel (a lock held while it runs, its pid in pid_rel) and waits up
 * to STOP_WAIT_MS for the lock to be released and the process to be gone (it may still be
 * exiting after it let go of the lock). */
static void stop_holder(const char *project, const char *what, const char *lock_rel,
                        const char *pid_rel)
{
    char lock[WDN_MAX_PATH], pidf[WDN_MAX_PATH];
    long pid;

    if (wdn_project_path(lock, sizeof(lock), project, lock_rel) != 0 ||
        wdn_project_path(pidf, sizeof(pidf), project, pid_rel) != 0)
        return;
    pid = wdn_project_lock_holder(lock, pidf);
    if (pid <= 1) {
        if (pid < 0)
            fprintf(stderr, "warning: %s of project '%s' runs but its pid is unknown (%s)\n", what,
                    project, pidf);
        return;
    }
    if (kill((pid_t)pid, SIGTERM) != 0)
        return;
    fprintf(stderr, "stopping %s (pid %ld)\n", what, pid);
    for (int t = 0; t < STOP_WAIT_MS / 50 &&
                    (wdn_project_lock_holder(lock, pidf) != 0 || wdn_project_pid_alive(pid));
         t++)
        usleep(50 * 1000);
    if (wdn_project_lock_holder(lock, pidf) != 0 || wdn_project_pid_alive(pid))
        fprintf(stderr, "warning: %s (pid %ld) did not stop within %d s\n", what, pid,
                STOP_WAIT_MS / 1000);
}

/* Stops a project's running processes: `dev run` (which stops its apps and sidecars), the
 * project's `warden issuer`, and any sidecar still registered. */
static void stop_running(const char *project)
{
    char path[WDN_MAX_PATH];
    json_t *names = json_array();
    size_t i;
    json_t *n;

    stop_holder(project, "'warden dev run'", "run.lock", "run.pid");
    stop_holder(project, "'warden issuer'", "issuer/issuer.lock", "issuer/issuer.pid");
    wdn_store_registry_dir(project, path, sizeof(path));
    wdn_project_list_dir(path, "json", collect, names);
    json_array_foreach (names, i, n) {
        struct wdn_store_sidecar s;
        const char *app = json_string_value(json_object_get(n, "name"));
        if (wdn_store_get_sidecar(project, app, &s) == 0 && s.pid > 1) {
            fprintf(stderr, "stopping sidecar %s (pid %ld)\n", app, s.pid);
            kill((pid_t)s.pid, SIGTERM);
        }
    }
    json_decref(names);
}

int wdn_cli_project(int argc, char **argv)
{
    const char *pos[3], *out = NULL;
    size_t npos;
    bool help, use = false, yes = false;
    struct wdn_diag d;
    const struct wdn_cli_opt opts[] = {
        {"use", 0, NULL, &use, NULL, NULL, 0},
        {"yes", 'y', NULL, &yes, NULL, NULL, 0},
        {"output", 'o', &out, NULL, NULL, NULL, 0},
        {0},
    };
    int fmt, rc = wdn_cli_parse(argc, argv, opts, pos, &npos, 3, &help);

    if (rc)
        return rc;
    static const struct wdn_cli_verb verbs[] = {
        {"create", 1, 1, "a NAME"}, {"use", 1, 1, "a NAME"},    {"get", 0, 1, NULL},
        {"list", 0, 0, NULL},       {"delete", 1, 1, "a NAME"}, {NULL, 0, 0, NULL},
    };
    if (help) {
        fputs(project_usage, stdout);
        return WDN_CLI_OK;
    }
    if (wdn_cli_verb("project", verbs, pos, npos) < 0)
        return WDN_CLI_USAGE;
    if ((fmt = wdn_cli_output_parse("project", out)) < 0)
        return WDN_CLI_USAGE;
    const char *verb = pos[0], *name = npos > 1 ? pos[1] : NULL;
    if (strcmp(verb, "create") == 0 && name) {
        if (wdn_project_create(name, &d) != 0 || (use && wdn_project_use(name, &d) != 0)) {
            wdn_cli_err("project", "%s", d.msg);
            return d.code == WDN_EINVAL ? WDN_CLI_USAGE : WDN_CLI_FAIL;
        }
        printf("project/%s created%s\n", name, use ? " (now the default)" : "");
        return WDN_CLI_OK;
    }
    if (strcmp(verb, "use") == 0 && name) {
        if (wdn_project_use(name, &d) != 0) {
            wdn_cli_err("project", "%s", d.msg);
            return WDN_CLI_FAIL;
        }
        printf("default project is now %s\n", name);
        return WDN_CLI_OK;
    }
    if (strcmp(verb, "list") == 0 && !name) {
        static const char *const cols[] = {"default", "name"}, *const hdr[] = {"", "NAME"};
        json_t *rows = json_array();
        wdn_project_list(collect, rows);
        wdn_cli_print_records(rows, fmt, cols, hdr, 2, 0);
        json_decref(rows);
        return WDN_CLI_OK;
    }
    if (strcmp(verb, "get") == 0) {
        char p[128];
        int napps = 0, ncomp = 0, ncfg = 0, nrun = 0;
        if (wdn_project_resolve(name, p, sizeof(p), &d) != 0) {
            wdn_cli_err("project", "%s", d.msg);
            return WDN_CLI_FAIL;
        }
        char reg[WDN_MAX_PATH];
        wdn_store_list_appids(p, add_count, &napps);
        wdn_store_list_resources(p, WDN_KIND_COMPONENT, add_count, &ncomp);
        wdn_store_list_resources(p, WDN_KIND_CONFIGURATION, add_count, &ncfg);
        wdn_store_registry_dir(p, reg, sizeof(reg));
        wdn_project_list_dir(reg, "json", add_count, &nrun);
        json_t *rows =
            json_pack("[{s:s, s:i, s:i, s:i, s:i}]", "name", p, "appIds", napps, "components",
                      ncomp, "configurations", ncfg, "runningSidecars", nrun);
        static const char *const cols[] = {"name", "appIds", "components", "configurations",
                                           "runningSidecars"};
        static const char *const hdr[] = {"NAME", "APP IDS", "COMPONENTS", "CONFIGURATIONS",
                                          "RUNNING"};
        wdn_cli_print_records(rows, fmt, cols, hdr, 5, 1);
        json_decref(rows);
        return WDN_CLI_OK;
    }
    if (strcmp(verb, "delete") == 0 && name) {
        if (!wdn_project_exists(name)) {
            wdn_cli_err("project", "project '%s' does not exist", name);
            return WDN_CLI_FAIL;
        }
        if (!wdn_cli_confirm(yes, "Delete project '%s' and everything in it?", name)) {
            fprintf(stderr, "not deleted\n");
            return WDN_CLI_FAIL;
        }
        stop_running(name);
        if (wdn_project_delete(name, &d) != 0) {
            wdn_cli_err("project", "%s", d.msg);
            return WDN_CLI_FAIL;
        }
        printf("project/%s deleted\n", name);
        return WDN_CLI_OK;
    }
    fputs(project_usage, stderr);
    return WDN_CLI_USAGE;
}
