/*
 * edge_filter_layers_test.c - each lookup layer against a real LMDB store
 *
 * The ip, protocol, envelope, content and policy layers run through the
 * chain's stage calls with records put in a store made in a scratch
 * directory; each test checks the hits (reason ids, actions, scores) the
 * layer produced and the verdict. The geo layer has its own tests
 * (edge_geo_test.c, e2e test_filters.py).
 * Trust: test inputs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/mx_err.h"
#include "edge/edge_int.h"

struct fix {
	char dir[512];
	struct proto_store *st;
	struct proto_txn *rtxn;
	struct edge_conf *c;
	struct edge_fctx f;
};

static const uint8_t peer[16] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};

/* put - one record of kind with key text */
static void
put(struct fix *x, int kind, const char *text, uint8_t action, int32_t score)
{
	struct proto_record r;
	struct proto_txn *t;
	size_t len = 0;

	memset(&r, 0, sizeof(r));
	r.kind = (uint8_t)kind;
	r.op = PROTO_OP_PUT;
	r.action = action;
	r.score = score;
	r.ts_ms = 7;
	if (kind == PROTO_KIND_IP)
		assert_int_equal(
		    proto_key_ip(text, strlen(text), r.key, &len), 0);
	else if (kind == PROTO_KIND_NET)
		assert_int_equal(
		    proto_key_net(text, strlen(text), r.key, &len), 0);
	else if (kind == PROTO_KIND_DOMAIN)
		assert_int_equal(
		    proto_key_domain(text, strlen(text), r.key, &len), 0);
	else {
		len = strlen(text);
		memcpy(r.key, text, len);
	}
	r.key_len = (uint16_t)len;
	proto_record_set_text(&r, "unit", "layer test");
	assert_int_equal(proto_store_write_begin(x->st, &t), 0);
	assert_int_equal(proto_store_apply(t, &r), 0);
	assert_int_equal(proto_store_commit(t), 0);
}

