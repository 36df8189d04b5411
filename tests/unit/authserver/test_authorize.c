/* The authorization code flow without sockets, driven like a browser and a client would drive
 * it (cookies, hidden form fields, redirects), with the clock in the test's hands: the happy
 * path for a pre-registered public client, a confidential client, a Client ID Metadata
 * Document client (fetch replaced) and a DCR client; and one test per attack: PKCE missing,
 * plain or wrong; a code used twice; redirect URI mismatches and open-redirect attempts
 * (shown, never redirected); CSRF on the forms; framing headers; refresh token reuse; CIMD
 * documents that lie; password guessing; session fixation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "authserver/issuer.h"
#include "base/error.h"
#include "base/limits.h"
#include "http/fetch.h"
#include "base/base64.h"
#include "jose/jwt.h"
#include "oauth2/form.h"

#define ISS "https://issuer.test:9443/"
#define NOW 1800000000
#define RES "https://mcp.test/mcp"
#define APP_CB "http://127.0.0.1/callback"
#define PASSWORD "correct horse battery"
#define VERIFIER "verifier-0123456789-0123456789-0123456789-abcdef"
#define CIMD_URL "https://client.example/oauth/metadata.json"

static char dir[256];
static struct wdn_issuer *iss;
static char challenge[64];
static char conf_secret[128];

/* What the replaced CIMD fetch answers. */
static struct {
    long status;
    const char *body;
    int rc;
    int calls;
    const char *cache_control;
} cimd;

static int fake_fetch(void *ud, const char *url, struct wdn_issuer_cimd_doc *doc,
                      struct wdn_diag *d)
{
    cimd.calls++;
    if (cimd.rc != 0)
        return wdn_diag_set(d, cimd.rc, "fetch failed");
    doc->status = cimd.status;
    doc->max_age = cimd.cache_control ? 600 : -1;
    return wdn_buf_append_cstr(&doc->body, cimd.body);
}

static int rm_rf(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    return system(cmd);
}

static struct wdn_issuer *make_issuer(const char *issuer, bool dcr)
{
    static const char *const resources[] = {RES, "https://other.test/mcp"};
    static const char *const scopes[] = {"mcp:tools", "mcp:read", "offline_access"};
    struct wdn_issuer_config cfg = {.issuer = issuer,
                                    .state_dir = dir,
                                    .resources = resources,
                                    .nresources = 2,
                                    .scopes = scopes,
                                    .nscopes = 3,
                                    .dcr = dcr,
                                    .cimd_fetch = fake_fetch};
    struct wdn_diag d;
    struct wdn_issuer *i = wdn_issuer_new(&cfg, &d);
    if (i == NULL)
        fail_msg("issuer: %s", d.msg);
    return i;
}

static int setup(void **state)
{
    struct wdn_diag d;
    const char *app_uris[] = {APP_CB};
    const char *conf_uris[] = {"https://app.example/cb"};
    unsigned char h[32];
    size_t n;

    snprintf(dir, sizeof(dir), "/tmp/wdn-authz-test-XXXXXX");
    if (mkdtemp(dir) == NULL || wdn_issuer_keys_ensure(dir, WDN_JOSE_ES256, 100, NOW, NULL, NULL))
        return -1;
    if (wdn_issuer_user_add(dir, "alice", PASSWORD, false, &d) != 0 ||
        wdn_issuer_user_add(dir, "bob", "bobs password", false, &d) != 0)
        fail_msg("user add: %s", d.msg);
    struct wdn_issuer_reg_client app = {.id = "app",
                                        .name = "Test <App>",
                                        .redirect_uris = app_uris,
                                        .nredirect_uris = 1,
                                        .public_client = true};
    struct wdn_issuer_reg_client conf = {
        .id = "conf", .redirect_uris = conf_uris, .nredirect_uris = 1, .scope = "mcp:read"};
    if (wdn_issuer_client_add(dir, &app, NULL, 0, &d) != 0 ||
        wdn_issuer_client_add(dir, &conf, conf_secret, sizeof(conf_secret), &d) != 0)
        fail_msg("client add: %s", d.msg);
    EVP_Digest(VERIFIER, strlen(VERIFIER), h, NULL, EVP_sha256(), NULL);
    wdn_b64url_encode(h, 32, challenge, sizeof(challenge), &n);
    iss = make_issuer(ISS, true);
    return 0;
}

static int teardown(void **state)
{
    wdn_issuer_free(iss);
    rm_rf(dir);
    return 0;
}

/* ---- A small browser --------------------------------------------------------------------- */

struct browser {
    char cookie[256]; /* "name=value" or "" */
    const char *peer;
    const char *origin;
};

static void request(struct wdn_issuer *i, const char *method, const char *path, const char *query,
                    const char *body, struct browser *b, int64_t now, struct wdn_issuer_response *r)
{
    struct wdn_issuer_request req = {
        .method = wdn_str_from_cstr(method),
        .path = wdn_str_from_cstr(path),
        .query = wdn_str_from_cstr(query ? query : ""),
        .content_type = wdn_str_from_cstr(body ? "application/x-www-form-urlencoded" : ""),
        .cookie = wdn_str_from_cstr(b ? b->cookie : ""),
        .origin = wdn_str_from_cstr(b && b->origin ? b->origin : ""),
        .peer = b && b->peer ? b->peer : "192.0.2.1",
        .body = wdn_str_from_cstr(body)};
    assert_int_equal(wdn_issuer_handle(i, &req, now, r), 0);
    const char *set = wdn_issuer_response_header(r, "Set-Cookie");
    if (b != NULL && set != NULL) {
        size_t n = strcspn(set, ";");
        snprintf(b->cookie, sizeof(b->cookie), "%.*s", (int)n, set);
        if (strstr(set, "Max-Age=0"))
            b->cookie[0] = '\0';
    }
}

/* The value of a hidden input on the page (malloc'd), or NULL. */
static char *field(const struct wdn_issuer_response *r, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "name=\"%s\" value=\"", name);
    const char *p = r->body.data ? strstr(r->body.data, pat) : NULL;
    if (p == NULL)
        return NULL;
    p += strlen(pat);
    return strndup(p, strcspn(p, "\""));
}

/* A parameter of the Location header's query (malloc'd, decoded), or NULL. */
static char *loc_param(const struct wdn_issuer_response *r, const char *name)
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

