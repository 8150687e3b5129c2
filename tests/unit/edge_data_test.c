/*
 * edge_data_test.c - unit tests of edge_data.c, the DATA stream scanner
 *
 * Every input is fed whole, split at every position, split at every pair
 * of positions (short inputs) and in 1-byte chunks; all feeds must give
 * the same WIRE and CONTENT bytes, the same end offset and the same
 * counters. The smuggling variants run in both modes: strict must flag
 * them and emit no WIRE byte from the anomaly on; normalize must produce
 * WIRE that a strict reference end-of-data scanner reads as exactly one
 * message, ending where the edge ended it. Random messages are compared
 * with a slow, line-by-line reference model.
 * Trust: test data only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"

#include "edge/edge.h"

#define DT_BIG (UINT64_MAX)
#define DT_PAIRS_MAX 160 /* inputs up to this length get every pair split */

/* one kind of collected output */
struct dt_stream {
	char *p;     /* bytes */
	size_t len;  /* in use */
	size_t cap;  /* allocated */
	unsigned n;  /* callbacks */
	unsigned nz; /* callbacks whose bytes lie inside the input */
};

/* everything one feed produced */
struct dt_res {
	struct dt_stream wire;
	struct dt_stream content;
	const char *in; /* input, for the zero-copy check */
	size_t in_len;  /* its length */
	size_t used;    /* input bytes consumed in total */
	int is_done;    /* the end was seen */
	enum edge_data_err err;
	uint64_t content_bytes, lines, bare_newlines, raw_bytes, wire_bytes;
	size_t line_len_max;
};

/* dt_append - grow a stream and add bytes */
static void
dt_append(struct dt_stream *s, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2 + 64;
		s->p = mx_realloc(s->p, s->cap);
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
}

/* dt_collect - the edge_data_fn of the tests */
static void
dt_collect(void *arg, enum edge_data_kind kind, const char *p, size_t n)
{
	struct dt_res *r = arg;
	struct dt_stream *s = kind == EDGE_DATA_WIRE ? &r->wire : &r->content;

	assert_true(n > 0);
	assert_true(kind == EDGE_DATA_WIRE || kind == EDGE_DATA_CONTENT);
	s->n++;
	if ((uintptr_t)p >= (uintptr_t)r->in &&
	    (uintptr_t)p + n <= (uintptr_t)r->in + r->in_len)
		s->nz++;
	dt_append(s, p, n);
}

/* dt_free - release a result's buffers */
static void
dt_free(struct dt_res *r)
{
	mx_free(r->wire.p);
	mx_free(r->content.p);
	memset(r, 0, sizeof(*r));
}

/* dt_cfg - a config */
static struct edge_data_cfg
dt_cfg(enum edge_data_mode mode, size_t line_max, uint64_t size_max)
{
	struct edge_data_cfg c;

	c.mode = mode;
	c.line_max = line_max;
	c.size_max = size_max;
	return c;
}

/* dt_run - feed in[0..len) cut at the sorted positions cuts[0..ncuts) */
static void
dt_run(const char *in, size_t len, const struct edge_data_cfg *cfg,
    const size_t *cuts, size_t ncuts, struct dt_res *r)
{
	struct edge_data d;
	size_t start = 0, end, k, used;

	memset(r, 0, sizeof(*r));
	r->in = in;
	r->in_len = len;
	assert_int_equal(edge_data_init(&d, cfg, dt_collect, r), 0);
	for (k = 0; k <= ncuts; k++) {
		end = k < ncuts ? cuts[k] : len;
		if (end < start)
			end = start;
		used = (size_t)-1;
		assert_int_equal(
		    edge_data_feed(&d, in + start, end - start, &used), 0);
		assert_true(used <= end - start);
		if (used < end - start)
			assert_true(d.is_done);
		r->used = start + used;
		start = end;
		if (d.is_done)
			break;
	}
	if (d.is_done) {
		used = 0;
		assert_int_equal(edge_data_feed(&d, "x", 1, &used), MX_ESTATE);
	}
	r->is_done = d.is_done;
	r->err = d.err;
	r->content_bytes = d.content_bytes;
	r->lines = d.lines;
	r->bare_newlines = d.bare_newlines;
	r->raw_bytes = d.raw_bytes;
	r->wire_bytes = d.wire_bytes;
	r->line_len_max = d.line_len_max;
	assert_int_equal(r->raw_bytes, r->used);
	assert_int_equal(r->wire_bytes, r->wire.len);
	assert_int_equal(r->content_bytes, r->content.len);
}

/* dt_same - two feeds of the same input gave the same result */
static void
dt_same(const struct dt_res *a, const struct dt_res *b)
{
	assert_int_equal(a->used, b->used);
	assert_int_equal(a->is_done, b->is_done);
	assert_int_equal(a->err, b->err);
	assert_int_equal(a->wire.len, b->wire.len);
	assert_int_equal(a->content.len, b->content.len);
	if (a->wire.len > 0)
		assert_memory_equal(a->wire.p, b->wire.p, a->wire.len);
	if (a->content.len > 0)
		assert_memory_equal(a->content.p, b->content.p, a->content.len);
	assert_int_equal(a->lines, b->lines);
	assert_int_equal(a->bare_newlines, b->bare_newlines);
	assert_int_equal(a->line_len_max, b->line_len_max);
}

