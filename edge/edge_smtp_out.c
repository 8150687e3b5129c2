/*
 * edge_smtp_out.c - SMTP client side of mxedge: the destination session
 *
 * Opens the connection to the destination on the first RCPT, does EHLO
 * (STARTTLS when offered; required when the route says tls=require),
 * replays MAIL FROM and forwards each RCPT, DATA, the streamed body and
 * the final dot. Every reply is read whole (multi-line) and handed to
 * edge_smtp_in.c, which passes it to the sender. Every failure becomes a
 * reply too: the destination's own when it answered, a local 4xx when it
 * did not (refused, timeout, reset, TLS failure, garbage), so the sender
 * never gets a 250 the destination did not give.
 * The connection is kept between transactions of one session; an
 * aborted transaction closes it, which is how a destination is made to
 * discard a partial message (no final dot ever reaches it).
 * Trust: replies come from the destination, a server we route to but do
 * not trust to be well-formed. Limits: EDGE_REPLY_MAX bytes and
 * EDGE_REPLY_LINES lines per reply, reply_time per reply, connect_time
 * for connect plus greeting.
 */
#include "edge/edge_int.h"

#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "lib/mx_err.h"
#include "lib/mx_log.h"

static void edge_out_read(struct bufferevent *bev, void *arg);
static void edge_out_write(struct bufferevent *bev, void *arg);
static void edge_out_event(struct bufferevent *bev, short what, void *arg);

/* edge_out_timeouts - per-read timeout while waiting on a reply */
static void
edge_out_timeouts(struct edge_session *s, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	bufferevent_set_timeouts(s->ds, &tv, &tv);
}

/*
 * edge_out_flush - hand queued bytes to the kernel now. A plain
 * connection writes through (EV_WRITE armed only for a backlog the kernel
 * would not take): a command or a body chunk costs one send and no epoll
 * changes. A TLS filter, and a connection still connecting, write for
 * themselves.
 */
void
edge_out_flush(struct edge_session *s)
{
	struct evbuffer *out;

	if (s->ds == NULL || s->ds_st == EDGE_DS_CONNECT ||
	    bufferevent_get_underlying(s->ds) != NULL)
		return;
	out = bufferevent_get_output(s->ds);
	if (evbuffer_get_length(out) == 0)
		return;
	/* an error (reset) leaves the bytes queued; libevent reports it */
	(void)evbuffer_write(out, bufferevent_getfd(s->ds));
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(s->ds, EV_WRITE);
}

/* edge_out_send - write one command line downstream */
static void edge_out_send(struct edge_session *s, enum edge_ds_state next,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
edge_out_send(
    struct edge_session *s, enum edge_ds_state next, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->ds);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	s->ds_st = next;
	edge_out_timeouts(s, s->conf->reply_time);
	edge_out_flush(s);
}

/* edge_out_drop - free the downstream connection, if any */
static void
edge_out_drop(struct edge_session *s)
{
	if (s->ds != NULL) {
		bufferevent_free(s->ds);
		s->ds = NULL;
	}
	s->ds_st = EDGE_DS_NONE;
	s->ds_skip = 0;
	s->ds_rcpt_sent = 0;
	s->ds_caps = 0;
	s->ds_is_tls = 0;
	s->ds_reply_lines = 0;
}

/* edge_out_fail - the destination failed; tell the waiting command */
static void
edge_out_fail(struct edge_session *s, enum edge_ctr ctr, const char *line)
{
	struct edge_reply *r = &s->ds_reply;
	int in_data = s->ds_st == EDGE_DS_BODY;

	edge_metrics_inc(ctr);
	mx_info("s=%s DOWNSTREAM_FAIL route=%s state=%d reply=\"%.9s\"", s->id,
	    s->route ? s->route->text : "-", (int)s->ds_st, line);
	edge_out_drop(s);
	edge_reply_set(r, 451, 1, line);
	if (in_data && s->wait == EDGE_WAIT_NONE) {
		/* mid-message: the sender is still sending; the end of data
		 * answers for it */
		s->ds_lost_in_data = 1;
		edge_in_resume_reading(s);
		return;
	}
	edge_in_ds_done(s, r);
}

