/*
 * hub.c - bench_hub: mxhub's telemetry ingest without a broker
 *
 * Links the hub's own modules (library mxhubd) and drives them as the
 * daemon's loop does, minus MQTT: hub_ingest_telemetry for each batch,
 * and every --flush-ms of the clock hub_ingest_commit and hub_state_flush
 * (the counters' transaction ends and the rules' records are committed,
 * audited, signed and handed to a publish callback that only counts).
 * The configuration comes from hub_conf_load with the daemon's defaults
 * (hub id, data dir and a fresh Ed25519 key are given; options after --
 * go to it too), so the bench follows the daemon's rules and limits.
 *
 * Batches come from bench_tel.h (the same generator bench_hub_pub
 * publishes). Each is encoded outside the timed regions. The clock is
 * simulated: batch k carries the time of its first event at --rate
 * events per second (so a flush every 50 ms at 100,000 events/s commits
 * 5,000 events per counters transaction, whatever this machine's speed);
 * --rate 0 uses the wall clock as the daemon does.
 *
 * Each round runs two passes over the same batches (same seed and batch
 * numbers), side by side: the baseline decodes each batch once with
 * proto_telemetry_decode and a callback that only reads the event (what
 * any consumer must pay); the ingest pass is the hub's work. The hub
 * decodes every batch twice (whole first, then counting), so "decode" in
 * the breakdown is twice the baseline. CPU time is getrusage (user +
 * system) around each timed call, wall time CLOCK_MONOTONIC. Round 1
 * starts from an empty store; later rounds continue the generator on the
 * same store (keys exist: the steady state).
 * Trust: command-line arguments only, parsed with mx_parse_u64.
 * Limits: --events up to 1e9, --batch up to PROTO_BATCH_EVENTS_MAX,
 * --ips up to 1e8, --rounds up to 100, 32 hub options after --.
 */
#include <errno.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/mx_buf.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "lib/mx_parse.h"
#include "proto/proto_msg.h"
#include "proto/proto_record.h"
#include "proto/proto_store.h"
#include "hub/hub.h"
#include "hub/hub_ctr.h"
#include "bench/hub/bench_tel.h"

#define BENCH_EVENTS_MAX 1000000000ULL /* --events limit */
#define BENCH_IPS_MAX 100000000ULL     /* --ips limit */
#define BENCH_ROUNDS_MAX 100ULL        /* --rounds limit */
#define BENCH_RATE_MAX 100000000ULL    /* --rate limit, events/s */
#define BENCH_HUB_ARGS 32              /* options passed to hub_conf_load */
#define BENCH_SWEEP_MS 60000           /* the daemon sweeps this often */

struct bench_opts {
	uint64_t events;            /* events per pass */
	uint64_t batch;             /* events per batch */
	uint64_t ips;               /* client address pool */
	uint64_t rate;              /* simulated events/s; 0 = wall clock */
	uint64_t flush_ms;          /* flush period on the clock */
	uint64_t counter_commit_ms; /* counters committed this often (conf) */
	uint64_t rounds;            /* rounds (round 1 on an empty store) */
	uint64_t seed;              /* generator seed */
	const char *dir;            /* data dir, or NULL for a temporary one */
	int is_keep;                /* keep the data dir */
	int n_hub_args;
	char *hub_args[BENCH_HUB_ARGS];
};

/* CPU (user, system) and wall time of timed regions, ns */
struct bench_time {
	uint64_t user, sys, wall;
};

/* what the publish callback saw */
struct bench_pub {
	uint64_t msgs, bytes;
};

/* bench_mono - CLOCK_MONOTONIC in ns */
static uint64_t
bench_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* bench_real_ms - unix ms */
static uint64_t
bench_real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* bench_tv_ns - a timeval in ns */
static uint64_t
bench_tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ULL +
	       (uint64_t)tv->tv_usec * 1000u;
}

/* a timed region: bench_start, then bench_stop adds to t */
struct bench_mark {
	struct rusage ru;
	uint64_t wall;
};

/* bench_start - mark the start of a timed region */
static void
bench_start(struct bench_mark *m)
{
	getrusage(RUSAGE_SELF, &m->ru);
	m->wall = bench_mono();
}

