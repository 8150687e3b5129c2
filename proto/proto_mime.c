/*
 * proto_mime.c - header blocks and the MIME tree, streaming
 *
 * Cuts the message into lines (CRLF or LF; a bare CR is content), runs
 * each header block through a line machine (unfolding, the headers that
 * matter kept up to PROTO_CONTENT_HDR_MAX bytes: Content-Type,
 * -Transfer-Encoding and -Disposition with their parameters, RFC 2231
 * continuations and charsets included; at the top level Subject, From,
 * Message-ID and a count of Received), and each body through a line
 * machine that looks for the delimiters of every open multipart. Only the
 * start of a line that begins with '-' is held (PROTO_MIME_LOOK_MAX
 * bytes), to compare it with the boundaries; everything else streams to
 * the current leaf (proto_content.c). The line end before a delimiter
 * belongs to the delimiter (RFC 2046 5.1.1), so a line end is passed on
 * only when the next line proves not to be one.
 * Broken structure is handled, flagged and never fatal: a delimiter of an
 * outer multipart closes the inner ones (PROTO_CF_UNCLOSED); a multipart
 * whose boundary never shows keeps its preamble as text
 * (PROTO_CF_BOUNDARY_UNSEEN); a line that is not a header ends the header
 * block and is read as body (PROTO_CF_HDR_BROKEN), except an mbox "From "
 * line first in the message; a multipart with no usable boundary is read
 * as text (PROTO_CF_BAD_BOUNDARY).
 * Trust: every byte is hostile. Limits: PROTO_MIME_DEPTH_MAX nesting
 * (deeper parts skipped, PROTO_CF_TOO_DEEP), PROTO_MIME_PARTS_MAX parts
 * (later ones skipped, PROTO_CF_TOO_MANY_PARTS), PROTO_CONTENT_HDR_MAX
 * bytes per header value (PROTO_CF_HDR_TRUNCATED), PROTO_MIME_HNAME_MAX
 * per header name; lines of any length stream through.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/mx_ascii.h"
#include "lib/mx_err.h"
#include "proto/proto_content_int.h"

enum {
	PROTO_H_BOL = 0,
	PROTO_H_NAME,
	PROTO_H_NAMEWS,
	PROTO_H_VAL,
	PROTO_H_SKIP
};
enum { PROTO_B_BOL = 0, PROTO_B_LOOK, PROTO_B_MID };
enum {
	PROTO_HDR_NONE = 0,
	PROTO_HDR_CT,
	PROTO_HDR_CTE,
	PROTO_HDR_CD,
	PROTO_HDR_SUBJECT,
	PROTO_HDR_FROM,
	PROTO_HDR_MSGID,
};

#define PROTO_2231_SEGS 32  /* RFC 2231 continuation segments read */
#define PROTO_NAME_RAW 1024 /* raw bytes of a file name assembled */
#define PROTO_NAME_TAIL 64  /* a cut name keeps its last bytes */

struct proto_param {
	const uint8_t *name; /* attribute */
	size_t nlen;
	const uint8_t *val; /* value, still quoted-escaped when is_quoted */
	size_t vlen;
	int is_quoted;
};

static void proto_mime_content(
    struct proto_content *c, const uint8_t *p, size_t n);
static void proto_mime_eol(struct proto_content *c);

/* proto_mime_pi_reset - a part's headers before any is read */
static void
proto_mime_pi_reset(struct proto_content *c, int is_digest_child)
{
	memset(&c->pi, 0, offsetof(struct proto_part_info, boundary));
	c->pi.ct = is_digest_child ? PROTO_CT_MESSAGE : PROTO_CT_TEXT;
	c->pi.cs = PROTO_CS_AUTO;
	c->pi.name[0] = '\0';
}

/* proto_mime_block - start a header block at depth */
static void
proto_mime_block(struct proto_content *c, int depth, int is_digest_child)
{
	c->in_body = 0;
	c->hst = PROTO_H_BOL;
	c->hid = PROTO_HDR_NONE;
	c->hname_len = c->hraw_len = 0;
	c->is_first = 1;
	c->depth = (uint8_t)depth;
	mx_buf_reset(&c->hval);
	proto_mime_pi_reset(c, is_digest_child);
}

/* proto_mime_init - the top-level header block */
void
proto_mime_init(struct proto_content *c)
{
	c->is_cr = 0;
	c->nframes = 0;
	c->bst = PROTO_B_BOL;
	c->is_eol = 0;
	mx_buf_reset(&c->look);
	proto_mime_block(c, 0, 0);
	c->is_top = 1;
	c->res.parts = 1;
}

/* proto_ieq - case-insensitive equality of p[0..n) and a C string */
static int
proto_ieq(const uint8_t *p, size_t n, const char *s)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (mx_ascii_lower(p[i]) != (uint8_t)s[i])
			return 0;
	return 1;
}

