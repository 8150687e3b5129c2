/*
 * hub_ctr.c - bench_hub_ctr: the hub's counter store under ingest load
 *
 * Replays synthetic telemetry into a hub_ctr store the way mxhub ingests
 * it: each event updates one key of each of the 5 kinds (IP, network,
 * sender domain, URL domain, fingerprint) with several sums and one item
 * for each distinct set, in write transactions of --batch updates. Keys
 * are drawn uniformly from --keys keys (an equal share per kind). Prints
 * updates per second of wall time and per CPU second (one thread, so per
 * core), for each pass (pass 1 starts from an empty store and creates
 * the keys, later passes update them), then bytes per entry: average
 * value, B-tree pages and data.mdb per entry.
 * Trust: command-line arguments only, parsed with mx_parse_u64.
 * Limits: --updates up to 1e9, --keys up to 1e8, --batch up to 1e6,
 * --passes up to 100.
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

#include <lmdb.h>

#include "lib/mx_err.h"
#include "lib/mx_parse.h"
#include "hub/hub_ctr.h"

#define BENCH_UPDATES_MAX 1000000000ULL /* --updates limit */
#define BENCH_KEYS_MAX 100000000ULL     /* --keys limit */
#define BENCH_BATCH_MAX 1000000ULL      /* --batch limit */
#define BENCH_PASSES_MAX 100ULL         /* --passes limit */
#define BENCH_KINDS (HUB_CK__END - 1)   /* kinds, one update each per event */
#define BENCH_T0 1700000000000ULL       /* first event time, ms */
#define BENCH_SOURCES 1000000ULL        /* client address pool */
#define BENCH_RCPTS 10000000ULL         /* hashed recipient pool */
#define BENCH_POPS 20ULL                /* POPs */

