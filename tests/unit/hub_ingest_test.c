/*
 * hub_ingest_test.c - mxhub's rules, update stream, snapshots and feed
 * merging, without a broker
 *
 * Each test builds a hub configuration by hand (not through
 * hub_conf_load): a scratch data_dir, rule thresholds and their parsed
 * actions, a signing key and one analyst feed key made here. It opens the
 * record state and the ingest as the daemon does, hands them telemetry
 * batches built with proto_telemetry_encode at chosen times (now_ms), and
 * captures what a flush or a snapshot publishes. Published payloads are
 * checked the way an edge checks them: verified against the hub's public
 * key, decoded, and compared with what hub_state_get holds. The ingest
 * clock starts at a whole second near the wall clock, because the state
 * judges a record's expiry by the wall clock.
 * Trust: test inputs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ftw.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "lib/mx_buf.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "proto/proto_content.h"
#include "proto/proto_msg.h"
#include "proto/proto_record.h"
#include "proto/proto_sign.h"
#include "proto/proto_topic.h"
#include "hub/hub.h"
#include "hub/hub_ctr.h"

#define T_HUB "hub-t"           /* hub id */
#define T_POP "pop-a"           /* the edge's POP */
#define T_EDGE "edge-1"         /* the edge */
#define T_FEED "analyst"        /* the configured feed source */
#define T_HL 3600000ULL         /* half_life, ms */
#define T_TTL 21600000ULL       /* record_ttl, ms */
#define T_TTL_S (T_TTL / 1000u) /* record_ttl, s */
#define T_SCORE 10              /* rule_score */
#define T_MAP (64ULL << 20)     /* both LMDB maps, bytes */
#define T_BIG 2500              /* records of the big snapshot */
#define T_BIG_DEL 1600          /* of them revoked afterwards */
#define T_QUEUE 8200            /* changes in one window: over the queue */

/* one payload handed to the publish callback */
struct cap {
	char topic[PROTO_TOPIC_MAX];
	uint8_t *p; /* copy, or NULL for an empty payload */
	size_t len;
	int retain;
};

struct fix {
	char dir[512];   /* data_dir */
	char hub_id[16]; /* T_HUB */
	struct hub_conf *c;
	struct hub_state *st;
	struct hub_ingest *g;
	struct proto_keyring hubs; /* the hub's public key, as an edge has it */
	struct proto_key *fk;      /* the analyst's private key */
	struct cap *caps;          /* everything published, in order */
	size_t n_caps, cap_max;
	uint64_t t0;      /* a whole second near the wall clock, ms */
	uint64_t tel_seq; /* next telemetry batch seq of T_EDGE */
	struct mx_buf buf;
};

/* decoded records */
struct recs {
	struct proto_record *r;
	size_t n, max;
};

static const char t_rcpt_hash[] = "0123456789abcdef"; /* 16 bytes used */

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

	if (proto_key_public_raw(k, raw) != 0 ||
	    proto_key_from_public_raw(raw, &p) != 0)
		return NULL;
	return p;
}

/* capture - the publish callback: keep a copy of every payload */
static void
capture(void *arg, const char *topic, const uint8_t *p, size_t len, int retain)
{
	struct fix *x = arg;
	struct cap *k;

	if (x->n_caps == x->cap_max) {
		size_t m = x->cap_max > 0 ? x->cap_max * 2 : 16;
		struct cap *nc = realloc(x->caps, m * sizeof(*nc));

		assert_non_null(nc);
		x->caps = nc;
		x->cap_max = m;
	}
	k = &x->caps[x->n_caps++];
	memset(k, 0, sizeof(*k));
	assert_true(strlen(topic) < sizeof(k->topic));
	snprintf(k->topic, sizeof(k->topic), "%s", topic);
	k->len = len;
	k->retain = retain;
	if (len > 0) {
		assert_non_null(p);
		k->p = malloc(len);
		assert_non_null(k->p);
		memcpy(k->p, p, len);
	}
}

/* open_hub - the state and the ingest over x's config, as the daemon */
static int
open_hub(struct fix *x)
{
	char err[256];

	if (hub_state_open(x->c, &x->st, err, sizeof(err)) != 0) {
		fprintf(stderr, "hub_state_open: %s\n", err);
		return -1;
	}
	if (hub_ingest_open(x->c, x->st, &x->g, err, sizeof(err)) != 0) {
		fprintf(stderr, "hub_ingest_open: %s\n", err);
		return -1;
	}
	hub_state_set_publisher(x->st, capture, x);
	return 0;
}

/* close_hub - the ingest, then the state (an unflushed batch is lost) */
static void
close_hub(struct fix *x)
{
	hub_ingest_close(x->g);
	x->g = NULL;
	hub_state_close(x->st);
	x->st = NULL;
}

