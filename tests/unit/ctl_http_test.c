/*
 * ctl_http_test.c - mxctl's query strings and HTTP answer parsing
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "feeds/ctl.h"
#include "lib/mx_err.h"

/* test_query_encodes_and_skips_empty - reserved bytes encoded, "" left out */
static void
test_query_encodes_and_skips_empty(void **state)
{
	const char *p1[] = {
	    "kind", "net", "value", "2001:db8::/32", "format", "", NULL};
	const char *p2[] = {"format", "", NULL};
	const char *p3[] = {"v", "a&b=c d%\xc3\xa9", NULL};
	char out[128];

	(void)state;
	assert_int_equal(ctl_http_query(out, sizeof(out), "/v1/show", p1), 0);
	assert_string_equal(
	    out, "/v1/show?kind=net&value=2001%3Adb8%3A%3A%2F32");
	assert_int_equal(ctl_http_query(out, sizeof(out), "/v1/top", p2), 0);
	assert_string_equal(out, "/v1/top");
	assert_int_equal(ctl_http_query(out, sizeof(out), "/x", p3), 0);
	assert_string_equal(out, "/x?v=a%26b%3Dc%20d%25%C3%A9");
	/* every size from 0 up: too small is MX_ETOOBIG, never an overrun */
	for (size_t cap = 0; cap < 46; cap++) {
		char small[64];

		memset(small, 'Z', sizeof(small));
		assert_int_equal(
		    ctl_http_query(small, cap, "/v1/show", p1), MX_ETOOBIG);
		assert_true(small[cap] == 'Z');
	}
	assert_int_equal(ctl_http_query(out, 46, "/v1/show", p1), 0);
}

/* test_parse_status_and_body - strict status line, body offset */
static void
test_parse_status_and_body(void **state)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody";
	static const char nf[] = "HTTP/1.0 404\r\n\r\n";
	int status = 0;
	size_t off = 0;

	(void)state;
	assert_int_equal(ctl_http_parse(ok, strlen(ok), &status, &off), 0);
	assert_int_equal(status, 200);
	assert_string_equal(ok + off, "body");
	assert_int_equal(ctl_http_parse(nf, strlen(nf), &status, &off), 0);
	assert_int_equal(status, 404);
	assert_int_equal(off, strlen(nf));
	/* refused: no header end, another protocol, a short or bad code */
	assert_int_equal(
	    ctl_http_parse("HTTP/1.1 200 OK\r\n", 17, &status, &off),
	    MX_EPROTO);
	assert_int_equal(
	    ctl_http_parse("SSH-2.0-x\r\n\r\n", 13, &status, &off), MX_EPROTO);
	assert_int_equal(
	    ctl_http_parse("HTTP/1.1 20\r\n\r\n", 15, &status, &off),
	    MX_EPROTO);
	assert_int_equal(
	    ctl_http_parse("HTTP/1.1 2000\r\n\r\n", 17, &status, &off),
	    MX_EPROTO);
	assert_int_equal(
	    ctl_http_parse("HTTP/1.1 099 x\r\n\r\n", 18, &status, &off),
	    MX_EPROTO);
	assert_int_equal(
	    ctl_http_parse("HTTP/2.0 200 x\r\n\r\n", 18, &status, &off),
	    MX_EPROTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query_encodes_and_skips_empty),
	    cmocka_unit_test(test_parse_status_and_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
