/*
 * edge_filter.c - the filter chain: layer table, stages, event channel,
 * time budgets and fail rules
 *
 * Every stage of a session runs the enabled layers in table order (the
 * cheapest first), times each one against its budget, and asks the
 * policy layer for the verdict so far. A layer that overruns its budget
 * or reports a failure gets its configured rule: fail open (counted, the
 * message goes on) or fail closed (a tempfail hit). Hits name the record
 * (kind, key, source, version) or rule that produced them, so every
 * verdict can be traced.
 * Trust: the layers see bounded sender input and cache records; this
 * file only orders them and keeps bounded arrays (EDGE_FILTER_HITS_MAX).
 */
#include "edge/edge_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/mx_log.h"
#include "proto/proto_content.h"

static const struct edge_layer *const edge_filter_table[EDGE_LAYER__COUNT] = {
    [EDGE_LAYER_IP] = &edge_layer_ip,
    [EDGE_LAYER_GEO] = &edge_layer_geo,
    [EDGE_LAYER_PROTOCOL] = &edge_layer_protocol,
    [EDGE_LAYER_ENVELOPE] = &edge_layer_envelope,
    [EDGE_LAYER_CONTENT] = &edge_layer_content,
    [EDGE_LAYER_POLICY] = &edge_layer_policy,
};

/* edge_filter_layer_name - the table name of a layer */
const char *
edge_filter_layer_name(int layer)
{
	if (layer < 0 || layer >= EDGE_LAYER__COUNT)
		return "?";
	return edge_filter_table[layer]->name;
}

/* edge_filter_now_ns - monotonic nanoseconds */
static uint64_t
edge_filter_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* edge_filter_on - is a layer enabled in this configuration */
static int
edge_filter_on(const struct edge_fctx *f, int layer)
{
	return (f->conf->filter_off & (1u << layer)) == 0;
}

/* edge_filter_layer_failed - apply the layer's fail rule, once a txn */
void
edge_filter_layer_failed(struct edge_fctx *f, enum edge_layer_id layer)
{
	char id[EDGE_FILTER_HIT_ID_MAX];

	if (f->layer_failed & (1u << layer))
		return;
	f->layer_failed |= 1u << layer;
	edge_metrics_inc((enum edge_ctr)(EDGE_C_LAYER_FAIL_IP + layer));
	if (f->conf->filter_fail_closed & (1u << layer)) {
		snprintf(
		    id, sizeof(id), "%s:failed", edge_filter_layer_name(layer));
		edge_filter_hit_add(f, layer, NULL, id, 0, PROTO_ACT_TEMPFAIL);
	}
}

/* edge_filter_timed - account a hook's time; over budget = failure */
static void
edge_filter_timed(struct edge_fctx *f, int layer, uint64_t t0)
{
	const struct edge_layer *l = edge_filter_table[layer];

	f->layer_ns[layer] += edge_filter_now_ns() - t0;
	if (f->layer_ns[layer] <= f->conf->filter_budget_time * 1000000u)
		return;
	/* a layer that fails open may carry on degraded, once */
	if (l->overrun != NULL &&
	    !(f->conf->filter_fail_closed & (1u << layer)) && l->overrun(f)) {
		f->layer_ns[layer] = 0;
		return;
	}
	edge_filter_layer_failed(f, (enum edge_layer_id)layer);
}

/*
 * EDGE_FILTER_RUN - call a hook of every enabled layer, timed. A layer
 * that failed or overran in this transaction is not called again until
 * the next one: its fail rule stands, and the chain's time stays within
 * the layers' budgets (plus one hook call each).
 */
