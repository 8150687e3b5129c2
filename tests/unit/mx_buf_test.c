/*
 * mx_buf_test.c - unit tests for lib/mx_buf
 *
 * Each limit is tested at max and one past it: an append that would pass
 * max returns MX_ETOOBIG and leaves length, capacity and contents as they
 * were. Growth must never allocate past max.
 * Trust: none; hermetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_buf.h"
#include "lib/mx_err.h"

/* mx_buf_test_fill - n bytes of a repeating pattern */
static void
mx_buf_test_fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)('a' + i % 26);
}

/* mx_buf_test_init - a new buffer is empty and allocates nothing */
static void
mx_buf_test_init(void **state)
{
	struct mx_buf b;

	(void)state;
	mx_buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	assert_int_equal(mx_buf_room(&b), 100);
	assert_int_equal(mx_buf_append(&b, NULL, 0), 0);
	assert_null(b.data);
	mx_buf_fini(&b);
	mx_buf_fini(&b);
}

/* mx_buf_test_append_to_max - exactly max fits, one more does not */
static void
mx_buf_test_append_to_max(void **state)
{
	uint8_t src[1000], before[1000];
	struct mx_buf b;
	size_t cap;

	(void)state;
	mx_buf_test_fill(src, sizeof(src));
	mx_buf_init(&b, 1000);
	assert_int_equal(mx_buf_append(&b, src, 999), 0);
	assert_int_equal(mx_buf_room(&b), 1);
	assert_int_equal(mx_buf_append(&b, src + 999, 1), 0);
	assert_int_equal(b.len, 1000);
	assert_int_equal(mx_buf_room(&b), 0);
	assert_memory_equal(b.data, src, 1000);
	assert_true(b.cap <= b.max);

	/* one byte past max: refused, nothing changes */
	cap = b.cap;
	memcpy(before, b.data, sizeof(before));
	assert_int_equal(mx_buf_append(&b, "x", 1), MX_ETOOBIG);
	assert_int_equal(mx_buf_append_byte(&b, 'x'), MX_ETOOBIG);
	assert_int_equal(b.len, 1000);
	assert_int_equal(b.cap, cap);
	assert_memory_equal(b.data, before, sizeof(before));
	/* an empty append still succeeds at max */
	assert_int_equal(mx_buf_append(&b, "x", 0), 0);
	mx_buf_fini(&b);
}

/* mx_buf_test_append_past_max - a too-big append leaves the buffer alone */
static void
mx_buf_test_append_past_max(void **state)
{
	uint8_t src[64];
	struct mx_buf b;
	size_t cap;

	(void)state;
	mx_buf_test_fill(src, sizeof(src));
	mx_buf_init(&b, 10);
	assert_int_equal(mx_buf_append(&b, src, 11), MX_ETOOBIG);
	assert_int_equal(b.len, 0);
	assert_null(b.data);
	assert_int_equal(mx_buf_append(&b, src, 4), 0);
	cap = b.cap;
	assert_int_equal(mx_buf_append(&b, src, 7), MX_ETOOBIG);
	assert_int_equal(b.len, 4);
	assert_int_equal(b.cap, cap);
	assert_memory_equal(b.data, src, 4);
	/* a length that would wrap size_t is refused, not wrapped */
	assert_int_equal(mx_buf_append(&b, src, SIZE_MAX), MX_ETOOBIG);
	assert_int_equal(mx_buf_reserve(&b, SIZE_MAX - 1), MX_ETOOBIG);
	assert_int_equal(b.len, 4);
	assert_int_equal(mx_buf_append(&b, src, 6), 0);
	assert_int_equal(b.len, 10);
	mx_buf_fini(&b);
}

/* mx_buf_test_max_zero - a zero-size buffer takes nothing */
static void
mx_buf_test_max_zero(void **state)
{
	struct mx_buf b;

	(void)state;
	mx_buf_init(&b, 0);
	assert_int_equal(mx_buf_append_byte(&b, 'a'), MX_ETOOBIG);
	assert_int_equal(mx_buf_printf(&b, "%s", ""), 0);
	assert_int_equal(mx_buf_printf(&b, "x"), MX_ETOOBIG);
	assert_int_equal(mx_buf_reserve(&b, 0), 0);
	assert_int_equal(mx_buf_reserve(&b, 1), MX_ETOOBIG);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	mx_buf_fini(&b);
}

