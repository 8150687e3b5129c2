/*
 * proto_store_nx.c - "netidx": the net interval index of the LMDB store
 *
 * Longest-prefix match by probing each present prefix length costs one
 * B-tree descent per length. netidx instead cuts each family's address
 * space into maximal runs with the same longest covering net, keyed by
 * [family][first address] with the net key [plen][address] (or "none")
 * as value, so one cursor seek (the greatest key <= the address) names
 * the net. The writer keeps it in the transaction that adds or deletes a
 * net: an add splits the runs at the net's ends and gives it the runs
 * inside whose net is shorter; a delete gives its runs to its parent.
 * Runs equal to their predecessor are merged, so the index of a set of
 * nets is the same whatever order of changes made it (the tests check
 * that against a rebuild). Expiry is ignored here: proto_store.c falls
 * back to probing when the named net has expired. docs/store.md has the
 * layout and the costs.
 * Trust: index entries read back are checked (key and value sizes, the
 * net covering the address); a malformed one makes a reader probe and a
 * writer rebuild the index at commit, never a crash. A well-formed but
 * wrong entry is not detected (docs/store.md section 7).
 * Limits: writer work per add or delete is one step per index entry
 * inside the net, so a short prefix over many longer ones is slow to
 * change (map_bytes bounds the entries: MX_EFULL).
 */
#include <string.h>

#include <lmdb.h>

#include "lib/mx_err.h"

#include "proto/proto_store_int.h"

/*
 * proto_store_nx_span - first (lo) and last (hi) address of the net key
 * [plen][address]; returns the address length, or 0 for a key that is
 * not a canonical net key (such a key is never indexed)
 */
static size_t
proto_store_nx_span(const uint8_t *key, size_t keylen, uint8_t *lo, uint8_t *hi)
{
	size_t n = keylen - 1, i;
	unsigned plen, bit;
	uint8_t host;

	if (keylen != 5 && keylen != 17)
		return 0;
	plen = key[0];
	if (plen > n * 8)
		return 0;
	for (i = 0; i < n; i++) {
		bit = (unsigned)i * 8;
		host = bit >= plen       ? 0xff
		       : bit + 8 <= plen ? 0
		                         : (uint8_t)(0xff >> (plen - bit));
		if ((key[1 + i] & host) != 0)
			return 0;
		lo[i] = key[1 + i];
		hi[i] = key[1 + i] | host;
	}
	return n;
}

/* proto_store_nx_inc - add 1 to the n-byte address a; 0 if it wrapped */
static int
proto_store_nx_inc(uint8_t *a, size_t n)
{
	while (n-- > 0)
		if (++a[n] != 0)
			return 1;
	return 0;
}

/* proto_store_nx_key - netidx key [family][address]; returns its length */
static size_t
proto_store_nx_key(const uint8_t *addr, size_t n, uint8_t *ikey)
{
	ikey[0] = n == 4 ? 4 : 6;
	memcpy(ikey + 1, addr, n);
	return 1 + n;
}

/* proto_store_nx_none - the netidx value "no net covers this run" */
static void
proto_store_nx_none(uint8_t *val, size_t ilen)
{
	memset(val, 0, ilen);
	val[0] = PROTO_STORE_NX_NONE;
}

/* proto_store_nx_cursor - t's netidx cursor, valid in its current txn */
static int
proto_store_nx_cursor(struct proto_txn *t, MDB_cursor **out)
{
	int mrc = 0;

	/* a write txn's cursor is freed by LMDB when the txn ends */
	if (t->nx_cur == NULL)
		mrc = mdb_cursor_open(t->txn, t->s->dbi_netidx, &t->nx_cur);
	else if (t->nx_cur_is_stale)
		mrc = mdb_cursor_renew(t->txn, t->nx_cur);
	if (mrc != 0)
		return proto_store_err(mrc);
	t->nx_cur_is_stale = 0;
	*out = t->nx_cur;
	return 0;
}

/*
 * proto_store_nx_floor - the netidx value in force at ikey: that of the
 * greatest key <= ikey (< ikey when is_strict) of the same family, or
 * NONE before the family's first entry. *is_exact: an entry starts at
 * ikey. MX_EIO for a malformed entry.
 */
static int
proto_store_nx_floor(MDB_cursor *cur, const uint8_t *ikey, size_t ilen,
    int is_strict, uint8_t *val, int *is_exact)
{
	MDB_val k = {ilen, (void *)ikey}, v;
	int mrc;

	*is_exact = 0;
	mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (mrc == 0 && k.mv_size == ilen &&
	    memcmp(k.mv_data, ikey, ilen) == 0) {
		*is_exact = 1;
		if (is_strict)
			mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	} else if (mrc == 0) {
		mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	} else if (mrc == MDB_NOTFOUND) {
		/* every key sorts before ikey: the last may be in its run */
		mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	}
	/* IPv4 keys all sort before IPv6 keys: another family is none */
	if (mrc == MDB_NOTFOUND ||
	    (mrc == 0 &&
	        (k.mv_size == 0 || *(const uint8_t *)k.mv_data != ikey[0]))) {
		proto_store_nx_none(val, ilen);
		return 0;
	}
	if (mrc != 0)
		return proto_store_err(mrc);
	if (k.mv_size != ilen || v.mv_size != ilen)
		return MX_EIO;
	memcpy(val, v.mv_data, ilen);
	return 0;
}

