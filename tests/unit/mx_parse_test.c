/*
 * mx_parse_test.c - unit tests for lib/mx_parse
 *
 * Bounds at min and max and one past, overflow at 2^64 and after a suffix
 * multiplies, empty input, signs, junk, and input that is not
 * NUL-terminated (every call passes an explicit length).
 * Trust: none; hermetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_err.h"
#include "lib/mx_parse.h"

#define S(lit) lit, (sizeof(lit) - 1)

/* mx_parse_test_u64_bounds - min, max and one past each */
static void
mx_parse_test_u64_bounds(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(mx_parse_u64(S("0"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(
	    mx_parse_u64(S("18446744073709551615"), 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(mx_parse_u64(S("10"), 10, 20, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(mx_parse_u64(S("20"), 10, 20, &v), 0);
	assert_int_equal(v, 20);

	v = 77;
	assert_int_equal(mx_parse_u64(S("9"), 10, 20, &v), MX_ERANGE);
	assert_int_equal(mx_parse_u64(S("21"), 10, 20, &v), MX_ERANGE);
	/* 2^64 and beyond overflow; *out untouched */
	assert_int_equal(
	    mx_parse_u64(S("18446744073709551616"), 0, UINT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(
	    mx_parse_u64(S("18446744073709551620"), 0, UINT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(
	    mx_parse_u64(S("99999999999999999999"), 0, UINT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(
	    mx_parse_u64(S("184467440737095516150"), 0, UINT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(v, 77);

	/* leading zeros do not overflow */
	assert_int_equal(mx_parse_u64(S("000000000000000000000000000042"), 0,
	                     UINT64_MAX, &v),
	    0);
	assert_int_equal(v, 42);
}

/* mx_parse_test_u64_invalid - empty, signs, junk */
static void
mx_parse_test_u64_invalid(void **state)
{
	uint64_t v = 5;

	(void)state;
	assert_int_equal(mx_parse_u64("", 0, 0, 100, &v), MX_EINVAL);
	assert_int_equal(mx_parse_u64(NULL, 0, 0, 100, &v), MX_EINVAL);
	assert_int_equal(mx_parse_u64(S("-1"), 0, 100, &v), MX_EINVAL);
	assert_int_equal(mx_parse_u64(S("+1"), 0, 100, &v), MX_EINVAL);
	assert_int_equal(mx_parse_u64(S("-0"), 0, 100, &v), MX_EINVAL);
	assert_int_equal(mx_parse_u64(S(" 1"), 0, 100, &v), MX_EINVAL);
	assert_int_equal(mx_parse_u64(S("1 "), 0, 100, &v), MX_EINVAL);
	assert_int_equal(mx_parse_u64(S("1a"), 0, 100, &v), MX_EINVAL);
	assert_int_equal(mx_parse_u64(S("0x10"), 0, 100, &v), MX_EINVAL);
	assert_int_equal(mx_parse_u64(S("1.5"), 0, 100, &v), MX_EINVAL);
	assert_int_equal(mx_parse_u64(S("1k"), 0, 100, &v), MX_EINVAL);
	assert_int_equal(mx_parse_u64("1\0"
	                              "2",
	                     3, 0, 100, &v),
	    MX_EINVAL);
	assert_int_equal(mx_parse_u64(S("\xd9\xa1"), 0, 100, &v), MX_EINVAL);
	assert_int_equal(v, 5);
}

/* mx_parse_test_u64_len - only len bytes are read */
static void
mx_parse_test_u64_len(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(mx_parse_u64("12345", 2, 0, 100, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(mx_parse_u64("7xyz", 1, 0, 100, &v), 0);
	assert_int_equal(v, 7);
}

/* mx_parse_test_i64_bounds - INT64_MIN/MAX and one past each */
static void
mx_parse_test_i64_bounds(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(
	    mx_parse_i64(S("9223372036854775807"), INT64_MIN, INT64_MAX, &v),
	    0);
	assert_true(v == INT64_MAX);
	assert_int_equal(
	    mx_parse_i64(S("-9223372036854775808"), INT64_MIN, INT64_MAX, &v),
	    0);
	assert_true(v == INT64_MIN);
	v = 3;
	assert_int_equal(
	    mx_parse_i64(S("9223372036854775808"), INT64_MIN, INT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(
	    mx_parse_i64(S("-9223372036854775809"), INT64_MIN, INT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(
	    mx_parse_i64(S("-18446744073709551616"), INT64_MIN, INT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(
	    mx_parse_i64(S("18446744073709551615"), INT64_MIN, INT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(v, 3);

	assert_int_equal(mx_parse_i64(S("-10"), -10, 10, &v), 0);
	assert_int_equal(v, -10);
	assert_int_equal(mx_parse_i64(S("10"), -10, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(mx_parse_i64(S("-0"), -10, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(mx_parse_i64(S("-11"), -10, 10, &v), MX_ERANGE);
	assert_int_equal(mx_parse_i64(S("11"), -10, 10, &v), MX_ERANGE);
	assert_int_equal(mx_parse_i64(S("-1"), 0, 10, &v), MX_ERANGE);
}

/* mx_parse_test_i64_invalid - signs and junk */
static void
mx_parse_test_i64_invalid(void **state)
{
	int64_t v = 9;

	(void)state;
	assert_int_equal(mx_parse_i64("", 0, -10, 10, &v), MX_EINVAL);
	assert_int_equal(mx_parse_i64(S("-"), -10, 10, &v), MX_EINVAL);
	assert_int_equal(mx_parse_i64(S("--1"), -10, 10, &v), MX_EINVAL);
	assert_int_equal(mx_parse_i64(S("+1"), -10, 10, &v), MX_EINVAL);
	assert_int_equal(mx_parse_i64(S("- 1"), -10, 10, &v), MX_EINVAL);
	assert_int_equal(mx_parse_i64(S("1-"), -10, 10, &v), MX_EINVAL);
	assert_int_equal(mx_parse_i64(S("abc"), -10, 10, &v), MX_EINVAL);
	assert_int_equal(mx_parse_i64("-5", 1, -10, 10, &v), MX_EINVAL);
	assert_int_equal(v, 9);
}

/* mx_parse_test_size - suffixes k, m, g (and b), any case */
static void
mx_parse_test_size(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(mx_parse_size(S("0"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(mx_parse_size(S("512"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(mx_parse_size(S("512b"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(mx_parse_size(S("1k"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(mx_parse_size(S("2K"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(mx_parse_size(S("10m"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 10485760);
	assert_int_equal(mx_parse_size(S("10M"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 10485760);
	assert_int_equal(mx_parse_size(S("3g"), 0, UINT64_MAX, &v), 0);
	assert_true(v == 3ULL << 30);
	assert_int_equal(mx_parse_size(S("0k"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 0);
}

/* mx_parse_test_size_limits - bounds apply after scaling */
static void
mx_parse_test_size_limits(void **state)
{
	uint64_t v = 1;

	(void)state;
	assert_int_equal(mx_parse_size(S("1k"), 1024, 1024, &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(mx_parse_size(S("1025"), 0, 1024, &v), MX_ERANGE);
	assert_int_equal(mx_parse_size(S("2k"), 0, 2047, &v), MX_ERANGE);
	assert_int_equal(mx_parse_size(S("1k"), 1025, 4096, &v), MX_ERANGE);
	/* 2^54 k = 2^64: overflow after multiplication */
	assert_int_equal(
	    mx_parse_size(S("18014398509481983k"), 0, UINT64_MAX, &v), 0);
	assert_true(v == 18014398509481983ULL * 1024);
	assert_int_equal(
	    mx_parse_size(S("18014398509481984k"), 0, UINT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(
	    mx_parse_size(S("17179869183g"), 0, UINT64_MAX, &v), 0);
	assert_true(v == 17179869183ULL << 30);
	assert_int_equal(
	    mx_parse_size(S("17179869184g"), 0, UINT64_MAX, &v), MX_ERANGE);
	assert_int_equal(
	    mx_parse_size(S("17592186044416m"), 0, UINT64_MAX, &v), MX_ERANGE);
	/* overflow before the suffix */
	v = 1;
	assert_int_equal(
	    mx_parse_size(S("18446744073709551616k"), 0, UINT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(v, 1);
}

/* mx_parse_test_size_invalid - bad suffixes and junk */
static void
mx_parse_test_size_invalid(void **state)
{
	uint64_t v = 1;

	(void)state;
	assert_int_equal(mx_parse_size("", 0, 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(mx_parse_size(S("k"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(mx_parse_size(S("kb"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_size(S("10kb"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_size(S("10 k"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(mx_parse_size(S("10t"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_size(S("10kk"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(mx_parse_size(S("1k2"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(mx_parse_size(S("-1k"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(mx_parse_size(S("+1k"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_size(S("1.5m"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_size(S("10ms"), 0, UINT64_MAX, &v), MX_EINVAL);
	/* a NUL after the suffix, and a suffix cut by len */
	assert_int_equal(
	    mx_parse_size("1k\0", 3, 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_size("1\0k", 3, 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(v, 1);
	assert_int_equal(mx_parse_size("1kb", 2, 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 1024);
}

/* mx_parse_test_duration - ms, s, m, h, d; plain digits are seconds */
static void
mx_parse_test_duration(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(mx_parse_duration_ms(S("30"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 30000);
	assert_int_equal(
	    mx_parse_duration_ms(S("250ms"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(
	    mx_parse_duration_ms(S("250MS"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(mx_parse_duration_ms(S("30s"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 30000);
	assert_int_equal(mx_parse_duration_ms(S("5m"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 300000);
	assert_int_equal(mx_parse_duration_ms(S("2h"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 7200000);
	assert_int_equal(mx_parse_duration_ms(S("1d"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 86400000);
	assert_int_equal(mx_parse_duration_ms(S("1D"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 86400000);
	assert_int_equal(mx_parse_duration_ms(S("0ms"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 0);
}

/* mx_parse_test_duration_limits - bounds and overflow after scaling */
static void
mx_parse_test_duration_limits(void **state)
{
	uint64_t v = 4;

	(void)state;
	assert_int_equal(mx_parse_duration_ms(S("1s"), 1000, 1000, &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(
	    mx_parse_duration_ms(S("1001ms"), 0, 1000, &v), MX_ERANGE);
	assert_int_equal(
	    mx_parse_duration_ms(S("999ms"), 1000, 5000, &v), MX_ERANGE);
	assert_int_equal(mx_parse_duration_ms(S("6"), 0, 5000, &v), MX_ERANGE);
	/* UINT64_MAX / 1000 = 18446744073709551 */
	assert_int_equal(
	    mx_parse_duration_ms(S("18446744073709551"), 0, UINT64_MAX, &v), 0);
	assert_true(v == 18446744073709551000ULL);
	assert_int_equal(
	    mx_parse_duration_ms(S("18446744073709552"), 0, UINT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(
	    mx_parse_duration_ms(S("18446744073709552s"), 0, UINT64_MAX, &v),
	    MX_ERANGE);
	/* UINT64_MAX / 86400000 = 213503982334 */
	assert_int_equal(
	    mx_parse_duration_ms(S("213503982334d"), 0, UINT64_MAX, &v), 0);
	assert_int_equal(
	    mx_parse_duration_ms(S("213503982335d"), 0, UINT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(mx_parse_duration_ms(
	                     S("18446744073709551615ms"), 0, UINT64_MAX, &v),
	    0);
	assert_true(v == UINT64_MAX);
	v = 4;
	assert_int_equal(mx_parse_duration_ms(
	                     S("18446744073709551616ms"), 0, UINT64_MAX, &v),
	    MX_ERANGE);
	assert_int_equal(v, 4);
}

/* mx_parse_test_duration_invalid - bad units and junk */
static void
mx_parse_test_duration_invalid(void **state)
{
	uint64_t v = 4;

	(void)state;
	assert_int_equal(
	    mx_parse_duration_ms("", 0, 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_duration_ms(S("s"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_duration_ms(S("ms"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_duration_ms(S("5sec"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_duration_ms(S("5w"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_duration_ms(S("5k"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_duration_ms(S("5 s"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_duration_ms(S("5sm"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_duration_ms(S("5mss"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_duration_ms(S("-5s"), 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(
	    mx_parse_duration_ms("5m\0", 3, 0, UINT64_MAX, &v), MX_EINVAL);
	assert_int_equal(v, 4);
	/* len cuts "5ms" to "5m": minutes */
	assert_int_equal(mx_parse_duration_ms("5ms", 2, 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 300000);
}

/* mx_parse_test_bool - the accepted words, any case */
static void
mx_parse_test_bool(void **state)
{
	static const char *const yes[] = {
	    "yes", "YES", "true", "True", "on", "ON", "1"};
	static const char *const no[] = {
	    "no", "No", "false", "FALSE", "off", "Off", "0"};
	static const char *const bad[] = {"", "y", "n", "ye", "yess", "tru",
	    "of", "offf", "2", "01", "10", " yes", "yes ", "enable", "-1"};
	size_t i;
	int b;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = 7;
		assert_int_equal(mx_parse_bool(yes[i], strlen(yes[i]), &b), 0);
		assert_int_equal(b, 1);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = 7;
		assert_int_equal(mx_parse_bool(no[i], strlen(no[i]), &b), 0);
		assert_int_equal(b, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = 7;
		assert_int_equal(
		    mx_parse_bool(bad[i], strlen(bad[i]), &b), MX_EINVAL);
		assert_int_equal(b, 7);
	}
	/* explicit lengths: prefix of a word, NUL inside */
	b = 7;
	assert_int_equal(mx_parse_bool("yesterday", 3, &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(mx_parse_bool("on\0", 3, &b), MX_EINVAL);
	assert_int_equal(mx_parse_bool("o\0", 2, &b), MX_EINVAL);
	assert_int_equal(mx_parse_bool(NULL, 0, &b), MX_EINVAL);
}

/* mx_parse_test_hostport - HOST:PORT and [V6]:PORT, bounds */
static void
mx_parse_test_hostport(void **state)
{
	static const char *const bad[] = {"", "host", ":25", "host:", "host:0",
	    "host:65536", "host:2x", "[::1]", "[::1]25", "[]:25", "[::1:25"};
	char host[16];
	uint16_t port = 0;
	size_t i;

	(void)state;
	assert_int_equal(
	    mx_parse_hostport("mx.test:2525", 12, host, sizeof(host), &port),
	    0);
	assert_string_equal(host, "mx.test");
	assert_int_equal(port, 2525);
	assert_int_equal(
	    mx_parse_hostport("[::1]:65535", 11, host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 65535);
	/* the last colon splits a bare v6 address */
	assert_int_equal(
	    mx_parse_hostport("::1:1", 5, host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 1);
	/* only len bytes are read */
	assert_int_equal(
	    mx_parse_hostport("a:25xyz", 4, host, sizeof(host), &port), 0);
	assert_int_equal(port, 25);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mx_parse_hostport(bad[i], strlen(bad[i]), host,
		                     sizeof(host), &port),
		    MX_EINVAL);
	/* a host that does not fit (with its NUL) is refused */
	assert_int_equal(mx_parse_hostport("0123456789abcdef:1", 18, host,
	                     sizeof(host), &port),
	    MX_EINVAL);
	assert_int_equal(mx_parse_hostport("0123456789abcde:1", 17, host,
	                     sizeof(host), &port),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(mx_parse_test_u64_bounds),
	    cmocka_unit_test(mx_parse_test_u64_invalid),
	    cmocka_unit_test(mx_parse_test_u64_len),
	    cmocka_unit_test(mx_parse_test_i64_bounds),
	    cmocka_unit_test(mx_parse_test_i64_invalid),
	    cmocka_unit_test(mx_parse_test_size),
	    cmocka_unit_test(mx_parse_test_size_limits),
	    cmocka_unit_test(mx_parse_test_size_invalid),
	    cmocka_unit_test(mx_parse_test_duration),
	    cmocka_unit_test(mx_parse_test_duration_limits),
	    cmocka_unit_test(mx_parse_test_duration_invalid),
	    cmocka_unit_test(mx_parse_test_bool),
	    cmocka_unit_test(mx_parse_test_hostport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
