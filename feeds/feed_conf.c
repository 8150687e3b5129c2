/*
 * feed_conf.c - mxfeed's parameter table, command line and checks
 *
 * One table names every parameter with its default and bounds (the key
 * is the struct field; --key-name on the command line). The command line
 * also carries what is not configuration: the list files (positional;
 * "-" is stdin) and the per-run flags --dry-run and --force, which a
 * config file must never set. They are taken out of argv before the rest
 * goes to mx_cfg_load_cli, using the table to know which options take a
 * value. Checks that span parameters, and the signing key, are done
 * here, so a bad configuration is refused at start with every problem
 * listed.
 * Trust: the command line and config file are the operator's; the key
 * file is read with OpenSSL's PEM reader and must be Ed25519.
 */
#include "feeds/feed.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "feeds/feed_submit.h"
#include "lib/mx_alloc.h"
#include "lib/mx_cfg.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "lib/mx_parse.h"
#include "proto/proto_topic.h"

#define FEED_CONF_OFF(f) offsetof(struct feed_conf, f)

static int feed_conf_score_fn(
    void *conf, const char *value, char *err, size_t errlen);
static int feed_conf_own_fn(
    void *conf, const char *value, char *err, size_t errlen);
static int feed_conf_allow_fn(
    void *conf, const char *value, char *err, size_t errlen);
static int feed_conf_pnet_fn(
    void *conf, const char *value, char *err, size_t errlen);
static int feed_conf_pdom_fn(
    void *conf, const char *value, char *err, size_t errlen);
static int feed_conf_adom_fn(
    void *conf, const char *value, char *err, size_t errlen);

