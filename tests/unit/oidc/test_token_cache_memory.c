/* The verified-token cache is bounded by memory (issue 14, finding 8): a validator with the
 * default configuration verifies many distinct large tokens, and the heap its cache keeps
 * (counted at the source: the allocator's own count of live bytes) stays within the
 * documented default of 8 MiB. With a count bound (10,000 entries before) these tokens held
 * about 15 MB. Also checks the cache's own estimate (wdn_jwt_mem_cost) against what a
 * verification really leaves allocated (since issue 20: one block per token, no JSON tree). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <malloc.h>

#include "base/buf.h"
#include "jose/crypto.h"
#include "jose/sign.h"
#include "oidc/oidc.h"

#if defined(__SANITIZE_ADDRESS__)
/* ASan's count of live bytes (sanitizer/allocator_interface.h, not installed with gcc here). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#define NOW 1700000000
#define DEFAULT_BUDGET (8u << 20) /* docs/sidecar.md: tokenCacheSize defaults to 8Mi */

/* Live heap bytes, as the allocator counts them (ASan's allocator under make check, glibc's
 * otherwise). The tests are single-threaded: the validator loads a static key set. */
static size_t live_bytes(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

static struct wdn_jose_key *key;
static char *jwks;

static int setup(void **state)
{
    const struct wdn_jose_key *ks[1];

    key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "k1", NULL);
    if (key == NULL)
        return -1;
    ks[0] = key;
    jwks = wdn_jose_jwks_export(ks, 1);
    return jwks ? 0 : -1;
}

static int teardown(void **state)
{
    free(jwks);
    wdn_jose_key_free(key);
    wdn_jose_thread_cleanup();
    return 0;
}

/* A token for subject n whose claims carry pad bytes of text. */
static void sign_token(unsigned n, size_t pad, struct wdn_buf *out)
{
    char *claims = malloc(pad + 256);
    int len;

    len = snprintf(claims, 256,
                   "{\"iss\":\"https://issuer.test/\",\"aud\":\"api\",\"sub\":\"user-%u\","
                   "\"exp\":%d,\"profile\":\"",
                   n, NOW + 3600);
    memset(claims + len, 'p', pad);
    strcpy(claims + len + pad, "\"}");
    out->len = 0;
    assert_int_equal(wdn_jws_sign(key, wdn_str_from_cstr(claims), NULL, out), 0);
    free(claims);
}

static struct wdn_oidc_validator *validator(void)
{
    static const char *const auds[] = {"api"};
    struct wdn_oidc_config c;
    struct wdn_diag d;
    struct wdn_oidc_validator *v;

    wdn_oidc_config_init(&c); /* the default cache, as the bearer middleware builds it */
    c.issuer = "https://issuer.test/";
    c.audiences = auds;
    c.n_audiences = 1;
    c.jwks_json = jwks;
    v = wdn_oidc_validator_new(&c, &d);
    assert_non_null(v);
    return v;
}

static void test_default_cache_stays_within_budget(void **state)
{
    struct wdn_oidc_validator *v = validator();
    struct wdn_oidc_stats st;
    struct wdn_buf tok;
    size_t base = live_bytes(), peak = 0;

    wdn_buf_init(&tok, 65536);
    /* 1,500 distinct users with 9 KB of claims each: about 15 MB if all were kept. */
    for (unsigned i = 0; i < 1500; i++) {
        size_t now_live;
        sign_token(i, 9000, &tok);
        assert_int_equal(wdn_oidc_verify(v, wdn_buf_str(&tok), NOW, NULL), WDN_JWT_OK);
        now_live = live_bytes() - base;
        if (now_live > peak)
            peak = now_live;
    }
    wdn_oidc_stats(v, &st);
    print_message("cache: %llu entries, %llu evictions, heap peak %zu bytes\n",
                  (unsigned long long)st.cache_entries, (unsigned long long)st.cache_evictions,
                  peak);
    assert_true(peak <= DEFAULT_BUDGET);
    assert_true(st.cache_evictions > 0);
    /* The most recent token is still cached: eviction took the least recently used. */
    assert_true(st.cache_entries > 0);
    {
        bool cached = false;
        /* tok still holds the last token (ES256 signatures differ on every signing). */
        assert_int_equal(wdn_oidc_verify_ex(v, wdn_buf_str(&tok), NOW, NULL, &cached), WDN_JWT_OK);
        assert_true(cached);
    }
    wdn_buf_reset(&tok);
    wdn_oidc_validator_free(v);
}

/* The cache charges each entry what wdn_jwt_mem_cost estimates; the estimate must follow what
 * a verified token really holds, for small and large claims, or the budget means nothing. */
static void test_estimate_matches_allocations(void **state)
{
    static const size_t pads[] = {0, 100, 2000, 9000};
    struct wdn_oidc_validator *v = validator();
    struct wdn_jwt *warm = NULL;
    struct wdn_buf tok;

    wdn_buf_init(&tok, 65536);
    /* One verification first: per-thread crypto contexts are made on first use. */
    sign_token(99999, 0, &tok);
    assert_int_equal(wdn_oidc_verify(v, wdn_buf_str(&tok), NOW, &warm), WDN_JWT_OK);
    for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
        struct wdn_jwt *j = NULL;
        size_t before, held, est;
        sign_token(100000 + (unsigned)i, pads[i], &tok);
        before = live_bytes();
        assert_int_equal(wdn_oidc_verify(v, wdn_buf_str(&tok), NOW, &j), WDN_JWT_OK);
        held = live_bytes() - before;
        est = wdn_jwt_mem_cost(j);
        print_message("pad %zu: verification holds %zu, estimate %zu\n", pads[i], held, est);
        /* The estimate rounds the block as glibc does; the claims are held once. */
        assert_true(est >= held);
        assert_true(est <= held + 64);
        assert_true(est < pads[i] + 512);
        wdn_jwt_release(j);
    }
    wdn_jwt_release(warm);
    wdn_buf_reset(&tok);
    wdn_oidc_validator_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_cache_stays_within_budget),
        cmocka_unit_test(test_estimate_matches_allocations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
