/*
 * proto_topic_test.c - unit tests for proto_topic (the mxs/v1 tree)
 *
 * Covers every builder, the parse of each topic kind, the refusals of the
 * strict parser (other prefixes and versions, level count, empty levels,
 * wildcards, bad ids, non-canonical or out-of-range chunk numbers), id
 * length at the limit and one past it, and build -> parse round trips.
 * Trust: test data only; topics are passed as (pointer, length) so NUL
 * bytes inside a topic are exercised too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_err.h"
#include "proto/proto_msg.h"
#include "proto/proto_topic.h"

/* proto_topic_test_parse - parse a NUL-terminated test topic */
static int
proto_topic_test_parse(const char *s, struct proto_topic *t)
{
	return proto_topic_parse(s, strlen(s), t);
}

/* proto_topic_test_id - fill buf with an id of len bytes ('a'...) */
static void
proto_topic_test_id(char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)('a' + (i % 26));
	buf[len] = '\0';
}

/* test_id_check_accepts - every allowed character class, and the limits */
static void
test_id_check_accepts(void **state)
{
	char id[PROTO_ID_MAX + 2];

	(void)state;
	assert_int_equal(proto_id_check("a", 1), 0);
	assert_int_equal(proto_id_check("edge-01.par_1", 13), 0);
	assert_int_equal(proto_id_check("AZaz09._-", 9), 0);
	assert_int_equal(proto_id_check("...", 3), 0);
	assert_int_equal(proto_id_check(".a", 2), 0);
	assert_int_equal(proto_id_check("a..", 3), 0);
	proto_topic_test_id(id, PROTO_ID_MAX);
	assert_int_equal(proto_id_check(id, PROTO_ID_MAX), 0);
}

/* test_id_check_refuses - empty, too long, dots, separators, wildcards */
static void
test_id_check_refuses(void **state)
{
	static const char *const bad[] = {"a/b", "+", "#", "a+", "a#b", " ",
	    "a b", "a:b", "a\\b", "é", "$SYS", "a*", "a\n"};
	char id[PROTO_ID_MAX + 2];
	size_t i;

	(void)state;
	assert_int_equal(proto_id_check("", 0), MX_EINVAL);
	assert_int_equal(proto_id_check(NULL, 1), MX_EINVAL);
	assert_int_equal(proto_id_check(".", 1), MX_EINVAL);
	assert_int_equal(proto_id_check("..", 2), MX_EINVAL);
	assert_int_equal(proto_id_check("a\0b", 3), MX_EINVAL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    proto_id_check(bad[i], strlen(bad[i])), MX_EINVAL);
	proto_topic_test_id(id, PROTO_ID_MAX + 1);
	assert_int_equal(proto_id_check(id, PROTO_ID_MAX + 1), MX_EINVAL);
}

/* test_build_each - every builder gives the documented topic */
static void
test_build_each(void **state)
{
	char out[PROTO_TOPIC_MAX];

	(void)state;
	assert_int_equal(
	    proto_topic_telemetry(out, sizeof(out), "par", "edge-1"), 0);
	assert_string_equal(out, "mxs/v1/telemetry/par/edge-1");
	assert_int_equal(proto_topic_status(out, sizeof(out), "edge-1"), 0);
	assert_string_equal(out, "mxs/v1/status/edge-1");
	assert_int_equal(proto_topic_updates(out, sizeof(out), "hub.a"), 0);
	assert_string_equal(out, "mxs/v1/updates/hub.a");
	assert_int_equal(proto_topic_snapshot(out, sizeof(out), "hub.a", 0), 0);
	assert_string_equal(out, "mxs/v1/snapshot/hub.a/0");
	assert_int_equal(
	    proto_topic_snapshot(out, sizeof(out), "hub.a", 42), 0);
	assert_string_equal(out, "mxs/v1/snapshot/hub.a/42");
	assert_int_equal(proto_topic_snapshot(out, sizeof(out), "h",
	                     PROTO_SNAPSHOT_CHUNKS_MAX - 1),
	    0);
	assert_string_equal(out, "mxs/v1/snapshot/h/65535");
	assert_int_equal(
	    proto_topic_snapshot_sub(out, sizeof(out), "hub.a"), 0);
	assert_string_equal(out, "mxs/v1/snapshot/hub.a/+");
	assert_int_equal(
	    proto_topic_feed(out, sizeof(out), "spamhaus_drop"), 0);
	assert_string_equal(out, "mxs/v1/feed/spamhaus_drop");
}

