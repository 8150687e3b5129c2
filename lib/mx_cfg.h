/*
 * mx_cfg.h - configuration tables, INI files and command-line values
 *
 * Each program describes its parameters in one table (name, type, default,
 * minimum, maximum), like Postfix's VAR_/DEF_ tables. The config key is
 * the struct field's name (smtp_line_limit); on the command line the same
 * parameter is --smtp-line-limit. Files are INI (parsed with inih), top
 * level keys only; every problem is reported with file and line, and
 * loading goes on so that one run shows them all.
 * Trust: config files are operator input, but a typo must never crash or
 * be silently ignored. Limits: MX_CFG_LINE_MAX bytes per line,
 * MX_CFG_VALUE_MAX per value, MX_CFG_FILE_MAX per file. MX_CFG_LINE_MAX
 * is inih's INI_MAX_LINE (200) less the '\n' and NUL each line reaches
 * inih with; a line's "\n" or "\r\n" does not count.
 */
#ifndef MX_CFG_H
#define MX_CFG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MX_CFG_LINE_MAX 198           /* per line, without "\n"; see below */
#define MX_CFG_VALUE_MAX 1024         /* longest value (mx_cfg_set) */
#define MX_CFG_FILE_MAX (1024 * 1024) /* longest config file */
#define MX_CFG_ERR_MAX 256            /* size of an error message buffer */

enum mx_cfg_type {
	MX_CFG_BOOL, /* int: 0 or 1 */
	MX_CFG_U64,  /* uint64_t, plain decimal */
	MX_CFG_SIZE, /* uint64_t bytes, suffix k/m/g allowed */
	MX_CFG_MS,   /* uint64_t milliseconds, suffix ms/s/m/h/d */
	MX_CFG_STR,  /* char *, owned by the config; freed by mx_cfg_fini */
	MX_CFG_FN,   /* repeatable or structured: fn parses each value */
};

/*
 * mx_cfg_fn - parse one value of an MX_CFG_FN parameter into conf
 * Returns 0, or a negative MX_E* code with a reason written to err.
 */
typedef int (*mx_cfg_fn)(
    void *conf, const char *value, char *err, size_t errlen);

struct mx_cfg_param {
	const char *name; /* key; equals the struct field name */
	enum mx_cfg_type type;
	size_t offset;    /* offsetof(conf, field); unused for MX_CFG_FN */
	const char *def;  /* default as text, or NULL for none */
	uint64_t min;     /* numeric minimum (or minimum string length) */
	uint64_t max;     /* numeric maximum (or maximum string length) */
	mx_cfg_fn fn;     /* MX_CFG_FN only */
	const char *help; /* one line for --help and docs */
};

/*
 * mx_cfg_report_fn - called once per problem in a file
 * file and line locate it (line 0: the file as a whole); msg says what.
 */
typedef void (*mx_cfg_report_fn)(
    void *arg, const char *file, unsigned line, const char *msg);

/*
 * mx_cfg_init - zero-initialised conf gets every default from tab
 * tab ends with an entry whose name is NULL. Returns 0, or the error of
 * a bad default (a program bug) with the reason in err.
 */
int mx_cfg_init(
    const struct mx_cfg_param *tab, void *conf, char *err, size_t errlen);

/*
 * mx_cfg_find - the entry for name (len bytes; '-' matches '_'), or NULL
 */
const struct mx_cfg_param *mx_cfg_find(
    const struct mx_cfg_param *tab, const char *name, size_t len);

/*
 * mx_cfg_set - parse value for the parameter called name
 * Returns 0; MX_ENOTFOUND for an unknown name; MX_EINVAL or MX_ERANGE
 * (or the fn's code) for a bad value. err always says why on failure.
 * The previous value is kept on failure.
 */
int mx_cfg_set(const struct mx_cfg_param *tab, void *conf, const char *name,
    const char *value, char *err, size_t errlen);

