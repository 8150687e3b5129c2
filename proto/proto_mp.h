/*
 * proto_mp.h - strict msgpack pull reader
 *
 * A cursor over (bytes, length) that reads one msgpack value at a time,
 * each call stating the type and bounds the schema expects. It never
 * allocates: strings and binaries come back as views into the input, and
 * array and map headers return the declared count for the caller to walk.
 * proto_msg.c builds every message decoder on it instead of msgpack_unpack,
 * which allocates from the element counts a peer declares (STYLE section 4).
 *
 * Trust: the input is hostile. Every declared length or count is checked
 * against the caller's maximum and against the bytes actually present
 * before it is used; nesting skipped by proto_mp_skip is bounded by
 * PROTO_DEPTH_MAX. On error the cursor does not move and no out-parameter
 * is written. Errors: MX_ETRUNC (input ends inside a value), MX_ETYPE
 * (another msgpack type, or the never-used byte 0xc1), MX_ERANGE (number
 * outside [min, max], or a string or binary shorter than min), MX_ETOOBIG
 * (string or binary longer than max), MX_ELIMIT (array or map count over
 * max), MX_EDEPTH, MX_ETRAIL.
 */
#ifndef PROTO_MP_H
#define PROTO_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto_msg.h"

/* a read cursor; the input is borrowed and must outlive every view */
struct proto_mp {
	const uint8_t *p;   /* next unread byte */
	const uint8_t *end; /* one past the last input byte */
};

/* proto_mp_init - start reading len bytes at buf (buf may be NULL if 0) */
void proto_mp_init(struct proto_mp *m, const uint8_t *buf, size_t len);
/* proto_mp_left - bytes not read yet */
size_t proto_mp_left(const struct proto_mp *m);
/* proto_mp_end - 0 when every byte has been read, else MX_ETRAIL */
int proto_mp_end(const struct proto_mp *m);

/*
 * proto_mp_array / proto_mp_map - read a container header into *n
 * (elements, or key-value pairs for a map). Returns 0, MX_ETYPE,
 * MX_ETRUNC (header cut, or fewer bytes left than the declared elements
 * need at one byte each), MX_ELIMIT (*n would exceed max).
 */
int proto_mp_array(struct proto_mp *m, uint32_t max, uint32_t *n);
int proto_mp_map(struct proto_mp *m, uint32_t max, uint32_t *n);

/*
 * proto_mp_uint - a non-negative integer <= max, in any msgpack integer
 * encoding. Returns 0, MX_ETYPE (not an integer), MX_ERANGE (negative or
 * over max), MX_ETRUNC.
 */
int proto_mp_uint(struct proto_mp *m, uint64_t max, uint64_t *v);
/* proto_mp_int - an integer in [min, max]; errors as proto_mp_uint */
int proto_mp_int(struct proto_mp *m, int64_t min, int64_t max, int64_t *v);
/* proto_mp_bool - true or false; 0, MX_ETYPE, MX_ETRUNC */
int proto_mp_bool(struct proto_mp *m, bool *v);
/* proto_mp_nil - nil; 0, MX_ETYPE, MX_ETRUNC */
int proto_mp_nil(struct proto_mp *m);

/*
 * proto_mp_str / proto_mp_bin - a str (resp. bin) of min..max bytes as a
 * view into the input. Contents are not checked (str is not validated as
 * UTF-8). Returns 0, MX_ETYPE, MX_ETOOBIG (longer than max), MX_ETRUNC,
 * MX_ERANGE (shorter than min).
 */
int proto_mp_str(
    struct proto_mp *m, size_t min, size_t max, struct proto_str *v);
int proto_mp_bin(
    struct proto_mp *m, size_t min, size_t max, struct proto_str *v);

/*
 * proto_mp_skip - step over one value of any type without storing it.
 * level is the nesting level the value sits at (the outermost container
 * of an input is level 1); a container at a level over PROTO_DEPTH_MAX is
 * MX_EDEPTH. Returns 0, MX_ETRUNC, MX_ETYPE (byte 0xc1) or MX_EDEPTH.
 */
int proto_mp_skip(struct proto_mp *m, unsigned level);

#endif /* PROTO_MP_H */
