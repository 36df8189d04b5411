/* Edges of src/policy (issue 18): what the ACL compiler refuses on its own when handed a spec
 * the resource loader would have refused (it must fail closed, not trust the loader), trie
 * shapes the Dapr cases do not reach (a node with many children, an operation stored under an
 * existing prefix, a literal '*' segment, a wildcard child without an action), the verbs and
 * caller identities an evaluation can meet, the deny message without a caller, and the MCP
 * tool policy's refusals and step-up edges. Every assertion is about a decision or a message. */
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

/* ---- helpers ------------------------------------------------------------------------------ */

/* Loads text and compiles its access control. With `refused` the loader must refuse the file
 * (a rule Dapr's trie never applies: warden check says so) and the spec it parsed is compiled
 * anyway, to pin down what the trie itself does with it. */
static struct wdn_acl *acl_from_yaml_as(const char *text, bool http, const char *refused)
{
    struct wdn_resources *set = wdn_resources_new();
    struct wdn_acl *acl = NULL;
    struct wdn_diag d;
    char buf[1200];

    assert_non_null(set);
    wdn_resources_load_buffer(set, "acl.yaml", NULL, text, strlen(text));
    if (refused != NULL) {
        bool found = false;
        for (size_t i = 0; i < set->n_msgs; i++)
            found = found ||
                    strstr(wdn_resources_msg_format(&set->msgs[i], buf, sizeof(buf)), refused);
        if (!found)
            fail_msg("the loader did not refuse it with \"%s\"", refused);
    } else if (set->n_errors) {
        for (size_t i = 0; i < set->n_msgs; i++)
            print_error("%s\n", wdn_resources_msg_format(&set->msgs[i], buf, sizeof(buf)));
        fail();
    }
    assert_int_equal(set->n_configurations, 1);
    assert_int_equal(wdn_acl_compile(&set->configurations[0]->spec.access_control, http, &acl, &d),
                     0);
    wdn_resources_free(set);
    return acl;
}

static struct wdn_acl *acl_from_yaml(const char *text, bool http)
{
    return acl_from_yaml_as(text, http, NULL);
}

static struct wdn_acl_decision decide(const struct wdn_acl *acl, const char *td, const char *ns,
                                      const char *app, const char *verb, const char *op)
{
    struct wdn_acl_caller c = {td, ns, app};
    struct wdn_acl_decision d;

    assert_int_equal(wdn_acl_eval(acl, &c, verb, op, strlen(op), &d), 0);
    return d;
}

/* A hand-built policy "a" in public/default with the given operations. */
#define POS(l) {"hand.yaml", (l), 3}

/* ---- ACL compile refusals ------------------------------------------------------------------ */

/* The loader refuses each of these; the compiler refuses them again (not compiled into an ACL
 * that allows something), with the position of the offending item. */
