/*
 * mx_cfg.c - table-driven configuration over inih
 *
 * inih splits lines into key and value; this file feeds it one line at a
 * time through a reader that counts lines, so every problem can name its
 * line, and that turns lines inih would misparse (too long, no '=') into
 * reported problems instead.
 * Trust: operator text. Limits: MX_CFG_LINE_MAX, MX_CFG_VALUE_MAX,
 * MX_CFG_FILE_MAX.
 */
#include "lib/mx_cfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_parse.h"

/* the reader hands inih a line, its '\n' and a NUL */
_Static_assert(MX_CFG_LINE_MAX + 2 <= INI_MAX_LINE,
    "MX_CFG_LINE_MAX does not fit inih's line buffer");

struct mx_cfg_load {
	const struct mx_cfg_param *tab;
	void *conf;
	const char *fname;
	const char *text; /* whole input */
	size_t len;       /* bytes in text */
	size_t pos;       /* next byte the reader hands out */
	unsigned line;    /* line number of the last line handed out */
	int is_pair;      /* that line was vetted as key = value */
	int handled;      /* inih passed that line to the handler */
	int problems;     /* count of reported problems */
	mx_cfg_report_fn report;
	void *arg;
};

/* mx_cfg_problem - report and count one problem */
static void
mx_cfg_problem(struct mx_cfg_load *ld, unsigned line, const char *msg)
{
	ld->problems++;
	if (ld->report != NULL)
		ld->report(ld->arg, ld->fname, line, msg);
}

/* mx_cfg_namecmp - compare a key with a table name, '-' equal to '_' */
static int
mx_cfg_namecmp(const char *tabname, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char a = tabname[i], b = name[i];

		if (a == '\0')
			return 1;
		if (b == '-')
			b = '_';
		if (a != b)
			return 1;
	}
	return tabname[len] != '\0';
}

/* mx_cfg_find - look a parameter up by name */
const struct mx_cfg_param *
mx_cfg_find(const struct mx_cfg_param *tab, const char *name, size_t len)
{
	for (; tab->name != NULL; tab++)
		if (mx_cfg_namecmp(tab->name, name, len) == 0)
			return tab;
	return NULL;
}

/* mx_cfg_apply - parse value into the field p describes */
static int
mx_cfg_apply(const struct mx_cfg_param *p, void *conf, const char *value,
    char *err, size_t errlen)
{
	char *field = (char *)conf + p->offset;
	size_t len = strlen(value);
	uint64_t v = 0;
	int b, rc = 0;

	switch (p->type) {
	case MX_CFG_BOOL:
		if ((rc = mx_parse_bool(value, len, &b)) == 0)
			memcpy(field, &b, sizeof(b));
		else
			snprintf(
			    err, errlen, "%s: expected yes or no", p->name);
		return rc;
	case MX_CFG_U64:
		rc = mx_parse_u64(value, len, p->min, p->max, &v);
		break;
	case MX_CFG_SIZE:
		rc = mx_parse_size(value, len, p->min, p->max, &v);
		break;
	case MX_CFG_MS:
		rc = mx_parse_duration_ms(value, len, p->min, p->max, &v);
		break;
	case MX_CFG_STR:
		if (len < p->min || len > p->max) {
			snprintf(err, errlen,
			    "%s: length %zu outside %llu..%llu", p->name, len,
			    (unsigned long long)p->min,
			    (unsigned long long)p->max);
			return MX_ERANGE;
		}
		{
			char **sp = (char **)(void *)field;

			mx_free(*sp);
			*sp = mx_strndup(value, len);
		}
		return 0;
	case MX_CFG_FN:
		err[0] = '\0';
		rc = p->fn(conf, value, err, errlen);
		if (rc != 0 && err[0] == '\0')
			snprintf(
			    err, errlen, "%s: %s", p->name, mx_strerror(rc));
		return rc;
	}
	if (rc == MX_ERANGE)
		snprintf(err, errlen, "%s: value out of range %llu..%llu",
		    p->name, (unsigned long long)p->min,
		    (unsigned long long)p->max);
	else if (rc != 0)
		snprintf(err, errlen, "%s: not a valid %s", p->name,
		    p->type == MX_CFG_U64    ? "number"
		    : p->type == MX_CFG_SIZE ? "size (e.g. 10m)"
		                             : "duration (e.g. 30s)");
	else
		memcpy(field, &v, sizeof(v));
	return rc;
}