/* proto_blank - header white space */
static int
proto_blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* proto_trim - drop blanks at both ends of [*p, *p + *n) */
static void
proto_trim(const uint8_t **p, size_t *n)
{
	while (*n > 0 && proto_blank((*p)[0])) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && proto_blank((*p)[*n - 1]))
		(*n)--;
}

/* proto_mime_param_next - next ";attr=value" at or after *pos; 0 or -1 */
static int
proto_mime_param_next(
    const uint8_t *v, size_t n, size_t *pos, struct proto_param *pp)
{
	size_t i = *pos, s;

	for (;;) {
		while (i < n && v[i] != ';') {
			if (v[i] == '"') { /* a stray quoted string: skip it */
				for (i++; i < n && v[i] != '"'; i++)
					if (v[i] == '\\')
						i++;
			}
			i++;
		}
		if (i >= n)
			return -1;
		i++;
		while (i < n && proto_blank(v[i]))
			i++;
		s = i;
		while (
		    i < n && v[i] != '=' && v[i] != ';' && !proto_blank(v[i]))
			i++;
		pp->name = v + s;
		pp->nlen = i - s;
		while (i < n && proto_blank(v[i]))
			i++;
		if (i >= n || v[i] != '=' || pp->nlen == 0)
			continue;
		i++;
		while (i < n && proto_blank(v[i]))
			i++;
		if (i < n && v[i] == '"') {
			s = ++i;
			while (i < n && v[i] != '"')
				i += (v[i] == '\\' && i + 1 < n) ? 2 : 1;
			pp->val = v + s;
			pp->vlen = (i < n ? i : n) - s;
			pp->is_quoted = 1;
			if (i < n)
				i++;
		} else {
			s = i;
			while (i < n && v[i] != ';')
				i++;
			pp->val = v + s;
			pp->vlen = i - s;
			proto_trim(&pp->val, &pp->vlen);
			pp->is_quoted = 0;
		}
		*pos = i;
		return 0;
	}
}

/*
 * proto_mime_unquote - a parameter value without its escapes, at most cap
 * bytes; with keep_tail, a longer value keeps its head and its last
 * PROTO_NAME_TAIL bytes (a file name's extension is at its end: cutting
 * it off would hide what the file claims to be)
 */
static size_t
proto_mime_unquote(
    const struct proto_param *pp, uint8_t *out, size_t cap, int keep_tail)
{
	size_t i, o = 0, len = 0, k = 0, head = cap;

	for (i = 0; i < pp->vlen; i++, len++)
		if (pp->is_quoted && pp->val[i] == '\\' && i + 1 < pp->vlen)
			i++;
	if (keep_tail && len > cap && cap > 2 * PROTO_NAME_TAIL)
		head = cap - PROTO_NAME_TAIL;
	for (i = 0; i < pp->vlen && o < cap; i++, k++) {
		if (pp->is_quoted && pp->val[i] == '\\' && i + 1 < pp->vlen)
			i++;
		if (k < head || k >= len - (cap - head))
			out[o++] = pp->val[i];
	}
	return o;
}

/* proto_mime_param - the first value of attr, unquoted; -1 if absent */
static int
proto_mime_param(const uint8_t *v, size_t n, const char *attr, uint8_t *out,
    size_t cap, size_t *len, int keep_tail)
{
	struct proto_param pp;
	size_t pos = 0;

	while (proto_mime_param_next(v, n, &pos, &pp) == 0) {
		if (proto_ieq(pp.name, pp.nlen, attr)) {
			*len = proto_mime_unquote(&pp, out, cap, keep_tail);
			return 0;
		}
	}
	return -1;
}

/* proto_mime_set_name - UTF-8 name into the part, if rank beats it */
static void
proto_mime_set_name(
    struct proto_content *c, const char *u, size_t n, int is_cut, int rank)
{
	struct proto_part_info *pi = &c->pi;
	size_t i, o, head, tail;

	proto_trim((const uint8_t **)&u, &n);
	if (rank <= pi->name_rank || n == 0)
		return;
	/* too long: the head and the tail, cut on characters, so the
	 * extensions (what the name claims) stay */
	head = n;
	tail = 0;
	if (n > PROTO_ATTACH_NAME_MAX) {
		tail = PROTO_NAME_TAIL;
		while (tail > 0 && ((uint8_t)u[n - tail] & 0xc0) == 0x80)
			tail--;
		head = PROTO_ATTACH_NAME_MAX - tail;
		while (head > 0 && ((uint8_t)u[head] & 0xc0) == 0x80)
			head--;
		is_cut = 1;
	}
	for (i = 0, o = 0; i < n; i++) {
		uint8_t b;

		if (i == head)
			i = n - tail; /* skip the middle */
		if (i >= n)
			break;
		b = (uint8_t)u[i];
		pi->name[o++] = (char)((b < 0x20 || b == 0x7f) ? '_' : b);
	}
	n = o;
	pi->name[n] = '\0';
	pi->name_len = (uint16_t)n;
	pi->name_rank = (uint8_t)rank;
	pi->is_name_cut = (uint8_t)is_cut;
}