static char *authz_query(const char *client, const char *redirect, const char *extra)
{
    struct wdn_buf b;
    wdn_buf_init(&b, 65536);
    wdn_form_add(&b, "response_type", "code");
    wdn_form_add(&b, "client_id", client);
    wdn_form_add(&b, "redirect_uri", redirect);
    wdn_form_add(&b, "code_challenge", challenge);
    wdn_form_add(&b, "code_challenge_method", "S256");
    wdn_form_add(&b, "state", "st-1");
    wdn_form_add(&b, "resource", RES);
    if (extra)
        wdn_buf_printf(&b, "&%s", extra);
    return wdn_buf_cstr(&b);
}

/* POSTs a form with the page's csrf and rid plus extra ("k=v&..."). */
static void submit(struct wdn_issuer *i, const struct wdn_issuer_response *page, const char *action,
                   const char *extra, struct browser *b, int64_t now, struct wdn_issuer_response *r)
{
    char *csrf = field(page, "csrf"), *rid = field(page, "rid");
    struct wdn_buf body;
    wdn_buf_init(&body, 65536);
    assert_non_null(csrf);
    assert_non_null(rid);
    wdn_form_add(&body, "csrf", csrf);
    wdn_form_add(&body, "rid", rid);
    if (extra)
        wdn_buf_printf(&body, "&%s", extra);
    request(i, "POST", action, NULL, wdn_buf_cstr(&body), b, now, r);
    wdn_buf_reset(&body);
    free(csrf);
    free(rid);
}

static void expect_page(struct wdn_issuer_response *r, int status, const char *text)
{
    if (r->status != status || !r->body.data || !strstr(r->body.data, text))
        fail_msg("expected page %d with '%s', got %d: %.*s", status, text, r->status,
                 (int)(r->body.len > 600 ? 600 : r->body.len), r->body.data);
    assert_null(wdn_issuer_response_header(r, "Location"));
    assert_string_equal(r->content_type, "text/html; charset=utf-8");
}

/* Browser b signs in to request query and allows it; returns the code (malloc'd). */
static char *get_code(struct wdn_issuer *i, const char *query, struct browser *b, int64_t now)
{
    struct wdn_issuer_response r, r2, r3;
    request(i, "GET", "/authorize", query, NULL, b, now, &r);
    if (r.status == 302 || r.status == 303) { /* consent remembered */
        char *code = loc_param(&r, "code");
        wdn_issuer_response_reset(&r);
        return code;
    }
    if (strstr(r.body.data, "Sign in") && !strstr(r.body.data, "Allow access")) {
        submit(i, &r, "/authorize/sign-in", "username=alice&password=correct+horse+battery", b, now,
               &r2);
        wdn_issuer_response_reset(&r);
        r = r2;
        if (r.status == 303) {
            char *code = loc_param(&r, "code");
            wdn_issuer_response_reset(&r);
            return code;
        }
    }
    expect_page(&r, 200, "Allow access?");
    submit(i, &r, "/authorize/consent", "decision=allow", b, now, &r3);
    assert_int_equal(r3.status, 303);
    char *code = loc_param(&r3, "code");
    char *st = loc_param(&r3, "state"), *is = loc_param(&r3, "iss");
    assert_string_equal(st, "st-1");
    assert_string_equal(is, wdn_issuer_url(i));
    free(st);
    free(is);
    wdn_issuer_response_reset(&r);
    wdn_issuer_response_reset(&r3);
    assert_non_null(code);
    return code;
}

/* A token request; the JSON answer (caller decrefs) and status. */
static json_t *token(struct wdn_issuer *i, const char *body, const char *auth, int64_t now,
                     int *status)
{
    struct wdn_issuer_response r;
    struct wdn_issuer_request req = {.method = WDN_STR("POST"),
                                     .path = WDN_STR("/oauth/token"),
                                     .content_type = WDN_STR("application/x-www-form-urlencoded"),
                                     .authorization = wdn_str_from_cstr(auth),
                                     .has_authorization = auth != NULL,
                                     .body = wdn_str_from_cstr(body)};
    assert_int_equal(wdn_issuer_handle(i, &req, now, &r), 0);
    *status = r.status;
    json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
    assert_non_null(j);
    wdn_issuer_response_reset(&r);
    return j;
}

static json_t *redeem(struct wdn_issuer *i, const char *client, const char *code,
                      const char *redirect, const char *verifier, int64_t now, int *status)
{
    struct wdn_buf b;
    wdn_buf_init(&b, 65536);
    wdn_form_add(&b, "grant_type", "authorization_code");
    wdn_form_add(&b, "client_id", client);
    wdn_form_add(&b, "code", code);
    wdn_form_add(&b, "redirect_uri", redirect);
    if (verifier)
        wdn_form_add(&b, "code_verifier", verifier);
    json_t *j = token(i, wdn_buf_cstr(&b), NULL, now, status);
    wdn_buf_reset(&b);
    return j;
}

static json_t *refresh(struct wdn_issuer *i, const char *client, const char *rt, const char *extra,
                       int64_t now, int *status)
{
    struct wdn_buf b;
    wdn_buf_init(&b, 65536);
    wdn_form_add(&b, "grant_type", "refresh_token");
    wdn_form_add(&b, "client_id", client);
    wdn_form_add(&b, "refresh_token", rt);
    if (extra)
        wdn_buf_printf(&b, "&%s", extra);
    json_t *j = token(i, wdn_buf_cstr(&b), NULL, now, status);
    wdn_buf_reset(&b);
    return j;
}

static void expect_grant_error(json_t *j, int status, int want_status, const char *error)
{
    const char *e = json_string_value(json_object_get(j, "error"));
    if (status != want_status || e == NULL || strcmp(e, error) != 0)
        fail_msg("expected %d %s, got %d %s", want_status, error, status, e ? e : "(none)");
    json_decref(j);
}

static json_t *claims_of(const char *jwt)
{
    const char *p = strchr(jwt, '.') + 1, *e = strchr(p, '.');
    unsigned char buf[4096];
    size_t n;
    assert_int_equal(wdn_b64url_decode((struct wdn_str){p, (size_t)(e - p)}, buf, sizeof(buf), &n),
                     0);
    return json_loadb((const char *)buf, n, 0, NULL);
}

/* ---- The happy paths ---------------------------------------------------------------------- */