/* mx_cfg_set - set one parameter by name */
int
mx_cfg_set(const struct mx_cfg_param *tab, void *conf, const char *name,
    const char *value, char *err, size_t errlen)
{
	const struct mx_cfg_param *p = mx_cfg_find(tab, name, strlen(name));

	if (p == NULL) {
		snprintf(err, errlen, "unknown parameter '%.64s'", name);
		return MX_ENOTFOUND;
	}
	if (strlen(value) > MX_CFG_VALUE_MAX) {
		snprintf(err, errlen, "%s: value longer than %d bytes", p->name,
		    MX_CFG_VALUE_MAX);
		return MX_ETOOBIG;
	}
	return mx_cfg_apply(p, conf, value, err, errlen);
}

/* mx_cfg_init - apply every default */
int
mx_cfg_init(
    const struct mx_cfg_param *tab, void *conf, char *err, size_t errlen)
{
	int rc;

	for (; tab->name != NULL; tab++) {
		if (tab->def == NULL)
			continue;
		if ((rc = mx_cfg_apply(tab, conf, tab->def, err, errlen)) != 0)
			return rc;
	}
	return 0;
}

/* mx_cfg_is_space - the bytes inih's isspace() skips in the C locale */
static int
mx_cfg_is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * mx_cfg_line_check - why inih would misread this line, or NULL
 * *is_pair is set when the line is a key = value pair for the handler.
 */
static const char *
mx_cfg_line_check(const char *s, size_t len, int *is_pair)
{
	size_t i = 0;

	*is_pair = 0;
	if (memchr(s, '\0', len) != NULL)
		return "NUL byte in line";
	/* inih skips all of isspace(), so "\v" or "\f" alone must not hide
	 * a continuation line from the test below */
	while (i < len && mx_cfg_is_space(s[i]))
		i++;
	if (i == len || s[i] == '#' || s[i] == ';')
		return NULL;
	if (s[i] == '[')
		return "sections are not supported; use top-level keys";
	if (i > 0)
		return "continuation lines are not supported";
	/* inih splits at the first '=' or ':'; "key: a = b" would set key
	 * to "a = b" */
	while (i < len && s[i] != '=' && s[i] != ':')
		i++;
	if (i == len || s[i] != '=')
		return "expected 'key = value'";
	*is_pair = 1;
	return NULL;
}

/*
 * mx_cfg_line_done - report a pair inih dropped without calling us
 * A line that passed mx_cfg_line_check must reach the handler; inih
 * drops, for one, "key ;x = 1" (an inline comment before the '='). This
 * catches such lines whatever inih's build options are.
 */
static void
mx_cfg_line_done(struct mx_cfg_load *ld)
{
	if (ld->is_pair && !ld->handled)
		mx_cfg_problem(ld, ld->line, "expected 'key = value'");
	ld->is_pair = 0;
	ld->handled = 0;
}

/*
 * mx_cfg_reader - hand inih one line, counting and vetting lines
 * fgets contract: at most num - 1 bytes and a NUL. A line always ends in
 * '\n' here, so even an inih built to grow its buffer (INI_ALLOW_REALLOC)
 * never asks for the rest of a line and joins two of ours.
 */