/*
 * edge_out_txn_lost - the connection went away between commands of an
 * open transaction (after MAIL or an accepted RCPT). The destination
 * forgot what it accepted: a new connection would carry the message to
 * the later recipients only, while the sender holds 250s for the earlier
 * ones. So the rest of the transaction fails (RCPT and DATA get 451) and
 * the sender retries all of it.
 */
static void
edge_out_txn_lost(struct edge_session *s)
{
	edge_metrics_inc(EDGE_C_DS_RESET);
	mx_info("s=%s DOWNSTREAM_FAIL route=%s state=%d reply=\"451 4.4.2\"",
	    s->id, s->route ? s->route->text : "-", (int)s->ds_st);
	edge_out_drop(s);
	s->route_failed = 1;
	edge_reply_set(&s->route_err, 451, 1,
	    "451 4.4.2 Error: connection to destination lost");
}

/* edge_out_refused - the destination answered 4xx/5xx before DATA ends */
static void
edge_out_refused(struct edge_session *s, int keep)
{
	edge_metrics_inc(s->ds_reply.code >= 500 ? EDGE_C_DS_REPLY_5XX
	                                         : EDGE_C_DS_REPLY_4XX);
	if (!keep)
		edge_out_drop(s);
	edge_in_ds_done(s, &s->ds_reply);
}

/* edge_out_mail - MAIL FROM with the parameters the destination takes */
static void
edge_out_mail(struct edge_session *s)
{
	char size[32] = "";

	if ((s->ds_caps & EDGE_DS_CAP_SIZE) && s->mail_size > 0)
		snprintf(size, sizeof(size), " SIZE=%llu",
		    (unsigned long long)s->mail_size);
	if (s->ds_caps & EDGE_DS_CAP_PIPELINING) {
		/* RFC 2920: MAIL and the RCPT go in one write; the two
		 * replies come back in order */
		evbuffer_add_printf(bufferevent_get_output(s->ds),
		    "MAIL FROM:%s%s%s\r\n", s->mail, size,
		    (s->mail_8bit && (s->ds_caps & EDGE_DS_CAP_8BITMIME))
		        ? " BODY=8BITMIME"
		        : "");
		s->ds_rcpt_sent = 1;
		edge_out_send(s, EDGE_DS_MAIL, "RCPT TO:%s", s->rcpt_cur);
		return;
	}
	edge_out_send(s, EDGE_DS_MAIL, "MAIL FROM:%s%s%s", s->mail, size,
	    (s->mail_8bit && (s->ds_caps & EDGE_DS_CAP_8BITMIME))
	        ? " BODY=8BITMIME"
	        : "");
}

/* edge_out_ehlo_caps - note the extensions of an EHLO reply */
static void
edge_out_ehlo_caps(struct edge_session *s)
{
	const char *p = (const char *)s->ds_reply.text.data;
	const char *end = p + s->ds_reply.text.len;

	s->ds_caps = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *kw = p + 4;
		size_t kl = len > 4 ? len - 4 : 0;

		while (kl > 0 && (kw[kl - 1] == '\r' || kw[kl - 1] == ' '))
			kl--;
		if (kl >= 10 && strncasecmp(kw, "PIPELINING", 10) == 0)
			s->ds_caps |= EDGE_DS_CAP_PIPELINING;
		else if (kl >= 4 && strncasecmp(kw, "SIZE", 4) == 0)
			s->ds_caps |= EDGE_DS_CAP_SIZE;
		else if (kl >= 8 && strncasecmp(kw, "8BITMIME", 8) == 0)
			s->ds_caps |= EDGE_DS_CAP_8BITMIME;
		else if (kl == 8 && strncasecmp(kw, "STARTTLS", 8) == 0)
			s->ds_caps |= EDGE_DS_CAP_STARTTLS;
		p = nl ? nl + 1 : end;
	}
}

