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
 * Confirmation (feed_submit_watch/_confirm) is the exception: it
 * subscribes to the hub's update stream before the send, keeps the
 * signed messages and the records' (kind, op, key), marks each record
 * seen in a batch of that hub, and resends the same messages once per
 * second until all were seen; the hub refuses a resend it already took
 * as a replay.
 * Trust: the broker and the network are not trusted to deliver; only a
 * PUBACK counts. The private key is borrowed and never copied or logged.
 * Update batches are hostile: checked against the hub's key when given,
 * decoded strictly (proto_update_body_decode validates first), and only
 * used to mark records seen. Limits: timeout_ms; wait_ms of a
 * confirmation; message size and record count of proto_msg.h.
 */
#include "feeds/feed_submit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "lib/mx_alloc.h"
#include "lib/mx_buf.h"
#include "lib/mx_err.h"
#include "lib/mx_time.h"
#include "proto/proto_msg.h"
#include "proto/proto_topic.h"
#include "feeds/feed.h"

#define FEED_SUBMIT_KEEPALIVE_S 30 /* MQTT keepalive */
#define FEED_SUBMIT_TURN_MS 50     /* network wait per loop turn */
#define FEED_SUBMIT_RESEND_MS 1000 /* resend period while confirming */

/* a record sent while watching, to be seen in the update stream */
struct feed_submit_want {
	uint8_t kind;    /* enum proto_kind */
	uint8_t op;      /* enum proto_op */
	uint8_t is_seen; /* a batch carried it */
	uint16_t key_len;
	uint8_t key[PROTO_KEY_MAX];
};

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
	/* confirmation: feed_submit_watch */
	int is_watching;                 /* subscribed to the hub's updates */
	int is_subscribed;               /* SUBACK came (granted) */
	int is_sub_refused;              /* SUBACK refused the subscription */
	int sub_mid;                     /* SUBSCRIBE message id */
	const struct proto_key *hub_key; /* borrowed, or NULL */
	char hub_id[PROTO_ID_MAX + 1];
	char watch_topic[PROTO_TOPIC_MAX];
	struct feed_submit_want *want; /* sorted by (kind, op, key) */
	size_t n_want, want_cap;       /* entries, allocated */
	size_t n_seen;                 /* of them seen in a batch */
	uint64_t seen_seq;             /* seq of the last batch that helped */
	uint8_t **kept;                /* signed messages sent while watching */
	size_t *kept_len;              /* bytes of each */
	size_t n_kept, kept_cap;       /* entries, allocated */
};

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