/* proto_store_nx_split - make a run start at ikey; both halves keep
 * the value of the run that held it */
static int
proto_store_nx_split(MDB_cursor *cur, const uint8_t *ikey, size_t ilen)
{
	uint8_t val[17];
	MDB_val k = {ilen, (void *)ikey}, v = {ilen, val};
	int is_exact, rc;

	rc = proto_store_nx_floor(cur, ikey, ilen, 0, val, &is_exact);
	if (rc != 0 || is_exact)
		return rc;
	return proto_store_err(mdb_cursor_put(cur, &k, &v, 0));
}

/*
 * proto_store_nx_walk - give the runs from lo to hi (n-byte addresses)
 * their new net. is_add: a run whose net is shorter than p, or none,
 * gets p; otherwise a run whose net is p gets q. Then every entry left
 * equal to the one before it goes (a family's first entry is compared
 * with NONE), so the index of a set of nets does not depend on the order
 * of the changes that made it. Visits each entry in [lo, hi] and the
 * one after it.
 */
static int
proto_store_nx_walk(MDB_cursor *cur, const uint8_t *lo, const uint8_t *hi,
    size_t n, int is_add, const uint8_t *p, const uint8_t *q)
{
	uint8_t ikey[17], pred[17], nv[17];
	MDB_val k, v;
	const uint8_t *kp;
	size_t ilen = proto_store_nx_key(lo, n, ikey);
	int mrc, rc, is_exact, is_in;

	rc = proto_store_nx_floor(cur, ikey, ilen, 1, pred, &is_exact);
	if (rc != 0)
		return rc;
	k.mv_size = ilen;
	k.mv_data = ikey;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		kp = k.mv_data;
		if (k.mv_size == 0 || kp[0] != ikey[0])
			break;
		if (k.mv_size != ilen || v.mv_size != ilen)
			return MX_EIO;
		is_in = memcmp(kp + 1, hi, n) <= 0;
		memcpy(nv, v.mv_data, ilen);
		if (is_in && is_add &&
		    (nv[0] == PROTO_STORE_NX_NONE || nv[0] < p[0]))
			memcpy(nv, p, ilen);
		else if (is_in && !is_add && memcmp(nv, p, ilen) == 0)
			memcpy(nv, q, ilen);
		if (memcmp(nv, pred, ilen) == 0) {
			/* MDB_NEXT after a delete yields the entry after it */
			if ((mrc = mdb_cursor_del(cur, 0)) != 0)
				break;
		} else {
			if (memcmp(nv, v.mv_data, ilen) != 0) {
				/* same size: LMDB rewrites it in place */
				memcpy(ikey, kp, ilen);
				k.mv_data = ikey;
				v.mv_size = ilen;
				v.mv_data = nv;
				mrc = mdb_cursor_put(cur, &k, &v, MDB_CURRENT);
				if (mrc != 0)
					break;
			}
			memcpy(pred, nv, ilen);
		}
		if (!is_in)
			break;
	}
	return mrc == MDB_NOTFOUND ? 0 : proto_store_err(mrc);
}

/*
 * proto_store_nx_add - index a new net key: runs start at its first
 * address and just after its last, and every run inside it whose net is
 * shorter (or none) gets it. Cost: a few seeks plus one step per entry
 * already inside the net (the runs of longer nets it contains).
 */
static int
proto_store_nx_add(struct proto_txn *t, const uint8_t *key, size_t keylen)
{
	uint8_t lo[16], hi[16], ikey[17];
	MDB_cursor *cur = NULL;
	size_t n, ilen;
	int rc;

	if ((n = proto_store_nx_span(key, keylen, lo, hi)) == 0)
		return 0;
	if ((rc = proto_store_nx_cursor(t, &cur)) != 0)
		return rc;
	/* split after hi first: the split at lo must not change its value */
	ilen = proto_store_nx_key(hi, n, ikey);
	if (proto_store_nx_inc(ikey + 1, n) &&
	    (rc = proto_store_nx_split(cur, ikey, ilen)) != 0)
		return rc;
	proto_store_nx_key(lo, n, ikey);
	if ((rc = proto_store_nx_split(cur, ikey, ilen)) != 0)
		return rc;
	return proto_store_nx_walk(cur, lo, hi, n, 1, key, NULL);
}

/*
 * proto_store_nx_rebuild - recount "netlens" and rebuild netidx from the
 * net database in t's transaction. Keys come in key order, shortest
 * prefix first, so each net lands on runs of shorter ones only and
 * costs a few seeks: O(nets × log) in all.
 */