/* edge_out_after_ehlo - STARTTLS if we can, else MAIL */
static void
edge_out_after_ehlo(struct edge_session *s)
{
	if (!s->ds_is_tls && (s->ds_caps & EDGE_DS_CAP_STARTTLS) &&
	    s->conf->tls_client != NULL) {
		edge_out_send(s, EDGE_DS_STARTTLS, "STARTTLS");
		return;
	}
	if (!s->ds_is_tls && s->route->tls_require) {
		edge_metrics_inc(EDGE_C_REJ_NO_TLS_NEEDED);
		edge_out_fail(s, EDGE_C_DS_TLS,
		    "451 4.7.5 Error: destination does not offer the "
		    "required TLS");
		return;
	}
	edge_out_mail(s);
}

/* edge_out_starttls - wrap the connection in TLS after its 220 */
static void
edge_out_starttls(struct edge_session *s)
{
	struct bufferevent *tls;
	SSL *ssl = SSL_new(s->conf->tls_client);

	if (ssl == NULL) {
		edge_out_fail(s, EDGE_C_DS_TLS,
		    "451 4.7.5 Error: TLS to destination failed");
		return;
	}
	tls = bufferevent_openssl_filter_new(bufferevent_get_base(s->ds), s->ds,
	    ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		edge_out_fail(s, EDGE_C_DS_TLS,
		    "451 4.7.5 Error: TLS to destination failed");
		return;
	}
	s->ds = tls;
	s->ds_st = EDGE_DS_HANDSHAKE;
	bufferevent_setcb(
	    tls, edge_out_read, edge_out_write, edge_out_event, s);
	bufferevent_setwatermark(tls, EV_WRITE, EDGE_DS_LOW, 0);
	edge_out_timeouts(s, s->conf->connect_time);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
}

/* edge_out_reply - one complete reply in s->ds_reply: advance */
static void
edge_out_reply(struct edge_session *s)
{
	int code = s->ds_reply.code;
	int ok = code >= 200 && code < 300;

	switch (s->ds_st) {
	case EDGE_DS_GREET:
		if (code != 220) {
			edge_out_refused(s, 0);
			return;
		}
		edge_out_send(s, EDGE_DS_EHLO, "EHLO %s", s->conf->hostname);
		return;
	case EDGE_DS_EHLO:
		if (!ok) {
			edge_out_send(
			    s, EDGE_DS_HELO, "HELO %s", s->conf->hostname);
			return;
		}
		edge_out_ehlo_caps(s);
		edge_out_after_ehlo(s);
		return;
	case EDGE_DS_HELO:
		if (!ok) {
			edge_out_refused(s, 0);
			return;
		}
		s->ds_caps = 0;
		edge_out_after_ehlo(s);
		return;
	case EDGE_DS_STARTTLS:
		if (code != 220) {
			if (s->route->tls_require) {
				edge_out_fail(s, EDGE_C_DS_TLS,
				    "451 4.7.5 Error: destination refused "
				    "STARTTLS");
				return;
			}
			edge_out_mail(s); /* opportunistic: go on in clear */
			return;
		}
		edge_out_starttls(s);
		return;
	case EDGE_DS_MAIL:
		if (!ok) {
			/* the sender's MAIL was ours to answer: its RCPT gets
			 * the destination's refusal of MAIL */
			s->ds_st = EDGE_DS_READY;
			if (s->ds_rcpt_sent) {
				/* the pipelined RCPT's reply is still due */
				s->ds_rcpt_sent = 0;
				s->ds_skip++;
			}
			edge_out_refused(s, 1);
			return;
		}
		s->ds_st = EDGE_DS_INTXN;
		if (s->ds_rcpt_sent) {
			s->ds_rcpt_sent = 0;
			s->ds_st = EDGE_DS_RCPT;
			return;
		}
		edge_out_send(s, EDGE_DS_RCPT, "RCPT TO:%s", s->rcpt_cur);
		return;
	case EDGE_DS_RCPT:
		s->ds_st = EDGE_DS_INTXN;
		if (!ok)
			edge_metrics_inc(code >= 500 ? EDGE_C_DS_REPLY_5XX
			                             : EDGE_C_DS_REPLY_4XX);
		edge_in_ds_done(s, &s->ds_reply);
		return;
	case EDGE_DS_DATA:
		if (code != 354) {
			s->ds_st = EDGE_DS_INTXN;
			edge_out_refused(s, 1);
			return;
		}
		s->ds_st = EDGE_DS_BODY;
		/* the body may take as long as the sender's DATA phase */
		edge_out_timeouts(s, s->conf->smtp_data_time);
		edge_in_ds_done(s, &s->ds_reply);
		return;
	case EDGE_DS_BODY:
		/* a reply in the middle of the body: the destination gave
		 * up on the message (e.g. 552); it answers for the sender */
		s->ds_lost_in_data = 1;
		edge_metrics_inc(
		    code >= 500 ? EDGE_C_DS_REPLY_5XX : EDGE_C_DS_REPLY_4XX);
		if (s->ds != NULL) {
			bufferevent_free(s->ds);
			s->ds = NULL;
		}
		s->ds_st = EDGE_DS_NONE;
		edge_in_resume_reading(s);
		return;
	case EDGE_DS_DOT:
		s->ds_st = EDGE_DS_READY;
		if (!ok)
			edge_metrics_inc(code >= 500 ? EDGE_C_DS_REPLY_5XX
			                             : EDGE_C_DS_REPLY_4XX);
		edge_in_ds_done(s, &s->ds_reply);
		return;
	case EDGE_DS_RSET:
		if (!ok) {
			edge_out_drop(s);
		} else {
			s->ds_st = EDGE_DS_READY;
		}
		edge_in_ds_done(s, &s->ds_reply);
		return;
	default:
		/* a reply nobody asked for (READY, INTXN): the destination
		 * is confused or closing (421); drop it */
		if (s->ds_st == EDGE_DS_INTXN && s->wait == EDGE_WAIT_NONE) {
			edge_out_txn_lost(s);
			return;
		}
		edge_out_drop(s);
		if (s->wait != EDGE_WAIT_NONE)
			edge_out_fail(s, EDGE_C_DS_PROTO,
			    "451 4.4.0 Error: destination protocol error");
		return;
	}
}

