/* Unit tests of what the OAuth client reads from servers, without I/O: URLs and origins,
 * protected resource metadata (resource check), authorization server metadata (exact issuer),
 * Bearer/DPoP challenges, well-known URLs, loopback redirect URIs, PKCE S256 (RFC 7636 B). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "oauth2/authcode.h"
#include "oauth2/challenge.h"
#include "oauth2/discovery.h"
#include "oauth2/loopback.h"
#include "oauth2/metadata.h"

static struct wdn_str S(const char *s) {
    return wdn_str_from_cstr(s);
}

static void
test_url(void **state)
{
    struct wdn_oauth2_url u;
    (void)state;

    assert_int_equal(wdn_oauth2_url_parse("HTTPS://Example.COM:443/a/b?q=1#f", &u, NULL), 0);
    assert_string_equal(u.origin, "https://example.com");
    assert_string_equal(u.path, "/a/b");
    assert_true(u.https);
    assert_false(u.loopback);
    assert_int_equal(wdn_oauth2_url_parse("http://127.0.0.1:8080/", &u, NULL), 0);
    assert_string_equal(u.origin, "http://127.0.0.1:8080");
    assert_string_equal(u.path, "");
    assert_true(u.loopback);
    assert_int_equal(wdn_oauth2_url_parse("http://[::1]:9/x", &u, NULL), 0);
    assert_string_equal(u.origin, "http://[::1]:9");
    assert_true(u.loopback);
    assert_int_equal(wdn_oauth2_url_parse("https://user@h/", &u, NULL), WDN_EINVAL);
    assert_int_equal(wdn_oauth2_url_parse("ftp://h/", &u, NULL), WDN_EINVAL);
    assert_true(wdn_oauth2_same_origin("https://h/a", "https://H:443/b"));
    assert_false(wdn_oauth2_same_origin("https://h/a", "http://h/a"));
    assert_false(wdn_oauth2_same_origin("https://h/a", "https://h.evil/a"));
}

static void test_prm(void **state)
{
    struct wdn_oauth2_prm p;
    struct wdn_diag d;
    (void)state;

    assert_int_equal(
        wdn_oauth2_prm_parse(S("{\"resource\":\"https://h/mcp\",\"authorization_servers"
                               "\":[\"https://as/t\"],\"scopes_supported\":[\"a\",\"b\"]}"),
                             "https://h/mcp", &p, &d),
        0);
    assert_string_equal(p.authorization_servers[0], "https://as/t");
    assert_string_equal(p.scopes_supported, "a b");
    wdn_oauth2_prm_reset(&p);
    /* A parent of the endpoint, at a segment boundary; trailing slashes ignored. */
    assert_int_equal(
        wdn_oauth2_prm_parse(S("{\"resource\":\"https://h/\",\"authorization_servers\":"
                               "[\"https://as\"]}"),
                             "https://h/mcp", &p, NULL),
        0);
    wdn_oauth2_prm_reset(&p);
    assert_int_equal(wdn_oauth2_prm_parse(S("{\"resource\":\"https://h/mcp/\",\"authorization_"
                                            "servers\":[\"https://as\"]}"),
                                          "https://h/mcp", &p, NULL),
                     0);
    wdn_oauth2_prm_reset(&p);
    /* Mismatches: another host, another path, a sibling that only shares a prefix. */
    assert_int_equal(wdn_oauth2_prm_parse(S("{\"resource\":\"https://evil/mcp\",\"authorization_"
                                            "servers\":[\"https://as\"]}"),
                                          "https://h/mcp", &p, &d),
                     WDN_EAUTH);
    assert_non_null(strstr(d.msg, "evil"));
    assert_int_equal(wdn_oauth2_prm_parse(S("{\"resource\":\"https://h/mc\",\"authorization_"
                                            "servers\":[\"https://as\"]}"),
                                          "https://h/mcp", &p, NULL),
                     WDN_EAUTH);
    assert_int_equal(wdn_oauth2_prm_parse(S("{\"resource\":\"https://h/mcp#x\",\"authorization_"
                                            "servers\":[\"https://as\"]}"),
                                          "https://h/mcp", &p, NULL),
                     WDN_EAUTH);
    /* Shape errors. */
    assert_int_equal(
        wdn_oauth2_prm_parse(S("{\"resource\":\"https://h/mcp\"}"), "https://h/mcp", &p, NULL),
        WDN_EPARSE);
    assert_int_equal(wdn_oauth2_prm_parse(S("{\"resource\":\"https://h/mcp\",\"authorization_"
                                            "servers\":[\"javascript:x\"]}"),
                                          "https://h/mcp", &p, NULL),
                     WDN_EPARSE);
    assert_int_equal(wdn_oauth2_prm_parse(S("[1]"), "https://h/mcp", &p, NULL), WDN_EPARSE);
    assert_int_equal(wdn_oauth2_prm_parse(S("{\"resource\":\"a\",\"resource\":\"b\"}"),
                                          "https://h/mcp", &p, NULL),
                     WDN_EPARSE);
}

