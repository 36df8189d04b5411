/* Unit tests for the JSON-RPC 2.0 codec and the JSON Schema subset validator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "mcp/jsonrpc_int.h"
#include "warden/mcp.h"

static json_t *parse_ok(const char *s)
{
    struct wdn_jsonrpc_fault f;
    json_t *j = NULL;

    assert_int_equal(wdn_jsonrpc_parse(s, strlen(s), &j, &f), 0);
    assert_non_null(j);
    return j;
}

static int classify(const char *s, struct wdn_jsonrpc_msg *m, struct wdn_jsonrpc_fault *f,
                    json_t **keep)
{
    *keep = parse_ok(s);
    return wdn_jsonrpc_classify(*keep, m, f);
}

static void test_parse_errors(void **state)
{
    struct wdn_jsonrpc_fault f;
    json_t *j = NULL;
    (void)state;

    assert_int_equal(wdn_jsonrpc_parse("{", 1, &j, &f), WDN_EPARSE);
    assert_int_equal(f.code, WDN_JSONRPC_PARSE_ERROR);
    assert_null(j);
    assert_int_equal(wdn_jsonrpc_parse("\"str\"", 5, &j, &f), WDN_EPARSE);
    assert_int_equal(f.code, WDN_JSONRPC_INVALID_REQUEST);
    assert_int_equal(wdn_jsonrpc_parse("{\"a\":1,\"a\":2}", 13, &j, &f), WDN_EPARSE);
    assert_int_equal(f.code, WDN_JSONRPC_PARSE_ERROR);
    assert_int_equal(wdn_jsonrpc_parse("", 0, &j, &f), WDN_EPARSE);
    /* Trailing garbage after a valid document is not JSON. */
    assert_int_equal(wdn_jsonrpc_parse("{} x", 4, &j, &f), WDN_EPARSE);
}

static void test_depth_limit(void **state)
{
    char buf[200];
    struct wdn_jsonrpc_fault f;
    json_t *j = NULL;
    int i;
    (void)state;

    for (i = 0; i < WDN_JSON_MAX_DEPTH + 1; i++)
        buf[i] = '[';
    buf[i] = '\0';
    assert_int_equal(wdn_jsonrpc_parse(buf, strlen(buf), &j, &f), WDN_ELIMIT);
    assert_int_equal(f.code, WDN_JSONRPC_PARSE_ERROR);
    /* Brackets inside strings do not count, escaped quotes do not end the string. */
    snprintf(buf, sizeof(buf), "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[\"}");
    assert_int_equal(wdn_jsonrpc_parse(buf, strlen(buf), &j, &f), 0);
    json_decref(j);
    /* Exactly at the limit is fine. */
    for (i = 0; i < WDN_JSON_MAX_DEPTH; i++)
        buf[i] = '[';
    for (; i < 2 * WDN_JSON_MAX_DEPTH; i++)
        buf[i] = ']';
    buf[i] = '\0';
    assert_int_equal(wdn_jsonrpc_parse(buf, strlen(buf), &j, &f), 0);
    json_decref(j);
}

static void test_size_limit(void **state)
{
    struct wdn_jsonrpc_fault f;
    json_t *j = NULL;
    (void)state;

    assert_int_equal(wdn_jsonrpc_parse("{}", (size_t)WDN_JSONRPC_MAX_BYTES + 1, &j, &f),
                     WDN_ELIMIT);
    assert_int_equal(f.code, WDN_JSONRPC_PARSE_ERROR);
}

static void test_classify_kinds(void **state)
{
    struct wdn_jsonrpc_msg m;
    struct wdn_jsonrpc_fault f;
    json_t *j;
    (void)state;

    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}", &m, &f, &j), 0);
    assert_int_equal(m.kind, WDN_JSONRPC_REQUEST);
    assert_string_equal(m.method, "ping");
    assert_int_equal(json_integer_value(m.id), 7);
    json_decref(j);

    assert_int_equal(
        classify("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"x\",\"params\":{}}", &m, &f, &j),
        0);
    assert_int_equal(m.kind, WDN_JSONRPC_REQUEST);
    assert_string_equal(json_string_value(m.id), "a");
    assert_true(json_is_object(m.params));
    json_decref(j);

    assert_int_equal(
        classify("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &m, &f, &j), 0);
    assert_int_equal(m.kind, WDN_JSONRPC_NOTIFICATION);
    assert_null(m.id);
    json_decref(j);

    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", &m, &f, &j), 0);
    assert_int_equal(m.kind, WDN_JSONRPC_RESULT);
    json_decref(j);

    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-1,"
                              "\"message\":\"x\"}}",
                              &m, &f, &j),
                     0);
    assert_int_equal(m.kind, WDN_JSONRPC_ERROR);
    json_decref(j);
}

