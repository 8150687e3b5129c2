/*
 * proto_content_parts_test.c - the content analyser's stages one by one
 *
 * Base64 and quoted-printable decoders (cut at every position, junk,
 * padding, soft breaks), charset conversion (Windows-1252, ISO-8859-15,
 * US-ASCII, UTF-8 with invalid sequences, auto), HTML to text, URL host
 * normalisation and scanning, the RFC 3492 encoder on the RFC's own
 * samples, attachment magic numbers and names, case folding and the
 * min-hash finaliser. Internal functions, through proto_content_int.h.
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
#include "proto/proto_content.h"
#include "proto/proto_content_int.h"

#define PT_MAX 4096

static uint8_t pt_out[3 * PT_MAX + 64], pt_cut[3 * PT_MAX + 64];

/* pt_b64 - decode s whole; checks every two-piece cut agrees */
static size_t
pt_b64(const char *s, int *is_bad)
{
	struct proto_b64 st;
	size_t n = strlen(s), o, c, k;

	proto_decode_b64_init(&st);
	o = proto_decode_b64(&st, (const uint8_t *)s, n, pt_out);
	o += proto_decode_b64_end(&st, pt_out + o);
	*is_bad = st.is_bad;
	for (c = 0; c <= n; c++) {
		proto_decode_b64_init(&st);
		k = proto_decode_b64(&st, (const uint8_t *)s, c, pt_cut);
		k += proto_decode_b64(
		    &st, (const uint8_t *)s + c, n - c, pt_cut + k);
		k += proto_decode_b64_end(&st, pt_cut + k);
		assert_int_equal(k, o);
		assert_memory_equal(pt_cut, pt_out, o);
		assert_int_equal(st.is_bad, *is_bad);
	}
	return o;
}

