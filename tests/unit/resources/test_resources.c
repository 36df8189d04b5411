/* Unit tests for src/resources: the tutorial's files verbatim, every kind, and every error path
 * with its exact file:line:col. */
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

static char vec_dir[1024];

static int setup_paths(void **state)
{
    const char *src = getenv("WDN_SOURCE_DIR");
    snprintf(vec_dir, sizeof(vec_dir), "%s/tests/vectors/resources", src ? src : "../..");
    return 0;
}

static char out_buf[65536];

/* All messages of a set, one per line, as `warden check` prints them. */
static const char *messages(const struct wdn_resources *set)
{
    size_t used = 0;
    out_buf[0] = '\0';
    for (size_t i = 0; i < set->n_msgs && used < sizeof(out_buf); i++) {
        char line[1200];
        int n = snprintf(out_buf + used, sizeof(out_buf) - used, "%s\n",
                         wdn_resources_msg_format(&set->msgs[i], line, sizeof(line)));
        if (n > 0)
            used += (size_t)n;
    }
    return out_buf;
}

/* Loads text as "t.yaml" into a fresh set; the caller frees. */
static struct wdn_resources *load_text(const char *text)
{
    struct wdn_resources *set = wdn_resources_new();
    assert_non_null(set);
    wdn_resources_load_buffer(set, "t.yaml", "/nonexistent", text, strlen(text));
    return set;
}

/* Loads text and compares every message with want (exactly). */
static void expect(const char *text, const char *want)
{
    struct wdn_resources *set = load_text(text);
    if (set->n_errors == 0)
        wdn_resources_validate(set, NULL);
    const char *got = messages(set);
    if (strcmp(got, want) != 0) {
        print_error("input:\n%s\nwant:\n%s", text, want);
        print_error("got:\n%s", got);
        fail();
    }
    wdn_resources_free(set);
}

static char *vec_path(const char *name)
{
    static char p[1200];
    snprintf(p, sizeof(p), "%s/%s", vec_dir, name);
    return p;
}

/* ---- the tutorial's files ---------------------------------------------------------------- */

static void test_tutorial_template(void **state)
{
    struct wdn_resources *set = wdn_resources_new();
    char want[8192];

    /* The template as the tutorial ships it, before envsubst: refused (issue 14: `check` and
     * `apply` accepted it with a warning, the sidecar refused it later). */
    assert_int_equal(wdn_resources_load_path(set, vec_path("bearer-component.yaml")), WDN_ECONFIG);
    assert_int_equal(set->n_errors, 2);
    assert_int_equal(set->n_components, 1);
    const struct wdn_res_component *c = set->components[0];
    assert_string_equal(c->metadata.name, "bearer");
    assert_string_equal(c->spec.type, "middleware.http.bearer");
    assert_string_equal(c->spec.version, "v1");
    /* ${VAR} stays literal: expansion is the shell's envsubst. */
    assert_string_equal(wdn_resources_component_meta(c, "issuer"), "https://${AUTH0_DOMAIN}/");
    assert_string_equal(wdn_resources_component_meta(c, "audience"), "${AUTH0_AUDIENCE}");
    /* ...and an error says so, at each item, naming the variable. */
    snprintf(want, sizeof(want),
             "%1$s:9:5: spec.metadata[0]: value of \"issuer\" contains \"${AUTH0_DOMAIN}\": "
             "variables are not expanded by warden (run the file through envsubst first: "
             "envsubst < FILE | warden apply -f -)\n"
             "%1$s:11:5: spec.metadata[1]: value of \"audience\" contains \"${AUTH0_AUDIENCE}\": "
             "variables are not expanded by warden (run the file through envsubst first: "
             "envsubst < FILE | warden apply -f -)\n",
             vec_path("bearer-component.yaml"));
    assert_string_equal(messages(set), want);
    assert_int_equal(set->n_warnings, 0);
    wdn_resources_free(set);
}

static void test_tutorial_files_load(void **state)
{
    struct wdn_resources *set = wdn_resources_new();

    assert_int_equal(wdn_resources_load_path(set, vec_path("bearer-component.envsubst.yaml")), 0);
    assert_int_equal(wdn_resources_load_path(set, vec_path("mcp-server-oauth.yaml")), 0);
    assert_int_equal(set->n_msgs, 0);
    const struct wdn_res_component *c = wdn_resources_find_component(set, "bearer");
    assert_non_null(c);
    assert_string_equal(wdn_resources_component_meta(c, "issuer"),
                        "https://your-tenant.us.auth0.com/");
    assert_string_equal(wdn_resources_component_meta(c, "audience"), "https://your-api-audience/");
    assert_null(wdn_resources_component_meta(c, "jwksURL"));
    assert_int_equal(c->scopes.n, 1);
    assert_string_equal(c->scopes.v[0], "mcp-server");
    assert_true(wdn_resources_component_in_scope(c, "mcp-server"));
    assert_false(wdn_resources_component_in_scope(c, "mcp-client"));
    assert_false(wdn_resources_component_in_scope(c, NULL));
    assert_int_equal(c->pos.line, 1);
    assert_int_equal(c->spec.ignore_errors, WDN_RES_UNSET);

    const struct wdn_res_configuration *cfg =
        wdn_resources_find_configuration(set, "mcp-server-oauth");
    assert_non_null(cfg);
    assert_int_equal(cfg->spec.http_pipeline.pos.line, 0);
    assert_int_equal(cfg->spec.app_http_pipeline.n_handlers, 1);
    assert_string_equal(cfg->spec.app_http_pipeline.handlers[0].name, "bearer");
    assert_string_equal(cfg->spec.app_http_pipeline.handlers[0].type, "middleware.http.bearer");
    assert_null(cfg->spec.app_http_pipeline.handlers[0].version);
    assert_int_equal(cfg->spec.app_http_pipeline.handlers[0].pos.line, 10);
    assert_int_equal(cfg->spec.app_http_pipeline.handlers[0].pos.col, 7);
    assert_string_equal(cfg->spec.access_control.default_action, "allow");
    assert_int_equal(cfg->spec.access_control.n_policies, 0);

    /* The sidecar of mcp-server runs the bearer handler: in scope, valid. */
    assert_int_equal(wdn_resources_validate(set, "mcp-server"), 0);
    assert_int_equal(wdn_resources_check_pipeline(set, cfg, "mcp-server"), 0);
    assert_int_equal(set->n_errors, 0);
    /* Any other app bound to this Configuration would run without authentication in Dapr. */
    assert_int_equal(wdn_resources_check_pipeline(set, cfg, "mcp-client"), WDN_ECONFIG);
    char want[8192], cfg_path[1200];
    snprintf(cfg_path, sizeof(cfg_path), "%s", vec_path("mcp-server-oauth.yaml"));
    snprintf(want, sizeof(want),
             "%s:10:7: Configuration \"mcp-server-oauth\" appHttpPipeline.handlers[0]: Component "
             "\"bearer\" is scoped away from app \"mcp-client\" (scopes at %s:1); the handler "
             "cannot be skipped\n",
             cfg_path, vec_path("bearer-component.envsubst.yaml"));
    assert_string_equal(messages(set), want);
    wdn_resources_free(set);
}