/*
 * dt_check - feed in whole, split at every position (or every step-th on
 * long input), at every pair (short input) and in 1-byte chunks; all must
 * agree. The whole-feed result is left in *whole (caller frees).
 */
static void
dt_check(const char *in, size_t len, const struct edge_data_cfg *cfg,
    struct dt_res *whole)
{
	struct dt_res r;
	size_t cuts[2], i, j, step, *ones;

	dt_run(in, len, cfg, NULL, 0, whole);
	step = len > 4096 ? len / 509 : 1;
	for (i = 0; i <= len; i += step) {
		cuts[0] = i;
		dt_run(in, len, cfg, cuts, 1, &r);
		dt_same(whole, &r);
		dt_free(&r);
		/* around the interesting spots of long input too */
		if (step > 1 && i + step > len && i != len)
			i = len - step;
	}
	if (len <= DT_PAIRS_MAX) {
		for (i = 0; i <= len; i++) {
			for (j = i; j <= len; j++) {
				cuts[0] = i;
				cuts[1] = j;
				dt_run(in, len, cfg, cuts, 2, &r);
				dt_same(whole, &r);
				dt_free(&r);
			}
		}
	}
	ones = mx_calloc(len + 1, sizeof(*ones));
	for (i = 0; i < len; i++)
		ones[i] = i + 1;
	dt_run(in, len, cfg, ones, len, &r);
	dt_same(whole, &r);
	dt_free(&r);
	mx_free(ones);
}

/* dt_ref_end - strict reference: offset after the first end, or 0 */
static size_t
dt_ref_end(const char *p, size_t len)
{
	size_t i;

	if (len >= 3 && memcmp(p, ".\r\n", 3) == 0)
		return 3;
	for (i = 0; i + 5 <= len; i++)
		if (memcmp(p + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	return 0;
}

/*
 * dt_wire_one_end - the WIRE output followed by the session's final
 * ".\r\n" holds exactly one end of data, at its very end, and nothing a
 * strict reader could take for a line end other than CRLF
 */
static void
dt_wire_one_end(const struct dt_res *r)
{
	char *buf = mx_malloc(r->wire.len + 3);
	size_t i;

	if (r->wire.len > 0)
		memcpy(buf, r->wire.p, r->wire.len);
	memcpy(buf + r->wire.len, ".\r\n", 3);
	assert_int_equal(dt_ref_end(buf, r->wire.len + 3), r->wire.len + 3);
	for (i = 0; i < r->wire.len; i++) {
		if (buf[i] == '\r')
			assert_true(buf[i + 1] == '\n');
		if (buf[i] == '\n')
			assert_true(i > 0 && buf[i - 1] == '\r');
	}
	mx_free(buf);
}

/* dt_wire_no_end - partial WIRE output (after an error) holds no end */
static void
dt_wire_no_end(const struct dt_res *r)
{
	if (r->wire.len > 0)
		assert_int_equal(dt_ref_end(r->wire.p, r->wire.len), 0);
}

/*
 * dt_ref_model - slow reference for inputs without errors: split the body
 * before the end into lines by the mode's rules, unstuff for CONTENT,
 * re-frame for WIRE. Returns the end offset, or 0 when the input has none
 * or would be an error (then the outputs are not set).
 */
static size_t
dt_ref_model(const char *in, size_t len, enum edge_data_mode mode,
    struct dt_stream *wire, struct dt_stream *content)
{
	size_t end = dt_ref_end(in, len), body, i = 0, s, tl;

	if (end == 0 || memchr(in, '\0', end) != NULL)
		return 0;
	body = end - 3;
	while (i < body) {
		s = i;
		while (i < body && in[i] != '\r' && in[i] != '\n')
			i++;
		if (i == body)
			break;
		if (i + 1 < body && in[i] == '\r' && in[i + 1] == '\n')
			tl = 2;
		else
			tl = 1;
		if (tl == 1 && mode == EDGE_DATA_STRICT)
			return 0;
		if (i - s == 1 && in[s] == '.') {
			dt_append(wire, "..\r\n", 4);
			dt_append(content, ".\r\n", 3);
		} else {
			dt_append(wire, in + s, i - s);
			dt_append(wire, "\r\n", 2);
			if (i - s >= 2 && in[s] == '.')
				dt_append(content, in + s + 1, i - s - 1);
			else
				dt_append(content, in + s, i - s);
			dt_append(content, "\r\n", 2);
		}
		i += tl;
	}
	return end;
}

/* dt_expect_clean - whole check, then compare with the reference model */
static void
dt_expect_clean(const char *in, size_t len, enum edge_data_mode mode)
{
	struct edge_data_cfg cfg = dt_cfg(mode, 1 << 20, DT_BIG);
	struct dt_stream w = {0}, c = {0};
	struct dt_res r;
	size_t end;

	end = dt_ref_model(in, len, mode, &w, &c);
	assert_true(end > 0);
	dt_check(in, len, &cfg, &r);
	assert_int_equal(r.err, EDGE_DATA_OK);
	assert_true(r.is_done);
	assert_int_equal(r.used, end);
	assert_int_equal(r.wire.len, w.len);
	assert_int_equal(r.content.len, c.len);
	if (w.len > 0)
		assert_memory_equal(r.wire.p, w.p, w.len);
	if (c.len > 0)
		assert_memory_equal(r.content.p, c.p, c.len);
	dt_wire_one_end(&r);
	dt_free(&r);
	mx_free(w.p);
	mx_free(c.p);
}

/*
 * dt_expect_fail - in mode, the input fails with err; WIRE is exactly
 * wire_exp (a prefix of the input in strict mode: nothing from the
 * anomaly on) and used_exp bytes are consumed (the end, if there is one,
 * is where the strict reference finds it)
 */
static void
dt_expect_fail(const char *in, size_t len, const struct edge_data_cfg *cfg,
    enum edge_data_err err, const char *wire_exp, size_t wire_len,
    size_t used_exp)
{
	struct dt_res r;
	size_t end = dt_ref_end(in, len);

	dt_check(in, len, cfg, &r);
	assert_int_equal(r.err, err);
	assert_int_equal(r.used, used_exp);
	assert_int_equal(r.is_done, end > 0 ? 1 : 0);
	if (end > 0)
		assert_int_equal(r.used, end);
	assert_int_equal(r.wire.len, wire_len);
	if (wire_len > 0)
		assert_memory_equal(r.wire.p, wire_exp, wire_len);
	dt_wire_no_end(&r);
	dt_free(&r);
}

#define S(lit) lit, sizeof(lit) - 1

/* test_empty_message_ends_at_first_line - ".\r\n" first: empty message, nothing
 * emitted */
static void
test_empty_message_ends_at_first_line(void **state)
{
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 1000, DT_BIG);
	struct dt_res r;

	(void)state;
	dt_check(S(".\r\nQUIT\r\n"), &cfg, &r);
	assert_true(r.is_done);
	assert_int_equal(r.used, 3);
	assert_int_equal(r.wire.len, 0);
	assert_int_equal(r.content.len, 0);
	assert_int_equal(r.lines, 0);
	dt_free(&r);
}

/* test_simple_message_wire_is_identity_without_final_dot - WIRE is the input
 * minus ".\r\n" */
static void
test_simple_message_wire_is_identity_without_final_dot(void **state)
{
	static const char msg[] = "Subject: hi\r\n\r\nbody line\r\n.\r\n";
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 1000, DT_BIG);
	struct dt_res r;

	(void)state;
	dt_check(S(msg), &cfg, &r);
	assert_true(r.is_done);
	assert_int_equal(r.err, EDGE_DATA_OK);
	assert_int_equal(r.used, sizeof(msg) - 1);
	assert_int_equal(r.wire.len, sizeof(msg) - 1 - 3);
	assert_memory_equal(r.wire.p, msg, r.wire.len);
	assert_int_equal(r.content.len, r.wire.len);
	assert_memory_equal(r.content.p, msg, r.content.len);
	assert_int_equal(r.lines, 3);
	assert_int_equal(r.line_len_max, 13);
	dt_free(&r);
	dt_expect_clean(S(msg), EDGE_DATA_STRICT);
	dt_expect_clean(S(msg), EDGE_DATA_NORMALIZE);
}

