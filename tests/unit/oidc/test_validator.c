/* Tests for the validator against a local HTTPS issuer (jwks_server.js on Node): discovery,
 * key rotation, unknown-kid debounce, issuer outages, Cache-Control, RFC 8414, and the
 * static-JWKS path with its token cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "http/fetch.h"
#include "jose/crypto.h"
#include "jose/sign.h"
#include "oidc/oidc.h"
#include "../support/childproc.h"

#define NOW 1700000000

struct server {
    struct childproc proc;
    int port;
    char dir[64];
    char ca[128];
    char base[64];
    char issuer[80];
};

static struct server srv;
static struct wdn_jose_key *ka, *kb;
static char jwks_a[4096], jwks_b[4096], jwks_ab[8192];
static const char *const auds[] = {"api"};

static int server_start(struct server *s)
{
    char script[1024], line[64] = "";
    const char *src = getenv("WDN_SOURCE_DIR");

    snprintf(script, sizeof(script), "%s/tests/unit/oidc/jwks_server.js", src ? src : ".");
    strcpy(s->dir, "/tmp/wdn-oidc-XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        return -1;
    /* "PORT <n>\n", within 20 s (openssl and node start-up on a busy machine). */
    char *argv[] = {"node", script, s->dir, NULL};
    if (childproc_start_piped(&s->proc, argv, 20000, line, sizeof(line)) != 0)
        return -1;
    if (sscanf(line, "PORT %d", &s->port) != 1)
        return -1;
    snprintf(s->ca, sizeof(s->ca), "%s/cert.pem", s->dir);
    snprintf(s->base, sizeof(s->base), "https://127.0.0.1:%d", s->port);
    snprintf(s->issuer, sizeof(s->issuer), "%s/", s->base);
    return 0;
}

static void server_stop(struct server *s)
{
    char cmd[128];

    childproc_stop(&s->proc); /* the server exits when its stdin closes */
    snprintf(cmd, sizeof(cmd), "rm -rf %s", s->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", s->dir);
}

/* A control request to the test server; returns the HTTP status. */
static long ctl(const char *path, const char *body, char *resp, size_t cap)
{
    char url[256];
    struct wdn_fetch_request req = {0};
    struct wdn_fetch_response r;
    long status = 0;

    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    req.method = body != NULL ? "POST" : "GET";
    req.url = url;
    req.body = body;
    req.body_len = body != NULL ? strlen(body) : 0;
    req.timeout_ms = 5000;
    req.ca_file = srv.ca;
    req.max_response = 65536;
    if (wdn_fetch(&req, &r, NULL) == 0)
        status = r.status;
    if (resp != NULL)
        wdn_fmt(resp, cap, "%.*s", (int)r.body.len, r.body.data ? r.body.data : "");
    wdn_fetch_response_reset(&r);
    return status;
}

static int count(const char *what)
{
    char resp[256], key[32];
    const char *p;
    assert_int_equal(ctl("/ctl/count", NULL, resp, sizeof(resp)), 200);
    snprintf(key, sizeof(key), "\"%s\":", what);
    p = strstr(resp, key);
    assert_non_null(p);
    return atoi(p + strlen(key));
}

static void set_jwks(const char *doc)
{
    assert_int_equal(ctl("/ctl/jwks", doc, NULL, 0), 200);
}

/* A valid token from key k for the test server's issuer. */
static char *token(const struct wdn_jose_key *k, const char *sub)
{
    char claims[512];
    struct wdn_buf b;
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"api\",\"sub\":\"%s\",\"exp\":%d}",
             srv.issuer, sub, NOW + 600);
    wdn_buf_init(&b, 16384);
    assert_int_equal(wdn_jws_sign(k, wdn_str_from_cstr(claims), NULL, &b), 0);
    return wdn_buf_cstr(&b);
}

