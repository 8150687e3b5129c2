/*
 * edge_smtp_in.c - SMTP server side of mxedge: one session per sender
 *
 * Reads the sending MTA's commands, answers what commits to nothing
 * (greeting, EHLO, MAIL) itself, and hands RCPT, DATA and the end of data
 * to edge_smtp_out.c, which talks to the destination; the destination's
 * replies come back through edge_in_ds_done() and are passed to the sender
 * with their codes intact. The message streams through edge_data.c and
 * the filter hook while it is forwarded; nothing is written to disk. A
 * 250 for a message is only ever the destination's own 250.
 * Commands are handled strictly in order: while one waits on the
 * destination the rest stay in the input buffer (bounded by EDGE_IN_HIGH;
 * libevent stops reading at that mark), which is also how pipelining
 * keeps its order.
 * Trust: every byte comes from the Internet. Limits: smtp_line_limit,
 * max_errors, max_commands, max_rcpt, max_size, data_line_limit,
 * smtp_command_time, smtp_data_time, smtp_session_time, per_ip_sessions,
 * max_sessions; each hit is answered with an enhanced status code, logged
 * and counted.
 */
#include "edge/edge_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "lib/mx_alloc.h"
#include "lib/mx_ascii.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "lib/mx_time.h"

#define EDGE_IN_LINGER_MS 2000    /* flushing the last reply, at most */
#define EDGE_IN_LINGER_TICK_MS 10 /* re-check of the TLS socket side */

static atomic_uint_fast64_t edge_in_serial;
static uint32_t edge_in_boot;

static void edge_in_read(struct bufferevent *bev, void *arg);
static void edge_in_write(struct bufferevent *bev, void *arg);
static void edge_in_event(struct bufferevent *bev, short what, void *arg);
static void edge_in_process(struct edge_session *s);
static void edge_in_flush(struct edge_session *s);
static void edge_in_greet_now(struct edge_session *s);
static void edge_in_policy_refusal(
    struct edge_session *s, const char *stage, const struct edge_fverdict *v);

/* edge_in_now_us - monotonic microseconds */
static uint64_t
edge_in_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* edge_reply_set - a one-line local reply */
void
edge_reply_set(struct edge_reply *r, int code, int is_local, const char *line)
{
	r->code = code;
	r->is_local = is_local;
	mx_buf_reset(&r->text);
	/* a local line always fits: EDGE_REPLY_MAX is far above it */
	(void)mx_buf_printf(&r->text, "%s\r\n", line);
}

/*
 * edge_in_flush - hand queued replies to the kernel now. On a plain
 * socket the session writes through: EV_WRITE is armed only for a backlog
 * the kernel would not take, so a reply costs one send and no epoll
 * changes. Replies made while a batch of pipelined commands is handled
 * leave together when the batch ends. A TLS filter writes for itself.
 */
static void
edge_in_flush(struct edge_session *s)
{
	struct evbuffer *out;

	if (s->is_closing || s->bev == NULL ||
	    bufferevent_get_underlying(s->bev) != NULL)
		return;
	out = bufferevent_get_output(s->bev);
	if (evbuffer_get_length(out) == 0)
		return;
	/* an error (reset) leaves the bytes queued; libevent reports it */
	(void)evbuffer_write(out, bufferevent_getfd(s->bev));
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(s->bev, EV_WRITE);
}

/* edge_in_reply - queue a reply line (CRLF added) to the sender */
static void edge_in_reply(struct edge_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
edge_in_reply(struct edge_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	if (s->batch == 0)
		edge_in_flush(s);
}

/* edge_in_tel_verdict - the telemetry verdict of a final reply code */
static uint8_t
edge_in_tel_verdict(int code)
{
	if (code >= 500)
		return PROTO_VERDICT_REJECT;
	return code >= 400 ? PROTO_VERDICT_TEMPFAIL : PROTO_VERDICT_ACCEPT;
}

/*
 * edge_in_tel_hit - one hit's reason id into the event. A hit of an
 * observe-mode record is "observe:ID" (it would have hit: the hub
 * promotes or revokes the record on such reports) and an allow-list hit
 * "allow:ID" (the sender is one a record must never hit); the verdict's
 * own reason is in the event already.
 */
static void
edge_in_tel_hit(
    struct edge_tel *t, const struct edge_filter_hit *h, const char *reason)
{
	char id[EDGE_FILTER_HIT_ID_MAX + 8];
	const char *pre = h->is_observe                  ? "observe:"
	                  : h->action == PROTO_ACT_ALLOW ? "allow:"
	                                                 : "";

	if (*pre == '\0' && reason != NULL && strcmp(reason, h->id) == 0)
		return;
	snprintf(id, sizeof(id), "%s%s", pre, h->id);
	(void)edge_tel_add(t, EDGE_TEL_F_REASON, id, strlen(id));
}

/*
 * edge_in_tel_filter - what the filters learned, into the event: every
 * hit's reason id (the records and rules that decided), country, AS,
 * score and the spam-trap and protocol flags
 */
static void
edge_in_tel_filter(
    struct edge_session *s, struct edge_tel *t, const char *reason)
{
	const struct edge_fctx *f = &s->filter;
	size_t i;

	if (!s->filter_begun)
		return;
	/* the verdict's own reason is in the event already */
	for (i = 0; i < f->n_conn_hits; i++)
		edge_in_tel_hit(t, &f->conn_hits[i], reason);
	for (i = 0; f->in_txn && i < f->n_hits; i++)
		edge_in_tel_hit(t, &f->hits[i], reason);
	if (f->country[0] != '\0')
		(void)edge_tel_add(
		    t, EDGE_TEL_F_COUNTRY, f->country, strlen(f->country));
	t->h.asn = f->asn;
	t->h.score = f->conn_score + (f->in_txn ? f->score : 0);
	if (f->in_txn && f->is_trap)
		t->h.flags |= PROTO_EVF_TRAP;
	if (f->proto_flags & EDGE_PF_EARLY_TALKER)
		t->h.flags |= PROTO_EVF_EARLY_TALKER;
	if (f->proto_flags & ~EDGE_PF_EARLY_TALKER)
		t->h.flags |= PROTO_EVF_PROTO_ABUSE;
}

/* edge_in_tel_end - the transaction ended: finish and queue its event */
static void
edge_in_tel_end(struct edge_session *s, uint8_t verdict, const char *reason)
{
	struct edge_tel *t = &s->tel;

	if (!t->is_active)
		return;
	t->h.verdict = verdict;
	t->h.size = s->has_data ? s->data.content_bytes : 0;
	if (s->is_tls)
		t->h.flags |= PROTO_EVF_TLS;
	if (reason != NULL)
		(void)edge_tel_add(
		    t, EDGE_TEL_F_REASON, reason, strlen(reason));
	edge_in_tel_filter(s, t, reason);
	edge_tel_submit(t);
}

/*
 * edge_in_tel_abandon - the transaction ends with no answer to its data
 * (RSET, HELO, QUIT, timeout, disconnect). Once a RCPT was answered it
 * tells the hub something (a harvest is MAIL, RCPTs, QUIT): an event with
 * verdict aborted; MAIL alone is forgotten.
 */
static void
edge_in_tel_abandon(struct edge_session *s, const char *why)
{
	if (!s->tel.is_active)
		return;
	if (s->n_rcpt_answered == 0) {
		edge_tel_cancel(&s->tel);
		return;
	}
	edge_in_tel_end(s, PROTO_VERDICT_ABORTED, why);
}

/* edge_in_tel_rcpt - note one RCPT answer (counted; listed while room) */
static void
edge_in_tel_rcpt(struct edge_session *s, const char *local, size_t llen,
    const char *domain, size_t dlen, uint8_t result)
{
	s->n_rcpt_answered++;
	if (result == PROTO_RCPT_OK)
		s->tel.h.rcpt_ok++;
	else if (result == PROTO_RCPT_UNKNOWN)
		s->tel.h.rcpt_unknown++;
	/* past PROTO_EV_RCPTS_MAX, or with the arena full, an answer is
	 * in the counts but not in the list */
	(void)edge_tel_rcpt(
	    &s->tel, local != NULL ? local : "", llen, domain, dlen, result);
}

/* edge_in_tel_rcpt_cur - note the answer to s->rcpt_cur ("<local@dom>") */
static void
edge_in_tel_rcpt_cur(struct edge_session *s, uint8_t result)
{
	const char *p = s->rcpt_cur, *at;
	char dom[EDGE_CMD_DOMAIN_MAX + 1];
	size_t len = strlen(p), dlen;

	if (len < 3 || p[0] != '<' || p[len - 1] != '>')
		return;
	/* a quoted local part may hold '@'; a domain never does */
	at = memrchr(p, '@', len);
	if (at == NULL)
		return;
	dlen = (size_t)(p + len - 1 - (at + 1));
	if (dlen >= sizeof(dom))
		return;
	mx_ascii_lower_copy(dom, at + 1, dlen);
	edge_in_tel_rcpt(s, p + 1, (size_t)(at - p - 1), dom, dlen, result);
}

/* edge_in_tel_refused - one event for a connection refused at once */
static void
edge_in_tel_refused(struct edge_session *s, const char *reason)
{
	edge_tel_begin(&s->tel, PROTO_EV_CONN_REFUSED, s->peer);
	/* every refusal of a connection is a 421 */
	s->tel.h.verdict = PROTO_VERDICT_TEMPFAIL;
	(void)edge_tel_add(&s->tel, EDGE_TEL_F_REASON, reason, strlen(reason));
	edge_in_tel_filter(s, &s->tel, reason);
	edge_tel_submit(&s->tel);
}

/* edge_in_destroy - free a session and everything it holds */
void
edge_in_destroy(struct edge_session *s)
{
	struct edge_worker *w = s->w;

	/* cut at exit past drain_time (else abandoned at close already) */
	edge_in_tel_abandon(s, "shutdown");
	edge_tel_fini(&s->tel);
	if (s->filter_begun)
		edge_filter_session_end(&s->filter);
	edge_out_abort(s);
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->iplimit_held) {
		edge_iplimit_release(s->peer);
		s->iplimit_held = 0;
	}
	mx_free(s->line);
	mx_buf_fini(&s->ds_reply.text);
	mx_buf_fini(&s->route_err.text);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	w->n_sessions--;
	atomic_fetch_sub(&edge_srv.sessions, 1);
	edge_metrics_add(EDGE_C_SESSIONS_OPEN, -1);
	mx_debug("s=%s DISCONNECT client=%s commands=%llu", s->id, s->peer_text,
	    (unsigned long long)s->commands);
	edge_conf_unref(s->conf);
	mx_free(s);
}

