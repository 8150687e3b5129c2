/*
 * hub_ingest.c - telemetry into counters, counters into records
 *
 * Each event of a decoded telemetry batch updates the decayed counters of
 * its client IP, its sender domain, its first URL domains and its first
 * fingerprint bands (hub_ctr.h), all inside one counters transaction per
 * flush window. After an IP's update its rules run on the fresh values:
 * spam-trap hitters, dictionary attackers (many unknown recipients, and a
 * high share of them), protocol abusers. A rule that fires puts (or, when
 * its record is past half its life, renews) an ip record with the rule's
 * action, score and record_ttl; a record an analyst or a feed made for
 * the same key is never overridden by a rule. Each IP that newly gets a
 * record counts once in its /24 (IPv4) or /48 (IPv6) network, and a
 * network with rule_net_bad_ips such IPs (decayed) gets a net record.
 *
 * A batch delivered twice (QoS 1 after a reconnect) is recognised by its
 * edge id and seq among the last HUB_INGEST_SEQS of that edge and
 * counted once.
 * Trust: the payload is hostile; proto_telemetry_decode checks it whole
 * before any event is counted (decode first, then a second pass counts).
 * Limits: HUB_INGEST_URLS URL domains and HUB_INGEST_FPS bands and
 * HUB_INGEST_RCPTS recipients per event feed the counters; HUB_INGEST_EDGES
 * edges are remembered for duplicate detection.
 */
#include "hub/hub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hub/hub_ctr.h"
#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"

#define HUB_INGEST_URLS 8  /* URL domains per event counted */
#define HUB_INGEST_FPS 4   /* fingerprint bands per event counted */
#define HUB_INGEST_RCPTS 8 /* recipients per event in the distinct set */
#define HUB_INGEST_DIR 32  /* recipient answers per event in the directory */
#define HUB_INGEST_PROMOTE_MAX 1000 /* observe records promoted per turn */
#define HUB_INGEST_EDGES 1024       /* edges remembered for duplicates */
#define HUB_INGEST_SEQS 16          /* batch seqs remembered per edge */
#define HUB_INGEST_WINDOW_MS 60000  /* events this close reach a threshold */

struct hub_ingest_edge {
	char id[PROTO_ID_MAX + 1];
	uint64_t seqs[HUB_INGEST_SEQS];
	unsigned next;
};

struct hub_ingest {
	const struct hub_conf *c;
	struct hub_state *st;
	struct hub_ctr *ctr;
	int in_txn;
	uint64_t now_ms;
	const char *pop;
	struct hub_ingest_edge *edges; /* HUB_INGEST_EDGES */
};

/* hub_ingest_open - the counters in data_dir/counters */
int
hub_ingest_open(const struct hub_conf *c, struct hub_state *st,
    struct hub_ingest **out, char *err, size_t errlen)
{
	struct hub_ingest *g = mx_calloc(1, sizeof(*g));
	struct hub_ctr_opts o;
	char path[4200];
	int rc, k;

	g->c = c;
	g->st = st;
	g->edges = mx_calloc(HUB_INGEST_EDGES, sizeof(*g->edges));
	snprintf(path, sizeof(path), "%s/counters", c->data_dir);
	if (mkdir(path, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create '%.256s': %s", path,
		    strerror(errno));
		hub_ingest_close(g);
		return MX_EIO;
	}
	memset(&o, 0, sizeof(o));
	o.map_bytes = c->counter_map_size;
	for (k = HUB_CK_IP; k < HUB_CK__END; k++)
		o.max_entries[k] = c->counter_entries;
	o.half_life_ms = c->half_life;
	o.no_sync = 1; /* counters are evidence, rebuilt by new traffic */
	if ((rc = hub_ctr_open(path, &o, &g->ctr)) != 0) {
		snprintf(err, errlen, "counters '%.256s': %s", path,
		    mx_strerror(rc));
		hub_ingest_close(g);
		return rc;
	}
	*out = g;
	return 0;
}

/* hub_ingest_close - commit and close */
void
hub_ingest_close(struct hub_ingest *g)
{
	if (g == NULL)
		return;
	if (g->ctr != NULL) {
		hub_ingest_commit(g);
		hub_ctr_close(g->ctr);
	}
	mx_free(g->edges);
	mx_free(g);
}

/* hub_ingest_commit - end the counters' transaction */
void
hub_ingest_commit(struct hub_ingest *g)
{
	int rc;

	if (!g->in_txn)
		return;
	g->in_txn = 0;
	if ((rc = hub_ctr_commit(g->ctr)) != 0) {
		mx_warn("counters: commit: %s", mx_strerror(rc));
		hub_metrics_inc(HUB_M_CTR_ERRORS);
	}
}

