/*
 * proto_decode.c - transfer decoders, charsets and RFC 2047 words
 *
 * Streaming base64 and quoted-printable decoders whose output does not
 * depend on where the input was cut; charset conversion to UTF-8 for
 * UTF-8, US-ASCII, Windows-1252 (which also decodes ISO-8859-1, as the
 * WHATWG Encoding Standard does) and ISO-8859-15, with an "auto" mode
 * (UTF-8 where valid, else Windows-1252) for unknown or absent labels;
 * RFC 2047 encoded words in header text.
 * Trust: all input is hostile. The decoders are tolerant: base64 skips
 * junk (and says so), QP keeps malformed escapes literally, invalid
 * charset bytes become U+FFFD. Limits: each function writes at most the
 * output room its header comment states; the state is a few bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/mx_ascii.h"
#include "lib/mx_err.h"
#include "proto/proto_content_int.h"

#define PROTO_B64_PAD 64  /* '=' */
#define PROTO_B64_WS 65   /* blank: skipped silently */
#define PROTO_B64_JUNK 66 /* other byte: skipped, flagged */

enum {
	PROTO_QP_TEXT = 0,
	PROTO_QP_EQ,   /* after '=' */
	PROTO_QP_EQ1,  /* after '=' and one hex digit */
	PROTO_QP_EQWS, /* after '=' and blanks: a soft break if EOL follows */
};

static const uint8_t proto_b64_val[256] = {66, 66, 66, 66, 66, 66, 66, 66, 66,
    65, 65, 65, 65, 65, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 65, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 62, 66, 66, 66,
    63, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 66, 66, 66, 64, 66, 66, 66, 0,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
    22, 23, 24, 25, 66, 66, 66, 66, 66, 66, 26, 27, 28, 29, 30, 31, 32, 33, 34,
    35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66};

static const char proto_b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Windows-1252 0x80..0x9f; U+FFFD where the code page has no character */
static const uint16_t proto_cp1252_c1[32] = {0x20ac, 0xfffd, 0x201a, 0x0192,
    0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152,
    0xfffd, 0x017d, 0xfffd, 0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e,
    0x0178};

struct proto_cs_alias {
	const char *name;
	uint8_t id;
};

static const struct proto_cs_alias proto_cs_aliases[] = {
    {"utf-8", PROTO_CS_UTF8},
    {"utf8", PROTO_CS_UTF8},
    {"unicode-1-1-utf-8", PROTO_CS_UTF8},
    {"us-ascii", PROTO_CS_ASCII},
    {"ascii", PROTO_CS_ASCII},
    {"ansi_x3.4-1968", PROTO_CS_ASCII},
    {"iso646-us", PROTO_CS_ASCII},
    {"us", PROTO_CS_ASCII},
    {"cp367", PROTO_CS_ASCII},
    {"windows-1252", PROTO_CS_CP1252},
    {"cp1252", PROTO_CS_CP1252},
    {"x-cp1252", PROTO_CS_CP1252},
    {"iso-8859-1", PROTO_CS_CP1252},
    {"iso8859-1", PROTO_CS_CP1252},
    {"iso_8859-1", PROTO_CS_CP1252},
    {"iso_8859-1:1987", PROTO_CS_CP1252},
    {"latin1", PROTO_CS_CP1252},
    {"latin-1", PROTO_CS_CP1252},
    {"l1", PROTO_CS_CP1252},
    {"cp819", PROTO_CS_CP1252},
    {"ibm819", PROTO_CS_CP1252},
    {"iso-ir-100", PROTO_CS_CP1252},
    {"csisolatin1", PROTO_CS_CP1252},
    {"iso-8859-15", PROTO_CS_LATIN9},
    {"iso8859-15", PROTO_CS_LATIN9},
    {"iso_8859-15", PROTO_CS_LATIN9},
    {"latin9", PROTO_CS_LATIN9},
    {"latin-9", PROTO_CS_LATIN9},
    {"l9", PROTO_CS_LATIN9},
    {"csisolatin9", PROTO_CS_LATIN9},
};

