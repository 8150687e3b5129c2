/*
 * hub_query.c - the analyst's read-only questions over HTTP
 *
 *   GET /v1/show?kind=KIND&value=VALUE[&format=json]
 *       the hub's record of (kind, value) with its provenance, and the
 *       counters the hub keeps for that key
 *   GET /v1/top?kind=ips|nets|domains|urls|fps[&by=FIELD][&since=D]
 *       [&n=N][&format=json]
 *       the keys with the largest decayed counter FIELD, among those seen
 *       within D
 *
 * Text (for mxctl's human output) or JSON (for --json). Served by an
 * evhttp server of its own on `query` (not the metrics address: a
 * Prometheus scraper has no business reading provenance), on the hub's
 * loop, so it reads the same state the ingest writes without locks. A top
 * scans one counter kind whole: a second or so at a million keys, during
 * which telemetry waits in the socket buffer (docs/hub.md "Queries").
 * Trust: the request comes from whoever reaches the address: with
 * query_token_file set it must carry "Authorization: Bearer TOKEN"
 * (compared in constant time); evhttp bounds headers and bodies
 * (mx_http_serve), every parameter is parsed with its limit, and the
 * answer is bounded by HUB_QUERY_TOP_MAX rows.
 */
#include "hub/hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "hub/hub_ctr.h"
#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_json.h"
#include "lib/mx_log.h"
#include "lib/mx_metrics.h"
#include "lib/mx_parse.h"
#include "lib/mx_time.h"

#define HUB_QUERY_TOP_MAX 1000          /* rows of one top */
#define HUB_QUERY_TOP_DEFAULT 20        /* rows when n is not given */
#define HUB_QUERY_TEXT_MAX 1024         /* a key or a value as text */
#define HUB_QUERY_SINCE_MAX 2592000000u /* 30 days */

static struct {
	const struct hub_conf *c;
	struct hub_state *st;
	struct hub_ingest *g;
	struct evhttp *http;
} hub_query;

/* the counter fields by name, in enum hub_ctr_field order */
static const char *const hub_query_fields[HUB_CF__COUNT] = {
    "volume", "rcpt", "unknown", "trap", "proto", "reject", "tempfail"};
/* the distinct sets by name, in enum hub_ctr_set order */
static const char *const hub_query_sets[HUB_CS__COUNT] = {
    "sources", "rcpts", "pops"};

/* what a top's kind names: the counter kind and the record kind */
static const struct {
	const char *name; /* plural, as the analyst types it */
	int ctr_kind;
	int rec_kind;
} hub_query_kinds[] = {
    {"ips", HUB_CK_IP, PROTO_KIND_IP},
    {"nets", HUB_CK_NET, PROTO_KIND_NET},
    {"domains", HUB_CK_DOMAIN, PROTO_KIND_DOMAIN},
    {"urls", HUB_CK_URL, PROTO_KIND_DOMAIN},
    {"fps", HUB_CK_FP, PROTO_KIND_FP},
};

/* the counters kept for a record kind's key (a domain is counted as a
 * sender domain and as a URL domain), with their labels */
struct hub_query_ck {
	int rec_kind;
	size_t n;
	int ctr_kind[2];
	const char *label[2];
};
static const struct hub_query_ck hub_query_cks[] = {
    {PROTO_KIND_IP, 1, {HUB_CK_IP, 0}, {"ip", NULL}},
    {PROTO_KIND_NET, 1, {HUB_CK_NET, 0}, {"net", NULL}},
    {PROTO_KIND_DOMAIN, 2, {HUB_CK_DOMAIN, HUB_CK_URL}, {"sender", "url"}},
    {PROTO_KIND_FP, 1, {HUB_CK_FP, 0}, {"fp", NULL}},
};

/* an answer being built */
struct hub_query_out {
	struct evbuffer *b;
	int is_json;
};

/* hub_query_str - a JSON string of s[0..len) */
static void
hub_query_str(struct evbuffer *b, const char *s, size_t len)
{
	char q[MX_JSON_QUOTED_MAX(HUB_QUERY_TEXT_MAX)];

	if (len > HUB_QUERY_TEXT_MAX)
		len = HUB_QUERY_TEXT_MAX;
	evbuffer_add(b, q, mx_json_quote(q, sizeof(q), s, len));
}