/* bench_stop - add the region since m to t */
static void
bench_stop(const struct bench_mark *m, struct bench_time *t)
{
	struct rusage ru;
	uint64_t wall = bench_mono();

	getrusage(RUSAGE_SELF, &ru);
	t->user += bench_tv_ns(&ru.ru_utime) - bench_tv_ns(&m->ru.ru_utime);
	t->sys += bench_tv_ns(&ru.ru_stime) - bench_tv_ns(&m->ru.ru_stime);
	t->wall += wall - m->wall;
}

/* bench_cpu - user + system, s */
static double
bench_cpu(const struct bench_time *t)
{
	return (double)(t->user + t->sys) / 1e9;
}

/* bench_count - the publish callback: count what would go out */
static void
bench_count(
    void *arg, const char *topic, const uint8_t *p, size_t len, int retain)
{
	struct bench_pub *c = arg;

	(void)topic;
	(void)p;
	(void)retain;
	c->msgs++;
	c->bytes += len;
}

/* bench_read_ev - baseline callback: read the event as a consumer would */
static int
bench_read_ev(void *arg, const struct proto_telemetry_hdr *h,
    const struct proto_event *ev)
{
	uint64_t *sum = arg;

	(void)h;
	*sum += ev->ip_len + ev->n_rcpts + ev->n_fps + ev->n_urls +
	        ev->sender_domain.len;
	return 0;
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

/* bench_keygen - a new Ed25519 private key in PEM at path; 0 or -1 */
static int
bench_keygen(const char *path)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f = NULL;
	int rc = -1;

	if (k == NULL)
		goto out;
	if ((f = fopen(path, "we")) == NULL)
		goto out;
	if (PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1)
		rc = 0;
out:
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	EVP_PKEY_free(k);
	return rc;
}

/* bench_clock - the clock of batch k (events before it: done), ms */
static uint64_t
bench_clock(const struct bench_opts *o, uint64_t t0_ms, uint64_t done)
{
	if (o->rate == 0)
		return bench_real_ms();
	return t0_ms + done * 1000u / o->rate;
}

/*
 * bench_baseline - decode every batch of the pass once; t gets the
 * decode time, *bytes the encoded bytes, gen the encode time
 */
static int
bench_baseline(const struct bench_opts *o, uint64_t first_batch, uint64_t t0_ms,
    struct bench_time *t, uint64_t *bytes, struct bench_time *gen)
{
	struct bench_tel_opts to = {
	    o->seed, (uint32_t)o->ips, (uint32_t)o->batch};
	struct bench_tel g;
	struct proto_telemetry_hdr h;
	struct bench_mark m;
	struct mx_buf buf;
	const char *edge, *pop;
	uint64_t done = 0, sum = 0;
	int rc = 0;

	bench_tel_init(&g, &to);
	g.batch = first_batch;
	mx_buf_init(&buf, PROTO_MSG_MAX);
	while (done < o->events) {
		bench_start(&m);
		rc = bench_tel_next(
		    &g, bench_clock(o, t0_ms, done), &buf, &edge, &pop);
		bench_stop(&m, gen);
		if (rc != 0)
			break;
		*bytes += buf.len;
		bench_start(&m);
		rc = proto_telemetry_decode(
		    buf.data, buf.len, &h, bench_read_ev, &sum);
		bench_stop(&m, t);
		if (rc != 0)
			break;
		done += o->batch;
	}
	mx_buf_fini(&buf);
	bench_tel_fini(&g);
	if (rc != 0)
		fprintf(stderr, "bench_hub: baseline: %s\n", mx_strerror(rc));
	return rc;
}

/*
 * bench_flush - the daemon's flush: the records every flush, the counters
 * on their own period (counter_commit_time; counters true: now)
 */
static void
bench_flush(struct hub_ingest *in, struct hub_state *st, struct bench_pub *pub,
    int counters)
{
	if (counters)
		hub_ingest_commit(in);
	if (hub_state_flush(st, bench_count, pub) != 0)
		fprintf(stderr, "bench_hub: flush failed (counted)\n");
}

/*
 * bench_ingest - the hub's work over the pass's batches; ti gets the
 * time in hub_ingest_telemetry, tf in the flushes (and sweeps)
 */
