/* `warden mcpserver access`: per-tool grants on an MCP server (kind MCPServer), stored in the
 * project like any resource, so a running sidecar applies them live; `test` evaluates a call
 * locally with the same policy code the sidecar enforces with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/json_dump.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "cli/validate.h"
#include "cli/wait.h"
#include "policy/policy.h"
#include "project/project.h"
#include "project/store.h"
#include "resources/resources.h"

#define MAX_RULES 256
#define MAX_TOOLS 128

static const char mcpserver_usage[] =
    "Usage: warden mcpserver access <grant|revoke|get|list|test> [SERVER] [options]\n"
    "\n"
    "Who may call which tool of an MCP server. A server's policy denies by default; grants\n"
    "add allow rules; a running sidecar applies changes live.\n"
    "\n"
    "  access grant SERVER --caller APP|'*' --allow-tools T1,T2|'*' [--app-id APP]\n"
    "      allow the caller those tools (creates the MCPServer, guarding app ID --app-id,\n"
    "      default SERVER, when it does not exist)\n"
    "  access revoke SERVER --caller APP|'*' (--allow-tools T1,T2 | --all) [--yes]\n"
    "  access get SERVER [-o json|yaml]   print the MCPServer (YAML as stored, or JSON)\n"
    "  access list [-o json|yaml]    servers with their app ID and rule count\n"
    "  access test SERVER --caller APP --tool T [--scope S ...]\n"
    "      evaluate locally: prints ALLOWED or DENIED (exit 0 or 1)\n"
    "\n"
    "Common options: --project P (default: WARDEN_PROJECT, then 'warden project use').\n"
    "grant and revoke wait for the running sidecars to apply the change (5 s at most;\n"
    "WARDEN_WAIT_TIMEOUT=SECS) and print 'applied to APP (generation N)' or the sidecar's\n"
    "error (exit 1); --no-wait skips that.\n";

/* A rule as the CLI edits it. */
struct rule {
    json_t *callers, *tools, *scopes, *claims; /* arrays of strings; claims: object */
    char action[8];
};

struct server {
    char name[256], app_id[128], default_action[8], url[1024];
    struct rule rules[MAX_RULES];
    size_t n;
};

static json_t *strlist(const struct wdn_res_strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->v[i]));
    return a;
}

static void server_free(struct server *s)
{
    for (size_t i = 0; i < s->n; i++) {
        json_decref(s->rules[i].callers);
        json_decref(s->rules[i].tools);
        json_decref(s->rules[i].scopes);
        json_decref(s->rules[i].claims);
    }
    s->n = 0;
}

/* Loads SERVER from the store into s. WDN_ENOTFOUND when it does not exist. */
static int server_load(const char *project, const char *name, struct server *s)
{
    struct wdn_buf b;
    struct wdn_resources *set;
    int rc = wdn_store_get_resource(project, WDN_KIND_MCPSERVER, name, &b);

    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->default_action, sizeof(s->default_action), "deny");
    if (rc)
        return WDN_ENOTFOUND;
    set = wdn_resources_new();
    if (set == NULL || wdn_resources_load_buffer(set, name, NULL, b.data, b.len) != 0 ||
        set->n_mcpservers != 1) {
        wdn_resources_free(set);
        wdn_buf_reset(&b);
        return WDN_ECONFIG;
    }
    const struct wdn_res_mcpserver *m = set->mcpservers[0];
    snprintf(s->app_id, sizeof(s->app_id), "%s", m->spec.app_id ? m->spec.app_id : name);
    if (m->spec.default_action)
        snprintf(s->default_action, sizeof(s->default_action), "%s", m->spec.default_action);
    if (m->spec.endpoint.streamable_http.url)
        snprintf(s->url, sizeof(s->url), "%s", m->spec.endpoint.streamable_http.url);
    for (size_t i = 0; i < m->spec.n_rules && s->n < MAX_RULES; i++) {
        const struct wdn_res_mcp_rule *r = &m->spec.rules[i];
        struct rule *o = &s->rules[s->n++];
        o->callers = strlist(&r->callers);
        o->tools = strlist(&r->tools);
        o->scopes = strlist(&r->require_scopes);
        o->claims = json_object();
        for (size_t k = 0; k < r->require_claims.n; k++)
            json_object_set_new(o->claims, r->require_claims.v[k].name,
                                json_string(r->require_claims.v[k].value));
        snprintf(o->action, sizeof(o->action), "%s", r->action ? r->action : "allow");
    }
    wdn_resources_free(set);
    wdn_buf_reset(&b);
    return 0;
}

