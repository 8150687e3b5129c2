/*
 * proto_text.c - text normalisation, body hash and shingles
 *
 * Takes the UTF-8 text of the message's text parts (after transfer
 * decoding, charset folding and HTML conversion) and does two things in
 * one pass:
 * - the normalised text for the exact body hash: case folded, zero-width
 *   characters removed, every run of white space one space, parts
 *   separated by one space, no leading or trailing space; hashed with
 *   SHA-256 as it goes (never held whole);
 * - the words for the fingerprint, depersonalised: a word holding a digit
 *   (numbers, dates, amounts, order numbers, tokens), longer than
 *   PROTO_TEXT_WORD_MAX or of random-looking mixed case is dropped; a
 *   URL (from "scheme://" or a leading "www." to the next blank) is one
 *   placeholder word, so are e-mail addresses; each CJK character is a
 *   word. Each run of PROTO_FP_SHINGLE consecutive words is hashed and
 *   added to the min-hash (proto_fp.c). A name in a greeting changes only
 *   the few shingles that hold it.
 * Trust: text comes from hostile mail; malformed UTF-8 is read as U+FFFD.
 * Limits: a word's hash is accumulated, never its bytes; at most
 * PROTO_TEXT_QUEUE words wait for the end of their chunk (past that they
 * count as plain words); PROTO_TEXT_OUT bytes are staged for the digest.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/mx_err.h"
#include "proto/proto_content_int.h"

#define PROTO_FNV_BASIS UINT64_C(0xcbf29ce484222325)
#define PROTO_FNV_PRIME UINT64_C(0x100000001b3)
#define PROTO_SH_K1 UINT64_C(0x9e3779b97f4a7c15) /* shingle weights */
#define PROTO_SH_K2 UINT64_C(0xc2b2ae3d27d4eb4f)
#define PROTO_H_URL UINT64_C(0x55524c0000000001)   /* URL placeholder */
#define PROTO_H_EMAIL UINT64_C(0x454d4c0000000001) /* address placeholder */
#define PROTO_RANDOM_LEN 12  /* words this long may look random */
#define PROTO_RANDOM_FLIPS 4 /* case changes that make them so */

_Static_assert(PROTO_FP_SHINGLE == 3, "the window holds two words + one");

/* character classes */
enum {
	PROTO_TC_WS = 0, /* white space and controls */
	PROTO_TC_ZW,     /* invisible: removed */
	PROTO_TC_LOWER,  /* letter, lower case or caseless */
	PROTO_TC_UPPER,  /* letter, upper case (folds to another) */
	PROTO_TC_DIGIT,
	PROTO_TC_CJK,   /* ideograph, kana, hangul: a word by itself */
	PROTO_TC_PUNCT, /* separates words */
};

static const uint8_t proto_tc_ascii[128] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 6, 6, 6,
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6,
    6, 6, 6, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 6, 6, 6, 6, 6, 6, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 6, 6, 6, 6, 0};

/* proto_text_fold - simple case folding of the scripts spam uses most */
uint32_t
proto_text_fold(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
	if (cp < 0x100)
		return (cp >= 0xc0 && cp <= 0xde && cp != 0xd7) ? cp + 32 : cp;
	if (cp < 0x180) { /* Latin Extended-A: pairs */
		if (cp == 0x130)
			return 'i';
		if (cp == 0x178)
			return 0xff;
		if ((cp < 0x138 || (cp >= 0x14a && cp < 0x178)) && !(cp & 1))
			return cp + 1;
		if (((cp >= 0x139 && cp < 0x149) ||
		        (cp >= 0x179 && cp < 0x17f)) &&
		    (cp & 1))
			return cp + 1;
		return cp;
	}
	if (cp >= 0x386 && cp < 0x3d0) { /* Greek */
		if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2)
			return cp + 32;
		if (cp == 0x386)
			return 0x3ac;
		if (cp >= 0x388 && cp <= 0x38a)
			return cp + 37;
		if (cp == 0x38c)
			return 0x3cc;
		if (cp == 0x38e || cp == 0x38f)
			return cp + 63;
		if (cp == 0x3c2)
			return 0x3c3; /* final sigma */
		return cp;
	}
	if (cp >= 0x400 && cp < 0x430) /* Cyrillic */
		return cp < 0x410 ? cp + 80 : cp + 32;
	if (cp >= 0xff01 && cp <= 0xff5e) /* full-width ASCII */
		return proto_text_fold(cp - 0xfee0);
	return cp;
}