static void test_public_client_flow(void **state)
{
    struct browser b = {0};
    char *q = authz_query("app", "http://127.0.0.1:49152/callback", "scope=mcp:tools");
    struct wdn_issuer_response r;
    int st;

    /* The sign-in page names the client, escaped. */
    request(iss, "GET", "/authorize", q, NULL, &b, NOW, &r);
    expect_page(&r, 200, "Test &lt;App&gt;");
    assert_non_null(strstr(r.body.data, "name=\"password\""));
    assert_true(b.cookie[0] != '\0');
    wdn_issuer_response_reset(&r);

    char *code = get_code(iss, q, &b, NOW);
    json_t *t = redeem(iss, "app", code, "http://127.0.0.1:49152/callback", VERIFIER, NOW + 1, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(t, "token_type")), "Bearer");
    assert_string_equal(json_string_value(json_object_get(t, "scope")), "mcp:tools");
    assert_non_null(json_string_value(json_object_get(t, "refresh_token")));
    json_t *c = claims_of(json_string_value(json_object_get(t, "access_token")));
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "alice");
    assert_string_equal(json_string_value(json_object_get(c, "aud")), RES);
    assert_string_equal(json_string_value(json_object_get(c, "client_id")), "app");
    assert_string_equal(json_string_value(json_object_get(c, "iss")), ISS);
    assert_string_equal(json_string_value(json_object_get(c, "scope")), "mcp:tools");
    json_decref(c);

    /* Refresh: a new refresh token each time, the same grant. */
    char *rt1 = strdup(json_string_value(json_object_get(t, "refresh_token")));
    json_decref(t);
    t = refresh(iss, "app", rt1, NULL, NOW + 4000, &st);
    assert_int_equal(st, 200);
    const char *rt2 = json_string_value(json_object_get(t, "refresh_token"));
    assert_string_not_equal(rt1, rt2);
    c = claims_of(json_string_value(json_object_get(t, "access_token")));
    assert_string_equal(json_string_value(json_object_get(c, "aud")), RES);
    assert_int_equal(json_integer_value(json_object_get(c, "iat")), NOW + 4000);
    json_decref(c);
    json_decref(t);

    /* The consent is remembered: the same request goes straight back with a code. */
    request(iss, "GET", "/authorize", q, NULL, &b, NOW + 10, &r);
    assert_int_equal(r.status, 302);
    char *code2 = loc_param(&r, "code");
    assert_non_null(code2);
    wdn_issuer_response_reset(&r);
    /* ... but a wider scope asks again. */
    char *q2 = authz_query("app", APP_CB, "scope=mcp:tools+mcp:read");
    request(iss, "GET", "/authorize", q2, NULL, &b, NOW + 10, &r);
    expect_page(&r, 200, "Allow access?");
    assert_non_null(strstr(r.body.data, "<li>mcp:read</li>"));
    wdn_issuer_response_reset(&r);
    free(q2);
    free(code2);
    free(rt1);
    free(code);
    free(q);
}

static void test_confidential_client(void **state)
{
    struct browser b = {0};
    char *q = authz_query("conf", "https://app.example/cb", "scope=mcp:read");
    char *code = get_code(iss, q, &b, NOW);
    struct wdn_buf body, auth;
    int st;

    wdn_buf_init(&body, 65536);
    wdn_buf_init(&auth, 4096);
    wdn_form_add(&body, "grant_type", "authorization_code");
    wdn_form_add(&body, "code", code);
    wdn_form_add(&body, "redirect_uri", "https://app.example/cb");
    wdn_form_add(&body, "code_verifier", VERIFIER);
    /* Without its secret a confidential client gets nothing. */
    wdn_buf_printf(&body, "&client_id=conf");
    json_t *t = token(iss, wdn_buf_cstr(&body), NULL, NOW, &st);
    expect_grant_error(t, st, 401, "invalid_client");
    /* The code was not spent by that: client authentication failed first. */
    body.len -= strlen("&client_id=conf");
    wdn_form_basic_auth(&auth, "conf", conf_secret);
    t = token(iss, wdn_buf_cstr(&body), wdn_buf_cstr(&auth), NOW, &st);
    assert_int_equal(st, 200);
    json_decref(t);
    /* The client's registration limits its scopes. */
    char *q2 = authz_query("conf", "https://app.example/cb", "scope=mcp:tools");
    struct wdn_issuer_response r;
    request(iss, "GET", "/authorize", q2, NULL, &b, NOW, &r);
    assert_int_equal(r.status, 302);
    char *err = loc_param(&r, "error");
    assert_string_equal(err, "invalid_scope");
    free(err);
    wdn_issuer_response_reset(&r);
    free(q2);
    wdn_buf_reset(&body);
    wdn_buf_reset(&auth);
    free(code);
    free(q);
}

/* ---- Attacks on PKCE and codes ------------------------------------------------------------ */

static void expect_redirect_error(const char *query, const char *error)
{
    struct browser b = {0};
    struct wdn_issuer_response r;
    request(iss, "GET", "/authorize", query, NULL, &b, NOW, &r);
    if (r.status != 302)
        fail_msg("expected a redirect with %s, got %d", error, r.status);
    const char *loc = wdn_issuer_response_header(&r, "Location");
    assert_true(strncmp(loc, APP_CB "?", strlen(APP_CB) + 1) == 0);
    char *e = loc_param(&r, "error"), *s = loc_param(&r, "state"), *i = loc_param(&r, "iss");
    assert_string_equal(e, error);
    assert_string_equal(s, "st-1");
    assert_string_equal(i, ISS);
    free(e);
    free(s);
    free(i);
    wdn_issuer_response_reset(&r);
}

static void test_pkce_missing_or_plain(void **state)
{
    const char *base = "response_type=code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1"
                       "%2Fcallback&state=st-1";
    char q[512];

    expect_redirect_error(base, "invalid_request"); /* no challenge */
    snprintf(q, sizeof(q), "%s&code_challenge=%s", base, challenge);
    expect_redirect_error(q, "invalid_request"); /* no method means plain */
    snprintf(q, sizeof(q), "%s&code_challenge=%s&code_challenge_method=plain", base, challenge);
    expect_redirect_error(q, "invalid_request");
    snprintf(q, sizeof(q), "%s&code_challenge=short&code_challenge_method=S256", base);
    expect_redirect_error(q, "invalid_request");
    snprintf(q, sizeof(q), "%s&code_challenge=%s&code_challenge_method=S256&response_type=token",
             base, challenge);
    /* a repeated parameter cannot be trusted at all: a page */
    struct browser b = {0};
    struct wdn_issuer_response r;
    request(iss, "GET", "/authorize", q, NULL, &b, NOW, &r);
    expect_page(&r, 400, "malformed");
    wdn_issuer_response_reset(&r);
    char *q2 = authz_query("app", APP_CB, "scope=admin");
    expect_redirect_error(q2, "invalid_scope");
    free(q2);
    q2 = authz_query("app", APP_CB, "prompt=none");
    expect_redirect_error(q2, "login_required");
    free(q2);
}

