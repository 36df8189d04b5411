/* JSON-RPC 2.0 codec on jansson: bounded parsing, message classification, message builders. */
#include "warden/mcp.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/json_scan.h"
#include "base/limits.h"
#include "base/str.h"
#include "mcp/jsonrpc_int.h"

static void fault_set(struct wdn_jsonrpc_fault *f, int code, json_t *id, const char *msg)
{
    if (f == NULL)
        return;
    f->code = code;
    f->id = id;
    snprintf(f->message, sizeof(f->message), "%s", msg);
}

/*
 * jansson recurses once per nesting level and its own cap (2048) is far above what any MCP
 * message needs, so wdn_jsonrpc_parse measures the nesting on the raw bytes first.
 */
int wdn_jsonrpc_parse(const char *buf, size_t len, json_t **out, struct wdn_jsonrpc_fault *fault)
{
    json_error_t jerr;
    json_t *root = NULL;
    int rc = WDN_EPARSE;

    *out = NULL;
    if (len > WDN_JSONRPC_MAX_BYTES) {
        fault_set(fault, WDN_JSONRPC_PARSE_ERROR, NULL, "Parse error: message too large");
        rc = WDN_ELIMIT;
        goto out;
    }
    if (!wdn_json_depth_ok(buf, len, WDN_JSON_MAX_DEPTH)) {
        fault_set(fault, WDN_JSONRPC_PARSE_ERROR, NULL, "Parse error: nesting too deep");
        rc = WDN_ELIMIT;
        goto out;
    }
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (root == NULL) {
        fault_set(fault, WDN_JSONRPC_PARSE_ERROR, NULL, "Parse error: invalid JSON");
        goto out;
    }
    if (!json_is_object(root) && !json_is_array(root)) {
        fault_set(fault, WDN_JSONRPC_INVALID_REQUEST, NULL,
                  "Invalid Request: expected a JSON object");
        json_decref(root);
        root = NULL;
        goto out;
    }
    *out = root;
    rc = 0;
out:
    return rc;
}

static bool id_valid(const json_t *id)
{
    return json_is_string(id) || json_is_integer(id);
}

int wdn_jsonrpc_classify(json_t *obj, struct wdn_jsonrpc_msg *msg, struct wdn_jsonrpc_fault *fault)
{
    json_t *ver, *id, *method, *params, *result, *error;
    json_t *readable_id;
    int rc = WDN_EPROTO;

    memset(msg, 0, sizeof(*msg));
    if (!json_is_object(obj)) {
        fault_set(fault, WDN_JSONRPC_INVALID_REQUEST, NULL, "Invalid Request: not an object");
        goto out;
    }
    ver = json_object_get(obj, "jsonrpc");
    id = json_object_get(obj, "id");
    method = json_object_get(obj, "method");
    params = json_object_get(obj, "params");
    result = json_object_get(obj, "result");
    error = json_object_get(obj, "error");
    /* The id goes back in the error response only when it has a legal type. */
    readable_id = id_valid(id) ? id : NULL;

    if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0) {
        fault_set(fault, WDN_JSONRPC_INVALID_REQUEST, readable_id,
                  "Invalid Request: jsonrpc must be \"2.0\"");
        goto out;
    }
    if (method != NULL) {
        if (!json_is_string(method) || json_string_length(method) == 0) {
            fault_set(fault, WDN_JSONRPC_INVALID_REQUEST, readable_id,
                      "Invalid Request: method must be a non-empty string");
            goto out;
        }
        if (result != NULL || error != NULL) {
            fault_set(fault, WDN_JSONRPC_INVALID_REQUEST, readable_id,
                      "Invalid Request: a request cannot carry result or error");
            goto out;
        }
        if (params != NULL && !json_is_object(params) && !json_is_array(params)) {
            fault_set(fault, WDN_JSONRPC_INVALID_REQUEST, readable_id,
                      "Invalid Request: params must be an object or an array");
            goto out;
        }
        if (id != NULL && !id_valid(id)) {
            /* MCP forbids null ids; other types are invalid in JSON-RPC itself. */
            fault_set(fault, WDN_JSONRPC_INVALID_REQUEST, NULL,
                      "Invalid Request: id must be a string or an integer");
            goto out;
        }
        msg->kind = id != NULL ? WDN_JSONRPC_REQUEST : WDN_JSONRPC_NOTIFICATION;
        msg->id = id;
        msg->method = json_string_value(method);
        msg->params = params;
        rc = 0;
        goto out;
    }
    if ((result != NULL) == (error != NULL)) {
        fault_set(fault, WDN_JSONRPC_INVALID_REQUEST, readable_id,
                  "Invalid Request: expected method, result or error");
        goto out;
    }
    if (result != NULL) {
        if (!id_valid(id)) {
            fault_set(fault, WDN_JSONRPC_INVALID_REQUEST, NULL,
                      "Invalid Request: response id must be a string or an integer");
            goto out;
        }
        msg->kind = WDN_JSONRPC_RESULT;
        msg->id = id;
        msg->result = result;
        rc = 0;
        goto out;
    }
    if (!json_is_object(error) || !json_is_integer(json_object_get(error, "code")) ||
        !json_is_string(json_object_get(error, "message"))) {
        fault_set(fault, WDN_JSONRPC_INVALID_REQUEST, readable_id,
                  "Invalid Request: error must have an integer code and a message");
        goto out;
    }
    if (id != NULL && !json_is_null(id) && !id_valid(id)) {
        fault_set(fault, WDN_JSONRPC_INVALID_REQUEST, NULL,
                  "Invalid Request: bad id in error response");
        goto out;
    }
    msg->kind = WDN_JSONRPC_ERROR;
    msg->id = id;
    msg->error = error;
    rc = 0;