static void
test_base64(void **state)
{
	static const char *const plain[] = {
	    "", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {
	    "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	char e[16];
	size_t i, n;
	int bad;

	(void)state;
	for (i = 0; i < 7; i++) { /* RFC 4648 section 10 */
		n = proto_decode_b64_encode(
		    (const uint8_t *)plain[i], strlen(plain[i]), e, sizeof(e));
		assert_int_equal(n, strlen(enc[i]));
		assert_memory_equal(e, enc[i], n);
		n = pt_b64(enc[i], &bad);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(pt_out, plain[i], n);
		assert_false(bad);
	}
	assert_int_equal(
	    proto_decode_b64_encode((const uint8_t *)"foo", 3, e, 3), 0);
	n = pt_b64("Zm9v\r\nYmFy\r\n", &bad); /* line breaks are not junk */
	assert_int_equal(n, 6);
	assert_false(bad);
	n = pt_b64("Zm9vYg", &bad); /* unpadded end: still decoded */
	assert_int_equal(n, 4);
	assert_false(bad);
	n = pt_b64("Zm9v!YmFy", &bad); /* junk skipped, flagged */
	assert_int_equal(n, 6);
	assert_true(bad);
	n = pt_b64("Zm9vY", &bad); /* six stray bits */
	assert_int_equal(n, 3);
	assert_true(bad);
	n = pt_b64("Zg==Zm8=", &bad); /* decoding goes on after padding */
	assert_int_equal(n, 3);
	assert_memory_equal(pt_out, "ffo", 3);
	n = pt_b64("====", &bad);
	assert_int_equal(n, 0);
	assert_false(bad);
}

/* pt_qp - decode s whole, every two-piece cut agreeing; NUL-ends */
static const char *
pt_qp(const char *s)
{
	struct proto_qp st;
	size_t n = strlen(s), o, c, k;

	proto_decode_qp_init(&st);
	o = proto_decode_qp(&st, (const uint8_t *)s, n, pt_out);
	o += proto_decode_qp_end(&st, pt_out + o);
	for (c = 0; c <= n; c++) {
		proto_decode_qp_init(&st);
		k = proto_decode_qp(&st, (const uint8_t *)s, c, pt_cut);
		k += proto_decode_qp(
		    &st, (const uint8_t *)s + c, n - c, pt_cut + k);
		k += proto_decode_qp_end(&st, pt_cut + k);
		assert_int_equal(k, o);
		assert_memory_equal(pt_cut, pt_out, o);
	}
	pt_out[o] = '\0';
	return (const char *)pt_out;
}

static void
test_quoted_printable(void **state)
{
	(void)state;
	assert_string_equal(pt_qp("a=\r\nb"), "ab");
	assert_string_equal(pt_qp("a= \t\r\nb"), "ab");
	assert_string_equal(pt_qp("a=\nb"), "ab");
	assert_string_equal(pt_qp("=41=4a=4A=3D"), "AJJ=");
	assert_string_equal(pt_qp("=G1 =4G x=\r"), "=G1 =4G x=\r");
	assert_string_equal(pt_qp("ab  \t\r\ncd \r\n"), "ab\r\ncd\r\n");
	assert_string_equal(pt_qp("a\nb"), "a\r\nb");
	/* fuzz_b64qp: bare LFs double the output (room 2n + slack) */
	assert_string_equal(pt_qp("\n\n\n\n"), "\r\n\r\n\r\n\r\n");
	assert_string_equal(pt_qp("a\rb"), "a\rb");
	/* the end of data ends the last line (its CRLF is the delimiter's) */
	assert_string_equal(pt_qp("end="), "end");
	assert_string_equal(pt_qp("end=4"), "end=4");
	assert_string_equal(pt_qp("end= "), "end");
	assert_string_equal(pt_qp("= x"), "= x");
	assert_string_equal(pt_qp("pad  "), "pad");
	/* blanks held at most PROTO_QP_WS_MAX: 20 then EOL leaves 16 */
	assert_string_equal(
	    pt_qp("x                    \r\ny"), "x                \r\ny");
}

/* pt_cs - convert with a charset, every cut agreeing; NUL-ends */
static const char *
pt_cs(int id, const char *s)
{
	struct proto_cs st;
	size_t n = strlen(s), o, c, k;

	proto_decode_cs_init(&st, id);
	o = proto_decode_cs(&st, (const uint8_t *)s, n, pt_out);
	o += proto_decode_cs_end(&st, pt_out + o);
	for (c = 0; c <= n; c++) {
		proto_decode_cs_init(&st, id);
		k = proto_decode_cs(&st, (const uint8_t *)s, c, pt_cut);
		k += proto_decode_cs(
		    &st, (const uint8_t *)s + c, n - c, pt_cut + k);
		k += proto_decode_cs_end(&st, pt_cut + k);
		assert_int_equal(k, o);
		assert_memory_equal(pt_cut, pt_out, o);
	}
	pt_out[o] = '\0';
	return (const char *)pt_out;
}

#define PT_FFFD "\xef\xbf\xbd"

static void
test_charsets(void **state)
{
	(void)state;
	assert_int_equal(
	    proto_decode_cs_lookup((const uint8_t *)"UTF-8", 5), PROTO_CS_UTF8);
	assert_int_equal(
	    proto_decode_cs_lookup((const uint8_t *)"ISO-8859-1", 10),
	    PROTO_CS_CP1252);
	assert_int_equal(
	    proto_decode_cs_lookup((const uint8_t *)"Windows-1252", 12),
	    PROTO_CS_CP1252);
	assert_int_equal(proto_decode_cs_lookup((const uint8_t *)"latin-9", 7),
	    PROTO_CS_LATIN9);
	assert_int_equal(proto_decode_cs_lookup((const uint8_t *)"US-ASCII", 8),
	    PROTO_CS_ASCII);
	assert_int_equal(proto_decode_cs_lookup((const uint8_t *)"gb2312", 6),
	    PROTO_CS_AUTO);
	assert_string_equal(pt_cs(PROTO_CS_CP1252, "\x80\x93q\x94\x81\xe9"),
	    "\xe2\x82\xac\xe2\x80\x9cq\xe2\x80\x9d" PT_FFFD "\xc3\xa9");
	assert_string_equal(pt_cs(PROTO_CS_LATIN9, "\xa4\xbd\xe9"),
	    "\xe2\x82\xac\xc5\x93\xc3\xa9");
	assert_string_equal(
	    pt_cs(PROTO_CS_ASCII, "caf\xe9!"), "caf" PT_FFFD "!");
	assert_string_equal(
	    pt_cs(PROTO_CS_UTF8, "ok \xc3\xa9 \xf0\x9f\x98\x80"),
	    "ok \xc3\xa9 \xf0\x9f\x98\x80");
	assert_string_equal(pt_cs(PROTO_CS_UTF8, "\xc3("), PT_FFFD "(");
	assert_string_equal(pt_cs(PROTO_CS_UTF8, "\xc0\xaf"), PT_FFFD PT_FFFD);
	assert_string_equal(
	    pt_cs(PROTO_CS_UTF8, "\xed\xa0\x80"), PT_FFFD PT_FFFD PT_FFFD);
	assert_string_equal(pt_cs(PROTO_CS_UTF8, "\xf4\x90\x80\x80"),
	    PT_FFFD PT_FFFD PT_FFFD PT_FFFD);
	assert_string_equal(
	    pt_cs(PROTO_CS_UTF8, "cut \xe2\x82"), "cut " PT_FFFD);
	assert_string_equal(pt_cs(PROTO_CS_AUTO, "caf\xe9 \xc3\xa9 \x93"),
	    "caf\xc3\xa9 \xc3\xa9 \xe2\x80\x9c");
	assert_string_equal(
	    pt_cs(PROTO_CS_AUTO, "\xe2\x82x"), "\xc3\xa2\xe2\x80\x9ax");
}

struct pt_html {
	char text[PT_MAX];
	size_t ntext;
	char attrs[PT_MAX];
	size_t nattrs;
};

/* pt_html_text - collect text */
static void
pt_html_text(void *arg, const uint8_t *p, size_t n)
{
	struct pt_html *h = arg;

	assert_true(h->ntext + n < PT_MAX);
	memcpy(h->text + h->ntext, p, n);
	h->ntext += n;
	h->text[h->ntext] = '\0';
}

/* pt_html_attr - collect "kind:value|" */
static void
pt_html_attr(void *arg, int kind, const uint8_t *p, size_t n)
{
	struct pt_html *h = arg;

	assert_true(h->nattrs + n + 3 < PT_MAX);
	h->attrs[h->nattrs++] = (char)('0' + kind);
	h->attrs[h->nattrs++] = ':';
	memcpy(h->attrs + h->nattrs, p, n);
	h->nattrs += n;
	h->attrs[h->nattrs++] = '|';
	h->attrs[h->nattrs] = '\0';
}

static void
test_html_to_text(void **state)
{
	static const struct {
		const char *in, *text, *attrs;
	} cases[] = {
	    {"<p>Hello <b>Wor</b>ld</p>", " Hello World ", ""},
	    {"a<br>b<BR/>c<div>d</div>", "a b c d ", ""},
	    {"x<script type=\"text/javascript\">if (a<b) document.write('<p>')"
	     "</script>y<style>p{}</style >z",
	        "xyz", ""},
	    {"<SCRIPT>a</scripts></SCRIPT>b", "b", ""},
	    {"v<!-- hidden -->i<!---->a<!-- x -- y --->gra", "viagra", ""},
	    {"open<!-- - -- ->never closed", "open", ""},
	    {"<!DOCTYPE html><?xml x?>t</x>", "t", ""},
	    {"&amp;&lt;&gt;&quot;&apos;&nbsp;&copy&eacute;&euro;&#65;&#x42;"
	     "&#X43;&#0;&#150;&bogus;&amp",
	        "&<>\"'\xc2\xa0\xc2\xa9\xc3\xa9\xe2\x82\xac"
	        "ABC\xef\xbf\xbd\xe2\x80\x93&bogus;&",
	        ""},
	    {"a < b and c <3", "a < b and c <3", ""},
	    {"<a href=\"http://x.example/?a=1&amp;b=2&copy=3\">l</a>", "l",
	        "1:http://x.example/?a=1&b=2&copy=3|"},
	    {"<a title='x>y' href=h&#116;tp://u.example/ data-x=1>t</a>", "t",
	        "1:http://u.example/|"},
	    {"<IMG SRC='//img.example/a.gif'><form action=/post>", " ",
	        "1://img.example/a.gif|1:/post|"},
	    {"<meta http-equiv=\"refresh\" "
	     "content=\"0;URL=http://m.example/\">",
	        "", "2:0;URL=http://m.example/|"},
	    {"<a href=\"\">e</a><a href>f</a>", "ef", ""},
	    {"</p x><//bogus>w</ >", " w", ""},
	};
	size_t i, c, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pt_html whole = {{0}, 0, {0}, 0};
		struct proto_html_sink o = {pt_html_text, pt_html_attr, &whole};
		struct proto_html h;

		n = strlen(cases[i].in);
		proto_html_init(&h);
		proto_html_feed(&h, (const uint8_t *)cases[i].in, n, &o);
		proto_html_end(&h, &o);
		assert_string_equal(whole.text, cases[i].text);
		assert_string_equal(whole.attrs, cases[i].attrs);
		for (c = 0; c <= n; c++) {
			struct pt_html cut = {{0}, 0, {0}, 0};

			o.arg = &cut;
			proto_html_init(&h);
			proto_html_feed(
			    &h, (const uint8_t *)cases[i].in, c, &o);
			proto_html_feed(
			    &h, (const uint8_t *)cases[i].in + c, n - c, &o);
			proto_html_end(&h, &o);
			assert_string_equal(cut.text, whole.text);
			assert_string_equal(cut.attrs, whole.attrs);
		}
	}
}

static void
test_url_host(void **state)
{
	static const struct {
		const char *in, *host;
		int ip;
	} cases[] = {
	    {"WWW.Example.COM", "www.example.com", 0},
	    {"example.com.", "example.com", 0},
	    {"example.com...", "example.com", 0},
	    {"user:pass@mail.example.org:8080", "mail.example.org", 0},
	    {"a@b@c.example", "c.example", 0},
	    {"%65xample.com", "example.com", 0},
	    {"b\xc3\xbc"
	     "cher.example",
	        "xn--bcher-kva.example", 0},
	    {"B\xc3\x9c"
	     "CHER.example",
	        "xn--bcher-kva.example", 0},
	    {"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80."
	     "\xd1\x80\xd1\x84",
	        "xn--e1afmkfd.xn--p1ai", 0},
	    {"\xe4\xbe\x8b\xe3\x80\x82\xe4\xb8\xad\xe5\x9b\xbd",
	        "xn--fsq.xn--fiqs8s", 0},
	    {"\xef\xbd\x85xample.com", "example.com", 0}, /* full-width e */
	    {"1.2.3.4", "1.2.3.4", 4},
	    {"1.2.3.4.", "1.2.3.4", 4},
	    {"0x7f.1", "127.0.0.1", 4},
	    {"3627734628", "216.58.214.100", 4},
	    {"0300.0250.01.01", "192.168.1.1", 4},
	    {"10.1", "10.0.0.1", 4},
	    {"[2001:DB8:0:0::1]:443", "2001:db8::1", 6},
	    {"[::ffff:1.2.3.4]", "::ffff:1.2.3.4", 6},
	    {"example.com\xc2\xa0trailing", "example.com", 0},
	    {"under_score.example", "under_score.example", 0},
	    {"localhost", NULL, 0},
	    {"", NULL, 0},
	    {"@", NULL, 0},
	    {"a..b.example", NULL, 0},
	    {"-bad.example", NULL, 0},
	    {"256.1.1.1", NULL, 0},
	    {"1.2.3.4.5", NULL, 0},
	    {"example.com:80x", NULL, 0},
	    {"a:b:c.example", NULL, 0},
	    {"[1::2::3]", NULL, 0},
	    {"[::1]x", NULL, 0},
	    {"ex ample.com", NULL, 0},
	    {"bad\xff.example", NULL, 0},
	    {"x.com=", NULL, 0},
	};
	char host[PROTO_DOMAIN_MAX + 1];
	size_t i, len;
	int ip, rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = proto_url_host((const uint8_t *)cases[i].in,
		    strlen(cases[i].in), host, &len, &ip);
		if (cases[i].host == NULL) {
			if (rc == 0)
				fail_msg("%s gave %s", cases[i].in, host);
			continue;
		}
		if (rc != 0)
			fail_msg("%s refused", cases[i].in);
		assert_string_equal(host, cases[i].host);
		assert_int_equal(len, strlen(cases[i].host));
		assert_int_equal(ip, cases[i].ip);
	}
	/* a 253-byte name is the longest */
	memset(host, 'a', sizeof(host));
	host[63] = host[127] = host[191] = '.';
	assert_int_equal(
	    proto_url_host((const uint8_t *)host, 253, host, &len, &ip), 0);
	assert_int_equal(len, 253);
	memset(host, 'a', sizeof(host));
	host[63] = host[127] = host[191] = '.';
	assert_int_equal(
	    proto_url_host((const uint8_t *)host, 254, host, &len, &ip),
	    MX_EINVAL);
}

