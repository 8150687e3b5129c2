/*
 * fuzz_topic.c - libFuzzer target for proto_topic_parse and proto_id_check
 *
 * Oracles: a topic that parses must rebuild, with the builder of its kind,
 * to exactly the input bytes (one spelling per topic: no leading zeros,
 * no alternative forms); the parsed fields must be valid ids; and any
 * input that proto_id_check accepts must build a status topic that parses
 * back to the same id. A broken oracle aborts.
 * Trust: the input is arbitrary bytes, passed as (pointer, length).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mx_err.h"
#include "proto/proto_msg.h"
#include "proto/proto_topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_topic_rebuild - build the topic t describes */
static int
fuzz_topic_rebuild(const struct proto_topic *t, char *out, size_t outlen)
{
	switch (t->kind) {
	case PROTO_TOPIC_TELEMETRY:
		if (proto_id_check(t->pop, strlen(t->pop)) != 0)
			abort();
		return proto_topic_telemetry(out, outlen, t->pop, t->id);
	case PROTO_TOPIC_STATUS:
		return proto_topic_status(out, outlen, t->id);
	case PROTO_TOPIC_UPDATES:
		return proto_topic_updates(out, outlen, t->id);
	case PROTO_TOPIC_SNAPSHOT:
		if (t->n >= PROTO_SNAPSHOT_CHUNKS_MAX)
			abort();
		return proto_topic_snapshot(out, outlen, t->id, t->n);
	case PROTO_TOPIC_FEED:
		return proto_topic_feed(out, outlen, t->id);
	default:
		abort();
	}
}

/* fuzz_topic_id - an accepted id must survive a build and a parse */
static void
fuzz_topic_id(const uint8_t *data, size_t size)
{
	char id[PROTO_ID_MAX + 1], out[PROTO_TOPIC_MAX];
	struct proto_topic t;

	if (proto_id_check((const char *)data, size) != 0)
		return;
	if (size == 0 || size > PROTO_ID_MAX)
		abort();
	memcpy(id, data, size);
	id[size] = '\0';
	if (proto_topic_status(out, sizeof(out), id) != 0)
		abort();
	if (proto_topic_parse(out, strlen(out), &t) != 0)
		abort();
	if (t.kind != PROTO_TOPIC_STATUS || strcmp(t.id, id) != 0)
		abort();
}

/* LLVMFuzzerTestOneInput - parse, and check that the topic rebuilds */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[PROTO_TOPIC_MAX];
	struct proto_topic t;

	fuzz_topic_id(data, size);
	if (proto_topic_parse((const char *)data, size, &t) != 0)
		return 0;
	if (proto_id_check(t.id, strlen(t.id)) != 0)
		abort();
	if (fuzz_topic_rebuild(&t, out, sizeof(out)) != 0)
		abort();
	if (strlen(out) != size || memcmp(out, data, size) != 0)
		abort();
	return 0;
}
