/* Tests for the verified-token cache: hit, miss, expiry, LRU bound, the memory budget, key
 * removal per group, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "base/buf.h"
#include "jose/crypto.h"
#include "jose/jwk.h"
#include "jose/jwt.h"
#include "jose/sign.h"
#include "oidc/token_cache.h"

#define NOW 1700000000

static struct wdn_jose_key *k1, *k2;
static struct wdn_jwks *both, *only2;
static struct wdn_jwt *j1, *j2; /* verified with k1 and k2 */

static struct wdn_jwt *make_claims(const struct wdn_jose_key *k, struct wdn_jwks *ks,
                                   const char *claims)
{
    static const char *const aud[] = {"api"};
    struct wdn_jwt_rules r;
    struct wdn_buf b;
    struct wdn_jwt *j = NULL;

    wdn_jwt_rules_init(&r);
    r.issuer = "iss";
    r.audiences = aud;
    r.n_audiences = 1;
    wdn_buf_init(&b, 65536);
    if (wdn_jws_sign(k, wdn_str_from_cstr(claims), NULL, &b) != 0)
        return NULL;
    if (wdn_jwt_verify(ks, &r, wdn_buf_str(&b), NOW, &j) != WDN_JWT_OK)
        j = NULL;
    wdn_buf_reset(&b);
    return j;
}

static struct wdn_jwt *make(const struct wdn_jose_key *k, struct wdn_jwks *ks)
{
    return make_claims(k, ks, "{\"iss\":\"iss\",\"aud\":\"api\",\"exp\":1700000600}");
}

/* A token whose claims carry a string of n bytes. */
static struct wdn_jwt *make_big(size_t n)
{
    char *claims = malloc(n + 128), *p;
    struct wdn_jwt *j;

    snprintf(claims, 128, "{\"iss\":\"iss\",\"aud\":\"api\",\"exp\":1700000600,\"x\":\"");
    p = claims + strlen(claims);
    memset(p, 'a', n);
    strcpy(p + n, "\"}");
    j = make_claims(k1, both, claims);
    free(claims);
    return j;
}

static int setup(void **state)
{
    const struct wdn_jose_key *ks[2];
    char *doc;

    k1 = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "k1", NULL);
    k2 = wdn_jose_key_generate(WDN_JOSE_EDDSA, 0, "k2", NULL);
    ks[0] = k1;
    ks[1] = k2;
    doc = wdn_jose_jwks_export(ks, 2);
    both = wdn_jwks_parse(wdn_str_from_cstr(doc), NULL);
    free(doc);
    doc = wdn_jose_jwks_export(ks + 1, 1);
    only2 = wdn_jwks_parse(wdn_str_from_cstr(doc), NULL);
    free(doc);
    j1 = make(k1, both);
    j2 = make(k2, both);
    return (j1 && j2 && only2) ? 0 : -1;
}

static int teardown(void **state)
{
    wdn_jwt_release(j1);
    wdn_jwt_release(j2);
    wdn_jwks_release(both);
    wdn_jwks_release(only2);
    wdn_jose_key_free(k1);
    wdn_jose_key_free(k2);
    wdn_jose_thread_cleanup();
    return 0;
}

static void key_of(unsigned n, unsigned char out[32])
{
    char s[32];
    snprintf(s, sizeof(s), "token-%u", n);
    wdn_jose_sha256(s, strlen(s), out);
}

static void test_hit_miss(void **state)
{
    struct wdn_token_cache *c = wdn_token_cache_new(1u << 20);
    struct wdn_token_cache_stats st;
    unsigned char a[32], b[32];
    struct wdn_jwt *got;
    unsigned group = 0;

    key_of(1, a);
    key_of(2, b);
    assert_null(wdn_token_cache_get(c, a, NOW, NULL));
    wdn_token_cache_put(c, a, j1, NOW + 600, 3);
    got = wdn_token_cache_get(c, a, NOW, &group);
    assert_ptr_equal(got, j1);
    assert_int_equal(group, 3);
    wdn_jwt_release(got);
    assert_null(wdn_token_cache_get(c, b, NOW, NULL));
    wdn_token_cache_stats(c, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.entries, 1);
    /* The same key again (two requests verified one token at once) keeps one entry, the
     * first: one token text has one set of claims. */
    wdn_token_cache_put(c, a, j2, NOW + 600, 3);
    got = wdn_token_cache_get(c, a, NOW, NULL);
    assert_ptr_equal(got, j1);
    wdn_jwt_release(got);
    wdn_token_cache_stats(c, &st);
    assert_int_equal(st.entries, 1);
    wdn_token_cache_free(c);
}

static void test_expiry(void **state)
{
    struct wdn_token_cache *c = wdn_token_cache_new(1u << 20);
    struct wdn_token_cache_stats st;
    unsigned char a[32];
    struct wdn_jwt *got;

    key_of(7, a);
    wdn_token_cache_put(c, a, j1, NOW + 10, 0);
    got = wdn_token_cache_get(c, a, NOW + 9, NULL);
    assert_non_null(got);
    wdn_jwt_release(got);
    assert_null(wdn_token_cache_get(c, a, NOW + 10, NULL));
    wdn_token_cache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.evicted_exp, 1);
    assert_int_equal(st.evicted_size, 0);
    /* Gone for good, not just hidden. */
    assert_null(wdn_token_cache_get(c, a, NOW, NULL));
    wdn_token_cache_free(c);
}

