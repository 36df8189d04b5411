/* Fuzz target: the YAML resource loader (src/resources) on any bytes, then the cross-resource
 * checks and the policy compilers. Invariants: the message list respects its cap and counters,
 * every located message has a 1-based line and column, and a set the loader accepted without
 * errors always compiles (the loader promises what the compilers rely on). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "policy/policy.h"
#include "resources/resources.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn_resources *set = wdn_resources_new();
    struct wdn_diag d;

    if (set == NULL)
        return 0;
    wdn_resources_load_buffer(set, "f.yaml", "/nonexistent", (const char *)data, size);
    bool clean = set->n_errors == 0;
    wdn_resources_validate(set, "mcp-server");
    for (size_t i = 0; i < set->n_configurations; i++)
        wdn_resources_check_pipeline(set, set->configurations[i], "mcp-client");

    CHECK(set->n_msgs <= WDN_RES_MAX_ERRORS);
    CHECK(set->n_msgs <= set->n_errors + set->n_warnings);
    CHECK(set->truncated || set->n_msgs == set->n_errors + set->n_warnings);
    for (size_t i = 0; i < set->n_msgs; i++) {
        const struct wdn_res_msg *m = &set->msgs[i];
        char buf[1200];
        CHECK(m->d.line == 0 || m->d.col >= 1);
        CHECK(wdn_resources_msg_format(m, buf, sizeof(buf)) == buf);
    }

    for (size_t i = 0; i < set->n_configurations; i++) {
        const struct wdn_res_configuration *cfg = set->configurations[i];
        struct wdn_acl *acl = NULL;
        int rc = wdn_acl_compile(&cfg->spec.access_control, (size & 1) == 0, &acl, &d);
        CHECK(!clean || rc == 0);
        for (size_t p = 0; acl && p < cfg->spec.access_control.n_policies; p++) {
            const struct wdn_res_acl_policy *pol = &cfg->spec.access_control.policies[p];
            struct wdn_acl_caller c = {pol->trust_domain, pol->ns, pol->app_id};
            for (size_t o = 0; o < pol->n_operations; o++) {
                const char *op = pol->operations[o].name;
                struct wdn_acl_decision a, b;
                if (op == NULL)
                    continue;
                CHECK(wdn_acl_eval(acl, &c, "POST", op, strlen(op), &a) == 0);
                CHECK(wdn_acl_eval(acl, &c, "POST", op, strlen(op), &b) == 0);
                CHECK(a.allowed == b.allowed && a.by == b.by);
            }
        }
        wdn_acl_free(acl);
    }
    for (size_t i = 0; i < set->n_mcpservers; i++) {
        const struct wdn_res_mcpserver *srv = set->mcpservers[i];
        struct wdn_tool_policy *p = NULL;
        int rc = wdn_tool_policy_compile(srv, &p, &d);
        CHECK(!clean || rc == 0);
        for (size_t r = 0; p && r < srv->spec.n_rules; r++) {
            const struct wdn_res_mcp_rule *rule = &srv->spec.rules[r];
            for (size_t t = 0; t < rule->tools.n && rule->callers.n; t++) {
                struct wdn_tool_decision dec;
                CHECK(wdn_tool_policy_eval(p, rule->callers.v[0], rule->tools.v[t], NULL, &dec) ==
                      0);
                /* A deny rule that names the caller and the tool always wins. */
                if (rule->action && strcmp(rule->action, "deny") == 0 &&
                    strcmp(rule->callers.v[0], "*") != 0 && strchr(rule->tools.v[t], '*') == NULL)
                    CHECK(!dec.allowed);
            }
        }
        wdn_tool_policy_free(p);
    }
    wdn_resources_free(set);
    return 0;
}