static int
bench_ingest(const struct bench_opts *o, struct hub_ingest *in,
    struct hub_state *st, uint64_t first_batch, uint64_t t0_ms,
    struct bench_time *ti, struct bench_time *tf, uint64_t *flushes,
    struct bench_pub *pub)
{
	struct bench_tel_opts to = {
	    o->seed, (uint32_t)o->ips, (uint32_t)o->batch};
	struct bench_tel g;
	struct bench_mark m;
	struct bench_time gen = {0, 0, 0};
	struct mx_buf buf;
	const char *edge, *pop;
	uint64_t done = 0, now, next_flush, next_sweep, next_counters;
	int rc = 0;

	bench_tel_init(&g, &to);
	g.batch = first_batch;
	mx_buf_init(&buf, PROTO_MSG_MAX);
	now = bench_clock(o, t0_ms, 0);
	next_flush = now + o->flush_ms;
	next_sweep = now + BENCH_SWEEP_MS;
	next_counters = now + o->counter_commit_ms;
	while (done < o->events) {
		now = bench_clock(o, t0_ms, done);
		bench_start(&m);
		rc = bench_tel_next(&g, now, &buf, &edge, &pop);
		bench_stop(&m, &gen);
		if (rc != 0)
			break;
		bench_start(&m);
		hub_ingest_telemetry(in, pop, edge, buf.data, buf.len, now);
		bench_stop(&m, ti);
		done += o->batch;
		now = bench_clock(o, t0_ms, done);
		if (now >= next_flush) {
			bench_start(&m);
			bench_flush(in, st, pub, now >= next_counters);
			if (now >= next_counters)
				next_counters = now + o->counter_commit_ms;
			if (now >= next_sweep) {
				hub_state_sweep(st);
				hub_ingest_sweep(in, now);
				next_sweep = now + BENCH_SWEEP_MS;
			}
			bench_stop(&m, tf);
			++*flushes;
			next_flush = now + o->flush_ms;
		}
	}
	bench_start(&m);
	bench_flush(in, st, pub, 1);
	bench_stop(&m, tf);
	++*flushes;
	mx_buf_fini(&buf);
	bench_tel_fini(&g);
	if (rc != 0)
		fprintf(stderr, "bench_hub: encode: %s\n", mx_strerror(rc));
	return rc;
}

/* bench_counter_keys - keys per counter kind, from the closed store */
static void
bench_counter_keys(const struct hub_conf *c)
{
	static const char *const names[] = {
	    "", "ip", "net", "domain", "url", "fp", "rcpt"};
	struct hub_ctr_opts co;
	struct hub_ctr *ctr = NULL;
	char path[4200];
	uint64_t n;
	int k;

	snprintf(path, sizeof(path), "%s/counters", c->data_dir);
	memset(&co, 0, sizeof(co));
	co.map_bytes = c->counter_map_size;
	co.half_life_ms = c->half_life;
	co.no_sync = 1;
	if (hub_ctr_open(path, &co, &ctr) != 0)
		return;
	printf("  counter keys:");
	for (k = HUB_CK_IP; k < HUB_CK__END; k++)
		if (hub_ctr_count(ctr, k, &n) == 0)
			printf(" %s %llu",
			    (size_t)k < sizeof(names) / sizeof(names[0])
			        ? names[k]
			        : "other",
			    (unsigned long long)n);
	printf("\n");
	hub_ctr_close(ctr);
}

/* bench_records - live records per kind in the hub's record store */
static void
bench_records(const struct hub_conf *c)
{
	struct proto_store_opts so;
	struct proto_store *ps = NULL;
	struct proto_txn *t = NULL;
	char path[4200];
	uint64_t n;
	int k;

	snprintf(path, sizeof(path), "%s/records", c->data_dir);
	memset(&so, 0, sizeof(so));
	so.map_bytes = c->store_map_size;
	so.read_only = 1;
	if (proto_store_open(path, &so, &ps) != 0)
		return;
	if (proto_store_read_begin(ps, &t) == 0) {
		printf("  records held:");
		for (k = PROTO_KIND_MIN; k <= PROTO_KIND_MAX; k++)
			if (proto_store_count(t, k, &n) == 0 && n > 0)
				printf(" %s %llu", proto_kind_name(k),
				    (unsigned long long)n);
		printf("\n");
		proto_store_read_free(t);
	}
	proto_store_close(ps);
}

