/*
 * proto_store_test.c - the LMDB store: records, expiry, LPM, domains
 *
 * Each test gets a fresh store in a unique directory under $MX_TEST_TMP
 * (or /tmp), removed afterwards. Some tests open the environment with
 * raw LMDB calls, with the store closed, to inspect or damage what the
 * store wrote (layout version, net counts and index, expiry index, bad
 * values), following docs/store.md. test_lpm_differential checks the
 * longest-prefix match against a brute force over thousands of random
 * changes.
 * Trust: test inputs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "lib/mx_err.h"
#include "proto/proto_record.h"
#include "proto/proto_store.h"

#define T_MAP (64ULL << 20) /* default test map, bytes */
#define T_NL_V6 33          /* netlens slot of IPv6 /0 */

struct fix {
	char dir[512];         /* store directory */
	struct proto_store *s; /* open store, or NULL */
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
	struct proto_store_opts o = {.map_bytes = T_MAP, .no_sync = 1};
	const char *root = getenv("MX_TEST_TMP");
	int n;

	if (f == NULL)
		return -1;
	if (root == NULL || *root == '\0')
		root = "/tmp";
	n = snprintf(f->dir, sizeof(f->dir), "%s/proto_store.XXXXXX", root);
	if (n < 0 || (size_t)n >= sizeof(f->dir) || mkdtemp(f->dir) == NULL ||
	    proto_store_open(f->dir, &o, &f->s) != 0) {
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

	proto_store_close(f->s);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* reopen - close the store and open it again with o */
static int
reopen(struct fix *f, const struct proto_store_opts *o)
{
	proto_store_close(f->s);
	f->s = NULL;
	return proto_store_open(f->dir, o, &f->s);
}

/* rec - a PUT record of kind with key text (ip, net or domain) */
static void
rec(struct proto_record *r, int kind, const char *text, int32_t score,
    uint64_t expires)
{
	size_t len = 0;
	int rc = MX_EINVAL;

	memset(r, 0, sizeof(*r));
	r->kind = (uint8_t)kind;
	r->op = PROTO_OP_PUT;
	r->action = PROTO_ACT_REJECT;
	r->score = score;
	r->expires = expires;
	r->ts_ms = 1700000000000ULL;
	if (kind == PROTO_KIND_IP)
		rc = proto_key_ip(text, strlen(text), r->key, &len);
	else if (kind == PROTO_KIND_NET)
		rc = proto_key_net(text, strlen(text), r->key, &len);
	else if (kind == PROTO_KIND_DOMAIN)
		rc = proto_key_domain(text, strlen(text), r->key, &len);
	assert_int_equal(rc, 0);
	r->key_len = (uint16_t)len;
	proto_record_set_text(r, "test", "unit test");
}

/* apply1 - apply one record in its own write transaction */
static int
apply1(struct proto_store *s, const struct proto_record *r)
{
	struct proto_txn *t;
	int rc;

	if ((rc = proto_store_write_begin(s, &t)) != 0)
		return rc;
	if ((rc = proto_store_apply(t, r)) != 0) {
		proto_store_abort(t);
		return rc;
	}
	return proto_store_commit(t);
}

/* put - PUT kind/text with score and expiry, asserting success */
static void
put(struct proto_store *s, int kind, const char *text, int32_t score,
    uint64_t expires)
{
	struct proto_record r;

	rec(&r, kind, text, score, expires);
	assert_int_equal(apply1(s, &r), 0);
}

/* del - DEL kind/text, asserting success */
static void
del(struct proto_store *s, int kind, const char *text)
{
	struct proto_record r;

	rec(&r, kind, text, 0, 0);
	r.op = PROTO_OP_DEL;
	assert_int_equal(apply1(s, &r), 0);
}

/* get_ip - exact ip lookup at now; the score in *score */
static int
get_ip(struct proto_store *s, const char *text, uint64_t now, int32_t *score)
{
	struct proto_record q, out;
	struct proto_txn *t;
	int rc;

	rec(&q, PROTO_KIND_IP, text, 0, 0);
	assert_int_equal(proto_store_read_begin(s, &t), 0);
	rc = proto_store_get(t, PROTO_KIND_IP, q.key, q.key_len, now, &out);
	proto_store_read_free(t);
	if (rc == 0 && score != NULL)
		*score = out.score;
	return rc;
}

/* lpm - LPM of a text address (raw bytes: v4-mapped stays 16 bytes);
 * returns the matched prefix length or an error, the score in *score */
static int
lpm(struct proto_store *s, const char *text, uint64_t now, int32_t *score)
{
	struct proto_record out;
	struct proto_txn *t;
	uint8_t addr[16];
	size_t alen = strchr(text, ':') != NULL ? 16 : 4;
	int rc;

	assert_int_equal(
	    inet_pton(alen == 16 ? AF_INET6 : AF_INET, text, addr), 1);
	assert_int_equal(proto_store_read_begin(s, &t), 0);
	rc = proto_store_lookup_net(t, addr, alen, now, &out);
	proto_store_read_free(t);
	if (rc != 0)
		return rc;
	assert_int_equal(out.kind, PROTO_KIND_NET);
	assert_true(out.key_len == 5 || out.key_len == 17);
	if (score != NULL)
		*score = out.score;
	return out.key[0];
}

/* dom - domain lookup of name at now; matched key text in match */
static int
dom(struct proto_store *s, const char *name, uint64_t now, char *match,
    size_t msize)
{
	struct proto_record out;
	struct proto_txn *t;
	int rc;

	assert_int_equal(proto_store_read_begin(s, &t), 0);
	rc = proto_store_lookup_domain(t, name, strlen(name), now, &out);
	proto_store_read_free(t);
	if (rc == 0 && match != NULL) {
		assert_true(out.key_len < msize);
		memcpy(match, out.key, out.key_len);
		match[out.key_len] = '\0';
	}
	return rc;
}

/* count - entries of kind */
static uint64_t
count(struct proto_store *s, int kind)
{
	struct proto_txn *t;
	uint64_t n = 0;

	assert_int_equal(proto_store_read_begin(s, &t), 0);
	assert_int_equal(proto_store_count(t, kind, &n), 0);
	proto_store_read_free(t);
	return n;
}

/* sweep - run a sweep, return the number removed */
static size_t
sweep(struct proto_store *s, uint64_t now, size_t max)
{
	size_t n = 99999;

	assert_int_equal(proto_store_sweep(s, now, max, &n), 0);
	return n;
}

/* raw_open - open the store's env with raw LMDB (store must be closed) */
static void
raw_open(const char *dir, MDB_env **env, MDB_txn **txn, int is_write)
{
	assert_int_equal(mdb_env_create(env), 0);
	assert_int_equal(mdb_env_set_maxdbs(*env, 16), 0);
	assert_int_equal(mdb_env_set_mapsize(*env, T_MAP), 0);
	assert_int_equal(mdb_env_open(*env, dir, 0, 0640), 0);
	assert_int_equal(
	    mdb_txn_begin(*env, NULL, is_write ? 0 : MDB_RDONLY, txn), 0);
}

/* raw_dbi - a named database in a raw txn */
static MDB_dbi
raw_dbi(MDB_txn *txn, const char *name)
{
	MDB_dbi dbi;

	assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
	return dbi;
}

/* raw_put - raw put of key/value bytes into a named database */
static void
raw_put(const char *dir, const char *db, const void *k, size_t klen,
    const void *v, size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_val mk = {klen, (void *)k}, mv = {vlen, (void *)v};

	raw_open(dir, &env, &txn, 1);
	assert_int_equal(mdb_put(txn, raw_dbi(txn, db), &mk, &mv, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* raw_entries - number of entries of a named database */
static size_t
raw_entries(const char *dir, const char *db)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_stat st;

	raw_open(dir, &env, &txn, 0);
	assert_int_equal(mdb_stat(txn, raw_dbi(txn, db), &st), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return st.ms_entries;
}

/* raw_netlens - the "netlens" counter of one slot (0 if absent) */
static uint64_t
raw_netlens(const char *dir, unsigned slot)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_val k = {7, (void *)"netlens"}, v;
	uint64_t n = 0;
	int i, rc;

	raw_open(dir, &env, &txn, 0);
	rc = mdb_get(txn, raw_dbi(txn, "meta"), &k, &v);
	if (rc == 0) {
		assert_int_equal(v.mv_size, 162 * 8);
		for (i = 7; i >= 0; i--)
			n = (n << 8) |
			    ((const uint8_t *)
			            v.mv_data)[slot * 8 + (unsigned)i];
	} else {
		assert_int_equal(rc, MDB_NOTFOUND);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

/* test_put_get_delete - round trip of every field, then delete */
static void
test_put_get_delete(void **state)
{
	struct fix *f = *state;
	struct proto_record r, out;
	struct proto_txn *t;

	rec(&r, PROTO_KIND_IP, "192.0.2.1", -7, 0);
	r.action = PROTO_ACT_TEMPFAIL;
	r.flags = PROTO_RF_OBSERVE;
	r.ts_ms = 1234567890123ULL;
	r.data_len = 3;
	memcpy(r.data, "\x00\x01\xff", 3);
	assert_int_equal(apply1(f->s, &r), 0);

	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	assert_int_equal(
	    proto_store_get(t, PROTO_KIND_IP, r.key, r.key_len, 100, &out), 0);
	assert_int_equal(out.kind, PROTO_KIND_IP);
	assert_int_equal(out.op, PROTO_OP_PUT);
	assert_int_equal(out.action, PROTO_ACT_TEMPFAIL);
	assert_int_equal(out.flags, PROTO_RF_OBSERVE);
	assert_int_equal(out.score, -7);
	assert_int_equal(out.expires, 0);
	assert_int_equal(out.ts_ms, 1234567890123ULL);
	assert_int_equal(out.key_len, 4);
	assert_memory_equal(out.key, r.key, 4);
	assert_int_equal(out.source_len, 4);
	assert_memory_equal(out.source, "test", 4);
	assert_int_equal(out.reason_len, 9);
	assert_memory_equal(out.reason, "unit test", 9);
	assert_int_equal(out.data_len, 3);
	assert_memory_equal(out.data, "\x00\x01\xff", 3);
	/* bad arguments */
	assert_int_equal(proto_store_get(t, 0, r.key, 4, 0, &out), MX_EINVAL);
	assert_int_equal(
	    proto_store_get(t, PROTO_STORE_KIND_MAX + 1, r.key, 4, 0, &out),
	    MX_EINVAL);
	assert_int_equal(
	    proto_store_get(t, PROTO_KIND_IP, r.key, 0, 0, &out), MX_EINVAL);
	assert_int_equal(proto_store_apply(t, &r), MX_ESTATE);
	proto_store_read_free(t);

	assert_int_equal(get_ip(f->s, "192.0.2.2", 0, NULL), MX_ENOTFOUND);
	assert_int_equal(get_ip(f->s, "2001:db8::1", 0, NULL), MX_ENOTFOUND);
	assert_int_equal(count(f->s, PROTO_KIND_IP), 1);
	del(f->s, PROTO_KIND_IP, "192.0.2.1");
	assert_int_equal(get_ip(f->s, "192.0.2.1", 0, NULL), MX_ENOTFOUND);
	assert_int_equal(count(f->s, PROTO_KIND_IP), 0);
	/* deleting an absent key is not an error */
	del(f->s, PROTO_KIND_IP, "192.0.2.1");

	/* a record proto_record_check refuses */
	rec(&r, PROTO_KIND_IP, "192.0.2.1", 0, 0);
	r.key_len = 5;
	assert_int_equal(apply1(f->s, &r), MX_EINVAL);
	rec(&r, PROTO_KIND_IP, "192.0.2.1", 0, 0);
	r.action = 9;
	assert_int_equal(apply1(f->s, &r), MX_EINVAL);
}

/* test_local_rcpt_kind - store-only kind: printable keys, expiry */
static void
test_local_rcpt_kind(void **state)
{
	struct fix *f = *state;
	struct proto_record r, out;
	struct proto_txn *t;
	static const char key[] = "example.com@User.Name";

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_KIND_LOCAL_RCPT;
	r.op = PROTO_OP_PUT;
	r.action = PROTO_ACT_REJECT;
	r.expires = 500;
	r.key_len = sizeof(key) - 1;
	memcpy(r.key, key, r.key_len);
	/* never valid on the wire ... */
	assert_int_equal(proto_record_check(&r), MX_ERANGE);
	/* ... but the store keeps it */
	assert_int_equal(apply1(f->s, &r), 0);
	assert_int_equal(count(f->s, PROTO_KIND_LOCAL_RCPT), 1);
	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	assert_int_equal(proto_store_get(t, PROTO_KIND_LOCAL_RCPT, r.key,
	                     r.key_len, 100, &out),
	    0);
	assert_int_equal(out.action, PROTO_ACT_REJECT);
	assert_int_equal(proto_store_get(t, PROTO_KIND_LOCAL_RCPT, r.key,
	                     r.key_len, 500, &out),
	    MX_ENOTFOUND);
	proto_store_read_free(t);
	/* a control byte in the key is refused */
	r.key[3] = '\n';
	assert_int_equal(apply1(f->s, &r), MX_EINVAL);
	r.key[3] = 'm';
	r.action = PROTO_ACT_MAX + 1;
	assert_int_equal(apply1(f->s, &r), MX_EINVAL);
}

/* test_overwrite - a second put replaces the first */
static void
test_overwrite(void **state)
{
	struct fix *f = *state;
	int32_t score = 0;

	put(f->s, PROTO_KIND_IP, "2001:db8::5", 10, 0);
	put(f->s, PROTO_KIND_IP, "2001:db8::5", 20, 0);
	assert_int_equal(get_ip(f->s, "2001:db8::5", 0, &score), 0);
	assert_int_equal(score, 20);
	assert_int_equal(count(f->s, PROTO_KIND_IP), 1);
}

/* test_expiry_read_and_sweep - expired is absent; sweep removes it */
static void
test_expiry_read_and_sweep(void **state)
{
	struct fix *f = *state;
	char name[32];
	int i;

	put(f->s, PROTO_KIND_IP, "198.51.100.1", 1, 1000);
	put(f->s, PROTO_KIND_IP, "198.51.100.2", 2, 0);
	assert_int_equal(get_ip(f->s, "198.51.100.1", 999, NULL), 0);
	assert_int_equal(
	    get_ip(f->s, "198.51.100.1", 1000, NULL), MX_ENOTFOUND);
	assert_int_equal(get_ip(f->s, "198.51.100.2", UINT64_MAX, NULL), 0);
	/* expired but unswept still counts */
	assert_int_equal(count(f->s, PROTO_KIND_IP), 2);
	assert_int_equal(sweep(f->s, 999, SIZE_MAX), 0);
	assert_int_equal(count(f->s, PROTO_KIND_IP), 2);
	assert_int_equal(sweep(f->s, 1000, SIZE_MAX), 1);
	assert_int_equal(count(f->s, PROTO_KIND_IP), 1);
	assert_int_equal(get_ip(f->s, "198.51.100.1", 0, NULL), MX_ENOTFOUND);

	/* max bounds a sweep; oldest go first */
	for (i = 0; i < 5; i++) {
		assert_true(snprintf(name, sizeof(name), "d%d.example", i) <
		            (int)sizeof(name));
		put(f->s, PROTO_KIND_DOMAIN, name, i, (uint64_t)(500 - i));
	}
	assert_int_equal(sweep(f->s, 1000, 2), 2);
	assert_int_equal(dom(f->s, "d4.example", 0, NULL, 0), MX_ENOTFOUND);
	assert_int_equal(dom(f->s, "d3.example", 0, NULL, 0), MX_ENOTFOUND);
	assert_int_equal(dom(f->s, "d2.example", 0, NULL, 0), 0);
	assert_int_equal(sweep(f->s, 1000, 0), 0);
	assert_int_equal(sweep(f->s, 1000, 100), 3);
	assert_int_equal(count(f->s, PROTO_KIND_DOMAIN), 0);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_entries(f->dir, "expiry"), 0);
}

/* test_expiry_index_follows_overwrite - index in step with the record */
static void
test_expiry_index_follows_overwrite(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP, .no_sync = 1};

	/* renewed: the old expiry must not delete it */
	put(f->s, PROTO_KIND_IP, "203.0.113.1", 1, 100);
	put(f->s, PROTO_KIND_IP, "203.0.113.1", 1, 200);
	/* made permanent */
	put(f->s, PROTO_KIND_IP, "203.0.113.2", 2, 100);
	put(f->s, PROTO_KIND_IP, "203.0.113.2", 2, 0);
	/* permanent made expiring */
	put(f->s, PROTO_KIND_IP, "203.0.113.3", 3, 0);
	put(f->s, PROTO_KIND_IP, "203.0.113.3", 3, 300);
	/* same expiry twice */
	put(f->s, PROTO_KIND_IP, "203.0.113.4", 4, 400);
	put(f->s, PROTO_KIND_IP, "203.0.113.4", 5, 400);
	/* expiring, then deleted */
	put(f->s, PROTO_KIND_IP, "203.0.113.5", 5, 500);
	del(f->s, PROTO_KIND_IP, "203.0.113.5");

	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_entries(f->dir, "expiry"), 3);
	assert_int_equal(reopen(f, &o), 0);

	assert_int_equal(sweep(f->s, 150, SIZE_MAX), 0);
	assert_int_equal(get_ip(f->s, "203.0.113.1", 150, NULL), 0);
	assert_int_equal(sweep(f->s, 250, SIZE_MAX), 1);
	assert_int_equal(get_ip(f->s, "203.0.113.1", 0, NULL), MX_ENOTFOUND);
	assert_int_equal(sweep(f->s, 400, SIZE_MAX), 2);
	assert_int_equal(count(f->s, PROTO_KIND_IP), 1);
	assert_int_equal(sweep(f->s, UINT64_MAX, SIZE_MAX), 0);
	assert_int_equal(get_ip(f->s, "203.0.113.2", UINT64_MAX, NULL), 0);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_entries(f->dir, "expiry"), 0);
}

/* test_lpm_nested_v4 - /8 /16 /24: most specific wins; delete falls back */
static void
test_lpm_nested_v4(void **state)
{
	struct fix *f = *state;
	int32_t score = 0;

	assert_int_equal(lpm(f->s, "10.1.2.3", 0, NULL), MX_ENOTFOUND);
	put(f->s, PROTO_KIND_NET, "10.0.0.0/8", 8, 0);
	put(f->s, PROTO_KIND_NET, "10.1.0.0/16", 16, 0);
	put(f->s, PROTO_KIND_NET, "10.1.2.0/24", 24, 0);
	assert_int_equal(lpm(f->s, "10.1.2.3", 0, &score), 24);
	assert_int_equal(score, 24);
	assert_int_equal(lpm(f->s, "10.1.3.3", 0, NULL), 16);
	assert_int_equal(lpm(f->s, "10.2.0.1", 0, NULL), 8);
	assert_int_equal(lpm(f->s, "11.0.0.1", 0, NULL), MX_ENOTFOUND);
	del(f->s, PROTO_KIND_NET, "10.1.2.0/24");
	assert_int_equal(lpm(f->s, "10.1.2.3", 0, NULL), 16);
	/* a prefix length that is not a whole number of bytes */
	put(f->s, PROTO_KIND_NET, "172.16.0.0/12", 12, 0);
	assert_int_equal(lpm(f->s, "172.31.255.255", 0, NULL), 12);
	assert_int_equal(lpm(f->s, "172.32.0.0", 0, NULL), MX_ENOTFOUND);
	assert_int_equal(lpm(f->s, "172.15.255.255", 0, NULL), MX_ENOTFOUND);
}

/* test_lpm_zero_and_host - /0 matches all of its family, /32 one host */
static void
test_lpm_zero_and_host(void **state)
{
	struct fix *f = *state;
	struct proto_record out;
	struct proto_txn *t;
	static const uint8_t a[4] = {192, 0, 2, 7};

	put(f->s, PROTO_KIND_NET, "0.0.0.0/0", 0, 0);
	put(f->s, PROTO_KIND_NET, "192.0.2.7/32", 32, 0);
	assert_int_equal(lpm(f->s, "255.255.255.255", 0, NULL), 0);
	assert_int_equal(lpm(f->s, "0.0.0.0", 0, NULL), 0);
	assert_int_equal(lpm(f->s, "192.0.2.7", 0, NULL), 32);
	assert_int_equal(lpm(f->s, "192.0.2.6", 0, NULL), 0);
	assert_int_equal(lpm(f->s, "192.0.2.8", 0, NULL), 0);
	/* an IPv4 /0 does not cover IPv6 */
	assert_int_equal(lpm(f->s, "2001:db8::1", 0, NULL), MX_ENOTFOUND);

	/* out->key is the matching [plen, address] key */
	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	assert_int_equal(proto_store_lookup_net(t, a, 4, 0, &out), 0);
	assert_int_equal(out.key_len, 5);
	assert_int_equal(out.key[0], 32);
	assert_memory_equal(out.key + 1, a, 4);
	assert_int_equal(proto_store_lookup_net(t, a, 5, 0, &out), MX_EINVAL);
	proto_store_read_free(t);
}

/* test_lpm_v6 - IPv6 nets from /0 to /128, nested */
static void
test_lpm_v6(void **state)
{
	struct fix *f = *state;

	put(f->s, PROTO_KIND_NET, "2001:db8::/32", 32, 0);
	put(f->s, PROTO_KIND_NET, "2001:db8:1::/48", 48, 0);
	put(f->s, PROTO_KIND_NET, "2001:db8:1:8000::/49", 49, 0);
	put(f->s, PROTO_KIND_NET, "2001:db8:1::1/128", 128, 0);
	assert_int_equal(lpm(f->s, "2001:db8:1::1", 0, NULL), 128);
	assert_int_equal(lpm(f->s, "2001:db8:1::2", 0, NULL), 48);
	assert_int_equal(lpm(f->s, "2001:db8:1:8000::2", 0, NULL), 49);
	assert_int_equal(lpm(f->s, "2001:db8:2::1", 0, NULL), 32);
	assert_int_equal(lpm(f->s, "2001:db9::1", 0, NULL), MX_ENOTFOUND);
	put(f->s, PROTO_KIND_NET, "::/0", 0, 0);
	assert_int_equal(lpm(f->s, "2001:db9::1", 0, NULL), 0);
	/* an IPv6 /0 does not cover IPv4 clients, mapped or not */
	assert_int_equal(lpm(f->s, "192.0.2.1", 0, NULL), MX_ENOTFOUND);
	assert_int_equal(lpm(f->s, "::ffff:192.0.2.1", 0, NULL), MX_ENOTFOUND);
}

/* test_lpm_v4_mapped - a v4-mapped v6 address matches an IPv4 net */
static void
test_lpm_v4_mapped(void **state)
{
	struct fix *f = *state;

	put(f->s, PROTO_KIND_NET, "10.1.2.0/24", 24, 0);
	/* a v4-mapped prefix is stored as IPv4 (/112 = /16) */
	put(f->s, PROTO_KIND_NET, "::ffff:10.9.0.0/112", 16, 0);
	assert_int_equal(lpm(f->s, "::ffff:10.1.2.3", 0, NULL), 24);
	assert_int_equal(lpm(f->s, "10.9.200.1", 0, NULL), 16);
	assert_int_equal(lpm(f->s, "::ffff:10.9.200.1", 0, NULL), 16);
	assert_int_equal(lpm(f->s, "::ffff:10.1.3.3", 0, NULL), MX_ENOTFOUND);
	/* ::a01:203 is not v4-mapped */
	assert_int_equal(lpm(f->s, "::10.1.2.3", 0, NULL), MX_ENOTFOUND);
}

/* test_lpm_expired_longer_falls_back - a dead /24 must not hide a /16 */
static void
test_lpm_expired_longer_falls_back(void **state)
{
	struct fix *f = *state;
	int32_t score = 0;

	put(f->s, PROTO_KIND_NET, "10.1.0.0/16", 16, 0);
	put(f->s, PROTO_KIND_NET, "10.1.2.0/24", 24, 100);
	put(f->s, PROTO_KIND_NET, "10.1.2.128/25", 25, 50);
	assert_int_equal(lpm(f->s, "10.1.2.200", 10, &score), 25);
	assert_int_equal(lpm(f->s, "10.1.2.200", 60, &score), 24);
	assert_int_equal(lpm(f->s, "10.1.2.200", 100, &score), 16);
	assert_int_equal(score, 16);
	put(f->s, PROTO_KIND_NET, "2001:db8::/32", 32, 0);
	put(f->s, PROTO_KIND_NET, "2001:db8::/64", 64, 5);
	assert_int_equal(lpm(f->s, "2001:db8::1", 4, NULL), 64);
	assert_int_equal(lpm(f->s, "2001:db8::1", 5, NULL), 32);
	/* all expired: not found */
	put(f->s, PROTO_KIND_NET, "192.0.2.0/24", 1, 5);
	assert_int_equal(lpm(f->s, "192.0.2.1", 5, NULL), MX_ENOTFOUND);
}

/* test_netlens_counts - counts follow put, overwrite, delete, sweep */
static void
test_netlens_counts(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP, .no_sync = 1};

	put(f->s, PROTO_KIND_NET, "10.0.0.0/8", 1, 0);
	put(f->s, PROTO_KIND_NET, "10.0.0.0/8", 2, 0);
	put(f->s, PROTO_KIND_NET, "11.0.0.0/8", 2, 0);
	put(f->s, PROTO_KIND_NET, "10.1.2.0/24", 3, 100);
	put(f->s, PROTO_KIND_NET, "2001:db8::/48", 4, 0);
	del(f->s, PROTO_KIND_NET, "12.0.0.0/8"); /* absent */
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netlens(f->dir, 8), 2);
	assert_int_equal(raw_netlens(f->dir, 24), 1);
	assert_int_equal(raw_netlens(f->dir, 16), 0);
	assert_int_equal(raw_netlens(f->dir, T_NL_V6 + 48), 1);
	assert_int_equal(raw_netlens(f->dir, T_NL_V6 + 8), 0);

