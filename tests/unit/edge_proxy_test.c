/*
 * edge_proxy_test.c - unit tests of edge_proxy.c, the PROXY header parser
 *
 * v1 and v2 headers for IPv4 and IPv6, LOCAL and UNKNOWN, every prefix of
 * a valid header (MX_ETRUNC), garbage and malformed fields (MX_EPROTO),
 * the v1 line limit and the v2 length cap at and over the limit, TLVs;
 * the proxy_trusted entries (edge_proxy_net_parse: every form, prefix
 * lengths at and past their maximum, the entry length limit) and the
 * matcher (edge_proxy_trusted: IPv4, IPv6, IPv4-mapped clients, prefix
 * edges, empty list).
 * Trust: test data only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "lib/mx_err.h"

#include "edge/edge.h"

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static const uint8_t pt_sig[12] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

/* pt_v2 - build a v2 header: fixed part, body; returns its length */
static size_t
pt_v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const uint8_t *body,
    size_t blen)
{
	memcpy(out, pt_sig, 12);
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen > 0)
		memcpy(out + 16, body, blen);
	return 16 + blen;
}

/* pt_check_v4 - sockaddr holds addr:port */
static void
pt_check_v4(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	char buf[INET_ADDRSTRLEN];

	assert_int_equal(ss->ss_family, AF_INET);
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
	assert_int_equal(ntohs(sin->sin_port), port);
}

