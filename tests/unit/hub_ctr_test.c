/*
 * hub_ctr_test.c - the hub's decayed counters: decay, sketches, limits
 *
 * Each test gets a fresh store in a unique directory under $MX_TEST_TMP
 * (or /tmp), opened with a fixed SipHash key so that the sketch estimates
 * are the same on every run, and removed afterwards. Some tests close the
 * store and use raw LMDB calls to read or damage values as
 * docs/hub-counters.md lays them out.
 * Trust: test inputs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <ftw.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <lmdb.h>

#include "lib/mx_err.h"
#include "hub/hub_ctr.h"

#define T_MAP (64ULL << 20)   /* test map, bytes */
#define T_HL 3600000ULL       /* half-life, ms */
#define T_T0 1700000000000ULL /* a start time, ms */

static const uint8_t t_hash_key[HUB_CTR_HASH_KEY_LEN] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

struct fix {
	char dir[512];         /* store directory */
	struct hub_ctr_opts o; /* options it was opened with */
	struct hub_ctr *c;     /* open store, or NULL */
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

/* setup - make a unique empty directory and open a store in it */
static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	const char *root = getenv("MX_TEST_TMP");
	int n;

	if (f == NULL)
		return -1;
	if (root == NULL || *root == '\0')
		root = "/tmp";
	f->o.map_bytes = T_MAP;
	f->o.half_life_ms = T_HL;
	f->o.no_sync = 1;
	f->o.hash_key = t_hash_key;
	n = snprintf(f->dir, sizeof(f->dir), "%s/hub_ctr.XXXXXX", root);
	if (n < 0 || (size_t)n >= sizeof(f->dir) || mkdtemp(f->dir) == NULL ||
	    hub_ctr_open(f->dir, &f->o, &f->c) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* teardown - close the store and remove its directory */
static int
teardown(void **state)
{
	struct fix *f = *state;

	hub_ctr_close(f->c);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* reopen - close the store and open it again with f->o */
static int
reopen(struct fix *f)
{
	hub_ctr_close(f->c);
	f->c = NULL;
	return hub_ctr_open(f->dir, &f->o, &f->c);
}

/* add1 - in its own txn, add `vol` to VOLUME of (kind, key) at now */
static void
add1(struct fix *f, int kind, const char *key, double vol, uint64_t now)
{
	struct hub_ctr_delta d = {.add = {0}};

	d.add[HUB_CF_VOLUME] = vol;
	assert_int_equal(hub_ctr_begin(f->c), 0);
	assert_int_equal(hub_ctr_update(f->c, kind, (const uint8_t *)key,
	                     strlen(key), &d, now, NULL),
	    0);
	assert_int_equal(hub_ctr_commit(f->c), 0);
}

/* get - the entry (kind, key) at now; returns the hub_ctr_get code */
static int
get(struct fix *f, int kind, const char *key, uint64_t now,
    struct hub_ctr_val *out)
{
	return hub_ctr_get(
	    f->c, kind, (const uint8_t *)key, strlen(key), now, out);
}

/* assert_rel - |got - want| <= rel * |want| */
static void
assert_rel(double got, double want, double rel)
{
	if (fabs(got - want) > rel * fabs(want))
		fail_msg("got %.17g, want %.17g (rel %g)", got, want, rel);
}

/* raw_env - open the closed store's environment with raw LMDB */
static MDB_env *
raw_env(struct fix *f)
{
	MDB_env *env;

	hub_ctr_close(f->c);
	f->c = NULL;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_set_mapsize(env, T_MAP), 0);
	assert_int_equal(mdb_env_open(env, f->dir, MDB_NOSYNC, 0640), 0);
	return env;
}

/* raw_rw - read (get = 1) or write (get = 0) the raw value of a key */
static void
raw_rw(MDB_env *env, const char *db, const char *key, uint8_t *buf, size_t *len,
    int is_get)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {strlen(key), (void *)key}, v = {*len, buf};

	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	if (is_get) {
		assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
		assert_true(v.mv_size <= *len);
		memcpy(buf, v.mv_data, v.mv_size);
		*len = v.mv_size;
	} else {
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
}

/* test_decay_halves_after_one_half_life - and compounds across updates */
static void
test_decay_halves_after_one_half_life(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_delta d = {.add = {0}};
	struct hub_ctr_val v;
	double want;
	int i;

	for (i = 0; i < HUB_CF__COUNT; i++)
		d.add[i] = 3.0 + i;
	assert_int_equal(hub_ctr_begin(f->c), 0);
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_IP, (const uint8_t *)"\xc0\x00\x02\x07",
	        4, &d, T_T0, &v),
	    0);
	assert_int_equal(hub_ctr_commit(f->c), 0);
	assert_rel(v.v[HUB_CF_VOLUME], 3.0, 1e-12);
	assert_int_equal(v.first_ms, T_T0);
	assert_int_equal(v.last_ms, T_T0);
	assert_int_equal(
	    hub_ctr_get(f->c, HUB_CK_IP, (const uint8_t *)"\xc0\x00\x02\x07", 4,
	        T_T0 + T_HL, &v),
	    0);
	for (i = 0; i < HUB_CF__COUNT; i++)
		assert_rel(v.v[i], (3.0 + i) / 2, 1e-9);
	assert_int_equal(
	    hub_ctr_get(f->c, HUB_CK_IP, (const uint8_t *)"\xc0\x00\x02\x07", 4,
	        T_T0 + 2 * T_HL, &v),
	    0);
	assert_rel(v.v[HUB_CF_VOLUME], 0.75, 1e-9);

