/* What a verified token does on its way to the app, through a sidecar whose appHttpPipeline
 * runs a bearer with forwardClaims and stripToken, in front of an MCP server whose only grant
 * needs a scope: the app gets the token's claims in the configured headers and never the
 * caller's forged ones, nor the token itself; a caller whose token lacks the scope of every
 * grant is asked to step up (403 insufficient_scope naming the scope) before its body is read,
 * and reaches the tool once its token has it. Issue 18. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "jose/crypto.h"
#include "jose/sign.h"
#include "sidecar/internal.h"
#include "../support/logcap.h"
#include "../support/testnet.h"
#include "../support/testsc.h"

/* ---- The recording app --------------------------------------------------------------------- */

static pthread_mutex_t app_mu = PTHREAD_MUTEX_INITIALIZER;
static int app_count;
static char app_last[16384]; /* "name: value\n" per header, then the body */

static void app_answer(struct wdn_http_req *req, int status, struct wdn_str body, void *ud)
{
    const struct wdn_http_request *h = wdn_http_req_head(req);
    size_t k = 0;

    (void)ud;
    pthread_mutex_lock(&app_mu);
    app_count += status == 0;
    app_last[0] = '\0';
    for (size_t i = 0; i < h->nheaders && k < sizeof(app_last); i++)
        k += (size_t)snprintf(app_last + k, sizeof(app_last) - k, "%.*s: %.*s\n",
                              WDN_STR_FMT(h->headers[i].name), WDN_STR_FMT(h->headers[i].value));
    if (k < sizeof(app_last) && status == 0)
        snprintf(app_last + k, sizeof(app_last) - k, "\n%.*s", (int)body.len, body.p);
    pthread_mutex_unlock(&app_mu);
    wdn_http_respond(req, 200, NULL, 0, WDN_STR("app says hi"));
}

static int app_on_req(struct wdn_http_handler *self, struct wdn_http_req *req)
{
    (void)self;
    return wdn_http_req_read_all(req, 1 << 20, app_answer, NULL) == 0 ? 0 : WDN_EIO;
}

static struct wdn_http_handler app_handler = {.on_req = app_on_req};
static struct wdn_http_handler *app_chain[] = {&app_handler};

static int count(void)
{
    pthread_mutex_lock(&app_mu);
    int n = app_count;
    pthread_mutex_unlock(&app_mu);
    return n;
}

static const char *last(void)
{
    static char copy[sizeof(app_last)];
    pthread_mutex_lock(&app_mu);
    memcpy(copy, app_last, sizeof(copy));
    pthread_mutex_unlock(&app_mu);
    return copy;
}

/* ---- The sidecar --------------------------------------------------------------------------- */

static char dir[] = "/tmp/wdn-sc-token-XXXXXX";

/* %s: the test key's public JWK. */
static const char res_yaml[] =
    "apiVersion: dapr.io/v1alpha1\n"
    "kind: Component\n"
    "metadata: {name: bearer}\n"
    "spec:\n"
    "  type: middleware.http.bearer\n"
    "  version: v1\n"
    "  metadata:\n"
    "  - {name: issuer, value: 'https://issuer.test/'}\n"
    "  - {name: audience, value: guarded}\n"
    "  - {name: forwardClaims, value: 'sub:X-User-Id, scope:X-Scopes'}\n"
    "  - {name: stripToken, value: 'true'}\n"
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
    "metadata: {name: admin-tools}\n"
    "spec:\n"
    "  appId: guarded\n"
    "  rules:\n"
    "  - {callers: ['*'], tools: ['admin_*'], action: allow, requireScopes: [admin]}\n";

static struct wdn_jose_key *key;
static struct testsc sc;
static struct wdn_http_server *app;
static int api;

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

/* A token of the bearer's issuer for "guarded", for sub, with these scopes. */
static const char *token(const char *sub, const char *scope)
{
    static char out[2048];
    char claims[512];
    struct wdn_buf b;
    long now = (long)wdn_clock_unix();

    snprintf(claims, sizeof(claims),
             "{\"iss\":\"https://issuer.test/\",\"sub\":\"%s\",\"aud\":\"guarded\","
             "\"iat\":%ld,\"exp\":%ld,\"scope\":\"%s\"}",
             sub, now, now + 600, scope);
    wdn_buf_init(&b, sizeof(out) - 1);
    assert_int_equal(wdn_jws_sign(key, wdn_str_from_cstr(claims), NULL, &b), 0);
    snprintf(out, sizeof(out), "%s", wdn_buf_cstr(&b));
    wdn_buf_reset(&b);
    return out;
}

