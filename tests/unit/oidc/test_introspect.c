/* Tests for RFC 7662 introspection: the answer parser (active, inactive, unusable answers, the
 * claim checks), and the introspector against a local HTTPS endpoint (jwks_server.js): active
 * tokens accepted and cached, active:false refused and remembered, the endpoint down, slow or
 * garbled answering "unavailable" (never a pass), its own client authentication, calls made on
 * its threads with one wake per waiting request, one call for concurrent lookups of a token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "http/fetch.h"
#include "jose/crypto.h"
#include "oidc/introspect.h"
#include "../support/childproc.h"

#define NOW 1700000000

static struct childproc proc;
static char dir[64], ca[128], base[64], url[96];

static int setup(void **state)
{
    char script[1024], line[64] = "";
    const char *src = getenv("WDN_SOURCE_DIR");
    int port;

    snprintf(script, sizeof(script), "%s/tests/unit/oidc/jwks_server.js", src ? src : ".");
    strcpy(dir, "/tmp/wdn-introspect-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    char *argv[] = {"node", script, dir, NULL};
    if (childproc_start_piped(&proc, argv, 20000, line, sizeof(line)) != 0 ||
        sscanf(line, "PORT %d", &port) != 1)
        return -1;
    snprintf(ca, sizeof(ca), "%s/cert.pem", dir);
    snprintf(base, sizeof(base), "https://127.0.0.1:%d", port);
    snprintf(url, sizeof(url), "%s/introspect", base);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    childproc_stop(&proc);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    wdn_jose_thread_cleanup();
    return 0;
}

static long ctl(const char *path, const char *body, char *resp, size_t cap)
{
    char u[256];
    struct wdn_fetch_request req = {0};
    struct wdn_fetch_response r;
    long status = 0;

    snprintf(u, sizeof(u), "%s%s", base, path);
    req.method = body ? "POST" : "GET";
    req.url = u;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.timeout_ms = 5000;
    req.ca_file = ca;
    if (wdn_fetch(&req, &r, NULL) == 0)
        status = r.status;
    if (resp)
        wdn_fmt(resp, cap, "%.*s", (int)r.body.len, r.body.data ? r.body.data : "");
    wdn_fetch_response_reset(&r);
    return status;
}

static int calls(void)
{
    char resp[256];
    const char *p;
    assert_int_equal(ctl("/ctl/count", NULL, resp, sizeof(resp)), 200);
    p = strstr(resp, "\"introspect\":");
    assert_non_null(p);
    return atoi(p + 13);
}

static int reset(void **state)
{
    char answer[256];
    snprintf(answer, sizeof(answer),
             "{\"active\":true,\"iss\":\"https://as.test/\",\"aud\":\"api\",\"sub\":\"svc\","
             "\"client_id\":\"mcp-client\",\"scope\":\"mcp:read mcp:call\",\"exp\":%lld}",
             (long long)wdn_clock_unix() + 600);
    assert_int_equal(ctl("/ctl/introspect", answer, NULL, 0), 200);
    assert_int_equal(ctl("/ctl/introspect-mode", "ok", NULL, 0), 200);
    return 0;
}

static const char *const auds[] = {"api"};

static void config(struct wdn_introspect_config *c)
{
    wdn_introspect_config_init(c);
    c->url = url;
    c->client_id = "rs";
    c->client_secret = "rs-secret";
    c->ca_file = ca;
    c->issuer = "https://as.test/";
    c->audiences = auds;
    c->n_audiences = 1;
    c->timeout_ms = 1000;
    c->retry_ms = 300;
}

/* ---- The parser ---------------------------------------------------------------------------- */

static enum wdn_jwt_reason parse(const char *body, struct wdn_jwt **j)
{
    static const char *const need[] = {"mcp:read"};
    struct wdn_jwt_rules r;

    wdn_jwt_rules_init(&r);
    r.issuer = "https://as.test/";
    r.audiences = auds;
    r.n_audiences = 1;
    r.scopes = need;
    r.n_scopes = 1;
    return wdn_introspect_parse(wdn_str_from_cstr(body), &r, NOW, 300, j);
}

