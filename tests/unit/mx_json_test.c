/*
 * mx_json_test.c - JSON strings: escapes, invalid UTF-8, the room limit
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_json.h"

/* quote - s quoted into a fresh buffer of cap bytes */
static const char *
quote(const char *s, size_t len, size_t cap)
{
	static char out[256];

	assert_true(cap <= sizeof(out));
	memset(out, 'X', sizeof(out));
	mx_json_quote(out, cap, s, len);
	return out;
}

/* test_escapes - quotes, backslashes, control characters */
static void
test_escapes(void **state)
{
	(void)state;
	assert_string_equal(quote("a\"b\\c", 5, 64), "\"a\\\"b\\\\c\"");
	assert_string_equal(
	    quote("\n\t\x01\x7f", 4, 64), "\"\\u000a\\u0009\\u0001\\u007f\"");
	/* a NUL inside the text is escaped, not an end */
	assert_string_equal(quote("a\0b", 3, 64), "\"a\\u0000b\"");
	assert_string_equal(quote("", 0, 64), "\"\"");
}

/* test_utf8 - valid sequences kept, every invalid byte replaced */
static void
test_utf8(void **state)
{
	(void)state;
	/* é, €, U+1F600 */
	assert_string_equal(
	    quote("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, 64),
	    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* Latin-1 é alone, an overlong '/', a surrogate, a cut sequence,
	 * a code point above U+10FFFF */
	assert_string_equal(quote("\xe9", 1, 64), "\"\\ufffd\"");
	assert_string_equal(quote("\xc0\xaf", 2, 64), "\"\\ufffd\\ufffd\"");
	assert_string_equal(
	    quote("\xed\xa0\x80", 3, 64), "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(quote("a\xe2\x82", 3, 64), "\"a\\ufffd\\ufffd\"");
	assert_string_equal(quote("\xf4\x90\x80\x80", 4, 64),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

/* test_room - cut at a character, always closed and NUL-ended */
static void
test_room(void **state)
{
	char out[16];
	size_t n;

	(void)state;
	/* "abcdef" needs 9 bytes with its NUL: 8 keeps "abcde" */
	assert_string_equal(quote("abcdef", 6, 9), "\"abcdef\"");
	assert_string_equal(quote("abcdef", 6, 8), "\"abcde\"");
	/* an escape that does not fit is left out whole */
	assert_string_equal(quote("ab\"", 3, 6), "\"ab\"");
	assert_string_equal(quote("\xe2\x82\xac", 3, 5), "\"\"");
	assert_int_equal(mx_json_quote(out, 2, "a", 1), 0);
	n = mx_json_quote(out, sizeof(out), "x", 1);
	assert_int_equal(n, 3);
	/* the documented room is always enough */
	{
		char big[MX_JSON_QUOTED_MAX(4)];

		assert_int_equal(
		    mx_json_quote(big, sizeof(big), "\x01\x02\x03\x04", 4),
		    MX_JSON_QUOTED_MAX(4) - 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
