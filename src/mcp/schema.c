/* JSON Schema 2020-12 for tool input and output schemas: compiled once at registration into
 * nodes (schema_int.h), refusing what cannot be enforced, so that a schema is never silently
 * half-checked. References resolve inside the document only (JSON pointers and $anchor); nothing
 * is ever fetched. Patterns are compiled by PCRE2 and matched with limits (schema_validate.c). */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "base/num.h"
#include "mcp/schema_int.h"

/* Keywords that only annotate: accepted and ignored, as JSON Schema 2020-12 says. */
static const char *const annotations[] = {
    "$schema",         "$comment",      "title",    "description", "default",
    "examples",        "deprecated",    "readOnly", "writeOnly",   "contentMediaType",
    "contentEncoding", "contentSchema", "$anchor",  NULL};

static const struct {
    const char *name;
    int format;
} formats[] = {
    {"date-time", F_DATE_TIME},
    {"date", F_DATE},
    {"time", F_TIME},
    {"duration", F_DURATION},
    {"email", F_EMAIL},
    {"hostname", F_HOSTNAME},
    {"ipv4", F_IPV4},
    {"ipv6", F_IPV6},
    {"uri", F_URI},
    {"uri-reference", F_URI_REFERENCE},
    {"uuid", F_UUID},
    {"json-pointer", F_JSON_POINTER},
    {"relative-json-pointer", F_RELATIVE_JSON_POINTER},
    {"regex", F_REGEX},
};

struct anchor {
    const char *name;
    int node;
};

/* Compilation state. */
struct comp {
    struct wdn_mcp_schema *s;
    const char *base; /* the root's $id, or NULL */
    struct anchor *anchors;
    size_t nanchors, anchors_cap;
    char *err;
    size_t cap;
};

static int errf(struct comp *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int errf(struct comp *c, int code, const char *fmt, ...)
{
    va_list ap;

    if (c->err != NULL && c->cap > 0) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

static bool in_list(const char *k, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(k, *list) == 0)
            return true;
    return false;
}

/* ---- reading keyword values --------------------------------------------------------------- */

static int get_count(struct comp *c, const char *k, const json_t *v, size_t *out)
{
    double d = json_number_value(v);

    /* 2020-12: non-negative integers; 5.0 counts as an integer. */
    if (!json_is_number(v) || d < 0 || !wdn_is_integral(d))
        return errf(c, WDN_EINVAL, "%s must be a non-negative integer", k);
    *out = d >= 1e18 ? NO_LIMIT - 1 : (size_t)d;
    return 0;
}

static int get_number(struct comp *c, const char *k, const json_t *v, double *out, bool *has)
{
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return errf(c, WDN_EINVAL, "%s must be a number", k);
    *out = json_number_value(v);
    *has = true;
    return 0;
}

static int type_bit(const char *t)
{
    static const char *const names[] = {"null",   "boolean", "object", "array",
                                        "number", "string",  "integer"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(t, names[i]) == 0)
            return 1 << i;
    return 0;
}

static int get_types(struct comp *c, const json_t *v, unsigned *out)
{
    size_t i;
    int b;

    if (json_is_string(v)) {
        if ((b = type_bit(json_string_value(v))) == 0)
            return errf(c, WDN_EINVAL, "unknown type \"%.40s\"", json_string_value(v));
        *out = (unsigned)b;
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return errf(c, WDN_EINVAL, "type must be a string or a non-empty array");
    for (i = 0; i < json_array_size(v); i++) {
        const json_t *t = json_array_get(v, i);
        if (!json_is_string(t) || (b = type_bit(json_string_value(t))) == 0)
            return errf(c, WDN_EINVAL, "type must list type names");
        *out |= (unsigned)b;
    }
    return 0;
}

static int get_strings(struct comp *c, const char *k, const json_t *v)
{
    size_t i;

    if (!json_is_array(v))
        return errf(c, WDN_EINVAL, "%s must be an array", k);
    for (i = 0; i < json_array_size(v); i++)
        if (!json_is_string(json_array_get(v, i)))
            return errf(c, WDN_EINVAL, "%s must list strings", k);
    return 0;
}

/* ---- nodes -------------------------------------------------------------------------------- */

static int compile(struct comp *c, const json_t *src, int depth);

static int node_new(struct comp *c, const json_t *src)
{
    struct wdn_mcp_schema *s = c->s;
    struct snode *n;

    if (s->n >= WDN_MCP_SCHEMA_MAX_NODES)
        return errf(c, WDN_ELIMIT, "schema has more than %d subschemas", WDN_MCP_SCHEMA_MAX_NODES);
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct snode *nn =
            WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, realloc(s->nodes, cap * sizeof(*nn)));
        if (nn == NULL)
            return WDN_ENOMEM;
        s->nodes = nn;
        s->cap = cap;
    }
    n = &s->nodes[s->n];
    memset(n, 0, sizeof(*n));
    n->src = src;
    n->bool_v = -1;
    n->max_len = n->max_items = n->max_props = n->max_contains = NO_LIMIT;
    n->min_contains = 1;
    n->ref = n->not_ = n->if_ = n->then_ = n->else_ = NO_NODE;
    n->additional = n->property_names = n->items = n->contains = NO_NODE;
    n->uneval_props = n->uneval_items = NO_NODE;
    return (int)s->n++;
}

