/*
 * proto_html.c - streaming HTML to text
 *
 * Turns an HTML document, fed in pieces cut anywhere, into the text a
 * reader would see: tags dropped (block-level tags become a space, inline
 * ones nothing, so "fr<b></b>ee" stays one word), comments, declarations
 * and the contents of script and style dropped, character references
 * (the common named ones and all numeric ones) decoded. The values of
 * URL attributes (href, src, action, background...) are passed on with
 * their references decoded, and <meta content> as text to scan for URLs.
 * Trust: the document is hostile and may be broken anywhere. Limits:
 * PROTO_HTML_NAME_MAX bytes of a tag or attribute name, PROTO_HTML_ENT_MAX
 * of a reference, PROTO_HTML_VAL_MAX of a captured value (the rest of a
 * longer value is dropped: the host is at its start). No allocation.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mx_ascii.h"
#include "proto/proto_content_int.h"

enum {
	PROTO_HS_TEXT = 0,
	PROTO_HS_LT,        /* after '<' */
	PROTO_HS_ENDLT,     /* after "</" */
	PROTO_HS_TAGNAME,   /* in a tag name */
	PROTO_HS_TAG,       /* in a tag, between attributes */
	PROTO_HS_ATTRNAME,  /* in an attribute name */
	PROTO_HS_AFTERNAME, /* blanks after an attribute name */
	PROTO_HS_BEFOREVAL, /* after '=' */
	PROTO_HS_VAL,       /* in an attribute value */
	PROTO_HS_ENT,       /* in a character reference */
	PROTO_HS_BANG,      /* after "<!" */
	PROTO_HS_BANG1,     /* after "<!-" */
	PROTO_HS_COMMENT,   /* in <!-- --> */
	PROTO_HS_DECL,      /* in <!...>, <?...> or a bogus comment */
	PROTO_HS_RAW,       /* in script or style contents */
};

struct proto_html_ent {
	const char *name;
	uint32_t cp;
};