/* proto_mime_pct - percent-decode src into raw (bounded) */
static void
proto_mime_pct(const uint8_t *s, size_t n, uint8_t *raw, size_t *r)
{
	size_t i;

	for (i = 0; i < n && *r < PROTO_NAME_RAW; i++) {
		int hi = -1, lo = -1;

		if (s[i] == '%' && i + 2 < n) {
			hi = mx_ascii_hexval(s[i + 1]);
			lo = mx_ascii_hexval(s[i + 2]);
		}
		if (hi >= 0 && lo >= 0) {
			raw[(*r)++] = (uint8_t)(hi << 4 | lo);
			i += 2;
		} else {
			raw[(*r)++] = s[i];
		}
	}
}

/* proto_mime_seg - is pp attr*N or attr*N* ; sets *num and *is_enc */
static int
proto_mime_seg(
    const struct proto_param *pp, const char *attr, int *num, int *is_enc)
{
	size_t al = strlen(attr), i;
	int v = 0;

	if (pp->nlen < al + 2 || !proto_ieq(pp->name, al, attr) ||
	    pp->name[al] != '*')
		return 0;
	for (i = al + 1;
	     i < pp->nlen && pp->name[i] >= '0' && pp->name[i] <= '9'; i++)
		if (v < 1000)
			v = v * 10 + (pp->name[i] - '0');
	if (i == al + 1)
		return 0;
	*is_enc = i < pp->nlen && pp->name[i] == '*';
	if (i + (size_t)*is_enc != pp->nlen)
		return 0;
	*num = v;
	return 1;
}

/* proto_mime_2231 - RFC 2231 attr* or attr*0.. into raw; -1 if none */
static int
proto_mime_2231(const uint8_t *v, size_t n, const char *attr, uint8_t *raw,
    size_t *r, uint8_t *cs, size_t *cs_len)
{
	struct proto_param pp;
	size_t pos = 0, al = strlen(attr);
	int seg, num, is_enc, found = 0;

	*cs_len = 0;
	for (seg = 0; seg < PROTO_2231_SEGS; seg++) {
		int seen = 0;

		pos = 0;
		while (proto_mime_param_next(v, n, &pos, &pp) == 0) {
			const uint8_t *s = pp.val;
			size_t sl = pp.vlen, q;

			if (pp.nlen == al + 1 && proto_ieq(pp.name, al, attr) &&
			    pp.name[al] == '*') {
				if (seg > 0)
					continue;
				num = 0;
				is_enc = 1;
			} else if (!proto_mime_seg(&pp, attr, &num, &is_enc) ||
			           num != seg) {
				continue;
			}
			if (is_enc && seg == 0) { /* charset'language'text */
				for (q = 0; q < sl && s[q] != '\''; q++)
					;
				if (q < sl) {
					*cs_len = q < 40 ? q : 40;
					memcpy(cs, s, *cs_len);
					for (q++; q < sl && s[q] != '\''; q++)
						;
					if (q < sl) {
						s += q + 1;
						sl -= q + 1;
					}
				}
			}
			if (is_enc) {
				proto_mime_pct(s, sl, raw, r);
			} else {
				uint8_t tmp[PROTO_NAME_RAW];
				size_t k = proto_mime_unquote(
				    &pp, tmp, PROTO_NAME_RAW - *r, 0);

				memcpy(raw + *r, tmp, k);
				*r += k;
			}
			seen = found = 1;
			break;
		}
		if (!seen)
			break;
	}
	return found ? 0 : -1;
}

/* proto_mime_name - a file name parameter (filename or name) */
static void
proto_mime_name(struct proto_content *c, const uint8_t *v, size_t n,
    const char *attr, int rank)
{
	uint8_t raw[PROTO_NAME_RAW], cs[40];
	uint8_t u[3 * PROTO_NAME_RAW + PROTO_CS_SLACK];
	char w[3 * PROTO_NAME_RAW + 1]; /* set_name cuts it to the cap */
	struct proto_cs st;
	size_t r = 0, cl, k;
	int is_cut = 0;

	if (proto_mime_2231(v, n, attr, raw, &r, cs, &cl) == 0) {
		proto_decode_cs_init(&st, proto_decode_cs_lookup(cs, cl));
		k = proto_decode_cs(&st, raw, r, u);
		k += proto_decode_cs_end(&st, u + k);
		proto_mime_set_name(c, (const char *)u, k, 0, rank + 1);
		return;
	}
	if (proto_mime_param(v, n, attr, raw, sizeof(raw), &r, 1) != 0)
		return;
	/* RFC 2047 words inside a quoted name: not standard, but common */
	k = proto_decode_words(raw, r, w, sizeof(w) - 1, &is_cut);
	proto_mime_set_name(c, w, k, is_cut, rank);
}