	/* 1 at t0, 1 at t0 + H/3, read at t0 + H/3 + H */
	add1(f, HUB_CK_DOMAIN, "com.example", 1.0, T_T0);
	add1(f, HUB_CK_DOMAIN, "com.example", 1.0, T_T0 + T_HL / 3);
	want = (exp2(-1.0 / 3) + 1.0) / 2;
	assert_int_equal(
	    get(f, HUB_CK_DOMAIN, "com.example", T_T0 + T_HL / 3 + T_HL, &v),
	    0);
	assert_rel(v.v[HUB_CF_VOLUME], want, 1e-9);
	assert_int_equal(v.last_ms, T_T0 + T_HL / 3);
	/* unrelated fields stay zero */
	assert_true(v.v[HUB_CF_TRAP] == 0.0);
}

/* test_backwards_time_does_not_grow - dt < 0 counts as 0 */
static void
test_backwards_time_does_not_grow(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_val v;

	add1(f, HUB_CK_NET, "net1", 10.0, T_T0);
	assert_int_equal(get(f, HUB_CK_NET, "net1", T_T0 - T_HL, &v), 0);
	assert_true(v.v[HUB_CF_VOLUME] == 10.0);
	assert_int_equal(get(f, HUB_CK_NET, "net1", 0, &v), 0);
	assert_true(v.v[HUB_CF_VOLUME] == 10.0);
	/* an update from the past adds without growing what is there */
	add1(f, HUB_CK_NET, "net1", 1.0, T_T0 - 5 * T_HL);
	assert_int_equal(get(f, HUB_CK_NET, "net1", T_T0, &v), 0);
	assert_true(v.v[HUB_CF_VOLUME] == 11.0);
	assert_int_equal(v.last_ms, T_T0);
	assert_int_equal(v.first_ms, T_T0 - 5 * T_HL);
	/* and time moving on from last_ms decays as usual */
	assert_int_equal(get(f, HUB_CK_NET, "net1", T_T0 + T_HL, &v), 0);
	assert_rel(v.v[HUB_CF_VOLUME], 5.5, 1e-9);
}

/* add_items - add items n0..n1-1 (text "<tag>-<i>") to set s of key */
static void
add_items(
    struct fix *f, const char *key, int s, const char *tag, int n0, int n1)
{
	struct hub_ctr_delta d = {.add = {0}};
	char item[64];
	int i, n;

	assert_int_equal(hub_ctr_begin(f->c), 0);
	for (i = n0; i < n1; i++) {
		n = snprintf(item, sizeof(item), "%s-%d", tag, i);
		assert_true(n > 0 && (size_t)n < sizeof(item));
		d.item[s] = (const uint8_t *)item;
		d.item_len[s] = (size_t)n;
		assert_int_equal(
		    hub_ctr_update(f->c, HUB_CK_FP, (const uint8_t *)key,
		        strlen(key), &d, T_T0 + (uint64_t)i, NULL),
		    0);
	}
	assert_int_equal(hub_ctr_commit(f->c), 0);
}

/* test_distinct_small_is_exact - up to HUB_CTR_EXACT_MAX, no error */
static void
test_distinct_small_is_exact(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_val v;
	int n;

	for (n = 1; n <= HUB_CTR_EXACT_MAX; n++) {
		add_items(f, "fp-small", HUB_CS_RCPTS, "rcpt", n - 1, n);
		/* the same items again count nothing */
		add_items(f, "fp-small", HUB_CS_RCPTS, "rcpt", 0, n);
		assert_int_equal(get(f, HUB_CK_FP, "fp-small", T_T0, &v), 0);
		assert_true(v.distinct[HUB_CS_RCPTS] == n);
		assert_true(v.distinct[HUB_CS_SOURCES] == 0);
		assert_true(v.distinct[HUB_CS_POPS] == 0);
	}
	/* past the list: registers, never below what was counted exactly */
	add_items(f, "fp-small", HUB_CS_RCPTS, "rcpt", 0, 40);
	assert_int_equal(get(f, HUB_CK_FP, "fp-small", T_T0, &v), 0);
	assert_true(v.distinct[HUB_CS_RCPTS] >= HUB_CTR_EXACT_MAX + 1);
	assert_true(
	    fabs(v.distinct[HUB_CS_RCPTS] - 40) <= 3 * HUB_CTR_HLL_STDERR * 40);
}