/* proto_text_class - class of a non-ASCII code point */
static int
proto_text_class(uint32_t cp)
{
	if (cp < 0xa0 || cp == 0xa0 || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202f || cp == 0x205f || cp == 0x3000)
		return PROTO_TC_WS;
	if (cp == 0xad || cp == 0x34f || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
	    cp == 0xfeff)
		return PROTO_TC_ZW;
	if (cp < 0xc0)
		return (cp == 0xaa || cp == 0xb5 || cp == 0xba)
		           ? PROTO_TC_LOWER
		           : PROTO_TC_PUNCT;
	if (cp == 0xd7 || cp == 0xf7)
		return PROTO_TC_PUNCT;
	if ((cp >= 0x2010 && cp <= 0x2bff) || (cp >= 0x3001 && cp <= 0x303f) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff01 && cp <= 0xff65) ||
	    (cp >= 0x1f000 && cp <= 0x1faff))
		return PROTO_TC_PUNCT;
	if ((cp >= 0x2e80 && cp <= 0x2fff) || (cp >= 0x3040 && cp <= 0x31ff) ||
	    (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) ||
	    (cp >= 0xac00 && cp <= 0xd7af) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xff66 && cp <= 0xff9f) || (cp >= 0x20000 && cp <= 0x2ffff))
		return PROTO_TC_CJK;
	return proto_text_fold(cp) != cp ? PROTO_TC_UPPER : PROTO_TC_LOWER;
}

/* proto_text_init - empty normaliser */
void
proto_text_init(struct proto_text *t, EVP_MD_CTX *sha, struct proto_fp_acc *acc)
{
	memset(t, 0, offsetof(struct proto_text, out));
	t->sha = sha;
	t->acc = acc;
	t->wh = PROTO_FNV_BASIS;
}

/* proto_text_flush - digest the staged normalised bytes */
int
proto_text_flush(struct proto_text *t)
{
	int ok = 1;

	if (t->out_len > 0)
		ok = EVP_DigestUpdate(t->sha, t->out, t->out_len);
	t->out_len = 0;
	return ok ? 0 : MX_EIO;
}

/* proto_text_shingle - one word into the window; full windows hashed */
static void
proto_text_shingle(struct proto_text *t, uint64_t h)
{
	if (t->nw == 2)
		proto_fp_acc_add(t->acc, proto_fp_mix(t->w1 * PROTO_SH_K1 ^
		                                      t->w2 * PROTO_SH_K2 ^ h));
	else
		t->nw++;
	t->w1 = t->w2;
	t->w2 = h;
}

/* proto_text_queue_flush - the chunk's waiting words are plain words */
static void
proto_text_queue_flush(struct proto_text *t)
{
	size_t i;

	for (i = 0; i < t->nq; i++)
		proto_text_shingle(t, t->queue[i]);
	t->nq = 0;
}

/* proto_text_word_end - filter the word and queue it */
static void
proto_text_word_end(struct proto_text *t)
{
	uint64_t h;
	int is_drop;

	if (t->wlen == 0)
		return;
	is_drop = t->wdigit || t->wlen > PROTO_TEXT_WORD_MAX ||
	          (t->wlen >= PROTO_RANDOM_LEN && t->wupper >= 2 &&
	              t->wlower >= 2 && t->wflips >= PROTO_RANDOM_FLIPS);
	h = proto_fp_mix(t->wh ^ t->wlen);
	if (t->cwords < UINT8_MAX)
		t->cwords++;
	if (t->catdot)
		t->cemail = 1;
	t->wh = PROTO_FNV_BASIS;
	t->wlen = 0;
	t->wdigit = t->wflips = t->wupper = t->wlower = t->wlastcase = 0;
	if (is_drop || t->cskip)
		return;
	if (t->nq == PROTO_TEXT_QUEUE) {
		proto_text_queue_flush(t);
		t->cfull = 1;
	}
	t->queue[t->nq++] = h;
}

/* proto_text_chunk_end - blank: settle what the chunk was */
static void
proto_text_chunk_end(struct proto_text *t)
{
	proto_text_word_end(t);
	if (t->cskip) {
		t->nq = 0;
	} else if (t->cemail && !t->cfull) {
		t->nq = 0;
		proto_text_shingle(t, PROTO_H_EMAIL);
	} else {
		proto_text_queue_flush(t);
	}
	t->cwords = t->cat = t->catdot = t->cemail = 0;
	t->cskip = t->cfull = t->cpos = 0;
	t->chead = t->clast = 0;
}

