/*
 * mx_log.c - syslog or stderr logging
 *
 * Trust: format strings are the program's own; peer text arrives already
 * escaped by mx_log_escape().
 */
#include "lib/mx_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *mx_log_ident = "mxsentry";
static int mx_log_stderr = 1;
static enum mx_log_level mx_log_min = MX_LOG_INFO;
static int mx_log_pid; /* cached at mx_log_open; 0 before */

static const char *const mx_log_names[] = {
    "debug", "info", "notice", "warn", "err"};
static const int mx_log_prio[] = {
    LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR};

/* mx_log_open - set ident, destination and level */
void
mx_log_open(const char *ident, int to_stderr, enum mx_log_level min)
{
	mx_log_ident = ident;
	mx_log_stderr = to_stderr;
	mx_log_min = min;
	mx_log_pid = (int)getpid(); /* one syscall here, not one per line */
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* mx_log_set_level - change the minimum level */
void
mx_log_set_level(enum mx_log_level min)
{
	mx_log_min = min;
}

/* mx_log_enabled - is this level written */
int
mx_log_enabled(enum mx_log_level lvl)
{
	return lvl >= mx_log_min;
}

static void mx_log_vwrite(enum mx_log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* mx_log_vwrite - format one line and write it with a single call */
static void
mx_log_vwrite(enum mx_log_level lvl, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	/* a level from outside the enum must not index past the tables */
	if ((unsigned)lvl > MX_LOG_ERR)
		lvl = MX_LOG_ERR;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		memcpy(line + sizeof(line) - 4, "...", 4);
	if (mx_log_stderr) {
		char out[2200];
		struct timespec ts;
		struct tm tm;
		int m;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		m = snprintf(out, sizeof(out),
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: %s\n",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, mx_log_ident,
		    mx_log_pid ? mx_log_pid : (int)getpid(), mx_log_names[lvl],
		    line);
		if (m > 0) {
			size_t len = (size_t)m < sizeof(out) ? (size_t)m
			                                     : sizeof(out) - 1;
			/* one write per line keeps lines whole across
			 * threads; a short write to stderr is ignored */
			if (write(STDERR_FILENO, out, len) < 0)
				return;
		}
	} else {
		syslog(mx_log_prio[lvl], "%s: %s", mx_log_names[lvl], line);
	}
}

/* mx_log - write one line at a level */
void
mx_log(enum mx_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl < mx_log_min)
		return;
	va_start(ap, fmt);
	mx_log_vwrite(lvl, fmt, ap);
	va_end(ap);
}

/* mx_fatal - log and exit non-zero */
void
mx_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mx_log_vwrite(MX_LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

/* mx_panic - log and abort */
void
mx_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mx_log_vwrite(MX_LOG_ERR, fmt, ap);
	va_end(ap);
	abort();
}

/* mx_log_escape - escape and cut peer text for logging */
char *
mx_log_escape(char *dst, size_t dstlen, const void *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = src;
	size_t i, o = 0, mark = 0;
	int cut = len > MX_LOG_PEER_MAX;

	if (dstlen == 0)
		return dst;
	if (cut)
		len = MX_LOG_PEER_MAX;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		}
		/* last whole character that still leaves room for "..." */
		if (o + 3 < dstlen)
			mark = o;
	}
	/* text cut here, by MX_LOG_PEER_MAX or by dstlen, must say so:
	 * back off to a character boundary to make room for the mark */
	if ((cut || i < len) && dstlen > 3) {
		if (o + 3 >= dstlen)
			o = mark;
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}