/* test_build_refuses_bad_ids - a builder never emits a bad level */
static void
test_build_refuses_bad_ids(void **state)
{
	char out[PROTO_TOPIC_MAX], id[PROTO_ID_MAX + 2];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(
	    proto_topic_status(out, sizeof(out), "a/b"), MX_EINVAL);
	assert_int_equal(out[0], 'x'); /* untouched on error */
	assert_int_equal(proto_topic_status(out, sizeof(out), ""), MX_EINVAL);
	assert_int_equal(proto_topic_status(out, sizeof(out), NULL), MX_EINVAL);
	assert_int_equal(proto_topic_updates(out, sizeof(out), "+"), MX_EINVAL);
	assert_int_equal(
	    proto_topic_updates(out, sizeof(out), ".."), MX_EINVAL);
	assert_int_equal(proto_topic_feed(out, sizeof(out), "#"), MX_EINVAL);
	assert_int_equal(proto_topic_feed(out, sizeof(out), "."), MX_EINVAL);
	assert_int_equal(
	    proto_topic_telemetry(out, sizeof(out), "p/q", "e"), MX_EINVAL);
	assert_int_equal(
	    proto_topic_telemetry(out, sizeof(out), "p", "e+"), MX_EINVAL);
	assert_int_equal(
	    proto_topic_telemetry(out, sizeof(out), NULL, "e"), MX_EINVAL);
	assert_int_equal(
	    proto_topic_snapshot(out, sizeof(out), "h#", 1), MX_EINVAL);
	assert_int_equal(
	    proto_topic_snapshot_sub(out, sizeof(out), "h/+"), MX_EINVAL);
	/* id length: at the limit builds, one past is refused */
	proto_topic_test_id(id, PROTO_ID_MAX);
	assert_int_equal(proto_topic_status(out, sizeof(out), id), 0);
	proto_topic_test_id(id, PROTO_ID_MAX + 1);
	assert_int_equal(proto_topic_status(out, sizeof(out), id), MX_EINVAL);
	assert_int_equal(
	    proto_topic_telemetry(out, sizeof(out), id, "e"), MX_EINVAL);
	assert_int_equal(
	    proto_topic_telemetry(out, sizeof(out), "p", id), MX_EINVAL);
}

/* test_build_refuses_chunk_range - the chunk limit and one past it */
static void
test_build_refuses_chunk_range(void **state)
{
	char out[PROTO_TOPIC_MAX];

	(void)state;
	assert_int_equal(proto_topic_snapshot(
	                     out, sizeof(out), "h", PROTO_SNAPSHOT_CHUNKS_MAX),
	    MX_EINVAL);
	assert_int_equal(
	    proto_topic_snapshot(out, sizeof(out), "h", UINT32_MAX), MX_EINVAL);
}

/* test_build_truncation - too small an output is MX_ETOOBIG, untouched */
static void
test_build_truncation(void **state)
{
	char out[PROTO_TOPIC_MAX];
	const char *want = "mxs/v1/status/e1";
	size_t n = strlen(want);

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(proto_topic_status(out, n, "e1"), MX_ETOOBIG);
	assert_int_equal(out[0], 'x');
	assert_int_equal(proto_topic_status(out, 0, "e1"), MX_ETOOBIG);
	assert_int_equal(proto_topic_status(NULL, 0, "e1"), MX_ETOOBIG);
	assert_int_equal(proto_topic_status(out, n + 1, "e1"), 0);
	assert_string_equal(out, want);
	assert_int_equal(proto_topic_telemetry(out, 10, "p", "e"), MX_ETOOBIG);
	assert_int_equal(proto_topic_snapshot(out, 10, "h", 1), MX_ETOOBIG);
	assert_int_equal(proto_topic_snapshot_sub(out, 10, "h"), MX_ETOOBIG);
	assert_int_equal(proto_topic_updates(out, 10, "h"), MX_ETOOBIG);
	assert_int_equal(proto_topic_feed(out, 10, "f"), MX_ETOOBIG);
}

