/*
 * feed_submit.c - sign, publish and confirm feed submissions
 *
 * The flow of one send: cut the records into messages (at most
 * PROTO_BATCH_RECORDS_MAX records, and as many as fit PROTO_MSG_MAX once
 * encoded, measured with the largest serial so the real one always
 * fits), reserve one serial per message in the state store (committed
 * before anything leaves), then encode, sign and publish each message
 * QoS 1 and turn libmosquitto's loop until every PUBACK came back, the
 * connection dropped or timeout_ms passed. Nothing is retried here: the
 * caller keeps its baseline and the next run sends the difference again
 * under new serials.
 * Trust: the broker and the network are not trusted to deliver; only a
 * PUBACK counts. The private key is borrowed and never copied or logged.
 * Limits: timeout_ms; message size and record count of proto_msg.h.
 */
#include "feeds/feed_submit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "lib/mx_alloc.h"
#include "lib/mx_buf.h"
#include "lib/mx_err.h"
#include "proto/proto_msg.h"
#include "proto/proto_topic.h"
#include "feeds/feed.h"

#define FEED_SUBMIT_KEEPALIVE_S 30 /* MQTT keepalive */
#define FEED_SUBMIT_TURN_MS 50     /* network wait per loop turn */

struct feed_submit {
	struct mosquitto *m;
	struct feed_state *st;       /* borrowed: reserves serials */
	const struct proto_key *key; /* borrowed */
	char source[PROTO_ID_MAX + 1];
	char who[PROTO_ID_MAX + 1];
	char topic[PROTO_TOPIC_MAX];
	uint64_t timeout_ms;
	int is_connected; /* CONNACK accepted, not lost since */
	int is_lost;      /* the connection dropped */
	int refused_rc;   /* CONNACK refusal code */
	int is_lib_init;  /* mosquitto_lib_init was called */
	int *mids;        /* message ids waiting for PUBACK; 0 = acked */
	size_t n_mids;    /* of this send */
	size_t n_acked;   /* PUBACKs of this send */
	struct mx_buf body, msg;
};

/* feed_submit_mono_ms - monotonic milliseconds */
static uint64_t
feed_submit_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* feed_submit_now_ms - unix milliseconds */
static uint64_t
feed_submit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* feed_submit_on_connect - CONNACK */
static void
feed_submit_on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct feed_submit *s = arg;

	(void)m;
	if (rc != 0)
		s->refused_rc = rc;
	else
		s->is_connected = 1;
}

/* feed_submit_on_disconnect - the session ended */
static void
feed_submit_on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	struct feed_submit *s = arg;

	(void)m;
	(void)rc;
	s->is_connected = 0;
	s->is_lost = 1;
}

/* feed_submit_on_publish - PUBACK of one of our messages */
static void
feed_submit_on_publish(struct mosquitto *m, void *arg, int mid)
{
	struct feed_submit *s = arg;
	size_t i;

	(void)m;
	for (i = 0; i < s->n_mids; i++)
		if (s->mids[i] == mid && mid != 0) {
			s->mids[i] = 0;
			s->n_acked++;
			return;
		}
}

