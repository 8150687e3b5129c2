/*
 * edge_rcache.c - recipient auto-discovery cache
 *
 * The destination's answer to a RCPT is remembered in the LMDB cache
 * (kind PROTO_KIND_LOCAL_RCPT, never on the wire): 250 as valid for
 * rcpt_cache_ttl_ok, 550 5.1.1 as unknown for rcpt_cache_ttl_unknown. A
 * recipient known to be unknown is refused locally, so a directory
 * harvest costs the destination nothing; a known-valid recipient still
 * goes downstream, because the destination's answer always wins.
 * Workers only read (one short LMDB read on their own read transaction).
 * Writes go through a bounded queue to one writer thread that batches
 * them into a write transaction: no worker ever waits on LMDB's writer
 * lock. A full queue drops the write and counts it; a full cache
 * (rcpt_cache_max entries) refuses new entries and counts it, and expired
 * entries are swept by the writer.
 * Trust: keys are recipient addresses from the Internet, bounded by the
 * command parser's path limits; values are ours.
 */
#include "edge/edge_int.h"

#include <string.h>
#include <time.h>

#include "lib/mx_err.h"
#include "lib/mx_log.h"

#define EDGE_RCACHE_QUEUE 4096     /* pending writes */
#define EDGE_RCACHE_SWEEP_MS 60000 /* sweep expired entries this often */

struct edge_rcache_item {
	uint8_t state;    /* enum edge_rcache_state */
	uint16_t len;     /* bytes in key */
	uint64_t expires; /* unix seconds */
	char key[EDGE_CMD_PATH_MAX + EDGE_CMD_DOMAIN_MAX + 2];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int running, stop;
	struct proto_store *store;
	uint64_t max;
	size_t head, n; /* ring of queued items */
	struct edge_rcache_item q[EDGE_RCACHE_QUEUE];
} edge_rc = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
};

/* edge_rcache_lookup - what the cache knows of a recipient */
int
edge_rcache_lookup(
    struct proto_txn *rtxn, const char *addr, size_t len, uint64_t now_ms)
{
	struct proto_record r;
	int state = EDGE_RCACHE_NONE;

	if (len == 0 || len > PROTO_KEY_MAX ||
	    proto_store_read_renew(rtxn) != 0)
		return EDGE_RCACHE_NONE;
	if (proto_store_get(rtxn, PROTO_KIND_LOCAL_RCPT, (const uint8_t *)addr,
	        len, now_ms / 1000, &r) == 0)
		state = r.action == PROTO_ACT_REJECT ? EDGE_RCACHE_UNKNOWN
		                                     : EDGE_RCACHE_VALID;
	/* never hold a read transaction across the event loop */
	proto_store_read_end(rtxn);
	return state;
}

/* edge_rcache_learn - queue a destination answer; never blocks */
void
edge_rcache_learn(const char *addr, size_t len, int state, uint64_t ttl_ms)
{
	struct edge_rcache_item *it;

	if (ttl_ms == 0 || len == 0 || len > PROTO_KEY_MAX ||
	    len >= sizeof(it->key))
		return;
	pthread_mutex_lock(&edge_rc.lock);
	if (!edge_rc.running || edge_rc.n >= EDGE_RCACHE_QUEUE) {
		int was_running = edge_rc.running;

		pthread_mutex_unlock(&edge_rc.lock);
		if (was_running)
			edge_metrics_inc(EDGE_C_RCACHE_WRITE_DROPPED);
		return;
	}
	it = &edge_rc.q[(edge_rc.head + edge_rc.n) % EDGE_RCACHE_QUEUE];
	it->state = (uint8_t)state;
	it->len = (uint16_t)len;
	it->expires = (uint64_t)time(NULL) + (ttl_ms + 999) / 1000;
	memcpy(it->key, addr, len);
	/* the writer drains everything queued each time it wakes: only the
	 * first item after it went idle needs to wake it */
	if (edge_rc.n++ == 0)
		pthread_cond_signal(&edge_rc.cond);
	pthread_mutex_unlock(&edge_rc.lock);
}

