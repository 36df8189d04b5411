/* JSON Schema 2020-12 validation over a compiled schema (schema_int.h): every assertion and
 * applicator, unevaluatedProperties/Items through the annotations of the subschemas that
 * passed, formats, and patterns matched by PCRE2 under match and depth limits (a pattern that
 * would backtrack catastrophically fails the value instead of hanging the server). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "base/num.h"
#include "mcp/schema_int.h"

/* Where in the instance: a chain of segments up to the root, formatted only for an error. */
struct seg {
    const struct seg *up;
    const char *key; /* a property, or NULL for an index */
    size_t idx;
};

/* What a subschema evaluated (for unevaluated*): property names, and items. */
struct ann {
    json_t *props;          /* an object used as a set, or NULL */
    size_t items;           /* the first `items` items (prefixItems) */
    bool all_items;         /* items or unevaluatedItems covered the rest */
    unsigned char *matched; /* items matched by contains (array size), or NULL */
    size_t nmatched;
};

/*
 * What stopped the instance from being decided: a pattern that reached PCRE2's limits, a
 * reference loop, out of memory. Such a failure refuses the whole instance whatever the context:
 * read as a plain failure inside not, if, anyOf, oneOf or contains, it would let a value through
 * (a property name that makes a patternProperties pattern backtrack catastrophically would
 * escape that property's schema).
 */
struct undecided {
    int code;      /* 0, WDN_ELIMIT or WDN_ENOMEM */
    char msg[320]; /* a location cut to 200 bytes, ": ", what */
};

struct vctx {
    const struct wdn_mcp_schema *s;
    char *err; /* NULL while trying alternatives (anyOf, oneOf, not, if) */
    size_t cap;
    struct undecided *u; /* shared by the quiet copies */
};