/* edge_out_line - one reply line; 1 when the reply is complete */
static int
edge_out_line(struct edge_session *s, const char *line, size_t len)
{
	struct edge_reply *r = &s->ds_reply;
	int code, has_enh;
	char sep;

	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9')
		return -1;
	sep = len > 3 ? line[3] : ' ';
	if (sep != ' ' && sep != '-')
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (s->ds_reply_lines == 0) {
		r->code = code;
		r->is_local = 0;
		mx_buf_reset(&r->text);
	} else if (code != r->code) {
		return -1;
	}
	if (++s->ds_reply_lines > EDGE_REPLY_LINES)
		return -1;
	/* pass the text as sent, adding a default enhanced status code
	 * when the destination has none: we announced ENHANCEDSTATUSCODES.
	 * Not to an EHLO reply: it is never passed on, and its lines are
	 * the keywords edge_out_ehlo_caps reads ("250-2.0.0 SIZE" hid
	 * every extension, STARTTLS included) */
	has_enh = s->ds_st == EDGE_DS_EHLO ||
	          (len >= 9 && line[4] == line[0] && line[5] == '.');
	if (mx_buf_append(&r->text, line, len > 4 ? 4 : len) != 0 ||
	    (len <= 3 && mx_buf_append(&r->text, " ", 1) != 0) ||
	    (!has_enh && mx_buf_printf(&r->text, "%c.0.0%s", line[0],
	                     len > 4 ? " " : "") != 0) ||
	    (len > 4 && mx_buf_append(&r->text, line + 4, len - 4) != 0) ||
	    mx_buf_append(&r->text, "\r\n", 2) != 0)
		return -1;
	if (sep == '-')
		return 0;
	s->ds_reply_lines = 0;
	return 1;
}

