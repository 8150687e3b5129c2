/*
 * bench_tel.c - synthetic telemetry batches for the hub benchmarks
 *
 * Each event is drawn from a splitmix64 stream keyed by the seed, the
 * batch number and the event's index, so a batch is a pure function of
 * (seed, batch number). Pools are indexes turned into names or bytes by
 * a hash; a draw from a pool is skewed (index = pool * u^2, u uniform),
 * so the first 1 % of a pool gets 10 % of the draws and the first 10 %
 * gets 32 %, as a few senders, domains and campaigns carry much of real
 * traffic. Addresses come in fours per /24 (or /48), so the hub's net
 * rule has something to find.
 *
 * The mix (per event, before rounding): 5 % refused connections (type 2,
 * address and a reason only); else a transaction with 1-3 recipients
 * drawn from a pool of a million (0.2 % of the addresses are spam traps
 * and 10 % do not exist, so an address is always answered alike; 2 % of
 * the other answers are a refusal for another reason, the rest accepted),
 * a sender domain (5 % empty), a HELO, country and AS, a
 * verdict (a trap hit rejects; else 72 % accept, 3 % tag, 5 % tempfail,
 * 15 % reject, 5 % aborted), flags (60 % TLS, 1 % early talker, 1 %
 * protocol abuse); a transaction that got to DATA (all but the aborted)
 * has a size, a body hash (10 % also an attachment hash), 0-3 URL
 * domains and, on 55 % of them (half of all events), 16 fingerprint band
 * keys of 10 bytes and the 128-byte compact signature (fp_sig) of a
 * campaign from a pool.
 * Trust: none needed; everything here is generated.
 * Limits: BENCH_TEL_ARENA bytes of text per event (checked).
 */
#include "bench/hub/bench_tel.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/mx_alloc.h"

#define BENCH_TEL_ARENA 1024        /* arena bytes per event */
#define BENCH_TEL_DOMAINS 20000u    /* sender domain pool */
#define BENCH_TEL_URLS 50000u       /* URL domain pool */
#define BENCH_TEL_CAMPAIGNS 5000u   /* fingerprint campaign pool */
#define BENCH_TEL_RCPTS 1000000u    /* recipient pool */
#define BENCH_TEL_RCPT_DOMAINS 1000 /* protected domains */
#define BENCH_TEL_FPS 16            /* band keys per fingerprinted event */
#define BENCH_TEL_FP_LEN 10         /* bytes per band key */

static const char *const bench_tel_edges[BENCH_TEL_EDGES] = {"edge-0", "edge-1",
    "edge-2", "edge-3", "edge-4", "edge-5", "edge-6", "edge-7"};
static const char *const bench_tel_pops[BENCH_TEL_EDGES] = {
    "fra1", "fra1", "ams1", "ams1", "iad1", "iad1", "sin1", "sin1"};
static const char *const bench_tel_words[] = {"mail", "news", "shop", "promo",
    "info", "offers", "deals", "letter", "bank", "secure", "cloud", "media",
    "travel", "health", "crypto", "market", "alpha", "nova", "green", "blue",
    "fast", "smart", "home", "city", "delta", "prime", "star", "link", "data",
    "web", "net", "sky"};
static const char *const bench_tel_tlds[] = {
    "com", "net", "org", "de", "ru", "cn", "xyz", "info", "co.uk", "top"};
static const char *const bench_tel_cc[] = {
    "US", "DE", "FR", "GB", "NL", "RU", "CN", "BR", "IN", "VN", "JP", "PL"};

#define BENCH_TEL_N(a) (sizeof(a) / sizeof((a)[0]))

/* bench_tel_mix - splitmix64 finaliser: a well-spread hash of x */
static uint64_t
bench_tel_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* bench_tel_skew - a skewed draw from a pool of n: n * u^2 */
static uint32_t
bench_tel_skew(uint64_t r, uint32_t n)
{
	double u = (double)(r >> 11) * (1.0 / 9007199254740992.0);

	return (uint32_t)((double)n * u * u);
}

