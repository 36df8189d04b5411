/* wdn_json_dumps under memory pressure: every allocation of jansson's dumper failed in turn
 * (src/base/fault.h, jansson's allocator routed through it). The answer is the exact text or
 * NULL, never a text that lost a key; plain json_dumps is shown to lose one, so the sweep can
 * tell the difference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../support/faultjson.h"
#include "base/fault.h"
#include "base/json_dump.h"

/* Claims with keys long enough that the dumper's buffer grows while it writes a key. */
static json_t *claims(void)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:[s,s], s:s}", "iss",
                     "https://issuer.example.com/realms/a-rather-long-realm-name", "sub",
                     "client-0123456789abcdef0123456789abcdef", "expiration_time_claim_name",
                     (json_int_t)1893456000, "a_long_key_name_for_the_scope_of_the_token",
                     "mcp:tools mcp:resources", "aud", "https://mcp.example.com/mcp",
                     "https://other.example.com/", "jti", "0123456789abcdef");
}

/* Dumps o with the nth allocation failing; *fired says whether the nth was reached. */
static char *dump_failing(char *(*dump)(const json_t *, size_t), const json_t *o, unsigned n,
                          bool *fired)
{
    char *s;

    wdn_fault_arm(WDN_FAULT_ALLOC, n);
    s = dump(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    wdn_fault_disarm();
    *fired = wdn_fault_fired();
    return s;
}

static char *plain(const json_t *o, size_t flags)
{
    return json_dumps(o, flags);
}

static void test_exact_or_null(void **state)
{
    json_t *o = claims();
    char *want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    unsigned n, exact = 0, refused = 0, plain_wrong = 0;
    bool fired;

    (void)state;
    assert_non_null(want);
    for (n = 1; n < 200; n++) {
        char *s = dump_failing(wdn_json_dumps, o, n, &fired);
        if (!fired) {
            assert_non_null(s);
            assert_string_equal(s, want);
            free(s);
            break;
        }
        if (s == NULL) {
            refused++;
        } else {
            assert_string_equal(s, want);
            exact++;
        }
        free(s);

        /* The same failure in jansson's own dumper. */
        s = dump_failing(plain, o, n, &fired);
        if (s != NULL && strcmp(s, want) != 0)
            plain_wrong++;
        free(s);
    }
    assert_true(n < 200);
    assert_true(refused > 0);
    /* What this guards against happens: jansson returned a text that is not o at least once. */
    assert_true(plain_wrong > 0);
    (void)exact;
    free(want);
    json_decref(o);
}

/* Scalars (JSON_ENCODE_ANY), NUL in strings and reals read back as themselves. */
static void test_round_trips(void **state)
{
    json_t *v[] = {json_integer(-9007199254740993LL), json_real(0.1), json_stringn("a\0b", 3),
                   json_true(), json_null(), json_pack("{s:[]}", "")};
    const char *want[] = {"-9007199254740993", "0.10000000000000001", "\"a\\u0000b\"", "true",
                          "null", "{\"\":[]}"};

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *s = wdn_json_dumps(v[i], JSON_COMPACT | JSON_ENCODE_ANY);
        assert_non_null(s);
        assert_string_equal(s, want[i]);
        free(s);
        json_decref(v[i]);
    }
    assert_null(wdn_json_dumps(NULL, JSON_COMPACT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_or_null),
        cmocka_unit_test(test_round_trips),
    };
    tf_json_faults();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
