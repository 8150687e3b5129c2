/*
 * proto_url.c - URL hosts from text and HTML attributes
 *
 * A streaming scanner finds "http://", "https://", "ftp://" (a backslash
 * counts as a slash, as browsers read it) and "www." at a word start in
 * text, collects the authority and hands it to proto_url_host, which
 * normalises it the way a browser resolves it: userinfo and port removed,
 * percent escapes decoded, IDNA full stops mapped, trailing dots removed,
 * IPv4 in any WHATWG form (decimal, hex, octal, fewer than four parts)
 * written as a dotted quad, IPv6 literals in canonical text, other labels
 * lower-cased and non-ASCII labels converted to A-labels with the RFC 3492
 * encoder below. proto_url_href does the same for an attribute's URL
 * reference. A query string is scanned as text, so a redirector's target
 * ("...?u=http://evil.example/") is found too.
 * Trust: text and attributes are hostile. Limits: PROTO_URL_AUTH_MAX
 * bytes of an authority are kept (a longer one is judged on its start),
 * hosts must pass proto_key_domain (PROTO_DOMAIN_MAX bytes, 63 per label)
 * and have at least two labels.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/mx_err.h"
#include "proto/proto_content_int.h"
#include "proto/proto_record.h"

enum { PROTO_US_TEXT = 0, PROTO_US_AUTH, PROTO_US_SKIP };

#define PROTO_PUNY_BASE 36
#define PROTO_PUNY_TMIN 1
#define PROTO_PUNY_TMAX 26
#define PROTO_PUNY_SKEW 38
#define PROTO_PUNY_DAMP 700
#define PROTO_HREF_MAX 1024 /* attribute bytes looked at */

/* proto_url_scan_init - scanner at the start of a text */
void
proto_url_scan_init(struct proto_url_scan *s)
{
	s->tail = 0;
	s->st = PROTO_US_TEXT;
	s->n = 0;
}

/* proto_url_alnum - ASCII letter or digit */
static int
proto_url_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') ||
	       ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* proto_url_term - does c end an authority being collected */
static int
proto_url_term(const struct proto_url_scan *s, uint8_t c)
{
	if (c <= 0x20 || c == 0x7f)
		return 1;
	switch (c) {
	case '/':
	case '\\':
	case '?':
	case '#':
	case '"':
	case '\'':
	case '<':
	case '>':
	case '(':
	case ')':
	case '{':
	case '}':
	case '|':
	case '^':
	case '`':
	case ',':
	case ';':
	case '!':
	case '*':
		return 1;
	case '[':
		return s->n > 0;
	case ']':
		return s->n == 0 || s->buf[0] != '[';
	default:
		return 0;
	}
}

/* proto_url_auth_done - normalise the collected authority, report it */
static void
proto_url_auth_done(struct proto_url_scan *s, proto_url_fn fn, void *arg)
{
	char host[PROTO_DOMAIN_MAX + 1];
	size_t len;
	int ip;

	if (proto_url_host(s->buf, s->n, host, &len, &ip) == 0)
		fn(arg, host, len, ip, 0);
	s->n = 0;
}

/* proto_url_boundary - may a URL start right after byte c */
static int
proto_url_boundary(uint8_t c)
{
	return !proto_url_alnum(c) && c != '.' && c != '-' && c != '_' &&
	       c != '@' && c != '/' && c != '%' && c != '&';
}

/* proto_url_scheme - tail + '/' ends "http://", "https://", "ftp://" */
static int
proto_url_scheme(uint64_t tail)
{
	if ((tail & 0xffff) != (':' << 8 | '/'))
		return 0;
	if (((tail >> 16) & 0xffffffffffULL) == 0x6874747073ULL) /* https */
		return !proto_url_alnum((uint8_t)(tail >> 56));
	if (((tail >> 16) & 0xffffffffULL) == 0x68747470ULL) /* http */
		return !proto_url_alnum((uint8_t)(tail >> 48));
	if (((tail >> 16) & 0xffffffULL) == 0x667470ULL) /* ftp */
		return !proto_url_alnum((uint8_t)(tail >> 40));
	return 0;
}

/* proto_url_tail_byte - a byte as the tail register holds it */
static inline uint64_t
proto_url_tail_byte(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return (uint64_t)(c + 32);
	if (c == '\\')
		return '/';
	return c < 0x80 ? c : 0x80;
}