/*
 * mx_cfg_load_mem - apply an INI text (len bytes) named fname
 * Each line is blank, a comment ('#' or ';' first), or "key = value" with
 * the key in column 1; a ';' after a blank in a value starts a comment.
 * Sections, continuation lines, "key: value", NUL bytes and lines over
 * MX_CFG_LINE_MAX are problems; a UTF-8 BOM and CRLF endings are fine.
 * Reports each problem through report (may be NULL) and returns how many
 * there were; good lines are applied even when others are bad.
 */
int mx_cfg_load_mem(const struct mx_cfg_param *tab, void *conf,
    const char *fname, const char *text, size_t len, mx_cfg_report_fn report,
    void *arg);

/*
 * mx_cfg_load_file - read path (at most MX_CFG_FILE_MAX bytes) and apply it
 * Returns the number of problems; an unreadable or oversized file is one
 * problem, reported with line 0.
 */
int mx_cfg_load_file(const struct mx_cfg_param *tab, void *conf,
    const char *path, mx_cfg_report_fn report, void *arg);

/* what mx_cfg_load_cli found besides parameters */
struct mx_cfg_cli {
	const char *file;  /* -c FILE / --config FILE, or NULL */
	int is_foreground; /* -f: log to stderr, stay in front */
	int is_verbose;    /* -v: debug logging */
	int is_check;      /* --check-config: validate and exit */
	int is_help;       /* -h / --help */
};

/*
 * mx_cfg_load_cli - the file named by -c, then every --NAME VALUE (or
 * --NAME=VALUE; a boolean alone means yes) over conf, in that order, so
 * the command line overrides the file. Problems go to report, with file
 * "command line" and line 0 for options. Returns how many there were.
 */
int mx_cfg_load_cli(const struct mx_cfg_param *tab, void *conf, int argc,
    char **argv, mx_cfg_report_fn report, void *arg, struct mx_cfg_cli *cli);

/*
 * mx_cfg_report_stderr - an mx_cfg_report_fn for programs: "FILE:LINE:
 * msg", "FILE: msg" for line 0, and msg alone when file is "" (a message
 * that names its parameter itself)
 */
void mx_cfg_report_stderr(
    void *arg, const char *file, unsigned line, const char *msg);

/* mx_cfg_usage - one line per parameter (option, help, default) to out */
void mx_cfg_usage(const struct mx_cfg_param *tab, const char *usage, FILE *out);

/*
 * mx_cfg_read_secret - read a secret file (password, salt) of at most max
 * bytes into out (max + 2 bytes of room), trailing white space removed,
 * NUL-ended. Returns the length, or -1 with why in err (and out wiped).
 */
long mx_cfg_read_secret(
    const char *path, char *out, size_t max, char *err, size_t errlen);

/* the broker settings every MQTT client of ours shares (config strings) */
struct mx_cfg_broker {
	const char *broker;   /* HOST:PORT, "" = none */
	const char *cafile;   /* TLS when set */
	const char *certfile; /* client certificate, with keyfile */
	const char *keyfile;
	const char *username;
	const char *password_file; /* needs username */
};

/*
 * mx_cfg_broker_check - validate b: HOST:PORT into host/port (when b->broker
 * is set), certificate and key together and only with a CA file, each
 * file readable, a password file only with a user name; the password
 * (trimmed, at most pwmax - 1 bytes, not empty) into password. Each
 * problem goes to report (file "", line 0) naming the parameter,
 * never the password. Returns the number of problems.
 */
int mx_cfg_broker_check(const struct mx_cfg_broker *b, char *host,
    size_t hostlen, uint16_t *port, char *password, size_t pwmax,
    mx_cfg_report_fn report, void *arg);

/* mx_cfg_fini - free the strings the config owns; conf can be reused */
void mx_cfg_fini(const struct mx_cfg_param *tab, void *conf);

#endif /* MX_CFG_H */
