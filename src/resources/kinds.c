/* The schema table of each kind (field, type, required, bounds, nested schema) and the checks
 * that tie fields together. docs/resources.md describes the same tables for people. */
#include "resources/internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"

#define FIELD(n, t, fl, type, member)                                                              \
    {                                                                                              \
        n, t, fl, offsetof(type, member), 0, NULL, NULL, 0, 0, NULL, NULL                          \
    }
#define FIELD_CHK(n, t, fl, type, member, chk)                                                     \
    {                                                                                              \
        n, t, fl, offsetof(type, member), 0, NULL, NULL, 0, 0, chk, NULL                           \
    }
#define FIELD_ENUM(n, fl, type, member, list)                                                      \
    {                                                                                              \
        n, WDN__RES_ENUM, fl, offsetof(type, member), 0, NULL, list, 0, 0, NULL, NULL              \
    }
#define FIELD_INT(n, fl, type, member, lo, hi)                                                     \
    {                                                                                              \
        n, WDN__RES_INT, fl, offsetof(type, member), 0, NULL, NULL, lo, hi, NULL, NULL             \
    }
#define FIELD_OBJ(n, fl, type, member, schema)                                                     \
    {                                                                                              \
        n, WDN__RES_OBJ, fl, offsetof(type, member), 0, &schema, NULL, 0, 0, NULL, NULL            \
    }
#define FIELD_LIST(n, fl, type, member, count, schema)                                             \
    {                                                                                              \
        n, WDN__RES_OBJLIST, fl, offsetof(type, member), offsetof(type, count), &schema, NULL, 0,  \
            0, NULL, NULL                                                                          \
    }
#define FIELD_INLINE(type, member, schema)                                                         \
    {                                                                                              \
        "", WDN__RES_INLINE, 0, offsetof(type, member), 0, &schema, NULL, 0, 0, NULL, NULL         \
    }
#define FIELD_WARN(n, note)                                                                        \
    {                                                                                              \
        n, WDN__RES_ANY, WDN__RES_F_WARN, 0, 0, NULL, NULL, 0, 0, NULL, note                       \
    }
#define FIELD_WARN_T(n, t, type, member, note)                                                     \
    {                                                                                              \
        n, t, WDN__RES_F_WARN, offsetof(type, member), 0, NULL, NULL, INT64_MIN + 1, INT64_MAX,    \
            NULL, note                                                                             \
    }
#define FIELD_END                                                                                  \
    {                                                                                              \
        NULL, WDN__RES_ANY, 0, 0, 0, NULL, NULL, 0, 0, NULL, NULL                                  \
    }

#define REQ WDN__RES_F_REQUIRED
#define NONEMPTY WDN__RES_F_NONEMPTY
#define CI WDN__RES_F_CI

static const char *const actions[] = {"allow", "deny", NULL};

/* ---- metadata ------------------------------------------------------------------------------- */

static const struct wdn__res_field objmeta_fields[] = {
    FIELD_CHK("name", WDN__RES_STR, REQ, struct wdn_res_objmeta, name,
              wdn__res_check_dns_subdomain),
    FIELD_CHK("namespace", WDN__RES_STR, 0, struct wdn_res_objmeta, ns, wdn__res_check_dns_label),
    FIELD("labels", WDN__RES_MAP, 0, struct wdn_res_objmeta, labels),
    FIELD("annotations", WDN__RES_MAP, 0, struct wdn_res_objmeta, annotations),
    FIELD_END,
};
static const struct wdn__res_schema objmeta_schema = {"metadata", sizeof(struct wdn_res_objmeta),
                                                      objmeta_fields, NULL};

/* ---- Component ------------------------------------------------------------------------------ */

static const struct wdn__res_field secret_ref_fields[] = {
    FIELD("name", WDN__RES_STR, REQ | NONEMPTY, struct wdn_res_secret_ref, name),
    FIELD("key", WDN__RES_STR, REQ | NONEMPTY, struct wdn_res_secret_ref, key),
    FIELD_END,
};
static const struct wdn__res_schema secret_ref_schema = {
    "secretKeyRef", sizeof(struct wdn_res_secret_ref), secret_ref_fields, NULL};