static void test_acl_compile_refuses_bad_specs(void **state)
{
    const char *get[] = {"GET"}, *fetch[] = {"FETCH"};
    struct wdn_res_acl_operation ops_noname[] = {{POS(12), NULL, {get, 1}, "allow"}};
    struct wdn_res_acl_operation ops_verb[] = {{POS(14), "/mcp", {fetch, 1}, "allow"}};
    struct wdn_res_acl_policy pols[2];
    struct wdn_res_access_control spec;
    struct wdn_acl *acl = (struct wdn_acl *)&spec; /* must come back NULL */
    struct wdn_diag d;

    (void)state;
    /* No spec at all: no access control (Dapr), not an error. */
    assert_int_equal(wdn_acl_compile(NULL, true, &acl, &d), 0);
    assert_null(acl);

    /* More policies than WDN_POLICY_MAX_RULES. */
    memset(&spec, 0, sizeof(spec));
    spec.default_action = "allow";
    spec.policies = calloc(WDN_POLICY_MAX_RULES + 1, sizeof(*spec.policies));
    assert_non_null(spec.policies);
    spec.n_policies = WDN_POLICY_MAX_RULES + 1;
    wdn_diag_clear(&d);
    acl = (struct wdn_acl *)&spec;
    assert_int_equal(wdn_acl_compile(&spec, true, &acl, &d), WDN_ECONFIG);
    assert_null(acl);
    assert_string_equal(d.msg, "more than 4096 access control policies");
    free(spec.policies);

    /* Two policies for the same app in the same namespace (Dapr: the last silently wins). */
    memset(pols, 0, sizeof(pols));
    pols[0] = (struct wdn_res_acl_policy){POS(8), "a", "allow", "public", "default", NULL, 0};
    pols[1] = (struct wdn_res_acl_policy){POS(11), "a", "deny", "public", "default", NULL, 0};
    spec = (struct wdn_res_access_control){POS(6), "deny", "public", pols, 2};
    wdn_diag_clear(&d);
    assert_int_equal(wdn_acl_compile(&spec, true, &acl, &d), WDN_ECONFIG);
    assert_null(acl);
    assert_string_equal(d.msg, "a second policy for app \"a\" in namespace \"default\"");
    assert_int_equal(d.line, 11);
    /* ... the same app ID in another namespace is another policy. */
    pols[1].ns = "other";
    assert_int_equal(wdn_acl_compile(&spec, true, &acl, &d), 0);
    assert_non_null(acl);
    assert_true(decide(acl, "public", "default", "a", "GET", "x").allowed);
    assert_false(decide(acl, "public", "other", "a", "GET", "x").allowed);
    wdn_acl_free(acl);

    /* An operation without a name. */
    pols[0].operations = ops_noname;
    pols[0].n_operations = 1;
    spec.n_policies = 1;
    wdn_diag_clear(&d);
    assert_int_equal(wdn_acl_compile(&spec, true, &acl, &d), WDN_ECONFIG);
    assert_null(acl);
    assert_string_equal(d.msg, "operation without a usable name");
    assert_int_equal(d.line, 12);

    /* A verb Dapr does not know. */
    pols[0].operations = ops_verb;
    wdn_diag_clear(&d);
    assert_int_equal(wdn_acl_compile(&spec, true, &acl, &d), WDN_ECONFIG);
    assert_null(acl);
    assert_string_equal(d.msg, "unknown httpVerb \"FETCH\"");
    assert_int_equal(d.line, 14);
    assert_string_equal(d.file, "hand.yaml");
}

/* Dapr's PutOperationAction: of two operations stored at the same node the first wins. The
 * loader refuses such a policy; a hand-built one compiles to the first's decision. */
static void test_acl_first_operation_wins(void **state)
{
    const char *any[] = {"*"};
    struct wdn_res_acl_operation ops[] = {
        {POS(10), "/admin", {any, 1}, "deny"},
        {POS(11), "/ADMIN", {any, 1}, "allow"},
    };
    struct wdn_res_acl_policy pol = {POS(8), "a", "allow", "public", "default", ops, 2};
    struct wdn_res_access_control spec = {POS(6), "allow", "public", &pol, 1};
    struct wdn_acl *acl = NULL;
    struct wdn_acl_decision dd;
    struct wdn_diag d;

    (void)state;
    assert_int_equal(wdn_acl_compile(&spec, true, &acl, &d), 0);
    dd = decide(acl, "public", "default", "a", "GET", "admin");
    assert_false(dd.allowed);
    assert_string_equal(dd.operation, "/admin");
    wdn_acl_free(acl);
}

/* A node with more children than the first allocation holds (the list grows, every child is
 * still found), and an operation stored at a node that an earlier, longer operation created
 * without an action. Dapr's trie returns the first node with an action on the way down, so an
 * operation also decides every path below it: a longer operation under it is never reached. */