/* proto_text_url - the chunk is a URL: one placeholder, rest ignored */
static void
proto_text_url(struct proto_text *t)
{
	proto_text_word_end(t);
	if (t->cskip)
		return;
	t->nq = 0;
	proto_text_shingle(t, PROTO_H_URL);
	t->cskip = 1;
}

/* proto_text_punct - separator inside a chunk: '@', ':', '/', '.' */
static void
proto_text_punct(struct proto_text *t, uint32_t c)
{
	proto_text_word_end(t);
	if (c == '/' && (t->clast & 0xffffff) == (':' << 16 | '/' << 8 | '/'))
		proto_text_url(t);
	else if (c == '.' && t->cpos == 4 && t->chead == 0x7777772e) /* www. */
		proto_text_url(t);
	else if (c == '@' && t->cwords > 0 && !t->cat)
		t->cat = 1;
	else if (c == '.' && t->cat)
		t->catdot = 1;
}

/* proto_text_put - stage normalised bytes for the digest */
static int
proto_text_put(struct proto_text *t, const uint8_t *p, size_t n)
{
	if (t->is_ws && t->is_started) {
		t->out[t->out_len++] = ' ';
		t->bytes++;
	}
	t->is_ws = 0;
	t->is_started = 1;
	memcpy(t->out + t->out_len, p, n);
	t->out_len = (uint16_t)(t->out_len + n);
	if (__builtin_add_overflow(t->bytes, n, &t->bytes))
		t->bytes = UINT64_MAX;
	if (t->out_len > PROTO_TEXT_OUT - 8)
		return proto_text_flush(t);
	return 0;
}

/* proto_text_char - one code point through hash text and tokeniser */
static int
proto_text_char(struct proto_text *t, uint32_t cp, int cls)
{
	uint8_t u[4];
	uint32_t f;
	size_t n;

	if (cls == PROTO_TC_WS) {
		t->is_ws = 1;
		if (t->cpos > 0 || t->wlen > 0)
			proto_text_chunk_end(t);
		return 0;
	}
	if (cls == PROTO_TC_ZW)
		return 0;
	f = proto_text_fold(cp);
	n = f < 0x80 ? (u[0] = (uint8_t)f, 1) : proto_decode_utf8_put(f, u);
	if (t->cpos < 4) {
		t->chead = t->chead << 8 | (f < 0x80 ? f : 0x80);
		t->cpos++;
	}
	t->clast = t->clast << 8 | (f < 0x80 ? f : 0x80);
	switch (cls) {
	case PROTO_TC_UPPER:
	case PROTO_TC_LOWER:
	case PROTO_TC_DIGIT:
		if (cls == PROTO_TC_DIGIT) {
			t->wdigit = 1;
		} else {
			int c = cls == PROTO_TC_UPPER ? 2 : 1;

			if (c == 2 && t->wupper < UINT8_MAX)
				t->wupper++;
			if (c == 1 && t->wlower < UINT8_MAX)
				t->wlower++;
			if (t->wlastcase != 0 && t->wlastcase != c &&
			    t->wflips < UINT8_MAX)
				t->wflips++;
			t->wlastcase = (uint8_t)c;
		}
		t->wh = (t->wh ^ f) * PROTO_FNV_PRIME;
		if (t->wlen < UINT16_MAX)
			t->wlen++;
		break;
	case PROTO_TC_CJK:
		proto_text_word_end(t);
		t->wh = (t->wh ^ f) * PROTO_FNV_PRIME;
		t->wlen = 1;
		proto_text_word_end(t);
		break;
	default:
		proto_text_punct(t, f);
		break;
	}
	return proto_text_put(t, u, n);
}

/* proto_text_sat - a capped counter plus k */
static inline unsigned
proto_text_sat(unsigned v, size_t k, unsigned cap)
{
	return k >= cap - v ? cap : v + (unsigned)k;
}

/*
 * proto_text_ascii_run - ASCII letters and digits from p[0] (which is
 * one), the common case: exactly what proto_text_char would do a code
 * point at a time, with the word and chunk state held in locals for the
 * run (a store to t->out may alias every field of t, so the compiler
 * cannot keep them in registers otherwise). Stops at the first other
 * byte or when the staging buffer is full. Sets *used (>= 1); returns 0
 * or MX_EIO (digest).
 */
static int
proto_text_ascii_run(
    struct proto_text *t, const uint8_t *p, size_t n, size_t *used)
{
	uint64_t wh = t->wh;
	uint32_t chead = t->chead, clast = t->clast;
	uint8_t cpos = t->cpos, lastcase = t->wlastcase, *o;
	size_t i, upper = 0, lower = 0, flips = 0, digit = 0;