/* hub_query_time - unix ms as ISO 8601 UTC, second precision */
static void
hub_query_time(uint64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000u);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "?");
}

/* hub_query_ago - "3s ago", "5m ago", "in 2h" between ms and now */
static void
hub_query_ago(uint64_t ms, uint64_t now, char *out, size_t len)
{
	uint64_t d = ms <= now ? now - ms : ms - now;
	const char *unit = "s";

	d /= 1000u;
	if (d >= 172800u)
		d /= 86400u, unit = "d";
	else if (d >= 7200u)
		d /= 3600u, unit = "h";
	else if (d >= 120u)
		d /= 60u, unit = "m";
	snprintf(out, len, ms <= now ? "%llu%s ago" : "in %llu%s",
	    (unsigned long long)d, unit);
}

/* hub_query_arg - a query parameter, or NULL */
static const char *
hub_query_arg(struct evkeyvalq *q, const char *name)
{
	return evhttp_find_header(q, name);
}

/* hub_query_send - finish the answer with status code */
static void
hub_query_send(struct evhttp_request *req, struct hub_query_out *o, int code)
{
	const char *reason = code == 200   ? "OK"
	                     : code == 400 ? "Bad Request"
	                                   : "Not Found";

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type",
	    o->is_json ? "application/json" : "text/plain; charset=utf-8");
	evhttp_send_reply(req, code, reason, o->b);
}

/* hub_query_bad - 400 with one line saying why */
static void
hub_query_bad(
    struct evhttp_request *req, struct hub_query_out *o, const char *why)
{
	hub_metrics_inc(HUB_M_QUERY_BAD);
	evbuffer_drain(o->b, evbuffer_get_length(o->b));
	if (o->is_json) {
		evbuffer_add_printf(o->b, "{\"error\":");
		hub_query_str(o->b, why, strlen(why));
		evbuffer_add_printf(o->b, "}\n");
	} else {
		evbuffer_add_printf(o->b, "%s\n", why);
	}
	hub_query_send(req, o, 400);
}

/* hub_query_record - the record and its provenance */
static void
hub_query_record(struct hub_query_out *o, const struct proto_record *r,
    const struct hub_prov *p, int has_prov, uint64_t now)
{
	const char *mode =
	    (r->flags & PROTO_RF_OBSERVE) ? "observe" : "enforce";
	char t1[32], t2[32], ago[32];

	if (o->is_json) {
		evbuffer_add_printf(o->b,
		    "{\"action\":\"%s\",\"score\":%d,\"mode\":\"%s\","
		    "\"source\":",
		    proto_action_name(r->action) ?: "?", (int)r->score, mode);
		hub_query_str(o->b, r->source, r->source_len);
		evbuffer_add_printf(o->b, ",\"reason\":");
		hub_query_str(o->b, r->reason, r->reason_len);
		evbuffer_add_printf(o->b,
		    ",\"changed_ms\":%llu,\"expires\":%llu,\"data_bytes\":%u",
		    (unsigned long long)r->ts_ms,
		    (unsigned long long)r->expires, (unsigned)r->data_len);
		if (has_prov) {
			evbuffer_add_printf(o->b,
			    ",\"made_ms\":%llu,\"changes\":%u,\"by\":",
			    (unsigned long long)p->first_ms,
			    (unsigned)p->changes);
			hub_query_str(o->b, p->who, strlen(p->who));
		}
		evbuffer_add_printf(o->b, "}");
		return;
	}
	evbuffer_add_printf(o->b, "  action:   %s, score %d, %s\n",
	    proto_action_name(r->action) ?: "?", (int)r->score,
	    (r->flags & PROTO_RF_OBSERVE) ? "observe mode (not enforced)"
	                                  : "enforced");
	evbuffer_add_printf(o->b, "  source:   %.*s\n  reason:   %.*s\n",
	    (int)r->source_len, r->source, (int)r->reason_len, r->reason);
	if (has_prov) {
		hub_query_time(p->first_ms, t1, sizeof(t1));
		hub_query_ago(p->first_ms, now, ago, sizeof(ago));
		evbuffer_add_printf(
		    o->b, "  made:     %s (%s) by %s\n", t1, ago, p->who);
	} else {
		evbuffer_add_printf(o->b, "  made:     (no provenance kept: "
		                          "made before it was; see the audit "
		                          "log)\n");
	}
	hub_query_time(r->ts_ms, t2, sizeof(t2));
	hub_query_ago(r->ts_ms, now, ago, sizeof(ago));
	evbuffer_add_printf(o->b, "  changed:  %s (%s)", t2, ago);
	if (has_prov)
		evbuffer_add_printf(o->b, ", %u change%s", (unsigned)p->changes,
		    p->changes == 1 ? "" : "s");
	evbuffer_add_printf(o->b, "\n");
	if (r->expires == 0) {
		evbuffer_add_printf(o->b, "  expires:  never\n");
	} else {
		hub_query_time(r->expires * 1000u, t1, sizeof(t1));
		hub_query_ago(r->expires * 1000u, now, ago, sizeof(ago));
		evbuffer_add_printf(o->b, "  expires:  %s (%s)\n", t1, ago);
	}
}

