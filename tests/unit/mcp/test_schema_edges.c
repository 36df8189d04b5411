/* Edge cases of the JSON Schema 2020-12 engine (src/mcp/schema*.c) beside test_schema.c: each
 * format validator with one instance per rule it enforces (a table: the value, accepted or not),
 * every refusal of a malformed keyword at compilation with its message, and the validator's
 * keyword failures with the error text a tool caller sees ("/path: what"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/limits.h"
#include "warden/mcp.h"

static char err[512];

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);

    if (j == NULL)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return j;
}

/* Compiles schema text and validates the instance (borrowed): 0 or WDN_EINVAL (err says why). */
static int check_with(const char *schema, const json_t *instance)
{
    json_t *s = load(schema);
    struct wdn_mcp_schema *c;
    int rc;

    c = wdn_mcp_schema_compile(s, &rc, err, sizeof(err));
    if (c == NULL)
        fail_msg("schema %s refused (%d): %s", schema, rc, err);
    rc = wdn_mcp_schema_match(c, instance, err, sizeof(err));
    wdn_mcp_schema_free(c);
    json_decref(s);
    return rc;
}

static int check(const char *schema, const char *instance)
{
    json_t *i = load(instance);
    int rc = check_with(schema, i);

    json_decref(i);
    return rc;
}

/* Compiles schema text that must be refused: the code (err holds the message). */
static int refused(const char *schema)
{
    json_t *s = load(schema);
    int rc = 0;

    if (wdn_mcp_schema_compile(s, &rc, err, sizeof(err)) != NULL)
        fail_msg("schema %s was accepted", schema);
    json_decref(s);
    return rc;
}

#define OK(s, i) assert_int_equal(check(s, i), 0)
#define BAD(s, i, msg)                                                                             \
    do {                                                                                           \
        assert_int_equal(check(s, i), WDN_EINVAL);                                                 \
        assert_string_equal(err, msg);                                                             \
    } while (0)
#define REFUSED(s, code, msg)                                                                      \
    do {                                                                                           \
        assert_int_equal(refused(s), code);                                                        \
        assert_string_equal(err, msg);                                                             \
    } while (0)

/* ---- formats: one row per rule ------------------------------------------------------------- */

struct fcase {
    const char *format;
    const char *value; /* the string (may hold a NUL when len says so) */
    size_t len;        /* 0: strlen(value) */
    bool ok;
};