/* Compiles each element of an array of schemas into a new index array. */
static int compile_list(struct comp *c, const char *k, const json_t *v, int depth, int **out,
                        size_t *n)
{
    size_t i;
    int *idx, rc;

    if (!json_is_array(v) || json_array_size(v) == 0)
        return errf(c, WDN_EINVAL, "%s must be a non-empty array", k);
    idx = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(json_array_size(v), sizeof(*idx)));
    if (idx == NULL)
        return WDN_ENOMEM;
    for (i = 0; i < json_array_size(v); i++) {
        if ((rc = compile(c, json_array_get(v, i), depth + 1)) < 0) {
            free(idx);
            return rc;
        }
        idx[i] = rc;
    }
    *out = idx;
    *n = json_array_size(v);
    return 0;
}

/* Compiles each member of an object of schemas ({name: schema}) into a new name array. */
static int compile_map(struct comp *c, const char *k, const json_t *v, int depth,
                       struct sname **out, size_t *n)
{
    const char *name;
    json_t *sub;
    size_t i = 0;
    int rc;

    if (!json_is_object(v))
        return errf(c, WDN_EINVAL, "%s must be an object", k);
    *out = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(json_object_size(v) + 1, sizeof(**out)));
    if (*out == NULL)
        return WDN_ENOMEM;
    *n = 0;
    json_object_foreach ((json_t *)v, name, sub) {
        if ((rc = compile(c, sub, depth + 1)) < 0)
            return rc;
        (*out)[i].name = name;
        (*out)[i++].node = rc;
        *n = i;
    }
    return 0;
}

/* The match context (match and depth limits) every pattern of the schema runs with, made with
 * the first pattern: a schema without one never calls into PCRE2, whose pages then stay out of
 * the process's RSS (docs/benchmarks/mcp.md). */
static int want_matcher(struct comp *c)
{
    struct wdn_mcp_schema *s = c->s;

    if (s->mctx != NULL)
        return 0;
    s->mctx = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, pcre2_match_context_create(NULL));
    if (s->mctx == NULL)
        return WDN_ENOMEM;
    pcre2_set_match_limit(s->mctx, WDN_MCP_SCHEMA_MATCH_LIMIT);
    pcre2_set_depth_limit(s->mctx, WDN_MCP_SCHEMA_DEPTH_LIMIT);
    return 0;
}

static int compile_patterns(struct comp *c, const json_t *v, int depth, struct spattern **out,
                            size_t *n)
{
    const char *src;
    json_t *sub;
    int rc;

    if (!json_is_object(v))
        return errf(c, WDN_EINVAL, "patternProperties must be an object");
    *out = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(json_object_size(v) + 1, sizeof(**out)));
    if (*out == NULL)
        return WDN_ENOMEM;
    *n = 0;
    json_object_foreach ((json_t *)v, src, sub) {
        struct spattern *p = &(*out)[*n];
        if ((rc = want_matcher(c)) < 0)
            return rc;
        p->re = wdn__mcp_pattern_compile(src, strlen(src), &rc, c->err, c->cap);
        if (p->re == NULL)
            return rc;
        (*n)++;
        if ((rc = compile(c, sub, depth + 1)) < 0)
            return rc;
        p->node = rc;
    }
    return 0;
}

