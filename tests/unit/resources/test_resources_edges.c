/* Resource loader refusals that test_resources.c does not walk, each with the exact
 * file:line:col message `warden check` prints: YAML tags on mappings and sequences, DNS-1123
 * names and labels too long or badly shaped, booleans in every core-schema spelling, free-form
 * maps (a run file's env) that are not maps or have empty names or non-string values, files that
 * are not regular or missing, a folder whose *.yaml entry is a folder, and a file with more
 * documents than the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/limits.h"
#include "resources/internal.h"
#include "resources/resources.h"

#define COMP_HEAD "apiVersion: dapr.io/v1alpha1\nkind: Component\n"
#define SPEC "spec: {type: middleware.http.bearer, version: v1}\n"

static char out_buf[65536];

/* Every message of a set, one a line, as `warden check` prints them (warnings left out). */
static const char *errors(const struct wdn_resources *set)
{
    size_t used = 0;
    out_buf[0] = '\0';
    for (size_t i = 0; i < set->n_msgs && used < sizeof(out_buf); i++) {
        char line[1200];
        if (set->msgs[i].warning)
            continue;
        int n = snprintf(out_buf + used, sizeof(out_buf) - used, "%s\n",
                         wdn_resources_msg_format(&set->msgs[i], line, sizeof(line)));
        if (n > 0)
            used += (size_t)n;
    }
    return out_buf;
}

static void expect(const char *text, const char *want)
{
    struct wdn_resources *set = wdn_resources_new();
    assert_non_null(set);
    wdn_resources_load_buffer(set, "t.yaml", "/nonexistent", text, strlen(text));
    const char *got = errors(set);
    if (strcmp(got, want) != 0) {
        print_error("input:\n%s\nwant:\n%s", text, want);
        print_error("got:\n%s", got);
        fail();
    }
    wdn_resources_free(set);
}

static void test_tags(void **state)
{
    (void)state;
    /* The standard tags are fine; any other is refused where it stands. */
    expect(COMP_HEAD "metadata: !!map {name: !!str b}\n" SPEC "scopes: !!seq [a]\n", "");
    expect(COMP_HEAD "metadata: !custom {name: b}\n" SPEC,
           "t.yaml:3:11: metadata: YAML tag !custom is not supported\n");
    expect(COMP_HEAD "metadata: {name: b}\n" SPEC "scopes: !custom [a]\n",
           "t.yaml:5:9: scopes: YAML tag !custom is not supported\n");
}

static void test_dns_names(void **state)
{
    (void)state;
    char text[1024];
    char l64[65], l254[255];
    memset(l64, 'a', 64);
    l64[64] = '\0';
    memset(l254, 'a', 254);
    l254[254] = '\0';

    expect(COMP_HEAD "metadata: {name: -bad-}\n" SPEC,
           "t.yaml:3:18: metadata.name: \"-bad-\" must start and end with a letter or digit "
           "(DNS-1123)\n");
    expect(COMP_HEAD "metadata: {name: a..b}\n" SPEC,
           "t.yaml:3:18: metadata.name: \"a..b\" has an empty label or a label starting or "
           "ending with '-' (DNS-1123)\n");
    expect(COMP_HEAD "metadata: {name: a.-b}\n" SPEC,
           "t.yaml:3:18: metadata.name: \"a.-b\" has an empty label or a label starting or "
           "ending with '-' (DNS-1123)\n");
    expect(COMP_HEAD "metadata: {name: b, namespace: -x}\n" SPEC,
           "t.yaml:3:32: metadata.namespace: \"-x\" must start and end with a letter or digit "
           "(a DNS-1123 label)\n");
    snprintf(text, sizeof(text), COMP_HEAD "metadata: {name: b, namespace: %s}\n" SPEC, l64);
    struct wdn_resources *set = wdn_resources_new();
    wdn_resources_load_buffer(set, "t.yaml", NULL, text, strlen(text));
    assert_non_null(strstr(errors(set), "metadata.namespace: "));
    assert_non_null(strstr(errors(set), "must be 1 to 63 characters (a DNS-1123 label)"));
    wdn_resources_free(set);
    snprintf(text, sizeof(text), COMP_HEAD "metadata: {name: %s}\n" SPEC, l254);
    set = wdn_resources_new();
    wdn_resources_load_buffer(set, "t.yaml", NULL, text, strlen(text));
    assert_non_null(strstr(errors(set), "must be 1 to 253 characters (a DNS-1123 subdomain)"));
    wdn_resources_free(set);
    /* 63 and 253 are fine. */
    l64[63] = '\0';
    snprintf(text, sizeof(text), COMP_HEAD "metadata: {name: b, namespace: %s}\n" SPEC, l64);
    expect(text, "");
}

