/*
 * lookup.c - bench_lookup: LMDB store lookup latency at scale
 *
 * Loads N records (default 10,000,000: 40 % ip, 30 % net, 30 % domain,
 * keys in hash order, 100,000 per write transaction) into a store, then
 * reopens it read-only and times the edge's per-connection lookup: renew
 * a read transaction, exact IP, longest-prefix net match, a domain and
 * its parents, end the transaction. Queries mix hits and misses. Prints
 * load time, median and p99 per composite lookup and per part, and the
 * process's resident memory. DESIGN section 7 target: IP + its prefixes
 * in about a microsecond with ten million records loaded.
 * Trust: command-line arguments only, parsed with mx_parse_u64.
 * Limits: --records up to 100,000,000, --lookups up to 100,000,000,
 * --map-gb up to 1024.
 */
#include <errno.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_parse.h"
#include "proto/proto_record.h"
#include "proto/proto_store.h"

#define BENCH_BATCH 100000             /* records per write transaction */
#define BENCH_RECORDS_MAX 100000000ULL /* --records limit */
#define BENCH_LOOKUPS_MAX 100000000ULL /* --lookups limit */
#define BENCH_NAME_MAX 128             /* longest generated domain name */
#define BENCH_SEED_IP 0x1111111111111111ULL
#define BENCH_SEED_NET 0x2222222222222222ULL
#define BENCH_SEED_DOM 0x3333333333333333ULL
#define BENCH_SEED_QUERY 0x4444444444444444ULL
#define BENCH_NOW 1700000000ULL /* "now" for expiry checks, unix s */
#define BENCH_PARTS 7           /* timed parts of a composite lookup */

static const char *const bench_words[] = {
    "mail", "shop", "news", "cdn", "login", "secure", "info", "pay"};
static const char *const bench_tlds[] = {
    "com", "net", "org", "info", "ru", "cn", "xyz", "top", "de", "uk"};

struct bench_opts {
	uint64_t records; /* records to load */
	uint64_t lookups; /* timed composite lookups per pass */
	uint64_t map_gb;  /* LMDB map size, GiB */
	int is_few;       /* --lens few: 4 IPv4 and 3 IPv6 net lengths */
	const char *dir;  /* store directory, or NULL for a temporary one */
	int is_kept;      /* --keep: reuse a loaded store, never delete */
};

struct bench_gen {
	uint64_t n_ip;    /* ip records */
	uint64_t n_net;   /* net records */
	uint64_t n_dom;   /* domain records */
	double cdf4[33];  /* IPv4 prefix length distribution */
	double cdf6[129]; /* IPv6 prefix length distribution */
	int is_few;       /* --lens few */
};

struct bench_lat {
	uint32_t *ns; /* one sample per lookup, nanoseconds */
	size_t n;     /* samples */
};

/* bench_mix - splitmix64 finaliser: a well-spread hash of x */
static uint64_t
bench_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* bench_ns - monotonic clock in nanoseconds */
static uint64_t
bench_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* bench_unit - a hash as a fraction in [0, 1) */
static double
bench_unit(uint64_t h)
{
	return (double)(h >> 11) / 9007199254740992.0;
}

/* bench_pick - index of the first cdf entry above u, from lo */
static unsigned
bench_pick(const double *cdf, unsigned lo, unsigned hi, double u)
{
	unsigned p;

	for (p = lo; p < hi; p++)
		if (u < cdf[p])
			return p;
	return hi;
}

/*
 * bench_gen_init - record counts and prefix length distributions
 * Short IPv4 prefixes are capped at 2^(p-4) nets each (1/16 of the space
 * per length) so they do not cover everything; the rest goes to /21../32
 * with /24 and /32 heaviest, as in real blocklists. IPv6: /32 to /64,
 * /48 and /64 heaviest.
 */
