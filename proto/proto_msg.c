/*
 * proto_msg.c - msgpack messages between edges, hubs and feeds
 *
 * Encoders validate everything first (field ranges, string and array
 * limits, proto_record_check()), then pack with msgpack-c's packer into
 * the caller's mx_buf through a bounded write callback; msgpack-c picks
 * the smallest representation of every integer and length, so equal
 * input gives equal bytes. Optional fields holding their default (0 or
 * empty) are left out, required ones are always written, keys ascending.
 *
 * Decoders walk the payload with the pull reader of proto_mp.c: every map
 * key must be an unsigned integer greater than the previous one (equal:
 * MX_EDUP, smaller: MX_EPROTO); unknown keys are skipped within
 * PROTO_DEPTH_MAX; required keys are checked before a record or event
 * array is handed to a callback and again at the end. Key numbers, types
 * and limits are the contract written down in docs/protocol.md.
 *
 * Trust: every payload is hostile, signed or not. Limits: PROTO_MSG_MAX
 * bytes per payload (PROTO_MSG_BODY_MAX per signed body), PROTO_MSG_MAP_MAX
 * entries per map, PROTO_DEPTH_MAX nesting, the array and string maxima of
 * proto_msg.h and proto_record.h. Decoders never allocate.
 */
#include "proto/proto_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "lib/mx_buf.h"
#include "lib/mx_err.h"
#include "proto/proto_mp.h"
#include "proto/proto_record.h"

/* envelope bytes around the largest signed body: fixarray, version, type,
 * bin32 header, bin8 header of the signature, the signature */
#define PROTO_MSG_SIGNED_OVERHEAD (1 + 1 + 1 + 5 + 2 + PROTO_SIG_LEN)
#define PROTO_MSG_BODY_MAX (PROTO_MSG_MAX - PROTO_MSG_SIGNED_OVERHEAD)
#define PROTO_MSG_MAP_MAX 64     /* entries in one map, unknown included */
#define PROTO_MSG_COUNTRY_MAX 2  /* ISO 3166 alpha-2, or empty */
#define PROTO_MSG_EV_HASH_MAX 64 /* one event hash: type byte + digest */
#define PROTO_MSG_EVF_ALL 0x0fu  /* every defined PROTO_EVF_* bit */
#define PROTO_MSG_TUPLE_LEN 3    /* rcpt and hub position arrays */

/* nesting levels: the envelope array is level 1 and a body map level 2,
 * also for a signed body decoded out of its bin */
#define PROTO_LV_BODY 2
#define PROTO_LV_ELEM 4 /* an event, record or tuple inside a body array */

/* telemetry body keys */
enum proto_msg_tkey {
	PROTO_TK_EDGE_ID = 0,
	PROTO_TK_POP = 1,
	PROTO_TK_SEQ = 2,
	PROTO_TK_DROPPED = 3,
	PROTO_TK_EVENTS = 4,
};

/* event keys */
enum proto_msg_ekey {
	PROTO_EK_TS_MS = 0,
	PROTO_EK_TYPE = 1,
	PROTO_EK_IP = 2,
	PROTO_EK_VERDICT = 3,
	PROTO_EK_SCORE = 4,
	PROTO_EK_FLAGS = 5,
	PROTO_EK_HELO = 6,
	PROTO_EK_SENDER_DOMAIN = 7,
	PROTO_EK_COUNTRY = 8,
	PROTO_EK_ASN = 9,
	PROTO_EK_RCPT_OK = 10,
	PROTO_EK_RCPT_UNKNOWN = 11,
	PROTO_EK_SIZE = 12,
	PROTO_EK_REASONS = 13,
	PROTO_EK_FPS = 14,
	PROTO_EK_HASHES = 15,
	PROTO_EK_URLS = 16,
	PROTO_EK_RCPTS = 17,
	PROTO_EK_FP_SIG = 18,
};

/* status body keys */
enum proto_msg_skey {
	PROTO_SK_EDGE_ID = 0,
	PROTO_SK_POP = 1,
	PROTO_SK_STATE = 2,
	PROTO_SK_TS_MS = 3,
	PROTO_SK_VERSION = 4,
	PROTO_SK_UPTIME_S = 5,
	PROTO_SK_SESSIONS = 6,
	PROTO_SK_MSGS_PER_MIN = 7,
	PROTO_SK_HUBS = 8,
};

/* update and snapshot body keys (one numbering for both) */
enum proto_msg_bkey {
	PROTO_BK_HUB_ID = 0,
	PROTO_BK_EPOCH = 1,
	PROTO_BK_SEQ = 2,
	PROTO_BK_TS_MS = 3,
	PROTO_BK_SNAP_ID = 4, /* snapshot only */
	PROTO_BK_INDEX = 5,   /* snapshot only */
	PROTO_BK_COUNT = 6,   /* snapshot only */
	PROTO_BK_RECORDS = 7,
};

/* feed body keys */
enum proto_msg_fkey {
	PROTO_FK_SOURCE = 0,
	PROTO_FK_WHO = 1,
	PROTO_FK_TS_MS = 2,
	PROTO_FK_SERIAL = 3,
	PROTO_FK_RECORDS = 4,
};

/* record keys */
enum proto_msg_rkey {
	PROTO_RK_KIND = 0,
	PROTO_RK_OP = 1,
	PROTO_RK_KEY = 2,
	PROTO_RK_TS_MS = 3,
	PROTO_RK_ACTION = 4,
	PROTO_RK_SCORE = 5,
	PROTO_RK_EXPIRES = 6,
	PROTO_RK_FLAGS = 7,
	PROTO_RK_SOURCE = 8,
	PROTO_RK_REASON = 9,
	PROTO_RK_DATA = 10,
};

#define PROTO_BIT(k) (1u << (k))

/* required keys of each map */
#define PROTO_TK_REQ_HDR                                                       \
	(PROTO_BIT(PROTO_TK_EDGE_ID) | PROTO_BIT(PROTO_TK_POP) |               \
	    PROTO_BIT(PROTO_TK_SEQ))
#define PROTO_TK_REQ (PROTO_TK_REQ_HDR | PROTO_BIT(PROTO_TK_EVENTS))
#define PROTO_EK_REQ                                                           \
	(PROTO_BIT(PROTO_EK_TS_MS) | PROTO_BIT(PROTO_EK_TYPE) |                \
	    PROTO_BIT(PROTO_EK_IP) | PROTO_BIT(PROTO_EK_VERDICT))
#define PROTO_SK_REQ                                                           \
	(PROTO_BIT(PROTO_SK_EDGE_ID) | PROTO_BIT(PROTO_SK_POP) |               \
	    PROTO_BIT(PROTO_SK_STATE) | PROTO_BIT(PROTO_SK_TS_MS))
#define PROTO_BK_REQ_UPDATE                                                    \
	(PROTO_BIT(PROTO_BK_HUB_ID) | PROTO_BIT(PROTO_BK_EPOCH) |              \
	    PROTO_BIT(PROTO_BK_SEQ) | PROTO_BIT(PROTO_BK_TS_MS))
#define PROTO_BK_REQ_SNAPSHOT                                                  \
	(PROTO_BK_REQ_UPDATE | PROTO_BIT(PROTO_BK_SNAP_ID) |                   \
	    PROTO_BIT(PROTO_BK_INDEX) | PROTO_BIT(PROTO_BK_COUNT))
#define PROTO_FK_REQ_HDR                                                       \
	(PROTO_BIT(PROTO_FK_SOURCE) | PROTO_BIT(PROTO_FK_WHO) |                \
	    PROTO_BIT(PROTO_FK_TS_MS) | PROTO_BIT(PROTO_FK_SERIAL))
