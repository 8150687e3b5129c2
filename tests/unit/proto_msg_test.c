/*
 * proto_msg_test.c - msgpack message codec and pull reader
 *
 * Round trips of every message type with every field set and with only
 * the required ones; fixed byte vectors that must equal the encoder output
 * and appear in docs/protocol.md; and a crafted input for each decoder
 * error: truncation at every offset, trailing bytes, version, type,
 * limits, huge declared counts, depth, required, duplicate and
 * out-of-order keys, ranges, string maxima, invalid records.
 * Trust: test inputs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "lib/mx_buf.h"
#include "lib/mx_err.h"
#include "proto/proto_mp.h"
#include "proto/proto_msg.h"
#include "proto/proto_record.h"

#define T_S(lit) ((struct proto_str){(const uint8_t *)(lit), sizeof(lit) - 1})
#define T_BODY_MAX (PROTO_MSG_MAX - 74) /* largest signed body */

/*
 * Fixed vectors. The same hex strings are in docs/protocol.md; a change
 * to the wire format must change both (test_docs_carry_every_vector).
 */
static const char t_hex_telemetry[] =
    "9301018500a6656467652d3101a366726102cd04d203cd01000491de001200cf"
    "0000018bcfe56800010102c404c00002070303040c050906ae6d782e6578616d"
    "706c652e6e657407ab6578616d706c652e6e657408a2444509cdfbf40a010b01"
    "0ccd08000d92a372626cab7370616d2d706f6c6963790e91c402face0f91c421"
    "0100000000000000000000000000000000000000000000000000000000000000"
    "001091ab6578616d706c652e6f7267119293c404aabbccddab6578616d706c65"
    "2e636f6d0193c404eeff0011a003";
static const char t_hex_status[] =
    "9301048900a6656467652d3101a3667261020103cf0000018bcfe5680004a530"
    "2e312e3005cd0e10060c07cd0154089193a56875622d6107cd04d2";
static const char t_hex_update[] =
    "8500a56875622d61010702cd04d303cf0000018bcfe5680007928b0001010102"
    "c404c000020703cf0000018bcfe568000404053206ce6553f100070108a36875"
    "6209ae7370616d2d747261702d686974730ac4020102850003010202c40b636f"
    "6d2e6578616d706c6503cf0000018bcfe568000401";
static const char t_hex_snapshot[] =
    "8800a56875622d61010702cd04d303cf0000018bcfe568000463050006020791"
    "840001010102c404c000020703cf0000018bcfe56800";
static const char t_hex_feed[] =
    "8500ad7370616d686175732d64726f7001a6666565642d3102cf0000018bcfe5"
    "680003050491880002010102c40518c633640003cf0000018bcfe56800040405"
    "2806ce6553f10008a464726f70";
static const char t_hex_signed_prefix[] = "940102c4";

/* --- helpers ------------------------------------------------------------ */

/* t_hex - lower-case hex of n bytes into a malloc'd string */
static char *
t_hex(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(n * 2 + 1);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < n; i++) {
		s[i * 2] = digits[p[i] >> 4];
		s[i * 2 + 1] = digits[p[i] & 15];
	}
	s[n * 2] = '\0';
	return s;
}

/* t_unhex - bytes of a hex string into out; returns the byte count */
static size_t
t_unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2, i;

	assert_true(n <= max);
	for (i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + i * 2, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* t_assert_hex - buffer contents equal a hex string */
static void
t_assert_hex(const struct mx_buf *b, const char *hex)
{
	char *got = t_hex(b->data, b->len);

	assert_string_equal(got, hex);
	free(got);
}

/* a crafted-input builder over msgpack-c's sbuffer */
struct t_mp {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

/* t_mp_init - empty builder */
static void
t_mp_init(struct t_mp *t)
{
	msgpack_sbuffer_init(&t->sb);
	msgpack_packer_init(&t->pk, &t->sb, msgpack_sbuffer_write);
}

/* t_mp_fini - release the builder */
static void
t_mp_fini(struct t_mp *t)
{
	msgpack_sbuffer_destroy(&t->sb);
}

/* t_mp_raw - append raw bytes */
static void
t_mp_raw(struct t_mp *t, const void *p, size_t n)
{
	msgpack_sbuffer_write(&t->sb, p, n);
}

/* t_mp_str - a str from a C string */
static void
t_mp_str(struct t_mp *t, const char *s)
{
	msgpack_pack_str_with_body(&t->pk, s, strlen(s));
}

/* t_mp_strn - a str of n copies of c */
static void
t_mp_strn(struct t_mp *t, size_t n, char c)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	msgpack_pack_str_with_body(&t->pk, s, n);
	free(s);
}

/* t_mp_bin - a bin */
static void
t_mp_bin(struct t_mp *t, const void *p, size_t n)
{
	msgpack_pack_bin_with_body(&t->pk, p, n);
}

/* t_mp_u - an unsigned integer */
static void
t_mp_u(struct t_mp *t, uint64_t v)
{
	msgpack_pack_uint64(&t->pk, v);
}

/* t_mp_ku - map key then unsigned value */
static void
t_mp_ku(struct t_mp *t, uint64_t k, uint64_t v)
{
	t_mp_u(t, k);
	t_mp_u(t, v);
}

/* t_mp_kstr - map key then str */
static void
t_mp_kstr(struct t_mp *t, uint64_t k, const char *s)
{
	t_mp_u(t, k);
	t_mp_str(t, s);
}

/* t_mp_env - unsigned envelope header [1, type, (map follows) */
static void
t_mp_env(struct t_mp *t, unsigned type)
{
	msgpack_pack_array(&t->pk, 3);
	t_mp_u(t, PROTO_VERSION);
	t_mp_u(t, type);
}

/* t_mp_event_min - a minimal valid event map with extra entries to come */
static void
t_mp_event_min(struct t_mp *t, size_t extra)
{
	static const uint8_t ip[4] = {192, 0, 2, 7};

	msgpack_pack_map(&t->pk, 4 + extra);
	t_mp_ku(t, 0, 1700000000000ull);
	t_mp_ku(t, 1, PROTO_EV_TXN);
	t_mp_u(t, 2);
	t_mp_bin(t, ip, 4);
	t_mp_ku(t, 3, PROTO_VERDICT_ACCEPT);
}

/* t_mp_tele_head - telemetry envelope and header up to the events key */
static void
t_mp_tele_head(struct t_mp *t)
{
	t_mp_env(t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t->pk, 4);
	t_mp_kstr(t, 0, "edge-1");
	t_mp_kstr(t, 1, "fra");
	t_mp_ku(t, 2, 1);
	t_mp_u(t, 4);
}

/* t_mp_record_ip - a valid ip record map, with extra entries to come */
static void
t_mp_record_ip(struct t_mp *t, size_t extra)
{
	static const uint8_t ip[4] = {192, 0, 2, 7};

	msgpack_pack_map(&t->pk, 4 + extra);
	t_mp_ku(t, 0, PROTO_KIND_IP);
	t_mp_ku(t, 1, PROTO_OP_PUT);
	t_mp_u(t, 2);
	t_mp_bin(t, ip, 4);
	t_mp_ku(t, 3, 1700000000000ull);
}

/* t_mp_update_head - update body header up to the records key */
static void
t_mp_update_head(struct t_mp *t, size_t entries)
{
	msgpack_pack_map(&t->pk, entries);
	t_mp_kstr(t, 0, "hub-a");
	t_mp_ku(t, 1, 7);
	t_mp_ku(t, 2, 1);
	t_mp_ku(t, 3, 1700000000000ull);
}

/* t_tele - decode crafted telemetry, NULL callback */
static int
t_tele(const struct t_mp *t)
{
	struct proto_telemetry_hdr h;

	return proto_telemetry_decode(
	    (const uint8_t *)t->sb.data, t->sb.size, &h, NULL, NULL);
}

/* t_update - decode a crafted update body, NULL callback */
static int
t_update(const struct t_mp *t)
{
	struct proto_batch_hdr h;

	return proto_update_body_decode(
	    (const uint8_t *)t->sb.data, t->sb.size, &h, NULL, NULL);
}

/* t_streq - a view equals a C string */
static void
t_streq(struct proto_str v, const char *s)
{
	assert_int_equal(v.len, strlen(s));
	if (v.len > 0)
		assert_memory_equal(v.p, s, v.len);
}

/* t_vieweq - two views hold the same bytes */
static void
t_vieweq(struct proto_str a, struct proto_str b)
{
	assert_int_equal(a.len, b.len);
	if (a.len > 0)
		assert_memory_equal(a.p, b.p, a.len);
}

/* t_event_eq - every field of two events */
static void
t_event_eq(const struct proto_event *a, const struct proto_event *b)
{
	size_t i;

	assert_int_equal(a->ts_ms, b->ts_ms);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->ip_len, b->ip_len);
	assert_memory_equal(a->ip, b->ip, a->ip_len);
	t_vieweq(a->helo, b->helo);
	t_vieweq(a->sender_domain, b->sender_domain);
	t_vieweq(a->country, b->country);
	assert_int_equal(a->asn, b->asn);
	assert_int_equal(a->rcpt_ok, b->rcpt_ok);
	assert_int_equal(a->rcpt_unknown, b->rcpt_unknown);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->verdict, b->verdict);
	assert_int_equal(a->score, b->score);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->n_reasons, b->n_reasons);
	for (i = 0; i < a->n_reasons; i++)
		t_vieweq(a->reasons[i], b->reasons[i]);
	assert_int_equal(a->n_fps, b->n_fps);
	for (i = 0; i < a->n_fps; i++)
		t_vieweq(a->fps[i], b->fps[i]);
	assert_int_equal(a->n_hashes, b->n_hashes);
	for (i = 0; i < a->n_hashes; i++)
		t_vieweq(a->hashes[i], b->hashes[i]);
	assert_int_equal(a->n_urls, b->n_urls);
	for (i = 0; i < a->n_urls; i++)
		t_vieweq(a->urls[i], b->urls[i]);
	assert_int_equal(a->n_rcpts, b->n_rcpts);
	for (i = 0; i < a->n_rcpts; i++) {
		t_vieweq(a->rcpts[i].hash, b->rcpts[i].hash);
		t_vieweq(a->rcpts[i].domain, b->rcpts[i].domain);
		assert_int_equal(a->rcpts[i].result, b->rcpts[i].result);
	}
	t_vieweq(a->fp_sig, b->fp_sig);
}

/* t_record_eq - every field of two records */
static void
t_record_eq(const struct proto_record *a, const struct proto_record *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->op, b->op);
	assert_int_equal(a->action, b->action);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->score, b->score);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->ts_ms, b->ts_ms);
	assert_int_equal(a->key_len, b->key_len);
	assert_memory_equal(a->key, b->key, a->key_len);
	assert_int_equal(a->source_len, b->source_len);
	assert_memory_equal(a->source, b->source, a->source_len);
	assert_int_equal(a->reason_len, b->reason_len);
	assert_memory_equal(a->reason, b->reason, a->reason_len);
	assert_int_equal(a->data_len, b->data_len);
	assert_memory_equal(a->data, b->data, a->data_len);
}

/* events collected by a telemetry callback */
struct t_evs {
	struct proto_event *ev; /* cap entries */
	size_t cap, n;
	int stop_at;                  /* return 42 at this call, or -1 */
	struct proto_telemetry_hdr h; /* header as seen by the callback */
};

/* t_evs_cb - copy each event; may stop the decoder */
static int
t_evs_cb(void *arg, const struct proto_telemetry_hdr *h,
    const struct proto_event *ev)
{
	struct t_evs *c = arg;

	c->h = *h;
	if ((int)c->n == c->stop_at)
		return 42;
	if (c->n < c->cap)
		c->ev[c->n] = *ev;
	c->n++;
	return 0;
}

/* records collected by a record callback */
struct t_recs {
	struct proto_record *r; /* cap entries */
	size_t cap, n;
	int stop_at;
};

/* t_recs_cb - copy each record; may stop the decoder */
static int
t_recs_cb(void *arg, const struct proto_record *r)
{
	struct t_recs *c = arg;

	if ((int)c->n == c->stop_at)
		return 42;
	if (c->n < c->cap)
		c->r[c->n] = *r;
	c->n++;
	return 0;
}

/* t_evs_new - a collector for up to cap events */
static void
t_evs_new(struct t_evs *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->ev = calloc(cap, sizeof(*c->ev));
	assert_non_null(c->ev);
	c->cap = cap;
	c->stop_at = -1;
}

/* t_recs_new - a collector for up to cap records */
static void
t_recs_new(struct t_recs *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->r = calloc(cap, sizeof(*c->r));
	assert_non_null(c->r);
	c->cap = cap;
	c->stop_at = -1;
}

/* --- fixed examples (the same as in docs/protocol.md) --------------------- */

