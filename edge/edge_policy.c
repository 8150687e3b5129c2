/*
 * edge_policy.c - the policy layer: attachment rules, and the home of
 * the thresholds that edge_filter.c applies to the summed score
 *
 * Attachment rules (attach_policy = CLASS=ACTION, repeatable) judge each
 * attachment as the content layer publishes it: classes exec, script,
 * macro, archive, mismatch (name and content disagree), double_ext,
 * encrypted; actions reject, tempfail or score:N. The thresholds
 * (reject_score, tempfail_score, tag_score, lowered per transaction by
 * rcpt-policy records) are applied by edge_filter_decide after every
 * stage, so a refusal can come as early as the evidence allows.
 * Trust: attachment facts come from the analyser; rules from the
 * operator. Limits: EDGE_ATTACH_RULES_MAX rules.
 */
#include "edge/edge_int.h"

#include <stdio.h>
#include <string.h>

#include "lib/mx_err.h"
#include "lib/mx_parse.h"
#include "proto/proto_content.h"

static const struct {
	const char *name;
	uint16_t flag; /* PROTO_AF_* */
} edge_policy_classes[] = {
    /* an executable, or an archive that holds one by its entry's name */
    {"exec", PROTO_AF_EXEC | PROTO_AF_ARCH_EXEC},
    {"script", PROTO_AF_SCRIPT},
    {"macro", PROTO_AF_MACRO},
    {"archive", PROTO_AF_ARCHIVE},
    {"mismatch", PROTO_AF_MISMATCH},
    {"double_ext", PROTO_AF_DOUBLE_EXT},
    {"encrypted", PROTO_AF_ENCRYPTED},
};

#define EDGE_POLICY_NCLASSES                                                   \
	(sizeof(edge_policy_classes) / sizeof(edge_policy_classes[0]))

/* edge_policy_rule_parse - one attach_policy value into the rule list */
int
edge_policy_rule_parse(struct edge_attach_rule *rules, size_t *n, const char *v,
    char *err, size_t errlen)
{
	const char *eq = strchr(v, '=');
	struct edge_attach_rule r;
	size_t i, cl;
	int64_t score;

	memset(&r, 0, sizeof(r));
	if (eq == NULL) {
		snprintf(err, errlen,
		    "attach_policy: '%.64s' is not CLASS=ACTION", v);
		return MX_EINVAL;
	}
	cl = (size_t)(eq - v);
	for (i = 0; i < EDGE_POLICY_NCLASSES; i++)
		if (strlen(edge_policy_classes[i].name) == cl &&
		    memcmp(edge_policy_classes[i].name, v, cl) == 0)
			break;
	if (i == EDGE_POLICY_NCLASSES) {
		snprintf(err, errlen,
		    "attach_policy: unknown class '%.*s' (exec, script, macro, "
		    "archive, mismatch, double_ext, encrypted)",
		    (int)(cl > 32 ? 32 : cl), v);
		return MX_EINVAL;
	}
	r.flag = edge_policy_classes[i].flag;
	r.name = edge_policy_classes[i].name;
	if (strcmp(eq + 1, "reject") == 0) {
		r.action = PROTO_ACT_REJECT;
	} else if (strcmp(eq + 1, "tempfail") == 0) {
		r.action = PROTO_ACT_TEMPFAIL;
	} else if (strncmp(eq + 1, "score:", 6) == 0 &&
	           mx_parse_i64(eq + 7, strlen(eq + 7), -1000, 1000, &score) ==
	               0) {
		r.action = PROTO_ACT_SCORE;
		r.score = (int32_t)score;
	} else {
		snprintf(err, errlen,
		    "attach_policy: action '%.32s' is not reject, tempfail or "
		    "score:N (-1000..1000)",
		    eq + 1);
		return MX_EINVAL;
	}
	for (i = 0; i < *n; i++) {
		if (rules[i].flag == r.flag) {
			snprintf(err, errlen, "attach_policy: '%s' given twice",
			    r.name);
			return MX_EEXIST;
		}
	}
	if (*n >= EDGE_ATTACH_RULES_MAX) {
		snprintf(err, errlen, "attach_policy: more than %d rules",
		    EDGE_ATTACH_RULES_MAX);
		return MX_ELIMIT;
	}
	rules[(*n)++] = r;
	return 0;
}

/* edge_policy_event - judge one attachment */
static void
edge_policy_event(
    struct edge_fctx *f, enum edge_fev ev, const uint8_t *p, size_t len)
{
	const struct proto_attach *a = (const void *)p;
	const struct edge_conf *c = f->conf;
	char id[EDGE_FILTER_HIT_ID_MAX];
	size_t i;

	if (ev != EDGE_FEV_ATTACH || len != sizeof(*a))
		return;
	for (i = 0; i < c->n_attach_rules; i++) {
		const struct edge_attach_rule *r = &c->attach_rules[i];

		if (!(a->flags & r->flag))
			continue;
		snprintf(id, sizeof(id), "attach:%s:%s", r->name,
		    proto_atype_name(a->type));
		edge_filter_hit_add(
		    f, EDGE_LAYER_POLICY, NULL, id, r->score, r->action);
	}
}

const struct edge_layer edge_layer_policy = {
    .name = "policy",
    .subscribes = 1u << EDGE_FEV_ATTACH,
    .on_event = edge_policy_event,
};