/* mx_buf_test_printf_limit - printf at exactly max and one past */
static void
mx_buf_test_printf_limit(void **state)
{
	struct mx_buf b;

	(void)state;
	mx_buf_init(&b, 8);
	assert_int_equal(mx_buf_printf(&b, "%d-%s", 12, "ab"), 0);
	assert_int_equal(b.len, 5);
	/* 3 more reach max exactly */
	assert_int_equal(mx_buf_printf(&b, "%03u", 7u), 0);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "12-ab007", 8);
	assert_int_equal(mx_buf_printf(&b, "%c", 'z'), MX_ETOOBIG);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "12-ab007", 8);
	mx_buf_fini(&b);

	/* one past max from empty */
	mx_buf_init(&b, 8);
	assert_int_equal(mx_buf_printf(&b, "%s", "123456789"), MX_ETOOBIG);
	assert_int_equal(b.len, 0);
	assert_int_equal(mx_buf_printf(&b, "%s", "12345678"), 0);
	assert_int_equal(b.len, 8);
	mx_buf_fini(&b);
}

/* mx_buf_test_printf_long - output past the internal 256-byte buffer */
static void
mx_buf_test_printf_long(void **state)
{
	char s[1001];
	struct mx_buf b;

	(void)state;
	mx_buf_test_fill((uint8_t *)s, 1000);
	s[1000] = '\0';
	mx_buf_init(&b, 1002);
	assert_int_equal(mx_buf_printf(&b, "[%s]", s), 0);
	assert_int_equal(b.len, 1002);
	assert_int_equal(b.data[0], '[');
	assert_memory_equal(b.data + 1, s, 1000);
	assert_int_equal(b.data[1001], ']');
	mx_buf_reset(&b);
	/* 1003 bytes: one past */
	assert_int_equal(mx_buf_printf(&b, "[%s]!", s), MX_ETOOBIG);
	assert_int_equal(b.len, 0);
	/* exactly 256 and 255 bytes, around the internal buffer */
	assert_int_equal(mx_buf_printf(&b, "%.256s", s), 0);
	assert_int_equal(mx_buf_printf(&b, "%.255s", s), 0);
	assert_int_equal(b.len, 511);
	assert_memory_equal(b.data, s, 256);
	assert_memory_equal(b.data + 256, s, 255);
	mx_buf_fini(&b);
}

/* mx_buf_test_consume - dropping bytes from the front */
static void
mx_buf_test_consume(void **state)
{
	struct mx_buf b;

	(void)state;
	mx_buf_init(&b, 16);
	mx_buf_consume(&b, 0);
	mx_buf_consume(&b, 5);
	assert_int_equal(b.len, 0);
	assert_int_equal(mx_buf_append(&b, "hello world", 11), 0);
	mx_buf_consume(&b, 0);
	assert_int_equal(b.len, 11);
	mx_buf_consume(&b, 6);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "world", 5);
	assert_int_equal(mx_buf_room(&b), 11);
	mx_buf_consume(&b, 5);
	assert_int_equal(b.len, 0);
	assert_int_equal(mx_buf_append(&b, "abc", 3), 0);
	mx_buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_int_equal(mx_buf_room(&b), 16);
	mx_buf_fini(&b);
}

