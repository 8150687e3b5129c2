/*
 * edge_cmd_test.c - unit tests of edge_cmd.c, the SMTP command parser
 *
 * Verbs, argument views, MAIL/RCPT paths (null sender, quoted local
 * parts, source routes, address literals, UTF-8), ESMTP parameters, each
 * RFC 5321 limit at the limit and one past it, and the reply of every
 * refusal.
 * Trust: test data only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_err.h"

#include "edge/edge.h"

#define S(lit) lit, sizeof(lit) - 1

/* ct_ok - parse must succeed; returns the command */
static struct edge_cmd
ct_ok(const char *line, size_t len)
{
	struct edge_cmd c;
	enum edge_cmd_err why = EDGE_CMD_E_NUL;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = edge_cmd_parse(line, len, &c, &why, NULL);
	if (rc != 0)
		fail_msg("'%.*s': rc %d why %d", (int)len, line, rc, why);
	assert_int_equal(why, EDGE_CMD_OK);
	return c;
}

/* ct_fail - parse must fail with rc and why; returns the reply */
static const char *
ct_fail(const char *line, size_t len, int rc_exp, enum edge_cmd_err why_exp)
{
	struct edge_cmd c;
	enum edge_cmd_err why = EDGE_CMD_OK;
	enum edge_cmd_verb verb = EDGE_CMD_HTTP;
	int rc;

	memset(&c, 0x5a, sizeof(c));
	rc = edge_cmd_parse(line, len, &c, &why, &verb);
	if (rc != rc_exp || why != why_exp)
		fail_msg("'%.*s': rc %d why %d, want %d %d", (int)len, line, rc,
		    why, rc_exp, why_exp);
	/* out-parameter untouched on failure */
	assert_int_equal(((unsigned char *)&c)[0], 0x5a);
	return edge_cmd_reply(why, verb);
}

/* ct_ok_s - ct_ok on a NUL-terminated line */
static struct edge_cmd
ct_ok_s(const char *line)
{
	return ct_ok(line, strlen(line));
}

/* test_verbs_case_insensitive - every verb, any case; HTTP methods; unknown
 * words */
static void
test_verbs_case_insensitive(void **state)
{
	static const struct {
		const char *line;
		enum edge_cmd_verb verb;
	} t[] = {
	    {"HELO a.example", EDGE_CMD_HELO},
	    {"ehlo a.example", EDGE_CMD_EHLO},
	    {"Mail FROM:<>", EDGE_CMD_MAIL},
	    {"rcpt to:<a@b.c>", EDGE_CMD_RCPT},
	    {"DATA", EDGE_CMD_DATA},
	    {"rset", EDGE_CMD_RSET},
	    {"NOOP", EDGE_CMD_NOOP},
	    {"noop whatever", EDGE_CMD_NOOP},
	    {"QUIT", EDGE_CMD_QUIT},
	    {"VRFY postmaster", EDGE_CMD_VRFY},
	    {"EXPN list", EDGE_CMD_EXPN},
	    {"HELP", EDGE_CMD_HELP},
	    {"help MAIL", EDGE_CMD_HELP},
	    {"StartTLS", EDGE_CMD_STARTTLS},
	    {"BDAT 100 LAST", EDGE_CMD_BDAT},
	    {"AUTH PLAIN", EDGE_CMD_AUTH},
	    {"ETRN example.com", EDGE_CMD_ETRN},
	    {"GET / HTTP/1.1", EDGE_CMD_HTTP},
	    {"POST /x HTTP/1.0", EDGE_CMD_HTTP},
	    {"HEAD / HTTP/1.1", EDGE_CMD_HTTP},
	    {"PUT /x HTTP/1.1", EDGE_CMD_HTTP},
	    {"CONNECT a:25 HTTP/1.1", EDGE_CMD_HTTP},
	    {"OPTIONS * HTTP/1.1", EDGE_CMD_HTTP},
	    {"DELETE /x HTTP/1.1", EDGE_CMD_HTTP},
	    {"XYZZY", EDGE_CMD_UNKNOWN},
	    {"MAILFROM:<a@b>", EDGE_CMD_UNKNOWN},
	    {"QUITX", EDGE_CMD_UNKNOWN},
	    {" QUIT", EDGE_CMD_UNKNOWN},
	    {"", EDGE_CMD_UNKNOWN},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct edge_cmd c = ct_ok_s(t[i].line);

		if (c.verb != t[i].verb)
			fail_msg("'%s': verb %d", t[i].line, c.verb);
	}
	assert_string_equal(edge_cmd_verb_name(EDGE_CMD_STARTTLS), "STARTTLS");
	assert_string_equal(edge_cmd_verb_name(EDGE_CMD_HTTP), "HTTP");
	assert_string_equal(edge_cmd_verb_name(EDGE_CMD_UNKNOWN), "UNKNOWN");
}

/* test_arg_view_skips_spaces_and_trims - argument view: leading spaces skipped,
 * trailing SP/HT cut */