/* feed_submit_why - a libmosquitto error as text */
static const char *
feed_submit_why(int rc)
{
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

/* feed_submit_open - connect and wait for the CONNACK */
int
feed_submit_open(const struct feed_submit_conf *c, struct feed_state *st,
    struct feed_submit **out, char *err, size_t errlen)
{
	struct feed_submit *s;
	char id[PROTO_ID_MAX + 32];
	uint64_t deadline;
	int rc;

	if (c->source == NULL ||
	    proto_id_check(c->source, strlen(c->source)) != 0 ||
	    c->who == NULL || proto_id_check(c->who, strlen(c->who)) != 0 ||
	    c->key == NULL || st == NULL || c->host == NULL ||
	    c->host[0] == '\0') {
		snprintf(err, errlen, "submit: bad source, who, key or broker");
		return MX_EINVAL;
	}
	s = mx_calloc(1, sizeof(*s));
	s->st = st;
	s->key = c->key;
	s->timeout_ms = c->timeout_ms;
	snprintf(s->source, sizeof(s->source), "%s", c->source);
	snprintf(s->who, sizeof(s->who), "%s", c->who);
	mx_buf_init(&s->body, PROTO_MSG_MAX);
	mx_buf_init(&s->msg, PROTO_MSG_MAX);
	if (proto_topic_feed(s->topic, sizeof(s->topic), s->source) != 0) {
		snprintf(err, errlen, "submit: no topic for %s", s->source);
		rc = MX_EINVAL;
		goto fail;
	}
	mosquitto_lib_init();
	s->is_lib_init = 1;
	/* unique per run: two submitters never take each other's session */
	snprintf(id, sizeof(id), "mxfeed-%s-%ld", s->source, (long)getpid());
	s->m = mosquitto_new(id, true, s);
	if (s->m == NULL) {
		snprintf(err, errlen, "MQTT client: %s", strerror(errno));
		rc = MX_EIO;
		goto fail;
	}
	mosquitto_int_option(s->m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(s->m, feed_submit_on_connect);
	mosquitto_disconnect_callback_set(s->m, feed_submit_on_disconnect);
	mosquitto_publish_callback_set(s->m, feed_submit_on_publish);
	if (c->username != NULL && c->username[0] != '\0' &&
	    mosquitto_username_pw_set(s->m, c->username,
	        c->password && c->password[0] ? c->password : NULL) !=
	        MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "MQTT client: bad credentials");
		rc = MX_EINVAL;
		goto fail;
	}
	if (c->cafile != NULL && c->cafile[0] != '\0' &&
	    mosquitto_tls_set(s->m, c->cafile, NULL,
	        c->certfile && c->certfile[0] ? c->certfile : NULL,
	        c->keyfile && c->keyfile[0] ? c->keyfile : NULL,
	        NULL) != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "MQTT client: TLS files refused");
		rc = MX_EINVAL;
		goto fail;
	}
	deadline = feed_submit_mono_ms() + s->timeout_ms;
	rc = mosquitto_connect_async(
	    s->m, c->host, c->port, FEED_SUBMIT_KEEPALIVE_S);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "broker %.200s:%u: %s", c->host,
		    (unsigned)c->port, feed_submit_why(rc));
		rc = MX_EIO;
		goto fail;
	}
	while (!s->is_connected) {
		rc = mosquitto_loop(s->m, FEED_SUBMIT_TURN_MS, 1);
		if (s->refused_rc != 0) {
			snprintf(err, errlen, "broker %.200s:%u refused: %s",
			    c->host, (unsigned)c->port,
			    mosquitto_connack_string(s->refused_rc));
			rc = MX_EPROTO;
			goto fail;
		}
		if (rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "broker %.200s:%u: %s", c->host,
			    (unsigned)c->port, feed_submit_why(rc));
			rc = MX_EIO;
			goto fail;
		}
		if (!s->is_connected && feed_submit_mono_ms() >= deadline) {
			snprintf(err, errlen,
			    "broker %.200s:%u: no CONNACK within %llu ms",
			    c->host, (unsigned)c->port,
			    (unsigned long long)s->timeout_ms);
			rc = MX_ETIMEOUT;
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	feed_submit_close(s);
	return rc;
}

/*
 * feed_submit_cut - how many of recs[0..n) go into one message: at most
 * PROTO_BATCH_RECORDS_MAX, halved until the body fits (encoded with the
 * largest serial, so the real one fits too)
 */
static int
feed_submit_cut(struct feed_submit *s, const struct proto_feed_hdr *h,
    const struct proto_record *recs, size_t n, size_t *take)
{
	size_t k = n < PROTO_BATCH_RECORDS_MAX ? n : PROTO_BATCH_RECORDS_MAX;
	int rc;

	for (;;) {
		mx_buf_reset(&s->body);
		rc = proto_feed_body_encode(&s->body, h, recs, k);
		if (rc == 0) {
			*take = k;
			return 0;
		}
		if (rc != MX_ETOOBIG || k == 1)
			return rc;
		k /= 2;
	}
}