/* edge_in_free_cb - free a session on a fresh loop turn */
static void
edge_in_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	edge_in_destroy(arg);
}

/* edge_in_close - end the session now (nothing more is sent) */
static void
edge_in_close(struct edge_session *s)
{
	struct timeval zero = {0, 0};

	if (s->is_closing)
		return;
	s->is_closing = 1;
	edge_in_tel_abandon(s, "disconnect");
	if (s->bev != NULL)
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	/* the address's slot is free as soon as the session ends, not when
	 * its memory goes: a client reconnecting at once is not refused */
	if (s->iplimit_held) {
		edge_iplimit_release(s->peer);
		s->iplimit_held = 0;
	}
	if (s->timer != NULL)
		evtimer_del(s->timer);
	/* never free inside our own callback: next loop turn */
	if (event_base_once(
	        s->w->base, -1, EV_TIMEOUT, edge_in_free_cb, s, &zero) != 0)
		mx_panic("event_base_once failed");
}

/*
 * edge_in_unsent - reply bytes not yet handed to the kernel. After
 * STARTTLS the session's bufferevent is a TLS filter: its output empties
 * as soon as OpenSSL has the bytes, while the records still wait in the
 * socket bufferevent under it, so both count.
 */
static size_t
edge_in_unsent(struct edge_session *s)
{
	struct bufferevent *u = bufferevent_get_underlying(s->bev);
	size_t n = evbuffer_get_length(bufferevent_get_output(s->bev));

	if (u != NULL)
		n += evbuffer_get_length(bufferevent_get_output(u));
	return n;
}

/* edge_in_linger - closing: close once the last reply left (bounded) */
static void
edge_in_linger(struct edge_session *s)
{
	struct timeval tick = {0, EDGE_IN_LINGER_TICK_MS * 1000};

	if (s->is_closing)
		return;
	if (edge_in_unsent(s) == 0 || mx_mono_ms() >= s->deadline_ms) {
		edge_in_close(s);
		return;
	}
	/* only the TLS layer's socket side is left: no callback of ours
	 * fires when it drains, so look again shortly */
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		evtimer_add(s->timer, &tick);
}

/* edge_in_close_after_reply - stop reading; close once output flushed */
static void
edge_in_close_after_reply(struct edge_session *s)
{
	struct timeval tv = {
	    EDGE_IN_LINGER_MS / 1000, (EDGE_IN_LINGER_MS % 1000) * 1000};

	if (s->st == EDGE_IN_CLOSING || s->is_closing)
		return;
	s->st = EDGE_IN_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	/* a peer that does not read cannot hold the session open */
	s->deadline_ms = mx_mono_ms() + EDGE_IN_LINGER_MS;
	evtimer_add(s->timer, &tv);
	edge_in_flush(s);
	edge_in_linger(s);
}

/* edge_in_deadline - arm the timer for now + ms (bounded by session) */
static void
edge_in_deadline(struct edge_session *s, uint64_t ms)
{
	uint64_t now = mx_mono_ms();
	uint64_t end = s->start_ms + s->conf->smtp_session_time;
	uint64_t dl = now + ms;
	struct timeval tv;

	if (dl > end)
		dl = end;
	s->deadline_ms = dl;
	dl = dl > now ? dl - now : 0;
	tv.tv_sec = (time_t)(dl / 1000);
	tv.tv_usec = (suseconds_t)((dl % 1000) * 1000);
	evtimer_add(s->timer, &tv);
}

/* edge_in_timeout - a phase took longer than its total time */
static void
edge_in_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct edge_session *s = arg;

	(void)fd;
	(void)what;
	if (s->is_closing || s->st == EDGE_IN_CLOSING) {
		edge_in_linger(s);
		return;
	}
	if (s->st == EDGE_IN_PREGREET) {
		/* the pre-greet wait is over: greet (anything the client
		 * said meanwhile is read after the greeting) */
		s->batch++;
		edge_in_greet_now(s);
		if (--s->batch == 0)
			edge_in_flush(s);
		if (s->st == EDGE_IN_CMD)
			edge_in_process(s);
		return;
	}
	edge_metrics_inc(EDGE_C_REJ_TIMEOUT);
	edge_in_tel_abandon(s, "timeout");
	mx_info("s=%s REJECT client=%s limit=%s reply=\"421 4.4.2\"", s->id,
	    s->peer_text,
	    s->st == EDGE_IN_DATA ? "smtp_data_time" : "smtp_command_time");
	edge_out_abort(s);
	edge_in_reply(
	    s, "421 4.4.2 %s Error: timeout exceeded", s->conf->hostname);
	edge_in_close_after_reply(s);
}

/* edge_in_txn_reset - forget the transaction (RSET, end of data, EHLO) */
static void
edge_in_txn_reset(struct edge_session *s)
{
	/* the ends that answer for the data have submitted already */
	edge_in_tel_abandon(s, "reset");
	s->has_mail = 0;
	s->mail[0] = '\0';
	s->mail_log[0] = '\0';
	s->mail_size = 0;
	s->mail_8bit = 0;
	s->n_rcpt = 0;
	s->n_rcpt_ok = 0;
	s->first_rcpt[0] = '\0';
	/* s->route stays: it is where the open downstream connection goes,
	 * which the next transaction's first RCPT compares with */
	s->route_failed = 0;
	s->ds_lost_in_data = 0;
	s->has_data = 0;
	s->n_rcpt_answered = 0;
	if (s->filter_begun)
		edge_filter_txn_end(&s->filter);
}

/* edge_in_error - count a sender error; end the session at max_errors */
static int
edge_in_error(struct edge_session *s)
{
	if (++s->errors < s->conf->max_errors)
		return 0;
	edge_metrics_inc(EDGE_C_REJ_TOO_MANY_ERRORS);
	edge_in_tel_abandon(s, "too_many_errors");
	mx_info("s=%s REJECT client=%s limit=max_errors value=%u "
	        "reply=\"421 4.7.0\"",
	    s->id, s->peer_text, s->errors);
	edge_in_reply(
	    s, "421 4.7.0 %s Error: too many errors", s->conf->hostname);
	edge_out_quit(s);
	edge_in_close_after_reply(s);
	return 1;
}

/*
 * edge_in_greet_now - the connect stage of the filters, then the
 * greeting, or a refusal instead of it (554 5.7.1 / 421 4.7.0)
 */
