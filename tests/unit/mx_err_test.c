/*
 * mx_err_test.c - unit tests for lib/mx_err
 *
 * Every code from MX_ERR_MIN to MX_OK must have its own name, so that logs
 * and metrics can tell failures apart; anything else is "unknown error".
 * Trust: none; hermetic.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_err.h"

/* mx_err_test_names_distinct - each code has a distinct, real name */
static void
mx_err_test_names_distinct(void **state)
{
	int a, b;

	(void)state;
	for (a = MX_ERR_MIN; a <= 0; a++) {
		const char *na = mx_strerror(a);

		assert_non_null(na);
		assert_true(na[0] != '\0');
		assert_string_not_equal(na, "unknown error");
		for (b = a + 1; b <= 0; b++)
			assert_string_not_equal(na, mx_strerror(b));
	}
}

/* mx_err_test_known_names - a few names pinned to their codes */
static void
mx_err_test_known_names(void **state)
{
	(void)state;
	assert_string_equal(mx_strerror(MX_OK), "success");
	assert_string_equal(mx_strerror(MX_EINVAL), "invalid argument");
	assert_string_equal(mx_strerror(MX_ETOOBIG), "size limit exceeded");
	assert_string_equal(mx_strerror(MX_ERR_MIN), "invalid state");
}

/* mx_err_test_out_of_range - codes outside the table are unknown */
static void
mx_err_test_out_of_range(void **state)
{
	(void)state;
	assert_string_equal(mx_strerror(1), "unknown error");
	assert_string_equal(mx_strerror(MX_ERR_MIN - 1), "unknown error");
	assert_string_equal(mx_strerror(INT_MAX), "unknown error");
	assert_string_equal(mx_strerror(INT_MIN), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(mx_err_test_names_distinct),
	    cmocka_unit_test(mx_err_test_known_names),
	    cmocka_unit_test(mx_err_test_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
