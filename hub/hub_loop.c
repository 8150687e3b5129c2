/*
 * hub_loop.c - mxhub's one thread: the broker session, the timers and
 * the metrics endpoint
 *
 * The loop turns around mosquitto_loop (up to HUB_LOOP_MS of network
 * wait), then runs libevent once without blocking for the metrics
 * endpoint, then whatever timer is due: the batch flush (batch_time), a
 * snapshot (snapshot_time, and once after each connect), the promotion
 * of observe-mode records (observe_time / 10), sweeps of
 * expired records and idle counters. Messages are handled inside
 * libmosquitto's callback, but nothing is published there: signed
 * batches go to a bounded queue (HUB_OUTQ_MAX; the oldest is dropped and
 * counted when the broker stays away, which edges see as a gap and heal
 * from the next snapshot) that the loop drains while connected.
 *
 * The hub's MQTT session is persistent (clean session off, client id
 * "mxhub-<hub_id>"), so telemetry and feed submissions published while
 * the hub restarts wait at the broker (up to its max_queued_messages).
 * SIGTERM and SIGINT stop the loop: the open batch is flushed and the
 * queue drained for up to HUB_STOP_MS. SIGUSR1 publishes a snapshot now
 * (an operator's "when asked").
 * Trust: topics and payloads from the broker are hostile; the topic is
 * parsed by proto_topic_parse before anything else looks at it.
 */
#include "hub/hub.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <mosquitto.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "lib/mx_time.h"
#include "proto/proto_topic.h"

#define HUB_LOOP_MS 10           /* network wait per turn */
#define HUB_BACKOFF_MIN_MS 250   /* first retry after a failure */
#define HUB_BACKOFF_MAX_MS 10000 /* retries at least this often */
#define HUB_CONNECT_MS 10000     /* TCP, TLS and CONNACK, at most */
#define HUB_KEEPALIVE_S 30       /* MQTT keepalive */
#define HUB_SWEEP_MS 60000       /* expired records and idle counters */
#define HUB_STOP_MS 5000         /* final flush at exit, at most */
#define HUB_LOOP_SEQS 4096       /* publish times kept, by seq */
#define HUB_LAG_MS 2000          /* an edge this late on a seq lags */
#define HUB_EDGES_MAX 4096       /* edges whose position is re-checked */
#define HUB_EDGE_SLOTS 8192      /* their hash table (power of two) */
#define HUB_RECHECK_MS 250       /* re-checks are looked at this often */

/*
 * an edge's last reported position for this hub, and when to look again:
 * an edge behind by a seq that went out less than HUB_LAG_MS ago is not
 * lagging yet, but may be (a batch it will never get); it is re-checked
 * then unless a newer status came first
 */
struct hub_loop_edge {
	char id[PROTO_ID_MAX + 1]; /* "" = free slot */
	uint64_t epoch, seq;
	uint64_t recheck_ms; /* monotonic; 0 = none */
};

/* a signed payload waiting for the broker */
struct hub_loop_msg {
	char topic[PROTO_TOPIC_MAX];
	uint8_t *p;
	size_t len;
	int retain;
};

static struct {
	struct hub_conf *c;
	struct hub_state *st;
	struct hub_ingest *g;
	struct event_base *base;
	struct mosquitto *m;
	int state; /* 0 down, 1 connecting, 2 up */
	int refused_rc;
	uint64_t next_try_ms, backoff_ms, deadline_ms;
	uint64_t next_flush_ms, next_snap_ms, next_sweep_ms, next_promote_ms;
	uint64_t next_counters_ms;
	int is_snapshot_due;
	int sub_mid; /* message id of the session's SUBSCRIBE */
	char *filters[HUB_FILTERS_MAX + 2]; /* views of c->filters */
	uint64_t last_snap_ms;           /* monotonic ms of the last snapshot */
	uint64_t pub_seq[HUB_LOOP_SEQS]; /* when each recent seq went out */
	uint64_t pub_ms[HUB_LOOP_SEQS];
	struct hub_loop_msg outq[HUB_OUTQ_MAX];
	size_t oq_head, oq_n;
	struct hub_loop_edge *edges; /* HUB_EDGE_SLOTS */
	size_t n_edges, n_recheck;
	uint64_t next_recheck_ms;
	int is_edges_full_logged;
} hub_loop;

