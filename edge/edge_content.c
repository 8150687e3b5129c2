/*
 * edge_content.c - the content layer: the streaming analyser of
 * proto_content.h run over the message as it streams, and the cache
 * lookups of what it finds
 *
 * A message that reaches DATA takes an analyser from its worker thread's
 * pool (a new one when the pool is empty) and gives it back when the
 * transaction ends, so an idle session holds none; the pool keeps at most
 * EDGE_CONTENT_POOL_MAX idle ones per worker. The analyser's state is
 * bounded by PROTO_CONTENT_MEM_MAX whatever the message size. What it learns is
 * published on the event channel as soon as it is known: URL hosts while
 * the body streams, attachment types and hashes as each attachment ends,
 * fingerprint band keys and the body hash at the end of data. This layer
 * subscribes to the fingerprint and hash events and looks them up
 * (PROTO_KIND_FP, PROTO_KIND_HASH); the envelope layer looks up URL hosts
 * and the policy layer judges attachment types.
 * A fingerprint band hit counts only when the record carries the
 * signature's compact form (proto_fp_sig8) and the similarity reaches
 * PROTO_FP_SIM_MIN: a band alone matches too much (docs/content.md).
 * Trust: message bytes from the Internet, bounded by the analyser.
 */
#include "edge/edge_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/mx_err.h"
#include "proto/proto_content.h"
#include "proto/proto_msg.h"

_Static_assert(PROTO_EV_FP_SIG_LEN == PROTO_FP_SIG_LEN,
    "telemetry carries the compact fingerprint signature whole");

/* idle analysers kept per worker thread (each ~48 KiB) */
#define EDGE_CONTENT_POOL_MAX 16

/* edge_content_pool - one worker thread's idle analysers */
static _Thread_local struct {
	struct proto_content *idle[EDGE_CONTENT_POOL_MAX];
	size_t n;
} edge_content_pool;

/* edge_content_pool_drain - free this thread's idle analysers */
void
edge_content_pool_drain(void)
{
	while (edge_content_pool.n > 0)
		proto_content_free(
		    edge_content_pool.idle[--edge_content_pool.n]);
}

/* edge_content_cb - the analyser's events onto the channel */
static void
edge_content_cb(void *arg, const struct proto_content_event *ev)
{
	struct edge_fctx *f = arg;

	if (ev->kind == PROTO_CEV_URL && ev->url != NULL) {
		edge_filter_publish(f, EDGE_FEV_URL_HOST,
		    (const uint8_t *)ev->url->host, ev->url->host_len);
	} else if (ev->kind == PROTO_CEV_ATTACH && ev->attach != NULL) {
		uint8_t key[PROTO_HASH_KEY_LEN];

		edge_filter_publish(f, EDGE_FEV_ATTACH,
		    (const uint8_t *)ev->attach, sizeof(*ev->attach));
		proto_content_hash_key(
		    PROTO_HASH_ATTACH, ev->attach->sha256, key);
		edge_filter_publish(f, EDGE_FEV_HASH, key, sizeof(key));
	}
}

/* edge_content_data - a message starts */
static void
edge_content_data(struct edge_fctx *f)
{
	int rc;

	f->content_ok = 0;
	f->content_lite = 0;
	if (f->content == NULL && edge_content_pool.n > 0)
		f->content = edge_content_pool.idle[--edge_content_pool.n];
	if (f->content == NULL) {
		rc = proto_content_new(edge_content_cb, f, &f->content);
	} else {
		proto_content_bind(f->content, edge_content_cb, f);
		rc = proto_content_reset(f->content);
	}
	if (rc != 0) {
		edge_filter_layer_failed(f, EDGE_LAYER_CONTENT);
		return;
	}
	f->content_ok = 1;
}

/*
 * edge_content_overrun - past the budget, the first time in a message:
 * read on for structure only (proto_content_lite), so an attachment
 * behind padding made to exhaust the budget is still typed and judged;
 * the fingerprint and body hash of this message are lost. A second
 * overrun fails the layer (its fail rule).
 */
static int
edge_content_overrun(struct edge_fctx *f)
{
	if (!f->content_ok || f->content_lite)
		return 0;
	proto_content_lite(f->content);
	f->content_lite = 1;
	edge_metrics_inc(EDGE_C_CONTENT_LITE);
	return 1;
}

/* edge_content_body - stream the message through the analyser */
static void
edge_content_body(struct edge_fctx *f, const char *p, size_t len)
{
	if (!f->content_ok)
		return;
	if (proto_content_feed(f->content, p, len) != 0) {
		f->content_ok = 0;
		edge_filter_layer_failed(f, EDGE_LAYER_CONTENT);
	}
}

/* the counters follow the PROTO_CF_* bits one for one */
_Static_assert(PROTO_CF_LITE == 1u << (EDGE_C_CF_LITE - EDGE_C_CF_MIME_BROKEN),
    "EDGE_C_CF_* must follow the PROTO_CF_* bits");

