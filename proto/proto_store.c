/*
 * proto_store.c - the LMDB store shared by mxedge and mxhub
 *
 * One environment, one named database per record kind, plus "meta",
 * "expiry" and "netidx"; docs/store.md gives the exact layout. The writer
 * keeps the expiry index, the per-prefix-length net counts and the net
 * interval index in the same transaction as the records they describe,
 * so every reader sees them in step. Lookups copy what they return out
 * of the map: nothing handed to a caller points into it.
 *
 * Each value names its origin (byte 3): 0 for the store's own records,
 * or the slot ("origin:<hub-id>" in meta) of the hub whose updates put
 * it, so proto_store_clear_origin can replace one hub's records with its
 * snapshot and leave everyone else's. A layout 2 store (byte 3 reserved,
 * always 0) reads as origin 0; a writer marks it layout 3 at open.
 *
 * Longest-prefix match asks "netidx" (proto_store_nx.c), which cuts
 * each family's address space into runs with the same longest covering
 * net: one cursor seek names the net, one get reads it. Probing every
 * present prefix length stays as the fallback for an expired answer and
 * for an index that is missing or does not match the net database.
 *
 * A map grown by another process (MDB_MAP_RESIZED) is adopted with
 * mdb_env_set_mapsize(env, 0). That call remaps, so no transaction of
 * this process may touch the map meanwhile: each handle publishes an
 * "active" flag, and the remapping thread raises a flag of its own and
 * waits for the active ones to end (a Dekker-style handshake, no lock on
 * the lookup path).
 *
 * Trust: records written were validated by proto_record_check. Values,
 * meta entries and expiry-index keys read back are checked again (layout
 * version, lengths, ranges) because the file may come from an older or
 * damaged program; a bad value is MX_EVERSION or MX_EIO, never a crash.
 * Limits: map_bytes (MX_EFULL; the caller aborts), max_readers,
 * PROTO_KEY_MAX, PROTO_ID_MAX for hub ids, PROTO_STORE_ORIGIN_MAX hub
 * origin slots.
 */
#include "proto/proto_store.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>

#include "lib/mx_alloc.h"
#include "lib/mx_endian.h"
#include "lib/mx_err.h"

#include "proto/proto_store_int.h"

#define PROTO_STORE_MAP_DEFAULT (1ULL << 30) /* bytes, when map_bytes = 0 */
#define PROTO_STORE_MAXDBS 16                /* named databases, with room */
#define PROTO_STORE_MODE 0640                /* data and lock file mode */
#define PROTO_STORE_HDR 28                   /* value header bytes */
#define PROTO_STORE_VAL_MAX                                                    \
	(PROTO_STORE_HDR + PROTO_SOURCE_MAX + PROTO_REASON_MAX + PROTO_DATA_MAX)
#define PROTO_STORE_XKEY_MIN 10                   /* expiry key: 8 + 1 + 1 */
#define PROTO_STORE_XKEY_MAX (9 + PROTO_KEY_MAX)  /* expiry key bytes */
#define PROTO_STORE_POSKEY_MAX (4 + PROTO_ID_MAX) /* "pos:" + hub id */
#define PROTO_STORE_ORGKEY_MAX (7 + PROTO_ID_MAX) /* "origin:" + hub id */
#define PROTO_STORE_LAYOUT_V2 2     /* values without origin: still read */
#define PROTO_STORE_REMAP_TRIES 4   /* MDB_MAP_RESIZED retries */
#define PROTO_STORE_QUIESCE_MS 5000 /* wait for other txns to end */

/* state of the value a put or delete replaces (proto_store_old) */
#define PROTO_STORE_OLD_NONE 0 /* no value */
#define PROTO_STORE_OLD_OK 1   /* valid value, expiry known */
#define PROTO_STORE_OLD_BAD 2  /* damaged value, expiry unknown */

/* named database of each kind, indexed by enum proto_kind */
static const char *const proto_store_db_names[PROTO_STORE_KIND_MAX + 1] = {NULL,
    "ip", "net", "domain", "fp", "hash", "rcpt_policy", "config", "rcpt_cache"};

static const char proto_store_key_layout[] = "layout";
static const char proto_store_key_netlens[] = "netlens";
static const char proto_store_key_netidx[] = "netidx";
static const char proto_store_pfx_pos[] = "pos:";
static const char proto_store_pfx_origin[] = "origin:";

/* proto_store_err - LMDB return code to MX_E* */
int
proto_store_err(int mrc)
{
	switch (mrc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return MX_ENOTFOUND;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return MX_EFULL;
	default:
		return MX_EIO;
	}
}