	assert_int_equal(reopen(f, &o), 0);
	del(f->s, PROTO_KIND_NET, "10.0.0.0/8");
	del(f->s, PROTO_KIND_NET, "2001:db8::/48");
	assert_int_equal(sweep(f->s, 100, SIZE_MAX), 1);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netlens(f->dir, 8), 1);
	assert_int_equal(raw_netlens(f->dir, 24), 0);
	assert_int_equal(raw_netlens(f->dir, T_NL_V6 + 48), 0);
	assert_int_equal(reopen(f, &o), 0);
	assert_int_equal(lpm(f->s, "11.2.3.4", 0, NULL), 8);
	assert_int_equal(lpm(f->s, "10.1.2.3", 0, NULL), MX_ENOTFOUND);
}

/* test_netlens_in_one_txn - lookups inside the writing txn see its puts */
static void
test_netlens_in_one_txn(void **state)
{
	struct fix *f = *state;
	struct proto_record r, out;
	struct proto_txn *t;
	static const uint8_t a[4] = {10, 1, 2, 3};

	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	rec(&r, PROTO_KIND_NET, "10.0.0.0/8", 8, 0);
	assert_int_equal(proto_store_apply(t, &r), 0);
	assert_int_equal(proto_store_lookup_net(t, a, 4, 0, &out), 0);
	assert_int_equal(out.key[0], 8);
	rec(&r, PROTO_KIND_NET, "10.1.0.0/16", 16, 0);
	assert_int_equal(proto_store_apply(t, &r), 0);
	assert_int_equal(proto_store_lookup_net(t, a, 4, 0, &out), 0);
	assert_int_equal(out.key[0], 16);
	proto_store_abort(t);
	/* aborted: nothing stays, counts included */
	assert_int_equal(lpm(f->s, "10.1.2.3", 0, NULL), MX_ENOTFOUND);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netlens(f->dir, 8), 0);
}