/* "/a/0/b" from the chain (cut short when it does not fit). */
static void path_str(const struct seg *p, char *out, size_t cap)
{
    const struct seg *chain[64];
    size_t n = 0, len = 0;
    int w;

    out[0] = '\0';
    for (; p != NULL && p->up != NULL && n < sizeof(chain) / sizeof(chain[0]); p = p->up)
        chain[n++] = p;
    while (n > 0 && len + 1 < cap) {
        p = chain[--n];
        w = p->key != NULL ? snprintf(out + len, cap - len, "/%s", p->key)
                           : snprintf(out + len, cap - len, "/%zu", p->idx);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
}

static int fail(const struct vctx *c, const struct seg *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const struct vctx *c, const struct seg *at, const char *fmt, ...)
{
    char where[256], what[256];
    va_list ap;

    if (c->err != NULL && c->cap > 0) {
        path_str(at, where, sizeof(where));
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        snprintf(c->err, c->cap, "%s: %s", where[0] ? where : "/", what);
    }
    return WDN_EINVAL;
}

/* Records the first undecided failure (with where it happened, even while trying alternatives)
 * and returns its code, which fails this subschema too. */
static int undecided(const struct vctx *c, const struct seg *at, int code, const char *what)
{
    char where[200];

    if (c->u->code == 0) {
        path_str(at, where, sizeof(where));
        c->u->code = code;
        snprintf(c->u->msg, sizeof(c->u->msg), "%s: %s", where[0] ? where : "/", what);
    }
    return code;
}

static int pattern_undecided(const struct vctx *c, const struct seg *at, int code)
{
    return undecided(c, at, code,
                     code == WDN_ENOMEM
                         ? "out of memory"
                         : "a pattern reached its match limit (too costly to match)");
}

static const char *type_name(const json_t *x)
{
    switch (json_typeof(x)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static bool is_integer(const json_t *x)
{
    double d;

    if (json_is_integer(x))
        return true;
    if (!json_is_real(x))
        return false;
    d = json_real_value(x);
    return wdn_is_integral(d);
}

static bool type_ok(unsigned types, const json_t *x)
{
    switch (json_typeof(x)) {
    case JSON_OBJECT:
        return types & T_OBJECT;
    case JSON_ARRAY:
        return types & T_ARRAY;
    case JSON_STRING:
        return types & T_STRING;
    case JSON_TRUE:
    case JSON_FALSE:
        return types & T_BOOLEAN;
    case JSON_NULL:
        return types & T_NULL;
    default:
        return (types & T_NUMBER) || ((types & T_INTEGER) && is_integer(x));
    }
}

static const char *types_text(unsigned types)
{
    static const char *const names[] = {"null",   "boolean", "object", "array",
                                        "number", "string",  "integer"};
    size_t i;

    for (i = 0; i < 7; i++)
        if (types == (1u << i))
            return names[i];
    return "one of the listed types";
}

/* Equality as JSON Schema means it: 1 equals 1.0, objects and arrays compared deeply. */
static bool equal(const json_t *a, const json_t *b)
{
    size_t i;
    const char *k;
    json_t *v;

    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (i = 0; i < json_array_size(a); i++)
            if (!equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach ((json_t *)a, k, v) {
            const json_t *w = json_object_get(b, k);
            if (w == NULL || !equal(v, w))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

static size_t utf8_len(const char *s, size_t n)
{
    size_t i, cps = 0;

    for (i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            cps++;
    return cps;
}

/* ---- annotations ---------------------------------------------------------------------------- */

static void ann_free(struct ann *a)
{
    json_decref(a->props);
    free(a->matched);
    memset(a, 0, sizeof(*a));
}

/* Annotations that cannot be recorded would make unevaluated* stricter here but looser under
 * not: out of memory is undecided. */
static int ann_prop(const struct vctx *c, const struct seg *at, struct ann *a, const char *k)
{
    if (a == NULL)
        return 0;
    if (a->props == NULL)
        a->props = json_object();
    if (a->props == NULL || json_object_set_new(a->props, k, json_true()) != 0)
        return undecided(c, at, WDN_ENOMEM, "out of memory");
    return 0;
}

static int ann_merge(const struct vctx *c, const struct seg *at, struct ann *into,
                     const struct ann *from)
{
    size_t i;

    if (into == NULL)
        return 0;
    if (from->props != NULL) {
        if (into->props == NULL)
            into->props = json_object();
        if (into->props == NULL || json_object_update(into->props, from->props) != 0)
            return undecided(c, at, WDN_ENOMEM, "out of memory");
    }
    if (from->items > into->items)
        into->items = from->items;
    into->all_items |= from->all_items;
    if (from->matched != NULL) {
        if (into->matched == NULL) {
            into->matched = WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(from->nmatched, 1));
            if (into->matched == NULL)
                return undecided(c, at, WDN_ENOMEM, "out of memory");
            into->nmatched = from->nmatched;
        }
        for (i = 0; i < from->nmatched && i < into->nmatched; i++)
            into->matched[i] |= from->matched[i];
    }
    return 0;
}

/* ---- validation ----------------------------------------------------------------------------- */

static int v(const struct vctx *c, int ni, const json_t *x, const struct seg *at, int depth,
             struct ann *a);

/* Tries a subschema without reporting its error (anyOf, oneOf, not, if). */
static bool passes(const struct vctx *c, int ni, const json_t *x, const struct seg *at, int depth,
                   struct ann *a)
{
    struct vctx quiet = {c->s, NULL, 0, c->u};

    return v(&quiet, ni, x, at, depth, a) == 0;
}

static int v_number(const struct vctx *c, const struct snode *n, const json_t *x,
                    const struct seg *at)
{
    double d = json_number_value(x), q, r;

    if (n->has_min && d < n->min)
        return fail(c, at, "must be >= %g", n->min);
    if (n->has_max && d > n->max)
        return fail(c, at, "must be <= %g", n->max);
    if (n->has_xmin && d <= n->xmin)
        return fail(c, at, "must be > %g", n->xmin);
    if (n->has_xmax && d >= n->xmax)
        return fail(c, at, "must be < %g", n->xmax);
    if (n->has_mult) {
        q = d / n->mult;
        r = isfinite(q) ? q - wdn_floor(q) : 0.5; /* how far above the integer below */
        if (r > 1e-9 && r < 1.0 - 1e-9)           /* not within 1e-9 of an integer */
            return fail(c, at, "must be a multiple of %g", n->mult);
    }
    return 0;
}

static int v_string(const struct vctx *c, const struct snode *n, const json_t *x,
                    const struct seg *at)
{
    const char *p = json_string_value(x);
    size_t len = json_string_length(x), cps;
    int m;

    if (n->min_len > 0 || n->max_len != NO_LIMIT) {
        cps = utf8_len(p, len);
        if (cps < n->min_len)
            return fail(c, at, "shorter than %zu characters", n->min_len);
        if (cps > n->max_len)
            return fail(c, at, "longer than %zu characters", n->max_len);
    }
    if (n->pattern != NULL && (m = wdn__mcp_pattern_match(c->s, n->pattern, p, len)) != 1)
        return m < 0 ? pattern_undecided(c, at, m) : fail(c, at, "does not match the pattern");
    if (n->format != F_NONE && !wdn__mcp_format_ok(c->s, n->format, p, len))
        return fail(c, at, "not a valid %s", json_string_value(json_object_get(n->src, "format")));
    return 0;
}

static int v_array(const struct vctx *c, const struct snode *n, const json_t *x,
                   const struct seg *at, int depth, struct ann *a)
{
    size_t len = json_array_size(x), i, j, hits = 0;
    struct seg sub = {at, NULL, 0};
    int rc;

    if (len < n->min_items)
        return fail(c, at, "fewer than %zu items", n->min_items);
    if (len > n->max_items)
        return fail(c, at, "more than %zu items", n->max_items);
    if (n->unique)
        for (i = 0; i < len; i++)
            for (j = i + 1; j < len; j++)
                if (equal(json_array_get(x, i), json_array_get(x, j)))
                    return fail(c, at, "items must be unique");
    for (i = 0; i < n->nprefix && i < len; i++) {
        sub.idx = i;
        if ((rc = v(c, n->prefix[i], json_array_get(x, i), &sub, depth + 1, NULL)) != 0)
            return rc;
    }
    if (a != NULL && i > a->items)
        a->items = i;
    if (n->items != NO_NODE) {
        for (; i < len; i++) {
            sub.idx = i;
            if ((rc = v(c, n->items, json_array_get(x, i), &sub, depth + 1, NULL)) != 0)
                return rc;
        }
        if (a != NULL)
            a->all_items = true;
    }
    if (n->contains != NO_NODE) {
        unsigned char *m =
            a != NULL && len > 0 ? WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, calloc(len, 1)) : NULL;
        if (a != NULL && len > 0 && m == NULL)
            return undecided(c, at, WDN_ENOMEM, "out of memory");
        for (i = 0; i < len; i++) {
            sub.idx = i;
            if (passes(c, n->contains, json_array_get(x, i), &sub, depth + 1, NULL)) {
                hits++;
                if (m != NULL)
                    m[i] = 1;
            }
        }
        if (c->u->code != 0) {
            free(m);
            return c->u->code;
        }
        if (m != NULL) {
            struct ann tmp = {NULL, 0, false, m, len};
            rc = ann_merge(c, at, a, &tmp);
            free(m);
            if (rc != 0)
                return rc;
        }
        if (hits < n->min_contains)
            return fail(c, at, "fewer than %zu items match contains", n->min_contains);
        if (hits > n->max_contains)
            return fail(c, at, "more than %zu items match contains", n->max_contains);
    }
    return 0;
}

static int v_object(const struct vctx *c, const struct snode *n, const json_t *x,
                    const struct seg *at, int depth, struct ann *a)
{
    size_t size = json_object_size(x), i;
    struct seg sub = {at, NULL, 0};
    const char *k;
    json_t *pv;
    int rc, m;

    if (size < n->min_props)
        return fail(c, at, "too few properties");
    if (size > n->max_props)
        return fail(c, at, "too many properties");
    for (i = 0; n->required != NULL && i < json_array_size(n->required); i++) {
        const char *name = json_string_value(json_array_get(n->required, i));
        if (json_object_get(x, name) == NULL)
            return fail(c, at, "missing required property \"%s\"", name);
    }
    if (n->dep_required != NULL) {
        const char *dk;
        json_t *deps;
        json_object_foreach ((json_t *)n->dep_required, dk, deps) {
            if (json_object_get(x, dk) == NULL)
                continue;
            for (i = 0; i < json_array_size(deps); i++)
                if (json_object_get(x, json_string_value(json_array_get(deps, i))) == NULL)
                    return fail(c, at, "property \"%s\" requires \"%s\"", dk,
                                json_string_value(json_array_get(deps, i)));
        }
    }
    json_object_foreach ((json_t *)x, k, pv) {
        bool seen = false;
        sub.key = k;
        for (i = 0; i < n->nprops; i++) {
            if (strcmp(n->props[i].name, k) == 0) {
                seen = true;
                if ((rc = v(c, n->props[i].node, pv, &sub, depth + 1, NULL)) != 0)
                    return rc;
            }
        }
        for (i = 0; i < n->npprops; i++) {
            if ((m = wdn__mcp_pattern_match(c->s, n->pprops[i].re, k, strlen(k))) < 0)
                return pattern_undecided(c, &sub, m);
            if (m == 1) {
                seen = true;
                if ((rc = v(c, n->pprops[i].node, pv, &sub, depth + 1, NULL)) != 0)
                    return rc;
            }
        }
        if (!seen && n->additional != NO_NODE) {
            if (c->s->nodes[n->additional].bool_v == 0)
                return fail(c, at, "unexpected property \"%s\"", k);
            if ((rc = v(c, n->additional, pv, &sub, depth + 1, NULL)) != 0)
                return rc;
            seen = true;
        }
        if (seen && (rc = ann_prop(c, at, a, k)) != 0)
            return rc;
        if (n->property_names != NO_NODE) {
            json_t *name = json_string(k);
            if (name == NULL)
                return undecided(c, at, WDN_ENOMEM, "out of memory");
            rc = v(c, n->property_names, name, at, depth + 1, NULL);
            json_decref(name);
            if (rc != 0)
                return fail(c, at, "property name \"%s\" not allowed", k);
        }
    }
    for (i = 0; i < n->ndep_schemas; i++)
        if (json_object_get(x, n->dep_schemas[i].name) != NULL &&
            (rc = v(c, n->dep_schemas[i].node, x, at, depth + 1, a)) != 0)
            return rc;
    return 0;
}

/* The in-place applicators: their annotations count for unevaluated* of this node. */
static int v_applicators(const struct vctx *c, const struct snode *n, const json_t *x,
                         const struct seg *at, int depth, struct ann *a)
{
    size_t i, matches = 0;
    bool ok;
    int rc;

    if (n->ref != NO_NODE && (rc = v(c, n->ref, x, at, depth + 1, a)) != 0)
        return rc;
    for (i = 0; i < n->n_all; i++)
        if ((rc = v(c, n->all_of[i], x, at, depth + 1, a)) != 0)
            return rc;
    if (n->n_any > 0) {
        /* With annotations wanted every branch runs: each one that passes contributes. */
        for (i = 0, ok = false; i < n->n_any && (a != NULL || !ok); i++) {
            struct ann t = {0};
            if (passes(c, n->any_of[i], x, at, depth + 1, a != NULL ? &t : NULL)) {
                ok = true;
                ann_merge(c, at, a, &t);
            }
            ann_free(&t);
            if (c->u->code != 0)
                return c->u->code;
        }
        if (!ok)
            return fail(c, at, "matches none of anyOf");
    }
    if (n->n_one > 0) {
        struct ann keep = {0};
        for (i = 0; i < n->n_one && matches < 2; i++) {
            struct ann t = {0};
            if (passes(c, n->one_of[i], x, at, depth + 1, a != NULL ? &t : NULL)) {
                matches++;
                ann_merge(c, at, &keep, &t);
            }
            ann_free(&t);
        }
        if (matches == 1 && c->u->code == 0)
            ann_merge(c, at, a, &keep);
        ann_free(&keep);
        if (c->u->code != 0)
            return c->u->code;
        if (matches != 1)
            return fail(c, at, "must match exactly one of oneOf");
    }
    if (n->not_ != NO_NODE) {
        ok = passes(c, n->not_, x, at, depth + 1, NULL);
        if (c->u->code != 0)
            return c->u->code;
        if (ok)
            return fail(c, at, "matches a forbidden schema");
    }
    if (n->if_ != NO_NODE) {
        struct ann t = {0};
        ok = passes(c, n->if_, x, at, depth + 1, a != NULL ? &t : NULL);
        if (c->u->code != 0) {
            rc = c->u->code;
        } else if (ok) {
            rc = ann_merge(c, at, a, &t);
            if (rc == 0 && n->then_ != NO_NODE)
                rc = v(c, n->then_, x, at, depth + 1, a);
        } else {
            rc = n->else_ != NO_NODE ? v(c, n->else_, x, at, depth + 1, a) : 0;
        }
        ann_free(&t);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int v_unevaluated(const struct vctx *c, const struct snode *n, const json_t *x,
                         const struct seg *at, int depth, struct ann *a)
{
    struct seg sub = {at, NULL, 0};
    const char *k;
    json_t *pv;
    size_t i;
    int rc;

    if (n->uneval_props != NO_NODE && json_is_object(x)) {
        json_object_foreach ((json_t *)x, k, pv) {
            if (a->props != NULL && json_object_get(a->props, k) != NULL)
                continue;
            sub.key = k;
            if (c->s->nodes[n->uneval_props].bool_v == 0)
                return fail(c, at, "unexpected property \"%s\"", k);
            if ((rc = v(c, n->uneval_props, pv, &sub, depth + 1, NULL)) != 0)
                return rc;
            if ((rc = ann_prop(c, at, a, k)) != 0)
                return rc;
        }
    }
    if (n->uneval_items != NO_NODE && json_is_array(x) && !a->all_items) {
        for (i = a->items; i < json_array_size(x); i++) {
            if (a->matched != NULL && i < a->nmatched && a->matched[i])
                continue;
            sub.idx = i;
            if (c->s->nodes[n->uneval_items].bool_v == 0)
                return fail(c, at, "unexpected item %zu", i);
            if ((rc = v(c, n->uneval_items, json_array_get(x, i), &sub, depth + 1, NULL)) != 0)
                return rc;
        }
        a->all_items = true;
    }
    return 0;
}

static int v(const struct vctx *c, int ni, const json_t *x, const struct seg *at, int depth,
             struct ann *a)
{
    const struct snode *n = &c->s->nodes[ni];
    struct ann local = {0};
    size_t i;
    bool ok;
    int rc;

    /* Reference loops that make no progress in the instance end here. */
    if (depth > 4 * WDN_JSON_MAX_DEPTH)
        return undecided(c, at, WDN_ELIMIT, "nested too deeply");
    if (n->bool_v == 1)
        return 0;
    if (n->bool_v == 0)
        return fail(c, at, "not allowed");
    /* unevaluated* need what this node and its in-place subschemas evaluated. */
    if (a == NULL && (n->uneval_props != NO_NODE || n->uneval_items != NO_NODE))
        a = &local;
    if (n->types != 0 && !type_ok(n->types, x)) {
        rc = fail(c, at, "expected %s, got %s", types_text(n->types), type_name(x));
        goto out;
    }
    if (n->const_v != NULL && !equal(n->const_v, x)) {
        rc = fail(c, at, "must equal the constant value");
        goto out;
    }
    if (n->enum_v != NULL) {
        for (i = 0, ok = false; i < json_array_size(n->enum_v) && !ok; i++)
            ok = equal(json_array_get(n->enum_v, i), x);
        if (!ok) {
            rc = fail(c, at, "must be one of the allowed values");
            goto out;
        }
    }
    if (json_is_number(x))
        rc = v_number(c, n, x, at);
    else if (json_is_string(x))
        rc = v_string(c, n, x, at);
    else if (json_is_array(x))
        rc = v_array(c, n, x, at, depth, a);
    else if (json_is_object(x))
        rc = v_object(c, n, x, at, depth, a);
    else
        rc = 0;
    if (rc == 0)
        rc = v_applicators(c, n, x, at, depth, a);
    if (rc == 0 && (n->uneval_props != NO_NODE || n->uneval_items != NO_NODE))
        rc = v_unevaluated(c, n, x, at, depth, a);
out:
    ann_free(&local);
    return rc;
}

int wdn_mcp_schema_match(const struct wdn_mcp_schema *s, const json_t *instance, char *err,
                         size_t errcap)
{
    struct undecided u = {0};
    struct vctx c = {s, err, errcap, &u};
    struct seg root = {NULL, NULL, 0};
    int rc;

    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (s == NULL || instance == NULL)
        return WDN_EINVAL;
    rc = v(&c, 0, instance, &root, 0, NULL);
    if (u.code != 0) {
        /* Refused whatever the subschemas around it made of the failure. */
        if (err != NULL && errcap > 0)
            snprintf(err, errcap, "%s", u.msg);
        return u.code == WDN_ENOMEM ? WDN_ENOMEM : WDN_EINVAL;
    }
    return rc;
}