/* proto_url_trigger - bytes that may start a URL: '/', '\\', '.' */
static inline int
proto_url_trigger(uint8_t c)
{
	return c == '/' || c == '.' || c == '\\';
}

/* proto_url_scan - streaming URL finder over UTF-8 text */
void
proto_url_scan(struct proto_url_scan *s, const uint8_t *p, size_t n,
    proto_url_fn fn, void *arg)
{
	size_t i = 0, from = 0, k;
	uint64_t tail;

	while (i < n) {
		uint8_t c = p[i];

		if (s->st == PROTO_US_AUTH) {
			if (s->n == 0 && (c == '/' || c == '\\')) {
				i++; /* "http:///host" is host */
				from = i;
				continue;
			}
			if (!proto_url_term(s, c)) {
				if (s->n < PROTO_URL_AUTH_MAX) {
					s->buf[s->n++] = c;
				} else {
					proto_url_auth_done(s, fn, arg);
					s->st = PROTO_US_SKIP;
				}
				i++;
				from = i;
				continue;
			}
			proto_url_auth_done(s, fn, arg);
			s->st = PROTO_US_TEXT;
			from = i; /* the terminator is text again */
		} else if (s->st == PROTO_US_SKIP) {
			i++;
			from = i;
			if (proto_url_term(s, c))
				s->st = PROTO_US_TEXT;
			if (s->st == PROTO_US_TEXT)
				s->tail = proto_url_tail_byte(c);
			continue;
		}
		/* text: only a trigger byte needs the tail; skip to one */
		while (i < n && !proto_url_trigger(p[i]))
			i++;
		if (i == n)
			break;
		c = p[i];
		/* the 8 bytes before i: saved tail, then this span's bytes */
		tail = s->tail;
		for (k = i - from > 8 ? i - 8 : from; k < i; k++)
			tail = tail << 8 | proto_url_tail_byte(p[k]);
		s->tail = tail;
		from = i;
		if (c != '.' && proto_url_scheme(tail)) {
			s->st = PROTO_US_AUTH;
			s->n = 0;
			s->tail = 0;
			from = ++i;
			continue;
		}
		if (c == '.' && (tail & 0xffffff) == 0x777777 &&
		    proto_url_boundary((uint8_t)(tail >> 24))) {
			memcpy(s->buf, "www.", 4);
			s->n = 4;
			s->st = PROTO_US_AUTH;
			s->tail = 0;
			from = ++i;
			continue;
		}
		i++;
	}
	/* keep the last 8 text bytes for the next span */
	if (s->st == PROTO_US_TEXT)
		for (k = n - from > 8 ? n - 8 : from; k < n; k++)
			s->tail = s->tail << 8 | proto_url_tail_byte(p[k]);
}

/* proto_url_scan_end - end of text */
void
proto_url_scan_end(struct proto_url_scan *s, proto_url_fn fn, void *arg)
{
	if (s->st == PROTO_US_AUTH)
		proto_url_auth_done(s, fn, arg);
	proto_url_scan_init(s);
}

