/*
 * mx_log_test.c - unit tests for lib/mx_log
 *
 * mx_log_escape is what stands between peer bytes and the log, so its
 * output is pinned byte for byte: escapes, the MX_LOG_PEER_MAX cut and its
 * "...", and destinations from 1 to 10 bytes that must never overflow.
 * The stderr writer is checked through a scratch file under MX_TEST_TMP.
 * Trust: none; hermetic.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/mx_log.h"

#define MX_LOG_TEST_CANARY 0xa5

/* mx_log_test_esc - escape a C string literal into a fresh buffer */
static const char *
mx_log_test_esc(const void *src, size_t len)
{
	static char out[MX_LOG_ESC_SIZE];

	memset(out, MX_LOG_TEST_CANARY, sizeof(out));
	return mx_log_escape(out, sizeof(out), src, len);
}

/* mx_log_test_plain - printable ASCII passes through */
static void
mx_log_test_plain(void **state)
{
	(void)state;
	assert_string_equal(mx_log_test_esc("", 0), "");
	assert_string_equal(mx_log_test_esc("hello", 5), "hello");
	assert_string_equal(
	    mx_log_test_esc("MAIL FROM:<a@b.c>", 17), "MAIL FROM:<a@b.c>");
	assert_string_equal(mx_log_test_esc(" ~!#$%&'()*+,-./=?@[]^_`{|}", 27),
	    " ~!#$%&'()*+,-./=?@[]^_`{|}");
	/* only len bytes are read */
	assert_string_equal(mx_log_test_esc("abcdef", 3), "abc");
}

/* mx_log_test_control - control bytes, quote, backslash as \xNN */
static void
mx_log_test_control(void **state)
{
	(void)state;
	assert_string_equal(mx_log_test_esc("a\r\nb", 4), "a\\x0d\\x0ab");
	assert_string_equal(mx_log_test_esc("\t", 1), "\\x09");
	assert_string_equal(mx_log_test_esc("\0", 1), "\\x00");
	assert_string_equal(mx_log_test_esc("x\0y", 3), "x\\x00y");
	assert_string_equal(mx_log_test_esc("\x1b[31m", 5), "\\x1b[31m");
	assert_string_equal(mx_log_test_esc("\x1f", 1), "\\x1f");
	assert_string_equal(
	    mx_log_test_esc("say \"hi\"", 8), "say \\x22hi\\x22");
	assert_string_equal(mx_log_test_esc("a\\b", 3), "a\\x5cb");
	/* key=value injection stays inside one escaped value */
	assert_string_equal(
	    mx_log_test_esc("x\" ok=1\n", 8), "x\\x22 ok=1\\x0a");
}

/* mx_log_test_8bit - 0x7f and every byte above are escaped */
static void
mx_log_test_8bit(void **state)
{
	(void)state;
	assert_string_equal(mx_log_test_esc("\x7f", 1), "\\x7f");
	assert_string_equal(mx_log_test_esc("\x80\xff", 2), "\\x80\\xff");
	assert_string_equal(mx_log_test_esc("caf\xc3\xa9", 5), "caf\\xc3\\xa9");
	assert_string_equal(mx_log_test_esc("~", 1), "~");
}

/* mx_log_test_every_byte - no byte value produces raw unsafe output */
static void
mx_log_test_every_byte(void **state)
{
	unsigned c;

	(void)state;
	for (c = 0; c < 256; c++) {
		unsigned char in = (unsigned char)c;
		const char *out = mx_log_test_esc(&in, 1);
		size_t i, n = strlen(out);

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			assert_int_equal(n, 1);
			assert_int_equal((unsigned char)out[0], c);
			continue;
		}
		assert_int_equal(n, 4);
		for (i = 0; i < n; i++)
			assert_true(
			    out[i] >= 0x20 && out[i] < 0x7f && out[i] != '"');
	}
}