/* test_distinct_10000_within_3_stderr - and at other sizes, per set */
static void
test_distinct_10000_within_3_stderr(void **state)
{
	static const int sizes[] = {50, 300, 1000, 10000};
	struct fix *f = *state;
	struct hub_ctr_val v;
	char key[32];
	size_t i;
	int s, done;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(key, sizeof(key), "fp-%d", sizes[i]);
		for (s = 0; s < HUB_CS__COUNT; s++) {
			add_items(f, key, s, s == 0 ? "src" : "x", 0, sizes[i]);
			/* repeating half of them changes nothing */
			add_items(
			    f, key, s, s == 0 ? "src" : "x", 0, sizes[i] / 2);
		}
		assert_int_equal(get(f, HUB_CK_FP, key, T_T0, &v), 0);
		for (s = 0; s < HUB_CS__COUNT; s++) {
			double err = fabs(v.distinct[s] - sizes[i]) / sizes[i];

			print_message("n=%d set=%d estimate=%.1f err=%.3f\n",
			    sizes[i], s, v.distinct[s], err);
			assert_true(err <= 3 * HUB_CTR_HLL_STDERR);
		}
	}
	/* sets 1 and 2 got the same items: same registers, same estimate */
	assert_true(v.distinct[HUB_CS_RCPTS] == v.distinct[HUB_CS_POPS]);
	/* the estimate grows with more items and survives a reopen */
	done = 10000;
	add_items(f, "fp-10000", HUB_CS_SOURCES, "src", done, 4 * done);
	assert_int_equal(reopen(f), 0);
	assert_int_equal(get(f, HUB_CK_FP, "fp-10000", T_T0, &v), 0);
	assert_true(fabs(v.distinct[HUB_CS_SOURCES] - 4 * done) <=
	            3 * HUB_CTR_HLL_STDERR * 4 * done);
}

/* test_max_entries_refuses_new_keys - MX_ELIMIT, store untouched */
static void
test_max_entries_refuses_new_keys(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_delta d = {.add = {0}};
	struct hub_ctr_val v;
	size_t removed = 0;
	uint64_t n;

	f->o.max_entries[HUB_CK_IP] = 3;
	assert_int_equal(reopen(f), 0);
	d.add[HUB_CF_VOLUME] = 1;
	assert_int_equal(hub_ctr_begin(f->c), 0);
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_IP, (const uint8_t *)"a",
	                     1, &d, T_T0, NULL),
	    0);
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_IP, (const uint8_t *)"b",
	                     1, &d, T_T0, NULL),
	    0);
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_IP, (const uint8_t *)"c",
	                     1, &d, T_T0, NULL),
	    0);
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_IP, (const uint8_t *)"d",
	                     1, &d, T_T0, NULL),
	    MX_ELIMIT);
	/* the txn goes on: old keys update, other kinds have their own cap */
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_IP, (const uint8_t *)"a",
	                     1, &d, T_T0, &v),
	    0);
	assert_true(v.v[HUB_CF_VOLUME] == 2);
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_NET, (const uint8_t *)"d",
	                     1, &d, T_T0, NULL),
	    0);
	assert_int_equal(hub_ctr_commit(f->c), 0);
	assert_int_equal(hub_ctr_count(f->c, HUB_CK_IP, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(get(f, HUB_CK_IP, "d", T_T0, &v), MX_ENOTFOUND);
	/* once the sweep makes room, the new key goes in */
	assert_int_equal(hub_ctr_begin(f->c), 0);
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_IP, (const uint8_t *)"d",
	                     1, &d, T_T0, NULL),
	    MX_ELIMIT);
	hub_ctr_abort(f->c);
	assert_int_equal(
	    hub_ctr_sweep(f->c, T_T0 + 40 * T_HL, 0.5, 0, &removed), 0);
	assert_int_equal(removed, 4);
	add1(f, HUB_CK_IP, "d", 1, T_T0 + 40 * T_HL);
	assert_int_equal(hub_ctr_count(f->c, HUB_CK_IP, &n), 0);
	assert_int_equal(n, 1);
}

#define T_KINDS (HUB_CK__END - HUB_CK_IP) /* key kinds */