/* proto_decode_b64_init - empty base64 state */
void
proto_decode_b64_init(struct proto_b64 *s)
{
	s->acc = 0;
	s->n = 0;
	s->is_bad = 0;
}

/* proto_b64_pad - '=' or end: emit the bytes a partial quantum holds */
static size_t
proto_b64_pad(struct proto_b64 *s, uint8_t *out)
{
	size_t o = 0;

	if (s->n == 2) {
		out[o++] = (uint8_t)(s->acc >> 4);
	} else if (s->n == 3) {
		out[o++] = (uint8_t)(s->acc >> 10);
		out[o++] = (uint8_t)(s->acc >> 2);
	} else if (s->n == 1) {
		s->is_bad = 1; /* six stray bits: no byte */
	}
	s->n = 0;
	s->acc = 0;
	return o;
}

/* proto_decode_b64 - streaming base64; junk is skipped and flagged */
size_t
proto_decode_b64(
    struct proto_b64 *s, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		uint8_t v;

		/* whole quanta of four alphabet bytes: the common case */
		while (s->n == 0 && len - i >= 4) {
			uint8_t a = proto_b64_val[in[i]];
			uint8_t b = proto_b64_val[in[i + 1]];
			uint8_t c = proto_b64_val[in[i + 2]];
			uint8_t d = proto_b64_val[in[i + 3]];
			uint32_t q;

			if ((a | b | c | d) >= 64)
				break;
			q = (uint32_t)a << 18 | (uint32_t)b << 12 |
			    (uint32_t)c << 6 | d;
			out[o++] = (uint8_t)(q >> 16);
			out[o++] = (uint8_t)(q >> 8);
			out[o++] = (uint8_t)q;
			i += 4;
		}
		if (i >= len)
			break;
		v = proto_b64_val[in[i++]];
		if (v < 64) {
			s->acc = s->acc << 6 | v;
			if (++s->n == 4) {
				out[o++] = (uint8_t)(s->acc >> 16);
				out[o++] = (uint8_t)(s->acc >> 8);
				out[o++] = (uint8_t)s->acc;
				s->n = 0;
				s->acc = 0;
			}
		} else if (v == PROTO_B64_PAD) {
			o += proto_b64_pad(s, out + o);
		} else if (v == PROTO_B64_JUNK) {
			s->is_bad = 1;
		}
	}
	return o;
}

/* proto_decode_b64_end - flush a quantum cut short by the end */
size_t
proto_decode_b64_end(struct proto_b64 *s, uint8_t *out)
{
	return proto_b64_pad(s, out);
}

/* proto_decode_b64_encode - plain base64, padded, no line breaks */
size_t
proto_decode_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t i, o = 0, need;

	if (len > (SIZE_MAX - 3) / 4 * 3)
		return 0;
	need = (len + 2) / 3 * 4;
	if (need > cap)
		return 0;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t q = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		             in[i + 2];

		out[o++] = proto_b64_alpha[q >> 18];
		out[o++] = proto_b64_alpha[(q >> 12) & 63];
		out[o++] = proto_b64_alpha[(q >> 6) & 63];
		out[o++] = proto_b64_alpha[q & 63];
	}
	if (len - i == 1) {
		out[o++] = proto_b64_alpha[in[i] >> 2];
		out[o++] = proto_b64_alpha[(in[i] & 3) << 4];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		uint32_t q = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = proto_b64_alpha[q >> 10];
		out[o++] = proto_b64_alpha[(q >> 4) & 63];
		out[o++] = proto_b64_alpha[(q & 15) << 2];
		out[o++] = '=';
	}
	return o;
}

/* proto_decode_qp_init - empty quoted-printable state */
void
proto_decode_qp_init(struct proto_qp *s)
{
	memset(s, 0, sizeof(*s));
}

