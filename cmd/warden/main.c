/* warden: one binary for the sidecar, the CLI and the development issuer. Dispatch only. */
#include "cli/cli.h"

static const struct wdn_cli_command commands[] = {
    {"token", "Fetch an OAuth2 access token (client credentials) and print it", wdn_cli_token},
    {"version", "Print the version", wdn_cli_version},
    {0, 0, 0},
};

int main(int argc, char **argv)
{
    return wdn_cli_dispatch(commands, argc, argv);
}