#define PROTO_RK_REQ                                                           \
	(PROTO_BIT(PROTO_RK_KIND) | PROTO_BIT(PROTO_RK_OP) |                   \
	    PROTO_BIT(PROTO_RK_KEY) | PROTO_BIT(PROTO_RK_TS_MS))

/*
 * Encoding
 */

/* the packer's sink: a bounded append into an mx_buf */
struct proto_msg_wr {
	struct mx_buf *b;
	size_t start; /* b->len before the message, restored on error */
	size_t limit; /* b->len may not pass this */
	int err;      /* sticky: MX_ETOOBIG after the first refused write */
};

/* proto_msg_wr_cb - msgpack_packer write callback */
static int
proto_msg_wr_cb(void *data, const char *p, size_t n)
{
	struct proto_msg_wr *w = data;

	if (w->err != 0)
		return -1;
	if (n > w->limit - w->b->len || mx_buf_append(w->b, p, n) != 0) {
		w->err = MX_ETOOBIG;
		return -1;
	}
	return 0;
}

/* proto_msg_wr_begin - bind a packer to out, at most cap more bytes */
static void
proto_msg_wr_begin(
    struct proto_msg_wr *w, msgpack_packer *pk, struct mx_buf *out, size_t cap)
{
	w->b = out;
	w->start = out->len;
	w->limit = out->max - out->len > cap ? out->len + cap : out->max;
	w->err = 0;
	msgpack_packer_init(pk, w, proto_msg_wr_cb);
}

/* proto_msg_wr_end - 0, or MX_ETOOBIG with out->len restored */
static int
proto_msg_wr_end(struct proto_msg_wr *w)
{
	if (w->err != 0)
		w->b->len = w->start;
	return w->err;
}

/* proto_msg_str_ok - a view of min..max bytes with storage if non-empty */
static bool
proto_msg_str_ok(const struct proto_str *s, size_t min, size_t max)
{
	return s->len >= min && s->len <= max && (s->p != NULL || s->len == 0);
}

/* proto_msg_strs_check - n views each of 1..max bytes; n <= max_n */
static int
proto_msg_strs_check(
    const struct proto_str *v, size_t n, size_t max_n, size_t max)
{
	size_t i;

	if (n > max_n)
		return MX_ELIMIT;
	for (i = 0; i < n; i++)
		if (!proto_msg_str_ok(&v[i], 1, max))
			return MX_EINVAL;
	return 0;
}

/* proto_msg_event_check - validate an event before encoding it */
static int
proto_msg_event_check(const struct proto_event *ev)
{
	size_t i;
	int rc;

	if (ev->type < PROTO_EV_TXN || ev->type > PROTO_EV_CONN_REFUSED)
		return MX_EINVAL;
	if (ev->ip_len != 4 && ev->ip_len != 16)
		return MX_EINVAL;
	if (ev->verdict > PROTO_VERDICT_MAX)
		return MX_EINVAL;
	if ((ev->flags & ~PROTO_MSG_EVF_ALL) != 0)
		return MX_EINVAL;
	if (!proto_msg_str_ok(&ev->helo, 0, PROTO_HELO_MAX) ||
	    !proto_msg_str_ok(&ev->sender_domain, 0, PROTO_DOMAIN_MAX) ||
	    !proto_msg_str_ok(&ev->country, 0, PROTO_MSG_COUNTRY_MAX))
		return MX_EINVAL;
	if ((rc = proto_msg_strs_check(ev->reasons, ev->n_reasons,
	         PROTO_EV_REASONS_MAX, PROTO_REASON_ID_MAX)) != 0 ||
	    (rc = proto_msg_strs_check(
	         ev->fps, ev->n_fps, PROTO_EV_FPS_MAX, PROTO_FP_MAX)) != 0 ||
	    (rc = proto_msg_strs_check(ev->hashes, ev->n_hashes,
	         PROTO_EV_HASHES_MAX, PROTO_MSG_EV_HASH_MAX)) != 0 ||
	    (rc = proto_msg_strs_check(ev->urls, ev->n_urls, PROTO_EV_URLS_MAX,
	         PROTO_DOMAIN_MAX)) != 0)
		return rc;
	if (ev->fp_sig.len != 0 && ev->fp_sig.len != PROTO_EV_FP_SIG_LEN)
		return MX_EINVAL;
	if (ev->n_rcpts > PROTO_EV_RCPTS_MAX)
		return MX_ELIMIT;
	for (i = 0; i < ev->n_rcpts; i++) {
		const struct proto_ev_rcpt *r = &ev->rcpts[i];

		if (!proto_msg_str_ok(&r->hash, 1, PROTO_RCPT_HASH_MAX) ||
		    !proto_msg_str_ok(&r->domain, 0, PROTO_DOMAIN_MAX) ||
		    r->result < PROTO_RCPT_OK || r->result > PROTO_RCPT_OTHER)
			return MX_EINVAL;
	}
	return 0;
}

/* proto_msg_record_ok - validate a record before encoding it */
static int
proto_msg_record_ok(const struct proto_record *r)
{
	/* lengths first: proto_record_check() may trust them */
	if (r->key_len > PROTO_KEY_MAX || r->source_len > PROTO_SOURCE_MAX ||
	    r->reason_len > PROTO_REASON_MAX || r->data_len > PROTO_DATA_MAX)
		return MX_EINVAL;
	return proto_record_check(r) == 0 ? 0 : MX_EINVAL;
}

/* proto_msg_records_check - n valid records; n within the batch limit */
static int
proto_msg_records_check(const struct proto_record *recs, size_t n)
{
	size_t i;
	int rc;

	if (n > PROTO_BATCH_RECORDS_MAX)
		return MX_ELIMIT;
	if (n > 0 && recs == NULL)
		return MX_EINVAL;
	for (i = 0; i < n; i++)
		if ((rc = proto_msg_record_ok(&recs[i])) != 0)
			return rc;
	return 0;
}

/* proto_msg_pack_key - a map key */
static void
proto_msg_pack_key(msgpack_packer *pk, unsigned key)
{
	msgpack_pack_uint8(pk, (uint8_t)key);
}

/* proto_msg_pack_str - a str value */
static void
proto_msg_pack_str(msgpack_packer *pk, const void *p, size_t len)
{
	msgpack_pack_str(pk, len);
	if (len > 0)
		msgpack_pack_str_body(pk, p, len);
}

/* proto_msg_pack_bin - a bin value */
static void
proto_msg_pack_bin(msgpack_packer *pk, const void *p, size_t len)
{
	msgpack_pack_bin(pk, len);
	if (len > 0)
		msgpack_pack_bin_body(pk, p, len);
}

/* proto_msg_pack_kstr - key and str view */
static void
proto_msg_pack_kstr(msgpack_packer *pk, unsigned key, const struct proto_str *s)
{
	proto_msg_pack_key(pk, key);
	proto_msg_pack_str(pk, s->p, s->len);
}

/* proto_msg_pack_ku - key and unsigned integer */
static void
proto_msg_pack_ku(msgpack_packer *pk, unsigned key, uint64_t v)
{
	proto_msg_pack_key(pk, key);
	msgpack_pack_uint64(pk, v);
}

/* proto_msg_pack_views - key and an array of str or bin views */
static void
proto_msg_pack_views(msgpack_packer *pk, unsigned key,
    const struct proto_str *v, size_t n, bool is_bin)
{
	size_t i;

	proto_msg_pack_key(pk, key);
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++) {
		if (is_bin)
			proto_msg_pack_bin(pk, v[i].p, v[i].len);
		else
			proto_msg_pack_str(pk, v[i].p, v[i].len);
	}
}