/* test_clean_chunk_gives_one_zero_copy_callback_per_stream - clean chunk: one
 * callback each, into the input */
static void
test_clean_chunk_gives_one_zero_copy_callback_per_stream(void **state)
{
	static const char msg[] = "a\r\nb\r\nc\r\n.\r\n";
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 1000, DT_BIG);
	struct dt_res r;

	(void)state;
	dt_run(S(msg), &cfg, NULL, 0, &r);
	assert_int_equal(r.wire.n, 1);
	assert_int_equal(r.wire.nz, 1);
	assert_int_equal(r.content.n, 1);
	assert_int_equal(r.content.nz, 1);
	dt_free(&r);
	cfg.mode = EDGE_DATA_NORMALIZE;
	dt_run(S(msg), &cfg, NULL, 0, &r);
	assert_int_equal(r.wire.n, 1);
	assert_int_equal(r.wire.nz, 1);
	dt_free(&r);
}

/* test_dot_stuffing_removed_in_content_kept_on_wire - unstuffed CONTENT,
 * untouched WIRE */
static void
test_dot_stuffing_removed_in_content_kept_on_wire(void **state)
{
	static const char msg[] = "..\r\n...x\r\n.y\r\nz.\r\n. \r\n.\r\n";
	static const char content[] = ".\r\n..x\r\ny\r\nz.\r\n \r\n";
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 1000, DT_BIG);
	struct dt_res r;

	(void)state;
	dt_check(S(msg), &cfg, &r);
	assert_int_equal(r.err, EDGE_DATA_OK);
	assert_int_equal(r.used, sizeof(msg) - 1);
	assert_int_equal(r.wire.len, sizeof(msg) - 1 - 3);
	assert_memory_equal(r.wire.p, msg, r.wire.len);
	assert_int_equal(r.content.len, sizeof(content) - 1);
	assert_memory_equal(r.content.p, content, r.content.len);
	dt_free(&r);
	dt_expect_clean(S(msg), EDGE_DATA_NORMALIZE);
}