/* proto_mime_ct - Content-Type: type, boundary, charset, name */
static void
proto_mime_ct(struct proto_content *c, const uint8_t *v, size_t n)
{
	struct proto_part_info *pi = &c->pi;
	const uint8_t *t = v, *slash;
	uint8_t b[PROTO_MIME_BOUNDARY_MAX + 1], cs[64];
	size_t tl = 0, bl, cl;

	while (tl < n && v[tl] != ';')
		tl++;
	proto_trim(&t, &tl);
	slash = memchr(t, '/', tl);
	pi->ct = PROTO_CT_TEXT;
	if (slash != NULL) {
		const uint8_t *sub = slash + 1;
		size_t ml = (size_t)(slash - t), sl = tl - ml - 1;

		proto_trim(&sub, &sl);
		if (proto_ieq(t, ml, "text")) {
			pi->ct = proto_ieq(sub, sl, "html") ? PROTO_CT_HTML
			         : proto_ieq(sub, sl, "plain")
			             ? PROTO_CT_TEXT
			             : PROTO_CT_TEXT_OTHER;
		} else if (proto_ieq(t, ml, "multipart")) {
			pi->ct = PROTO_CT_MULTI;
			pi->is_digest = proto_ieq(sub, sl, "digest");
		} else if (proto_ieq(t, ml, "message") &&
		           (proto_ieq(sub, sl, "rfc822") ||
		               proto_ieq(sub, sl, "global"))) {
			pi->ct = PROTO_CT_MESSAGE;
		} else {
			pi->ct = PROTO_CT_OTHER;
		}
	}
	if (proto_mime_param(v, n, "boundary", b, sizeof(b), &bl, 0) == 0) {
		if (bl == 0 || bl > PROTO_MIME_BOUNDARY_MAX) {
			pi->is_bad_b = 1;
		} else {
			memcpy(pi->boundary, b, bl);
			pi->blen = (uint8_t)bl;
		}
	}
	if (proto_mime_param(v, n, "charset", cs, sizeof(cs), &cl, 0) == 0)
		pi->cs = (uint8_t)proto_decode_cs_lookup(cs, cl);
	proto_mime_name(c, v, n, "name", 1);
}

/* proto_mime_cd - Content-Disposition: attachment?, filename */
static void
proto_mime_cd(struct proto_content *c, const uint8_t *v, size_t n)
{
	const uint8_t *t = v;
	size_t tl = 0;

	while (tl < n && v[tl] != ';')
		tl++;
	proto_trim(&t, &tl);
	c->pi.is_attach = proto_ieq(t, tl, "attachment");
	proto_mime_name(c, v, n, "filename", 3);
}

/* proto_mime_str - printable ASCII copy into a result string */
static uint16_t
proto_mime_str(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i;

	proto_trim(&p, &n);
	if (n > cap)
		n = cap;
	for (i = 0; i < n; i++)
		out[i] = (char)((p[i] > 0x20 && p[i] < 0x7f) ? p[i] : '?');
	out[n] = '\0';
	return (uint16_t)n;
}

/* proto_mime_words - decoded, trimmed header text into a result string */
static uint16_t
proto_mime_words(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t k, s = 0;
	int is_cut = 0;

	proto_trim(&p, &n);
	k = proto_decode_words(p, n, out, cap, &is_cut);
	while (k > 0 && out[k - 1] == ' ')
		k--;
	while (s < k && out[s] == ' ')
		s++;
	memmove(out, out + s, k - s);
	out[k - s] = '\0';
	return (uint16_t)(k - s);
}