static enum wdn_jwt_reason check(struct wdn_oidc_validator *v, const char *tok)
{
    struct wdn_jwt *j = NULL;
    enum wdn_jwt_reason r = wdn_oidc_verify(v, wdn_str_from_cstr(tok), NOW, &j);
    wdn_jwt_release(j);
    return r;
}

#define assert_reason(got, want)                                                                   \
    do {                                                                                           \
        enum wdn_jwt_reason g_ = (got), w_ = (want);                                               \
        if (g_ != w_)                                                                              \
            fail_msg("reason %s, expected %s", wdn_jwt_reason_name(g_), wdn_jwt_reason_name(w_));  \
    } while (0)

static void config(struct wdn_oidc_config *c)
{
    wdn_oidc_config_init(c);
    c->issuer = srv.issuer;
    c->audiences = auds;
    c->n_audiences = 1;
    c->ca_file = srv.ca;
    c->retry_ms = 200;
    c->refetch_debounce_ms = 300;
    c->fetch_timeout_ms = 5000;
}

static int setup(void **state)
{
    const struct wdn_jose_key *both[2];
    char *s;

    ka = wdn_jose_key_generate(WDN_JOSE_RS256, 2048, "key-a", NULL);
    kb = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "key-b", NULL);
    both[0] = ka;
    both[1] = kb;
    s = wdn_jose_jwks_export(both, 1);
    wdn_fmt(jwks_a, sizeof(jwks_a), "%s", s);
    free(s);
    s = wdn_jose_jwks_export(both + 1, 1);
    wdn_fmt(jwks_b, sizeof(jwks_b), "%s", s);
    free(s);
    s = wdn_jose_jwks_export(both, 2);
    wdn_fmt(jwks_ab, sizeof(jwks_ab), "%s", s);
    free(s);
    return server_start(&srv);
}

static int teardown(void **state)
{
    server_stop(&srv);
    wdn_jose_key_free(ka);
    wdn_jose_key_free(kb);
    wdn_jose_thread_cleanup();
    return 0;
}

/* Each test starts from a healthy server serving key A. */
static int reset(void **state)
{
    set_jwks(jwks_a);
    ctl("/ctl/fail", "0", NULL, 0);
    ctl("/ctl/cache-control", "", NULL, 0);
    ctl("/ctl/issuer", "", NULL, 0);
    ctl("/ctl/oidc", "1", NULL, 0);
    return 0;
}

static void test_config_errors(void **state)
{
    struct wdn_oidc_config c;
    struct wdn_diag d;

    config(&c);
    c.issuer = NULL;
    assert_null(wdn_oidc_validator_new(&c, &d));
    assert_int_equal(d.code, WDN_ECONFIG);
    config(&c);
    c.n_audiences = 0;
    assert_null(wdn_oidc_validator_new(&c, &d));
    config(&c);
    c.jwks_url = "http://127.0.0.1/jwks";
    assert_null(wdn_oidc_validator_new(&c, &d));
    config(&c);
    c.issuer = "http://127.0.0.1/"; /* discovery needs https */
    assert_null(wdn_oidc_validator_new(&c, &d));
    config(&c);
    c.jwks_json = "{\"keys\":[]}";
    assert_null(wdn_oidc_validator_new(&c, &d));
}

