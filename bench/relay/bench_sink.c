/*
 * bench_sink.c - bench_sink: a fast SMTP sink for bench/relay
 *
 * The destination of the relay benchmark. It speaks just enough ESMTP
 * (EHLO with PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES; HELO, MAIL,
 * RCPT, DATA, RSET, NOOP, VRFY, QUIT), answers 250 at the end of each
 * message, counts messages and bytes and throws the bodies away. It must
 * never be the bottleneck: otherwise sending straight to it and sending
 * through mxedge would look alike and the ratio would mean nothing. So it
 * is C on libevent, one loop per thread (--threads, each thread with its
 * own SO_REUSEPORT listener), with TCP_NODELAY on every connection; the
 * end of data is found by a small state machine over evbuffer_peek()
 * chunks, so DATA bytes are never copied out of libevent's buffers.
 * Prints "LISTEN addr:port" once listening (port 0 picks a free port), a
 * STATS line on SIGUSR1 and at exit (SIGTERM, SIGINT).
 * Trust: the peer is the local benchmark client or mxedge, but input is
 * still bounded: command lines up to BENCH_SINK_LINE_MAX (longer: 500
 * 5.5.2 and close), BENCH_SINK_RCPT_MAX recipients per transaction (452),
 * messages over the advertised SIZE get 552, BENCH_SINK_OUT_MAX bytes of
 * unread replies stop reading, BENCH_SINK_IDLE_S idle seconds close the
 * connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_parse.h"

#define BENCH_SINK_LINE_MAX 2048 /* longest command line, CRLF included */
#define BENCH_SINK_RCPT_MAX 1000 /* recipients per transaction */
#define BENCH_SINK_SIZE_MAX (100ULL << 20) /* advertised SIZE, bytes */
#define BENCH_SINK_OUT_MAX (64 * 1024)     /* unread replies: stop reading */
#define BENCH_SINK_READ_HWM (256 * 1024)   /* input high-watermark, bytes */
#define BENCH_SINK_READ_CHUNK (128 * 1024) /* largest single read, bytes */
#define BENCH_SINK_IDLE_S 300              /* idle seconds before closing */
#define BENCH_SINK_THREADS_MAX 64          /* --threads limit */
#define BENCH_SINK_HOST "sink.bench.test"  /* name in greeting and EHLO */

/* DATA end-of-data scanner: only CRLF "." CRLF ends a message */
enum bench_sink_dstate {
	BENCH_SINK_D_MID,   /* inside a line */
	BENCH_SINK_D_CR,    /* saw CR inside a line */
	BENCH_SINK_D_BOL,   /* at the start of a line */
	BENCH_SINK_D_DOT,   /* start of line, then "." */
	BENCH_SINK_D_DOTCR, /* start of line, then ".", CR */
};

enum bench_sink_state {
	BENCH_SINK_ST_CMD,   /* reading command lines */
	BENCH_SINK_ST_DATA,  /* inside DATA, scanning for the end */
	BENCH_SINK_ST_CLOSE, /* flushing the last reply, then closing */
};

struct bench_sink_stats {
	atomic_ullong msgs;     /* messages accepted with 250 */
	atomic_ullong bytes;    /* DATA bytes of those, final dot excluded */
	atomic_ullong sessions; /* connections accepted */
	atomic_ullong rejects;  /* commands or messages answered 4xx/5xx */
};

struct bench_sink_thread {
	struct event_base *base;         /* this thread's loop */
	struct evconnlistener *listener; /* this thread's SO_REUSEPORT socket */
	pthread_t tid;                   /* thread id (not set for thread 0) */
};

struct bench_sink_conn {
	struct bufferevent *bev;        /* the connection; owned */
	enum bench_sink_state state;    /* command or data phase */
	enum bench_sink_dstate dstate;  /* end-of-data scanner state */
	int has_mail;                   /* MAIL accepted in this transaction */
	unsigned n_rcpt;                /* recipients accepted */
	uint64_t msg_bytes;             /* DATA bytes of the current message */
	char line[BENCH_SINK_LINE_MAX]; /* current command line, bounded */
};

static struct bench_sink_stats bench_sink_stats;
static struct bench_sink_thread bench_sink_threads[BENCH_SINK_THREADS_MAX];
static unsigned bench_sink_n_threads = 1;

static void bench_sink_conn_read(struct bufferevent *bev, void *arg);