/* edge_out_read - reply bytes from the destination */
static void
edge_out_read(struct bufferevent *bev, void *arg)
{
	struct edge_session *s = arg;

	/* a reply handled below can end this connection (and even open a
	 * new one): check before every line */
	while (s->ds == bev) {
		struct evbuffer *in = bufferevent_get_input(bev);
		struct evbuffer_ptr eol;
		size_t len;
		char *line;
		int rc;

		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > 1024)
				edge_out_fail(s, EDGE_C_DS_PROTO,
				    "451 4.4.0 Error: destination protocol "
				    "error");
			return;
		}
		len = (size_t)eol.pos;
		if (len > 1024) {
			edge_out_fail(s, EDGE_C_DS_PROTO,
			    "451 4.4.0 Error: destination protocol error");
			return;
		}
		line = (char *)evbuffer_pullup(in, (ev_ssize_t)len + 1);
		rc = edge_out_line(
		    s, line, len > 0 && line[len - 1] == '\r' ? len - 1 : len);
		evbuffer_drain(in, len + 1);
		if (rc < 0) {
			edge_out_fail(s, EDGE_C_DS_PROTO,
			    "451 4.4.0 Error: destination protocol error");
			return;
		}
		if (rc == 1 && s->ds_skip > 0)
			s->ds_skip--; /* a pipelined reply nobody waits for */
		else if (rc == 1)
			edge_out_reply(s);
	}
}

/* edge_out_write - downstream output drained below the low mark */
static void
edge_out_write(struct bufferevent *bev, void *arg)
{
	struct edge_session *s = arg;

	/* a backlog drained: back to writing through */
	if (bufferevent_get_underlying(bev) == NULL &&
	    s->ds_st != EDGE_DS_CONNECT &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
	if (s->paused)
		edge_in_resume_reading(s);
}

/* edge_out_event - connected, handshake done, EOF, error or timeout */
static void
edge_out_event(struct bufferevent *bev, short what, void *arg)
{
	struct edge_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->ds_st == EDGE_DS_CONNECT) {
			int one = 1;

			/* small replies and the final dot must not wait for
			 * Nagle + delayed ACK (40 ms a message) */
			setsockopt(bufferevent_getfd(s->ds), IPPROTO_TCP,
			    TCP_NODELAY, &one, sizeof(one));
			s->ds_st = EDGE_DS_GREET;
			/* connected: from now on writes go through */
			bufferevent_disable(s->ds, EV_WRITE);
			return;
		}
		if (s->ds_st == EDGE_DS_HANDSHAKE) {
			s->ds_is_tls = 1;
			edge_metrics_inc(EDGE_C_TLS_OUTBOUND);
			edge_out_send(
			    s, EDGE_DS_EHLO, "EHLO %s", s->conf->hostname);
		}
		return;
	}
	if (s->ds_st == EDGE_DS_HANDSHAKE ||
	    ((what & BEV_EVENT_ERROR) && s->ds_is_tls &&
	        bufferevent_get_openssl_error(s->ds) != 0)) {
		while (ERR_get_error() != 0)
			;
		edge_out_fail(s, EDGE_C_DS_TLS,
		    "451 4.7.5 Error: TLS to destination failed");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		edge_out_fail(s, EDGE_C_DS_TIMEOUT,
		    "451 4.4.2 Error: timeout talking to destination");
		return;
	}
	if (s->ds_st == EDGE_DS_CONNECT) {
		edge_out_fail(s, EDGE_C_DS_CONNECT,
		    "451 4.4.1 Error: destination not reachable");
		return;
	}
	if (s->wait == EDGE_WAIT_NONE && s->ds_st == EDGE_DS_INTXN) {
		edge_out_txn_lost(s);
		return;
	}
	if (s->wait == EDGE_WAIT_NONE && s->ds_st != EDGE_DS_BODY) {
		/* idle connection closed by the destination: reconnect on
		 * the next RCPT */
		edge_out_drop(s);
		return;
	}
	edge_out_fail(s, EDGE_C_DS_RESET,
	    "451 4.4.2 Error: connection to destination lost");
}

/* edge_out_connect - open the destination connection */
static void
edge_out_connect(struct edge_session *s)
{
	struct event_base *base = s->w->base;

	s->ds = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->ds == NULL) {
		edge_out_fail(
		    s, EDGE_C_DS_CONNECT, "451 4.3.0 Error: internal fault");
		return;
	}
	bufferevent_setcb(
	    s->ds, edge_out_read, edge_out_write, edge_out_event, s);
	bufferevent_setwatermark(s->ds, EV_WRITE, EDGE_DS_LOW, 0);
	bufferevent_set_max_single_read(s->ds, EDGE_IN_HIGH);
	s->ds_st = EDGE_DS_CONNECT;
	edge_out_timeouts(s, s->conf->connect_time);
	bufferevent_enable(s->ds, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(s->ds,
	        (struct sockaddr *)&s->route->addr,
	        (int)s->route->addrlen) != 0) {
		edge_out_fail(s, EDGE_C_DS_CONNECT,
		    "451 4.4.1 Error: destination not reachable");
		return;
	}
}

