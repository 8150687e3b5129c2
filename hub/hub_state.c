/*
 * hub_state.c - the hub's records, its update stream and the audit log
 *
 * Every change (a rule's record, a feed's record, a revoke) is applied to
 * the record store inside one open write transaction and queued. A flush
 * (every batch_time, or when the queue is full) reserves the next seqs in
 * the same transaction, commits, appends the audit lines and fsyncs them,
 * and only then signs and hands out the update batches. So a crash never
 * reuses a seq and never loses a committed record: at worst a reserved seq
 * was never published, which an edge sees as a gap and heals from the next
 * snapshot. A store without a position starts a new epoch (the current
 * unix ms, so a newer epoch compares larger).
 *
 * Snapshots read one transaction: the position and every live record are
 * consistent, chunked HUB_BATCH_RECORDS records at a time, signed and
 * published retained; chunks a bigger previous snapshot left behind are
 * cleared with empty retained payloads (their count is kept in
 * data_dir/snapshot.count).
 * Trust: records reaching here passed proto_record_check (feeds) or were
 * built by rules. Limits: HUB_STATE_PENDING changes per batch window (a
 * full queue forces a flush).
 */
#include "hub/hub.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/mx_alloc.h"
#include "lib/mx_buf.h"
#include "lib/mx_endian.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "lib/mx_time.h"
#include "proto/proto_store.h"
#include "proto/proto_topic.h"

#define HUB_STATE_PENDING 8192 /* changes queued before a forced flush */
#define HUB_STATE_WHO_MAX HUB_FEED_WHO_MAX

struct hub_state {
	const struct hub_conf *c;
	struct proto_store *st;
	struct proto_txn *w; /* the open batch, or NULL */
	struct proto_txn *r; /* reusable read handle */
	FILE *audit;
	char dir[4096];
	uint64_t epoch;
	uint64_t seq;     /* last seq committed */
	uint64_t snap_id; /* last snapshot id published */
	size_t n_pending;
	struct proto_record *pending; /* HUB_STATE_PENDING */
	char (*who)[HUB_STATE_WHO_MAX];
	hub_publish_fn auto_publish; /* for a flush forced by a full queue */
	void *auto_arg;
};

/* hub_state_open - store, position, audit log */
int
hub_state_open(
    const struct hub_conf *c, struct hub_state **out, char *err, size_t errlen)
{
	struct hub_state *s = mx_calloc(1, sizeof(*s));
	struct proto_store_opts o;
	struct proto_txn *t = NULL;
	char path[4200];
	int rc;

	s->c = c;
	s->pending = mx_calloc(HUB_STATE_PENDING, sizeof(*s->pending));
	s->who = mx_calloc(HUB_STATE_PENDING, sizeof(*s->who));
	snprintf(s->dir, sizeof(s->dir), "%s", c->data_dir);
	snprintf(path, sizeof(path), "%s/records", c->data_dir);
	if (mkdir(path, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create '%.256s': %s", path,
		    strerror(errno));
		rc = MX_EIO;
		goto fail;
	}
	memset(&o, 0, sizeof(o));
	o.map_bytes = c->store_map_size;
	o.notes = 1; /* provenance beside each record */
	if ((rc = proto_store_open(path, &o, &s->st)) != 0) {
		snprintf(err, errlen, "record store '%.256s': %s", path,
		    mx_strerror(rc));
		goto fail;
	}
	if ((rc = proto_store_write_begin(s->st, &t)) != 0)
		goto store_fail;
	rc = proto_store_pos_get(t, c->hub_id, &s->epoch, &s->seq);
	if (rc == MX_ENOTFOUND) {
		s->epoch = mx_unix_ms();
		s->seq = 0;
		mx_info("new epoch %llu (no stream position in the store)",
		    (unsigned long long)s->epoch);
		if ((rc = proto_store_pos_put(t, c->hub_id, s->epoch, 0)) !=
		        0 ||
		    (rc = proto_store_commit(t)) != 0) {
			t = NULL;
			goto store_fail;
		}
	} else if (rc == 0) {
		proto_store_abort(t);
		mx_info("resuming epoch %llu at seq %llu",
		    (unsigned long long)s->epoch, (unsigned long long)s->seq);
	} else {
		goto store_fail;
	}
	t = NULL;
	if ((rc = proto_store_read_begin(s->st, &s->r)) != 0)
		goto store_fail;
	proto_store_read_end(s->r);
	snprintf(path, sizeof(path), "%s/audit.log", c->data_dir);
	s->audit = fopen(path, "ae");
	if (s->audit == NULL) {
		snprintf(err, errlen, "cannot open audit log '%.256s': %s",
		    path, strerror(errno));
		rc = MX_EIO;
		goto fail;
	}
	hub_metrics_set(HUB_M_EPOCH, (int64_t)s->epoch);
	hub_metrics_set(HUB_M_SEQ, (int64_t)s->seq);
	*out = s;
	return 0;
store_fail:
	if (t != NULL)
		proto_store_abort(t);
	snprintf(err, errlen, "record store: %s", mx_strerror(rc));
fail:
	hub_state_close(s);
	return rc;
}

