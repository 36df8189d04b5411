/* Unit tests for the JSON Schema 2020-12 engine (src/mcp/schema*.c): each keyword family with a
 * passing and a failing instance, the error locations, references and anchors, unevaluated*,
 * formats, PCRE2 patterns under their limits, and what is refused at compilation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/limits.h"
#include "warden/mcp.h"

static char err[512];

/* Compiles schema text and validates instance text: 0 or WDN_EINVAL (err says where). */
static int check(const char *schema, const char *instance)
{
    json_error_t je;
    json_t *s = json_loads(schema, 0, &je), *i = json_loads(instance, JSON_DECODE_ANY, &je);
    struct wdn_mcp_schema *c;
    int rc;

    if (s == NULL || i == NULL)
        fail_msg("bad test JSON: %s", je.text);
    c = wdn_mcp_schema_compile(s, &rc, err, sizeof(err));
    if (c == NULL)
        fail_msg("schema refused (%d): %s", rc, err);
    rc = wdn_mcp_schema_match(c, i, err, sizeof(err));
    wdn_mcp_schema_free(c);
    json_decref(s);
    json_decref(i);
    return rc;
}

static int refused(const char *schema)
{
    json_t *s = json_loads(schema, JSON_DECODE_ANY, NULL);
    int rc;

    assert_non_null(s);
    assert_null(wdn_mcp_schema_compile(s, &rc, err, sizeof(err)));
    json_decref(s);
    return rc;
}

#define OK(s, i) assert_int_equal(check(s, i), 0)
#define BAD(s, i) assert_int_equal(check(s, i), WDN_EINVAL)

static void conditionals(void **state)
{
    const char *s = "{\"type\":\"object\",\"if\":{\"properties\":{\"kind\":{\"const\":\"card\"}},"
                    "\"required\":[\"kind\"]},\"then\":{\"required\":[\"number\"]},"
                    "\"else\":{\"required\":[\"iban\"]}}";

    OK(s, "{\"kind\":\"card\",\"number\":\"4111\"}");
    BAD(s, "{\"kind\":\"card\",\"iban\":\"DE00\"}");
    assert_string_equal(err, "/: missing required property \"number\"");
    OK(s, "{\"kind\":\"bank\",\"iban\":\"DE00\"}");
    BAD(s, "{\"kind\":\"bank\"}");
    /* if without then/else asserts nothing. */
    OK("{\"if\":{\"type\":\"string\"}}", "3");
}

