/*
 * edge_telemetry.c - telemetry events and edge status over MQTT
 *
 * Sessions build one event per transaction or refused connection
 * (edge_tel_*) and submit it; submit copies it into a bounded queue and
 * never blocks. The MQTT thread owns the libmosquitto client: it batches
 * queued events (proto_telemetry_encode), publishes them QoS 1 on
 * mxs/v1/telemetry/<pop>/<edge-id>, publishes the retained status on
 * mxs/v1/status/<edge-id> (last will: the same status with state
 * offline), and reconnects with backoff. When the broker is away the edge
 * keeps filtering; the queue keeps the newest events up to its bound and
 * counts every event it had to drop, and the count travels in the next
 * batch. No message content and no full address leaves the edge: local
 * parts are hashed with the deployment salt (HMAC-SHA-256, 16 bytes).
 * Trust: event fields come from senders (HELO, domains) and are bounded
 * by the arena (EDGE_TEL_ARENA_MAX); the broker's input is not read here.
 * Limits: telemetry_queue events, PROTO_BATCH_EVENTS_MAX per batch,
 * PROTO_MSG_MAX per payload.
 */
#include "edge/edge_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <openssl/hmac.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "proto/proto_msg.h"
#include "proto/proto_topic.h"

#define EDGE_TEL_BACKOFF_MIN_MS 250
#define EDGE_TEL_BACKOFF_MAX_MS 30000

/* a queued event: the event with its views rebased into data */
struct edge_tel_item {
	struct proto_event ev;
	size_t len;     /* bytes in data */
	uint8_t data[]; /* the strings the views point into */
};

static struct {
	pthread_mutex_t lock;
	pthread_t thread;
	int running;     /* thread started */
	atomic_int stop; /* thread asked to end */
	struct edge_tel_conf conf;
	struct edge_tel_item **q; /* ring of conf.queue_max items */
	size_t head, n;
	uint64_t dropped; /* since the last published batch */
	uint64_t seq;     /* batch sequence */
	uint64_t start_s; /* for uptime */
	struct mosquitto *mosq;
	int connected; /* CONNACK seen, no disconnect since */
	char topic_tel[PROTO_TOPIC_MAX];
	char topic_status[PROTO_TOPIC_MAX];
} edge_tel = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

/* edge_tel_now_ms - wall clock milliseconds */
static uint64_t
edge_tel_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* edge_tel_mono_ms - monotonic milliseconds */
static uint64_t
edge_tel_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* edge_tel_init - an empty builder (no allocation yet) */
void
edge_tel_init(struct edge_tel *t)
{
	memset(&t->ev, 0, sizeof(t->ev));
	mx_buf_init(&t->arena, EDGE_TEL_ARENA_MAX);
	t->is_active = 0;
}

/* edge_tel_fini - release the builder's arena */
void
edge_tel_fini(struct edge_tel *t)
{
	mx_buf_fini(&t->arena);
}

/* edge_tel_begin - start an event of a type for a client address */
void
edge_tel_begin(struct edge_tel *t, uint8_t type, const uint8_t peer[16])
{
	size_t len = 0;

	memset(&t->ev, 0, sizeof(t->ev));
	mx_buf_reset(&t->arena);
	t->ev.type = type;
	t->ev.ts_ms = edge_tel_now_ms();
	if (proto_key_ip_bin(peer, 16, t->ev.ip, &len) == 0)
		t->ev.ip_len = (uint8_t)len;
	t->is_active = 1;
}

/*
 * edge_tel_text - copy text into the arena and point dst at it. While the
 * event is being built a view holds the arena offset, not a pointer (the
 * arena may move as it grows); edge_tel_submit rebases them. Text that
 * does not fit is left out and the event is marked truncated.
 */
int
edge_tel_text(
    struct edge_tel *t, struct proto_str *dst, const void *p, size_t len)
{
	size_t off = t->arena.len;

	if (len == 0) {
		dst->p = NULL;
		dst->len = 0;
		return 0;
	}
	if (mx_buf_append(&t->arena, p, len) != 0)
		return MX_ETOOBIG;
	dst->p = (const uint8_t *)(uintptr_t)off;
	dst->len = len;
	return 0;
}