/* hub_ingest_sweep - idle counters go */
void
hub_ingest_sweep(struct hub_ingest *g, uint64_t now_ms)
{
	size_t removed = 0;
	int rc;

	hub_ingest_commit(g);
	rc = hub_ctr_sweep(g->ctr, now_ms, 0.01, 10000, &removed);
	if (rc != 0)
		mx_warn("counters: sweep: %s", mx_strerror(rc));
	else if (removed > 0)
		mx_debug("counters: swept %zu idle entries", removed);
}

/* hub_ingest_update - one counter update; 0 with *val, else an error */
static int
hub_ingest_update(struct hub_ingest *g, int kind, const uint8_t *key,
    size_t len, const struct hub_ctr_delta *d, struct hub_ctr_val *val)
{
	int rc;

	if (!g->in_txn) {
		if ((rc = hub_ctr_begin(g->ctr)) != 0) {
			hub_metrics_inc(HUB_M_CTR_ERRORS);
			return rc;
		}
		g->in_txn = 1;
	}
	if (len == 0 || len > HUB_CTR_KEY_MAX)
		return MX_EINVAL; /* a long domain is not counted */
	rc = hub_ctr_update(g->ctr, kind, key, len, d, g->now_ms, val);
	if (rc == MX_ELIMIT) {
		hub_metrics_inc(HUB_M_CTR_FULL);
	} else if (rc == MX_EFULL) {
		/* the map is full: this window's counts are dropped */
		mx_warn("counters: map full; window rolled back");
		hub_metrics_inc(HUB_M_CTR_ERRORS);
		hub_ctr_abort(g->ctr);
		g->in_txn = 0;
	} else if (rc != 0 && rc != MX_EINVAL) {
		/* a damaged entry (the sweep removes it) or an LMDB error
		 * (the commit reports it); MX_EINVAL is input past a bound */
		hub_metrics_inc(HUB_M_CTR_ERRORS);
	}
	return rc;
}

/*
 * hub_ingest_reached - has a decayed sum reached a threshold of n? N
 * events within HUB_INGEST_WINDOW_MS of each other do: the threshold is
 * decayed over that window, so decay between close events does not keep
 * a sum a hair below it.
 */
static int
hub_ingest_reached(const struct hub_ingest *g, double v, uint64_t n)
{
	double f =
	    exp2(-(double)HUB_INGEST_WINDOW_MS / (double)g->c->half_life);

	return n > 0 && v + 1e-9 >= (double)n * f;
}

/* hub_ingest_observing - do new records of this rule observe first */
static int
hub_ingest_observing(const struct hub_ingest *g, const char *rule)
{
	const char *p = g->c->observe_rules;
	size_t n = strlen(rule);

	if (g->c->observe_time == 0)
		return 0;
	while (*p != '\0') {
		size_t len = strcspn(p, ", ");

		if (len == n && memcmp(p, rule, n) == 0)
			return 1;
		p += len;
		p += strspn(p, ", ");
	}
	return 0;
}

/*
 * hub_ingest_record_data - a rule's record for (kind, key) carrying data
 * (an fp record's compact signature), unless an analyst's or feed's
 * record holds the key or the rule's own is fresh. Returns 1 for a new
 * record, 0 for a renewal or nothing to do, or an error.
 */
static int
hub_ingest_record_data(struct hub_ingest *g, int kind, const uint8_t *key,
    size_t len, const struct hub_rule_act *act, const char *rule,
    const char *reason, const uint8_t *data, size_t dlen, uint64_t ttl_ms)
{
	struct proto_record r, old;
	uint64_t now_s = g->now_ms / 1000u, ttl_s = ttl_ms / 1000u;
	char src[PROTO_SOURCE_MAX + 1];
	int rc, is_new = 1;

	rc = hub_state_get(g->st, kind, key, len, &old);
	if (rc == 0) {
		is_new = 0;
		/* an analyst's or a feed's record stands */
		if (old.source_len < 5 || memcmp(old.source, "rule:", 5) != 0)
			return 0;
		/* fresh enough: renewed only past half its life */
		if (old.action == act->action &&
		    (old.expires == 0 || old.expires >= now_s + ttl_s / 2))
			return 0;
	} else if (rc != MX_ENOTFOUND) {
		return rc;
	}
	memset(&r, 0, sizeof(r));
	/* a new record of an observed rule starts in observe mode; a
	 * renewal keeps the mode its record is in */
	if (is_new ? hub_ingest_observing(g, rule)
	           : (old.flags & PROTO_RF_OBSERVE) != 0)
		r.flags = PROTO_RF_OBSERVE;
	r.kind = (uint8_t)kind;
	r.op = PROTO_OP_PUT;
	r.action = act->action;
	r.score = act->score;
	r.expires = now_s + (ttl_s > 0 ? ttl_s : 1);
	r.ts_ms = g->now_ms;
	r.key_len = (uint16_t)len;
	memcpy(r.key, key, len);
	if (dlen > 0) {
		r.data_len = (uint16_t)dlen;
		memcpy(r.data, data, dlen);
	}
	snprintf(src, sizeof(src), "rule:%s", rule);
	proto_record_set_text(&r, src, reason);
	if ((rc = hub_state_change(g->st, &r, src)) != 0) {
		hub_metrics_inc(HUB_M_PENDING_FULL);
		return rc;
	}
	hub_metrics_inc(HUB_M_RULE_RECORDS);
	return is_new ? 1 : 0;
}