static void test_static_jwks_and_cache(void **state)
{
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    struct wdn_oidc_stats st;
    struct wdn_jwt *j = NULL;
    char *t = token(ka, "alice");

    config(&c);
    c.jwks_json = jwks_a;
    v = wdn_oidc_validator_new(&c, NULL);
    assert_non_null(v);
    assert_int_equal(wdn_oidc_status(v), WDN_OIDC_FRESH);
    assert_reason(wdn_oidc_verify(v, wdn_str_from_cstr(t), NOW, &j), WDN_JWT_OK);
    assert_string_equal(wdn_jwt_sub(j), "alice");
    wdn_jwt_release(j);
    assert_reason(wdn_oidc_verify(v, wdn_str_from_cstr(t), NOW, &j), WDN_JWT_OK);
    assert_string_equal(wdn_jwt_sub(j), "alice"); /* claims come back from the cache too */
    wdn_jwt_release(j);
    wdn_oidc_stats(v, &st);
    assert_int_equal(st.cache_hits, 1);
    assert_int_equal(st.cache_misses, 1);
    assert_int_equal(st.cache_entries, 1);
    /* The cache honours expiry (exp + skew) at hit time. */
    assert_reason(wdn_oidc_verify(v, wdn_str_from_cstr(t), NOW + 600 + 60, NULL), WDN_JWT_EXPIRED);
    /* An exp at the end of time is cached without overflowing. */
    {
        char claims[256];
        struct wdn_buf b;
        snprintf(claims, sizeof(claims),
                 "{\"iss\":\"%s\",\"aud\":\"api\",\"exp\":9223372036854775807}", srv.issuer);
        wdn_buf_init(&b, 16384);
        assert_int_equal(wdn_jws_sign(ka, wdn_str_from_cstr(claims), NULL, &b), 0);
        assert_reason(check(v, wdn_buf_cstr(&b)), WDN_JWT_OK);
        assert_reason(check(v, wdn_buf_cstr(&b)), WDN_JWT_OK);
        wdn_buf_reset(&b);
    }
    wdn_oidc_validator_free(v);
    /* Required scopes and the algorithm allow-list reach the rules. */
    {
        static const char *const need[] = {"mcp:tools"};
        config(&c);
        c.jwks_json = jwks_ab;
        c.required_scopes = need;
        c.n_required_scopes = 1;
        c.allowed_algs = WDN_JOSE_ALG_BIT(WDN_JOSE_ES256);
        v = wdn_oidc_validator_new(&c, NULL);
        assert_non_null(v);
        assert_reason(check(v, t), WDN_JWT_ALG_NOT_ALLOWED);
        {
            char *tb = token(kb, "bob");
            assert_reason(check(v, tb), WDN_JWT_INSUFFICIENT_SCOPE);
            free(tb);
        }
    }
    /* Rejections are never cached. */
    assert_reason(check(v, "x.y.z"), WDN_JWT_MALFORMED);
    assert_reason(check(v, "x.y.z"), WDN_JWT_MALFORMED);
    wdn_oidc_validator_free(v);
    free(t);
}

static void test_discovery_rotation_within_debounce(void **state)
{
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    char *ta = token(ka, "a"), *tb = token(kb, "b"), *ta2 = token(ka, "a2");
    uint64_t t0;

    config(&c);
    v = wdn_oidc_validator_new(&c, NULL);
    assert_non_null(v);
    assert_true(wdn_oidc_wait_fetches(v, 1, 15000));
    assert_int_equal(wdn_oidc_status(v), WDN_OIDC_FRESH);
    assert_reason(check(v, ta), WDN_JWT_OK);
    assert_true(count("oidc") >= 1);

    /* The issuer rotates to key B: the first B token is refused and triggers a refetch. */
    set_jwks(jwks_b);
    t0 = wdn_clock_mono_ms();
    assert_reason(check(v, tb), WDN_JWT_UNKNOWN_KID);
    assert_true(wdn_oidc_wait_fetches(v, 2, 5000));
    assert_reason(check(v, tb), WDN_JWT_OK);
    assert_true(wdn_clock_mono_ms() - t0 < 5000);
    /* Key A is gone: its cached token is dropped with it, and new A tokens are refused. */
    assert_reason(check(v, ta), WDN_JWT_UNKNOWN_KID);
    assert_reason(check(v, ta2), WDN_JWT_UNKNOWN_KID);
    wdn_oidc_validator_free(v);
    free(ta);
    free(tb);
    free(ta2);
}

