/*
 * mx_json.h - JSON string output for the programs' --json and HTTP
 * answers
 *
 * Trust: the text comes from records, configs and the network, so it may
 * hold quotes, control characters and bytes that are not UTF-8: quotes
 * and backslashes are escaped, control characters become \u00XX, and
 * each byte that does not start a valid UTF-8 sequence becomes \ufffd,
 * so the output is always valid JSON.
 */
#ifndef MX_JSON_H
#define MX_JSON_H

#include <stddef.h>

/* the room mx_json_quote needs for len bytes of text, quotes included */
#define MX_JSON_QUOTED_MAX(len) ((len)*6 + 3)

/*
 * mx_json_quote - s[0..len) as a JSON string with its quotes into out
 * (cap bytes, NUL-ended). Text that does not fit is cut at a character
 * boundary and the string still closed. Returns the bytes written
 * (without the NUL); cap < 3 writes nothing and returns 0.
 */
size_t mx_json_quote(char *out, size_t cap, const char *s, size_t len);

#endif /* MX_JSON_H */