/* test_sweep_removes_idle_keeps_active - whole and budgeted passes */
static void
test_sweep_removes_idle_keeps_active(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_delta d = {.add = {0}};
	struct hub_ctr_val v;
	const uint64_t now = T_T0 + 20 * T_HL;
	size_t removed, total;
	uint64_t n, left;
	char key[32];
	int i, k, calls;

	/* per kind 60 keys: even ones touched at now, odd ones long idle */
	assert_int_equal(hub_ctr_begin(f->c), 0);
	for (k = HUB_CK_IP; k < HUB_CK__END; k++)
		for (i = 0; i < 60; i++) {
			snprintf(key, sizeof(key), "k%03d", i);
			d.add[HUB_CF_VOLUME] = 0;
			d.add[HUB_CF_TRAP] = 1;
			assert_int_equal(
			    hub_ctr_update(f->c, k, (const uint8_t *)key,
			        strlen(key), &d, i % 2 ? T_T0 : now, NULL),
			    0);
		}
	assert_int_equal(hub_ctr_commit(f->c), 0);
	/* odd keys are at 2^-20 now, even ones at 1 */
	assert_int_equal(hub_ctr_sweep(f->c, now, 0.001, 0, &removed), 0);
	assert_int_equal(removed, T_KINDS * 30);
	for (k = HUB_CK_IP; k < HUB_CK__END; k++) {
		assert_int_equal(hub_ctr_count(f->c, k, &n), 0);
		assert_int_equal(n, 30);
		for (i = 0; i < 60; i++) {
			snprintf(key, sizeof(key), "k%03d", i);
			assert_int_equal(
			    get(f, k, key, now, &v), i % 2 ? MX_ENOTFOUND : 0);
		}
	}
	/* nothing idle left: a second pass removes nothing */
	assert_int_equal(hub_ctr_sweep(f->c, now, 0.001, 0, &removed), 0);
	assert_int_equal(removed, 0);

	/* budgeted: 7 entries a call, resuming, until all are gone */
	total = 0;
	for (calls = 0; calls < 100 && total < T_KINDS * 30; calls++) {
		assert_int_equal(
		    hub_ctr_sweep(f->c, now + 20 * T_HL, 0.001, 7, &removed),
		    0);
		assert_true(removed <= 7);
		total += removed;
	}
	assert_int_equal(total, T_KINDS * 30);
	/* the count / 7 rounded up, so no entry was examined twice */
	assert_int_equal(calls, (T_KINDS * 30 + 6) / 7);
	for (left = 0, k = HUB_CK_IP; k < HUB_CK__END; k++) {
		assert_int_equal(hub_ctr_count(f->c, k, &n), 0);
		left += n;
	}
	assert_int_equal(left, 0);

	/* inside a write txn the sweep is part of it: abort undoes it */
	add1(f, HUB_CK_URL, "old", 1, T_T0);
	assert_int_equal(hub_ctr_begin(f->c), 0);
	assert_int_equal(hub_ctr_sweep(f->c, now, 0.001, 0, &removed), 0);
	assert_int_equal(removed, 1);
	hub_ctr_abort(f->c);
	assert_int_equal(get(f, HUB_CK_URL, "old", now, &v), 0);
}

