/* What the listing commands print (src/cli/output.c), byte for byte, since scripts read it: the
 * table (cells for every JSON type, widths, no trailing blanks), `-o yaml` and `-o json` for
 * lists and single records, and stored resources shown as JSON with YAML 1.2 core-schema scalars
 * (quoted scalars stay strings; aliases cannot blow a small file up; what does not convert is
 * refused, not printed half). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/limits.h"
#include "cli/args.h"
#include "cli/output.h"

/* Runs fn with stdout going to a file; returns what it printed (malloc'd). */
static char *capture(void (*fn)(void *), void *ud)
{
    char path[] = "/tmp/wdn-cli-out-XXXXXX";
    int fd = mkstemp(path), saved;
    char *out;
    long n;
    FILE *f;

    assert_true(fd >= 0);
    fflush(stdout);
    saved = dup(1);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 1) >= 0);
    fn(ud);
    fflush(stdout);
    assert_true(dup2(saved, 1) >= 0);
    close(saved);
    close(fd);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    out = calloc(1, (size_t)n + 1);
    assert_non_null(out);
    assert_int_equal(fread(out, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    unlink(path);
    return out;
}

struct records {
    json_t *rows;
    int fmt;
    int single;
    size_t ncols;
};

static const char *const cols[] = {"name", "n", "current", "note"};
static const char *const headers[] = {"NAME", "COUNT", "CURRENT", "NOTE"};

static void print_records(void *ud)
{
    struct records *r = ud;
    wdn_cli_print_records(r->rows, r->fmt, cols, headers, r->ncols, r->single);
}

static char *records(const char *json, int fmt, int single, size_t ncols)
{
    struct records r = {json_loads(json, 0, NULL), fmt, single, ncols};
    assert_non_null(r.rows);
    char *s = capture(print_records, &r);
    json_decref(r.rows);
    return s;
}

/* Table cells: strings ("-" when empty), integers, true as "*", false as nothing, null and
 * absent as "-", anything else "?"; columns as wide as their widest cell; no trailing blanks. */
static void test_table(void **state)
{
    (void)state;
    char *s = records("[{\"name\":\"alpha\",\"n\":7,\"current\":true,\"note\":\"\"},"
                      "{\"name\":\"b\",\"n\":-12,\"current\":false,\"note\":null},"
                      "{\"name\":\"longer-name\",\"current\":false,\"note\":[1]},"
                      "{\"name\":\"c\",\"n\":1.5,\"current\":\"x\",\"note\":{}}]",
                      WDN_CLI_OUT_TABLE, 0, 4);
    assert_string_equal(s, "NAME          COUNT   CURRENT   NOTE\n"
                           "alpha         7       *         -\n"
                           "b             -12               -\n"
                           "longer-name   -                 ?\n"
                           "c             ?       x         ?\n");
    free(s);
    /* No rows: the header alone. */
    s = records("[]", WDN_CLI_OUT_TABLE, 0, 2);
    assert_string_equal(s, "NAME   COUNT\n");
    free(s);
}

/* A cell longer than the line buffer is cut, never overflows. */
static void test_table_long_cells(void **state)
{
    (void)state;
    json_t *rows = json_array(), *row = json_object();
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_object_set_new(row, "name", json_string(big));
    json_object_set_new(row, "n", json_string(big));
    json_object_set_new(row, "current", json_string(big));
    json_object_set_new(row, "note", json_string(big));
    json_array_append_new(rows, row);
    struct records r = {rows, WDN_CLI_OUT_TABLE, 0, 4};
    char *s = capture(print_records, &r);
    const char *second = strchr(s, '\n') + 1;
    /* Each cell keeps at most 511 bytes; the line at most 4095. */
    assert_int_equal(strcspn(second, "\n"), 4 * 511 + 3 * 3);
    assert_int_equal(second[511], ' ');
    free(s);
    json_decref(rows);
}

static void test_yaml_and_json(void **state)
{
    (void)state;
    const char *two = "[{\"name\":\"a\",\"n\":1},{\"name\":\"q\\\"x\",\"n\":null}]";
    char *s = records(two, WDN_CLI_OUT_YAML, 0, 2);
    assert_string_equal(s, "- name: \"a\"\n  n: 1\n- name: \"q\\\"x\"\n  n: null\n");
    free(s);
    s = records("[{\"name\":\"a\",\"n\":1}]", WDN_CLI_OUT_YAML, 1, 2);
    assert_string_equal(s, "name: \"a\"\nn: 1\n");
    free(s);
    s = records("[]", WDN_CLI_OUT_YAML, 0, 2);
    assert_string_equal(s, "[]\n");
    free(s);
    s = records("[]", WDN_CLI_OUT_YAML, 1, 2);
    assert_string_equal(s, "");
    free(s);
    s = records(two, WDN_CLI_OUT_JSON, 0, 2);
    assert_string_equal(s, "[\n  {\n    \"name\": \"a\",\n    \"n\": 1\n  },\n  {\n    \"name\": "
                           "\"q\\\"x\",\n    \"n\": null\n  }\n]\n");
    free(s);
    s = records(two, WDN_CLI_OUT_JSON, 1, 2);
    assert_string_equal(s, "{\n  \"name\": \"a\",\n  \"n\": 1\n}\n");
    free(s);
    /* A single record asked for where there is none: JSON null, not nothing. */
    s = records("[]", WDN_CLI_OUT_JSON, 1, 2);
    assert_string_equal(s, "null\n");
    free(s);
}

/* YAML 1.2 core schema: plain scalars typed, quoted ones strings. */
static void test_yaml_scalars(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *json;
    } cases[] = {
        {"a: ~", "{\"a\": null}"},
        {"a: null", "{\"a\": null}"},
        {"a: Null", "{\"a\": null}"},
        {"a: NULL", "{\"a\": null}"},
        {"a:", "{\"a\": null}"},
        {"a: \"\"", "{\"a\": \"\"}"},
        {"a: true", "{\"a\": true}"},
        {"a: True", "{\"a\": true}"},
        {"a: TRUE", "{\"a\": true}"},
        {"a: false", "{\"a\": false}"},
        {"a: False", "{\"a\": false}"},
        {"a: FALSE", "{\"a\": false}"},
        {"a: yes", "{\"a\": \"yes\"}"},
        {"a: 'true'", "{\"a\": \"true\"}"},
        {"a: \"null\"", "{\"a\": \"null\"}"},
        {"a: 42", "{\"a\": 42}"},
        {"a: -7", "{\"a\": -7}"},
        {"a: +7", "{\"a\": 7}"},
        {"a: '42'", "{\"a\": \"42\"}"},
        {"a: 1.5", "{\"a\": 1.5}"},
        {"a: -2.5e3", "{\"a\": -2500.0}"},
        {"a: 1.", "{\"a\": 1.0}"},
        {"a: 0x1A", "{\"a\": \"0x1A\"}"},
        {"a: 1_000", "{\"a\": \"1_000\"}"},
        {"a: .inf", "{\"a\": \".inf\"}"},
        {"a: 1.2.3", "{\"a\": \"1.2.3\"}"},
        {"a: -x", "{\"a\": \"-x\"}"},
        {"a: +", "{\"a\": \"+\"}"},
        {"a: e5", "{\"a\": \"e5\"}"},
        {"a: 99999999999999999999", "{\"a\": \"99999999999999999999\"}"},
        {"a: v1.2", "{\"a\": \"v1.2\"}"},
        {"[1, [two, {x: y}]]", "[1, [\"two\", {\"x\": \"y\"}]]"},
        {"k: &a [1]\nl: *a", "{\"k\": [1], \"l\": [1]}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = wdn_cli_yaml_to_json(cases[i].yaml, strlen(cases[i].yaml));
        char *got = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_t *want = json_loads(cases[i].json, 0, NULL);
        char *w = json_dumps(want, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (got == NULL || strcmp(got, w) != 0)
            fail_msg("'%s': got %s, expected %s", cases[i].yaml, got ? got : "(none)", w);
        free(got);
        free(w);
        json_decref(j);
        json_decref(want);
    }
}

/* What does not convert gives NULL (the command says so) instead of a partial document. */
static void test_yaml_refused(void **state)
{
    (void)state;
    char deep[2 * (WDN_YAML_MAX_DEPTH + 2) + 1];
    size_t n = 0;

    assert_null(wdn_cli_yaml_to_json("a: [1, 2", 8));
    assert_null(wdn_cli_yaml_to_json("", 0));
    /* A mapping key that is not a scalar. */
    assert_null(wdn_cli_yaml_to_json("? [a]\n: b\n", 10));
    assert_null(wdn_cli_yaml_to_json("x: {? [a]: b}\n", 14));
    /* Nested deeper than the loader allows. */
    for (int i = 0; i < WDN_YAML_MAX_DEPTH + 2; i++)
        deep[n++] = '[';
    for (int i = 0; i < WDN_YAML_MAX_DEPTH + 2; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    assert_null(wdn_cli_yaml_to_json(deep, n));
    /* Just within the depth limit it converts. */
    assert_non_null(strstr(deep, "[]"));
    json_t *ok = wdn_cli_yaml_to_json(deep + 2, n - 4);
    assert_non_null(ok);
    json_decref(ok);
}

/* A billion-laughs file: aliases multiply nodes; the node budget stops the expansion. */
static void test_yaml_alias_budget(void **state)
{
    (void)state;
    const char *laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                         "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                         "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                         "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                         "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    assert_null(wdn_cli_yaml_to_json(laughs, strlen(laughs)));
    /* Four levels (11110 nodes) are within the budget. */
    const char *four = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
    json_t *j = wdn_cli_yaml_to_json(four, strlen(four));
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "d")), 10);
    json_decref(j);
}