struct bench_opts {
	uint64_t updates; /* updates per pass */
	uint64_t keys;    /* distinct keys over all kinds */
	uint64_t batch;   /* updates per write transaction */
	uint64_t passes;  /* passes over the same key space */
	int is_sync;      /* fsync at each commit */
	int is_out;       /* read the entry back from every update */
	const char *dir;  /* store directory, or NULL for a temporary one */
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

/* bench_ts - a clock in ns */
static uint64_t
bench_ts(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* bench_key - key number j of kind into key; returns its length */
static size_t
bench_key(int kind, uint64_t j, uint8_t *key)
{
	static const char *const tlds[] = {"com", "net", "org", "ru", "xyz"};
	uint64_t h = bench_mix(j * 8 + (uint64_t)kind);
	int n;

	switch (kind) {
	case HUB_CK_IP:
		memcpy(key, &h, 4);
		return 4;
	case HUB_CK_NET:
		key[0] = 24;
		memcpy(key + 1, &h, 3);
		key[4] = 0;
		return 5;
	case HUB_CK_DOMAIN:
	case HUB_CK_URL:
		/* reversed labels, as the hub keys domains */
		n = snprintf((char *)key, HUB_CTR_KEY_MAX, "%s.%s%llx",
		    tlds[h % 5], kind == HUB_CK_URL ? "link" : "mail",
		    (unsigned long long)(h >> 20));
		return n > 0 && n < HUB_CTR_KEY_MAX ? (size_t)n : 1;
	default:
		memcpy(key, &h, 8);
		h = bench_mix(h);
		memcpy(key + 8, &h, 8);
		return 16;
	}
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

/* bench_pass - one pass of o->updates updates; 0 or an MX_E* code */
static int
bench_pass(struct hub_ctr *c, const struct bench_opts *o, uint64_t pass,
    uint64_t *elimit)
{
	static const char *const pops[BENCH_POPS] = {"fra1", "fra2", "ams1",
	    "ams2", "lon1", "lon2", "par1", "mad1", "waw1", "sto1", "iad1",
	    "iad2", "sjc1", "sea1", "dfw1", "gru1", "nrt1", "sin1", "syd1",
	    "jnb1"};
	struct hub_ctr_delta d;
	struct hub_ctr_val val;
	uint8_t key[HUB_CTR_KEY_MAX], src[4], rcpt[8];
	uint32_t src32;
	uint64_t per_kind = o->keys / BENCH_KINDS, i, ev, r, t0, c0, wall, cpu;
	size_t klen;
	int kind, rc = 0, is_open = 0;

	t0 = bench_ts(CLOCK_MONOTONIC);
	c0 = bench_ts(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < o->updates; i++) {
		if (!is_open) {
			if ((rc = hub_ctr_begin(c)) != 0)
				break;
			is_open = 1;
		}
		ev = pass * o->updates + i;
		kind = HUB_CK_IP + (int)(i % BENCH_KINDS);
		/* one event's 5 updates share its random draws */
		r = bench_mix(ev / BENCH_KINDS);
		klen = bench_key(kind,
		    bench_mix(r + (uint64_t)kind) % (per_kind ? per_kind : 1),
		    key);
		memset(&d, 0, sizeof(d));
		d.add[HUB_CF_VOLUME] = 1;
		d.add[HUB_CF_RCPT] = (double)(1 + r % 5);
		d.add[HUB_CF_UNKNOWN] = (r >> 8) % 10 == 0;
		d.add[HUB_CF_REJECT] = (r >> 16) % 5 == 0;
		d.add[HUB_CF_TEMPFAIL] = (r >> 24) % 20 == 0;
		d.add[HUB_CF_TRAP] = (r >> 32) % 100 == 0;
		d.add[HUB_CF_PROTO] = (r >> 40) % 50 == 0;
		/* a client address and a hashed recipient from their pools */
		r = bench_mix(r);
		src32 = (uint32_t)(r % BENCH_SOURCES);
		memcpy(src, &src32, sizeof(src));
		r = bench_mix(r) % BENCH_RCPTS;
		memcpy(rcpt, &r, sizeof(rcpt));
		d.item[HUB_CS_SOURCES] = src;
		d.item_len[HUB_CS_SOURCES] = sizeof(src);
		d.item[HUB_CS_RCPTS] = rcpt;
		d.item_len[HUB_CS_RCPTS] = sizeof(rcpt);
		d.item[HUB_CS_POPS] = (const uint8_t *)pops[ev % BENCH_POPS];
		d.item_len[HUB_CS_POPS] = 4;
		rc = hub_ctr_update(c, kind, key, klen, &d,
		    BENCH_T0 + ev / BENCH_KINDS, o->is_out ? &val : NULL);
		if (rc == MX_ELIMIT) {
			++*elimit;
			rc = 0;
		}
		if (rc != 0)
			break;
		if ((i + 1) % o->batch == 0) {
			is_open = 0;
			if ((rc = hub_ctr_commit(c)) != 0)
				break;
		}
	}
	if (rc == 0 && is_open)
		rc = hub_ctr_commit(c);
	else if (is_open)
		hub_ctr_abort(c);
	wall = bench_ts(CLOCK_MONOTONIC) - t0;
	cpu = bench_ts(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (rc != 0)
		return rc;
	printf("pass %llu: %llu updates (%llu events) in %.3f s wall, %.3f s "
	       "CPU: %.0f updates/s wall, %.0f updates/s per core "
	       "(%.0f events/s), %.2f us per update\n",
	    (unsigned long long)pass + 1, (unsigned long long)o->updates,
	    (unsigned long long)(o->updates / BENCH_KINDS), wall / 1e9,
	    cpu / 1e9, o->updates / (wall / 1e9), o->updates / (cpu / 1e9),
	    o->updates / BENCH_KINDS / (cpu / 1e9), cpu / 1e3 / o->updates);
	return 0;
}

/* bench_sizes - bytes per entry, from the closed store with raw LMDB */
static int
bench_sizes(const char *dir)
{
	static const char *const names[] = {"ip", "net", "domain", "url", "fp"};
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur;
	MDB_dbi dbi;
	MDB_stat st;
	MDB_val k, v;
	MDB_cursor_op op;
	struct stat fst;
	char path[600];
	uint64_t entries = 0, pages = 0, vbytes = 0, kbytes = 0, hll = 0;
	size_t i, j, psize = 4096;
	int rc = 1;

	if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 8) != 0 ||
	    mdb_env_open(env, dir, MDB_RDONLY, 0640) != 0 ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		goto out;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (mdb_dbi_open(txn, names[i], 0, &dbi) != 0 ||
		    mdb_stat(txn, dbi, &st) != 0 ||
		    mdb_cursor_open(txn, dbi, &cur) != 0)
			goto out;
		psize = st.ms_psize;
		entries += st.ms_entries;
		pages += st.ms_branch_pages + st.ms_leaf_pages +
		         st.ms_overflow_pages;
		for (op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, op) == 0;
		     op = MDB_NEXT) {
			kbytes += k.mv_size;
			vbytes += v.mv_size;
			/* value bytes 1..3: a set's state, 255 = registers */
			for (j = 1; j <= HUB_CS__COUNT && j < v.mv_size; j++)
				hll += ((const uint8_t *)v.mv_data)[j] == 255;
		}
		mdb_cursor_close(cur);
	}
	if (entries == 0)
		goto out;
	printf("entries %llu: key %.1f B, value %.1f B on average (%.2f %% "
	       "of the sets in registers); B-tree pages %.1f B per entry "
	       "(%llu pages of %zu B)\n",
	    (unsigned long long)entries, (double)kbytes / entries,
	    (double)vbytes / entries, 100.0 * hll / (entries * HUB_CS__COUNT),
	    (double)pages * psize / entries, (unsigned long long)pages, psize);
	if (snprintf(path, sizeof(path), "%s/data.mdb", dir) <
	        (int)sizeof(path) &&
	    stat(path, &fst) == 0)
		printf("data.mdb %.1f MiB: %.1f B per entry\n",
		    fst.st_size / 1048576.0, (double)fst.st_size / entries);
	rc = 0;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	return rc;
}

/* bench_usage - print the options */
static void
bench_usage(const char *prog)
{
	fprintf(stderr,
	    "usage: %s [--updates N] [--keys K] [--batch B] [--passes P] "
	    "[--sync] [--no-out] [--dir D]\n"
	    "  --updates N  updates per pass, 5 per event (default 1000000)\n"
	    "  --keys K     distinct keys, shared by the 5 kinds (default "
	    "100000)\n"
	    "  --batch B    updates per write transaction (default 1000)\n"
	    "  --passes P   passes over the same keys (default 2)\n"
	    "  --sync       fsync at each commit (default: no_sync)\n"
	    "  --no-out     do not read the entry back from each update\n"
	    "  --dir D      store directory (default: a new one in $TMPDIR "
	    "or /tmp, removed at exit)\n",
	    prog);
}

/* bench_args - parse the command line; 0 or MX_EINVAL */
static int
bench_args(int argc, char **argv, struct bench_opts *o)
{
	uint64_t *num, max;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sync") == 0) {
			o->is_sync = 1;
			continue;
		}
		if (strcmp(argv[i], "--no-out") == 0) {
			o->is_out = 0;
			continue;
		}
		if (i + 1 >= argc)
			return MX_EINVAL;
		if (strcmp(argv[i], "--dir") == 0) {
			o->dir = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--updates") == 0) {
			num = &o->updates;
			max = BENCH_UPDATES_MAX;
		} else if (strcmp(argv[i], "--keys") == 0) {
			num = &o->keys;
			max = BENCH_KEYS_MAX;
		} else if (strcmp(argv[i], "--batch") == 0) {
			num = &o->batch;
			max = BENCH_BATCH_MAX;
		} else if (strcmp(argv[i], "--passes") == 0) {
			num = &o->passes;
			max = BENCH_PASSES_MAX;
		} else {
			return MX_EINVAL;
		}
		i++;
		if (mx_parse_u64(argv[i], strlen(argv[i]), 1, max, num) != 0)
			return MX_EINVAL;
	}
	return 0;
}

