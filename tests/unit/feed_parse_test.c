/*
 * feed_parse_test.c - mxfeed's line parsers, format detection and the
 * file reader with its refuse-whole-file rule
 *
 * Every format is fed good lines (with comments, blank lines, CRLF,
 * trailing blanks, v6, IDN and upper-case names) and malformed ones
 * (host bits set, over-wide, private and reserved, DNSBL sentinels,
 * control bytes, too-long lines); each refused line must say why. The
 * reader is run over in-memory files: line numbers in reports, the
 * max_bad_share bound exactly at and one line past it (the whole file is
 * dropped from the list), empty files, max_entries and a line far over
 * FEED_LINE_MAX in the middle of a file.
 * Trust: test inputs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_err.h"
#include "proto/proto_record.h"
#include "feeds/feed.h"

static const struct feed_rules t_rules = {8, 32, 0, 0};    /* defaults */
static const struct feed_rules t_private = {8, 32, 1, 0};  /* private ok */
static const struct feed_rules t_wide = {8, 32, 0, 1};     /* wide ok */
static const struct feed_rules t_anything = {8, 32, 1, 1}; /* both */

/* parse - one NUL-ended line */
static int
parse(int fmt, const struct feed_rules *r, const char *s, struct feed_line *ln)
{
	return feed_parse_line(fmt, r, s, strlen(s), ln);
}

/* key_text - the text form of entry i of a line */
static const char *
key_text(const struct feed_line *ln, size_t i)
{
	static char buf[FEED_TEXT_MAX];

	feed_entry_text(&ln->e[i], buf, sizeof(buf));
	return buf;
}

/* assert_one - the line is one entry with this text (and tag) */
static void
assert_one(int fmt, const struct feed_rules *r, const char *line,
    const char *text, const char *tag)
{
	struct feed_line ln;
	int rc = parse(fmt, r, line, &ln);

	if (rc != FEED_LINE_OK)
		fail_msg("'%s': %d (%s)", line, rc, ln.why);
	assert_int_equal(ln.n, 1);
	assert_string_equal(key_text(&ln, 0), text);
	assert_int_equal(ln.e[0].tag_len, strlen(tag));
	assert_memory_equal(ln.e[0].tag, tag, strlen(tag));
}

/* assert_bad - the line is refused and why contains part */
static void
assert_bad(
    int fmt, const struct feed_rules *r, const char *line, const char *part)
{
	struct feed_line ln;
	int rc = parse(fmt, r, line, &ln);

	if (rc != FEED_LINE_BAD)
		fail_msg("'%s' not refused: %d", line, rc);
	assert_int_equal(ln.n, 0);
	if (strstr(ln.why, part) == NULL)
		fail_msg("'%s': why '%s' lacks '%s'", line, ln.why, part);
}

/* assert_skip - blank, comment or boilerplate */
static void
assert_skip(int fmt, const char *line)
{
	struct feed_line ln;

	assert_int_equal(parse(fmt, &t_rules, line, &ln), FEED_LINE_SKIP);
	assert_int_equal(ln.n, 0);
}

static void
test_drop_good_lines(void **state)
{
	(void)state;
	assert_one(FEED_FMT_DROP, &t_rules, "1.10.16.0/20 ; SBL256894",
	    "net 1.10.16.0/20", "SBL256894");
	/* CRLF, trailing and leading blanks, no blanks around ';' */
	assert_one(FEED_FMT_DROP, &t_rules, "1.19.0.0/16 ; SBL434604\r",
	    "net 1.19.0.0/16", "SBL434604");
	assert_one(FEED_FMT_DROP, &t_rules, "  2.56.192.0/22 ; SBL1 \t \r",
	    "net 2.56.192.0/22", "SBL1");
	assert_one(FEED_FMT_DROP, &t_rules, "2.56.192.0/22;SBL2",
	    "net 2.56.192.0/22", "SBL2");
	/* DROPv6, and a /32 (or /128) is an address */
	assert_one(FEED_FMT_DROP, &t_rules, "2a06:e480::/32 ; SBL301771",
	    "net 2a06:e480::/32", "SBL301771");
	assert_one(FEED_FMT_DROP, &t_rules, "45.9.148.7/32 ; SBL9",
	    "ip 45.9.148.7", "SBL9");
	assert_one(FEED_FMT_DROP, &t_rules, "45.9.148.7 ; SBL9",
	    "ip 45.9.148.7", "SBL9");
	assert_skip(FEED_FMT_DROP, "; Spamhaus DROP List 2024/01/01");
	assert_skip(FEED_FMT_DROP, "; Last-Modified: Mon, 01 Jan 2024");
	assert_skip(FEED_FMT_DROP, "");
	assert_skip(FEED_FMT_DROP, "   \t ");
	assert_skip(FEED_FMT_DROP, "\r");
	assert_skip(FEED_FMT_DROP, "# a comment too");
}

