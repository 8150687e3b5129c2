/*
 * edge_proxy.c - PROXY protocol v1 and v2 header parser of mxedge
 *
 * A load balancer in front of mxedge announces the real client address in
 * a PROXY header (haproxy.org proxy-protocol.txt) before any SMTP byte.
 * This file recognises the header at the start of a connection's buffered
 * bytes and parses it without blocking: it answers "need more bytes"
 * (MX_ETRUNC), "invalid" (MX_EPROTO), or the addresses and the number of
 * bytes to drop. edge_proxy_detect() lets a listener that is not
 * configured for PROXY refuse a header as a protocol error rather than
 * read it as SMTP. edge_proxy_net_parse() and edge_proxy_trusted() hold
 * the proxy_trusted list: only a connection from one of those sources may
 * send a header at all (the server closes any other before a byte).
 * Trust: on a PROXY listener the header is trusted for the client address
 * only because its peer is in proxy_trusted; the bytes are still parsed
 * as hostile. Limits: a v1 line is at most EDGE_PROXY_V1_MAX bytes and
 * must end in CRLF; a v2 header's declared length is checked against
 * EDGE_PROXY_V2_MAX before any wait for more bytes, then against the
 * bytes present; TLVs are walked inside that length and skipped.
 * Addresses go through inet_pton on a bounded NUL-terminated stack copy.
 * A proxy_trusted entry (operator text) is at most EDGE_PROXY_NET_TEXT_MAX
 * bytes, and the caller bounds the list to EDGE_PROXY_TRUST_MAX.
 */
#include "edge/edge.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lib/mx_err.h"
#include "lib/mx_parse.h"

#define EDGE_PROXY_V2_SIG_LEN 12
#define EDGE_PROXY_V2_LOCAL 0x0   /* command: health check, no address */
#define EDGE_PROXY_V2_PROXY 0x1   /* command: relayed connection */
#define EDGE_PROXY_V2_INET4 0x11  /* AF_INET over STREAM */
#define EDGE_PROXY_V2_INET6 0x21  /* AF_INET6 over STREAM */
#define EDGE_PROXY_V2_IN4_LEN 12  /* 2 x 4-byte address, 2 x port */
#define EDGE_PROXY_V2_IN6_LEN 36  /* 2 x 16-byte address, 2 x port */
#define EDGE_PROXY_V1_ADDR_MAX 45 /* longest IPv6 text form */

