/*
 * edge_updates_test.c - the update receiver against a real LMDB store
 *
 * Each test gets a store in a scratch directory and a receiver trusting
 * hub-a and hub-b, whose Ed25519 keys are made here (hub-c's key is
 * trusted by nobody). Messages are built as a hub builds them
 * (proto_update_body_encode / proto_snapshot_body_encode, then
 * proto_sign_message) and handed to edge_upd_handle with their topic;
 * the tests check what each returns, what the counters say and what the
 * store then holds (records, origins by way of a snapshot's clearing,
 * positions).
 * Trust: test inputs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/mx_err.h"
#include "proto/proto_sign.h"
#include "proto/proto_topic.h"
#include "edge/edge_int.h"

#define T_MAP (64ULL << 20)   /* test map, bytes */
#define T_E1 1700000000000ULL /* an epoch (unix ms of the hub's state) */
#define T_E2 1700000500000ULL /* a newer one */
#define T_NOW 1700001000000ULL

struct fix {
	char dir[512];
	struct proto_store *st;
	struct edge_upd *u;
	struct proto_key *ka, *kb, *kc; /* private keys of hub-a, -b, -c */
	struct mx_buf msg;              /* the last message built */
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

/* pub - a public-only copy of a key */
static struct proto_key *
pub(const struct proto_key *k)
{
	uint8_t raw[PROTO_PUBKEY_LEN];
	struct proto_key *p = NULL;

	assert_int_equal(proto_key_public_raw(k, raw), 0);
	assert_int_equal(proto_key_from_public_raw(raw, &p), 0);
	return p;
}

/* receiver - a receiver over x's store trusting hub-a and hub-b */
static struct edge_upd *
receiver(struct fix *x, uint64_t snapshot_max)
{
	struct edge_upd *u = edge_upd_new(x->st, snapshot_max);

	assert_int_equal(edge_upd_trust(u, "hub-a", pub(x->ka)), 0);
	assert_int_equal(edge_upd_trust(u, "hub-b", pub(x->kb)), 0);
	return u;
}

/* setup - a scratch store, three hub keys, a receiver */
static int
setup(void **state)
{
	struct fix *x = calloc(1, sizeof(*x));
	struct proto_store_opts o = {.map_bytes = T_MAP, .no_sync = 1};
	const char *root = getenv("MX_TEST_TMP");
	int n;

	if (x == NULL)
		return -1;
	if (root == NULL || *root == '\0')
		root = "/tmp";
	n = snprintf(x->dir, sizeof(x->dir), "%s/edge_upd.XXXXXX", root);
	if (n < 0 || (size_t)n >= sizeof(x->dir) || mkdtemp(x->dir) == NULL ||
	    proto_store_open(x->dir, &o, &x->st) != 0 ||
	    proto_key_generate(&x->ka) != 0 ||
	    proto_key_generate(&x->kb) != 0 || proto_key_generate(&x->kc) != 0)
		return -1;
	x->u = receiver(x, 0);
	mx_buf_init(&x->msg, PROTO_MSG_MAX);
	*state = x;
	return 0;
}

/* teardown - free the receiver, close and remove the store */
static int
teardown(void **state)
{
	struct fix *x = *state;

	edge_upd_free(x->u);
	proto_store_close(x->st);
	proto_key_free(x->ka);
	proto_key_free(x->kb);
	proto_key_free(x->kc);
	mx_buf_fini(&x->msg);
	nftw(x->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(x);
	return 0;
}

/* ip - a record of an IPv4 address with a score (op put or del) */
static struct proto_record
ip(const char *text, int32_t score, uint8_t op)
{
	struct proto_record r;
	size_t len = 0;

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_KIND_IP;
	r.op = op;
	r.action = PROTO_ACT_REJECT;
	r.score = score;
	r.ts_ms = T_E1;
	assert_int_equal(proto_key_ip(text, strlen(text), r.key, &len), 0);
	r.key_len = (uint16_t)len;
	proto_record_set_text(&r, "hub", "test");
	return r;
}

#define PUT(t, s) ip((t), (s), PROTO_OP_PUT)
#define DEL(t) ip((t), 0, PROTO_OP_DEL)

/* hdr - a batch header */
static struct proto_batch_hdr
hdr(const char *hub, uint64_t epoch, uint64_t seq)
{
	struct proto_batch_hdr h;

	memset(&h, 0, sizeof(h));
	h.hub_id.p = (const uint8_t *)hub;
	h.hub_id.len = strlen(hub);
	h.epoch = epoch;
	h.seq = seq;
	h.ts_ms = T_NOW;
	return h;
}

/* sign - the signed envelope of body into x->msg */
static void
sign(struct fix *x, const struct proto_key *k, unsigned type,
    const struct mx_buf *body)
{
	mx_buf_reset(&x->msg);
	assert_int_equal(
	    proto_sign_message(&x->msg, k, type, body->data, body->len), 0);
}

/* update - a signed delta batch of hub (body hub id) into x->msg */
static void
update(struct fix *x, const struct proto_key *k, const char *hub,
    uint64_t epoch, uint64_t seq, const struct proto_record *recs, size_t n)
{
	struct proto_batch_hdr h = hdr(hub, epoch, seq);
	struct mx_buf body;

	mx_buf_init(&body, PROTO_MSG_MAX);
	assert_int_equal(proto_update_body_encode(&body, &h, recs, n), 0);
	sign(x, k, PROTO_MSG_UPDATE, &body);
	mx_buf_fini(&body);
}

/* chunk - a signed snapshot chunk into x->msg */
static void
chunk(struct fix *x, const struct proto_key *k, const char *hub, uint64_t epoch,
    uint64_t seq, uint64_t snap_id, uint32_t index, uint32_t count,
    const struct proto_record *recs, size_t n)
{
	struct proto_batch_hdr h = hdr(hub, epoch, seq);
	struct mx_buf body;

	h.snap_id = snap_id;
	h.index = index;
	h.count = count;
	mx_buf_init(&body, PROTO_MSG_MAX);
	assert_int_equal(proto_snapshot_body_encode(&body, &h, recs, n), 0);
	sign(x, k, PROTO_MSG_SNAPSHOT, &body);
	mx_buf_fini(&body);
}

/* deliver - hand x->msg to the receiver on topic */
static enum edge_upd_result
deliver(struct fix *x, const char *topic)
{
	return edge_upd_handle(x->u, topic, x->msg.data, x->msg.len, T_NOW);
}

/* send_chunk - hand x->msg on hub's chunk topic n */
static enum edge_upd_result
send_chunk(struct fix *x, const char *hub, uint32_t n)
{
	char topic[PROTO_TOPIC_MAX];

	assert_int_equal(proto_topic_snapshot(topic, sizeof(topic), hub, n), 0);
	return deliver(x, topic);
}

/* ctr - a result's counter */
static int64_t
ctr(enum edge_upd_result r)
{
	return edge_metrics_get((enum edge_ctr)(EDGE_C_UPD_APPLIED + r));
}

/* score_of - the score of an ip record, or its lookup error */
static int32_t
score_of(struct fix *x, const char *text)
{
	struct proto_record q = PUT(text, 0), out;
	struct proto_txn *t;
	int rc;

	assert_int_equal(proto_store_read_begin(x->st, &t), 0);
	rc = proto_store_get(t, PROTO_KIND_IP, q.key, q.key_len, 0, &out);
	proto_store_read_free(t);
	return rc != 0 ? rc : out.score;
}

/* pos_is - assert the stored position of hub (or its absence) */
static void
pos_is(struct fix *x, const char *hub, int rc, uint64_t epoch, uint64_t seq)
{
	struct proto_txn *t;
	uint64_t e = 0, s = 0;

	assert_int_equal(proto_store_read_begin(x->st, &t), 0);
	assert_int_equal(proto_store_pos_get(t, hub, &e, &s), rc);
	proto_store_read_free(t);
	if (rc == 0) {
		assert_int_equal(e, epoch);
		assert_int_equal(s, seq);
	}
}

/* local_put - a record of the edge's own (mxcache), origin 0 */
static void
local_put(struct fix *x, const char *text, int32_t score)
{
	struct proto_record r = PUT(text, score);
	struct proto_txn *t;

	assert_int_equal(proto_store_write_begin(x->st, &t), 0);
	assert_int_equal(proto_store_apply(t, &r), 0);
	assert_int_equal(proto_store_commit(t), 0);
}

/* start - give hub a position (epoch, seq) by an empty one-chunk
 * snapshot, as a hub publishes at the start of an epoch */
static void
start(struct fix *x, const struct proto_key *k, const char *hub, uint64_t epoch,
    uint64_t seq)
{
	chunk(x, k, hub, epoch, seq, 1, 0, 1, NULL, 0);
	assert_int_equal(send_chunk(x, hub, 0), EDGE_UPD_SNAP_LOADED);
	pos_is(x, hub, 0, epoch, seq);
}

/* test_applied_batch_visible - the next batch is applied, counted, and
 * its position shows in the status positions */
static void
test_applied_batch_visible(void **state)
{
	struct fix *x = *state;
	struct proto_record r[2] = {PUT("192.0.2.1", 11), PUT("192.0.2.2", 12)};
	struct proto_hub_pos hp[4];
	int64_t applied, recs;

	pos_is(x, "hub-a", MX_ENOTFOUND, 0, 0);
	start(x, x->ka, "hub-a", T_E1, 0);
	applied = ctr(EDGE_UPD_APPLIED);
	recs = edge_metrics_get(EDGE_C_UPD_RECORDS);
	update(x, x->ka, "hub-a", T_E1, 1, r, 2);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	assert_int_equal(score_of(x, "192.0.2.1"), 11);
	assert_int_equal(score_of(x, "192.0.2.2"), 12);
	pos_is(x, "hub-a", 0, T_E1, 1);
	assert_int_equal(ctr(EDGE_UPD_APPLIED), applied + 1);
	assert_int_equal(edge_metrics_get(EDGE_C_UPD_RECORDS), recs + 2);
	/* a delete and a put in the next one */
	r[0] = DEL("192.0.2.1");
	r[1] = PUT("192.0.2.2", 22);
	update(x, x->ka, "hub-a", T_E1, 2, r, 2);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	assert_int_equal(score_of(x, "192.0.2.1"), MX_ENOTFOUND);
	assert_int_equal(score_of(x, "192.0.2.2"), 22);
	/* what the status carries: hub-b has no position yet */
	assert_int_equal(edge_upd_positions(x->u, hp, 4), 1);
	assert_int_equal(hp[0].hub_id.len, 5);
	assert_memory_equal(hp[0].hub_id.p, "hub-a", 5);
	assert_int_equal(hp[0].epoch, T_E1);
	assert_int_equal(hp[0].seq, 2);
	assert_int_equal(edge_upd_positions(x->u, hp, 0), 0);
}

/* test_flipped_byte_forged - any changed byte fails the signature:
 * counted, nothing applied; the genuine batch still applies */
static void
test_flipped_byte_forged(void **state)
{
	struct fix *x = *state;
	struct proto_record r = PUT("192.0.2.1", 11);
	int64_t forged;
	size_t i;

	start(x, x->ka, "hub-a", T_E1, 0);
	update(x, x->ka, "hub-a", T_E1, 1, &r, 1);
	forged = ctr(EDGE_UPD_FORGED);
	/* a byte of the body (the score), then of the signature */
	for (i = 0; i < 2; i++) {
		size_t at = i == 0 ? x->msg.len / 2 : x->msg.len - 5;

		x->msg.data[at] ^= 0x01;
		assert_int_equal(
		    deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_FORGED);
		x->msg.data[at] ^= 0x01;
	}
	assert_int_equal(ctr(EDGE_UPD_FORGED), forged + 2);
	assert_int_equal(score_of(x, "192.0.2.1"), MX_ENOTFOUND);
	pos_is(x, "hub-a", 0, T_E1, 0);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	assert_int_equal(score_of(x, "192.0.2.1"), 11);
}

/* test_other_hubs_key_untrusted - a batch for hub-a signed with hub-b's
 * key is untrusted, so is a hub without a key; an unknown key forges */
static void
test_other_hubs_key_untrusted(void **state)
{
	struct fix *x = *state;
	struct proto_record r = PUT("192.0.2.1", 11);
	int64_t untrusted = ctr(EDGE_UPD_UNTRUSTED);
	int64_t forged = ctr(EDGE_UPD_FORGED);

	start(x, x->ka, "hub-a", T_E1, 0);
	update(x, x->kb, "hub-a", T_E1, 1, &r, 1);
	assert_int_equal(
	    deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_UNTRUSTED);
	update(x, x->kc, "hub-c", T_E1, 1, &r, 1);
	assert_int_equal(
	    deliver(x, "mxs/v1/updates/hub-c"), EDGE_UPD_UNTRUSTED);
	chunk(x, x->kc, "hub-c", T_E1, 0, 1, 0, 1, &r, 1);
	assert_int_equal(send_chunk(x, "hub-c", 0), EDGE_UPD_UNTRUSTED);
	update(x, x->kc, "hub-a", T_E1, 1, &r, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_FORGED);
	assert_int_equal(ctr(EDGE_UPD_UNTRUSTED), untrusted + 3);
	assert_int_equal(ctr(EDGE_UPD_FORGED), forged + 1);
	assert_int_equal(score_of(x, "192.0.2.1"), MX_ENOTFOUND);
	pos_is(x, "hub-a", 0, T_E1, 0);
	pos_is(x, "hub-c", MX_ENOTFOUND, 0, 0);
}

/* test_replay_stale - an applied batch again (a QoS 1 duplicate or a
 * replay) and one of an older epoch are stale: counted, no change */
static void
test_replay_stale(void **state)
{
	struct fix *x = *state;
	struct proto_record r1 = PUT("192.0.2.1", 1), r2 = PUT("192.0.2.1", 2);
	struct mx_buf first;
	int64_t stale;

	start(x, x->ka, "hub-a", T_E2, 0);
	update(x, x->ka, "hub-a", T_E2, 1, &r1, 1);
	mx_buf_init(&first, PROTO_MSG_MAX);
	assert_int_equal(mx_buf_append(&first, x->msg.data, x->msg.len), 0);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	update(x, x->ka, "hub-a", T_E2, 2, &r2, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	stale = ctr(EDGE_UPD_STALE);
	/* seq 2 again, then seq 1 replayed: would set the score back */
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_STALE);
	mx_buf_reset(&x->msg);
	assert_int_equal(mx_buf_append(&x->msg, first.data, first.len), 0);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_STALE);
	/* the epoch before: seq 3 would otherwise follow */
	update(x, x->ka, "hub-a", T_E1, 3, &r1, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_STALE);
	assert_int_equal(ctr(EDGE_UPD_STALE), stale + 3);
	assert_int_equal(score_of(x, "192.0.2.1"), 2);
	pos_is(x, "hub-a", 0, T_E2, 2);
	assert_int_equal(edge_upd_buffered(x->u, "hub-a"), 0);
	mx_buf_fini(&first);
}

/* test_gap_then_snapshot_out_of_order - a skipped seq defers the batch
 * and waits for a snapshot; its chunks, out of order, replace that
 * hub's records only; then the deferred batches apply */
static void
test_gap_then_snapshot_out_of_order(void **state)
{
	struct fix *x = *state;
	struct proto_record a[2] = {PUT("192.0.2.1", 1), PUT("192.0.2.2", 2)};
	struct proto_record b = PUT("198.51.100.1", 50);
	struct proto_record s0 = PUT("192.0.2.1", 10), s1 = PUT("192.0.2.3", 3);
	struct proto_record d3 = PUT("192.0.2.4", 4), d4 = DEL("192.0.2.3");
	struct mx_buf c[3];
	int64_t gap = ctr(EDGE_UPD_GAP), deferred = ctr(EDGE_UPD_DEFERRED);
	int64_t loaded = edge_metrics_get(EDGE_C_SNAP_LOADED);
	int i;

	local_put(x, "203.0.113.9", 9);
	start(x, x->kb, "hub-b", T_E1, 0);
	update(x, x->kb, "hub-b", T_E1, 1, &b, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-b"), EDGE_UPD_APPLIED);
	start(x, x->ka, "hub-a", T_E1, 0);
	update(x, x->ka, "hub-a", T_E1, 1, a, 2);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	/* while nothing is known missing, a chunk is still checked (only a
	 * newer snapshot can tell an edge it missed the last deltas) */
	mx_buf_reset(&x->msg);
	assert_int_equal(mx_buf_append(&x->msg, "junk", 4), 0);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_MALFORMED);

	/* seq 2 is lost: 3 and 4 wait */
	update(x, x->ka, "hub-a", T_E1, 3, &d3, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_GAP);
	update(x, x->ka, "hub-a", T_E1, 4, &d4, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_DEFERRED);
	/* a duplicate of a deferred one is not kept twice */
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_STALE);
	assert_int_equal(ctr(EDGE_UPD_GAP), gap + 1);
	assert_int_equal(ctr(EDGE_UPD_DEFERRED), deferred + 1);
	assert_int_equal(edge_upd_buffered(x->u, "hub-a"), 2);
	assert_int_equal(edge_upd_resub_due(x->u, 0, T_NOW), 1);
	assert_int_equal(edge_upd_resub_due(x->u, 0, T_NOW + 1), 0);
	assert_int_equal(edge_upd_resub_due(x->u, 1, T_NOW), 0);
	assert_int_equal(score_of(x, "192.0.2.4"), MX_ENOTFOUND);
	pos_is(x, "hub-a", 0, T_E1, 1);