static void test_parse(void **state)
{
    static const struct {
        const char *body;
        enum wdn_jwt_reason want;
    } cases[] = {
        {"{\"active\":true,\"aud\":\"api\",\"scope\":\"mcp:read\",\"exp\":1700000600}", WDN_JWT_OK},
        {"{\"active\":true,\"aud\":[\"x\",\"api\"],\"scope\":\"mcp:read\"}", WDN_JWT_OK},
        {"{\"active\":false}", WDN_JWT_INACTIVE},
        {"{\"active\":false,\"aud\":\"api\",\"scope\":\"mcp:read\"}", WDN_JWT_INACTIVE},
        {"{\"active\":\"true\",\"aud\":\"api\"}", WDN_JWT_MALFORMED},
        {"{\"active\":1}", WDN_JWT_MALFORMED},
        {"{\"aud\":\"api\"}", WDN_JWT_MALFORMED},
        {"[true]", WDN_JWT_MALFORMED},
        {"{\"active\":tru", WDN_JWT_MALFORMED},
        {"{\"active\":true,\"active\":true,\"aud\":\"api\"}", WDN_JWT_MALFORMED},
        {"{\"active\":true,\"aud\":\"other\",\"scope\":\"mcp:read\"}", WDN_JWT_WRONG_AUDIENCE},
        {"{\"active\":true,\"aud\":\"api\",\"scope\":\"mcp:read\",\"iss\":\"https://evil/\"}",
         WDN_JWT_WRONG_ISSUER},
        {"{\"active\":true,\"aud\":\"api\",\"scope\":\"mcp:read\",\"exp\":1699990000}",
         WDN_JWT_EXPIRED},
        {"{\"active\":true,\"aud\":\"api\",\"scope\":\"other\"}", WDN_JWT_INSUFFICIENT_SCOPE},
        {"{\"active\":true,\"aud\":\"api\",\"scope\":\"mcp:read\",\"exp\":\"soon\"}",
         WDN_JWT_BAD_CLAIM},
    };
    struct wdn_jwt *j;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum wdn_jwt_reason r = parse(cases[i].body, &j);
        if (r != cases[i].want)
            fail_msg("case %zu: %s, expected %s", i, wdn_jwt_reason_name(r),
                     wdn_jwt_reason_name(cases[i].want));
        assert_true((r == WDN_JWT_OK) == (j != NULL));
        wdn_jwt_release(j);
    }
    /* Without exp the answer holds for the cache's time; without iss, the configured one. */
    assert_int_equal(parse("{\"active\":true,\"aud\":\"api\",\"scope\":\"mcp:read\"}", &j),
                     WDN_JWT_OK);
    assert_int_equal(wdn_jwt_exp(j), NOW + 300);
    assert_string_equal(wdn_jwt_claim_string(j, "iss"), "https://as.test/");
    assert_true(wdn_jwt_has_scope(j, WDN_STR("mcp:read")));
    wdn_jwt_release(j);
}

/* ---- Against the endpoint ------------------------------------------------------------------ */

static enum wdn_introspect_state look(struct wdn_introspector *in, const char *tok,
                                      enum wdn_jwt_reason *why, bool *cached)
{
    struct wdn_jwt *j = NULL;
    enum wdn_introspect_state st =
        wdn_introspect(in, wdn_str_from_cstr(tok), wdn_clock_unix(), NULL, NULL, &j, why, cached);
    if (st == WDN_INTROSPECT_ACTIVE) {
        assert_non_null(j);
        assert_string_equal(wdn_jwt_sub(j), "svc");
    } else {
        assert_null(j);
    }
    wdn_jwt_release(j);
    return st;
}

static void test_active_inactive(void **state)
{
    struct wdn_introspect_config c;
    struct wdn_introspector *in;
    struct wdn_introspect_stats st;
    enum wdn_jwt_reason why;
    bool cached;
    int before = calls();

    config(&c);
    in = wdn_introspector_new(&c, NULL);
    assert_non_null(in);
    assert_int_equal(look(in, "good", &why, &cached), WDN_INTROSPECT_ACTIVE);
    assert_false(cached);
    assert_int_equal(look(in, "good", &why, &cached), WDN_INTROSPECT_ACTIVE);
    assert_true(cached);
    assert_int_equal(calls(), before + 1);
    assert_int_equal(look(in, "revoked", &why, &cached), WDN_INTROSPECT_REFUSED);
    assert_int_equal(why, WDN_JWT_INACTIVE);
    /* Remembered: the same rejected token does not call again. */
    assert_int_equal(look(in, "revoked", &why, &cached), WDN_INTROSPECT_REFUSED);
    assert_int_equal(calls(), before + 2);
    wdn_introspect_stats(in, &st);
    assert_int_equal(st.calls_ok, 2);
    assert_int_equal(st.active, 1);
    assert_int_equal(st.inactive, 1);
    assert_int_equal(st.cache_hits, 1);
    wdn_introspector_free(in);
}