static void
bench_gen_init(struct bench_gen *g, uint64_t n, int is_few)
{
	double w4[33] = {0}, w6[129] = {0}, sum, left, n4;
	unsigned p;

	g->n_ip = n / 10 * 4 + (n % 10 < 4 ? n % 10 : 4);
	g->n_net =
	    n / 10 * 3 + (n % 10 > 4 ? (n % 10 - 4 < 3 ? n % 10 - 4 : 3) : 0);
	g->n_dom = n - g->n_ip - g->n_net;
	n4 = (double)g->n_net * 0.75 + 1;
	left = 1.0;
	for (p = 8; p <= 20; p++) {
		w4[p] = (double)(1ULL << (p - 4)) / n4;
		if (w4[p] > left / 2)
			w4[p] = left / 2;
		left -= w4[p];
	}
	w4[24] = left * 0.40;
	w4[32] = left * 0.20;
	for (p = 21; p <= 31; p++)
		if (p != 24)
			w4[p] = left * 0.04;
	for (p = 33; p <= 64; p++)
		w6[p] = 0.01;
	w6[32] = 0.10;
	w6[48] = 0.30;
	w6[64] = 0.30;
	if (is_few) {
		/* --lens few: IPv4 /8 /16 /24 /32, IPv6 /32 /48 /64 */
		for (p = 0; p <= 32; p++)
			if (p != 8 && p != 16 && p != 24 && p != 32)
				w4[p] = 0;
		w4[24] = w4[32] * 2;
		for (p = 33; p <= 64; p++)
			if (p != 48 && p != 64)
				w6[p] = 0;
	}
	g->is_few = is_few;
	for (sum = 0, p = 0; p <= 32; p++)
		g->cdf4[p] = (sum += w4[p]);
	for (p = 0; p <= 32; p++)
		g->cdf4[p] /= sum;
	for (sum = 0, p = 0; p <= 128; p++)
		g->cdf6[p] = (sum += w6[p]);
	for (p = 0; p <= 128; p++)
		g->cdf6[p] /= sum;
}

/* bench_ip_addr - address of ip record k: 75 % IPv4, else 2001::/16 */
static size_t
bench_ip_addr(uint64_t k, uint8_t *a)
{
	uint64_t h = bench_mix(BENCH_SEED_IP ^ k), h2 = bench_mix(h);

	if (h % 4 != 0) {
		memcpy(a, &h2, 4);
		return 4;
	}
	a[0] = 0x20;
	a[1] = 0x01;
	memcpy(a + 2, &h, 6);
	memcpy(a + 8, &h2, 8);
	return 16;
}

/* bench_mask - clear the host bits of a past plen */
static void
bench_mask(uint8_t *a, size_t alen, unsigned plen)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned bit = (unsigned)i * 8;

		if (bit >= plen)
			a[i] = 0;
		else if (bit + 8 > plen)
			a[i] &= (uint8_t)(0xff << (8 - (plen - bit)));
	}
}

/* bench_net_key - [plen][address] of net record j */
static size_t
bench_net_key(const struct bench_gen *g, uint64_t j, uint8_t *key)
{
	uint64_t h = bench_mix(BENCH_SEED_NET ^ j), h2 = bench_mix(h);
	uint64_t h3 = bench_mix(h2);
	size_t alen;
	unsigned plen;

	if (h % 4 != 0) {
		alen = 4;
		plen = bench_pick(g->cdf4, 0, 32, bench_unit(h3));
		memcpy(key + 1, &h2, 4);
	} else {
		alen = 16;
		plen = bench_pick(g->cdf6, 0, 128, bench_unit(h3));
		key[1] = 0x20;
		key[2] = 0x01;
		memcpy(key + 3, &h2, 8);
		memcpy(key + 11, &h3, 6);
	}
	key[0] = (uint8_t)plen;
	bench_mask(key + 1, alen, plen);
	return 1 + alen;
}

/* bench_dom_name - text name of domain record d (seed picks the set) */
static size_t
bench_dom_name(uint64_t seed, uint64_t d, char *out, size_t size)
{
	uint64_t h = bench_mix(seed ^ d), h2 = bench_mix(h);
	int n;

	n = snprintf(out, size, "h%012llx.%s%llu.%s",
	    (unsigned long long)(h >> 16),
	    bench_words[h2 % (sizeof(bench_words) / sizeof(bench_words[0]))],
	    (unsigned long long)((h2 >> 8) % 50000),
	    bench_tlds[(h2 >> 40) %
	               (sizeof(bench_tlds) / sizeof(bench_tlds[0]))]);
	if (n < 0 || (size_t)n >= size)
		return 0;
	return (size_t)n;
}

