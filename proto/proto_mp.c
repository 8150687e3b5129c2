/*
 * proto_mp.c - strict msgpack pull reader
 *
 * proto_mp_token() decodes the header of the next value (type byte plus
 * any length or integer bytes) into a small token; the typed readers
 * check the token against what the caller expects and only then advance.
 * Header bytes are checked against the input before they are read, and
 * every declared body length or element count against the bytes left
 * before anything relies on it, so a short input with a huge declared
 * count fails at once instead of looping or allocating.
 *
 * Trust: every byte is hostile. Limits: the caller's min/max per value,
 * PROTO_DEPTH_MAX for skipped nesting; nothing is allocated.
 */
#include "proto/proto_mp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/mx_err.h"

/* what the next value is, after its header has been read */
enum proto_mp_kind {
	PROTO_MP_NIL,
	PROTO_MP_BOOL,
	PROTO_MP_UINT, /* any integer encoding holding a value >= 0 */
	PROTO_MP_NINT, /* any integer encoding holding a value < 0 */
	PROTO_MP_FLOAT,
	PROTO_MP_STR,
	PROTO_MP_BIN,
	PROTO_MP_ARRAY,
	PROTO_MP_MAP,
	PROTO_MP_EXT,
};

struct proto_mp_tok {
	enum proto_mp_kind kind;
	size_t hdr;  /* header bytes: type byte and length/value bytes */
	size_t body; /* payload bytes after the header (str/bin/ext/float) */
	uint64_t u;  /* UINT value, BOOL value, ARRAY/MAP count */
	int64_t i;   /* NINT value */
};

/* proto_mp_be16 - big-endian 16-bit load */
static inline uint16_t
proto_mp_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

/* proto_mp_be32 - big-endian 32-bit load */
static inline uint32_t
proto_mp_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* proto_mp_be64 - big-endian 64-bit load */
static inline uint64_t
proto_mp_be64(const uint8_t *p)
{
	return (uint64_t)proto_mp_be32(p) << 32 | proto_mp_be32(p + 4);
}

/* proto_mp_int_tok - classify a signed value as UINT or NINT */
static inline void
proto_mp_int_tok(struct proto_mp_tok *t, int64_t v)
{
	if (v < 0) {
		t->kind = PROTO_MP_NINT;
		t->i = v;
	} else {
		t->kind = PROTO_MP_UINT;
		t->u = (uint64_t)v;
	}
}

/*
 * proto_mp_token - decode the header of the next value without moving
 * Returns 0, MX_ETRUNC (header cut short) or MX_ETYPE (byte 0xc1).
 */
