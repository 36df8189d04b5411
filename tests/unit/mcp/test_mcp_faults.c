/* Out of memory in the MCP server SDK (src/mcp), each allocation failed in turn with the fault
 * hook (src/base/fault.h; jansson's through tests/unit/support/faultjson.c): a schema that cannot
 * be compiled is refused with WDN_ENOMEM and "out of memory"; a validation that cannot finish
 * refuses the instance (WDN_ENOMEM), never accepts it, even where a failure would turn into a
 * pass (not, if, anyOf); a server or a registration that cannot be made is refused whole (a tool
 * with WDN_ENOMEM, or WDN_EINVAL while jansson parses its texts) and leaves nothing behind (LSan
 * checks the leaks), and what was registered before still works.
 * Built only with WDN_FAULT (the asan and coverage presets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/fault.h"
#include "support/faultjson.h"
#include "support/mcpreq.h"
#include "warden/mcp.h"

static char err[512];

static json_t *load(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);

    assert_non_null(j);
    return j;
}

/* Every construct that allocates while compiling: more than 16 nodes (the node array grows),
 * lists, maps, patterns, more than 8 anchors (the anchor table grows), references. */
static const char *const big_schema =
    "{\"type\":\"object\",\"$defs\":{"
    "\"a1\":{\"$anchor\":\"x1\"},\"a2\":{\"$anchor\":\"x2\"},\"a3\":{\"$anchor\":\"x3\"},"
    "\"a4\":{\"$anchor\":\"x4\"},\"a5\":{\"$anchor\":\"x5\"},\"a6\":{\"$anchor\":\"x6\"},"
    "\"a7\":{\"$anchor\":\"x7\"},\"a8\":{\"$anchor\":\"x8\"},\"a9\":{\"$anchor\":\"x9\",\"type\":"
    "\"string\"}},"
    "\"properties\":{\"name\":{\"$ref\":\"#x9\",\"pattern\":\"^[a-z]+$\"},"
    "\"tags\":{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"}],"
    "\"contains\":{\"const\":\"t\"},\"unevaluatedItems\":{\"type\":\"string\"}}},"
    "\"patternProperties\":{\"^n_\":{\"type\":\"number\"}},"
    "\"propertyNames\":{\"maxLength\":8},"
    "\"dependentSchemas\":{\"name\":{\"required\":[\"name\"]}},"
    "\"allOf\":[{\"required\":[\"name\"]}],"
    "\"anyOf\":[{\"properties\":{\"k\":{\"const\":1}}},{\"properties\":{\"z\":{}}}],"
    "\"oneOf\":[{\"required\":[\"name\"]},{\"required\":[\"nope\"]}],"
    "\"not\":{\"properties\":{\"name\":{\"pattern\":\"^bad\"}},\"required\":[\"name\"]},"
    "\"if\":{\"properties\":{\"k\":{\"const\":1}}},\"then\":{\"required\":[\"k\"]},"
    "\"unevaluatedProperties\":false}";

static void schema_compile_sweep(void **state)
{
    json_t *s = load(big_schema);
    struct wdn_mcp_schema *c;
    unsigned n;
    int rc;

    for (n = 1;; n++) {
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        c = wdn_mcp_schema_compile(s, &rc, err, sizeof(err));
        wdn_fault_disarm();
        if (!wdn_fault_fired())
            break;
        if (c != NULL || rc != WDN_ENOMEM || strcmp(err, "out of memory") != 0)
            fail_msg("allocation %u failed: compile gave %p, %d \"%s\"", n, (void *)c, rc, err);
    }
    assert_true(n > 10); /* the sweep reached the sites above */
    assert_non_null(c);
    assert_int_equal(rc, 0);
    wdn_mcp_schema_free(c);
    json_decref(s);
}

/* A valid and an invalid instance, validated with each allocation failed in turn. */
static void schema_match_sweep(void **state)
{
    json_t *s = load(big_schema);
    json_t *good = load("{\"name\":\"abc\",\"tags\":[\"u\",\"t\",\"v\"],\"n_1\":2,\"k\":1}");
    /* Invalid only because of the not: the failure most at risk of turning into a pass. */
    json_t *bad = load("{\"name\":\"badname\",\"tags\":[\"u\",\"t\"],\"n_1\":2,\"k\":1}");
    json_t *inst[] = {good, bad};
    struct wdn_mcp_schema *c = wdn_mcp_schema_compile(s, NULL, NULL, 0);
    unsigned n, fired;
    size_t i;
    int rc;

    assert_non_null(c);
    assert_int_equal(wdn_mcp_schema_match(c, good, err, sizeof(err)), 0);
    assert_int_equal(wdn_mcp_schema_match(c, bad, err, sizeof(err)), WDN_EINVAL);
    assert_string_equal(err, "/: matches a forbidden schema");
    for (i = 0; i < 2; i++) {
        for (n = 1, fired = 0;; n++) {
            wdn_fault_arm(WDN_FAULT_ALLOC, n);
            rc = wdn_mcp_schema_match(c, inst[i], err, sizeof(err));
            wdn_fault_disarm();
            if (!wdn_fault_fired())
                break;
            fired++;
            /* Whatever failed, the instance is refused as undecided, never accepted. */
            if (rc != WDN_ENOMEM || strstr(err, ": out of memory") == NULL)
                fail_msg("instance %zu, allocation %u failed: match gave %d \"%s\"", i, n, rc, err);
        }
        assert_true(fired > 3);
        assert_int_equal(rc, i == 0 ? 0 : WDN_EINVAL);
    }
    wdn_mcp_schema_free(c);
    json_decref(s);
    json_decref(good);
    json_decref(bad);
}