static void test_acl_trie_shapes(void **state)
{
    struct wdn_acl *acl = acl_from_yaml_as(
        "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n"
        "spec:\n  accessControl:\n    defaultAction: deny\n    policies:\n"
        "    - appId: a\n      defaultAction: deny\n      trustDomain: public\n"
        "      namespace: default\n      operations:\n"
        "      - {name: /api/one, httpVerb: ['*'], action: allow}\n"
        "      - {name: /api/two, httpVerb: ['*'], action: allow}\n"
        "      - {name: /api/three, httpVerb: ['*'], action: allow}\n"
        "      - {name: /api/four, httpVerb: ['*'], action: allow}\n"
        "      - {name: /api/five, httpVerb: ['*'], action: allow}\n"
        "      - {name: /api/six, httpVerb: ['*'], action: allow}\n"
        "      - {name: /api/seven, httpVerb: ['*'], action: deny}\n"
        "      - {name: /api/six/admin, httpVerb: ['*'], action: deny}\n"
        "      - {name: /v1/items, httpVerb: ['*'], action: deny}\n"
        "      - {name: /v1, httpVerb: [GET], action: allow}\n",
        true, "is never reached: \"/api/six\"");
    static const char *const allowed_ops[] = {"api/one", "api/two",  "api/three",
                                              "api/four", "api/five", "api/six"};
    struct wdn_acl_decision d;

    (void)state;
    for (size_t i = 0; i < sizeof(allowed_ops) / sizeof(allowed_ops[0]); i++) {
        d = decide(acl, "public", "default", "a", "POST", allowed_ops[i]);
        if (!d.allowed || d.by != WDN_ACL_BY_OPERATION)
            fail_msg("%s: allowed %d by %d", allowed_ops[i], d.allowed, d.by);
    }
    d = decide(acl, "public", "default", "a", "POST", "api/seven");
    assert_false(d.allowed);
    assert_string_equal(d.operation, "/api/seven");
    /* /api/six decides api/six/admin: its own deny is never reached (Dapr's trie). */
    d = decide(acl, "public", "default", "a", "POST", "api/six/admin");
    assert_true(d.allowed);
    assert_string_equal(d.operation, "/api/six");
    /* /v1 was stored after /v1/items made its node: it carries its own action, for GET only,
     * and decides the paths below it. */
    d = decide(acl, "public", "default", "a", "GET", "v1");
    assert_true(d.allowed);
    assert_int_equal(d.by, WDN_ACL_BY_OPERATION);
    assert_string_equal(d.operation, "/v1");
    d = decide(acl, "public", "default", "a", "GET", "v1/items");
    assert_true(d.allowed);
    assert_string_equal(d.operation, "/v1");
    d = decide(acl, "public", "default", "a", "DELETE", "v1");
    assert_false(d.allowed);
    assert_string_equal(d.reason, "operation matched, verb not listed: default action");
    wdn_acl_free(acl);
}

/* Dapr's trie takes a one-segment wildcard child (written "/files/STAR") only for the last
 * segment of a path. Before the end it is reached only by a segment that is literally "*", and
 * then the search goes on below it instead of taking its action; so an operation
 * "/jobs/STAR/run" does not decide jobs/7/run (the caller's default does). A wildcard child
 * without an action of its own does not decide its parent's path. */
static void test_acl_wildcard_nodes(void **state)
{
    /* The loader refuses the two operations with a star before the last segment (warden check
     * names them); the trie is fed them by hand to pin down what Dapr's matching does. */
    struct wdn_resources *set = wdn_resources_new();
    const char *text =
        "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n"
        "spec:\n  accessControl:\n    defaultAction: deny\n    policies:\n"
        "    - appId: a\n      defaultAction: allow\n      trustDomain: public\n"
        "      namespace: default\n      operations:\n"
        "      - {name: /files/*, httpVerb: ['*'], action: deny}\n"
        "      - {name: /files/*/public, httpVerb: ['*'], action: allow}\n"
        "      - {name: /jobs/*/run, httpVerb: ['*'], action: deny}\n";
    assert_non_null(set);
    wdn_resources_load_buffer(set, "acl.yaml", NULL, text, strlen(text));
    assert_int_equal(set->n_errors, 2);
    wdn_resources_free(set);

    const char *any[] = {"*"};
    struct wdn_res_acl_operation ops[] = {{POS(13), "/files/*", {any, 1}, "deny"},
                                          {POS(14), "/files/*/public", {any, 1}, "allow"},
                                          {POS(15), "/jobs/*/run", {any, 1}, "deny"}};
    struct wdn_res_acl_policy pol = {POS(8), "a", "allow", "public", "default", ops, 3};
    struct wdn_res_access_control spec = {POS(6), "deny", "public", &pol, 1};
    struct wdn_acl *acl = NULL;
    struct wdn_diag diag;
    assert_int_equal(wdn_acl_compile(&spec, true, &acl, &diag), 0);
    struct wdn_acl_decision d;

    (void)state;
    d = decide(acl, "public", "default", "a", "GET", "files/report");
    assert_false(d.allowed);
    assert_string_equal(d.operation, "/files/*");
    /* "*" as the segment itself: the deeper operation decides. */
    d = decide(acl, "public", "default", "a", "GET", "files/*/public");
    assert_true(d.allowed);
    assert_int_equal(d.by, WDN_ACL_BY_OPERATION);
    assert_string_equal(d.operation, "/files/*/public");
    /* /jobs has only a wildcard child leading to /run: /jobs itself falls to the default. */
    d = decide(acl, "public", "default", "a", "GET", "jobs");
    assert_true(d.allowed);
    assert_int_equal(d.by, WDN_ACL_BY_APP);
    assert_null(d.operation);
    d = decide(acl, "public", "default", "a", "GET", "jobs/7/run");
    assert_true(d.allowed);
    assert_null(d.operation);
    d = decide(acl, "public", "default", "a", "GET", "jobs/*/run");
    assert_false(d.allowed);
    assert_string_equal(d.operation, "/jobs/*/run");
    wdn_acl_free(acl);
}