static const uint8_t edge_proxy_v2_sig[EDGE_PROXY_V2_SIG_LEN] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* ::ffff:0:0/96, the IPv4-mapped IPv6 addresses */
static const uint8_t edge_proxy_v4mapped[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* edge_proxy_detect - does the buffer start like a PROXY header? */
enum edge_proxy_sig
edge_proxy_detect(const uint8_t *p, size_t len)
{
	size_t n;

	if (len == 0)
		return EDGE_PROXY_SIG_PARTIAL;
	n = len < 6 ? len : 6;
	if (memcmp(p, "PROXY ", n) == 0)
		return len >= 6 ? EDGE_PROXY_SIG_V1 : EDGE_PROXY_SIG_PARTIAL;
	n = len < EDGE_PROXY_V2_SIG_LEN ? len : EDGE_PROXY_V2_SIG_LEN;
	if (memcmp(p, edge_proxy_v2_sig, n) == 0)
		return len >= EDGE_PROXY_V2_SIG_LEN ? EDGE_PROXY_SIG_V2
		                                    : EDGE_PROXY_SIG_PARTIAL;
	return EDGE_PROXY_SIG_NONE;
}

/* edge_proxy_port - strict decimal port: 1-5 digits, no leading zero */
static int
edge_proxy_port(const char *s, size_t len, uint16_t *out)
{
	uint64_t v;
	size_t i;

	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return MX_EPROTO;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return MX_EPROTO;
	if (mx_parse_u64(s, len, 0, 65535, &v) != 0)
		return MX_EPROTO;
	*out = (uint16_t)v;
	return 0;
}

/* edge_proxy_addr - text address of family af (and port) to sockaddr */
static int
edge_proxy_addr(int af, const char *s, size_t len, uint16_t port,
    struct sockaddr_storage *ss)
{
	char tmp[EDGE_PROXY_V1_ADDR_MAX + 1];
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	/* a NUL would end the copy early: "1.2.3.4\0junk" must not pass */
	if (len == 0 || len > EDGE_PROXY_V1_ADDR_MAX ||
	    memchr(s, '\0', len) != NULL)
		return MX_EPROTO;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		if (inet_pton(AF_INET, tmp, &sin->sin_addr) != 1)
			return MX_EPROTO;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		if (inet_pton(AF_INET6, tmp, &sin6->sin6_addr) != 1)
			return MX_EPROTO;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return 0;
}

/*
 * edge_proxy_v1 - "PROXY " proto SP src SP dst SP sport SP dport CRLF,
 * or "PROXY UNKNOWN" [anything] CRLF
 */
static int
edge_proxy_v1(const uint8_t *p, size_t len, struct edge_proxy_hdr *out)
{
	const char *s = (const char *)p, *tok[5], *lf, *cr, *sp;
	size_t lim = len < EDGE_PROXY_V1_MAX ? len : EDGE_PROXY_V1_MAX;
	size_t toklen[5], i, end, n;
	struct edge_proxy_hdr h;
	uint16_t sport, dport;
	int af;

	lf = memchr(s, '\n', lim);
	cr = memchr(s, '\r', lim);
	if (lf == NULL) {
		if (len >= EDGE_PROXY_V1_MAX)
			return MX_EPROTO;
		/* a CR that is not the last byte is not followed by LF */
		if (cr != NULL && (size_t)(cr - s) + 1 < len)
			return MX_EPROTO;
		return MX_ETRUNC;
	}
	end = (size_t)(lf - s);
	if (cr == NULL || (size_t)(cr - s) + 1 != end)
		return MX_EPROTO;
	memset(&h, 0, sizeof(h));
	h.version = 1;
	h.consumed = end + 1;
	/* the line after "PROXY ", without its CRLF */
	s += 6;
	n = end - 1 - 6;
	if (n >= 7 && memcmp(s, "UNKNOWN", 7) == 0 && (n == 7 || s[7] == ' ')) {
		/* the rest of the line is to be ignored (spec 2.1) */
		h.is_local = 1;
		goto done;
	}
	for (i = 0; i < 5; i++) {
		sp = memchr(s, ' ', n);
		tok[i] = s;
		toklen[i] = sp != NULL ? (size_t)(sp - s) : n;
		if (toklen[i] == 0)
			return MX_EPROTO;
		if (i < 4) {
			if (sp == NULL)
				return MX_EPROTO;
			n -= toklen[i] + 1;
			s = sp + 1;
		} else if (sp != NULL) {
			return MX_EPROTO;
		}
	}
	if (toklen[0] == 4 && memcmp(tok[0], "TCP4", 4) == 0)
		af = AF_INET;
	else if (toklen[0] == 4 && memcmp(tok[0], "TCP6", 4) == 0)
		af = AF_INET6;
	else
		return MX_EPROTO;
	if (edge_proxy_port(tok[3], toklen[3], &sport) != 0 ||
	    edge_proxy_port(tok[4], toklen[4], &dport) != 0)
		return MX_EPROTO;
	if (edge_proxy_addr(af, tok[1], toklen[1], sport, &h.src) != 0 ||
	    edge_proxy_addr(af, tok[2], toklen[2], dport, &h.dst) != 0)
		return MX_EPROTO;
done:
	*out = h;
	return 0;
}

/* edge_proxy_be16 - big-endian 16-bit value at p */
static size_t
edge_proxy_be16(const uint8_t *p)
{
	return ((size_t)p[0] << 8) | p[1];
}

/* edge_proxy_tlvs - walk type(1) length(2) value TLVs filling p[0..len) */
static int
edge_proxy_tlvs(const uint8_t *p, size_t len)
{
	size_t off = 0, tl;

	while (off < len) {
		if (len - off < 3)
			return MX_EPROTO;
		tl = edge_proxy_be16(p + off + 1);
		if (tl > len - off - 3)
			return MX_EPROTO;
		off += 3 + tl;
	}
	return 0;
}

/* edge_proxy_v2 - 16-byte fixed part, address block, TLVs */
static int
edge_proxy_v2(const uint8_t *p, size_t len, struct edge_proxy_hdr *out)
{
	struct edge_proxy_hdr h;
	struct sockaddr_in *s4, *d4;
	struct sockaddr_in6 *s6, *d6;
	const uint8_t *a;
	size_t dlen, total, alen;
	uint8_t cmd, fam;

	if (len < EDGE_PROXY_V2_HDR)
		return MX_ETRUNC;
	/* fail on the fixed part before waiting for the declared length */
	if ((p[12] >> 4) != 2)
		return MX_EPROTO;
	cmd = p[12] & 0x0f;
	if (cmd != EDGE_PROXY_V2_LOCAL && cmd != EDGE_PROXY_V2_PROXY)
		return MX_EPROTO;
	fam = p[13];
	dlen = edge_proxy_be16(p + 14);
	if (dlen > EDGE_PROXY_V2_MAX - EDGE_PROXY_V2_HDR)
		return MX_EPROTO;
	if (__builtin_add_overflow(dlen, (size_t)EDGE_PROXY_V2_HDR, &total))
		return MX_EPROTO;
	if (cmd == EDGE_PROXY_V2_PROXY && (fam >> 4) != 0 && (fam >> 4) != 3 &&
	    fam != EDGE_PROXY_V2_INET4 && fam != EDGE_PROXY_V2_INET6)
		return MX_EPROTO;
	if (cmd == EDGE_PROXY_V2_PROXY &&
	    ((fam == EDGE_PROXY_V2_INET4 && dlen < EDGE_PROXY_V2_IN4_LEN) ||
	        (fam == EDGE_PROXY_V2_INET6 && dlen < EDGE_PROXY_V2_IN6_LEN)))
		return MX_EPROTO;
	if (len < total)
		return MX_ETRUNC;
	memset(&h, 0, sizeof(h));
	h.version = 2;
	h.consumed = total;
	a = p + EDGE_PROXY_V2_HDR;
	/* LOCAL ignores the family; AF_UNSPEC and AF_UNIX carry nothing we
	 * can use: take the socket's own addresses */
	if (cmd == EDGE_PROXY_V2_LOCAL || (fam >> 4) == 0 || (fam >> 4) == 3) {
		h.is_local = 1;
		goto done;
	}
	if (fam == EDGE_PROXY_V2_INET4) {
		alen = EDGE_PROXY_V2_IN4_LEN;
		s4 = (struct sockaddr_in *)&h.src;
		d4 = (struct sockaddr_in *)&h.dst;
		s4->sin_family = AF_INET;
		d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&d4->sin_addr, a + 4, 4);
		memcpy(&s4->sin_port, a + 8, 2);
		memcpy(&d4->sin_port, a + 10, 2);
	} else {
		alen = EDGE_PROXY_V2_IN6_LEN;
		s6 = (struct sockaddr_in6 *)&h.src;
		d6 = (struct sockaddr_in6 *)&h.dst;
		s6->sin6_family = AF_INET6;
		d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		memcpy(&d6->sin6_addr, a + 16, 16);
		memcpy(&s6->sin6_port, a + 32, 2);
		memcpy(&d6->sin6_port, a + 34, 2);
	}
	if (edge_proxy_tlvs(a + alen, dlen - alen) != 0)
		return MX_EPROTO;
done:
	*out = h;
	return 0;
}

