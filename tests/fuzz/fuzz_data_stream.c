/*
 * fuzz_data_stream.c - libFuzzer target for the DATA stream scanner
 * (edge_data.c): end of data, dot-unstuffing, bare newlines, limits
 *
 * Input: byte 0 picks the mode (bit 0), the line cap (bits 1-3) and the
 * size cap (bits 4-6); byte 1 seeds the chunk splitter; the rest is what
 * the sender sends after "354". It is fed whole, in pseudo-random chunks
 * and in 1-byte chunks. abort() when:
 *   - the feeds disagree (WIRE, CONTENT, end offset, error, counters);
 *   - the end offset is not where a strict reference scanner ends data;
 *   - WIRE holds an end of data, a bare CR or LF, or a NUL: in either
 *     mode the destination must never see a boundary the edge did not;
 *   - without an error: WIRE + ".\r\n" does not end exactly at its end,
 *     or WIRE/CONTENT differ from a slow line-by-line reference model
 *     (in strict mode WIRE must be the input minus the final ".\r\n");
 *   - with an error in strict mode: WIRE is not a prefix of the input
 *     ending before its first anomaly.
 * Trust: arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mx_err.h"

#include "edge/edge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a bounded output stream; overflowing it is a bug (abort) */
struct fz_stream {
	char *p;    /* bytes */
	size_t len; /* used */
	size_t cap; /* allocated: 2 * input + 8, the re-framing worst case */
};

/* one feed's results */
struct fz_res {
	struct fz_stream wire;
	struct fz_stream content;
	size_t used;
	int is_done;
	enum edge_data_err err;
	uint64_t lines, content_bytes, wire_bytes, bare_newlines;
	size_t line_len_max;
};

/* fz_add - append to a bounded stream */
static void
fz_add(struct fz_stream *s, const char *p, size_t n)
{
	if (n > s->cap - s->len)
		abort();
	if (n > 0)
		memcpy(s->p + s->len, p, n);
	s->len += n;
}

/* fz_collect - the output callback */
static void
fz_collect(void *arg, enum edge_data_kind kind, const char *p, size_t n)
{
	struct fz_res *r = arg;

	if (n == 0)
		abort();
	fz_add(kind == EDGE_DATA_WIRE ? &r->wire : &r->content, p, n);
}

/* fz_rand - xorshift32 */
static uint32_t
fz_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * fz_feed - feed in[0..len): how 0 = whole, 1 = 1-byte chunks,
 * 2 = pseudo-random chunks from seed
 */
static void
fz_feed(const char *in, size_t len, const struct edge_data_cfg *cfg, int how,
    uint32_t seed, struct fz_res *r)
{
	struct edge_data d;
	size_t pos = 0, n, used;

	r->wire.cap = r->content.cap = 2 * len + 8;
	r->wire.p = malloc(r->wire.cap);
	r->content.p = malloc(r->content.cap);
	if (r->wire.p == NULL || r->content.p == NULL)
		abort();
	if (edge_data_init(&d, cfg, fz_collect, r) != 0)
		abort();
	seed |= 1;
	do {
		n = len - pos;
		if (how == 1 && n > 1)
			n = 1;
		else if (how == 2 && n > 0)
			n = 1 + fz_rand(&seed) % (n < 64 ? n : 64);
		if (edge_data_feed(&d, in + pos, n, &used) != 0)
			abort();
		if (used > n || (used < n && !d.is_done))
			abort();
		pos += used;
	} while (pos < len && !d.is_done);
	if (d.is_done && edge_data_feed(&d, "x", 1, &used) != MX_ESTATE)
		abort();
	r->used = pos;
	r->is_done = d.is_done;
	r->err = d.err;
	r->lines = d.lines;
	r->content_bytes = d.content_bytes;
	r->wire_bytes = d.wire_bytes;
	r->bare_newlines = d.bare_newlines;
	r->line_len_max = d.line_len_max;
	if (d.raw_bytes != pos || d.wire_bytes != r->wire.len ||
	    d.content_bytes != r->content.len)
		abort();
	if (d.err == EDGE_DATA_OK && d.line_len_max > cfg->line_max)
		abort();
	if (d.content_bytes > cfg->size_max)
		abort();
}

/* fz_same - two feeds agree */
static void
fz_same(const struct fz_res *a, const struct fz_res *b)
{
	if (a->used != b->used || a->is_done != b->is_done ||
	    a->err != b->err || a->wire.len != b->wire.len ||
	    a->content.len != b->content.len || a->lines != b->lines ||
	    a->bare_newlines != b->bare_newlines ||
	    a->line_len_max != b->line_len_max)
		abort();
	if (memcmp(a->wire.p, b->wire.p, a->wire.len) != 0 ||
	    memcmp(a->content.p, b->content.p, a->content.len) != 0)
		abort();
}

/* fz_free - release a result */
static void
fz_free(struct fz_res *r)
{
	free(r->wire.p);
	free(r->content.p);
}

