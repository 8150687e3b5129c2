/*
 * edge_cmd.c - SMTP command line parser of mxedge
 *
 * Turns one command line (without its CRLF) into a verb, its argument and,
 * for MAIL FROM and RCPT TO, the parsed path and ESMTP parameters (RFC
 * 5321 4.1, SIZE RFC 1870, BODY RFC 6152, SMTPUTF8 RFC 6531). Every way a
 * line can be wrong has its own edge_cmd_err, mapped to a reply with an
 * enhanced status code by edge_cmd_reply(). No I/O, no allocation: the
 * session calls it on lines it has already cut and length-checked, and
 * tests and fuzz_smtp_cmd call it directly.
 * Leniency, on purpose: verbs and keywords are case-insensitive, spaces
 * after "FROM:"/"TO:" and between parameters are skipped, trailing spaces
 * are ignored, source routes are parsed and dropped. Missing angle
 * brackets are refused (they are how address injection starts).
 * Trust: the line comes from the Internet. The caller bounds its length
 * (smtp_line_limit); here the local part is bounded by EDGE_CMD_LOCAL_MAX,
 * the domain by EDGE_CMD_DOMAIN_MAX (labels EDGE_CMD_LABEL_MAX), the path
 * by EDGE_CMD_PATH_MAX and the parameters by EDGE_CMD_PARAM_MAX. NUL, CR
 * and LF inside the line are refused before anything else looks at it.
 * Address literals are checked by inet_pton on a bounded NUL-terminated
 * copy on the stack.
 */
#include "edge/edge.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "lib/mx_err.h"
#include "lib/mx_parse.h"

/* one entry of the verb table */
struct edge_cmd_verb_ent {
	const char *name;        /* upper case */
	size_t len;              /* strlen(name) */
	enum edge_cmd_verb verb; /* what it maps to */
};

#define EDGE_CMD_VERB(s, v)                                                    \
	{                                                                      \
		s, sizeof(s) - 1, v                                            \
	}

static const struct edge_cmd_verb_ent edge_cmd_verbs[] = {
    EDGE_CMD_VERB("HELO", EDGE_CMD_HELO),
    EDGE_CMD_VERB("EHLO", EDGE_CMD_EHLO),
    EDGE_CMD_VERB("MAIL", EDGE_CMD_MAIL),
    EDGE_CMD_VERB("RCPT", EDGE_CMD_RCPT),
    EDGE_CMD_VERB("DATA", EDGE_CMD_DATA),
    EDGE_CMD_VERB("RSET", EDGE_CMD_RSET),
    EDGE_CMD_VERB("NOOP", EDGE_CMD_NOOP),
    EDGE_CMD_VERB("QUIT", EDGE_CMD_QUIT),
    EDGE_CMD_VERB("VRFY", EDGE_CMD_VRFY),
    EDGE_CMD_VERB("EXPN", EDGE_CMD_EXPN),
    EDGE_CMD_VERB("HELP", EDGE_CMD_HELP),
    EDGE_CMD_VERB("STARTTLS", EDGE_CMD_STARTTLS),
    EDGE_CMD_VERB("BDAT", EDGE_CMD_BDAT),
    EDGE_CMD_VERB("AUTH", EDGE_CMD_AUTH),
    EDGE_CMD_VERB("ETRN", EDGE_CMD_ETRN),
    EDGE_CMD_VERB("GET", EDGE_CMD_HTTP),
    EDGE_CMD_VERB("POST", EDGE_CMD_HTTP),
    EDGE_CMD_VERB("HEAD", EDGE_CMD_HTTP),
    EDGE_CMD_VERB("PUT", EDGE_CMD_HTTP),
    EDGE_CMD_VERB("CONNECT", EDGE_CMD_HTTP),
    EDGE_CMD_VERB("OPTIONS", EDGE_CMD_HTTP),
    EDGE_CMD_VERB("DELETE", EDGE_CMD_HTTP),
};

#define EDGE_CMD_NVERBS (sizeof(edge_cmd_verbs) / sizeof(edge_cmd_verbs[0]))

/* longest address literal body we hand to inet_pton: IPv6 text form */
#define EDGE_CMD_LITERAL_MAX 45

/* edge_cmd_is_alpha - ASCII letter */
static int
edge_cmd_is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* edge_cmd_is_digit - ASCII digit */
static int
edge_cmd_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* edge_cmd_is_atext - RFC 5322 atext, ASCII part */
static int
edge_cmd_is_atext(unsigned char c)
{
	if (edge_cmd_is_alpha(c) || edge_cmd_is_digit(c))
		return 1;
	return memchr("!#$%&'*+-/=?^_`{|}~", c, 19) != NULL;
}

