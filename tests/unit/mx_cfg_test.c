/*
 * mx_cfg_test.c - unit tests for lib/mx_cfg
 *
 * A table with every parameter type, including a repeatable MX_CFG_FN one,
 * is loaded from texts with good and bad lines. Every problem must be
 * reported once, on the right line, and every good line applied. Files go
 * to a scratch directory under MX_TEST_TMP that the group teardown removes.
 * Trust: none; hermetic.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/mx_cfg.h"
#include "lib/mx_err.h"

#define MX_CFG_TEST_PEERS 4     /* most peer lines the fn accepts */
#define MX_CFG_TEST_PEER_LEN 32 /* bytes per peer, with the NUL */
#define MX_CFG_TEST_REPORTS 64  /* problems the collector keeps */

struct mx_cfg_test_conf {
	int is_strict;         /* MX_CFG_BOOL */
	uint64_t conn_limit;   /* MX_CFG_U64, 1..1000 */
	uint64_t msg_size_max; /* MX_CFG_SIZE, bytes, 1k..64m */
	uint64_t idle_time;    /* MX_CFG_MS, milliseconds, 100ms..1h */
	char *banner;          /* MX_CFG_STR, 1..64 bytes */
	char *note;            /* MX_CFG_STR, 0..1024 bytes, no default */
	unsigned peer_count;   /* MX_CFG_FN: entries in peers */
	char peers[MX_CFG_TEST_PEERS][MX_CFG_TEST_PEER_LEN];
};

struct mx_cfg_test_report {
	unsigned count;
	unsigned line[MX_CFG_TEST_REPORTS];
	char msg[MX_CFG_TEST_REPORTS][MX_CFG_ERR_MAX];
	char file[4200]; /* as long as any path a test builds */
};

static char mx_cfg_test_dir[4096]; /* scratch directory for this run */

/* mx_cfg_test_peer - MX_CFG_FN: append one peer, up to the limit */
static int
mx_cfg_test_peer(void *conf, const char *value, char *err, size_t errlen)
{
	struct mx_cfg_test_conf *c = conf;
	size_t len = strlen(value);

	if (len == 0 || len >= MX_CFG_TEST_PEER_LEN)
		return MX_EINVAL; /* no message: mx_cfg supplies one */
	if (c->peer_count == MX_CFG_TEST_PEERS) {
		snprintf(
		    err, errlen, "peer: more than %d peers", MX_CFG_TEST_PEERS);
		return MX_ELIMIT;
	}
	memcpy(c->peers[c->peer_count++], value, len + 1);
	return 0;
}

static const struct mx_cfg_param mx_cfg_test_tab[] = {
    {"is_strict", MX_CFG_BOOL, offsetof(struct mx_cfg_test_conf, is_strict),
        "no", 0, 1, NULL, "refuse on doubt"},
    {"conn_limit", MX_CFG_U64, offsetof(struct mx_cfg_test_conf, conn_limit),
        "100", 1, 1000, NULL, "connections"},
    {"msg_size_max", MX_CFG_SIZE,
        offsetof(struct mx_cfg_test_conf, msg_size_max), "10m", 1024,
        64 * 1024 * 1024, NULL, "message size"},
    {"idle_time", MX_CFG_MS, offsetof(struct mx_cfg_test_conf, idle_time),
        "30s", 100, 3600000, NULL, "idle time"},
    {"banner", MX_CFG_STR, offsetof(struct mx_cfg_test_conf, banner),
        "mxsentry", 1, 64, NULL, "greeting"},
    {"note", MX_CFG_STR, offsetof(struct mx_cfg_test_conf, note), NULL, 0,
        MX_CFG_VALUE_MAX, NULL, "free text"},
    {"peer", MX_CFG_FN, 0, NULL, 0, 0, mx_cfg_test_peer, "one peer"},
    {NULL, MX_CFG_BOOL, 0, NULL, 0, 0, NULL, NULL},
};

/* mx_cfg_test_collect - mx_cfg_report_fn that records each problem */
static void
mx_cfg_test_collect(void *arg, const char *file, unsigned line, const char *msg)
{
	struct mx_cfg_test_report *r = arg;

	assert_non_null(file);
	assert_non_null(msg);
	assert_true(msg[0] != '\0');
	if (r->count < MX_CFG_TEST_REPORTS) {
		r->line[r->count] = line;
		snprintf(r->msg[r->count], sizeof(r->msg[0]), "%s", msg);
		snprintf(r->file, sizeof(r->file), "%s", file);
	}
	r->count++;
}

/* mx_cfg_test_new - a conf with every default applied */
static void
mx_cfg_test_new(struct mx_cfg_test_conf *c)
{
	char err[MX_CFG_ERR_MAX];

	memset(c, 0, sizeof(*c));
	assert_int_equal(mx_cfg_init(mx_cfg_test_tab, c, err, sizeof(err)), 0);
}

/* mx_cfg_test_load - load text, check the count matches the reports */
static int
mx_cfg_test_load(struct mx_cfg_test_conf *c, struct mx_cfg_test_report *r,
    const char *text, size_t len)
{
	int n;

	memset(r, 0, sizeof(*r));
	n = mx_cfg_load_mem(
	    mx_cfg_test_tab, c, "test.conf", text, len, mx_cfg_test_collect, r);
	assert_int_equal(n, r->count);
	if (n > 0)
		assert_string_equal(r->file, "test.conf");
	return n;
}