static void
test_drop_bad_lines(void **state)
{
	(void)state;
	assert_bad(FEED_FMT_DROP, &t_rules, "1.10.16.0/20", "no '; SBLnnn'");
	assert_bad(FEED_FMT_DROP, &t_rules, "1.10.16.0/20 ;", "list id");
	assert_bad(
	    FEED_FMT_DROP, &t_rules, "1.10.16.0/20 ; SBL1 x", "text after");
	assert_bad(FEED_FMT_DROP, &t_rules, "1.10.16.0/20 ; SBL/1", "list id");
	assert_bad(
	    FEED_FMT_DROP, &t_rules, "1.10.16.0 /20 ; SBL1", "not 'network");
	assert_bad(FEED_FMT_DROP, &t_rules, "1.10.16.1/20 ; SBL1",
	    "host bits set (the network is 1.10.16.0/20)");
	assert_bad(
	    FEED_FMT_DROP, &t_rules, "1.10.16.0/33 ; SBL1", "prefix length");
	assert_bad(
	    FEED_FMT_DROP, &t_rules, "1.10.16.0/020 ; SBL1", "prefix length");
	assert_bad(
	    FEED_FMT_DROP, &t_rules, "1.10.16.0/ ; SBL1", "prefix length");
	assert_bad(FEED_FMT_DROP, &t_rules, "1.10.16 ; SBL1", "IPv4");
	assert_bad(FEED_FMT_DROP, &t_rules, "<html> ; SBL1", "IPv4");
	/* a list id of FEED_TAG_MAX (32) bytes is fine, 33 is not */
	assert_one(FEED_FMT_DROP, &t_rules,
	    "1.2.4.0/24 ; SBL12345678901234567890123456789", "net 1.2.4.0/24",
	    "SBL12345678901234567890123456789");
	assert_bad(FEED_FMT_DROP, &t_rules,
	    "1.2.4.0/24 ; SBL123456789012345678901234567890", "list id");
}

static void
test_ip_lines(void **state)
{
	struct feed_line ln;

	(void)state;
	assert_one(FEED_FMT_IP, &t_rules, "45.9.148.7", "ip 45.9.148.7", "");
	assert_one(FEED_FMT_IP, &t_rules, "45.9.148.0/24 # a comment",
	    "net 45.9.148.0/24", "");
	assert_one(FEED_FMT_IP, &t_rules, "45.9.148.0/24 ; SBL1 as comment",
	    "net 45.9.148.0/24", "");
	assert_one(
	    FEED_FMT_IP, &t_rules, "2a0b:4140:1::1", "ip 2a0b:4140:1::1", "");
	assert_one(FEED_FMT_IP, &t_rules, "2A0B:4140:0001::/48\r",
	    "net 2a0b:4140:1::/48", "");
	/* v4-mapped v6 is IPv4 */
	assert_one(
	    FEED_FMT_IP, &t_rules, "::ffff:45.9.148.7", "ip 45.9.148.7", "");
	assert_one(FEED_FMT_IP, &t_rules, "::ffff:45.9.148.0/120",
	    "net 45.9.148.0/24", "");
	assert_bad(
	    FEED_FMT_IP, &t_rules, "45.9.148.7 45.9.148.8", "more than one");
	assert_bad(FEED_FMT_IP, &t_rules, "45.9.148.07", "IPv4");
	assert_bad(FEED_FMT_IP, &t_rules, "45.9.148.7/24", "host bits");
	assert_bad(FEED_FMT_IP, &t_rules, "2a0b:4140::1/32", "host bits");
	assert_bad(FEED_FMT_IP, &t_rules, "2a0b:4140::/129", "prefix length");
	assert_bad(FEED_FMT_IP, &t_rules, "fe80::1%eth0", "IPv6");
	assert_bad(FEED_FMT_IP, &t_rules, "example.com", "IPv4");
	assert_bad(FEED_FMT_IP, &t_rules, "45.9.148.7\x01", "control byte");
	assert_int_equal(
	    feed_parse_line(FEED_FMT_IP, &t_rules, "45.9.148.7\0x", 12, &ln),
	    FEED_LINE_BAD);
	assert_non_null(strstr(ln.why, "control byte 0x00"));
}