/* sorted by strcmp for bsearch */
static const struct proto_html_ent proto_html_ents[] = {
    {"AElig", 0x00c6},
    {"Aacute", 0x00c1},
    {"Acirc", 0x00c2},
    {"Agrave", 0x00c0},
    {"Aring", 0x00c5},
    {"Atilde", 0x00c3},
    {"Auml", 0x00c4},
    {"Ccedil", 0x00c7},
    {"Dagger", 0x2021},
    {"ETH", 0x00d0},
    {"Eacute", 0x00c9},
    {"Ecirc", 0x00ca},
    {"Egrave", 0x00c8},
    {"Euml", 0x00cb},
    {"Iacute", 0x00cd},
    {"Icirc", 0x00ce},
    {"Igrave", 0x00cc},
    {"Iuml", 0x00cf},
    {"Ntilde", 0x00d1},
    {"OElig", 0x0152},
    {"Oacute", 0x00d3},
    {"Ocirc", 0x00d4},
    {"Ograve", 0x00d2},
    {"Oslash", 0x00d8},
    {"Otilde", 0x00d5},
    {"Ouml", 0x00d6},
    {"Scaron", 0x0160},
    {"THORN", 0x00de},
    {"Uacute", 0x00da},
    {"Ucirc", 0x00db},
    {"Ugrave", 0x00d9},
    {"Uuml", 0x00dc},
    {"Yacute", 0x00dd},
    {"Yuml", 0x0178},
    {"aacute", 0x00e1},
    {"acirc", 0x00e2},
    {"acute", 0x00b4},
    {"aelig", 0x00e6},
    {"agrave", 0x00e0},
    {"amp", 0x0026},
    {"apos", 0x0027},
    {"aring", 0x00e5},
    {"atilde", 0x00e3},
    {"auml", 0x00e4},
    {"bdquo", 0x201e},
    {"brvbar", 0x00a6},
    {"bull", 0x2022},
    {"ccedil", 0x00e7},
    {"cedil", 0x00b8},
    {"cent", 0x00a2},
    {"copy", 0x00a9},
    {"curren", 0x00a4},
    {"dagger", 0x2020},
    {"darr", 0x2193},
    {"deg", 0x00b0},
    {"divide", 0x00f7},
    {"eacute", 0x00e9},
    {"ecirc", 0x00ea},
    {"egrave", 0x00e8},
    {"emsp", 0x2003},
    {"ensp", 0x2002},
    {"eth", 0x00f0},
    {"euml", 0x00eb},
    {"euro", 0x20ac},
    {"frac12", 0x00bd},
    {"frac14", 0x00bc},
    {"frac34", 0x00be},
    {"gt", 0x003e},
    {"hearts", 0x2665},
    {"hellip", 0x2026},
    {"iacute", 0x00ed},
    {"icirc", 0x00ee},
    {"iexcl", 0x00a1},
    {"igrave", 0x00ec},
    {"iquest", 0x00bf},
    {"iuml", 0x00ef},
    {"laquo", 0x00ab},
    {"larr", 0x2190},
    {"ldquo", 0x201c},
    {"lsaquo", 0x2039},
    {"lsquo", 0x2018},
    {"lt", 0x003c},
    {"macr", 0x00af},
    {"mdash", 0x2014},
    {"micro", 0x00b5},
    {"middot", 0x00b7},
    {"nbsp", 0x00a0},
    {"ndash", 0x2013},
    {"not", 0x00ac},
    {"ntilde", 0x00f1},
    {"oacute", 0x00f3},
    {"ocirc", 0x00f4},
    {"oelig", 0x0153},
    {"ograve", 0x00f2},
    {"ordf", 0x00aa},
    {"ordm", 0x00ba},
    {"oslash", 0x00f8},
    {"otilde", 0x00f5},
    {"ouml", 0x00f6},
    {"para", 0x00b6},
    {"permil", 0x2030},
    {"plusmn", 0x00b1},
    {"pound", 0x00a3},
    {"quot", 0x0022},
    {"raquo", 0x00bb},
    {"rarr", 0x2192},
    {"rdquo", 0x201d},
    {"reg", 0x00ae},
    {"rsaquo", 0x203a},
    {"rsquo", 0x2019},
    {"sbquo", 0x201a},
    {"scaron", 0x0161},
    {"sect", 0x00a7},
    {"shy", 0x00ad},
    {"sup1", 0x00b9},
    {"sup2", 0x00b2},
    {"sup3", 0x00b3},
    {"szlig", 0x00df},
    {"thinsp", 0x2009},
    {"thorn", 0x00fe},
    {"times", 0x00d7},
    {"trade", 0x2122},
    {"uacute", 0x00fa},
    {"uarr", 0x2191},
    {"ucirc", 0x00fb},
    {"ugrave", 0x00f9},
    {"uml", 0x00a8},
    {"uuml", 0x00fc},
    {"yacute", 0x00fd},
    {"yen", 0x00a5},
    {"yuml", 0x00ff},
    {"zwj", 0x200d},
    {"zwnj", 0x200c},
};

/* tags that break a line or a cell: they separate words */
static const char *const proto_html_blocks[] = {"address", "article", "aside",
    "blockquote", "body", "br", "button", "caption", "center", "dd", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1",
    "h2", "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "iframe",
    "input", "li", "main", "nav", "ol", "option", "p", "pre", "section",
    "select", "table", "tbody", "td", "textarea", "tfoot", "th", "thead",
    "title", "tr", "ul"};

/* attributes whose value is a URL reference */
static const char *const proto_html_urlattrs[] = {"action", "background",
    "data", "dynsrc", "formaction", "href", "lowsrc", "poster", "src"};

static const char *const proto_html_raw[] = {"", "</script", "</style"};

/* proto_html_cmp - bsearch comparison of a name with a string table */
static int
proto_html_cmp(const void *key, const void *elem)
{
	return strcmp((const char *)key, *(const char *const *)elem);
}

/* proto_html_ent_cmp - bsearch comparison for the reference table */
static int
proto_html_ent_cmp(const void *key, const void *elem)
{
	return strcmp(
	    (const char *)key, ((const struct proto_html_ent *)elem)->name);
}

/* proto_html_in - is the NUL-ended name in a sorted table */
static int
proto_html_in(const char *name, const char *const *tab, size_t n)
{
	return bsearch(name, tab, n, sizeof(tab[0]), proto_html_cmp) != NULL;
}

/* proto_html_init - start of a document */
void
proto_html_init(struct proto_html *h)
{
	memset(h, 0, sizeof(*h));
}

/* proto_html_blank - HTML white space */
static int
proto_html_blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* proto_html_alnum - ASCII letter or digit */
static int
proto_html_alnum(uint8_t c)
{
	return mx_ascii_is_alpha(c) || (c >= '0' && c <= '9');
}