/* bench_sink_usage - print the command line and exit(2) */
static void
bench_sink_usage(void)
{
	fprintf(stderr,
	    "usage: bench_sink [--listen ADDR:PORT] [--threads N]\n"
	    "  --listen ADDR:PORT  IPv4 address to listen on; port 0 picks "
	    "a free one [127.0.0.1:0]\n"
	    "  --threads N         event loops, each with its own listener "
	    "[1]\n"
	    "Prints LISTEN ADDR:PORT when ready; SIGUSR1 prints STATS;\n"
	    "SIGTERM or SIGINT prints STATS and exits.\n");
	exit(2);
}

/* bench_sink_stats_print - one STATS line on stdout */
static void
bench_sink_stats_print(void)
{
	printf("STATS msgs=%llu bytes=%llu sessions=%llu rejects=%llu\n",
	    (unsigned long long)atomic_load(&bench_sink_stats.msgs),
	    (unsigned long long)atomic_load(&bench_sink_stats.bytes),
	    (unsigned long long)atomic_load(&bench_sink_stats.sessions),
	    (unsigned long long)atomic_load(&bench_sink_stats.rejects));
	fflush(stdout);
}

/*
 * bench_sink_conn_free - release a connection and its socket
 * Called from the connection's own callbacks: libevent holds a reference
 * on the bufferevent while a callback runs and frees it afterwards; the
 * callers return at once without touching c again.
 */
static void
bench_sink_conn_free(struct bench_sink_conn *c)
{
	if (c == NULL)
		return;
	bufferevent_free(c->bev);
	mx_free(c);
}

/* bench_sink_reply - queue one reply line (CRLF added) */
static void
bench_sink_reply(struct bench_sink_conn *c, const char *text)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add(out, text, strlen(text));
	evbuffer_add(out, "\r\n", 2);
	if (text[0] == '4' || text[0] == '5')
		atomic_fetch_add_explicit(
		    &bench_sink_stats.rejects, 1, memory_order_relaxed);
}

/* bench_sink_txn_reset - forget the current transaction */
static void
bench_sink_txn_reset(struct bench_sink_conn *c)
{
	c->has_mail = 0;
	c->n_rcpt = 0;
	c->msg_bytes = 0;
}

/* bench_sink_is_cmd - line starts with the four-letter verb (any case) */
static int
bench_sink_is_cmd(const char *line, size_t len, const char *verb)
{
	if (len < 4 || strncasecmp(line, verb, 4) != 0)
		return 0;
	return len == 4 || line[4] == ' ';
}

/* bench_sink_command - answer one command line (CRLF stripped) */
static void
bench_sink_command(struct bench_sink_conn *c, const char *line, size_t len)
{
	if (bench_sink_is_cmd(line, len, "EHLO")) {
		bench_sink_txn_reset(c);
		bench_sink_reply(c, "250-" BENCH_SINK_HOST "\r\n"
		                    "250-PIPELINING\r\n"
		                    "250-8BITMIME\r\n"
		                    "250-ENHANCEDSTATUSCODES\r\n"
		                    "250 SIZE 104857600");
	} else if (bench_sink_is_cmd(line, len, "HELO")) {
		bench_sink_txn_reset(c);
		bench_sink_reply(c, "250 " BENCH_SINK_HOST);
	} else if (bench_sink_is_cmd(line, len, "MAIL")) {
		if (c->has_mail) {
			bench_sink_reply(c, "503 5.5.1 MAIL already given");
			return;
		}
		c->has_mail = 1;
		bench_sink_reply(c, "250 2.1.0 Ok");
	} else if (bench_sink_is_cmd(line, len, "RCPT")) {
		if (!c->has_mail)
			bench_sink_reply(c, "503 5.5.1 MAIL first");
		else if (c->n_rcpt >= BENCH_SINK_RCPT_MAX)
			bench_sink_reply(c, "452 4.5.3 Too many recipients");
		else {
			c->n_rcpt++;
			bench_sink_reply(c, "250 2.1.5 Ok");
		}
	} else if (bench_sink_is_cmd(line, len, "DATA")) {
		if (c->n_rcpt == 0) {
			bench_sink_reply(c, "503 5.5.1 RCPT first");
			return;
		}
		bench_sink_reply(c, "354 End data with <CR><LF>.<CR><LF>");
		c->state = BENCH_SINK_ST_DATA;
		/* the CRLF ending DATA counts as the first line break */
		c->dstate = BENCH_SINK_D_BOL;
		c->msg_bytes = 0;
	} else if (bench_sink_is_cmd(line, len, "RSET")) {
		bench_sink_txn_reset(c);
		bench_sink_reply(c, "250 2.0.0 Ok");
	} else if (bench_sink_is_cmd(line, len, "NOOP")) {
		bench_sink_reply(c, "250 2.0.0 Ok");
	} else if (bench_sink_is_cmd(line, len, "VRFY")) {
		bench_sink_reply(c, "252 2.5.2 Cannot VRFY");
	} else if (bench_sink_is_cmd(line, len, "QUIT")) {
		bench_sink_reply(c, "221 2.0.0 Bye");
		c->state = BENCH_SINK_ST_CLOSE;
	} else {
		bench_sink_reply(c, "500 5.5.1 Command unrecognized");
	}
}

