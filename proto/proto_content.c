/*
 * proto_content.c - content analyser: API, leaf pipeline, results
 *
 * proto_mime.c walks the message and says where each leaf starts and
 * ends; this file runs a leaf's bytes through the pipeline:
 *   transfer decoding (base64, quoted-printable) -> for attachments,
 *   digest and type scans (proto_attach.c) -> for text, charset to UTF-8
 *   (proto_decode.c) -> HTML to text (proto_html.c) -> URL scan
 *   (proto_url.c) and normalisation, body digest and shingles
 *   (proto_text.c, proto_fp.c)
 * in fixed steps of PROTO_DEC_BUF / PROTO_CS_IN bytes, keeps the
 * de-duplicated results and fires the callback as each output is known.
 * A multipart's preamble is analysed as text after a checkpoint of the
 * text state; when the multipart's first delimiter shows, the checkpoint
 * is restored (RFC 2046: the preamble is not content), otherwise (no
 * delimiter ever) the preamble was the content and is kept.
 * Trust: bytes are hostile; every stage is bounded (proto_content.h).
 * Limits: the whole state is one allocation of sizeof(struct
 * proto_content) plus two bounded buffers (PROTO_CONTENT_HDR_MAX and
 * PROTO_MIME_LOOK_MAX), checked against PROTO_CONTENT_MEM_MAX at compile
 * time; OpenSSL's three digest contexts are allocated once per analyser.
 */
#include "proto/proto_content.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "proto/proto_content_int.h"

_Static_assert(sizeof(struct proto_content) + PROTO_CONTENT_HDR_MAX +
                       PROTO_MIME_LOOK_MAX <=
                   PROTO_CONTENT_MEM_MAX,
    "content state fits its documented bound");

static void proto_content_html_text(void *arg, const uint8_t *p, size_t n);
static void proto_content_html_attr(
    void *arg, int kind, const uint8_t *p, size_t n);

/* proto_content_event - fire the callback, if any */
static void
proto_content_event(struct proto_content *c, int kind,
    const struct proto_url *u, const struct proto_attach *a)
{
	struct proto_content_event ev;

	if (c->fn == NULL)
		return;
	ev.kind = kind;
	ev.url = u;
	ev.attach = a;
	ev.res = &c->res;
	c->fn(c->arg, &ev);
}

/* proto_content_fail - remember an internal fault (digest failure) */
static void
proto_content_fail(struct proto_content *c, int rc)
{
	if (rc != 0 && c->err == 0)
		c->err = rc;
}

/* proto_content_new - allocate an analyser and its digests */
int
proto_content_new(proto_content_fn fn, void *arg, struct proto_content **out)
{
	struct proto_content *c = mx_calloc(1, sizeof(*c));

	c->fn = fn;
	c->arg = arg;
	mx_buf_init(&c->hval, PROTO_CONTENT_HDR_MAX);
	mx_buf_init(&c->look, PROTO_MIME_LOOK_MAX);
	c->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->sha_body = EVP_MD_CTX_new();
	c->sha_ckpt = EVP_MD_CTX_new();
	c->sha_att = EVP_MD_CTX_new();
	if (c->md == NULL || c->sha_body == NULL || c->sha_ckpt == NULL ||
	    c->sha_att == NULL || proto_content_reset(c) != 0) {
		proto_content_free(c);
		return MX_EIO;
	}
	*out = c;
	return 0;
}

/* proto_content_free - release everything */
void
proto_content_free(struct proto_content *c)
{
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->sha_att);
	EVP_MD_CTX_free(c->sha_ckpt);
	EVP_MD_CTX_free(c->sha_body);
	EVP_MD_free(c->md);
	mx_buf_fini(&c->look);
	mx_buf_fini(&c->hval);
	mx_free(c);
}