/* proto_qp_ws_flush - emit the held blanks */
static size_t
proto_qp_ws_flush(struct proto_qp *s, uint8_t *out)
{
	size_t n = s->nws;

	memcpy(out, s->ws, n);
	s->nws = 0;
	return n;
}

/* proto_qp_eol - a line end: drop trailing blanks, keep hard breaks */
static size_t
proto_qp_eol(struct proto_qp *s, uint8_t *out)
{
	size_t o = 0;

	switch (s->st) {
	case PROTO_QP_TEXT:
		s->nws = 0; /* RFC 2045 6.7 (3): trailing blanks are padding */
		out[o++] = '\r';
		out[o++] = '\n';
		break;
	case PROTO_QP_EQ1:
		out[o++] = '=';
		out[o++] = s->hex;
		out[o++] = '\r';
		out[o++] = '\n';
		break;
	default: /* '=' [blanks] EOL: a soft line break */
		s->nws = 0;
		break;
	}
	s->st = PROTO_QP_TEXT;
	return o;
}

/* proto_qp_char - one byte that is not a line end */
static size_t
proto_qp_char(struct proto_qp *s, uint8_t c, uint8_t *out)
{
	size_t o = 0;
	int v;

	for (;;) {
		switch (s->st) {
		case PROTO_QP_TEXT:
			if (c == ' ' || c == '\t') {
				if (s->nws == PROTO_QP_WS_MAX)
					o += proto_qp_ws_flush(s, out + o);
				s->ws[s->nws++] = c;
				return o;
			}
			o += proto_qp_ws_flush(s, out + o);
			if (c == '=')
				s->st = PROTO_QP_EQ;
			else
				out[o++] = c;
			return o;
		case PROTO_QP_EQ:
			if (mx_ascii_hexval(c) >= 0) {
				s->hex = c;
				s->st = PROTO_QP_EQ1;
				return o;
			}
			if (c == ' ' || c == '\t') {
				s->st = PROTO_QP_EQWS;
				s->ws[s->nws++] = c;
				return o;
			}
			out[o++] = '=';
			s->st = PROTO_QP_TEXT;
			continue; /* c again, as text */
		case PROTO_QP_EQ1:
			v = mx_ascii_hexval(c);
			if (v >= 0) {
				out[o++] =
				    (uint8_t)(mx_ascii_hexval(s->hex) << 4 | v);
				s->st = PROTO_QP_TEXT;
				return o;
			}
			out[o++] = '=';
			out[o++] = s->hex;
			s->st = PROTO_QP_TEXT;
			continue;
		default: /* PROTO_QP_EQWS */
			if (c == ' ' || c == '\t') {
				/* past the cap the extra blanks are dropped */
				if (s->nws < PROTO_QP_WS_MAX)
					s->ws[s->nws++] = c;
				return o;
			}
			out[o++] = '=';
			o += proto_qp_ws_flush(s, out + o);
			s->st = PROTO_QP_TEXT;
			continue;
		}
	}
}

/* proto_decode_qp - streaming quoted-printable; CRLF or LF line ends */
size_t
proto_decode_qp(struct proto_qp *s, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		uint8_t c = in[i];

		if (s->is_cr) {
			s->is_cr = 0;
			if (c == '\n') {
				o += proto_qp_eol(s, out + o);
				i++;
				continue;
			}
			o += proto_qp_char(s, '\r', out + o);
		}
		if (s->st == PROTO_QP_TEXT && s->nws == 0) {
			size_t j = i;

			/* plain run: copied as is */
			while (j < len && in[j] != '=' && in[j] != ' ' &&
			       in[j] != '\t' && in[j] != '\r' && in[j] != '\n')
				j++;
			memcpy(out + o, in + i, j - i);
			o += j - i;
			i = j;
			if (i == len)
				break;
			c = in[i];
		}
		i++;
		if (c == '\r')
			s->is_cr = 1;
		else if (c == '\n')
			o += proto_qp_eol(s, out + o);
		else
			o += proto_qp_char(s, c, out + o);
	}
	return o;
}

