/* JSON-RPC 2.0 classification (src/mcp/jsonrpc.c) at its edges, a table of messages: each
 * malformed shape refused with -32600 and its message, the id echoed only when it has a legal
 * type; and the parser's refusals (not JSON, a scalar, too deep, too large). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "warden/mcp.h"

static void classify_table(void **state)
{
    static const struct {
        const char *msg;
        int kind;            /* 0: refused */
        const char *why;     /* the refusal's message */
        const char *echo_id; /* the id the fault carries ("" for none) */
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}", WDN_JSONRPC_REQUEST, NULL, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"m\",\"params\":[1]}", WDN_JSONRPC_REQUEST,
         NULL, NULL},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\"}", WDN_JSONRPC_NOTIFICATION, NULL, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", WDN_JSONRPC_RESULT, NULL, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"message\":\"m\"}}",
         WDN_JSONRPC_ERROR, NULL, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1,\"message\":\"m\"}}",
         WDN_JSONRPC_ERROR, NULL, NULL},
        {"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"m\"}}", WDN_JSONRPC_ERROR, NULL,
         NULL},
        {"[1]", 0, "Invalid Request: not an object", ""},
        {"{\"id\":1,\"method\":\"m\"}", 0, "Invalid Request: jsonrpc must be \"2.0\"", "1"},
        {"{\"jsonrpc\":2,\"id\":\"x\",\"method\":\"m\"}", 0,
         "Invalid Request: jsonrpc must be \"2.0\"", "\"x\""},
        {"{\"jsonrpc\":\"1.0\",\"id\":1.5,\"method\":\"m\"}", 0,
         "Invalid Request: jsonrpc must be \"2.0\"", ""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}", 0,
         "Invalid Request: method must be a non-empty string", "1"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", 0,
         "Invalid Request: method must be a non-empty string", "1"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"result\":{}}", 0,
         "Invalid Request: a request cannot carry result or error", "1"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"error\":{}}", 0,
         "Invalid Request: a request cannot carry result or error", "1"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":\"p\"}", 0,
         "Invalid Request: params must be an object or an array", "1"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":null}", 0,
         "Invalid Request: params must be an object or an array", "1"},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\"}", 0,
         "Invalid Request: id must be a string or an integer", ""},
        {"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"m\"}", 0,
         "Invalid Request: id must be a string or an integer", ""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1}", 0, "Invalid Request: expected method, result or error",
         "1"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}", 0,
         "Invalid Request: expected method, result or error", "1"},
        {"{\"jsonrpc\":\"2.0\",\"result\":{}}", 0,
         "Invalid Request: response id must be a string or an integer", ""},
        {"{\"jsonrpc\":\"2.0\",\"id\":true,\"result\":{}}", 0,
         "Invalid Request: response id must be a string or an integer", ""},
        {"{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":5}", 0,
         "Invalid Request: error must have an integer code and a message", "2"},
        {"{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":\"1\",\"message\":\"m\"}}", 0,
         "Invalid Request: error must have an integer code and a message", "2"},
        {"{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":1.5,\"message\":\"m\"}}", 0,
         "Invalid Request: error must have an integer code and a message", "2"},
        {"{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":1}}", 0,
         "Invalid Request: error must have an integer code and a message", "2"},
        {"{\"jsonrpc\":\"2.0\",\"id\":{},\"error\":{\"code\":1,\"message\":\"m\"}}", 0,
         "Invalid Request: bad id in error response", ""},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = json_loads(cases[i].msg, 0, NULL);
        struct wdn_jsonrpc_msg m;
        struct wdn_jsonrpc_fault f;
        int rc;

        assert_non_null(j);
        memset(&f, 0, sizeof(f));
        rc = wdn_jsonrpc_classify(j, &m, &f);
        if (cases[i].kind != 0) {
            if (rc != 0 || (int)m.kind != cases[i].kind)
                fail_msg("%s: rc %d kind %d", cases[i].msg, rc, (int)m.kind);
        } else {
            char *id = f.id != NULL ? json_dumps(f.id, JSON_ENCODE_ANY) : NULL;
            if (rc == 0 || f.code != WDN_JSONRPC_INVALID_REQUEST ||
                strcmp(f.message, cases[i].why) != 0 ||
                strcmp(id != NULL ? id : "", cases[i].echo_id) != 0)
                fail_msg("%s: rc %d code %d \"%s\" id %s", cases[i].msg, rc, f.code, f.message,
                         id ? id : "-");
            free(id);
        }
        json_decref(j);
    }
}

static void parse_refusals(void **state)
{
    struct wdn_jsonrpc_fault f;
    json_t *out = NULL;
    char deep[256];
    size_t i;

    assert_int_equal(wdn_jsonrpc_parse("{\"a\":", 5, &out, &f), WDN_EPARSE);
    assert_string_equal(f.message, "Parse error: invalid JSON");
    assert_int_equal(f.code, WDN_JSONRPC_PARSE_ERROR);
    assert_null(out);
    assert_int_equal(wdn_jsonrpc_parse("\"text\"", 6, &out, &f), WDN_EPARSE);
    assert_string_equal(f.message, "Invalid Request: expected a JSON object");
    assert_int_equal(f.code, WDN_JSONRPC_INVALID_REQUEST);
    assert_int_equal(wdn_jsonrpc_parse("{\"a\":1,\"a\":2}", 13, &out, &f), WDN_EPARSE);
    for (i = 0; i < WDN_JSON_MAX_DEPTH + 2; i++)
        deep[i] = '[';
    for (; i < 2 * (WDN_JSON_MAX_DEPTH + 2); i++)
        deep[i] = ']';
    assert_int_equal(wdn_jsonrpc_parse(deep, i, &out, &f), WDN_ELIMIT);
    assert_string_equal(f.message, "Parse error: nesting too deep");
    /* The size is refused before a byte is read. */
    assert_int_equal(wdn_jsonrpc_parse(deep, WDN_JSONRPC_MAX_BYTES + 1, &out, &f), WDN_ELIMIT);
    assert_string_equal(f.message, "Parse error: message too large");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classify_table),
        cmocka_unit_test(parse_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