static void test_asm(void **state)
{
    struct wdn_oauth2_asm m;
    struct wdn_diag d;
    (void)state;

    assert_int_equal(wdn_oauth2_asm_parse(
                         S("{\"issuer\":\"https://as/t\",\"authorization_endpoint\":\"https://as/"
                           "a\",\"token_endpoint\":\"https://as/tok\",\"code_challenge_methods_"
                           "supported\":[\"S256\"],\"scopes_supported\":[\"x\",\"offline_access"
                           "\"],\"authorization_response_iss_parameter_supported\":true,"
                           "\"token_endpoint_auth_methods_supported\":[\"none\",\"private_key_"
                           "jwt\"],\"dpop_signing_alg_values_supported\":[\"ES256\"]}"),
                         "https://as/t", &m, &d),
                     0);
    assert_true(m.pkce_s256);
    assert_true(m.offline_access);
    assert_true(m.iss_parameter);
    assert_true(m.dpop_es256);
    assert_int_equal(m.auth_methods, WDN_OAUTH2_AM_NONE | WDN_OAUTH2_AM_PRIVATE_KEY_JWT);
    wdn_oauth2_asm_reset(&m);
    /* Defaults when lists are absent: client_secret_basic, no PKCE claim. */
    assert_int_equal(wdn_oauth2_asm_parse(S("{\"issuer\":\"https://as\",\"token_endpoint\":"
                                            "\"https://as/t\"}"),
                                          "https://as", &m, NULL),
                     0);
    assert_int_equal(m.auth_methods, WDN_OAUTH2_AM_BASIC);
    assert_false(m.pkce_s256);
    wdn_oauth2_asm_reset(&m);
    /* The issuer compared exactly: a trailing slash or another case is another issuer. */
    assert_int_equal(wdn_oauth2_asm_parse(S("{\"issuer\":\"https://as/\",\"token_endpoint\":"
                                            "\"https://as/t\"}"),
                                          "https://as", &m, &d),
                     WDN_EAUTH);
    assert_int_equal(wdn_oauth2_asm_parse(S("{\"issuer\":\"https://AS\",\"token_endpoint\":"
                                            "\"https://as/t\"}"),
                                          "https://as", &m, NULL),
                     WDN_EAUTH);
    /* No token_endpoint: readable (a resource server needs only jwks_uri); discovery for a
     * client refuses it. */
    assert_int_equal(wdn_oauth2_asm_parse(S("{\"issuer\":\"https://as\"}"), "https://as", &m, NULL),
                     0);
    assert_null(m.token_endpoint);
    wdn_oauth2_asm_reset(&m);
    assert_int_equal(wdn_oauth2_asm_parse(S("{\"issuer\":\"https://as\",\"token_endpoint\":"
                                            "\"file:///etc/passwd\"}"),
                                          "https://as", &m, NULL),
                     WDN_EPARSE);
}

