/*
 * bench_load.c - bench_load: SMTP load generator for bench/relay
 *
 * Sends --msgs M messages of --size S bytes over --conc C concurrent
 * sessions to one SMTP server (the sink, or mxedge in front of it) and
 * prints the rate, the per-message latency (median, p99, max) and every
 * error. Each session is one thread with a blocking socket: connect, read
 * the greeting, EHLO once, then up to --per-session K messages, each as
 * MAIL, RCPT, DATA (one pipelined write when the server offers PIPELINING,
 * else one command at a time), the body, and QUIT at the end; the thread
 * then opens a new session until all M messages are claimed.
 * With --rate R (bench/load's soak) message n is not sent before n/R
 * seconds after the start: a fixed offered rate instead of as fast as
 * the server answers. Without it (the default) nothing waits.
 *
 * The message is a realistic one: a header block (Received, From, To,
 * Subject, Date, Message-ID, MIME headers) and text lines of about 76
 * characters with CRLF, some starting with "." (dot-stuffed on the wire)
 * and some with 8-bit UTF-8 words. S is its size as the recipient stores
 * it; the wire adds the stuffing dots and the final ".\r\n". It is built
 * once; each message patches its number into Subject and Message-ID.
 *
 * Latency runs from the MAIL write to the end-of-data 250, on the
 * monotonic clock. The end of the body and the final dot always go out in
 * ONE write with TCP_NODELAY set: a separate small write of ".\r\n" waits
 * on Nagle plus the peer's delayed ACK, about 40 ms per message.
 *
 * Any reply that is not the expected 2xx/354 is an error: it is counted
 * by stage, the first ones are printed, the exit status is 1, and the
 * message does not count as sent. The last line is "RESULT key=value..."
 * for scripts (bench/relay/run).
 * Trust: the server is local, but its replies are parsed with bounds:
 * reply lines up to BENCH_LOAD_LINE_MAX, BENCH_LOAD_REPLY_LINES_MAX
 * lines per reply, every read and write bounded by --timeout-ms. Options
 * go through mx_parse_u64 with the limits below.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/mx_alloc.h"
#include "lib/mx_buf.h"
#include "lib/mx_err.h"
#include "lib/mx_parse.h"

#define BENCH_LOAD_MSGS_MAX 10000000ULL   /* --msgs limit */
#define BENCH_LOAD_SIZE_MAX (64ULL << 20) /* --size limit, bytes */
#define BENCH_LOAD_CONC_MAX 1000          /* --conc limit (one thread each) */
#define BENCH_LOAD_PER_SESSION_MAX 100000 /* --per-session limit */
#define BENCH_LOAD_RCPTS_MAX 1000000      /* --rcpts limit */
#define BENCH_LOAD_TIMEOUT_MAX 3600000    /* --timeout-ms limit */
#define BENCH_LOAD_LINE_MAX 1024      /* longest reply line, CRLF included */
#define BENCH_LOAD_REPLY_LINES_MAX 64 /* lines in one multi-line reply */
#define BENCH_LOAD_RBUF 4096          /* reply read buffer, bytes */
#define BENCH_LOAD_BODY_COLS 76       /* body line length, CRLF excluded */
#define BENCH_LOAD_CMD_MAX 512        /* MAIL+RCPT+DATA text, bytes */
#define BENCH_LOAD_NUM_DIGITS 10      /* message number field width */
#define BENCH_LOAD_SAMPLES_MAX 5      /* error replies printed */
#define BENCH_LOAD_SAMPLE_LEN (BENCH_LOAD_LINE_MAX + 32) /* one sample */
#define BENCH_LOAD_STACK (256 * 1024) /* thread stack, bytes */
#define BENCH_LOAD_RATE_MAX 1000000   /* --rate limit, msgs/s */

/* stages a reply can fail at; counted separately */
enum bench_load_stage {
	BENCH_LOAD_SG_CONNECT,  /* socket, connect */
	BENCH_LOAD_SG_GREETING, /* 220 */
	BENCH_LOAD_SG_EHLO,     /* 250 */
	BENCH_LOAD_SG_MAIL,     /* 250 */
	BENCH_LOAD_SG_RCPT,     /* 250 */
	BENCH_LOAD_SG_DATA,     /* 354 */
	BENCH_LOAD_SG_EOD,      /* 250 at the end of data */
	BENCH_LOAD_SG_IO,       /* read/write error, timeout, EOF mid-reply */
	BENCH_LOAD_SG_N
};