/* proto_mime_from - From: display name and address */
static void
proto_mime_from(struct proto_content *c, const uint8_t *v, size_t n)
{
	struct proto_content_result *res = &c->res;
	uint8_t disp[PROTO_CONTENT_HDR_MAX];
	size_t i, lt = n, gt, dl = 0;
	int in_q = 0, depth = 0;
	const uint8_t *a, *d;
	size_t al, dn;

	for (i = 0; i < n; i++) {
		if (v[i] == '\\' && in_q) {
			i++;
		} else if (v[i] == '"') {
			in_q = !in_q;
		} else if (!in_q && v[i] == '<') {
			lt = i;
			break;
		}
	}
	if (lt < n) {
		for (gt = lt + 1; gt < n && v[gt] != '>'; gt++)
			;
		a = v + lt + 1;
		al = gt - lt - 1;
		d = v;
		dn = lt;
	} else {
		/* addr (Name): the name is in the comment */
		size_t cs = n, ce = n;

		for (i = 0; i < n; i++) {
			if (v[i] == '(' && depth++ == 0)
				cs = i;
			else if (v[i] == ')' && depth > 0 && --depth == 0) {
				ce = i;
				break;
			}
		}
		a = v;
		al = cs;
		d = cs < n ? v + cs + 1 : v;
		dn = cs < n ? (ce > cs ? ce - cs - 1 : n - cs - 1) : 0;
	}
	proto_trim(&d, &dn);
	if (dn >= 2 && d[0] == '"' && d[dn - 1] == '"') {
		d++;
		dn -= 2;
	}
	for (i = 0; i < dn && dl < sizeof(disp); i++) {
		if (d[i] == '\\' && i + 1 < dn)
			i++;
		disp[dl++] = d[i];
	}
	res->from_name_len =
	    proto_mime_words(disp, dl, res->from_name, PROTO_EV_NAME_MAX);
	res->from_addr_len =
	    proto_mime_str(a, al, res->from_addr, PROTO_EV_ADDR_MAX);
}

/* proto_mime_msgid - Message-ID without its angle brackets */
static void
proto_mime_msgid(struct proto_content *c, const uint8_t *v, size_t n)
{
	const uint8_t *lt = memchr(v, '<', n), *gt;

	if (lt != NULL) {
		gt = memchr(lt, '>', n - (size_t)(lt - v));
		n = gt != NULL ? (size_t)(gt - lt - 1)
		               : n - (size_t)(lt - v) - 1;
		v = lt + 1;
	}
	c->res.message_id_len =
	    proto_mime_str(v, n, c->res.message_id, PROTO_EV_MSGID_MAX);
}

/* proto_mime_hdr_done - a header is complete: act on its value */
static void
proto_mime_hdr_done(struct proto_content *c)
{
	const uint8_t *v = c->hval.data;
	size_t n = c->hval.len;
	struct proto_content_result *res = &c->res;

	if (v == NULL)
		v = (const uint8_t *)"";
	switch (c->hid) {
	case PROTO_HDR_CT:
		proto_mime_ct(c, v, n);
		break;
	case PROTO_HDR_CTE: {
		const uint8_t *t = v;
		size_t tl = n;

		proto_trim(&t, &tl);
		c->pi.cte = proto_ieq(t, tl, "base64") ? PROTO_CTE_B64
		            : proto_ieq(t, tl, "quoted-printable")
		                ? PROTO_CTE_QP
		                : PROTO_CTE_ID;
		break;
	}
	case PROTO_HDR_CD:
		proto_mime_cd(c, v, n);
		break;
	case PROTO_HDR_SUBJECT:
		res->subject_len =
		    proto_mime_words(v, n, res->subject, PROTO_EV_SUBJECT_MAX);
		break;
	case PROTO_HDR_FROM:
		proto_mime_from(c, v, n);
		break;
	case PROTO_HDR_MSGID:
		proto_mime_msgid(c, v, n);
		break;
	default:
		break;
	}
	c->hid = PROTO_HDR_NONE;
	mx_buf_reset(&c->hval);
}

/* proto_mime_hclassify - the name is complete: is it a header we keep */
static void
proto_mime_hclassify(struct proto_content *c)
{
	const uint8_t *nm = (const uint8_t *)c->hname;
	size_t n = c->hname_len;
	struct proto_part_info *pi = &c->pi;
	int id = PROTO_HDR_NONE;

	if (proto_ieq(nm, n, "content-type") && !pi->has_ct) {
		pi->has_ct = 1;
		id = PROTO_HDR_CT;
	} else if (proto_ieq(nm, n, "content-transfer-encoding") &&
	           !pi->has_cte) {
		pi->has_cte = 1;
		id = PROTO_HDR_CTE;
	} else if (proto_ieq(nm, n, "content-disposition") && !pi->has_cd) {
		pi->has_cd = 1;
		id = PROTO_HDR_CD;
	} else if (c->is_top) {
		if (proto_ieq(nm, n, "subject") && c->res.subject_len == 0)
			id = PROTO_HDR_SUBJECT;
		else if (proto_ieq(nm, n, "from") &&
		         c->res.from_addr_len == 0 && c->res.from_name_len == 0)
			id = PROTO_HDR_FROM;
		else if (proto_ieq(nm, n, "message-id") &&
		         c->res.message_id_len == 0)
			id = PROTO_HDR_MSGID;
		else if (proto_ieq(nm, n, "received") &&
		         c->res.received < UINT16_MAX)
			c->res.received++;
	}
	c->hid = (uint8_t)id;
	c->is_hcut = 0;
	mx_buf_reset(&c->hval);
}

