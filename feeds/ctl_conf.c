/*
 * ctl_conf.c - mxctl's parameter table, command line and checks
 *
 * One table names every parameter with its default and bounds (the key
 * is the struct field; --name on the command line), as mxfeed's does.
 * The command and its arguments are positional and the per-run flags
 * (--reason, --ttl, --wait, --confirm, --hub-metrics, --by, --since,
 * --limit, --json, --no-confirm) must never come from a config file, so both
 * are taken out of argv before the rest goes to mx_cfg_load_cli, using the
 * table to know which options take a value. Checks depend on the command: sig
 * test needs nothing, edges only the broker, submissions the key, source,
 * state_dir and broker. Trust: the command line and config file are the
 * analyst's; keys are read with OpenSSL's PEM reader and must be Ed25519.
 */
#include "feeds/ctl.h"

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

#define CTL_CONF_OFF(f) offsetof(struct ctl_conf, f)
#define CTL_WAIT_DEFAULT_MS 2000      /* --wait default */
#define CTL_WAIT_MAX_MS 600000        /* --wait at most */
#define CTL_TTL_MAX_MS 31536000000ULL /* --ttl at most: a year */

static const struct mx_cfg_param ctl_conf_table[] = {
    {"source", MX_CFG_STR, CTL_CONF_OFF(source), "analyst", 1, PROTO_ID_MAX,
        NULL, "analyst source id: topic, state and the hub's feed_key"},
    {"who", MX_CFG_STR, CTL_CONF_OFF(who), "analyst", 1, PROTO_ID_MAX, NULL,
        "the analyst, in the hub's audit log"},
    {"key", MX_CFG_STR, CTL_CONF_OFF(key), "", 0, 4096, NULL,
        "Ed25519 private key (PEM) of the analyst source"},
    {"state_dir", MX_CFG_STR, CTL_CONF_OFF(state_dir), "/var/lib/mxctl", 1,
        4000, NULL, "the submission serial lives in DIR/SOURCE/"},
    {"confirm_hub", MX_CFG_STR, CTL_CONF_OFF(confirm_hub), "", 0, PROTO_ID_MAX,
        NULL, "confirm every submission in this hub's updates (--confirm)"},
    {"hub_key", MX_CFG_STR, CTL_CONF_OFF(hub_key), "", 0, 4096, NULL,
        "the hub's public key (PEM): confirmations verify batches"},
    {"publish_timeout", MX_CFG_MS, CTL_CONF_OFF(publish_timeout), "10s", 100,
        600000, NULL, "connect, and wait for the broker's PUBACKs"},
    {"state_map_size", MX_CFG_SIZE, CTL_CONF_OFF(state_map_size), "16m",
        1 << 20, (uint64_t)1 << 32, NULL, "LMDB map of the state"},
    {"hub_query", MX_CFG_STR, CTL_CONF_OFF(hub_query), "", 0, 300, NULL,
        "the hub's query HOST:PORT (its `query`): show and top ask it"},
    {"hub_query_token_file", MX_CFG_STR, CTL_CONF_OFF(hub_query_token_file), "",
        0, 4096, NULL, "file holding the token the hub's queries need"},
    {"broker", MX_CFG_STR, CTL_CONF_OFF(broker), "127.0.0.1:1883", 1, 300, NULL,
        "MQTT broker HOST:PORT"},
    {"broker_cafile", MX_CFG_STR, CTL_CONF_OFF(broker_cafile), "", 0, 4096,
        NULL, "CA file: TLS to the broker"},
    {"broker_certfile", MX_CFG_STR, CTL_CONF_OFF(broker_certfile), "", 0, 4096,
        NULL, "client certificate for the broker"},
    {"broker_keyfile", MX_CFG_STR, CTL_CONF_OFF(broker_keyfile), "", 0, 4096,
        NULL, "client key for the broker"},
    {"broker_username", MX_CFG_STR, CTL_CONF_OFF(broker_username), "", 0, 256,
        NULL, "MQTT user name"},
    {"broker_password_file", MX_CFG_STR, CTL_CONF_OFF(broker_password_file), "",
        0, 4096, NULL, "file holding the MQTT password"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* ctl_conf_flag - an mxctl flag taking a value; its slot, or NULL */
static const char **
ctl_conf_flag(
    struct ctl_args *a, const char *s, const char **ttl, const char **wait)
{
	if (strcmp(s, "--reason") == 0)
		return &a->reason;
	if (strcmp(s, "--confirm") == 0)
		return &a->confirm;
	if (strcmp(s, "--hub-metrics") == 0)
		return &a->hub_metrics;
	if (strcmp(s, "--by") == 0)
		return &a->by;
	if (strcmp(s, "--since") == 0)
		return &a->since;
	if (strcmp(s, "--limit") == 0)
		return &a->limit;
	if (strcmp(s, "--ttl") == 0)
		return ttl;
	if (strcmp(s, "--wait") == 0)
		return wait;
	return NULL;
}

/* ctl_conf_cmd - the command of the positional words; an error or 0 */
static int
ctl_conf_cmd(struct ctl_args *a, char **pos, size_t n, char *err, size_t errlen)
{
	const char *c = n > 0 ? pos[0] : "";

	if (n == 0) {
		snprintf(err, errlen,
		    "no command (block, allow, revoke, sig, "
		    "edges, show, top; --help lists them)");
		return MX_EINVAL;
	}
	if (strcmp(c, "block") == 0 || strcmp(c, "allow") == 0 ||
	    strcmp(c, "revoke") == 0) {
		a->cmd = c[0] == 'b'   ? CTL_CMD_BLOCK
		         : c[0] == 'a' ? CTL_CMD_ALLOW
		                       : CTL_CMD_REVOKE;
		if (n != 3) {
			snprintf(err, errlen,
			    "usage: mxctl %s ip|net|domain "
			    "VALUE%s",
			    c,
			    a->cmd == CTL_CMD_REVOKE ? "" : " --reason TEXT");
			return MX_EINVAL;
		}
		if (strcmp(pos[1], "ip") != 0 && strcmp(pos[1], "net") != 0 &&
		    strcmp(pos[1], "domain") != 0) {
			snprintf(err, errlen,
			    "%s: kind '%.32s' is not ip, net or domain", c,
			    pos[1]);
			return MX_EINVAL;
		}
		a->kind = pos[1];
		a->value = pos[2];
		if (a->cmd != CTL_CMD_REVOKE && a->reason == NULL) {
			snprintf(
			    err, errlen, "%s: --reason TEXT is required", c);
			return MX_EINVAL;
		}
		return 0;
	}
	if (strcmp(c, "sig") == 0) {
		if (n != 3 || (strcmp(pos[1], "add") != 0 &&
		                  strcmp(pos[1], "test") != 0)) {
			snprintf(err, errlen,
			    "usage: mxctl sig add FILE.eml "
			    "--reason TEXT | sig test FILE.eml");
			return MX_EINVAL;
		}
		a->cmd = pos[1][0] == 'a' ? CTL_CMD_SIG_ADD : CTL_CMD_SIG_TEST;
		a->file = pos[2];
		if (a->cmd == CTL_CMD_SIG_ADD && a->reason == NULL) {
			snprintf(err, errlen,
			    "sig add: --reason TEXT is "
			    "required");
			return MX_EINVAL;
		}
		return 0;
	}
	if (strcmp(c, "edges") == 0) {
		if (n != 1) {
			snprintf(err, errlen,
			    "usage: mxctl edges [--wait D] "
			    "[--hub-metrics HOST:PORT] [--json]");
			return MX_EINVAL;
		}
		a->cmd = CTL_CMD_EDGES;
		return 0;
	}
	if (strcmp(c, "show") == 0) {
		if (n != 3) {
			snprintf(err, errlen,
			    "usage: mxctl show ip|net|domain|fp|hash|"
			    "rcpt-policy|config VALUE [--json]");
			return MX_EINVAL;
		}
		a->cmd = CTL_CMD_SHOW;
		a->kind = pos[1];
		a->value = pos[2];
		return 0;
	}
	if (strcmp(c, "top") == 0) {
		if (n > 2) {
			snprintf(err, errlen,
			    "usage: mxctl top [ips|nets|domains|urls|fps] "
			    "[--by FIELD] [--since D] [--limit N] [--json]");
			return MX_EINVAL;
		}
		a->cmd = CTL_CMD_TOP;
		a->kind = n == 2 ? pos[1] : "ips";
		return 0;
	}
	snprintf(err, errlen,
	    "unknown command '%.32s' (block, allow, revoke, "
	    "sig, edges, show, top)",
	    c);
	return MX_EINVAL;
}

/* ctl_args_split - command, arguments and flags out; the rest to cfg */
int
ctl_args_split(int argc, char **argv, struct ctl_args *a, char ***rest,
    int *n_rest, char *err, size_t errlen)
{
	char **r = mx_calloc((size_t)argc + 2, sizeof(*r));
	char **pos = mx_calloc((size_t)argc + 1, sizeof(*pos));
	const char *ttl = NULL, *wait = NULL, **slot;
	size_t n_pos = 0;
	int i, n = 0, is_pos_only = 0, rc;

	memset(a, 0, sizeof(*a));
	a->wait_ms = CTL_WAIT_DEFAULT_MS;
	r[n++] = argc > 0 ? argv[0] : "mxctl";
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];
		const struct mx_cfg_param *p;

		if (is_pos_only || strcmp(s, "-") == 0 || s[0] != '-') {
			pos[n_pos++] = argv[i];
		} else if (strcmp(s, "--") == 0) {
			is_pos_only = 1;
		} else if (strcmp(s, "--json") == 0) {
			a->is_json = 1;
		} else if (strcmp(s, "--no-confirm") == 0) {
			a->is_no_confirm = 1;
		} else if ((slot = ctl_conf_flag(a, s, &ttl, &wait)) != NULL) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "%s needs a value", s);
				rc = MX_EINVAL;
				goto fail;
			}
			*slot = argv[++i];
		} else if (strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0) {
			r[n++] = argv[i];
			if (i + 1 < argc)
				r[n++] = argv[++i];
		} else if (strncmp(s, "--", 2) != 0 || strchr(s, '=') != NULL) {
			r[n++] = argv[i]; /* -f, -v, --NAME=VALUE, unknown */
		} else {
			r[n++] = argv[i];
			p = mx_cfg_find(ctl_conf_table, s + 2, strlen(s + 2));
			if (p != NULL && p->type != MX_CFG_BOOL && i + 1 < argc)
				r[n++] = argv[++i];
		}
	}
	if (ttl != NULL && mx_parse_duration_ms(ttl, strlen(ttl), 1000,
	                       CTL_TTL_MAX_MS, &a->ttl_ms) != 0) {
		snprintf(err, errlen,
		    "--ttl: '%.32s' is not a duration of 1s..365d", ttl);
		rc = MX_EINVAL;
		goto fail;
	}
	if (wait != NULL && mx_parse_duration_ms(wait, strlen(wait), 1,
	                        CTL_WAIT_MAX_MS, &a->wait_ms) != 0) {
		snprintf(err, errlen,
		    "--wait: '%.32s' is not a duration of 1ms..10m", wait);
		rc = MX_EINVAL;
		goto fail;
	}
	if (a->reason != NULL && strlen(a->reason) > PROTO_REASON_MAX) {
		snprintf(err, errlen, "--reason: longer than %d bytes",
		    PROTO_REASON_MAX);
		rc = MX_EINVAL;
		goto fail;
	}
	if (a->confirm != NULL &&
	    proto_id_check(a->confirm, strlen(a->confirm)) != 0) {
		snprintf(err, errlen, "--confirm: '%.64s' is not a hub id",
		    a->confirm);
		rc = MX_EINVAL;
		goto fail;
	}
	/* --help needs no command */
	for (i = 1; i < n; i++)
		if (strcmp(r[i], "-h") == 0 || strcmp(r[i], "--help") == 0 ||
		    strcmp(r[i], "--check-config") == 0)
			break;
	if (i == n && (rc = ctl_conf_cmd(a, pos, n_pos, err, errlen)) != 0)
		goto fail;
	r[n] = NULL;
	mx_free(pos);
	*rest = r;
	*n_rest = n;
	return 0;
