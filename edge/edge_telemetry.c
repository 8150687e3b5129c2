/*
 * edge_telemetry.c - telemetry events and edge status over MQTT
 *
 * Sessions build one event per transaction or refused connection
 * (edge_tel_*) and submit it; submit copies it into a bounded queue and
 * never blocks. The MQTT thread owns the libmosquitto client: it batches
 * queued events (proto_telemetry_encode), publishes them QoS 1 on
 * mxs/v1/telemetry/<pop>/<edge-id>, publishes the retained status on
 * mxs/v1/status/<edge-id> (last will: the same status with state
 * offline), and reconnects with a jittered exponential backoff. When the
 * broker is away the edge keeps filtering; the queue keeps the newest
 * events up to its bounds and counts every event it had to drop, and the
 * count travels in the next batch. No message content and no full address
 * leaves the edge: local parts are hashed with the deployment salt
 * (HMAC-SHA-256, first 16 bytes).
 *
 * Delivery: a batch is counted as sent when the broker acknowledges it
 * (PUBACK). At most EDGE_TEL_INFLIGHT_MAX batches are unacknowledged at
 * once; libmosquitto keeps those across a reconnect and sends them again
 * (QoS 1: the hub may see a batch twice, and tells by its seq). Everything
 * else waits in our own queue, so libmosquitto never holds more than
 * EDGE_TEL_INFLIGHT_MAX * PROTO_MSG_MAX bytes of ours.
 *
 * Updates: with hub keys configured the same thread receives the hubs'
 * signed updates. It subscribes (QoS 1) to mxs/v1/updates/<hub-id> and
 * mxs/v1/snapshot/<hub-id>/+ of every trusted hub on every connection
 * and hands each message to edge_updates.c, which writes the store: this
 * thread is the only writer of hub records (workers only read). The
 * client then keeps a persistent session (clean session off) under the
 * edge id, so the broker keeps the QoS 1 batches published while the
 * edge is briefly away and delivers them on reconnect. During an upgrade
 * the successor takes that session over; the old process, once told
 * (SIGUSR2), gives it up and finishes its telemetry under a client id of
 * its own.
 *
 * Trust: event fields come from senders (HELO, domains); each is bounded
 * by its protocol maximum and the whole event by EDGE_TEL_ARENA_MAX. The
 * broker's input is read by libmosquitto (CONNACK, PUBACK, PUBLISH);
 * received messages go to edge_updates.c, which trusts nothing it cannot
 * verify with a hub's key. Limits: telemetry_queue events and
 * telemetry_queue_bytes bytes queued, telemetry_batch events and
 * PROTO_MSG_MAX bytes per batch, EDGE_TEL_INFLIGHT_MAX batches in
 * flight, EDGE_TEL_CONNECT_MS per connection attempt, EDGE_TEL_STOP_MS
 * for the final flush, EDGE_TEL_YIELD_MS to hand the session over; the
 * update limits are edge_updates.c's.
 */
#include "edge/edge_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <mosquitto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/mx_alloc.h"
#include "lib/mx_ascii.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "lib/mx_time.h"
#include "proto/proto_msg.h"
#include "proto/proto_topic.h"

#define EDGE_TEL_BACKOFF_MIN_MS 250   /* first retry after a failure */
#define EDGE_TEL_BACKOFF_MAX_MS 30000 /* retries at least this often */
#define EDGE_TEL_CONNECT_MS 10000     /* TCP, TLS and CONNACK, at most */
#define EDGE_TEL_KEEPALIVE_S 30       /* MQTT keepalive */
#define EDGE_TEL_INFLIGHT_MAX 8       /* batches not yet acknowledged */
#define EDGE_TEL_STOP_MS 5000         /* final flush at exit, at most */
#define EDGE_TEL_LOOP_MS 50           /* network wait per thread turn */
#define EDGE_TEL_STATUS_MAX 4096      /* one status payload */
#define EDGE_TEL_RATE_SLOTS 61        /* seconds of transaction totals */
#define EDGE_TEL_POS_STATUS_MS 1000   /* a moved position, at most so often */
#define EDGE_TEL_REC_HDR 3            /* record: field byte, 16-bit length */
#define EDGE_TEL_YIELD_MS 1000        /* acks awaited before a handover */
#define EDGE_TEL_STABLE_MS 10000 /* up this long: the backoff starts over */

enum edge_tel_state {
	EDGE_TEL_DOWN = 0,   /* no connection; next attempt at next_try_ms */
	EDGE_TEL_CONNECTING, /* TCP/TLS/CONNECT under way */
	EDGE_TEL_UP,         /* CONNACK accepted */
};

/* a queued event: the head and a copy of the builder's records */
struct edge_tel_item {
	struct edge_tel_item *next; /* on a local free list only */
	struct edge_tel_head h;
	size_t len;     /* bytes in data */
	uint8_t data[]; /* records, as in the builder's arena */
};

/* a batch handed to libmosquitto and not yet acknowledged */
struct edge_tel_inflight {
	int mid;     /* MQTT message id */
	size_t n;    /* events in the batch */
	int is_used; /* slot taken */
};

/* per field: how many, and how long each may be */
static const struct {
	uint16_t count_max; /* 1: a one-valued field */
	uint16_t len_max;   /* bytes */
	uint8_t is_cut;     /* longer input is cut, not refused */
} edge_tel_fields[EDGE_TEL_F__COUNT] = {
    [EDGE_TEL_F_HELO] = {1, PROTO_HELO_MAX, 1},
    [EDGE_TEL_F_SENDER_DOMAIN] = {1, PROTO_DOMAIN_MAX, 0},
    [EDGE_TEL_F_COUNTRY] = {1, 2, 0},
    [EDGE_TEL_F_REASON] = {PROTO_EV_REASONS_MAX, PROTO_REASON_ID_MAX, 1},
    [EDGE_TEL_F_FP] = {PROTO_EV_FPS_MAX, PROTO_FP_MAX, 0},
    [EDGE_TEL_F_HASH] = {PROTO_EV_HASHES_MAX, EDGE_TEL_KEY_MAX, 0},
    [EDGE_TEL_F_URL] = {PROTO_EV_URLS_MAX, PROTO_DOMAIN_MAX, 0},
    [EDGE_TEL_F_RCPT] = {PROTO_EV_RCPTS_MAX,
        1 + EDGE_TEL_HASH_LEN + PROTO_DOMAIN_MAX, 0},
    [EDGE_TEL_F_FP_SIG] = {1, PROTO_EV_FP_SIG_LEN, 0},
};