/* feed_submit_send - publish recs as signed messages; wait for PUBACKs */
int
feed_submit_send(struct feed_submit *s, const struct proto_record *recs,
    size_t n, size_t *msgs, uint64_t *first, uint64_t *last, char *err,
    size_t errlen)
{
	struct proto_feed_hdr h;
	size_t *cut = NULL, n_cut = 0, cap = 0, done, i, k;
	uint64_t serial = 0, deadline;
	int rc, mid;

	if (msgs != NULL)
		*msgs = 0;
	if (n == 0)
		return 0;
	if (s->is_lost || !s->is_connected) {
		snprintf(err, errlen, "not connected to the broker");
		return MX_EIO;
	}
	memset(&h, 0, sizeof(h));
	h.source.p = (const uint8_t *)s->source;
	h.source.len = strlen(s->source);
	h.who.p = (const uint8_t *)s->who;
	h.who.len = strlen(s->who);
	h.ts_ms = feed_submit_now_ms();
	h.serial = UINT64_MAX;
	for (done = 0; done < n; done += k) {
		if ((rc = feed_submit_cut(s, &h, recs + done, n - done, &k)) !=
		    0) {
			snprintf(err, errlen, "record %zu: %s", done,
			    mx_strerror(rc));
			goto out;
		}
		if (n_cut == cap) {
			cap = cap ? cap * 2 : 16;
			cut = mx_realloc(cut, cap * sizeof(*cut));
		}
		cut[n_cut++] = k;
	}
	/* the serials are on disk before the first message leaves */
	if ((rc = feed_state_serial_reserve(
	         s->st, n_cut, feed_submit_now_ms(), &serial)) != 0) {
		snprintf(
		    err, errlen, "cannot reserve serials: %s", mx_strerror(rc));
		goto out;
	}
	mx_free(s->mids);
	s->mids = mx_calloc(n_cut, sizeof(*s->mids));
	s->n_mids = n_cut;
	s->n_acked = 0;
	for (i = 0, done = 0; i < n_cut; done += cut[i++]) {
		h.serial = serial + i;
		mx_buf_reset(&s->body);
		mx_buf_reset(&s->msg);
		if ((rc = proto_feed_body_encode(
		         &s->body, &h, recs + done, cut[i])) != 0 ||
		    (rc = proto_sign_message(&s->msg, s->key, PROTO_MSG_FEED,
		         s->body.data, s->body.len)) != 0) {
			snprintf(
			    err, errlen, "message %zu: %s", i, mx_strerror(rc));
			goto out;
		}
		mid = 0;
		rc = mosquitto_publish(s->m, &mid, s->topic, (int)s->msg.len,
		    s->msg.data, 1, false);
		if (rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "publish %s: %s", s->topic,
			    feed_submit_why(rc));
			rc = MX_EIO;
			goto out;
		}
		/* a PUBACK may only come in a loop turn, after this */
		s->mids[i] = mid;
	}
	deadline = feed_submit_mono_ms() + s->timeout_ms;
	while (s->n_acked < n_cut) {
		rc = mosquitto_loop(s->m, FEED_SUBMIT_TURN_MS, 1);
		if (s->is_lost || rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen,
			    "connection lost after %zu of %zu PUBACKs: %s",
			    s->n_acked, n_cut,
			    rc != MOSQ_ERR_SUCCESS ? feed_submit_why(rc)
			                           : "disconnected");
			s->is_lost = 1;
			rc = MX_EIO;
			goto out;
		}
		if (s->n_acked < n_cut && feed_submit_mono_ms() >= deadline) {
			snprintf(err, errlen,
			    "%zu of %zu PUBACKs within %llu ms", s->n_acked,
			    n_cut, (unsigned long long)s->timeout_ms);
			s->is_lost = 1; /* unknown state: no further sends */
			rc = MX_ETIMEOUT;
			goto out;
		}
	}
	if (msgs != NULL)
		*msgs = n_cut;
	if (first != NULL)
		*first = serial;
	if (last != NULL)
		*last = serial + n_cut - 1;
	rc = 0;
out:
	mx_free(cut);
	return rc;
}

/* feed_submit_close - disconnect and release */
void
feed_submit_close(struct feed_submit *s)
{
	int i;

	if (s == NULL)
		return;
	if (s->m != NULL) {
		if (s->is_connected) {
			mosquitto_disconnect(s->m);
			/* let the DISCONNECT out; it needs no answer */
			for (i = 0; i < 4 && mosquitto_want_write(s->m); i++)
				mosquitto_loop(s->m, 10, 1);
		}
		mosquitto_destroy(s->m);
	}
	if (s->is_lib_init)
		mosquitto_lib_cleanup();
	mx_free(s->mids);
	mx_buf_fini(&s->body);
	mx_buf_fini(&s->msg);
	mx_free(s);
}
