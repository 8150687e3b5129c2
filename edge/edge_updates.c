/*
 * edge_updates.c - the hubs' signed updates and snapshots into the cache
 *
 * Each trusted hub publishes delta batches (mxs/v1/updates/<hub-id>) and
 * a retained snapshot in chunks (mxs/v1/snapshot/<hub-id>/<n>). This
 * receiver checks every message against the public keys configured for
 * the hub its topic names (one, or two while the hub's key is rotated:
 * either verifies), decodes and validates the whole body, then
 * places it by the hub's stream position in the store (proto_store_pos_*):
 * the next batch is applied in one write transaction, under the hub's
 * origin slot, together with the new position; an old one is stale; one
 * past a gap, of a newer epoch, or for a hub without a position waits in
 * a bounded buffer until a snapshot has been loaded. A snapshot replaces
 * every record of that hub (proto_store_clear_origin) and sets the
 * position to the last delta it includes; the buffered deltas after it
 * follow. Nothing here talks to the broker: edge_telemetry.c feeds it the
 * messages and asks it which hubs want their retained snapshot again, so
 * the unit tests drive it directly.
 *
 * Trust: topics and payloads come from the broker, and anyone who can
 * publish there may send anything. A hub's key decides what is applied;
 * a good signature does not make a body valid, so every record passes
 * proto_record_check (in the decoder) before the store sees any of
 * them, and a batch is applied whole or not at all. Limits: PROTO_MSG_MAX
 * per message, EDGE_UPD_BUF_BATCHES and EDGE_UPD_BUF_BYTES deferred per
 * hub (oldest dropped, counted), snapshot_max bytes of chunks per hub
 * (more: the snapshot is refused and counted), PROTO_SNAPSHOT_CHUNKS_MAX
 * chunks, one refusal log line per result per EDGE_UPD_LOG_MS.
 * Thread: one thread (the MQTT thread) per receiver.
 */
#include "edge/edge_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "lib/mx_time.h"
#include "proto/proto_sign.h"
#include "proto/proto_topic.h"

#define EDGE_UPD_BUF_BATCHES 256             /* deferred batches per hub */
#define EDGE_UPD_BUF_BYTES (16u << 20)       /* deferred body bytes per hub */
#define EDGE_UPD_SNAP_DEFAULT (256ULL << 20) /* snapshot_max when 0 */
#define EDGE_UPD_RESUB_MS 30000 /* ask for a retained snapshot at most so */
#define EDGE_UPD_LOG_MS 1000    /* one refusal line per result per second */
#define EDGE_UPD_HAVE_BYTES (PROTO_SNAPSHOT_CHUNKS_MAX / 8) /* bitmap */
#define EDGE_UPD_CHUNKS_MIN 16 /* first chunk array size */

/* the metric of each result follows EDGE_C_UPD_APPLIED in enum order */
_Static_assert(EDGE_C_UPD_IGNORED - EDGE_C_UPD_APPLIED == EDGE_UPD_IGNORED,
    "enum edge_ctr must list one counter per enum edge_upd_result");

static const char *const edge_upd_names[EDGE_UPD__COUNT] = {
    [EDGE_UPD_APPLIED] = "applied",
    [EDGE_UPD_STALE] = "stale",
    [EDGE_UPD_GAP] = "gap",
    [EDGE_UPD_DEFERRED] = "deferred",
    [EDGE_UPD_FORGED] = "forged",
    [EDGE_UPD_UNTRUSTED] = "untrusted",
    [EDGE_UPD_MALFORMED] = "malformed",
    [EDGE_UPD_REFUSED] = "refused",
    [EDGE_UPD_FAILED] = "failed",
    [EDGE_UPD_CHUNK_KEPT] = "chunk_kept",
    [EDGE_UPD_SNAP_LOADED] = "snapshot_loaded",
    [EDGE_UPD_SNAP_REFUSED] = "snapshot_refused",
    [EDGE_UPD_IGNORED] = "ignored",
};

/* a delta waiting for a snapshot: the verified body, kept as it came */
struct edge_upd_delta {
	uint64_t epoch; /* from its header */
	uint64_t seq;
	size_t len;     /* bytes in body */
	uint8_t body[]; /* the signed body map */
};

/* one verified snapshot chunk */
struct edge_upd_chunk {
	uint32_t index; /* chunk number */
	size_t len;     /* bytes in body */
	uint8_t *body;  /* the signed body map, owned */
};

/* what the receiver knows of one trusted hub */
struct edge_upd_hub {
	char id[PROTO_ID_MAX + 1];                 /* hub id */
	size_t n_keys;                             /* 1..EDGE_HUB_KEYS_MAX */
	struct proto_key *keys[EDGE_HUB_KEYS_MAX]; /* public keys, owned */
	size_t key_used;     /* keys[] index that verified last; n_keys: none */
	uint64_t key_log_ms; /* last HUB_KEY line (now_ms clock) */
	int needs_snap;      /* a gap or a newer epoch was seen */
	int resub_due;       /* wants its retained snapshot again */
	uint64_t resub_ms;   /* when it last asked (now_ms clock) */
	/* deferred deltas, sorted by (epoch, seq), no two alike */
	struct edge_upd_delta *buf[EDGE_UPD_BUF_BATCHES + 1];
	size_t n_buf;
	uint64_t buf_bytes; /* body bytes in buf */
	/* the snapshot being collected */
	int has_snap;
	uint64_t snap_id, snap_epoch, snap_seq;
	uint32_t snap_count;           /* chunks it has */
	struct edge_upd_chunk *chunks; /* n_chunks kept, in arrival order */
	size_t n_chunks, cap_chunks;
	uint8_t *have;       /* EDGE_UPD_HAVE_BYTES: bit per chunk kept */
	uint64_t snap_bytes; /* body bytes kept */
	/* a snapshot refused: its later chunks are ignored */
	int has_refused;
	uint64_t refused_id, refused_epoch;
};

