/* The authorization response a native client accepts on its loopback redirect (src/oauth2/
 * authcode.c), against a scripted authorization server that redirects back with a chosen query:
 * another sign-in's state (CSRF), a missing state, another issuer (RFC 9207 mix-up), no iss from
 * a server that promised one, an error, no code, a repeated parameter, each refused with its
 * message and no code kept; and servers the client must not sign in at (no authorization
 * endpoint, no PKCE S256). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "oauth2/authcode.h"
#include "oauth2/discovery.h"
#include "oauth2/form.h"
#include "oauth2/loopback.h"
#include "oauth2/metadata.h"
#include "../support/fakehttp.h"

#define ISS "https://as.test"

/* The query the scripted server sends back, "{state}" standing for the request's state. */
static const char *answer_fmt;
static char seen_query[4096];

static void handler(void *ud, const struct fakehttp_req *req)
{
    char state[128] = "", redirect[512] = "", query[1024], loc[2048];
    (void)ud;
    snprintf(seen_query, sizeof(seen_query), "%s", req->target);
    fakehttp_query(req->target, "state", state, sizeof(state));
    fakehttp_query(req->target, "redirect_uri", redirect, sizeof(redirect));
    const char *at = strstr(answer_fmt, "{state}");
    if (at == NULL)
        snprintf(query, sizeof(query), "%s", answer_fmt);
    else
        snprintf(query, sizeof(query), "%.*s%s%s", (int)(at - answer_fmt), answer_fmt, state,
                 at + 7);
    snprintf(loc, sizeof(loc), "Location: %s?%s\r\n", redirect, query);
    fakehttp_respond(req, 302, loc, "");
}

static struct fakehttp *fh;
static char authz_url[256];
static const struct wdn_oauth2_net net = {.loopback_http = true, .timeout_ms = 30000};

static int setup(void **state)
{
    (void)state;
    fh = fakehttp_start(handler, NULL);
    if (fh == NULL)
        return -1;
    fakehttp_url(fh, "/authorize", authz_url, sizeof(authz_url));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fakehttp_stop(fh);
    return 0;
}

static int browser(void *ud, const char *url)
{
    (void)ud;
    return fakehttp_browse(url, NULL, 0);
}

/* One sign-in against a server with metadata as; the result code and d. */
static int sign_in(const struct wdn_oauth2_asm *as, const char *fmt,
                   struct wdn_oauth2_authcode *out, struct wdn_diag *d)
{
    struct wdn_oauth2_loopback *l = NULL;
    const struct wdn_oauth2_authcode_req r = {.net = &net,
                                              .as = as,
                                              .client_id = "native-client",
                                              .redirect_uri = "http://127.0.0.1/callback",
                                              .scope = "mcp:tools",
                                              .resource = "https://mcp.test/mcp",
                                              .open_url = browser,
                                              .timeout_ms = 60000};
    answer_fmt = fmt;
    int rc = wdn_oauth2_authcode_listen(r.redirect_uri, &l, out, d);
    if (rc != 0)
        return rc;
    return wdn_oauth2_authcode_finish(&r, l, out, d);
}

static void test_response_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *fmt;
        bool promised_iss;
        const char *msg;
    } cases[] = {
        {"code=c1&state=another-sign-in&iss=https%3A%2F%2Fas.test{state}", false,
         "does not carry this sign-in's state"},
        {"code=c1&iss=https%3A%2F%2Fas.test&x={state}", false,
         "does not carry this sign-in's state"},
        {"code=c1&state={state}x", false, "does not carry this sign-in's state"},
        {"code=c1&state=", false, "does not carry this sign-in's state"},
        {"code=c1&state={state}&iss=https%3A%2F%2Fevil.test", false,
         "comes from issuer 'https://evil.test', not 'https://as.test' (mix-up attack?)"},
        {"code=c1&state={state}&iss=https%3A%2F%2Fas.test%2F", false, "(mix-up attack?)"},
        {"code=c1&state={state}", true,
         "promised an iss parameter in its responses and this one has none"},
        {"error=access_denied&error_description=the%20user%20said%20no&state={state}", false,
         "sign-in refused: access_denied: the user said no"},
        {"error=server_error&state={state}&iss=https%3A%2F%2Fas.test", true,
         "sign-in refused: server_error"},
        {"state={state}", false, "the authorization response has no code"},
        {"code=&state={state}", false, "the authorization response has no code"},
        {"code=a&code=b&state={state}", false,
         "is malformed (a repeated or badly encoded parameter)"},
        {"code=a%zz&state={state}", false, "is malformed"},
    };
    struct wdn_oauth2_authcode out;
    struct wdn_diag d;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct wdn_oauth2_asm as = {.issuer = ISS,
                                          .authorization_endpoint = authz_url,
                                          .pkce_s256 = true,
                                          .iss_parameter = cases[i].promised_iss};
        d = (struct wdn_diag){0};
        int rc = sign_in(&as, cases[i].fmt, &out, &d);
        if (rc != WDN_EAUTH || strstr(d.msg, cases[i].msg) == NULL)
            fail_msg("%s: rc %d '%s', expected '%s'", cases[i].fmt, rc, d.msg, cases[i].msg);
        assert_null(out.code);
        wdn_oauth2_authcode_reset(&out);
    }
}

