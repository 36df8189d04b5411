/* The tutorial's MCP client app in C: POST /run lists the tools of the MCP server (through the
 * sidecar), calls add and get_weather_alert, and answers with the tutorial's JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "warden/mcp_auth.h"

struct run {
    int status;
    json_t *doc;
};

/* The MCP endpoint: through the sidecar, or MCP_SERVER_URL (not in the tutorial) directly. */
static void mcp_url(char *url, size_t cap)
{
    const char *endpoint = app_env("DAPR_HTTP_ENDPOINT", NULL);
    char port_url[64];

    if (endpoint == NULL) {
        snprintf(port_url, sizeof(port_url), "http://127.0.0.1:%s",
                 app_env("DAPR_HTTP_PORT", "3500"));
        endpoint = port_url;
    }
    if (app_env("MCP_SERVER_URL", NULL) != NULL)
        snprintf(url, cap, "%s", app_env("MCP_SERVER_URL", NULL));
    else
        snprintf(url, cap, "%s/v1.0/invoke/mcp-server/method/mcp", endpoint);
}

/*
 * Tokens. MCP_BEARER_TOKEN gives a static token. Otherwise, when AUTH0_DOMAIN, AUTH0_CLIENT_ID,
 * AUTH0_CLIENT_SECRET and AUTH0_AUDIENCE are set (or the generic OAUTH2_* set), the SDK's OAuth
 * client (warden/mcp_auth.h) gets a token with the client credentials grant, as the tutorial's
 * client does, and keeps it until shortly before it expires (the tutorial's sample fetches one
 * per call). With neither, requests carry no token.
 */
static struct wdn_mcp_oauth *oauth;

static int static_token(void *ud, char *buf, size_t cap)
{
    return snprintf(buf, cap, "%s", app_env("MCP_BEARER_TOKEN", "")) < (int)cap ? 0 : WDN_ELIMIT;
}

/* Reads the OAuth2 settings from the environment; a half-set configuration is an error. */
static int oauth_init(void)
{
    struct wdn_mcp_oauth_config cfg;
    static char buf[2048];
    char url[1024], err[256];
    int rc;

    if (app_env("MCP_BEARER_TOKEN", NULL) != NULL)
        return 0;
    memset(&cfg, 0, sizeof(cfg));
    rc = wdn_mcp_oauth_config_from_env(&cfg, buf, sizeof(buf), err, sizeof(err));
    if (rc == WDN_ENOTFOUND) {
        if (app_env("AUTH0_DOMAIN", NULL) != NULL || app_env("OAUTH2_TOKEN_URL", NULL) != NULL)
            fprintf(stderr, "mcp_client: %s\n", err);
        return 0;
    }
    if (rc == 0) {
        mcp_url(url, sizeof(url));
        cfg.server_url = url;
        cfg.grant = WDN_MCP_OAUTH_CLIENT_CREDENTIALS;
        oauth = wdn_mcp_oauth_new(&cfg, err, sizeof(err));
    }
    if (oauth == NULL) {
        fprintf(stderr, "mcp_client: OAuth2 client: %s\n", err);
        return -1;
    }
    fprintf(stderr, "mcp_client: OAuth2 client credentials from %s\n", cfg.token_endpoint);
    return 0;
}

static json_t *detail(const char *error, const char *message)
{
    return json_pack("{s:{s:s, s:s}}", "detail", "error", error, "message", message);
}

/* Maps a client failure to the tutorial's HTTP answer. */
static void fail_with(struct run *r, const struct wdn_mcp_error *e)
{
    char msg[320];

    if (e->http_status > 0) {
        snprintf(msg, sizeof(msg), "MCP server returned HTTP %ld", e->http_status);
        r->status = (int)e->http_status;
        r->doc = detail("ACCESS_DENIED", msg);
    } else {
        snprintf(msg, sizeof(msg), "Failed to connect to MCP server: %s", e->message);
        r->status = 502;
        r->doc = detail("MCP_CONNECTION_FAILED", msg);
    }
}

