/* The JSON-RPC methods of an MCP server and their dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json_dump.h"
#include "base/limits.h"
#include "base/str.h"
#include "base/base64.h"
#include "mcp/server_int.h"

#define MAX_COMPLETIONS 100

/* ---------------------------------------------------------------------------------------- */
/* Methods. Each returns a new result object, or NULL and fills e.                          */

json_t *wdn__mcp_fail(struct rpc_err *e, int code, const char *fmt, ...)
{
    va_list ap;

    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return NULL;
}

static json_t *capabilities(struct wdn_mcp_server *srv, bool modern)
{
    json_t *c = json_object();
    /* Change notifications need a GET stream, which only sessions of the older versions have. */
    bool lc = !srv->stateless && !modern;

    if (c == NULL)
        return NULL;
    json_object_set_new(c, "tools", json_pack("{s:b}", "listChanged", lc));
    json_object_set_new(c, "logging", json_object());
    if (srv->nresources > 0)
        json_object_set_new(c, "resources",
                            json_pack("{s:b, s:b}", "subscribe", !modern, "listChanged", lc));
    if (srv->nprompts > 0)
        json_object_set_new(c, "prompts", json_pack("{s:b}", "listChanged", lc));
    if (srv->nprompts > 0 || srv->nresources > 0 || srv->completer != NULL)
        json_object_set_new(c, "completions", json_object());
    if (srv->has_task_tools)
        json_object_set_new(c, "extensions", json_pack("{s:{}}", WDN_MCP_EXT_TASKS));
    return c;
}

static json_t *server_info(struct wdn_mcp_server *srv)
{
    json_t *i = json_pack("{s:s, s:s}", "name", srv->name, "version", srv->version);

    if (i != NULL && srv->title != NULL)
        json_object_set_new(i, "title", json_string(srv->title));
    return i;
}

static json_t *m_initialize(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    struct wdn_mcp_server *srv = ex->srv;
    const char *want = json_string_value(json_object_get(params, "protocolVersion"));
    const char *version = wdn__mcp_static_version(want);
    json_t *r;

    if (want == NULL)
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                             "Invalid params: protocolVersion is required");
    /* A supported version is echoed; any other gets the newest of the initialize era. */
    if (version == NULL || wdn_mcp_version_is_modern(version))
        version = WDN_MCP_LATEST_LEGACY;
    r = json_pack("{s:s, s:o, s:o}", "protocolVersion", version, "capabilities",
                  capabilities(srv, false), "serverInfo", server_info(srv));
    if (r != NULL && srv->instructions != NULL)
        json_object_set_new(r, "instructions", json_string(srv->instructions));
    return r;
}

static json_t *m_discover(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    struct wdn_mcp_server *srv = ex->srv;
    json_t *r = json_pack("{s:[ssss], s:o, s:o}", "supportedVersions", WDN_MCP_V2026_07_28,
                          WDN_MCP_V2025_11_25, WDN_MCP_V2025_06_18, WDN_MCP_V2025_03_26,
                          "capabilities", capabilities(srv, true), "serverInfo", server_info(srv));
    if (r != NULL && srv->instructions != NULL)
        json_object_set_new(r, "instructions", json_string(srv->instructions));
    return r;
}

/*
 * One page of a list method: entries [offset, offset + page_size) of all (stolen), under key,
 * with nextCursor when more follow. The cursor is opaque to clients: "p" and the offset in
 * base 10, base64url-encoded; anything else is -32602 (SEP-2549's caching keys on it too).
 */
static json_t *page_of(struct exchange *ex, json_t *params, json_t *all, const char *key,
                       struct rpc_err *e)
{
    json_t *cursor = json_object_get(params, "cursor"), *page, *r;
    size_t n = json_array_size(all), off = 0, i, len;
    size_t size = ex->srv->page_size;
    char text[WDN_MCP_MAX_CURSOR + 1], *end;

