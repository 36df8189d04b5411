/* Unit tests for MCP authorization in the client (include/warden/mcp_auth.h) against a scripted
 * resource server and authorization server (tests/unit/support/fakehttp.c), and a second one on
 * another origin playing the attacker. Besides the flows (client credentials, authorization code
 * with PKCE through the loopback listener, refresh, the token cache), one test per attack:
 * metadata naming an authorization server on another origin to catch the client secret, an iss
 * mismatch on the redirect (mix-up), a resource that differs from the server URL, a redirect URI
 * that is not loopback, a step-up loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "support/fakehttp.h"
#include "warden/mcp.h"
#include "warden/mcp_auth.h"

#define SECRET "s3cr3t-value"

/* One scripted world: a resource at /mcp, its metadata, an authorization server under /as. */
struct world {
    struct fakehttp *srv;
    char base[64];
    pthread_mutex_t lock;
    /* behaviour */
    const char *as_url;          /* what the resource metadata names (default: our /as) */
    const char *prm_resource;    /* override of the metadata's resource */
    const char *iss_in_redirect; /* override of the authorize redirect's iss */
    bool iss_supported;
    bool step_up_forever;     /* /mcp answers 403 insufficient_scope with a new scope each time */
    const char *dcr_redirect; /* override of redirect_uris in the registration answer */
    /* observations */
    int metadata_gets, token_posts, authorize_gets, register_posts, mcp_posts, refreshes;
    int step;
    char last_token_body[4096], last_token_auth[512], last_scope[256], last_resource[256];
    char issued[32][64]; /* tokens issued, valid at /mcp */
    int nissued;
};

static struct world A, B; /* A: the honest servers; B: the attacker on another origin */