/* mx_log_test_cut - MX_LOG_PEER_MAX bytes kept, then "..." */
static void
mx_log_test_cut(void **state)
{
	char in[200], want[MX_LOG_ESC_SIZE];
	const char *out;
	size_t i;

	(void)state;
	memset(in, 'a', sizeof(in));
	/* exactly MX_LOG_PEER_MAX: no mark */
	memset(want, 'a', MX_LOG_PEER_MAX);
	want[MX_LOG_PEER_MAX] = '\0';
	assert_string_equal(mx_log_test_esc(in, MX_LOG_PEER_MAX), want);
	/* one past: cut and marked */
	memcpy(want + MX_LOG_PEER_MAX, "...", 4);
	assert_string_equal(mx_log_test_esc(in, MX_LOG_PEER_MAX + 1), want);
	assert_string_equal(mx_log_test_esc(in, sizeof(in)), want);

	/* worst case: every byte escaped still fits MX_LOG_ESC_SIZE */
	memset(in, 0xff, sizeof(in));
	for (i = 0; i < MX_LOG_PEER_MAX; i++)
		memcpy(want + 4 * i, "\\xff", 4);
	memcpy(want + 4 * MX_LOG_PEER_MAX, "...", 4);
	out = mx_log_test_esc(in, sizeof(in));
	assert_string_equal(out, want);
	assert_int_equal(strlen(out), MX_LOG_ESC_SIZE - 1);
	want[4 * MX_LOG_PEER_MAX] = '\0';
	assert_string_equal(mx_log_test_esc(in, MX_LOG_PEER_MAX), want);
}

/* mx_log_test_tiny_check - escape into dstlen bytes and compare */
static void
mx_log_test_tiny_check(
    const char *src, size_t len, size_t dstlen, const char *want)
{
	char buf[32];
	size_t i;

	assert_true(dstlen < sizeof(buf));
	memset(buf, MX_LOG_TEST_CANARY, sizeof(buf));
	assert_ptr_equal(mx_log_escape(buf, dstlen, src, len), buf);
	for (i = dstlen; i < sizeof(buf); i++)
		assert_int_equal((unsigned char)buf[i], MX_LOG_TEST_CANARY);
	if (dstlen == 0)
		return;
	assert_true(memchr(buf, '\0', dstlen) != NULL);
	if (want != NULL)
		assert_string_equal(buf, want);
}

/* mx_log_test_tiny - dstlen 1..10 never overflows, output is exact */
static void
mx_log_test_tiny(void **state)
{
	static const char *const srcs[] = {
	    "abcdefghijklmnop", "\x01\x02\x03", "a\"b\\c\xff", "\r\n", ""};
	size_t k, dstlen;

	(void)state;
	for (k = 0; k < sizeof(srcs) / sizeof(srcs[0]); k++)
		for (dstlen = 0; dstlen <= 10; dstlen++)
			mx_log_test_tiny_check(
			    srcs[k], strlen(srcs[k]), dstlen, NULL);

	/* printable text: cut with a mark once the mark fits */
	mx_log_test_tiny_check("abcdef", 6, 1, "");
	mx_log_test_tiny_check("abcdef", 6, 2, "a");
	mx_log_test_tiny_check("abcdef", 6, 3, "ab");
	mx_log_test_tiny_check("abcdef", 6, 4, "...");
	mx_log_test_tiny_check("abcdef", 6, 5, "a...");
	mx_log_test_tiny_check("abcdef", 6, 6, "ab...");
	mx_log_test_tiny_check("abcdef", 6, 7, "abcdef");
	mx_log_test_tiny_check("abcdefg", 7, 7, "abc...");
	mx_log_test_tiny_check("abc", 3, 4, "abc");

	/* escapes are never split */
	mx_log_test_tiny_check("\x01", 1, 1, "");
	mx_log_test_tiny_check("\x01", 1, 3, "");
	mx_log_test_tiny_check("\x01", 1, 4, "...");
	mx_log_test_tiny_check("\x01", 1, 5, "\\x01");
	mx_log_test_tiny_check("\x01\x02", 2, 8, "\\x01...");
	mx_log_test_tiny_check("\x01\x02", 2, 9, "\\x01\\x02");
	mx_log_test_tiny_check("ab\x01", 3, 6, "ab...");
	mx_log_test_tiny_check("ab\x01", 3, 7, "ab\\x01");
	mx_log_test_tiny_check("\x01zz", 3, 6, "...");
	mx_log_test_tiny_check("\x01zz", 3, 7, "\\x01zz");
	mx_log_test_tiny_check("\x01zzzz", 5, 8, "\\x01...");
	mx_log_test_tiny_check("\x01zzzz", 5, 9, "\\x01zzzz");
	mx_log_test_tiny_check("\x01zzzzz", 6, 9, "\\x01z...");
	mx_log_test_tiny_check("\r\n", 2, 10, "\\x0d\\x0a");
	mx_log_test_tiny_check("", 0, 1, "");
}