/* setup - data_dir, config, keys, zeroed metrics, an open hub */
static int
setup(void **state)
{
	struct fix *x = calloc(1, sizeof(*x));
	const char *root = getenv("MX_TEST_TMP");
	struct hub_conf *c;
	struct proto_key *hk;
	struct timespec ts;
	int n, i;

	if (x == NULL)
		return -1;
	if (root == NULL || *root == '\0')
		root = "/tmp";
	n = snprintf(x->dir, sizeof(x->dir), "%s/hub_ingest.XXXXXX", root);
	if (n < 0 || (size_t)n >= sizeof(x->dir) || mkdtemp(x->dir) == NULL)
		return -1;
	snprintf(x->hub_id, sizeof(x->hub_id), "%s", T_HUB);
	c = x->c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	c->hub_id = x->hub_id;
	c->data_dir = x->dir;
	c->batch_time = 50;
	c->snapshot_time = 300000;
	c->half_life = T_HL;
	c->record_ttl = T_TTL;
	c->counter_entries = 100000;
	c->store_map_size = T_MAP;
	c->counter_map_size = T_MAP;
	c->rule_score = T_SCORE;
	c->rule_trap_hits = 1;
	c->rule_dict_unknown = 10;
	c->rule_dict_ratio = 50;
	c->rule_proto_hits = 5;
	c->rule_net_bad_ips = 4;
	c->act_trap.action = PROTO_ACT_REJECT;
	c->act_trap.score = T_SCORE;
	c->act_dict.action = PROTO_ACT_REJECT;
	c->act_dict.score = T_SCORE;
	c->act_proto.action = PROTO_ACT_TEMPFAIL;
	c->act_proto.score = T_SCORE;
	c->act_net.action = PROTO_ACT_REJECT;
	c->act_net.score = T_SCORE;
	if (proto_key_generate(&c->sign_key) != 0 ||
	    proto_key_generate(&x->fk) != 0)
		return -1;
	if ((hk = pub(c->sign_key)) == NULL ||
	    proto_keyring_add(&x->hubs, hk) != 0)
		return -1;
	snprintf(c->feeds[0].source, sizeof(c->feeds[0].source), "%s", T_FEED);
	if ((c->feeds[0].key[0] = pub(x->fk)) == NULL)
		return -1;
	c->feeds[0].n_keys = 1;
	c->n_feeds = 1;
	for (i = 0; i < HUB_M__COUNT; i++)
		hub_metrics_set((enum hub_metric)i, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	x->t0 = (uint64_t)ts.tv_sec * 1000u;
	x->tel_seq = 1;
	mx_buf_init(&x->buf, PROTO_MSG_MAX);
	if (open_hub(x) != 0)
		return -1;
	*state = x;
	return 0;
}

/* teardown - close the hub, free everything, remove data_dir */
static int
teardown(void **state)
{
	struct fix *x = *state;
	size_t i;

	close_hub(x);
	for (i = 0; i < x->n_caps; i++)
		free(x->caps[i].p);
	free(x->caps);
	proto_keyring_free(&x->hubs);
	proto_key_free(x->fk);
	proto_key_free(x->c->sign_key);
	proto_key_free(x->c->feeds[0].key[0]);
	free(x->c);
	mx_buf_fini(&x->buf);
	nftw(x->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(x);
	return 0;
}

/* recs_add - decoder callback: keep a copy of each record */
static int
recs_add(void *arg, const struct proto_record *r)
{
	struct recs *rs = arg;

	if (rs->n == rs->max) {
		size_t m = rs->max > 0 ? rs->max * 2 : 64;
		struct proto_record *nr = realloc(rs->r, m * sizeof(*nr));

		assert_non_null(nr);
		rs->r = nr;
		rs->max = m;
	}
	rs->r[rs->n++] = *r;
	return 0;
}

/* recs_free - release and empty */
static void
recs_free(struct recs *rs)
{
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

/*
 * open_signed - verify a captured payload with the hub's key as an edge
 * does, check its type, decode its body; the records are appended to rs
 */
static void
open_signed(struct fix *x, const struct cap *k, unsigned want,
    struct proto_batch_hdr *h, struct recs *rs)
{
	struct proto_str body;
	unsigned type = 0;
	size_t before = rs->n;
	int rc;

	assert_non_null(k->p);
	assert_int_equal(
	    proto_keyring_open(&x->hubs, k->p, k->len, &type, &body, NULL), 0);
	assert_int_equal(type, want);
	memset(h, 0, sizeof(*h));
	if (want == PROTO_MSG_UPDATE)
		rc =
		    proto_update_body_decode(body.p, body.len, h, recs_add, rs);
	else
		rc = proto_snapshot_body_decode(
		    body.p, body.len, h, recs_add, rs);
	assert_int_equal(rc, 0);
	assert_int_equal(h->n_records, rs->n - before);
	assert_int_equal(h->hub_id.len, strlen(T_HUB));
	assert_memory_equal(h->hub_id.p, T_HUB, strlen(T_HUB));
}

/* key_of - the canonical key of an ip or net text */
static size_t
key_of(int kind, const char *text, uint8_t *key)
{
	size_t len = 0;

	if (kind == PROTO_KIND_NET)
		assert_int_equal(
		    proto_key_net(text, strlen(text), key, &len), 0);
	else
		assert_int_equal(
		    proto_key_ip(text, strlen(text), key, &len), 0);
	return len;
}

/* get_rec - hub_state_get of an ip or net given as text */
static int
get_rec(struct fix *x, int kind, const char *text, struct proto_record *out)
{
	uint8_t key[PROTO_KEY_MAX];
	size_t len = key_of(kind, text, key);

	return hub_state_get(x->st, kind, key, len, out);
}

/* assert_text - a record's source or reason equals s */
static void
assert_text(const char *p, size_t len, const char *s)
{
	if (len != strlen(s) || memcmp(p, s, len) != 0)
		fail_msg("text '%.*s' is not '%s'", (int)len, p, s);
}

/* assert_same_rec - two records agree on everything that is published */
static void
assert_same_rec(const struct proto_record *a, const struct proto_record *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->key_len, b->key_len);
	assert_memory_equal(a->key, b->key, a->key_len);
	assert_int_equal(a->action, b->action);
	assert_int_equal(a->score, b->score);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->ts_ms, b->ts_ms);
	assert_int_equal(a->source_len, b->source_len);
	assert_memory_equal(a->source, b->source, a->source_len);
	assert_int_equal(a->reason_len, b->reason_len);
	assert_memory_equal(a->reason, b->reason, a->reason_len);
}

/* assert_live - r is exactly what the hub holds for its key */
static void
assert_live(struct fix *x, const struct proto_record *r)
{
	struct proto_record h;

	assert_int_equal(
	    hub_state_get(x->st, r->kind, r->key, r->key_len, &h), 0);
	assert_int_equal(r->op, PROTO_OP_PUT);
	assert_same_rec(r, &h);
}

/* ev_base - an accepted transaction from ip at ts_ms, nothing else */
static void
ev_base(struct proto_event *e, const char *ip, uint64_t ts_ms)
{
	size_t len = 0;

	memset(e, 0, sizeof(*e));
	e->ts_ms = ts_ms;
	e->type = PROTO_EV_TXN;
	assert_int_equal(proto_key_ip(ip, strlen(ip), e->ip, &len), 0);
	e->ip_len = (uint8_t)len;
	e->verdict = PROTO_VERDICT_ACCEPT;
}

/* ev_trap - a transaction from ip whose one recipient was a spam trap */
static void
ev_trap(struct proto_event *e, const char *ip, uint64_t ts_ms)
{
	ev_base(e, ip, ts_ms);
	e->verdict = PROTO_VERDICT_REJECT;
	e->flags = PROTO_EVF_TRAP;
	e->n_rcpts = 1;
	e->rcpts[0].hash.p = (const uint8_t *)t_rcpt_hash;
	e->rcpts[0].hash.len = 16;
	e->rcpts[0].domain.p = (const uint8_t *)"example.org";
	e->rcpts[0].domain.len = strlen("example.org");
	e->rcpts[0].result = PROTO_RCPT_TRAP;
}

/* evs_new - n zeroed events (freed with free) */
static struct proto_event *
evs_new(size_t n)
{
	struct proto_event *e = calloc(n, sizeof(*e));

	assert_non_null(e);
	return e;
}

/*
 * tel_raw - encode a batch whose header says (hpop, hedge, seq, dropped)
 * and hand it to the ingest as if it came from topic (pop, edge)
 */
static void
tel_raw(struct fix *x, const char *hpop, const char *hedge, uint64_t seq,
    uint64_t dropped, const char *pop, const char *edge,
    const struct proto_event *evs, size_t n, uint64_t now_ms)
{
	struct proto_telemetry_hdr h;

	memset(&h, 0, sizeof(h));
	h.edge_id.p = (const uint8_t *)hedge;
	h.edge_id.len = strlen(hedge);
	h.pop.p = (const uint8_t *)hpop;
	h.pop.len = strlen(hpop);
	h.seq = seq;
	h.dropped = dropped;
	mx_buf_reset(&x->buf);
	assert_int_equal(proto_telemetry_encode(&x->buf, &h, evs, n), 0);
	hub_ingest_telemetry(x->g, pop, edge, x->buf.data, x->buf.len, now_ms);
}

/* tel - the next batch of T_EDGE in T_POP */
static void
tel(struct fix *x, const struct proto_event *evs, size_t n, uint64_t now_ms)
{
	tel_raw(x, T_POP, T_EDGE, x->tel_seq, 0, T_POP, T_EDGE, evs, n, now_ms);
	x->tel_seq++;
}

/* tel1 - a batch of the one event e */
static void
tel1(struct fix *x, const struct proto_event *e, uint64_t now_ms)
{
	tel(x, e, 1, now_ms);
}

/* trap - a batch with one spam-trap hit from ip at now_ms */
static void
trap(struct fix *x, const char *ip, uint64_t now_ms)
{
	struct proto_event *e = evs_new(1);

	ev_trap(e, ip, now_ms);
	tel1(x, e, now_ms);
	free(e);
}

/* flush - commit the counters, flush the state: payloads published */
static size_t
flush(struct fix *x)
{
	size_t before = x->n_caps;

	hub_ingest_commit(x->g);
	assert_int_equal(hub_state_flush(x->st, capture, x), 0);
	return x->n_caps - before;
}

/* audit_lines - lines of audit.log holding needle; the last into out */
static int
audit_lines(struct fix *x, const char *needle, char *out, size_t outlen)
{
	char path[600], line[2048];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/audit.log", x->dir);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL) {
			snprintf(out, outlen, "%s", line);
			n++;
		}
	fclose(f);
	return n;
}

/* assert_has - s contains part */
static void
assert_has(const char *s, const char *part)
{
	if (strstr(s, part) == NULL)
		fail_msg("'%s' not in '%s'", part, s);
}

/* rec_ip - a feed record for an IP */
static struct proto_record
rec_ip(const char *ip, uint8_t action, int32_t score, uint8_t op,
    const char *reason)
{
	struct proto_record r;
	size_t len = 0;

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_KIND_IP;
	r.op = op;
	r.action = action;
	r.score = score;
	assert_int_equal(proto_key_ip(ip, strlen(ip), r.key, &len), 0);
	r.key_len = (uint16_t)len;
	/* the hub puts the topic's source in its place */
	proto_record_set_text(&r, "someone-else", reason);
	return r;
}

/*
 * feed_msg_as - a submission naming source, by alice, signed with the
 * analyst's key as message type, into out
 */
static void
feed_msg_as(struct fix *x, struct mx_buf *out, const char *source,
    unsigned type, uint64_t serial, const struct proto_record *recs, size_t n)
{
	struct proto_feed_hdr h;
	struct mx_buf body;

	memset(&h, 0, sizeof(h));
	h.source.p = (const uint8_t *)source;
	h.source.len = strlen(source);
	h.who.p = (const uint8_t *)"alice";
	h.who.len = strlen("alice");
	h.ts_ms = x->t0;
	h.serial = serial;
	mx_buf_init(&body, PROTO_MSG_MAX);
	assert_int_equal(proto_feed_body_encode(&body, &h, recs, n), 0);
	mx_buf_reset(out);
	assert_int_equal(
	    proto_sign_message(out, x->fk, type, body.data, body.len), 0);
	mx_buf_fini(&body);
}