/* hub_state_close - roll back an open batch and close */
void
hub_state_close(struct hub_state *s)
{
	if (s == NULL)
		return;
	if (s->w != NULL)
		proto_store_abort(s->w);
	if (s->r != NULL)
		proto_store_read_free(s->r);
	proto_store_close(s->st);
	if (s->audit != NULL)
		fclose(s->audit);
	mx_free(s->pending);
	mx_free(s->who);
	mx_free(s);
}

/* hub_state_epoch - the epoch published */
uint64_t
hub_state_epoch(const struct hub_state *s)
{
	return s->epoch;
}

/* hub_state_seq - the last seq committed */
uint64_t
hub_state_seq(const struct hub_state *s)
{
	return s->seq;
}

/* hub_state_pending - changes in the open batch */
size_t
hub_state_pending(const struct hub_state *s)
{
	return s->n_pending;
}

/* hub_state_set_publisher - where a forced flush publishes */
void
hub_state_set_publisher(struct hub_state *s, hub_publish_fn fn, void *arg)
{
	s->auto_publish = fn;
	s->auto_arg = arg;
}

/* hub_state_begin - the open batch, started when needed */
static int
hub_state_begin(struct hub_state *s)
{
	int rc;

	if (s->w != NULL)
		return 0;
	if ((rc = proto_store_write_begin(s->st, &s->w)) != 0) {
		s->w = NULL;
		hub_metrics_inc(HUB_M_STORE_ERRORS);
	}
	return rc;
}

/* hub_state_lost - the open batch failed: roll it back, count the loss */
static void
hub_state_lost(struct hub_state *s, int rc)
{
	mx_warn("record store: %s; %zu pending changes rolled back",
	    mx_strerror(rc), s->n_pending);
	if (s->w != NULL)
		proto_store_abort(s->w);
	s->w = NULL;
	hub_metrics_inc(HUB_M_STORE_ERRORS);
	hub_metrics_add(HUB_M_PENDING_FULL, (int64_t)s->n_pending);
	s->n_pending = 0;
}

/* hub_state_get - a live record, pending changes included */
int
hub_state_get(struct hub_state *s, int kind, const uint8_t *key, size_t len,
    struct proto_record *out)
{
	uint64_t now = mx_unix_ms() / 1000u;
	int rc;

	if (s->w != NULL)
		return proto_store_get(s->w, kind, key, len, now, out);
	if ((rc = proto_store_read_renew(s->r)) != 0)
		return rc;
	rc = proto_store_get(s->r, kind, key, len, now, out);
	proto_store_read_end(s->r);
	return rc;
}

/*
 * The provenance note of a record (docs/hub.md "Provenance"):
 * [version 1][first_ms le64][changes le32][who bytes]. first_ms: when the
 * record was made (it is kept while the record is renewed or changed;
 * a record deleted and made again starts over, its note having gone
 * with it); changes: puts since then; who: the last submitter or rule.
 */