static const uint8_t t_ip7[4] = {192, 0, 2, 7};
/* a compact fingerprint signature: 128 bytes */
static const uint8_t t_sig128[128] = {1, 2, 3, [127] = 0xfe};
static const uint8_t t_fp[2] = {0xfa, 0xce};
static const uint8_t t_rh1[4] = {0xaa, 0xbb, 0xcc, 0xdd};
static const uint8_t t_rh2[4] = {0xee, 0xff, 0x00, 0x11};
static const uint8_t t_hash33[33] = {PROTO_HASH_BODY};

#define T_TS 1700000000000ull /* 2023-11-14T22:13:20Z in ms */

/* t_example_event - the event of the telemetry vector: every field set */
static void
t_example_event(struct proto_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts_ms = T_TS;
	ev->type = PROTO_EV_TXN;
	ev->ip_len = 4;
	memcpy(ev->ip, t_ip7, 4);
	ev->verdict = PROTO_VERDICT_REJECT;
	ev->score = 12;
	ev->flags = PROTO_EVF_TRAP | PROTO_EVF_TLS;
	ev->helo = T_S("mx.example.net");
	ev->sender_domain = T_S("example.net");
	ev->country = T_S("DE");
	ev->asn = 64500;
	ev->rcpt_ok = 1;
	ev->rcpt_unknown = 1;
	ev->size = 2048;
	ev->n_reasons = 2;
	ev->reasons[0] = T_S("rbl");
	ev->reasons[1] = T_S("spam-policy");
	ev->n_fps = 1;
	ev->fps[0] = (struct proto_str){t_fp, sizeof(t_fp)};
	ev->n_hashes = 1;
	ev->hashes[0] = (struct proto_str){t_hash33, sizeof(t_hash33)};
	ev->n_urls = 1;
	ev->urls[0] = T_S("example.org");
	ev->n_rcpts = 2;
	ev->rcpts[0].hash = (struct proto_str){t_rh1, sizeof(t_rh1)};
	ev->rcpts[0].domain = T_S("example.com");
	ev->rcpts[0].result = PROTO_RCPT_OK;
	ev->rcpts[1].hash = (struct proto_str){t_rh2, sizeof(t_rh2)};
	ev->rcpts[1].domain = T_S("");
	ev->rcpts[1].result = PROTO_RCPT_TRAP;
}

/* t_example_tele_hdr - header of the telemetry vector */
static void
t_example_tele_hdr(struct proto_telemetry_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->edge_id = T_S("edge-1");
	h->pop = T_S("fra");
	h->seq = 1234;
	h->dropped = 256;
}

/* t_example_status - the status vector: every field set */
static void
t_example_status(struct proto_status *st)
{
	memset(st, 0, sizeof(*st));
	st->edge_id = T_S("edge-1");
	st->pop = T_S("fra");
	st->state = PROTO_EDGE_ONLINE;
	st->ts_ms = T_TS;
	st->version = T_S("0.1.0");
	st->uptime_s = 3600;
	st->sessions = 12;
	st->msgs_per_min = 340;
	st->n_hubs = 1;
	st->hubs[0].hub_id = T_S("hub-a");
	st->hubs[0].epoch = 7;
	st->hubs[0].seq = 1234;
}

/* t_example_rec_ip - an ip record with every field set */
static void
t_example_rec_ip(struct proto_record *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = PROTO_KIND_IP;
	r->op = PROTO_OP_PUT;
	r->key_len = 4;
	memcpy(r->key, t_ip7, 4);
	r->ts_ms = T_TS;
	r->action = PROTO_ACT_REJECT;
	r->score = 50;
	r->expires = 1700000000;
	r->flags = PROTO_RF_OBSERVE;
	proto_record_set_text(r, "hub", "spam-trap-hits");
	r->data_len = 2;
	r->data[0] = 0x01;
	r->data[1] = 0x02;
}

/* t_example_rec_domain - a domain deletion, required fields only */
static void
t_example_rec_domain(struct proto_record *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = PROTO_KIND_DOMAIN;
	r->op = PROTO_OP_DEL;
	r->key_len = 11;
	memcpy(r->key, "com.example", 11);
	r->ts_ms = T_TS;
	r->action = PROTO_ACT_ALLOW;
}

/* t_example_rec_net - a net record: 198.51.100.0/24 rejected */
static void
t_example_rec_net(struct proto_record *r)
{
	static const uint8_t key[5] = {24, 198, 51, 100, 0};

	memset(r, 0, sizeof(*r));
	r->kind = PROTO_KIND_NET;
	r->op = PROTO_OP_PUT;
	r->key_len = 5;
	memcpy(r->key, key, 5);
	r->ts_ms = T_TS;
	r->action = PROTO_ACT_REJECT;
	r->score = 40;
	r->expires = 1700000000;
	proto_record_set_text(r, "drop", "");
}

/* t_example_batch - header of the update and snapshot vectors */
static void
t_example_batch(struct proto_batch_hdr *h, bool is_snap)
{
	memset(h, 0, sizeof(*h));
	h->hub_id = T_S("hub-a");
	h->epoch = 7;
	h->seq = 1235;
	h->ts_ms = T_TS;
	if (is_snap) {
		h->snap_id = 99;
		h->index = 0;
		h->count = 2;
	}
}

/* t_example_feed - header of the feed vector */
static void
t_example_feed(struct proto_feed_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->source = T_S("spamhaus-drop");
	h->who = T_S("feed-1");
	h->ts_ms = T_TS;
	h->serial = 5;
}

/* t_sig - the placeholder signature of the signed vector: 0x00..0x3f */
static void
t_sig(uint8_t sig[PROTO_SIG_LEN])
{
	size_t i;

	for (i = 0; i < PROTO_SIG_LEN; i++)
		sig[i] = (uint8_t)i;
}

/* t_enc_telemetry - the telemetry vector into b */
static void
t_enc_telemetry(struct mx_buf *b)
{
	struct proto_telemetry_hdr h;
	struct proto_event ev;

	t_example_tele_hdr(&h);
	t_example_event(&ev);
	assert_int_equal(proto_telemetry_encode(b, &h, &ev, 1), 0);
}

/* t_enc_status - the status vector into b */
static void
t_enc_status(struct mx_buf *b)
{
	struct proto_status st;

	t_example_status(&st);
	assert_int_equal(proto_status_encode(b, &st), 0);
}

/* t_enc_update - the update body vector into b */
static void
t_enc_update(struct mx_buf *b)
{
	struct proto_batch_hdr h;
	struct proto_record r[2];

	t_example_batch(&h, false);
	t_example_rec_ip(&r[0]);
	t_example_rec_domain(&r[1]);
	assert_int_equal(proto_update_body_encode(b, &h, r, 2), 0);
}

/* t_enc_snapshot - the snapshot body vector into b */
static void
t_enc_snapshot(struct mx_buf *b)
{
	struct proto_batch_hdr h;
	struct proto_record r;

	t_example_batch(&h, true);
	memset(&r, 0, sizeof(r));
	r.kind = PROTO_KIND_IP;
	r.op = PROTO_OP_PUT;
	r.key_len = 4;
	memcpy(r.key, t_ip7, 4);
	r.ts_ms = T_TS;
	assert_int_equal(proto_snapshot_body_encode(b, &h, &r, 1), 0);
}

/* t_enc_feed - the feed body vector into b */
static void
t_enc_feed(struct mx_buf *b)
{
	struct proto_feed_hdr h;
	struct proto_record r;

	t_example_feed(&h);
	t_example_rec_net(&r);
	assert_int_equal(proto_feed_body_encode(b, &h, &r, 1), 0);
}

/* t_enc_signed - the signed vector: the update body in its envelope */
static void
t_enc_signed(struct mx_buf *b)
{
	struct mx_buf body;
	uint8_t sig[PROTO_SIG_LEN];

	mx_buf_init(&body, PROTO_MSG_MAX);
	t_enc_update(&body);
	t_sig(sig);
	assert_int_equal(
	    proto_signed_encode(b, PROTO_MSG_UPDATE, body.data, body.len, sig),
	    0);
	mx_buf_fini(&body);
}

/* t_signed_hex - hex of the signed vector, built from the update hex */
static char *
t_signed_hex(void)
{
	uint8_t sig[PROTO_SIG_LEN];
	char *sighex, *s;
	size_t n, blen = strlen(t_hex_update) / 2;

	t_sig(sig);
	sighex = t_hex(sig, sizeof(sig));
	n = strlen(t_hex_signed_prefix) + 2 + strlen(t_hex_update) + 4 +
	    strlen(sighex) + 1;
	s = malloc(n);
	assert_non_null(s);
	assert_true(blen < 256);
	snprintf(s, n, "%s%02zx%sc440%s", t_hex_signed_prefix, blen,
	    t_hex_update, sighex);
	free(sighex);
	return s;
}

/* t_decode_any - run the decoder that fits vector i over (p, n) */
static int
t_decode_any(int i, const uint8_t *p, size_t n)
{
	struct proto_str body, sig;
	unsigned type;

	switch (i) {
	case 0:
		return proto_telemetry_decode(p, n, NULL, NULL, NULL);
	case 1:
		return proto_status_decode(p, n, NULL);
	case 2:
		return proto_update_body_decode(p, n, NULL, NULL, NULL);
	case 3:
		return proto_snapshot_body_decode(p, n, NULL, NULL, NULL);
	case 4:
		return proto_feed_body_decode(p, n, NULL, NULL, NULL);
	default:
		return proto_signed_decode(p, n, &type, &body, &sig);
	}
}

/* t_vector_decodes - the documented bytes decode with decoder i */
static void
t_vector_decodes(int i, const char *hex)
{
	uint8_t *p = malloc(strlen(hex) / 2 + 1);
	size_t n;

	assert_non_null(p);
	n = t_unhex(hex, p, strlen(hex) / 2);
	assert_int_equal(t_decode_any(i, p, n), 0);
	free(p);
}

/* --- fixed byte vectors --------------------------------------------------- */

static void
test_vector_telemetry(void **state)
{
	struct mx_buf b;

	(void)state;
	mx_buf_init(&b, PROTO_MSG_MAX);
	t_enc_telemetry(&b);
	t_assert_hex(&b, t_hex_telemetry);
	mx_buf_fini(&b);
	t_vector_decodes(0, t_hex_telemetry);
}

static void
test_vector_status(void **state)
{
	struct mx_buf b;

	(void)state;
	mx_buf_init(&b, PROTO_MSG_MAX);
	t_enc_status(&b);
	t_assert_hex(&b, t_hex_status);
	mx_buf_fini(&b);
	t_vector_decodes(1, t_hex_status);
}

static void
test_vector_update(void **state)
{
	struct mx_buf b;

	(void)state;
	mx_buf_init(&b, PROTO_MSG_MAX);
	t_enc_update(&b);
	t_assert_hex(&b, t_hex_update);
	mx_buf_fini(&b);
	t_vector_decodes(2, t_hex_update);
}

static void
test_vector_snapshot(void **state)
{
	struct mx_buf b;

	(void)state;
	mx_buf_init(&b, PROTO_MSG_MAX);
	t_enc_snapshot(&b);
	t_assert_hex(&b, t_hex_snapshot);
	mx_buf_fini(&b);
	t_vector_decodes(3, t_hex_snapshot);
}

static void
test_vector_feed(void **state)
{
	struct mx_buf b;

	(void)state;
	mx_buf_init(&b, PROTO_MSG_MAX);
	t_enc_feed(&b);
	t_assert_hex(&b, t_hex_feed);
	mx_buf_fini(&b);
	t_vector_decodes(4, t_hex_feed);
}

static void
test_vector_signed(void **state)
{
	struct mx_buf b;
	char *want = t_signed_hex();

	(void)state;
	mx_buf_init(&b, PROTO_MSG_MAX);
	t_enc_signed(&b);
	t_assert_hex(&b, want);
	mx_buf_fini(&b);
	t_vector_decodes(5, want);
	free(want);
}

/* t_strip_space - copy of s without whitespace */
static char *
t_strip_space(const char *s, size_t n)
{
	char *o = malloc(n + 1);
	size_t i, j = 0;

	assert_non_null(o);
	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r')
			o[j++] = s[i];
	o[j] = '\0';
	return o;
}