static void applicators(void **state)
{
    const char *all = "{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}";

    OK(all, "4");
    BAD(all, "2");
    BAD(all, "3.5");
    OK("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "null");
    BAD("{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"integer\"}]}", "1");
    OK("{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"integer\"}]}", "1.5");
    BAD("{\"not\":{\"const\":3}}", "3");
    OK("{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}", "{\"c\":1}");
    BAD("{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}", "{\"a\":1}");
    BAD("{\"dependentRequired\":{\"a\":[\"b\"]}}", "{\"a\":1}");
    assert_string_equal(err, "/: property \"a\" requires \"b\"");
    OK("{\"propertyNames\":{\"maxLength\":3}}", "{\"abc\":1}");
    BAD("{\"propertyNames\":{\"maxLength\":3}}", "{\"abcd\":1}");
    /* Arrays: prefixItems, items, contains with its bounds. */
    const char *tuple = "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],"
                        "\"items\":false}";
    OK(tuple, "[\"a\",1]");
    BAD(tuple, "[\"a\",1,2]");
    BAD(tuple, "[1]");
    assert_string_equal(err, "/0: expected string, got integer");
    const char *has = "{\"contains\":{\"const\":5},\"minContains\":2,\"maxContains\":3}";
    OK(has, "[5,5,1]");
    BAD(has, "[5,1]");
    BAD(has, "[5,5,5,5]");
    OK("{\"contains\":{\"const\":5},\"minContains\":0}", "[]");
    BAD("{\"contains\":{\"const\":5}}", "[]");
    BAD("{\"uniqueItems\":true}", "[{\"a\":[1]},{\"a\":[1.0]}]");
    OK("{\"uniqueItems\":true}", "[{\"a\":[1]},{\"a\":[2]}]");
}

static void unevaluated(void **state)
{
    /* Properties evaluated by allOf and by the then branch count; others are refused. */
    const char *s = "{\"allOf\":[{\"properties\":{\"a\":{}}}],\"if\":{\"required\":[\"b\"]},"
                    "\"then\":{\"properties\":{\"b\":{}}},\"unevaluatedProperties\":false}";

    OK(s, "{\"a\":1}");
    OK(s, "{\"a\":1,\"b\":2}");
    BAD(s, "{\"a\":1,\"c\":2}");
    assert_string_equal(err, "/: unexpected property \"c\"");
    /* A failing anyOf branch contributes nothing. */
    const char *any = "{\"anyOf\":[{\"properties\":{\"a\":{\"type\":\"string\"}},"
                      "\"required\":[\"a\"]},{\"properties\":{\"b\":{}}}],"
                      "\"unevaluatedProperties\":false}";
    OK(any, "{\"a\":\"x\",\"b\":1}");
    BAD(any, "{\"a\":1,\"b\":1}");
    OK("{\"patternProperties\":{\"^x-\":{}},\"unevaluatedProperties\":{\"type\":\"integer\"}}",
       "{\"x-a\":\"s\",\"n\":1}");
    BAD("{\"patternProperties\":{\"^x-\":{}},\"unevaluatedProperties\":{\"type\":\"integer\"}}",
        "{\"x-a\":\"s\",\"n\":\"s\"}");
    /* Items: prefixItems and contains evaluate; the rest must pass unevaluatedItems. */
    const char *items = "{\"prefixItems\":[{}],\"contains\":{\"const\":\"ok\"},"
                        "\"unevaluatedItems\":{\"type\":\"integer\"}}";
    OK(items, "[\"any\",\"ok\",3]");
    BAD(items, "[\"any\",\"ok\",\"no\"]");
    OK("{\"$ref\":\"#/$defs/p\",\"unevaluatedProperties\":false,\"$defs\":{\"p\":"
       "{\"properties\":{\"q\":{}}}}}",
       "{\"q\":1}");
}

static void references(void **state)
{
    const char *anchors = "{\"$defs\":{\"pos\":{\"$anchor\":\"positive\",\"exclusiveMinimum\":0}},"
                          "\"properties\":{\"n\":{\"$ref\":\"#positive\"}}}";
    const char *tree = "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"kids\":"
                       "{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}}}},"
                       "\"$ref\":\"#/$defs/node\"}";
    const char *byid = "{\"$id\":\"https://example.com/s\",\"$defs\":{\"a\":{\"type\":\"string\"}},"
                       "\"$ref\":\"https://example.com/s#/$defs/a\"}";

    OK(anchors, "{\"n\":2}");
    BAD(anchors, "{\"n\":0}");
    assert_string_equal(err, "/n: must be > 0");
    OK(tree, "{\"kids\":[{\"kids\":[]},{}]}");
    BAD(tree, "{\"kids\":[{\"kids\":[3]}]}");
    assert_string_equal(err, "/kids/0/kids/0: expected object, got integer");
    OK(byid, "\"x\"");
    BAD(byid, "1");
    /* A loop that makes no progress ends at the depth limit instead of recursing forever. */
    BAD("{\"$ref\":\"#\"}", "1");
    BAD("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":\"#/$defs/a\"}},"
        "\"$ref\":\"#/$defs/a\"}",
        "1");
    OK("{\"$defs\":{\"a~b\":{\"type\":\"string\"},\"c/d\":{\"type\":\"integer\"}},"
       "\"properties\":{\"x\":{\"$ref\":\"#/$defs/a~0b\"},\"y\":{\"$ref\":\"#/$defs/c~1d\"}}}",
       "{\"x\":\"s\",\"y\":1}");
}

static void patterns(void **state)
{
    const char *s = "{\"type\":\"string\",\"pattern\":\"^[a-z0-9-]+$\"}";
    struct timespec t0, t1;
    char big[80];

    OK(s, "\"user-42\"");
    BAD(s, "\"User\"");
    assert_string_equal(err, "/: does not match the pattern");
    /* ECMA-262: $ matches only at the very end (PCRE2 would accept a final newline). */
    BAD(s, "\"abc\\n\"");
    /* \u escapes and Unicode subjects. */
    OK("{\"pattern\":\"^\\\\u00e9+$\"}", "\"\xc3\xa9\xc3\xa9\"");
    OK("{\"pattern\":\"^.$\"}", "\"\xe2\x82\xac\"");
    OK("{\"patternProperties\":{\"^n_\":{\"type\":\"number\"}},\"additionalProperties\":false}",
       "{\"n_a\":1}");
    BAD("{\"patternProperties\":{\"^n_\":{\"type\":\"number\"}},\"additionalProperties\":false}",
        "{\"m\":1}");
    /* Catastrophic backtracking hits the match limit: the value fails, quickly. */
    memset(big, 'a', sizeof(big) - 2);
    big[sizeof(big) - 2] = '!';
    big[sizeof(big) - 1] = '\0';
    char inst[100];
    snprintf(inst, sizeof(inst), "\"%s\"", big);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    BAD("{\"pattern\":\"^(a+)+$\"}", inst);
    BAD("{\"pattern\":\"^(a|aa)*$\"}", inst);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Not a timing assertion of the test's speed: a pattern without limits takes hours here. */
    assert_true(t1.tv_sec - t0.tv_sec < 60);
    assert_int_equal(refused("{\"pattern\":\"(\"}"), WDN_EINVAL);
    assert_non_null(strstr(err, "invalid pattern"));
    char longp[WDN_MCP_SCHEMA_MAX_PATTERN + 40];
    memset(longp, 'a', sizeof(longp));
    memcpy(longp, "{\"pattern\":\"", 12);
    memcpy(longp + sizeof(longp) - 3, "\"}", 3);
    assert_int_equal(refused(longp), WDN_EINVAL);
}

static void formats(void **state)
{
    struct {
        const char *format, *good, *bad;
    } cases[] = {
        {"date-time", "\"2026-07-28T10:30:00.5+02:00\"", "\"2026-02-30T10:30:00Z\""},
        {"date-time", "\"2024-02-29t23:59:60z\"", "\"2026-07-28 10:30:00Z\""},
        {"date", "\"2000-02-29\"", "\"1900-02-29\""},
        {"time", "\"23:59:59Z\"", "\"24:00:00Z\""},
        {"duration", "\"P1Y2M3DT4H5M6S\"", "\"P1H\""},
        {"duration", "\"P2W\"", "\"PT\""},
        {"email", "\"a.b+c@example.com\"", "\"a..b@example.com\""},
        {"hostname", "\"mcp-server.default.svc\"", "\"-bad.example\""},
        {"ipv4", "\"192.168.0.1\"", "\"192.168.01.1\""},
        {"ipv6", "\"::ffff:192.0.2.1\"", "\"1::2::3\""},
        {"uri", "\"https://example.com/a?b=c#d\"", "\"/relative\""},
        {"uri-reference", "\"/relative%20path\"", "\"bad uri\""},
        {"uuid", "\"123e4567-e89b-12d3-a456-426614174000\"",
         "\"123e4567e89b12d3a456426614174000\""},
        {"json-pointer", "\"/a~0b/c~1d\"", "\"a/b\""},
        {"relative-json-pointer", "\"1/a\"", "\"01/a\""},
        {"regex", "\"^[a-z]+$\"", "\"(\""},
    };
    char schema[128];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(schema, sizeof(schema), "{\"format\":\"%s\"}", cases[i].format);
        OK(schema, cases[i].good);
        BAD(schema, cases[i].bad);
        OK(schema, "12"); /* formats apply to strings only */
    }
    OK("{\"format\":\"made-up\"}", "\"anything\""); /* unknown formats annotate */
}