#define HUB_NOTE_V 1
#define HUB_NOTE_HDR 13

/* hub_state_note_decode - a note into p; MX_EIO when damaged */
static int
hub_state_note_decode(const uint8_t *b, size_t len, struct hub_prov *p)
{
	size_t wl;

	if (len < HUB_NOTE_HDR || b[0] != HUB_NOTE_V)
		return MX_EIO;
	wl = len - HUB_NOTE_HDR;
	if (wl >= sizeof(p->who))
		wl = sizeof(p->who) - 1;
	p->first_ms = mx_get_le64(b + 1);
	p->changes = mx_get_le32(b + 9);
	memcpy(p->who, b + HUB_NOTE_HDR, wl);
	p->who[wl] = '\0';
	return 0;
}

/* hub_state_note - write the note of a put, keeping first_ms */
static int
hub_state_note(
    struct hub_state *s, const struct proto_record *r, const char *who)
{
	uint8_t b[HUB_NOTE_HDR + HUB_STATE_WHO_MAX];
	struct hub_prov p;
	size_t len = 0, wl = strnlen(who, HUB_STATE_WHO_MAX - 1);
	int rc;

	rc = proto_store_note_get(
	    s->w, r->kind, r->key, r->key_len, b, sizeof(b), &len);
	if (rc == 0 && hub_state_note_decode(b, len, &p) == 0) {
		if (p.changes < UINT32_MAX)
			p.changes++;
	} else {
		p.first_ms = r->ts_ms;
		p.changes = 1;
	}
	b[0] = HUB_NOTE_V;
	mx_put_le(b + 1, p.first_ms, 8);
	mx_put_le(b + 9, p.changes, 4);
	memcpy(b + HUB_NOTE_HDR, who, wl);
	return proto_store_note_put(
	    s->w, r->kind, r->key, r->key_len, b, HUB_NOTE_HDR + wl);
}

/* hub_state_provenance - the note of a live record */
int
hub_state_provenance(struct hub_state *s, int kind, const uint8_t *key,
    size_t len, struct hub_prov *out)
{
	uint8_t b[PROTO_STORE_NOTE_MAX];
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (s->w != NULL) {
		rc = proto_store_note_get(
		    s->w, kind, key, len, b, sizeof(b), &n);
	} else {
		if ((rc = proto_store_read_renew(s->r)) != 0)
			return rc;
		rc = proto_store_note_get(
		    s->r, kind, key, len, b, sizeof(b), &n);
		proto_store_read_end(s->r);
	}
	return rc != 0 ? rc : hub_state_note_decode(b, n, out);
}

/* hub_state_change - apply, queue, remember who */
int
hub_state_change(
    struct hub_state *s, const struct proto_record *r, const char *who)
{
	int rc;

	/* checked first: a bad record must not cost the open batch */
	if ((rc = proto_record_check(r)) != 0)
		return rc;
	if (s->n_pending >= HUB_STATE_PENDING) {
		if (s->auto_publish == NULL)
			return MX_ELIMIT;
		if ((rc = hub_state_flush(s, s->auto_publish, s->auto_arg)) !=
		    0)
			return rc;
	}
	if ((rc = hub_state_begin(s)) != 0)
		return rc;
	if (r->op == PROTO_OP_PUT && (rc = hub_state_note(s, r, who)) != 0) {
		hub_state_lost(s, rc);
		return rc;
	}
	if ((rc = proto_store_apply(s->w, r)) != 0) {
		/* a failed write leaves the transaction unusable */
		hub_state_lost(s, rc);
		return rc;
	}
	s->pending[s->n_pending] = *r;
	snprintf(s->who[s->n_pending], HUB_STATE_WHO_MAX, "%s", who);
	s->n_pending++;
	return 0;
}

