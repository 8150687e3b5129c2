/*
 * feed_submit.h - signed feed submissions to the hub, for mxfeed and mxctl
 *
 * A submitter connects to the broker (libmosquitto, clean session, TLS
 * and credentials as configured), then sends records as signed feed
 * messages (proto_feed_body_encode + proto_sign_message, type 5) on
 * mxs/v1/feed/<source>, QoS 1, and waits until the broker acknowledged
 * every one (PUBACK) or the timeout passed. Records are split into as
 * many messages as PROTO_BATCH_RECORDS_MAX and PROTO_MSG_MAX need; each
 * message carries its own serial, reserved in the source's state store
 * (feed_state_serial_reserve: strictly increasing, committed before the
 * message leaves), so the hub, which refuses a serial that is not above
 * the last it took, never sees one twice.
 * A PUBACK means the broker holds the message for the hub's persistent
 * session; a message the hub then loses is sent again by the next run
 * (the submitter's baseline changes only after every PUBACK).
 * Trust: the broker is reached over the network (TLS off loopback); the
 * records were validated by the caller and are checked again by the
 * encoder (proto_record_check). Limits: timeout_ms for the connection
 * and for the acknowledgements of one send.
 */
#ifndef FEED_SUBMIT_H
#define FEED_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto_record.h"
#include "proto/proto_sign.h"

struct feed_state;
struct feed_submit;

/* where and as whom to submit; strings are borrowed for the call */
struct feed_submit_conf {
	const char *host;            /* broker host (mx_cfg_broker_check) */
	uint16_t port;               /* broker port */
	const char *cafile;          /* TLS when set, else NULL or "" */
	const char *certfile;        /* client certificate, or NULL/"" */
	const char *keyfile;         /* its key, or NULL/"" */
	const char *username;        /* MQTT user, or NULL/"" */
	const char *password;        /* MQTT password, or NULL/"" */
	const char *source;          /* feed or analyst source id */
	const char *who;             /* submitter identity (1..64 id bytes) */
	const struct proto_key *key; /* Ed25519 private key; borrowed for
	                                the submitter's life */
	uint64_t timeout_ms;         /* connect; PUBACKs of one send */
	const char *program;         /* MQTT client id prefix; NULL: mxfeed */
};

/*
 * feed_submit_open - connect to the broker and wait for its CONNACK
 * st: the source's state (feed_state_open, writable), which reserves the
 * serials; borrowed for the submitter's life. Returns 0, MX_EINVAL (bad
 * source, who or settings), MX_ETIMEOUT (no CONNACK in time), MX_EPROTO
 * (the broker refused the connection) or MX_EIO, with why in err.
 * Caller closes with feed_submit_close. One thread; blocks.
 */
int feed_submit_open(const struct feed_submit_conf *c, struct feed_state *st,
    struct feed_submit **out, char *err, size_t errlen);

/*
 * feed_submit_send - sign and publish recs[0..n) and wait for every
 * PUBACK. *msgs (may be NULL) gets the messages published, *first and
 * *last (may be NULL) their serials. Returns 0, MX_EINVAL (a record
 * fails validation), the serial reservation's error, MX_ETIMEOUT (not
 * every PUBACK in time) or MX_EIO (connection lost, publish refused),
 * with why in err. After an error the submitter is unusable: close it.
 * Blocks.
 */
int feed_submit_send(struct feed_submit *s, const struct proto_record *recs,
    size_t n, size_t *msgs, uint64_t *first, uint64_t *last, char *err,
    size_t errlen);

/*
 * Durability (docs/hub.md "Durability of a submission"): a PUBACK means
 * the broker holds a message, not that the hub committed it. A
 * submitter that must know calls feed_submit_watch before sending, then
 * feed_submit_confirm after: it waits until the hub's update stream
 * carried every record sent since the watch began (matched on kind, op
 * and key), resending every message of those sends once per second
 * meanwhile (a resend the hub already took is refused as a replay,
 * which is harmless).
 */

/*
 * feed_submit_watch - subscribe to mxs/v1/updates/HUB_ID (QoS 1) and wait
 * for the SUBACK. hub_key (may be NULL; borrowed for the submitter's
 * life) is the hub's public key: batches that do not verify with it are
 * ignored; without it batches are only decoded. From now on each send
 * keeps its messages and the records' keys for feed_submit_confirm.
 * Returns 0, MX_EINVAL (bad hub id, already watching), MX_ETIMEOUT (no
 * SUBACK within timeout_ms) or MX_EIO, with why in err. Blocks.
 */
int feed_submit_watch(struct feed_submit *s, const char *hub_id,
    const struct proto_key *hub_key, char *err, size_t errlen);

/*
 * feed_submit_confirm - wait at most wait_ms until batches of the watched
 * hub carried every record sent since feed_submit_watch, resending the
 * kept messages once per second. *seq (may be NULL) gets the seq of the
 * batch that completed the set, *resent (may be NULL) how many messages
 * were sent again. Returns 0, MX_ESTATE (not watching), MX_ETIMEOUT (not
 * every record seen in time) or MX_EIO (connection lost), with why in
 * err. Blocks.
 */
int feed_submit_confirm(struct feed_submit *s, uint64_t wait_ms, uint64_t *seq,
    size_t *resent, char *err, size_t errlen);

/*
 * feed_submit_check_confirm - the confirmation settings mxfeed and mxctl
 * share: confirm_hub ("" or a hub id) and hub_key ("" or the hub's
 * public key file, loaded into *verify_key). Problems go to stderr, one
 * line each, named by the parameter; returns how many.
 */
int feed_submit_check_confirm(const char *confirm_hub, const char *hub_key,
    struct proto_key **verify_key);

/* feed_submit_close - disconnect and release; NULL does nothing */
void feed_submit_close(struct feed_submit *s);

#endif /* FEED_SUBMIT_H */
