/* The sidecar's request path in one process: a recording app (a wdn_http_server), the sidecar
 * guarding it, and a second sidecar calling it over mTLS, all on free loopback ports. Drives
 * the API port (api.c: healthz, the API token, metadata, both invocation forms, refusals), the
 * internal port (peer.c: the caller from the certificate, access control), forwarding
 * (forward.c on http/proxy.c: headers the sidecars own, errors in Dapr's shape, a broken client
 * body, an app that is down) and the MCP guard (mcp.c: refused calls never reach the app, the
 * checked bytes do, tools/list filtered), and checks the metrics they leave. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "base/log.h"
#include "base/clock.h"
#include "jose/crypto.h"
#include "jose/sign.h"
#include "sidecar/internal.h"
#include "../support/testnet.h"
#include "../support/testsc.h"

/* ---- The recording app ------------------------------------------------------------------- */

static pthread_mutex_t app_mu = PTHREAD_MUTEX_INITIALIZER;
static int app_count;        /* requests received */
static char app_last[65536]; /* "METHOD target\n" + "name: value\n"... + "\n" + body */

static const struct wdn_http_header json_ct = {{"Content-Type", 12}, {"application/json", 16}};
static const struct wdn_http_header sse_ct = {{"Content-Type", 12}, {"text/event-stream", 17}};

static void app_answer(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    const struct wdn_http_request *h = wdn_http_req_head(req);
    size_t k = 0;

    pthread_mutex_lock(&app_mu);
    app_count += status == 0; /* a body that broke on the way counts as nothing received */
    k += (size_t)snprintf(app_last + k, sizeof(app_last) - k, "%.*s %.*s\n", WDN_STR_FMT(h->method),
                          WDN_STR_FMT(h->target));
    for (size_t i = 0; i < h->nheaders && k < sizeof(app_last); i++)
        k += (size_t)snprintf(app_last + k, sizeof(app_last) - k, "%.*s: %.*s\n",
                              WDN_STR_FMT(h->headers[i].name), WDN_STR_FMT(h->headers[i].value));
    if (k < sizeof(app_last))
        snprintf(app_last + k, sizeof(app_last) - k, "\n%.*s", status == 0 ? (int)body.len : 0,
                 body.p);
    pthread_mutex_unlock(&app_mu);
    if (status != 0) {
        wdn_http_respond(req, 400, NULL, 0, WDN_STR("bad body"));
        return;
    }
    if (wdn_str_has_prefix(h->path, WDN_STR("/mcp"))) {
        bool sse = wdn_http_req_header(req, WDN_STR("x-sse")) != NULL;
        const char *list =
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"add\"},"
            "{\"name\":\"rm\"},{\"name\":\"echo\"}]}}";
        char sbuf[512];
        if (wdn_str_index(body, 't') >= 0 && strstr(body.p, "tools/list") != NULL) {
            if (sse) {
                snprintf(sbuf, sizeof(sbuf), "id: 1\ndata: %s\n\n", list);
                wdn_http_respond(req, 200, &sse_ct, 1, wdn_str_from_cstr(sbuf));
            } else {
                wdn_http_respond(req, 200, &json_ct, 1, wdn_str_from_cstr(list));
            }
            return;
        }
        wdn_http_respond(req, 200, &json_ct, 1,
                         WDN_STR("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"));
        return;
    }
    wdn_http_respond(req, 200, NULL, 0, WDN_STR("app says hi"));
}

static int app_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    return wdn_http_req_read_all(req, 1 << 20, app_answer, NULL) == 0 ? 0 : WDN_EIO;
}

static struct wdn_http_handler app_handler = {.on_req = app_on_req};
static struct wdn_http_handler *app_chain[] = {&app_handler};

static int count(void)
{
    int n;
    pthread_mutex_lock(&app_mu);
    n = app_count;
    pthread_mutex_unlock(&app_mu);
    return n;
}

/* A copy of what the app saw last. */
static const char *last(void)
{
    static char copy[sizeof(app_last)];
    pthread_mutex_lock(&app_mu);
    memcpy(copy, app_last, sizeof(copy));
    pthread_mutex_unlock(&app_mu);
    return copy;
}

/* ---- Sidecars ---------------------------------------------------------------------------- */

static char dir[] = "/tmp/wdn-sc-req-XXXXXX";