static void meta_item_check(struct wdn__res_ctx *ctx, void *obj, const yaml_node_t *node)
{
    struct wdn_res_meta_item *m = obj;
    bool has_ref = m->secret_ref.pos.line != 0;

    if (m->value && has_ref)
        wdn__res_err(ctx, node, "give either \"value\" or \"secretKeyRef\", not both");
    else if (!m->value && !has_ref && m->name)
        wdn__res_err(ctx, node, "metadata \"%s\" has neither \"value\" nor \"secretKeyRef\"",
                     m->name);
    /* envsubst did not run: the component would hold the literal text (an issuer of
     * "https://${AUTH0_DOMAIN}/"). Refused here, for every component type, so that `check`,
     * `apply` and the sidecar all refuse it with this message. */
    const char *var = m->value ? strstr(m->value, "${") : NULL;
    if (var) {
        const char *end = strchr(var, '}');
        int len = end && end - var < 64 ? (int)(end - var + 1) : 2;
        wdn__res_err(ctx, node,
                     "value of \"%s\" contains \"%.*s\": variables are not expanded by warden "
                     "(run the file through envsubst first: envsubst < FILE | warden apply -f -)",
                     m->name ? m->name : "?", len, var);
    }
}

static const struct wdn__res_field meta_item_fields[] = {
    FIELD("name", WDN__RES_STR, REQ | NONEMPTY, struct wdn_res_meta_item, name),
    FIELD("value", WDN__RES_STR, 0, struct wdn_res_meta_item, value),
    FIELD_OBJ("secretKeyRef", 0, struct wdn_res_meta_item, secret_ref, secret_ref_schema),
    FIELD_END,
};
static const struct wdn__res_schema meta_item_schema = {
    "metadata item", sizeof(struct wdn_res_meta_item), meta_item_fields, meta_item_check};

static void component_spec_check(struct wdn__res_ctx *ctx, void *obj, const yaml_node_t *node)
{
    struct wdn_res_component_spec *spec = obj;

    for (size_t i = 0; i < spec->n_metadata; i++) {
        for (size_t j = 0; j < i; j++) {
            const char *a = spec->metadata[i].name, *b = spec->metadata[j].name;
            if (a && b && strcmp(a, b) == 0) {
                size_t mark = wdn__res_path_push(ctx, ".metadata[%zu]", i);
                wdn__res_err_at(ctx, &spec->metadata[i].pos,
                                "duplicate metadata name \"%s\" (first at line %u)", a,
                                spec->metadata[j].pos.line);
                wdn__res_path_pop(ctx, mark);
                break;
            }
        }
    }
    if (spec->ignore_errors == 1) {
        const yaml_node_t *n = wdn__res_map_get(ctx->doc, node, "ignoreErrors");
        wdn__res_warn(ctx, n ? n : node,
                      "ignoreErrors: true is accepted, but warden fails closed: a component "
                      "that fails to initialise is an error, never skipped");
    }
}

static const struct wdn__res_field component_spec_fields[] = {
    FIELD("type", WDN__RES_STR, REQ | NONEMPTY, struct wdn_res_component_spec, type),
    FIELD("version", WDN__RES_STR, REQ | NONEMPTY, struct wdn_res_component_spec, version),
    FIELD("initTimeout", WDN__RES_STR, 0, struct wdn_res_component_spec, init_timeout),
    FIELD("ignoreErrors", WDN__RES_BOOL, 0, struct wdn_res_component_spec, ignore_errors),
    FIELD_LIST("metadata", 0, struct wdn_res_component_spec, metadata, n_metadata,
               meta_item_schema),
    FIELD_END,
};
static const struct wdn__res_schema component_spec_schema = {
    "Component spec", sizeof(struct wdn_res_component_spec), component_spec_fields,
    component_spec_check};

static const struct wdn__res_field component_auth_fields[] = {
    FIELD("secretStore", WDN__RES_STR, REQ | NONEMPTY, struct wdn_res_component_auth, secret_store),
    FIELD_END,
};
static const struct wdn__res_schema component_auth_schema = {
    "auth", sizeof(struct wdn_res_component_auth), component_auth_fields, NULL};

static const struct wdn__res_field component_fields[] = {
    FIELD("apiVersion", WDN__RES_STR, REQ, struct wdn_res_component, api_version),
    FIELD("kind", WDN__RES_STR, REQ, struct wdn_res_component, kind),
    FIELD_OBJ("metadata", REQ, struct wdn_res_component, metadata, objmeta_schema),
    FIELD_OBJ("spec", REQ, struct wdn_res_component, spec, component_spec_schema),
    FIELD_OBJ("auth", 0, struct wdn_res_component, auth, component_auth_schema),
    FIELD_CHK("scopes", WDN__RES_STRLIST, 0, struct wdn_res_component, scopes,
              wdn__res_check_app_id),
    FIELD_END,
};
const struct wdn__res_schema wdn__res_component_schema = {
    "Component", sizeof(struct wdn_res_component), component_fields, NULL};