static void test_pkce_wrong_verifier(void **state)
{
    struct browser b = {0};
    char *q = authz_query("app", APP_CB, NULL);
    char *code = get_code(iss, q, &b, NOW);
    int st;

    json_t *t = redeem(iss, "app", code, APP_CB, NULL, NOW, &st);
    expect_grant_error(t, st, 400, "invalid_grant"); /* no verifier */
    code = (free(code), get_code(iss, q, &b, NOW));
    t = redeem(iss, "app", code, APP_CB, "wrong-verifier-0123456789-0123456789-0123456789", NOW,
               &st);
    expect_grant_error(t, st, 400, "invalid_grant");
    /* A failed redemption spends the code: the right verifier comes too late. */
    t = redeem(iss, "app", code, APP_CB, VERIFIER, NOW, &st);
    expect_grant_error(t, st, 400, "invalid_grant");
    code = (free(code), get_code(iss, q, &b, NOW));
    t = redeem(iss, "app", code, "http://127.0.0.1/other", VERIFIER, NOW, &st);
    expect_grant_error(t, st, 400, "invalid_grant"); /* another redirect_uri */
    code = (free(code), get_code(iss, q, &b, NOW));
    t = redeem(iss, "conf", code, APP_CB, VERIFIER, NOW, &st);
    expect_grant_error(t, st, 401, "invalid_client"); /* conf must authenticate */
    code = (free(code), get_code(iss, q, &b, NOW));
    t = redeem(iss, "app", code, APP_CB, VERIFIER, NOW + WDN_ISSUER_CODE_LIFETIME_S, &st);
    expect_grant_error(t, st, 400, "invalid_grant"); /* expired */
    free(code);
    free(q);
}

static void test_code_reuse_revokes(void **state)
{
    struct browser b = {0};
    char *q = authz_query("app", APP_CB, NULL);
    char *code = get_code(iss, q, &b, NOW);
    int st;

    json_t *first = redeem(iss, "app", code, APP_CB, VERIFIER, NOW, &st);
    assert_int_equal(st, 200);
    const char *rt = json_string_value(json_object_get(first, "refresh_token"));
    json_t *again = redeem(iss, "app", code, APP_CB, VERIFIER, NOW + 1, &st);
    expect_grant_error(again, st, 400, "invalid_grant");
    /* What the first redemption gave is revoked. */
    json_t *t = refresh(iss, "app", rt, NULL, NOW + 2, &st);
    expect_grant_error(t, st, 400, "invalid_grant");
    json_decref(first);
    free(code);
    free(q);
}

/* ---- Redirect URIs ------------------------------------------------------------------------ */

static void test_redirect_mismatch_not_redirected(void **state)
{
    static const char *const bad[] = {
        "https://evil.example/callback",
        "http://127.0.0.1/callback/../evil",
        "http://127.0.0.1/callbackx",
        "http://127.0.0.1/callback?next=https://evil.example/",
        "http://127.0.0.1.evil.example/callback",
        "http://localhost/callback",
        "https://127.0.0.1/callback",
        "http://127.0.0.1/Callback",
        "http://user@127.0.0.1/callback",
        "//evil.example/callback",
        "http://127.0.0.1/callback#frag",
    };
    struct wdn_issuer_response r;
    struct browser b = {0};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *q = authz_query("app", bad[i], NULL);
        request(iss, "GET", "/authorize", q, NULL, &b, NOW, &r);
        expect_page(&r, 400, "not registered");
        assert_null(strstr(r.body.data, "evil.example")); /* not even as a link */
        wdn_issuer_response_reset(&r);
        free(q);
    }
    /* Any port on the loopback IP literal matches (RFC 8252 7.3); not the path. */
    char *q = authz_query("app", "http://127.0.0.1:65000/callback", "response_type=x");
    request(iss, "GET", "/authorize", q, NULL, &b, NOW, &r);
    expect_page(&r, 400, "malformed"); /* repeated response_type: a page */
    wdn_issuer_response_reset(&r);
    free(q);
    /* Unknown client, no client, no redirect_uri: pages too. */
    const char *pages[] = {"response_type=code&client_id=nobody&redirect_uri=http%3A%2F%2F"
                           "127.0.0.1%2Fcallback",
                           "response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback",
                           "response_type=code&client_id=app", "%zz"};
    for (size_t i = 0; i < 4; i++) {
        request(iss, "GET", "/authorize", pages[i], NULL, &b, NOW, &r);
        assert_int_equal(r.status, 400);
        assert_null(wdn_issuer_response_header(&r, "Location"));
        wdn_issuer_response_reset(&r);
    }
}

/* ---- Forms: CSRF, framing, sessions, throttling ------------------------------------------- */

