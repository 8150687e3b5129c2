/*
 * proto_topic.h - MQTT topic names of the mxs/v1 tree
 *
 *   mxs/v1/telemetry/<pop>/<edge-id>   edge -> hub, QoS 1
 *   mxs/v1/status/<edge-id>            edge -> all, retained, will
 *   mxs/v1/updates/<hub-id>            hub -> edges, QoS 1
 *   mxs/v1/snapshot/<hub-id>/<n>       hub -> edges, retained chunks
 *   mxs/v1/feed/<source>               feeds and analysts -> hub
 *
 * Topics are built and parsed only here. Ids are 1..PROTO_ID_MAX bytes of
 * [A-Za-z0-9._-], never "." or "..", so no id can inject a level or an
 * MQTT wildcard.
 * Trust: topics of received messages come from the broker and may name
 * anything; proto_topic_parse() refuses what is not in the tree.
 */
#ifndef PROTO_TOPIC_H
#define PROTO_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto_record.h"

#define PROTO_TOPIC_MAX 256 /* buffer size that fits every topic */

#define PROTO_TOPIC_PREFIX "mxs/v1/"
#define PROTO_SUB_TELEMETRY "mxs/v1/telemetry/#"
#define PROTO_SUB_STATUS "mxs/v1/status/+"
#define PROTO_SUB_UPDATES "mxs/v1/updates/+"
#define PROTO_SUB_SNAPSHOT "mxs/v1/snapshot/+/+"
#define PROTO_SUB_FEED "mxs/v1/feed/+"

enum proto_topic_kind {
	PROTO_TOPIC_TELEMETRY = 1,
	PROTO_TOPIC_STATUS = 2,
	PROTO_TOPIC_UPDATES = 3,
	PROTO_TOPIC_SNAPSHOT = 4,
	PROTO_TOPIC_FEED = 5,
};

struct proto_topic {
	int kind;                   /* enum proto_topic_kind */
	char pop[PROTO_ID_MAX + 1]; /* telemetry only */
	char id[PROTO_ID_MAX + 1];  /* edge, hub or feed source id */
	uint32_t n;                 /* snapshot chunk number */
};

/* proto_id_check - 0 when id (len bytes) is a valid id, else MX_EINVAL */
int proto_id_check(const char *id, size_t len);

/*
 * Builders write a NUL-terminated topic into out (outlen bytes; use
 * PROTO_TOPIC_MAX). Return 0, MX_EINVAL (bad id) or MX_ETOOBIG.
 */
int proto_topic_telemetry(
    char *out, size_t outlen, const char *pop, const char *edge_id);
int proto_topic_status(char *out, size_t outlen, const char *edge_id);
int proto_topic_updates(char *out, size_t outlen, const char *hub_id);
int proto_topic_snapshot(
    char *out, size_t outlen, const char *hub_id, uint32_t n);
/* proto_topic_snapshot_sub - subscription filter mxs/v1/snapshot/<hub>/+ */
int proto_topic_snapshot_sub(char *out, size_t outlen, const char *hub_id);
int proto_topic_feed(char *out, size_t outlen, const char *source);

/*
 * proto_topic_parse - recognise a topic of the tree
 * Returns 0 with *out filled, or MX_EINVAL for anything else (other
 * prefix, wrong number of levels, bad id, bad chunk number).
 */
int proto_topic_parse(const char *topic, size_t len, struct proto_topic *out);

#endif /* PROTO_TOPIC_H */