    if (all == NULL)
        return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    if (cursor != NULL && !json_is_null(cursor)) {
        unsigned long long v = 0;
        unsigned char raw[WDN_MCP_MAX_CURSOR];
        bool ok = json_is_string(cursor) && json_string_length(cursor) <= WDN_MCP_MAX_CURSOR &&
                  wdn_b64url_decode(wdn_str_from_cstr(json_string_value(cursor)), raw,
                                    sizeof(raw) - 1, &len) == 0 &&
                  len >= 2 && raw[0] == 'p' && raw[1] >= '1' && raw[1] <= '9';
        if (ok) {
            memcpy(text, raw + 1, len - 1);
            text[len - 1] = '\0';
            v = strtoull(text, &end, 10);
            ok = *end == '\0' && v < n;
        }
        if (!ok) {
            json_decref(all);
            return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: invalid cursor");
        }
        off = (size_t)v;
    }
    if (off == 0 && n <= size) {
        r = json_pack("{s:o}", key, all); /* the common case: everything, no copy */
    } else {
        page = json_array();
        for (i = off; page != NULL && i < n && i < off + size; i++)
            json_array_append(page, json_array_get(all, i));
        r = json_pack("{s:o}", key, page);
        if (r != NULL && off + size < n) {
            char raw[32], out[64];
            int m = snprintf(raw, sizeof(raw), "p%zu", off + size);
            if (wdn_b64url_encode(raw, (size_t)m, out, sizeof(out), &len) == 0)
                json_object_set_new(r, "nextCursor", json_stringn(out, len));
        }
        json_decref(all);
    }
    if (r == NULL)
        wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    return r;
}

static json_t *m_tools_list(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < ex->srv->ntools; i++)
        json_array_append(a, ex->srv->tools[i].def);
    return page_of(ex, params, a, "tools", e);
}

/* ---- Handlers in rounds (server_input.c) ---------------------------------------------------- */

/* A round's outcome that is a JSON-RPC error: wdn_mcp_call_fail, or a missing capability. */
static bool round_failed(struct wdn_mcp_call *call, struct rpc_err *e)
{
    if (call->fail_code != 0) {
        wdn__mcp_fail(e, call->fail_code, "%s", call->fail_msg);
        return true;
    }
    if (call->missing_cap != NULL) {
        e->data = json_pack("{s:{s:{}}}", "requiredCapabilities", call->missing_cap);
        wdn__mcp_fail(e, WDN_MCP_ERR_MISSING_CAPABILITY,
                      "Missing required client capability: %.64s", call->missing_cap);
        return true;
    }
    return false;
}

/*
 * Runs a handler (invoke) round after round until a round queues no request the client has
 * not answered. 0: done, *hrc the handler's last return value; 1: the client must answer
 * first (2026-07-28), *irr the InputRequiredResult; negative: e filled.
 */
static int run_rounds(struct wdn_mcp_call *call, int (*invoke)(struct wdn_mcp_call *, void *),
                      void *ctx, int *hrc, json_t **irr, struct rpc_err *e)
{
    json_t *pending;
    int round, rc;

    *irr = NULL;
    for (round = 0; round < WDN_MCP_MAX_INPUT_ROUNDS; round++) {
        if (round > 0)
            wdn__mcp_round_reset(call);
        *hrc = invoke(call, ctx);
        if (round_failed(call, e))
            return WDN_EPROTO;
        if ((pending = wdn__mcp_unanswered(call)) == NULL)
            return 0;
        if ((rc = wdn__mcp_input_round(call, pending, irr, e)) != 0)
            return rc;
    }
    wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: too many rounds of input");
    return WDN_ELIMIT;
}

static json_t *tool_error_result(const char *text)
{
    return json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", text, "isError",
                     1);
}

static int invoke_prepare(struct wdn_mcp_call *call, void *ctx)
{
    struct tool *t = ctx;

    return t->prepare(call, call->args, t->ud);
}

