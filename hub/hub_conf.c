/*
 * hub_conf.c - mxhub's parameter table and its checks
 *
 * One table names every parameter with its default and bounds (the key is
 * the struct field; --key-name on the command line). Checks that span
 * parameters, the signing key and the feed keys are read here, so a bad
 * configuration is refused at start with every problem listed.
 * Trust: the command line and config file are the operator's; key files
 * are read with OpenSSL's PEM reader and must be Ed25519.
 */
#include "hub/hub.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/mx_alloc.h"
#include "lib/mx_cfg.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "lib/mx_parse.h"
#include "proto/proto_topic.h"

#define HUB_CONF_OFF(f) offsetof(struct hub_conf, f)

static int hub_conf_feed_fn(
    void *conf, const char *value, char *err, size_t errlen);

static const struct mx_cfg_param hub_conf_table[] = {
    {"hub_id", MX_CFG_STR, HUB_CONF_OFF(hub_id), "", 0, PROTO_ID_MAX, NULL,
        "this hub's id in topics and batches (required)"},
    {"data_dir", MX_CFG_STR, HUB_CONF_OFF(data_dir), "/var/lib/mxhub", 1, 4000,
        NULL, "records/, counters/ and audit.log live here"},
    {"key", MX_CFG_STR, HUB_CONF_OFF(key), "", 0, 4096, NULL,
        "Ed25519 private key (PEM) that signs updates (required)"},
    {"feed_key", MX_CFG_FN, 0, NULL, 0, 0, hub_conf_feed_fn,
        "SOURCE=PEMFILE: a feed or analyst allowed to submit (repeatable)"},
    {"metrics", MX_CFG_STR, HUB_CONF_OFF(metrics), "", 0, 80, NULL,
        "HOST:PORT of /metrics and /healthz (empty: off)"},
    {"query", MX_CFG_STR, HUB_CONF_OFF(query), "", 0, 80, NULL,
        "HOST:PORT of the analyst queries (mxctl show/top; empty: off)"},
    {"query_token_file", MX_CFG_STR, HUB_CONF_OFF(query_token_file), "", 0,
        4096, NULL,
        "file holding the bearer token queries need (required off loopback)"},
    {"broker", MX_CFG_STR, HUB_CONF_OFF(broker), "127.0.0.1:1883", 1, 300, NULL,
        "MQTT broker HOST:PORT"},
    {"broker_cafile", MX_CFG_STR, HUB_CONF_OFF(broker_cafile), "", 0, 4096,
        NULL, "CA file: TLS to the broker"},
    {"broker_certfile", MX_CFG_STR, HUB_CONF_OFF(broker_certfile), "", 0, 4096,
        NULL, "client certificate for the broker"},
    {"broker_keyfile", MX_CFG_STR, HUB_CONF_OFF(broker_keyfile), "", 0, 4096,
        NULL, "client key for the broker"},
    {"broker_username", MX_CFG_STR, HUB_CONF_OFF(broker_username), "", 0, 256,
        NULL, "MQTT user name"},
    {"broker_password_file", MX_CFG_STR, HUB_CONF_OFF(broker_password_file), "",
        0, 4096, NULL, "file holding the MQTT password"},
    {"batch_time", MX_CFG_MS, HUB_CONF_OFF(batch_time), "50ms", 1, 60000, NULL,
        "changes are published this often"},
    {"snapshot_time", MX_CFG_MS, HUB_CONF_OFF(snapshot_time), "5m", 100,
        86400000, NULL, "a full snapshot is published this often"},
    {"snapshot_min_time", MX_CFG_MS, HUB_CONF_OFF(snapshot_min_time), "2s", 100,
        3600000, NULL, "an edge that lags gets a snapshot, at most this often"},
    {"counter_commit_time", MX_CFG_MS, HUB_CONF_OFF(counter_commit_time), "1s",
        10, 60000, NULL,
        "counters are committed this often (a crash loses at most this)"},
    {"half_life", MX_CFG_MS, HUB_CONF_OFF(half_life), "1h", 1000, 2592000000u,
        NULL, "counters halve in this time"},
    {"record_ttl", MX_CFG_MS, HUB_CONF_OFF(record_ttl), "6h", 1000, 2592000000u,
        NULL, "a rule's record expires unless renewed"},
    {"counter_entries", MX_CFG_U64, HUB_CONF_OFF(counter_entries), "1000000",
        100, 100000000, NULL, "counter keys kept per kind"},
    {"store_map_size", MX_CFG_SIZE, HUB_CONF_OFF(store_map_size), "1g", 1 << 20,
        (uint64_t)1 << 40, NULL, "LMDB map of the record store"},
    {"counter_map_size", MX_CFG_SIZE, HUB_CONF_OFF(counter_map_size), "2g",
        1 << 20, (uint64_t)1 << 40, NULL, "LMDB map of the counters"},
    {"rule_score", MX_CFG_U64, HUB_CONF_OFF(rule_score), "10", 0, 1000, NULL,
        "score of a rule's record"},
    {"rule_trap_hits", MX_CFG_U64, HUB_CONF_OFF(rule_trap_hits), "1", 0,
        1000000, NULL, "spam-trap hits that make a record (0: off)"},
    {"rule_trap_action", MX_CFG_STR, HUB_CONF_OFF(rule_trap_action), "reject",
        1, 16, NULL, "action of a trap hitter's record"},
    {"rule_dict_unknown", MX_CFG_U64, HUB_CONF_OFF(rule_dict_unknown), "10", 0,
        1000000, NULL, "unknown recipients that make a record (0: off)"},
    {"rule_dict_ratio", MX_CFG_U64, HUB_CONF_OFF(rule_dict_ratio), "50", 1, 100,
        NULL, "... when at least this percent of recipients"},
    {"rule_dict_action", MX_CFG_STR, HUB_CONF_OFF(rule_dict_action), "reject",
        1, 16, NULL, "action of a dictionary attacker's record"},
    {"rule_proto_hits", MX_CFG_U64, HUB_CONF_OFF(rule_proto_hits), "5", 0,
        1000000, NULL, "protocol violations that make a record (0: off)"},
    {"rule_proto_action", MX_CFG_STR, HUB_CONF_OFF(rule_proto_action),
        "tempfail", 1, 16, NULL, "action of a protocol abuser's record"},
    {"rule_net_bad_ips", MX_CFG_U64, HUB_CONF_OFF(rule_net_bad_ips), "4", 0,
        65536, NULL, "bad IPs that make a /24 or /48 record (0: off)"},
    {"rule_net_action", MX_CFG_STR, HUB_CONF_OFF(rule_net_action), "reject", 1,
        16, NULL, "action of a bad network's record"},
    {"rule_fp_sources", MX_CFG_U64, HUB_CONF_OFF(rule_fp_sources), "3", 0,
        1000000, NULL, "sources of one fingerprint for a record (0: off)"},
    {"rule_fp_traps", MX_CFG_U64, HUB_CONF_OFF(rule_fp_traps), "1", 1, 1000000,
        NULL, "... that also hit this many spam traps"},
    {"rule_fp_action", MX_CFG_STR, HUB_CONF_OFF(rule_fp_action), "reject", 1,
        16, NULL, "action of a bulk fingerprint's records"},
    {"rule_rcpt_unknown", MX_CFG_U64, HUB_CONF_OFF(rule_rcpt_unknown), "2", 0,
        1000000, NULL,
        "unknown-user answers that list a recipient network-wide (0: off)"},
    {"rule_rcpt_ttl", MX_CFG_MS, HUB_CONF_OFF(rule_rcpt_ttl), "1h", 1000,
        2592000000u, NULL, "a listed unknown recipient expires after this"},
    {"telemetry_filter", MX_CFG_STR, HUB_CONF_OFF(telemetry_filter),
        "mxs/v1/telemetry/#", 1, 1000, NULL,
        "telemetry this hub takes: comma-separated MQTT filters (shards)"},
    {"observe_time", MX_CFG_MS, HUB_CONF_OFF(observe_time), "0", 0, 2592000000u,
        NULL, "new records of observe_rules observe this long first (0: off)"},
    {"observe_rules", MX_CFG_STR, HUB_CONF_OFF(observe_rules), "fp,net", 0, 64,
        NULL, "rules (trap,dict,proto,net,fp,rcpt) that observe first"},
    {"breaker_volume", MX_CFG_U64, HUB_CONF_OFF(breaker_volume), "50", 1,
        100000000, NULL, "a clean IP with this many transactions is good"},
    {"rule_dict_pops", MX_CFG_U64, HUB_CONF_OFF(rule_dict_pops), "2", 0, 1000,
        NULL, "POPs a source collects unknown answers at (0: off)"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* hub_conf_feed_unique - k is no key configured yet (for any source) */
static int
hub_conf_feed_unique(const struct hub_conf *c, const struct proto_key *k,
    const char *source, size_t sl, char *err, size_t errlen)
{
	uint8_t a[32], b[32];
	size_t i, j;

	if (proto_key_public_raw(k, a) != 0)
		return 0;
	for (i = 0; i < c->n_feeds; i++)
		for (j = 0; j < c->feeds[i].n_keys; j++)
			if (proto_key_public_raw(c->feeds[i].key[j], b) == 0 &&
			    memcmp(a, b, sizeof(a)) == 0) {
				snprintf(err, errlen,
				    "source '%.*s': the same key as source "
				    "'%s' is given",
				    (int)sl, source, c->feeds[i].source);
				return MX_EEXIST;
			}
	return 0;
}

/* hub_conf_feed_fn - SOURCE=PEMFILE */
static int
hub_conf_feed_fn(void *conf, const char *value, char *err, size_t errlen)
{
	struct hub_conf *c = conf;
	const char *eq = strchr(value, '=');
	struct proto_key *k = NULL;
	struct hub_feed *f;
	size_t sl, i;
	int rc;

	if (eq == NULL || proto_id_check(value, (size_t)(eq - value)) != 0) {
		snprintf(err, errlen,
		    "'%.64s' is not SOURCE=PEMFILE (SOURCE: 1..64 of "
		    "[A-Za-z0-9._-])",
		    value);
		return MX_EINVAL;
	}
	sl = (size_t)(eq - value);
	for (i = 0; i < c->n_feeds; i++)
		if (strlen(c->feeds[i].source) == sl &&
		    memcmp(c->feeds[i].source, value, sl) == 0)
			break;
	f = i < c->n_feeds ? &c->feeds[i] : NULL;
	if (f != NULL && f->n_keys >= HUB_FEED_KEYS) {
		snprintf(err, errlen,
		    "source '%.*s' has %d keys already (the current and the "
		    "next, while rotating)",
		    (int)sl, value, HUB_FEED_KEYS);
		return MX_EEXIST;
	}
	if (f == NULL && c->n_feeds >= HUB_FEEDS_MAX) {
		snprintf(
		    err, errlen, "more than %d feed sources", HUB_FEEDS_MAX);
		return MX_ELIMIT;
	}
	if ((rc = proto_key_load_public(eq + 1, &k)) != 0) {
		snprintf(err, errlen, "cannot load public key '%.256s': %s",
		    eq + 1, mx_strerror(rc));
		return rc;
	}
	/* one key serving two sources would let one forge the other */
	if ((rc = hub_conf_feed_unique(c, k, value, sl, err, errlen)) != 0) {
		proto_key_free(k);
		return rc;
	}
	if (f == NULL) {
		f = &c->feeds[c->n_feeds++];
		memcpy(f->source, value, sl);
		f->source[sl] = '\0';
	}
	f->key[f->n_keys++] = k;
	return 0;
}

/* hub_conf_action - a rule action name: reject, tempfail, tag, score */
static int
hub_conf_action(
    const char *name, const char *v, uint64_t score, struct hub_rule_act *out)
{
	int a = proto_action_parse(v, strlen(v));

	if (a < 0 || a == PROTO_ACT_ALLOW) {
		fprintf(stderr,
		    "%s: '%.16s' is not reject, tempfail, tag or score\n", name,
		    v);
		return 1;
	}
	out->action = (uint8_t)a;
	out->score = (int32_t)score;
	return 0;
}

/*
 * hub_conf_filters - telemetry_filter into filters[], then the feed
 * filter. Each must lie in the telemetry tree: mxs/v1/telemetry/ then
 * "#", or a POP (or "+") and "/#" or an edge id (or "+").
 */
static int
hub_conf_filters(struct hub_conf *c)
{
	static const char pre[] = PROTO_TOPIC_PREFIX "telemetry/";
	const char *p = c->telemetry_filter;

	c->n_filters = 0;
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		char *f;

		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (c->n_filters == HUB_FILTERS_MAX || len >= PROTO_TOPIC_MAX ||
		    len <= sizeof(pre) - 1 ||
		    strncmp(p, pre, sizeof(pre) - 1) != 0) {
			fprintf(stderr,
			    "telemetry_filter: '%.*s' is not a filter under "
			    "%s# (at most %d)\n",
			    (int)(len < 80 ? len : 80), p, pre,
			    HUB_FILTERS_MAX);
			return 1;
		}
		f = c->filters[c->n_filters++];
		memcpy(f, p, len);
		f[len] = '\0';
		p += strcspn(p, ",");
		p += strspn(p, ", ");
	}
	if (c->n_filters == 0) {
		fprintf(stderr, "telemetry_filter: empty\n");
		return 1;
	}
	snprintf(c->filters[c->n_filters++], PROTO_TOPIC_MAX, "%s",
	    PROTO_TOPIC_PREFIX "feed/+");
	/* edges' positions: a lagging one is answered with a snapshot */
	snprintf(c->filters[c->n_filters++], PROTO_TOPIC_MAX, "%s",
	    PROTO_TOPIC_PREFIX "status/+");
	return 0;
}

/*
 * hub_conf_query - the query address and its token: answers carry
 * provenance (who blocked what, and why), so off loopback a token is
 * required
 */
static int
hub_conf_query(struct hub_conf *c)
{
	char host[256], err[300];
	uint16_t port;
	long n;

	if (c->query_token_file[0] != '\0') {
		n = mx_cfg_read_secret(c->query_token_file, c->query_token,
		    HUB_SECRET_MAX, err, sizeof(err));
		if (n < 0) {
			fprintf(stderr, "query_token_file: %s\n", err);
			return 1;
		}
		if (n == 0) {
			fprintf(stderr, "query_token_file: '%.256s' is empty\n",
			    c->query_token_file);
			return 1;
		}
	}
	if (c->query[0] == '\0')
		return 0;
	if (mx_parse_hostport(
	        c->query, strlen(c->query), host, sizeof(host), &port) != 0) {
		fprintf(stderr, "query: '%.80s' is not HOST:PORT\n", c->query);
		return 1;
	}
	if (c->query_token[0] == '\0' && strncmp(host, "127.", 4) != 0 &&
	    strcmp(host, "::1") != 0 && strcmp(host, "localhost") != 0) {
		fprintf(stderr,
		    "query: '%.80s' is not a loopback address: set "
		    "query_token_file too\n",
		    c->query);
		return 1;
	}
	return 0;
}

/* hub_conf_check - what spans parameters; key files */
static int
hub_conf_check(struct hub_conf *c)
{
	int problems = 0, rc;
	size_t i;

	if (proto_id_check(c->hub_id, strlen(c->hub_id)) != 0) {
		fprintf(stderr,
		    "hub_id: '%.64s' is not 1..64 of "
		    "[A-Za-z0-9._-] (required)\n",
		    c->hub_id);
		problems++;
	}
	for (i = 0; i < c->n_feeds; i++)
		if (strcmp(c->feeds[i].source, c->hub_id) == 0) {
			/* feed serials share the store's position table */
			fprintf(stderr, "feed_key: source '%s' is the hub id\n",
			    c->hub_id);
			problems++;
		}
	if (c->key[0] == '\0') {
		fprintf(stderr, "key: no signing key configured (required)\n");
		problems++;
	} else if ((rc = proto_key_load_private(c->key, &c->sign_key)) != 0) {
		fprintf(stderr, "key: cannot load private key '%.256s': %s\n",
		    c->key, mx_strerror(rc));
		problems++;
	}
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
	problems += hub_conf_action("rule_trap_action", c->rule_trap_action,
	    c->rule_score, &c->act_trap);
	problems += hub_conf_action("rule_dict_action", c->rule_dict_action,
	    c->rule_score, &c->act_dict);
	problems += hub_conf_action("rule_proto_action", c->rule_proto_action,
	    c->rule_score, &c->act_proto);
	problems += hub_conf_action(
	    "rule_net_action", c->rule_net_action, c->rule_score, &c->act_net);
	problems += hub_conf_action(
	    "rule_fp_action", c->rule_fp_action, c->rule_score, &c->act_fp);
	problems += hub_conf_query(c);
	problems += hub_conf_filters(c);
	if (c->data_dir[0] != '\0' && access(c->data_dir, W_OK) != 0) {
		fprintf(stderr,
		    "data_dir: '%.256s' is not a writable directory\n",
		    c->data_dir);
		problems++;
	}
	return problems;
}

/* hub_conf_free - keys and strings */
void
hub_conf_free(struct hub_conf *c)
{
	size_t i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_feeds; i++)
		for (j = 0; j < c->feeds[i].n_keys; j++)
			proto_key_free(c->feeds[i].key[j]);
	proto_key_free(c->sign_key);
	explicit_bzero(c->broker_password, sizeof(c->broker_password));
	explicit_bzero(c->query_token, sizeof(c->query_token));
	mx_cfg_fini(hub_conf_table, c);
	mx_free(c);
}

