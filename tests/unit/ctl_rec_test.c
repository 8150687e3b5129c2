/*
 * ctl_rec_test.c - mxctl's pure parts: command line, value validation,
 * the records of block/allow/revoke and sig add, status formatting
 *
 * Checked: commands and their argument counts, --reason required, bad
 * --ttl refused; canonical keys for ip, net, domain and the refusals
 * (host bits, bad names); the record fields each command makes; sig add
 * on a sample message gives 32 fp bands carrying the signature plus the
 * body hash; a status payload round-trips into the printed lines and
 * the JSON, with the lag from a metrics page.
 * Trust: test inputs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_alloc.h"
#include "lib/mx_buf.h"
#include "lib/mx_err.h"
#include "feeds/ctl.h"

/* split - ctl_args_split on a NULL-ended word list */
static int
split(struct ctl_args *a, const char **words, char *err)
{
	char *argv[32], **rest = NULL;
	int argc = 0, n_rest = 0, rc;

	argv[argc++] = "mxctl";
	while (*words != NULL)
		argv[argc++] = (char *)*words++;
	rc = ctl_args_split(argc, argv, a, &rest, &n_rest, err, CTL_ERR_MAX);
	mx_free(rest);
	return rc;
}

static void
test_args(void **state)
{
	struct ctl_args a;
	char err[CTL_ERR_MAX];
	const char *ok[] = {"-c", "x.conf", "block", "ip", "192.0.2.1",
	    "--reason", "case 1", "--ttl", "1h", "--json", NULL};
	const char *noreason[] = {"allow", "domain", "example.com", NULL};
	const char *badkind[] = {"block", "url", "x", "--reason", "r", NULL};
	const char *badttl[] = {
	    "revoke", "ip", "192.0.2.1", "--ttl", "x", NULL};
	const char *sig[] = {"sig", "test", "a.eml", "--wait", "5s", NULL};
	const char *edges[] = {"edges", "--hub-metrics", "h:1", NULL};
	const char *unknown[] = {"frob", NULL};

	(void)state;
	assert_int_equal(split(&a, ok, err), 0);
	assert_int_equal(a.cmd, CTL_CMD_BLOCK);
	assert_string_equal(a.kind, "ip");
	assert_string_equal(a.value, "192.0.2.1");
	assert_string_equal(a.reason, "case 1");
	assert_int_equal(a.ttl_ms, 3600000);
	assert_true(a.is_json);
	assert_int_equal(split(&a, noreason, err), MX_EINVAL);
	assert_non_null(strstr(err, "--reason"));
	assert_int_equal(split(&a, badkind, err), MX_EINVAL);
	assert_int_equal(split(&a, badttl, err), MX_EINVAL);
	assert_int_equal(split(&a, sig, err), 0);
	assert_int_equal(a.cmd, CTL_CMD_SIG_TEST);
	assert_int_equal(a.wait_ms, 5000);
	assert_int_equal(split(&a, edges, err), 0);
	assert_int_equal(a.cmd, CTL_CMD_EDGES);
	assert_string_equal(a.hub_metrics, "h:1");
	assert_int_equal(split(&a, unknown, err), MX_EINVAL);
}

static void
test_values(void **state)
{
	struct proto_record r;
	char err[CTL_ERR_MAX];

	(void)state;
	assert_int_equal(
	    ctl_rec_single(CTL_CMD_BLOCK, "ip", "192.0.2.7", "analyst", "case",
	        60000, 1700000000000ULL, &r, err, sizeof(err)),
	    0);
	assert_int_equal(r.kind, PROTO_KIND_IP);
	assert_int_equal(r.op, PROTO_OP_PUT);
	assert_int_equal(r.action, PROTO_ACT_REJECT);
	assert_int_equal(r.key_len, 4);
	assert_int_equal(r.expires, 1700000060ULL);
	assert_memory_equal(r.reason, "case", 4);
	assert_int_equal(
	    ctl_rec_single(CTL_CMD_ALLOW, "domain", "Mail.EXAMPLE.com.",
	        "analyst", "ok", 0, 1, &r, err, sizeof(err)),
	    0);
	assert_int_equal(r.action, PROTO_ACT_ALLOW);
	assert_int_equal(r.key_len, 16);
	assert_memory_equal(r.key, "com.example.mail", 16);
	assert_int_equal(r.expires, 0);
	assert_int_equal(ctl_rec_single(CTL_CMD_REVOKE, "net", "192.0.2.0/24",
	                     "analyst", NULL, 5000, 1, &r, err, sizeof(err)),
	    0);
	assert_int_equal(r.op, PROTO_OP_DEL);
	assert_int_equal(r.kind, PROTO_KIND_NET);
	assert_int_equal(r.expires, 0);
	assert_int_equal(ctl_rec_single(CTL_CMD_BLOCK, "net", "10.0.0.1/8", "a",
	                     "r", 0, 1, &r, err, sizeof(err)),
	    MX_EINVAL);
	assert_non_null(strstr(err, "host bits"));
	assert_int_equal(ctl_rec_single(CTL_CMD_BLOCK, "ip", "300.1.1.1", "a",
	                     "r", 0, 1, &r, err, sizeof(err)),
	    MX_EINVAL);
	assert_int_equal(ctl_rec_single(CTL_CMD_BLOCK, "domain", "a..b", "a",
	                     "r", 0, 1, &r, err, sizeof(err)),
	    MX_EINVAL);
	assert_int_equal(ctl_rec_single(CTL_CMD_BLOCK, "ip", "192.0.2.1", "a",
	                     "bad\nreason", 0, 1, &r, err, sizeof(err)),
	    MX_EINVAL);
}