/* bench_sink_eod - the end of data was seen: count the message and answer */
static void
bench_sink_eod(struct bench_sink_conn *c)
{
	if (c->msg_bytes > BENCH_SINK_SIZE_MAX) {
		bench_sink_reply(c, "552 5.3.4 Message too big");
	} else {
		atomic_fetch_add_explicit(
		    &bench_sink_stats.msgs, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&bench_sink_stats.bytes, c->msg_bytes,
		    memory_order_relaxed);
		bench_sink_reply(c, "250 2.0.0 Ok: queued");
	}
	bench_sink_txn_reset(c);
	c->state = BENCH_SINK_ST_CMD;
}

/*
 * bench_sink_data_scan - run the end-of-data scanner over p[0..len)
 * Sets *used to the bytes consumed: len, or fewer when the message ended
 * inside p (the rest are commands). Returns 1 when the message ended.
 * Most bytes are skipped with memchr for CR, so the scan costs about as
 * much as reading the bytes once.
 */
static int
bench_sink_data_scan(
    struct bench_sink_conn *c, const char *p, size_t len, size_t *used)
{
	size_t i = 0;
	const char *cr;

	while (i < len) {
		switch (c->dstate) {
		case BENCH_SINK_D_MID:
			cr = memchr(p + i, '\r', len - i);
			if (cr == NULL) {
				i = len;
				continue;
			}
			i = (size_t)(cr - p) + 1;
			c->dstate = BENCH_SINK_D_CR;
			continue;
		case BENCH_SINK_D_CR:
			if (p[i] == '\n')
				c->dstate = BENCH_SINK_D_BOL;
			else if (p[i] != '\r')
				c->dstate = BENCH_SINK_D_MID;
			break;
		case BENCH_SINK_D_BOL:
			if (p[i] == '.')
				c->dstate = BENCH_SINK_D_DOT;
			else if (p[i] == '\r')
				c->dstate = BENCH_SINK_D_CR;
			else
				c->dstate = BENCH_SINK_D_MID;
			break;
		case BENCH_SINK_D_DOT:
			c->dstate = p[i] == '\r' ? BENCH_SINK_D_DOTCR
			                         : BENCH_SINK_D_MID;
			break;
		case BENCH_SINK_D_DOTCR:
			if (p[i] == '\n') {
				*used = i + 1;
				/*
				 * the final ".\r\n" (counted, maybe in
				 * earlier chunks) is not message data
				 */
				c->msg_bytes += *used;
				c->msg_bytes -= 3;
				return 1;
			}
			c->dstate =
			    p[i] == '\r' ? BENCH_SINK_D_CR : BENCH_SINK_D_MID;
			break;
		}
		i++;
	}
	c->msg_bytes += len;
	*used = len;
	return 0;
}

/*
 * bench_sink_data - consume DATA bytes from the input buffer, without copying
 * Returns 1 when the message ended (commands may follow), 0 when every
 * buffered byte was consumed and the message goes on.
 */
static int
bench_sink_data(struct bench_sink_conn *c, struct evbuffer *in)
{
	struct evbuffer_iovec vec[16];
	size_t used, total;
	int i, n, is_end = 0;

	while (evbuffer_get_length(in) > 0) {
		n = evbuffer_peek(in, -1, NULL, vec, 16);
		if (n > 16)
			n = 16;
		total = 0;
		for (i = 0; i < n && !is_end; i++) {
			is_end = bench_sink_data_scan(
			    c, vec[i].iov_base, vec[i].iov_len, &used);
			total += used;
		}
		/* drain only after the scan: vec points into the buffer */
		evbuffer_drain(in, total);
		if (is_end) {
			bench_sink_eod(c);
			return 1;
		}
	}
	return 0;
}

/*
 * bench_sink_commands - answer every complete command line in the buffer
 * Returns 1 to go on, 0 when the connection must close (line too long).
 */