static char *
mx_cfg_reader(char *str, int num, void *stream)
{
	struct mx_cfg_load *ld = stream;
	const char *start, *nl, *why;
	size_t len, take = 0;

	mx_cfg_line_done(ld);
	if (ld->pos >= ld->len || num < 2)
		return NULL;
	start = ld->text + ld->pos;
	nl = memchr(start, '\n', ld->len - ld->pos);
	len = nl ? (size_t)(nl - start) : ld->len - ld->pos;
	ld->pos += len + (nl != NULL);
	ld->line++;
	/* the line ending is not part of the line: CRLF reads like LF */
	if (len > 0 && start[len - 1] == '\r')
		len--;
	/* inih drops a BOM only after we vetted the line; drop it first so
	 * that "[section]" or a blank behind it is seen for what it is */
	if (ld->line == 1 && len >= 3 &&
	    memcmp(start, "\xef\xbb\xbf", 3) == 0) {
		start += 3;
		len -= 3;
	}
	if (len > MX_CFG_LINE_MAX || len > (size_t)num - 2)
		mx_cfg_problem(ld, ld->line, "line too long");
	else if ((why = mx_cfg_line_check(start, len, &ld->is_pair)) != NULL)
		mx_cfg_problem(ld, ld->line, why);
	else
		take = len;
	/* a refused line reaches inih as an empty line */
	memcpy(str, start, take);
	str[take] = '\n';
	str[take + 1] = '\0';
	return str;
}

/* mx_cfg_handler - inih callback: one key = value */
static int
mx_cfg_handler(
    void *user, const char *section, const char *name, const char *value)
{
	struct mx_cfg_load *ld = user;
	char err[MX_CFG_ERR_MAX];

	(void)section; /* sections never reach here: the reader refuses them */
	ld->handled = 1;
	if (mx_cfg_set(ld->tab, ld->conf, name, value, err, sizeof(err)) != 0)
		mx_cfg_problem(ld, ld->line, err);
	return 1;
}

/* mx_cfg_load_mem - apply INI text */
int
mx_cfg_load_mem(const struct mx_cfg_param *tab, void *conf, const char *fname,
    const char *text, size_t len, mx_cfg_report_fn report, void *arg)
{
	struct mx_cfg_load ld = {
	    .tab = tab,
	    .conf = conf,
	    .fname = fname,
	    .text = text,
	    .len = len,
	    .report = report,
	    .arg = arg,
	};

	if (len > MX_CFG_FILE_MAX) {
		mx_cfg_problem(&ld, 0, "file too large");
		return ld.problems;
	}
	/* every syntax problem is caught by the reader or by
	 * mx_cfg_line_done, so inih's own return value only repeats a line
	 * already reported */
	(void)ini_parse_stream(mx_cfg_reader, &ld, mx_cfg_handler, &ld);
	mx_cfg_line_done(&ld);
	return ld.problems;
}