/* proto_url_hexval - value of a hex digit, or -1 */
static int
proto_url_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* proto_url_space_len - length of a Unicode space at p, or 0 */
static size_t
proto_url_space_len(const uint8_t *p, size_t n)
{
	if (n >= 2 && p[0] == 0xc2 && p[1] == 0xa0)
		return 2;
	if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80 &&
	    (p[2] <= 0x8b || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
		return 3;
	if (n >= 3 && p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
		return 3;
	if (n >= 3 && p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	return 0;
}

/* proto_puny_digit - RFC 3492 basic code point for a digit value */
static char
proto_puny_digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

/* proto_puny_adapt - RFC 3492 section 6.1 bias adaptation */
static uint32_t
proto_puny_adapt(uint32_t delta, uint32_t numpoints, int is_first)
{
	uint32_t k = 0;

	delta = is_first ? delta / PROTO_PUNY_DAMP : delta / 2;
	delta += delta / numpoints;
	while (delta >
	       ((PROTO_PUNY_BASE - PROTO_PUNY_TMIN) * PROTO_PUNY_TMAX) / 2) {
		delta /= PROTO_PUNY_BASE - PROTO_PUNY_TMIN;
		k += PROTO_PUNY_BASE;
	}
	return k + (PROTO_PUNY_BASE - PROTO_PUNY_TMIN + 1) * delta /
	               (delta + PROTO_PUNY_SKEW);
}

/* proto_url_punycode - RFC 3492 section 6.3 encoder */
int
proto_url_punycode(
    const uint32_t *cp, size_t n, char *out, size_t cap, size_t *outlen)
{
	uint32_t nn = 0x80, delta = 0, bias = 72, h, b, m, q, k, t;
	size_t j, o = 0;

	if (n > 1024)
		return MX_ETOOBIG;
	for (j = 0; j < n; j++) {
		if (cp[j] > 0x10ffff)
			return MX_ERANGE;
		if (cp[j] < 0x80) {
			if (o >= cap)
				return MX_ETOOBIG;
			out[o++] = (char)cp[j];
		}
	}
	h = b = (uint32_t)o;
	if (b > 0) {
		if (o >= cap)
			return MX_ETOOBIG;
		out[o++] = '-';
	}
	while (h < n) {
		m = UINT32_MAX;
		for (j = 0; j < n; j++)
			if (cp[j] >= nn && cp[j] < m)
				m = cp[j];
		if ((m - nn) > (UINT32_MAX - delta) / (h + 1))
			return MX_ERANGE;
		delta += (m - nn) * (h + 1);
		nn = m;
		for (j = 0; j < n; j++) {
			if (cp[j] < nn && ++delta == 0)
				return MX_ERANGE;
			if (cp[j] != nn)
				continue;
			q = delta;
			for (k = PROTO_PUNY_BASE;; k += PROTO_PUNY_BASE) {
				t = k <= bias ? PROTO_PUNY_TMIN
				    : k >= bias + PROTO_PUNY_TMAX
				        ? PROTO_PUNY_TMAX
				        : k - bias;
				if (q < t)
					break;
				if (o >= cap)
					return MX_ETOOBIG;
				out[o++] = proto_puny_digit(
				    t + (q - t) % (PROTO_PUNY_BASE - t));
				q = (q - t) / (PROTO_PUNY_BASE - t);
			}
			if (o >= cap)
				return MX_ETOOBIG;
			out[o++] = proto_puny_digit(q);
			bias = proto_puny_adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		nn++;
	}
	*outlen = o;
	return 0;
}

/* proto_url_num - a WHATWG IPv4 part: decimal, 0x hex, 0 octal */
static int
proto_url_num(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	unsigned base = 10;

	if (n >= 2 && s[0] == '0' && (s[1] | 0x20) == 'x') {
		base = 16;
		i = 2;
	} else if (n >= 2 && s[0] == '0') {
		base = 8;
		i = 1;
	}
	if (n == 0)
		return -1;
	for (; i < n; i++) {
		int d = proto_url_hexval((uint8_t)s[i]);

		if (d < 0 || (unsigned)d >= base)
			return -1;
		v = v * base + (unsigned)d;
		if (v > UINT32_MAX)
			return -1;
	}
	*out = v;
	return 0;
}

/* proto_url_ends_num - WHATWG "ends in a number": is the last label one */
static int
proto_url_ends_num(const char *h, size_t n)
{
	size_t s = n, i;

	while (s > 0 && h[s - 1] != '.')
		s--;
	if (s == n)
		return 0;
	for (i = s; i < n && h[i] >= '0' && h[i] <= '9'; i++)
		;
	if (i == n)
		return 1;
	if (n - s >= 2 && h[s] == '0' && (h[s + 1] | 0x20) == 'x') {
		for (i = s + 2; i < n && proto_url_hexval((uint8_t)h[i]) >= 0;
		     i++)
			;
		return i == n;
	}
	return 0;
}

/* proto_url_ipv4 - WHATWG IPv4 host parser to a dotted quad */
static int
proto_url_ipv4(const char *h, size_t n, char *out, size_t *len)
{
	uint64_t part[4], v = 0;
	size_t np = 0, s = 0, i;
	int w;

	for (i = 0; i <= n; i++) {
		if (i < n && h[i] != '.')
			continue;
		if (np == 4 || proto_url_num(h + s, i - s, &part[np]) != 0)
			return MX_EINVAL;
		np++;
		s = i + 1;
	}
	for (i = 0; i + 1 < np; i++) {
		if (part[i] > 255)
			return MX_EINVAL;
		v |= part[i] << (24 - 8 * i);
	}
	if (part[np - 1] >= (UINT64_C(1) << (8 * (5 - np))))
		return MX_EINVAL;
	v |= part[np - 1];
	w = snprintf(out, PROTO_DOMAIN_MAX + 1, "%u.%u.%u.%u",
	    (unsigned)(v >> 24), (unsigned)(v >> 16) & 255,
	    (unsigned)(v >> 8) & 255, (unsigned)v & 255);
	if (w < 0 || w > PROTO_DOMAIN_MAX)
		return MX_EINVAL;
	*len = (size_t)w;
	return 0;
}

/* proto_url_label - one label (code points) as lower-case ASCII/A-label */
static int
proto_url_label(
    const uint32_t *cp, size_t n, char *out, size_t cap, size_t *outlen)
{
	uint32_t f[64];
	size_t i, o;
	int is_ascii = 1;

	if (n == 0 || n > 63 || cap < 4)
		return MX_EINVAL;
	for (i = 0; i < n; i++) {
		f[i] = proto_text_fold(cp[i]);
		if (f[i] >= 0x80)
			is_ascii = 0;
	}
	if (is_ascii) {
		if (n > cap)
			return MX_EINVAL;
		for (i = 0; i < n; i++)
			out[i] = (char)f[i];
		*outlen = n;
		return 0;
	}
	memcpy(out, "xn--", 4);
	if (proto_url_punycode(f, n, out + 4, cap - 4, &o) != 0 || o + 4 > 63)
		return MX_EINVAL;
	*outlen = o + 4;
	return 0;
}

/* proto_url_utf8 - next code point of valid UTF-8 at p; 0 when invalid */
static size_t
proto_url_utf8(const uint8_t *p, size_t n, uint32_t *cp)
{
	struct proto_cs cs;
	uint8_t u[4 * 3 + PROTO_CS_SLACK];
	size_t k, need;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	need = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	if (need > n)
		return 0;
	/* the strict converter decides validity: same bytes back = valid */
	proto_decode_cs_init(&cs, PROTO_CS_UTF8);
	k = proto_decode_cs(&cs, p, need, u);
	if (k != need || memcmp(u, p, need) != 0)
		return 0;
	if (need == 2)
		*cp = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	else if (need == 3)
		*cp = (uint32_t)(p[0] & 0x0f) << 12 |
		      (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	else
		*cp = (uint32_t)(p[0] & 0x07) << 18 |
		      (uint32_t)(p[1] & 0x3f) << 12 |
		      (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	return need;
}

/* proto_url_v6 - "[...]" literal to canonical text */
static int
proto_url_v6(const uint8_t *p, size_t n, char *host, size_t *len, int *ip)
{
	char a[64];
	uint8_t bin[16];
	size_t e;

	for (e = 1; e < n && p[e] != ']'; e++)
		;
	if (e == n || e - 1 >= sizeof(a))
		return MX_EINVAL;
	if (e + 1 < n && p[e + 1] != ':')
		return MX_EINVAL;
	memcpy(a, p + 1, e - 1);
	a[e - 1] = '\0';
	if (inet_pton(AF_INET6, a, bin) != 1 ||
	    inet_ntop(AF_INET6, bin, host, PROTO_DOMAIN_MAX + 1) == NULL)
		return MX_EINVAL;
	*len = strlen(host);
	*ip = 6;
	return 0;
}

/* proto_url_host - authority to a normalised host */
int
proto_url_host(const uint8_t *auth, size_t n, char *host, size_t *len, int *ip)
{
	uint8_t raw[PROTO_URL_AUTH_MAX];
	uint32_t cp[PROTO_URL_AUTH_MAX];
	char out[PROTO_DOMAIN_MAX + 1];
	uint8_t key[PROTO_KEY_MAX];
	size_t i, r = 0, ncp = 0, o = 0, start, klen, at = 0, colon;

	/* the authority ends at a space of any script or a path */
	for (i = 0; i < n; i++) {
		if (auth[i] <= 0x20 || auth[i] == '/' || auth[i] == '\\' ||
		    auth[i] == '?' || auth[i] == '#' ||
		    proto_url_space_len(auth + i, n - i) > 0)
			break;
		if (auth[i] == '@')
			at = i + 1;
	}
	n = i;
	auth += at;
	n -= at;
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (r == sizeof(raw))
			return MX_EINVAL;
		if (auth[i] == '%' && i + 2 < n &&
		    (hi = proto_url_hexval(auth[i + 1])) >= 0 &&
		    (lo = proto_url_hexval(auth[i + 2])) >= 0) {
			raw[r++] = (uint8_t)(hi << 4 | lo);
			i += 2;
		} else {
			raw[r++] = auth[i];
		}
	}
	if (r == 0)
		return MX_EINVAL;
	if (raw[0] == '[')
		return proto_url_v6(raw, r, host, len, ip);
	/* port: digits after the last ':' */
	for (colon = r; colon > 0 && raw[colon - 1] != ':'; colon--)
		;
	if (colon > 0) {
		for (i = colon; i < r; i++)
			if (raw[i] < '0' || raw[i] > '9')
				return MX_EINVAL;
		r = colon - 1;
	}
	for (i = 0; i < r;) {
		size_t k = proto_url_utf8(raw + i, r - i, &cp[ncp]);

		if (k == 0)
			return MX_EINVAL;
		/* IDNA full stops */
		if (cp[ncp] == 0x3002 || cp[ncp] == 0xff0e || cp[ncp] == 0xff61)
			cp[ncp] = '.';
		ncp++;
		i += k;
	}
	while (ncp > 0 && cp[ncp - 1] == '.')
		ncp--;
	for (start = 0, i = 0; i <= ncp; i++) {
		size_t ll;

		if (i < ncp && cp[i] != '.')
			continue;
		if (o > 0) {
			if (o >= PROTO_DOMAIN_MAX)
				return MX_EINVAL;
			out[o++] = '.';
		}
		if (proto_url_label(cp + start, i - start, out + o,
		        PROTO_DOMAIN_MAX - o, &ll) != 0)
			return MX_EINVAL;
		o += ll;
		start = i + 1;
	}
	if (o == 0)
		return MX_EINVAL;
	out[o] = '\0';
	if (proto_url_ends_num(out, o) || memchr(out, '.', o) == NULL) {
		if (proto_url_ipv4(out, o, host, len) != 0)
			return MX_EINVAL;
		*ip = 4;
		return 0;
	}
	if (proto_key_domain(out, o, key, &klen) != 0)
		return MX_EINVAL;
	memcpy(host, out, o + 1);
	*len = o;
	*ip = 0;
	return 0;
}

/* proto_url_href - host of an attribute's URL reference */
int
proto_url_href(const uint8_t *v, size_t n, char *host, size_t *len, int *ip)
{
	uint8_t u[PROTO_HREF_MAX];
	size_t i, k = 0, s;

	/* browsers drop tabs and newlines anywhere, blanks around */
	for (i = 0; i < n && k < sizeof(u); i++)
		if (v[i] != '\t' && v[i] != '\r' && v[i] != '\n')
			u[k++] = v[i];
	for (s = 0; s < k && u[s] <= 0x20; s++)
		;
	for (i = s; i < k && proto_url_alnum(u[i]); i++)
		;
	if (i < k && u[i] == ':') {
		size_t sl = i - s, j;
		char sch[6];

		if (sl < 3 || sl > 5)
			return MX_EINVAL;
		for (j = 0; j < sl; j++)
			sch[j] = (char)(u[s + j] | 0x20);
		sch[sl] = '\0';
		if (strcmp(sch, "http") != 0 && strcmp(sch, "https") != 0 &&
		    strcmp(sch, "ftp") != 0)
			return MX_EINVAL;
		s = i + 1;
	} else if (!(k - s >= 2 && (u[s] == '/' || u[s] == '\\') &&
	               (u[s + 1] == '/' || u[s + 1] == '\\'))) {
		return MX_EINVAL; /* relative, mailto:, javascript:... */
	}
	while (s < k && (u[s] == '/' || u[s] == '\\'))
		s++;
	for (i = s;
	     i < k && u[i] != '/' && u[i] != '\\' && u[i] != '?' && u[i] != '#';
	     i++)
		;
	if (i - s > PROTO_URL_AUTH_MAX)
		i = s + PROTO_URL_AUTH_MAX;
	return proto_url_host(u + s, i - s, host, len, ip);
}
