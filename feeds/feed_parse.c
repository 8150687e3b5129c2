/*
 * feed_parse.c - the line parsers of every list format, their validation
 * and format detection
 *
 * One line in, a verdict out: skip (blank, comment, hosts boilerplate),
 * entries (canonical proto keys), or bad with a reason. Formats:
 *   drop    "192.0.2.0/24 ; SBL123456" (Spamhaus DROP, EDROP, DROPv6)
 *   ip      "192.0.2.7", "2001:db8::/32", optional "# comment" after it
 *   domain  "example.com", optional "# comment" after it
 *   hosts   "0.0.0.0 example.com [more names] [# comment]" (also
 *           127.0.0.1, :: and ::1 as the address)
 * Lines starting with '#' or ';' are comments in every format. Every
 * address is validated: host bits set, networks wider than the rules
 * allow, private and reserved space (unless allowed) and DNSBL answer
 * sentinels (127.0.0.0/24, 127.255.255.0/24: an error answer written
 * into a list, never a real listing) are refused. Domain names are
 * checked label by label (proto_key_domain); internationalised names are
 * converted to A-labels with libidn2 (IDNA2008, UTS 46 mapping).
 * Trust: every byte is hostile. Limits: FEED_LINE_MAX bytes a line,
 * FEED_LINE_NAMES_MAX names on a hosts line; nothing is allocated except
 * libidn2's result for a non-ASCII name (bounded by the line).
 */
#include "feeds/feed.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <idn2.h>

#include "lib/mx_ascii.h"
#include "lib/mx_err.h"
#include "lib/mx_parse.h"

#define FEED_PARSE_ADDR_MAX 64 /* longest address token, with "/plen" */

/* a special-purpose range and how to name it */
struct feed_parse_range {
	uint8_t alen;
	uint8_t plen;
	uint8_t addr[16];
	const char *what;
};

/* RFC 6890 and the IANA special-purpose registries */
static const struct feed_parse_range feed_parse_reserved[] = {
    {4, 8, {0}, "0.0.0.0/8 this network"},
    {4, 8, {10}, "10.0.0.0/8 private"},
    {4, 10, {100, 64}, "100.64.0.0/10 shared address space"},
    {4, 8, {127}, "127.0.0.0/8 loopback"},
    {4, 16, {169, 254}, "169.254.0.0/16 link-local"},
    {4, 12, {172, 16}, "172.16.0.0/12 private"},
    {4, 24, {192, 0, 0}, "192.0.0.0/24 IETF protocol assignments"},
    {4, 24, {192, 0, 2}, "192.0.2.0/24 documentation"},
    {4, 24, {192, 88, 99}, "192.88.99.0/24 6to4 relay anycast"},
    {4, 16, {192, 168}, "192.168.0.0/16 private"},
    {4, 15, {198, 18}, "198.18.0.0/15 benchmarking"},
    {4, 24, {198, 51, 100}, "198.51.100.0/24 documentation"},
    {4, 24, {203, 0, 113}, "203.0.113.0/24 documentation"},
    {4, 4, {224}, "224.0.0.0/4 multicast"},
    {4, 4, {240}, "240.0.0.0/4 reserved"},
    {16, 8, {0}, "::/8 reserved (unspecified, loopback)"},
    {16, 96, {0, 0x64, 0xff, 0x9b}, "64:ff9b::/96 NAT64"},
    {16, 48, {0, 0x64, 0xff, 0x9b, 0, 1}, "64:ff9b:1::/48 NAT64 local"},
    {16, 64, {1, 0}, "100::/64 discard"},
    {16, 23, {0x20, 0x01, 0, 0}, "2001::/23 IETF protocol assignments"},
    {16, 32, {0x20, 0x01, 0x0d, 0xb8}, "2001:db8::/32 documentation"},
    {16, 20, {0x3f, 0xff}, "3fff::/20 documentation"},
    {16, 7, {0xfc}, "fc00::/7 unique local"},
    {16, 10, {0xfe, 0x80}, "fe80::/10 link-local"},
    {16, 10, {0xfe, 0xc0}, "fec0::/10 site-local"},
    {16, 8, {0xff}, "ff00::/8 multicast"},
};

