/*
 * proto_msg.h - msgpack messages between edges, hubs and feeds
 *
 * Every payload is a msgpack array whose first two elements are the
 * protocol version (PROTO_VERSION) and the message type:
 *   unsigned:  [version, type, body-map]
 *   signed:    [version, type, body-bin, signature-bin(64)]
 * Body maps have small unsigned integer keys in strictly ascending order
 * (so duplicates cannot occur and header fields precede record arrays);
 * unknown keys are skipped without being stored. docs/protocol.md gives
 * the exact layout of each message with a hex example that the unit tests
 * check byte for byte.
 *
 * Encoding uses msgpack-c's packer into a bounded mx_buf. Decoding uses a
 * strict pull reader over (bytes, length) instead of msgpack_unpack,
 * because msgpack-c allocates from the element counts a peer declares
 * before the elements arrive (STYLE section 4). Decoded strings are views
 * into the input: borrowed, valid while the input buffer lives.
 *
 * Trust: every byte is hostile until proven otherwise, signed or not.
 * Limits: PROTO_MSG_MAX bytes per payload, PROTO_DEPTH_MAX nesting, and the
 * per-array maxima below; each violation has its own MX_E* code.
 */
#ifndef PROTO_MSG_H
#define PROTO_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/mx_buf.h"
#include "proto/proto_record.h"

#define PROTO_VERSION 1
#define PROTO_MSG_MAX (1024 * 1024) /* largest payload, bytes */
#define PROTO_DEPTH_MAX 8           /* deepest nesting in any message */
#define PROTO_SIG_LEN 64            /* Ed25519 signature bytes */

enum proto_msg_type {
	PROTO_MSG_TELEMETRY = 1, /* unsigned: telemetry batch */
	PROTO_MSG_UPDATE = 2,    /* signed: update batch */
	PROTO_MSG_SNAPSHOT = 3,  /* signed: snapshot chunk */
	PROTO_MSG_STATUS = 4,    /* unsigned: edge status */
	PROTO_MSG_FEED = 5,      /* signed: feed/analyst submission */
};

/* array limits, enforced by encoders and decoders alike */
#define PROTO_BATCH_EVENTS_MAX 1024     /* events per telemetry batch */
#define PROTO_BATCH_RECORDS_MAX 4096    /* records per update/chunk/feed */
#define PROTO_EV_REASONS_MAX 32         /* reason ids per event */
#define PROTO_EV_FPS_MAX 16             /* fingerprints per event */
#define PROTO_EV_HASHES_MAX 16          /* body/attachment hashes per event */
#define PROTO_EV_URLS_MAX 64            /* URL domains per event */
#define PROTO_EV_RCPTS_MAX 128          /* recipient answers per event */
#define PROTO_EV_FP_SIG_LEN 128         /* fp_sig: empty or exactly this */
#define PROTO_STATUS_HUBS_MAX 16        /* hub positions in a status */
#define PROTO_REASON_ID_MAX 64          /* longest reason id */
#define PROTO_FP_MAX 64                 /* longest fingerprint, bytes */
#define PROTO_RCPT_HASH_MAX 32          /* longest hashed local part, bytes */
#define PROTO_HELO_MAX 255              /* longest HELO text */
#define PROTO_VERSION_STR_MAX 32        /* longest software version string */
#define PROTO_SNAPSHOT_CHUNKS_MAX 65536 /* chunks in one snapshot */

/* a borrowed byte string: a view into the decoded input */
struct proto_str {
	const uint8_t *p;
	size_t len;
};

/* telemetry event types */
enum proto_ev_type {
	PROTO_EV_TXN = 1,          /* one SMTP transaction */
	PROTO_EV_CONN_REFUSED = 2, /* connection refused before a transaction */
};

/* verdicts, as carried in telemetry */
enum proto_verdict {
	PROTO_VERDICT_ACCEPT = 0,
	PROTO_VERDICT_TAG = 1,
	PROTO_VERDICT_TEMPFAIL = 2,
	PROTO_VERDICT_REJECT = 3,
	PROTO_VERDICT_ABORTED = 4, /* sender went away or faulted */
};
#define PROTO_VERDICT_MAX PROTO_VERDICT_ABORTED