/* edge_tel_reason - add a reason id (at most PROTO_EV_REASONS_MAX) */
int
edge_tel_reason(struct edge_tel *t, const char *id)
{
	size_t len = strlen(id);

	if (t->ev.n_reasons >= PROTO_EV_REASONS_MAX)
		return MX_ELIMIT;
	if (len > PROTO_REASON_ID_MAX)
		len = PROTO_REASON_ID_MAX;
	if (edge_tel_text(t, &t->ev.reasons[t->ev.n_reasons], id, len) != 0)
		return MX_ETOOBIG;
	t->ev.n_reasons++;
	return 0;
}

/* edge_tel_rcpt - a recipient answer: salted hash of the local part */
int
edge_tel_rcpt(struct edge_tel *t, const char *local, size_t llen,
    const char *domain, size_t dlen, uint8_t result)
{
	struct proto_ev_rcpt *r;
	uint8_t mac[EVP_MAX_MD_SIZE], low[EDGE_CMD_LOCAL_MAX + 2];
	unsigned mlen = 0;
	size_t i;

	if (t->ev.n_rcpts >= PROTO_EV_RCPTS_MAX || llen > sizeof(low) ||
	    dlen > PROTO_DOMAIN_MAX)
		return MX_ELIMIT;
	/* local parts are compared case-insensitively by the hub */
	for (i = 0; i < llen; i++)
		low[i] =
		    (uint8_t)(local[i] >= 'A' && local[i] <= 'Z' ? local[i] + 32
		                                                 : local[i]);
	if (HMAC(EVP_sha256(), edge_tel.conf.salt, (int)edge_tel.conf.salt_len,
	        low, llen, mac, &mlen) == NULL ||
	    mlen < 16)
		return MX_EIO;
	r = &t->ev.rcpts[t->ev.n_rcpts];
	if (edge_tel_text(t, &r->hash, mac, 16) != 0 ||
	    edge_tel_text(t, &r->domain, domain, dlen) != 0)
		return MX_ETOOBIG;
	r->result = result;
	t->ev.n_rcpts++;
	return 0;
}

/* edge_tel_rebase - turn arena offsets into pointers into base */
static void
edge_tel_rebase(struct proto_str *s, const uint8_t *base)
{
	if (s->len > 0)
		s->p = base + (uintptr_t)s->p;
}

/* edge_tel_submit - copy the event into the queue; never blocks */
void
edge_tel_submit(struct edge_tel *t)
{
	struct edge_tel_item *it, *old = NULL;
	size_t i;

	if (!t->is_active)
		return;
	t->is_active = 0;
	edge_metrics_inc(EDGE_C_TEL_EVENTS);
	if (!edge_tel.running)
		return;
	it = mx_malloc(sizeof(*it) + t->arena.len);
	it->ev = t->ev;
	it->len = t->arena.len;
	if (t->arena.len > 0)
		memcpy(it->data, t->arena.data, t->arena.len);
	edge_tel_rebase(&it->ev.helo, it->data);
	edge_tel_rebase(&it->ev.sender_domain, it->data);
	edge_tel_rebase(&it->ev.country, it->data);
	for (i = 0; i < it->ev.n_reasons; i++)
		edge_tel_rebase(&it->ev.reasons[i], it->data);
	for (i = 0; i < it->ev.n_fps; i++)
		edge_tel_rebase(&it->ev.fps[i], it->data);
	for (i = 0; i < it->ev.n_hashes; i++)
		edge_tel_rebase(&it->ev.hashes[i], it->data);
	for (i = 0; i < it->ev.n_urls; i++)
		edge_tel_rebase(&it->ev.urls[i], it->data);
	for (i = 0; i < it->ev.n_rcpts; i++) {
		edge_tel_rebase(&it->ev.rcpts[i].hash, it->data);
		edge_tel_rebase(&it->ev.rcpts[i].domain, it->data);
	}
	pthread_mutex_lock(&edge_tel.lock);
	if (edge_tel.n == edge_tel.conf.queue_max) {
		/* keep the newest: drop the oldest and count it */
		old = edge_tel.q[edge_tel.head];
		edge_tel.head = (edge_tel.head + 1) % edge_tel.conf.queue_max;
		edge_tel.n--;
		edge_tel.dropped++;
	}
	edge_tel.q[(edge_tel.head + edge_tel.n) % edge_tel.conf.queue_max] = it;
	edge_tel.n++;
	pthread_mutex_unlock(&edge_tel.lock);
	if (old != NULL) {
		edge_metrics_inc(EDGE_C_TEL_DROPPED);
		mx_free(old);
	}
}