static void test_classify_invalid(void **state)
{
    static const char *const bad[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", /* null id */
        "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",  /* real id */
        "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", /* bool id */
        "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",   /* object id */
        "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",    /* version */
        "{\"id\":1,\"method\":\"ping\"}",                        /* no version */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",           /* method type */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}",        /* empty method */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"params\":3}",
        "{\"jsonrpc\":\"2.0\",\"id\":1}", /* nothing */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\",\"message\":\"m\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"result\":{}}",
        "[1]",
    };
    struct wdn_jsonrpc_msg m;
    struct wdn_jsonrpc_fault f;
    size_t i;
    json_t *j;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(classify(bad[i], &m, &f, &j), WDN_EPROTO);
        assert_int_equal(f.code, WDN_JSONRPC_INVALID_REQUEST);
        json_decref(j);
    }
    /* The id comes back when readable, so the client can match the error. */
    assert_int_equal(classify("{\"jsonrpc\":\"1\",\"id\":\"k\",\"method\":\"a\"}", &m, &f, &j),
                     WDN_EPROTO);
    assert_string_equal(json_string_value(f.id), "k");
    json_decref(j);
}

static void test_builders(void **state)
{
    json_t *id = json_string("abc");
    json_t *r, *e, *q;
    char *s;
    (void)state;

    r = wdn_jsonrpc_make_result(id, json_object());
    s = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"id\":\"abc\",\"jsonrpc\":\"2.0\",\"result\":{}}");
    free(s);
    json_decref(r);

    e = wdn_jsonrpc_make_error(NULL, -32700, "Parse error", NULL);
    s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"error\":{\"code\":-32700,\"message\":\"Parse error\"},\"id\":null,"
                           "\"jsonrpc\":\"2.0\"}");
    free(s);
    json_decref(e);

    q = wdn_jsonrpc_make_request(NULL, "notifications/initialized", NULL);
    assert_null(json_object_get(q, "id"));
    json_decref(q);
    json_decref(id);
    assert_null(wdn_jsonrpc_make_result(NULL, NULL));
}