static void
test_wide_networks(void **state)
{
	(void)state;
	/* /8 is the bound for v4, /32 for v6 */
	assert_one(FEED_FMT_IP, &t_rules, "2.0.0.0/8", "net 2.0.0.0/8", "");
	assert_bad(FEED_FMT_IP, &t_rules, "2.0.0.0/7",
	    "network /7 wider than /8 (min_prefix_v4; allow_wide)");
	assert_one(FEED_FMT_IP, &t_wide, "2.0.0.0/7", "net 2.0.0.0/7", "");
	assert_one(FEED_FMT_IP, &t_rules, "2a00::/32", "net 2a00::/32", "");
	assert_bad(FEED_FMT_IP, &t_rules, "2a00::/31", "min_prefix_v6");
	assert_one(FEED_FMT_IP, &t_wide, "2a00::/12", "net 2a00::/12", "");
	/* the rules' own bounds count, not the defaults */
	{
		struct feed_rules r = {16, 48, 0, 0};

		assert_bad(FEED_FMT_IP, &r, "2.0.0.0/15", "wider than /16");
		assert_one(FEED_FMT_IP, &r, "2.0.0.0/16", "net 2.0.0.0/16", "");
		assert_bad(FEED_FMT_IP, &r, "2a00::/47", "wider than /48");
	}
	assert_bad(FEED_FMT_IP, &t_rules, "0.0.0.0/0", "wider");
	assert_bad(FEED_FMT_IP, &t_wide, "0.0.0.0/0", "sentinel");
	assert_bad(FEED_FMT_IP, &t_wide, "::/0", "private or reserved");
}

static void
test_private_and_reserved(void **state)
{
	static const char *const priv[] = {"10.1.2.3", "192.168.1.0/24",
	    "172.16.5.0/24", "100.64.0.1", "169.254.1.1", "127.0.9.9",
	    "0.1.2.3", "192.0.2.7", "198.51.100.0/24", "203.0.113.9",
	    "198.18.0.0/15", "224.0.0.1", "240.1.0.0/16", "255.255.255.255",
	    "::1", "::", "fd00::1", "fe80::/64", "ff02::1", "2001:db8::/32",
	    "64:ff9b::1.2.3.4", "100::1", "3fff::1"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
		struct feed_line ln;

		assert_bad(FEED_FMT_IP, &t_rules, priv[i], "allow_private");
		if (parse(FEED_FMT_IP, &t_private, priv[i], &ln) !=
		        FEED_LINE_OK &&
		    strstr(ln.why, "wider") == NULL)
			fail_msg("%s with allow_private: %s", priv[i], ln.why);
	}
	/* a network that holds reserved space is refused too */
	assert_bad(FEED_FMT_IP, &t_wide, "8.0.0.0/6", "10.0.0.0/8 private");
	assert_one(
	    FEED_FMT_IP, &t_private, "127.0.9.0/24", "net 127.0.9.0/24", "");
}

static void
test_dnsbl_sentinels(void **state)
{
	static const char *const s[] = {"127.0.0.2", "127.0.0.1",
	    "127.0.0.0/24", "127.0.0.128/25", "127.255.255.254",
	    "127.255.255.0/24", "127.0.0.0/8", "::ffff:127.0.0.2"};
	size_t i;

	(void)state;
	/* never, whatever is allowed */
	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		assert_bad(
		    FEED_FMT_IP, &t_anything, s[i], "DNSBL answer sentinel");
	assert_bad(FEED_FMT_DROP, &t_anything, "127.255.255.252 ; SBL1",
	    "sentinel (127.255.255.0/24)");
	assert_one(
	    FEED_FMT_IP, &t_private, "127.0.1.0/24", "net 127.0.1.0/24", "");
}