/* hub_query_counters - one counter entry (label: "ip", "sender", ...) */
static void
hub_query_counters(struct hub_query_out *o, const char *label,
    const struct hub_ctr_val *v, uint64_t now)
{
	char t1[32], t2[32], ago1[32], ago2[32];
	int i;

	if (o->is_json) {
		evbuffer_add_printf(o->b, "\"%s\":{", label);
		for (i = 0; i < HUB_CF__COUNT; i++)
			evbuffer_add_printf(
			    o->b, "\"%s\":%.3f,", hub_query_fields[i], v->v[i]);
		for (i = 0; i < HUB_CS__COUNT; i++)
			evbuffer_add_printf(o->b, "\"%s\":%.0f,",
			    hub_query_sets[i], v->distinct[i]);
		evbuffer_add_printf(o->b, "\"first_ms\":%llu,\"last_ms\":%llu}",
		    (unsigned long long)v->first_ms,
		    (unsigned long long)v->last_ms);
		return;
	}
	evbuffer_add_printf(o->b, "  %s:\n   ", label);
	for (i = 0; i < HUB_CF__COUNT; i++)
		evbuffer_add_printf(
		    o->b, " %s %.1f", hub_query_fields[i], v->v[i]);
	evbuffer_add_printf(o->b, "\n    distinct");
	for (i = 0; i < HUB_CS__COUNT; i++)
		evbuffer_add_printf(
		    o->b, " %s %.0f", hub_query_sets[i], v->distinct[i]);
	hub_query_time(v->first_ms, t1, sizeof(t1));
	hub_query_time(v->last_ms, t2, sizeof(t2));
	hub_query_ago(v->first_ms, now, ago1, sizeof(ago1));
	hub_query_ago(v->last_ms, now, ago2, sizeof(ago2));
	evbuffer_add_printf(o->b,
	    "\n    first seen %s (%s), last seen %s (%s)\n", t1, ago1, t2,
	    ago2);
}

/* hub_query_show - /v1/show */
static void
hub_query_show(
    struct evhttp_request *req, struct hub_query_out *o, struct evkeyvalq *q)
{
	const char *kname = hub_query_arg(q, "kind");
	const char *value = hub_query_arg(q, "value");
	struct hub_ctr *ctr = hub_ingest_counters(hub_query.g);
	struct proto_record r;
	struct hub_prov p;
	struct hub_ctr_val v;
	uint8_t key[PROTO_KEY_MAX];
	char text[HUB_QUERY_TEXT_MAX], why[200];
	uint64_t now = mx_unix_ms();
	size_t klen;
	int kind, rc, has_rec, has_prov, n_ctr = 0;
	size_t i, n_ck = 0;
	const struct hub_query_ck *ck = NULL;