/* test_pipelined_bytes_after_end_returned - bytes after the end are left to the
 * command reader */
static void
test_pipelined_bytes_after_end_returned(void **state)
{
	static const char in[] = "hello\r\n.\r\nMAIL FROM:<a@b>\r\nQUIT\r\n";
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 1000, DT_BIG);
	struct dt_res r;

	(void)state;
	dt_check(S(in), &cfg, &r);
	assert_true(r.is_done);
	assert_int_equal(r.used, 10);
	assert_memory_equal(in + r.used, "MAIL", 4);
	assert_int_equal(r.wire.len, 7);
	dt_free(&r);
}

/* test_end_needs_crlf_dot_crlf_exactly - near misses are data; held bytes stay
 * held */
static void
test_end_needs_crlf_dot_crlf_exactly(void **state)
{
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_NORMALIZE, 1000, DT_BIG);
	struct dt_res r;

	(void)state;
	/* none of these is an end: data goes on */
	dt_check(S("a\r\n. \r\n.x\r\n\r\n.."), &cfg, &r);
	assert_false(r.is_done);
	assert_int_equal(r.err, EDGE_DATA_OK);
	dt_free(&r);
	/* a dot held at the end of the input is not emitted yet */
	dt_run(S("a\r\n."), &cfg, NULL, 0, &r);
	assert_int_equal(r.wire.len, 3);
	dt_free(&r);
	dt_run(S("a\r\n.\r"), &cfg, NULL, 0, &r);
	assert_int_equal(r.wire.len, 3);
	dt_free(&r);
	dt_run(S("a\r"), &cfg, NULL, 0, &r);
	assert_int_equal(r.wire.len, 1);
	dt_free(&r);
}

/* test_3kb_line_passes_untouched_without_buffering - a long real line streams
 * as it comes */
static void
test_3kb_line_passes_untouched_without_buffering(void **state)
{
	struct edge_data_cfg cfg =
	    dt_cfg(EDGE_DATA_STRICT, EDGE_DATA_LINE_MAX_DEFAULT, DT_BIG);
	size_t n = 3000 + 2 + 3 + 6, i;
	char *in = mx_malloc(n);
	struct dt_res r;
	struct edge_data d;
	size_t used;

	(void)state;
	for (i = 0; i < 3000; i++)
		in[i] = (char)('a' + i % 26);
	memcpy(in + 3000, "\r\n.\r\nQUIT\r\n", 11);
	n = 3000 + 11;
	dt_check(in, n, &cfg, &r);
	assert_int_equal(r.err, EDGE_DATA_OK);
	assert_int_equal(r.used, 3005);
	assert_int_equal(r.wire.len, 3002);
	assert_memory_equal(r.wire.p, in, 3002);
	assert_int_equal(r.line_len_max, 3002);
	dt_free(&r);
	/* fed in two halves, the first half of the line is out at once */
	memset(&r, 0, sizeof(r));
	r.in = in;
	r.in_len = n;
	assert_int_equal(edge_data_init(&d, &cfg, dt_collect, &r), 0);
	assert_int_equal(edge_data_feed(&d, in, 1500, &used), 0);
	assert_int_equal(used, 1500);
	assert_int_equal(r.wire.len, 1500);
	assert_int_equal(r.content.len, 1500);
	assert_int_equal(r.wire.nz, 1);
	dt_free(&r);
	mx_free(in);
	dt_expect_clean("x\r\n.\r\n", 6, EDGE_DATA_NORMALIZE);
}

/* dt_long_line - "L...L\r\n.\r\n" with a content line of n bytes */
static char *
dt_long_line(size_t n, size_t *len)
{
	char *in = mx_malloc(n + 5);

	memset(in, 'L', n);
	memcpy(in + n, "\r\n.\r\n", 5);
	*len = n + 5;
	return in;
}

/* test_line_at_default_cap_passes - line of exactly EDGE_DATA_LINE_MAX_DEFAULT
 */
static void
test_line_at_default_cap_passes(void **state)
{
	struct edge_data_cfg cfg;
	struct dt_res r;
	size_t len;
	char *in = dt_long_line(EDGE_DATA_LINE_MAX_DEFAULT - 2, &len);
	int mode;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		cfg = dt_cfg((enum edge_data_mode)mode,
		    EDGE_DATA_LINE_MAX_DEFAULT, DT_BIG);
		dt_check(in, len, &cfg, &r);
		assert_int_equal(r.err, EDGE_DATA_OK);
		assert_int_equal(r.line_len_max, EDGE_DATA_LINE_MAX_DEFAULT);
		assert_int_equal(r.wire.len, len - 3);
		dt_free(&r);
	}
	mx_free(in);
}

/* test_line_over_default_cap_fails_550_and_stops_wire - one byte past the
 * default cap */
