/* The authorization server's refusals that the flow tests (test_authorize.c) do not walk, one
 * row each, through the same entry points `warden issuer` and its subcommands use: an issuer
 * configuration that cannot be served (wdn_issuer_new), clients and users that cannot be
 * registered (wdn_issuer_client_add / user_add), a broken key list, Client ID Metadata Documents
 * that lie or ask for too much, RFC 7591 registrations outside what the server allows, and
 * authorization requests that must be refused: on a page when the redirect URI cannot be trusted,
 * else redirected back with the RFC 6749 4.1.2.1 error code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "authserver/as_int.h"
#include "authserver/issuer.h"
#include "base/base64.h"
#include "base/error.h"
#include "base/limits.h"
#include "oauth2/form.h"

#define ISS "https://issuer.test:9443/"
#define NOW 1800000000
#define RES "https://mcp.test/mcp"
#define APP_CB "http://127.0.0.1/callback"
#define VERIFIER "verifier-0123456789-0123456789-0123456789-abcdef"

static char dir[256];
static char challenge[64];
static struct wdn_issuer *iss;

static const char *const resources[] = {RES};
static const char *const scopes[] = {"mcp:tools", "mcp:read"};

static struct wdn_issuer_config base_config(void)
{
    return (struct wdn_issuer_config){.issuer = ISS,
                                      .state_dir = dir,
                                      .resources = resources,
                                      .nresources = 1,
                                      .scopes = scopes,
                                      .nscopes = 2,
                                      .dcr = true};
}

static int setup(void **state)
{
    struct wdn_diag d;
    const char *uris[] = {APP_CB};
    struct wdn_issuer_reg_client app = {
        .id = "app", .redirect_uris = uris, .nredirect_uris = 1, .public_client = true};
    struct wdn_issuer_reg_client narrow = {.id = "narrow",
                                           .redirect_uris = uris,
                                           .nredirect_uris = 1,
                                           .public_client = true,
                                           .scope = "mcp:read"};
    unsigned char h[32];
    size_t n;
    (void)state;

    snprintf(dir, sizeof(dir), "/tmp/wdn-issuer-edges-XXXXXX");
    if (mkdtemp(dir) == NULL || wdn_issuer_keys_ensure(dir, WDN_JOSE_ES256, 100, NOW, NULL, NULL))
        return -1;
    if (wdn_issuer_client_add(dir, &app, NULL, 0, &d) != 0 ||
        wdn_issuer_client_add(dir, &narrow, NULL, 0, &d) != 0)
        fail_msg("client add: %s", d.msg);
    EVP_Digest(VERIFIER, strlen(VERIFIER), h, NULL, EVP_sha256(), NULL);
    wdn_b64url_encode(h, 32, challenge, sizeof(challenge), &n);
    struct wdn_issuer_config cfg = base_config();
    iss = wdn_issuer_new(&cfg, &d);
    if (iss == NULL)
        fail_msg("issuer: %s", d.msg);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    wdn_issuer_free(iss);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- Configuration ------------------------------------------------------------------------ */

struct cfg_case {
    const char *what;
    struct wdn_issuer_config cfg;
    const char *msg;
};