/* edge_out_rcpt - forward s->rcpt_cur */
void
edge_out_rcpt(struct edge_session *s)
{
	switch (s->ds_st) {
	case EDGE_DS_NONE:
		if (s->n_rcpt_ok > 0) {
			/* never reconnect inside a transaction: the earlier
			 * recipients would be lost (edge_out_txn_lost) */
			edge_out_fail(s, EDGE_C_DS_RESET,
			    "451 4.4.2 Error: connection to destination lost");
			return;
		}
		edge_out_connect(s);
		return;
	case EDGE_DS_READY:
		edge_out_mail(s);
		return;
	case EDGE_DS_INTXN:
		edge_out_send(s, EDGE_DS_RCPT, "RCPT TO:%s", s->rcpt_cur);
		return;
	default:
		edge_out_fail(
		    s, EDGE_C_DS_PROTO, "451 4.3.0 Error: internal fault");
		return;
	}
}

/* edge_out_data - send DATA */
void
edge_out_data(struct edge_session *s)
{
	if (s->ds == NULL || s->ds_st != EDGE_DS_INTXN) {
		edge_out_fail(s, EDGE_C_DS_RESET,
		    "451 4.4.2 Error: connection to destination lost");
		return;
	}
	edge_out_send(s, EDGE_DS_DATA, "DATA");
}

/* edge_out_body - message bytes downstream (dropped if it is gone) */
void
edge_out_body(struct edge_session *s, const char *p, size_t len)
{
	struct evbuffer *out;
	size_t before;

	if (s->ds == NULL || s->ds_st != EDGE_DS_BODY)
		return;
	out = bufferevent_get_output(s->ds);
	before = evbuffer_get_length(out);
	evbuffer_add(out, p, len);
	/* flushed by the session once per chunk it read (edge_out_flush),
	 * so the end of the body leaves with the final dot; a large backlog
	 * is pushed at once */
	if (before + len > EDGE_DS_LOW)
		edge_out_flush(s);
}

/* edge_out_dot - the final dot, after the filters said accept */
void
edge_out_dot(struct edge_session *s)
{
	if (s->ds == NULL || s->ds_st != EDGE_DS_BODY) {
		edge_out_fail(s, EDGE_C_DS_RESET,
		    "451 4.4.2 Error: connection to destination lost");
		return;
	}
	edge_out_send(s, EDGE_DS_DOT, ".");
}

/* edge_out_rset - end the downstream transaction */
void
edge_out_rset(struct edge_session *s)
{
	if (s->ds == NULL) {
		struct edge_reply *r = &s->ds_reply;

		edge_reply_set(r, 250, 1, "250 2.0.0 Ok");
		edge_in_ds_done(s, r);
		return;
	}
	edge_out_send(s, EDGE_DS_RSET, "RSET");
}

/* edge_out_abort - drop the connection; no final dot ever goes out */
void
edge_out_abort(struct edge_session *s)
{
	edge_out_drop(s);
}

/* edge_out_quit - polite close */
void
edge_out_quit(struct edge_session *s)
{
	if (s->ds != NULL && !s->ds_is_tls &&
	    (s->ds_st == EDGE_DS_READY || s->ds_st == EDGE_DS_INTXN)) {
		struct evbuffer *out = bufferevent_get_output(s->ds);

		/* the connection is freed below, before the loop would
		 * write: write now, best effort (non-blocking socket). A
		 * socket bufferevent freezes the front of its output (only
		 * it drains it); it is ours again as it is being freed. Over
		 * TLS the records would need the loop: no QUIT there */
		evbuffer_add(out, "QUIT\r\n", 6);
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, bufferevent_getfd(s->ds));
	}
	edge_out_drop(s);
}

/* edge_out_pending - bytes waiting to go downstream */
size_t
edge_out_pending(const struct edge_session *s)
{
	if (s->ds == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(s->ds));
}