/* proto_msg_pack_envelope - [version, type, ... of n elements */
static void
proto_msg_pack_envelope(msgpack_packer *pk, size_t n, unsigned type)
{
	msgpack_pack_array(pk, n);
	msgpack_pack_uint8(pk, PROTO_VERSION);
	msgpack_pack_uint8(pk, (uint8_t)type);
}

/* proto_msg_pack_event - one validated event map */
static void
proto_msg_pack_event(msgpack_packer *pk, const struct proto_event *ev)
{
	size_t n = 4, i;

	/* count the optional fields that differ from their default */
	n += ev->score != 0;
	n += ev->flags != 0;
	n += ev->helo.len != 0;
	n += ev->sender_domain.len != 0;
	n += ev->country.len != 0;
	n += ev->asn != 0;
	n += ev->rcpt_ok != 0;
	n += ev->rcpt_unknown != 0;
	n += ev->size != 0;
	n += ev->n_reasons != 0;
	n += ev->n_fps != 0;
	n += ev->n_hashes != 0;
	n += ev->n_urls != 0;
	n += ev->n_rcpts != 0;
	n += ev->fp_sig.len != 0;
	msgpack_pack_map(pk, n);
	proto_msg_pack_ku(pk, PROTO_EK_TS_MS, ev->ts_ms);
	proto_msg_pack_ku(pk, PROTO_EK_TYPE, ev->type);
	proto_msg_pack_key(pk, PROTO_EK_IP);
	proto_msg_pack_bin(pk, ev->ip, ev->ip_len);
	proto_msg_pack_ku(pk, PROTO_EK_VERDICT, ev->verdict);
	if (ev->score != 0) {
		proto_msg_pack_key(pk, PROTO_EK_SCORE);
		msgpack_pack_int32(pk, ev->score);
	}
	if (ev->flags != 0)
		proto_msg_pack_ku(pk, PROTO_EK_FLAGS, ev->flags);
	if (ev->helo.len != 0)
		proto_msg_pack_kstr(pk, PROTO_EK_HELO, &ev->helo);
	if (ev->sender_domain.len != 0)
		proto_msg_pack_kstr(
		    pk, PROTO_EK_SENDER_DOMAIN, &ev->sender_domain);
	if (ev->country.len != 0)
		proto_msg_pack_kstr(pk, PROTO_EK_COUNTRY, &ev->country);
	if (ev->asn != 0)
		proto_msg_pack_ku(pk, PROTO_EK_ASN, ev->asn);
	if (ev->rcpt_ok != 0)
		proto_msg_pack_ku(pk, PROTO_EK_RCPT_OK, ev->rcpt_ok);
	if (ev->rcpt_unknown != 0)
		proto_msg_pack_ku(pk, PROTO_EK_RCPT_UNKNOWN, ev->rcpt_unknown);
	if (ev->size != 0)
		proto_msg_pack_ku(pk, PROTO_EK_SIZE, ev->size);
	if (ev->n_reasons != 0)
		proto_msg_pack_views(
		    pk, PROTO_EK_REASONS, ev->reasons, ev->n_reasons, false);
	if (ev->n_fps != 0)
		proto_msg_pack_views(
		    pk, PROTO_EK_FPS, ev->fps, ev->n_fps, true);
	if (ev->n_hashes != 0)
		proto_msg_pack_views(
		    pk, PROTO_EK_HASHES, ev->hashes, ev->n_hashes, true);
	if (ev->n_urls != 0)
		proto_msg_pack_views(
		    pk, PROTO_EK_URLS, ev->urls, ev->n_urls, false);
	if (ev->n_rcpts != 0) {
		proto_msg_pack_key(pk, PROTO_EK_RCPTS);
		msgpack_pack_array(pk, ev->n_rcpts);
		for (i = 0; i < ev->n_rcpts; i++) {
			const struct proto_ev_rcpt *r = &ev->rcpts[i];

			msgpack_pack_array(pk, PROTO_MSG_TUPLE_LEN);
			proto_msg_pack_bin(pk, r->hash.p, r->hash.len);
			proto_msg_pack_str(pk, r->domain.p, r->domain.len);
			msgpack_pack_uint8(pk, r->result);
		}
	}
	if (ev->fp_sig.len != 0) {
		proto_msg_pack_key(pk, PROTO_EK_FP_SIG);
		proto_msg_pack_bin(pk, ev->fp_sig.p, ev->fp_sig.len);
	}
}

/* proto_msg_pack_record - one validated record map */
static void
proto_msg_pack_record(msgpack_packer *pk, const struct proto_record *r)
{
	size_t n = 4;

	n += r->action != 0;
	n += r->score != 0;
	n += r->expires != 0;
	n += r->flags != 0;
	n += r->source_len != 0;
	n += r->reason_len != 0;
	n += r->data_len != 0;
	msgpack_pack_map(pk, n);
	proto_msg_pack_ku(pk, PROTO_RK_KIND, r->kind);
	proto_msg_pack_ku(pk, PROTO_RK_OP, r->op);
	proto_msg_pack_key(pk, PROTO_RK_KEY);
	proto_msg_pack_bin(pk, r->key, r->key_len);
	proto_msg_pack_ku(pk, PROTO_RK_TS_MS, r->ts_ms);
	if (r->action != 0)
		proto_msg_pack_ku(pk, PROTO_RK_ACTION, r->action);
	if (r->score != 0) {
		proto_msg_pack_key(pk, PROTO_RK_SCORE);
		msgpack_pack_int32(pk, r->score);
	}
	if (r->expires != 0)
		proto_msg_pack_ku(pk, PROTO_RK_EXPIRES, r->expires);
	if (r->flags != 0)
		proto_msg_pack_ku(pk, PROTO_RK_FLAGS, r->flags);
	if (r->source_len != 0) {
		proto_msg_pack_key(pk, PROTO_RK_SOURCE);
		proto_msg_pack_str(pk, r->source, r->source_len);
	}
	if (r->reason_len != 0) {
		proto_msg_pack_key(pk, PROTO_RK_REASON);
		proto_msg_pack_str(pk, r->reason, r->reason_len);
	}
	if (r->data_len != 0) {
		proto_msg_pack_key(pk, PROTO_RK_DATA);
		proto_msg_pack_bin(pk, r->data, r->data_len);
	}
}

/* proto_msg_pack_records - key and the array of validated records */
static void
proto_msg_pack_records(
    msgpack_packer *pk, unsigned key, const struct proto_record *recs, size_t n)
{
	size_t i;

	proto_msg_pack_key(pk, key);
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		proto_msg_pack_record(pk, &recs[i]);
}

