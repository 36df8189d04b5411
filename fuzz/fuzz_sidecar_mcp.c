/* Fuzz target: the sidecar's MCP guard (src/sidecar/mcp.c) on untrusted bytes. The first byte
 * picks what the rest is: a request body (wdn__sc_mcp_decide), or an app's tools/list answer as
 * JSON or as an SSE stream (wdn__sc_mcp_filter). The policy grants caller "client" the tools
 * "add" and "echo" only. Invariants: a decision is forward, 400 or 403, and a refusal carries a
 * JSON-RPC error; a filtered answer (or one passed unchanged) never names another tool in a
 * result.tools array, read back with the same parsers a client would use. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "mcp/sse.h"
#include "resources/resources.h"
#include "sidecar/internal.h"
#include "warden/mcp.h"
#include "fuzz.h"

static const char policy_yaml[] = "apiVersion: warden.dev/v1alpha1\n"
                                  "kind: MCPServer\n"
                                  "metadata: {name: s}\n"
                                  "spec:\n"
                                  "  appId: s\n"
                                  "  rules:\n"
                                  "  - {callers: [client], tools: [add, echo], action: allow}\n";

static struct wdn_tool_policy *policy(void)
{
    static struct wdn_tool_policy *p;
    struct wdn_resources *set;
    struct wdn_diag d;

    if (p)
        return p;
    set = wdn_resources_new();
    wdn_resources_load_buffer(set, "p.yaml", NULL, policy_yaml, strlen(policy_yaml));
    CHECK(set->n_mcpservers == 1 && wdn_tool_policy_compile(set->mcpservers[0], &p, &d) == 0);
    wdn_resources_free(set);
    return p;
}

/* No result.tools entry other than the granted ones, in one message or a batch. */
static void check_granted(json_t *doc)
{
    size_t i;
    json_t *e;

    if (json_is_array(doc)) {
        json_array_foreach (doc, i, e)
            check_granted(e);
        return;
    }
    json_array_foreach (json_object_get(json_object_get(doc, "result"), "tools"), i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        CHECK(n != NULL && (strcmp(n, "add") == 0 || strcmp(n, "echo") == 0));
    }
}

static void check_json(const char *p, size_t len)
{
    json_t *root = NULL;

    /* What the filter let through must read back (it parsed it with this parser). */
    CHECK(wdn_jsonrpc_parse(p, len, &root, NULL) == 0);
    check_granted(root);
    json_decref(root);
}

static int on_event(void *ud, const char *event, const char *data, size_t len, const char *id)
{
    (void)ud;
    (void)event;
    (void)id;
    if (len > 0)
        check_json(data, len);
    return 0;
}

static void check_sse(struct wdn_str s)
{
    struct wdn__sse_parser ps;

    wdn__sse_init(&ps, WDN_SSE_MAX_EVENT_BYTES);
    CHECK(wdn__sse_feed(&ps, s.p, s.len, on_event, NULL) == 0);
    wdn__sse_reset(&ps);
}

/* "Mcp-Method value\nMcp-Name value\nbody": what is forwarded is one message whose method
 * (and name) the headers name. */
static void with_headers(struct wdn_str in, struct wdn_buf *out)
{
    static struct wdn_http_request head; /* large: not on the stack */
    struct wdn_http_header *h = head.headers;
    struct wdn__sc_mcp_verdict v;
    struct wdn_jsonrpc_msg m;
    json_t *root = NULL;
    const char *name;

    h[0].name = WDN_STR("Mcp-Method");
    h[1].name = WDN_STR("Mcp-Name");
    head.nheaders = 2;
    for (int i = 0; i < 2; i++) {
        long nl = wdn_str_index(in, '\n');
        if (nl < 0)
            return;
        h[i].value = (struct wdn_str){in.p, (size_t)nl};
        in.p += nl + 1;
        in.len -= (size_t)nl + 1;
    }
    if (h[1].value.len == 0)
        head.nheaders = 1; /* no Mcp-Name */
    CHECK(wdn__sc_mcp_decide(policy(), &(struct wdn__sc_mcp_req){.caller = "client", .head = &head},
                             in, &v, out) == 0);
    if (v.status != 0 || in.len == 0)
        return;
    CHECK(wdn_jsonrpc_parse(in.p, in.len, &root, NULL) == 0);
    CHECK(json_is_object(root) && wdn_jsonrpc_classify(root, &m, NULL) == 0);
    CHECK(m.method && wdn_str_eq_cstr(h[0].value, m.method));
    name = json_string_value(
        json_object_get(m.params, strcmp(m.method, "resources/read") == 0 ? "uri" : "name"));
    if (head.nheaders == 2)
        CHECK(name && wdn_str_eq_cstr(h[1].value, name));
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn_str in;
    struct wdn_buf out;
    struct wdn__sc_mcp_verdict v;
    int rc;

    if (size < 1)
        return 0;
    in = (struct wdn_str){(const char *)data + 1, size - 1};
    wdn_buf_init(&out, 32u << 20);
    switch (data[0] % 4) {
    case 0:
        rc = wdn__sc_mcp_decide(policy(), &(struct wdn__sc_mcp_req){.caller = "client"}, in, &v,
                                &out);
        CHECK(rc == 0 || rc == WDN_ENOMEM);
        CHECK(v.status == 0 || v.status == 400 || v.status == 403);
        if (rc == 0 && v.status)
            check_json(out.data, out.len);
        break;
    case 3:
        with_headers(in, &out);
        break;
    case 1:
        rc = wdn__sc_mcp_filter(policy(), "client", NULL, WDN_STR("application/json"), in, &out);
        if (rc == 0)
            check_json(out.data, out.len);
        else if (rc == 1 && in.len > 0)
            check_json(in.p, in.len);
        break;
    default:
        rc = wdn__sc_mcp_filter(policy(), "client", NULL, WDN_STR("text/event-stream"), in, &out);
        if (rc == 0)
            check_sse(wdn_buf_str(&out));
        else if (rc == 1)
            check_sse(in);
        break;
    }
    wdn_buf_reset(&out);
    return 0;
}