/* proto_content_reset - ready for a new message */
int
proto_content_reset(struct proto_content *c)
{
	memset(&c->res, 0, sizeof(c->res));
	c->err = 0;
	c->is_done = 0;
	c->leaf = PROTO_LEAF_NONE;
	c->has_ckpt = 0;
	c->is_plain = 0;
	c->is_htmlpart = 0;
	c->is_lite = 0;
	if (!EVP_DigestInit_ex(c->sha_body, c->md, NULL))
		return MX_EIO;
	proto_fp_acc_init(&c->acc);
	proto_text_init(&c->text, c->sha_body, &c->acc);
	proto_url_scan_init(&c->scan);
	proto_mime_init(c);
	return 0;
}

/* proto_content_bind - a new owner's callback */
void
proto_content_bind(struct proto_content *c, proto_content_fn fn, void *arg)
{
	c->fn = fn;
	c->arg = arg;
}

/* proto_content_url_found - a host: de-duplicate, keep, report */
static void
proto_content_url_found(
    void *arg, const char *host, size_t len, int ip, int is_href)
{
	struct proto_content *c = arg;
	struct proto_content_result *res = &c->res;
	struct proto_url *u;
	size_t i;

	for (i = 0; i < res->n_urls; i++)
		if (res->urls[i].host_len == len &&
		    memcmp(res->urls[i].host, host, len) == 0)
			return;
	if (res->n_urls == PROTO_EV_URLS_MAX) {
		res->flags |= PROTO_CF_URLS_TRUNCATED;
		if (res->urls_dropped < UINT32_MAX)
			res->urls_dropped++;
		return;
	}
	u = &res->urls[res->n_urls++];
	memcpy(u->host, host, len);
	u->host[len] = '\0';
	u->host_len = (uint8_t)len;
	u->ip = (uint8_t)ip;
	u->is_href = (uint8_t)is_href;
	proto_content_event(c, PROTO_CEV_URL, u, NULL);
}

/* proto_content_text - UTF-8 text of the leaf: URLs, then normaliser */
static void
proto_content_text(struct proto_content *c, const uint8_t *p, size_t n)
{
	proto_url_scan(&c->scan, p, n, proto_content_url_found, c);
	if (c->leaf == PROTO_LEAF_TEXT || c->leaf == PROTO_LEAF_PREAMBLE)
		proto_content_fail(c, proto_text_feed(&c->text, p, n));
}

/* proto_content_html_text - visible text from the HTML converter */
static void
proto_content_html_text(void *arg, const uint8_t *p, size_t n)
{
	proto_content_text(arg, p, n);
}

/* proto_content_html_attr - a URL attribute or a meta content value */
static void
proto_content_html_attr(void *arg, int kind, const uint8_t *p, size_t n)
{
	struct proto_content *c = arg;
	char host[PROTO_DOMAIN_MAX + 1];
	struct proto_url_scan s;
	size_t len;
	int ip;

	if (kind == PROTO_HTML_URL) {
		if (proto_url_href(p, n, host, &len, &ip) == 0)
			proto_content_url_found(c, host, len, ip, 1);
		return;
	}
	proto_url_scan_init(&s);
	proto_url_scan(&s, p, n, proto_content_url_found, c);
	proto_url_scan_end(&s, proto_content_url_found, c);
}

static const struct proto_html_sink proto_content_sink_tmpl = {
    proto_content_html_text, proto_content_html_attr, NULL};

/* proto_content_utf8 - charset-converted bytes: HTML or plain text */
static void
proto_content_utf8(struct proto_content *c, const uint8_t *p, size_t n)
{
	struct proto_html_sink o = proto_content_sink_tmpl;

	if (n == 0)
		return;
	if (c->is_html) {
		o.arg = c;
		proto_html_feed(&c->html, p, n, &o);
	} else {
		proto_content_text(c, p, n);
	}
}

/* proto_content_decoded - transfer-decoded bytes of the leaf */
static void
proto_content_decoded(struct proto_content *c, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (c->leaf == PROTO_LEAF_ATTACH) {
		proto_content_fail(c, proto_attach_feed(&c->att, p, n));
		if (!c->is_urls || c->is_lite)
			return;
	}
	while (n > 0) {
		size_t k = n < PROTO_CS_IN ? n : PROTO_CS_IN;

		proto_content_utf8(
		    c, c->csout, proto_decode_cs(&c->cs, p, k, c->csout));
		p += k;
		n -= k;
	}
}