static void test_pipeline_missing_component(void **state)
{
    struct wdn_resources *set = wdn_resources_new();
    char want[8192];

    assert_int_equal(wdn_resources_load_path(set, vec_path("mcp-server-oauth.yaml")), 0);
    assert_int_equal(wdn_resources_validate(set, "mcp-server"), WDN_ECONFIG);
    snprintf(want, sizeof(want),
             "%s:10:7: Configuration \"mcp-server-oauth\" appHttpPipeline.handlers[0]: no "
             "Component named \"bearer\" is loaded; the handler cannot be skipped\n",
             vec_path("mcp-server-oauth.yaml"));
    assert_string_equal(messages(set), want);
    wdn_resources_free(set);
}

static void test_pipeline_type_and_version(void **state)
{
    expect("apiVersion: dapr.io/v1alpha1\n"
           "kind: Component\n"
           "metadata: {name: bearer}\n"
           "spec: {type: middleware.http.oauth2, version: v1}\n"
           "---\n"
           "apiVersion: dapr.io/v1alpha1\n"
           "kind: Configuration\n"
           "metadata: {name: c}\n"
           "spec:\n"
           "  httpPipeline:\n"
           "    handlers:\n"
           "    - {name: bearer, type: middleware.http.bearer}\n",
           "t.yaml:12:7: Configuration \"c\" httpPipeline.handlers[0]: handler type "
           "\"middleware.http.bearer\" does not match Component \"bearer\" of type "
           "\"middleware.http.oauth2\" (t.yaml:1)\n");
    expect("apiVersion: dapr.io/v1alpha1\n"
           "kind: Component\n"
           "metadata: {name: bearer}\n"
           "spec: {type: middleware.http.bearer, version: v2}\n"
           "---\n"
           "apiVersion: dapr.io/v1alpha1\n"
           "kind: Configuration\n"
           "metadata: {name: c}\n"
           "spec:\n"
           "  httpPipeline:\n"
           "    handlers:\n"
           "    - {name: bearer, type: middleware.http.bearer}\n",
           "t.yaml:12:7: Configuration \"c\" httpPipeline.handlers[0]: handler version \"v1\" "
           "does not match Component \"bearer\" version \"v2\"\n");
    /* A component in another namespace is not the one the handler names. */
    expect("apiVersion: dapr.io/v1alpha1\n"
           "kind: Component\n"
           "metadata: {name: bearer, namespace: other}\n"
           "spec: {type: middleware.http.bearer, version: v1}\n"
           "---\n"
           "apiVersion: dapr.io/v1alpha1\n"
           "kind: Configuration\n"
           "metadata: {name: c}\n"
           "spec: {httpPipeline: {handlers: [{name: bearer, type: middleware.http.bearer}]}}\n",
           "t.yaml:9:34: Configuration \"c\" httpPipeline.handlers[0]: no Component named "
           "\"bearer\" is loaded; the handler cannot be skipped\n");
}

/* ---- typing: text stays text --------------------------------------------------------------- */

static void test_scalars_stay_text(void **state)
{
    struct wdn_resources *set = load_text("apiVersion: dapr.io/v1alpha1\n"
                                          "kind: Component\n"
                                          "metadata:\n"
                                          "  name: c\n"
                                          "spec:\n"
                                          "  type: middleware.http.bearer\n"
                                          "  version: v1\n"
                                          "  ignoreErrors: false\n"
                                          "  initTimeout: 5s\n"
                                          "  metadata:\n"
                                          "  - {name: a, value: true}\n"
                                          "  - {name: b, value: 1}\n"
                                          "  - {name: c, value: \"0x10\"}\n"
                                          "  - {name: d, value: 010}\n"
                                          "  - {name: e, value: ''}\n"
                                          "  - {name: f, value: 1e3}\n"
                                          "  - {name: g, secretKeyRef: {name: s, key: k}}\n"
                                          "auth: {secretStore: vault}\n");
    assert_int_equal(set->n_msgs, 0);
    const struct wdn_res_component *c = set->components[0];
    assert_string_equal(wdn_resources_component_meta(c, "a"), "true");
    assert_string_equal(wdn_resources_component_meta(c, "b"), "1");
    assert_string_equal(wdn_resources_component_meta(c, "c"), "0x10");
    assert_string_equal(wdn_resources_component_meta(c, "d"), "010");
    assert_string_equal(wdn_resources_component_meta(c, "e"), "");
    assert_string_equal(wdn_resources_component_meta(c, "f"), "1e3");
    assert_null(wdn_resources_component_meta(c, "g"));
    assert_string_equal(c->spec.metadata[6].secret_ref.name, "s");
    assert_string_equal(c->spec.metadata[6].secret_ref.key, "k");
    assert_int_equal(c->spec.ignore_errors, 0);
    assert_string_equal(c->spec.init_timeout, "5s");
    assert_string_equal(c->auth.secret_store, "vault");
    assert_int_equal(c->scopes.n, 0);
    assert_true(wdn_resources_component_in_scope(c, "anything"));
    wdn_resources_free(set);
}

/* ---- error paths, each with its place --------------------------------------------------- */

#define COMP_HEAD "apiVersion: dapr.io/v1alpha1\nkind: Component\n"