/* Verbs an evaluation can be handed: an empty verb is "no verb" (the app's default), a verb
 * Dapr does not know and the literal "*" only match an operation's "*" entry. */
static void test_acl_verbs(void **state)
{
    struct wdn_acl *acl = acl_from_yaml(
        "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n"
        "spec:\n  accessControl:\n    defaultAction: allow\n    policies:\n"
        "    - appId: a\n      defaultAction: deny\n      trustDomain: public\n"
        "      namespace: default\n      operations:\n"
        "      - {name: /read, httpVerb: [GET], action: allow}\n"
        "      - {name: /any, httpVerb: ['*'], action: allow}\n",
        true);
    struct wdn_acl_decision d;

    (void)state;
    d = decide(acl, "public", "default", "a", "", "read");
    assert_false(d.allowed);
    assert_int_equal(d.by, WDN_ACL_BY_APP);
    assert_string_equal(d.reason, "operation matched without a verb: caller's policy default");
    d = decide(acl, "public", "default", "a", "BREW", "read");
    assert_false(d.allowed);
    assert_string_equal(d.reason, "operation matched, verb not listed: default action");
    d = decide(acl, "public", "default", "a", "BREW", "any");
    assert_true(d.allowed);
    assert_string_equal(d.reason, "operation action for any verb (*)");
    d = decide(acl, "public", "default", "a", "*", "read");
    assert_false(d.allowed);
    d = decide(acl, "public", "default", "a", "*", "any");
    assert_true(d.allowed);
    assert_int_equal(d.by, WDN_ACL_BY_OPERATION);
    wdn_acl_free(acl);
}

/* A caller identity missing its namespace or trust domain is no identity: the global default
 * applies, never the policy of an app with that name. */
static void test_acl_partial_identity(void **state)
{
    struct wdn_acl *acl = acl_from_yaml(
        "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n"
        "spec:\n  accessControl:\n    defaultAction: deny\n    policies:\n"
        "    - {appId: a, defaultAction: allow, trustDomain: public, namespace: default}\n",
        true);
    struct wdn_acl_decision d;

    (void)state;
    assert_true(decide(acl, "public", "default", "a", "GET", "x").allowed);
    d = decide(acl, "public", NULL, "a", "GET", "x");
    assert_false(d.allowed);
    assert_int_equal(d.by, WDN_ACL_BY_GLOBAL);
    assert_string_equal(d.reason, "no caller identity: global default action");
    d = decide(acl, NULL, "default", "a", "GET", "x");
    assert_false(d.allowed);
    assert_string_equal(d.reason, "no caller identity: global default action");
    wdn_acl_free(acl);
}

/* Normalisation into a buffer too small is WDN_ELIMIT (never a truncated path), and DEL is
 * refused like the other control bytes. */
static void test_acl_normalize_limits(void **state)
{
    char out[8];

    (void)state;
    assert_int_equal(wdn_acl_normalize("a", 1, out, 1), WDN_ELIMIT);
    assert_int_equal(wdn_acl_normalize("a", 1, out, 2), WDN_ELIMIT);
    /* "/a" fits in 3 bytes, the second segment's '/' does not. */
    assert_int_equal(wdn_acl_normalize("a/b", 3, out, 3), WDN_ELIMIT);
    assert_int_equal(wdn_acl_normalize("a/b", 3, out, 5), 0);
    assert_string_equal(out, "/a/b");
    assert_int_equal(wdn_acl_normalize("a\x7f", 2, out, sizeof(out)), WDN_EPERM);
    assert_int_equal(wdn_acl_normalize("a%7F", 4, out, sizeof(out)), WDN_EPERM);
}