/*
 * edge_content_count_flags - what the analyser found in a message, one
 * counter per flag (structural defects, bounds reached, attachment
 * types): a MIME bomb shows in /metrics even when nothing refuses it
 */
static void
edge_content_count_flags(uint32_t flags)
{
	unsigned bit;

	for (bit = 0; bit <= EDGE_C_CF_LITE - EDGE_C_CF_MIME_BROKEN; bit++)
		if (flags & (1u << bit))
			edge_metrics_inc(
			    (enum edge_ctr)(EDGE_C_CF_MIME_BROKEN + bit));
}

/* edge_content_eod - fingerprint and body hash onto the channel */
static void
edge_content_eod(struct edge_fctx *f)
{
	const struct proto_content_result *res;
	uint8_t key[PROTO_HASH_KEY_LEN];
	unsigned b;

	if (!f->content_ok)
		return;
	if (proto_content_finish(f->content) != 0) {
		edge_filter_layer_failed(f, EDGE_LAYER_CONTENT);
		return;
	}
	res = proto_content_result(f->content);
	f->content_flags = res->flags;
	edge_content_count_flags(res->flags);
	if (res->has_body_hash) {
		proto_content_hash_key(PROTO_HASH_BODY, res->body_sha256, key);
		edge_filter_publish(f, EDGE_FEV_HASH, key, sizeof(key));
	}
	if (res->fp.is_valid) {
		uint8_t sig[PROTO_FP_SIG_LEN];

		for (b = 0; b < PROTO_FP_BANDS && !f->fp_matched; b++)
			edge_filter_publish(f, EDGE_FEV_FP_BAND,
			    res->fp.keys[b], PROTO_FP_KEY_LEN);
		/* for telemetry: what a hub's fp record must carry */
		proto_fp_sig8(&res->fp, sig);
		edge_filter_publish(f, EDGE_FEV_FP_SIG, sig, sizeof(sig));
	}
}

/* edge_content_get - one exact cache lookup; 0 with *r, else an error */
static int
edge_content_get(struct edge_fctx *f, int kind, const uint8_t *key, size_t len,
    struct proto_record *r)
{
	int rc;

	if (f->rtxn == NULL)
		return MX_ENOTFOUND;
	if (proto_store_read_renew(f->rtxn) != 0)
		return MX_EIO;
	rc = proto_store_get(f->rtxn, kind, key, len, (uint64_t)time(NULL), r);
	proto_store_read_end(f->rtxn);
	return rc;
}

/* edge_content_event - look up fingerprint bands and hashes */
static void
edge_content_event(
    struct edge_fctx *f, enum edge_fev ev, const uint8_t *p, size_t len)
{
	char id[EDGE_FILTER_HIT_ID_MAX], hex[2 * 12 + 1];
	struct proto_record r;
	int kind = ev == EDGE_FEV_FP_BAND ? PROTO_KIND_FP : PROTO_KIND_HASH;
	int rc;

	if (ev != EDGE_FEV_FP_BAND && ev != EDGE_FEV_HASH)
		return;
	rc = edge_content_get(f, kind, p, len, &r);
	if (rc == MX_ENOTFOUND)
		return;
	if (rc != 0) {
		edge_filter_layer_failed(f, EDGE_LAYER_CONTENT);
		return;
	}
	if (kind == PROTO_KIND_FP) {
		const struct proto_content_result *res =
		    proto_content_result(f->content);

		/* a band is a candidate; the signature decides */
		if (proto_fp_similarity8(&res->fp, r.data, r.data_len) <
		    PROTO_FP_SIM_MIN)
			return;
		f->fp_matched = 1;
	}
	if (proto_key_format(kind, p, len > 12 ? 12 : len, hex, sizeof(hex)) !=
	    0)
		hex[0] = '\0';
	snprintf(id, sizeof(id), "%s:%s", kind == PROTO_KIND_FP ? "fp" : "hash",
	    hex);
	edge_filter_hit_add(f, EDGE_LAYER_CONTENT, &r, id, r.score, r.action);
}

/* edge_content_txn_end - the analyser goes back to the worker's pool */
static void
edge_content_txn_end(struct edge_fctx *f)
{
	f->content_ok = 0;
	if (f->content == NULL)
		return;
	if (edge_content_pool.n < EDGE_CONTENT_POOL_MAX) {
		proto_content_bind(f->content, NULL, NULL);
		edge_content_pool.idle[edge_content_pool.n++] = f->content;
	} else {
		proto_content_free(f->content);
	}
	f->content = NULL;
}

const struct edge_layer edge_layer_content = {
    .name = "content",
    .data = edge_content_data,
    .body = edge_content_body,
    .eod = edge_content_eod,
    .txn_end = edge_content_txn_end,
    .overrun = edge_content_overrun,
    .subscribes = (1u << EDGE_FEV_FP_BAND) | (1u << EDGE_FEV_HASH),
    .on_event = edge_content_event,
};