static void test_errors_component(void **state)
{
    expect(COMP_HEAD "metadata:\n  name: b\nspec:\n  type: t\n  version: v1\n  vesion: v1\n",
           "t.yaml:8:3: spec: unknown field \"vesion\" in Component spec\n");
    expect(COMP_HEAD "metadata:\n  name: b\nspec:\n  type: t\n",
           "t.yaml:6:3: spec: missing required field \"version\" in Component spec\n");
    expect(COMP_HEAD "metadata:\n  name: Bad_Name\nspec: {type: t, version: v1}\n",
           "t.yaml:4:9: metadata.name: \"Bad_Name\" may contain only lower-case letters, digits, "
           "'-' and '.' (DNS-1123)\n");
    expect(COMP_HEAD "metadata: {name: b}\nspec: {type: t, version: v1}\nscopes: [ok, \"a.b\"]\n",
           "t.yaml:5:14: scopes[1]: \"a.b\" is not a valid app ID (1 to 128 of A-Z a-z 0-9 _ -; "
           "no dots)\n");
    expect(COMP_HEAD "metadata: {name: b}\nspec: {type: t, version: v1}\nscopes: mcp-server\n",
           "t.yaml:5:9: scopes: expected a list of strings, found a scalar\n");
    expect(COMP_HEAD "metadata: {name: b}\nspec:\n  type: t\n  version: v1\n  metadata:\n"
                     "  - name: issuer\n    vaule: x\n",
           "t.yaml:9:5: spec.metadata[0]: unknown field \"vaule\" in metadata item\n"
           "t.yaml:8:5: spec.metadata[0]: metadata \"issuer\" has neither \"value\" nor "
           "\"secretKeyRef\"\n");
    expect(COMP_HEAD "metadata: {name: b}\nspec:\n  type: t\n  version: v1\n  metadata:\n"
                     "  - {name: a, value: x, secretKeyRef: {name: s, key: k}}\n",
           "t.yaml:8:5: spec.metadata[0]: give either \"value\" or \"secretKeyRef\", not both\n");
    expect(COMP_HEAD "metadata: {name: b}\nspec:\n  type: t\n  version: v1\n  metadata:\n"
                     "  - {name: a, value: x}\n  - {name: a, value: y}\n",
           "t.yaml:9:5: spec.metadata[1]: duplicate metadata name \"a\" (first at line 8)\n");
    expect(COMP_HEAD "metadata: {name: b}\nspec:\n  type: t\n  version: v1\n"
                     "  metadata:\n  - {name: a, secretKeyRef: {name: s}}\n",
           "t.yaml:8:29: spec.metadata[0].secretKeyRef: missing required field \"key\" in "
           "secretKeyRef\n");
    /* ignoreErrors is accepted, with a warning that warden fails closed anyway. */
    expect(COMP_HEAD "metadata: {name: b}\nspec:\n  type: t\n  version: v1\n  ignoreErrors: true\n",
           "t.yaml:7:17: warning: spec: ignoreErrors: true is accepted, but warden fails closed: "
           "a component that fails to initialise is an error, never skipped\n");
    expect(COMP_HEAD "metadata: {name: b}\nspec:\n  type: t\n  version: v1\n  ignoreErrors: yes\n",
           "t.yaml:7:17: spec.ignoreErrors: expected true or false (unquoted), found \"yes\"\n");
    expect(COMP_HEAD "metadata: {name: b}\nspec:\n  type: t\n  version: v1\n  ignoreErrors: "
                     "\"true\"\n",
           "t.yaml:7:17: spec.ignoreErrors: expected true or false (unquoted), found \"true\"\n");
    expect("apiVersion: dapr.io/v2\nkind: Component\nmetadata: {name: b}\n"
           "spec: {type: t, version: v1}\n",
           "t.yaml:1:13: apiVersion of a Component must be dapr.io/v1alpha1, not "
           "\"dapr.io/v2\"\n");
    expect(COMP_HEAD "metadata: {name: b}\nspec: {type: t, version: v1}\nauth: {}\n",
           "t.yaml:5:7: auth: missing required field \"secretStore\" in auth\n");
}

static void test_errors_yaml(void **state)
{
    /* Syntax errors point where libyaml stopped (1-based). */
    expect("a: [1, 2\nb: c\n",
           "t.yaml:2:2: YAML syntax error: did not find expected ',' or ']' while parsing a "
           "flow sequence\n");
    expect(COMP_HEAD "metadata: {name: b}\nmetadata: {name: c}\nspec: {type: t, version: v1}\n",
           "t.yaml:4:1: duplicate key \"metadata\"\n");
    expect(COMP_HEAD "metadata: &m {name: b}\nspec: {type: t, version: v1}\nauth: *m\n",
           "t.yaml:3:11: this node is used again through a YAML alias; aliases are not allowed "
           "in resources\n");
    /* Anchors do not cross documents: libyaml calls that an undefined alias. */
    expect(COMP_HEAD "metadata: {name: b}\nspec: {type: t, version: v1}\nscopes: &a [x]\n"
                     "---\n" COMP_HEAD "metadata: {name: c}\nspec: {type: t, version: v1}\n"
                     "scopes: *a\n",
           "t.yaml:11:9: YAML syntax error: found undefined alias\n");
    /* An anchor used inside itself is a cycle in libyaml's document graph. */
    expect("a: &x [*x]\n", "t.yaml:1:4: this node is used again through a YAML alias; aliases "
                           "are not allowed in resources\n");
    expect(COMP_HEAD "metadata: {name: !!int 5}\nspec: {type: t, version: v1}\n",
           "t.yaml:3:18: metadata.name: YAML tag tag:yaml.org,2002:int is not supported\n");
    expect(COMP_HEAD "metadata: {name: \"a\\0b\"}\nspec: {type: t, version: v1}\n",
           "t.yaml:3:18: metadata.name: value contains a NUL byte\n");
    expect("[a, b]\n", "t.yaml:1:1: a resource must be a mapping with apiVersion and kind\n");
    expect("apiVersion: dapr.io/v1alpha1\nmetadata: {name: x}\n",
           "t.yaml:1:1: missing \"kind\" (Component, Configuration, MCPServer), and not a run "
           "file (version, apps)\n");
    expect("apiVersion: dapr.io/v1alpha1\nkind: Secret\n",
           "t.yaml:2:7: unknown kind \"Secret\" (Component, Configuration or MCPServer)\n");
    expect("apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nspec: {}\n",
           "t.yaml:2:7: warning: kind Resiliency is not supported by warden; skipped\n");
    /* Empty documents are ignored; so is a file with only comments. */
    expect("---\n---\n# nothing\n", "");
    expect("", "");
    /* Every error is reported, not only the first. */
    expect(COMP_HEAD "metadata: {name: B, x: 1}\nspec: {type: t}\nscopes: [\"\"]\n",
           "t.yaml:3:18: metadata.name: \"B\" may contain only lower-case letters, digits, '-' "
           "and '.' (DNS-1123)\n"
           "t.yaml:3:21: metadata: unknown field \"x\" in metadata\n"
           "t.yaml:4:7: spec: missing required field \"version\" in Component spec\n"
           "t.yaml:5:10: scopes[0]: must not be empty\n");
}

static void test_depth_limit(void **state)
{
    char text[4096];
    size_t n = 0;

    n += (size_t)snprintf(text + n, sizeof(text) - n, COMP_HEAD "metadata: {name: b}\nx: ");
    for (int i = 0; i < 40; i++)
        text[n++] = '[';
    for (int i = 0; i < 40; i++)
        text[n++] = ']';
    text[n++] = '\n';
    text[n] = '\0';
    struct wdn_resources *set = load_text(text);
    assert_int_equal(set->n_errors, 1);
    assert_non_null(strstr(messages(set), "nested deeper than 32 levels"));
    wdn_resources_free(set);
}