/* edge_proxy_parse - parse a v1 or v2 header at the start of p */
int
edge_proxy_parse(const uint8_t *p, size_t len, struct edge_proxy_hdr *out)
{
	switch (edge_proxy_detect(p, len)) {
	case EDGE_PROXY_SIG_PARTIAL:
		return MX_ETRUNC;
	case EDGE_PROXY_SIG_V1:
		return edge_proxy_v1(p, len, out);
	case EDGE_PROXY_SIG_V2:
		return edge_proxy_v2(p, len, out);
	case EDGE_PROXY_SIG_NONE:
		break;
	}
	return MX_EPROTO;
}

/* edge_proxy_net_parse - one proxy_trusted entry: ADDR or ADDR/PLEN */
int
edge_proxy_net_parse(const char *p, size_t len, struct edge_proxy_net *out,
    char *err, size_t errlen)
{
	char tmp[EDGE_PROXY_V1_ADDR_MAX + 1];
	struct edge_proxy_net n;
	const char *slash;
	size_t alen, i;
	unsigned max, bit;
	uint64_t v;

	/* a NUL would end the copy early: "10.0.0.1\0junk" must not pass */
	if (len == 0 || len > EDGE_PROXY_NET_TEXT_MAX ||
	    memchr(p, '\0', len) != NULL) {
		snprintf(err, errlen, "'%.*s' is not ADDR or ADDR/PLEN",
		    (int)(len > EDGE_PROXY_NET_TEXT_MAX
		              ? EDGE_PROXY_NET_TEXT_MAX
		              : len),
		    p);
		return MX_EINVAL;
	}
	memset(&n, 0, sizeof(n));
	slash = memchr(p, '/', len);
	alen = slash != NULL ? (size_t)(slash - p) : len;
	if (alen == 0 || alen > EDGE_PROXY_V1_ADDR_MAX)
		goto bad_addr;
	memcpy(tmp, p, alen);
	tmp[alen] = '\0';
	if (inet_pton(AF_INET, tmp, n.addr) == 1) {
		n.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, n.addr) == 1) {
		if (memcmp(n.addr, edge_proxy_v4mapped,
		        sizeof(edge_proxy_v4mapped)) == 0) {
			snprintf(err, errlen,
			    "'%.*s' is an IPv4-mapped address (write it as "
			    "IPv4)",
			    (int)len, p);
			return MX_EINVAL;
		}
		n.family = AF_INET6;
		max = 128;
	} else {
		goto bad_addr;
	}
	n.plen = max;
	if (slash != NULL) {
		const char *d = slash + 1;
		size_t dl = len - alen - 1;

		/* strict decimal: "/08", "/+8" and "/" are typos, not 8 */
		if (dl == 0 || dl > 3 || (dl > 1 && d[0] == '0'))
			goto bad_plen;
		for (i = 0; i < dl; i++)
			if (d[i] < '0' || d[i] > '9')
				goto bad_plen;
		if (mx_parse_u64(d, dl, 0, max, &v) != 0)
			goto bad_plen;
		n.plen = (unsigned)v;
	}
	/* every bit past the prefix must be zero */
	for (bit = n.plen; bit < max; bit++) {
		if (n.addr[bit / 8] & (0x80u >> (bit % 8))) {
			snprintf(err, errlen,
			    "'%.*s' has bits set past /%u (a typo for the "
			    "address alone, or for its network?)",
			    (int)len, p, n.plen);
			return MX_EINVAL;
		}
	}
	*out = n;
	return 0;
