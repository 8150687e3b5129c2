/*
 * mx_log.h - logging for every mxsentry program
 *
 * One event per line: a stable upper-case event word, then key=value
 * pairs; session lines start with the session id (STYLE section 10).
 * Output goes to syslog, or to stderr in the foreground. Thread-safe:
 * each line is formatted into a local buffer and written with one call.
 * Trust: callers must pass peer text through mx_log_escape() first.
 */
#ifndef MX_LOG_H
#define MX_LOG_H

#include <stddef.h>

#define MX_PRINTF(f, a) __attribute__((format(printf, f, a)))

enum mx_log_level {
	MX_LOG_DEBUG = 0,
	MX_LOG_INFO,
	MX_LOG_NOTICE,
	MX_LOG_WARN,
	MX_LOG_ERR,
};

/* longest peer text kept by mx_log_escape, before escaping */
#define MX_LOG_PEER_MAX 64
/* room mx_log_escape needs for MX_LOG_PEER_MAX bytes, worst case */
#define MX_LOG_ESC_SIZE (MX_LOG_PEER_MAX * 4 + 4)

/*
 * mx_log_open - choose the destination and minimum level
 * ident: program name for syslog and the stderr prefix (borrowed; must
 * outlive logging). to_stderr: non-zero for foreground mode. Call once at
 * start, before threads.
 */
void mx_log_open(const char *ident, int to_stderr, enum mx_log_level min);

/* mx_log_set_level - change the minimum level (e.g. on -v or reload) */
void mx_log_set_level(enum mx_log_level min);

/* mx_log_enabled - true when messages at this level are written */
int mx_log_enabled(enum mx_log_level lvl);

void mx_log(enum mx_log_level lvl, const char *fmt, ...) MX_PRINTF(2, 3);
#define mx_debug(...) mx_log(MX_LOG_DEBUG, __VA_ARGS__)
#define mx_info(...) mx_log(MX_LOG_INFO, __VA_ARGS__)
#define mx_notice(...) mx_log(MX_LOG_NOTICE, __VA_ARGS__)
#define mx_warn(...) mx_log(MX_LOG_WARN, __VA_ARGS__)
#define mx_err(...) mx_log(MX_LOG_ERR, __VA_ARGS__)

/* mx_fatal - log at err level and exit(1): bad config, unusable env */
void mx_fatal(const char *fmt, ...) MX_PRINTF(1, 2) __attribute__((noreturn));

/* mx_panic - log a broken invariant and abort() for a core */
void mx_panic(const char *fmt, ...) MX_PRINTF(1, 2) __attribute__((noreturn));

/*
 * mx_log_escape - make peer text safe to log
 * Copies at most MX_LOG_PEER_MAX bytes of src into dst, escaping control
 * bytes, '"', '\\' and bytes >= 0x7f as \xNN, appending "..." when cut.
 * dst must hold dstlen >= 1 bytes; MX_LOG_ESC_SIZE always suffices. A
 * smaller dst cuts the text at a character boundary, never inside an
 * escape, and still marks the cut with "..." when dstlen >= 4.
 * Returns dst, always NUL-terminated.
 */
char *mx_log_escape(char *dst, size_t dstlen, const void *src, size_t len);

#endif /* MX_LOG_H */