/* A synchronous run: prepare (if any) and the tool, in the same rounds. */
static int invoke_tool(struct wdn_mcp_call *call, void *ctx)
{
    struct tool *t = ctx;
    json_t *pending;
    int rc;

    if (t->prepare != NULL) {
        rc = t->prepare(call, call->args, t->ud);
        pending = wdn__mcp_unanswered(call);
        if (rc < 0 || pending != NULL || call->fail_code != 0) {
            json_decref(pending);
            return rc;
        }
    }
    return t->fn(call, call->args, t->ud);
}

json_t *wdn__mcp_tool_result(struct tool *t, struct wdn_mcp_call *call, int rc, struct rpc_err *e)
{
    char why[512];
    json_t *r;

    if (rc < 0) {
        call->is_error = true;
        if (json_array_size(call->content) == 0) {
            char text[256];
            snprintf(text, sizeof(text), "Tool %s failed: %s", t->name, wdn_strerror(rc));
            wdn_mcp_call_text(call, text);
        }
    }
    if (!call->is_error && t->out_s != NULL) {
        if (call->structured == NULL)
            return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR,
                                 "Tool %s has an output schema but returned no structured content",
                                 t->name);
        if (wdn_mcp_schema_match(t->out_s, call->structured, why, sizeof(why)) != 0)
            return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR,
                                 "Tool %s returned invalid structured content: %s", t->name, why);
    }
    /* Structured content also goes out as text for clients that predate it. */
    if (call->structured != NULL && json_array_size(call->content) == 0) {
        char *s = wdn_json_dumps(call->structured, JSON_COMPACT);
        if (s != NULL)
            wdn_mcp_call_text(call, s);
        free(s);
    }
    r = json_pack("{s:O}", "content", call->content);
    if (r == NULL)
        return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    if (call->structured != NULL)
        json_object_set(r, "structuredContent", call->structured);
    if (call->is_error)
        json_object_set_new(r, "isError", json_true());
    return r;
}

static json_t *m_tools_call(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    struct wdn_mcp_server *srv = ex->srv;
    struct wdn_mcp_call call;
    struct tool *t = NULL;
    json_t *name = json_object_get(params, "name");
    json_t *args = json_object_get(params, "arguments");
    json_t *owned_args = NULL, *r = NULL;
    bool as_task;
    char why[512];
    size_t i;
    int rc, hrc = 0;

    if (!json_is_string(name))
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                             "Invalid params: name must be a string");
    for (i = 0; i < srv->ntools; i++)
        if (strcmp(srv->tools[i].name, json_string_value(name)) == 0)
            t = &srv->tools[i];
    if (t == NULL)
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS, "Unknown tool: %.128s",
                             json_string_value(name));
    if (args == NULL || json_is_null(args))
        args = owned_args = json_object();
    if (!json_is_object(args)) {
        json_decref(owned_args);
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                             "Invalid params: arguments must be an object");
    }
    /* Input validation failures are tool errors the model can read and correct (SEP-1303). */
    if (wdn_mcp_schema_match(t->in_s, args, why, sizeof(why)) != 0) {
        char text[700];
        snprintf(text, sizeof(text), "Invalid arguments for tool %s: %s", t->name, why);
        json_decref(owned_args);
        return tool_error_result(text);
    }
    wdn__mcp_call_init(&call, ex, params, id);
    call.method = "tools/call";
    call.name = t->name;
    call.args = args;
    call.content = json_array();
    if (call.content == NULL) {
        wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
        goto out;
    }
    if (wdn__mcp_input_init(&call, params, e) != 0)
        goto out;
    /* Tasks (SEP-2663): the server decides, for clients that declared the extension. */
    as_task = t->task_support != WDN_MCP_TASK_NEVER && wdn__mcp_client_has_tasks(&call);
    if (t->task_support == WDN_MCP_TASK_REQUIRED && !as_task) {
        e->data =
            json_pack("{s:{s:{s:{}}}}", "requiredCapabilities", "extensions", WDN_MCP_EXT_TASKS);
        wdn__mcp_fail(e, WDN_MCP_ERR_MISSING_CAPABILITY,
                      "Missing required client capability: extensions." WDN_MCP_EXT_TASKS);
        goto out;
    }
    if (as_task && t->prepare != NULL) {
        /* Input the task needs before it exists is gathered with round trips first. */
        rc = run_rounds(&call, invoke_prepare, t, &hrc, &r, e);
        if (rc != 0 || hrc >= 0)
            goto task;
        r = wdn__mcp_tool_result(t, &call, hrc, e);
        goto out;
    }
    if (as_task) {
        rc = 0;
        goto task;
    }
    rc = run_rounds(&call, invoke_tool, t, &hrc, &r, e);
    if (rc == 0)
        r = wdn__mcp_tool_result(t, &call, hrc, e);
    goto out;