static void test_config_refusals(void **state)
{
    (void)state;
    static const char *const aud[] = {"https://api.test/"};
    static const char *const aud_space[] = {"https://api.test/ x"};
    static const char *const aud_empty[] = {""};
    static const char *const bad_scope[] = {"a\"b"};
    static const char *const bad_res[] = {"not-absolute"};
    static const char *const frag_res[] = {"https://mcp.test/#x"};
    const char *many_aud[WDN_ISSUER_MAX_AUDIENCES + 1];
    const char *many_scopes[WDN_ISSUER_MAX_SCOPES + 1];
    for (size_t i = 0; i < WDN_ISSUER_MAX_AUDIENCES + 1; i++)
        many_aud[i] = "https://api.test/";
    for (size_t i = 0; i < WDN_ISSUER_MAX_SCOPES + 1; i++)
        many_scopes[i] = "s";
    const struct wdn_issuer_client_cfg ok = {
        .id = "cc", .secret = "s3cret", .audiences = aud, .naudiences = 1};
    struct wdn_issuer_client_cfg c_noid = ok, c_ctlid = ok, c_nosecret = ok, c_longsecret = ok,
                                 c_noaud = ok, c_manyaud = ok, c_audsp = ok, c_audempty = ok,
                                 c_manyscopes = ok, c_badscope = ok, c_nullscope = ok;
    char *longsecret = malloc(WDN_ISSUER_MAX_FIELD_BYTES + 2);
    static const char *const null_scope[] = {NULL};
    memset(longsecret, 'x', WDN_ISSUER_MAX_FIELD_BYTES + 1);
    longsecret[WDN_ISSUER_MAX_FIELD_BYTES + 1] = '\0';
    c_noid.id = "";
    c_ctlid.id = "c\tc";
    c_nosecret.secret = NULL;
    c_longsecret.secret = longsecret;
    c_noaud.naudiences = 0;
    c_manyaud.audiences = many_aud;
    c_manyaud.naudiences = WDN_ISSUER_MAX_AUDIENCES + 1;
    c_audsp.audiences = aud_space;
    c_audempty.audiences = aud_empty;
    c_manyscopes.scopes = many_scopes;
    c_manyscopes.nscopes = WDN_ISSUER_MAX_SCOPES + 1;
    c_badscope.scopes = bad_scope;
    c_badscope.nscopes = 1;
    c_nullscope.scopes = null_scope;
    c_nullscope.nscopes = 1;
    const struct wdn_issuer_client_cfg twice[] = {ok, ok};

    struct cfg_case cases[] = {
        {"no issuer", {.state_dir = dir}, "the issuer URL and state folder are required"},
        {"empty issuer", {.issuer = "", .state_dir = dir}, "are required"},
        {"no state folder", {.issuer = ISS}, "are required"},
        {"issuer not a URL", {.issuer = "issuer.test", .state_dir = dir}, "is not usable"},
        {"issuer with a query",
         {.issuer = "https://issuer.test/?tenant=a", .state_dir = dir},
         "it has a query"},
        {"issuer with a fragment",
         {.issuer = "https://issuer.test/#a", .state_dir = dir},
         "it has a fragment"},
        {"too many clients",
         {.issuer = ISS, .state_dir = dir, .clients = &ok, .nclients = WDN_ISSUER_MAX_CLIENTS + 1},
         "give at most"},
        {"bad typ", {.issuer = ISS, .state_dir = dir, .typ = "jwt"}, "typ must be at+jwt or JWT"},
        {"empty client id",
         {.issuer = ISS, .state_dir = dir, .clients = &c_noid, .nclients = 1},
         "client 1: the id must be"},
        {"control in client id",
         {.issuer = ISS, .state_dir = dir, .clients = &c_ctlid, .nclients = 1},
         "client 1: the id must be"},
        {"no secret",
         {.issuer = ISS, .state_dir = dir, .clients = &c_nosecret, .nclients = 1},
         "client 'cc': the secret must be"},
        {"long secret",
         {.issuer = ISS, .state_dir = dir, .clients = &c_longsecret, .nclients = 1},
         "the secret must be"},
        {"no audience",
         {.issuer = ISS, .state_dir = dir, .clients = &c_noaud, .nclients = 1},
         "give 1..32 audiences"},
        {"many audiences",
         {.issuer = ISS, .state_dir = dir, .clients = &c_manyaud, .nclients = 1},
         "give 1..32 audiences"},
        {"audience with a space",
         {.issuer = ISS, .state_dir = dir, .clients = &c_audsp, .nclients = 1},
         "audience 1 is empty, too long or has spaces"},
        {"empty audience",
         {.issuer = ISS, .state_dir = dir, .clients = &c_audempty, .nclients = 1},
         "audience 1 is empty"},
        {"many scopes",
         {.issuer = ISS, .state_dir = dir, .clients = &c_manyscopes, .nclients = 1},
         "at most 64 scopes"},
        {"bad scope",
         {.issuer = ISS, .state_dir = dir, .clients = &c_badscope, .nclients = 1},
         "scope 1 is not a valid scope token"},
        {"NULL scope",
         {.issuer = ISS, .state_dir = dir, .clients = &c_nullscope, .nclients = 1},
         "scope 1 is not a valid scope token"},
        {"client twice",
         {.issuer = ISS, .state_dir = dir, .clients = twice, .nclients = 2},
         "client 'cc' is given twice"},
        {"many resources",
         {.issuer = ISS,
          .state_dir = dir,
          .resources = many_aud,
          .nresources = WDN_ISSUER_MAX_AUDIENCES + 1},
         "at most 32 resources and 64 scopes"},
        {"many issuer scopes",
         {.issuer = ISS,
          .state_dir = dir,
          .scopes = many_scopes,
          .nscopes = WDN_ISSUER_MAX_SCOPES + 1},
         "at most 32 resources"},
        {"resource not absolute",
         {.issuer = ISS, .state_dir = dir, .resources = bad_res, .nresources = 1},
         "resource 'not-absolute' is not an absolute URI"},
        {"resource with fragment",
         {.issuer = ISS, .state_dir = dir, .resources = frag_res, .nresources = 1},
         "is not an absolute URI without a fragment"},
        {"issuer scope malformed",
         {.issuer = ISS, .state_dir = dir, .scopes = bad_scope, .nscopes = 1},
         "scope 'a\"b' is not a valid scope token"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wdn_diag d = {0};
        struct wdn_issuer *x = wdn_issuer_new(&cases[i].cfg, &d);
        if (x != NULL) {
            wdn_issuer_free(x);
            fail_msg("%s: accepted", cases[i].what);
        }
        if (d.code != WDN_EINVAL || strstr(d.msg, cases[i].msg) == NULL)
            fail_msg("%s: code %d '%s', expected '%s'", cases[i].what, d.code, d.msg, cases[i].msg);
    }
    free(longsecret);
}

/* Accepted shapes: an issuer with a path serves its endpoints below the path; typ JWT; the
 * resources default to the client-credentials clients' audiences, each once. */
static void test_config_accepted(void **state)
{
    (void)state;
    static const char *const aud1[] = {"https://api.test/", "https://two.test/"};
    static const char *const aud2[] = {"https://two.test/"};
    const struct wdn_issuer_client_cfg cc[] = {
        {.id = "a", .secret = "sa", .audiences = aud1, .naudiences = 2},
        {.id = "b", .secret = "sb", .audiences = aud2, .naudiences = 1}};
    struct wdn_issuer_config cfg = {.issuer = "https://issuer.test/tenant/",
                                    .state_dir = dir,
                                    .typ = "JWT",
                                    .clients = cc,
                                    .nclients = 2};
    struct wdn_diag d;
    struct wdn_issuer *x = wdn_issuer_new(&cfg, &d);

    if (x == NULL)
        fail_msg("%s", d.msg);
    assert_string_equal(wdn_issuer_url(x), "https://issuer.test/tenant/");
    assert_true(wdn_issuer_owns_path(x, WDN_STR("/tenant/oauth/token")));
    assert_true(wdn_issuer_owns_path(x, WDN_STR("/.well-known/oauth-authorization-server/tenant")));
    assert_false(wdn_issuer_owns_path(x, WDN_STR("/oauth/token")));
    assert_false(wdn_issuer_owns_path(x, WDN_STR("/tenantx/oauth/token")));
    assert_int_equal(x->nresources, 2);
    assert_string_equal(x->resources[0], "https://api.test/");
    assert_string_equal(x->resources[1], "https://two.test/");
    /* offline_access is always offered (refresh tokens), after the configured scopes. */
    assert_string_equal(x->scopes, "offline_access");
    wdn_issuer_free(x);
}

/* ---- Registered clients and users --------------------------------------------------------- */

static int count_client(const char *id, bool public_client, const char *redirects,
                        const char *source, void *ud)
{
    int *n = ud;
    (void)public_client;
    (void)redirects;
    if (strcmp(id, "third") == 0)
        assert_string_equal(source, "cli");
    (*n)++;
    return 0;
}

static void test_client_add_refusals(void **state)
{
    (void)state;
    const char *ok_uris[] = {"https://app.example/cb"};
    const char *bad_uris[] = {"https://app.example/cb", "http://app.example/cb"};
    const char *many[WDN_ISSUER_MAX_REDIRECTS + 1];
    for (size_t i = 0; i < WDN_ISSUER_MAX_REDIRECTS + 1; i++)
        many[i] = "https://app.example/cb";
    static const struct {
        struct wdn_issuer_reg_client c;
        int rc;
        const char *msg;
    } cases[] = {
        {{.id = NULL}, WDN_EINVAL, "the client id must be"},
        {{.id = ""}, WDN_EINVAL, "the client id must be"},
        {{.id = "my app"}, WDN_EINVAL, "no spaces"},
        {{.id = "app\n"}, WDN_EINVAL, "printable"},
        {{.id = "https://client.example/meta.json"},
         WDN_EINVAL,
         "Client ID Metadata Document id: such clients need no registration"},
        {{.id = "c1", .name = "bad\x01name"}, WDN_EINVAL, "the client name must be printable"},
        {{.id = "c1"}, WDN_EINVAL, "give 1..16 redirect URIs"},
    };
    char secret[64];
    struct wdn_diag d;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wdn_issuer_reg_client c = cases[i].c;
        if (c.id && strcmp(c.id, "c1") == 0 && c.name == NULL)
            c.nredirect_uris = 0;
        else {
            c.redirect_uris = ok_uris;
            c.nredirect_uris = 1;
        }
        c.public_client = true;
        d = (struct wdn_diag){0};
        if (wdn_issuer_client_add(dir, &c, NULL, 0, &d) != cases[i].rc ||
            strstr(d.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: '%s', expected '%s'", i, d.msg, cases[i].msg);
    }
    struct wdn_issuer_reg_client c = {
        .id = "c2", .redirect_uris = many, .nredirect_uris = WDN_ISSUER_MAX_REDIRECTS + 1};
    assert_int_equal(wdn_issuer_client_add(dir, &c, secret, sizeof(secret), &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "give 1..16 redirect URIs"));
    c.redirect_uris = bad_uris;
    c.nredirect_uris = 2;
    assert_int_equal(wdn_issuer_client_add(dir, &c, secret, sizeof(secret), &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "redirect URI 'http://app.example/cb': plain http is only"));
    c.redirect_uris = ok_uris;
    c.nredirect_uris = 1;
    c.scope = "mcp:read  mcp:tools";
    assert_int_equal(wdn_issuer_client_add(dir, &c, secret, sizeof(secret), &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "the scope must be scope tokens separated by spaces"));
    /* A confidential client needs room for its secret. */
    c.scope = NULL;
    assert_int_equal(wdn_issuer_client_add(dir, &c, secret, 63, &d), WDN_ECRYPTO);
    assert_non_null(strstr(d.msg, "no randomness for the secret"));

    /* Registered once only; listed; removed; removed again is "not found". */
    struct wdn_issuer_reg_client third = {
        .id = "third", .redirect_uris = ok_uris, .nredirect_uris = 1, .scope = "mcp:read"};
    int n = 0;
    assert_int_equal(wdn_issuer_client_add(dir, &third, secret, sizeof(secret), &d), 0);
    assert_int_equal(strlen(secret), WDN__AS_RANDOM_CHARS);
    assert_int_equal(wdn_issuer_client_add(dir, &third, secret, sizeof(secret), &d), WDN_EEXISTS);
    assert_non_null(strstr(d.msg, "client 'third' is registered already"));
    assert_int_equal(wdn_issuer_client_list(dir, count_client, &n, &d), 0);
    assert_int_equal(n, 3);
    assert_int_equal(wdn_issuer_client_remove(dir, "third", &d), 0);
    assert_int_equal(wdn_issuer_client_remove(dir, "third", &d), WDN_ENOTFOUND);
    assert_non_null(strstr(d.msg, "third"));
    n = 0;
    assert_int_equal(wdn_issuer_client_list(dir, count_client, &n, &d), 0);
    assert_int_equal(n, 2);
}

static int count_user(const char *name, void *ud)
{
    (void)name;
    (*(int *)ud)++;
    return 0;
}

static void test_user_add_refusals(void **state)
{
    (void)state;
    static const char *const bad_names[] = {"",          "al ice",     "al/ice", "al:ice",
                                            "al\x01ice", "\xc3\xa9ve", "a\"b"};
    char long_name[WDN__AS_USER_MAX + 2];
    char *long_pw = malloc(WDN_ISSUER_MAX_PASSWORD_BYTES + 2);
    struct wdn_diag d;
    int n = 0;

    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        assert_int_equal(wdn_issuer_user_add(dir, bad_names[i], "long enough", false, &d),
                         WDN_EINVAL);
        assert_non_null(strstr(d.msg, "user name"));
    }
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(wdn_issuer_user_add(dir, long_name, "long enough", false, &d), WDN_EINVAL);
    long_name[WDN__AS_USER_MAX] = '\0';
    assert_true(wdn__as_user_name_ok(long_name));
    assert_true(wdn__as_user_name_ok("A.b_c@d+e-9"));

    assert_int_equal(wdn_issuer_user_add(dir, "carol", "short", false, &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "password"));
    memset(long_pw, 'p', WDN_ISSUER_MAX_PASSWORD_BYTES + 1);
    long_pw[WDN_ISSUER_MAX_PASSWORD_BYTES + 1] = '\0';
    assert_int_equal(wdn_issuer_user_add(dir, "carol", long_pw, false, &d), WDN_EINVAL);
    free(long_pw);

    assert_int_equal(wdn_issuer_user_add(dir, "carol", "first password", false, &d), 0);
    assert_int_equal(wdn_issuer_user_add(dir, "carol", "second password", false, &d), WDN_EEXISTS);
    assert_non_null(strstr(d.msg, "give --replace"));
    assert_int_equal(wdn_issuer_user_add(dir, "carol", "second password", true, &d), 0);
    assert_int_equal(wdn_issuer_user_list(dir, count_user, &n, &d), 0);
    assert_int_equal(n, 1);
    assert_int_equal(wdn_issuer_user_remove(dir, "carol", &d), 0);
    assert_int_equal(wdn_issuer_user_remove(dir, "carol", &d), WDN_ENOTFOUND);
    assert_non_null(strstr(d.msg, "carol"));
}

/* A key list the server does not understand stops it with the file named, not a guess. */
static void test_broken_key_list(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"{\"keys\":{}}", "is not a key list this version understands"},
        {"[]", "is not a key list this version understands"},
        {"{\"keys\":[{\"alg\":\"ES256\",\"retires\":0}]}", "entry 0 is invalid"},
        {"{\"keys\":[{\"kid\":\"../../etc/x\",\"alg\":\"ES256\",\"retires\":0}]}",
         "entry 0 is invalid"},
        {"{\"keys\":[{\"kid\":\"k1\",\"alg\":\"HS256\",\"retires\":0}]}", "entry 0 is invalid"},
        {"{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"retires\":\"0\"}]}", "entry 0 is invalid"},
        {"{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"retires\":0}]}", "k1"},
        {"{\"keys\":[]}", "holds no signing key"},
    };
    char kdir[300], path[320], saved[320];
    struct wdn_diag d;

    snprintf(kdir, sizeof(kdir), "%s/k", dir);
    assert_int_equal(wdn_issuer_keys_ensure(kdir, WDN_JOSE_ES256, 100, NOW, NULL, &d), 0);
    snprintf(path, sizeof(path), "%s/keys.json", kdir);
    snprintf(saved, sizeof(saved), "%s/keys.saved", kdir);
    assert_int_equal(rename(path, saved), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(cases[i].json, f);
        fclose(f);
        struct wdn_issuer_config cfg = base_config();
        cfg.state_dir = kdir;
        d = (struct wdn_diag){0};
        struct wdn_issuer *x = wdn_issuer_new(&cfg, &d);
        if (x != NULL || strstr(d.msg, cases[i].msg) == NULL)
            fail_msg("%s: '%s', expected '%s'", cases[i].json, d.msg, cases[i].msg);
    }
    /* The list put back, the folder serves again. */
    assert_int_equal(rename(saved, path), 0);
    struct wdn_issuer_config cfg = base_config();
    cfg.state_dir = kdir;
    struct wdn_issuer *x = wdn_issuer_new(&cfg, &d);
    assert_non_null(x);
    wdn_issuer_free(x);
}

