/* The C MCP SDK's client for the official conformance suite (@modelcontextprotocol/conformance,
 * client mode), the counterpart of the TypeScript SDK's everything-client: the suite starts a mock
 * server, runs `conformance_client <server-url>` with MCP_CONFORMANCE_SCENARIO (which behaviour
 * it tests), MCP_CONFORMANCE_PROTOCOL_VERSION and, for some scenarios, MCP_CONFORMANCE_CONTEXT
 * (JSON: credentials, keys, tool calls), and judges what the client sent. Built on the public
 * headers only. Exit 0 when the flow completed, 1 when the client gave up (the suite expects
 * that for the attack scenarios), 2 for bad usage. */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "warden/mcp.h"
#include "warden/mcp_auth.h"

/* The Client ID Metadata Document URL the suite expects (it never fetches it). */
#define CIMD_URL "https://conformance-test.local/client-metadata.json"

/* Everything one run needs. */
struct run {
    const char *scenario;
    const char *url;
    const char *version;
    json_t *ctx; /* MCP_CONFORMANCE_CONTEXT, or NULL */
    struct wdn_mcp_client *mc;
    struct wdn_mcp_oauth *oauth;
    int mrtr_unrelated_calls; /* sep-2322: the unrelated call made between rounds */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;

    fputs("conformance_client: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int fail(const char *what, const struct wdn_mcp_error *e)
{
    say("%s failed: %s (http %ld, rpc %ld)", what, e->message, e->http_status, e->rpc_code);
    return 1;
}

static bool is(const struct run *r, const char *name)
{
    return strcmp(r->scenario, name) == 0;
}

static bool starts(const struct run *r, const char *prefix)
{
    return strncmp(r->scenario, prefix, strlen(prefix)) == 0;
}

static const char *ctx_str(const struct run *r, const char *key)
{
    return json_string_value(json_object_get(r->ctx, key));
}

/* ---------------------------------------------------------------------------------------- */
/* The "browser": the suite's authorization endpoint answers at once with a redirect carrying
 * the code, so a plain HTTP GET that does not follow it, then a GET of the Location (the SDK's
 * loopback listener), is what a user's browser would do. Plain http only (the suite's servers
 * are on localhost). */

/* GETs url; with location (cap bytes) it returns the Location header of the answer. */
static int http_get(const char *url, char *location, size_t cap)
{
    char host[256], port[8] = "80", req[8192], buf[16384];
    const char *p, *path;
    struct addrinfo hints, *res = NULL;
    struct timeval tv = {10, 0};
    size_t len = 0;
    ssize_t n;
    int fd = -1, rc = -1;
    const char *l;

    if (strncmp(url, "http://", 7) != 0)
        return -1;
    p = url + 7;
    path = p + strcspn(p, "/?");
    snprintf(host, sizeof(host), "%.*s", (int)(path - p), p);
    if (strchr(host, ':') != NULL) {
        snprintf(port, sizeof(port), "%s", strchr(host, ':') + 1);
        *strchr(host, ':') = '\0';
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0)
        goto out;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    snprintf(req, sizeof(req), "GET %s%s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n",
             path[0] == '/' ? "" : "/", path, host, port);
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
        goto out;
    while (len + 1 < sizeof(buf) && (n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    rc = 0;
    if (location != NULL) {
        l = strcasestr(buf, "\r\nLocation: ");
        if (l == NULL) {
            rc = -1;
            goto out;
        }
        l += 12;
        snprintf(location, cap, "%.*s", (int)strcspn(l, "\r\n"), l);
    }
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return rc;
}

static int browser(void *ud, const char *url)
{
    char location[8192];

    (void)ud;
    say("browser: %.160s...", url);
    if (http_get(url, location, sizeof(location)) != 0) {
        say("browser: the authorization endpoint did not redirect");
        return -1;
    }
    say("browser: redirected to %.160s", location);
    return http_get(location, NULL, 0) == 0 ? 0 : -1;
}

/* The OAuth client for the auth/ scenarios, configured from the scenario and its context. */
static int setup_oauth(struct run *r)
{
    struct wdn_mcp_oauth_config cfg = {
        .server_url = r->url,
        .client_name = "warden-conformance-client",
        .client_metadata_url = CIMD_URL,
        .browser = browser,
        .browser_ud = r,
        .login_timeout_ms = 30000,
    };
    char err[256] = "";

    if (is(r, "auth/client-credentials-basic") || is(r, "auth/client-credentials-jwt")) {
        cfg.grant = WDN_MCP_OAUTH_CLIENT_CREDENTIALS;
        cfg.client_id = ctx_str(r, "client_id");
        cfg.client_secret = ctx_str(r, "client_secret");
        cfg.client_key_pem = ctx_str(r, "private_key_pem");
        if (cfg.client_key_pem != NULL)
            cfg.auth_method = "private_key_jwt";
    } else if (is(r, "auth/pre-registration")) {
        cfg.client_id = ctx_str(r, "client_id");
        cfg.client_secret = ctx_str(r, "client_secret");
    } else if (is(r, "auth/wif-jwt-bearer")) {
        cfg.grant = WDN_MCP_OAUTH_JWT_BEARER;
        cfg.client_id = ctx_str(r, "client_id");
        cfg.assertion = ctx_str(r, "valid_jwt");
    } else if (is(r, "auth/enterprise-managed-authorization") ||
               is(r, "auth/cross-app-access-complete-flow")) {
        cfg.grant = WDN_MCP_OAUTH_ENTERPRISE;
        cfg.client_id = ctx_str(r, "client_id");
        cfg.client_secret = ctx_str(r, "client_secret");
        cfg.idp_token_endpoint = ctx_str(r, "idp_token_endpoint");
        cfg.idp_id_token = ctx_str(r, "idp_id_token");
        cfg.idp_client_id = ctx_str(r, "idp_client_id");
    }
    r->oauth = wdn_mcp_oauth_new(&cfg, err, sizeof(err));
    if (r->oauth == NULL) {
        say("oauth: %s", err);
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* The server's requests                                                                      */

/* Elicitation: accept. For the defaults scenario with empty content (the SDK fills in the
 * schema's defaults); for MRTR with what its schema asks (a confirmation). */
static int on_request(void *ud, const char *method, json_t *params, json_t **result, char *msg,
                      size_t cap)
{
    struct run *r = ud;
    json_t *props;

    if (strcmp(method, "elicitation/create") == 0) {
        props = json_object_get(json_object_get(params, "requestedSchema"), "properties");
        if (json_object_get(props, "confirmed") != NULL) {
            *result = json_pack("{s:s, s:{s:b}}", "action", "accept", "content", "confirmed", 1);
        } else {
            *result = json_pack("{s:s, s:{}}", "action", "accept", "content");
        }
        /* sep-2322: while the server waits for this input, another request goes out; it must
         * not carry this round's inputResponses or requestState. */
        if (is(r, "sep-2322-client-request-state") && r->mrtr_unrelated_calls == 0) {
            json_t *res = NULL;
            struct wdn_mcp_error e;
            r->mrtr_unrelated_calls++;
            if (wdn_mcp_client_call_tool(r->mc, "test_mrtr_unrelated", NULL, &res, &e) != 0)
                say("test_mrtr_unrelated: %s", e.message);
            json_decref(res);
        }
        return 0;
    }
    if (strcmp(method, "roots/list") == 0) {
        *result = json_pack("{s:[]}", "roots");
        return 0;
    }
    snprintf(msg, cap, "%s is not handled by the conformance client", method);
    return -8; /* WDN_ENOTFOUND: the server gets -32601 */
}

/* ---------------------------------------------------------------------------------------- */
/* Flows                                                                                      */

/* tools/list, then the first tool (the suite's add_numbers / test-tool) with {a:2, b:3}. */
static int flow_basic(struct run *r, bool call)
{
    struct wdn_mcp_error e;
    json_t *tools = NULL, *res = NULL;
    const char *name;
    int rc = 0;

    if (wdn_mcp_client_list_tools(r->mc, &tools, &e) != 0)
        return fail("tools/list", &e);
    name = json_string_value(json_object_get(json_array_get(tools, 0), "name"));
    if (call && name != NULL) {
        if (wdn_mcp_client_call_tool(r->mc, name, json_pack("{s:i, s:i}", "a", 2, "b", 3), &res,
                                     &e) != 0)
            rc = fail("tools/call", &e);
        else
            say("%s -> %s", name, wdn_mcp_result_text(res) ? wdn_mcp_result_text(res) : "");
    }
    json_decref(res);
    json_decref(tools);
    return rc;
}

static int call(struct run *r, const char *name, json_t *args)
{
    struct wdn_mcp_error e;
    json_t *res = NULL;
    int rc = wdn_mcp_client_call_tool(r->mc, name, args, &res, &e);

    if (rc != 0)
        say("tools/call %s failed: %s", name, e.message);
    json_decref(res);
    return rc != 0;
}

/* Every method the standard-headers scenario checks: each tool, resource and prompt. */
static int flow_everything(struct run *r)
{
    struct wdn_mcp_error e;
    json_t *list = NULL, *item, *res = NULL;
    size_t i;
    int rc = 0;

    if (wdn_mcp_client_list_tools(r->mc, &list, &e) != 0)
        return fail("tools/list", &e);
    json_array_foreach (list, i, item) {
        rc |= call(r, json_string_value(json_object_get(item, "name")), NULL);
    }
    json_decref(list);
    if (wdn_mcp_client_list(r->mc, "resources/list", "resources", &list, &e) != 0)
        return fail("resources/list", &e);
    json_array_foreach (list, i, item) {
        if (wdn_mcp_client_request(r->mc, "resources/read",
                                   json_pack("{s:O}", "uri", json_object_get(item, "uri")), &res,
                                   &e) != 0)
            rc |= fail("resources/read", &e);
        json_decref(res);
        res = NULL;
    }
    json_decref(list);
    if (wdn_mcp_client_list(r->mc, "prompts/list", "prompts", &list, &e) != 0)
        return fail("prompts/list", &e);
    json_array_foreach (list, i, item) {
        if (wdn_mcp_client_request(r->mc, "prompts/get",
                                   json_pack("{s:O}", "name", json_object_get(item, "name")), &res,
                                   &e) != 0)
            rc |= fail("prompts/get", &e);
        json_decref(res);
        res = NULL;
    }
    json_decref(list);
    return rc;
}

/* http-custom-headers: the calls the context lists, after tools/list taught the mapping. */
static int flow_custom_headers(struct run *r)
{
    struct wdn_mcp_error e;
    json_t *tools = NULL, *tc;
    size_t i;
    int rc = 0;

    if (wdn_mcp_client_list_tools(r->mc, &tools, &e) != 0)
        return fail("tools/list", &e);
    json_decref(tools);
    json_array_foreach (json_object_get(r->ctx, "toolCalls"), i, tc) {
        rc |= call(r, json_string_value(json_object_get(tc, "name")),
                   json_deep_copy(json_object_get(tc, "arguments")));
    }
    return rc;
}

/* http-invalid-tool-headers: every tool the SDK kept (it drops the invalid ones). */
static int flow_all_tools(struct run *r)
{
    struct wdn_mcp_error e;
    json_t *tools = NULL, *t;
    size_t i;
    int rc = 0;

    if (wdn_mcp_client_list_tools(r->mc, &tools, &e) != 0)
        return fail("tools/list", &e);
    json_array_foreach (tools, i, t) {
        rc |= call(r, json_string_value(json_object_get(t, "name")),
                   json_pack("{s:s}", "region", "us-west1"));
    }
    json_decref(tools);
    return rc;
}

/* json-schema-2020-12-preservation: the focal tool's schema goes back to the echo tool as is. */
static int flow_schema_echo(struct run *r)
{
    struct wdn_mcp_error e;
    json_t *tools = NULL, *t, *schema = NULL;
    size_t i;
    int rc;

    if (wdn_mcp_client_list_tools(r->mc, &tools, &e) != 0)
        return fail("tools/list", &e);
    json_array_foreach (tools, i, t) {
        if (strcmp(json_string_value(json_object_get(t, "name")), "json_schema_2020_12_tool") == 0)
            schema = json_object_get(t, "inputSchema");
    }
    if (schema == NULL) {
        json_decref(tools);
        say("json_schema_2020_12_tool is not listed");
        return 1;
    }
    rc = call(r, "json_schema_echo", json_pack("{s:O}", "schema", schema));
    json_decref(tools);
    return rc;
}

/* sep-2322: the MRTR tools in the order the scenario expects (the unrelated call happens from
 * inside the elicitation handler, between the rounds of the first). */
static int flow_mrtr(struct run *r)
{
    struct wdn_mcp_error e;
    json_t *tools = NULL;
    int rc = 0;

    if (wdn_mcp_client_list_tools(r->mc, &tools, &e) != 0)
        return fail("tools/list", &e);
    json_decref(tools);
    rc |= call(r, "test_mrtr_echo_state", NULL);
    rc |= call(r, "test_mrtr_no_state", NULL);
    rc |= call(r, "test_mrtr_no_result_type", NULL);
    return rc;
}

static int flow_elicitation_defaults(struct run *r)
{
    struct wdn_mcp_error e;
    json_t *tools = NULL;

    if (wdn_mcp_client_list_tools(r->mc, &tools, &e) != 0)
        return fail("tools/list", &e);
    json_decref(tools);
    return call(r, "test_client_elicitation_defaults", NULL);
}

/* sep-2640: list the skills; for the verify scenarios load the first one, which means reading
 * its SKILL.md (the SDK checks size, digest and frontmatter) and, only when that passed, its
 * other files. Refusing tampered content is the expected outcome there. */
static int flow_skills(struct run *r)
{
    struct wdn_mcp_error e;
    json_t *skills = NULL, *skill, *file;
    const char *uri;
    char *text = NULL;
    size_t i;

    if (wdn_mcp_client_list_skills(r->mc, &skills, &e) != 0)
        return fail("skills/list", &e);
    say("%zu skills listed", json_array_size(skills));
    skill = json_array_get(skills, 0);
    if (is(r, "sep-2640-client-no-prefetch") || skill == NULL) {
        json_decref(skills);
        return 0;
    }
    uri = json_string_value(json_object_get(skill, "uri"));
    if (wdn_mcp_client_read_skill_file(r->mc, skill, uri, &text, &e) != 0) {
        say("skill not loaded: %s", e.message);
        json_decref(skills);
        return 0;
    }
    free(text);
    json_array_foreach (json_object_get(skill, "resources"), i, file) {
        const char *f = json_string_value(json_object_get(file, "uri"));
        if (f == NULL || strcmp(f, uri) == 0)
            continue;
        if (wdn_mcp_client_read_skill_file(r->mc, skill, f, &text, &e) != 0)
            say("skill file refused: %s", e.message);
        free(text);
        text = NULL;
    }
    json_decref(skills);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */

static int run_mcp(struct run *r)
{
    struct wdn_mcp_client_config cfg = {
        .url = r->url,
        .protocol_version = r->version,
        .client_name = "warden-conformance-client",
        .client_version = "1.0.0",
        .on_request = on_request,
        .request_ud = r,
        .capabilities = "{\"elicitation\":{\"applyDefaults\":true},\"roots\":{},"
                        "\"sampling\":{}}",
        .timeout_ms = 60000,
    };
    struct wdn_mcp_error e;
    int rc;

    if (starts(r, "auth/")) {
        if (setup_oauth(r) != 0)
            return 1;
        cfg.auth = wdn_mcp_oauth_provider(r->oauth);
    }
    r->mc = wdn_mcp_client_new(&cfg, &e);
    if (r->mc == NULL)
        return fail("client", &e);
    if (wdn_mcp_client_connect(r->mc, &e) != 0)
        return fail("connect", &e);
    say("connected, protocol %s", wdn_mcp_client_version(r->mc));
    if (is(r, "http-standard-headers"))
        rc = flow_everything(r);
    else if (is(r, "http-custom-headers"))
        rc = flow_custom_headers(r);
    else if (is(r, "http-invalid-tool-headers"))
        rc = flow_all_tools(r);
    else if (is(r, "json-schema-2020-12-preservation"))
        rc = flow_schema_echo(r);
    else if (is(r, "json-schema-ref-no-deref") || is(r, "request-metadata"))
        rc = flow_basic(r, false);
    else if (is(r, "sep-2322-client-request-state"))
        rc = flow_mrtr(r);
    else if (is(r, "elicitation-sep1034-client-defaults"))
        rc = flow_elicitation_defaults(r);
    else if (starts(r, "sep-2640-"))
        rc = flow_skills(r);
    else
        rc = flow_basic(r, true);
    return rc;
}

int main(int argc, char **argv)
{
    struct run r = {0};
    const char *ctx = getenv("MCP_CONFORMANCE_CONTEXT");
    int rc;

    r.scenario = getenv("MCP_CONFORMANCE_SCENARIO");
    r.version = getenv("MCP_CONFORMANCE_PROTOCOL_VERSION");
    r.url = argc > 1 ? argv[argc - 1] : NULL;
    if (r.scenario == NULL || r.url == NULL) {
        fprintf(stderr,
                "usage: MCP_CONFORMANCE_SCENARIO=<scenario> [MCP_CONFORMANCE_CONTEXT=<json>]"
                " conformance_client <server-url>\n");
        return 2;
    }
    if (r.version != NULL && !wdn_mcp_version_supported(r.version))
        r.version = NULL; /* a version the SDK does not know: its default */
    if (ctx != NULL && (r.ctx = json_loads(ctx, 0, NULL)) == NULL) {
        say("MCP_CONFORMANCE_CONTEXT is not JSON");
        return 2;
    }
    say("scenario %s, protocol %s, server %s", r.scenario, r.version ? r.version : "(default)",
        r.url);
    rc = run_mcp(&r);
    wdn_mcp_client_free(r.mc);
    wdn_mcp_oauth_free(r.oauth);
    json_decref(r.ctx);
    return rc != 0 ? 1 : 0;
}