/* bench_round - one round: baseline, then ingest; prints its figures */
static int
bench_round(
    const struct bench_opts *o, const struct hub_conf *c, uint64_t round)
{
	struct hub_state *st = NULL;
	struct hub_ingest *in = NULL;
	struct bench_time base = {0, 0, 0}, gen = {0, 0, 0};
	struct bench_time ti = {0, 0, 0}, tf = {0, 0, 0};
	struct bench_pub pub = {0, 0};
	uint64_t first = round * ((o->events + o->batch - 1) / o->batch);
	uint64_t bytes = 0, flushes = 0, t0_ms, ev0, rr0, b0, bad0, full0, err0,
	         dup0;
	double n = (double)o->events, cb, ci, cf, call, wall;
	char err[512];
	int rc;

	/* the simulated clock starts at a whole second near now: the state
	 * judges record expiry by the wall clock */
	t0_ms = bench_real_ms() / 1000u * 1000u;
	if ((rc = bench_baseline(o, first, t0_ms, &base, &bytes, &gen)) != 0)
		return rc;
	if ((rc = hub_state_open(c, &st, err, sizeof(err))) != 0 ||
	    (rc = hub_ingest_open(c, st, &in, err, sizeof(err))) != 0) {
		fprintf(stderr, "bench_hub: %s\n", err);
		hub_ingest_close(in);
		hub_state_close(st);
		return rc;
	}
	hub_state_set_publisher(st, bench_count, &pub);
	ev0 = (uint64_t)hub_metrics_get(HUB_M_TEL_EVENTS);
	rr0 = (uint64_t)hub_metrics_get(HUB_M_RULE_RECORDS);
	b0 = (uint64_t)hub_metrics_get(HUB_M_BATCHES);
	bad0 = (uint64_t)hub_metrics_get(HUB_M_BAD_TELEMETRY);
	full0 = (uint64_t)hub_metrics_get(HUB_M_CTR_FULL);
	err0 = (uint64_t)hub_metrics_get(HUB_M_CTR_ERRORS) +
	       (uint64_t)hub_metrics_get(HUB_M_STORE_ERRORS) +
	       (uint64_t)hub_metrics_get(HUB_M_PENDING_FULL);
	dup0 = (uint64_t)hub_metrics_get(HUB_M_TEL_DUP);
	t0_ms = bench_real_ms() / 1000u * 1000u;
	rc = bench_ingest(o, in, st, first, t0_ms, &ti, &tf, &flushes, &pub);
	hub_ingest_close(in);
	hub_state_close(st);
	if (rc != 0)
		return rc;
	cb = bench_cpu(&base);
	ci = bench_cpu(&ti);
	cf = bench_cpu(&tf);
	call = ci + cf;
	wall = (double)(ti.wall + tf.wall) / 1e9;
	printf("round %llu (%s store): %.0f events, %llu batches, %.0f bytes "
	       "per event encoded; encoding took %.2f us/event (not "
	       "counted)\n",
	    (unsigned long long)round + 1, round == 0 ? "empty" : "warm", n,
	    (unsigned long long)((o->events + o->batch - 1) / o->batch),
	    (double)bytes / n, bench_cpu(&gen) * 1e6 / n);
	printf("  baseline, decode once:  %7.3f s CPU  %9.0f events/s per "
	       "core  %6.2f us/event\n",
	    cb, n / cb, cb * 1e6 / n);
	printf("  hub ingest (decode x2, counters, rules): %7.3f s CPU "
	       "(user %.3f, sys %.3f)  %6.2f us/event\n",
	    ci, (double)ti.user / 1e9, (double)ti.sys / 1e9, ci * 1e6 / n);
	printf("  hub flush x%llu (counters commit, records commit, audit, "
	       "sign): %7.3f s CPU (user %.3f, sys %.3f)  %6.2f us/event, "
	       "%.1f ms per flush\n",
	    (unsigned long long)flushes, cf, (double)tf.user / 1e9,
	    (double)tf.sys / 1e9, cf * 1e6 / n,
	    flushes ? cf * 1e3 / (double)flushes : 0.0);
	printf("  HUB TOTAL: %.0f events/s per CPU-second, %.0f events/s "
	       "wall, %.2f us/event CPU (%.3f s CPU, %.3f s wall)\n",
	    n / call, n / wall, call * 1e6 / n, call, wall);
	printf("  share of the hub's CPU: decode %.1f %% (2 x baseline), "
	       "counters and rules %.1f %%, flush %.1f %%; hub / baseline "
	       "= %.1f x\n",
	    100.0 * 2 * cb / call, 100.0 * (ci - 2 * cb) / call,
	    100.0 * cf / call, call / cb);
	printf("  counted %llu events; rule records %llu; update batches "
	       "%llu (%llu bytes signed); refused %llu, duplicates %llu, "
	       "counter keys refused (full) %llu, errors %llu\n",
	    (unsigned long long)((uint64_t)hub_metrics_get(HUB_M_TEL_EVENTS) -
	                         ev0),
	    (unsigned long long)((uint64_t)hub_metrics_get(HUB_M_RULE_RECORDS) -
	                         rr0),
	    (unsigned long long)((uint64_t)hub_metrics_get(HUB_M_BATCHES) - b0),
	    (unsigned long long)pub.bytes,
	    (unsigned long long)((uint64_t)hub_metrics_get(
	                             HUB_M_BAD_TELEMETRY) -
	                         bad0),
	    (unsigned long long)((uint64_t)hub_metrics_get(HUB_M_TEL_DUP) -
	                         dup0),
	    (unsigned long long)((uint64_t)hub_metrics_get(HUB_M_CTR_FULL) -
	                         full0),
	    (unsigned long long)((uint64_t)hub_metrics_get(HUB_M_CTR_ERRORS) +
	                         (uint64_t)hub_metrics_get(HUB_M_STORE_ERRORS) +
	                         (uint64_t)hub_metrics_get(HUB_M_PENDING_FULL) -
	                         err0));
	bench_counter_keys(c);
	bench_records(c);
	printf("RESULT round=%llu events=%.0f cpu=%.3f wall=%.3f "
	       "ingest_cpu=%.3f flush_cpu=%.3f decode_cpu=%.3f\n",
	    (unsigned long long)round + 1, n, call, wall, ci, cf, cb);
	return (uint64_t)hub_metrics_get(HUB_M_BAD_TELEMETRY) > bad0 ? MX_EIO
	                                                             : 0;
}