/* ---- Client ID Metadata Documents --------------------------------------------------------- */

#define CIMD "https://client.example/meta.json"

static void test_cimd_document_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *doc;
        const char *msg;
    } cases[] = {
        {"[]", "is not a JSON object"},
        {"{\"client_id\":\"" CIMD "\",\"client_id\":\"" CIMD "\"}", "is not a JSON object"},
        {"{\"client_name\":\"x\"}", "names another client_id than its URL"},
        {"{\"client_id\":\"https://client.example/other.json\"}", "another client_id"},
        {"{\"client_id\":\"https://CLIENT.example/meta.json\"}", "another client_id"},
        {"{\"client_id\":\"" CIMD "\"}", "has no usable client_name"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":7}", "has no usable client_name"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"a\\nb\"}", "has no usable client_name"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"x\",\"client_secret\":\"s\"}",
         "holds a client_secret"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"x\",\"client_secret_expires_at\":0}",
         "holds a client_secret"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"x\",\"token_endpoint_auth_method\":"
         "\"private_key_jwt\"}",
         "asks for token_endpoint_auth_method 'private_key_jwt'"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"x\",\"token_endpoint_auth_method\":1}",
         "token_endpoint_auth_method '?'"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"x\",\"scope\":[\"a\"]}",
         "has a malformed scope"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"x\",\"scope\":\"a  b\"}",
         "has a malformed scope"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"x\"}", "needs 1..16 redirect_uris"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"x\",\"redirect_uris\":\"" APP_CB "\"}",
         "needs 1..16 redirect_uris"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"x\",\"redirect_uris\":[]}",
         "needs 1..16 redirect_uris"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"x\",\"redirect_uris\":[\"" APP_CB
         "\",\"http://evil.example/cb\"]}",
         "redirect URI 2 of the client's metadata document: plain http is only allowed"},
        {"{\"client_id\":\"" CIMD "\",\"client_name\":\"x\",\"redirect_uris\":[5]}",
         "redirect URI 1 of the client's metadata document"},
    };
    struct wdn__as_client c;
    struct wdn_diag d;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        d = (struct wdn_diag){0};
        int rc = wdn__as_cimd_parse(CIMD, wdn_str_from_cstr(cases[i].doc), &c, &d);
        if (rc != WDN_EINVAL || strstr(d.msg, cases[i].msg) == NULL)
            fail_msg("%s: rc %d '%s', expected '%s'", cases[i].doc, rc, d.msg, cases[i].msg);
        assert_null(c.id);
        assert_null(c.redirects);
        wdn__as_client_reset(&c);
    }
    /* Seventeen redirect URIs are one too many. */
    struct wdn_buf b;
    wdn_buf_init(&b, 65536);
    wdn_buf_append_cstr(&b,
                        "{\"client_id\":\"" CIMD "\",\"client_name\":\"x\",\"redirect_uris\":[");
    for (int i = 0; i <= WDN_ISSUER_MAX_REDIRECTS; i++)
        wdn_buf_printf(&b, "%s\"https://client.example/cb%d\"", i ? "," : "", i);
    wdn_buf_append_cstr(&b, "]}");
    assert_int_equal(wdn__as_cimd_parse(CIMD, (struct wdn_str){b.data, b.len}, &c, &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "needs 1..16 redirect_uris"));
    wdn_buf_reset(&b);

    /* A good one: a public client with its scope and every redirect URI. */
    assert_int_equal(
        wdn__as_cimd_parse(CIMD,
                           WDN_STR("{\"client_id\":\"" CIMD "\",\"client_name\":\"Tool <b>\","
                                   "\"token_endpoint_auth_method\":\"none\",\"scope\":\"mcp:read\","
                                   "\"redirect_uris\":[\"" APP_CB "\",\"https://c.example/cb\"]}"),
                           &c, &d),
        0);
    assert_true(c.public_client);
    assert_int_equal(c.source, WDN__AS_SRC_CIMD);
    assert_string_equal(c.name, "Tool <b>");
    assert_string_equal(c.scope, "mcp:read");
    assert_int_equal(c.nredirects, 2);
    wdn__as_client_reset(&c);
}