	/* the snapshot taken at seq 2: 192.0.2.2 is no longer in it */
	for (i = 0; i < 3; i++)
		mx_buf_init(&c[i], PROTO_MSG_MAX);
	chunk(x, x->ka, "hub-a", T_E1, 2, 77, 0, 3, &s0, 1);
	assert_int_equal(mx_buf_append(&c[0], x->msg.data, x->msg.len), 0);
	chunk(x, x->ka, "hub-a", T_E1, 2, 77, 1, 3, &s1, 1);
	assert_int_equal(mx_buf_append(&c[1], x->msg.data, x->msg.len), 0);
	chunk(x, x->ka, "hub-a", T_E1, 2, 77, 2, 3, NULL, 0);
	assert_int_equal(mx_buf_append(&c[2], x->msg.data, x->msg.len), 0);
	assert_int_equal(edge_upd_handle(x->u, "mxs/v1/snapshot/hub-a/2",
	                     c[2].data, c[2].len, T_NOW),
	    EDGE_UPD_CHUNK_KEPT);
	assert_int_equal(edge_upd_handle(x->u, "mxs/v1/snapshot/hub-a/0",
	                     c[0].data, c[0].len, T_NOW),
	    EDGE_UPD_CHUNK_KEPT);
	/* a duplicate chunk is ignored */
	assert_int_equal(edge_upd_handle(x->u, "mxs/v1/snapshot/hub-a/0",
	                     c[0].data, c[0].len, T_NOW),
	    EDGE_UPD_IGNORED);
	assert_int_equal(score_of(x, "192.0.2.1"), 1);
	assert_int_equal(edge_upd_handle(x->u, "mxs/v1/snapshot/hub-a/1",
	                     c[1].data, c[1].len, T_NOW),
	    EDGE_UPD_SNAP_LOADED);
	assert_int_equal(edge_metrics_get(EDGE_C_SNAP_LOADED), loaded + 3);

