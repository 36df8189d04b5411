/* Option parsing for the CLI. Unknown options are usage errors that name the option; the
 * managed-cloud flags of the tutorial's `diagrid` commands are accepted so that its command
 * lines work as written, and a note says they do nothing here. */
#include "cli/args.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char *const cloud_flags[] = {
    "approve", "skip-default-resiliency", "skip-managed-kv",   "skip-managed-pubsub",
    "wait",    "enable-managed-workflow", "deploy-managed-kv", "deploy-managed-pubsub",
    NULL,
};

void wdn_cli_err(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "warden %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const struct wdn_cli_opt *find_long(const struct wdn_cli_opt *opts, const char *name,
                                           size_t len)
{
    for (const struct wdn_cli_opt *o = opts; o && o->name; o++) {
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    }
    return NULL;
}

static const struct wdn_cli_opt *find_short(const struct wdn_cli_opt *opts, char c)
{
    for (const struct wdn_cli_opt *o = opts; o && o->name; o++) {
        if (o->short_name == c)
            return o;
    }
    return NULL;
}

static int is_cloud_flag(const char *name, size_t len)
{
    for (size_t i = 0; cloud_flags[i]; i++) {
        if (strlen(cloud_flags[i]) == len && strncmp(cloud_flags[i], name, len) == 0)
            return 1;
    }
    return 0;
}

static int store(const char *cmd, const struct wdn_cli_opt *o, const char *v)
{
    if (o->value) {
        *o->value = v;
    } else if (o->multi) {
        if (*o->nmulti >= o->max_multi) {
            wdn_cli_err(cmd, "too many --%s options (at most %zu)", o->name, o->max_multi);
            return WDN_CLI_USAGE;
        }
        o->multi[(*o->nmulti)++] = v;
    }
    return 0;
}

int wdn_cli_parse(int argc, char **argv, const struct wdn_cli_opt *opts, const char **pos,
                  size_t *npos, size_t maxpos, bool *help)
{
    const char *cmd = argv[0];
    bool only_pos = false;

    *npos = 0;
    *help = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct wdn_cli_opt *o = NULL;
        const char *inline_val = NULL;

        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            if (*npos >= maxpos) {
                wdn_cli_err(cmd, "unexpected argument '%s'", a);
                return WDN_CLI_USAGE;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *help = true;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(opts, name, len);
            if (o == NULL && is_cloud_flag(name, len)) {
                fprintf(stderr,
                        "note: --%.*s is a managed-cloud option; warden runs locally and "
                        "ignores it\n",
                        (int)len, name);
                continue;
            }
            if (o == NULL) {
                wdn_cli_err(cmd, "unknown option '--%.*s' (see 'warden %s --help')", (int)len, name,
                            cmd);
                return WDN_CLI_USAGE;
            }
            inline_val = eq ? eq + 1 : NULL;
        } else {
            o = a[2] == '\0' ? find_short(opts, a[1]) : NULL;
            if (o == NULL) {
                wdn_cli_err(cmd, "unknown option '%s' (see 'warden %s --help')", a, cmd);
                return WDN_CLI_USAGE;
            }
        }
        if (o->flag) {
            if (inline_val) {
                wdn_cli_err(cmd, "--%s takes no value", o->name);
                return WDN_CLI_USAGE;
            }
            *o->flag = true;
            continue;
        }
        if (inline_val == NULL) {
            if (i + 1 >= argc) {
                wdn_cli_err(cmd, "--%s needs a value", o->name);
                return WDN_CLI_USAGE;
            }
            inline_val = argv[++i];
        }
        if (store(cmd, o, inline_val))
            return WDN_CLI_USAGE;
    }
    return 0;
}

int wdn_cli_output_parse(const char *cmd, const char *value)
{
    if (value == NULL || strcmp(value, "table") == 0)
        return WDN_CLI_OUT_TABLE;
    if (strcmp(value, "json") == 0)
        return WDN_CLI_OUT_JSON;
    if (strcmp(value, "yaml") == 0)
        return WDN_CLI_OUT_YAML;
    wdn_cli_err(cmd, "-o must be table, json or yaml, not '%s'", value);
    return -1;
}

bool wdn_cli_confirm(bool yes, const char *fmt, ...)
{
    char answer[16] = "";
    va_list ap;

    if (yes || !isatty(STDIN_FILENO))
        return true;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " [y/N] ");
    return fgets(answer, sizeof(answer), stdin) != NULL && (answer[0] == 'y' || answer[0] == 'Y');
}

int wdn_cli_verb(const char *cmd, const struct wdn_cli_verb *verbs, const char *const *pos,
                 size_t npos)
{
    char list[256] = "";
    size_t n = 0, count = 0;

    for (const struct wdn_cli_verb *v = verbs; v->name; v++)
        count++;
    for (size_t i = 0; i < count && n < sizeof(list); i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
                              i == 0 ? "" : (i + 1 == count ? " or " : ", "), verbs[i].name);
    if (npos == 0) {
        wdn_cli_err(cmd, "missing subcommand: %s (see 'warden %s --help')", list, cmd);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const struct wdn_cli_verb *v = &verbs[i];
        if (strcmp(v->name, pos[0]) != 0)
            continue;
        if (npos - 1 > v->max_args) {
            wdn_cli_err(cmd, "unexpected argument '%s' (see 'warden %s --help')",
                        pos[v->max_args + 1], cmd);
            return -1;
        }
        if (npos - 1 < v->min_args) {
            wdn_cli_err(cmd, "%s needs %s (see 'warden %s --help')", v->name, v->arg, cmd);
            return -1;
        }
        return (int)i;
    }
    wdn_cli_err(cmd, "unknown subcommand '%s': use %s (see 'warden %s --help')", pos[0], list, cmd);
    return -1;
}