static int
setup(void **state)
{
	struct fix *x = calloc(1, sizeof(*x));
	const char *tmp = getenv("MX_TEST_TMP");
	struct proto_store_opts o = {.map_bytes = 64ULL << 20};

	assert_non_null(x);
	snprintf(x->dir, sizeof(x->dir), "%s/layers-%d", tmp ? tmp : "/tmp",
	    (int)getpid());
	mkdir(x->dir, 0700);
	assert_int_equal(proto_store_open(x->dir, &o, &x->st), 0);
	assert_int_equal(proto_store_read_begin(x->st, &x->rtxn), 0);
	proto_store_read_end(x->rtxn);
	x->c = calloc(1, sizeof(*x->c));
	assert_non_null(x->c);
	x->c->filter_off = 1u << EDGE_LAYER_GEO;
	x->c->reject_score = 10;
	x->c->filter_budget_time = 1000;
	x->c->hostname = "mx.test";
	x->c->score_bad_helo = 2;
	x->c->score_early_talker = 5;
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *x = *state;
	char cmd[600];

	edge_filter_session_end(&x->f);
	proto_store_read_free(x->rtxn);
	proto_store_close(x->st);
	free(x->c->traps);
	free(x->c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

/* has_hit - is there a hit with this id (connection or transaction) */
static const struct edge_filter_hit *
has_hit(const struct edge_fctx *f, const char *id)
{
	size_t i;

	for (i = 0; i < f->n_conn_hits; i++)
		if (strcmp(f->conn_hits[i].id, id) == 0)
			return &f->conn_hits[i];
	for (i = 0; i < f->n_hits; i++)
		if (strcmp(f->hits[i].id, id) == 0)
			return &f->hits[i];
	return NULL;
}

static void
test_ip_layer_exact_and_network(void **state)
{
	struct fix *x = *state;
	const struct edge_filter_hit *h;
	struct edge_fverdict v;

	put(x, PROTO_KIND_IP, "192.0.2.7", PROTO_ACT_SCORE, 4);
	put(x, PROTO_KIND_NET, "192.0.2.0/24", PROTO_ACT_SCORE, 3);
	put(x, PROTO_KIND_NET, "192.0.0.0/16", PROTO_ACT_REJECT, 0);
	edge_filter_session_begin(&x->f, x->c, x->rtxn, peer);
	edge_filter_connect(&x->f, &v);
	/* exact ip and the longest prefix only: the /16 is not consulted */
	assert_non_null(h = has_hit(&x->f, "ip:192.0.2.7"));
	assert_int_equal(h->score, 4);
	assert_string_equal(h->source, "unit");
	assert_int_equal(h->version, 7);
	assert_non_null(has_hit(&x->f, "net:192.0.2.0/24"));
	assert_null(has_hit(&x->f, "net:192.0.0.0/16"));
	assert_int_equal(v.action, PROTO_ACT_SCORE);
	assert_int_equal(v.score, 7);
}

static void
test_protocol_layer_helo_checks(void **state)
{
	struct fix *x = *state;
	struct edge_fverdict v;

	edge_filter_session_begin(&x->f, x->c, x->rtxn, peer);
	edge_filter_connect(&x->f, &v);
	edge_filter_helo(&x->f, "[192.0.2.9]", 11, &v);
	assert_non_null(has_hit(&x->f, "proto:helo_literal_mismatch"));
	x->f.proto_reported = 0;
	x->f.proto_flags = 0;
	x->f.n_conn_hits = 0;
	edge_filter_helo(&x->f, "[192.0.2.7]", 11, &v);
	assert_int_equal(x->f.n_conn_hits, 0); /* its own address: fine */
	edge_filter_helo(&x->f, "localhost", 9, &v);
	assert_non_null(has_hit(&x->f, "proto:bad_helo"));
	edge_filter_helo(&x->f, "MX.TEST", 7, &v);
	assert_non_null(has_hit(&x->f, "proto:helo_is_us"));
}

static void
test_envelope_layer_domains_traps_and_policy(void **state)
{
	struct fix *x = *state;
	struct edge_fverdict v;
	char *traps[1];

	put(x, PROTO_KIND_DOMAIN, "bad.test", PROTO_ACT_SCORE, 6);
	put(x, PROTO_KIND_RCPT_POLICY, "vip@example.com", PROTO_ACT_ALLOW, 0);
	put(x, PROTO_KIND_RCPT_POLICY, "blocked@example.com", PROTO_ACT_REJECT,
	    0);
	traps[0] = "trap@example.com";
	x->c->traps = malloc(sizeof(traps));
	memcpy(x->c->traps, traps, sizeof(traps));
	x->c->n_traps = 1;
	x->c->trap_score = 10;
	edge_filter_session_begin(&x->f, x->c, x->rtxn, peer);
	edge_filter_connect(&x->f, &v);
	edge_filter_helo(&x->f, "mx1.bad.test", 12, &v);
	assert_non_null(has_hit(&x->f, "helo:mx1.bad.test"));
	edge_filter_txn_begin(&x->f);
	edge_filter_mail(&x->f, "news.bad.test", 13, &v);
	assert_non_null(has_hit(&x->f, "from:news.bad.test"));
	assert_int_equal(v.score, 12);
	assert_int_equal(v.action, PROTO_ACT_REJECT); /* 12 >= 10 */
	/* a blocked recipient is refused; the verdict names the policy */
	edge_filter_txn_end(&x->f);
	edge_filter_txn_begin(&x->f);
	edge_filter_rcpt(&x->f, "Blocked", 7, "example.com", 11, &v);
	assert_int_equal(v.action, PROTO_ACT_REJECT);
	assert_string_equal(v.reason, "rcpt-policy:blocked@example.com");
	/* a trap answers unknown and marks the transaction */
	edge_filter_rcpt(&x->f, "trap", 4, "example.com", 11, &v);
	assert_int_equal(x->f.rcpt_unknown, 1);
	assert_int_equal(x->f.is_trap, 1);
	x->f.rcpt_unknown = 0;
	/* an allowed recipient lets the transaction through */
	edge_filter_rcpt(&x->f, "vip", 3, "example.com", 11, &v);
	assert_int_equal(v.action, PROTO_ACT_ALLOW);
}

static void
test_content_and_policy_layers_on_a_message(void **state)
{
	struct fix *x = *state;
	struct edge_fverdict v;
	static const char msg[] =
	    "Subject: hi\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\n"
	    "go to https://Login.Phish.Test/acct now\r\n"
	    "--b\r\nContent-Type: application/octet-stream; name=\"a.exe\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"
	    "--b--\r\n";
	size_t i;

	put(x, PROTO_KIND_DOMAIN, "phish.test", PROTO_ACT_SCORE, 3);
	assert_int_equal(edge_policy_rule_parse(x->c->attach_rules,
	                     &x->c->n_attach_rules, "exec=score:4", NULL, 0),
	    0);
	edge_filter_session_begin(&x->f, x->c, x->rtxn, peer);
	edge_filter_connect(&x->f, &v);
	edge_filter_txn_begin(&x->f);
	edge_filter_data(&x->f);
	/* fed one byte at a time: the layers see a stream */
	for (i = 0; i < sizeof(msg) - 1; i++)
		edge_filter_body(&x->f, msg + i, 1);
	edge_filter_eod(&x->f, &v);
	assert_non_null(has_hit(&x->f, "url:login.phish.test"));
	assert_non_null(has_hit(&x->f, "attach:exec:pe"));
	assert_int_equal(v.score, 7);
	assert_int_equal(v.action, PROTO_ACT_SCORE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_ip_layer_exact_and_network, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_protocol_layer_helo_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_envelope_layer_domains_traps_and_policy, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_content_and_policy_layers_on_a_message, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