/* Down, garbled, slow, or our own credentials refused: unavailable, never active. */
static void test_failures_fail_closed(void **state)
{
    static const char *const modes[] = {"down", "garbage", "slow"};
    struct wdn_introspect_config c;
    struct wdn_introspector *in;
    struct wdn_introspect_stats st;
    enum wdn_jwt_reason why;
    bool cached;

    for (size_t i = 0; i < 3; i++) {
        int before;
        config(&c);
        in = wdn_introspector_new(&c, NULL);
        assert_int_equal(ctl("/ctl/introspect-mode", modes[i], NULL, 0), 200);
        before = calls();
        assert_int_equal(look(in, "good", &why, &cached), WDN_INTROSPECT_UNAVAILABLE);
        /* Within the retry window a new token does not call at all. */
        assert_int_equal(look(in, "good-2", &why, &cached), WDN_INTROSPECT_UNAVAILABLE);
        assert_int_equal(calls(), before + 1);
        wdn_introspect_stats(in, &st);
        assert_int_equal(st.calls_failed, 1);
        /* The endpoint recovers: after the window the token is accepted. */
        assert_int_equal(ctl("/ctl/introspect-mode", "ok", NULL, 0), 200);
        usleep(2100 * 1000); /* the failed token's outcome is kept 2 s */
        assert_int_equal(look(in, "good", &why, &cached), WDN_INTROSPECT_ACTIVE);
        wdn_introspector_free(in);
    }
    /* Wrong client credentials: the endpoint answers 401, which is unavailable too. */
    config(&c);
    c.client_secret = "wrong";
    in = wdn_introspector_new(&c, NULL);
    assert_int_equal(look(in, "good", &why, &cached), WDN_INTROSPECT_UNAVAILABLE);
    wdn_introspector_free(in);
}

struct waits {
    atomic_int woken;
};

static void wake(void *ud)
{
    atomic_fetch_add(&((struct waits *)ud)->woken, 1);
}

/* With a wake function the call runs on the introspector's threads; concurrent lookups of one
 * token share it, and each waiter is woken once, after the answer is stored. */
static void test_async_one_call(void **state)
{
    struct wdn_introspect_config c;
    struct wdn_introspector *in;
    struct waits w[5];
    struct wdn_jwt *j = NULL;
    enum wdn_jwt_reason why;
    bool cached;
    int before = calls();

    assert_int_equal(ctl("/ctl/introspect-mode", "slow", NULL, 0), 200);
    config(&c);
    c.timeout_ms = 10000; /* slow answers after 3 s: wait for it this time */
    in = wdn_introspector_new(&c, NULL);
    for (int i = 0; i < 5; i++) {
        atomic_init(&w[i].woken, 0);
        assert_int_equal(
            wdn_introspect(in, WDN_STR("good"), wdn_clock_unix(), wake, &w[i], &j, &why, &cached),
            WDN_INTROSPECT_PENDING);
    }
    for (int i = 0; i < 400 && atomic_load(&w[4].woken) == 0; i++)
        usleep(50000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(atomic_load(&w[i].woken), 1);
    assert_int_equal(calls(), before + 1);
    /* Asked again, the waiting requests find the answer. */
    assert_int_equal(
        wdn_introspect(in, WDN_STR("good"), wdn_clock_unix(), wake, &w[0], &j, &why, &cached),
        WDN_INTROSPECT_ACTIVE);
    assert_true(cached);
    wdn_jwt_release(j);
    assert_int_equal(atomic_load(&w[0].woken), 1);
    /* A slow endpoint past the timeout: woken, and the answer is unavailable. */
    wdn_introspector_free(in);
    config(&c);
    c.timeout_ms = 1000;
    in = wdn_introspector_new(&c, NULL);
    atomic_init(&w[0].woken, 0);
    assert_int_equal(
        wdn_introspect(in, WDN_STR("good"), wdn_clock_unix(), wake, &w[0], &j, &why, &cached),
        WDN_INTROSPECT_PENDING);
    for (int i = 0; i < 200 && atomic_load(&w[0].woken) == 0; i++)
        usleep(50000);
    assert_int_equal(atomic_load(&w[0].woken), 1);
    assert_int_equal(
        wdn_introspect(in, WDN_STR("good"), wdn_clock_unix(), wake, &w[0], &j, &why, &cached),
        WDN_INTROSPECT_UNAVAILABLE);
    /* Freed with a call queued: its waiter is woken, not forgotten. */
    atomic_init(&w[1].woken, 0);
    usleep(2100 * 1000);
    assert_int_equal(
        wdn_introspect(in, WDN_STR("other"), wdn_clock_unix(), wake, &w[1], &j, &why, &cached),
        WDN_INTROSPECT_PENDING);
    wdn_introspector_free(in);
    assert_int_equal(atomic_load(&w[1].woken), 1);
}

static void test_config_errors(void **state)
{
    struct wdn_introspect_config c;
    struct wdn_diag d;

    config(&c);
    c.url = "http://127.0.0.1/introspect";
    assert_null(wdn_introspector_new(&c, &d));
    config(&c);
    c.client_secret = NULL;
    assert_null(wdn_introspector_new(&c, &d));
    config(&c);
    c.issuer = NULL;
    assert_null(wdn_introspector_new(&c, &d));
    config(&c);
    c.n_audiences = 0;
    assert_null(wdn_introspector_new(&c, &d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test_setup(test_active_inactive, reset),
        cmocka_unit_test_setup(test_failures_fail_closed, reset),
        cmocka_unit_test_setup(test_async_one_call, reset),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