/* ---- Dynamic client registration (RFC 7591) ----------------------------------------------- */

/* POSTs body to /register; the JSON answer (caller decrefs). */
static json_t *do_register(const char *content_type, const char *body, bool too_large, int *status)
{
    struct wdn_issuer_request req = {.method = WDN_STR("POST"),
                                     .path = WDN_STR("/register"),
                                     .content_type = wdn_str_from_cstr(content_type),
                                     .body = wdn_str_from_cstr(body),
                                     .body_too_large = too_large,
                                     .peer = "192.0.2.1"};
    struct wdn_issuer_response r;
    assert_int_equal(wdn_issuer_handle(iss, &req, NOW, &r), 0);
    *status = r.status;
    json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(r.cache_control, "no-store");
    wdn_issuer_response_reset(&r);
    return j;
}

static void test_registration_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *error, *msg;
    } cases[] = {
        {"{}", "invalid_redirect_uri", "give 1..16 redirect_uris"},
        {"{\"redirect_uris\":[]}", "invalid_redirect_uri", "give 1..16"},
        {"{\"redirect_uris\":\"" APP_CB "\"}", "invalid_redirect_uri", "give 1..16"},
        {"{\"redirect_uris\":[\"https://a.example/cb#x\"]}", "invalid_redirect_uri",
         "without a fragment"},
        {"{\"redirect_uris\":[7]}", "invalid_redirect_uri", "https, or http on a loopback host"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"token_endpoint_auth_method\":\"private_key_jwt\"}",
         "invalid_client_metadata", "token_endpoint_auth_method must be none"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"token_endpoint_auth_method\":null}",
         "invalid_client_metadata", "token_endpoint_auth_method must be"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"grant_types\":[\"client_credentials\"]}",
         "invalid_client_metadata", "grant_types may be authorization_code and refresh_token"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"grant_types\":[]}", "invalid_client_metadata",
         "grant_types may be"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"grant_types\":[\"authorization_code\",3]}",
         "invalid_client_metadata", "grant_types may be"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"response_types\":[\"code\",\"token\"]}",
         "invalid_client_metadata", "response_types may only be code"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"client_name\":\"a\\u0007b\"}",
         "invalid_client_metadata", "client_name must be printable"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"client_name\":[\"x\"]}", "invalid_client_metadata",
         "client_name must be printable"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"scope\":\"mcp:read \\\"x\"}",
         "invalid_client_metadata", "the scope is malformed"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"scope\":42}", "invalid_client_metadata",
         "the scope is malformed"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"scope\":\"mcp:read admin\"}",
         "invalid_client_metadata", "scopes this server does not offer"},
        {"[]", "invalid_client_metadata", "must be a JSON object"},
        {"{\"redirect_uris\":[\"" APP_CB "\"],\"redirect_uris\":[\"" APP_CB "\"]}",
         "invalid_client_metadata", "must be a JSON object"},
    };
    int status;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = do_register("application/json", cases[i].body, false, &status);
        const char *e = json_string_value(json_object_get(j, "error"));
        const char *m = json_string_value(json_object_get(j, "error_description"));
        if (status != 400 || e == NULL || strcmp(e, cases[i].error) != 0 || m == NULL ||
            strstr(m, cases[i].msg) == NULL)
            fail_msg("%s: %d %s '%s', expected 400 %s '%s'", cases[i].body, status,
                     e ? e : "(none)", m ? m : "", cases[i].error, cases[i].msg);
        assert_null(json_object_get(j, "client_id"));
        json_decref(j);
    }
    /* The body must be JSON, and not too large. */
    json_t *j = do_register("application/x-www-form-urlencoded",
                            "{\"redirect_uris\":[\"" APP_CB "\"]}", false, &status);
    assert_int_equal(status, 400);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid_client_metadata");
    json_decref(j);
    j = do_register("application/json", "", true, &status);
    assert_int_equal(status, 413);
    assert_non_null(
        strstr(json_string_value(json_object_get(j, "error_description")), "too large"));
    json_decref(j);

    /* Accepted: a confidential client by default (with a secret), a public one with none. */
    j = do_register("application/json; charset=utf-8",
                    "{\"redirect_uris\":[\"" APP_CB "\"],\"grant_types\":[\"authorization_code\","
                    "\"refresh_token\"],\"response_types\":[\"code\"],\"scope\":\"mcp:read\"}",
                    false, &status);
    assert_int_equal(status, 201);
    assert_string_equal(json_string_value(json_object_get(j, "token_endpoint_auth_method")),
                        "client_secret_basic");
    assert_non_null(json_string_value(json_object_get(j, "client_secret")));
    assert_string_equal(json_string_value(json_object_get(j, "scope")), "mcp:read");
    json_decref(j);
    j = do_register("application/json",
                    "{\"redirect_uris\":[\"" APP_CB "\"],\"token_endpoint_auth_method\":\"none\","
                    "\"client_name\":\"Tool\"}",
                    false, &status);
    assert_int_equal(status, 201);
    assert_null(json_object_get(j, "client_secret"));
    assert_null(json_object_get(j, "scope"));
    assert_string_equal(json_string_value(json_object_get(j, "client_name")), "Tool");
    json_decref(j);
}