/* bench_usage - print the options */
static void
bench_usage(const char *prog)
{
	fprintf(stderr,
	    "usage: %s [--events N] [--batch B] [--ips P] [--rate R] "
	    "[--flush-ms F] [--rounds K] [--seed S] [--dir D] [--keep] "
	    "[-- MXHUB_OPTIONS...]\n"
	    "  --events N    events per round (default 1000000)\n"
	    "  --batch B     events per telemetry batch (default 500)\n"
	    "  --ips P       client address pool (default 100000)\n"
	    "  --rate R      simulated clock, events/s (default 100000; 0: "
	    "the wall clock, as the daemon)\n"
	    "  --flush-ms F  flush period on that clock (default 50, the "
	    "daemon's batch_time)\n"
	    "  --rounds K    rounds; round 1 on an empty store (default 2)\n"
	    "  --seed S      generator seed (default 1)\n"
	    "  --dir D       data dir (default: new in $TMPDIR or /tmp, "
	    "removed at exit unless --keep)\n"
	    "  -- ARGS       mxhub options (e.g. -- --counter-entries "
	    "2000000)\n",
	    prog);
}

/* bench_args - parse the command line; 0 or MX_EINVAL */
static int
bench_args(int argc, char **argv, struct bench_opts *o)
{
	uint64_t *num, max, min;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			for (i++; i < argc; i++) {
				if (o->n_hub_args == BENCH_HUB_ARGS)
					return MX_EINVAL;
				o->hub_args[o->n_hub_args++] = argv[i];
			}
			break;
		}
		if (strcmp(argv[i], "--keep") == 0) {
			o->is_keep = 1;
			continue;
		}
		if (i + 1 >= argc)
			return MX_EINVAL;
		min = 1;
		if (strcmp(argv[i], "--dir") == 0) {
			o->dir = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--events") == 0) {
			num = &o->events;
			max = BENCH_EVENTS_MAX;
		} else if (strcmp(argv[i], "--batch") == 0) {
			num = &o->batch;
			max = PROTO_BATCH_EVENTS_MAX;
		} else if (strcmp(argv[i], "--ips") == 0) {
			num = &o->ips;
			max = BENCH_IPS_MAX;
		} else if (strcmp(argv[i], "--rate") == 0) {
			num = &o->rate;
			min = 0;
			max = BENCH_RATE_MAX;
		} else if (strcmp(argv[i], "--flush-ms") == 0) {
			num = &o->flush_ms;
			max = 60000;
		} else if (strcmp(argv[i], "--rounds") == 0) {
			num = &o->rounds;
			max = BENCH_ROUNDS_MAX;
		} else if (strcmp(argv[i], "--seed") == 0) {
			num = &o->seed;
			min = 0;
			max = UINT64_MAX;
		} else {
			return MX_EINVAL;
		}
		i++;
		if (mx_parse_u64(argv[i], strlen(argv[i]), min, max, num) != 0)
			return MX_EINVAL;
	}
	return 0;
}