/* DNSBL answers: an error or status answer pasted into a list */
static const struct feed_parse_range feed_parse_sentinels[] = {
    {4, 24, {127, 0, 0}, "127.0.0.0/24"},
    {4, 24, {127, 255, 255}, "127.255.255.0/24"},
};

/* names hosts files map to themselves: not list entries */
static const char *const feed_parse_boilerplate[] = {
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
    "ip6-localnet",
    "ip6-mcastprefix",
    "ip6-allnodes",
    "ip6-allrouters",
    "ip6-allhosts",
    "0.0.0.0",
};

static const char *const feed_parse_fmt_names[] = {
    "auto", "drop", "ip", "domain", "hosts"};

/* feed_format_name - a format's name */
const char *
feed_format_name(int fmt)
{
	if (fmt < FEED_FMT_AUTO || fmt > FEED_FMT_MAX)
		return "?";
	return feed_parse_fmt_names[fmt];
}

/* feed_format_parse - a name's format */
int
feed_format_parse(const char *name, size_t len)
{
	int i;

	for (i = FEED_FMT_AUTO; i <= FEED_FMT_MAX; i++)
		if (strlen(feed_parse_fmt_names[i]) == len &&
		    memcmp(feed_parse_fmt_names[i], name, len) == 0)
			return i;
	return MX_EINVAL;
}

/* feed_parse_bad - set why and say FEED_LINE_BAD */
static int feed_parse_bad(struct feed_line *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
feed_parse_bad(struct feed_line *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* a cut reason is still a reason: truncation is fine here */
	if (vsnprintf(out->why, sizeof(out->why), fmt, ap) < 0)
		out->why[0] = '\0';
	va_end(ap);
	if (out->why[0] == '\0')
		snprintf(out->why, sizeof(out->why), "refused");
	out->n = 0;
	return FEED_LINE_BAD;
}

/* feed_parse_is_blank - space or tab */
static int
feed_parse_is_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* feed_net_overlaps - one network holds the other */
int
feed_net_overlaps(
    const uint8_t *a, unsigned pa, const uint8_t *b, unsigned pb, size_t alen)
{
	unsigned p = pa < pb ? pa : pb, full = p / 8, rest = p % 8;

	if (p > alen * 8)
		return 0;
	if (full > 0 && memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* feed_parse_in_ranges - the first range that a/plen meets, or NULL */
static const struct feed_parse_range *
feed_parse_in_ranges(const struct feed_parse_range *t, size_t n,
    const uint8_t *a, size_t alen, unsigned plen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].alen == alen &&
		    feed_net_overlaps(a, plen, t[i].addr, t[i].plen, alen))
			return &t[i];
	return NULL;
}

/* feed_parse_mask - clear the bits past plen */
static void
feed_parse_mask(uint8_t *a, size_t alen, unsigned plen)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned bit = (unsigned)i * 8;

		if (bit >= plen)
			a[i] = 0;
		else if (bit + 8 > plen)
			a[i] &= (uint8_t)(0xff << (8 - (plen - bit)));
	}
}

/*
 * feed_parse_addr - "ADDR" or "ADDR/PLEN" to address bytes and prefix;
 * a v4-mapped v6 network of /96 or longer becomes IPv4. Host bits set
 * are refused (what was meant is named in the reason).
 */