/* feed_msg - a genuine submission of T_FEED by alice into out */
static void
feed_msg(struct fix *x, struct mx_buf *out, uint64_t serial,
    const struct proto_record *recs, size_t n)
{
	feed_msg_as(x, out, T_FEED, PROTO_MSG_FEED, serial, recs, n);
}

/* submit - hand a submission to the hub on mxs/v1/feed/<source> */
static void
submit(struct fix *x, const char *source, const struct mx_buf *m)
{
	hub_feed_submit(x->c, x->st, source, m->data, m->len);
}

/*
 * 1. A trap hit makes an ip reject record by rule:trap with rule_score
 * and expires = now + record_ttl; the flush publishes one signed batch,
 * seq 1 of the hub's epoch, carrying it; the audit log has its line.
 */
static void
test_trap_hit_makes_signed_ip_record(void **state)
{
	struct fix *x = *state;
	struct proto_record r;
	struct proto_batch_hdr h;
	struct recs rs = {0};
	const struct cap *k;
	char topic[PROTO_TOPIC_MAX], line[2048], part[128];
	uint64_t now = x->t0 + 1234, expires = now / 1000u + T_TTL_S;

	trap(x, "192.0.2.7", now);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_BATCHES), 1);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_EVENTS), 1);
	assert_int_equal(hub_metrics_get(HUB_M_RULE_RECORDS), 1);
	assert_int_equal(hub_state_pending(x->st), 1);
	/* visible before the flush */
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.7", &r), 0);
	assert_int_equal(r.kind, PROTO_KIND_IP);
	assert_int_equal(r.key_len, 4);
	assert_int_equal(r.action, PROTO_ACT_REJECT);
	assert_int_equal(r.score, T_SCORE);
	assert_int_equal(r.expires, expires);
	assert_int_equal(r.ts_ms, now);
	assert_text(r.source, r.source_len, "rule:trap");
	assert_text(r.reason, r.reason_len, "spam-trap hits 1.0");
	assert_int_equal(hub_state_seq(x->st), 0);

	assert_int_equal(flush(x), 1);
	assert_int_equal(hub_state_seq(x->st), 1);
	assert_int_equal(hub_state_pending(x->st), 0);
	k = &x->caps[0];
	assert_int_equal(proto_topic_updates(topic, sizeof(topic), T_HUB), 0);
	assert_string_equal(k->topic, topic);
	assert_string_equal(k->topic, "mxs/v1/updates/" T_HUB);
	assert_int_equal(k->retain, 0);
	open_signed(x, k, PROTO_MSG_UPDATE, &h, &rs);
	assert_int_equal(h.epoch, hub_state_epoch(x->st));
	assert_true(h.epoch > 0);
	assert_int_equal(h.seq, 1);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.r[0].op, PROTO_OP_PUT);
	assert_same_rec(&rs.r[0], &r);
	assert_int_equal(hub_metrics_get(HUB_M_BATCHES), 1);
	assert_int_equal(hub_metrics_get(HUB_M_RECORDS_OUT), 1);
	assert_int_equal(hub_metrics_get(HUB_M_SEQ), 1);
	assert_int_equal(hub_metrics_get(HUB_M_EPOCH), (int64_t)h.epoch);

	assert_int_equal(
	    audit_lines(x, "kind=ip key=192.0.2.7 ", line, sizeof(line)), 1);
	assert_has(line, "by=rule:trap");
	assert_has(line, "source=rule:trap");
	assert_has(line, " op=put ");
	assert_has(line, " action=reject ");
	assert_has(line, " score=10 ");
	assert_has(line, " seq=1 ");
	snprintf(
	    part, sizeof(part), " epoch=%llu ", (unsigned long long)h.epoch);
	assert_has(line, part);
	snprintf(
	    part, sizeof(part), " expires=%llu ", (unsigned long long)expires);
	assert_has(line, part);
	assert_has(line, "reason=\"spam-trap hits 1.0\"");

	/* nothing new: nothing published, the seq stays */
	assert_int_equal(flush(x), 0);
	assert_int_equal(hub_state_seq(x->st), 1);
	recs_free(&rs);
}

/* a trap from an IPv4-mapped IPv6 address lists the IPv4 address */
static void
test_trap_from_v4_mapped_lists_ipv4(void **state)
{
	struct fix *x = *state;
	struct proto_event *e = evs_new(1);
	struct proto_record r;

	ev_trap(e, "192.0.2.99", x->t0);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.99", e->ip), 1);
	e->ip_len = 16;
	tel1(x, e, x->t0);
	free(e);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.99", &r), 0);
	assert_int_equal(r.key_len, 4);
	assert_text(r.source, r.source_len, "rule:trap");
}

/*
 * 2. The same evidence again at once publishes nothing (the record is
 * fresh), nor at exactly half its life; one second past half its life
 * the record is renewed with a new expiry.
 */
static void
test_fresh_record_is_renewed_only_past_half_life(void **state)
{
	struct fix *x = *state;
	struct proto_record r;
	struct proto_batch_hdr h;
	struct recs rs = {0};
	char line[2048];
	uint64_t t = x->t0, half = t + T_TTL / 2;

	trap(x, "192.0.2.8", t);
	assert_int_equal(flush(x), 1);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.8", &r), 0);
	assert_int_equal(r.expires, t / 1000u + T_TTL_S);

	trap(x, "192.0.2.8", t + 1000);
	assert_int_equal(hub_state_pending(x->st), 0);
	assert_int_equal(flush(x), 0);
	assert_int_equal(hub_state_seq(x->st), 1);

	trap(x, "192.0.2.8", half);
	assert_int_equal(flush(x), 0);
	assert_int_equal(hub_state_seq(x->st), 1);
	assert_int_equal(hub_metrics_get(HUB_M_RULE_RECORDS), 1);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.8", &r), 0);
	assert_int_equal(r.expires, t / 1000u + T_TTL_S);

	trap(x, "192.0.2.8", half + 1000);
	assert_int_equal(hub_metrics_get(HUB_M_RULE_RECORDS), 2);
	assert_int_equal(flush(x), 1);
	assert_int_equal(hub_state_seq(x->st), 2);
	open_signed(x, &x->caps[1], PROTO_MSG_UPDATE, &h, &rs);
	assert_int_equal(h.seq, 2);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.r[0].expires, (half + 1000) / 1000u + T_TTL_S);
	assert_text(rs.r[0].source, rs.r[0].source_len, "rule:trap");
	assert_live(x, &rs.r[0]);
	assert_int_equal(
	    audit_lines(x, "kind=ip key=192.0.2.8 ", line, sizeof(line)), 2);
	assert_has(line, " seq=2 ");
	recs_free(&rs);
}

/*
 * 3. Dictionary rule: 9 unknown of 9 gives nothing; 10 unknown of 21
 * (47.6 % < 50 %) nothing; 10 of 20 (exactly 50 %) a rule:dict record;
 * the first address's tenth unknown recipient makes one too.
 */
static void
test_dict_rule_needs_count_and_ratio(void **state)
{
	struct fix *x = *state;
	struct proto_event *e = evs_new(1);
	struct proto_record r;
	struct proto_batch_hdr h;
	struct recs rs = {0};

	ev_base(e, "192.0.2.10", x->t0);
	e->rcpt_unknown = 9;
	tel1(x, e, x->t0);
	assert_int_equal(
	    get_rec(x, PROTO_KIND_IP, "192.0.2.10", &r), MX_ENOTFOUND);

	ev_base(e, "192.0.2.11", x->t0);
	e->rcpt_unknown = 10;
	e->rcpt_ok = 11;
	tel1(x, e, x->t0);
	assert_int_equal(
	    get_rec(x, PROTO_KIND_IP, "192.0.2.11", &r), MX_ENOTFOUND);

	ev_base(e, "192.0.2.12", x->t0);
	e->rcpt_unknown = 10;
	e->rcpt_ok = 10;
	tel1(x, e, x->t0);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.12", &r), 0);
	assert_text(r.source, r.source_len, "rule:dict");
	assert_text(r.reason, r.reason_len, "unknown recipients 10.0 of 20.0");
	assert_int_equal(r.action, PROTO_ACT_REJECT);
	assert_int_equal(r.score, T_SCORE);
	assert_int_equal(r.expires, x->t0 / 1000u + T_TTL_S);

	ev_base(e, "192.0.2.10", x->t0);
	e->rcpt_unknown = 1;
	tel1(x, e, x->t0);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.10", &r), 0);
	assert_text(r.source, r.source_len, "rule:dict");
	assert_int_equal(
	    get_rec(x, PROTO_KIND_IP, "192.0.2.11", &r), MX_ENOTFOUND);

	assert_int_equal(flush(x), 1);
	open_signed(x, &x->caps[0], PROTO_MSG_UPDATE, &h, &rs);
	assert_int_equal(rs.n, 2);
	assert_live(x, &rs.r[0]);
	assert_live(x, &rs.r[1]);
	assert_int_equal(hub_metrics_get(HUB_M_RULE_RECORDS), 2);
	free(e);
	recs_free(&rs);
}

