/*
 * hub_feed.c - feed and analyst submissions on mxs/v1/feed/<source>
 *
 * A submission is a signed feed message. It is accepted only when the
 * topic's source has a configured key (feed_key = SOURCE=FILE; two for
 * one source while its key is rotated), the signature verifies with one
 * of them, the body names the same source, every
 * record passes proto_record_check, and its serial is above the last one
 * accepted from that source (a replayed submission is refused). Records
 * are merged with their provenance: the source is the topic's (whatever
 * the record says), the audit line names the submitter (who), and the
 * record's version is the hub's clock, so a later change always wins.
 * Trust: hostile until all of the above holds; the whole body is decoded
 * and checked before any record is applied. Limits: those of proto_msg.h.
 */
#include "hub/hub.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/mx_err.h"
#include "lib/mx_log.h"

struct hub_feed_ctx {
	struct hub_state *st;
	const char *source;
	char who[HUB_FEED_WHO_MAX];
	uint64_t now_ms;
	size_t applied;
	int rc;
};

/* hub_feed_check_rec - validation pass: every record must be valid */
static int
hub_feed_check_rec(void *arg, const struct proto_record *r)
{
	(void)arg;
	if (r->kind == PROTO_KIND_LOCAL_RCPT)
		return MX_EINVAL; /* an edge's own kind: never distributed */
	return proto_record_check(r);
}

/* hub_feed_apply_rec - one record with the feed's provenance */
static int
hub_feed_apply_rec(void *arg, const struct proto_record *in)
{
	struct hub_feed_ctx *x = arg;
	struct proto_record r = *in;
	char reason[PROTO_REASON_MAX + 1];
	int rc;

	snprintf(reason, sizeof(reason), "%.*s", (int)r.reason_len, r.reason);
	proto_record_set_text(&r, x->source, reason);
	r.ts_ms = x->now_ms;
	if ((rc = hub_state_change(x->st, &r, x->who)) != 0) {
		x->rc = rc;
		return rc;
	}
	x->applied++;
	return 0;
}

/* hub_feed_submit - verify, check, merge */
void
hub_feed_submit(const struct hub_conf *c, struct hub_state *st,
    const char *source, const uint8_t *p, size_t len)
{
	const struct hub_feed *f = hub_conf_feed(c, source, strlen(source));
	struct proto_str body, sig;
	struct proto_feed_hdr h;
	struct hub_feed_ctx x;
	struct timespec ts;
	unsigned type;
	uint64_t last;
	size_t i;
	int rc;

	if (f == NULL) {
		hub_metrics_inc(HUB_M_FEED_UNTRUSTED);
		mx_warn(
		    "feed %.64s: no key configured for this source; refused",
		    source);
		return;
	}
	rc = proto_signed_decode(p, len, &type, &body, &sig);
	if (rc == 0 && type != PROTO_MSG_FEED)
		rc = MX_ETYPE;
	if (rc != 0) {
		hub_metrics_inc(HUB_M_BAD_FEED);
		mx_warn("feed %.64s: malformed: %s", source, mx_strerror(rc));
		return;
	}
	for (i = 0; i < f->n_keys; i++)
		if (proto_verify(
		        f->key[i], type, body.p, body.len, sig.p, sig.len) == 0)
			break;
	if (i == f->n_keys) {
		hub_metrics_inc(HUB_M_FEED_FORGED);
		mx_warn(
		    "feed %.64s: signature does not verify; refused", source);
		return;
	}
	rc = proto_feed_body_decode(
	    body.p, body.len, &h, hub_feed_check_rec, NULL);
	if (rc == 0 && (h.source.len != strlen(source) ||
	                   memcmp(h.source.p, source, h.source.len) != 0))
		rc = MX_EINVAL;
	if (rc != 0) {
		hub_metrics_inc(HUB_M_BAD_FEED);
		mx_warn("feed %.64s: refused: %s", source, mx_strerror(rc));
		return;
	}
	last = hub_state_feed_serial(st, source);
	if (h.serial <= last) {
		hub_metrics_inc(HUB_M_FEED_REPLAY);
		mx_warn("feed %.64s: serial %llu not above %llu (a replay); "
		        "refused",
		    source, (unsigned long long)h.serial,
		    (unsigned long long)last);
		return;
	}
	memset(&x, 0, sizeof(x));
	x.st = st;
	x.source = source;
	snprintf(x.who, sizeof(x.who), "feed:%s/%.*s", source,
	    (int)(h.who.len < 64 ? h.who.len : 64), (const char *)h.who.p);
	clock_gettime(CLOCK_REALTIME, &ts);
	x.now_ms =
	    (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	proto_feed_body_decode(body.p, body.len, &h, hub_feed_apply_rec, &x);
	if (x.rc == 0)
		x.rc = hub_state_set_feed_serial(st, source, h.serial);
	if (x.rc != 0) {
		mx_warn("feed %.64s: serial %llu: %s after %zu records", source,
		    (unsigned long long)h.serial, mx_strerror(x.rc), x.applied);
		return;
	}
	hub_metrics_inc(HUB_M_FEED_ACCEPTED);
	hub_metrics_add(HUB_M_FEED_RECORDS, (int64_t)x.applied);
	mx_info("feed %s: serial %llu from %s: %zu records accepted", source,
	    (unsigned long long)h.serial, x.who, x.applied);
}