static int
proto_mp_token(const struct proto_mp *m, struct proto_mp_tok *t)
{
	size_t left = (size_t)(m->end - m->p);
	const uint8_t *p = m->p;
	uint8_t b;

	if (left == 0)
		return MX_ETRUNC;
	b = p[0];
	t->hdr = 1;
	t->body = 0;
	t->u = 0;
	t->i = 0;
	/* the fix* forms carry everything in the type byte */
	if (b <= 0x7f) {
		t->kind = PROTO_MP_UINT;
		t->u = b;
		return 0;
	}
	if (b >= 0xe0) {
		t->kind = PROTO_MP_NINT;
		t->i = (int8_t)b;
		return 0;
	}
	if (b <= 0x8f) {
		t->kind = PROTO_MP_MAP;
		t->u = b & 0x0fu;
		return 0;
	}
	if (b <= 0x9f) {
		t->kind = PROTO_MP_ARRAY;
		t->u = b & 0x0fu;
		return 0;
	}
	if (b <= 0xbf) {
		t->kind = PROTO_MP_STR;
		t->body = b & 0x1fu;
		return 0;
	}
	/* 0xc0..0xdf: header length first, then check it is all there */
	switch (b) {
	case 0xc0:
		t->kind = PROTO_MP_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		t->kind = PROTO_MP_BOOL;
		t->u = b & 1u;
		return 0;
	case 0xc4:
	case 0xc5:
	case 0xc6:
		t->kind = PROTO_MP_BIN;
		t->hdr = 1 + ((size_t)1 << (b - 0xc4));
		break;
	case 0xc7:
	case 0xc8:
	case 0xc9:
		t->kind = PROTO_MP_EXT;
		t->hdr = 2 + ((size_t)1 << (b - 0xc7)); /* + ext type byte */
		break;
	case 0xca:
	case 0xcb:
		t->kind = PROTO_MP_FLOAT;
		t->body = b == 0xca ? 4 : 8;
		return 0;
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		t->kind = PROTO_MP_UINT;
		t->hdr = 1 + ((size_t)1 << (b - 0xcc));
		break;
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:
		t->kind = PROTO_MP_NINT; /* refined below */
		t->hdr = 1 + ((size_t)1 << (b - 0xd0));
		break;
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
		t->kind = PROTO_MP_EXT; /* fixext: ext type byte, then data */
		t->hdr = 2;
		t->body = (size_t)1 << (b - 0xd4);
		break;
	case 0xd9:
	case 0xda:
	case 0xdb:
		t->kind = PROTO_MP_STR;
		t->hdr = 1 + ((size_t)1 << (b - 0xd9));
		break;
	case 0xdc:
	case 0xdd:
		t->kind = PROTO_MP_ARRAY;
		t->hdr = b == 0xdc ? 3 : 5;
		break;
	case 0xde:
	case 0xdf:
		t->kind = PROTO_MP_MAP;
		t->hdr = b == 0xde ? 3 : 5;
		break;
	default: /* 0xc1: never used */
		return MX_ETYPE;
	}
	if (t->hdr > left)
		return MX_ETRUNC;
	switch (b) {
	case 0xc4:
	case 0xd9:
		t->body = p[1];
		break;
	case 0xc5:
	case 0xda:
		t->body = proto_mp_be16(p + 1);
		break;
	case 0xc6:
	case 0xdb:
		t->body = proto_mp_be32(p + 1);
		break;
	case 0xc7:
		t->body = p[1];
		break;
	case 0xc8:
		t->body = proto_mp_be16(p + 1);
		break;
	case 0xc9:
		t->body = proto_mp_be32(p + 1);
		break;
	case 0xcc:
		t->u = p[1];
		break;
	case 0xcd:
		t->u = proto_mp_be16(p + 1);
		break;
	case 0xce:
		t->u = proto_mp_be32(p + 1);
		break;
	case 0xcf:
		t->u = proto_mp_be64(p + 1);
		break;
	case 0xd0:
		proto_mp_int_tok(t, (int8_t)p[1]);
		break;
	case 0xd1:
		proto_mp_int_tok(t, (int16_t)proto_mp_be16(p + 1));
		break;
	case 0xd2:
		proto_mp_int_tok(t, (int32_t)proto_mp_be32(p + 1));
		break;
	case 0xd3:
		proto_mp_int_tok(t, (int64_t)proto_mp_be64(p + 1));
		break;
	case 0xdc:
	case 0xde:
		t->u = proto_mp_be16(p + 1);
		break;
	case 0xdd:
	case 0xdf:
		t->u = proto_mp_be32(p + 1);
		break;
	default: /* fixext: length in the type byte */
		break;
	}
	return 0;
}

/* proto_mp_init - set the cursor over an input */
void
proto_mp_init(struct proto_mp *m, const uint8_t *buf, size_t len)
{
	m->p = buf;
	m->end = buf == NULL ? buf : buf + len;
}

/* proto_mp_left - unread bytes */
size_t
proto_mp_left(const struct proto_mp *m)
{
	return (size_t)(m->end - m->p);
}

/* proto_mp_end - require that the input is used up */
int
proto_mp_end(const struct proto_mp *m)
{
	return m->p == m->end ? 0 : MX_ETRAIL;
}

/* proto_mp_container - read an array or map header with its checks */
static int
proto_mp_container(
    struct proto_mp *m, enum proto_mp_kind kind, uint32_t max, uint32_t *n)
{
	struct proto_mp_tok t;
	uint64_t need;
	int rc;

	if ((rc = proto_mp_token(m, &t)) != 0)
		return rc;
	if (t.kind != kind)
		return MX_ETYPE;
	if (t.u > max)
		return MX_ELIMIT;
	/* every element takes at least one byte: refuse a count the input
	 * cannot hold before the caller starts walking it */
	need = t.u;
	if (kind == PROTO_MP_MAP && __builtin_mul_overflow(t.u, 2, &need))
		return MX_ETRUNC;
	if (need > proto_mp_left(m) - t.hdr)
		return MX_ETRUNC;
	m->p += t.hdr;
	*n = (uint32_t)t.u;
	return 0;
}

/* proto_mp_array - read an array header */
int
proto_mp_array(struct proto_mp *m, uint32_t max, uint32_t *n)
{
	return proto_mp_container(m, PROTO_MP_ARRAY, max, n);
}

/* proto_mp_map - read a map header */
int
proto_mp_map(struct proto_mp *m, uint32_t max, uint32_t *n)
{
	return proto_mp_container(m, PROTO_MP_MAP, max, n);
}

/* proto_mp_uint - read a non-negative integer with an upper bound */
int
proto_mp_uint(struct proto_mp *m, uint64_t max, uint64_t *v)
{
	struct proto_mp_tok t;
	int rc;

	if ((rc = proto_mp_token(m, &t)) != 0)
		return rc;
	if (t.kind == PROTO_MP_NINT)
		return MX_ERANGE;
	if (t.kind != PROTO_MP_UINT)
		return MX_ETYPE;
	if (t.u > max)
		return MX_ERANGE;
	m->p += t.hdr;
	*v = t.u;
	return 0;
}