static struct {
	/* shared with the workers */
	pthread_mutex_t lock;     /* guards q, head, n, bytes, dropped */
	struct edge_tel_item **q; /* ring of conf.queue_max items */
	size_t head, n;
	uint64_t bytes;              /* item bytes queued */
	uint64_t dropped;            /* drops not yet reported in a batch */
	atomic_int is_on;            /* started: builders record events */
	atomic_uint_fast64_t n_txns; /* transaction events submitted */
	/* set by edge_tel_start, read-only afterwards */
	struct edge_tel_conf conf;
	char topic_tel[PROTO_TOPIC_MAX];
	char topic_status[PROTO_TOPIC_MAX];
	uint64_t start_ms; /* wall clock, for uptime */
	uint32_t tag;      /* random: a client id of this process's own */
	char *tls_ca;      /* connection settings, owned, kept for the */
	char *tls_cert;    /* new client of a handover; NULL = not set */
	char *tls_key;
	char *user;
	char *pass; /* wiped when freed */
	/* the main thread's */
	pthread_t thread;
	int is_running; /* thread started */
	/* main thread -> MQTT thread */
	atomic_int stop;        /* end the thread */
	atomic_int say_offline; /* final status offline (read after stop) */
	/* the MQTT thread's own (callbacks run inside mosquitto_loop) */
	struct mosquitto *mosq;
	enum edge_tel_state state;
	uint64_t backoff_ms;  /* next failure waits about this long */
	uint64_t next_try_ms; /* monotonic: next connection attempt */
	uint64_t deadline_ms; /* monotonic: CONNECTING gives up */
	unsigned fail_streak; /* failed attempts since the last success */
	int refused_rc;       /* CONNACK refusal, for the log */
	int is_disconnected;  /* on_disconnect seen (final stop) */
	int status_mid;       /* mid of the final status publish */
	int is_status_acked;  /* ... acknowledged */
	int is_draining_said; /* draining status published */
	int is_status_due;    /* publish the status now */
	int is_pos_changed;   /* a batch moved a hub position since */
	int is_flush_due;     /* publish what is queued now */
	int is_persistent;    /* the edge id's persistent session (updates) */
	int is_subscribe_due; /* subscribe to the hubs' topics now */
	char unsub_id[PROTO_ID_MAX + 1]; /* an untrusted hub's topics to
	                                    leave, or "" */
	uint64_t up_ms;       /* monotonic: when the session came up */
	uint64_t last_flush;  /* monotonic ms */
	uint64_t last_status; /* monotonic ms */
	uint64_t seq;         /* last batch sequence handed over */
	uint64_t rng;         /* xorshift state for backoff jitter */
	size_t n_inflight;    /* used slots */
	struct edge_tel_inflight inflight[EDGE_TEL_INFLIGHT_MAX];
	struct edge_tel_item **batch; /* conf.batch_max items taken out */
	struct proto_event *evs;      /* conf.batch_max events to encode */
	struct mx_buf out;            /* one telemetry payload */
	uint64_t rate[EDGE_TEL_RATE_SLOTS]; /* n_txns at each second start */
	uint64_t rate_sec;                  /* last second sampled */
} edge_tel = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

/* ---- the builder (worker threads) ---- */

/* edge_tel_init - an empty builder (no allocation yet) */
void
edge_tel_init(struct edge_tel *t)
{
	memset(&t->h, 0, sizeof(t->h));
	mx_buf_init(&t->arena, EDGE_TEL_ARENA_MAX);
	t->is_active = 0;
}

/* edge_tel_fini - release the builder's arena */
void
edge_tel_fini(struct edge_tel *t)
{
	mx_buf_fini(&t->arena);
	t->is_active = 0;
}

/* edge_tel_begin - start an event of a type for a client address */
void
edge_tel_begin(struct edge_tel *t, uint8_t type, const uint8_t peer[16])
{
	size_t len = 0;

	memset(&t->h, 0, sizeof(t->h));
	mx_buf_reset(&t->arena);
	t->is_active = 0;
	if (!atomic_load_explicit(&edge_tel.is_on, memory_order_acquire))
		return;
	if (proto_key_ip_bin(peer, 16, t->h.ip, &len) != 0)
		return;
	t->h.ip_len = (uint8_t)len;
	t->h.type = type;
	t->is_active = 1;
}

/* edge_tel_cancel - forget the event being built */
void
edge_tel_cancel(struct edge_tel *t)
{
	t->is_active = 0;
	mx_buf_reset(&t->arena);
}

/* edge_tel_record - append one record (a, then b); all of it or nothing */
static int
edge_tel_record(struct edge_tel *t, enum edge_tel_field f, const void *a,
    size_t alen, const void *b, size_t blen)
{
	uint8_t hdr[EDGE_TEL_REC_HDR];
	size_t len = alen + blen;

	/* the length field holds any record: the longest is a rcpt */
	if (len > UINT16_MAX ||
	    mx_buf_room(&t->arena) < EDGE_TEL_REC_HDR + len ||
	    mx_buf_reserve(&t->arena, EDGE_TEL_REC_HDR + len) != 0)
		return MX_ETOOBIG;
	hdr[0] = (uint8_t)f;
	hdr[1] = (uint8_t)(len & 0xff);
	hdr[2] = (uint8_t)(len >> 8);
	/* room was reserved: these appends cannot fail */
	(void)mx_buf_append(&t->arena, hdr, sizeof(hdr));
	if (alen > 0)
		(void)mx_buf_append(&t->arena, a, alen);
	if (blen > 0)
		(void)mx_buf_append(&t->arena, b, blen);
	t->h.n[f]++;
	return 0;
}

/* edge_tel_add - a text field or a list entry */
int
edge_tel_add(
    struct edge_tel *t, enum edge_tel_field f, const void *p, size_t len)
{
	if (!t->is_active)
		return 0;
	if ((unsigned)f >= EDGE_TEL_F__COUNT || f == EDGE_TEL_F_RCPT)
		return MX_EINVAL;
	if (edge_tel_fields[f].count_max == 1) {
		if (len == 0)
			return 0;
		if (t->h.n[f] > 0)
			return MX_EEXIST;
	} else if (len == 0) {
		return MX_EINVAL;
	}
	if (t->h.n[f] >= edge_tel_fields[f].count_max)
		return MX_ELIMIT;
	if (len > edge_tel_fields[f].len_max) {
		if (!edge_tel_fields[f].is_cut)
			return MX_ETOOBIG;
		len = edge_tel_fields[f].len_max;
	}
	return edge_tel_record(t, f, p, len, NULL, 0);
}

/* edge_tel_rcpt_hash - HMAC-SHA-256 of the case-folded local part */
int
edge_tel_rcpt_hash(
    const char *local, size_t llen, uint8_t out[EDGE_TEL_HASH_LEN])
{
	uint8_t mac[EVP_MAX_MD_SIZE], low[EDGE_CMD_LOCAL_MAX + 2];
	unsigned mlen = 0;

	if (edge_tel.conf.salt_len == 0)
		return MX_ENOTFOUND;
	if (llen > sizeof(low))
		return MX_ELIMIT;
	/* local parts are compared case-insensitively by the hub */
	mx_ascii_lower_copy(low, local, llen);
	if (HMAC(EVP_sha256(), edge_tel.conf.salt, (int)edge_tel.conf.salt_len,
	        low, llen, mac, &mlen) == NULL ||
	    mlen < EDGE_TEL_HASH_LEN)
		return MX_EIO;
	memcpy(out, mac, EDGE_TEL_HASH_LEN);
	return 0;
}

/* edge_tel_rcpt - a recipient answer: salted hash of the local part */
int
edge_tel_rcpt(struct edge_tel *t, const char *local, size_t llen,
    const char *domain, size_t dlen, uint8_t result)
{
	uint8_t rec[1 + EDGE_TEL_HASH_LEN];
	int rc;

	if (!t->is_active)
		return 0;
	if (t->h.n[EDGE_TEL_F_RCPT] >= PROTO_EV_RCPTS_MAX ||
	    dlen > PROTO_DOMAIN_MAX)
		return MX_ELIMIT;
	if (result < PROTO_RCPT_OK || result > PROTO_RCPT_OTHER)
		return MX_EINVAL;
	if ((rc = edge_tel_rcpt_hash(local, llen, rec + 1)) != 0)
		return rc;
	rec[0] = result;
	return edge_tel_record(
	    t, EDGE_TEL_F_RCPT, rec, sizeof(rec), domain, dlen);
}

