/*
 * fuzz_smtp_cmd.c - libFuzzer target for edge_cmd_parse and
 * edge_cmd_domain_parse
 *
 * The input is one command line. Beyond memory safety (the input buffer
 * is exactly size bytes, so ASan sees any over-read), the oracle checks
 * that every view lies inside the line, every limit holds, the domain copy
 * is the lower-cased view, a failure always has a 4xx/5xx reply, and an
 * accepted path survives a round trip: the address rebuilt from its views
 * parses again to the same local part and domain.
 * Trust: arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mx_err.h"

#include "edge/edge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fz_inside - v[0..n) lies inside base[0..size) */
static int
fz_inside(const char *v, size_t n, const char *base, size_t size)
{
	uintptr_t a = (uintptr_t)v, b = (uintptr_t)base;

	return a >= b && n <= size && a - b <= size - n;
}

/* fz_lower - ASCII lower case */
static char
fz_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* fz_check_path - limits and views of an accepted path */
static void
fz_check_path(const struct edge_cmd *c, const char *line, size_t size)
{
	const struct edge_cmd_path *p = &c->path;
	size_t i;

	if (p->is_null) {
		if (c->verb != EDGE_CMD_MAIL || p->local != NULL)
			abort();
		return;
	}
	if (p->local == NULL || p->local_len == 0 ||
	    p->local_len > EDGE_CMD_LOCAL_MAX ||
	    !fz_inside(p->local, p->local_len, line, size))
		abort();
	if (p->is_postmaster) {
		if (c->verb != EDGE_CMD_RCPT || p->domain_raw != NULL ||
		    p->domain[0] != '\0')
			abort();
		return;
	}
	if (p->domain_raw == NULL || p->domain_len == 0 ||
	    p->domain_len > EDGE_CMD_DOMAIN_MAX ||
	    !fz_inside(p->domain_raw, p->domain_len, line, size) ||
	    strlen(p->domain) != p->domain_len)
		abort();
	for (i = 0; i < p->domain_len; i++)
		if (p->domain[i] != fz_lower(p->domain_raw[i]))
			abort();
	if (p->domain_raw < p->local + p->local_len)
		abort();
	if (c->verb == EDGE_CMD_MAIL && p->has_utf8 && !c->is_smtputf8)
		abort();
}

/* fz_round_trip - rebuild "RCPT TO:<local@domain>" and parse it again */
static void
fz_round_trip(const struct edge_cmd *c)
{
	const struct edge_cmd_path *p = &c->path;
	char line[EDGE_CMD_PATH_MAX + 16];
	struct edge_cmd c2;
	enum edge_cmd_err why;
	size_t n = 0;

	if (p->is_null || p->is_postmaster)
		return;
	memcpy(line, "RCPT TO:<", 9);
	n = 9;
	memcpy(line + n, p->local, p->local_len);
	n += p->local_len;
	line[n++] = '@';
	memcpy(line + n, p->domain, p->domain_len);
	n += p->domain_len;
	line[n++] = '>';
	if (edge_cmd_parse(line, n, &c2, &why, NULL) != 0)
		abort();
	if (c2.path.local_len != p->local_len ||
	    memcmp(c2.path.local, p->local, p->local_len) != 0 ||
	    strcmp(c2.path.domain, p->domain) != 0 ||
	    c2.path.is_quoted != p->is_quoted ||
	    c2.path.is_literal != p->is_literal ||
	    c2.path.has_utf8 != p->has_utf8)
		abort();
}

/* LLVMFuzzerTestOneInput - parse one line, check views, limits, replies */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	char out[EDGE_CMD_DOMAIN_MAX + 1];
	struct edge_cmd c;
	enum edge_cmd_err why = EDGE_CMD_OK;
	enum edge_cmd_verb verb = EDGE_CMD_HTTP;
	const char *reply;
	int rc;

	rc = edge_cmd_parse(line, size, &c, &why, &verb);
	if (rc == 0) {
		if (why != EDGE_CMD_OK || verb != c.verb)
			abort();
		if (!fz_inside(c.arg, c.arg_len, line, size))
			abort();
		if (c.nparams > EDGE_CMD_PARAM_MAX)
			abort();
		if (c.verb == EDGE_CMD_MAIL || c.verb == EDGE_CMD_RCPT) {
			fz_check_path(&c, line, size);
			fz_round_trip(&c);
		}
	} else {
		if (rc != MX_EPROTO && rc != MX_ETOOBIG && rc != MX_ELIMIT)
			abort();
		if (why == EDGE_CMD_OK)
			abort();
		reply = edge_cmd_reply(why, verb);
		if (reply == NULL || (reply[0] != '5' && reply[0] != '4') ||
		    strlen(reply) < 10 || reply[3] != ' ')
			abort();
	}

	rc = edge_cmd_domain_parse(line, size,
	    EDGE_CMD_DOM_LITERAL | EDGE_CMD_DOM_UTF8, out, sizeof(out), &why);
	if (rc == 0 && (size > EDGE_CMD_DOMAIN_MAX || strlen(out) != size))
		abort();
	if (rc != 0 && rc != MX_EPROTO && rc != MX_ETOOBIG)
		abort();
	return 0;
}