static volatile sig_atomic_t hub_loop_stop;
static volatile sig_atomic_t hub_loop_snap_asked;

/* hub_loop_on_signal - SIGTERM, SIGINT stop; SIGUSR1 asks a snapshot */
static void
hub_loop_on_signal(int sig)
{
	if (sig == SIGUSR1)
		hub_loop_snap_asked = 1;
	else
		hub_loop_stop = 1;
}

/* hub_loop_enqueue - a copy of a payload for the broker (hub_publish_fn) */
static void
hub_loop_enqueue(
    void *arg, const char *topic, const uint8_t *p, size_t len, int retain)
{
	struct hub_loop_msg *q;

	(void)arg;
	if (hub_loop.oq_n == HUB_OUTQ_MAX) {
		q = &hub_loop.outq[hub_loop.oq_head];
		mx_free(q->p);
		q->p = NULL;
		hub_loop.oq_head = (hub_loop.oq_head + 1) % HUB_OUTQ_MAX;
		hub_loop.oq_n--;
		hub_metrics_inc(HUB_M_OUTQ_DROPPED);
	}
	q = &hub_loop.outq[(hub_loop.oq_head + hub_loop.oq_n) % HUB_OUTQ_MAX];
	snprintf(q->topic, sizeof(q->topic), "%s", topic);
	q->p = len > 0 ? mx_malloc(len) : NULL;
	if (len > 0)
		memcpy(q->p, p, len);
	q->len = len;
	q->retain = retain;
	hub_loop.oq_n++;
}

/* hub_loop_drain - hand queued payloads to libmosquitto while up */
static void
hub_loop_drain(void)
{
	while (hub_loop.state == 2 && hub_loop.oq_n > 0) {
		struct hub_loop_msg *q = &hub_loop.outq[hub_loop.oq_head];
		int rc = mosquitto_publish(hub_loop.m, NULL, q->topic,
		    (int)q->len, q->p, 1, q->retain != 0);

		if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST)
			return; /* kept for the next session */
		if (rc != MOSQ_ERR_SUCCESS) {
			mx_warn(
			    "publish %s: %s", q->topic, mosquitto_strerror(rc));
			hub_metrics_inc(HUB_M_OUTQ_DROPPED);
		}
		mx_free(q->p);
		q->p = NULL;
		hub_loop.oq_head = (hub_loop.oq_head + 1) % HUB_OUTQ_MAX;
		hub_loop.oq_n--;
	}
}

/* hub_loop_publish_now - publish directly (snapshots, from the loop) */
static void
hub_loop_publish_now(
    void *arg, const char *topic, const uint8_t *p, size_t len, int retain)
{
	int rc;

	(void)arg;
	rc = mosquitto_publish(
	    hub_loop.m, NULL, topic, (int)len, p, 1, retain != 0);
	if (rc != MOSQ_ERR_SUCCESS)
		hub_loop_enqueue(NULL, topic, p, len, retain);
}

/*
 * hub_loop_flush - commit the counters and the open batch; batches go to
 * the queue (safe inside a libmosquitto callback) and each new seq's
 * time is kept for hub_loop_lags
 */
static void
hub_loop_flush(void)
{
	uint64_t before = hub_state_seq(hub_loop.st), now = mx_mono_ms();
	uint64_t s;

	hub_state_flush(hub_loop.st, hub_loop_enqueue, NULL);
	for (s = before + 1; s <= hub_state_seq(hub_loop.st); s++) {
		hub_loop.pub_seq[s % HUB_LOOP_SEQS] = s;
		hub_loop.pub_ms[s % HUB_LOOP_SEQS] = now;
	}
}