/* mx_buf_test_reset - contents go, storage stays, max still holds */
static void
mx_buf_test_reset(void **state)
{
	struct mx_buf b;
	uint8_t *data;
	size_t cap;

	(void)state;
	mx_buf_init(&b, 32);
	assert_int_equal(mx_buf_append(&b, "0123456789", 10), 0);
	data = b.data;
	cap = b.cap;
	mx_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	assert_int_equal(mx_buf_room(&b), 32);
	assert_int_equal(mx_buf_append(&b, "xy", 2), 0);
	assert_memory_equal(b.data, "xy", 2);
	mx_buf_reset(&b);
	mx_buf_fini(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	/* reusable after fini */
	assert_int_equal(mx_buf_append(&b, "z", 1), 0);
	mx_buf_fini(&b);
}

/* mx_buf_test_reserve - room without length, bounded by max */
static void
mx_buf_test_reserve(void **state)
{
	struct mx_buf b;

	(void)state;
	mx_buf_init(&b, 500);
	assert_int_equal(mx_buf_reserve(&b, 0), 0);
	assert_int_equal(mx_buf_reserve(&b, 300), 0);
	assert_int_equal(b.len, 0);
	assert_true(b.cap >= 300);
	assert_true(b.cap <= 500);
	assert_int_equal(mx_buf_reserve(&b, 500), 0);
	assert_int_equal(b.cap, 500);
	assert_int_equal(mx_buf_reserve(&b, 501), MX_ETOOBIG);
	assert_int_equal(mx_buf_append(&b, "abc", 3), 0);
	assert_int_equal(mx_buf_reserve(&b, 497), 0);
	assert_int_equal(mx_buf_reserve(&b, 498), MX_ETOOBIG);
	assert_int_equal(b.len, 3);
	assert_int_equal(b.cap, 500);
	mx_buf_fini(&b);
}

/* mx_buf_test_growth_small_max - storage never passes a small max */
static void
mx_buf_test_growth_small_max(void **state)
{
	size_t max;

	(void)state;
	for (max = 1; max <= 70; max++) {
		struct mx_buf b;
		size_t i;

		mx_buf_init(&b, max);
		for (i = 0; i < max; i++) {
			assert_int_equal(mx_buf_append_byte(&b, (uint8_t)i), 0);
			assert_true(b.cap >= b.len);
			assert_true(b.cap <= max);
		}
		assert_int_equal(mx_buf_append_byte(&b, 0), MX_ETOOBIG);
		for (i = 0; i < max; i++)
			assert_int_equal(b.data[i], (uint8_t)i);
		mx_buf_fini(&b);
	}
}

/* mx_buf_test_growth_near_max - byte by byte up to odd and even limits */
static void
mx_buf_test_growth_near_max(void **state)
{
	static const size_t maxes[] = {
	    127, 128, 129, 255, 257, 1000, 4096, 4097, 65537};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
		struct mx_buf b;
		size_t i, prev = 0;

		mx_buf_init(&b, maxes[k]);
		for (i = 0; i < maxes[k]; i++) {
			assert_int_equal(mx_buf_append_byte(&b, (uint8_t)i), 0);
			assert_true(b.cap >= b.len);
			assert_true(b.cap <= b.max);
			/* geometric: capacity only grows */
			assert_true(b.cap >= prev);
			prev = b.cap;
		}
		assert_int_equal(b.cap, b.max);
		assert_int_equal(mx_buf_append_byte(&b, 0), MX_ETOOBIG);
		assert_int_equal(b.len, maxes[k]);
		for (i = 0; i < maxes[k]; i++)
			assert_int_equal(b.data[i], (uint8_t)i);
		mx_buf_fini(&b);
	}
}

/* mx_buf_test_growth_huge_max - doubling near SIZE_MAX cannot wrap */
static void
mx_buf_test_growth_huge_max(void **state)
{
	uint8_t src[3000];
	struct mx_buf b;

	(void)state;
	mx_buf_test_fill(src, sizeof(src));
	mx_buf_init(&b, SIZE_MAX);
	assert_int_equal(mx_buf_append(&b, src, sizeof(src)), 0);
	assert_true(b.cap >= sizeof(src));
	assert_true(b.cap <= 2 * sizeof(src));
	assert_memory_equal(b.data, src, sizeof(src));
	assert_int_equal(mx_buf_room(&b), SIZE_MAX - sizeof(src));
	mx_buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(mx_buf_test_init),
	    cmocka_unit_test(mx_buf_test_append_to_max),
	    cmocka_unit_test(mx_buf_test_append_past_max),
	    cmocka_unit_test(mx_buf_test_max_zero),
	    cmocka_unit_test(mx_buf_test_printf_limit),
	    cmocka_unit_test(mx_buf_test_printf_long),
	    cmocka_unit_test(mx_buf_test_consume),
	    cmocka_unit_test(mx_buf_test_reset),
	    cmocka_unit_test(mx_buf_test_reserve),
	    cmocka_unit_test(mx_buf_test_growth_small_max),
	    cmocka_unit_test(mx_buf_test_growth_near_max),
	    cmocka_unit_test(mx_buf_test_growth_huge_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
