/*
 * proto_fp.c - near-duplicate fingerprint: one-permutation min-hash
 *
 * Each shingle hash (64 bits, from proto_text.c) falls into one of
 * PROTO_FP_K bins by its top bits; a bin keeps the smallest remaining
 * value seen (one-permutation hashing, Li, Owen and Zhang 2012): one
 * compare per shingle instead of K hash functions. Empty bins are filled
 * by "optimal densification" (Shrivastava 2017): empty bin i borrows the
 * value of the first non-empty bin in a fixed pseudo-random probe
 * sequence of i, the same for every message. The fraction of equal bins
 * then estimates the Jaccard similarity of the two shingle sets. Bands of
 * PROTO_FP_ROWS consecutive bins are hashed into the store keys (LSH).
 * docs/content.md gives the exact arithmetic mxctl must reproduce.
 * Trust: input is hash values only. Limits: fixed arrays; densification
 * probes at most PROTO_FP_PROBES times per bin, then scans linearly.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/proto_content_int.h"

#define PROTO_FP_KBITS 7 /* log2(PROTO_FP_K) */
#define PROTO_FP_VMASK ((UINT64_C(1) << (64 - PROTO_FP_KBITS)) - 1)
#define PROTO_FP_EMPTY UINT64_MAX
#define PROTO_FP_PROBES 4096 /* densification probes before a scan */

_Static_assert(PROTO_FP_K == 1 << PROTO_FP_KBITS, "K is 2^KBITS");
_Static_assert(PROTO_FP_BANDS *PROTO_FP_ROWS == PROTO_FP_K, "bands cover K");
_Static_assert(PROTO_FP_BANDS <= 255, "band index fits a byte");

/* proto_fp_mix - splitmix64 finaliser */
uint64_t
proto_fp_mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* proto_fp_acc_init - all bins empty */
void
proto_fp_acc_init(struct proto_fp_acc *a)
{
	size_t i;

	for (i = 0; i < PROTO_FP_K; i++)
		a->bins[i] = PROTO_FP_EMPTY;
	a->shingles = 0;
}

/* proto_fp_acc_add - top bits pick the bin, the rest competes */
void
proto_fp_acc_add(struct proto_fp_acc *a, uint64_t h)
{
	uint64_t v = h & PROTO_FP_VMASK;
	size_t b = (size_t)(h >> (64 - PROTO_FP_KBITS));

	if (v < a->bins[b])
		a->bins[b] = v;
	if (a->shingles < UINT32_MAX)
		a->shingles++;
}

/* proto_fp_borrow - densification: the value empty bin i takes */
static uint64_t
proto_fp_borrow(const struct proto_fp_acc *a, size_t i)
{
	uint64_t t;
	size_t j;

	for (t = 1; t <= PROTO_FP_PROBES; t++) {
		j = (size_t)(proto_fp_mix((uint64_t)i << 32 | t) &
		             (PROTO_FP_K - 1));
		if (a->bins[j] != PROTO_FP_EMPTY)
			return a->bins[j];
	}
	for (j = 1; j < PROTO_FP_K; j++)
		if (a->bins[(i + j) % PROTO_FP_K] != PROTO_FP_EMPTY)
			return a->bins[(i + j) % PROTO_FP_K];
	return 0; /* not reached: the caller checked a bin is filled */
}

/* proto_fp_final - signature and band keys of an accumulator */
void
proto_fp_final(const struct proto_fp_acc *a, struct proto_fp *out)
{
	uint64_t dens[PROTO_FP_K];
	size_t i, b, r;
	unsigned filled = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < PROTO_FP_K; i++)
		if (a->bins[i] != PROTO_FP_EMPTY)
			filled++;
	out->bins_filled = (uint16_t)filled;
	out->shingles = a->shingles;
	if (filled < PROTO_FP_MIN_BINS)
		return;
	for (i = 0; i < PROTO_FP_K; i++)
		dens[i] = a->bins[i] != PROTO_FP_EMPTY ? a->bins[i]
		                                       : proto_fp_borrow(a, i);
	for (i = 0; i < PROTO_FP_K; i++)
		out->sig[i] = (uint32_t)dens[i];
	for (b = 0; b < PROTO_FP_BANDS; b++) {
		uint64_t x = (uint64_t)b + 1;
		uint8_t *k = out->keys[b];

		for (r = 0; r < PROTO_FP_ROWS; r++)
			x = proto_fp_mix(x ^ dens[b * PROTO_FP_ROWS + r]);
		k[0] = PROTO_FP_VERSION;
		k[1] = (uint8_t)b;
		for (r = 0; r < 8; r++)
			k[2 + r] = (uint8_t)(x >> (56 - 8 * r));
	}
	out->is_valid = 1;
}

/* proto_fp_similarity - equal bins of two valid fingerprints */
unsigned
proto_fp_similarity(const struct proto_fp *a, const struct proto_fp *b)
{
	unsigned n = 0;
	size_t i;

	if (!a->is_valid || !b->is_valid)
		return 0;
	for (i = 0; i < PROTO_FP_K; i++)
		n += a->sig[i] == b->sig[i];
	return n;
}

/* proto_fp_sig8 - low byte of each densified bin */
void
proto_fp_sig8(const struct proto_fp *fp, uint8_t out[PROTO_FP_SIG_LEN])
{
	size_t i;

	for (i = 0; i < PROTO_FP_K; i++)
		out[i] = (uint8_t)fp->sig[i];
}

/* proto_fp_similarity8 - equal bins against a compact signature */
unsigned
proto_fp_similarity8(const struct proto_fp *fp, const uint8_t *sig8, size_t len)
{
	unsigned n = 0;
	size_t i;

	if (!fp->is_valid || len != PROTO_FP_SIG_LEN)
		return 0;
	for (i = 0; i < PROTO_FP_K; i++)
		n += (uint8_t)fp->sig[i] == sig8[i];
	return n;
}

/* proto_fp_band_hit - a shared band key, as an edge lookup would find */
int
proto_fp_band_hit(const struct proto_fp *a, const struct proto_fp *b)
{
	size_t i;

	if (!a->is_valid || !b->is_valid)
		return 0;
	for (i = 0; i < PROTO_FP_BANDS; i++)
		if (memcmp(a->keys[i], b->keys[i], PROTO_FP_KEY_LEN) == 0)
			return 1;
	return 0;
}

/* proto_fp_match - band hit confirmed by the similarity threshold */
int
proto_fp_match(const struct proto_fp *a, const struct proto_fp *b)
{
	return proto_fp_band_hit(a, b) &&
	       proto_fp_similarity(a, b) >= PROTO_FP_SIM_MIN;
}