static void
test_docs_carry_every_vector(void **state)
{
	const char *src = getenv("MX_SOURCE_DIR");
	char path[4096], *doc, *flat, *sig;
	const char *want[5] = {t_hex_telemetry, t_hex_status, t_hex_update,
	    t_hex_snapshot, t_hex_feed};
	FILE *f;
	long n;
	size_t i;

	(void)state;
	if (src == NULL)
		src = ".";
	assert_true((size_t)snprintf(path, sizeof(path), "%s/docs/protocol.md",
	                src) < sizeof(path));
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	doc = malloc((size_t)n);
	assert_non_null(doc);
	assert_int_equal(fread(doc, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	/* the doc wraps long hex across lines; compare without spaces */
	flat = t_strip_space(doc, (size_t)n);
	for (i = 0; i < 5; i++) {
		if (strstr(flat, want[i]) == NULL)
			fail_msg("docs/protocol.md lacks vector %zu: %s", i,
			    want[i]);
	}
	sig = t_signed_hex();
	if (strstr(flat, sig) == NULL)
		fail_msg("docs/protocol.md lacks the signed vector %s", sig);
	free(sig);
	free(flat);
	free(doc);
}

/* t_read_file - whole file into a malloc'd buffer; *n its size */
static uint8_t *
t_read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long len;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	p = malloc((size_t)len + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return p;
}

static void
test_seed_corpus_valid_and_bad_as_named(void **state)
{
	static const char *const dirs[6] = {"msg_telemetry", "msg_status",
	    "msg_update", "msg_snapshot", "msg_feed", "msg_signed"};
	const char *src = getenv("MX_SOURCE_DIR");
	char path[4096];
	struct dirent *e;
	unsigned seen = 0;
	int i, rc;

	(void)state;
	if (src == NULL)
		src = ".";
	for (i = 0; i < 6; i++) {
		DIR *d;

		assert_true((size_t)snprintf(path, sizeof(path),
		                "%s/tests/fuzz/corpus/%s", src,
		                dirs[i]) < sizeof(path));
		d = opendir(path);
		assert_non_null(d);
		while ((e = readdir(d)) != NULL) {
			bool valid = strncmp(e->d_name, "valid_", 6) == 0;
			uint8_t *p;
			size_t n;

			if (!valid && strncmp(e->d_name, "bad_", 4) != 0)
				continue;
			assert_true((size_t)snprintf(path, sizeof(path),
			                "%s/tests/fuzz/corpus/%s/%s", src,
			                dirs[i], e->d_name) < sizeof(path));
			p = t_read_file(path, &n);
			/* gen_msg_seeds.py encodes with python3-msgpack:
			 * a second encoder agreeing with this decoder */
			rc = t_decode_any(i, p, n);
			if (valid ? rc != 0 : rc == 0)
				fail_msg(
				    "%s/%s gave %d", dirs[i], e->d_name, rc);
			free(p);
			seen++;
		}
		closedir(d);
	}
	assert_true(seen >= 30);
}

/* --- round trips ------------------------------------------------------------
 */

static void
test_telemetry_roundtrip_every_field(void **state)
{
	struct proto_telemetry_hdr h, hd;
	struct proto_event ev[2];
	struct t_evs c;
	struct mx_buf b;

	(void)state;
	t_example_tele_hdr(&h);
	t_example_event(&ev[0]);
	t_example_event(&ev[1]);
	ev[1].type = PROTO_EV_CONN_REFUSED;
	ev[1].ip_len = 16;
	memset(ev[1].ip, 0x20, 16);
	ev[1].score = -7;
	ev[1].size = UINT64_MAX;
	ev[1].asn = UINT32_MAX;
	ev[1].fp_sig = (struct proto_str){t_sig128, sizeof(t_sig128)};
	mx_buf_init(&b, PROTO_MSG_MAX);
	assert_int_equal(proto_telemetry_encode(&b, &h, ev, 2), 0);
	t_evs_new(&c, 2);
	assert_int_equal(
	    proto_telemetry_decode(b.data, b.len, &hd, t_evs_cb, &c), 0);
	assert_int_equal(c.n, 2);
	t_event_eq(&c.ev[0], &ev[0]);
	t_event_eq(&c.ev[1], &ev[1]);
	t_streq(hd.edge_id, "edge-1");
	t_streq(hd.pop, "fra");
	assert_int_equal(hd.seq, 1234);
	assert_int_equal(hd.dropped, 256);
	assert_int_equal(hd.n_events, 2);
	/* the callback saw the header fields (they precede the events) */
	t_streq(c.h.edge_id, "edge-1");
	assert_int_equal(c.h.seq, 1234);
	free(c.ev);
	mx_buf_fini(&b);
}

/* test_telemetry_fp_sig_length - empty or exactly 128 bytes */
static void
test_telemetry_fp_sig_length(void **state)
{
	static const uint8_t tail[] = {0x12, 0xc4, 0x80};
	struct proto_telemetry_hdr h, hd;
	struct proto_event ev;
	struct mx_buf b;
	size_t at;

	(void)state;
	t_example_tele_hdr(&h);
	t_example_event(&ev);
	mx_buf_init(&b, PROTO_MSG_MAX);
	ev.fp_sig = (struct proto_str){t_sig128, sizeof(t_sig128) - 1};
	assert_int_equal(proto_telemetry_encode(&b, &h, &ev, 1), MX_EINVAL);
	assert_int_equal(b.len, 0);
	ev.fp_sig = (struct proto_str){t_sig128, sizeof(t_sig128)};
	assert_int_equal(proto_telemetry_encode(&b, &h, &ev, 1), 0);
	/* the last key of the last event: 18, bin8 of 128; made 127 long
	 * (one byte fewer in the input) it is out of range */
	at = b.len - sizeof(t_sig128) - sizeof(tail);
	assert_memory_equal(b.data + at, tail, sizeof(tail));
	b.data[at + 2] = 0x7f;
	assert_int_equal(
	    proto_telemetry_decode(b.data, b.len - 1, &hd, NULL, NULL),
	    MX_ERANGE);
	/* restored to 128 bytes it decodes */
	b.data[at + 2] = 0x80;
	assert_int_equal(
	    proto_telemetry_decode(b.data, b.len, &hd, NULL, NULL), 0);
	mx_buf_fini(&b);
}

static void
test_telemetry_roundtrip_minimal(void **state)
{
	struct proto_telemetry_hdr h, hd;
	struct proto_event ev;
	struct t_evs c;
	struct mx_buf b;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.edge_id = T_S("e");
	h.pop = T_S("p");
	memset(&ev, 0, sizeof(ev));
	ev.type = PROTO_EV_CONN_REFUSED;
	ev.ip_len = 4;
	mx_buf_init(&b, PROTO_MSG_MAX);
	/* an empty batch still says who sent it */
	assert_int_equal(proto_telemetry_encode(&b, &h, NULL, 0), 0);
	assert_int_equal(
	    proto_telemetry_decode(b.data, b.len, &hd, NULL, NULL), 0);
	assert_int_equal(hd.n_events, 0);
	mx_buf_reset(&b);
	assert_int_equal(proto_telemetry_encode(&b, &h, &ev, 1), 0);
	t_evs_new(&c, 1);
	assert_int_equal(
	    proto_telemetry_decode(b.data, b.len, &hd, t_evs_cb, &c), 0);
	assert_int_equal(c.n, 1);
	t_event_eq(&c.ev[0], &ev);
	assert_int_equal(hd.dropped, 0);
	assert_int_equal(hd.n_events, 1);
	free(c.ev);
	mx_buf_fini(&b);
}

static void
test_telemetry_limits_at_max_pass(void **state)
{
	static uint8_t bytes[PROTO_HELO_MAX];
	struct proto_telemetry_hdr h, hd;
	struct proto_event *ev;
	struct t_evs c;
	struct mx_buf b;
	size_t i;

	(void)state;
	memset(bytes, 'a', sizeof(bytes));
	t_example_tele_hdr(&h);
	h.edge_id = (struct proto_str){bytes, PROTO_ID_MAX};
	h.pop = (struct proto_str){bytes, PROTO_ID_MAX};
	ev = calloc(PROTO_BATCH_EVENTS_MAX, sizeof(*ev));
	assert_non_null(ev);
	for (i = 0; i < PROTO_BATCH_EVENTS_MAX; i++) {
		ev[i].type = PROTO_EV_TXN;
		ev[i].ip_len = 4;
	}
	/* the first event carries every array and string at its maximum */
	ev[0].helo = (struct proto_str){bytes, PROTO_HELO_MAX};
	ev[0].sender_domain = (struct proto_str){bytes, PROTO_DOMAIN_MAX};
	ev[0].country = (struct proto_str){bytes, 2};
	ev[0].n_reasons = PROTO_EV_REASONS_MAX;
	for (i = 0; i < PROTO_EV_REASONS_MAX; i++)
		ev[0].reasons[i] =
		    (struct proto_str){bytes, PROTO_REASON_ID_MAX};
	ev[0].n_fps = PROTO_EV_FPS_MAX;
	for (i = 0; i < PROTO_EV_FPS_MAX; i++)
		ev[0].fps[i] = (struct proto_str){bytes, PROTO_FP_MAX};
	ev[0].n_hashes = PROTO_EV_HASHES_MAX;
	for (i = 0; i < PROTO_EV_HASHES_MAX; i++)
		ev[0].hashes[i] = (struct proto_str){bytes, 64};
	ev[0].n_urls = PROTO_EV_URLS_MAX;
	for (i = 0; i < PROTO_EV_URLS_MAX; i++)
		ev[0].urls[i] = (struct proto_str){bytes, PROTO_DOMAIN_MAX};
	ev[0].n_rcpts = PROTO_EV_RCPTS_MAX;
	for (i = 0; i < PROTO_EV_RCPTS_MAX; i++) {
		ev[0].rcpts[i].hash =
		    (struct proto_str){bytes, PROTO_RCPT_HASH_MAX};
		ev[0].rcpts[i].domain =
		    (struct proto_str){bytes, PROTO_DOMAIN_MAX};
		ev[0].rcpts[i].result = PROTO_RCPT_OTHER;
	}
	mx_buf_init(&b, PROTO_MSG_MAX);
	assert_int_equal(
	    proto_telemetry_encode(&b, &h, ev, PROTO_BATCH_EVENTS_MAX), 0);
	t_evs_new(&c, 1);
	assert_int_equal(
	    proto_telemetry_decode(b.data, b.len, &hd, t_evs_cb, &c), 0);
	assert_int_equal(c.n, PROTO_BATCH_EVENTS_MAX);
	assert_int_equal(hd.n_events, PROTO_BATCH_EVENTS_MAX);
	t_event_eq(&c.ev[0], &ev[0]);
	free(c.ev);

	/* one past each limit: refused by the encoder */
	mx_buf_reset(&b);
	assert_int_equal(
	    proto_telemetry_encode(&b, &h, ev, PROTO_BATCH_EVENTS_MAX + 1),
	    MX_ELIMIT);
	h.edge_id.len = PROTO_ID_MAX + 1;
	assert_int_equal(proto_telemetry_encode(&b, &h, ev, 1), MX_EINVAL);
	h.edge_id.len = PROTO_ID_MAX;
	ev[0].helo.len = PROTO_HELO_MAX + 1;
	assert_int_equal(proto_telemetry_encode(&b, &h, ev, 1), MX_EINVAL);
	ev[0].helo.len = PROTO_HELO_MAX;
	ev[0].n_reasons = PROTO_EV_REASONS_MAX + 1;
	assert_int_equal(proto_telemetry_encode(&b, &h, ev, 1), MX_ELIMIT);
	ev[0].n_reasons = PROTO_EV_REASONS_MAX;
	ev[0].n_rcpts = PROTO_EV_RCPTS_MAX + 1;
	assert_int_equal(proto_telemetry_encode(&b, &h, ev, 1), MX_ELIMIT);
	ev[0].n_rcpts = PROTO_EV_RCPTS_MAX;
	ev[0].fps[3].len = PROTO_FP_MAX + 1;
	assert_int_equal(proto_telemetry_encode(&b, &h, ev, 1), MX_EINVAL);
	assert_int_equal(b.len, 0);
	free(ev);
	mx_buf_fini(&b);
}

static void
test_status_roundtrip(void **state)
{
	struct proto_status st, sd;
	struct mx_buf b;
	size_t i;

	(void)state;
	t_example_status(&st);
	st.n_hubs = PROTO_STATUS_HUBS_MAX;
	for (i = 0; i < PROTO_STATUS_HUBS_MAX; i++) {
		st.hubs[i].hub_id = T_S("hub-x");
		st.hubs[i].epoch = i;
		st.hubs[i].seq = UINT64_MAX - i;
	}
	mx_buf_init(&b, PROTO_MSG_MAX);
	assert_int_equal(proto_status_encode(&b, &st), 0);
	assert_int_equal(proto_status_decode(b.data, b.len, &sd), 0);
	t_streq(sd.edge_id, "edge-1");
	t_streq(sd.pop, "fra");
	t_streq(sd.version, "0.1.0");
	assert_int_equal(sd.state, PROTO_EDGE_ONLINE);
	assert_int_equal(sd.ts_ms, T_TS);
	assert_int_equal(sd.uptime_s, 3600);
	assert_int_equal(sd.sessions, 12);
	assert_int_equal(sd.msgs_per_min, 340);
	assert_int_equal(sd.n_hubs, PROTO_STATUS_HUBS_MAX);
	for (i = 0; i < PROTO_STATUS_HUBS_MAX; i++) {
		t_streq(sd.hubs[i].hub_id, "hub-x");
		assert_int_equal(sd.hubs[i].epoch, i);
		assert_int_equal(sd.hubs[i].seq, UINT64_MAX - i);
	}
	st.n_hubs = PROTO_STATUS_HUBS_MAX + 1;
	mx_buf_reset(&b);
	assert_int_equal(proto_status_encode(&b, &st), MX_ELIMIT);

	/* minimal: the last-will "offline" status */
	memset(&st, 0, sizeof(st));
	st.edge_id = T_S("edge-1");
	st.pop = T_S("fra");
	st.state = PROTO_EDGE_OFFLINE;
	assert_int_equal(proto_status_encode(&b, &st), 0);
	assert_int_equal(proto_status_decode(b.data, b.len, &sd), 0);
	assert_int_equal(sd.state, PROTO_EDGE_OFFLINE);
	assert_int_equal(sd.version.len, 0);
	assert_int_equal(sd.n_hubs, 0);
	assert_int_equal(sd.uptime_s, 0);
	mx_buf_fini(&b);
}

static void
test_update_roundtrip(void **state)
{
	struct proto_batch_hdr h, hd;
	struct proto_record r[2];
	struct t_recs c;
	struct mx_buf b;

	(void)state;
	t_example_batch(&h, false);
	t_example_rec_ip(&r[0]);
	t_example_rec_domain(&r[1]);
	r[1].score = INT32_MIN;
	mx_buf_init(&b, PROTO_MSG_MAX);
	assert_int_equal(proto_update_body_encode(&b, &h, r, 2), 0);
	t_recs_new(&c, 2);
	assert_int_equal(
	    proto_update_body_decode(b.data, b.len, &hd, t_recs_cb, &c), 0);
	assert_int_equal(c.n, 2);
	t_record_eq(&c.r[0], &r[0]);
	t_record_eq(&c.r[1], &r[1]);
	t_streq(hd.hub_id, "hub-a");
	assert_int_equal(hd.epoch, 7);
	assert_int_equal(hd.seq, 1235);
	assert_int_equal(hd.ts_ms, T_TS);
	assert_int_equal(hd.n_records, 2);
	assert_int_equal(hd.snap_id, 0);
	free(c.r);

	/* minimal: an empty batch */
	mx_buf_reset(&b);
	assert_int_equal(proto_update_body_encode(&b, &h, NULL, 0), 0);
	assert_int_equal(
	    proto_update_body_decode(b.data, b.len, &hd, NULL, NULL), 0);
	assert_int_equal(hd.n_records, 0);
	mx_buf_fini(&b);
}

static void
test_update_records_at_limit_pass_one_past_refused(void **state)
{
	struct proto_batch_hdr h, hd;
	struct proto_record *r;
	struct mx_buf b;
	size_t i;

	(void)state;
	r = calloc(PROTO_BATCH_RECORDS_MAX + 1, sizeof(*r));
	assert_non_null(r);
	for (i = 0; i <= PROTO_BATCH_RECORDS_MAX; i++)
		t_example_rec_domain(&r[i]);
	t_example_batch(&h, false);
	mx_buf_init(&b, PROTO_MSG_MAX);
	assert_int_equal(
	    proto_update_body_encode(&b, &h, r, PROTO_BATCH_RECORDS_MAX), 0);
	assert_int_equal(
	    proto_update_body_decode(b.data, b.len, &hd, NULL, NULL), 0);
	assert_int_equal(hd.n_records, PROTO_BATCH_RECORDS_MAX);
	mx_buf_reset(&b);
	assert_int_equal(
	    proto_update_body_encode(&b, &h, r, PROTO_BATCH_RECORDS_MAX + 1),
	    MX_ELIMIT);
	assert_int_equal(b.len, 0);
	free(r);
	mx_buf_fini(&b);
}

static void
test_snapshot_roundtrip(void **state)
{
	struct proto_batch_hdr h, hd;
	struct proto_record r;
	struct t_recs c;
	struct mx_buf b;

	(void)state;
	t_example_batch(&h, true);
	h.index = PROTO_SNAPSHOT_CHUNKS_MAX - 1;
	h.count = PROTO_SNAPSHOT_CHUNKS_MAX;
	t_example_rec_net(&r);
	mx_buf_init(&b, PROTO_MSG_MAX);
	assert_int_equal(proto_snapshot_body_encode(&b, &h, &r, 1), 0);
	t_recs_new(&c, 1);
	assert_int_equal(
	    proto_snapshot_body_decode(b.data, b.len, &hd, t_recs_cb, &c), 0);
	assert_int_equal(c.n, 1);
	t_record_eq(&c.r[0], &r);
	assert_int_equal(hd.snap_id, 99);
	assert_int_equal(hd.index, PROTO_SNAPSHOT_CHUNKS_MAX - 1);
	assert_int_equal(hd.count, PROTO_SNAPSHOT_CHUNKS_MAX);
	assert_int_equal(hd.n_records, 1);
	free(c.r);

	/* an update body lacks snap_id, index, count */
	assert_int_equal(
	    proto_update_body_decode(b.data, b.len, &hd, NULL, NULL), 0);
	mx_buf_reset(&b);
	t_example_batch(&h, false);
	assert_int_equal(proto_update_body_encode(&b, &h, NULL, 0), 0);
	assert_int_equal(
	    proto_snapshot_body_decode(b.data, b.len, &hd, NULL, NULL),
	    MX_EMISSING);

	/* minimal: one chunk, no records */
	mx_buf_reset(&b);
	t_example_batch(&h, true);
	h.count = 1;
	assert_int_equal(proto_snapshot_body_encode(&b, &h, NULL, 0), 0);
	assert_int_equal(
	    proto_snapshot_body_decode(b.data, b.len, &hd, NULL, NULL), 0);
	assert_int_equal(hd.count, 1);

	/* encoder refuses index >= count, count 0, count over the max */
	mx_buf_reset(&b);
	h.index = 1;
	assert_int_equal(
	    proto_snapshot_body_encode(&b, &h, NULL, 0), MX_EINVAL);
	h.index = 0;
	h.count = 0;
	assert_int_equal(
	    proto_snapshot_body_encode(&b, &h, NULL, 0), MX_EINVAL);
	h.count = PROTO_SNAPSHOT_CHUNKS_MAX + 1;
	assert_int_equal(
	    proto_snapshot_body_encode(&b, &h, NULL, 0), MX_EINVAL);
	assert_int_equal(b.len, 0);
	mx_buf_fini(&b);
}

static void
test_feed_roundtrip(void **state)
{
	struct proto_feed_hdr h, hd;
	struct proto_record r[3];
	struct t_recs c;
	struct mx_buf b;
	size_t i;

	(void)state;
	t_example_feed(&h);
	t_example_rec_net(&r[0]);
	t_example_rec_ip(&r[1]);
	t_example_rec_domain(&r[2]);
	mx_buf_init(&b, PROTO_MSG_MAX);
	assert_int_equal(proto_feed_body_encode(&b, &h, r, 3), 0);
	t_recs_new(&c, 3);
	assert_int_equal(
	    proto_feed_body_decode(b.data, b.len, &hd, t_recs_cb, &c), 0);
	assert_int_equal(c.n, 3);
	for (i = 0; i < 3; i++)
		t_record_eq(&c.r[i], &r[i]);
	t_streq(hd.source, "spamhaus-drop");
	t_streq(hd.who, "feed-1");
	assert_int_equal(hd.ts_ms, T_TS);
	assert_int_equal(hd.serial, 5);
	assert_int_equal(hd.n_records, 3);
	free(c.r);

	mx_buf_reset(&b);
	h.who = T_S("");
	assert_int_equal(proto_feed_body_encode(&b, &h, r, 1), MX_EINVAL);
	h.who = T_S("w");
	assert_int_equal(proto_feed_body_encode(&b, &h, NULL, 0), 0);
	assert_int_equal(
	    proto_feed_body_decode(b.data, b.len, &hd, NULL, NULL), 0);
	assert_int_equal(hd.n_records, 0);
	mx_buf_fini(&b);
}

static void
test_signed_roundtrip_and_peek(void **state)
{
	struct proto_str body, sig;
	struct mx_buf b;
	uint8_t s[PROTO_SIG_LEN];
	unsigned type = 0;

	(void)state;
	mx_buf_init(&b, PROTO_MSG_MAX);
	t_enc_signed(&b);
	assert_int_equal(proto_msg_peek(b.data, b.len, &type), 0);
	assert_int_equal(type, PROTO_MSG_UPDATE);
	assert_int_equal(
	    proto_signed_decode(b.data, b.len, &type, &body, &sig), 0);
	assert_int_equal(type, PROTO_MSG_UPDATE);
	assert_int_equal(sig.len, PROTO_SIG_LEN);
	t_sig(s);
	assert_memory_equal(sig.p, s, PROTO_SIG_LEN);
	assert_int_equal(
	    proto_update_body_decode(body.p, body.len, NULL, NULL, NULL), 0);

	/* an empty body and each signed type */
	mx_buf_reset(&b);
	assert_int_equal(
	    proto_signed_encode(&b, PROTO_MSG_FEED, NULL, 0, s), 0);
	assert_int_equal(
	    proto_signed_decode(b.data, b.len, &type, &body, &sig), 0);
	assert_int_equal(type, PROTO_MSG_FEED);
	assert_int_equal(body.len, 0);
	mx_buf_reset(&b);
	assert_int_equal(
	    proto_signed_encode(&b, PROTO_MSG_SNAPSHOT, s, 3, s), 0);
	assert_int_equal(
	    proto_signed_decode(b.data, b.len, &type, &body, &sig), 0);
	assert_int_equal(type, PROTO_MSG_SNAPSHOT);

	/* unsigned types are refused by the encoder */
	mx_buf_reset(&b);
	assert_int_equal(
	    proto_signed_encode(&b, PROTO_MSG_TELEMETRY, s, 3, s), MX_EINVAL);
	assert_int_equal(proto_signed_encode(&b, 9, s, 3, s), MX_EINVAL);
	assert_int_equal(b.len, 0);

	/* peek sees unsigned types too */
	t_enc_status(&b);
	assert_int_equal(proto_msg_peek(b.data, b.len, &type), 0);
	assert_int_equal(type, PROTO_MSG_STATUS);
	mx_buf_fini(&b);
}

static void
test_signed_large_body_at_limit(void **state)
{
	uint8_t *body, s[PROTO_SIG_LEN];
	struct proto_str bv, sv;
	struct mx_buf b;
	unsigned type;

	(void)state;
	body = calloc(1, T_BODY_MAX + 1);
	assert_non_null(body);
	memset(s, 1, sizeof(s));
	mx_buf_init(&b, PROTO_MSG_MAX);
	assert_int_equal(
	    proto_signed_encode(&b, PROTO_MSG_UPDATE, body, T_BODY_MAX, s), 0);
	assert_int_equal(b.len, PROTO_MSG_MAX);
	assert_int_equal(
	    proto_signed_decode(b.data, b.len, &type, &bv, &sv), 0);
	assert_int_equal(bv.len, T_BODY_MAX);
	mx_buf_reset(&b);
	assert_int_equal(
	    proto_signed_encode(&b, PROTO_MSG_UPDATE, body, T_BODY_MAX + 1, s),
	    MX_ETOOBIG);
	assert_int_equal(b.len, 0);
	/* a body decoder refuses what could never be signed */
	assert_int_equal(
	    proto_update_body_decode(body, T_BODY_MAX + 1, NULL, NULL, NULL),
	    MX_ETOOBIG);
	free(body);
	mx_buf_fini(&b);
}

/* --- encoder errors ----------------------------------------------------- */

static void
test_encode_too_big_restores_len(void **state)
{
	struct mx_buf b;
	size_t full;

	(void)state;
	mx_buf_init(&b, PROTO_MSG_MAX);
	t_enc_telemetry(&b);
	full = b.len;
	mx_buf_fini(&b);

	/* room for all but the last byte: refused, prior contents kept */
	mx_buf_init(&b, full + 2);
	assert_int_equal(mx_buf_append(&b, "ab", 2), 0);
	{
		struct proto_telemetry_hdr h;
		struct proto_event ev;

		t_example_tele_hdr(&h);
		t_example_event(&ev);
		b.max = full + 1;
		assert_int_equal(
		    proto_telemetry_encode(&b, &h, &ev, 1), MX_ETOOBIG);
		assert_int_equal(b.len, 2);
		assert_memory_equal(b.data, "ab", 2);
		b.max = full + 2;
		assert_int_equal(proto_telemetry_encode(&b, &h, &ev, 1), 0);
		assert_int_equal(b.len, full + 2);
	}
	mx_buf_fini(&b);

	mx_buf_init(&b, 10);
	{
		struct proto_status st;
		struct proto_batch_hdr h;
		struct proto_feed_hdr fh;
		uint8_t s[PROTO_SIG_LEN] = {0};

		t_example_status(&st);
		assert_int_equal(proto_status_encode(&b, &st), MX_ETOOBIG);
		t_example_batch(&h, false);
		assert_int_equal(
		    proto_update_body_encode(&b, &h, NULL, 0), MX_ETOOBIG);
		t_example_batch(&h, true);
		assert_int_equal(
		    proto_snapshot_body_encode(&b, &h, NULL, 0), MX_ETOOBIG);
		t_example_feed(&fh);
		assert_int_equal(
		    proto_feed_body_encode(&b, &fh, NULL, 0), MX_ETOOBIG);
		assert_int_equal(
		    proto_signed_encode(&b, PROTO_MSG_FEED, s, 1, s),
		    MX_ETOOBIG);
		assert_int_equal(b.len, 0);
	}
	mx_buf_fini(&b);
}

static void
test_encode_invalid_fields_refused(void **state)
{
	struct proto_telemetry_hdr h;
	struct proto_event ev;
	struct proto_status st;
	struct proto_batch_hdr bh;
	struct proto_record r;
	struct mx_buf b;

	(void)state;
	mx_buf_init(&b, PROTO_MSG_MAX);
	t_example_tele_hdr(&h);
	h.pop = T_S("");
	assert_int_equal(proto_telemetry_encode(&b, &h, NULL, 0), MX_EINVAL);
	t_example_tele_hdr(&h);
	assert_int_equal(proto_telemetry_encode(&b, &h, NULL, 1), MX_EINVAL);

#define T_EV_BAD(stmt)                                                         \
	do {                                                                   \
		t_example_event(&ev);                                          \
		stmt;                                                          \
		assert_int_equal(                                              \
		    proto_telemetry_encode(&b, &h, &ev, 1), MX_EINVAL);        \
	} while (0)
	T_EV_BAD(ev.type = 0);
	T_EV_BAD(ev.type = 3);
	T_EV_BAD(ev.ip_len = 5);
	T_EV_BAD(ev.verdict = PROTO_VERDICT_MAX + 1);
	T_EV_BAD(ev.flags = 0x10);
	T_EV_BAD(ev.country = T_S("DEU"));
	T_EV_BAD(ev.sender_domain.p = NULL);
	T_EV_BAD(ev.reasons[1] = T_S(""));
	T_EV_BAD(ev.rcpts[0].result = 0);
	T_EV_BAD(ev.rcpts[0].result = PROTO_RCPT_OTHER + 1);
	T_EV_BAD(ev.rcpts[0].hash = T_S(""));
#undef T_EV_BAD

	t_example_status(&st);
	st.state = 0;
	assert_int_equal(proto_status_encode(&b, &st), MX_EINVAL);
	t_example_status(&st);
	st.version.len = PROTO_VERSION_STR_MAX + 1;
	assert_int_equal(proto_status_encode(&b, &st), MX_EINVAL);
	t_example_status(&st);
	st.hubs[0].hub_id = T_S("");
	assert_int_equal(proto_status_encode(&b, &st), MX_EINVAL);

	t_example_batch(&bh, false);
	t_example_rec_ip(&r);
	r.kind = PROTO_KIND_MAX + 1;
	assert_int_equal(proto_update_body_encode(&b, &bh, &r, 1), MX_EINVAL);
	t_example_rec_ip(&r);
	r.key_len = 5; /* not an address */
	assert_int_equal(proto_update_body_encode(&b, &bh, &r, 1), MX_EINVAL);
	t_example_rec_ip(&r);
	r.source_len = PROTO_SOURCE_MAX + 1;
	assert_int_equal(proto_update_body_encode(&b, &bh, &r, 1), MX_EINVAL);
	t_example_rec_ip(&r);
	assert_int_equal(proto_update_body_encode(&b, &bh, NULL, 1), MX_EINVAL);
	bh.hub_id = T_S("");
	assert_int_equal(proto_update_body_encode(&b, &bh, &r, 1), MX_EINVAL);
	assert_int_equal(b.len, 0);
	mx_buf_fini(&b);
}

/* --- decoder errors ------------------------------------------------------- */

static void
test_truncated_at_every_offset_fails(void **state)
{
	void (*enc[6])(struct mx_buf *) = {t_enc_telemetry, t_enc_status,
	    t_enc_update, t_enc_snapshot, t_enc_feed, t_enc_signed};
	struct mx_buf b;
	uint8_t *copy;
	size_t cut;
	int i, rc;

	(void)state;
	for (i = 0; i < 6; i++) {
		mx_buf_init(&b, PROTO_MSG_MAX);
		enc[i](&b);
		assert_int_equal(t_decode_any(i, b.data, b.len), 0);
		for (cut = 0; cut < b.len; cut++) {
			/* an exact-size heap copy: ASan sees any overread */
			copy = malloc(cut ? cut : 1);
			assert_non_null(copy);
			memcpy(copy, b.data, cut);
			rc = t_decode_any(i, copy, cut);
			if (rc >= 0 || rc < MX_ERR_MIN)
				fail_msg(
				    "vector %d cut at %zu gave %d", i, cut, rc);
			free(copy);
		}
		/* and one trailing byte */
		assert_int_equal(mx_buf_append_byte(&b, 0xc0), 0);
		assert_int_equal(t_decode_any(i, b.data, b.len), MX_ETRAIL);
		mx_buf_fini(&b);
	}
}

static void
test_wrong_version_and_type(void **state)
{
	struct t_mp t;
	struct mx_buf b;
	unsigned type;
	uint8_t s[PROTO_SIG_LEN] = {0};

	(void)state;
	/* version 2 */
	t_mp_init(&t);
	msgpack_pack_array(&t.pk, 3);
	t_mp_u(&t, 2);
	t_mp_u(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 0);
	assert_int_equal(t_tele(&t), MX_EVERSION);
	assert_int_equal(
	    proto_msg_peek((const uint8_t *)t.sb.data, t.sb.size, &type),
	    MX_EVERSION);
	t_mp_fini(&t);

	/* a later version may change the layout: still MX_EVERSION */
	t_mp_init(&t);
	msgpack_pack_array(&t.pk, 2);
	t_mp_u(&t, 2);
	t_mp_u(&t, 1);
	assert_int_equal(
	    proto_msg_peek((const uint8_t *)t.sb.data, t.sb.size, &type),
	    MX_EVERSION);
	t_mp_fini(&t);

	/* version as a string, negative version */
	t_mp_init(&t);
	msgpack_pack_array(&t.pk, 3);
	t_mp_str(&t, "1");
	t_mp_u(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 0);
	assert_int_equal(t_tele(&t), MX_ETYPE);
	t_mp_fini(&t);
	t_mp_init(&t);
	msgpack_pack_array(&t.pk, 3);
	msgpack_pack_int(&t.pk, -1);
	t_mp_u(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 0);
	assert_int_equal(t_tele(&t), MX_EVERSION);
	t_mp_fini(&t);

	/* not an array; an empty array; an array of 2 or 5 */
	{
		static const uint8_t m0[] = {0x80};
		static const uint8_t a0[] = {0x90};
		static const uint8_t a2[] = {0x92, 0x01, 0x01};
		static const uint8_t a5[] = {
		    0x95, 0x01, 0x01, 0xc0, 0xc0, 0xc0};

		assert_int_equal(
		    proto_msg_peek(m0, sizeof(m0), &type), MX_ETYPE);
		assert_int_equal(
		    proto_msg_peek(a0, sizeof(a0), &type), MX_ETYPE);
		assert_int_equal(
		    proto_msg_peek(a2, sizeof(a2), &type), MX_ETYPE);
		assert_int_equal(
		    proto_msg_peek(a5, sizeof(a5), &type), MX_ETYPE);
		assert_int_equal(proto_msg_peek(NULL, 0, &type), MX_ETRUNC);
	}

	/* type over 255 */
	t_mp_init(&t);
	msgpack_pack_array(&t.pk, 3);
	t_mp_u(&t, 1);
	t_mp_u(&t, 256);
	msgpack_pack_map(&t.pk, 0);
	assert_int_equal(
	    proto_msg_peek((const uint8_t *)t.sb.data, t.sb.size, &type),
	    MX_ERANGE);
	t_mp_fini(&t);

	/* one message type handed to another type's decoder */
	mx_buf_init(&b, PROTO_MSG_MAX);
	t_enc_status(&b);
	assert_int_equal(
	    proto_telemetry_decode(b.data, b.len, NULL, NULL, NULL), MX_ETYPE);
	assert_int_equal(
	    proto_signed_decode(b.data, b.len, NULL, NULL, NULL), MX_ETYPE);
	mx_buf_reset(&b);
	t_enc_telemetry(&b);
	assert_int_equal(proto_status_decode(b.data, b.len, NULL), MX_ETYPE);
	mx_buf_reset(&b);
	assert_int_equal(proto_signed_encode(&b, PROTO_MSG_UPDATE, s, 1, s), 0);
	assert_int_equal(
	    proto_telemetry_decode(b.data, b.len, NULL, NULL, NULL), MX_ETYPE);
	mx_buf_fini(&b);
}

static void
test_signed_decode_errors(void **state)
{
	struct t_mp t;
	uint8_t s[PROTO_SIG_LEN + 1] = {0};
	struct proto_str body, sig;
	unsigned type;

#define T_SIGNED(rc_want)                                                      \
	assert_int_equal(proto_signed_decode((const uint8_t *)t.sb.data,       \
	                     t.sb.size, &type, &body, &sig),                   \
	    rc_want)
	(void)state;
	/* an unsigned type in a 4-element envelope */
	t_mp_init(&t);
	msgpack_pack_array(&t.pk, 4);
	t_mp_u(&t, 1);
	t_mp_u(&t, PROTO_MSG_STATUS);
	t_mp_bin(&t, s, 1);
	t_mp_bin(&t, s, PROTO_SIG_LEN);
	T_SIGNED(MX_ERANGE);
	t_mp_fini(&t);
	/* signature of 63 and 65 bytes */
	t_mp_init(&t);
	msgpack_pack_array(&t.pk, 4);
	t_mp_u(&t, 1);
	t_mp_u(&t, PROTO_MSG_UPDATE);
	t_mp_bin(&t, s, 1);
	t_mp_bin(&t, s, PROTO_SIG_LEN - 1);
	T_SIGNED(MX_ESIG);
	t_mp_fini(&t);
	t_mp_init(&t);
	msgpack_pack_array(&t.pk, 4);
	t_mp_u(&t, 1);
	t_mp_u(&t, PROTO_MSG_UPDATE);
	t_mp_bin(&t, s, 1);
	t_mp_bin(&t, s, PROTO_SIG_LEN + 1);
	T_SIGNED(MX_ESIG);
	t_mp_fini(&t);
	/* body as str, signature as str */
	t_mp_init(&t);
	msgpack_pack_array(&t.pk, 4);
	t_mp_u(&t, 1);
	t_mp_u(&t, PROTO_MSG_UPDATE);
	t_mp_str(&t, "x");
	t_mp_bin(&t, s, PROTO_SIG_LEN);
	T_SIGNED(MX_ETYPE);
	t_mp_fini(&t);
	t_mp_init(&t);
	msgpack_pack_array(&t.pk, 4);
	t_mp_u(&t, 1);
	t_mp_u(&t, PROTO_MSG_UPDATE);
	t_mp_bin(&t, s, 1);
	t_mp_strn(&t, PROTO_SIG_LEN, 'x');
	T_SIGNED(MX_ETYPE);
	t_mp_fini(&t);
	/* a bin32 body declaring 4 GiB - 1 in a tiny input */
	t_mp_init(&t);
	{
		static const uint8_t hdr[] = {
		    0x94, 0x01, 0x02, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00};

		t_mp_raw(&t, hdr, sizeof(hdr));
	}
	T_SIGNED(MX_ETOOBIG);
	t_mp_fini(&t);
	/* a payload over PROTO_MSG_MAX */
	{
		uint8_t *big = calloc(1, PROTO_MSG_MAX + 1);

		assert_non_null(big);
		big[0] = 0x94;
		assert_int_equal(proto_signed_decode(big, PROTO_MSG_MAX + 1,
		                     &type, &body, &sig),
		    MX_ETOOBIG);
		assert_int_equal(
		    proto_msg_peek(big, PROTO_MSG_MAX + 1, &type), MX_ETOOBIG);
		assert_int_equal(proto_telemetry_decode(
		                     big, PROTO_MSG_MAX + 1, NULL, NULL, NULL),
		    MX_ETOOBIG);
		free(big);
	}
#undef T_SIGNED
}

static void
test_huge_declared_counts_fail_without_allocation(void **state)
{
	static const uint8_t arr32[6] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t map32[6] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t str32[6] = {0xdb, 0xff, 0xff, 0xff, 0xff, 0x01};
	struct t_mp t;
	unsigned type;

	(void)state;
	assert_int_equal(
	    proto_msg_peek(arr32, sizeof(arr32), &type), MX_ETRUNC);
	assert_int_equal(
	    proto_telemetry_decode(arr32, sizeof(arr32), NULL, NULL, NULL),
	    MX_ETRUNC);
	assert_int_equal(
	    proto_update_body_decode(map32, sizeof(map32), NULL, NULL, NULL),
	    MX_ELIMIT);
	assert_int_equal(
	    proto_update_body_decode(str32, sizeof(str32), NULL, NULL, NULL),
	    MX_ETYPE);

	/* the events array declares 2^32-1 events */
	t_mp_init(&t);
	t_mp_tele_head(&t);
	t_mp_raw(&t, arr32, 5);
	assert_int_equal(t_tele(&t), MX_ELIMIT);
	t_mp_fini(&t);

	/* an unknown key whose value declares 2^32-1 elements */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 1);
	t_mp_u(&t, 9);
	t_mp_raw(&t, arr32, sizeof(arr32));
	assert_int_equal(t_tele(&t), MX_ETRUNC);
	t_mp_fini(&t);

	/* a str declaring 2^32-1 bytes where the edge id goes */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 1);
	t_mp_u(&t, 0);
	t_mp_raw(&t, str32, sizeof(str32));
	assert_int_equal(t_tele(&t), MX_ETOOBIG);
	t_mp_fini(&t);
}