/* proto_mime_body_start - a body begins on the next line */
static void
proto_mime_body_start(struct proto_content *c, int leaf)
{
	c->in_body = 1;
	c->bst = PROTO_B_BOL;
	c->is_eol = 0;
	proto_content_part_begin(c, leaf);
}

/* proto_mime_headers_end - the header block is over: what is the part */
static void
proto_mime_headers_end(struct proto_content *c)
{
	struct proto_part_info *pi = &c->pi;
	struct proto_mime_frame *f;
	int d = c->depth;

	if (c->is_top) {
		c->is_top = 0;
		proto_content_headers_done(c);
	}
	if (d > c->res.max_depth)
		c->res.max_depth = (uint16_t)d;
	if (d >= PROTO_MIME_DEPTH_MAX) {
		c->res.flags |= PROTO_CF_TOO_DEEP;
		proto_mime_body_start(c, PROTO_LEAF_NONE);
		return;
	}
	if (pi->ct == PROTO_CT_MULTI) {
		if (pi->blen > 0 && !pi->is_bad_b &&
		    c->nframes < PROTO_MIME_DEPTH_MAX) {
			f = &c->frames[c->nframes++];
			memcpy(f->b, pi->boundary, pi->blen);
			f->blen = pi->blen;
			f->depth = (uint8_t)d;
			f->has_part = 0;
			f->is_digest = pi->is_digest;
			proto_mime_body_start(c, PROTO_LEAF_PREAMBLE);
			return;
		}
		c->res.flags |= PROTO_CF_BAD_BOUNDARY;
		pi->ct = PROTO_CT_TEXT;
	}
	if (pi->ct == PROTO_CT_MESSAGE && pi->cte == PROTO_CTE_ID) {
		if (++c->res.parts > PROTO_MIME_PARTS_MAX) {
			c->res.flags |= PROTO_CF_TOO_MANY_PARTS;
			proto_mime_body_start(c, PROTO_LEAF_NONE);
			return;
		}
		proto_mime_block(c, d + 1, 0);
		return;
	}
	if (pi->is_attach || pi->name_len > 0 ||
	    (pi->ct != PROTO_CT_TEXT && pi->ct != PROTO_CT_HTML &&
	        pi->ct != PROTO_CT_TEXT_OTHER))
		proto_mime_body_start(c, PROTO_LEAF_ATTACH);
	else
		proto_mime_body_start(c, PROTO_LEAF_TEXT);
}

/* proto_mime_hbad - the line is not a header: mbox line or body start */
static void
proto_mime_hbad(struct proto_content *c, const uint8_t *rest, size_t n)
{
	uint8_t line[PROTO_MIME_HNAME_MAX];
	size_t k = c->hraw_len;

	if (c->is_top && c->is_first && c->hname_len == 4 &&
	    memcmp(c->hname, "From", 4) == 0 && c->hraw_len > 4) {
		c->hst = PROTO_H_SKIP; /* mbox separator "From addr date" */
		return;
	}
	c->res.flags |= PROTO_CF_HDR_BROKEN;
	memcpy(line, c->hname, k);
	proto_mime_hdr_done(c);
	proto_mime_headers_end(c);
	/* the line is read again by whatever comes next */
	if (k > 0)
		proto_mime_content(c, line, k);
	if (n > 0)
		proto_mime_content(c, rest, n);
}

/* proto_mime_hcontent - bytes of a header line */
static void
proto_mime_hcontent(struct proto_content *c, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t ch = p[i];

		switch (c->hst) {
		case PROTO_H_BOL:
			if (ch == ' ' || ch == '\t') {
				c->hst = PROTO_H_VAL; /* folded continuation */
				continue;
			}
			proto_mime_hdr_done(c);
			c->hst = PROTO_H_NAME;
			c->hname_len = c->hraw_len = 0;
			continue;
		case PROTO_H_NAME:
		case PROTO_H_NAMEWS:
			if (ch == ':') {
				proto_mime_hclassify(c);
				c->hst = PROTO_H_VAL;
				i++;
				continue;
			}
			if (c->hraw_len < PROTO_MIME_HNAME_MAX &&
			    (ch == ' ' || ch == '\t') && c->hraw_len > 0) {
				c->hname[c->hraw_len++] = (char)ch;
				c->hst = PROTO_H_NAMEWS;
				i++;
				continue;
			}
			if (c->hraw_len < PROTO_MIME_HNAME_MAX &&
			    c->hst == PROTO_H_NAME && ch > 0x20 && ch < 0x7f) {
				c->hname[c->hraw_len++] = (char)ch;
				c->hname_len = c->hraw_len;
				i++;
				continue;
			}
			proto_mime_hbad(c, p + i, n - i);
			return;
		case PROTO_H_VAL:
			if (c->hid != PROTO_HDR_NONE &&
			    mx_buf_append(&c->hval, p + i, n - i) != 0) {
				size_t room = mx_buf_room(&c->hval);

				(void)mx_buf_append(&c->hval, p + i, room);
				if (!c->is_hcut)
					c->res.flags |= PROTO_CF_HDR_TRUNCATED;
				c->is_hcut = 1;
			}
			return;
		default: /* PROTO_H_SKIP */
			return;
		}
	}
}