	if (kname == NULL || value == NULL) {
		hub_query_bad(req, o, "show needs kind= and value=");
		return;
	}
	kind = proto_kind_parse(kname, strlen(kname));
	if (kind < PROTO_KIND_MIN || kind > PROTO_KIND_MAX) {
		snprintf(why, sizeof(why), "kind: '%.32s' is not a record kind",
		    kname);
		hub_query_bad(req, o, why);
		return;
	}
	if (proto_key_parse(kind, value, strlen(value), key, &klen) != 0 ||
	    proto_key_format(kind, key, klen, text, sizeof(text)) != 0) {
		snprintf(why, sizeof(why),
		    "value: '%.64s' is not a key of kind %s", value, kname);
		hub_query_bad(req, o, why);
		return;
	}
	hub_metrics_inc(HUB_M_QUERIES);
	rc = hub_state_get(hub_query.st, kind, key, klen, &r);
	has_rec = rc == 0;
	if (rc != 0 && rc != MX_ENOTFOUND)
		mx_warn(
		    "query: record %s %s: %s", kname, text, mx_strerror(rc));
	has_prov = has_rec &&
	           hub_state_provenance(hub_query.st, kind, key, klen, &p) == 0;
	for (i = 0; i < sizeof(hub_query_cks) / sizeof(hub_query_cks[0]); i++)
		if (hub_query_cks[i].rec_kind == kind) {
			ck = &hub_query_cks[i];
			n_ck = ck->n;
			break;
		}
	if (o->is_json) {
		evbuffer_add_printf(
		    o->b, "{\"kind\":\"%s\",\"value\":", proto_kind_name(kind));
		hub_query_str(o->b, text, strlen(text));
		evbuffer_add_printf(o->b, ",\"hub\":");
		hub_query_str(
		    o->b, hub_query.c->hub_id, strlen(hub_query.c->hub_id));
		evbuffer_add_printf(o->b, ",\"record\":");
		if (has_rec)
			hub_query_record(o, &r, &p, has_prov, now);
		else
			evbuffer_add_printf(o->b, "null");
		evbuffer_add_printf(o->b, ",\"counters\":{");
	} else {
		evbuffer_add_printf(o->b, "%s %s at hub %s\n",
		    proto_kind_name(kind), text, hub_query.c->hub_id);
		if (has_rec) {
			evbuffer_add_printf(o->b, "record:\n");
			hub_query_record(o, &r, &p, has_prov, now);
		} else {
			evbuffer_add_printf(o->b, "record:   none\n");
		}
	}
	for (i = 0; i < n_ck; i++) {
		rc = hub_ctr_get(ctr, ck->ctr_kind[i], key, klen, now, &v);
		if (rc != 0) {
			if (rc != MX_ENOTFOUND)
				mx_warn("query: counters %s %s: %s", kname,
				    text, mx_strerror(rc));
			continue;
		}
		if (o->is_json) {
			if (n_ctr > 0)
				evbuffer_add_printf(o->b, ",");
		} else if (n_ctr == 0) {
			evbuffer_add_printf(o->b,
			    "counters (decayed, half-life %llus):\n",
			    (unsigned long long)(hub_query.c->half_life /
			                         1000u));
		}
		hub_query_counters(o, ck->label[i], &v, now);
		n_ctr++;
	}
	if (o->is_json)
		evbuffer_add_printf(o->b, "}}\n");
	else if (n_ctr == 0)
		evbuffer_add_printf(o->b, "counters: none%s\n",
		    n_ck == 0 ? " (not counted for this kind)" : "");
	hub_query_send(req, o, has_rec || n_ctr > 0 ? 200 : 404);
}