/* test_read_snapshot_and_renew - a renewed handle sees new commits */
static void
test_read_snapshot_and_renew(void **state)
{
	struct fix *f = *state;
	struct proto_record out;
	struct proto_txn *t;
	static const uint8_t a[4] = {10, 1, 2, 3};

	put(f->s, PROTO_KIND_NET, "10.0.0.0/8", 8, 0);
	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	assert_int_equal(proto_store_lookup_net(t, a, 4, 0, &out), 0);
	assert_int_equal(out.key[0], 8);
	/* a commit while the snapshot is open is not visible in it */
	put(f->s, PROTO_KIND_NET, "10.1.2.0/24", 24, 0);
	assert_int_equal(proto_store_lookup_net(t, a, 4, 0, &out), 0);
	assert_int_equal(out.key[0], 8);
	assert_int_equal(proto_store_read_renew(t), MX_ESTATE);
	proto_store_read_end(t);
	assert_int_equal(proto_store_lookup_net(t, a, 4, 0, &out), MX_ESTATE);
	assert_int_equal(proto_store_read_renew(t), 0);
	assert_int_equal(proto_store_lookup_net(t, a, 4, 0, &out), 0);
	assert_int_equal(out.key[0], 24);
	proto_store_read_end(t);
	del(f->s, PROTO_KIND_NET, "10.1.2.0/24");
	assert_int_equal(proto_store_read_renew(t), 0);
	assert_int_equal(proto_store_lookup_net(t, a, 4, 0, &out), 0);
	assert_int_equal(out.key[0], 8);
	proto_store_read_free(t);
}

/* test_domain_suffixes - case, trailing dot, parents, label boundaries */
static void
test_domain_suffixes(void **state)
{
	struct fix *f = *state;
	char m[PROTO_KEY_MAX + 1];

	put(f->s, PROTO_KIND_DOMAIN, "Example.COM", 1, 0);
	put(f->s, PROTO_KIND_DOMAIN, "sub.example.com", 2, 0);
	put(f->s, PROTO_KIND_DOMAIN, "xn--bcher-kva.example", 3, 0);
	assert_int_equal(dom(f->s, "example.com", 0, m, sizeof(m)), 0);
	assert_string_equal(m, "com.example");
	assert_int_equal(dom(f->s, "MAIL.Example.Com.", 0, m, sizeof(m)), 0);
	assert_string_equal(m, "com.example");
	assert_int_equal(dom(f->s, "a.b.example.com", 0, m, sizeof(m)), 0);
	assert_string_equal(m, "com.example");
	assert_int_equal(dom(f->s, "x.y.sub.example.com", 0, m, sizeof(m)), 0);
	assert_string_equal(m, "com.example.sub");
	assert_int_equal(dom(f->s, "sub.example.com", 0, m, sizeof(m)), 0);
	assert_string_equal(m, "com.example.sub");
	assert_int_equal(dom(f->s, "subx.example.com", 0, m, sizeof(m)), 0);
	assert_string_equal(m, "com.example");
	/* label boundaries only */
	assert_int_equal(
	    dom(f->s, "badexample.com", 0, m, sizeof(m)), MX_ENOTFOUND);
	assert_int_equal(
	    dom(f->s, "example.com.evil", 0, m, sizeof(m)), MX_ENOTFOUND);
	assert_int_equal(dom(f->s, "com", 0, m, sizeof(m)), MX_ENOTFOUND);
	assert_int_equal(
	    dom(f->s, "example.org", 0, m, sizeof(m)), MX_ENOTFOUND);
	/* IDN A-labels */
	assert_int_equal(
	    dom(f->s, "www.XN--BCHER-KVA.example", 0, m, sizeof(m)), 0);
	assert_string_equal(m, "example.xn--bcher-kva");
	/* names proto_key_domain refuses */
	assert_int_equal(dom(f->s, "", 0, m, sizeof(m)), MX_EINVAL);
	assert_int_equal(dom(f->s, "exa mple.com", 0, m, sizeof(m)), MX_EINVAL);
	assert_int_equal(dom(f->s,
	                     "b\xc3\xbc"
	                     "cher.example",
	                     0, m, sizeof(m)),
	    MX_EINVAL);
	assert_int_equal(
	    dom(f->s, "a..example.com", 0, m, sizeof(m)), MX_EINVAL);
}

/* test_domain_expired_falls_back - an expired child yields to its parent */
static void
test_domain_expired_falls_back(void **state)
{
	struct fix *f = *state;
	char m[PROTO_KEY_MAX + 1];

	put(f->s, PROTO_KIND_DOMAIN, "example.com", 1, 0);
	put(f->s, PROTO_KIND_DOMAIN, "mail.example.com", 2, 100);
	put(f->s, PROTO_KIND_DOMAIN, "com", 3, 50);
	assert_int_equal(dom(f->s, "mail.example.com", 99, m, sizeof(m)), 0);
	assert_string_equal(m, "com.example.mail");
	assert_int_equal(dom(f->s, "mail.example.com", 100, m, sizeof(m)), 0);
	assert_string_equal(m, "com.example");
	assert_int_equal(dom(f->s, "other.com", 10, m, sizeof(m)), 0);
	assert_string_equal(m, "com");
	assert_int_equal(
	    dom(f->s, "other.com", 50, m, sizeof(m)), MX_ENOTFOUND);
}

/* what proto_store_each_pos handed over */
struct pos_seen {
	size_t n, stop_at;
	char id[4][PROTO_ID_MAX + 1];
	uint64_t epoch[4], seq[4];
};

/* pos_collect - proto_store_each_pos callback: keep the first four */
static int
pos_collect(void *arg, const char *hub_id, uint64_t epoch, uint64_t seq)
{
	struct pos_seen *w = arg;

	if (w->n < 4) {
		snprintf(w->id[w->n], sizeof(w->id[0]), "%s", hub_id);
		w->epoch[w->n] = epoch;
		w->seq[w->n] = seq;
	}
	w->n++;
	return w->stop_at != 0 && w->n == w->stop_at ? 42 : 0;
}

/* test_pos_per_hub - per-hub positions, persisted across reopen */
static void
test_pos_per_hub(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP};
	struct proto_txn *t;
	uint64_t e = 0, q = 0;
	char longid[PROTO_ID_MAX + 2];

	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	assert_int_equal(proto_store_pos_get(t, "hub-a", &e, &q), MX_ENOTFOUND);
	/* positions are written only in a write transaction */
	assert_int_equal(proto_store_pos_put(t, "hub-a", 1, 1), MX_ESTATE);
	proto_store_read_free(t);

	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	assert_int_equal(proto_store_pos_put(t, "hub-a", 1, 5), 0);
	assert_int_equal(proto_store_pos_put(t, "hub-b", 7, 9), 0);
	assert_int_equal(proto_store_pos_put(t, "hub-a", 2, 6), 0);
	assert_int_equal(proto_store_pos_get(t, "hub-a", &e, &q), 0);
	assert_int_equal(e, 2);
	assert_int_equal(q, 6);
	assert_int_equal(proto_store_pos_put(t, "", 1, 1), MX_EINVAL);
	assert_int_equal(proto_store_pos_put(t, "hub a", 1, 1), MX_EINVAL);
	memset(longid, 'h', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(proto_store_pos_put(t, longid, 1, 1), MX_EINVAL);
	longid[PROTO_ID_MAX] = '\0';
	assert_int_equal(proto_store_pos_put(t, longid, 3, UINT64_MAX), 0);
	assert_int_equal(proto_store_commit(t), 0);

	assert_int_equal(reopen(f, &o), 0);
	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	assert_int_equal(proto_store_pos_get(t, "hub-a", &e, &q), 0);
	assert_int_equal(e, 2);
	assert_int_equal(q, 6);
	assert_int_equal(proto_store_pos_get(t, "hub-b", &e, &q), 0);
	assert_int_equal(e, 7);
	assert_int_equal(q, 9);
	assert_int_equal(proto_store_pos_get(t, longid, &e, &q), 0);
	assert_int_equal(q, UINT64_MAX);
	assert_int_equal(proto_store_pos_get(t, "hub-c", &e, &q), MX_ENOTFOUND);
	/* the walk: every hub with a position, in id order */
	{
		struct pos_seen w = {0};

		assert_int_equal(proto_store_each_pos(t, pos_collect, &w), 0);
		/* byte order: "hhh..." < "hub-a" < "hub-b" */
		assert_int_equal(w.n, 3);
		assert_string_equal(w.id[0], longid);
		assert_string_equal(w.id[1], "hub-a");
		assert_int_equal(w.seq[1], 6);
		assert_string_equal(w.id[2], "hub-b");
		assert_int_equal(w.epoch[2], 7);
		/* fn's non-zero return stops the walk and comes back */
		w.stop_at = 2;
		w.n = 0;
		assert_int_equal(proto_store_each_pos(t, pos_collect, &w), 42);
		assert_int_equal(w.n, 2);
	}
	/* deleted only in a write transaction */
	assert_int_equal(proto_store_pos_del(t, "hub-a"), MX_ESTATE);
	proto_store_read_free(t);
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	assert_int_equal(proto_store_pos_del(t, "hub-a"), 0);
	assert_int_equal(proto_store_pos_del(t, "hub-a"), 0); /* gone: fine */
	assert_int_equal(proto_store_pos_del(t, "hub a"), MX_EINVAL);
	assert_int_equal(proto_store_commit(t), 0);
	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	assert_int_equal(proto_store_pos_get(t, "hub-a", &e, &q), MX_ENOTFOUND);
	assert_int_equal(proto_store_pos_get(t, "hub-b", &e, &q), 0);
	proto_store_read_free(t);
}

/* test_layout_newer_refused - a store from a newer program, or of
 * layout 1, is refused */
static void
test_layout_newer_refused(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP};
	struct proto_store_opts ro = {.read_only = 1};
	uint8_t v[4] = {PROTO_STORE_LAYOUT + 1, 0, 0, 0};
	uint8_t ok[4] = {PROTO_STORE_LAYOUT, 0, 0, 0};
	uint8_t old[4] = {1, 0, 0, 0};

	proto_store_close(f->s);
	f->s = NULL;
	raw_put(f->dir, "meta", "layout", 6, v, sizeof(v));
	assert_int_equal(proto_store_open(f->dir, &o, &f->s), MX_EVERSION);
	assert_null(f->s);
	assert_int_equal(proto_store_open(f->dir, &ro, &f->s), MX_EVERSION);
	/* layout 1, from before the net index, is refused, not migrated */
	raw_put(f->dir, "meta", "layout", 6, old, sizeof(old));
	assert_int_equal(proto_store_open(f->dir, &o, &f->s), MX_EVERSION);
	assert_int_equal(proto_store_open(f->dir, &ro, &f->s), MX_EVERSION);
	assert_null(f->s);
	/* a damaged layout entry */
	raw_put(f->dir, "meta", "layout", 6, v, 3);
	assert_int_equal(proto_store_open(f->dir, &o, &f->s), MX_EIO);
	raw_put(f->dir, "meta", "layout", 6, ok, sizeof(ok));
	assert_int_equal(proto_store_open(f->dir, &o, &f->s), 0);
}

