/*
 * feed_state.c - the state of one feed source: its last import and its
 * serials
 *
 * A small LMDB environment per source in STATE_DIR/SOURCE/ (a source id
 * is a safe path step: proto_id_check refuses '/', "." and ".."), with
 * two databases:
 *   entries  key: kind byte + canonical proto key
 *            value: [layout 1][action][flags 0][tag_len][score int32 LE]
 *                   [expires uint64 LE][tag]
 *   meta     "layout" uint32 LE 1
 *            "serial" uint64 LE: the last serial reserved for a message
 *            "import" [ts_ms][entries][serial] uint64 LE each: the last
 *                     import recorded, and the serial reserved before it
 * Raw LMDB rather than proto_store: proto_store is the record store of
 * edges and hubs (a database per kind, expiry and net indexes, origins);
 * a feed only needs a sorted set of keys to diff against, and a store of
 * its own keeps its layout free to change.
 * Serials are committed (fsync) before a message carrying them leaves,
 * so none is reused after a crash; the entries change only once the
 * broker acknowledged every message of the import (feed_diff_commit), so
 * a failed run leaves the previous import as the baseline and the next
 * run sends the whole difference again, under new serials.
 * A writer holds an exclusive flock on "run.lock" for the whole run, so
 * two runs for one source cannot interleave their diffs.
 * Trust: the files are ours but may come from an older or damaged
 * program: every value read is checked (layout, lengths, key form).
 * Limits: map_bytes; a full map is MX_EFULL and the transaction aborts.
 */
#include "feeds/feed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "lib/mx_alloc.h"
#include "lib/mx_endian.h"
#include "lib/mx_err.h"
#include "proto/proto_topic.h"

#define FEED_STATE_LAYOUT 1 /* value and database layout */
#define FEED_STATE_VHDR 16  /* fixed part of an entry value */

struct feed_state {
	MDB_env *env;     /* NULL: read-only and never written */
	MDB_dbi entries;  /* last import */
	MDB_dbi meta;     /* serial, import summary, layout */
	int lock_fd;      /* run.lock, or -1 */
	int is_read_only; /* opened for --dry-run */
};

struct feed_state_iter {
	MDB_txn *txn;
	MDB_cursor *cur;
	int is_first;
};

struct feed_state_txn {
	struct feed_state *st;
	MDB_txn *txn;
};

/* feed_state_rc - an LMDB code as ours */
static int
feed_state_rc(int rc)
{
	if (rc == 0)
		return 0;
	if (rc == MDB_NOTFOUND)
		return MX_ENOTFOUND;
	if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
		return MX_EFULL;
	return MX_EIO;
}

/* feed_state_meta_get - a meta value of exactly len bytes */
static int
feed_state_meta_get(
    MDB_txn *txn, MDB_dbi dbi, const char *name, uint8_t *out, size_t len)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc != 0)
		return feed_state_rc(rc);
	if (v.mv_size != len)
		return MX_EVERSION;
	memcpy(out, v.mv_data, len);
	return 0;
}

/* feed_state_meta_put - set a meta value */
static int
feed_state_meta_put(
    MDB_txn *txn, MDB_dbi dbi, const char *name, const uint8_t *val, size_t len)
{
	MDB_val k = {strlen(name), (void *)name}, v = {len, (void *)val};

	return feed_state_rc(mdb_put(txn, dbi, &k, &v, 0));
}