/* proto_content_leaf - raw bytes of the leaf */
void
proto_content_leaf(struct proto_content *c, const uint8_t *p, size_t n)
{
	size_t k;

	if (c->leaf == PROTO_LEAF_NONE || c->err != 0)
		return;
	/* lite: only attachments are decoded */
	if (c->is_lite && c->leaf != PROTO_LEAF_ATTACH)
		return;
	switch (c->cte) {
	case PROTO_CTE_B64:
		while (n > 0) {
			k = n < PROTO_DEC_BUF - 3 ? n : PROTO_DEC_BUF - 3;
			proto_content_decoded(
			    c, c->dec, proto_decode_b64(&c->b64, p, k, c->dec));
			p += k;
			n -= k;
		}
		break;
	case PROTO_CTE_QP:
		while (n > 0) {
			k = n < PROTO_DEC_BUF / 2 ? n : PROTO_DEC_BUF / 2;
			proto_content_decoded(
			    c, c->dec, proto_decode_qp(&c->qp, p, k, c->dec));
			p += k;
			n -= k;
		}
		break;
	default:
		proto_content_decoded(c, p, n);
		break;
	}
}

/* proto_content_ckpt_save - text state before a preamble */
static void
proto_content_ckpt_save(struct proto_content *c)
{
	struct proto_text_ckpt *k = &c->ckpt;

	proto_content_fail(c, proto_text_flush(&c->text));
	if (!EVP_MD_CTX_copy_ex(c->sha_ckpt, c->sha_body))
		proto_content_fail(c, MX_EIO);
	k->bytes = c->text.bytes;
	k->is_ws = c->text.is_ws;
	k->is_started = c->text.is_started;
	k->is_plain = c->is_plain;
	k->text_parts = c->res.text_parts;
	k->acc = c->acc;
	c->has_ckpt = 1;
}

/* proto_content_preamble - keep the preamble's text, or restore */
void
proto_content_preamble(struct proto_content *c, int is_kept)
{
	struct proto_text_ckpt *k = &c->ckpt;

	if (!c->has_ckpt)
		return;
	c->has_ckpt = 0;
	if (is_kept)
		return;
	c->text.out_len = 0; /* staged preamble bytes: never digested */
	if (!EVP_MD_CTX_copy_ex(c->sha_body, c->sha_ckpt))
		proto_content_fail(c, MX_EIO);
	c->text.bytes = k->bytes;
	c->text.is_ws = k->is_ws;
	c->text.is_started = k->is_started;
	c->is_plain = k->is_plain;
	c->res.text_parts = k->text_parts;
	c->acc = k->acc;
}

/* proto_content_attach_begin - set up the attachment entry and scans */
static void
proto_content_attach_begin(struct proto_content *c)
{
	const struct proto_part_info *pi = &c->pi;
	struct proto_attach *a = &c->cur;

	memset(a, 0, sizeof(*a));
	memcpy(a->name, pi->name, pi->name_len);
	a->name[pi->name_len] = '\0';
	a->name_len = pi->name_len;
	if (pi->is_name_cut)
		a->flags |= PROTO_AF_NAME_CUT;
	a->index =
	    (uint16_t)(c->res.attach_total < UINT16_MAX ? c->res.attach_total
	                                                : UINT16_MAX);
	if (c->res.attach_total < UINT32_MAX)
		c->res.attach_total++;
	if (!EVP_DigestInit_ex(c->sha_att, c->md, NULL))
		proto_content_fail(c, MX_EIO);
	proto_content_fail(c, proto_attach_begin(&c->att, a, c->sha_att));
	/* text attachments (an HTML phishing page) are scanned for URLs */
	if (pi->ct == PROTO_CT_HTML || pi->ct == PROTO_CT_TEXT ||
	    pi->ct == PROTO_CT_TEXT_OTHER || a->name_type == PROTO_AT_HTML) {
		c->is_urls = 1;
		c->is_html =
		    pi->ct == PROTO_CT_HTML || a->name_type == PROTO_AT_HTML;
	}
}