/*
 * proto_decode_qp_end - end of data. The line end before a MIME delimiter
 * belongs to the delimiter, so the end of data ends the last line: a
 * final '=' is a soft break and trailing blanks are padding (RFC 2045
 * 6.7), as at any line end, only no CRLF is written.
 */
size_t
proto_decode_qp_end(struct proto_qp *s, uint8_t *out)
{
	size_t o = 0;

	if (s->is_cr) {
		s->is_cr = 0;
		o += proto_qp_char(s, '\r', out + o);
	}
	if (s->st == PROTO_QP_EQ1) {
		out[o++] = '=';
		out[o++] = s->hex;
	}
	s->nws = 0;
	s->st = PROTO_QP_TEXT;
	return o;
}

/* proto_decode_cs_lookup - charset label to enum proto_cs_id */
int
proto_decode_cs_lookup(const uint8_t *name, size_t len)
{
	size_t i, k;

	for (i = 0; i < sizeof(proto_cs_aliases) / sizeof(proto_cs_aliases[0]);
	     i++) {
		const char *a = proto_cs_aliases[i].name;

		if (strlen(a) != len)
			continue;
		for (k = 0; k < len; k++) {
			if (mx_ascii_lower(name[k]) != (uint8_t)a[k])
				break;
		}
		if (k == len)
			return proto_cs_aliases[i].id;
	}
	return PROTO_CS_AUTO;
}

/* proto_decode_cs_init - fresh converter */
void
proto_decode_cs_init(struct proto_cs *s, int id)
{
	memset(s, 0, sizeof(*s));
	s->id = (uint8_t)id;
}

/* proto_decode_utf8_put - encode a code point; invalid ones as U+FFFD */
size_t
proto_decode_utf8_put(uint32_t cp, uint8_t *out)
{
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* proto_cs_single - code point of an 8-bit byte in a one-byte charset */
static uint32_t
proto_cs_single(int id, uint8_t b)
{
	if (b < 0x80)
		return b;
	if (id == PROTO_CS_ASCII)
		return 0xfffd;
	if (b < 0xa0)
		return proto_cp1252_c1[b - 0x80];
	if (id == PROTO_CS_LATIN9) {
		switch (b) {
		case 0xa4:
			return 0x20ac;
		case 0xa6:
			return 0x0160;
		case 0xa8:
			return 0x0161;
		case 0xb4:
			return 0x017d;
		case 0xb8:
			return 0x017e;
		case 0xbc:
			return 0x0152;
		case 0xbd:
			return 0x0153;
		case 0xbe:
			return 0x0178;
		default:
			break;
		}
	}
	return b;
}

/* proto_cs_bad - an invalid UTF-8 subpart: U+FFFD, or 1252 in auto */
static size_t
proto_cs_bad(struct proto_cs *s, uint8_t *out)
{
	size_t o = 0, i;

	if (s->id == PROTO_CS_AUTO) {
		for (i = 0; i < s->have; i++)
			o += proto_decode_utf8_put(
			    proto_cs_single(PROTO_CS_CP1252, s->seq[i]),
			    out + o);
	} else {
		o = proto_decode_utf8_put(0xfffd, out);
	}
	s->have = 0;
	s->need = 0;
	return o;
}

/* proto_cs_lead - start a UTF-8 sequence at b; 0 when b cannot lead */
static int
proto_cs_lead(struct proto_cs *s, uint8_t b)
{
	s->lo = 0x80;
	s->hi = 0xbf;
	if (b >= 0xc2 && b <= 0xdf) {
		s->need = 1;
	} else if (b >= 0xe0 && b <= 0xef) {
		s->need = 2;
		if (b == 0xe0)
			s->lo = 0xa0; /* overlong */
		else if (b == 0xed)
			s->hi = 0x9f; /* surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		s->need = 3;
		if (b == 0xf0)
			s->lo = 0x90;
		else if (b == 0xf4)
			s->hi = 0x8f; /* past U+10FFFF */
	} else {
		return 0;
	}
	s->seq[0] = b;
	s->have = 1;
	return 1;
}

/* proto_cs_utf8 - validate UTF-8 (or auto) from in into out */
static size_t
proto_cs_utf8(struct proto_cs *s, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		uint8_t b = in[i];

		if (s->need == 0) {
			size_t j = i;

			while (j < len && in[j] < 0x80)
				j++;
			memcpy(out + o, in + i, j - i);
			o += j - i;
			i = j;
			if (i == len)
				break;
			b = in[i++];
			if (!proto_cs_lead(s, b)) {
				s->seq[0] = b;
				s->have = 1;
				o += proto_cs_bad(s, out + o);
			}
			continue;
		}
		if (b < s->lo || b > s->hi) {
			o +=
			    proto_cs_bad(s, out + o); /* b is looked at again */
			continue;
		}
		s->seq[s->have++] = b;
		s->lo = 0x80;
		s->hi = 0xbf;
		i++;
		if (--s->need == 0) {
			memcpy(out + o, s->seq, s->have);
			o += s->have;
			s->have = 0;
		}
	}
	return o;
}