/* ---- Authorization requests --------------------------------------------------------------- */

static void authorize(const char *query, struct wdn_issuer_response *r)
{
    struct wdn_issuer_request req = {.method = WDN_STR("GET"),
                                     .path = WDN_STR("/authorize"),
                                     .query = wdn_str_from_cstr(query),
                                     .peer = "192.0.2.1"};
    assert_int_equal(wdn_issuer_handle(iss, &req, NOW, r), 0);
}

/* A query for client "app" with every parameter right, but for the ones in extra (which are
 * added, or replace one given as "name=" with an empty value to drop it). */
static char *query_with(const char *client, const char *extra)
{
    struct {
        const char *k, *v;
    } base[] = {{"response_type", "code"},         {"client_id", client},
                {"redirect_uri", APP_CB},          {"code_challenge", challenge},
                {"code_challenge_method", "S256"}, {"state", "st-1"}};
    struct wdn_buf b;
    wdn_buf_init(&b, 65536);
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
        char key[64], amp_key[64];
        snprintf(key, sizeof(key), "%s=", base[i].k);
        snprintf(amp_key, sizeof(amp_key), "&%s=", base[i].k);
        if (extra && (strncmp(extra, key, strlen(key)) == 0 || strstr(extra, amp_key) != NULL))
            continue;
        wdn_form_add(&b, base[i].k, base[i].v);
    }
    if (extra) {
        /* "name=" alone drops that parameter. */
        const char *p = extra;
        while (*p) {
            size_t n = strcspn(p, "&");
            if (n > 0 && p[n - 1] != '=')
                wdn_buf_printf(&b, "&%.*s", (int)n, p);
            p += n;
            p += *p == '&';
        }
    }
    return wdn_buf_cstr(&b);
}

/* The decoded value of a parameter of the Location header (malloc'd) or NULL. */
static char *location_param(const struct wdn_issuer_response *r, const char *name)
{
    const char *loc = wdn_issuer_response_header(r, "Location");
    const char *q = loc ? strchr(loc, '?') : NULL;
    struct wdn_form f = {0};
    char *v = NULL;
    if (q == NULL || wdn_form_decode(wdn_str_from_cstr(q + 1), &f) != 0)
        return NULL;
    if (wdn_form_get(&f, name))
        v = strdup(wdn_form_get(&f, name));
    wdn_form_reset(&f);
    return v;
}