/* hub_ingest_record - a rule's record without data */

static int
hub_ingest_record(struct hub_ingest *g, int kind, const uint8_t *key,
    size_t len, const struct hub_rule_act *act, const char *rule,
    const char *reason)
{
	return hub_ingest_record_data(
	    g, kind, key, len, act, rule, reason, NULL, 0, g->c->record_ttl);
}

/*
 * hub_ingest_revoke - delete (kind, key) when a rule made it: the evidence
 * now says otherwise. An analyst's or a feed's record stands.
 */
static void
hub_ingest_revoke(struct hub_ingest *g, int kind, const uint8_t *key,
    size_t len, const char *rule, const char *reason)
{
	struct proto_record r;
	char src[PROTO_SOURCE_MAX + 1];

	snprintf(src, sizeof(src), "rule:%s", rule);
	if (hub_state_get(g->st, kind, key, len, &r) != 0 ||
	    r.source_len != strlen(src) || memcmp(r.source, src, r.source_len))
		return;
	r.op = PROTO_OP_DEL;
	r.ts_ms = g->now_ms;
	proto_record_set_text(&r, src, reason);
	if (hub_state_change(g->st, &r, src) == 0)
		hub_metrics_inc(HUB_M_RULE_RECORDS);
}

/*
 * hub_ingest_dir_key - the directory record key of a recipient:
 * "(u)" HEX(hash) "@" domain. "(" cannot start an unquoted local part,
 * and a quoted one keeps its '"', so no address's rcpt-policy key
 * collides with it. MX_ETOOBIG when the domain is too long for a key.
 */
static int
hub_ingest_dir_key(
    const struct proto_ev_rcpt *r, char *out, size_t outlen, size_t *len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 3;

	if (3 + 2 * r->hash.len + 1 + r->domain.len > PROTO_KEY_MAX ||
	    3 + 2 * r->hash.len + 1 + r->domain.len >= outlen ||
	    r->domain.len == 0)
		return MX_ETOOBIG;
	memcpy(out, "(u)", 3);
	for (i = 0; i < r->hash.len; i++) {
		out[o++] = hex[r->hash.p[i] >> 4];
		out[o++] = hex[r->hash.p[i] & 15];
	}
	out[o++] = '@';
	memcpy(out + o, r->domain.p, r->domain.len);
	*len = o + r->domain.len;
	return 0;
}

/*
 * hub_ingest_rcpt - one recipient answer into the shared directory: a
 * recipient the destinations called unknown rule_rcpt_unknown times
 * (decayed) is listed for every POP (rcpt-policy reject, rule_rcpt_ttl);
 * a destination that accepts it revokes the entry at once.
 */
