/* Unit tests for src/policy: Dapr's own ACL test cases (dapr/dapr pkg/acl/acl_test.go,
 * pkg/config/acl_trie_test.go) replayed against our compiled ACL, our stricter path handling,
 * and the MCP tool policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/limits.h"
#include "policy/policy.h"
#include "resources/resources.h"

/* Dapr's initializeAccessControlList spec, written as the YAML a user would write. */
static const char dapr_spec[] = "apiVersion: dapr.io/v1alpha1\n"
                                "kind: Configuration\n"
                                "metadata: {name: acl}\n"
                                "spec:\n"
                                "  accessControl:\n"
                                "    defaultAction: deny\n"
                                "    trustDomain: abcd\n"
                                "    policies:\n"
                                "    - appId: app1\n"
                                "      defaultAction: allow\n"
                                "      trustDomain: public\n"
                                "      namespace: ns1\n"
                                "      operations:\n"
                                "      - {name: /op1, httpVerb: [POST, GET], action: allow}\n"
                                "      - {name: /op2, httpVerb: ['*'], action: deny}\n"
                                "    - appId: app2\n"
                                "      defaultAction: deny\n"
                                "      trustDomain: domain1\n"
                                "      namespace: ns2\n"
                                "      operations:\n"
                                "      - {name: /op3/a/*, httpVerb: [PUT, GET], action: allow}\n"
                                "      - {name: /op4, httpVerb: [POST], action: allow}\n"
                                "    - appId: app3\n"
                                "      trustDomain: domain1\n"
                                "      namespace: ns1\n"
                                "      operations:\n"
                                "      - {name: /op5, httpVerb: [POST], action: allow}\n"
                                "    - appId: app4\n"
                                "      defaultAction: deny\n"
                                "      trustDomain: domain1\n"
                                "      namespace: ns2\n"
                                "      operations:\n"
                                "      - {name: /op6, action: allow}\n"
                                "      - {name: /op7/a/b/*, action: allow}\n"
                                "      - {name: /op7/a/b/c/f, action: allow}\n"
                                "      - {name: /op7/a/b*, action: allow}\n"
                                "      - {name: /op7/c/**, action: allow}\n"
                                "    - appId: app1\n"
                                "      defaultAction: allow\n"
                                "      trustDomain: public\n"
                                "      namespace: ns4\n"
                                "      operations:\n"
                                "      - {name: /op6, httpVerb: ['*'], action: allow}\n";

static struct wdn_acl *compile_text(const char *text, bool http)
{
    struct wdn_resources *set = wdn_resources_new();
    struct wdn_acl *acl = NULL;
    struct wdn_diag d;

    assert_non_null(set);
    wdn_resources_load_buffer(set, "acl.yaml", NULL, text, strlen(text));
    if (set->n_errors) {
        char buf[1200];
        for (size_t i = 0; i < set->n_msgs; i++)
            print_error("%s\n", wdn_resources_msg_format(&set->msgs[i], buf, sizeof(buf)));
        fail();
    }
    assert_int_equal(set->n_configurations, 1);
    assert_int_equal(wdn_acl_compile(&set->configurations[0]->spec.access_control, http, &acl, &d),
                     0);
    wdn_resources_free(set); /* the acl keeps its own copies */
    return acl;
}

static bool allowed(const struct wdn_acl *acl, const char *td, const char *ns, const char *app,
                    const char *op, const char *verb)
{
    struct wdn_acl_caller c = {td, ns, app};
    struct wdn_acl_decision d;
    assert_int_equal(wdn_acl_eval(acl, app ? &c : NULL, verb, op, strlen(op), &d), 0);
    return d.allowed;
}

