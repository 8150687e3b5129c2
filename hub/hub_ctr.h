/*
 * hub_ctr.h - the hub's time-decayed counters in LMDB
 *
 * mxhub keeps, per key (IP, network, sender domain, URL domain,
 * fingerprint), decayed sums of what the telemetry reports (volume,
 * recipients, unknown recipients, trap hits, protocol violations,
 * rejects, tempfails) and distinct-count sketches (sources, recipients,
 * POPs). Rules read them and turn them into records. Each sum decays
 * exponentially with one configured half-life; the distinct counts do not
 * decay: they cover the entry's life, which the sweep of idle entries
 * bounds. docs/hub-counters.md gives the on-disk layout and error bounds.
 *
 * The store is its own LMDB environment in a directory the caller
 * creates (the hub uses <data dir>/counters), one named database per kind.
 * One handle is used by one thread at a time and one process owns the
 * directory. Writes happen in one write transaction that the caller opens
 * with hub_ctr_begin and ends with hub_ctr_commit or hub_ctr_abort, so
 * that many updates share one commit.
 *
 * Trust: keys and set items come from edge telemetry, so from the
 * network: lengths are checked (HUB_CTR_KEY_MAX, HUB_CTR_ITEM_MAX) and
 * items are hashed with a secret per-store SipHash key, so a sender cannot
 * choose items that collide in the sketches. Values read back are checked
 * (version, size, ranges); a damaged one is MX_EIO, never a crash.
 * Limits: max_entries per kind (MX_ELIMIT for a new key), map_bytes
 * (MX_EFULL; the caller aborts), HUB_CTR_VAL_MAX for every sum.
 */
#ifndef HUB_CTR_H
#define HUB_CTR_H

#include <stddef.h>
#include <stdint.h>

#define HUB_CTR_KEY_MAX 64       /* key bytes */
#define HUB_CTR_ITEM_MAX 255     /* bytes of one distinct-set item */
#define HUB_CTR_VAL_MAX 1e15     /* every sum is clamped to this */
#define HUB_CTR_HASH_KEY_LEN 16  /* SipHash key bytes */
#define HUB_CTR_HLL_M 128        /* sketch registers per set */
#define HUB_CTR_EXACT_MAX 32     /* distinct items counted exactly */
#define HUB_CTR_HLL_STDERR 0.092 /* 1.04 / sqrt(HUB_CTR_HLL_M) */

/* the key kinds, one database each */
enum hub_ctr_kind {
	HUB_CK_IP = 1, /* client address */
	HUB_CK_NET,    /* client network */
	HUB_CK_DOMAIN, /* sender domain */
	HUB_CK_URL,    /* URL domain */
	HUB_CK_FP,     /* content fingerprint */
	HUB_CK_RCPT,   /* recipient: salted local-part hash and domain */
	HUB_CK__END
};

/* decayed sums */
enum hub_ctr_field {
	HUB_CF_VOLUME,   /* transactions and refused connections */
	HUB_CF_RCPT,     /* recipients accepted */
	HUB_CF_UNKNOWN,  /* recipients unknown */
	HUB_CF_TRAP,     /* spam-trap hits */
	HUB_CF_PROTO,    /* protocol violations */
	HUB_CF_REJECT,   /* rejected transactions */
	HUB_CF_TEMPFAIL, /* tempfailed transactions */
	HUB_CF__COUNT
};

/* distinct-count sketches */
enum hub_ctr_set {
	HUB_CS_SOURCES, /* distinct client addresses */
	HUB_CS_RCPTS,   /* distinct recipients (hashed) */
	HUB_CS_POPS,    /* distinct POPs */
	HUB_CS__COUNT
};

struct hub_ctr;

struct hub_ctr_opts {
	uint64_t map_bytes;                /* LMDB map; 0 = 4 GiB */
	uint64_t max_entries[HUB_CK__END]; /* per kind; [0] unused; 0 = 1M */
	uint64_t half_life_ms;             /* decay half-life; 0 = 1 hour */
	int no_sync;                       /* skip fsync at commit */
	const uint8_t *hash_key;           /* HUB_CTR_HASH_KEY_LEN bytes */
};

/* what one event adds to one key */
struct hub_ctr_delta {
	double add[HUB_CF__COUNT]; /* each finite, >= 0 */
	/* one item per set, or NULL for none; for more items in one event,
	 * call hub_ctr_update again with add[] all zero */
	const uint8_t *item[HUB_CS__COUNT];
	size_t item_len[HUB_CS__COUNT]; /* bytes, <= HUB_CTR_ITEM_MAX */
};

/* an entry as seen at some time now_ms */
struct hub_ctr_val {
	double v[HUB_CF__COUNT];        /* sums decayed to now_ms */
	double distinct[HUB_CS__COUNT]; /* estimated distinct items */
	uint64_t first_ms;              /* first update */
	uint64_t last_ms;               /* latest update time seen */
};