static const char *const bench_load_stage_names[BENCH_LOAD_SG_N] = {
    "connect", "greeting", "ehlo", "mail", "rcpt", "data", "eod", "io"};

struct bench_load_opts {
	struct sockaddr_in to; /* server address */
	const char *to_text;   /* as given, for output */
	uint64_t msgs;         /* messages in the run */
	uint64_t size;         /* message size as stored, bytes */
	uint64_t conc;         /* concurrent sessions (threads) */
	uint64_t per_session;  /* messages per session */
	uint64_t rcpts;        /* distinct recipients cycled through */
	uint64_t timeout_ms;   /* bound on each read and write */
	uint64_t rate;         /* --rate: msgs/s offered; 0 = unpaced */
	int is_lockstep;       /* --no-pipelining */
	int is_quiet;          /* --quiet: RESULT line only */
};

/* the message as sent: built once, copied per thread, numbers patched */
struct bench_load_msg {
	char *wire;        /* stuffed message + ".\r\n"; owned */
	size_t wire_len;   /* bytes in wire */
	size_t stored_len; /* message size as stored (== --size) */
	size_t num_off[2]; /* offsets of the BENCH_LOAD_NUM_DIGITS fields */
};

/* buffered reply reader on one blocking socket */
struct bench_load_conn {
	int fd;                         /* the session socket; owned */
	char rbuf[BENCH_LOAD_RBUF];     /* bytes read, not yet parsed */
	size_t r_off;                   /* first unparsed byte */
	size_t r_len;                   /* bytes in rbuf */
	char last[BENCH_LOAD_LINE_MAX]; /* last reply line, for error samples */
	int has_pipelining;             /* EHLO offered PIPELINING */
};

struct bench_load_shared {
	const struct bench_load_opts *o;  /* options */
	const struct bench_load_msg *msg; /* template */
	atomic_ullong next;               /* next message number to claim */
	uint64_t t_start;                 /* run start, ns (for --rate) */
	uint64_t *lat_ns; /* per message: latency, 0 = not sent */
	atomic_ullong errors[BENCH_LOAD_SG_N]; /* errors by stage */
	atomic_ullong sessions;                /* sessions opened */
	pthread_mutex_t lock;                  /* guards samples */
	char samples[BENCH_LOAD_SAMPLES_MAX][BENCH_LOAD_SAMPLE_LEN];
	unsigned n_samples; /* samples kept: the first errors */
};

static const char *const bench_load_words[] = {"the", "quarterly", "report",
    "shows", "that", "revenue", "from", "our", "European", "customers", "grew",
    "by", "twelve", "percent", "while", "costs", "stayed", "flat", "please",
    "review", "attached", "figures", "before", "Thursday", "meeting", "and",
    "send", "comments", "to", "finance", "team", "at", "your", "earliest",
    "convenience", "regards", "Müller", "Zürich", "café", "naïve", "déjà", "vu",
    "invoice", "shipment", "delivery", "schedule", "update", "account",
    "number", "reference"};

#define BENCH_LOAD_N_WORDS                                                     \
	(sizeof(bench_load_words) / sizeof(bench_load_words[0]))

/* bench_load_usage - print the command line and exit(2) */
static void
bench_load_usage(void)
{
	fprintf(stderr,
	    "usage: bench_load --to ADDR:PORT [options]\n"
	    "  --msgs M          messages to send [10000]\n"
	    "  --size S          message size as stored, bytes (k, m "
	    "suffixes) [10k]\n"
	    "  --conc C          concurrent sessions [20]\n"
	    "  --per-session K   messages per session [5]\n"
	    "  --rcpts R         distinct recipients, cycled [100]\n"
	    "  --timeout-ms T    bound on each read and write [30000]\n"
	    "  --rate R          offer R msgs/s: message n waits until n/R s "
	    "after the start [0: unpaced]\n"
	    "  --no-pipelining   MAIL, RCPT, DATA one at a time\n"
	    "  --quiet           print only the RESULT line\n");
	exit(2);
}