static const struct fcase fcases[] = {
    /* date (RFC 3339 full-date): shape, month and day ranges, leap years. */
    {"date", "2024-02-29", 0, true},
    {"date", "2000-02-29", 0, true},  /* divisible by 400 */
    {"date", "2100-02-29", 0, false}, /* divisible by 100 only */
    {"date", "2023-02-29", 0, false},
    {"date", "2023-02-28", 0, true},
    {"date", "2023-04-31", 0, false},
    {"date", "2023-12-31", 0, true},
    {"date", "2023-00-10", 0, false},
    {"date", "2023-13-10", 0, false},
    {"date", "2023-01-00", 0, false},
    {"date", "2023-1-010", 0, false},
    {"date", "2023-01/10", 0, false},
    {"date", "20a3-01-10", 0, false},
    {"date", "2023-0a-10", 0, false},
    {"date", "2023-01-1a", 0, false},
    {"date", "2023-01-1", 0, false},
    {"date", "2023-01-100", 0, false},
    /* time (full-time): ranges, leap second, fractions, offsets. */
    {"time", "23:59:60Z", 0, true},
    {"time", "00:00:00z", 0, true},
    {"time", "12:30:15.123456Z", 0, true},
    {"time", "12:30:15+05:30", 0, true},
    {"time", "12:30:15-23:59", 0, true},
    {"time", "12:30:15.5-01:00", 0, true},
    {"time", "12:30:15", 0, false},   /* no offset */
    {"time", "12:30:15.Z", 0, false}, /* a dot without digits */
    {"time", "12:60:00Z", 0, false},
    {"time", "12:00:61Z", 0, false},
    {"time", "1a:00:00Z", 0, false},
    {"time", "12:0a:00Z", 0, false},
    {"time", "12:00:0aZ", 0, false},
    {"time", "12-00:00Z", 0, false},
    {"time", "12:00-00Z", 0, false},
    {"time", "12:00:00X", 0, false},
    {"time", "12:00:00+24:00", 0, false},
    {"time", "12:00:00+01:60", 0, false},
    {"time", "12:00:00+01-00", 0, false},
    {"time", "12:00:00+0a:00", 0, false},
    {"time", "12:00:00+01:0a", 0, false},
    {"time", "12:00:00*01:00", 0, false},
    {"time", "12:00:00+01:000", 0, false},
    {"time", "12:00:00Zx", 0, false},
    /* date-time: the T (either case) between a valid date and a valid time. */
    {"date-time", "2026-07-28T10:30:00Z", 0, true},
    {"date-time", "2026-07-28t10:30:00Z", 0, true},
    {"date-time", "2026-07-28 10:30:00Z", 0, false},
    {"date-time", "2026-07-28T25:30:00Z", 0, false},
    {"date-time", "2026-13-28T10:30:00Z", 0, false},
    /* duration (RFC 3339 appendix A). */
    {"duration", "P1D", 0, true},
    {"duration", "PT1M", 0, true},
    {"duration", "P1Y1M", 0, true},
    {"duration", "P1DT2H3M4S", 0, true},
    {"duration", "P12W", 0, true},
    {"duration", "PW", 0, false},
    {"duration", "P1XW", 0, false},
    {"duration", "1DP", 0, false}, /* must start with P */
    {"duration", "PD", 0, false},  /* a unit without a number */
    {"duration", "P1", 0, false},  /* a number without a unit */
    {"duration", "P12", 0, false},
    {"duration", "P1X", 0, false},   /* not a unit */
    {"duration", "P1D1Y", 0, false}, /* out of order */
    {"duration", "P1D1D", 0, false}, /* twice */
    {"duration", "P1DT", 0, false},  /* T with no time */
    {"duration", "PT1HT1M", 0, false},
    {"duration", "PT1D", 0, false}, /* D is not a time unit */
    {"duration", "P1H", 0, false},  /* H is not a date unit */
    {"duration", "P1\0", 3, false}, /* a NUL is not the end of the units */
    /* hostname (RFC 1123 labels). */
    {"hostname", "a", 0, true},
    {"hostname", "xn--bcher-kva.example", 0, true},
    {"hostname", "A-1.B-2", 0, true},
    {"hostname", "", 0, false},
    {"hostname", "a..b", 0, false},
    {"hostname", "a.", 0, false},
    {"hostname", ".a", 0, false},
    {"hostname", "a-.b", 0, false},
    {"hostname", "a.b-", 0, false},
    {"hostname", "-a", 0, false},
    {"hostname", "a_b", 0, false},
    {"hostname", "a b", 0, false},
    {"hostname", "\xc3\xa9t\xc3\xa9", 0, false},
    /* ipv4: four decimal parts, no leading zeros, each <= 255. */
    {"ipv4", "0.0.0.0", 0, true},
    {"ipv4", "255.255.255.255", 0, true},
    {"ipv4", "256.1.1.1", 0, false},
    {"ipv4", "1.2.3.256", 0, false},
    {"ipv4", "1.2.3", 0, false},
    {"ipv4", "1.2.3.", 0, false},
    {"ipv4", "1.2.3.4.", 0, false},
    {"ipv4", "1.2.3.4.5", 0, false},
    {"ipv4", "1234.1.1.1", 0, false},
    {"ipv4", "1:2.3.4", 0, false},
    {"ipv4", "01.2.3.4", 0, false},
    {"ipv4", "1.2.3.00", 0, false},
    {"ipv4", "a.b.c.d", 0, false},
    {"ipv4", "", 0, false},
    /* ipv6: inet_pton's grammar, no zone, bounded. */
    {"ipv6", "::", 0, true},
    {"ipv6", "2001:db8::1", 0, true},
    {"ipv6", "fe80::1%eth0", 0, false},
    {"ipv6", "", 0, false},
    {"ipv6", "1:2:3:4:5:6:7:8:9", 0, false},
    {"ipv6", "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:1", 0, false},
    {"ipv6", "1.2.3.4", 0, false},
    /* email: local part characters and dots, then a host name or an address literal. */
    {"email", "user@example.com", 0, true},
    {"email", "o'hara+tag!#$%&*/=?^_`{|}~-@example.com", 0, true},
    {"email", "a.b.c@example.com", 0, true},
    {"email", "Joe9@[192.0.2.1]", 0, true},
    {"email", "joe@[IPv6:2001:db8::1]", 0, true},
    {"email", "joe@[IPv6:1::2::3]", 0, false},
    {"email", "joe@[300.0.2.1]", 0, false},
    {"email", "joe@[]", 0, false},
    {"email", "joe@[1.2.3.4", 0, false},
    {"email", "joe@example..com", 0, false},
    {"email", "joe@", 0, false},
    {"email", "example.com", 0, false},
    {"email", "@example.com", 0, false},
    {"email", ".joe@example.com", 0, false},
    {"email", "joe.@example.com", 0, false},
    {"email", "jo..e@example.com", 0, false},
    {"email", "jo e@example.com", 0, false},
    {"email", "jo(e)@example.com", 0, false},
    {"email", "jo\"e@example.com", 0, false},
    {"email", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com", 0,
     true}, /* 64 */
    {"email", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com", 0,
     false}, /* 65 */
    /* uri: RFC 3986 characters, %XX escapes, a scheme. */
    {"uri", "urn:isbn:0451450523", 0, true},
    {"uri", "a+b-c.d:x", 0, true},
    {"uri", "HTTP://EXAMPLE.COM/%7Euser", 0, true},
    {"uri", "mailto:joe@example.com?subject=a%20b", 0, true},
    {"uri", "https://example.com/%7", 0, false},
    {"uri", "https://example.com/%", 0, false},
    {"uri", "https://example.com/%g1", 0, false},
    {"uri", "https://example.com/%1g", 0, false},
    {"uri", "https://example.com/a b", 0, false},
    {"uri", "https://example.com/<a>", 0, false},
    {"uri", "https://example.com/\\", 0, false},
    {"uri", "https://ex\0ample.com", 19, false},
    {"uri", "1http://example.com", 0, false}, /* a scheme starts with a letter */
    {"uri", "ht_tp://example.com", 0, false},
    {"uri", "example", 0, false},
    {"uri", "//example.com/a", 0, false},
    {"uri", "", 0, false},
    /* uri-reference: the same characters, the scheme optional. */
    {"uri-reference", "", 0, true},
    {"uri-reference", "1/a", 0, true},
    {"uri-reference", "?q=1#f", 0, true},
    {"uri-reference", "../a%2Fb", 0, true},
    {"uri-reference", "a%2", 0, false},
    {"uri-reference", "a\"b", 0, false},
    /* uuid: 8-4-4-4-12 hex digits. */
    {"uuid", "00000000-0000-0000-0000-000000000000", 0, true},
    {"uuid", "ABCDEF01-2345-6789-abcd-ef0123456789", 0, true},
    {"uuid", "00000000-0000-0000-0000-00000000000", 0, false},
    {"uuid", "00000000-0000-0000-0000-0000000000000", 0, false},
    {"uuid", "00000000x0000-0000-0000-000000000000", 0, false},
    {"uuid", "00000000-0000-0000-0000+000000000000", 0, false},
    {"uuid", "0000000g-0000-0000-0000-000000000000", 0, false},
    {"uuid", "00000000-0000-0000-0000-00000000000g", 0, false},
    /* json-pointer (RFC 6901). */
    {"json-pointer", "", 0, true},
    {"json-pointer", "/", 0, true},
    {"json-pointer", "/a~1b/~0", 0, true},
    {"json-pointer", "/a~", 0, false},
    {"json-pointer", "/a~2", 0, false},
    {"json-pointer", "/~", 0, false},
    {"json-pointer", "a", 0, false},
    /* relative-json-pointer: a non-negative integer, then # or a JSON pointer. */
    {"relative-json-pointer", "0", 0, true},
    {"relative-json-pointer", "0#", 0, true},
    {"relative-json-pointer", "10/a/b", 0, true},
    {"relative-json-pointer", "2#x", 0, false},
    {"relative-json-pointer", "#", 0, false},
    {"relative-json-pointer", "/a", 0, false},
    {"relative-json-pointer", "00", 0, false},
    {"relative-json-pointer", "1a", 0, false},
    {"relative-json-pointer", "1/a~3", 0, false},
    /* regex: whatever PCRE2 compiles with the ECMA-262 options. */
    {"regex", "^\\u0041+$", 0, true},
    {"regex", "a{2,1}", 0, false},
    {"regex", "[z-a]", 0, false},
};

