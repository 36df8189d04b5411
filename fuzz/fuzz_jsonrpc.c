/* libFuzzer target: JSON-RPC message parsing and the MCP server's POST path on arbitrary bodies. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/limits.h"
#include "mcp/jsonrpc_int.h"
#include "warden/mcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int tool_echo(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    (void)ud;
    /* n = 3 asks the client first (multi round-trip requests): the retry's inputResponses and
     * requestState (attacker-controlled, sealed) go through server_input.c. */
    if (json_integer_value(json_object_get(args, "n")) == 3 &&
        wdn_mcp_call_input(call, "k") == NULL) {
        wdn_mcp_call_set_state(call, "fuzz");
        return wdn_mcp_call_input_request(call, "k", "elicitation/create", NULL);
    }
    wdn_mcp_call_progress(call, 1, 2, "working");
    wdn_mcp_call_log(call, WDN_MCP_LOG_INFO, "fuzz", json_string("log"));
    return wdn_mcp_call_text(call, json_string_value(json_object_get(args, "message")));
}

static int read_res(struct wdn_mcp_call *call, const char *uri, json_t *contents, void *ud)
{
    (void)call;
    (void)ud;
    return json_array_append_new(contents, json_pack("{s:s, s:s}", "uri", uri, "text", "x"));
}

static int get_prompt(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    (void)call;
    (void)args;
    (void)ud;
    *messages = json_array();
    return 0;
}

static int sink_head(void *ud, int status, const struct wdn_mcp_out_header *h, size_t n)
{
    (void)ud;
    (void)status;
    (void)h;
    (void)n;
    return 0;
}

static int sink_body(void *ud, const char *p, size_t n)
{
    (void)ud;
    (void)p;
    (void)n;
    return 0;
}

static struct wdn_mcp_server *make_server(void)
{
    static const struct wdn_mcp_prompt_arg pa[] = {{"topic", NULL, true}};
    struct wdn_mcp_server_config cfg = {.name = "fuzz", .version = "1", .stateless = true};
    struct wdn_mcp_server *srv = wdn_mcp_server_new(&cfg);
    struct wdn_mcp_tool echo = {
        .name = "echo",
        .input_schema =
            "{\"type\":\"object\",\"$defs\":{\"tag\":{\"enum\":[\"a\",\"b\"]},\"node\":{"
            "\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\",\"items\":"
            "{\"$ref\":\"#/$defs/node\"}}},\"additionalProperties\":false}},\"properties\":{"
            "\"message\":{\"type\":\"string\",\"maxLength\":64,\"x-mcp-header\":\"Msg\"},\"n\":{"
            "\"type\":\"integer\","
            "\"minimum\":0,\"multipleOf\":3},\"tags\":{\"type\":\"array\",\"items\":{\"$ref\":"
            "\"#/$defs/tag\"},\"uniqueItems\":true},\"tree\":{\"$ref\":\"#/$defs/node\"},"
            "\"choice\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"number\"}]}},"
            "\"required\":[\"message\"],\"additionalProperties\":false}",
        .fn = tool_echo};
    struct wdn_mcp_resource r = {.uri_template = "test://{id}/x", .name = "r", .read = read_res};
    struct wdn_mcp_prompt p = {.name = "p", .args = pa, .nargs = 1, .get = get_prompt};

    wdn_mcp_server_add_tool(srv, &echo);
    wdn_mcp_server_add_resource(srv, &r);
    wdn_mcp_server_add_prompt(srv, &p);
    return srv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct wdn_mcp_server *srv;
    struct wdn_jsonrpc_fault f;
    struct wdn_jsonrpc_msg m;
    json_t *root = NULL;
    /* The first byte picks the era: 2025-03-26 (batches), 2026-07-28 (Mcp-* headers checked
     * against the body; then the next byte n and n bytes are the Mcp-Param-Msg header, literal
     * or =?base64?...?=), or no version header; the rest is the body. */
    static const struct wdn_mcp_hdr legacy[] = {
        {"Accept", 6, "application/json, text/event-stream", 35},
        {"Content-Type", 12, "application/json", 16},
        {"MCP-Protocol-Version", 20, "2025-03-26", 10},
    };
    struct wdn_mcp_hdr modern[] = {
        {"Accept", 6, "application/json, text/event-stream", 35},
        {"Content-Type", 12, "application/json", 16},
        {"MCP-Protocol-Version", 20, "2026-07-28", 10},
        {"Mcp-Method", 10, "tools/call", 10},
        {"Mcp-Name", 8, "echo", 4},
        {"Mcp-Param-Msg", 13, "", 0},
    };
    struct wdn_mcp_http_out out = {sink_head, sink_body, NULL, NULL};
    struct wdn_mcp_http_request req = {"POST", "/mcp", legacy, 3, NULL, 0, NULL};
    struct wdn_mcp_stream *st = NULL;
    size_t skip = 1;

    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 1:
        req.headers = modern;
        req.nheaders = 5;
        if (size >= 2 && (size_t)data[1] <= size - 2) {
            modern[5].value = (const char *)data + 2;
            modern[5].value_len = data[1];
            req.nheaders = 6;
            skip = 2 + (size_t)data[1];
        }
        break;
    case 2:
        req.nheaders = 2;
        break;
    default:
        break;
    }
    data += skip;
    size -= skip;
    req.body = (const char *)data;
    req.body_len = size;

    if (srv == NULL)
        srv = make_server();
    if (wdn_jsonrpc_parse((const char *)data, size, &root, &f) == 0) {
        /* The answer writer against jansson: what it writes reads back as the same value. */
        struct wdn_buf b;
        wdn_buf_init(&b, 2 * (size_t)WDN_JSONRPC_MAX_BYTES);
        if (wdn__mcp_json_write(&b, root) == 0) {
            json_t *back = json_loadb(b.data, b.len, JSON_ALLOW_NUL, NULL);
            if (back == NULL || !json_equal(back, root))
                abort();
            json_decref(back);
        }
        wdn_buf_reset(&b);
        if (json_is_array(root)) {
            size_t i;
            for (i = 0; i < json_array_size(root); i++)
                wdn_jsonrpc_classify(json_array_get(root, i), &m, &f);
        } else {
            wdn_jsonrpc_classify(root, &m, &f);
        }
        json_decref(root);
    }
    /* The whole POST path: batches (2025-03-26), dispatch, schema validation, SSE framing. */
    wdn_mcp_server_handle(srv, &req, &out, &st);
    return 0;
}