/* proto_telemetry_encode - append a telemetry payload */
int
proto_telemetry_encode(struct mx_buf *out, const struct proto_telemetry_hdr *h,
    const struct proto_event *evs, size_t n)
{
	struct proto_msg_wr w;
	msgpack_packer pk;
	size_t i;
	int rc;

	if (out == NULL || h == NULL || (n > 0 && evs == NULL))
		return MX_EINVAL;
	if (!proto_msg_str_ok(&h->edge_id, 1, PROTO_ID_MAX) ||
	    !proto_msg_str_ok(&h->pop, 1, PROTO_ID_MAX))
		return MX_EINVAL;
	if (n > PROTO_BATCH_EVENTS_MAX)
		return MX_ELIMIT;
	for (i = 0; i < n; i++)
		if ((rc = proto_msg_event_check(&evs[i])) != 0)
			return rc;

	proto_msg_wr_begin(&w, &pk, out, PROTO_MSG_MAX);
	proto_msg_pack_envelope(&pk, 3, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&pk, 4 + (h->dropped != 0));
	proto_msg_pack_kstr(&pk, PROTO_TK_EDGE_ID, &h->edge_id);
	proto_msg_pack_kstr(&pk, PROTO_TK_POP, &h->pop);
	proto_msg_pack_ku(&pk, PROTO_TK_SEQ, h->seq);
	if (h->dropped != 0)
		proto_msg_pack_ku(&pk, PROTO_TK_DROPPED, h->dropped);
	proto_msg_pack_key(&pk, PROTO_TK_EVENTS);
	msgpack_pack_array(&pk, n);
	for (i = 0; i < n && w.err == 0; i++)
		proto_msg_pack_event(&pk, &evs[i]);
	return proto_msg_wr_end(&w);
}

/* proto_status_encode - append a status payload */
int
proto_status_encode(struct mx_buf *out, const struct proto_status *st)
{
	struct proto_msg_wr w;
	msgpack_packer pk;
	size_t i, n = 4;

	if (out == NULL || st == NULL)
		return MX_EINVAL;
	if (!proto_msg_str_ok(&st->edge_id, 1, PROTO_ID_MAX) ||
	    !proto_msg_str_ok(&st->pop, 1, PROTO_ID_MAX) ||
	    !proto_msg_str_ok(&st->version, 0, PROTO_VERSION_STR_MAX) ||
	    st->state < PROTO_EDGE_ONLINE || st->state > PROTO_EDGE_DRAINING)
		return MX_EINVAL;
	if (st->n_hubs > PROTO_STATUS_HUBS_MAX)
		return MX_ELIMIT;
	for (i = 0; i < st->n_hubs; i++)
		if (!proto_msg_str_ok(&st->hubs[i].hub_id, 1, PROTO_ID_MAX))
			return MX_EINVAL;

	n += st->version.len != 0;
	n += st->uptime_s != 0;
	n += st->sessions != 0;
	n += st->msgs_per_min != 0;
	n += st->n_hubs != 0;
	proto_msg_wr_begin(&w, &pk, out, PROTO_MSG_MAX);
	proto_msg_pack_envelope(&pk, 3, PROTO_MSG_STATUS);
	msgpack_pack_map(&pk, n);
	proto_msg_pack_kstr(&pk, PROTO_SK_EDGE_ID, &st->edge_id);
	proto_msg_pack_kstr(&pk, PROTO_SK_POP, &st->pop);
	proto_msg_pack_ku(&pk, PROTO_SK_STATE, st->state);
	proto_msg_pack_ku(&pk, PROTO_SK_TS_MS, st->ts_ms);
	if (st->version.len != 0)
		proto_msg_pack_kstr(&pk, PROTO_SK_VERSION, &st->version);
	if (st->uptime_s != 0)
		proto_msg_pack_ku(&pk, PROTO_SK_UPTIME_S, st->uptime_s);
	if (st->sessions != 0)
		proto_msg_pack_ku(&pk, PROTO_SK_SESSIONS, st->sessions);
	if (st->msgs_per_min != 0)
		proto_msg_pack_ku(&pk, PROTO_SK_MSGS_PER_MIN, st->msgs_per_min);
	if (st->n_hubs != 0) {
		proto_msg_pack_key(&pk, PROTO_SK_HUBS);
		msgpack_pack_array(&pk, st->n_hubs);
		for (i = 0; i < st->n_hubs; i++) {
			const struct proto_hub_pos *hp = &st->hubs[i];

			msgpack_pack_array(&pk, PROTO_MSG_TUPLE_LEN);
			proto_msg_pack_str(&pk, hp->hub_id.p, hp->hub_id.len);
			msgpack_pack_uint64(&pk, hp->epoch);
			msgpack_pack_uint64(&pk, hp->seq);
		}
	}
	return proto_msg_wr_end(&w);
}

/* proto_msg_batch_encode - update or snapshot body */
static int
proto_msg_batch_encode(struct mx_buf *out, bool is_snap,
    const struct proto_batch_hdr *h, const struct proto_record *recs, size_t n)
{
	struct proto_msg_wr w;
	msgpack_packer pk;
	int rc;

	if (out == NULL || h == NULL)
		return MX_EINVAL;
	if (!proto_msg_str_ok(&h->hub_id, 1, PROTO_ID_MAX))
		return MX_EINVAL;
	if (is_snap && (h->count < 1 || h->count > PROTO_SNAPSHOT_CHUNKS_MAX ||
	                   h->index >= h->count))
		return MX_EINVAL;
	if ((rc = proto_msg_records_check(recs, n)) != 0)
		return rc;

	proto_msg_wr_begin(&w, &pk, out, PROTO_MSG_BODY_MAX);
	msgpack_pack_map(&pk, is_snap ? 8 : 5);
	proto_msg_pack_kstr(&pk, PROTO_BK_HUB_ID, &h->hub_id);
	proto_msg_pack_ku(&pk, PROTO_BK_EPOCH, h->epoch);
	proto_msg_pack_ku(&pk, PROTO_BK_SEQ, h->seq);
	proto_msg_pack_ku(&pk, PROTO_BK_TS_MS, h->ts_ms);
	if (is_snap) {
		proto_msg_pack_ku(&pk, PROTO_BK_SNAP_ID, h->snap_id);
		proto_msg_pack_ku(&pk, PROTO_BK_INDEX, h->index);
		proto_msg_pack_ku(&pk, PROTO_BK_COUNT, h->count);
	}
	proto_msg_pack_records(&pk, PROTO_BK_RECORDS, recs, n);
	return proto_msg_wr_end(&w);
}

/* proto_update_body_encode - append an update batch body */
int
proto_update_body_encode(struct mx_buf *out, const struct proto_batch_hdr *h,
    const struct proto_record *recs, size_t n)
{
	return proto_msg_batch_encode(out, false, h, recs, n);
}

/* proto_snapshot_body_encode - append a snapshot chunk body */
int
proto_snapshot_body_encode(struct mx_buf *out, const struct proto_batch_hdr *h,
    const struct proto_record *recs, size_t n)
{
	return proto_msg_batch_encode(out, true, h, recs, n);
}

/* proto_feed_body_encode - append a feed submission body */
int
proto_feed_body_encode(struct mx_buf *out, const struct proto_feed_hdr *h,
    const struct proto_record *recs, size_t n)
{
	struct proto_msg_wr w;
	msgpack_packer pk;
	int rc;

	if (out == NULL || h == NULL)
		return MX_EINVAL;
	if (!proto_msg_str_ok(&h->source, 1, PROTO_ID_MAX) ||
	    !proto_msg_str_ok(&h->who, 1, PROTO_ID_MAX))
		return MX_EINVAL;
	if ((rc = proto_msg_records_check(recs, n)) != 0)
		return rc;

	proto_msg_wr_begin(&w, &pk, out, PROTO_MSG_BODY_MAX);
	msgpack_pack_map(&pk, 5);
	proto_msg_pack_kstr(&pk, PROTO_FK_SOURCE, &h->source);
	proto_msg_pack_kstr(&pk, PROTO_FK_WHO, &h->who);
	proto_msg_pack_ku(&pk, PROTO_FK_TS_MS, h->ts_ms);
	proto_msg_pack_ku(&pk, PROTO_FK_SERIAL, h->serial);
	proto_msg_pack_records(&pk, PROTO_FK_RECORDS, recs, n);
	return proto_msg_wr_end(&w);
}