bad_addr:
	snprintf(err, errlen, "'%.*s' is not an IPv4 or IPv6 address or CIDR",
	    (int)len, p);
	return MX_EINVAL;
bad_plen:
	snprintf(err, errlen, "'%.*s': the prefix length is not a number 0..%u",
	    (int)len, p, max);
	return MX_EINVAL;
}

/* edge_proxy_net_has - do the first plen bits of a equal those of net? */
static int
edge_proxy_net_has(const uint8_t *net, unsigned plen, const uint8_t *a)
{
	unsigned full = plen / 8, rest = plen % 8;
	uint8_t mask;

	if (memcmp(net, a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xffu << (8 - rest));
	return (net[full] & mask) == (a[full] & mask);
}

/* edge_proxy_trusted - is sa inside one of the trusted nets? */
int
edge_proxy_trusted(
    const struct edge_proxy_net *nets, size_t n, const struct sockaddr *sa)
{
	const uint8_t *a;
	int family;
	size_t i;

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		family = AF_INET;
		a = (const uint8_t *)&in->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		family = AF_INET6;
		a = (const uint8_t *)&in6->sin6_addr;
		/* an IPv4 client on a dual-stack socket is an IPv4 client */
		if (memcmp(a, edge_proxy_v4mapped,
		        sizeof(edge_proxy_v4mapped)) == 0) {
			family = AF_INET;
			a += sizeof(edge_proxy_v4mapped);
		}
	} else {
		return 0;
	}
	for (i = 0; i < n; i++)
		if (nets[i].family == family &&
		    edge_proxy_net_has(nets[i].addr, nets[i].plen, a))
			return 1;
	return 0;
}