static void refusals(void **state)
{
    assert_int_equal(refused("{\"$ref\":\"https://example.com/schema.json\"}"), WDN_EUNSUPPORTED);
    assert_int_equal(refused("{\"$ref\":\"#/$defs/missing\"}"), WDN_EUNSUPPORTED);
    assert_int_equal(refused("{\"$ref\":\"#nowhere\"}"), WDN_EUNSUPPORTED);
    assert_int_equal(refused("{\"$dynamicRef\":\"#meta\"}"), WDN_EUNSUPPORTED);
    assert_int_equal(refused("{\"properties\":{\"a\":{\"$id\":\"x\"}}}"), WDN_EUNSUPPORTED);
    assert_int_equal(refused("{\"items\":[{}]}"), WDN_EUNSUPPORTED);
    assert_int_equal(refused("{\"madeUp\":1}"), WDN_EUNSUPPORTED);
    assert_string_equal(err, "unsupported schema keyword \"madeUp\"");
    assert_int_equal(refused("{\"type\":\"strnig\"}"), WDN_EINVAL);
    assert_int_equal(refused("{\"minLength\":-1}"), WDN_EINVAL);
    assert_int_equal(refused("{\"multipleOf\":0}"), WDN_EINVAL);
    assert_int_equal(refused("{\"allOf\":[]}"), WDN_EINVAL);
    assert_int_equal(refused("{\"$defs\":{\"a\":{\"$anchor\":\"x\"},\"b\":{\"$anchor\":\"x\"}}}"),
                     WDN_EINVAL);
    assert_int_equal(refused("3"), WDN_EINVAL);
    /* Annotations and x-* are accepted; 5.0 is an integer bound. */
    OK("{\"title\":\"t\",\"description\":\"d\",\"default\":1,\"examples\":[1],"
       "\"$comment\":\"c\",\"x-mcp-header\":\"H\",\"deprecated\":true,\"maxLength\":5.0}",
       "\"abc\"");
}

