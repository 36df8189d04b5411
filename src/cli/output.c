/* Record output. YAML is written by hand: every string is emitted as a JSON-style double-quoted
 * scalar, which is valid YAML whatever the string holds. Stored resources (YAML text) are shown
 * as JSON through libyaml's document API with the YAML 1.2 core schema's plain scalars. */
#include "base/json_dump.h"
#include "cli/output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "base/limits.h"
#include "cli/args.h"

static void print_yaml_object(json_t *o, const char *first_prefix, const char *prefix)
{
    const char *key;
    json_t *v;
    int first = 1;

    json_object_foreach (o, key, v) {
        char *s = wdn_json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%s%s: %s\n", first ? first_prefix : prefix, key, s ? s : "null");
        free(s);
        first = 0;
    }
}

/* A table cell: strings as they are ("-" when empty), integers in decimal, true as "*" (the
 * marker of `project list`), false as nothing, null or absent as "-". */
static void cell(json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        snprintf(buf, cap, "%s", *json_string_value(v) ? json_string_value(v) : "-");
    else if (json_is_integer(v))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_true(v))
        snprintf(buf, cap, "*");
    else if (json_is_false(v))
        snprintf(buf, cap, "%s", "");
    else if (json_is_null(v) || v == NULL)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "?");
}

/* Prints one table line without trailing blanks. */
static void table_line(const char *const *cells, const size_t *widths, size_t ncols)
{
    char line[4096];
    size_t n = 0;

    for (size_t c = 0; c < ncols && n < sizeof(line); c++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%-*s%s", (int)widths[c], cells[c],
                              c + 1 < ncols ? "   " : "");
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    while (n > 0 && line[n - 1] == ' ')
        n--;
    line[n] = '\0';
    printf("%s\n", line);
}

void wdn_cli_print_records(json_t *rows, int fmt, const char *const *cols,
                           const char *const *headers, size_t ncols, int single)
{
    size_t i, widths[16] = {0};
    char cells[16][512];
    const char *cp[16];
    json_t *row;

    if (fmt == WDN_CLI_OUT_JSON) {
        json_t *what = single ? json_array_get(rows, 0) : rows;
        char *s = wdn_json_dumps(what ? what : json_null(), JSON_INDENT(2) | JSON_ENCODE_ANY);
        printf("%s\n", s ? s : "null");
        free(s);
        return;
    }
    if (fmt == WDN_CLI_OUT_YAML) {
        if (json_array_size(rows) == 0 && !single)
            printf("[]\n");
        json_array_foreach (rows, i, row) {
            if (single)
                print_yaml_object(row, "", "");
            else
                print_yaml_object(row, "- ", "  ");
        }
        return;
    }
    if (ncols > 16)
        ncols = 16;
    for (size_t c = 0; c < ncols; c++) {
        widths[c] = strlen(headers[c]);
        cp[c] = cells[c];
    }
    json_array_foreach (rows, i, row) {
        for (size_t c = 0; c < ncols; c++) {
            cell(json_object_get(row, cols[c]), cells[c], sizeof(cells[c]));
            if (strlen(cells[c]) > widths[c])
                widths[c] = strlen(cells[c]);
        }
    }
    table_line(headers, widths, ncols);
    json_array_foreach (rows, i, row) {
        for (size_t c = 0; c < ncols; c++)
            cell(json_object_get(row, cols[c]), cells[c], sizeof(cells[c]));
        table_line(cp, widths, ncols);
    }
}

/* A plain scalar as the YAML 1.2 core schema reads it: null, booleans, integers, floats; any
 * other (and every quoted) scalar is a string. */
static json_t *scalar_json(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    char *end;

    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(s, len);
    if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
        strcmp(s, "NULL") == 0)
        return json_null();
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        return json_false();
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (errno == 0 && *end == '\0' && (s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')))
        return json_integer(i);
    double d = strtod(s, &end);
    if (errno == 0 && *end == '\0' && strspn(s, "+-0123456789.eE") == len)
        return json_real(d);
    return json_stringn(s, len);
}

/* budget counts the nodes visited: aliases could make a small file expand without bound. */
static json_t *node_json(yaml_document_t *doc, yaml_node_t *n, unsigned depth, size_t *budget)
{
    json_t *out = NULL;

    if (n == NULL || depth > WDN_YAML_MAX_DEPTH || *budget == 0)
        return NULL;
    (*budget)--;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return scalar_json(n);
    case YAML_SEQUENCE_NODE:
        out = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             out && it < n->data.sequence.items.top; it++) {
            json_t *v = node_json(doc, yaml_document_get_node(doc, *it), depth + 1, budget);
            if (v == NULL || json_array_append_new(out, v) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    case YAML_MAPPING_NODE:
        out = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             out && p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            json_t *v = node_json(doc, yaml_document_get_node(doc, p->value), depth + 1, budget);
            if (k == NULL || k->type != YAML_SCALAR_NODE || v == NULL ||
                json_object_setn_new(out, (const char *)k->data.scalar.value, k->data.scalar.length,
                                     v) != 0) {
                json_decref(v);
                json_decref(out);
                return NULL;
            }
        }
        return out;
    default:
        return NULL;
    }
}

json_t *wdn_cli_yaml_to_json(const char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    json_t *out = NULL;
    size_t budget = WDN_YAML_MAX_NODES;

    if (!yaml_parser_initialize(&parser))
        return NULL;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (yaml_parser_load(&parser, &doc)) {
        out = node_json(&doc, yaml_document_get_root_node(&doc), 0, &budget);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return out;
}

int wdn_cli_print_resource(const char *yaml, size_t len, int fmt)
{
    json_t *j;
    char *s;

    if (fmt != WDN_CLI_OUT_JSON) {
        fwrite(yaml, 1, len, stdout);
        if (len && yaml[len - 1] != '\n')
            fputc('\n', stdout);
        return 0;
    }
    j = wdn_cli_yaml_to_json(yaml, len);
    s = j ? wdn_json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (s == NULL)
        return -1;
    printf("%s\n", s);
    free(s);
    return 0;
}
