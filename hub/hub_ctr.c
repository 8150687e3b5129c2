/*
 * hub_ctr.c - the hub's time-decayed counters in LMDB
 *
 * One LMDB environment, one named database per kind ("ip", "net",
 * "domain", "url", "fp") and "meta" (layout version, SipHash key). A
 * value is an 80-byte header (version, sketch states, first and last
 * update, the sums as of last_ms) followed by one block per distinct-count
 * set; docs/hub-counters.md gives the exact layout.
 *
 * Sums are stored as of last_ms and decayed on every read and update, so
 * an idle entry costs nothing until it is touched or swept. A set starts
 * as a sorted list of 32-bit item hashes (exact up to HUB_CTR_EXACT_MAX
 * items, 4 bytes each) and turns into a HyperLogLog of HUB_CTR_HLL_M
 * one-byte registers on the next new item; most entries see few distinct
 * items, so most values stay small.
 *
 * Trust: keys and items come from the network: lengths are checked before
 * anything is read, and items are hashed with a per-store secret SipHash
 * key so that nobody can pick items that pile into one register. Values
 * read back are checked in full (version, states, exact size, finite sums
 * in range, first <= last, sorted hash lists, register ranges); a damaged
 * value is MX_EIO, never a crash, and the sweep deletes it.
 * Limits: HUB_CTR_KEY_MAX, HUB_CTR_ITEM_MAX, max_entries per kind
 * (MX_ELIMIT), map_bytes (MX_EFULL), HUB_CTR_VAL_MAX per sum.
 */
#include "hub/hub_ctr.h"

#include <math.h>
#include <string.h>
#include <sys/random.h>

#include <lmdb.h>

#include "lib/mx_alloc.h"
#include "lib/mx_endian.h"
#include "lib/mx_err.h"

#define HUB_CTR_LAYOUT 1                     /* value and meta layout version */
#define HUB_CTR_MAP_DEFAULT (4ULL << 30)     /* bytes, when map_bytes = 0 */
#define HUB_CTR_MAX_DEFAULT 1000000ULL       /* entries per kind by default */
#define HUB_CTR_HALF_LIFE_DEFAULT 3600000ULL /* ms, when half_life_ms = 0 */
#define HUB_CTR_MAXDBS 8                     /* named databases, with room */
#define HUB_CTR_MODE 0640                    /* data and lock file mode */
#define HUB_CTR_HDR 80                       /* value header bytes */
#define HUB_CTR_HLL_P 7                      /* log2(HUB_CTR_HLL_M) */
#define HUB_CTR_RANK_MAX (64 - HUB_CTR_HLL_P + 1) /* largest register */
#define HUB_CTR_ST_HLL 255 /* set state: registers, not a hash list */
#define HUB_CTR_VAL_BYTES (HUB_CTR_HDR + HUB_CTR_HLL_M * HUB_CS__COUNT)

_Static_assert(HUB_CTR_HLL_M == 1 << HUB_CTR_HLL_P, "registers = 2^p");
_Static_assert(HUB_CTR_EXACT_MAX * 4 == HUB_CTR_HLL_M, "list fits a block");
_Static_assert(sizeof(double) == 8, "sums are IEEE 754 binary64");
_Static_assert(HUB_CTR_HDR == 24 + 8 * HUB_CF__COUNT, "header layout");

/* one distinct-count set of an entry */
struct hub_ctr_sketch {
	uint8_t state; /* 0..HUB_CTR_EXACT_MAX hashes, or HUB_CTR_ST_HLL */
	union {
		uint32_t h[HUB_CTR_EXACT_MAX]; /* sorted item hashes (top 32) */
		uint8_t reg[HUB_CTR_HLL_M];    /* HyperLogLog registers */
	} u;
};

/* an entry, decoded */
struct hub_ctr_ent {
	uint64_t first_ms;                        /* first update */
	uint64_t last_ms;                         /* time the sums are at */
	double v[HUB_CF__COUNT];                  /* sums as of last_ms */
	struct hub_ctr_sketch set[HUB_CS__COUNT]; /* distinct counts */
};

struct hub_ctr {
	MDB_env *env;                      /* the environment */
	MDB_dbi dbi[HUB_CK__END];          /* database per kind; [0] unused */
	MDB_dbi dbi_meta;                  /* "meta" */
	MDB_txn *txn;                      /* open write txn, or NULL */
	MDB_cursor *cur[HUB_CK__END];      /* txn's cursor per kind, or NULL */
	int is_failed;                     /* a write in txn failed */
	MDB_txn *rtxn;                     /* reset read txn handle, or NULL */
	uint64_t max_entries[HUB_CK__END]; /* per kind */
	double half_life_ms;               /* decay half-life */
	uint8_t hash_key[HUB_CTR_HASH_KEY_LEN]; /* SipHash key of the store */
	int sweep_kind;                     /* kind the next sweep resumes in */
	uint8_t sweep_key[HUB_CTR_KEY_MAX]; /* first key it examines */
	size_t sweep_klen;                  /* its length; 0 = kind start */
};

