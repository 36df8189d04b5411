/* The authorization server's URI rules, case by case (src/authserver/uri.c): which redirect
 * URIs a client may register and why the others are refused (each refusal names its reason,
 * since `warden issuer client add` and the registration endpoint show it), RFC 8252's any-port
 * match for loopback IP literals and nothing looser, Client ID Metadata Document URLs, resource
 * indicator equality, and the RFC 6749 scope grammar. Table-driven: one row per rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "base/limits.h"

/* A string of n copies of c after prefix, with suffix (malloc'd). */
static char *long_uri(const char *prefix, size_t n, char c, const char *suffix)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    char *s = malloc(pl + n + sl + 1);
    assert_non_null(s);
    memcpy(s, prefix, pl);
    memset(s + pl, c, n);
    memcpy(s + pl + n, suffix, sl + 1);
    return s;
}

struct uri_case {
    const char *uri;
    const char *why; /* NULL: accepted; else a substring of the reason */
};

static void check_redirect(const char *uri, const char *want)
{
    const char *why = NULL;
    int rc = wdn__as_redirect_uri_ok(uri, &why);
    if (want == NULL) {
        if (rc != 0)
            fail_msg("'%s' refused: %s", uri, why);
        return;
    }
    if (rc != WDN_EINVAL)
        fail_msg("'%s' accepted, expected a refusal (%s)", uri, want);
    if (why == NULL || strstr(why, want) == NULL)
        fail_msg("'%s' refused because '%s', expected '%s'", uri, why ? why : "(none)", want);
}

