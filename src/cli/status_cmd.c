/* `warden status [--project P] [-o json|yaml]`: each app ID of a project with what its sidecar
 * runs: ports, the Configuration and generation it applied, and why its last reload was refused,
 * as the sidecars publish it in the project's registry (src/sidecar/status.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/str.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "project/project.h"
#include "project/store.h"

static const char status_usage[] =
    "Usage: warden status [--project P] [-o json|yaml]\n"
    "\n"
    "Lists each app ID of the project (bound, or with a running sidecar) and its sidecar: pid,\n"
    "Dapr API port, internal mTLS address, metrics port, app port, the Configuration and\n"
    "generation it runs, and why its last configuration reload was refused (the sidecar keeps\n"
    "running the generation shown). 'reloading' means it has not yet read the project as it\n"
    "is now. -o json gives numbers as numbers and null for what does not apply.\n"
    "\n"
    "  -p, --project P   project (default: WARDEN_PROJECT, then 'warden project use')\n"
    "  -o, --output F    table (default), json or yaml\n";

static int add_name(const char *name, void *arg)
{
    json_t *names = arg;
    if (json_object_get(names, name) == NULL)
        json_object_set_new(names, name, json_true());
    return 0;
}

static json_t *int_or_null(long long v)
{
    return v > 0 ? json_integer(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* One app: its typed record (json) and its table row (text). */
static void app_rows(const char *project, const char *app, json_t *rows, json_t *table)
{
    struct wdn_store_sidecar s;
    struct wdn_store_appid a;
    char state[WDN_STORE_STATE_LEN] = "", pid[64], gen[64];
    bool running = wdn_store_get_sidecar(project, app, &s) == 0 && s.pid > 1;
    bool bound = wdn_store_get_appid(project, app, &a) == 0;
    bool current = false;

    if (running && s.state[0] && wdn_store_state_hash(project, app, state, sizeof(state)) == 0)
        current = strcmp(state, s.state) == 0;
    json_array_append_new(
        rows, json_pack("{s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "appId",
                        app, "running", running, "pid", int_or_null(running ? s.pid : 0),
                        "httpPort", int_or_null(running ? s.http_port : 0), "internalAddress",
                        str_or_null(running ? s.internal_addr : NULL), "metricsPort",
                        int_or_null(running ? s.metrics_port : 0), "appPort",
                        int_or_null(running ? s.app_port : 0), "boundConfig",
                        str_or_null(bound ? a.app_config : NULL), "config",
                        str_or_null(running ? s.config : NULL), "generation",
                        int_or_null(running ? (long long)s.generation : 0), "lastError",
                        str_or_null(running ? s.last_error : NULL), "current", current));
    wdn_fmt(pid, sizeof(pid), running ? "running (pid %ld)" : "stopped", running ? s.pid : 0L);
    wdn_fmt(gen, sizeof(gen), "%llu%s", running ? s.generation : 0ULL,
            running && !current && !s.last_error[0] ? " (reloading)" : "");
    json_array_append_new(
        table, json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:s, s:s, s:s}", "appId", app, "sidecar",
                         pid, "httpPort", int_or_null(running ? s.http_port : 0), "internal",
                         running ? s.internal_addr : "", "metricsPort",
                         int_or_null(running ? s.metrics_port : 0), "appPort",
                         int_or_null(running ? s.app_port : 0), "config",
                         running ? s.config : (bound ? a.app_config : ""), "generation",
                         running ? gen : "", "lastError", running ? s.last_error : ""));
}

int wdn_cli_status(int argc, char **argv)
{
    const char *pos[1], *proj = NULL, *out = NULL, *key;
    size_t npos;
    bool help;
    char project[128], reg[WDN_MAX_PATH];
    struct wdn_diag d;
    json_t *names, *rows, *table, *v;
    const struct wdn_cli_opt opts[] = {
        {"project", 'p', &proj, NULL, NULL, NULL, 0},
        {"output", 'o', &out, NULL, NULL, NULL, 0},
        {0},
    };
    static const char *const cols[] = {"appId",    "sidecar",     "httpPort",
                                       "internal", "metricsPort", "appPort",
                                       "config",   "generation",  "lastError"};
    static const char *const hdr[] = {"APP ID",   "SIDECAR", "HTTP", "INTERNAL",  "METRICS",
                                      "APP PORT", "CONFIG",  "GEN",  "LAST ERROR"};
    int fmt, rc = wdn_cli_parse(argc, argv, opts, pos, &npos, 0, &help);

    if (rc)
        return rc;
    if (help) {
        fputs(status_usage, stdout);
        return WDN_CLI_OK;
    }
    if ((fmt = wdn_cli_output_parse("status", out)) < 0)
        return WDN_CLI_USAGE;
    if (wdn_project_resolve(proj, project, sizeof(project), &d) != 0) {
        wdn_cli_err("status", "%s", d.msg);
        return WDN_CLI_FAIL;
    }
    names = json_object();
    rows = json_array();
    table = json_array();
    wdn_store_list_appids(project, add_name, names);
    if (wdn_store_registry_dir(project, reg, sizeof(reg)) == 0)
        wdn_project_list_dir(reg, "json", add_name, names);
    /* Sorted: jansson keeps insertion order, and the two lists are each sorted. */
    const char **sorted = calloc(json_object_size(names) + 1, sizeof(*sorted));
    size_t n = 0;
    json_object_foreach (names, key, v)
        if (sorted)
            sorted[n++] = key;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0; j--) {
            const char *t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        app_rows(project, sorted[i], rows, table);
    if (fmt == WDN_CLI_OUT_TABLE)
        wdn_cli_print_records(table, fmt, cols, hdr, sizeof(cols) / sizeof(cols[0]), 0);
    else
        wdn_cli_print_records(rows, fmt, NULL, NULL, 0, 0);
    free(sorted);
    json_decref(names);
    json_decref(rows);
    json_decref(table);
    return WDN_CLI_OK;
}
