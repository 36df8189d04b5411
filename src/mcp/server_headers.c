/* The header checks of Streamable HTTP: Accept, Host and Origin (DNS rebinding), the endpoint
 * path, and the 2026-07-28 request headers that must mirror the body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/limits.h"
#include "base/str.h"
#include "base/base64.h"
#include "mcp/server_int.h"

static const char *const loopback_hosts[] = {"localhost", "127.0.0.1", "[::1]", NULL};

/* ---------------------------------------------------------------------------------------- */
/* Header helpers                                                                             */

/* Finds a header; *count tells how many times it appeared (duplicates are refused). */
bool wdn__mcp_find_header(const struct wdn_mcp_http_request *req, const char *name,
                          struct wdn_str *val, int *count)
{
    size_t i;
    struct wdn_str want = wdn_str_from_cstr(name);

    *count = 0;
    for (i = 0; i < req->nheaders; i++) {
        struct wdn_str n = {req->headers[i].name, req->headers[i].name_len};
        if (wdn_str_eq_case(n, want)) {
            if (*count == 0)
                *val = wdn_str_trim_ows(
                    (struct wdn_str){req->headers[i].value, req->headers[i].value_len});
            (*count)++;
        }
    }
    return *count > 0;
}

/* Does the Accept header admit type/subtype (wildcards honoured, q=0 excluded)? */
bool wdn__mcp_accepts(struct wdn_str accept, const char *type, const char *subtype)
{
    size_t i = 0;

    while (i <= accept.len) {
        size_t start = i, end;
        struct wdn_str item, mt;
        long semi;
        while (i < accept.len && accept.p[i] != ',')
            i++;
        end = i++;
        item = wdn_str_trim_ows((struct wdn_str){accept.p + start, end - start});
        semi = wdn_str_index(item, ';');
        mt = wdn_str_trim_ows((struct wdn_str){item.p, semi >= 0 ? (size_t)semi : item.len});
        if (semi >= 0) {
            /* A q of zero means "not acceptable". */
            struct wdn_str params = {item.p + semi, item.len - (size_t)semi};
            char tmp[64];
            size_t k, m = 0;
            for (k = 0; k < params.len && m + 1 < sizeof(tmp); k++)
                if (params.p[k] != ' ' && params.p[k] != '\t')
                    tmp[m++] = params.p[k];
            tmp[m] = '\0';
            if (strstr(tmp, ";q=0") != NULL && strstr(tmp, ";q=0.") == NULL)
                continue;
            if (strstr(tmp, ";q=0.0") != NULL &&
                strspn(strstr(tmp, ";q=0.") + 5, "0") == strlen(strstr(tmp, ";q=0.") + 5))
                continue;
        }
        long slash = wdn_str_index(mt, '/');
        if (slash < 0)
            continue;
        struct wdn_str t = {mt.p, (size_t)slash};
        struct wdn_str st = {mt.p + slash + 1, mt.len - (size_t)slash - 1};
        if (wdn_str_eq_cstr(t, "*") && wdn_str_eq_cstr(st, "*"))
            return true;
        if (wdn_str_eq_case_cstr(t, type) &&
            (wdn_str_eq_cstr(st, "*") || wdn_str_eq_case_cstr(st, subtype)))
            return true;
    }
    return false;
}

/* The host part of an authority: "[::1]:80" -> "[::1]", "Example.com:8080" -> "Example.com". */
struct wdn_str wdn__mcp_authority_host(struct wdn_str a)
{
    size_t i;

    if (a.len > 0 && a.p[0] == '[') {
        for (i = 0; i < a.len; i++)
            if (a.p[i] == ']')
                return (struct wdn_str){a.p, i + 1};
        return (struct wdn_str){NULL, 0};
    }
    for (i = 0; i < a.len; i++)
        if (a.p[i] == ':')
            break;
    return (struct wdn_str){a.p, i};
}

bool wdn__mcp_authority_port_ok(struct wdn_str a, struct wdn_str host)
{
    struct wdn_str rest = {a.p + host.len, a.len - host.len};
    uint64_t port;

    if (rest.len == 0)
        return true;
    if (rest.p[0] != ':')
        return false;
    rest.p++;
    rest.len--;
    return wdn_str_to_u64(rest, 65535, &port) == 0;
}