/* proto_mime_heol - end of a header line */
static void
proto_mime_heol(struct proto_content *c)
{
	switch (c->hst) {
	case PROTO_H_BOL: /* the blank line */
		proto_mime_hdr_done(c);
		proto_mime_headers_end(c);
		return;
	case PROTO_H_NAME:
	case PROTO_H_NAMEWS:
		proto_mime_hbad(c, NULL, 0);
		if (c->in_body || c->hst != PROTO_H_SKIP) {
			proto_mime_eol(c);
			return;
		}
		break;
	default:
		break;
	}
	c->hst = PROTO_H_BOL;
	c->is_first = 0;
}

/* proto_mime_emit_eol - the held line end is content after all */
static void
proto_mime_emit_eol(struct proto_content *c)
{
	if (c->is_eol) {
		c->is_eol = 0;
		proto_content_leaf(c, (const uint8_t *)"\r\n", 2);
	}
}

/* proto_mime_at_boundary - delimiter of frame k (a close when is_close) */
static void
proto_mime_at_boundary(struct proto_content *c, size_t k, int is_close)
{
	struct proto_mime_frame *f = &c->frames[k];
	int is_preamble = c->has_ckpt;

	c->is_eol = 0; /* the line end before a delimiter is its own */
	proto_content_leaf_end(c);
	if (k + 1 < c->nframes)
		c->res.flags |= PROTO_CF_UNCLOSED;
	if (is_preamble) {
		/* the preamble of the innermost frame ends here */
		int is_own = k + 1 == c->nframes && !is_close;

		if (!is_own)
			c->res.flags |= PROTO_CF_BOUNDARY_UNSEEN;
		proto_content_preamble(c, !is_own);
	}
	c->bst = PROTO_B_BOL;
	if (is_close) {
		c->nframes = (uint8_t)k;
		proto_mime_body_start(c, PROTO_LEAF_URLS);
		return;
	}
	c->nframes = (uint8_t)(k + 1);
	f->has_part = 1;
	if (++c->res.parts > PROTO_MIME_PARTS_MAX) {
		c->res.flags |= PROTO_CF_TOO_MANY_PARTS;
		proto_mime_body_start(c, PROTO_LEAF_NONE);
		return;
	}
	proto_mime_block(c, f->depth + 1, f->is_digest);
}