static void test_more_limits(void **state)
{
    size_t cap = 2 * 200001 + 64;
    char *text = malloc(cap);
    struct wdn_resources *set;

    /* Nodes are counted before libyaml builds the document. */
    size_t n = (size_t)sprintf(text, "a: [");
    for (int i = 0; i < 200001; i++)
        n += (size_t)sprintf(text + n, "1,");
    sprintf(text + n - 1, "]\n");
    set = load_text(text);
    assert_string_equal(messages(set), "t.yaml:1:399999: document has more than 200000 nodes\n");
    wdn_resources_free(set);
    free(text);

    /* Unclosed flow collections are counted on the raw bytes first. */
    char deep[200];
    memset(deep, '[', 70);
    strcpy(deep + 70, "\n");
    expect(deep, "t.yaml:1:65: more than 64 unclosed '[' or '{' (flow nesting limit)\n");

    /* A value longer than 64 KiB, a list longer than 4096 items. */
    text = malloc(70000 + 256);
    n = (size_t)sprintf(text, COMP_HEAD "metadata: {name: b}\nspec:\n  type: t\n  version: ");
    memset(text + n, 'v', 65537);
    strcpy(text + n + 65537, "\n");
    expect(text, "t.yaml:6:12: spec.version: value is longer than 65536 bytes\n");
    free(text);
    text = malloc(4097 * 3 + 256);
    n = (size_t)sprintf(text, COMP_HEAD "metadata: {name: b}\nspec: {type: t, version: v1}\n"
                                        "scopes: [");
    for (int i = 0; i < 4097; i++)
        n += (size_t)sprintf(text + n, "a,");
    sprintf(text + n - 1, "]\n");
    expect(text, "t.yaml:5:9: scopes: more than 4096 items\n");
    free(text);

    /* Keys of a free-form map are unique too. */
    expect("version: 1\napps:\n- appID: a\n  appDirPath: /\n  env: {A: '1', B: '2', A: '3'}\n",
           "t.yaml:5:25: apps[0].env: duplicate key \"A\"\n");
    expect("apiVersion: dapr.io/v1alpha1\nkind: [Component]\n",
           "t.yaml:2:7: \"kind\" must be a string\n");
}

static void test_error_cap(void **state)
{
    char *text = malloc(300 * 16 + 256);
    size_t n = (size_t)sprintf(text, COMP_HEAD "metadata: {name: b}\nspec:\n  type: t\n"
                                               "  version: v1\n");
    for (int i = 0; i < 300; i++)
        n += (size_t)sprintf(text + n, "  bad%d: 1\n", i);
    struct wdn_resources *set = load_text(text);
    assert_int_equal(set->n_errors, 300);
    assert_int_equal(set->n_msgs, WDN_RES_MAX_ERRORS);
    assert_true(set->truncated);
    wdn_resources_free(set);
    free(text);
}

static void test_size_limit(void **state)
{
    size_t len = WDN_YAML_MAX_BYTES + 1;
    char *big = malloc(len);
    memset(big, '#', len);
    struct wdn_resources *set = wdn_resources_new();
    assert_int_equal(wdn_resources_load_buffer(set, "big.yaml", NULL, big, len), WDN_ECONFIG);
    assert_string_equal(messages(set), "big.yaml: file is larger than 4194304 bytes\n");
    wdn_resources_free(set);
    free(big);
}

/* ---- Configuration -------------------------------------------------------------------------- */

#define CFG_HEAD "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\n"

static void test_configuration_acl(void **state)
{
    struct wdn_resources *set = load_text(CFG_HEAD "spec:\n"
                                                   "  accessControl:\n"
                                                   "    defaultAction: Deny\n"
                                                   "    trustDomain: public\n"
                                                   "    policies:\n"
                                                   "    - appId: mcp-client\n"
                                                   "      defaultAction: allow\n"
                                                   "      trustDomain: public\n"
                                                   "      namespace: default\n"
                                                   "      operations:\n"
                                                   "      - name: /mcp\n"
                                                   "        httpVerb: [POST, '*']\n"
                                                   "        action: deny\n"
                                                   "      - name: api/**\n"
                                                   "        action: ALLOW\n");
    assert_int_equal(set->n_msgs, 0);
    const struct wdn_res_access_control *ac = &set->configurations[0]->spec.access_control;
    assert_string_equal(ac->default_action, "deny"); /* canonical spelling */
    assert_string_equal(ac->trust_domain, "public");
    assert_int_equal(ac->n_policies, 1);
    assert_string_equal(ac->policies[0].app_id, "mcp-client");
    assert_int_equal(ac->policies[0].n_operations, 2);
    assert_string_equal(ac->policies[0].operations[0].name, "/mcp");
    assert_int_equal(ac->policies[0].operations[0].verbs.n, 2);
    assert_string_equal(ac->policies[0].operations[0].verbs.v[1], "*");
    assert_string_equal(ac->policies[0].operations[1].action, "allow");
    wdn_resources_free(set);
}