/* test_top_returns_largest_first - by the decayed field, ties by key */
static void
test_top_returns_largest_first(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_delta d = {.add = {0}};
	struct hub_ctr_top top[8], *top2 = calloc(300, sizeof(*top2));
	size_t got, i;
	char key[32];
	int k;

	assert_non_null(top2);

	assert_int_equal(hub_ctr_begin(f->c), 0);
	for (k = 0; k < 200; k++) {
		/* value k, but k*7 % 200 scrambles the key order */
		snprintf(key, sizeof(key), "d%03d", k * 7 % 200);
		d.add[HUB_CF_REJECT] = k;
		assert_int_equal(
		    hub_ctr_update(f->c, HUB_CK_DOMAIN, (const uint8_t *)key,
		        strlen(key), &d, T_T0 + T_HL, NULL),
		    0);
	}
	/* the largest raw value, but 10 half-lives old: 1e4 / 1024 < 10 */
	d.add[HUB_CF_REJECT] = 1e4;
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_DOMAIN, (const uint8_t *)"old", 3, &d,
	        T_T0 + T_HL - 10 * T_HL, NULL),
	    0);
	/* a tie with the top value, smaller key */
	d.add[HUB_CF_REJECT] = 199;
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_DOMAIN, (const uint8_t *)"a-tie", 5, &d,
	        T_T0 + T_HL, NULL),
	    0);
	/* top sees the open txn */
	assert_int_equal(hub_ctr_top(f->c, HUB_CK_DOMAIN, HUB_CF_REJECT,
	                     T_T0 + T_HL, 0, 5, top, &got),
	    0);
	assert_int_equal(hub_ctr_commit(f->c), 0);
	assert_int_equal(got, 5);
	assert_int_equal(top[0].key_len, 5);
	assert_memory_equal(top[0].key, "a-tie", 5);
	for (i = 1; i < 5; i++) {
		snprintf(key, sizeof(key), "d%03d", (int)(200 - i) * 7 % 200);
		assert_int_equal(top[i].key_len, 4);
		assert_memory_equal(top[i].key, key, 4);
		assert_true(top[i].val.v[HUB_CF_REJECT] == 200 - i);
	}
	/* a later time decays all alike: same order, half the values */
	assert_int_equal(hub_ctr_top(f->c, HUB_CK_DOMAIN, HUB_CF_REJECT,
	                     T_T0 + 2 * T_HL, 0, 8, top, &got),
	    0);
	assert_int_equal(got, 8);
	assert_memory_equal(top[0].key, "a-tie", 5);
	for (i = 1; i < 8; i++)
		assert_rel(top[i].val.v[HUB_CF_REJECT], (200.0 - i) / 2, 1e-9);
	/* more asked than there are: all of them; "old" (1e4 / 1024 =
	 * 9.77) between the values 10 and 9; none of another kind */
	{
		struct hub_ctr_top *all = calloc(300, sizeof(*all));

		assert_non_null(all);
		assert_int_equal(hub_ctr_top(f->c, HUB_CK_DOMAIN, HUB_CF_REJECT,
		                     T_T0 + T_HL, 0, 300, all, &got),
		    0);
		assert_int_equal(got, 202);
		for (i = 1; i < got; i++)
			assert_true(all[i - 1].val.v[HUB_CF_REJECT] >=
			            all[i].val.v[HUB_CF_REJECT]);
		assert_memory_equal(all[191].key, "old", 3);
		free(all);
	}
	/* since: only what was updated then or later ("old" was not) */
	assert_int_equal(hub_ctr_top(f->c, HUB_CK_DOMAIN, HUB_CF_REJECT,
	                     T_T0 + T_HL, T_T0, 300, top2, &got),
	    0);
	assert_int_equal(got, 201);
	for (i = 0; i < got; i++)
		assert_false(
		    top2[i].key_len == 3 && memcmp(top2[i].key, "old", 3) == 0);
	assert_int_equal(hub_ctr_top(f->c, HUB_CK_DOMAIN, HUB_CF_REJECT,
	                     T_T0 + T_HL, T_T0 + T_HL + 1, 8, top, &got),
	    0);
	assert_int_equal(got, 0);
	free(top2);
	assert_int_equal(
	    hub_ctr_top(f->c, HUB_CK_FP, HUB_CF_REJECT, T_T0, 0, 8, top, &got),
	    0);
	assert_int_equal(got, 0);
	assert_int_equal(
	    hub_ctr_top(f->c, HUB_CK_FP, HUB_CF__COUNT, T_T0, 0, 8, top, &got),
	    MX_EINVAL);
}

/* test_value_layout_matches_doc - the bytes docs/hub-counters.md gives */
static void
test_value_layout_matches_doc(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_delta d = {.add = {0}};
	uint8_t buf[1024];
	size_t len = sizeof(buf);
	uint64_t u;
	double x;
	MDB_env *env;
	int i;

	d.add[HUB_CF_RCPT] = 2.5;
	d.item[HUB_CS_POPS] = (const uint8_t *)"fra1";
	d.item_len[HUB_CS_POPS] = 4;
	assert_int_equal(hub_ctr_begin(f->c), 0);
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_URL, (const uint8_t *)"u",
	                     1, &d, T_T0, NULL),
	    0);
	assert_int_equal(hub_ctr_commit(f->c), 0);
	env = raw_env(f);
	raw_rw(env, "url", "u", buf, &len, 1);
	mdb_env_close(env);
	assert_int_equal(len, 80 + 4);
	assert_int_equal(buf[0], 1);
	assert_int_equal(buf[1], 0);
	assert_int_equal(buf[2], 0);
	assert_int_equal(buf[3], 1);
	for (i = 4; i < 8; i++)
		assert_int_equal(buf[i], 0);
	for (u = 0, i = 7; i >= 0; i--)
		u = u << 8 | buf[8 + i];
	assert_int_equal(u, T_T0);
	for (u = 0, i = 7; i >= 0; i--)
		u = u << 8 | buf[16 + i];
	assert_int_equal(u, T_T0);
	for (u = 0, i = 7; i >= 0; i--)
		u = u << 8 | buf[24 + 8 * HUB_CF_RCPT + i];
	memcpy(&x, &u, sizeof(x));
	assert_true(x == 2.5);
}

