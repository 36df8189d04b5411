/* Allocation and OpenSSL failures in the token validator and the introspector, reached with the
 * fault hook (src/base/fault.h): every allocation their constructors make is failed in turn and
 * must come out as "out of memory" with nothing leaked (LeakSanitizer), and a failure while a
 * token is looked up must refuse it (503 unavailable or an internal error), never accept it. Also
 * the introspector's refusals that need no endpoint: a token too large or empty, an answer too
 * large or too deep, too many calls out (the busy counter), a stored answer. Built only with
 * WDN_FAULT (asan, coverage). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/error.h"
#include "base/fault.h"
#include "base/limits.h"
#include "jose/crypto.h"
#include "jose/sign.h"
#include "oidc/introspect.h"
#include "oidc/oidc.h"
#include "../support/faultjson.h"

#define NOW 1700000000
#define ISS "https://issuer.example/"

static struct wdn_jose_key *key;
static char *jwks;
static int silent_fd = -1;
static char silent_url[96];
static const char *const auds[] = {"api", "api2"};
static const char *const scopes[] = {"read"};

/* A TCP port that accepts connections (the kernel's backlog) and never answers: a call to it
 * stays out until the introspector is freed. */
static int setup(void **state)
{
    const struct wdn_jose_key *set[1];
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);

    key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "k1", NULL);
    if (key == NULL)
        return -1;
    set[0] = key;
    jwks = wdn_jose_jwks_export(set, 1);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    silent_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (jwks == NULL || silent_fd < 0 || bind(silent_fd, (struct sockaddr *)&a, len) != 0 ||
        listen(silent_fd, 64) != 0 || getsockname(silent_fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    snprintf(silent_url, sizeof(silent_url), "https://127.0.0.1:%u/introspect", ntohs(a.sin_port));
    tf_json_faults();
    return 0;
}

static int teardown(void **state)
{
    wdn_fault_disarm();
    close(silent_fd);
    free(jwks);
    wdn_jose_key_free(key);
    wdn_jose_thread_cleanup();
    return 0;
}

static void introspect_config(struct wdn_introspect_config *c)
{
    wdn_introspect_config_init(c);
    c->url = silent_url;
    c->client_id = "sidecar";
    c->client_secret = "s3cret";
    c->issuer = ISS;
    c->audiences = auds;
    c->n_audiences = 2;
    c->timeout_ms = 60000;
}

/* ---- the introspector ---- */

/* Every allocation of wdn_introspector_new failed in turn: "out of memory", nothing leaked. */
static void test_introspector_new_out_of_memory(void **state)
{
    struct wdn_introspect_config c;
    struct wdn_introspector *in;
    unsigned n;

    introspect_config(&c);
    c.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    c.required_scopes = scopes;
    c.n_required_scopes = 1;
    c.threads = 1;
    for (n = 1;; n++) {
        struct wdn_diag d;

        wdn_diag_clear(&d);
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        in = wdn_introspector_new(&c, &d);
        wdn_fault_disarm();
        if (!wdn_fault_fired())
            break;
        assert_null(in);
        assert_int_equal(d.code, WDN_ENOMEM);
        assert_string_equal(d.msg, "out of memory");
    }
    assert_non_null(in);
    wdn_introspector_free(in);
    /* the introspector, URL, issuer, CA file, Authorization header, two audiences (list and
     * strings), one scope (list and string), the threads. */
    assert_true(n - 1 >= 11);
}

static void no_wake(void *ud)
{
    (void)ud;
}

static enum wdn_introspect_state look(struct wdn_introspector *in, const char *tok, bool async,
                                      enum wdn_jwt_reason *why)
{
    struct wdn_jwt *claims = NULL;
    bool cached = false;
    enum wdn_introspect_state st = wdn_introspect(
        in, wdn_str_from_cstr(tok), NOW, async ? no_wake : NULL, NULL, &claims, why, &cached);

    if (st == WDN_INTROSPECT_ACTIVE)
        assert_non_null(claims);
    else
        assert_null(claims);
    wdn_jwt_release(claims);
    return st;
}

/* The token's hash (the cache and outcome key) cannot be computed: 503, no call made. */
static void test_introspect_hash_failure_unavailable(void **state)
{
    struct wdn_introspect_config c;
    struct wdn_introspect_stats st;
    struct wdn_introspector *in;
    enum wdn_jwt_reason why;

    introspect_config(&c);
    in = wdn_introspector_new(&c, NULL);
    assert_non_null(in);
    for (unsigned n = 1; n <= 5; n++) {
        wdn_jose_thread_cleanup();
        wdn_fault_arm(WDN_FAULT_CRYPTO, n);
        assert_int_equal(look(in, "opaque-token", true, &why), WDN_INTROSPECT_UNAVAILABLE);
        assert_true(wdn_fault_fired());
    }
    wdn_fault_disarm();
    wdn_introspect_stats(in, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.calls_ok + st.calls_failed, 0);
    /* And a stored answer cannot be keyed either. */
    wdn_fault_arm(WDN_FAULT_CRYPTO, 1);
    assert_int_equal(wdn_introspect_prime(in, wdn_str_from_cstr("t"),
                                          wdn_str_from_cstr("{\"active\":true}"), NOW),
                     WDN_JWT_INTERNAL);
    wdn_fault_disarm();
    wdn_introspector_free(in);
}

/* Empty and oversized tokens are refused before anything is hashed or asked. */
static void test_introspect_token_size_refused(void **state)
{
    struct wdn_introspect_config c;
    struct wdn_introspector *in;
    enum wdn_jwt_reason why;
    char *big = malloc(WDN_JWT_MAX_TOKEN_BYTES + 2);

    introspect_config(&c);
    in = wdn_introspector_new(&c, NULL);
    assert_non_null(in);
    assert_int_equal(look(in, "", true, &why), WDN_INTROSPECT_REFUSED);
    assert_int_equal(why, WDN_JWT_MALFORMED);
    memset(big, 'a', WDN_JWT_MAX_TOKEN_BYTES + 1);
    big[WDN_JWT_MAX_TOKEN_BYTES + 1] = '\0';
    assert_int_equal(look(in, big, true, &why), WDN_INTROSPECT_REFUSED);
    assert_int_equal(why, WDN_JWT_TOKEN_TOO_LARGE);
    free(big);
    wdn_introspector_free(in);
}

/* More calls than max_pending, a call that cannot be queued (no memory), or more waiters on one
 * call than it holds: 503 at once, counted as busy; nothing waits unbounded. */
static void test_introspect_busy(void **state)
{
    struct wdn_introspect_config c;
    struct wdn_introspect_stats st;
    struct wdn_introspector *in;
    enum wdn_jwt_reason why;

    introspect_config(&c);
    c.max_pending = 1;
    c.threads = 1;
    in = wdn_introspector_new(&c, NULL);
    assert_non_null(in);
    /* The job for a new token cannot be allocated. */
    unsigned char digest[32];
    assert_int_equal(wdn_jose_sha256("warm", 4, digest), 0); /* this thread's digest state */
    wdn_fault_arm(WDN_FAULT_ALLOC, 1);
    assert_int_equal(look(in, "token-a", true, &why), WDN_INTROSPECT_UNAVAILABLE);
    assert_true(wdn_fault_fired());
    wdn_fault_disarm();
    wdn_introspect_stats(in, &st);
    assert_int_equal(st.busy, 1);
    wdn_introspector_free(in);

    in = wdn_introspector_new(&c, NULL);
    assert_non_null(in);
    /* One call out to an endpoint that never answers. */
    assert_int_equal(look(in, "token-a", true, &why), WDN_INTROSPECT_PENDING);
    /* Requests for the same token share it, up to the waiters one call holds. */
    for (unsigned i = 1; i < WDN_INTROSPECT_MAX_WAITERS; i++)
        assert_int_equal(look(in, "token-a", true, &why), WDN_INTROSPECT_PENDING);
    assert_int_equal(look(in, "token-a", true, &why), WDN_INTROSPECT_UNAVAILABLE);
    /* A second token finds max_pending calls out. */
    assert_int_equal(look(in, "token-b", true, &why), WDN_INTROSPECT_UNAVAILABLE);
    wdn_introspect_stats(in, &st);
    assert_int_equal(st.pending, 1);
    assert_int_equal(st.busy, 1);
    wdn_introspector_free(in);
}

/* A stored active answer is served from the outcome table when the cache is off, without a call;
 * an inactive one is refused with its reason. */
static void test_introspect_stored_answers(void **state)
{
    struct wdn_introspect_config c;
    struct wdn_introspect_stats st;
    struct wdn_introspector *in;
    struct wdn_jwt *claims = NULL;
    enum wdn_jwt_reason why;
    bool cached = false;

    introspect_config(&c);
    c.cache_bytes = 0;
    in = wdn_introspector_new(&c, NULL);
    assert_non_null(in);
    assert_int_equal(wdn_introspect_prime(in, wdn_str_from_cstr("tok-on"),
                                          wdn_str_from_cstr("{\"active\":true,\"sub\":\"bob\","
                                                            "\"aud\":\"api2\"}"),
                                          NOW),
                     WDN_JWT_OK);
    assert_int_equal(wdn_introspect_prime(in, wdn_str_from_cstr("tok-off"),
                                          wdn_str_from_cstr("{\"active\":false}"), NOW),
                     WDN_JWT_INACTIVE);
    assert_int_equal(
        wdn_introspect(in, wdn_str_from_cstr("tok-on"), NOW, no_wake, NULL, &claims, &why, &cached),
        WDN_INTROSPECT_ACTIVE);
    assert_true(cached);
    assert_string_equal(wdn_jwt_sub(claims), "bob");
    wdn_jwt_release(claims);
    assert_int_equal(look(in, "tok-off", true, &why), WDN_INTROSPECT_REFUSED);
    assert_int_equal(why, WDN_JWT_INACTIVE);
    wdn_introspect_stats(in, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.active, 1);
    assert_int_equal(st.inactive, 1);
    wdn_introspector_free(in);
}

/* Answers too large or nested too deep are unusable (not a refusal of the token: the endpoint
 * misbehaved); an answer whose claims cannot be completed in memory is never accepted. */
static void test_introspect_parse_limits_and_memory(void **state)
{
    static const char *const one[] = {"api"};
    struct wdn_jwt_rules rules;
    struct wdn_jwt *j = NULL;
    size_t big = WDN_INTROSPECT_MAX_BYTES + 16, n;
    char *body = malloc(big + 1), deep[600];

    wdn_jwt_rules_init(&rules);
    rules.issuer = ISS;
    rules.audiences = one;
    rules.n_audiences = 1;
    n = (size_t)snprintf(body, big, "{\"active\":true,\"pad\":\"");
    memset(body + n, 'x', big - n - 2);
    memcpy(body + big - 2, "\"}", 3);
    assert_int_equal(wdn_introspect_parse((struct wdn_str){body, big}, &rules, NOW, 300, &j),
                     WDN_JWT_MALFORMED);
    assert_null(j);
    free(body);
    n = (size_t)snprintf(deep, sizeof(deep), "{\"active\":true,\"x\":");
    for (int i = 0; i < WDN_JSON_MAX_DEPTH + 2; i++)
        deep[n++] = '[';
    for (int i = 0; i < WDN_JSON_MAX_DEPTH + 2; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    assert_int_equal(wdn_introspect_parse((struct wdn_str){deep, n}, &rules, NOW, 300, &j),
                     WDN_JWT_MALFORMED);
    /* No "iss" and no "exp": both are added to the answer before the checks. */
    for (unsigned k = 1;; k++) {
        enum wdn_jwt_reason r;

        wdn_fault_arm(WDN_FAULT_ALLOC, k);
        r = wdn_introspect_parse(wdn_str_from_cstr("{\"active\":true,\"aud\":\"api\"}"), &rules,
                                 NOW, 300, &j);
        wdn_fault_disarm();
        if (!wdn_fault_fired()) {
            assert_int_equal(r, WDN_JWT_OK);
            assert_int_equal(wdn_jwt_exp(j), NOW + 300);
            wdn_jwt_release(j);
            break;
        }
        assert_null(j);
        assert_true(r == WDN_JWT_MALFORMED || r == WDN_JWT_INTERNAL);
    }
}

/* ---- the validator ---- */

static void validator_config(struct wdn_oidc_config *c, struct wdn_oidc_issuer *is)
{
    wdn_oidc_config_init(c);
    is[0] = (struct wdn_oidc_issuer){
        .issuer = ISS, .audiences = auds, .n_audiences = 2, .jwks_json = jwks};
    is[1] = (struct wdn_oidc_issuer){.issuer = "https://other.example/",
                                     .audiences = auds,
                                     .n_audiences = 1,
                                     .jwks_url = "https://127.0.0.1:1/jwks"};
    is[2] = (struct wdn_oidc_issuer){.issuer = "https://third.example/",
                                     .audiences = auds,
                                     .n_audiences = 1,
                                     .discovery_issuer = "https://third.example"};
    c->issuers = is;
    c->n_issuers = 3;
    c->required_scopes = scopes;
    c->n_required_scopes = 1;
}

/* Every allocation of wdn_oidc_validator_new (issuers, audiences, scopes, key sources, the
 * static key set) failed in turn: no validator, "out of memory" (or the static JWKS refused:
 * jansson could not parse it, or its one key could not be imported), nothing leaked, no thread
 * left running. */
static void test_validator_new_out_of_memory(void **state)
{
    struct wdn_oidc_issuer is[3];
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    unsigned n;

    validator_config(&c, is);
    for (n = 1;; n++) {
        struct wdn_diag d;

        wdn_diag_clear(&d);
        wdn_fault_arm(WDN_FAULT_ALLOC, n);
        v = wdn_oidc_validator_new(&c, &d);
        wdn_fault_disarm();
        if (!wdn_fault_fired())
            break;
        assert_null(v);
        if (d.code != WDN_ENOMEM && d.code != WDN_EPARSE && d.code != WDN_ECONFIG)
            fail_msg("allocation %u: code %d (%s)", n, d.code, d.msg);
    }
    assert_non_null(v);
    wdn_oidc_validator_free(v);
    assert_true(n - 1 >= 15);
}

/* The token's hash (the verified-token cache key) cannot be computed: an internal error, never
 * a verified token. */
static void test_validator_hash_failure_refused(void **state)
{
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    struct wdn_buf b;
    char *tok;

    wdn_oidc_config_init(&c);
    c.issuer = ISS;
    c.audiences = auds;
    c.n_audiences = 1;
    c.jwks_json = jwks;
    v = wdn_oidc_validator_new(&c, NULL);
    assert_non_null(v);
    wdn_buf_init(&b, WDN_JWT_MAX_TOKEN_BYTES);
    assert_int_equal(wdn_jws_sign(key,
                                  wdn_str_from_cstr("{\"iss\":\"" ISS "\",\"aud\":\"api\","
                                                    "\"sub\":\"alice\",\"exp\":1700000600}"),
                                  NULL, &b),
                     0);
    tok = strndup(b.data, b.len);
    wdn_buf_reset(&b);
    for (unsigned n = 1;; n++) {
        enum wdn_jwt_reason r;

        wdn_jose_thread_cleanup();
        wdn_fault_arm(WDN_FAULT_CRYPTO, n);
        r = wdn_oidc_verify(v, wdn_str_from_cstr(tok), NOW, NULL);
        wdn_fault_disarm();
        if (!wdn_fault_fired()) {
            assert_int_equal(r, WDN_JWT_OK);
            break;
        }
        assert_int_equal(r, WDN_JWT_INTERNAL);
    }
    free(tok);
    wdn_oidc_validator_free(v);
}

/* Configuration refusals the other tests do not reach. */
static void test_validator_config_refusals(void **state)
{
    struct wdn_oidc_issuer is[WDN_OIDC_MAX_ISSUERS + 1];
    static const char *const empty[] = {""};
    char names[WDN_OIDC_MAX_ISSUERS + 1][48];
    struct wdn_oidc_config c;
    struct wdn_diag d;

    wdn_oidc_config_init(&c);
    c.issuer = ISS;
    c.audiences = auds;
    c.n_audiences = 1;
    c.jwks_json = jwks;
    c.clock_skew_s = 3601;
    assert_null(wdn_oidc_validator_new(&c, &d));
    assert_string_equal(d.msg, "clock skew must be 0 to 3600 seconds");
    c.clock_skew_s = -1;
    assert_null(wdn_oidc_validator_new(&c, &d));
    assert_string_equal(d.msg, "clock skew must be 0 to 3600 seconds");
    c.clock_skew_s = 60;
    c.audiences = empty;
    assert_null(wdn_oidc_validator_new(&c, &d));
    assert_string_equal(d.msg, "audiences must not be empty");
    for (size_t i = 0; i <= WDN_OIDC_MAX_ISSUERS; i++) {
        snprintf(names[i], sizeof(names[i]), "https://issuer%zu.example/", i);
        is[i] = (struct wdn_oidc_issuer){
            .issuer = names[i], .audiences = auds, .n_audiences = 1, .jwks_json = jwks};
    }
    c.issuers = is;
    c.n_issuers = WDN_OIDC_MAX_ISSUERS + 1;
    wdn_diag_clear(&d);
    assert_null(wdn_oidc_validator_new(&c, &d));
    assert_int_equal(d.code, WDN_ECONFIG);
    char want[64];
    snprintf(want, sizeof(want), "at most %d issuers", WDN_OIDC_MAX_ISSUERS);
    assert_string_equal(d.msg, want);
    /* At the limit it is accepted, every issuer sharing the one static key set. */
    c.n_issuers = WDN_OIDC_MAX_ISSUERS;
    struct wdn_oidc_validator *v = wdn_oidc_validator_new(&c, &d);
    assert_non_null(v);
    struct wdn_oidc_stats st;
    wdn_oidc_stats(v, &st);
    assert_int_equal(st.sources, 1);
    assert_string_equal(wdn_oidc_status_name(wdn_oidc_status(v)), "fresh");
    wdn_oidc_validator_free(v);
}

/* Two key sources that cannot be reached: the wait for more fetches than will happen gives up
 * (false) after its timeout, the status stays never_loaded, and the last error names the
 * source's failure. */
static void test_validator_unreachable_sources(void **state)
{
    struct wdn_oidc_issuer is[2];
    struct wdn_oidc_config c;
    struct wdn_oidc_validator *v;
    struct wdn_oidc_stats st;
    char err[512];

    wdn_oidc_config_init(&c);
    is[0] = (struct wdn_oidc_issuer){
        .issuer = ISS, .audiences = auds, .n_audiences = 1, .jwks_url = "https://127.0.0.1:1/jwks"};
    is[1] = (struct wdn_oidc_issuer){.issuer = "https://other.example/",
                                     .audiences = auds,
                                     .n_audiences = 1,
                                     .jwks_url = "https://127.0.0.1:2/jwks"};
    c.issuers = is;
    c.n_issuers = 2;
    c.retry_ms = 60000;
    v = wdn_oidc_validator_new(&c, NULL);
    assert_non_null(v);
    assert_true(wdn_oidc_wait_fetches(v, 2, 60000));
    assert_false(wdn_oidc_wait_fetches(v, 1000, 100));
    assert_int_equal(wdn_oidc_status(v), WDN_OIDC_NEVER_LOADED);
    assert_string_equal(wdn_oidc_status_name(wdn_oidc_status(v)), "never_loaded");
    wdn_oidc_stats(v, &st);
    assert_int_equal(st.sources, 2);
    assert_int_equal(st.sources_not_loaded, 2);
    assert_true(st.fetch_failed >= 2);
    assert_int_equal(st.loaded_at, 0);
    wdn_oidc_last_error(v, err, sizeof(err));
    assert_non_null(strstr(err, "127.0.0.1"));
    wdn_oidc_validator_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_introspector_new_out_of_memory),
        cmocka_unit_test(test_introspect_hash_failure_unavailable),
        cmocka_unit_test(test_introspect_token_size_refused),
        cmocka_unit_test(test_introspect_busy),
        cmocka_unit_test(test_introspect_stored_answers),
        cmocka_unit_test(test_introspect_parse_limits_and_memory),
        cmocka_unit_test(test_validator_new_out_of_memory),
        cmocka_unit_test(test_validator_hash_failure_refused),
        cmocka_unit_test(test_validator_config_refusals),
        cmocka_unit_test(test_validator_unreachable_sources),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