struct edge_upd {
	struct proto_store *st; /* borrowed: outlives the receiver */
	uint64_t snapshot_max;  /* chunk bytes collected per snapshot */
	size_t n_hubs;
	struct edge_upd_hub hubs[PROTO_KEYRING_MAX];
	struct proto_txn *rtxn;             /* reusable read handle, or NULL */
	uint64_t log_ms[EDGE_UPD__COUNT];   /* last refusal line per result */
	uint64_t log_skip[EDGE_UPD__COUNT]; /* lines suppressed since */
};

/* what the apply callback needs */
struct edge_upd_apply {
	struct proto_txn *t; /* the write txn */
	uint8_t slot;        /* the hub's origin */
	size_t n;            /* records applied */
	int rc;              /* the store's error, if any */
};

/* edge_upd_result_name - "applied", "stale", ... */
const char *
edge_upd_result_name(enum edge_upd_result r)
{
	return (unsigned)r < EDGE_UPD__COUNT ? edge_upd_names[r] : "unknown";
}

/* edge_upd_new - an empty receiver over a store */
struct edge_upd *
edge_upd_new(struct proto_store *st, uint64_t snapshot_max)
{
	struct edge_upd *u = mx_calloc(1, sizeof(*u));

	u->st = st;
	u->snapshot_max =
	    snapshot_max != 0 ? snapshot_max : EDGE_UPD_SNAP_DEFAULT;
	return u;
}

/* edge_upd_find - the trusted hub of that id, or NULL */
static struct edge_upd_hub *
edge_upd_find(struct edge_upd *u, const char *id)
{
	size_t i;

	for (i = 0; i < u->n_hubs; i++)
		if (strcmp(u->hubs[i].id, id) == 0)
			return &u->hubs[i];
	return NULL;
}

/*
 * edge_upd_trust - add a hub, or a second key to a hub: either key
 * verifies its messages (a key rotation overlaps the two)
 */
int
edge_upd_trust(struct edge_upd *u, const char *hub_id, struct proto_key *key)
{
	uint8_t raw[PROTO_PUBKEY_LEN], other[PROTO_PUBKEY_LEN];
	struct edge_upd_hub *h;
	size_t i, n;

	if (u == NULL || hub_id == NULL || key == NULL)
		return MX_EINVAL;
	n = strnlen(hub_id, PROTO_ID_MAX + 1);
	if (proto_id_check(hub_id, n) != 0 ||
	    proto_key_public_raw(key, raw) != 0)
		return MX_EINVAL;
	h = edge_upd_find(u, hub_id);
	if (h != NULL) {
		for (i = 0; i < h->n_keys; i++)
			if (proto_key_public_raw(h->keys[i], other) == 0 &&
			    memcmp(raw, other, sizeof(raw)) == 0)
				return MX_EEXIST;
		if (h->n_keys >= EDGE_HUB_KEYS_MAX)
			return MX_ELIMIT;
		h->keys[h->n_keys++] = key;
		h->key_used = h->n_keys; /* none yet: the sentinel moves */
		return 0;
	}
	if (u->n_hubs >= PROTO_KEYRING_MAX)
		return MX_ELIMIT;
	h = &u->hubs[u->n_hubs++];
	memcpy(h->id, hub_id, n + 1);
	h->keys[0] = key;
	h->n_keys = 1;
	h->key_used = 1;
	return 0;
}

/* edge_upd_snap_drop - forget the snapshot being collected */
static void
edge_upd_snap_drop(struct edge_upd_hub *h)
{
	size_t i;

	for (i = 0; i < h->n_chunks; i++)
		mx_free(h->chunks[i].body);
	mx_free(h->chunks);
	mx_free(h->have);
	h->chunks = NULL;
	h->have = NULL;
	h->n_chunks = h->cap_chunks = 0;
	h->snap_bytes = 0;
	h->has_snap = 0;
}

/* edge_upd_buf_remove - take deferred delta i out of the buffer */
static void
edge_upd_buf_remove(struct edge_upd_hub *h, size_t i)
{
	h->buf_bytes -= h->buf[i]->len;
	mx_free(h->buf[i]);
	memmove(
	    &h->buf[i], &h->buf[i + 1], (h->n_buf - i - 1) * sizeof(h->buf[0]));
	h->n_buf--;
	edge_metrics_add(EDGE_C_UPD_BUFFERED, -1);
}