/* bench_tel_put - copy len bytes into the batch arena; a view of them */
static struct proto_str
bench_tel_put(struct bench_tel *g, const void *p, size_t len)
{
	struct proto_str s = {NULL, 0};

	if (g->arena_len + len > g->arena_max)
		return s; /* cannot happen: BENCH_TEL_ARENA per event */
	memcpy(g->arena + g->arena_len, p, len);
	s.p = (const uint8_t *)g->arena + g->arena_len;
	s.len = len;
	g->arena_len += len;
	return s;
}

/* bench_tel_fmt - formatted text into the batch arena; a view of it */
static struct proto_str __attribute__((format(printf, 2, 3)))
bench_tel_fmt(struct bench_tel *g, const char *fmt, ...)
{
	struct proto_str s = {NULL, 0};
	size_t room = g->arena_max - g->arena_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(g->arena + g->arena_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return s;
	s.p = (const uint8_t *)g->arena + g->arena_len;
	s.len = (size_t)n;
	g->arena_len += (size_t)n;
	return s;
}

/* bench_tel_domain - domain number i of a pool, with a name prefix */
static struct proto_str
bench_tel_domain(struct bench_tel *g, const char *prefix, uint32_t i)
{
	uint64_t h = bench_tel_mix(i * 31u + prefix[0]);

	return bench_tel_fmt(g, "%s%s%u.%s", prefix,
	    bench_tel_words[h % BENCH_TEL_N(bench_tel_words)],
	    (unsigned)(i / 7u),
	    bench_tel_tlds[(h >> 8) % BENCH_TEL_N(bench_tel_tlds)]);
}

/* bench_tel_ip - client address number idx of the pool into e */
static void
bench_tel_ip(struct proto_event *e, uint32_t idx)
{
	uint64_t net = bench_tel_mix(0x1b00000000ULL + (idx >> 2));
	uint64_t host = bench_tel_mix(0x2b00000000ULL + idx);

	if (host % 10 == 0) {
		/* 2001:db8:NNNN::/48, four addresses per /48 */
		e->ip_len = 16;
		e->ip[0] = 0x20;
		e->ip[1] = 0x01;
		e->ip[2] = 0x0d;
		e->ip[3] = 0xb8;
		memcpy(e->ip + 4, &net, 2);
		memcpy(e->ip + 6, &host, 8);
		e->ip[14] = (uint8_t)(host >> 40);
		e->ip[15] = (uint8_t)(1 + (host >> 48) % 254);
		return;
	}
	e->ip_len = 4;
	e->ip[0] = (uint8_t)(1 + net % 223);
	if (e->ip[0] == 10 || e->ip[0] == 127)
		e->ip[0]++;
	e->ip[1] = (uint8_t)(net >> 16);
	e->ip[2] = (uint8_t)(net >> 24);
	e->ip[3] = (uint8_t)(1 + (host >> 8) % 254);
}

/* bench_tel_event - event number i of the current batch into e */
static void
bench_tel_event(
    struct bench_tel *g, struct proto_event *e, uint64_t ts_ms, uint64_t i)
{
	uint64_t r =
	    bench_tel_mix(g->o.seed ^ bench_tel_mix(g->batch * 4096 + i));
	uint32_t ipi = bench_tel_skew(r, g->o.ips), n, k, sd;
	unsigned traps = 0, roll;
	uint8_t hb[33], sig[PROTO_EV_FP_SIG_LEN];
	uint64_t h;

	memset(e, 0, offsetof(struct proto_event, reasons));
	e->fp_sig.len = 0;
	e->ts_ms = ts_ms;
	bench_tel_ip(e, ipi);
	r = bench_tel_mix(r);
	if (r % 100 < 5) {
		/* a connection refused before a transaction */
		e->type = PROTO_EV_CONN_REFUSED;
		e->verdict = PROTO_VERDICT_TEMPFAIL;
		e->n_reasons = 1;
		e->reasons[0] = bench_tel_fmt(g, "%s",
		    (r >> 8) % 4 == 0 ? "policy_connect" : "per_ip_sessions");
		e->n_fps = e->n_hashes = e->n_urls = e->n_rcpts = 0;
		return;
	}
	e->type = PROTO_EV_TXN;
	/* recipients and their answers */
	r = bench_tel_mix(r);
	n = 1 + (uint32_t)(r % 3);
	e->n_rcpts = (uint16_t)n;
	for (k = 0; k < n; k++) {
		uint32_t ri;

		r = bench_tel_mix(r);
		ri = bench_tel_skew(r, BENCH_TEL_RCPTS);
		h = bench_tel_mix(0x3c00000000ULL + ri);
		memcpy(hb, &h, 8);
		/* what the address is: a property of the address */
		roll = (unsigned)(h % 1000);
		h = bench_tel_mix(h);
		memcpy(hb + 8, &h, 8);
		e->rcpts[k].hash = bench_tel_put(g, hb, 16);
		e->rcpts[k].domain = bench_tel_domain(
		    g, "", 100000u + ri % BENCH_TEL_RCPT_DOMAINS);
		if (roll < 2) {
			e->rcpts[k].result = PROTO_RCPT_TRAP;
			traps++;
		} else if (roll < 102) {
			e->rcpts[k].result = PROTO_RCPT_UNKNOWN;
			e->rcpt_unknown++;
		} else if ((r >> 8) % 100 < 2) {
			/* a full mailbox, a policy: not the address */
			e->rcpts[k].result = PROTO_RCPT_OTHER;
		} else {
			e->rcpts[k].result = PROTO_RCPT_OK;
			e->rcpt_ok++;
		}
	}
	g->n_rcpts += n;
	/* the envelope and the client */
	r = bench_tel_mix(r);
	sd = bench_tel_skew(r, BENCH_TEL_DOMAINS);
	if ((r >> 4) % 100 >= 5)
		e->sender_domain = bench_tel_domain(g, "", sd);
	e->helo =
	    (r >> 12) % 10 < 7
	        ? bench_tel_fmt(g, "mail%u.%.*s", (unsigned)((r >> 20) % 20),
	              (int)e->sender_domain.len,
	              (const char *)e->sender_domain.p)
	        : bench_tel_fmt(g, "[%u.%u.%u.%u]", e->ip[0], e->ip[1],
	              e->ip[2], e->ip[3]);
	e->country = bench_tel_fmt(
	    g, "%s", bench_tel_cc[(r >> 28) % BENCH_TEL_N(bench_tel_cc)]);
	e->asn = 1000 + (uint32_t)((ipi >> 4) % 60000);
	r = bench_tel_mix(r);
	if (r % 100 < 60)
		e->flags |= PROTO_EVF_TLS;
	if ((r >> 8) % 100 == 0)
		e->flags |= PROTO_EVF_EARLY_TALKER;
	if ((r >> 16) % 100 == 0)
		e->flags |= PROTO_EVF_PROTO_ABUSE;
	if (traps > 0) {
		e->flags |= PROTO_EVF_TRAP;
		g->n_traps++;
	}
	/* the verdict */
	roll = (unsigned)((r >> 24) % 100);
	if (traps > 0 || (roll >= 80 && roll < 95)) {
		e->verdict = PROTO_VERDICT_REJECT;
		e->score = 10 + (int32_t)((r >> 32) % 10);
		e->n_reasons = 2;
		e->reasons[0] = bench_tel_fmt(g, "score:%d", (int)e->score);
		e->reasons[1] =
		    bench_tel_fmt(g, "%s", traps ? "trap" : "fp:bulk");
	} else if (roll < 72) {
		e->verdict = PROTO_VERDICT_ACCEPT;
		e->score = (int32_t)((r >> 32) % 5);
	} else if (roll < 75) {
		e->verdict = PROTO_VERDICT_TAG;
		e->score = 6;
		e->n_reasons = 1;
		e->reasons[0] = bench_tel_fmt(g, "score:6");
	} else if (roll < 80) {
		e->verdict = PROTO_VERDICT_TEMPFAIL;
		e->n_reasons = 1;
		e->reasons[0] = bench_tel_fmt(g, "destination_refused");
	} else {
		e->verdict = PROTO_VERDICT_ABORTED;
		e->n_reasons = 1;
		e->reasons[0] = bench_tel_fmt(g, "quit");
		e->n_fps = e->n_hashes = e->n_urls = 0;
		return;
	}
	/* what DATA brought: size, hashes, URL domains, fingerprint */
	r = bench_tel_mix(r);
	e->size = 1500 + (r % 100000) * ((r >> 20) % 4 == 0 ? 10 : 1);
	hb[0] = 1;
	h = bench_tel_mix(0x4d00000000ULL + (r >> 40) % 200000);
	for (k = 0; k < 4; k++, h = bench_tel_mix(h))
		memcpy(hb + 1 + 8 * k, &h, 8);
	e->n_hashes = 1;
	e->hashes[0] = bench_tel_put(g, hb, 33);
	if ((r >> 8) % 10 == 0) {
		hb[0] = 2;
		e->hashes[e->n_hashes++] = bench_tel_put(g, hb, 33);
	}
	r = bench_tel_mix(r);
	e->n_urls = (uint16_t)(r % 4);
	for (k = 0; k < e->n_urls; k++) {
		r = bench_tel_mix(r);
		e->urls[k] =
		    bench_tel_domain(g, (r >> 30) % 3 == 0 ? "www." : "",
		        200000u + bench_tel_skew(r, BENCH_TEL_URLS));
	}
	r = bench_tel_mix(r);
	e->n_fps = 0;
	if (r % 100 < 55) {
		/* a campaign's band keys: the same 16 for each of its copies */
		uint32_t camp =
		    bench_tel_skew(bench_tel_mix(r), BENCH_TEL_CAMPAIGNS);

		g->n_fps++;
		e->n_fps = BENCH_TEL_FPS;
		for (k = 0; k < BENCH_TEL_FPS; k++) {
			h = bench_tel_mix(0x5e00000000ULL + camp * 64ULL + k);
			memcpy(hb, &h, 8);
			hb[8] = (uint8_t)k;
			hb[9] = (uint8_t)(h >> 56);
			e->fps[k] = bench_tel_put(g, hb, BENCH_TEL_FP_LEN);
		}
		/* its compact signature, as mxedge sends with the bands */
		for (k = 0; k < PROTO_EV_FP_SIG_LEN; k += 8) {
			h = bench_tel_mix(0x6f00000000ULL + camp * 64ULL + k);
			memcpy(sig + k, &h, 8);
		}
		e->fp_sig = bench_tel_put(g, sig, PROTO_EV_FP_SIG_LEN);
	}
}

/* bench_tel_init - allocate the events and the arena */
void
bench_tel_init(struct bench_tel *g, const struct bench_tel_opts *o)
{
	memset(g, 0, sizeof(*g));
	g->o = *o;
	if (g->o.events == 0 || g->o.events > PROTO_BATCH_EVENTS_MAX)
		g->o.events = 500;
	if (g->o.ips == 0)
		g->o.ips = 1;
	g->evs = mx_calloc(g->o.events, sizeof(*g->evs));
	g->arena_max = (size_t)g->o.events * BENCH_TEL_ARENA;
	g->arena = mx_malloc(g->arena_max);
}

/* bench_tel_fini - release */
void
bench_tel_fini(struct bench_tel *g)
{
	mx_free(g->evs);
	mx_free(g->arena);
	memset(g, 0, sizeof(*g));
}

/* bench_tel_next - the next batch, encoded */
int
bench_tel_next(struct bench_tel *g, uint64_t ts_ms, struct mx_buf *out,
    const char **edge, const char **pop)
{
	struct proto_telemetry_hdr h;
	unsigned ei = (unsigned)(g->batch % BENCH_TEL_EDGES);
	uint32_t i;
	int rc;

	g->arena_len = 0;
	for (i = 0; i < g->o.events; i++)
		bench_tel_event(g, &g->evs[i], ts_ms, i);
	memset(&h, 0, sizeof(h));
	h.edge_id.p = (const uint8_t *)bench_tel_edges[ei];
	h.edge_id.len = strlen(bench_tel_edges[ei]);
	h.pop.p = (const uint8_t *)bench_tel_pops[ei];
	h.pop.len = strlen(bench_tel_pops[ei]);
	h.seq = ++g->seq[ei];
	mx_buf_reset(out);
	rc = proto_telemetry_encode(out, &h, g->evs, g->o.events);
	*edge = bench_tel_edges[ei];
	*pop = bench_tel_pops[ei];
	g->batch++;
	return rc;
}