static void formats_table(void **state)
{
    char schema[64];
    size_t i;

    for (i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
        const struct fcase *f = &fcases[i];
        size_t len = f->len ? f->len : strlen(f->value);
        json_t *x = json_stringn(f->value, len);
        int rc;

        assert_non_null(x);
        snprintf(schema, sizeof(schema), "{\"format\":\"%s\"}", f->format);
        rc = check_with(schema, x);
        json_decref(x);
        if (rc != (f->ok ? 0 : WDN_EINVAL))
            fail_msg("format %s, value \"%s\": expected %s, got %d (%s)", f->format, f->value,
                     f->ok ? "accepted" : "refused", rc, err);
        if (!f->ok) {
            char want[96];
            snprintf(want, sizeof(want), "/: not a valid %s", f->format);
            assert_string_equal(err, want);
        }
    }
}

/* A format inside a document says where the failing value is. */
static void format_error_location(void **state)
{
    BAD("{\"properties\":{\"when\":{\"type\":\"array\",\"items\":{\"format\":\"date\"}}}}",
        "{\"when\":[\"2026-01-01\",\"2026-02-30\"]}", "/when/1: not a valid date");
    BAD("{\"items\":{\"format\":\"ipv4\"}}", "[\"1.2.3.4\",\"1.2.3\"]", "/1: not a valid ipv4");
}

/* ---- refusals at compilation ----------------------------------------------------------------- */