/* Appends a YAML flow sequence of JSON-quoted strings (valid YAML for any string). */
static void yaml_list(struct wdn_buf *y, json_t *a)
{
    size_t i;
    json_t *v;
    wdn_buf_append_cstr(y, "[");
    json_array_foreach (a, i, v) {
        char *q = wdn_json_dumps(v, JSON_ENCODE_ANY);
        wdn_buf_printf(y, "%s%s", i ? ", " : "", q ? q : "\"\"");
        free(q);
    }
    wdn_buf_append_cstr(y, "]");
}

static int server_yaml(const struct server *s, struct wdn_buf *y)
{
    wdn_buf_init(y, 1 << 20);
    wdn_buf_printf(y,
                   "apiVersion: warden.dev/v1alpha1\n"
                   "kind: MCPServer\n"
                   "metadata:\n"
                   "  name: %s\n"
                   "spec:\n"
                   "  appId: \"%s\"\n"
                   "  defaultAction: %s\n",
                   s->name, s->app_id, s->default_action);
    if (s->url[0])
        wdn_buf_printf(y, "  endpoint:\n    streamableHTTP:\n      url: \"%s\"\n", s->url);
    wdn_buf_append_cstr(y, s->n ? "  rules:\n" : "  rules: []\n");
    for (size_t i = 0; i < s->n; i++) {
        const struct rule *r = &s->rules[i];
        wdn_buf_append_cstr(y, "  - callers: ");
        yaml_list(y, r->callers);
        wdn_buf_append_cstr(y, "\n    tools: ");
        yaml_list(y, r->tools);
        wdn_buf_printf(y, "\n    action: %s\n", r->action);
        if (json_array_size(r->scopes)) {
            wdn_buf_append_cstr(y, "    requireScopes: ");
            yaml_list(y, r->scopes);
            wdn_buf_append_cstr(y, "\n");
        }
        if (json_object_size(r->claims)) {
            char *q = wdn_json_dumps(r->claims, JSON_COMPACT | JSON_SORT_KEYS);
            wdn_buf_printf(y, "    requireClaims: %s\n", q ? q : "{}");
            free(q);
        }
    }
    return wdn_buf_cstr(y) ? 0 : WDN_ENOMEM;
}

/* Stores s (checked first); w notes the running sidecars before the write (wdn_cli_wait_end
 * after the caller has said what it did). */
static int server_save(const char *project, const struct server *s, struct wdn_cli_wait *w)
{
    struct wdn_buf y;
    enum wdn_store_change ch;
    int fd = -1, rc = server_yaml(s, &y);

    /* What we store must pass what the sidecars will check. */
    if (rc == 0) {
        struct wdn_cli_change chg = {WDN_KIND_MCPSERVER, s->name, y.data, y.len, NULL, NULL};
        if (wdn_cli_check_change("mcpserver", project, &chg) != 0)
            rc = WDN_ECONFIG;
    }
    if (rc == 0)
        rc = wdn_project_lock(project, &fd);
    if (rc == 0) {
        wdn_cli_wait_begin(w, project);
        rc = wdn_store_put_resource(project, WDN_KIND_MCPSERVER, s->name, y.data, y.len, &ch);
    }
    wdn_project_unlock(fd);
    wdn_buf_reset(&y);
    return rc;
}

/* Splits "a,b,c" into a JSON array (empty items dropped). */
static json_t *split_csv(const char *csv)
{
    json_t *a = json_array();
    const char *p = csv;
    while (p && *p) {
        size_t n = strcspn(p, ",");
        if (n)
            json_array_append_new(a, json_stringn(p, n));
        p += n;
        if (*p == ',')
            p++;
    }
    return a;
}

