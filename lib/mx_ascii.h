/*
 * mx_ascii.h - locale-free ASCII case and hex-digit helpers
 *
 * Protocol names (domains, keywords, MIME names, country codes) compare
 * case-insensitively in ASCII only; <ctype.h> depends on the locale and
 * takes int, so these are used instead.
 * Trust: any byte; bytes outside ASCII letters pass through unchanged.
 */
#ifndef MX_ASCII_H
#define MX_ASCII_H

#include <stddef.h>
#include <stdint.h>

/* mx_ascii_lower - 'A'..'Z' to 'a'..'z', any other byte unchanged */
static inline uint8_t
mx_ascii_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* mx_ascii_upper - 'a'..'z' to 'A'..'Z', any other byte unchanged */
static inline uint8_t
mx_ascii_upper(uint8_t c)
{
	return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
}

/* mx_ascii_is_alpha - an ASCII letter */
static inline int
mx_ascii_is_alpha(uint8_t c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* mx_ascii_hexval - the value of a hex digit (either case), or -1 */
static inline int
mx_ascii_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = mx_ascii_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* mx_ascii_lower_copy - copy n bytes lower-cased; dst may equal src */
static inline void
mx_ascii_lower_copy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = mx_ascii_lower(s[i]);
}

#endif /* MX_ASCII_H */
