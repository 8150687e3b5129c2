/*
 * fuzz_geo_rule.c - libFuzzer target for edge_geo_rule_add,
 * edge_geo_rule_format and edge_geo_decide
 *
 * The input is a list of geo_policy values, one per line, added in order
 * to one table, so duplicates and the count limit are reached too. Each
 * line is copied to a buffer of exactly its length, so ASan sees any
 * over-read. Beyond memory safety the oracle checks: the code is one the
 * header promises; a failure leaves the table alone and gives a
 * printable, terminated reason; the length limit is exact; an accepted
 * rule is well-formed, its canonical text reads back to the same rule,
 * adding the same text again is MX_EDUP, and edge_geo_decide finds it
 * with its own action, score and reason id.
 * Trust: arbitrary bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mx_err.h"

#include "proto/proto_record.h"

#include "edge/edge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* lines past this cannot reach anything new: the limit plus slack */
#define FZ_LINES_MAX (EDGE_GEO_RULES_MAX + 8)

/* fz_same - two rules are equal field by field */
static int
fz_same(const struct edge_geo_rule *a, const struct edge_geo_rule *b)
{
	return a->kind == b->kind && a->asn == b->asn && a->score == b->score &&
	       a->action == b->action && strcmp(a->cc, b->cc) == 0;
}

/* fz_check_rule - an accepted rule is well-formed */
static void
fz_check_rule(const struct edge_geo_rule *x)
{
	if (x->action != PROTO_ACT_SCORE && x->action != PROTO_ACT_ALLOW &&
	    x->action != PROTO_ACT_TEMPFAIL && x->action != PROTO_ACT_REJECT)
		abort();
	if (x->score < EDGE_GEO_SCORE_MIN || x->score > EDGE_GEO_SCORE_MAX ||
	    (x->action != PROTO_ACT_SCORE && x->score != 0))
		abort();
	if (x->kind == EDGE_GEO_RULE_ASN) {
		if (x->asn == 0 || x->cc[0] != '\0')
			abort();
	} else if (x->kind == EDGE_GEO_RULE_COUNTRY) {
		if (x->asn != 0 || x->cc[0] < 'A' || x->cc[0] > 'Z' ||
		    x->cc[1] < 'A' || x->cc[1] > 'Z' || x->cc[2] != '\0')
			abort();
	} else {
		abort();
	}
}

/* fz_check_err - a reason is terminated, non-empty and printable */
static void
fz_check_err(const char *err, size_t errlen)
{
	size_t i;

	if (memchr(err, '\0', errlen) == NULL || err[0] == '\0')
		abort();
	for (i = 0; err[i] != '\0'; i++)
		if ((unsigned char)err[i] < 0x20 ||
		    (unsigned char)err[i] > 0x7e)
			abort();
}

/* fz_check_found - decide finds rule x with its own outputs */
static void
fz_check_found(const struct edge_geo_rules *r, const struct edge_geo_rule *x)
{
	char id[EDGE_GEO_ID_MAX], want[EDGE_GEO_ID_MAX];
	int32_t score;
	uint8_t action;
	int rc, n;

	if (x->kind == EDGE_GEO_RULE_ASN) {
		rc = edge_geo_decide(
		    r, "", x->asn, &score, &action, id, sizeof(id));
		n = snprintf(
		    want, sizeof(want), "geo:asn:%u", (unsigned)x->asn);
	} else {
		rc = edge_geo_decide(
		    r, x->cc, 0, &score, &action, id, sizeof(id));
		n = snprintf(want, sizeof(want), "geo:country:%s", x->cc);
	}
	if (n < 0 || (size_t)n >= sizeof(want))
		abort();
	if (rc != 0 || action != x->action || strcmp(id, want) != 0 ||
	    score != (x->action == PROTO_ACT_SCORE ? x->score : 0))
		abort();
}

/* fz_line - add one line to r and check everything about the answer */
static void
fz_line(struct edge_geo_rules *r, const char *line, size_t len)
{
	static struct edge_geo_rules one;
	char err[EDGE_GEO_ERR_MAX], fmt[EDGE_GEO_RULE_TEXT_MAX + 1];
	size_t n0 = r->n;
	int rc;

	memset(err, 0x7f, sizeof(err));
	rc = edge_geo_rule_add(r, line, len, err, sizeof(err));
	if ((len > EDGE_GEO_RULE_TEXT_MAX) != (rc == MX_ETOOBIG))
		abort();
	if (rc != 0) {
		if (rc != MX_ETOOBIG && rc != MX_EINVAL && rc != MX_ERANGE &&
		    rc != MX_EDUP && rc != MX_ELIMIT)
			abort();
		if (r->n != n0 || (rc == MX_ELIMIT && n0 != EDGE_GEO_RULES_MAX))
			abort();
		fz_check_err(err, sizeof(err));
		return;
	}
	if (r->n != n0 + 1 || n0 >= EDGE_GEO_RULES_MAX)
		abort();
	fz_check_rule(&r->rule[n0]);
	/* canonical text: fits, and reads back to the same rule */
	if (edge_geo_rule_format(&r->rule[n0], fmt, sizeof(fmt)) != 0)
		abort();
	edge_geo_rules_init(&one);
	if (edge_geo_rule_add(&one, fmt, strlen(fmt), NULL, 0) != 0 ||
	    one.n != 1 || !fz_same(&one.rule[0], &r->rule[n0]))
		abort();
	/* the same text again is a duplicate, whatever the count */
	if (edge_geo_rule_add(r, line, len, NULL, 0) != MX_EDUP ||
	    r->n != n0 + 1)
		abort();
	fz_check_found(r, &r->rule[n0]);
}

/* LLVMFuzzerTestOneInput - add each line, then decide for every rule */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct edge_geo_rules r;
	const uint8_t *p = data, *end = data + size, *nl;
	size_t len, lines = 0, i;
	char *line;

	edge_geo_rules_init(&r);
	while (p <= end && lines < FZ_LINES_MAX) {
		nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		line = malloc(len > 0 ? len : 1);
		if (line == NULL)
			abort();
		if (len > 0)
			memcpy(line, p, len);
		fz_line(&r, line, len);
		free(line);
		lines++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	/* later rules never shadow earlier ones: keys are unique */
	for (i = 0; i < r.n; i++)
		fz_check_found(&r, &r.rule[i]);
	edge_geo_rules_fini(&r);
	return 0;
}