static int add_anchor(struct comp *c, const char *name, int node)
{
    size_t i;

    for (i = 0; i < c->nanchors; i++)
        if (strcmp(c->anchors[i].name, name) == 0)
            return errf(c, WDN_EINVAL, "duplicate $anchor \"%.64s\"", name);
    if (c->nanchors == c->anchors_cap) {
        size_t cap = c->anchors_cap ? 2 * c->anchors_cap : 8;
        struct anchor *a =
            WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, realloc(c->anchors, cap * sizeof(*a)));
        if (a == NULL)
            return WDN_ENOMEM;
        c->anchors = a;
        c->anchors_cap = cap;
    }
    c->anchors[c->nanchors].name = name;
    c->anchors[c->nanchors++].node = node;
    return 0;
}

/* ---- keywords: one table, read by keyword() ------------------------------------------------ */

#define AT(ni, off, type) ((type *)((char *)&c->s->nodes[ni] + (off)))

/* Keywords with a value that needs more than the generic kinds below. */
static int kw_type(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    unsigned t = 0;
    int rc = get_types(c, v, &t);

    c->s->nodes[ni].types = t;
    return rc;
}

static int kw_enum(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    if (!json_is_array(v))
        return errf(c, WDN_EINVAL, "enum must be an array");
    c->s->nodes[ni].enum_v = v;
    return 0;
}

static int kw_const(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    c->s->nodes[ni].const_v = v;
    return 0;
}

static int kw_multiple_of(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    struct snode *n = &c->s->nodes[ni];
    int rc = get_number(c, k, v, &n->mult, &n->has_mult);

    return rc == 0 && n->mult <= 0 ? errf(c, WDN_EINVAL, "multipleOf must be greater than 0") : rc;
}

static int kw_contains_bound(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    size_t z;
    int rc = get_count(c, k, v, &z);

    if (k[1] == 'i')
        c->s->nodes[ni].min_contains = z;
    else
        c->s->nodes[ni].max_contains = z;
    c->s->nodes[ni].has_contains_limits = true;
    return rc;
}

static int kw_unique(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    if (!json_is_boolean(v))
        return errf(c, WDN_EINVAL, "uniqueItems must be a boolean");
    c->s->nodes[ni].unique = json_is_true(v);
    return 0;
}

static int kw_pattern(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    int rc;

    if (!json_is_string(v))
        return errf(c, WDN_EINVAL, "pattern must be a string");
    if ((rc = want_matcher(c)) < 0)
        return rc;
    c->s->nodes[ni].pattern =
        wdn__mcp_pattern_compile(json_string_value(v), json_string_length(v), &rc, c->err, c->cap);
    return c->s->nodes[ni].pattern != NULL ? 0 : rc;
}

static int kw_format(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    size_t i;

    if (!json_is_string(v))
        return errf(c, WDN_EINVAL, "format must be a string");
    /* Other formats stay annotations, as 2020-12's format-annotation vocabulary says. */
    for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcmp(json_string_value(v), formats[i].name) == 0)
            c->s->nodes[ni].format = formats[i].format;
    return 0;
}

static int kw_required(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    c->s->nodes[ni].required = v;
    return get_strings(c, k, v);
}

static int kw_dependent_required(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    const char *dk;
    json_t *dv;
    int rc;

    if (!json_is_object(v))
        return errf(c, WDN_EINVAL, "dependentRequired must be an object");
    json_object_foreach ((json_t *)v, dk, dv) {
        if ((rc = get_strings(c, k, dv)) != 0)
            return rc;
    }
    c->s->nodes[ni].dep_required = v;
    return 0;
}

static int kw_ref(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    if (!json_is_string(v))
        return errf(c, WDN_EINVAL, "$ref must be a string");
    c->s->nodes[ni].ref_text = json_string_value(v); /* resolved once every anchor is known */
    return 0;
}

static int kw_anchor(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return errf(c, WDN_EINVAL, "$anchor must be a non-empty string");
    return add_anchor(c, json_string_value(v), ni);
}

static int kw_id(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    /* A nested $id would change what "#..." means below it; only the root may have one. */
    if (depth > 0 || !json_is_string(v))
        return errf(c, WDN_EUNSUPPORTED, "$id is supported on the root schema only");
    c->base = json_string_value(v);
    return 0;
}