static int array_has(json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (a, i, v) {
        if (strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

/* The plain allow rule of exactly this caller (no conditions), or NULL. */
static struct rule *caller_rule(struct server *s, const char *caller)
{
    for (size_t i = 0; i < s->n; i++) {
        struct rule *r = &s->rules[i];
        if (strcmp(r->action, "allow") == 0 && json_array_size(r->callers) == 1 &&
            array_has(r->callers, caller) && json_array_size(r->scopes) == 0 &&
            json_object_size(r->claims) == 0)
            return r;
    }
    return NULL;
}

static int grant_tools(const char *project, struct server *s, const char *caller, const char *tools,
                       bool no_wait)
{
    struct wdn_cli_wait w = {0};
    json_t *list = split_csv(tools);
    struct rule *r = caller_rule(s, caller);
    size_t i;
    json_t *t;

    if (json_array_size(list) == 0) {
        json_decref(list);
        wdn_cli_err("mcpserver", "--allow-tools needs at least one tool name or '*'");
        return WDN_CLI_USAGE;
    }
    if (r == NULL) {
        if (s->n == MAX_RULES) {
            json_decref(list);
            wdn_cli_err("mcpserver", "too many rules (at most %d)", MAX_RULES);
            return WDN_CLI_FAIL;
        }
        r = &s->rules[s->n++];
        r->callers = json_pack("[s]", caller);
        r->tools = json_array();
        r->scopes = json_array();
        r->claims = json_object();
        snprintf(r->action, sizeof(r->action), "allow");
    }
    json_array_foreach (list, i, t) {
        if (!array_has(r->tools, json_string_value(t)))
            json_array_append(r->tools, t);
    }
    json_decref(list);
    if (server_save(project, s, &w) != 0) {
        wdn_cli_wait_end(&w, "mcpserver", true);
        wdn_cli_err("mcpserver", "cannot store mcpserver '%s'", s->name);
        return WDN_CLI_FAIL;
    }
    printf("mcpserver/%s: %s may call %s\n", s->name, caller, tools);
    return wdn_cli_wait_end(&w, "mcpserver", no_wait) ? WDN_CLI_FAIL : WDN_CLI_OK;
}

static int revoke_grants(const char *project, struct server *s, const char *caller, bool no_wait,
                         const char *tools, bool all)
{
    json_t *list = tools ? split_csv(tools) : json_array();
    struct wdn_cli_wait wt = {0};
    size_t removed = 0;

    for (size_t i = 0; i < s->n; i++) {
        struct rule *r = &s->rules[i];
        if (strcmp(r->action, "allow") != 0 || !array_has(r->callers, caller))
            continue;
        for (size_t k = json_array_size(r->tools); k-- > 0;) {
            const char *t = json_string_value(json_array_get(r->tools, k));
            if (all || array_has(list, t)) {
                json_array_remove(r->tools, k);
                removed++;
            }
        }
    }
    /* Rules left without tools go. */
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (json_array_size(s->rules[i].tools) == 0 && strcmp(s->rules[i].action, "allow") == 0) {
            json_decref(s->rules[i].callers);
            json_decref(s->rules[i].tools);
            json_decref(s->rules[i].scopes);
            json_decref(s->rules[i].claims);
            continue;
        }
        s->rules[w++] = s->rules[i];
    }
    s->n = w;
    json_decref(list);
    if (removed == 0) {
        printf("mcpserver/%s: nothing to revoke for %s\n", s->name, caller);
        return WDN_CLI_OK;
    }
    if (server_save(project, s, &wt) != 0) {
        wdn_cli_wait_end(&wt, "mcpserver", true);
        wdn_cli_err("mcpserver", "cannot store mcpserver '%s'", s->name);
        return WDN_CLI_FAIL;
    }
    printf("mcpserver/%s: revoked %zu grant%s of %s\n", s->name, removed, removed == 1 ? "" : "s",
           caller);
    return wdn_cli_wait_end(&wt, "mcpserver", no_wait) ? WDN_CLI_FAIL : WDN_CLI_OK;
}

static int test_call(const char *project, const char *name, const char *caller, const char *tool,
                     const char **scopes, size_t nscopes)
{
    struct wdn_buf b;
    struct wdn_resources *set = wdn_resources_new();
    struct wdn_tool_policy *pol = NULL;
    struct wdn_tool_decision dec;
    struct wdn_diag d;
    int rc = WDN_CLI_FAIL;

    if (wdn_store_get_resource(project, WDN_KIND_MCPSERVER, name, &b) != 0) {
        wdn_cli_err("mcpserver", "mcpserver '%s' not found in project '%s'", name, project);
        wdn_resources_free(set);
        return WDN_CLI_FAIL;
    }
    if (set == NULL || wdn_resources_load_buffer(set, name, NULL, b.data, b.len) != 0 ||
        set->n_mcpservers != 1 || wdn_tool_policy_compile(set->mcpservers[0], &pol, &d) != 0) {
        wdn_cli_err("mcpserver", "mcpserver '%s' does not load", name);
        goto out;
    }
    struct wdn_tool_auth auth = {scopes, nscopes, NULL, 0};
    wdn_tool_policy_eval(pol, caller, tool, &auth, &dec);
    if (dec.rule >= 0)
        printf("%s: %s calling tool %s on %s (rule %d: %s)\n", dec.allowed ? "ALLOWED" : "DENIED",
               caller, tool, name, dec.rule + 1, dec.reason);
    else
        printf("%s: %s calling tool %s on %s (default action: %s)\n",
               dec.allowed ? "ALLOWED" : "DENIED", caller, tool, name, dec.reason);
    rc = dec.allowed ? WDN_CLI_OK : WDN_CLI_FAIL;
out:
    wdn_tool_policy_free(pol);
    wdn_resources_free(set);
    wdn_buf_reset(&b);
    return rc;
}

static int list_row(const char *name, void *arg)
{
    json_t **ctx = arg;
    struct server s;
    char rules[16];
    if (server_load(json_string_value(ctx[1]), name, &s) == 0) {
        snprintf(rules, sizeof(rules), "%zu", s.n);
        json_array_append_new(ctx[0],
                              json_pack("{s:s, s:s, s:s, s:s}", "name", name, "appId", s.app_id,
                                        "defaultAction", s.default_action, "rules", rules));
    }
    server_free(&s);
    return 0;
}

int wdn_cli_mcpserver(int argc, char **argv)
{
    const char *pos[3], *proj = NULL, *out = NULL, *caller = NULL, *tools = NULL, *tool = NULL,
                        *app = NULL, *scopes[32];
    size_t npos, nscopes = 0;
    bool help, all = false, yes = false, no_wait = false;
    char project[128];
    struct wdn_diag d;
    struct server *s = NULL;
    const struct wdn_cli_opt opts[] = {
        {"project", 'p', &proj, NULL, NULL, NULL, 0},
        {"output", 'o', &out, NULL, NULL, NULL, 0},
        {"caller", 0, &caller, NULL, NULL, NULL, 0},
        {"allow-tools", 0, &tools, NULL, NULL, NULL, 0},
        {"tool", 0, &tool, NULL, NULL, NULL, 0},
        {"app-id", 0, &app, NULL, NULL, NULL, 0},
        {"scope", 0, NULL, NULL, scopes, &nscopes, 32},
        {"all", 0, NULL, &all, NULL, NULL, 0},
        {"yes", 'y', NULL, &yes, NULL, NULL, 0},
        {"no-wait", 0, NULL, &no_wait, NULL, NULL, 0},
        {0},
    };
    int fmt, rc = wdn_cli_parse(argc, argv, opts, pos, &npos, 3, &help);

    if (rc)
        return rc;
    static const struct wdn_cli_verb groups[] = {{"access", 1, 2, "a subcommand"},
                                                 {NULL, 0, 0, NULL}};
    static const struct wdn_cli_verb verbs[] = {
        {"grant", 1, 1, "a SERVER"}, {"revoke", 1, 1, "a SERVER"}, {"get", 1, 1, "a SERVER"},
        {"list", 0, 0, NULL},        {"test", 1, 1, "a SERVER"},   {NULL, 0, 0, NULL},
    };
    if (help) {
        fputs(mcpserver_usage, stdout);
        return WDN_CLI_OK;
    }
    if (wdn_cli_verb("mcpserver", groups, pos, npos) < 0 ||
        wdn_cli_verb("mcpserver access", verbs, pos + 1, npos - 1) < 0)
        return WDN_CLI_USAGE;
    if ((fmt = wdn_cli_output_parse("mcpserver", out)) < 0)
        return WDN_CLI_USAGE;
    const char *verb = pos[1], *name = npos > 2 ? pos[2] : NULL;
    if (wdn_project_resolve(proj, project, sizeof(project), &d) != 0) {
        wdn_cli_err("mcpserver", "%s", d.msg);
        return WDN_CLI_FAIL;
    }
    if (strcmp(verb, "list") == 0) {
        static const char *const cols[] = {"name", "appId", "defaultAction", "rules"};
        static const char *const hdr[] = {"NAME", "APP ID", "DEFAULT", "RULES"};
        json_t *ctx[2] = {json_array(), json_string(project)};
        wdn_store_list_resources(project, WDN_KIND_MCPSERVER, list_row, ctx);
        wdn_cli_print_records(ctx[0], fmt, cols, hdr, 4, 0);
        json_decref(ctx[0]);
        json_decref(ctx[1]);
        return WDN_CLI_OK;
    }
    if (strcmp(verb, "get") == 0) {
        struct wdn_buf b;
        if (wdn_store_get_resource(project, WDN_KIND_MCPSERVER, name, &b) != 0) {
            wdn_cli_err("mcpserver", "mcpserver '%s' not found in project '%s'", name, project);
            return WDN_CLI_FAIL;
        }
        rc = wdn_cli_print_resource(b.data, b.len, fmt);
        wdn_buf_reset(&b);
        return rc ? WDN_CLI_FAIL : WDN_CLI_OK;
    }
    if (strcmp(verb, "test") == 0) {
        if (caller == NULL || tool == NULL) {
            wdn_cli_err("mcpserver", "access test needs --caller and --tool");
            return WDN_CLI_USAGE;
        }
        return test_call(project, name, caller, tool, scopes, nscopes);
    }
    if (strcmp(verb, "grant") != 0 && strcmp(verb, "revoke") != 0) {
        fputs(mcpserver_usage, stderr);
        return WDN_CLI_USAGE;
    }
    if (caller == NULL || (strcmp(caller, "*") != 0 && !wdn_resources_valid_app_id(caller))) {
        wdn_cli_err("mcpserver", "--caller must be an app ID or '*'");
        return WDN_CLI_USAGE;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return WDN_CLI_FAIL;
    rc = server_load(project, name, s);
    if (rc == WDN_ECONFIG) {
        wdn_cli_err("mcpserver", "mcpserver '%s' does not load; fix it with 'warden apply'", name);
        rc = WDN_CLI_FAIL;
        goto out;
    }
    if (strcmp(verb, "grant") == 0) {
        if (tools == NULL) {
            wdn_cli_err("mcpserver", "access grant needs --allow-tools");
            rc = WDN_CLI_USAGE;
            goto out;
        }
        if (rc == WDN_ENOTFOUND) {
            snprintf(s->app_id, sizeof(s->app_id), "%s", app ? app : name);
            if (!wdn_resources_valid_app_id(s->app_id)) {
                wdn_cli_err("mcpserver", "invalid app ID '%s' (use --app-id)", s->app_id);
                rc = WDN_CLI_USAGE;
                goto out;
            }
        }
        rc = grant_tools(project, s, caller, tools, no_wait);
        goto out;
    }
    if (rc == WDN_ENOTFOUND) {
        wdn_cli_err("mcpserver", "mcpserver '%s' not found in project '%s'", name, project);
        rc = WDN_CLI_FAIL;
        goto out;
    }
    if (!all && tools == NULL) {
        wdn_cli_err("mcpserver", "access revoke needs --allow-tools or --all");
        rc = WDN_CLI_USAGE;
        goto out;
    }
    if (!wdn_cli_confirm(yes, "Revoke %s's grants on %s?", caller, name)) {
        fprintf(stderr, "nothing revoked\n");
        rc = WDN_CLI_FAIL;
        goto out;
    }
    rc = revoke_grants(project, s, caller, no_wait, tools, all);
out:
    if (s)
        server_free(s);
    free(s);
    return rc;
}
