/* floor and integral checks without libm (src/base/num.h), against libm's floor(3). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/num.h"

static void test_floor_values(void **state)
{
    static const double v[] = {0.0,  0.5,  -0.5, 1.0,   -1.0,  1.5,    -1.5,   2.999999,
                               -2.9, 1e-300, -1e-300, 123456.789, -123456.789,
                               4503599627370495.5, -4503599627370495.5, 4503599627370496.0,
                               -4503599627370497.0, 9007199254740993.0, 1e300, -1e300};

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_true(wdn_floor(v[i]) == floor(v[i]));
    assert_true(wdn_floor(INFINITY) == INFINITY);
    assert_true(wdn_floor(-INFINITY) == -INFINITY);
    assert_true(isnan(wdn_floor(NAN)));
}

static void test_floor_sweep(void **state)
{
    /* Every quarter step over a range where the conversion and the adjustment both matter. */
    for (double d = -1000.0; d <= 1000.0; d += 0.25)
        assert_true(wdn_floor(d) == floor(d));
    for (double d = 1.0; d < 1e18; d *= 3.7)
        assert_true(wdn_floor(d + 0.3) == floor(d + 0.3) && wdn_floor(-d) == floor(-d));
}

static void test_integral(void **state)
{
    assert_true(wdn_is_integral(5.0));
    assert_true(wdn_is_integral(-0.0));
    assert_true(wdn_is_integral(-7.0));
    assert_true(wdn_is_integral(1e300));
    assert_false(wdn_is_integral(5.5));
    assert_false(wdn_is_integral(-0.25));
    assert_false(wdn_is_integral(NAN));
    assert_false(wdn_is_integral(INFINITY));
    assert_false(wdn_is_integral(-INFINITY));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_floor_values),
        cmocka_unit_test(test_floor_sweep),
        cmocka_unit_test(test_integral),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