/*
 * 4. Protocol rule at rule_proto_hits = 5: four violations give nothing,
 * the fifth (an early talker) a rule:proto tempfail record; an event with
 * both flags counts once, an event with neither not at all.
 */
static void
test_proto_rule_fires_at_threshold(void **state)
{
	struct fix *x = *state;
	struct proto_event *e = evs_new(1);
	struct proto_record r;
	int i;

	for (i = 0; i < 4; i++) {
		ev_base(e, "192.0.2.20", x->t0);
		e->flags = PROTO_EVF_PROTO_ABUSE;
		tel1(x, e, x->t0);
	}
	assert_int_equal(
	    get_rec(x, PROTO_KIND_IP, "192.0.2.20", &r), MX_ENOTFOUND);
	ev_base(e, "192.0.2.20", x->t0);
	e->flags = PROTO_EVF_EARLY_TALKER;
	tel1(x, e, x->t0);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.20", &r), 0);
	assert_text(r.source, r.source_len, "rule:proto");
	assert_text(r.reason, r.reason_len, "protocol violations 5.0");
	assert_int_equal(r.action, PROTO_ACT_TEMPFAIL);
	assert_int_equal(r.score, T_SCORE);

	for (i = 0; i < 4; i++) {
		ev_base(e, "192.0.2.21", x->t0);
		e->flags = PROTO_EVF_PROTO_ABUSE | PROTO_EVF_EARLY_TALKER;
		tel1(x, e, x->t0);
	}
	ev_base(e, "192.0.2.21", x->t0);
	e->flags = PROTO_EVF_TLS;
	tel1(x, e, x->t0);
	assert_int_equal(
	    get_rec(x, PROTO_KIND_IP, "192.0.2.21", &r), MX_ENOTFOUND);
	ev_base(e, "192.0.2.21", x->t0);
	e->flags = PROTO_EVF_PROTO_ABUSE;
	tel1(x, e, x->t0);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.21", &r), 0);
	assert_text(r.source, r.source_len, "rule:proto");
	assert_int_equal(flush(x), 1);
	free(e);
}

/*
 * 5a. Net rule, IPv4: three listed addresses of 203.0.113.0/24 (one of
 * them hitting traps again, one more in another /24) give no net record;
 * the fourth distinct address gives 203.0.113.0/24 by rule:net. Every
 * listing is at the same instant, so the net's count does not decay
 * (see test_net_threshold_reached_by_listings_seconds_apart).
 */
static void
test_net_rule_v4_slash24(void **state)
{
	struct fix *x = *state;
	struct proto_record r;
	struct proto_batch_hdr h;
	struct recs rs = {0};
	char line[2048];
	size_t i, nets = 0;

	trap(x, "203.0.113.1", x->t0);
	trap(x, "203.0.113.2", x->t0);
	trap(x, "203.0.113.3", x->t0);
	trap(x, "203.0.113.3", x->t0 + 1000);
	trap(x, "203.0.113.3", x->t0 + 2000);
	trap(x, "203.0.114.1", x->t0);
	assert_int_equal(hub_metrics_get(HUB_M_RULE_RECORDS), 4);
	assert_int_equal(
	    get_rec(x, PROTO_KIND_NET, "203.0.113.0/24", &r), MX_ENOTFOUND);
	trap(x, "203.0.113.200", x->t0);
	assert_int_equal(get_rec(x, PROTO_KIND_NET, "203.0.113.0/24", &r), 0);
	assert_int_equal(r.kind, PROTO_KIND_NET);
	assert_int_equal(r.action, PROTO_ACT_REJECT);
	assert_int_equal(r.score, T_SCORE);
	assert_int_equal(r.expires, x->t0 / 1000u + T_TTL_S);
	assert_text(r.source, r.source_len, "rule:net");
	assert_text(r.reason, r.reason_len, "4.0 addresses listed by rules");
	assert_int_equal(
	    get_rec(x, PROTO_KIND_NET, "203.0.114.0/24", &r), MX_ENOTFOUND);

	assert_int_equal(flush(x), 1);
	open_signed(x, &x->caps[0], PROTO_MSG_UPDATE, &h, &rs);
	assert_int_equal(rs.n, 6);
	for (i = 0; i < rs.n; i++) {
		assert_live(x, &rs.r[i]);
		nets += rs.r[i].kind == PROTO_KIND_NET;
	}
	assert_int_equal(nets, 1);
	assert_int_equal(
	    audit_lines(x, "kind=net key=203.0.113.0/24 ", line, sizeof(line)),
	    1);
	assert_has(line, "by=rule:net");
	recs_free(&rs);
}

/* 5b. Net rule, IPv6: four listed addresses of one /48, not before
 * (all at one instant, as in 5a) */
static void
test_net_rule_v6_slash48(void **state)
{
	struct fix *x = *state;
	struct proto_record r;

	trap(x, "2001:db8:5::1", x->t0);
	trap(x, "2001:db8:5::2", x->t0);
	trap(x, "2001:db8:5:1::3", x->t0);
	trap(x, "2001:db8:6::1", x->t0);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "2001:db8:5:1::3", &r), 0);
	assert_int_equal(
	    get_rec(x, PROTO_KIND_NET, "2001:db8:5::/48", &r), MX_ENOTFOUND);
	trap(x, "2001:db8:5:ffff::4", x->t0);
	assert_int_equal(get_rec(x, PROTO_KIND_NET, "2001:db8:5::/48", &r), 0);
	assert_int_equal(r.key_len, 17);
	assert_int_equal(r.key[0], 48);
	assert_text(r.source, r.source_len, "rule:net");
	assert_int_equal(
	    get_rec(x, PROTO_KIND_NET, "2001:db8:6::/48", &r), MX_ENOTFOUND);
	assert_int_equal(flush(x), 1);
}

/*
 * 6. An analyst's allow stands against a trap hit; a forged submission
 * (signature or body byte flipped), an untrusted source and a replayed
 * serial change nothing.
 */
static void
test_analyst_allow_stands_forged_and_replay_refused(void **state)
{
	struct fix *x = *state;
	struct proto_record rec, r;
	struct proto_batch_hdr h;
	struct recs rs = {0};
	struct mx_buf m1, m2, bad;
	char line[2048];
	uint8_t *p;

	mx_buf_init(&m1, PROTO_MSG_MAX);
	mx_buf_init(&m2, PROTO_MSG_MAX);
	mx_buf_init(&bad, PROTO_MSG_MAX);
	rec =
	    rec_ip("192.0.2.50", PROTO_ACT_ALLOW, -5, PROTO_OP_PUT, "case 42");
	feed_msg(x, &m1, 1, &rec, 1);
	submit(x, T_FEED, &m1);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_ACCEPTED), 1);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_RECORDS), 1);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.50", &r), 0);
	assert_int_equal(r.action, PROTO_ACT_ALLOW);
	assert_int_equal(r.score, -5);
	assert_int_equal(r.expires, 0);
	assert_text(r.source, r.source_len, T_FEED);
	assert_text(r.reason, r.reason_len, "case 42");
	assert_true(r.ts_ms >= x->t0); /* the hub's clock, not the feed's */
	assert_int_equal(flush(x), 1);
	open_signed(x, &x->caps[0], PROTO_MSG_UPDATE, &h, &rs);
	assert_int_equal(rs.n, 1);
	assert_same_rec(&rs.r[0], &r);
	assert_int_equal(
	    audit_lines(x, "kind=ip key=192.0.2.50 ", line, sizeof(line)), 1);
	assert_has(line, "by=feed:analyst/alice");
	assert_has(line, " action=allow ");

	/* the rule does not override the analyst */
	trap(x, "192.0.2.50", x->t0);
	assert_int_equal(hub_metrics_get(HUB_M_RULE_RECORDS), 0);
	assert_int_equal(hub_state_pending(x->st), 0);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.50", &r), 0);
	assert_int_equal(r.action, PROTO_ACT_ALLOW);
	assert_text(r.source, r.source_len, T_FEED);
	assert_int_equal(flush(x), 0);

	/* forged: the signature's last byte, then a byte of the reason */
	rec = rec_ip("192.0.2.50", PROTO_ACT_TAG, 3, PROTO_OP_PUT, "case 43");
	feed_msg(x, &m2, 2, &rec, 1);
	mx_buf_reset(&bad);
	assert_int_equal(mx_buf_append(&bad, m2.data, m2.len), 0);
	bad.data[bad.len - 1] ^= 0x01;
	submit(x, T_FEED, &bad);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_FORGED), 1);
	mx_buf_reset(&bad);
	assert_int_equal(mx_buf_append(&bad, m2.data, m2.len), 0);
	p = memmem(bad.data, bad.len, "case 43", 7);
	assert_non_null(p);
	p[5] = '9';
	submit(x, T_FEED, &bad);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_FORGED), 2);
	/* a source without a key */
	submit(x, "nobody", &m2);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_UNTRUSTED), 1);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_ACCEPTED), 1);
	assert_int_equal(hub_state_pending(x->st), 0);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.50", &r), 0);
	assert_int_equal(r.action, PROTO_ACT_ALLOW);

	/* the genuine serial 2 still goes through */
	submit(x, T_FEED, &m2);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_ACCEPTED), 2);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.50", &r), 0);
	assert_int_equal(r.action, PROTO_ACT_TAG);

	/* serial 1 again, in the open batch: refused, the tag stays */
	submit(x, T_FEED, &m1);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_REPLAY), 1);
	assert_int_equal(hub_state_pending(x->st), 1);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.50", &r), 0);
	assert_int_equal(r.action, PROTO_ACT_TAG);
	assert_int_equal(flush(x), 1);
	/* and after the commit */
	submit(x, T_FEED, &m2);
	submit(x, T_FEED, &m1);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_REPLAY), 3);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_ACCEPTED), 2);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_RECORDS), 2);
	assert_int_equal(hub_state_pending(x->st), 0);
	assert_int_equal(flush(x), 0);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.50", &r), 0);
	assert_int_equal(r.action, PROTO_ACT_TAG);
	assert_int_equal(hub_metrics_get(HUB_M_RULE_RECORDS), 0);
	mx_buf_fini(&m1);
	mx_buf_fini(&m2);
	mx_buf_fini(&bad);
	recs_free(&rs);
}