out:
    return rc;
}

json_t *wdn_jsonrpc_make_result(json_t *id, json_t *result)
{
    json_t *m;

    if (result == NULL)
        return NULL;
    m = json_object();
    if (m == NULL) {
        json_decref(result);
        return NULL;
    }
    if (json_object_set_new(m, "jsonrpc", json_string("2.0")) != 0 ||
        json_object_set(m, "id", id != NULL ? id : json_null()) != 0) {
        json_decref(result);
        json_decref(m);
        return NULL;
    }
    /* json_object_set_new consumes result even when it fails. */
    if (json_object_set_new(m, "result", result) != 0) {
        json_decref(m);
        return NULL;
    }
    return m;
}

json_t *wdn_jsonrpc_make_error(json_t *id, int code, const char *message, json_t *data)
{
    json_t *m = json_object();
    json_t *e = json_object();

    if (m == NULL || e == NULL || json_object_set_new(e, "code", json_integer(code)) != 0 ||
        json_object_set_new(e, "message", json_string(message ? message : "")) != 0 ||
        (data != NULL && json_object_set(e, "data", data) != 0) ||
        json_object_set_new(m, "jsonrpc", json_string("2.0")) != 0 ||
        json_object_set(m, "id", id != NULL ? id : json_null()) != 0 ||
        json_object_set(m, "error", e) != 0) {
        json_decref(m);
        json_decref(e);
        json_decref(data);
        return NULL;
    }
    json_decref(e);
    json_decref(data);
    return m;
}

json_t *wdn_jsonrpc_make_request(json_t *id, const char *method, json_t *params)
{
    json_t *m = json_object();

    if (m == NULL || json_object_set_new(m, "jsonrpc", json_string("2.0")) != 0 ||
        (id != NULL && json_object_set(m, "id", id) != 0) ||
        json_object_set_new(m, "method", json_string(method)) != 0 ||
        (params != NULL && json_object_set(m, "params", params) != 0)) {
        json_decref(m);
        json_decref(params);
        return NULL;
    }
    json_decref(params);
    return m;
}

static const char *const versions[] = {WDN_MCP_V2026_07_28, WDN_MCP_V2025_11_25,
                                       WDN_MCP_V2025_06_18, WDN_MCP_V2025_03_26};

bool wdn_mcp_version_supported(const char *v)
{
    size_t i;

    if (v == NULL)
        return false;
    for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
        if (strcmp(v, versions[i]) == 0)
            return true;
    return false;
}

bool wdn_mcp_version_is_modern(const char *v)
{
    return v != NULL && strcmp(v, WDN_MCP_V2026_07_28) == 0;
}

/* ---- Writing ------------------------------------------------------------------------------ */

static int write_value(struct wdn_buf *b, const json_t *v, int depth)
{
    char num[32], *end;
    bool first = true;
    void *it;
    int rc;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (depth >= WDN_MCP_ANSWER_MAX_DEPTH)
            return WDN_ELIMIT;
        if ((rc = wdn_buf_append(b, "{", 1)) != 0)
            return rc;
        for (it = json_object_iter((json_t *)v); it != NULL;
             it = json_object_iter_next((json_t *)v, it)) {
            struct wdn_str k = {json_object_iter_key(it), json_object_iter_key_len(it)};
            if ((!first && (rc = wdn_buf_append(b, ",", 1)) != 0) ||
                (rc = wdn_buf_append_json_str(b, k)) != 0 ||
                (rc = wdn_buf_append(b, ":", 1)) != 0 ||
                (rc = write_value(b, json_object_iter_value(it), depth + 1)) != 0)
                return rc;
            first = false;
        }
        return wdn_buf_append(b, "}", 1);
    case JSON_ARRAY:
        if (depth >= WDN_MCP_ANSWER_MAX_DEPTH)
            return WDN_ELIMIT;
        if ((rc = wdn_buf_append(b, "[", 1)) != 0)
            return rc;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if ((i > 0 && (rc = wdn_buf_append(b, ",", 1)) != 0) ||
                (rc = write_value(b, json_array_get(v, i), depth + 1)) != 0)
                return rc;
        }
        return wdn_buf_append(b, "]", 1);
    case JSON_STRING:
        return wdn_buf_append_json_str(
            b, (struct wdn_str){json_string_value(v), json_string_length(v)});
    case JSON_INTEGER: {
        json_int_t x = json_integer_value(v);
        end = num;
        if (x < 0)
            *end++ = '-';
        end = wdn_u64_write(end, x < 0 ? 0 - (uint64_t)x : (uint64_t)x);
        return wdn_buf_append(b, num, (size_t)(end - num));
    }
    case JSON_REAL: {
        /* jansson's own shortest form (precision 17, ".0" added, exponent trimmed). */
        size_t n = json_dumpb(v, num, sizeof(num), JSON_ENCODE_ANY | JSON_COMPACT);
        if (n == 0 || n > sizeof(num))
            return WDN_ENOMEM;
        return wdn_buf_append(b, num, n);
    }
    case JSON_TRUE:
        return wdn_buf_append(b, "true", 4);
    case JSON_FALSE:
        return wdn_buf_append(b, "false", 5);
    default:
        return wdn_buf_append(b, "null", 4);
    }
}

int wdn__mcp_json_write(struct wdn_buf *b, const json_t *v)
{
    return write_value(b, v, 0);
}
