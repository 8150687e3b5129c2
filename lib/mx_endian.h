/*
 * mx_endian.h - fixed-width integers in stored and wire layouts, byte by
 * byte (no alignment or host byte order assumed)
 * Trust: callers check that the bytes are there.
 */
#ifndef MX_ENDIAN_H
#define MX_ENDIAN_H

#include <stdint.h>

/* mx_get_le16 / mx_get_le32 / mx_get_le64 - little-endian reads */
static inline uint16_t
mx_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
mx_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t
mx_get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* mx_put_le - the n low bytes of v, little-endian */
static inline void
mx_put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* mx_get_be64 / mx_put_be64 - big-endian (keys that sort as numbers) */
static inline uint64_t
mx_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline void
mx_put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

#endif /* MX_ENDIAN_H */