/* proto_content_part_begin - start the leaf the MIME walk found */
void
proto_content_part_begin(struct proto_content *c, int leaf)
{
	const struct proto_part_info *pi = &c->pi;

	c->leaf = (uint8_t)leaf;
	c->is_html = 0;
	c->is_urls = 0;
	c->cte = PROTO_CTE_ID;
	proto_decode_b64_init(&c->b64);
	proto_decode_qp_init(&c->qp);
	proto_url_scan_init(&c->scan);
	proto_decode_cs_init(&c->cs, PROTO_CS_AUTO);
	switch (leaf) {
	case PROTO_LEAF_TEXT:
		c->cte = pi->cte;
		c->is_html = pi->ct == PROTO_CT_HTML;
		proto_decode_cs_init(&c->cs, pi->cs);
		if (c->res.text_parts < UINT32_MAX)
			c->res.text_parts++;
		if (c->is_html)
			c->is_htmlpart = 1;
		else
			c->is_plain = 1;
		proto_text_part_begin(&c->text);
		break;
	case PROTO_LEAF_PREAMBLE:
		proto_content_ckpt_save(c);
		if (c->res.text_parts < UINT32_MAX)
			c->res.text_parts++;
		c->is_plain = 1;
		proto_text_part_begin(&c->text);
		break;
	case PROTO_LEAF_ATTACH:
		c->cte = pi->cte;
		proto_decode_cs_init(&c->cs, pi->cs);
		proto_content_attach_begin(c);
		break;
	default:
		break;
	}
	if (c->is_html)
		proto_html_init(&c->html);
}

/* proto_content_text_end - flush converters and scanners of a text */
static void
proto_content_text_end(struct proto_content *c)
{
	struct proto_html_sink o = proto_content_sink_tmpl;

	proto_content_utf8(c, c->csout, proto_decode_cs_end(&c->cs, c->csout));
	if (c->is_html) {
		o.arg = c;
		proto_html_end(&c->html, &o);
	}
	proto_url_scan_end(&c->scan, proto_content_url_found, c);
}

/* proto_content_attach_end - finish, keep and report an attachment */
static void
proto_content_attach_end(struct proto_content *c)
{
	struct proto_content_result *res = &c->res;
	struct proto_attach *a = &c->cur;

	if (c->is_urls)
		proto_content_text_end(c);
	proto_content_fail(c, proto_attach_end(&c->att));
	if (a->flags & (PROTO_AF_EXEC | PROTO_AF_ARCH_EXEC))
		res->flags |= PROTO_CF_HAS_EXEC;
	if (a->flags & PROTO_AF_SCRIPT)
		res->flags |= PROTO_CF_HAS_SCRIPT;
	if (a->flags & PROTO_AF_MACRO)
		res->flags |= PROTO_CF_HAS_MACRO;
	if (a->flags & PROTO_AF_ARCHIVE)
		res->flags |= PROTO_CF_HAS_ARCHIVE;
	if (a->flags & PROTO_AF_MISMATCH)
		res->flags |= PROTO_CF_NAME_MISMATCH;
	if (res->n_attach < PROTO_EV_ATTACH_MAX)
		res->attach[res->n_attach++] = *a;
	else
		res->flags |= PROTO_CF_ATTACH_TRUNCATED;
	proto_content_event(c, PROTO_CEV_ATTACH, NULL, a);
}

/* proto_content_leaf_end - the leaf is over: flush every stage */
void
proto_content_leaf_end(struct proto_content *c)
{
	uint8_t tail[PROTO_QP_SLACK];

	if (c->leaf == PROTO_LEAF_NONE)
		return;
	if (c->cte == PROTO_CTE_B64) {
		proto_content_decoded(
		    c, tail, proto_decode_b64_end(&c->b64, tail));
		if (c->b64.is_bad)
			c->res.flags |= PROTO_CF_BAD_B64;
	} else if (c->cte == PROTO_CTE_QP) {
		proto_content_decoded(
		    c, tail, proto_decode_qp_end(&c->qp, tail));
	}
	if (c->leaf == PROTO_LEAF_ATTACH) {
		proto_content_attach_end(c);
	} else {
		proto_content_text_end(c);
		if (c->leaf != PROTO_LEAF_URLS)
			proto_content_fail(c, proto_text_part_end(&c->text));
	}
	c->leaf = PROTO_LEAF_NONE;
}