#define EDGE_FILTER_RUN(f, hook, ...)                                          \
	do {                                                                   \
		int i_;                                                        \
		for (i_ = 0; i_ < EDGE_LAYER__COUNT; i_++) {                   \
			const struct edge_layer *l_ = edge_filter_table[i_];   \
			uint64_t t0_;                                          \
			if (l_->hook == NULL || !edge_filter_on((f), i_) ||    \
			    ((f)->layer_failed & (1u << i_)))                  \
				continue;                                      \
			t0_ = edge_filter_now_ns();                            \
			l_->hook((f), ##__VA_ARGS__);                          \
			edge_filter_timed((f), i_, t0_);                       \
		}                                                              \
	} while (0)

/* edge_filter_publish - deliver an event to every subscriber */
void
edge_filter_publish(
    struct edge_fctx *f, enum edge_fev ev, const uint8_t *p, size_t len)
{
	int i;

	for (i = 0; i < EDGE_LAYER__COUNT; i++) {
		const struct edge_layer *l = edge_filter_table[i];
		uint64_t t0;

		if (l->on_event == NULL || !(l->subscribes & (1u << ev)) ||
		    !edge_filter_on(f, i) || (f->layer_failed & (1u << i)))
			continue;
		t0 = edge_filter_now_ns();
		l->on_event(f, ev, p, len);
		edge_filter_timed(f, i, t0);
	}
	/* the session (telemetry) is a subscriber like any other */
	if (f->listener != NULL)
		f->listener(f->listener_arg, ev, p, len);
}

/* edge_filter_severity - order of actions for "the strongest" */
static int
edge_filter_severity(uint8_t a)
{
	switch (a) {
	case PROTO_ACT_REJECT:
		return 3;
	case PROTO_ACT_TEMPFAIL:
		return 2;
	case PROTO_ACT_TAG:
		return 1;
	default:
		return 0;
	}
}

/* edge_filter_hit_add - record a hit and fold it in */
void
edge_filter_hit_add(struct edge_fctx *f, enum edge_layer_id layer,
    const struct proto_record *r, const char *id, int32_t score, uint8_t action)
{
	struct edge_filter_hit *h;
	int in_txn = f->in_txn;
	int observe = r != NULL && (r->flags & PROTO_RF_OBSERVE);

	if (in_txn && f->n_hits < EDGE_FILTER_HITS_MAX)
		h = &f->hits[f->n_hits++];
	else if (!in_txn && f->n_conn_hits < EDGE_FILTER_HITS_MAX / 2)
		h = &f->conn_hits[f->n_conn_hits++];
	else {
		f->n_hits_dropped++;
		h = NULL;
	}
	if (h != NULL) {
		memset(h, 0, sizeof(*h));
		h->layer = (uint8_t)layer;
		h->kind = r ? r->kind : 0;
		h->action = action;
		h->is_observe = (uint8_t)observe;
		h->score = score;
		h->version = r ? r->ts_ms : 0;
		snprintf(h->id, sizeof(h->id), "%s", id);
		if (r != NULL)
			snprintf(h->source, sizeof(h->source), "%.*s",
			    (int)r->source_len, r->source);
		else
			snprintf(h->source, sizeof(h->source), "rule");
	}
	/* observe mode: evaluated and reported, never acted on */
	if (observe) {
		edge_metrics_inc(EDGE_C_FILTER_OBSERVED);
		return;
	}
	if (action == PROTO_ACT_ALLOW) {
		if (in_txn)
			f->is_txn_allowed = 1;
		else
			f->is_allowed = 1;
		return;
	}
	if (in_txn)
		f->score += score;
	else
		f->conn_score += score;
	if (edge_filter_severity(action) >
	    edge_filter_severity(in_txn ? f->action : f->conn_action)) {
		if (in_txn)
			f->action = action;
		else
			f->conn_action = action;
		snprintf(f->reason, sizeof(f->reason), "%s", id);
	}
}

/* edge_filter_decide - the verdict so far (the policy layer's rules) */
static void
edge_filter_decide(struct edge_fctx *f, struct edge_fverdict *v)
{
	const struct edge_conf *c = f->conf;
	int32_t total = f->conn_score + (f->in_txn ? f->score : 0);
	uint8_t a = f->conn_action;
	int64_t reject_at = f->reject_score;

	if (f->in_txn &&
	    edge_filter_severity(f->action) > edge_filter_severity(a))
		a = f->action;
	v->score = total;
	v->reason = f->reason;
	/* allow-lists win over everything */
	if (f->is_allowed || f->is_txn_allowed) {
		v->action = PROTO_ACT_ALLOW;
		return;
	}
	if (edge_filter_severity(a) >= 2) {
		v->action = a;
		return;
	}
	if (reject_at > 0 && total >= reject_at) {
		snprintf(f->reason, sizeof(f->reason), "score:%d", (int)total);
		v->action = PROTO_ACT_REJECT;
		return;
	}
	if (c->tempfail_score > 0 && total >= (int64_t)c->tempfail_score) {
		snprintf(f->reason, sizeof(f->reason), "score:%d", (int)total);
		v->action = PROTO_ACT_TEMPFAIL;
		return;
	}
	if (c->tag_score > 0 && total >= (int64_t)c->tag_score)
		a = PROTO_ACT_TAG;
	v->action = a;
}

/* edge_filter_session_begin - a session's context */
void
edge_filter_session_begin(struct edge_fctx *f, const struct edge_conf *c,
    struct proto_txn *rtxn, const uint8_t peer[16])
{
	memset(f, 0, sizeof(*f));
	f->conf = c;
	f->rtxn = rtxn;
	memcpy(f->peer, peer, 16);
	f->reject_score = (int64_t)c->reject_score;
}

/* edge_filter_session_end - release the content analyser */
void
edge_filter_session_end(struct edge_fctx *f)
{
	proto_content_free(f->content);
	f->content = NULL;
}

/* edge_filter_connect - the client is known */
void
edge_filter_connect(struct edge_fctx *f, struct edge_fverdict *v)
{
	EDGE_FILTER_RUN(f, connect);
	edge_filter_decide(f, v);
}

/* edge_filter_helo - HELO/EHLO argument */
void
edge_filter_helo(
    struct edge_fctx *f, const char *helo, size_t len, struct edge_fverdict *v)
{
	EDGE_FILTER_RUN(f, helo, helo, len);
	edge_filter_decide(f, v);
}

/* edge_filter_txn_begin - MAIL starts a transaction */
void
edge_filter_txn_begin(struct edge_fctx *f)
{
	f->in_txn = 1;
	f->score = 0;
	f->action = PROTO_ACT_SCORE;
	f->is_txn_allowed = 0;
	f->is_trap = 0;
	f->n_hits = 0;
	f->n_hits_dropped = 0;
	f->layer_failed = 0;
	f->reject_score = (int64_t)f->conf->reject_score;
	f->test_verdict[0] = '\0';
	f->in_body = 0;
	f->hlen = 0;
	memset(f->layer_ns, 0, sizeof(f->layer_ns));
	/* the reason of a connection-level action stays until replaced */
	if (edge_filter_severity(f->conn_action) == 0)
		f->reason[0] = '\0';
}

/* edge_filter_txn_end - back to connection level; layers let go */
void
edge_filter_txn_end(struct edge_fctx *f)
{
	int i;

	f->in_txn = 0;
	for (i = 0; i < EDGE_LAYER__COUNT; i++)
		if (edge_filter_table[i]->txn_end != NULL)
			edge_filter_table[i]->txn_end(f);
}

/* edge_filter_mail - sender domain */
void
edge_filter_mail(struct edge_fctx *f, const char *domain, size_t len,
    struct edge_fverdict *v)
{
	EDGE_FILTER_RUN(f, mail, domain, len);
	edge_filter_decide(f, v);
}

/* edge_filter_rcpt - one recipient */
void
edge_filter_rcpt(struct edge_fctx *f, const char *local, size_t llen,
    const char *domain, size_t dlen, struct edge_fverdict *v)
{
	uint8_t before = f->action;

	EDGE_FILTER_RUN(f, rcpt, local, llen, domain, dlen);
	if (f->rcpt_refused) {
		/* a per-recipient refusal (trap, blocked recipient) ends
		 * this recipient only; a trap's score stays with the
		 * transaction, which it marks */
		f->rcpt_refused = 0;
		f->action = before;
		edge_filter_decide(f, v);
		if (edge_filter_severity(v->action) <
		    edge_filter_severity(f->rcpt_action)) {
			v->action = f->rcpt_action;
			v->reason = f->rcpt_reason[0] ? f->rcpt_reason : "trap";
		}
		return;
	}
	edge_filter_decide(f, v);
}

/* edge_filter_data - DATA accepted downstream: body follows */
void
edge_filter_data(struct edge_fctx *f)
{
	EDGE_FILTER_RUN(f, data);
}

/* edge_filter_test_header - X-Mxs-Test-Verdict, when configured */
static void
edge_filter_test_header(struct edge_fctx *f, const char *p, size_t len)
{
	static const char name[] = "x-mxs-test-verdict:";
	size_t n = sizeof(name) - 1;

	while (len > 0 && !f->in_body) {
		const char *nl = memchr(p, '\n', len);
		size_t take = nl ? (size_t)(nl - p) : len;
		size_t room = sizeof(f->hbuf) - f->hlen;
		size_t cpy = take < room ? take : room;

		memcpy(f->hbuf + f->hlen, p, cpy);
		f->hlen += cpy;
		if (nl == NULL)
			return;
		if (f->hlen == 0 || (f->hlen == 1 && f->hbuf[0] == '\r')) {
			f->in_body = 1;
		} else if (f->hlen > n && strncasecmp(f->hbuf, name, n) == 0) {
			const char *v = f->hbuf + n;
			size_t vl = f->hlen - n;

			while (vl > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				vl--;
			}
			while (
			    vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			if (vl < sizeof(f->test_verdict)) {
				memcpy(f->test_verdict, v, vl);
				f->test_verdict[vl] = '\0';
			}
		}
		f->hlen = 0;
		p = nl + 1;
		len -= take + 1;
	}
}

/* edge_filter_body - unstuffed message bytes */
void
edge_filter_body(struct edge_fctx *f, const char *p, size_t len)
{
	if (f->conf->test_verdict_header)
		edge_filter_test_header(f, p, len);
	EDGE_FILTER_RUN(f, body, p, len);
}

/* edge_filter_hits_text - every hit's id, comma-separated, for logs */
void
edge_filter_hits_text(const struct edge_fctx *f, char *buf, size_t len)
{
	size_t i, o = 0;
	int n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < (size_t)f->n_conn_hits + (f->in_txn ? f->n_hits : 0u);
	     i++) {
		const struct edge_filter_hit *h =
		    i < f->n_conn_hits ? &f->conn_hits[i]
		                       : &f->hits[i - f->n_conn_hits];

		/* records carry their provenance: source and version */
		if (h->kind != 0)
			n = snprintf(buf + o, len - o, "%s%s[%s/%llu]%s%s",
			    o ? "," : "", h->id, h->source,
			    (unsigned long long)h->version,
			    h->is_observe ? "(observe)" : "",
			    h->action == PROTO_ACT_ALLOW ? "(allow)" : "");
		else
			n = snprintf(buf + o, len - o, "%s%s%s", o ? "," : "",
			    h->id,
			    h->action == PROTO_ACT_ALLOW ? "(allow)" : "");
		if (n < 0 || (size_t)n >= len - o) {
			buf[o] = '\0'; /* cut at a whole id */
			return;
		}
		o += (size_t)n;
	}
}

/* edge_filter_peek - the verdict so far, without running a stage */
void
edge_filter_peek(struct edge_fctx *f, struct edge_fverdict *v)
{
	edge_filter_decide(f, v);
}

/* edge_filter_eod - the end of data: the final verdict */
void
edge_filter_eod(struct edge_fctx *f, struct edge_fverdict *v)
{
	EDGE_FILTER_RUN(f, eod);
	if (f->conf->test_verdict_header && f->test_verdict[0] != '\0') {
		if (strcasecmp(f->test_verdict, "reject") == 0)
			edge_filter_hit_add(f, EDGE_LAYER_POLICY, NULL,
			    "test_header", 0, PROTO_ACT_REJECT);
		else if (strcasecmp(f->test_verdict, "tempfail") == 0)
			edge_filter_hit_add(f, EDGE_LAYER_POLICY, NULL,
			    "test_header", 0, PROTO_ACT_TEMPFAIL);
	}
	edge_filter_decide(f, v);
}