/* ---- Configuration -------------------------------------------------------------------------- */

static const char *check_handler_version(const char *s)
{
    return strcmp(s, "v1") == 0 ? NULL : "is not a supported handler version (v1)";
}

static const struct wdn__res_field handler_fields[] = {
    FIELD("name", WDN__RES_STR, REQ | NONEMPTY, struct wdn_res_handler, name),
    FIELD("type", WDN__RES_STR, REQ | NONEMPTY, struct wdn_res_handler, type),
    FIELD_CHK("version", WDN__RES_STR, 0, struct wdn_res_handler, version, check_handler_version),
    FIELD_WARN("selector", "handler selectors are not supported; the handler always runs"),
    FIELD_END,
};
static const struct wdn__res_schema handler_schema = {"handler", sizeof(struct wdn_res_handler),
                                                      handler_fields, NULL};

static const struct wdn__res_field pipeline_fields[] = {
    FIELD_LIST("handlers", 0, struct wdn_res_pipeline, handlers, n_handlers, handler_schema),
    FIELD_END,
};
static const struct wdn__res_schema pipeline_schema = {"pipeline", sizeof(struct wdn_res_pipeline),
                                                       pipeline_fields, NULL};

static const char *const http_verbs[] = {"GET",     "HEAD",  "POST",  "PUT", "DELETE", "CONNECT",
                                         "OPTIONS", "TRACE", "PATCH", "*",   NULL};

static const char *check_verb(const char *s)
{
    for (const char *const *v = http_verbs; *v; v++) {
        if (strcmp(s, *v) == 0)
            return NULL;
    }
    return "is not an HTTP verb Dapr matches (GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE "
           "PATCH, upper case, or *)";
}

/*
 * An operation is matched segment by segment (Dapr's trie). Names that could never match or
 * would match differently from how they read are refused: "..", ".", empty segments, "?", "#",
 * control bytes, percent escapes, "**" anywhere but the last segment, and a lone "*" segment
 * before the last.
 */
static const char *check_operation(const char *s)
{
    size_t n = strlen(s);
    const char *seg = s[0] == '/' ? s + 1 : s;

    if (n == 0)
        return "is empty";
    if (n > WDN_POLICY_MAX_OP_BYTES)
        return "is too long";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '?' || c == '#' || c == '%' || c == '\\')
            return "contains a character operations cannot hold (control, ?, #, %, \\)";
    }
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0 && (end || seg != s))
            return "has an empty segment (\"//\" or a trailing \"/\")";
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return "has a \".\" or \"..\" segment";
        if (len >= 2 && memmem(seg, len, "**", 2) && (len != 2 || end))
            return "uses \"**\" other than as the whole last segment";
        /* Dapr's trie skips a lone-star node short of the end of the path: an operation with
         * a star segment in the middle decides only paths whose segment there is a literal
         * star. */
        if (len == 1 && seg[0] == '*' && end)
            return "uses \"*\" as a whole segment before the last one, which Dapr never matches "
                   "(\"/a/*/b\" does not decide a/x/b); name the segment, or end with \"/*\" or "
                   "\"/**\"";
        if (end == NULL)
            break;
        seg = end + 1;
    }
    return NULL;
}

static void operation_check(struct wdn__res_ctx *ctx, void *obj, const yaml_node_t *node)
{
    struct wdn_res_acl_operation *op = obj;

    for (size_t i = 0; i < op->verbs.n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(op->verbs.v[i], op->verbs.v[j]) == 0) {
                wdn__res_err(ctx, node, "httpVerb lists \"%s\" twice", op->verbs.v[i]);
                break;
            }
        }
    }
}

static const struct wdn__res_field operation_fields[] = {
    FIELD_CHK("name", WDN__RES_STR, REQ | NONEMPTY, struct wdn_res_acl_operation, name,
              check_operation),
    FIELD_CHK("httpVerb", WDN__RES_STRLIST, 0, struct wdn_res_acl_operation, verbs, check_verb),
    FIELD_ENUM("action", REQ | CI, struct wdn_res_acl_operation, action, actions),
    FIELD_END,
};
static const struct wdn__res_schema operation_schema = {
    "operation", sizeof(struct wdn_res_acl_operation), operation_fields, operation_check};