/* Every reason a redirect URI is refused, and the shapes that pass. */
static void test_redirect_uri_rules(void **state)
{
    (void)state;
    static const struct uri_case cases[] = {
        {"", "empty or longer"},
        {"https://app.example/c b", "percent-encoded"},
        {"https://app.example/cb\x01", "percent-encoded"},
        {"https://app.example/cb\x7f", "percent-encoded"},
        {"https://app.example/\xc3\xa9", "percent-encoded"},
        {"https://app.example/<script>", "percent-encoded"},
        {"https://app.example/\"q\"", "percent-encoded"},
        {"https://app.example/a\\b", "percent-encoded"},
        {"https://app.example/a^b", "percent-encoded"},
        {"https://app.example/a`b", "percent-encoded"},
        {"https://app.example/{a}", "percent-encoded"},
        {"https://app.example/a|b", "percent-encoded"},
        {"ftp://app.example/cb", "not an http or https URI"},
        {"javascript:alert(1)", "not an http or https URI"},
        {"HTTPS://app.example/cb", "not an http or https URI"},
        {"https://app.example/cb#frag", "fragment"},
        {"https://app.example/cb?x=1#", "fragment"},
        {"https://user@app.example/cb", "user name or password"},
        {"https://user:pw@app.example/cb", "user name or password"},
        {"https://evil.example@app.example/cb", "user name or password"},
        {"https://[::1/cb", "no closing bracket"},
        {"https://[::1]x/cb", "host is malformed"},
        {"https://[::1]x:443/cb", "host is malformed"},
        {"https://app.example:/cb", "port is not a number"},
        {"https://app.example:123456/cb", "port is not a number"},
        {"https://app.example:8a/cb", "port is not a number"},
        {"https://app.example:8!/cb", "port is not a number"},
        {"https://app.example:443:443/cb", "port is not a number"},
        {"https:///cb", "host is malformed"},
        {"https://:443/cb", "host is malformed"},
        {"https://app_example/cb", "host is malformed"},
        {"https://app.example%2f/cb", "host is malformed"},
        {"https://app.example;x/cb", "host is malformed"},
        {"https://[]/cb", "host is malformed"},
        {"https://[:]/cb", "host is malformed"},
        {"https://[::g1]/cb", "host is malformed"},
        {"https://[::1%eth0]/cb", "host is malformed"},
        {"https://[fe80::/1]/cb", "no closing bracket"},
        {"http://app.example/cb", "only allowed on a loopback host"},
        {"http://127.0.0.2/cb", "only allowed on a loopback host"},
        {"http://[::2]/cb", "only allowed on a loopback host"},
        {"http://localhost.evil.example/cb", "only allowed on a loopback host"},
        /* accepted */
        {"https://app.example/cb", NULL},
        {"https://App-1.Example.COM:8443/cb?x=1&y=2", NULL},
        {"https://app.example", NULL},
        {"https://app.example?x", NULL},
        {"https://192.0.2.7:443/", NULL},
        {"https://[2001:DB8::a:1]:8443/cb", NULL},
        {"https://[::ffff:192.0.2.1]/cb", NULL},
        {"http://127.0.0.1/callback", NULL},
        {"http://127.0.0.1:53682/callback", NULL},
        {"http://[::1]:8080/cb", NULL},
        {"http://localhost:3000/cb", NULL},
        {"http://LocalHost/cb", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_redirect(cases[i].uri, cases[i].why);
}

/* The length limits: the whole URI and the host. */
static void test_redirect_uri_limits(void **state)
{
    (void)state;
    char *at = long_uri("https://app.example/", WDN_ISSUER_MAX_URI_BYTES - 20, 'a', "");
    char *over = long_uri("https://app.example/", WDN_ISSUER_MAX_URI_BYTES - 19, 'a', "");
    char *host255 = long_uri("https://", 255, 'h', "/cb");
    char *host256 = long_uri("https://", 256, 'h', "/cb");

    assert_int_equal(strlen(at), WDN_ISSUER_MAX_URI_BYTES);
    check_redirect(at, NULL);
    check_redirect(over, "longer than the limit");
    check_redirect(host255, NULL);
    check_redirect(host256, "host is malformed");
    free(at);
    free(over);
    free(host255);
    free(host256);
}

/* The parts the parser hands out: host with brackets, port digits, path with the query. */
static void test_uri_parse_parts(void **state)
{
    (void)state;
    struct wdn__as_uri u;
    const char *why;

    assert_int_equal(wdn__as_uri_parse("http://[::1]:8080/cb?x=1", &u, &why), 0);
    assert_false(u.https);
    assert_true(u.loopback && u.loopback_ip);
    assert_true(wdn_str_eq_cstr(u.host, "[::1]"));
    assert_true(wdn_str_eq_cstr(u.port, "8080"));
    assert_true(wdn_str_eq_cstr(u.path, "/cb?x=1"));

    assert_int_equal(wdn__as_uri_parse("https://LOCALHOST?q", &u, &why), 0);
    assert_true(u.https);
    assert_true(u.loopback);
    assert_false(u.loopback_ip);
    assert_int_equal(u.port.len, 0);
    assert_true(wdn_str_eq_cstr(u.path, "?q"));

    assert_int_equal(wdn__as_uri_parse("https://127.0.0.1.evil.example/", &u, &why), 0);
    assert_false(u.loopback);
}

struct match_case {
    const char *registered, *presented;
    bool match;
};

/* Exact matching, and RFC 8252 7.3's any port only for http on 127.0.0.1 and [::1]. */
static void test_redirect_match(void **state)
{
    (void)state;
    static const struct match_case cases[] = {
        {"https://app.example/cb", "https://app.example/cb", true},
        {"https://app.example/cb", "https://app.example/cb/", false},
        {"https://app.example/cb", "https://APP.example/cb", false},
        {"https://app.example/cb", "https://app.example:443/cb", false},
        {"https://app.example:8443/cb", "https://app.example:9443/cb", false},
        {"http://127.0.0.1/cb", "http://127.0.0.1:53682/cb", true},
        {"http://127.0.0.1:1/cb", "http://127.0.0.1:2/cb", true},
        {"http://[::1]/cb", "http://[::1]:8080/cb", true},
        {"http://127.0.0.1/cb", "http://127.0.0.1:53682/cb2", false},
        {"http://127.0.0.1/cb", "http://127.0.0.1:53682/cb?x=1", false},
        {"http://127.0.0.1/cb", "http://[::1]:53682/cb", false},
        {"http://localhost/cb", "http://localhost:3000/cb", false},
        {"http://127.0.0.1/cb", "http://localhost:3000/cb", false},
        {"https://127.0.0.1/cb", "https://127.0.0.1:8443/cb", false},
        {"http://127.0.0.1/cb", "https://127.0.0.1:8443/cb", false},
        {"https://127.0.0.1/cb", "http://127.0.0.1:8443/cb", false},
        {"http://127.0.0.1/cb", "http://127.0.0.1:8443/cb#x", false},
        {"http://127.0.0.1/c b", "http://127.0.0.1:8443/c b", false},
        {"http://127.0.0.1/cb", "http://user@127.0.0.1:8443/cb", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (wdn__as_redirect_match(cases[i].registered, cases[i].presented) != cases[i].match)
            fail_msg("registered '%s', presented '%s': expected %s", cases[i].registered,
                     cases[i].presented, cases[i].match ? "a match" : "no match");
}

/* A client_id URL: https, a path other than "/", no dot segments (one spelling per document). */
static void test_cimd_url_rules(void **state)
{
    (void)state;
    static const struct uri_case cases[] = {
        {"http://client.example/meta.json", "must use https"},
        {"http://127.0.0.1/meta.json", "must use https"},
        {"https://client.example", "must have a path"},
        {"https://client.example/", "must have a path"},
        {"https://client.example?x=/meta.json", "must have a path"},
        {"https://client.example/?x", "must have a path"},
        {"https://client.example/./meta.json", ". or .. segments"},
        {"https://client.example/a/../meta.json", ". or .. segments"},
        {"https://client.example/a/..", ". or .. segments"},
        {"https://client.example/a/.?x", ". or .. segments"},
        {"https://client.example/meta.json#x", "fragment"},
        {"https://u@client.example/meta.json", "user name"},
        {"", "empty"},
        {"https://client.example/meta.json", NULL},
        {"https://client.example/a/.well/..x/meta.json", NULL},
        {"https://client.example/a//meta.json", NULL},
        {"https://client.example/meta.json?v=/../", NULL},
        {"https://client.example:8443/oauth/client", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = NULL;
        int rc = wdn__as_cimd_url_ok(cases[i].uri, &why);
        if (cases[i].why == NULL && rc != 0)
            fail_msg("'%s' refused: %s", cases[i].uri, why);
        if (cases[i].why != NULL &&
            (rc != WDN_EINVAL || why == NULL || strstr(why, cases[i].why) == NULL))
            fail_msg("'%s': rc %d why '%s', expected '%s'", cases[i].uri, rc, why ? why : "",
                     cases[i].why);
    }
}

static void test_uri_origin(void **state)
{
    (void)state;
    char out[64];

    assert_int_equal(wdn__as_uri_origin("https://client.example:8443/a/b?c", out, sizeof(out)), 0);
    assert_string_equal(out, "https://client.example:8443");
    assert_int_equal(wdn__as_uri_origin("http://[::1]/cb", out, sizeof(out)), 0);
    assert_string_equal(out, "http://[::1]");
    assert_int_equal(wdn__as_uri_origin("ftp://client.example/", out, sizeof(out)), WDN_EINVAL);
    assert_int_equal(wdn__as_uri_origin("https://client.example#x", out, sizeof(out)), WDN_EINVAL);
    assert_int_not_equal(wdn__as_uri_origin("https://client.example:8443/", out, 10), 0);
}

/* Resource indicators: scheme and host compare without case, the rest exactly. */
static void test_resource_eq(void **state)
{
    (void)state;
    assert_true(wdn__as_resource_eq("https://mcp.test/mcp", "https://mcp.test/mcp"));
    assert_true(wdn__as_resource_eq("HTTPS://MCP.Test/mcp", "https://mcp.test/mcp"));
    assert_true(wdn__as_resource_eq("https://MCP.test:8443?x", "https://mcp.TEST:8443?x"));
    assert_false(wdn__as_resource_eq("https://mcp.test/MCP", "https://mcp.test/mcp"));
    assert_false(wdn__as_resource_eq("https://mcp.test/mcp", "https://mcp.test/mcp/"));
    assert_false(wdn__as_resource_eq("https://mcp.test:443/mcp", "https://mcp.test/mcp"));
    assert_false(wdn__as_resource_eq("https://mcp.test/mcp?a", "https://mcp.test/mcp?A"));
    /* Without an authority only the scheme ignores case. */
    assert_true(wdn__as_resource_eq("URN:example:mcp", "urn:example:mcp"));
    assert_false(wdn__as_resource_eq("urn:example:MCP", "urn:example:mcp"));
    assert_false(wdn__as_resource_eq("urn:example:mcp", "urx:example:mcp"));
    assert_false(wdn__as_resource_eq("urn:x", "urnx:x"));
    assert_true(wdn__as_resource_eq("no-colon", "no-colon"));
    assert_false(wdn__as_resource_eq("no-colon", "No-colon"));
}

/* RFC 8707 2: the resource is an absolute URI without a fragment. */
static void test_absolute_uri(void **state)
{
    (void)state;
    char *over = long_uri("https://mcp.test/", WDN_ISSUER_MAX_URI_BYTES, 'a', "");
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"https://mcp.test/mcp", true},
        {"urn:example:mcp", true},
        {"h+t-t.p9://x", true},
        {"x:", true},
        {"no-colon", false},
        {":x", false},
        {"", false},
        {"https://mcp.test/mcp#x", false},
        {"https://mcp.test/m p", false},
        {"https://mcp.test/m\x01", false},
        {"https://mcp.test/<m>", false},
        {"1https://x", false},
        {"+https://x", false},
        {"ht_tp://x", false},
        {"ht tp://x", false},
        {"ht/tp://x", false},
        {"h@tp://x", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (wdn__as_absolute_uri(cases[i].s) != cases[i].ok)
            fail_msg("'%s': expected %s", cases[i].s, cases[i].ok ? "absolute" : "refused");
    assert_false(wdn__as_absolute_uri(over));
    free(over);
}

/* RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), tokens separated by one space. */
static void test_scope_grammar(void **state)
{
    (void)state;
    char *big = long_uri("", WDN_ISSUER_MAX_FIELD_BYTES, 's', "");
    char *over = long_uri("", WDN_ISSUER_MAX_FIELD_BYTES + 1, 's', "");

    assert_true(wdn__as_scope_token_ok(WDN_STR("mcp:tools")));
    assert_true(wdn__as_scope_token_ok(WDN_STR("!#[]~")));
    assert_true(wdn__as_scope_token_ok(wdn_str_from_cstr(big)));
    assert_false(wdn__as_scope_token_ok(wdn_str_from_cstr(over)));
    assert_false(wdn__as_scope_token_ok(WDN_STR("")));
    assert_false(wdn__as_scope_token_ok(WDN_STR("a b")));
    assert_false(wdn__as_scope_token_ok(WDN_STR("a\"b")));
    assert_false(wdn__as_scope_token_ok(WDN_STR("a\\b")));
    assert_false(wdn__as_scope_token_ok(WDN_STR("a\x7f")));
    assert_false(wdn__as_scope_token_ok(WDN_STR("a\x1f")));
    assert_false(wdn__as_scope_token_ok(WDN_STR("\xc3\xa9")));

    assert_true(wdn__as_scope_ok(""));
    assert_true(wdn__as_scope_ok("mcp:tools offline_access"));
    assert_false(wdn__as_scope_ok("mcp:tools  offline_access"));
    assert_false(wdn__as_scope_ok(" mcp:tools"));
    assert_false(wdn__as_scope_ok("mcp:tools a\"b"));
    assert_false(wdn__as_scope_ok("mcp:tools\tx"));

    assert_true(wdn__as_scope_subset("a c", "a b c"));
    assert_true(wdn__as_scope_subset("", "a"));
    assert_true(wdn__as_scope_subset(NULL, "a"));
    assert_true(wdn__as_scope_subset("a  c", "a b c"));
    assert_false(wdn__as_scope_subset("a d", "a b c"));
    assert_false(wdn__as_scope_subset("ab", "a b"));
    assert_false(wdn__as_scope_subset("a", "ab"));
    assert_false(wdn__as_scope_subset("a", ""));
    assert_false(wdn__as_scope_subset("a", NULL));
    free(big);
    free(over);
}

/* Names shown on pages and ids: 1..max bytes, no control characters (UTF-8 is fine). */
static void test_printable(void **state)
{
    (void)state;
    assert_true(wdn__as_printable("Test <App>", 64));
    assert_true(wdn__as_printable("caf\xc3\xa9", 64));
    assert_true(wdn__as_printable("12345", 5));
    assert_false(wdn__as_printable("123456", 5));
    assert_false(wdn__as_printable("", 5));
    assert_false(wdn__as_printable("a\nb", 64));
    assert_false(wdn__as_printable("a\x7f", 64));
    assert_false(wdn__as_printable("\x1b[31m", 64));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redirect_uri_rules), cmocka_unit_test(test_redirect_uri_limits),
        cmocka_unit_test(test_uri_parse_parts),    cmocka_unit_test(test_redirect_match),
        cmocka_unit_test(test_cimd_url_rules),     cmocka_unit_test(test_uri_origin),
        cmocka_unit_test(test_resource_eq),        cmocka_unit_test(test_absolute_uri),
        cmocka_unit_test(test_scope_grammar),      cmocka_unit_test(test_printable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
