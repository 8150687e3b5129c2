/*
 * fuzz_header.c - libFuzzer target for header text decoding
 *
 * Runs proto_decode_words (RFC 2047 encoded words, charsets, raw 8-bit)
 * on the input with several output caps and the input as a header block
 * through the analyser. Oracle: the output is valid UTF-8 without control
 * characters and never longer than the cap; a shorter cap gives a prefix
 * of the longer result (cutting is on character boundaries only); the
 * analyser's Subject is the decoded value, trimmed and capped.
 * Trust: arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto_content.h"
#include "proto/proto_content_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CAP 4096

static char fz_out[FZ_CAP], fz_small[FZ_CAP];
static uint8_t fz_u8[3 * FZ_CAP + PROTO_CS_SLACK];
static uint8_t fz_msg[PROTO_CONTENT_HDR_MAX + 64];

/* fz_utf8_ok - valid UTF-8 with no control characters */
static int
fz_utf8_ok(const char *p, size_t n)
{
	struct proto_cs cs;
	size_t k, i;

	for (i = 0; i < n; i++)
		if ((uint8_t)p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	proto_decode_cs_init(&cs, PROTO_CS_UTF8);
	k = proto_decode_cs(&cs, (const uint8_t *)p, n, fz_u8);
	k += proto_decode_cs_end(&cs, fz_u8 + k);
	return k == n && memcmp(fz_u8, p, n) == 0;
}

/* LLVMFuzzerTestOneInput - decode, check, decode shorter, compare */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {0, 1, 3, 17, 255};
	struct proto_content_result r;
	size_t n, m, i;
	int is_cut = 0, is_cut2;

	if (size > PROTO_CONTENT_HDR_MAX)
		size = PROTO_CONTENT_HDR_MAX;
	n = proto_decode_words(data, size, fz_out, sizeof(fz_out), &is_cut);
	if (n > sizeof(fz_out) || !fz_utf8_ok(fz_out, n))
		abort();
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		m = proto_decode_words(data, size, fz_small, caps[i], &is_cut2);
		if (m > caps[i] || memcmp(fz_small, fz_out, m) != 0 ||
		    (m < n && !is_cut2) || !fz_utf8_ok(fz_small, m))
			abort();
	}
	/* the same bytes as a Subject header of a message */
	memcpy(fz_msg, "Subject:", 8);
	for (i = 0; i < size; i++) /* keep it on one header line */
		fz_msg[8 + i] =
		    (data[i] == '\r' || data[i] == '\n') ? ' ' : data[i];
	memcpy(fz_msg + 8 + size, "\r\n\r\n", 4);
	if (proto_content_analyze(fz_msg, size + 12, &r) != 0)
		abort();
	if (r.subject_len > PROTO_EV_SUBJECT_MAX ||
	    !fz_utf8_ok(r.subject, r.subject_len) ||
	    (r.subject_len > 0 &&
	        (r.subject[0] == ' ' || r.subject[r.subject_len - 1] == ' ')))
		abort();
	return 0;
}
