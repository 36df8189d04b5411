/* Printing records for listing commands as a table, JSON or YAML (-o). */
#ifndef WDN_CLI_OUTPUT_H
#define WDN_CLI_OUTPUT_H

#include <stddef.h>

#include <jansson.h>

/**
 * Prints rows (a JSON array of objects whose values are strings) in format fmt (enum
 * wdn_cli_output). cols names the columns of the table format, in order, with their headers.
 * A single object (single != 0) is printed as one object in JSON/YAML.
 */
void wdn_cli_print_records(json_t *rows, int fmt, const char *const *cols,
                           const char *const *headers, size_t ncols, int single);

#endif