static void server_new_sweep(void **state)
{
    const char *const hosts[] = {"mcp.example.com", "localhost", NULL};
    const char *const origins[] = {"https://app.example.com", NULL};
    struct wdn_mcp_server_config cfg = {.name = "f",
                                        .version = "1",
                                        .title = "F",
                                        .instructions = "use it",
                                        .path = "/mcp",
                                        .allowed_hosts = hosts,
                                        .allowed_origins = origins};
    struct wdn_mcp_server *srv;
    unsigned n;

    for (n = 1;; n++) {
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        srv = wdn_mcp_server_new(&cfg);
        wdn_fault_disarm();
        if (!wdn_fault_fired())
            break;
        if (srv != NULL)
            fail_msg("allocation %u failed, yet a server was made", n);
    }
    assert_int_equal(n, 12); /* the server, 5 strings, 2 lists of 2 and 1 */
    assert_non_null(srv);
    wdn_mcp_server_free(srv);
}

static int t_echo(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    return wdn_mcp_call_text(call, "ok");
}

static int r_read(struct wdn_mcp_call *call, const char *uri, json_t *contents, void *ud)
{
    return 0;
}

static int p_get(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    *messages = json_array();
    return 0;
}

/* The names tools/list, resources/list and prompts/list give, comma-separated. */
static void listed(struct wdn_mcp_server *srv, const char *method, const char *key, char *out,
                   size_t cap)
{
    const char *const lines[] = {"Accept: application/json, text/event-stream",
                                 "Content-Type: application/json",
                                 "MCP-Protocol-Version: 2025-06-18", NULL};
    char body[128];
    struct mr_answer a;
    json_t *item;
    size_t i, len = 0;

    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}", method);
    mr_post(srv, lines, body, &a);
    assert_int_equal(a.status, 200);
    out[0] = '\0';
    json_array_foreach (json_object_get(json_object_get(a.msg, "result"), key), i, item)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "",
                                json_string_value(json_object_get(item, "name")));
    mr_free(&a);
}

static void registration_sweep(void **state)
{
    struct wdn_mcp_server_config cfg = {.name = "f", .version = "1", .stateless = true};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);
    struct wdn_mcp_tool first = {.name = "first", .fn = t_echo};
    struct wdn_mcp_tool t = {
        .name = "geo",
        .title = "Geo",
        .description = "where",
        .input_schema = "{\"type\":\"object\",\"properties\":{"
                        "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
                        "\"where\":{\"type\":\"object\",\"properties\":{"
                        "\"zone\":{\"type\":\"string\",\"x-mcp-header\":\"Zone\"}}}}}",
        .output_schema = "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}}}",
        .annotations = "{\"readOnlyHint\":true}",
        .fn = t_echo};
    struct wdn_mcp_resource r = {.uri_template = "file:///{x}",
                                 .name = "files",
                                 .title = "Files",
                                 .description = "d",
                                 .mime_type = "text/plain",
                                 .read = r_read};
    struct wdn_mcp_prompt_arg args[] = {{"who", "the name", true}, {"how", NULL, false}};
    struct wdn_mcp_prompt p = {.name = "greet",
                               .title = "Greet",
                               .description = "d",
                               .args = args,
                               .nargs = 2,
                               .get = p_get};
    char names[256];
    unsigned n, fired, enomem = 0;
    int rc;

    assert_non_null(srv);
    assert_int_equal(wdn_mcp_server_add_tool(srv, &first), 0);
    for (n = 1, fired = 0;; n++) {
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        rc = wdn_mcp_server_add_tool(srv, &t);
        wdn_fault_disarm();
        if (!wdn_fault_fired())
            break;
        fired++;
        /* jansson reports a failed allocation while parsing the texts as a syntax error. */
        enomem += rc == WDN_ENOMEM;
        if (rc != WDN_ENOMEM && rc != WDN_EINVAL)
            fail_msg("allocation %u failed: add_tool gave %d", n, rc);
        listed(srv, "tools/list", "tools", names, sizeof(names));
        assert_string_equal(names, "first");
    }
    assert_true(fired > 20);
    assert_true(enomem > 10); /* after parsing: the copies, the schemas, the header marks */
    assert_int_equal(rc, 0);
    listed(srv, "tools/list", "tools", names, sizeof(names));
    assert_string_equal(names, "first,geo");

    for (n = 1, fired = 0;; n++) {
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        rc = wdn_mcp_server_add_resource(srv, &r);
        wdn_fault_disarm();
        if (!wdn_fault_fired())
            break;
        fired++;
        if (rc != WDN_ENOMEM)
            fail_msg("allocation %u failed: add_resource gave %d", n, rc);
    }
    assert_true(fired > 5);
    assert_int_equal(rc, 0);
    listed(srv, "resources/templates/list", "resourceTemplates", names, sizeof(names));
    assert_string_equal(names, "files");

    for (n = 1, fired = 0;; n++) {
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        rc = wdn_mcp_server_add_prompt(srv, &p);
        wdn_fault_disarm();
        if (!wdn_fault_fired())
            break;
        fired++;
        if (rc != WDN_ENOMEM)
            fail_msg("allocation %u failed: add_prompt gave %d", n, rc);
        listed(srv, "prompts/list", "prompts", names, sizeof(names));
        assert_string_equal(names, "");
    }
    assert_true(fired > 5);
    assert_int_equal(rc, 0);
    listed(srv, "prompts/list", "prompts", names, sizeof(names));
    assert_string_equal(names, "greet");
    wdn_mcp_server_free(srv);
}

static int setup(void **state)
{
    tf_json_faults();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schema_compile_sweep),
        cmocka_unit_test(schema_match_sweep),
        cmocka_unit_test(server_new_sweep),
        cmocka_unit_test(registration_sweep),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