/* event flags */
#define PROTO_EVF_TRAP 0x01u         /* a spam-trap recipient was hit */
#define PROTO_EVF_EARLY_TALKER 0x02u /* spoke before the greeting */
#define PROTO_EVF_PROTO_ABUSE 0x04u  /* protocol violations seen */
#define PROTO_EVF_TLS 0x08u          /* sender used STARTTLS */

/* recipient answer results */
enum proto_rcpt_result {
	PROTO_RCPT_OK = 1,      /* destination accepted */
	PROTO_RCPT_UNKNOWN = 2, /* destination said unknown user */
	PROTO_RCPT_TRAP = 3,    /* configured spam trap */
	PROTO_RCPT_OTHER = 4,   /* refused for another reason */
};

struct proto_ev_rcpt {
	struct proto_str hash;   /* salted hash of the local part */
	struct proto_str domain; /* recipient domain, lower case */
	uint8_t result;          /* enum proto_rcpt_result */
};

struct proto_event {
	uint64_t ts_ms;                 /* unix ms */
	uint8_t type;                   /* enum proto_ev_type */
	uint8_t ip_len;                 /* 4 or 16 */
	uint8_t ip[16];                 /* client address */
	struct proto_str helo;          /* HELO/EHLO argument, may be empty */
	struct proto_str sender_domain; /* MAIL FROM domain, may be empty */
	struct proto_str country;       /* ISO 3166 code, or empty */
	uint32_t asn;                   /* 0 = unknown */
	uint32_t rcpt_ok;               /* recipients accepted */
	uint32_t rcpt_unknown;          /* recipients refused as unknown */
	uint64_t size;                  /* message bytes, 0 when no DATA */
	uint8_t verdict;                /* enum proto_verdict */
	int32_t score;                  /* policy score */
	uint32_t flags;                 /* PROTO_EVF_* */
	uint16_t n_reasons;
	struct proto_str reasons[PROTO_EV_REASONS_MAX];
	uint16_t n_fps;
	struct proto_str fps[PROTO_EV_FPS_MAX];
	uint16_t n_hashes;
	struct proto_str hashes[PROTO_EV_HASHES_MAX];
	uint16_t n_urls;
	struct proto_str urls[PROTO_EV_URLS_MAX];
	uint16_t n_rcpts;
	struct proto_ev_rcpt rcpts[PROTO_EV_RCPTS_MAX];
	struct proto_str fp_sig; /* compact fingerprint signature, or empty */
};

struct proto_telemetry_hdr {
	struct proto_str edge_id;
	struct proto_str pop;
	uint64_t seq;      /* batch sequence of this edge */
	uint64_t dropped;  /* events dropped since the previous batch */
	uint32_t n_events; /* set by the decoder after the last event */
};

struct proto_batch_hdr {
	struct proto_str hub_id;
	uint64_t epoch;     /* changes when hub state is wiped */
	uint64_t seq;       /* update: this batch; snapshot: taken at */
	uint64_t ts_ms;     /* unix ms when published */
	uint64_t snap_id;   /* snapshot only: id of the snapshot */
	uint32_t index;     /* snapshot only: chunk number, from 0 */
	uint32_t count;     /* snapshot only: chunks in the snapshot */
	uint32_t n_records; /* set by the decoder after the last record */
};

/* a feed or analyst submission (signed with the submitter's key) */
struct proto_feed_hdr {
	struct proto_str source; /* feed or analyst name */
	struct proto_str who;    /* identity of the submitter */
	uint64_t ts_ms;
	uint64_t serial; /* submitter's own sequence, for replay checks */
	uint32_t n_records;
};

struct proto_hub_pos {
	struct proto_str hub_id;
	uint64_t epoch;
	uint64_t seq;
};

enum proto_edge_state {
	PROTO_EDGE_ONLINE = 1,
	PROTO_EDGE_OFFLINE = 2,
	PROTO_EDGE_DRAINING = 3,
};

