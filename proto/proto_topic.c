/*
 * proto_topic.c - build and parse the MQTT topics of the mxs/v1 tree
 *
 * Builders check every id, format into a local buffer and copy the topic
 * out only when it fits, so a caller never sees a cut topic. The parser is
 * strict: one prefix, a known kind, exactly the levels that kind has, ids
 * by proto_id_check() and the snapshot chunk number in canonical decimal.
 * Whatever parses therefore rebuilds to exactly the same bytes (the fuzz
 * target checks this).
 * Trust: received topics come from the broker and may hold anything,
 * including NUL bytes and wildcards; they are read as (pointer, length)
 * and bounded by PROTO_TOPIC_MAX. Ids are at most PROTO_ID_MAX bytes and
 * chunk numbers below PROTO_SNAPSHOT_CHUNKS_MAX.
 */
#include "proto/proto_topic.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/mx_err.h"
#include "lib/mx_parse.h"
#include "proto/proto_msg.h"

#define PROTO_TOPIC_PREFIX_LEN (sizeof(PROTO_TOPIC_PREFIX) - 1)
#define PROTO_TOPIC_LEVELS_MAX 3 /* levels after the prefix, kind included */

/* one level of a topic being parsed: a view into the input */
struct proto_topic_level {
	const char *p;
	size_t len;
};

/* proto_topic_id_char - non-zero for a byte allowed in an id */
static int
proto_topic_id_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* proto_id_check - 1..PROTO_ID_MAX id bytes, not "." or ".." */
int
proto_id_check(const char *id, size_t len)
{
	size_t i;

	if (id == NULL || len == 0 || len > PROTO_ID_MAX)
		return MX_EINVAL;
	/* "." and ".." would read as path steps wherever ids name files */
	if ((len == 1 && id[0] == '.') ||
	    (len == 2 && id[0] == '.' && id[1] == '.'))
		return MX_EINVAL;
	for (i = 0; i < len; i++)
		if (!proto_topic_id_char((unsigned char)id[i]))
			return MX_EINVAL;
	return 0;
}

/* proto_topic_id_len - length of a NUL-terminated id, checked */
static int
proto_topic_id_len(const char *id, int *len)
{
	size_t n;
	int rc;

	if (id == NULL)
		return MX_EINVAL;
	/* look no further than one byte past the limit */
	n = strnlen(id, PROTO_ID_MAX + 1);
	if ((rc = proto_id_check(id, n)) != 0)
		return rc;
	*len = (int)n;
	return 0;
}

/* proto_topic_put - copy a formatted topic out when it fits */
static int
proto_topic_put(char *out, size_t outlen, const char *tmp, int n)
{
	if (n < 0)
		return MX_EINVAL;
	if (out == NULL || (size_t)n >= outlen)
		return MX_ETOOBIG;
	memcpy(out, tmp, (size_t)n + 1);
	return 0;
}

/* proto_topic_telemetry - mxs/v1/telemetry/<pop>/<edge-id> */
int
proto_topic_telemetry(
    char *out, size_t outlen, const char *pop, const char *edge_id)
{
	char tmp[PROTO_TOPIC_MAX];
	int pl, el, n, rc;

	if ((rc = proto_topic_id_len(pop, &pl)) != 0 ||
	    (rc = proto_topic_id_len(edge_id, &el)) != 0)
		return rc;
	n = snprintf(tmp, sizeof(tmp), PROTO_TOPIC_PREFIX "telemetry/%.*s/%.*s",
	    pl, pop, el, edge_id);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return MX_ETOOBIG;
	return proto_topic_put(out, outlen, tmp, n);
}

/* proto_topic_one - PROTO_TOPIC_PREFIX <kind>/<id> */
static int
proto_topic_one(char *out, size_t outlen, const char *kind, const char *id)
{
	char tmp[PROTO_TOPIC_MAX];
	int il, n, rc;

	if ((rc = proto_topic_id_len(id, &il)) != 0)
		return rc;
	n = snprintf(
	    tmp, sizeof(tmp), PROTO_TOPIC_PREFIX "%s/%.*s", kind, il, id);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return MX_ETOOBIG;
	return proto_topic_put(out, outlen, tmp, n);
}

/* proto_topic_status - mxs/v1/status/<edge-id> */
int
proto_topic_status(char *out, size_t outlen, const char *edge_id)
{
	return proto_topic_one(out, outlen, "status", edge_id);
}

/* proto_topic_updates - mxs/v1/updates/<hub-id> */
int
proto_topic_updates(char *out, size_t outlen, const char *hub_id)
{
	return proto_topic_one(out, outlen, "updates", hub_id);
}

/* proto_topic_feed - mxs/v1/feed/<source> */
int
proto_topic_feed(char *out, size_t outlen, const char *source)
{
	return proto_topic_one(out, outlen, "feed", source);
}

