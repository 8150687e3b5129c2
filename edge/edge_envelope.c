/*
 * edge_envelope.c - the envelope layer: HELO and sender domains, URL
 * hosts, spam traps and per-recipient policy
 *
 * Domains are looked up with the suffix walk (a record for example.com
 * covers mail.example.com). A configured spam-trap recipient is refused
 * like an unknown user and marks the transaction, so telemetry carries
 * the hit. rcpt-policy records, keyed "local@domain" or "domain" in lower
 * case, can allow a recipient (its mail is not filtered), block it, or
 * lower the reject threshold for the transaction (the record's score).
 * URL hosts found by the content layer arrive on the event channel and
 * are looked up as domains too.
 * Trust: HELO and addresses are sender input, already checked by the
 * command parser; only keys proto_key_domain accepts are looked up.
 * Limits: EDGE_TRAPS_MAX traps, PROTO_KEY_MAX per key.
 */
#include "edge/edge_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/mx_ascii.h"
#include "lib/mx_err.h"

/* edge_envelope_domain - look a domain up and record a hit as what:name */
static void
edge_envelope_domain(
    struct edge_fctx *f, const char *what, const char *name, size_t len)
{
	struct proto_record r;
	char id[EDGE_FILTER_HIT_ID_MAX];
	int rc;

	if (f->rtxn == NULL || len == 0)
		return;
	if (proto_store_read_renew(f->rtxn) != 0) {
		edge_filter_layer_failed(f, EDGE_LAYER_ENVELOPE);
		return;
	}
	rc = proto_store_lookup_domain(
	    f->rtxn, name, len, (uint64_t)time(NULL), &r);
	proto_store_read_end(f->rtxn);
	if (rc == MX_ENOTFOUND || rc == MX_EINVAL)
		return; /* not in the cache, or not a domain name at all */
	if (rc != 0) {
		edge_filter_layer_failed(f, EDGE_LAYER_ENVELOPE);
		return;
	}
	snprintf(id, sizeof(id), "%s:%.*s", what, (int)len, name);
	edge_filter_hit_add(f, EDGE_LAYER_ENVELOPE, &r, id, r.score, r.action);
}

/* edge_envelope_helo - the HELO name, when it is a domain */
static void
edge_envelope_helo(struct edge_fctx *f, const char *helo, size_t len)
{
	if (len > 0 && helo[0] != '[')
		edge_envelope_domain(f, "helo", helo, len);
}

/* edge_envelope_mail - the sender's domain */
static void
edge_envelope_mail(struct edge_fctx *f, const char *domain, size_t len)
{
	edge_envelope_domain(f, "from", domain, len);
}

/* edge_envelope_policy - rcpt-policy record for one key, if any */
static int
edge_envelope_policy(
    struct edge_fctx *f, const char *key, size_t len, struct proto_record *r)
{
	int rc;

	if (f->rtxn == NULL || len == 0 || len > PROTO_KEY_MAX)
		return MX_ENOTFOUND;
	if (proto_store_read_renew(f->rtxn) != 0)
		return MX_EIO;
	rc = proto_store_get(f->rtxn, PROTO_KIND_RCPT_POLICY,
	    (const uint8_t *)key, len, (uint64_t)time(NULL), r);
	proto_store_read_end(f->rtxn);
	return rc;
}

/*
 * edge_envelope_dir - the hubs' shared recipient directory: a recipient
 * the destinations called unknown at some POP is listed as the
 * rcpt-policy key "(u)" HEX(salted hash of the local part) "@" domain (as
 * mxhub builds it, docs/hub.md), so this edge answers 550 5.1.1 without
 * asking its destination. Returns 1 when it refused the recipient.
 */