/*
 * 7. A batch whose edge id or POP disagrees with its topic is refused and
 * counts nothing; the same batch twice counts once; another edge's batch
 * with the same seq counts. With rule_trap_hits = 2 the record appears
 * only with the second genuine hit, and the counters hold exactly two.
 */
static void
test_mismatched_refused_duplicate_counted_once(void **state)
{
	struct fix *x = *state;
	struct proto_event *e = evs_new(1);
	struct proto_record r;
	struct hub_ctr_opts o;
	struct hub_ctr *ctr = NULL;
	struct hub_ctr_val v;
	uint8_t key[16];
	size_t klen;
	char path[600];

	x->c->rule_trap_hits = 2;
	ev_trap(e, "192.0.2.60", x->t0);
	tel_raw(x, T_POP, T_EDGE, 5, 7, T_POP, "edge-2", e, 1, x->t0);
	assert_int_equal(hub_metrics_get(HUB_M_BAD_TELEMETRY), 1);
	tel_raw(x, T_POP, T_EDGE, 5, 7, "pop-b", T_EDGE, e, 1, x->t0);
	assert_int_equal(hub_metrics_get(HUB_M_BAD_TELEMETRY), 2);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_BATCHES), 0);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_EVENTS), 0);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_DROPPED), 0);

	tel_raw(x, T_POP, T_EDGE, 5, 7, T_POP, T_EDGE, e, 1, x->t0);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_EVENTS), 1);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_DROPPED), 7);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_DUP), 0);
	tel_raw(x, T_POP, T_EDGE, 5, 7, T_POP, T_EDGE, e, 1, x->t0);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_DUP), 1);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_EVENTS), 1);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_DROPPED), 7);
	assert_int_equal(hub_metrics_get(HUB_M_BAD_TELEMETRY), 2);
	assert_int_equal(
	    get_rec(x, PROTO_KIND_IP, "192.0.2.60", &r), MX_ENOTFOUND);

	/* the dedup is per edge: edge-2's seq 5 is its own */
	tel_raw(x, T_POP, "edge-2", 5, 0, T_POP, "edge-2", e, 1, x->t0);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_EVENTS), 2);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_DUP), 1);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.60", &r), 0);
	assert_text(r.reason, r.reason_len, "spam-trap hits 2.0");
	assert_int_equal(flush(x), 1);
	free(e);

	/* the counters themselves: two hits, one POP */
	hub_ingest_close(x->g);
	x->g = NULL;
	memset(&o, 0, sizeof(o));
	o.map_bytes = T_MAP;
	o.half_life_ms = T_HL;
	o.no_sync = 1;
	snprintf(path, sizeof(path), "%s/counters", x->dir);
	assert_int_equal(hub_ctr_open(path, &o, &ctr), 0);
	assert_int_equal(
	    proto_key_ip("192.0.2.60", strlen("192.0.2.60"), key, &klen), 0);
	assert_int_equal(hub_ctr_get(ctr, HUB_CK_IP, key, klen, x->t0, &v), 0);
	assert_true(v.v[HUB_CF_TRAP] == 2.0);
	assert_true(v.v[HUB_CF_VOLUME] == 2.0);
	assert_true(v.v[HUB_CF_REJECT] == 2.0);
	/* for an IP, POPs count only where it got unknown-user answers */
	assert_true(v.distinct[HUB_CS_POPS] < 0.5);
	hub_ctr_close(ctr);
	assert_int_equal(
	    hub_ingest_open(x->c, x->st, &x->g, path, sizeof(path)), 0);
}

/*
 * 8. Decay at rule_trap_hits = 2: one hit, nothing; a second one
 * half-life later makes 1.5, nothing; a third at once makes 2.5, a
 * record. Two hits at once make a record.
 */
static void
test_decay_needs_hits_close_together(void **state)
{
	struct fix *x = *state;
	struct proto_record r;

	x->c->rule_trap_hits = 2;
	trap(x, "192.0.2.70", x->t0);
	assert_int_equal(
	    get_rec(x, PROTO_KIND_IP, "192.0.2.70", &r), MX_ENOTFOUND);
	trap(x, "192.0.2.70", x->t0 + T_HL);
	assert_int_equal(
	    get_rec(x, PROTO_KIND_IP, "192.0.2.70", &r), MX_ENOTFOUND);
	trap(x, "192.0.2.70", x->t0 + T_HL);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.70", &r), 0);
	assert_text(r.reason, r.reason_len, "spam-trap hits 2.5");

	trap(x, "192.0.2.71", x->t0);
	assert_int_equal(
	    get_rec(x, PROTO_KIND_IP, "192.0.2.71", &r), MX_ENOTFOUND);
	trap(x, "192.0.2.71", x->t0);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.71", &r), 0);
	assert_text(r.reason, r.reason_len, "spam-trap hits 2.0");
	assert_int_equal(hub_metrics_get(HUB_M_RULE_RECORDS), 2);
}

/*
 * 9. Restart: the epoch stays, the seq continues, records, feed serials
 * and counters survive, the audit log is appended to.
 */
static void
test_restart_continues_stream(void **state)
{
	struct fix *x = *state;
	struct proto_event *e = evs_new(1);
	struct proto_record rec, r;
	struct proto_batch_hdr h;
	struct recs rs = {0};
	struct mx_buf m1;
	char line[2048];
	uint64_t epoch;

	mx_buf_init(&m1, PROTO_MSG_MAX);
	trap(x, "192.0.2.80", x->t0);
	rec = rec_ip("192.0.2.81", PROTO_ACT_ALLOW, 0, PROTO_OP_PUT, "ok");
	feed_msg(x, &m1, 1, &rec, 1);
	submit(x, T_FEED, &m1);
	ev_base(e, "192.0.2.82", x->t0);
	e->rcpt_unknown = 9;
	tel1(x, e, x->t0);
	assert_int_equal(flush(x), 1);
	epoch = hub_state_epoch(x->st);
	assert_int_equal(hub_state_seq(x->st), 1);

	close_hub(x);
	hub_metrics_set(HUB_M_SEQ, 0);
	hub_metrics_set(HUB_M_EPOCH, 0);
	assert_int_equal(open_hub(x), 0);
	assert_int_equal(hub_state_epoch(x->st), epoch);
	assert_int_equal(hub_state_seq(x->st), 1);
	assert_int_equal(hub_metrics_get(HUB_M_SEQ), 1);
	assert_int_equal(hub_metrics_get(HUB_M_EPOCH), (int64_t)epoch);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.80", &r), 0);
	assert_text(r.source, r.source_len, "rule:trap");
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.81", &r), 0);
	assert_text(r.source, r.source_len, T_FEED);

	/* the feed serial survived */
	submit(x, T_FEED, &m1);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_REPLAY), 1);
	/* the counters survived: the tenth unknown recipient (at the same
	 * instant: no decay) fires */
	ev_base(e, "192.0.2.82", x->t0);
	e->rcpt_unknown = 1;
	tel1(x, e, x->t0);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.82", &r), 0);
	assert_text(r.source, r.source_len, "rule:dict");
	trap(x, "192.0.2.83", x->t0 + 1000);

	assert_int_equal(flush(x), 1);
	assert_int_equal(hub_state_seq(x->st), 2);
	open_signed(x, &x->caps[1], PROTO_MSG_UPDATE, &h, &rs);
	assert_int_equal(h.epoch, epoch);
	assert_int_equal(h.seq, 2);
	assert_int_equal(rs.n, 2);
	assert_int_equal(
	    audit_lines(x, "kind=ip key=192.0.2.80 ", line, sizeof(line)), 1);
	assert_has(line, " seq=1 ");
	assert_int_equal(
	    audit_lines(x, "kind=ip key=192.0.2.83 ", line, sizeof(line)), 1);
	assert_has(line, " seq=2 ");
	free(e);
	mx_buf_fini(&m1);
	recs_free(&rs);
}