static void test_random_kid_flood(void **state)
{
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    struct wdn_oidc_stats st;
    int base;

    config(&c);
    c.refetch_debounce_ms = 1500;
    v = wdn_oidc_validator_new(&c, NULL);
    assert_non_null(v);
    assert_true(wdn_oidc_wait_fetches(v, 1, 15000));
    base = count("jwks");
    for (int round = 0; round < 2; round++) {
        uint64_t t0 = wdn_clock_mono_ms();
        int n = 0;
        /* Random kids for well under one window. */
        while (wdn_clock_mono_ms() - t0 < 700) {
            char hdr[64], *tok;
            struct wdn_buf b;
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"rnd-%d-%d\"}", round, n++);
            wdn_buf_init(&b, 16384);
            assert_int_equal(
                wdn_jws_sign_raw(ka, wdn_str_from_cstr(hdr), WDN_STR("{\"exp\":1800000000}"), &b),
                0);
            tok = wdn_buf_cstr(&b);
            assert_reason(check(v, tok), WDN_JWT_UNKNOWN_KID);
            wdn_buf_reset(&b);
        }
        assert_true(n > 10);
        assert_true(wdn_oidc_wait_fetches(v, (uint64_t)round + 2, 5000));
        usleep(300000);
        /* One fetch for the whole flood. */
        assert_int_equal(count("jwks"), base + round + 1);
        usleep(1600000); /* the next window */
    }
    wdn_oidc_stats(v, &st);
    assert_int_equal(st.refetch_unknown_kid, 2);
    wdn_oidc_validator_free(v);
}

static void test_issuer_down_at_start(void **state)
{
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    char err[512], *t = token(ka, "a");

    ctl("/ctl/fail", "1", NULL, 0);
    config(&c);
    c.retry_ms = 300;
    v = wdn_oidc_validator_new(&c, NULL);
    assert_non_null(v);
    assert_true(wdn_oidc_wait_fetches(v, 1, 15000));
    assert_int_equal(wdn_oidc_status(v), WDN_OIDC_NEVER_LOADED);
    assert_string_equal(wdn_oidc_status_name(wdn_oidc_status(v)), "never_loaded");
    assert_reason(check(v, t), WDN_JWT_KEY_SET_NOT_LOADED);
    assert_reason(check(v, "garbage"), WDN_JWT_MALFORMED);
    assert_non_null(strstr(wdn_oidc_last_error(v, err, sizeof(err)), "503"));
    /* The issuer comes back: the retry loads the keys without any request waiting on it. */
    ctl("/ctl/fail", "0", NULL, 0);
    for (int i = 0; i < 100 && wdn_oidc_status(v) != WDN_OIDC_FRESH; i++)
        usleep(100000);
    assert_int_equal(wdn_oidc_status(v), WDN_OIDC_FRESH);
    assert_reason(check(v, t), WDN_JWT_OK);
    wdn_oidc_validator_free(v);
    free(t);
}

static void test_issuer_down_later_stale_keys_work(void **state)
{
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    struct wdn_oidc_stats st;
    char *t = token(ka, "a");

    config(&c);
    c.cache_bytes = 0; /* every verify is a real one */
    v = wdn_oidc_validator_new(&c, NULL);
    assert_non_null(v);
    assert_true(wdn_oidc_wait_fetches(v, 1, 15000));
    ctl("/ctl/fail", "1", NULL, 0);
    wdn_oidc_refresh_now(v);
    assert_true(wdn_oidc_wait_fetches(v, 2, 5000));
    assert_int_equal(wdn_oidc_status(v), WDN_OIDC_STALE);
    assert_reason(check(v, t), WDN_JWT_OK);
    assert_reason(check(v, t), WDN_JWT_OK);
    wdn_oidc_stats(v, &st);
    assert_int_equal(st.keys, 1);
    assert_true(st.fetch_failed >= 1);
    assert_int_equal(st.cache_hits, 0);
    wdn_oidc_validator_free(v);
    free(t);
}