static void test_booleans(void **state)
{
    (void)state;
    static const char *const ok[] = {"true", "True", "TRUE", "false", "False", "FALSE"};
    char text[512];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(text, sizeof(text),
                 COMP_HEAD "metadata: {name: b}\nspec: {type: middleware.http.bearer, version: v1, "
                           "ignoreErrors: %s}\n",
                 ok[i]);
        expect(text, "");
    }
    expect(COMP_HEAD "metadata: {name: b}\nspec: {type: middleware.http.bearer, version: v1, "
                     "ignoreErrors: maybe}\n",
           "t.yaml:4:65: spec.ignoreErrors: expected true or false (unquoted), found \"maybe\"\n");
    expect(COMP_HEAD "metadata: {name: b}\nspec: {type: middleware.http.bearer, version: v1, "
                     "ignoreErrors: \"true\"}\n",
           "t.yaml:4:65: spec.ignoreErrors: expected true or false (unquoted), found \"true\"\n");
    expect(COMP_HEAD "metadata: {name: b}\n" SPEC "auth: {secretStore: ~}\n",
           "t.yaml:5:7: auth: missing required field \"secretStore\" in auth\n");
    expect(COMP_HEAD "metadata: {name: b}\n" SPEC "auth: {secretStore: Null}\n",
           "t.yaml:5:7: auth: missing required field \"secretStore\" in auth\n");
}

#define RUN_HEAD "version: 1\napps:\n- appID: a\n  appDirPath: /\n"

static void test_free_form_maps(void **state)
{
    (void)state;
    expect(RUN_HEAD "  env: [a]\n",
           "t.yaml:5:8: apps[0].env: expected a mapping of names to strings, found a list\n");
    expect(RUN_HEAD "  env: {'': x}\n", "t.yaml:5:9: apps[0].env: empty name\n");
    expect(RUN_HEAD "  env: {A: ~, B: [x]}\n",
           "t.yaml:5:18: apps[0].env.B: expected a string, found a list\n");
    expect(RUN_HEAD "  env: {A: ~, B: '', C: \"3\"}\n", "");

    /* More than WDN_RES_MAX_LIST entries. */
    size_t cap = 64 + (WDN_RES_MAX_LIST + 1) * 16;
    char *text = malloc(cap);
    size_t n = (size_t)snprintf(text, cap, RUN_HEAD "  env:\n");
    for (int i = 0; i <= WDN_RES_MAX_LIST; i++)
        n += (size_t)snprintf(text + n, cap - n, "    K%d: v\n", i);
    expect(text, "t.yaml:6:5: apps[0].env: more than 4096 entries\n");
    free(text);
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/wdn-res-edges-XXXXXX", path[128], cmd[160];
    struct wdn_resources *set;

    assert_non_null(mkdtemp(dir));
    set = wdn_resources_new();
    assert_int_equal(wdn_resources_load_path(set, "/dev/null"), WDN_ECONFIG);
    assert_string_equal(errors(set), "/dev/null: not a regular file\n");
    wdn_resources_free(set);
    set = wdn_resources_new();
    assert_int_equal(wdn_resources_load_path(set, "/nonexistent/x.yaml"), WDN_ECONFIG);
    assert_string_equal(errors(set),
                        "/nonexistent/x.yaml: cannot read: No such file or directory\n");
    wdn_resources_free(set);
    assert_int_equal(wdn_resources_load_path(NULL, dir), WDN_EINVAL);

    /* A folder: a sub-folder named like a YAML file is not read; hidden files neither. */
    snprintf(path, sizeof(path), "%s/sub.yaml", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/.hidden.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs("garbage: [", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/c.yml", dir);
    f = fopen(path, "w");
    fputs(COMP_HEAD "metadata: {name: c}\n" SPEC, f);
    fclose(f);
    set = wdn_resources_new();
    assert_int_equal(wdn_resources_load_path(set, dir), 0);
    assert_int_equal(set->n_components, 1);
    wdn_resources_free(set);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_document_limit(void **state)
{
    (void)state;
    size_t cap = (WDN_YAML_MAX_DOCS + 2) * 8 + 64;
    char *text = malloc(cap);
    size_t n = 0;
    for (int i = 0; i <= WDN_YAML_MAX_DOCS; i++)
        n += (size_t)snprintf(text + n, cap - n, "---\n");
    struct wdn_resources *set = wdn_resources_new();
    assert_int_equal(wdn_resources_load_buffer(set, "t.yaml", NULL, text, n), WDN_ECONFIG);
    assert_non_null(strstr(errors(set), "more than 1024 documents"));
    wdn_resources_free(set);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags),     cmocka_unit_test(test_dns_names),
        cmocka_unit_test(test_booleans), cmocka_unit_test(test_free_form_maps),
        cmocka_unit_test(test_files),    cmocka_unit_test(test_document_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