/* An operation name without its leading '/' (Dapr adds one). */
static struct wdn_str op_path(const char *name)
{
    return wdn_str_from_cstr(name[0] == '/' ? name + 1 : name);
}

/* True when operation path `above` is a proper segment prefix of `below` whose last segment is
 * not a lone star: Dapr's trie stores `below` under `above`'s node, and a search that reaches
 * a node with an action there returns it (only a lone star short of the end lets it go on), so
 * `below` is never reached. HTTP compares lower-cased, as the trie does. */
static bool op_shadows(struct wdn_str above, struct wdn_str below)
{
    if (above.len == 0 || below.len <= above.len || below.p[above.len] != '/')
        return false;
    if (!wdn_str_eq_case(above, (struct wdn_str){below.p, above.len}))
        return false;
    return !(above.len == 1 ? above.p[0] == '*'
                            : above.p[above.len - 1] == '*' && above.p[above.len - 2] == '/');
}

static void policy_check(struct wdn__res_ctx *ctx, void *obj, const yaml_node_t *node)
{
    struct wdn_res_acl_policy *p = obj;

    /* Dapr's trie keeps the first of two equal operations and drops the other silently; for
     * HTTP they are compared lower-cased. An ambiguous policy is an error here, and so is an
     * operation below another one, which the trie never reaches (a deny written there would
     * silently not apply). */
    for (size_t i = 0; i < p->n_operations; i++) {
        const char *a = p->operations[i].name;
        for (size_t j = 0; a && j < p->n_operations; j++) {
            const char *b = p->operations[j].name;
            bool repeat = b != NULL && j < i && wdn_str_eq_case(op_path(a), op_path(b));
            bool below = b != NULL && j != i && !repeat && op_shadows(op_path(b), op_path(a));
            if (!repeat && !below)
                continue;
            size_t mark = wdn__res_path_push(ctx, ".operations[%zu]", i);
            if (repeat)
                wdn__res_err_at(ctx, &p->operations[i].pos,
                                "operation \"%s\" repeats \"%s\" (line %u); Dapr would ignore "
                                "this one",
                                a, b, p->operations[j].pos.line);
            else
                wdn__res_err_at(ctx, &p->operations[i].pos,
                                "operation \"%s\" is never reached: \"%s\" (line %u) decides "
                                "every path below it, as in Dapr; remove one of them or list the "
                                "paths beside \"%s\"",
                                a, b, p->operations[j].pos.line, b);
            wdn__res_path_pop(ctx, mark);
            break;
        }
    }
    (void)node;
}

static const struct wdn__res_field policy_fields[] = {
    FIELD_CHK("appId", WDN__RES_STR, REQ, struct wdn_res_acl_policy, app_id, wdn__res_check_app_id),
    FIELD_ENUM("defaultAction", CI, struct wdn_res_acl_policy, default_action, actions),
    FIELD("trustDomain", WDN__RES_STR, REQ | NONEMPTY, struct wdn_res_acl_policy, trust_domain),
    FIELD("namespace", WDN__RES_STR, REQ | NONEMPTY, struct wdn_res_acl_policy, ns),
    FIELD_LIST("operations", 0, struct wdn_res_acl_policy, operations, n_operations,
               operation_schema),
    FIELD_END,
};
static const struct wdn__res_schema policy_schema = {
    "access control policy", sizeof(struct wdn_res_acl_policy), policy_fields, policy_check};

static void access_control_check(struct wdn__res_ctx *ctx, void *obj, const yaml_node_t *node)
{
    struct wdn_res_access_control *ac = obj;

    /* Dapr keys policies by appId||namespace and the last one silently wins. */
    for (size_t i = 0; i < ac->n_policies; i++) {
        const struct wdn_res_acl_policy *a = &ac->policies[i];
        for (size_t j = 0; a->app_id && a->ns && j < i; j++) {
            const struct wdn_res_acl_policy *b = &ac->policies[j];
            if (b->app_id && b->ns && strcmp(a->app_id, b->app_id) == 0 &&
                strcmp(a->ns, b->ns) == 0) {
                size_t mark = wdn__res_path_push(ctx, ".policies[%zu]", i);
                wdn__res_err_at(ctx, &a->pos,
                                "a second policy for app \"%s\" in namespace \"%s\" (first at "
                                "line %u)",
                                a->app_id, a->ns, b->pos.line);
                wdn__res_path_pop(ctx, mark);
                break;
            }
        }
    }
    if (ac->default_action == NULL && ac->n_policies > 0 &&
        wdn__res_map_get(ctx->doc, node, "defaultAction") == NULL)
        wdn__res_warn(ctx, node,
                      "no defaultAction with policies given: the global default is deny (as in "
                      "Dapr)");
}