/* edge_tel_status_encode - the status payload in a given state */
static int
edge_tel_status_encode(struct mx_buf *out, uint8_t state)
{
	struct proto_status st;

	memset(&st, 0, sizeof(st));
	st.edge_id.p = (const uint8_t *)edge_tel.conf.edge_id;
	st.edge_id.len = strlen(edge_tel.conf.edge_id);
	st.pop.p = (const uint8_t *)edge_tel.conf.pop;
	st.pop.len = strlen(edge_tel.conf.pop);
	st.version.p = (const uint8_t *)EDGE_VERSION;
	st.version.len = strlen(EDGE_VERSION);
	st.state = state;
	st.ts_ms = edge_tel_now_ms();
	st.uptime_s = st.ts_ms / 1000 - edge_tel.start_s;
	st.sessions = (uint32_t)atomic_load(&edge_srv.sessions);
	return proto_status_encode(out, &st);
}

/* edge_tel_on_connect - CONNACK: publish our status */
static void
edge_tel_on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct mx_buf b;

	(void)arg;
	if (rc != 0) {
		mx_warn("MQTT_REFUSED broker=%s:%u rc=%d",
		    edge_tel.conf.broker_host, edge_tel.conf.broker_port, rc);
		return;
	}
	edge_tel.connected = 1;
	edge_metrics_inc(EDGE_C_MQTT_CONNECTS);
	mx_notice("MQTT_CONNECTED broker=%s:%u", edge_tel.conf.broker_host,
	    edge_tel.conf.broker_port);
	mx_buf_init(&b, 4096);
	if (edge_tel_status_encode(&b, PROTO_EDGE_ONLINE) == 0)
		mosquitto_publish(m, NULL, edge_tel.topic_status, (int)b.len,
		    b.data, 1, true);
	mx_buf_fini(&b);
}

/* edge_tel_on_disconnect - the broker went away */
static void
edge_tel_on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	(void)m;
	(void)arg;
	if (edge_tel.connected)
		mx_warn("MQTT_LOST broker=%s:%u rc=%d",
		    edge_tel.conf.broker_host, edge_tel.conf.broker_port, rc);
	edge_tel.connected = 0;
}