static void
test_arg_view_skips_spaces_and_trims(void **state)
{
	struct edge_cmd c;

	(void)state;
	c = ct_ok_s("EHLO   mx.example.org  \t ");
	assert_int_equal(c.arg_len, 14);
	assert_memory_equal(c.arg, "mx.example.org", 14);
	c = ct_ok_s("QUIT   ");
	assert_int_equal(c.arg_len, 0);
	c = ct_ok_s("XFOO bar baz");
	assert_int_equal(c.verb, EDGE_CMD_UNKNOWN);
	assert_int_equal(c.arg_len, 7);
}

/* test_no_args_verbs_refuse_text_501 - DATA, RSET, QUIT, STARTTLS take no
 * argument */
static void
test_no_args_verbs_refuse_text_501(void **state)
{
	(void)state;
	assert_string_equal(ct_fail(S("DATA x"), MX_EPROTO, EDGE_CMD_E_NO_ARGS),
	    "501 5.5.4 No parameters allowed");
	ct_fail(S("RSET now"), MX_EPROTO, EDGE_CMD_E_NO_ARGS);
	ct_fail(S("QUIT please"), MX_EPROTO, EDGE_CMD_E_NO_ARGS);
	ct_fail(S("STARTTLS x"), MX_EPROTO, EDGE_CMD_E_NO_ARGS);
}

/* test_helo_without_name_refused_501 - HELO, EHLO, VRFY, EXPN need an argument
 */
static void
test_helo_without_name_refused_501(void **state)
{
	(void)state;
	assert_string_equal(
	    ct_fail(S("EHLO"), MX_EPROTO, EDGE_CMD_E_ARG_REQUIRED),
	    "501 5.5.4 Syntax: EHLO hostname");
	ct_fail(S("HELO   "), MX_EPROTO, EDGE_CMD_E_ARG_REQUIRED);
	assert_string_equal(
	    ct_fail(S("VRFY"), MX_EPROTO, EDGE_CMD_E_ARG_REQUIRED),
	    "501 5.5.4 Argument required");
	ct_fail(S("EXPN"), MX_EPROTO, EDGE_CMD_E_ARG_REQUIRED);
}

/* test_nul_in_command_refused_501_5_5_2 - a NUL anywhere refuses the line */
static void
test_nul_in_command_refused_501_5_5_2(void **state)
{
	(void)state;
	assert_string_equal(
	    ct_fail(S("MAIL FROM:<a@b.c>\0x"), MX_EPROTO, EDGE_CMD_E_NUL),
	    "501 5.5.2 NUL byte in command");
	ct_fail(S("\0"), MX_EPROTO, EDGE_CMD_E_NUL);
}

/* test_bare_cr_or_lf_in_command_refused - a CR or LF inside the line refuses it
 */
static void
test_bare_cr_or_lf_in_command_refused(void **state)
{
	(void)state;
	assert_string_equal(ct_fail(S("RCPT TO:<a@b.c>\rDATA"), MX_EPROTO,
	                        EDGE_CMD_E_BARE_NEWLINE),
	    "501 5.5.2 Bare CR or LF in command");
	ct_fail(S("NOOP\nQUIT"), MX_EPROTO, EDGE_CMD_E_BARE_NEWLINE);
	ct_fail(S("QUIT\r"), MX_EPROTO, EDGE_CMD_E_BARE_NEWLINE);
}

