/*
 * fuzz_html.c - libFuzzer target for the HTML to text converter
 *
 * The document (the input after its first byte) is converted whole and in
 * pieces the first byte chooses; the visible text and the sequence of
 * captured attributes must be the same. Captured values stay within
 * PROTO_HTML_VAL_MAX, and when the document is valid UTF-8 the text is
 * too (references decode to whole characters).
 * Trust: arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto_content_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX 16384
#define FZ_OUT (4 * FZ_MAX + 64)

struct fz_sink {
	uint8_t text[FZ_OUT];
	size_t ntext;
	uint8_t attr[FZ_OUT];
	size_t nattr;
};

static struct fz_sink fz_s1, fz_s2;
static uint8_t fz_tmp[3 * FZ_OUT + 64];
static struct proto_html fz_h;

/* fz_text - collect visible text */
static void
fz_text(void *arg, const uint8_t *p, size_t n)
{
	struct fz_sink *s = arg;

	if (n == 0 || s->ntext + n > FZ_OUT)
		abort();
	memcpy(s->text + s->ntext, p, n);
	s->ntext += n;
}

/* fz_attr - collect captured values with their kind */
static void
fz_attr(void *arg, int kind, const uint8_t *p, size_t n)
{
	struct fz_sink *s = arg;

	if (n == 0 || n > PROTO_HTML_VAL_MAX ||
	    (kind != PROTO_HTML_URL && kind != PROTO_HTML_SCAN) ||
	    s->nattr + n + 2 > FZ_OUT)
		abort();
	s->attr[s->nattr++] = (uint8_t)kind;
	memcpy(s->attr + s->nattr, p, n);
	s->nattr += n;
	s->attr[s->nattr++] = 0;
}

/* fz_utf8_ok - strict UTF-8 conversion returns the same bytes */
static int
fz_utf8_ok(const uint8_t *p, size_t n)
{
	struct proto_cs cs;
	size_t k;

	proto_decode_cs_init(&cs, PROTO_CS_UTF8);
	k = proto_decode_cs(&cs, p, n, fz_tmp);
	k += proto_decode_cs_end(&cs, fz_tmp + k);
	return k == n && memcmp(fz_tmp, p, n) == 0;
}

/* LLVMFuzzerTestOneInput - whole versus cut */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_html_sink o1 = {fz_text, fz_attr, &fz_s1};
	struct proto_html_sink o2 = {fz_text, fz_attr, &fz_s2};
	uint64_t seed;
	size_t i, k;
	uint8_t mod;

	if (size < 1)
		return 0;
	mod = data[0];
	seed = mod;
	data++;
	size--;
	if (size > FZ_MAX)
		size = FZ_MAX;
	fz_s1.ntext = fz_s1.nattr = fz_s2.ntext = fz_s2.nattr = 0;
	proto_html_init(&fz_h);
	proto_html_feed(&fz_h, data, size, &o1);
	proto_html_end(&fz_h, &o1);
	proto_html_init(&fz_h);
	for (i = 0; i < size; i += k) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		k = 1 + (size_t)((seed >> 33) % ((size_t)mod + 1));
		if (k > size - i)
			k = size - i;
		proto_html_feed(&fz_h, data + i, k, &o2);
	}
	proto_html_end(&fz_h, &o2);
	if (fz_s1.ntext != fz_s2.ntext || fz_s1.nattr != fz_s2.nattr ||
	    memcmp(fz_s1.text, fz_s2.text, fz_s1.ntext) != 0 ||
	    memcmp(fz_s1.attr, fz_s2.attr, fz_s1.nattr) != 0)
		abort();
	if (fz_utf8_ok(data, size) && !fz_utf8_ok(fz_s1.text, fz_s1.ntext))
		abort();
	return 0;
}