/* edge_upd_free - release everything; NULL does nothing */
void
edge_upd_free(struct edge_upd *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->n_hubs; i++) {
		struct edge_upd_hub *h = &u->hubs[i];

		while (h->n_buf > 0)
			edge_upd_buf_remove(h, h->n_buf - 1);
		edge_upd_snap_drop(h);
		while (h->n_keys > 0)
			proto_key_free(h->keys[--h->n_keys]);
	}
	proto_store_read_free(u->rtxn);
	mx_free(u);
}

/* edge_upd_count - count one message's result */
static enum edge_upd_result
edge_upd_count(enum edge_upd_result r)
{
	edge_metrics_inc((enum edge_ctr)(EDGE_C_UPD_APPLIED + r));
	return r;
}

/*
 * edge_upd_log - one line about a refusal or an event; refusals of the
 * same result are cut to one line per EDGE_UPD_LOG_MS, the next line
 * saying how many were left out (a flood of forged messages must not
 * flood the log too)
 */
static void __attribute__((format(printf, 5, 6)))
edge_upd_log(struct edge_upd *u, enum mx_log_level lvl, enum edge_upd_result r,
    uint64_t now_ms, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (u->log_ms[r] != 0 && now_ms < u->log_ms[r] + EDGE_UPD_LOG_MS) {
		u->log_skip[r]++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (u->log_skip[r] > 0)
		mx_log(lvl, "%s suppressed=%" PRIu64, line, u->log_skip[r]);
	else
		mx_log(lvl, "%s", line);
	u->log_ms[r] = now_ms != 0 ? now_ms : 1;
	u->log_skip[r] = 0;
}

/*
 * edge_upd_pos - the hub's position in the store: 0, MX_ENOTFOUND (none
 * yet) or the store's error. A short read txn on the receiver's handle.
 */
static int
edge_upd_pos(
    struct edge_upd *u, const struct edge_upd_hub *h, uint64_t *e, uint64_t *s)
{
	int rc;

	if (u->rtxn == NULL)
		rc = proto_store_read_begin(u->st, &u->rtxn);
	else
		rc = proto_store_read_renew(u->rtxn);
	if (rc != 0) {
		/* a handle that failed to renew is not reused */
		proto_store_read_free(u->rtxn);
		u->rtxn = NULL;
		return rc;
	}
	rc = proto_store_pos_get(u->rtxn, h->id, e, s);
	proto_store_read_end(u->rtxn);
	return rc;
}

/*
 * edge_upd_key_used - key i of h verified a message. A change of key (the
 * first message, or the hub now signing with its other key) is logged,
 * at most once per EDGE_UPD_LOG_MS per hub: during a rotation this line
 * tells the operator which key the hub signs with (by its place among
 * the hub's hub_key lines, never key bytes).
 */
static void
edge_upd_key_used(struct edge_upd_hub *h, size_t i, uint64_t now_ms)
{
	if (h->key_used == i)
		return;
	/* a replayed old message flips it back: keep the log quiet */
	if (h->key_log_ms != 0 && now_ms < h->key_log_ms + EDGE_UPD_LOG_MS)
		return;
	h->key_used = i;
	h->key_log_ms = now_ms != 0 ? now_ms : 1;
	mx_notice("HUB_KEY hub=%s key=%zu keys=%zu", h->id, i + 1, h->n_keys);
}

/* edge_upd_decode_result - a body decoder's error as a result */
static enum edge_upd_result
edge_upd_decode_result(int rc)
{
	/* the decoder returns proto_record_check's own code for a record it
	 * refuses; the same codes mean a header field out of range */
	return rc == MX_EINVAL || rc == MX_ERANGE ? EDGE_UPD_REFUSED
	                                          : EDGE_UPD_MALFORMED;
}

/*
 * edge_upd_open - split a signed payload, check its type and its
 * signature against the hub's keys (either may verify it: a rotation
 * overlaps two). Another trusted hub's key that verifies it makes it
 * untrusted (a hub speaking for another), none forged. 0 with the body,
 * or the result to report.
 */
static int
edge_upd_open(struct edge_upd *u, struct edge_upd_hub *h, unsigned want,
    const uint8_t *p, size_t len, struct proto_str *body,
    enum edge_upd_result *res, int *err, uint64_t now_ms)
{
	struct proto_str sig;
	unsigned type;
	size_t i, j;
	int rc;

	if ((rc = proto_signed_decode(p, len, &type, body, &sig)) != 0 ||
	    type != want) {
		*err = rc != 0 ? rc : MX_ETYPE;
		*res = EDGE_UPD_MALFORMED;
		return -1;
	}
	rc = MX_ESIG;
	for (i = 0; i < h->n_keys; i++) {
		rc = proto_verify(
		    h->keys[i], type, body->p, body->len, sig.p, sig.len);
		if (rc != MX_ESIG)
			break;
	}
	if (rc == 0) {
		edge_upd_key_used(h, i, now_ms);
		return 0;
	}
	*err = rc;
	if (rc != MX_ESIG) {
		*res = EDGE_UPD_FAILED;
		return -1;
	}
	*res = EDGE_UPD_FORGED;
	for (i = 0; i < u->n_hubs; i++) {
		if (&u->hubs[i] == h)
			continue;
		for (j = 0; j < u->hubs[i].n_keys; j++)
			if (proto_verify(u->hubs[i].keys[j], type, body->p,
			        body->len, sig.p, sig.len) == 0)
				*res = EDGE_UPD_UNTRUSTED;
	}
	return -1;
}

/* edge_upd_apply_cb - one validated record into the write txn */
static int
edge_upd_apply_cb(void *arg, const struct proto_record *r)
{
	struct edge_upd_apply *a = arg;

	if ((a->rc = proto_store_apply_from(a->t, r, a->slot)) != 0)
		return a->rc;
	a->n++;
	return 0;
}

/*
 * edge_upd_apply - one delta body (already verified and validated) in
 * one write txn: every record under the hub's origin, then the new
 * position; all or nothing. The position is read again inside the txn,
 * so a batch is applied only where it follows (another process sharing
 * the store may have moved it). Returns APPLIED, STALE or FAILED.
 */
static enum edge_upd_result
edge_upd_apply(struct edge_upd *u, struct edge_upd_hub *h, const uint8_t *body,
    size_t len, uint64_t epoch, uint64_t seq, uint64_t now_ms)
{
	struct edge_upd_apply a;
	struct proto_txn *t = NULL;
	uint64_t pe, ps;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = proto_store_write_begin(u->st, &t)) != 0)
		goto fail;
	rc = proto_store_pos_get(t, h->id, &pe, &ps);
	if (rc != 0 && rc != MX_ENOTFOUND)
		goto fail;
	if (rc != 0 || pe != epoch || ps == UINT64_MAX || ps + 1 != seq) {
		proto_store_abort(t);
		return EDGE_UPD_STALE;
	}
	if ((rc = proto_store_origin_slot(t, h->id, &a.slot)) != 0)
		goto fail;
	a.t = t;
	rc = proto_update_body_decode(body, len, NULL, edge_upd_apply_cb, &a);
	if (rc == 0)
		rc = proto_store_pos_put(t, h->id, epoch, seq);
	if (rc != 0)
		goto fail;
	rc = proto_store_commit(t);
	t = NULL;
	if (rc != 0)
		goto fail;
	edge_metrics_add(EDGE_C_UPD_RECORDS, (int64_t)a.n);
	mx_debug("UPDATE_APPLIED hub=%s epoch=%" PRIu64 " seq=%" PRIu64
	         " records=%zu",
	    h->id, epoch, seq, a.n);
	return EDGE_UPD_APPLIED;