/* bench_load_ns - monotonic clock in nanoseconds */
static uint64_t
bench_load_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* bench_load_mix - splitmix64 finaliser: a deterministic word choice */
static uint64_t
bench_load_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * bench_load_text_line - fill line[0..cols) with words, cut to exactly cols
 * bytes (a UTF-8 word may be cut mid-character at the very end; the body
 * is 8BITMIME, so that is still legal SMTP). Line n % 29 == 7 starts with
 * "." and n % 31 == 3 with "..", to exercise dot-stuffing.
 */
static void
bench_load_text_line(char *line, size_t cols, uint64_t n)
{
	size_t at = 0, wl;
	uint64_t h = bench_load_mix(n);
	const char *w;

	if (n % 29 == 7 && cols > 0)
		line[at++] = '.';
	else if (n % 31 == 3 && cols > 1) {
		line[at++] = '.';
		line[at++] = '.';
	}
	while (at < cols) {
		w = bench_load_words[h % BENCH_LOAD_N_WORDS];
		h = bench_load_mix(h);
		wl = strlen(w);
		if (wl > cols - at)
			wl = cols - at;
		memcpy(line + at, w, wl);
		at += wl;
		if (at < cols)
			line[at++] = ' ';
	}
	/* a trailing space is legal, but looks odd: end on a letter */
	if (cols > 0 && line[cols - 1] == ' ')
		line[cols - 1] = 'x';
}

/*
 * bench_load_msg_add_line - append one stored line to both forms
 * stored counts the message size; wire gets the line dot-stuffed.
 * Returns 0 or MX_ETOOBIG.
 */
static int
bench_load_msg_add_line(
    struct mx_buf *wire, size_t *stored, const char *p, size_t len)
{
	if (len > 0 && p[0] == '.' && mx_buf_append_byte(wire, '.') != 0)
		return MX_ETOOBIG;
	if (mx_buf_append(wire, p, len) != 0 ||
	    mx_buf_append(wire, "\r\n", 2) != 0)
		return MX_ETOOBIG;
	*stored += len + 2;
	return 0;
}

/*
 * bench_load_msg_build - the message template for size bytes
 * Returns 0, or MX_EINVAL when size is smaller than the header block.
 * On success m->wire is owned by m (free with mx_free).
 */
static int
bench_load_msg_build(struct bench_load_msg *m, size_t size)
{
	static const char *const hdr[] = {
	    "Received: from client.bench.test (client [127.0.0.1])",
	    "\tby mx.bench.test with ESMTP; Tue, 28 Nov 2023 22:30:00 +0000",
	    "From: Bench Sender <sender@bench.test>",
	    "To: Bench Recipient <rcpt@dest.test>",
	    "Subject: Quarterly figures, message #NNNNNNNNNN",
	    "Date: Tue, 28 Nov 2023 22:30:00 +0000",
	    "Message-ID: <NNNNNNNNNN.bench@bench.test>", "MIME-Version: 1.0",
	    "Content-Type: text/plain; charset=utf-8",
	    "Content-Transfer-Encoding: 8bit", ""};
	struct mx_buf wire;
	char line[BENCH_LOAD_BODY_COLS];
	size_t stored = 0, left, cols, i, k = 0;
	uint64_t n = 0;
	const char *mark;
	int rc = MX_EINVAL;

	/* stuffing adds at most one byte per 3-byte line, plus ".\r\n" */
	mx_buf_init(&wire, size + size / 3 + 16);
	for (i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++) {
		mark = strstr(hdr[i], "NNNNNNNNNN");
		if (mark != NULL)
			m->num_off[k++] = wire.len + (size_t)(mark - hdr[i]);
		if (bench_load_msg_add_line(
		        &wire, &stored, hdr[i], strlen(hdr[i])) != 0)
			goto leave;
	}
	if (size < stored + 2)
		goto leave;
	left = size - stored;
	while (left > 0) {
		/* never leave a single byte: a line needs its CRLF */
		cols = BENCH_LOAD_BODY_COLS;
		if (left <= cols + 2)
			cols = left - 2;
		else if (left - (cols + 2) == 1)
			cols--;
		bench_load_text_line(line, cols, n++);
		if (bench_load_msg_add_line(&wire, &stored, line, cols) != 0)
			goto leave;
		left = size - stored;
	}
	if (mx_buf_append(&wire, ".\r\n", 3) != 0)
		goto leave;
	m->wire = (char *)wire.data;
	m->wire_len = wire.len;
	m->stored_len = stored;
	/* ownership moves to m */
	mx_buf_init(&wire, 0);
	rc = 0;
leave:
	mx_buf_fini(&wire);
	return rc;
}