/*
 * 10a. Snapshot of a few records of two kinds and two sources: one
 * retained chunk, verifying, at the committed seq, holding exactly the
 * committed live records (a pending change is not in it).
 */
static void
test_snapshot_holds_live_records(void **state)
{
	struct fix *x = *state;
	static const char *const ips[] = {
	    "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"};
	struct proto_record rec, want[6];
	struct proto_batch_hdr h;
	struct recs rs = {0};
	struct mx_buf m;
	const struct cap *k;
	char topic[PROTO_TOPIC_MAX];
	int seen[6] = {0};
	size_t i, j;

	for (i = 0; i < 4; i++)
		trap(x, ips[i], x->t0);
	mx_buf_init(&m, PROTO_MSG_MAX);
	rec = rec_ip("192.0.2.90", PROTO_ACT_ALLOW, 0, PROTO_OP_PUT, "ok");
	feed_msg(x, &m, 1, &rec, 1);
	submit(x, T_FEED, &m);
	mx_buf_fini(&m);
	assert_int_equal(flush(x), 1);
	for (i = 0; i < 4; i++)
		assert_int_equal(
		    get_rec(x, PROTO_KIND_IP, ips[i], &want[i]), 0);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.90", &want[4]), 0);
	assert_int_equal(
	    get_rec(x, PROTO_KIND_NET, "198.51.100.0/24", &want[5]), 0);
	/* pending, not committed: not in the snapshot */
	trap(x, "192.0.2.91", x->t0);
	assert_int_equal(hub_state_pending(x->st), 1);

	assert_int_equal(hub_state_snapshot(x->st, capture, x), 0);
	assert_int_equal(x->n_caps, 2);
	k = &x->caps[1];
	assert_int_equal(
	    proto_topic_snapshot(topic, sizeof(topic), T_HUB, 0), 0);
	assert_string_equal(k->topic, topic);
	assert_string_equal(k->topic, "mxs/v1/snapshot/" T_HUB "/0");
	assert_int_equal(k->retain, 1);
	open_signed(x, k, PROTO_MSG_SNAPSHOT, &h, &rs);
	assert_int_equal(h.epoch, hub_state_epoch(x->st));
	assert_int_equal(h.seq, hub_state_seq(x->st));
	assert_int_equal(h.seq, 1);
	assert_int_equal(h.index, 0);
	assert_int_equal(h.count, 1);
	assert_true(h.snap_id > 0);
	assert_int_equal(rs.n, 6);
	for (i = 0; i < rs.n; i++) {
		for (j = 0; j < 6; j++)
			if (rs.r[i].kind == want[j].kind &&
			    rs.r[i].key_len == want[j].key_len &&
			    memcmp(rs.r[i].key, want[j].key, want[j].key_len) ==
			        0)
				break;
		assert_true(j < 6);
		assert_int_equal(seen[j], 0);
		seen[j] = 1;
		assert_same_rec(&rs.r[i], &want[j]);
	}
	assert_int_equal(hub_metrics_get(HUB_M_SNAPSHOTS), 1);
	assert_int_equal(hub_metrics_get(HUB_M_SNAPSHOT_RECORDS), 6);
	recs_free(&rs);
}

/* an empty hub's snapshot is one retained chunk without records */
static void
test_snapshot_of_empty_hub_is_one_empty_chunk(void **state)
{
	struct fix *x = *state;
	struct proto_batch_hdr h;
	struct recs rs = {0};

	assert_int_equal(hub_state_snapshot(x->st, capture, x), 0);
	assert_int_equal(x->n_caps, 1);
	assert_string_equal(x->caps[0].topic, "mxs/v1/snapshot/" T_HUB "/0");
	assert_int_equal(x->caps[0].retain, 1);
	open_signed(x, &x->caps[0], PROTO_MSG_SNAPSHOT, &h, &rs);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.index, 0);
	assert_int_equal(h.seq, 0);
	assert_int_equal(h.epoch, hub_state_epoch(x->st));
	assert_int_equal(rs.n, 0);
	recs_free(&rs);
}

/* big_ip - the i-th address of the big snapshot test */
static void
big_ip(size_t i, char *out, size_t outlen)
{
	snprintf(out, outlen, "10.0.%zu.%zu", i / 250, i % 250 + 1);
}

/* big_index - the i of a big_ip key, or -1 */
static long
big_index(const struct proto_record *r)
{
	if (r->kind != PROTO_KIND_IP || r->key_len != 4 || r->key[0] != 10 ||
	    r->key[1] != 0 || r->key[3] < 1 || r->key[3] > 250)
		return -1;
	return (long)r->key[2] * 250 + r->key[3] - 1;
}

/*
 * check_big_snapshot - the captures from `first` are a snapshot of the
 * big records [lo, T_BIG) in `chunks` chunks, then `clears` empty
 * retained payloads; returns its snapshot id
 */
static uint64_t
check_big_snapshot(
    struct fix *x, size_t first, uint32_t chunks, uint32_t clears, size_t lo)
{
	struct proto_batch_hdr h;
	struct recs rs = {0};
	char topic[PROTO_TOPIC_MAX];
	char *seen = calloc(T_BIG, 1);
	uint64_t snap_id = 0;
	size_t i, before;
	uint32_t n;

	assert_non_null(seen);
	assert_int_equal(x->n_caps - first, chunks + clears);
	for (n = 0; n < chunks; n++) {
		const struct cap *k = &x->caps[first + n];

		assert_int_equal(
		    proto_topic_snapshot(topic, sizeof(topic), T_HUB, n), 0);
		assert_string_equal(k->topic, topic);
		assert_int_equal(k->retain, 1);
		before = rs.n;
		open_signed(x, k, PROTO_MSG_SNAPSHOT, &h, &rs);
		if (n == 0)
			snap_id = h.snap_id;
		assert_int_equal(h.snap_id, snap_id);
		assert_int_equal(h.index, n);
		assert_int_equal(h.count, chunks);
		assert_int_equal(h.seq, hub_state_seq(x->st));
		assert_int_equal(h.epoch, hub_state_epoch(x->st));
		assert_true(rs.n - before <= HUB_BATCH_RECORDS);
	}
	assert_int_equal(rs.n, T_BIG - lo);
	for (i = 0; i < rs.n; i++) {
		long b = big_index(&rs.r[i]);

		assert_true(b >= (long)lo && b < T_BIG);
		assert_int_equal(seen[b], 0);
		seen[b] = 1;
		assert_live(x, &rs.r[i]);
	}
	for (n = chunks; n < chunks + clears; n++) {
		const struct cap *k = &x->caps[first + n];

		assert_int_equal(
		    proto_topic_snapshot(topic, sizeof(topic), T_HUB, n), 0);
		assert_string_equal(k->topic, topic);
		assert_int_equal(k->retain, 1);
		assert_int_equal(k->len, 0);
	}
	free(seen);
	recs_free(&rs);
	return snap_id;
}

/*
 * 10b. More than HUB_BATCH_RECORDS records: the flush publishes batches
 * of at most HUB_BATCH_RECORDS with consecutive seqs; the snapshot has
 * ceil(n / HUB_BATCH_RECORDS) chunks whose count says so, together
 * exactly the live records. After most are revoked, the next snapshot is
 * one chunk and clears the two chunks left from the bigger one.
 */