/* test_damaged_values_refused - bad stored bytes are errors, not crashes */
static void
test_damaged_values_refused(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP};
	struct proto_record r;
	uint8_t k[4] = {192, 0, 2, 0}, v[64];
	int32_t score = 0;

	proto_store_close(f->s);
	f->s = NULL;
	memset(v, 0, sizeof(v));
	v[0] = PROTO_STORE_LAYOUT + 1; /* newer value layout */
	k[3] = 1;
	raw_put(f->dir, "ip", k, 4, v, 28);
	v[0] = PROTO_STORE_LAYOUT; /* shorter than the header */
	k[3] = 2;
	raw_put(f->dir, "ip", k, 4, v, 20);
	v[24] = 5; /* source length past the end */
	k[3] = 3;
	raw_put(f->dir, "ip", k, 4, v, 30);
	v[24] = 0; /* trailing bytes */
	k[3] = 4;
	raw_put(f->dir, "ip", k, 4, v, 29);
	k[3] = 5; /* empty value */
	raw_put(f->dir, "ip", k, 4, v, 0);
	v[1] = 200; /* action out of range */
	k[3] = 6;
	raw_put(f->dir, "ip", k, 4, v, 28);
	v[1] = 0;
	v[24] = 1; /* control byte in the source */
	v[28] = '\n';
	k[3] = 7;
	raw_put(f->dir, "ip", k, 4, v, 29);
	/* damaged net counts: readers must still find nets */
	raw_put(f->dir, "meta", "netlens", 7, v, 5);
	assert_int_equal(reopen(f, &o), 0);

	assert_int_equal(get_ip(f->s, "192.0.2.1", 0, NULL), MX_EVERSION);
	assert_int_equal(get_ip(f->s, "192.0.2.2", 0, NULL), MX_EIO);
	assert_int_equal(get_ip(f->s, "192.0.2.3", 0, NULL), MX_EIO);
	assert_int_equal(get_ip(f->s, "192.0.2.4", 0, NULL), MX_EIO);
	assert_int_equal(get_ip(f->s, "192.0.2.5", 0, NULL), MX_EIO);
	assert_int_equal(get_ip(f->s, "192.0.2.6", 0, NULL), MX_EIO);
	assert_int_equal(get_ip(f->s, "192.0.2.7", 0, NULL), MX_EIO);
	/* a damaged value can be overwritten and deleted */
	put(f->s, PROTO_KIND_IP, "192.0.2.1", 11, 0);
	assert_int_equal(get_ip(f->s, "192.0.2.1", 0, &score), 0);
	assert_int_equal(score, 11);
	del(f->s, PROTO_KIND_IP, "192.0.2.2");
	assert_int_equal(get_ip(f->s, "192.0.2.2", 0, NULL), MX_ENOTFOUND);

	/* nets: the writer recounts the damaged counts on its first net */
	proto_store_close(f->s);
	f->s = NULL;
	rec(&r, PROTO_KIND_NET, "10.0.0.0/8", 8, 0);
	memset(v, 0, sizeof(v));
	v[0] = PROTO_STORE_LAYOUT;
	raw_put(f->dir, "net", r.key, r.key_len, v, 28);
	assert_int_equal(reopen(f, &o), 0);
	assert_int_equal(lpm(f->s, "10.9.9.9", 0, NULL), 8);
	put(f->s, PROTO_KIND_NET, "10.1.0.0/16", 16, 0);
	assert_int_equal(lpm(f->s, "10.1.9.9", 0, NULL), 16);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netlens(f->dir, 8), 1);
	assert_int_equal(raw_netlens(f->dir, 16), 1);
	assert_int_equal(reopen(f, &o), 0);
}

/* test_map_full_then_usable - MX_EFULL, abort, the store still works */
static void
test_map_full_then_usable(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = 1 << 20, .no_sync = 1};
	struct proto_record r;
	struct proto_txn *t;
	char name[64];
	int i, rc = 0;

	assert_int_equal(reopen(f, &o), 0);
	put(f->s, PROTO_KIND_DOMAIN, "before.example", 1, 0);
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	for (i = 0; i < 100000 && rc == 0; i++) {
		assert_true(snprintf(name, sizeof(name), "host%d.full.example",
		                i) < (int)sizeof(name));
		rec(&r, PROTO_KIND_DOMAIN, name, i, (uint64_t)i + 1);
		memset(r.reason, 'x', PROTO_REASON_MAX);
		r.reason_len = PROTO_REASON_MAX;
		rc = proto_store_apply(t, &r);
	}
	assert_int_equal(rc, MX_EFULL);
	assert_true(i > 100);
	/* the txn is dead: everything after is refused, commit included */
	assert_int_equal(proto_store_apply(t, &r), MX_EFULL);
	assert_int_equal(proto_store_pos_put(t, "hub-a", 1, 1), MX_EFULL);
	proto_store_abort(t);

	assert_int_equal(dom(f->s, "before.example", 0, NULL, 0), 0);
	assert_int_equal(
	    dom(f->s, "host1.full.example", 0, NULL, 0), MX_ENOTFOUND);
	put(f->s, PROTO_KIND_DOMAIN, "after.example", 2, 0);
	assert_int_equal(dom(f->s, "after.example", 0, NULL, 0), 0);

	/* commit after MX_EFULL reports it and frees the handle */
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	for (i = 0, rc = 0; i < 100000 && rc == 0; i++) {
		assert_true(snprintf(name, sizeof(name), "host%d.full.example",
		                i) < (int)sizeof(name));
		rec(&r, PROTO_KIND_DOMAIN, name, i, 0);
		rc = proto_store_apply(t, &r);
	}
	assert_int_equal(rc, MX_EFULL);
	assert_int_equal(proto_store_commit(t), MX_EFULL);
	assert_int_equal(count(f->s, PROTO_KIND_DOMAIN), 2);
	assert_int_equal(sweep(f->s, UINT64_MAX, SIZE_MAX), 0);
}

/* test_read_only_open - reads work; writes are refused */
static void
test_read_only_open(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts ro = {.read_only = 1};
	struct proto_store *s2 = NULL;
	struct proto_txn *t = NULL;
	size_t n = 0;
	char empty[600];
	int len;

	put(f->s, PROTO_KIND_IP, "192.0.2.9", 9, 0);
	put(f->s, PROTO_KIND_NET, "192.0.2.0/24", 24, 0);
	assert_int_equal(reopen(f, &ro), 0);
	assert_int_equal(get_ip(f->s, "192.0.2.9", 0, NULL), 0);
	assert_int_equal(lpm(f->s, "192.0.2.1", 0, NULL), 24);
	assert_int_equal(proto_store_write_begin(f->s, &t), MX_ESTATE);
	assert_null(t);
	assert_int_equal(proto_store_sweep(f->s, 0, 1, &n), MX_ESTATE);

	/* a read-only open needs an existing store */
	len = snprintf(empty, sizeof(empty), "%s/empty", f->dir);
	assert_true(len > 0 && (size_t)len < sizeof(empty));
	assert_int_equal(mkdir(empty, 0700), 0);
	assert_int_equal(proto_store_open(empty, &ro, &s2), MX_EIO);
	assert_null(s2);
	len = snprintf(empty, sizeof(empty), "%s/missing", f->dir);
	assert_true(len > 0 && (size_t)len < sizeof(empty));
	assert_int_equal(proto_store_open(empty, NULL, &s2), MX_EIO);
	assert_int_equal(proto_store_open(NULL, NULL, &s2), MX_EINVAL);
}

/* grow_child - in a forked child: write nrec big records with a 32 MiB
 * map and 192.0.2.2, then exit (status 0 on success) */
static void
grow_child(const char *dir, int nrec, int wait_fd)
{
	struct proto_store_opts big = {.map_bytes = 32 << 20, .no_sync = 1};
	struct proto_store *s = NULL;
	struct proto_txn *t = NULL;
	struct proto_record r;
	char name[64], go;
	int i, rc = 0;

	if (wait_fd >= 0 && read(wait_fd, &go, 1) != 1)
		_exit(3);
	if (proto_store_open(dir, &big, &s) != 0 ||
	    proto_store_write_begin(s, &t) != 0)
		_exit(1);
	for (i = 0; i < nrec && rc == 0; i++) {
		if (snprintf(name, sizeof(name), "h%d.grow.example", i) >=
		    (int)sizeof(name))
			_exit(4);
		rec(&r, PROTO_KIND_DOMAIN, name, i, 0);
		memset(r.reason, 'y', PROTO_REASON_MAX);
		r.reason_len = PROTO_REASON_MAX;
		rc = proto_store_apply(t, &r);
	}
	rec(&r, PROTO_KIND_IP, "192.0.2.2", 2, 0);
	if (rc != 0 || proto_store_apply(t, &r) != 0 ||
	    proto_store_commit(t) != 0)
		_exit(2);
	proto_store_close(s);
	_exit(0);
}

/* test_map_resized_by_other_process - adopt a map another process grew */
static void
test_map_resized_by_other_process(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts small = {.map_bytes = 1 << 20, .no_sync = 1};
	int32_t score = 0;
	pid_t pid;
	int status = -1;

	assert_int_equal(reopen(f, &small), 0);
	put(f->s, PROTO_KIND_IP, "192.0.2.1", 1, 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		grow_child(f->dir, 20000, -1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the data now lies beyond this process's 1 MiB map */
	assert_int_equal(get_ip(f->s, "192.0.2.2", 0, &score), 0);
	assert_int_equal(score, 2);
	assert_int_equal(dom(f->s, "h19999.grow.example", 0, NULL, 0), 0);
	put(f->s, PROTO_KIND_IP, "192.0.2.3", 3, 0);
	assert_int_equal(get_ip(f->s, "192.0.2.3", 0, NULL), 0);
	assert_int_equal(count(f->s, PROTO_KIND_DOMAIN), 20000);
}

struct reader_arg {
	struct proto_store *s; /* shared store */
	atomic_int *stop;      /* set by the main thread */
	long lookups;          /* lookups done */
	long hits;             /* lookups that found 192.0.2.2 */
	int err;               /* first unexpected error, or 0 */
};

/* reader_main - renew, look up, end, in a loop, as an edge worker does */
static void *
reader_main(void *p)
{
	struct reader_arg *a = p;
	static const uint8_t k[4] = {192, 0, 2, 2};
	struct proto_record out;
	struct proto_txn *t = NULL;
	int rc;

	if ((a->err = proto_store_read_begin(a->s, &t)) != 0)
		return NULL;
	proto_store_read_end(t);
	while (!atomic_load(a->stop) || a->hits == 0) {
		if ((rc = proto_store_read_renew(t)) != 0) {
			a->err = rc;
			break;
		}
		rc = proto_store_get(t, PROTO_KIND_IP, k, 4, 0, &out);
		proto_store_read_end(t);
		a->lookups++;
		if (rc == 0)
			a->hits++;
		else if (rc != MX_ENOTFOUND) {
			a->err = rc;
			break;
		}
	}
	proto_store_read_free(t);
	return NULL;
}

/* test_map_resized_under_readers - remap while other threads read */
static void
test_map_resized_under_readers(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts small = {.map_bytes = 1 << 20, .no_sync = 1};
	struct reader_arg args[3];
	pthread_t th[3];
	atomic_int stop;
	int fds[2], status = -1, i;
	pid_t pid;

	assert_int_equal(reopen(f, &small), 0);
	put(f->s, PROTO_KIND_IP, "192.0.2.1", 1, 0);
	assert_int_equal(pipe(fds), 0);
	/* fork before any thread exists; the child waits for the go */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		grow_child(f->dir, 20000, fds[0]);
	}
	close(fds[0]);
	atomic_init(&stop, 0);
	for (i = 0; i < 3; i++) {
		args[i] = (struct reader_arg){.s = f->s, .stop = &stop};
		assert_int_equal(
		    pthread_create(&th[i], NULL, reader_main, &args[i]), 0);
	}
	assert_int_equal(write(fds[1], "g", 1), 1);
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the readers stop once each has seen the child's record */
	atomic_store(&stop, 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].err, 0);
		assert_true(args[i].hits > 0);
	}
	assert_int_equal(dom(f->s, "h19999.grow.example", 0, NULL, 0), 0);
}

/* splitmix - deterministic 64-bit PRNG step */
static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* load_rec - the i-th record of the bulk load (ip, net or domain) */
static void
load_rec(uint64_t i, struct proto_record *r, uint8_t addr[16], size_t *alen)
{
	static const uint8_t plens4[] = {8, 12, 16, 20, 22, 24, 28, 32};
	static const uint8_t plens6[] = {32, 40, 48, 56, 64};
	uint64_t x = i * 7919 + 1, a = splitmix(&x), b = splitmix(&x);
	char name[64];
	size_t kl = 0;
	unsigned p, k;
	int n;

	memset(r, 0, sizeof(*r));
	r->op = PROTO_OP_PUT;
	r->action = PROTO_ACT_REJECT;
	r->score = (int32_t)(i % 1000);
	proto_record_set_text(r, "load", "bulk");
	*alen = i % 10 < 3 ? 4 : 16;
	memcpy(addr, &a, 8);
	memcpy(addr + 8, &b, 8);
	if (*alen == 16)
		addr[0] = 0x20; /* not v4-mapped */
	switch (i % 3) {
	case 0:
		r->kind = PROTO_KIND_IP;
		r->key_len = (uint16_t)*alen;
		memcpy(r->key, addr, *alen);
		break;
	case 1:
		r->kind = PROTO_KIND_NET;
		p = *alen == 4 ? plens4[b % sizeof(plens4)]
		               : plens6[b % sizeof(plens6)];
		r->key[0] = (uint8_t)p;
		for (k = 0; k < *alen; k++) {
			unsigned bit = k * 8;
			uint8_t m = bit + 8 <= p ? 0xff
			            : bit >= p
			                ? 0
			                : (uint8_t)(0xff << (8 - (p - bit)));

			r->key[1 + k] = addr[k] & m;
		}
		r->key_len = (uint16_t)(1 + *alen);
		break;
	default:
		r->kind = PROTO_KIND_DOMAIN;
		n = snprintf(name, sizeof(name), "h%llx.d%llu.example",
		    (unsigned long long)a, (unsigned long long)(i % 50000));
		assert_true(n > 0 && (size_t)n < sizeof(name));
		assert_int_equal(
		    proto_key_domain(name, (size_t)n, r->key, &kl), 0);
		r->key_len = (uint16_t)kl;
		break;
	}
}