/* named database of each kind, indexed by enum hub_ctr_kind */
static const char *const hub_ctr_db_names[HUB_CK__END] = {
    NULL, "ip", "net", "domain", "url", "fp", "rcpt"};

static const char hub_ctr_key_layout[] = "hub_ctr_layout";
static const char hub_ctr_key_hash[] = "hub_ctr_hash_key";

/* hub_ctr_err - LMDB return code to MX_E* */
static int
hub_ctr_err(int mrc)
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

/* hub_ctr_rotl - rotate left by b bits, 0 < b < 64 */
static uint64_t
hub_ctr_rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* hub_ctr_sipround - one SipRound over the state v[0..3] */
static void
hub_ctr_sipround(uint64_t *v)
{
	v[0] += v[1];
	v[1] = hub_ctr_rotl(v[1], 13);
	v[1] ^= v[0];
	v[0] = hub_ctr_rotl(v[0], 32);
	v[2] += v[3];
	v[3] = hub_ctr_rotl(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = hub_ctr_rotl(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = hub_ctr_rotl(v[1], 17);
	v[1] ^= v[2];
	v[2] = hub_ctr_rotl(v[2], 32);
}

/* hub_ctr_siphash - SipHash-2-4 of in[0..len) under the 16-byte key k */
static uint64_t
hub_ctr_siphash(const uint8_t *k, const uint8_t *in, size_t len)
{
	uint64_t k0 = mx_get_le64(k), k1 = mx_get_le64(k + 8);
	uint64_t v[4] = {0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
	    0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1};
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, end = len - len % 8;

	for (i = 0; i < end; i += 8) {
		m = mx_get_le64(in + i);
		v[3] ^= m;
		hub_ctr_sipround(v);
		hub_ctr_sipround(v);
		v[0] ^= m;
	}
	for (i = 0; i < len % 8; i++)
		b |= (uint64_t)in[end + i] << (8 * i);
	v[3] ^= b;
	hub_ctr_sipround(v);
	hub_ctr_sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (i = 0; i < 4; i++)
		hub_ctr_sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* hub_ctr_blk_len - bytes of a set block in a value, by its state */
static size_t
hub_ctr_blk_len(uint8_t state)
{
	return state == HUB_CTR_ST_HLL ? HUB_CTR_HLL_M : (size_t)state * 4;
}

/* hub_ctr_f64 - read a little-endian binary64 */
static double
hub_ctr_f64(const uint8_t *p)
{
	uint64_t u = mx_get_le64(p);
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* hub_ctr_decode - check value bytes and decode them; 0 or MX_EIO */
static int
hub_ctr_decode(const MDB_val *val, struct hub_ctr_ent *e)
{
	const uint8_t *p = val->mv_data;
	size_t want = HUB_CTR_HDR, o, i, n;
	int s;

	/* size first: nothing past mv_size is read */
	if (val->mv_size < HUB_CTR_HDR || val->mv_size > HUB_CTR_VAL_BYTES)
		return MX_EIO;
	if (p[0] != HUB_CTR_LAYOUT || mx_get_le32(p + 4) != 0)
		return MX_EIO;
	for (s = 0; s < HUB_CS__COUNT; s++) {
		if (p[1 + s] > HUB_CTR_EXACT_MAX && p[1 + s] != HUB_CTR_ST_HLL)
			return MX_EIO;
		want += hub_ctr_blk_len(p[1 + s]);
	}
	if (want != val->mv_size)
		return MX_EIO;
	e->first_ms = mx_get_le64(p + 8);
	e->last_ms = mx_get_le64(p + 16);
	if (e->first_ms > e->last_ms)
		return MX_EIO;
	for (i = 0; i < HUB_CF__COUNT; i++) {
		e->v[i] = hub_ctr_f64(p + 24 + 8 * i);
		/* a NaN fails both tests and would poison every rule */
		if (!(e->v[i] >= 0 && e->v[i] <= HUB_CTR_VAL_MAX))
			return MX_EIO;
	}
	o = HUB_CTR_HDR;
	for (s = 0; s < HUB_CS__COUNT; s++) {
		struct hub_ctr_sketch *k = &e->set[s];

		k->state = p[1 + s];
		if (k->state == HUB_CTR_ST_HLL) {
			for (i = 0; i < HUB_CTR_HLL_M; i++)
				if (p[o + i] > HUB_CTR_RANK_MAX)
					return MX_EIO;
			memcpy(k->u.reg, p + o, HUB_CTR_HLL_M);
			o += HUB_CTR_HLL_M;
			continue;
		}
		n = k->state;
		for (i = 0; i < n; i++, o += 4) {
			k->u.h[i] = mx_get_le32(p + o);
			/* strictly ascending: no duplicate counted twice */
			if (i > 0 && k->u.h[i] <= k->u.h[i - 1])
				return MX_EIO;
		}
	}
	return 0;
}

/* hub_ctr_encode - entry to value bytes (HUB_CTR_VAL_BYTES room) */
static size_t
hub_ctr_encode(const struct hub_ctr_ent *e, uint8_t *p)
{
	size_t o = HUB_CTR_HDR, i;
	uint64_t u;
	int s;

	p[0] = HUB_CTR_LAYOUT;
	for (s = 0; s < HUB_CS__COUNT; s++)
		p[1 + s] = e->set[s].state;
	mx_put_le(p + 4, 0, 4);
	mx_put_le(p + 8, e->first_ms, 8);
	mx_put_le(p + 16, e->last_ms, 8);
	for (i = 0; i < HUB_CF__COUNT; i++) {
		memcpy(&u, &e->v[i], sizeof(u));
		mx_put_le(p + 24 + 8 * i, u, 8);
	}
	for (s = 0; s < HUB_CS__COUNT; s++) {
		const struct hub_ctr_sketch *k = &e->set[s];

		if (k->state == HUB_CTR_ST_HLL) {
			memcpy(p + o, k->u.reg, HUB_CTR_HLL_M);
			o += HUB_CTR_HLL_M;
			continue;
		}
		for (i = 0; i < k->state; i++, o += 4)
			mx_put_le(p + o, k->u.h[i], 4);
	}
	return o;
}

/* hub_ctr_hll_put - raise register idx to rank */
static void
hub_ctr_hll_put(uint8_t *reg, unsigned idx, unsigned rank)
{
	if (reg[idx] < rank)
		reg[idx] = (uint8_t)rank;
}

/* hub_ctr_hll_add64 - put a 64-bit item hash into the registers */
static void
hub_ctr_hll_add64(uint8_t *reg, uint64_t h)
{
	uint64_t w = h << HUB_CTR_HLL_P;

	hub_ctr_hll_put(reg, (unsigned)(h >> (64 - HUB_CTR_HLL_P)),
	    w == 0 ? HUB_CTR_RANK_MAX : (unsigned)__builtin_clzll(w) + 1);
}

/*
 * hub_ctr_hll_add32 - put a listed hash (the top 32 bits of the item's
 * 64-bit hash) into the registers: the same register and rank as the
 * full hash, except that a rank above 25 (odds 2^-25) reads as 26
 */
static void
hub_ctr_hll_add32(uint8_t *reg, uint32_t x)
{
	uint32_t w = x << HUB_CTR_HLL_P;

	hub_ctr_hll_put(reg, x >> (32 - HUB_CTR_HLL_P),
	    w == 0 ? 32 - HUB_CTR_HLL_P + 1 : (unsigned)__builtin_clz(w) + 1);
}

/* hub_ctr_sketch_add - count item hash h in set k */
static void
hub_ctr_sketch_add(struct hub_ctr_sketch *k, uint64_t h)
{
	uint32_t x = (uint32_t)(h >> 32), list[HUB_CTR_EXACT_MAX];
	size_t i, n;

	if (k->state == HUB_CTR_ST_HLL) {
		hub_ctr_hll_add64(k->u.reg, h);
		return;
	}
	n = k->state;
	for (i = 0; i < n && k->u.h[i] < x; i++)
		;
	if (i < n && k->u.h[i] == x)
		return;
	if (n < HUB_CTR_EXACT_MAX) {
		memmove(&k->u.h[i + 1], &k->u.h[i], (n - i) * sizeof(x));
		k->u.h[i] = x;
		k->state++;
		return;
	}
	/* one more than the list holds: switch to registers */
	memcpy(list, k->u.h, sizeof(list));
	memset(k->u.reg, 0, sizeof(k->u.reg));
	for (i = 0; i < HUB_CTR_EXACT_MAX; i++)
		hub_ctr_hll_add32(k->u.reg, list[i]);
	hub_ctr_hll_add64(k->u.reg, h);
	k->state = HUB_CTR_ST_HLL;
}

/*
 * hub_ctr_sketch_est - distinct items in set k: exact for a list; for
 * registers the HyperLogLog estimate, linear counting up to 2.5 m, and
 * never below the HUB_CTR_EXACT_MAX + 1 items it must have seen
 */
static double
hub_ctr_sketch_est(const struct hub_ctr_sketch *k)
{
	const double m = HUB_CTR_HLL_M;
	const double alpha = 0.7213 / (1.0 + 1.079 / m);
	double sum = 0, e;
	unsigned zeros = 0;
	size_t i;

	if (k->state != HUB_CTR_ST_HLL)
		return k->state;
	for (i = 0; i < HUB_CTR_HLL_M; i++) {
		sum += ldexp(1.0, -(int)k->u.reg[i]);
		zeros += k->u.reg[i] == 0;
	}
	e = alpha * m * m / sum;
	if (e <= 2.5 * m && zeros > 0)
		e = m * log(m / zeros);
	return fmax(e, HUB_CTR_EXACT_MAX + 1);
}

/* hub_ctr_factor - decay factor from last_ms to now_ms; 1 if backwards */
static double
hub_ctr_factor(const struct hub_ctr *c, uint64_t last_ms, uint64_t now_ms)
{
	if (now_ms <= last_ms)
		return 1.0;
	return exp2(-(double)(now_ms - last_ms) / c->half_life_ms);
}

/* hub_ctr_fill - the entry as seen at now_ms */
static void
hub_ctr_fill(const struct hub_ctr *c, const struct hub_ctr_ent *e,
    uint64_t now_ms, struct hub_ctr_val *out)
{
	double f = hub_ctr_factor(c, e->last_ms, now_ms);
	int i;

	for (i = 0; i < HUB_CF__COUNT; i++)
		out->v[i] = e->v[i] * f;
	for (i = 0; i < HUB_CS__COUNT; i++)
		out->distinct[i] = hub_ctr_sketch_est(&e->set[i]);
	out->first_ms = e->first_ms;
	out->last_ms = e->last_ms;
}

/* hub_ctr_key_ok - kind in range and key 1..HUB_CTR_KEY_MAX bytes */
static int
hub_ctr_key_ok(int kind, const uint8_t *key, size_t klen)
{
	return kind >= HUB_CK_IP && kind < HUB_CK__END && key != NULL &&
	       klen >= 1 && klen <= HUB_CTR_KEY_MAX;
}

/* hub_ctr_rd_begin - the txn to read in: the write txn, or a read txn */
static int
hub_ctr_rd_begin(struct hub_ctr *c, MDB_txn **txn)
{
	int mrc;

	if (c->txn != NULL) {
		*txn = c->txn;
		return 0;
	}
	if (c->rtxn == NULL)
		mrc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &c->rtxn);
	else
		mrc = mdb_txn_renew(c->rtxn);
	if (mrc != 0) {
		if (c->rtxn != NULL)
			mdb_txn_abort(c->rtxn);
		c->rtxn = NULL;
		return hub_ctr_err(mrc);
	}
	*txn = c->rtxn;
	return 0;
}

/* hub_ctr_rd_end - end a read begun by hub_ctr_rd_begin */
static void
hub_ctr_rd_end(struct hub_ctr *c, MDB_txn *txn)
{
	/* reset, not abort: the handle and its reader slot are reused */
	if (txn != c->txn)
		mdb_txn_reset(txn);
}

/* hub_ctr_fail - note a failed LMDB write: the txn must be aborted */
static int
hub_ctr_fail(struct hub_ctr *c, int mrc)
{
	c->is_failed = 1;
	return hub_ctr_err(mrc);
}

/* hub_ctr_txn_end - forget the write txn and its cursors */
static void
hub_ctr_txn_end(struct hub_ctr *c)
{
	/* LMDB frees a write txn's cursors when the txn ends */
	memset(c->cur, 0, sizeof(c->cur));
	c->txn = NULL;
	c->is_failed = 0;
}

/*
 * hub_ctr_meta - at open, in txn: read the layout and hash key, or write
 * them into a store that is new (every database empty)
 */
static int
hub_ctr_meta(struct hub_ctr *c, MDB_txn *txn, const uint8_t *hash_key)
{
	MDB_val kl = {
	    sizeof(hub_ctr_key_layout) - 1, (void *)hub_ctr_key_layout};
	MDB_val kh = {sizeof(hub_ctr_key_hash) - 1, (void *)hub_ctr_key_hash};
	MDB_val v;
	MDB_stat st;
	uint8_t lbuf[4];
	uint32_t layout;
	int k, mrc;

	mrc = mdb_get(txn, c->dbi_meta, &kl, &v);
	if (mrc == 0) {
		if (v.mv_size != 4)
			return MX_EIO;
		layout = mx_get_le32(v.mv_data);
		if (layout > HUB_CTR_LAYOUT)
			return MX_EVERSION;
		if (layout != HUB_CTR_LAYOUT)
			return MX_EIO;
		if ((mrc = mdb_get(txn, c->dbi_meta, &kh, &v)) != 0 ||
		    v.mv_size != HUB_CTR_HASH_KEY_LEN)
			return MX_EIO;
		memcpy(c->hash_key, v.mv_data, HUB_CTR_HASH_KEY_LEN);
		return 0;
	}
	if (mrc != MDB_NOTFOUND)
		return hub_ctr_err(mrc);
	/* no layout: only an empty environment may become a counter store */
	if (mdb_stat(txn, c->dbi_meta, &st) != 0 || st.ms_entries != 0)
		return MX_EIO;
	for (k = HUB_CK_IP; k < HUB_CK__END; k++)
		if (mdb_stat(txn, c->dbi[k], &st) != 0 || st.ms_entries != 0)
			return MX_EIO;
	if (hash_key != NULL)
		memcpy(c->hash_key, hash_key, HUB_CTR_HASH_KEY_LEN);
	else if (getrandom(c->hash_key, HUB_CTR_HASH_KEY_LEN, 0) !=
	         HUB_CTR_HASH_KEY_LEN)
		return MX_EIO;
	mx_put_le(lbuf, HUB_CTR_LAYOUT, 4);
	v.mv_size = sizeof(lbuf);
	v.mv_data = lbuf;
	if ((mrc = mdb_put(txn, c->dbi_meta, &kl, &v, 0)) != 0)
		return hub_ctr_err(mrc);
	v.mv_size = HUB_CTR_HASH_KEY_LEN;
	v.mv_data = c->hash_key;
	return hub_ctr_err(mdb_put(txn, c->dbi_meta, &kh, &v, 0));
}

/* hub_ctr_open - open the environment, its databases and meta */
int
hub_ctr_open(
    const char *dir, const struct hub_ctr_opts *opts, struct hub_ctr **out)
{
	static const struct hub_ctr_opts defaults;
	struct hub_ctr *c = NULL;
	MDB_txn *txn = NULL;
	unsigned flags;
	uint64_t map;
	int k, rc = 0;

	if (dir == NULL || out == NULL)
		return MX_EINVAL;
	if (opts == NULL)
		opts = &defaults;
	map = opts->map_bytes ? opts->map_bytes : HUB_CTR_MAP_DEFAULT;
	if ((size_t)map != map)
		return MX_EINVAL;
	c = mx_calloc(1, sizeof(*c));
	c->half_life_ms = opts->half_life_ms
	                      ? (double)opts->half_life_ms
	                      : (double)HUB_CTR_HALF_LIFE_DEFAULT;
	for (k = HUB_CK_IP; k < HUB_CK__END; k++)
		c->max_entries[k] = opts->max_entries[k] ? opts->max_entries[k]
		                                         : HUB_CTR_MAX_DEFAULT;
	c->sweep_kind = HUB_CK_IP;
	if (mdb_env_create(&c->env) != 0) {
		c->env = NULL;
		rc = MX_EIO;
		goto out;
	}
	if (mdb_env_set_mapsize(c->env, (size_t)map) != 0 ||
	    mdb_env_set_maxdbs(c->env, HUB_CTR_MAXDBS) != 0) {
		rc = MX_EINVAL;
		goto out;
	}
	/* MDB_NOTLS: the read handle is reused, not tied to a thread */
	flags = MDB_NOTLS;
	/*
	 * A store without sync is evidence that new traffic rebuilds: write
	 * through the map (MDB_WRITEMAP) too, which halves an update's cost
	 * (no page copy into malloc'd memory, no write(2) at commit). The
	 * price is a writable map, so a stray write in this process could
	 * damage counters; values are checked on every read (MX_EIO, swept).
	 */
	if (opts->no_sync)
		flags |= MDB_NOSYNC | MDB_WRITEMAP | MDB_MAPASYNC;
	if (mdb_env_open(c->env, dir, flags, HUB_CTR_MODE) != 0) {
		rc = MX_EIO;
		goto out;
	}
	if (mdb_txn_begin(c->env, NULL, 0, &txn) != 0) {
		txn = NULL;
		rc = MX_EIO;
		goto out;
	}
	for (k = HUB_CK_IP; k < HUB_CK__END && rc == 0; k++)
		if (mdb_dbi_open(
		        txn, hub_ctr_db_names[k], MDB_CREATE, &c->dbi[k]) != 0)
			rc = MX_EIO;
	if (rc == 0 && mdb_dbi_open(txn, "meta", MDB_CREATE, &c->dbi_meta) != 0)
		rc = MX_EIO;
	if (rc == 0)
		rc = hub_ctr_meta(c, txn, opts->hash_key);
	if (rc != 0)
		goto out;
	/* committing makes the database handles visible to every txn */
	rc = hub_ctr_err(mdb_txn_commit(txn));
	txn = NULL;
	if (rc != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	hub_ctr_close(c);
	return rc;
}

/* hub_ctr_close - end every transaction, close the environment */
void
hub_ctr_close(struct hub_ctr *c)
{
	if (c == NULL)
		return;
	hub_ctr_abort(c);
	if (c->rtxn != NULL)
		mdb_txn_abort(c->rtxn);
	if (c->env != NULL)
		mdb_env_close(c->env);
	mx_free(c);
}

/* hub_ctr_begin - open the write transaction */
int
hub_ctr_begin(struct hub_ctr *c)
{
	MDB_txn *txn;
	int mrc;

	if (c == NULL)
		return MX_EINVAL;
	if (c->txn != NULL)
		return MX_ESTATE;
	if ((mrc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		return hub_ctr_err(mrc);
	c->txn = txn;
	c->is_failed = 0;
	return 0;
}

/* hub_ctr_commit - commit the write transaction */
int
hub_ctr_commit(struct hub_ctr *c)
{
	int mrc;

	if (c == NULL)
		return MX_EINVAL;
	if (c->txn == NULL)
		return MX_ESTATE;
	if (c->is_failed) {
		hub_ctr_abort(c);
		return MX_ESTATE;
	}
	mrc = mdb_txn_commit(c->txn);
	hub_ctr_txn_end(c);
	return hub_ctr_err(mrc);
}

/* hub_ctr_abort - drop the write transaction */
void
hub_ctr_abort(struct hub_ctr *c)
{
	if (c == NULL || c->txn == NULL)
		return;
	mdb_txn_abort(c->txn);
	hub_ctr_txn_end(c);
}

/* hub_ctr_delta_ok - every add finite and >= 0, every item short */
static int
hub_ctr_delta_ok(const struct hub_ctr_delta *d)
{
	int i;

	for (i = 0; i < HUB_CF__COUNT; i++)
		if (!isfinite(d->add[i]) || d->add[i] < 0)
			return 0;
	for (i = 0; i < HUB_CS__COUNT; i++)
		if (d->item[i] != NULL && d->item_len[i] > HUB_CTR_ITEM_MAX)
			return 0;
	return 1;
}

/* hub_ctr_apply - add d to e at now_ms */
static void
hub_ctr_apply(const struct hub_ctr *c, struct hub_ctr_ent *e,
    const struct hub_ctr_delta *d, uint64_t now_ms)
{
	double f = hub_ctr_factor(c, e->last_ms, now_ms);
	int i;

	for (i = 0; i < HUB_CF__COUNT; i++)
		e->v[i] = fmin(e->v[i] * f + d->add[i], HUB_CTR_VAL_MAX);
	/* backwards time: the sums stay as of last_ms (no growth) */
	if (now_ms > e->last_ms)
		e->last_ms = now_ms;
	if (now_ms < e->first_ms)
		e->first_ms = now_ms;
	for (i = 0; i < HUB_CS__COUNT; i++)
		if (d->item[i] != NULL)
			hub_ctr_sketch_add(
			    &e->set[i], hub_ctr_siphash(c->hash_key, d->item[i],
			                    d->item_len[i]));
}

/* hub_ctr_update - add one event's delta to (kind, key) */
int
hub_ctr_update(struct hub_ctr *c, int kind, const uint8_t *key, size_t klen,
    const struct hub_ctr_delta *d, uint64_t now_ms, struct hub_ctr_val *out)
{
	struct hub_ctr_ent e;
	uint8_t buf[HUB_CTR_VAL_BYTES];
	MDB_val k = {klen, (void *)key}, v;
	MDB_stat st;
	unsigned flags = MDB_CURRENT;
	int mrc, rc;

	if (c == NULL || d == NULL || !hub_ctr_key_ok(kind, key, klen) ||
	    !hub_ctr_delta_ok(d))
		return MX_EINVAL;
	if (c->txn == NULL || c->is_failed)
		return MX_ESTATE;
	if (c->cur[kind] == NULL &&
	    (mrc = mdb_cursor_open(c->txn, c->dbi[kind], &c->cur[kind])) != 0) {
		c->cur[kind] = NULL;
		return hub_ctr_fail(c, mrc);
	}
	/* a cursor: the put below reuses the position the get found */
	mrc = mdb_cursor_get(c->cur[kind], &k, &v, MDB_SET_KEY);
	if (mrc == MDB_NOTFOUND) {
		if ((mrc = mdb_stat(c->txn, c->dbi[kind], &st)) != 0)
			return hub_ctr_fail(c, mrc);
		if (st.ms_entries >= c->max_entries[kind])
			return MX_ELIMIT;
		memset(&e, 0, sizeof(e));
		e.first_ms = e.last_ms = now_ms;
		flags = MDB_NOOVERWRITE;
	} else if (mrc != 0) {
		return hub_ctr_fail(c, mrc);
	} else if ((rc = hub_ctr_decode(&v, &e)) != 0) {
		return rc;
	}
	hub_ctr_apply(c, &e, d, now_ms);
	k.mv_size = klen;
	k.mv_data = (void *)key;
	v.mv_size = hub_ctr_encode(&e, buf);
	v.mv_data = buf;
	if ((mrc = mdb_cursor_put(c->cur[kind], &k, &v, flags)) != 0)
		return hub_ctr_fail(c, mrc);
	if (out != NULL)
		hub_ctr_fill(c, &e, now_ms, out);
	return 0;
}

/* hub_ctr_get - read (kind, key) at now_ms */
int
hub_ctr_get(struct hub_ctr *c, int kind, const uint8_t *key, size_t klen,
    uint64_t now_ms, struct hub_ctr_val *out)
{
	struct hub_ctr_ent e;
	MDB_txn *txn;
	MDB_val k = {klen, (void *)key}, v;
	int rc;

	if (c == NULL || out == NULL || !hub_ctr_key_ok(kind, key, klen))
		return MX_EINVAL;
	if ((rc = hub_ctr_rd_begin(c, &txn)) != 0)
		return rc;
	rc = hub_ctr_err(mdb_get(txn, c->dbi[kind], &k, &v));
	if (rc == 0)
		rc = hub_ctr_decode(&v, &e);
	hub_ctr_rd_end(c, txn);
	if (rc == 0)
		hub_ctr_fill(c, &e, now_ms, out);
	return rc;
}

/* hub_ctr_is_idle - every sum of e, decayed to now_ms, below `below` */
static int
hub_ctr_is_idle(const struct hub_ctr *c, const struct hub_ctr_ent *e,
    uint64_t now_ms, double below)
{
	double f = hub_ctr_factor(c, e->last_ms, now_ms);
	int i;

	for (i = 0; i < HUB_CF__COUNT; i++)
		if (e->v[i] * f >= below)
			return 0;
	return 1;
}

/*
 * hub_ctr_sweep_kind - sweep one kind from op's position; stops after
 * *budget entries (0 = no limit), leaving the next key in c's resume
 * position. *done: the kind was swept to its end.
 */
static int
hub_ctr_sweep_kind(struct hub_ctr *c, MDB_txn *txn, int kind, uint64_t now_ms,
    double below, size_t *budget, size_t *n, int *done)
{
	struct hub_ctr_ent e;
	MDB_cursor *cur;
	MDB_cursor_op op = MDB_FIRST;
	MDB_val k = {0, NULL}, v;
	int mrc;

	*done = 0;
	if ((mrc = mdb_cursor_open(txn, c->dbi[kind], &cur)) != 0)
		return hub_ctr_err(mrc);
	if (kind == c->sweep_kind && c->sweep_klen > 0) {
		k.mv_size = c->sweep_klen;
		k.mv_data = c->sweep_key;
		op = MDB_SET_RANGE;
	}
	for (;;) {
		mrc = mdb_cursor_get(cur, &k, &v, op);
		op = MDB_NEXT;
		if (mrc == MDB_NOTFOUND) {
			*done = 1;
			mrc = 0;
			break;
		}
		if (mrc != 0)
			break;
		if (*budget == 0) {
			/* out of budget: the next call starts at this key */
			if (k.mv_size > HUB_CTR_KEY_MAX) {
				*done = 1;
				break;
			}
			c->sweep_kind = kind;
			memcpy(c->sweep_key, k.mv_data, k.mv_size);
			c->sweep_klen = k.mv_size;
			break;
		}
		--*budget;
		if (hub_ctr_decode(&v, &e) != 0 ||
		    hub_ctr_is_idle(c, &e, now_ms, below)) {
			if ((mrc = mdb_cursor_del(cur, 0)) != 0)
				break;
			++*n;
		}
	}
	mdb_cursor_close(cur);
	return hub_ctr_err(mrc);
}

/* hub_ctr_sweep - delete idle and damaged entries */
int
hub_ctr_sweep(struct hub_ctr *c, uint64_t now_ms, double below, size_t max,
    size_t *removed)
{
	MDB_txn *txn;
	size_t budget = max, n = 0;
	int kind, done = 1, is_own = 0, rc = 0;

	if (c == NULL || removed == NULL || isnan(below))
		return MX_EINVAL;
	if (c->txn != NULL && c->is_failed)
		return MX_ESTATE;
	if (c->txn == NULL) {
		if ((rc = hub_ctr_begin(c)) != 0)
			return rc;
		is_own = 1;
	}
	txn = c->txn;
	/* no budget: a whole pass, which an unlimited budget stands for */
	if (max == 0) {
		c->sweep_kind = HUB_CK_IP;
		c->sweep_klen = 0;
		budget = SIZE_MAX;
	}
	for (kind = c->sweep_kind; kind < HUB_CK__END; kind++) {
		rc = hub_ctr_sweep_kind(
		    c, txn, kind, now_ms, below, &budget, &n, &done);
		if (rc != 0) {
			c->is_failed = 1;
			break;
		}
		if (!done)
			break;
		c->sweep_kind = kind + 1;
		c->sweep_klen = 0;
	}
	if (rc == 0 && done) {
		c->sweep_kind = HUB_CK_IP;
		c->sweep_klen = 0;
	}
	if (is_own && rc == 0)
		rc = hub_ctr_commit(c);
	else if (is_own)
		hub_ctr_abort(c);
	if (rc == 0)
		*removed = n;
	return rc;
}

/* hub_ctr_top_better - a ranks above b: larger x, then smaller key */
static int
hub_ctr_top_better(
    const struct hub_ctr_top *a, const struct hub_ctr_top *b, int field)
{
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int r;

	if (a->val.v[field] != b->val.v[field])
		return a->val.v[field] > b->val.v[field];
	r = memcmp(a->key, b->key, n);
	return r != 0 ? r < 0 : a->key_len < b->key_len;
}

/* hub_ctr_top_down - restore the min-heap (worst at 0) below i */
static void
hub_ctr_top_down(struct hub_ctr_top *h, size_t len, size_t i, int field)
{
	struct hub_ctr_top tmp;
	size_t l, w;

	for (;;) {
		w = i;
		l = 2 * i + 1;
		if (l < len && hub_ctr_top_better(&h[w], &h[l], field))
			w = l;
		if (l + 1 < len && hub_ctr_top_better(&h[w], &h[l + 1], field))
			w = l + 1;
		if (w == i)
			return;
		tmp = h[i];
		h[i] = h[w];
		h[w] = tmp;
		i = w;
	}
}

/* hub_ctr_top_up - restore the min-heap above i */
static void
hub_ctr_top_up(struct hub_ctr_top *h, size_t i, int field)
{
	struct hub_ctr_top tmp;

	while (i > 0 && hub_ctr_top_better(&h[(i - 1) / 2], &h[i], field)) {
		tmp = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

/* hub_ctr_top - the n largest entries of kind by a decayed sum */
int
hub_ctr_top(struct hub_ctr *c, int kind, int field, uint64_t now_ms,
    uint64_t since_ms, size_t n, struct hub_ctr_top *out, size_t *got)
{
	struct hub_ctr_ent e;
	struct hub_ctr_top cand;
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t len = 0, i;
	int mrc, rc;

	if (c == NULL || got == NULL || (n > 0 && out == NULL) ||
	    kind < HUB_CK_IP || kind >= HUB_CK__END || field < 0 ||
	    field >= HUB_CF__COUNT)
		return MX_EINVAL;
	if ((rc = hub_ctr_rd_begin(c, &txn)) != 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, c->dbi[kind], &cur)) != 0) {
		rc = hub_ctr_err(mrc);
		cur = NULL;
		goto out;
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && n > 0;
	     mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		/* a damaged value or an oversized key is left to the sweep */
		if (k.mv_size > HUB_CTR_KEY_MAX || hub_ctr_decode(&v, &e) != 0)
			continue;
		if (e.last_ms < since_ms)
			continue;
		memcpy(cand.key, k.mv_data, k.mv_size);
		cand.key_len = k.mv_size;
		cand.val.v[field] =
		    e.v[field] * hub_ctr_factor(c, e.last_ms, now_ms);
		if (len == n && !hub_ctr_top_better(&cand, &out[0], field))
			continue;
		hub_ctr_fill(c, &e, now_ms, &cand.val);
		if (len < n) {
			out[len] = cand;
			hub_ctr_top_up(out, len++, field);
		} else {
			out[0] = cand;
			hub_ctr_top_down(out, len, 0, field);
		}
	}
	if (mrc != 0 && mrc != MDB_NOTFOUND) {
		rc = hub_ctr_err(mrc);
		goto out;
	}
	/* pop the worst to the back, repeatedly: best ends up first */
	for (i = len; i > 1; i--) {
		cand = out[0];
		out[0] = out[i - 1];
		out[i - 1] = cand;
		hub_ctr_top_down(out, i - 1, 0, field);
	}
	*got = len;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	hub_ctr_rd_end(c, txn);
	return rc;
}

/* hub_ctr_count - entries of kind */
int
hub_ctr_count(struct hub_ctr *c, int kind, uint64_t *out)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	if (c == NULL || out == NULL || kind < HUB_CK_IP || kind >= HUB_CK__END)
		return MX_EINVAL;
	if ((rc = hub_ctr_rd_begin(c, &txn)) != 0)
		return rc;
	rc = hub_ctr_err(mdb_stat(txn, c->dbi[kind], &st));
	hub_ctr_rd_end(c, txn);
	if (rc == 0)
		*out = st.ms_entries;
	return rc;
}