static void
test_array_over_limit_is_elimit(void **state)
{
	struct t_mp t;
	size_t i;

	(void)state;
	/* 1025 events: refused at the header, before any event is read */
	t_mp_init(&t);
	t_mp_tele_head(&t);
	msgpack_pack_array(&t.pk, PROTO_BATCH_EVENTS_MAX + 1);
	for (i = 0; i <= PROTO_BATCH_EVENTS_MAX; i++)
		t_mp_event_min(&t, 0);
	assert_int_equal(t_tele(&t), MX_ELIMIT);
	t_mp_fini(&t);

	/* 33 reasons in an event */
	t_mp_init(&t);
	t_mp_tele_head(&t);
	msgpack_pack_array(&t.pk, 1);
	t_mp_event_min(&t, 1);
	t_mp_u(&t, 13);
	msgpack_pack_array(&t.pk, PROTO_EV_REASONS_MAX + 1);
	for (i = 0; i <= PROTO_EV_REASONS_MAX; i++)
		t_mp_str(&t, "r");
	assert_int_equal(t_tele(&t), MX_ELIMIT);
	t_mp_fini(&t);

	/* 129 recipients */
	t_mp_init(&t);
	t_mp_tele_head(&t);
	msgpack_pack_array(&t.pk, 1);
	t_mp_event_min(&t, 1);
	t_mp_u(&t, 17);
	msgpack_pack_array(&t.pk, PROTO_EV_RCPTS_MAX + 1);
	for (i = 0; i <= PROTO_EV_RCPTS_MAX; i++) {
		msgpack_pack_array(&t.pk, 3);
		t_mp_bin(&t, "h", 1);
		t_mp_str(&t, "d");
		t_mp_u(&t, 1);
	}
	assert_int_equal(t_tele(&t), MX_ELIMIT);
	t_mp_fini(&t);

	/* 4097 records */
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, PROTO_BATCH_RECORDS_MAX + 1);
	for (i = 0; i <= PROTO_BATCH_RECORDS_MAX; i++)
		t_mp_record_ip(&t, 0);
	assert_int_equal(t_update(&t), MX_ELIMIT);
	t_mp_fini(&t);

	/* 17 hub positions in a status */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_STATUS);
	msgpack_pack_map(&t.pk, 5);
	t_mp_kstr(&t, 0, "e");
	t_mp_kstr(&t, 1, "p");
	t_mp_ku(&t, 2, PROTO_EDGE_ONLINE);
	t_mp_ku(&t, 3, 1);
	t_mp_u(&t, 8);
	msgpack_pack_array(&t.pk, PROTO_STATUS_HUBS_MAX + 1);
	for (i = 0; i <= PROTO_STATUS_HUBS_MAX; i++) {
		msgpack_pack_array(&t.pk, 3);
		t_mp_str(&t, "h");
		t_mp_u(&t, 1);
		t_mp_u(&t, 1);
	}
	assert_int_equal(
	    proto_status_decode((const uint8_t *)t.sb.data, t.sb.size, NULL),
	    MX_ELIMIT);
	t_mp_fini(&t);

	/* a map of 65 entries, even with unknown keys */
	t_mp_init(&t);
	msgpack_pack_map(&t.pk, 65);
	for (i = 0; i < 65; i++)
		t_mp_ku(&t, 100 + i, 0);
	assert_int_equal(t_update(&t), MX_ELIMIT);
	t_mp_fini(&t);
}