/* edge_tel_item_size - bytes an item accounts for in the queue */
static uint64_t
edge_tel_item_size(const struct edge_tel_item *it)
{
	return sizeof(*it) + it->len;
}

/* edge_tel_free_list - free items chained by next */
static void
edge_tel_free_list(struct edge_tel_item *it)
{
	while (it != NULL) {
		struct edge_tel_item *next = it->next;

		mx_free(it);
		it = next;
	}
}

/*
 * edge_tel_drop_oldest - with the lock held: take the oldest item out,
 * count it as dropped and chain it on *dead (freed by the caller after
 * unlocking)
 */
static void
edge_tel_drop_oldest(struct edge_tel_item **dead)
{
	struct edge_tel_item *old = edge_tel.q[edge_tel.head];

	edge_tel.head = (edge_tel.head + 1) % edge_tel.conf.queue_max;
	edge_tel.n--;
	edge_tel.bytes -= edge_tel_item_size(old);
	edge_tel.dropped++;
	edge_metrics_inc(EDGE_C_TEL_DROPPED);
	edge_metrics_add(EDGE_C_TEL_QUEUED, -1);
	old->next = *dead;
	*dead = old;
}

/* edge_tel_submit - copy the event into the queue; never blocks */
void
edge_tel_submit(struct edge_tel *t)
{
	struct edge_tel_item *it, *dead = NULL;
	uint64_t size;

	if (!t->is_active)
		return;
	t->is_active = 0;
	t->h.ts_ms = mx_unix_ms();
	it = mx_malloc(sizeof(*it) + t->arena.len);
	it->next = NULL;
	it->h = t->h;
	it->len = t->arena.len;
	if (t->arena.len > 0)
		memcpy(it->data, t->arena.data, t->arena.len);
	mx_buf_reset(&t->arena);
	size = edge_tel_item_size(it);
	if (it->h.type == PROTO_EV_TXN)
		atomic_fetch_add_explicit(
		    &edge_tel.n_txns, 1, memory_order_relaxed);
	edge_metrics_inc(EDGE_C_TEL_EVENTS);
	pthread_mutex_lock(&edge_tel.lock);
	if (edge_tel.q == NULL) {
		/* stopped (cannot happen while workers run): not queued */
		pthread_mutex_unlock(&edge_tel.lock);
		mx_free(it);
		return;
	}
	/* keep the newest: drop the oldest until this one fits */
	while (edge_tel.n > 0 &&
	       (edge_tel.n >= edge_tel.conf.queue_max ||
	           edge_tel.bytes + size > edge_tel.conf.queue_bytes_max))
		edge_tel_drop_oldest(&dead);
	edge_tel.q[(edge_tel.head + edge_tel.n) % edge_tel.conf.queue_max] = it;
	edge_tel.n++;
	edge_tel.bytes += size;
	edge_metrics_add(EDGE_C_TEL_QUEUED, 1);
	pthread_mutex_unlock(&edge_tel.lock);
	edge_tel_free_list(dead);
}

/* ---- the MQTT thread ---- */

/* edge_tel_expand - the proto_event view of a queued item */
static void
edge_tel_expand(const struct edge_tel_item *it, struct proto_event *ev)
{
	size_t off = 0;

	memset(ev, 0, sizeof(*ev));
	ev->ts_ms = it->h.ts_ms;
	ev->type = it->h.type;
	ev->ip_len = it->h.ip_len;
	memcpy(ev->ip, it->h.ip, sizeof(ev->ip));
	ev->asn = it->h.asn;
	ev->rcpt_ok = it->h.rcpt_ok;
	ev->rcpt_unknown = it->h.rcpt_unknown;
	ev->size = it->h.size;
	ev->verdict = it->h.verdict;
	ev->score = it->h.score;
	ev->flags = it->h.flags;
	while (off + EDGE_TEL_REC_HDR <= it->len) {
		uint8_t f = it->data[off];
		size_t len =
		    (size_t)it->data[off + 1] | (size_t)it->data[off + 2] << 8;
		struct proto_str s;

		if (len > it->len - off - EDGE_TEL_REC_HDR)
			mx_panic("telemetry record overruns its item");
		s.p = it->data + off + EDGE_TEL_REC_HDR;
		s.len = len;
		off += EDGE_TEL_REC_HDR + len;
		/* counts were checked when each record was added */
		switch (f) {
		case EDGE_TEL_F_HELO:
			ev->helo = s;
			break;
		case EDGE_TEL_F_SENDER_DOMAIN:
			ev->sender_domain = s;
			break;
		case EDGE_TEL_F_COUNTRY:
			ev->country = s;
			break;
		case EDGE_TEL_F_REASON:
			ev->reasons[ev->n_reasons++] = s;
			break;
		case EDGE_TEL_F_FP:
			ev->fps[ev->n_fps++] = s;
			break;
		case EDGE_TEL_F_HASH:
			ev->hashes[ev->n_hashes++] = s;
			break;
		case EDGE_TEL_F_URL:
			ev->urls[ev->n_urls++] = s;
			break;
		case EDGE_TEL_F_FP_SIG:
			ev->fp_sig = s;
			break;
		case EDGE_TEL_F_RCPT: {
			struct proto_ev_rcpt *r = &ev->rcpts[ev->n_rcpts++];

			r->result = s.p[0];
			r->hash.p = s.p + 1;
			r->hash.len = EDGE_TEL_HASH_LEN;
			r->domain.p = s.p + 1 + EDGE_TEL_HASH_LEN;
			r->domain.len = s.len - 1 - EDGE_TEL_HASH_LEN;
			break;
		}
		default:
			mx_panic("telemetry record of unknown field %u", f);
		}
	}
}

/*
 * edge_tel_requeue - put taken items (oldest first) back at the front of
 * the queue. They are older than anything queued since, so what no longer
 * fits is dropped from them, oldest first, and counted.
 */
static void
edge_tel_requeue(struct edge_tel_item **items, size_t n)
{
	struct edge_tel_item *dead = NULL;
	size_t i;

	pthread_mutex_lock(&edge_tel.lock);
	for (i = n; i-- > 0;) {
		uint64_t size = edge_tel_item_size(items[i]);

		if (edge_tel.n >= edge_tel.conf.queue_max ||
		    edge_tel.bytes + size > edge_tel.conf.queue_bytes_max) {
			items[i]->next = dead;
			dead = items[i];
			edge_tel.dropped++;
			edge_metrics_inc(EDGE_C_TEL_DROPPED);
			continue;
		}
		edge_tel.head = (edge_tel.head + edge_tel.conf.queue_max - 1) %
		                edge_tel.conf.queue_max;
		edge_tel.q[edge_tel.head] = items[i];
		edge_tel.n++;
		edge_tel.bytes += size;
		edge_metrics_add(EDGE_C_TEL_QUEUED, 1);
	}
	pthread_mutex_unlock(&edge_tel.lock);
	edge_tel_free_list(dead);
}

/* edge_tel_is_queued - did mosquitto_publish keep the message (QoS 1) */
static int
edge_tel_is_queued(int rc)
{
	/*
	 * XXX: libmosquitto 2.0 puts a QoS 1 message on its queue before it
	 * tries the socket, so a write error (NO_CONN, CONN_LOST, ERRNO, a
	 * TLS error) leaves it queued, and it is sent again after the next
	 * CONNACK. Only these checks come before the queue.
	 */
	switch (rc) {
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_NOMEM:
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_OVERSIZE_PACKET:
	case MOSQ_ERR_QOS_NOT_SUPPORTED:
	case MOSQ_ERR_MALFORMED_UTF8:
	case MOSQ_ERR_NOT_SUPPORTED:
		return 0;
	default:
		return 1;
	}
}