/* test_mail_null_sender - MAIL FROM:<> with parameters; RCPT TO:<> refused */
static void
test_mail_null_sender(void **state)
{
	struct edge_cmd c = ct_ok_s("MAIL FROM:<>");

	(void)state;
	assert_int_equal(c.verb, EDGE_CMD_MAIL);
	assert_true(c.path.is_null);
	assert_null(c.path.local);
	assert_string_equal(c.path.domain, "");
	c = ct_ok_s("MAIL FROM:<> SIZE=100 BODY=8BITMIME");
	assert_true(c.path.is_null);
	assert_true(c.has_size);
	assert_int_equal(c.size, 100);
	assert_int_equal(c.body, EDGE_CMD_BODY_8BITMIME);
	/* the null path is for MAIL only */
	assert_string_equal(
	    ct_fail(S("RCPT TO:<>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX),
	    "553 5.1.3 Bad recipient address syntax");
}

/* test_mail_path_views_and_lower_cased_domain - views point into the line,
 * domain copy is lower case */
static void
test_mail_path_views_and_lower_cased_domain(void **state)
{
	static const char line[] = "MAIL FROM:<John.Doe@Mail.EXAMPLE.org>";
	struct edge_cmd c = ct_ok(S(line));

	(void)state;
	assert_false(c.path.is_null);
	assert_int_equal(c.path.local_len, 8);
	assert_memory_equal(c.path.local, "John.Doe", 8);
	assert_ptr_equal(c.path.local, line + 11);
	assert_int_equal(c.path.domain_len, 16);
	assert_memory_equal(c.path.domain_raw, "Mail.EXAMPLE.org", 16);
	assert_string_equal(c.path.domain, "mail.example.org");
	assert_false(c.path.is_quoted);
	assert_false(c.path.is_literal);
	assert_false(c.path.has_utf8);
	assert_int_equal(c.nparams, 0);
}

/* test_space_after_colon_accepted - the lenient "FROM: <a@b>" form */
static void
test_space_after_colon_accepted(void **state)
{
	struct edge_cmd c = ct_ok_s("MAIL FROM: <a@b.example>");

	(void)state;
	assert_string_equal(c.path.domain, "b.example");
	c = ct_ok_s("rcpt to:  <x@y.example>  ");
	assert_string_equal(c.path.domain, "y.example");
}

/* test_missing_angle_brackets_refused_501 - no <...>, wrong keyword, junk after
 * the path */
static void
test_missing_angle_brackets_refused_501(void **state)
{
	(void)state;
	assert_string_equal(ct_fail(S("MAIL FROM:a@b.example"), MX_EPROTO,
	                        EDGE_CMD_E_PATH_SYNTAX),
	    "501 5.5.4 Syntax: MAIL FROM:<address>");
	assert_string_equal(ct_fail(S("RCPT TO:a@b.example"), MX_EPROTO,
	                        EDGE_CMD_E_PATH_SYNTAX),
	    "501 5.5.4 Syntax: RCPT TO:<address>");
	ct_fail(S("RCPT TO:<a@b.example"), MX_EPROTO, EDGE_CMD_E_PATH_SYNTAX);
	ct_fail(S("RCPT TO:<a"), MX_EPROTO, EDGE_CMD_E_PATH_SYNTAX);
	ct_fail(S("MAIL FROM:"), MX_EPROTO, EDGE_CMD_E_PATH_SYNTAX);
	ct_fail(S("MAIL"), MX_EPROTO, EDGE_CMD_E_PATH_SYNTAX);
	ct_fail(S("MAIL TO:<a@b.c>"), MX_EPROTO, EDGE_CMD_E_PATH_SYNTAX);
	ct_fail(S("RCPT FROM:<a@b.c>"), MX_EPROTO, EDGE_CMD_E_PATH_SYNTAX);
	ct_fail(S("MAIL FROM <a@b.c>"), MX_EPROTO, EDGE_CMD_E_PATH_SYNTAX);
	/* junk right after the path */
	ct_fail(S("MAIL FROM:<a@b.c>x"), MX_EPROTO, EDGE_CMD_E_PATH_SYNTAX);
	ct_fail(S("MAIL FROM:<>>"), MX_EPROTO, EDGE_CMD_E_PATH_SYNTAX);
}

/* test_quoted_local_part - quoted strings, quoted pairs, unterminated quotes */
static void
test_quoted_local_part(void **state)
{
	struct edge_cmd c = ct_ok_s("RCPT TO:<\"john doe\\\"x@y>\"@b.example>");

	(void)state;
	assert_true(c.path.is_quoted);
	assert_int_equal(c.path.local_len, 16);
	assert_memory_equal(c.path.local, "\"john doe\\\"x@y>\"", 16);
	assert_string_equal(c.path.domain, "b.example");
	c = ct_ok_s("RCPT TO:<\"\"@b.example>");
	assert_true(c.path.is_quoted);
	ct_fail(
	    S("RCPT TO:<\"abc@b.example>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<\"a\tb\"@b.example>"), MX_EPROTO,
	    EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<\"a\\"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(
	    S("RCPT TO:<\"a\"b@b.example>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
}

/* test_dot_string_local_part_rules - atext and dots of an unquoted local part
 */
static void
test_dot_string_local_part_rules(void **state)
{
	struct edge_cmd c = ct_ok_s("RCPT TO:<a.b+tag!#$%&'*/=?^_`{|}~-@c.d>");

	(void)state;
	assert_int_equal(c.path.local_len, 25);
	ct_fail(S("RCPT TO:<.a@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a.@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a..b@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a b@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a(b)@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a@>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	assert_string_equal(
	    ct_fail(S("MAIL FROM:<a@@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX),
	    "553 5.1.7 Bad sender address syntax");
}

/* test_postmaster_without_domain_for_rcpt_only - RCPT TO:<Postmaster> is the
 * one domainless path */
static void
test_postmaster_without_domain_for_rcpt_only(void **state)
{
	struct edge_cmd c = ct_ok_s("RCPT TO:<PostMaster>");

	(void)state;
	assert_true(c.path.is_postmaster);
	assert_null(c.path.domain_raw);
	assert_string_equal(c.path.domain, "");
	ct_fail(S("RCPT TO:<someone>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("MAIL FROM:<postmaster>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(
	    S("RCPT TO:<\"postmaster\">"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
}

/* test_source_route_accepted_and_dropped - A-d-l source routes parsed, checked
 * and dropped */
static void
test_source_route_accepted_and_dropped(void **state)
{
	struct edge_cmd c =
	    ct_ok_s("RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>");

	(void)state;
	assert_true(c.path.had_route);
	assert_int_equal(c.path.local_len, 5);
	assert_memory_equal(c.path.local, "userc", 5);
	assert_string_equal(c.path.domain, "d.bar.org");
	c = ct_ok_s("MAIL FROM:<@a.example:u@b.example>");
	assert_true(c.path.had_route);
	ct_fail(S("RCPT TO:<@a.example,u@b.example>"), MX_EPROTO,
	    EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<@a..example:u@b.example>"), MX_EPROTO,
	    EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<@a.example>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(
	    S("RCPT TO:<@:u@b.example>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<@a.example,:u@b.example>"), MX_EPROTO,
	    EDGE_CMD_E_ADDR_SYNTAX);
}

/* test_domain_syntax - labels of letters, digits and inner hyphens */
static void
test_domain_syntax(void **state)
{
	struct edge_cmd c;

	(void)state;
	c = ct_ok_s("RCPT TO:<a@x-1.Y2.example>");
	assert_string_equal(c.path.domain, "x-1.y2.example");
	c = ct_ok_s("RCPT TO:<a@localhost>");
	assert_string_equal(c.path.domain, "localhost");
	ct_fail(S("RCPT TO:<a@-x.example>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a@x-.example>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a@x..example>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a@.example>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a@example.>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(
	    S("RCPT TO:<a@ex_ample.org>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a@b c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
}

/* test_address_literals - [IPv4] and [IPv6:...] through inet_pton; others
 * refused */
static void
test_address_literals(void **state)
{
	struct edge_cmd c;

	(void)state;
	c = ct_ok_s("RCPT TO:<postmaster@[192.0.2.1]>");
	assert_true(c.path.is_literal);
	assert_string_equal(c.path.domain, "[192.0.2.1]");
	c = ct_ok_s("RCPT TO:<a@[IPv6:2001:DB8::1]>");
	assert_true(c.path.is_literal);
	assert_string_equal(c.path.domain, "[ipv6:2001:db8::1]");
	c = ct_ok_s("RCPT TO:<a@[ipv6:::ffff:192.0.2.1]>");
	assert_true(c.path.is_literal);
	ct_fail(
	    S("RCPT TO:<a@[192.0.2.256]>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a@[192.0.2]>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(
	    S("RCPT TO:<a@[2001:db8::1]>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(
	    S("RCPT TO:<a@[IPv6:1.2.3.4]>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(
	    S("RCPT TO:<a@[x-tag:stuff]>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a@[]>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a@[1.2.3.4>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a@1.2.3.4]>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
}

/* ct_fill - n copies of c into p */
static void
ct_fill(char *p, char c, size_t n)
{
	memset(p, c, n);
}

/* ct_domain - a valid domain of exactly n >= 3 bytes: labels of 63 */
static size_t
ct_domain(char *p, size_t n)
{
	size_t i = 0, lab;

	while (i < n) {
		lab = n - i;
		if (lab > 63)
			lab = 63;
		/* never leave a last label that would start after a dot at
		 * the very end */
		if (n - i - lab == 1)
			lab--;
		ct_fill(p + i, 'd', lab);
		i += lab;
		if (i < n)
			p[i++] = '.';
	}
	return n;
}

/* test_rcpt_local_part_at_64_accepted - local part at EDGE_CMD_LOCAL_MAX */
static void
test_rcpt_local_part_at_64_accepted(void **state)
{
	char line[400];
	size_t n = 0;
	struct edge_cmd c;

	(void)state;
	memcpy(line, "RCPT TO:<", 9);
	n = 9;
	ct_fill(line + n, 'l', 64);
	n += 64;
	memcpy(line + n, "@b.example>", 11);
	n += 11;
	c = ct_ok(line, n);
	assert_int_equal(c.path.local_len, 64);
}

/* test_rcpt_local_part_over_64_refused_553 - local part one past
 * EDGE_CMD_LOCAL_MAX */
static void
test_rcpt_local_part_over_64_refused_553(void **state)
{
	char line[400];
	size_t n = 0;

	(void)state;
	memcpy(line, "RCPT TO:<", 9);
	n = 9;
	ct_fill(line + n, 'l', 65);
	n += 65;
	memcpy(line + n, "@b.example>", 11);
	n += 11;
	assert_string_equal(
	    ct_fail(line, n, MX_ETOOBIG, EDGE_CMD_E_LOCAL_TOO_LONG),
	    "553 5.1.3 Recipient local part too long");
	/* a quoted local part counts its quotes */
	n = 9;
	line[n++] = '"';
	ct_fill(line + n, 'q', 63);
	n += 63;
	line[n++] = '"';
	memcpy(line + n, "@b.example>", 11);
	n += 11;
	ct_fail(line, n, MX_ETOOBIG, EDGE_CMD_E_LOCAL_TOO_LONG);
	memcpy(line, "MAIL FROM:<", 11);
	n = 11;
	ct_fill(line + n, 'l', 65);
	n += 65;
	memcpy(line + n, "@b.example>", 11);
	n += 11;
	assert_string_equal(
	    ct_fail(line, n, MX_ETOOBIG, EDGE_CMD_E_LOCAL_TOO_LONG),
	    "553 5.1.7 Sender local part too long");
}

/* ct_path_line - "RCPT TO:<" 64 l's "@" domain ">" with a path of n */
static size_t
ct_path_line(char *line, const char *verb, size_t path_len)
{
	size_t v = strlen(verb), n = v;

	memcpy(line, verb, v);
	line[n++] = '<';
	ct_fill(line + n, 'l', 64);
	n += 64;
	line[n++] = '@';
	/* path = 1 + 64 + 1 + domain + 1 */
	n += ct_domain(line + n, path_len - 67);
	line[n++] = '>';
	return n;
}

/* test_rcpt_path_at_256_accepted - path at EDGE_CMD_PATH_MAX */
static void
test_rcpt_path_at_256_accepted(void **state)
{
	char line[600];
	size_t n = ct_path_line(line, "RCPT TO:", 256);
	struct edge_cmd c;

	(void)state;
	c = ct_ok(line, n);
	assert_int_equal(c.path.domain_len, 256 - 67);
	assert_int_equal(strlen(c.path.domain), 256 - 67);
}

/* test_rcpt_path_over_256_refused_553 - path one past EDGE_CMD_PATH_MAX, RCPT
 * and MAIL */
static void
test_rcpt_path_over_256_refused_553(void **state)
{
	char line[600];
	size_t n = ct_path_line(line, "RCPT TO:", 257);

	(void)state;
	assert_string_equal(
	    ct_fail(line, n, MX_ETOOBIG, EDGE_CMD_E_PATH_TOO_LONG),
	    "553 5.1.3 Recipient path too long");
	n = ct_path_line(line, "MAIL FROM:", 257);
	assert_string_equal(
	    ct_fail(line, n, MX_ETOOBIG, EDGE_CMD_E_PATH_TOO_LONG),
	    "553 5.1.7 Sender path too long");
	n = ct_path_line(line, "MAIL FROM:", 256);
	ct_ok(line, n);
}

/* test_source_route_counts_toward_path_limit - the dropped route still counts
 * in the path */
static void
test_source_route_counts_toward_path_limit(void **state)
{
	char line[600];
	size_t n;

	(void)state;
	/* "<@" + 60 + ":" + 64 l + "@" + 127 + ">" = 256 */
	memcpy(line, "RCPT TO:<@", 10);
	n = 10 + ct_domain(line + 10, 60);
	line[n++] = ':';
	ct_fill(line + n, 'l', 64);
	n += 64;
	line[n++] = '@';
	n += ct_domain(line + n, 127);
	line[n++] = '>';
	assert_int_equal(n - 8, 256);
	ct_ok(line, n);
	/* one more byte in the route */
	memcpy(line, "RCPT TO:<@", 10);
	n = 10 + ct_domain(line + 10, 61);
	line[n++] = ':';
	ct_fill(line + n, 'l', 64);
	n += 64;
	line[n++] = '@';
	n += ct_domain(line + n, 127);
	line[n++] = '>';
	ct_fail(line, n, MX_ETOOBIG, EDGE_CMD_E_PATH_TOO_LONG);
}

/* test_domain_at_255_accepted - domain at EDGE_CMD_DOMAIN_MAX */
static void
test_domain_at_255_accepted(void **state)
{
	char d[300], out[EDGE_CMD_DOMAIN_MAX + 1];
	enum edge_cmd_err why = EDGE_CMD_E_NUL;

	(void)state;
	ct_domain(d, 255);
	d[0] = 'D';
	assert_int_equal(
	    edge_cmd_domain_parse(d, 255, 0, out, sizeof(out), &why), 0);
	assert_int_equal(why, EDGE_CMD_OK);
	assert_int_equal(strlen(out), 255);
	assert_int_equal(out[0], 'd');
}

/* test_domain_over_255_refused - domain one past EDGE_CMD_DOMAIN_MAX, alone and
 * in a path */
static void
test_domain_over_255_refused(void **state)
{
	char d[300], out[EDGE_CMD_DOMAIN_MAX + 1], line[700];
	enum edge_cmd_err why = EDGE_CMD_OK;
	size_t n;

	(void)state;
	ct_domain(d, 256);
	out[0] = 'X';
	assert_int_equal(
	    edge_cmd_domain_parse(d, 256, 0, out, sizeof(out), &why),
	    MX_ETOOBIG);
	assert_int_equal(why, EDGE_CMD_E_DOMAIN_TOO_LONG);
	assert_int_equal(out[0], 'X');
	assert_string_equal(edge_cmd_reply(why, EDGE_CMD_EHLO),
	    "501 5.5.4 Domain name too long");
	/* in a path the domain limit is met before the path limit */
	memcpy(line, "RCPT TO:<a@", 11);
	n = 11 + ct_domain(line + 11, 256);
	line[n++] = '>';
	assert_string_equal(
	    ct_fail(line, n, MX_ETOOBIG, EDGE_CMD_E_DOMAIN_TOO_LONG),
	    "553 5.1.3 Recipient domain too long");
}

/* test_label_at_63_accepted_64_refused - label at EDGE_CMD_LABEL_MAX and one
 * past */
static void
test_label_at_63_accepted_64_refused(void **state)
{
	char d[100];
	enum edge_cmd_err why;

	(void)state;
	ct_fill(d, 'x', 63);
	memcpy(d + 63, ".org", 4);
	assert_int_equal(edge_cmd_domain_parse(d, 67, 0, NULL, 0, &why), 0);
	ct_fill(d, 'x', 64);
	memcpy(d + 64, ".org", 4);
	assert_int_equal(
	    edge_cmd_domain_parse(d, 68, 0, NULL, 0, &why), MX_EPROTO);
	assert_int_equal(why, EDGE_CMD_E_ADDR_SYNTAX);
}

/* test_domain_parse_flags_and_small_out - literal and UTF-8 flags, short output
 * buffer */
static void
test_domain_parse_flags_and_small_out(void **state)
{
	char out[8];
	enum edge_cmd_err why;

	(void)state;
	assert_int_equal(
	    edge_cmd_domain_parse(S("[1.2.3.4]"), 0, NULL, 0, &why), MX_EPROTO);
	assert_int_equal(edge_cmd_domain_parse(S("[1.2.3.4]"),
	                     EDGE_CMD_DOM_LITERAL, NULL, 0, &why),
	    0);
	assert_int_equal(
	    edge_cmd_domain_parse(S("m\xc3\xbcnchen.de"), 0, NULL, 0, &why),
	    MX_EPROTO);
	assert_int_equal(edge_cmd_domain_parse(S("m\xc3\xbcnchen.de"),
	                     EDGE_CMD_DOM_UTF8, NULL, 0, &why),
	    0);
	assert_int_equal(
	    edge_cmd_domain_parse(S("abcdefgh"), 0, out, sizeof(out), &why),
	    MX_EINVAL);
	assert_int_equal(
	    edge_cmd_domain_parse("", 0, 0, NULL, 0, &why), MX_EPROTO);
	/* a NUL inside a literal must not cut the inet_pton copy short */
	assert_int_equal(edge_cmd_domain_parse(S("[1.2.3.4\0x]"),
	                     EDGE_CMD_DOM_LITERAL, NULL, 0, &why),
	    MX_EPROTO);
}

/* test_params_size_body_smtputf8 - the three supported MAIL parameters */
static void
test_params_size_body_smtputf8(void **state)
{
	struct edge_cmd c;

	(void)state;
	c = ct_ok_s("MAIL FROM:<a@b.c> size=12345  Body=7bit SMTPUTF8");
	assert_true(c.has_size);
	assert_int_equal(c.size, 12345);
	assert_int_equal(c.body, EDGE_CMD_BODY_7BIT);
	assert_true(c.is_smtputf8);
	assert_int_equal(c.nparams, 3);
	c = ct_ok_s("MAIL FROM:<a@b.c> SIZE=0");
	assert_int_equal(c.size, 0);
	/* more digits than a u64: over every limit, not a syntax error */
	c = ct_ok_s("MAIL FROM:<a@b.c> SIZE=99999999999999999999999");
	assert_int_equal(c.size, UINT64_MAX);
	c = ct_ok_s("MAIL FROM:<a@b.c>");
	assert_false(c.has_size);
	assert_int_equal(c.body, EDGE_CMD_BODY_NONE);
}

/* test_unknown_param_refused_555 - unsupported parameters on MAIL and RCPT */
static void
test_unknown_param_refused_555(void **state)
{
	(void)state;
	assert_string_equal(ct_fail(S("MAIL FROM:<a@b.c> RET=HDRS"), MX_EPROTO,
	                        EDGE_CMD_E_PARAM_UNKNOWN),
	    "555 5.5.4 Unsupported parameter");
	ct_fail(S("MAIL FROM:<a@b.c> AUTH=<>"), MX_EPROTO,
	    EDGE_CMD_E_PARAM_UNKNOWN);
	/* RCPT takes no parameter we support (no DSN) */
	ct_fail(S("RCPT TO:<a@b.c> NOTIFY=NEVER"), MX_EPROTO,
	    EDGE_CMD_E_PARAM_UNKNOWN);
	ct_fail(
	    S("RCPT TO:<a@b.c> SIZE=10"), MX_EPROTO, EDGE_CMD_E_PARAM_UNKNOWN);
}

/* test_bad_param_values_refused_501 - bad SIZE/BODY/SMTPUTF8 values and
 * duplicates */
static void
test_bad_param_values_refused_501(void **state)
{
	(void)state;
	assert_string_equal(ct_fail(S("MAIL FROM:<a@b.c> SIZE=12k"), MX_EPROTO,
	                        EDGE_CMD_E_PARAM_VALUE),
	    "501 5.5.4 Invalid parameter value");
	ct_fail(S("MAIL FROM:<a@b.c> SIZE"), MX_EPROTO, EDGE_CMD_E_PARAM_VALUE);
	ct_fail(
	    S("MAIL FROM:<a@b.c> SIZE=-1"), MX_EPROTO, EDGE_CMD_E_PARAM_VALUE);
	ct_fail(S("MAIL FROM:<a@b.c> BODY=BINARYMIME"), MX_EPROTO,
	    EDGE_CMD_E_PARAM_VALUE);
	ct_fail(S("MAIL FROM:<a@b.c> BODY"), MX_EPROTO, EDGE_CMD_E_PARAM_VALUE);
	ct_fail(S("MAIL FROM:<a@b.c> SMTPUTF8=yes"), MX_EPROTO,
	    EDGE_CMD_E_PARAM_VALUE);
	assert_string_equal(ct_fail(S("MAIL FROM:<a@b.c> SIZE=1 size=2"),
	                        MX_EPROTO, EDGE_CMD_E_PARAM_DUP),
	    "501 5.5.4 Duplicate parameter");
}

/* test_param_syntax_refused_501 - malformed keyword[=value] */
static void
test_param_syntax_refused_501(void **state)
{
	(void)state;
	assert_string_equal(ct_fail(S("MAIL FROM:<a@b.c> SIZE="), MX_EPROTO,
	                        EDGE_CMD_E_PARAM_SYNTAX),
	    "501 5.5.4 Syntax error in parameters");
	ct_fail(S("MAIL FROM:<a@b.c> =1"), MX_EPROTO, EDGE_CMD_E_PARAM_SYNTAX);
	ct_fail(S("MAIL FROM:<a@b.c> -X"), MX_EPROTO, EDGE_CMD_E_PARAM_SYNTAX);
	ct_fail(S("MAIL FROM:<a@b.c> X_Y"), MX_EPROTO, EDGE_CMD_E_PARAM_SYNTAX);
	ct_fail(
	    S("MAIL FROM:<a@b.c> X=a=b"), MX_EPROTO, EDGE_CMD_E_PARAM_SYNTAX);
	ct_fail(
	    S("MAIL FROM:<a@b.c> X=\x80"), MX_EPROTO, EDGE_CMD_E_PARAM_SYNTAX);
	ct_fail(
	    S("MAIL FROM:<a@b.c> X=a\tb"), MX_EPROTO, EDGE_CMD_E_PARAM_SYNTAX);
}

/* ct_params_line - MAIL FROM:<a@b.c> with n parameters X1..Xn */
static size_t
ct_params_line(char *line, size_t cap, unsigned n)
{
	size_t len = 17;
	unsigned i;
	int k;

	memcpy(line, "MAIL FROM:<a@b.c>", 17);
	for (i = 1; i <= n; i++) {
		k = snprintf(line + len, cap - len, " X%u=v", i);
		assert_true(k > 0 && (size_t)k < cap - len);
		len += (size_t)k;
	}
	return len;
}

/* test_params_at_16_pass_the_count_check - EDGE_CMD_PARAM_MAX parameters pass
 * the count */
static void
test_params_at_16_pass_the_count_check(void **state)
{
	char line[400];
	size_t n;
	struct edge_cmd c;

	(void)state;
	/* 16 parameters pass the count; then X1 is unknown */
	n = ct_params_line(line, sizeof(line), 16);
	ct_fail(line, n, MX_EPROTO, EDGE_CMD_E_PARAM_UNKNOWN);
	c = ct_ok_s("MAIL FROM:<a@b.c>   SIZE=1   BODY=7BIT SMTPUTF8   ");
	assert_int_equal(c.nparams, 3);
}

/* test_params_over_16_refused_555 - one past EDGE_CMD_PARAM_MAX parameters */
static void
test_params_over_16_refused_555(void **state)
{
	char line[400];
	size_t n;

	(void)state;
	n = ct_params_line(line, sizeof(line), 17);
	assert_string_equal(
	    ct_fail(line, n, MX_ELIMIT, EDGE_CMD_E_PARAM_TOO_MANY),
	    "555 5.5.4 Too many parameters");
	n = ct_params_line(line, sizeof(line), 40);
	ct_fail(line, n, MX_ELIMIT, EDGE_CMD_E_PARAM_TOO_MANY);
}

/* test_utf8_sender_needs_smtputf8_553_5_6_7 - non-ASCII sender needs SMTPUTF8;
 * RCPT flagged */
static void
test_utf8_sender_needs_smtputf8_553_5_6_7(void **state)
{
	struct edge_cmd c;

	(void)state;
	assert_string_equal(ct_fail(S("MAIL FROM:<j\xc3\xb6rg@b.example>"),
	                        MX_EPROTO, EDGE_CMD_E_UTF8_ADDR),
	    "553 5.6.7 non-ASCII address without SMTPUTF8");
	ct_fail(S("MAIL FROM:<a@b\xc3\xbc.example> SIZE=1"), MX_EPROTO,
	    EDGE_CMD_E_UTF8_ADDR);
	c = ct_ok_s("MAIL FROM:<j\xc3\xb6rg@M\xc3\xbcnchen.example> SMTPUTF8");
	assert_true(c.path.has_utf8);
	assert_true(c.is_smtputf8);
	/* UTF-8 is kept, ASCII lower-cased */
	assert_string_equal(c.path.domain, "m\xc3\xbcnchen.example");
	/* RCPT: parsed and flagged; the session checks the transaction */
	c = ct_ok_s("RCPT TO:<\xe2\x82\xac@b.example>");
	assert_true(c.path.has_utf8);
	c = ct_ok_s("RCPT TO:<\"\xe2\x82\xac x\"@b.example>");
	assert_true(c.path.has_utf8);
	assert_true(c.path.is_quoted);
}

/* test_malformed_utf8_refused - overlong, surrogate, truncated and stray UTF-8
 */
static void
test_malformed_utf8_refused(void **state)
{
	(void)state;
	/* overlong, surrogate, lone continuation, truncated, > U+10FFFF */
	ct_fail(S("RCPT TO:<\xc0\xaf@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(
	    S("RCPT TO:<\xed\xa0\x80@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<\x80@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(
	    S("RCPT TO:<a\xe2\x82@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<\xf4\x90\x80\x80@b.c>"), MX_EPROTO,
	    EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(
	    S("RCPT TO:<\xe0\x80\x80@b.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_fail(S("RCPT TO:<a@b\xff.c>"), MX_EPROTO, EDGE_CMD_E_ADDR_SYNTAX);
	ct_ok_s("RCPT TO:<\xf0\x9f\x98\x80@b.c>");
}

/* test_reply_texts_for_caller_side_errors - replies the session needs without a
 * parse error */
static void
test_reply_texts_for_caller_side_errors(void **state)
{
	(void)state;
	assert_string_equal(
	    edge_cmd_reply(EDGE_CMD_E_LINE_TOO_LONG, EDGE_CMD_UNKNOWN),
	    "500 5.5.2 Line too long");
	assert_string_equal(
	    edge_cmd_reply(EDGE_CMD_E_UNRECOGNIZED, EDGE_CMD_UNKNOWN),
	    "500 5.5.1 Command unrecognized");
	assert_string_equal(
	    edge_cmd_reply(EDGE_CMD_E_NOT_IMPLEMENTED, EDGE_CMD_BDAT),
	    "502 5.5.1 Command not implemented");
	assert_string_equal(edge_cmd_reply(EDGE_CMD_OK, EDGE_CMD_MAIL),
	    "451 4.3.0 Internal error");
	assert_string_equal(
	    edge_cmd_reply((enum edge_cmd_err)999, EDGE_CMD_MAIL),
	    "451 4.3.0 Internal error");
	assert_string_equal(
	    edge_cmd_reply(EDGE_CMD_E_ADDR_SYNTAX, EDGE_CMD_HELO),
	    "501 5.5.4 Invalid domain name");
}

/* test_verb_reported_on_failure - the verb comes back even when the line fails
 */
static void
test_verb_reported_on_failure(void **state)
{
	struct edge_cmd c;
	enum edge_cmd_err why;
	enum edge_cmd_verb verb = EDGE_CMD_HTTP;

	(void)state;
	assert_int_equal(
	    edge_cmd_parse(S("RCPT TO:<a"), &c, &why, &verb), MX_EPROTO);
	assert_int_equal(verb, EDGE_CMD_RCPT);
	assert_int_equal(
	    edge_cmd_parse(S("RCPT\0"), &c, &why, &verb), MX_EPROTO);
	assert_int_equal(verb, EDGE_CMD_UNKNOWN);
}

/* main - run the group */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verbs_case_insensitive),
	    cmocka_unit_test(test_arg_view_skips_spaces_and_trims),
	    cmocka_unit_test(test_no_args_verbs_refuse_text_501),
	    cmocka_unit_test(test_helo_without_name_refused_501),
	    cmocka_unit_test(test_nul_in_command_refused_501_5_5_2),
	    cmocka_unit_test(test_bare_cr_or_lf_in_command_refused),
	    cmocka_unit_test(test_mail_null_sender),
	    cmocka_unit_test(test_mail_path_views_and_lower_cased_domain),
	    cmocka_unit_test(test_space_after_colon_accepted),
	    cmocka_unit_test(test_missing_angle_brackets_refused_501),
	    cmocka_unit_test(test_quoted_local_part),
	    cmocka_unit_test(test_dot_string_local_part_rules),
	    cmocka_unit_test(test_postmaster_without_domain_for_rcpt_only),
	    cmocka_unit_test(test_source_route_accepted_and_dropped),
	    cmocka_unit_test(test_domain_syntax),
	    cmocka_unit_test(test_address_literals),
	    cmocka_unit_test(test_rcpt_local_part_at_64_accepted),
	    cmocka_unit_test(test_rcpt_local_part_over_64_refused_553),
	    cmocka_unit_test(test_rcpt_path_at_256_accepted),
	    cmocka_unit_test(test_rcpt_path_over_256_refused_553),
	    cmocka_unit_test(test_source_route_counts_toward_path_limit),
	    cmocka_unit_test(test_domain_at_255_accepted),
	    cmocka_unit_test(test_domain_over_255_refused),
	    cmocka_unit_test(test_label_at_63_accepted_64_refused),
	    cmocka_unit_test(test_domain_parse_flags_and_small_out),
	    cmocka_unit_test(test_params_size_body_smtputf8),
	    cmocka_unit_test(test_unknown_param_refused_555),
	    cmocka_unit_test(test_bad_param_values_refused_501),
	    cmocka_unit_test(test_param_syntax_refused_501),
	    cmocka_unit_test(test_params_at_16_pass_the_count_check),
	    cmocka_unit_test(test_params_over_16_refused_555),
	    cmocka_unit_test(test_utf8_sender_needs_smtputf8_553_5_6_7),
	    cmocka_unit_test(test_malformed_utf8_refused),
	    cmocka_unit_test(test_reply_texts_for_caller_side_errors),
	    cmocka_unit_test(test_verb_reported_on_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
