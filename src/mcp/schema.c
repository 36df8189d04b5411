/* A JSON Schema validator for the subset MCP tools use; refuses keywords it cannot enforce. */
#include "warden/mcp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"

/* Keywords that only annotate: accepted and ignored, as JSON Schema 2020-12 says. */
static const char *const annotations[] = {
    "$schema",         "$id",    "$comment",   "title",    "description", "default",
    "examples",        "format", "deprecated", "readOnly", "writeOnly",   "contentMediaType",
    "contentEncoding", NULL};

/* Keywords the validator enforces. */
static const char *const implemented[] = {"type",
                                          "enum",
                                          "const",
                                          "properties",
                                          "required",
                                          "additionalProperties",
                                          "items",
                                          "minItems",
                                          "maxItems",
                                          "minLength",
                                          "maxLength",
                                          "minimum",
                                          "maximum",
                                          "exclusiveMinimum",
                                          "exclusiveMaximum",
                                          "multipleOf",
                                          "allOf",
                                          "anyOf",
                                          "oneOf",
                                          "not",
                                          "uniqueItems",
                                          "minProperties",
                                          "maxProperties",
                                          "$ref",
                                          "$defs",
                                          "definitions",
                                          NULL};

static bool in_list(const char *k, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(k, *list) == 0)
            return true;
    return false;
}

static int errf(char *err, size_t cap, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int errf(char *err, size_t cap, int code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && cap > 0) {
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

/*
 * Resolves a local reference ("#", "#/$defs/address", with ~0 and ~1 escapes) inside root.
 * Remote references are refused at registration, so nothing is ever fetched.
 */
static const json_t *resolve_ref(const json_t *root, const char *ref)
{
    const json_t *cur = root;
    char seg[256];
    size_t n;

    if (ref == NULL || ref[0] != '#')
        return NULL;
    ref++;
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
            return NULL; /* segment too long */
        if (json_is_object(cur)) {
            cur = json_object_get(cur, seg);
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long i = strtoul(seg, &end, 10);
            cur = (*end == '\0' && seg[0] != '\0') ? json_array_get(cur, i) : NULL;
        } else {
            cur = NULL;
        }
        if (cur == NULL)
            return NULL;
    }
    return *ref == '\0' ? cur : NULL;
}

static int check_in(const json_t *root, const json_t *s, int depth, char *err, size_t cap);

static int check(const json_t *s, int depth, char *err, size_t cap)
{
    return check_in(s, s, depth, err, cap);
}

static int check_in(const json_t *root, const json_t *s, int depth, char *err, size_t cap)
{
    const char *k;
    json_t *v;
    size_t i;
    int rc;

    if (depth > WDN_JSON_MAX_DEPTH)
        return errf(err, cap, WDN_ELIMIT, "schema nested too deeply");
    if (json_is_boolean(s))
        return 0;
    if (!json_is_object(s))
        return errf(err, cap, WDN_EINVAL, "a schema must be an object or a boolean");
    json_object_foreach ((json_t *)s, k, v) {
        if (strncmp(k, "x-", 2) == 0 || in_list(k, annotations))
            continue;
        if (!in_list(k, implemented))
            return errf(err, cap, WDN_EUNSUPPORTED, "unsupported schema keyword \"%s\"", k);
        if (strcmp(k, "$ref") == 0) {
            if (!json_is_string(v) || resolve_ref(root, json_string_value(v)) == NULL)
                return errf(err, cap, WDN_EUNSUPPORTED,
                            "$ref must point inside the schema (\"#/$defs/...\")");
        } else if (strcmp(k, "properties") == 0 || strcmp(k, "$defs") == 0 ||
                   strcmp(k, "definitions") == 0) {
            const char *pk;
            json_t *pv;
            if (!json_is_object(v))
                return errf(err, cap, WDN_EINVAL, "%s must be an object", k);
            json_object_foreach (v, pk, pv) {
                if ((rc = check_in(root, pv, depth + 1, err, cap)) != 0)
                    return rc;
            }
        } else if (strcmp(k, "items") == 0 || strcmp(k, "not") == 0 ||
                   strcmp(k, "additionalProperties") == 0) {
            if ((rc = check_in(root, v, depth + 1, err, cap)) != 0)
                return rc;
        } else if (strcmp(k, "allOf") == 0 || strcmp(k, "anyOf") == 0 || strcmp(k, "oneOf") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0)
                return errf(err, cap, WDN_EINVAL, "%s must be a non-empty array", k);
            for (i = 0; i < json_array_size(v); i++)
                if ((rc = check_in(root, json_array_get(v, i), depth + 1, err, cap)) != 0)
                    return rc;
        } else if (strcmp(k, "required") == 0) {
            if (!json_is_array(v))
                return errf(err, cap, WDN_EINVAL, "required must be an array");
            for (i = 0; i < json_array_size(v); i++)
                if (!json_is_string(json_array_get(v, i)))
                    return errf(err, cap, WDN_EINVAL, "required must list strings");
        } else if (strcmp(k, "enum") == 0) {
            if (!json_is_array(v))
                return errf(err, cap, WDN_EINVAL, "enum must be an array");
        } else if (strcmp(k, "type") == 0) {
            if (!json_is_string(v) && !json_is_array(v))
                return errf(err, cap, WDN_EINVAL, "type must be a string or an array");
        } else if (strcmp(k, "const") != 0 && strcmp(k, "uniqueItems") != 0) {
            if (!json_is_number(v))
                return errf(err, cap, WDN_EINVAL, "%s must be a number", k);
        }
    }
    return 0;
}