/* test_load_million - 1,000,000 mixed records in batches, spot-checked */
static void
test_load_million(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = 1ULL << 30, .no_sync = 1};
	struct proto_record r, out;
	struct proto_txn *t;
	uint8_t addr[16];
	size_t alen;
	uint64_t i, total = 1000000, batch = 100000, n[4];
	char name[80];
	int rc;

	assert_int_equal(reopen(f, &o), 0);
	for (i = 0; i < total; i++) {
		if (i % batch == 0)
			assert_int_equal(proto_store_write_begin(f->s, &t), 0);
		load_rec(i, &r, addr, &alen);
		assert_int_equal(proto_store_apply(t, &r), 0);
		if (i % batch == batch - 1)
			assert_int_equal(proto_store_commit(t), 0);
	}
	n[1] = count(f->s, PROTO_KIND_IP);
	n[2] = count(f->s, PROTO_KIND_NET);
	n[3] = count(f->s, PROTO_KIND_DOMAIN);
	assert_int_equal(n[1], 333334);
	/* random nets of short prefixes collide; domains are unique */
	assert_true(n[2] > 300000 && n[2] <= 333333);
	assert_int_equal(n[3], 333333);

	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	for (i = 0; i < total; i += 997) {
		load_rec(i, &r, addr, &alen);
		switch (r.kind) {
		case PROTO_KIND_IP:
			assert_int_equal(proto_store_get(t, PROTO_KIND_IP,
			                     r.key, r.key_len, 0, &out),
			    0);
			assert_int_equal(out.score, r.score);
			break;
		case PROTO_KIND_NET:
			/* this net or a longer one covering the address */
			assert_int_equal(
			    proto_store_lookup_net(t, addr, alen, 0, &out), 0);
			assert_true(out.key[0] >= r.key[0]);
			assert_int_equal(out.key_len, r.key_len);
			break;
		default:
			/* a subdomain of a stored name finds it */
			memcpy(name, "www.", 4);
			assert_int_equal(
			    proto_key_format(PROTO_KIND_DOMAIN, r.key,
			        r.key_len, name + 4, sizeof(name) - 4),
			    0);
			assert_int_equal(proto_store_lookup_domain(
			                     t, name, strlen(name), 0, &out),
			    0);
			assert_int_equal(out.key_len, r.key_len);
			assert_memory_equal(out.key, r.key, r.key_len);
			break;
		}
		proto_store_read_end(t);
		assert_int_equal(proto_store_read_renew(t), 0);
	}
	/* misses */
	memset(addr, 0, sizeof(addr));
	addr[0] = 0x30;
	rc = proto_store_lookup_net(t, addr, 16, 0, &out);
	assert_int_equal(rc, MX_ENOTFOUND);
	assert_int_equal(
	    proto_store_lookup_domain(t, "nope.invalid", 12, 0, &out),
	    MX_ENOTFOUND);
	proto_store_read_free(t);
}

/* raw_drop - delete a named database (the store must be closed) */
static void
raw_drop(const char *dir, const char *db)
{
	MDB_env *env;
	MDB_txn *txn;

	raw_open(dir, &env, &txn, 1);
	assert_int_equal(mdb_drop(txn, raw_dbi(txn, db), 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

struct t_run {
	uint8_t key[17]; /* netidx key: [family][start address] */
	uint8_t val[17]; /* [plen][address] of the covering net, or none */
	size_t klen;     /* key bytes */
	size_t vlen;     /* value bytes */
};

/* raw_netidx - copy up to max netidx entries in key order; the count */
static size_t
raw_netidx(const char *dir, struct t_run *runs, size_t max)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	raw_open(dir, &env, &txn, 0);
	assert_int_equal(mdb_cursor_open(txn, raw_dbi(txn, "netidx"), &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		assert_true(n < max);
		assert_true(k.mv_size <= 17 && v.mv_size <= 17);
		memcpy(runs[n].key, k.mv_data, k.mv_size);
		memcpy(runs[n].val, v.mv_data, v.mv_size);
		runs[n].klen = k.mv_size;
		runs[n].vlen = v.mv_size;
		n++;
	}
	assert_int_equal(rc, MDB_NOTFOUND);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

/* run_is - run i starts at IPv4 start and names net (text) or none */
static void
run_is(const struct t_run *runs, size_t i, const char *start, const char *net)
{
	struct proto_record r;
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, start, a), 1);
	assert_int_equal(runs[i].klen, 5);
	assert_int_equal(runs[i].key[0], 4);
	assert_memory_equal(runs[i].key + 1, a, 4);
	assert_int_equal(runs[i].vlen, 5);
	if (net == NULL) {
		assert_int_equal(runs[i].val[0], 0xff);
		return;
	}
	rec(&r, PROTO_KIND_NET, net, 0, 0);
	assert_memory_equal(runs[i].val, r.key, 5);
}

/* test_netidx_runs - the exact runs docs/store.md describes */
static void
test_netidx_runs(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP, .no_sync = 1};
	struct t_run runs[8];

	put(f->s, PROTO_KIND_NET, "10.1.0.0/16", 16, 0);
	put(f->s, PROTO_KIND_NET, "10.0.0.0/8", 8, 0);
	/* overwriting a net changes no run */
	put(f->s, PROTO_KIND_NET, "10.0.0.0/8", 9, 100);
	put(f->s, PROTO_KIND_NET, "255.255.255.0/24", 24, 0);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netidx(f->dir, runs, 8), 5);
	run_is(runs, 0, "10.0.0.0", "10.0.0.0/8");
	run_is(runs, 1, "10.1.0.0", "10.1.0.0/16");
	run_is(runs, 2, "10.2.0.0", "10.0.0.0/8");
	run_is(runs, 3, "11.0.0.0", NULL);
	/* the last net of the family has no run after it */
	run_is(runs, 4, "255.255.255.0", "255.255.255.0/24");

	/* delete: its runs go to the parent, equal neighbours merge */
	assert_int_equal(reopen(f, &o), 0);
	del(f->s, PROTO_KIND_NET, "10.1.0.0/16");
	del(f->s, PROTO_KIND_NET, "255.255.255.0/24");
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netidx(f->dir, runs, 8), 2);
	run_is(runs, 0, "10.0.0.0", "10.0.0.0/8");
	run_is(runs, 1, "11.0.0.0", NULL);
	assert_int_equal(reopen(f, &o), 0);
	put(f->s, PROTO_KIND_NET, "10.1.0.0/16", 16, 0);
	del(f->s, PROTO_KIND_NET, "10.0.0.0/8");
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netidx(f->dir, runs, 8), 2);
	run_is(runs, 0, "10.1.0.0", "10.1.0.0/16");
	run_is(runs, 1, "10.2.0.0", NULL);
	/* the sweep deletes through the same path */
	assert_int_equal(reopen(f, &o), 0);
	put(f->s, PROTO_KIND_NET, "0.0.0.0/0", 0, 50);
	assert_int_equal(lpm(f->s, "1.2.3.4", 49, NULL), 0);
	assert_int_equal(sweep(f->s, 50, SIZE_MAX), 1);
	del(f->s, PROTO_KIND_NET, "10.1.0.0/16");
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netidx(f->dir, runs, 8), 0);
	assert_int_equal(reopen(f, &o), 0);
	assert_int_equal(lpm(f->s, "10.1.2.3", 0, NULL), MX_ENOTFOUND);
}

/* test_netidx_damaged - readers fall back; the writer rebuilds */
static void
test_netidx_damaged(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP, .no_sync = 1};
	struct proto_store_opts ro = {.read_only = 1};
	struct proto_record r;
	struct t_run runs[16];
	static const uint8_t k1[5] = {4, 10, 1, 0, 0};
	static const uint8_t k3[5] = {4, 10, 3, 0, 0};
	static const uint8_t v3[5] = {24, 10, 3, 0, 0};
	uint8_t v[64];
	size_t i, n;

	put(f->s, PROTO_KIND_NET, "10.0.0.0/8", 8, 0);
	put(f->s, PROTO_KIND_NET, "10.1.0.0/16", 16, 0);
	put(f->s, PROTO_KIND_NET, "2001:db8::/32", 32, 0);
	proto_store_close(f->s);
	f->s = NULL;
	/* a malformed value, and a run naming a net that does not exist */
	raw_put(f->dir, "netidx", k1, 5, "\x10\x0a", 2);
	raw_put(f->dir, "netidx", k3, 5, v3, 5);
	assert_int_equal(reopen(f, &o), 0);
	assert_int_equal(lpm(f->s, "10.1.2.3", 0, NULL), 16);
	assert_int_equal(lpm(f->s, "10.2.0.1", 0, NULL), 8);
	assert_int_equal(lpm(f->s, "10.3.0.1", 0, NULL), 8);
	assert_int_equal(lpm(f->s, "10.3.1.1", 0, NULL), 8);
	assert_int_equal(lpm(f->s, "2001:db8::1", 0, NULL), 32);
	/* a writer that meets the damage rebuilds the index at commit */
	put(f->s, PROTO_KIND_NET, "10.1.2.0/24", 24, 0);
	assert_int_equal(lpm(f->s, "10.1.2.3", 0, NULL), 24);
	assert_int_equal(lpm(f->s, "10.3.1.1", 0, NULL), 8);
	proto_store_close(f->s);
	f->s = NULL;
	n = raw_netidx(f->dir, runs, 16);
	assert_int_equal(n, 8);
	for (i = 0; i < n; i++)
		assert_int_equal(runs[i].vlen, runs[i].klen);
	run_is(runs, 3, "10.1.3.0", "10.1.0.0/16");
	run_is(runs, 4, "10.2.0.0", "10.0.0.0/8");

	/* no index at all: a reader probes, a writer rebuilds it at open */
	raw_drop(f->dir, "netidx");
	assert_int_equal(reopen(f, &ro), 0);
	assert_int_equal(lpm(f->s, "10.1.2.3", 0, NULL), 24);
	assert_int_equal(lpm(f->s, "10.200.0.1", 0, NULL), 8);
	assert_int_equal(lpm(f->s, "2001:db8:1::1", 0, NULL), 32);
	assert_int_equal(lpm(f->s, "11.0.0.1", 0, NULL), MX_ENOTFOUND);
	assert_int_equal(reopen(f, &o), 0);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netidx(f->dir, runs, 16), n);

	/* a net written behind the store's back: the counts do not match */
	rec(&r, PROTO_KIND_NET, "10.1.2.128/25", 25, 0);
	memset(v, 0, sizeof(v));
	v[0] = PROTO_STORE_LAYOUT;
	raw_put(f->dir, "net", r.key, r.key_len, v, 28);
	assert_int_equal(reopen(f, &ro), 0);
	assert_int_equal(lpm(f->s, "10.1.2.200", 0, NULL), 25);
	assert_int_equal(lpm(f->s, "10.1.2.100", 0, NULL), 24);
	assert_int_equal(reopen(f, &o), 0);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netidx(f->dir, runs, 16), n + 1);
	assert_int_equal(reopen(f, &o), 0);
	assert_int_equal(lpm(f->s, "10.1.2.200", 0, NULL), 25);
}

/* test_map_full_nets - index writes count against the map too */
static void
test_map_full_nets(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = 1 << 20, .no_sync = 1};
	struct proto_record r;
	struct proto_txn *t;
	char text[64];
	int i, rc = 0;

	assert_int_equal(reopen(f, &o), 0);
	put(f->s, PROTO_KIND_NET, "10.0.0.0/8", 8, 0);
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	for (i = 0; i < 1000000 && rc == 0; i++) {
		assert_true(snprintf(text, sizeof(text), "10.%d.%d.%d/32",
		                i >> 16 & 0xff, i >> 8 & 0xff,
		                i & 0xff) < (int)sizeof(text));
		rec(&r, PROTO_KIND_NET, text, 32, 0);
		rc = proto_store_apply(t, &r);
	}
	assert_int_equal(rc, MX_EFULL);
	proto_store_abort(t);
	assert_int_equal(lpm(f->s, "10.0.0.1", 0, NULL), 8);
	put(f->s, PROTO_KIND_NET, "10.0.0.0/24", 24, 0);
	assert_int_equal(lpm(f->s, "10.0.0.1", 0, NULL), 24);
	assert_int_equal(lpm(f->s, "10.0.1.1", 0, NULL), 8);
	/* a /0 over many runs fails as a whole, too */
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	for (i = 0, rc = 0; i < 1000000 && rc == 0; i++) {
		assert_true(snprintf(text, sizeof(text), "10.%d.%d.0/24",
		                i >> 8 & 0xff, i & 0xff) < (int)sizeof(text));
		rec(&r, PROTO_KIND_NET, text, 24, 0);
		rc = proto_store_apply(t, &r);
		if (rc == 0 && i == 2000) {
			rec(&r, PROTO_KIND_NET, "0.0.0.0/0", 0, 0);
			rc = proto_store_apply(t, &r);
		}
	}
	assert_int_equal(rc, MX_EFULL);
	assert_int_equal(proto_store_commit(t), MX_EFULL);
	assert_int_equal(lpm(f->s, "10.0.1.1", 0, NULL), 8);
	assert_int_equal(lpm(f->s, "11.0.0.1", 0, NULL), MX_ENOTFOUND);
}