/* test_parse_each_kind - each kind of the tree parses into its fields */
static void
test_parse_each_kind(void **state)
{
	struct proto_topic t;

	(void)state;
	assert_int_equal(
	    proto_topic_test_parse("mxs/v1/telemetry/par/edge-1", &t), 0);
	assert_int_equal(t.kind, PROTO_TOPIC_TELEMETRY);
	assert_string_equal(t.pop, "par");
	assert_string_equal(t.id, "edge-1");

	assert_int_equal(proto_topic_test_parse("mxs/v1/status/edge-1", &t), 0);
	assert_int_equal(t.kind, PROTO_TOPIC_STATUS);
	assert_string_equal(t.id, "edge-1");
	assert_string_equal(t.pop, "");

	assert_int_equal(proto_topic_test_parse("mxs/v1/updates/hub.a", &t), 0);
	assert_int_equal(t.kind, PROTO_TOPIC_UPDATES);
	assert_string_equal(t.id, "hub.a");

	assert_int_equal(
	    proto_topic_test_parse("mxs/v1/snapshot/hub.a/17", &t), 0);
	assert_int_equal(t.kind, PROTO_TOPIC_SNAPSHOT);
	assert_string_equal(t.id, "hub.a");
	assert_int_equal(t.n, 17);

	assert_int_equal(proto_topic_test_parse("mxs/v1/snapshot/h/0", &t), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(
	    proto_topic_test_parse("mxs/v1/snapshot/h/65535", &t), 0);
	assert_int_equal(t.n, 65535);

	assert_int_equal(proto_topic_test_parse("mxs/v1/feed/drop", &t), 0);
	assert_int_equal(t.kind, PROTO_TOPIC_FEED);
	assert_string_equal(t.id, "drop");
}

/* test_parse_refuses - everything outside the tree is MX_EINVAL */
static void
test_parse_refuses(void **state)
{
	static const char *const bad[] = {
	    "",
	    "mxs",
	    "mxs/v1",
	    "mxs/v1/",
	    "mxs/v2/status/e1",
	    "mxs/v10/status/e1",
	    "MXS/v1/status/e1",
	    "/mxs/v1/status/e1",
	    "xmxs/v1/status/e1",
	    "$SYS/broker/uptime",
	    "other/v1/status/e1",
	    "mxs//v1/status/e1",
	    /* unknown kinds, kind case */
	    "mxs/v1/Status/e1",
	    "mxs/v1/statuss/e1",
	    "mxs/v1/stat/e1",
	    "mxs/v1/config/e1",
	    /* missing levels */
	    "mxs/v1/status",
	    "mxs/v1/status/",
	    "mxs/v1/telemetry/par",
	    "mxs/v1/telemetry/par/",
	    "mxs/v1/snapshot/h",
	    "mxs/v1/snapshot/h/",
	    "mxs/v1/updates",
	    "mxs/v1/feed/",
	    /* extra levels */
	    "mxs/v1/status/e1/x",
	    "mxs/v1/status/e1/",
	    "mxs/v1/updates/h/1",
	    "mxs/v1/feed/a/b",
	    "mxs/v1/telemetry/p/e/x",
	    "mxs/v1/snapshot/h/1/2",
	    "mxs/v1/snapshot/h/1/",
	    /* empty levels */
	    "mxs/v1//e1",
	    "mxs/v1/telemetry//e1",
	    "mxs/v1/snapshot//1",
	    /* wildcards */
	    "mxs/v1/status/+",
	    "mxs/v1/status/#",
	    "mxs/v1/telemetry/#",
	    "mxs/v1/telemetry/+/e1",
	    "mxs/v1/snapshot/h/+",
	    "mxs/v1/snapshot/+/1",
	    "mxs/v1/+/e1",
	    "mxs/v1/#",
	    "mxs/v1/feed/a+",
	    /* dots */
	    "mxs/v1/status/.",
	    "mxs/v1/status/..",
	    "mxs/v1/telemetry/../e1",
	    "mxs/v1/snapshot/./1",
	    /* bad characters */
	    "mxs/v1/status/e 1",
	    "mxs/v1/status/e1\n",
	    "mxs/v1/feed/caf\xc3\xa9",
	    /* chunk numbers */
	    "mxs/v1/snapshot/h/01",
	    "mxs/v1/snapshot/h/00",
	    "mxs/v1/snapshot/h/000017",
	    "mxs/v1/snapshot/h/+1",
	    "mxs/v1/snapshot/h/-1",
	    "mxs/v1/snapshot/h/-0",
	    "mxs/v1/snapshot/h/ 1",
	    "mxs/v1/snapshot/h/1 ",
	    "mxs/v1/snapshot/h/0x10",
	    "mxs/v1/snapshot/h/1e3",
	    "mxs/v1/snapshot/h/65536",
	    "mxs/v1/snapshot/h/4294967295",
	    "mxs/v1/snapshot/h/4294967296",
	    "mxs/v1/snapshot/h/18446744073709551615",
	    "mxs/v1/snapshot/h/18446744073709551616",
	    "mxs/v1/snapshot/h/99999999999999999999999999",
	    "mxs/v1/snapshot/h/a",
	};
	struct proto_topic t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&t, 0x5a, sizeof(t));
		if (proto_topic_test_parse(bad[i], &t) != MX_EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
		/* the output is left alone on refusal */
		assert_int_equal(t.kind, 0x5a5a5a5a);
	}
	assert_int_equal(proto_topic_parse(NULL, 0, &t), MX_EINVAL);
	assert_int_equal(
	    proto_topic_parse("mxs/v1/status/e1", 16, NULL), MX_EINVAL);
}