/* hub_conf_load - defaults, the file, the options, then the checks */
struct hub_conf *
hub_conf_load(int argc, char **argv, int *check_only)
{
	struct hub_conf *c = mx_calloc(1, sizeof(*c));
	struct mx_cfg_cli cli;
	char err[MX_CFG_ERR_MAX];
	int problems;

	if (mx_cfg_init(hub_conf_table, c, err, sizeof(err)) != 0)
		mx_panic("hub_conf_table default: %s", err);
	problems = mx_cfg_load_cli(
	    hub_conf_table, c, argc, argv, mx_cfg_report_stderr, NULL, &cli);
	if (cli.is_help) {
		mx_cfg_usage(hub_conf_table,
		    "usage: mxhub [-c FILE] [-f] [-v] [--check-config] "
		    "[--NAME VALUE ...]",
		    stderr);
		problems++;
	}
	c->foreground = cli.is_foreground;
	c->verbose = cli.is_verbose;
	*check_only = cli.is_check;
	if (problems == 0)
		problems += hub_conf_check(c);
	if (problems > 0) {
		hub_conf_free(c);
		return NULL;
	}
	return c;
}

/* hub_conf_feed - the configured key of a source */
const struct hub_feed *
hub_conf_feed(const struct hub_conf *c, const char *source, size_t len)
{
	size_t i;

	for (i = 0; i < c->n_feeds; i++)
		if (strlen(c->feeds[i].source) == len &&
		    memcmp(c->feeds[i].source, source, len) == 0)
			return &c->feeds[i];
	return NULL;
}
