/* Declarative option parsing shared by every command: long options with values
 * (`--project P` or `--project=P`), repeatable options, flags, positionals, and the tutorial's
 * cloud-only flags, which are accepted and ignored with a note on stderr. */
#ifndef WDN_CLI_ARGS_H
#define WDN_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

/** One option. Exactly one of value, flag or multi is set. */
struct wdn_cli_opt {
    const char *name;   /* long name without "--" */
    char short_name;    /* e.g. 'f', or 0 */
    const char **value; /* option takes a value: stored here (last one wins) */
    bool *flag;         /* option takes no value: set to true */
    const char **multi; /* repeatable with a value: appended here */
    size_t *nmulti;
    size_t max_multi;
};

/**
 * Parses argv[1..] (argv[0] is the command's name, used in messages). Positionals go to pos
 * (at most maxpos). -h/--help sets *help. Returns 0, or 2 (usage error, message printed).
 */
int wdn_cli_parse(int argc, char **argv, const struct wdn_cli_opt *opts, const char **pos,
                  size_t *npos, size_t maxpos, bool *help);

/** A subcommand and how many positional arguments it takes after its name. */
struct wdn_cli_verb {
    const char *name; /* NULL ends a table */
    size_t min_args, max_args;
    const char *arg; /* what they are, for "create needs a NAME" */
};

/**
 * Finds pos[0] (the subcommand) in verbs and checks its argument count. Returns its index, or -1
 * after printing what is wrong, naming the word ("unknown subcommand 'frob': use create, get,
 * list or delete", "unexpected argument 'x'", "create needs a NAME").
 */
int wdn_cli_verb(const char *cmd, const struct wdn_cli_verb *verbs, const char *const *pos,
                 size_t npos);

/** Output formats of listing commands (-o). */
enum wdn_cli_output { WDN_CLI_OUT_TABLE = 0, WDN_CLI_OUT_JSON, WDN_CLI_OUT_YAML };

/** Parses an -o value (NULL = table). Returns -1 and prints an error for anything else. */
int wdn_cli_output_parse(const char *cmd, const char *value);

/**
 * Asks a yes/no question on stderr when standard input is a terminal and yes is false; true when
 * the answer starts with y, or without asking (yes set, or no terminal: scripts).
 */
bool wdn_cli_confirm(bool yes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Prints "warden <cmd>: <formatted message>" on stderr. */
void wdn_cli_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