/* bench_load_patch - write the message number into both header fields */
static void
bench_load_patch(char *wire, const size_t off[2], uint64_t num)
{
	char digits[BENCH_LOAD_NUM_DIGITS];
	int i;

	for (i = BENCH_LOAD_NUM_DIGITS - 1; i >= 0; i--) {
		digits[i] = (char)('0' + num % 10);
		num /= 10;
	}
	memcpy(wire + off[0], digits, BENCH_LOAD_NUM_DIGITS);
	memcpy(wire + off[1], digits, BENCH_LOAD_NUM_DIGITS);
}

/* bench_load_error - count an error at a stage and keep the first few texts */
static void
bench_load_error(
    struct bench_load_shared *sh, enum bench_load_stage sg, const char *text)
{
	atomic_fetch_add(&sh->errors[sg], 1);
	pthread_mutex_lock(&sh->lock);
	if (sh->n_samples < BENCH_LOAD_SAMPLES_MAX) {
		snprintf(sh->samples[sh->n_samples], sizeof(sh->samples[0]),
		    "%s: %s", bench_load_stage_names[sg], text);
		sh->n_samples++;
	}
	pthread_mutex_unlock(&sh->lock);
}

/* bench_load_write_all - write all n bytes (blocking); 0 or MX_EIO */
static int
bench_load_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return MX_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * bench_load_read_line - the next reply line into c->last (CRLF stripped)
 * Returns its length, or MX_EIO (error, timeout, EOF) or MX_ETOOBIG.
 */