/* t_tele_unknown_nest - telemetry with key 9 nested depth arrays deep */
static int
t_tele_unknown_nest(unsigned depth, bool maps)
{
	struct t_mp t;
	unsigned i;
	int rc;

	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 5);
	t_mp_kstr(&t, 0, "e");
	t_mp_kstr(&t, 1, "p");
	t_mp_ku(&t, 2, 1);
	t_mp_u(&t, 4);
	msgpack_pack_array(&t.pk, 0);
	t_mp_u(&t, 9);
	for (i = 0; i < depth; i++) {
		if (maps) {
			msgpack_pack_map(&t.pk, 1);
			t_mp_u(&t, i);
		} else {
			msgpack_pack_array(&t.pk, 1);
		}
	}
	msgpack_pack_nil(&t.pk);
	rc = t_tele(&t);
	t_mp_fini(&t);
	return rc;
}

static void
test_deep_unknown_value_is_edepth(void **state)
{
	(void)state;
	/* key 9's value sits at level 3: 6 containers reach level 8 */
	assert_int_equal(t_tele_unknown_nest(PROTO_DEPTH_MAX - 2, false), 0);
	assert_int_equal(
	    t_tele_unknown_nest(PROTO_DEPTH_MAX - 1, false), MX_EDEPTH);
	assert_int_equal(t_tele_unknown_nest(PROTO_DEPTH_MAX - 2, true), 0);
	assert_int_equal(
	    t_tele_unknown_nest(PROTO_DEPTH_MAX - 1, true), MX_EDEPTH);
	assert_int_equal(t_tele_unknown_nest(10000, false), MX_EDEPTH);
}