static int
edge_envelope_dir(struct edge_fctx *f, const char *local, size_t llen,
    const char *domain, size_t dlen)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t h[EDGE_TEL_HASH_LEN];
	char key[PROTO_KEY_MAX + 1];
	struct proto_record r;
	size_t i, o = 3;
	int rc;

	if (3 + 2 * sizeof(h) + 1 + dlen > PROTO_KEY_MAX ||
	    edge_tel_rcpt_hash(local, llen, h) != 0)
		return 0;
	memcpy(key, "(u)", 3);
	for (i = 0; i < sizeof(h); i++) {
		key[o++] = hex[h[i] >> 4];
		key[o++] = hex[h[i] & 15];
	}
	key[o++] = '@';
	mx_ascii_lower_copy(key + o, domain, dlen);
	o += dlen;
	rc = edge_envelope_policy(f, key, o, &r);
	if (rc == MX_ENOTFOUND)
		return 0;
	if (rc != 0) {
		edge_filter_layer_failed(f, EDGE_LAYER_ENVELOPE);
		return 0;
	}
	if (r.action != PROTO_ACT_REJECT) /* the directory only refuses */
		return 0;
	edge_filter_hit_add(
	    f, EDGE_LAYER_ENVELOPE, &r, "rcpt-dir", 0, PROTO_ACT_SCORE);
	if (r.flags & PROTO_RF_OBSERVE)
		return 0; /* reported, not acted on */
	f->rcpt_refused = 1;
	f->rcpt_unknown = 1;
	f->rcpt_dir = 1;
	f->rcpt_action = PROTO_ACT_REJECT;
	edge_metrics_inc(EDGE_C_RCPT_DIR);
	return 1;
}

/* edge_envelope_rcpt - traps and recipient policy */
static void
edge_envelope_rcpt(struct edge_fctx *f, const char *local, size_t llen,
    const char *domain, size_t dlen)
{
	const struct edge_conf *c = f->conf;
	char addr[EDGE_CMD_PATH_MAX + 1], id[EDGE_FILTER_HIT_ID_MAX];
	struct proto_record r;
	size_t i, n;
	int rc;

	if (llen + 1 + dlen >= sizeof(addr))
		return;
	mx_ascii_lower_copy(addr, local, llen);
	addr[llen] = '@';
	mx_ascii_lower_copy(addr + llen + 1, domain, dlen);
	n = llen + 1 + dlen;
	addr[n] = '\0';
	for (i = 0; i < c->n_traps; i++) {
		if (strcmp(c->traps[i], addr) == 0) {
			f->is_trap = 1;
			f->rcpt_refused = 1;
			f->rcpt_unknown = 1;
			f->rcpt_action = PROTO_ACT_REJECT;
			edge_metrics_inc(EDGE_C_RCPT_TRAP);
			edge_filter_hit_add(f, EDGE_LAYER_ENVELOPE, NULL,
			    "trap", (int32_t)c->trap_score, PROTO_ACT_SCORE);
			return;
		}
	}
	if (edge_envelope_dir(f, local, llen, domain, dlen))
		return;
	/* the most specific policy: the address, then its domain */
	rc = edge_envelope_policy(f, addr, n, &r);
	if (rc == MX_ENOTFOUND)
		rc = edge_envelope_policy(f, addr + llen + 1, dlen, &r);
	if (rc == MX_ENOTFOUND)
		return;
	if (rc != 0) {
		edge_filter_layer_failed(f, EDGE_LAYER_ENVELOPE);
		return;
	}
	snprintf(id, sizeof(id), "rcpt-policy:%.*s", (int)r.key_len,
	    (const char *)r.key);
	if (r.flags & PROTO_RF_OBSERVE) {
		edge_filter_hit_add(
		    f, EDGE_LAYER_ENVELOPE, &r, id, 0, r.action);
		return;
	}
	if (r.action == PROTO_ACT_REJECT || r.action == PROTO_ACT_TEMPFAIL) {
		f->rcpt_refused = 1;
		f->rcpt_action = r.action;
		snprintf(f->rcpt_reason, sizeof(f->rcpt_reason), "%s", id);
		return;
	}
	if (r.action == PROTO_ACT_ALLOW) {
		edge_filter_hit_add(
		    f, EDGE_LAYER_ENVELOPE, &r, id, 0, PROTO_ACT_ALLOW);
		return;
	}
	/* a score on a policy record is that recipient's reject threshold;
	 * the strictest recipient sets it for the transaction */
	if (r.score > 0 && r.score < f->reject_score)
		f->reject_score = r.score;
}

/* edge_envelope_event - URL hosts from the content layer */
static void
edge_envelope_event(
    struct edge_fctx *f, enum edge_fev ev, const uint8_t *p, size_t len)
{
	if (ev == EDGE_FEV_URL_HOST)
		edge_envelope_domain(f, "url", (const char *)p, len);
}

const struct edge_layer edge_layer_envelope = {
    .name = "envelope",
    .helo = edge_envelope_helo,
    .mail = edge_envelope_mail,
    .rcpt = edge_envelope_rcpt,
    .subscribes = 1u << EDGE_FEV_URL_HOST,
    .on_event = edge_envelope_event,
};