/* The answer writer: compact JSON in the object's key order, the same value as jansson's. */
static void expect_written(const json_t *v, const char *want)
{
    struct wdn_buf b;

    wdn_buf_init(&b, 1 << 20);
    assert_int_equal(wdn__mcp_json_write(&b, v), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    wdn_buf_reset(&b);
}

static void test_write(void **state)
{
    json_t *v, *inner, *back;
    struct wdn_buf b;
    char *s;
    (void)state;

    v = json_pack("{s:s,s:i,s:{s:[{s:s,s:s}],s:b}}", "jsonrpc", "2.0", "id", 1, "result",
                  "content", "type", "text", "text", "5", "isError", 0);
    expect_written(v, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":"
                      "\"text\",\"text\":\"5\"}],\"isError\":false}}");
    s = json_dumps(v, JSON_COMPACT); /* byte for byte what jansson writes here */
    expect_written(v, s);
    free(s);
    json_decref(v);
    v = json_array();
    expect_written(v, "[]");
    json_decref(v);
    v = json_pack("{s:{},s:[],s:n,s:b,s:I,s:I,s:I}", "o", "a", "n", "t", 1, "z", (json_int_t)0,
                  "min", (json_int_t)INT64_MIN, "max", (json_int_t)INT64_MAX);
    expect_written(v, "{\"o\":{},\"a\":[],\"n\":null,\"t\":true,\"z\":0,"
                      "\"min\":-9223372036854775808,\"max\":9223372036854775807}");
    json_decref(v);
    /* Reals as jansson writes them. */
    v = json_pack("[f,f,f,f,f]", 1.5, 0.1, 1e100, -2.0, 123456789012345678.0);
    s = json_dumps(v, JSON_COMPACT);
    expect_written(v, s);
    free(s);
    json_decref(v);
    /* Strings: quotes, backslashes, control bytes, a NUL, UTF-8 and a key that needs escaping. */
    v = json_object();
    json_object_set_new(v, "k\"\\", json_stringn("a\"b\\c\n\t\x01\0d\xc3\xa9\xe2\x82\xac/", 16));
    expect_written(v, "{\"k\\\"\\\\\":\"a\\\"b\\\\c\\u000a\\u0009\\u0001\\u0000d\xc3\xa9\xe2\x82\xac/\"}");
    wdn_buf_init(&b, 1 << 20);
    assert_int_equal(wdn__mcp_json_write(&b, v), 0);
    back = json_loadb(b.data, b.len, JSON_ALLOW_NUL, NULL);
    assert_non_null(back);
    assert_true(json_equal(back, v));
    json_decref(back);
    wdn_buf_reset(&b);
    json_decref(v);
    /* Too deep, and a cycle (which jansson's own dump refuses too): WDN_ELIMIT. */
    v = json_array();
    inner = v;
    for (int i = 0; i < WDN_MCP_ANSWER_MAX_DEPTH; i++) {
        json_t *next = json_array();
        json_array_append_new(inner, next);
        inner = next;
    }
    wdn_buf_init(&b, 1 << 20);
    assert_int_equal(wdn__mcp_json_write(&b, v), WDN_ELIMIT);
    wdn_buf_reset(&b);
    json_decref(v);
    v = json_object(); /* v -> [v]: jansson refuses only a value set into itself */
    inner = json_array();
    assert_int_equal(json_object_set_new(v, "loop", inner), 0);
    assert_int_equal(json_array_append(inner, v), 0);
    wdn_buf_init(&b, 1 << 20);
    assert_int_equal(wdn__mcp_json_write(&b, v), WDN_ELIMIT);
    wdn_buf_reset(&b);
    json_array_clear(inner);
    json_decref(v);
    /* Over the buffer's bound. */
    v = json_pack("{s:s}", "text", "0123456789");
    wdn_buf_init(&b, 8);
    assert_int_equal(wdn__mcp_json_write(&b, v), WDN_ELIMIT);
    wdn_buf_reset(&b);
    json_decref(v);
}

static void test_versions(void **state)
{
    (void)state;
    assert_true(wdn_mcp_version_supported("2025-03-26"));
    assert_true(wdn_mcp_version_supported("2025-06-18"));
    assert_true(wdn_mcp_version_supported("2025-11-25"));
    assert_true(wdn_mcp_version_supported("2026-07-28"));
    assert_false(wdn_mcp_version_supported("2024-11-05"));
    assert_false(wdn_mcp_version_supported(NULL));
    assert_true(wdn_mcp_version_is_modern("2026-07-28"));
    assert_false(wdn_mcp_version_is_modern("2025-11-25"));
}

static int validate(const char *schema, const char *instance, char *err, size_t cap)
{
    json_t *s = json_loads(schema, 0, NULL), *i = json_loads(instance, JSON_DECODE_ANY, NULL);
    int rc;

    assert_non_null(s);
    assert_non_null(i);
    assert_int_equal(wdn_mcp_schema_check(s, err, cap), 0);
    rc = wdn_mcp_schema_validate(s, i, err, cap);
    json_decref(s);
    json_decref(i);
    return rc;
}

static void test_schema(void **state)
{
    const char *add = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"},"
                      "\"b\":{\"type\":\"number\"}},\"required\":[\"a\",\"b\"]}";
    char err[256];
    (void)state;

    assert_int_equal(validate(add, "{\"a\":2,\"b\":3.5}", err, sizeof(err)), 0);
    assert_int_equal(validate(add, "{\"a\":2}", err, sizeof(err)), WDN_EINVAL);
    assert_string_equal(err, "/: missing required property \"b\"");
    assert_int_equal(validate(add, "{\"a\":2,\"b\":\"3\"}", err, sizeof(err)), WDN_EINVAL);
    assert_string_equal(err, "/b: expected number, got string");
    assert_int_equal(validate("{\"type\":\"integer\"}", "3.0", err, sizeof(err)), 0);
    assert_int_equal(validate("{\"type\":\"integer\"}", "3.5", err, sizeof(err)), WDN_EINVAL);
    assert_int_equal(validate("{\"enum\":[\"a\",1]}", "1.0", err, sizeof(err)), 0);
    assert_int_equal(validate("{\"enum\":[\"a\",1]}", "\"b\"", err, sizeof(err)), WDN_EINVAL);
    assert_int_equal(validate("{\"type\":\"object\",\"additionalProperties\":false,"
                              "\"properties\":{\"x\":{}}}",
                              "{\"x\":1,\"y\":2}", err, sizeof(err)),
                     WDN_EINVAL);
    assert_string_equal(err, "/: unexpected property \"y\"");
    assert_int_equal(validate("{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":2},"
                              "\"maxItems\":3}",
                              "[\"ab\",\"\xc3\xa9\xc3\xa9\"]", err, sizeof(err)),
                     0);
    assert_int_equal(
        validate("{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":2}}",
                 "[\"ab\",\"abc\"]", err, sizeof(err)),
        WDN_EINVAL);
    assert_string_equal(err, "/1: longer than 2 characters");
    assert_int_equal(validate("{\"minimum\":1,\"exclusiveMaximum\":5}", "5", err, sizeof(err)),
                     WDN_EINVAL);
    assert_int_equal(validate("{\"minimum\":1,\"exclusiveMaximum\":5}", "0", err, sizeof(err)),
                     WDN_EINVAL);
    assert_int_equal(validate("{\"minimum\":1,\"exclusiveMaximum\":5}", "4.9", err, sizeof(err)),
                     0);
    assert_int_equal(validate("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "null",
                              err, sizeof(err)),
                     0);
    assert_int_equal(validate("{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"integer\"}]}", "1",
                              err, sizeof(err)),
                     WDN_EINVAL);
    assert_int_equal(validate("{\"type\":[\"string\",\"null\"]}", "2", err, sizeof(err)),
                     WDN_EINVAL);
    assert_int_equal(validate("{\"not\":{\"const\":3}}", "3", err, sizeof(err)), WDN_EINVAL);
}