static int
bench_load_read_line(struct bench_load_conn *c)
{
	const char *nl;
	size_t n;
	ssize_t r;

	for (;;) {
		nl = memchr(c->rbuf + c->r_off, '\n', c->r_len - c->r_off);
		if (nl != NULL) {
			n = (size_t)(nl - (c->rbuf + c->r_off));
			if (n >= BENCH_LOAD_LINE_MAX)
				return MX_ETOOBIG;
			memcpy(c->last, c->rbuf + c->r_off, n);
			c->r_off += n + 1;
			if (n > 0 && c->last[n - 1] == '\r')
				n--;
			c->last[n] = '\0';
			return (int)n;
		}
		if (c->r_len - c->r_off >= BENCH_LOAD_LINE_MAX)
			return MX_ETOOBIG;
		/* move the partial line to the front, then read more */
		memmove(c->rbuf, c->rbuf + c->r_off, c->r_len - c->r_off);
		c->r_len -= c->r_off;
		c->r_off = 0;
		r = recv(
		    c->fd, c->rbuf + c->r_len, sizeof(c->rbuf) - c->r_len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return MX_EIO;
		c->r_len += (size_t)r;
	}
}

/*
 * bench_load_read_reply - one whole (maybe multi-line) reply
 * Returns the reply code (100..599), or a negative MX_E* code: MX_EIO
 * (socket), MX_ETOOBIG (line or line count), MX_EPROTO (malformed).
 * c->last holds the final line. Notes PIPELINING in EHLO replies.
 */
static int
bench_load_read_reply(struct bench_load_conn *c)
{
	unsigned lines = 0;
	int len, code;

	for (;;) {
		len = bench_load_read_line(c);
		if (len < 0)
			return len;
		if (len < 3 || c->last[0] < '1' || c->last[0] > '5' ||
		    c->last[1] < '0' || c->last[1] > '9' || c->last[2] < '0' ||
		    c->last[2] > '9' ||
		    (len > 3 && c->last[3] != ' ' && c->last[3] != '-'))
			return MX_EPROTO;
		if (++lines > BENCH_LOAD_REPLY_LINES_MAX)
			return MX_ETOOBIG;
		if (len >= 14 &&
		    strncasecmp(c->last + 4, "PIPELINING", 10) == 0)
			c->has_pipelining = 1;
		if (len == 3 || c->last[3] == ' ')
			break;
	}
	code = (c->last[0] - '0') * 100 + (c->last[1] - '0') * 10 +
	       (c->last[2] - '0');
	return code;
}

/*
 * bench_load_expect - read a reply and check its class
 * Returns 0 when the code is in [lo, hi]; otherwise counts an error at sg
 * and returns MX_EIO when the session is unusable (socket, malformed) or
 * MX_EPROTO when the server answered but refused.
 */
static int
bench_load_expect(struct bench_load_shared *sh, struct bench_load_conn *c,
    enum bench_load_stage sg, int lo, int hi)
{
	int code = bench_load_read_reply(c);

	if (code < 0) {
		bench_load_error(sh, BENCH_LOAD_SG_IO,
		    code == MX_EIO ? "read failed or timed out"
		                   : "malformed reply");
		return MX_EIO;
	}
	if (code < lo || code > hi) {
		bench_load_error(sh, sg, c->last);
		/* 421: the server is closing the session */
		return code == 421 ? MX_EIO : MX_EPROTO;
	}
	return 0;
}

/*
 * bench_load_session_open - connect, greeting, EHLO
 * Returns 0 with c->fd open, or an MX_E* code with nothing left open.
 */
static int
bench_load_session_open(struct bench_load_shared *sh, struct bench_load_conn *c)
{
	const struct bench_load_opts *o = sh->o;
	struct timeval tv;
	int one = 1;
	static const char ehlo[] = "EHLO client.bench.test\r\n";

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		bench_load_error(sh, BENCH_LOAD_SG_CONNECT, strerror(errno));
		return MX_EIO;
	}
	tv.tv_sec = (time_t)(o->timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(o->timeout_ms % 1000) * 1000;
	/* NODELAY: small commands and the body's last segment go at once */
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) !=
	        0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(c->fd, (const struct sockaddr *)&o->to, sizeof(o->to)) !=
	        0) {
		bench_load_error(sh, BENCH_LOAD_SG_CONNECT, strerror(errno));
		goto fail;
	}
	atomic_fetch_add(&sh->sessions, 1);
	if (bench_load_expect(sh, c, BENCH_LOAD_SG_GREETING, 220, 220) != 0)
		goto fail;
	if (bench_load_write_all(c->fd, ehlo, sizeof(ehlo) - 1) != 0) {
		bench_load_error(sh, BENCH_LOAD_SG_IO, "write failed");
		goto fail;
	}
	if (bench_load_expect(sh, c, BENCH_LOAD_SG_EHLO, 250, 250) != 0)
		goto fail;
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return MX_EIO;
}

/*
 * bench_load_send_one - one transaction: MAIL, RCPT, DATA, body with the dot
 * Returns 0 (sent, 250 at the end), MX_EPROTO (refused; the session is
 * still usable after RSET) or MX_EIO (the session is broken).
 */