/*
 * hub_loop_lags - is an edge at (epoch, seq) of this hub behind: another
 * epoch, or a seq whose successor went out more than HUB_LAG_MS ago (or
 * so long ago that its time is no longer kept)
 */
static int
hub_loop_lags(uint64_t epoch, uint64_t seq)
{
	uint64_t cur = hub_state_seq(hub_loop.st), next = seq + 1;
	size_t i = next % HUB_LOOP_SEQS;

	if (epoch != hub_state_epoch(hub_loop.st))
		return 1;
	if (seq >= cur)
		return 0;
	if (hub_loop.pub_seq[i] != next)
		return 1;
	return mx_mono_ms() > hub_loop.pub_ms[i] + HUB_LAG_MS;
}

/* hub_loop_snap_for - an edge lags: a snapshot, at most every min time */
static void
hub_loop_snap_for(
    const char *edge, size_t edge_len, uint64_t epoch, uint64_t seq)
{
	uint64_t due = hub_loop.last_snap_ms + hub_loop.c->snapshot_min_time;

	if (due < hub_loop.next_snap_ms) {
		hub_loop.next_snap_ms = due;
		hub_metrics_inc(HUB_M_SNAP_ASKED);
		mx_info("edge %.*s lags at epoch %llu seq %llu (hub at %llu): "
		        "snapshot due",
		    (int)edge_len, edge, (unsigned long long)epoch,
		    (unsigned long long)seq,
		    (unsigned long long)hub_state_seq(hub_loop.st));
	}
}

/*
 * hub_loop_edge - the slot of an edge id (found or taken), or NULL when
 * HUB_EDGES_MAX edges are tracked already (logged once; such an edge is
 * still judged on each status, only not re-checked)
 */
static struct hub_loop_edge *
hub_loop_edge(const uint8_t *id, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	size_t i, n;
	struct hub_loop_edge *e;

	if (len == 0 || len > PROTO_ID_MAX)
		return NULL;
	for (i = 0; i < len; i++)
		h = (h ^ id[i]) * 1099511628211ull;
	for (n = 0; n < HUB_EDGE_SLOTS; n++) {
		e = &hub_loop.edges[(h + n) & (HUB_EDGE_SLOTS - 1)];
		if (e->id[0] == '\0')
			break;
		if (strlen(e->id) == len && memcmp(e->id, id, len) == 0)
			return e;
	}
	if (hub_loop.n_edges >= HUB_EDGES_MAX) {
		if (!hub_loop.is_edges_full_logged)
			mx_warn("more than %d edges: the newest are not "
			        "re-checked for lag",
			    HUB_EDGES_MAX);
		hub_loop.is_edges_full_logged = 1;
		return NULL;
	}
	memcpy(e->id, id, len);
	e->id[len] = '\0';
	hub_loop.n_edges++;
	return e;
}

/* hub_loop_edge_recheck - set or clear an edge's re-check time */
static void
hub_loop_edge_recheck(struct hub_loop_edge *e, uint64_t at)
{
	if (e->recheck_ms == 0 && at != 0)
		hub_loop.n_recheck++;
	else if (e->recheck_ms != 0 && at == 0)
		hub_loop.n_recheck--;
	e->recheck_ms = at;
}

/*
 * hub_loop_recheck_due - when an edge at (epoch, seq), behind but not
 * lagging yet, would lag: the time its next seq went out plus HUB_LAG_MS;
 * 0 when it is not behind in this epoch
 */
static uint64_t
hub_loop_recheck_due(uint64_t epoch, uint64_t seq)
{
	size_t i = (seq + 1) % HUB_LOOP_SEQS;

	if (epoch != hub_state_epoch(hub_loop.st) ||
	    seq >= hub_state_seq(hub_loop.st) || hub_loop.pub_seq[i] != seq + 1)
		return 0;
	return hub_loop.pub_ms[i] + HUB_LAG_MS + 1;
}