static int kw_defs(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    struct sname *defs = NULL;
    size_t n = 0;
    /* Compiled for their anchors, and so that errors show at registration. */
    int rc = compile_map(c, k, v, depth, &defs, &n);

    free(defs);
    return rc;
}

static int kw_pattern_properties(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    struct spattern *pats = NULL;
    size_t n = 0;
    int rc = compile_patterns(c, v, depth, &pats, &n);

    c->s->nodes[ni].pprops = pats; /* attached even on failure: freed with the schema */
    c->s->nodes[ni].npprops = n;
    return rc;
}

static int kw_items(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    int rc;

    if (json_is_array(v))
        return errf(c, WDN_EUNSUPPORTED,
                    "items as an array is draft 2019-09; use prefixItems (2020-12)");
    if ((rc = compile(c, v, depth + 1)) < 0)
        return rc;
    c->s->nodes[ni].items = rc;
    return 0;
}

/*
 * How each enforced keyword is read. NUMBER: a finite number into a double (off) with its
 * has-flag (off2); COUNT: a non-negative integer into a size_t; SCHEMA: one subschema's index;
 * LIST: an array of subschemas (int array at off, count at off2); MAP: an object of subschemas
 * (struct sname array, count); CUSTOM: fn.
 */
enum kw_kind { NUMBER, COUNT, SCHEMA, LIST, MAP, CUSTOM };

static const struct kw {
    const char *name;
    enum kw_kind kind;
    size_t off, off2;
    int (*fn)(struct comp *c, int ni, const char *k, const json_t *v, int depth);
} keywords[] = {
    {"type", CUSTOM, 0, 0, kw_type},
    {"enum", CUSTOM, 0, 0, kw_enum},
    {"const", CUSTOM, 0, 0, kw_const},
    {"minimum", NUMBER, offsetof(struct snode, min), offsetof(struct snode, has_min), NULL},
    {"maximum", NUMBER, offsetof(struct snode, max), offsetof(struct snode, has_max), NULL},
    {"exclusiveMinimum", NUMBER, offsetof(struct snode, xmin), offsetof(struct snode, has_xmin),
     NULL},
    {"exclusiveMaximum", NUMBER, offsetof(struct snode, xmax), offsetof(struct snode, has_xmax),
     NULL},
    {"multipleOf", CUSTOM, 0, 0, kw_multiple_of},
    {"minLength", COUNT, offsetof(struct snode, min_len), 0, NULL},
    {"maxLength", COUNT, offsetof(struct snode, max_len), 0, NULL},
    {"minItems", COUNT, offsetof(struct snode, min_items), 0, NULL},
    {"maxItems", COUNT, offsetof(struct snode, max_items), 0, NULL},
    {"minProperties", COUNT, offsetof(struct snode, min_props), 0, NULL},
    {"maxProperties", COUNT, offsetof(struct snode, max_props), 0, NULL},
    {"minContains", CUSTOM, 0, 0, kw_contains_bound},
    {"maxContains", CUSTOM, 0, 0, kw_contains_bound},
    {"uniqueItems", CUSTOM, 0, 0, kw_unique},
    {"pattern", CUSTOM, 0, 0, kw_pattern},
    {"format", CUSTOM, 0, 0, kw_format},
    {"required", CUSTOM, 0, 0, kw_required},
    {"dependentRequired", CUSTOM, 0, 0, kw_dependent_required},
    {"$ref", CUSTOM, 0, 0, kw_ref},
    {"$anchor", CUSTOM, 0, 0, kw_anchor},
    {"$id", CUSTOM, 0, 0, kw_id},
    {"$defs", CUSTOM, 0, 0, kw_defs},
    {"definitions", CUSTOM, 0, 0, kw_defs},
    {"allOf", LIST, offsetof(struct snode, all_of), offsetof(struct snode, n_all), NULL},
    {"anyOf", LIST, offsetof(struct snode, any_of), offsetof(struct snode, n_any), NULL},
    {"oneOf", LIST, offsetof(struct snode, one_of), offsetof(struct snode, n_one), NULL},
    {"prefixItems", LIST, offsetof(struct snode, prefix), offsetof(struct snode, nprefix), NULL},
    {"properties", MAP, offsetof(struct snode, props), offsetof(struct snode, nprops), NULL},
    {"dependentSchemas", MAP, offsetof(struct snode, dep_schemas),
     offsetof(struct snode, ndep_schemas), NULL},
    {"patternProperties", CUSTOM, 0, 0, kw_pattern_properties},
    {"items", CUSTOM, 0, 0, kw_items},
    {"not", SCHEMA, offsetof(struct snode, not_), 0, NULL},
    {"if", SCHEMA, offsetof(struct snode, if_), 0, NULL},
    {"then", SCHEMA, offsetof(struct snode, then_), 0, NULL},
    {"else", SCHEMA, offsetof(struct snode, else_), 0, NULL},
    {"additionalProperties", SCHEMA, offsetof(struct snode, additional), 0, NULL},
    {"propertyNames", SCHEMA, offsetof(struct snode, property_names), 0, NULL},
    {"contains", SCHEMA, offsetof(struct snode, contains), 0, NULL},
    {"unevaluatedProperties", SCHEMA, offsetof(struct snode, uneval_props), 0, NULL},
    {"unevaluatedItems", SCHEMA, offsetof(struct snode, uneval_items), 0, NULL},
};