/* mx_log_test_levels - minimum level filters */
static void
mx_log_test_levels(void **state)
{
	(void)state;
	mx_log_set_level(MX_LOG_WARN);
	assert_false(mx_log_enabled(MX_LOG_DEBUG));
	assert_false(mx_log_enabled(MX_LOG_NOTICE));
	assert_true(mx_log_enabled(MX_LOG_WARN));
	assert_true(mx_log_enabled(MX_LOG_ERR));
	mx_log_set_level(MX_LOG_DEBUG);
	assert_true(mx_log_enabled(MX_LOG_DEBUG));
	mx_log_set_level(MX_LOG_INFO);
}

/* mx_log_test_capture - run fn with stderr sent to a scratch file */
static char *
mx_log_test_capture(void (*fn)(void))
{
	const char *base = getenv("MX_TEST_TMP");
	char dir[4096], path[4200];
	char *text;
	int fd, saved, n;
	ssize_t got;

	if (base == NULL)
		base = "/tmp";
	n = snprintf(dir, sizeof(dir), "%s/mx_log_test.XXXXXX", base);
	assert_true(n > 0 && (size_t)n < sizeof(dir));
	assert_non_null(mkdtemp(dir));
	n = snprintf(path, sizeof(path), "%s/stderr", dir);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	fn();
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	text = calloc(1, 8192);
	assert_non_null(text);
	got = pread(fd, text, 8191, 0);
	assert_true(got >= 0);
	close(fd);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	return text;
}

/* mx_log_test_emit - the lines mx_log_test_stderr expects */
static void
mx_log_test_emit(void)
{
	char big[3000];

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mx_log_open("mxtest", 1, MX_LOG_INFO);
	mx_debug("HIDDEN n=%d", 1);
	mx_warn("LIMIT name=%s value=%d", "smtp_line_limit", 2048);
	mx_info("BIG %s", big);
	/* out-of-range level is clamped, not used as an index */
	mx_log((enum mx_log_level)99, "ODD level");
}

/* mx_log_test_stderr - foreground lines: prefix, level, cut long lines */
static void
mx_log_test_stderr(void **state)
{
	char *text, *l1, *l2, *l3, *end;

	(void)state;
	text = mx_log_test_capture(mx_log_test_emit);
	assert_null(strstr(text, "HIDDEN"));
	l1 = strstr(text, " mxtest[");
	assert_non_null(l1);
	assert_non_null(strstr(l1, "] warn: LIMIT name=smtp_line_limit "
	                           "value=2048\n"));
	l2 = strstr(text, "] info: BIG zzz");
	assert_non_null(l2);
	end = strchr(l2, '\n');
	assert_non_null(end);
	/* a line past the 2048-byte buffer is cut and marked */
	assert_memory_equal(end - 4, "z...", 4);
	assert_true(end - l2 < 2100);
	l3 = strstr(end, "] err: ODD level\n");
	assert_non_null(l3);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(mx_log_test_plain),
	    cmocka_unit_test(mx_log_test_control),
	    cmocka_unit_test(mx_log_test_8bit),
	    cmocka_unit_test(mx_log_test_every_byte),
	    cmocka_unit_test(mx_log_test_cut),
	    cmocka_unit_test(mx_log_test_tiny),
	    cmocka_unit_test(mx_log_test_levels),
	    cmocka_unit_test(mx_log_test_stderr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