	/* hub-a's records are the snapshot's, then seq 3 and 4 */
	assert_int_equal(score_of(x, "192.0.2.1"), 10);
	assert_int_equal(score_of(x, "192.0.2.2"), MX_ENOTFOUND);
	assert_int_equal(score_of(x, "192.0.2.3"), MX_ENOTFOUND);
	assert_int_equal(score_of(x, "192.0.2.4"), 4);
	pos_is(x, "hub-a", 0, T_E1, 4);
	assert_int_equal(edge_upd_buffered(x->u, "hub-a"), 0);
	/* the edge's own and hub-b's records are untouched */
	assert_int_equal(score_of(x, "203.0.113.9"), 9);
	assert_int_equal(score_of(x, "198.51.100.1"), 50);
	pos_is(x, "hub-b", 0, T_E1, 1);
	/* caught up: chunks are skipped again; the stream goes on */
	assert_int_equal(edge_upd_handle(x->u, "mxs/v1/snapshot/hub-a/1",
	                     c[1].data, c[1].len, T_NOW),
	    EDGE_UPD_IGNORED);
	update(x, x->ka, "hub-a", T_E1, 5, &s1, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	assert_int_equal(score_of(x, "192.0.2.3"), 3);
	for (i = 0; i < 3; i++)
		mx_buf_fini(&c[i]);
}

/* test_late_batch_fills_the_gap - the missing batch arriving late is
 * applied, and the deferred ones after it follow without a snapshot */
static void
test_late_batch_fills_the_gap(void **state)
{
	struct fix *x = *state;
	struct proto_record r2 = PUT("192.0.2.2", 2), r3 = PUT("192.0.2.3", 3);
	int64_t applied;

	start(x, x->ka, "hub-a", T_E1, 1);
	update(x, x->ka, "hub-a", T_E1, 3, &r3, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_GAP);
	applied = ctr(EDGE_UPD_APPLIED);
	update(x, x->ka, "hub-a", T_E1, 2, &r2, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	assert_int_equal(ctr(EDGE_UPD_APPLIED), applied + 2);
	assert_int_equal(score_of(x, "192.0.2.3"), 3);
	pos_is(x, "hub-a", 0, T_E1, 3);
	assert_int_equal(edge_upd_buffered(x->u, "hub-a"), 0);
	/* nothing missing any more: a snapshot at or below the position is
	 * ignored */
	chunk(x, x->ka, "hub-a", T_E1, 3, 5, 0, 1, NULL, 0);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_IGNORED);
	pos_is(x, "hub-a", 0, T_E1, 3);
	/* one past it says deltas were missed that no later batch revealed:
	 * it loads */
	chunk(x, x->ka, "hub-a", T_E1, 9, 6, 0, 1, NULL, 0);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_SNAP_LOADED);
	pos_is(x, "hub-a", 0, T_E1, 9);
}

