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
#include "http/tls.h"
#include "pki/pki.h"
#include "sidecar/internal.h"
#include "../support/testapp.h"
#include "../support/testdir.h"
#include "../support/testnet.h"
#include "../support/testsc.h"

/* ---- The app (tests/unit/support/testapp.h): a tools server on /mcp ---------------------- */

static const struct wdn_http_header json_ct = {{"Content-Type", 12}, {"application/json", 16}};
static const struct wdn_http_header sse_ct = {{"Content-Type", 12}, {"text/event-stream", 17}};

/* A tools/list answered as a stream of several events (x-sse: stream): a comment, retry and id
 * fields, a notification spread over two data lines, the list (with caching hints), an event
 * without data, a batch holding an empty list and one already private, an unfinished event. */
static const char sse_stream[] =
    ": warming up\n"
    "retry: 2500\n"
    "id: 7\n"
    "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\n"
    "data: \"params\":{\"progress\":1}}\n"
    "\n"
    "id: 7\n"
    "data: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"add\"},"
    "{\"name\":\"rm\"}],\"cacheScope\":\"shared\",\"ttlMs\":1000}}\n"
    "\n"
    "event: ping\n"
    "data\n"
    "\n"
    "id: 8\n"
    "data: [{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tools\":[],\"ttlMs\":5}},"
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"tools\":[{\"name\":\"rm\"}],"
    "\"cacheScope\":\"private\"}}]\n"
    "\n"
    "data: {\"unfinished\":true}\n";