/* test_parse_refuses_nul - a NUL inside any level is refused */
static void
test_parse_refuses_nul(void **state)
{
	static const char a[] = "mxs/v1/status/e\0001";
	static const char b[] = "mxs/v1/status/e1\0";
	static const char c[] = "mxs/v1/snapshot/h/1\0";
	static const char d[] = "mxs/v1/snapshot/h/\0";
	static const char e[] = "mxs\0v1/status/e1";
	static const char f[] = "mxs/v1/stat\0us/e1";
	struct proto_topic t;

	(void)state;
	/* sizeof - 1: the array's own terminator is not part of the topic */
	assert_int_equal(proto_topic_parse(a, sizeof(a) - 1, &t), MX_EINVAL);
	assert_int_equal(proto_topic_parse(b, sizeof(b) - 1, &t), MX_EINVAL);
	assert_int_equal(proto_topic_parse(c, sizeof(c) - 1, &t), MX_EINVAL);
	assert_int_equal(proto_topic_parse(d, sizeof(d) - 1, &t), MX_EINVAL);
	assert_int_equal(proto_topic_parse(e, sizeof(e) - 1, &t), MX_EINVAL);
	assert_int_equal(proto_topic_parse(f, sizeof(f) - 1, &t), MX_EINVAL);
	/* the length decides, not a terminator: a prefix of a valid topic */
	assert_int_equal(
	    proto_topic_parse("mxs/v1/status/e1", 14, &t), MX_EINVAL);
	assert_int_equal(proto_topic_parse("mxs/v1/status/e1xyz", 16, &t), 0);
	assert_string_equal(t.id, "e1");
}