static void
hub_ingest_rcpt(struct hub_ingest *g, const char *pop, size_t poplen,
    const struct proto_ev_rcpt *r)
{
	struct hub_ctr_delta d;
	struct hub_ctr_val v;
	uint8_t ckey[HUB_CTR_KEY_MAX];
	char key[PROTO_KEY_MAX + 1], reason[96];
	struct hub_rule_act act = {PROTO_ACT_REJECT, 0};
	size_t klen, clen = r->hash.len + r->domain.len;

	if (g->c->rule_rcpt_unknown == 0 ||
	    (r->result != PROTO_RCPT_OK && r->result != PROTO_RCPT_UNKNOWN) ||
	    clen > HUB_CTR_KEY_MAX)
		return;
	memcpy(ckey, r->hash.p, r->hash.len);
	memcpy(ckey + r->hash.len, r->domain.p, r->domain.len);
	/*
	 * An accepted answer is the common case: it only matters for a
	 * recipient some destination called unknown (its entry still holds
	 * unknown answers), whose directory entry it revokes at once: the
	 * destination's answer always wins. Accepted recipients make no
	 * entries, so the counters hold only recipients called unknown.
	 */
	if (r->result == PROTO_RCPT_OK &&
	    (hub_ctr_get(g->ctr, HUB_CK_RCPT, ckey, clen, g->now_ms, &v) != 0 ||
	        v.v[HUB_CF_UNKNOWN] < 0.5))
		return;
	if (proto_key_domain((const char *)r->domain.p, r->domain.len,
	        (uint8_t *)key, &klen) != 0 ||
	    hub_ingest_dir_key(r, key, sizeof(key), &klen) != 0)
		return; /* a domain that is not one is not listed */
	if (r->result == PROTO_RCPT_OK) {
		hub_ingest_revoke(g, PROTO_KIND_RCPT_POLICY, (uint8_t *)key,
		    klen, "rcpt", "a destination accepted it");
		return;
	}
	memset(&d, 0, sizeof(d));
	d.add[HUB_CF_RCPT] = 1;
	d.add[HUB_CF_UNKNOWN] = 1;
	d.item[HUB_CS_POPS] = (const uint8_t *)pop;
	d.item_len[HUB_CS_POPS] = poplen;
	if (hub_ingest_update(g, HUB_CK_RCPT, ckey, clen, &d, &v) != 0)
		return;
	if (!hub_ingest_reached(
	        g, v.v[HUB_CF_UNKNOWN], g->c->rule_rcpt_unknown))
		return;
	snprintf(reason, sizeof(reason),
	    "unknown recipient: %.1f answers at %.0f POPs", v.v[HUB_CF_UNKNOWN],
	    v.distinct[HUB_CS_POPS]);
	hub_ingest_record_data(g, PROTO_KIND_RCPT_POLICY, (uint8_t *)key, klen,
	    &act, "rcpt", reason, NULL, 0, g->c->rule_rcpt_ttl);
}

/*
 * hub_ingest_reason_key - the record an edge's hit id names: "ip:ADDR",
 * "net:PREFIX" or "fp:HEX" (the kinds rules make). 0 or MX_EINVAL.
 */
static int
hub_ingest_reason_key(
    const uint8_t *id, size_t len, int *kind, uint8_t *key, size_t *klen)
{
	char text[PROTO_REASON_ID_MAX + 1];
	size_t i;

	if (len >= sizeof(text))
		return MX_EINVAL;
	memcpy(text, id, len);
	text[len] = '\0';
	if (strncmp(text, "ip:", 3) == 0) {
		*kind = PROTO_KIND_IP;
		return proto_key_ip(text + 3, len - 3, key, klen);
	}
	if (strncmp(text, "net:", 4) == 0) {
		*kind = PROTO_KIND_NET;
		return proto_key_net(text + 4, len - 4, key, klen);
	}
	if (strncmp(text, "fp:", 3) == 0 && (len - 3) % 2 == 0 && len > 3) {
		*kind = PROTO_KIND_FP;
		for (i = 0; i < (len - 3) / 2; i++) {
			unsigned v;

			if (sscanf(text + 3 + 2 * i, "%2x", &v) != 1)
				return MX_EINVAL;
			key[i] = (uint8_t)v;
		}
		*klen = (len - 3) / 2;
		return 0;
	}
	return MX_EINVAL;
}

/*
 * hub_ingest_breaker - the false-positive breaker. An event reporting
 * that an observe-mode rule record would have hit ("observe:ID") counts
 * as a would-have-hit; when the same event shows the sender is one no
 * record may hit (an "allow:" hit, or an IP with breaker_volume clean
 * transactions and no trap, unknown-recipient or reject evidence), the
 * record is replaced by a score-0 record of source "breaker" that rules
 * never override, until record_ttl: it will not come back by itself.
 */