/* bench_record - record i of the load (kinds interleaved 4:3:3) */
static int
bench_record(const struct bench_gen *g, uint64_t i, struct proto_record *r)
{
	char name[BENCH_NAME_MAX];
	uint64_t q = i / 10, m = i % 10;
	size_t len, klen = 0;

	memset(r, 0, offsetof(struct proto_record, key));
	r->op = PROTO_OP_PUT;
	r->action = (uint8_t)(i % 3 == 0 ? PROTO_ACT_REJECT : PROTO_ACT_SCORE);
	r->score = (int32_t)(i % 100);
	r->ts_ms = BENCH_NOW * 1000;
	memcpy(r->source, "bench", 5);
	r->source_len = 5;
	memcpy(r->reason, "load", 4);
	r->reason_len = 4;
	r->data_len = 0;
	if (m < 4) {
		r->kind = PROTO_KIND_IP;
		r->key_len = (uint16_t)bench_ip_addr(q * 4 + m, r->key);
		return 0;
	}
	if (m < 7) {
		r->kind = PROTO_KIND_NET;
		r->key_len =
		    (uint16_t)bench_net_key(g, q * 3 + (m - 4), r->key);
		return 0;
	}
	r->kind = PROTO_KIND_DOMAIN;
	len =
	    bench_dom_name(BENCH_SEED_DOM, q * 3 + (m - 7), name, sizeof(name));
	if (len == 0 || proto_key_domain(name, len, r->key, &klen) != 0)
		return MX_EINVAL;
	r->key_len = (uint16_t)klen;
	return 0;
}

/* bench_status - VmRSS and VmHWM of this process, kB (0 if unknown) */
static void
bench_status(uint64_t *rss_kb, uint64_t *hwm_kb)
{
	char line[256];
	FILE *fp = fopen("/proc/self/status", "r");

	*rss_kb = 0;
	*hwm_kb = 0;
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss_kb = strtoull(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm_kb = strtoull(line + 6, NULL, 10);
	}
	fclose(fp);
}

/* bench_print_mem - one line of resident memory figures */
static void
bench_print_mem(const char *when)
{
	uint64_t rss, hwm;

	bench_status(&rss, &hwm);
	printf("memory %s: VmRSS %llu kB (%.1f MiB), VmHWM %llu kB (%.1f "
	       "MiB)\n",
	    when, (unsigned long long)rss, (double)rss / 1024,
	    (unsigned long long)hwm, (double)hwm / 1024);
}

/* bench_cmp_u32 - qsort order for latency samples */
static int
bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* bench_cmp_u64 - qsort order for clock samples */
static int
bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* bench_print_lat - sort samples; print median, p99, p99.9, mean */
static void
bench_print_lat(const char *what, struct bench_lat *l)
{
	double sum = 0;
	size_t i;

	if (l->n == 0)
		return;
	qsort(l->ns, l->n, sizeof(l->ns[0]), bench_cmp_u32);
	for (i = 0; i < l->n; i++)
		sum += l->ns[i];
	printf("  %-28s median %6u ns   p99 %6u ns   p99.9 %7u ns   mean "
	       "%7.0f ns\n",
	    what, l->ns[l->n / 2], l->ns[l->n * 99 / 100],
	    l->ns[l->n * 999 / 1000], sum / (double)l->n);
}