/* proto_content_headers_done - top-level headers parsed */
void
proto_content_headers_done(struct proto_content *c)
{
	proto_content_event(c, PROTO_CEV_HEADERS, NULL, NULL);
}

/* proto_content_feed - message bytes in */
int
proto_content_feed(struct proto_content *c, const void *p, size_t len)
{
	if (c->is_done)
		return MX_ESTATE;
	if (c->err != 0)
		return c->err;
	if (len == 0)
		return 0;
	if (__builtin_add_overflow(c->res.bytes, len, &c->res.bytes))
		c->res.bytes = UINT64_MAX;
	proto_mime_feed(c, p, len);
	return c->err;
}

/* proto_content_finish - end of message: final outputs and event */
int
proto_content_finish(struct proto_content *c)
{
	struct proto_content_result *res = &c->res;
	unsigned int dl = 0;

	if (c->is_done)
		return MX_ESTATE;
	c->is_done = 1;
	if (c->err == 0)
		proto_mime_finish(c);
	if (c->err == 0)
		proto_content_fail(c, proto_text_flush(&c->text));
	res->text_bytes = c->text.bytes;
	if (c->err == 0 && res->text_bytes > 0 && !c->is_lite) {
		if (!EVP_DigestFinal_ex(c->sha_body, res->body_sha256, &dl) ||
		    dl != 32)
			proto_content_fail(c, MX_EIO);
		else
			res->has_body_hash = 1;
	}
	proto_fp_final(&c->acc, &res->fp);
	if (c->is_lite) {
		/* the text is partial: a fingerprint or hash of it would
		 * match nothing, or the wrong thing */
		res->fp.is_valid = 0;
		res->flags |= PROTO_CF_LITE;
	}
	if (c->is_htmlpart && !c->is_plain)
		res->flags |= PROTO_CF_HTML_ONLY;
	if (res->flags & (PROTO_CF_UNCLOSED | PROTO_CF_BOUNDARY_UNSEEN |
	                     PROTO_CF_HDR_BROKEN | PROTO_CF_BAD_BOUNDARY))
		res->flags |= PROTO_CF_MIME_BROKEN;
	if (c->err == 0)
		proto_content_event(c, PROTO_CEV_END, NULL, NULL);
	return c->err;
}

/* proto_content_lite - structure only from now on */
void
proto_content_lite(struct proto_content *c)
{
	c->is_lite = 1;
}

/* proto_content_result - the result, borrowed */
const struct proto_content_result *
proto_content_result(const struct proto_content *c)
{
	return &c->res;
}

/* proto_content_mem - bytes of per-message state */
size_t
proto_content_mem(const struct proto_content *c)
{
	return sizeof(*c) + c->hval.cap + c->look.cap;
}

/* proto_content_analyze - one-shot analysis of a whole message */
int
proto_content_analyze(
    const void *msg, size_t len, struct proto_content_result *out)
{
	struct proto_content *c;
	int rc;

	if ((rc = proto_content_new(NULL, NULL, &c)) != 0)
		return rc;
	rc = proto_content_feed(c, msg, len);
	if (rc == 0)
		rc = proto_content_finish(c);
	if (rc == 0)
		*out = c->res;
	proto_content_free(c);
	return rc;
}

/* proto_content_hash_key - [type][sha256] */
void
proto_content_hash_key(
    int type, const uint8_t sha256[32], uint8_t out[PROTO_HASH_KEY_LEN])
{
	out[0] = (uint8_t)type;
	memcpy(out + 1, sha256, 32);
}