fail:
	proto_store_abort(t);
	edge_upd_log(u, MX_LOG_WARN, EDGE_UPD_FAILED, now_ms,
	    "UPDATE_FAILED hub=%s epoch=%" PRIu64 " seq=%" PRIu64
	    " err=\"%s\" action=none_applied",
	    h->id, epoch, seq, mx_strerror(rc));
	return EDGE_UPD_FAILED;
}

/*
 * edge_upd_drain - apply the deferred deltas that follow the position,
 * in order, dropping those it already covers. A hub whose buffer empties
 * has caught up; one still holding deltas past a gap keeps waiting for a
 * snapshot.
 */
static void
edge_upd_drain(struct edge_upd *u, struct edge_upd_hub *h, uint64_t now_ms)
{
	struct edge_upd_delta *d;
	enum edge_upd_result r;
	uint64_t pe, ps;
	int rc;

	for (;;) {
		if ((rc = edge_upd_pos(u, h, &pe, &ps)) != 0)
			break;
		/* covered by the position: a snapshot included them */
		while (h->n_buf > 0 &&
		       (h->buf[0]->epoch < pe ||
		           (h->buf[0]->epoch == pe && h->buf[0]->seq <= ps)))
			edge_upd_buf_remove(h, 0);
		if (h->n_buf == 0) {
			/* caught up: a half-collected snapshot is not needed */
			h->needs_snap = 0;
			edge_upd_snap_drop(h);
			break;
		}
		d = h->buf[0];
		if (d->epoch != pe || ps == UINT64_MAX || d->seq != ps + 1) {
			h->needs_snap = 1;
			break;
		}
		r = edge_upd_apply(
		    u, h, d->body, d->len, d->epoch, d->seq, now_ms);
		/* applied or not, it has had its turn: a failed one would
		 * fail again and block the others */
		edge_upd_buf_remove(h, 0);
		if (r == EDGE_UPD_APPLIED)
			edge_upd_count(EDGE_UPD_APPLIED);
		else if (r == EDGE_UPD_FAILED)
			edge_upd_count(EDGE_UPD_FAILED);
	}
}

/*
 * edge_upd_defer - keep a delta until a snapshot: sorted by (epoch,
 * seq), a duplicate is stale, and past the bounds the oldest goes
 */