static int
bench_load_send_one(struct bench_load_shared *sh, struct bench_load_conn *c,
    char *wire, uint64_t num)
{
	const struct bench_load_opts *o = sh->o;
	char cmd[3][BENCH_LOAD_CMD_MAX / 2];
	size_t clen[3], all = 0;
	char group[BENCH_LOAD_CMD_MAX * 2];
	static const enum bench_load_stage sg[3] = {
	    BENCH_LOAD_SG_MAIL, BENCH_LOAD_SG_RCPT, BENCH_LOAD_SG_DATA};
	uint64_t t0;
	int i, n, rc = 0, is_refused = 0;

	n = snprintf(cmd[0], sizeof(cmd[0]),
	    "MAIL FROM:<sender@bench.test> SIZE=%zu BODY=8BITMIME\r\n",
	    sh->msg->wire_len);
	if (n < 0 || (size_t)n >= sizeof(cmd[0]))
		return MX_EIO;
	clen[0] = (size_t)n;
	n = snprintf(cmd[1], sizeof(cmd[1]), "RCPT TO:<user%llu@dest.test>\r\n",
	    (unsigned long long)(num % o->rcpts));
	if (n < 0 || (size_t)n >= sizeof(cmd[1]))
		return MX_EIO;
	clen[1] = (size_t)n;
	memcpy(cmd[2], "DATA\r\n", 6);
	clen[2] = 6;
	bench_load_patch(wire, sh->msg->num_off, num);

	t0 = bench_load_ns();
	if (c->has_pipelining && !o->is_lockstep) {
		/* RFC 2920: MAIL, RCPT, DATA in one group, DATA last */
		for (i = 0; i < 3; i++) {
			memcpy(group + all, cmd[i], clen[i]);
			all += clen[i];
		}
		if (bench_load_write_all(c->fd, group, all) != 0)
			goto io;
		for (i = 0; i < 3; i++) {
			rc = bench_load_expect(sh, c, sg[i], i == 2 ? 354 : 250,
			    i == 2 ? 354 : 299);
			if (rc == MX_EIO)
				return rc;
			if (rc != 0)
				is_refused = 1;
			else if (i == 2 && is_refused) {
				/* 354 after a refusal: end the empty message */
				if (bench_load_write_all(c->fd, ".\r\n", 3) !=
				    0)
					goto io;
				if (bench_load_read_reply(c) < 0)
					goto io;
			}
		}
	} else {
		for (i = 0; i < 3 && !is_refused; i++) {
			if (bench_load_write_all(c->fd, cmd[i], clen[i]) != 0)
				goto io;
			rc = bench_load_expect(sh, c, sg[i], i == 2 ? 354 : 250,
			    i == 2 ? 354 : 299);
			if (rc == MX_EIO)
				return rc;
			if (rc != 0)
				is_refused = 1;
		}
	}
	if (is_refused) {
		if (bench_load_write_all(c->fd, "RSET\r\n", 6) != 0 ||
		    bench_load_read_reply(c) < 0)
			goto io;
		return MX_EPROTO;
	}
	/* body and final dot in one write: no lone ".\r\n" segment */
	if (bench_load_write_all(c->fd, wire, sh->msg->wire_len) != 0)
		goto io;
	rc = bench_load_expect(sh, c, BENCH_LOAD_SG_EOD, 250, 299);
	if (rc != 0)
		return rc;
	sh->lat_ns[num] = bench_load_ns() - t0;
	if (sh->lat_ns[num] == 0)
		sh->lat_ns[num] = 1;
	return 0;
io:
	bench_load_error(sh, BENCH_LOAD_SG_IO, "write or read failed");
	return MX_EIO;
}

/*
 * bench_load_claim - the next message number, or -1 when all are claimed
 * With --rate, waits until that message's slot (n/R s after the start).
 */
static int64_t
bench_load_claim(struct bench_load_shared *sh)
{
	uint64_t n = atomic_fetch_add(&sh->next, 1), due;
	struct timespec ts;

	if (n >= sh->o->msgs)
		return -1;
	if (sh->o->rate > 0) {
		due = sh->t_start + n * 1000000000ULL / sh->o->rate;
		ts.tv_sec = (time_t)(due / 1000000000ULL);
		ts.tv_nsec = (long)(due % 1000000000ULL);
		while (clock_nanosleep(
		           CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	return (int64_t)n;
}

/* bench_load_thread - one concurrent session slot: sessions until done */
static void *
bench_load_thread(void *arg)
{
	struct bench_load_shared *sh = arg;
	struct bench_load_conn *c = mx_malloc(sizeof(*c));
	char *wire = mx_malloc(sh->msg->wire_len);
	uint64_t k;
	int64_t num;
	int rc;

	memcpy(wire, sh->msg->wire, sh->msg->wire_len);
	/* a message is claimed before its session opens */
	num = bench_load_claim(sh);
	while (num >= 0) {
		if (bench_load_session_open(sh, c) != 0) {
			/*
			 * the claimed message fails with its session, so a
			 * dead server ends the run instead of looping forever
			 */
			num = bench_load_claim(sh);
			continue;
		}
		rc = 0;
		for (k = 0; k < sh->o->per_session && num >= 0; k++) {
			rc = bench_load_send_one(sh, c, wire, (uint64_t)num);
			num = bench_load_claim(sh);
			if (rc == MX_EIO)
				break;
		}
		if (rc != MX_EIO &&
		    bench_load_write_all(c->fd, "QUIT\r\n", 6) == 0)
			(void)bench_load_read_reply(c);
		close(c->fd);
	}
	mx_free(wire);
	mx_free(c);
	return NULL;
}

/* bench_load_cmp_u64 - qsort order for latencies */
static int
bench_load_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* bench_load_rank - nearest-rank percentile of n sorted samples, in ms */
static double
bench_load_rank(const uint64_t *v, size_t n, unsigned pct)
{
	size_t r;

	if (n == 0)
		return 0.0;
	r = (pct * n + 99) / 100;
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return (double)v[r - 1] / 1e6;
}

/* bench_load_parse_to - "A.B.C.D:PORT" into o->to; 0 or MX_EINVAL */
static int
bench_load_parse_to(struct bench_load_opts *o, const char *s)
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
	if (mx_parse_u64(colon + 1, strlen(colon + 1), 1, 65535, &port) != 0)
		return MX_EINVAL;
	memset(&o->to, 0, sizeof(o->to));
	o->to.sin_family = AF_INET;
	o->to.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &o->to.sin_addr) != 1)
		return MX_EINVAL;
	o->to_text = s;
	return 0;
}

