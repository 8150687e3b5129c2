/*
 * feed_diff_test.c - mxfeed's state store, diff, change-share hold and
 * serials, without a broker
 *
 * Each test gets a scratch state_dir under MX_TEST_TMP. Lists are read
 * with feed_read_mem as mxfeed reads files; plans are made and committed
 * as mxfeed does after the broker acknowledged every message, or left
 * uncommitted as after a failed publish. Checked: three successive
 * imports (added, removed, unchanged, and the records each would send),
 * the max_change_share hold at and past its bound and what --force
 * (committing a held plan) leaves, serials strictly increasing across
 * runs and above the clock, a failed publish leaving the previous import
 * as the baseline, ttl renewal, the read-only state of --dry-run and the
 * run lock.
 * Trust: test inputs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "lib/mx_err.h"
#include "proto/proto_record.h"
#include "feeds/feed.h"

#define T_SRC "spamhaus-drop"
#define T_NOW 1700000000ULL /* unix seconds of the tests' clock */
#define T_MAP (16ULL << 20) /* LMDB map, bytes */

static const struct feed_rules t_rules = {8, 32, 0, 0};

struct fix {
	char dir[512];
	struct feed_state *st;
	struct feed_rec_conf rc;
};

/* rm_entry - nftw callback removing one entry */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fix *x = calloc(1, sizeof(*x));
	const char *root = getenv("MX_TEST_TMP");
	char err[256];
	int n;

	if (x == NULL)
		return -1;
	if (root == NULL || *root == '\0')
		root = "/tmp";
	n = snprintf(x->dir, sizeof(x->dir), "%s/feed_diff.XXXXXX", root);
	if (n < 0 || (size_t)n >= sizeof(x->dir) || mkdtemp(x->dir) == NULL)
		return -1;
	if (feed_state_open(
	        x->dir, T_SRC, T_MAP, 0, &x->st, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	x->rc.source = T_SRC;
	x->rc.action = PROTO_ACT_REJECT;
	x->rc.score = 40;
	x->rc.ttl_s = 0;
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *x = *state;

	feed_state_close(x->st);
	nftw(x->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(x);
	return 0;
}

/* reopen - close and open the state again, as the next run does */
static void
reopen(struct fix *x)
{
	char err[256];

	feed_state_close(x->st);
	x->st = NULL;
	assert_int_equal(
	    feed_state_open(x->dir, T_SRC, T_MAP, 0, &x->st, err, sizeof(err)),
	    0);
}

/* list_of - a finished list from DROP text */
static void
list_of(struct feed_list *l, const char *text)
{
	struct feed_read_opts o;
	struct feed_read_stats st;

	memset(&o, 0, sizeof(o));
	o.fmt = FEED_FMT_AUTO;
	o.rules = &t_rules;
	o.max_bad_share = 0;
	o.allow_empty = 1;
	feed_list_init(l, 100000);
	assert_int_equal(feed_read_mem(&o, "t", text, strlen(text), l, &st), 0);
	feed_list_finish(l);
}

/* plan_of - a plan of text against the state at now_s */
static void
plan_of(struct fix *x, struct feed_list *l, struct feed_plan *p,
    const char *text, uint64_t now_s)
{
	list_of(l, text);
	assert_int_equal(feed_diff_plan(x->st, l, &x->rc, now_s, p), 0);
}

/* record_text - "+ net 1.2.3.0/24 SBL1" for comparisons */
static void
record_text(const struct proto_record *r, char *out, size_t outlen)
{
	char key[300];

	assert_int_equal(
	    proto_key_format(r->kind, r->key, r->key_len, key, sizeof(key)), 0);
	snprintf(out, outlen, "%c %s %s %.*s",
	    r->op == PROTO_OP_PUT ? '+' : '-', proto_kind_name(r->kind), key,
	    (int)r->reason_len, r->reason);
}

/* assert_records - the plan's records are exactly want[] in order */
static void
assert_records(const struct feed_plan *p, const struct feed_list *l,
    const struct feed_rec_conf *rc, const char *const *want, size_t n)
{
	struct proto_record recs[16];
	char text[400];
	size_t i, got;

	assert_int_equal(feed_diff_count(p), n);
	got = feed_diff_records(p, l, rc, T_NOW * 1000, 0, recs, 16);
	assert_int_equal(got, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(proto_record_check(&recs[i]), 0);
		assert_int_equal(recs[i].ts_ms, T_NOW * 1000);
		record_text(&recs[i], text, sizeof(text));
		assert_string_equal(text, want[i]);
		if (recs[i].op == PROTO_OP_PUT) {
			assert_int_equal(recs[i].action, rc->action);
			assert_int_equal(recs[i].score, rc->score);
		}
	}
}

/* stored_keys - the state's entries as "kind key tag" lines */
static void
stored_keys(struct fix *x, char *out, size_t outlen)
{
	struct feed_state_iter *it;
	struct feed_stored s;
	char t[400];
	size_t o = 0;
	int rc;

	out[0] = '\0';
	assert_int_equal(feed_state_iter_begin(x->st, &it), 0);
	while ((rc = feed_state_iter_next(it, &s)) == 0) {
		feed_entry_text(&s.e, t, sizeof(t));
		o += (size_t)snprintf(out + o, outlen - o, "%s %.*s;", t,
		    (int)s.e.tag_len, s.e.tag);
		assert_true(o < outlen);
	}
	assert_int_equal(rc, MX_ENOTFOUND);
	feed_state_iter_end(it);
}

static const char t_import1[] = "; DROP\n"
                                "1.10.16.0/20 ; SBL256894\n"
                                "1.19.0.0/16 ; SBL434604\n"
                                "2.56.192.0/22 ; SBL459831\n";
/* one gone (1.19/16), one new (5.8/16) */
static const char t_import2[] = "; DROP\n"
                                "1.10.16.0/20 ; SBL256894\n"
                                "2.56.192.0/22 ; SBL459831\n"
                                "5.8.0.0/16 ; SBL1\n";

static void
test_three_imports_add_remove_unchanged(void **state)
{
	static const char *const want1[] = {"+ net 1.19.0.0/16 SBL434604",
	    "+ net 1.10.16.0/20 SBL256894", "+ net 2.56.192.0/22 SBL459831"};
	static const char *const want2[] = {
	    "- net 1.19.0.0/16 delisted SBL434604", "+ net 5.8.0.0/16 SBL1"};
	struct fix *x = *state;
	struct feed_state_info info;
	struct feed_list l;
	struct feed_plan p;
	char keys[2000];

	/* 1: everything is new; a first import is never held */
	plan_of(x, &l, &p, t_import1, T_NOW);
	assert_false(p.has_prev);
	assert_int_equal(p.n_prev, 0);
	assert_int_equal(p.n_added, 3);
	assert_int_equal(p.dels.n, 0);
	assert_false(feed_diff_is_held(&p, 0));
	assert_records(&p, &l, &x->rc, want1, 3);
	assert_int_equal(
	    feed_diff_commit(x->st, &p, &l, &x->rc, T_NOW * 1000), 0);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	assert_int_equal(feed_state_get_info(x->st, &info), 0);
	assert_true(info.has_import);
	assert_int_equal(info.entries, 3);
	assert_int_equal(info.ts_ms, T_NOW * 1000);
	reopen(x);
	/* 2: one removed, one added, two unchanged; the del goes first */
	plan_of(x, &l, &p, t_import2, T_NOW + 60);
	assert_true(p.has_prev);
	assert_int_equal(p.n_prev, 3);
	assert_int_equal(p.n_added, 1);
	assert_int_equal(p.dels.n, 1);
	assert_int_equal(p.n_renewed, 0);
	assert_int_equal(p.n_unchanged, 2);
	assert_false(feed_diff_is_held(&p, 50));
	assert_records(&p, &l, &x->rc, want2, 2);
	assert_int_equal(
	    feed_diff_commit(x->st, &p, &l, &x->rc, (T_NOW + 60) * 1000), 0);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	stored_keys(x, keys, sizeof(keys));
	/* key order: prefix length byte first, then the address */
	assert_string_equal(keys, "net 5.8.0.0/16 SBL1;"
	                          "net 1.10.16.0/20 SBL256894;"
	                          "net 2.56.192.0/22 SBL459831;");
	reopen(x);
	/* 3: the same list again: nothing to send */
	plan_of(x, &l, &p, t_import2, T_NOW + 120);
	assert_int_equal(p.n_prev, 3);
	assert_int_equal(p.n_added, 0);
	assert_int_equal(p.dels.n, 0);
	assert_int_equal(p.n_unchanged, 3);
	assert_int_equal(feed_diff_count(&p), 0);
	assert_false(feed_diff_is_held(&p, 0));
	feed_plan_fini(&p);
	feed_list_fini(&l);
}

/* commit_text - plan and commit text at T_NOW */
static void
commit_text(struct fix *x, const char *text)
{
	struct feed_list l;
	struct feed_plan p;

	plan_of(x, &l, &p, text, T_NOW);
	assert_int_equal(
	    feed_diff_commit(x->st, &p, &l, &x->rc, T_NOW * 1000), 0);
	feed_plan_fini(&p);
	feed_list_fini(&l);
}

/* held - is text held against the state at a share */
static int
held(struct fix *x, const char *text, uint64_t share)
{
	struct feed_list l;
	struct feed_plan p;
	int h;

	plan_of(x, &l, &p, text, T_NOW);
	h = feed_diff_is_held(&p, share);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	return h;
}

static void
test_change_share_hold_and_force(void **state)
{
	static const char four[] = "45.1.0.0/16\n45.2.0.0/16\n45.3.0.0/16\n"
	                           "45.4.0.0/16\n";
	struct fix *x = *state;
	struct feed_list l;
	struct feed_plan p;
	char keys[2000];

	commit_text(x, four);
	/* shrink: 2 of 4 gone is 50 %, at the bound; 3 of 4 is over */
	assert_false(held(x, "45.1.0.0/16\n45.2.0.0/16\n", 50));
	assert_true(held(x, "45.1.0.0/16\n", 50));
	assert_true(held(x, "", 50));
	/* growth: 2 new on 4 is 50 %; 3 is over */
	assert_false(held(x,
	    "45.1.0.0/16\n45.2.0.0/16\n45.3.0.0/16\n45.4.0.0/16\n"
	    "45.5.0.0/16\n45.6.0.0/16\n",
	    50));
	assert_true(held(x,
	    "45.1.0.0/16\n45.2.0.0/16\n45.3.0.0/16\n45.4.0.0/16\n"
	    "45.5.0.0/16\n45.6.0.0/16\n45.7.0.0/16\n",
	    50));
	/* a list swapped for another of the same size is held too */
	assert_true(held(
	    x, "46.1.0.0/16\n46.2.0.0/16\n46.3.0.0/16\n46.4.0.0/16\n", 50));
	/* share 0: any change is held; none is not */
	assert_true(held(x, "45.1.0.0/16\n45.2.0.0/16\n45.3.0.0/16\n", 0));
	assert_false(held(x, four, 0));
	/* --force: the held plan is published and committed like another;
	 * afterwards it is the baseline and the same list is no change */
	plan_of(x, &l, &p, "45.1.0.0/16\n", T_NOW);
	assert_true(feed_diff_is_held(&p, 50));
	assert_int_equal(p.dels.n, 3);
	assert_int_equal(
	    feed_diff_commit(x->st, &p, &l, &x->rc, T_NOW * 1000), 0);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	stored_keys(x, keys, sizeof(keys));
	assert_string_equal(keys, "net 45.1.0.0/16 ;");
	assert_false(held(x, "45.1.0.0/16\n", 50));
	/* back to four from one: +300 %, held */
	assert_true(held(x, four, 50));
	assert_false(held(x, four, 300));
}

static void
test_serials_strictly_increase(void **state)
{
	struct fix *x = *state;
	struct feed_state_info info;
	uint64_t first;

	assert_int_equal(feed_state_serial_reserve(x->st, 1, 1000, &first), 0);
	assert_int_equal(first, 1000);
	/* a clock that went back never gives a used serial */
	assert_int_equal(feed_state_serial_reserve(x->st, 3, 500, &first), 0);
	assert_int_equal(first, 1001); /* 1001..1003 */
	assert_int_equal(feed_state_serial_reserve(x->st, 1, 1003, &first), 0);
	assert_int_equal(first, 1004);
	/* the clock ahead wins */
	assert_int_equal(feed_state_serial_reserve(x->st, 2, 5000, &first), 0);
	assert_int_equal(first, 5000);
	/* kept across runs */
	reopen(x);
	assert_int_equal(feed_state_get_info(x->st, &info), 0);
	assert_int_equal(info.serial_max, 5001);
	assert_int_equal(feed_state_serial_reserve(x->st, 1, 10, &first), 0);
	assert_int_equal(first, 5002);
	assert_int_equal(
	    feed_state_serial_reserve(x->st, 0, 10, &first), MX_ESTATE);
}

static void
test_failed_publish_keeps_baseline(void **state)
{
	struct fix *x = *state;
	struct feed_state_info info;
	struct feed_list l;
	struct feed_plan p;
	uint64_t s1, s2;

	commit_text(x, t_import1);
	/* a run reserves its serial, publishes, and dies before the PUBACK:
	 * no commit */
	plan_of(x, &l, &p, t_import2, T_NOW);
	assert_int_equal(feed_diff_count(&p), 2);
	assert_int_equal(
	    feed_state_serial_reserve(x->st, 1, T_NOW * 1000, &s1), 0);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	reopen(x);
	/* the next run sees the unfinished reservation and the old
	 * baseline: the whole difference again, under a new serial */
	assert_int_equal(feed_state_get_info(x->st, &info), 0);
	assert_true(info.serial_max > info.serial);
	plan_of(x, &l, &p, t_import2, T_NOW);
	assert_int_equal(p.n_added, 1);
	assert_int_equal(p.dels.n, 1);
	assert_int_equal(
	    feed_state_serial_reserve(x->st, 1, T_NOW * 1000, &s2), 0);
	assert_true(s2 > s1);
	assert_int_equal(
	    feed_diff_commit(x->st, &p, &l, &x->rc, T_NOW * 1000), 0);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	assert_int_equal(feed_state_get_info(x->st, &info), 0);
	assert_int_equal(info.serial_max, info.serial);
	assert_int_equal(info.serial, s2);
}

static void
test_ttl_renewal_and_changed_settings(void **state)
{
	static const char one[] = "1.10.16.0/20 ; SBL256894\n";
	struct fix *x = *state;
	struct proto_record r;
	struct feed_list l;
	struct feed_plan p;

	x->rc.ttl_s = 3600;
	plan_of(x, &l, &p, one, T_NOW);
	assert_int_equal(
	    feed_diff_records(&p, &l, &x->rc, T_NOW * 1000, 0, &r, 1), 1);
	assert_int_equal(r.expires, T_NOW + 3600);
	assert_int_equal(
	    feed_diff_commit(x->st, &p, &l, &x->rc, T_NOW * 1000), 0);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	/* fresh: nothing; half the ttl gone: renewed */
	plan_of(x, &l, &p, one, T_NOW + 1800);
	assert_int_equal(p.n_unchanged, 1);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	plan_of(x, &l, &p, one, T_NOW + 1801);
	assert_int_equal(p.n_renewed, 1);
	assert_int_equal(p.n_added, 0);
	assert_false(feed_diff_is_held(&p, 0)); /* renewals never hold */
	assert_int_equal(
	    feed_diff_records(&p, &l, &x->rc, (T_NOW + 1801) * 1000, 0, &r, 1),
	    1);
	assert_int_equal(r.op, PROTO_OP_PUT);
	assert_int_equal(r.expires, T_NOW + 1801 + 3600);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	/* another action, score, tag or no ttl: put again */
	x->rc.action = PROTO_ACT_TAG;
	plan_of(x, &l, &p, one, T_NOW + 10);
	assert_int_equal(p.n_renewed, 1);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	x->rc.action = PROTO_ACT_REJECT;
	plan_of(x, &l, &p, "1.10.16.0/20 ; SBL9\n", T_NOW + 10);
	assert_int_equal(p.n_renewed, 1);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	x->rc.ttl_s = 0;
	plan_of(x, &l, &p, one, T_NOW + 10);
	assert_int_equal(p.n_renewed, 1);
	assert_int_equal(
	    feed_diff_records(&p, &l, &x->rc, T_NOW * 1000, 0, &r, 1), 1);
	assert_int_equal(r.expires, 0);
	feed_plan_fini(&p);
	feed_list_fini(&l);
}

static void
test_records_come_in_windows(void **state)
{
	struct fix *x = *state;
	struct proto_record recs[3];
	struct feed_list l;
	struct feed_plan p;
	char *text = malloc(64 * 20);
	size_t i, o = 0, got, total = 0;

	for (i = 0; i < 20; i++)
		o += (size_t)sprintf(text + o, "45.%zu.0.0/16\n", i + 1);
	commit_text(x, text);
	/* drop the first 5, add 3: 8 records, dels first */
	o = 0;
	for (i = 5; i < 23; i++)
		o += (size_t)sprintf(text + o, "45.%zu.0.0/16\n", i + 1);
	plan_of(x, &l, &p, text, T_NOW);
	assert_int_equal(feed_diff_count(&p), 8);
	for (i = 0; i < 8; i += got) {
		got =
		    feed_diff_records(&p, &l, &x->rc, T_NOW * 1000, i, recs, 3);
		assert_true(got > 0 && got <= 3);
		assert_int_equal(
		    recs[0].op, i < 5 ? PROTO_OP_DEL : PROTO_OP_PUT);
		total += got;
	}
	assert_int_equal(total, 8);
	assert_int_equal(
	    feed_diff_records(&p, &l, &x->rc, T_NOW * 1000, 8, recs, 3), 0);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	free(text);
}

static void
test_dry_run_state_is_read_only(void **state)
{
	struct fix *x = *state;
	struct feed_state *ro = NULL;
	struct feed_state_info info;
	struct feed_list l;
	struct feed_plan p;
	char err[256], path[700];
	struct stat sb;
	uint64_t first;

	/* a source never imported: empty, and nothing is created */
	assert_int_equal(
	    feed_state_open(x->dir, "other", T_MAP, 1, &ro, err, sizeof(err)),
	    0);
	snprintf(path, sizeof(path), "%s/other", x->dir);
	assert_int_not_equal(stat(path, &sb), 0);
	assert_int_equal(feed_state_get_info(ro, &info), 0);
	assert_false(info.has_import);
	list_of(&l, t_import1);
	assert_int_equal(feed_diff_plan(ro, &l, &x->rc, T_NOW, &p), 0);
	assert_int_equal(p.n_added, 3);
	assert_int_equal(
	    feed_state_serial_reserve(ro, 1, 1, &first), MX_ESTATE);
	assert_int_equal(
	    feed_diff_commit(ro, &p, &l, &x->rc, T_NOW * 1000), MX_ESTATE);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	feed_state_close(ro);
	assert_int_not_equal(stat(path, &sb), 0);
	/* a source with an import: read as it is (LMDB forbids opening an
	 * environment twice in one process, so the writer closes first) */
	commit_text(x, t_import1);
	feed_state_close(x->st);
	x->st = NULL;
	assert_int_equal(
	    feed_state_open(x->dir, T_SRC, T_MAP, 1, &ro, err, sizeof(err)), 0);
	list_of(&l, t_import2);
	assert_int_equal(feed_diff_plan(ro, &l, &x->rc, T_NOW, &p), 0);
	assert_int_equal(p.n_unchanged, 2);
	assert_int_equal(p.n_added, 1);
	assert_int_equal(p.dels.n, 1);
	assert_int_equal(
	    feed_state_serial_reserve(ro, 1, 1, &first), MX_ESTATE);
	feed_plan_fini(&p);
	feed_list_fini(&l);
	feed_state_close(ro);
	reopen(x);
}

static void
test_one_writer_per_source(void **state)
{
	struct fix *x = *state;
	struct feed_state *second = NULL;
	char err[256];

	assert_int_equal(
	    feed_state_open(x->dir, T_SRC, T_MAP, 0, &second, err, sizeof(err)),
	    MX_EEXIST);
	assert_non_null(strstr(err, "another run"));
	assert_int_equal(
	    feed_state_open(x->dir, "..", T_MAP, 0, &second, err, sizeof(err)),
	    MX_EINVAL);
	/* another source is another lock */
	assert_int_equal(feed_state_open(x->dir, "edrop", T_MAP, 0, &second,
	                     err, sizeof(err)),
	    0);
	feed_state_close(second);
	/* released when the run ends */
	feed_state_close(x->st);
	x->st = NULL;
	assert_int_equal(
	    feed_state_open(x->dir, T_SRC, T_MAP, 0, &x->st, err, sizeof(err)),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_three_imports_add_remove_unchanged, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_change_share_hold_and_force, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_serials_strictly_increase, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_failed_publish_keeps_baseline, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ttl_renewal_and_changed_settings, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_records_come_in_windows, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dry_run_state_is_read_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_one_writer_per_source, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