static enum edge_upd_result
edge_upd_defer(struct edge_upd_hub *h, const struct proto_str *body,
    uint64_t epoch, uint64_t seq)
{
	struct edge_upd_delta *d;
	size_t i;

	for (i = 0; i < h->n_buf; i++) {
		if (h->buf[i]->epoch == epoch && h->buf[i]->seq == seq)
			return EDGE_UPD_STALE;
		if (h->buf[i]->epoch > epoch ||
		    (h->buf[i]->epoch == epoch && h->buf[i]->seq > seq))
			break;
	}
	d = mx_malloc(sizeof(*d) + body->len);
	d->epoch = epoch;
	d->seq = seq;
	d->len = body->len;
	memcpy(d->body, body->p, body->len);
	memmove(&h->buf[i + 1], &h->buf[i], (h->n_buf - i) * sizeof(h->buf[0]));
	h->buf[i] = d;
	h->n_buf++;
	h->buf_bytes += d->len;
	edge_metrics_add(EDGE_C_UPD_BUFFERED, 1);
	while (h->n_buf > EDGE_UPD_BUF_BATCHES ||
	       h->buf_bytes > EDGE_UPD_BUF_BYTES) {
		edge_upd_buf_remove(h, 0);
		edge_metrics_inc(EDGE_C_UPD_BUF_DROPPED);
	}
	return EDGE_UPD_DEFERRED;
}

/* edge_upd_delta - one delta batch of a trusted hub */
static enum edge_upd_result
edge_upd_delta(struct edge_upd *u, struct edge_upd_hub *h, const uint8_t *p,
    size_t len, uint64_t now_ms)
{
	struct proto_batch_hdr hdr;
	struct proto_str body;
	enum edge_upd_result r;
	uint64_t pe = 0, ps = 0;
	int rc, err = 0;

	if (edge_upd_open(
	        u, h, PROTO_MSG_UPDATE, p, len, &body, &r, &err, now_ms) != 0) {
		edge_upd_log(u, MX_LOG_WARN, r, now_ms,
		    "UPDATE_REFUSED hub=%s result=%s err=\"%s\" bytes=%zu",
		    h->id, edge_upd_result_name(r), mx_strerror(err), len);
		return r;
	}
	/* validates every record before anything is applied */
	rc = proto_update_body_decode(body.p, body.len, &hdr, NULL, NULL);
	if (rc != 0) {
		r = edge_upd_decode_result(rc);
		edge_upd_log(u, MX_LOG_WARN, r, now_ms,
		    "UPDATE_REFUSED hub=%s result=%s err=\"%s\" bytes=%zu",
		    h->id, edge_upd_result_name(r), mx_strerror(rc), len);
		return r;
	}
	if (hdr.hub_id.len != strlen(h->id) ||
	    memcmp(hdr.hub_id.p, h->id, hdr.hub_id.len) != 0) {
		char esc[MX_LOG_ESC_SIZE];

		mx_log_escape(esc, sizeof(esc), hdr.hub_id.p, hdr.hub_id.len);
		edge_upd_log(u, MX_LOG_WARN, EDGE_UPD_REFUSED, now_ms,
		    "UPDATE_REFUSED hub=%s result=refused body_hub=\"%s\" "
		    "err=\"hub id of the body is not the topic's\"",
		    h->id, esc);
		return EDGE_UPD_REFUSED;
	}
	rc = edge_upd_pos(u, h, &pe, &ps);
	if (rc != 0 && rc != MX_ENOTFOUND) {
		edge_upd_log(u, MX_LOG_WARN, EDGE_UPD_FAILED, now_ms,
		    "UPDATE_FAILED hub=%s seq=%" PRIu64 " err=\"%s\"", h->id,
		    hdr.seq, mx_strerror(rc));
		return EDGE_UPD_FAILED;
	}
	if (rc == 0 && (hdr.epoch < pe || (hdr.epoch == pe && hdr.seq <= ps))) {
		mx_debug("UPDATE_STALE hub=%s epoch=%" PRIu64 " seq=%" PRIu64
		         " have_epoch=%" PRIu64 " have_seq=%" PRIu64,
		    h->id, hdr.epoch, hdr.seq, pe, ps);
		return EDGE_UPD_STALE;
	}
	if (rc == 0 && hdr.epoch == pe && ps != UINT64_MAX &&
	    hdr.seq == ps + 1) {
		r = edge_upd_apply(
		    u, h, body.p, body.len, hdr.epoch, hdr.seq, now_ms);
		if (r == EDGE_UPD_APPLIED && h->n_buf > 0)
			edge_upd_drain(u, h, now_ms);
		return r;
	}
	/* a gap, a newer epoch, or no position: only a snapshot helps */
	r = edge_upd_defer(h, &body, hdr.epoch, hdr.seq);
	if (r == EDGE_UPD_DEFERRED && !h->needs_snap) {
		h->needs_snap = 1;
		h->resub_due = 1;
		if (rc == 0)
			mx_notice("UPDATE_GAP hub=%s reason=%s epoch=%" PRIu64
			          " seq=%" PRIu64 " have_epoch=%" PRIu64
			          " have_seq=%" PRIu64 " action=wait_snapshot",
			    h->id, hdr.epoch > pe ? "new_epoch" : "gap",
			    hdr.epoch, hdr.seq, pe, ps);
		else
			mx_notice("UPDATE_GAP hub=%s reason=no_position "
			          "epoch=%" PRIu64 " seq=%" PRIu64
			          " action=wait_snapshot",
			    h->id, hdr.epoch, hdr.seq);
		return EDGE_UPD_GAP;
	}
	return r;
}

