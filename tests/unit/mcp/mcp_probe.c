/* Interop probe: the SDK's C client against any MCP server. Usage: mcp_probe URL [VERSION].
 * Connects, lists tools, calls add {a:2,b:3} and echo {message:"hi"} when present, and prints one
 * JSON line {"version","tools","add","echo"}; on failure {"error","http_status"} and exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warden/mcp.h"

static int fail(const struct wdn_mcp_error *e)
{
    json_t *j = json_pack("{s:s, s:I, s:I}", "error", e->message, "http_status",
                          (json_int_t)e->http_status, "rpc_code", (json_int_t)e->rpc_code);
    char *s = json_dumps(j, JSON_COMPACT);

    printf("%s\n", s ? s : "{\"error\":\"?\"}");
    free(s);
    json_decref(j);
    return 1;
}

static json_t *call_text(struct wdn_mcp_client *c, const char *name, json_t *args)
{
    struct wdn_mcp_error e;
    json_t *result = NULL, *out;

    if (wdn_mcp_client_call_tool(c, name, args, &result, &e) != 0)
        return json_string(e.message);
    out = wdn_mcp_result_text(result) ? json_string(wdn_mcp_result_text(result)) : json_null();
    json_decref(result);
    return out;
}

int main(int argc, char **argv)
{
    struct wdn_mcp_client_config cfg;
    struct wdn_mcp_client *c;
    struct wdn_mcp_error e;
    json_t *tools = NULL, *names, *out, *t;
    char *s;
    size_t i;
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: mcp_probe URL [VERSION]\n");
        return 2;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.url = argv[1];
    cfg.protocol_version = argc > 2 ? argv[2] : NULL;
    cfg.client_name = "mcp-probe";
    cfg.timeout_ms = 10000;
    c = wdn_mcp_client_new(&cfg, &e);
    if (c == NULL || wdn_mcp_client_connect(c, &e) != 0 ||
        wdn_mcp_client_list_tools(c, &tools, &e) != 0) {
        rc = fail(&e);
        goto out;
    }
    names = json_array();
    json_array_foreach(tools, i, t) json_array_append(names, json_object_get(t, "name"));
    out = json_pack("{s:s, s:o}", "version", wdn_mcp_client_version(c), "tools", names);
    json_object_set_new(out, "add", call_text(c, "add", json_pack("{s:i, s:i}", "a", 2, "b", 3)));
    json_object_set_new(out, "echo", call_text(c, "echo", json_pack("{s:s}", "message", "hi")));
    s = json_dumps(out, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_decref(out);
    rc = 0;
out:
    json_decref(tools);
    wdn_mcp_client_free(c);
    return rc;
}