static void test_discovery_issuer_mismatch(void **state)
{
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    char err[512];

    ctl("/ctl/issuer", "https://evil.example/", NULL, 0);
    config(&c);
    v = wdn_oidc_validator_new(&c, NULL);
    assert_non_null(v);
    assert_true(wdn_oidc_wait_fetches(v, 1, 15000));
    assert_int_equal(wdn_oidc_status(v), WDN_OIDC_NEVER_LOADED);
    assert_non_null(strstr(wdn_oidc_last_error(v, err, sizeof(err)), "issuer"));
    wdn_oidc_validator_free(v);
}

static void test_rfc8414_fallback(void **state)
{
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    char *t = token(ka, "a");
    int before = count("oauth");

    ctl("/ctl/oidc", "0", NULL, 0);
    config(&c);
    v = wdn_oidc_validator_new(&c, NULL);
    assert_non_null(v);
    assert_true(wdn_oidc_wait_fetches(v, 1, 15000));
    assert_int_equal(wdn_oidc_status(v), WDN_OIDC_FRESH);
    assert_int_equal(count("oauth"), before + 1);
    assert_reason(check(v, t), WDN_JWT_OK);
    wdn_oidc_validator_free(v);
    free(t);
}

static void test_jwks_url_and_cache_control(void **state)
{
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    char url[128];
    int before;

    snprintf(url, sizeof(url), "%s/jwks", srv.base);
    /* max-age=1 with a 1 s minimum: refreshed about every second. */
    ctl("/ctl/cache-control", "public, max-age=1", NULL, 0);
    config(&c);
    c.jwks_url = url;
    c.refresh_min_s = 1;
    before = count("oidc");
    v = wdn_oidc_validator_new(&c, NULL);
    assert_non_null(v);
    assert_true(wdn_oidc_wait_fetches(v, 3, 6000));
    assert_int_equal(count("oidc"), before); /* no discovery with a jwks URL */
    wdn_oidc_validator_free(v);
    /* max-age=3600: one fetch, then quiet. */
    ctl("/ctl/cache-control", "max-age=3600", NULL, 0);
    v = wdn_oidc_validator_new(&c, NULL);
    assert_true(wdn_oidc_wait_fetches(v, 1, 6000));
    assert_false(wdn_oidc_wait_fetches(v, 2, 2500));
    wdn_oidc_validator_free(v);
}

static void test_bad_jwks_keeps_last_good(void **state)
{
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    char *t = token(ka, "a");

    config(&c);
    c.cache_bytes = 0;
    v = wdn_oidc_validator_new(&c, NULL);
    assert_true(wdn_oidc_wait_fetches(v, 1, 15000));
    set_jwks("{\"keys\":[]}");
    wdn_oidc_refresh_now(v);
    assert_true(wdn_oidc_wait_fetches(v, 2, 5000));
    assert_int_equal(wdn_oidc_status(v), WDN_OIDC_STALE);
    assert_reason(check(v, t), WDN_JWT_OK);
    set_jwks("not json");
    wdn_oidc_refresh_now(v);
    assert_true(wdn_oidc_wait_fetches(v, 3, 5000));
    assert_reason(check(v, t), WDN_JWT_OK);
    set_jwks(jwks_ab);
    wdn_oidc_refresh_now(v);
    assert_true(wdn_oidc_wait_fetches(v, 4, 5000));
    assert_int_equal(wdn_oidc_status(v), WDN_OIDC_FRESH);
    wdn_oidc_validator_free(v);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_errors, reset),
        cmocka_unit_test_setup(test_static_jwks_and_cache, reset),
        cmocka_unit_test_setup(test_discovery_rotation_within_debounce, reset),
        cmocka_unit_test_setup(test_random_kid_flood, reset),
        cmocka_unit_test_setup(test_issuer_down_at_start, reset),
        cmocka_unit_test_setup(test_issuer_down_later_stale_keys_work, reset),
        cmocka_unit_test_setup(test_discovery_issuer_mismatch, reset),
        cmocka_unit_test_setup(test_rfc8414_fallback, reset),
        cmocka_unit_test_setup(test_jwks_url_and_cache_control, reset),
        cmocka_unit_test_setup(test_bad_jwks_keeps_last_good, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