task:
    if (rc == 0)
        r = wdn__mcp_task_start(ex, t, params, &call, e);
out:
    wdn__mcp_call_done(&call);
    json_decref(owned_args);
    return r;
}

static json_t *resources_list(struct exchange *ex, json_t *params, bool templates,
                              struct rpc_err *e)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < ex->srv->nresources; i++)
        if ((ex->srv->resources[i].tmpl != NULL) == templates)
            json_array_append(a, ex->srv->resources[i].def);
    return page_of(ex, params, a, templates ? "resourceTemplates" : "resources", e);
}

static json_t *m_resources_list(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    return resources_list(ex, params, false, e);
}

static json_t *m_templates_list(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    return resources_list(ex, params, true, e);
}

static json_t *m_ping(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    return json_object();
}

/* RFC 6570 level 1 matching: literal text must match, each {var} matches one or more bytes
 * other than '/'. Enough for the templates servers publish (file:///{path}, test://{id}). */
static bool template_match(const char *t, const char *u)
{
    while (*t != '\0') {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            const char *next;
            size_t n = 0;
            if (close == NULL)
                return false;
            next = close + 1;
            while (u[n] != '\0' && u[n] != '/' && (*next == '\0' || u[n] != *next))
                n++;
            if (n == 0)
                return false;
            u += n;
            t = next;
        } else if (*t++ != *u++) {
            return false;
        }
    }
    return *u == '\0';
}

struct read_ctx {
    struct resource *r;
    const char *uri;
    json_t *contents;
};

static int invoke_read(struct wdn_mcp_call *call, void *ctx)
{
    struct read_ctx *c = ctx;

    json_array_clear(c->contents);
    return c->r->fn(call, c->uri, c->contents, c->r->ud);
}