static void
test_unknown_keys_skipped(void **state)
{
	static const uint8_t ext[] = {
	    0xd8, 0x01, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	struct proto_telemetry_hdr h;
	struct t_evs c;
	struct t_mp t;

	(void)state;
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 6);
	t_mp_kstr(&t, 0, "edge-1");
	t_mp_kstr(&t, 1, "fra");
	t_mp_ku(&t, 2, 5);
	t_mp_u(&t, 4);
	msgpack_pack_array(&t.pk, 1);
	t_mp_event_min(&t, 2);
	t_mp_u(&t, 30); /* unknown event key */
	msgpack_pack_map(&t.pk, 1);
	t_mp_str(&t, "k");
	msgpack_pack_double(&t.pk, 1.5);
	t_mp_u(&t, 40);
	t_mp_raw(&t, ext, sizeof(ext));
	t_mp_u(&t, 5); /* unknown body keys after the events */
	msgpack_pack_true(&t.pk);
	t_mp_u(&t, UINT64_MAX);
	msgpack_pack_array(&t.pk, 2);
	msgpack_pack_float(&t.pk, 2.5f);
	msgpack_pack_int64(&t.pk, INT64_MIN);
	t_evs_new(&c, 1);
	assert_int_equal(proto_telemetry_decode((const uint8_t *)t.sb.data,
	                     t.sb.size, &h, t_evs_cb, &c),
	    0);
	assert_int_equal(c.n, 1);
	assert_int_equal(h.seq, 5);
	assert_int_equal(c.ev[0].ts_ms, 1700000000000ull);
	free(c.ev);
	t_mp_fini(&t);
}

static void
test_unknown_keys_skipped_in_every_map(void **state)
{
	struct proto_status st;
	struct proto_feed_hdr fh;
	struct t_recs c;
	struct t_mp t;

	(void)state;
	/* status: unknown key 20 after the known ones */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_STATUS);
	msgpack_pack_map(&t.pk, 5);
	t_mp_kstr(&t, 0, "e");
	t_mp_kstr(&t, 1, "p");
	t_mp_ku(&t, 2, PROTO_EDGE_ONLINE);
	t_mp_ku(&t, 3, 200); /* a uint8 */
	t_mp_ku(&t, 20, 1);
	assert_int_equal(
	    proto_status_decode((const uint8_t *)t.sb.data, t.sb.size, &st), 0);
	assert_int_equal(st.ts_ms, 200);
	t_mp_fini(&t);

	/* feed with unknown key 9; its record with unknown key 11 */
	t_mp_init(&t);
	msgpack_pack_map(&t.pk, 6);
	t_mp_kstr(&t, 0, "src");
	t_mp_kstr(&t, 1, "who");
	t_mp_ku(&t, 2, 1);
	t_mp_ku(&t, 3, 2);
	t_mp_u(&t, 4);
	msgpack_pack_array(&t.pk, 1);
	t_mp_record_ip(&t, 1);
	t_mp_kstr(&t, 11, "future");
	t_mp_u(&t, 9);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_array(&t.pk, 0);
	t_recs_new(&c, 1);
	assert_int_equal(proto_feed_body_decode((const uint8_t *)t.sb.data,
	                     t.sb.size, &fh, t_recs_cb, &c),
	    0);
	assert_int_equal(c.n, 1);
	assert_int_equal(fh.serial, 2);
	assert_int_equal(c.r[0].kind, PROTO_KIND_IP);
	free(c.r);
	t_mp_fini(&t);
}

static void
test_null_arguments_are_einval(void **state)
{
	struct proto_telemetry_hdr h;
	struct proto_status st;
	struct proto_batch_hdr bh;
	struct proto_feed_hdr fh;
	struct proto_str body, sig;
	uint8_t s[PROTO_SIG_LEN] = {0};
	unsigned type;
	struct mx_buf b;

	(void)state;
	assert_int_equal(proto_msg_peek(NULL, 1, &type), MX_EINVAL);
	assert_int_equal(
	    proto_signed_decode(NULL, 1, &type, &body, &sig), MX_EINVAL);
	assert_int_equal(
	    proto_telemetry_decode(NULL, 1, NULL, NULL, NULL), MX_EINVAL);
	assert_int_equal(proto_status_decode(NULL, 1, NULL), MX_EINVAL);
	assert_int_equal(
	    proto_update_body_decode(NULL, 1, NULL, NULL, NULL), MX_EINVAL);
	assert_int_equal(
	    proto_feed_body_decode(NULL, 1, NULL, NULL, NULL), MX_EINVAL);
	assert_int_equal(
	    proto_update_body_decode(NULL, 0, NULL, NULL, NULL), MX_ETRUNC);

	t_example_tele_hdr(&h);
	t_example_status(&st);
	t_example_batch(&bh, false);
	t_example_feed(&fh);
	assert_int_equal(proto_telemetry_encode(NULL, &h, NULL, 0), MX_EINVAL);
	assert_int_equal(proto_status_encode(NULL, &st), MX_EINVAL);
	assert_int_equal(
	    proto_update_body_encode(NULL, &bh, NULL, 0), MX_EINVAL);
	assert_int_equal(proto_feed_body_encode(NULL, &fh, NULL, 0), MX_EINVAL);
	assert_int_equal(
	    proto_signed_encode(NULL, PROTO_MSG_FEED, s, 1, s), MX_EINVAL);
	mx_buf_init(&b, PROTO_MSG_MAX);
	assert_int_equal(
	    proto_signed_encode(&b, PROTO_MSG_FEED, NULL, 1, s), MX_EINVAL);
	assert_int_equal(proto_status_encode(&b, NULL), MX_EINVAL);
	assert_int_equal(proto_feed_body_encode(&b, NULL, NULL, 0), MX_EINVAL);
	assert_int_equal(b.len, 0);
	mx_buf_fini(&b);
}