/*
 * edge_tel_flush_one - publish one batch: up to batch_max events (only a
 * full one when full_only), or an empty batch that reports drops.
 * Returns 1 when a batch went out, 0 when nothing did.
 */
static int
edge_tel_flush_one(int full_only)
{
	struct proto_telemetry_hdr h;
	size_t n, k, i;
	uint64_t dropped;
	int rc, mid = 0;

	if (edge_tel.n_inflight >= EDGE_TEL_INFLIGHT_MAX)
		return 0;
	/* take the oldest items out: from here on they are ours, so a
	 * submitter dropping the oldest cannot free them under us */
	pthread_mutex_lock(&edge_tel.lock);
	n = edge_tel.n < edge_tel.conf.batch_max ? edge_tel.n
	                                         : edge_tel.conf.batch_max;
	dropped = edge_tel.dropped;
	if ((full_only && n < edge_tel.conf.batch_max) ||
	    (n == 0 && dropped == 0)) {
		pthread_mutex_unlock(&edge_tel.lock);
		return 0;
	}
	for (i = 0; i < n; i++) {
		edge_tel.batch[i] = edge_tel.q[edge_tel.head];
		edge_tel.head = (edge_tel.head + 1) % edge_tel.conf.queue_max;
		edge_tel.bytes -= edge_tel_item_size(edge_tel.batch[i]);
	}
	edge_tel.n -= n;
	edge_metrics_add(EDGE_C_TEL_QUEUED, -(int64_t)n);
	pthread_mutex_unlock(&edge_tel.lock);

	for (i = 0; i < n; i++)
		edge_tel_expand(edge_tel.batch[i], &edge_tel.evs[i]);
	memset(&h, 0, sizeof(h));
	h.edge_id.p = (const uint8_t *)edge_tel.conf.edge_id;
	h.edge_id.len = strlen(edge_tel.conf.edge_id);
	h.pop.p = (const uint8_t *)edge_tel.conf.pop;
	h.pop.len = strlen(edge_tel.conf.pop);
	h.seq = edge_tel.seq + 1;
	h.dropped = dropped;
	/* events are bounded (EDGE_TEL_ARENA_MAX), a batch is not: halve it
	 * until it fits one payload and send the rest later */
	k = n;
	for (;;) {
		mx_buf_reset(&edge_tel.out);
		rc = proto_telemetry_encode(&edge_tel.out, &h, edge_tel.evs, k);
		if (rc != MX_ETOOBIG || k <= 1)
			break;
		k = (k + 1) / 2;
	}
	if (k < n)
		edge_tel_requeue(edge_tel.batch + k, n - k);
	if (rc != 0) {
		/* every field was checked when it was added: a bug, but
		 * peer-driven data must not stop telemetry. Counted. */
		mx_warn("TELEMETRY_ENCODE_FAILED events=%zu err=%s", k,
		    mx_strerror(rc));
		pthread_mutex_lock(&edge_tel.lock);
		edge_tel.dropped += k;
		pthread_mutex_unlock(&edge_tel.lock);
		edge_metrics_add(EDGE_C_TEL_DROPPED, (int64_t)k);
		for (i = 0; i < k; i++)
			mx_free(edge_tel.batch[i]);
		return 0;
	}
	rc = mosquitto_publish(edge_tel.mosq, &mid, edge_tel.topic_tel,
	    (int)edge_tel.out.len, edge_tel.out.data, 1, false);
	if (!edge_tel_is_queued(rc)) {
		mx_warn("TELEMETRY_PUBLISH_FAILED events=%zu err=\"%s\"", k,
		    mosquitto_strerror(rc));
		edge_tel_requeue(edge_tel.batch, k);
		return 0;
	}
	for (i = 0; i < EDGE_TEL_INFLIGHT_MAX; i++) {
		if (!edge_tel.inflight[i].is_used) {
			edge_tel.inflight[i].is_used = 1;
			edge_tel.inflight[i].mid = mid;
			edge_tel.inflight[i].n = k;
			edge_tel.n_inflight++;
			break;
		}
	}
	edge_tel.seq++;
	pthread_mutex_lock(&edge_tel.lock);
	edge_tel.dropped -= dropped;
	pthread_mutex_unlock(&edge_tel.lock);
	for (i = 0; i < k; i++)
		mx_free(edge_tel.batch[i]);
	mx_debug("TELEMETRY_BATCH seq=%llu events=%zu dropped=%llu bytes=%zu",
	    (unsigned long long)edge_tel.seq, k, (unsigned long long)dropped,
	    edge_tel.out.len);
	/* a write error: the message is queued, the loop sees the loss */
	return rc == MOSQ_ERR_SUCCESS;
}

/* edge_tel_rate_tick - sample the transaction total once a second */
static void
edge_tel_rate_tick(uint64_t now_ms)
{
	uint64_t sec = now_ms / 1000, total;
	unsigned guard = 0;

	if (sec <= edge_tel.rate_sec)
		return;
	total = atomic_load_explicit(&edge_tel.n_txns, memory_order_relaxed);
	/* seconds the thread missed (a slow DNS answer) get the current
	 * total: the rate reads low for them, never high */
	while (edge_tel.rate_sec < sec && guard++ < EDGE_TEL_RATE_SLOTS) {
		edge_tel.rate_sec++;
		edge_tel.rate[edge_tel.rate_sec % EDGE_TEL_RATE_SLOTS] = total;
	}
	edge_tel.rate_sec = sec;
}

/* edge_tel_msgs_per_min - transactions in the last 60 seconds */
static uint32_t
edge_tel_msgs_per_min(void)
{
	uint64_t now =
	    atomic_load_explicit(&edge_tel.n_txns, memory_order_relaxed);
	uint64_t then =
	    edge_tel.rate[(edge_tel.rate_sec + 1) % EDGE_TEL_RATE_SLOTS];

	return now - then > UINT32_MAX ? UINT32_MAX : (uint32_t)(now - then);
}

/* edge_tel_status_encode - the status payload in a given state */
static int
edge_tel_status_encode(struct mx_buf *out, uint8_t state)
{
	struct proto_status st;
	int sessions = atomic_load(&edge_srv.sessions);

	memset(&st, 0, sizeof(st));
	st.edge_id.p = (const uint8_t *)edge_tel.conf.edge_id;
	st.edge_id.len = strlen(edge_tel.conf.edge_id);
	st.pop.p = (const uint8_t *)edge_tel.conf.pop;
	st.pop.len = strlen(edge_tel.conf.pop);
	st.version.p = (const uint8_t *)EDGE_VERSION;
	st.version.len = strlen(EDGE_VERSION);
	st.state = state;
	st.ts_ms = mx_unix_ms();
	st.uptime_s = st.ts_ms > edge_tel.start_ms
	                  ? (st.ts_ms - edge_tel.start_ms) / 1000
	                  : 0;
	st.sessions = sessions > 0 ? (uint32_t)sessions : 0;
	st.msgs_per_min = edge_tel_msgs_per_min();
	/* the position applied from each hub (views into the receiver) */
	st.n_hubs = (uint16_t)edge_upd_positions(
	    edge_tel.conf.upd, st.hubs, PROTO_STATUS_HUBS_MAX);
	return proto_status_encode(out, &st);
}