static void expect_framing_headers(const struct wdn_issuer_response *r)
{
    const char *csp = wdn_issuer_response_header(r, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_non_null(strstr(csp, "default-src 'none'"));
    assert_null(strstr(csp, "script-src"));
    assert_string_equal(wdn_issuer_response_header(r, "X-Frame-Options"), "DENY");
    assert_string_equal(wdn_issuer_response_header(r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(wdn_issuer_response_header(r, "Referrer-Policy"), "same-origin");
    assert_string_equal(r->cache_control, "no-store");
    assert_true(r->pragma_no_cache);
    assert_null(strstr(r->body.data, "<script"));
}

static void test_framing_headers(void **state)
{
    struct browser b = {0};
    char *q = authz_query("app", APP_CB, "prompt=consent");
    struct wdn_issuer_response r, r2;

    request(iss, "GET", "/authorize", q, NULL, &b, NOW, &r); /* sign-in */
    expect_framing_headers(&r);
    submit(iss, &r, "/authorize/sign-in", "username=alice&password=correct+horse+battery", &b, NOW,
           &r2); /* consent */
    expect_page(&r2, 200, "Allow access?");
    expect_framing_headers(&r2);
    wdn_issuer_response_reset(&r);
    wdn_issuer_response_reset(&r2);
    request(iss, "GET", "/authorize", "client_id=nobody", NULL, &b, NOW, &r); /* error */
    expect_framing_headers(&r);
    wdn_issuer_response_reset(&r);
    free(q);
}

static void test_csrf_on_consent(void **state)
{
    struct browser alice = {0}, eve = {0};
    char *q = authz_query("app", APP_CB, "scope=mcp:read");
    struct wdn_issuer_response r, consent, eve_page, out;

    request(iss, "GET", "/authorize", q, NULL, &alice, NOW, &r);
    submit(iss, &r, "/authorize/sign-in", "username=alice&password=correct+horse+battery", &alice,
           NOW, &consent);
    expect_page(&consent, 200, "Allow access?");
    wdn_issuer_response_reset(&r);
    /* Eve's own page gives her a CSRF token of her own session; posted with Alice's cookie
     * (a cross-site form), it does not match. */
    request(iss, "GET", "/authorize", q, NULL, &eve, NOW, &eve_page);
    struct browser forged = alice;
    submit(iss, &eve_page, "/authorize/consent", "decision=allow", &forged, NOW, &out);
    expect_page(&out, 403, "expired");
    wdn_issuer_response_reset(&out);
    /* No token at all. */
    char *rid = field(&consent, "rid"), body[256];
    snprintf(body, sizeof(body), "rid=%s&decision=allow", rid);
    request(iss, "POST", "/authorize/consent", NULL, body, &alice, NOW, &out);
    expect_page(&out, 403, "expired");
    wdn_issuer_response_reset(&out);
    /* The right token from another origin. */
    struct browser other = alice;
    other.origin = "https://evil.example";
    submit(iss, &consent, "/authorize/consent", "decision=allow", &other, NOW, &out);
    expect_page(&out, 403, "another site");
    wdn_issuer_response_reset(&out);
    /* The real form still works (nothing above spent the request), and Deny says so. */
    submit(iss, &consent, "/authorize/consent", "decision=deny", &alice, NOW, &out);
    assert_int_equal(out.status, 303);
    char *e = loc_param(&out, "error");
    assert_string_equal(e, "access_denied");
    free(e);
    wdn_issuer_response_reset(&out);
    wdn_issuer_response_reset(&consent);
    wdn_issuer_response_reset(&eve_page);
    free(rid);
    free(q);
}

static void test_new_session_at_sign_in(void **state)
{
    struct browser b = {0};
    char *q = authz_query("app", APP_CB, "scope=mcp:tools+mcp:read+offline_access");
    struct wdn_issuer_response r, r2, out;
    char before[256];

    request(iss, "GET", "/authorize", q, NULL, &b, NOW, &r);
    snprintf(before, sizeof(before), "%s", b.cookie);
    assert_true(before[0] != '\0');
    submit(iss, &r, "/authorize/sign-in", "username=alice&password=correct+horse+battery", &b, NOW,
           &r2);
    expect_page(&r2, 200, "Allow access?");
    assert_string_not_equal(before, b.cookie); /* renewed */
    const char *set = wdn_issuer_response_header(&r2, "Set-Cookie");
    assert_non_null(strstr(set, "HttpOnly"));
    assert_non_null(strstr(set, "Secure"));
    assert_non_null(strstr(set, "SameSite=Lax"));
    assert_non_null(strstr(set, "__Host-"));
    /* The id from before sign-in (one an attacker could have planted) is worth nothing. */
    struct browser fixated = b;
    snprintf(fixated.cookie, sizeof(fixated.cookie), "%s", before);
    submit(iss, &r2, "/authorize/consent", "decision=allow", &fixated, NOW, &out);
    expect_page(&out, 403, "expired");
    wdn_issuer_response_reset(&out);
    /* Sign out: the session ends, the request waits for someone to sign in again. */
    submit(iss, &r2, "/authorize/sign-out", NULL, &b, NOW, &out);
    expect_page(&out, 200, "name=\"password\"");
    wdn_issuer_response_reset(&out);
    wdn_issuer_response_reset(&r);
    wdn_issuer_response_reset(&r2);
    free(q);
}

static void test_password_guessing_throttled(void **state)
{
    struct browser b = {.peer = "198.51.100.7"};
    char *q = authz_query("app", APP_CB, "prompt=consent");
    struct wdn_issuer_response page, r;
    int64_t t = NOW;

    request(iss, "GET", "/authorize", q, NULL, &b, t, &page);
    for (int i = 0; i < WDN_ISSUER_THROTTLE_FREE_USER; i++) {
        submit(iss, &page, "/authorize/sign-in", "username=bob&password=guess", &b, t, &r);
        expect_page(&r, 401, "Wrong user name or password");
        wdn_issuer_response_reset(&r);
    }
    /* The next failure starts the waits; during one even the right password is not tried. */
    submit(iss, &page, "/authorize/sign-in", "username=bob&password=guess", &b, t, &r);
    expect_page(&r, 401, "Wrong");
    wdn_issuer_response_reset(&r);
    submit(iss, &page, "/authorize/sign-in", "username=bob&password=bobs+password", &b, t, &r);
    expect_page(&r, 429, "Too many failed sign-ins");
    assert_non_null(wdn_issuer_response_header(&r, "Retry-After"));
    wdn_issuer_response_reset(&r);
    /* Another user from another address is not affected. */
    struct browser other = b;
    other.peer = "203.0.113.9";
    submit(iss, &page, "/authorize/sign-in", "username=alice&password=correct+horse+battery",
           &other, t, &r);
    expect_page(&r, 200, "Allow access?");
    wdn_issuer_response_reset(&r);
    /* Once the wait is over the right password works. */
    t += 2;
    wdn_issuer_response_reset(&page);
    request(iss, "GET", "/authorize", q, NULL, &b, t, &page);
    submit(iss, &page, "/authorize/sign-in", "username=bob&password=bobs+password", &b, t, &r);
    expect_page(&r, 200, "Allow access?");
    wdn_issuer_response_reset(&r);
    wdn_issuer_response_reset(&page);
    /* Guessing across many names from one address is throttled per address. */
    struct browser spray = {.peer = "198.51.100.99"};
    request(iss, "GET", "/authorize", q, NULL, &spray, t, &page);
    for (int i = 0; i <= WDN_ISSUER_THROTTLE_FREE_ADDR; i++) {
        char body[64];
        snprintf(body, sizeof(body), "username=user%d&password=guess", i);
        submit(iss, &page, "/authorize/sign-in", body, &spray, t, &r);
        expect_page(&r, 401, "Wrong");
        wdn_issuer_response_reset(&r);
    }
    submit(iss, &page, "/authorize/sign-in", "username=alice&password=correct+horse+battery",
           &spray, t, &r);
    expect_page(&r, 429, "Too many");
    wdn_issuer_response_reset(&r);
    wdn_issuer_response_reset(&page);
    free(q);
}

/* ---- Refresh tokens ----------------------------------------------------------------------- */

static void test_refresh_reuse_revokes_family(void **state)
{
    struct browser b = {0};
    char *q = authz_query("app", APP_CB, "scope=mcp:tools+mcp:read");
    char *code = get_code(iss, q, &b, NOW);
    int st;

    json_t *t = redeem(iss, "app", code, APP_CB, VERIFIER, NOW, &st);
    char *rt1 = strdup(json_string_value(json_object_get(t, "refresh_token")));
    json_decref(t);
    /* Bound to the client and the resource; a narrower scope is fine, a wider one is not. */
    t = refresh(iss, "conf", rt1, NULL, NOW, &st);
    expect_grant_error(t, st, 401, "invalid_client");
    t = refresh(iss, "app", rt1, "resource=https%3A%2F%2Fother.test%2Fmcp", NOW, &st);
    expect_grant_error(t, st, 400, "invalid_target");
    t = refresh(iss, "app", rt1, "scope=mcp:tools+offline_access", NOW, &st);
    expect_grant_error(t, st, 400, "invalid_scope");
    t = refresh(iss, "app", rt1, "scope=mcp:read", NOW + 5, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(t, "scope")), "mcp:read");
    char *rt2 = strdup(json_string_value(json_object_get(t, "refresh_token")));
    json_decref(t);
    /* The family keeps its scope. */
    t = refresh(iss, "app", rt2, NULL, NOW + 6, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(t, "scope")), "mcp:tools mcp:read");
    char *rt3 = strdup(json_string_value(json_object_get(t, "refresh_token")));
    json_decref(t);
    /* rt1 again: a thief or a replay. Every token of the family dies, rt3 included. */
    t = refresh(iss, "app", rt1, NULL, NOW + 7, &st);
    expect_grant_error(t, st, 400, "invalid_grant");
    t = refresh(iss, "app", rt3, NULL, NOW + 8, &st);
    expect_grant_error(t, st, 400, "invalid_grant");
    /* Another sign-in's family is untouched; the state survives a restart. */
    free(code);
    code = get_code(iss, q, &b, NOW + 9);
    t = redeem(iss, "app", code, APP_CB, VERIFIER, NOW + 9, &st);
    char *rt4 = strdup(json_string_value(json_object_get(t, "refresh_token")));
    json_decref(t);
    wdn_issuer_free(iss);
    iss = make_issuer(ISS, true);
    t = refresh(iss, "app", rt4, NULL, NOW + 10, &st);
    if (st != 200)
        fail_msg("after a restart: %d %s", st,
                 json_string_value(json_object_get(t, "error_description")));
    json_decref(t);
    t = refresh(iss, "app", rt3, NULL, NOW + 10, &st);
    expect_grant_error(t, st, 400, "invalid_grant");
    /* Lifetime. */
    free(code);
    code = get_code(iss, q, &b, NOW + 11);
    t = redeem(iss, "app", code, APP_CB, VERIFIER, NOW + 11, &st);
    char *rt5 = strdup(json_string_value(json_object_get(t, "refresh_token")));
    json_decref(t);
    t = refresh(iss, "app", rt5, NULL, NOW + 11 + WDN_ISSUER_DEFAULT_REFRESH_LIFETIME_S, &st);
    expect_grant_error(t, st, 400, "invalid_grant");
    free(rt1);
    free(rt2);
    free(rt3);
    free(rt4);
    free(rt5);
    free(code);
    free(q);
}

/* Resource indicators: the scheme and host may come in upper case (MCP: accept them), the rest
 * must match; the token names the canonical form. offline_access is always accepted. */
static void test_resource_forms_and_offline_access(void **state)
{
    struct browser b = {0};
    struct wdn_buf q;
    int st;

    wdn_buf_init(&q, 65536);
    wdn_form_add(&q, "response_type", "code");
    wdn_form_add(&q, "client_id", "app");
    wdn_form_add(&q, "redirect_uri", APP_CB);
    wdn_form_add(&q, "code_challenge", challenge);
    wdn_form_add(&q, "code_challenge_method", "S256");
    wdn_form_add(&q, "state", "st-1");
    wdn_form_add(&q, "scope", "mcp:read offline_access");
    wdn_form_add(&q, "prompt", "consent");
    wdn_form_add(&q, "resource", "HTTPS://MCP.Test/mcp");
    char *code = get_code(iss, wdn_buf_cstr(&q), &b, NOW);
    json_t *t = redeem(iss, "app", code, APP_CB, VERIFIER, NOW, &st);
    assert_int_equal(st, 200);
    json_t *c = claims_of(json_string_value(json_object_get(t, "access_token")));
    assert_string_equal(json_string_value(json_object_get(c, "aud")), RES);
    assert_string_equal(json_string_value(json_object_get(c, "scope")), "mcp:read offline_access");
    json_decref(c);
    json_decref(t);
    free(code);
    char *bad = authz_query("app", APP_CB, NULL);
    char *p = strstr(bad, "resource=");
    assert_non_null(p);
    p[strlen("resource=https%3A%2F%2Fmcp.test%2F")] = 'M'; /* .../Mcp: the path differs */
    expect_redirect_error(bad, "invalid_target");
    free(bad);
    wdn_buf_reset(&q);
}

/* ---- Client ID Metadata Documents --------------------------------------------------------- */

static void cimd_set(long status, const char *body)
{
    cimd.status = status;
    cimd.body = body;
    cimd.rc = 0;
    cimd.cache_control = NULL;
}

static void expect_cimd_page(const char *body, long status, const char *text)
{
    struct browser b = {0};
    struct wdn_issuer_response r;
    char *q = authz_query(CIMD_URL, "http://127.0.0.1:8123/cb", NULL);
    cimd_set(status, body);
    request(iss, "GET", "/authorize", q, NULL, &b, NOW, &r);
    expect_page(&r, 400, text);
    wdn_issuer_response_reset(&r);
    free(q);
}

static void test_cimd_client(void **state)
{
    const char *good = "{\"client_id\":\"" CIMD_URL "\",\"client_name\":\"Doc Client\","
                       "\"redirect_uris\":[\"http://127.0.0.1/cb\"],"
                       "\"token_endpoint_auth_method\":\"none\"}";
    struct browser b = {0};
    struct wdn_issuer_response r;
    int st;

    expect_cimd_page("{\"client_id\":\"https://client.example/other.json\",\"client_name\":\"x\","
                     "\"redirect_uris\":[\"http://127.0.0.1/cb\"]}",
                     200, "another client_id");
    expect_cimd_page("{\"client_id\":\"" CIMD_URL "\",\"client_name\":\"x\",\"client_secret\":"
                     "\"s\",\"redirect_uris\":[\"http://127.0.0.1/cb\"]}",
                     200, "client_secret");
    expect_cimd_page("{\"client_id\":\"" CIMD_URL "\",\"client_name\":\"x\","
                     "\"redirect_uris\":[\"http://evil.example/cb\"]}",
                     200, "loopback");
    expect_cimd_page("{\"client_id\":\"" CIMD_URL "\",\"client_name\":\"x\","
                     "\"token_endpoint_auth_method\":\"client_secret_basic\","
                     "\"redirect_uris\":[\"http://127.0.0.1/cb\"]}",
                     200, "token_endpoint_auth_method");
    expect_cimd_page("[1]", 200, "not a JSON object");
    expect_cimd_page("", 302, "redirect");
    expect_cimd_page(good, 404, "HTTP 404");
    /* A redirect URI that is not in the document. */
    cimd_set(200, good);
    char *bad = authz_query(CIMD_URL, "http://127.0.0.1/elsewhere", NULL);
    request(iss, "GET", "/authorize", bad, NULL, &b, NOW, &r);
    expect_page(&r, 400, "not registered");
    wdn_issuer_response_reset(&r);
    free(bad);
    /* client_id URLs that cannot be documents are refused before any fetch. */
    const char *urls[] = {"https://client.example", "https://client.example/",
                          "https://client.example/a/../b.json", "https://u@client.example/c.json"};
    for (size_t i = 0; i < 4; i++) {
        int before = cimd.calls;
        char *qq = authz_query(urls[i], "http://127.0.0.1/cb", NULL);
        request(iss, "GET", "/authorize", qq, NULL, &b, NOW, &r);
        expect_page(&r, 400, "not usable");
        assert_int_equal(cimd.calls, before);
        wdn_issuer_response_reset(&r);
        free(qq);
    }
    /* The good document: the consent page shows its name and where it lives; the token flow
     * works with client_id = the URL; the document is cached (Cache-Control). */
    cimd_set(200, good);
    cimd.cache_control = "max-age=600";
    char *q = authz_query(CIMD_URL, "http://127.0.0.1:40000/cb", NULL);
    request(iss, "GET", "/authorize", q, NULL, &b, NOW, &r);
    expect_page(&r, 200, "Doc Client");
    wdn_issuer_response_reset(&r);
    int calls = cimd.calls;
    char *code = get_code(iss, q, &b, NOW);
    json_t *t = redeem(iss, CIMD_URL, code, "http://127.0.0.1:40000/cb", VERIFIER, NOW, &st);
    assert_int_equal(st, 200);
    json_decref(t);
    assert_int_equal(cimd.calls, calls); /* cached */
    free(code);
    free(q);
}

/* The default fetch refuses documents on addresses that are not public (SSRF), before it
 * connects: nothing listens on these in the test, and none is even tried. */
static void test_cimd_ssrf_guard(void **state)
{
    static const char *const urls[] = {
        "https://127.0.0.1:9/client.json", "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/client.json",    "https://[::1]:9/client.json",
        "https://192.168.1.1/c.json",      "https://[::ffff:127.0.0.1]:9/c.json",
        "https://localhost:9/client.json", "https://100.64.0.1/c.json",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        struct wdn_issuer_cimd_doc doc = {.max_age = -1};
        struct wdn_diag d;
        wdn_buf_init(&doc.body, WDN_ISSUER_CIMD_MAX_BYTES);
        struct wdn_issuer_config cfg = {.issuer = ISS, .state_dir = dir};
        struct wdn_issuer *plain = wdn_issuer_new(&cfg, NULL);
        assert_non_null(plain);
        /* Through the issuer: the page says why. */
        struct browser b = {0};
        struct wdn_issuer_response r;
        char *q = authz_query(urls[i], "http://127.0.0.1/cb", NULL);
        request(plain, "GET", "/authorize", q, NULL, &b, NOW, &r);
        if (r.status != 400 || !strstr(r.body.data, "not public"))
            fail_msg("%s: %d %.*s", urls[i], r.status, (int)r.body.len, r.body.data);
        wdn_issuer_response_reset(&r);
        free(q);
        wdn_issuer_free(plain);
        /* And the fetch itself. */
        struct wdn_fetch_request req = {.url = urls[i], .public_only = true, .timeout_ms = 5000};
        struct wdn_fetch_response resp;
        assert_int_equal(wdn_fetch(&req, &resp, &d), WDN_EDENIED);
        wdn_fetch_response_reset(&resp);
        wdn_buf_reset(&doc.body);
    }
    /* The classifier, directly. */
    struct {
        const char *ip;
        bool pub;
    } cases[] = {{"93.184.216.34", true},  {"8.8.8.8", true},
                 {"127.0.0.1", false},     {"10.1.2.3", false},
                 {"172.16.0.1", false},    {"172.32.0.1", true},
                 {"192.168.0.1", false},   {"169.254.169.254", false},
                 {"100.64.0.1", false},    {"0.0.0.0", false},
                 {"224.0.0.1", false},     {"255.255.255.255", false},
                 {"198.18.0.1", false},    {"2606:4700::1", true},
                 {"::1", false},           {"::", false},
                 {"fe80::1", false},       {"fc00::1", false},
                 {"fd00:ec2::254", false}, {"::ffff:10.0.0.1", false},
                 {"::ffff:8.8.8.8", true}, {"64:ff9b::a9fe:a9fe", false},
                 {"2002:7f00:1::", false}, {"ff02::1", false},
                 {"2001:db8::1", false}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sockaddr_storage ss = {0};
        if (strchr(cases[i].ip, ':')) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            a->sin6_family = AF_INET6;
            assert_int_equal(inet_pton(AF_INET6, cases[i].ip, &a->sin6_addr), 1);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            a->sin_family = AF_INET;
            assert_int_equal(inet_pton(AF_INET, cases[i].ip, &a->sin_addr), 1);
        }
        if (wdn_fetch_addr_public((struct sockaddr *)&ss) != cases[i].pub)
            fail_msg("%s: expected %s", cases[i].ip, cases[i].pub ? "public" : "not public");
    }
}