/* feed_submit_want_cmp - order of (kind, op, key) */
static int
feed_submit_want_cmp(const void *pa, const void *pb)
{
	const struct feed_submit_want *a = pa, *b = pb;
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	if ((c = memcmp(a->key, b->key, n)) != 0)
		return c;
	return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

/* feed_submit_on_record - a record of a watched batch: mark it seen */
static int
feed_submit_on_record(void *arg, const struct proto_record *r)
{
	struct feed_submit *s = arg;
	struct feed_submit_want k, *w;

	k.kind = r->kind;
	k.op = r->op;
	k.key_len = r->key_len;
	memcpy(k.key, r->key, r->key_len);
	w = bsearch(&k, s->want, s->n_want, sizeof(*w), feed_submit_want_cmp);
	if (w != NULL && !w->is_seen) {
		w->is_seen = 1;
		s->n_seen++;
	}
	return 0;
}

/* feed_submit_on_message - an update batch of the watched hub */
static void
feed_submit_on_message(
    struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct feed_submit *s = arg;
	struct proto_batch_hdr h;
	struct proto_str body, sig;
	size_t before = s->n_seen;
	unsigned type;

	(void)m;
	if (!s->is_watching || msg->topic == NULL ||
	    strcmp(msg->topic, s->watch_topic) != 0 || msg->payloadlen <= 0)
		return;
	if (proto_signed_decode(msg->payload, (size_t)msg->payloadlen, &type,
	        &body, &sig) != 0 ||
	    type != PROTO_MSG_UPDATE)
		return;
	if (s->hub_key != NULL && proto_verify(s->hub_key, type, body.p,
	                              body.len, sig.p, sig.len) != 0)
		return;
	/* validate the whole body before marking anything from it */
	if (proto_update_body_decode(body.p, body.len, &h, NULL, NULL) != 0 ||
	    h.hub_id.len != strlen(s->hub_id) ||
	    memcmp(h.hub_id.p, s->hub_id, h.hub_id.len) != 0)
		return;
	if (proto_update_body_decode(
	        body.p, body.len, &h, feed_submit_on_record, s) != 0)
		return;
	if (s->n_seen > before)
		s->seen_seq = h.seq;
}

/* feed_submit_on_subscribe - SUBACK of the watch */
static void
feed_submit_on_subscribe(struct mosquitto *m, void *arg, int mid, int qos_count,
    const int *granted_qos)
{
	struct feed_submit *s = arg;

	(void)m;
	if (mid != s->sub_mid || mid == 0)
		return;
	if (qos_count < 1 || granted_qos[0] > 2)
		s->is_sub_refused = 1;
	else
		s->is_subscribed = 1;
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
	snprintf(id, sizeof(id), "%s-%s-%ld",
	    c->program != NULL ? c->program : "mxfeed", s->source,
	    (long)getpid());
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
	mosquitto_message_callback_set(s->m, feed_submit_on_message);
	mosquitto_subscribe_callback_set(s->m, feed_submit_on_subscribe);
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
	deadline = mx_mono_ms() + s->timeout_ms;
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
		if (!s->is_connected && mx_mono_ms() >= deadline) {
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

/*
 * feed_submit_want_add - remember (kind, op, key) of recs to see them in
 * the update stream; sorted, duplicates merged
 */
static void
feed_submit_want_add(
    struct feed_submit *s, const struct proto_record *recs, size_t n)
{
	size_t i, j;

	if (s->n_want + n > s->want_cap) {
		s->want_cap = s->n_want + n;
		s->want = mx_realloc(s->want, s->want_cap * sizeof(*s->want));
	}
	for (i = 0; i < n; i++) {
		struct feed_submit_want *w = &s->want[s->n_want++];

		memset(w, 0, sizeof(*w));
		w->kind = recs[i].kind;
		w->op = recs[i].op;
		w->key_len = recs[i].key_len;
		memcpy(w->key, recs[i].key, recs[i].key_len);
	}
	qsort(s->want, s->n_want, sizeof(*s->want), feed_submit_want_cmp);
	s->n_seen = 0;
	for (i = 0, j = 0; i < s->n_want; i++) {
		if (j > 0 &&
		    feed_submit_want_cmp(&s->want[j - 1], &s->want[i]) == 0) {
			s->want[j - 1].is_seen |= s->want[i].is_seen;
			continue;
		}
		if (j != i)
			s->want[j] = s->want[i];
		j++;
	}
	s->n_want = j;
	for (i = 0; i < s->n_want; i++)
		s->n_seen += s->want[i].is_seen;
}

/* feed_submit_keep - keep a copy of the signed message just published */
static void
feed_submit_keep(struct feed_submit *s)
{
	if (s->n_kept == s->kept_cap) {
		s->kept_cap = s->kept_cap ? s->kept_cap * 2 : 4;
		s->kept = mx_realloc(s->kept, s->kept_cap * sizeof(*s->kept));
		s->kept_len =
		    mx_realloc(s->kept_len, s->kept_cap * sizeof(*s->kept_len));
	}
	s->kept[s->n_kept] = mx_malloc(s->msg.len);
	memcpy(s->kept[s->n_kept], s->msg.data, s->msg.len);
	s->kept_len[s->n_kept++] = s->msg.len;
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
	h.ts_ms = mx_unix_ms();
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
	         s->st, n_cut, mx_unix_ms(), &serial)) != 0) {
		snprintf(
		    err, errlen, "cannot reserve serials: %s", mx_strerror(rc));
		goto out;
	}
	if (s->is_watching)
		feed_submit_want_add(s, recs, n);
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
		if (s->is_watching)
			feed_submit_keep(s);
	}
	deadline = mx_mono_ms() + s->timeout_ms;
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
		if (s->n_acked < n_cut && mx_mono_ms() >= deadline) {
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

/* feed_submit_watch - subscribe to the hub's updates; wait for SUBACK */
int
feed_submit_watch(struct feed_submit *s, const char *hub_id,
    const struct proto_key *hub_key, char *err, size_t errlen)
{
	uint64_t deadline;
	int rc;

	if (s->is_watching || hub_id == NULL ||
	    proto_id_check(hub_id, strlen(hub_id)) != 0 ||
	    proto_topic_updates(
	        s->watch_topic, sizeof(s->watch_topic), hub_id) != 0) {
		snprintf(err, errlen, "confirm: bad hub id '%.64s'",
		    hub_id ? hub_id : "");
		return MX_EINVAL;
	}
	if (s->is_lost || !s->is_connected) {
		snprintf(err, errlen, "not connected to the broker");
		return MX_EIO;
	}
	snprintf(s->hub_id, sizeof(s->hub_id), "%s", hub_id);
	s->hub_key = hub_key;
	s->sub_mid = 0;
	rc = mosquitto_subscribe(s->m, &s->sub_mid, s->watch_topic, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "subscribe %s: %s", s->watch_topic,
		    feed_submit_why(rc));
		return MX_EIO;
	}
	deadline = mx_mono_ms() + s->timeout_ms;
	while (!s->is_subscribed) {
		rc = mosquitto_loop(s->m, FEED_SUBMIT_TURN_MS, 1);
		if (s->is_lost || rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "subscribe %s: connection lost",
			    s->watch_topic);
			s->is_lost = 1;
			return MX_EIO;
		}
		if (s->is_sub_refused) {
			snprintf(err, errlen,
			    "subscribe %s: refused by the "
			    "broker",
			    s->watch_topic);
			return MX_EIO;
		}
		if (!s->is_subscribed && mx_mono_ms() >= deadline) {
			snprintf(err, errlen,
			    "subscribe %s: no SUBACK within "
			    "%llu ms",
			    s->watch_topic, (unsigned long long)s->timeout_ms);
			return MX_ETIMEOUT;
		}
	}
	s->is_watching = 1;
	return 0;
}