/* bench_lat_add - record one sample, saturating at UINT32_MAX */
static void
bench_lat_add(struct bench_lat *l, uint64_t ns)
{
	l->ns[l->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

/* bench_rm_entry - nftw callback removing one entry */
static int
bench_rm_entry(
    const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* bench_load - put every record, BENCH_BATCH per write transaction;
 * counts the distinct net prefix lengths per family in lens[2] */
static int
bench_load(struct proto_store *s, const struct bench_gen *g, uint64_t n,
    unsigned lens[2])
{
	uint8_t seen[2][129] = {{0}};
	struct proto_record r;
	struct proto_txn *t = NULL;
	uint64_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		if (t == NULL && (rc = proto_store_write_begin(s, &t)) != 0)
			break;
		if ((rc = bench_record(g, i, &r)) != 0 ||
		    (rc = proto_store_apply(t, &r)) != 0)
			break;
		if (r.kind == PROTO_KIND_NET &&
		    !seen[r.key_len == 17][r.key[0]]) {
			seen[r.key_len == 17][r.key[0]] = 1;
			lens[r.key_len == 17]++;
		}
		if (i % BENCH_BATCH == BENCH_BATCH - 1 || i == n - 1) {
			rc = proto_store_commit(t);
			t = NULL;
		}
	}
	if (t != NULL)
		proto_store_abort(t);
	if (rc == 0) {
		/* remember what was loaded, for --keep */
		memset(&r, 0, offsetof(struct proto_record, key));
		r.kind = PROTO_KIND_CONFIG;
		r.op = PROTO_OP_PUT;
		memcpy(r.key, "bench.records", 13);
		r.key_len = 13;
		memcpy(r.data, &n, sizeof(n));
		r.data[sizeof(n)] = (uint8_t)g->is_few;
		r.data_len = sizeof(n) + 1;
		r.source_len = 0;
		r.reason_len = 0;
		if ((rc = proto_store_write_begin(s, &t)) == 0) {
			if ((rc = proto_store_apply(t, &r)) == 0)
				rc = proto_store_commit(t);
			else
				proto_store_abort(t);
		}
	}
	return rc;
}

/* bench_loaded - records a previous run loaded into s (*is_few: its
 * --lens mode), 0 for an empty store, UINT64_MAX for unknown contents */
static uint64_t
bench_loaded(struct proto_store *s, int *is_few)
{
	static const uint8_t key[] = "bench.records";
	struct proto_record r;
	struct proto_txn *t;
	uint64_t n = 0;

	if (proto_store_read_begin(s, &t) != 0)
		return 0;
	if (proto_store_get(
	        t, PROTO_KIND_CONFIG, key, sizeof(key) - 1, 0, &r) == 0 &&
	    r.data_len == sizeof(n) + 1) {
		memcpy(&n, r.data, sizeof(n));
		*is_few = r.data[sizeof(n)];
	} else if (proto_store_count(t, PROTO_KIND_IP, &n) != 0 || n != 0) {
		/* records, but not from a bench run it can reproduce */
		n = UINT64_MAX;
	}
	proto_store_read_free(t);
	return n;
}

struct bench_query {
	uint8_t addr[16];          /* client address */
	size_t alen;               /* 4 or 16 */
	char name[BENCH_NAME_MAX]; /* sender domain */
	size_t nlen;               /* bytes in name */
};

/*
 * bench_query - query q: 40 % a stored IP, 30 % an address inside a
 * stored net, 30 % a random address; half the names are a subdomain of
 * a stored domain (hit on the second probe), half unknown (miss after
 * walking to the TLD)
 */
static void
bench_query(const struct bench_gen *g, uint64_t q, struct bench_query *out)
{
	uint64_t h = bench_mix(BENCH_SEED_QUERY ^ q), h2 = bench_mix(h);
	uint8_t key[17];
	size_t klen, n;

	switch (h % 10) {
	case 0:
	case 1:
	case 2:
	case 3:
		out->alen = bench_ip_addr(h2 % g->n_ip, out->addr);
		break;
	case 4:
	case 5:
	case 6:
		klen = bench_net_key(g, h2 % g->n_net, key);
		out->alen = klen - 1;
		memcpy(out->addr, key + 1, out->alen);
		/* random host bits inside the net */
		for (n = (key[0] + 7) / 8; n < out->alen; n++)
			out->addr[n] = (uint8_t)(h >> (8 * (n % 8)));
		if (key[0] % 8 != 0)
			out->addr[key[0] / 8] |=
			    (uint8_t)(h2 & (0xffu >> (key[0] % 8)));
		break;
	default:
		if (h2 % 4 != 0) {
			memcpy(out->addr, &h2, 4);
			out->alen = 4;
		} else {
			out->addr[0] = 0x20;
			out->addr[1] = 0x01;
			memcpy(out->addr + 2, &h, 6);
			memcpy(out->addr + 8, &h2, 8);
			out->alen = 16;
		}
		break;
	}
	memcpy(out->name, "www.", 4);
	if ((h >> 32) % 2 == 0)
		n = bench_dom_name(BENCH_SEED_DOM, (h2 >> 3) % g->n_dom,
		    out->name + 4, sizeof(out->name) - 4);
	else
		n = bench_dom_name(
		    BENCH_SEED_QUERY, h2, out->name + 4, sizeof(out->name) - 4);
	out->nlen = 4 + n;
}

struct bench_hits {
	uint64_t ip;  /* exact IP hits */
	uint64_t net; /* LPM hits */
	uint64_t dom; /* domain or parent hits */
	uint64_t err; /* unexpected errors */
};

/* bench_count - tally one lookup result */
static void
bench_count(int rc, uint64_t *hit, struct bench_hits *h)
{
	if (rc == 0)
		(*hit)++;
	else if (rc != MX_ENOTFOUND)
		h->err++;
}

/*
 * bench_run - one pass of n composite lookups; with parts != NULL also
 * time each part (4 more clock reads per lookup, so the composite of
 * that pass is not reported)
 */
static int
bench_run(struct proto_store *s, const struct bench_gen *g, uint64_t n,
    struct bench_lat *all, struct bench_lat *parts, struct bench_hits *h)
{
	struct proto_record out;
	struct proto_txn *t = NULL;
	struct bench_query q;
	uint64_t i, t0, t1, t2, t3, t4, t5;
	uint8_t ipkey[16];
	size_t iplen;
	int rc;

	memset(h, 0, sizeof(*h));
	if ((rc = proto_store_read_begin(s, &t)) != 0)
		return rc;
	proto_store_read_end(t);
	for (i = 0; i < n && rc == 0; i++) {
		bench_query(g, i, &q);
		/* the edge keys exact IPs by the canonical address */
		if (proto_key_ip_bin(q.addr, q.alen, ipkey, &iplen) != 0)
			continue;
		t0 = bench_ns();
		if ((rc = proto_store_read_renew(t)) != 0)
			break;
		t1 = parts ? bench_ns() : 0;
		bench_count(proto_store_get(t, PROTO_KIND_IP, ipkey, iplen,
		                BENCH_NOW, &out),
		    &h->ip, h);
		t2 = parts ? bench_ns() : 0;
		bench_count(
		    proto_store_lookup_net(t, q.addr, q.alen, BENCH_NOW, &out),
		    &h->net, h);
		t3 = parts ? bench_ns() : 0;
		bench_count(proto_store_lookup_domain(
		                t, q.name, q.nlen, BENCH_NOW, &out),
		    &h->dom, h);
		t4 = parts ? bench_ns() : 0;
		proto_store_read_end(t);
		t5 = bench_ns();
		if (all != NULL)
			bench_lat_add(all, t5 - t0);
		if (parts != NULL) {
			bench_lat_add(&parts[0], (t1 - t0) + (t5 - t4));
			bench_lat_add(&parts[1], t2 - t1);
			bench_lat_add(&parts[2], t3 - t2);
			bench_lat_add(&parts[3], t4 - t3);
			bench_lat_add(&parts[4], t3 - t1);
			/* the family LPM searched: v4-mapped counts as IPv4 */
			bench_lat_add(&parts[iplen == 4 ? 5 : 6], t3 - t2);
		}
	}
	proto_store_read_free(t);
	return rc;
}

/* bench_usage - print the options */
static void
bench_usage(const char *prog)
{
	fprintf(stderr,
	    "usage: %s [--records N] [--lookups L] [--dir D] [--map-gb G] "
	    "[--lens all|few] [--keep]\n"
	    "  --records N   records to load (default 10000000)\n"
	    "  --lookups L   timed composite lookups per pass (default "
	    "1000000)\n"
	    "  --dir D       store directory (default: a new one in $TMPDIR "
	    "or /tmp)\n"
	    "  --map-gb G    LMDB map size in GiB (default 4)\n"
	    "  --lens L      net prefix lengths: all (default; IPv4 /8-/32, "
	    "IPv6 /32-/64)\n"
	    "                or few (IPv4 /8 /16 /24 /32, IPv6 /32 /48 /64)\n"
	    "  --keep        keep the store; reuse it if it holds N records\n",
	    prog);
}

/* bench_args - parse the command line; 0 or MX_EINVAL */
static int
bench_args(int argc, char **argv, struct bench_opts *o)
{
	uint64_t *num;
	uint64_t max;
	int i;

	for (i = 1; i < argc; i++) {
		num = NULL;
		if (strcmp(argv[i], "--keep") == 0) {
			o->is_kept = 1;
			continue;
		}
		if (i + 1 >= argc)
			return MX_EINVAL;
		if (strcmp(argv[i], "--lens") == 0) {
			i++;
			if (strcmp(argv[i], "few") == 0)
				o->is_few = 1;
			else if (strcmp(argv[i], "all") == 0)
				o->is_few = 0;
			else
				return MX_EINVAL;
			continue;
		}
		if (strcmp(argv[i], "--records") == 0) {
			num = &o->records;
			max = BENCH_RECORDS_MAX;
		} else if (strcmp(argv[i], "--lookups") == 0) {
			num = &o->lookups;
			max = BENCH_LOOKUPS_MAX;
		} else if (strcmp(argv[i], "--map-gb") == 0) {
			num = &o->map_gb;
			max = 1024;
		} else if (strcmp(argv[i], "--dir") == 0) {
			o->dir = argv[++i];
			continue;
		} else {
			return MX_EINVAL;
		}
		i++;
		if (mx_parse_u64(argv[i], strlen(argv[i]), 1, max, num) != 0)
			return MX_EINVAL;
	}
	return 0;
}

/* main - load, then time lookups and print the figures */
int
main(int argc, char **argv)
{
	struct bench_opts o = {
	    .records = 10000000, .lookups = 1000000, .map_gb = 4};
	struct proto_store_opts so = {0};
	struct proto_store *s = NULL;
	struct bench_gen g;
	struct bench_hits hits;
	struct bench_lat all = {0}, parts[BENCH_PARTS] = {{0}};
	static const char *const part_names[BENCH_PARTS] = {"txn renew+end",
	    "ip exact (get)", "net LPM (lookup_net)",
	    "domain + parents (lookup_dom)", "ip + its prefixes (get+LPM)",
	    "  of which LPM, IPv4 client", "  of which LPM, IPv6 client"};
	char tmpdir[512], path[600];
	const char *dir;
	struct stat st;
	uint64_t t0, loaded = 0, i, clk[1001];
	unsigned lens[2] = {0, 0};
	int loaded_few = 0;
	int rc = 1, n, is_tmp = 0;

	/* line by line even into a file: the load takes a while */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (bench_args(argc, argv, &o) != 0) {
		bench_usage(argv[0]);
		return 2;
	}
	if (o.dir != NULL) {
		dir = o.dir;
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			fprintf(stderr, "bench_lookup: mkdir %s: %s\n", dir,
			    strerror(errno));
			return 1;
		}
	} else {
		const char *root = getenv("TMPDIR");

		n = snprintf(tmpdir, sizeof(tmpdir), "%s/mxbench.XXXXXX",
		    root && *root ? root : "/tmp");
		if (n < 0 || (size_t)n >= sizeof(tmpdir) ||
		    mkdtemp(tmpdir) == NULL) {
			fprintf(
			    stderr, "bench_lookup: cannot make a temp dir\n");
			return 1;
		}
		dir = tmpdir;
		is_tmp = 1;
	}
	bench_gen_init(&g, o.records, o.is_few);
	for (i = 0; i < sizeof(clk) / sizeof(clk[0]); i++)
		clk[i] = bench_ns();
	for (i = 1000; i > 0; i--)
		clk[i] -= clk[i - 1];
	qsort(clk + 1, 1000, sizeof(clk[0]), bench_cmp_u64);
	printf("bench_lookup: records %llu (ip %llu, net %llu, domain %llu), "
	       "map %llu GiB, dir %s\n",
	    (unsigned long long)o.records, (unsigned long long)g.n_ip,
	    (unsigned long long)g.n_net, (unsigned long long)g.n_dom,
	    (unsigned long long)o.map_gb, dir);
	printf("clock_gettime back-to-back: median %llu ns\n",
	    (unsigned long long)clk[500]);

	so.map_bytes = o.map_gb << 30;
	so.no_sync = 1; /* a rebuildable cache, as the edge runs it */
	if ((rc = proto_store_open(dir, &so, &s)) != 0) {
		fprintf(stderr, "bench_lookup: open %s: %s\n", dir,
		    mx_strerror(rc));
		goto out;
	}
	loaded = bench_loaded(s, &loaded_few);
	if (loaded != 0 && o.is_kept && loaded == o.records &&
	    loaded_few == o.is_few) {
		printf("load: reusing the %llu records already in %s\n",
		    (unsigned long long)loaded, dir);
	} else if (loaded != 0) {
		fprintf(stderr,
		    "bench_lookup: %s holds a store of %llu records (lens "
		    "%s); reuse it with --keep and the same --records and "
		    "--lens, or use another --dir\n",
		    dir, (unsigned long long)loaded,
		    loaded_few ? "few" : "all");
		rc = MX_EINVAL;
		goto out;
	} else {
		t0 = bench_ns();
		if ((rc = bench_load(s, &g, o.records, lens)) != 0) {
			fprintf(stderr, "bench_lookup: load: %s\n",
			    mx_strerror(rc));
			goto out;
		}
		t0 = bench_ns() - t0;
		printf("load: %llu records in %.1f s (%.0f records/s), %d per "
		       "write txn, keys in hash order, no_sync\n",
		    (unsigned long long)o.records, (double)t0 / 1e9,
		    (double)o.records / ((double)t0 / 1e9), BENCH_BATCH);
		printf("net prefix lengths present: IPv4 %u, IPv6 %u (the "
		       "probing fallback visits each)\n",
		    lens[0], lens[1]);
	}
	n = snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0)
		printf("data.mdb: %.2f GiB on disk\n",
		    (double)st.st_blocks * 512 / (1 << 30));
	bench_print_mem("after load");
	/* reopen read-only, as an edge worker's view of the cache */
	proto_store_close(s);
	s = NULL;
	so.read_only = 1;
	if ((rc = proto_store_open(dir, &so, &s)) != 0) {
		fprintf(stderr, "bench_lookup: reopen: %s\n", mx_strerror(rc));
		goto out;
	}
	bench_print_mem("after read-only reopen");

	all.ns = mx_calloc(o.lookups, sizeof(uint32_t));
	for (i = 0; i < BENCH_PARTS; i++)
		parts[i].ns = mx_calloc(o.lookups, sizeof(uint32_t));
	printf("lookups: %llu per pass; composite = renew read txn + ip "
	       "exact + net LPM + domain and parents + end\n",
	    (unsigned long long)o.lookups);
	if ((rc = bench_run(s, &g, o.lookups, &all, NULL, &hits)) != 0)
		goto out;
	printf("pass 1 (first touch of the map: page faults included):\n");
	bench_print_lat("composite", &all);
	all.n = 0;
	if ((rc = bench_run(s, &g, o.lookups, &all, NULL, &hits)) != 0)
		goto out;
	printf("pass 2 (warm):\n");
	bench_print_lat("composite", &all);
	if ((rc = bench_run(s, &g, o.lookups, NULL, parts, &hits)) != 0)
		goto out;
	printf("pass 3 (warm, each part timed on its own):\n");
	for (i = 0; i < BENCH_PARTS; i++)
		bench_print_lat(part_names[i], &parts[i]);
	printf("hit rates: ip %.1f %%, net %.1f %%, domain %.1f %%; errors "
	       "%llu\n",
	    100.0 * (double)hits.ip / (double)o.lookups,
	    100.0 * (double)hits.net / (double)o.lookups,
	    100.0 * (double)hits.dom / (double)o.lookups,
	    (unsigned long long)hits.err);
	bench_print_mem("after lookups");
	rc = hits.err != 0 ? MX_EIO : 0;
out:
	mx_free(all.ns);
	for (i = 0; i < BENCH_PARTS; i++)
		mx_free(parts[i].ns);
	proto_store_close(s);
	if (is_tmp && !o.is_kept)
		nftw(dir, bench_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	else if (is_tmp)
		printf("store kept in %s\n", dir);
	return rc == 0 ? 0 : 1;
}
