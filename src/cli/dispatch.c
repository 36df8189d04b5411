/* Subcommand dispatch and the top-level help text. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int wdn_cli_is_help(const char *arg)
{
    return arg && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "help") == 0);
}

static void usage(FILE *out, const struct wdn_cli_command *cmds)
{
    fprintf(out, "warden: OAuth2 authentication and access policies for MCP servers and HTTP apps\n\n"
                 "Usage: warden <command> [options]\n\nCommands:\n");
    for (const struct wdn_cli_command *c = cmds; c->name; c++)
        fprintf(out, "  %-14s %s\n", c->name, c->summary);
    fprintf(out, "\nRun 'warden <command> --help' for a command's options.\n");
}

int wdn_cli_dispatch(const struct wdn_cli_command *cmds, int argc, char **argv)
{
    if (argc < 2 || wdn_cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout, cmds);
        return argc < 2 ? WDN_CLI_USAGE : WDN_CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return wdn_cli_version(argc - 1, argv + 1);
    for (const struct wdn_cli_command *c = cmds; c->name; c++) {
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "warden: unknown command '%s'\nRun 'warden --help' for the list of commands.\n",
            argv[1]);
    return WDN_CLI_USAGE;
}