/* hub_state_feed_serial - last serial accepted from a source */
uint64_t
hub_state_feed_serial(struct hub_state *s, const char *source)
{
	uint64_t epoch, serial = 0;
	int rc;

	if (s->w != NULL) {
		if (proto_store_pos_get(s->w, source, &epoch, &serial) != 0)
			serial = 0;
		return serial;
	}
	if (proto_store_read_renew(s->r) != 0)
		return 0;
	rc = proto_store_pos_get(s->r, source, &epoch, &serial);
	proto_store_read_end(s->r);
	return rc == 0 ? serial : 0;
}

/* hub_state_set_feed_serial - inside the open batch */
int
hub_state_set_feed_serial(
    struct hub_state *s, const char *source, uint64_t serial)
{
	int rc;

	if ((rc = hub_state_begin(s)) != 0)
		return rc;
	if ((rc = proto_store_pos_put(s->w, source, 0, serial)) != 0)
		hub_state_lost(s, rc);
	return rc;
}

/* hub_state_audit - one line per change, after its commit */
static void
hub_state_audit(struct hub_state *s, const struct proto_record *r,
    const char *who, uint64_t seq)
{
	char key[512];
	const char *kind = proto_kind_name(r->kind);

	if (proto_key_format(r->kind, r->key, r->key_len, key, sizeof(key)) !=
	    0)
		snprintf(key, sizeof(key), "?");
	fprintf(s->audit,
	    "ts_ms=%llu epoch=%llu seq=%llu op=%s kind=%s key=%s action=%s "
	    "score=%d expires=%llu%s source=%.*s by=%s reason=\"%.*s\"\n",
	    (unsigned long long)r->ts_ms, (unsigned long long)s->epoch,
	    (unsigned long long)seq, r->op == PROTO_OP_DEL ? "del" : "put",
	    kind ? kind : "?", key, proto_action_name(r->action) ?: "?",
	    (int)r->score, (unsigned long long)r->expires,
	    (r->flags & PROTO_RF_OBSERVE) ? " mode=observe" : "",
	    (int)r->source_len, r->source, who, (int)r->reason_len, r->reason);
}

/* hub_state_sign - sign one body as a message of type into out */
static int
hub_state_sign(
    struct hub_state *s, unsigned type, struct mx_buf *body, struct mx_buf *out)
{
	mx_buf_reset(out);
	return proto_sign_message(
	    out, s->c->sign_key, type, body->data, body->len);
}

/* hub_state_flush - commit, audit, sign, publish in seq order */
int
hub_state_flush(struct hub_state *s, hub_publish_fn publish, void *arg)
{
	struct proto_batch_hdr h;
	struct mx_buf body, msg;
	char topic[PROTO_TOPIC_MAX];
	size_t nb, i, o;
	uint64_t first;
	int rc;

	if (s->w == NULL)
		return 0;
	nb = (s->n_pending + HUB_BATCH_RECORDS - 1) / HUB_BATCH_RECORDS;
	first = s->seq + 1;
	if (nb > 0 && (rc = proto_store_pos_put(
	                   s->w, s->c->hub_id, s->epoch, s->seq + nb)) != 0) {
		hub_state_lost(s, rc);
		return rc;
	}
	rc = proto_store_commit(s->w);
	s->w = NULL;
	if (rc != 0) {
		s->w = NULL;
		hub_state_lost(s, rc);
		return rc;
	}
	if (nb == 0)
		return 0;
	s->seq += nb;
	for (i = 0; i < s->n_pending; i++)
		hub_state_audit(s, &s->pending[i], s->who[i],
		    first + i / HUB_BATCH_RECORDS);
	if (fflush(s->audit) != 0 || fsync(fileno(s->audit)) != 0)
		mx_warn("audit log: %s", strerror(errno));
	hub_metrics_set(HUB_M_SEQ, (int64_t)s->seq);
	if (proto_topic_updates(topic, sizeof(topic), s->c->hub_id) != 0)
		mx_panic("hub id %s makes no topic", s->c->hub_id);
	mx_buf_init(&body, PROTO_MSG_MAX);
	mx_buf_init(&msg, PROTO_MSG_MAX);
	for (i = 0, o = 0; i < nb; i++, o += HUB_BATCH_RECORDS) {
		size_t n = s->n_pending - o < HUB_BATCH_RECORDS
		               ? s->n_pending - o
		               : HUB_BATCH_RECORDS;

		memset(&h, 0, sizeof(h));
		h.hub_id.p = (const uint8_t *)s->c->hub_id;
		h.hub_id.len = strlen(s->c->hub_id);
		h.epoch = s->epoch;
		h.seq = first + i;
		h.ts_ms = mx_unix_ms();
		mx_buf_reset(&body);
		rc = proto_update_body_encode(&body, &h, s->pending + o, n);
		if (rc == 0)
			rc = hub_state_sign(s, PROTO_MSG_UPDATE, &body, &msg);
		if (rc != 0) {
			/* committed but not sent: the edges see a gap */
			mx_warn("update seq %llu: cannot encode: %s",
			    (unsigned long long)h.seq, mx_strerror(rc));
			hub_metrics_inc(HUB_M_OUTQ_DROPPED);
			continue;
		}
		publish(arg, topic, msg.data, msg.len, 0);
		hub_metrics_inc(HUB_M_BATCHES);
		hub_metrics_add(HUB_M_RECORDS_OUT, (int64_t)n);
	}
	mx_buf_fini(&body);
	mx_buf_fini(&msg);
	s->n_pending = 0;
	return 0;
}

