/*
 * fuzz_msg.h - oracles shared by the fuzz_msg_* targets
 *
 * Whatever a decoder accepts must survive a round trip: the decoded
 * message re-encodes without error and decodes again to exactly the same
 * fields. Views must point inside the input. A broken oracle aborts, so
 * libFuzzer (or the replay main) reports it as a crash.
 * Trust: the input is arbitrary bytes, passed as (pointer, length).
 */
#ifndef FUZZ_MSG_H
#define FUZZ_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mx_buf.h"
#include "proto/proto_msg.h"
#include "proto/proto_record.h"

/* fuzz_msg_check - abort when an oracle does not hold */
static inline void
fuzz_msg_check(bool ok)
{
	if (!ok)
		abort();
}

/* fuzz_msg_view_in - v lies inside (p, n) or is empty */
static inline bool
fuzz_msg_view_in(struct proto_str v, const uint8_t *p, size_t n)
{
	if (v.len == 0)
		return true;
	return v.p >= p && v.len <= n && (size_t)(v.p - p) <= n - v.len;
}

/* fuzz_msg_view_eq - two views hold the same bytes */
static inline bool
fuzz_msg_view_eq(struct proto_str a, struct proto_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* fuzz_msg_record_eq - every field of two records */
static inline bool
fuzz_msg_record_eq(const struct proto_record *a, const struct proto_record *b)
{
	return a->kind == b->kind && a->op == b->op && a->action == b->action &&
	       a->flags == b->flags && a->score == b->score &&
	       a->expires == b->expires && a->ts_ms == b->ts_ms &&
	       a->key_len == b->key_len && a->key_len <= PROTO_KEY_MAX &&
	       memcmp(a->key, b->key, a->key_len) == 0 &&
	       a->source_len == b->source_len &&
	       a->source_len <= PROTO_SOURCE_MAX &&
	       memcmp(a->source, b->source, a->source_len) == 0 &&
	       a->reason_len == b->reason_len &&
	       a->reason_len <= PROTO_REASON_MAX &&
	       memcmp(a->reason, b->reason, a->reason_len) == 0 &&
	       a->data_len == b->data_len && a->data_len <= PROTO_DATA_MAX &&
	       memcmp(a->data, b->data, a->data_len) == 0;
}

/* records seen by the first decode, compared by the second */
struct fuzz_msg_recs {
	struct proto_record *r; /* PROTO_BATCH_RECORDS_MAX entries */
	size_t n;
};

/* fuzz_msg_rec_store - first pass: keep each record */
static inline int
fuzz_msg_rec_store(void *arg, const struct proto_record *r)
{
	struct fuzz_msg_recs *c = arg;

	fuzz_msg_check(c->n < PROTO_BATCH_RECORDS_MAX);
	fuzz_msg_check(proto_record_check(r) == 0);
	c->r[c->n++] = *r;
	return 0;
}

/* fuzz_msg_rec_cmp - second pass: each record equals the stored one */
static inline int
fuzz_msg_rec_cmp(void *arg, const struct proto_record *r)
{
	struct fuzz_msg_recs *c = arg;

	fuzz_msg_check(c->n < PROTO_BATCH_RECORDS_MAX);
	fuzz_msg_check(fuzz_msg_record_eq(&c->r[c->n], r));
	c->n++;
	return 0;
}

/* fuzz_msg_batch_eq - two batch headers */
static inline bool
fuzz_msg_batch_eq(
    const struct proto_batch_hdr *a, const struct proto_batch_hdr *b)
{
	return fuzz_msg_view_eq(a->hub_id, b->hub_id) && a->epoch == b->epoch &&
	       a->seq == b->seq && a->ts_ms == b->ts_ms &&
	       a->snap_id == b->snap_id && a->index == b->index &&
	       a->count == b->count && a->n_records == b->n_records;
}

/* fuzz_msg_feed_eq - two feed headers */
static inline bool
fuzz_msg_feed_eq(const struct proto_feed_hdr *a, const struct proto_feed_hdr *b)
{
	return fuzz_msg_view_eq(a->source, b->source) &&
	       fuzz_msg_view_eq(a->who, b->who) && a->ts_ms == b->ts_ms &&
	       a->serial == b->serial && a->n_records == b->n_records;
}

/*
 * fuzz_msg_body - decode a signed body of type (update, snapshot or
 * feed); if it is accepted, re-encode it and check that the second decode
 * gives the same header and records, and that a third encode gives the
 * same bytes as the second.
 */
static inline void
fuzz_msg_body(unsigned type, const uint8_t *body, size_t len)
{
	static struct proto_record recs[PROTO_BATCH_RECORDS_MAX];
	struct fuzz_msg_recs c = {recs, 0};
	struct proto_batch_hdr bh, bh2;
	struct proto_feed_hdr fh, fh2;
	struct mx_buf out, out2;
	int rc;

	if (type == PROTO_MSG_UPDATE)
		rc = proto_update_body_decode(
		    body, len, &bh, fuzz_msg_rec_store, &c);
	else if (type == PROTO_MSG_SNAPSHOT)
		rc = proto_snapshot_body_decode(
		    body, len, &bh, fuzz_msg_rec_store, &c);
	else
		rc = proto_feed_body_decode(
		    body, len, &fh, fuzz_msg_rec_store, &c);
	if (rc != 0) {
		fuzz_msg_check(rc < 0);
		return;
	}

	mx_buf_init(&out, PROTO_MSG_MAX);
	mx_buf_init(&out2, PROTO_MSG_MAX);
	if (type == PROTO_MSG_FEED) {
		fuzz_msg_check(fh.n_records == c.n);
		fuzz_msg_check(fuzz_msg_view_in(fh.source, body, len) &&
		               fuzz_msg_view_in(fh.who, body, len));
		fuzz_msg_check(fh.source.len >= 1 && fh.who.len >= 1);
		fuzz_msg_check(
		    proto_feed_body_encode(&out, &fh, recs, c.n) == 0);
		c.n = 0;
		fuzz_msg_check(proto_feed_body_decode(out.data, out.len, &fh2,
		                   fuzz_msg_rec_cmp, &c) == 0);
		fuzz_msg_check(fuzz_msg_feed_eq(&fh, &fh2));
		fuzz_msg_check(
		    proto_feed_body_encode(&out2, &fh2, recs, c.n) == 0);
	} else {
		fuzz_msg_check(bh.n_records == c.n);
		fuzz_msg_check(fuzz_msg_view_in(bh.hub_id, body, len));
		fuzz_msg_check(bh.hub_id.len >= 1);
		if (type == PROTO_MSG_SNAPSHOT) {
			fuzz_msg_check(bh.index < bh.count);
			fuzz_msg_check(proto_snapshot_body_encode(
			                   &out, &bh, recs, c.n) == 0);
		} else {
			fuzz_msg_check(proto_update_body_encode(
			                   &out, &bh, recs, c.n) == 0);
		}
		c.n = 0;
		rc = type == PROTO_MSG_SNAPSHOT
		         ? proto_snapshot_body_decode(
		               out.data, out.len, &bh2, fuzz_msg_rec_cmp, &c)
		         : proto_update_body_decode(
		               out.data, out.len, &bh2, fuzz_msg_rec_cmp, &c);
		fuzz_msg_check(rc == 0);
		fuzz_msg_check(fuzz_msg_batch_eq(&bh, &bh2));
		rc = type == PROTO_MSG_SNAPSHOT
		         ? proto_snapshot_body_encode(&out2, &bh2, recs, c.n)
		         : proto_update_body_encode(&out2, &bh2, recs, c.n);
		fuzz_msg_check(rc == 0);
	}
	/* the encoding of a decoded message is a fixed point */
	fuzz_msg_check(
	    out.len == out2.len && memcmp(out.data, out2.data, out.len) == 0);
	/* the re-encoded body is never longer than the input */
	fuzz_msg_check(out.len <= len);
	mx_buf_fini(&out2);
	mx_buf_fini(&out);
}

#endif /* FUZZ_MSG_H */