static const struct wdn__res_field access_control_fields[] = {
    FIELD_ENUM("defaultAction", CI, struct wdn_res_access_control, default_action, actions),
    FIELD("trustDomain", WDN__RES_STR, 0, struct wdn_res_access_control, trust_domain),
    FIELD_LIST("policies", 0, struct wdn_res_access_control, policies, n_policies, policy_schema),
    FIELD_END,
};
static const struct wdn__res_schema access_control_schema = {
    "accessControl", sizeof(struct wdn_res_access_control), access_control_fields,
    access_control_check};

/* ---- spec.tracing ---------------------------------------------------------------------------- */

static const char *const otel_protocols[] = {"http", "grpc", NULL};

static void otel_check(struct wdn__res_ctx *ctx, void *obj, const yaml_node_t *node)
{
    struct wdn_res_tracing_otel *o = obj;

    if (o->protocol && strcmp(o->protocol, "grpc") == 0)
        wdn__res_err(
            ctx, node,
            "otel.protocol grpc is not supported by warden: use protocol: http (OTLP/HTTP, "
            "usually port 4318)");
    else if (o->protocol == NULL && o->endpoint_address)
        wdn__res_warn(ctx, node,
                      "no otel.protocol: warden sends OTLP/HTTP (protocol: http), where Dapr "
                      "would use grpc");
}

static const struct wdn__res_field otel_fields[] = {
    FIELD("endpointAddress", WDN__RES_STR, NONEMPTY, struct wdn_res_tracing_otel, endpoint_address),
    FIELD("isSecure", WDN__RES_BOOL, 0, struct wdn_res_tracing_otel, is_secure),
    FIELD_ENUM("protocol", CI, struct wdn_res_tracing_otel, protocol, otel_protocols),
    FIELD_END,
};
static const struct wdn__res_schema otel_schema = {"otel", sizeof(struct wdn_res_tracing_otel),
                                                   otel_fields, otel_check};

/* samplingRate is a string in Dapr's schema; unquoted numbers are taken too. */
static void tracing_check(struct wdn__res_ctx *ctx, void *obj, const yaml_node_t *node)
{
    struct wdn_res_tracing *t = obj;
    char *end = NULL;
    double v = 0.0001;

    if (t->sampling_rate) {
        v = strtod(t->sampling_rate, &end);
        if (*t->sampling_rate == '\0' || *t->sampling_rate == ' ' || *end != '\0' || !(v >= 0) ||
            !(v <= 1)) {
            const yaml_node_t *at = wdn__res_map_get(ctx->doc, node, "samplingRate");
            wdn__res_err(ctx, at ? at : node,
                         "tracing.samplingRate \"%s\" is not a number from 0 to 1 (\"1\" samples "
                         "every trace, \"0\" none)",
                         t->sampling_rate);
            v = 0;
        }
    }
    t->rate = v;
}

static const struct wdn__res_field tracing_fields[] = {
    FIELD("samplingRate", WDN__RES_STR, 0, struct wdn_res_tracing, sampling_rate),
    FIELD_OBJ("otel", 0, struct wdn_res_tracing, otel, otel_schema),
    FIELD_WARN("stdout", "writing spans to stdout is not supported by warden: use otel"),
    FIELD_WARN("zipkin", "Zipkin export is not supported by warden: use otel with protocol: http"),
    FIELD_END,
};
static const struct wdn__res_schema tracing_schema = {"tracing", sizeof(struct wdn_res_tracing),
                                                      tracing_fields, tracing_check};