static void
hub_ingest_breaker(struct hub_ingest *g, const struct proto_event *ev,
    const struct hub_ctr_val *v)
{
	int is_good = 0, kind;
	size_t i, klen;
	uint8_t key[PROTO_KEY_MAX];
	struct proto_record r;
	char why[96];

	for (i = 0; i < ev->n_reasons; i++)
		if (ev->reasons[i].len > 6 &&
		    memcmp(ev->reasons[i].p, "allow:", 6) == 0)
			is_good = 1;
	if (v != NULL &&
	    v->v[HUB_CF_VOLUME] + 1e-9 >= (double)g->c->breaker_volume &&
	    v->v[HUB_CF_TRAP] < 0.5 && v->v[HUB_CF_UNKNOWN] < 0.5 &&
	    v->v[HUB_CF_REJECT] < 0.5)
		is_good = 1;
	for (i = 0; i < ev->n_reasons; i++) {
		const struct proto_str *s = &ev->reasons[i];

		if (s->len <= 8 || memcmp(s->p, "observe:", 8) != 0)
			continue;
		hub_metrics_inc(HUB_M_OBSERVE_HITS);
		if (!is_good ||
		    hub_ingest_reason_key(
		        s->p + 8, s->len - 8, &kind, key, &klen) != 0 ||
		    hub_state_get(g->st, kind, key, klen, &r) != 0 ||
		    !(r.flags & PROTO_RF_OBSERVE) || r.source_len < 5 ||
		    memcmp(r.source, "rule:", 5) != 0)
			continue;
		snprintf(why, sizeof(why), "breaker: would hit a %s sender",
		    v != NULL && v->v[HUB_CF_VOLUME] + 1e-9 >=
		                     (double)g->c->breaker_volume
		        ? "good"
		        : "allow-listed");
		r.op = PROTO_OP_PUT;
		r.action = PROTO_ACT_SCORE;
		r.score = 0;
		r.flags = 0;
		r.ts_ms = g->now_ms;
		r.expires = g->now_ms / 1000u + g->c->record_ttl / 1000u;
		r.data_len = 0;
		proto_record_set_text(&r, "breaker", why);
		if (hub_state_change(g->st, &r, "rule:breaker") == 0) {
			hub_metrics_inc(HUB_M_BREAKER);
			mx_notice("BREAKER kind=%s reason=\"%s\"",
			    proto_kind_name(kind), why);
		}
	}
}

/* promotion walk: observe-mode rule records past observe_time */
struct hub_ingest_due {
	uint64_t before_ms; /* made before this */
	size_t n;
	struct proto_record *recs; /* HUB_INGEST_PROMOTE_MAX */
};

/* hub_ingest_due_rec - collect one due record */
static int
hub_ingest_due_rec(void *arg, const struct proto_record *r)
{
	struct hub_ingest_due *d = arg;

	if (!(r->flags & PROTO_RF_OBSERVE) || r->ts_ms > d->before_ms ||
	    r->source_len < 5 || memcmp(r->source, "rule:", 5) != 0)
		return 0;
	d->recs[d->n++] = *r;
	return d->n == HUB_INGEST_PROMOTE_MAX ? 1 : 0;
}

/* hub_ingest_promote - observed long enough without a breaker: enforce */
void
hub_ingest_promote(struct hub_ingest *g, uint64_t now_ms)
{
	static const int kinds[] = {PROTO_KIND_IP, PROTO_KIND_NET,
	    PROTO_KIND_FP, PROTO_KIND_RCPT_POLICY};
	struct hub_ingest_due d;
	size_t i, k;
	char who[PROTO_SOURCE_MAX + 1];

	if (g->c->observe_time == 0 || now_ms < g->c->observe_time)
		return;
	d.before_ms = now_ms - g->c->observe_time;
	d.n = 0;
	d.recs = mx_calloc(HUB_INGEST_PROMOTE_MAX, sizeof(*d.recs));
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]) &&
	            d.n < HUB_INGEST_PROMOTE_MAX;
	     k++)
		if (hub_state_each(g->st, kinds[k], hub_ingest_due_rec, &d) < 0)
			break;
	for (i = 0; i < d.n; i++) {
		struct proto_record *r = &d.recs[i];

		r->flags &= (uint8_t)~PROTO_RF_OBSERVE;
		r->ts_ms = now_ms;
		snprintf(
		    who, sizeof(who), "%.*s", (int)r->source_len, r->source);
		if (hub_state_change(g->st, r, who) == 0)
			hub_metrics_inc(HUB_M_PROMOTED);
	}
	if (d.n > 0)
		mx_info("promoted %zu observe-mode records to enforcing", d.n);
	mx_free(d.recs);
}

/* hub_ingest_fresh - a rule's record of (kind, key) past no renewal */
static int
hub_ingest_fresh(struct hub_ingest *g, int kind, const uint8_t *key, size_t len,
    const char *src)
{
	struct proto_record r;
	uint64_t now_s = g->now_ms / 1000u;

	if (hub_state_get(g->st, kind, key, len, &r) != 0)
		return 0;
	if (r.source_len != strlen(src) || memcmp(r.source, src, r.source_len))
		return 1; /* an analyst's or feed's: it stands, nothing to do */
	return r.expires == 0 ||
	       r.expires >= now_s + g->c->record_ttl / 1000u / 2;
}

/*
 * hub_ingest_fp_rule - a fingerprint band seen from rule_fp_sources
 * distinct sources that also hit rule_fp_traps spam traps: every band key
 * of the event becomes an fp record carrying the event's compact
 * signature, so an edge confirms a band hit by similarity (the
 * personalised copies of the campaign) before it acts.
 */