/* edge_tel_status_publish - retained status, QoS 1; 0 or MX_EIO */
static int
edge_tel_status_publish(uint8_t state, int *mid)
{
	struct mx_buf b;
	int rc = MX_EIO;

	mx_buf_init(&b, EDGE_TEL_STATUS_MAX);
	if (edge_tel_status_encode(&b, state) == 0 &&
	    mosquitto_publish(edge_tel.mosq, mid, edge_tel.topic_status,
	        (int)b.len, b.data, 1, true) == MOSQ_ERR_SUCCESS)
		rc = 0;
	mx_buf_fini(&b);
	edge_tel.last_status = mx_mono_ms();
	return rc;
}

/* edge_tel_state_now - the state the status should say while running */
static uint8_t
edge_tel_state_now(void)
{
	return atomic_load(&edge_srv.draining) ? PROTO_EDGE_DRAINING
	                                       : PROTO_EDGE_ONLINE;
}

/* edge_tel_on_connect - CONNACK */
static void
edge_tel_on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)m;
	(void)arg;
	if (rc != 0) {
		/* the loop returns an error next and schedules a retry */
		edge_tel.refused_rc = rc;
		return;
	}
	edge_tel.state = EDGE_TEL_UP;
	edge_tel.refused_rc = 0;
	edge_tel.up_ms = mx_mono_ms();
	/* a persistent session taken over by another process (an upgrade)
	 * comes up and goes at once: its backoff starts over only once it
	 * has lasted (edge_tel_work), so the two do not take turns 4 times
	 * a second */
	if (!edge_tel.is_persistent)
		edge_tel.backoff_ms = EDGE_TEL_BACKOFF_MIN_MS;
	edge_metrics_inc(EDGE_C_MQTT_CONNECTS);
	edge_metrics_add(EDGE_C_MQTT_CONNECTED, 1);
	mx_notice("MQTT_CONNECTED broker=%s:%u attempts=%u",
	    edge_tel.conf.broker_host, (unsigned)edge_tel.conf.broker_port,
	    edge_tel.fail_streak + 1);
	edge_tel.fail_streak = 0;
	/* the status and what queued while the broker was away go at once,
	 * from edge_tel_work: publishing inside a libmosquitto callback
	 * takes its locks in the other order */
	edge_tel.is_status_due = 1;
	edge_tel.is_flush_due = 1;
	edge_tel.is_subscribe_due = edge_tel.is_persistent;
}

/* edge_tel_is_trusted - is id one of the trusted hubs */
static int
edge_tel_is_trusted(const char *id)
{
	size_t i;

	for (i = 0; i < edge_upd_hub_count(edge_tel.conf.upd); i++)
		if (strcmp(edge_upd_hub_id(edge_tel.conf.upd, i), id) == 0)
			return 1;
	return 0;
}

/* edge_tel_on_message - a message on a subscribed topic: a hub's update */
static void
edge_tel_on_message(
    struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct proto_topic tp;
	enum edge_upd_result r;

	(void)m;
	(void)arg;
	/* after a handover the successor owns the updates */
	if (!edge_tel.is_persistent || msg == NULL || msg->topic == NULL ||
	    msg->payloadlen < 0)
		return;
	r = edge_upd_handle(edge_tel.conf.upd, msg->topic, msg->payload,
	    (size_t)msg->payloadlen, mx_unix_ms());
	/* a new position is worth telling at once; so is a gap: the hub
	 * answers a status that lags behind with a fresh snapshot */
	if (r == EDGE_UPD_SNAP_LOADED || r == EDGE_UPD_GAP)
		edge_tel.is_status_due = 1;
	else if (r == EDGE_UPD_APPLIED)
		edge_tel.is_pos_changed = 1;
	/*
	 * The persistent session keeps the subscriptions of an earlier
	 * configuration: a hub whose key was removed goes on sending. Leave
	 * its topics (from edge_tel_work, not inside this callback).
	 */
	if (r == EDGE_UPD_UNTRUSTED && edge_tel.unsub_id[0] == '\0' &&
	    proto_topic_parse(
	        msg->topic, strnlen(msg->topic, PROTO_TOPIC_MAX), &tp) == 0 &&
	    !edge_tel_is_trusted(tp.id))
		snprintf(
		    edge_tel.unsub_id, sizeof(edge_tel.unsub_id), "%s", tp.id);
}

/* edge_tel_on_disconnect - the session ended (ours or the broker's doing) */
static void
edge_tel_on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	(void)m;
	(void)arg;
	(void)rc;
	edge_tel.is_disconnected = 1;
}

/* edge_tel_on_publish - PUBACK: the broker has the batch */
static void
edge_tel_on_publish(struct mosquitto *m, void *arg, int mid)
{
	size_t i;

	(void)m;
	(void)arg;
	if (mid == edge_tel.status_mid)
		edge_tel.is_status_acked = 1;
	for (i = 0; i < EDGE_TEL_INFLIGHT_MAX; i++) {
		struct edge_tel_inflight *f = &edge_tel.inflight[i];

		if (f->is_used && f->mid == mid) {
			edge_metrics_add(EDGE_C_TEL_SENT, (int64_t)f->n);
			edge_metrics_inc(EDGE_C_TEL_BATCHES);
			f->is_used = 0;
			edge_tel.n_inflight--;
			return;
		}
	}
}

/* edge_tel_retry_later - schedule the next attempt (jittered backoff) */
static void
edge_tel_retry_later(uint64_t now)
{
	uint64_t b = edge_tel.backoff_ms, r;

	/* xorshift64: jitter only, no secret; spreads a fleet of edges
	 * reconnecting to a restarted broker over [b/2, b) */
	edge_tel.rng ^= edge_tel.rng << 13;
	edge_tel.rng ^= edge_tel.rng >> 7;
	edge_tel.rng ^= edge_tel.rng << 17;
	r = edge_tel.rng % (b / 2 + 1);
	edge_tel.next_try_ms = now + b / 2 + r;
	edge_tel.backoff_ms =
	    b * 2 > EDGE_TEL_BACKOFF_MAX_MS ? EDGE_TEL_BACKOFF_MAX_MS : b * 2;
}

/* edge_tel_failed - a connection attempt or the session failed */
static void
edge_tel_failed(uint64_t now, const char *why)
{
	enum edge_tel_state was = edge_tel.state;

	edge_tel.state = EDGE_TEL_DOWN;
	if (was == EDGE_TEL_UP) {
		size_t queued;

		pthread_mutex_lock(&edge_tel.lock);
		queued = edge_tel.n;
		pthread_mutex_unlock(&edge_tel.lock);
		edge_metrics_add(EDGE_C_MQTT_CONNECTED, -1);
		if (!edge_tel.is_persistent ||
		    now >= edge_tel.up_ms + EDGE_TEL_STABLE_MS)
			edge_tel.backoff_ms = EDGE_TEL_BACKOFF_MIN_MS;
		mx_warn("MQTT_LOST broker=%s:%u err=\"%s\" queued=%zu "
		        "unacked_batches=%zu",
		    edge_tel.conf.broker_host,
		    (unsigned)edge_tel.conf.broker_port, why, queued,
		    edge_tel.n_inflight);
		edge_tel.fail_streak = 1;
	} else if (edge_tel.fail_streak++ == 0) {
		/* once per outage; the retries are debug */
		mx_warn("MQTT_DOWN broker=%s:%u err=\"%s\" action=retry",
		    edge_tel.conf.broker_host,
		    (unsigned)edge_tel.conf.broker_port, why);
	} else {
		mx_debug("MQTT_RETRY broker=%s:%u err=\"%s\" attempts=%u",
		    edge_tel.conf.broker_host,
		    (unsigned)edge_tel.conf.broker_port, why,
		    edge_tel.fail_streak);
	}
	edge_tel_retry_later(now);
}