/* edge_cmd_lower - ASCII lower case; other bytes unchanged */
static char
edge_cmd_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/*
 * edge_cmd_utf8_len - length of the well-formed UTF-8 sequence at s (at
 * most len bytes), or 0 when it is not one: no overlong forms, no
 * surrogates, nothing above U+10FFFF (RFC 3629)
 */
static size_t
edge_cmd_utf8_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > len)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* edge_cmd_literal_check - body of [...]: IPv4 or "IPv6:" + IPv6 */
static int
edge_cmd_literal_check(const char *s, size_t len)
{
	char tmp[EDGE_CMD_LITERAL_MAX + 1];
	unsigned char addr[sizeof(struct in6_addr)];
	int af = AF_INET;

	if (len > 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		af = AF_INET6;
		s += 5;
		len -= 5;
	}
	/* a NUL would end the copy early and let "[1.2.3.4\0x]" pass */
	if (len == 0 || len > EDGE_CMD_LITERAL_MAX ||
	    memchr(s, '\0', len) != NULL)
		return MX_EPROTO;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(af, tmp, addr) != 1)
		return MX_EPROTO;
	return 0;
}

/* edge_cmd_domain_parse - check and lower-case a domain or literal */
int
edge_cmd_domain_parse(const char *s, size_t len, unsigned flags, char *out,
    size_t out_size, enum edge_cmd_err *why)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, label = 0, n, k;
	enum edge_cmd_err e = EDGE_CMD_E_ADDR_SYNTAX;
	int rc = MX_EPROTO;

	if (len == 0)
		goto out;
	if (len > EDGE_CMD_DOMAIN_MAX) {
		e = EDGE_CMD_E_DOMAIN_TOO_LONG;
		rc = MX_ETOOBIG;
		goto out;
	}
	if (out != NULL && out_size <= len) {
		rc = MX_EINVAL;
		goto out;
	}
	if (u[0] == '[') {
		if (!(flags & EDGE_CMD_DOM_LITERAL) || len < 3 ||
		    u[len - 1] != ']')
			goto out;
		if (edge_cmd_literal_check(s + 1, len - 2) != 0)
			goto out;
	} else {
		for (i = 0; i < len; i += n) {
			n = 1;
			if (u[i] == '.') {
				/* empty label, or one ending in '-' */
				if (label == 0 || u[i - 1] == '-')
					goto out;
				label = 0;
				continue;
			}
			if (u[i] == '-') {
				if (label == 0)
					goto out;
			} else if (u[i] >= 0x80) {
				if (!(flags & EDGE_CMD_DOM_UTF8))
					goto out;
				n = edge_cmd_utf8_len(u + i, len - i);
				if (n == 0)
					goto out;
			} else if (!edge_cmd_is_alpha(u[i]) &&
			           !edge_cmd_is_digit(u[i])) {
				goto out;
			}
			label += n;
			if (label > EDGE_CMD_LABEL_MAX)
				goto out;
		}
		if (label == 0 || u[len - 1] == '-')
			goto out;
	}
	if (out != NULL) {
		for (k = 0; k < len; k++)
			out[k] = edge_cmd_lower(s[k]);
		out[len] = '\0';
	}
	e = EDGE_CMD_OK;
	rc = 0;
out:
	*why = e;
	return rc;
}

/*
 * edge_cmd_local_parse - local part at s[0..len): a dot-string or a
 * quoted string; sets *end to the first byte after it
 */