/* proto_store_text_ok - no control bytes in stored text */
static int
proto_store_text_ok(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

/* proto_store_encode - record and its origin to value bytes; the length */
static size_t
proto_store_encode(const struct proto_record *r, uint8_t origin, uint8_t *p)
{
	size_t o = PROTO_STORE_HDR;

	p[0] = PROTO_STORE_LAYOUT;
	p[1] = r->action;
	p[2] = r->flags;
	p[3] = origin;
	mx_put_le(p + 4, (uint32_t)r->score, 4);
	mx_put_le(p + 8, r->expires, 8);
	mx_put_le(p + 16, r->ts_ms, 8);
	p[24] = r->source_len;
	p[25] = r->reason_len;
	mx_put_le(p + 26, r->data_len, 2);
	memcpy(p + o, r->source, r->source_len);
	o += r->source_len;
	memcpy(p + o, r->reason, r->reason_len);
	o += r->reason_len;
	memcpy(p + o, r->data, r->data_len);
	return o + r->data_len;
}

/*
 * proto_store_check_val - validate value bytes; *expires and, when origin
 * is not NULL, *origin on success. A layout 2 value (written before
 * origins) is read as origin 0: its byte 3 was reserved and always 0.
 */
static int
proto_store_check_val(const MDB_val *v, uint64_t *expires, uint8_t *origin)
{
	const uint8_t *p = v->mv_data;
	size_t slen, rlen, dlen;

	if (v->mv_size == 0)
		return MX_EIO;
	if (p[0] != PROTO_STORE_LAYOUT && p[0] != PROTO_STORE_LAYOUT_V2)
		return MX_EVERSION;
	if (v->mv_size < PROTO_STORE_HDR)
		return MX_EIO;
	slen = p[24];
	rlen = p[25];
	dlen = mx_get_le16(p + 26);
	if (slen > PROTO_SOURCE_MAX || rlen > PROTO_REASON_MAX ||
	    dlen > PROTO_DATA_MAX ||
	    PROTO_STORE_HDR + slen + rlen + dlen != v->mv_size)
		return MX_EIO;
	if (p[1] > PROTO_ACT_MAX || (p[2] & ~PROTO_RF_ALL) != 0 ||
	    (p[0] == PROTO_STORE_LAYOUT_V2 && p[3] != 0))
		return MX_EIO;
	if (!proto_store_text_ok(p + PROTO_STORE_HDR, slen + rlen))
		return MX_EIO;
	*expires = mx_get_le64(p + 8);
	if (origin != NULL)
		*origin = p[3];
	return 0;
}

/*
 * proto_store_fill - decode a stored value into out, unless it is
 * damaged (MX_EIO, MX_EVERSION) or expired at now (MX_ENOTFOUND)
 */
static int
proto_store_fill(const MDB_val *v, uint64_t now, int kind, const uint8_t *key,
    size_t keylen, struct proto_record *out)
{
	const uint8_t *p = v->mv_data;
	uint64_t expires;
	size_t o = PROTO_STORE_HDR;
	int rc;

	if ((rc = proto_store_check_val(v, &expires, NULL)) != 0)
		return rc;
	if (expires != 0 && expires <= now)
		return MX_ENOTFOUND;
	out->kind = (uint8_t)kind;
	out->op = PROTO_OP_PUT;
	out->action = p[1];
	out->flags = p[2];
	out->score = (int32_t)mx_get_le32(p + 4);
	out->expires = expires;
	out->ts_ms = mx_get_le64(p + 16);
	out->key_len = (uint16_t)keylen;
	/* key may be out->key itself: the caller's own record */
	memmove(out->key, key, keylen);
	out->source_len = p[24];
	memcpy(out->source, p + o, out->source_len);
	o += out->source_len;
	out->reason_len = p[25];
	memcpy(out->reason, p + o, out->reason_len);
	o += out->reason_len;
	out->data_len = mx_get_le16(p + 26);
	memcpy(out->data, p + o, out->data_len);
	return 0;
}

/* proto_store_ms_since - milliseconds elapsed since *t0 (monotonic) */
static uint64_t
proto_store_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - t0->tv_sec) * 1000 +
	       (uint64_t)((now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* proto_store_enter - mark t as touching the map; wait out a remap */
static void
proto_store_enter(struct proto_txn *t)
{
	struct proto_store *s = t->s;

	for (;;) {
		/* store then load, both seq_cst: see proto_store_remap */
		atomic_store(&t->is_active, 1);
		if (!atomic_load(&s->is_remapping))
			break;
		atomic_store(&t->is_active, 0);
		/* the remapping thread holds remap_mtx until it is done */
		pthread_mutex_lock(&s->remap_mtx);
		pthread_mutex_unlock(&s->remap_mtx);
	}
}

/* proto_store_leave - t no longer touches the map */
static void
proto_store_leave(struct proto_txn *t)
{
	atomic_store(&t->is_active, 0);
}

/*
 * proto_store_remap - adopt a map grown by another process
 * Every other handle must be inactive while LMDB remaps. A handle that
 * stays active (the calling thread itself may hold one) makes this give
 * up after PROTO_STORE_QUIESCE_MS with MX_EIO rather than deadlock.
 */
static int
proto_store_remap(struct proto_txn *self)
{
	struct proto_store *s = self->s;
	struct proto_txn *h;
	struct timespec t0;
	int rc = 0;

	pthread_mutex_lock(&s->remap_mtx);
	atomic_store(&s->is_remapping, 1);
	pthread_mutex_lock(&s->reg_mtx);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (h = s->handles; h != NULL && rc == 0; h = h->next) {
		while (h != self && atomic_load(&h->is_active)) {
			if (proto_store_ms_since(&t0) >
			    PROTO_STORE_QUIESCE_MS) {
				rc = MX_EIO;
				break;
			}
			sched_yield();
		}
	}
	if (rc == 0 && mdb_env_set_mapsize(s->env, 0) != 0)
		rc = MX_EIO;
	pthread_mutex_unlock(&s->reg_mtx);
	atomic_store(&s->is_remapping, 0);
	pthread_mutex_unlock(&s->remap_mtx);
	return rc;
}

/* proto_store_txn_new - allocate a handle and register it */
static struct proto_txn *
proto_store_txn_new(struct proto_store *s, int is_write)
{
	struct proto_txn *t = mx_calloc(1, sizeof(*t));

	t->s = s;
	t->is_write = is_write;
	atomic_init(&t->is_active, 0);
	pthread_mutex_lock(&s->reg_mtx);
	t->next = s->handles;
	if (s->handles != NULL)
		s->handles->prev = t;
	s->handles = t;
	pthread_mutex_unlock(&s->reg_mtx);
	return t;
}

/* proto_store_txn_del - unregister and free an inactive handle */
static void
proto_store_txn_del(struct proto_txn *t)
{
	struct proto_store *s = t->s;

	pthread_mutex_lock(&s->reg_mtx);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		s->handles = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&s->reg_mtx);
	mx_free(t);
}

/*
 * proto_store_txn_start - begin (or renew) t's LMDB transaction,
 * adopting a map another process grew. On failure t is inactive and,
 * unless renewing, has no LMDB transaction.
 */
static int
proto_store_txn_start(struct proto_txn *t, int is_renew)
{
	unsigned flags = t->is_write ? 0 : MDB_RDONLY;
	int mrc, rc = 0, tries;

	for (tries = 0;; tries++) {
		proto_store_enter(t);
		if (is_renew)
			mrc = mdb_txn_renew(t->txn);
		else
			mrc = mdb_txn_begin(t->s->env, NULL, flags, &t->txn);
		if (mrc == 0)
			break;
		proto_store_leave(t);
		if (!is_renew)
			t->txn = NULL;
		if (mrc != MDB_MAP_RESIZED ||
		    tries >= PROTO_STORE_REMAP_TRIES) {
			rc = proto_store_err(mrc);
			break;
		}
		if ((rc = proto_store_remap(t)) != 0)
			break;
	}
	return rc;
}

/* proto_store_nl_slot - netlens slot of a net key, or -1 if malformed */
int
proto_store_nl_slot(const uint8_t *key, size_t keylen)
{
	if (keylen == 5 && key[0] <= 32)
		return key[0];
	if (keylen == 17 && key[0] <= 128)
		return PROTO_STORE_NL_V4 + key[0];
	return -1;
}

/* proto_store_mask - [plen][address with host bits cleared] */
void
proto_store_mask(const uint8_t *addr, size_t alen, unsigned plen, uint8_t *key)
{
	size_t full = plen / 8;

	key[0] = (uint8_t)plen;
	memcpy(key + 1, addr, full);
	memset(key + 1 + full, 0, alen - full);
	if (plen % 8 != 0)
		key[1 + full] = addr[full] & (uint8_t)(0xff << (8 - plen % 8));
}

/*
 * proto_store_nl_load - read the "netlens" counts into t and decide
 * whether netidx may answer lookups: only if "netlens" is well formed,
 * "netidx" in meta records as many net keys as the net database holds,
 * and the index is not empty while nets exist. A net added or removed
 * behind the store's back, or a lost index, breaks that: a reader then
 * probes the present lengths (every length if the counts are suspect:
 * slow but right); the writer recounts and rebuilds both in its txn.
 */
static int
proto_store_nl_load(struct proto_txn *t)
{
	MDB_val kl = {sizeof(proto_store_key_netlens) - 1,
	    (void *)proto_store_key_netlens};
	MDB_val kx = {
	    sizeof(proto_store_key_netidx) - 1, (void *)proto_store_key_netidx};
	MDB_val v;
	MDB_stat st;
	uint64_t nets, indexed = 0;
	size_t i;
	int mrc, is_counted = 1, is_indexed;

	if ((mrc = mdb_stat(t->txn, t->s->dbi_kind[PROTO_KIND_NET], &st)) != 0)
		return proto_store_err(mrc);
	nets = st.ms_entries;
	mrc = mdb_get(t->txn, t->s->dbi_meta, &kx, &v);
	if (mrc == 0 && v.mv_size == 8)
		indexed = mx_get_le64(v.mv_data);
	else if (mrc == 0)
		is_counted = 0;
	else if (mrc != MDB_NOTFOUND)
		return proto_store_err(mrc);
	if (indexed != nets)
		is_counted = 0;
	mrc = mdb_get(t->txn, t->s->dbi_meta, &kl, &v);
	if (mrc == MDB_NOTFOUND) {
		memset(t->nl_count, 0, sizeof(t->nl_count));
		is_counted = is_counted && nets == 0;
	} else if (mrc != 0) {
		return proto_store_err(mrc);
	} else if (v.mv_size == PROTO_STORE_NL_BYTES) {
		for (i = 0; i < PROTO_STORE_NL_SLOTS; i++)
			t->nl_count[i] =
			    mx_get_le64((const uint8_t *)v.mv_data + i * 8);
	} else {
		is_counted = 0;
	}
	is_indexed = is_counted && t->s->has_netidx;
	if (is_indexed && nets != 0) {
		if ((mrc = mdb_stat(t->txn, t->s->dbi_netidx, &st)) != 0)
			return proto_store_err(mrc);
		is_indexed = st.ms_entries != 0;
	}
	if (!is_indexed && t->is_write)
		return proto_store_nx_rebuild(t);
	if (!is_counted)
		for (i = 0; i < PROTO_STORE_NL_SLOTS; i++)
			t->nl_count[i] = 1;
	t->nx_is_usable = is_indexed;
	t->nl_is_loaded = 1;
	t->nl_lists_stale = 1;
	return 0;
}

/* proto_store_nl_ready - make nl_v4/nl_v6 current for t's snapshot */
int
proto_store_nl_ready(struct proto_txn *t)
{
	size_t id = 0;
	unsigned p;
	int rc;

	if (!t->is_write) {
		id = mdb_txn_id(t->txn);
		if (t->nl_is_loaded && t->nl_txnid != id)
			t->nl_is_loaded = 0;
	}
	if (!t->nl_is_loaded) {
		if ((rc = proto_store_nl_load(t)) != 0)
			return rc;
		t->nl_txnid = id;
	}
	if (!t->nl_lists_stale)
		return 0;
	t->nl_v4_n = 0;
	for (p = PROTO_STORE_NL_V4; p-- > 0;)
		if (t->nl_count[p] > 0)
			t->nl_v4[t->nl_v4_n++] = (uint8_t)p;
	t->nl_v6_n = 0;
	for (p = PROTO_STORE_NL_V6; p-- > 0;)
		if (t->nl_count[PROTO_STORE_NL_V4 + p] > 0)
			t->nl_v6[t->nl_v6_n++] = (uint8_t)p;
	t->nl_lists_stale = 0;
	return 0;
}

/* proto_store_nl_adjust - count one net key in (+1) or out (-1) */
static void
proto_store_nl_adjust(
    struct proto_txn *t, const uint8_t *key, size_t keylen, int delta)
{
	int slot = proto_store_nl_slot(key, keylen);

	/* the caller loaded the counts before it changed the net db */
	if (slot < 0)
		return;
	if (delta > 0)
		t->nl_count[slot]++;
	else if (t->nl_count[slot] > 0)
		t->nl_count[slot]--;
	t->nl_is_dirty = 1;
	t->nl_lists_stale = 1;
}

/*
 * proto_store_nl_save - write the counts back to meta, with the number
 * of net keys they and netidx describe (proto_store_nl_load checks it)
 */
static int
proto_store_nl_save(struct proto_txn *t)
{
	uint8_t buf[PROTO_STORE_NL_BYTES], nbuf[8];
	MDB_val k = {sizeof(proto_store_key_netlens) - 1,
	    (void *)proto_store_key_netlens};
	MDB_val kx = {
	    sizeof(proto_store_key_netidx) - 1, (void *)proto_store_key_netidx};
	MDB_val v = {sizeof(buf), buf}, vx = {sizeof(nbuf), nbuf};
	MDB_stat st;
	size_t i;
	int mrc;

	for (i = 0; i < PROTO_STORE_NL_SLOTS; i++)
		mx_put_le(buf + i * 8, t->nl_count[i], 8);
	mrc = mdb_put(t->txn, t->s->dbi_meta, &k, &v, 0);
	if (mrc == 0)
		mrc = mdb_stat(t->txn, t->s->dbi_kind[PROTO_KIND_NET], &st);
	if (mrc == 0) {
		mx_put_le(nbuf, st.ms_entries, 8);
		mrc = mdb_put(t->txn, t->s->dbi_meta, &kx, &vx, 0);
	}
	return proto_store_err(mrc);
}

/* proto_store_xkey - build the expiry index key; returns its length */
static size_t
proto_store_xkey(
    uint64_t expires, int kind, const uint8_t *key, size_t keylen, uint8_t *out)
{
	mx_put_be64(out, expires);
	out[8] = (uint8_t)kind;
	memcpy(out + 9, key, keylen);
	return 9 + keylen;
}

/* proto_store_xput - add an expiry index entry */
static int
proto_store_xput(struct proto_txn *t, uint64_t expires, int kind,
    const uint8_t *key, size_t keylen)
{
	static uint8_t empty;
	uint8_t xk[PROTO_STORE_XKEY_MAX];
	MDB_val k, v = {0, &empty};

	k.mv_size = proto_store_xkey(expires, kind, key, keylen, xk);
	k.mv_data = xk;
	return proto_store_err(mdb_put(t->txn, t->s->dbi_expiry, &k, &v, 0));
}

/* proto_store_xdel - remove an expiry index entry; absent is fine */
static int
proto_store_xdel(struct proto_txn *t, uint64_t expires, int kind,
    const uint8_t *key, size_t keylen)
{
	uint8_t xk[PROTO_STORE_XKEY_MAX];
	MDB_val k;
	int mrc;

	k.mv_size = proto_store_xkey(expires, kind, key, keylen, xk);
	k.mv_data = xk;
	mrc = mdb_del(t->txn, t->s->dbi_expiry, &k, NULL);
	return mrc == MDB_NOTFOUND ? 0 : proto_store_err(mrc);
}

/*
 * proto_store_old - look up the current value of (kind, key)
 * *old: PROTO_STORE_OLD_*; *old_exp: its expiry when OLD_OK. A damaged
 * value's index entry, if any, is left to the sweep, which checks every
 * entry against its record before deleting anything.
 */
static int
proto_store_old(struct proto_txn *t, int kind, const uint8_t *key,
    size_t keylen, int *old, uint64_t *old_exp)
{
	MDB_val k = {keylen, (void *)key}, v;
	int mrc;

	*old = PROTO_STORE_OLD_NONE;
	*old_exp = 0;
	mrc = mdb_get(t->txn, t->s->dbi_kind[kind], &k, &v);
	if (mrc == MDB_NOTFOUND)
		return 0;
	if (mrc != 0)
		return proto_store_err(mrc);
	if (proto_store_check_val(&v, old_exp, NULL) == 0)
		*old = PROTO_STORE_OLD_OK;
	else
		*old = PROTO_STORE_OLD_BAD;
	return 0;
}

/*
 * proto_store_put - write r marked with origin, keeping the index and
 * net counts in step
 */
static int
proto_store_put(
    struct proto_txn *t, const struct proto_record *r, uint8_t origin)
{
	uint8_t val[PROTO_STORE_VAL_MAX];
	MDB_val k = {r->key_len, (void *)r->key}, v = {0, val};
	MDB_dbi dbi = t->s->dbi_kind[r->kind];
	uint64_t old_exp;
	int old, is_same, rc;

	/* counts first: a recount must not see the change it then adds */
	if (r->kind == PROTO_KIND_NET && !t->nl_is_loaded &&
	    (rc = proto_store_nl_load(t)) != 0)
		return rc;
	rc = proto_store_old(t, r->kind, r->key, r->key_len, &old, &old_exp);
	if (rc != 0)
		return rc;
	/* move the index entry unless the expiry stays the same */
	is_same = old == PROTO_STORE_OLD_OK && old_exp == r->expires;
	if (!is_same && old == PROTO_STORE_OLD_OK && old_exp != 0 &&
	    (rc = proto_store_xdel(t, old_exp, r->kind, r->key, r->key_len)))
		return rc;
	if (!is_same && r->expires != 0 &&
	    (rc = proto_store_xput(t, r->expires, r->kind, r->key, r->key_len)))
		return rc;
	v.mv_size = proto_store_encode(r, origin, val);
	if ((rc = proto_store_err(mdb_put(t->txn, dbi, &k, &v, 0))) != 0)
		return rc;
	/* an overwrite leaves the runs alone: they hold keys, not values */
	if (old == PROTO_STORE_OLD_NONE && r->kind == PROTO_KIND_NET) {
		proto_store_nl_adjust(t, r->key, r->key_len, +1);
		return proto_store_nx_change(t, r->key, r->key_len, 1);
	}
	return 0;
}

/* proto_store_note_key - [kind][key] into buf; its size */
static size_t
proto_store_note_key(int kind, const uint8_t *key, size_t keylen, uint8_t *buf)
{
	buf[0] = (uint8_t)kind;
	memcpy(buf + 1, key, keylen);
	return keylen + 1;
}

/* proto_store_note_del - drop the note of a deleted record, if any */
static int
proto_store_note_del(
    struct proto_txn *t, int kind, const uint8_t *key, size_t keylen)
{
	uint8_t nk[PROTO_KEY_MAX + 1];
	MDB_val k = {proto_store_note_key(kind, key, keylen, nk), nk};
	int mrc = mdb_del(t->txn, t->s->dbi_notes, &k, NULL);

	return mrc == MDB_NOTFOUND ? 0 : proto_store_err(mrc);
}

/*
 * proto_store_del - delete (kind, key) with its index entry and count
 * only_exp: when non-zero, delete only a valid record that expires
 * exactly then (the sweep must not delete a record renewed since it was
 * indexed). *is_deleted tells whether a record went.
 */
static int
proto_store_del(struct proto_txn *t, int kind, const uint8_t *key,
    size_t keylen, uint64_t only_exp, int *is_deleted)
{
	MDB_val k = {keylen, (void *)key};
	uint64_t old_exp;
	int old, rc;

	*is_deleted = 0;
	if (kind == PROTO_KIND_NET && !t->nl_is_loaded &&
	    (rc = proto_store_nl_load(t)) != 0)
		return rc;
	if ((rc = proto_store_old(t, kind, key, keylen, &old, &old_exp)) != 0)
		return rc;
	if (old == PROTO_STORE_OLD_NONE)
		return 0;
	if (only_exp != 0 && (old != PROTO_STORE_OLD_OK || old_exp != only_exp))
		return 0;
	if (old == PROTO_STORE_OLD_OK && old_exp != 0) {
		rc = proto_store_xdel(t, old_exp, kind, key, keylen);
		if (rc != 0)
			return rc;
	}
	rc = proto_store_err(mdb_del(t->txn, t->s->dbi_kind[kind], &k, NULL));
	if (rc != 0)
		return rc;
	*is_deleted = 1;
	if (t->s->has_notes &&
	    (rc = proto_store_note_del(t, kind, key, keylen)) != 0)
		return rc;
	if (kind == PROTO_KIND_NET) {
		proto_store_nl_adjust(t, key, keylen, -1);
		return proto_store_nx_change(t, key, keylen, 0);
	}
	return 0;
}

/* proto_store_layout_put - write this program's layout into meta */
static int
proto_store_layout_put(struct proto_store *s, MDB_txn *txn)
{
	uint8_t buf[4];
	MDB_val k = {
	    sizeof(proto_store_key_layout) - 1, (void *)proto_store_key_layout};
	MDB_val v = {sizeof(buf), buf};

	mx_put_le(buf, PROTO_STORE_LAYOUT, 4);
	return proto_store_err(mdb_put(txn, s->dbi_meta, &k, &v, 0));
}

/*
 * proto_store_layout - check the layout; a writer writes it into a new
 * store and upgrades a layout 2 store to 3
 */
static int
proto_store_layout(struct proto_store *s, MDB_txn *txn)
{
	MDB_val k = {
	    sizeof(proto_store_key_layout) - 1, (void *)proto_store_key_layout};
	MDB_val v;
	uint32_t layout;
	int mrc;

	mrc = mdb_get(txn, s->dbi_meta, &k, &v);
	if (mrc == MDB_NOTFOUND && !s->is_read_only)
		return proto_store_layout_put(s, txn);
	if (mrc != 0 || v.mv_size != 4)
		return MX_EIO;
	layout = mx_get_le32(v.mv_data);
	if (layout == PROTO_STORE_LAYOUT)
		return 0;
	/*
	 * Layout 2 differs only in value byte 3 (reserved then, always 0;
	 * the origin now): its values read as origin 0, so it is taken as
	 * it is. A writer marks it 3 at once, so a layout 2 program, which
	 * would take an origin for damage, refuses it from then on.
	 */
	if (layout == PROTO_STORE_LAYOUT_V2)
		return s->is_read_only ? 0 : proto_store_layout_put(s, txn);
	/*
	 * newer is unknown. Layout 1 (before netidx, values marked 1) is
	 * refused rather than migrated: none was ever deployed, and an edge
	 * cache reloads from a snapshot
	 */
	return MX_EVERSION;
}

/*
 * proto_store_nets_check - at a writer's open: rebuild the net counts
 * and netidx if they do not match the net database (an index lost or
 * damaged), so readers in every process can use the index
 */
static int
proto_store_nets_check(struct proto_store *s)
{
	struct proto_txn *t = NULL;
	int rc;

	if ((rc = proto_store_write_begin(s, &t)) != 0)
		return rc;
	if ((rc = proto_store_nl_load(t)) != 0) {
		proto_store_abort(t);
		return rc;
	}
	return proto_store_commit(t);
}

/* proto_store_open - open the environment and its databases */
int
proto_store_open(const char *dir, const struct proto_store_opts *opts,
    struct proto_store **out)
{
	static const struct proto_store_opts defaults;
	struct proto_store *s = NULL;
	MDB_txn *txn = NULL;
	unsigned flags, dflags;
	uint64_t map;
	int k, mrc, rc = 0;

	if (dir == NULL || out == NULL)
		return MX_EINVAL;
	if (opts == NULL)
		opts = &defaults;
	s = mx_calloc(1, sizeof(*s));
	s->is_read_only = opts->read_only != 0;
	atomic_init(&s->is_remapping, 0);
	if (pthread_mutex_init(&s->remap_mtx, NULL) != 0) {
		rc = MX_EIO;
		goto out;
	}
	if (pthread_mutex_init(&s->reg_mtx, NULL) != 0) {
		pthread_mutex_destroy(&s->remap_mtx);
		rc = MX_EIO;
		goto out;
	}
	s->has_mutexes = 1;
	if (mdb_env_create(&s->env) != 0) {
		s->env = NULL;
		rc = MX_EIO;
		goto out;
	}
	map = opts->map_bytes ? opts->map_bytes : PROTO_STORE_MAP_DEFAULT;
	if ((size_t)map != map) {
		rc = MX_EINVAL;
		goto out;
	}
	/* a reader with no explicit size adopts the file's map size */
	if ((!s->is_read_only || opts->map_bytes != 0) &&
	    mdb_env_set_mapsize(s->env, (size_t)map) != 0) {
		rc = MX_EINVAL;
		goto out;
	}
	if (mdb_env_set_maxdbs(s->env, PROTO_STORE_MAXDBS) != 0 ||
	    (opts->max_readers != 0 &&
	        mdb_env_set_maxreaders(s->env, opts->max_readers) != 0)) {
		rc = MX_EINVAL;
		goto out;
	}
	flags = MDB_NOTLS;
	if (s->is_read_only)
		flags |= MDB_RDONLY;
	if (opts->no_sync)
		flags |= MDB_NOSYNC;
	if (mdb_env_open(s->env, dir, flags, PROTO_STORE_MODE) != 0) {
		rc = MX_EIO;
		goto out;
	}
	if (mdb_txn_begin(
	        s->env, NULL, s->is_read_only ? MDB_RDONLY : 0, &txn) != 0) {
		txn = NULL;
		rc = MX_EIO;
		goto out;
	}
	/* a read-only open needs a store a writer created */
	dflags = s->is_read_only ? 0 : MDB_CREATE;
	for (k = PROTO_KIND_MIN; k <= PROTO_STORE_KIND_MAX && rc == 0; k++)
		if (mdb_dbi_open(txn, proto_store_db_names[k], dflags,
		        &s->dbi_kind[k]) != 0)
			rc = MX_EIO;
	if (rc == 0 &&
	    (mdb_dbi_open(txn, "meta", dflags, &s->dbi_meta) != 0 ||
	        mdb_dbi_open(txn, "expiry", dflags, &s->dbi_expiry) != 0))
		rc = MX_EIO;
	if (rc == 0 && opts->notes) {
		mrc = mdb_dbi_open(txn, "notes", dflags, &s->dbi_notes);
		if (mrc == 0)
			s->has_notes = 1;
		else if (mrc != MDB_NOTFOUND || !s->is_read_only)
			rc = MX_EIO;
	}
	/* a reader copes without the index (it probes); a writer builds it */
	if (rc == 0) {
		mrc = mdb_dbi_open(txn, "netidx", dflags, &s->dbi_netidx);
		if (mrc == 0)
			s->has_netidx = 1;
		else if (mrc != MDB_NOTFOUND || !s->is_read_only)
			rc = MX_EIO;
	}
	if (rc == 0)
		rc = proto_store_layout(s, txn);
	if (rc != 0)
		goto out;
	/* committing makes the database handles visible to every txn */
	rc = mdb_txn_commit(txn) == 0 ? 0 : MX_EIO;
	txn = NULL;
	if (rc == 0 && !s->is_read_only)
		rc = proto_store_nets_check(s);
	if (rc != 0)
		goto out;
	*out = s;
	s = NULL;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	proto_store_close(s);
	return rc;
}

/* proto_store_close - close the environment and free the store */
void
proto_store_close(struct proto_store *s)
{
	if (s == NULL)
		return;
	if (s->env != NULL)
		mdb_env_close(s->env);
	if (s->has_mutexes) {
		pthread_mutex_destroy(&s->reg_mtx);
		pthread_mutex_destroy(&s->remap_mtx);
	}
	mx_free(s);
}

/* proto_store_read_begin - new read handle with an active snapshot */
int
proto_store_read_begin(struct proto_store *s, struct proto_txn **out)
{
	struct proto_txn *t = NULL;
	int rc;

	if (s == NULL || out == NULL)
		return MX_EINVAL;
	t = proto_store_txn_new(s, 0);
	if ((rc = proto_store_txn_start(t, 0)) != 0)
		goto out;
	*out = t;
	t = NULL;
out:
	if (t != NULL)
		proto_store_txn_del(t);
	return rc;
}

/* proto_store_read_renew - take a fresh snapshot on an ended handle */
int
proto_store_read_renew(struct proto_txn *t)
{
	if (t == NULL || t->is_write || t->txn == NULL)
		return MX_EINVAL;
	if (atomic_load(&t->is_active))
		return MX_ESTATE;
	/* the cached netidx cursor must follow the txn to its new snapshot */
	t->nx_cur_is_stale = 1;
	return proto_store_txn_start(t, 1);
}

/* proto_store_read_end - release the snapshot, keep the handle */
void
proto_store_read_end(struct proto_txn *t)
{
	if (t == NULL || t->is_write || !atomic_load(&t->is_active))
		return;
	mdb_txn_reset(t->txn);
	proto_store_leave(t);
}

/* proto_store_read_free - end and release a read handle */
void
proto_store_read_free(struct proto_txn *t)
{
	if (t == NULL)
		return;
	if (t->is_write) {
		proto_store_abort(t);
		return;
	}
	/* a read txn's cursor is ours to close, before or after the txn */
	if (t->nx_cur != NULL)
		mdb_cursor_close(t->nx_cur);
	/* abort also works on a reset txn and frees its reader slot */
	if (t->txn != NULL)
		mdb_txn_abort(t->txn);
	proto_store_leave(t);
	proto_store_txn_del(t);
}

/* proto_store_write_begin - start the one write transaction */
int
proto_store_write_begin(struct proto_store *s, struct proto_txn **out)
{
	struct proto_txn *t = NULL;
	int rc;

	if (s == NULL || out == NULL)
		return MX_EINVAL;
	if (s->is_read_only)
		return MX_ESTATE;
	t = proto_store_txn_new(s, 1);
	if ((rc = proto_store_txn_start(t, 0)) != 0)
		goto out;
	*out = t;
	t = NULL;
out:
	if (t != NULL)
		proto_store_txn_del(t);
	return rc;
}

/*
 * proto_store_commit - rebuild a damaged net index, save the net counts,
 * commit, free the handle
 */
int
proto_store_commit(struct proto_txn *t)
{
	int rc;

	if (t == NULL || !t->is_write)
		return MX_EINVAL;
	rc = t->err;
	if (rc == 0 && t->nx_is_damaged)
		rc = proto_store_nx_rebuild(t);
	if (rc == 0 && t->nl_is_dirty)
		rc = proto_store_nl_save(t);
	if (rc == 0) {
		/* LMDB ends the txn whether or not the commit succeeds */
		rc = proto_store_err(mdb_txn_commit(t->txn));
		t->txn = NULL;
	}
	if (t->txn != NULL)
		mdb_txn_abort(t->txn);
	proto_store_leave(t);
	proto_store_txn_del(t);
	return rc;
}

/* proto_store_abort - drop the write transaction and free the handle */
void
proto_store_abort(struct proto_txn *t)
{
	if (t == NULL)
		return;
	if (!t->is_write) {
		proto_store_read_free(t);
		return;
	}
	mdb_txn_abort(t->txn);
	proto_store_leave(t);
	proto_store_txn_del(t);
}

/*
 * proto_store_record_check - proto_record_check, plus the store-only
 * kinds, which never come from the wire: printable keys, same ranges
 */
static int
proto_store_record_check(const struct proto_record *r)
{
	struct proto_record probe;
	size_t i;

	if (r->kind != PROTO_KIND_LOCAL_RCPT)
		return proto_record_check(r);
	if (r->key_len == 0 || r->key_len > PROTO_KEY_MAX)
		return MX_EINVAL;
	for (i = 0; i < r->key_len; i++)
		if (r->key[i] < 0x21 || r->key[i] > 0x7e)
			return MX_EINVAL;
	/* every other field by the wire rules, on a config-kind stand-in */
	probe = *r;
	probe.kind = PROTO_KIND_CONFIG;
	return proto_record_check(&probe);
}

/* proto_store_apply - put or delete one record of the store's own */
int
proto_store_apply(struct proto_txn *t, const struct proto_record *r)
{
	return proto_store_apply_from(t, r, PROTO_STORE_ORIGIN_LOCAL);
}

/*
 * proto_store_apply_from - put one record marked with origin, or delete
 * one whatever its origin
 */
int
proto_store_apply_from(
    struct proto_txn *t, const struct proto_record *r, uint8_t origin)
{
	int is_deleted, rc;

	if (t == NULL || r == NULL)
		return MX_EINVAL;
	if (!t->is_write)
		return MX_ESTATE;
	/* after MX_EFULL or MX_EIO LMDB refuses the txn: only abort is left */
	if (t->err != 0)
		return t->err;
	if (proto_store_record_check(r) != 0)
		return MX_EINVAL;
	if (r->op == PROTO_OP_PUT)
		rc = proto_store_put(t, r, origin);
	else
		rc = proto_store_del(
		    t, r->kind, r->key, r->key_len, 0, &is_deleted);
	if (rc == MX_EFULL || rc == MX_EIO)
		t->err = rc;
	return rc;
}

/*
 * proto_store_clear_origin - delete every record of one origin, kind by
 * kind, through proto_store_del so that the expiry index, the net counts
 * and netidx follow exactly as for a delete. A damaged value has no
 * known origin and is left alone.
 */
int
proto_store_clear_origin(struct proto_txn *t, uint8_t origin, size_t *removed)
{
	MDB_cursor *cur = NULL;
	uint8_t key[PROTO_KEY_MAX];
	MDB_val k, v;
	uint64_t exp;
	size_t n = 0, klen;
	uint8_t o;
	int kind, mrc, rc = 0, is_deleted;

	if (t == NULL || removed == NULL)
		return MX_EINVAL;
	if (!t->is_write)
		return MX_ESTATE;
	if (t->err != 0)
		return t->err;
	for (kind = PROTO_KIND_MIN; kind <= PROTO_STORE_KIND_MAX; kind++) {
		mrc = mdb_cursor_open(t->txn, t->s->dbi_kind[kind], &cur);
		if ((rc = proto_store_err(mrc)) != 0) {
			cur = NULL;
			goto out;
		}
		mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		while (mrc == 0) {
			klen = k.mv_size;
			if (klen == 0 || klen > PROTO_KEY_MAX ||
			    proto_store_check_val(&v, &exp, &o) != 0 ||
			    o != origin) {
				mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
				continue;
			}
			/* copy: the delete may move the page k points into */
			memcpy(key, k.mv_data, klen);
			rc =
			    proto_store_del(t, kind, key, klen, 0, &is_deleted);
			if (rc != 0)
				goto out;
			n += is_deleted != 0;
			/* the next key after the deleted one, whatever LMDB
			 * did to the cursor's position */
			k.mv_size = klen;
			k.mv_data = key;
			mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		}
		if (mrc != MDB_NOTFOUND) {
			rc = proto_store_err(mrc);
			goto out;
		}
		mdb_cursor_close(cur);
		cur = NULL;
	}
	*removed = n;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (rc == MX_EFULL || rc == MX_EIO)
		t->err = rc;
	return rc;
}

/*
 * proto_store_each - hand every live record of a kind to fn, in key
 * order. Each record is a copy; fn must not change the store through t
 * (a write would move the cursor's pages).
 */
int
proto_store_each(struct proto_txn *t, int kind, uint64_t now,
    int (*fn)(void *arg, const struct proto_record *r), void *arg)
{
	MDB_cursor *cur = NULL;
	struct proto_record *r = NULL;
	MDB_val k, v;
	int mrc, rc;

	if (t == NULL || fn == NULL || kind < PROTO_KIND_MIN ||
	    kind > PROTO_STORE_KIND_MAX)
		return MX_EINVAL;
	if (!atomic_load(&t->is_active))
		return MX_ESTATE;
	mrc = mdb_cursor_open(t->txn, t->s->dbi_kind[kind], &cur);
	if ((rc = proto_store_err(mrc)) != 0)
		return rc;
	/* about 700 bytes: off the stack of whoever iterates */
	r = mx_malloc(sizeof(*r));
	mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (mrc == 0) {
		if (k.mv_size == 0 || k.mv_size > PROTO_KEY_MAX) {
			rc = MX_EIO;
			goto out;
		}
		rc = proto_store_fill(&v, now, kind, k.mv_data, k.mv_size, r);
		if (rc == 0 && (rc = fn(arg, r)) != 0)
			goto out;
		/* expired: not live, skipped; damaged: the caller's call */
		if (rc != 0 && rc != MX_ENOTFOUND)
			goto out;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	rc = mrc == MDB_NOTFOUND ? 0 : proto_store_err(mrc);
out:
	mx_free(r);
	mdb_cursor_close(cur);
	return rc;
}

/* proto_store_get - exact lookup */
int
proto_store_get(struct proto_txn *t, int kind, const uint8_t *key,
    size_t keylen, uint64_t now, struct proto_record *out)
{
	MDB_val k = {keylen, (void *)key}, v;
	int mrc;

	if (t == NULL || key == NULL || out == NULL || kind < PROTO_KIND_MIN ||
	    kind > PROTO_STORE_KIND_MAX || keylen == 0 ||
	    keylen > PROTO_KEY_MAX)
		return MX_EINVAL;
	if (!atomic_load(&t->is_active))
		return MX_ESTATE;
	if ((mrc = mdb_get(t->txn, t->s->dbi_kind[kind], &k, &v)) != 0)
		return proto_store_err(mrc);
	return proto_store_fill(&v, now, kind, key, keylen, out);
}

/*
 * proto_store_probe - longest-prefix match by probing each present
 * prefix length shorter than below, longest first: one get per length
 */
static int
proto_store_probe(struct proto_txn *t, const uint8_t *a, size_t n,
    unsigned below, uint64_t now, struct proto_record *out)
{
	uint8_t key[17];
	const uint8_t *plens;
	MDB_val k = {1 + n, key}, v;
	unsigned i, count;
	int mrc, rc = MX_ENOTFOUND;

	plens = n == 4 ? t->nl_v4 : t->nl_v6;
	count = n == 4 ? t->nl_v4_n : t->nl_v6_n;
	for (i = 0; i < count; i++) {
		if (plens[i] >= below)
			continue;
		proto_store_mask(a, n, plens[i], key);
		mrc = mdb_get(t->txn, t->s->dbi_kind[PROTO_KIND_NET], &k, &v);
		if (mrc == MDB_NOTFOUND)
			continue;
		if (mrc != 0) {
			rc = proto_store_err(mrc);
			break;
		}
		/* an expired longer prefix must not hide a live shorter one */
		rc = proto_store_fill(
		    &v, now, PROTO_KIND_NET, key, k.mv_size, out);
		if (rc != MX_ENOTFOUND)
			break;
	}
	return rc;
}

/*
 * proto_store_lookup_net - longest-prefix match: netidx names the
 * longest net covering the address (one seek), then one get reads it.
 * If that net has expired, a shorter one may still be live: probe the
 * present lengths below it. Without a usable index, probe them all.
 */
int
proto_store_lookup_net(struct proto_txn *t, const uint8_t *addr, size_t alen,
    uint64_t now, struct proto_record *out)
{
	uint8_t a[16], key[17];
	MDB_val k = {0, key}, v;
	unsigned below = PROTO_STORE_NL_V6;
	size_t n;
	int mrc, rc;

	if (t == NULL || addr == NULL || out == NULL)
		return MX_EINVAL;
	if (!atomic_load(&t->is_active))
		return MX_ESTATE;
	/* canonical form: a v4-mapped v6 address is looked up as IPv4 */
	if (proto_key_ip_bin(addr, alen, a, &n) != 0)
		return MX_EINVAL;
	if ((rc = proto_store_nl_ready(t)) != 0)
		return rc;
	if (t->nx_is_usable) {
		rc = proto_store_nx_find(t, a, n, key);
		if (rc == MX_ENOTFOUND)
			return rc;
		if (rc == 0) {
			k.mv_size = 1 + n;
			mrc = mdb_get(
			    t->txn, t->s->dbi_kind[PROTO_KIND_NET], &k, &v);
			if (mrc != 0 && mrc != MDB_NOTFOUND)
				return proto_store_err(mrc);
			if (mrc == 0) {
				rc = proto_store_fill(&v, now, PROTO_KIND_NET,
				    key, k.mv_size, out);
				if (rc != MX_ENOTFOUND)
					return rc;
				/* a longer net over a would be named */
				below = key[0];
			}
		}
		/* an entry that does not match the nets: probe instead */
	}
	return proto_store_probe(t, a, n, below, now, out);
}

/* proto_store_lookup_domain - the name, then each parent, in turn */
int
proto_store_lookup_domain(struct proto_txn *t, const char *name, size_t len,
    uint64_t now, struct proto_record *out)
{
	uint8_t key[PROTO_KEY_MAX];
	const uint8_t *dot;
	MDB_val k = {0, key}, v;
	size_t klen;
	int mrc, rc;

	if (t == NULL || name == NULL || out == NULL)
		return MX_EINVAL;
	if (!atomic_load(&t->is_active))
		return MX_ESTATE;
	if (proto_key_domain(name, len, key, &klen) != 0)
		return MX_EINVAL;
	/*
	 * "com.example.mail" → "com.example" → "com": cuts fall on label
	 * boundaries only, so example.com never matches badexample.com
	 */
	for (;;) {
		k.mv_size = klen;
		mrc =
		    mdb_get(t->txn, t->s->dbi_kind[PROTO_KIND_DOMAIN], &k, &v);
		if (mrc == 0) {
			rc = proto_store_fill(
			    &v, now, PROTO_KIND_DOMAIN, key, klen, out);
			if (rc != MX_ENOTFOUND)
				break;
		} else if (mrc != MDB_NOTFOUND) {
			rc = proto_store_err(mrc);
			break;
		}
		if ((dot = memrchr(key, '.', klen)) == NULL) {
			rc = MX_ENOTFOUND;
			break;
		}
		klen = (size_t)(dot - key);
	}
	return rc;
}

/* proto_store_count - entries in a kind's database */
int
proto_store_count(struct proto_txn *t, int kind, uint64_t *out)
{
	MDB_stat st;
	int mrc;

	if (t == NULL || out == NULL || kind < PROTO_KIND_MIN ||
	    kind > PROTO_STORE_KIND_MAX)
		return MX_EINVAL;
	if (!atomic_load(&t->is_active))
		return MX_ESTATE;
	if ((mrc = mdb_stat(t->txn, t->s->dbi_kind[kind], &st)) != 0)
		return proto_store_err(mrc);
	*out = st.ms_entries;
	return 0;
}

/* proto_store_sweep - delete expired records, oldest first */
int
proto_store_sweep(
    struct proto_store *s, uint64_t now, size_t max, size_t *removed)
{
	struct proto_txn *t = NULL;
	MDB_cursor *cur = NULL;
	uint8_t xk[PROTO_STORE_XKEY_MAX];
	MDB_val k, v;
	size_t n = 0, xlen;
	uint64_t exp;
	int mrc, is_deleted, rc;

	if (s == NULL || removed == NULL)
		return MX_EINVAL;
	if ((rc = proto_store_write_begin(s, &t)) != 0)
		goto out;
	if ((rc = proto_store_err(
	         mdb_cursor_open(t->txn, s->dbi_expiry, &cur))) != 0)
		goto out;
	while (n < max) {
		/* each pass deletes the first entry, so restart at the top */
		mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		if (mrc == MDB_NOTFOUND)
			break;
		if ((rc = proto_store_err(mrc)) != 0)
			goto out;
		xlen = k.mv_size;
		if (xlen < PROTO_STORE_XKEY_MIN ||
		    xlen > PROTO_STORE_XKEY_MAX) {
			/* damaged index entry: it points at nothing usable */
			if ((rc = proto_store_err(mdb_cursor_del(cur, 0))) != 0)
				goto out;
			continue;
		}
		/* copy: the deletes below may move the page k points into */
		memcpy(xk, k.mv_data, xlen);
		if ((exp = mx_get_be64(xk)) > now)
			break;
		is_deleted = 0;
		if (exp != 0 && xk[8] >= PROTO_KIND_MIN &&
		    xk[8] <= PROTO_STORE_KIND_MAX &&
		    (rc = proto_store_del(
		         t, xk[8], xk + 9, xlen - 9, exp, &is_deleted)) != 0)
			goto out;
		if (is_deleted) {
			n++;
			continue;
		}
		/* stale or damaged entry: its record is gone or renewed */
		k.mv_size = xlen;
		k.mv_data = xk;
		mrc = mdb_del(t->txn, s->dbi_expiry, &k, NULL);
		if ((rc = proto_store_err(mrc)) != 0)
			goto out;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	rc = proto_store_commit(t);
	t = NULL;
	if (rc == 0)
		*removed = n;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (t != NULL)
		proto_store_abort(t);
	return rc;
}

/*
 * proto_store_hub_key - meta key pfx + hub id (printable, 1..PROTO_ID_MAX)
 * into key, which holds strlen(pfx) + PROTO_ID_MAX bytes
 */
static int
proto_store_hub_key(
    const char *pfx, const char *hub_id, uint8_t *key, size_t *keylen)
{
	size_t n, i, plen = strlen(pfx);

	if (hub_id == NULL)
		return MX_EINVAL;
	n = strnlen(hub_id, PROTO_ID_MAX + 1);
	if (n == 0 || n > PROTO_ID_MAX)
		return MX_EINVAL;
	for (i = 0; i < n; i++)
		if ((uint8_t)hub_id[i] < 0x21 || (uint8_t)hub_id[i] > 0x7e)
			return MX_EINVAL;
	memcpy(key, pfx, plen);
	memcpy(key + plen, hub_id, n);
	*keylen = plen + n;
	return 0;
}

/* proto_store_pos_key - "pos:<hub-id>" */
static int
proto_store_pos_key(const char *hub_id, uint8_t *key, size_t *keylen)
{
	return proto_store_hub_key(proto_store_pfx_pos, hub_id, key, keylen);
}

/* proto_store_pos_get - a hub's epoch and last applied seq */
int
proto_store_pos_get(
    struct proto_txn *t, const char *hub_id, uint64_t *epoch, uint64_t *seq)
{
	uint8_t key[PROTO_STORE_POSKEY_MAX];
	MDB_val k = {0, key}, v;
	int mrc;

	if (t == NULL || epoch == NULL || seq == NULL ||
	    proto_store_pos_key(hub_id, key, &k.mv_size) != 0)
		return MX_EINVAL;
	if (!atomic_load(&t->is_active))
		return MX_ESTATE;
	if ((mrc = mdb_get(t->txn, t->s->dbi_meta, &k, &v)) != 0)
		return proto_store_err(mrc);
	if (v.mv_size != 16)
		return MX_EIO;
	*epoch = mx_get_le64(v.mv_data);
	*seq = mx_get_le64((const uint8_t *)v.mv_data + 8);
	return 0;
}

/* proto_store_pos_put - record a hub's epoch and last applied seq */
int
proto_store_pos_put(
    struct proto_txn *t, const char *hub_id, uint64_t epoch, uint64_t seq)
{
	uint8_t key[PROTO_STORE_POSKEY_MAX], buf[16];
	MDB_val k = {0, key}, v = {sizeof(buf), buf};
	int rc;

	if (t == NULL || proto_store_pos_key(hub_id, key, &k.mv_size) != 0)
		return MX_EINVAL;
	if (!t->is_write)
		return MX_ESTATE;
	if (t->err != 0)
		return t->err;
	mx_put_le(buf, epoch, 8);
	mx_put_le(buf + 8, seq, 8);
	rc = proto_store_err(mdb_put(t->txn, t->s->dbi_meta, &k, &v, 0));
	if (rc != 0)
		t->err = rc;
	return rc;
}

/* proto_store_pos_del - drop a hub's position */
int
proto_store_pos_del(struct proto_txn *t, const char *hub_id)
{
	uint8_t key[PROTO_STORE_POSKEY_MAX];
	MDB_val k = {0, key};
	int mrc, rc;

	if (t == NULL || proto_store_pos_key(hub_id, key, &k.mv_size) != 0)
		return MX_EINVAL;
	if (!t->is_write)
		return MX_ESTATE;
	if (t->err != 0)
		return t->err;
	mrc = mdb_del(t->txn, t->s->dbi_meta, &k, NULL);
	if (mrc == MDB_NOTFOUND)
		return 0;
	if ((rc = proto_store_err(mrc)) != 0)
		t->err = rc;
	return rc;
}

/* proto_store_each_pos - every "pos:<hub-id>" entry */
int
proto_store_each_pos(struct proto_txn *t,
    int (*fn)(void *arg, const char *hub_id, uint64_t epoch, uint64_t seq),
    void *arg)
{
	size_t plen = sizeof(proto_store_pfx_pos) - 1, idlen;
	MDB_cursor *cur = NULL;
	MDB_val k = {plen, (void *)proto_store_pfx_pos}, v;
	char id[PROTO_ID_MAX + 1];
	int mrc, rc = 0;

	if (t == NULL || fn == NULL)
		return MX_EINVAL;
	if (!atomic_load(&t->is_active))
		return MX_ESTATE;
	if ((rc = proto_store_err(
	         mdb_cursor_open(t->txn, t->s->dbi_meta, &cur))) != 0)
		return rc;
	mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (mrc == 0 && k.mv_size > plen &&
	       memcmp(k.mv_data, proto_store_pfx_pos, plen) == 0) {
		idlen = k.mv_size - plen;
		if (idlen > PROTO_ID_MAX || v.mv_size != 16) {
			rc = MX_EIO;
			break;
		}
		memcpy(id, (const char *)k.mv_data + plen, idlen);
		id[idlen] = '\0';
		rc = fn(arg, id, mx_get_le64(v.mv_data),
		    mx_get_le64((const uint8_t *)v.mv_data + 8));
		if (rc != 0)
			break;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = proto_store_err(mrc);
	return rc;
}

/* proto_store_note_put - set a record's note */
int
proto_store_note_put(struct proto_txn *t, int kind, const uint8_t *key,
    size_t keylen, const void *note, size_t len)
{
	uint8_t nk[PROTO_KEY_MAX + 1];
	MDB_val k, v = {len, (void *)note};
	int rc;

	if (t == NULL || key == NULL || note == NULL || kind < PROTO_KIND_MIN ||
	    kind > PROTO_STORE_KIND_MAX || keylen == 0 ||
	    keylen > PROTO_KEY_MAX || len == 0 || len > PROTO_STORE_NOTE_MAX)
		return MX_EINVAL;
	if (!t->is_write || !t->s->has_notes)
		return MX_ESTATE;
	if (t->err != 0)
		return t->err;
	k.mv_size = proto_store_note_key(kind, key, keylen, nk);
	k.mv_data = nk;
	rc = proto_store_err(mdb_put(t->txn, t->s->dbi_notes, &k, &v, 0));
	if (rc != 0)
		t->err = rc;
	return rc;
}

/* proto_store_note_get - read a record's note */
int
proto_store_note_get(struct proto_txn *t, int kind, const uint8_t *key,
    size_t keylen, void *out, size_t cap, size_t *len)
{
	uint8_t nk[PROTO_KEY_MAX + 1];
	MDB_val k, v;
	int mrc;

	if (t == NULL || key == NULL || out == NULL || len == NULL ||
	    kind < PROTO_KIND_MIN || kind > PROTO_STORE_KIND_MAX ||
	    keylen == 0 || keylen > PROTO_KEY_MAX)
		return MX_EINVAL;
	if (!atomic_load(&t->is_active) || !t->s->has_notes)
		return MX_ESTATE;
	k.mv_size = proto_store_note_key(kind, key, keylen, nk);
	k.mv_data = nk;
	if ((mrc = mdb_get(t->txn, t->s->dbi_notes, &k, &v)) != 0)
		return proto_store_err(mrc);
	if (v.mv_size > PROTO_STORE_NOTE_MAX)
		return MX_EIO;
	if (v.mv_size > cap)
		return MX_ETOOBIG;
	memcpy(out, v.mv_data, v.mv_size);
	*len = v.mv_size;
	return 0;
}

/*
 * proto_store_origin_used - mark in used[] the slot of every
 * "origin:<hub-id>" entry; a damaged one is MX_EIO (its slot is unknown,
 * and handing it out again would mix two hubs' records)
 */
static int
proto_store_origin_used(struct proto_txn *t, uint8_t used[256])
{
	size_t plen = sizeof(proto_store_pfx_origin) - 1;
	MDB_cursor *cur = NULL;
	MDB_val k = {plen, (void *)proto_store_pfx_origin}, v;
	int mrc, rc;

	memset(used, 0, 256);
	mrc = mdb_cursor_open(t->txn, t->s->dbi_meta, &cur);
	if ((rc = proto_store_err(mrc)) != 0)
		return rc;
	mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (mrc == 0 && k.mv_size > plen &&
	       memcmp(k.mv_data, proto_store_pfx_origin, plen) == 0) {
		if (v.mv_size != 1 || *(const uint8_t *)v.mv_data == 0) {
			mdb_cursor_close(cur);
			return MX_EIO;
		}
		used[*(const uint8_t *)v.mv_data] = 1;
		mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : proto_store_err(mrc);
}

/*
 * proto_store_origin_slot - the origin slot of a hub; a write txn hands
 * out the lowest free slot on first use
 */
int
proto_store_origin_slot(struct proto_txn *t, const char *hub_id, uint8_t *slot)
{
	uint8_t key[PROTO_STORE_ORGKEY_MAX], used[256], val;
	MDB_val k = {0, key}, v;
	unsigned i;
	int mrc, rc;

	if (t == NULL || slot == NULL ||
	    proto_store_hub_key(
	        proto_store_pfx_origin, hub_id, key, &k.mv_size) != 0)
		return MX_EINVAL;
	if (!atomic_load(&t->is_active))
		return MX_ESTATE;
	if (t->is_write && t->err != 0)
		return t->err;
	mrc = mdb_get(t->txn, t->s->dbi_meta, &k, &v);
	if (mrc == 0) {
		if (v.mv_size != 1 || *(const uint8_t *)v.mv_data == 0)
			return MX_EIO;
		*slot = *(const uint8_t *)v.mv_data;
		return 0;
	}
	if (mrc != MDB_NOTFOUND || !t->is_write)
		return proto_store_err(mrc);
	if ((rc = proto_store_origin_used(t, used)) != 0)
		return rc;
	for (i = 1; i <= PROTO_STORE_ORIGIN_MAX && used[i]; i++)
		;
	if (i > PROTO_STORE_ORIGIN_MAX)
		return MX_ELIMIT;
	val = (uint8_t)i;
	v.mv_size = 1;
	v.mv_data = &val;
	rc = proto_store_err(mdb_put(t->txn, t->s->dbi_meta, &k, &v, 0));
	if (rc != 0) {
		t->err = rc;
		return rc;
	}
	*slot = val;
	return 0;
}