/* one row of hub_ctr_top */
struct hub_ctr_top {
	uint8_t key[HUB_CTR_KEY_MAX]; /* the key */
	size_t key_len;               /* its bytes */
	struct hub_ctr_val val;       /* its entry at now_ms */
};

/*
 * hub_ctr_open - open or create the counter store in directory dir,
 * which must exist. opts may be NULL (all defaults). hash_key: the
 * SipHash key of a new store (NULL = 16 random bytes from getrandom); an
 * existing store keeps the key it was created with and ignores this one.
 * Returns 0, MX_EINVAL (bad argument), MX_EVERSION (store written by a
 * newer layout), MX_EFULL (no map space for the meta entries), MX_EIO
 * (LMDB error, no random bytes, damaged meta, or a directory holding some
 * other LMDB store). Caller closes with hub_ctr_close.
 */
int hub_ctr_open(
    const char *dir, const struct hub_ctr_opts *opts, struct hub_ctr **out);

/* hub_ctr_close - abort an open write transaction, close; NULL is a no-op */
void hub_ctr_close(struct hub_ctr *c);

/*
 * hub_ctr_begin - open the write transaction that hub_ctr_update needs.
 * Returns 0, MX_ESTATE (one is open already) or MX_EIO.
 */
int hub_ctr_begin(struct hub_ctr *c);

/*
 * hub_ctr_commit - commit the write transaction; it ends either way.
 * Returns 0, MX_ESTATE (none open, or an update failed with MX_EFULL or
 * MX_EIO from LMDB: the transaction was aborted), MX_EFULL or MX_EIO.
 */
int hub_ctr_commit(struct hub_ctr *c);

/* hub_ctr_abort - drop the write transaction's changes; none open: no-op */
void hub_ctr_abort(struct hub_ctr *c);

/*
 * hub_ctr_update - add d to the entry (kind, key) at time now_ms, inside
 * the write transaction: each sum becomes v * 2^(-(now - last) /
 * half_life) + add (dt taken as 0 when now_ms < last_ms), clamped to
 * HUB_CTR_VAL_MAX; each item goes into its set's sketch. A new key makes
 * a new entry. out (may be NULL) gets the entry after the update at
 * now_ms. Returns 0; MX_EINVAL (kind, key length 1..HUB_CTR_KEY_MAX, an
 * add negative or not finite, an item too long); MX_ESTATE (no write
 * transaction, or it failed); MX_ELIMIT (new key and the kind holds
 * max_entries: nothing changed); MX_EIO (stored value damaged: nothing changed,
 * the sweep removes it); MX_EFULL (map full) or MX_EIO from LMDB, after which
 * the caller must abort.
 */
int hub_ctr_update(struct hub_ctr *c, int kind, const uint8_t *key, size_t klen,
    const struct hub_ctr_delta *d, uint64_t now_ms, struct hub_ctr_val *out);

/*
 * hub_ctr_get - the entry (kind, key) at now_ms. Inside a write
 * transaction it sees that transaction's updates; outside, the last
 * commit. *out is a copy. Returns 0, MX_EINVAL, MX_ENOTFOUND, MX_EIO
 * (damaged value or LMDB error).
 */
int hub_ctr_get(struct hub_ctr *c, int kind, const uint8_t *key, size_t klen,
    uint64_t now_ms, struct hub_ctr_val *out);

/*
 * hub_ctr_sweep - delete entries whose every sum, decayed to now_ms, is
 * below `below`, and damaged entries. Examines at most max entries (0 =
 * every entry, from the start), continuing where the previous call
 * stopped, kind after kind; a call that reaches the end of the last kind
 * stops there and the next starts over. Inside a write transaction it is
 * part of it; outside, it runs in its own, committed before it returns.
 * *removed gets the number deleted. Returns 0, MX_EINVAL, MX_ESTATE (the
 * open write transaction failed), MX_EFULL or MX_EIO (inside a write
 * transaction the caller must then abort).
 */
int hub_ctr_sweep(struct hub_ctr *c, uint64_t now_ms, double below, size_t max,
    size_t *removed);

/*
 * hub_ctr_top - the n entries of kind with the largest sum field at
 * now_ms, among those updated at or after since_ms (0: all), largest
 * first (ties by key order), into out[0..n-1]; *got gets how many (fewer
 * when the kind holds fewer). Scans the whole kind
 * (analyst tool, not the ingest path); damaged entries are skipped.
 * out[] is the caller's (n rows) and only meaningful after a 0 return.
 * Returns 0, MX_EINVAL or MX_EIO.
 */
int hub_ctr_top(struct hub_ctr *c, int kind, int field, uint64_t now_ms,
    uint64_t since_ms, size_t n, struct hub_ctr_top *out, size_t *got);

/*
 * hub_ctr_count - entries of kind (in the write transaction if one is
 * open). Returns 0, MX_EINVAL or MX_EIO.
 */
int hub_ctr_count(struct hub_ctr *c, int kind, uint64_t *out);

#endif /* HUB_CTR_H */