static void keyword_value_refusals(void **state)
{
    REFUSED("{\"minLength\":\"3\"}", WDN_EINVAL, "minLength must be a non-negative integer");
    REFUSED("{\"minItems\":1.5}", WDN_EINVAL, "minItems must be a non-negative integer");
    REFUSED("{\"minimum\":\"0\"}", WDN_EINVAL, "minimum must be a number");
    REFUSED("{\"exclusiveMaximum\":null}", WDN_EINVAL, "exclusiveMaximum must be a number");
    REFUSED("{\"multipleOf\":-2}", WDN_EINVAL, "multipleOf must be greater than 0");
    REFUSED("{\"multipleOf\":\"2\"}", WDN_EINVAL, "multipleOf must be a number");
    REFUSED("{\"type\":[]}", WDN_EINVAL, "type must be a string or a non-empty array");
    REFUSED("{\"type\":3}", WDN_EINVAL, "type must be a string or a non-empty array");
    REFUSED("{\"type\":[\"string\",3]}", WDN_EINVAL, "type must list type names");
    REFUSED("{\"type\":[\"string\",\"strnig\"]}", WDN_EINVAL, "type must list type names");
    REFUSED("{\"type\":\"strnig\"}", WDN_EINVAL, "unknown type \"strnig\"");
    REFUSED("{\"required\":\"a\"}", WDN_EINVAL, "required must be an array");
    REFUSED("{\"required\":[\"a\",1]}", WDN_EINVAL, "required must list strings");
    REFUSED("{\"dependentRequired\":[]}", WDN_EINVAL, "dependentRequired must be an object");
    REFUSED("{\"dependentRequired\":{\"a\":\"b\"}}", WDN_EINVAL,
            "dependentRequired must be an array");
    REFUSED("{\"dependentRequired\":{\"a\":[2]}}", WDN_EINVAL,
            "dependentRequired must list strings");
    REFUSED("{\"enum\":{\"a\":1}}", WDN_EINVAL, "enum must be an array");
    REFUSED("{\"uniqueItems\":1}", WDN_EINVAL, "uniqueItems must be a boolean");
    REFUSED("{\"pattern\":1}", WDN_EINVAL, "pattern must be a string");
    REFUSED("{\"format\":7}", WDN_EINVAL, "format must be a string");
    REFUSED("{\"$ref\":7}", WDN_EINVAL, "$ref must be a string");
    REFUSED("{\"$anchor\":\"\"}", WDN_EINVAL, "$anchor must be a non-empty string");
    REFUSED("{\"$anchor\":1}", WDN_EINVAL, "$anchor must be a non-empty string");
    REFUSED("{\"$id\":5}", WDN_EUNSUPPORTED, "$id is supported on the root schema only");
    REFUSED("{\"properties\":[]}", WDN_EINVAL, "properties must be an object");
    REFUSED("{\"$defs\":3}", WDN_EINVAL, "$defs must be an object");
    REFUSED("{\"patternProperties\":[]}", WDN_EINVAL, "patternProperties must be an object");
    REFUSED("{\"anyOf\":{}}", WDN_EINVAL, "anyOf must be a non-empty array");
    REFUSED("{\"oneOf\":[]}", WDN_EINVAL, "oneOf must be a non-empty array");
    REFUSED("{\"not\":3}", WDN_EINVAL, "a schema must be an object or a boolean");
    REFUSED("{\"items\":\"x\"}", WDN_EINVAL, "a schema must be an object or a boolean");
    REFUSED("{\"items\":[]}", WDN_EUNSUPPORTED,
            "items as an array is draft 2019-09; use prefixItems (2020-12)");
    REFUSED("{\"minContains\":-1}", WDN_EINVAL, "minContains must be a non-negative integer");
    REFUSED("{\"maxContains\":true}", WDN_EINVAL, "maxContains must be a non-negative integer");
    REFUSED("null", WDN_EINVAL, "a schema must be an object or a boolean");
}

/* An error inside a subschema stops the compilation there, whatever holds it. */
static void nested_refusals(void **state)
{
    REFUSED("{\"patternProperties\":{\"^a\":{\"type\":\"nope\"}}}", WDN_EINVAL,
            "unknown type \"nope\"");
    REFUSED("{\"patternProperties\":{\"^a\":{},\"(\":{}}}", WDN_EINVAL,
            "invalid pattern at offset 1: missing closing parenthesis");
    REFUSED("{\"dependentSchemas\":{\"a\":{\"minimum\":\"x\"}}}", WDN_EINVAL,
            "minimum must be a number");
    REFUSED("{\"items\":{\"madeUp\":1}}", WDN_EUNSUPPORTED,
            "unsupported schema keyword \"madeUp\"");
    REFUSED("{\"allOf\":[{},{\"enum\":1}]}", WDN_EINVAL, "enum must be an array");
    REFUSED("{\"$defs\":{\"a\":{\"$id\":\"x\"}}}", WDN_EUNSUPPORTED,
            "$id is supported on the root schema only");
}