static void numbers(void **state)
{
    /* multipleOf within 1e-9 of an integer quotient (0.3 / 0.1 is 2.9999999999999996). */
    OK("{\"multipleOf\":0.1}", "0.3");
    OK("{\"multipleOf\":0.01}", "19.99");
    OK("{\"multipleOf\":3}", "-9");
    OK("{\"multipleOf\":1}", "4503599627370497"); /* beyond 2^52: no fraction left */
    OK("{\"multipleOf\":1}", "1e300");
    BAD("{\"multipleOf\":0.1}", "0.35");
    BAD("{\"multipleOf\":3}", "-10");
    BAD("{\"multipleOf\":2}", "2.5");
    BAD("{\"multipleOf\":1e-300}", "1e300"); /* the quotient overflows: not provably a multiple */
    /* integer: 5.0 is one, 5.5 and -0.5 are not. */
    OK("{\"type\":\"integer\"}", "5.0");
    OK("{\"type\":\"integer\"}", "-3");
    BAD("{\"type\":\"integer\"}", "5.5");
    BAD("{\"type\":\"integer\"}", "-0.5");
    assert_int_equal(refused("{\"maxItems\":1.5}"), WDN_EINVAL);
    assert_int_equal(refused("{\"maxItems\":-2}"), WDN_EINVAL);
}

static void node_limit(void **state)
{
    /* WDN_MCP_SCHEMA_MAX_NODES subschemas at most. */
    size_t n = WDN_MCP_SCHEMA_MAX_NODES + 8, i;
    char *s = malloc(n * 32 + 64), *p = s;

    assert_non_null(s);
    p += sprintf(p, "{\"allOf\":[");
    for (i = 0; i < n; i++)
        p += sprintf(p, "%s{\"minimum\":%zu}", i ? "," : "", i);
    sprintf(p, "]}");
    assert_int_equal(refused(s), WDN_ELIMIT);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conditionals), cmocka_unit_test(applicators),
        cmocka_unit_test(unevaluated),  cmocka_unit_test(references),
        cmocka_unit_test(patterns),     cmocka_unit_test(formats),
        cmocka_unit_test(refusals),     cmocka_unit_test(numbers),
        cmocka_unit_test(node_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