static void
edge_in_greet_now(struct edge_session *s)
{
	struct edge_fverdict v;

	edge_filter_connect(&s->filter, &v);
	if (v.action == PROTO_ACT_REJECT || v.action == PROTO_ACT_TEMPFAIL) {
		int rej = v.action == PROTO_ACT_REJECT;

		char hits[512];

		edge_filter_hits_text(&s->filter, hits, sizeof(hits));
		edge_metrics_inc(EDGE_C_REJ_POLICY_CONNECT);
		mx_info("s=%s REJECT client=%s reason=%s score=%d hits=%s "
		        "reply=\"%s\"",
		    s->id, s->peer_text, v.reason, (int)v.score, hits,
		    rej ? "554 5.7.1" : "421 4.7.0");
		edge_in_tel_refused(s, "policy_connect");
		edge_in_reply(s,
		    "%s %s Service refused to your address (%s, "
		    "id=%s)",
		    rej ? "554 5.7.1" : "421 4.7.0", s->conf->hostname,
		    v.reason, s->id);
		edge_in_close_after_reply(s);
		return;
	}
	s->st = EDGE_IN_CMD;
	s->greeted = 1;
	edge_in_reply(s, "220 %s ESMTP mxedge", s->conf->hostname);
	edge_in_deadline(s, s->conf->smtp_command_time);
}

/*
 * edge_in_tel_event - the session's telemetry subscribes to the filter
 * event channel: URL hosts, body and attachment hashes and fingerprint
 * band keys go into the transaction's event (bounded by its lists:
 * PROTO_EV_URLS_MAX hosts, PROTO_EV_HASHES_MAX hashes, the first
 * PROTO_EV_FPS_MAX of the PROTO_FP_BANDS band keys), with the compact
 * signature the hub needs to publish a fingerprint record
 */
static void
edge_in_tel_event(void *arg, enum edge_fev ev, const uint8_t *p, size_t len)
{
	struct edge_session *s = arg;

	if (ev == EDGE_FEV_URL_HOST)
		(void)edge_tel_add(&s->tel, EDGE_TEL_F_URL, p, len);
	else if (ev == EDGE_FEV_HASH)
		(void)edge_tel_add(&s->tel, EDGE_TEL_F_HASH, p, len);
	else if (ev == EDGE_FEV_FP_BAND)
		(void)edge_tel_add(&s->tel, EDGE_TEL_F_FP, p, len);
	else if (ev == EDGE_FEV_FP_SIG && len == PROTO_EV_FP_SIG_LEN)
		(void)edge_tel_add(&s->tel, EDGE_TEL_F_FP_SIG, p, len);
}

/*
 * edge_in_greet - start the filters, then greet; with pregreet_time the
 * greeting waits, and a client that talks first is an early talker
 */
static void
edge_in_greet(struct edge_session *s)
{
	edge_filter_session_begin(&s->filter, s->conf, s->w->rtxn, s->peer);
	s->filter.listener = edge_in_tel_event;
	s->filter.listener_arg = s;
	s->filter_begun = 1;
	if (s->conf->pregreet_time > 0) {
		s->st = EDGE_IN_PREGREET;
		edge_in_deadline(s, s->conf->pregreet_time);
		return;
	}
	edge_in_greet_now(s);
}

/* edge_in_peer_set - record the client address from a sockaddr */
static void
edge_in_peer_set(struct edge_session *s, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN];

	memset(s->peer, 0, sizeof(s->peer));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		s->peer[10] = s->peer[11] = 0xff;
		memcpy(s->peer + 12, &in->sin_addr, 4);
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		s->peer_port = ntohs(in->sin_port);
		snprintf(s->peer_text, sizeof(s->peer_text), "[%s]:%u", host,
		    (unsigned)s->peer_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(s->peer, &in6->sin6_addr, 16);
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		s->peer_port = ntohs(in6->sin6_port);
		snprintf(s->peer_text, sizeof(s->peer_text), "[%s]:%u", host,
		    (unsigned)s->peer_port);
	} else {
		snprintf(s->peer_text, sizeof(s->peer_text), "[unknown]");
	}
}

/* edge_in_admit - per-IP limit once the real client address is known */
static int
edge_in_admit(struct edge_session *s)
{
	if (edge_iplimit_acquire(s->peer, s->conf->per_ip_sessions) != 0) {
		edge_metrics_inc(EDGE_C_CONN_REFUSED_PER_IP);
		edge_in_tel_refused(s, "per_ip_sessions");
		mx_info("s=%s REJECT client=%s limit=per_ip_sessions "
		        "value=%llu reply=\"421 4.7.0\"",
		    s->id, s->peer_text,
		    (unsigned long long)s->conf->per_ip_sessions);
		edge_in_reply(s,
		    "421 4.7.0 %s Error: too many connections "
		    "from your address",
		    s->conf->hostname);
		edge_in_close_after_reply(s);
		return -1;
	}
	s->iplimit_held = 1;
	return 0;
}

/* edge_in_accept - set up a session for a new connection */
void
edge_in_accept(
    struct edge_worker *w, int fd, struct sockaddr *sa, int salen, int is_proxy)
{
	struct edge_session *s;
	uint64_t serial;

	(void)salen;
	if (edge_in_boot == 0 && getrandom(&edge_in_boot, sizeof(edge_in_boot),
	                             0) != sizeof(edge_in_boot))
		edge_in_boot = (uint32_t)getpid();
	s = mx_calloc(1, sizeof(*s));
	s->w = w;
	edge_tel_init(&s->tel);
	s->conf = edge_server_conf();
	serial = atomic_fetch_add(&edge_in_serial, 1);
	snprintf(s->id, sizeof(s->id), "%08x%08llx", edge_in_boot,
	    (unsigned long long)(serial & 0xffffffffu));
	s->listen_proxy = is_proxy;
	s->start_ms = mx_mono_ms();
	mx_buf_init(&s->ds_reply.text, EDGE_REPLY_MAX);
	mx_buf_init(&s->route_err.text, EDGE_REPLY_MAX);
	edge_in_peer_set(s, sa);
	s->next = w->sessions;
	if (w->sessions != NULL)
		w->sessions->prev = s;
	w->sessions = s;
	w->n_sessions++;
	atomic_fetch_add(&edge_srv.sessions, 1);
	edge_metrics_add(EDGE_C_SESSIONS_OPEN, 1);
	edge_metrics_inc(EDGE_C_CONN_ACCEPTED);

	s->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->timer = evtimer_new(w->base, edge_in_timeout, s);
	if (s->bev == NULL || s->timer == NULL) {
		if (s->bev == NULL)
			close(fd);
		edge_in_close(s);
		return;
	}
	bufferevent_setcb(
	    s->bev, edge_in_read, edge_in_write, edge_in_event, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0,
	    s->conf->smtp_line_limit > EDGE_IN_HIGH
	        ? s->conf->smtp_line_limit + 2
	        : EDGE_IN_HIGH);
	bufferevent_set_max_single_read(s->bev, EDGE_IN_HIGH);
	bufferevent_enable(s->bev, EV_READ);
	mx_debug(
	    "s=%s CONNECT client=%s proxy=%d", s->id, s->peer_text, is_proxy);

	if ((uint64_t)atomic_load(&edge_srv.sessions) > s->conf->max_sessions) {
		edge_metrics_inc(EDGE_C_CONN_REFUSED_MAX);
		edge_in_tel_refused(s, "max_sessions");
		edge_in_reply(s, "421 4.7.0 %s Error: too many sessions",
		    s->conf->hostname);
		edge_in_close_after_reply(s);
		return;
	}
	if (is_proxy) {
		s->st = EDGE_IN_PROXY;
		/* the header must arrive promptly, like a command */
		edge_in_deadline(s, s->conf->smtp_command_time);
		return;
	}
	if (edge_in_admit(s) != 0)
		return;
	edge_in_greet(s);
}

/* edge_in_proxy - read the PROXY header of a PROXY listener */
static int
edge_in_proxy(struct edge_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct edge_proxy_hdr h;
	size_t len = evbuffer_get_length(in);
	uint8_t *p;
	int rc;

	if (len > EDGE_PROXY_V2_MAX)
		len = EDGE_PROXY_V2_MAX;
	p = evbuffer_pullup(in, (ev_ssize_t)len);
	rc = edge_proxy_parse(p, len, &h);
	if (rc == MX_ETRUNC && len < EDGE_PROXY_V2_MAX)
		return 0; /* wait for more */
	if (rc != 0) {
		edge_metrics_inc(EDGE_C_REJ_PROXY);
		edge_in_tel_refused(s, "bad_proxy_header");
		mx_info("s=%s REJECT client=%s reason=bad_proxy_header "
		        "reply=\"421 4.7.0\"",
		    s->id, s->peer_text);
		/* no greeting was sent: a bare 421 and close */
		edge_in_reply(s, "421 4.7.0 %s Error: PROXY header required",
		    s->conf->hostname);
		edge_in_close_after_reply(s);
		return -1;
	}
	evbuffer_drain(in, h.consumed);
	if (!h.is_local)
		edge_in_peer_set(s, (struct sockaddr *)&h.src);
	mx_debug(
	    "s=%s PROXY client=%s version=%d", s->id, s->peer_text, h.version);
	if (edge_in_admit(s) != 0)
		return -1;
	edge_in_greet(s);
	return 1;
}