static void test_challenge_read(void **state)
{
    struct wdn_challenge ch;
    (void)state;

    assert_int_equal(
        wdn_challenge_read(S("Basic realm=\"x\", Bearer error=\"insufficient_scope\", "
                             "scope=\"a b\", resource_metadata=\"https://h/.well-known/"
                             "oauth-protected-resource/mcp\""),
                           &ch),
        0);
    assert_string_equal(ch.scheme, "Bearer");
    assert_string_equal(ch.error, "insufficient_scope");
    assert_string_equal(ch.scope, "a b");
    assert_string_equal(ch.resource_metadata, "https://h/.well-known/oauth-protected-resource/mcp");
    assert_int_equal(wdn_challenge_read(S("DPoP error=\"use_dpop_nonce\", algs=\"ES256\""), &ch),
                     0);
    assert_string_equal(ch.scheme, "DPoP");
    assert_string_equal(ch.error, "use_dpop_nonce");
    assert_string_equal(ch.scope, "");
    assert_int_equal(wdn_challenge_read(S("Basic realm=\"x\""), &ch), WDN_ENOTFOUND);
    assert_int_equal(wdn_challenge_read(S("Bearer scope=\"unterminated"), &ch), WDN_EPARSE);
    assert_string_equal(ch.scheme, "");
}

static void test_well_known_and_redirect(void **state)
{
    char buf[256];
    (void)state;

    assert_int_equal(wdn_oauth2_well_known_url("https://as/tenant1", "oauth-authorization-server",
                                               buf, sizeof(buf)),
                     0);
    assert_string_equal(buf, "https://as/.well-known/oauth-authorization-server/tenant1");
    assert_true(wdn_oauth2_redirect_ok("http://127.0.0.1/callback"));
    assert_true(wdn_oauth2_redirect_ok("http://127.0.0.1:8765/cb"));
    assert_true(wdn_oauth2_redirect_ok("http://[::1]:1/cb"));
    assert_true(wdn_oauth2_redirect_ok("http://localhost:33/cb"));
    assert_false(wdn_oauth2_redirect_ok("https://127.0.0.1/cb"));
    assert_false(wdn_oauth2_redirect_ok("http://10.0.0.1/cb"));
    assert_false(wdn_oauth2_redirect_ok("http://localhost.evil.example/cb"));
    assert_false(wdn_oauth2_redirect_ok("http://127.0.0.1/cb#x"));
    assert_false(wdn_oauth2_redirect_ok("myapp://cb"));
}

/* RFC 7636 appendix B. */
static void test_pkce_vector(void **state)
{
    char out[64];
    (void)state;

    assert_int_equal(
        wdn_oauth2_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out, sizeof(out)),
        0);
    assert_string_equal(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void test_net_rules(void **state)
{
    struct wdn_oauth2_net net;
    struct wdn_diag d;
    (void)state;

    /* A loopback server may point at http loopback URLs, never at plain http elsewhere. */
    wdn_oauth2_net_for("http://127.0.0.1:9/mcp", NULL, 0, &net);
    assert_true(net.loopback_http);
    assert_false(net.public_only);
    assert_int_equal(wdn_oauth2_url_allowed(&net, "http://localhost:1/as", &d), 0);
    assert_int_equal(wdn_oauth2_url_allowed(&net, "http://example.com/as", &d), WDN_EPERM);
    assert_int_equal(wdn_oauth2_url_allowed(&net, "https://example.com/as", &d), 0);
    /* A server on a public address: https only, and public destinations only. */
    wdn_oauth2_net_for("https://1.1.1.1/mcp", NULL, 0, &net);
    assert_false(net.loopback_http);
    assert_true(net.public_only);
    assert_int_equal(wdn_oauth2_url_allowed(&net, "http://127.0.0.1/as", &d), WDN_EPERM);
    /* A server on a private address keeps private destinations reachable. */
    wdn_oauth2_net_for("https://10.1.2.3/mcp", NULL, 0, &net);
    assert_false(net.public_only);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_prm),
        cmocka_unit_test(test_asm),
        cmocka_unit_test(test_challenge_read),
        cmocka_unit_test(test_well_known_and_redirect),
        cmocka_unit_test(test_pkce_vector),
        cmocka_unit_test(test_net_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