static int
edge_cmd_local_parse(
    const char *s, size_t len, size_t *end, int *is_quoted, int *has_utf8)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n, atom = 0;
	int quoted = 0, utf8 = 0;

	if (len == 0)
		return MX_EPROTO;
	if (u[0] == '"') {
		quoted = 1;
		for (i = 1; i < len; i += n) {
			n = 1;
			if (u[i] == '"')
				break;
			if (u[i] == '\\') {
				/* quoted-pairSMTP: backslash, then %d32-126 */
				if (i + 1 >= len || u[i + 1] < 32 ||
				    u[i + 1] > 126)
					return MX_EPROTO;
				n = 2;
			} else if (u[i] >= 0x80) {
				n = edge_cmd_utf8_len(u + i, len - i);
				if (n == 0)
					return MX_EPROTO;
				utf8 = 1;
			} else if (u[i] < 32 || u[i] > 126) {
				return MX_EPROTO;
			}
		}
		if (i >= len)
			return MX_EPROTO;
		i++;
	} else {
		for (i = 0; i < len; i += n) {
			n = 1;
			if (u[i] == '.') {
				if (atom == 0)
					return MX_EPROTO;
				atom = 0;
				continue;
			}
			if (u[i] >= 0x80) {
				n = edge_cmd_utf8_len(u + i, len - i);
				if (n == 0)
					return MX_EPROTO;
				utf8 = 1;
			} else if (!edge_cmd_is_atext(u[i])) {
				break;
			}
			atom += n;
		}
		if (atom == 0)
			return MX_EPROTO;
	}
	*end = i;
	*is_quoted = quoted;
	*has_utf8 = utf8;
	return 0;
}

/*
 * edge_cmd_path_parse - "<" [route ":"] mailbox ">" or "<>" at s[0..len);
 * sets *end past the '>'
 */
static int
edge_cmd_path_parse(const char *s, size_t len, enum edge_cmd_verb verb,
    struct edge_cmd_path *path, size_t *end, enum edge_cmd_err *why)
{
	size_t i = 1, j, lend = 0;
	const char *gt;
	enum edge_cmd_err e = EDGE_CMD_E_PATH_SYNTAX;
	int rc = MX_EPROTO, quoted = 0, utf8 = 0;

	memset(path, 0, sizeof(*path));
	if (len < 2 || s[0] != '<')
		goto out;
	if (s[1] == '>') {
		if (verb != EDGE_CMD_MAIL) {
			e = EDGE_CMD_E_ADDR_SYNTAX;
			goto out;
		}
		path->is_null = 1;
		*end = 2;
		e = EDGE_CMD_OK;
		rc = 0;
		goto out;
	}
	/* source route: @a,@b: is checked, then dropped (RFC 5321 C) */
	if (s[i] == '@') {
		for (;;) {
			i++;
			for (j = i; j < len && s[j] != ',' && s[j] != ':' &&
			            s[j] != '>';
			     j++)
				;
			if (j >= len || s[j] == '>') {
				e = EDGE_CMD_E_ADDR_SYNTAX;
				goto out;
			}
			rc = edge_cmd_domain_parse(
			    s + i, j - i, EDGE_CMD_DOM_UTF8, NULL, 0, &e);
			if (rc != 0)
				goto out;
			rc = MX_EPROTO;
			i = j + 1;
			if (s[j] == ':')
				break;
			if (i >= len || s[i] != '@') {
				e = EDGE_CMD_E_ADDR_SYNTAX;
				goto out;
			}
		}
		path->had_route = 1;
	}
	e = EDGE_CMD_E_ADDR_SYNTAX;
	if (edge_cmd_local_parse(s + i, len - i, &lend, &quoted, &utf8) != 0)
		goto out;
	if (lend > EDGE_CMD_LOCAL_MAX) {
		e = EDGE_CMD_E_LOCAL_TOO_LONG;
		rc = MX_ETOOBIG;
		goto out;
	}
	path->local = s + i;
	path->local_len = lend;
	path->is_quoted = quoted;
	path->has_utf8 = utf8;
	i += lend;
	if (i >= len) {
		e = EDGE_CMD_E_PATH_SYNTAX;
		goto out;
	}
	if (s[i] == '>') {
		/* RFC 5321 4.1.1.3: RCPT TO:<Postmaster> needs no domain */
		if (verb != EDGE_CMD_RCPT || quoted || lend != 10 ||
		    strncasecmp(path->local, "postmaster", 10) != 0)
			goto out;
		path->is_postmaster = 1;
		j = i;
	} else {
		if (s[i] != '@')
			goto out;
		i++;
		gt = memchr(s + i, '>', len - i);
		if (gt == NULL) {
			e = EDGE_CMD_E_PATH_SYNTAX;
			goto out;
		}
		j = (size_t)(gt - s);
		rc = edge_cmd_domain_parse(s + i, j - i,
		    EDGE_CMD_DOM_LITERAL | EDGE_CMD_DOM_UTF8, path->domain,
		    sizeof(path->domain), &e);
		if (rc != 0)
			goto out;
		rc = MX_EPROTO;
		path->domain_raw = s + i;
		path->domain_len = j - i;
		path->is_literal = s[i] == '[';
		for (i = 0; i < path->domain_len; i++)
			if ((unsigned char)path->domain[i] >= 0x80)
				path->has_utf8 = 1;
	}
	/* the limit counts the brackets and the route (RFC 5321 4.5.3.1.3) */
	if (j + 1 > EDGE_CMD_PATH_MAX) {
		e = EDGE_CMD_E_PATH_TOO_LONG;
		rc = MX_ETOOBIG;
		goto out;
	}
	*end = j + 1;
	e = EDGE_CMD_OK;
	rc = 0;
out:
	*why = e;
	return rc;
}