/* proto_mp_int - read a signed integer within [min, max] */
int
proto_mp_int(struct proto_mp *m, int64_t min, int64_t max, int64_t *v)
{
	struct proto_mp_tok t;
	int64_t x;
	int rc;

	if ((rc = proto_mp_token(m, &t)) != 0)
		return rc;
	if (t.kind == PROTO_MP_UINT) {
		if (t.u > (uint64_t)INT64_MAX)
			return MX_ERANGE;
		x = (int64_t)t.u;
	} else if (t.kind == PROTO_MP_NINT) {
		x = t.i;
	} else {
		return MX_ETYPE;
	}
	if (x < min || x > max)
		return MX_ERANGE;
	m->p += t.hdr;
	*v = x;
	return 0;
}

/* proto_mp_bool - read true or false */
int
proto_mp_bool(struct proto_mp *m, bool *v)
{
	struct proto_mp_tok t;
	int rc;

	if ((rc = proto_mp_token(m, &t)) != 0)
		return rc;
	if (t.kind != PROTO_MP_BOOL)
		return MX_ETYPE;
	m->p += t.hdr;
	*v = t.u != 0;
	return 0;
}

/* proto_mp_nil - read nil */
int
proto_mp_nil(struct proto_mp *m)
{
	struct proto_mp_tok t;
	int rc;

	if ((rc = proto_mp_token(m, &t)) != 0)
		return rc;
	if (t.kind != PROTO_MP_NIL)
		return MX_ETYPE;
	m->p += t.hdr;
	return 0;
}

/* proto_mp_bytes - read a str or bin of min..max bytes as a view */
static int
proto_mp_bytes(struct proto_mp *m, enum proto_mp_kind kind, size_t min,
    size_t max, struct proto_str *v)
{
	struct proto_mp_tok t;
	int rc;

	if ((rc = proto_mp_token(m, &t)) != 0)
		return rc;
	if (t.kind != kind)
		return MX_ETYPE;
	if (t.body > max)
		return MX_ETOOBIG;
	if (t.body > proto_mp_left(m) - t.hdr)
		return MX_ETRUNC;
	if (t.body < min)
		return MX_ERANGE;
	v->p = m->p + t.hdr;
	v->len = t.body;
	m->p += t.hdr + t.body;
	return 0;
}

/* proto_mp_str - read a str view */
int
proto_mp_str(struct proto_mp *m, size_t min, size_t max, struct proto_str *v)
{
	return proto_mp_bytes(m, PROTO_MP_STR, min, max, v);
}

/* proto_mp_bin - read a bin view */
int
proto_mp_bin(struct proto_mp *m, size_t min, size_t max, struct proto_str *v)
{
	return proto_mp_bytes(m, PROTO_MP_BIN, min, max, v);
}

/* proto_mp_skip_one - skip a value; the cursor may move on error */
static int
proto_mp_skip_one(struct proto_mp *m, unsigned level)
{
	struct proto_mp_tok t;
	uint64_t n, i;
	int rc;

	if ((rc = proto_mp_token(m, &t)) != 0)
		return rc;
	switch (t.kind) {
	case PROTO_MP_ARRAY:
	case PROTO_MP_MAP:
		/* recursion is bounded here, so a hostile nest of tiny
		 * containers cannot exhaust the stack */
		if (level > PROTO_DEPTH_MAX)
			return MX_EDEPTH;
		n = t.u;
		if (t.kind == PROTO_MP_MAP && __builtin_mul_overflow(n, 2, &n))
			return MX_ETRUNC;
		if (n > proto_mp_left(m) - t.hdr)
			return MX_ETRUNC;
		m->p += t.hdr;
		for (i = 0; i < n; i++)
			if ((rc = proto_mp_skip_one(m, level + 1)) != 0)
				return rc;
		return 0;
	case PROTO_MP_STR:
	case PROTO_MP_BIN:
	case PROTO_MP_EXT:
	case PROTO_MP_FLOAT:
		if (t.body > proto_mp_left(m) - t.hdr)
			return MX_ETRUNC;
		m->p += t.hdr + t.body;
		return 0;
	default:
		m->p += t.hdr;
		return 0;
	}
}

/* proto_mp_skip - skip one value, leaving the cursor alone on error */
int
proto_mp_skip(struct proto_mp *m, unsigned level)
{
	const uint8_t *start = m->p;
	int rc;

	if ((rc = proto_mp_skip_one(m, level)) != 0)
		m->p = start;
	return rc;
}