static void
test_line_over_default_cap_fails_550_and_stops_wire(void **state)
{
	struct edge_data_cfg cfg;
	size_t len;
	char *in = dt_long_line(EDGE_DATA_LINE_MAX_DEFAULT - 1, &len);
	int mode;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		cfg = dt_cfg((enum edge_data_mode)mode,
		    EDGE_DATA_LINE_MAX_DEFAULT, DT_BIG);
		dt_expect_fail(in, len, &cfg, EDGE_DATA_E_LINE_TOO_LONG, in,
		    EDGE_DATA_LINE_MAX_DEFAULT - 2, len);
	}
	mx_free(in);
	assert_string_equal(edge_data_reply(EDGE_DATA_E_LINE_TOO_LONG),
	    "550 5.6.0 Message line too long");
}

/* test_line_cap_small_at_and_over - small cap at and over, stuffed dot not
 * counted */
static void
test_line_cap_small_at_and_over(void **state)
{
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 6, DT_BIG);
	struct dt_res r;

	(void)state;
	/* "abcd\r\n" is 6 bytes: at the cap; a stuffed dot is not counted */
	dt_check(S("abcd\r\n..bcd\r\n.\r\n"), &cfg, &r);
	assert_int_equal(r.err, EDGE_DATA_OK);
	assert_int_equal(r.line_len_max, 6);
	dt_free(&r);
	dt_expect_fail(S("ab\r\nabcde\r\n.\r\n"), &cfg,
	    EDGE_DATA_E_LINE_TOO_LONG, S("ab\r\nabcd"), 14);
	cfg.mode = EDGE_DATA_NORMALIZE;
	dt_expect_fail(S("ab\nabcde\n.\r\n\r\n.\r\n"), &cfg,
	    EDGE_DATA_E_LINE_TOO_LONG, S("ab\r\nabcd"), 17);
}

/* test_size_at_limit_passes - content exactly size_max */
static void
test_size_at_limit_passes(void **state)
{
	/* content "ab\r\n.\r\n" is 7 bytes ("..\r\n" unstuffs to ".\r\n") */
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 1000, 7);
	struct dt_res r;

	(void)state;
	dt_check(S("ab\r\n..\r\n.\r\n"), &cfg, &r);
	assert_int_equal(r.err, EDGE_DATA_OK);
	assert_int_equal(r.content_bytes, 7);
	dt_free(&r);
}

/* test_size_over_limit_fails_552 - content one past size_max, cut at the byte
 */
static void
test_size_over_limit_fails_552(void **state)
{
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 1000, 6);

	(void)state;
	/* the 7th content byte is the final LF: the line's CRLF is cut */
	dt_expect_fail(S("ab\r\n..\r\n.\r\nQUIT\r\n"), &cfg,
	    EDGE_DATA_E_TOO_BIG, S("ab\r\n.."), 11);
	cfg.size_max = 3;
	dt_expect_fail(
	    S("abcdef\r\n.\r\n"), &cfg, EDGE_DATA_E_TOO_BIG, S("abc"), 11);
	cfg.mode = EDGE_DATA_NORMALIZE;
	cfg.size_max = 5;
	/* "ab\r\n" then the lone-dot line ".\r\n" does not fit */
	dt_expect_fail(
	    S("ab\n.\n\r\n.\r\n"), &cfg, EDGE_DATA_E_TOO_BIG, S("ab\r\n"), 10);
	assert_string_equal(edge_data_reply(EDGE_DATA_E_TOO_BIG),
	    "552 5.3.4 Message size exceeds fixed limit");
}

/* test_nul_fails_550_and_stops_wire - NUL in both modes, also after a leading
 * dot */
static void
test_nul_fails_550_and_stops_wire(void **state)
{
	static const char in[] = "ab\r\ncd\0ef\r\n.\r\n";
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 1000, DT_BIG);

	(void)state;
	dt_expect_fail(in, sizeof(in) - 1, &cfg, EDGE_DATA_E_NUL, "ab\r\ncd", 6,
	    sizeof(in) - 1);
	cfg.mode = EDGE_DATA_NORMALIZE;
	dt_expect_fail(in, sizeof(in) - 1, &cfg, EDGE_DATA_E_NUL, "ab\r\ncd", 6,
	    sizeof(in) - 1);
	/* a NUL right after a line-leading dot */
	dt_expect_fail(
	    S("a\r\n.\0\r\n.\r\n"), &cfg, EDGE_DATA_E_NUL, S("a\r\n."), 10);
	assert_string_equal(
	    edge_data_reply(EDGE_DATA_E_NUL), "550 5.6.0 NUL byte in message");
}

/* test_first_error_sticks - several errors: the first one is reported */
static void
test_first_error_sticks(void **state)
{
	static const char in[] = "a\nb\0cccccccccccccccc\r\n.\r\n";
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 8, 10);

	(void)state;
	/* bare LF, then NUL, line cap and size cap: the LF is reported */
	dt_expect_fail(
	    S(in), &cfg, EDGE_DATA_E_BARE_NEWLINE, S("a"), sizeof(in) - 1);
}

/* one smuggling variant: the bytes put between two messages */
struct dt_smuggle {
	const char *name; /* for failure messages */
	const char *mark; /* inserted after "hello" */
	size_t mark_len;  /* its length */
	int is_real_end;  /* "\r\n.\r\n" is really in it */
	int is_nul;       /* contains a NUL */
};