/* edge_tel_flush - publish up to one batch; 1 if something was sent */
static int
edge_tel_flush(struct mx_buf *out)
{
	struct edge_tel_item **items;
	struct proto_event *evs;
	struct proto_telemetry_hdr h;
	size_t n, i;
	uint64_t dropped;
	int rc, sent = 0;

	/* take the oldest n items out of the queue: from here on they are
	 * ours, so submitters dropping the oldest cannot free them */
	pthread_mutex_lock(&edge_tel.lock);
	n = edge_tel.n < edge_tel.conf.batch_max ? edge_tel.n
	                                         : edge_tel.conf.batch_max;
	dropped = edge_tel.dropped;
	if (n == 0 && dropped == 0) {
		pthread_mutex_unlock(&edge_tel.lock);
		return 0;
	}
	items = mx_calloc(n ? n : 1, sizeof(*items));
	for (i = 0; i < n; i++) {
		items[i] = edge_tel.q[edge_tel.head];
		edge_tel.head = (edge_tel.head + 1) % edge_tel.conf.queue_max;
	}
	edge_tel.n -= n;
	pthread_mutex_unlock(&edge_tel.lock);

	evs = mx_calloc(n ? n : 1, sizeof(*evs));
	for (i = 0; i < n; i++)
		evs[i] = items[i]->ev;
	memset(&h, 0, sizeof(h));
	h.edge_id.p = (const uint8_t *)edge_tel.conf.edge_id;
	h.edge_id.len = strlen(edge_tel.conf.edge_id);
	h.pop.p = (const uint8_t *)edge_tel.conf.pop;
	h.pop.len = strlen(edge_tel.conf.pop);
	h.seq = edge_tel.seq + 1;
	h.dropped = dropped;
	mx_buf_reset(out);
	rc = proto_telemetry_encode(out, &h, evs, n);
	mx_free(evs);
	if (rc != 0) {
		/* cannot happen for events we built; drop them, counted */
		mx_warn("TELEMETRY_ENCODE_FAILED events=%zu err=%s", n,
		    mx_strerror(rc));
		edge_metrics_add(EDGE_C_TEL_DROPPED, (int64_t)n);
		sent = 1;
	} else if (mosquitto_publish(edge_tel.mosq, NULL, edge_tel.topic_tel,
	               (int)out->len, out->data, 1,
	               false) == MOSQ_ERR_SUCCESS) {
		edge_tel.seq++;
		edge_metrics_inc(EDGE_C_TEL_BATCHES);
		edge_metrics_add(EDGE_C_TEL_SENT, (int64_t)n);
		sent = 1;
	}
	pthread_mutex_lock(&edge_tel.lock);
	if (sent) {
		edge_tel.dropped -= dropped;
		for (i = 0; i < n; i++)
			mx_free(items[i]);
	} else {
		/* not connected: put them back in front, newest last; what
		 * no longer fits is dropped and counted */
		for (i = n; i-- > 0;) {
			if (edge_tel.n == edge_tel.conf.queue_max) {
				mx_free(items[i]);
				edge_tel.dropped++;
				edge_metrics_inc(EDGE_C_TEL_DROPPED);
				continue;
			}
			edge_tel.head =
			    (edge_tel.head + edge_tel.conf.queue_max - 1) %
			    edge_tel.conf.queue_max;
			edge_tel.q[edge_tel.head] = items[i];
			edge_tel.n++;
		}
	}
	pthread_mutex_unlock(&edge_tel.lock);
	mx_free(items);
	return sent && n > 0;
}

/* edge_tel_main - the MQTT thread */
static void *
edge_tel_main(void *arg)
{
	uint64_t backoff = EDGE_TEL_BACKOFF_MIN_MS, next_try = 0;
	uint64_t last_flush = 0, last_status = 0;
	struct mx_buf out, st;

	(void)arg;
	mx_buf_init(&out, PROTO_MSG_MAX);
	mx_buf_init(&st, 4096);
	while (!edge_tel.stop) {
		uint64_t now = edge_tel_mono_ms();

		if (!edge_tel.connected && now >= next_try) {
			int rc = mosquitto_connect(edge_tel.mosq,
			    edge_tel.conf.broker_host,
			    edge_tel.conf.broker_port, 30);

			if (rc != MOSQ_ERR_SUCCESS) {
				next_try = now + backoff;
				backoff = backoff * 2 > EDGE_TEL_BACKOFF_MAX_MS
				              ? EDGE_TEL_BACKOFF_MAX_MS
				              : backoff * 2;
			} else {
				backoff = EDGE_TEL_BACKOFF_MIN_MS;
			}
		}
		if (mosquitto_loop(edge_tel.mosq, 50, 1) != MOSQ_ERR_SUCCESS) {
			edge_tel.connected = 0;
			if (now >= next_try)
				next_try = now + backoff;
			struct timespec ts = {0, 50 * 1000 * 1000};

			nanosleep(&ts, NULL);
			continue;
		}
		if (!edge_tel.connected)
			continue;
		now = edge_tel_mono_ms();
		pthread_mutex_lock(&edge_tel.lock);
		size_t queued = edge_tel.n;
		pthread_mutex_unlock(&edge_tel.lock);
		if (queued >= edge_tel.conf.batch_max ||
		    now - last_flush >= edge_tel.conf.flush_ms) {
			while (edge_tel_flush(&out) && !edge_tel.stop)
				;
			last_flush = now;
		}
		if (now - last_status >= edge_tel.conf.status_ms) {
			mx_buf_reset(&st);
			if (edge_tel_status_encode(&st, PROTO_EDGE_ONLINE) == 0)
				mosquitto_publish(edge_tel.mosq, NULL,
				    edge_tel.topic_status, (int)st.len, st.data,
				    1, true);
			last_status = now;
		}
	}
	if (edge_tel.connected) {
		/* a clean stop says offline itself (the will is only for
		 * crashes) and flushes what it can */
		while (edge_tel_flush(&out))
			;
		mx_buf_reset(&st);
		if (edge_tel_status_encode(&st, PROTO_EDGE_OFFLINE) == 0)
			mosquitto_publish(edge_tel.mosq, NULL,
			    edge_tel.topic_status, (int)st.len, st.data, 1,
			    true);
		mosquitto_loop(edge_tel.mosq, 100, 1);
		mosquitto_disconnect(edge_tel.mosq);
	}
	mx_buf_fini(&out);
	mx_buf_fini(&st);
	return NULL;
}