static void
test_domain_lines(void **state)
{
	char name[300];

	(void)state;
	assert_one(
	    FEED_FMT_DOMAIN, &t_rules, "example.com", "domain example.com", "");
	assert_one(FEED_FMT_DOMAIN, &t_rules, "Mail.EXAMPLE.Com.\r",
	    "domain mail.example.com", "");
	assert_one(FEED_FMT_DOMAIN, &t_rules, "  spam.example.net  # why",
	    "domain spam.example.net", "");
	assert_one(FEED_FMT_DOMAIN, &t_rules, "xn--bcher-kva.example",
	    "domain xn--bcher-kva.example", "");
	/* IDN: UTF-8 to A-labels, case folded */
	assert_one(FEED_FMT_DOMAIN, &t_rules,
	    "B\xc3\xbc"
	    "cher.Example",
	    "domain xn--bcher-kva.example", "");
	assert_one(FEED_FMT_DOMAIN, &t_rules,
	    "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc"
	    "\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84",
	    "domain xn--e1afmkfd.xn--p1ai", "");
	assert_bad(
	    FEED_FMT_DOMAIN, &t_rules, "\xff\xfe.example", "internationalised");
	assert_bad(FEED_FMT_DOMAIN, &t_rules, "*.example.com", "wildcard");
	assert_bad(FEED_FMT_DOMAIN, &t_rules, ".example.com", "leading dot");
	assert_bad(FEED_FMT_DOMAIN, &t_rules, "a..example.com", "not a domain");
	assert_bad(
	    FEED_FMT_DOMAIN, &t_rules, "-bad.example.com", "not a domain");
	assert_bad(FEED_FMT_DOMAIN, &t_rules, "exa mple.com", "more than one");
	assert_bad(
	    FEED_FMT_DOMAIN, &t_rules, "example.com/path", "not a domain");
	assert_bad(FEED_FMT_DOMAIN, &t_rules, "45.9.148.7", "numeric");
	assert_bad(FEED_FMT_DOMAIN, &t_rules, "com", "top-level domain");
	assert_one(FEED_FMT_DOMAIN, &t_wide, "com", "domain com", "");
	/* a 63-byte label is fine, 64 is not; 253 bytes in all, not 254 */
	memset(name, 'a', 63);
	memcpy(name + 63, ".com", 5);
	{
		struct feed_line ln;

		assert_int_equal(
		    parse(FEED_FMT_DOMAIN, &t_rules, name, &ln), FEED_LINE_OK);
	}
	memset(name, 'a', 64);
	memcpy(name + 64, ".com", 5);
	assert_bad(FEED_FMT_DOMAIN, &t_rules, name, "not a domain");
	memset(name, 'a', 249);
	memcpy(name + 249, ".com", 5); /* 253 bytes */
	for (size_t i = 60; i < 249; i += 61)
		name[i] = '.';
	{
		struct feed_line ln;

		assert_int_equal(
		    parse(FEED_FMT_DOMAIN, &t_rules, name, &ln), FEED_LINE_OK);
		memmove(name + 1, name, 254);
		name[0] = 'b';
		assert_int_equal(
		    parse(FEED_FMT_DOMAIN, &t_rules, name, &ln), FEED_LINE_BAD);
	}
}

static void
test_hosts_lines(void **state)
{
	struct feed_line ln;

	(void)state;
	assert_one(FEED_FMT_HOSTS, &t_rules, "0.0.0.0 ads.example.com",
	    "domain ads.example.com", "");
	assert_one(FEED_FMT_HOSTS, &t_rules, "127.0.0.1\tADS.Example.NET\r",
	    "domain ads.example.net", "");
	assert_one(FEED_FMT_HOSTS, &t_rules, ":: ads.example.org # blocked",
	    "domain ads.example.org", "");
	assert_int_equal(
	    parse(FEED_FMT_HOSTS, &t_rules,
	        "0.0.0.0 a.example.com  b.example.com localhost", &ln),
	    FEED_LINE_OK);
	assert_int_equal(ln.n, 2);
	assert_string_equal(key_text(&ln, 0), "domain a.example.com");
	assert_string_equal(key_text(&ln, 1), "domain b.example.com");
	/* hosts-file boilerplate is neither an entry nor bad */
	assert_skip(FEED_FMT_HOSTS, "127.0.0.1 localhost");
	assert_skip(FEED_FMT_HOSTS, "127.0.0.1 localhost.localdomain local");
	assert_skip(FEED_FMT_HOSTS, "::1 ip6-localhost ip6-loopback");
	assert_skip(FEED_FMT_HOSTS, "fe80::1%lo0 localhost");
	assert_skip(FEED_FMT_HOSTS, "255.255.255.255 broadcasthost");
	assert_skip(FEED_FMT_HOSTS, "0.0.0.0 0.0.0.0");
	assert_skip(FEED_FMT_HOSTS, "# 0.0.0.0 commented.example.com");
	assert_bad(FEED_FMT_HOSTS, &t_rules, "192.0.2.1 ads.example.com",
	    "does not point to");
	assert_bad(FEED_FMT_HOSTS, &t_rules, "0.0.0.0", "no host name");
	assert_bad(FEED_FMT_HOSTS, &t_rules, "0.0.0.0 # x", "no host name");
	assert_bad(FEED_FMT_HOSTS, &t_rules, "0.0.0.0 ads..example.com",
	    "not a domain");
	/* FEED_LINE_NAMES_MAX (8) names on a line, not 9 */
	assert_int_equal(parse(FEED_FMT_HOSTS, &t_rules,
	                     "0.0.0.0 a.e b.e c.e d.e e.e f.e g.e h.e", &ln),
	    FEED_LINE_OK);
	assert_int_equal(ln.n, 8);
	assert_bad(FEED_FMT_HOSTS, &t_rules,
	    "0.0.0.0 a.e b.e c.e d.e e.e f.e g.e h.e i.e", "more than 8");
	assert_bad(FEED_FMT_HOSTS, &t_rules, "ads.example.com", "no host name");
}

