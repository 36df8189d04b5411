/* The per-tool MCP access policy (kind MCPServer): which caller app may call which tool, with
 * optional token scope and claim conditions. Deny rules win, then grants, then defaultAction. */
#include "policy/policy.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/limits.h"

struct mcp_rule {
    const char **callers;
    size_t n_callers;
    const char **tools;
    size_t n_tools;
    bool allow;
    const char **scopes;
    size_t n_scopes;
    const char **claim_names;
    const char **claim_values;
    size_t n_claims;
};

struct wdn_tool_policy {
    struct wdn_arena arena;
    const char *app_id;
    bool default_allow;
    struct mcp_rule *rules;
    size_t n_rules;
};

static const char **copy_list(struct wdn_arena *a, const char *const *v, size_t n)
{
    const char **out = wdn_arena_calloc(a, (n ? n : 1) * sizeof(*out));

    for (size_t i = 0; out && i < n; i++) {
        out[i] = wdn_arena_strdup(a, wdn_str_from_cstr(v[i]));
        if (out[i] == NULL)
            return NULL;
    }
    return out;
}

int wdn_tool_policy_compile(const struct wdn_res_mcpserver *srv, struct wdn_tool_policy **out,
                            struct wdn_diag *diag)
{
    const struct wdn_res_mcpserver_spec *spec;
    struct wdn_tool_policy *p = NULL;
    int rc = WDN_ENOMEM;

    *out = NULL;
    if (srv == NULL)
        return wdn_diag_set(diag, WDN_EINVAL, "no MCPServer");
    spec = &srv->spec;
    if (spec->app_id == NULL)
        return wdn_diag_set_at(diag, WDN_ECONFIG, srv->pos.file, srv->pos.line, srv->pos.col,
                               "MCPServer without spec.appId");
    if (spec->n_rules > WDN_POLICY_MAX_RULES)
        return wdn_diag_set_at(diag, WDN_ECONFIG, srv->pos.file, srv->pos.line, srv->pos.col,
                               "more than %u rules", WDN_POLICY_MAX_RULES);
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        goto out;
    wdn_arena_init(&p->arena, 8192, 0);
    p->app_id = wdn_arena_strdup(&p->arena, wdn_str_from_cstr(spec->app_id));
    /* Anything but an explicit allow is deny: the kind is deny-by-default. */
    p->default_allow = spec->default_action && strcmp(spec->default_action, "allow") == 0;
    p->rules = wdn_arena_calloc(&p->arena, (spec->n_rules ? spec->n_rules : 1) * sizeof(*p->rules));
    if (p->app_id == NULL || p->rules == NULL)
        goto out;
    for (size_t i = 0; i < spec->n_rules; i++) {
        const struct wdn_res_mcp_rule *rs = &spec->rules[i];
        struct mcp_rule *r = &p->rules[i];

        if (rs->action == NULL || rs->callers.n == 0 || rs->tools.n == 0) {
            rc = wdn_diag_set_at(diag, WDN_ECONFIG, rs->pos.file, rs->pos.line, rs->pos.col,
                                 "rule needs callers, tools and action");
            goto out;
        }
        r->allow = strcmp(rs->action, "allow") == 0;
        if (!r->allow && (rs->require_scopes.n || rs->require_claims.n)) {
            rc = wdn_diag_set_at(diag, WDN_ECONFIG, rs->pos.file, rs->pos.line, rs->pos.col,
                                 "requireScopes/requireClaims apply to allow rules only");
            goto out;
        }
        r->callers = copy_list(&p->arena, rs->callers.v, rs->callers.n);
        r->n_callers = rs->callers.n;
        r->tools = copy_list(&p->arena, rs->tools.v, rs->tools.n);
        r->n_tools = rs->tools.n;
        r->scopes = copy_list(&p->arena, rs->require_scopes.v, rs->require_scopes.n);
        r->n_scopes = rs->require_scopes.n;
        r->claim_names = wdn_arena_calloc(&p->arena, (rs->require_claims.n + 1) * sizeof(char *));
        r->claim_values = wdn_arena_calloc(&p->arena, (rs->require_claims.n + 1) * sizeof(char *));
        if (!r->callers || !r->tools || !r->scopes || !r->claim_names || !r->claim_values)
            goto out;
        for (size_t k = 0; k < rs->require_claims.n; k++) {
            r->claim_names[k] =
                wdn_arena_strdup(&p->arena, wdn_str_from_cstr(rs->require_claims.v[k].name));
            r->claim_values[k] =
                wdn_arena_strdup(&p->arena, wdn_str_from_cstr(rs->require_claims.v[k].value));
            if (!r->claim_names[k] || !r->claim_values[k])
                goto out;
        }
        r->n_claims = rs->require_claims.n;
        p->n_rules++;
    }
    *out = p;
    p = NULL;
    rc = 0;
out:
    if (p) {
        wdn_arena_reset(&p->arena);
        free(p);
    }
    if (rc == WDN_ENOMEM)
        wdn_diag_set(diag, rc, "out of memory compiling the MCP policy");
    return rc;
}

void wdn_tool_policy_free(struct wdn_tool_policy *p)
{
    if (p == NULL)
        return;
    wdn_arena_reset(&p->arena);
    free(p);
}

const char *wdn_tool_policy_app_id(const struct wdn_tool_policy *p)
{
    return p ? p->app_id : NULL;
}

static bool caller_matches(const struct mcp_rule *r, const char *caller)
{
    if (caller == NULL || caller[0] == '\0')
        return false;
    for (size_t i = 0; i < r->n_callers; i++) {
        if (strcmp(r->callers[i], "*") == 0 || strcmp(r->callers[i], caller) == 0)
            return true;
    }
    return false;
}