#define running testsc /* tests/unit/support/testsc.h */

static void start(struct testsc *r, struct wdn_sidecar_opts *o)
{
    char why[300];

    if (testsc_start(r, o, why, sizeof(why)) != 0)
        fail_msg("%s", why);
    assert_true(wdn_sidecar_http_port(r->sc) > 0);
    assert_int_equal(testnet_wait_port(wdn_sidecar_http_port(r->sc), 10000), 0);
}

static void stop(struct testsc *r)
{
    testsc_stop(r);
}

struct fx {
    struct wdn_http_server *app;
    struct running callee, caller, guarded;
    int api, caller_api, guarded_api;
};

static void write_file(const char *name, const char *text)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char callee_res[] = "apiVersion: warden.dev/v1alpha1\n"
                                 "kind: MCPServer\n"
                                 "metadata: {name: tools}\n"
                                 "spec:\n"
                                 "  appId: app\n"
                                 "  endpoint: {streamableHTTP: {url: 'http://127.0.0.1:1/mcp'}}\n"
                                 "  rules:\n"
                                 "  - {callers: [app, caller], tools: [add, echo], action: allow}\n"
                                 "  - {callers: [app, caller], tools: ['get_*'], action: allow,\n"
                                 "     requireScopes: ['weather:read']}\n"
                                 "---\n"
                                 "apiVersion: dapr.io/v1alpha1\n"
                                 "kind: Configuration\n"
                                 "metadata: {name: acl}\n"
                                 "spec:\n"
                                 "  accessControl:\n"
                                 "    defaultAction: allow\n"
                                 "    trustDomain: public\n"
                                 "    policies:\n"
                                 "    - appId: caller\n"
                                 "      defaultAction: allow\n"
                                 "      trustDomain: public\n"
                                 "      namespace: default\n"
                                 "      operations:\n"
                                 "      - {name: /secret/**, httpVerb: ['*'], action: deny}\n";

/* A bearer with a key set given inline (no network; %s: the test key's public JWK) in front of
 * "guarded", and its tool policy. */
static const char guarded_res[] =
    "apiVersion: dapr.io/v1alpha1\n"
    "kind: Component\n"
    "metadata: {name: bearer}\n"
    "spec:\n"
    "  type: middleware.http.bearer\n"
    "  version: v1\n"
    "  metadata:\n"
    "  - {name: issuer, value: 'https://issuer.test/'}\n"
    "  - {name: audience, value: guarded}\n"
    "  - {name: requiredScopes, value: 'openid'}\n"
    "  - {name: jwks, value: '{\"keys\":[%s]}'}\n"
    "---\n"
    "apiVersion: dapr.io/v1alpha1\n"
    "kind: Configuration\n"
    "metadata: {name: auth}\n"
    "spec:\n"
    "  appHttpPipeline:\n"
    "    handlers:\n"
    "    - {name: bearer, type: middleware.http.bearer}\n"
    "---\n"
    "apiVersion: warden.dev/v1alpha1\n"
    "kind: MCPServer\n"
    "metadata: {name: weather}\n"
    "spec:\n"
    "  appId: guarded\n"
    "  rules:\n"
    "  - {callers: ['*'], tools: [add], action: allow}\n"
    "  - {callers: ['*'], tools: ['get_*'], action: allow, requireScopes: ['weather:read']}\n";

/* The key the guarded app's bearer trusts (tokens for the step-up cases). */
static struct wdn_jose_key *key;

/* A token of the bearer's issuer for "guarded" with these scopes (space-separated). */
static const char *token(const char *scope)
{
    static char out[2048];
    char claims[512];
    struct wdn_buf b;
    long now = (long)wdn_clock_unix();

    snprintf(claims, sizeof(claims),
             "{\"iss\":\"https://issuer.test/\",\"sub\":\"client\",\"aud\":\"guarded\","
             "\"iat\":%ld,\"exp\":%ld,\"scope\":\"%s\"}",
             now, now + 600, scope);
    wdn_buf_init(&b, sizeof(out) - 1);
    assert_int_equal(wdn_jws_sign(key, wdn_str_from_cstr(claims), NULL, &b), 0);
    snprintf(out, sizeof(out), "%s", wdn_buf_cstr(&b));
    wdn_buf_reset(&b);
    return out;
}