static void test_authorize_redirected_errors(void **state)
{
    (void)state;
    static const struct {
        const char *client, *extra, *error, *msg;
    } cases[] = {
        {"app", "response_type=", "invalid_request", "response_type must be code"},
        {"app", "response_type=token", "unsupported_response_type", "response_type must be code"},
        {"app", "response_mode=fragment", "invalid_request", "response_mode must be query"},
        {"app", "request=eyJhbGciOiJub25lIn0.e30.", "request_not_supported",
         "request objects are not supported"},
        {"app", "request_uri=urn%3Aexample%3Ar", "request_not_supported", "request objects"},
        {"app", "code_challenge=", "invalid_request", "code_challenge is required"},
        {"app", "code_challenge_method=", "invalid_request", "must be S256"},
        {"app", "code_challenge_method=plain", "invalid_request", "plain is not accepted"},
        {"app", "code_challenge=short", "invalid_request", "43 characters"},
        {"app", "code_challenge=0123456789012345678901234567890123456789%2B%2F%3D",
         "invalid_request", "base64url SHA-256"},
        {"app", "prompt=select_account%20bogus", "invalid_request", "prompt has an unknown value"},
        {"app", "prompt=none%20login", "invalid_request", "prompt=none cannot be combined"},
        {"app", "prompt=consent%20none", "invalid_request", "prompt=none cannot be combined"},
        {"app", "resource=mcp.test", "invalid_target", "absolute URI without a fragment"},
        {"app", "resource=https%3A%2F%2Fmcp.test%2Fmcp%23x", "invalid_target", "RFC 8707"},
        {"app", "resource=https%3A%2F%2Fother.test%2Fmcp", "invalid_target",
         "does not issue tokens for that resource"},
        {"app", "scope=mcp%3Aread%20%22x", "invalid_scope", "the scope is malformed"},
        {"app", "scope=admin", "invalid_scope", "not offered by this server"},
        {"narrow", "scope=mcp%3Atools", "invalid_scope", "not allowed for this client"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wdn_issuer_response r;
        char *q = query_with(cases[i].client, cases[i].extra);
        authorize(q, &r);
        const char *loc = wdn_issuer_response_header(&r, "Location");
        char *e = location_param(&r, "error"), *m = location_param(&r, "error_description");
        char *st = location_param(&r, "state"), *is = location_param(&r, "iss");
        if (r.status != 302 || loc == NULL || strncmp(loc, APP_CB "?", strlen(APP_CB) + 1) != 0 ||
            e == NULL || strcmp(e, cases[i].error) != 0 || m == NULL ||
            strstr(m, cases[i].msg) == NULL)
            fail_msg("%s: %d %s %s '%s', expected 302 %s '%s'", q, r.status, loc ? loc : "-",
                     e ? e : "(none)", m ? m : "", cases[i].error, cases[i].msg);
        /* The state comes back, and the issuer (RFC 9207); never a code. */
        assert_string_equal(st, "st-1");
        assert_string_equal(is, ISS);
        assert_null(location_param(&r, "code"));
        free(e);
        free(m);
        free(st);
        free(is);
        free(q);
        wdn_issuer_response_reset(&r);
    }
}

/* Requests whose answer cannot be trusted to the redirect URI: a page, never a redirect. */
static void test_authorize_page_errors(void **state)
{
    (void)state;
    char long_state[WDN_ISSUER_MAX_STATE_PARAM + 16];
    memcpy(long_state, "state=", 6);
    memset(long_state + 6, 's', WDN_ISSUER_MAX_STATE_PARAM + 1);
    long_state[6 + WDN_ISSUER_MAX_STATE_PARAM + 1] = '\0';
    struct {
        const char *client, *extra, *msg;
    } cases[] = {
        {"app", "state=a%0Ab", "The state parameter is too long or not printable ASCII."},
        {"app", "state=caf%C3%A9", "The state parameter is too long"},
        {"app", long_state, "The state parameter is too long"},
        {"app", "redirect_uri=", "has no redirect_uri"},
        {"app", "redirect_uri=http%3A%2F%2F127.0.0.1%2Fother", "is not registered for this client"},
        {"", NULL, "names no client"},
        {"nobody", NULL, "no client is registered with this client_id"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wdn_issuer_response r;
        char *q = query_with(cases[i].client, cases[i].extra);
        authorize(q, &r);
        if (r.status != 400 || r.body.data == NULL || strstr(r.body.data, cases[i].msg) == NULL)
            fail_msg("%.80s: %d, expected a 400 page with '%s'", q, r.status, cases[i].msg);
        assert_null(wdn_issuer_response_header(&r, "Location"));
        assert_string_equal(r.content_type, "text/html; charset=utf-8");
        free(q);
        wdn_issuer_response_reset(&r);
    }
    /* A repeated parameter is refused on a page too (which of the two would be meant?). */
    struct wdn_issuer_response r;
    char *one = query_with("app", NULL), q[4096];
    snprintf(q, sizeof(q), "%s&client_id=app", one);
    free(one);
    authorize(q, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body.data, "a parameter is repeated or badly encoded"));
    wdn_issuer_response_reset(&r);
}

/* An issuer with no resource to give refuses a request that names none. */
static void test_authorize_without_resources(void **state)
{
    (void)state;
    struct wdn_issuer_config cfg = base_config();
    struct wdn_diag d;
    struct wdn_issuer *saved = iss;
    struct wdn_issuer_response r;

    cfg.resources = NULL;
    cfg.nresources = 0;
    iss = wdn_issuer_new(&cfg, &d);
    assert_non_null(iss);
    char *q = query_with("app", NULL);
    authorize(q, &r);
    char *e = location_param(&r, "error"), *m = location_param(&r, "error_description");
    assert_int_equal(r.status, 302);
    assert_string_equal(e, "invalid_target");
    assert_string_equal(m, "this server serves no resource");
    free(e);
    free(m);
    free(q);
    wdn_issuer_response_reset(&r);
    wdn_issuer_free(iss);
    iss = saved;
}

/* ---- The --clients file ------------------------------------------------------------------- */

/* Each refusal names the file, the line and the column of the node at fault. */
static void test_clients_file_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *msg;
    } cases[] = {
        {"clients: [", "c.yaml:2:1: did not find expected node content"},
        {"- a\n", "c.yaml:1:1: the file must be a mapping with a 'clients' list"},
        {"clients: []\nother: 1\n", "c.yaml:2:1: unknown key 'other' (expected clients)"},
        {"clients: {}\n", "c.yaml:1:10: 'clients' must be a non-empty list"},
        {"clients: []\n", "'clients' must be a non-empty list"},
        {"clients:\n  - just-a-string\n",
         "c.yaml:2:5: a client must be a mapping with id, secret, audiences, scopes"},
        {"clients:\n  - {[a]: b}\n", "keys must be strings"},
        {"clients:\n  - {id: [a], secret: s, audiences: a}\n",
         "'id' must be given once, as a string"},
        {"clients:\n  - {id: a, id: b, secret: s, audiences: a}\n",
         "'id' must be given once, as a string"},
        {"clients:\n  - {id: a, secret: {x: 1}, audiences: a}\n",
         "'secret' must be given once, as a string"},
        {"clients:\n  - {id: a, secret: s, audiences: {x: 1}}\n",
         "audiences must be a list of strings"},
        {"clients:\n  - {id: a, secret: s, audiences: [a, [b]]}\n",
         "audiences must be a list of strings"},
        {"clients:\n  - {id: a, secret: s, audiences: a, scopes: {x: 1}}\n",
         "scopes must be a list of strings"},
        {"clients:\n  - {id: a, secret: s, audiences: a, colour: blue}\n",
         "unknown key 'colour' (expected id, secret, audiences, scopes)"},
        {"clients:\n  - {id: a, secret: s}\n",
         "c.yaml:2:5: a client needs id, secret and at least one audience"},
        {"clients:\n  - {id: a, audiences: x}\n", "a client needs id, secret"},
        {"clients:\n  - {secret: s, audiences: x}\n", "a client needs id, secret"},
    };
    struct wdn_diag d;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        d = (struct wdn_diag){0};
        struct wdn_issuer_clients *l =
            wdn_issuer_clients_parse(wdn_str_from_cstr(cases[i].yaml), "c.yaml", &d);
        char where[600];
        wdn_fmt(where, sizeof(where), "%s:%u:%u: %s", d.file, d.line, d.col, d.msg);
        if (l != NULL || d.code != WDN_ECONFIG || strstr(where, cases[i].msg) == NULL)
            fail_msg("%s: %d '%s', expected '%s'", cases[i].yaml, d.code, where, cases[i].msg);
    }

    /* Too many audiences, scopes (one string split on spaces counts each) and clients. */
    struct wdn_buf b;
    wdn_buf_init(&b, 1 << 20);
    wdn_buf_append_cstr(&b, "clients:\n  - id: a\n    secret: s\n    audiences: [");
    for (int i = 0; i <= WDN_ISSUER_MAX_AUDIENCES; i++)
        wdn_buf_printf(&b, "%saud%d", i ? ", " : "", i);
    wdn_buf_append_cstr(&b, "]\n");
    assert_null(wdn_issuer_clients_parse((struct wdn_str){b.data, b.len}, "c.yaml", &d));
    assert_non_null(strstr(d.msg, "too many audiences"));
    wdn_buf_reset(&b);
    wdn_buf_init(&b, 1 << 20);
    wdn_buf_append_cstr(&b, "clients:\n  - id: a\n    secret: s\n    audiences: x\n    scopes: \"");
    for (int i = 0; i <= WDN_ISSUER_MAX_SCOPES; i++)
        wdn_buf_printf(&b, "%ss%d", i ? "  " : "", i);
    wdn_buf_append_cstr(&b, "\"\n");
    assert_null(wdn_issuer_clients_parse((struct wdn_str){b.data, b.len}, "c.yaml", &d));
    assert_non_null(strstr(d.msg, "too many scopes"));
    wdn_buf_reset(&b);
    wdn_buf_init(&b, 1 << 20);
    wdn_buf_append_cstr(&b, "clients:\n");
    for (int i = 0; i <= WDN_ISSUER_MAX_CLIENTS; i++)
        wdn_buf_printf(&b, "  - {id: c%d, secret: s, audiences: a}\n", i);
    assert_null(wdn_issuer_clients_parse((struct wdn_str){b.data, b.len}, "c.yaml", &d));
    assert_non_null(strstr(d.msg, "too many clients"));
    wdn_buf_reset(&b);

    /* Accepted: singular keys, a scope string split on spaces, an audience given alone. */
    const char *ok = "clients:\n  - id: svc\n    secret: s3cret\n    audience: https://api.test/\n"
                     "    scope: \"read  write\"\n";
    struct wdn_issuer_clients *l = wdn_issuer_clients_parse(wdn_str_from_cstr(ok), "c.yaml", &d);
    size_t n;
    assert_non_null(l);
    const struct wdn_issuer_client_cfg *c = wdn_issuer_clients_items(l, &n);
    assert_int_equal(n, 1);
    assert_string_equal(c[0].id, "svc");
    assert_int_equal(c[0].naudiences, 1);
    assert_int_equal(c[0].nscopes, 2);
    assert_string_equal(c[0].scopes[1], "write");
    wdn_issuer_clients_free(l);
    /* A file that cannot be read says which. */
    assert_null(wdn_issuer_clients_load("/nonexistent/clients.yaml", &d));
    assert_non_null(strstr(d.msg, "cannot read /nonexistent/clients.yaml"));
}

