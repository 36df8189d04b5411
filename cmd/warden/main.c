/* warden: one binary for the sidecar, the CLI and the development issuer. Dispatch only. */
#include "cli/cli.h"

static const struct wdn_cli_command commands[] = {
    {"apply", "Validate and store resources in a project (-f FILE|DIR|-)", wdn_cli_apply},
    {"appid", "Manage app IDs and the configuration bound to each", wdn_cli_appid},
    {"audit", "Verify the hash chain of audit records and query them (audit verify|query)",
     wdn_cli_audit},
    {"check", "Check resources and run files; print every error as file:line:col", wdn_cli_check},
    {"component", "List, show and delete components", wdn_cli_component},
    {"configuration", "Create, list, show and delete configurations", wdn_cli_configuration},
    {"dev", "Run a multi-app run file locally, each app beside a sidecar (dev run -f)", wdn_cli_devrun},
    {"issuer", "Run the development OAuth2 issuer (client credentials, JWKS); issuer rotate",
     wdn_cli_issuer},
    {"mcp", "Talk to an MCP server: tools, resources, prompts, ping (signs in as it asks)",
     wdn_cli_mcp},
    {"mcpserver", "Grant, revoke and test per-tool access to MCP servers (mcpserver access)",
     wdn_cli_mcpserver},
    {"project", "Create, select, list and delete projects", wdn_cli_project},
    {"sidecar", "Run the sidecar beside an app (Dapr API, mTLS invocation, pipelines)",
     wdn_cli_sidecar},
    {"status", "Show each app's sidecar: ports, configuration, generation, last reload error",
     wdn_cli_status},
    {"token", "Fetch an OAuth2 access token (client credentials) and print it", wdn_cli_token},
    {"version", "Print the version", wdn_cli_version},
    {0, 0, 0},
};

int main(int argc, char **argv)
{
    return wdn_cli_dispatch(commands, argc, argv);
}