fail:
	mx_free(pos);
	mx_free(r);
	return rc;
}

/* ctl_conf_usage - commands and options */
void
ctl_conf_usage(FILE *out)
{
	mx_cfg_usage(ctl_conf_table,
	    "usage: mxctl [-c FILE] [--NAME VALUE ...] COMMAND\n"
	    "  block|allow ip|net|domain VALUE --reason TEXT [--ttl D] "
	    "[--confirm HUB]\n"
	    "  revoke ip|net|domain VALUE [--confirm HUB]\n"
	    "  sig add FILE.eml --reason TEXT [--ttl D] [--confirm HUB]\n"
	    "  sig test FILE.eml\n"
	    "  edges [--wait D] [--hub-metrics HOST:PORT]\n"
	    "  show KIND VALUE\n"
	    "  top [ips|nets|domains|urls|fps] [--by FIELD] [--since D] "
	    "[--limit N]\n"
	    "  common: --json, --wait D (default 2s), --no-confirm\n"
	    "  exit: 0 ok, 1 usage/config, 2 refused input, 3 not found "
	    "(show), 4 broker or hub failure, or not confirmed",
	    out);
}

/* ctl_conf_free - keys and strings */
void
ctl_conf_free(struct ctl_conf *c)
{
	if (c == NULL)
		return;
	proto_key_free(c->sign_key);
	proto_key_free(c->verify_key);
	explicit_bzero(c->broker_password, sizeof(c->broker_password));
	explicit_bzero(c->hub_query_token, sizeof(c->hub_query_token));
	mx_cfg_fini(ctl_conf_table, c);
	mx_free(c);
}