/* test_invalid_record_applies_nothing - one record proto_record_check
 * refuses (signed all the same) and none of the batch is applied */
static void
test_invalid_record_applies_nothing(void **state)
{
	struct fix *x = *state;
	struct proto_record r[3] = {
	    PUT("192.0.2.1", 1), PUT("192.0.2.2", 2), PUT("192.0.2.3", 3)};
	struct proto_batch_hdr h = hdr("hub-a", T_E1, 1);
	struct mx_buf body;
	uint8_t *at;
	int64_t refused = ctr(EDGE_UPD_REFUSED);

	start(x, x->ka, "hub-a", T_E1, 0);
	/* the encoder refuses invalid records: encode a valid domain key,
	 * then make it upper case in the body (not canonical) and sign */
	r[2].kind = PROTO_KIND_DOMAIN;
	memcpy(r[2].key, "com.xample", 10);
	r[2].key_len = 10;
	mx_buf_init(&body, PROTO_MSG_MAX);
	assert_int_equal(proto_update_body_encode(&body, &h, r, 3), 0);
	/* an upper-case domain key is not canonical */
	at = memmem(body.data, body.len, "com.xample", 10);
	assert_non_null(at);
	at[4] = 'X';
	assert_int_equal(
	    proto_update_body_decode(body.data, body.len, NULL, NULL, NULL),
	    MX_EINVAL);
	sign(x, x->ka, PROTO_MSG_UPDATE, &body);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_REFUSED);
	assert_int_equal(ctr(EDGE_UPD_REFUSED), refused + 1);
	assert_int_equal(score_of(x, "192.0.2.1"), MX_ENOTFOUND);
	assert_int_equal(score_of(x, "192.0.2.2"), MX_ENOTFOUND);
	pos_is(x, "hub-a", 0, T_E1, 0);
	mx_buf_fini(&body);
}