/* Dapr's message, whatever is missing. */
static void test_acl_deny_message(void **state)
{
    struct wdn_acl_caller partial = {NULL, NULL, "a"};
    char buf[256];

    (void)state;
    assert_string_equal(wdn_acl_deny_message(NULL, "mcp", "POST", buf, sizeof(buf)),
                        "access control policy has denied access to id:  operation: mcp verb: POST");
    assert_string_equal(wdn_acl_deny_message(NULL, NULL, NULL, buf, sizeof(buf)),
                        "access control policy has denied access to id:  operation:  verb: NONE");
    assert_string_equal(wdn_acl_deny_message(&partial, NULL, "", buf, sizeof(buf)),
                        "access control policy has denied access to id: spiffe:///ns//a "
                        "operation:  verb: NONE");
}

/* ---- MCP tool policy ------------------------------------------------------------------------ */

static struct wdn_tool_policy *mcp_from_yaml(const char *text)
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

/* What the compiler refuses by itself (the loader refuses these too). */
static void test_mcp_compile_refusals(void **state)
{
    const char *callers[] = {"c"}, *tools[] = {"t"}, *scopes[] = {"s"};
    struct wdn_res_kv claim = {POS(10), "team", "sre"};
    struct wdn_res_mcp_rule rule = {POS(9), {callers, 1}, {tools, 1}, "deny", {scopes, 1},
                                    {NULL, 0}};
    struct wdn_res_mcpserver srv;
    struct wdn_tool_policy *p = (struct wdn_tool_policy *)&srv;
    struct wdn_tool_decision td;
    struct wdn_diag d;

    (void)state;
    wdn_diag_clear(&d);
    assert_int_equal(wdn_tool_policy_compile(NULL, &p, &d), WDN_EINVAL);
    assert_null(p);
    assert_string_equal(d.msg, "no MCPServer");

    memset(&srv, 0, sizeof(srv));
    srv.pos = (struct wdn_res_pos)POS(1);
    srv.spec.app_id = "s";
    srv.spec.n_rules = WDN_POLICY_MAX_RULES + 1;
    wdn_diag_clear(&d);
    assert_int_equal(wdn_tool_policy_compile(&srv, &p, &d), WDN_ECONFIG);
    assert_null(p);
    assert_string_equal(d.msg, "more than 4096 rules");
    assert_int_equal(d.line, 1);

    /* A deny rule with conditions: a condition cannot make a deny narrower safely. */
    srv.spec.rules = &rule;
    srv.spec.n_rules = 1;
    wdn_diag_clear(&d);
    assert_int_equal(wdn_tool_policy_compile(&srv, &p, &d), WDN_ECONFIG);
    assert_null(p);
    assert_string_equal(d.msg, "requireScopes/requireClaims apply to allow rules only");
    assert_int_equal(d.line, 9);
    rule.require_scopes.n = 0;
    rule.require_claims = (struct wdn_res_map){&claim, 1};
    assert_int_equal(wdn_tool_policy_compile(&srv, &p, &d), WDN_ECONFIG);
    assert_null(p);

    /* No defaultAction given (NULL): deny-by-default. */
    rule.require_claims.n = 0;
    assert_int_equal(wdn_tool_policy_compile(&srv, &p, &d), 0);
    assert_int_equal(wdn_tool_policy_eval(p, "other", "x", NULL, &td), 0);
    assert_false(td.allowed);
    assert_string_equal(td.reason, "no rule grants it: denied");
    wdn_tool_policy_eval(p, "c", "t", NULL, &td);
    assert_false(td.allowed);
    assert_int_equal(td.rule, 0);
    assert_int_equal(wdn_tool_policy_eval(p, "c", "t", NULL, NULL), WDN_EINVAL);
    wdn_tool_policy_free(p);
}