/* ctl_conf_check - what the command needs */
static int
ctl_conf_check(struct ctl_conf *c, const struct ctl_args *a)
{
	int is_submit = a->cmd == CTL_CMD_BLOCK || a->cmd == CTL_CMD_ALLOW ||
	                a->cmd == CTL_CMD_REVOKE || a->cmd == CTL_CMD_SIG_ADD;
	int problems = 0, rc;

	if (proto_id_check(c->source, strlen(c->source)) != 0) {
		fprintf(stderr,
		    "source: '%.64s' is not 1..64 of "
		    "[A-Za-z0-9._-]\n",
		    c->source);
		problems++;
	}
	if (proto_id_check(c->who, strlen(c->who)) != 0) {
		fprintf(stderr, "who: '%.64s' is not 1..64 of [A-Za-z0-9._-]\n",
		    c->who);
		problems++;
	}
	problems += feed_submit_check_confirm(
	    c->confirm_hub, c->hub_key, &c->verify_key);
	if (is_submit) {
		if (c->key[0] == '\0') {
			fprintf(stderr, "key: no signing key configured "
			                "(required)\n");
			problems++;
		} else if ((rc = proto_key_load_private(
		                c->key, &c->sign_key)) != 0) {
			fprintf(stderr,
			    "key: cannot load private key "
			    "'%.256s': %s\n",
			    c->key, mx_strerror(rc));
			problems++;
		}
		if (access(c->state_dir, W_OK | X_OK) != 0) {
			fprintf(stderr,
			    "state_dir: '%.256s' is not a "
			    "writable directory\n",
			    c->state_dir);
			problems++;
		}
	}
	if (a->cmd == CTL_CMD_SHOW || a->cmd == CTL_CMD_TOP) {
		if (c->hub_query[0] == '\0') {
			fprintf(stderr, "hub_query: not set: the hub's query "
			                "HOST:PORT (its `query` parameter)\n");
			problems++;
		}
		if (c->hub_query_token_file[0] != '\0') {
			char err[300];
			long n = mx_cfg_read_secret(c->hub_query_token_file,
			    c->hub_query_token, CTL_SECRET_MAX, err,
			    sizeof(err));

			if (n <= 0) {
				fprintf(stderr, "hub_query_token_file: %s\n",
				    n < 0 ? err : "empty");
				problems++;
			}
		}
	}
	if (is_submit || a->cmd == CTL_CMD_EDGES) {
		struct mx_cfg_broker b = {c->broker, c->broker_cafile,
		    c->broker_certfile, c->broker_keyfile, c->broker_username,
		    c->broker_password_file};

		problems += mx_cfg_broker_check(&b, c->broker_host,
		    sizeof(c->broker_host), &c->broker_port, c->broker_password,
		    sizeof(c->broker_password), mx_cfg_report_stderr, NULL);
	}
	return problems;
}

/* ctl_conf_load - defaults, the file, the options, then the checks */
struct ctl_conf *
ctl_conf_load(int n_rest, char **rest, const struct ctl_args *a)
{
	struct ctl_conf *c = mx_calloc(1, sizeof(*c));
	struct mx_cfg_cli cli;
	char err[MX_CFG_ERR_MAX];
	int problems;

	if (mx_cfg_init(ctl_conf_table, c, err, sizeof(err)) != 0)
		mx_panic("ctl_conf_table default: %s", err);
	problems = mx_cfg_load_cli(
	    ctl_conf_table, c, n_rest, rest, mx_cfg_report_stderr, NULL, &cli);
	c->verbose = cli.is_verbose;
	if (cli.is_help) {
		ctl_conf_usage(stdout);
		ctl_conf_free(c);
		return NULL;
	}
	if (problems == 0)
		problems += ctl_conf_check(c, a);
	if (problems > 0) {
		ctl_conf_free(c);
		return NULL;
	}
	return c;
}