/* test_hub_ids_must_agree - the body's hub id and chunk number must be
 * the topic's, even under the right key */
static void
test_hub_ids_must_agree(void **state)
{
	struct fix *x = *state;
	struct proto_record r = PUT("192.0.2.1", 1);
	int64_t refused = ctr(EDGE_UPD_REFUSED);

	start(x, x->ka, "hub-a", T_E1, 0);
	update(x, x->ka, "hub-b", T_E1, 1, &r, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_REFUSED);
	/* a chunk moved to another chunk topic (hub-b needs a snapshot) */
	chunk(x, x->kb, "hub-b", T_E1, 0, 1, 0, 2, &r, 1);
	assert_int_equal(send_chunk(x, "hub-b", 1), EDGE_UPD_REFUSED);
	assert_int_equal(ctr(EDGE_UPD_REFUSED), refused + 2);
	assert_int_equal(score_of(x, "192.0.2.1"), MX_ENOTFOUND);
	pos_is(x, "hub-a", 0, T_E1, 0);
	pos_is(x, "hub-b", MX_ENOTFOUND, 0, 0);
}

/* test_snapshot_max_refused - a snapshot past snapshot_max is refused
 * and counted, its other chunks ignored; a smaller newer one loads */
static void
test_snapshot_max_refused(void **state)
{
	struct fix *x = *state;
	struct proto_record r = PUT("192.0.2.1", 1), big[8];
	int64_t refused = edge_metrics_get(EDGE_C_SNAP_REFUSED);
	int i;

	edge_upd_free(x->u);
	x->u = receiver(x, 500);
	for (i = 0; i < 8; i++) {
		char a[32];

		snprintf(a, sizeof(a), "192.0.2.%d", 100 + i);
		big[i] = PUT(a, i);
	}
	/* chunks of about 330 bytes: the second passes 500 */
	chunk(x, x->ka, "hub-a", T_E1, 5, 10, 0, 3, big, 8);
	assert_true(x->msg.len > 320 && x->msg.len < 500);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_CHUNK_KEPT);
	chunk(x, x->ka, "hub-a", T_E1, 5, 10, 1, 3, big, 8);
	assert_int_equal(send_chunk(x, "hub-a", 1), EDGE_UPD_SNAP_REFUSED);
	assert_int_equal(edge_metrics_get(EDGE_C_SNAP_REFUSED), refused + 1);
	chunk(x, x->ka, "hub-a", T_E1, 5, 10, 2, 3, &r, 1);
	assert_int_equal(send_chunk(x, "hub-a", 2), EDGE_UPD_IGNORED);
	chunk(x, x->ka, "hub-a", T_E1, 5, 10, 0, 3, big, 8);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_IGNORED);
	pos_is(x, "hub-a", MX_ENOTFOUND, 0, 0);
	assert_int_equal(score_of(x, "192.0.2.100"), MX_ENOTFOUND);
	/* the next snapshot, at the limit or under it, loads */
	chunk(x, x->ka, "hub-a", T_E1, 6, 11, 0, 1, &r, 1);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_SNAP_LOADED);
	assert_int_equal(score_of(x, "192.0.2.1"), 1);
	pos_is(x, "hub-a", 0, T_E1, 6);
}

/* test_new_epoch_needs_snapshot - a batch of a newer epoch waits for
 * that epoch's snapshot, which wipes the old epoch's records; an older
 * epoch's snapshot is refused */