/* proto_decode_cs - convert to UTF-8 */
size_t
proto_decode_cs(struct proto_cs *s, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i, o = 0;

	if (s->id == PROTO_CS_UTF8 || s->id == PROTO_CS_AUTO)
		return proto_cs_utf8(s, in, len, out);
	for (i = 0; i < len; i++) {
		if (in[i] < 0x80)
			out[o++] = in[i];
		else
			o += proto_decode_utf8_put(
			    proto_cs_single(s->id, in[i]), out + o);
	}
	return o;
}

/* proto_decode_cs_end - a sequence cut by the end is invalid */
size_t
proto_decode_cs_end(struct proto_cs *s, uint8_t *out)
{
	if (s->have == 0)
		return 0;
	return proto_cs_bad(s, out);
}

/* writer for proto_decode_words: bounded, cut on a character boundary */
struct proto_dw {
	char *out;
	size_t cap, o;
	int is_cut;
};

/* proto_dw_put - append valid UTF-8; control characters become spaces */
static void
proto_dw_put(struct proto_dw *w, const uint8_t *p, size_t n)
{
	size_t i, k = n;

	if (w->is_cut)
		return;
	if (n > w->cap - w->o) {
		k = w->cap - w->o;
		while (k > 0 && (p[k] & 0xc0) == 0x80)
			k--;
		w->is_cut = 1;
	}
	for (i = 0; i < k; i++) {
		uint8_t c = p[i];

		w->out[w->o++] = (char)((c < 0x20 || c == 0x7f) ? ' ' : c);
	}
}

/* proto_dw_conv - bytes in charset s to UTF-8 into the writer */
static void
proto_dw_conv(struct proto_dw *w, struct proto_cs *s, const uint8_t *p,
    size_t n, int is_end)
{
	uint8_t u[3 * 256 + PROTO_CS_SLACK];

	while (n > 0) {
		size_t k = n < 256 ? n : 256;

		proto_dw_put(w, u, proto_decode_cs(s, p, k, u));
		p += k;
		n -= k;
	}
	if (is_end)
		proto_dw_put(w, u, proto_decode_cs_end(s, u));
}

struct proto_ew {
	size_t len;        /* bytes of the whole encoded word */
	const uint8_t *cs; /* charset label */
	size_t cs_len;
	uint8_t enc;         /* 'b' or 'q' */
	const uint8_t *text; /* encoded text */
	size_t text_len;
};

