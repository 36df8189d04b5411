/* Record output. YAML is written by hand: every string is emitted as a JSON-style double-quoted
 * scalar, which is valid YAML whatever the string holds. */
#include "cli/output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"

static void print_yaml_object(json_t *o, const char *first_prefix, const char *prefix)
{
    const char *key;
    json_t *v;
    int first = 1;

    json_object_foreach(o, key, v)
    {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%s%s: %s\n", first ? first_prefix : prefix, key, s ? s : "null");
        free(s);
        first = 0;
    }
}

void wdn_cli_print_records(json_t *rows, int fmt, const char *const *cols,
                           const char *const *headers, size_t ncols, int single)
{
    size_t i, widths[16] = {0};
    json_t *row;

    if (fmt == WDN_CLI_OUT_JSON) {
        json_t *what = single ? json_array_get(rows, 0) : rows;
        char *s = json_dumps(what ? what : json_null(), JSON_INDENT(2) | JSON_ENCODE_ANY);
        printf("%s\n", s ? s : "null");
        free(s);
        return;
    }
    if (fmt == WDN_CLI_OUT_YAML) {
        if (json_array_size(rows) == 0 && !single)
            printf("[]\n");
        json_array_foreach(rows, i, row)
        {
            if (single)
                print_yaml_object(row, "", "");
            else
                print_yaml_object(row, "- ", "  ");
        }
        return;
    }
    if (ncols > 16)
        ncols = 16;
    for (size_t c = 0; c < ncols; c++)
        widths[c] = strlen(headers[c]);
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < ncols; c++) {
            const char *v = json_string_value(json_object_get(row, cols[c]));
            size_t len = v ? strlen(v) : 1;
            if (len > widths[c])
                widths[c] = len;
        }
    }
    for (size_t c = 0; c < ncols; c++)
        printf("%-*s%s", (int)widths[c], headers[c], c + 1 < ncols ? "   " : "\n");
    json_array_foreach(rows, i, row)
    {
        for (size_t c = 0; c < ncols; c++) {
            const char *v = json_string_value(json_object_get(row, cols[c]));
            printf("%-*s%s", (int)widths[c], v && *v ? v : "-", c + 1 < ncols ? "   " : "\n");
        }
    }
}