/* edge_cmd_param_one - apply one keyword[=value] to cmd */
static int
edge_cmd_param_one(const char *s, size_t len, struct edge_cmd *cmd,
    unsigned *seen, enum edge_cmd_err *why)
{
	const char *eq = memchr(s, '=', len);
	size_t klen = eq != NULL ? (size_t)(eq - s) : len, vlen = 0, i;
	const char *v = eq != NULL ? eq + 1 : NULL;
	uint64_t size;
	unsigned bit;
	int rc;

	if (eq != NULL)
		vlen = len - klen - 1;
	/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
	if (klen == 0 || s[0] == '-')
		goto syntax;
	for (i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!edge_cmd_is_alpha(c) && !edge_cmd_is_digit(c) && c != '-')
			goto syntax;
	}
	/* esmtp-value = 1*(%d33-60 / %d62-126) */
	if (eq != NULL) {
		if (vlen == 0)
			goto syntax;
		for (i = 0; i < vlen; i++) {
			unsigned char c = (unsigned char)v[i];

			if (c < 33 || c > 126 || c == '=')
				goto syntax;
		}
	}
	if (cmd->verb != EDGE_CMD_MAIL)
		goto unknown;
	if (klen == 4 && strncasecmp(s, "SIZE", 4) == 0)
		bit = 1;
	else if (klen == 4 && strncasecmp(s, "BODY", 4) == 0)
		bit = 2;
	else if (klen == 8 && strncasecmp(s, "SMTPUTF8", 8) == 0)
		bit = 4;
	else
		goto unknown;
	if (*seen & bit) {
		*why = EDGE_CMD_E_PARAM_DUP;
		return MX_EPROTO;
	}
	*seen |= bit;
	if (bit == 1) {
		if (v == NULL)
			goto value;
		for (i = 0; i < vlen; i++)
			if (!edge_cmd_is_digit((unsigned char)v[i]))
				goto value;
		/* digits that overflow u64 are over every limit anyway */
		rc = mx_parse_u64(v, vlen, 0, UINT64_MAX, &size);
		if (rc == MX_ERANGE)
			size = UINT64_MAX;
		else if (rc != 0)
			goto value;
		cmd->size = size;
		cmd->has_size = 1;
	} else if (bit == 2) {
		if (v != NULL && vlen == 4 && strncasecmp(v, "7BIT", 4) == 0)
			cmd->body = EDGE_CMD_BODY_7BIT;
		else if (v != NULL && vlen == 8 &&
		         strncasecmp(v, "8BITMIME", 8) == 0)
			cmd->body = EDGE_CMD_BODY_8BITMIME;
		else
			goto value;
	} else {
		if (v != NULL)
			goto value;
		cmd->is_smtputf8 = 1;
	}
	return 0;
syntax:
	*why = EDGE_CMD_E_PARAM_SYNTAX;
	return MX_EPROTO;
unknown:
	*why = EDGE_CMD_E_PARAM_UNKNOWN;
	return MX_EPROTO;
value:
	*why = EDGE_CMD_E_PARAM_VALUE;
	return MX_EPROTO;
}

/*
 * edge_cmd_params_parse - SP-separated ESMTP parameters at s[0..len). The
 * count is checked over the whole list first, so the limit holds whatever
 * the parameters are and no work is spent on a list that is refused.
 */
static int
edge_cmd_params_parse(
    const char *s, size_t len, struct edge_cmd *cmd, enum edge_cmd_err *why)
{
	size_t i, j;
	unsigned seen = 0, n = 0;
	const char *sp;
	int pass, rc;

	for (pass = 0; pass < 2; pass++) {
		i = 0;
		while (i < len) {
			if (s[i] == ' ') {
				i++;
				continue;
			}
			sp = memchr(s + i, ' ', len - i);
			j = sp != NULL ? (size_t)(sp - s) : len;
			if (pass == 0 && ++n > EDGE_CMD_PARAM_MAX) {
				*why = EDGE_CMD_E_PARAM_TOO_MANY;
				return MX_ELIMIT;
			}
			if (pass == 1) {
				rc = edge_cmd_param_one(
				    s + i, j - i, cmd, &seen, why);
				if (rc != 0)
					return rc;
			}
			i = j;
		}
	}
	cmd->nparams = n;
	return 0;
}