static void
test_new_epoch_needs_snapshot(void **state)
{
	struct fix *x = *state;
	struct proto_record old = PUT("192.0.2.1", 1),
	                    neu = PUT("192.0.2.2", 2);
	struct proto_record snap = PUT("192.0.2.3", 3);
	int64_t refused;

	start(x, x->ka, "hub-a", T_E2, 0);
	update(x, x->ka, "hub-a", T_E2, 1, &old, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	update(x, x->ka, "hub-a", T_E2 + 1, 1, &neu, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_GAP);
	/* the new epoch's snapshot at seq 0 starts coming */
	chunk(x, x->ka, "hub-a", T_E2 + 1, 0, 1, 0, 2, &snap, 1);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_CHUNK_KEPT);
	/* an older epoch's snapshot: refused, the partial one stays */
	refused = edge_metrics_get(EDGE_C_SNAP_REFUSED);
	chunk(x, x->ka, "hub-a", T_E1, 50, 3, 1, 2, &snap, 1);
	assert_int_equal(send_chunk(x, "hub-a", 1), EDGE_UPD_SNAP_REFUSED);
	assert_int_equal(edge_metrics_get(EDGE_C_SNAP_REFUSED), refused + 1);
	chunk(x, x->ka, "hub-a", T_E1, 50, 3, 0, 2, &snap, 1);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_IGNORED);
	/* the same epoch, not past the position: nothing to gain */
	chunk(x, x->ka, "hub-a", T_E2, 1, 4, 1, 2, &snap, 1);
	assert_int_equal(send_chunk(x, "hub-a", 1), EDGE_UPD_IGNORED);
	assert_int_equal(score_of(x, "192.0.2.1"), 1);
	assert_int_equal(score_of(x, "192.0.2.2"), MX_ENOTFOUND);
	pos_is(x, "hub-a", 0, T_E2, 1);
	/* the new epoch's last chunk: loaded, then its seq 1 */
	chunk(x, x->ka, "hub-a", T_E2 + 1, 0, 1, 1, 2, NULL, 0);
	assert_int_equal(send_chunk(x, "hub-a", 1), EDGE_UPD_SNAP_LOADED);
	assert_int_equal(edge_metrics_get(EDGE_C_SNAP_REFUSED), refused + 1);
	assert_int_equal(score_of(x, "192.0.2.1"), MX_ENOTFOUND);
	assert_int_equal(score_of(x, "192.0.2.2"), 2);
	assert_int_equal(score_of(x, "192.0.2.3"), 3);
	pos_is(x, "hub-a", 0, T_E2 + 1, 1);
}

/* test_no_position_waits_for_snapshot - without a position every batch
 * waits; an empty chunk payload is skipped silently */
static void
test_no_position_waits_for_snapshot(void **state)
{
	struct fix *x = *state;
	struct proto_record r = PUT("192.0.2.1", 1), s = PUT("192.0.2.9", 9);
	int64_t ignored = ctr(EDGE_UPD_IGNORED);
	int64_t malformed = ctr(EDGE_UPD_MALFORMED);

	update(x, x->ka, "hub-a", T_E1, 8, &r, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_GAP);
	assert_int_equal(edge_upd_buffered(x->u, "hub-a"), 1);
	/* "no chunk": the hub cleared a chunk of a bigger snapshot */
	assert_int_equal(
	    edge_upd_handle(x->u, "mxs/v1/snapshot/hub-a/3", NULL, 0, T_NOW),
	    EDGE_UPD_IGNORED);
	assert_int_equal(
	    edge_upd_handle(x->u, "mxs/v1/snapshot/hub-a/0", NULL, 0, T_NOW),
	    EDGE_UPD_IGNORED);
	assert_int_equal(ctr(EDGE_UPD_IGNORED), ignored + 2);
	assert_int_equal(ctr(EDGE_UPD_MALFORMED), malformed);
	chunk(x, x->ka, "hub-a", T_E1, 7, 2, 0, 1, &s, 1);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_SNAP_LOADED);
	assert_int_equal(score_of(x, "192.0.2.9"), 9);
	assert_int_equal(score_of(x, "192.0.2.1"), 1);
	pos_is(x, "hub-a", 0, T_E1, 8);
}

/* test_newer_snapshot_replaces_partial - a newer snapshot's chunk
 * replaces a partial older one; the older one's leftovers are ignored */
static void
test_newer_snapshot_replaces_partial(void **state)
{
	struct fix *x = *state;
	struct proto_record o = PUT("192.0.2.1", 1), n = PUT("192.0.2.2", 2);

	chunk(x, x->ka, "hub-a", T_E1, 3, 30, 0, 2, &o, 1);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_CHUNK_KEPT);
	chunk(x, x->ka, "hub-a", T_E1, 4, 40, 1, 2, &n, 1);
	assert_int_equal(send_chunk(x, "hub-a", 1), EDGE_UPD_CHUNK_KEPT);
	chunk(x, x->ka, "hub-a", T_E1, 3, 30, 1, 2, &o, 1);
	assert_int_equal(send_chunk(x, "hub-a", 1), EDGE_UPD_IGNORED);
	chunk(x, x->ka, "hub-a", T_E1, 4, 40, 0, 2, NULL, 0);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_SNAP_LOADED);
	assert_int_equal(score_of(x, "192.0.2.1"), MX_ENOTFOUND);
	assert_int_equal(score_of(x, "192.0.2.2"), 2);
	pos_is(x, "hub-a", 0, T_E1, 4);
}

/* test_buffer_bounded - past 256 deferred batches the oldest go,
 * counted; the newest stay */