/* main - set up a hub data dir and key, run the rounds */
int
main(int argc, char **argv)
{
	struct bench_opts o = {.events = 1000000,
	    .batch = 500,
	    .ips = 100000,
	    .rate = 100000,
	    .flush_ms = 50,
	    .rounds = 2,
	    .seed = 1};
	struct hub_conf *c = NULL;
	char tmpdir[512], keyfile[600];
	char *hargv[BENCH_HUB_ARGS + 8];
	const char *dir;
	uint64_t r;
	int hargc = 0, check = 0, i, ret = 1, is_tmp = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (bench_args(argc, argv, &o) != 0) {
		bench_usage(argv[0]);
		return 2;
	}
	mx_log_open("bench_hub", 1, MX_LOG_WARN);
	if (o.dir != NULL) {
		dir = o.dir;
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			fprintf(stderr, "bench_hub: mkdir %s: %s\n", dir,
			    strerror(errno));
			return 1;
		}
	} else {
		const char *root = getenv("TMPDIR");
		int n0 = snprintf(tmpdir, sizeof(tmpdir), "%s/mxbench.XXXXXX",
		    root && *root ? root : "/tmp");

		if (n0 < 0 || (size_t)n0 >= sizeof(tmpdir) ||
		    mkdtemp(tmpdir) == NULL) {
			fprintf(stderr, "bench_hub: cannot make a temp dir\n");
			return 1;
		}
		dir = tmpdir;
		is_tmp = !o.is_keep;
	}
	if (snprintf(keyfile, sizeof(keyfile), "%s/bench.key", dir) >=
	        (int)sizeof(keyfile) ||
	    bench_keygen(keyfile) != 0) {
		fprintf(stderr, "bench_hub: cannot write a key in %s\n", dir);
		goto out;
	}
	hargv[hargc++] = argv[0];
	hargv[hargc++] = "--hub-id";
	hargv[hargc++] = "bench-hub";
	hargv[hargc++] = "--data-dir";
	hargv[hargc++] = (char *)dir;
	hargv[hargc++] = "--key";
	hargv[hargc++] = keyfile;
	for (i = 0; i < o.n_hub_args; i++)
		hargv[hargc++] = o.hub_args[i];
	hargv[hargc] = NULL;
	if ((c = hub_conf_load(hargc, hargv, &check)) == NULL) {
		fprintf(stderr, "bench_hub: hub configuration refused\n");
		goto out;
	}
	o.counter_commit_ms = c->counter_commit_time;
	printf("bench_hub: %llu events per round in batches of %llu, %llu "
	       "client addresses, clock %s, flush every %llu ms %s, %llu "
	       "rounds, data dir %s\n",
	    (unsigned long long)o.events, (unsigned long long)o.batch,
	    (unsigned long long)o.ips,
	    o.rate ? "simulated" : "wall (as the daemon)",
	    (unsigned long long)o.flush_ms,
	    o.rate ? "of simulated time" : "of wall time",
	    (unsigned long long)o.rounds, dir);
	if (o.rate)
		printf("  simulated rate %llu events/s: %llu events per "
		       "counters transaction\n",
		    (unsigned long long)o.rate,
		    (unsigned long long)(o.rate * o.counter_commit_ms / 1000u));
	for (r = 0; r < o.rounds; r++)
		if (bench_round(&o, c, r) != 0)
			goto out;
	ret = 0;
out:
	hub_conf_free(c);
	if (is_tmp)
		nftw(dir, bench_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return ret;
}