/*
 * edge_in_unexpected_proxy - a PROXY header at the start of a connection
 * on a listener not configured for PROXY: a misconfigured load balancer,
 * or a client trying to choose its own address. Refused as a protocol
 * error, never read as SMTP (a v2 header would even look like QUIT).
 * Returns 0 (no header: go on), -1 (wait for more bytes, or refused).
 */
static int
edge_in_unexpected_proxy(struct edge_session *s, size_t avail)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t n = avail < EDGE_PROXY_V2_HDR ? avail : EDGE_PROXY_V2_HDR;
	enum edge_proxy_sig sig;

	sig = edge_proxy_detect(evbuffer_pullup(in, (ev_ssize_t)n), n);
	if (sig == EDGE_PROXY_SIG_NONE)
		return 0;
	/* a prefix ("PROX", "\r\n\r\n"): wait for the rest, bounded by
	 * smtp_command_time like any command */
	if (sig == EDGE_PROXY_SIG_PARTIAL)
		return -1;
	edge_metrics_inc(EDGE_C_REJ_PROXY);
	edge_in_tel_refused(s, "unexpected_proxy_header");
	mx_info("s=%s REJECT client=%s reason=unexpected_proxy_header "
	        "reply=\"421 4.7.0\"",
	    s->id, s->peer_text);
	edge_in_reply(s,
	    "421 4.7.0 %s Error: PROXY header on a listener "
	    "not configured for it",
	    s->conf->hostname);
	edge_out_quit(s);
	edge_in_close_after_reply(s);
	return -1;
}

/* edge_in_ehlo_reply - the multi-line EHLO answer */
static void
edge_in_ehlo_reply(struct edge_session *s)
{
	edge_in_reply(s, "250-%s", s->conf->hostname);
	edge_in_reply(s, "250-PIPELINING");
	edge_in_reply(
	    s, "250-SIZE %llu", (unsigned long long)s->conf->max_size);
	if (s->conf->tls_server != NULL && !s->is_tls)
		edge_in_reply(s, "250-STARTTLS");
	edge_in_reply(s, "250-8BITMIME");
	edge_in_reply(s, "250 ENHANCEDSTATUSCODES");
}

/* edge_in_helo - HELO and EHLO */
static void
edge_in_helo(struct edge_session *s, const struct edge_cmd *c)
{
	/* a new HELO ends a transaction in progress */
	edge_in_tel_abandon(s, "helo");
	mx_log_escape(s->helo, sizeof(s->helo), c->arg, c->arg_len);
	s->helo_raw_len =
	    c->arg_len < sizeof(s->helo_raw) ? c->arg_len : sizeof(s->helo_raw);
	memcpy(s->helo_raw, c->arg, s->helo_raw_len);
	s->is_esmtp = c->verb == EDGE_CMD_EHLO;
	edge_in_txn_reset(s);
	if (s->ds_st == EDGE_DS_INTXN)
		edge_out_abort(s);
	if (s->filter_begun) {
		struct edge_fverdict v;

		edge_filter_helo(&s->filter, c->arg, c->arg_len, &v);
		if (v.action == PROTO_ACT_REJECT ||
		    v.action == PROTO_ACT_TEMPFAIL) {
			edge_in_policy_refusal(s, "HELO", &v);
			s->helo[0] = '\0';
			return;
		}
	}
	if (s->is_esmtp)
		edge_in_ehlo_reply(s);
	else
		edge_in_reply(s, "250 %s", s->conf->hostname);
}

/*
 * edge_in_policy_refusal - a filter verdict refuses a command: 550 5.7.1
 * or 450 4.7.1 with the reason id, logged and counted
 */
static void
edge_in_policy_refusal(
    struct edge_session *s, const char *stage, const struct edge_fverdict *v)
{
	int rej = v->action == PROTO_ACT_REJECT;
	char hits[512];

	edge_filter_hits_text(&s->filter, hits, sizeof(hits));
	edge_metrics_inc(EDGE_C_REJ_POLICY_ENVELOPE);
	mx_info("s=%s REJECT client=%s stage=%s reason=%s score=%d hits=%s "
	        "reply=\"%s\"",
	    s->id, s->peer_text, stage, v->reason, (int)v->score, hits,
	    rej ? "550 5.7.1" : "450 4.7.1");
	edge_in_reply(s, "%s %s refused by policy (%s, id=%s)",
	    rej ? "550 5.7.1" : "450 4.7.1", stage, v->reason, s->id);
}

/* edge_in_mail - MAIL FROM: answered here; it commits to nothing */
static void
edge_in_mail(struct edge_session *s, const struct edge_cmd *c)
{
	int n;

	if (s->helo[0] == '\0') {
		edge_metrics_inc(EDGE_C_REJ_BAD_SEQUENCE);
		edge_in_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		edge_in_error(s);
		return;
	}
	if (s->has_mail) {
		edge_metrics_inc(EDGE_C_REJ_BAD_SEQUENCE);
		edge_in_reply(s, "503 5.5.1 Error: nested MAIL command");
		edge_in_error(s);
		return;
	}
	if (c->is_smtputf8) {
		edge_metrics_inc(EDGE_C_REJ_SYNTAX);
		edge_in_reply(s, "555 5.5.4 Error: SMTPUTF8 not offered");
		edge_in_error(s);
		return;
	}
	if (c->has_size && c->size > s->conf->max_size) {
		edge_metrics_inc(EDGE_C_REJ_SIZE);
		mx_info("s=%s REJECT client=%s limit=max_size value=%llu "
		        "reply=\"552 5.3.4\"",
		    s->id, s->peer_text, (unsigned long long)c->size);
		edge_in_reply(s, "552 5.3.4 Message size exceeds fixed "
		                 "maximum message size");
		return;
	}
	if (c->path.is_null)
		n = snprintf(s->mail, sizeof(s->mail), "<>");
	else
		n = snprintf(s->mail, sizeof(s->mail), "<%.*s@%.*s>",
		    (int)c->path.local_len, c->path.local,
		    (int)c->path.domain_len, c->path.domain_raw);
	if (n < 0 || (size_t)n >= sizeof(s->mail)) {
		edge_in_reply(s, "501 5.1.7 Bad sender address syntax");
		edge_in_error(s);
		return;
	}
	mx_log_escape(s->mail_log, sizeof(s->mail_log), s->mail, (size_t)n);
	if (s->filter_begun) {
		struct edge_fverdict v;
		const char *dom = c->path.is_null ? "" : c->path.domain;

		edge_filter_txn_begin(&s->filter);
		edge_filter_mail(&s->filter, dom, strlen(dom), &v);
		if (v.action == PROTO_ACT_REJECT ||
		    v.action == PROTO_ACT_TEMPFAIL) {
			edge_in_policy_refusal(s, "Sender", &v);
			edge_filter_txn_end(&s->filter);
			return;
		}
	}
	s->mail_size = c->has_size ? c->size : 0;
	s->mail_8bit = c->body == EDGE_CMD_BODY_8BITMIME;
	s->has_mail = 1;
	s->txn_start_ms = mx_mono_ms();
	s->n_rcpt_answered = 0;
	edge_tel_begin(&s->tel, PROTO_EV_TXN, s->peer);
	(void)edge_tel_add(
	    &s->tel, EDGE_TEL_F_HELO, s->helo_raw, s->helo_raw_len);
	/* the domain only (lower case); a null sender has none */
	if (!c->path.is_null)
		(void)edge_tel_add(&s->tel, EDGE_TEL_F_SENDER_DOMAIN,
		    c->path.domain, strlen(c->path.domain));
	edge_in_reply(s, "250 2.1.0 Ok");
}

/* edge_in_same_route - do two routes lead to the same destination */
static int
edge_in_same_route(const struct edge_route *a, const struct edge_route *b)
{
	return a == b || (a->addrlen == b->addrlen &&
	                     memcmp(&a->addr, &b->addr, a->addrlen) == 0 &&
	                     a->tls_require == b->tls_require);
}

