/* The schema-driven decoder: a libyaml document tree -> typed structs, every problem reported
 * with its file:line:col and field path, all of them rather than only the first. */
#include "resources/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dns.h"
#include "base/error.h"
#include "base/limits.h"

/* ---- messages ------------------------------------------------------------------------ */

void wdn__res_vmsg(struct wdn_resources *set, bool warning, const char *file, unsigned line,
                   unsigned col, const char *fmt, va_list ap)
{
    struct wdn__res_priv *priv = set->priv;
    struct wdn_res_msg *m;
    char text[sizeof(m->d.msg)];

    if (warning)
        set->n_warnings++;
    else
        set->n_errors++;
    /* The cap keeps a hostile file from growing the list; the counters stay exact. */
    if (set->n_msgs >= WDN_RES_MAX_ERRORS) {
        set->truncated = true;
        return;
    }
    if (set->n_msgs == priv->cap_msgs) {
        size_t cap = priv->cap_msgs ? priv->cap_msgs * 2 : 16;
        struct wdn_res_msg *v = realloc(set->msgs, cap * sizeof(*v));
        if (v == NULL) {
            set->truncated = true;
            return;
        }
        set->msgs = v;
        priv->cap_msgs = cap;
    }
    m = &set->msgs[set->n_msgs++];
    m->warning = warning;
    vsnprintf(text, sizeof(text), fmt, ap);
    wdn_diag_set_at(&m->d, warning ? 0 : WDN_ECONFIG, file, line, col, "%s", text);
}

void wdn_resources_add_diag(struct wdn_resources *set, bool warning, const struct wdn_diag *d)
{
    wdn__res_msg(set, warning, d->file[0] ? d->file : NULL, d->line, d->col, "%s", d->msg);
}

void wdn__res_msg(struct wdn_resources *set, bool warning, const char *file, unsigned line,
                  unsigned col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wdn__res_vmsg(set, warning, file, line, col, fmt, ap);
    va_end(ap);
}