static void test_errors_configuration(void **state)
{
    expect(CFG_HEAD "spec:\n  accessControl:\n    defaultAction: permit\n",
           "t.yaml:6:20: spec.accessControl.defaultAction: \"permit\" is not one of: allow, "
           "deny\n");
    /* Dapr requires trustDomain and namespace on every policy (daprd will not start). */
    expect(CFG_HEAD "spec:\n  accessControl:\n    defaultAction: deny\n    policies:\n"
                    "    - appId: a\n",
           "t.yaml:8:7: spec.accessControl.policies[0]: missing required field \"trustDomain\" "
           "in access control policy\n"
           "t.yaml:8:7: spec.accessControl.policies[0]: missing required field \"namespace\" in "
           "access control policy\n");
    expect(CFG_HEAD "spec:\n  accessControl:\n    defaultAction: deny\n    policies:\n"
                    "    - {appId: a, trustDomain: public, namespace: default, operations: [\n"
                    "        {name: /mcp, httpVerb: [post], action: allow},\n"
                    "        {name: /a/../b, action: allow},\n"
                    "        {name: /a/**/b, action: allow},\n"
                    "        {name: /x, httpVerb: [GET, GET], action: allow},\n"
                    "        {name: /y}]}\n",
           "t.yaml:9:33: spec.accessControl.policies[0].operations[0].httpVerb[0]: \"post\" is "
           "not an HTTP verb Dapr matches (GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE PATCH, "
           "upper case, or *)\n"
           "t.yaml:10:16: spec.accessControl.policies[0].operations[1].name: \"/a/../b\" has a "
           "\".\" or \"..\" segment\n"
           "t.yaml:11:16: spec.accessControl.policies[0].operations[2].name: \"/a/**/b\" uses "
           "\"**\" other than as the whole last segment\n"
           "t.yaml:12:9: spec.accessControl.policies[0].operations[3]: httpVerb lists \"GET\" "
           "twice\n"
           "t.yaml:13:9: spec.accessControl.policies[0].operations[4]: missing required field "
           "\"action\" in operation\n");
    expect(CFG_HEAD "spec:\n  accessControl:\n    defaultAction: deny\n    policies:\n"
                    "    - {appId: a, trustDomain: public, namespace: default, operations: [\n"
                    "        {name: /MCP, action: allow}, {name: mcp, action: deny}]}\n"
                    "    - {appId: a, trustDomain: public, namespace: default}\n",
           "t.yaml:9:38: spec.accessControl.policies[0].operations[1]: operation \"mcp\" repeats "
           "\"/MCP\" (line 9); Dapr would ignore this one\n"
           "t.yaml:10:7: spec.accessControl.policies[1]: a second policy for app \"a\" in "
           "namespace \"default\" (first at line 8)\n");
    /* Operations Dapr's trie can never reach: a lone star segment before the last, and an
     * operation below another one (which decides every path under it). A trailing lone star,
     * and a star glob inside a segment, are fine, and so are siblings. */
    expect(CFG_HEAD "spec:\n  accessControl:\n    defaultAction: allow\n    policies:\n"
                    "    - {appId: a, trustDomain: public, namespace: default, operations: [\n"
                    "        {name: /jobs/*/run, action: deny},\n"
                    "        {name: /api/Six, action: allow},\n"
                    "        {name: api/six/admin, action: deny},\n"
                    "        {name: /files/*, action: deny},\n"
                    "        {name: /files/*/x, action: deny},\n"
                    "        {name: /v*/items, action: deny},\n"
                    "        {name: /v*, action: allow},\n"
                    "        {name: /docs/**, action: allow},\n"
                    "        {name: /api/sixteen, action: deny}]}\n",
           "t.yaml:9:16: spec.accessControl.policies[0].operations[0].name: \"/jobs/*/run\" uses "
           "\"*\" as a whole segment before the last one, which Dapr never matches (\"/a/*/b\" "
           "does not decide a/x/b); name the segment, or end with \"/*\" or \"/**\"\n"
           "t.yaml:13:16: spec.accessControl.policies[0].operations[4].name: \"/files/*/x\" uses "
           "\"*\" as a whole segment before the last one, which Dapr never matches (\"/a/*/b\" "
           "does not decide a/x/b); name the segment, or end with \"/*\" or \"/**\"\n"
           "t.yaml:11:9: spec.accessControl.policies[0].operations[2]: operation "
           "\"api/six/admin\" is never reached: \"/api/Six\" (line 10) decides every path below "
           "it, as in Dapr; remove one of them or list the paths beside \"/api/Six\"\n"
           "t.yaml:14:9: spec.accessControl.policies[0].operations[5]: operation \"/v*/items\" "
           "is never reached: \"/v*\" (line 15) decides every path below it, as in Dapr; remove "
           "one of them or list the paths beside \"/v*\"\n");
    expect(CFG_HEAD "spec:\n  accessControl:\n    policies:\n"
                    "    - {appId: a, trustDomain: public, namespace: default}\n",
           "t.yaml:6:5: warning: spec.accessControl: no defaultAction with policies given: the "
           "global default is deny (as in Dapr)\n");
    /* Known Dapr keys warden does not use: accepted with a warning. Unknown keys: errors. */
    expect(CFG_HEAD "spec:\n  tracing: {samplingRate: \"1\"}\n  metric: {enabled: false}\n"
                    "  tracng: {}\n",
           "t.yaml:6:3: warning: spec: \"metric\" is accepted but ignored: warden always serves "
           "/metrics\n"
           "t.yaml:7:3: spec: unknown field \"tracng\" in Configuration spec\n");
    /* spec.tracing: OTLP/HTTP only; the rate is a number from 0 to 1. */
    expect(CFG_HEAD "spec:\n  tracing:\n    samplingRate: \"1.5\"\n    stdout: true\n"
                    "    otel: {endpointAddress: \"localhost:4317\", protocol: grpc}\n"
                    "    zipkin: {endpointAddress: \"http://z:9411\"}\n",
           "t.yaml:7:5: warning: spec.tracing: \"stdout\" is accepted but ignored: writing spans "
           "to stdout is not supported by warden: use otel\n"
           "t.yaml:8:11: spec.tracing.otel: otel.protocol grpc is not supported by warden: use "
           "protocol: http (OTLP/HTTP, usually port 4318)\n"
           "t.yaml:9:5: warning: spec.tracing: \"zipkin\" is accepted but ignored: Zipkin export "
           "is not supported by warden: use otel with protocol: http\n"
           "t.yaml:6:19: spec.tracing: tracing.samplingRate \"1.5\" is not a number from 0 to 1 "
           "(\"1\" samples every trace, \"0\" none)\n");
    expect(CFG_HEAD "spec:\n  tracing:\n    samplingRate: x\n"
                    "    otel: {endpointAddress: \"localhost:4318\", isSecure: maybe}\n",
           "t.yaml:7:57: spec.tracing.otel.isSecure: expected true or false (unquoted), found "
           "\"maybe\"\n"
           "t.yaml:7:11: warning: spec.tracing.otel: no otel.protocol: warden sends OTLP/HTTP "
           "(protocol: http), where Dapr would use grpc\n"
           "t.yaml:6:19: spec.tracing: tracing.samplingRate \"x\" is not a number from 0 to 1 "
           "(\"1\" samples every trace, \"0\" none)\n");
}

static void test_configuration_tracing(void **state)
{
    struct wdn_resources *set =
        load_text(CFG_HEAD "spec:\n  tracing:\n    samplingRate: \"0.25\"\n"
                           "    otel: {endpointAddress: \"localhost:4318\", isSecure: false, "
                           "protocol: http}\n");
    assert_int_equal(set->n_errors, 0);
    assert_int_equal(set->n_msgs, 0);
    const struct wdn_res_tracing *t = &set->configurations[0]->spec.tracing;
    assert_string_equal(t->sampling_rate, "0.25");
    assert_true(t->rate == 0.25);
    assert_string_equal(t->otel.endpoint_address, "localhost:4318");
    assert_int_equal(t->otel.is_secure, 0);
    assert_string_equal(t->otel.protocol, "http");
    wdn_resources_free(set);
    /* No samplingRate: Dapr's default; no protocol: http, with a warning. */
    set = load_text(CFG_HEAD "spec:\n  tracing:\n    otel: {endpointAddress: \"h:4318\"}\n");
    assert_int_equal(set->n_errors, 0);
    assert_int_equal(set->n_msgs, 1);
    assert_true(set->configurations[0]->spec.tracing.rate == 0.0001);
    assert_null(set->configurations[0]->spec.tracing.otel.protocol);
    wdn_resources_free(set);
    expect(CFG_HEAD "spec:\n  appHttpPipeline:\n    handlers:\n    - name: bearer\n"
                    "      type: middleware.http.bearer\n      version: v2\n"
                    "      selector: {fields: []}\n",
           "t.yaml:9:16: spec.appHttpPipeline.handlers[0].version: \"v2\" is not a supported "
           "handler version (v1)\n"
           "t.yaml:10:7: warning: spec.appHttpPipeline.handlers[0]: \"selector\" is accepted but "
           "ignored: handler selectors are not supported; the handler always runs\n");
    expect(CFG_HEAD "spec:\n  appHttpPipeline:\n    handlers:\n    - name: bearer\n",
           "t.yaml:7:7: spec.appHttpPipeline.handlers[0]: missing required field \"type\" in "
           "handler\n");
}