static void test_dapr_http_cases(void **state)
{
    struct wdn_acl *acl = compile_text(dapr_spec, true);
    assert_non_null(acl);

    /* "test when no acl specified" */
    assert_true(allowed(NULL, "public", "ns1", "app1", "op1", "POST"));
    /* "test when no matching app in acl found" -> global default (deny) */
    assert_false(allowed(acl, "public", "ns1", "appX", "op1", "POST"));
    /* "test when trust domain does not match" */
    assert_false(allowed(acl, "private", "ns1", "app1", "op1", "POST"));
    /* "test when namespace does not match" */
    assert_false(allowed(acl, "public", "abcd", "app1", "op1", "POST"));
    /* "test when spiffe id is nil" / "src app id is empty" */
    assert_false(allowed(acl, NULL, NULL, NULL, "op1", "POST"));
    assert_false(allowed(acl, "public", "ns1", "", "op1", "POST"));
    /* "test when operation is not found in the policy spec" -> app default (allow) */
    assert_true(allowed(acl, "public", "ns1", "app1", "opX", "POST"));
    /* "test http case-sensitivity when matching operation post fix" */
    assert_false(allowed(acl, "public", "ns1", "app1", "Op2", "POST"));
    /* "test when http verb is not found" -> app default deny */
    assert_false(allowed(acl, "domain1", "ns2", "app2", "op4", "PUT"));
    /* "default action for app is not specified and no matching http verb found" -> global */
    assert_false(allowed(acl, "domain1", "ns1", "app3", "op5", "PUT"));
    assert_true(allowed(acl, "domain1", "ns1", "app3", "op5", "POST"));
    /* "test when http verb matches *" */
    assert_false(allowed(acl, "public", "ns1", "app1", "op2", "PUT"));
    /* "test when http verb matches a specific verb" */
    assert_true(allowed(acl, "domain1", "ns2", "app2", "op4", "POST"));
    /* "test when operation is invoked with /" */
    assert_true(allowed(acl, "domain1", "ns2", "app2", "/op4", "POST"));
    /* "test when http verb is not specified" -> the app's default */
    assert_false(allowed(acl, "domain1", "ns2", "app2", "op4", NULL));
    /* "test when matching operation post fix is specified in policy spec" */
    assert_true(allowed(acl, "domain1", "ns2", "app2", "/op3/a", "PUT"));
    /* "test when non-matching operation post fix is specified in policy spec" */
    assert_false(allowed(acl, "domain1", "ns2", "app2", "/op3/b/b", "PUT"));
    assert_true(allowed(acl, "domain1", "ns2", "app2", "/op3/a/b", "PUT"));
    /* the same app ID in another namespace has its own policy */
    assert_true(allowed(acl, "public", "ns4", "app1", "op6", "DELETE"));
    assert_true(allowed(acl, "public", "ns4", "app1", "anything", "GET"));
    wdn_acl_free(acl);
}

static void test_dapr_grpc_cases(void **state)
{
    struct wdn_acl *acl = compile_text(dapr_spec, false);

    /* "test grpc case-sensitivity when matching operation post fix" */
    assert_false(allowed(acl, "domain1", "ns2", "app2", "/OP4", NULL));
    /* "test with grpc invocation" */
    assert_true(allowed(acl, "domain1", "ns2", "app2", "op4", NULL));
    /* "when testing grpc calls, acl is not configured with http verb" */
    assert_true(allowed(acl, "domain1", "ns2", "app4", "op6", NULL));
    /* "acl configured with wildcard * for full matching" */
    assert_true(allowed(acl, "domain1", "ns2", "app4", "op7/a/b/c", NULL));
    assert_false(allowed(acl, "domain1", "ns2", "app4", "op7/a/b/c/d", NULL));
    assert_true(allowed(acl, "domain1", "ns2", "app4", "op7/a/b/c/f", NULL));
    /* "acl is configured with wildcards" (glob inside a segment) */
    assert_true(allowed(acl, "domain1", "ns2", "app4", "op7/a/bc", NULL));
    /* "acl configured with wildcard ** for full matching" */
    assert_true(allowed(acl, "domain1", "ns2", "app4", "op7/c/d/e", NULL));
    assert_true(allowed(acl, "domain1", "ns2", "app4", "op7/c/d", NULL));
    assert_false(allowed(acl, "domain1", "ns2", "app4", "op8", NULL));
    wdn_acl_free(acl);
}

