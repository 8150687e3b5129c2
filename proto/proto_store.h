/*
 * proto_store.h - the LMDB store shared by mxedge and mxhub
 *
 * One LMDB environment per program, one named database per record kind,
 * plus "meta" (per-hub epoch/seq, store layout version, prefix-length
 * counts), "expiry" (an index by expiry time for the sweep), "netidx"
 * (the net address space cut into runs with the same longest covering
 * net, for one-seek longest-prefix match) and, where asked for, "notes"
 * (the program's own bytes beside a record). Keys are the canonical binary
 * keys of proto_record.h; values are a small fixed-layout header with a
 * layout version, then source, reason and data (docs/store.md). Each
 * value names its origin: 0 for the store's own records, or the slot of
 * the hub whose updates wrote it, so one hub's records can be replaced
 * by its snapshot without touching anyone else's.
 *
 * Readers use read-only transactions and take no lock; there is one writer
 * at a time (LMDB serialises writers). The environment is opened with
 * MDB_NOTLS so a worker thread can keep one read transaction handle and
 * reset/renew it around each lookup; a read transaction is never held
 * across a return to the event loop (STYLE section 5).
 *
 * Trust: records reaching the store were validated by proto_record_check;
 * the store checks values it reads back anyway (layout version, lengths),
 * since the file may come from an older or damaged program.
 * Limits: map_bytes; a full map is MX_EFULL and the write is rolled back.
 */
#ifndef PROTO_STORE_H
#define PROTO_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto_record.h"

#define PROTO_STORE_LAYOUT 3 /* value and database layout version */

/* record origins (value byte 3): who wrote a record */
#define PROTO_STORE_ORIGIN_LOCAL 0 /* the store's own (mxcache, the edge) */
#define PROTO_STORE_ORIGIN_MAX 255 /* hub slots are 1..255 */

struct proto_store;
struct proto_txn;

struct proto_store_opts {
	uint64_t map_bytes;   /* LMDB map size; 0 = 1 GiB */
	unsigned max_readers; /* reader slots; 0 = 126 (LMDB default) */
	int read_only;        /* open without write access */
	int no_sync;          /* skip fsync at commit (rebuildable caches) */
	int notes;            /* open (a writer: create) the notes database */
};

/*
 * proto_store_open - open or create the store in directory dir (which
 * must exist). A writer rebuilds the net index if it is missing or does
 * not match the net database (time and map space in proportion to the
 * nets), and marks a layout 2 store (from before origins; its records
 * read as origin 0) as layout 3. Returns 0, MX_EIO (LMDB error,
 * unreadable dir), MX_EVERSION (layout newer than this program, or
 * layout 1, from before the net index), MX_EFULL (no map space to
 * rebuild the index) or MX_EINVAL.
 * Caller closes with proto_store_close. Open once per process; share
 * across threads.
 */
int proto_store_open(const char *dir, const struct proto_store_opts *opts,
    struct proto_store **out);
/* proto_store_close - close; every transaction must have ended */
void proto_store_close(struct proto_store *s);

/*
 * proto_store_read_begin - start a read-only transaction
 * proto_store_read_end - end it (the handle stays reusable: pass it back
 * to proto_store_read_renew on the same or another thread)
 * proto_store_read_free - end and release the handle
 */
int proto_store_read_begin(struct proto_store *s, struct proto_txn **out);
int proto_store_read_renew(struct proto_txn *t);
void proto_store_read_end(struct proto_txn *t);
void proto_store_read_free(struct proto_txn *t);

/*
 * proto_store_write_begin - start the write transaction (blocks while
 * another writer runs). proto_store_commit ends it: 0, MX_EFULL or
 * MX_EIO. proto_store_abort ends it without changes. Either way the
 * handle is freed.
 */
int proto_store_write_begin(struct proto_store *s, struct proto_txn **out);
int proto_store_commit(struct proto_txn *t);
void proto_store_abort(struct proto_txn *t);

/*
 * proto_store_apply - put or delete r (by r->op) in a write transaction
 * Keeps the expiry index, prefix-length counts and net index in step (a
 * new or deleted net costs a step per index entry inside it, so a short
 * prefix over many longer ones is slow to add or delete). Returns 0,
 * MX_EINVAL (record fails proto_record_check, or kind has no database),
 * MX_EFULL (map full: the caller must abort) or MX_EIO. Deleting an absent
 * key is not an error.
 */
int proto_store_apply(struct proto_txn *t, const struct proto_record *r);
/*
 * proto_store_apply_from - proto_store_apply for records of an origin
 * (proto_store_apply is origin PROTO_STORE_ORIGIN_LOCAL). A put marks the
 * record with origin, replacing a record of any origin; a delete removes
 * the key whatever its origin. Returns as proto_store_apply.
 */
int proto_store_apply_from(
    struct proto_txn *t, const struct proto_record *r, uint8_t origin);

/*
 * proto_store_origin_slot - the origin slot (1..255) of a hub's records
 * The mapping lives in meta ("origin:<hub-id>"). A write txn assigns the
 * lowest free slot the first time a hub is named (written with the txn);
 * a slot is never given back. Returns 0, MX_EINVAL (bad hub id: 1..
 * PROTO_ID_MAX printable bytes), MX_ENOTFOUND (read txn, hub never
 * seen), MX_ELIMIT (255 slots in use), MX_EFULL, MX_EIO (LMDB error or
 * a damaged entry), MX_ESTATE (ended handle).
 */
int proto_store_origin_slot(
    struct proto_txn *t, const char *hub_id, uint8_t *slot);