static const char t_msg[] =
    "From: Deals <offers@deals.test>\r\n"
    "To: user@example.com\r\n"
    "Subject: exclusive offer\r\n"
    "\r\n"
    "Dear Alice, you have been selected to receive an exclusive offer on "
    "premium watches and luxury handbags at ninety percent off the retail "
    "price. Order today from our trusted online store before this limited "
    "time offer expires forever. Your personal coupon code is A1B2C3.\r\n"
    "Visit http://shop.offers.test/r/A1B2C3 to claim your discount.\r\n";

static void
test_sig(void **state)
{
	struct proto_content_result *res = mx_calloc(1, sizeof(*res));
	struct proto_record *recs = mx_calloc(CTL_SIG_RECS, sizeof(*recs));
	uint8_t sig[PROTO_FP_SIG_LEN];
	char err[CTL_ERR_MAX];
	int n, i;

	(void)state;
	assert_int_equal(
	    proto_content_analyze(t_msg, sizeof(t_msg) - 1, res), 0);
	n = ctl_rec_sig(
	    res, "analyst", "campaign", 0, 1000, recs, err, sizeof(err));
	assert_int_equal(n, PROTO_FP_BANDS + 1);
	proto_fp_sig8(&res->fp, sig);
	for (i = 0; i < PROTO_FP_BANDS; i++) {
		assert_int_equal(recs[i].kind, PROTO_KIND_FP);
		assert_memory_equal(
		    recs[i].key, res->fp.keys[i], PROTO_FP_KEY_LEN);
		assert_int_equal(recs[i].data_len, PROTO_FP_SIG_LEN);
		assert_memory_equal(recs[i].data, sig, PROTO_FP_SIG_LEN);
	}
	assert_int_equal(recs[n - 1].kind, PROTO_KIND_HASH);
	assert_int_equal(recs[n - 1].key[0], PROTO_HASH_BODY);
	assert_memory_equal(recs[n - 1].key + 1, res->body_sha256, 32);
	/* too little text: refused */
	assert_int_equal(
	    proto_content_analyze("Subject: x\r\n\r\nhi\r\n", 19, res), 0);
	assert_int_equal(
	    ctl_rec_sig(res, "analyst", "r", 0, 1, recs, err, sizeof(err)),
	    MX_EINVAL);
	mx_free(recs);
	mx_free(res);
}

static void
test_status(void **state)
{
	struct proto_status st;
	struct ctl_edge e[2];
	struct ctl_hub_metrics hm;
	struct mx_buf b;
	const char page[] = "# TYPE mxhub_update_seq gauge\n"
	                    "mxhub_update_seq 12\n"
	                    "mxhub_update_epoch 1700000000000\n";
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.edge_id.p = (const uint8_t *)"edge-a";
	st.edge_id.len = 6;
	st.pop.p = (const uint8_t *)"pop-a";
	st.pop.len = 5;
	st.version.p = (const uint8_t *)"1.0";
	st.version.len = 3;
	st.state = PROTO_EDGE_ONLINE;
	st.ts_ms = 1700000000000ULL;
	st.sessions = 3;
	st.msgs_per_min = 7;
	st.n_hubs = 1;
	st.hubs[0].hub_id.p = (const uint8_t *)"hub-1";
	st.hubs[0].hub_id.len = 5;
	st.hubs[0].epoch = 1700000000000ULL;
	st.hubs[0].seq = 10;
	mx_buf_init(&b, PROTO_MSG_MAX);
	assert_int_equal(proto_status_encode(&b, &st), 0);
	assert_int_equal(ctl_status_decode(b.data, b.len, &e[0]), 0);
	mx_buf_fini(&b);
	assert_string_equal(e[0].edge_id, "edge-a");
	assert_int_equal(e[0].hubs[0].seq, 10);
	ctl_status_metrics_parse(page, sizeof(page) - 1, &hm);
	assert_true(hm.is_known);
	assert_int_equal(hm.seq, 12);
	f = open_memstream(&text, &len);
	ctl_status_print(f, e, 1, &hm, 1700000001500ULL, 0);
	fclose(f);
	assert_non_null(strstr(text, "edge-a online"));
	assert_non_null(strstr(text, "pop=pop-a sessions=3 msgs_per_min=7"));
	assert_non_null(strstr(text, "hub hub-1 epoch=1700000000000 seq=10 "
	                             "lag=2"));
	assert_non_null(strstr(text, "age=1.5s"));
	free(text);
	f = open_memstream(&text, &len);
	ctl_status_print(f, e, 1, NULL, 1700000001500ULL, 1);
	fclose(f);
	assert_non_null(strstr(text, "[{\"edge\":\"edge-a\",\"state\":"
	                             "\"online\""));
	assert_non_null(strstr(text, "\"hubs\":[{\"hub\":\"hub-1\","
	                             "\"epoch\":1700000000000,\"seq\":10}]"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_args),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_sig),
	    cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