/* hub_loop_recheck - the edges whose re-check time has come */
static void
hub_loop_recheck(uint64_t now)
{
	struct hub_loop_edge *e;
	size_t i;

	if (hub_loop.n_recheck == 0 || now < hub_loop.next_recheck_ms)
		return;
	hub_loop.next_recheck_ms = now + HUB_RECHECK_MS;
	for (i = 0; i < HUB_EDGE_SLOTS && hub_loop.n_recheck > 0; i++) {
		e = &hub_loop.edges[i];
		if (e->recheck_ms == 0 || now < e->recheck_ms)
			continue;
		hub_loop_edge_recheck(e, 0);
		if (hub_loop_lags(e->epoch, e->seq))
			hub_loop_snap_for(
			    e->id, strlen(e->id), e->epoch, e->seq);
	}
}

/*
 * hub_loop_status - an edge's retained status: when its position for this
 * hub lags (it missed batches it cannot get again: a broker that lost its
 * session, a gap, a stale retained snapshot it started from), publish a
 * snapshot, at most every snapshot_min_time; when it is behind but not
 * lagging yet, look again once it would be
 */
static void
hub_loop_status(const uint8_t *p, size_t len)
{
	struct proto_status st;
	struct hub_loop_edge *e;
	const char *id = hub_loop.c->hub_id;
	size_t i;

	if (len == 0)
		return; /* a cleared retained status */
	if (proto_status_decode(p, len, &st) != 0) {
		hub_metrics_inc(HUB_M_BAD_STATUS);
		return;
	}
	hub_metrics_inc(HUB_M_STATUS);
	e = hub_loop_edge(st.edge_id.p, st.edge_id.len);
	if (e != NULL)
		hub_loop_edge_recheck(e, 0); /* a newer word from the edge */
	if (st.state == PROTO_EDGE_OFFLINE)
		return;
	for (i = 0; i < st.n_hubs; i++) {
		const struct proto_hub_pos *h = &st.hubs[i];

		if (h->hub_id.len != strlen(id) ||
		    memcmp(h->hub_id.p, id, h->hub_id.len) != 0)
			continue;
		if (hub_loop_lags(h->epoch, h->seq)) {
			hub_loop_snap_for((const char *)st.edge_id.p,
			    st.edge_id.len, h->epoch, h->seq);
		} else if (e != NULL) {
			e->epoch = h->epoch;
			e->seq = h->seq;
			hub_loop_edge_recheck(
			    e, hub_loop_recheck_due(h->epoch, h->seq));
		}
	}
}

/* hub_loop_on_message - one message: route it by its topic */
static void
hub_loop_on_message(
    struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct proto_topic t;

	(void)m;
	(void)arg;
	if (msg->topic == NULL ||
	    proto_topic_parse(msg->topic, strlen(msg->topic), &t) != 0 ||
	    msg->payloadlen < 0) {
		hub_metrics_inc(HUB_M_BAD_TOPIC);
		return;
	}
	switch (t.kind) {
	case PROTO_TOPIC_STATUS:
		hub_loop_status(msg->payload, (size_t)msg->payloadlen);
		break;
	case PROTO_TOPIC_TELEMETRY:
		hub_ingest_telemetry(hub_loop.g, t.pop, t.id, msg->payload,
		    (size_t)msg->payloadlen, mx_unix_ms());
		break;
	case PROTO_TOPIC_FEED:
		hub_feed_submit(hub_loop.c, hub_loop.st, t.id, msg->payload,
		    (size_t)msg->payloadlen);
		/*
		 * Committed before this callback returns: an analyst's
		 * change goes out now, and the window in which a crash loses
		 * a submission the broker saw acknowledged is as short as
		 * libmosquitto allows (it acknowledges QoS 1 before calling
		 * us; submitters resend until they see the change).
		 */
		hub_loop_flush();
		break;
	default:
		hub_metrics_inc(HUB_M_BAD_TOPIC);
		break;
	}
}