/* feed_submit_confirm - wait for every record in the update stream */
int
feed_submit_confirm(struct feed_submit *s, uint64_t wait_ms, uint64_t *seq,
    size_t *resent, char *err, size_t errlen)
{
	uint64_t now, deadline, next;
	size_t n_resent = 0, i;
	int rc;

	if (!s->is_watching) {
		snprintf(err, errlen, "confirm: not watching a hub");
		return MX_ESTATE;
	}
	now = mx_mono_ms();
	deadline = now + wait_ms;
	next = now + FEED_SUBMIT_RESEND_MS;
	while (s->n_seen < s->n_want) {
		rc = mosquitto_loop(s->m, FEED_SUBMIT_TURN_MS, 1);
		if (s->is_lost || rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen,
			    "confirm: connection lost with %zu of %zu records "
			    "seen",
			    s->n_seen, s->n_want);
			s->is_lost = 1;
			return MX_EIO;
		}
		if (s->n_seen >= s->n_want)
			break;
		now = mx_mono_ms();
		if (now >= deadline) {
			snprintf(err, errlen,
			    "%zu of %zu records seen in the updates of %s "
			    "within %llu ms",
			    s->n_seen, s->n_want, s->hub_id,
			    (unsigned long long)wait_ms);
			if (resent != NULL)
				*resent = n_resent;
			return MX_ETIMEOUT;
		}
		if (now < next)
			continue;
		/* the hub may have lost it: the same serial again */
		for (i = 0; i < s->n_kept; i++)
			if (mosquitto_publish(s->m, NULL, s->topic,
			        (int)s->kept_len[i], s->kept[i], 1,
			        false) == MOSQ_ERR_SUCCESS)
				n_resent++;
		next = now + FEED_SUBMIT_RESEND_MS;
	}
	if (seq != NULL)
		*seq = s->seen_seq;
	if (resent != NULL)
		*resent = n_resent;
	return 0;
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
	mx_free(s->want);
	for (i = 0; i < (int)s->n_kept; i++)
		mx_free(s->kept[i]);
	mx_free(s->kept);
	mx_free(s->kept_len);
	mx_buf_fini(&s->body);
	mx_buf_fini(&s->msg);
	mx_free(s);
}

/* feed_submit_check_confirm - confirm_hub and hub_key */
int
feed_submit_check_confirm(
    const char *confirm_hub, const char *hub_key, struct proto_key **verify_key)
{
	int problems = 0, rc;

	if (confirm_hub[0] != '\0' &&
	    proto_id_check(confirm_hub, strlen(confirm_hub)) != 0) {
		fprintf(stderr, "confirm_hub: '%.64s' is not a hub id\n",
		    confirm_hub);
		problems++;
	}
	if (hub_key[0] != '\0' &&
	    (rc = proto_key_load_public(hub_key, verify_key)) != 0) {
		fprintf(stderr,
		    "hub_key: cannot load public key '%.256s': %s\n", hub_key,
		    mx_strerror(rc));
		problems++;
	}
	return problems;
}