/* proto_msg_is_signed - the message types that travel signed */
static bool
proto_msg_is_signed(uint64_t type)
{
	return type == PROTO_MSG_UPDATE || type == PROTO_MSG_SNAPSHOT ||
	       type == PROTO_MSG_FEED;
}

/* proto_signed_encode - append the signed envelope */
int
proto_signed_encode(struct mx_buf *out, unsigned type, const uint8_t *body,
    size_t body_len, const uint8_t sig[PROTO_SIG_LEN])
{
	struct proto_msg_wr w;
	msgpack_packer pk;

	if (out == NULL || sig == NULL || (body == NULL && body_len > 0))
		return MX_EINVAL;
	if (!proto_msg_is_signed(type))
		return MX_EINVAL;
	if (body_len > PROTO_MSG_BODY_MAX)
		return MX_ETOOBIG;

	proto_msg_wr_begin(&w, &pk, out, PROTO_MSG_MAX);
	proto_msg_pack_envelope(&pk, 4, type);
	proto_msg_pack_bin(&pk, body, body_len);
	proto_msg_pack_bin(&pk, sig, PROTO_SIG_LEN);
	return proto_msg_wr_end(&w);
}

/*
 * Decoding
 */

/* walking a body map: entry count, key order, keys seen */
struct proto_msg_map {
	uint32_t left; /* entries not read yet */
	uint64_t key;  /* the last key read */
	bool has_key;  /* a key has been read */
	uint32_t seen; /* bit k: key k (< 32) was read */
};

/* proto_msg_map_open - read a map header */
static int
proto_msg_map_open(struct proto_mp *m, struct proto_msg_map *mm)
{
	mm->key = 0;
	mm->has_key = false;
	mm->seen = 0;
	return proto_mp_map(m, PROTO_MSG_MAP_MAX, &mm->left);
}

/*
 * proto_msg_map_key - read the next key; keys strictly ascend
 * Returns 0, a reader error, MX_EDUP (key repeated) or MX_EPROTO (key
 * smaller than the one before).
 */
static int
proto_msg_map_key(struct proto_mp *m, struct proto_msg_map *mm, uint64_t *key)
{
	uint64_t k;
	int rc;

	if ((rc = proto_mp_uint(m, UINT64_MAX, &k)) != 0)
		return rc;
	if (mm->has_key && k == mm->key)
		return MX_EDUP;
	if (mm->has_key && k < mm->key)
		return MX_EPROTO;
	mm->has_key = true;
	mm->key = k;
	mm->left--;
	if (k < 32)
		mm->seen |= PROTO_BIT(k);
	*key = k;
	return 0;
}

/* proto_msg_map_has - MX_EMISSING unless every key in req was seen */
static int
proto_msg_map_has(const struct proto_msg_map *mm, uint32_t req)
{
	return (mm->seen & req) == req ? 0 : MX_EMISSING;
}

/* proto_msg_get_u8 - unsigned integer in [min, max] into a byte */
static int
proto_msg_get_u8(struct proto_mp *m, uint8_t min, uint8_t max, uint8_t *out)
{
	uint64_t v;
	int rc;

	if ((rc = proto_mp_uint(m, max, &v)) != 0)
		return rc;
	if (v < min)
		return MX_ERANGE;
	*out = (uint8_t)v;
	return 0;
}

/* proto_msg_get_u32 - unsigned integer <= max into 32 bits */
static int
proto_msg_get_u32(struct proto_mp *m, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int rc;

	if ((rc = proto_mp_uint(m, max, &v)) != 0)
		return rc;
	*out = (uint32_t)v;
	return 0;
}

/* proto_msg_get_i32 - signed 32-bit integer */
static int
proto_msg_get_i32(struct proto_mp *m, int32_t *out)
{
	int64_t v;
	int rc;

	if ((rc = proto_mp_int(m, INT32_MIN, INT32_MAX, &v)) != 0)
		return rc;
	*out = (int32_t)v;
	return 0;
}

/* proto_msg_get_views - array of at most max_n str/bin of 1..max bytes */
static int
proto_msg_get_views(struct proto_mp *m, bool is_bin, uint32_t max_n, size_t max,
    struct proto_str *v, uint16_t *n)
{
	uint32_t cnt, i;
	int rc;

	if ((rc = proto_mp_array(m, max_n, &cnt)) != 0)
		return rc;
	for (i = 0; i < cnt; i++) {
		rc = is_bin ? proto_mp_bin(m, 1, max, &v[i])
		            : proto_mp_str(m, 1, max, &v[i]);
		if (rc != 0)
			return rc;
	}
	*n = (uint16_t)cnt;
	return 0;
}

/* proto_msg_tuple - the header of a fixed 3-element array */
static int
proto_msg_tuple(struct proto_mp *m)
{
	uint32_t n;
	int rc;

	if ((rc = proto_mp_array(m, UINT32_MAX, &n)) != 0)
		return rc;
	return n == PROTO_MSG_TUPLE_LEN ? 0 : MX_ETYPE;
}