/* proto_html_emit - decoded bytes to the text or the captured value */
static void
proto_html_emit(struct proto_html *h, const uint8_t *p, size_t n,
    const struct proto_html_sink *o)
{
	size_t k;

	if (h->ent_ret == PROTO_HS_TEXT) {
		if (n > 0)
			o->text(o->arg, p, n);
		return;
	}
	if (!h->capture)
		return;
	k = PROTO_HTML_VAL_MAX - h->val_len;
	if (n < k)
		k = n;
	memcpy(h->val + h->val_len, p, k);
	h->val_len = (uint16_t)(h->val_len + k);
}

/* proto_html_ent_value - code point of a reference body, or 0 */
static uint32_t
proto_html_ent_value(const char *e, size_t n)
{
	const struct proto_html_ent *f;
	uint32_t v = 0;
	size_t i = 1;
	int base = 10;

	if (n == 0)
		return 0;
	if (e[0] != '#') {
		f = bsearch(e, proto_html_ents,
		    sizeof(proto_html_ents) / sizeof(proto_html_ents[0]),
		    sizeof(proto_html_ents[0]), proto_html_ent_cmp);
		return f != NULL ? f->cp : 0;
	}
	if (n > 1 && (e[1] == 'x' || e[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == n)
		return 0;
	for (; i < n; i++) {
		int d;

		if (e[i] >= '0' && e[i] <= '9')
			d = e[i] - '0';
		else if (base == 16 && (e[i] | 0x20) >= 'a' &&
		         (e[i] | 0x20) <= 'f')
			d = (e[i] | 0x20) - 'a' + 10;
		else
			return 0;
		if (v <= 0x10ffff)
			v = v * (uint32_t)base + (uint32_t)d;
	}
	/* HTML5: 0, surrogates and past U+10FFFF are U+FFFD; C1 is 1252 */
	if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0xfffd;
	if (v >= 0x80 && v <= 0x9f) {
		uint8_t b = (uint8_t)v;
		struct proto_cs cs;
		uint8_t u[8];

		/* reuse the Windows-1252 table through the converter */
		proto_decode_cs_init(&cs, PROTO_CS_CP1252);
		if (proto_decode_cs(&cs, &b, 1, u) == 3)
			return (uint32_t)(u[0] & 0x0f) << 12 |
			       (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
		return 0xfffd;
	}
	return v;
}

/*
 * proto_html_ent_end - a reference ends before c (c < 0: at ';', which
 * is consumed). Emits the character, or the reference as written.
 */
static void
proto_html_ent_end(struct proto_html *h, int c, const struct proto_html_sink *o)
{
	uint8_t u[PROTO_HTML_ENT_MAX + 2];
	uint32_t cp;
	size_t n;

	h->ent[h->ent_len] = '\0';
	cp = proto_html_ent_value(h->ent, h->ent_len);
	/* in a value "&copy=2" is a query parameter, not a reference */
	if (cp != 0 && c >= 0 && h->ent_ret == PROTO_HS_VAL &&
	    h->ent[0] != '#' && (c == '=' || proto_html_alnum((uint8_t)c)))
		cp = 0;
	if (cp != 0) {
		n = proto_decode_utf8_put(cp, u);
	} else {
		u[0] = '&';
		memcpy(u + 1, h->ent, h->ent_len);
		n = 1 + (size_t)h->ent_len;
		if (c < 0)
			u[n++] = ';';
	}
	h->st = h->ent_ret;
	proto_html_emit(h, u, n, o);
}

/* proto_html_tag_end - '>' of a tag: block space, raw text, done */
static void
proto_html_tag_end(struct proto_html *h, const struct proto_html_sink *o)
{
	h->tag[h->tag_len] = '\0';
	h->st = PROTO_HS_TEXT;
	if (proto_html_in(h->tag, proto_html_blocks,
	        sizeof(proto_html_blocks) / sizeof(proto_html_blocks[0])))
		o->text(o->arg, (const uint8_t *)" ", 1);
	if (!h->is_end && strcmp(h->tag, "script") == 0) {
		h->raw = 1;
		h->st = PROTO_HS_RAW;
	} else if (!h->is_end && strcmp(h->tag, "style") == 0) {
		h->raw = 2;
		h->st = PROTO_HS_RAW;
	}
	h->raw_pos = 0;
}

/* proto_html_attr_begin - attribute name done: decide whether to keep */
static void
proto_html_attr_begin(struct proto_html *h)
{
	h->attr[h->attr_len] = '\0';
	h->capture = 0;
	h->val_len = 0;
	if (h->is_end)
		return;
	if (proto_html_in(h->attr, proto_html_urlattrs,
	        sizeof(proto_html_urlattrs) / sizeof(proto_html_urlattrs[0])))
		h->capture = PROTO_HTML_URL;
	else if (h->is_meta && strcmp(h->attr, "content") == 0)
		h->capture = PROTO_HTML_SCAN;
}

/* proto_html_val_end - an attribute value ends */
static void
proto_html_val_end(struct proto_html *h, const struct proto_html_sink *o)
{
	if (h->capture && h->val_len > 0)
		o->attr(o->arg, h->capture, h->val, h->val_len);
	h->capture = 0;
	h->val_len = 0;
	h->attr_len = 0;
	h->st = PROTO_HS_TAG;
}

/* proto_html_name_done - the tag name is known */
static void
proto_html_name_done(struct proto_html *h)
{
	h->tag[h->tag_len] = '\0';
	h->is_meta = !h->is_end && strcmp(h->tag, "meta") == 0;
}

/* proto_html_step - one byte in a non-text state; 0 = look at c again */
static int
proto_html_step(
    struct proto_html *h, uint8_t c, const struct proto_html_sink *o)
{
	switch (h->st) {
	case PROTO_HS_LT:
		if (mx_ascii_is_alpha(c)) {
			h->is_end = 0;
			h->tag[0] = (char)mx_ascii_lower(c);
			h->tag_len = 1;
			h->st = PROTO_HS_TAGNAME;
		} else if (c == '/') {
			h->st = PROTO_HS_ENDLT;
		} else if (c == '!') {
			h->st = PROTO_HS_BANG;
		} else if (c == '?') {
			h->st = PROTO_HS_DECL;
		} else {
			h->st = PROTO_HS_TEXT; /* "a < b": a literal '<' */
			o->text(o->arg, (const uint8_t *)"<", 1);
			return 0;
		}
		return 1;
	case PROTO_HS_ENDLT:
		if (mx_ascii_is_alpha(c)) {
			h->is_end = 1;
			h->tag[0] = (char)mx_ascii_lower(c);
			h->tag_len = 1;
			h->st = PROTO_HS_TAGNAME;
		} else {
			h->st = c == '>' ? PROTO_HS_TEXT : PROTO_HS_DECL;
		}
		return 1;
	case PROTO_HS_TAGNAME:
		if (proto_html_blank(c) || c == '/') {
			proto_html_name_done(h);
			h->st = PROTO_HS_TAG;
		} else if (c == '>') {
			proto_html_name_done(h);
			proto_html_tag_end(h, o);
		} else if (h->tag_len < PROTO_HTML_NAME_MAX - 1) {
			h->tag[h->tag_len++] = (char)mx_ascii_lower(c);
		}
		return 1;
	case PROTO_HS_TAG:
		if (c == '>') {
			proto_html_tag_end(h, o);
		} else if (!proto_html_blank(c) && c != '/') {
			h->attr[0] = (char)mx_ascii_lower(c);
			h->attr_len = 1;
			h->st = PROTO_HS_ATTRNAME;
		}
		return 1;
	case PROTO_HS_ATTRNAME:
		if (proto_html_blank(c)) {
			h->st = PROTO_HS_AFTERNAME;
		} else if (c == '=') {
			proto_html_attr_begin(h);
			h->st = PROTO_HS_BEFOREVAL;
		} else if (c == '>') {
			proto_html_tag_end(h, o);
		} else if (c == '/') {
			h->st = PROTO_HS_TAG;
		} else if (h->attr_len < PROTO_HTML_NAME_MAX - 1) {
			h->attr[h->attr_len++] = (char)mx_ascii_lower(c);
		}
		return 1;
	case PROTO_HS_AFTERNAME:
		if (c == '=') {
			proto_html_attr_begin(h);
			h->st = PROTO_HS_BEFOREVAL;
			return 1;
		}
		if (proto_html_blank(c))
			return 1;
		h->st = PROTO_HS_TAG;
		return 0;
	case PROTO_HS_BEFOREVAL:
		if (proto_html_blank(c))
			return 1;
		if (c == '>') {
			proto_html_val_end(h, o);
			proto_html_tag_end(h, o);
			return 1;
		}
		h->st = PROTO_HS_VAL;
		h->quote = (c == '"' || c == '\'') ? c : 0;
		return h->quote != 0;
	case PROTO_HS_VAL:
		if (h->quote ? c == h->quote : proto_html_blank(c)) {
			proto_html_val_end(h, o);
		} else if (!h->quote && c == '>') {
			proto_html_val_end(h, o);
			proto_html_tag_end(h, o);
		} else if (c == '&' && h->capture) {
			h->ent_len = 0;
			h->ent_ret = PROTO_HS_VAL;
			h->st = PROTO_HS_ENT;
		} else if (h->capture && h->val_len < PROTO_HTML_VAL_MAX) {
			h->val[h->val_len++] = c;
		}
		return 1;
	case PROTO_HS_ENT:
		if (c == ';') {
			proto_html_ent_end(h, -1, o);
			return 1;
		}
		if ((proto_html_alnum(c) || (c == '#' && h->ent_len == 0)) &&
		    h->ent_len < PROTO_HTML_ENT_MAX - 1) {
			h->ent[h->ent_len++] = (char)c;
			return 1;
		}
		proto_html_ent_end(h, c, o);
		return 0;
	case PROTO_HS_BANG:
		if (c == '-') {
			h->st = PROTO_HS_BANG1;
			return 1;
		}
		h->st = PROTO_HS_DECL; /* "<!DOCTYPE", "<!>", "<![CDATA[" */
		return 0;
	case PROTO_HS_BANG1:
		if (c == '-') {
			h->dashes = 0;
			h->st = PROTO_HS_COMMENT;
			return 1;
		}
		h->st = PROTO_HS_DECL;
		return 0;
	case PROTO_HS_COMMENT:
		if (c == '>' && h->dashes >= 2)
			h->st = PROTO_HS_TEXT;
		else if (c == '-')
			h->dashes =
			    h->dashes < 2 ? (uint8_t)(h->dashes + 1) : 2;
		else
			h->dashes = 0;
		return 1;
	case PROTO_HS_DECL:
		if (c == '>')
			h->st = PROTO_HS_TEXT;
		return 1;
	default: /* PROTO_HS_RAW */
	{
		const char *end = proto_html_raw[h->raw];

		if (end[h->raw_pos] == '\0') {
			/* "</script" matched: a real end tag needs a break */
			if (proto_html_blank(c) || c == '/' || c == '>') {
				h->is_end = 1;
				h->raw = 0;
				h->tag_len = 0;
				h->st = PROTO_HS_TAG;
				return 0;
			}
			h->raw_pos = 0;
		}
		if (mx_ascii_lower(c) == (uint8_t)end[h->raw_pos])
			h->raw_pos++;
		else
			h->raw_pos = c == '<' ? 1 : 0;
		return 1;
	}
	}
}

/* proto_html_feed - convert a piece of the document */
void
proto_html_feed(struct proto_html *h, const uint8_t *p, size_t n,
    const struct proto_html_sink *o)
{
	size_t i = 0;

	while (i < n) {
		if (h->st == PROTO_HS_TEXT) {
			size_t j = i;

			while (j < n && p[j] != '<' && p[j] != '&')
				j++;
			if (j > i)
				o->text(o->arg, p + i, j - i);
			if (j == n)
				return;
			if (p[j] == '<') {
				h->st = PROTO_HS_LT;
			} else {
				h->st = PROTO_HS_ENT;
				h->ent_ret = PROTO_HS_TEXT;
				h->ent_len = 0;
			}
			i = j + 1;
			continue;
		}
		if (h->st == PROTO_HS_VAL && !h->capture && h->quote) {
			const uint8_t *q = memchr(p + i, h->quote, n - i);

			/* a value nobody wants: skip to its quote */
			if (q == NULL)
				return;
			i = (size_t)(q - p);
		} else if (h->st == PROTO_HS_DECL) {
			const uint8_t *q = memchr(p + i, '>', n - i);

			if (q == NULL)
				return;
			i = (size_t)(q - p);
		} else if (h->st == PROTO_HS_RAW && h->raw_pos == 0) {
			const uint8_t *q = memchr(p + i, '<', n - i);

			if (q == NULL)
				return;
			i = (size_t)(q - p);
		}
		i += (size_t)proto_html_step(h, p[i], o);
	}
}

/* proto_html_end - end of document */
void
proto_html_end(struct proto_html *h, const struct proto_html_sink *o)
{
	if (h->st == PROTO_HS_ENT && h->ent_ret == PROTO_HS_TEXT)
		proto_html_ent_end(h, ' ', o);
	else if (h->st == PROTO_HS_LT)
		o->text(o->arg, (const uint8_t *)"<", 1);
	proto_html_init(h);
}