/* References: JSON pointers into objects and arrays, escapes, $id-qualified, bad targets. */
static void references(void **state)
{
    /* $defs members must be schemas themselves: an array there is refused. */
    REFUSED("{\"$defs\":{\"list\":[{\"type\":\"string\"}]},\"$ref\":\"#/$defs/list/0\"}",
            WDN_EINVAL, "a schema must be an object or a boolean");

    /* A pointer into an array held by an applicator: allOf/1. */
    OK("{\"allOf\":[{},{\"minimum\":3}],\"properties\":{\"a\":{\"$ref\":\"#/allOf/1\"}}}",
       "{\"a\":4}");
    BAD("{\"allOf\":[{},{\"minimum\":3}],\"properties\":{\"a\":{\"$ref\":\"#/allOf/1\"}}}",
        "{\"a\":2}", "/a: must be >= 3");
    REFUSED("{\"allOf\":[{}],\"$ref\":\"#/allOf/x\"}", WDN_EUNSUPPORTED,
            "$ref must point inside the schema (\"#/$defs/...\")");
    REFUSED("{\"allOf\":[{}],\"$ref\":\"#/allOf/\"}", WDN_EUNSUPPORTED,
            "$ref must point inside the schema (\"#/$defs/...\")");
    REFUSED("{\"allOf\":[{}],\"$ref\":\"#/allOf/7\"}", WDN_EUNSUPPORTED,
            "$ref must point inside the schema (\"#/$defs/...\")");
    /* Through a scalar: nothing below it. */
    REFUSED("{\"minimum\":1,\"$ref\":\"#/minimum/a\"}", WDN_EUNSUPPORTED,
            "$ref must point inside the schema (\"#/$defs/...\")");
    /* A pointer at a keyword value that is no schema. */
    REFUSED("{\"minimum\":1,\"$ref\":\"#/minimum\"}", WDN_EINVAL,
            "a schema must be an object or a boolean");
    /* ~0 and ~1 escapes in a segment. */
    OK("{\"$defs\":{\"a/b~c\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a~1b~0c\"}", "\"x\"");
    BAD("{\"$defs\":{\"a/b~c\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a~1b~0c\"}", "1",
        "/: expected string, got integer");
    /* A segment longer than any name the resolver reads is no target. */
    {
        char big[600];
        int n = snprintf(big, sizeof(big), "{\"$defs\":{\"x\":{}},\"$ref\":\"#/$defs/");
        memset(big + n, 'x', 300);
        snprintf(big + n + 300, sizeof(big) - (size_t)n - 300, "\"}");
        REFUSED(big, WDN_EUNSUPPORTED, "$ref must point inside the schema (\"#/$defs/...\")");
    }
    /* "#" is the root; the root's own $id may qualify a reference. */
    OK("{\"$id\":\"https://example.com/t.json\",\"type\":\"object\","
       "\"properties\":{\"next\":{\"$ref\":\"https://example.com/t.json#\"}}}",
       "{\"next\":{\"next\":{}}}");
    BAD("{\"$id\":\"https://example.com/t.json\",\"type\":\"object\","
        "\"properties\":{\"next\":{\"$ref\":\"#\"}}}",
        "{\"next\":{\"next\":3}}", "/next/next: expected object, got integer");
    OK("{\"$id\":\"https://example.com/t.json\",\"$defs\":{\"p\":{\"$anchor\":\"pos\","
       "\"minimum\":0}},\"$ref\":\"https://example.com/t.json#pos\"}",
       "1");
    /* Another document's $id is never fetched. */
    REFUSED("{\"$id\":\"https://example.com/t.json\",\"$ref\":\"https://example.com/u.json#\"}",
            WDN_EUNSUPPORTED, "$ref must point inside the schema (\"#/$defs/...\")");
    REFUSED("{\"$id\":\"https://example.com/t.json\",\"$ref\":\"https://example.com/t.jsonx\"}",
            WDN_EUNSUPPORTED, "$ref must point inside the schema (\"#/$defs/...\")");
    /* Several anchors: the right one is found. */
    OK("{\"$defs\":{\"a\":{\"$anchor\":\"one\",\"type\":\"string\"},"
       "\"b\":{\"$anchor\":\"two\",\"type\":\"integer\"}},\"$ref\":\"#two\"}",
       "2");
    BAD("{\"$defs\":{\"a\":{\"$anchor\":\"one\",\"type\":\"string\"},"
        "\"b\":{\"$anchor\":\"two\",\"type\":\"integer\"}},\"$ref\":\"#two\"}",
        "\"2\"", "/: expected integer, got string");
    /* A reference inside what a reference reaches is resolved too. */
    OK("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"type\":\"null\"}},"
       "\"$ref\":\"#/$defs/a\"}",
       "null");
    BAD("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"type\":\"null\"}},"
        "\"$ref\":\"#/$defs/a\"}",
        "false", "/: expected null, got boolean");
    /* definitions (draft 7's name) is read like $defs. */
    OK("{\"definitions\":{\"n\":{\"type\":\"number\"}},\"$ref\":\"#/definitions/n\"}", "1.5");
}

/* Many anchors grow the anchor table past its first size. */
static void many_anchors(void **state)
{
    char s[2048], *p = s;
    int i;

    p += sprintf(p, "{\"$defs\":{");
    for (i = 0; i < 20; i++)
        p += sprintf(p, "%s\"d%d\":{\"$anchor\":\"a%d\",\"const\":%d}", i ? "," : "", i, i, i);
    sprintf(p, "},\"$ref\":\"#a17\"}");
    OK(s, "17");
    BAD(s, "16", "/: must equal the constant value");
}

static void nesting_limit(void **state)
{
    /* WDN_JSON_MAX_DEPTH levels of "not" at most. */
    size_t levels = WDN_JSON_MAX_DEPTH + 2, i;
    char *s = malloc(levels * 8 + 16), *p = s;

    assert_non_null(s);
    for (i = 0; i < levels; i++)
        p += sprintf(p, "{\"not\":");
    p += sprintf(p, "{}");
    for (i = 0; i < levels; i++)
        *p++ = '}';
    *p = '\0';
    REFUSED(s, WDN_ELIMIT, "schema nested too deeply");
    free(s);
}

/* ---- validation ------------------------------------------------------------------------------ */

static void assertions(void **state)
{
    BAD("{\"maximum\":3}", "3.5", "/: must be <= 3");
    BAD("{\"exclusiveMinimum\":3}", "3", "/: must be > 3");
    BAD("{\"exclusiveMaximum\":3}", "3", "/: must be < 3");
    OK("{\"exclusiveMaximum\":3,\"exclusiveMinimum\":1}", "2");
    BAD("{\"minLength\":2}", "\"\xc3\xa9\"", "/: shorter than 2 characters"); /* 1 code point */
    OK("{\"maxLength\":1}", "\"\xc3\xa9\"");
    BAD("{\"maxLength\":1}", "\"ab\"", "/: longer than 1 characters");
    OK("{\"maxLength\":1e30}", "\"abc\""); /* a bound beyond size_t: no limit */
    BAD("{\"minItems\":2}", "[1]", "/: fewer than 2 items");
    BAD("{\"maxItems\":1}", "[1,2]", "/: more than 1 items");
    BAD("{\"minProperties\":1}", "{}", "/: too few properties");
    BAD("{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", "/: too many properties");
    BAD("{\"pattern\":\"^a\"}", "\"ba\"", "/: does not match the pattern");
    BAD("{\"type\":[\"string\",\"null\"]}", "1",
        "/: expected one of the listed types, got integer");
    BAD("{\"type\":\"object\"}", "[]", "/: expected object, got array");
    BAD("{\"type\":\"array\"}", "{}", "/: expected array, got object");
    BAD("{\"type\":\"string\"}", "true", "/: expected string, got boolean");
    BAD("{\"type\":\"null\"}", "2.5", "/: expected null, got number");
    BAD("{\"type\":\"boolean\"}", "null", "/: expected boolean, got null");
    OK("{\"type\":\"boolean\"}", "false");
    BAD("{\"type\":\"integer\"}", "\"1\"", "/: expected integer, got string");
    OK("{\"type\":[\"integer\",\"boolean\"]}", "true");
    BAD("{\"enum\":[1,\"a\",null]}", "2", "/: must be one of the allowed values");
    OK("{\"enum\":[1,\"a\",null]}", "1.0");
}