static json_t *m_resources_read(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    struct wdn_mcp_server *srv = ex->srv;
    json_t *uri = json_object_get(params, "uri");
    struct read_ctx ctx = {NULL, NULL, NULL};
    struct wdn_mcp_call call;
    json_t *res = NULL;
    size_t i;
    int rc, hrc = 0;

    if (!json_is_string(uri))
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: uri must be a string");
    for (i = 0; i < srv->nresources && ctx.r == NULL; i++)
        if (srv->resources[i].uri != NULL &&
            strcmp(srv->resources[i].uri, json_string_value(uri)) == 0)
            ctx.r = &srv->resources[i];
    for (i = 0; i < srv->nresources && ctx.r == NULL; i++)
        if (srv->resources[i].tmpl != NULL &&
            template_match(srv->resources[i].tmpl, json_string_value(uri)))
            ctx.r = &srv->resources[i];
    if (ctx.r == NULL) {
        e->data = json_pack("{s:O}", "uri", uri);
        return wdn__mcp_fail(
            e, ex->modern ? WDN_JSONRPC_INVALID_PARAMS : WDN_MCP_ERR_RESOURCE_NOT_FOUND,
            "Resource not found");
    }
    ctx.uri = json_string_value(uri);
    ctx.contents = json_array();
    if (ctx.contents == NULL)
        return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    wdn__mcp_call_init(&call, ex, params, id);
    call.method = "resources/read";
    call.name = ctx.uri;
    if (wdn__mcp_input_init(&call, params, e) != 0)
        goto out;
    rc = run_rounds(&call, invoke_read, &ctx, &hrc, &res, e);
    if (rc != 0)
        goto out;
    if (hrc == WDN_ENOTFOUND) {
        e->data = json_pack("{s:O}", "uri", uri);
        wdn__mcp_fail(e, ex->modern ? WDN_JSONRPC_INVALID_PARAMS : WDN_MCP_ERR_RESOURCE_NOT_FOUND,
                      "Resource not found");
    } else if (hrc < 0) {
        wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: %s", wdn_strerror(hrc));
    } else {
        res = json_pack("{s:O}", "contents", ctx.contents);
        /* Caching hints (2026-07-28): the handler's, never for a result that took input. */
        if (res != NULL && ex->modern) {
            bool cache = call.cache_set && !call.retry;
            json_object_set_new(res, "ttlMs", json_integer(cache ? call.cache_ttl_ms : 0));
            json_object_set_new(res, "cacheScope",
                                json_string(cache && call.cache_public ? "public" : "private"));
        }
    }
out:
    wdn__mcp_call_done(&call);
    json_decref(ctx.contents);
    return res;
}

static json_t *m_prompts_list(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < ex->srv->nprompts; i++)
        json_array_append(a, ex->srv->prompts[i].def);
    return page_of(ex, params, a, "prompts", e);
}

struct prompt_ctx {
    struct prompt *p;
    json_t *args;
    json_t *messages;
};

static int invoke_prompt(struct wdn_mcp_call *call, void *ctx)
{
    struct prompt_ctx *c = ctx;

    json_decref(c->messages);
    c->messages = NULL;
    return c->p->fn(call, c->args, &c->messages, c->p->ud);
}

static json_t *m_prompts_get(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    struct wdn_mcp_server *srv = ex->srv;
    json_t *name = json_object_get(params, "name");
    json_t *args = json_object_get(params, "arguments");
    json_t *owned = NULL, *res = NULL, *decl, *a;
    struct prompt_ctx ctx = {NULL, NULL, NULL};
    struct wdn_mcp_call call;
    const char *k;
    json_t *v;
    size_t i;
    int rc, hrc = 0;

    if (!json_is_string(name))
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                             "Invalid params: name must be a string");
    for (i = 0; i < srv->nprompts; i++)
        if (strcmp(srv->prompts[i].name, json_string_value(name)) == 0)
            ctx.p = &srv->prompts[i];
    if (ctx.p == NULL)
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS, "Unknown prompt: %.128s",
                             json_string_value(name));
    if (args == NULL)
        args = owned = json_object();
    if (!json_is_object(args))
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                             "Invalid params: arguments must be an object");
    json_object_foreach (args, k, v) {
        if (!json_is_string(v)) {
            json_decref(owned);
            return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                                 "Invalid params: argument %.64s must be a string", k);
        }
    }
    decl = json_object_get(ctx.p->def, "arguments");
    json_array_foreach (decl, i, a) {
        const char *an = json_string_value(json_object_get(a, "name"));
        if (json_is_true(json_object_get(a, "required")) && json_object_get(args, an) == NULL) {
            json_decref(owned);
            return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                                 "Invalid params: missing required argument %.64s", an);
        }
    }
    ctx.args = args;
    wdn__mcp_call_init(&call, ex, params, id);
    call.method = "prompts/get";
    call.name = ctx.p->name;
    call.args = args;
    if (wdn__mcp_input_init(&call, params, e) != 0)
        goto out;
    rc = run_rounds(&call, invoke_prompt, &ctx, &hrc, &res, e);
    if (rc != 0)
        goto out;
    if (hrc < 0 || !json_is_array(ctx.messages)) {
        wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: %s",
                      hrc < 0 ? wdn_strerror(hrc) : "prompt produced no messages");
    } else {
        res = json_pack("{s:O}", "messages", ctx.messages);
        if (res != NULL && json_object_get(ctx.p->def, "description") != NULL)
            json_object_set(res, "description", json_object_get(ctx.p->def, "description"));
    }