static void test_bounded_lru(void **state)
{
    struct wdn_token_cache *c = wdn_token_cache_new(0); /* the smallest: 64 KiB */
    struct wdn_token_cache_stats st;
    unsigned char k[32], first[32];
    struct wdn_jwt *got;

    key_of(0, first);
    wdn_token_cache_put(c, first, j1, NOW + 600, 0);
    for (unsigned i = 1; i < 1000; i++) {
        key_of(i, k);
        wdn_token_cache_put(c, k, j1, NOW + 600, 0);
        /* Keep the first one recently used: it must survive. */
        got = wdn_token_cache_get(c, first, NOW, NULL);
        assert_non_null(got);
        wdn_jwt_release(got);
        wdn_token_cache_stats(c, &st);
        assert_true(st.bytes <= st.max_bytes);
    }
    wdn_token_cache_stats(c, &st);
    assert_int_equal(st.max_bytes, 64 << 10);
    assert_true(st.entries > 16);
    assert_true(st.entries <= (64 << 10) / wdn_jwt_mem_cost(j1));
    assert_int_equal(st.evicted_size, 1000 - st.entries);
    assert_int_equal(st.evictions, st.evicted_size);
    wdn_token_cache_free(c);
}

/* The budget holds for tokens of any size: big claims take the room of many small ones, and a
 * token larger than a shard's share is not cached at all. */
static void test_memory_budget(void **state)
{
    struct wdn_token_cache *c = wdn_token_cache_new(1u << 20);
    struct wdn_token_cache *small = wdn_token_cache_new(64u << 10);
    struct wdn_jwt *big = make_big(8000);
    struct wdn_token_cache_stats st;
    unsigned char k[32];

    assert_non_null(big);
    /* The estimate follows the claims' size. */
    assert_true(wdn_jwt_mem_cost(big) > 8000);
    assert_true(wdn_jwt_mem_cost(big) < 8000 + 2048);
    assert_true(wdn_jwt_mem_cost(j1) < 2048);
    for (unsigned i = 0; i < 2000; i++) {
        key_of(i, k);
        wdn_token_cache_put(c, k, i % 2 ? big : j1, NOW + 600, 0);
        wdn_token_cache_stats(c, &st);
        assert_true(st.bytes <= st.max_bytes);
    }
    wdn_token_cache_stats(c, &st);
    assert_true(st.evicted_size > 0);
    assert_true(st.bytes > st.max_bytes / 2); /* and the room is used */
    /* 64 KiB leaves each shard about 3 KiB: the 8 KB token does not fit. */
    key_of(5000, k);
    wdn_token_cache_put(small, k, big, NOW + 600, 0);
    assert_null(wdn_token_cache_get(small, k, NOW, NULL));
    wdn_token_cache_stats(small, &st);
    assert_int_equal(st.too_large, 1);
    assert_int_equal(st.entries, 0);
    wdn_jwt_release(big);
    wdn_token_cache_free(c);
    wdn_token_cache_free(small);
}

static void test_key_removal(void **state)
{
    struct wdn_token_cache *c = wdn_token_cache_new(1u << 20);
    struct wdn_token_cache_stats st;
    unsigned char a[32], b[32], other[32];
    struct wdn_jwt *got;

    key_of(1, a);
    key_of(2, b);
    key_of(3, other);
    wdn_token_cache_put(c, a, j1, NOW + 600, 0);
    wdn_token_cache_put(c, b, j2, NOW + 600, 0);
    /* Another issuer's entry, verified by a key its own set still holds. */
    wdn_token_cache_put(c, other, j1, NOW + 600, 1);
    assert_int_equal(wdn_token_cache_retain_keys(c, both, 0), 0);
    assert_int_equal(wdn_token_cache_retain_keys(c, only2, 0), 1);
    assert_null(wdn_token_cache_get(c, a, NOW, NULL));
    got = wdn_token_cache_get(c, b, NOW, NULL);
    assert_ptr_equal(got, j2);
    wdn_jwt_release(got);
    got = wdn_token_cache_get(c, other, NOW, NULL);
    assert_ptr_equal(got, j1);
    wdn_jwt_release(got);
    wdn_token_cache_stats(c, &st);
    assert_int_equal(st.evicted_key, 1);
    wdn_token_cache_free(c);
}

#define THREADS 4
#define OPS 20000

struct worker {
    struct wdn_token_cache *c;
    unsigned seed;
    unsigned hits;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    unsigned char k[32];

    for (unsigned i = 0; i < OPS; i++) {
        unsigned n = (w->seed * 7919u + i * 31u) % 200u;
        struct wdn_jwt *got;
        key_of(n, k);
        got = wdn_token_cache_get(w->c, k, NOW, NULL);
        if (got != NULL) {
            /* Each key always maps to the same claims, whoever stored it. */
            if (got != (n % 2 ? j1 : j2))
                abort();
            w->hits++;
            wdn_jwt_release(got);
        } else {
            wdn_token_cache_put(w->c, k, n % 2 ? j1 : j2, NOW + 600, 0);
        }
        if (i % 5000 == 0)
            wdn_token_cache_retain_keys(w->c, both, 0);
    }
    wdn_jose_thread_cleanup();
    return NULL;
}

static void test_threads(void **state)
{
    struct wdn_token_cache *c = wdn_token_cache_new(1u << 20);
    struct wdn_token_cache_stats st;
    pthread_t t[THREADS];
    struct worker w[THREADS];
    unsigned hits = 0;

    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){c, (unsigned)i + 1, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        hits += w[i].hits;
    }
    wdn_token_cache_stats(c, &st);
    assert_int_equal(st.hits + st.misses, THREADS * OPS);
    assert_int_equal(st.hits, hits);
    assert_true(st.hits > OPS); /* 200 small entries in 1 MiB: after warm-up every lookup hits */
    assert_true(st.entries <= 200);
    wdn_token_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_miss),    cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_bounded_lru), cmocka_unit_test(test_memory_budget),
        cmocka_unit_test(test_key_removal), cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