/* mx_cfg_load_file - read and apply a file */
int
mx_cfg_load_file(const struct mx_cfg_param *tab, void *conf, const char *path,
    mx_cfg_report_fn report, void *arg)
{
	char msg[MX_CFG_ERR_MAX] = "";
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, problems = 1;

	/* O_NONBLOCK: opening a FIFO must not hang start-up before the
	 * regular-file test; it has no effect on regular files */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "cannot open: %s", strerror(errno));
		goto leave;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(msg, sizeof(msg), "cannot stat: %s", strerror(errno));
		goto leave;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, sizeof(msg), "not a regular file");
		goto leave;
	}
	if (st.st_size > MX_CFG_FILE_MAX) {
		snprintf(msg, sizeof(msg), "file larger than %d bytes",
		    MX_CFG_FILE_MAX);
		goto leave;
	}
	text = mx_malloc((size_t)st.st_size + 1);
	/* a file that shrank meanwhile ends early; one that grew is read
	 * only up to the size that passed the limit */
	while (got < (size_t)st.st_size) {
		n = read(fd, text + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* applying half a file would go unnoticed */
			snprintf(msg, sizeof(msg), "read error: %s",
			    strerror(errno));
			goto leave;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	problems = mx_cfg_load_mem(tab, conf, path, text, got, report, arg);
leave:
	if (msg[0] != '\0' && report != NULL)
		report(arg, path, 0, msg);
	mx_free(text);
	if (fd >= 0)
		close(fd);
	return problems;
}

/* mx_cfg_fini - free owned strings */
void
mx_cfg_fini(const struct mx_cfg_param *tab, void *conf)
{
	for (; tab->name != NULL; tab++) {
		if (tab->type == MX_CFG_STR) {
			char **sp =
			    (char **)(void *)((char *)conf + tab->offset);

			mx_free(*sp);
			*sp = NULL;
		}
	}
}

/* mx_cfg_cli_problem - report one command-line problem */
static void mx_cfg_cli_problem(mx_cfg_report_fn report, void *arg,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
mx_cfg_cli_problem(mx_cfg_report_fn report, void *arg, const char *fmt, ...)
{
	char msg[MX_CFG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (report != NULL)
		report(arg, "command line", 0, msg);
}

/* mx_cfg_load_cli - -c FILE first, then the options over it */
int
mx_cfg_load_cli(const struct mx_cfg_param *tab, void *conf, int argc,
    char **argv, mx_cfg_report_fn report, void *arg, struct mx_cfg_cli *cli)
{
	char err[MX_CFG_ERR_MAX], name[64];
	int i, problems = 0;

	memset(cli, 0, sizeof(*cli));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") != 0 &&
		    strcmp(argv[i], "--config") != 0)
			continue;
		if (i + 1 >= argc) {
			mx_cfg_cli_problem(
			    report, arg, "option %s: needs a file", argv[i]);
			return problems + 1;
		}
		cli->file = argv[++i];
	}
	if (cli->file != NULL)
		problems += mx_cfg_load_file(tab, conf, cli->file, report, arg);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val, *eq;
		const struct mx_cfg_param *p;
		size_t nl;

		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			i++;
		} else if (strcmp(a, "-f") == 0) {
			cli->is_foreground = 1;
		} else if (strcmp(a, "-v") == 0) {
			cli->is_verbose = 1;
		} else if (strcmp(a, "--check-config") == 0) {
			cli->is_check = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cli->is_help = 1;
		} else if (strncmp(a, "--", 2) != 0) {
			mx_cfg_cli_problem(
			    report, arg, "option '%.64s': unknown", a);
			problems++;
		} else {
			a += 2;
			eq = strchr(a, '=');
			nl = eq ? (size_t)(eq - a) : strlen(a);
			p = nl < sizeof(name) ? mx_cfg_find(tab, a, nl) : NULL;
			if (p == NULL) {
				mx_cfg_cli_problem(report, arg,
				    "option --%.*s: unknown",
				    (int)(nl < 64 ? nl : 64), a);
				problems++;
				continue;
			}
			memcpy(name, a, nl);
			name[nl] = '\0';
			if (eq != NULL) {
				val = eq + 1;
			} else if (p->type == MX_CFG_BOOL &&
			           (i + 1 >= argc || argv[i + 1][0] == '-')) {
				val = "yes"; /* a boolean flag alone */
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				mx_cfg_cli_problem(report, arg,
				    "option --%s: needs a value", name);
				problems++;
				continue;
			}
			if (mx_cfg_set(
			        tab, conf, name, val, err, sizeof(err)) != 0) {
				mx_cfg_cli_problem(
				    report, arg, "option --%s: %s", name, err);
				problems++;
			}
		}
	}
	return problems;
}

/* mx_cfg_usage - the option list, spelled with dashes */
void
mx_cfg_usage(const struct mx_cfg_param *tab, const char *usage, FILE *out)
{
	fprintf(out, "%s\n", usage);
	for (; tab->name != NULL; tab++) {
		char opt[64];
		size_t i;

		for (i = 0; tab->name[i] != '\0' && i < sizeof(opt) - 1; i++)
			opt[i] = tab->name[i] == '_' ? '-' : tab->name[i];
		opt[i] = '\0';
		fprintf(out, "  --%-24s %s%s%s%s\n", opt, tab->help,
		    tab->def && tab->def[0] ? " [" : "",
		    tab->def ? tab->def : "",
		    tab->def && tab->def[0] ? "]" : "");
	}
}