static void
test_buffer_bounded(void **state)
{
	struct fix *x = *state;
	struct proto_record r = PUT("192.0.2.1", 1);
	int64_t dropped = edge_metrics_get(EDGE_C_UPD_BUF_DROPPED);
	uint64_t seq;

	start(x, x->ka, "hub-a", T_E1, 0);
	for (seq = 2; seq < 2 + 300; seq++) {
		update(x, x->ka, "hub-a", T_E1, seq, &r, 1);
		assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"),
		    seq == 2 ? EDGE_UPD_GAP : EDGE_UPD_DEFERRED);
	}
	assert_int_equal(edge_upd_buffered(x->u, "hub-a"), 256);
	assert_int_equal(
	    edge_metrics_get(EDGE_C_UPD_BUF_DROPPED), dropped + 44);
	/* a snapshot at 45: 46..301 follow it */
	chunk(x, x->ka, "hub-a", T_E1, 45, 1, 0, 1, NULL, 0);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_SNAP_LOADED);
	pos_is(x, "hub-a", 0, T_E1, 301);
	assert_int_equal(edge_upd_buffered(x->u, "hub-a"), 0);
}

/* test_garbage_never_crashes - junk, truncations and wrong types are
 * refused or ignored, counted, and leave the store as it was */
static void
test_garbage_never_crashes(void **state)
{
	struct fix *x = *state;
	struct proto_record r = PUT("192.0.2.1", 1);
	struct mx_buf good;
	uint64_t rnd = 88172645463325252ULL;
	int64_t malformed = ctr(EDGE_UPD_MALFORMED);
	size_t i, len;

	start(x, x->ka, "hub-a", T_E1, 0);
	/* a snapshot chunk on the update topic: signed, wrong type */
	chunk(x, x->ka, "hub-a", T_E1, 1, 1, 0, 1, &r, 1);
	assert_int_equal(
	    deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_MALFORMED);
	assert_int_equal(ctr(EDGE_UPD_MALFORMED), malformed + 1);
	/* topics outside the tree, or of other kinds */
	assert_int_equal(deliver(x, "mxs/v1/status/edge-1"), EDGE_UPD_IGNORED);
	assert_int_equal(
	    deliver(x, "mxs/v1/updates/hub-a/x"), EDGE_UPD_IGNORED);
	assert_int_equal(deliver(x, "$SYS/broker"), EDGE_UPD_IGNORED);
	assert_int_equal(
	    edge_upd_handle(NULL, "mxs/v1/updates/hub-a", NULL, 0, T_NOW),
	    EDGE_UPD_IGNORED);
	assert_int_equal(
	    edge_upd_handle(x->u, "mxs/v1/updates/hub-a", NULL, 0, T_NOW),
	    EDGE_UPD_MALFORMED);
	update(x, x->ka, "hub-a", T_E1, 1, &r, 1);
	mx_buf_init(&good, PROTO_MSG_MAX);
	assert_int_equal(mx_buf_append(&good, x->msg.data, x->msg.len), 0);
	/* every truncation, then random bytes */
	for (len = 0; len < good.len; len++) {
		enum edge_upd_result res = edge_upd_handle(
		    x->u, "mxs/v1/updates/hub-a", good.data, len, T_NOW);

		assert_true(
		    res == EDGE_UPD_MALFORMED || res == EDGE_UPD_FORGED);
	}
	for (i = 0; i < 2000; i++) {
		uint8_t junk[256];
		size_t k;

		for (k = 0; k < sizeof(junk); k++) {
			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			junk[k] = (uint8_t)rnd;
		}
		/* keep a signed-envelope start now and then */
		if (i % 2 == 0)
			memcpy(junk, good.data, 8);
		(void)edge_upd_handle(x->u, "mxs/v1/updates/hub-a", junk,
		    rnd % sizeof(junk), T_NOW);
		(void)edge_upd_handle(x->u, "mxs/v1/snapshot/hub-b/7", junk,
		    rnd % sizeof(junk), T_NOW);
	}
	assert_int_equal(score_of(x, "192.0.2.1"), MX_ENOTFOUND);
	pos_is(x, "hub-a", 0, T_E1, 0);
	pos_is(x, "hub-b", MX_ENOTFOUND, 0, 0);
	/* and the genuine batch still applies */
	assert_int_equal(edge_upd_handle(x->u, "mxs/v1/updates/hub-a",
	                     good.data, good.len, T_NOW),
	    EDGE_UPD_APPLIED);
	assert_int_equal(score_of(x, "192.0.2.1"), 1);
	mx_buf_fini(&good);
}

/* test_rotation_either_key_verifies - a hub with its current and its
 * next key: batches and snapshot chunks signed with either apply, in
 * any order (the hub switches, an old retained chunk comes late) */