static const struct wdn__res_field config_spec_fields[] = {
    FIELD_OBJ("httpPipeline", 0, struct wdn_res_config_spec, http_pipeline, pipeline_schema),
    FIELD_OBJ("appHttpPipeline", 0, struct wdn_res_config_spec, app_http_pipeline, pipeline_schema),
    FIELD_OBJ("accessControl", 0, struct wdn_res_config_spec, access_control,
              access_control_schema),
    /* Dapr's other Configuration keys (pkg/config/configuration.go): known, not used here. */
    FIELD_OBJ("tracing", 0, struct wdn_res_config_spec, tracing, tracing_schema),
    FIELD_WARN("metric", "warden always serves /metrics"),
    FIELD_WARN("metrics", "warden always serves /metrics"),
    FIELD_WARN("mtls", "warden always uses mTLS between sidecars, with the project's CA"),
    FIELD_WARN("secrets", "secret scoping is not supported by warden"),
    FIELD_WARN("nameResolution", "warden resolves app IDs through its own registry"),
    FIELD_WARN("features", "Dapr preview features do not apply to warden"),
    FIELD_WARN("api", "API allow/deny lists are not supported by warden"),
    FIELD_WARN("components", "component deny lists are not supported by warden"),
    FIELD_WARN("logging", "API logging settings are not supported by warden"),
    FIELD_WARN("wasm", "Wasm is not supported by warden"),
    FIELD_WARN("workflow", "workflows are not supported by warden"),
    FIELD_END,
};
static const struct wdn__res_schema config_spec_schema = {
    "Configuration spec", sizeof(struct wdn_res_config_spec), config_spec_fields, NULL};

static const struct wdn__res_field configuration_fields[] = {
    FIELD("apiVersion", WDN__RES_STR, REQ, struct wdn_res_configuration, api_version),
    FIELD("kind", WDN__RES_STR, REQ, struct wdn_res_configuration, kind),
    FIELD_OBJ("metadata", REQ, struct wdn_res_configuration, metadata, objmeta_schema),
    FIELD_OBJ("spec", 0, struct wdn_res_configuration, spec, config_spec_schema),
    FIELD_END,
};
const struct wdn__res_schema wdn__res_configuration_schema = {
    "Configuration", sizeof(struct wdn_res_configuration), configuration_fields, NULL};

/* ---- MCPServer ------------------------------------------------------------------------------ */

static const char *check_caller(const char *s)
{
    return strcmp(s, "*") == 0 ? NULL : wdn__res_check_app_id(s);
}

/* MCP tool names (spec 2025-11-25): 1 to 128 of A-Z a-z 0-9 _ - . ; patterns add '*'. */
static const char *check_tool(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 128)
        return "must be 1 to 128 characters";
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '*'))
            return "is not a tool name or pattern (A-Z a-z 0-9 _ - . and * only)";
    }
    return NULL;
}

static const char *check_scope(const char *s)
{
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        /* RFC 6749 scope-token: %x21 / %x23-5B / %x5D-7E */
        if (c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e)
            return "is not a valid OAuth scope token (RFC 6749 section 3.3)";
    }
    return NULL;
}

static void mcp_rule_check(struct wdn__res_ctx *ctx, void *obj, const yaml_node_t *node)
{
    struct wdn_res_mcp_rule *r = obj;

    /* A condition on a deny rule would make the deny depend on what the token carries, so a
     * caller could dodge it by asking for fewer scopes. Conditions narrow grants only. */
    if (r->action && strcmp(r->action, "deny") == 0 && (r->require_scopes.n || r->require_claims.n))
        wdn__res_err(ctx, node,
                     "requireScopes and requireClaims apply to allow rules only (a deny rule "
                     "with conditions could be dodged by a token without them)");
}

static const struct wdn__res_field mcp_rule_fields[] = {
    FIELD_CHK("callers", WDN__RES_STRLIST, REQ | NONEMPTY, struct wdn_res_mcp_rule, callers,
              check_caller),
    FIELD_CHK("tools", WDN__RES_STRLIST, REQ | NONEMPTY, struct wdn_res_mcp_rule, tools,
              check_tool),
    FIELD_ENUM("action", REQ | CI, struct wdn_res_mcp_rule, action, actions),
    FIELD_CHK("requireScopes", WDN__RES_STRLIST, 0, struct wdn_res_mcp_rule, require_scopes,
              check_scope),
    FIELD("requireClaims", WDN__RES_MAP, 0, struct wdn_res_mcp_rule, require_claims),
    FIELD_END,
};
static const struct wdn__res_schema mcp_rule_schema = {"rule", sizeof(struct wdn_res_mcp_rule),
                                                       mcp_rule_fields, mcp_rule_check};

static const char *check_http_url(const char *s)
{
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return "must be an http:// or https:// URL";
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return "must not contain spaces or control characters";
    }
    return NULL;
}

static const struct wdn__res_field mcp_http_fields[] = {
    FIELD_CHK("url", WDN__RES_STR, REQ, struct wdn_res_mcp_http_endpoint, url, check_http_url),
    FIELD_END,
};
static const struct wdn__res_schema mcp_http_schema = {
    "streamableHTTP", sizeof(struct wdn_res_mcp_http_endpoint), mcp_http_fields, NULL};

