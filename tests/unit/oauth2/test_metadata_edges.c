/* Every refusal of the metadata documents an OAuth client reads from servers it does not trust
 * yet (src/oauth2/metadata.c), one row each: RFC 9728 protected resource metadata (size, shape,
 * the resource it names, its authorization servers, its scopes) and RFC 8414 authorization
 * server metadata (exact issuer, endpoints that must be http(s) URLs, lists and their RFC 8414
 * defaults). Each row names the error code and a part of the message the user sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "oauth2/discovery.h"
#include "oauth2/metadata.h"

#define RES "https://h/mcp"
#define AS_OK "\"authorization_servers\":[\"https://as/t\"]"

struct doc_case {
    const char *doc;
    int rc;
    const char *msg; /* substring of the diagnostic when rc != 0 */
};

static void check_prm(const char *url, const struct doc_case *c)
{
    struct wdn_oauth2_prm p;
    struct wdn_diag d = {0};
    int rc = wdn_oauth2_prm_parse(wdn_str_from_cstr(c->doc), url, &p, &d);

    if (rc != c->rc)
        fail_msg("%s: rc %d (%s), expected %d", c->doc, rc, d.msg, c->rc);
    if (rc != 0) {
        if (strstr(d.msg, c->msg) == NULL)
            fail_msg("%s: message '%s', expected '%s'", c->doc, d.msg, c->msg);
        /* A refused document leaves nothing behind. */
        assert_null(p.resource);
        assert_null(p.authorization_servers);
        assert_int_equal(p.n_as, 0);
        assert_null(p.scopes_supported);
    }
    wdn_oauth2_prm_reset(&p);
}

