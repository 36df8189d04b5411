/* Allocation failures while a bearer Component is read and built (issue 18), with the
 * fault-injection hook (src/base/fault.h; only in WDN_FAULT builds: asan and coverage). Every
 * allocation of the configuration path is failed in turn, curl-torture style: each failure must
 * refuse the Component (never build it with part of its configuration missing), say "out of
 * memory" when it reports WDN_ENOMEM, leave nothing in the instance registry, and leak nothing
 * (LeakSanitizer runs in `make check`). The clean run after the last site builds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/fault.h"
#include "jose/crypto.h"
#include "pipeline/pipeline.h"
#include "../support/bearerdoc.h"

static char *jwks;

static int setup(void **state)
{
    (void)state;
    jwks = bd_jwks();
    return jwks ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    wdn_fault_disarm();
    free(jwks);
    wdn_jose_thread_cleanup();
    return 0;
}

/* Every metadata field that allocates, several issuers through profiles; inline keys only, so
 * building starts no fetch (a key thread allocating while a fault is armed would take it). */
static struct wdn_resources *load_rich(void)
{
    struct wdn_resources *set;
    char *meta = NULL;

    assert_true(
        asprintf(
            &meta,
            "  - {name: issuer, value: 'https://as.test/'}\n"
            "  - {name: audience, value: 'api, urn:api'}\n"
            "  - {name: jwks, value: '%1$s'}\n"
            "  - {name: requiredScopes, value: 'read write'}\n"
            "  - {name: forwardClaims, value: 'sub:X-User, email:X-Email'}\n"
            "  - {name: resource, value: 'https://mcp.test/mcp'}\n"
            "  - {name: resourceMetadata, value: 'https://mcp.test/prm'}\n"
            "  - {name: introspectionURL, value: 'https://as.test/introspect'}\n"
            "  - {name: introspectionClientID, value: rs}\n"
            "  - {name: introspectionClientSecret, value: s3cret}\n"
            "  - name: issuers\n    value: |\n"
            "      [{\"issuer\": \"https://b.test/\", \"audience\": [\"b1\", \"b2\"],\n"
            "        \"jwks\": %1$s},\n"
            "       {\"profile\": \"entra\", \"issuer\": "
            "\"72f988bf-86f1-41af-91ab-2d7cd011db47\",\n"
            "        \"audience\": \"6e74172b-be56-4843-9ff4-e66a39bb12e3\", \"jwks\": %1$s},\n"
            "       {\"profile\": \"keycloak\", \"issuer\": \"https://kc.test/realms/r\",\n"
            "        \"jwks\": %1$s},\n"
            "       {\"profile\": \"okta\", \"issuer\": \"https://x.okta.com/oauth2/default\",\n"
            "        \"jwks\": %1$s},\n"
            "       {\"profile\": \"auth0\", \"issuer\": \"t.auth0.com\", \"jwks\": %1$s}]\n",
            jwks) > 0);
    set = bd_load("f.yaml", meta);
    free(meta);
    return set;
}

static void count(const struct wdn_mw_stats *s, void *arg)
{
    (void)s;
    (*(int *)arg)++;
}

/* `warden check`'s path: the metadata read into a scratch configuration. */
static void test_check_under_allocation_failures(void **state)
{
    struct wdn_resources *set = load_rich();
    unsigned n, failed = 0, oom = 0;
    struct wdn_diag d;
    int rc;

    (void)state;
    for (n = 1;; n++) {
        wdn_diag_clear(&d);
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        rc = wdn_pipeline_check_component(set->components[0], &d);
        wdn_fault_disarm();
        if (!wdn_fault_fired())
            break;
        failed++;
        if (rc == 0)
            fail_msg("allocation %u failed, yet the component was accepted", n);
        if (rc == WDN_ENOMEM) {
            oom++;
            if (strstr(d.msg, "out of memory") == NULL)
                fail_msg("allocation %u: WDN_ENOMEM with '%s'", n, d.msg);
        }
    }
    assert_int_equal(rc, 0); /* the clean run */
    assert_true(failed >= 30);
    assert_true(oom >= failed / 2);
    print_message("check: %u allocation sites failed in turn, %u reported out of memory\n", failed,
                  oom);
    wdn_resources_free(set);
}

/* The sidecar's path: the instance built (validator, introspector) into a registry. */
static void test_build_under_allocation_failures(void **state)
{
    struct wdn_resources *set = load_rich();
    struct wdn_mw_registry *reg = wdn_mw_registry_new();
    struct wdn_pipeline *p;
    struct wdn_pipeline_resource res;
    unsigned n, failed = 0;
    struct wdn_diag d;
    int rc, instances;

    (void)state;
    assert_non_null(reg);
    for (n = 1;; n++) {
        p = NULL;
        wdn_diag_clear(&d);
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        rc = bd_build(set, "app", reg, &p, &d);
        wdn_fault_disarm();
        if (!wdn_fault_fired())
            break;
        failed++;
        if (rc == 0)
            fail_msg("allocation %u failed, yet the pipeline was built", n);
        assert_null(p);
        if (rc == WDN_ENOMEM && strstr(d.msg, "out of memory") == NULL)
            fail_msg("allocation %u: WDN_ENOMEM with '%s'", n, d.msg);
        /* The failed build holds no reference: what it added to the registry (a complete
         * instance, shared by the next build) goes with the sidecar's collection. */
        wdn_mw_registry_gc(reg);
        instances = 0;
        wdn_mw_registry_stats(reg, count, &instances);
        assert_int_equal(instances, 0);
    }
    assert_int_equal(rc, 0);
    assert_non_null(p);
    assert_true(failed >= 30);
    assert_true(wdn_pipeline_resource(p, &res));
    assert_string_equal(res.resource, "https://mcp.test/mcp");
    assert_int_equal(res.n_scopes, 2);
    instances = 0;
    wdn_mw_registry_stats(reg, count, &instances);
    assert_int_equal(instances, 1);
    print_message("build: %u allocation sites failed in turn\n", failed);
    wdn_pipeline_free(p);
    wdn_mw_registry_free(reg);
    wdn_resources_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_under_allocation_failures),
        cmocka_unit_test(test_build_under_allocation_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