/*
 * One keyword of object schema ni. Returns 0, 1 (not a keyword we enforce) or an error. The
 * node is addressed by index every time: compiling subschemas grows (moves) the node array.
 * Arrays are compiled into locals and attached even on failure, so wdn_mcp_schema_free frees
 * them.
 */
static int keyword(struct comp *c, int ni, const char *k, const json_t *v, int depth)
{
    const struct kw *kw = NULL;
    struct sname *names = NULL;
    int *idx = NULL, rc;
    size_t i, n = 0;

    for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]) && kw == NULL; i++)
        if (strcmp(keywords[i].name, k) == 0)
            kw = &keywords[i];
    if (kw == NULL)
        return 1;
    switch (kw->kind) {
    case NUMBER:
        return get_number(c, k, v, AT(ni, kw->off, double), AT(ni, kw->off2, bool));
    case COUNT:
        return get_count(c, k, v, AT(ni, kw->off, size_t));
    case SCHEMA:
        if ((rc = compile(c, v, depth + 1)) < 0)
            return rc;
        *AT(ni, kw->off, int) = rc;
        return 0;
    case LIST:
        rc = compile_list(c, k, v, depth, &idx, &n);
        *AT(ni, kw->off, int *) = idx;
        *AT(ni, kw->off2, size_t) = n;
        return rc;
    case MAP:
        rc = compile_map(c, k, v, depth, &names, &n);
        *AT(ni, kw->off, struct sname *) = names;
        *AT(ni, kw->off2, size_t) = n;
        return rc;
    default:
        return kw->fn(c, ni, k, v, depth);
    }
}

static int compile(struct comp *c, const json_t *src, int depth)
{
    struct wdn_mcp_schema *s = c->s;
    const char *k;
    json_t *v;
    size_t i;
    int ni, rc;

    /* A subschema reached twice (a $ref, a cycle) is compiled once. */
    for (i = 0; i < s->n; i++)
        if (s->nodes[i].src == src)
            return (int)i;
    if (depth > WDN_JSON_MAX_DEPTH)
        return errf(c, WDN_ELIMIT, "schema nested too deeply");
    if (!json_is_object(src) && !json_is_boolean(src))
        return errf(c, WDN_EINVAL, "a schema must be an object or a boolean");
    if ((ni = node_new(c, src)) < 0)
        return ni;
    if (json_is_boolean(src)) {
        s->nodes[ni].bool_v = json_is_true(src) ? 1 : 0;
        return ni;
    }
    json_object_foreach ((json_t *)src, k, v) {
        if (strncmp(k, "x-", 2) == 0 || (in_list(k, annotations) && strcmp(k, "$anchor") != 0))
            continue;
        rc = keyword(c, ni, k, v, depth);
        if (rc == 1)
            return errf(c, WDN_EUNSUPPORTED, "unsupported schema keyword \"%.64s\"", k);
        if (rc < 0)
            return rc;
    }
    return ni;
}