out:
    wdn__mcp_call_done(&call);
    json_decref(ctx.messages);
    json_decref(owned);
    return res;
}

static json_t *m_complete(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    json_t *ref = json_object_get(params, "ref");
    json_t *arg = json_object_get(params, "argument");
    const char *type = json_string_value(json_object_get(ref, "type"));
    const char *rname = NULL, *aname = json_string_value(json_object_get(arg, "name"));
    const char *aval = json_string_value(json_object_get(arg, "value"));
    json_t *values, *res;
    size_t total;

    if (type == NULL || aname == NULL || aval == NULL)
        return wdn__mcp_fail(
            e, WDN_JSONRPC_INVALID_PARAMS,
            "Invalid params: ref.type, argument.name and argument.value are required");
    if (strcmp(type, "ref/prompt") == 0)
        rname = json_string_value(json_object_get(ref, "name"));
    else if (strcmp(type, "ref/resource") == 0)
        rname = json_string_value(json_object_get(ref, "uri"));
    if (rname == NULL)
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: bad ref");
    values = json_array();
    if (values == NULL)
        return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    if (ex->srv->completer != NULL &&
        ex->srv->completer(rname, aname, aval, values, ex->srv->completer_ud) < 0) {
        json_decref(values);
        return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: completion failed");
    }
    total = json_array_size(values);
    while (json_array_size(values) > MAX_COMPLETIONS)
        json_array_remove(values, json_array_size(values) - 1);
    res = json_pack("{s:{s:o, s:I, s:b}}", "completion", "values", values, "total",
                    (json_int_t)total, "hasMore", total > MAX_COMPLETIONS);
    return res;
}

/* Remembers (or forgets) a subscription for the session, so that
 * wdn_mcp_server_resource_updated reaches its GET stream. Stateless servers just acknowledge. */
static json_t *subscribe(struct exchange *ex, json_t *params, bool on, struct rpc_err *e)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    struct session *s;
    int rc = 0;

    if (uri == NULL)
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: uri must be a string");
    if (ex->session[0] == '\0')
        return json_object();
    pthread_mutex_lock(&ex->srv->mu);
    s = wdn__mcp_session_find(ex->srv, wdn_str_from_cstr(ex->session));
    if (s != NULL && on) {
        if (s->subs == NULL)
            s->subs = json_object();
        if (s->subs == NULL || json_object_size(s->subs) >= WDN_MCP_MAX_TOOLS)
            rc = WDN_ELIMIT;
        else
            rc = json_object_set_new(s->subs, uri, json_true()) == 0 ? 0 : WDN_ENOMEM;
    } else if (s != NULL) {
        json_object_del(s->subs, uri);
    }
    pthread_mutex_unlock(&ex->srv->mu);
    if (rc != 0)
        return wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR,
                             "Internal error: too many subscriptions");
    return json_object();
}

static json_t *m_subscribe(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    return subscribe(ex, params, true, e);
}

static json_t *m_unsubscribe(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    return subscribe(ex, params, false, e);
}