/* mx_cfg_read_secret - a small secret file, trimmed */
long
mx_cfg_read_secret(
    const char *path, char *out, size_t max, char *err, size_t errlen)
{
	size_t len = 0;
	ssize_t n;
	long rc = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(err, errlen, "cannot open '%.256s': %s", path,
		    strerror(errno));
		return -1;
	}
	while (len < max + 2 && (n = read(fd, out + len, max + 2 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot read '%.256s': %s", path,
			    strerror(errno));
			goto leave;
		}
		len += (size_t)n;
	}
	/* max + 2 bytes read: more is there, whatever it ends with */
	if (len < max + 2)
		while (
		    len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r' ||
		                   out[len - 1] == ' ' || out[len - 1] == '\t'))
			len--;
	if (len > max) {
		snprintf(err, errlen, "'%.256s' holds more than %zu bytes",
		    path, max);
		goto leave;
	}
	out[len] = '\0';
	rc = (long)len;
leave:
	if (rc < 0)
		explicit_bzero(out, max + 2);
	close(fd);
	return rc;
}

/* mx_cfg_broker_problem - report one broker setting problem */
static int mx_cfg_broker_problem(mx_cfg_report_fn report, void *arg,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int
mx_cfg_broker_problem(mx_cfg_report_fn report, void *arg, const char *fmt, ...)
{
	char msg[MX_CFG_ERR_MAX + 300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (report != NULL)
		report(arg, "", 0, msg);
	return 1;
}

/* mx_cfg_broker_check - the shared broker settings */
int
mx_cfg_broker_check(const struct mx_cfg_broker *b, char *host, size_t hostlen,
    uint16_t *port, char *password, size_t pwmax, mx_cfg_report_fn report,
    void *arg)
{
	static const struct {
		const char *name;
		size_t off;
	} files[] = {
	    {"broker_cafile", offsetof(struct mx_cfg_broker, cafile)},
	    {"broker_certfile", offsetof(struct mx_cfg_broker, certfile)},
	    {"broker_keyfile", offsetof(struct mx_cfg_broker, keyfile)},
	};
	char err[MX_CFG_ERR_MAX];
	int problems = 0;
	size_t i;
	long n;

	password[0] = '\0';
	if (b->broker[0] != '\0' &&
	    mx_parse_hostport(
	        b->broker, strlen(b->broker), host, hostlen, port) != 0)
		problems += mx_cfg_broker_problem(
		    report, arg, "broker: '%.64s' is not HOST:PORT", b->broker);
	if ((b->certfile[0] != '\0') != (b->keyfile[0] != '\0'))
		problems += mx_cfg_broker_problem(report, arg,
		    "broker_certfile and broker_keyfile go together");
	if (b->certfile[0] != '\0' && b->cafile[0] == '\0')
		problems += mx_cfg_broker_problem(
		    report, arg, "broker_certfile: needs broker_cafile (TLS)");
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *path =
		    *(const char *const *)(const void *)((const char *)b +
		                                         files[i].off);

		if (path[0] != '\0' && access(path, R_OK) != 0)
			problems += mx_cfg_broker_problem(report, arg,
			    "%s: cannot read '%.256s'", files[i].name, path);
	}
	if (b->password_file[0] == '\0')
		return problems;
	if (b->username[0] == '\0')
		return problems + mx_cfg_broker_problem(report, arg,
		                      "broker_password_file: needs "
		                      "broker_username");
	n = mx_cfg_read_secret(
	    b->password_file, password, pwmax - 2, err, sizeof(err));
	if (n < 0)
		return problems + mx_cfg_broker_problem(report, arg,
		                      "broker_password_file: %s", err);
	if (n == 0)
		return problems + mx_cfg_broker_problem(report, arg,
		                      "broker_password_file: '%.256s' is empty",
		                      b->password_file);
	return problems;
}

/* mx_cfg_report_stderr - one problem on stderr */
void
mx_cfg_report_stderr(
    void *arg, const char *file, unsigned line, const char *msg)
{
	(void)arg;
	if (file[0] == '\0')
		fprintf(stderr, "%s\n", msg);
	else if (line > 0)
		fprintf(stderr, "%s:%u: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}