/* proto_msg_rcpts - the rcpts array of an event */
static int
proto_msg_rcpts(struct proto_mp *m, struct proto_event *ev)
{
	uint32_t n, i;
	int rc;

	if ((rc = proto_mp_array(m, PROTO_EV_RCPTS_MAX, &n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		struct proto_ev_rcpt *r = &ev->rcpts[i];

		if ((rc = proto_msg_tuple(m)) != 0)
			return rc;
		rc = proto_mp_bin(m, 1, PROTO_RCPT_HASH_MAX, &r->hash);
		if (rc != 0)
			return rc;
		rc = proto_mp_str(m, 0, PROTO_DOMAIN_MAX, &r->domain);
		if (rc != 0)
			return rc;
		rc = proto_msg_get_u8(
		    m, PROTO_RCPT_OK, PROTO_RCPT_OTHER, &r->result);
		if (rc != 0)
			return rc;
	}
	ev->n_rcpts = (uint16_t)n;
	return 0;
}

/* proto_msg_event_reset - defaults for every field, arrays emptied */
static void
proto_msg_event_reset(struct proto_event *ev)
{
	static const struct proto_str empty = {NULL, 0};

	ev->ts_ms = 0;
	ev->type = 0;
	ev->ip_len = 0;
	memset(ev->ip, 0, sizeof(ev->ip));
	ev->helo = empty;
	ev->sender_domain = empty;
	ev->country = empty;
	ev->asn = 0;
	ev->rcpt_ok = 0;
	ev->rcpt_unknown = 0;
	ev->size = 0;
	ev->verdict = 0;
	ev->score = 0;
	ev->flags = 0;
	ev->n_reasons = 0;
	ev->n_fps = 0;
	ev->n_hashes = 0;
	ev->n_urls = 0;
	ev->n_rcpts = 0;
	ev->fp_sig = empty;
}

/* proto_msg_event_decode - one event map into ev */
static int
proto_msg_event_decode(struct proto_mp *m, struct proto_event *ev)
{
	struct proto_msg_map mm;
	struct proto_str ip;
	uint64_t key;
	int rc;

	proto_msg_event_reset(ev);
	if ((rc = proto_msg_map_open(m, &mm)) != 0)
		return rc;
	while (mm.left > 0) {
		if ((rc = proto_msg_map_key(m, &mm, &key)) != 0)
			return rc;
		switch (key) {
		case PROTO_EK_TS_MS:
			rc = proto_mp_uint(m, UINT64_MAX, &ev->ts_ms);
			break;
		case PROTO_EK_TYPE:
			rc = proto_msg_get_u8(
			    m, PROTO_EV_TXN, PROTO_EV_CONN_REFUSED, &ev->type);
			break;
		case PROTO_EK_IP:
			if ((rc = proto_mp_bin(m, 4, 16, &ip)) != 0)
				break;
			if (ip.len != 4 && ip.len != 16) {
				rc = MX_ERANGE;
				break;
			}
			memcpy(ev->ip, ip.p, ip.len);
			ev->ip_len = (uint8_t)ip.len;
			break;
		case PROTO_EK_VERDICT:
			rc = proto_msg_get_u8(
			    m, 0, PROTO_VERDICT_MAX, &ev->verdict);
			break;
		case PROTO_EK_SCORE:
			rc = proto_msg_get_i32(m, &ev->score);
			break;
		case PROTO_EK_FLAGS:
			rc = proto_msg_get_u32(m, UINT32_MAX, &ev->flags);
			if (rc == 0 && (ev->flags & ~PROTO_MSG_EVF_ALL) != 0)
				rc = MX_ERANGE;
			break;
		case PROTO_EK_HELO:
			rc = proto_mp_str(m, 0, PROTO_HELO_MAX, &ev->helo);
			break;
		case PROTO_EK_SENDER_DOMAIN:
			rc = proto_mp_str(
			    m, 0, PROTO_DOMAIN_MAX, &ev->sender_domain);
			break;
		case PROTO_EK_COUNTRY:
			rc = proto_mp_str(
			    m, 0, PROTO_MSG_COUNTRY_MAX, &ev->country);
			break;
		case PROTO_EK_ASN:
			rc = proto_msg_get_u32(m, UINT32_MAX, &ev->asn);
			break;
		case PROTO_EK_RCPT_OK:
			rc = proto_msg_get_u32(m, UINT32_MAX, &ev->rcpt_ok);
			break;
		case PROTO_EK_RCPT_UNKNOWN:
			rc =
			    proto_msg_get_u32(m, UINT32_MAX, &ev->rcpt_unknown);
			break;
		case PROTO_EK_SIZE:
			rc = proto_mp_uint(m, UINT64_MAX, &ev->size);
			break;
		case PROTO_EK_REASONS:
			rc = proto_msg_get_views(m, false, PROTO_EV_REASONS_MAX,
			    PROTO_REASON_ID_MAX, ev->reasons, &ev->n_reasons);
			break;
		case PROTO_EK_FPS:
			rc = proto_msg_get_views(m, true, PROTO_EV_FPS_MAX,
			    PROTO_FP_MAX, ev->fps, &ev->n_fps);
			break;
		case PROTO_EK_HASHES:
			rc = proto_msg_get_views(m, true, PROTO_EV_HASHES_MAX,
			    PROTO_MSG_EV_HASH_MAX, ev->hashes, &ev->n_hashes);
			break;
		case PROTO_EK_URLS:
			rc = proto_msg_get_views(m, false, PROTO_EV_URLS_MAX,
			    PROTO_DOMAIN_MAX, ev->urls, &ev->n_urls);
			break;
		case PROTO_EK_RCPTS:
			rc = proto_msg_rcpts(m, ev);
			break;
		case PROTO_EK_FP_SIG:
			rc = proto_mp_bin(
			    m, 0, PROTO_EV_FP_SIG_LEN, &ev->fp_sig);
			if (rc == 0 && ev->fp_sig.len != 0 &&
			    ev->fp_sig.len != PROTO_EV_FP_SIG_LEN)
				rc = MX_ERANGE;
			break;
		default:
			rc = proto_mp_skip(m, PROTO_LV_ELEM + 1);
			break;
		}
		if (rc != 0)
			return rc;
	}
	return proto_msg_map_has(&mm, PROTO_EK_REQ);
}

/* proto_msg_record_decode - one record map into r, then checked */
static int
proto_msg_record_decode(struct proto_mp *m, struct proto_record *r)
{
	struct proto_msg_map mm;
	struct proto_str s;
	uint64_t key;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = proto_msg_map_open(m, &mm)) != 0)
		return rc;
	while (mm.left > 0) {
		if ((rc = proto_msg_map_key(m, &mm, &key)) != 0)
			return rc;
		switch (key) {
		case PROTO_RK_KIND:
			rc = proto_msg_get_u8(m, 0, UINT8_MAX, &r->kind);
			break;
		case PROTO_RK_OP:
			rc = proto_msg_get_u8(m, 0, UINT8_MAX, &r->op);
			break;
		case PROTO_RK_KEY:
			if ((rc = proto_mp_bin(m, 0, PROTO_KEY_MAX, &s)) != 0)
				break;
			memcpy(r->key, s.p, s.len);
			r->key_len = (uint16_t)s.len;
			break;
		case PROTO_RK_TS_MS:
			rc = proto_mp_uint(m, UINT64_MAX, &r->ts_ms);
			break;
		case PROTO_RK_ACTION:
			rc = proto_msg_get_u8(m, 0, UINT8_MAX, &r->action);
			break;
		case PROTO_RK_SCORE:
			rc = proto_msg_get_i32(m, &r->score);
			break;
		case PROTO_RK_EXPIRES:
			rc = proto_mp_uint(m, UINT64_MAX, &r->expires);
			break;
		case PROTO_RK_FLAGS:
			rc = proto_msg_get_u8(m, 0, UINT8_MAX, &r->flags);
			break;
		case PROTO_RK_SOURCE:
			rc = proto_mp_str(m, 0, PROTO_SOURCE_MAX, &s);
			if (rc != 0)
				break;
			memcpy(r->source, s.p, s.len);
			r->source_len = (uint8_t)s.len;
			break;
		case PROTO_RK_REASON:
			rc = proto_mp_str(m, 0, PROTO_REASON_MAX, &s);
			if (rc != 0)
				break;
			memcpy(r->reason, s.p, s.len);
			r->reason_len = (uint8_t)s.len;
			break;
		case PROTO_RK_DATA:
			if ((rc = proto_mp_bin(m, 0, PROTO_DATA_MAX, &s)) != 0)
				break;
			memcpy(r->data, s.p, s.len);
			r->data_len = (uint16_t)s.len;
			break;
		default:
			rc = proto_mp_skip(m, PROTO_LV_ELEM + 1);
			break;
		}
		if (rc != 0)
			return rc;
	}
	if ((rc = proto_msg_map_has(&mm, PROTO_RK_REQ)) != 0)
		return rc;
	/* signed or not, a record is applied only once it is valid */
	return proto_record_check(r);
}

/* proto_msg_records_decode - a records array, each handed to cb */
static int
proto_msg_records_decode(
    struct proto_mp *m, proto_record_fn cb, void *arg, uint32_t *n)
{
	struct proto_record r;
	uint32_t cnt, i;
	int rc;

	if ((rc = proto_mp_array(m, PROTO_BATCH_RECORDS_MAX, &cnt)) != 0)
		return rc;
	for (i = 0; i < cnt; i++) {
		if ((rc = proto_msg_record_decode(m, &r)) != 0)
			return rc;
		if (cb != NULL && (rc = cb(arg, &r)) != 0)
			return rc;
	}
	*n = cnt;
	return 0;
}

/*
 * proto_msg_envelope - [version, type, ...]: element count and type
 * The version is read before the count is judged, so a later version
 * with another layout is reported as MX_EVERSION, not MX_ETYPE.
 */