/* Dapr's TestParseAccessControlSpec cases that are about defaults. */
static void test_dapr_parse_defaults(void **state)
{
    struct wdn_acl *acl;

    /* "test when no default global action has been specified" -> deny */
    acl = compile_text("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n"
                       "spec:\n  accessControl:\n    trustDomain: public\n    policies:\n"
                       "    - {appId: app1, defaultAction: allow, trustDomain: domain1, "
                       "namespace: ns1}\n",
                       true);
    assert_non_null(acl);
    assert_false(allowed(acl, "public", "default", "other", "x", "GET"));
    assert_true(allowed(acl, "domain1", "ns1", "app1", "x", "GET"));
    wdn_acl_free(acl);

    /* "test when no access control policy has been specified" -> no ACL */
    acl = compile_text("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n"
                       "spec:\n  accessControl: {}\n",
                       true);
    assert_null(acl);
    acl = compile_text("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n",
                       true);
    assert_null(acl);

    /* Dapr quirk kept: a trust domain alone (policies key absent) defaults to deny; an
     * explicitly empty policy list defaults to allow. */
    acl = compile_text("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n"
                       "spec:\n  accessControl: {trustDomain: public}\n",
                       true);
    assert_false(allowed(acl, "public", "default", "a", "x", "GET"));
    wdn_acl_free(acl);
    acl = compile_text("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n"
                       "spec:\n  accessControl: {trustDomain: public, policies: []}\n",
                       true);
    assert_true(allowed(acl, "public", "default", "a", "x", "GET"));
    wdn_acl_free(acl);
}

/* The decision says which rule decided, for the log line. */
static void test_decision_detail(void **state)
{
    struct wdn_acl *acl = compile_text(dapr_spec, true);
    struct wdn_acl_caller c = {"domain1", "ns2", "app2"};
    struct wdn_acl_decision d;

    wdn_acl_eval(acl, &c, "PUT", "op3/a/x", 7, &d);
    assert_true(d.allowed);
    assert_int_equal(d.by, WDN_ACL_BY_OPERATION);
    assert_string_equal(d.operation, "/op3/a/*");
    assert_string_equal(d.policy_app_id, "app2");

    wdn_acl_eval(acl, &c, "PUT", "op9", 3, &d);
    assert_false(d.allowed);
    assert_int_equal(d.by, WDN_ACL_BY_APP);
    assert_null(d.operation);

    c.app_id = "nobody";
    wdn_acl_eval(acl, &c, "PUT", "op9", 3, &d);
    assert_int_equal(d.by, WDN_ACL_BY_GLOBAL);
    assert_null(d.policy_app_id);
    wdn_acl_free(acl);
}