static void test_schema_refs(void **state)
{
    /* The conformance suite's JSON Schema 2020-12 tool, plus a recursive definition. */
    const char *addr =
        "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
        "\"$defs\":{\"address\":{\"type\":\"object\",\"properties\":{\"street\":{\"type\":"
        "\"string\"},\"city\":{\"type\":\"string\"}}}},\"properties\":{\"name\":{\"type\":"
        "\"string\"},\"address\":{\"$ref\":\"#/$defs/address\"}},\"additionalProperties\":false}";
    const char *tree = "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"kids\":"
                       "{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}}}},"
                       "\"$ref\":\"#/$defs/node\"}";
    const char *self = "{\"$ref\":\"#\"}";
    char err[256];
    (void)state;

    assert_int_equal(
        validate(addr, "{\"name\":\"a\",\"address\":{\"city\":\"x\"}}", err, sizeof(err)), 0);
    assert_int_equal(validate(addr, "{\"address\":{\"city\":5}}", err, sizeof(err)), WDN_EINVAL);
    assert_string_equal(err, "/address/city: expected string, got integer");
    assert_int_equal(validate(tree, "{\"kids\":[{\"kids\":[]},{}]}", err, sizeof(err)), 0);
    assert_int_equal(validate(tree, "{\"kids\":[{\"kids\":[3]}]}", err, sizeof(err)), WDN_EINVAL);
    /* A reference loop ends at the depth limit instead of recursing forever. */
    assert_int_equal(validate(self, "1", err, sizeof(err)), WDN_EINVAL);
}

static void test_schema_check_refuses_unknown(void **state)
{
    json_t *s;
    char err[128];
    (void)state;

    /* References must resolve inside the schema; nothing is ever fetched. */
    s = json_loads("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#/x\"}}}", 0, NULL);
    assert_int_equal(wdn_mcp_schema_check(s, err, sizeof(err)), WDN_EUNSUPPORTED);
    json_decref(s);
    s = json_loads("{\"$ref\":\"https://example.com/schema.json\"}", 0, NULL);
    assert_int_equal(wdn_mcp_schema_check(s, err, sizeof(err)), WDN_EUNSUPPORTED);
    json_decref(s);
    s = json_loads("{\"$defs\":{\"a\":{\"type\":\"string\",\"$dynamicRef\":\"#x\"}}}", 0,
                   NULL);
    assert_int_equal(wdn_mcp_schema_check(s, err, sizeof(err)), WDN_EUNSUPPORTED);
    assert_string_equal(err, "unsupported schema keyword \"$dynamicRef\"");
    json_decref(s);
    s = json_loads("{\"type\":\"string\",\"pattern\":\"(a\"}", 0, NULL);
    assert_int_equal(wdn_mcp_schema_check(s, err, sizeof(err)), WDN_EINVAL);
    json_decref(s);
    s = json_loads("{\"type\":\"string\",\"description\":\"d\",\"x-mcp-header\":\"R\","
                   "\"format\":\"uri\"}",
                   0, NULL);
    assert_int_equal(wdn_mcp_schema_check(s, err, sizeof(err)), 0);
    json_decref(s);
    s = json_loads("{\"minimum\":\"x\"}", 0, NULL);
    assert_int_equal(wdn_mcp_schema_check(s, err, sizeof(err)), WDN_EINVAL);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_classify_kinds),
        cmocka_unit_test(test_classify_invalid),
        cmocka_unit_test(test_builders),
        cmocka_unit_test(test_write),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_schema_refs),
        cmocka_unit_test(test_schema_check_refuses_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