static json_t *m_set_level(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e)
{
    const char *lvl = json_string_value(json_object_get(params, "level"));
    struct session *s;
    int i, found = -1;

    for (i = 0; lvl != NULL && i < 8; i++)
        if (strcmp(lvl, wdn__mcp_log_levels[i]) == 0)
            found = i;
    if (found < 0)
        return wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: unknown log level");
    pthread_mutex_lock(&ex->srv->mu);
    if (ex->session[0] != '\0') {
        s = wdn__mcp_session_find(ex->srv, wdn_str_from_cstr(ex->session));
        if (s != NULL)
            s->log_level = found;
    } else {
        ex->srv->stateless_log_level = found;
    }
    pthread_mutex_unlock(&ex->srv->mu);
    ex->log_level = found;
    return json_object();
}

void wdn__mcp_cancel(struct exchange *ex, json_t *params)
{
    json_t *rid = json_object_get(params, "requestId");
    struct inflight *inf;

    if (rid == NULL)
        return;
    pthread_mutex_lock(&ex->srv->mu);
    for (inf = ex->srv->inflight; inf != NULL; inf = inf->next)
        if (strcmp(inf->session, ex->session) == 0 && json_equal(inf->id, rid))
            atomic_store(&inf->cancelled, true);
    pthread_mutex_unlock(&ex->srv->mu);
}

/* ---- Which thread may run a request --------------------------------------------------------- */

static bool msg_quick(const struct wdn_mcp_server *srv, const json_t *m, bool session)
{
    const char *meth = json_string_value(json_object_get(m, "method"));
    json_t *params = json_object_get(m, "params");
    const char *name = json_string_value(json_object_get(params, "name"));
    const char *uri = json_string_value(json_object_get(params, "uri"));
    size_t i;

    /* Responses and notifications reach no handler; neither do the protocol's own methods. */
    if (meth == NULL || json_object_get(m, "id") == NULL)
        return true;
    /* A handler may wait for its client in a session (input rounds over SSE) or be cut loose
     * from its POST (SSE polling): those run where waiting is allowed. */
    if (strcmp(meth, "tools/call") == 0) {
        for (i = 0; name != NULL && i < srv->ntools; i++)
            if (strcmp(srv->tools[i].name, name) == 0)
                return srv->tools[i].quick && !session && srv->poll_ms == 0;
        return true; /* an unknown tool: an error, answered at once */
    }
    if (strcmp(meth, "prompts/get") == 0) {
        for (i = 0; name != NULL && i < srv->nprompts; i++)
            if (strcmp(srv->prompts[i].name, name) == 0)
                return srv->prompts[i].quick && !session;
        return true;
    }
    if (strcmp(meth, "resources/read") == 0) {
        for (i = 0; uri != NULL && i < srv->nresources; i++)
            if ((srv->resources[i].uri != NULL && strcmp(srv->resources[i].uri, uri) == 0) ||
                (srv->resources[i].tmpl != NULL && template_match(srv->resources[i].tmpl, uri)))
                return srv->resources[i].quick && !session;
        return true;
    }
    return strcmp(meth, "completion/complete") != 0; /* the completer may block */
}

bool wdn_mcp_server_is_quick(const struct wdn_mcp_server *srv,
                             const struct wdn_mcp_http_request *req)
{
    struct wdn_str sid;
    bool session;
    int count;
    size_t i;

    if (strcmp(req->method, "POST") != 0)
        return true; /* GET opens or resumes a stream, DELETE ends a session: no handler */
    if (req->parsed == NULL)
        return false;
    session = wdn__mcp_find_header(req, "Mcp-Session-Id", &sid, &count);
    if (!json_is_array(req->parsed))
        return msg_quick(srv, req->parsed, session);
    for (i = 0; i < json_array_size(req->parsed); i++)
        if (!msg_quick(srv, json_array_get(req->parsed, i), session))
            return false;
    return true;
}

/*
 * The methods. LEGACY: only in the initialize era (2026-07-28 removed them: 404, -32601).
 * CACHED: 2026-07-28 results carry caching hints. Every request passes through
 * wdn__mcp_dispatch, the one place to hook per-method work (tracing, metrics).
 */