/* fz_ref_end - strict reference: offset after the first end, or 0 */
static size_t
fz_ref_end(const char *p, size_t len)
{
	const char *q = p, *e = p + len;

	if (len >= 3 && memcmp(p, ".\r\n", 3) == 0)
		return 3;
	while (
	    e - q >= 5 && (q = memchr(q, '\r', (size_t)(e - q - 4))) != NULL) {
		if (memcmp(q, "\r\n.\r\n", 5) == 0)
			return (size_t)(q - p) + 5;
		q++;
	}
	return 0;
}

/* fz_first_anomaly - first bare CR, bare LF or NUL */
static size_t
fz_first_anomaly(const char *p, size_t len)
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

/* fz_wire_clean - no NUL, no bare CR or LF, no end of data in WIRE */
static void
fz_wire_clean(const struct fz_stream *w)
{
	size_t i;

	for (i = 0; i < w->len; i++) {
		if (w->p[i] == '\0')
			abort();
		if (w->p[i] == '\r' && (i + 1 >= w->len || w->p[i + 1] != '\n'))
			abort();
		if (w->p[i] == '\n' && (i == 0 || w->p[i - 1] != '\r'))
			abort();
	}
	if (fz_ref_end(w->p, w->len) != 0)
		abort();
}

/*
 * fz_ref_model - the message as a slow line-by-line reader sees it: body
 * before the end split at CRLF (normalize: also bare CR, bare LF), each
 * line unstuffed for CONTENT, re-framed for WIRE
 */
static void
fz_ref_model(
    const char *in, size_t end, struct fz_stream *w, struct fz_stream *c)
{
	size_t body = end - 3, i = 0, s, tl;

	while (i < body) {
		s = i;
		while (i < body && in[i] != '\r' && in[i] != '\n')
			i++;
		if (i == body)
			abort();
		tl = (i + 1 < body && in[i] == '\r' && in[i + 1] == '\n') ? 2
		                                                          : 1;
		if (i - s == 1 && in[s] == '.') {
			fz_add(w, "..\r\n", 4);
			fz_add(c, ".\r\n", 3);
		} else {
			fz_add(w, in + s, i - s);
			fz_add(w, "\r\n", 2);
			if (i - s >= 2 && in[s] == '.')
				fz_add(c, in + s + 1, i - s - 1);
			else
				fz_add(c, in + s, i - s);
			fz_add(c, "\r\n", 2);
		}
		i += tl;
	}
}

/* LLVMFuzzerTestOneInput - feed three ways, compare, check the oracles */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t line_caps[8] = {
	    3, 4, 5, 8, 16, 80, 1000, EDGE_DATA_LINE_MAX_DEFAULT};
	static const uint64_t size_caps[8] = {
	    0, 1, 3, 7, 20, 100, 1000, UINT64_MAX};
	struct edge_data_cfg cfg;
	struct fz_res whole = {0}, ones = {0}, rnd = {0};
	struct fz_stream w = {0}, c = {0};
	const char *in;
	size_t len, end;

	if (size < 2)
		return 0;
	cfg.mode = (data[0] & 1) ? EDGE_DATA_NORMALIZE : EDGE_DATA_STRICT;
	cfg.line_max = line_caps[(data[0] >> 1) & 7];
	cfg.size_max = size_caps[(data[0] >> 4) & 7];
	in = (const char *)data + 2;
	len = size - 2;

	fz_feed(in, len, &cfg, 0, 0, &whole);
	fz_feed(in, len, &cfg, 1, 0, &ones);
	fz_feed(in, len, &cfg, 2, (uint32_t)data[1] * 2654435761u, &rnd);
	fz_same(&whole, &ones);
	fz_same(&whole, &rnd);

	end = fz_ref_end(in, len);
	if (whole.is_done != (end > 0) || whole.used != (end > 0 ? end : len))
		abort();
	fz_wire_clean(&whole.wire);
	if (whole.err != EDGE_DATA_OK && cfg.mode == EDGE_DATA_STRICT) {
		if (whole.wire.len > fz_first_anomaly(in, len) ||
		    memcmp(whole.wire.p, in, whole.wire.len) != 0)
			abort();
	}
	if (whole.err == EDGE_DATA_OK && whole.is_done) {
		if (whole.wire.len >= 2 &&
		    memcmp(whole.wire.p + whole.wire.len - 2, "\r\n", 2) != 0)
			abort();
		if (cfg.mode == EDGE_DATA_STRICT &&
		    (whole.wire.len != end - 3 ||
		        memcmp(whole.wire.p, in, whole.wire.len) != 0))
			abort();
		w.cap = c.cap = 2 * len + 8;
		w.p = malloc(w.cap);
		c.p = malloc(c.cap);
		if (w.p == NULL || c.p == NULL)
			abort();
		fz_ref_model(in, end, &w, &c);
		if (w.len != whole.wire.len || c.len != whole.content.len ||
		    memcmp(w.p, whole.wire.p, w.len) != 0 ||
		    memcmp(c.p, whole.content.p, c.len) != 0)
			abort();
		free(w.p);
		free(c.p);
	}
	fz_free(&whole);
	fz_free(&ones);
	fz_free(&rnd);
	return 0;
}