/* ---- MCPServer ------------------------------------------------------------------------------ */

static void test_mcpserver(void **state)
{
    struct wdn_resources *set = wdn_resources_new();
    assert_int_equal(wdn_resources_load_path(set, vec_path("mcpserver-weather.yaml")), 0);
    assert_int_equal(set->n_msgs, 0);
    const struct wdn_res_mcpserver *m = wdn_resources_find_mcpserver(set, "mcp-server");
    assert_non_null(m);
    assert_string_equal(m->spec.app_id, "mcp-server");
    assert_string_equal(m->spec.default_action, "deny");
    assert_string_equal(m->spec.endpoint.streamable_http.url, "http://localhost:8000/mcp");
    assert_int_equal(m->spec.n_rules, 3);
    assert_string_equal(m->spec.rules[1].tools.v[0], "get_*");
    assert_string_equal(m->spec.rules[1].require_scopes.v[0], "weather:read");
    assert_string_equal(m->spec.rules[2].callers.v[0], "*");
    wdn_resources_free(set);

    /* defaultAction defaults to deny. */
    set = load_text("apiVersion: warden.dev/v1alpha1\nkind: MCPServer\nmetadata: {name: s}\n"
                    "spec: {appId: s}\n");
    assert_int_equal(set->n_msgs, 0);
    assert_string_equal(set->mcpservers[0]->spec.default_action, "deny");
    wdn_resources_free(set);
}

#define MCP_HEAD "apiVersion: warden.dev/v1alpha1\nkind: MCPServer\nmetadata: {name: s}\n"

static void test_errors_mcpserver(void **state)
{
    expect("apiVersion: dapr.io/v1alpha1\nkind: MCPServer\nmetadata: {name: s}\n",
           "t.yaml:1:13: apiVersion of an MCPServer must be warden.dev/v1alpha1 (warden's "
           "per-tool access policy), not \"dapr.io/v1alpha1\"\n");
    expect(MCP_HEAD "spec:\n  appId: s\n  rules:\n"
                    "  - {callers: [a], tools: [t], action: deny, requireScopes: [x]}\n"
                    "  - {callers: [], tools: [\"bad tool\"], action: allow}\n"
                    "  - {callers: [a.b], tools: [t], action: maybe, requireClaims: {k: v}}\n",
           "t.yaml:7:5: spec.rules[0]: requireScopes and requireClaims apply to allow rules only "
           "(a deny rule with conditions could be dodged by a token without them)\n"
           "t.yaml:8:15: spec.rules[1].callers: must not be empty\n"
           "t.yaml:8:27: spec.rules[1].tools[0]: \"bad tool\" is not a tool name or pattern "
           "(A-Z a-z 0-9 _ - . and * only)\n"
           "t.yaml:9:16: spec.rules[2].callers[0]: \"a.b\" is not a valid app ID (1 to 128 of "
           "A-Z a-z 0-9 _ -; no dots)\n"
           "t.yaml:9:42: spec.rules[2].action: \"maybe\" is not one of: allow, deny\n");
    expect(MCP_HEAD "spec:\n  appId: s\n  endpoint: {streamableHTTP: {url: ftp://x}}\n",
           "t.yaml:6:36: spec.endpoint.streamableHTTP.url: \"ftp://x\" must be an http:// or "
           "https:// URL\n");
    expect(MCP_HEAD "spec: {appId: s}\n---\n" MCP_HEAD "spec: {appId: s}\n",
           "t.yaml:6:1: a second MCPServer named \"s\" (first at t.yaml:1)\n"
           "t.yaml:6:1: a second MCPServer for app \"s\" (first at t.yaml:1)\n");
}

/* ---- run file -------------------------------------------------------------------------------- */

static char tmp_root[256];

static void make_dirs(const char *root)
{
    char p[512];
    const char *dirs[] = {"mcp_client", "mcp_server",       "weather_service",
                          "resources",  "mcp_server/.dapr", "mcp_server/.dapr/resources"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
        mkdir(p, 0755);
    }
}