/* const, enum and uniqueItems compare as JSON Schema says: deeply, 1 == 1.0. */
static void equality(void **state)
{
    OK("{\"const\":{\"a\":[1,{\"b\":null}]}}", "{\"a\":[1.0,{\"b\":null}]}");
    BAD("{\"const\":{\"a\":[1,{\"b\":null}]}}", "{\"a\":[1,{\"b\":false}]}",
        "/: must equal the constant value");
    BAD("{\"const\":{\"a\":[1,2]}}", "{\"a\":[1]}", "/: must equal the constant value");
    BAD("{\"const\":{\"a\":1}}", "{\"a\":1,\"b\":2}", "/: must equal the constant value");
    BAD("{\"const\":{\"a\":1}}", "{\"b\":1}", "/: must equal the constant value");
    BAD("{\"const\":[1]}", "{\"0\":1}", "/: must equal the constant value");
    BAD("{\"const\":\"1\"}", "1", "/: must equal the constant value");
    OK("{\"const\":\"x\"}", "\"x\"");
    BAD("{\"uniqueItems\":true}", "[{\"a\":1},{\"a\":1.0}]", "/: items must be unique");
    OK("{\"uniqueItems\":true}", "[{\"a\":1},{\"a\":2},[1],[1,2],\"1\",1]");
    OK("{\"uniqueItems\":false}", "[1,1]");
}

static void objects(void **state)
{
    const char *dep = "{\"dependentRequired\":{\"card\":[\"cvc\",\"expiry\"]}}";

    OK(dep, "{\"other\":1}");
    OK(dep, "{\"card\":1,\"cvc\":2,\"expiry\":3}");
    BAD(dep, "{\"card\":1,\"cvc\":2}", "/: property \"card\" requires \"expiry\"");
    /* patternProperties: the value checked, the name counted as evaluated. */
    BAD("{\"patternProperties\":{\"^n_\":{\"type\":\"number\"}}}", "{\"n_a\":\"x\"}",
        "/n_a: expected number, got string");
    OK("{\"patternProperties\":{\"^n_\":{\"type\":\"number\"}},\"additionalProperties\":false}",
       "{\"n_a\":1}");
    BAD("{\"patternProperties\":{\"^n_\":{\"type\":\"number\"}},\"additionalProperties\":false}",
        "{\"n_a\":1,\"m\":2}", "/: unexpected property \"m\"");
    /* additionalProperties as a schema. */
    BAD("{\"properties\":{\"a\":{}},\"additionalProperties\":{\"type\":\"string\"}}",
        "{\"a\":1,\"b\":2}", "/b: expected string, got integer");
    OK("{\"properties\":{\"a\":{}},\"additionalProperties\":{\"type\":\"string\"}}",
       "{\"a\":1,\"b\":\"2\"}");
    /* propertyNames. */
    BAD("{\"propertyNames\":{\"maxLength\":3}}", "{\"abcd\":1}",
        "/: property name \"abcd\" not allowed");
    OK("{\"propertyNames\":{\"maxLength\":3}}", "{\"abc\":1}");
    /* dependentSchemas apply to the whole object when the property is there. */
    BAD("{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}", "{\"a\":1}",
        "/: missing required property \"b\"");
    OK("{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}", "{\"c\":1}");
}

static void arrays(void **state)
{
    const char *tuple = "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],"
                        "\"items\":{\"type\":\"boolean\"}}";

    OK(tuple, "[\"a\",1,true,false]");
    OK(tuple, "[\"a\"]");
    BAD(tuple, "[\"a\",1,true,3]", "/3: expected boolean, got integer");
    BAD(tuple, "[\"a\",\"b\"]", "/1: expected integer, got string");
    /* contains with bounds. */
    const char *c = "{\"contains\":{\"type\":\"integer\"},\"minContains\":2,\"maxContains\":3}";
    OK(c, "[1,\"a\",2]");
    BAD(c, "[1,\"a\"]", "/: fewer than 2 items match contains");
    BAD(c, "[1,2,3,4]", "/: more than 3 items match contains");
    OK("{\"contains\":{\"type\":\"integer\"},\"minContains\":0}", "[]");
    BAD("{\"contains\":{\"type\":\"integer\"}}", "[]", "/: fewer than 1 items match contains");
}