/* bench_load_opt_u64 - parse a numeric option value or exit with usage */
static uint64_t
bench_load_opt_u64(
    const char *name, const char *v, uint64_t min, uint64_t max, int is_size)
{
	uint64_t out;
	int rc = is_size ? mx_parse_size(v, strlen(v), min, max, &out)
	                 : mx_parse_u64(v, strlen(v), min, max, &out);

	if (rc != 0) {
		fprintf(stderr, "bench_load: %s %s: %s (allowed %llu..%llu)\n",
		    name, v, mx_strerror(rc), (unsigned long long)min,
		    (unsigned long long)max);
		exit(2);
	}
	return out;
}

/* bench_load_parse_opts - the command line into o; exits on a bad option */
static void
bench_load_parse_opts(struct bench_load_opts *o, int argc, char **argv)
{
	int a;

	memset(o, 0, sizeof(*o));
	o->msgs = 10000;
	o->size = 10240;
	o->conc = 20;
	o->per_session = 5;
	o->rcpts = 100;
	o->timeout_ms = 30000;
	for (a = 1; a < argc; a++) {
		const char *n = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (strcmp(n, "--no-pipelining") == 0) {
			o->is_lockstep = 1;
			continue;
		}
		if (strcmp(n, "--quiet") == 0) {
			o->is_quiet = 1;
			continue;
		}
		if (v == NULL)
			bench_load_usage();
		a++;
		if (strcmp(n, "--to") == 0) {
			if (bench_load_parse_to(o, v) != 0) {
				fprintf(stderr, "bench_load: bad --to %s\n", v);
				exit(2);
			}
		} else if (strcmp(n, "--msgs") == 0)
			o->msgs =
			    bench_load_opt_u64(n, v, 1, BENCH_LOAD_MSGS_MAX, 0);
		else if (strcmp(n, "--size") == 0)
			o->size =
			    bench_load_opt_u64(n, v, 1, BENCH_LOAD_SIZE_MAX, 1);
		else if (strcmp(n, "--conc") == 0)
			o->conc =
			    bench_load_opt_u64(n, v, 1, BENCH_LOAD_CONC_MAX, 0);
		else if (strcmp(n, "--per-session") == 0)
			o->per_session = bench_load_opt_u64(
			    n, v, 1, BENCH_LOAD_PER_SESSION_MAX, 0);
		else if (strcmp(n, "--rcpts") == 0)
			o->rcpts = bench_load_opt_u64(
			    n, v, 1, BENCH_LOAD_RCPTS_MAX, 0);
		else if (strcmp(n, "--rate") == 0)
			o->rate =
			    bench_load_opt_u64(n, v, 0, BENCH_LOAD_RATE_MAX, 0);
		else if (strcmp(n, "--timeout-ms") == 0)
			o->timeout_ms = bench_load_opt_u64(
			    n, v, 100, BENCH_LOAD_TIMEOUT_MAX, 0);
		else
			bench_load_usage();
	}
	if (o->to_text == NULL)
		bench_load_usage();
}