static bool tool_matches(const struct mcp_rule *r, const char *tool)
{
    if (tool == NULL || tool[0] == '\0')
        return false;
    for (size_t i = 0; i < r->n_tools; i++) {
        if (wdn_policy_glob(r->tools[i], tool))
            return true;
    }
    return false;
}

static bool scopes_met(const struct mcp_rule *r, const struct wdn_tool_auth *auth)
{
    for (size_t i = 0; i < r->n_scopes; i++) {
        bool found = false;
        for (size_t j = 0; auth && j < auth->n_scopes && !found; j++)
            found = auth->scopes[j] && strcmp(auth->scopes[j], r->scopes[i]) == 0;
        if (!found)
            return false;
    }
    return true;
}

/* Every required claim equal to one of the token's values for that claim. */
static bool claims_met(const struct mcp_rule *r, const struct wdn_tool_auth *auth)
{
    for (size_t i = 0; i < r->n_claims; i++) {
        bool found = false;
        for (size_t j = 0; auth && j < auth->n_claims && !found; j++) {
            const struct wdn_tool_claim *c = &auth->claims[j];
            found = c->name && c->value && strcmp(c->name, r->claim_names[i]) == 0 &&
                    strcmp(c->value, r->claim_values[i]) == 0;
        }
        if (!found)
            return false;
    }
    return true;
}

/* Every required scope present and every required claim equal to one of the token's values. */
static bool conditions_met(const struct mcp_rule *r, const struct wdn_tool_auth *auth,
                           const char **why)
{
    if (!scopes_met(r, auth)) {
        *why = "a required scope is missing from the token";
        return false;
    }
    if (!claims_met(r, auth)) {
        *why = "a required claim is missing from the token or has another value";
        return false;
    }
    return true;
}

int wdn_tool_policy_eval(const struct wdn_tool_policy *p, const char *caller, const char *tool,
                         const struct wdn_tool_auth *auth, struct wdn_tool_decision *out)
{
    const char *why = NULL;

    if (out == NULL)
        return WDN_EINVAL;
    out->allowed = false;
    out->rule = -1;
    out->reason = "no policy: denied";
    if (p == NULL)
        return 0;
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct mcp_rule *r = &p->rules[i];
        if (!r->allow && caller_matches(r, caller) && tool_matches(r, tool)) {
            out->rule = (int)i;
            out->reason = "denied by rule";
            return 0;
        }
    }
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct mcp_rule *r = &p->rules[i];
        if (r->allow && caller_matches(r, caller) && tool_matches(r, tool)) {
            if (conditions_met(r, auth, &why)) {
                out->allowed = true;
                out->rule = (int)i;
                out->reason = "allowed by rule";
                return 0;
            }
        }
    }
    out->allowed = p->default_allow;
    if (why)
        out->reason = why;
    else
        out->reason = p->default_allow ? "default action allow" : "no rule grants it: denied";
    return 0;
}

bool wdn_tool_policy_has_grant(const struct wdn_tool_policy *p, const char *caller,
                               const struct wdn_tool_auth *auth)
{
    const char *why;

    if (p == NULL)
        return false;
    if (p->default_allow)
        return true;
    for (size_t i = 0; i < p->n_rules; i++) {
        const struct mcp_rule *r = &p->rules[i];
        if (r->allow && caller_matches(r, caller) && conditions_met(r, auth, &why))
            return true;
    }
    return false;
}

size_t wdn_tool_policy_filter(const struct wdn_tool_policy *p, const char *caller,
                              const struct wdn_tool_auth *auth, const char *const *tools, size_t n,
                              bool *keep)
{
    size_t kept = 0;

    for (size_t i = 0; i < n; i++) {
        struct wdn_tool_decision d;
        wdn_tool_policy_eval(p, caller, tools[i], auth, &d);
        keep[i] = d.allowed;
        kept += d.allowed;
    }
    return kept;
}

size_t wdn_tool_policy_scopes_needed(const struct wdn_tool_policy *p, const char *caller,
                                     const char *tool, const struct wdn_tool_auth *auth,
                                     const char **out, size_t cap)
{
    const struct mcp_rule *found = NULL;
    size_t n = 0;

    if (p == NULL)
        return 0;
    for (size_t i = 0; tool && i < p->n_rules; i++) {
        const struct mcp_rule *r = &p->rules[i];
        if (!r->allow && caller_matches(r, caller) && tool_matches(r, tool))
            return 0; /* denied whatever the token holds */
    }
    for (size_t i = 0; i < p->n_rules && found == NULL; i++) {
        const struct mcp_rule *r = &p->rules[i];
        if (!r->allow || !caller_matches(r, caller) || (tool && !tool_matches(r, tool)))
            continue;
        if (scopes_met(r, auth) && claims_met(r, auth))
            return 0; /* granted already: not a scope problem */
        if (r->n_scopes > 0 && claims_met(r, auth))
            found = r;
    }
    for (size_t i = 0; found && i < found->n_scopes && n < cap; i++)
        out[n++] = found->scopes[i];
    return n;
}

size_t wdn_tool_policy_scopes(const struct wdn_tool_policy *p, const char **out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; p && i < p->n_rules; i++) {
        const struct mcp_rule *r = &p->rules[i];
        for (size_t k = 0; k < r->n_scopes; k++) {
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++)
                seen = strcmp(out[j], r->scopes[k]) == 0;
            if (!seen && n < cap)
                out[n++] = r->scopes[k];
        }
    }
    return n;
}