static int
hub_ingest_fp_rule(struct hub_ingest *g, const struct proto_event *ev,
    const struct hub_ctr_val *v)
{
	char reason[96];
	size_t i;

	if (g->c->rule_fp_sources == 0 || ev->fp_sig.len != PROTO_EV_FP_SIG_LEN)
		return 0;
	if (v->distinct[HUB_CS_SOURCES] + 1e-9 <
	        (double)g->c->rule_fp_sources ||
	    !hub_ingest_reached(g, v->v[HUB_CF_TRAP], g->c->rule_fp_traps))
		return 0;
	/* a campaign already listed: its first band's record is fresh, so
	 * are the others (they were made together) */
	if (ev->n_fps > 0 && hub_ingest_fresh(g, PROTO_KIND_FP, ev->fps[0].p,
	                         ev->fps[0].len, "rule:fp"))
		return 1;
	snprintf(reason, sizeof(reason),
	    "bulk fingerprint: %.0f sources, %.1f trap hits",
	    v->distinct[HUB_CS_SOURCES], v->v[HUB_CF_TRAP]);
	for (i = 0; i < ev->n_fps; i++)
		if (hub_ingest_record_data(g, PROTO_KIND_FP, ev->fps[i].p,
		        ev->fps[i].len, &g->c->act_fp, "fp", reason,
		        ev->fp_sig.p, ev->fp_sig.len, g->c->record_ttl) < 0)
			break;
	return 1;
}

/* hub_ingest_net - an IP newly listed counts in its network */
static void
hub_ingest_net(struct hub_ingest *g, const uint8_t *ip, size_t iplen)
{
	struct hub_ctr_delta d;
	struct hub_ctr_val v;
	uint8_t a[16], key[PROTO_KEY_MAX];
	char text[INET6_ADDRSTRLEN + 8], reason[96];
	size_t klen, plen = iplen == 4 ? 24 : 48;

	if (g->c->rule_net_bad_ips == 0)
		return;
	memset(a, 0, sizeof(a));
	memcpy(a, ip, plen / 8);
	if (inet_ntop(iplen == 4 ? AF_INET : AF_INET6, a, text, sizeof(text)) ==
	    NULL)
		return;
	snprintf(
	    text + strlen(text), sizeof(text) - strlen(text), "/%zu", plen);
	if (proto_key_net(text, strlen(text), key, &klen) != 0)
		return;
	memset(&d, 0, sizeof(d));
	d.add[HUB_CF_REJECT] = 1; /* for a net: IPs of it listed by rules */
	d.item[HUB_CS_SOURCES] = ip;
	d.item_len[HUB_CS_SOURCES] = iplen;
	if (hub_ingest_update(g, HUB_CK_NET, key, klen, &d, &v) != 0)
		return;
	if (!hub_ingest_reached(g, v.v[HUB_CF_REJECT], g->c->rule_net_bad_ips))
		return;
	snprintf(reason, sizeof(reason), "%.1f addresses listed by rules",
	    v.v[HUB_CF_REJECT]);
	hub_ingest_record(
	    g, PROTO_KIND_NET, key, klen, &g->c->act_net, "net", reason);
}

/* hub_ingest_ip_rules - the IP rules on fresh counter values */
static void
hub_ingest_ip_rules(struct hub_ingest *g, const uint8_t *key, size_t len,
    const struct hub_ctr_val *v)
{
	const struct hub_conf *c = g->c;
	char reason[128];
	int rc = 0;

	if (hub_ingest_reached(g, v->v[HUB_CF_TRAP], c->rule_trap_hits)) {
		snprintf(reason, sizeof(reason), "spam-trap hits %.1f",
		    v->v[HUB_CF_TRAP]);
		rc = hub_ingest_record(
		    g, PROTO_KIND_IP, key, len, &c->act_trap, "trap", reason);
	} else if (hub_ingest_reached(
	               g, v->v[HUB_CF_UNKNOWN], c->rule_dict_unknown) &&
	           v->v[HUB_CF_UNKNOWN] * 100.0 + 1e-9 >=
	               (double)c->rule_dict_ratio * v->v[HUB_CF_RCPT]) {
		snprintf(reason, sizeof(reason),
		    "unknown recipients %.1f of %.1f", v->v[HUB_CF_UNKNOWN],
		    v->v[HUB_CF_RCPT]);
		rc = hub_ingest_record(
		    g, PROTO_KIND_IP, key, len, &c->act_dict, "dict", reason);
	} else if (c->rule_dict_pops > 0 &&
	           v->distinct[HUB_CS_POPS] + 1e-9 >=
	               (double)c->rule_dict_pops &&
	           hub_ingest_reached(g, v->v[HUB_CF_UNKNOWN],
	               (c->rule_dict_unknown + 1) / 2)) {
		/* unknown-recipient answers collected across POPs: a
		 * dictionary attack no single POP sees whole */
		snprintf(reason, sizeof(reason),
		    "unknown recipients %.1f across %.0f POPs",
		    v->v[HUB_CF_UNKNOWN], v->distinct[HUB_CS_POPS]);
		rc = hub_ingest_record(
		    g, PROTO_KIND_IP, key, len, &c->act_dict, "dict", reason);
	} else if (hub_ingest_reached(
	               g, v->v[HUB_CF_PROTO], c->rule_proto_hits)) {
		snprintf(reason, sizeof(reason), "protocol violations %.1f",
		    v->v[HUB_CF_PROTO]);
		rc = hub_ingest_record(
		    g, PROTO_KIND_IP, key, len, &c->act_proto, "proto", reason);
	}
	if (rc == 1)
		hub_ingest_net(g, key, len);
}