struct pt_hosts {
	char all[PT_MAX];
	size_t n;
};

/* pt_found - "host," for each host found */
static void
pt_found(void *arg, const char *host, size_t len, int ip, int is_href)
{
	struct pt_hosts *h = arg;

	(void)ip;
	(void)is_href;
	assert_true(h->n + len + 2 < PT_MAX);
	memcpy(h->all + h->n, host, len);
	h->n += len;
	h->all[h->n++] = ',';
	h->all[h->n] = '\0';
}

static void
test_url_scan_and_href(void **state)
{
	static const char text[] =
	    "Go to http://Shop.Example.com/buy?x=1, or HTTPS://secure.example"
	    ".net:443/login (see www.Promo.example.) also ftp://files.example/"
	    " and http:\\\\back.example\\x and <http://angle.example> plus "
	    "redirect http://r.example/?u=http://target.example/p "
	    "but not xhttp://no.example or nowww.no.example or "
	    "mail@www.x.example"
	    " and [https://[2001:db8::2]/] end http://trailing.example";
	struct pt_hosts h = {{0}, 0}, c = {{0}, 0};
	struct proto_url_scan s;
	char host[PROTO_DOMAIN_MAX + 1];
	size_t i, n = strlen(text), len;
	int ip;

	(void)state;
	proto_url_scan_init(&s);
	proto_url_scan(&s, (const uint8_t *)text, n, pt_found, &h);
	proto_url_scan_end(&s, pt_found, &h);
	assert_string_equal(h.all,
	    "shop.example.com,secure.example.net,www.promo.example,"
	    "files.example,back.example,angle.example,r.example,"
	    "target.example,2001:db8::2,trailing.example,");
	for (i = 0; i < n; i++) {
		c.n = 0;
		c.all[0] = '\0';
		proto_url_scan_init(&s);
		proto_url_scan(&s, (const uint8_t *)text, i, pt_found, &c);
		proto_url_scan(
		    &s, (const uint8_t *)text + i, n - i, pt_found, &c);
		proto_url_scan_end(&s, pt_found, &c);
		assert_string_equal(c.all, h.all);
	}
	assert_int_equal(
	    proto_url_href(
	        (const uint8_t *)" http://h\tx.example/", 20, host, &len, &ip),
	    0);
	assert_string_equal(host, "hx.example");
	assert_int_equal(proto_url_href((const uint8_t *)"HTTPS:evil.example",
	                     18, host, &len, &ip),
	    0);
	assert_string_equal(host, "evil.example");
	assert_int_equal(proto_url_href((const uint8_t *)"//cdn.example/x", 15,
	                     host, &len, &ip),
	    0);
	assert_string_equal(host, "cdn.example");
	assert_int_equal(proto_url_href((const uint8_t *)"javascript:x", 12,
	                     host, &len, &ip),
	    MX_EINVAL);
	assert_int_equal(
	    proto_url_href((const uint8_t *)"path/x.html", 11, host, &len, &ip),
	    MX_EINVAL);
	assert_int_equal(proto_url_href((const uint8_t *)"mailto:a@b.example",
	                     18, host, &len, &ip),
	    MX_EINVAL);
}