#define T_REF_MAX 4096   /* reference nets at most */
#define T_DIFF_TXNS 2500 /* write transactions in the differential test */

struct t_ref {
	uint8_t key[17];  /* [plen][address], canonical */
	size_t klen;      /* 5 or 17 */
	int32_t score;    /* unique per put */
	uint64_t expires; /* 0 = never */
};

struct t_model {
	struct t_ref nets[T_REF_MAX]; /* put and not deleted nor swept */
	size_t n;                     /* entries in nets */
};

/* ref_covers - net key [plen][address] contains the n-byte address a */
static int
ref_covers(const uint8_t *key, const uint8_t *a, size_t n)
{
	unsigned plen = key[0], full = plen / 8, b;

	if (plen > n * 8 || memcmp(key + 1, a, full) != 0)
		return 0;
	for (b = full * 8; b < plen; b++)
		if (((key[1 + b / 8] ^ a[b / 8]) & (0x80 >> (b % 8))) != 0)
			return 0;
	return 1;
}

/* ref_lpm_raw - brute force: index of the longest net of the family of
 * the n-byte address a containing it, live at now (0: any), or -1 */
static long
ref_lpm_raw(const struct t_model *m, const uint8_t *a, size_t n, uint64_t now)
{
	size_t i;
	long best = -1;

	for (i = 0; i < m->n; i++) {
		const struct t_ref *r = &m->nets[i];

		if (r->klen != 1 + n ||
		    (now != 0 && r->expires != 0 && r->expires <= now))
			continue;
		if ((best < 0 || r->key[0] > m->nets[best].key[0]) &&
		    ref_covers(r->key, a, n))
			best = (long)i;
	}
	return best;
}

/* ref_lpm - ref_lpm_raw of a client address: v4-mapped is IPv4 */
static long
ref_lpm(const struct t_model *m, const uint8_t *addr, size_t alen, uint64_t now)
{
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (alen == 16 && memcmp(addr, mapped, 12) == 0)
		return ref_lpm_raw(m, addr + 12, 4, now);
	return ref_lpm_raw(m, addr, alen, now);
}

/* ref_find - index of key in the model, or -1 */
static long
ref_find(const struct t_model *m, const uint8_t *key, size_t klen)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->nets[i].klen == klen &&
		    memcmp(m->nets[i].key, key, klen) == 0)
			return (long)i;
	return -1;
}

/* ref_drop - remove model entry i (order does not matter) */
static void
ref_drop(struct t_model *m, size_t i)
{
	m->nets[i] = m->nets[--m->n];
}

/* gen_addr - an address near the test nets, or anywhere; its length */
static size_t
gen_addr(uint64_t *x, uint8_t *a)
{
	uint64_t r = splitmix(x), r2 = splitmix(x), r3 = splitmix(x);

	memset(a, 0, 16);
	switch (r % 10) {
	case 0:
	case 1:
	case 2:
		/* 10.20.0.0/22, where most IPv4 test nets nest */
		a[0] = 10;
		a[1] = 20;
		a[2] = (uint8_t)(r2 >> 8 & 3);
		a[3] = (uint8_t)r2;
		return 4;
	case 3:
		memcpy(a, &r2, 4);
		return 4;
	case 4:
		/* v4-mapped: matches IPv4 nets only */
		a[10] = a[11] = 0xff;
		a[12] = 10;
		a[13] = 20;
		a[14] = (uint8_t)(r2 >> 8 & 3);
		a[15] = (uint8_t)r2;
		return 16;
	case 5:
	case 6:
	case 7:
		/* 2001:db8::, random bits in one of two 10-bit windows */
		a[0] = 0x20;
		a[1] = 0x01;
		a[2] = 0x0d;
		a[3] = 0xb8;
		if (r2 % 2 == 0) {
			a[14] = (uint8_t)(r2 >> 8 & 3);
			a[15] = (uint8_t)(r2 >> 16);
		} else {
			a[6] = (uint8_t)(r2 >> 8 & 3);
			a[7] = (uint8_t)(r2 >> 16);
			memcpy(a + 8, &r3, 8);
		}
		return 16;
	case 8:
		memcpy(a, &r2, 8);
		memcpy(a + 8, &r3, 8);
		a[0] = (a[0] & 0x3f) | 0x20; /* never v4-mapped */
		return 16;
	default:
		/* the ends of each family */
		memset(a, r2 % 2 ? 0xff : 0, 16);
		return r2 % 4 < 2 ? 4 : 16;
	}
}

/* gen_net - a random net key: prefix lengths from /0 to the host, most
 * near the same addresses so they nest and overlap; its length */
static size_t
gen_net(uint64_t *x, uint8_t *key)
{
	static const uint8_t p4[] = {0, 1, 7, 8, 9, 15, 16, 17, 20, 21, 22, 23,
	    24, 25, 26, 28, 29, 30, 31, 32};
	static const uint8_t p6[] = {0, 1, 16, 31, 32, 33, 48, 63, 64, 65, 96,
	    104, 112, 116, 118, 120, 124, 126, 127, 128};
	uint64_t r = splitmix(x);
	uint8_t a[16];
	size_t n, i;
	unsigned plen, bit;

	do
		n = gen_addr(x, a);
	while (n == 16 && a[10] == 0xff && a[0] == 0);
	if (n == 4)
		plen = r % 4 == 0 ? (unsigned)(r >> 8) % 33
		                  : p4[(r >> 8) % sizeof(p4)];
	else
		plen = r % 4 == 0 ? (unsigned)(r >> 8) % 129
		                  : p6[(r >> 8) % sizeof(p6)];
	key[0] = (uint8_t)plen;
	for (i = 0; i < n; i++) {
		bit = (unsigned)i * 8;
		key[1 + i] = bit >= plen ? 0
		             : bit + 8 <= plen
		                 ? a[i]
		                 : a[i] & (uint8_t)(0xff << (8 - (plen - bit)));
	}
	return 1 + n;
}

/* check_one - LPM of addr at now through t equals the brute force */
static void
check_one(struct proto_txn *t, const struct t_model *m, const uint8_t *a,
    size_t alen, uint64_t now)
{
	struct proto_record out;
	long want = ref_lpm(m, a, alen, now);
	int rc = proto_store_lookup_net(t, a, alen, now, &out);

	if (rc != (want < 0 ? MX_ENOTFOUND : 0) ||
	    (rc == 0 &&
	        (out.key_len != m->nets[want].klen ||
	            memcmp(out.key, m->nets[want].key, out.key_len) != 0)))
		print_error("addr %02x%02x%02x%02x..%02x len %zu now %llu: rc "
		            "%d plen %d, want plen %d\n",
		    a[0], a[1], a[2], a[3], a[alen - 1], alen,
		    (unsigned long long)now, rc, rc == 0 ? out.key[0] : -1,
		    want < 0 ? -1 : m->nets[want].key[0]);
	if (want < 0) {
		assert_int_equal(rc, MX_ENOTFOUND);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(out.key_len, m->nets[want].klen);
	assert_memory_equal(out.key, m->nets[want].key, out.key_len);
	assert_int_equal(out.score, m->nets[want].score);
}

/* check_edges - LPM at the first and last address of net i and just
 * outside them, plus the v4-mapped forms of an IPv4 net's */
static void
check_edges(
    struct proto_txn *t, const struct t_model *m, size_t i, uint64_t now)
{
	const struct t_ref *r = &m->nets[i];
	uint8_t lo[16], hi[16], a[16], mapped[16];
	size_t n = r->klen - 1, j;
	unsigned plen = r->key[0], bit;
	int e;

	for (j = 0; j < n; j++) {
		bit = (unsigned)j * 8;
		lo[j] = r->key[1 + j];
		hi[j] = lo[j] | (bit >= plen          ? 0xff
		                    : bit + 8 <= plen ? 0
		                                      : 0xff >> (plen - bit));
	}
	for (e = 0; e < 4; e++) {
		memcpy(a, e < 2 ? lo : hi, n);
		/* lo - 1 and hi + 1, unless they leave the family */
		if (e == 1 &&
		    memcmp(lo, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", n) == 0)
			continue;
		if (e == 3 && memcmp(hi,
		                  "\xff\xff\xff\xff\xff\xff\xff\xff"
		                  "\xff\xff\xff\xff\xff\xff\xff\xff",
		                  n) == 0)
			continue;
		for (j = n; e == 1 && j-- > 0;)
			if (a[j]-- != 0)
				break;
		for (j = n; e == 3 && j-- > 0;)
			if (++a[j] != 0)
				break;
		check_one(t, m, a, n, now);
		if (n == 4) {
			memset(mapped, 0, 10);
			mapped[10] = mapped[11] = 0xff;
			memcpy(mapped + 12, a, 4);
			check_one(t, m, mapped, 16, now);
		}
	}
}

/* check_model - random addresses, then the edges of nets (all of them,
 * or a sample), at now and later, in one read transaction */
static void
check_model(struct proto_store *s, const struct t_model *m, uint64_t now,
    uint64_t *x, int is_all)
{
	struct proto_txn *t;
	uint8_t a[16];
	size_t alen, i;
	int k;

	assert_int_equal(proto_store_read_begin(s, &t), 0);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < 300; i++) {
			alen = gen_addr(x, a);
			check_one(t, m, a, alen, now);
		}
		for (i = 0; i < m->n; i++)
			if (is_all || splitmix(x) % 8 == 0)
				check_edges(t, m, i, now);
		now += 20;
	}
	proto_store_read_free(t);
}

/* check_runs - every netidx run names the longest net present (expiry
 * ignored) at its first and last address; none repeats its predecessor
 * and no family starts with a "none" run */
static void
check_runs(const struct t_run *runs, size_t n, const struct t_model *m)
{
	uint8_t last[16];
	size_t i, j, alen;
	long want;

	for (i = 0; i < n; i++) {
		alen = runs[i].klen - 1;
		assert_true(runs[i].klen == 5 || runs[i].klen == 17);
		assert_int_equal(runs[i].key[0], alen == 4 ? 4 : 6);
		assert_int_equal(runs[i].vlen, runs[i].klen);
		if (i == 0 || runs[i - 1].key[0] != runs[i].key[0])
			assert_int_not_equal(runs[i].val[0], 0xff);
		else
			assert_memory_not_equal(
			    runs[i].val, runs[i - 1].val, runs[i].vlen);
		/* last address: next start - 1, or the family's end */
		if (i + 1 < n && runs[i + 1].key[0] == runs[i].key[0]) {
			memcpy(last, runs[i + 1].key + 1, alen);
			for (j = alen; j-- > 0;)
				if (last[j]-- != 0)
					break;
		} else {
			memset(last, 0xff, alen);
		}
		want = ref_lpm_raw(m, runs[i].key + 1, alen, 0);
		if (want < 0)
			assert_int_equal(runs[i].val[0], 0xff);
		else
			assert_memory_equal(
			    runs[i].val, m->nets[want].key, runs[i].vlen);
		assert_int_equal(ref_lpm_raw(m, last, alen, 0), want);
	}
}

/* diff_op - one random change in t, mirrored in the model */
static void
diff_op(struct proto_txn *t, struct t_model *m, uint64_t now, uint64_t *x,
    int32_t *score)
{
	struct proto_record r;
	char text[80], a4[INET_ADDRSTRLEN];
	uint64_t op = splitmix(x) % 100, e = splitmix(x);
	long i;

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_KIND_NET;
	r.op = PROTO_OP_PUT;
	r.action = PROTO_ACT_REJECT;
	r.score = ++*score;
	/* most never expire; some have, or will soon */
	r.expires = e % 10 < 7 ? 0 : now - 2 + e % 40;
	proto_record_set_text(&r, "diff", "random");
	if (op < 55 || m->n == 0) {
		r.key_len = (uint16_t)gen_net(x, r.key);
		if (r.key_len == 5 && op % 10 == 0) {
			/* the same net written as a v4-mapped IPv6 prefix */
			assert_non_null(
			    inet_ntop(AF_INET, r.key + 1, a4, sizeof(a4)));
			assert_true(
			    snprintf(text, sizeof(text), "::ffff:%s/%u", a4,
			        96u + r.key[0]) < (int)sizeof(text));
			rec(&r, PROTO_KIND_NET, text, r.score, r.expires);
			assert_int_equal(r.key_len, 5);
		}
	} else {
		i = (long)(splitmix(x) % m->n);
		memcpy(r.key, m->nets[i].key, m->nets[i].klen);
		r.key_len = (uint16_t)m->nets[i].klen;
		if (op >= 75)
			r.op = PROTO_OP_DEL;
	}
	if (op >= 92) {
		/* deleting a net that is not there */
		r.key_len = (uint16_t)gen_net(x, r.key);
		r.op = PROTO_OP_DEL;
	}
	assert_int_equal(proto_store_apply(t, &r), 0);
	i = ref_find(m, r.key, r.key_len);
	if (r.op == PROTO_OP_DEL) {
		if (i >= 0)
			ref_drop(m, (size_t)i);
		return;
	}
	if (i < 0) {
		assert_true(m->n < T_REF_MAX);
		i = (long)m->n++;
	}
	memcpy(m->nets[i].key, r.key, r.key_len);
	m->nets[i].klen = r.key_len;
	m->nets[i].score = r.score;
	m->nets[i].expires = r.expires;
}

/* diff_sweep - sweep at now; a full sweep also leaves the model */
static void
diff_sweep(struct proto_store *s, struct t_model *m, uint64_t now, int is_full)
{
	size_t i;

	(void)sweep(s, now, is_full ? SIZE_MAX : 2);
	if (!is_full)
		return;
	for (i = m->n; i-- > 0;)
		if (m->nets[i].expires != 0 && m->nets[i].expires <= now)
			ref_drop(m, i);
}

/*
 * test_lpm_differential - thousands of random puts, overwrites, deletes,
 * expiries and sweeps of nested and overlapping v4 and v6 nets (/0 to
 * /32 and /128, v4-mapped), some aborted; LPM must equal a brute force
 * over the model at random addresses and at the edges of every net,
 * inside the write txn, after commits, after reopening, with the index
 * dropped (probing) and after the writer rebuilt it (the same runs)
 */
static void
test_lpm_differential(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP, .no_sync = 1};
	struct proto_store_opts ro = {.read_only = 1};
	/* static: a failed assertion must not leak them */
	static struct t_model m[1], saved[1];
	static struct t_run runs[4 * T_REF_MAX], again[4 * T_REF_MAX];
	struct proto_txn *t;
	uint64_t x = 42, now = 1000, r;
	uint8_t a[16];
	size_t n, i, alen;
	int32_t score = 0;
	int txn, k, ops;

	m->n = 0;
	for (txn = 0; txn < T_DIFF_TXNS; txn++) {
		r = splitmix(&x);
		now += r % 4;
		*saved = *m;
		assert_int_equal(proto_store_write_begin(f->s, &t), 0);
		ops = 1 + (int)(r >> 8) % 6;
		for (k = 0; k < ops; k++)
			diff_op(t, m, now, &x, &score);
		if ((r >> 16) % 16 == 0) {
			/* the txn's own lookups see its changes */
			for (i = 0; i < 40; i++) {
				alen = gen_addr(&x, a);
				check_one(t, m, a, alen, now);
			}
			for (i = 0; i < m->n; i += 7)
				check_edges(t, m, i, now);
		}
		if ((r >> 24) % 20 == 0) {
			proto_store_abort(t);
			*m = *saved;
		} else {
			assert_int_equal(proto_store_commit(t), 0);
		}
		if (txn % 10 == 9)
			diff_sweep(f->s, m, now, (r >> 32) % 2 == 0);
		if (txn % 50 == 49)
			check_model(f->s, m, now, &x, 0);
	}
	check_model(f->s, m, now, &x, 1);
	assert_int_equal(reopen(f, &o), 0);
	check_model(f->s, m, now, &x, 1);

	/* the runs are exactly those of the nets left, whatever the path */
	diff_sweep(f->s, m, now, 1);
	proto_store_close(f->s);
	f->s = NULL;
	n = raw_netidx(f->dir, runs, 4 * T_REF_MAX);
	assert_true(n > 100);
	check_runs(runs, n, m);
	raw_drop(f->dir, "netidx");
	assert_int_equal(reopen(f, &ro), 0);
	check_model(f->s, m, now, &x, 1);
	assert_int_equal(reopen(f, &o), 0);
	check_model(f->s, m, now, &x, 1);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netidx(f->dir, again, 4 * T_REF_MAX), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(again[i].klen, runs[i].klen);
		assert_memory_equal(again[i].key, runs[i].key, runs[i].klen);
		assert_memory_equal(again[i].val, runs[i].val, runs[i].vlen);
	}
}

