/* `warden check -f FILE|DIR|- [-f ...] [--app-id ID]`: loads resources and run files, runs
 * every cross-resource check, and prints `configuration OK` or every problem as file:line:col. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/limits.h"
#include "cli/validate.h"
#include "resources/resources.h"

#define MAX_INPUTS 64

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: warden check -f FILE|DIR|- [-f ...] [--app-id ID]\n"
            "\n"
            "Checks Components, Configurations, MCPServers and multi-app run files without\n"
            "applying or running anything, with the checks (and messages) of the sidecar and of\n"
            "'warden apply': fields, each component's metadata for its type, access control,\n"
            "MCP policies, pipeline handlers. A folder loads its *.yaml and *.yml files in name\n"
            "order; '-' reads standard input. With --app-id, every pipeline handler must also\n"
            "name a component in scope for that app.\n"
            "\n"
            "Prints 'configuration OK' on standard output, or every error and warning as\n"
            "file:line:col: message on standard error.\n"
            "Exit status: 0 valid, 1 errors found, 2 usage error.\n");
}

/* Reads standard input up to the YAML size limit (one byte more detects the excess). */
static int read_stdin(char **out, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);

    if (buf == NULL)
        return WDN_ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > WDN_YAML_MAX_BYTES)
                break;
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                return WDN_ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, stdin);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(stdin)) {
        free(buf);
        return WDN_EIO;
    }
    *out = buf;
    *len = n;
    return 0;
}

int wdn_cli_check(int argc, char **argv)
{
    const char *inputs[MAX_INPUTS];
    const char *app_id = NULL;
    size_t n_inputs = 0;
    struct wdn_resources *set = NULL;
    size_t errors;
    int rc = WDN_CLI_USAGE;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;

        if (wdn_cli_is_help(a)) {
            usage(stdout);
            return WDN_CLI_OK;
        }
        if (strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0 || strcmp(a, "--app-id") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "warden check: %s needs a value\n", a);
                goto usage_out;
            }
            val = argv[++i];
        } else if (strncmp(a, "--file=", 7) == 0) {
            val = a + 7;
            a = "--file";
        } else if (strncmp(a, "--app-id=", 9) == 0) {
            val = a + 9;
            a = "--app-id";
        } else {
            fprintf(stderr, "warden check: unknown argument '%s'\n", a);
            goto usage_out;
        }
        if (strcmp(a, "--app-id") == 0) {
            if (!wdn_resources_valid_app_id(val)) {
                fprintf(stderr, "warden check: '%s' is not a valid app ID\n", val);
                goto usage_out;
            }
            app_id = val;
        } else {
            if (n_inputs == MAX_INPUTS) {
                fprintf(stderr, "warden check: more than %d -f arguments\n", MAX_INPUTS);
                goto usage_out;
            }
            if (val[0] == '\0') {
                fprintf(stderr, "warden check: -f needs a file, a folder or '-'\n");
                goto usage_out;
            }
            inputs[n_inputs++] = val;
        }
    }
    if (n_inputs == 0) {
        fprintf(stderr, "warden check: give at least one -f FILE|DIR|-\n");
        goto usage_out;
    }

    rc = WDN_CLI_FAIL;
    set = wdn_resources_new();
    if (set == NULL) {
        fprintf(stderr, "warden check: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < n_inputs; i++) {
        int lrc;
        if (strcmp(inputs[i], "-") == 0) {
            char *data = NULL, cwd[WDN_MAX_PATH];
            size_t len = 0;
            lrc = read_stdin(&data, &len);
            if (lrc == 0) {
                lrc = wdn_resources_load_buffer(set, "-", getcwd(cwd, sizeof(cwd)) ? cwd : ".",
                                                data, len);
                free(data);
            }
        } else {
            lrc = wdn_resources_load_path(set, inputs[i]);
        }
        if (lrc == WDN_ENOMEM || lrc == WDN_EIO) {
            fprintf(stderr, "warden check: %s: %s\n", inputs[i], wdn_strerror(lrc));
            goto out;
        }
    }
    /* Exactly what a sidecar runs on what it loads (src/sidecar/validate.c). */
    wdn_cli_validate(set, NULL, app_id, NULL);
    errors = wdn_cli_print_msgs(set, "check");
    if (errors) {
        fprintf(stderr, "warden check: %zu error%s\n", errors, errors == 1 ? "" : "s");
        goto out;
    }
    printf("configuration OK\n");
    rc = WDN_CLI_OK;
out:
    wdn_resources_free(set);
    return rc;
usage_out:
    fprintf(stderr, "Run 'warden check --help' for usage.\n");
    return WDN_CLI_USAGE;
}