static void applicators(void **state)
{
    BAD("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "1", "/: matches none of anyOf");
    BAD("{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "1",
        "/: must match exactly one of oneOf");
    BAD("{\"not\":{\"type\":\"string\"}}", "\"s\"", "/: matches a forbidden schema");
    OK("{\"not\":{\"type\":\"string\"}}", "1");
    /* if/then only: a failing then is reported; else absent asserts nothing. */
    BAD("{\"if\":{\"type\":\"integer\"},\"then\":{\"minimum\":10}}", "3", "/: must be >= 10");
    OK("{\"if\":{\"type\":\"integer\"},\"then\":{\"minimum\":10}}", "\"x\"");
    OK("{\"if\":{\"type\":\"integer\"},\"else\":{\"maxLength\":1}}", "300");
    BAD("{\"if\":{\"type\":\"integer\"},\"else\":{\"maxLength\":1}}", "\"ab\"",
        "/: longer than 1 characters");
    /* Boolean schemas. */
    OK("true", "{\"any\":1}");
    BAD("false", "1", "/: not allowed");
    BAD("{\"properties\":{\"a\":false}}", "{\"a\":1}", "/a: not allowed");
}

/* unevaluated*: what in-place applicators evaluated counts, what failed does not. */
static void unevaluated(void **state)
{
    const char *props = "{\"properties\":{\"a\":{}},"
                        "\"anyOf\":[{\"properties\":{\"b\":{}}},{\"properties\":{\"c\":{}}}],"
                        "\"unevaluatedProperties\":false}";
    OK(props, "{\"a\":1,\"b\":2,\"c\":3}");
    BAD(props, "{\"a\":1,\"d\":2}", "/: unexpected property \"d\"");
    /* oneOf: only the single passing branch's names. */
    const char *one =
        "{\"oneOf\":[{\"properties\":{\"b\":{\"type\":\"string\"}},\"required\":[\"b\"]},"
        "{\"properties\":{\"c\":{}},\"required\":[\"c\"]}],"
        "\"unevaluatedProperties\":false}";
    OK(one, "{\"b\":\"x\"}");
    BAD(one, "{\"b\":\"x\",\"d\":1}", "/: unexpected property \"d\"");
    /* if's annotations count when it passes; then's too. */
    const char *cond = "{\"if\":{\"properties\":{\"kind\":{\"const\":\"a\"}}},"
                       "\"then\":{\"properties\":{\"x\":{}}},\"unevaluatedProperties\":false}";
    OK(cond, "{\"kind\":\"a\",\"x\":1}");
    BAD(cond, "{\"kind\":\"b\"}", "/: unexpected property \"kind\"");
    /* unevaluatedProperties as a schema: the leftovers validated. */
    BAD("{\"properties\":{\"a\":{}},\"unevaluatedProperties\":{\"type\":\"integer\"}}",
        "{\"a\":\"s\",\"b\":\"t\"}", "/b: expected integer, got string");
    OK("{\"properties\":{\"a\":{}},\"unevaluatedProperties\":{\"type\":\"integer\"}}",
       "{\"a\":\"s\",\"b\":2}");
    /* Items: prefixItems from allOf, contains matches, then the rest. */
    const char *items = "{\"allOf\":[{\"prefixItems\":[{\"type\":\"string\"}]}],"
                        "\"contains\":{\"type\":\"boolean\"},\"unevaluatedItems\":false}";
    OK(items, "[\"a\",true,false]");
    BAD(items, "[\"a\",true,3]", "/: unexpected item 2");
    BAD("{\"prefixItems\":[{}],\"unevaluatedItems\":{\"type\":\"integer\"}}", "[\"a\",\"b\"]",
        "/1: expected integer, got string");
    OK("{\"prefixItems\":[{}],\"unevaluatedItems\":{\"type\":\"integer\"}}", "[\"a\",2]");
    /* items covers every item: nothing left to unevaluatedItems. */
    OK("{\"allOf\":[{\"items\":{}}],\"unevaluatedItems\":false}", "[1,2]");
    /* A nested unevaluated* sees only its own subschemas. */
    OK("{\"properties\":{\"o\":{\"properties\":{\"a\":{}},\"unevaluatedProperties\":false}}}",
       "{\"o\":{\"a\":1}}");
    BAD("{\"properties\":{\"o\":{\"properties\":{\"a\":{}},\"unevaluatedProperties\":false}}}",
        "{\"o\":{\"a\":1,\"b\":2}}", "/o: unexpected property \"b\"");
    /* Only for the instance's own type: a string passes unevaluated*. */
    OK("{\"unevaluatedProperties\":false,\"unevaluatedItems\":false}", "\"s\"");
}

/*
 * A pattern that gives up (PCRE2's match limit: catastrophic backtracking) decides nothing: the
 * instance is refused wherever the pattern sits. Read as "no match", it let values through:
 * under not, if or anyOf the failure turned into a pass, and a property name that made a
 * patternProperties pattern give up escaped that property's schema (accepted before the fix).
 */
static void undecided_patterns(void **state)
{
    /* (a+)+b backtracks exponentially before a+c matches: the key matches the pattern. */
    const char *re = "^(?:(a+)+b|a+c)$";
    const char *limit = "a pattern reached its match limit (too costly to match)";
    char key[64], s[256], x[256], want[160];

    memset(key, 'a', 40);
    strcpy(key + 40, "c");
    /* A short key is decided as usual. */
    snprintf(s, sizeof(s), "{\"patternProperties\":{\"%s\":{\"type\":\"number\"}}}", re);
    BAD(s, "{\"aaac\":\"str\"}", "/aaac: expected number, got string");
    snprintf(x, sizeof(x), "{\"%s\":\"str\"}", key);
    snprintf(want, sizeof(want), "/%s: %s", key, limit);
    BAD(s, x, want);
    snprintf(x, sizeof(x), "\"%s\"", key);
    snprintf(want, sizeof(want), "/: %s", limit);
    snprintf(s, sizeof(s), "{\"not\":{\"pattern\":\"%s\"}}", re);
    BAD(s, "\"aaac\"", "/: matches a forbidden schema");
    BAD(s, x, want);
    snprintf(s, sizeof(s), "{\"if\":{\"pattern\":\"%s\"},\"then\":false}", re);
    BAD(s, x, want);
    snprintf(s, sizeof(s), "{\"anyOf\":[{\"pattern\":\"%s\"},{\"maxLength\":1}]}", re);
    BAD(s, x, want);
    snprintf(s, sizeof(s), "{\"oneOf\":[{\"pattern\":\"%s\"},{\"minLength\":1}]}", re);
    BAD(s, x, want);
    snprintf(s, sizeof(s), "{\"pattern\":\"%s\"}", re);
    BAD(s, x, want);
    snprintf(s, sizeof(s), "{\"contains\":{\"pattern\":\"%s\"},\"minContains\":0}", re);
    snprintf(x, sizeof(x), "[\"%s\"]", key);
    snprintf(want, sizeof(want), "/0: %s", limit);
    BAD(s, x, want);
    snprintf(s, sizeof(s), "{\"propertyNames\":{\"not\":{\"pattern\":\"%s\"}}}", re);
    snprintf(x, sizeof(x), "{\"%s\":1}", key);
    snprintf(want, sizeof(want), "/: %s", limit);
    BAD(s, x, want);
    /* A reference loop that makes no progress in the instance is undecided too. */
    BAD("{\"$defs\":{\"a\":{\"not\":{\"$ref\":\"#/$defs/a\"}}},\"$ref\":\"#/$defs/a\"}", "1",
        "/: nested too deeply");
}

/* The error text: a long path is cut, never overflowing; no error buffer is fine too. */
static void error_text(void **state)
{
    char small[8];
    json_t *s = load("{\"type\":\"string\"}"), *x = load("1");
    struct wdn_mcp_schema *c = wdn_mcp_schema_compile(s, NULL, NULL, 0);
    char deep_s[4096], deep_x[4096], *p;
    int i;

    assert_non_null(c);
    assert_int_equal(wdn_mcp_schema_match(c, x, NULL, 0), WDN_EINVAL);
    assert_int_equal(wdn_mcp_schema_match(c, x, small, sizeof(small)), WDN_EINVAL);
    assert_string_equal(small, "/: expe");
    assert_int_equal(wdn_mcp_schema_match(NULL, x, err, sizeof(err)), WDN_EINVAL);
    assert_int_equal(wdn_mcp_schema_match(c, NULL, err, sizeof(err)), WDN_EINVAL);
    wdn_mcp_schema_free(c);
    json_decref(s);
    json_decref(x);
    /* A refusal without an error buffer still says its code. */
    s = load("{\"madeUp\":1}");
    assert_int_equal(wdn_mcp_schema_check(s, NULL, 0), WDN_EUNSUPPORTED);
    assert_int_equal(wdn_mcp_schema_validate(s, s, err, sizeof(err)), WDN_EINVAL);
    json_decref(s);
    /* Compile and match in one call. */
    s = load("{\"type\":\"object\",\"required\":[\"a\"]}");
    x = load("{\"b\":1}");
    assert_int_equal(wdn_mcp_schema_validate(s, x, err, sizeof(err)), WDN_EINVAL);
    assert_string_equal(err, "/: missing required property \"a\"");
    json_decref(x);
    x = load("{\"a\":1}");
    assert_int_equal(wdn_mcp_schema_validate(s, x, err, sizeof(err)), 0);
    json_decref(s);
    json_decref(x);

    /* 30 levels of properties with long names: the location is cut, the message ends. */
    p = deep_s;
    for (i = 0; i < 30; i++)
        p += sprintf(p, "{\"properties\":{\"property_number_with_a_long_name_%02d\":", i);
    p += sprintf(p, "{\"type\":\"string\"}");
    for (i = 0; i < 30; i++)
        p += sprintf(p, "}}");
    p = deep_x;
    for (i = 0; i < 30; i++)
        p += sprintf(p, "{\"property_number_with_a_long_name_%02d\":", i);
    p += sprintf(p, "1");
    for (i = 0; i < 30; i++)
        *p++ = '}';
    *p = '\0';
    assert_int_equal(check(deep_s, deep_x), WDN_EINVAL);
    assert_non_null(
        strstr(err, "/property_number_with_a_long_name_00/property_number_with_a_long_name_01/"));
    assert_non_null(strstr(err, ": expected string, got integer"));
    assert_true(strlen(err) < 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_table),
        cmocka_unit_test(format_error_location),
        cmocka_unit_test(keyword_value_refusals),
        cmocka_unit_test(nested_refusals),
        cmocka_unit_test(references),
        cmocka_unit_test(many_anchors),
        cmocka_unit_test(nesting_limit),
        cmocka_unit_test(assertions),
        cmocka_unit_test(equality),
        cmocka_unit_test(objects),
        cmocka_unit_test(arrays),
        cmocka_unit_test(applicators),
        cmocka_unit_test(unevaluated),
        cmocka_unit_test(undecided_patterns),
        cmocka_unit_test(error_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