/* edge_in_rcpt - RCPT TO: route, cache, then the destination decides */
static void
edge_in_rcpt(struct edge_session *s, const struct edge_cmd *c)
{
	const struct edge_route *r;
	char esc[MX_LOG_ESC_SIZE];
	int n;

	if (!s->has_mail) {
		edge_metrics_inc(EDGE_C_REJ_BAD_SEQUENCE);
		edge_in_reply(s, "503 5.5.1 Error: need MAIL command");
		edge_in_error(s);
		return;
	}
	if (s->n_rcpt >= s->conf->max_rcpt) {
		edge_metrics_inc(EDGE_C_RCPT_TOO_MANY);
		edge_in_tel_rcpt(s, c->path.local, c->path.local_len,
		    c->path.domain, strlen(c->path.domain), PROTO_RCPT_OTHER);
		edge_in_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (c->path.has_utf8) {
		/* SMTPUTF8 is not offered, so no transaction may use it */
		edge_metrics_inc(EDGE_C_REJ_SYNTAX);
		edge_in_reply(s, "553 5.6.7 Error: non-ASCII address without "
		                 "SMTPUTF8");
		edge_in_error(s);
		return;
	}
	if (c->path.is_postmaster || c->path.is_literal ||
	    c->path.domain_len == 0) {
		edge_metrics_inc(EDGE_C_RCPT_RELAY_DENIED);
		edge_in_tel_rcpt(s, c->path.local, c->path.local_len,
		    c->path.domain, strlen(c->path.domain), PROTO_RCPT_OTHER);
		edge_in_reply(s, "550 5.7.1 Relay access denied");
		return;
	}
	n = snprintf(s->rcpt_cur, sizeof(s->rcpt_cur), "<%.*s@%.*s>",
	    (int)c->path.local_len, c->path.local, (int)c->path.domain_len,
	    c->path.domain_raw);
	if (n < 0 || (size_t)n >= sizeof(s->rcpt_cur)) {
		edge_in_reply(s, "553 5.1.3 Bad recipient address syntax");
		edge_in_error(s);
		return;
	}
	mx_log_escape(esc, sizeof(esc), s->rcpt_cur, (size_t)n);
	r = edge_conf_route(s->conf, c->path.domain, strlen(c->path.domain));
	if (r == NULL) {
		edge_metrics_inc(EDGE_C_RCPT_RELAY_DENIED);
		edge_in_tel_rcpt_cur(s, PROTO_RCPT_OTHER);
		mx_info("s=%s REJECT client=%s rcpt=%s reason=relay_denied "
		        "reply=\"550 5.7.1\"",
		    s->id, s->peer_text, esc);
		edge_in_reply(s, "550 5.7.1 %s: Relay access denied", esc);
		return;
	}
	if (s->route != NULL && !edge_in_same_route(s->route, r)) {
		if (s->n_rcpt > 0) {
			/* one transaction, one destination: the sender
			 * retries it in a new transaction */
			edge_metrics_inc(EDGE_C_RCPT_OTHER_ROUTE);
			edge_in_tel_rcpt_cur(s, PROTO_RCPT_OTHER);
			edge_in_reply(s, "452 4.5.3 Error: recipient for "
			                 "another destination, try again in "
			                 "a new transaction");
			return;
		}
		/* a new transaction for another destination: the
		 * connection an earlier one left open goes elsewhere */
		edge_out_quit(s);
		s->route = NULL;
	}
	if (s->filter_begun) {
		struct edge_fverdict v;

		edge_filter_rcpt(&s->filter, c->path.local, c->path.local_len,
		    c->path.domain, strlen(c->path.domain), &v);
		if (s->filter.rcpt_unknown) {
			/* a spam trap answers like an unknown user; so does
			 * a recipient the hubs' directory lists as unknown */
			int dir = s->filter.rcpt_dir;

			s->filter.rcpt_unknown = 0;
			s->filter.rcpt_dir = 0;
			edge_in_tel_rcpt_cur(
			    s, dir ? PROTO_RCPT_UNKNOWN : PROTO_RCPT_TRAP);
			mx_info("s=%s REJECT client=%s rcpt=%s reason=%s "
			        "reply=\"550 5.1.1\"",
			    s->id, s->peer_text, esc,
			    dir ? "directory_unknown" : "spam_trap");
			edge_in_reply(s,
			    "550 5.1.1 %s: Recipient address "
			    "rejected: unknown user",
			    esc);
			return;
		}
		if (v.action == PROTO_ACT_REJECT ||
		    v.action == PROTO_ACT_TEMPFAIL) {
			edge_in_tel_rcpt_cur(s, PROTO_RCPT_OTHER);
			edge_in_policy_refusal(s, "Recipient", &v);
			return;
		}
	}
	/* cache key: lower-case domain, local part as sent */
	n = snprintf(s->rcpt_key, sizeof(s->rcpt_key), "%s@%.*s",
	    c->path.domain, (int)c->path.local_len, c->path.local);
	if (n > 0 && (size_t)n < sizeof(s->rcpt_key) &&
	    edge_srv.store != NULL && s->w->rtxn != NULL &&
	    s->conf->rcpt_cache_max > 0) {
		int known = edge_rcache_lookup(s->w->rtxn, s->rcpt_key,
		    (size_t)n, (uint64_t)time(NULL) * 1000);

		/* a known-valid recipient is not written again until its
		 * entry expires: one LMDB write per recipient per TTL */
		s->rcpt_known_ok = known == EDGE_RCACHE_VALID;
		if (known == EDGE_RCACHE_UNKNOWN) {
			edge_metrics_inc(EDGE_C_RCPT_CACHE_REFUSED);
			edge_in_tel_rcpt_cur(s, PROTO_RCPT_UNKNOWN);
			mx_info("s=%s REJECT client=%s rcpt=%s "
			        "reason=rcpt_cache_unknown reply=\"550 5.1.1\"",
			    s->id, s->peer_text, esc);
			edge_in_reply(s,
			    "550 5.1.1 %s: Recipient address "
			    "rejected: unknown user",
			    esc);
			return;
		}
	} else {
		s->rcpt_key[0] = '\0';
		s->rcpt_known_ok = 0;
	}
	s->n_rcpt++;
	if (s->route_failed) {
		/* the destination already failed this transaction */
		edge_in_tel_rcpt_cur(s, PROTO_RCPT_OTHER);
		bufferevent_write(
		    s->bev, s->route_err.text.data, s->route_err.text.len);
		return;
	}
	s->route = r;
	s->wait = EDGE_WAIT_RCPT;
	edge_metrics_inc(EDGE_C_RCPT_FORWARDED);
	edge_out_rcpt(s);
}

/* edge_in_data - DATA: downstream first; 354 only after its 354 */
static void
edge_in_data(struct edge_session *s)
{
	if (!s->has_mail) {
		edge_metrics_inc(EDGE_C_REJ_BAD_SEQUENCE);
		edge_in_reply(s, "503 5.5.1 Error: need MAIL command");
		edge_in_error(s);
		return;
	}
	if (s->n_rcpt_ok == 0) {
		edge_metrics_inc(EDGE_C_REJ_BAD_SEQUENCE);
		edge_in_reply(s, s->n_rcpt == 0
		                     ? "503 5.5.1 Error: need RCPT command"
		                     : "554 5.5.1 Error: no valid recipients");
		return;
	}
	s->wait = EDGE_WAIT_DATA;
	edge_out_data(s);
}

/* edge_in_starttls - switch the sender side to TLS */
static void
edge_in_starttls(struct edge_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct bufferevent *tls;
	SSL *ssl;

	if (s->conf->tls_server == NULL || s->is_tls) {
		edge_in_reply(
		    s, s->is_tls ? "554 5.5.1 Error: TLS already active"
		                 : "502 5.5.1 Error: command not implemented");
		edge_in_error(s);
		return;
	}
	if (s->has_mail) {
		edge_in_reply(s, "503 5.5.1 Error: STARTTLS inside a "
		                 "transaction");
		edge_in_error(s);
		return;
	}
	/* anything pipelined after STARTTLS was sent in the clear and must
	 * not be read as if it came over TLS (CVE-2011-0411 class): an
	 * injection attempt, or a broken client; dropped and counted */
	if (evbuffer_get_length(in) > 0) {
		edge_metrics_inc(EDGE_C_REJ_STARTTLS_PIPE);
		mx_info("s=%s REJECT client=%s reason=starttls_pipelining "
		        "dropped=%zu",
		    s->id, s->peer_text, evbuffer_get_length(in));
		evbuffer_drain(in, evbuffer_get_length(in));
	}
	ssl = SSL_new(s->conf->tls_server);
	if (ssl == NULL) {
		edge_in_reply(s, "454 4.7.0 TLS not available due to "
		                 "temporary reason");
		return;
	}
	edge_in_reply(s, "220 2.0.0 Ready to start TLS");
	/* in the clear, before the TLS layer takes the socket */
	edge_in_flush(s);
	tls = bufferevent_openssl_filter_new(s->w->base, s->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		edge_in_close(s);
		return;
	}
	s->bev = tls;
	s->is_tls = 1;
	s->helo[0] = '\0'; /* RFC 3207: forget what was said before */
	s->helo_raw_len = 0;
	s->is_esmtp = 0;
	edge_in_txn_reset(s);
	bufferevent_setcb(tls, edge_in_read, edge_in_write, edge_in_event, s);
	bufferevent_setwatermark(tls, EV_READ, 0, EDGE_IN_HIGH);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	edge_metrics_inc(EDGE_C_TLS_INBOUND);
}

/* edge_in_command - one complete command line */
static void
edge_in_command(struct edge_session *s, const char *line, size_t len)
{
	struct edge_cmd c;
	enum edge_cmd_err why;
	enum edge_cmd_verb verb;
	char esc[MX_LOG_ESC_SIZE];

	if (++s->commands > s->conf->max_commands) {
		edge_in_reply(s, "421 4.7.0 %s Error: too many commands",
		    s->conf->hostname);
		edge_out_quit(s);
		edge_in_close_after_reply(s);
		return;
	}
	edge_in_deadline(s, s->conf->smtp_command_time);
	if (edge_cmd_parse(line, len, &c, &why, &verb) != 0) {
		edge_metrics_inc(EDGE_C_REJ_SYNTAX);
		mx_info("s=%s REJECT client=%s cmd=\"%s\" reply=\"%.9s\"",
		    s->id, s->peer_text,
		    mx_log_escape(esc, sizeof(esc), line, len),
		    edge_cmd_reply(why, verb));
		edge_in_reply(s, "%s", edge_cmd_reply(why, verb));
		edge_in_error(s);
		return;
	}
	switch (c.verb) {
	case EDGE_CMD_HELO:
	case EDGE_CMD_EHLO:
		edge_in_helo(s, &c);
		break;
	case EDGE_CMD_MAIL:
		edge_in_mail(s, &c);
		break;
	case EDGE_CMD_RCPT:
		edge_in_rcpt(s, &c);
		break;
	case EDGE_CMD_DATA:
		edge_in_data(s);
		break;
	case EDGE_CMD_RSET:
		edge_in_tel_abandon(s, "rset");
		edge_in_txn_reset(s);
		if (s->ds_st == EDGE_DS_INTXN) {
			s->wait = EDGE_WAIT_RSET;
			edge_out_rset(s);
		} else {
			edge_in_reply(s, "250 2.0.0 Ok");
		}
		break;
	case EDGE_CMD_NOOP:
		edge_in_reply(s, "250 2.0.0 Ok");
		break;
	case EDGE_CMD_QUIT:
		edge_in_tel_abandon(s, "quit");
		edge_in_reply(s, "221 2.0.0 Bye");
		edge_out_quit(s);
		edge_in_close_after_reply(s);
		break;
	case EDGE_CMD_VRFY:
		edge_in_reply(s, "252 2.5.2 Cannot VRFY user, but will accept "
		                 "message and attempt delivery");
		break;
	case EDGE_CMD_HELP:
		edge_in_reply(s, "214 2.0.0 See RFC 5321");
		break;
	case EDGE_CMD_STARTTLS:
		edge_in_starttls(s);
		break;
	case EDGE_CMD_HTTP:
		s->filter.proto_flags |= EDGE_PF_NON_SMTP;
		edge_metrics_inc(EDGE_C_REJ_UNKNOWN_CMD);
		mx_info("s=%s REJECT client=%s reason=non_smtp_command "
		        "reply=\"421 4.7.0\"",
		    s->id, s->peer_text);
		edge_in_reply(s, "421 4.7.0 %s Error: non-SMTP command",
		    s->conf->hostname);
		edge_out_quit(s);
		edge_in_close_after_reply(s);
		break;
	case EDGE_CMD_EXPN:
	case EDGE_CMD_BDAT:
	case EDGE_CMD_AUTH:
	case EDGE_CMD_ETRN:
		edge_metrics_inc(EDGE_C_REJ_UNKNOWN_CMD);
		edge_in_reply(s, "502 5.5.1 Error: command not implemented");
		edge_in_error(s);
		break;
	case EDGE_CMD_UNKNOWN:
	default:
		edge_metrics_inc(EDGE_C_REJ_UNKNOWN_CMD);
		edge_in_reply(s, "500 5.5.2 Error: command not recognized");
		edge_in_error(s);
		break;
	}
}

/* edge_in_data_out - edge_data output: wire downstream, content to filter */
static void
edge_in_data_out(void *arg, enum edge_data_kind kind, const char *p, size_t len)
{
	struct edge_session *s = arg;

	if (kind == EDGE_DATA_WIRE)
		edge_out_body(s, p, len);
	else
		edge_filter_body(&s->filter, p, len);
}

/* edge_in_received - the Received: header prepended to every message */
static void
edge_in_received(struct edge_session *s)
{
	char date[64], buf[1024];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	n = snprintf(buf, sizeof(buf),
	    "Received: from %s (%s)\r\n\tby %s (mxedge) with %s id %s%s%s%s;"
	    "\r\n\t%s\r\n",
	    s->helo[0] ? s->helo : "unknown", s->peer_text, s->conf->hostname,
	    s->is_esmtp ? (s->is_tls ? "ESMTPS" : "ESMTP") : "SMTP", s->id,
	    s->n_rcpt_ok == 1 ? "\r\n\tfor " : "",
	    s->n_rcpt_ok == 1 ? s->first_rcpt : "", "", date);
	if (n > 0 && (size_t)n < sizeof(buf))
		edge_out_body(s, buf, (size_t)n);
}

/* edge_in_txn_log - the one line per transaction */
static void
edge_in_txn_log(struct edge_session *s, const char *verdict, const char *reply,
    size_t reply_len)
{
	char esc[MX_LOG_ESC_SIZE], hits[512] = "";
	int score = 0;

	while (reply_len > 0 &&
	       (reply[reply_len - 1] == '\n' || reply[reply_len - 1] == '\r'))
		reply_len--;
	if (s->filter_begun) {
		edge_filter_hits_text(&s->filter, hits, sizeof(hits));
		score = s->filter.conn_score + s->filter.score;
	}
	mx_info("s=%s TXN client=%s helo=\"%s\" from=%s rcpts=%u/%u "
	        "size=%llu verdict=%s reply=\"%s\" ms=%llu score=%d hits=%s",
	    s->id, s->peer_text, s->helo, s->mail_log, s->n_rcpt_ok, s->n_rcpt,
	    (unsigned long long)s->data.content_bytes, verdict,
	    mx_log_escape(esc, sizeof(esc), reply, reply_len),
	    (unsigned long long)(mx_mono_ms() - s->txn_start_ms), score,
	    hits[0] ? hits : "-");
}

/* edge_in_local_final - end a transaction with the edge's own reply */
static void
edge_in_local_final(struct edge_session *s, enum edge_ctr ctr,
    const char *verdict, const char *line)
{
	edge_out_abort(s);
	edge_metrics_inc(ctr);
	edge_in_txn_log(s, verdict, line, strlen(line));
	edge_in_reply(s, "%s", line);
	edge_in_txn_reset(s);
	s->st = EDGE_IN_CMD;
	edge_in_deadline(s, s->conf->smtp_command_time);
}

/*
 * edge_in_tag - tag mode: a header with the score, prepended while the
 * body has not streamed yet; it can only carry what was known before
 * DATA (connection, HELO, envelope), never the content's own verdict
 */
static void
edge_in_tag(struct edge_session *s)
{
	struct edge_fverdict v;
	char hdr[160];
	int n;

	edge_filter_peek(&s->filter, &v);
	if (v.action != PROTO_ACT_TAG)
		return;
	n = snprintf(hdr, sizeof(hdr), "X-Mxs-Score: %d (%s, id=%s)\r\n",
	    (int)v.score, v.reason[0] ? v.reason : "score", s->id);
	if (n > 0 && (size_t)n < sizeof(hdr)) {
		edge_out_body(s, hdr, (size_t)n);
		edge_metrics_inc(EDGE_C_TXN_TAGGED);
	}
}

/* edge_in_eod - the end of data was seen: decide, then dot or abort */
static void
edge_in_eod(struct edge_session *s)
{
	const char *reason = NULL;
	struct edge_fverdict fv;
	char line[200];

	s->eod_us = edge_in_now_us();
	edge_metrics_add(EDGE_C_BYTES_IN, (int64_t)s->data.content_bytes);
	if (s->data.err != EDGE_DATA_OK) {
		enum edge_ctr c = EDGE_C_REJ_DATA_LINE;

		if (s->data.err == EDGE_DATA_E_BARE_NEWLINE)
			c = EDGE_C_REJ_BARE_NEWLINE;
		else if (s->data.err == EDGE_DATA_E_NUL)
			c = EDGE_C_REJ_NUL;
		else if (s->data.err == EDGE_DATA_E_TOO_BIG)
			c = EDGE_C_REJ_SIZE;
		edge_metrics_inc(EDGE_C_TXN_REJECTED);
		edge_in_tel_end(s,
		    edge_data_reply(s->data.err)[0] == '5'
		        ? PROTO_VERDICT_REJECT
		        : PROTO_VERDICT_TEMPFAIL,
		    edge_data_strerror(s->data.err));
		edge_in_local_final(s, c, edge_data_strerror(s->data.err),
		    edge_data_reply(s->data.err));
		return;
	}
	if (s->data.bare_newlines > 0) {
		/* normalize mode: the body was re-framed as CRLF lines */
		edge_metrics_inc(EDGE_C_BARE_NL_NORMALIZED);
		mx_info("s=%s NORMALIZED client=%s bare_newlines=%llu", s->id,
		    s->peer_text, (unsigned long long)s->data.bare_newlines);
	}
	if (s->ds_lost_in_data || s->ds == NULL) {
		/* the destination went away mid-message: it never said 250 */
		if (s->ds_reply.code >= 400 && !s->ds_reply.is_local &&
		    s->ds_reply.text.len > 0) {
			snprintf(line, sizeof(line), "%.*s",
			    (int)(s->ds_reply.text.len - 2),
			    (const char *)s->ds_reply.text.data);
			edge_in_tel_end(s,
			    edge_in_tel_verdict(s->ds_reply.code),
			    "destination_refused");
			edge_in_local_final(s, EDGE_C_TXN_DS_REFUSED,
			    "destination_refused", line);
		} else {
			edge_in_tel_end(
			    s, PROTO_VERDICT_TEMPFAIL, "downstream_failed");
			edge_in_local_final(s, EDGE_C_TXN_FAILED, "failed",
			    "451 4.4.2 Error: connection to destination lost; "
			    "try again later");
		}
		return;
	}
	edge_filter_eod(&s->filter, &fv);
	reason = fv.reason[0] ? fv.reason : NULL;
	if (fv.action == PROTO_ACT_REJECT) {
		snprintf(line, sizeof(line),
		    "550 5.7.1 Message rejected by policy (%s, id=%s)",
		    reason ? reason : "policy", s->id);
		edge_in_tel_end(
		    s, PROTO_VERDICT_REJECT, reason ? reason : "policy");
		edge_in_local_final(s, EDGE_C_TXN_REJECTED, "reject", line);
		return;
	}
	if (fv.action == PROTO_ACT_TEMPFAIL) {
		snprintf(line, sizeof(line),
		    "451 4.7.1 Message deferred by policy (%s, id=%s)",
		    reason ? reason : "policy", s->id);
		edge_in_tel_end(
		    s, PROTO_VERDICT_TEMPFAIL, reason ? reason : "policy");
		edge_in_local_final(s, EDGE_C_TXN_TEMPFAILED, "tempfail", line);
		return;
	}
	s->wait = EDGE_WAIT_EOD;
	edge_out_dot(s);
}

/* edge_in_data_feed - stream buffered DATA bytes; returns 1 to stop */
static int
edge_in_data_feed(struct edge_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec v[8];
	int i, n;

	while (evbuffer_get_length(in) > 0) {
		size_t total = 0;

		n = evbuffer_peek(in, -1, NULL, v, 8);
		if (n > 8)
			n = 8;
		for (i = 0; i < n; i++) {
			size_t used = 0;

			edge_data_feed(
			    &s->data, v[i].iov_base, v[i].iov_len, &used);
			total += used;
			if (s->data.is_done)
				break;
		}
		evbuffer_drain(in, total);
		if (!s->data.is_done)
			edge_out_flush(s);
		if (s->data.err != EDGE_DATA_OK && s->ds != NULL) {
			/* nothing more of this message may reach the
			 * destination: drop it now, answer at the end */
			edge_out_abort(s);
		}
		if (s->data.is_done) {
			evtimer_del(s->timer);
			edge_in_eod(s);
			return 0;
		}
		if (edge_out_pending(s) > EDGE_DS_HIGH) {
			/* back-pressure: stop reading the sender until the
			 * destination has taken what we have */
			bufferevent_disable(s->bev, EV_READ);
			s->paused = 1;
			return 1;
		}
	}
	return 1;
}

/* edge_in_resume_reading - downstream drained below its low mark */
void
edge_in_resume_reading(struct edge_session *s)
{
	if (!s->paused || s->is_closing)
		return;
	s->paused = 0;
	bufferevent_enable(s->bev, EV_READ);
	edge_in_process(s);
}

/* edge_in_line_too_long - over smtp_line_limit: answer, then skip */
static void
edge_in_line_too_long(struct edge_session *s)
{
	edge_metrics_inc(EDGE_C_REJ_LINE_TOO_LONG);
	mx_info("s=%s REJECT client=%s limit=smtp_line_limit value=%llu "
	        "reply=\"500 5.5.2\"",
	    s->id, s->peer_text, (unsigned long long)s->conf->smtp_line_limit);
	edge_in_reply(s, "500 5.5.2 Error: line too long");
	s->skip_line = 1;
	edge_in_error(s);
}

/* edge_in_process - handle whatever is buffered, in order */
static void
edge_in_process_batch(struct edge_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	while (!s->is_closing && s->wait == EDGE_WAIT_NONE) {
		struct evbuffer_ptr eol;
		size_t len, avail = evbuffer_get_length(in);

		if (s->st == EDGE_IN_PROXY) {
			if (avail == 0 || edge_in_proxy(s) <= 0)
				return;
			continue;
		}
		if (s->st == EDGE_IN_DATA) {
			if (edge_in_data_feed(s))
				return;
			continue;
		}
		if (s->st == EDGE_IN_PREGREET) {
			/* talking before the greeting: noted, read later */
			if (avail > 0)
				s->filter.proto_flags |= EDGE_PF_EARLY_TALKER;
			return;
		}
		if (s->st != EDGE_IN_CMD || avail == 0)
			return;
		if (s->commands == 0 && !s->listen_proxy &&
		    edge_in_unexpected_proxy(s, avail) != 0)
			return;
		/* smtp_line_limit counts the line with its CRLF (RFC 5321
		 * 4.5.3.1.4: 512 octets "including the <CRLF>") */
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (avail >= s->conf->smtp_line_limit) {
				evbuffer_drain(in, avail);
				if (!s->skip_line)
					edge_in_line_too_long(s);
			}
			return;
		}
		len = (size_t)eol.pos;
		if (s->skip_line || len + 1 > s->conf->smtp_line_limit) {
			evbuffer_drain(in, len + 1);
			if (!s->skip_line)
				edge_in_line_too_long(s);
			s->skip_line = 0;
			continue;
		}
		/* take the line out before acting on it: a reply from the
		 * destination can re-enter this loop from inside the command */
		if (s->line == NULL)
			s->line = mx_malloc(s->conf->smtp_line_limit + 1);
		evbuffer_remove(in, s->line, len + 1);
		/* more commands already sent, while PIPELINING was never
		 * offered (no EHLO answered yet): a protocol fact */
		if (!s->is_esmtp && evbuffer_get_length(in) > 0 &&
		    s->filter_begun)
			s->filter.proto_flags |= EDGE_PF_BAD_PIPELINING;
		/* CRLF is the terminator; a bare LF is tolerated in commands
		 * (smuggling only matters inside DATA) */
		edge_in_command(s, s->line,
		    len > 0 && s->line[len - 1] == '\r' ? len - 1 : len);
	}
}