/* edge_tel_will_set - the last will: this edge's status, offline */
static void
edge_tel_will_set(void)
{
	struct mx_buf b;

	mx_buf_init(&b, EDGE_TEL_STATUS_MAX);
	if (edge_tel_status_encode(&b, PROTO_EDGE_OFFLINE) != 0 ||
	    mosquitto_will_set(edge_tel.mosq, edge_tel.topic_status, (int)b.len,
	        b.data, 1, true) != MOSQ_ERR_SUCCESS)
		mx_warn("MQTT_WILL_FAILED topic=%s", edge_tel.topic_status);
	mx_buf_fini(&b);
}

/* edge_tel_connect - start a connection attempt (never blocks on TCP) */
static void
edge_tel_connect(uint64_t now)
{
	int rc;

	/* a fresh will each time: its timestamp says when we connected */
	edge_tel_will_set();
	edge_tel.refused_rc = 0;
	/*
	 * XXX: the TCP connect and TLS handshake are non-blocking, but the
	 * name lookup inside libmosquitto is not: a broker given by name
	 * with a slow resolver can hold this thread (never a worker) for
	 * the resolver's timeout. An address literal avoids it.
	 */
	rc = mosquitto_connect_async(edge_tel.mosq, edge_tel.conf.broker_host,
	    edge_tel.conf.broker_port, EDGE_TEL_KEEPALIVE_S);
	if (rc == MOSQ_ERR_SUCCESS) {
		edge_tel.state = EDGE_TEL_CONNECTING;
		edge_tel.deadline_ms = now + EDGE_TEL_CONNECT_MS;
		return;
	}
	edge_tel_failed(now,
	    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
}

/* edge_tel_loop_once - let libmosquitto read and write for up to ms */
static void
edge_tel_loop_once(int ms)
{
	int rc = mosquitto_loop(edge_tel.mosq, ms, 1);
	uint64_t now = mx_mono_ms();

	if (rc != MOSQ_ERR_SUCCESS && edge_tel.state != EDGE_TEL_DOWN) {
		const char *why = rc == MOSQ_ERR_ERRNO ? strerror(errno)
		                                       : mosquitto_strerror(rc);

		if (edge_tel.refused_rc != 0)
			why = mosquitto_connack_string(edge_tel.refused_rc);
		edge_tel_failed(now, why);
		return;
	}
	if (edge_tel.state == EDGE_TEL_CONNECTING &&
	    now >= edge_tel.deadline_ms) {
		mosquitto_disconnect(edge_tel.mosq);
		edge_tel_failed(now, "no CONNACK in time");
	}
}

/* edge_tel_subscribe - one QoS 1 subscription; a failure is logged */
static void
edge_tel_subscribe(const char *filter)
{
	int rc = mosquitto_subscribe(edge_tel.mosq, NULL, filter, 1);

	/* a lost connection shows in the loop; it subscribes again then */
	if (rc != MOSQ_ERR_SUCCESS)
		mx_warn("MQTT_SUBSCRIBE_FAILED topic=%s err=\"%s\"", filter,
		    mosquitto_strerror(rc));
}

/*
 * edge_tel_subscribe_hubs - every trusted hub's snapshot and update
 * topics (is_all), or only the snapshots of hubs that wait for one: a
 * subscription delivers the retained chunks again
 */
static void
edge_tel_subscribe_hubs(int is_all)
{
	struct edge_upd *u = edge_tel.conf.upd;
	char topic[PROTO_TOPIC_MAX];
	uint64_t now = mx_unix_ms();
	size_t i;

	for (i = 0; i < edge_upd_hub_count(u); i++) {
		const char *id = edge_upd_hub_id(u, i);

		if (!is_all && !edge_upd_resub_due(u, i, now))
			continue;
		/* ids were checked by the configuration: cannot fail */
		if (proto_topic_snapshot_sub(topic, sizeof(topic), id) != 0)
			continue;
		edge_tel_subscribe(topic);
		if (!is_all) {
			mx_info("SNAPSHOT_REQUEST hub=%s topic=%s", id, topic);
			continue;
		}
		if (proto_topic_updates(topic, sizeof(topic), id) == 0)
			edge_tel_subscribe(topic);
	}
	if (is_all)
		edge_upd_subscribed(u, now);
}

/* edge_tel_unsubscribe_hub - leave the topics of a hub no longer trusted */
static void
edge_tel_unsubscribe_hub(const char *id)
{
	char up[PROTO_TOPIC_MAX], snap[PROTO_TOPIC_MAX];

	if (proto_topic_updates(up, sizeof(up), id) != 0 ||
	    proto_topic_snapshot_sub(snap, sizeof(snap), id) != 0)
		return;
	(void)mosquitto_unsubscribe(edge_tel.mosq, NULL, up);
	(void)mosquitto_unsubscribe(edge_tel.mosq, NULL, snap);
	mx_notice("MQTT_UNSUBSCRIBE hub=%s reason=\"no hub_key: a "
	          "subscription of an earlier configuration\"",
	    id);
}

/* edge_tel_work - the connected session's periodic work */
static void
edge_tel_work(void)
{
	uint64_t now = mx_mono_ms();
	int is_handover = atomic_load(&edge_srv.handover);

	if (edge_tel.is_persistent) {
		if (now >= edge_tel.up_ms + EDGE_TEL_STABLE_MS)
			edge_tel.backoff_ms = EDGE_TEL_BACKOFF_MIN_MS;
		edge_tel_subscribe_hubs(edge_tel.is_subscribe_due);
		edge_tel.is_subscribe_due = 0;
		if (edge_tel.unsub_id[0] != '\0') {
			edge_tel_unsubscribe_hub(edge_tel.unsub_id);
			edge_tel.unsub_id[0] = '\0';
		}
	}

	/* the status first: subscribers read "online" before the events */
	if (!is_handover) {
		if (!edge_tel.is_draining_said &&
		    atomic_load(&edge_srv.draining)) {
			edge_tel.is_draining_said = 1;
			edge_tel.is_status_due = 1;
		}
		/* a moved position goes out within a second (at most one
		 * status a second for it): operators and the hub read it */
		if (edge_tel.is_pos_changed &&
		    now >= edge_tel.last_status + EDGE_TEL_POS_STATUS_MS)
			edge_tel.is_status_due = 1;
		/* as a sum: a publish may have moved the mark past now */
		if (edge_tel.is_status_due ||
		    now >= edge_tel.last_status + edge_tel.conf.status_ms) {
			edge_tel.is_status_due = 0;
			edge_tel.is_pos_changed = 0;
			(void)edge_tel_status_publish(
			    edge_tel_state_now(), NULL);
		}
	}
	if (edge_tel.is_flush_due ||
	    now >= edge_tel.last_flush + edge_tel.conf.flush_ms) {
		edge_tel.is_flush_due = 0;
		while (edge_tel.state == EDGE_TEL_UP && edge_tel_flush_one(0))
			;
		edge_tel.last_flush = now;
	} else {
		/* a full batch need not wait for the timer */
		while (edge_tel.state == EDGE_TEL_UP && edge_tel_flush_one(1))
			;
	}
}

/*
 * edge_tel_final - at stop: publish what is queued, say offline, leave
 * cleanly (a DISCONNECT makes the broker discard the will). Bounded by
 * EDGE_TEL_STOP_MS; with no session up it does not wait at all.
 */
static void
edge_tel_final(void)
{
	uint64_t end = mx_mono_ms() + EDGE_TEL_STOP_MS;
	size_t left, unacked = 0, i;

	while (edge_tel.state == EDGE_TEL_UP && mx_mono_ms() < end) {
		while (edge_tel.state == EDGE_TEL_UP && edge_tel_flush_one(0))
			;
		pthread_mutex_lock(&edge_tel.lock);
		left = edge_tel.n;
		pthread_mutex_unlock(&edge_tel.lock);
		if (left == 0 && edge_tel.n_inflight == 0)
			break;
		edge_tel_loop_once(20);
	}
	if (edge_tel.state == EDGE_TEL_UP &&
	    atomic_load(&edge_tel.say_offline)) {
		edge_tel.status_mid = -1;
		edge_tel.is_status_acked = 0;
		if (edge_tel_status_publish(
		        PROTO_EDGE_OFFLINE, &edge_tel.status_mid) == 0)
			while (edge_tel.state == EDGE_TEL_UP &&
			       !edge_tel.is_status_acked && mx_mono_ms() < end)
				edge_tel_loop_once(20);
	}
	if (edge_tel.state == EDGE_TEL_UP) {
		edge_tel.is_disconnected = 0;
		if (mosquitto_disconnect(edge_tel.mosq) == MOSQ_ERR_SUCCESS)
			while (!edge_tel.is_disconnected && mx_mono_ms() < end)
				if (mosquitto_loop(edge_tel.mosq, 20, 1) !=
				    MOSQ_ERR_SUCCESS)
					break;
		edge_metrics_add(EDGE_C_MQTT_CONNECTED, -1);
		edge_tel.state = EDGE_TEL_DOWN;
	}
	pthread_mutex_lock(&edge_tel.lock);
	left = edge_tel.n;
	pthread_mutex_unlock(&edge_tel.lock);
	for (i = 0; i < EDGE_TEL_INFLIGHT_MAX; i++)
		if (edge_tel.inflight[i].is_used)
			unacked += edge_tel.inflight[i].n;
	if (left > 0) {
		edge_metrics_add(EDGE_C_TEL_DROPPED, (int64_t)left);
		mx_warn("TELEMETRY_UNSENT events=%zu reason=\"broker not "
		        "reachable at exit\"",
		    left);
	}
	if (unacked > 0)
		mx_warn("TELEMETRY_UNCONFIRMED events=%zu reason=\"no PUBACK "
		        "before exit\"",
		    unacked);
}

static void edge_tel_yield(void);

/* edge_tel_main - the MQTT thread */
static void *
edge_tel_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&edge_tel.stop)) {
		uint64_t now = mx_mono_ms();

		edge_tel_rate_tick(now);
		if (edge_tel.is_persistent && atomic_load(&edge_srv.handover))
			edge_tel_yield();
		if (edge_tel.mosq == NULL) {
			/* the handover lost the client: nothing to do */
			struct timespec ts = {0, EDGE_TEL_LOOP_MS * 1000000L};

			nanosleep(&ts, NULL);
			continue;
		}
		if (edge_tel.state == EDGE_TEL_DOWN) {
			if (now >= edge_tel.next_try_ms)
				edge_tel_connect(now);
			if (edge_tel.state == EDGE_TEL_DOWN) {
				uint64_t wait = edge_tel.next_try_ms > now
				                    ? edge_tel.next_try_ms - now
				                    : 0;
				struct timespec ts;

				if (wait > EDGE_TEL_LOOP_MS)
					wait = EDGE_TEL_LOOP_MS;
				ts.tv_sec = 0;
				ts.tv_nsec = (long)(wait * 1000000);
				nanosleep(&ts, NULL);
				continue;
			}
		}
		edge_tel_loop_once(EDGE_TEL_LOOP_MS);
		if (edge_tel.state == EDGE_TEL_UP)
			edge_tel_work();
	}
	edge_tel_final();
	return NULL;
}