/*
 * edge_upd_snap_refuse - refuse the snapshot of a chunk: drop it if it
 * is the one being collected (not another), ignore its other chunks
 */
static enum edge_upd_result
edge_upd_snap_refuse(struct edge_upd *u, struct edge_upd_hub *h,
    const struct proto_batch_hdr *hdr, uint64_t now_ms, const char *why)
{
	if (h->has_snap && h->snap_id == hdr->snap_id &&
	    h->snap_epoch == hdr->epoch)
		edge_upd_snap_drop(h);
	h->has_refused = 1;
	h->refused_id = hdr->snap_id;
	h->refused_epoch = hdr->epoch;
	edge_metrics_inc(EDGE_C_SNAP_REFUSED);
	edge_upd_log(u, MX_LOG_WARN, EDGE_UPD_SNAP_REFUSED, now_ms,
	    "SNAPSHOT_REFUSED hub=%s snap_id=%" PRIu64 " epoch=%" PRIu64
	    " seq=%" PRIu64 " chunks=%" PRIu32 " err=\"%s\"",
	    h->id, hdr->snap_id, hdr->epoch, hdr->seq, hdr->count, why);
	return EDGE_UPD_SNAP_REFUSED;
}

/* edge_upd_chunk_cmp - qsort order of chunks: by index */
static int
edge_upd_chunk_cmp(const void *a, const void *b)
{
	const struct edge_upd_chunk *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * edge_upd_load - every chunk is in: in one write txn, clear the hub's
 * records, apply the snapshot's, set the position; then the deferred
 * deltas that follow it
 */
static enum edge_upd_result
edge_upd_load(struct edge_upd *u, struct edge_upd_hub *h, uint64_t now_ms)
{
	struct edge_upd_apply a;
	struct proto_txn *t = NULL;
	uint64_t pe, ps, t0 = mx_mono_ms();
	size_t i, removed = 0, buffered = h->n_buf;
	int rc;

	memset(&a, 0, sizeof(a));
	qsort(h->chunks, h->n_chunks, sizeof(h->chunks[0]), edge_upd_chunk_cmp);
	if ((rc = proto_store_write_begin(u->st, &t)) != 0)
		goto fail;
	/* the position may have moved since the first chunk was judged
	 * (another process sharing the store): never load one behind it */
	rc = proto_store_pos_get(t, h->id, &pe, &ps);
	if (rc == 0 && (pe > h->snap_epoch ||
	                   (pe == h->snap_epoch && ps >= h->snap_seq))) {
		proto_store_abort(t);
		mx_info("SNAPSHOT_SKIPPED hub=%s snap_id=%" PRIu64
		        " seq=%" PRIu64 " have_epoch=%" PRIu64
		        " have_seq=%" PRIu64,
		    h->id, h->snap_id, h->snap_seq, pe, ps);
		edge_upd_snap_drop(h);
		edge_upd_drain(u, h, now_ms);
		return EDGE_UPD_IGNORED;
	}
	if (rc != 0 && rc != MX_ENOTFOUND)
		goto fail;
	if ((rc = proto_store_origin_slot(t, h->id, &a.slot)) != 0 ||
	    (rc = proto_store_clear_origin(t, a.slot, &removed)) != 0)
		goto fail;
	a.t = t;
	for (i = 0; i < h->n_chunks && rc == 0; i++)
		rc = proto_snapshot_body_decode(h->chunks[i].body,
		    h->chunks[i].len, NULL, edge_upd_apply_cb, &a);
	if (rc == 0)
		rc = proto_store_pos_put(t, h->id, h->snap_epoch, h->snap_seq);
	if (rc != 0)
		goto fail;
	rc = proto_store_commit(t);
	t = NULL;
	if (rc != 0)
		goto fail;
	edge_metrics_inc(EDGE_C_SNAP_LOADED);
	edge_metrics_add(EDGE_C_SNAP_RECORDS, (int64_t)a.n);
	mx_notice("SNAPSHOT_LOADED hub=%s snap_id=%" PRIu64 " epoch=%" PRIu64
	          " seq=%" PRIu64 " chunks=%zu bytes=%" PRIu64
	          " records=%zu cleared=%zu deferred=%zu ms=%" PRIu64,
	    h->id, h->snap_id, h->snap_epoch, h->snap_seq, h->n_chunks,
	    h->snap_bytes, a.n, removed, buffered, mx_mono_ms() - t0);
	edge_upd_snap_drop(h);
	h->has_refused = 0;
	/* the buffer decides: empty or caught up, or a gap again */
	h->needs_snap = 0;
	edge_upd_drain(u, h, now_ms);
	if (h->needs_snap)
		mx_notice("UPDATE_GAP hub=%s after=snapshot deferred=%zu "
		          "action=wait_snapshot",
		    h->id, h->n_buf);
	return EDGE_UPD_SNAP_LOADED;
fail:
	proto_store_abort(t);
	edge_metrics_inc(EDGE_C_SNAP_FAILED);
	h->has_refused = 1;
	h->refused_id = h->snap_id;
	h->refused_epoch = h->snap_epoch;
	edge_upd_log(u, MX_LOG_WARN, EDGE_UPD_FAILED, now_ms,
	    "SNAPSHOT_FAILED hub=%s snap_id=%" PRIu64 " epoch=%" PRIu64
	    " seq=%" PRIu64 " err=\"%s\" action=none_applied",
	    h->id, h->snap_id, h->snap_epoch, h->snap_seq, mx_strerror(rc));
	edge_upd_snap_drop(h);
	return EDGE_UPD_FAILED;
}

/*
 * edge_upd_is_newer - does a chunk's snapshot come after the one being
 * collected: a newer epoch, a later seq, or a larger snap_id
 */
static int
edge_upd_is_newer(const struct edge_upd_hub *h, const struct proto_batch_hdr *b)
{
	if (b->epoch != h->snap_epoch)
		return b->epoch > h->snap_epoch;
	if (b->seq != h->snap_seq)
		return b->seq > h->snap_seq;
	return b->snap_id > h->snap_id;
}

/* edge_upd_chunk - one snapshot chunk of a hub that needs a snapshot */
static enum edge_upd_result
edge_upd_chunk(struct edge_upd *u, struct edge_upd_hub *h, uint32_t n,
    const uint8_t *p, size_t len, uint64_t now_ms)
{
	struct proto_batch_hdr hdr;
	struct proto_str body;
	struct edge_upd_chunk *c;
	enum edge_upd_result r;
	uint64_t pe = 0, ps = 0;
	int rc, err = 0;

	if (edge_upd_open(u, h, PROTO_MSG_SNAPSHOT, p, len, &body, &r, &err,
	        now_ms) != 0) {
		edge_upd_log(u, MX_LOG_WARN, r, now_ms,
		    "SNAPSHOT_CHUNK_REFUSED hub=%s n=%" PRIu32
		    " result=%s err=\"%s\" bytes=%zu",
		    h->id, n, edge_upd_result_name(r), mx_strerror(err), len);
		return r;
	}
	rc = proto_snapshot_body_decode(body.p, body.len, &hdr, NULL, NULL);
	if (rc != 0 || hdr.index != n || hdr.hub_id.len != strlen(h->id) ||
	    memcmp(hdr.hub_id.p, h->id, hdr.hub_id.len) != 0) {
		r = rc != 0 ? edge_upd_decode_result(rc) : EDGE_UPD_REFUSED;
		edge_upd_log(u, MX_LOG_WARN, r, now_ms,
		    "SNAPSHOT_CHUNK_REFUSED hub=%s n=%" PRIu32
		    " result=%s err=\"%s\" bytes=%zu",
		    h->id, n, edge_upd_result_name(r),
		    rc != 0 ? mx_strerror(rc)
		            : "hub id or chunk number of the body is not "
		              "the topic's",
		    len);
		return r;
	}
	if (h->has_refused && hdr.snap_id == h->refused_id &&
	    hdr.epoch == h->refused_epoch)
		return EDGE_UPD_IGNORED;
	rc = edge_upd_pos(u, h, &pe, &ps);
	if (rc != 0 && rc != MX_ENOTFOUND)
		return edge_upd_snap_refuse(
		    u, h, &hdr, now_ms, "cannot read the position");
	if (rc == 0 && hdr.epoch < pe)
		return edge_upd_snap_refuse(
		    u, h, &hdr, now_ms, "epoch older than the applied one");
	/* not past what is applied: nothing to gain from it */
	if (rc == 0 && hdr.epoch == pe && hdr.seq <= ps)
		return EDGE_UPD_IGNORED;
	if (h->has_snap && hdr.snap_id == h->snap_id &&
	    hdr.epoch == h->snap_epoch &&
	    (hdr.seq != h->snap_seq || hdr.count != h->snap_count))
		return edge_upd_snap_refuse(u, h, &hdr, now_ms,
		    "chunks of one snapshot disagree on seq or count");
	if (h->has_snap &&
	    (hdr.snap_id != h->snap_id || hdr.epoch != h->snap_epoch)) {
		/* a leftover chunk of an older snapshot, or a newer one */
		if (!edge_upd_is_newer(h, &hdr))
			return EDGE_UPD_IGNORED;
		mx_info("SNAPSHOT_REPLACED hub=%s snap_id=%" PRIu64
		        " by=%" PRIu64 " chunks=%zu/%" PRIu32,
		    h->id, h->snap_id, hdr.snap_id, h->n_chunks, h->snap_count);
		edge_upd_snap_drop(h);
	}
	if (!h->has_snap) {
		h->has_snap = 1;
		h->snap_id = hdr.snap_id;
		h->snap_epoch = hdr.epoch;
		h->snap_seq = hdr.seq;
		h->snap_count = hdr.count;
		/* a bit per possible chunk (8 KiB), whatever count says */
		h->have = mx_calloc(1, EDGE_UPD_HAVE_BYTES);
	}
	if (h->have[n / 8] & (1u << (n % 8)))
		return EDGE_UPD_IGNORED;
	if (h->snap_bytes + body.len > u->snapshot_max)
		return edge_upd_snap_refuse(
		    u, h, &hdr, now_ms, "larger than snapshot_max");
	/* grown as chunks arrive, never from the count they claim */
	if (h->n_chunks == h->cap_chunks) {
		h->cap_chunks = h->cap_chunks == 0 ? EDGE_UPD_CHUNKS_MIN
		                                   : h->cap_chunks * 2;
		h->chunks =
		    mx_realloc(h->chunks, h->cap_chunks * sizeof(*h->chunks));
	}
	c = &h->chunks[h->n_chunks++];
	c->index = n;
	c->len = body.len;
	c->body = mx_malloc(body.len > 0 ? body.len : 1);
	memcpy(c->body, body.p, body.len);
	h->have[n / 8] |= (uint8_t)(1u << (n % 8));
	h->snap_bytes += body.len;
	if (h->n_chunks < h->snap_count)
		return EDGE_UPD_CHUNK_KEPT;
	return edge_upd_load(u, h, now_ms);
}

/* edge_upd_handle - one message from the broker */
enum edge_upd_result
edge_upd_handle(struct edge_upd *u, const char *topic, const uint8_t *payload,
    size_t len, uint64_t now_ms)
{
	struct proto_topic tp;
	struct edge_upd_hub *h;
	char esc[MX_LOG_ESC_SIZE];
	size_t tlen;

	if (u == NULL || topic == NULL || (payload == NULL && len > 0))
		return edge_upd_count(EDGE_UPD_IGNORED);
	tlen = strnlen(topic, PROTO_TOPIC_MAX);
	if (proto_topic_parse(topic, tlen, &tp) != 0 ||
	    (tp.kind != PROTO_TOPIC_UPDATES && tp.kind != PROTO_TOPIC_SNAPSHOT))
		return edge_upd_count(EDGE_UPD_IGNORED);
	/* "no chunk": the hub clears chunks of a bigger older snapshot */
	if (tp.kind == PROTO_TOPIC_SNAPSHOT && len == 0)
		return edge_upd_count(EDGE_UPD_IGNORED);
	if ((h = edge_upd_find(u, tp.id)) == NULL) {
		mx_log_escape(esc, sizeof(esc), topic, tlen);
		edge_upd_log(u, MX_LOG_WARN, EDGE_UPD_UNTRUSTED, now_ms,
		    "UPDATE_REFUSED topic=\"%s\" result=untrusted "
		    "err=\"no hub_key for this hub\"",
		    esc);
		return edge_upd_count(EDGE_UPD_UNTRUSTED);
	}
	if (tp.kind == PROTO_TOPIC_UPDATES)
		return edge_upd_count(
		    edge_upd_delta(u, h, payload, len, now_ms));
	/*
	 * Every chunk is looked at, not only while a gap is known: an edge
	 * that missed the last deltas and has seen no later one (it came
	 * back after the hub's last batch) learns it is behind only from a
	 * snapshot newer than its position. A chunk at or below the
	 * position is ignored after its check (edge_upd_chunk).
	 */
	return edge_upd_count(edge_upd_chunk(u, h, tp.n, payload, len, now_ms));
}

/* edge_upd_hub_count - number of trusted hubs */
size_t
edge_upd_hub_count(const struct edge_upd *u)
{
	return u != NULL ? u->n_hubs : 0;
}

/* edge_upd_hub_id - id of trusted hub i */
const char *
edge_upd_hub_id(const struct edge_upd *u, size_t i)
{
	return u != NULL && i < u->n_hubs ? u->hubs[i].id : NULL;
}

/* edge_upd_resub_due - should hub i's retained snapshot be asked again */
int
edge_upd_resub_due(struct edge_upd *u, size_t i, uint64_t now_ms)
{
	struct edge_upd_hub *h;

	if (u == NULL || i >= u->n_hubs)
		return 0;
	h = &u->hubs[i];
	if (!h->resub_due ||
	    (h->resub_ms != 0 && now_ms < h->resub_ms + EDGE_UPD_RESUB_MS))
		return 0;
	h->resub_due = 0;
	h->resub_ms = now_ms != 0 ? now_ms : 1;
	return 1;
}

/* edge_upd_subscribed - every hub's topics were just subscribed */
void
edge_upd_subscribed(struct edge_upd *u, uint64_t now_ms)
{
	size_t i;

	for (i = 0; u != NULL && i < u->n_hubs; i++) {
		u->hubs[i].resub_due = 0;
		u->hubs[i].resub_ms = now_ms != 0 ? now_ms : 1;
	}
}

/* edge_upd_positions - the applied position of each hub that has one */
size_t
edge_upd_positions(struct edge_upd *u, struct proto_hub_pos *out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; u != NULL && i < u->n_hubs && n < max; i++) {
		struct proto_hub_pos *p = &out[n];

		if (edge_upd_pos(u, &u->hubs[i], &p->epoch, &p->seq) != 0)
			continue;
		p->hub_id.p = (const uint8_t *)u->hubs[i].id;
		p->hub_id.len = strlen(u->hubs[i].id);
		n++;
	}
	return n;
}

/* edge_upd_buffered - deltas waiting for a snapshot, for one hub */
size_t
edge_upd_buffered(const struct edge_upd *u, const char *hub_id)
{
	size_t i;

	for (i = 0; u != NULL && hub_id != NULL && i < u->n_hubs; i++)
		if (strcmp(u->hubs[i].id, hub_id) == 0)
			return u->hubs[i].n_buf;
	return 0;
}