static void
test_snapshot_chunks_over_batch_size(void **state)
{
	struct fix *x = *state;
	struct proto_event *e = evs_new(500);
	struct proto_record *dels;
	struct proto_batch_hdr h;
	struct recs rs = {0};
	struct mx_buf m;
	char ip[32], line[2048];
	size_t i, b, first;
	uint64_t snap1, snap2;

	x->c->rule_net_bad_ips = 0;
	for (b = 0; b < T_BIG / 500; b++) {
		for (i = 0; i < 500; i++) {
			big_ip(b * 500 + i, ip, sizeof(ip));
			ev_trap(&e[i], ip, x->t0);
		}
		tel(x, e, 500, x->t0);
	}
	free(e);
	assert_int_equal(hub_metrics_get(HUB_M_RULE_RECORDS), T_BIG);
	assert_int_equal(flush(x), 3);
	assert_int_equal(hub_state_seq(x->st), 3);
	for (i = 0; i < 3; i++) {
		size_t before = rs.n;

		open_signed(x, &x->caps[i], PROTO_MSG_UPDATE, &h, &rs);
		assert_int_equal(h.seq, i + 1);
		assert_int_equal(
		    rs.n - before, i < 2 ? HUB_BATCH_RECORDS : 500);
	}
	assert_int_equal(rs.n, T_BIG);
	recs_free(&rs);

	first = x->n_caps;
	assert_int_equal(hub_state_snapshot(x->st, capture, x), 0);
	snap1 = check_big_snapshot(x, first, 3, 0, 0);
	assert_int_equal(hub_metrics_get(HUB_M_SNAPSHOT_RECORDS), T_BIG);

	/* the analyst revokes the first T_BIG_DEL */
	dels = calloc(T_BIG_DEL, sizeof(*dels));
	assert_non_null(dels);
	for (i = 0; i < T_BIG_DEL; i++) {
		big_ip(i, ip, sizeof(ip));
		dels[i] = rec_ip(ip, PROTO_ACT_REJECT, 0, PROTO_OP_DEL, "fp");
	}
	mx_buf_init(&m, PROTO_MSG_MAX);
	feed_msg(x, &m, 1, dels, T_BIG_DEL);
	submit(x, T_FEED, &m);
	mx_buf_fini(&m);
	free(dels);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_ACCEPTED), 1);
	assert_int_equal(flush(x), 2);
	assert_int_equal(hub_state_seq(x->st), 5);
	assert_int_equal(
	    audit_lines(x, " op=del ", line, sizeof(line)), T_BIG_DEL);
	assert_has(line, "by=feed:analyst/alice");
	assert_has(line, "source=analyst ");

	first = x->n_caps;
	assert_int_equal(hub_state_snapshot(x->st, capture, x), 0);
	snap2 = check_big_snapshot(x, first, 1, 2, T_BIG_DEL);
	assert_true(snap2 > snap1);
	assert_int_equal(
	    hub_metrics_get(HUB_M_SNAPSHOT_RECORDS), T_BIG - T_BIG_DEL);
}

/*
 * A feed body that names another source, or a feed body signed as
 * another message type, is malformed: nothing is applied and its serial
 * is not consumed.
 */
static void
test_feed_malformed_applies_nothing(void **state)
{
	struct fix *x = *state;
	struct proto_record rec, r;
	struct mx_buf m;

	mx_buf_init(&m, PROTO_MSG_MAX);
	rec = rec_ip("192.0.2.55", PROTO_ACT_REJECT, 5, PROTO_OP_PUT, "x");
	feed_msg_as(x, &m, "analyst2", PROTO_MSG_FEED, 1, &rec, 1);
	submit(x, T_FEED, &m);
	assert_int_equal(hub_metrics_get(HUB_M_BAD_FEED), 1);
	feed_msg_as(x, &m, T_FEED, PROTO_MSG_UPDATE, 1, &rec, 1);
	submit(x, T_FEED, &m);
	assert_int_equal(hub_metrics_get(HUB_M_BAD_FEED), 2);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_FORGED), 0);
	assert_int_equal(hub_state_pending(x->st), 0);
	assert_int_equal(
	    get_rec(x, PROTO_KIND_IP, "192.0.2.55", &r), MX_ENOTFOUND);
	assert_int_equal(hub_state_feed_serial(x->st, T_FEED), 0);
	feed_msg(x, &m, 1, &rec, 1);
	submit(x, T_FEED, &m);
	assert_int_equal(hub_metrics_get(HUB_M_FEED_ACCEPTED), 1);
	assert_int_equal(hub_state_feed_serial(x->st, T_FEED), 1);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.55", &r), 0);
	mx_buf_fini(&m);
}

/*
 * More changes in one window than the pending queue holds: the change
 * that finds it full flushes it to the publisher first; nothing is lost,
 * every batch has at most HUB_BATCH_RECORDS records and the seqs run on.
 */
static void
test_full_pending_queue_forces_flush(void **state)
{
	struct fix *x = *state;
	struct proto_event *e = evs_new(1000);
	struct proto_batch_hdr h;
	struct recs rs = {0};
	char *seen = calloc(T_QUEUE, 1);
	char ip[32];
	size_t i, b, n;

	assert_non_null(seen);
	x->c->rule_net_bad_ips = 0;
	for (b = 0; b * 1000 < T_QUEUE; b++) {
		n = T_QUEUE - b * 1000 < 1000 ? T_QUEUE - b * 1000 : 1000;
		for (i = 0; i < n; i++) {
			big_ip(b * 1000 + i, ip, sizeof(ip));
			ev_trap(&e[i], ip, x->t0);
		}
		tel(x, e, n, x->t0);
	}
	free(e);
	assert_int_equal(hub_metrics_get(HUB_M_RULE_RECORDS), T_QUEUE);
	assert_true(x->n_caps > 0); /* forced before the window ended */
	assert_true(hub_state_pending(x->st) < T_QUEUE);
	flush(x);
	assert_int_equal(hub_state_seq(x->st), x->n_caps);
	for (i = 0; i < x->n_caps; i++) {
		size_t before = rs.n;

		open_signed(x, &x->caps[i], PROTO_MSG_UPDATE, &h, &rs);
		assert_int_equal(h.seq, i + 1);
		assert_true(rs.n - before <= HUB_BATCH_RECORDS);
	}
	assert_int_equal(rs.n, T_QUEUE);
	for (i = 0; i < rs.n; i++) {
		long k = big_index(&rs.r[i]);

		assert_true(k >= 0 && k < T_QUEUE);
		assert_int_equal(seen[k], 0);
		seen[k] = 1;
		assert_live(x, &rs.r[i]);
	}
	assert_int_equal(hub_metrics_get(HUB_M_PENDING_FULL), 0);
	assert_int_equal(hub_metrics_get(HUB_M_STORE_ERRORS), 0);
	assert_int_equal(hub_metrics_get(HUB_M_RECORDS_OUT), T_QUEUE);
	free(seen);
	recs_free(&rs);
}

/*
 * BUG, fails until hub_ingest.c changes: a threshold of N is reached by N
 * hits a second apart. The rules compare the decayed sum with only 1e-9
 * of slack, so with half_life 1h two trap hits 1 s apart sum to 1.9998,
 * under rule_trap_hits = 2, and no record is made.
 */
static void
test_trap_threshold_reached_by_hits_seconds_apart(void **state)
{
	struct fix *x = *state;
	struct proto_record r;

	x->c->rule_trap_hits = 2;
	trap(x, "192.0.2.100", x->t0);
	trap(x, "192.0.2.100", x->t0 + 1000);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.100", &r), 0);
	assert_text(r.source, r.source_len, "rule:trap");
}

/*
 * BUG, fails until hub_ingest.c changes: four addresses of a /24 listed
 * by rules a second apart make the /24 record (docs/hub.md: "4 IPs of
 * one /24 got a rule record"). The net's decayed count is 3.9988 < 4,
 * so today the net is listed only at the fifth address.
 */
static void
test_net_threshold_reached_by_listings_seconds_apart(void **state)
{
	struct fix *x = *state;
	struct proto_record r;

	trap(x, "203.0.113.1", x->t0);
	trap(x, "203.0.113.2", x->t0 + 1000);
	trap(x, "203.0.113.3", x->t0 + 2000);
	trap(x, "203.0.113.4", x->t0 + 3000);
	assert_int_equal(hub_metrics_get(HUB_M_RULE_RECORDS) >= 4, 1);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "203.0.113.4", &r), 0);
	assert_int_equal(get_rec(x, PROTO_KIND_NET, "203.0.113.0/24", &r), 0);
	assert_text(r.source, r.source_len, "rule:net");
}

