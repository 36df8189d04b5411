/* What the server asks of the MCP client: requests on an SSE stream (initialize era) and the
 * inputRequests of an input_required result (2026-07-28, SEP-2322), both answered through the
 * application's request handler; ping is answered here. An accepted elicitation gets the
 * defaults of its requested schema for the fields the user left out (SEP-1034) when the client
 * declared elicitation.applyDefaults. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "mcp/client_int.h"

/* SEP-1034: fills the omitted fields of an accepted elicitation with their schema defaults. */
static void apply_defaults(struct wdn_mcp_client *c, json_t *params, json_t *result)
{
    json_t *elicit = json_object_get(c->capabilities, "elicitation");
    json_t *props, *content, *prop, *def;
    const char *key;

    if (!json_is_true(json_object_get(elicit, "applyDefaults")))
        return;
    if (!json_is_string(json_object_get(result, "action")) ||
        strcmp(json_string_value(json_object_get(result, "action")), "accept") != 0)
        return;
    props = json_object_get(json_object_get(params, "requestedSchema"), "properties");
    if (!json_is_object(props))
        return;
    content = json_object_get(result, "content");
    if (content == NULL) {
        content = json_object();
        if (json_object_set_new(result, "content", content) != 0)
            return;
    }
    if (!json_is_object(content))
        return;
    json_object_foreach (props, key, prop) {
        def = json_object_get(prop, "default");
        if (def != NULL && json_object_get(content, key) == NULL)
            json_object_set(content, key, def);
    }
}

/* Runs the handler for one server request: 0 and a new *result, or a JSON-RPC error code and
 * a message. */
static long handle(struct wdn_mcp_client *c, const char *method, json_t *params, json_t **result,
                   char *msg, size_t cap)
{
    int rc;

    *result = NULL;
    if (strcmp(method, "ping") == 0) {
        *result = json_object();
        return *result != NULL ? 0 : WDN_JSONRPC_INTERNAL_ERROR;
    }
    if (c->on_request == NULL) {
        snprintf(msg, cap, "Method not supported by this client");
        return WDN_JSONRPC_METHOD_NOT_FOUND;
    }
    msg[0] = '\0';
    rc = c->on_request(c->request_ud, method, params, result, msg, cap);
    if (rc == WDN_ENOTFOUND) {
        json_decref(*result);
        *result = NULL;
        if (msg[0] == '\0')
            snprintf(msg, cap, "Method not supported by this client");
        return WDN_JSONRPC_METHOD_NOT_FOUND;
    }
    if (rc != 0 || !json_is_object(*result)) {
        json_decref(*result);
        *result = NULL;
        if (msg[0] == '\0')
            snprintf(msg, cap, "%s", rc != 0 ? wdn_strerror(rc) : "handler returned no result");
        return WDN_JSONRPC_INTERNAL_ERROR;
    }
    if (strcmp(method, "elicitation/create") == 0)
        apply_defaults(c, params, *result);
    return 0;
}

json_t *wdn__mcp_answer(struct wdn_mcp_client *c, json_t *id, const char *method, json_t *params)
{
    json_t *result = NULL;
    char msg[200];
    long code = handle(c, method, params, &result, msg, sizeof(msg));

    if (code == 0)
        return wdn_jsonrpc_make_result(id, result);
    return wdn_jsonrpc_make_error(id, (int)code, msg, NULL);
}

int wdn__mcp_input_responses(struct wdn_mcp_client *c, json_t *input_requests, json_t **responses,
                             struct wdn_mcp_error *err)
{
    json_t *out = json_object(), *req, *result;
    const char *key, *method;
    char msg[200];
    long code;

    *responses = NULL;
    if (out == NULL)
        return WDN_ENOMEM;
    if (!json_is_object(input_requests)) {
        json_decref(out);
        wdn__mcp_err_set(err, WDN_EPROTO, 0, 0, "input_required result without inputRequests");
        return WDN_EPROTO;
    }
    json_object_foreach (input_requests, key, req) {
        method = json_string_value(json_object_get(req, "method"));
        if (method == NULL) {
            json_decref(out);
            wdn__mcp_err_set(err, WDN_EPROTO, 0, 0, "input request '%.64s' has no method", key);
            return WDN_EPROTO;
        }
        code = handle(c, method, json_object_get(req, "params"), &result, msg, sizeof(msg));
        if (code != 0) {
            json_decref(out);
            wdn__mcp_err_set(err, WDN_EUNSUPPORTED, 0, code,
                             "the server needs input this client cannot give (%.64s): %s", method,
                             msg);
            return WDN_EUNSUPPORTED;
        }
        json_object_set_new(out, key, result);
    }
    *responses = out;
    return 0;
}