/* hub_loop_on_connect - CONNACK: subscribe */
static void
hub_loop_on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)arg;
	if (rc != 0) {
		hub_loop.refused_rc = rc;
		return;
	}
	hub_loop.state = 2;
	hub_loop.backoff_ms = HUB_BACKOFF_MIN_MS;
	hub_metrics_set(HUB_M_CONNECTED, 1);
	mx_notice("MQTT_CONNECTED broker=%s:%u", hub_loop.c->broker_host,
	    (unsigned)hub_loop.c->broker_port);
	hub_metrics_set(HUB_M_SUBSCRIBED, 0);
	hub_loop.sub_mid = 0;
	/* one SUBSCRIBE for every filter: one SUBACK says they all hold */
	if (mosquitto_subscribe_multiple(m, &hub_loop.sub_mid,
	        (int)hub_loop.c->n_filters, hub_loop.filters, 1, 0,
	        NULL) != MOSQ_ERR_SUCCESS)
		mx_warn("MQTT_SUBSCRIBE_FAILED");
	/* edges that were waiting get a fresh state at once */
	hub_loop.is_snapshot_due = 1;
}

/* hub_loop_on_subscribe - SUBACK: input flows from now on */
static void
hub_loop_on_subscribe(
    struct mosquitto *m, void *arg, int mid, int n, const int *granted)
{
	int i;

	(void)m;
	(void)arg;
	if (mid != hub_loop.sub_mid)
		return;
	for (i = 0; i < n; i++)
		if (granted[i] > 2) {
			mx_warn("MQTT_SUBSCRIBE_REFUSED filter=%s",
			    (size_t)i < hub_loop.c->n_filters
			        ? hub_loop.filters[i]
			        : "?");
			return;
		}
	hub_metrics_set(HUB_M_SUBSCRIBED, 1);
	mx_notice(
	    "MQTT_SUBSCRIBED filters=%d first=%s", n, hub_loop.filters[0]);
}

/* hub_loop_failed - the session or an attempt failed: retry later */
static void
hub_loop_failed(const char *why)
{
	uint64_t now = mx_mono_ms();

	if (hub_loop.state == 2)
		mx_warn("MQTT_LOST broker=%s:%u err=\"%s\"",
		    hub_loop.c->broker_host, (unsigned)hub_loop.c->broker_port,
		    why);
	else
		mx_debug("MQTT_RETRY broker=%s:%u err=\"%s\"",
		    hub_loop.c->broker_host, (unsigned)hub_loop.c->broker_port,
		    why);
	hub_loop.state = 0;
	hub_metrics_set(HUB_M_CONNECTED, 0);
	hub_metrics_set(HUB_M_SUBSCRIBED, 0);
	hub_loop.next_try_ms = now + hub_loop.backoff_ms;
	hub_loop.backoff_ms = hub_loop.backoff_ms * 2 > HUB_BACKOFF_MAX_MS
	                          ? HUB_BACKOFF_MAX_MS
	                          : hub_loop.backoff_ms * 2;
}