static void
test_rotation_either_key_verifies(void **state)
{
	struct fix *x = *state;
	struct proto_record r = PUT("192.0.2.1", 1);
	struct proto_key *kn = NULL;
	int64_t applied = ctr(EDGE_UPD_APPLIED);
	int64_t forged = ctr(EDGE_UPD_FORGED);

	assert_int_equal(proto_key_generate(&kn), 0);
	assert_int_equal(edge_upd_trust(x->u, "hub-a", pub(kn)), 0);
	start(x, x->ka, "hub-a", T_E1, 0);
	update(x, x->ka, "hub-a", T_E1, 1, &r, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	/* the hub now signs with the next key */
	r = PUT("192.0.2.1", 2);
	update(x, kn, "hub-a", T_E1, 2, &r, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	assert_int_equal(score_of(x, "192.0.2.1"), 2);
	/* one still signed with the old key (a batch queued for us) */
	r = PUT("192.0.2.1", 3);
	update(x, x->ka, "hub-a", T_E1, 3, &r, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	assert_int_equal(score_of(x, "192.0.2.1"), 3);
	/* a gap, filled by a snapshot signed with the next key */
	r = PUT("192.0.2.2", 5);
	update(x, kn, "hub-a", T_E1, 5, &r, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_GAP);
	r = PUT("192.0.2.1", 4);
	chunk(x, kn, "hub-a", T_E1, 4, 2, 0, 1, &r, 1);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_SNAP_LOADED);
	assert_int_equal(score_of(x, "192.0.2.1"), 4);
	assert_int_equal(score_of(x, "192.0.2.2"), 5);
	pos_is(x, "hub-a", 0, T_E1, 5);
	assert_int_equal(ctr(EDGE_UPD_APPLIED), applied + 4);
	assert_int_equal(ctr(EDGE_UPD_FORGED), forged);
	/* hub-a's new key is not hub-b's: a hub speaking for another */
	update(x, kn, "hub-b", T_E1, 1, &r, 1);
	assert_int_equal(
	    deliver(x, "mxs/v1/updates/hub-b"), EDGE_UPD_UNTRUSTED);
	proto_key_free(kn);
}

/* test_rotation_new_key_forged_without_it - an edge that has only the
 * old key refuses a batch signed with the new one (forged, counted,
 * nothing applied) and still applies the old key's */
static void
test_rotation_new_key_forged_without_it(void **state)
{
	struct fix *x = *state;
	struct proto_record r = PUT("192.0.2.1", 1);
	struct proto_key *kn = NULL;
	int64_t forged = ctr(EDGE_UPD_FORGED);

	assert_int_equal(proto_key_generate(&kn), 0);
	start(x, x->ka, "hub-a", T_E1, 0);
	update(x, kn, "hub-a", T_E1, 1, &r, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_FORGED);
	chunk(x, kn, "hub-a", T_E1, 1, 2, 0, 1, &r, 1);
	assert_int_equal(send_chunk(x, "hub-a", 0), EDGE_UPD_FORGED);
	assert_int_equal(ctr(EDGE_UPD_FORGED), forged + 2);
	assert_int_equal(score_of(x, "192.0.2.1"), MX_ENOTFOUND);
	pos_is(x, "hub-a", 0, T_E1, 0);
	update(x, x->ka, "hub-a", T_E1, 1, &r, 1);
	assert_int_equal(deliver(x, "mxs/v1/updates/hub-a"), EDGE_UPD_APPLIED);
	assert_int_equal(score_of(x, "192.0.2.1"), 1);
	proto_key_free(kn);
}

/* test_trust_limits - ids checked, a hub's key given once, two keys a
 * hub and 16 hubs at most */
static void
test_trust_limits(void **state)
{
	struct fix *x = *state;
	struct edge_upd *u = edge_upd_new(x->st, 0);
	struct proto_key *k = pub(x->ka);
	char id[16];
	int i;

	assert_int_equal(edge_upd_trust(u, "bad id", k), MX_EINVAL);
	assert_int_equal(edge_upd_trust(u, "..", k), MX_EINVAL);
	assert_int_equal(edge_upd_trust(u, "hub-0", k), 0);
	k = pub(x->ka);
	assert_int_equal(edge_upd_trust(u, "hub-0", k), MX_EEXIST);
	proto_key_free(k);
	/* the next key, then no third one */
	assert_int_equal(edge_upd_trust(u, "hub-0", pub(x->kb)), 0);
	k = pub(x->kb);
	assert_int_equal(edge_upd_trust(u, "hub-0", k), MX_EEXIST);
	proto_key_free(k);
	k = pub(x->kc);
	assert_int_equal(edge_upd_trust(u, "hub-0", k), MX_ELIMIT);
	proto_key_free(k);
	assert_int_equal(edge_upd_hub_count(u), 1);
	k = pub(x->ka);
	for (i = 1; i < PROTO_KEYRING_MAX; i++) {
		snprintf(id, sizeof(id), "hub-%d", i);
		assert_int_equal(edge_upd_trust(u, id, k), 0);
		k = pub(x->ka);
	}
	assert_int_equal(edge_upd_trust(u, "hub-x", k), MX_ELIMIT);
	proto_key_free(k);
	assert_int_equal(edge_upd_hub_count(u), PROTO_KEYRING_MAX);
	assert_string_equal(edge_upd_hub_id(u, 3), "hub-3");
	assert_null(edge_upd_hub_id(u, PROTO_KEYRING_MAX));
	assert_string_equal(
	    edge_upd_result_name(EDGE_UPD_SNAP_LOADED), "snapshot_loaded");
	edge_upd_free(u);
	edge_upd_free(NULL);
}

/* main - every receiver test, each with a fresh store and keys */
int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_applied_batch_visible),
	    T(test_flipped_byte_forged),
	    T(test_other_hubs_key_untrusted),
	    T(test_replay_stale),
	    T(test_gap_then_snapshot_out_of_order),
	    T(test_late_batch_fills_the_gap),
	    T(test_invalid_record_applies_nothing),
	    T(test_hub_ids_must_agree),
	    T(test_snapshot_max_refused),
	    T(test_new_epoch_needs_snapshot),
	    T(test_no_position_waits_for_snapshot),
	    T(test_newer_snapshot_replaces_partial),
	    T(test_buffer_bounded),
	    T(test_garbage_never_crashes),
	    T(test_rotation_either_key_verifies),
	    T(test_rotation_new_key_forged_without_it),
	    T(test_trust_limits),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