/* put_from - PUT kind/text marked with origin, asserting success */
static void
put_from(struct proto_store *s, int kind, const char *text, int32_t score,
    uint64_t expires, uint8_t origin)
{
	struct proto_record r;
	struct proto_txn *t;

	rec(&r, kind, text, score, expires);
	assert_int_equal(proto_store_write_begin(s, &t), 0);
	assert_int_equal(proto_store_apply_from(t, &r, origin), 0);
	assert_int_equal(proto_store_commit(t), 0);
}

/* slot_of - the origin slot of hub_id in a new write txn (committed) */
static int
slot_of(struct proto_store *s, const char *hub_id, uint8_t *slot)
{
	struct proto_txn *t;
	int rc;

	assert_int_equal(proto_store_write_begin(s, &t), 0);
	rc = proto_store_origin_slot(t, hub_id, slot);
	assert_int_equal(proto_store_commit(t), 0);
	return rc;
}

/* raw_val - copy the raw value of key in db into v; its size */
static size_t
raw_val(const char *dir, const char *db, const void *key, size_t klen,
    uint8_t *v, size_t max)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_val mk = {klen, (void *)key}, mv;

	raw_open(dir, &env, &txn, 0);
	assert_int_equal(mdb_get(txn, raw_dbi(txn, db), &mk, &mv), 0);
	assert_true(mv.mv_size <= max);
	memcpy(v, mv.mv_data, mv.mv_size);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return mv.mv_size;
}

/* raw_layout - the layout number in meta */
static uint32_t
raw_layout(const char *dir)
{
	uint8_t v[4];

	assert_int_equal(raw_val(dir, "meta", "layout", 6, v, sizeof(v)), 4);
	return (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 |
	       (uint32_t)v[3] << 24;
}

/* test_origin_slots - first use assigns the lowest free slot, kept in
 * meta with the txn; 255 at most; damage is an error, not a reuse */
static void
test_origin_slots(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP};
	struct proto_txn *t;
	uint8_t slot = 0, bad[2] = {1, 2};
	char id[16];
	int i;

	assert_int_equal(slot_of(f->s, "hub-a", &slot), 0);
	assert_int_equal(slot, 1);
	assert_int_equal(slot_of(f->s, "hub-b", &slot), 0);
	assert_int_equal(slot, 2);
	assert_int_equal(slot_of(f->s, "hub-a", &slot), 0);
	assert_int_equal(slot, 1);
	assert_int_equal(slot_of(f->s, "bad id", &slot), MX_EINVAL);
	assert_int_equal(slot_of(f->s, "", &slot), MX_EINVAL);
	/* an aborted assignment leaves nothing behind */
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	assert_int_equal(proto_store_origin_slot(t, "hub-c", &slot), 0);
	assert_int_equal(slot, 3);
	proto_store_abort(t);
	/* a read txn finds, never assigns */
	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	assert_int_equal(proto_store_origin_slot(t, "hub-b", &slot), 0);
	assert_int_equal(slot, 2);
	assert_int_equal(
	    proto_store_origin_slot(t, "hub-c", &slot), MX_ENOTFOUND);
	proto_store_read_free(t);
	/* 255 slots, then MX_ELIMIT; the txn stays usable */
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	for (i = 3; i <= 255; i++) {
		snprintf(id, sizeof(id), "hub-%03d", i);
		assert_int_equal(proto_store_origin_slot(t, id, &slot), 0);
		assert_int_equal(slot, i);
	}
	assert_int_equal(proto_store_origin_slot(t, "hub-z", &slot), MX_ELIMIT);
	assert_int_equal(proto_store_commit(t), 0);
	assert_int_equal(slot_of(f->s, "hub-007", &slot), 0);
	assert_int_equal(slot, 7);
	/* a damaged entry: its own lookup and new assignments fail */
	proto_store_close(f->s);
	f->s = NULL;
	raw_put(f->dir, "meta", "origin:hub-x", 12, bad, sizeof(bad));
	assert_int_equal(reopen(f, &o), 0);
	assert_int_equal(slot_of(f->s, "hub-x", &slot), MX_EIO);
	assert_int_equal(slot_of(f->s, "hub-new", &slot), MX_EIO);
	assert_int_equal(slot_of(f->s, "hub-a", &slot), 0);
	assert_int_equal(slot, 1);
}

/* test_origin_clear_keeps_indexes - clearing one hub's records leaves
 * the others' and keeps expiry index, net counts and netidx exact */
static void
test_origin_clear_keeps_indexes(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP};
	struct proto_record r;
	struct proto_txn *t;
	struct t_run runs[32], again[32];
	uint8_t v[512];
	char match[64];
	size_t removed = 99, n, i;

	/* the store's own */
	put(f->s, PROTO_KIND_IP, "192.0.2.1", 1, 0);
	put(f->s, PROTO_KIND_IP, "192.0.2.9", 9, 5000);
	put(f->s, PROTO_KIND_NET, "10.0.0.0/8", 8, 0);
	put(f->s, PROTO_KIND_DOMAIN, "example.com", 3, 0);
	/* hub slot 1 */
	put_from(f->s, PROTO_KIND_IP, "192.0.2.2", 2, 1000, 1);
	put_from(f->s, PROTO_KIND_NET, "10.1.0.0/16", 16, 0, 1);
	put_from(f->s, PROTO_KIND_NET, "10.1.2.0/24", 24, 2000, 1);
	put_from(f->s, PROTO_KIND_NET, "2001:db8::/32", 32, 0, 1);
	put_from(f->s, PROTO_KIND_DOMAIN, "bad.example.com", 4, 0, 1);
	/* the hub's put takes over a local key */
	put_from(f->s, PROTO_KIND_IP, "192.0.2.1", 11, 0, 1);
	/* hub slot 2, one net inside slot 1's /24 */
	put_from(f->s, PROTO_KIND_IP, "192.0.2.3", 3, 0, 2);
	put_from(f->s, PROTO_KIND_NET, "10.1.2.128/25", 25, 0, 2);
	put_from(f->s, PROTO_KIND_DOMAIN, "evil.test", 5, 3000, 2);
	/* a delete removes the key whatever its origin */
	rec(&r, PROTO_KIND_IP, "192.0.2.2", 0, 0);
	r.op = PROTO_OP_DEL;
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	assert_int_equal(proto_store_apply_from(t, &r, 2), 0);
	assert_int_equal(proto_store_commit(t), 0);
	assert_int_equal(get_ip(f->s, "192.0.2.2", 0, NULL), MX_ENOTFOUND);
	/* the origin is value byte 3, the layout byte 0 */
	proto_store_close(f->s);
	f->s = NULL;
	rec(&r, PROTO_KIND_IP, "192.0.2.3", 0, 0);
	assert_true(
	    raw_val(f->dir, "ip", r.key, r.key_len, v, sizeof(v)) >= 28);
	assert_int_equal(v[0], 3);
	assert_int_equal(v[3], 2);
	rec(&r, PROTO_KIND_IP, "192.0.2.9", 0, 0);
	raw_val(f->dir, "ip", r.key, r.key_len, v, sizeof(v));
	assert_int_equal(v[3], 0);
	assert_int_equal(raw_entries(f->dir, "expiry"), 3);
	assert_int_equal(reopen(f, &o), 0);

	/* refused on a read handle and without an out-parameter */
	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	assert_int_equal(proto_store_clear_origin(t, 1, &removed), MX_ESTATE);
	proto_store_read_free(t);
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	assert_int_equal(proto_store_clear_origin(t, 1, NULL), MX_EINVAL);
	assert_int_equal(proto_store_clear_origin(t, 9, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(proto_store_clear_origin(t, 1, &removed), 0);
	assert_int_equal(proto_store_commit(t), 0);
	assert_int_equal(removed, 5);

	/* slot 1 gone, the store's own and slot 2 intact */
	assert_int_equal(get_ip(f->s, "192.0.2.1", 0, NULL), MX_ENOTFOUND);
	assert_int_equal(get_ip(f->s, "192.0.2.9", 0, NULL), 0);
	assert_int_equal(get_ip(f->s, "192.0.2.3", 0, NULL), 0);
	assert_int_equal(dom(f->s, "a.bad.example.com", 0, match, 64), 0);
	assert_string_equal(match, "com.example");
	assert_int_equal(dom(f->s, "evil.test", 0, match, 64), 0);
	assert_int_equal(lpm(f->s, "10.1.2.200", 0, NULL), 25);
	assert_int_equal(lpm(f->s, "10.1.2.1", 0, NULL), 8);
	assert_int_equal(lpm(f->s, "10.1.3.1", 0, NULL), 8);
	assert_int_equal(lpm(f->s, "2001:db8::1", 0, NULL), MX_ENOTFOUND);
	assert_int_equal(count(f->s, PROTO_KIND_NET), 2);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netlens(f->dir, 8), 1);
	assert_int_equal(raw_netlens(f->dir, 16), 0);
	assert_int_equal(raw_netlens(f->dir, 24), 0);
	assert_int_equal(raw_netlens(f->dir, 25), 1);
	assert_int_equal(raw_netlens(f->dir, T_NL_V6 + 32), 0);
	/* expiry entries left: 192.0.2.9 and evil.test */
	assert_int_equal(raw_entries(f->dir, "expiry"), 2);
	/* the runs equal those rebuilt from scratch */
	n = raw_netidx(f->dir, runs, 32);
	assert_int_equal(n, 4);
	raw_drop(f->dir, "netidx");
	assert_int_equal(reopen(f, &o), 0);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_netidx(f->dir, again, 32), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(again[i].klen, runs[i].klen);
		assert_memory_equal(again[i].key, runs[i].key, runs[i].klen);
		assert_memory_equal(again[i].val, runs[i].val, runs[i].vlen);
	}
	assert_int_equal(reopen(f, &o), 0);
	/* the sweep finds nothing stale of slot 1 */
	assert_int_equal(sweep(f->s, 4000, 100), 1);
	assert_int_equal(dom(f->s, "evil.test", 0, NULL, 0), MX_ENOTFOUND);
}