/* hub_query_top_row - one row of a top */
static void
hub_query_top_row(struct hub_query_out *o, size_t rank, int rec_kind,
    const struct hub_ctr_top *t, int field, uint64_t now)
{
	struct proto_record r;
	char text[HUB_QUERY_TEXT_MAX], ago[32];
	int has_rec;

	if (proto_key_format(
	        rec_kind, t->key, t->key_len, text, sizeof(text)) != 0)
		snprintf(text, sizeof(text), "?");
	has_rec =
	    hub_state_get(hub_query.st, rec_kind, t->key, t->key_len, &r) == 0;
	if (o->is_json) {
		evbuffer_add_printf(o->b,
		    "%s{\"rank\":%zu,\"key\":", rank > 1 ? "," : "", rank);
		hub_query_str(o->b, text, strlen(text));
		evbuffer_add_printf(o->b, ",");
		hub_query_counters(o, "counters", &t->val, now);
		if (has_rec) {
			evbuffer_add_printf(o->b,
			    ",\"record\":{\"action\":\"%s\",\"mode\":\"%s\","
			    "\"source\":",
			    proto_action_name(r.action) ?: "?",
			    (r.flags & PROTO_RF_OBSERVE) ? "observe"
			                                 : "enforce");
			hub_query_str(o->b, r.source, r.source_len);
			evbuffer_add_printf(o->b, "}");
		} else {
			evbuffer_add_printf(o->b, ",\"record\":null");
		}
		evbuffer_add_printf(o->b, "}");
		return;
	}
	hub_query_ago(t->val.last_ms, now, ago, sizeof(ago));
	evbuffer_add_printf(o->b,
	    "%4zu  %-39.39s %9.1f %9.1f %7.1f %7.1f %7.0f %4.0f  %-9s ", rank,
	    text, t->val.v[field], t->val.v[HUB_CF_VOLUME],
	    t->val.v[HUB_CF_TRAP], t->val.v[HUB_CF_UNKNOWN],
	    t->val.distinct[HUB_CS_SOURCES], t->val.distinct[HUB_CS_POPS], ago);
	if (has_rec)
		evbuffer_add_printf(o->b, "%s%s (%.*s)\n",
		    proto_action_name(r.action) ?: "?",
		    (r.flags & PROTO_RF_OBSERVE) ? "/observe" : "",
		    (int)r.source_len, r.source);
	else
		evbuffer_add_printf(o->b, "-\n");
}

/* hub_query_top - /v1/top */
static void
hub_query_top(
    struct evhttp_request *req, struct hub_query_out *o, struct evkeyvalq *q)
{
	const char *kname = hub_query_arg(q, "kind");
	const char *by = hub_query_arg(q, "by");
	const char *since = hub_query_arg(q, "since");
	const char *ns = hub_query_arg(q, "n");
	struct hub_ctr *ctr = hub_ingest_counters(hub_query.g);
	struct hub_ctr_top *rows;
	uint64_t now = mx_unix_ms(), since_ms = 0, n = 0, total = 0;
	char why[200];
	size_t got = 0, i, k;
	int field = HUB_CF_REJECT, rc;

	if (kname == NULL)
		kname = "ips";
	for (k = 0; k < sizeof(hub_query_kinds) / sizeof(hub_query_kinds[0]);
	     k++)
		if (strcmp(kname, hub_query_kinds[k].name) == 0)
			break;
	if (k == sizeof(hub_query_kinds) / sizeof(hub_query_kinds[0])) {
		snprintf(why, sizeof(why),
		    "kind: '%.32s' is not ips, nets, domains, urls or fps",
		    kname);
		hub_query_bad(req, o, why);
		return;
	}
	if (by != NULL) {
		for (field = 0; field < HUB_CF__COUNT; field++)
			if (strcmp(by, hub_query_fields[field]) == 0)
				break;
		if (field == HUB_CF__COUNT) {
			snprintf(why, sizeof(why),
			    "by: '%.32s' is not volume, rcpt, unknown, trap, "
			    "proto, reject or tempfail",
			    by);
			hub_query_bad(req, o, why);
			return;
		}
	}
	if (since != NULL && mx_parse_duration_ms(since, strlen(since), 1000,
	                         HUB_QUERY_SINCE_MAX, &since_ms) != 0) {
		snprintf(why, sizeof(why),
		    "since: '%.32s' is not a duration from 1s to 30d", since);
		hub_query_bad(req, o, why);
		return;
	}
	n = HUB_QUERY_TOP_DEFAULT;
	if (ns != NULL &&
	    mx_parse_u64(ns, strlen(ns), 1, HUB_QUERY_TOP_MAX, &n) != 0) {
		snprintf(why, sizeof(why), "n: '%.32s' is not 1..%d", ns,
		    HUB_QUERY_TOP_MAX);
		hub_query_bad(req, o, why);
		return;
	}
	hub_metrics_inc(HUB_M_QUERIES);
	rows = mx_calloc((size_t)n, sizeof(*rows));
	rc = hub_ctr_top(ctr, hub_query_kinds[k].ctr_kind, field, now,
	    since_ms ? now - since_ms : 0, (size_t)n, rows, &got);
	if (rc == 0)
		rc = hub_ctr_count(ctr, hub_query_kinds[k].ctr_kind, &total);
	if (rc != 0) {
		mx_warn("query: top %s: %s", kname, mx_strerror(rc));
		got = 0;
	}
	if (o->is_json) {
		evbuffer_add_printf(o->b,
		    "{\"kind\":\"%s\",\"by\":\"%s\",\"since_ms\":%llu,"
		    "\"keys\":%llu,\"rows\":[",
		    hub_query_kinds[k].name, hub_query_fields[field],
		    (unsigned long long)since_ms, (unsigned long long)total);
	} else {
		evbuffer_add_printf(o->b,
		    "top %s by %s at hub %s (decayed, half-life %llus)%s%s: "
		    "%zu of %llu keys\n",
		    hub_query_kinds[k].name, hub_query_fields[field],
		    hub_query.c->hub_id,
		    (unsigned long long)(hub_query.c->half_life / 1000u),
		    since ? ", seen within " : "", since ? since : "", got,
		    (unsigned long long)total);
		evbuffer_add_printf(o->b,
		    "rank  %-39s %9s %9s %7s %7s %7s %4s  %-9s record\n", "key",
		    hub_query_fields[field], "volume", "trap", "unknown",
		    "sources", "pops", "last seen");
	}
	for (i = 0; i < got; i++)
		hub_query_top_row(o, i + 1, hub_query_kinds[k].rec_kind,
		    &rows[i], field, now);
	if (o->is_json)
		evbuffer_add_printf(o->b, "]}\n");
	mx_free(rows);
	hub_query_send(req, o, 200);
}