bool wdn__mcp_host_allowed(const struct wdn_mcp_server *srv, struct wdn_str host, bool for_origin)
{
    const char *const *list = (const char *const *)srv->hosts;
    size_t i;

    if (host.len == 0)
        return false;
    if (list == NULL || (srv->any_host && for_origin))
        list = loopback_hosts;
    else if (srv->any_host)
        return true;
    for (i = 0; list[i] != NULL; i++)
        if (wdn_str_eq_case_cstr(host, list[i]))
            return true;
    return false;
}

bool wdn__mcp_origin_allowed(const struct wdn_mcp_server *srv, struct wdn_str origin)
{
    struct wdn_str auth, host;
    size_t i;

    if (srv->origins != NULL) {
        for (i = 0; srv->origins[i] != NULL; i++)
            if (wdn_str_eq_case_cstr(origin, srv->origins[i]))
                return true;
        return false;
    }
    if (wdn_str_has_prefix(origin, WDN_STR("http://")))
        auth = (struct wdn_str){origin.p + 7, origin.len - 7};
    else if (wdn_str_has_prefix(origin, WDN_STR("https://")))
        auth = (struct wdn_str){origin.p + 8, origin.len - 8};
    else
        return false; /* "null" and every other scheme */
    host = wdn__mcp_authority_host(auth);
    return host.p != NULL && wdn__mcp_authority_port_ok(auth, host) &&
           wdn__mcp_host_allowed(srv, host, true);
}

/* ---------------------------------------------------------------------------------------- */
/* The HTTP rules                                                                             */

bool wdn__mcp_path_matches(const struct wdn_mcp_server *srv, const char *target)
{
    size_t n;

    if (srv->path == NULL)
        return true;
    n = strcspn(target, "?#");
    return n == strlen(srv->path) && strncmp(target, srv->path, n) == 0;
}

/* 2026-07-28: Mcp-Method, Mcp-Name and the _meta protocol version must mirror the body.
 * Returns 0, -1 for a header mismatch (-32020), 1 for missing _meta fields (-32602). */
int wdn__mcp_check_modern_headers(struct exchange *ex, const struct wdn_mcp_http_request *req,
                                  const struct wdn_jsonrpc_msg *m, char *why, size_t cap)
{
    struct wdn_str hm = {0}, hn = {0};
    int cm, cn;
    const char *name = NULL;
    json_t *meta;
    const char *pv;

    if (!wdn__mcp_find_header(req, "Mcp-Method", &hm, &cm) || cm != 1) {
        snprintf(why, cap, "Header mismatch: Mcp-Method header is required");
        return -1;
    }
    if (!wdn_str_eq_cstr(hm, m->method)) {
        snprintf(why, cap, "Header mismatch: Mcp-Method does not match the body method");
        return -1;
    }
    if (strcmp(m->method, "tools/call") == 0 || strcmp(m->method, "prompts/get") == 0)
        name = json_string_value(json_object_get(m->params, "name"));
    else if (strcmp(m->method, "resources/read") == 0)
        name = json_string_value(json_object_get(m->params, "uri"));
    else if (strcmp(m->method, "tasks/get") == 0 || strcmp(m->method, "tasks/update") == 0 ||
             strcmp(m->method, "tasks/cancel") == 0)
        name = json_string_value(json_object_get(m->params, "taskId")); /* SEP-2663 routing */
    if (name != NULL) {
        if (!wdn__mcp_find_header(req, "Mcp-Name", &hn, &cn) || cn != 1) {
            snprintf(why, cap, "Header mismatch: Mcp-Name header is required");
            return -1;
        }
        if (!wdn_str_eq_cstr(hn, name)) {
            snprintf(why, cap, "Header mismatch: Mcp-Name does not match the body");
            return -1;
        }
    }
    if (m->kind == WDN_JSONRPC_REQUEST) {
        /* Every request carries its version, identity and capabilities in _meta. */
        meta = json_object_get(m->params, "_meta");
        pv = json_string_value(json_object_get(meta, "io.modelcontextprotocol/protocolVersion"));
        if (!json_is_object(meta) || pv == NULL ||
            !json_is_object(json_object_get(meta, "io.modelcontextprotocol/clientCapabilities"))) {
            snprintf(why, cap,
                     "Invalid params: _meta must carry io.modelcontextprotocol/"
                     "protocolVersion and io.modelcontextprotocol/clientCapabilities");
            return 1;
        }
        if (strcmp(pv, ex->version) != 0) {
            snprintf(why, cap,
                     "Header mismatch: MCP-Protocol-Version does not match _meta protocolVersion");
            return -1;
        }
    }
    return 0;
}