static int
proto_msg_envelope(struct proto_mp *m, uint32_t *n, uint64_t *type)
{
	uint64_t version;
	uint32_t cnt;
	int rc;

	if ((rc = proto_mp_array(m, UINT32_MAX, &cnt)) != 0)
		return rc;
	if (cnt == 0)
		return MX_ETYPE;
	if ((rc = proto_mp_uint(m, UINT64_MAX, &version)) != 0)
		return rc == MX_ERANGE ? MX_EVERSION : rc;
	if (version != PROTO_VERSION)
		return MX_EVERSION;
	if (cnt != 3 && cnt != 4)
		return MX_ETYPE;
	if ((rc = proto_mp_uint(m, UINT8_MAX, type)) != 0)
		return rc;
	*n = cnt;
	return 0;
}

/* proto_msg_open - check size and the unsigned envelope of a type */
static int
proto_msg_open(
    struct proto_mp *m, const uint8_t *buf, size_t len, unsigned want)
{
	uint64_t type;
	uint32_t n;
	int rc;

	if (buf == NULL && len > 0)
		return MX_EINVAL;
	if (len > PROTO_MSG_MAX)
		return MX_ETOOBIG;
	proto_mp_init(m, buf, len);
	if ((rc = proto_msg_envelope(m, &n, &type)) != 0)
		return rc;
	if (n != 3 || type != want)
		return MX_ETYPE;
	return 0;
}

/* proto_msg_peek - version and type of any payload */
int
proto_msg_peek(const uint8_t *buf, size_t len, unsigned *type)
{
	struct proto_mp m;
	uint64_t t;
	uint32_t n;
	int rc;

	if (buf == NULL && len > 0)
		return MX_EINVAL;
	if (len > PROTO_MSG_MAX)
		return MX_ETOOBIG;
	proto_mp_init(&m, buf, len);
	if ((rc = proto_msg_envelope(&m, &n, &t)) != 0)
		return rc;
	if (type != NULL)
		*type = (unsigned)t;
	return 0;
}

/* proto_signed_decode - split a signed payload */
int
proto_signed_decode(const uint8_t *buf, size_t len, unsigned *type,
    struct proto_str *body, struct proto_str *sig)
{
	struct proto_mp m;
	struct proto_str b, s;
	uint64_t t;
	uint32_t n;
	int rc;

	if (buf == NULL && len > 0)
		return MX_EINVAL;
	if (len > PROTO_MSG_MAX)
		return MX_ETOOBIG;
	proto_mp_init(&m, buf, len);
	if ((rc = proto_msg_envelope(&m, &n, &t)) != 0)
		return rc;
	if (n != 4)
		return MX_ETYPE;
	if (!proto_msg_is_signed(t))
		return MX_ERANGE;
	if ((rc = proto_mp_bin(&m, 0, PROTO_MSG_BODY_MAX, &b)) != 0)
		return rc;
	if ((rc = proto_mp_bin(&m, 0, PROTO_MSG_MAX, &s)) != 0)
		return rc;
	if (s.len != PROTO_SIG_LEN)
		return MX_ESIG;
	if ((rc = proto_mp_end(&m)) != 0)
		return rc;
	if (type != NULL)
		*type = (unsigned)t;
	if (body != NULL)
		*body = b;
	if (sig != NULL)
		*sig = s;
	return 0;
}

/* proto_telemetry_decode - decode a telemetry batch */
int
proto_telemetry_decode(const uint8_t *buf, size_t len,
    struct proto_telemetry_hdr *h, proto_event_fn cb, void *arg)
{
	struct proto_telemetry_hdr th;
	struct proto_event ev;
	struct proto_msg_map mm;
	struct proto_mp m;
	uint32_t n, i;
	uint64_t key;
	int rc;

	if ((rc = proto_msg_open(&m, buf, len, PROTO_MSG_TELEMETRY)) != 0)
		return rc;
	memset(&th, 0, sizeof(th));
	/* once per batch: later events reset only their scalars and counts */
	memset(&ev, 0, sizeof(ev));
	if ((rc = proto_msg_map_open(&m, &mm)) != 0)
		return rc;
	while (mm.left > 0) {
		if ((rc = proto_msg_map_key(&m, &mm, &key)) != 0)
			return rc;
		switch (key) {
		case PROTO_TK_EDGE_ID:
			rc = proto_mp_str(&m, 1, PROTO_ID_MAX, &th.edge_id);
			break;
		case PROTO_TK_POP:
			rc = proto_mp_str(&m, 1, PROTO_ID_MAX, &th.pop);
			break;
		case PROTO_TK_SEQ:
			rc = proto_mp_uint(&m, UINT64_MAX, &th.seq);
			break;
		case PROTO_TK_DROPPED:
			rc = proto_mp_uint(&m, UINT64_MAX, &th.dropped);
			break;
		case PROTO_TK_EVENTS:
			/* the callback may rely on the header */
			rc = proto_msg_map_has(&mm, PROTO_TK_REQ_HDR);
			if (rc != 0)
				break;
			rc = proto_mp_array(&m, PROTO_BATCH_EVENTS_MAX, &n);
			for (i = 0; rc == 0 && i < n; i++) {
				rc = proto_msg_event_decode(&m, &ev);
				if (rc == 0 && cb != NULL)
					rc = cb(arg, &th, &ev);
			}
			if (rc == 0)
				th.n_events = n;
			break;
		default:
			rc = proto_mp_skip(&m, PROTO_LV_BODY + 1);
			break;
		}
		if (rc != 0)
			return rc;
	}
	if ((rc = proto_msg_map_has(&mm, PROTO_TK_REQ)) != 0 ||
	    (rc = proto_mp_end(&m)) != 0)
		return rc;
	if (h != NULL)
		*h = th;
	return 0;
}

/* proto_msg_hub_pos - one [hub_id, epoch, seq] tuple */
static int
proto_msg_hub_pos(struct proto_mp *m, struct proto_hub_pos *hp)
{
	int rc;

	if ((rc = proto_msg_tuple(m)) != 0 ||
	    (rc = proto_mp_str(m, 1, PROTO_ID_MAX, &hp->hub_id)) != 0 ||
	    (rc = proto_mp_uint(m, UINT64_MAX, &hp->epoch)) != 0 ||
	    (rc = proto_mp_uint(m, UINT64_MAX, &hp->seq)) != 0)
		return rc;
	return 0;
}