/* test_layout2_store_read_then_upgraded - a layout 2 store opens: its
 * values are origin 0; a reader leaves it at 2, a writer marks it 3 */
static void
test_layout2_store_read_then_upgraded(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP};
	struct proto_store_opts ro = {.read_only = 1};
	struct proto_record r;
	struct proto_txn *t;
	uint8_t two[4] = {2, 0, 0, 0}, v[64];
	int32_t score = 0;
	size_t removed = 0;

	put_from(f->s, PROTO_KIND_IP, "192.0.2.7", 7, 0, 7);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_layout(f->dir), 3);
	raw_put(f->dir, "meta", "layout", 6, two, sizeof(two));
	/* values as a layout 2 program wrote them */
	memset(v, 0, sizeof(v));
	v[0] = 2;
	v[4] = 42;
	rec(&r, PROTO_KIND_IP, "192.0.2.8", 0, 0);
	raw_put(f->dir, "ip", r.key, r.key_len, v, 28);
	v[3] = 5; /* reserved byte set: damage in layout 2 */
	rec(&r, PROTO_KIND_IP, "192.0.2.9", 0, 0);
	raw_put(f->dir, "ip", r.key, r.key_len, v, 28);

	assert_int_equal(reopen(f, &ro), 0);
	assert_int_equal(get_ip(f->s, "192.0.2.8", 0, &score), 0);
	assert_int_equal(score, 42);
	assert_int_equal(get_ip(f->s, "192.0.2.7", 0, &score), 0);
	assert_int_equal(score, 7);
	assert_int_equal(get_ip(f->s, "192.0.2.9", 0, NULL), MX_EIO);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_layout(f->dir), 2);

	assert_int_equal(reopen(f, &o), 0);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_layout(f->dir), 3);
	assert_int_equal(reopen(f, &o), 0);
	assert_int_equal(get_ip(f->s, "192.0.2.8", 0, &score), 0);
	assert_int_equal(score, 42);
	/* the old value is origin 0; the damaged one is left alone */
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	assert_int_equal(proto_store_clear_origin(t, 0, &removed), 0);
	assert_int_equal(proto_store_commit(t), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(get_ip(f->s, "192.0.2.8", 0, NULL), MX_ENOTFOUND);
	assert_int_equal(get_ip(f->s, "192.0.2.7", 0, NULL), 0);
	assert_int_equal(get_ip(f->s, "192.0.2.9", 0, NULL), MX_EIO);
}

struct t_each {
	int n;            /* records seen */
	int stop_at;      /* return 7 at this record (1-based), 0: never */
	char keys[8][40]; /* keys seen, as text */
	int32_t score[8]; /* their scores */
};

/* each_fn - note one record */
static int
each_fn(void *arg, const struct proto_record *r)
{
	struct t_each *e = arg;

	assert_true(e->n < 8);
	assert_int_equal(proto_key_format(r->kind, r->key, r->key_len,
	                     e->keys[e->n], sizeof(e->keys[0])),
	    0);
	e->score[e->n] = r->score;
	e->n++;
	return e->n == e->stop_at ? 7 : 0;
}

/* test_each_in_key_order - live records of a kind in key order; fn
 * stops the walk; damage is an error */
static void
test_each_in_key_order(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP};
	struct proto_record r;
	struct proto_txn *t;
	struct t_each e;
	uint8_t v[32];

	put(f->s, PROTO_KIND_IP, "192.0.2.3", 3, 0);
	put(f->s, PROTO_KIND_IP, "192.0.2.1", 1, 0);
	put_from(f->s, PROTO_KIND_IP, "192.0.2.2", 2, 100, 4);
	put(f->s, PROTO_KIND_IP, "10.0.0.1", 10, 0);
	put(f->s, PROTO_KIND_IP, "2001:db8::1", 6, 0);

	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(proto_store_each(t, PROTO_KIND_IP, 0, each_fn, &e), 0);
	assert_int_equal(e.n, 5);
	/* byte order of the keys: 0a.., 20 01.., c0 00 02 .. */
	assert_string_equal(e.keys[0], "10.0.0.1");
	assert_string_equal(e.keys[1], "2001:db8::1");
	assert_string_equal(e.keys[2], "192.0.2.1");
	assert_string_equal(e.keys[3], "192.0.2.2");
	assert_string_equal(e.keys[4], "192.0.2.3");
	assert_int_equal(e.score[3], 2);
	/* expired at 100: skipped */
	memset(&e, 0, sizeof(e));
	assert_int_equal(
	    proto_store_each(t, PROTO_KIND_IP, 100, each_fn, &e), 0);
	assert_int_equal(e.n, 4);
	assert_string_equal(e.keys[3], "192.0.2.3");
	/* fn's non-zero return stops the walk and comes back */
	memset(&e, 0, sizeof(e));
	e.stop_at = 2;
	assert_int_equal(proto_store_each(t, PROTO_KIND_IP, 0, each_fn, &e), 7);
	assert_int_equal(e.n, 2);
	memset(&e, 0, sizeof(e));
	assert_int_equal(
	    proto_store_each(t, PROTO_KIND_DOMAIN, 0, each_fn, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(proto_store_each(t, 0, 0, each_fn, &e), MX_EINVAL);
	assert_int_equal(
	    proto_store_each(t, PROTO_KIND_IP, 0, NULL, &e), MX_EINVAL);
	proto_store_read_end(t);
	assert_int_equal(
	    proto_store_each(t, PROTO_KIND_IP, 0, each_fn, &e), MX_ESTATE);
	proto_store_read_free(t);
	/* a write txn sees its own changes */
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	rec(&r, PROTO_KIND_IP, "192.0.2.4", 4, 0);
	assert_int_equal(proto_store_apply(t, &r), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(proto_store_each(t, PROTO_KIND_IP, 0, each_fn, &e), 0);
	assert_int_equal(e.n, 6);
	assert_string_equal(e.keys[5], "192.0.2.4");
	proto_store_abort(t);
	/* a damaged value stops the walk with its error */
	proto_store_close(f->s);
	f->s = NULL;
	memset(v, 0, sizeof(v));
	v[0] = 3;
	rec(&r, PROTO_KIND_IP, "192.0.2.5", 0, 0);
	raw_put(f->dir, "ip", r.key, r.key_len, v, 20);
	assert_int_equal(reopen(f, &o), 0);
	assert_int_equal(proto_store_read_begin(f->s, &t), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(
	    proto_store_each(t, PROTO_KIND_IP, 0, each_fn, &e), MX_EIO);
	assert_int_equal(e.n, 5);
	proto_store_read_free(t);
}

/* note_of - the note of an IP record as a string, or "" with the error */
static int
note_of(struct proto_store *s, const char *ip, char *out, size_t cap)
{
	struct proto_record r;
	struct proto_txn *t;
	size_t len = 0;
	int rc;

	rec(&r, PROTO_KIND_IP, ip, 0, 0);
	assert_int_equal(proto_store_read_begin(s, &t), 0);
	rc = proto_store_note_get(
	    t, PROTO_KIND_IP, r.key, r.key_len, out, cap - 1, &len);
	proto_store_read_free(t);
	out[rc == 0 ? len : 0] = '\0';
	return rc;
}

/* note_put - set the note of an IP record in its own transaction */
static int
note_put(struct proto_store *s, const char *ip, const char *note)
{
	struct proto_record r;
	struct proto_txn *t;
	int rc;

	rec(&r, PROTO_KIND_IP, ip, 0, 0);
	assert_int_equal(proto_store_write_begin(s, &t), 0);
	rc = proto_store_note_put(
	    t, PROTO_KIND_IP, r.key, r.key_len, note, strlen(note));
	if (rc != 0) {
		proto_store_abort(t);
		return rc;
	}
	return proto_store_commit(t);
}

/* test_notes_live_as_long_as_their_record - a note goes with its record
 * on every path a record goes: del, sweep, clear_origin */
static void
test_notes_live_as_long_as_their_record(void **state)
{
	struct fix *f = *state;
	struct proto_store_opts o = {.map_bytes = T_MAP, .notes = 1};
	struct proto_store_opts plain = {.map_bytes = T_MAP};
	struct proto_store_opts ro = {.read_only = 1, .notes = 1};
	char big[PROTO_STORE_NOTE_MAX + 2], out[PROTO_STORE_NOTE_MAX + 1];
	struct proto_txn *t;
	uint8_t slot = 0;
	size_t removed = 0;

	/* a store opened without notes refuses them */
	assert_int_equal(note_put(f->s, "192.0.2.1", "x"), MX_ESTATE);
	assert_int_equal(reopen(f, &o), 0);
	put(f->s, PROTO_KIND_IP, "192.0.2.1", 1, 0);
	put(f->s, PROTO_KIND_IP, "192.0.2.2", 1, 500);
	assert_int_equal(note_put(f->s, "192.0.2.1", "by alice"), 0);
	assert_int_equal(note_put(f->s, "192.0.2.2", "by rule"), 0);
	assert_int_equal(note_of(f->s, "192.0.2.1", out, sizeof(out)), 0);
	assert_string_equal(out, "by alice");
	/* overwritten by a later put of the note; a record put keeps it */
	assert_int_equal(note_put(f->s, "192.0.2.1", "by bob"), 0);
	put(f->s, PROTO_KIND_IP, "192.0.2.1", 2, 0);
	assert_int_equal(note_of(f->s, "192.0.2.1", out, sizeof(out)), 0);
	assert_string_equal(out, "by bob");
	/* a buffer too small, an empty or over-long note */
	assert_int_equal(note_of(f->s, "192.0.2.1", out, 4), MX_ETOOBIG);
	assert_int_equal(note_put(f->s, "192.0.2.1", ""), MX_EINVAL);
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(note_put(f->s, "192.0.2.1", big), MX_EINVAL);
	big[PROTO_STORE_NOTE_MAX] = '\0';
	assert_int_equal(note_put(f->s, "192.0.2.1", big), 0);
	assert_int_equal(note_of(f->s, "192.0.2.1", out, sizeof(out)), 0);
	assert_int_equal(strlen(out), PROTO_STORE_NOTE_MAX);
	/* delete: the note goes */
	del(f->s, PROTO_KIND_IP, "192.0.2.1");
	assert_int_equal(
	    note_of(f->s, "192.0.2.1", out, sizeof(out)), MX_ENOTFOUND);
	/* sweep of the expired record: the note goes */
	assert_int_equal(sweep(f->s, 1000, 10), 1);
	assert_int_equal(
	    note_of(f->s, "192.0.2.2", out, sizeof(out)), MX_ENOTFOUND);
	/* clear_origin: the notes of that hub's records go */
	assert_int_equal(slot_of(f->s, "hub-a", &slot), 0);
	put_from(f->s, PROTO_KIND_IP, "192.0.2.3", 1, 0, slot);
	assert_int_equal(note_put(f->s, "192.0.2.3", "from hub-a"), 0);
	assert_int_equal(proto_store_write_begin(f->s, &t), 0);
	assert_int_equal(proto_store_clear_origin(t, slot, &removed), 0);
	assert_int_equal(proto_store_commit(t), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(
	    note_of(f->s, "192.0.2.3", out, sizeof(out)), MX_ENOTFOUND);
	proto_store_close(f->s);
	f->s = NULL;
	assert_int_equal(raw_entries(f->dir, "notes"), 0);
	assert_int_equal(reopen(f, &o), 0);
	/* a reader sees the notes a writer left; a plain open ignores them */
	put(f->s, PROTO_KIND_IP, "192.0.2.4", 1, 0);
	assert_int_equal(note_put(f->s, "192.0.2.4", "kept"), 0);
	assert_int_equal(reopen(f, &ro), 0);
	assert_int_equal(note_of(f->s, "192.0.2.4", out, sizeof(out)), 0);
	assert_string_equal(out, "kept");
	assert_int_equal(reopen(f, &plain), 0);
	assert_int_equal(
	    note_of(f->s, "192.0.2.4", out, sizeof(out)), MX_ESTATE);
}

/* main - run every store test, each in a fresh store */
int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_put_get_delete),
	    T(test_local_rcpt_kind),
	    T(test_overwrite),
	    T(test_expiry_read_and_sweep),
	    T(test_expiry_index_follows_overwrite),
	    T(test_lpm_nested_v4),
	    T(test_lpm_zero_and_host),
	    T(test_lpm_v6),
	    T(test_lpm_v4_mapped),
	    T(test_lpm_expired_longer_falls_back),
	    T(test_netlens_counts),
	    T(test_netlens_in_one_txn),
	    T(test_read_snapshot_and_renew),
	    T(test_domain_suffixes),
	    T(test_domain_expired_falls_back),
	    T(test_pos_per_hub),
	    T(test_layout_newer_refused),
	    T(test_damaged_values_refused),
	    T(test_map_full_then_usable),
	    T(test_read_only_open),
	    T(test_map_resized_by_other_process),
	    T(test_map_resized_under_readers),
	    T(test_load_million),
	    T(test_netidx_runs),
	    T(test_netidx_damaged),
	    T(test_map_full_nets),
	    T(test_lpm_differential),
	    T(test_origin_slots),
	    T(test_origin_clear_keeps_indexes),
	    T(test_layout2_store_read_then_upgraded),
	    T(test_each_in_key_order),
	    T(test_notes_live_as_long_as_their_record),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