int wdn_mcp_schema_check(const json_t *schema, char *err, size_t errcap)
{
    return check(schema, 0, err, errcap);
}

static bool type_is(const char *t, const json_t *x)
{
    if (strcmp(t, "object") == 0)
        return json_is_object(x);
    if (strcmp(t, "array") == 0)
        return json_is_array(x);
    if (strcmp(t, "string") == 0)
        return json_is_string(x);
    if (strcmp(t, "boolean") == 0)
        return json_is_boolean(x);
    if (strcmp(t, "null") == 0)
        return json_is_null(x);
    if (strcmp(t, "number") == 0)
        return json_is_number(x);
    if (strcmp(t, "integer") == 0) {
        double d;
        if (json_is_integer(x))
            return true;
        if (!json_is_real(x))
            return false;
        d = json_real_value(x);
        return isfinite(d) && floor(d) == d;
    }
    return false;
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

/* Numeric equality across integer and real, which json_equal keeps apart. */
static bool values_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
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

static int validate(const json_t *root, const json_t *s, const json_t *x, const char *path,
                    int depth, char *err, size_t cap);

static int validate_child(const json_t *root, const json_t *s, const json_t *x, const char *path,
                          const char *seg, int depth, char *err, size_t cap)
{
    char sub[256];

    snprintf(sub, sizeof(sub), "%s/%s", path, seg);
    return validate(root, s, x, sub, depth + 1, err, cap);
}

static int validate(const json_t *root, const json_t *s, const json_t *x, const char *path,
                    int depth, char *err, size_t cap)
{
    const char *where = path[0] ? path : "/";
    json_t *v, *props;
    size_t i;
    int rc;

    if (depth > WDN_JSON_MAX_DEPTH)
        return errf(err, cap, WDN_EINVAL, "%s: nested too deeply", where);
    if (json_is_true(s))
        return 0;
    if (json_is_false(s))
        return errf(err, cap, WDN_EINVAL, "%s: not allowed", where);
    if (!json_is_object(s))
        return errf(err, cap, WDN_EINVAL, "%s: invalid schema", where);

    /* A reference is checked in place; its siblings still apply (2020-12). Cycles end at the
     * depth limit. */
    if ((v = json_object_get(s, "$ref")) != NULL) {
        const json_t *target = resolve_ref(root, json_string_value(v));
        if (target == NULL)
            return errf(err, cap, WDN_EINVAL, "%s: unresolvable $ref", where);
        if ((rc = validate(root, target, x, path, depth + 1, err, cap)) != 0)
            return rc;
    }
    if ((v = json_object_get(s, "type")) != NULL) {
        bool ok = false;
        if (json_is_string(v)) {
            ok = type_is(json_string_value(v), x);
        } else {
            for (i = 0; i < json_array_size(v) && !ok; i++) {
                json_t *t = json_array_get(v, i);
                ok = json_is_string(t) && type_is(json_string_value(t), x);
            }
        }
        if (!ok)
            return errf(err, cap, WDN_EINVAL, "%s: expected %s, got %s", where,
                        json_is_string(v) ? json_string_value(v) : "one of the listed types",
                        type_name(x));
    }
    if ((v = json_object_get(s, "const")) != NULL && !values_equal(v, x))
        return errf(err, cap, WDN_EINVAL, "%s: must equal the constant value", where);
    if ((v = json_object_get(s, "enum")) != NULL) {
        bool ok = false;
        for (i = 0; i < json_array_size(v) && !ok; i++)
            ok = values_equal(json_array_get(v, i), x);
        if (!ok)
            return errf(err, cap, WDN_EINVAL, "%s: must be one of the allowed values", where);
    }
    if (json_is_number(x)) {
        double d = json_number_value(x);
        if ((v = json_object_get(s, "minimum")) != NULL && d < json_number_value(v))
            return errf(err, cap, WDN_EINVAL, "%s: must be >= %g", where, json_number_value(v));
        if ((v = json_object_get(s, "maximum")) != NULL && d > json_number_value(v))
            return errf(err, cap, WDN_EINVAL, "%s: must be <= %g", where, json_number_value(v));
        if ((v = json_object_get(s, "exclusiveMinimum")) != NULL && d <= json_number_value(v))
            return errf(err, cap, WDN_EINVAL, "%s: must be > %g", where, json_number_value(v));
        if ((v = json_object_get(s, "exclusiveMaximum")) != NULL && d >= json_number_value(v))
            return errf(err, cap, WDN_EINVAL, "%s: must be < %g", where, json_number_value(v));
        if ((v = json_object_get(s, "multipleOf")) != NULL && json_number_value(v) > 0) {
            double q = d / json_number_value(v);
            if (!isfinite(q) || fabs(q - nearbyint(q)) > 1e-9)
                return errf(err, cap, WDN_EINVAL, "%s: must be a multiple of %g", where,
                            json_number_value(v));
        }
    }
    if (json_is_string(x)) {
        size_t n = utf8_len(json_string_value(x), json_string_length(x));
        if ((v = json_object_get(s, "minLength")) != NULL && (double)n < json_number_value(v))
            return errf(err, cap, WDN_EINVAL, "%s: shorter than %g characters", where,
                        json_number_value(v));
        if ((v = json_object_get(s, "maxLength")) != NULL && (double)n > json_number_value(v))
            return errf(err, cap, WDN_EINVAL, "%s: longer than %g characters", where,
                        json_number_value(v));
    }
    if (json_is_array(x)) {
        size_t n = json_array_size(x);
        if ((v = json_object_get(s, "minItems")) != NULL && (double)n < json_number_value(v))
            return errf(err, cap, WDN_EINVAL, "%s: fewer than %g items", where,
                        json_number_value(v));
        if ((v = json_object_get(s, "maxItems")) != NULL && (double)n > json_number_value(v))
            return errf(err, cap, WDN_EINVAL, "%s: more than %g items", where,
                        json_number_value(v));
        if (json_is_true(json_object_get(s, "uniqueItems"))) {
            size_t j;
            for (i = 0; i < n; i++)
                for (j = i + 1; j < n; j++)
                    if (values_equal(json_array_get(x, i), json_array_get(x, j)))
                        return errf(err, cap, WDN_EINVAL, "%s: items must be unique", where);
        }
        if ((v = json_object_get(s, "items")) != NULL) {
            for (i = 0; i < n; i++) {
                char seg[32];
                snprintf(seg, sizeof(seg), "%zu", i);
                if ((rc =
                         validate_child(root, v, json_array_get(x, i), path, seg, depth, err, cap)))
                    return rc;
            }
        }
    }
    if (json_is_object(x)) {
        const char *k;
        json_t *pv;
        size_t n = json_object_size(x);
        if ((v = json_object_get(s, "minProperties")) != NULL && (double)n < json_number_value(v))
            return errf(err, cap, WDN_EINVAL, "%s: too few properties", where);
        if ((v = json_object_get(s, "maxProperties")) != NULL && (double)n > json_number_value(v))
            return errf(err, cap, WDN_EINVAL, "%s: too many properties", where);
        if ((v = json_object_get(s, "required")) != NULL) {
            for (i = 0; i < json_array_size(v); i++) {
                const char *name = json_string_value(json_array_get(v, i));
                if (name != NULL && json_object_get(x, name) == NULL)
                    return errf(err, cap, WDN_EINVAL, "%s: missing required property \"%s\"", where,
                                name);
            }
        }
        props = json_object_get(s, "properties");
        v = json_object_get(s, "additionalProperties");
        json_object_foreach ((json_t *)x, k, pv) {
            json_t *ps = props != NULL ? json_object_get(props, k) : NULL;
            if (ps != NULL) {
                if ((rc = validate_child(root, ps, pv, path, k, depth, err, cap)) != 0)
                    return rc;
            } else if (json_is_false(v)) {
                return errf(err, cap, WDN_EINVAL, "%s: unexpected property \"%s\"", where, k);
            } else if (json_is_object(v)) {
                if ((rc = validate_child(root, v, pv, path, k, depth, err, cap)) != 0)
                    return rc;
            }
        }
    }
    if ((v = json_object_get(s, "allOf")) != NULL) {
        for (i = 0; i < json_array_size(v); i++)
            if ((rc = validate(root, json_array_get(v, i), x, path, depth + 1, err, cap)) != 0)
                return rc;
    }
    if ((v = json_object_get(s, "anyOf")) != NULL) {
        bool ok = false;
        for (i = 0; i < json_array_size(v) && !ok; i++)
            ok = validate(root, json_array_get(v, i), x, path, depth + 1, NULL, 0) == 0;
        if (!ok)
            return errf(err, cap, WDN_EINVAL, "%s: matches none of anyOf", where);
    }
    if ((v = json_object_get(s, "oneOf")) != NULL) {
        size_t matches = 0;
        for (i = 0; i < json_array_size(v); i++)
            matches += validate(root, json_array_get(v, i), x, path, depth + 1, NULL, 0) == 0;
        if (matches != 1)
            return errf(err, cap, WDN_EINVAL, "%s: must match exactly one of oneOf", where);
    }
    if ((v = json_object_get(s, "not")) != NULL &&
        validate(root, v, x, path, depth + 1, NULL, 0) == 0)
        return errf(err, cap, WDN_EINVAL, "%s: matches a forbidden schema", where);
    return 0;
}

int wdn_mcp_schema_validate(const json_t *schema, const json_t *instance, char *err, size_t errcap)
{
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    return validate(schema, schema, instance, "", 0, err, errcap);
}
