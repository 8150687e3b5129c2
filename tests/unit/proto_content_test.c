/*
 * proto_content_test.c - the content analyser on whole messages
 *
 * Real-world shaped messages built here (multipart/alternative, nested
 * multipart/mixed with a forwarded message/rfc822, base64 HTML, QP with
 * soft breaks, encoded-word subjects in UTF-8, ISO-8859-1 and
 * Windows-1252, attachments: zip, PE, OOXML with vbaProject.bin, OLE2
 * with macros, invoice.pdf.exe, ISO) and malformed ones (missing final
 * boundary, boundary never seen, bad base64, a 1 MB header line, 10,000
 * parts, nesting depth 100, a 20 MB message with a 20 MB line), each with
 * asserted outputs. Every message is also fed in 1-byte chunks and in
 * random splits: the result must be identical. LF and CRLF line ends
 * must give the same result.
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
#include <openssl/evp.h>

#include "lib/mx_err.h"
#include "proto/proto_content.h"

struct ct_buf {
	char *p;
	size_t n, cap;
};

struct ct_events {
	int headers, urls, attach, end;
	int is_order_ok;    /* HEADERS first, END last */
	int subject_at_hdr; /* subject length seen at HEADERS */
};

/* ct_add - append bytes, growing */
static void
ct_add(struct ct_buf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->n + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* ct_adds - append a string */
static void
ct_adds(struct ct_buf *b, const char *s)
{
	ct_add(b, s, strlen(s));
}

/* ct_addf - append formatted text */
static void __attribute__((format(printf, 2, 3)))
ct_addf(struct ct_buf *b, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	ct_add(b, tmp, (size_t)n);
}

/* ct_crlf - a message written with \n, as CRLF wire text */
static struct ct_buf
ct_crlf(const char *s)
{
	struct ct_buf b = {NULL, 0, 0};

	for (; *s; s++) {
		if (*s == '\n')
			ct_add(&b, "\r", 1);
		ct_add(&b, s, 1);
	}
	return b;
}

/* ct_b64 - base64 of bytes with 76-column CRLF lines */
static void
ct_b64(struct ct_buf *b, const void *data, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *u = data;
	size_t i, col = 0;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)u[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (unsigned)u[i + 1] << 8;
		if (i + 2 < n)
			v |= u[i + 2];
		q[0] = a[v >> 18];
		q[1] = a[(v >> 12) & 63];
		q[2] = i + 1 < n ? a[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? a[v & 63] : '=';
		ct_add(b, q, 4);
		if ((col += 4) >= 76) {
			ct_adds(b, "\r\n");
			col = 0;
		}
	}
	ct_adds(b, "\r\n");
}

/* ct_sha - SHA-256 of bytes */
static void
ct_sha(const void *p, size_t n, uint8_t out[32])
{
	unsigned int dl = 0;

	assert_int_equal(EVP_Digest(p, n, out, &dl, EVP_sha256(), NULL), 1);
	assert_int_equal(dl, 32);
}

/* ct_on_event - count callback events and check their order */
static void
ct_on_event(void *arg, const struct proto_content_event *ev)
{
	struct ct_events *e = arg;

	assert_non_null(ev->res);
	switch (ev->kind) {
	case PROTO_CEV_HEADERS:
		if (e->headers || e->urls || e->attach || e->end)
			e->is_order_ok = 0;
		e->headers++;
		e->subject_at_hdr = ev->res->subject_len;
		break;
	case PROTO_CEV_URL:
		assert_non_null(ev->url);
		assert_int_equal(strlen(ev->url->host), ev->url->host_len);
		e->urls++;
		break;
	case PROTO_CEV_ATTACH:
		assert_non_null(ev->attach);
		e->attach++;
		break;
	case PROTO_CEV_END:
		e->end++;
		break;
	default:
		fail();
	}
	if (ev->kind != PROTO_CEV_END && e->end)
		e->is_order_ok = 0;
}

/* ct_rand - splitmix64 */
static uint64_t
ct_rand(uint64_t *s)
{
	uint64_t x = (*s += 0x9e3779b97f4a7c15ULL);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * ct_feed - analyse m: mode 0 whole, 1 one byte at a time, 2 random
 * splits of up to max_chunk bytes (seeded). Checks the state bound after
 * every chunk and the callback's view.
 */
static void
ct_feed(const char *m, size_t n, int mode, uint64_t seed, size_t max_chunk,
    struct proto_content_result *out)
{
	struct proto_content *c;
	struct ct_events ev = {0, 0, 0, 0, 1, 0};
	size_t i = 0;

	assert_int_equal(proto_content_new(ct_on_event, &ev, &c), 0);
	while (i < n) {
		size_t k = n - i;

		if (mode == 1)
			k = 1;
		else if (mode == 2)
			k = 1 + (size_t)(ct_rand(&seed) % max_chunk);
		if (k > n - i)
			k = n - i;
		assert_int_equal(proto_content_feed(c, m + i, k), 0);
		assert_true(proto_content_mem(c) <= PROTO_CONTENT_MEM_MAX);
		i += k;
	}
	assert_int_equal(proto_content_finish(c), 0);
	assert_int_equal(proto_content_finish(c), MX_ESTATE);
	assert_int_equal(proto_content_feed(c, "x", 1), MX_ESTATE);
	*out = *proto_content_result(c);
	assert_true(ev.is_order_ok);
	assert_int_equal(ev.headers, 1);
	assert_int_equal(ev.end, 1);
	assert_int_equal(ev.urls, out->n_urls);
	assert_int_equal(ev.attach, out->attach_total);
	assert_int_equal(ev.subject_at_hdr, out->subject_len);
	proto_content_free(c);
}

static struct proto_content_result ct_res, ct_alt;

/* ct_run - analyse whole, byte by byte, split randomly: all identical */
static const struct proto_content_result *
ct_run(const char *m, size_t n)
{
	uint64_t seed;

	ct_feed(m, n, 0, 0, 0, &ct_res);
	ct_feed(m, n, 1, 0, 0, &ct_alt);
	assert_memory_equal(&ct_res, &ct_alt, sizeof(ct_res));
	for (seed = 1; seed <= 3; seed++) {
		ct_feed(m, n, 2, seed, seed == 1 ? 7 : n / 3 + 1, &ct_alt);
		assert_memory_equal(&ct_res, &ct_alt, sizeof(ct_res));
	}
	return &ct_res;
}

/* ct_run_s - ct_run on a \n-written message turned into CRLF; also LF */
static const struct proto_content_result *
ct_run_s(const char *text)
{
	struct ct_buf b = ct_crlf(text);
	struct proto_content_result lf;

	/* a file with LF line ends (mxctl) gives the same analysis */
	ct_feed(text, strlen(text), 0, 0, 0, &lf);
	ct_run(b.p, b.n);
	lf.bytes = ct_res.bytes;
	assert_memory_equal(&lf, &ct_res, sizeof(lf));
	free(b.p);
	return &ct_res;
}

/* ct_has_url - is host among the result's URLs */
static int
ct_has_url(const struct proto_content_result *r, const char *host)
{
	size_t i;

	for (i = 0; i < r->n_urls; i++)
		if (strcmp(r->urls[i].host, host) == 0)
			return 1;
	return 0;
}

/* ct_assert_body - the body hash is SHA-256 of the normalised text */
static void
ct_assert_body(const struct proto_content_result *r, const char *norm)
{
	uint8_t want[32];

	ct_sha(norm, strlen(norm), want);
	assert_int_equal(r->text_bytes, strlen(norm));
	assert_true(r->has_body_hash);
	assert_memory_equal(r->body_sha256, want, 32);
}

static const char ct_msg_alt[] =
    "From joe@example.org Tue Jun  4 10:00:00 2024\n"
    "Received: from mx.example.org ([192.0.2.1])\n"
    "\tby mx.example.com; Tue, 4 Jun 2024 10:00:00 +0000\n"
    "Received: from localhost by mx.example.org\n"
    "From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>\n"
    "To: anna@example.com\n"
    "Subject: =?UTF-8?B?w5xiZXJyYXNjaHVuZzo=?= =?UTF-8?Q?_50=E2=82=AC_?=\n"
    " =?utf-8?q?Rabatt?=\n"
    "Message-ID: <abc.123@example.de>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative;\n"
    "\tboundary=\"b1=_x\"\n"
    "\n"
    "This is a multi-part message in MIME format.\n"
    "\n"
    "--b1=_x\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 7bit\n"
    "\n"
    "Hello Anna,   see http://WWW.Example.com./offer?id=1 today.\n"
    "\n"
    "--b1=_x\n"
    "Content-Type: text/html; charset=\"utf-8\"\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "<html><head><style>p {color:red}</style><script>var x=3D\"<b>\";"
    "</script></head><body><p>Hello Anna, see <a href=3D\"http://www.exa=\n"
    "mple.com/offer?id=3D1\">http://www.example.com/offer?id=3D1</a> tod=\n"
    "ay.</p>\n"
    "<img src=3D\"https://cdn.Images.example.net/p.gif\"></body></html>\n"
    "\n"
    "--b1=_x--\n"
    "epilogue text http://epilogue.example.org/ is only scanned\n";

static void
test_multipart_alternative(void **state)
{
	const struct proto_content_result *r;

	(void)state;
	r = ct_run_s(ct_msg_alt);
	assert_string_equal(r->subject, "\xc3\x9c"
	                                "berraschung: 50\xe2\x82\xac Rabatt");
	assert_string_equal(r->from_name, "J\xc3\xb6rg M\xc3\xbcller");
	assert_string_equal(r->from_addr, "joerg@example.de");
	assert_string_equal(r->message_id, "abc.123@example.de");
	assert_int_equal(r->received, 2);
	assert_int_equal(r->flags, 0);
	assert_int_equal(r->parts, 3);
	assert_int_equal(r->text_parts, 2);
	assert_int_equal(r->max_depth, 1);
	assert_int_equal(r->n_attach, 0);
	/* the preamble is not text; the epilogue only gives URLs */
	ct_assert_body(r, "hello anna, see http://www.example.com./offer?id=1 "
	                  "today. hello anna, see "
	                  "http://www.example.com/offer?id=1 today.");
	assert_int_equal(r->n_urls, 3);
	assert_string_equal(r->urls[0].host, "www.example.com");
	assert_int_equal(r->urls[0].is_href, 0);
	assert_string_equal(r->urls[1].host, "cdn.images.example.net");
	assert_int_equal(r->urls[1].is_href, 1);
	assert_string_equal(r->urls[2].host, "epilogue.example.org");
	assert_false(r->fp.is_valid); /* 14 words: too little text */
}

static void
test_encoded_word_subjects(void **state)
{
	static const struct {
		const char *hdr, *want;
	} cases[] = {
	    {"=?iso-8859-1?q?caf=E9_cr=E8me?=", "caf\xc3\xa9 cr\xc3\xa8me"},
	    {"=?windows-1252?Q?=93Special=94_offer_=80100?=",
	        "\xe2\x80\x9cSpecial\xe2\x80\x9d offer \xe2\x82\xac"
	        "100"},
	    {"=?UTF-8?B?8J+SsCBNb25leQ==?=", "\xf0\x9f\x92\xb0 Money"},
	    {"=?utf-8*en?q?lang_tag?=", "lang tag"},
	    {"a =?us-ascii?q?b?= c", "a b c"},
	    {"=?utf-8?q?no?=  =?utf-8?q?gap?=", "nogap"},
	    {"=?bogus?x?not?= word", "=?bogus?x?not?= word"},
	    {"=?utf-8?b?invalid base64?=", "=?utf-8?b?invalid base64?="},
	    {"=?utf-8?q?bad=FFutf8?=", "bad\xef\xbf\xbdutf8"},
	    {"=?koi8-r?B?7sXU?=", "\xc3\xae\xc3\x85\xc3\x94"}, /* auto */
	    {"Raw 8-bit \xc3\xa9t\xc3\xa9", "Raw 8-bit \xc3\xa9t\xc3\xa9"},
	    {"Latin-1 raw \xe9t\xe9", "Latin-1 raw \xc3\xa9t\xc3\xa9"},
	    {"tab\tand\x01"
	     "ctl",
	        "tab and ctl"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ct_buf b = {NULL, 0, 0};
		const struct proto_content_result *r;

		ct_addf(&b, "Subject: %s\r\nFrom: x@y.example\r\n\r\nbody\r\n",
		    cases[i].hdr);
		r = ct_run(b.p, b.n);
		assert_string_equal(r->subject, cases[i].want);
		free(b.p);
	}
}

static void
test_from_forms(void **state)
{
	static const struct {
		const char *hdr, *name, *addr;
	} cases[] = {
	    {"\"Smith, John \\\"JJ\\\"\" <john@example.com>",
	        "Smith, John \"JJ\"", "john@example.com"},
	    {"john@example.com (John Smith)", "John Smith", "john@example.com"},
	    {"<bare@example.com>", "", "bare@example.com"},
	    {"plain@example.com", "", "plain@example.com"},
	    {"=?utf-8?B?5byg5LiJ?= <zhang@example.cn>",
	        "\xe5\xbc\xa0\xe4\xb8\x89", "zhang@example.cn"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ct_buf b = {NULL, 0, 0};
		const struct proto_content_result *r;

		ct_addf(&b, "From: %s\r\n\r\nbody\r\n", cases[i].hdr);
		r = ct_run(b.p, b.n);
		assert_string_equal(r->from_name, cases[i].name);
		assert_string_equal(r->from_addr, cases[i].addr);
		free(b.p);
	}
}

/* the same text as 8bit plain, QP with soft breaks and base64 HTML */
static const char ct_text_plain[] =
    "Dear Customer,\n"
    "Your account at Example Bank has been LIMITED because we noticed\n"
    "unusual activity. Please confirm your identity within 48 hours at\n"
    "http://secure-login.example.net/verify?id=77 or your card will be\n"
    "suspended. Thank you for banking with us. \xc2\xa9 Example Bank\n";

static const char ct_text_norm[] =
    "dear customer, your account at example bank has been limited because "
    "we noticed unusual activity. please confirm your identity within 48 "
    "hours at http://secure-login.example.net/verify?id=77 or your card "
    "will be suspended. thank you for banking with us. \xc2\xa9 example "
    "bank";

static void
test_same_text_any_encoding(void **state)
{
	struct proto_content_result plain, qp;
	const struct proto_content_result *r;
	struct ct_buf b = {NULL, 0, 0}, html = {NULL, 0, 0};

	(void)state;
	ct_adds(&b, "Subject: notice\nContent-Type: text/plain; charset=utf-8\n"
	            "Content-Transfer-Encoding: 8bit\n\n");
	ct_adds(&b, ct_text_plain);
	r = ct_run_s(b.p);
	plain = *r;
	ct_assert_body(r, ct_text_norm);
	assert_true(r->fp.is_valid);
	assert_int_equal(r->n_urls, 1);
	assert_string_equal(r->urls[0].host, "secure-login.example.net");
	free(b.p);

	/* QP: soft breaks inside words and URLs, =XX, trailing blanks */
	r = ct_run_s("Subject: notice\n"
	             "Content-Type: text/plain; charset=utf-8\n"
	             "Content-Transfer-Encoding: Quoted-Printable\n\n"
	             "Dear Customer,   \n"
	             "Your account at Example Bank has been LIMI=\n"
	             "TED because we noticed\n"
	             "unusual activity. Please confirm your identity within 48 "
	             "hours at=\n\nhttp://secure-lo=\n"
	             "gin.example.net/verify?id=3D77 or your card will be\n"
	             "suspended. Thank you for banking with us. =C2=A9 Example "
	             "Bank=20\n");
	qp = *r;
	assert_memory_equal(qp.body_sha256, plain.body_sha256, 32);
	assert_memory_equal(qp.fp.keys, plain.fp.keys, sizeof(qp.fp.keys));
	assert_int_equal(qp.n_urls, 1);
	assert_string_equal(qp.urls[0].host, "secure-login.example.net");

	/* base64 HTML, ISO-8859-1, entities, tags inside words */
	ct_adds(&html, "<html><body><p>Dear Customer,</p><p>Your account at "
	               "Example Bank has been <b>LIM</b><i>ITED</i> because "
	               "we&nbsp;noticed unusual activity.<br>Please confirm "
	               "your identity within 48 hours at <a href=\"http://"
	               "secure-login.example.net/verify?id=77\">http://"
	               "secure-login.example.net/verify?id=77</a> or your "
	               "card will be suspended.<!-- hidden words --> Thank you "
	               "for banking with us. &copy; Example Bank</p></body>"
	               "</html>");
	b.n = 0;
	b.p = NULL;
	b.cap = 0;
	ct_adds(&b, "Subject: notice\r\nContent-Type: text/html; "
	            "charset=iso-8859-1\r\nContent-Transfer-Encoding: "
	            "base64\r\n\r\n");
	ct_b64(&b, html.p, html.n);
	r = ct_run(b.p, b.n);
	assert_memory_equal(r->body_sha256, plain.body_sha256, 32);
	assert_memory_equal(r->fp.keys, plain.fp.keys, sizeof(plain.fp.keys));
	assert_int_equal(r->flags, PROTO_CF_HTML_ONLY);
	assert_int_equal(r->n_urls, 1);
	assert_int_equal(r->urls[0].is_href, 1);
	free(b.p);
	free(html.p);
}

/* minimal zip local file header + data for one entry */
static void
ct_zip_entry(struct ct_buf *z, const char *name, const char *data, int flags)
{
	uint8_t h[30] = {'P', 'K', 3, 4, 20, 0};
	size_t nl = strlen(name), dl = strlen(data);

	h[6] = (uint8_t)flags;
	h[18] = h[22] = (uint8_t)dl;
	h[26] = (uint8_t)nl;
	ct_add(z, h, sizeof(h));
	ct_add(z, name, nl);
	ct_add(z, data, dl);
}

/* ct_attach_part - a base64 attachment part */
static void
ct_attach_part(struct ct_buf *m, const char *ctype, const char *disp,
    const void *data, size_t n)
{
	ct_addf(m,
	    "--mix\r\nContent-Type: %s\r\n%s%s"
	    "Content-Transfer-Encoding: base64\r\n\r\n",
	    ctype, disp ? disp : "", disp ? "\r\n" : "");
	ct_b64(m, data, n);
}

/* ct_find_attach - attachment entry by name */
static const struct proto_attach *
ct_find_attach(const struct proto_content_result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_attach; i++)
		if (strcmp(r->attach[i].name, name) == 0)
			return &r->attach[i];
	fail_msg("no attachment %s", name);
	return NULL;
}

/* a name past PROTO_ATTACH_NAME_MAX keeps its head and its extension */
static void
test_long_attachment_names_keep_their_extension(void **state)
{
	struct ct_buf m = {NULL, 0, 0}, hdr = {NULL, 0, 0};
	const struct proto_content_result *r;
	const struct proto_attach *a;
	size_t i, k;

	(void)state;
	ct_adds(&m, "From: a@b.example\r\nSubject: long names\r\n"
	            "MIME-Version: 1.0\r\n"
	            "Content-Type: multipart/mixed; boundary=mix\r\n\r\n"
	            "--mix\r\nContent-Type: text/plain\r\n\r\nhi\r\n");
	/* RFC 2231: 90 CJK characters (270 bytes) and ".js" */
	ct_adds(&hdr, "Content-Disposition: attachment; filename*=utf-8''");
	for (i = 0; i < 90; i++)
		ct_adds(&hdr, "%E8%AB%8B");
	ct_adds(&hdr, ".js");
	ct_add(&hdr, "", 1);
	ct_attach_part(&m, "application/octet-stream", hdr.p, "var x=1;", 8);
	/* quoted: 400 'a' and ".exe" */
	hdr.n = 0;
	ct_adds(&hdr, "Content-Disposition: attachment; filename=\"");
	for (i = 0; i < 400; i++)
		ct_adds(&hdr, "a");
	ct_adds(&hdr, ".exe\"");
	ct_add(&hdr, "", 1);
	ct_attach_part(&m, "application/pdf", hdr.p, "%PDF-1.4", 8);
	/* 3000 bytes: longer than the raw assembly buffer too, then ".scr" */
	hdr.n = 0;
	ct_adds(&hdr, "Content-Disposition: attachment; filename=\"report");
	for (i = 0; i < 3000; i++)
		ct_adds(&hdr, "b");
	ct_adds(&hdr, ".scr\"");
	ct_add(&hdr, "", 1);
	ct_attach_part(&m, "application/pdf", hdr.p, "%PDF-1.4", 8);
	ct_adds(&m, "--mix--\r\n");

	r = ct_run(m.p, m.n);
	assert_int_equal(r->n_attach, 3);
	for (i = 0; i < 3; i++) {
		a = &r->attach[i];
		k = strlen(a->name);
		assert_true(k <= PROTO_ATTACH_NAME_MAX);
		assert_true(a->flags & PROTO_AF_NAME_CUT);
		/* never a broken UTF-8 sequence at the seam or the end */
		assert_false(((uint8_t)a->name[k - 1] & 0xc0) == 0xc0);
	}
	assert_string_equal(r->attach[0].name + strlen(r->attach[0].name) - 6,
	    "\xe8\xab\x8b.js");
	assert_int_equal(r->attach[0].name_type, PROTO_AT_SCRIPT);
	assert_true(r->attach[0].flags & PROTO_AF_SCRIPT);
	assert_memory_equal(r->attach[1].name, "aaaa", 4);
	assert_string_equal(
	    r->attach[1].name + strlen(r->attach[1].name) - 4, ".exe");
	assert_int_equal(r->attach[1].name_type, PROTO_AT_EXE);
	assert_true(r->attach[1].flags & PROTO_AF_MISMATCH);
	assert_memory_equal(r->attach[2].name, "report", 6);
	assert_string_equal(
	    r->attach[2].name + strlen(r->attach[2].name) - 4, ".scr");
	assert_int_equal(r->attach[2].name_type, PROTO_AT_EXE);
	free(m.p);
	free(hdr.p);
}

static void
test_attachments_types_and_hashes(void **state)
{
	struct ct_buf m = {NULL, 0, 0}, zip = {NULL, 0, 0}, docm = {NULL, 0, 0};
	struct ct_buf iso = {NULL, 0, 0};
	uint8_t pe[512], ole[1024], sha[32];
	const struct proto_content_result *r;
	const struct proto_attach *a;
	static const uint8_t vba16[] = {'_', 0, 'V', 0, 'B', 0, 'A', 0, '_', 0,
	    'P', 0, 'R', 0, 'O', 0, 'J', 0, 'E', 0, 'C', 0, 'T', 0};

	(void)state;
	memset(pe, 0, sizeof(pe));
	memcpy(pe, "MZ\x90\0", 4);
	pe[0x3c] = 0x80;
	memcpy(pe + 0x80, "PE\0\0", 4);
	memset(ole, 0, sizeof(ole));
	memcpy(ole, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
	memcpy(ole + 700, vba16, sizeof(vba16));
	ct_zip_entry(&zip, "readme.txt", "hello", 0);
	ct_zip_entry(&zip, "setup/Invoice.EXE", "MZxx", 1);
	ct_zip_entry(&docm, "[Content_Types].xml", "<Types/>", 0);
	ct_zip_entry(&docm, "word/document.xml", "<w:document/>", 0);
	ct_zip_entry(&docm, "word/vbaProject.bin", "\xd0\xcf\x11\xe0", 0);
	iso.n = 0;
	ct_add(&iso, "", 0);
	while (iso.n < 0x8001)
		ct_add(&iso, "\0\0\0\0\0\0\0\0", iso.n + 8 <= 0x8001 ? 8 : 1);
	ct_add(&iso, "CD001\x01", 6);
	while (iso.n < 36 * 1024)
		ct_add(&iso, "\0", 1);

	ct_adds(&m,
	    "From: a@b.example\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=mix\r\n\r\n"
	    "--mix\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n");
	ct_attach_part(
	    &m, "application/zip; name=\"files.zip\"", NULL, zip.p, zip.n);
	ct_attach_part(&m, "application/octet-stream",
	    "Content-Disposition: attachment; filename=\"invoice.pdf.exe\"", pe,
	    sizeof(pe));
	ct_attach_part(&m, "application/pdf",
	    "Content-Disposition: attachment; filename=report.pdf", pe,
	    sizeof(pe));
	ct_attach_part(&m,
	    "application/vnd.openxmlformats-officedocument.wordprocessingml."
	    "document",
	    "Content-Disposition: attachment;\r\n "
	    "filename*0*=UTF-8''Rechnung%20"
	    "M%C3%A4rz;\r\n filename*1=\".docx\"",
	    docm.p, docm.n);
	ct_attach_part(&m,
	    "application/msword; name=\"=?utf-8?q?old=5Fmacro?="
	    ".doc\"",
	    NULL, ole, sizeof(ole));
	ct_attach_part(&m, "application/octet-stream",
	    "Content-Disposition: attachment; "
	    "filename*=iso-8859-1'en'disk%E9.iso",
	    iso.p, iso.n);
	ct_attach_part(&m, "text/javascript",
	    "Content-Disposition: attachment; filename=\"run.js\"",
	    "var u='http://dropper.example.ru/x';", 36);
	ct_adds(&m, "--mix--\r\n");

	r = ct_run(m.p, m.n);
	assert_int_equal(r->n_attach, 7);
	assert_int_equal(r->attach_total, 7);
	assert_int_equal(r->parts, 9);

	a = ct_find_attach(r, "files.zip");
	assert_int_equal(a->type, PROTO_AT_ZIP);
	assert_int_equal(a->name_type, PROTO_AT_ZIP);
	assert_int_equal(a->flags,
	    PROTO_AF_ARCHIVE | PROTO_AF_ARCH_EXEC | PROTO_AF_ENCRYPTED);
	assert_int_equal(a->size, zip.n);
	ct_sha(zip.p, zip.n, sha);
	assert_memory_equal(a->sha256, sha, 32);
	assert_int_equal(a->index, 0);

	a = ct_find_attach(r, "invoice.pdf.exe");
	assert_int_equal(a->type, PROTO_AT_PE);
	assert_int_equal(a->name_type, PROTO_AT_EXE);
	assert_int_equal(
	    a->flags, PROTO_AF_EXEC | PROTO_AF_DOUBLE_EXT | PROTO_AF_MISMATCH);
	ct_sha(pe, sizeof(pe), sha);
	assert_memory_equal(a->sha256, sha, 32);

	a = ct_find_attach(r, "report.pdf");
	assert_int_equal(a->type, PROTO_AT_PE);
	assert_int_equal(a->name_type, PROTO_AT_PDF);
	assert_int_equal(a->flags, PROTO_AF_EXEC | PROTO_AF_MISMATCH);

	a = ct_find_attach(r, "Rechnung M\xc3\xa4rz.docx");
	assert_int_equal(a->type, PROTO_AT_OOXML);
	assert_int_equal(a->name_type, PROTO_AT_OOXML);
	assert_int_equal(a->flags, PROTO_AF_MACRO);
	ct_sha(docm.p, docm.n, sha);
	assert_memory_equal(a->sha256, sha, 32);

	a = ct_find_attach(r, "old_macro.doc");
	assert_int_equal(a->type, PROTO_AT_OLE2);
	assert_int_equal(a->flags, PROTO_AF_MACRO);

	a = ct_find_attach(r, "disk\xc3\xa9.iso");
	assert_int_equal(a->type, PROTO_AT_ISO);
	assert_int_equal(a->flags, PROTO_AF_ARCHIVE);
	assert_int_equal(a->size, 36 * 1024);
	ct_sha(iso.p, iso.n, sha);
	assert_memory_equal(a->sha256, sha, 32);

	a = ct_find_attach(r, "run.js");
	assert_int_equal(a->type, PROTO_AT_NONE);
	assert_int_equal(a->name_type, PROTO_AT_SCRIPT);
	assert_int_equal(a->flags, PROTO_AF_SCRIPT);
	/* text attachments are scanned for URLs */
	assert_true(ct_has_url(r, "dropper.example.ru"));

	assert_int_equal(r->flags,
	    PROTO_CF_HAS_EXEC | PROTO_CF_HAS_SCRIPT | PROTO_CF_HAS_MACRO |
	        PROTO_CF_HAS_ARCHIVE | PROTO_CF_NAME_MISMATCH);
	ct_assert_body(r, "see attached.");
	free(m.p);
	free(zip.p);
	free(docm.p);
	free(iso.p);
}

static const char ct_msg_nested[] =
    "From: forwarder@example.com\n"
    "Subject: Fwd: invoice\n"
    "Message-ID: <outer@example.com>\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "--outer\n"
    "Content-Type: text/plain\n"
    "\n"
    "Look at this one, is it real?\n"
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "Content-Disposition: inline\n"
    "\n"
    "From: billing@phish.example\n"
    "Subject: inner subject must not win\n"
    "Message-ID: <inner@phish.example>\n"
    "Content-Type: multipart/mixed; boundary=\"inner\"\n"
    "\n"
    "--inner\n"
    "Content-Type: multipart/alternative; boundary=\"alt\"\n"
    "\n"
    "--alt\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "Pay now at http://pay.phish.example/i\n"
    "--alt\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>Pay now at <a href='https://xn--pypal-4ve.example/'>PayPal</a></p>\n"
    "--alt--\n"
    "--inner\n"
    "Content-Type: application/pdf; name=\"inv.pdf\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "JVBERi0xLjQKJeLjz9MK\n"
    "--inner--\n"
    "\n"
    "--outer--\n";

static void
test_nested_forwarded_message(void **state)
{
	const struct proto_content_result *r;
	const struct proto_attach *a;
	uint8_t sha[32];

	(void)state;
	r = ct_run_s(ct_msg_nested);
	assert_string_equal(r->subject, "Fwd: invoice");
	assert_string_equal(r->message_id, "outer@example.com");
	assert_int_equal(r->flags, 0);
	/* message, text, rfc822, inner message, alt, 2 texts, pdf */
	assert_int_equal(r->parts, 8);
	assert_int_equal(r->max_depth, 4);
	assert_int_equal(r->text_parts, 3);
	assert_int_equal(r->n_urls, 2);
	assert_string_equal(r->urls[0].host, "pay.phish.example");
	assert_string_equal(r->urls[1].host, "xn--pypal-4ve.example");
	assert_int_equal(r->n_attach, 1);
	a = &r->attach[0];
	assert_string_equal(a->name, "inv.pdf");
	assert_int_equal(a->type, PROTO_AT_PDF);
	assert_int_equal(a->flags, 0);
	ct_sha("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 15, sha);
	assert_memory_equal(a->sha256, sha, 32);
	ct_assert_body(r, "look at this one, is it real? pay now at "
	                  "http://pay.phish.example/i pay now at paypal");
}

static void
test_missing_final_boundary(void **state)
{
	const struct proto_content_result *r;

	(void)state;
	r = ct_run_s("Subject: cut\n"
	             "Content-Type: multipart/mixed; boundary=\"zz\"\n\n"
	             "--zz\nContent-Type: text/plain\n\nfirst part\n"
	             "--zz\nContent-Type: text/html\n\n"
	             "<a href=\"http://last.example.com/\">last part</a>\n");
	assert_int_equal(r->flags, PROTO_CF_MIME_BROKEN | PROTO_CF_UNCLOSED);
	assert_int_equal(r->parts, 3);
	assert_true(ct_has_url(r, "last.example.com"));
	ct_assert_body(r, "first part last part");
}

static void
test_boundary_never_seen(void **state)
{
	const struct proto_content_result *r;

	(void)state;
	r = ct_run_s(
	    "Subject: broken\n"
	    "Content-Type: multipart/alternative; boundary=\"declared\"\n"
	    "\n"
	    "--used-instead\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "Visit www.hidden-offer.example for the deal\n"
	    "--used-instead--\n");
	assert_int_equal(r->flags, PROTO_CF_MIME_BROKEN | PROTO_CF_UNCLOSED |
	                               PROTO_CF_BOUNDARY_UNSEEN);
	assert_int_equal(r->parts, 1);
	assert_true(ct_has_url(r, "www.hidden-offer.example"));
	/* what a reader would see is analysed: the preamble is kept */
	ct_assert_body(r, "--used-instead content-type: text/plain visit "
	                  "www.hidden-offer.example for the deal "
	                  "--used-instead--");

	/* no boundary parameter at all: read as text */
	r = ct_run_s("Content-Type: multipart/mixed\n\nplain words here\n");
	assert_int_equal(
	    r->flags, PROTO_CF_MIME_BROKEN | PROTO_CF_BAD_BOUNDARY);
	ct_assert_body(r, "plain words here");

	/* an inner multipart cut by the outer boundary keeps its preamble */
	r = ct_run_s("Content-Type: multipart/mixed; boundary=o\n\n"
	             "--o\nContent-Type: multipart/related; boundary=i\n\n"
	             "inner preamble only\n--o\nContent-Type: text/plain\n\n"
	             "second\n--o--\n");
	assert_int_equal(r->flags, PROTO_CF_MIME_BROKEN | PROTO_CF_UNCLOSED |
	                               PROTO_CF_BOUNDARY_UNSEEN);
	ct_assert_body(r, "inner preamble only second");
}

static void
test_bad_base64(void **state)
{
	const struct proto_content_result *r;
	uint8_t sha[32];

	(void)state;
	/* "hello world!" with junk, a stray char and a line of garbage */
	r = ct_run_s("Content-Type: multipart/mixed; boundary=b\n\n"
	             "--b\nContent-Type: application/octet-stream; name=x.bin\n"
	             "Content-Transfer-Encoding: base64\n\n"
	             "aGVs!!bG8g\nd29y*bGQh\n%%%%\nQ\n--b--\n");
	assert_int_equal(r->flags, PROTO_CF_BAD_B64);
	assert_int_equal(r->attach[0].size, 12);
	ct_sha("hello world!", 12, sha);
	assert_memory_equal(r->attach[0].sha256, sha, 32);

	/* padding in the middle: decoding goes on after it */
	r = ct_run_s("Content-Type: text/plain\nContent-Transfer-Encoding: "
	             "base64\n\naGk=\nIHRoZXJl\n");
	assert_int_equal(r->flags, 0);
	ct_assert_body(r, "hi there");
}

static void
test_huge_header_line(void **state)
{
	struct ct_buf m = {NULL, 0, 0};
	const struct proto_content_result *r;
	size_t i;

	(void)state;
	ct_adds(&m, "Received: x\r\nX-Junk: ");
	for (i = 0; i < 1024 * 1024 / 64; i++)
		ct_adds(&m, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwx"
		            "yz0123456789ab");
	ct_adds(&m, "\r\nSubject: ");
	for (i = 0; i < 1024 * 1024 / 2; i++)
		ct_adds(&m, "\xc3\xa9"); /* 1 MB of 'é' */
	ct_adds(&m, "\r\nContent-Type: text/plain\r\n\r\n"
	            "after the huge headers: http://still-found.example/\r\n");
	r = ct_run(m.p, m.n);
	assert_int_equal(r->flags, PROTO_CF_HDR_TRUNCATED);
	assert_int_equal(r->subject_len, 254); /* 127 'é', cut on a char */
	assert_int_equal((uint8_t)r->subject[252], 0xc3);
	assert_int_equal(r->received, 1);
	assert_true(ct_has_url(r, "still-found.example"));
	free(m.p);
}

static void
test_ten_thousand_parts(void **state)
{
	struct ct_buf m = {NULL, 0, 0};
	const struct proto_content_result *r;
	size_t i;

	(void)state;
	ct_adds(&m, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (i = 0; i < 10000; i++)
		ct_addf(&m,
		    "--p\r\nContent-Type: application/octet-stream; "
		    "name=f%zu.bin\r\n\r\ndata %zu\r\n",
		    i, i);
	ct_adds(&m, "--p--\r\n");
	r = ct_run(m.p, m.n);
	assert_int_equal(
	    r->flags, PROTO_CF_TOO_MANY_PARTS | PROTO_CF_ATTACH_TRUNCATED);
	assert_int_equal(r->parts, 10001);
	assert_int_equal(r->attach_total, PROTO_MIME_PARTS_MAX - 1);
	assert_int_equal(r->n_attach, PROTO_EV_ATTACH_MAX);
	assert_string_equal(r->attach[15].name, "f15.bin");
	free(m.p);
}

static void
test_nesting_depth_100(void **state)
{
	struct ct_buf m = {NULL, 0, 0};
	const struct proto_content_result *r;
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		ct_addf(&m,
		    "Content-Type: multipart/mixed; boundary=d%d\r\n\r\n"
		    "--d%d\r\n",
		    i, i);
	ct_adds(&m, "Content-Type: text/plain\r\n\r\ndeep text "
	            "http://deep.example/\r\n");
	for (i = 99; i >= 0; i--)
		ct_addf(&m, "--d%d--\r\n", i);
	ct_adds(&m, "\r\n");
	r = ct_run(m.p, m.n);
	assert_int_equal(r->flags, PROTO_CF_TOO_DEEP);
	assert_int_equal(r->max_depth, PROTO_MIME_DEPTH_MAX);
	assert_int_equal(r->parts, PROTO_MIME_DEPTH_MAX + 1);
	assert_int_equal(r->n_urls, 0); /* below the limit: not analysed */
	assert_false(r->has_body_hash);

	/* forwarded messages nest too */
	m.n = 0;
	for (i = 0; i < 40; i++)
		ct_adds(&m, "Content-Type: message/rfc822\r\n\r\n");
	ct_adds(&m, "Subject: inner\r\n\r\ntext\r\n");
	r = ct_run(m.p, m.n);
	assert_int_equal(r->flags, PROTO_CF_TOO_DEEP);
	assert_int_equal(r->parts, PROTO_MIME_DEPTH_MAX + 1);
	free(m.p);
}

static void
test_20mb_line_bounded_state(void **state)
{
	struct ct_buf hdr = {NULL, 0, 0};
	struct proto_content *c;
	const struct proto_content_result *r;
	char *chunk;
	size_t i, peak = 0, sent = 0;

	(void)state;
	/* 2 MB of headers, one of them folded over 1 MB */
	for (i = 0; i < 20000; i++)
		ct_addf(&hdr, "X-Filler-%zu: %0*d\r\n", i, 60, 0);
	ct_adds(&hdr, "Content-Type: text/plain;");
	for (i = 0; i < 16384; i++)
		ct_adds(&hdr, "\r\n\tx-param="
		              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	ct_adds(&hdr, "\r\n\r\n");
	chunk = malloc(65536);
	assert_non_null(chunk);
	/* words of letters only, varied enough to shingle, space last */
	for (i = 0; i < 65536; i++) {
		size_t w = i / 6;

		chunk[i] =
		    i % 6 == 5
		        ? ' '
		        : (char)('a' + (w * 7 + (i % 6) * (w % 5 + 1)) % 26);
	}
	chunk[65535] = ' ';
	assert_int_equal(proto_content_new(NULL, NULL, &c), 0);
	assert_int_equal(proto_content_feed(c, hdr.p, hdr.n), 0);
	/* a 20 MB body line with no line end */
	while (sent < 20 * 1024 * 1024) {
		assert_int_equal(proto_content_feed(c, chunk, 65536), 0);
		sent += 65536;
		if (proto_content_mem(c) > peak)
			peak = proto_content_mem(c);
	}
	assert_int_equal(proto_content_finish(c), 0);
	r = proto_content_result(c);
	printf("20 MB line + %zu bytes of headers: state %zu bytes "
	       "(bound %d)\n",
	    hdr.n, peak, PROTO_CONTENT_MEM_MAX);
	assert_true(peak <= PROTO_CONTENT_MEM_MAX);
	assert_int_equal(r->flags, PROTO_CF_HDR_TRUNCATED);
	assert_int_equal(r->text_bytes, 20 * 1024 * 1024 - 1);
	assert_true(r->fp.is_valid);
	proto_content_free(c);
	free(chunk);
	free(hdr.p);
}

static void
test_header_oddities(void **state)
{
	const struct proto_content_result *r;

	(void)state;
	/* a line without a colon ends the headers and is body */
	r = ct_run_s(
	    "Subject: ok\nthis is not a header\nContent-Type: text/html"
	    "\n\n<b>x</b>\n");
	assert_int_equal(r->flags, PROTO_CF_MIME_BROKEN | PROTO_CF_HDR_BROKEN);
	ct_assert_body(
	    r, "this is not a header content-type: text/html <b>x</b>");

	/* obsolete "Name :" syntax, duplicate Content-Type (first wins),
	 * a header cut by the end of input */
	r = ct_run_s("Subject : spaced\nContent-Type: text/plain\n"
	             "Content-Type: text/html\n\n<i>kept</i> as text\n");
	assert_string_equal(r->subject, "spaced");
	assert_int_equal(r->flags, 0);
	ct_assert_body(r, "<i>kept</i> as text");

	r = ct_run_s("Subject: no body at all");
	assert_string_equal(r->subject, "no body at all");
	assert_false(r->has_body_hash);
	assert_int_equal(r->flags, 0);

	r = ct_run_s("");
	assert_int_equal(r->parts, 1);
	assert_false(r->has_body_hash);

	/* a bare CR is content, CR LF cut between chunks is a line end */
	r = ct_run("Subject: a\rb\r\n\r\nline\rone\r\n", 26);
	assert_string_equal(r->subject, "a b");
	ct_assert_body(r, "line one");
}

static void
test_reset_reuses_the_analyser(void **state)
{
	struct proto_content *c;
	struct proto_content_result first;
	struct ct_buf a = ct_crlf(ct_msg_alt), n = ct_crlf(ct_msg_nested);

	(void)state;
	assert_int_equal(proto_content_new(NULL, NULL, &c), 0);
	assert_int_equal(proto_content_feed(c, n.p, n.n), 0);
	assert_int_equal(proto_content_finish(c), 0);
	assert_int_equal(proto_content_reset(c), 0);
	assert_int_equal(proto_content_feed(c, a.p, a.n), 0);
	assert_int_equal(proto_content_finish(c), 0);
	first = *proto_content_result(c);
	assert_int_equal(proto_content_analyze(a.p, a.n, &ct_alt), 0);
	assert_memory_equal(&first, &ct_alt, sizeof(first));
	/* a reset in the middle of a message forgets it */
	assert_int_equal(proto_content_reset(c), 0);
	assert_int_equal(proto_content_feed(c, n.p, n.n / 2), 0);
	assert_int_equal(proto_content_reset(c), 0);
	assert_int_equal(proto_content_feed(c, a.p, a.n), 0);
	assert_int_equal(proto_content_finish(c), 0);
	assert_memory_equal(proto_content_result(c), &ct_alt, sizeof(ct_alt));
	proto_content_free(c);
	proto_content_free(NULL);
	free(a.p);
	free(n.p);
}

static const char ct_fox[] = "\r\nThe quick brown fox jumps over the lazy "
                             "dog near the river bank while birds sing in the "
                             "tall old trees.\r\n";

static void
test_fingerprint_personalisation(void **state)
{
	static const char *const names[] = {"Alice", "Bob"};
	struct proto_content_result r[3];
	struct ct_buf m;
	uint8_t key[PROTO_HASH_KEY_LEN], sig[PROTO_FP_SIG_LEN];
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		m.p = NULL;
		m.n = m.cap = 0;
		ct_addf(&m,
		    "Subject: hi\r\n\r\nHello %s, your order #%d of "
		    "$%d.99 placed on %d/0%d/2024 is ready. Track it at "
		    "http://t%d.example.com/x/%08x?u=%d or write to "
		    "%s%d@example.org. We thank you for choosing our "
		    "store and hope to see you again very soon with "
		    "more great deals on shoes, bags and watches.\r\n",
		    names[i], 1000 + i * 77, 10 + i, 3 + i, 5 + i, i,
		    0xbeef + i, i, names[i], i);
		assert_int_equal(proto_content_analyze(m.p, m.n, &r[i]), 0);
		free(m.p);
	}
	assert_int_equal(
	    proto_content_analyze(ct_fox, strlen(ct_fox), &r[2]), 0);
	assert_true(r[0].fp.is_valid && r[1].fp.is_valid && r[2].fp.is_valid);
	assert_true(proto_fp_similarity(&r[0].fp, &r[1].fp) >= 100);
	assert_true(proto_fp_match(&r[0].fp, &r[1].fp));
	assert_false(proto_fp_band_hit(&r[0].fp, &r[2].fp));
	assert_false(proto_fp_match(&r[0].fp, &r[2].fp));
	assert_true(proto_fp_similarity(&r[0].fp, &r[2].fp) < 16);
	proto_fp_sig8(&r[0].fp, sig);
	assert_int_equal(proto_fp_similarity8(&r[1].fp, sig, sizeof(sig)),
	    proto_fp_similarity(&r[0].fp, &r[1].fp));
	assert_int_equal(proto_fp_similarity8(&r[1].fp, sig, 10), 0);
	for (i = 0; i < PROTO_FP_BANDS; i++) {
		assert_int_equal(r[0].fp.keys[i][0], PROTO_FP_VERSION);
		assert_int_equal(r[0].fp.keys[i][1], i);
	}
	/* the body hash is exact: personalisation changes it */
	assert_memory_not_equal(r[0].body_sha256, r[1].body_sha256, 32);
	proto_content_hash_key(PROTO_HASH_BODY, r[0].body_sha256, key);
	assert_int_equal(key[0], PROTO_HASH_BODY);
	assert_memory_equal(key + 1, r[0].body_sha256, 32);
	/* too little text: no fingerprint */
	assert_int_equal(
	    proto_content_analyze("\r\nshort one\r\n", 13, &r[2]), 0);
	assert_false(r[2].fp.is_valid);
	assert_int_equal(proto_fp_similarity(&r[2].fp, &r[2].fp), 0);
	assert_false(proto_fp_match(&r[2].fp, &r[2].fp));
}

static void
test_html_only_urls_and_limits(void **state)
{
	struct ct_buf m = {NULL, 0, 0};
	const struct proto_content_result *r;
	int i;

	(void)state;
	ct_adds(&m,
	    "Content-Type: text/html\r\n\r\n"
	    "<a href=\"HTTP://User:pw@[2001:DB8::1]:8080/x\">a</a>"
	    "<a href='//192.168.001.001/'>b</a>"
	    "<a href=http://0x7f.1/>c</a>"
	    "<a href=\"http://www.paypal.com@evil.example/\">d</a>"
	    "<a href=\"http&#58;//ent.example/\">e</a>"
	    "<a href=\"javascript:alert(1)\">f</a>"
	    "<a href=\"mailto:x@mail.example\">g</a>"
	    "<a href=\"/relative\">h</a>"
	    "<a href=\"https://b\xc3\xbc"
	    "cher.example./\">i</a>"
	    "<a href=\"http://%77%77%77.pct.example\">j</a>"
	    "<meta http-equiv=refresh content=\"0; url=http://meta.example/\">"
	    "<img src=\"https://3627734628/p.gif\">");
	for (i = 0; i < 70; i++)
		ct_addf(&m, " http://h%d.example/ ", i % 66);
	ct_adds(&m, "\r\n");
	r = ct_run(m.p, m.n);
	assert_string_equal(r->urls[0].host, "2001:db8::1");
	assert_int_equal(r->urls[0].ip, 6);
	assert_string_equal(r->urls[1].host, "192.168.1.1");
	assert_int_equal(r->urls[1].ip, 4);
	assert_string_equal(r->urls[2].host, "127.0.0.1");
	assert_string_equal(r->urls[3].host, "evil.example");
	assert_string_equal(r->urls[4].host, "ent.example");
	assert_string_equal(r->urls[5].host, "xn--bcher-kva.example");
	assert_string_equal(r->urls[6].host, "www.pct.example");
	assert_string_equal(r->urls[7].host, "meta.example");
	assert_string_equal(r->urls[8].host, "216.58.214.100");
	assert_int_equal(r->n_urls, PROTO_EV_URLS_MAX);
	assert_int_equal(r->urls_dropped, 11); /* h55..h65 */
	assert_int_equal(
	    r->flags, PROTO_CF_HTML_ONLY | PROTO_CF_URLS_TRUNCATED);
	free(m.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_multipart_alternative),
	    cmocka_unit_test(test_encoded_word_subjects),
	    cmocka_unit_test(test_from_forms),
	    cmocka_unit_test(test_same_text_any_encoding),
	    cmocka_unit_test(test_attachments_types_and_hashes),
	    cmocka_unit_test(test_long_attachment_names_keep_their_extension),
	    cmocka_unit_test(test_nested_forwarded_message),
	    cmocka_unit_test(test_missing_final_boundary),
	    cmocka_unit_test(test_boundary_never_seen),
	    cmocka_unit_test(test_bad_base64),
	    cmocka_unit_test(test_huge_header_line),
	    cmocka_unit_test(test_ten_thousand_parts),
	    cmocka_unit_test(test_nesting_depth_100),
	    cmocka_unit_test(test_20mb_line_bounded_state),
	    cmocka_unit_test(test_header_oddities),
	    cmocka_unit_test(test_reset_reuses_the_analyser),
	    cmocka_unit_test(test_fingerprint_personalisation),
	    cmocka_unit_test(test_html_only_urls_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
