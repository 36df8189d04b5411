/* libFuzzer target: Last-Event-ID values through the MCP server's resumption path (GET on a
 * session with resumable streams and SSE polling), against streams of fuzzed length. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "warden/mcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned nevents;

/* Emits as many progress notifications as the input asked for, then its result. */
static int tool_chatty(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    unsigned i;

    (void)args;
    (void)ud;
    for (i = 0; i < nevents; i++)
        wdn_mcp_call_progress(call, i, 0, NULL);
    return wdn_mcp_call_text(call, "done");
}

static char sid[80];

static int sink_head(void *ud, int status, const struct wdn_mcp_out_header *h, size_t n)
{
    size_t i;

    (void)ud;
    (void)status;
    for (i = 0; i < n; i++)
        if (strcmp(h[i].name, "Mcp-Session-Id") == 0 && strlen(h[i].value) < sizeof(sid))
            memcpy(sid, h[i].value, strlen(h[i].value) + 1);
    return 0;
}

static int sink_body(void *ud, const char *p, size_t n)
{
    (void)ud;
    (void)p;
    (void)n;
    return 0;
}

static void sink_end(void *ud)
{
    (void)ud;
}

static void request(struct wdn_mcp_server *srv, const char *method, const char *last,
                    size_t last_len, int nlast, const char *body)
{
    struct wdn_mcp_hdr h[6] = {
        {"Accept", 6, "application/json, text/event-stream", 35},
        {"Content-Type", 12, "application/json", 16},
        {"Mcp-Session-Id", 14, sid, strlen(sid)},
    };
    struct wdn_mcp_http_out out = {sink_head, sink_body, sink_end, NULL};
    struct wdn_mcp_http_request req = {.method = method,
                                       .target = "/mcp",
                                       .headers = h,
                                       .nheaders = sid[0] ? 3 : 2,
                                       .body = body,
                                       .body_len = body ? strlen(body) : 0};
    struct wdn_mcp_stream *st = NULL;
    int i;

    for (i = 0; i < nlast && req.nheaders < 6; i++)
        h[req.nheaders++] = (struct wdn_mcp_hdr){"Last-Event-ID", 13, last, last_len};
    wdn_mcp_server_handle(srv, &req, &out, &st);
    if (st != NULL)
        wdn_mcp_server_stream_close(srv, st, out.ud);
}

/* Input: the first byte sets the number of progress events (times two, so that the replay
 * limit of 256 can be passed); the rest is up to four Last-Event-ID values, one a line; an
 * empty line sends the next value twice (a duplicate header). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn_mcp_server_config cfg = {
        .name = "fuzz", .version = "1", .path = "/mcp", .resumable = true, .sse_poll_ms = 1};
    struct wdn_mcp_tool chatty = {.name = "chatty", .fn = tool_chatty};
    struct wdn_mcp_server *srv;
    const char *p, *end, *nl;
    int dup = 1, n;

    if (size == 0)
        return 0;
    nevents = 2u * data[0];
    srv = wdn_mcp_server_new(&cfg);
    if (srv == NULL || wdn_mcp_server_add_tool(srv, &chatty) != 0)
        goto out;
    sid[0] = '\0';
    request(srv, "POST", NULL, 0, 0,
            "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
            "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
            "\"name\":\"f\",\"version\":\"1\"}}}");
    if (sid[0] == '\0')
        goto out;
    /* Stream 1: a tools/call whose POST closes after its priming event (polling). */
    request(srv, "POST", NULL, 0, 0,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
            "\"chatty\",\"_meta\":{\"progressToken\":1}}}");
    /* Stream 2: the standalone GET stream, with a few notifications kept while it is away. */
    request(srv, "GET", NULL, 0, 0, NULL);
    for (n = 0; n < 3; n++)
        wdn_mcp_server_broadcast(srv, "notifications/tools/list_changed", NULL);
    p = (const char *)data + 1;
    end = (const char *)data + size;
    for (n = 0; n < 4 && p <= end; n++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            nl = end;
        if (nl == p && nl < end) {
            dup = 2;
        } else {
            request(srv, "GET", p, (size_t)(nl - p), dup, NULL);
            dup = 1;
        }
        p = nl + 1;
    }
    request(srv, "DELETE", NULL, 0, 0, NULL);
out:
    wdn_mcp_server_free(srv);
    return 0;
}