/* pt_check_v6 - sockaddr holds [addr]:port */
static void
pt_check_v6(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char buf[INET6_ADDRSTRLEN];

	assert_int_equal(ss->ss_family, AF_INET6);
	assert_non_null(
	    inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
	assert_int_equal(ntohs(sin6->sin6_port), port);
}

/* pt_every_prefix_truncated - each proper prefix of p gives MX_ETRUNC */
static void
pt_every_prefix_truncated(const uint8_t *p, size_t len)
{
	struct edge_proxy_hdr h;
	size_t i;

	for (i = 0; i < len; i++) {
		memset(&h, 0x5a, sizeof(h));
		if (edge_proxy_parse(p, i, &h) != MX_ETRUNC)
			fail_msg("prefix %zu of %zu not ETRUNC", i, len);
		assert_int_equal(((uint8_t *)&h)[0], 0x5a);
	}
}

/* pt_proto - must be MX_EPROTO */
static void
pt_proto(const uint8_t *p, size_t len)
{
	struct edge_proxy_hdr h;
	int rc = edge_proxy_parse(p, len, &h);

	if (rc != MX_EPROTO)
		fail_msg("'%.*s': rc %d, want EPROTO", (int)len,
		    (const char *)p, rc);
}

/* test_v1_tcp4_parsed_and_smtp_bytes_left - v1 TCP4; bytes after the header not
 * consumed */
static void
test_v1_tcp4_parsed_and_smtp_bytes_left(void **state)
{
	static const char in[] =
	    "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\nEHLO x\r\n";
	struct edge_proxy_hdr h;

	(void)state;
	assert_int_equal(edge_proxy_parse(S(in), &h), 0);
	assert_int_equal(h.version, 1);
	assert_false(h.is_local);
	assert_int_equal(h.consumed, sizeof(in) - 1 - 8);
	pt_check_v4(&h.src, "192.0.2.1", 56324);
	pt_check_v4(&h.dst, "198.51.100.2", 25);
}

/* test_v1_tcp6_parsed - v1 TCP6, including a v4-mapped address */
static void
test_v1_tcp6_parsed(void **state)
{
	static const char in[] =
	    "PROXY TCP6 2001:db8::1 2001:db8::2:25 0 65535\r\n";
	struct edge_proxy_hdr h;

	(void)state;
	assert_int_equal(edge_proxy_parse(S(in), &h), 0);
	assert_int_equal(h.consumed, sizeof(in) - 1);
	pt_check_v6(&h.src, "2001:db8::1", 0);
	pt_check_v6(&h.dst, "2001:db8::2:25", 65535);
	assert_int_equal(
	    edge_proxy_parse(S("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n"), &h),
	    0);
}

/* test_v1_unknown_is_local - v1 UNKNOWN, with and without the rest of the line
 */
static void
test_v1_unknown_is_local(void **state)
{
	struct edge_proxy_hdr h;

	(void)state;
	assert_int_equal(edge_proxy_parse(S("PROXY UNKNOWN\r\n"), &h), 0);
	assert_true(h.is_local);
	assert_int_equal(h.consumed, 15);
	assert_int_equal(h.src.ss_family, AF_UNSPEC);
	/* the rest of an UNKNOWN line is ignored */
	assert_int_equal(
	    edge_proxy_parse(S("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nX"), &h),
	    0);
	assert_true(h.is_local);
	assert_int_equal(h.consumed, 35);
	pt_proto(S("PROXY UNKNOWNX\r\n"));
}

/* test_v1_longest_real_header_accepted - the longest header a real TCP6 peer
 * sends */
static void
test_v1_longest_real_header_accepted(void **state)
{
	static const char in[] = "PROXY TCP6 "
	                         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	                         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	                         "65535 65535\r\n";
	struct edge_proxy_hdr h;

	(void)state;
	assert_int_equal(edge_proxy_parse(S(in), &h), 0);
	assert_int_equal(h.consumed, 104);
}

/* pt_unknown_line - "PROXY UNKNOWN" padded with 'x' to n bytes + CRLF */
static size_t
pt_unknown_line(uint8_t *p, size_t n)
{
	memcpy(p, "PROXY UNKNOWN ", 14);
	memset(p + 14, 'x', n - 2 - 14);
	memcpy(p + n - 2, "\r\n", 2);
	return n;
}

/* test_v1_line_at_107_accepted - v1 line of exactly EDGE_PROXY_V1_MAX */
static void
test_v1_line_at_107_accepted(void **state)
{
	uint8_t p[200];
	struct edge_proxy_hdr h;
	size_t n = pt_unknown_line(p, EDGE_PROXY_V1_MAX);

	(void)state;
	assert_int_equal(edge_proxy_parse(p, n, &h), 0);
	assert_int_equal(h.consumed, 107);
	pt_every_prefix_truncated(p, n);
}

/* test_v1_line_over_107_refused - v1 line one past EDGE_PROXY_V1_MAX, with or
 * without CRLF */
static void
test_v1_line_over_107_refused(void **state)
{
	uint8_t p[300];
	size_t n = pt_unknown_line(p, EDGE_PROXY_V1_MAX + 1);

	(void)state;
	pt_proto(p, n);
	/* and without waiting for the CRLF once 107 bytes are in */
	memset(p, 'x', sizeof(p));
	memcpy(p, "PROXY TCP4 ", 11);
	pt_proto(p, EDGE_PROXY_V1_MAX);
	pt_proto(p, sizeof(p));
	assert_int_equal(edge_proxy_parse(p, EDGE_PROXY_V1_MAX - 1,
	                     &(struct edge_proxy_hdr){0}),
	    MX_ETRUNC);
}

/* test_v1_truncated_at_every_byte_etrunc - every prefix of a v1 header needs
 * more bytes */
static void
test_v1_truncated_at_every_byte_etrunc(void **state)
{
	(void)state;
	pt_every_prefix_truncated(
	    S("PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n"));
	pt_every_prefix_truncated(
	    S("PROXY TCP6 2001:db8::1 2001:db8::2 56324 25\r\n"));
	pt_every_prefix_truncated(S("PROXY UNKNOWN\r\n"));
}

/* test_v1_malformed_refused - ports, spacing, line ends, addresses, protocols
 */
static void
test_v1_malformed_refused(void **state)
{
	(void)state;
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 01 25\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 1 025\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 65536 25\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 123456 25\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 -1 25\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 +1 25\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8  25\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"));
	pt_proto(S("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"));
	pt_proto(S("PROXY TCP4 1.2.3.4\r 5.6.7.8 1 2\r\n"));
	pt_proto(S("PROXY TCP4 ::1 ::2 1 2\r\n"));
	pt_proto(S("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"));
	pt_proto(S("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"));
	pt_proto(S("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"));
	pt_proto(S("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"));
	pt_proto(S("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"));
	pt_proto(S("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"));
	pt_proto(S("PROXY \r\n"));
	pt_proto(S("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"));
	pt_proto(S("PROXY TCP4 "
	           "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22."
	           "23 5.6.7.8 1 2\r\n"));
}

/* test_garbage_refused - SMTP, HTTP, TLS and near-signatures are not headers */
static void
test_garbage_refused(void **state)
{
	(void)state;
	pt_proto(S("EHLO mx.example\r\n"));
	pt_proto(S("GET / HTTP/1.1\r\n"));
	pt_proto(S("PROXX"));
	pt_proto(S("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"));
	pt_proto(S("\r\n\r\n\0\r\nQUIX"));
	pt_proto(S("\x16\x03\x01\x02\x00"));
}

/* test_detect - detect on empty, partial, v1, v2 and other bytes */
static void
test_detect(void **state)
{
	(void)state;
	assert_int_equal(edge_proxy_detect(S("")), EDGE_PROXY_SIG_PARTIAL);
	assert_int_equal(edge_proxy_detect(S("P")), EDGE_PROXY_SIG_PARTIAL);
	assert_int_equal(edge_proxy_detect(S("PROXY")), EDGE_PROXY_SIG_PARTIAL);
	assert_int_equal(edge_proxy_detect(S("PROXY ")), EDGE_PROXY_SIG_V1);
	assert_int_equal(edge_proxy_detect(S("PROXY TCP4")), EDGE_PROXY_SIG_V1);
	assert_int_equal(edge_proxy_detect(S("PROXYX")), EDGE_PROXY_SIG_NONE);
	assert_int_equal(
	    edge_proxy_detect(S("EHLO x\r\n")), EDGE_PROXY_SIG_NONE);
	assert_int_equal(edge_proxy_detect(S("\r\n")), EDGE_PROXY_SIG_PARTIAL);
	assert_int_equal(edge_proxy_detect(pt_sig, 11), EDGE_PROXY_SIG_PARTIAL);
	assert_int_equal(edge_proxy_detect(pt_sig, 12), EDGE_PROXY_SIG_V2);
	assert_int_equal(
	    edge_proxy_detect(S("\r\n\r\nX")), EDGE_PROXY_SIG_NONE);
}

/* test_v2_inet4_parsed - v2 PROXY over TCP/IPv4, and each of its prefixes */
static void
test_v2_inet4_parsed(void **state)
{
	static const uint8_t body[12] = {
	    192, 0, 2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x00, 0x19};
	uint8_t p[64];
	struct edge_proxy_hdr h;
	size_t n = pt_v2(p, 0x21, 0x11, body, sizeof(body));

	(void)state;
	memcpy(p + n, "EHLO", 4);
	assert_int_equal(edge_proxy_parse(p, n + 4, &h), 0);
	assert_int_equal(h.version, 2);
	assert_false(h.is_local);
	assert_int_equal(h.consumed, 28);
	pt_check_v4(&h.src, "192.0.2.1", 56324);
	pt_check_v4(&h.dst, "198.51.100.2", 25);
	pt_every_prefix_truncated(p, n);
}

/* test_v2_inet6_parsed - v2 PROXY over TCP/IPv6, and each of its prefixes */
static void
test_v2_inet6_parsed(void **state)
{
	uint8_t body[36] = {0}, p[64];
	struct edge_proxy_hdr h;
	size_t n;

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", body), 1);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::2", body + 16), 1);
	body[32] = 0x30;
	body[33] = 0x39;
	body[34] = 0x00;
	body[35] = 0x19;
	n = pt_v2(p, 0x21, 0x21, body, sizeof(body));
	assert_int_equal(edge_proxy_parse(p, n, &h), 0);
	assert_int_equal(h.consumed, 52);
	pt_check_v6(&h.src, "2001:db8::1", 12345);
	pt_check_v6(&h.dst, "2001:db8::2", 25);
	pt_every_prefix_truncated(p, n);
}

