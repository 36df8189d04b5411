/* The warden command line: one function per command group, each in its own file. */
#ifndef WDN_CLI_CLI_H
#define WDN_CLI_CLI_H

/** One subcommand of `warden`. run() gets argv with argv[0] the subcommand's name. */
struct wdn_cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/** Exit codes of every command: 0 success, 1 the operation failed, 2 usage error. */
enum { WDN_CLI_OK = 0, WDN_CLI_FAIL = 1, WDN_CLI_USAGE = 2 };

/** Dispatches argv[1] to a command of the table; prints help for --help/-h/none. */
int wdn_cli_dispatch(const struct wdn_cli_command *cmds, int argc, char **argv);

/** True when arg is -h or --help. */
int wdn_cli_is_help(const char *arg);

int wdn_cli_version(int argc, char **argv);
int wdn_cli_token(int argc, char **argv);
int wdn_cli_project(int argc, char **argv);
int wdn_cli_apply(int argc, char **argv);
int wdn_cli_configuration(int argc, char **argv);
int wdn_cli_component(int argc, char **argv);
int wdn_cli_appid(int argc, char **argv);
int wdn_cli_devrun(int argc, char **argv);
int wdn_cli_mcpserver(int argc, char **argv);
int wdn_cli_check(int argc, char **argv);
int wdn_cli_issuer(int argc, char **argv);
int wdn_cli_sidecar(int argc, char **argv);
int wdn_cli_audit(int argc, char **argv);
int wdn_cli_status(int argc, char **argv);
int wdn_cli_mcp(int argc, char **argv);

#endif