enum { LEGACY = 1, CACHED = 2 };

typedef json_t *(*method_fn)(struct exchange *ex, json_t *params, json_t *id, struct rpc_err *e);

static const struct method {
    const char *name;
    method_fn fn;
    unsigned flags;
} methods[] = {
    {"initialize", m_initialize, LEGACY},
    {"server/discover", m_discover, CACHED},
    {"ping", m_ping, LEGACY},
    {"tools/list", m_tools_list, CACHED},
    {"tools/call", m_tools_call, 0},
    {"resources/list", m_resources_list, CACHED},
    {"resources/templates/list", m_templates_list, CACHED},
    {"resources/read", m_resources_read, CACHED},
    {"resources/subscribe", m_subscribe, LEGACY},
    {"resources/unsubscribe", m_unsubscribe, LEGACY},
    {"prompts/list", m_prompts_list, CACHED},
    {"prompts/get", m_prompts_get, 0},
    {"completion/complete", m_complete, 0},
    {"logging/setLevel", m_set_level, LEGACY},
    {"tasks/get", wdn__mcp_tasks_get, 0},
    {"tasks/update", wdn__mcp_tasks_update, 0},
    {"tasks/cancel", wdn__mcp_tasks_cancel, 0},
};

static const struct method *method_find(const char *name, bool modern)
{
    size_t i;

    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(methods[i].name, name) == 0)
            return modern && (methods[i].flags & LEGACY) ? NULL : &methods[i];
    return NULL;
}

json_t *wdn__mcp_dispatch(struct exchange *ex, const struct wdn_jsonrpc_msg *m, int *http_status)
{
    const struct method *meth = NULL;
    struct rpc_err e = {0, "", NULL};
    json_t *r = NULL;

    if (m->params != NULL && !json_is_object(m->params)) {
        /* MCP params are objects; positional params mean nothing here. */
        wdn__mcp_fail(&e, WDN_JSONRPC_INVALID_PARAMS, "Invalid params: expected an object");
    } else if ((meth = method_find(m->method, ex->modern)) == NULL) {
        wdn__mcp_fail(&e, WDN_JSONRPC_METHOD_NOT_FOUND, "Method not found: %.64s", m->method);
        /* 2026-07-28: an unknown method is 404 with -32601 in the body. */
        if (ex->modern)
            *http_status = 404;
    } else {
        struct wdn__mcp_span sp;
        wdn__mcp_span_begin(ex, m, &sp);
        r = meth->fn(ex, m->params, m->id, &e);
        wdn__mcp_span_end(ex, &sp, r, r ? 0 : e.code ? e.code : WDN_JSONRPC_INTERNAL_ERROR);
    }
    if (r != NULL) {
        /* 2026-07-28: every result names its type; "task" and "input_required" come set. */
        if (ex->modern && json_object_get(r, "resultType") == NULL)
            json_object_set_new(r, "resultType", json_string("complete"));
        /* Caching hints on complete lists and discovery (resources/read sets its own). The
         * default, private with no freshness, is the safe one: a sidecar may filter lists per
         * caller. */
        if (ex->modern && (meth->flags & CACHED) && json_object_get(r, "ttlMs") == NULL &&
            strcmp(json_string_value(json_object_get(r, "resultType")), "complete") == 0) {
            json_object_set_new(r, "ttlMs", json_integer(ex->srv->cache_ttl_ms));
            json_object_set_new(r, "cacheScope",
                                json_string(ex->srv->cache_public ? "public" : "private"));
        }
        return wdn_jsonrpc_make_result(m->id, r);
    }
    if (e.code == WDN_MCP_ERR_MISSING_CAPABILITY)
        *http_status = 400;
    if (e.code == 0)
        wdn__mcp_fail(&e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
    return wdn_jsonrpc_make_error(m->id, e.code, e.msg, e.data);
}
