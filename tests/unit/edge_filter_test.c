/*
 * edge_filter_test.c - the filter chain's decision: hits folded into
 * actions and scores, allow-lists, observe mode, thresholds, per-recipient
 * refusals, fail rules and the hit log text
 *
 * Trust: test inputs only. The layers' own lookups are covered end to end
 * (tests/e2e/test_filters.py) against a running edge and its cache.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_err.h"
#include "edge/edge_int.h"

/* conf_new - a configuration with every layer off and given thresholds */
static struct edge_conf *
conf_new(uint64_t reject, uint64_t tempfail, uint64_t tag)
{
	struct edge_conf *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->filter_off = (1u << EDGE_LAYER__COUNT) - 1;
	c->reject_score = reject;
	c->tempfail_score = tempfail;
	c->tag_score = tag;
	c->filter_budget_time = 250;
	c->hostname = "mx.test";
	return c;
}

/* rec - a record of a kind with flags */
static struct proto_record
rec(uint8_t action, int32_t score, uint8_t flags)
{
	struct proto_record r;

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_KIND_IP;
	r.op = PROTO_OP_PUT;
	r.action = action;
	r.score = score;
	r.flags = flags;
	r.ts_ms = 42;
	r.key_len = 4;
	memcpy(r.key, "\x7f\x00\x00\x01", 4);
	proto_record_set_text(&r, "feed-x", "test");
	return r;
}

static const uint8_t peer[16] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};

static void
test_scores_sum_across_connection_and_transaction(void **state)
{
	struct edge_conf *c = conf_new(10, 0, 0);
	struct edge_fctx f;
	struct edge_fverdict v;

	(void)state;
	edge_filter_session_begin(&f, c, NULL, peer);
	edge_filter_hit_add(&f, EDGE_LAYER_IP, NULL, "a", 6, PROTO_ACT_SCORE);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_SCORE);
	assert_int_equal(v.score, 6);
	edge_filter_txn_begin(&f);
	edge_filter_hit_add(
	    &f, EDGE_LAYER_ENVELOPE, NULL, "b", 3, PROTO_ACT_SCORE);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_SCORE); /* 9 < 10 */
	edge_filter_hit_add(
	    &f, EDGE_LAYER_ENVELOPE, NULL, "c", 1, PROTO_ACT_SCORE);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_REJECT); /* 10 >= 10 */
	assert_string_equal(v.reason, "score:10");
	/* the next transaction starts from the connection's score again */
	edge_filter_txn_end(&f);
	edge_filter_txn_begin(&f);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.score, 6);
	assert_int_equal(v.action, PROTO_ACT_SCORE);
	edge_filter_session_end(&f);
	free(c);
}

static void
test_actions_decide_before_scores_and_allow_wins(void **state)
{
	struct edge_conf *c = conf_new(10, 0, 0);
	struct proto_record r = rec(PROTO_ACT_TEMPFAIL, 0, 0);
	struct edge_fctx f;
	struct edge_fverdict v;

	(void)state;
	edge_filter_session_begin(&f, c, NULL, peer);
	edge_filter_txn_begin(&f);
	edge_filter_hit_add(&f, EDGE_LAYER_IP, &r, "ip:127.0.0.1", 0, r.action);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_TEMPFAIL);
	assert_string_equal(v.reason, "ip:127.0.0.1");
	/* a reject outranks a tempfail and names itself */
	edge_filter_hit_add(
	    &f, EDGE_LAYER_ENVELOPE, NULL, "from:x", 0, PROTO_ACT_REJECT);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_REJECT);
	assert_string_equal(v.reason, "from:x");
	/* an allow-list hit wins over both */
	edge_filter_hit_add(
	    &f, EDGE_LAYER_ENVELOPE, NULL, "rcpt-policy:y", 0, PROTO_ACT_ALLOW);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_ALLOW);
	edge_filter_session_end(&f);
	free(c);
}

static void
test_observe_records_are_kept_but_never_act(void **state)
{
	struct edge_conf *c = conf_new(10, 0, 0);
	struct proto_record r = rec(PROTO_ACT_REJECT, 50, PROTO_RF_OBSERVE);
	struct edge_fctx f;
	struct edge_fverdict v;
	char text[256];

	(void)state;
	edge_filter_session_begin(&f, c, NULL, peer);
	edge_filter_txn_begin(&f);
	edge_filter_hit_add(
	    &f, EDGE_LAYER_IP, &r, "ip:127.0.0.1", r.score, r.action);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_SCORE);
	assert_int_equal(v.score, 0);
	assert_int_equal(f.n_hits, 1);
	edge_filter_hits_text(&f, text, sizeof(text));
	assert_string_equal(text, "ip:127.0.0.1[feed-x/42](observe)");
	edge_filter_session_end(&f);
	free(c);
}