/* edge_in_process - a batch: replies leave together at its end */
static void
edge_in_process(struct edge_session *s)
{
	s->batch++;
	edge_in_process_batch(s);
	if (--s->batch == 0)
		edge_in_flush(s);
}

/*
 * edge_in_read_more - during DATA, read what the socket holds up to
 * EDGE_IN_HIGH in one readv: libevent 2.1 reads at most 4 KiB a time,
 * which costs a loop turn, an ioctl and a readv per 4 KiB of message.
 * EOF and errors are left for libevent's next read event to report.
 */
static void
edge_in_read_more(struct edge_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec v[2];
	size_t have = evbuffer_get_length(in);
	ssize_t got;
	int i, n;

	if (s->st != EDGE_IN_DATA || s->paused ||
	    bufferevent_get_underlying(s->bev) != NULL || have >= EDGE_IN_HIGH)
		return;
	n = evbuffer_reserve_space(in, (ev_ssize_t)(EDGE_IN_HIGH - have), v, 2);
	if (n <= 0)
		return;
	/* evbuffer_iovec has the layout of struct iovec (libevent docs) */
	got = readv(bufferevent_getfd(s->bev), (struct iovec *)v, n);
	if (got <= 0) {
		evbuffer_commit_space(in, v, 0);
		return;
	}
	for (i = 0; i < n; i++) {
		size_t take =
		    (size_t)got < v[i].iov_len ? (size_t)got : v[i].iov_len;

		v[i].iov_len = take;
		got -= (ssize_t)take;
	}
	evbuffer_commit_space(in, v, n);
}