static const struct wdn__res_field mcp_endpoint_fields[] = {
    FIELD_OBJ("streamableHTTP", REQ, struct wdn_res_mcp_endpoint, streamable_http, mcp_http_schema),
    FIELD_END,
};
static const struct wdn__res_schema mcp_endpoint_schema = {
    "endpoint", sizeof(struct wdn_res_mcp_endpoint), mcp_endpoint_fields, NULL};

static void mcp_spec_check(struct wdn__res_ctx *ctx, void *obj, const yaml_node_t *node)
{
    struct wdn_res_mcpserver_spec *spec = obj;

    if (spec->default_action == NULL)
        spec->default_action = "deny";
    if (spec->n_rules > WDN_POLICY_MAX_RULES)
        wdn__res_err(ctx, node, "more than %u rules", WDN_POLICY_MAX_RULES);
}

static const struct wdn__res_field mcp_spec_fields[] = {
    FIELD_CHK("appId", WDN__RES_STR, REQ, struct wdn_res_mcpserver_spec, app_id,
              wdn__res_check_app_id),
    FIELD_ENUM("defaultAction", CI, struct wdn_res_mcpserver_spec, default_action, actions),
    FIELD_OBJ("endpoint", 0, struct wdn_res_mcpserver_spec, endpoint, mcp_endpoint_schema),
    FIELD_LIST("rules", 0, struct wdn_res_mcpserver_spec, rules, n_rules, mcp_rule_schema),
    FIELD_END,
};
static const struct wdn__res_schema mcp_spec_schema = {
    "MCPServer spec", sizeof(struct wdn_res_mcpserver_spec), mcp_spec_fields, mcp_spec_check};

static const struct wdn__res_field mcpserver_fields[] = {
    FIELD("apiVersion", WDN__RES_STR, REQ, struct wdn_res_mcpserver, api_version),
    FIELD("kind", WDN__RES_STR, REQ, struct wdn_res_mcpserver, kind),
    FIELD_OBJ("metadata", REQ, struct wdn_res_mcpserver, metadata, objmeta_schema),
    FIELD_OBJ("spec", REQ, struct wdn_res_mcpserver, spec, mcp_spec_schema),
    FIELD_END,
};
const struct wdn__res_schema wdn__res_mcpserver_schema = {
    "MCPServer", sizeof(struct wdn_res_mcpserver), mcpserver_fields, NULL};

/* ---- Run file (dapr/cli pkg/runfileconfig, pkg/standalone/run.go) --------------------------- */

static const char *const app_protocols[] = {"http", "https", "grpc", "grpcs", "h2c", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", "fatal", "panic", NULL};
static const char *const log_dests[] = {"console", "file", "fileAndConsole", NULL};
static const char *const pull_policies[] = {"Always", "Never", "IfNotPresent", NULL};

static const char *check_env_name(const char *s)
{
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return "is not an environment variable name";
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return "is not an environment variable name";
    }
    return NULL;
}