/* edge_tel_free_str - free an owned setting, wiping it first */
static void
edge_tel_free_str(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		mx_free(*p);
		*p = NULL;
	}
}

/* edge_tel_release - free what edge_tel_start allocated */
static void
edge_tel_release(void)
{
	size_t i;

	if (edge_tel.mosq != NULL) {
		mosquitto_destroy(edge_tel.mosq);
		edge_tel.mosq = NULL;
		mosquitto_lib_cleanup();
	}
	pthread_mutex_lock(&edge_tel.lock);
	if (edge_tel.q != NULL) {
		for (i = 0; i < edge_tel.n; i++)
			mx_free(edge_tel.q[(edge_tel.head + i) %
			                   edge_tel.conf.queue_max]);
		edge_metrics_add(EDGE_C_TEL_QUEUED, -(int64_t)edge_tel.n);
	}
	mx_free(edge_tel.q);
	edge_tel.q = NULL;
	edge_tel.n = 0;
	edge_tel.head = 0;
	edge_tel.bytes = 0;
	pthread_mutex_unlock(&edge_tel.lock);
	mx_free(edge_tel.batch);
	edge_tel.batch = NULL;
	mx_free(edge_tel.evs);
	edge_tel.evs = NULL;
	mx_buf_fini(&edge_tel.out);
	edge_upd_free(edge_tel.conf.upd);
	edge_tel.conf.upd = NULL;
	edge_tel_free_str(&edge_tel.tls_ca);
	edge_tel_free_str(&edge_tel.tls_cert);
	edge_tel_free_str(&edge_tel.tls_key);
	edge_tel_free_str(&edge_tel.user);
	edge_tel_free_str(&edge_tel.pass);
}

/* edge_tel_opt - an owned copy of a setting; NULL for "" (not set) */
static char *
edge_tel_opt(const char *v)
{
	return v != NULL && v[0] != '\0' ? mx_strdup(v) : NULL;
}

/*
 * edge_tel_client - a new client (or the same one made new) with an id
 * and a session kind, with every callback and connection setting.
 * Returns 0, MX_EIO (libmosquitto failed) or MX_EINVAL (it refused the
 * TLS or credential settings).
 */