static void copy_file(const char *from, const char *to)
{
    char buf[8192];
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    size_t n = fread(buf, 1, sizeof(buf), in);
    assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static void rm_tree(const char *root)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void test_runfile_tutorial(void **state)
{
    char rf_path[512], want[8192];
    struct wdn_resources *set;

    snprintf(tmp_root, sizeof(tmp_root), "/tmp/wdn-res-test-XXXXXX");
    assert_non_null(mkdtemp(tmp_root));
    make_dirs(tmp_root);
    snprintf(rf_path, sizeof(rf_path), "%s/mcp-quickstart.yaml", tmp_root);
    copy_file(vec_path("mcp-quickstart.yaml"), rf_path);

    set = wdn_resources_new();
    assert_int_equal(wdn_resources_load_path(set, rf_path), 0);
    assert_string_equal(messages(set), "");
    assert_int_equal(set->n_runfiles, 1);
    const struct wdn_res_runfile *rf = set->runfiles[0];
    assert_int_equal(rf->version, 1);
    assert_int_equal(rf->n_apps, 3);
    assert_string_equal(rf->common.app_log_destination, "console");
    assert_int_equal(rf->common.enable_app_health_check, 0);
    const struct wdn_res_run_app *a = &rf->apps[0];
    assert_string_equal(a->app_id, "mcp-client");
    assert_int_equal(a->app_port, 5001);
    assert_string_equal(a->sh.app_protocol, "http");
    assert_int_equal(a->command.n, 2);
    assert_string_equal(a->command.v[0], "python");
    assert_string_equal(a->command.v[1], "main.py");
    assert_int_equal(a->sh.env.n, 1);
    assert_string_equal(a->sh.env.v[0].name, "APP_PORT");
    assert_string_equal(a->sh.env.v[0].value, "5001");
    assert_string_equal(a->sh.log_level, "info");             /* from common */
    assert_string_equal(a->sh.daprd_log_destination, "file"); /* Dapr's default */
    assert_int_equal(a->dapr_http_port, WDN_RES_INT_UNSET);
    snprintf(want, sizeof(want), "%s/mcp_client", rf->base_dir);
    assert_string_equal(a->app_dir, want);
    assert_int_equal(a->resources.n, 0);
    /* mcp-server has <appDir>/.dapr/resources, which Dapr prefers over common. */
    snprintf(want, sizeof(want), "%s/mcp_server/.dapr/resources", rf->base_dir);
    assert_int_equal(rf->apps[1].resources.n, 1);
    assert_string_equal(rf->apps[1].resources.v[0], want);
    assert_int_equal(rf->apps[2].app_port, 8001);
    wdn_resources_free(set);

    /* The later revision: common resourcesPath relative to the run file's folder. */
    copy_file(vec_path("mcp-quickstart-0e51385.yaml"), rf_path);
    set = wdn_resources_new();
    assert_int_equal(wdn_resources_load_path(set, rf_path), 0);
    rf = set->runfiles[0];
    snprintf(want, sizeof(want), "%s/resources", rf->base_dir);
    assert_int_equal(rf->apps[0].resources.n, 1);
    assert_string_equal(rf->apps[0].resources.v[0], want);
    assert_int_equal(rf->apps[0].app_port, WDN_RES_INT_UNSET);
    assert_int_equal(rf->apps[1].resources.n, 1); /* its own .dapr/resources wins */
    wdn_resources_free(set);
    rm_tree(tmp_root);
}

static void test_errors_runfile(void **state)
{
    expect("version: 2\napps: []\n", "t.yaml:1:10: version: 2 is out of range [1, 1]\n"
                                     "t.yaml:2:7: apps: must not be empty\n");
    expect("version: 1\napps:\n- appID: a\n  appDirPath: /\n  appPort: 70000\n  colour: red\n"
           "  appProtocol: HTTP\n  command: python main.py\n  env: {1X: y}\n"
           "  enableAppHealthCheck: 'false'\n",
           "t.yaml:5:12: apps[0].appPort: 70000 is out of range [-1, 65535]\n"
           "t.yaml:6:3: apps[0]: unknown field \"colour\" in app\n"
           "t.yaml:7:16: apps[0].appProtocol: \"HTTP\" is not one of: http, https, grpc, grpcs, "
           "h2c\n"
           "t.yaml:8:12: apps[0].command: expected a list of strings, found a scalar\n"
           "t.yaml:9:9: apps[0].env: \"1X\" is not an environment variable name\n"
           "t.yaml:10:25: apps[0].enableAppHealthCheck: expected true or false (unquoted), found "
           "\"false\"\n");
    expect("version: 1\napps:\n- appID: a\n  appPort: \"8000\"\n",
           "t.yaml:4:12: apps[0].appPort: expected a whole number (unquoted), found \"8000\"\n"
           "t.yaml:3:3: apps[0]: missing required field \"appDirPath\" in app\n");
    expect("version: 1\napps:\n- {appID: a, appDirPath: /}\n- {appID: a, appDirPath: /tmp}\n",
           "t.yaml:4:3: apps[1]: app ID \"a\" is used twice (first at line 3)\n");
    expect("version: 1\napps:\n- {appDirPath: does-not-exist}\n",
           "t.yaml:3:3: apps[0]: appDirPath \"does-not-exist\" is not a folder (resolved to "
           "/nonexistent/does-not-exist)\n");
    expect("version: 1\napps:\n- {appID: a, appDirPath: /, containerImage: x, daprGRPCPort: 1}\n",
           "t.yaml:3:29: warning: apps[0]: \"containerImage\" is accepted but ignored: warden dev "
           "run starts local processes only\n"
           "t.yaml:3:48: warning: apps[0]: \"daprGRPCPort\" is accepted but ignored: warden has "
           "no gRPC API\n");
}

static void test_runfile_merge(void **state)
{
    struct wdn_resources *set = load_text("version: 1\n"
                                          "common:\n"
                                          "  env: {A: common, B: common}\n"
                                          "  logLevel: debug\n"
                                          "  enableApiLogging: true\n"
                                          "apps:\n"
                                          "- appID: x\n"
                                          "  appDirPath: /\n"
                                          "  env: {B: app, C: app}\n"
                                          "  logLevel: warn\n"
                                          "- appDirPath: /tmp\n");
    assert_string_equal(messages(set), "");
    const struct wdn_res_run_app *a = &set->runfiles[0]->apps[0];
    assert_int_equal(a->sh.env.n, 3);
    assert_string_equal(a->sh.env.v[0].name, "A");
    assert_string_equal(a->sh.env.v[0].value, "common");
    assert_string_equal(a->sh.env.v[1].name, "B");
    assert_string_equal(a->sh.env.v[1].value, "app");
    assert_string_equal(a->sh.env.v[2].name, "C");
    assert_string_equal(a->sh.log_level, "warn");
    assert_int_equal(a->sh.enable_api_logging, 1);
    assert_string_equal(a->app_dir, "/");
    /* appID defaults to the folder's base name. */
    assert_string_equal(set->runfiles[0]->apps[1].app_id, "tmp");
    assert_string_equal(set->runfiles[0]->apps[1].sh.log_level, "debug");
    wdn_resources_free(set);

    /* auditLog (warden's): {appID} makes one file per sidecar, relative to the run file. */
    set = load_text("version: 1\ncommon: {auditLog: \"logs/{appID}.audit.log\"}\n"
                    "apps:\n- {appID: x, appDirPath: /}\n- {appID: y, appDirPath: /, auditLog: "
                    "syslog}\n");
    assert_string_equal(messages(set), "");
    assert_string_equal(set->runfiles[0]->apps[0].audit_log, "/nonexistent/logs/x.audit.log");
    assert_string_equal(set->runfiles[0]->apps[1].audit_log, "syslog");
    wdn_resources_free(set);
    expect("version: 1\ncommon: {auditLog: audit.log}\n"
           "apps:\n- {appID: x, appDirPath: /}\n- {appID: y, appDirPath: /}\n",
           "t.yaml:5:3: apps[1]: auditLog: apps \"x\" and \"y\" would write one audit file "
           "(/nonexistent/audit.log); put {appID} in the file name\n");
}

/* ---- inputs: folders, sorted, *.yaml and *.yml only ----------------------------------------- */

static void test_folder(void **state)
{
    char root[] = "/tmp/wdn-res-dir-XXXXXX", p[512];
    assert_non_null(mkdtemp(root));
    snprintf(p, sizeof(p), "%s/b.yml", root);
    copy_file(vec_path("mcp-server-oauth.yaml"), p);
    snprintf(p, sizeof(p), "%s/a.yaml", root);
    copy_file(vec_path("bearer-component.envsubst.yaml"), p);
    snprintf(p, sizeof(p), "%s/notes.txt", root);
    copy_file(vec_path("bad-several.yaml"), p);
    snprintf(p, sizeof(p), "%s/.hidden.yaml", root);
    copy_file(vec_path("bad-several.yaml"), p);

    struct wdn_resources *set = wdn_resources_new();
    assert_int_equal(wdn_resources_load_path(set, root), 0);
    assert_int_equal(wdn_resources_validate(set, "mcp-server"), 0);
    assert_string_equal(messages(set), "");
    assert_int_equal(set->n_components, 1);
    assert_int_equal(set->n_configurations, 1);
    /* a.yaml before b.yml */
    snprintf(p, sizeof(p), "%s/a.yaml", root);
    assert_string_equal(set->components[0]->pos.file, p);

    /* A file is read once, however many paths lead to it: the folder again under another
     * spelling, one of its files by name, a hard link. Nothing is "a second Component". */
    snprintf(p, sizeof(p), "%s/./", root);
    assert_int_equal(wdn_resources_load_path(set, p), 0);
    snprintf(p, sizeof(p), "%s/b.yml", root);
    assert_int_equal(wdn_resources_load_path(set, p), 0);
    char link_path[512];
    snprintf(link_path, sizeof(link_path), "%s/link.yaml", root);
    assert_int_equal(link(p, link_path), 0);
    assert_int_equal(wdn_resources_load_path(set, link_path), 0);
    assert_int_equal(wdn_resources_validate(set, "mcp-server"), 0);
    assert_string_equal(messages(set), "");
    assert_int_equal(set->n_components, 1);
    assert_int_equal(set->n_configurations, 1);
    assert_int_equal(unlink(link_path), 0);
    wdn_resources_free(set);

    /* Two different files with the same resource are still refused. */
    set = wdn_resources_new();
    snprintf(p, sizeof(p), "%s/c.yaml", root);
    copy_file(vec_path("bearer-component.envsubst.yaml"), p);
    assert_int_equal(wdn_resources_load_path(set, root), 0);
    assert_int_equal(wdn_resources_validate(set, "mcp-server"), WDN_ECONFIG);
    assert_non_null(strstr(messages(set), "a second Component named"));
    assert_int_equal(unlink(p), 0);
    wdn_resources_free(set);

    set = wdn_resources_new();
    snprintf(p, sizeof(p), "%s/missing.yaml", root);
    assert_int_equal(wdn_resources_load_path(set, p), WDN_ECONFIG);
    assert_int_equal(set->n_errors, 1);
    wdn_resources_free(set);
    rm_tree(root);
}

static void test_bad_several_file(void **state)
{
    struct wdn_resources *set = wdn_resources_new();
    char want[16384];
    const char *f = vec_path("bad-several.yaml");

    assert_int_equal(wdn_resources_load_path(set, f), WDN_ECONFIG);
    snprintf(want, sizeof(want),
             "%1$s:4:9: metadata.name: \"Bearer_Component\" may contain only lower-case letters, "
             "digits, '-' and '.' (DNS-1123)\n"
             "%1$s:10:5: spec.metadata[0]: unknown field \"vaule\" in metadata item\n"
             "%1$s:9:5: spec.metadata[0]: metadata \"issuer\" has neither \"value\" nor "
             "\"secretKeyRef\"\n"
             "%1$s:11:17: spec.ignoreErrors: expected true or false (unquoted), found \"yes\"\n"
             "%1$s:19:20: spec.accessControl.defaultAction: \"permit\" is not one of: allow, deny\n"
             "%1$s:25:20: spec.accessControl.policies[0].operations[0].httpVerb[0]: \"post\" is "
             "not an HTTP verb Dapr matches (GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE PATCH, "
             "upper case, or *)\n"
             "%1$s:21:7: spec.accessControl.policies[0]: missing required field \"trustDomain\" in "
             "access control policy\n",
             f);
    assert_string_equal(messages(set), want);
    wdn_resources_free(set);
}

/* ---- docs/resources.md describes every field of the schema tables ---------------------------- */

static char *doc_text;

/* A field is documented when its name appears in backquotes, alone or as the last part of a
 * dotted path (`spec.type`, `handlers[].name`). */
static bool documented(const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(doc_text, name); p; p = strstr(p + 1, name)) {
        if (p > doc_text && (p[-1] == '`' || p[-1] == '.') && p[n] == '`')
            return true;
    }
    return false;
}