#define DT_SM(n, m, e, z)                                                      \
	{                                                                      \
		n, m, sizeof(m) - 1, e, z                                      \
	}

static const struct dt_smuggle dt_smuggles[] = {
    DT_SM("lf-dot-lf", "\n.\n", 0, 0),
    DT_SM("lf-dot-crlf", "\n.\r\n", 0, 0),
    DT_SM("cr-dot-cr", "\r.\r", 0, 0),
    DT_SM("crlf-dot-cr", "\r\n.\r", 0, 0),
    DT_SM("crlf-dot-lf", "\r\n.\n", 0, 0),
    DT_SM("cr-dot-crlf", "\r.\r\n", 0, 0),
    DT_SM("crlf-dot-cr-cr", "\r\n.\r\r", 0, 0),
    DT_SM("crlf-dot-cr-crlf", "\r\n.\r\r\n", 0, 0),
    DT_SM("lf-lf-dot-lf-lf", "\n\n.\n\n", 0, 0),
    DT_SM("crlf-nul-dot-crlf", "\r\n\0.\r\n", 0, 1),
    DT_SM("crlf-dot-nul-crlf", "\r\n.\0\r\n", 0, 1),
    DT_SM("cr-cr-lf-dot-crlf", "\r\r\n.\r\n", 1, 0),
    DT_SM("lf-cr-lf-dot-crlf", "\n\r\n.\r\n", 1, 0),
};

#define DT_NSMUGGLE (sizeof(dt_smuggles) / sizeof(dt_smuggles[0]))

static const char dt_sm_head[] = "Subject: test\r\n\r\nhello";
static const char dt_sm_tail[] =
    "MAIL FROM:<evil@example.net>\r\nRCPT TO:<victim@example.com>\r\n"
    "DATA\r\nFrom: ceo@example.com\r\n\r\nsmuggled\r\n\r\n.\r\nQUIT\r\n";

/* dt_sm_build - head + mark + tail */
static char *
dt_sm_build(const struct dt_smuggle *sm, size_t *len)
{
	size_t h = sizeof(dt_sm_head) - 1, t = sizeof(dt_sm_tail) - 1;
	char *in = mx_malloc(h + sm->mark_len + t);

	memcpy(in, dt_sm_head, h);
	memcpy(in + h, sm->mark, sm->mark_len);
	memcpy(in + h + sm->mark_len, dt_sm_tail, t);
	*len = h + sm->mark_len + t;
	return in;
}

/* dt_first_anomaly - position of the first bare CR, bare LF or NUL */
static size_t
dt_first_anomaly(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\0')
			return i;
		if (p[i] == '\r' && (i + 1 >= len || p[i + 1] != '\n'))
			return i;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return i;
	}
	return len;
}

/* test_smuggling_strict_flags_and_sends_nothing_after - strict: each variant
 * flagged, WIRE stops */
static void
test_smuggling_strict_flags_and_sends_nothing_after(void **state)
{
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 1000, DT_BIG);
	struct dt_res r;
	size_t k, len, end, an;
	char *in;

	(void)state;
	for (k = 0; k < DT_NSMUGGLE; k++) {
		const struct dt_smuggle *sm = &dt_smuggles[k];

		in = dt_sm_build(sm, &len);
		end = dt_ref_end(in, len);
		an = dt_first_anomaly(in, len);
		dt_check(in, len, &cfg, &r);
		if (r.err !=
		    (sm->is_nul ? EDGE_DATA_E_NUL : EDGE_DATA_E_BARE_NEWLINE))
			fail_msg("%s: err %d", sm->name, r.err);
		/* the edge ends where a strict reader ends; for a fake end
		 * that is the real end after the smuggled message */
		assert_true(r.is_done);
		assert_int_equal(r.used, end);
		if (!sm->is_real_end)
			assert_int_equal(r.used, len - 6);
		/* nothing from the anomaly on, and a prefix of the input */
		assert_true(r.wire.len <= an);
		if (r.wire.len > 0)
			assert_memory_equal(r.wire.p, in, r.wire.len);
		dt_wire_no_end(&r);
		dt_free(&r);
		mx_free(in);
	}
	assert_string_equal(edge_data_reply(EDGE_DATA_E_BARE_NEWLINE),
	    "550 5.6.11 bare newline in message");
}

/* test_smuggling_normalize_wire_has_one_end - normalize: WIRE holds exactly one
 * end */
static void
test_smuggling_normalize_wire_has_one_end(void **state)
{
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_NORMALIZE, 1000, DT_BIG);
	struct dt_res r;
	size_t k, len, end;
	char *in;

	(void)state;
	for (k = 0; k < DT_NSMUGGLE; k++) {
		const struct dt_smuggle *sm = &dt_smuggles[k];

		in = dt_sm_build(sm, &len);
		end = dt_ref_end(in, len);
		dt_check(in, len, &cfg, &r);
		assert_true(r.is_done);
		assert_int_equal(r.used, end);
		if (sm->is_nul) {
			assert_int_equal(r.err, EDGE_DATA_E_NUL);
			dt_wire_no_end(&r);
		} else {
			if (r.err != EDGE_DATA_OK)
				fail_msg("%s: err %d", sm->name, r.err);
			assert_true(r.bare_newlines > 0);
			dt_wire_one_end(&r);
			dt_free(&r);
			dt_expect_clean(in, len, EDGE_DATA_NORMALIZE);
			mx_free(in);
			continue;
		}
		dt_free(&r);
		mx_free(in);
	}
}