static void node_vmsg(struct wdn__res_ctx *ctx, bool warning, unsigned line, unsigned col,
                      const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void node_vmsg(struct wdn__res_ctx *ctx, bool warning, unsigned line, unsigned col,
                      const char *fmt, va_list ap)
{
    char text[480];

    vsnprintf(text, sizeof(text), fmt, ap);
    if (!warning)
        ctx->failed = true;
    if (ctx->path_len)
        wdn__res_msg(ctx->set, warning, ctx->file, line, col, "%s: %s", ctx->path, text);
    else
        wdn__res_msg(ctx->set, warning, ctx->file, line, col, "%s", text);
}

/* libyaml marks are 0-based; people count from 1. */
void wdn__res_err(struct wdn__res_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    node_vmsg(ctx, false, node ? (unsigned)node->start_mark.line + 1 : 0,
              node ? (unsigned)node->start_mark.column + 1 : 0, fmt, ap);
    va_end(ap);
}

void wdn__res_warn(struct wdn__res_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    node_vmsg(ctx, true, node ? (unsigned)node->start_mark.line + 1 : 0,
              node ? (unsigned)node->start_mark.column + 1 : 0, fmt, ap);
    va_end(ap);
}

void wdn__res_err_at(struct wdn__res_ctx *ctx, const struct wdn_res_pos *pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    node_vmsg(ctx, false, pos->line, pos->col, fmt, ap);
    va_end(ap);
}

size_t wdn__res_path_push(struct wdn__res_ctx *ctx, const char *fmt, ...)
{
    size_t old = ctx->path_len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(ctx->path + old, sizeof(ctx->path) - old, fmt, ap);
    va_end(ap);
    /* A truncated path only shortens a message; keep the buffer terminated and consistent. */
    if (n < 0 || (size_t)n >= sizeof(ctx->path) - old)
        ctx->path_len = sizeof(ctx->path) - 1;
    else
        ctx->path_len = old + (size_t)n;
    ctx->path[ctx->path_len] = '\0';
    return old;
}

void wdn__res_path_pop(struct wdn__res_ctx *ctx, size_t len)
{
    ctx->path_len = len;
    ctx->path[len] = '\0';
}

/* ---- node helpers -------------------------------------------------------------------- */

const char *wdn__res_scalar(const yaml_node_t *node)
{
    if (node == NULL || node->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *)node->data.scalar.value;
}

const yaml_node_t *wdn__res_map_get(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = wdn__res_scalar(yaml_document_get_node(doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

char *wdn__res_strdup(struct wdn__res_ctx *ctx, const char *s)
{
    return wdn_arena_strdup(ctx->arena, wdn_str_from_cstr(s));
}

static void set_pos(struct wdn__res_ctx *ctx, struct wdn_res_pos *pos, const yaml_node_t *node)
{
    pos->file = ctx->file;
    pos->line = (unsigned)node->start_mark.line + 1;
    pos->col = (unsigned)node->start_mark.column + 1;
}

/* A plain empty, "~" or "null" scalar is YAML's null: treated as if the key were absent. */
static bool is_null(const yaml_node_t *node)
{
    const char *s = wdn__res_scalar(node);

    if (s == NULL || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/*
 * libyaml gives untagged nodes the default tags. Anything else (!!int, !!binary, custom tags)
 * would ask us to type a value differently from its text, which we do not do: refuse it.
 */
static bool tag_ok(const yaml_node_t *node)
{
    const char *tag = (const char *)node->tag;

    if (tag == NULL)
        return true;
    switch (node->type) {
    case YAML_SCALAR_NODE:
        return strcmp(tag, YAML_STR_TAG) == 0;
    case YAML_SEQUENCE_NODE:
        return strcmp(tag, YAML_SEQ_TAG) == 0;
    case YAML_MAPPING_NODE:
        return strcmp(tag, YAML_MAP_TAG) == 0;
    default:
        return false;
    }
}

static const char *node_kind(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

/* Checks a scalar for what no field may hold; returns its text or NULL after an error. */
static const char *get_scalar(struct wdn__res_ctx *ctx, const yaml_node_t *node, const char *what)
{
    const char *s;

    if (node->type != YAML_SCALAR_NODE) {
        wdn__res_err(ctx, node, "expected %s, found %s", what, node_kind(node));
        return NULL;
    }
    if (!tag_ok(node)) {
        wdn__res_err(ctx, node, "YAML tag %s is not supported", (const char *)node->tag);
        return NULL;
    }
    s = (const char *)node->data.scalar.value;
    if (node->data.scalar.length > WDN_YAML_MAX_SCALAR_BYTES) {
        wdn__res_err(ctx, node, "value is longer than %u bytes", WDN_YAML_MAX_SCALAR_BYTES);
        return NULL;
    }
    /* A "\0" escape in a double-quoted scalar would cut every C string we keep short. */
    if (strlen(s) != node->data.scalar.length) {
        wdn__res_err(ctx, node, "value contains a NUL byte");
        return NULL;
    }
    return s;
}

/* ---- decoding -------------------------------------------------------------------------- */

static const struct wdn__res_field *find_field(const struct wdn__res_schema *schema,
                                               const char *key, size_t *base)
{
    for (const struct wdn__res_field *f = schema->fields; f->name; f++) {
        if (f->type == WDN__RES_INLINE) {
            size_t sub_base = *base + f->off;
            const struct wdn__res_field *g = find_field(f->sub, key, &sub_base);
            if (g) {
                *base = sub_base;
                return g;
            }
            continue;
        }
        if (strcmp(f->name, key) == 0)
            return f;
    }
    return NULL;
}

/* Marks unset tri-state fields before decoding, through inline and nested objects. */
static void init_obj(const struct wdn__res_schema *schema, char *obj)
{
    for (const struct wdn__res_field *f = schema->fields; f->name; f++) {
        switch (f->type) {
        case WDN__RES_BOOL: {
            int v = WDN_RES_UNSET;
            memcpy(obj + f->off, &v, sizeof(v));
            break;
        }
        case WDN__RES_INT: {
            int64_t v = WDN_RES_INT_UNSET;
            memcpy(obj + f->off, &v, sizeof(v));
            break;
        }
        case WDN__RES_OBJ:
        case WDN__RES_INLINE:
            init_obj(f->sub, obj + f->off);
            break;
        default:
            break;
        }
    }
}

static void decode_value(struct wdn__res_ctx *ctx, const struct wdn__res_field *f, char *base,
                         const yaml_node_t *node);

static void decode_str(struct wdn__res_ctx *ctx, const struct wdn__res_field *f, char *dst,
                       const yaml_node_t *node)
{
    const char *s = get_scalar(ctx, node, "a string");
    const char *why;
    char *copy;

    if (s == NULL)
        return;
    if ((f->flags & WDN__RES_F_NONEMPTY) && s[0] == '\0') {
        wdn__res_err(ctx, node, "must not be empty");
        return;
    }
    if (f->type == WDN__RES_ENUM) {
        for (const char *const *e = f->enums; *e; e++) {
            bool eq = (f->flags & WDN__RES_F_CI) ? wdn_str_eq_case_cstr(wdn_str_from_cstr(s), *e)
                                                 : strcmp(s, *e) == 0;
            if (eq) {
                memcpy(dst, e, sizeof(const char *));
                return;
            }
        }
        char list[256] = "";
        size_t used = 0;
        for (const char *const *e = f->enums; *e && used < sizeof(list); e++) {
            int n = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", *e);
            if (n < 0)
                break;
            used += (size_t)n;
        }
        wdn__res_err(ctx, node, "\"%.64s\" is not one of: %s", s, list);
        return;
    }
    if (f->check && (why = f->check(s)) != NULL) {
        wdn__res_err(ctx, node, "\"%.64s\" %s", s, why);
        return;
    }
    copy = wdn__res_strdup(ctx, s);
    if (copy == NULL) {
        wdn__res_err(ctx, node, "out of memory");
        return;
    }
    memcpy(dst, &copy, sizeof(copy));
}

static void decode_bool(struct wdn__res_ctx *ctx, char *dst, const yaml_node_t *node)
{
    const char *s = get_scalar(ctx, node, "true or false");
    int v;

    if (s == NULL)
        return;
    /* YAML 1.2 core booleans, unquoted only: "true" in quotes is a string, and yes/no/on/off
     * are YAML 1.1 spellings that other tools read differently. */
    if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0))
        v = 1;
    else if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
             (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0))
        v = 0;
    else {
        wdn__res_err(ctx, node, "expected true or false (unquoted), found \"%.64s\"", s);
        return;
    }
    memcpy(dst, &v, sizeof(v));
}

static void decode_int(struct wdn__res_ctx *ctx, const struct wdn__res_field *f, char *dst,
                       const yaml_node_t *node)
{
    const char *s = get_scalar(ctx, node, "a number");
    struct wdn_str digits;
    uint64_t u;
    int64_t v;
    bool neg;

    if (s == NULL)
        return;
    neg = s[0] == '-';
    digits = wdn_str_from_cstr(s + (neg ? 1 : 0));
    if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        wdn_str_to_u64(digits, (uint64_t)INT64_MAX, &u) != 0) {
        wdn__res_err(ctx, node, "expected a whole number (unquoted), found \"%.64s\"", s);
        return;
    }
    v = neg ? -(int64_t)u : (int64_t)u;
    if (v < f->min || v > f->max) {
        wdn__res_err(ctx, node, "%lld is out of range [%lld, %lld]", (long long)v,
                     (long long)f->min, (long long)f->max);
        return;
    }
    memcpy(dst, &v, sizeof(v));
}

static void decode_strlist(struct wdn__res_ctx *ctx, const struct wdn__res_field *f, char *dst,
                           const yaml_node_t *node)
{
    struct wdn_res_strlist list = {0};
    size_t n = 0;
    const char *why;

    if (node->type != YAML_SEQUENCE_NODE) {
        wdn__res_err(ctx, node, "expected a list of strings, found %s", node_kind(node));
        return;
    }
    n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n > WDN_RES_MAX_LIST) {
        wdn__res_err(ctx, node, "more than %u items", WDN_RES_MAX_LIST);
        return;
    }
    if (n == 0 && (f->flags & WDN__RES_F_NONEMPTY)) {
        wdn__res_err(ctx, node, "must not be empty");
        return;
    }
    list.v = wdn_arena_calloc(ctx->arena, (n ? n : 1) * sizeof(*list.v));
    if (list.v == NULL) {
        wdn__res_err(ctx, node, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item =
            yaml_document_get_node(ctx->doc, node->data.sequence.items.start[i]);
        size_t mark = wdn__res_path_push(ctx, "[%zu]", i);
        const char *s = get_scalar(ctx, item, "a string");
        if (s && s[0] == '\0')
            wdn__res_err(ctx, item, "must not be empty");
        else if (s && f->check && (why = f->check(s)) != NULL)
            wdn__res_err(ctx, item, "\"%.64s\" %s", s, why);
        else if (s) {
            list.v[list.n] = wdn__res_strdup(ctx, s);
            if (list.v[list.n] == NULL)
                wdn__res_err(ctx, item, "out of memory");
            else
                list.n++;
        }
        wdn__res_path_pop(ctx, mark);
    }
    memcpy(dst, &list, sizeof(list));
}

static void decode_map(struct wdn__res_ctx *ctx, const struct wdn__res_field *f, char *dst,
                       const yaml_node_t *node)
{
    struct wdn_res_map map = {0};
    size_t n;
    const char *why;

    if (node->type != YAML_MAPPING_NODE) {
        wdn__res_err(ctx, node, "expected a mapping of names to strings, found %s",
                     node_kind(node));
        return;
    }
    n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    if (n > WDN_RES_MAX_LIST) {
        wdn__res_err(ctx, node, "more than %u entries", WDN_RES_MAX_LIST);
        return;
    }
    map.v = wdn_arena_calloc(ctx->arena, (n ? n : 1) * sizeof(*map.v));
    if (map.v == NULL) {
        wdn__res_err(ctx, node, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &node->data.mapping.pairs.start[i];
        const yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
        const yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
        const char *k = get_scalar(ctx, kn, "a name");
        const char *v;
        bool dup = false;

        if (k == NULL)
            continue;
        if (k[0] == '\0') {
            wdn__res_err(ctx, kn, "empty name");
            continue;
        }
        if (f->check && (why = f->check(k)) != NULL) {
            wdn__res_err(ctx, kn, "\"%.64s\" %s", k, why);
            continue;
        }
        for (size_t j = 0; j < map.n && !dup; j++)
            dup = strcmp(map.v[j].name, k) == 0;
        if (dup) {
            wdn__res_err(ctx, kn, "duplicate key \"%.64s\"", k);
            continue;
        }
        size_t mark = wdn__res_path_push(ctx, ".%.64s", k);
        v = is_null(vn) ? "" : get_scalar(ctx, vn, "a string");
        wdn__res_path_pop(ctx, mark);
        if (v == NULL)
            continue;
        map.v[map.n].name = wdn__res_strdup(ctx, k);
        map.v[map.n].value = wdn__res_strdup(ctx, v);
        set_pos(ctx, &map.v[map.n].pos, kn);
        if (map.v[map.n].name == NULL || map.v[map.n].value == NULL) {
            wdn__res_err(ctx, kn, "out of memory");
            continue;
        }
        map.n++;
    }
    memcpy(dst, &map, sizeof(map));
}

static void decode_objlist(struct wdn__res_ctx *ctx, const struct wdn__res_field *f, char *base,
                           const yaml_node_t *node)
{
    size_t n;
    char *items;

    if (node->type != YAML_SEQUENCE_NODE) {
        wdn__res_err(ctx, node, "expected a list, found %s", node_kind(node));
        return;
    }
    n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n > WDN_RES_MAX_LIST) {
        wdn__res_err(ctx, node, "more than %u items", WDN_RES_MAX_LIST);
        return;
    }
    if (n == 0 && (f->flags & WDN__RES_F_NONEMPTY)) {
        wdn__res_err(ctx, node, "must not be empty");
        return;
    }
    items = wdn_arena_calloc(ctx->arena, (n ? n : 1) * f->sub->size);
    if (items == NULL) {
        wdn__res_err(ctx, node, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item =
            yaml_document_get_node(ctx->doc, node->data.sequence.items.start[i]);
        size_t mark = wdn__res_path_push(ctx, "[%zu]", i);
        wdn__res_decode(ctx, f->sub, items + i * f->sub->size, item);
        wdn__res_path_pop(ctx, mark);
    }
    memcpy(base + f->off, &items, sizeof(items));
    memcpy(base + f->count_off, &n, sizeof(n));
}

static void decode_value(struct wdn__res_ctx *ctx, const struct wdn__res_field *f, char *base,
                         const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE && !tag_ok(node)) {
        wdn__res_err(ctx, node, "YAML tag %s is not supported", (const char *)node->tag);
        return;
    }
    switch (f->type) {
    case WDN__RES_STR:
    case WDN__RES_ENUM:
        decode_str(ctx, f, base + f->off, node);
        break;
    case WDN__RES_BOOL:
        decode_bool(ctx, base + f->off, node);
        break;
    case WDN__RES_INT:
        decode_int(ctx, f, base + f->off, node);
        break;
    case WDN__RES_STRLIST:
        decode_strlist(ctx, f, base + f->off, node);
        break;
    case WDN__RES_MAP:
        decode_map(ctx, f, base + f->off, node);
        break;
    case WDN__RES_OBJ:
        wdn__res_decode(ctx, f->sub, base + f->off, node);
        break;
    case WDN__RES_OBJLIST:
        decode_objlist(ctx, f, base, node);
        break;
    case WDN__RES_ANY:
    case WDN__RES_INLINE:
        break;
    }
}

/* Lists the required fields that no key provided; seen[] is indexed like the flattened fields. */
static size_t check_required(struct wdn__res_ctx *ctx, const struct wdn__res_schema *schema,
                             const yaml_node_t *node, const bool *seen, size_t idx)
{
    for (const struct wdn__res_field *f = schema->fields; f->name; f++) {
        if (f->type == WDN__RES_INLINE) {
            idx = check_required(ctx, f->sub, node, seen, idx);
            continue;
        }
        if ((f->flags & WDN__RES_F_REQUIRED) && !seen[idx])
            wdn__res_err(ctx, node, "missing required field \"%s\" in %s", f->name, schema->what);
        idx++;
    }
    return idx;
}

static bool field_index(const struct wdn__res_schema *schema, const struct wdn__res_field *target,
                        size_t *idx)
{
    for (const struct wdn__res_field *f = schema->fields; f->name; f++) {
        if (f->type == WDN__RES_INLINE) {
            if (field_index(f->sub, target, idx))
                return true;
            continue;
        }
        if (f == target)
            return true;
        (*idx)++;
    }
    return false;
}

#define MAX_FIELDS 64

void wdn__res_decode(struct wdn__res_ctx *ctx, const struct wdn__res_schema *schema, void *obj,
                     const yaml_node_t *node)
{
    bool seen[MAX_FIELDS] = {false};
    struct wdn_res_pos pos;

    if (node->type != YAML_MAPPING_NODE) {
        wdn__res_err(ctx, node, "expected a mapping (%s), found %s", schema->what, node_kind(node));
        return;
    }
    if (!tag_ok(node)) {
        wdn__res_err(ctx, node, "YAML tag %s is not supported", (const char *)node->tag);
        return;
    }
    /* The loader bounds the depth already; this guards the recursion on its own. */
    if (ctx->depth >= WDN_YAML_MAX_DEPTH) {
        wdn__res_err(ctx, node, "nested deeper than %u levels", WDN_YAML_MAX_DEPTH);
        return;
    }
    ctx->depth++;
    init_obj(schema, obj);
    /* Every object struct starts with its struct wdn_res_pos (see resources.h). */
    set_pos(ctx, &pos, node);
    memcpy(obj, &pos, sizeof(pos));

    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
        const yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
        const struct wdn__res_field *f;
        const char *key = get_scalar(ctx, kn, "a field name");
        size_t base = 0, idx = 0, mark;

        if (key == NULL)
            continue;
        f = find_field(schema, key, &base);
        if (f == NULL) {
            wdn__res_err(ctx, kn, "unknown field \"%.64s\" in %s", key, schema->what);
            continue;
        }
        field_index(schema, f, &idx);
        if (idx < MAX_FIELDS) {
            if (seen[idx]) {
                wdn__res_err(ctx, kn, "duplicate key \"%s\"", key);
                continue;
            }
            seen[idx] = true;
        }
        if (f->flags & WDN__RES_F_WARN)
            wdn__res_warn(ctx, kn, "\"%s\" is accepted but ignored: %s", key,
                          f->note ? f->note : "not supported by warden");
        if (is_null(vn) && f->type != WDN__RES_ANY) {
            /* A null counts as absent, so a required field still has to be given. */
            if (idx < MAX_FIELDS)
                seen[idx] = false;
            continue;
        }
        mark = wdn__res_path_push(ctx, "%s%s", ctx->path_len ? "." : "", key);
        decode_value(ctx, f, (char *)obj + base, vn);
        wdn__res_path_pop(ctx, mark);
    }
    check_required(ctx, schema, node, seen, 0);
    if (schema->check)
        schema->check(ctx, obj, node);
    ctx->depth--;
}

/* ---- shared validators ------------------------------------------------------------------- */

const char *wdn__res_check_dns_label(const char *s)
{
    switch (wdn_dns_check(s, strlen(s), WDN_DNS_ONE_LABEL | WDN_DNS_LOWER)) {
    case WDN_DNS_OK:
        return NULL;
    case WDN_DNS_BAD_LENGTH:
        return "must be 1 to 63 characters (a DNS-1123 label)";
    case WDN_DNS_BAD_CHAR:
        return "may contain only lower-case letters, digits and '-' (a DNS-1123 label)";
    default:
        return "must start and end with a letter or digit (a DNS-1123 label)";
    }
}

/* A Kubernetes object name: the DNS-1123 subdomain of Kubernetes, whose labels have no length
 * limit of their own. */
const char *wdn__res_check_dns_subdomain(const char *s)
{
    switch (wdn_dns_check(s, strlen(s), WDN_DNS_LOWER | WDN_DNS_LONG_LABELS)) {
    case WDN_DNS_OK:
        return NULL;
    case WDN_DNS_BAD_LENGTH:
        return "must be 1 to 253 characters (a DNS-1123 subdomain)";
    case WDN_DNS_BAD_CHAR:
        return "may contain only lower-case letters, digits, '-' and '.' (DNS-1123)";
    case WDN_DNS_BAD_EDGE:
        return "must start and end with a letter or digit (DNS-1123)";
    default:
        return "has an empty label or a label starting or ending with '-' (DNS-1123)";
    }
}

const char *wdn__res_check_app_id(const char *s)
{
    return wdn_resources_valid_app_id(s)
               ? NULL
               : "is not a valid app ID (1 to 128 of A-Z a-z 0-9 _ -; no dots)";
}

bool wdn_resources_valid_app_id(const char *s)
{
    size_t n;

    if (s == NULL)
        return false;
    n = strlen(s);
    if (n == 0 || n > WDN_RES_MAX_APPID)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}