/* proto_ew_parse - an encoded word at p ("=?cs?e?text?="); 0 or -1 */
static int
proto_ew_parse(const uint8_t *p, size_t n, struct proto_ew *ew)
{
	size_t i = 2, j;

	if (n < 8 || p[0] != '=' || p[1] != '?')
		return -1;
	while (i < n && i < 2 + 64 && p[i] != '?' && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i == 2 || i + 3 >= n || p[i] != '?' || p[i + 2] != '?')
		return -1;
	ew->cs = p + 2;
	ew->cs_len = i - 2;
	for (j = 0; j < ew->cs_len; j++)
		if (ew->cs[j] == '*') /* RFC 2231 language suffix */
			ew->cs_len = j;
	ew->enc = p[i + 1] | 0x20;
	if (ew->enc != 'b' && ew->enc != 'q')
		return -1;
	i += 3;
	for (j = i; j + 1 < n; j++) {
		if (p[j] == ' ' || p[j] == '\t' || p[j] == '\r' || p[j] == '\n')
			return -1;
		if (p[j] == '?' && p[j + 1] == '=') {
			ew->text = p + i;
			ew->text_len = j - i;
			ew->len = j + 2;
			return 0;
		}
	}
	return -1;
}

/* proto_ew_decode - decode the text of one encoded word into the writer */
static void
proto_ew_decode(struct proto_dw *w, const struct proto_ew *ew)
{
	uint8_t raw[256 + 4];
	struct proto_cs cs;
	struct proto_b64 b;
	size_t i = 0, r;

	proto_decode_cs_init(&cs, proto_decode_cs_lookup(ew->cs, ew->cs_len));
	proto_decode_b64_init(&b);
	while (i < ew->text_len) {
		size_t k = ew->text_len - i < 256 ? ew->text_len - i : 256;

		if (ew->enc == 'b') {
			r = proto_decode_b64(&b, ew->text + i, k, raw);
			i += k;
		} else {
			const uint8_t *t = ew->text;

			r = 0;
			while (i < ew->text_len && r < 256) {
				if (t[i] == '_') {
					raw[r++] = ' ';
					i++;
				} else if (t[i] == '=' &&
				           i + 2 < ew->text_len &&
				           mx_ascii_hexval(t[i + 1]) >= 0 &&
				           mx_ascii_hexval(t[i + 2]) >= 0) {
					raw[r++] =
					    (uint8_t)(mx_ascii_hexval(t[i + 1])
					                  << 4 |
					              mx_ascii_hexval(
					                  t[i + 2]));
					i += 3;
				} else {
					raw[r++] = t[i++];
				}
			}
		}
		proto_dw_conv(w, &cs, raw, r, 0);
	}
	if (ew->enc == 'b')
		proto_dw_conv(w, &cs, raw, proto_decode_b64_end(&b, raw), 0);
	proto_dw_conv(w, &cs, raw, 0, 1);
}

/* proto_is_blank_run - only blanks and line ends in p[0..n) */
static int
proto_is_blank_run(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

/* proto_decode_words - RFC 2047 header text to UTF-8 */
size_t
proto_decode_words(
    const uint8_t *in, size_t len, char *out, size_t cap, int *is_cut)
{
	struct proto_dw w = {out, cap, 0, 0};
	struct proto_cs lit;
	size_t i = 0, start = 0;
	int is_prev_ew = 0;

	proto_decode_cs_init(&lit, PROTO_CS_AUTO);
	while (i < len) {
		struct proto_ew ew;

		if (in[i] != '=' || proto_ew_parse(in + i, len - i, &ew) != 0) {
			i++;
			continue;
		}
		/* blanks between two encoded words are not text (6.2) */
		if (!(is_prev_ew && proto_is_blank_run(in + start, i - start)))
			proto_dw_conv(&w, &lit, in + start, i - start, 1);
		proto_ew_decode(&w, &ew);
		i += ew.len;
		start = i;
		is_prev_ew = 1;
	}
	proto_dw_conv(&w, &lit, in + start, len - start, 1);
	if (is_cut != NULL)
		*is_cut = w.is_cut;
	return w.o;
}