/* hub_query_authorized - the bearer token, when one is configured */
static int
hub_query_authorized(struct evhttp_request *req)
{
	const char *tok = hub_query.c->query_token;
	const char *h;
	size_t tl = strlen(tok);

	if (tl == 0)
		return 1;
	h = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization");
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) != tl)
		return 0;
	return CRYPTO_memcmp(h + 7, tok, tl) == 0;
}

/* hub_query_request - one request */
static void
hub_query_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct hub_query_out o;
	struct evkeyvalq q;
	const char *fmt;

	(void)arg;
	if (!hub_query_authorized(req)) {
		hub_metrics_inc(HUB_M_QUERY_DENIED);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer");
		evhttp_send_error(req, 401, NULL);
		return;
	}
	if (path == NULL ||
	    (strcmp(path, "/v1/show") != 0 && strcmp(path, "/v1/top") != 0)) {
		hub_metrics_inc(HUB_M_QUERY_BAD);
		evhttp_send_error(req, 404, NULL);
		return;
	}
	/* it initialises q, and empties it again on failure */
	if (evhttp_parse_query_str(query != NULL ? query : "", &q) != 0) {
		hub_metrics_inc(HUB_M_QUERY_BAD);
		evhttp_send_error(req, 400, NULL);
		return;
	}
	fmt = hub_query_arg(&q, "format");
	o.is_json = fmt != NULL && strcmp(fmt, "json") == 0;
	o.b = evbuffer_new();
	if (o.b == NULL) {
		evhttp_clear_headers(&q);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (fmt != NULL && !o.is_json && strcmp(fmt, "text") != 0)
		hub_query_bad(req, &o, "format: not text or json");
	else if (strcmp(path, "/v1/show") == 0)
		hub_query_show(req, &o, &q);
	else
		hub_query_top(req, &o, &q);
	evbuffer_free(o.b);
	evhttp_clear_headers(&q);
}

/* hub_query_start - serve on c->query */
int
hub_query_start(struct event_base *base, const struct hub_conf *c,
    struct hub_state *st, struct hub_ingest *g)
{
	int rc;

	hub_query.c = c;
	hub_query.st = st;
	hub_query.g = g;
	hub_query.http =
	    mx_http_serve(base, c->query, hub_query_request, NULL, &rc);
	return hub_query.http != NULL ? 0 : rc;
}

/* hub_query_stop - close the endpoint */
void
hub_query_stop(void)
{
	mx_metrics_close(hub_query.http);
	hub_query.http = NULL;
}