/* Resolves "#", "#/json/pointer" (with ~0 and ~1) or "#anchor" inside the document. */
static int resolve(struct comp *c, const char *ref, int depth)
{
    const json_t *cur = c->s->doc;
    char seg[256];
    size_t n, i;

    if (c->base != NULL && strncmp(ref, c->base, strlen(c->base)) == 0 &&
        ref[strlen(c->base)] == '#')
        ref += strlen(c->base);
    if (ref[0] != '#')
        return errf(c, WDN_EUNSUPPORTED, "$ref must point inside the schema (\"#/$defs/...\")");
    ref++;
    if (ref[0] != '\0' && ref[0] != '/') {
        for (i = 0; i < c->nanchors; i++)
            if (strcmp(c->anchors[i].name, ref) == 0)
                return c->anchors[i].node;
        return errf(c, WDN_EUNSUPPORTED, "$ref names an unknown $anchor \"%.64s\"", ref);
    }
    while (*ref == '/') {
        ref++;
        n = 0;
        while (*ref != '\0' && *ref != '/' && n + 1 < sizeof(seg)) {
            if (ref[0] == '~' && (ref[1] == '0' || ref[1] == '1')) {
                seg[n++] = ref[1] == '0' ? '~' : '/';
                ref += 2;
            } else {
                seg[n++] = *ref++;
            }
        }
        seg[n] = '\0';
        if (*ref != '\0' && *ref != '/')
            cur = NULL; /* a segment too long */
        else if (json_is_object(cur))
            cur = json_object_get(cur, seg);
        else if (json_is_array(cur)) {
            char *end;
            unsigned long idx = strtoul(seg, &end, 10);
            cur = *end == '\0' && seg[0] != '\0' ? json_array_get(cur, idx) : NULL;
        } else
            cur = NULL;
        if (cur == NULL)
            return errf(c, WDN_EUNSUPPORTED, "$ref must point inside the schema (\"#/$defs/...\")");
    }
    return compile(c, cur, depth);
}

void wdn_mcp_schema_free(struct wdn_mcp_schema *s)
{
    size_t i, j;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++) {
        struct snode *n = &s->nodes[i];
        pcre2_code_free(n->pattern);
        for (j = 0; j < n->npprops; j++)
            pcre2_code_free(n->pprops[j].re);
        free(n->pprops);
        free(n->all_of);
        free(n->any_of);
        free(n->one_of);
        free(n->props);
        free(n->dep_schemas);
        free(n->prefix);
    }
    free(s->nodes);
    pcre2_match_context_free(s->mctx);
    json_decref(s->doc);
    free(s);
}

struct wdn_mcp_schema *wdn_mcp_schema_compile(const json_t *schema, int *rcp, char *err,
                                              size_t errcap)
{
    struct comp c = {NULL, NULL, NULL, 0, 0, err, errcap};
    struct wdn_mcp_schema *s;
    size_t i;
    int rc = WDN_ENOMEM;

    if (err != NULL && errcap > 0)
        err[0] = '\0';
    s = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(1, sizeof(*s)));
    if (s == NULL)
        goto fail;
    c.s = s;
    s->doc = json_incref((json_t *)schema);
    if ((rc = compile(&c, schema, 0)) < 0)
        goto fail;
    /* References last: every $anchor is known by now. Resolving may compile more nodes, which
     * may hold references of their own; the loop reaches them too. */
    for (i = 0; i < s->n; i++) {
        if (s->nodes[i].ref_text == NULL)
            continue;
        if ((rc = resolve(&c, s->nodes[i].ref_text, 1)) < 0)
            goto fail;
        s->nodes[i].ref = rc;
        s->nodes[i].ref_text = NULL;
    }
    free(c.anchors);
    if (rcp != NULL)
        *rcp = 0;
    return s;
fail:
    if (rc == WDN_ENOMEM)
        errf(&c, rc, "out of memory");
    free(c.anchors);
    wdn_mcp_schema_free(s);
    if (rcp != NULL)
        *rcp = rc;
    return NULL;
}

int wdn_mcp_schema_check(const json_t *schema, char *err, size_t errcap)
{
    int rc;

    wdn_mcp_schema_free(wdn_mcp_schema_compile(schema, &rc, err, errcap));
    return rc;
}

int wdn_mcp_schema_validate(const json_t *schema, const json_t *instance, char *err, size_t errcap)
{
    int rc;
    struct wdn_mcp_schema *s = wdn_mcp_schema_compile(schema, &rc, err, errcap);

    if (s == NULL)
        return rc == WDN_ENOMEM ? rc : WDN_EINVAL;
    rc = wdn_mcp_schema_match(s, instance, err, errcap);
    wdn_mcp_schema_free(s);
    return rc;
}