/* proto_status_decode - decode an edge status */
int
proto_status_decode(const uint8_t *buf, size_t len, struct proto_status *st)
{
	struct proto_status s;
	struct proto_msg_map mm;
	struct proto_mp m;
	uint64_t key;
	uint32_t n, i;
	int rc;

	if ((rc = proto_msg_open(&m, buf, len, PROTO_MSG_STATUS)) != 0)
		return rc;
	memset(&s, 0, sizeof(s));
	if ((rc = proto_msg_map_open(&m, &mm)) != 0)
		return rc;
	while (mm.left > 0) {
		if ((rc = proto_msg_map_key(&m, &mm, &key)) != 0)
			return rc;
		switch (key) {
		case PROTO_SK_EDGE_ID:
			rc = proto_mp_str(&m, 1, PROTO_ID_MAX, &s.edge_id);
			break;
		case PROTO_SK_POP:
			rc = proto_mp_str(&m, 1, PROTO_ID_MAX, &s.pop);
			break;
		case PROTO_SK_STATE:
			rc = proto_msg_get_u8(&m, PROTO_EDGE_ONLINE,
			    PROTO_EDGE_DRAINING, &s.state);
			break;
		case PROTO_SK_TS_MS:
			rc = proto_mp_uint(&m, UINT64_MAX, &s.ts_ms);
			break;
		case PROTO_SK_VERSION:
			rc = proto_mp_str(
			    &m, 0, PROTO_VERSION_STR_MAX, &s.version);
			break;
		case PROTO_SK_UPTIME_S:
			rc = proto_mp_uint(&m, UINT64_MAX, &s.uptime_s);
			break;
		case PROTO_SK_SESSIONS:
			rc = proto_msg_get_u32(&m, UINT32_MAX, &s.sessions);
			break;
		case PROTO_SK_MSGS_PER_MIN:
			rc = proto_msg_get_u32(&m, UINT32_MAX, &s.msgs_per_min);
			break;
		case PROTO_SK_HUBS:
			rc = proto_mp_array(&m, PROTO_STATUS_HUBS_MAX, &n);
			for (i = 0; rc == 0 && i < n; i++)
				rc = proto_msg_hub_pos(&m, &s.hubs[i]);
			if (rc == 0)
				s.n_hubs = (uint16_t)n;
			break;
		default:
			rc = proto_mp_skip(&m, PROTO_LV_BODY + 1);
			break;
		}
		if (rc != 0)
			return rc;
	}
	if ((rc = proto_msg_map_has(&mm, PROTO_SK_REQ)) != 0 ||
	    (rc = proto_mp_end(&m)) != 0)
		return rc;
	if (st != NULL)
		*st = s;
	return 0;
}

/* proto_msg_body_open - size check and reader over a signed body */
static int
proto_msg_body_open(struct proto_mp *m, const uint8_t *body, size_t len)
{
	if (body == NULL && len > 0)
		return MX_EINVAL;
	if (len > PROTO_MSG_BODY_MAX)
		return MX_ETOOBIG;
	proto_mp_init(m, body, len);
	return 0;
}

/* proto_msg_batch_decode - update or snapshot body */
static int
proto_msg_batch_decode(const uint8_t *body, size_t len, bool is_snap,
    struct proto_batch_hdr *h, proto_record_fn cb, void *arg)
{
	struct proto_batch_hdr bh;
	struct proto_msg_map mm;
	struct proto_mp m;
	uint32_t req_hdr =
	    is_snap ? PROTO_BK_REQ_SNAPSHOT : PROTO_BK_REQ_UPDATE;
	uint64_t key;
	int rc;

	if ((rc = proto_msg_body_open(&m, body, len)) != 0)
		return rc;
	memset(&bh, 0, sizeof(bh));
	if ((rc = proto_msg_map_open(&m, &mm)) != 0)
		return rc;
	while (mm.left > 0) {
		if ((rc = proto_msg_map_key(&m, &mm, &key)) != 0)
			return rc;
		if (!is_snap &&
		    (key == PROTO_BK_SNAP_ID || key == PROTO_BK_INDEX ||
		        key == PROTO_BK_COUNT))
			key = UINT64_MAX; /* not a field of an update */
		switch (key) {
		case PROTO_BK_HUB_ID:
			rc = proto_mp_str(&m, 1, PROTO_ID_MAX, &bh.hub_id);
			break;
		case PROTO_BK_EPOCH:
			rc = proto_mp_uint(&m, UINT64_MAX, &bh.epoch);
			break;
		case PROTO_BK_SEQ:
			rc = proto_mp_uint(&m, UINT64_MAX, &bh.seq);
			break;
		case PROTO_BK_TS_MS:
			rc = proto_mp_uint(&m, UINT64_MAX, &bh.ts_ms);
			break;
		case PROTO_BK_SNAP_ID:
			rc = proto_mp_uint(&m, UINT64_MAX, &bh.snap_id);
			break;
		case PROTO_BK_INDEX:
			rc = proto_msg_get_u32(
			    &m, PROTO_SNAPSHOT_CHUNKS_MAX - 1, &bh.index);
			break;
		case PROTO_BK_COUNT:
			rc = proto_msg_get_u32(
			    &m, PROTO_SNAPSHOT_CHUNKS_MAX, &bh.count);
			if (rc == 0 && bh.count == 0)
				rc = MX_ERANGE;
			break;
		case PROTO_BK_RECORDS:
			if ((rc = proto_msg_map_has(&mm, req_hdr)) != 0)
				break;
			if (is_snap && bh.index >= bh.count) {
				rc = MX_ERANGE;
				break;
			}
			rc = proto_msg_records_decode(
			    &m, cb, arg, &bh.n_records);
			break;
		default:
			rc = proto_mp_skip(&m, PROTO_LV_BODY + 1);
			break;
		}
		if (rc != 0)
			return rc;
	}
	if ((rc = proto_msg_map_has(
	         &mm, req_hdr | PROTO_BIT(PROTO_BK_RECORDS))) != 0 ||
	    (rc = proto_mp_end(&m)) != 0)
		return rc;
	if (h != NULL)
		*h = bh;
	return 0;
}

/* proto_update_body_decode - decode an update batch body */
int
proto_update_body_decode(const uint8_t *body, size_t len,
    struct proto_batch_hdr *h, proto_record_fn cb, void *arg)
{
	return proto_msg_batch_decode(body, len, false, h, cb, arg);
}

/* proto_snapshot_body_decode - decode a snapshot chunk body */
int
proto_snapshot_body_decode(const uint8_t *body, size_t len,
    struct proto_batch_hdr *h, proto_record_fn cb, void *arg)
{
	return proto_msg_batch_decode(body, len, true, h, cb, arg);
}

/* proto_feed_body_decode - decode a feed submission body */
int
proto_feed_body_decode(const uint8_t *body, size_t len,
    struct proto_feed_hdr *h, proto_record_fn cb, void *arg)
{
	struct proto_feed_hdr fh;
	struct proto_msg_map mm;
	struct proto_mp m;
	uint64_t key;
	int rc;

	if ((rc = proto_msg_body_open(&m, body, len)) != 0)
		return rc;
	memset(&fh, 0, sizeof(fh));
	if ((rc = proto_msg_map_open(&m, &mm)) != 0)
		return rc;
	while (mm.left > 0) {
		if ((rc = proto_msg_map_key(&m, &mm, &key)) != 0)
			return rc;
		switch (key) {
		case PROTO_FK_SOURCE:
			rc = proto_mp_str(&m, 1, PROTO_ID_MAX, &fh.source);
			break;
		case PROTO_FK_WHO:
			rc = proto_mp_str(&m, 1, PROTO_ID_MAX, &fh.who);
			break;
		case PROTO_FK_TS_MS:
			rc = proto_mp_uint(&m, UINT64_MAX, &fh.ts_ms);
			break;
		case PROTO_FK_SERIAL:
			rc = proto_mp_uint(&m, UINT64_MAX, &fh.serial);
			break;
		case PROTO_FK_RECORDS:
			rc = proto_msg_map_has(&mm, PROTO_FK_REQ_HDR);
			if (rc != 0)
				break;
			rc = proto_msg_records_decode(
			    &m, cb, arg, &fh.n_records);
			break;
		default:
			rc = proto_mp_skip(&m, PROTO_LV_BODY + 1);
			break;
		}
		if (rc != 0)
			return rc;
	}
	if ((rc = proto_msg_map_has(
	         &mm, PROTO_FK_REQ_HDR | PROTO_BIT(PROTO_FK_RECORDS))) != 0 ||
	    (rc = proto_mp_end(&m)) != 0)
		return rc;
	if (h != NULL)
		*h = fh;
	return 0;
}