/* ---- The sign-in and consent forms --------------------------------------------------------- */

/* A POST of a form to path with cookie; the response in r. */
static void post_form(const char *path, const char *content_type, const char *cookie,
                      const char *body, bool too_large, struct wdn_issuer_response *r)
{
    struct wdn_issuer_request req = {.method = WDN_STR("POST"),
                                     .path = wdn_str_from_cstr(path),
                                     .content_type = wdn_str_from_cstr(content_type),
                                     .cookie = wdn_str_from_cstr(cookie),
                                     .body = wdn_str_from_cstr(body),
                                     .body_too_large = too_large,
                                     .peer = "192.0.2.9"};
    assert_int_equal(wdn_issuer_handle(iss, &req, NOW, r), 0);
}

/* The value of the page's hidden input name into out. */
static void hidden(const struct wdn_issuer_response *r, const char *name, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "name=\"%s\" value=\"", name);
    const char *p = strstr(r->body.data, pat);
    assert_non_null(p);
    p += strlen(pat);
    snprintf(out, cap, "%.*s", (int)strcspn(p, "\""), p);
}

static void expect_form_page(struct wdn_issuer_response *r, int status, const char *text)
{
    if (r->status != status || r->body.data == NULL || strstr(r->body.data, text) == NULL)
        fail_msg("expected %d with '%s', got %d", status, text, r->status);
    assert_null(wdn_issuer_response_header(r, "Location"));
    wdn_issuer_response_reset(r);
}