/* edge_tel_start - the MQTT client and its thread */
int
edge_tel_start(const struct edge_tel_conf *c)
{
	struct mx_buf will;
	char id[PROTO_ID_MAX + 16];
	int rc = MX_EIO;

	edge_tel.conf = *c;
	edge_tel.start_s = edge_tel_now_ms() / 1000;
	if (proto_topic_telemetry(edge_tel.topic_tel,
	        sizeof(edge_tel.topic_tel), c->pop, c->edge_id) != 0 ||
	    proto_topic_status(edge_tel.topic_status,
	        sizeof(edge_tel.topic_status), c->edge_id) != 0)
		return MX_EINVAL;
	edge_tel.q = mx_calloc(c->queue_max, sizeof(*edge_tel.q));
	mosquitto_lib_init();
	snprintf(id, sizeof(id), "mxedge-%s", c->edge_id);
	edge_tel.mosq = mosquitto_new(id, true, NULL);
	if (edge_tel.mosq == NULL)
		return MX_EIO;
	mosquitto_int_option(
	    edge_tel.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_connect_callback_set(edge_tel.mosq, edge_tel_on_connect);
	mosquitto_disconnect_callback_set(
	    edge_tel.mosq, edge_tel_on_disconnect);
	if (c->username[0] != '\0' &&
	    mosquitto_username_pw_set(edge_tel.mosq, c->username,
	        c->password[0] ? c->password : NULL) != MOSQ_ERR_SUCCESS)
		return MX_EINVAL;
	if (c->cafile[0] != '\0' &&
	    mosquitto_tls_set(edge_tel.mosq, c->cafile, NULL,
	        c->certfile[0] ? c->certfile : NULL,
	        c->keyfile[0] ? c->keyfile : NULL, NULL) != MOSQ_ERR_SUCCESS)
		return MX_EINVAL;
	mx_buf_init(&will, 4096);
	if (edge_tel_status_encode(&will, PROTO_EDGE_OFFLINE) == 0 &&
	    mosquitto_will_set(edge_tel.mosq, edge_tel.topic_status,
	        (int)will.len, will.data, 1, true) == MOSQ_ERR_SUCCESS)
		rc = 0;
	mx_buf_fini(&will);
	if (rc != 0)
		return rc;
	edge_tel.running = 1;
	if (pthread_create(&edge_tel.thread, NULL, edge_tel_main, NULL) != 0) {
		edge_tel.running = 0;
		return MX_EIO;
	}
	return 0;
}

/* edge_tel_stop - say offline, flush, stop the thread */
void
edge_tel_stop(void)
{
	size_t i;

	if (!edge_tel.running)
		return;
	edge_tel.stop = 1;
	pthread_join(edge_tel.thread, NULL);
	edge_tel.running = 0;
	mosquitto_destroy(edge_tel.mosq);
	mosquitto_lib_cleanup();
	for (i = 0; i < edge_tel.n; i++)
		mx_free(
		    edge_tel.q[(edge_tel.head + i) % edge_tel.conf.queue_max]);
	mx_free(edge_tel.q);
	edge_tel.q = NULL;
	edge_tel.n = 0;
}
