/* A client-credentials MCP client for the MCP conformance suite's client mode
 * (`conformance client --command "conformance-client" --scenario auth/client-credentials-basic`),
 * built only on warden's libraries: an unauthenticated probe of the MCP endpoint, RFC 9728 /
 * RFC 8414 discovery from the 401's WWW-Authenticate (src/oauth2/discovery.h), the client
 * credentials grant with client_secret_basic and the discovered `resource`
 * (src/oauth2/client.h), then initialize and tools/list with the token (the C MCP client,
 * include/warden/mcp.h). The suite appends the server URL to the command and passes
 * {"client_id","client_secret"} in MCP_CONFORMANCE_CONTEXT. Exit 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/limits.h"
#include "http/fetch.h"
#include "oauth2/client.h"
#include "oauth2/discovery.h"
#include "warden/mcp.h"

static int token_cb(void *ud, char *buf, size_t cap)
{
    return wdn_oauth2_client_token(ud, buf, cap, NULL);
}

int main(int argc, char **argv)
{
    static const char init_body[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
        "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
        "\"clientInfo\":{\"name\":\"warden-conformance\",\"version\":\"0\"}}}";
    const char *const headers[] = {"Content-Type: application/json",
                                   "Accept: application/json, text/event-stream", NULL};
    const char *url = argc > 1 ? argv[argc - 1] : NULL, *ctx_s = getenv("MCP_CONFORMANCE_CONTEXT");
    struct wdn_fetch_response probe = {0};
    struct wdn_oauth2_discovered disc = {0};
    struct wdn_oauth2_client *oc = NULL;
    struct wdn_mcp_client *mc = NULL;
    struct wdn_mcp_error merr = {0};
    struct wdn_diag d = {0};
    json_t *ctx = NULL, *tools = NULL;
    int rc = 1;

    ctx = ctx_s ? json_loads(ctx_s, 0, NULL) : NULL;
    const char *id = json_string_value(json_object_get(ctx, "client_id"));
    const char *secret = json_string_value(json_object_get(ctx, "client_secret"));
    if (url == NULL || id == NULL || secret == NULL) {
        fprintf(stderr, "usage: MCP_CONFORMANCE_CONTEXT='{\"client_id\":..,\"client_secret\":..}' "
                        "conformance-client <mcp-url>\n");
        goto out;
    }
    struct wdn_fetch_request req = {.method = "POST", .url = url, .headers = headers,
                                    .body = init_body, .body_len = sizeof(init_body) - 1};
    if (wdn_fetch(&req, &probe, &d) != 0) {
        fprintf(stderr, "probe: %s\n", d.msg);
        goto out;
    }
    fprintf(stderr, "probe: HTTP %ld, WWW-Authenticate: %s\n", probe.status,
            probe.www_authenticate);
    if (wdn_oauth2_discover(url, probe.status == 401 ? probe.www_authenticate : NULL, NULL,
                            &disc, &d) != 0) {
        fprintf(stderr, "discovery: %s\n", d.msg);
        goto out;
    }
    fprintf(stderr, "discovered: issuer %s, token endpoint %s, resource %s\n", disc.issuer,
            disc.token_endpoint, disc.resource);
    struct wdn_oauth2_config oc_cfg = {
        .token_url = disc.token_endpoint, .client_id = id, .client_secret = secret,
        .resource = disc.resource,
        .auth = disc.supports_basic || !disc.supports_post ? WDN_OAUTH2_AUTH_BASIC
                                                            : WDN_OAUTH2_AUTH_POST};
    oc = wdn_oauth2_client_new(&oc_cfg, &d);
    if (oc == NULL) {
        fprintf(stderr, "oauth2 client: %s\n", d.msg);
        goto out;
    }
    struct wdn_mcp_client_config mc_cfg = {.url = url, .client_name = "warden-conformance",
                                           .token_fn = token_cb, .token_ud = oc};
    mc = wdn_mcp_client_new(&mc_cfg, &merr);
    if (mc == NULL || wdn_mcp_client_connect(mc, &merr) != 0 ||
        wdn_mcp_client_list_tools(mc, &tools, &merr) != 0) {
        fprintf(stderr, "mcp: HTTP %ld: %s\n", merr.http_status, merr.message);
        goto out;
    }
    fprintf(stderr, "connected with a token; %zu tools\n", json_array_size(tools));
    rc = 0;
out:
    json_decref(tools);
    wdn_mcp_client_free(mc);
    wdn_oauth2_client_free(oc);
    wdn_oauth2_discovered_reset(&disc);
    wdn_fetch_response_reset(&probe);
    json_decref(ctx);
    return rc;
}