static void test_response_accepted(void **state)
{
    (void)state;
    const struct wdn_oauth2_asm as = {.issuer = ISS,
                                      .authorization_endpoint = authz_url,
                                      .pkce_s256 = true,
                                      .iss_parameter = true};
    struct wdn_oauth2_authcode out;
    struct wdn_diag d;
    char v[128];

    assert_int_equal(
        sign_in(&as, "code=the-code&state={state}&iss=https%3A%2F%2Fas.test", &out, &d), 0);
    assert_string_equal(out.code, "the-code");
    /* The request: PKCE S256 with the verifier's challenge, the scope, the resource. */
    assert_non_null(fakehttp_query(seen_query, "code_challenge_method", v, sizeof(v)));
    assert_string_equal(v, "S256");
    char challenge[64];
    assert_int_equal(wdn_oauth2_pkce_challenge(out.verifier, challenge, sizeof(challenge)), 0);
    assert_non_null(fakehttp_query(seen_query, "code_challenge", v, sizeof(v)));
    assert_string_equal(v, challenge);
    assert_non_null(fakehttp_query(seen_query, "resource", v, sizeof(v)));
    assert_string_equal(v, "https://mcp.test/mcp");
    assert_non_null(fakehttp_query(seen_query, "scope", v, sizeof(v)));
    assert_string_equal(v, "mcp:tools");
    assert_non_null(fakehttp_query(seen_query, "redirect_uri", v, sizeof(v)));
    assert_string_equal(v, out.redirect_uri);
    assert_non_null(strstr(out.redirect_uri, "http://127.0.0.1:"));
    wdn_oauth2_authcode_reset(&out);
    /* Without iss from a server that did not promise it: fine. */
    const struct wdn_oauth2_asm quiet = {
        .issuer = ISS, .authorization_endpoint = authz_url, .pkce_s256 = true};
    assert_int_equal(sign_in(&quiet, "code=c2&state={state}", &out, &d), 0);
    assert_string_equal(out.code, "c2");
    wdn_oauth2_authcode_reset(&out);
}

/* Servers the client does not sign in at: nothing is opened in a browser. */
static void test_servers_refused(void **state)
{
    (void)state;
    struct wdn_oauth2_authcode out;
    struct wdn_diag d;
    const struct wdn_oauth2_asm no_endpoint = {.issuer = ISS, .pkce_s256 = true};
    const struct wdn_oauth2_asm no_pkce = {.issuer = ISS, .authorization_endpoint = authz_url};

    seen_query[0] = '\0';
    assert_int_equal(sign_in(&no_endpoint, "code=c&state={state}", &out, &d), WDN_EUNSUPPORTED);
    assert_non_null(strstr(d.msg, "has no authorization_endpoint"));
    assert_int_equal(sign_in(&no_pkce, "code=c&state={state}", &out, &d), WDN_EUNSUPPORTED);
    assert_non_null(strstr(d.msg, "does not support PKCE with S256"));
    assert_string_equal(seen_query, "");
    wdn_oauth2_authcode_reset(&out);
}

/* Sends raw bytes to 127.0.0.1:port; the status code of the answer, or -1 when the connection
 * closed without one. */
static int raw_request(int port, const char *bytes)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char buf[256] = "";
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    ssize_t n, got = 0;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_true(send(fd, bytes, strlen(bytes), 0) >= 0);
    shutdown(fd, SHUT_WR);
    while ((n = recv(fd, buf + got, sizeof(buf) - 1 - (size_t)got, 0)) > 0)
        got += n;
    close(fd);
    buf[got] = '\0';
    if (strncmp(buf, "HTTP/1.1 ", 9) == 0)
        status = atoi(buf + 9);
    return status;
}

/* The listener answers only a GET of its own path: other paths and methods get 404, garbage is
 * dropped, and none of them ends the wait. */
static void test_loopback_listener(void **state)
{
    (void)state;
    struct wdn_oauth2_loopback *l = NULL;
    char actual[256], *query = NULL;
    struct wdn_diag d;

    assert_false(wdn_oauth2_redirect_ok("https://127.0.0.1/cb"));
    assert_false(wdn_oauth2_redirect_ok("http://example.com/cb"));
    assert_false(wdn_oauth2_redirect_ok("http://127.0.0.1/cb#f"));
    assert_true(wdn_oauth2_redirect_ok("http://localhost:8080/cb"));
    assert_int_equal(
        wdn_oauth2_loopback_start("http://example.com/cb", &l, actual, sizeof(actual), &d),
        WDN_EINVAL);
    assert_non_null(strstr(d.msg, "is not a loopback http URI"));

    assert_int_equal(
        wdn_oauth2_loopback_start("http://127.0.0.1/cb?x=1", &l, actual, sizeof(actual), &d), 0);
    int port = atoi(strrchr(actual, ':') + 1);
    assert_true(port > 0);
    assert_non_null(strstr(actual, "/cb?x=1"));
    /* Nothing arrived yet: a short wait times out. */
    assert_int_equal(wdn_oauth2_loopback_wait(l, 200, &query, &d), WDN_ETIMEOUT);
    assert_int_equal(raw_request(port, "GET /other?code=x HTTP/1.1\r\nHost: h\r\n\r\n"), 404);
    assert_int_equal(raw_request(port, "POST /cb?code=x HTTP/1.1\r\nHost: h\r\n"
                                       "Content-Length: 0\r\n\r\n"),
                     404);
    assert_int_equal(raw_request(port, "\x01\x02 nonsense\r\n\r\n"), -1);
    assert_int_equal(raw_request(port, "GET /cb?code=c9&state=s HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
    assert_int_equal(wdn_oauth2_loopback_wait(l, 30000, &query, &d), 0);
    assert_string_equal(query, "code=c9&state=s");
    free(query);
    wdn_oauth2_loopback_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_refusals),
        cmocka_unit_test(test_response_accepted),
        cmocka_unit_test(test_servers_refused),
        cmocka_unit_test(test_loopback_listener),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
