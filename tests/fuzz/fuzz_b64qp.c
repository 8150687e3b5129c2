/*
 * fuzz_b64qp.c - libFuzzer target for the streaming decoders
 *
 * Base64, quoted-printable and the charset converters are fed the input
 * whole and cut at points the first byte chooses: the output must be the
 * same (the edge cuts wherever TCP did), within the documented room, and
 * the charset output valid UTF-8. Base64 also round-trips: encoding the
 * input and decoding it gives the input back with no junk flagged.
 * Trust: arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto_content_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX 8192

static uint8_t fz_a[3 * FZ_MAX + 64], fz_b[3 * FZ_MAX + 64]; /* room */
static char fz_enc[FZ_MAX * 2];

/* fz_cut - next cut length from the seed */
static size_t
fz_cut(uint64_t *seed, size_t left, uint8_t mod)
{
	size_t k;

	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	k = 1 + (size_t)((*seed >> 33) % ((size_t)mod + 1));
	return k < left ? k : left;
}

/* fz_b64 - whole versus cut */
static void
fz_b64(const uint8_t *d, size_t n, uint8_t mod)
{
	struct proto_b64 s1, s2;
	size_t o1, o2 = 0, i, k;
	uint64_t seed = mod;

	proto_decode_b64_init(&s1);
	o1 = proto_decode_b64(&s1, d, n, fz_a);
	o1 += proto_decode_b64_end(&s1, fz_a + o1);
	if (o1 > n + 3)
		abort();
	proto_decode_b64_init(&s2);
	for (i = 0; i < n; i += k) {
		k = fz_cut(&seed, n - i, mod);
		o2 += proto_decode_b64(&s2, d + i, k, fz_b + o2);
	}
	o2 += proto_decode_b64_end(&s2, fz_b + o2);
	if (o1 != o2 || memcmp(fz_a, fz_b, o1) != 0 || s1.is_bad != s2.is_bad)
		abort();
}

/* fz_qp - whole versus cut, output room */
static void
fz_qp(const uint8_t *d, size_t n, uint8_t mod)
{
	struct proto_qp s1, s2;
	size_t o1, o2 = 0, i, k, e;
	uint64_t seed = mod;

	proto_decode_qp_init(&s1);
	o1 = proto_decode_qp(&s1, d, n, fz_a);
	if (o1 > 2 * n + PROTO_QP_SLACK)
		abort();
	e = proto_decode_qp_end(&s1, fz_a + o1);
	if (e > PROTO_QP_SLACK)
		abort();
	o1 += e;
	proto_decode_qp_init(&s2);
	for (i = 0; i < n; i += k) {
		k = fz_cut(&seed, n - i, mod);
		e = proto_decode_qp(&s2, d + i, k, fz_b + o2);
		if (e > 2 * k + PROTO_QP_SLACK)
			abort();
		o2 += e;
	}
	o2 += proto_decode_qp_end(&s2, fz_b + o2);
	if (o1 != o2 || memcmp(fz_a, fz_b, o1) != 0)
		abort();
}

/* fz_cs - each charset: whole versus cut, valid UTF-8 out */
static void
fz_cs(const uint8_t *d, size_t n, uint8_t mod)
{
	int id;

	for (id = PROTO_CS_AUTO; id <= PROTO_CS_LATIN9; id++) {
		struct proto_cs s1, s2, v;
		size_t o1, o2 = 0, i, k, e;
		uint64_t seed = mod;

		proto_decode_cs_init(&s1, id);
		o1 = proto_decode_cs(&s1, d, n, fz_a);
		o1 += proto_decode_cs_end(&s1, fz_a + o1);
		if (o1 > 3 * n + PROTO_CS_SLACK)
			abort();
		proto_decode_cs_init(&s2, id);
		for (i = 0; i < n; i += k) {
			k = fz_cut(&seed, n - i, mod);
			e = proto_decode_cs(&s2, d + i, k, fz_b + o2);
			if (e > 3 * k + PROTO_CS_SLACK)
				abort();
			o2 += e;
		}
		o2 += proto_decode_cs_end(&s2, fz_b + o2);
		if (o1 != o2 || memcmp(fz_a, fz_b, o1) != 0)
			abort();
		/* the output is valid UTF-8: strict conversion keeps it */
		proto_decode_cs_init(&v, PROTO_CS_UTF8);
		k = proto_decode_cs(&v, fz_a, o1, fz_b);
		k += proto_decode_cs_end(&v, fz_b + k);
		if (k != o1 || memcmp(fz_a, fz_b, o1) != 0)
			abort();
	}
}

/* LLVMFuzzerTestOneInput - every decoder, then the base64 round trip */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_b64 s;
	size_t e, o;
	uint8_t mod;

	if (size < 1)
		return 0;
	mod = data[0];
	data++;
	size--;
	if (size > FZ_MAX)
		size = FZ_MAX;
	fz_b64(data, size, mod);
	fz_qp(data, size, mod);
	fz_cs(data, size, mod);
	e = proto_decode_b64_encode(data, size, fz_enc, sizeof(fz_enc));
	if (size > 0 && e == 0)
		abort();
	if (proto_decode_b64_encode(data, size, fz_enc, e > 0 ? e - 1 : 0) !=
	        0 &&
	    size > 0)
		abort();
	proto_decode_b64_init(&s);
	o = proto_decode_b64(&s, (const uint8_t *)fz_enc, e, fz_a);
	o += proto_decode_b64_end(&s, fz_a + o);
	if (o != size || memcmp(fz_a, data, size) != 0 || s.is_bad)
		abort();
	return 0;
}