/* hub_loop_connect - start an attempt */
static void
hub_loop_connect(void)
{
	int rc;

	hub_loop.refused_rc = 0;
	rc = mosquitto_connect_async(hub_loop.m, hub_loop.c->broker_host,
	    hub_loop.c->broker_port, HUB_KEEPALIVE_S);
	if (rc == MOSQ_ERR_SUCCESS) {
		hub_loop.state = 1;
		hub_loop.deadline_ms = mx_mono_ms() + HUB_CONNECT_MS;
		return;
	}
	hub_loop_failed(
	    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
}

/* hub_loop_network - one network turn */
static void
hub_loop_network(int ms)
{
	int rc;

	if (hub_loop.state == 0) {
		if (mx_mono_ms() >= hub_loop.next_try_ms)
			hub_loop_connect();
		if (hub_loop.state == 0) {
			struct timespec ts = {0, (long)ms * 1000000};

			nanosleep(&ts, NULL);
			return;
		}
	}
	rc = mosquitto_loop(hub_loop.m, ms, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		hub_loop_failed(
		    hub_loop.refused_rc != 0
		        ? mosquitto_connack_string(hub_loop.refused_rc)
		    : rc == MOSQ_ERR_ERRNO ? strerror(errno)
		                           : mosquitto_strerror(rc));
		return;
	}
	if (hub_loop.state == 1 && mx_mono_ms() >= hub_loop.deadline_ms) {
		mosquitto_disconnect(hub_loop.m);
		hub_loop_failed("no CONNACK in time");
	}
}

/* hub_loop_timers - flush, snapshot, sweeps when due */
static void
hub_loop_timers(void)
{
	uint64_t now = mx_mono_ms();

	if (now >= hub_loop.next_flush_ms) {
		hub_loop_flush();
		hub_loop.next_flush_ms = now + hub_loop.c->batch_time;
	}
	/* counters are evidence, committed on their own (longer) period:
	 * a commit writes every page the window touched */
	if (now >= hub_loop.next_counters_ms) {
		hub_ingest_commit(hub_loop.g);
		hub_loop.next_counters_ms =
		    now + hub_loop.c->counter_commit_time;
	}
	hub_loop_drain();
	hub_loop_recheck(now);
	if (hub_loop_snap_asked) {
		hub_loop_snap_asked = 0;
		mx_notice("snapshot asked (SIGUSR1)");
		hub_loop.is_snapshot_due = 1;
	}
	if (hub_loop.state == 2 &&
	    (hub_loop.is_snapshot_due || now >= hub_loop.next_snap_ms)) {
		hub_loop.is_snapshot_due = 0;
		if (hub_state_snapshot(
		        hub_loop.st, hub_loop_publish_now, NULL) == 0) {
			hub_loop.last_snap_ms = now;
			hub_loop.next_snap_ms = now + hub_loop.c->snapshot_time;
		} else
			hub_loop.next_snap_ms = now + 1000; /* try again soon */
	}
	if (hub_loop.c->observe_time > 0 && now >= hub_loop.next_promote_ms) {
		uint64_t every = hub_loop.c->observe_time / 10;

		hub_ingest_promote(hub_loop.g, mx_unix_ms());
		every = every < 200 ? 200 : every > 60000 ? 60000 : every;
		hub_loop.next_promote_ms = now + every;
	}
	if (now >= hub_loop.next_sweep_ms) {
		hub_state_sweep(hub_loop.st);
		hub_ingest_sweep(hub_loop.g, mx_unix_ms());
		hub_loop.next_sweep_ms = now + HUB_SWEEP_MS;
	}
}

/* hub_loop_final - flush and drain, bounded by HUB_STOP_MS */
static void
hub_loop_final(void)
{
	uint64_t end = mx_mono_ms() + HUB_STOP_MS;

	hub_loop_flush();
	while (hub_loop.oq_n > 0 && mx_mono_ms() < end) {
		hub_loop_drain();
		hub_loop_network(20);
	}
	/* wait for the PUBACKs of what was handed over */
	while (hub_loop.state == 2 && mosquitto_want_write(hub_loop.m) &&
	       mx_mono_ms() < end)
		hub_loop_network(20);
	if (hub_loop.state == 2)
		mosquitto_disconnect(hub_loop.m);
	if (hub_loop.oq_n > 0)
		mx_warn("UPDATES_UNSENT batches=%zu reason=\"broker not "
		        "reachable at exit\"",
		    hub_loop.oq_n);
	while (hub_loop.oq_n > 0) {
		mx_free(hub_loop.outq[hub_loop.oq_head].p);
		hub_loop.oq_head = (hub_loop.oq_head + 1) % HUB_OUTQ_MAX;
		hub_loop.oq_n--;
	}
}

/* hub_loop_mqtt_new - the client: persistent session, TLS, credentials */
static int
hub_loop_mqtt_new(struct hub_conf *c)
{
	char id[PROTO_ID_MAX + 8];

	mosquitto_lib_init();
	snprintf(id, sizeof(id), "mxhub-%s", c->hub_id);
	hub_loop.m = mosquitto_new(id, false, NULL);
	if (hub_loop.m == NULL)
		return MX_EIO;
	/* an update is one small write: Nagle would hold it for the
	 * broker's delayed ACK (~40 ms a hop) */
	mosquitto_int_option(hub_loop.m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(hub_loop.m, hub_loop_on_connect);
	mosquitto_message_callback_set(hub_loop.m, hub_loop_on_message);
	mosquitto_subscribe_callback_set(hub_loop.m, hub_loop_on_subscribe);
	if (c->broker_username[0] != '\0' &&
	    mosquitto_username_pw_set(hub_loop.m, c->broker_username,
	        c->broker_password[0] ? c->broker_password : NULL) !=
	        MOSQ_ERR_SUCCESS)
		return MX_EINVAL;
	if (c->broker_cafile[0] != '\0' &&
	    mosquitto_tls_set(hub_loop.m, c->broker_cafile, NULL,
	        c->broker_certfile[0] ? c->broker_certfile : NULL,
	        c->broker_keyfile[0] ? c->broker_keyfile : NULL,
	        NULL) != MOSQ_ERR_SUCCESS)
		return MX_EINVAL;
	return 0;
}

/* hub_loop_run - open the state, serve until a signal */
int
hub_loop_run(struct hub_conf *c)
{
	struct sigaction sa;
	char err[512];
	size_t i;
	int rc;

	memset(&hub_loop, 0, sizeof(hub_loop));
	hub_loop.c = c;
	hub_loop.edges = mx_calloc(HUB_EDGE_SLOTS, sizeof(*hub_loop.edges));
	for (i = 0; i < c->n_filters; i++)
		hub_loop.filters[i] = c->filters[i];
	hub_loop.backoff_ms = HUB_BACKOFF_MIN_MS;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = hub_loop_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((rc = hub_state_open(c, &hub_loop.st, err, sizeof(err))) != 0)
		mx_fatal("%s", err);
	if ((rc = hub_ingest_open(
	         c, hub_loop.st, &hub_loop.g, err, sizeof(err))) != 0)
		mx_fatal("%s", err);
	hub_state_set_publisher(hub_loop.st, hub_loop_enqueue, NULL);
	hub_loop.base = event_base_new();
	if (hub_loop.base == NULL)
		mx_fatal("libevent: cannot make a loop");
	if (c->metrics[0] != '\0' &&
	    hub_metrics_start(hub_loop.base, c->metrics) != 0)
		mx_fatal("metrics: cannot serve on %s", c->metrics);
	if (c->query[0] != '\0' &&
	    hub_query_start(hub_loop.base, c, hub_loop.st, hub_loop.g) != 0)
		mx_fatal("query: cannot serve on %s", c->query);
	if (hub_loop_mqtt_new(c) != 0)
		mx_fatal("MQTT client: cannot set up (TLS files, credentials)");
	mx_notice("mxhub %s started: epoch %llu seq %llu, %zu feed keys",
	    c->hub_id, (unsigned long long)hub_state_epoch(hub_loop.st),
	    (unsigned long long)hub_state_seq(hub_loop.st), c->n_feeds);
	while (!hub_loop_stop) {
		hub_loop_network(HUB_LOOP_MS);
		event_base_loop(hub_loop.base, EVLOOP_NONBLOCK);
		hub_loop_timers();
	}
	mx_notice("stopping");
	hub_loop_final();
	mosquitto_destroy(hub_loop.m);
	mosquitto_lib_cleanup();
	hub_metrics_stop();
	hub_query_stop();
	event_base_free(hub_loop.base);
	hub_ingest_close(hub_loop.g);
	hub_state_close(hub_loop.st);
	mx_free(hub_loop.edges);
	mx_notice("stopped");
	return 0;
}