/* No policy, an empty caller, token parts without a name or value: nothing is granted. */
static void test_mcp_missing_parts(void **state)
{
    struct wdn_tool_policy *p =
        mcp_from_yaml("apiVersion: warden.dev/v1alpha1\nkind: MCPServer\nmetadata: {name: s}\n"
                      "spec:\n  appId: s\n  rules:\n"
                      "  - {callers: [c], tools: ['*'], action: allow, requireScopes: [s1],\n"
                      "     requireClaims: {team: sre}}\n");
    const char *scopes_null[] = {NULL, "s1"};
    struct wdn_tool_claim claims_null[] = {{NULL, "sre"}, {"team", NULL}, {"team", "sre"}};
    struct wdn_tool_claim claims_bad[] = {{NULL, "sre"}, {"team", NULL}};
    struct wdn_tool_auth ok = {scopes_null, 2, claims_null, 3};
    struct wdn_tool_auth no_claim = {scopes_null, 2, claims_bad, 2};
    struct wdn_tool_decision td;
    const char *out[4];

    (void)state;
    assert_null(wdn_tool_policy_app_id(NULL));
    assert_false(wdn_tool_policy_has_grant(NULL, "c", &ok));
    assert_int_equal(wdn_tool_policy_scopes_needed(NULL, "c", "t", NULL, out, 4), 0);
    assert_int_equal(wdn_tool_policy_scopes(NULL, out, 4), 0);

    /* The NULL entries are skipped, the good ones count. */
    wdn_tool_policy_eval(p, "c", "t", &ok, &td);
    assert_true(td.allowed);
    wdn_tool_policy_eval(p, "c", "t", &no_claim, &td);
    assert_false(td.allowed);
    assert_string_equal(td.reason, "a required claim is missing from the token or has another "
                                   "value");
    /* An empty caller never matches, not even "*"-free rules by accident. */
    wdn_tool_policy_eval(p, "", "t", &ok, &td);
    assert_false(td.allowed);
    assert_false(wdn_tool_policy_has_grant(p, "", &ok));
    wdn_tool_policy_free(p);
}

/* Step-up edges: a deny rule for another tool does not stop it; a rule whose claims the token
 * does not meet is no step-up; the answer is cut at cap; scopes_supported lists each scope once
 * and stops at cap. */
static void test_mcp_step_up_edges(void **state)
{
    struct wdn_tool_policy *p =
        mcp_from_yaml("apiVersion: warden.dev/v1alpha1\nkind: MCPServer\nmetadata: {name: s}\n"
                      "spec:\n  appId: s\n  rules:\n"
                      "  - {callers: [c], tools: [admin], action: deny}\n"
                      "  - {callers: [c], tools: ['get_*'], action: allow,\n"
                      "     requireScopes: [r1, r2, r3]}\n"
                      "  - {callers: [c], tools: ['set_*'], action: allow,\n"
                      "     requireScopes: [w1, r1], requireClaims: {team: sre}}\n"
                      "  - {callers: [d], tools: ['*'], action: allow, requireScopes: [r2]}\n");
    struct wdn_tool_claim dev[] = {{"team", "dev"}};
    struct wdn_tool_auth as_dev = {NULL, 0, dev, 1};
    const char *out[8];

    (void)state;
    /* cap 2 of three needed scopes. */
    assert_int_equal(wdn_tool_policy_scopes_needed(p, "c", "get_x", NULL, out, 2), 2);
    assert_string_equal(out[0], "r1");
    assert_string_equal(out[1], "r2");
    assert_int_equal(wdn_tool_policy_scopes_needed(p, "c", "get_x", NULL, out, 8), 3);
    assert_string_equal(out[2], "r3");
    /* set_*: the token's claims do not meet the rule: more scopes would not help. */
    assert_int_equal(wdn_tool_policy_scopes_needed(p, "c", "set_x", &as_dev, out, 8), 0);
    /* The deny rule is for admin only. */
    assert_int_equal(wdn_tool_policy_scopes_needed(p, "c", "admin", NULL, out, 8), 0);
    /* Every scope once (r1 and r2 repeat), in rule order; cut at cap. */
    assert_int_equal(wdn_tool_policy_scopes(p, out, 8), 4);
    assert_string_equal(out[0], "r1");
    assert_string_equal(out[1], "r2");
    assert_string_equal(out[2], "r3");
    assert_string_equal(out[3], "w1");
    assert_int_equal(wdn_tool_policy_scopes(p, out, 2), 2);
    assert_string_equal(out[1], "r2");
    wdn_tool_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_compile_refuses_bad_specs),
        cmocka_unit_test(test_acl_first_operation_wins),
        cmocka_unit_test(test_acl_trie_shapes),
        cmocka_unit_test(test_acl_wildcard_nodes),
        cmocka_unit_test(test_acl_verbs),
        cmocka_unit_test(test_acl_partial_identity),
        cmocka_unit_test(test_acl_normalize_limits),
        cmocka_unit_test(test_acl_deny_message),
        cmocka_unit_test(test_mcp_compile_refusals),
        cmocka_unit_test(test_mcp_missing_parts),
        cmocka_unit_test(test_mcp_step_up_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