static int setup(void **state)
{
    static char text[sizeof(res_yaml) + 1024];
    struct wdn_http_server_config ac = {
        .listen = "127.0.0.1:0", .workers = 1, .handlers = app_chain, .nhandlers = 1};
    char home[600], res[600], ca[600], why[300];
    struct wdn_diag kd;
    char *jwk;

    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(home, sizeof(home), "%s/home", dir);
    setenv("WARDEN_HOME", home, 1);
    wdn_log_init("test", WDN_LOG_INFO, false);
    if (logcap_begin() != 0 || wdn_http_server_start(&ac, &app) != 0)
        return -1;
    key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "k1", &kd);
    jwk = key ? wdn_jose_key_public_jwk(key) : NULL;
    if (jwk == NULL)
        return -1;
    snprintf(text, sizeof(text), res_yaml, jwk);
    free(jwk);
    snprintf(res, sizeof(res), "%s/res", dir);
    snprintf(ca, sizeof(ca), "%s/ca", dir);
    mkdir(res, 0700);
    write_file("res/guarded.yaml", text);
    struct wdn_sidecar_opts o = {.app_id = "guarded",
                                 .app_port = wdn_http_server_port(app),
                                 .metrics_port = -1,
                                 .workers = 1,
                                 .ca_dir = ca,
                                 .config = "auth",
                                 .resources_paths = {res},
                                 .n_resources_paths = 1};
    if (testsc_start(&sc, &o, why, sizeof(why)) != 0) {
        fprintf(stderr, "%s\n", why);
        return -1;
    }
    api = wdn_sidecar_http_port(sc.sc);
    return testnet_wait_port(api, 10000);
}

static int teardown(void **state)
{
    char cmd[600];

    (void)state;
    testsc_stop(&sc);
    wdn_http_server_free(app);
    wdn_jose_key_free(key);
    logcap_end(true); /* shown by ctest only when a test failed */
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return -1;
    wdn_jose_thread_cleanup();
    return 0;
}

struct resp {
    int status;
    char raw[1 << 15];
    const char *body;
};