/* test_v2_local_is_local - v2 LOCAL, with and without an address block */
static void
test_v2_local_is_local(void **state)
{
	static const uint8_t junk[5] = {1, 2, 3, 4, 5};
	uint8_t p[64];
	struct edge_proxy_hdr h;
	size_t n;

	(void)state;
	n = pt_v2(p, 0x20, 0x00, NULL, 0);
	assert_int_equal(edge_proxy_parse(p, n, &h), 0);
	assert_true(h.is_local);
	assert_int_equal(h.consumed, 16);
	assert_int_equal(h.src.ss_family, AF_UNSPEC);
	/* LOCAL ignores the family and skips the block */
	n = pt_v2(p, 0x20, 0x11, junk, sizeof(junk));
	assert_int_equal(edge_proxy_parse(p, n, &h), 0);
	assert_true(h.is_local);
	assert_int_equal(h.consumed, 21);
	pt_every_prefix_truncated(p, n);
}

/* test_v2_unspec_and_unix_are_local - v2 AF_UNSPEC and AF_UNIX use the socket
 * addresses */
static void
test_v2_unspec_and_unix_are_local(void **state)
{
	uint8_t body[216] = {0}, p[300];
	struct edge_proxy_hdr h;
	size_t n;

	(void)state;
	n = pt_v2(p, 0x21, 0x00, NULL, 0);
	assert_int_equal(edge_proxy_parse(p, n, &h), 0);
	assert_true(h.is_local);
	n = pt_v2(p, 0x21, 0x31, body, sizeof(body));
	assert_int_equal(edge_proxy_parse(p, n, &h), 0);
	assert_true(h.is_local);
	assert_int_equal(h.consumed, 232);
}