/* edge_rcache_write - apply a batch in one write transaction */
static void
edge_rcache_write(struct edge_rcache_item *items, size_t n)
{
	struct proto_txn *t = NULL;
	uint64_t count = 0;
	size_t i;
	int rc;

	if (proto_store_write_begin(edge_rc.store, &t) != 0)
		return;
	if (proto_store_count(t, PROTO_KIND_LOCAL_RCPT, &count) != 0)
		count = 0;
	for (i = 0; i < n; i++) {
		struct proto_record r;

		memset(&r, 0, sizeof(r));
		r.kind = PROTO_KIND_LOCAL_RCPT;
		r.op = PROTO_OP_PUT;
		r.action = items[i].state == EDGE_RCACHE_UNKNOWN
		               ? PROTO_ACT_REJECT
		               : PROTO_ACT_ALLOW;
		r.expires = items[i].expires;
		r.ts_ms = (uint64_t)time(NULL) * 1000;
		r.key_len = items[i].len;
		memcpy(r.key, items[i].key, items[i].len);
		if (count >= edge_rc.max) {
			edge_metrics_inc(EDGE_C_RCACHE_FULL);
			continue;
		}
		rc = proto_store_apply(t, &r);
		if (rc == MX_EFULL) {
			edge_metrics_inc(EDGE_C_RCACHE_FULL);
			proto_store_abort(t);
			return;
		}
		if (rc == 0)
			count++;
	}
	if (proto_store_commit(t) != 0)
		edge_metrics_inc(EDGE_C_RCACHE_WRITE_DROPPED);
}

/* edge_rcache_main - the writer thread */
static void *
edge_rcache_main(void *arg)
{
	static struct edge_rcache_item batch[256];
	struct timespec last, now;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &last);
	pthread_mutex_lock(&edge_rc.lock);
	while (!edge_rc.stop || edge_rc.n > 0) {
		size_t n = 0;

		if (edge_rc.n == 0 && !edge_rc.stop) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(
			    &edge_rc.cond, &edge_rc.lock, &until);
		}
		while (edge_rc.n > 0 && n < 256) {
			batch[n++] = edge_rc.q[edge_rc.head];
			edge_rc.head = (edge_rc.head + 1) % EDGE_RCACHE_QUEUE;
			edge_rc.n--;
		}
		pthread_mutex_unlock(&edge_rc.lock);
		if (n > 0)
			edge_rcache_write(batch, n);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - last.tv_sec) * 1000 >= EDGE_RCACHE_SWEEP_MS) {
			size_t removed = 0;

			(void)proto_store_sweep(edge_rc.store,
			    (uint64_t)time(NULL), 10000, &removed);
			last = now;
		}
		pthread_mutex_lock(&edge_rc.lock);
	}
	pthread_mutex_unlock(&edge_rc.lock);
	return NULL;
}

/* edge_rcache_start - start the writer */
int
edge_rcache_start(struct proto_store *st, uint64_t max_entries)
{
	edge_rc.store = st;
	edge_rc.max = max_entries;
	edge_rc.stop = 0;
	if (pthread_create(&edge_rc.thread, NULL, edge_rcache_main, NULL) != 0)
		return MX_EIO;
	pthread_mutex_lock(&edge_rc.lock);
	edge_rc.running = 1;
	pthread_mutex_unlock(&edge_rc.lock);
	return 0;
}

/* edge_rcache_stop - flush what is queued and stop the writer */
void
edge_rcache_stop(void)
{
	pthread_mutex_lock(&edge_rc.lock);
	if (!edge_rc.running) {
		pthread_mutex_unlock(&edge_rc.lock);
		return;
	}
	edge_rc.running = 0;
	edge_rc.stop = 1;
	pthread_cond_signal(&edge_rc.cond);
	pthread_mutex_unlock(&edge_rc.lock);
	pthread_join(edge_rc.thread, NULL);
}