/* test_smuggling_lf_dot_lf_normalized_to_stuffed_dot_line - "\n.\n" becomes
 * "..\r\n" on the wire */
static void
test_smuggling_lf_dot_lf_normalized_to_stuffed_dot_line(void **state)
{
	static const char in[] = "a\n.\nb\r\n.\r\n";
	static const char wire[] = "a\r\n..\r\nb\r\n";
	static const char content[] = "a\r\n.\r\nb\r\n";
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_NORMALIZE, 1000, DT_BIG);
	struct dt_res r;

	(void)state;
	dt_check(S(in), &cfg, &r);
	assert_int_equal(r.err, EDGE_DATA_OK);
	assert_int_equal(r.used, sizeof(in) - 1);
	assert_int_equal(r.wire.len, sizeof(wire) - 1);
	assert_memory_equal(r.wire.p, wire, r.wire.len);
	assert_int_equal(r.content.len, sizeof(content) - 1);
	assert_memory_equal(r.content.p, content, r.content.len);
	assert_int_equal(r.bare_newlines, 2);
	assert_int_equal(r.lines, 3);
	dt_free(&r);
}

/* test_dot_lf_at_start_is_not_an_end - ".\n" and ".\r" as the first line */
static void
test_dot_lf_at_start_is_not_an_end(void **state)
{
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 1000, DT_BIG);
	struct dt_res r;

	(void)state;
	/* strict: flagged, the held dot is never sent */
	dt_expect_fail(
	    S(".\nx\r\n.\r\n"), &cfg, EDGE_DATA_E_BARE_NEWLINE, "", 0, 8);
	dt_expect_fail(
	    S(".\rx\r\n.\r\n"), &cfg, EDGE_DATA_E_BARE_NEWLINE, "", 0, 8);
	cfg.mode = EDGE_DATA_NORMALIZE;
	dt_check(S(".\nx\r\n.\r\n"), &cfg, &r);
	assert_int_equal(r.err, EDGE_DATA_OK);
	assert_int_equal(r.used, 8);
	assert_int_equal(r.wire.len, 7);
	assert_memory_equal(r.wire.p, "..\r\nx\r\n", 7);
	dt_wire_one_end(&r);
	dt_free(&r);
	/* a lone dot after a bare newline, ended by CRLF: still no end */
	dt_expect_clean(S("\n.\r\n.\r\n"), EDGE_DATA_NORMALIZE);
	dt_expect_clean(S("\r.\r\n.\r\n"), EDGE_DATA_NORMALIZE);
}

/* test_strict_bare_lf_cut_exactly_before_it - strict WIRE ends right before the
 * anomaly */
static void
test_strict_bare_lf_cut_exactly_before_it(void **state)
{
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 1000, DT_BIG);

	(void)state;
	dt_expect_fail(
	    S("ab\ncd\r\n.\r\n"), &cfg, EDGE_DATA_E_BARE_NEWLINE, S("ab"), 10);
	dt_expect_fail(
	    S("ab\rcd\r\n.\r\n"), &cfg, EDGE_DATA_E_BARE_NEWLINE, S("ab"), 10);
	dt_expect_fail(S("ab\r\n.x\ncd\r\n.\r\n"), &cfg,
	    EDGE_DATA_E_BARE_NEWLINE, S("ab\r\n.x"), 14);
	/* unterminated: error flagged, no end yet */
	dt_expect_fail(S("ab\r\r"), &cfg, EDGE_DATA_E_BARE_NEWLINE, S("ab"), 4);
}

/* test_normalize_bare_cr_and_crlf_mix - mixed bare CR, bare LF and CRLF
 * re-framed */
static void
test_normalize_bare_cr_and_crlf_mix(void **state)
{
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_NORMALIZE, 1000, DT_BIG);
	struct dt_res r;

	(void)state;
	/* "\n.\r\n" is no end: the dot line follows a bare LF */
	dt_check(S("\n\n\n.\r\n"), &cfg, &r);
	assert_false(r.is_done);
	assert_int_equal(r.wire.len, 10);
	assert_memory_equal(r.wire.p, "\r\n\r\n\r\n..\r\n", 10);
	dt_free(&r);
	dt_expect_clean(S("a\rb\nc\r\r\nd\n\r\n.\r\n"), EDGE_DATA_NORMALIZE);
	dt_expect_clean(S("\r\r\r\n.\r\n"), EDGE_DATA_NORMALIZE);
	dt_expect_clean(S("\n\n\n.\r\n\r\n.\r\n"), EDGE_DATA_NORMALIZE);
	dt_expect_clean(S(".\r\r\n.\r\n"), EDGE_DATA_NORMALIZE);
	dt_expect_clean(S("..\n..\r..\r\n.\r\n"), EDGE_DATA_NORMALIZE);
}

/* dt_rand - xorshift64, deterministic */
static uint64_t
dt_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* test_random_messages_match_reference_model - random messages against the slow
 * reference */