int
main(int argc, char **argv)
{
	struct bench_load_opts o;
	struct bench_load_msg msg = {0};
	struct bench_load_shared *sh = NULL;
	pthread_t *tids = NULL;
	pthread_attr_t attr;
	struct rusage ru;
	uint64_t *sorted = NULL, t_start, errors = 0, bytes;
	size_t n_ok = 0, i, started = 0;
	double elapsed, rate, cpu_s;
	int rc = 1;

	bench_load_parse_opts(&o, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (bench_load_msg_build(&msg, (size_t)o.size) != 0) {
		fprintf(stderr,
		    "bench_load: --size %llu is below the header "
		    "block; use at least 1k\n",
		    (unsigned long long)o.size);
		return 2;
	}
	sh = mx_calloc(1, sizeof(*sh));
	sh->o = &o;
	sh->msg = &msg;
	sh->lat_ns = mx_calloc((size_t)o.msgs, sizeof(uint64_t));
	pthread_mutex_init(&sh->lock, NULL);
	tids = mx_calloc((size_t)o.conc, sizeof(*tids));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, BENCH_LOAD_STACK);

	t_start = bench_load_ns();
	sh->t_start = t_start;
	for (i = 0; i < o.conc; i++, started++)
		if (pthread_create(&tids[i], &attr, bench_load_thread, sh) !=
		    0) {
			fprintf(stderr, "bench_load: pthread_create failed\n");
			break;
		}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	elapsed = (double)(bench_load_ns() - t_start) / 1e9;
	if (started == 0)
		goto leave;

	sorted = mx_malloc((size_t)o.msgs * sizeof(uint64_t));
	for (i = 0; i < o.msgs; i++)
		if (sh->lat_ns[i] != 0)
			sorted[n_ok++] = sh->lat_ns[i];
	qsort(sorted, n_ok, sizeof(uint64_t), bench_load_cmp_u64);
	for (i = 0; i < BENCH_LOAD_SG_N; i++)
		errors += atomic_load(&sh->errors[i]);
	rate = elapsed > 0 ? (double)n_ok / elapsed : 0.0;
	bytes = (uint64_t)n_ok * msg.wire_len;
	getrusage(RUSAGE_SELF, &ru);
	cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	        (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

	if (!o.is_quiet) {
		printf(
		    "bench_load: to=%s msgs=%llu size=%zu wire=%zu conc=%llu "
		    "per_session=%llu pipelining=%s\n",
		    o.to_text, (unsigned long long)o.msgs, msg.stored_len,
		    msg.wire_len, (unsigned long long)o.conc,
		    (unsigned long long)o.per_session,
		    o.is_lockstep ? "no" : "yes");
		printf("bench_load: sent=%zu errors=%llu sessions=%llu "
		       "elapsed=%.3f s rate=%.1f msgs/s %.1f MiB/s\n",
		    n_ok, (unsigned long long)errors,
		    (unsigned long long)atomic_load(&sh->sessions), elapsed,
		    rate,
		    elapsed > 0 ? (double)bytes / elapsed / 1048576.0 : 0);
		printf("bench_load: latency MAIL..250 median=%.3f ms p99=%.3f "
		       "ms max=%.3f ms\n",
		    bench_load_rank(sorted, n_ok, 50),
		    bench_load_rank(sorted, n_ok, 99),
		    bench_load_rank(sorted, n_ok, 100));
		for (i = 0; i < BENCH_LOAD_SG_N; i++)
			if (atomic_load(&sh->errors[i]) > 0)
				printf(
				    "bench_load: ERRORS stage=%s count=%llu\n",
				    bench_load_stage_names[i],
				    (unsigned long long)atomic_load(
				        &sh->errors[i]));
		for (i = 0; i < sh->n_samples; i++)
			printf("bench_load: ERROR %s\n", sh->samples[i]);
	}
	printf("RESULT sent=%zu errors=%llu elapsed_s=%.3f msgs_per_s=%.1f "
	       "lat_p50_ms=%.3f lat_p99_ms=%.3f lat_max_ms=%.3f cpu_s=%.2f\n",
	    n_ok, (unsigned long long)errors, elapsed, rate,
	    bench_load_rank(sorted, n_ok, 50),
	    bench_load_rank(sorted, n_ok, 99),
	    bench_load_rank(sorted, n_ok, 100), cpu_s);
	rc = errors == 0 && n_ok == o.msgs ? 0 : 1;
leave:
	pthread_attr_destroy(&attr);
	mx_free(sorted);
	mx_free(tids);
	if (sh != NULL) {
		pthread_mutex_destroy(&sh->lock);
		mx_free(sh->lat_ns);
		mx_free(sh);
	}
	mx_free(msg.wire);
	return rc;
}