/* proto_topic_snapshot - mxs/v1/snapshot/<hub-id>/<n> */
int
proto_topic_snapshot(char *out, size_t outlen, const char *hub_id, uint32_t n)
{
	char tmp[PROTO_TOPIC_MAX];
	int hl, w, rc;

	if ((rc = proto_topic_id_len(hub_id, &hl)) != 0)
		return rc;
	/* the parser refuses larger numbers; never build what it refuses */
	if (n > PROTO_SNAPSHOT_CHUNKS_MAX - 1)
		return MX_EINVAL;
	w = snprintf(tmp, sizeof(tmp),
	    PROTO_TOPIC_PREFIX "snapshot/%.*s/%" PRIu32, hl, hub_id, n);
	if (w < 0 || (size_t)w >= sizeof(tmp))
		return MX_ETOOBIG;
	return proto_topic_put(out, outlen, tmp, w);
}

/* proto_topic_snapshot_sub - mxs/v1/snapshot/<hub-id>/+ */
int
proto_topic_snapshot_sub(char *out, size_t outlen, const char *hub_id)
{
	char tmp[PROTO_TOPIC_MAX];
	int hl, n, rc;

	if ((rc = proto_topic_id_len(hub_id, &hl)) != 0)
		return rc;
	n = snprintf(
	    tmp, sizeof(tmp), PROTO_TOPIC_PREFIX "snapshot/%.*s/+", hl, hub_id);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return MX_ETOOBIG;
	return proto_topic_put(out, outlen, tmp, n);
}

/* proto_topic_level_is - does level l equal the NUL-terminated word? */
static int
proto_topic_level_is(const struct proto_topic_level *l, const char *word)
{
	size_t wl = strlen(word);

	return l->len == wl && memcmp(l->p, word, wl) == 0;
}

/* proto_topic_copy_id - check a level as an id and copy it, terminated */
static int
proto_topic_copy_id(
    const struct proto_topic_level *l, char dst[PROTO_ID_MAX + 1])
{
	int rc;

	if ((rc = proto_id_check(l->p, l->len)) != 0)
		return rc;
	memcpy(dst, l->p, l->len);
	dst[l->len] = '\0';
	return 0;
}

/* proto_topic_chunk - canonical decimal chunk number below the limit */
static int
proto_topic_chunk(const struct proto_topic_level *l, uint32_t *out)
{
	uint64_t v;

	/* "007" and "7" must not both name chunk 7: one spelling only */
	if (l->len > 1 && l->p[0] == '0')
		return MX_EINVAL;
	if (mx_parse_u64(l->p, l->len, 0, PROTO_SNAPSHOT_CHUNKS_MAX - 1, &v) !=
	    0)
		return MX_EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* proto_topic_parse - strict parse of one topic of the tree */
int
proto_topic_parse(const char *topic, size_t len, struct proto_topic *out)
{
	struct proto_topic_level lv[PROTO_TOPIC_LEVELS_MAX];
	struct proto_topic t;
	const char *p, *end, *slash;
	size_t nl = 0;

	if (topic == NULL || out == NULL || len >= PROTO_TOPIC_MAX)
		return MX_EINVAL;
	if (len < PROTO_TOPIC_PREFIX_LEN ||
	    memcmp(topic, PROTO_TOPIC_PREFIX, PROTO_TOPIC_PREFIX_LEN) != 0)
		return MX_EINVAL;
	p = topic + PROTO_TOPIC_PREFIX_LEN;
	end = topic + len;
	/* split on '/'; a trailing '/' leaves an empty last level */
	for (;;) {
		if (nl == PROTO_TOPIC_LEVELS_MAX)
			return MX_EINVAL;
		slash = memchr(p, '/', (size_t)(end - p));
		lv[nl].p = p;
		lv[nl].len = (size_t)((slash != NULL ? slash : end) - p);
		if (lv[nl].len == 0)
			return MX_EINVAL;
		nl++;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	memset(&t, 0, sizeof(t));
	if (proto_topic_level_is(&lv[0], "telemetry") && nl == 3) {
		t.kind = PROTO_TOPIC_TELEMETRY;
		if (proto_topic_copy_id(&lv[1], t.pop) != 0 ||
		    proto_topic_copy_id(&lv[2], t.id) != 0)
			return MX_EINVAL;
	} else if (proto_topic_level_is(&lv[0], "snapshot") && nl == 3) {
		t.kind = PROTO_TOPIC_SNAPSHOT;
		if (proto_topic_copy_id(&lv[1], t.id) != 0 ||
		    proto_topic_chunk(&lv[2], &t.n) != 0)
			return MX_EINVAL;
	} else if (nl == 2) {
		if (proto_topic_level_is(&lv[0], "status"))
			t.kind = PROTO_TOPIC_STATUS;
		else if (proto_topic_level_is(&lv[0], "updates"))
			t.kind = PROTO_TOPIC_UPDATES;
		else if (proto_topic_level_is(&lv[0], "feed"))
			t.kind = PROTO_TOPIC_FEED;
		else
			return MX_EINVAL;
		if (proto_topic_copy_id(&lv[1], t.id) != 0)
			return MX_EINVAL;
	} else {
		return MX_EINVAL;
	}
	*out = t;
	return 0;
}