/* head: request line and headers ("\r\n" each, no blank line); body may be NULL. */
static void http(const char *head, const char *body, struct resp *r)
{
    char req[1 << 14];
    int fd = testnet_connect(api, 20000), closed;
    int n = snprintf(req, sizeof(req), "%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     head, body ? strlen(body) : 0, body ? body : "");

    assert_true(fd >= 0);
    assert_true(n > 0 && (size_t)n < sizeof(req));
    assert_int_equal(testnet_send_all(fd, req, (size_t)n), 0);
    testnet_recv_until_close(fd, r->raw, sizeof(r->raw), &closed);
    close(fd);
    r->status = 0;
    sscanf(r->raw, "HTTP/1.1 %d", &r->status);
    r->body = strstr(r->raw, "\r\n\r\n");
    r->body = r->body ? r->body + 4 : "";
}

/* ---- Tests --------------------------------------------------------------------------------- */

/* The app learns who called from the headers forwardClaims names; a caller sending those headers
 * itself is ignored (they are removed before the verified values go in), and stripToken keeps
 * the token away from the app. */
static void test_claims_forwarded_token_stripped(void **state)
{
    char head[4096];
    struct resp r;
    int before = count();

    (void)state;
    snprintf(head, sizeof(head),
             "GET /v1.0/invoke/guarded/method/hello HTTP/1.1\r\nHost: x\r\n"
             "X-User-Id: root\r\nx-scopes: everything\r\nAuthorization: Bearer %s\r\n",
             token("alice", "openid read"));
    http(head, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "app says hi");
    assert_int_equal(count(), before + 1);
    const char *seen = last();
    assert_non_null(strstr(seen, "X-User-Id: alice\n"));
    assert_non_null(strstr(seen, "X-Scopes: openid read\n"));
    assert_null(strstr(seen, "root"));
    assert_null(strstr(seen, "everything"));
    assert_null(strcasestr(seen, "authorization"));
    assert_null(strstr(seen, "Bearer"));

    /* Without a token nothing is forwarded at all. */
    http("GET /v1.0/invoke/guarded/method/hello HTTP/1.1\r\nHost: x\r\nX-User-Id: root\r\n",
         NULL, &r);
    assert_int_equal(r.status, 401);
    assert_int_equal(count(), before + 1);
}

#define CALL_ADMIN                                                                                \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"             \
    "\"admin_reset\"}}"

/* Every grant of the MCP server needs the scope admin: a token without it is not refused as an
 * unknown endpoint (404) but asked to step up, with the scope to ask for, before the body is
 * read; the tool is reached once the token carries it. */
static void test_scope_only_grant_steps_up(void **state)
{
    char head[4096];
    struct resp r;
    int before = count();
    uint64_t denied = atomic_load(&sc.sc->m.requests[WDN__SC_PORT_API][403]);

    (void)state;
    logcap_mark();
    snprintf(head, sizeof(head),
             "POST /v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
             "Authorization: Bearer %s\r\n",
             token("alice", "openid"));
    http(head, CALL_ADMIN, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.raw, "WWW-Authenticate: Bearer error=\"insufficient_scope\", "
                                  "scope=\"admin\""));
    assert_non_null(strstr(r.body, "\"code\":-32003"));
    assert_non_null(strstr(r.body, "needs the scopes 'admin'"));
    assert_true(logcap_wait("decision=deny mcpserver=admin-tools caller=guarded "
                            "reason=insufficient_scope scope=\"admin\" status=403",
                            10000));
    assert_int_equal(count(), before);
    assert_int_equal(atomic_load(&sc.sc->m.requests[WDN__SC_PORT_API][403]), denied + 1);

    snprintf(head, sizeof(head),
             "POST /v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
             "Authorization: Bearer %s\r\n",
             token("alice", "openid admin"));
    http(head, CALL_ADMIN, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(count(), before + 1);
    assert_non_null(strstr(last(), "admin_reset"));
}

/* A refusal's challenge points at the metadata document of the route the client reached
 * (RFC 9728 section 5.1), built from this sidecar's own origin, never the Host header; a path
 * that cannot be quoted in the header as it is (a quote) gets a challenge without the pointer
 * rather than a broken or injected parameter. */
static void test_challenge_points_at_metadata(void **state)
{
    char want[512];
    struct resp r;

    (void)state;
    http("GET /v1.0/invoke/guarded/method/hello HTTP/1.1\r\nHost: evil.test\r\n", NULL, &r);
    assert_int_equal(r.status, 401);
    snprintf(want, sizeof(want),
             "WWW-Authenticate: Bearer resource_metadata=\"http://127.0.0.1:%d"
             "/.well-known/oauth-protected-resource/v1.0/invoke/guarded/method/hello\"\r\n",
             api);
    if (strstr(r.raw, want) == NULL)
        fail_msg("no %s in %s", want, r.raw);
    assert_null(strstr(r.raw, "evil.test"));
    http("GET /v1.0/invoke/guarded/method/say\"hi HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.raw, "WWW-Authenticate: Bearer\r\n"));
    assert_null(strstr(r.raw, "resource_metadata"));
    /* Bytes outside ASCII do not get that far: the HTTP parser refuses the request line. */
    http("GET /v1.0/invoke/guarded/method/caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n", NULL, &r);
    assert_int_equal(r.status, 400);
}

/* Allowed requests leave no line at the default level (one line per denial is what operators
 * read), and one per decision at debug level: who the token named, which tool was granted. */
static void test_allow_decisions_logged_at_debug(void **state)
{
    char head[4096];
    struct resp r;

    (void)state;
    snprintf(head, sizeof(head),
             "POST /v1.0/invoke/guarded/method/mcp HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
             "Authorization: Bearer %s\r\n",
             token("bob", "admin"));
    logcap_mark();
    http(head, CALL_ADMIN, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(logcap_count("decision=allow"), 0);

    wdn_log_level = WDN_LOG_DEBUG; /* what --log-level debug sets; read by the workers */
    http(head, CALL_ADMIN, &r);
    wdn_log_level = WDN_LOG_INFO;
    assert_int_equal(r.status, 200);
    assert_true(logcap_wait("decision=allow pipeline=appHttpPipeline sub=bob cached=", 10000));
    assert_true(logcap_wait("decision=allow mcpserver=admin-tools caller=guarded "
                            "tool=\"admin_reset\"",
                            10000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claims_forwarded_token_stripped),
        cmocka_unit_test(test_scope_only_grant_steps_up),
        cmocka_unit_test(test_challenge_points_at_metadata),
        cmocka_unit_test(test_allow_decisions_logged_at_debug),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