/* hub_ingest_set - one more item of a distinct set, nothing added */
static void
hub_ingest_set(struct hub_ingest *g, int kind, const uint8_t *key, size_t len,
    int set, const uint8_t *item, size_t ilen)
{
	struct hub_ctr_delta d;

	memset(&d, 0, sizeof(d));
	d.item[set] = item;
	d.item_len[set] = ilen;
	hub_ingest_update(g, kind, key, len, &d, NULL);
}

/* hub_ingest_rcpt_item - a recipient's distinct-set item: hash and
 * domain, the domain cut to the item bound; returns its length */
static size_t
hub_ingest_rcpt_item(
    const struct proto_ev_rcpt *r, uint8_t item[HUB_CTR_ITEM_MAX])
{
	size_t dl = r->domain.len;

	if (r->hash.len + dl > HUB_CTR_ITEM_MAX)
		dl = HUB_CTR_ITEM_MAX - r->hash.len;
	memcpy(item, r->hash.p, r->hash.len);
	memcpy(item + r->hash.len, r->domain.p, dl);
	return r->hash.len + dl;
}

/* hub_ingest_event - one decoded event into the counters */
static int
hub_ingest_event(void *arg, const struct proto_telemetry_hdr *h,
    const struct proto_event *ev)
{
	struct hub_ingest *g = arg;
	struct hub_ctr_delta d;
	struct hub_ctr_val v;
	uint8_t ip[16], key[PROTO_KEY_MAX], item[HUB_CTR_ITEM_MAX];
	size_t iplen, klen, i;
	unsigned traps = 0;
	int fired;

	hub_metrics_inc(HUB_M_TEL_EVENTS);
	if (proto_key_ip_bin(ev->ip, ev->ip_len, ip, &iplen) != 0)
		return 0;
	for (i = 0; i < ev->n_rcpts; i++)
		if (ev->rcpts[i].result == PROTO_RCPT_TRAP)
			traps++;
	if (traps == 0 && (ev->flags & PROTO_EVF_TRAP))
		traps = 1;
	memset(&d, 0, sizeof(d));
	d.add[HUB_CF_VOLUME] = 1;
	d.add[HUB_CF_RCPT] = (double)ev->rcpt_ok + ev->rcpt_unknown + traps;
	d.add[HUB_CF_UNKNOWN] = ev->rcpt_unknown;
	d.add[HUB_CF_TRAP] = traps;
	d.add[HUB_CF_PROTO] =
	    (ev->flags & (PROTO_EVF_PROTO_ABUSE | PROTO_EVF_EARLY_TALKER)) ? 1
	                                                                   : 0;
	d.add[HUB_CF_REJECT] = ev->verdict == PROTO_VERDICT_REJECT;
	d.add[HUB_CF_TEMPFAIL] = ev->verdict == PROTO_VERDICT_TEMPFAIL;
	if (ev->rcpt_unknown > 0) {
		/* for an IP: the POPs where it got unknown-user answers */
		d.item[HUB_CS_POPS] = h->pop.p;
		d.item_len[HUB_CS_POPS] = h->pop.len;
	}
	for (i = 0; i < ev->n_rcpts && i < HUB_INGEST_DIR; i++)
		hub_ingest_rcpt(
		    g, (const char *)h->pop.p, h->pop.len, &ev->rcpts[i]);
	/* the first recipient rides on the IP's one update */
	if (ev->n_rcpts > 0)
		d.item_len[HUB_CS_RCPTS] =
		    hub_ingest_rcpt_item(&ev->rcpts[0], item);
	d.item[HUB_CS_RCPTS] = ev->n_rcpts > 0 ? item : NULL;
	if (hub_ingest_update(g, HUB_CK_IP, ip, iplen, &d, &v) == 0) {
		for (i = 1; i < ev->n_rcpts && i < HUB_INGEST_RCPTS; i++) {
			size_t n = hub_ingest_rcpt_item(&ev->rcpts[i], item);

			hub_ingest_set(
			    g, HUB_CK_IP, ip, iplen, HUB_CS_RCPTS, item, n);
		}
		hub_ingest_ip_rules(g, ip, iplen, &v);
		hub_ingest_breaker(g, ev, &v);
	} else {
		hub_ingest_breaker(g, ev, NULL);
	}
	/* what the sender domain, URL domains and bands were part of */
	memset(&d, 0, sizeof(d));
	d.add[HUB_CF_VOLUME] = 1;
	d.add[HUB_CF_TRAP] = traps;
	d.add[HUB_CF_REJECT] = ev->verdict == PROTO_VERDICT_REJECT;
	d.item[HUB_CS_SOURCES] = ip;
	d.item_len[HUB_CS_SOURCES] = iplen;
	d.item[HUB_CS_POPS] = h->pop.p;
	d.item_len[HUB_CS_POPS] = h->pop.len;
	if (ev->sender_domain.len > 0 &&
	    proto_key_domain((const char *)ev->sender_domain.p,
	        ev->sender_domain.len, key, &klen) == 0)
		hub_ingest_update(g, HUB_CK_DOMAIN, key, klen, &d, NULL);
	for (i = 0; i < ev->n_urls && i < HUB_INGEST_URLS; i++)
		if (proto_key_domain((const char *)ev->urls[i].p,
		        ev->urls[i].len, key, &klen) == 0)
			hub_ingest_update(g, HUB_CK_URL, key, klen, &d, NULL);
	for (i = 0, fired = 0; i < ev->n_fps && i < HUB_INGEST_FPS; i++) {
		struct hub_ctr_val fv;

		/* the first band over the thresholds lists every band */
		if (hub_ingest_update(g, HUB_CK_FP, ev->fps[i].p,
		        ev->fps[i].len, &d, &fv) == 0 &&
		    !fired)
			fired = hub_ingest_fp_rule(g, ev, &fv);
	}
	return 0;
}

