/* The issuer's key rotation as the clock sees it (src/authserver/keys.c): publish first and sign
 * later, the old key signing until the new one takes over and published for the overlap after,
 * a waiting key replaced by a newer rotation, the oldest keys dropped at the limit, a clock set
 * back before every activation still signing with some key, a change of algorithm, and
 * keys.json replaced under a running issuer noticed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "authserver/as_int.h"
#include "authserver/issuer.h"
#include "base/error.h"
#include "base/limits.h"
#include "jose/sign.h"

#define NOW 1800000000

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/wdn-keys-edges-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct wdn__issuer_keyset *load(const char *d)
{
    struct wdn__issuer_keyset *ks = NULL;
    struct wdn_diag diag;
    if (wdn__issuer_keyset_load(d, &ks, &diag) != 0)
        fail_msg("load: %s", diag.msg);
    return ks;
}

static const char *kid_at(const struct wdn__issuer_keyset *ks, size_t i)
{
    return wdn_jose_key_kid(ks->keys[i]);
}

static size_t index_of(const struct wdn__issuer_keyset *ks, const char *kid)
{
    for (size_t i = 0; i < ks->n; i++)
        if (strcmp(kid_at(ks, i), kid) == 0)
            return i;
    fail_msg("kid %s not in the set", kid);
    return 0;
}

static bool key_file_exists(const char *d, const char *kid)
{
    char path[300];
    struct stat st;
    snprintf(path, sizeof(path), "%s/keys/%s.pem", d, kid);
    return stat(path, &st) == 0;
}

static void test_rotation_timeline(void **state)
{
    (void)state;
    char d[128], first[80], second[80], third[80];
    struct wdn_diag diag;
    bool created;

    snprintf(d, sizeof(d), "%s/timeline", dir);
    assert_int_equal(wdn_issuer_keys_ensure(d, WDN_JOSE_ES256, 100, NOW, &created, &diag), 0);
    assert_true(created);
    /* Again with the same algorithm: nothing to do. */
    assert_int_equal(wdn_issuer_keys_ensure(d, WDN_JOSE_ES256, 100, NOW, &created, &diag), 0);
    assert_false(created);
    struct wdn__issuer_keyset *ks = load(d);
    assert_int_equal(ks->n, 1);
    snprintf(first, sizeof(first), "%s", kid_at(ks, 0));
    wdn__issuer_keyset_free(ks);

    /* Rotate: the new key is published now, signs from NOW+900; the old one signs until then
     * and stays published until NOW+900+100. alg 0 keeps the current key's algorithm. */
    assert_int_equal(wdn_issuer_keys_rotate(d, WDN_JOSE_ALG_UNKNOWN, 900, 100, NOW, second,
                                            sizeof(second), &diag),
                     0);
    ks = load(d);
    assert_int_equal(ks->n, 2);
    size_t i1 = index_of(ks, first), i2 = index_of(ks, second);
    assert_int_equal(wdn_jose_key_alg(ks->keys[i2]), WDN_JOSE_ES256);
    assert_int_equal(ks->retires[i1], NOW + 1000);
    assert_int_equal(ks->activates[i2], NOW + 900);
    assert_int_equal(wdn__issuer_keyset_signing(ks, NOW), i1);
    assert_int_equal(wdn__issuer_keyset_signing(ks, NOW + 899), i1);
    assert_int_equal(wdn__issuer_keyset_signing(ks, NOW + 900), i2);
    assert_int_equal(wdn__issuer_keyset_signing(ks, NOW + 5000), i2);
    /* A clock set back before every activation: the key that activates first among those not
     * retiring signs, so some key always does. */
    assert_int_equal(wdn__issuer_keyset_signing(ks, NOW - 100000), i2);
    assert_false(wdn__issuer_keyset_stale(ks, d));

    /* Rotating again while the second still waits: the waiting key is dropped (it never signed)
     * with its file; the first keeps the retirement it had. */
    assert_int_equal(
        wdn_issuer_keys_rotate(d, WDN_JOSE_ES256, 600, 100, NOW + 10, third, sizeof(third), &diag),
        0);
    assert_true(wdn__issuer_keyset_stale(ks, d));
    wdn__issuer_keyset_free(ks);
    ks = load(d);
    assert_int_equal(ks->n, 2);
    assert_false(key_file_exists(d, second));
    assert_true(key_file_exists(d, third));
    assert_int_equal(ks->retires[index_of(ks, first)], NOW + 1000);
    assert_int_equal(wdn__issuer_keyset_signing(ks, NOW + 610), index_of(ks, third));
    wdn__issuer_keyset_free(ks);

    /* After the first key retired, a rotation drops it and its file. */
    assert_int_equal(wdn_issuer_keys_rotate(d, WDN_JOSE_ES256, 0, 100, NOW + 2000, NULL, 0, &diag),
                     0);
    ks = load(d);
    assert_int_equal(ks->n, 2);
    assert_false(key_file_exists(d, first));
    wdn__issuer_keyset_free(ks);

    /* A manifest that is gone is not "changed": the keys in memory keep serving. */
    ks = load(d);
    char path[200];
    snprintf(path, sizeof(path), "%s/keys.json", d);
    assert_int_equal(unlink(path), 0);
    assert_false(wdn__issuer_keyset_stale(ks, d));
    wdn__issuer_keyset_free(ks);
}