static void test_signin_form_refusals(void **state)
{
    (void)state;
    struct wdn_issuer_response r;
    char cookie[256], csrf[64], rid[64], body[512];
    const char *form = "application/x-www-form-urlencoded";
    char *q = query_with("app", NULL);

    /* A fresh browser: the sign-in page, its session cookie and hidden fields. */
    authorize(q, &r);
    free(q);
    assert_int_equal(r.status, 200);
    const char *set = wdn_issuer_response_header(&r, "Set-Cookie");
    assert_non_null(set);
    snprintf(cookie, sizeof(cookie), "%.*s", (int)strcspn(set, ";"), set);
    hidden(&r, "csrf", csrf, sizeof(csrf));
    hidden(&r, "rid", rid, sizeof(rid));
    wdn_issuer_response_reset(&r);

    post_form("/authorize/sign-in", form, cookie, "", true, &r);
    expect_form_page(&r, 413, "The form is too large.");
    snprintf(body, sizeof(body), "csrf=%s&rid=%s&username=alice&password=x", csrf, rid);
    post_form("/authorize/sign-in", "text/plain", cookie, body, false, &r);
    expect_form_page(&r, 400, "The form is malformed.");
    post_form("/authorize/sign-in", form, cookie, "csrf=a&csrf=b", false, &r);
    expect_form_page(&r, 400, "The form is malformed.");
    /* Another browser's cookie, or none: the CSRF token does not match. */
    post_form("/authorize/sign-in", form, "", body, false, &r);
    expect_form_page(&r, 403, "This form has expired");
    /* A request id this session never had. */
    snprintf(body, sizeof(body), "csrf=%s&rid=nope&username=alice&password=x", csrf);
    post_form("/authorize/sign-in", form, cookie, body, false, &r);
    expect_form_page(&r, 400, "This sign-in has expired");
    /* A user name that cannot be one, or none: asked again, nothing checked. */
    snprintf(body, sizeof(body), "csrf=%s&rid=%s&username=a+b&password=x", csrf, rid);
    post_form("/authorize/sign-in", form, cookie, body, false, &r);
    expect_form_page(&r, 400, "Enter your user name and password.");
    snprintf(body, sizeof(body), "csrf=%s&rid=%s&password=x", csrf, rid);
    post_form("/authorize/sign-in", form, cookie, body, false, &r);
    expect_form_page(&r, 400, "Enter your user name and password.");
    /* Consent from a session nobody signed in to is no consent. */
    snprintf(body, sizeof(body), "csrf=%s&rid=%s&decision=allow", csrf, rid);
    post_form("/authorize/consent", form, cookie, body, false, &r);
    expect_form_page(&r, 400, "This sign-in has expired");
    post_form("/authorize/consent", form, cookie, "", true, &r);
    expect_form_page(&r, 413, "The form is too large.");
}

/* ---- Client authentication at the token endpoint ------------------------------------------- */

static json_t *token_call(const char *auth, bool repeated, const char *body, int *status)
{
    struct wdn_issuer_request req = {.method = WDN_STR("POST"),
                                     .path = WDN_STR("/oauth/token"),
                                     .content_type = WDN_STR("application/x-www-form-urlencoded"),
                                     .authorization = wdn_str_from_cstr(auth),
                                     .has_authorization = auth != NULL,
                                     .repeated_auth_header = repeated,
                                     .body = wdn_str_from_cstr(body),
                                     .peer = "192.0.2.1"};
    struct wdn_issuer_response r;
    assert_int_equal(wdn_issuer_handle(iss, &req, NOW, &r), 0);
    *status = r.status;
    json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
    assert_non_null(j);
    wdn_issuer_response_reset(&r);
    return j;
}

static void test_token_client_auth_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *auth;
        bool repeated;
        const char *body;
        int status;
        const char *error, *msg;
    } cases[] = {
        /* "id:" / ":secret" / "idsecret" / not base64 / another scheme */
        {"Basic aWQ6", false, "grant_type=client_credentials", 401, "invalid_client",
         "not usable HTTP Basic"},
        {"Basic OnNlY3JldA==", false, "grant_type=client_credentials", 401, "invalid_client",
         "not usable HTTP Basic"},
        {"Basic aWRzZWNyZXQ=", false, "grant_type=client_credentials", 401, "invalid_client",
         "not usable HTTP Basic"},
        {"Basic !!!", false, "grant_type=client_credentials", 401, "invalid_client",
         "not usable HTTP Basic"},
        {"Bearer abc", false, "grant_type=client_credentials", 401, "invalid_client",
         "not usable HTTP Basic"},
        {"Basic", false, "grant_type=client_credentials", 401, "invalid_client",
         "not usable HTTP Basic"},
        {"Basic aWQ6c2VjcmV0", true, "grant_type=client_credentials", 400, "invalid_request",
         "Authorization is repeated"},
        {"Basic aWQ6c2VjcmV0", false, "grant_type=client_credentials&client_secret=s", 400,
         "invalid_request", "use one client authentication method"},
        {"Basic aWQ6c2VjcmV0", false, "grant_type=client_credentials&client_id=other", 400,
         "invalid_request", "use one client authentication method"},
        /* well-formed, but nobody */
        {"basic aWQ6c2VjcmV0", false, "grant_type=client_credentials", 401, "invalid_client",
         "client authentication failed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int status;
        json_t *j = token_call(cases[i].auth, cases[i].repeated, cases[i].body, &status);
        const char *e = json_string_value(json_object_get(j, "error"));
        const char *m = json_string_value(json_object_get(j, "error_description"));
        if (status != cases[i].status || e == NULL || strcmp(e, cases[i].error) != 0 || m == NULL ||
            strstr(m, cases[i].msg) == NULL)
            fail_msg("%s: %d %s '%s', expected %d %s '%s'", cases[i].auth, status, e ? e : "(none)",
                     m ? m : "", cases[i].status, cases[i].error, cases[i].msg);
        assert_null(json_object_get(j, "access_token"));
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_refusals),
        cmocka_unit_test(test_config_accepted),
        cmocka_unit_test(test_client_add_refusals),
        cmocka_unit_test(test_user_add_refusals),
        cmocka_unit_test(test_broken_key_list),
        cmocka_unit_test(test_cimd_document_refusals),
        cmocka_unit_test(test_registration_refusals),
        cmocka_unit_test(test_authorize_redirected_errors),
        cmocka_unit_test(test_authorize_page_errors),
        cmocka_unit_test(test_authorize_without_resources),
        cmocka_unit_test(test_clients_file_refusals),
        cmocka_unit_test(test_signin_form_refusals),
        cmocka_unit_test(test_token_client_auth_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
