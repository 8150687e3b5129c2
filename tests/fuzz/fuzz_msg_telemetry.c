/*
 * fuzz_msg_telemetry.c - libFuzzer target for proto_telemetry_decode
 *
 * Oracles: an accepted batch peeks as type 1; every view points inside
 * the input; the header is complete before the first event reaches the
 * callback; the batch re-encodes without error, decodes again to the same
 * header and events, re-encodes to the same bytes, and is never longer
 * than the input. A broken oracle aborts.
 * Trust: the input is arbitrary bytes, passed as (pointer, length).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/mx_buf.h"
#include "proto/proto_msg.h"
#include "tests/fuzz/fuzz_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the events of the first decode, compared by the second */
static struct proto_event fuzz_msg_evs[PROTO_BATCH_EVENTS_MAX];

struct fuzz_msg_tele {
	const uint8_t *in; /* the input, for view checks */
	size_t in_len;
	size_t n; /* events seen */
	bool cmp; /* second pass: compare instead of store */
};

/* fuzz_msg_views_in - n views inside the input */
static bool
fuzz_msg_views_in(
    const struct proto_str *v, size_t n, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!fuzz_msg_view_in(v[i], p, len))
			return false;
	return true;
}

/* fuzz_msg_event_in - every view of an event inside the input */
static bool
fuzz_msg_event_in(const struct proto_event *ev, const uint8_t *p, size_t n)
{
	size_t i;

	if (!fuzz_msg_view_in(ev->helo, p, n) ||
	    !fuzz_msg_view_in(ev->sender_domain, p, n) ||
	    !fuzz_msg_view_in(ev->country, p, n) ||
	    !fuzz_msg_views_in(ev->reasons, ev->n_reasons, p, n) ||
	    !fuzz_msg_views_in(ev->fps, ev->n_fps, p, n) ||
	    !fuzz_msg_views_in(ev->hashes, ev->n_hashes, p, n) ||
	    !fuzz_msg_views_in(ev->urls, ev->n_urls, p, n))
		return false;
	for (i = 0; i < ev->n_rcpts; i++)
		if (!fuzz_msg_view_in(ev->rcpts[i].hash, p, n) ||
		    !fuzz_msg_view_in(ev->rcpts[i].domain, p, n))
			return false;
	return true;
}

/* fuzz_msg_views_eq - two arrays of views */
static bool
fuzz_msg_views_eq(
    const struct proto_str *a, const struct proto_str *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!fuzz_msg_view_eq(a[i], b[i]))
			return false;
	return true;
}

/* fuzz_msg_event_eq - every field of two events */
static bool
fuzz_msg_event_eq(const struct proto_event *a, const struct proto_event *b)
{
	size_t i;

	if (a->ts_ms != b->ts_ms || a->type != b->type ||
	    a->ip_len != b->ip_len || a->ip_len > sizeof(a->ip) ||
	    memcmp(a->ip, b->ip, a->ip_len) != 0 || a->asn != b->asn ||
	    a->rcpt_ok != b->rcpt_ok || a->rcpt_unknown != b->rcpt_unknown ||
	    a->size != b->size || a->verdict != b->verdict ||
	    a->score != b->score || a->flags != b->flags)
		return false;
	if (!fuzz_msg_view_eq(a->helo, b->helo) ||
	    !fuzz_msg_view_eq(a->sender_domain, b->sender_domain) ||
	    !fuzz_msg_view_eq(a->country, b->country))
		return false;
	if (a->n_reasons != b->n_reasons || a->n_fps != b->n_fps ||
	    a->n_hashes != b->n_hashes || a->n_urls != b->n_urls ||
	    a->n_rcpts != b->n_rcpts)
		return false;
	if (!fuzz_msg_views_eq(a->reasons, b->reasons, a->n_reasons) ||
	    !fuzz_msg_views_eq(a->fps, b->fps, a->n_fps) ||
	    !fuzz_msg_views_eq(a->hashes, b->hashes, a->n_hashes) ||
	    !fuzz_msg_views_eq(a->urls, b->urls, a->n_urls))
		return false;
	for (i = 0; i < a->n_rcpts; i++)
		if (!fuzz_msg_view_eq(a->rcpts[i].hash, b->rcpts[i].hash) ||
		    !fuzz_msg_view_eq(a->rcpts[i].domain, b->rcpts[i].domain) ||
		    a->rcpts[i].result != b->rcpts[i].result)
			return false;
	return true;
}

/* fuzz_msg_tele_cb - store (first pass) or compare (second) each event */
static int
fuzz_msg_tele_cb(void *arg, const struct proto_telemetry_hdr *h,
    const struct proto_event *ev)
{
	struct fuzz_msg_tele *c = arg;

	fuzz_msg_check(c->n < PROTO_BATCH_EVENTS_MAX);
	/* required header fields precede the events */
	fuzz_msg_check(h->edge_id.len >= 1 && h->pop.len >= 1);
	if (c->cmp) {
		fuzz_msg_check(fuzz_msg_event_eq(&fuzz_msg_evs[c->n], ev));
	} else {
		fuzz_msg_check(fuzz_msg_event_in(ev, c->in, c->in_len));
		fuzz_msg_check(ev->ip_len == 4 || ev->ip_len == 16);
		fuzz_msg_evs[c->n] = *ev;
	}
	c->n++;
	return 0;
}

/* fuzz_msg_tele_hdr_eq - two telemetry headers */
static bool
fuzz_msg_tele_hdr_eq(
    const struct proto_telemetry_hdr *a, const struct proto_telemetry_hdr *b)
{
	return fuzz_msg_view_eq(a->edge_id, b->edge_id) &&
	       fuzz_msg_view_eq(a->pop, b->pop) && a->seq == b->seq &&
	       a->dropped == b->dropped && a->n_events == b->n_events;
}

/* LLVMFuzzerTestOneInput - one input through the telemetry decoder */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_msg_tele c = {data, size, 0, false};
	struct proto_telemetry_hdr h, h2;
	struct mx_buf out, out2;
	unsigned type;
	int rc;

	rc = proto_telemetry_decode(data, size, &h, fuzz_msg_tele_cb, &c);
	if (rc != 0) {
		fuzz_msg_check(rc < 0);
		return 0;
	}
	fuzz_msg_check(proto_msg_peek(data, size, &type) == 0 &&
	               type == PROTO_MSG_TELEMETRY);
	fuzz_msg_check(h.n_events == c.n);
	fuzz_msg_check(fuzz_msg_view_in(h.edge_id, data, size) &&
	               fuzz_msg_view_in(h.pop, data, size));

	mx_buf_init(&out, PROTO_MSG_MAX);
	mx_buf_init(&out2, PROTO_MSG_MAX);
	fuzz_msg_check(
	    proto_telemetry_encode(&out, &h, fuzz_msg_evs, c.n) == 0);
	c.n = 0;
	c.cmp = true;
	fuzz_msg_check(proto_telemetry_decode(
	                   out.data, out.len, &h2, fuzz_msg_tele_cb, &c) == 0);
	fuzz_msg_check(fuzz_msg_tele_hdr_eq(&h, &h2));
	fuzz_msg_check(
	    proto_telemetry_encode(&out2, &h2, fuzz_msg_evs, c.n) == 0);
	fuzz_msg_check(
	    out.len == out2.len && memcmp(out.data, out2.data, out.len) == 0);
	fuzz_msg_check(out.len <= size);
	mx_buf_fini(&out2);
	mx_buf_fini(&out);
	return 0;
}