/* edge_in_read - bytes from the sender */
static void
edge_in_read(struct bufferevent *bev, void *arg)
{
	struct edge_session *s = arg;

	(void)bev;
	if (s->st == EDGE_IN_CLOSING) {
		struct evbuffer *in = bufferevent_get_input(s->bev);

		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	edge_in_read_more(s);
	edge_in_process(s);
}

/* edge_in_write - output flushed: close if that was the last reply */
static void
edge_in_write(struct bufferevent *bev, void *arg)
{
	struct edge_session *s = arg;

	(void)bev;
	if (s->st == EDGE_IN_CLOSING) {
		edge_in_linger(s);
		return;
	}
	if (bufferevent_get_underlying(s->bev) == NULL &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		bufferevent_disable(s->bev, EV_WRITE);
}

/* edge_in_event - EOF, error or TLS failure on the sender side */
static void
edge_in_event(struct bufferevent *bev, short what, void *arg)
{
	struct edge_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (s->is_tls && (what & BEV_EVENT_ERROR) &&
	    bufferevent_get_openssl_error(s->bev) != 0) {
		edge_metrics_inc(EDGE_C_REJ_TLS);
		mx_info("s=%s TLS_FAILED client=%s", s->id, s->peer_text);
	}
	if (s->st == EDGE_IN_DATA || s->wait != EDGE_WAIT_NONE)
		mx_info("s=%s LOST client=%s during=%s", s->id, s->peer_text,
		    s->st == EDGE_IN_DATA ? "DATA" : "command");
	/* the sender went away: whatever is downstream is aborted without
	 * a final dot, so no half message is ever delivered */
	edge_in_close(s);
}

/* edge_in_pass_reply - the destination's reply to the sender, intact */
static void
edge_in_pass_reply(struct edge_session *s, const struct edge_reply *r)
{
	bufferevent_write(s->bev, r->text.data, r->text.len);
	if (s->batch == 0)
		edge_in_flush(s);
}

/* edge_in_ds_done - the destination answered (or failed) */
void
edge_in_ds_done(struct edge_session *s, const struct edge_reply *r)
{
	enum edge_wait w = s->wait;
	char esc[MX_LOG_ESC_SIZE];

	s->wait = EDGE_WAIT_NONE;
	if (s->is_closing || s->st == EDGE_IN_CLOSING)
		return;
	switch (w) {
	case EDGE_WAIT_RCPT:
		edge_in_pass_reply(s, r);
		if (r->code >= 200 && r->code < 300) {
			if (s->n_rcpt_ok++ == 0)
				snprintf(s->first_rcpt, sizeof(s->first_rcpt),
				    "%s", s->rcpt_cur);
			if (s->rcpt_key[0] != '\0' && !s->rcpt_known_ok)
				edge_rcache_learn(s->rcpt_key,
				    strlen(s->rcpt_key), EDGE_RCACHE_VALID,
				    s->conf->rcpt_cache_ttl_ok);
		} else if (!r->is_local && r->code == 550 && r->text.len > 10 &&
		           memcmp(r->text.data + 4, "5.1.1", 5) == 0 &&
		           s->rcpt_key[0] != '\0') {
			edge_rcache_learn(s->rcpt_key, strlen(s->rcpt_key),
			    EDGE_RCACHE_UNKNOWN,
			    s->conf->rcpt_cache_ttl_unknown);
		}
		if (s->ds == NULL && r->code >= 400) {
			/* the destination is unusable for this transaction:
			 * give the remaining RCPTs the same answer */
			s->route_failed = 1;
			mx_buf_reset(&s->route_err.text);
			(void)mx_buf_append(
			    &s->route_err.text, r->text.data, r->text.len);
			s->route_err.code = r->code;
		}
		if (r->code >= 200 && r->code < 300)
			edge_in_tel_rcpt_cur(s, PROTO_RCPT_OK);
		else if (!r->is_local && r->code == 550 && r->text.len > 10 &&
		         memcmp(r->text.data + 4, "5.1.1", 5) == 0)
			edge_in_tel_rcpt_cur(s, PROTO_RCPT_UNKNOWN);
		else
			edge_in_tel_rcpt_cur(s, PROTO_RCPT_OTHER);
		mx_debug("s=%s RCPT rcpt=%s reply=%d", s->id,
		    mx_log_escape(
		        esc, sizeof(esc), s->rcpt_cur, strlen(s->rcpt_cur)),
		    r->code);
		break;
	case EDGE_WAIT_DATA:
		if (r->code != 354) {
			edge_in_pass_reply(s, r);
			if (r->is_local || s->ds == NULL) {
				/* the destination is gone: so is the
				 * transaction */
				edge_in_tel_end(s, edge_in_tel_verdict(r->code),
				    r->is_local ? "downstream_failed"
				                : "destination_refused");
				edge_in_txn_reset(s);
			}
			break;
		}
		{
			struct edge_data_cfg dc = {
			    .mode = s->conf->bare_mode == EDGE_BARE_NORMALIZE
			                ? EDGE_DATA_NORMALIZE
			                : EDGE_DATA_STRICT,
			    .line_max = s->conf->data_line_limit,
			    .size_max = s->conf->max_size,
			};

			edge_data_init(&s->data, &dc, edge_in_data_out, s);
		}
		edge_filter_data(&s->filter);
		edge_in_received(s);
		edge_in_tag(s);
		s->st = EDGE_IN_DATA;
		s->has_data = 1;
		edge_in_reply(s, "354 End data with <CR><LF>.<CR><LF>");
		edge_in_deadline(s, s->conf->smtp_data_time);
		break;
	case EDGE_WAIT_EOD:
		edge_in_pass_reply(s, r);
		edge_metrics_latency(edge_in_now_us() - s->eod_us);
		if (r->code >= 200 && r->code < 300) {
			edge_metrics_inc(EDGE_C_TXN_ACCEPTED);
			edge_metrics_add(
			    EDGE_C_BYTES_OUT, (int64_t)s->data.wire_bytes);
		} else {
			edge_metrics_inc(r->is_local ? EDGE_C_TXN_FAILED
			                             : EDGE_C_TXN_DS_REFUSED);
		}
		edge_in_txn_log(s,
		    r->code < 300
		        ? "accept"
		        : (r->is_local ? "failed" : "destination_refused"),
		    (const char *)r->text.data, r->text.len);
		if (r->code >= 200 && r->code < 300)
			edge_in_tel_end(s, PROTO_VERDICT_ACCEPT, NULL);
		else
			edge_in_tel_end(s,
			    r->is_local ? PROTO_VERDICT_TEMPFAIL
			                : edge_in_tel_verdict(r->code),
			    r->is_local ? "downstream_failed"
			                : "destination_refused");
		edge_in_txn_reset(s);
		s->st = EDGE_IN_CMD;
		edge_in_deadline(s, s->conf->smtp_command_time);
		break;
	case EDGE_WAIT_RSET:
		edge_in_reply(s, "250 2.0.0 Ok");
		break;
	case EDGE_WAIT_NONE:
		/* an unsolicited failure (the destination dropped while we
		 * waited on the sender): noted; the next command sees it */
		if (s->st == EDGE_IN_DATA)
			s->ds_lost_in_data = 1;
		return;
	}
	edge_in_process(s);
}

/* edge_in_drain - graceful shutdown: close sessions between commands */
void
edge_in_drain(struct edge_worker *w)
{
	struct edge_session *s, *next;

	for (s = w->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->is_closing || s->st == EDGE_IN_CLOSING)
			continue;
		/* idle between transactions: safe to end now */
		if (s->st == EDGE_IN_CMD && s->wait == EDGE_WAIT_NONE &&
		    !s->has_mail) {
			edge_in_reply(s, "421 4.3.2 %s Service shutting down",
			    s->conf->hostname);
			edge_out_quit(s);
			edge_in_close_after_reply(s);
		}
	}
}