/*
 * BUG, fails until hub_ingest.c changes.
 * A recipient of a valid event with a long domain (16-byte hash + 250
 * bytes, within protocol.md's limits) is no counter store failure:
 * mxhub_counter_refused_total{reason="error"} stays 0.
 */
static void
test_long_rcpt_domain_is_no_counter_error(void **state)
{
	struct fix *x = *state;
	struct proto_event *e = evs_new(1);
	struct proto_record r;
	char dom[251];

	/* 62 + 1 + 62 + 1 + 62 + 1 + 61 = 250 bytes, labels of a-z */
	memset(dom, 'a', sizeof(dom));
	dom[62] = dom[125] = dom[188] = '.';
	dom[250] = '\0';
	ev_trap(e, "192.0.2.95", x->t0);
	e->rcpts[0].domain.p = (const uint8_t *)dom;
	e->rcpts[0].domain.len = 250;
	tel1(x, e, x->t0);
	free(e);
	assert_int_equal(hub_metrics_get(HUB_M_TEL_EVENTS), 1);
	assert_int_equal(get_rec(x, PROTO_KIND_IP, "192.0.2.95", &r), 0);
	assert_int_equal(hub_metrics_get(HUB_M_CTR_ERRORS), 0);
}

/*
 * test_fp_rule_lists_every_band_with_the_signature - one band key seen
 * from rule_fp_sources sources with a trap hit makes every band of the
 * event an fp record carrying the compact signature; not before
 */
static void
test_fp_rule_lists_every_band_with_the_signature(void **state)
{
	struct fix *x = *state;
	struct proto_event *e = evs_new(1);
	struct proto_record r;
	uint8_t bands[16][PROTO_FP_KEY_LEN], sig[PROTO_EV_FP_SIG_LEN];
	const char *ips[3] = {"198.51.100.1", "198.51.100.2", "203.0.113.9"};
	size_t i;

	x->c->rule_trap_hits = 0; /* only the fp rule here */
	x->c->rule_fp_sources = 3;
	x->c->rule_fp_traps = 1;
	x->c->act_fp.action = PROTO_ACT_REJECT;
	x->c->act_fp.score = T_SCORE;
	for (i = 0; i < 16; i++)
		memset(bands[i], (int)(0x40 + i), sizeof(bands[i]));
	for (i = 0; i < sizeof(sig); i++)
		sig[i] = (uint8_t)(i * 7);
	for (i = 0; i < 3; i++) {
		size_t b;

		/* the third source also writes to a trap */
		if (i == 2)
			ev_trap(e, ips[i], x->t0 + i);
		else
			ev_base(e, ips[i], x->t0 + i);
		e->n_fps = 16;
		for (b = 0; b < 16; b++) {
			e->fps[b].p = bands[b];
			e->fps[b].len = PROTO_FP_KEY_LEN;
		}
		e->fp_sig.p = sig;
		e->fp_sig.len = sizeof(sig);
		tel1(x, e, x->t0 + i);
		if (i < 2)
			assert_int_equal(hub_state_get(x->st, PROTO_KIND_FP,
			                     bands[0], PROTO_FP_KEY_LEN, &r),
			    MX_ENOTFOUND);
	}
	for (i = 0; i < 16; i++) {
		assert_int_equal(hub_state_get(x->st, PROTO_KIND_FP, bands[i],
		                     PROTO_FP_KEY_LEN, &r),
		    0);
		assert_int_equal(r.action, PROTO_ACT_REJECT);
		assert_int_equal(r.data_len, sizeof(sig));
		assert_memory_equal(r.data, sig, sizeof(sig));
		assert_int_equal(r.source_len, strlen("rule:fp"));
		assert_memory_equal(r.source, "rule:fp", r.source_len);
	}
	assert_int_equal(flush(x), 1);
	assert_int_equal(hub_metrics_get(HUB_M_RECORDS_OUT), 16);
	/* the same evidence again: fresh records, nothing new */
	tel1(x, e, x->t0 + 10);
	assert_int_equal(flush(x), 0);
	free(e);
}

/* rcpt_ev - one answer for t_rcpt_hash @ domain from ip */
static void
rcpt_ev(struct proto_event *e, const char *ip, uint64_t ts, const char *dom,
    uint8_t result)
{
	ev_base(e, ip, ts);
	e->n_rcpts = 1;
	e->rcpts[0].hash.p = (const uint8_t *)t_rcpt_hash;
	e->rcpts[0].hash.len = 16;
	e->rcpts[0].domain.p = (const uint8_t *)dom;
	e->rcpts[0].domain.len = strlen(dom);
	e->rcpts[0].result = result;
	if (result == PROTO_RCPT_UNKNOWN)
		e->rcpt_unknown = 1;
	else
		e->rcpt_ok = 1;
}

/*
 * test_rcpt_directory_lists_and_revokes - rule_rcpt_unknown unknown
 * answers list "(u)HEX@domain" (rcpt-policy reject, rule_rcpt_ttl); an
 * accepted answer revokes it; a domain that is not one lists nothing
 */
static void
test_rcpt_directory_lists_and_revokes(void **state)
{
	struct fix *x = *state;
	struct proto_event *e = evs_new(1);
	struct proto_record r;
	char key[128];
	size_t i, o = 3;

	x->c->rule_rcpt_unknown = 2;
	x->c->rule_rcpt_ttl = 3600000;
	memcpy(key, "(u)", 3);
	for (i = 0; i < 16; i++)
		o += (size_t)snprintf(key + o, sizeof(key) - o, "%02x",
		    (unsigned char)t_rcpt_hash[i]);
	o += (size_t)snprintf(key + o, sizeof(key) - o, "@example.net");
	rcpt_ev(e, "192.0.2.80", x->t0, "example.net", PROTO_RCPT_UNKNOWN);
	tel1(x, e, x->t0);
	assert_int_equal(hub_state_get(x->st, PROTO_KIND_RCPT_POLICY,
	                     (const uint8_t *)key, o, &r),
	    MX_ENOTFOUND);
	rcpt_ev(e, "192.0.2.81", x->t0 + 1, "example.net", PROTO_RCPT_UNKNOWN);
	tel1(x, e, x->t0 + 1);
	assert_int_equal(hub_state_get(x->st, PROTO_KIND_RCPT_POLICY,
	                     (const uint8_t *)key, o, &r),
	    0);
	assert_int_equal(r.action, PROTO_ACT_REJECT);
	assert_int_equal(r.expires, (x->t0 + 1) / 1000 + 3600);
	assert_memory_equal(r.source, "rule:rcpt", r.source_len);
	assert_int_equal(flush(x), 1);
	/* the destination accepts it somewhere: revoked at once */
	rcpt_ev(e, "192.0.2.82", x->t0 + 2, "example.net", PROTO_RCPT_OK);
	tel1(x, e, x->t0 + 2);
	assert_int_equal(hub_state_get(x->st, PROTO_KIND_RCPT_POLICY,
	                     (const uint8_t *)key, o, &r),
	    MX_ENOTFOUND);
	assert_int_equal(flush(x), 1);
	/* hostile domains are not listed and cost nothing */
	rcpt_ev(e, "192.0.2.83", x->t0 + 3, "bad dom\x01", PROTO_RCPT_UNKNOWN);
	tel1(x, e, x->t0 + 3);
	tel1(x, e, x->t0 + 4);
	assert_int_equal(flush(x), 0);
	assert_int_equal(hub_metrics_get(HUB_M_STORE_ERRORS), 0);
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_trap_hit_makes_signed_ip_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_trap_from_v4_mapped_lists_ipv4, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_fresh_record_is_renewed_only_past_half_life, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dict_rule_needs_count_and_ratio, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_proto_rule_fires_at_threshold, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_net_rule_v4_slash24, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_net_rule_v6_slash48, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_analyst_allow_stands_forged_and_replay_refused, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_mismatched_refused_duplicate_counted_once, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_decay_needs_hits_close_together, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_restart_continues_stream, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_snapshot_holds_live_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_snapshot_of_empty_hub_is_one_empty_chunk, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_snapshot_chunks_over_batch_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_feed_malformed_applies_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_full_pending_queue_forces_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_trap_threshold_reached_by_hits_seconds_apart, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_net_threshold_reached_by_listings_seconds_apart, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_long_rcpt_domain_is_no_counter_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_fp_rule_lists_every_band_with_the_signature, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_rcpt_directory_lists_and_revokes, setup, teardown),
	};

	mx_log_open("hub_ingest_test", 1, MX_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
