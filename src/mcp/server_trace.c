/* A span per JSON-RPC request the MCP server handles, after OpenTelemetry's MCP semantic
 * conventions: named "{method} {tool or prompt}", kind SERVER, a child of the request's
 * params._meta.traceparent (SEP-414: the MCP client's own span) or, when the request has none,
 * of the HTTP request's traceparent header (the sidecar's forward span). A context that does
 * not parse is ignored, never passed on. Without a tracer the caller's context is still kept,
 * so that wdn_mcp_call_traceparent can hand it on to the requests a tool makes. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "mcp/server_int.h"

void wdn_mcp_server_set_tracer(struct wdn_mcp_server *srv, struct wdn_tracer *t)
{
    srv->tracer = t;
}

int wdn_mcp_call_traceparent(const struct wdn_mcp_call *call, char *out, size_t cap)
{
    if (!call->ex->has_trace)
        return WDN_ENOTFOUND;
    if (cap < WDN_TRACEPARENT_LEN + 1)
        return WDN_ELIMIT;
    wdn_traceparent_format(&call->ex->trace, out);
    return 0;
}

/* The request's parent context: _meta.traceparent first, then the HTTP header. */
static bool parent_of(const struct exchange *ex, const struct wdn_jsonrpc_msg *m,
                      struct wdn_trace_ctx *parent)
{
    json_t *meta = json_object_get(m->params, "_meta");
    json_t *tp = json_object_get(meta, "traceparent");

    if (json_is_string(tp) &&
        wdn_traceparent_parse((struct wdn_str){json_string_value(tp), json_string_length(tp)},
                              parent) == 0)
        return true;
    return ex->http_traceparent.len > 0 && wdn_traceparent_parse(ex->http_traceparent, parent) == 0;
}

void wdn__mcp_span_begin(struct exchange *ex, const struct wdn_jsonrpc_msg *m,
                         struct wdn__mcp_span *sp)
{
    struct wdn_tracer *t = ex->srv->tracer;
    struct wdn_trace_ctx parent;
    bool has_parent = parent_of(ex, m, &parent);
    const char *target = NULL;
    char name[160], idtext[64];

    sp->on = false;
    if (t == NULL) {
        /* Not recording: the caller's context goes on unchanged. */
        ex->has_trace = has_parent;
        if (has_parent)
            ex->trace = parent;
        return;
    }
    wdn_trace_ctx_child(has_parent ? &parent : NULL, wdn_tracer_rate(t), &ex->trace);
    ex->has_trace = true;
    if (!(ex->trace.flags & WDN_TRACE_FLAG_SAMPLED))
        return;
    sp->on = true;
    if (strcmp(m->method, "tools/call") == 0 || strcmp(m->method, "prompts/get") == 0)
        target = json_string_value(json_object_get(m->params, "name"));
    snprintf(name, sizeof(name), "%s%s%.100s", m->method, target ? " " : "", target ? target : "");
    wdn_span_start(&sp->span, &ex->trace, has_parent ? parent.span_id : NULL, WDN_SPAN_SERVER,
                   name);
    wdn_span_attr_str(&sp->span, "mcp.method.name", wdn_str_from_cstr(m->method));
    if (target && strcmp(m->method, "tools/call") == 0) {
        wdn_span_attr_str(&sp->span, "gen_ai.tool.name", wdn_str_from_cstr(target));
        wdn_span_attr_str(&sp->span, "gen_ai.operation.name", WDN_STR("execute_tool"));
    } else if (target) {
        wdn_span_attr_str(&sp->span, "gen_ai.prompt.name", wdn_str_from_cstr(target));
    }
    if (json_is_string(m->id))
        wdn_span_attr_str(&sp->span, "jsonrpc.request.id",
                          (struct wdn_str){json_string_value(m->id), json_string_length(m->id)});
    else if (json_is_integer(m->id)) {
        snprintf(idtext, sizeof(idtext), "%lld", (long long)json_integer_value(m->id));
        wdn_span_attr_str(&sp->span, "jsonrpc.request.id", wdn_str_from_cstr(idtext));
    }
    if (ex->session[0])
        wdn_span_attr_str(&sp->span, "mcp.session.id", wdn_str_from_cstr(ex->session));
    wdn_span_attr_str(&sp->span, "mcp.protocol.version", wdn_str_from_cstr(ex->version));
    wdn_span_attr_str(&sp->span, "network.protocol.name", WDN_STR("http"));
}

void wdn__mcp_span_end(struct exchange *ex, struct wdn__mcp_span *sp, const json_t *result,
                       int error_code)
{
    char code[16];

    if (!sp->on)
        return;
    if (error_code) {
        snprintf(code, sizeof(code), "%d", error_code);
        wdn_span_attr_str(&sp->span, "error.type", wdn_str_from_cstr(code));
        wdn_span_attr_str(&sp->span, "rpc.response.status_code", wdn_str_from_cstr(code));
        wdn_span_end(&sp->span, WDN_SPAN_ERROR);
    } else if (json_is_true(json_object_get(result, "isError"))) {
        wdn_span_attr_str(&sp->span, "error.type", WDN_STR("tool_error"));
        wdn_span_end(&sp->span, WDN_SPAN_ERROR);
    } else {
        wdn_span_end(&sp->span, WDN_SPAN_UNSET);
    }
    wdn_tracer_submit(ex->srv->tracer, &sp->span, 1);
}
