/*
 * mx_json.c - JSON string output (see mx_json.h)
 */
#include "lib/mx_json.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * mx_json_utf8 - the length of the valid UTF-8 sequence at s (at most
 * len bytes), or 0: overlong forms, surrogates and code points above
 * U+10FFFF are not valid (RFC 3629)
 */
static size_t
mx_json_utf8(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* mx_json_quote - quote and escape */
size_t
mx_json_quote(char *out, size_t cap, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[8];
	const char *piece;
	size_t o = 0, i = 0, n, plen;

	if (cap < 3)
		return 0;
	out[o++] = '"';
	while (i < len) {
		n = mx_json_utf8(u + i, len - i);
		if (n == 0) {
			piece = "\\ufffd";
			plen = 6;
			n = 1;
		} else if (u[i] == '"' || u[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)u[i];
			piece = esc;
			plen = 2;
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			piece = esc;
			plen = 6;
		} else {
			piece = s + i;
			plen = n;
		}
		/* room for the piece, the closing quote and the NUL */
		if (o + plen + 2 > cap)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		i += n;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}
