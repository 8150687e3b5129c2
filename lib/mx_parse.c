/*
 * mx_parse.c - checked number parsing
 *
 * Trust: hostile text; every path is bounded by len and checks overflow.
 */
#include "lib/mx_parse.h"

#include <string.h>
#include <strings.h>

#include "lib/mx_err.h"

/* mx_parse_digits - decimal digits to u64 with overflow check */
static int
mx_parse_digits(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return MX_EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return MX_EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return MX_ERANGE;
	}
	*out = v;
	return 0;
}

/* mx_parse_u64 - bounded unsigned parse */
int
mx_parse_u64(
    const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int rc;

	if ((rc = mx_parse_digits(s, len, &v)) != 0)
		return rc;
	if (v < min || v > max)
		return MX_ERANGE;
	*out = v;
	return 0;
}

/* mx_parse_i64 - bounded signed parse */
int
mx_parse_i64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	uint64_t v;
	int64_t r;
	int neg = 0, rc;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		s++;
		len--;
	}
	if ((rc = mx_parse_digits(s, len, &v)) != 0)
		return rc;
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return MX_ERANGE;
		r = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return MX_ERANGE;
		r = (int64_t)v;
	}
	if (r < min || r > max)
		return MX_ERANGE;
	*out = r;
	return 0;
}

/* mx_parse_scaled - digits then a suffix from a table of multipliers */
static int
mx_parse_scaled(const char *s, size_t len, const char *const *sfx,
    const uint64_t *mul, uint64_t defmul, uint64_t min, uint64_t max,
    uint64_t *out)
{
	size_t dl = 0, i;
	uint64_t v, m = defmul;
	int rc;

	while (dl < len && s[dl] >= '0' && s[dl] <= '9')
		dl++;
	if (dl < len) {
		size_t sl = len - dl;

		m = 0;
		for (i = 0; sfx[i] != NULL; i++) {
			size_t k = 0;

			while (sfx[i][k] != '\0')
				k++;
			if (k == sl && strncasecmp(s + dl, sfx[i], sl) == 0) {
				m = mul[i];
				break;
			}
		}
		if (m == 0)
			return MX_EINVAL;
	}
	if ((rc = mx_parse_digits(s, dl, &v)) != 0)
		return rc;
	if (__builtin_mul_overflow(v, m, &v))
		return MX_ERANGE;
	if (v < min || v > max)
		return MX_ERANGE;
	*out = v;
	return 0;
}

/* mx_parse_size - bytes with k/m/g suffix */
int
mx_parse_size(
    const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
	static const char *const sfx[] = {"k", "m", "g", "b", NULL};
	static const uint64_t mul[] = {
	    1024, 1024 * 1024, 1024 * 1024 * 1024, 1};

	return mx_parse_scaled(s, len, sfx, mul, 1, min, max, out);
}

/* mx_parse_duration_ms - duration with unit suffix, to milliseconds */
int
mx_parse_duration_ms(
    const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
	static const char *const sfx[] = {"ms", "s", "m", "h", "d", NULL};
	static const uint64_t mul[] = {1, 1000, 60000, 3600000, 86400000};

	return mx_parse_scaled(s, len, sfx, mul, 1000, min, max, out);
}

/* mx_parse_bool - boolean words */
int
mx_parse_bool(const char *s, size_t len, int *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t i, k;

	for (i = 0; i < 4; i++) {
		for (k = 0; yes[i][k] != '\0'; k++)
			;
		if (k == len && strncasecmp(s, yes[i], len) == 0) {
			*out = 1;
			return 0;
		}
		for (k = 0; no[i][k] != '\0'; k++)
			;
		if (k == len && strncasecmp(s, no[i], len) == 0) {
			*out = 0;
			return 0;
		}
	}
	return MX_EINVAL;
}

/* mx_parse_hostport - split HOST:PORT */
int
mx_parse_hostport(
    const char *s, size_t len, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon = NULL;
	size_t hl, i;
	uint64_t p;

	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL || rb + 1 >= s + len || rb[1] != ':')
			return MX_EINVAL;
		hl = (size_t)(rb - s - 1);
		colon = rb + 1;
		if (hl == 0 || hl >= hostlen ||
		    mx_parse_u64(colon + 1, (size_t)(s + len - colon - 1), 1,
		        65535, &p) != 0)
			return MX_EINVAL;
		memcpy(host, s + 1, hl);
	} else {
		for (i = len; i > 0; i--)
			if (s[i - 1] == ':') {
				colon = s + i - 1;
				break;
			}
		if (colon == NULL)
			return MX_EINVAL;
		hl = (size_t)(colon - s);
		if (hl == 0 || hl >= hostlen ||
		    mx_parse_u64(colon + 1, (size_t)(s + len - colon - 1), 1,
		        65535, &p) != 0)
			return MX_EINVAL;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}