static void
test_tempfail_and_tag_thresholds(void **state)
{
	struct edge_conf *c = conf_new(20, 10, 5);
	struct edge_fctx f;
	struct edge_fverdict v;

	(void)state;
	edge_filter_session_begin(&f, c, NULL, peer);
	edge_filter_txn_begin(&f);
	edge_filter_hit_add(&f, EDGE_LAYER_IP, NULL, "a", 5, PROTO_ACT_SCORE);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_TAG);
	edge_filter_hit_add(&f, EDGE_LAYER_IP, NULL, "b", 5, PROTO_ACT_SCORE);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_TEMPFAIL);
	edge_filter_hit_add(&f, EDGE_LAYER_IP, NULL, "c", 10, PROTO_ACT_SCORE);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_REJECT);
	/* a negative score (a good sender) pulls it back */
	edge_filter_hit_add(&f, EDGE_LAYER_IP, NULL, "d", -15, PROTO_ACT_SCORE);
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_TAG);
	edge_filter_session_end(&f);
	free(c);
}

static void
test_fail_closed_layer_tempfails_once_open_layer_does_not(void **state)
{
	struct edge_conf *c = conf_new(10, 0, 0);
	struct edge_fctx f;
	struct edge_fverdict v;

	(void)state;
	c->filter_fail_closed = 1u << EDGE_LAYER_GEO;
	edge_filter_session_begin(&f, c, NULL, peer);
	edge_filter_txn_begin(&f);
	edge_filter_layer_failed(&f, EDGE_LAYER_IP); /* fails open */
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_SCORE);
	edge_filter_layer_failed(&f, EDGE_LAYER_GEO); /* fails closed */
	edge_filter_layer_failed(&f, EDGE_LAYER_GEO); /* counted once */
	edge_filter_peek(&f, &v);
	assert_int_equal(v.action, PROTO_ACT_TEMPFAIL);
	assert_string_equal(v.reason, "geo:failed");
	assert_int_equal(f.n_hits, 1);
	edge_filter_session_end(&f);
	free(c);
}

static void
test_hits_past_the_bound_are_counted_not_stored(void **state)
{
	struct edge_conf *c = conf_new(0, 0, 0);
	struct edge_fctx f;
	char text[64];
	int i;

	(void)state;
	edge_filter_session_begin(&f, c, NULL, peer);
	edge_filter_txn_begin(&f);
	for (i = 0; i < EDGE_FILTER_HITS_MAX + 5; i++)
		edge_filter_hit_add(
		    &f, EDGE_LAYER_IP, NULL, "some-hit-id", 1, PROTO_ACT_SCORE);
	assert_int_equal(f.n_hits, EDGE_FILTER_HITS_MAX);
	assert_int_equal(f.n_hits_dropped, 5);
	assert_int_equal(f.score, EDGE_FILTER_HITS_MAX + 5);
	/* a small buffer is cut at a whole id, never mid-way */
	edge_filter_hits_text(&f, text, sizeof(text));
	assert_true(strlen(text) < sizeof(text));
	assert_int_equal(
	    strlen(text) % strlen("some-hit-id,"), strlen("some-hit-id"));
	edge_filter_session_end(&f);
	free(c);
}

static void
test_attach_policy_rules_parse_and_refuse(void **state)
{
	struct edge_attach_rule rules[EDGE_ATTACH_RULES_MAX];
	char err[128];
	size_t n = 0;

	(void)state;
	assert_int_equal(
	    edge_policy_rule_parse(rules, &n, "exec=reject", err, sizeof(err)),
	    0);
	assert_int_equal(edge_policy_rule_parse(
	                     rules, &n, "macro=score:7", err, sizeof(err)),
	    0);
	assert_int_equal(n, 2);
	assert_int_equal(rules[1].score, 7);
	assert_int_equal(edge_policy_rule_parse(
	                     rules, &n, "exec=tempfail", err, sizeof(err)),
	    MX_EEXIST);
	assert_int_equal(
	    edge_policy_rule_parse(rules, &n, "pdf=reject", err, sizeof(err)),
	    MX_EINVAL);
	assert_int_equal(edge_policy_rule_parse(
	                     rules, &n, "script=score:1001", err, sizeof(err)),
	    MX_EINVAL);
	assert_int_equal(
	    edge_policy_rule_parse(rules, &n, "archive", err, sizeof(err)),
	    MX_EINVAL);
	assert_int_equal(n, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scores_sum_across_connection_and_transaction),
	    cmocka_unit_test(test_actions_decide_before_scores_and_allow_wins),
	    cmocka_unit_test(test_observe_records_are_kept_but_never_act),
	    cmocka_unit_test(test_tempfail_and_tag_thresholds),
	    cmocka_unit_test(
	        test_fail_closed_layer_tempfails_once_open_layer_does_not),
	    cmocka_unit_test(test_hits_past_the_bound_are_counted_not_stored),
	    cmocka_unit_test(test_attach_policy_rules_parse_and_refuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