static int
edge_tel_client(int is_persistent)
{
	char id[PROTO_ID_MAX + 32];

	/*
	 * The persistent session is the edge's own, so it is found again
	 * after a restart. Otherwise one id per process: during an upgrade
	 * the old and the new mxedge are connected at once, and a shared id
	 * would make the broker throw one out each time the other connects
	 */
	if (is_persistent)
		snprintf(id, sizeof(id), "%s", edge_tel.conf.edge_id);
	else
		snprintf(id, sizeof(id), "mxedge-%s-%08x",
		    edge_tel.conf.edge_id, (unsigned)edge_tel.tag);
	if (edge_tel.mosq == NULL)
		edge_tel.mosq = mosquitto_new(id, !is_persistent, NULL);
	else if (mosquitto_reinitialise(edge_tel.mosq, id, !is_persistent,
	             NULL) != MOSQ_ERR_SUCCESS)
		return MX_EIO;
	if (edge_tel.mosq == NULL)
		return MX_EIO;
	edge_tel.is_persistent = is_persistent;
	mosquitto_int_option(
	    edge_tel.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	/* small messages (a status, an update's PUBACK) go at once */
	mosquitto_int_option(edge_tel.mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(edge_tel.mosq, edge_tel_on_connect);
	mosquitto_disconnect_callback_set(
	    edge_tel.mosq, edge_tel_on_disconnect);
	mosquitto_publish_callback_set(edge_tel.mosq, edge_tel_on_publish);
	mosquitto_message_callback_set(edge_tel.mosq, edge_tel_on_message);
	if (edge_tel.user != NULL &&
	    mosquitto_username_pw_set(edge_tel.mosq, edge_tel.user,
	        edge_tel.pass) != MOSQ_ERR_SUCCESS)
		return MX_EINVAL;
	if (edge_tel.tls_ca != NULL &&
	    mosquitto_tls_set(edge_tel.mosq, edge_tel.tls_ca, NULL,
	        edge_tel.tls_cert, edge_tel.tls_key, NULL) != MOSQ_ERR_SUCCESS)
		return MX_EINVAL;
	return 0;
}

/*
 * edge_tel_yield - an upgrade: the successor takes the edge's persistent
 * session (and the updates) over. Wait a little for the batches in
 * flight, leave with a DISCONNECT (the broker keeps the session and
 * drops our will), then go on under an id of our own, clean session,
 * subscribed to nothing, to publish the rest of the telemetry.
 */
static void
edge_tel_yield(void)
{
	uint64_t end = mx_mono_ms() + EDGE_TEL_YIELD_MS;
	size_t i, unacked = 0;
	int rc;

	while (edge_tel.state == EDGE_TEL_UP && edge_tel.n_inflight > 0 &&
	       mx_mono_ms() < end)
		edge_tel_loop_once(20);
	if (edge_tel.state != EDGE_TEL_DOWN) {
		if (edge_tel.state == EDGE_TEL_UP)
			edge_metrics_add(EDGE_C_MQTT_CONNECTED, -1);
		(void)mosquitto_disconnect(edge_tel.mosq);
		edge_tel.state = EDGE_TEL_DOWN;
	}
	/* the new client starts without libmosquitto's queue */
	for (i = 0; i < EDGE_TEL_INFLIGHT_MAX; i++) {
		if (edge_tel.inflight[i].is_used)
			unacked += edge_tel.inflight[i].n;
		edge_tel.inflight[i].is_used = 0;
	}
	edge_tel.n_inflight = 0;
	if (unacked > 0) {
		edge_metrics_add(EDGE_C_TEL_DROPPED, (int64_t)unacked);
		mx_warn("TELEMETRY_UNCONFIRMED events=%zu reason=\"no PUBACK "
		        "before the handover\"",
		    unacked);
	}
	rc = edge_tel_client(0);
	edge_tel.backoff_ms = EDGE_TEL_BACKOFF_MIN_MS;
	edge_tel.next_try_ms = 0;
	edge_tel.fail_streak = 0;
	mx_notice("MQTT_HANDOVER edge_id=%s reason=\"a successor takes the "
	          "update session\" result=%s",
	    edge_tel.conf.edge_id, rc == 0 ? "ok" : mx_strerror(rc));
	if (rc != 0) {
		/* no client left: the rest of the telemetry is dropped */
		mosquitto_destroy(edge_tel.mosq);
		edge_tel.mosq = NULL;
		mosquitto_lib_cleanup();
	}
}

/* edge_tel_start - the MQTT client and its thread */
int
edge_tel_start(const struct edge_tel_conf *c)
{
	int rc = MX_EINVAL;

	if (c->queue_max == 0 ||
	    c->queue_bytes_max <
	        sizeof(struct edge_tel_item) + EDGE_TEL_ARENA_MAX ||
	    c->batch_max == 0 || c->batch_max > PROTO_BATCH_EVENTS_MAX ||
	    c->salt_len < EDGE_TEL_SALT_MIN ||
	    c->salt_len > EDGE_TEL_SALT_MAX || c->broker_host[0] == '\0' ||
	    c->broker_port == 0) {
		edge_upd_free(c->upd);
		return MX_EINVAL;
	}
	edge_tel.conf = *c;
	/*
	 * batch seqs start above any an earlier process of this edge id can
	 * have used (unix ms x 1000; it would have had to publish 1,000
	 * batches per ms of its life to reach them), so a hub's duplicate
	 * check never takes a restarted edge's batches for QoS 1 copies
	 */
	edge_tel.seq = mx_unix_ms() * 1000u;
	/* the borrowed strings are copied: a handover needs them again */
	edge_tel.conf.cafile = edge_tel.conf.certfile = NULL;
	edge_tel.conf.keyfile = edge_tel.conf.username = NULL;
	edge_tel.conf.password = NULL;
	edge_tel.tls_ca = edge_tel_opt(c->cafile);
	edge_tel.tls_cert = edge_tel_opt(c->certfile);
	edge_tel.tls_key = edge_tel_opt(c->keyfile);
	edge_tel.user = edge_tel_opt(c->username);
	edge_tel.pass =
	    edge_tel.user != NULL ? edge_tel_opt(c->password) : NULL;
	if (proto_topic_telemetry(edge_tel.topic_tel,
	        sizeof(edge_tel.topic_tel), c->pop, c->edge_id) != 0 ||
	    proto_topic_status(edge_tel.topic_status,
	        sizeof(edge_tel.topic_status), c->edge_id) != 0)
		goto fail;
	edge_tel.start_ms = mx_unix_ms();
	edge_tel.q = mx_calloc(c->queue_max, sizeof(*edge_tel.q));
	edge_tel.batch = mx_calloc(c->batch_max, sizeof(*edge_tel.batch));
	edge_tel.evs = mx_calloc(c->batch_max, sizeof(*edge_tel.evs));
	mx_buf_init(&edge_tel.out, PROTO_MSG_MAX);
	if (getrandom(&edge_tel.rng, sizeof(edge_tel.rng), 0) !=
	    sizeof(edge_tel.rng))
		edge_tel.rng = edge_tel.start_ms;
	edge_tel.rng |= 1; /* xorshift needs a non-zero state */
	edge_tel.tag = (uint32_t)(edge_tel.rng >> 32);
	edge_tel.backoff_ms = EDGE_TEL_BACKOFF_MIN_MS;
	edge_tel.state = EDGE_TEL_DOWN;
	edge_tel.next_try_ms = 0;
	edge_tel.rate_sec = mx_mono_ms() / 1000;

	mosquitto_lib_init();
	rc = edge_tel_client(c->upd != NULL);
	if (edge_tel.mosq == NULL)
		mosquitto_lib_cleanup();
	if (rc != 0)
		goto fail;
	atomic_store(&edge_tel.stop, 0);
	atomic_store_explicit(&edge_tel.is_on, 1, memory_order_release);
	if (pthread_create(&edge_tel.thread, NULL, edge_tel_main, NULL) != 0) {
		atomic_store(&edge_tel.is_on, 0);
		rc = MX_EIO;
		goto fail;
	}
	edge_tel.is_running = 1;
	mx_notice("TELEMETRY broker=%s:%u edge_id=%s pop=%s tls=%s "
	          "queue=%zu batch=%zu hubs=%zu",
	    c->broker_host, (unsigned)c->broker_port, c->edge_id, c->pop,
	    edge_tel.tls_ca != NULL ? "yes" : "no", c->queue_max, c->batch_max,
	    edge_upd_hub_count(c->upd));
	return 0;
fail:
	edge_tel_release();
	return rc;
}

/* edge_tel_stop - say offline, flush, stop the thread */
void
edge_tel_stop(int say_offline)
{
	if (!edge_tel.is_running)
		return;
	atomic_store(&edge_tel.say_offline, say_offline);
	atomic_store(&edge_tel.stop, 1);
	pthread_join(edge_tel.thread, NULL);
	edge_tel.is_running = 0;
	atomic_store(&edge_tel.is_on, 0);
	edge_tel_release();
}