static void app_answer(struct wdn_http_req *req, struct wdn_str body)
{
    const struct wdn_http_request *h = wdn_http_req_head(req);
    const struct wdn_http_header *ch = wdn_http_req_header(req, WDN_STR("x-challenge"));

    if (ch) { /* refuses with that challenge, 401 or the x-status asked for */
        const struct wdn_http_header *st = wdn_http_req_header(req, WDN_STR("x-status"));
        struct wdn_http_header www = {WDN_STR("WWW-Authenticate"), ch->value};
        wdn_http_respond(req, st && wdn_str_eq_cstr(st->value, "403") ? 403 : 401, &www, 1,
                         WDN_STR("refused"));
        return;
    }

    if (wdn_str_has_prefix(h->path, WDN_STR("/mcp"))) {
        bool sse = wdn_http_req_header(req, WDN_STR("x-sse")) != NULL;
        const char *list =
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"add\"},"
            "{\"name\":\"rm\"},{\"name\":\"echo\"}]}}";
        char sbuf[512];
        if (wdn_str_index(body, 't') >= 0 && strstr(body.p, "tools/list") != NULL) {
            const struct wdn_http_header *x = wdn_http_req_header(req, WDN_STR("x-sse"));
            if (sse && wdn_str_eq_cstr(x->value, "stream")) {
                wdn_http_respond(req, 200, &sse_ct, 1, wdn_str_from_cstr(sse_stream));
            } else if (sse) {
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

/* ---- Sidecars ---------------------------------------------------------------------------- */

struct fx {
    struct testsc callee, caller, guarded;
    int api, caller_api, guarded_api;
};

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

/* The internal port of an app "fake" that no sidecar serves: a TLS server with a workload
 * certificate of the project's CA for "fake", answering the metadata request with fake_doc. */
static int fake_port;
static const char *fake_doc;

static int fake_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    static const struct wdn_http_header ct = {{"Content-Type", 12}, {"application/json", 16}};

    (void)self;
    wdn_http_respond(req, 200, &ct, 1, wdn_str_from_cstr(fake_doc));
    return 0;
}

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
    char res[600], gres[600], ca[600], peers[600], text[256];
    int internal = testnet_free_port(), internal2 = testnet_free_port();

    fake_port = testnet_free_port();

    if (testdir_make("None") == NULL)
        return -1;
    wdn_log_init("test", WDN_LOG_ERROR, false);
    if (testapp_start(app_answer, 1 << 20) != 0)
        return -1;
    testdir_path("res", res, sizeof(res));
    testdir_path("ca", ca, sizeof(ca));
    testdir_path("peers", peers, sizeof(peers));
    mkdir(res, 0700);
    testdir_write("res/callee.yaml", callee_res);
    snprintf(text, sizeof(text), "app 127.0.0.1:%d\nguarded 127.0.0.1:%d\nfake 127.0.0.1:%d\n",
             internal, internal2, fake_port);
    testdir_write("peers", text);
    testdir_path("gres", gres, sizeof(gres));
    mkdir(gres, 0700);
    key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "fz", &kd);
    jwk = key ? wdn_jose_key_public_jwk(key) : NULL;
    if (jwk == NULL)
        return -1;
    snprintf(gtext, sizeof(gtext), guarded_res, jwk);
    free(jwk);
    testdir_write("gres/guarded.yaml", gtext);

    struct wdn_sidecar_opts o = {.app_id = "app",
                                 .app_port = testapp_port(),
                                 .internal_port = internal,
                                 .metrics_port = -1,
                                 .workers = 1,
                                 .ca_dir = ca,
                                 .config = "acl",
                                 .api_token = "secret",
                                 .app_api_token = "apptoken",
                                 .resources_paths = {res},
                                 .n_resources_paths = 1};
    testsc_up(&f.callee, &o);
    struct wdn_sidecar_opts oc = {.app_id = "caller",
                                  .metrics_port = -1,
                                  .workers = 1,
                                  .ca_dir = ca,
                                  .peers_file = peers,
                                  .resources_paths = {res},
                                  .n_resources_paths = 1};
    testsc_up(&f.caller, &oc);
    struct wdn_sidecar_opts og = {.app_id = "guarded",
                                  .app_port = testapp_port(),
                                  .internal_port = internal2,
                                  .metrics_port = -1,
                                  .workers = 1,
                                  .ca_dir = ca,
                                  .config = "auth",
                                  .resources_paths = {gres},
                                  .n_resources_paths = 1};
    testsc_up(&f.guarded, &og);
    f.api = wdn_sidecar_http_port(f.callee.sc);
    f.caller_api = wdn_sidecar_http_port(f.caller.sc);
    f.guarded_api = wdn_sidecar_http_port(f.guarded.sc);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    testsc_stop(&f->guarded);
    testsc_stop(&f->caller);
    testsc_stop(&f->callee);
    testapp_stop();
    wdn_jose_key_free(key);
    if (testdir_remove() != 0)
        return -1;
    wdn_jose_thread_cleanup();
    return 0;
}

#define TOKEN "dapr-api-token: secret\r\n"

/* ---- The API port ------------------------------------------------------------------------ */

static void test_healthz_token_metadata(void **state)
{
    struct fx *f = *state;
    struct testresp r;

    testapp_http(f->api, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 204); /* no token needed */
    testapp_http(f->api, "POST /v1.0/healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n", NULL,
                 &r);
    assert_int_equal(r.status, 405);
    testapp_http(f->api, "GET /v1.0/metadata HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.body, "invalid api token\n");
    testapp_http(f->api, "GET /v1.0/metadata HTTP/1.1\r\nHost: x\r\ndapr-api-token: secreT\r\n",
                 NULL, &r);
    assert_int_equal(r.status, 401);
    testapp_http(f->api, "GET /v1.0/metadata HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"id\":\"app\""));
    assert_non_null(strstr(r.body, "\"configuration\":\"acl\""));
}

static void test_invoke_forwards(void **state)
{
    struct fx *f = *state;
    struct testresp r;
    int before = testapp_count();
    const char *seen;

    testapp_http(
        f->api,
        "GET /v1.0/invoke/app/method/hello/world?q=1&r=%20 HTTP/1.1\r\nHost: evil\r\n" TOKEN
        "dapr-caller-app-id: admin\r\ndapr-callee-app-id: x\r\ntraceparent: forged\r\n"
        "Keep-Alive: timeout=5\r\nx-custom: 1\r\n",
        NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "app says hi");
    assert_int_equal(testapp_count(), before + 1);
    seen = testapp_last();
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
    testapp_http(f->api, "GET /world/2 HTTP/1.1\r\nHost: x\r\n" TOKEN "dapr-app-id: app\r\n", NULL,
                 &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(testapp_last(), "GET /world/2\n"));
    testapp_http(f->api, "POST /v1.0/invoke/app.default/method/b HTTP/1.1\r\nHost: x\r\n" TOKEN,
                 "xyz", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(testapp_last(), "POST /b\n"));
    assert_non_null(strstr(testapp_last(), "\n\nxyz"));
}

static void test_invoke_refusals(void **state)
{
    struct fx *f = *state;
    struct testresp r;
    int before = testapp_count();

    testapp_http(f->api, "GET /v1.0/invoke/bad%20id/method/x HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL,
                 &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body,
                        "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"invalid app id\"}");
    testapp_http(f->api, "GET /v1.0/invoke/app.other/method/x HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL,
                 &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "another namespace"));
    testapp_http(f->api, "GET /v1.0/invoke/app HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "failed getting app id"));
    testapp_http(f->api, "GET /nothing HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "404 page not found\n");
    testapp_http(f->api, "GET /v1.0/invoke/ghost/method/x HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "failed to invoke, id: ghost, err: "));
    testapp_http(f->api, "GET /v1.0/mcp/nope HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"errorCode\":\"ERR_MCP_SERVER_NOT_FOUND\",\"message\":\"no MCP "
                                "server named 'nope'\"}");
    /* A client body that breaks: bad chunked framing is answered in Dapr's shape. */
    testapp_http(f->api,
                 "POST /v1.0/invoke/app/method/echo HTTP/1.1\r\nHost: x\r\n" TOKEN
                 "Transfer-Encoding: chunked\r\n",
                 "zz\r\nbad\r\n0\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"errorCode\":\"ERR_DIRECT_INVOKE\""));
    assert_int_equal(testapp_count(), before);
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
    struct testresp r;
    int before = testapp_count();
    const char *h = "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN
                    "Content-Type: application/json\r\n";

    /* Refused calls never reach the app. */
    testapp_http(f->api, h, call("rm"), &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "\"code\":-32003"));
    testapp_http(f->api, "POST /v1.0/invoke/app/method/MCP/ HTTP/1.1\r\nHost: x\r\n" TOKEN,
                 call("rm"), &r);
    assert_int_equal(r.status, 403);
    testapp_http(f->api, "POST /v1.0/invoke/app/method/./%6Dcp HTTP/1.1\r\nHost: x\r\n" TOKEN,
                 call("rm"), &r);
    assert_int_equal(r.status, 403);
    testapp_http(f->api, h, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"code\":-32700"));
    testapp_http(f->api, h, "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"tools/call\"}", &r);
    assert_int_equal(r.status, 400);
    testapp_http(f->api,
                 "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN
                 "Content-Length: 5000000\r\n",
                 "", &r);
    assert_int_equal(r.status, 413);
    assert_int_equal(testapp_count(), before);

    /* A granted call arrives as the bytes that were checked. */
    testapp_http(f->api, h, call("add"), &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(testapp_count(), before + 1);
    assert_non_null(strstr(testapp_last(), "POST /mcp\n"));
    assert_non_null(strstr(testapp_last(), call("add")));
    /* The proxy endpoint /v1.0/mcp/<name> goes through the same guard. */
    testapp_http(f->api, "POST /v1.0/mcp/tools HTTP/1.1\r\nHost: x\r\n" TOKEN, call("echo"), &r);
    assert_int_equal(r.status, 200);
    testapp_http(f->api, "POST /v1.0/mcp/tools HTTP/1.1\r\nHost: x\r\n" TOKEN, call("rm"), &r);
    assert_int_equal(r.status, 403);
    assert_int_equal(testapp_count(), before + 2);

    /* tools/list answers are filtered to the granted tools, JSON and SSE. */
    testapp_http(f->api, h, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":"
                                "\"add\"},{\"name\":\"echo\"}]}}");
    testapp_http(f->api,
                 "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN "x-sse: 1\r\n",
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
    struct testresp r;
    int before = testapp_count();

    testapp_http(f->api,
                 "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN
                 "Mcp-Method: tools/call\r\nMcp-Name: add\r\n",
                 call("rm"), &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"code\":-32020"));
    testapp_http(f->api,
                 "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN
                 "Mcp-Method: tools/list\r\n",
                 call("add"), &r);
    assert_int_equal(r.status, 400);
    /* From a peer too: refused at the callee's sidecar, before its app. */
    testapp_http(f->caller_api,
                 "POST /v1.0/mcp/tools HTTP/1.1\r\nHost: x\r\nMcp-Method: tools/call\r\n"
                 "Mcp-Name: echo\r\n",
                 call("add"), &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "-32020"));
    assert_int_equal(testapp_count(), before);
    testapp_http(f->api,
                 "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN
                 "Mcp-Method: tools/call\r\nMcp-Name: add\r\n",
                 call("add"), &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(testapp_count(), before + 1);
}

/* A tool whose rule requires a scope the token lacks: 403 with the step-up challenge, pointing
 * at the metadata document of the route the client used (on the caller's own sidecar when the
 * refusal comes from a peer), never at an address taken from the Host header. */
static void test_step_up(void **state)
{
    struct fx *f = *state;
    struct testresp r;
    char want[256];
    int before = testapp_count();

    testapp_http(f->api,
                 "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: evil.example\r\n" TOKEN,
                 call("get_weather"), &r);
    assert_int_equal(r.status, 403);
    snprintf(want, sizeof(want),
             "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"weather:read\", "
             "resource_metadata=\"http://127.0.0.1:%d/.well-known/oauth-protected-resource/v1.0/"
             "invoke/app/method/mcp\"\r\n",
             f->api);
    assert_non_null(strstr(r.raw, want));
    assert_non_null(strstr(r.body, "\"code\":-32003"));
    testapp_http(f->caller_api, "POST /v1.0/mcp/tools HTTP/1.1\r\nHost: evil.example\r\n",
                 call("get_weather"), &r);
    assert_int_equal(r.status, 403);
    snprintf(want, sizeof(want),
             "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"weather:read\", "
             "resource_metadata=\"http://127.0.0.1:%d/.well-known/oauth-protected-resource/v1.0/"
             "mcp/tools\"\r\n",
             f->caller_api);
    assert_non_null(strstr(r.raw, want));
    assert_null(strstr(r.raw, "evil"));
    assert_int_equal(testapp_count(), before);
}

/* Step-up behind a bearer that requires scopes of its own: the 403 names the union of what the
 * route needs (the bearer's requiredScopes, then the tool rule's requireScopes), so a client
 * asking for exactly those is not refused by the bearer next; the same through a caller's
 * sidecar; and a token with the union gets through. */
static void test_step_up_union(void **state)
{
    struct fx *f = *state;
    struct testresp r;
    char head[4096], want[512];
    int before = testapp_count();

    snprintf(head, sizeof(head),
             "POST /v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n",
             token("openid"));
    testapp_http(f->guarded_api, head, call("get_weather"), &r);
    assert_int_equal(r.status, 403);
    snprintf(
        want, sizeof(want),
        "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"openid weather:read\", "
        "resource_metadata=\"http://127.0.0.1:%d"
        "/.well-known/oauth-protected-resource"
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
    testapp_http(f->caller_api, head, call("get_weather"), &r);
    assert_int_equal(r.status, 403);
    snprintf(
        want, sizeof(want),
        "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"openid weather:read\", "
        "resource_metadata=\"http://127.0.0.1:%d"
        "/.well-known/oauth-protected-resource"
        "/v1.0/invoke/guarded/method/mcp\"\r\n",
        f->caller_api);
    if (strstr(r.raw, want) == NULL)
        fail_msg("want '%s' in:\n%s", want, r.raw);
    assert_int_equal(testapp_count(), before);
    /* The union is enough; the bearer's own scope missing is the bearer's 403, naming it. */
    snprintf(head, sizeof(head),
             "POST /v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n",
             token("weather:read openid"));
    testapp_http(f->guarded_api, head, call("get_weather"), &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(testapp_count(), before + 1);
    snprintf(head, sizeof(head),
             "POST /v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n",
             token("weather:read"));
    testapp_http(f->guarded_api, head, call("get_weather"), &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.raw, "error=\"insufficient_scope\""));
    assert_non_null(strstr(r.raw, "scope=\"openid\""));
    assert_int_equal(testapp_count(), before + 1);
}

/* ---- RFC 9728 metadata -------------------------------------------------------------------- */

#define PRM "/.well-known/oauth-protected-resource"

static void test_metadata_local(void **state)
{
    struct fx *f = *state;
    struct testresp r;
    char want[512];

    /* The guarded app's own sidecar: its bearer's issuer and scopes, the tool policy's scopes,
     * the resource where the client reached it, whatever the Host header says. */
    testapp_http(f->guarded_api,
                 "GET " PRM "/v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: evil.example:9\r\n",
                 NULL, &r);
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
    testapp_http(f->guarded_api,
                 "GET " PRM "/v1.0/invoke/guarded/method/other HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"scopes_supported\":[\"openid\"]"));
    /* The MCP proxy route, and the root form (this sidecar knows one MCP server). */
    testapp_http(f->guarded_api, "GET " PRM "/v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want), "\"resource\":\"http://127.0.0.1:%d/v1.0/mcp/weather\"",
             f->guarded_api);
    assert_non_null(strstr(r.body, want));
    assert_non_null(strstr(r.body, "\"resource_name\":\"weather\""));
    testapp_http(f->guarded_api, "GET " PRM " HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, want));
    /* Preflight, refusals: another method, an unknown route, an unprotected app. */
    testapp_http(f->guarded_api,
                 "OPTIONS " PRM "/v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\n"
                 "Access-Control-Request-Headers: mcp-protocol-version\r\n",
                 NULL, &r);
    assert_int_equal(r.status, 204);
    assert_non_null(strstr(r.raw, "Access-Control-Allow-Headers: MCP-Protocol-Version\r\n"));
    testapp_http(f->guarded_api, "POST " PRM "/v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\n", "{}", &r);
    assert_int_equal(r.status, 405);
    testapp_http(f->guarded_api, "GET " PRM "/v1.0/mcp/nope HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    testapp_http(f->guarded_api,
                 "GET " PRM "/v1.0/invoke/guarded/method/../x HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 404);
    testapp_http(f->api, "GET " PRM "/v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n", NULL,
                 &r);
    assert_int_equal(r.status, 404); /* no bearer guards "app": not a protected resource */
    testapp_http(f->api, "GET " PRM "x HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 404); /* not the metadata path at all */
}

/* From another app's sidecar: the guarded app's sidecar answers over mTLS, the caller's fills in
 * where its client reached it, and the 401 points there. */
static void test_metadata_from_peer(void **state)
{
    struct fx *f = *state;
    struct testresp r;
    char want[512];

    testapp_http(f->caller_api,
                 "GET " PRM "/v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: evil\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want),
             "\"resource\":\"http://127.0.0.1:%d/v1.0/invoke/guarded/method/mcp\"", f->caller_api);
    assert_non_null(strstr(r.body, want));
    assert_non_null(strstr(r.body, "\"authorization_servers\":[\"https://issuer.test/\"]"));
    assert_non_null(strstr(r.body, "weather:read"));
    assert_non_null(strstr(r.raw, "Access-Control-Allow-Origin: *\r\n"));
    testapp_http(f->caller_api, "GET " PRM "/v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n",
                 NULL, &r);
    assert_int_equal(r.status, 404);
    /* A request without a token: the guarded sidecar's 401 comes back pointing at the caller's
     * sidecar's document. */
    testapp_http(f->caller_api, "POST /v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: x\r\n",
                 "{}", &r);
    assert_int_equal(r.status, 401);
    snprintf(want, sizeof(want),
             "resource_metadata=\"http://127.0.0.1:%d" PRM "/v1.0/invoke/guarded/method/mcp\"",
             f->caller_api);
    assert_non_null(strstr(r.raw, want));
    /* On its own port the guarded sidecar names its own. */
    testapp_http(f->guarded_api, "POST /v1.0/mcp/weather HTTP/1.1\r\nHost: x\r\n", "{}", &r);
    assert_int_equal(r.status, 401);
    /* (The bearer names its required scopes first: MCP 2025-11-25's scope on a 401.) */
    snprintf(want, sizeof(want),
             "resource_metadata=\"http://127.0.0.1:%d" PRM "/v1.0/mcp/weather\"", f->guarded_api);
    assert_non_null(strstr(r.raw, "WWW-Authenticate: Bearer "));
    assert_non_null(strstr(r.raw, want));
}

/* ---- The internal port: a peer sidecar over mTLS ----------------------------------------- */

static void test_peer(void **state)
{
    struct fx *f = *state;
    struct testresp r;
    int before = testapp_count();

    testapp_http(f->caller_api,
                 "GET /v1.0/invoke/app/method/from/peer HTTP/1.1\r\nHost: x\r\n"
                 "dapr-caller-app-id: admin\r\n",
                 NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(testapp_last(), "GET /from/peer\n"));
    /* The caller's identity comes from its certificate, never from a header. */
    assert_non_null(strstr(testapp_last(), "dapr-caller-app-id: caller\n"));
    assert_null(strstr(testapp_last(), "admin"));
    /* Access control at the callee, in Dapr's words. */
    testapp_http(f->caller_api, "GET /v1.0/invoke/app/method/secret/x HTTP/1.1\r\nHost: x\r\n",
                 NULL, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.body, "access control policy has denied access to id: "
                                   "spiffe://public/ns/default/caller operation: secret/x verb: "
                                   "GET"));
    /* The MCP guard applies to the peer's caller too. */
    testapp_http(f->caller_api, "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n",
                 call("rm"), &r);
    assert_int_equal(r.status, 403);
    testapp_http(f->caller_api, "POST /v1.0/mcp/tools HTTP/1.1\r\nHost: x\r\n", call("add"), &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(testapp_last(), "dapr-caller-app-id: caller\n"));
    assert_int_equal(testapp_count(), before + 2);
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

/* Corners of the API port's routing: HEAD on healthz; the dapr-app-id header form with a bare
 * "/" (the app gets "/") and with an API path (not an invocation: a plain 404); an unknown MCP
 * proxy name echoed only when it could be a resource name. */
static void test_api_route_corners(void **state)
{
    struct fx *f = *state;
    char head[1024], name[300];
    struct testresp r;
    int before = testapp_count();

    testapp_http(f->api, "HEAD /v1.0/healthz HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 204);
    testapp_http(f->api, "GET / HTTP/1.1\r\nHost: x\r\n" TOKEN "dapr-app-id: app\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(testapp_count(), before + 1);
    assert_non_null(strstr(testapp_last(), "GET /\n"));
    testapp_http(f->api, "GET /v1.0/other HTTP/1.1\r\nHost: x\r\n" TOKEN "dapr-app-id: app\r\n",
                 NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "404 page not found\n");
    testapp_http(f->api, "GET /v1.0/mcp/a.b-9 HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"errorCode\":\"ERR_MCP_SERVER_NOT_FOUND\",\"message\":\"no MCP "
                                "server named 'a.b-9'\"}");
    testapp_http(f->api, "GET /v1.0/mcp/Tools HTTP/1.1\r\nHost: x\r\n" TOKEN, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "{\"errorCode\":\"ERR_MCP_SERVER_NOT_FOUND\",\"message\":\"no MCP "
                                "server with that name\"}");
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(head, sizeof(head), "GET /v1.0/mcp/%s HTTP/1.1\r\nHost: x\r\n" TOKEN, name);
    testapp_http(f->api, head, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "no MCP server with that name"));
    assert_int_equal(testapp_count(), before + 1);
}

/* ---- Challenges from behind a peer -------------------------------------------------------- */

/* A Bearer challenge that comes back from another app's sidecar (401 or 403) is pointed at this
 * sidecar's metadata document, where the client reached it (RFC 9728 section 5.1); any other
 * scheme and a challenge that names its metadata already are passed on as they are. */
static void test_peer_challenges_point_here(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *challenge, *path; /* path under /v1.0/invoke/app/method/ */
        bool pointed;
    } cases[] = {
        {"Bearer realm=\"app\"", "auth", true},
        {"Bearer", "auth", true},
        {"bearer error=\"insufficient_scope\"", "auth", true},
        {"Basic realm=\"app\"", "auth", false},
        {"Bearerx realm=\"app\"", "auth", false},
        {"Bear", "auth", false},
        {"Bearer resource_metadata=\"https://as.example/m\"", "auth", false},
    };
    char head[1024], want[512];
    struct testresp r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int status = 401; status <= 403; status += 2) {
            snprintf(head, sizeof(head),
                     "GET /v1.0/invoke/app/method/%s HTTP/1.1\r\nHost: x\r\nx-challenge: %s\r\n"
                     "x-status: %d\r\n",
                     cases[i].path, cases[i].challenge, status);
            testapp_http(f->caller_api, head, NULL, &r);
            if (r.status != status)
                fail_msg("%s (%d): %s", cases[i].challenge, status, r.raw);
            if (cases[i].pointed)
                snprintf(want, sizeof(want),
                         "WWW-Authenticate: %s%sresource_metadata=\"http://127.0.0.1:%d/"
                         ".well-known/oauth-protected-resource/v1.0/invoke/app/method/%s\"\r\n",
                         cases[i].challenge, strchr(cases[i].challenge, ' ') ? ", " : " ",
                         f->caller_api, cases[i].path);
            else
                snprintf(want, sizeof(want), "WWW-Authenticate: %s\r\n", cases[i].challenge);
            if (strstr(r.raw, want) == NULL)
                fail_msg("%s (%d): expected %s in %s", cases[i].challenge, status, want, r.raw);
        }
    }
}

/* A streamed tools/list is rewritten event by event: fields sent when they change, a message
 * without tools passed on line by line, every list filtered to the grants and marked private
 * where it carries caching hints (a batch too), comments and an unfinished event dropped. */
static void test_mcp_sse_stream_filtered(void **state)
{
    struct fx *f = *state;
    struct testresp r;

    testapp_http(f->api,
                 "POST /v1.0/invoke/app/method/mcp HTTP/1.1\r\nHost: x\r\n" TOKEN
                 "x-sse: stream\r\nContent-Type: application/json\r\n",
                 "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(
        r.body,
        "event: message\nid: 7\nretry: 2500\n"
        "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\n"
        "data: \"params\":{\"progress\":1}}\n\n"
        "event: message\n"
        "data: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"add\"}],"
        "\"cacheScope\":\"private\",\"ttlMs\":1000}}\n\n"
        "event: ping\ndata:\n\n"
        "event: message\nid: 8\n"
        "data: [{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tools\":[],\"ttlMs\":5,"
        "\"cacheScope\":\"private\"}},{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"tools\":[],"
        "\"cacheScope\":\"private\"}}]\n\n");
}

/* The metadata of an app behind another sidecar is that sidecar's document, completed here with
 * where the client reached it: a document that names its resource keeps it; one too large, too
 * deep or not a JSON object is refused rather than passed on. */
static void test_metadata_from_peer_checked(void **state)
{
    static struct wdn_http_handler h = {.on_req = fake_on_req};
    static struct wdn_http_handler *chain[] = {&h};
    struct fx *f = *state;
    char ca_dir[600], listen[64], want[512], big[WDN_PRM_MAX_BYTES + 64], deep[200];
    struct wdn_diag d;
    struct wdn_pki_cert *ca, *wl;
    struct wdn_tls_ctx *tls;
    struct wdn_http_server *srv;
    struct testresp r;
    const char *get = "GET /.well-known/oauth-protected-resource/v1.0/invoke/fake/method/mcp "
                      "HTTP/1.1\r\nHost: x\r\n";

    testdir_path("ca", ca_dir, sizeof(ca_dir));
    ca = wdn_pki_ca_load(ca_dir, &d);
    assert_non_null(ca);
    wl = wdn_pki_issue_workload(ca, &(struct wdn_pki_workload_opts){.app_id = "fake"}, &d);
    assert_non_null(wl);
    tls = wdn_tls_ctx_new(&(struct wdn_tls_config){.server = true,
                                                   .cert = wl->cert,
                                                   .key = wl->key,
                                                   .ca = ca->cert,
                                                   .verify = WDN_TLS_VERIFY_REQUIRED},
                          &d);
    assert_non_null(tls);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", fake_port);
    assert_int_equal(
        wdn_http_server_start(
            &(struct wdn_http_server_config){
                .listen = listen, .workers = 1, .handlers = chain, .nhandlers = 1, .tls = tls},
            &srv),
        0);

    fake_doc = "{\"authorization_servers\":[\"https://as.test/\"]}";
    testapp_http(f->caller_api, get, NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(want, sizeof(want),
             "{\"authorization_servers\":[\"https://as.test/\"],\"resource\":"
             "\"http://127.0.0.1:%d/v1.0/invoke/fake/method/mcp\",\"resource_name\":\"fake\"}",
             f->caller_api);
    assert_string_equal(r.body, want);
    assert_non_null(strstr(r.raw, "Access-Control-Allow-Origin: *"));

    fake_doc = "{\"resource\":\"https://api.test/mcp\",\"resource_name\":\"Weather\"}";
    testapp_http(f->caller_api, get, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, fake_doc);

    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    big[sizeof(big) - 1] = '\0';
    memset(deep, '[', sizeof(deep) - 1);
    deep[sizeof(deep) - 1] = '\0';
    const char *bad[] = {"[\"not an object\"]", "{\"resource\":", big, deep};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fake_doc = bad[i];
        testapp_http(f->caller_api, get, NULL, &r);
        if (r.status != 502)
            fail_msg("document %zu: %d %s", i, r.status, r.raw);
        assert_null(strstr(r.body, "not an object"));
    }
    wdn_http_server_free(srv);
    wdn_tls_ctx_free(tls);
    wdn_pki_cert_free(wl);
    wdn_pki_cert_free(ca);
}

/* ---- An app that is down ------------------------------------------------------------------ */

static void test_app_down(void **state)
{
    struct testsc down;
    struct wdn_sidecar_opts o = {
        .app_id = "gone", .app_port = testnet_free_port(), .metrics_port = -1, .workers = 1};
    char ca[600];
    struct testresp r;

    testdir_path("ca", ca, sizeof(ca));
    o.ca_dir = ca;
    testsc_up(&down, &o);
    testapp_http(wdn_sidecar_http_port(down.sc),
                 "GET /v1.0/invoke/gone/method/x HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 502);
    assert_non_null(strstr(r.body, "{\"errorCode\":\"ERR_DIRECT_INVOKE\",\"message\":\"failed to "
                                   "invoke, id: gone, err: app channel: "));
    assert_int_equal(atomic_load(&down.sc->m.requests[WDN__SC_PORT_API][502]), 1);
    testsc_stop(&down);
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
        cmocka_unit_test(test_mcp_sse_stream_filtered),
        cmocka_unit_test(test_metadata_from_peer_checked),
        cmocka_unit_test(test_api_route_corners),
        cmocka_unit_test(test_peer_challenges_point_here),
        cmocka_unit_test(test_app_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