static void ans(const struct fakehttp_req *req, int status, const char *hdrs, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ans(const struct fakehttp_req *req, int status, const char *hdrs, const char *fmt, ...)
{
    char body[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    fakehttp_respond(req, status, hdrs, body);
}

static bool token_valid(struct world *w, const char *authz)
{
    for (int i = 0; i < w->nissued; i++) {
        char want[80];
        snprintf(want, sizeof(want), "Bearer %s", w->issued[i]);
        if (strcmp(authz, want) == 0)
            return true;
    }
    return false;
}

static void mcp(struct world *w, const struct fakehttp_req *req)
{
    char authz[512] = "", hdr[512];
    json_t *body = json_loads(req->body, 0, NULL), *id = json_object_get(body, "id");
    const char *method = json_string_value(json_object_get(body, "method"));

    w->mcp_posts++;
    fakehttp_header(req, "Authorization", authz, sizeof(authz));
    if (!token_valid(w, authz)) {
        snprintf(hdr, sizeof(hdr),
                 "WWW-Authenticate: Bearer resource_metadata=\"%s/.well-known/"
                 "oauth-protected-resource/mcp\", scope=\"read\"\r\n",
                 w->base);
        ans(req, 401, hdr, "{\"error\":\"invalid_token\"}");
    } else if (w->step_up_forever && method != NULL && strcmp(method, "tools/list") == 0) {
        snprintf(hdr, sizeof(hdr),
                 "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"s%d\", "
                 "resource_metadata=\"%s/.well-known/oauth-protected-resource/mcp\"\r\n",
                 ++w->step, w->base);
        ans(req, 403, hdr, "{\"error\":\"insufficient_scope\"}");
    } else if (id == NULL) {
        fakehttp_respond(req, 202, NULL, NULL);
    } else if (strcmp(method, "initialize") == 0) {
        ans(req, 200, NULL,
            "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"protocolVersion\":\"2025-11-25\","
            "\"capabilities\":{},\"serverInfo\":{\"name\":\"t\",\"version\":\"1\"}}}",
            (long long)json_integer_value(id));
    } else {
        ans(req, 200, NULL, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"tools\":[]}}",
            (long long)json_integer_value(id));
    }
    json_decref(body);
}

static void token(struct world *w, const struct fakehttp_req *req)
{
    char grant[64] = "";

    w->token_posts++;
    snprintf(w->last_token_body, sizeof(w->last_token_body), "%s", req->body);
    w->last_token_auth[0] = '\0';
    fakehttp_header(req, "Authorization", w->last_token_auth, sizeof(w->last_token_auth));
    fakehttp_form(req->body, "grant_type", grant, sizeof(grant));
    if (!fakehttp_form(req->body, "scope", w->last_scope, sizeof(w->last_scope)))
        w->last_scope[0] = '\0';
    if (!fakehttp_form(req->body, "resource", w->last_resource, sizeof(w->last_resource)))
        w->last_resource[0] = '\0';
    if (strcmp(grant, "refresh_token") == 0)
        w->refreshes++;
    if (w->nissued < 32)
        snprintf(w->issued[w->nissued++], 64, "tok-%d", w->token_posts);
    /* Client credentials get no refresh token (RFC 6749 4.4.3), the other grants one. */
    if (strcmp(grant, "client_credentials") == 0)
        ans(req, 200, NULL,
            "{\"access_token\":\"tok-%d\",\"token_type\":\"Bearer\",\"expires_in\":3600}",
            w->token_posts);
    else
        ans(req, 200, NULL,
            "{\"access_token\":\"tok-%d\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
            "\"refresh_token\":\"rt-%d\"}",
            w->token_posts, w->token_posts);
}

static void authorize(struct world *w, const struct fakehttp_req *req)
{
    char redirect[512] = "", state[128] = "", loc[1200], as[128];

    w->authorize_gets++;
    fakehttp_query(req->target, "redirect_uri", redirect, sizeof(redirect));
    fakehttp_query(req->target, "state", state, sizeof(state));
    snprintf(as, sizeof(as), "%s/as", w->base);
    snprintf(loc, sizeof(loc), "Location: %s?code=c%d&state=%s&iss=%s\r\n", redirect,
             w->authorize_gets, state, w->iss_in_redirect ? w->iss_in_redirect : as);
    fakehttp_respond(req, 302, loc, NULL);
}

static void serve(void *ud, const struct fakehttp_req *req)
{
    struct world *w = ud;
    char as[128];
    const char *path = req->target;

    pthread_mutex_lock(&w->lock);
    snprintf(as, sizeof(as), "%s/as", w->base);
    if (strcmp(path, "/mcp") == 0) {
        mcp(w, req);
    } else if (strcmp(path, "/.well-known/oauth-protected-resource/mcp") == 0) {
        char res[256];
        w->metadata_gets++;
        snprintf(res, sizeof(res), "%s/mcp", w->base);
        ans(req, 200, NULL, "{\"resource\":\"%s\",\"authorization_servers\":[\"%s\"]}",
            w->prm_resource ? w->prm_resource : res, w->as_url ? w->as_url : as);
    } else if (strcmp(path, "/.well-known/oauth-authorization-server/as") == 0) {
        w->metadata_gets++;
        ans(req, 200, NULL,
            "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/authorize\",\"token_endpoint\":"
            "\"%s/token\",\"registration_endpoint\":\"%s/register\","
            "\"code_challenge_methods_supported\":[\"S256\"],"
            "\"token_endpoint_auth_methods_supported\":[\"client_secret_basic\",\"none\"],"
            "\"authorization_response_iss_parameter_supported\":%s}",
            as, as, as, as, w->iss_supported ? "true" : "false");
    } else if (strcmp(path, "/as/token") == 0) {
        token(w, req);
    } else if (strncmp(path, "/as/authorize?", 14) == 0) {
        authorize(w, req);
    } else if (strcmp(path, "/as/register") == 0) {
        char redirect[512] = "";
        json_t *body = json_loads(req->body, 0, NULL);
        w->register_posts++;
        snprintf(redirect, sizeof(redirect), "%s",
                 json_string_value(json_array_get(json_object_get(body, "redirect_uris"), 0))
                     ? json_string_value(json_array_get(json_object_get(body, "redirect_uris"), 0))
                     : "");
        ans(req, 201, NULL, "{\"client_id\":\"dyn-1\",\"redirect_uris\":[\"%s\"]}",
            w->dcr_redirect ? w->dcr_redirect : redirect);
        json_decref(body);
    } else {
        fakehttp_respond(req, 404, NULL, "{}");
    }
    pthread_mutex_unlock(&w->lock);
}

static int start_world(struct world *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    w->srv = fakehttp_start(serve, w);
    if (w->srv == NULL)
        return -1;
    fakehttp_url(w->srv, "", w->base, sizeof(w->base));
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return start_world(&A) != 0 || start_world(&B) != 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    fakehttp_stop(A.srv);
    fakehttp_stop(B.srv);
    pthread_mutex_destroy(&A.lock);
    pthread_mutex_destroy(&B.lock);
    return 0;
}

static int browser(void *ud, const char *url)
{
    (void)ud;
    return fakehttp_browse(url, NULL, 0);
}

/* A client for A's /mcp with the given OAuth settings; connect and tools/list. */
static int run_client(struct wdn_mcp_oauth_config *oc, struct wdn_mcp_oauth **out,
                      struct wdn_mcp_error *e)
{
    char url[128], err[256] = "";
    struct wdn_mcp_oauth *o;
    struct wdn_mcp_client *c;
    json_t *tools = NULL;
    int rc;

    snprintf(url, sizeof(url), "%s/mcp", A.base);
    oc->server_url = url;
    if (oc->browser == NULL)
        oc->browser = browser;
    oc->login_timeout_ms = 10000;
    o = wdn_mcp_oauth_new(oc, err, sizeof(err));
    if (o == NULL)
        fail_msg("oauth: %s", err);
    struct wdn_mcp_client_config cfg = {
        .url = url, .auth = wdn_mcp_oauth_provider(o), .timeout_ms = 10000};
    c = wdn_mcp_client_new(&cfg, e);
    assert_non_null(c);
    rc = wdn_mcp_client_connect(c, e);
    if (rc == 0)
        rc = wdn_mcp_client_list_tools(c, &tools, e);
    json_decref(tools);
    wdn_mcp_client_free(c);
    if (out != NULL)
        *out = o;
    else
        wdn_mcp_oauth_free(o);
    return rc;
}

/* Client credentials: discovery from the 401, Basic at the token endpoint, the resource and the
 * challenge's scope sent, one token for every request after. */
static void test_client_credentials(void **state)
{
    struct wdn_mcp_oauth_config oc = {
        .grant = WDN_MCP_OAUTH_CLIENT_CREDENTIALS, .client_id = "cid", .client_secret = SECRET};
    struct wdn_mcp_error e;
    char want[128];
    (void)state;

    assert_int_equal(run_client(&oc, NULL, &e), 0);
    assert_int_equal(A.token_posts, 1);
    assert_non_null(strstr(A.last_token_body, "grant_type=client_credentials"));
    assert_true(strncmp(A.last_token_auth, "Basic ", 6) == 0);
    assert_null(strstr(A.last_token_body, SECRET));
    snprintf(want, sizeof(want), "%s/mcp", A.base);
    assert_string_equal(A.last_resource, want);
    assert_string_equal(A.last_scope, "read");
    /* initialize (401), initialize, initialized, tools/list */
    assert_int_equal(A.mcp_posts, 4);
}

static int count_line(void *ctx, const char *line)
{
    (void)line;
    ++*(int *)ctx;
    return 0;
}

/* The provider adds the token to requests for the server it signed in to, and to nothing else. */
static void test_headers_same_origin_only(void **state)
{
    struct wdn_mcp_oauth_config oc = {
        .grant = WDN_MCP_OAUTH_CLIENT_CREDENTIALS, .client_id = "cid", .client_secret = SECRET};
    const struct wdn_mcp_auth *p;
    struct wdn_mcp_oauth *o = NULL;
    struct wdn_mcp_error e;
    char url[128], msg[128];
    int n = 0;
    (void)state;

    assert_int_equal(run_client(&oc, &o, &e), 0);
    p = wdn_mcp_oauth_provider(o);
    snprintf(url, sizeof(url), "%s/mcp", A.base);
    assert_int_equal(p->headers(p->ud, "POST", url, count_line, &n, msg, sizeof(msg)), 0);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(
        p->headers(p->ud, "POST", "http://evil.example/mcp", count_line, &n, msg, sizeof(msg)), 0);
    assert_int_equal(n, 0);
    wdn_mcp_oauth_free(o);
}

/* Authorization code with PKCE through the loopback listener, dynamic registration, iss checked;
 * then a token the server no longer takes is refreshed, not signed in again. */
static void test_authorization_code_and_refresh(void **state)
{
    struct wdn_mcp_oauth_config oc = {0};
    struct wdn_mcp_oauth *o = NULL;
    struct wdn_mcp_error e;
    char verifier[128];
    (void)state;

    A.iss_supported = true;
    assert_int_equal(run_client(&oc, &o, &e), 0);
    assert_int_equal(A.register_posts, 1);
    assert_int_equal(A.authorize_gets, 1);
    assert_int_equal(A.token_posts, 1);
    assert_non_null(strstr(A.last_token_body, "grant_type=authorization_code"));
    assert_non_null(fakehttp_form(A.last_token_body, "code_verifier", verifier, sizeof(verifier)));
    assert_true(strlen(verifier) >= 43);
    /* The server forgets the token (revoked, expired): a 401, then the refresh token. */
    A.nissued = 0;
    {
        char url[128];
        struct wdn_mcp_client *c;
        snprintf(url, sizeof(url), "%s/mcp", A.base);
        struct wdn_mcp_client_config cfg = {.url = url, .auth = wdn_mcp_oauth_provider(o)};
        c = wdn_mcp_client_new(&cfg, &e);
        assert_int_equal(wdn_mcp_client_connect(c, &e), 0);
        wdn_mcp_client_free(c);
    }
    assert_int_equal(A.refreshes, 1);
    assert_int_equal(A.authorize_gets, 1);
    assert_int_equal(A.token_posts, 2);
    wdn_mcp_oauth_free(o);
}

/* Tokens and the registration kept in cache_dir (0600): a second run signs in no more. */
static void test_token_cache(void **state)
{
    char dir[] = "/tmp/wdn-oauth-cache-XXXXXX", path[256];
    struct wdn_mcp_oauth_config oc = {0};
    struct wdn_mcp_error e;
    struct stat st;
    (void)state;

    assert_non_null(mkdtemp(dir));
    oc.cache_dir = dir;
    assert_int_equal(run_client(&oc, NULL, &e), 0);
    assert_int_equal(A.authorize_gets, 1);
    assert_int_equal(run_client(&oc, NULL, &e), 0);
    assert_int_equal(A.authorize_gets, 1);
    assert_int_equal(A.token_posts, 1);
    snprintf(path, sizeof(path), "rm -rf %s", dir);
    {
        char cmd[300];
        FILE *f;
        snprintf(cmd, sizeof(cmd), "ls %s/token-*.json", dir);
        f = popen(cmd, "r");
        assert_non_null(fgets(path, sizeof(path), f));
        pclose(f);
        path[strcspn(path, "\n")] = '\0';
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
    }
}

/* Attack: the resource's metadata names an authorization server on another origin, hoping the
 * client sends it the client secret. Credentials bound to the honest issuer never go there. */
static void test_attack_secret_to_other_origin(void **state)
{
    char honest[128], evil[128];
    struct wdn_mcp_oauth_config oc = {
        .grant = WDN_MCP_OAUTH_CLIENT_CREDENTIALS, .client_id = "cid", .client_secret = SECRET};
    struct wdn_mcp_oauth *o = NULL;
    struct wdn_mcp_error e;
    (void)state;

    snprintf(honest, sizeof(honest), "%s/as", A.base);
    snprintf(evil, sizeof(evil), "%s/as", B.base);
    oc.client_issuer = honest;
    A.as_url = evil;
    assert_int_not_equal(run_client(&oc, NULL, &e), 0);
    assert_non_null(strstr(e.message, "belong"));
    assert_int_equal(B.token_posts, 0);
    /* Without a configured issuer the credentials bind to the first one they are used with. */
    oc.client_issuer = NULL;
    A.as_url = NULL;
    assert_int_equal(run_client(&oc, &o, &e), 0);
    A.as_url = evil;
    A.nissued = 0; /* the resource now wants a token from the "new" server */
    {
        char url[128];
        struct wdn_mcp_client *c;
        snprintf(url, sizeof(url), "%s/mcp", A.base);
        struct wdn_mcp_client_config cfg = {.url = url, .auth = wdn_mcp_oauth_provider(o)};
        c = wdn_mcp_client_new(&cfg, &e);
        assert_int_not_equal(wdn_mcp_client_connect(c, &e), 0);
        wdn_mcp_client_free(c);
    }
    assert_int_equal(B.token_posts, 0);
    wdn_mcp_oauth_free(o);
}

/* Attack: mix-up. The redirect carries another issuer's iss: the code is never redeemed. */
static void test_attack_iss_mismatch(void **state)
{
    struct wdn_mcp_oauth_config oc = {0};
    struct wdn_mcp_error e;
    char evil[128];
    (void)state;

    snprintf(evil, sizeof(evil), "%s/as", B.base);
    A.iss_in_redirect = evil;
    assert_int_not_equal(run_client(&oc, NULL, &e), 0);
    assert_non_null(strstr(e.message, "mix-up"));
    assert_int_equal(A.authorize_gets, 1);
    assert_int_equal(A.token_posts, 0);
    /* A server that promised iss and sent none is refused too. */
    A.iss_supported = true;
    A.iss_in_redirect = "";
    assert_int_not_equal(run_client(&oc, NULL, &e), 0);
    assert_int_equal(A.token_posts, 0);
}

/* Attack: protected resource metadata for another resource: no authorization server is even
 * asked. */
static void test_attack_resource_mismatch(void **state)
{
    struct wdn_mcp_oauth_config oc = {
        .grant = WDN_MCP_OAUTH_CLIENT_CREDENTIALS, .client_id = "cid", .client_secret = SECRET};
    struct wdn_mcp_error e;
    (void)state;

    A.prm_resource = "https://evil.example/mcp";
    assert_int_not_equal(run_client(&oc, NULL, &e), 0);
    assert_non_null(strstr(e.message, "evil.example"));
    assert_int_equal(A.metadata_gets, 1); /* the resource's metadata, nothing after it */
    assert_int_equal(A.token_posts, 0);
}

/* Attack: a redirect URI that is not loopback, configured or registered. */
static void test_attack_redirect_not_loopback(void **state)
{
    static const char *const bad[] = {"https://evil.example/cb", "http://192.168.1.5:8080/cb",
                                      "http://evil.example/cb", "http://127.0.0.1:1/cb#frag"};
    struct wdn_mcp_oauth_config oc = {0};
    struct wdn_mcp_error e;
    char err[256];
    (void)state;

    oc.server_url = "http://127.0.0.1:1/mcp";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        oc.redirect_uri = bad[i];
        err[0] = '\0';
        assert_null(wdn_mcp_oauth_new(&oc, err, sizeof(err)));
        assert_non_null(strstr(err, "loopback"));
    }
    /* A registration answer with another redirect URI: refused before any sign-in. */
    memset(&oc, 0, sizeof(oc));
    A.dcr_redirect = "https://evil.example/cb";
    assert_int_not_equal(run_client(&oc, NULL, &e), 0);
    assert_non_null(strstr(e.message, "redirect"));
    assert_int_equal(A.register_posts, 1);
    assert_int_equal(A.authorize_gets, 0);
}

/* Attack: a step-up loop. The resource asks for one more scope after every new token: the
 * client stops after a bounded number of authorizations and fails the request. */
static void test_attack_step_up_loop(void **state)
{
    struct wdn_mcp_oauth_config oc = {
        .grant = WDN_MCP_OAUTH_CLIENT_CREDENTIALS, .client_id = "cid", .client_secret = SECRET};
    struct wdn_mcp_error e;
    (void)state;

    A.step_up_forever = true;
    assert_int_not_equal(run_client(&oc, NULL, &e), 0);
    assert_int_equal(e.http_status, 403);
    assert_non_null(strstr(e.message, "giving up"));
    /* One token for the 401 (initialize is accepted), then exactly WDN_OAUTH2_AUTH_ATTEMPTS
     * step-ups for tools/list, each asking for the union of what was asked before and the new
     * scope; the third 403 ends it without another token request. */
    assert_int_equal(A.token_posts, 1 + 2);
    assert_int_equal(A.step, 3);
    assert_string_equal(A.last_scope, "read s1 s2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_client_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_same_origin_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authorization_code_and_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attack_secret_to_other_origin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attack_iss_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attack_resource_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attack_redirect_not_loopback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attack_step_up_loop, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