static void walk_schema(const struct wdn__res_schema *s, int *missing)
{
    for (const struct wdn__res_field *f = s->fields; f->name; f++) {
        if (f->type != WDN__RES_INLINE && !documented(f->name)) {
            print_error("docs/resources.md does not describe `%s` (%s)\n", f->name, s->what);
            (*missing)++;
        }
        if (f->sub)
            walk_schema(f->sub, missing);
    }
}

static void test_docs_cover_schema(void **state)
{
    char path[1200];
    const char *src = getenv("WDN_SOURCE_DIR");
    snprintf(path, sizeof(path), "%s/docs/resources.md", src ? src : "../..");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    doc_text = calloc(1, 1 << 20);
    assert_non_null(doc_text);
    size_t n = fread(doc_text, 1, (1 << 20) - 1, f);
    fclose(f);
    assert_true(n > 0);
    int missing = 0;
    walk_schema(&wdn__res_component_schema, &missing);
    walk_schema(&wdn__res_configuration_schema, &missing);
    walk_schema(&wdn__res_mcpserver_schema, &missing);
    walk_schema(&wdn__res_runfile_schema, &missing);
    free(doc_text);
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tutorial_template),
        cmocka_unit_test(test_tutorial_files_load),
        cmocka_unit_test(test_pipeline_missing_component),
        cmocka_unit_test(test_pipeline_type_and_version),
        cmocka_unit_test(test_scalars_stay_text),
        cmocka_unit_test(test_errors_component),
        cmocka_unit_test(test_errors_yaml),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_error_cap),
        cmocka_unit_test(test_more_limits),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_configuration_acl),
        cmocka_unit_test(test_errors_configuration),
        cmocka_unit_test(test_configuration_tracing),
        cmocka_unit_test(test_mcpserver),
        cmocka_unit_test(test_errors_mcpserver),
        cmocka_unit_test(test_runfile_tutorial),
        cmocka_unit_test(test_errors_runfile),
        cmocka_unit_test(test_runfile_merge),
        cmocka_unit_test(test_folder),
        cmocka_unit_test(test_bad_several_file),
        cmocka_unit_test(test_docs_cover_schema),
    };
    return cmocka_run_group_tests(tests, setup_paths, NULL);
}