/* test_v2_tlvs_skipped - TLVs walked and skipped; overlong or partial TLV
 * refused */
static void
test_v2_tlvs_skipped(void **state)
{
	uint8_t body[64] = {192, 0, 2, 1, 198, 51, 100, 2, 0, 1, 0, 2};
	uint8_t p[128];
	struct edge_proxy_hdr h;
	size_t n, b = 12;

	(void)state;
	/* PP2_TYPE_AUTHORITY "mx", then a NOOP of length 0 */
	body[b++] = 0x02;
	body[b++] = 0;
	body[b++] = 2;
	body[b++] = 'm';
	body[b++] = 'x';
	body[b++] = 0x04;
	body[b++] = 0;
	body[b++] = 0;
	n = pt_v2(p, 0x21, 0x11, body, b);
	assert_int_equal(edge_proxy_parse(p, n, &h), 0);
	assert_int_equal(h.consumed, 16 + b);
	pt_check_v4(&h.src, "192.0.2.1", 1);
	/* a TLV longer than what is left, or a partial TLV header */
	body[13] = 0;
	body[14] = 3;
	n = pt_v2(p, 0x21, 0x11, body, 12 + 5);
	pt_proto(p, n);
	n = pt_v2(p, 0x21, 0x11, body, 12 + 2);
	pt_proto(p, n);
}

/* test_v2_length_at_cap_accepted - v2 header of exactly EDGE_PROXY_V2_MAX */
static void
test_v2_length_at_cap_accepted(void **state)
{
	uint8_t body[EDGE_PROXY_V2_MAX] = {0}, p[EDGE_PROXY_V2_MAX + 16];
	size_t blen = EDGE_PROXY_V2_MAX - 16, n;
	struct edge_proxy_hdr h;

	(void)state;
	/* address block, then one NOOP TLV filling the rest */
	body[0] = 10;
	body[12] = 0x04;
	body[13] = (uint8_t)((blen - 15) >> 8);
	body[14] = (uint8_t)(blen - 15);
	n = pt_v2(p, 0x21, 0x11, body, blen);
	assert_int_equal(n, EDGE_PROXY_V2_MAX);
	assert_int_equal(edge_proxy_parse(p, n, &h), 0);
	assert_int_equal(h.consumed, EDGE_PROXY_V2_MAX);
	assert_int_equal(edge_proxy_parse(p, n - 1, &h), MX_ETRUNC);
}

/* test_v2_length_over_cap_refused_without_waiting - declared length past the
 * cap fails at once */
static void
test_v2_length_over_cap_refused_without_waiting(void **state)
{
	uint8_t p[16];

	(void)state;
	pt_v2(p, 0x21, 0x11, NULL, 0);
	p[14] = (uint8_t)((EDGE_PROXY_V2_MAX - 15) >> 8);
	p[15] = (uint8_t)(EDGE_PROXY_V2_MAX - 15);
	/* only the fixed part is here: refused now, not "need more" */
	pt_proto(p, 16);
	p[14] = 0xff;
	p[15] = 0xff;
	pt_proto(p, 16);
}

/* test_v2_bad_fixed_part_refused - version, command, family, short address
 * blocks */
static void
test_v2_bad_fixed_part_refused(void **state)
{
	static const uint8_t body[36] = {0};
	uint8_t p[64];
	size_t n;

	(void)state;
	n = pt_v2(p, 0x11, 0x11, body, 12); /* version 1 */
	pt_proto(p, n);
	n = pt_v2(p, 0x31, 0x11, body, 12); /* version 3 */
	pt_proto(p, n);
	n = pt_v2(p, 0x22, 0x11, body, 12); /* command 2 */
	pt_proto(p, n);
	n = pt_v2(p, 0x21, 0x12, body, 12); /* INET over DGRAM */
	pt_proto(p, n);
	n = pt_v2(p, 0x21, 0x10, body, 12); /* INET, UNSPEC transport */
	pt_proto(p, n);
	n = pt_v2(p, 0x21, 0x41, body, 12); /* family 4 */
	pt_proto(p, n);
	n = pt_v2(p, 0x21, 0x11, body, 11); /* short IPv4 block */
	pt_proto(p, n);
	n = pt_v2(p, 0x21, 0x21, body, 35); /* short IPv6 block */
	pt_proto(p, n);
	n = pt_v2(p, 0x21, 0x21, body, 12); /* IPv4-sized, says IPv6 */
	pt_proto(p, n);
	/* bad fixed parts fail before the body arrives */
	pt_proto(p, 16);
}