/*
 * 2026-07-28 x-mcp-header: every annotated argument present in the body must arrive in its
 * Mcp-Param-<name> header too, literally or as =?base64?...?=, with the same value. 0 or -1
 * (HeaderMismatch, with the reason in why).
 */
int wdn__mcp_check_param_headers(struct exchange *ex, const struct wdn_mcp_http_request *req,
                                 const struct wdn_jsonrpc_msg *m, char *why, size_t cap)
{
    const char *name = json_string_value(json_object_get(m->params, "name"));
    json_t *args = json_object_get(m->params, "arguments"), *xh, *val, *seg;
    unsigned char dec[WDN_MCP_MAX_HEADER_VALUE];
    char hname[80], want[64];
    struct tool *t = NULL;
    size_t i, k;

    if (strcmp(m->method, "tools/call") != 0 || name == NULL)
        return 0;
    for (i = 0; i < ex->srv->ntools && t == NULL; i++)
        if (strcmp(ex->srv->tools[i].name, name) == 0)
            t = &ex->srv->tools[i];
    if (t == NULL)
        return 0;
    json_array_foreach (t->xheaders, i, xh) {
        struct wdn_str hv = {0};
        const char *got;
        size_t got_len;
        int count;

        val = args;
        json_array_foreach (json_object_get(xh, "p"), k, seg) {
            val = json_object_get(val, json_string_value(seg));
        }
        if (val == NULL || json_is_null(val))
            continue; /* no value, no header expected */
        snprintf(hname, sizeof(hname), "Mcp-Param-%s", json_string_value(json_object_get(xh, "h")));
        if (!wdn__mcp_find_header(req, hname, &hv, &count) || count != 1) {
            snprintf(why, cap, "Header mismatch: %s header is required", hname);
            return -1;
        }
        got = hv.p;
        got_len = hv.len;
        if (hv.len >= 11 && strncmp(hv.p, "=?base64?", 9) == 0 &&
            strncmp(hv.p + hv.len - 2, "?=", 2) == 0) {
            size_t n;
            if (wdn_b64std_decode((struct wdn_str){hv.p + 9, hv.len - 11}, dec, sizeof(dec), &n) !=
                0) {
                snprintf(why, cap, "Header mismatch: %s is not valid base64", hname);
                return -1;
            }
            got = (const char *)dec;
            got_len = n;
        }
        if (json_is_string(val)) {
            if (got_len != json_string_length(val) ||
                memcmp(got, json_string_value(val), got_len) != 0)
                goto mismatch;
        } else if (json_is_boolean(val)) {
            const char *b = json_is_true(val) ? "true" : "false";
            if (got_len != strlen(b) || memcmp(got, b, got_len) != 0)
                goto mismatch;
        } else if (json_is_number(val)) {
            /* Numerically, so "42.0" matches 42. */
            char *end;
            double d;
            if (got_len == 0 || got_len >= sizeof(want))
                goto mismatch;
            memcpy(want, got, got_len);
            want[got_len] = '\0';
            d = strtod(want, &end);
            if (*end != '\0' || d != json_number_value(val))
                goto mismatch;
        } else {
            goto mismatch;
        }
    }
    return 0;
mismatch:
    snprintf(why, cap, "Header mismatch: %s does not match the body", hname);
    return -1;
}

/* 2026-07-28: the log level travels with each request; without it, no log messages. */
int wdn__mcp_modern_log_level(const struct wdn_jsonrpc_msg *m)
{
    const char *lvl = json_string_value(
        json_object_get(json_object_get(m->params, "_meta"), "io.modelcontextprotocol/logLevel"));
    int i;

    for (i = 0; lvl != NULL && i < 8; i++)
        if (strcmp(lvl, wdn__mcp_log_levels[i]) == 0)
            return i;
    return -2;
}