static int setup(void **state)
{
    static struct fx f;
    static char gtext[sizeof(guarded_res) + 1024];
    struct wdn_diag kd;
    char *jwk;
    struct wdn_http_server_config ac = {
        .listen = "127.0.0.1:0", .workers = 1, .handlers = app_chain, .nhandlers = 1};
    char home[600], res[600], gres[600], ca[600], peers[600], text[256];
    int internal = testnet_free_port(), internal2 = testnet_free_port();

    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(home, sizeof(home), "%s/home", dir);
    setenv("WARDEN_HOME", home, 1);
    wdn_log_init("test", WDN_LOG_ERROR, false);
    if (wdn_http_server_start(&ac, &f.app) != 0)
        return -1;
    snprintf(res, sizeof(res), "%s/res", dir);
    snprintf(ca, sizeof(ca), "%s/ca", dir);
    snprintf(peers, sizeof(peers), "%s/peers", dir);
    mkdir(res, 0700);
    write_file("res/callee.yaml", callee_res);
    snprintf(text, sizeof(text), "app 127.0.0.1:%d\nguarded 127.0.0.1:%d\n", internal, internal2);
    write_file("peers", text);
    snprintf(gres, sizeof(gres), "%s/gres", dir);
    mkdir(gres, 0700);
    key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "fz", &kd);
    jwk = key ? wdn_jose_key_public_jwk(key) : NULL;
    if (jwk == NULL)
        return -1;
    snprintf(gtext, sizeof(gtext), guarded_res, jwk);
    free(jwk);
    write_file("gres/guarded.yaml", gtext);

    struct wdn_sidecar_opts o = {.app_id = "app",
                                 .app_port = wdn_http_server_port(f.app),
                                 .internal_port = internal,
                                 .metrics_port = -1,
                                 .workers = 1,
                                 .ca_dir = ca,
                                 .config = "acl",
                                 .api_token = "secret",
                                 .app_api_token = "apptoken",
                                 .resources_paths = {res},
                                 .n_resources_paths = 1};
    start(&f.callee, &o);
    struct wdn_sidecar_opts oc = {.app_id = "caller",
                                  .metrics_port = -1,
                                  .workers = 1,
                                  .ca_dir = ca,
                                  .peers_file = peers,
                                  .resources_paths = {res},
                                  .n_resources_paths = 1};
    start(&f.caller, &oc);
    struct wdn_sidecar_opts og = {.app_id = "guarded",
                                  .app_port = wdn_http_server_port(f.app),
                                  .internal_port = internal2,
                                  .metrics_port = -1,
                                  .workers = 1,
                                  .ca_dir = ca,
                                  .config = "auth",
                                  .resources_paths = {gres},
                                  .n_resources_paths = 1};
    start(&f.guarded, &og);
    f.api = wdn_sidecar_http_port(f.callee.sc);
    f.caller_api = wdn_sidecar_http_port(f.caller.sc);
    f.guarded_api = wdn_sidecar_http_port(f.guarded.sc);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[600];

    stop(&f->guarded);
    stop(&f->caller);
    stop(&f->callee);
    wdn_http_server_free(f->app);
    wdn_jose_key_free(key);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return -1;
    wdn_jose_thread_cleanup();
    return 0;
}

/* ---- A raw HTTP client ------------------------------------------------------------------- */

struct resp {
    int status;
    char raw[1 << 17];
    const char *body;
};

/* Sends head (request line and headers, "\r\n" each, without the blank line) plus
 * "Connection: close" and body; reads the answer until the server closes. */
static void http(int port, const char *head, const char *body, struct resp *r)
{
    char req[1 << 16];
    int fd = testnet_connect(port, 20000), closed, n;

    assert_true(fd >= 0);
    if (body == NULL)
        n = snprintf(req, sizeof(req), "%sConnection: close\r\n\r\n", head);
    else if (strstr(head, "Content-Length") || strstr(head, "Transfer-Encoding"))
        n = snprintf(req, sizeof(req), "%sConnection: close\r\n\r\n%s", head, body);
    else
        n = snprintf(req, sizeof(req), "%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", head,
                     strlen(body), body);
    assert_true(n > 0 && (size_t)n < sizeof(req));
    assert_int_equal(testnet_send_all(fd, req, (size_t)n), 0);
    testnet_recv_until_close(fd, r->raw, sizeof(r->raw), &closed);
    close(fd);
    r->status = 0;
    sscanf(r->raw, "HTTP/1.1 %d", &r->status);
    r->body = strstr(r->raw, "\r\n\r\n");
    r->body = r->body ? r->body + 4 : "";
}