/* proto_mime_boundary - is the line a delimiter of an open multipart */
static int
proto_mime_boundary(struct proto_content *c, const uint8_t *l, size_t n)
{
	size_t k;

	if (n < 3 || l[0] != '-' || l[1] != '-')
		return 0;
	while (n > 2 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--; /* transport padding */
	for (k = c->nframes; k-- > 0;) {
		const struct proto_mime_frame *f = &c->frames[k];

		if (n == 2 + (size_t)f->blen &&
		    memcmp(l + 2, f->b, f->blen) == 0) {
			proto_mime_at_boundary(c, k, 0);
			return 1;
		}
		if (n == 4 + (size_t)f->blen &&
		    memcmp(l + 2, f->b, f->blen) == 0 && l[n - 2] == '-' &&
		    l[n - 1] == '-') {
			proto_mime_at_boundary(c, k, 1);
			return 1;
		}
	}
	return 0;
}

/* proto_mime_look_flush - the held line start is content */
static void
proto_mime_look_flush(struct proto_content *c)
{
	proto_mime_emit_eol(c);
	if (c->look.len > 0)
		proto_content_leaf(c, c->look.data, c->look.len);
	mx_buf_reset(&c->look);
	c->bst = PROTO_B_MID;
}

/* proto_mime_bcontent - bytes of a body line */
static void
proto_mime_bcontent(struct proto_content *c, const uint8_t *p, size_t n)
{
	if (c->bst == PROTO_B_BOL) {
		if (c->nframes > 0 && p[0] == '-') {
			c->bst = PROTO_B_LOOK;
			mx_buf_reset(&c->look);
		} else {
			proto_mime_emit_eol(c);
			c->bst = PROTO_B_MID;
		}
	}
	if (c->bst == PROTO_B_LOOK) {
		if (mx_buf_append(&c->look, p, n) == 0)
			return;
		/* longer than any delimiter line: plain content */
		proto_mime_look_flush(c);
	}
	proto_content_leaf(c, p, n);
}

/* proto_mime_beol - end of a body line */
static void
proto_mime_beol(struct proto_content *c)
{
	if (c->bst == PROTO_B_LOOK) {
		if (proto_mime_boundary(c, c->look.data, c->look.len)) {
			mx_buf_reset(&c->look);
			return;
		}
		proto_mime_look_flush(c);
	}
	proto_mime_emit_eol(c);
	c->is_eol = 1;
	c->bst = PROTO_B_BOL;
}

/* proto_mime_content - a span of one line, no line end in it */
static void
proto_mime_content(struct proto_content *c, const uint8_t *p, size_t n)
{
	if (c->in_body)
		proto_mime_bcontent(c, p, n);
	else
		proto_mime_hcontent(c, p, n);
}

/* proto_mime_eol - a line end */
static void
proto_mime_eol(struct proto_content *c)
{
	if (c->in_body)
		proto_mime_beol(c);
	else
		proto_mime_heol(c);
}

/*
 * proto_mime_lite_skip - lite mode inside a part that is not an
 * attachment: nothing in it is read but the lines that may be delimiters,
 * which start with '-'. Returns where normal line handling resumes (the
 * start of such a line), or n when the rest of the input is skipped; the
 * state is left as if every skipped line had been read.
 */
static size_t
proto_mime_lite_skip(
    struct proto_content *c, const uint8_t *p, size_t n, size_t i)
{
	const uint8_t *q;

	c->is_cr = 0;
	if (c->nframes == 0) {
		c->bst = PROTO_B_MID;
		return n; /* no open multipart: no delimiter can come */
	}
	if (c->bst == PROTO_B_BOL && p[i] == '-')
		return i;
	q = memmem(p + i, n - i, "\n-", 2);
	if (q != NULL) {
		c->bst = PROTO_B_BOL;
		c->is_eol = 1;
		return (size_t)(q - p) + 1;
	}
	if (p[n - 1] == '\n') {
		c->bst = PROTO_B_BOL;
		c->is_eol = 1;
	} else {
		c->bst = PROTO_B_MID;
	}
	return n;
}

/* proto_mime_feed - split into line spans and line ends */
void
proto_mime_feed(struct proto_content *c, const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (c->is_cr && n > 0) {
		c->is_cr = 0;
		if (p[0] == '\n') {
			proto_mime_eol(c);
			i = 1;
		} else {
			proto_mime_content(c, (const uint8_t *)"\r", 1);
		}
	}
	while (i < n && c->err == 0) {
		const uint8_t *nl;
		size_t e, ce;

		if (c->is_lite && c->in_body && c->leaf != PROTO_LEAF_ATTACH &&
		    c->bst != PROTO_B_LOOK &&
		    (i = proto_mime_lite_skip(c, p, n, i)) == n)
			return;
		nl = memchr(p + i, '\n', n - i);
		e = nl != NULL ? (size_t)(nl - p) : n;
		ce = e;

		if (ce > i && p[ce - 1] == '\r') {
			ce--;
			if (nl == NULL)
				c->is_cr =
				    1; /* CR LF may be cut between them */
		}
		if (ce > i)
			proto_mime_content(c, p + i, ce - i);
		if (nl == NULL)
			return;
		proto_mime_eol(c);
		i = e + 1;
	}
}

/* proto_mime_finish - end of input */
void
proto_mime_finish(struct proto_content *c)
{
	int guard = 0;

	if (c->is_cr) {
		c->is_cr = 0;
		proto_mime_content(c, (const uint8_t *)"\r", 1);
	}
	/* a header block cut short: its part has no body */
	while (!c->in_body && guard++ <= PROTO_MIME_DEPTH_MAX + 1) {
		if (c->hst == PROTO_H_NAME || c->hst == PROTO_H_NAMEWS) {
			proto_mime_hbad(c, NULL, 0);
			if (c->hst == PROTO_H_SKIP)
				c->hst = PROTO_H_BOL;
			continue;
		}
		proto_mime_hdr_done(c);
		proto_mime_headers_end(c);
	}
	if (c->in_body && c->bst == PROTO_B_LOOK) {
		if (proto_mime_boundary(c, c->look.data, c->look.len))
			mx_buf_reset(&c->look);
		else
			proto_mime_look_flush(c);
	}
	proto_mime_emit_eol(c);
	proto_content_leaf_end(c);
	if (c->nframes > 0) {
		c->res.flags |= PROTO_CF_UNCLOSED;
		if (c->has_ckpt) {
			c->res.flags |= PROTO_CF_BOUNDARY_UNSEEN;
			proto_content_preamble(c, 1);
		}
	}
	c->nframes = 0;
}