static void
test_line_length_bound(void **state)
{
	char line[FEED_LINE_MAX + 8];
	struct feed_line ln;

	(void)state;
	/* a comment of exactly FEED_LINE_MAX bytes is a line like others */
	memset(line, 'x', sizeof(line));
	line[0] = '#';
	assert_int_equal(
	    feed_parse_line(FEED_FMT_IP, &t_rules, line, FEED_LINE_MAX, &ln),
	    FEED_LINE_SKIP);
	/* its CR does not count */
	line[FEED_LINE_MAX] = '\r';
	assert_int_equal(feed_parse_line(FEED_FMT_IP, &t_rules, line,
	                     FEED_LINE_MAX + 1, &ln),
	    FEED_LINE_SKIP);
	line[FEED_LINE_MAX] = 'x';
	assert_int_equal(feed_parse_line(FEED_FMT_IP, &t_rules, line,
	                     FEED_LINE_MAX + 1, &ln),
	    FEED_LINE_BAD);
	assert_non_null(strstr(ln.why, "longer than 1024"));
}

static void
test_detect_formats(void **state)
{
	static const char drop[] = "; Spamhaus DROP List\n"
	                           "; Expires: ...\n"
	                           "1.10.16.0/20 ; SBL256894\n"
	                           "1.19.0.0/16 ; SBL434604\n";
	static const char hosts[] = "# hosts\n127.0.0.1 localhost\n"
	                            "0.0.0.0 ads.example.com\n"
	                            "0.0.0.0 t.example.net\n";
	static const char ip[] = "# ips\n45.9.148.7\n45.9.148.0/24\n"
	                         "2a0b:4140::/32\n";
	static const char dom[] =
	    "# domains\nexample.com\r\nspam.example.net\r\n";
	static const char junk[] = "<html><body>404 Not Found</body></html>\n";
	static const char partial[] = "45.9.148.7\nexample.com\nexample.net\n"
	                              "example.org";
	size_t data = 99;

	(void)state;
	assert_int_equal(
	    feed_parse_detect(drop, strlen(drop), 1, &data), FEED_FMT_DROP);
	assert_int_equal(data, 2);
	assert_int_equal(
	    feed_parse_detect(hosts, strlen(hosts), 1, NULL), FEED_FMT_HOSTS);
	assert_int_equal(
	    feed_parse_detect(ip, strlen(ip), 1, NULL), FEED_FMT_IP);
	assert_int_equal(
	    feed_parse_detect(dom, strlen(dom), 1, NULL), FEED_FMT_DOMAIN);
	assert_int_equal(
	    feed_parse_detect(junk, strlen(junk), 1, NULL), FEED_FMT_AUTO);
	assert_int_equal(
	    feed_parse_detect("# only\n\n", 8, 1, &data), FEED_FMT_AUTO);
	assert_int_equal(data, 0);
	/* a cut last line does not vote unless it is the end */
	assert_int_equal(feed_parse_detect(partial, 27, 0, NULL), FEED_FMT_IP);
	assert_int_equal(feed_parse_detect(partial, strlen(partial), 1, NULL),
	    FEED_FMT_DOMAIN);
	assert_int_equal(feed_format_parse("hosts", 5), FEED_FMT_HOSTS);
	assert_int_equal(feed_format_parse("csv", 3), MX_EINVAL);
	assert_string_equal(feed_format_name(FEED_FMT_DROP), "drop");
}

/* the reports of one read */
struct reports {
	size_t n;
	char file[8][64];
	size_t line[8];
	char why[8][FEED_WHY_MAX + 64];
};

static void
on_report(void *arg, const char *file, size_t line, const char *why)
{
	struct reports *r = arg;

	if (r->n < 8) {
		snprintf(r->file[r->n], sizeof(r->file[0]), "%s", file);
		r->line[r->n] = line;
		snprintf(r->why[r->n], sizeof(r->why[0]), "%s", why);
	}
	r->n++;
}

/* read_opts - ip format unless given, default rules, no guard */
static struct feed_read_opts
read_opts(int fmt, uint64_t share, struct reports *r)
{
	struct feed_read_opts o;

	memset(&o, 0, sizeof(o));
	memset(r, 0, sizeof(*r));
	o.fmt = fmt;
	o.rules = &t_rules;
	o.max_bad_share = share;
	o.max_bytes = 1 << 20;
	o.report = on_report;
	o.arg = r;
	return o;
}

/* make_list - n data lines of which bad are refused, every 10th first */
static char *
make_list(size_t n, size_t bad)
{
	char *s = malloc(n * 32 + 64), *p = s;
	size_t i, b = 0;

	p += sprintf(p, "# generated\n\n");
	for (i = 0; i < n; i++) {
		if (b < bad && (i % 9 == 0 || n - i <= bad - b)) {
			p += sprintf(p, "10.0.%zu.0/24\n", i % 256);
			b++;
		} else {
			p += sprintf(p, "45.%zu.%zu.0/24\n", i / 256, i % 256);
		}
	}
	return s;
}