static void
test_missing_required_is_emissing(void **state)
{
	struct t_mp t;

	(void)state;
	/* no edge id: refused before the events reach a callback */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 3);
	t_mp_kstr(&t, 1, "fra");
	t_mp_ku(&t, 2, 1);
	t_mp_u(&t, 4);
	msgpack_pack_array(&t.pk, 0);
	assert_int_equal(t_tele(&t), MX_EMISSING);
	t_mp_fini(&t);

	/* no events key at all */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 3);
	t_mp_kstr(&t, 0, "e");
	t_mp_kstr(&t, 1, "fra");
	t_mp_ku(&t, 2, 1);
	assert_int_equal(t_tele(&t), MX_EMISSING);
	t_mp_fini(&t);

	/* an event without its verdict */
	t_mp_init(&t);
	t_mp_tele_head(&t);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_map(&t.pk, 3);
	t_mp_ku(&t, 0, 1);
	t_mp_ku(&t, 1, PROTO_EV_TXN);
	t_mp_u(&t, 2);
	t_mp_bin(&t, "abcd", 4);
	assert_int_equal(t_tele(&t), MX_EMISSING);
	t_mp_fini(&t);

	/* a record without ts_ms */
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_map(&t.pk, 3);
	t_mp_ku(&t, 0, PROTO_KIND_IP);
	t_mp_ku(&t, 1, PROTO_OP_PUT);
	t_mp_u(&t, 2);
	t_mp_bin(&t, "abcd", 4);
	assert_int_equal(t_update(&t), MX_EMISSING);
	t_mp_fini(&t);

	/* an update without its records */
	t_mp_init(&t);
	t_mp_update_head(&t, 4);
	assert_int_equal(t_update(&t), MX_EMISSING);
	t_mp_fini(&t);

	/* a status without state */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_STATUS);
	msgpack_pack_map(&t.pk, 3);
	t_mp_kstr(&t, 0, "e");
	t_mp_kstr(&t, 1, "p");
	t_mp_ku(&t, 3, 1);
	assert_int_equal(
	    proto_status_decode((const uint8_t *)t.sb.data, t.sb.size, NULL),
	    MX_EMISSING);
	t_mp_fini(&t);

	/* a feed without who */
	t_mp_init(&t);
	msgpack_pack_map(&t.pk, 4);
	t_mp_kstr(&t, 0, "src");
	t_mp_ku(&t, 2, 1);
	t_mp_ku(&t, 3, 1);
	t_mp_u(&t, 4);
	msgpack_pack_array(&t.pk, 0);
	assert_int_equal(proto_feed_body_decode((const uint8_t *)t.sb.data,
	                     t.sb.size, NULL, NULL, NULL),
	    MX_EMISSING);
	t_mp_fini(&t);
}

static void
test_duplicate_key_is_edup_descending_is_eproto(void **state)
{
	struct t_mp t;

	(void)state;
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 2);
	t_mp_kstr(&t, 0, "e");
	t_mp_kstr(&t, 0, "e");
	assert_int_equal(t_tele(&t), MX_EDUP);
	t_mp_fini(&t);

	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 2);
	t_mp_kstr(&t, 1, "p");
	t_mp_kstr(&t, 0, "e");
	assert_int_equal(t_tele(&t), MX_EPROTO);
	t_mp_fini(&t);

	/* inside an event: the same key twice, even an unknown one */
	t_mp_init(&t);
	t_mp_tele_head(&t);
	msgpack_pack_array(&t.pk, 1);
	t_mp_event_min(&t, 2);
	t_mp_ku(&t, 30, 1);
	t_mp_ku(&t, 30, 1);
	assert_int_equal(t_tele(&t), MX_EDUP);
	t_mp_fini(&t);

	/* inside a record: descending keys */
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, 1);
	t_mp_record_ip(&t, 1);
	t_mp_ku(&t, 1, PROTO_OP_PUT);
	assert_int_equal(t_update(&t), MX_EPROTO);
	t_mp_fini(&t);

	/* a key that is not an unsigned integer */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 1);
	t_mp_str(&t, "edge_id");
	t_mp_str(&t, "e");
	assert_int_equal(t_tele(&t), MX_ETYPE);
	t_mp_fini(&t);
}

/* t_event_field - telemetry whose one event adds key k = v (uint) */
static int
t_event_field_u(uint64_t k, uint64_t v)
{
	struct t_mp t;
	int rc;

	t_mp_init(&t);
	t_mp_tele_head(&t);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_map(&t.pk, 4);
	t_mp_ku(&t, 0, 1);
	t_mp_ku(&t, 1, k == 1 ? v : PROTO_EV_TXN);
	t_mp_u(&t, 2);
	t_mp_bin(&t, "abcd", 4);
	t_mp_ku(&t, 3, k == 3 ? v : PROTO_VERDICT_ACCEPT);
	rc = t_tele(&t);
	t_mp_fini(&t);
	return rc;
}

/* t_event_extra - telemetry whose one event adds key k with raw bytes */
static int
t_event_extra(uint64_t k, const void *raw, size_t n)
{
	struct t_mp t;
	int rc;

	t_mp_init(&t);
	t_mp_tele_head(&t);
	msgpack_pack_array(&t.pk, 1);
	t_mp_event_min(&t, 1);
	t_mp_u(&t, k);
	t_mp_raw(&t, raw, n);
	rc = t_tele(&t);
	t_mp_fini(&t);
	return rc;
}

static void
test_out_of_range_is_erange(void **state)
{
	static const uint8_t flags_bad[] = {0x10};
	static const uint8_t flags_ok[] = {0x0f};
	static const uint8_t score_big[] = {0xce, 0x80, 0, 0, 0};
	static const uint8_t score_small[] = {
	    0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff};
	static const uint8_t asn_big[] = {0xcf, 0, 0, 0, 1, 0, 0, 0, 0};
	static const uint8_t empty_reason[] = {0x91, 0xa0};
	static const uint8_t rcpt_bad[] = {
	    0x91, 0x93, 0xc4, 0x01, 0xaa, 0xa0, 0x05};
	static const uint8_t rcpt_zero[] = {
	    0x91, 0x93, 0xc4, 0x01, 0xaa, 0xa0, 0x00};
	static const uint8_t rcpt_pair[] = {0x91, 0x92, 0xc4, 0x01, 0xaa, 0xa0};
	static const uint8_t size_neg[] = {0xff};
	static const uint8_t ip5[] = {0xc4, 0x05, 1, 2, 3, 4, 5};
	struct t_mp t;

	(void)state;
	assert_int_equal(t_event_field_u(1, 0), MX_ERANGE);
	assert_int_equal(t_event_field_u(1, 3), MX_ERANGE);
	assert_int_equal(t_event_field_u(1, 2), 0);
	assert_int_equal(t_event_field_u(3, PROTO_VERDICT_MAX), 0);
	assert_int_equal(t_event_field_u(3, PROTO_VERDICT_MAX + 1), MX_ERANGE);
	assert_int_equal(t_event_extra(5, flags_bad, 1), MX_ERANGE);
	assert_int_equal(t_event_extra(5, flags_ok, 1), 0);
	assert_int_equal(t_event_extra(4, score_big, 5), MX_ERANGE);
	assert_int_equal(t_event_extra(4, score_small, 9), MX_ERANGE);
	assert_int_equal(t_event_extra(9, asn_big, 9), MX_ERANGE);
	assert_int_equal(t_event_extra(12, size_neg, 1), MX_ERANGE);
	assert_int_equal(t_event_extra(13, empty_reason, 2), MX_ERANGE);
	assert_int_equal(
	    t_event_extra(17, rcpt_bad, sizeof(rcpt_bad)), MX_ERANGE);
	assert_int_equal(
	    t_event_extra(17, rcpt_zero, sizeof(rcpt_zero)), MX_ERANGE);
	assert_int_equal(
	    t_event_extra(17, rcpt_pair, sizeof(rcpt_pair)), MX_ETYPE);

	/* an address of 5 bytes */
	t_mp_init(&t);
	t_mp_tele_head(&t);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_map(&t.pk, 4);
	t_mp_ku(&t, 0, 1);
	t_mp_ku(&t, 1, 1);
	t_mp_u(&t, 2);
	t_mp_raw(&t, ip5, sizeof(ip5));
	t_mp_ku(&t, 3, 0);
	assert_int_equal(t_tele(&t), MX_ERANGE);
	t_mp_fini(&t);

	/* status state 4 */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_STATUS);
	msgpack_pack_map(&t.pk, 4);
	t_mp_kstr(&t, 0, "e");
	t_mp_kstr(&t, 1, "p");
	t_mp_ku(&t, 2, PROTO_EDGE_DRAINING + 1);
	t_mp_ku(&t, 3, 1);
	assert_int_equal(
	    proto_status_decode((const uint8_t *)t.sb.data, t.sb.size, NULL),
	    MX_ERANGE);
	t_mp_fini(&t);

	/* snapshot: index == count, count 0, count over the maximum */
	{
		static const uint64_t cases[4][2] = {{2, 2}, {0, 0},
		    {0, PROTO_SNAPSHOT_CHUNKS_MAX + 1},
		    {PROTO_SNAPSHOT_CHUNKS_MAX, PROTO_SNAPSHOT_CHUNKS_MAX}};
		size_t i;

		for (i = 0; i < 4; i++) {
			t_mp_init(&t);
			t_mp_update_head(&t, 8);
			t_mp_ku(&t, 4, 1);
			t_mp_ku(&t, 5, cases[i][0]);
			t_mp_ku(&t, 6, cases[i][1]);
			t_mp_u(&t, 7);
			msgpack_pack_array(&t.pk, 0);
			assert_int_equal(proto_snapshot_body_decode(
			                     (const uint8_t *)t.sb.data,
			                     t.sb.size, NULL, NULL, NULL),
			    MX_ERANGE);
			t_mp_fini(&t);
		}
	}
}

static void
test_string_over_max_is_etoobig(void **state)
{
	struct t_mp t;
	static const uint8_t big_fp[PROTO_FP_MAX + 1] = {0};

	(void)state;
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 1);
	t_mp_u(&t, 0);
	t_mp_strn(&t, PROTO_ID_MAX + 1, 'e');
	assert_int_equal(t_tele(&t), MX_ETOOBIG);
	t_mp_fini(&t);

	/* at the maximum it passes; an empty id does not */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 4);
	t_mp_u(&t, 0);
	t_mp_strn(&t, PROTO_ID_MAX, 'e');
	t_mp_kstr(&t, 1, "p");
	t_mp_ku(&t, 2, 1);
	t_mp_u(&t, 4);
	msgpack_pack_array(&t.pk, 0);
	assert_int_equal(t_tele(&t), 0);
	t_mp_fini(&t);
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 1);
	t_mp_kstr(&t, 0, "");
	assert_int_equal(t_tele(&t), MX_ERANGE);
	t_mp_fini(&t);

	/* helo of 256 bytes, fingerprint of 65 */
	t_mp_init(&t);
	t_mp_tele_head(&t);
	msgpack_pack_array(&t.pk, 1);
	t_mp_event_min(&t, 1);
	t_mp_u(&t, 6);
	t_mp_strn(&t, PROTO_HELO_MAX + 1, 'h');
	assert_int_equal(t_tele(&t), MX_ETOOBIG);
	t_mp_fini(&t);
	t_mp_init(&t);
	t_mp_tele_head(&t);
	msgpack_pack_array(&t.pk, 1);
	t_mp_event_min(&t, 1);
	t_mp_u(&t, 14);
	msgpack_pack_array(&t.pk, 1);
	t_mp_bin(&t, big_fp, sizeof(big_fp));
	assert_int_equal(t_tele(&t), MX_ETOOBIG);
	t_mp_fini(&t);

	/* record reason of 129 bytes, status version of 33 */
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, 1);
	t_mp_record_ip(&t, 1);
	t_mp_u(&t, 9);
	t_mp_strn(&t, PROTO_REASON_MAX + 1, 'r');
	assert_int_equal(t_update(&t), MX_ETOOBIG);
	t_mp_fini(&t);
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_STATUS);
	msgpack_pack_map(&t.pk, 5);
	t_mp_kstr(&t, 0, "e");
	t_mp_kstr(&t, 1, "p");
	t_mp_ku(&t, 2, 1);
	t_mp_ku(&t, 3, 1);
	t_mp_u(&t, 4);
	t_mp_strn(&t, PROTO_VERSION_STR_MAX + 1, 'v');
	assert_int_equal(
	    proto_status_decode((const uint8_t *)t.sb.data, t.sb.size, NULL),
	    MX_ETOOBIG);
	t_mp_fini(&t);
}

static void
test_wrong_msgpack_type_is_etype(void **state)
{
	struct t_mp t;

	(void)state;
	/* edge id as bin */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 1);
	t_mp_u(&t, 0);
	t_mp_bin(&t, "e", 1);
	assert_int_equal(t_tele(&t), MX_ETYPE);
	t_mp_fini(&t);
	/* seq as str */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_map(&t.pk, 3);
	t_mp_kstr(&t, 0, "e");
	t_mp_kstr(&t, 1, "p");
	t_mp_kstr(&t, 2, "1");
	assert_int_equal(t_tele(&t), MX_ETYPE);
	t_mp_fini(&t);
	/* body not a map; events not an array; record not a map */
	t_mp_init(&t);
	t_mp_env(&t, PROTO_MSG_TELEMETRY);
	msgpack_pack_array(&t.pk, 0);
	assert_int_equal(t_tele(&t), MX_ETYPE);
	t_mp_fini(&t);
	t_mp_init(&t);
	t_mp_tele_head(&t);
	msgpack_pack_map(&t.pk, 0);
	assert_int_equal(t_tele(&t), MX_ETYPE);
	t_mp_fini(&t);
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_nil(&t.pk);
	assert_int_equal(t_update(&t), MX_ETYPE);
	t_mp_fini(&t);
	/* record key as str */
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_map(&t.pk, 4);
	t_mp_ku(&t, 0, PROTO_KIND_IP);
	t_mp_ku(&t, 1, PROTO_OP_PUT);
	t_mp_kstr(&t, 2, "abcd");
	t_mp_ku(&t, 3, 1);
	assert_int_equal(t_update(&t), MX_ETYPE);
	t_mp_fini(&t);
}