static int
feed_parse_addr(const char *t, size_t len, uint8_t addr[16], size_t *alen,
    unsigned *plen, struct feed_line *out)
{
	static const uint8_t v4mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const char *slash = memchr(t, '/', len);
	size_t alen_txt = slash ? (size_t)(slash - t) : len;
	char tmp[FEED_PARSE_ADDR_MAX];
	char shown[INET6_ADDRSTRLEN];
	uint8_t masked[16];
	uint64_t p;

	if (alen_txt == 0 || alen_txt >= sizeof(tmp) || len >= sizeof(tmp))
		return feed_parse_bad(out, "not an IP address or network");
	memcpy(tmp, t, alen_txt);
	tmp[alen_txt] = '\0';
	if (memchr(tmp, ':', alen_txt) != NULL) {
		if (inet_pton(AF_INET6, tmp, addr) != 1)
			return feed_parse_bad(out, "not an IPv6 address");
		*alen = 16;
	} else {
		if (inet_pton(AF_INET, tmp, addr) != 1)
			return feed_parse_bad(out, "not an IPv4 address");
		*alen = 4;
	}
	p = *alen * 8;
	if (slash != NULL) {
		size_t pl = len - alen_txt - 1;

		/* "/024" and "/+24" are not canonical: refuse, never guess */
		if (pl == 0 || (pl > 1 && slash[1] == '0') ||
		    mx_parse_u64(slash + 1, pl, 0, *alen * 8, &p) != 0)
			return feed_parse_bad(
			    out, "prefix length is not 0..%zu", *alen * 8);
	}
	memcpy(masked, addr, *alen);
	feed_parse_mask(masked, *alen, (unsigned)p);
	if (memcmp(masked, addr, *alen) != 0) {
		if (inet_ntop(*alen == 4 ? AF_INET : AF_INET6, masked, shown,
		        sizeof(shown)) == NULL)
			shown[0] = '\0';
		return feed_parse_bad(out,
		    "host bits set (the network is %s/%u)", shown, (unsigned)p);
	}
	if (*alen == 16 && p >= 96 && memcmp(addr, v4mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		*alen = 4;
		p -= 96;
	}
	*plen = (unsigned)p;
	return FEED_LINE_OK;
}

/* feed_parse_net_entry - validate an address and make its entry */
static int
feed_parse_net_entry(const struct feed_rules *r, const char *t, size_t len,
    struct feed_entry *e, struct feed_line *out)
{
	const struct feed_parse_range *hit;
	uint8_t addr[16];
	size_t alen = 0;
	unsigned plen = 0, min;
	int rc;

	if ((rc = feed_parse_addr(t, len, addr, &alen, &plen, out)) !=
	    FEED_LINE_OK)
		return rc;
	min = alen == 4 ? r->min_prefix_v4 : r->min_prefix_v6;
	if (plen < min && !r->allow_wide)
		return feed_parse_bad(out,
		    "network /%u wider than /%u (%s; allow_wide)", plen, min,
		    alen == 4 ? "min_prefix_v4" : "min_prefix_v6");
	/* refused whatever is allowed: an error answer, not a listing */
	hit = feed_parse_in_ranges(feed_parse_sentinels,
	    sizeof(feed_parse_sentinels) / sizeof(feed_parse_sentinels[0]),
	    addr, alen, plen);
	if (hit != NULL)
		return feed_parse_bad(out,
		    "DNSBL answer sentinel (%s): never a listing", hit->what);
	hit = feed_parse_in_ranges(feed_parse_reserved,
	    sizeof(feed_parse_reserved) / sizeof(feed_parse_reserved[0]), addr,
	    alen, plen);
	if (hit != NULL && !r->allow_private)
		return feed_parse_bad(out,
		    "private or reserved address space (%s; allow_private)",
		    hit->what);
	memset(e, 0, sizeof(*e));
	if (plen == alen * 8) {
		e->kind = PROTO_KIND_IP;
		memcpy(e->key, addr, alen);
		e->key_len = (uint8_t)alen;
	} else {
		e->kind = PROTO_KIND_NET;
		e->key[0] = (uint8_t)plen;
		memcpy(e->key + 1, addr, alen);
		e->key_len = (uint8_t)(alen + 1);
	}
	return FEED_LINE_OK;
}

/*
 * feed_parse_idn - a name with non-ASCII bytes to its A-label form in
 * out (NUL-ended); 0 or MX_EINVAL
 */
static int
feed_parse_idn(const char *t, size_t len, char *out, size_t outlen)
{
	char in[FEED_LINE_MAX + 1];
	char *ascii = NULL;
	size_t n;
	int rc = MX_EINVAL;

	/* a NUL would cut the name short for libidn2: refuse, never guess */
	if (len >= sizeof(in) || memchr(t, '\0', len) != NULL)
		return MX_EINVAL;
	memcpy(in, t, len);
	in[len] = '\0';
	if (idn2_to_ascii_8z(
	        in, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK ||
	    ascii == NULL)
		goto out;
	n = strlen(ascii);
	if (n == 0 || n >= outlen)
		goto out;
	memcpy(out, ascii, n + 1);
	rc = 0;
out:
	idn2_free(ascii);
	return rc;
}

/* feed_parse_domain_entry - validate a domain name and make its entry */
static int
feed_parse_domain_entry(const struct feed_rules *r, const char *t, size_t len,
    struct feed_entry *e, struct feed_line *out)
{
	char alabel[PROTO_DOMAIN_MAX + 2];
	size_t i, klen, tld;
	int is_ascii = 1, is_numeric = 1;

	if (len > 0 && (t[0] == '*' || t[0] == '.'))
		return feed_parse_bad(out,
		    "wildcard or leading dot: give the domain itself (its "
		    "subdomains are covered)");
	for (i = 0; i < len; i++)
		if ((uint8_t)t[i] >= 0x80)
			is_ascii = 0;
	if (!is_ascii) {
		if (feed_parse_idn(t, len, alabel, sizeof(alabel)) != 0)
			return feed_parse_bad(
			    out, "not a valid internationalised domain name");
		t = alabel;
		len = strlen(alabel);
	}
	memset(e, 0, sizeof(*e));
	if (proto_key_domain(t, len, e->key, &klen) != 0)
		return feed_parse_bad(out, "not a domain name");
	/* the key is reversed: the top-level label comes first */
	for (tld = 0; tld < klen && e->key[tld] != '.'; tld++)
		if (e->key[tld] < '0' || e->key[tld] > '9')
			is_numeric = 0;
	if (is_numeric)
		return feed_parse_bad(
		    out, "numeric top-level label: an address, not a domain");
	if (tld == klen && !r->allow_wide)
		return feed_parse_bad(
		    out, "a top-level domain alone is too wide (allow_wide)");
	e->kind = PROTO_KIND_DOMAIN;
	e->key_len = (uint8_t)klen;
	return FEED_LINE_OK;
}

/* feed_parse_token - the next blank-separated token from *pos */
static size_t
feed_parse_token(const char *p, size_t len, size_t *pos, const char **tok)
{
	size_t s;

	while (*pos < len && feed_parse_is_blank((uint8_t)p[*pos]))
		(*pos)++;
	s = *pos;
	while (*pos < len && !feed_parse_is_blank((uint8_t)p[*pos]))
		(*pos)++;
	*tok = p + s;
	return *pos - s;
}

/* feed_parse_rest_is_comment - only blanks, or a comment, after pos */
static int
feed_parse_rest_is_comment(const char *p, size_t len, size_t pos)
{
	while (pos < len && feed_parse_is_blank((uint8_t)p[pos]))
		pos++;
	return pos == len || p[pos] == '#' || p[pos] == ';';
}

/* feed_parse_tag_ok - a list id: 1..FEED_TAG_MAX of [A-Za-z0-9._-] */
static int
feed_parse_tag_ok(const char *t, size_t len)
{
	size_t i;

	if (len == 0 || len > FEED_TAG_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		uint8_t c = (uint8_t)t[i];

		if (!mx_ascii_is_alpha(c) && !(c >= '0' && c <= '9') &&
		    c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

/* feed_parse_drop - "CIDR ; ID" */
static int
feed_parse_drop(const struct feed_rules *r, const char *p, size_t len,
    struct feed_line *out)
{
	const char *semi = memchr(p, ';', len), *tok;
	size_t alen, pos, tlen;
	int rc;

	if (semi == NULL)
		return feed_parse_bad(out, "no '; SBLnnn' after the network");
	alen = (size_t)(semi - p);
	while (alen > 0 && feed_parse_is_blank((uint8_t)p[alen - 1]))
		alen--;
	if (alen == 0 || memchr(p, ' ', alen) || memchr(p, '\t', alen))
		return feed_parse_bad(out, "not 'network ; SBLnnn'");
	if ((rc = feed_parse_net_entry(r, p, alen, &out->e[0], out)) !=
	    FEED_LINE_OK)
		return rc;
	pos = (size_t)(semi - p) + 1;
	tlen = feed_parse_token(p, len, &pos, &tok);
	if (!feed_parse_tag_ok(tok, tlen))
		return feed_parse_bad(out,
		    "list id after ';' is not 1..%d of [A-Za-z0-9._-]",
		    FEED_TAG_MAX);
	while (pos < len && feed_parse_is_blank((uint8_t)p[pos]))
		pos++;
	if (pos != len)
		return feed_parse_bad(out, "text after the list id");
	memcpy(out->e[0].tag, tok, tlen);
	out->e[0].tag_len = (uint8_t)tlen;
	out->n = 1;
	return FEED_LINE_OK;
}

/* feed_parse_single - ip or domain: one token, then maybe a comment */
static int
feed_parse_single(int fmt, const struct feed_rules *r, const char *p,
    size_t len, struct feed_line *out)
{
	const char *tok;
	size_t pos = 0, tlen;
	int rc;

	tlen = feed_parse_token(p, len, &pos, &tok);
	if (!feed_parse_rest_is_comment(p, len, pos))
		return feed_parse_bad(out, "more than one %s on the line",
		    fmt == FEED_FMT_IP ? "address" : "name");
	if (fmt == FEED_FMT_IP)
		rc = feed_parse_net_entry(r, tok, tlen, &out->e[0], out);
	else
		rc = feed_parse_domain_entry(r, tok, tlen, &out->e[0], out);
	if (rc != FEED_LINE_OK)
		return rc;
	out->n = 1;
	return FEED_LINE_OK;
}

/* feed_parse_is_boilerplate - a name hosts files map to themselves */
static int
feed_parse_is_boilerplate(const char *t, size_t len)
{
	size_t i, j;

	for (i = 0; i < sizeof(feed_parse_boilerplate) /
	                    sizeof(feed_parse_boilerplate[0]);
	     i++) {
		const char *b = feed_parse_boilerplate[i];

		if (strlen(b) != len)
			continue;
		for (j = 0; j < len; j++)
			if (mx_ascii_lower((uint8_t)t[j]) != (uint8_t)b[j])
				break;
		if (j == len)
			return 1;
	}
	return 0;
}

/* feed_parse_is_sink - 0.0.0.0, 127.0.0.1, :: or ::1 */
static int
feed_parse_is_sink(const char *t, size_t len)
{
	static const uint8_t v6any[16],
	    v6lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	char tmp[FEED_PARSE_ADDR_MAX];
	uint8_t a[16];

	if (len == 0 || len >= sizeof(tmp))
		return 0;
	memcpy(tmp, t, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, a) == 1)
		return (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0) ||
		       (a[0] == 127 && a[1] == 0 && a[2] == 0 && a[3] == 1);
	if (inet_pton(AF_INET6, tmp, a) == 1)
		return memcmp(a, v6any, 16) == 0 || memcmp(a, v6lo, 16) == 0;
	return 0;
}

/* feed_parse_hosts - "ADDR name [name ...] [# comment]" */
static int
feed_parse_hosts(const struct feed_rules *r, const char *p, size_t len,
    struct feed_line *out)
{
	const char *addr, *tok;
	const char *names[FEED_LINE_NAMES_MAX + 1];
	size_t nlen[FEED_LINE_NAMES_MAX + 1];
	size_t pos = 0, alen, tlen, n = 0, i, real = 0;
	int rc;

	alen = feed_parse_token(p, len, &pos, &addr);
	for (;;) {
		while (pos < len && feed_parse_is_blank((uint8_t)p[pos]))
			pos++;
		if (pos == len || p[pos] == '#')
			break; /* the end, or a comment */
		tlen = feed_parse_token(p, len, &pos, &tok);
		if (n == FEED_LINE_NAMES_MAX)
			return feed_parse_bad(
			    out, "more than %d names", FEED_LINE_NAMES_MAX);
		names[n] = tok;
		nlen[n++] = tlen;
		if (!feed_parse_is_boilerplate(tok, tlen))
			real++;
	}
	if (n == 0)
		return feed_parse_bad(out, "no host name after the address");
	if (real == 0)
		return FEED_LINE_SKIP; /* "127.0.0.1 localhost" and the like */
	if (!feed_parse_is_sink(addr, alen))
		return feed_parse_bad(out,
		    "hosts entry does not point to 0.0.0.0, 127.0.0.1, :: or "
		    "::1");
	out->n = 0;
	for (i = 0; i < n; i++) {
		if (feed_parse_is_boilerplate(names[i], nlen[i]))
			continue;
		rc = feed_parse_domain_entry(
		    r, names[i], nlen[i], &out->e[out->n], out);
		if (rc != FEED_LINE_OK)
			return rc;
		out->n++;
	}
	return FEED_LINE_OK;
}

/* feed_parse_line - one line of a format */
int
feed_parse_line(int fmt, const struct feed_rules *r, const char *p, size_t len,
    struct feed_line *out)
{
	size_t i;

	out->n = 0;
	out->why[0] = '\0';
	if (p != NULL && len > 0 && p[len - 1] == '\r')
		len--; /* a CRLF line end does not count */
	if (len > FEED_LINE_MAX)
		return feed_parse_bad(
		    out, "line longer than %d bytes", FEED_LINE_MAX);
	if (p == NULL && len > 0)
		return feed_parse_bad(out, "no data");
	while (len > 0 &&
	       (feed_parse_is_blank((uint8_t)p[len - 1]) || p[len - 1] == '\r'))
		len--;
	while (len > 0 && feed_parse_is_blank((uint8_t)p[0])) {
		p++;
		len--;
	}
	if (len == 0 || p[0] == '#' || p[0] == ';')
		return FEED_LINE_SKIP;
	for (i = 0; i < len; i++) {
		uint8_t c = (uint8_t)p[i];

		if (c == '#' && fmt != FEED_FMT_DROP)
			break; /* a comment may say anything */
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return feed_parse_bad(
			    out, "control byte 0x%02x at column %zu", c, i + 1);
	}
	switch (fmt) {
	case FEED_FMT_DROP:
		return feed_parse_drop(r, p, len, out);
	case FEED_FMT_IP:
	case FEED_FMT_DOMAIN:
		return feed_parse_single(fmt, r, p, len, out);
	case FEED_FMT_HOSTS:
		return feed_parse_hosts(r, p, len, out);
	default:
		return feed_parse_bad(out, "no format");
	}
}

/* feed_parse_detect - vote over the first data lines */
int
feed_parse_detect(const char *buf, size_t len, int is_end, size_t *n_data)
{
	static const int order[] = {
	    FEED_FMT_DROP, FEED_FMT_HOSTS, FEED_FMT_IP, FEED_FMT_DOMAIN};
	/* syntax only: what a list would be refused for comes later */
	static const struct feed_rules any = {0, 0, 1, 1};
	size_t votes[FEED_FMT_MAX + 1] = {0};
	size_t pos = 0, data = 0, best = 0, i;
	int fmt = FEED_FMT_AUTO;
	struct feed_line ln;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len && data < FEED_DETECT_LINES) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		int counted = 0;

		if (nl == NULL && !is_end)
			break;
		for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
			int rc =
			    feed_parse_line(order[i], &any, buf + pos, l, &ln);

			if (rc == FEED_LINE_OK)
				votes[order[i]]++;
			if (rc != FEED_LINE_SKIP)
				counted = 1;
		}
		data += (size_t)counted;
		pos += l + (nl != NULL);
	}
	if (n_data != NULL)
		*n_data = data;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (votes[order[i]] > best) {
			best = votes[order[i]];
			fmt = order[i];
		}
	return fmt;
}

/* feed_entry_net - address and prefix of an ip or net entry */
int
feed_entry_net(
    const struct feed_entry *e, size_t *alen, uint8_t addr[16], unsigned *plen)
{
	if (e->kind == PROTO_KIND_IP && (e->key_len == 4 || e->key_len == 16)) {
		memcpy(addr, e->key, e->key_len);
		*alen = e->key_len;
		*plen = (unsigned)e->key_len * 8;
		return 0;
	}
	if (e->kind == PROTO_KIND_NET &&
	    (e->key_len == 5 || e->key_len == 17)) {
		memcpy(addr, e->key + 1, e->key_len - 1u);
		*alen = e->key_len - 1u;
		*plen = e->key[0];
		return 0;
	}
	return MX_EINVAL;
}

/* feed_entry_text - "kind key" */
void
feed_entry_text(const struct feed_entry *e, char *out, size_t outlen)
{
	char key[PROTO_DOMAIN_MAX + 64];
	const char *kn = proto_kind_name(e->kind);

	if (outlen == 0)
		return;
	if (proto_key_format(e->kind, e->key, e->key_len, key, sizeof(key)) !=
	    0)
		snprintf(key, sizeof(key), "?");
	/* cut to fit is what the caller asked for */
	if (snprintf(out, outlen, "%s %s", kn ? kn : "?", key) < 0)
		out[0] = '\0';
}