/* feed_state_setup - databases and layout, in a first transaction */
static int
feed_state_setup(struct feed_state *st, char *err, size_t errlen)
{
	unsigned flags = st->is_read_only ? 0 : MDB_CREATE;
	uint8_t layout[4] = {FEED_STATE_LAYOUT, 0, 0, 0}, got[4];
	MDB_txn *txn = NULL;
	int rc;

	rc = mdb_txn_begin(
	    st->env, NULL, st->is_read_only ? MDB_RDONLY : 0, &txn);
	if (rc != 0)
		goto lmdb;
	if ((rc = mdb_dbi_open(txn, "entries", flags, &st->entries)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", flags, &st->meta)) != 0)
		goto lmdb;
	rc = feed_state_meta_get(txn, st->meta, "layout", got, sizeof(got));
	if (rc == MX_ENOTFOUND && !st->is_read_only) {
		rc = feed_state_meta_put(
		    txn, st->meta, "layout", layout, sizeof(layout));
	} else if (rc == 0 && memcmp(got, layout, sizeof(got)) != 0) {
		snprintf(err, errlen, "state layout %u is not %d", got[0],
		    FEED_STATE_LAYOUT);
		mdb_txn_abort(txn);
		return MX_EVERSION;
	}
	if (rc != 0 && rc != MX_ENOTFOUND) {
		snprintf(err, errlen, "state meta: %s", mx_strerror(rc));
		mdb_txn_abort(txn);
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto lmdb;
	}
	return 0;
lmdb:
	snprintf(err, errlen, "state: %s", mdb_strerror(rc));
	if (txn != NULL)
		mdb_txn_abort(txn);
	return feed_state_rc(rc);
}

/* feed_state_open - open the source's environment */
int
feed_state_open(const char *dir, const char *source, uint64_t map_bytes,
    int read_only, struct feed_state **out, char *err, size_t errlen)
{
	struct feed_state *st = mx_calloc(1, sizeof(*st));
	char path[4200];
	struct stat sb;
	int n, rc;

	st->lock_fd = -1;
	st->is_read_only = read_only;
	if (proto_id_check(source, strlen(source)) != 0) {
		snprintf(err, errlen, "source '%.64s' is not an id", source);
		rc = MX_EINVAL;
		goto fail;
	}
	n = snprintf(path, sizeof(path), "%s/%s", dir, source);
	if (n < 0 || (size_t)n >= sizeof(path) - 16) {
		snprintf(err, errlen, "state_dir: path too long");
		rc = MX_EINVAL;
		goto fail;
	}
	if (read_only) {
		char data[4300];

		snprintf(data, sizeof(data), "%s/data.mdb", path);
		if (stat(data, &sb) != 0) {
			*out = st; /* never written: no previous import */
			return 0;
		}
	} else {
		char lock[4300];

		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot make %.256s: %s", path,
			    strerror(errno));
			rc = MX_EIO;
			goto fail;
		}
		snprintf(lock, sizeof(lock), "%s/run.lock", path);
		st->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (st->lock_fd < 0) {
			snprintf(err, errlen, "cannot open %.256s: %s", lock,
			    strerror(errno));
			rc = MX_EIO;
			goto fail;
		}
		if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
			snprintf(err, errlen,
			    "another run of source %s holds %.256s", source,
			    lock);
			rc = MX_EEXIST;
			goto fail;
		}
	}
	if ((rc = mdb_env_create(&st->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->env, 2)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, map_bytes)) != 0 ||
	    (rc = mdb_env_open(st->env, path,
	         MDB_NOTLS | (read_only ? MDB_RDONLY : 0), 0600)) != 0) {
		snprintf(
		    err, errlen, "state %.256s: %s", path, mdb_strerror(rc));
		rc = feed_state_rc(rc);
		goto fail;
	}
	if ((rc = feed_state_setup(st, err, errlen)) != 0)
		goto fail;
	*out = st;
	return 0;
fail:
	feed_state_close(st);
	return rc;
}

/* feed_state_close - close and unlock */
void
feed_state_close(struct feed_state *st)
{
	if (st == NULL)
		return;
	if (st->env != NULL)
		mdb_env_close(st->env);
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
	mx_free(st);
}

/* feed_state_get_info - the last import and the serials */
int
feed_state_get_info(struct feed_state *st, struct feed_state_info *out)
{
	uint8_t imp[24], ser[8];
	MDB_txn *txn;
	int rc;

	memset(out, 0, sizeof(*out));
	if (st->env == NULL)
		return 0;
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0)
		return feed_state_rc(rc);
	rc = feed_state_meta_get(txn, st->meta, "import", imp, sizeof(imp));
	if (rc == 0) {
		out->has_import = 1;
		out->ts_ms = mx_get_le64(imp);
		out->entries = mx_get_le64(imp + 8);
		out->serial = mx_get_le64(imp + 16);
	} else if (rc != MX_ENOTFOUND) {
		goto out;
	}
	rc = feed_state_meta_get(txn, st->meta, "serial", ser, sizeof(ser));
	if (rc == 0)
		out->serial_max = mx_get_le64(ser);
	else if (rc == MX_ENOTFOUND)
		rc = 0;