/* Dapr's TestNormalizeOperation, with our stricter answers where a path is ambiguous. */
static void test_normalize(void **state)
{
    char out[256];
    struct {
        const char *in;
        int rc;
        const char *out;
    } cases[] = {
        {"path", 0, "/path"},
        {"Path", 0, "/Path"},
        {"/path", 0, "/path"},
        {"///path", 0, "/path"},
        {"path%72", 0, "/pathr"},
        {"path1/path2/path3", 0, "/path1/path2/path3"},
        {"/path1/path2/path3", 0, "/path1/path2/path3"},
        {"a/./b/", 0, "/a/b"},
        {"", 0, "/"},
        {"mcp", 0, "/mcp"},
        /* Dapr strips or resolves these; warden refuses them. */
        {"../path", WDN_EPERM, NULL},
        {"a/../b", WDN_EPERM, NULL},
        {"a/%2e%2E/b", WDN_EPERM, NULL},
        {"a%2Fb", WDN_EPERM, NULL},
        {"a%2fb", WDN_EPERM, NULL},
        {"a%5Cb", WDN_EPERM, NULL},
        {"a\\b", WDN_EPERM, NULL},
        {"a%00b", WDN_EPERM, NULL},
        {"a%0ab", WDN_EPERM, NULL},
        {"a?b", WDN_EPERM, NULL},
        {"a%3Fb", WDN_EPERM, NULL},
        {"a#b", WDN_EPERM, NULL},
        {"a%", WDN_EPERM, NULL},
        {"a%4", WDN_EPERM, NULL},
        {"a%zz", WDN_EPERM, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = wdn_acl_normalize(cases[i].in, strlen(cases[i].in), out, sizeof(out));
        if (rc != cases[i].rc)
            fail_msg("%s: rc %d, want %d", cases[i].in, rc, cases[i].rc);
        if (rc == 0)
            assert_string_equal(out, cases[i].out);
    }
    /* A NUL inside the given length is refused too. */
    assert_int_equal(wdn_acl_normalize("a\0b", 3, out, sizeof(out)), WDN_EPERM);
    assert_int_equal(wdn_acl_normalize("abcdef", 6, out, 4), WDN_ELIMIT);
}

/* A refused path is denied even where everything is allowed. */
static void test_refused_paths_deny(void **state)
{
    struct wdn_acl *acl =
        compile_text("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n"
                     "spec:\n  accessControl:\n    defaultAction: allow\n    policies:\n"
                     "    - appId: a\n      trustDomain: public\n      namespace: default\n"
                     "      operations: [{name: /admin/**, httpVerb: ['*'], action: deny}]\n",
                     true);
    struct wdn_acl_caller c = {"public", "default", "a"};
    struct wdn_acl_decision d;

    assert_false(allowed(acl, "public", "default", "a", "admin/users", "GET"));
    assert_false(allowed(acl, "public", "default", "a", "ADMIN/users", "GET"));
    assert_false(allowed(acl, "public", "default", "a", "//admin//users", "GET"));
    assert_false(allowed(acl, "public", "default", "a", "x/../admin/users", "GET"));
    assert_false(allowed(acl, "public", "default", "a", "admin%2Fusers", "GET"));
    assert_false(allowed(acl, "public", "default", "a", "%61dmin/users", "GET"));
    assert_true(allowed(acl, "public", "default", "a", "public/page", "GET"));
    wdn_acl_eval(acl, &c, "GET", "x/../admin", 10, &d);
    assert_int_equal(d.by, WDN_ACL_BY_INVALID);
    /* Even without any ACL the path must normalise: no, no ACL means Dapr allows all. */
    assert_int_equal(wdn_acl_eval(NULL, &c, "GET", "a", 1, &d), 0);
    assert_true(d.allowed);
    wdn_acl_free(acl);
}

/* The tutorial's Access Policies phase: `configuration create mcp-server-deny
 * --default-action deny --policy mcp-client:deny`. */
static void test_tutorial_deny(void **state)
{
    struct wdn_acl *acl = compile_text(
        "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: mcp-server-deny}\n"
        "spec:\n  accessControl:\n    defaultAction: deny\n    trustDomain: public\n"
        "    policies:\n    - {appId: mcp-client, defaultAction: deny, trustDomain: public, "
        "namespace: default}\n",
        true);
    struct wdn_acl_caller c = {"public", "default", "mcp-client"};
    char msg[256];

    assert_false(allowed(acl, "public", "default", "mcp-client", "mcp", "POST"));
    assert_string_equal(wdn_acl_deny_message(&c, "mcp", "POST", msg, sizeof(msg)),
                        "access control policy has denied access to id: "
                        "spiffe://public/ns/default/mcp-client operation: mcp verb: POST");
    wdn_acl_free(acl);

    acl = compile_text("apiVersion: dapr.io/v1alpha1\nkind: Configuration\n"
                       "metadata: {name: mcp-server-oauth}\nspec:\n  accessControl:\n"
                       "    defaultAction: allow\n",
                       true);
    assert_true(allowed(acl, "public", "default", "mcp-client", "mcp", "POST"));
    assert_true(allowed(acl, NULL, NULL, NULL, "mcp", "POST"));
    wdn_acl_free(acl);
}

/* Dapr's TestWildcardMatch (isMatch), plus the edges of our glob. */
static void test_glob(void **state)
{
    assert_true(wdn_policy_glob("/A*", "/ABC"));
    assert_true(wdn_policy_glob("/A*", "/ABC.a"));
    assert_true(wdn_policy_glob("/*C", "/ABC"));
    assert_true(wdn_policy_glob("/*a", "/ABC.a"));
    assert_true(wdn_policy_glob("/a*d", "/abcd"));
    assert_true(wdn_policy_glob("/AB*.a", "/ABC.a"));
    assert_true(wdn_policy_glob("*", ""));
    assert_true(wdn_policy_glob("get_*", "get_"));
    assert_true(wdn_policy_glob("a*b*c", "aXbYbc"));
    assert_false(wdn_policy_glob("get_*", "set_x"));
    assert_false(wdn_policy_glob("add", "add2"));
    assert_false(wdn_policy_glob("", "a"));
    assert_false(wdn_policy_glob("a*b", "a"));
}

/* ---- MCP tool policy ------------------------------------------------------------------------ */

static struct wdn_tool_policy *mcp_compile(const char *text)
{
    struct wdn_resources *set = wdn_resources_new();
    struct wdn_tool_policy *p = NULL;
    struct wdn_diag d;

    wdn_resources_load_buffer(set, "mcp.yaml", NULL, text, strlen(text));
    assert_int_equal(set->n_errors, 0);
    assert_int_equal(set->n_mcpservers, 1);
    assert_int_equal(wdn_tool_policy_compile(set->mcpservers[0], &p, &d), 0);
    wdn_resources_free(set);
    return p;
}

static const char weather_policy[] =
    "apiVersion: warden.dev/v1alpha1\n"
    "kind: MCPServer\n"
    "metadata: {name: mcp-server}\n"
    "spec:\n"
    "  appId: mcp-server\n"
    "  rules:\n"
    "  - {callers: [mcp-client], tools: [add, echo], action: allow}\n"
    "  - callers: [mcp-client]\n"
    "    tools: ['get_*']\n"
    "    action: allow\n"
    "    requireScopes: ['weather:read']\n"
    "  - {callers: ['*'], tools: ['admin_*'], action: deny}\n"
    "  - {callers: [ops], tools: ['*'], action: allow,\n"
    "     requireClaims: {team: sre}}\n";

static void test_mcp_policy(void **state)
{
    struct wdn_tool_policy *p = mcp_compile(weather_policy);
    struct wdn_tool_decision d;
    const char *scopes[] = {"openid", "weather:read"};
    struct wdn_tool_auth with_scope = {scopes, 2, NULL, 0};
    struct wdn_tool_claim sre[] = {{"team", "dev"}, {"team", "sre"}};
    struct wdn_tool_claim dev[] = {{"team", "dev"}};
    struct wdn_tool_auth ops_sre = {NULL, 0, sre, 2};
    struct wdn_tool_auth ops_dev = {NULL, 0, dev, 1};

    assert_string_equal(wdn_tool_policy_app_id(p), "mcp-server");
    assert_int_equal(wdn_tool_policy_eval(p, "mcp-client", "add", NULL, &d), 0);
    assert_true(d.allowed);
    assert_int_equal(d.rule, 0);
    wdn_tool_policy_eval(p, "mcp-client", "echo", NULL, &d);
    assert_true(d.allowed);
    /* The scope condition: without it the rule does not grant, and the reason says why. */
    wdn_tool_policy_eval(p, "mcp-client", "get_weather_alert", NULL, &d);
    assert_false(d.allowed);
    assert_int_equal(d.rule, -1);
    assert_string_equal(d.reason, "a required scope is missing from the token");
    wdn_tool_policy_eval(p, "mcp-client", "get_weather_alert", &with_scope, &d);
    assert_true(d.allowed);
    assert_int_equal(d.rule, 1);
    /* Deny rules win over any grant, whatever their order. */
    wdn_tool_policy_eval(p, "ops", "admin_reset", &ops_sre, &d);
    assert_false(d.allowed);
    assert_int_equal(d.rule, 2);
    wdn_tool_policy_eval(p, "ops", "add", &ops_sre, &d);
    assert_true(d.allowed);
    assert_int_equal(d.rule, 3);
    wdn_tool_policy_eval(p, "ops", "add", &ops_dev, &d);
    assert_false(d.allowed);
    /* Unknown and missing callers fall to the default: deny. */
    wdn_tool_policy_eval(p, "stranger", "add", NULL, &d);
    assert_false(d.allowed);
    wdn_tool_policy_eval(p, NULL, "add", NULL, &d);
    assert_false(d.allowed);
    wdn_tool_policy_eval(p, "mcp-client", "", NULL, &d);
    assert_false(d.allowed);
    wdn_tool_policy_eval(p, "mcp-client", NULL, NULL, &d);
    assert_false(d.allowed);

    /* Grants decide the proxy's 404 for a caller with none. */
    assert_true(wdn_tool_policy_has_grant(p, "mcp-client", NULL));
    assert_false(wdn_tool_policy_has_grant(p, "stranger", NULL));
    assert_false(wdn_tool_policy_has_grant(p, "ops", &ops_dev));
    assert_true(wdn_tool_policy_has_grant(p, "ops", &ops_sre));

    /* tools/list is filtered to what the caller may call. */
    const char *tools[] = {"add", "get_weather_alert", "echo", "admin_reset"};
    bool keep[4];
    assert_int_equal(wdn_tool_policy_filter(p, "mcp-client", NULL, tools, 4, keep), 2);
    assert_true(keep[0]);
    assert_false(keep[1]);
    assert_true(keep[2]);
    assert_false(keep[3]);
    assert_int_equal(wdn_tool_policy_filter(p, "mcp-client", &with_scope, tools, 4, keep), 3);
    assert_true(keep[1]);
    wdn_tool_policy_free(p);
}

/* Step-up: which scopes would grant a refused tool, and every scope the rules know. */
static void test_mcp_scopes_needed(void **state)
{
    struct wdn_tool_policy *p = mcp_compile(weather_policy);
    const char *out[8];
    const char *scopes[] = {"weather:read"};
    struct wdn_tool_auth with_scope = {scopes, 1, NULL, 0};
    struct wdn_tool_claim dev[] = {{"team", "dev"}};
    struct wdn_tool_auth ops_dev = {NULL, 0, dev, 1};

    assert_int_equal(
        wdn_tool_policy_scopes_needed(p, "mcp-client", "get_weather_alert", NULL, out, 8), 1);
    assert_string_equal(out[0], "weather:read");
    /* Granted already, or refused by a deny rule, or by claims: more scopes do not help. */
    assert_int_equal(
        wdn_tool_policy_scopes_needed(p, "mcp-client", "get_weather_alert", &with_scope, out, 8),
        0);
    assert_int_equal(wdn_tool_policy_scopes_needed(p, "mcp-client", "add", NULL, out, 8), 0);
    assert_int_equal(wdn_tool_policy_scopes_needed(p, "mcp-client", "admin_reset", NULL, out, 8),
                     0);
    assert_int_equal(wdn_tool_policy_scopes_needed(p, "ops", "add", &ops_dev, out, 8), 0);
    assert_int_equal(wdn_tool_policy_scopes_needed(p, "stranger", "get_x", NULL, out, 8), 0);
    /* Any tool (a caller with no grant at all): mcp-client has grants, ops has none by scope. */
    assert_int_equal(wdn_tool_policy_scopes_needed(p, "mcp-client", NULL, NULL, out, 8), 0);
    assert_int_equal(wdn_tool_policy_scopes(p, out, 8), 1);
    assert_string_equal(out[0], "weather:read");
    assert_int_equal(wdn_tool_policy_scopes(p, out, 0), 0);
    wdn_tool_policy_free(p);
}

static void test_mcp_default_allow(void **state)
{
    struct wdn_tool_policy *p =
        mcp_compile("apiVersion: warden.dev/v1alpha1\nkind: MCPServer\n"
                    "metadata: {name: s}\nspec:\n  appId: s\n"
                    "  defaultAction: allow\n  rules:\n"
                    "  - {callers: [untrusted], tools: ['*'], action: deny}\n");
    struct wdn_tool_decision d;

    wdn_tool_policy_eval(p, "anyone", "anything", NULL, &d);
    assert_true(d.allowed);
    wdn_tool_policy_eval(p, NULL, "anything", NULL, &d);
    assert_true(d.allowed);
    wdn_tool_policy_eval(p, "untrusted", "anything", NULL, &d);
    assert_false(d.allowed);
    assert_true(wdn_tool_policy_has_grant(p, "anyone", NULL));
    wdn_tool_policy_free(p);

    /* A new server with no rules: deny-all. */
    p = mcp_compile("apiVersion: warden.dev/v1alpha1\nkind: MCPServer\nmetadata: {name: s}\n"
                    "spec: {appId: s}\n");
    wdn_tool_policy_eval(p, "anyone", "add", NULL, &d);
    assert_false(d.allowed);
    assert_false(wdn_tool_policy_has_grant(p, "anyone", NULL));
    wdn_tool_policy_free(p);
    /* No policy at all: deny. */
    wdn_tool_policy_eval(NULL, "a", "b", NULL, &d);
    assert_false(d.allowed);
}

/* The ACL's limits (issue 18): an operation longer than WDN_POLICY_MAX_OP_BYTES or with more
 * than WDN_POLICY_MAX_SEGMENTS segments is refused by normalisation, and so denied even where
 * everything is allowed; at the limits it is evaluated. A configured operation name over the
 * limit is refused when the ACL is compiled. */
static void test_acl_limits(void **state)
{
    struct wdn_acl *acl =
        compile_text("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n"
                     "spec:\n  accessControl:\n    defaultAction: allow\n",
                     true);
    struct wdn_acl_caller c = {"public", "default", "a"};
    static char op[WDN_POLICY_MAX_OP_BYTES + 2], out[WDN_POLICY_MAX_OP_BYTES + 2];
    struct wdn_acl_decision d;
    size_t n;

    (void)state;
    /* Length: exactly the limit passes, one more byte is refused. */
    memset(op, 'a', WDN_POLICY_MAX_OP_BYTES);
    op[WDN_POLICY_MAX_OP_BYTES] = '\0';
    assert_int_equal(wdn_acl_normalize(op, WDN_POLICY_MAX_OP_BYTES, out, sizeof(out)), 0);
    assert_int_equal(wdn_acl_eval(acl, &c, "GET", op, WDN_POLICY_MAX_OP_BYTES, &d), 0);
    assert_true(d.allowed);
    op[WDN_POLICY_MAX_OP_BYTES] = 'a';
    op[WDN_POLICY_MAX_OP_BYTES + 1] = '\0';
    assert_int_equal(wdn_acl_normalize(op, WDN_POLICY_MAX_OP_BYTES + 1, out, sizeof(out)),
                     WDN_EPERM);
    assert_int_equal(wdn_acl_eval(acl, &c, "GET", op, WDN_POLICY_MAX_OP_BYTES + 1, &d), 0);
    assert_false(d.allowed);
    assert_int_equal(d.by, WDN_ACL_BY_INVALID);
    assert_string_equal(d.reason, "operation refused by normalisation");
    /* Segments: exactly the limit passes (empty and "." segments do not count), one more is
     * refused. */
    n = 0;
    for (int i = 0; i < WDN_POLICY_MAX_SEGMENTS; i++)
        n += (size_t)snprintf(op + n, sizeof(op) - n, "s/./");
    assert_int_equal(wdn_acl_normalize(op, n, out, sizeof(out)), 0);
    assert_int_equal(wdn_acl_eval(acl, &c, "GET", op, n, &d), 0);
    assert_true(d.allowed);
    n += (size_t)snprintf(op + n, sizeof(op) - n, "s");
    assert_int_equal(wdn_acl_normalize(op, n, out, sizeof(out)), WDN_EPERM);
    assert_int_equal(wdn_acl_eval(acl, &c, "GET", op, n, &d), 0);
    assert_false(d.allowed);
    assert_int_equal(d.by, WDN_ACL_BY_INVALID);
    /* No operation at all is refused too. */
    assert_int_equal(wdn_acl_eval(acl, &c, "GET", NULL, 0, &d), 0);
    assert_false(d.allowed);
    assert_int_equal(wdn_acl_eval(acl, &c, "GET", "a", 1, NULL), WDN_EINVAL);
    wdn_acl_free(acl);

    /* A configured operation name over the limit: the Configuration is refused, at its line. */
    {
        char *text = NULL;
        struct wdn_resources *set = wdn_resources_new();
        struct wdn_acl *bad = NULL;
        struct wdn_diag dg;

        memset(op, 'o', WDN_POLICY_MAX_OP_BYTES + 1);
        op[WDN_POLICY_MAX_OP_BYTES + 1] = '\0';
        assert_true(asprintf(&text,
                             "apiVersion: dapr.io/v1alpha1\nkind: Configuration\n"
                             "metadata: {name: c}\nspec:\n  accessControl:\n"
                             "    defaultAction: allow\n    policies:\n    - appId: a\n"
                             "      trustDomain: public\n      namespace: default\n"
                             "      operations:\n      - {name: /%s, action: deny}\n",
                             op) > 0);
        wdn_resources_load_buffer(set, "acl.yaml", NULL, text, strlen(text));
        assert_int_equal(set->n_configurations, 1);
        wdn_diag_clear(&dg);
        assert_int_equal(
            wdn_acl_compile(&set->configurations[0]->spec.access_control, true, &bad, &dg),
            WDN_ECONFIG);
        assert_null(bad);
        if (strstr(dg.msg, "operation without a usable name") == NULL)
            fail_msg("got '%s'", dg.msg);
        assert_int_equal(dg.line, 12);
        wdn_resources_free(set);
        free(text);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dapr_http_cases),     cmocka_unit_test(test_dapr_grpc_cases),
        cmocka_unit_test(test_dapr_parse_defaults), cmocka_unit_test(test_decision_detail),
        cmocka_unit_test(test_normalize),           cmocka_unit_test(test_refused_paths_deny),
        cmocka_unit_test(test_tutorial_deny),       cmocka_unit_test(test_glob),
        cmocka_unit_test(test_mcp_policy),          cmocka_unit_test(test_mcp_default_allow),
        cmocka_unit_test(test_mcp_scopes_needed),   cmocka_unit_test(test_acl_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