/* pt_net - parse a proxy_trusted entry that must be valid */
static struct edge_proxy_net
pt_net(const char *text)
{
	struct edge_proxy_net n;
	char err[160] = "";

	if (edge_proxy_net_parse(text, strlen(text), &n, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", text, err);
	return n;
}

/* pt_net_bad - an entry that must be refused, with a reason */
static void
pt_net_bad(const char *text, size_t len, const char *why)
{
	struct edge_proxy_net n;
	char err[160] = "";

	memset(&n, 0x5a, sizeof(n));
	assert_int_equal(
	    edge_proxy_net_parse(text, len, &n, err, sizeof(err)), MX_EINVAL);
	if (strstr(err, why) == NULL)
		fail_msg(
		    "'%.*s': error '%s' lacks '%s'", (int)len, text, err, why);
	/* out untouched on failure */
	assert_int_equal(n.plen, 0x5a5a5a5a);
}

/* pt_sa - a sockaddr of an address text (v4 or v6), port 1234 */
static struct sockaddr_storage
pt_sa(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(1234);
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(1234);
	}
	return ss;
}

/* pt_in - is address text inside the list? */
static int
pt_in(const struct edge_proxy_net *nets, size_t n, const char *text)
{
	struct sockaddr_storage ss = pt_sa(text);

	return edge_proxy_trusted(nets, n, (struct sockaddr *)&ss);
}

/* test_trusted_entries_parsed - every form, prefix lengths 0 and max */
static void
test_trusted_entries_parsed(void **state)
{
	struct edge_proxy_net n;

	(void)state;
	n = pt_net("127.0.0.1");
	assert_int_equal(n.family, AF_INET);
	assert_int_equal(n.plen, 32);
	assert_memory_equal(n.addr, "\x7f\x00\x00\x01", 4);
	n = pt_net("10.0.0.0/8");
	assert_int_equal(n.plen, 8);
	n = pt_net("0.0.0.0/0");
	assert_int_equal(n.plen, 0);
	n = pt_net("192.0.2.7/32");
	assert_int_equal(n.plen, 32);
	n = pt_net("::1");
	assert_int_equal(n.family, AF_INET6);
	assert_int_equal(n.plen, 128);
	n = pt_net("2001:db8::/32");
	assert_int_equal(n.plen, 32);
	n = pt_net("::/0");
	assert_int_equal(n.plen, 0);
	n = pt_net("2001:db8::1/128");
	assert_int_equal(n.plen, 128);
	/* the longest entry: a full IPv6 text form with /128 */
	n = pt_net("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128");
	assert_int_equal(n.plen, 128);
}

/* test_trusted_entries_refused - bad addresses, lengths, host bits */
static void
test_trusted_entries_refused(void **state)
{
	char longer[64];

	(void)state;
	pt_net_bad("", 0, "not ADDR");
	pt_net_bad("localhost", 9, "not an IPv4 or IPv6");
	pt_net_bad("10.0.0.0/", 9, "prefix length");
	pt_net_bad("/8", 2, "not an IPv4 or IPv6");
	pt_net_bad("10.0.0.0/33", 11, "0..32");
	pt_net_bad("::/129", 6, "0..128");
	pt_net_bad("10.0.0.0/08", 11, "prefix length");
	pt_net_bad("10.0.0.0/+8", 11, "prefix length");
	pt_net_bad("10.0.0.0/8/8", 12, "prefix length");
	pt_net_bad("10.0.0.0/1000", 13, "prefix length");
	pt_net_bad("10.0.0.1/8", 10, "bits set past /8");
	pt_net_bad("2001:db8::1/64", 14, "bits set past /64");
	pt_net_bad("127.0.0.0/7", 11, "bits set past /7");
	pt_net_bad("::ffff:127.0.0.1", 16, "IPv4-mapped");
	pt_net_bad("fe80::1%eth0", 12, "not an IPv4 or IPv6");
	pt_net_bad(" 10.0.0.1", 9, "not an IPv4 or IPv6");
	pt_net_bad("10.0.0.1\0/8", 11, "not ADDR");
	/* one past the entry length limit */
	memset(longer, '1', sizeof(longer));
	pt_net_bad(longer, EDGE_PROXY_NET_TEXT_MAX + 1, "not ADDR");
	snprintf(longer, sizeof(longer), "%s",
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/0128");
	pt_net_bad(longer, strlen(longer), "not ADDR");
}

/* test_trusted_matcher - membership at the edges of each net */
static void
test_trusted_matcher(void **state)
{
	struct edge_proxy_net nets[4];

	(void)state;
	nets[0] = pt_net("127.0.0.1/32");
	nets[1] = pt_net("10.1.0.0/17");
	nets[2] = pt_net("2001:db8:0:8000::/49");
	nets[3] = pt_net("::1");
	assert_true(pt_in(nets, 4, "127.0.0.1"));
	assert_false(pt_in(nets, 4, "127.0.0.77"));
	assert_false(pt_in(nets, 4, "127.0.0.0"));
	assert_true(pt_in(nets, 4, "10.1.0.0"));
	assert_true(pt_in(nets, 4, "10.1.127.255"));
	assert_false(pt_in(nets, 4, "10.1.128.0"));
	assert_false(pt_in(nets, 4, "10.0.255.255"));
	assert_true(pt_in(nets, 4, "2001:db8:0:8000::1"));
	assert_true(pt_in(nets, 4, "2001:db8:0:ffff:ffff::"));
	assert_false(pt_in(nets, 4, "2001:db8:0:7fff::1"));
	assert_true(pt_in(nets, 4, "::1"));
	assert_false(pt_in(nets, 4, "::2"));
	/* an IPv4 client on a dual-stack socket matches the IPv4 entries */
	assert_true(pt_in(nets, 4, "::ffff:127.0.0.1"));
	assert_true(pt_in(nets, 4, "::ffff:10.1.5.5"));
	assert_false(pt_in(nets, 4, "::ffff:127.0.0.2"));
	/* families never cross: ::/0 is not every IPv4 address */
	nets[0] = pt_net("::/0");
	assert_true(pt_in(nets, 1, "2001:db8::99"));
	assert_false(pt_in(nets, 1, "192.0.2.1"));
	assert_false(pt_in(nets, 1, "::ffff:192.0.2.1"));
	nets[0] = pt_net("0.0.0.0/0");
	assert_true(pt_in(nets, 1, "192.0.2.1"));
	assert_false(pt_in(nets, 1, "::1"));
	/* an empty list trusts nobody; neither does an unknown family */
	assert_false(pt_in(nets, 0, "127.0.0.1"));
	{
		struct sockaddr_storage ss;

		memset(&ss, 0, sizeof(ss));
		ss.ss_family = AF_UNIX;
		assert_false(
		    edge_proxy_trusted(nets, 1, (struct sockaddr *)&ss));
		assert_false(edge_proxy_trusted(nets, 1, NULL));
	}
}

/* main - run the group */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1_tcp4_parsed_and_smtp_bytes_left),
	    cmocka_unit_test(test_v1_tcp6_parsed),
	    cmocka_unit_test(test_v1_unknown_is_local),
	    cmocka_unit_test(test_v1_longest_real_header_accepted),
	    cmocka_unit_test(test_v1_line_at_107_accepted),
	    cmocka_unit_test(test_v1_line_over_107_refused),
	    cmocka_unit_test(test_v1_truncated_at_every_byte_etrunc),
	    cmocka_unit_test(test_v1_malformed_refused),
	    cmocka_unit_test(test_garbage_refused),
	    cmocka_unit_test(test_detect),
	    cmocka_unit_test(test_v2_inet4_parsed),
	    cmocka_unit_test(test_v2_inet6_parsed),
	    cmocka_unit_test(test_v2_local_is_local),
	    cmocka_unit_test(test_v2_unspec_and_unix_are_local),
	    cmocka_unit_test(test_v2_tlvs_skipped),
	    cmocka_unit_test(test_v2_length_at_cap_accepted),
	    cmocka_unit_test(test_v2_length_over_cap_refused_without_waiting),
	    cmocka_unit_test(test_v2_bad_fixed_part_refused),
	    cmocka_unit_test(test_trusted_entries_parsed),
	    cmocka_unit_test(test_trusted_entries_refused),
	    cmocka_unit_test(test_trusted_matcher),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