static void call_tool(struct wdn_mcp_client *c, const char *name, json_t *args, json_t *out,
                      const char *key, json_t *errors)
{
    struct wdn_mcp_error e;
    json_t *result = NULL;
    char msg[400];

    if (wdn_mcp_client_call_tool(c, name, args, &result, &e) != 0) {
        snprintf(msg, sizeof(msg), "%s: %s", name, e.message);
        json_array_append_new(errors, json_string(msg));
        json_object_set_new(out, key, json_null());
        return;
    }
    if (json_is_true(json_object_get(result, "isError"))) {
        snprintf(msg, sizeof(msg), "%s: %s", name,
                 wdn_mcp_result_text(result) ? wdn_mcp_result_text(result) : "tool error");
        json_array_append_new(errors, json_string(msg));
    }
    json_object_set_new(out, key,
                        wdn_mcp_result_text(result) ? json_string(wdn_mcp_result_text(result))
                                                    : json_null());
    json_decref(result);
}

static void do_run(struct run *r)
{
    const char *api_token = app_env("DAPR_API_TOKEN", NULL);
    char url[1024], hdr[1100];
    const char *extra[2] = {NULL, NULL};
    struct wdn_mcp_client_config cfg;
    struct wdn_mcp_client *c = NULL;
    struct wdn_mcp_error e;
    json_t *tools = NULL, *list, *errors, *t;
    size_t i;

    mcp_url(url, sizeof(url));
    if (api_token != NULL) {
        snprintf(hdr, sizeof(hdr), "dapr-api-token: %s", api_token);
        extra[0] = hdr;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.url = url;
    cfg.client_name = "mcp-client";
    if (oauth != NULL)
        cfg.auth = wdn_mcp_oauth_provider(oauth);
    else if (app_env("MCP_BEARER_TOKEN", NULL) != NULL)
        cfg.token_fn = static_token;
    cfg.extra_headers = extra;
    cfg.timeout_ms = 30000;
    c = wdn_mcp_client_new(&cfg, &e);
    if (c == NULL || wdn_mcp_client_connect(c, &e) != 0 ||
        wdn_mcp_client_list_tools(c, &tools, &e) != 0) {
        fail_with(r, &e);
        goto out;
    }
    list = json_array();
    errors = json_array();
    json_array_foreach (tools, i, t) {
        json_array_append_new(
            list, json_pack("{s:O, s:O}", "name", json_object_get(t, "name"), "description",
                            json_object_get(t, "description") ? json_object_get(t, "description")
                                                              : json_string("")));
    }
    r->doc = json_object();
    json_object_set_new(r->doc, "tools", list);
    call_tool(c, "add", json_pack("{s:i, s:i}", "a", 2, "b", 3), r->doc, "add_result", errors);
    call_tool(c, "get_weather_alert", json_pack("{s:s}", "city", "Chicago"), r->doc,
              "weather_alert", errors);
    json_object_set_new(r->doc, "errors", errors);
    r->status = 200;
out:
    json_decref(tools);
    wdn_mcp_client_free(c);
}

/* POST /run: the MCP conversation blocks, which is fine in an app route handler. */
static int run(struct wdn_app_req *req, void *ud)
{
    struct run r = {0, NULL};
    int rc;

    do_run(&r);
    if (r.doc == NULL) {
        r.status = 500;
        r.doc = detail("INTERNAL", "out of memory");
    }
    rc = wdn_app_respond_json(req, r.status, r.doc);
    json_decref(r.doc);
    return rc;
}

static int health(struct wdn_app_req *req, void *ud)
{
    json_t *doc = json_pack("{s:s, s:s}", "status", "ok", "service", "mcp-client");
    int rc = wdn_app_respond_json(req, 200, doc);

    json_decref(doc);
    return rc;
}

static int not_found(struct wdn_app_req *req, void *ud)
{
    json_t *doc = json_pack("{s:s}", "detail", "Not Found");
    int rc = wdn_app_respond_json(req, 404, doc);

    json_decref(doc);
    return rc;
}

int main(int argc, char **argv)
{
    struct wdn_app *app;
    int rc;

    if (oauth_init() != 0)
        return 1;
    app = app_new("mcp_client", app_port(argc, argv, 5001));
    if (app == NULL || wdn_app_route(app, "POST", "/run", run, NULL) != 0 ||
        wdn_app_route(app, "GET", "/", health, NULL) != 0 ||
        wdn_app_route(app, NULL, NULL, not_found, NULL) != 0) {
        wdn_app_free(app);
        wdn_mcp_oauth_free(oauth);
        return 1;
    }
    rc = app_run("mcp_client", app);
    wdn_mcp_oauth_free(oauth);
    return rc;
}