/* snapshot walk state */
struct hub_state_snap {
	struct hub_state *s;
	hub_publish_fn publish;
	void *arg;
	struct proto_batch_hdr h;
	struct proto_record *recs; /* HUB_BATCH_RECORDS */
	size_t n;                  /* records in recs */
	size_t total;              /* records seen (count pass) */
	int is_count;              /* first pass: count only */
	struct mx_buf body, msg;
	int rc;
};

/* hub_state_snap_chunk - sign and publish the records collected */
static int
hub_state_snap_chunk(struct hub_state_snap *w)
{
	char topic[PROTO_TOPIC_MAX];
	int rc;

	mx_buf_reset(&w->body);
	rc = proto_snapshot_body_encode(&w->body, &w->h, w->recs, w->n);
	if (rc == 0)
		rc =
		    hub_state_sign(w->s, PROTO_MSG_SNAPSHOT, &w->body, &w->msg);
	if (rc == 0)
		rc = proto_topic_snapshot(
		    topic, sizeof(topic), w->s->c->hub_id, w->h.index);
	if (rc != 0)
		return rc;
	w->publish(w->arg, topic, w->msg.data, w->msg.len, 1);
	w->h.index++;
	w->n = 0;
	return 0;
}

/* hub_state_snap_rec - one live record of the walk */
static int
hub_state_snap_rec(void *arg, const struct proto_record *r)
{
	struct hub_state_snap *w = arg;

	if (w->is_count) {
		w->total++;
		return 0;
	}
	w->recs[w->n++] = *r;
	if (w->n == HUB_BATCH_RECORDS)
		return hub_state_snap_chunk(w);
	return 0;
}

/* hub_state_snap_prev - the chunk count of the previous snapshot */
static uint32_t
hub_state_snap_prev(struct hub_state *s, int write, uint32_t count)
{
	char path[4200];
	unsigned long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/snapshot.count", s->dir);
	if (write) {
		f = fopen(path, "we");
		if (f != NULL) {
			fprintf(f, "%u\n", count);
			fclose(f);
		}
		return count;
	}
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu", &v) != 1 || v > PROTO_SNAPSHOT_CHUNKS_MAX)
		v = 0;
	fclose(f);
	return (uint32_t)v;
}