out:
	mdb_txn_abort(txn);
	return rc;
}

/* feed_state_serial_reserve - n serials, committed before use */
int
feed_state_serial_reserve(
    struct feed_state *st, size_t n, uint64_t now_ms, uint64_t *first)
{
	uint8_t ser[8];
	uint64_t last = 0, f, l;
	MDB_txn *txn;
	int rc;

	if (st->is_read_only || st->env == NULL || n == 0)
		return MX_ESTATE;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return feed_state_rc(rc);
	rc = feed_state_meta_get(txn, st->meta, "serial", ser, sizeof(ser));
	if (rc == 0)
		last = mx_get_le64(ser);
	else if (rc != MX_ENOTFOUND)
		goto fail;
	/* strictly increasing across runs, and above any earlier clock */
	f = now_ms > last ? now_ms : last + 1;
	if (last == UINT64_MAX || __builtin_add_overflow(f, n - 1, &l)) {
		rc = MX_ERANGE;
		goto fail;
	}
	mx_put_le(ser, l, 8);
	if ((rc = feed_state_meta_put(
	         txn, st->meta, "serial", ser, sizeof(ser))) != 0)
		goto fail;
	if ((rc = mdb_txn_commit(txn)) != 0)
		return feed_state_rc(rc);
	*first = f;
	return 0;
fail:
	mdb_txn_abort(txn);
	return rc;
}

/* feed_state_iter_begin - a read transaction and a cursor */
int
feed_state_iter_begin(struct feed_state *st, struct feed_state_iter **out)
{
	struct feed_state_iter *it = mx_calloc(1, sizeof(*it));
	int rc;

	it->is_first = 1;
	if (st->env == NULL) {
		*out = it; /* nothing imported yet: an empty walk */
		return 0;
	}
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &it->txn)) != 0 ||
	    (rc = mdb_cursor_open(it->txn, st->entries, &it->cur)) != 0) {
		feed_state_iter_end(it);
		return feed_state_rc(rc);
	}
	*out = it;
	return 0;
}

/* feed_state_decode - a stored entry from its key and value */
static int
feed_state_decode(const MDB_val *k, const MDB_val *v, struct feed_stored *out)
{
	const uint8_t *kp = k->mv_data, *vp = v->mv_data;
	struct proto_record r;
	uint32_t score;

	memset(out, 0, sizeof(*out));
	if (k->mv_size < 2 || k->mv_size > 1 + PROTO_KEY_MAX ||
	    v->mv_size < FEED_STATE_VHDR)
		return MX_EIO;
	if (vp[0] != FEED_STATE_LAYOUT)
		return MX_EVERSION;
	if (vp[3] > FEED_TAG_MAX ||
	    v->mv_size != FEED_STATE_VHDR + (size_t)vp[3] ||
	    vp[1] > PROTO_ACT_MAX)
		return MX_EIO;
	out->e.kind = kp[0];
	out->e.key_len = (uint8_t)(k->mv_size - 1);
	memcpy(out->e.key, kp + 1, k->mv_size - 1);
	out->e.tag_len = vp[3];
	memcpy(out->e.tag, vp + FEED_STATE_VHDR, vp[3]);
	out->action = vp[1];
	score = mx_get_le32(vp + 4);
	memcpy(&out->score, &score, sizeof(score));
	out->expires = mx_get_le64(vp + 8);
	/* a key that would not pass as a record is damage, not an entry */
	memset(&r, 0, sizeof(r));
	r.kind = out->e.kind;
	r.op = PROTO_OP_DEL;
	r.key_len = out->e.key_len;
	memcpy(r.key, out->e.key, out->e.key_len);
	if ((r.kind != PROTO_KIND_IP && r.kind != PROTO_KIND_NET &&
	        r.kind != PROTO_KIND_DOMAIN) ||
	    proto_record_check(&r) != 0)
		return MX_EIO;
	return 0;
}