#define SH struct wdn_res_run_shared
static const struct wdn__res_field run_shared_fields[] = {
    FIELD("configFilePath", WDN__RES_STR, NONEMPTY, SH, config_file_path),
    FIELD_ENUM("appProtocol", 0, SH, app_protocol, app_protocols),
    FIELD_WARN_T("apiListenAddresses", WDN__RES_STR, SH, api_listen_addresses,
                 "sidecars listen on 127.0.0.1"),
    FIELD_WARN_T("enableProfiling", WDN__RES_BOOL, SH, enable_profiling,
                 "profiling is not supported by warden"),
    FIELD_ENUM("logLevel", 0, SH, log_level, log_levels),
    FIELD_INT("appMaxConcurrency", 0, SH, app_max_concurrency, -1, 1000000),
    FIELD_WARN_T("placementHostAddress", WDN__RES_STR, SH, placement_host_address,
                 "warden has no actors or placement service"),
    FIELD_WARN_T("schedulerHostAddress", WDN__RES_STR, SH, scheduler_host_address,
                 "warden has no scheduler service"),
    FIELD("resourcesPath", WDN__RES_STR, NONEMPTY, SH, resources_path),
    FIELD("resourcesPaths", WDN__RES_STRLIST, 0, SH, resources_paths),
    FIELD_WARN_T("appSSL", WDN__RES_BOOL, SH, app_ssl,
                 "deprecated in Dapr; use appProtocol: https"),
    FIELD("maxBodySize", WDN__RES_STR, NONEMPTY, SH, max_body_size),
    FIELD("readBufferSize", WDN__RES_STR, NONEMPTY, SH, read_buffer_size),
    FIELD("enableAppHealthCheck", WDN__RES_BOOL, 0, SH, enable_app_health_check),
    FIELD("appHealthCheckPath", WDN__RES_STR, NONEMPTY, SH, app_health_check_path),
    FIELD_INT("appHealthProbeInterval", 0, SH, app_health_probe_interval, 0, 86400),
    FIELD_INT("appHealthProbeTimeout", 0, SH, app_health_probe_timeout, 0, 86400000),
    FIELD_INT("appHealthThreshold", 0, SH, app_health_threshold, 0, 1000000),
    FIELD("enableApiLogging", WDN__RES_BOOL, 0, SH, enable_api_logging),
    FIELD_WARN_T("runtimePath", WDN__RES_STR, SH, runtime_path,
                 "warden runs its own sidecar binary"),
    FIELD_CHK("env", WDN__RES_MAP, 0, SH, env, check_env_name),
    FIELD_ENUM("daprdLogDestination", 0, SH, daprd_log_destination, log_dests),
    FIELD_ENUM("appLogDestination", 0, SH, app_log_destination, log_dests),
    FIELD("auditLog", WDN__RES_STR, NONEMPTY, SH, audit_log),
    FIELD_END,
};
#undef SH
static const struct wdn__res_schema run_shared_schema = {
    "common", sizeof(struct wdn_res_run_shared), run_shared_fields, NULL};

#define APP struct wdn_res_run_app
static const struct wdn__res_field run_app_fields[] = {
    FIELD_INLINE(APP, sh, run_shared_schema),
    FIELD_CHK("appID", WDN__RES_STR, 0, APP, app_id, wdn__res_check_app_id),
    FIELD("appDirPath", WDN__RES_STR, REQ | NONEMPTY, APP, app_dir_path),
    FIELD("appChannelAddress", WDN__RES_STR, NONEMPTY, APP, app_channel_address),
    FIELD_INT("appPort", 0, APP, app_port, -1, 65535),
    FIELD_INT("daprHTTPPort", 0, APP, dapr_http_port, -1, 65535),
    FIELD_WARN_T("daprGRPCPort", WDN__RES_INT, APP, dapr_grpc_port, "warden has no gRPC API"),
    FIELD_WARN_T("daprInternalGRPCPort", WDN__RES_INT, APP, dapr_internal_grpc_port,
                 "sidecars talk HTTP over mTLS on a port warden picks"),
    FIELD_INT("metricsPort", 0, APP, metrics_port, -1, 65535),
    FIELD_WARN_T("profilePort", WDN__RES_INT, APP, profile_port,
                 "profiling is not supported by warden"),
    FIELD_WARN_T("unixDomainSocket", WDN__RES_STR, APP, unix_domain_socket,
                 "sidecars listen on TCP 127.0.0.1"),
    FIELD("command", WDN__RES_STRLIST, 0, APP, command),
    FIELD_WARN_T("containerImage", WDN__RES_STR, APP, container_image,
                 "warden dev run starts local processes only"),
    FIELD_ENUM("containerImagePullPolicy", WDN__RES_F_WARN, APP, container_image_pull_policy,
               pull_policies),
    FIELD_WARN_T("createService", WDN__RES_BOOL, APP, create_service,
                 "warden dev run starts local processes only"),
    FIELD_END,
};
#undef APP
static const struct wdn__res_schema run_app_schema = {"app", sizeof(struct wdn_res_run_app),
                                                      run_app_fields, NULL};

static const struct wdn__res_field runfile_fields[] = {
    FIELD_INT("version", REQ, struct wdn_res_runfile, version, 1, 1),
    FIELD("name", WDN__RES_STR, 0, struct wdn_res_runfile, name),
    FIELD_OBJ("common", 0, struct wdn_res_runfile, common, run_shared_schema),
    FIELD_LIST("apps", REQ | NONEMPTY, struct wdn_res_runfile, apps, n_apps, run_app_schema),
    FIELD_END,
};
const struct wdn__res_schema wdn__res_runfile_schema = {"run file", sizeof(struct wdn_res_runfile),
                                                        runfile_fields, NULL};