/* ---- Dynamic registration ----------------------------------------------------------------- */

static json_t *do_register(struct wdn_issuer *i, const char *body, int *status)
{
    struct wdn_issuer_response r;
    struct wdn_issuer_request req = {.method = WDN_STR("POST"),
                                     .path = WDN_STR("/register"),
                                     .content_type = WDN_STR("application/json"),
                                     .body = wdn_str_from_cstr(body)};
    int rc = wdn_issuer_handle(i, &req, NOW, &r);
    if (rc == WDN_ENOTFOUND) {
        *status = 404;
        wdn_issuer_response_reset(&r);
        return NULL;
    }
    assert_int_equal(rc, 0);
    *status = r.status;
    json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
    wdn_issuer_response_reset(&r);
    return j;
}

static void test_dcr(void **state)
{
    int st;
    json_t *j = do_register(iss,
                            "{\"redirect_uris\":[\"http://127.0.0.1/dcr\"],"
                            "\"client_name\":\"Old Client\",\"token_endpoint_auth_method\":"
                            "\"none\",\"grant_types\":[\"authorization_code\","
                            "\"refresh_token\"]}",
                            &st);
    assert_int_equal(st, 201);
    assert_null(json_object_get(j, "client_secret"));
    char *id = strdup(json_string_value(json_object_get(j, "client_id")));
    json_decref(j);
    struct browser b = {0};
    char *q = authz_query(id, "http://127.0.0.1:3333/dcr", NULL);
    char *code = get_code(iss, q, &b, NOW);
    json_t *t = redeem(iss, id, code, "http://127.0.0.1:3333/dcr", VERIFIER, NOW, &st);
    assert_int_equal(st, 200);
    json_decref(t);
    /* Confidential registrations get a secret; bad ones are refused with RFC 7591 errors. */
    j = do_register(iss, "{\"redirect_uris\":[\"https://web.example/cb\"]}", &st);
    assert_int_equal(st, 201);
    assert_non_null(json_string_value(json_object_get(j, "client_secret")));
    json_decref(j);
    j = do_register(iss, "{\"redirect_uris\":[\"http://web.example/cb\"]}", &st);
    assert_int_equal(st, 400);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid_redirect_uri");
    json_decref(j);
    j = do_register(iss,
                    "{\"redirect_uris\":[\"https://web.example/cb\"],\"grant_types\":"
                    "[\"client_credentials\"]}",
                    &st);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid_client_metadata");
    json_decref(j);
    /* Without --dcr the endpoint does not exist, and discovery does not list it. */
    struct wdn_issuer *nodcr = make_issuer(ISS, false);
    assert_null(do_register(nodcr, "{\"redirect_uris\":[\"https://web.example/cb\"]}", &st));
    assert_int_equal(st, 404);
    wdn_issuer_free(nodcr);
    free(code);
    free(q);
    free(id);
}