/* pt_puny - encode a UTF-8 string's code points */
static const char *
pt_puny(const char *utf8)
{
	static char out[128];
	uint32_t cp[64];
	size_t n = 0, len;
	const uint8_t *p = (const uint8_t *)utf8;

	while (*p) {
		if (*p < 0x80) {
			cp[n++] = *p++;
		} else if (*p < 0xe0) {
			cp[n++] = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
			p += 2;
		} else if (*p < 0xf0) {
			cp[n++] = (uint32_t)(p[0] & 0x0f) << 12 |
			          (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
			p += 3;
		} else {
			cp[n++] = (uint32_t)(p[0] & 0x07) << 18 |
			          (uint32_t)(p[1] & 0x3f) << 12 |
			          (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
			p += 4;
		}
	}
	assert_int_equal(
	    proto_url_punycode(cp, n, out, sizeof(out) - 1, &len), 0);
	out[len] = '\0';
	return out;
}

static void
test_punycode(void **state)
{
	static const uint32_t arabic[] = {0x644, 0x64a, 0x647, 0x645, 0x627,
	    0x628, 0x62a, 0x643, 0x644, 0x645, 0x648, 0x634, 0x639, 0x631,
	    0x628, 0x64a, 0x61f};
	char out[64];
	size_t len;

	(void)state;
	/* RFC 3492 section 7.1 (A), (L), (M) and familiar names */
	assert_int_equal(
	    proto_url_punycode(arabic, 17, out, sizeof(out), &len), 0);
	assert_memory_equal(out, "egbpdaj6bu4bxfgehfvwxn", len);
	assert_string_equal(pt_puny("3\xe5\xb9\xb4"
	                            "B\xe7\xb5\x84\xe9\x87\x91"
	                            "\xe5\x85\xab\xe5\x85\x88\xe7\x94\x9f"),
	    "3B-ww4c5e180e575a65lsy2b");
	assert_string_equal(
	    pt_puny("Maji\xe3\x81\xa7Koi\xe3\x81\x99\xe3\x82\x8b"
	            "5\xe7\xa7\x92\xe5\x89\x8d"),
	    "MajiKoi5-783gue6qz075azm5e");
	assert_string_equal(pt_puny("b\xc3\xbc"
	                            "cher"),
	    "bcher-kva");
	assert_string_equal(pt_puny("m\xc3\xbcnchen"), "mnchen-3ya");
	assert_string_equal(pt_puny("\xe4\xb8\xad\xe5\x9b\xbd"), "fiqs8s");
	assert_string_equal(
	    pt_puny("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), "wgv71a119e");
	assert_string_equal(pt_puny("abc"), "abc-");
	assert_int_equal(
	    proto_url_punycode(arabic, 17, out, 5, &len), MX_ETOOBIG);
}

static void
test_attachment_magic_and_names(void **state)
{
	static const struct {
		const char *head;
		size_t n;
		int type;
	} magic[] = {
	    {"MZ\x90\0", 4, PROTO_AT_PE},
	    {"\x7f"
	     "ELF\x02",
	        5, PROTO_AT_ELF},
	    {"\xcf\xfa\xed\xfe", 4, PROTO_AT_MACHO},
	    {"#!/bin/sh\n", 10, PROTO_AT_SCRIPT},
	    {"L\0\0\0\x01\x14\x02\0", 8, PROTO_AT_LNK},
	    {"PK\x03\x04", 4, PROTO_AT_ZIP},
	    {"Rar!\x1a\x07\x01\0", 8, PROTO_AT_RAR},
	    {"7z\xbc\xaf\x27\x1c", 6, PROTO_AT_7Z},
	    {"\x1f\x8b\x08", 3, PROTO_AT_GZIP},
	    {"MSCF\0\0\0\0", 8, PROTO_AT_CAB},
	    {"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, PROTO_AT_OLE2},
	    {"{\\rtf1", 6, PROTO_AT_RTF},
	    {"\r\n%PDF-1.7", 10, PROTO_AT_PDF},
	    {"\x89PNG\r\n", 6, PROTO_AT_IMAGE},
	    {"\xff\xd8\xff\xe0", 4, PROTO_AT_IMAGE},
	    {"GIF89a", 6, PROTO_AT_IMAGE},
	    {"\xef\xbb\xbf  <!DOCTYPE HTML>", 20, PROTO_AT_HTML},
	    {"<Html>", 6, PROTO_AT_HTML},
	    {"PK", 2, PROTO_AT_NONE},
	    {"hello", 5, PROTO_AT_NONE},
	    {"", 0, PROTO_AT_NONE},
	};
	static const struct {
		const char *name;
		int type;
		uint16_t flags;
	} names[] = {
	    {"a.PDF.exe", PROTO_AT_EXE,
	        PROTO_AF_DOUBLE_EXT | PROTO_AF_MISMATCH},
	    {"invoice.pdf          .scr", PROTO_AT_EXE,
	        PROTO_AF_DOUBLE_EXT | PROTO_AF_MISMATCH},
	    {"evil.exe. . .", PROTO_AT_EXE, 0},
	    {"C:\\dir.pdf\\run.js", PROTO_AT_SCRIPT, 0},
	    {"photo.jpg", PROTO_AT_IMAGE, 0},
	    {"report.docm", PROTO_AT_OOXML, PROTO_AF_MACRO},
	    {"book.XLSM", PROTO_AT_OOXML, PROTO_AF_MACRO},
	    {"invoice\xe2\x80\xae"
	     "fdp.exe",
	        PROTO_AT_EXE, PROTO_AF_RLO | PROTO_AF_MISMATCH},
	    {"archive.tar.gz", PROTO_AT_GZIP, 0},
	    {"noext", PROTO_AT_NONE, 0},
	    {"data.weird", PROTO_AT_OTHER, 0},
	    {"", PROTO_AT_NONE, 0},
	    {"x.verylongextension", PROTO_AT_OTHER, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
		assert_int_equal(
		    proto_attach_magic(
		        (const uint8_t *)magic[i].head, magic[i].n),
		    magic[i].type);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint16_t f = 0;

		assert_int_equal(proto_attach_name_type(
		                     names[i].name, strlen(names[i].name), &f),
		    names[i].type);
		assert_int_equal(f, names[i].flags);
	}
	assert_string_equal(proto_atype_name(PROTO_AT_OOXML), "ooxml");
	assert_string_equal(proto_atype_name(-1), "none");
	assert_string_equal(proto_atype_name(PROTO_AT_MAX + 1), "none");
}

static void
test_fold_and_fp_final(void **state)
{
	struct proto_fp_acc acc;
	struct proto_fp a, b;
	uint64_t x = 1;
	int i;

	(void)state;
	assert_int_equal(proto_text_fold('Q'), 'q');
	assert_int_equal(proto_text_fold(0xc9), 0xe9);   /* É */
	assert_int_equal(proto_text_fold(0xd7), 0xd7);   /* × */
	assert_int_equal(proto_text_fold(0x178), 0xff);  /* Ÿ */
	assert_int_equal(proto_text_fold(0x141), 0x142); /* Ł */
	assert_int_equal(proto_text_fold(0x130), 'i');   /* İ */
	assert_int_equal(proto_text_fold(0x3a3), 0x3c3); /* Σ */
	assert_int_equal(proto_text_fold(0x3c2), 0x3c3); /* ς */
	assert_int_equal(proto_text_fold(0x416), 0x436); /* Ж */
	assert_int_equal(proto_text_fold(0x401), 0x451); /* Ё */
	assert_int_equal(proto_text_fold(0xff21), 'a');  /* full-width A */
	assert_int_equal(proto_text_fold(0x4e2d), 0x4e2d);
	/* the fingerprint needs PROTO_FP_MIN_BINS filled bins */
	proto_fp_acc_init(&acc);
	for (i = 0; i < PROTO_FP_MIN_BINS - 1; i++)
		proto_fp_acc_add(&acc, (uint64_t)i << 57 | 5);
	proto_fp_final(&acc, &a);
	assert_false(a.is_valid);
	assert_int_equal(a.bins_filled, PROTO_FP_MIN_BINS - 1);
	proto_fp_acc_add(&acc, (uint64_t)(PROTO_FP_MIN_BINS - 1) << 57 | 5);
	proto_fp_acc_add(&acc, (uint64_t)3 << 57 | 9); /* not a new minimum */
	proto_fp_final(&acc, &a);
	assert_true(a.is_valid);
	assert_int_equal(a.shingles, PROTO_FP_MIN_BINS + 1);
	assert_int_equal(proto_fp_similarity(&a, &a), PROTO_FP_K);
	for (i = 0; i < PROTO_FP_K; i++)
		assert_int_equal(a.sig[i], 5); /* densified from filled bins */
	/* a large random set: deterministic, every bin filled */
	proto_fp_acc_init(&acc);
	for (i = 0; i < 5000; i++)
		proto_fp_acc_add(
		    &acc, proto_fp_mix(x += 0x9e3779b97f4a7c15ULL));
	proto_fp_final(&acc, &a);
	proto_fp_final(&acc, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(a.bins_filled, PROTO_FP_K);
	assert_true(proto_fp_match(&a, &b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_quoted_printable),
	    cmocka_unit_test(test_charsets),
	    cmocka_unit_test(test_html_to_text),
	    cmocka_unit_test(test_url_host),
	    cmocka_unit_test(test_url_scan_and_href),
	    cmocka_unit_test(test_punycode),
	    cmocka_unit_test(test_attachment_magic_and_names),
	    cmocka_unit_test(test_fold_and_fp_final),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
