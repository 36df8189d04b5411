/* Internal to the JSON Schema engine (schema.c compiles, schema_validate.c validates): the
 * compiled form of a schema, a flat array of nodes that refer to each other by index. */
#ifndef WDN_MCP_SCHEMA_INT_H
#define WDN_MCP_SCHEMA_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>

#include "warden/mcp.h"

enum {
    T_NULL = 1,
    T_BOOLEAN = 2,
    T_OBJECT = 4,
    T_ARRAY = 8,
    T_NUMBER = 16,
    T_STRING = 32,
    T_INTEGER = 64
};

/* Formats asserted (2020-12 makes format an annotation by default; MCP tools are checked). */
enum {
    F_NONE = 0,
    F_DATE_TIME,
    F_DATE,
    F_TIME,
    F_DURATION,
    F_EMAIL,
    F_HOSTNAME,
    F_IPV4,
    F_IPV6,
    F_URI,
    F_URI_REFERENCE,
    F_UUID,
    F_JSON_POINTER,
    F_RELATIVE_JSON_POINTER,
    F_REGEX
};

#define NO_NODE (-1)
#define NO_LIMIT ((size_t)-1)

/* A name (property, dependency) and the node that applies to it. */
struct sname {
    const char *name; /* borrowed from the schema document */
    int node;
};

/* A pattern (pattern, patternProperties) compiled by PCRE2, and its node for properties. */
struct spattern {
    pcre2_code *re;
    int node;
};

struct snode {
    const json_t *src;  /* the subschema (borrowed from the document) */
    signed char bool_v; /* -1: an object schema; else the boolean schema's value */
    unsigned types;     /* T_* bits; 0 when the schema has no "type" */
    const json_t *enum_v, *const_v;
    bool has_min, has_max, has_xmin, has_xmax, has_mult;
    double min, max, xmin, xmax, mult;
    size_t min_len, max_len, min_items, max_items, min_props, max_props, min_contains, max_contains;
    bool unique, has_contains_limits;
    pcre2_code *pattern;
    int format;
    int ref;
    const char *ref_text; /* while compiling: the $ref to resolve */
    int *all_of, *any_of, *one_of;
    size_t n_all, n_any, n_one;
    int not_, if_, then_, else_;
    struct sname *props, *dep_schemas;
    size_t nprops, ndep_schemas;
    struct spattern *pprops;
    size_t npprops;
    int additional, property_names;
    const json_t *required, *dep_required;
    int *prefix;
    size_t nprefix;
    int items, contains;
    int uneval_props, uneval_items;
};

struct wdn_mcp_schema {
    json_t *doc; /* one reference to the document every pointer above is borrowed from */
    struct snode *nodes;
    size_t n, cap;
    pcre2_match_context *mctx; /* the match and depth limits every match runs with (made with
                                * the first pattern: NULL in a schema without one) */
};

/** Asserts format f on a string (n bytes). */
bool wdn__mcp_format_ok(const struct wdn_mcp_schema *s, int f, const char *p, size_t n);
/** Matches re against the string: 1 when it matches, 0 when it does not, WDN_ELIMIT when PCRE2
 * gave up (match, depth or heap limit: catastrophic backtracking) or WDN_ENOMEM. A caller must
 * not read an error as "no match": inside not, if, anyOf or oneOf that would accept a value. */
int wdn__mcp_pattern_match(const struct wdn_mcp_schema *s, const pcre2_code *re, const char *p,
                           size_t n);
/** Compiles an ECMA-262 pattern with PCRE2 (UTF, \u escapes, $ only at the end), or NULL with
 * *rc (when rc is not NULL) WDN_ENOMEM or WDN_EINVAL (an invalid or too long pattern, said in
 * err). */
pcre2_code *wdn__mcp_pattern_compile(const char *src, size_t n, int *rc, char *err, size_t cap);

#endif