	if (t->is_ws && t->is_started) {
		t->out[t->out_len++] = ' ';
		t->bytes++;
	}
	t->is_ws = 0;
	t->is_started = 1;
	/* out_len <= PROTO_TEXT_OUT - 7 here: every path flushes past - 8 */
	if (n > (size_t)(PROTO_TEXT_OUT - t->out_len))
		n = (size_t)(PROTO_TEXT_OUT - t->out_len);
	o = t->out + t->out_len;
	for (i = 0; i < n; i++) {
		uint8_t b = p[i], f;
		int cls;

		if (b >= 0x80)
			break;
		cls = proto_tc_ascii[b];
		if (cls < PROTO_TC_LOWER || cls > PROTO_TC_DIGIT)
			break;
		f = cls == PROTO_TC_UPPER ? (uint8_t)(b + 32) : b;
		o[i] = f;
		if (cpos < 4) {
			chead = chead << 8 | f;
			cpos++;
		}
		clast = clast << 8 | f;
		if (cls == PROTO_TC_DIGIT) {
			digit = 1;
		} else if (cls == PROTO_TC_LOWER) {
			lower++;
			flips += lastcase == 2;
			lastcase = 1;
		} else {
			upper++;
			flips += lastcase == 1;
			lastcase = 2;
		}
		wh = (wh ^ f) * PROTO_FNV_PRIME;
	}
	t->out_len = (uint16_t)(t->out_len + i);
	t->bytes += i;
	t->wh = wh;
	t->chead = chead;
	t->clast = clast;
	t->cpos = cpos;
	t->wlastcase = lastcase;
	if (digit)
		t->wdigit = 1;
	t->wlower = (uint8_t)proto_text_sat(t->wlower, lower, UINT8_MAX);
	t->wupper = (uint8_t)proto_text_sat(t->wupper, upper, UINT8_MAX);
	t->wflips = (uint8_t)proto_text_sat(t->wflips, flips, UINT8_MAX);
	t->wlen = (uint16_t)proto_text_sat(t->wlen, i, UINT16_MAX);
	*used = i;
	if (t->out_len > PROTO_TEXT_OUT - 8)
		return proto_text_flush(t);
	return 0;
}

/* proto_text_feed - decode UTF-8 and normalise */
int
proto_text_feed(struct proto_text *t, const uint8_t *p, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		uint8_t b = p[i];
		uint32_t cp;

		if (t->need == 0 && b < 0x80) {
			int cls = proto_tc_ascii[b];
			size_t used;

			if (cls >= PROTO_TC_LOWER && cls <= PROTO_TC_DIGIT) {
				rc = proto_text_ascii_run(
				    t, p + i, n - i, &used);
				i += used - 1;
			} else {
				rc = proto_text_char(t, b, cls);
			}
			if (rc != 0)
				return rc;
			continue;
		}
		if (t->need > 0) {
			if ((b & 0xc0) == 0x80) {
				t->cp = t->cp << 6 | (b & 0x3f);
				if (--t->need > 0)
					continue;
				cp = t->cp;
			} else {
				/* cut sequence: U+FFFD, then b afresh */
				t->need = 0;
				rc = proto_text_char(t, 0xfffd, PROTO_TC_LOWER);
				if (rc != 0)
					return rc;
				i--;
				continue;
			}
		} else if (b >= 0xc0 && b < 0xf8) {
			t->need = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
			t->cp = b & (0x3f >> t->need);
			continue;
		} else {
			cp = 0xfffd;
		}
		rc = proto_text_char(t, cp, proto_text_class(cp));
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* proto_text_part_begin - parts are separated and shingled apart */
void
proto_text_part_begin(struct proto_text *t)
{
	t->is_ws = 1;
	t->need = 0;
	t->nw = 0;
	t->nq = 0;
	t->wh = PROTO_FNV_BASIS;
	t->wlen = 0;
	t->wdigit = t->wflips = t->wupper = t->wlower = t->wlastcase = 0;
	t->cwords = t->cat = t->catdot = t->cemail = 0;
	t->cskip = t->cfull = t->cpos = 0;
	t->chead = t->clast = 0;
}

/* proto_text_part_end - settle the last word and chunk */
int
proto_text_part_end(struct proto_text *t)
{
	int rc = 0;

	if (t->need > 0) {
		t->need = 0;
		rc = proto_text_char(t, 0xfffd, PROTO_TC_LOWER);
	}
	proto_text_chunk_end(t);
	t->is_ws = 1;
	return rc;
}