/*
 * edge_cmd_mail_rcpt - "FROM:" / "TO:", spaces, path, parameters; cmd->arg
 * is already set
 */
static int
edge_cmd_mail_rcpt(struct edge_cmd *cmd, enum edge_cmd_err *why)
{
	const char *a = cmd->arg, *kw;
	size_t len = cmd->arg_len, i, kwlen, end = 0;
	int rc;

	kw = cmd->verb == EDGE_CMD_MAIL ? "FROM:" : "TO:";
	kwlen = cmd->verb == EDGE_CMD_MAIL ? 5 : 3;
	if (len < kwlen || strncasecmp(a, kw, kwlen) != 0)
		goto syntax;
	/* lenient: "MAIL FROM: <a@b>" is common and harmless */
	for (i = kwlen; i < len && a[i] == ' '; i++)
		;
	if (i >= len || a[i] != '<')
		goto syntax;
	rc = edge_cmd_path_parse(
	    a + i, len - i, cmd->verb, &cmd->path, &end, why);
	if (rc != 0)
		return rc;
	i += end;
	if (i < len && a[i] != ' ')
		goto syntax;
	if ((rc = edge_cmd_params_parse(a + i, len - i, cmd, why)) != 0)
		return rc;
	/* RFC 6531 3.4: an i18n sender needs SMTPUTF8 on this MAIL; a RCPT
	 * is checked by the session, which knows the transaction's MAIL */
	if (cmd->verb == EDGE_CMD_MAIL && cmd->path.has_utf8 &&
	    !cmd->is_smtputf8) {
		*why = EDGE_CMD_E_UTF8_ADDR;
		return MX_EPROTO;
	}
	return 0;
syntax:
	*why = EDGE_CMD_E_PATH_SYNTAX;
	return MX_EPROTO;
}

/* edge_cmd_verb_lookup - verb word to enum, case-insensitive */
static enum edge_cmd_verb
edge_cmd_verb_lookup(const char *w, size_t len)
{
	size_t i;

	for (i = 0; i < EDGE_CMD_NVERBS; i++)
		if (edge_cmd_verbs[i].len == len &&
		    strncasecmp(w, edge_cmd_verbs[i].name, len) == 0)
			return edge_cmd_verbs[i].verb;
	return EDGE_CMD_UNKNOWN;
}

/* edge_cmd_parse - parse one command line */
int
edge_cmd_parse(const char *line, size_t len, struct edge_cmd *cmd,
    enum edge_cmd_err *why, enum edge_cmd_verb *verb_out)
{
	struct edge_cmd c;
	const char *sp;
	size_t wlen, i;
	enum edge_cmd_err e = EDGE_CMD_OK;
	int rc = MX_EPROTO;

	memset(&c, 0, sizeof(c));
	/* before anything reads it as text: NUL truncates C strings
	 * downstream, and a CR or LF here is a line the caller split wrong
	 * or an injection attempt */
	if (memchr(line, '\0', len) != NULL) {
		e = EDGE_CMD_E_NUL;
		goto out;
	}
	if (memchr(line, '\r', len) != NULL ||
	    memchr(line, '\n', len) != NULL) {
		e = EDGE_CMD_E_BARE_NEWLINE;
		goto out;
	}
	sp = memchr(line, ' ', len);
	wlen = sp != NULL ? (size_t)(sp - line) : len;
	c.verb = edge_cmd_verb_lookup(line, wlen);
	for (i = wlen; i < len && line[i] == ' '; i++)
		;
	c.arg = line + i;
	c.arg_len = len - i;
	while (c.arg_len > 0 &&
	       (c.arg[c.arg_len - 1] == ' ' || c.arg[c.arg_len - 1] == '\t'))
		c.arg_len--;
	switch (c.verb) {
	case EDGE_CMD_MAIL:
	case EDGE_CMD_RCPT:
		if ((rc = edge_cmd_mail_rcpt(&c, &e)) != 0)
			goto out;
		break;
	case EDGE_CMD_HELO:
	case EDGE_CMD_EHLO:
	case EDGE_CMD_VRFY:
	case EDGE_CMD_EXPN:
		if (c.arg_len == 0) {
			e = EDGE_CMD_E_ARG_REQUIRED;
			goto out;
		}
		break;
	case EDGE_CMD_DATA:
	case EDGE_CMD_RSET:
	case EDGE_CMD_QUIT:
	case EDGE_CMD_STARTTLS:
		if (c.arg_len != 0) {
			e = EDGE_CMD_E_NO_ARGS;
			goto out;
		}
		break;
	default:
		break;
	}
	*cmd = c;
	e = EDGE_CMD_OK;
	rc = 0;
out:
	*why = e;
	if (verb_out != NULL)
		*verb_out = c.verb;
	return rc;
}