/* main - run the passes and print the figures */
int
main(int argc, char **argv)
{
	struct bench_opts o = {.updates = 1000000,
	    .keys = 100000,
	    .batch = 1000,
	    .passes = 2,
	    .is_out = 1};
	struct hub_ctr_opts co;
	struct hub_ctr *c = NULL;
	char tmpdir[512];
	const char *dir;
	uint64_t p, n, total = 0, elimit = 0;
	int k, rc, ret = 1, is_tmp = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (bench_args(argc, argv, &o) != 0) {
		bench_usage(argv[0]);
		return 2;
	}
	if (o.dir != NULL) {
		dir = o.dir;
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			fprintf(stderr, "bench_hub_ctr: mkdir %s: %s\n", dir,
			    strerror(errno));
			return 1;
		}
	} else {
		const char *root = getenv("TMPDIR");
		int n0 = snprintf(tmpdir, sizeof(tmpdir), "%s/mxbench.XXXXXX",
		    root && *root ? root : "/tmp");

		if (n0 < 0 || (size_t)n0 >= sizeof(tmpdir) ||
		    mkdtemp(tmpdir) == NULL) {
			fprintf(
			    stderr, "bench_hub_ctr: cannot make a temp dir\n");
			return 1;
		}
		dir = tmpdir;
		is_tmp = 1;
	}
	memset(&co, 0, sizeof(co));
	co.map_bytes = 4ULL << 30;
	co.no_sync = !o.is_sync;
	for (k = HUB_CK_IP; k < HUB_CK__END; k++)
		co.max_entries[k] = o.keys;
	printf("bench_hub_ctr: %llu updates per pass over %llu keys (%llu "
	       "per kind), %llu updates per txn, %s, entry %s, dir %s\n",
	    (unsigned long long)o.updates, (unsigned long long)o.keys,
	    (unsigned long long)(o.keys / BENCH_KINDS),
	    (unsigned long long)o.batch, o.is_sync ? "fsync" : "no_sync",
	    o.is_out ? "read back" : "not read back", dir);
	if ((rc = hub_ctr_open(dir, &co, &c)) != 0) {
		fprintf(stderr, "bench_hub_ctr: open %s: %s\n", dir,
		    mx_strerror(rc));
		goto out;
	}
	for (p = 0; p < o.passes; p++)
		if ((rc = bench_pass(c, &o, p, &elimit)) != 0) {
			fprintf(stderr, "bench_hub_ctr: pass %llu: %s\n",
			    (unsigned long long)p + 1, mx_strerror(rc));
			goto out;
		}
	for (k = HUB_CK_IP; k < HUB_CK__END; k++)
		if (hub_ctr_count(c, k, &n) == 0)
			total += n;
	printf("keys stored %llu, refused (MX_ELIMIT) %llu\n",
	    (unsigned long long)total, (unsigned long long)elimit);
	hub_ctr_close(c);
	c = NULL;
	if (bench_sizes(dir) != 0) {
		fprintf(stderr, "bench_hub_ctr: cannot read sizes\n");
		goto out;
	}
	ret = 0;
out:
	hub_ctr_close(c);
	if (is_tmp)
		nftw(dir, bench_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return ret;
}