/*
 * proto_store_clear_origin - delete every record of one origin in every
 * kind's database, in write txn t, keeping the expiry index, the net
 * counts and the net index in step exactly as a delete does. Values too
 * damaged to name an origin are left alone. Cost: one step per record
 * stored (any origin) plus a delete per record removed. *removed gets
 * the count. Returns 0, MX_EINVAL, MX_ESTATE (read handle), MX_EFULL or
 * MX_EIO (the txn is then dead: abort it).
 */
int proto_store_clear_origin(
    struct proto_txn *t, uint8_t origin, size_t *removed);

/*
 * proto_store_each - call fn for every live record (0 < expires <= now
 * is skipped) of a kind, in key order (LMDB byte order of the keys), in
 * a read or write txn. fn gets a copy (valid during the call) and must
 * not change the store through t; its non-zero return stops the walk and
 * is returned. Returns 0, that value, MX_EINVAL, MX_ESTATE, MX_EVERSION
 * or MX_EIO (a damaged value or key stops the walk: a snapshot must not
 * leave a record out silently).
 */
int proto_store_each(struct proto_txn *t, int kind, uint64_t now,
    int (*fn)(void *arg, const struct proto_record *r), void *arg);

/*
 * proto_store_get - exact lookup of (kind, key)
 * now: unix seconds; a record with 0 < expires <= now is treated as
 * absent. Fills *out (op = PROTO_OP_PUT; key = the key found) and returns
 * 0, or MX_ENOTFOUND, MX_EVERSION (value layout unknown), MX_EIO.
 * *out is a copy: it outlives the transaction.
 */
int proto_store_get(struct proto_txn *t, int kind, const uint8_t *key,
    size_t keylen, uint64_t now, struct proto_record *out);

/*
 * proto_store_lookup_net - longest-prefix match of a 4- or 16-byte
 * address (a v4-mapped v6 address is looked up as IPv4) among "net"
 * records: one index seek and one get, whatever the prefix lengths
 * loaded; an expired match, or an index that does not match the nets,
 * falls back to probing the present lengths. out->key is the matching
 * [plen, address] key. Returns as proto_store_get.
 */
int proto_store_lookup_net(struct proto_txn *t, const uint8_t *addr,
    size_t alen, uint64_t now, struct proto_record *out);

/*
 * proto_store_lookup_domain - the most specific "domain" record for name
 * (text, len bytes, any case, optional trailing dot) or one of its parent
 * domains: a.b.example.com matches a record for example.com. Returns as
 * proto_store_get, or MX_EINVAL for a name proto_key_domain refuses.
 */
int proto_store_lookup_domain(struct proto_txn *t, const char *name, size_t len,
    uint64_t now, struct proto_record *out);

/*
 * proto_store_count - live and expired-but-unswept entries of a kind
 */
int proto_store_count(struct proto_txn *t, int kind, uint64_t *out);

/*
 * proto_store_sweep - delete up to max records with 0 < expires <= now,
 * oldest first, in its own write transaction; *removed gets the count.
 * Returns 0, MX_EFULL or MX_EIO.
 */
int proto_store_sweep(
    struct proto_store *s, uint64_t now, size_t max, size_t *removed);

/*
 * Notes: a few bytes the program keeps beside a record (the hub keeps
 * its provenance: who made it and when). A note lives as long as its
 * record: every delete of the record (apply of a del, sweep of an
 * expired record, clear_origin) deletes its note in the same
 * transaction. Only a store opened with opts.notes has them; the others
 * get MX_ESTATE.
 * proto_store_note_put - set the note of (kind, key), 1..PROTO_STORE_NOTE_MAX
 *   bytes, in a write transaction. Returns 0, MX_EINVAL, MX_ESTATE, or
 *   MX_EFULL / MX_EIO (after which the caller must abort).
 * proto_store_note_get - copy the note into out (cap bytes); *len gets
 *   its size. Returns 0, MX_ENOTFOUND, MX_EINVAL, MX_ETOOBIG (cap too
 *   small), MX_ESTATE or MX_EIO.
 */
#define PROTO_STORE_NOTE_MAX 512
int proto_store_note_put(struct proto_txn *t, int kind, const uint8_t *key,
    size_t keylen, const void *note, size_t len);
int proto_store_note_get(struct proto_txn *t, int kind, const uint8_t *key,
    size_t keylen, void *out, size_t cap, size_t *len);

/*
 * Per-hub position: the epoch and last applied seq of each hub's stream.
 * proto_store_pos_get returns MX_ENOTFOUND for a hub never seen.
 */
int proto_store_pos_get(
    struct proto_txn *t, const char *hub_id, uint64_t *epoch, uint64_t *seq);
int proto_store_pos_put(
    struct proto_txn *t, const char *hub_id, uint64_t epoch, uint64_t seq);
/*
 * proto_store_pos_del - forget a hub's position (write txn): the next
 * batch of that hub waits for a snapshot, as for a hub never seen.
 * Returns 0 (whether or not there was one), MX_EINVAL, MX_ESTATE, or
 * MX_EFULL / MX_EIO (the txn is then dead).
 */
int proto_store_pos_del(struct proto_txn *t, const char *hub_id);
/*
 * proto_store_each_pos - fn(arg, hub_id, epoch, seq) for every hub with a
 * position, in id order; a non-zero return from fn stops the walk and is
 * returned. A damaged entry is MX_EIO. Returns 0, MX_EINVAL, MX_ESTATE,
 * MX_EIO or fn's return.
 */
int proto_store_each_pos(struct proto_txn *t,
    int (*fn)(void *arg, const char *hub_id, uint64_t epoch, uint64_t seq),
    void *arg);

#endif /* PROTO_STORE_H */