static void test_prm_refusals(void **state)
{
    (void)state;
    static const struct doc_case cases[] = {
        {"", WDN_EPARSE, "not a JSON object"},
        {"null", WDN_EPARSE, "not a JSON object"},
        {"\"https://h/mcp\"", WDN_EPARSE, "not a JSON object"},
        {"{\"resource\":\"https://h/mcp\",", WDN_EPARSE, "not a JSON object"},
        {"{\"resource\":5," AS_OK "}", WDN_EPARSE, "'resource' is not a string"},
        {"{\"resource\":[\"https://h/mcp\"]," AS_OK "}", WDN_EPARSE, "'resource' is not a string"},
        /* jansson refuses an escaped NUL at load (no JSON_ALLOW_NUL), before the members'
         * own NUL checks would see it. */
        {"{\"resource\":\"https://h/mcp\\u0000.evil\"," AS_OK "}", WDN_EPARSE, "not a JSON object"},
        {"{" AS_OK "}", WDN_EPARSE, "has no 'resource'"},
        {"{\"resource\":null," AS_OK "}", WDN_EPARSE, "has no 'resource'"},
        /* The resource named must be this one or a parent on the same origin. */
        {"{\"resource\":\"http://h/mcp\"," AS_OK "}", WDN_EAUTH, "not 'https://h/mcp'"},
        {"{\"resource\":\"https://h:8443/mcp\"," AS_OK "}", WDN_EAUTH, "refusing it"},
        {"{\"resource\":\"https://h/mcp?x=1\"," AS_OK "}", WDN_EAUTH, "refusing it"},
        {"{\"resource\":\"https://h/mcp/tools\"," AS_OK "}", WDN_EAUTH, "refusing it"},
        {"{\"resource\":\"https://h/MCP\"," AS_OK "}", WDN_EAUTH, "refusing it"},
        {"{\"resource\":\"h/mcp\"," AS_OK "}", WDN_EAUTH, "refusing it"},
        {"{\"resource\":\"https://u@h/mcp\"," AS_OK "}", WDN_EAUTH, "refusing it"},
        /* Authorization servers: one to sixteen http(s) URLs. */
        {"{\"resource\":\"https://h/mcp\"}", WDN_EPARSE, "lists no authorization_servers"},
        {"{\"resource\":\"https://h/mcp\",\"authorization_servers\":\"https://as\"}", WDN_EPARSE,
         "lists no authorization_servers"},
        {"{\"resource\":\"https://h/mcp\",\"authorization_servers\":[]}", WDN_EPARSE,
         "lists no authorization_servers"},
        {"{\"resource\":\"https://h/mcp\",\"authorization_servers\":[\"https://a1\",\"https://a2\","
         "\"https://a3\",\"https://a4\",\"https://a5\",\"https://a6\",\"https://a7\",\"https://"
         "a8\","
         "\"https://a9\",\"https://a10\",\"https://a11\",\"https://a12\",\"https://a13\","
         "\"https://a14\",\"https://a15\",\"https://a16\",\"https://a17\"]}",
         WDN_EPARSE, "lists no authorization_servers"},
        {"{\"resource\":\"https://h/mcp\",\"authorization_servers\":[5]}", WDN_EPARSE,
         "not an http(s) URL"},
        {"{\"resource\":\"https://h/mcp\",\"authorization_servers\":[\"https://as\\u0000.evil\"]}",
         WDN_EPARSE, "not a JSON object"},
        {"{\"resource\":\"https://h/mcp\",\"authorization_servers\":[\"https://as\",\"file:///"
         "x\"]}",
         WDN_EPARSE, "not an http(s) URL"},
        /* scopes_supported: an array of strings without spaces. */
        {"{\"resource\":\"https://h/mcp\"," AS_OK ",\"scopes_supported\":\"a b\"}", WDN_EPARSE,
         "'scopes_supported' is not an array"},
        {"{\"resource\":\"https://h/mcp\"," AS_OK ",\"scopes_supported\":[\"a\",1]}", WDN_EPARSE,
         "'scopes_supported' has a bad entry"},
        {"{\"resource\":\"https://h/mcp\"," AS_OK ",\"scopes_supported\":[\"a b\"]}", WDN_EPARSE,
         "'scopes_supported' has a bad entry"},
        {"{\"resource\":\"https://h/mcp\"," AS_OK ",\"scopes_supported\":[\"a\\u0000b\"]}",
         WDN_EPARSE, "not a JSON object"},
        /* accepted */
        {"{\"resource\":\"https://h/mcp\"," AS_OK ",\"scopes_supported\":null}", 0, NULL},
        {"{\"resource\":\"https://H/mcp/\"," AS_OK ",\"scopes_supported\":[]}", 0, NULL},
        {"{\"resource\":\"https://h:443\"," AS_OK "}", 0, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_prm(RES, &cases[i]);
    /* The URL it was fetched for must itself be a usable URL. */
    const struct doc_case bad_url = {"{\"resource\":\"https://h/mcp\"," AS_OK "}", WDN_EAUTH,
                                     "refusing it"};
    check_prm("ftp://h/mcp", &bad_url);
    /* A trailing slash on the endpoint is the same resource. */
    const struct doc_case slash = {"{\"resource\":\"https://h/mcp\"," AS_OK "}", 0, NULL};
    check_prm("https://h/mcp//", &slash);
}

static void test_prm_limits_and_fields(void **state)
{
    (void)state;
    struct wdn_oauth2_prm p;
    struct wdn_diag d;
    size_t n = WDN_OAUTH2_MAX_METADATA_BYTES + 1;
    char *big = malloc(n + 1);
    struct wdn_buf b;

    /* Over the size limit: refused before parsing. */
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    assert_int_equal(wdn_oauth2_prm_parse((struct wdn_str){big, n}, RES, &p, &d), WDN_ELIMIT);
    assert_non_null(strstr(d.msg, "too large"));
    free(big);

    /* scopes_supported longer than eight scope strings. */
    wdn_buf_init(&b, 1 << 20);
    wdn_buf_append_cstr(&b, "{\"resource\":\"https://h/mcp\"," AS_OK ",\"scopes_supported\":[");
    for (int i = 0; i < 9; i++) {
        wdn_buf_printf(&b, "%s\"", i ? "," : "");
        for (int j = 0; j < WDN_OAUTH2_MAX_SCOPE; j++)
            wdn_buf_append_cstr(&b, "s");
        wdn_buf_append_cstr(&b, "\"");
    }
    wdn_buf_append_cstr(&b, "]}");
    assert_int_equal(wdn_oauth2_prm_parse((struct wdn_str){b.data, b.len}, RES, &p, &d),
                     WDN_ELIMIT);
    assert_non_null(strstr(d.msg, "'scopes_supported' is too long"));
    wdn_buf_reset(&b);

    /* What a good document gives: every server in order, scopes joined, the DPoP flag. */
    assert_int_equal(
        wdn_oauth2_prm_parse(WDN_STR("{\"resource\":\"https://h/\",\"authorization_servers\":"
                                     "[\"https://as/a\",\"http://127.0.0.1:9/b\"],"
                                     "\"scopes_supported\":[\"x\",\"y:z\"],"
                                     "\"dpop_bound_access_tokens_required\":true}"),
                             RES, &p, &d),
        0);
    assert_string_equal(p.resource, "https://h/");
    assert_int_equal(p.n_as, 2);
    assert_string_equal(p.authorization_servers[0], "https://as/a");
    assert_string_equal(p.authorization_servers[1], "http://127.0.0.1:9/b");
    assert_string_equal(p.scopes_supported, "x y:z");
    assert_true(p.dpop_bound);
    wdn_oauth2_prm_reset(&p);
    assert_int_equal(
        wdn_oauth2_prm_parse(WDN_STR("{\"resource\":\"https://h/mcp\"," AS_OK
                                     ",\"dpop_bound_access_tokens_required\":\"true\"}"),
                             RES, &p, &d),
        0);
    assert_false(p.dpop_bound);
    assert_null(p.scopes_supported);
    wdn_oauth2_prm_reset(&p);
}

static void check_asm(const char *issuer, const struct doc_case *c)
{
    struct wdn_oauth2_asm m;
    struct wdn_diag d = {0};
    int rc = wdn_oauth2_asm_parse(wdn_str_from_cstr(c->doc), issuer, &m, &d);

    if (rc != c->rc)
        fail_msg("%s: rc %d (%s), expected %d", c->doc, rc, d.msg, c->rc);
    if (rc != 0) {
        if (strstr(d.msg, c->msg) == NULL)
            fail_msg("%s: message '%s', expected '%s'", c->doc, d.msg, c->msg);
        assert_null(m.issuer);
        assert_null(m.token_endpoint);
        assert_null(m.scopes_supported);
    }
    wdn_oauth2_asm_reset(&m);
}

#define ISS_OK "\"issuer\":\"https://as\""

static void test_asm_refusals(void **state)
{
    (void)state;
    static const struct doc_case cases[] = {
        {"[]", WDN_EPARSE, "not a JSON object"},
        {"{\"issuer\":\"https://as\",\"issuer\":\"https://as\"}", WDN_EPARSE, "not a JSON object"},
        {"{}", WDN_EAUTH, "names issuer '(none)', expected 'https://as'"},
        {"{\"issuer\":null}", WDN_EAUTH, "'(none)'"},
        {"{\"issuer\":true}", WDN_EPARSE, "'issuer' is not a string"},
        {"{\"issuer\":\"https://as\\u0000x\"}", WDN_EPARSE, "not a JSON object"},
        {"{\"issuer\":\"https://evil\"}", WDN_EAUTH, "names issuer 'https://evil'"},
        {"{\"issuer\":\"https://as:443\"}", WDN_EAUTH, "refusing it"},
        {"{" ISS_OK ",\"authorization_endpoint\":\"javascript:alert(1)\"}", WDN_EPARSE,
         "'authorization_endpoint' is not an http(s) URL"},
        {"{" ISS_OK ",\"authorization_endpoint\":7}", WDN_EPARSE,
         "'authorization_endpoint' is not a string"},
        {"{" ISS_OK ",\"token_endpoint\":\"https://u:p@as/t\"}", WDN_EPARSE,
         "'token_endpoint' is not an http(s) URL"},
        {"{" ISS_OK ",\"registration_endpoint\":\"ftp://as/r\"}", WDN_EPARSE,
         "'registration_endpoint' is not an http(s) URL"},
        {"{" ISS_OK ",\"jwks_uri\":\"/jwks.json\"}", WDN_EPARSE,
         "'jwks_uri' is not an http(s) URL"},
        {"{" ISS_OK ",\"jwks_uri\":{}}", WDN_EPARSE, "'jwks_uri' is not a string"},
        {"{" ISS_OK ",\"scopes_supported\":{\"a\":1}}", WDN_EPARSE,
         "'scopes_supported' is not an array"},
        {"{" ISS_OK ",\"scopes_supported\":[\"offline_access openid\"]}", WDN_EPARSE,
         "'scopes_supported' has a bad entry"},
        {"{" ISS_OK ",\"authorization_endpoint\":null,\"token_endpoint\":null}", 0, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_asm("https://as", &cases[i]);
    /* Without an expected issuer any issuer is read, but one must be there. */
    const struct doc_case any = {"{\"issuer\":\"https://whoever\"}", 0, NULL};
    const struct doc_case none = {"{}", WDN_EAUTH, "expected '(any)'"};
    check_asm(NULL, &any);
    check_asm(NULL, &none);
}

/* The lists a client picks its methods from, and the RFC 8414 defaults when they are absent. */
static void test_asm_lists_and_defaults(void **state)
{
    (void)state;
    struct wdn_oauth2_asm m;
    struct wdn_diag d;

    assert_int_equal(
        wdn_oauth2_asm_parse(
            WDN_STR("{" ISS_OK ",\"token_endpoint\":\"https://as/t\",\"registration_endpoint\":"
                    "\"https://as/r\",\"jwks_uri\":\"https://as/jwks\",\"grant_types_supported\":"
                    "[\"client_credentials\",\"refresh_token\",\"urn:ietf:params:oauth:grant-type:"
                    "jwt-bearer\",\"urn:ietf:params:oauth:grant-type:token-exchange\",\"implicit\","
                    "7],\"token_endpoint_auth_methods_supported\":[\"client_secret_post\","
                    "\"tls_client_auth\"],\"code_challenge_methods_supported\":[\"plain\"],"
                    "\"client_id_metadata_document_supported\":true,"
                    "\"token_endpoint_auth_signing_alg_values_supported\":[\"ES256\"],"
                    "\"dpop_signing_alg_values_supported\":[\"RS256\"],"
                    "\"scopes_supported\":[\"openid\"]}"),
            "https://as", &m, &d),
        0);
    assert_string_equal(m.registration_endpoint, "https://as/r");
    assert_string_equal(m.jwks_uri, "https://as/jwks");
    assert_int_equal(m.grant_types, WDN_OAUTH2_GT_CLIENT_CREDENTIALS | WDN_OAUTH2_GT_REFRESH_TOKEN |
                                        WDN_OAUTH2_GT_JWT_BEARER | WDN_OAUTH2_GT_TOKEN_EXCHANGE);
    assert_true(m.auth_methods_listed);
    assert_int_equal(m.auth_methods, WDN_OAUTH2_AM_POST);
    assert_true(m.pkce_listed);
    assert_false(m.pkce_s256);
    assert_true(m.cimd);
    assert_true(m.assertion_es256);
    assert_false(m.assertion_rs256);
    assert_false(m.dpop_es256);
    assert_false(m.offline_access);
    assert_false(m.iss_parameter);
    wdn_oauth2_asm_reset(&m);

    /* Absent lists: authorization code only, client_secret_basic, any assertion algorithm. */
    assert_int_equal(wdn_oauth2_asm_parse(WDN_STR("{" ISS_OK "}"), "https://as", &m, &d), 0);
    assert_int_equal(m.grant_types, WDN_OAUTH2_GT_AUTHORIZATION_CODE);
    assert_int_equal(m.auth_methods, WDN_OAUTH2_AM_BASIC);
    assert_false(m.auth_methods_listed);
    assert_false(m.pkce_listed);
    assert_true(m.assertion_es256 && m.assertion_rs256);
    assert_false(m.cimd);
    assert_null(m.registration_endpoint);
    wdn_oauth2_asm_reset(&m);

    /* Empty lists mean "none", not the defaults. */
    assert_int_equal(wdn_oauth2_asm_parse(
                         WDN_STR("{" ISS_OK ",\"grant_types_supported\":[],"
                                 "\"token_endpoint_auth_methods_supported\":[],"
                                 "\"token_endpoint_auth_signing_alg_values_supported\":[\"RS256\"],"
                                 "\"client_id_metadata_document_supported\":\"yes\"}"),
                         "https://as", &m, &d),
                     0);
    assert_int_equal(m.grant_types, 0);
    assert_int_equal(m.auth_methods, 0);
    assert_true(m.auth_methods_listed);
    assert_false(m.assertion_es256);
    assert_true(m.assertion_rs256);
    assert_false(m.cimd);
    wdn_oauth2_asm_reset(&m);
}

static void test_scope_has_and_urls(void **state)
{
    (void)state;
    struct wdn_oauth2_url u;
    struct wdn_diag d;
    char *long_path = malloc(WDN_OAUTH2_MAX_URL + 32);

    assert_true(wdn_oauth2_scope_has("a offline_access", "offline_access"));
    assert_true(wdn_oauth2_scope_has("  a   b  ", "b"));
    assert_false(wdn_oauth2_scope_has("offline_accessx", "offline_access"));
    assert_false(wdn_oauth2_scope_has("xoffline_access", "offline_access"));
    assert_false(wdn_oauth2_scope_has(NULL, "a"));
    assert_false(wdn_oauth2_scope_has("a  b", ""));
    assert_false(wdn_oauth2_scope_has("", "a"));

    /* Origins: lower case, default ports dropped, others kept; the path without its query. */
    assert_int_equal(wdn_oauth2_url_parse("http://EXAMPLE.com:80/A?b", &u, &d), 0);
    assert_string_equal(u.origin, "http://example.com");
    assert_string_equal(u.path, "/A");
    assert_int_equal(wdn_oauth2_url_parse("https://example.com:80/", &u, &d), 0);
    assert_string_equal(u.origin, "https://example.com:80");
    assert_int_equal(wdn_oauth2_url_parse("http://[::1]/", &u, &d), 0);
    assert_string_equal(u.origin, "http://[::1]");
    assert_true(u.loopback);
    assert_int_equal(wdn_oauth2_url_parse("https://example.com?x", &u, &d), 0);
    assert_string_equal(u.path, "");
    assert_int_equal(wdn_oauth2_url_parse("javascript:alert(1)", &u, &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "is not a usable URL"));

    /* A path that fills the URL buffer is refused, not cut. */
    assert_non_null(long_path);
    strcpy(long_path, "https://example.com/");
    memset(long_path + 20, 'p', WDN_OAUTH2_MAX_URL);
    long_path[20 + WDN_OAUTH2_MAX_URL] = '\0';
    assert_int_not_equal(wdn_oauth2_url_parse(long_path, &u, &d), 0);
    free(long_path);
    assert_false(wdn_oauth2_same_origin("https://h/a", "not a url"));
    assert_false(wdn_oauth2_same_origin("not a url", "https://h/a"));
}

/* Where a client may go next, from the server URL the user gave: fail closed when it cannot
 * tell (a URL that does not parse: public destinations only), IPv6 literals read without their
 * brackets, and a user's own configuration trusted for any http(s) URL. */
static void test_net_edges(void **state)
{
    (void)state;
    struct wdn_oauth2_net net;
    struct wdn_diag d;

    wdn_oauth2_net_for("not a url", "/ca.pem", 0, &net);
    assert_true(net.public_only);
    assert_false(net.loopback_http);
    assert_string_equal(net.ca_file, "/ca.pem");
    assert_int_equal(net.timeout_ms, 10000);
    wdn_oauth2_net_for("https://[fd00::1]:8443/mcp", NULL, 2500, &net);
    assert_false(net.public_only); /* a private (ULA) server */
    assert_int_equal(net.timeout_ms, 2500);
    wdn_oauth2_net_for("https://[2606:4700:4700::1111]/mcp", NULL, 0, &net);
    assert_true(net.public_only);
    wdn_oauth2_net_for("http://[::1]:9/mcp", NULL, 0, &net);
    assert_true(net.loopback_http);
    assert_false(net.public_only);
    /* A URL from the user's configuration: any http(s) URL, never another scheme. */
    const struct wdn_oauth2_net mine = {.user_chosen = true};
    assert_int_equal(wdn_oauth2_url_allowed(&mine, "http://as.example/token", &d), 0);
    assert_int_equal(wdn_oauth2_url_allowed(&mine, "ftp://as.example/token", &d), WDN_EINVAL);
    const struct wdn_oauth2_net strict = {0};
    assert_int_equal(wdn_oauth2_url_allowed(&strict, "http://127.0.0.1/token", &d), WDN_EPERM);
    assert_non_null(strstr(d.msg, "refusing http://127.0.0.1: a URL a server chose must be https"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prm_refusals),       cmocka_unit_test(test_prm_limits_and_fields),
        cmocka_unit_test(test_asm_refusals),       cmocka_unit_test(test_asm_lists_and_defaults),
        cmocka_unit_test(test_scope_has_and_urls), cmocka_unit_test(test_net_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