/* test_damaged_value_is_eio - each kind of damage; sweep removes it */
static void
test_damaged_value_is_eio(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_delta d = {.add = {0}};
	struct hub_ctr_val v;
	struct hub_ctr_top top[4];
	uint8_t good[1024], bad[1024], hll[1024];
	size_t glen = sizeof(good), hlen = sizeof(hll), len, got, removed;
	double nan_v = NAN, big = 2e15, neg = -1;
	char key[16];
	MDB_env *env;
	int i, k;

	/* a small entry (2 listed hashes) and one with registers */
	add_items(f, "g", HUB_CS_SOURCES, "s", 0, 2);
	add_items(f, "h", HUB_CS_RCPTS, "r", 0, 100);
	env = raw_env(f);
	raw_rw(env, "fp", "g", good, &glen, 1);
	raw_rw(env, "fp", "h", hll, &hlen, 1);
	assert_int_equal(glen, 80 + 8);
	assert_int_equal(hlen, 80 + 128);
	for (k = 0; k < 14; k++) {
		memcpy(bad, good, glen);
		len = glen;
		switch (k) {
		case 0: /* unknown version */
			bad[0] = 2;
			break;
		case 1: /* truncated header */
			len = 40;
			break;
		case 2: /* one byte short of its blocks */
			len--;
			break;
		case 3: /* one byte over */
			bad[len++] = 0;
			break;
		case 4: /* state out of range */
			bad[1] = HUB_CTR_EXACT_MAX + 1;
			break;
		case 5: /* reserved bytes set */
			bad[5] = 1;
			break;
		case 6: /* first_ms after last_ms */
			bad[8 + 7] = 0xff;
			break;
		case 7: /* NaN sum */
			memcpy(bad + 24, &nan_v, 8);
			break;
		case 8: /* sum beyond the clamp */
			memcpy(bad + 24 + 8, &big, 8);
			break;
		case 9: /* negative sum */
			memcpy(bad + 24 + 16, &neg, 8);
			break;
		case 10: /* listed hashes out of order (duplicate) */
			memcpy(bad + 84, bad + 80, 4);
			break;
		case 11: /* register beyond the largest rank */
			memcpy(bad, hll, hlen);
			len = hlen;
			bad[80 + 5] = 59;
			break;
		case 12: /* empty value */
			len = 0;
			break;
		default: /* registers where a list of 2 was */
			bad[1] = 255;
			break;
		}
		snprintf(key, sizeof(key), "bad%02d", k);
		raw_rw(env, "fp", key, bad, &len, 0);
	}
	mdb_env_close(env);
	assert_int_equal(hub_ctr_open(f->dir, &f->o, &f->c), 0);
	assert_int_equal(get(f, HUB_CK_FP, "g", T_T0, &v), 0);
	assert_int_equal(get(f, HUB_CK_FP, "h", T_T0, &v), 0);
	d.add[HUB_CF_VOLUME] = 1;
	for (k = 0; k < 14; k++) {
		snprintf(key, sizeof(key), "bad%02d", k);
		if (get(f, HUB_CK_FP, key, T_T0, &v) != MX_EIO)
			fail_msg("damage %d not detected", k);
		/* an update leaves it alone and the txn goes on */
		assert_int_equal(hub_ctr_begin(f->c), 0);
		assert_int_equal(
		    hub_ctr_update(f->c, HUB_CK_FP, (const uint8_t *)key,
		        strlen(key), &d, T_T0, NULL),
		    MX_EIO);
		assert_int_equal(hub_ctr_update(f->c, HUB_CK_FP,
		                     (const uint8_t *)"g", 1, &d, T_T0, NULL),
		    0);
		assert_int_equal(hub_ctr_commit(f->c), 0);
	}
	assert_int_equal(get(f, HUB_CK_FP, "g", T_T0, &v), 0);
	assert_true(v.v[HUB_CF_VOLUME] == 14);
	/* top skips them */
	assert_int_equal(
	    hub_ctr_top(f->c, HUB_CK_FP, HUB_CF_VOLUME, T_T0, 0, 4, top, &got),
	    0);
	assert_int_equal(got, 2);
	/* the sweep deletes damaged entries whatever their sums */
	assert_int_equal(hub_ctr_sweep(f->c, T_T0, 0.0, 0, &removed), 0);
	assert_int_equal(removed, 14);
	for (i = 0; i < 14; i++) {
		snprintf(key, sizeof(key), "bad%02d", i);
		assert_int_equal(
		    get(f, HUB_CK_FP, key, T_T0, &v), MX_ENOTFOUND);
	}
	assert_int_equal(get(f, HUB_CK_FP, "h", T_T0, &v), 0);
}

