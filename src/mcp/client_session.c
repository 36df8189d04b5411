/* The MCP client's lifecycle: initialize + notifications/initialized for the session era
 * (2025-03-26 .. 2025-11-25), server/discover for 2026-07-28 with its per-request metadata, the
 * retry a server's UnsupportedProtocolVersion asks for, and the fallback to older servers. */
#include <pthread.h>
#include <string.h>

#include "base/error.h"
#include "mcp/client_int.h"

json_t *wdn__mcp_meta(json_t *params)
{
    json_t *meta;

    if (!json_is_object(params))
        return NULL; /* positional params have no _meta */
    meta = json_object_get(params, "_meta");
    if (json_is_object(meta))
        return meta;
    meta = json_object();
    if (json_object_set_new(params, "_meta", meta) != 0)
        return NULL; /* set_new released meta */
    return meta;
}

json_t *wdn__mcp_with_meta(struct wdn_mcp_client *c, json_t *params)
{
    json_t *meta;

    if (!c->modern)
        return params;
    if (params == NULL && (params = json_object()) == NULL)
        return NULL;
    if ((meta = wdn__mcp_meta(params)) == NULL)
        return params;
    json_object_set_new(meta, "io.modelcontextprotocol/protocolVersion",
                        json_string(c->version != NULL ? c->version : WDN_MCP_V2026_07_28));
    json_object_set_new(meta, "io.modelcontextprotocol/clientInfo",
                        json_pack("{s:s, s:s}", "name", c->name, "version", c->cversion));
    json_object_set(meta, "io.modelcontextprotocol/clientCapabilities", c->capabilities);
    return params;
}

static int connect_legacy(struct wdn_mcp_client *c, const char *want, struct wdn_mcp_error *err)
{
    json_t *params, *result = NULL;
    const char *got;
    int rc;

    wdn__mcp_listen_stop(c);
    c->modern = false;
    c->version = NULL;
    pthread_mutex_lock(&c->lock);
    c->session[0] = '\0';
    pthread_mutex_unlock(&c->lock);
    params = json_pack("{s:s, s:O, s:{s:s, s:s}}", "protocolVersion", want, "capabilities",
                       c->capabilities, "clientInfo", "name", c->name, "version", c->cversion);
    rc = wdn__mcp_request(c, "initialize", params, &result, NULL, err);
    if (rc != 0)
        goto out;
    got = wdn__mcp_static_version(json_string_value(json_object_get(result, "protocolVersion")));
    if (got == NULL || wdn_mcp_version_is_modern(got)) {
        rc = WDN_EUNSUPPORTED;
        wdn__mcp_err_set(err, rc, 0, 0,
                         "server chose a protocol version this client does not speak");
        goto out;
    }
    c->version = got;
    json_decref(c->server_info);
    c->server_info = json_incref(result);
    rc = wdn_mcp_client_notify(c, "notifications/initialized", NULL, err);
    if (rc == 0)
        wdn__mcp_listen_start(c);
out:
    json_decref(result);
    return rc;
}

/* The newest version of the list (an UnsupportedProtocolVersion error's data.supported) that
 * this client speaks, preferring modern ones; NULL when none. */
static const char *pick_supported(json_t *list, bool modern)
{
    static const char *const order[] = {WDN_MCP_V2026_07_28, WDN_MCP_V2025_11_25,
                                        WDN_MCP_V2025_06_18, WDN_MCP_V2025_03_26};
    size_t i, j;

    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (wdn_mcp_version_is_modern(order[i]) != modern)
            continue;
        for (j = 0; j < json_array_size(list); j++) {
            const char *v = json_string_value(json_array_get(list, j));
            if (v != NULL && strcmp(v, order[i]) == 0)
                return order[i];
        }
    }
    return NULL;
}

static bool is_transport_failure(int rc)
{
    return rc == WDN_EAUTH || rc == WDN_EDENIED || rc == WDN_ECONNREFUSED || rc == WDN_ETIMEOUT ||
           rc == WDN_EDNS || rc == WDN_ETLS || rc == WDN_ECANCELED || rc == WDN_ECONNRESET;
}

int wdn_mcp_client_connect(struct wdn_mcp_client *c, struct wdn_mcp_error *err)
{
    json_t *resp = NULL, *result, *sv, *e;
    const char *legacy = WDN_MCP_LATEST_LEGACY;
    long status = 0;
    int rc, round;
    size_t i;

    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (!wdn_mcp_version_is_modern(c->want_version))
        return connect_legacy(c, c->want_version, err);
    c->modern = true;
    c->version = wdn__mcp_static_version(c->want_version);
    for (round = 0; round < 2; round++) {
        rc = wdn__mcp_request_once(c, "server/discover", NULL, &resp, &status, err);
        e = json_object_get(resp, "error");
        if (rc == 0 && json_is_object(result = json_object_get(resp, "result"))) {
            sv = json_object_get(result, "supportedVersions");
            for (i = 0; i < json_array_size(sv); i++)
                if (wdn_mcp_version_is_modern(json_string_value(json_array_get(sv, i)))) {
                    json_decref(c->server_info);
                    c->server_info = json_incref(result);
                    json_decref(resp);
                    return 0;
                }
            legacy = pick_supported(sv, false) != NULL ? pick_supported(sv, false) : legacy;
            break;
        }
        if (json_integer_value(json_object_get(e, "code")) == WDN_MCP_ERR_UNSUPPORTED_VERSION) {
            /* SEP-2575: the server names what it speaks; retry once with the best of them. */
            json_t *supported = json_object_get(json_object_get(e, "data"), "supported");
            const char *v = pick_supported(supported, true);
            if (v != NULL && round == 0) {
                c->version = v;
                json_decref(resp);
                resp = NULL;
                continue;
            }
            if (pick_supported(supported, false) != NULL)
                legacy = pick_supported(supported, false);
            break;
        }
        if (rc != 0 && is_transport_failure(rc)) {
            json_decref(resp);
            c->modern = false;
            c->version = NULL;
            return rc;
        }
        break;
    }
    json_decref(resp);
    /* A server of the initialize era (or one without 2026-07-28): fall back, as the spec's
     * backward-compatibility section describes. */
    return connect_legacy(c, legacy, err);
}