static int
bench_sink_commands(struct bench_sink_conn *c, struct evbuffer *in)
{
	struct evbuffer_ptr eol;
	size_t eol_len, n;

	while (c->state == BENCH_SINK_ST_CMD) {
		eol =
		    evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
		if (eol.pos < 0) {
			/* no line end yet: refuse once the limit is passed */
			if (evbuffer_get_length(in) >= BENCH_SINK_LINE_MAX) {
				bench_sink_reply(c, "500 5.5.2 Line too long");
				c->state = BENCH_SINK_ST_CLOSE;
				return 0;
			}
			return 1;
		}
		n = (size_t)eol.pos;
		if (n + eol_len > BENCH_SINK_LINE_MAX) {
			bench_sink_reply(c, "500 5.5.2 Line too long");
			c->state = BENCH_SINK_ST_CLOSE;
			return 0;
		}
		evbuffer_remove(in, c->line, n + eol_len);
		bench_sink_command(c, c->line, n);
		if (c->state == BENCH_SINK_ST_DATA && !bench_sink_data(c, in))
			return 1;
	}
	return c->state != BENCH_SINK_ST_CLOSE;
}

/* bench_sink_conn_read - new bytes: scan DATA, answer commands */
static void
bench_sink_conn_read(struct bufferevent *bev, void *arg)
{
	struct bench_sink_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->state == BENCH_SINK_ST_DATA && !bench_sink_data(c, in))
		goto out;
	if (c->state == BENCH_SINK_ST_CMD)
		bench_sink_commands(c, in);
out:
	if (c->state == BENCH_SINK_ST_CLOSE) {
		/* read no more; close once the last reply is written */
		bufferevent_disable(bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			bench_sink_conn_free(c);
		return;
	}
	/* a peer that pipelines without reading replies is paused */
	if (evbuffer_get_length(bufferevent_get_output(bev)) >
	    BENCH_SINK_OUT_MAX)
		bufferevent_disable(bev, EV_READ);
}

/* bench_sink_conn_write - output drained: resume reading, or close after QUIT
 */
static void
bench_sink_conn_write(struct bufferevent *bev, void *arg)
{
	struct bench_sink_conn *c = arg;

	if (c->state == BENCH_SINK_ST_CLOSE) {
		bench_sink_conn_free(c);
		return;
	}
	if (!(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		/* bytes that arrived while paused are still buffered */
		bench_sink_conn_read(bev, c);
	}
}

/* bench_sink_conn_event - EOF, error or idle timeout: drop the connection */
static void
bench_sink_conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	bench_sink_conn_free(arg);
}

/* bench_sink_accept - a new connection on this thread's listener */
static void
bench_sink_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct event_base *base = evconnlistener_get_base(l);
	struct timeval idle = {BENCH_SINK_IDLE_S, 0};
	struct bench_sink_conn *c;
	int one = 1;

	(void)sa;
	(void)salen;
	(void)arg;
	/* without NODELAY a small reply can wait ~40 ms on a delayed ACK */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
		evutil_closesocket(fd);
		return;
	}
	c = mx_calloc(1, sizeof(*c));
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		mx_free(c);
		return;
	}
	atomic_fetch_add_explicit(
	    &bench_sink_stats.sessions, 1, memory_order_relaxed);
	c->state = BENCH_SINK_ST_CMD;
	bufferevent_setcb(c->bev, bench_sink_conn_read, bench_sink_conn_write,
	    bench_sink_conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, BENCH_SINK_READ_HWM);
	bufferevent_set_max_single_read(c->bev, BENCH_SINK_READ_CHUNK);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	bench_sink_reply(c, "220 " BENCH_SINK_HOST " ESMTP bench_sink");
}

/* bench_sink_signal - SIGUSR1: print STATS; SIGTERM/SIGINT: stop every loop */
static void
bench_sink_signal(evutil_socket_t sig, short what, void *arg)
{
	unsigned i;

	(void)what;
	(void)arg;
	if (sig == SIGUSR1) {
		bench_sink_stats_print();
		return;
	}
	for (i = 0; i < bench_sink_n_threads; i++)
		event_base_loopbreak(bench_sink_threads[i].base);
}

/* bench_sink_thread_main - run one extra event loop */
static void *
bench_sink_thread_main(void *arg)
{
	struct bench_sink_thread *t = arg;

	event_base_dispatch(t->base);
	return NULL;
}