static void
test_read_reports_and_line_numbers(void **state)
{
	static const char text[] = "\xef\xbb\xbf# list\r\n"
	                           "45.9.148.7\r\n"
	                           "\r\n"
	                           "10.0.0.1\r\n"
	                           "45.9.148.0/24   \r\n"
	                           "45.9.148.7\r\n"
	                           "2a0b:4140::/32";
	struct feed_read_stats st;
	struct feed_read_opts o;
	struct feed_list l;
	struct reports r;
	struct feed_entry e;

	(void)state;
	o = read_opts(FEED_FMT_AUTO, 50, &r);
	feed_list_init(&l, 100);
	assert_int_equal(
	    feed_read_mem(&o, "ips.txt", text, strlen(text), &l, &st), 0);
	assert_int_equal(st.fmt, FEED_FMT_IP);
	assert_int_equal(st.lines, 7);
	assert_int_equal(st.data, 5);
	assert_int_equal(st.bad, 1);
	assert_int_equal(st.entries, 4);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.file[0], "ips.txt");
	assert_int_equal(r.line[0], 4);
	assert_non_null(strstr(r.why[0], "10.0.0.0/8 private"));
	/* duplicates go, the rest sorts in key order: ip before net */
	feed_list_finish(&l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.dups, 1);
	feed_list_get(&l, 0, &e);
	assert_int_equal(e.kind, PROTO_KIND_IP);
	feed_list_get(&l, 2, &e);
	assert_int_equal(e.kind, PROTO_KIND_NET);
	assert_int_equal(e.key_len, 17);
	feed_list_fini(&l);
}

static void
test_bad_share_at_bound_is_taken(void **state)
{
	struct feed_read_stats st;
	struct feed_read_opts o;
	struct feed_list l;
	struct reports r;
	char *text = make_list(100, 10); /* exactly 10 % */

	(void)state;
	o = read_opts(FEED_FMT_IP, 10, &r);
	feed_list_init(&l, 1000);
	assert_int_equal(
	    feed_read_mem(&o, "list", text, strlen(text), &l, &st), 0);
	assert_int_equal(st.data, 100);
	assert_int_equal(st.bad, 10);
	assert_int_equal(l.n, 90);
	assert_int_equal(r.n, 10);
	assert_int_equal(r.line[0], 3); /* after the comment and blank */
	feed_list_fini(&l);
	free(text);
}