static const struct mx_cfg_param feed_conf_table[] = {
    {"source", MX_CFG_STR, FEED_CONF_OFF(source), "", 0, PROTO_ID_MAX, NULL,
        "feed source id: topic, state and the hub's feed_key (required)"},
    {"who", MX_CFG_STR, FEED_CONF_OFF(who), "mxfeed", 1, PROTO_ID_MAX, NULL,
        "submitter identity in the hub's audit log"},
    {"key", MX_CFG_STR, FEED_CONF_OFF(key), "", 0, 4096, NULL,
        "Ed25519 private key (PEM) of this feed (required)"},
    {"state_dir", MX_CFG_STR, FEED_CONF_OFF(state_dir), "/var/lib/mxfeed", 1,
        4000, NULL, "the last import of each source lives in DIR/SOURCE/"},
    {"format", MX_CFG_STR, FEED_CONF_OFF(format), "auto", 1, 16, NULL,
        "auto, drop, ip, domain or hosts"},
    {"action", MX_CFG_STR, FEED_CONF_OFF(action), "reject", 1, 16, NULL,
        "action of the records: reject, tempfail, tag, score, allow"},
    {"score", MX_CFG_FN, 0, "0", 0, 0, feed_conf_score_fn,
        "score of the records (-1000..1000)"},
    {"ttl", MX_CFG_MS, FEED_CONF_OFF(ttl), "0", 0, 31536000000ULL, NULL,
        "records expire after this unless renewed (0: never)"},
    {"max_bad_share", MX_CFG_U64, FEED_CONF_OFF(max_bad_share), "10", 0, 100,
        NULL, "percent of bad lines that refuses a whole file"},
    {"max_change_share", MX_CFG_U64, FEED_CONF_OFF(max_change_share), "50", 0,
        10000, NULL,
        "percent of the last import added or removed that holds the "
        "import for --force"},
    {"min_prefix_v4", MX_CFG_U64, FEED_CONF_OFF(min_prefix_v4), "8", 0, 32,
        NULL, "shortest IPv4 prefix taken"},
    {"min_prefix_v6", MX_CFG_U64, FEED_CONF_OFF(min_prefix_v6), "32", 0, 128,
        NULL, "shortest IPv6 prefix taken"},
    {"allow_private", MX_CFG_BOOL, FEED_CONF_OFF(allow_private), "no", 0, 1,
        NULL, "take private and reserved address space"},
    {"allow_wide", MX_CFG_BOOL, FEED_CONF_OFF(allow_wide), "no", 0, 1, NULL,
        "take networks wider than min_prefix_* and bare TLDs"},
    {"own_net", MX_CFG_FN, 0, NULL, 0, 0, feed_conf_own_fn,
        "a network of this deployment: never listed (repeatable)"},
    {"allow_net", MX_CFG_FN, 0, NULL, 0, 0, feed_conf_allow_fn,
        "an allow-listed network: never listed (repeatable)"},
    {"provider_net", MX_CFG_FN, 0, NULL, 0, 0, feed_conf_pnet_fn,
        "a mail provider's network: never listed (repeatable)"},
    {"provider_domain", MX_CFG_FN, 0, NULL, 0, 0, feed_conf_pdom_fn,
        "a mail provider's domain: never listed (repeatable)"},
    {"provider_defaults", MX_CFG_BOOL, FEED_CONF_OFF(guard.provider_defaults),
        "yes", 0, 1, NULL, "also guard the built-in large mail providers"},
    {"allow_domain", MX_CFG_FN, 0, NULL, 0, 0, feed_conf_adom_fn,
        "an allow-listed domain: never listed (repeatable)"},
    {"max_entries", MX_CFG_U64, FEED_CONF_OFF(max_entries), "1000000", 1,
        50000000, NULL, "entries of one import at most"},
    {"max_input_size", MX_CFG_SIZE, FEED_CONF_OFF(max_input_size), "256m", 1024,
        (uint64_t)1 << 34, NULL, "bytes of one list file at most"},
    {"state_map_size", MX_CFG_SIZE, FEED_CONF_OFF(state_map_size), "1g",
        1 << 20, (uint64_t)1 << 40, NULL, "LMDB map of the state"},
    {"publish_timeout", MX_CFG_MS, FEED_CONF_OFF(publish_timeout), "30s", 100,
        600000, NULL, "connect, and wait for the broker's PUBACKs"},
    {"confirm_hub", MX_CFG_STR, FEED_CONF_OFF(confirm_hub), "", 0, PROTO_ID_MAX,
        NULL,
        "the baseline moves only once this hub's updates carry the import"},
    {"hub_key", MX_CFG_STR, FEED_CONF_OFF(hub_key), "", 0, 4096, NULL,
        "the hub's public key (PEM): confirmations verify batches"},
    {"confirm_time", MX_CFG_MS, FEED_CONF_OFF(confirm_time), "60s", 100,
        3600000, NULL, "wait this long for the confirmation"},
    {"broker", MX_CFG_STR, FEED_CONF_OFF(broker), "127.0.0.1:1883", 1, 300,
        NULL, "MQTT broker HOST:PORT"},
    {"broker_cafile", MX_CFG_STR, FEED_CONF_OFF(broker_cafile), "", 0, 4096,
        NULL, "CA file: TLS to the broker"},
    {"broker_certfile", MX_CFG_STR, FEED_CONF_OFF(broker_certfile), "", 0, 4096,
        NULL, "client certificate for the broker"},
    {"broker_keyfile", MX_CFG_STR, FEED_CONF_OFF(broker_keyfile), "", 0, 4096,
        NULL, "client key for the broker"},
    {"broker_username", MX_CFG_STR, FEED_CONF_OFF(broker_username), "", 0, 256,
        NULL, "MQTT user name"},
    {"broker_password_file", MX_CFG_STR, FEED_CONF_OFF(broker_password_file),
        "", 0, 4096, NULL, "file holding the MQTT password"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* feed_conf_score_fn - a signed score */
static int
feed_conf_score_fn(void *conf, const char *value, char *err, size_t errlen)
{
	struct feed_conf *c = conf;
	int64_t v;

	if (mx_parse_i64(value, strlen(value), -FEED_SCORE_MAX, FEED_SCORE_MAX,
	        &v) != 0) {
		snprintf(err, errlen, "score: '%.32s' is not %d..%d", value,
		    -FEED_SCORE_MAX, FEED_SCORE_MAX);
		return MX_ERANGE;
	}
	c->score = (int32_t)v;
	return 0;
}

/* feed_conf_own_fn - own_net */
static int
feed_conf_own_fn(void *conf, const char *value, char *err, size_t errlen)
{
	struct feed_conf *c = conf;

	return feed_guard_net_add(
	    &c->guard.own, value, strlen(value), err, errlen);
}

/* feed_conf_allow_fn - allow_net */
static int
feed_conf_allow_fn(void *conf, const char *value, char *err, size_t errlen)
{
	struct feed_conf *c = conf;

	return feed_guard_net_add(
	    &c->guard.allow, value, strlen(value), err, errlen);
}

/* feed_conf_pnet_fn - provider_net */
static int
feed_conf_pnet_fn(void *conf, const char *value, char *err, size_t errlen)
{
	struct feed_conf *c = conf;

	return feed_guard_net_add(
	    &c->guard.provider, value, strlen(value), err, errlen);
}

/* feed_conf_pdom_fn - provider_domain */
static int
feed_conf_pdom_fn(void *conf, const char *value, char *err, size_t errlen)
{
	struct feed_conf *c = conf;

	return feed_guard_dom_add(
	    &c->guard.provider_dom, value, strlen(value), err, errlen);
}

/* feed_conf_adom_fn - allow_domain */
static int
feed_conf_adom_fn(void *conf, const char *value, char *err, size_t errlen)
{
	struct feed_conf *c = conf;

	return feed_guard_dom_add(
	    &c->guard.allow_dom, value, strlen(value), err, errlen);
}

/* feed_conf_check - what spans parameters; the key */
static int
feed_conf_check(struct feed_conf *c, const struct feed_args *a)
{
	int problems = 0, rc;

	if (proto_id_check(c->source, strlen(c->source)) != 0) {
		fprintf(stderr,
		    "source: '%.64s' is not 1..64 of [A-Za-z0-9._-] "
		    "(required)\n",
		    c->source);
		problems++;
	}
	if (proto_id_check(c->who, strlen(c->who)) != 0) {
		fprintf(stderr, "who: '%.64s' is not 1..64 of [A-Za-z0-9._-]\n",
		    c->who);
		problems++;
	}
	if ((rc = feed_format_parse(c->format, strlen(c->format))) < 0) {
		fprintf(stderr,
		    "format: '%.16s' is not auto, drop, ip, domain or "
		    "hosts\n",
		    c->format);
		problems++;
	} else {
		c->fmt = rc;
	}
	if ((rc = proto_action_parse(c->action, strlen(c->action))) < 0) {
		fprintf(stderr,
		    "action: '%.16s' is not reject, tempfail, tag, score or "
		    "allow\n",
		    c->action);
		problems++;
	} else {
		c->act = (uint8_t)rc;
	}
	if (c->key[0] == '\0') {
		fprintf(stderr, "key: no signing key configured (required)\n");
		problems++;
	} else if ((rc = proto_key_load_private(c->key, &c->sign_key)) != 0) {
		fprintf(stderr, "key: cannot load private key '%.256s': %s\n",
		    c->key, mx_strerror(rc));
		problems++;
	}
	problems += feed_submit_check_confirm(
	    c->confirm_hub, c->hub_key, &c->verify_key);
	if (c->broker[0] == '\0') {
		fprintf(stderr, "broker: empty (required)\n");
		problems++;
	} else {
		struct mx_cfg_broker b = {c->broker, c->broker_cafile,
		    c->broker_certfile, c->broker_keyfile, c->broker_username,
		    c->broker_password_file};

		problems += mx_cfg_broker_check(&b, c->broker_host,
		    sizeof(c->broker_host), &c->broker_port, c->broker_password,
		    sizeof(c->broker_password), mx_cfg_report_stderr, NULL);
	}
	if (access(c->state_dir, a->is_dry_run ? X_OK : W_OK | X_OK) != 0) {
		fprintf(stderr, "state_dir: '%.256s' is not a %sdirectory\n",
		    c->state_dir, a->is_dry_run ? "" : "writable ");
		problems++;
	}
	if (a->n_files == 0 && !a->is_check) {
		fprintf(stderr, "no list file given ('-' reads stdin)\n");
		problems++;
	}
	c->rules.min_prefix_v4 = (unsigned)c->min_prefix_v4;
	c->rules.min_prefix_v6 = (unsigned)c->min_prefix_v6;
	c->rules.allow_private = c->allow_private;
	c->rules.allow_wide = c->allow_wide;
	return problems;
}

/*
 * feed_conf_split - take files, --dry-run and --force out of argv; the
 * rest (argv[0] first) goes to mx_cfg_load_cli
 */
static char **
feed_conf_split(int argc, char **argv, struct feed_args *a, int *n_rest)
{
	char **rest = mx_calloc((size_t)argc + 1, sizeof(*rest));
	int i, n = 0, is_files_only = 0;

	a->files = mx_calloc((size_t)argc + 1, sizeof(*a->files));
	rest[n++] = argv[0];
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];
		const struct mx_cfg_param *p;
		size_t nl;

		if (is_files_only || strcmp(s, "-") == 0 || s[0] != '-') {
			a->files[a->n_files++] = argv[i];
		} else if (strcmp(s, "--") == 0) {
			is_files_only = 1;
		} else if (strcmp(s, "--dry-run") == 0) {
			a->is_dry_run = 1;
		} else if (strcmp(s, "--force") == 0) {
			a->is_force = 1;
		} else if (strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0) {
			rest[n++] = argv[i];
			if (i + 1 < argc)
				rest[n++] = argv[++i];
		} else if (strncmp(s, "--", 2) != 0 || strchr(s, '=') != NULL) {
			rest[n++] = argv[i]; /* -f, -v, --NAME=VALUE, unknown */
		} else {
			rest[n++] = argv[i];
			nl = strlen(s + 2);
			p = mx_cfg_find(feed_conf_table, s + 2, nl);
			if (p == NULL || i + 1 >= argc)
				continue; /* reported by mx_cfg_load_cli */
			if (p->type == MX_CFG_BOOL) {
				int v;

				/* a boolean takes the next word only if it
				 * is one: "--allow-wide list.txt" is a file */
				if (mx_parse_bool(argv[i + 1],
				        strlen(argv[i + 1]), &v) == 0)
					rest[n++] = argv[++i];
			} else {
				rest[n++] = argv[++i];
			}
		}
	}
	rest[n] = NULL;
	*n_rest = n;
	return rest;
}