int
proto_store_nx_rebuild(struct proto_txn *t)
{
	MDB_cursor *nc = NULL;
	uint8_t key[17];
	MDB_val k, v;
	size_t klen;
	int mrc, slot, rc;

	memset(t->nl_count, 0, sizeof(t->nl_count));
	if ((rc = proto_store_err(mdb_drop(t->txn, t->s->dbi_netidx, 0))) != 0)
		goto out;
	if ((rc = proto_store_err(mdb_cursor_open(
	         t->txn, t->s->dbi_kind[PROTO_KIND_NET], &nc))) != 0) {
		nc = NULL;
		goto out;
	}
	for (mrc = mdb_cursor_get(nc, &k, &v, MDB_FIRST); mrc == 0;
	     mrc = mdb_cursor_get(nc, &k, &v, MDB_NEXT)) {
		slot = proto_store_nl_slot(k.mv_data, k.mv_size);
		if (slot < 0)
			continue;
		t->nl_count[slot]++;
		klen = k.mv_size;
		memcpy(key, k.mv_data, klen);
		if ((rc = proto_store_nx_add(t, key, klen)) != 0)
			goto out;
	}
	if ((rc = mrc == MDB_NOTFOUND ? 0 : proto_store_err(mrc)) != 0)
		goto out;
	t->nl_is_loaded = 1;
	t->nl_is_dirty = 1;
	t->nl_lists_stale = 1;
	t->nx_is_usable = 1;
	t->nx_is_damaged = 0;
out:
	if (nc != NULL)
		mdb_cursor_close(nc);
	return rc;
}

/*
 * proto_store_nx_del - unindex a net key being deleted: the runs that
 * had it get its parent, the longest other net that contains it, found
 * by probing the present lengths below its own (presence is what
 * counts: expiry and damaged values do not). Cost: a probe per shorter
 * present length, then one step per entry inside the net.
 */
static int
proto_store_nx_del(struct proto_txn *t, const uint8_t *key, size_t keylen)
{
	uint8_t lo[16], hi[16], q[17];
	const uint8_t *plens;
	MDB_cursor *cur = NULL;
	MDB_val k = {keylen, q}, v;
	unsigned i, count;
	size_t n;
	int mrc, rc;

	if ((n = proto_store_nx_span(key, keylen, lo, hi)) == 0)
		return 0;
	if ((rc = proto_store_nl_ready(t)) != 0)
		return rc;
	plens = n == 4 ? t->nl_v4 : t->nl_v6;
	count = n == 4 ? t->nl_v4_n : t->nl_v6_n;
	mrc = MDB_NOTFOUND;
	for (i = 0; i < count && mrc == MDB_NOTFOUND; i++) {
		if (plens[i] >= key[0])
			continue;
		proto_store_mask(lo, n, plens[i], q);
		mrc = mdb_get(t->txn, t->s->dbi_kind[PROTO_KIND_NET], &k, &v);
	}
	if (mrc == MDB_NOTFOUND)
		proto_store_nx_none(q, keylen);
	else if (mrc != 0)
		return proto_store_err(mrc);
	if ((rc = proto_store_nx_cursor(t, &cur)) != 0)
		return rc;
	return proto_store_nx_walk(cur, lo, hi, n, 0, key, q);
}

/*
 * proto_store_nx_change - index (is_add) or unindex a net key. An index
 * found malformed is left alone for the rest of the transaction and
 * rebuilt whole at commit; lookups in t probe meanwhile.
 */
int
proto_store_nx_change(
    struct proto_txn *t, const uint8_t *key, size_t keylen, int is_add)
{
	int rc;

	if (t->nx_is_damaged)
		return 0;
	if (is_add)
		rc = proto_store_nx_add(t, key, keylen);
	else
		rc = proto_store_nx_del(t, key, keylen);
	if (rc == MX_EIO) {
		t->nx_is_damaged = 1;
		t->nx_is_usable = 0;
		rc = 0;
	}
	return rc;
}

/*
 * proto_store_nx_find - the net netidx names for address a: 0 with its
 * key in nkey, MX_ENOTFOUND when no net covers a, or MX_EIO when the
 * entry is malformed or names a net that does not cover a
 */
int
proto_store_nx_find(
    struct proto_txn *t, const uint8_t *a, size_t n, uint8_t *nkey)
{
	uint8_t ikey[17], want[17];
	MDB_cursor *cur = NULL;
	size_t ilen;
	int is_exact, rc;

	if ((rc = proto_store_nx_cursor(t, &cur)) != 0)
		return rc;
	ilen = proto_store_nx_key(a, n, ikey);
	if ((rc = proto_store_nx_floor(cur, ikey, ilen, 0, nkey, &is_exact)))
		return rc;
	if (nkey[0] == PROTO_STORE_NX_NONE)
		return MX_ENOTFOUND;
	if (nkey[0] > n * 8)
		return MX_EIO;
	proto_store_mask(a, n, nkey[0], want);
	return memcmp(want, nkey, ilen) == 0 ? 0 : MX_EIO;
}