/* test_persists_across_close_open - sums, sketches and the hash key */
static void
test_persists_across_close_open(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_val a, b;

	add1(f, HUB_CK_IP, "ip1", 7, T_T0);
	add_items(f, "fp", HUB_CS_SOURCES, "s", 0, 10);
	add_items(f, "fp", HUB_CS_POPS, "p", 0, 500);
	assert_int_equal(get(f, HUB_CK_FP, "fp", T_T0 + T_HL, &a), 0);
	/* an uncommitted update is lost */
	assert_int_equal(hub_ctr_begin(f->c), 0);
	hub_ctr_close(f->c);
	f->c = NULL;
	/* the hash key given now is ignored: the store keeps its own */
	f->o.hash_key = NULL;
	assert_int_equal(hub_ctr_open(f->dir, &f->o, &f->c), 0);
	assert_int_equal(get(f, HUB_CK_IP, "ip1", T_T0 + T_HL, &b), 0);
	assert_rel(b.v[HUB_CF_VOLUME], 3.5, 1e-9);
	assert_int_equal(get(f, HUB_CK_FP, "fp", T_T0 + T_HL, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(b.distinct[HUB_CS_SOURCES] == 10);
	/* same items again: the same hashes, so no new distinct items */
	add_items(f, "fp", HUB_CS_SOURCES, "s", 0, 10);
	add_items(f, "fp", HUB_CS_POPS, "p", 0, 500);
	assert_int_equal(get(f, HUB_CK_FP, "fp", T_T0 + T_HL, &b), 0);
	assert_true(b.distinct[HUB_CS_SOURCES] == 10);
	assert_true(b.distinct[HUB_CS_POPS] == a.distinct[HUB_CS_POPS]);
}

/* test_txn_rules - get sees the txn, abort drops it, states checked */
static void
test_txn_rules(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_delta d = {.add = {0}};
	struct hub_ctr_val v;
	uint64_t n;

	d.add[HUB_CF_UNKNOWN] = 1;
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_IP, (const uint8_t *)"x",
	                     1, &d, T_T0, NULL),
	    MX_ESTATE);
	assert_int_equal(hub_ctr_commit(f->c), MX_ESTATE);
	hub_ctr_abort(f->c);
	assert_int_equal(hub_ctr_begin(f->c), 0);
	assert_int_equal(hub_ctr_begin(f->c), MX_ESTATE);
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_IP, (const uint8_t *)"x",
	                     1, &d, T_T0, NULL),
	    0);
	assert_int_equal(get(f, HUB_CK_IP, "x", T_T0, &v), 0);
	assert_true(v.v[HUB_CF_UNKNOWN] == 1);
	assert_int_equal(hub_ctr_count(f->c, HUB_CK_IP, &n), 0);
	assert_int_equal(n, 1);
	hub_ctr_abort(f->c);
	assert_int_equal(get(f, HUB_CK_IP, "x", T_T0, &v), MX_ENOTFOUND);
	assert_int_equal(hub_ctr_count(f->c, HUB_CK_IP, &n), 0);
	assert_int_equal(n, 0);
}

/* test_bad_arguments_are_einval - keys, kinds, adds, items */
static void
test_bad_arguments_are_einval(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_delta d = {.add = {0}};
	struct hub_ctr_val v;
	uint8_t key[HUB_CTR_KEY_MAX + 1], item[HUB_CTR_ITEM_MAX + 1];
	uint64_t n;

	memset(key, 'k', sizeof(key));
	memset(item, 'i', sizeof(item));
	assert_int_equal(hub_ctr_begin(f->c), 0);
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_IP, key, 0, &d, T_T0, NULL), MX_EINVAL);
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_IP, key,
	                     HUB_CTR_KEY_MAX + 1, &d, T_T0, NULL),
	    MX_EINVAL);
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_IP, key, HUB_CTR_KEY_MAX,
	                     &d, T_T0, NULL),
	    0);
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_IP, NULL, 4, &d, T_T0, NULL),
	    MX_EINVAL);
	assert_int_equal(
	    hub_ctr_update(f->c, 0, key, 4, &d, T_T0, NULL), MX_EINVAL);
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK__END, key, 4, &d, T_T0, NULL),
	    MX_EINVAL);
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_IP, key, 4, NULL, T_T0, NULL),
	    MX_EINVAL);
	d.add[HUB_CF_PROTO] = -1;
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_IP, key, 4, &d, T_T0, NULL), MX_EINVAL);
	d.add[HUB_CF_PROTO] = NAN;
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_IP, key, 4, &d, T_T0, NULL), MX_EINVAL);
	d.add[HUB_CF_PROTO] = INFINITY;
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_IP, key, 4, &d, T_T0, NULL), MX_EINVAL);
	d.add[HUB_CF_PROTO] = 0;
	d.item[HUB_CS_SOURCES] = item;
	d.item_len[HUB_CS_SOURCES] = HUB_CTR_ITEM_MAX + 1;
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_IP, key, 4, &d, T_T0, NULL), MX_EINVAL);
	d.item_len[HUB_CS_SOURCES] = HUB_CTR_ITEM_MAX;
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_IP, key, 4, &d, T_T0, NULL), 0);
	/* an empty item is an item */
	d.item_len[HUB_CS_SOURCES] = 0;
	assert_int_equal(
	    hub_ctr_update(f->c, HUB_CK_IP, key, 4, &d, T_T0, &v), 0);
	assert_true(v.distinct[HUB_CS_SOURCES] == 2);
	assert_int_equal(hub_ctr_commit(f->c), 0);
	assert_int_equal(
	    hub_ctr_get(f->c, HUB_CK_IP, key, HUB_CTR_KEY_MAX + 1, T_T0, &v),
	    MX_EINVAL);
	assert_int_equal(
	    hub_ctr_get(f->c, HUB_CK_IP, key, 4, T_T0, NULL), MX_EINVAL);
	assert_int_equal(hub_ctr_count(f->c, 0, &n), MX_EINVAL);
	assert_int_equal(hub_ctr_sweep(f->c, T_T0, NAN, 0, NULL), MX_EINVAL);
	assert_int_equal(hub_ctr_open(NULL, NULL, &f->c), MX_EINVAL);
}