/* hub_ingest_seen - has this edge's batch seq been counted already */
static int
hub_ingest_seen(struct hub_ingest *g, const struct proto_telemetry_hdr *h)
{
	struct hub_ingest_edge *e;
	uint64_t hash = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < h->edge_id.len; i++)
		hash = (hash ^ h->edge_id.p[i]) * 1099511628211ull;
	e = &g->edges[hash % HUB_INGEST_EDGES];
	if (strlen(e->id) != h->edge_id.len ||
	    memcmp(e->id, h->edge_id.p, h->edge_id.len) != 0) {
		/* a new edge in this slot (or a collision): start over */
		memset(e, 0, sizeof(*e));
		memcpy(e->id, h->edge_id.p, h->edge_id.len);
	}
	for (i = 0; i < HUB_INGEST_SEQS; i++)
		if (e->seqs[i] == h->seq && h->seq != 0)
			return 1;
	e->seqs[e->next] = h->seq;
	e->next = (e->next + 1) % HUB_INGEST_SEQS;
	return 0;
}

/* hub_ingest_telemetry - check the batch whole, then count it */
void
hub_ingest_telemetry(struct hub_ingest *g, const char *pop, const char *edge_id,
    const uint8_t *p, size_t len, uint64_t now_ms)
{
	struct proto_telemetry_hdr h;
	int rc;

	rc = proto_telemetry_decode(p, len, &h, NULL, NULL);
	if (rc == 0 && (h.edge_id.len != strlen(edge_id) ||
	                   memcmp(h.edge_id.p, edge_id, h.edge_id.len) != 0 ||
	                   h.pop.len != strlen(pop) ||
	                   memcmp(h.pop.p, pop, h.pop.len) != 0))
		rc = MX_EINVAL; /* the topic and the batch disagree */
	if (rc != 0) {
		hub_metrics_inc(HUB_M_BAD_TELEMETRY);
		mx_warn("telemetry from %.64s/%.64s refused: %s", pop, edge_id,
		    mx_strerror(rc));
		return;
	}
	hub_metrics_inc(HUB_M_TEL_BATCHES);
	if (hub_ingest_seen(g, &h)) {
		hub_metrics_inc(HUB_M_TEL_DUP);
		return;
	}
	hub_metrics_add(HUB_M_TEL_DROPPED, (int64_t)h.dropped);
	g->now_ms = now_ms;
	g->pop = pop;
	proto_telemetry_decode(p, len, &h, hub_ingest_event, g);
}

/* hub_ingest_counters - the counter store */
struct hub_ctr *
hub_ingest_counters(struct hub_ingest *g)
{
	return g->ctr;
}