static void
test_bad_record_fails_record_check(void **state)
{
	static const uint8_t ip5[5] = {1, 2, 3, 4, 5};
	static const uint8_t mapped[16] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
	struct t_mp t;

	(void)state;
	/* kind 9 */
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_map(&t.pk, 4);
	t_mp_ku(&t, 0, 9);
	t_mp_ku(&t, 1, PROTO_OP_PUT);
	t_mp_u(&t, 2);
	t_mp_bin(&t, ip5, 4);
	t_mp_ku(&t, 3, 1);
	assert_int_equal(t_update(&t), MX_ERANGE);
	t_mp_fini(&t);
	/* kind 256 does not even fit the field */
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_map(&t.pk, 1);
	t_mp_ku(&t, 0, 256);
	assert_int_equal(t_update(&t), MX_ERANGE);
	t_mp_fini(&t);
	/* an ip key of 5 bytes; a v4-mapped v6 key (not canonical) */
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_map(&t.pk, 4);
	t_mp_ku(&t, 0, PROTO_KIND_IP);
	t_mp_ku(&t, 1, PROTO_OP_PUT);
	t_mp_u(&t, 2);
	t_mp_bin(&t, ip5, 5);
	t_mp_ku(&t, 3, 1);
	assert_int_equal(t_update(&t), MX_EINVAL);
	t_mp_fini(&t);
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, 1);
	msgpack_pack_map(&t.pk, 4);
	t_mp_ku(&t, 0, PROTO_KIND_IP);
	t_mp_ku(&t, 1, PROTO_OP_PUT);
	t_mp_u(&t, 2);
	t_mp_bin(&t, mapped, 16);
	t_mp_ku(&t, 3, 1);
	assert_int_equal(t_update(&t), MX_EINVAL);
	t_mp_fini(&t);
	/* action 5; a control byte in the reason */
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, 1);
	t_mp_record_ip(&t, 1);
	t_mp_ku(&t, 4, PROTO_ACT_MAX + 1);
	assert_int_equal(t_update(&t), MX_ERANGE);
	t_mp_fini(&t);
	t_mp_init(&t);
	t_mp_update_head(&t, 5);
	t_mp_u(&t, 7);
	msgpack_pack_array(&t.pk, 1);
	t_mp_record_ip(&t, 1);
	t_mp_kstr(&t, 9, "bad\nreason");
	assert_int_equal(t_update(&t), MX_EINVAL);
	t_mp_fini(&t);
}

static void
test_callback_stops_decoding(void **state)
{
	struct proto_telemetry_hdr h;
	struct proto_event ev[3];
	struct proto_batch_hdr bh;
	struct proto_record r[3];
	struct t_evs ce;
	struct t_recs cr;
	struct mx_buf b;
	size_t i;

	(void)state;
	t_example_tele_hdr(&h);
	for (i = 0; i < 3; i++)
		t_example_event(&ev[i]);
	mx_buf_init(&b, PROTO_MSG_MAX);
	assert_int_equal(proto_telemetry_encode(&b, &h, ev, 3), 0);
	t_evs_new(&ce, 3);
	ce.stop_at = 1;
	assert_int_equal(
	    proto_telemetry_decode(b.data, b.len, &h, t_evs_cb, &ce), 42);
	assert_int_equal(ce.n, 1);
	free(ce.ev);

	mx_buf_reset(&b);
	t_example_batch(&bh, false);
	for (i = 0; i < 3; i++)
		t_example_rec_domain(&r[i]);
	assert_int_equal(proto_update_body_encode(&b, &bh, r, 3), 0);
	t_recs_new(&cr, 3);
	cr.stop_at = 2;
	assert_int_equal(
	    proto_update_body_decode(b.data, b.len, &bh, t_recs_cb, &cr), 42);
	assert_int_equal(cr.n, 2);
	free(cr.r);
	mx_buf_fini(&b);
}

static void
test_noncanonical_ints_accepted(void **state)
{
	/* seq 5 as uint64 and as int8, verdict as int16: any width decodes */
	static const uint8_t seq64[] = {0xcf, 0, 0, 0, 0, 0, 0, 0, 5};
	static const uint8_t seq_i8[] = {0xd0, 5};
	struct proto_telemetry_hdr h;
	struct t_mp t;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		t_mp_init(&t);
		t_mp_env(&t, PROTO_MSG_TELEMETRY);
		msgpack_pack_map(&t.pk, 4);
		t_mp_kstr(&t, 0, "e");
		t_mp_kstr(&t, 1, "p");
		t_mp_u(&t, 2);
		if (i == 0)
			t_mp_raw(&t, seq64, sizeof(seq64));
		else
			t_mp_raw(&t, seq_i8, sizeof(seq_i8));
		t_mp_u(&t, 4);
		msgpack_pack_array(&t.pk, 0);
		assert_int_equal(
		    proto_telemetry_decode(
		        (const uint8_t *)t.sb.data, t.sb.size, &h, NULL, NULL),
		    0);
		assert_int_equal(h.seq, 5);
		t_mp_fini(&t);
	}
}

/* --- the pull reader itself ----------------------------------------------- */

static void
test_mp_reader_types_and_bounds(void **state)
{
	static const uint8_t all[] = {
	    0xc0,                         /* nil */
	    0xc3,                         /* true */
	    0xca, 0, 0, 0, 0,             /* float32 */
	    0xcb, 0, 0, 0, 0, 0, 0, 0, 0, /* float64 */
	    0xd4, 1, 0,                   /* fixext1 */
	    0xc7, 2, 1, 0, 0,             /* ext8 */
	    0xc8, 0, 1, 1, 0,             /* ext16 */
	    0xc9, 0, 0, 0, 0, 1,          /* ext32, empty */
	    0xc5, 0, 1, 0x41,             /* bin16 */
	    0xda, 0, 1, 0x41,             /* str16 */
	    0xde, 0, 1, 1, 2,             /* map16 */
	    0xdc, 0, 1, 0xe0,             /* array16 [-32] */
	};
	static const uint8_t c1[] = {0xc1};
	static const uint8_t neg[] = {0xd1, 0x80, 0x00};
	static const uint8_t cut_u32[] = {0xce, 0, 0};
	static const uint8_t cut_ext[] = {0xd8, 1, 0};
	struct proto_mp m;
	struct proto_str s;
	uint64_t u;
	int64_t i;
	bool b;
	size_t k;

	(void)state;
	proto_mp_init(&m, all, sizeof(all));
	assert_int_equal(proto_mp_nil(&m), 0);
	assert_int_equal(proto_mp_nil(&m), MX_ETYPE);
	assert_int_equal(proto_mp_bool(&m, &b), 0);
	assert_true(b);
	for (k = 0; k < 10; k++)
		assert_int_equal(proto_mp_skip(&m, 1), 0);
	assert_int_equal(proto_mp_left(&m), 0);
	assert_int_equal(proto_mp_end(&m), 0);
	assert_int_equal(proto_mp_skip(&m, 1), MX_ETRUNC);

	proto_mp_init(&m, c1, sizeof(c1));
	assert_int_equal(proto_mp_skip(&m, 1), MX_ETYPE);
	assert_int_equal(proto_mp_end(&m), MX_ETRAIL);

	proto_mp_init(&m, neg, sizeof(neg));
	assert_int_equal(proto_mp_uint(&m, UINT64_MAX, &u), MX_ERANGE);
	assert_int_equal(proto_mp_int(&m, -32767, 0, &i), MX_ERANGE);
	assert_int_equal(proto_mp_bool(&m, &b), MX_ETYPE);
	assert_int_equal(proto_mp_int(&m, INT16_MIN, 0, &i), 0);
	assert_int_equal(i, INT16_MIN);

	proto_mp_init(&m, cut_u32, sizeof(cut_u32));
	assert_int_equal(proto_mp_uint(&m, UINT64_MAX, &u), MX_ETRUNC);
	assert_int_equal(proto_mp_left(&m), sizeof(cut_u32));
	proto_mp_init(&m, cut_ext, sizeof(cut_ext));
	assert_int_equal(proto_mp_skip(&m, 1), MX_ETRUNC);
	assert_int_equal(proto_mp_left(&m), sizeof(cut_ext));

	/* str min and max */
	{
		static const uint8_t abc[] = {0xa3, 'a', 'b', 'c'};

		proto_mp_init(&m, abc, sizeof(abc));
		assert_int_equal(proto_mp_str(&m, 0, 2, &s), MX_ETOOBIG);
		assert_int_equal(proto_mp_str(&m, 4, 9, &s), MX_ERANGE);
		assert_int_equal(proto_mp_bin(&m, 0, 9, &s), MX_ETYPE);
		assert_int_equal(proto_mp_str(&m, 3, 3, &s), 0);
		assert_int_equal(s.len, 3);
		assert_memory_equal(s.p, "abc", 3);
	}
	/* uint64 max and int64 bounds */
	{
		static const uint8_t umax[] = {
		    0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

		proto_mp_init(&m, umax, sizeof(umax));
		assert_int_equal(
		    proto_mp_int(&m, INT64_MIN, INT64_MAX, &i), MX_ERANGE);
		assert_int_equal(
		    proto_mp_uint(&m, UINT64_MAX - 1, &u), MX_ERANGE);
		assert_int_equal(proto_mp_uint(&m, UINT64_MAX, &u), 0);
		assert_true(u == UINT64_MAX);
	}
	proto_mp_init(&m, NULL, 0);
	assert_int_equal(proto_mp_end(&m), 0);
	assert_int_equal(proto_mp_nil(&m), MX_ETRUNC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector_telemetry),
	    cmocka_unit_test(test_vector_status),
	    cmocka_unit_test(test_vector_update),
	    cmocka_unit_test(test_vector_snapshot),
	    cmocka_unit_test(test_vector_feed),
	    cmocka_unit_test(test_vector_signed),
	    cmocka_unit_test(test_docs_carry_every_vector),
	    cmocka_unit_test(test_seed_corpus_valid_and_bad_as_named),
	    cmocka_unit_test(test_telemetry_roundtrip_every_field),
	    cmocka_unit_test(test_telemetry_roundtrip_minimal),
	    cmocka_unit_test(test_telemetry_fp_sig_length),
	    cmocka_unit_test(test_telemetry_limits_at_max_pass),
	    cmocka_unit_test(test_status_roundtrip),
	    cmocka_unit_test(test_update_roundtrip),
	    cmocka_unit_test(
	        test_update_records_at_limit_pass_one_past_refused),
	    cmocka_unit_test(test_snapshot_roundtrip),
	    cmocka_unit_test(test_feed_roundtrip),
	    cmocka_unit_test(test_signed_roundtrip_and_peek),
	    cmocka_unit_test(test_signed_large_body_at_limit),
	    cmocka_unit_test(test_encode_too_big_restores_len),
	    cmocka_unit_test(test_encode_invalid_fields_refused),
	    cmocka_unit_test(test_truncated_at_every_offset_fails),
	    cmocka_unit_test(test_wrong_version_and_type),
	    cmocka_unit_test(test_signed_decode_errors),
	    cmocka_unit_test(test_huge_declared_counts_fail_without_allocation),
	    cmocka_unit_test(test_array_over_limit_is_elimit),
	    cmocka_unit_test(test_deep_unknown_value_is_edepth),
	    cmocka_unit_test(test_unknown_keys_skipped),
	    cmocka_unit_test(test_unknown_keys_skipped_in_every_map),
	    cmocka_unit_test(test_null_arguments_are_einval),
	    cmocka_unit_test(test_missing_required_is_emissing),
	    cmocka_unit_test(test_duplicate_key_is_edup_descending_is_eproto),
	    cmocka_unit_test(test_out_of_range_is_erange),
	    cmocka_unit_test(test_string_over_max_is_etoobig),
	    cmocka_unit_test(test_wrong_msgpack_type_is_etype),
	    cmocka_unit_test(test_bad_record_fails_record_check),
	    cmocka_unit_test(test_callback_stops_decoding),
	    cmocka_unit_test(test_noncanonical_ints_accepted),
	    cmocka_unit_test(test_mp_reader_types_and_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