static void
test_random_messages_match_reference_model(void **state)
{
	static const char alpha[] = "ab.\r\n";
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	struct dt_stream w, c;
	char buf[80];
	size_t len, i, end;
	int iter, mode;

	(void)state;
	for (iter = 0; iter < 600; iter++) {
		len = 1 + dt_rand(&seed) % 40;
		for (i = 0; i < len; i++)
			buf[i] = alpha[dt_rand(&seed) % 5];
		memcpy(buf + len, "\r\n.\r\nZ", 6);
		len += 6;
		for (mode = 0; mode < 2; mode++) {
			memset(&w, 0, sizeof(w));
			memset(&c, 0, sizeof(c));
			end = dt_ref_model(
			    buf, len, (enum edge_data_mode)mode, &w, &c);
			mx_free(w.p);
			mx_free(c.p);
			if (end > 0) {
				dt_expect_clean(
				    buf, len, (enum edge_data_mode)mode);
			} else {
				struct edge_data_cfg cfg = dt_cfg(
				    (enum edge_data_mode)mode, 1000, DT_BIG);
				struct dt_res r;

				dt_check(buf, len, &cfg, &r);
				assert_int_equal(
				    r.err, EDGE_DATA_E_BARE_NEWLINE);
				assert_int_equal(r.used, dt_ref_end(buf, len));
				if (r.wire.len > 0)
					assert_memory_equal(
					    r.wire.p, buf, r.wire.len);
				assert_true(
				    r.wire.len <= dt_first_anomaly(buf, len));
				dt_free(&r);
			}
		}
	}
}

/* test_init_rejects_bad_config - line_max floor, NULL callback, unknown mode */
static void
test_init_rejects_bad_config(void **state)
{
	struct edge_data_cfg cfg = dt_cfg(EDGE_DATA_STRICT, 2, DT_BIG);
	struct edge_data d;
	struct dt_res r;

	(void)state;
	assert_int_equal(edge_data_init(&d, &cfg, dt_collect, &r), MX_EINVAL);
	cfg.line_max = 3;
	assert_int_equal(edge_data_init(&d, &cfg, NULL, &r), MX_EINVAL);
	cfg.mode = (enum edge_data_mode)7;
	assert_int_equal(edge_data_init(&d, &cfg, dt_collect, &r), MX_EINVAL);
	cfg.mode = EDGE_DATA_NORMALIZE;
	assert_int_equal(edge_data_init(&d, &cfg, dt_collect, &r), 0);
}

/* test_reply_and_names_never_2xx - reply texts and counter tokens */
static void
test_reply_and_names_never_2xx(void **state)
{
	(void)state;
	assert_string_equal(
	    edge_data_reply(EDGE_DATA_OK), "451 4.3.0 Internal error");
	assert_string_equal(
	    edge_data_strerror(EDGE_DATA_E_BARE_NEWLINE), "bare_newline");
	assert_string_equal(edge_data_strerror(EDGE_DATA_E_NUL), "nul");
	assert_string_equal(
	    edge_data_strerror(EDGE_DATA_E_LINE_TOO_LONG), "line_too_long");
	assert_string_equal(edge_data_strerror(EDGE_DATA_E_TOO_BIG), "too_big");
	assert_string_equal(edge_data_strerror(EDGE_DATA_OK), "ok");
}

/* main - run the group */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_message_ends_at_first_line),
	    cmocka_unit_test(
	        test_simple_message_wire_is_identity_without_final_dot),
	    cmocka_unit_test(
	        test_clean_chunk_gives_one_zero_copy_callback_per_stream),
	    cmocka_unit_test(test_dot_stuffing_removed_in_content_kept_on_wire),
	    cmocka_unit_test(test_pipelined_bytes_after_end_returned),
	    cmocka_unit_test(test_end_needs_crlf_dot_crlf_exactly),
	    cmocka_unit_test(test_3kb_line_passes_untouched_without_buffering),
	    cmocka_unit_test(test_line_at_default_cap_passes),
	    cmocka_unit_test(
	        test_line_over_default_cap_fails_550_and_stops_wire),
	    cmocka_unit_test(test_line_cap_small_at_and_over),
	    cmocka_unit_test(test_size_at_limit_passes),
	    cmocka_unit_test(test_size_over_limit_fails_552),
	    cmocka_unit_test(test_nul_fails_550_and_stops_wire),
	    cmocka_unit_test(test_first_error_sticks),
	    cmocka_unit_test(
	        test_smuggling_strict_flags_and_sends_nothing_after),
	    cmocka_unit_test(test_smuggling_normalize_wire_has_one_end),
	    cmocka_unit_test(
	        test_smuggling_lf_dot_lf_normalized_to_stuffed_dot_line),
	    cmocka_unit_test(test_dot_lf_at_start_is_not_an_end),
	    cmocka_unit_test(test_strict_bare_lf_cut_exactly_before_it),
	    cmocka_unit_test(test_normalize_bare_cr_and_crlf_mix),
	    cmocka_unit_test(test_random_messages_match_reference_model),
	    cmocka_unit_test(test_init_rejects_bad_config),
	    cmocka_unit_test(test_reply_and_names_never_2xx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