/* edge_cmd_reply - reply text for a refusal */
const char *
edge_cmd_reply(enum edge_cmd_err err, enum edge_cmd_verb verb)
{
	int is_rcpt = verb == EDGE_CMD_RCPT;
	int is_helo = verb == EDGE_CMD_HELO || verb == EDGE_CMD_EHLO;

	switch (err) {
	case EDGE_CMD_E_NUL:
		return "501 5.5.2 NUL byte in command";
	case EDGE_CMD_E_BARE_NEWLINE:
		return "501 5.5.2 Bare CR or LF in command";
	case EDGE_CMD_E_LINE_TOO_LONG:
		return "500 5.5.2 Line too long";
	case EDGE_CMD_E_UNRECOGNIZED:
		return "500 5.5.1 Command unrecognized";
	case EDGE_CMD_E_NOT_IMPLEMENTED:
		return "502 5.5.1 Command not implemented";
	case EDGE_CMD_E_NO_ARGS:
		return "501 5.5.4 No parameters allowed";
	case EDGE_CMD_E_ARG_REQUIRED:
		return is_helo ? "501 5.5.4 Syntax: EHLO hostname"
		               : "501 5.5.4 Argument required";
	case EDGE_CMD_E_PATH_SYNTAX:
		return is_rcpt ? "501 5.5.4 Syntax: RCPT TO:<address>"
		               : "501 5.5.4 Syntax: MAIL FROM:<address>";
	case EDGE_CMD_E_ADDR_SYNTAX:
		if (is_helo)
			return "501 5.5.4 Invalid domain name";
		return is_rcpt ? "553 5.1.3 Bad recipient address syntax"
		               : "553 5.1.7 Bad sender address syntax";
	case EDGE_CMD_E_LOCAL_TOO_LONG:
		return is_rcpt ? "553 5.1.3 Recipient local part too long"
		               : "553 5.1.7 Sender local part too long";
	case EDGE_CMD_E_DOMAIN_TOO_LONG:
		if (is_helo)
			return "501 5.5.4 Domain name too long";
		return is_rcpt ? "553 5.1.3 Recipient domain too long"
		               : "553 5.1.7 Sender domain too long";
	case EDGE_CMD_E_PATH_TOO_LONG:
		return is_rcpt ? "553 5.1.3 Recipient path too long"
		               : "553 5.1.7 Sender path too long";
	case EDGE_CMD_E_UTF8_ADDR:
		return "553 5.6.7 non-ASCII address without SMTPUTF8";
	case EDGE_CMD_E_PARAM_SYNTAX:
		return "501 5.5.4 Syntax error in parameters";
	case EDGE_CMD_E_PARAM_UNKNOWN:
		return "555 5.5.4 Unsupported parameter";
	case EDGE_CMD_E_PARAM_VALUE:
		return "501 5.5.4 Invalid parameter value";
	case EDGE_CMD_E_PARAM_DUP:
		return "501 5.5.4 Duplicate parameter";
	case EDGE_CMD_E_PARAM_TOO_MANY:
		return "555 5.5.4 Too many parameters";
	case EDGE_CMD_OK:
		break;
	}
	/* never a 2xx for something that is not an accepted command */
	return "451 4.3.0 Internal error";
}

/* edge_cmd_verb_name - verb as text */
const char *
edge_cmd_verb_name(enum edge_cmd_verb verb)
{
	size_t i;

	if (verb == EDGE_CMD_HTTP)
		return "HTTP";
	for (i = 0; i < EDGE_CMD_NVERBS; i++)
		if (edge_cmd_verbs[i].verb == verb)
			return edge_cmd_verbs[i].name;
	return "UNKNOWN";
}