/* feed_conf_usage - the option list */
void
feed_conf_usage(FILE *out)
{
	mx_cfg_usage(feed_conf_table,
	    "usage: mxfeed [-c FILE] [-v] [--check-config] [--dry-run] "
	    "[--force] [--NAME VALUE ...] LIST... ('-' reads stdin)",
	    out);
}

/* feed_conf_free - key and strings */
void
feed_conf_free(struct feed_conf *c)
{
	if (c == NULL)
		return;
	proto_key_free(c->sign_key);
	proto_key_free(c->verify_key);
	explicit_bzero(c->broker_password, sizeof(c->broker_password));
	mx_cfg_fini(feed_conf_table, c);
	mx_free(c);
}

/* feed_conf_load - defaults, the file, the options, then the checks */
struct feed_conf *
feed_conf_load(int argc, char **argv, struct feed_args *a)
{
	struct feed_conf *c = mx_calloc(1, sizeof(*c));
	struct mx_cfg_cli cli;
	char err[MX_CFG_ERR_MAX];
	char **rest;
	int problems, n_rest;

	memset(a, 0, sizeof(*a));
	if (mx_cfg_init(feed_conf_table, c, err, sizeof(err)) != 0)
		mx_panic("feed_conf_table default: %s", err);
	rest = feed_conf_split(argc, argv, a, &n_rest);
	problems = mx_cfg_load_cli(
	    feed_conf_table, c, n_rest, rest, mx_cfg_report_stderr, NULL, &cli);
	mx_free(rest);
	a->is_check = cli.is_check;
	c->verbose = cli.is_verbose;
	if (cli.is_help) {
		feed_conf_usage(stderr);
		problems++;
	}
	if (problems == 0)
		problems += feed_conf_check(c, a);
	if (problems > 0) {
		feed_conf_free(c);
		return NULL;
	}
	return c;
}