static void
test_bad_share_over_bound_refuses_file(void **state)
{
	struct feed_read_stats st;
	struct feed_read_opts o;
	struct feed_list l;
	struct feed_entry e;
	struct reports r;
	char *text = make_list(100, 11); /* 11 %: one line too many */

	(void)state;
	o = read_opts(FEED_FMT_IP, 10, &r);
	feed_list_init(&l, 1000);
	/* what an earlier file gave stays; this file's entries go */
	memset(&e, 0, sizeof(e));
	e.kind = PROTO_KIND_IP;
	e.key_len = 4;
	memcpy(e.key, "\x2d\x09\x94\x07", 4);
	assert_int_equal(feed_list_add(&l, &e), 0);
	assert_int_equal(
	    feed_read_mem(&o, "list", text, strlen(text), &l, &st), MX_EINVAL);
	assert_int_equal(st.bad, 11);
	assert_int_equal(st.entries, 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(r.n, 12); /* 11 lines, then the file */
	feed_list_fini(&l);
	free(text);
	/* share 0: one bad line refuses; share 100 takes anything parsed */
	text = make_list(20, 1);
	o = read_opts(FEED_FMT_IP, 0, &r);
	feed_list_init(&l, 1000);
	assert_int_equal(
	    feed_read_mem(&o, "list", text, strlen(text), &l, &st), MX_EINVAL);
	o = read_opts(FEED_FMT_IP, 100, &r);
	assert_int_equal(
	    feed_read_mem(&o, "list", text, strlen(text), &l, &st), 0);
	assert_int_equal(l.n, 19);
	feed_list_fini(&l);
	free(text);
}

static void
test_half_bad_file_refused_with_reason(void **state)
{
	static const char text[] = "45.9.148.7\n10.0.0.1\n45.9.148.8\nbad\n";
	struct feed_read_stats st;
	struct feed_read_opts o;
	struct feed_list l;
	struct reports r;

	(void)state;
	o = read_opts(FEED_FMT_IP, 10, &r);
	feed_list_init(&l, 1000);
	assert_int_equal(
	    feed_read_mem(&o, "f", text, strlen(text), &l, &st), MX_EINVAL);
	assert_int_equal(l.n, 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.line[0], 2);
	assert_int_equal(r.line[1], 4);
	assert_int_equal(r.line[2], 0);
	assert_non_null(strstr(r.why[2], "2 of 4 lines bad"));
	assert_non_null(strstr(r.why[2], "max_bad_share 10%"));
	feed_list_fini(&l);
}

static void
test_empty_and_unknown_files(void **state)
{
	struct feed_read_stats st;
	struct feed_read_opts o;
	struct feed_list l;
	struct reports r;

	(void)state;
	feed_list_init(&l, 1000);
	o = read_opts(FEED_FMT_AUTO, 10, &r);
	assert_int_equal(feed_read_mem(&o, "f", "", 0, &l, &st), MX_EINVAL);
	assert_non_null(strstr(r.why[0], "no entries"));
	o = read_opts(FEED_FMT_AUTO, 10, &r);
	assert_int_equal(
	    feed_read_mem(&o, "f", "# x\n;y\n\n", 8, &l, &st), MX_EINVAL);
	assert_non_null(strstr(r.why[0], "no entries"));
	o = read_opts(FEED_FMT_IP, 10, &r);
	assert_int_equal(
	    feed_read_mem(&o, "f", "# x\n;y\n\n", 8, &l, &st), MX_EINVAL);
	/* --force takes an empty list */
	o = read_opts(FEED_FMT_AUTO, 10, &r);
	o.allow_empty = 1;
	assert_int_equal(feed_read_mem(&o, "f", "", 0, &l, &st), 0);
	assert_int_equal(feed_read_mem(&o, "f", "# x\n;y\n\n", 8, &l, &st), 0);
	assert_int_equal(r.n, 0);
	/* an error page is not a list */
	o = read_opts(FEED_FMT_AUTO, 10, &r);
	assert_int_equal(
	    feed_read_mem(&o, "f", "<html>\n</html>\n", 15, &l, &st),
	    MX_EINVAL);
	assert_non_null(strstr(r.why[0], "format not recognised"));
	assert_int_equal(l.n, 0);
	feed_list_fini(&l);
}

static void
test_too_long_line_in_file(void **state)
{
	size_t len = 3 * FEED_READ_BUF + 100, n;
	char *text = malloc(len + 64);
	struct feed_read_stats st;
	struct feed_read_opts o;
	struct feed_list l;
	struct reports r;

	(void)state;
	/* a line of 200 KB between two good ones */
	n = (size_t)sprintf(text, "45.9.148.7\n");
	memset(text + n, '1', len - n);
	n = len;
	n += (size_t)sprintf(text + n, "\n45.9.148.8\n");
	o = read_opts(FEED_FMT_IP, 50, &r);
	feed_list_init(&l, 1000);
	assert_int_equal(feed_read_mem(&o, "f", text, n, &l, &st), 0);
	assert_int_equal(st.lines, 3);
	assert_int_equal(st.bad, 1);
	assert_int_equal(l.n, 2);
	assert_int_equal(r.line[0], 2);
	assert_non_null(strstr(r.why[0], "longer than 1024 bytes"));
	/* at the bound: a 1024-byte line is read whole (and is bad here
	 * because it is no address, not because of its length) */
	feed_list_fini(&l);
	memset(text, 'x', FEED_LINE_MAX);
	memcpy(text + FEED_LINE_MAX, "\r\n45.9.148.9\n", 13);
	o = read_opts(FEED_FMT_IP, 50, &r);
	feed_list_init(&l, 1000);
	assert_int_equal(
	    feed_read_mem(&o, "f", text, FEED_LINE_MAX + 13, &l, &st), 0);
	assert_null(strstr(r.why[0], "longer"));
	memset(text, 'x', FEED_LINE_MAX + 1);
	memcpy(text + FEED_LINE_MAX + 1, "\n45.9.148.9\n", 12);
	o = read_opts(FEED_FMT_IP, 50, &r);
	assert_int_equal(
	    feed_read_mem(&o, "f", text, FEED_LINE_MAX + 13, &l, &st), 0);
	assert_non_null(strstr(r.why[0], "longer"));
	/* the same without an end of line at the end of the input */
	o = read_opts(FEED_FMT_IP, 50, &r);
	memcpy(text, "45.9.148.9\n", 11);
	memset(text + 11, '2', 5000);
	assert_int_equal(feed_read_mem(&o, "f", text, 5011, &l, &st), 0);
	assert_int_equal(st.lines, 2);
	assert_non_null(strstr(r.why[0], "longer"));
	feed_list_fini(&l);
	free(text);
}

static void
test_max_entries_and_size(void **state)
{
	char *text = make_list(20, 0);
	struct feed_read_stats st;
	struct feed_read_opts o;
	struct feed_list l;
	struct reports r;

	(void)state;
	o = read_opts(FEED_FMT_IP, 10, &r);
	feed_list_init(&l, 19);
	assert_int_equal(
	    feed_read_mem(&o, "f", text, strlen(text), &l, &st), MX_ELIMIT);
	assert_int_equal(l.n, 0);
	assert_non_null(strstr(r.why[0], "max_entries"));
	feed_list_fini(&l);
	feed_list_init(&l, 20);
	assert_int_equal(
	    feed_read_mem(&o, "f", text, strlen(text), &l, &st), 0);
	assert_int_equal(l.n, 20);
	feed_list_fini(&l);
	o = read_opts(FEED_FMT_IP, 10, &r);
	o.max_bytes = strlen(text) - 1;
	feed_list_init(&l, 100);
	assert_int_equal(
	    feed_read_mem(&o, "f", text, strlen(text), &l, &st), MX_ETOOBIG);
	assert_int_equal(l.n, 0);
	assert_non_null(strstr(r.why[0], "max_input_size"));
	feed_list_fini(&l);
	free(text);
}

static void
test_reports_per_file_are_bounded(void **state)
{
	struct feed_read_stats st;
	struct feed_read_opts o;
	struct feed_list l;
	struct reports r;
	char *text = malloc(200 * 16), *p = text;
	int i;

	(void)state;
	/* FEED_REPORTS_MAX (100) lines are named, then one summary */
	for (i = 0; i < 150; i++)
		p += sprintf(p, "10.0.%d.0/24\n", i);
	p += sprintf(p, "45.9.148.7\n");
	o = read_opts(FEED_FMT_IP, 100, &r);
	feed_list_init(&l, 100);
	assert_int_equal(
	    feed_read_mem(&o, "f", text, (size_t)(p - text), &l, &st), 0);
	assert_int_equal(st.bad, 150);
	assert_int_equal(r.n, FEED_REPORTS_MAX + 1);
	feed_list_fini(&l);
	/* exactly FEED_REPORTS_MAX bad lines: no summary */
	p = text;
	for (i = 0; i < FEED_REPORTS_MAX; i++)
		p += sprintf(p, "10.0.%d.0/24\n", i);
	p += sprintf(p, "45.9.148.7\n");
	o = read_opts(FEED_FMT_IP, 100, &r);
	feed_list_init(&l, 100);
	assert_int_equal(
	    feed_read_mem(&o, "f", text, (size_t)(p - text), &l, &st), 0);
	assert_int_equal(r.n, FEED_REPORTS_MAX);
	feed_list_fini(&l);
	free(text);
}

static void
test_read_from_file_stream(void **state)
{
	static const char text[] = "; DROP\n1.10.16.0/20 ; SBL256894\n"
	                           "1.19.0.0/16 ; SBL434604\n";
	struct feed_read_stats st;
	struct feed_read_opts o;
	struct feed_list l;
	struct reports r;
	struct feed_entry e;
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(f);
	fwrite(text, 1, strlen(text), f);
	rewind(f);
	o = read_opts(FEED_FMT_AUTO, 10, &r);
	feed_list_init(&l, 100);
	assert_int_equal(feed_read_file(&o, "drop.txt", f, &l, &st), 0);
	fclose(f);
	assert_int_equal(st.fmt, FEED_FMT_DROP);
	feed_list_finish(&l);
	assert_int_equal(l.n, 2);
	feed_list_get(&l, 1, &e);
	assert_int_equal(e.tag_len, 9);
	assert_memory_equal(e.tag, "SBL256894", 9);
	feed_list_fini(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_drop_good_lines),
	    cmocka_unit_test(test_drop_bad_lines),
	    cmocka_unit_test(test_ip_lines),
	    cmocka_unit_test(test_wide_networks),
	    cmocka_unit_test(test_private_and_reserved),
	    cmocka_unit_test(test_dnsbl_sentinels),
	    cmocka_unit_test(test_domain_lines),
	    cmocka_unit_test(test_hosts_lines),
	    cmocka_unit_test(test_line_length_bound),
	    cmocka_unit_test(test_detect_formats),
	    cmocka_unit_test(test_read_reports_and_line_numbers),
	    cmocka_unit_test(test_bad_share_at_bound_is_taken),
	    cmocka_unit_test(test_bad_share_over_bound_refuses_file),
	    cmocka_unit_test(test_half_bad_file_refused_with_reason),
	    cmocka_unit_test(test_empty_and_unknown_files),
	    cmocka_unit_test(test_too_long_line_in_file),
	    cmocka_unit_test(test_max_entries_and_size),
	    cmocka_unit_test(test_reports_per_file_are_bounded),
	    cmocka_unit_test(test_read_from_file_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