/* test_parse_id_lengths - ids at PROTO_ID_MAX parse, one more does not */
static void
test_parse_id_lengths(void **state)
{
	char id[PROTO_ID_MAX + 2], topic[2 * PROTO_TOPIC_MAX];
	struct proto_topic t;
	int n;

	(void)state;
	proto_topic_test_id(id, PROTO_ID_MAX);
	n = snprintf(topic, sizeof(topic), "mxs/v1/telemetry/%s/%s", id, id);
	assert_true(n > 0 && (size_t)n < sizeof(topic));
	assert_int_equal(proto_topic_parse(topic, (size_t)n, &t), 0);
	assert_string_equal(t.pop, id);
	assert_string_equal(t.id, id);

	proto_topic_test_id(id, PROTO_ID_MAX + 1);
	n = snprintf(topic, sizeof(topic), "mxs/v1/status/%s", id);
	assert_true(n > 0 && (size_t)n < sizeof(topic));
	assert_int_equal(proto_topic_parse(topic, (size_t)n, &t), MX_EINVAL);
	n = snprintf(topic, sizeof(topic), "mxs/v1/telemetry/p/%s", id);
	assert_true(n > 0 && (size_t)n < sizeof(topic));
	assert_int_equal(proto_topic_parse(topic, (size_t)n, &t), MX_EINVAL);
	n = snprintf(topic, sizeof(topic), "mxs/v1/telemetry/%s/e", id);
	assert_true(n > 0 && (size_t)n < sizeof(topic));
	assert_int_equal(proto_topic_parse(topic, (size_t)n, &t), MX_EINVAL);
}

/* test_parse_long_input - an overlong topic is refused whatever it holds */
static void
test_parse_long_input(void **state)
{
	char topic[4 * PROTO_TOPIC_MAX];
	struct proto_topic t;
	size_t n;

	(void)state;
	memset(topic, 'a', sizeof(topic));
	memcpy(topic, "mxs/v1/status/", 14);
	/* valid only while the id is 1..PROTO_ID_MAX bytes */
	for (n = 0; n < sizeof(topic); n++) {
		int want = n > 14 && n - 14 <= PROTO_ID_MAX ? 0 : MX_EINVAL;

		assert_int_equal(proto_topic_parse(topic, n, &t), want);
	}
	assert_int_equal(
	    proto_topic_parse(topic, sizeof(topic), &t), MX_EINVAL);
}

/* proto_topic_test_rebuild - build the topic t describes */
static int
proto_topic_test_rebuild(const struct proto_topic *t, char *out, size_t outlen)
{
	switch (t->kind) {
	case PROTO_TOPIC_TELEMETRY:
		return proto_topic_telemetry(out, outlen, t->pop, t->id);
	case PROTO_TOPIC_STATUS:
		return proto_topic_status(out, outlen, t->id);
	case PROTO_TOPIC_UPDATES:
		return proto_topic_updates(out, outlen, t->id);
	case PROTO_TOPIC_SNAPSHOT:
		return proto_topic_snapshot(out, outlen, t->id, t->n);
	case PROTO_TOPIC_FEED:
		return proto_topic_feed(out, outlen, t->id);
	default:
		return MX_EINVAL;
	}
}