#define TOKEN "dapr-api-token: secret\r\n"

/* ---- The API port ------------------------------------------------------------------------ */

static void test_healthz_token_metadata(void **state)
{
    struct fx *f = *state;
    struct resp r;

    http(f->api, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 204); /* no token needed */
    http(f->api, "POST /v1.0/healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n", NULL, &r);
    assert_int_equal(r.status, 405);
    http(f->api, "GET /v1.0/metadata HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.body, "invalid api token\n");
    http(f->api, "GET /v1.0/metadata HTTP/1.1\r\nHost: x\r\ndapr-api-token: secreT\r\n", NULL, &r);
    assert_int_equal(r.status, 401);
    http(f->api, "GET /v1.0/metadata HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"id\":\"app\""));
    assert_non_null(strstr(r.body, "\"configuration\":\"acl\""));
}

static void test_invoke_forwards(void **state)
{
    struct fx *f = *state;
    struct resp r;
    int before = count();
    const char *seen;

    http(f->api,
         "GET /v1.0/invoke/app/method/hello/world?q=1&r=%20 HTTP/1.1\r\nHost: evil\r\n" TOKEN
         "dapr-caller-app-id: admin\r\ndapr-callee-app-id: x\r\ntraceparent: forged\r\n"
         "Keep-Alive: timeout=5\r\nx-custom: 1\r\n",
         NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "app says hi");
    assert_int_equal(count(), before + 1);
    seen = last();
    assert_non_null(strstr(seen, "GET /hello/world?q=1&r=%20\n"));
    assert_non_null(strstr(seen, "dapr-caller-app-id: app\n"));
    assert_non_null(strstr(seen, "dapr-callee-app-id: app\n"));
    assert_non_null(strstr(seen, "x-custom: 1\n"));
    assert_non_null(strstr(seen, "dapr-api-token: apptoken\n"));
    assert_non_null(strstr(seen, "traceparent: 00-"));
    /* What the sidecars own never comes from the caller. */
    assert_null(strstr(seen, "admin"));
    assert_null(strstr(seen, "secret"));
    assert_null(strstr(seen, "forged"));
    assert_null(strstr(seen, "evil"));
    assert_null(strstr(seen, "Keep-Alive"));

    /* The dapr-app-id header form, and the app.namespace form of the path. */
    http(f->api, "GET /world/2 HTTP/1.1\r\nHost: x\r\n" TOKEN "dapr-app-id: app\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(last(), "GET /world/2\n"));
    http(f->api, "POST /v1.0/invoke/app.default/method/b HTTP/1.1\r\nHost: x\r\n" TOKEN, "xyz", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(last(), "POST /b\n"));
    assert_non_null(strstr(last(), "\n\nxyz"));
}

static void test_invoke_refusals(void **state)
{
    struct fx *f = *state;
    struct resp r;
    int before = count();

    http(f->api, "GET /v1.0/invoke/bad%20id/method/x HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body,
                        "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"invalid app id\"}");
    http(f->api, "GET /v1.0/invoke/app.other/method/x HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "another namespace"));
    http(f->api, "GET /v1.0/invoke/app HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "failed getting app id"));
    http(f->api, "GET /nothing HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "404 page not found\n");
    http(f->api, "GET /v1.0/invoke/ghost/method/x HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "failed to invoke, id: ghost, err: "));
    http(f->api, "GET /v1.0/mcp/nope HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"errorCode\":\"ERR_MCP_SERVER_NOT_FOUND\",\"message\":\"no MCP "
                                "server named 'nope'\"}");
    /* A client body that breaks: bad chunked framing is answered in Dapr's shape. */
    http(f->api,
         "POST /v1.0/invoke/app/method/echo HTTP/1.1\r\nHost: x\r\n" TOKEN
         "Transfer-Encoding: chunked\r\n",
         "zz\r\nbad\r\n0\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"errorCode\":\"ERR_DIRECT_INVOKE\""));
    assert_int_equal(count(), before);
}

/* ---- The MCP guard through the sidecar --------------------------------------------------- */

static const char *call(const char *tool)
{
    static char b[256];
    snprintf(
        b, sizeof(b),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\"}}",
        tool);
    return b;
}

static void test_mcp_guard(void **state)
{
    struct fx *f = *state;
    struct resp r;
    int before = count();
    const char *h = "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN
                    "Content-Type: application/json\r\n";

    /* Refused calls never reach the app. */
    http(f->api, h, call("rm"), &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "\"code\":-32003"));
    http(f->api, "POST /v1.0/invoke/app/method/MCP/ HTTP/1.1\r\nHost: x\r\n" TOKEN, call("rm"), &r);
    assert_int_equal(r.status, 403);
    http(f->api, "POST /v1.0/invoke/app/method/./%6Dcp HTTP/1.1\r\nHost: x\r\n" TOKEN, call("rm"),
         &r);
    assert_int_equal(r.status, 403);
    http(f->api, h, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"code\":-32700"));
    http(f->api, h, "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"tools/call\"}", &r);
    assert_int_equal(r.status, 400);
    http(f->api,
         "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN
         "Content-Length: 5000000\r\n",
         "", &r);
    assert_int_equal(r.status, 413);
    assert_int_equal(count(), before);

    /* A granted call arrives as the bytes that were checked. */
    http(f->api, h, call("add"), &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(count(), before + 1);
    assert_non_null(strstr(last(), "POST /mcp\n"));
    assert_non_null(strstr(last(), call("add")));
    /* The proxy endpoint /v1.0/mcp/<name> goes through the same guard. */
    http(f->api, "POST /v1.0/mcp/tools HTTP/1.1\r\nHost: x\r\n" TOKEN, call("echo"), &r);
    assert_int_equal(r.status, 200);
    http(f->api, "POST /v1.0/mcp/tools HTTP/1.1\r\nHost: x\r\n" TOKEN, call("rm"), &r);
    assert_int_equal(r.status, 403);
    assert_int_equal(count(), before + 2);

    /* tools/list answers are filtered to the granted tools, JSON and SSE. */
    http(f->api, h, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":"
                                "\"add\"},{\"name\":\"echo\"}]}}");
    http(f->api, "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN "x-sse: 1\r\n",
         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,"
                                "\"result\":{\"tools\":[{\"name\":\"add\"},{\"name\":\"echo\"}]}}"
                                "\n\n");
}

/* 2026-07-28 headers that disagree with the body are refused before anything is forwarded. */
static void test_mcp_headers(void **state)
{
    struct fx *f = *state;
    struct resp r;
    int before = count();

    http(f->api,
         "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN
         "Mcp-Method: tools/call\r\nMcp-Name: add\r\n",
         call("rm"), &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"code\":-32020"));
    http(f->api,
         "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN
         "Mcp-Method: tools/list\r\n",
         call("add"), &r);
    assert_int_equal(r.status, 400);
    /* From a peer too: refused at the callee's sidecar, before its app. */
    http(f->caller_api,
         "POST /v1.0/mcp/tools HTTP/1.1\r\nHost: x\r\nMcp-Method: tools/call\r\n"
         "Mcp-Name: echo\r\n",
         call("add"), &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "-32020"));
    assert_int_equal(count(), before);
    http(f->api,
         "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN
         "Mcp-Method: tools/call\r\nMcp-Name: add\r\n",
         call("add"), &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(count(), before + 1);
}

/* A tool whose rule requires a scope the token lacks: 403 with the step-up challenge, pointing
 * at the metadata document of the route the client used (on the caller's own sidecar when the
 * refusal comes from a peer), never at an address taken from the Host header. */
static void test_step_up(void **state)
{
    struct fx *f = *state;
    struct resp r;
    char want[256];
    int before = count();

    http(f->api, "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: evil.example\r\n" TOKEN,
         call("get_weather"), &r);
    assert_int_equal(r.status, 403);
    snprintf(want, sizeof(want),
             "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"weather:read\", "
             "resource_metadata=\"http://127.0.0.1:%d/.well-known/oauth-protected-resource/v1.0/"
             "invoke/app/method/mcp\"\r\n",
             f->api);
    assert_non_null(strstr(r.raw, want));
    assert_non_null(strstr(r.body, "\"code\":-32003"));
    http(f->caller_api, "POST /v1.0/mcp/tools HTTP/1.1\r\nHost: evil.example\r\n",
         call("get_weather"), &r);
    assert_int_equal(r.status, 403);
    snprintf(want, sizeof(want),
             "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"weather:read\", "
             "resource_metadata=\"http://127.0.0.1:%d/.well-known/oauth-protected-resource/v1.0/"
             "mcp/tools\"\r\n",
             f->caller_api);
    assert_non_null(strstr(r.raw, want));
    assert_null(strstr(r.raw, "evil"));
    assert_int_equal(count(), before);
}

/* Step-up behind a bearer that requires scopes of its own: the 403 names the union of what the
 * route needs (the bearer's requiredScopes, then the tool rule's requireScopes), so a client
 * asking for exactly those is not refused by the bearer next; the same through a caller's
 * sidecar; and a token with the union gets through. */
static void test_step_up_union(void **state)
{
    struct fx *f = *state;
    struct resp r;
    char head[4096], want[512];
    int before = count();

    snprintf(head, sizeof(head),
             "POST /v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n",
             token("openid"));
    http(f->guarded_api, head, call("get_weather"), &r);
    assert_int_equal(r.status, 403);
    snprintf(want, sizeof(want),
             "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"openid weather:read\", "
             "resource_metadata=\"http://127.0.0.1:%d" "/.well-known/oauth-protected-resource"
             "/v1.0/mcp/weather\"\r\n",
             f->guarded_api);
    if (strstr(r.raw, want) == NULL)
        fail_msg("want '%s' in:\n%s", want, r.raw);
    assert_non_null(strstr(r.body, "needs the scopes 'openid weather:read'"));
    /* Through the caller's sidecar: the guarded sidecar's challenge, pointing at the caller's
     * document. */
    snprintf(head, sizeof(head),
             "POST /v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: x\r\n"
             "Authorization: Bearer %s\r\n",
             token("openid"));
    http(f->caller_api, head, call("get_weather"), &r);
    assert_int_equal(r.status, 403);
    snprintf(want, sizeof(want),
             "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"openid weather:read\", "
             "resource_metadata=\"http://127.0.0.1:%d" "/.well-known/oauth-protected-resource"
             "/v1.0/invoke/guarded/method/mcp\"\r\n",
             f->caller_api);
    if (strstr(r.raw, want) == NULL)
        fail_msg("want '%s' in:\n%s", want, r.raw);
    assert_int_equal(count(), before);
    /* The union is enough; the bearer's own scope missing is the bearer's 403, naming it. */
    snprintf(head, sizeof(head),
             "POST /v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n",
             token("weather:read openid"));
    http(f->guarded_api, head, call("get_weather"), &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(count(), before + 1);
    snprintf(head, sizeof(head),
             "POST /v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n",
             token("weather:read"));
    http(f->guarded_api, head, call("get_weather"), &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.raw, "error=\"insufficient_scope\""));
    assert_non_null(strstr(r.raw, "scope=\"openid\""));
    assert_int_equal(count(), before + 1);
}

/* ---- RFC 9728 metadata -------------------------------------------------------------------- */

#define PRM "/.well-known/oauth-protected-resource"

static void test_metadata_local(void **state)
{
    struct fx *f = *state;
    struct resp r;
    char want[512];

    /* The guarded app's own sidecar: its bearer's issuer and scopes, the tool policy's scopes,
     * the resource where the client reached it, whatever the Host header says. */
    http(f->guarded_api,
         "GET " PRM "/v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: evil.example:9\r\n", NULL,
         &r);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want),
             "{\"resource\":\"http://127.0.0.1:%d/v1.0/invoke/guarded/method/mcp\","
             "\"authorization_servers\":[\"https://issuer.test/\"],\"scopes_supported\":"
             "[\"openid\",\"weather:read\"],\"bearer_methods_supported\":[\"header\"],"
             "\"resource_name\":\"guarded\"}",
             f->guarded_api);
    assert_string_equal(r.body, want);
    assert_non_null(strstr(r.raw, "Access-Control-Allow-Origin: *\r\n"));
    assert_null(strstr(r.raw, "evil"));
    /* Another path of the app: no tool policy there, so only the bearer's scope. */
    http(f->guarded_api, "GET " PRM "/v1.0/invoke/guarded/method/other HTTP/1.1\r\nHost: x\r\n",
         NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"scopes_supported\":[\"openid\"]"));
    /* The MCP proxy route, and the root form (this sidecar knows one MCP server). */
    http(f->guarded_api, "GET " PRM "/v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want), "\"resource\":\"http://127.0.0.1:%d/v1.0/mcp/weather\"",
             f->guarded_api);
    assert_non_null(strstr(r.body, want));
    assert_non_null(strstr(r.body, "\"resource_name\":\"weather\""));
    http(f->guarded_api, "GET " PRM " HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, want));
    /* Preflight, refusals: another method, an unknown route, an unprotected app. */
    http(f->guarded_api,
         "OPTIONS " PRM "/v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\n"
         "Access-Control-Request-Headers: mcp-protocol-version\r\n",
         NULL, &r);
    assert_int_equal(r.status, 204);
    assert_non_null(strstr(r.raw, "Access-Control-Allow-Headers: MCP-Protocol-Version\r\n"));
    http(f->guarded_api, "POST " PRM "/v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\n", "{}", &r);
    assert_int_equal(r.status, 405);
    http(f->guarded_api, "GET " PRM "/v1.0/mcp/nope HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    http(f->guarded_api, "GET " PRM "/v1.0/invoke/guarded/method/../x HTTP/1.1\r\nHost: x\r\n",
         NULL, &r);
    assert_int_equal(r.status, 404);
    http(f->api, "GET " PRM "/v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 404); /* no bearer guards "app": not a protected resource */
    http(f->api, "GET " PRM "x HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 404); /* not the metadata path at all */
}

/* From another app's sidecar: the guarded app's sidecar answers over mTLS, the caller's fills in
 * where its client reached it, and the 401 points there. */
static void test_metadata_from_peer(void **state)
{
    struct fx *f = *state;
    struct resp r;
    char want[512];

    http(f->caller_api, "GET " PRM "/v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: evil\r\n",
         NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want),
             "\"resource\":\"http://127.0.0.1:%d/v1.0/invoke/guarded/method/mcp\"", f->caller_api);
    assert_non_null(strstr(r.body, want));
    assert_non_null(strstr(r.body, "\"authorization_servers\":[\"https://issuer.test/\"]"));
    assert_non_null(strstr(r.body, "weather:read"));
    assert_non_null(strstr(r.raw, "Access-Control-Allow-Origin: *\r\n"));
    http(f->caller_api, "GET " PRM "/v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    /* A request without a token: the guarded sidecar's 401 comes back pointing at the caller's
     * sidecar's document. */
    http(f->caller_api, "POST /v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: x\r\n", "{}", &r);
    assert_int_equal(r.status, 401);
    snprintf(want, sizeof(want),
             "resource_metadata=\"http://127.0.0.1:%d" PRM "/v1.0/invoke/guarded/method/mcp\"",
             f->caller_api);
    assert_non_null(strstr(r.raw, want));
    /* On its own port the guarded sidecar names its own. */
    http(f->guarded_api, "POST /v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\n", "{}", &r);
    assert_int_equal(r.status, 401);
    /* (The bearer names its required scopes first: MCP 2025-11-25's scope on a 401.) */
    snprintf(want, sizeof(want),
             "resource_metadata=\"http://127.0.0.1:%d" PRM "/v1.0/mcp/weather\"",
             f->guarded_api);
    assert_non_null(strstr(r.raw, "WWW-Authenticate: Bearer "));
    assert_non_null(strstr(r.raw, want));
}

/* ---- The internal port: a peer sidecar over mTLS ----------------------------------------- */

static void test_peer(void **state)
{
    struct fx *f = *state;
    struct resp r;
    int before = count();

    http(f->caller_api,
         "GET /v1.0/invoke/app/method/from/peer HTTP/1.1\r\nHost: x\r\n"
         "dapr-caller-app-id: admin\r\n",
         NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(last(), "GET /from/peer\n"));
    /* The caller's identity comes from its certificate, never from a header. */
    assert_non_null(strstr(last(), "dapr-caller-app-id: caller\n"));
    assert_null(strstr(last(), "admin"));
    /* Access control at the callee, in Dapr's words. */
    http(f->caller_api, "GET /v1.0/invoke/app/method/secret/x HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "access control policy has denied access to id: "
                                   "spiffe://public/ns/default/caller operation: secret/x verb: "
                                   "GET"));
    /* The MCP guard applies to the peer's caller too. */
    http(f->caller_api, "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n", call("rm"), &r);
    assert_int_equal(r.status, 403);
    http(f->caller_api, "POST /v1.0/mcp/tools HTTP/1.1\r\nHost: x\r\n", call("add"), &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(last(), "dapr-caller-app-id: caller\n"));
    assert_int_equal(count(), before + 2);
}

/* Dapr's TestSpiffeID cases, through the strict parser of src/pki. */
static void test_caller_parse(void **state)
{
    struct wdn__sc_caller c;
    const char *bad[] = {"abcd",
                         "",
                         "spiffe://mydomain/ns/myappid",
                         "spiffe://mydomain/xx/ns/app",
                         "spiffe://mydomain/ns/ns/app/extra",
                         "spiffe:///ns/ns/app",
                         "spiffe://d/ns//app",
                         "spiffe://d/ns/n/",
                         "http://d/ns/n/a",
                         "SPIFFE://d/ns/n/a",
                         "spiffe://D/ns/n/a",
                         "spiffe://d:443/ns/n/a",
                         "spiffe://d/ns/n/a%2Fb",
                         "spiffe://d/ns/../a"};

    assert_int_equal(wdn__sc_caller_parse(WDN_STR("spiffe://mydomain/ns/mynamespace/myappid"), &c),
                     0);
    assert_string_equal(c.acl.trust_domain, "mydomain");
    assert_string_equal(c.acl.ns, "mynamespace");
    assert_string_equal(c.acl.app_id, "myappid");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wdn__sc_caller_parse(wdn_str_from_cstr(bad[i]), &c) != WDN_EPARSE)
            fail_msg("accepted %s", bad[i]);
    assert_null(c.acl.app_id);
}