/* test_sums_clamp_at_max - never beyond HUB_CTR_VAL_MAX */
static void
test_sums_clamp_at_max(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_val v;

	add1(f, HUB_CK_IP, "big", 9e14, T_T0);
	add1(f, HUB_CK_IP, "big", 9e14, T_T0);
	add1(f, HUB_CK_IP, "big", 1e300, T_T0);
	assert_int_equal(get(f, HUB_CK_IP, "big", T_T0, &v), 0);
	assert_true(v.v[HUB_CF_VOLUME] == HUB_CTR_VAL_MAX);
	/* and the clamped value still reads back as valid */
	assert_int_equal(reopen(f), 0);
	assert_int_equal(get(f, HUB_CK_IP, "big", T_T0, &v), 0);
}

/* test_map_full_is_efull - the caller aborts; committed data survives */
static void
test_map_full_is_efull(void **state)
{
	struct fix *f = *state;
	struct hub_ctr_delta d = {.add = {0}};
	struct hub_ctr_val v;
	char key[32];
	int i, rc = 0;

	f->o.map_bytes = 256 << 10;
	assert_int_equal(reopen(f), 0);
	add1(f, HUB_CK_IP, "kept", 1, T_T0);
	assert_int_equal(hub_ctr_begin(f->c), 0);
	d.add[HUB_CF_VOLUME] = 1;
	for (i = 0; i < 100000 && rc == 0; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		rc = hub_ctr_update(f->c, HUB_CK_NET, (const uint8_t *)key,
		    strlen(key), &d, T_T0, NULL);
	}
	assert_int_equal(rc, MX_EFULL);
	assert_int_equal(hub_ctr_update(f->c, HUB_CK_IP, (const uint8_t *)"x",
	                     1, &d, T_T0, NULL),
	    MX_ESTATE);
	assert_int_equal(hub_ctr_commit(f->c), MX_ESTATE);
	assert_int_equal(get(f, HUB_CK_IP, "kept", T_T0, &v), 0);
	assert_int_equal(get(f, HUB_CK_NET, "key-0", T_T0, &v), MX_ENOTFOUND);
	add1(f, HUB_CK_IP, "kept", 1, T_T0);
}

/* test_open_refuses_newer_or_foreign - layout version and other stores */
static void
test_open_refuses_newer_or_foreign(void **state)
{
	struct fix *f = *state;
	uint8_t lay[4] = {2, 0, 0, 0};
	size_t len = sizeof(lay);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {5, "other"}, v = {1, "x"};

	env = raw_env(f);
	raw_rw(env, "meta", "hub_ctr_layout", lay, &len, 0);
	mdb_env_close(env);
	assert_int_equal(hub_ctr_open(f->dir, &f->o, &f->c), MX_EVERSION);
	/* an environment with data but no counter layout is not taken over */
	teardown(state);
	assert_int_equal(setup(state), 0);
	f = *state;
	env = raw_env(f);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 0), 0);
	assert_int_equal(mdb_dbi_open(txn, "ip", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(hub_ctr_open(f->dir, &f->o, &f->c), MX_EIO);
	assert_null(f->c);
}

/* main - run every test with a fresh store */
int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_decay_halves_after_one_half_life),
	    T(test_backwards_time_does_not_grow),
	    T(test_distinct_small_is_exact),
	    T(test_distinct_10000_within_3_stderr),
	    T(test_max_entries_refuses_new_keys),
	    T(test_sweep_removes_idle_keeps_active),
	    T(test_top_returns_largest_first),
	    T(test_value_layout_matches_doc),
	    T(test_damaged_value_is_eio),
	    T(test_persists_across_close_open),
	    T(test_txn_rules),
	    T(test_bad_arguments_are_einval),
	    T(test_sums_clamp_at_max),
	    T(test_map_full_is_efull),
	    T(test_open_refuses_newer_or_foreign),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