/* test_round_trip - build -> parse -> rebuild gives the same bytes */
static void
test_round_trip(void **state)
{
	static const char *const ids[] = {
	    "a", "edge-01", "HUB.z_9", "...", "-", "_", "0"};
	static const uint32_t chunks[] = {0, 1, 9, 10, 99, 100, 1000, 65535};
	char out[PROTO_TOPIC_MAX], again[PROTO_TOPIC_MAX];
	char longid[PROTO_ID_MAX + 1];
	struct proto_topic t;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		for (j = 0; j < sizeof(ids) / sizeof(ids[0]); j++) {
			assert_int_equal(proto_topic_telemetry(
			                     out, sizeof(out), ids[i], ids[j]),
			    0);
			assert_int_equal(
			    proto_topic_parse(out, strlen(out), &t), 0);
			assert_int_equal(t.kind, PROTO_TOPIC_TELEMETRY);
			assert_string_equal(t.pop, ids[i]);
			assert_string_equal(t.id, ids[j]);
			assert_int_equal(
			    proto_topic_test_rebuild(&t, again, sizeof(again)),
			    0);
			assert_string_equal(again, out);
		}
		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			assert_int_equal(proto_topic_snapshot(out, sizeof(out),
			                     ids[i], chunks[j]),
			    0);
			assert_int_equal(
			    proto_topic_parse(out, strlen(out), &t), 0);
			assert_int_equal(t.kind, PROTO_TOPIC_SNAPSHOT);
			assert_int_equal(t.n, chunks[j]);
			assert_int_equal(
			    proto_topic_test_rebuild(&t, again, sizeof(again)),
			    0);
			assert_string_equal(again, out);
		}
		assert_int_equal(
		    proto_topic_status(out, sizeof(out), ids[i]), 0);
		assert_int_equal(proto_topic_parse(out, strlen(out), &t), 0);
		assert_int_equal(t.kind, PROTO_TOPIC_STATUS);
		assert_string_equal(t.id, ids[i]);
		assert_int_equal(
		    proto_topic_updates(out, sizeof(out), ids[i]), 0);
		assert_int_equal(proto_topic_parse(out, strlen(out), &t), 0);
		assert_int_equal(t.kind, PROTO_TOPIC_UPDATES);
		assert_string_equal(t.id, ids[i]);
		assert_int_equal(proto_topic_feed(out, sizeof(out), ids[i]), 0);
		assert_int_equal(proto_topic_parse(out, strlen(out), &t), 0);
		assert_int_equal(t.kind, PROTO_TOPIC_FEED);
		assert_string_equal(t.id, ids[i]);
	}
	/* the longest topic of the tree fits PROTO_TOPIC_MAX */
	proto_topic_test_id(longid, PROTO_ID_MAX);
	assert_int_equal(
	    proto_topic_telemetry(out, sizeof(out), longid, longid), 0);
	assert_int_equal(proto_topic_parse(out, strlen(out), &t), 0);
	assert_int_equal(proto_topic_test_rebuild(&t, again, sizeof(again)), 0);
	assert_string_equal(again, out);
}

/* test_subscription_filters - the filters cover what the builders make */
static void
test_subscription_filters(void **state)
{
	char out[PROTO_TOPIC_MAX];
	struct proto_topic t;

	(void)state;
	/* filters are not topics: the parser refuses every one of them */
	assert_int_equal(
	    proto_topic_test_parse(PROTO_SUB_TELEMETRY, &t), MX_EINVAL);
	assert_int_equal(
	    proto_topic_test_parse(PROTO_SUB_STATUS, &t), MX_EINVAL);
	assert_int_equal(
	    proto_topic_test_parse(PROTO_SUB_UPDATES, &t), MX_EINVAL);
	assert_int_equal(
	    proto_topic_test_parse(PROTO_SUB_SNAPSHOT, &t), MX_EINVAL);
	assert_int_equal(proto_topic_test_parse(PROTO_SUB_FEED, &t), MX_EINVAL);
	assert_int_equal(proto_topic_snapshot_sub(out, sizeof(out), "h1"), 0);
	assert_int_equal(proto_topic_test_parse(out, &t), MX_EINVAL);
	assert_int_equal(strncmp(PROTO_SUB_STATUS, PROTO_TOPIC_PREFIX,
	                     strlen(PROTO_TOPIC_PREFIX)),
	    0);
}

/* main - run the proto_topic tests */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_id_check_accepts),
	    cmocka_unit_test(test_id_check_refuses),
	    cmocka_unit_test(test_build_each),
	    cmocka_unit_test(test_build_refuses_bad_ids),
	    cmocka_unit_test(test_build_refuses_chunk_range),
	    cmocka_unit_test(test_build_truncation),
	    cmocka_unit_test(test_parse_each_kind),
	    cmocka_unit_test(test_parse_refuses),
	    cmocka_unit_test(test_parse_refuses_nul),
	    cmocka_unit_test(test_parse_id_lengths),
	    cmocka_unit_test(test_parse_long_input),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_subscription_filters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