/* ---- What the requests above left in the metrics ------------------------------------------ */

static void test_metrics(void **state)
{
    struct fx *f = *state;
    struct wdn_sidecar *sc = f->callee.sc;

    assert_true(atomic_load(&sc->m.requests[WDN__SC_PORT_API][204]) >= 1);
    assert_true(atomic_load(&sc->m.requests[WDN__SC_PORT_API][401]) >= 2);
    assert_true(atomic_load(&sc->m.requests[WDN__SC_PORT_API][403]) >= 4);
    assert_true(atomic_load(&sc->m.requests[WDN__SC_PORT_API][413]) >= 1);
    assert_true(atomic_load(&sc->m.requests[WDN__SC_PORT_INTERNAL][200]) >= 2);
    assert_true(atomic_load(&sc->m.requests[WDN__SC_PORT_INTERNAL][403]) >= 2);
    assert_true(atomic_load(&sc->m.acl[0][WDN_ACL_BY_OPERATION]) >= 1);
}

/* ---- An app that is down ------------------------------------------------------------------ */

static void test_app_down(void **state)
{
    struct running down;
    struct wdn_sidecar_opts o = {
        .app_id = "gone", .app_port = testnet_free_port(), .metrics_port = -1, .workers = 1};
    char ca[600];
    struct resp r;

    snprintf(ca, sizeof(ca), "%s/ca", dir);
    o.ca_dir = ca;
    start(&down, &o);
    http(wdn_sidecar_http_port(down.sc), "GET /v1.0/invoke/gone/method/x HTTP/1.1\r\nHost: x\r\n",
         NULL, &r);
    assert_int_equal(r.status, 502);
    assert_non_null(strstr(r.body, "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"failed to "
                                   "invoke, id: gone, err: app channel: "));
    assert_int_equal(atomic_load(&down.sc->m.requests[WDN__SC_PORT_API][502]), 1);
    stop(&down);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_token_metadata),
        cmocka_unit_test(test_invoke_forwards),
        cmocka_unit_test(test_invoke_refusals),
        cmocka_unit_test(test_mcp_guard),
        cmocka_unit_test(test_mcp_headers),
        cmocka_unit_test(test_step_up),
        cmocka_unit_test(test_step_up_union),
        cmocka_unit_test(test_metadata_local),
        cmocka_unit_test(test_metadata_from_peer),
        cmocka_unit_test(test_peer),
        cmocka_unit_test(test_caller_parse),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_app_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