/* hub_state_snapshot - every live record, retained, in signed chunks */
int
hub_state_snapshot(struct hub_state *s, hub_publish_fn publish, void *arg)
{
	struct hub_state_snap w;
	char topic[PROTO_TOPIC_MAX];
	uint64_t now_ms = mx_unix_ms(), epoch, seq;
	uint32_t prev, n;
	int kind, pass, rc;

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.publish = publish;
	w.arg = arg;
	w.recs = mx_calloc(HUB_BATCH_RECORDS, sizeof(*w.recs));
	mx_buf_init(&w.body, PROTO_MSG_MAX);
	mx_buf_init(&w.msg, PROTO_MSG_MAX);
	if ((rc = proto_store_read_renew(s->r)) != 0)
		goto leave;
	if ((rc = proto_store_pos_get(s->r, s->c->hub_id, &epoch, &seq)) != 0)
		goto leave_txn;
	s->snap_id = now_ms > s->snap_id ? now_ms : s->snap_id + 1;
	w.h.hub_id.p = (const uint8_t *)s->c->hub_id;
	w.h.hub_id.len = strlen(s->c->hub_id);
	w.h.epoch = epoch;
	w.h.seq = seq;
	w.h.ts_ms = now_ms;
	w.h.snap_id = s->snap_id;
	/* two passes over one transaction: count, then chunks */
	for (pass = 0; pass < 2; pass++) {
		w.is_count = pass == 0;
		if (pass == 1) {
			w.h.count =
			    (uint32_t)((w.total + HUB_BATCH_RECORDS - 1) /
			               HUB_BATCH_RECORDS);
			if (w.h.count == 0)
				w.h.count =
				    1; /* an empty snapshot: one chunk */
			if (w.h.count > PROTO_SNAPSHOT_CHUNKS_MAX) {
				rc = MX_ELIMIT;
				goto leave_txn;
			}
		}
		for (kind = PROTO_KIND_IP; kind <= PROTO_KIND_CONFIG; kind++) {
			rc = proto_store_each(
			    s->r, kind, now_ms / 1000u, hub_state_snap_rec, &w);
			if (rc != 0)
				goto leave_txn;
		}
	}
	if (w.n > 0 || w.h.index == 0)
		rc = hub_state_snap_chunk(&w);
leave_txn:
	proto_store_read_end(s->r);
	if (rc != 0)
		goto leave;
	prev = hub_state_snap_prev(s, 0, 0);
	for (n = w.h.count; n < prev; n++)
		if (proto_topic_snapshot(
		        topic, sizeof(topic), s->c->hub_id, n) == 0)
			publish(arg, topic, NULL, 0, 1);
	hub_state_snap_prev(s, 1, w.h.count);
	hub_metrics_inc(HUB_M_SNAPSHOTS);
	hub_metrics_set(HUB_M_SNAPSHOT_RECORDS, (int64_t)w.total);
	hub_metrics_set(HUB_M_SNAPSHOT_MS, (int64_t)now_ms);
	mx_info("snapshot %llu: %zu records in %u chunks at seq %llu",
	    (unsigned long long)s->snap_id, w.total, w.h.count,
	    (unsigned long long)seq);
leave:
	if (rc != 0)
		mx_warn("snapshot: %s", mx_strerror(rc));
	mx_buf_fini(&w.body);
	mx_buf_fini(&w.msg);
	mx_free(w.recs);
	return rc;
}

/* hub_state_each - live committed records of a kind */
int
hub_state_each(struct hub_state *s, int kind,
    int (*fn)(void *arg, const struct proto_record *r), void *arg)
{
	int rc;

	if ((rc = proto_store_read_renew(s->r)) != 0)
		return rc;
	rc = proto_store_each(s->r, kind, mx_unix_ms() / 1000u, fn, arg);
	proto_store_read_end(s->r);
	return rc;
}

/* hub_state_sweep - expired records leave the hub's store */
void
hub_state_sweep(struct hub_state *s)
{
	size_t removed = 0;
	int rc;

	if (s->w != NULL)
		return; /* one writer: the open batch goes first */
	rc = proto_store_sweep(s->st, mx_unix_ms() / 1000u, 1000, &removed);
	if (rc != 0)
		mx_warn("record store sweep: %s", mx_strerror(rc));
	else if (removed > 0)
		mx_debug("swept %zu expired records", removed);
}