struct proto_status {
	struct proto_str edge_id;
	struct proto_str pop;
	struct proto_str version; /* software version */
	uint8_t state;            /* enum proto_edge_state */
	uint64_t ts_ms;
	uint64_t uptime_s;
	uint32_t sessions;     /* sessions open now */
	uint32_t msgs_per_min; /* transactions in the last minute */
	uint16_t n_hubs;
	struct proto_hub_pos hubs[PROTO_STATUS_HUBS_MAX];
};

/* callbacks: return 0 to go on, non-zero to stop (returned by decode) */
typedef int (*proto_event_fn)(void *arg, const struct proto_telemetry_hdr *h,
    const struct proto_event *ev);
typedef int (*proto_record_fn)(void *arg, const struct proto_record *r);

/*
 * proto_msg_peek - read version and type of a payload
 * Returns 0, MX_ETRUNC, MX_ETYPE (not an array of 3 or 4) or MX_EVERSION;
 * also MX_ETOOBIG (len > PROTO_MSG_MAX) and MX_ERANGE (type over 255).
 */
int proto_msg_peek(const uint8_t *buf, size_t len, unsigned *type);

/*
 * Encoders append one complete payload to out (bounded by out->max and
 * PROTO_MSG_MAX). Return 0, MX_ETOOBIG, MX_ELIMIT (array too long) or
 * MX_EINVAL (a field fails validation, e.g. proto_record_check()).
 * On error out->len is restored to what it was.
 */
int proto_telemetry_encode(struct mx_buf *out,
    const struct proto_telemetry_hdr *h, const struct proto_event *evs,
    size_t n);
int proto_status_encode(struct mx_buf *out, const struct proto_status *st);
/* body encoders for signed messages: the body map only; proto_sign.h
 * wraps it in the signed envelope */
int proto_update_body_encode(struct mx_buf *out,
    const struct proto_batch_hdr *h, const struct proto_record *recs, size_t n);
int proto_snapshot_body_encode(struct mx_buf *out,
    const struct proto_batch_hdr *h, const struct proto_record *recs, size_t n);
int proto_feed_body_encode(struct mx_buf *out, const struct proto_feed_hdr *h,
    const struct proto_record *recs, size_t n);

/*
 * Decoders. Each checks the whole input: types, lengths, limits, required
 * fields, ascending keys, no trailing bytes. Callbacks run as elements
 * are decoded, so a caller that must not act on a partly valid message
 * either validates first (callback NULL) or applies inside a transaction
 * it aborts on error. Return 0, a negative MX_E* code, or the callback's
 * non-zero return. Views in the structures point into buf.
 */
int proto_telemetry_decode(const uint8_t *buf, size_t len,
    struct proto_telemetry_hdr *h, proto_event_fn cb, void *arg);
int proto_status_decode(
    const uint8_t *buf, size_t len, struct proto_status *st);
int proto_update_body_decode(const uint8_t *body, size_t len,
    struct proto_batch_hdr *h, proto_record_fn cb, void *arg);
int proto_snapshot_body_decode(const uint8_t *body, size_t len,
    struct proto_batch_hdr *h, proto_record_fn cb, void *arg);
int proto_feed_body_decode(const uint8_t *body, size_t len,
    struct proto_feed_hdr *h, proto_record_fn cb, void *arg);

/*
 * Signed envelope (the signature itself is made by proto_sign.h).
 * proto_signed_encode - append [version, type, body-bin, sig-bin] to out
 * Returns 0, MX_ETOOBIG or MX_EINVAL (type not a signed type).
 */
int proto_signed_encode(struct mx_buf *out, unsigned type, const uint8_t *body,
    size_t body_len, const uint8_t sig[PROTO_SIG_LEN]);
/*
 * proto_signed_decode - split a signed payload into type, body and sig
 * (views into buf). Verifies nothing. Returns 0, MX_ETRUNC, MX_ETYPE,
 * MX_EVERSION, MX_ERANGE (not a signed type), MX_ETOOBIG, MX_ESIG
 * (signature not PROTO_SIG_LEN bytes) or MX_ETRAIL.
 */
int proto_signed_decode(const uint8_t *buf, size_t len, unsigned *type,
    struct proto_str *body, struct proto_str *sig);

#endif /* PROTO_MSG_H */
