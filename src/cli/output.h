/* Printing records for listing commands as a table, JSON or YAML (-o). */
#ifndef WDN_CLI_OUTPUT_H
#define WDN_CLI_OUTPUT_H

#include <stddef.h>

#include <jansson.h>

/**
 * Prints rows (a JSON array of objects) in format fmt (enum
 * wdn_cli_output). cols names the columns of the table format, in order, with their headers.
 * A single object (single != 0) is printed as one object in JSON/YAML. Table cells: strings
 * ("-" when empty), integers, true as "*", false as nothing, null as "-"; lines end without
 * blanks.
 */
void wdn_cli_print_records(json_t *rows, int fmt, const char *const *cols,
                           const char *const *headers, size_t ncols, int single);

/**
 * The first YAML document of text as JSON (plain scalars typed as YAML 1.2's core schema reads
 * them, quoted ones as strings), or NULL when it does not parse. For showing stored resources,
 * which passed the loader's limits when they were stored. The caller owns the result.
 */
json_t *wdn_cli_yaml_to_json(const char *text, size_t len);

/**
 * Prints a stored resource: its YAML text as stored (table and yaml formats) or as JSON
 * (WDN_CLI_OUT_JSON). Returns 0, or -1 when the text does not convert.
 */
int wdn_cli_print_resource(const char *yaml, size_t len, int fmt);

#endif