/* ---- Discovery for an issuer with a path -------------------------------------------------- */

static void test_discovery_with_path(void **state)
{
    struct wdn_issuer *p = make_issuer("https://issuer.test:9443/tenant", true);
    const char *served[] = {"/.well-known/oauth-authorization-server/tenant",
                            "/.well-known/openid-configuration/tenant",
                            "/tenant/.well-known/openid-configuration",
                            "/tenant/.well-known/oauth-authorization-server"};
    struct wdn_issuer_response r;

    for (size_t i = 0; i < 4; i++) {
        request(p, "GET", served[i], NULL, NULL, NULL, NOW, &r);
        assert_int_equal(r.status, 200);
        json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "issuer")),
                            "https://issuer.test:9443/tenant");
        assert_string_equal(json_string_value(json_object_get(j, "authorization_endpoint")),
                            "https://issuer.test:9443/tenant/authorize");
        assert_string_equal(json_string_value(json_object_get(j, "registration_endpoint")),
                            "https://issuer.test:9443/tenant/register");
        assert_true(json_is_true(json_object_get(j, "client_id_metadata_document_supported")));
        json_decref(j);
        wdn_issuer_response_reset(&r);
    }
    struct wdn_issuer_request req = {.method = WDN_STR("GET"),
                                     .path = WDN_STR("/.well-known/openid-configuration")};
    assert_int_equal(wdn_issuer_handle(p, &req, NOW, &r), WDN_ENOTFOUND);
    wdn_issuer_response_reset(&r);
    /* The pages post to the path. */
    char *q = authz_query("app", APP_CB, NULL);
    struct browser b = {0};
    request(p, "GET", "/tenant/authorize", q, NULL, &b, NOW, &r);
    expect_page(&r, 200, "action=\"/tenant/authorize/sign-in\"");
    wdn_issuer_response_reset(&r);
    free(q);
    wdn_issuer_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_client_flow),
        cmocka_unit_test(test_confidential_client),
        cmocka_unit_test(test_pkce_missing_or_plain),
        cmocka_unit_test(test_pkce_wrong_verifier),
        cmocka_unit_test(test_code_reuse_revokes),
        cmocka_unit_test(test_redirect_mismatch_not_redirected),
        cmocka_unit_test(test_framing_headers),
        cmocka_unit_test(test_csrf_on_consent),
        cmocka_unit_test(test_new_session_at_sign_in),
        cmocka_unit_test(test_password_guessing_throttled),
        cmocka_unit_test(test_refresh_reuse_revokes_family),
        cmocka_unit_test(test_resource_forms_and_offline_access),
        cmocka_unit_test(test_cimd_client),
        cmocka_unit_test(test_cimd_ssrf_guard),
        cmocka_unit_test(test_dcr),
        cmocka_unit_test(test_discovery_with_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