struct resource {
    const char *yaml;
    int fmt;
    int rc;
};

static void print_resource(void *ud)
{
    struct resource *r = ud;
    r->rc = wdn_cli_print_resource(r->yaml, strlen(r->yaml), r->fmt);
}

static void test_print_resource(void **state)
{
    (void)state;
    struct resource r = {"kind: Component\nmetadata:\n  name: x", WDN_CLI_OUT_TABLE, -2};
    char *s = capture(print_resource, &r);
    /* As stored, with the missing final newline added. */
    assert_int_equal(r.rc, 0);
    assert_string_equal(s, "kind: Component\nmetadata:\n  name: x\n");
    free(s);
    r = (struct resource){"kind: Component\n", WDN_CLI_OUT_YAML, -2};
    s = capture(print_resource, &r);
    assert_string_equal(s, "kind: Component\n");
    free(s);
    r = (struct resource){"kind: Component\nspec:\n  version: v1\n  n: 3\n", WDN_CLI_OUT_JSON, -2};
    s = capture(print_resource, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(s,
                        "{\n  \"kind\": \"Component\",\n  \"spec\": {\n    \"version\": \"v1\",\n"
                        "    \"n\": 3\n  }\n}\n");
    free(s);
    r = (struct resource){"kind: [", WDN_CLI_OUT_JSON, -2};
    s = capture(print_resource, &r);
    assert_int_equal(r.rc, -1);
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),          cmocka_unit_test(test_table_long_cells),
        cmocka_unit_test(test_yaml_and_json),  cmocka_unit_test(test_yaml_scalars),
        cmocka_unit_test(test_yaml_refused),   cmocka_unit_test(test_yaml_alias_budget),
        cmocka_unit_test(test_print_resource),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
