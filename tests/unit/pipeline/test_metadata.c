/* Tests of the middleware metadata tables (src/pipeline/metadata.c): `warden check`/`apply`
 * (wdn_pipeline_check_component) and the sidecar (wdn_pipeline_build) read a Component through
 * the same table and say the same thing; every row of a type's table is documented. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "jose/crypto.h"
#include "pipeline/internal.h"
#include "pipeline/pipeline.h"

static const char head[] =
    "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bearer\nspec:\n"
    "  type: %s\n  version: v1\n  metadata:\n"
    "  - name: issuer\n    value: \"https://issuer.test/\"\n"
    "  - name: jwks\n    value: '{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k\","
    "\"x\":\"ktgd6T4o66SwTzvqi_NM3cSiNljzX9jxa3XdKwN2gp8\","
    "\"y\":\"7tDNAcrqPrIvAkoAi__Jd1nbc9n85tOWTXhvXoLg0dc\"}]}'\n%s"
    "---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg\n"
    "spec:\n  appHttpPipeline:\n    handlers:\n    - name: bearer\n      type: %s\n";

static struct wdn_resources *load(const char *type, const char *extra)
{
    struct wdn_resources *set = wdn_resources_new();
    char doc[4096];

    snprintf(doc, sizeof(doc), head, type, extra, type);
    assert_non_null(set);
    wdn_resources_load_buffer(set, "m.yaml", NULL, doc, strlen(doc));
    assert_int_equal(set->n_errors, 0);
    return set;
}

/* check and build refuse the same component with the same diagnostic. */
static void same_refusal(const char *extra, const char *want, unsigned line)
{
    struct wdn_resources *set = load("middleware.http.bearer", extra);
    const struct wdn_res_configuration *cfg = wdn_resources_find_configuration(set, "cfg");
    struct wdn_pipeline *p = NULL;
    struct wdn_diag dc, db;

    assert_int_equal(wdn_pipeline_check_component(set->components[0], &dc), WDN_ECONFIG);
    assert_int_equal(wdn_pipeline_build(&cfg->spec.app_http_pipeline, set, "app", NULL, &p, &db),
                     WDN_ECONFIG);
    assert_null(p);
    assert_string_equal(dc.msg, db.msg);
    assert_string_equal(dc.file, "m.yaml");
    assert_int_equal(dc.line, line);
    assert_int_equal(db.line, line);
    if (strstr(dc.msg, want) == NULL)
        fail_msg("'%s' does not contain '%s'", dc.msg, want);
    wdn_resources_free(set);
}

static void test_check_equals_build(void **state)
{
    (void)state;
    same_refusal("  - name: audiance\n    value: x\n",
                 "component 'bearer' (middleware.http.bearer): unknown metadata field audiance "
                 "(did you mean audience? known: issuer, audience, jwksURL, jwks, clockSkew,",
                 13);
    same_refusal("  - name: audience\n    value: x\n  - name: clockSkew\n    value: forever\n",
                 "clockSkew must be a duration up to 1h", 15);
    same_refusal("  - name: audience\n    value: x\n  - name: stripToken\n    value: yes\n",
                 "stripToken must be true or false", 15);
    same_refusal("  - name: audience\n    value: x\n  - name: jwksURL\n    value: https://a/\n",
                 "set jwksURL or jwks, not both", 11);
    same_refusal("  - name: audience\n    secretKeyRef:\n      name: s\n      key: k\n",
                 "secretKeyRef is not supported for audience", 13);
    same_refusal("", "metadata property 'audience' is required", 4 + 2);
}

static void test_check_accepts(void **state)
{
    struct wdn_resources *set =
        load("middleware.http.bearer", "  - name: clientID\n    value: api\n"
                                       "  - name: forwardClaims\n    value: sub:X-Sub\n");
    struct wdn_diag d;

    (void)state;
    /* Aliases are rows of the table too; checking starts no thread and fetches nothing. */
    assert_int_equal(wdn_pipeline_check_component(set->components[0], &d), 0);
    wdn_resources_free(set);
}

static void test_unsupported_type(void **state)
{
    struct wdn_resources *set = load("middleware.http.ratelimit", "");
    struct wdn_diag d;

    (void)state;
    assert_int_equal(wdn_pipeline_check_component(set->components[0], &d), WDN_EUNSUPPORTED);
    assert_non_null(strstr(d.msg, "middleware type 'middleware.http.ratelimit' is not supported"));
    wdn_resources_free(set);
}

/* Style habit 5: the docs describe exactly the table. A new row without a line in
 * docs/sidecar.md's tables fails here. */
static void test_fields_documented(void **state)
{
    char path[1024];
    const char *src = getenv("WDN_SOURCE_DIR");
    FILE *f;
    char *doc = NULL;
    size_t cap = 0, len;

    (void)state;
    snprintf(path, sizeof(path), "%s/docs/sidecar.md", src ? src : "..");
    f = fopen(path, "r");
    assert_non_null(f);
    len = getdelim(&doc, &cap, '\0', f);
    fclose(f);
    assert_true(len > 0);
    for (const struct wdn__mw_field *fl = wdn__mw_bearer.fields; fl->name; fl++) {
        char want[128];
        snprintf(want, sizeof(want), "| `%s`", fl->name);
        if (strstr(doc, want) == NULL)
            fail_msg("bearer metadata field %s is not in docs/sidecar.md's tables", fl->name);
        if (fl->alias) {
            snprintf(want, sizeof(want), "alias `%s`", fl->alias);
            if (strstr(doc, want) == NULL)
                fail_msg("alias %s of %s is not in docs/sidecar.md", fl->alias, fl->name);
        }
    }
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_equals_build),
        cmocka_unit_test(test_check_accepts),
        cmocka_unit_test(test_unsupported_type),
        cmocka_unit_test(test_fields_documented),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    wdn_jose_thread_cleanup();
    return rc;
}