/* bench_sink_parse_addr - "A.B.C.D:PORT" into sin; 0 or MX_EINVAL */
static int
bench_sink_parse_addr(const char *s, struct sockaddr_in *sin)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN];
	uint64_t port;
	size_t hl;

	if (colon == NULL)
		return MX_EINVAL;
	hl = (size_t)(colon - s);
	if (hl == 0 || hl >= sizeof(host))
		return MX_EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (mx_parse_u64(colon + 1, strlen(colon + 1), 0, 65535, &port) != 0)
		return MX_EINVAL;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return MX_EINVAL;
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct event *ev_sig[3] = {NULL, NULL, NULL};
	const int sigs[3] = {SIGTERM, SIGINT, SIGUSR1};
	const char *listen_at = "127.0.0.1:0";
	char host[INET_ADDRSTRLEN];
	uint64_t v;
	unsigned i;
	int a, rc = 1;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--listen") == 0 && a + 1 < argc)
			listen_at = argv[++a];
		else if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) {
			a++;
			if (mx_parse_u64(argv[a], strlen(argv[a]), 1,
			        BENCH_SINK_THREADS_MAX, &v) != 0)
				bench_sink_usage();
			bench_sink_n_threads = (unsigned)v;
		} else
			bench_sink_usage();
	}
	if (bench_sink_parse_addr(listen_at, &sin) != 0) {
		fprintf(stderr, "bench_sink: bad --listen %s\n", listen_at);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "bench_sink: libevent without threads\n");
		return 1;
	}
	for (i = 0; i < bench_sink_n_threads; i++) {
		bench_sink_threads[i].base = event_base_new();
		if (bench_sink_threads[i].base == NULL) {
			fprintf(stderr, "bench_sink: event_base_new failed\n");
			goto leave;
		}
		/* port 0: the first socket picks the port, the rest share it */
		bench_sink_threads[i].listener = evconnlistener_new_bind(
		    bench_sink_threads[i].base, bench_sink_accept, NULL,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
		        LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT,
		    1024, (struct sockaddr *)&sin, sizeof(sin));
		if (bench_sink_threads[i].listener == NULL) {
			fprintf(stderr, "bench_sink: cannot listen on %s: %s\n",
			    listen_at, strerror(errno));
			goto leave;
		}
		if (i == 0 && getsockname(evconnlistener_get_fd(
		                              bench_sink_threads[0].listener),
		                  (struct sockaddr *)&sin, &slen) != 0) {
			fprintf(stderr, "bench_sink: getsockname: %s\n",
			    strerror(errno));
			goto leave;
		}
	}
	for (i = 0; i < 3; i++) {
		ev_sig[i] = evsignal_new(bench_sink_threads[0].base, sigs[i],
		    bench_sink_signal, NULL);
		if (ev_sig[i] == NULL || evsignal_add(ev_sig[i], NULL) != 0) {
			fprintf(stderr, "bench_sink: cannot catch signals\n");
			goto leave;
		}
	}
	inet_ntop(AF_INET, &sin.sin_addr, host, sizeof(host));
	printf("LISTEN %s:%u threads=%u\n", host, ntohs(sin.sin_port),
	    bench_sink_n_threads);
	fflush(stdout);
	for (i = 1; i < bench_sink_n_threads; i++)
		if (pthread_create(&bench_sink_threads[i].tid, NULL,
		        bench_sink_thread_main, &bench_sink_threads[i]) != 0) {
			fprintf(stderr, "bench_sink: pthread_create failed\n");
			bench_sink_n_threads = i;
			for (i = 1; i < bench_sink_n_threads; i++)
				event_base_loopbreak(
				    bench_sink_threads[i].base);
			for (i = 1; i < bench_sink_n_threads; i++)
				pthread_join(bench_sink_threads[i].tid, NULL);
			goto leave;
		}
	event_base_dispatch(bench_sink_threads[0].base);
	for (i = 1; i < bench_sink_n_threads; i++)
		pthread_join(bench_sink_threads[i].tid, NULL);
	bench_sink_stats_print();
	rc = 0;
leave:
	/*
	 * XXX: connections still open at exit are left to the kernel; the
	 * sink is a benchmark tool and exits right after this.
	 */
	for (i = 0; i < 3; i++)
		if (ev_sig[i] != NULL)
			event_free(ev_sig[i]);
	for (i = BENCH_SINK_THREADS_MAX; i-- > 0;) {
		if (bench_sink_threads[i].listener != NULL)
			evconnlistener_free(bench_sink_threads[i].listener);
		if (bench_sink_threads[i].base != NULL)
			event_base_free(bench_sink_threads[i].base);
	}
	return rc;
}