/* mx_cfg_test_load_str - as mx_cfg_test_load for a C string */
static int
mx_cfg_test_load_str(
    struct mx_cfg_test_conf *c, struct mx_cfg_test_report *r, const char *text)
{
	return mx_cfg_test_load(c, r, text, strlen(text));
}

/* mx_cfg_test_has - problem i is on line and mentions what */
static void
mx_cfg_test_has(const struct mx_cfg_test_report *r, unsigned i, unsigned line,
    const char *what)
{
	assert_true(i < r->count);
	assert_int_equal(r->line[i], line);
	if (strstr(r->msg[i], what) == NULL)
		fail_msg("problem %u: '%s' lacks '%s'", i, r->msg[i], what);
}

/* mx_cfg_test_path - a file name inside the scratch directory */
static void
mx_cfg_test_path(char *dst, size_t dstlen, const char *name)
{
	int n = snprintf(dst, dstlen, "%s/%s", mx_cfg_test_dir, name);

	assert_true(n > 0 && (size_t)n < dstlen);
}

/* mx_cfg_test_write - create a scratch file with len bytes of text */
static void
mx_cfg_test_write(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* mx_cfg_test_defaults - init applies every default, NULL stays NULL */
static void
mx_cfg_test_defaults(void **state)
{
	struct mx_cfg_test_conf c;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(c.is_strict, 0);
	assert_int_equal(c.conn_limit, 100);
	assert_int_equal(c.msg_size_max, 10 * 1024 * 1024);
	assert_int_equal(c.idle_time, 30000);
	assert_string_equal(c.banner, "mxsentry");
	assert_null(c.note);
	assert_int_equal(c.peer_count, 0);
	mx_cfg_fini(mx_cfg_test_tab, &c);
	assert_null(c.banner);
	assert_null(c.note);
	/* fini twice is harmless */
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_bad_default - a default outside its range is refused */
static void
mx_cfg_test_bad_default(void **state)
{
	static const struct mx_cfg_param tab[] = {
	    {"conn_limit", MX_CFG_U64,
	        offsetof(struct mx_cfg_test_conf, conn_limit), "0", 1, 10, NULL,
	        "connections"},
	    {NULL, MX_CFG_BOOL, 0, NULL, 0, 0, NULL, NULL},
	};
	struct mx_cfg_test_conf c;
	char err[MX_CFG_ERR_MAX];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(mx_cfg_init(tab, &c, err, sizeof(err)), MX_ERANGE);
	assert_non_null(strstr(err, "conn_limit"));
}

/* mx_cfg_test_find - '-' matches '_', whole names only */
static void
mx_cfg_test_find(void **state)
{
	const struct mx_cfg_param *p;

	(void)state;
	p = mx_cfg_find(mx_cfg_test_tab, "conn_limit", 10);
	assert_non_null(p);
	assert_string_equal(p->name, "conn_limit");
	assert_ptr_equal(mx_cfg_find(mx_cfg_test_tab, "conn-limit", 10), p);
	assert_ptr_equal(mx_cfg_find(mx_cfg_test_tab, "conn_limitxyz", 10), p);
	assert_null(mx_cfg_find(mx_cfg_test_tab, "conn_limit", 9));
	assert_null(mx_cfg_find(mx_cfg_test_tab, "conn_limitx", 11));
	assert_null(mx_cfg_find(mx_cfg_test_tab, "Conn_limit", 10));
	assert_null(mx_cfg_find(mx_cfg_test_tab, "conn limit", 10));
	assert_null(mx_cfg_find(mx_cfg_test_tab, "conn\0limit", 10));
	assert_null(mx_cfg_find(mx_cfg_test_tab, "", 0));
}

/* mx_cfg_test_set - set by name, '-' or '_', errors keep the old value */
static void
mx_cfg_test_set(void **state)
{
	struct mx_cfg_test_conf c;
	char err[MX_CFG_ERR_MAX], big[MX_CFG_VALUE_MAX + 2];

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "conn-limit", "5", err,
	                     sizeof(err)),
	    0);
	assert_int_equal(c.conn_limit, 5);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "conn_limit", "1000",
	                     err, sizeof(err)),
	    0);
	assert_int_equal(c.conn_limit, 1000);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "msg-size_max", "64m",
	                     err, sizeof(err)),
	    0);
	assert_int_equal(c.msg_size_max, 64 * 1024 * 1024);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "idle-time", "100ms",
	                     err, sizeof(err)),
	    0);
	assert_int_equal(c.idle_time, 100);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "is-strict", "Yes",
	                     err, sizeof(err)),
	    0);
	assert_int_equal(c.is_strict, 1);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "banner", "hi there",
	                     err, sizeof(err)),
	    0);
	assert_string_equal(c.banner, "hi there");

	/* unknown names */
	assert_int_equal(
	    mx_cfg_set(mx_cfg_test_tab, &c, "conn", "5", err, sizeof(err)),
	    MX_ENOTFOUND);
	assert_non_null(strstr(err, "unknown parameter 'conn'"));
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "conn_limits", "5",
	                     err, sizeof(err)),
	    MX_ENOTFOUND);
	assert_int_equal(
	    mx_cfg_set(mx_cfg_test_tab, &c, "", "5", err, sizeof(err)),
	    MX_ENOTFOUND);

	/* bad values: each kept the previous value */
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "conn_limit", "0", err,
	                     sizeof(err)),
	    MX_ERANGE);
	assert_non_null(strstr(err, "conn_limit: value out of range 1..1000"));
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "conn_limit", "1001",
	                     err, sizeof(err)),
	    MX_ERANGE);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "conn_limit", "5x",
	                     err, sizeof(err)),
	    MX_EINVAL);
	assert_non_null(strstr(err, "not a valid number"));
	assert_int_equal(c.conn_limit, 1000);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "msg_size_max", "1023",
	                     err, sizeof(err)),
	    MX_ERANGE);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "msg_size_max", "64m1",
	                     err, sizeof(err)),
	    MX_EINVAL);
	assert_non_null(strstr(err, "not a valid size"));
	assert_int_equal(c.msg_size_max, 64 * 1024 * 1024);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "idle_time", "2h", err,
	                     sizeof(err)),
	    MX_ERANGE);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "idle_time", "5w", err,
	                     sizeof(err)),
	    MX_EINVAL);
	assert_non_null(strstr(err, "not a valid duration"));
	assert_int_equal(c.idle_time, 100);
	assert_int_equal(mx_cfg_set(mx_cfg_test_tab, &c, "is_strict", "maybe",
	                     err, sizeof(err)),
	    MX_EINVAL);
	assert_non_null(strstr(err, "is_strict: expected yes or no"));
	assert_int_equal(c.is_strict, 1);
	assert_int_equal(
	    mx_cfg_set(mx_cfg_test_tab, &c, "banner", "", err, sizeof(err)),
	    MX_ERANGE);
	assert_non_null(strstr(err, "banner: length 0 outside 1..64"));
	assert_string_equal(c.banner, "hi there");

	/* MX_CFG_VALUE_MAX exactly, and one past */
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(
	    mx_cfg_set(mx_cfg_test_tab, &c, "note", big, err, sizeof(err)),
	    MX_ETOOBIG);
	assert_null(c.note);
	big[MX_CFG_VALUE_MAX] = '\0';
	assert_int_equal(
	    mx_cfg_set(mx_cfg_test_tab, &c, "note", big, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.note), MX_CFG_VALUE_MAX);
	/* replacing a string frees the old one (LSan checks) */
	assert_int_equal(
	    mx_cfg_set(mx_cfg_test_tab, &c, "note", "short", err, sizeof(err)),
	    0);
	assert_string_equal(c.note, "short");
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_fn - MX_CFG_FN is called per value; its errors pass on */
static void
mx_cfg_test_fn(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;
	char err[MX_CFG_ERR_MAX];

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load_str(&c, &r,
	                     "peer = a.example\n"
	                     "peer = b.example\n"
	                     "peer =\n"
	                     "peer = c.example\n"
	                     "peer = d.example\n"
	                     "peer = e.example\n"),
	    2);
	mx_cfg_test_has(&r, 0, 3, "peer: invalid argument");
	mx_cfg_test_has(&r, 1, 6, "peer: more than 4 peers");
	assert_int_equal(c.peer_count, 4);
	assert_string_equal(c.peers[0], "a.example");
	assert_string_equal(c.peers[1], "b.example");
	assert_string_equal(c.peers[2], "c.example");
	assert_string_equal(c.peers[3], "d.example");
	assert_int_equal(
	    mx_cfg_set(mx_cfg_test_tab, &c, "peer", "x", err, sizeof(err)),
	    MX_ELIMIT);
	assert_string_equal(err, "peer: more than 4 peers");
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_good_file - every type from a file */
static void
mx_cfg_test_good_file(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(
	    mx_cfg_test_load_str(&c, &r,
	        "# mxsentry test config\n"
	        "is_strict = on\n"
	        "conn_limit=7\n"
	        "msg_size_max   =   2k   \n"
	        "idle_time = 5m\n"
	        "banner = hello, world: \"quoted\" # not a comment\n"
	        "note = a=b=c\n"
	        "peer = p1\n"
	        "conn-limit = 8"),
	    0);
	assert_int_equal(c.is_strict, 1);
	assert_int_equal(c.conn_limit, 8);
	assert_int_equal(c.msg_size_max, 2048);
	assert_int_equal(c.idle_time, 300000);
	assert_string_equal(
	    c.banner, "hello, world: \"quoted\" # not a comment");
	assert_string_equal(c.note, "a=b=c");
	assert_int_equal(c.peer_count, 1);
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_mixed_file - bad lines reported by line, good ones kept */
static void
mx_cfg_test_mixed_file(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load_str(&c, &r,
	                     "conn_limit = 9\n"     /* 1 */
	                     "no_such_key = 1\n"    /* 2 */
	                     "\n"                   /* 3 */
	                     "conn_limit = 5000\n"  /* 4 */
	                     "banner = ok\n"        /* 5 */
	                     "[main]\n"             /* 6 */
	                     "idle_time = 1s\n"     /* 7 */
	                     "  idle_time = 2s\n"   /* 8 */
	                     "is_strict\n"          /* 9 */
	                     "msg_size_max = 10q\n" /* 10 */
	                     "is_strict = yes\n"),  /* 11 */
	    6);
	mx_cfg_test_has(&r, 0, 2, "unknown parameter 'no_such_key'");
	mx_cfg_test_has(&r, 1, 4, "conn_limit: value out of range 1..1000");
	mx_cfg_test_has(&r, 2, 6, "sections are not supported");
	mx_cfg_test_has(&r, 3, 8, "continuation lines are not supported");
	mx_cfg_test_has(&r, 4, 9, "expected 'key = value'");
	mx_cfg_test_has(&r, 5, 10, "msg_size_max: not a valid size");
	assert_int_equal(c.conn_limit, 9);
	assert_string_equal(c.banner, "ok");
	assert_int_equal(c.idle_time, 1000);
	assert_int_equal(c.msg_size_max, 10 * 1024 * 1024);
	assert_int_equal(c.is_strict, 1);
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_out_of_range - each numeric type at and past its bounds */
static void
mx_cfg_test_out_of_range(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load_str(&c, &r,
	                     "conn_limit = 0\n"
	                     "conn_limit = 1\n"
	                     "msg_size_max = 64m\n"
	                     "msg_size_max = 67108865\n"
	                     "msg_size_max = 1023b\n"
	                     "idle_time = 99ms\n"
	                     "idle_time = 100ms\n"
	                     "idle_time = 3601s\n"
	                     "conn_limit = 18446744073709551616\n"
	                     "msg_size_max = 17179869184g\n"),
	    7);
	mx_cfg_test_has(&r, 0, 1, "conn_limit: value out of range");
	mx_cfg_test_has(&r, 1, 4, "msg_size_max: value out of range");
	mx_cfg_test_has(&r, 2, 5, "msg_size_max: value out of range");
	mx_cfg_test_has(&r, 3, 6, "idle_time: value out of range");
	mx_cfg_test_has(&r, 4, 8, "idle_time: value out of range");
	mx_cfg_test_has(&r, 5, 9, "conn_limit: value out of range");
	mx_cfg_test_has(&r, 6, 10, "msg_size_max: value out of range");
	assert_int_equal(c.conn_limit, 1);
	assert_int_equal(c.msg_size_max, 64 * 1024 * 1024);
	assert_int_equal(c.idle_time, 100);
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_line_max - MX_CFG_LINE_MAX fits, one more byte does not */
static void
mx_cfg_test_line_max(void **state)
{
	char text[4 * MX_CFG_LINE_MAX + 6000];
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;
	size_t n = 0, k;

	(void)state;
	mx_cfg_test_new(&c);
	/* line 1: "note = " and padding, exactly MX_CFG_LINE_MAX bytes */
	memcpy(text, "note = ", 7);
	memset(text + 7, 'a', MX_CFG_LINE_MAX - 7);
	n = MX_CFG_LINE_MAX;
	text[n++] = '\n';
	/* line 2: the same with CRLF; the '\r' does not count */
	memcpy(text + n, "note = ", 7);
	memset(text + n + 7, 'b', MX_CFG_LINE_MAX - 7);
	n += MX_CFG_LINE_MAX;
	text[n++] = '\r';
	text[n++] = '\n';
	assert_int_equal(mx_cfg_test_load(&c, &r, text, n), 0);
	assert_int_equal(strlen(c.note), MX_CFG_LINE_MAX - 7);
	assert_int_equal(c.note[0], 'b');

	/* line 2: one byte more; line 3: far longer than inih's buffer;
	 * line 4 still applies, with its own line number */
	n = 0;
	memcpy(text, "conn_limit = 3\n", 15);
	n = 15;
	memcpy(text + n, "note = ", 7);
	memset(text + n + 7, 'c', MX_CFG_LINE_MAX + 1 - 7);
	n += MX_CFG_LINE_MAX + 1;
	text[n++] = '\n';
	memcpy(text + n, "note = ", 7);
	memset(text + n + 7, 'd', 5000);
	n += 5007;
	text[n++] = '\n';
	memcpy(text + n, "conn_limit = 4\n", 15);
	n += 15;
	/* line 5: a comment too long is still a line too long */
	text[n++] = '#';
	for (k = 0; k < MX_CFG_LINE_MAX; k++)
		text[n++] = 'e';
	assert_true(n <= sizeof(text));
	assert_int_equal(mx_cfg_test_load(&c, &r, text, n), 3);
	mx_cfg_test_has(&r, 0, 2, "line too long");
	mx_cfg_test_has(&r, 1, 3, "line too long");
	mx_cfg_test_has(&r, 2, 5, "line too long");
	assert_int_equal(c.conn_limit, 4);
	assert_int_equal(c.note[0], 'b');
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_sections - every form of section header is refused */
static void
mx_cfg_test_sections(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load_str(&c, &r,
	                     "\xef\xbb\xbf[edge]\n"
	                     "conn_limit = 11\n"
	                     "[hub]\n"
	                     "[]\n"
	                     "[unterminated\n"
	                     "\t[indented]\n"),
	    5);
	mx_cfg_test_has(&r, 0, 1, "sections are not supported");
	mx_cfg_test_has(&r, 1, 3, "sections are not supported");
	mx_cfg_test_has(&r, 2, 4, "sections are not supported");
	mx_cfg_test_has(&r, 3, 5, "sections are not supported");
	mx_cfg_test_has(&r, 4, 6, "sections are not supported");
	assert_int_equal(c.conn_limit, 11);
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_continuation - indented lines never extend a value */
static void
mx_cfg_test_continuation(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load_str(&c, &r,
	                     "banner = first\n"
	                     " second\n"
	                     "\tthird\n"
	                     "\vfourth\n"
	                     "\ffifth\n"
	                     "\rsixth\n"
	                     "  conn_limit = 2\n"),
	    6);
	mx_cfg_test_has(&r, 0, 2, "continuation");
	mx_cfg_test_has(&r, 1, 3, "continuation");
	mx_cfg_test_has(&r, 2, 4, "continuation");
	mx_cfg_test_has(&r, 3, 5, "continuation");
	mx_cfg_test_has(&r, 4, 6, "continuation");
	mx_cfg_test_has(&r, 5, 7, "continuation");
	assert_string_equal(c.banner, "first");
	assert_int_equal(c.conn_limit, 100);
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_comments - '#', ';', blank and white lines are skipped */
static void
mx_cfg_test_comments(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load_str(&c, &r,
	                     "# hash comment\n"
	                     "; semicolon comment\n"
	                     "\n"
	                     "   \n"
	                     "\t\n"
	                     "\v\f\r\n"
	                     "  # indented comment\n"
	                     "\t; indented comment\n"
	                     "#conn_limit = 1\n"
	                     ";conn_limit = 2\n"
	                     "# [section] in a comment\n"
	                     "conn_limit = 12 ; inline comment\n"
	                     "banner = a;b\n"
	                     "note = x # y\n"),
	    0);
	assert_int_equal(c.conn_limit, 12);
	/* ';' only starts a comment after a blank */
	assert_string_equal(c.banner, "a;b");
	assert_string_equal(c.note, "x # y");
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_crlf - CRLF files read exactly like LF files */
static void
mx_cfg_test_crlf(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load_str(&c, &r,
	                     "# comment\r\n"
	                     "\r\n"
	                     "banner = crlf\r\n"
	                     "conn_limit = 13\r\n"
	                     "bogus\r\n"
	                     "[sec]\r\n"
	                     "is_strict = true\r\n"),
	    2);
	mx_cfg_test_has(&r, 0, 5, "expected 'key = value'");
	mx_cfg_test_has(&r, 1, 6, "sections are not supported");
	assert_string_equal(c.banner, "crlf");
	assert_int_equal(c.conn_limit, 13);
	assert_int_equal(c.is_strict, 1);
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_no_equals - a line must split at '=' */
static void
mx_cfg_test_no_equals(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load_str(&c, &r,
	                     "conn_limit 14\n"
	                     "conn_limit: 15\n"
	                     "banner: a = b\n"
	                     "conn_limit ;= 16\n"
	                     "= 17\n"
	                     "banner = url http://x:80/\n"),
	    5);
	mx_cfg_test_has(&r, 0, 1, "expected 'key = value'");
	mx_cfg_test_has(&r, 1, 2, "expected 'key = value'");
	mx_cfg_test_has(&r, 2, 3, "expected 'key = value'");
	mx_cfg_test_has(&r, 3, 4, "expected 'key = value'");
	mx_cfg_test_has(&r, 4, 5, "unknown parameter ''");
	assert_int_equal(c.conn_limit, 100);
	assert_string_equal(c.banner, "url http://x:80/");
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_nul - a NUL byte anywhere in a line is refused */
static void
mx_cfg_test_nul(void **state)
{
	static const char text[] = "banner = ab\0cd\n"
	                           "conn_limit = 15\n"
	                           "\0conn_limit = 16\n"
	                           "# comment \0 with NUL\n"
	                           "  \0\n"
	                           "note = tail\0";
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load(&c, &r, text, sizeof(text) - 1), 5);
	mx_cfg_test_has(&r, 0, 1, "NUL byte in line");
	mx_cfg_test_has(&r, 1, 3, "NUL byte in line");
	mx_cfg_test_has(&r, 2, 4, "NUL byte in line");
	mx_cfg_test_has(&r, 3, 5, "NUL byte in line");
	mx_cfg_test_has(&r, 4, 6, "NUL byte in line");
	assert_string_equal(c.banner, "mxsentry");
	assert_int_equal(c.conn_limit, 15);
	assert_null(c.note);
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_bom - a UTF-8 BOM opens the file harmlessly */
static void
mx_cfg_test_bom(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load_str(&c, &r,
	                     "\xef\xbb\xbf"
	                     "conn_limit = 17\n"
	                     "\xef\xbb\xbf"
	                     "banner = late bom\n"),
	    1);
	mx_cfg_test_has(&r, 0, 2, "unknown parameter");
	assert_int_equal(c.conn_limit, 17);
	assert_int_equal(mx_cfg_test_load_str(&c, &r, "\xef\xbb\xbf"), 0);
	assert_int_equal(
	    mx_cfg_test_load_str(&c, &r, "\xef\xbb\xbf  x = 1\n"), 1);
	mx_cfg_test_has(&r, 0, 1, "continuation");
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_edges - empty text, no final newline, NULL report */
static void
mx_cfg_test_edges(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load(&c, &r, NULL, 0), 0);
	assert_int_equal(mx_cfg_test_load_str(&c, &r, ""), 0);
	assert_int_equal(mx_cfg_test_load_str(&c, &r, "\n\n\n"), 0);
	assert_int_equal(mx_cfg_test_load_str(&c, &r, "conn_limit = 18"), 0);
	assert_int_equal(c.conn_limit, 18);
	assert_int_equal(mx_cfg_test_load_str(&c, &r, "\n\n\nbogus"), 1);
	mx_cfg_test_has(&r, 0, 4, "expected");
	/* the last line, dropped by inih, is still reported */
	assert_int_equal(mx_cfg_test_load_str(&c, &r, "\nconn_limit ;= 1"), 1);
	mx_cfg_test_has(&r, 0, 2, "expected");
	assert_int_equal(
	    mx_cfg_load_mem(mx_cfg_test_tab, &c, "x", "a\nb\n", 4, NULL, NULL),
	    2);
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_string_limits - string length at and past min and max */
static void
mx_cfg_test_string_limits(void **state)
{
	char text[256];
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;
	int n;

	(void)state;
	mx_cfg_test_new(&c);
	n = snprintf(text, sizeof(text),
	    "banner = %064d\n"
	    "banner = %065d\n"
	    "banner =\n"
	    "banner = \t \n"
	    "banner = x\n",
	    0, 0);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_int_equal(mx_cfg_test_load(&c, &r, text, (size_t)n), 3);
	mx_cfg_test_has(&r, 0, 2, "banner: length 65 outside 1..64");
	mx_cfg_test_has(&r, 1, 3, "banner: length 0 outside 1..64");
	mx_cfg_test_has(&r, 2, 4, "banner: length 0 outside 1..64");
	assert_string_equal(c.banner, "x");
	assert_int_equal(mx_cfg_test_load_str(&c, &r, "note =\n"), 0);
	assert_string_equal(c.note, "");
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_file_max - MX_CFG_FILE_MAX bytes load, one more does not */
static void
mx_cfg_test_file_max(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;
	char path[4200];
	char *text;
	size_t i;

	(void)state;
	text = malloc(MX_CFG_FILE_MAX + 1);
	assert_non_null(text);
	/* comment lines of 64 bytes, then one setting in the last bytes */
	memset(text, '#', MX_CFG_FILE_MAX + 1);
	for (i = 63; i < MX_CFG_FILE_MAX; i += 64)
		text[i] = '\n';
	memcpy(text + MX_CFG_FILE_MAX - 16, "\nconn_limit = 19", 16);
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load(&c, &r, text, MX_CFG_FILE_MAX), 0);
	assert_int_equal(c.conn_limit, 19);
	assert_int_equal(
	    mx_cfg_test_load(&c, &r, text, MX_CFG_FILE_MAX + 1), 1);
	mx_cfg_test_has(&r, 0, 0, "too large");

	mx_cfg_test_path(path, sizeof(path), "max.conf");
	mx_cfg_test_write(path, text, MX_CFG_FILE_MAX);
	memset(&r, 0, sizeof(r));
	c.conn_limit = 1;
	assert_int_equal(mx_cfg_load_file(mx_cfg_test_tab, &c, path,
	                     mx_cfg_test_collect, &r),
	    0);
	assert_int_equal(c.conn_limit, 19);
	mx_cfg_test_write(path, text, MX_CFG_FILE_MAX + 1);
	c.conn_limit = 1;
	assert_int_equal(mx_cfg_load_file(mx_cfg_test_tab, &c, path,
	                     mx_cfg_test_collect, &r),
	    1);
	mx_cfg_test_has(&r, 0, 0, "larger than");
	assert_string_equal(r.file, path);
	assert_int_equal(c.conn_limit, 1);
	assert_int_equal(unlink(path), 0);
	free(text);
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_file - a real file: lines, names and the strings it sets */
static void
mx_cfg_test_file(void **state)
{
	static const char text[] = "banner = from file\n"
	                           "conn_limit = 20\n"
	                           "bad key = 1\n";
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;
	char path[4200];

	(void)state;
	mx_cfg_test_path(path, sizeof(path), "good.conf");
	mx_cfg_test_write(path, text, sizeof(text) - 1);
	mx_cfg_test_new(&c);
	memset(&r, 0, sizeof(r));
	assert_int_equal(mx_cfg_load_file(mx_cfg_test_tab, &c, path,
	                     mx_cfg_test_collect, &r),
	    1);
	mx_cfg_test_has(&r, 0, 3, "unknown parameter 'bad key'");
	assert_string_equal(r.file, path);
	assert_string_equal(c.banner, "from file");
	assert_int_equal(c.conn_limit, 20);
	/* NULL report is allowed for files too */
	assert_int_equal(
	    mx_cfg_load_file(mx_cfg_test_tab, &c, path, NULL, NULL), 1);
	assert_int_equal(unlink(path), 0);
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_file_unusable - missing, directory, FIFO: one problem */
static void
mx_cfg_test_file_unusable(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;
	char path[4200];

	(void)state;
	mx_cfg_test_new(&c);
	mx_cfg_test_path(path, sizeof(path), "missing.conf");
	memset(&r, 0, sizeof(r));
	assert_int_equal(mx_cfg_load_file(mx_cfg_test_tab, &c, path,
	                     mx_cfg_test_collect, &r),
	    1);
	mx_cfg_test_has(&r, 0, 0, "cannot open");
	assert_string_equal(r.file, path);

	memset(&r, 0, sizeof(r));
	assert_int_equal(mx_cfg_load_file(mx_cfg_test_tab, &c, mx_cfg_test_dir,
	                     mx_cfg_test_collect, &r),
	    1);
	mx_cfg_test_has(&r, 0, 0, "not a regular file");

	/* a FIFO with no writer must not hang the load */
	mx_cfg_test_path(path, sizeof(path), "fifo.conf");
	assert_int_equal(mkfifo(path, 0600), 0);
	memset(&r, 0, sizeof(r));
	alarm(10);
	assert_int_equal(mx_cfg_load_file(mx_cfg_test_tab, &c, path,
	                     mx_cfg_test_collect, &r),
	    1);
	alarm(0);
	mx_cfg_test_has(&r, 0, 0, "not a regular file");
	assert_int_equal(unlink(path), 0);

	assert_int_equal(
	    mx_cfg_load_file(mx_cfg_test_tab, &c, "/dev/null", NULL, NULL), 1);
	assert_int_equal(c.conn_limit, 100);
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_fini - every string is freed and reset; conf reusable */
static void
mx_cfg_test_fini(void **state)
{
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;

	(void)state;
	mx_cfg_test_new(&c);
	assert_int_equal(mx_cfg_test_load_str(&c, &r,
	                     "banner = one\nbanner = two\nnote = n1\n"
	                     "note = n2\nbanner = three\n"),
	    0);
	assert_string_equal(c.banner, "three");
	assert_string_equal(c.note, "n2");
	mx_cfg_fini(mx_cfg_test_tab, &c);
	assert_null(c.banner);
	assert_null(c.note);
	mx_cfg_test_new(&c);
	assert_string_equal(c.banner, "mxsentry");
	mx_cfg_fini(mx_cfg_test_tab, &c);
}

/* mx_cfg_test_setup - make this run's scratch directory */
static int
mx_cfg_test_setup(void **state)
{
	const char *base = getenv("MX_TEST_TMP");
	int n;

	(void)state;
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	n = snprintf(mx_cfg_test_dir, sizeof(mx_cfg_test_dir),
	    "%s/mx_cfg_test.XXXXXX", base);
	if (n < 0 || (size_t)n >= sizeof(mx_cfg_test_dir))
		return -1;
	return mkdtemp(mx_cfg_test_dir) == NULL ? -1 : 0;
}

/* mx_cfg_test_teardown - remove the scratch directory and its files */
static int
mx_cfg_test_teardown(void **state)
{
	static const char *const names[] = {
	    "max.conf", "good.conf", "fifo.conf"};
	char path[4200];
	size_t i;

	(void)state;
	/* a failed test may have left its file behind */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n = snprintf(
		    path, sizeof(path), "%s/%s", mx_cfg_test_dir, names[i]);

		if (n > 0 && (size_t)n < sizeof(path))
			(void)unlink(path);
	}
	return rmdir(mx_cfg_test_dir) == 0 ? 0 : -1;
}

/* mx_cfg_test_cli - -c FILE first, then options over it; flags; problems */
static void
mx_cfg_test_cli(void **state)
{
	static const char text[] = "conn_limit = 20\nbanner = from file\n";
	struct mx_cfg_test_conf c;
	struct mx_cfg_test_report r;
	struct mx_cfg_cli cli;
	char path[4200];

	(void)state;
	mx_cfg_test_path(path, sizeof(path), "cli.conf");
	mx_cfg_test_write(path, text, sizeof(text) - 1);
	{
		/* the option comes first on the line and still wins */
		char *argv[] = {"prog", "--conn-limit=30", "-f", "-c", path,
		    "--is-strict", "-v", "--banner", "from cli",
		    "--check-config", NULL};

		mx_cfg_test_new(&c);
		memset(&r, 0, sizeof(r));
		assert_int_equal(mx_cfg_load_cli(mx_cfg_test_tab, &c, 10, argv,
		                     mx_cfg_test_collect, &r, &cli),
		    0);
		assert_int_equal(c.conn_limit, 30);
		assert_string_equal(c.banner, "from cli");
		assert_int_equal(c.is_strict, 1); /* a boolean alone is yes */
		assert_string_equal(cli.file, path);
		assert_true(
		    cli.is_foreground && cli.is_verbose && cli.is_check);
		assert_false(cli.is_help);
		mx_cfg_fini(mx_cfg_test_tab, &c);
	}
	{
		char *argv[] = {"prog", "--nope", "stray", "--conn-limit",
		    "5000", "--idle-time", "--help", "-c", NULL};

		mx_cfg_test_new(&c);
		memset(&r, 0, sizeof(r));
		/* -c without a file stops at once: one problem */
		assert_int_equal(mx_cfg_load_cli(mx_cfg_test_tab, &c, 8, argv,
		                     mx_cfg_test_collect, &r, &cli),
		    1);
		mx_cfg_test_has(&r, 0, 0, "needs a file");
		mx_cfg_fini(mx_cfg_test_tab, &c);
	}
	{
		char *argv[] = {"prog", "--nope", "stray", "--conn-limit",
		    "5000", "--help", "--idle-time", NULL};

		mx_cfg_test_new(&c);
		memset(&r, 0, sizeof(r));
		assert_int_equal(mx_cfg_load_cli(mx_cfg_test_tab, &c, 7, argv,
		                     mx_cfg_test_collect, &r, &cli),
		    4);
		mx_cfg_test_has(&r, 0, 0, "option --nope: unknown");
		mx_cfg_test_has(&r, 1, 0, "option 'stray': unknown");
		mx_cfg_test_has(&r, 2, 0, "option --conn-limit:");
		mx_cfg_test_has(&r, 3, 0, "option --idle-time: needs a value");
		assert_string_equal(r.file, "command line");
		assert_true(cli.is_help);
		assert_int_equal(
		    c.conn_limit, 100); /* the bad value not taken */
		mx_cfg_fini(mx_cfg_test_tab, &c);
	}
	assert_int_equal(unlink(path), 0);
}

/* mx_cfg_test_secret - trimmed, bounded, never half-read */
static void
mx_cfg_test_secret(void **state)
{
	char path[4200], out[8 + 2], err[MX_CFG_ERR_MAX];

	(void)state;
	mx_cfg_test_path(path, sizeof(path), "secret");
	mx_cfg_test_write(path, "s3cret \r\n", 9);
	assert_int_equal(mx_cfg_read_secret(path, out, 8, err, sizeof(err)), 6);
	assert_string_equal(out, "s3cret");
	/* exactly max bytes, then a newline: fits */
	mx_cfg_test_write(path, "12345678\n", 9);
	assert_int_equal(mx_cfg_read_secret(path, out, 8, err, sizeof(err)), 8);
	/* one byte more than max: refused, whatever follows */
	mx_cfg_test_write(path, "123456789", 9);
	assert_int_equal(
	    mx_cfg_read_secret(path, out, 8, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 8 bytes"));
	assert_int_equal(out[0], 0); /* wiped */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(
	    mx_cfg_read_secret(path, out, 8, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open"));
}

/* mx_cfg_test_broker - every broker problem named, the password read */
static void
mx_cfg_test_broker(void **state)
{
	struct mx_cfg_test_report r;
	struct mx_cfg_broker b;
	char host[64], pw[16], path[4200], nofile[4200];
	uint16_t port = 0;

	(void)state;
	mx_cfg_test_path(path, sizeof(path), "pw");
	mx_cfg_test_path(nofile, sizeof(nofile), "none");
	mx_cfg_test_write(path, "s3cret\n", 7);
	b = (struct mx_cfg_broker){"[::1]:8883", path, path, path, "u", path};
	memset(&r, 0, sizeof(r));
	assert_int_equal(mx_cfg_broker_check(&b, host, sizeof(host), &port, pw,
	                     sizeof(pw), mx_cfg_test_collect, &r),
	    0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 8883);
	assert_string_equal(pw, "s3cret");
	/* everything wrong at once: each problem reported */
	b = (struct mx_cfg_broker){"nohost", "", path, "", "", path};
	memset(&r, 0, sizeof(r));
	assert_int_equal(mx_cfg_broker_check(&b, host, sizeof(host), &port, pw,
	                     sizeof(pw), mx_cfg_test_collect, &r),
	    4);
	mx_cfg_test_has(&r, 0, 0, "broker: 'nohost' is not HOST:PORT");
	mx_cfg_test_has(&r, 1, 0, "go together");
	mx_cfg_test_has(&r, 2, 0, "needs broker_cafile");
	mx_cfg_test_has(&r, 3, 0, "needs broker_username");
	assert_string_equal(pw, "");
	/* unreadable files; a password longer than the room */
	mx_cfg_test_write(path, "0123456789abcdefXYZ", 19);
	b = (struct mx_cfg_broker){"", nofile, "", "", "u", path};
	memset(&r, 0, sizeof(r));
	assert_int_equal(mx_cfg_broker_check(&b, host, sizeof(host), &port, pw,
	                     sizeof(pw), mx_cfg_test_collect, &r),
	    2);
	mx_cfg_test_has(&r, 0, 0, "broker_cafile: cannot read");
	mx_cfg_test_has(&r, 1, 0, "broker_password_file:");
	assert_null(strstr(r.msg[1], "0123")); /* never the password */
	assert_int_equal(unlink(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(mx_cfg_test_defaults),
	    cmocka_unit_test(mx_cfg_test_bad_default),
	    cmocka_unit_test(mx_cfg_test_find),
	    cmocka_unit_test(mx_cfg_test_set),
	    cmocka_unit_test(mx_cfg_test_fn),
	    cmocka_unit_test(mx_cfg_test_good_file),
	    cmocka_unit_test(mx_cfg_test_mixed_file),
	    cmocka_unit_test(mx_cfg_test_out_of_range),
	    cmocka_unit_test(mx_cfg_test_line_max),
	    cmocka_unit_test(mx_cfg_test_sections),
	    cmocka_unit_test(mx_cfg_test_continuation),
	    cmocka_unit_test(mx_cfg_test_comments),
	    cmocka_unit_test(mx_cfg_test_crlf),
	    cmocka_unit_test(mx_cfg_test_no_equals),
	    cmocka_unit_test(mx_cfg_test_nul),
	    cmocka_unit_test(mx_cfg_test_bom),
	    cmocka_unit_test(mx_cfg_test_edges),
	    cmocka_unit_test(mx_cfg_test_string_limits),
	    cmocka_unit_test(mx_cfg_test_file_max),
	    cmocka_unit_test(mx_cfg_test_file),
	    cmocka_unit_test(mx_cfg_test_file_unusable),
	    cmocka_unit_test(mx_cfg_test_fini),
	    cmocka_unit_test(mx_cfg_test_cli),
	    cmocka_unit_test(mx_cfg_test_secret),
	    cmocka_unit_test(mx_cfg_test_broker),
	};

	return cmocka_run_group_tests(
	    tests, mx_cfg_test_setup, mx_cfg_test_teardown);
}