/* feed_state_iter_next - the next stored entry */
int
feed_state_iter_next(struct feed_state_iter *it, struct feed_stored *out)
{
	MDB_val k, v;
	int rc;

	if (it->cur == NULL)
		return MX_ENOTFOUND;
	rc = mdb_cursor_get(
	    it->cur, &k, &v, it->is_first ? MDB_FIRST : MDB_NEXT);
	it->is_first = 0;
	if (rc != 0)
		return feed_state_rc(rc);
	return feed_state_decode(&k, &v, out);
}

/* feed_state_iter_end - close the cursor and the transaction */
void
feed_state_iter_end(struct feed_state_iter *it)
{
	if (it == NULL)
		return;
	if (it->cur != NULL)
		mdb_cursor_close(it->cur);
	if (it->txn != NULL)
		mdb_txn_abort(it->txn);
	mx_free(it);
}

/* feed_state_write_begin - the write transaction of an import */
int
feed_state_write_begin(struct feed_state *st, struct feed_state_txn **out)
{
	struct feed_state_txn *t;
	MDB_txn *txn;
	int rc;

	if (st->is_read_only || st->env == NULL)
		return MX_ESTATE;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return feed_state_rc(rc);
	t = mx_calloc(1, sizeof(*t));
	t->st = st;
	t->txn = txn;
	*out = t;
	return 0;
}

/* feed_state_key - kind byte + key */
static size_t
feed_state_key(const struct feed_entry *e, uint8_t *k)
{
	k[0] = e->kind;
	memcpy(k + 1, e->key, e->key_len);
	return 1 + (size_t)e->key_len;
}

/* feed_state_put - store an entry as published */
int
feed_state_put(struct feed_state_txn *t, const struct feed_stored *s)
{
	uint8_t kb[1 + PROTO_KEY_MAX], vb[FEED_STATE_VHDR + FEED_TAG_MAX];
	uint32_t score;
	MDB_val k, v;

	if (s->e.tag_len > FEED_TAG_MAX)
		return MX_EINVAL;
	k.mv_size = feed_state_key(&s->e, kb);
	k.mv_data = kb;
	memcpy(&score, &s->score, sizeof(score));
	vb[0] = FEED_STATE_LAYOUT;
	vb[1] = s->action;
	vb[2] = 0;
	vb[3] = s->e.tag_len;
	mx_put_le(vb + 4, score, 4);
	mx_put_le(vb + 8, s->expires, 8);
	memcpy(vb + FEED_STATE_VHDR, s->e.tag, s->e.tag_len);
	v.mv_size = FEED_STATE_VHDR + (size_t)s->e.tag_len;
	v.mv_data = vb;
	return feed_state_rc(mdb_put(t->txn, t->st->entries, &k, &v, 0));
}

/* feed_state_del - forget an entry; absent is fine */
int
feed_state_del(struct feed_state_txn *t, const struct feed_entry *e)
{
	uint8_t kb[1 + PROTO_KEY_MAX];
	MDB_val k;
	int rc;

	k.mv_size = feed_state_key(e, kb);
	k.mv_data = kb;
	rc = mdb_del(t->txn, t->st->entries, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : feed_state_rc(rc);
}

/* feed_state_set_import - the import's summary, with the serial so far */
int
feed_state_set_import(
    struct feed_state_txn *t, uint64_t ts_ms, uint64_t entries)
{
	uint8_t imp[24], ser[8];
	uint64_t serial = 0;
	int rc;

	rc = feed_state_meta_get(
	    t->txn, t->st->meta, "serial", ser, sizeof(ser));
	if (rc == 0)
		serial = mx_get_le64(ser);
	else if (rc != MX_ENOTFOUND)
		return rc;
	mx_put_le(imp, ts_ms, 8);
	mx_put_le(imp + 8, entries, 8);
	mx_put_le(imp + 16, serial, 8);
	return feed_state_meta_put(
	    t->txn, t->st->meta, "import", imp, sizeof(imp));
}

/* feed_state_commit - commit (fsync) and free */
int
feed_state_commit(struct feed_state_txn *t)
{
	int rc = mdb_txn_commit(t->txn);

	mx_free(t);
	return feed_state_rc(rc);
}

/* feed_state_abort - drop and free */
void
feed_state_abort(struct feed_state_txn *t)
{
	if (t == NULL)
		return;
	mdb_txn_abort(t->txn);
	mx_free(t);
}