/* Rotations with a long overlap pile up keys; the oldest go at the limit. */
static void test_key_limit(void **state)
{
    (void)state;
    char d[128], kids[WDN_ISSUER_MAX_KEYS + 2][80];
    struct wdn_diag diag;

    snprintf(d, sizeof(d), "%s/limit", dir);
    assert_int_equal(wdn_issuer_keys_ensure(d, WDN_JOSE_ES256, 100, NOW, NULL, &diag), 0);
    for (int i = 0; i < WDN_ISSUER_MAX_KEYS + 2; i++)
        assert_int_equal(wdn_issuer_keys_rotate(d, WDN_JOSE_ES256, 0, 1000000, NOW + i, kids[i],
                                                sizeof(kids[i]), &diag),
                         0);
    struct wdn__issuer_keyset *ks = load(d);
    assert_int_equal(ks->n, WDN_ISSUER_MAX_KEYS);
    /* The newest signs; the two oldest rotations' keys (and the first key) are gone. */
    assert_string_equal(kid_at(ks, wdn__issuer_keyset_signing(ks, NOW + 100)),
                        kids[WDN_ISSUER_MAX_KEYS + 1]);
    assert_false(key_file_exists(d, kids[0]));
    assert_true(key_file_exists(d, kids[2]));
    wdn__issuer_keyset_free(ks);
}

/* ensure with another algorithm rotates to it at once; the old key stays published. */
static void test_algorithm_change(void **state)
{
    (void)state;
    char d[128], kid[80];
    struct wdn_diag diag;
    bool created;

    snprintf(d, sizeof(d), "%s/alg", dir);
    assert_int_equal(wdn_issuer_keys_ensure(d, WDN_JOSE_ES256, 3600, NOW, &created, &diag), 0);
    assert_int_equal(wdn_issuer_keys_ensure(d, WDN_JOSE_EDDSA, 3600, NOW + 5, &created, &diag), 0);
    assert_true(created);
    struct wdn__issuer_keyset *ks = load(d);
    assert_int_equal(ks->n, 2);
    size_t s = wdn__issuer_keyset_signing(ks, NOW + 5);
    assert_int_equal(wdn_jose_key_alg(ks->keys[s]), WDN_JOSE_EDDSA);
    wdn__issuer_keyset_free(ks);
    /* The issuer reports the kid it signs with. */
    const char *const res[] = {"https://mcp.test/mcp"};
    struct wdn_issuer_config cfg = {
        .issuer = "https://issuer.test/", .state_dir = d, .resources = res, .nresources = 1};
    struct wdn_issuer *iss = wdn_issuer_new(&cfg, &diag);
    assert_non_null(iss);
    assert_int_equal(wdn_issuer_signing_kid(iss, NOW + 5, kid, sizeof(kid)), 0);
    ks = load(d);
    assert_string_equal(kid, kid_at(ks, wdn__issuer_keyset_signing(ks, NOW + 5)));
    wdn__issuer_keyset_free(ks);
    wdn_issuer_free(iss);
    /* A folder without keys: rotate has nothing to read and says so. */
    snprintf(d, sizeof(d), "%s/none", dir);
    assert_int_equal(mkdir(d, 0700), 0);
    struct wdn__issuer_keyset *none = NULL;
    assert_int_equal(wdn__issuer_keyset_load(d, &none, &diag), WDN_ENOTFOUND);
    assert_non_null(strstr(diag.msg, "holds no signing key"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotation_timeline),
        cmocka_unit_test(test_key_limit),
        cmocka_unit_test(test_algorithm_change),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
