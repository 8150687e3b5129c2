/*
 * ctl_main.c - mxctl: the analyst's tool
 *
 *   mxctl -c /etc/mxsentry/ctl.conf block ip 192.0.2.7 --reason "case 42"
 *   mxctl sig add sample.eml --reason "campaign 7" --confirm hub-1
 *   mxctl edges --hub-metrics 127.0.0.1:9190 --json
 *
 * Submissions (block, allow, revoke, sig add) are signed with the
 * analyst source's key and published through feed_submit.h; with
 * --confirm HUB (or confirm_hub) mxctl then waits, at most --wait, until
 * the hub's update stream carried every record, resending meanwhile.
 * sig test prints what an edge computes for a message; edges reads the
 * retained status of every edge; show and top ask the hub's query
 * endpoint (hub_query). docs/ctl.md has the details.
 * Exit codes: 0 ok, 1 usage or configuration, 2 refused input (a bad
 * value, an unreadable or unusable sample), 3 show found nothing, 4
 * broker or hub failure, or not confirmed in time.
 * Trust: the command line, config and sample are the analyst's (the
 * sample is analysed by proto_content, which bounds its state); status
 * payloads and the hub's metrics come from the network (ctl_status.c).
 * Limits: CTL_SAMPLE_MAX bytes of sample, CTL_EDGES_MAX edges,
 * CTL_HTTP_MAX bytes of a metrics page or query answer, --wait.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "lib/mx_parse.h"
#include "lib/mx_time.h"
#include "proto/proto_topic.h"
#include "feeds/ctl.h"
#include "feeds/feed.h"
#include "feeds/feed_submit.h"

#define CTL_TURN_MS 50 /* MQTT loop turn */

/* ctl_main_fail - one error line; the exit code */
static int
ctl_main_fail(int code, const char *what, const char *err)
{
	fprintf(stderr, "mxctl: %s: %s\n", what, err);
	return code;
}

/* ctl_main_read - a sample file into *msg (caller frees); exit code */
static int
ctl_main_read(const char *path, uint8_t **msg, size_t *len)
{
	FILE *f = fopen(path, "re");
	uint8_t *buf;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "mxctl: %s: cannot open: %s\n", path,
		    strerror(errno));
		return CTL_EXIT_REFUSED;
	}
	buf = mx_malloc(CTL_SAMPLE_MAX + 1);
	n = fread(buf, 1, CTL_SAMPLE_MAX + 1, f);
	if (ferror(f) || n > CTL_SAMPLE_MAX) {
		fprintf(stderr, "mxctl: %s: %s\n", path,
		    ferror(f) ? "read error" : "larger than 16 MiB");
		fclose(f);
		mx_free(buf);
		return CTL_EXIT_REFUSED;
	}
	fclose(f);
	*msg = buf;
	*len = n;
	return CTL_EXIT_OK;
}

/* ctl_main_analyze - a sample's content result (caller frees); exit code */
static int
ctl_main_analyze(const char *path, struct proto_content_result **out)
{
	struct proto_content_result *res;
	uint8_t *msg = NULL;
	size_t len = 0;
	int rv, rc;

	if ((rv = ctl_main_read(path, &msg, &len)) != CTL_EXIT_OK)
		return rv;
	res = mx_calloc(1, sizeof(*res));
	if ((rc = proto_content_analyze(msg, len, res)) != 0) {
		mx_free(msg);
		mx_free(res);
		return ctl_main_fail(CTL_EXIT_USAGE, path, mx_strerror(rc));
	}
	mx_free(msg);
	*out = res;
	return CTL_EXIT_OK;
}

/* ctl_main_submit - sign, publish and maybe confirm recs; exit code */
static int
ctl_main_submit(const struct ctl_conf *c, const struct ctl_args *a,
    const struct proto_record *recs, size_t n)
{
	struct feed_submit_conf sc;
	struct feed_submit *s = NULL;
	struct feed_state *st = NULL;
	const char *hub = a->confirm ? a->confirm : c->confirm_hub;
	uint64_t first = 0, last = 0, seq = 0;
	size_t msgs = 0, resent = 0;
	char err[512];
	int rv = CTL_EXIT_BROKER, e;

	if (a->is_no_confirm)
		hub = "";
	if ((e = feed_state_open(c->state_dir, c->source, c->state_map_size, 0,
	         &st, err, sizeof(err))) != 0) {
		rv = ctl_main_fail(CTL_EXIT_USAGE, "state", err);
		goto out;
	}
	memset(&sc, 0, sizeof(sc));
	sc.program = "mxctl";
	sc.host = c->broker_host;
	sc.port = c->broker_port;
	sc.cafile = c->broker_cafile;
	sc.certfile = c->broker_certfile;
	sc.keyfile = c->broker_keyfile;
	sc.username = c->broker_username;
	sc.password = c->broker_password;
	sc.source = c->source;
	sc.who = c->who;
	sc.key = c->sign_key;
	sc.timeout_ms = c->publish_timeout;
	if ((e = feed_submit_open(&sc, st, &s, err, sizeof(err))) != 0) {
		rv = ctl_main_fail(CTL_EXIT_BROKER, "broker", err);
		goto out;
	}
	/* subscribed before the send: the batch follows at once */
	if (hub[0] != '\0' && (e = feed_submit_watch(s, hub, c->verify_key, err,
	                           sizeof(err))) != 0) {
		rv = ctl_main_fail(CTL_EXIT_BROKER, "confirm", err);
		goto out;
	}
	if ((e = feed_submit_send(
	         s, recs, n, &msgs, &first, &last, err, sizeof(err))) != 0) {
		rv = ctl_main_fail(
		    e == MX_EINVAL ? CTL_EXIT_REFUSED : CTL_EXIT_BROKER,
		    "submit", err);
		goto out;
	}
	if (hub[0] != '\0' && (e = feed_submit_confirm(s, a->wait_ms, &seq,
	                           &resent, err, sizeof(err))) != 0) {
		rv = ctl_main_fail(CTL_EXIT_BROKER, "not confirmed", err);
		goto out;
	}
	if (a->is_json) {
		printf("{\"source\":\"%s\",\"serial\":%llu,\"records\":",
		    c->source, (unsigned long long)first);
		ctl_rec_print(stdout, recs, n, 1);
		if (hub[0] != '\0')
			printf(",\"confirmed\":{\"hub\":\"%s\",\"seq\":%llu,"
			       "\"resent\":%zu}",
			    hub, (unsigned long long)seq, resent);
		printf("}\n");
	} else {
		ctl_rec_print(stdout, recs, n, 0);
		printf("mxctl: %s: submitted %zu records (serial %llu)",
		    c->source, n, (unsigned long long)first);
		if (hub[0] != '\0')
			printf("; confirmed by %s at seq %llu", hub,
			    (unsigned long long)seq);
		printf("\n");
	}
	(void)last;
	rv = CTL_EXIT_OK;
out:
	feed_submit_close(s);
	feed_state_close(st);
	return rv;
}

/* ctl_main_single - block, allow, revoke */
static int
ctl_main_single(const struct ctl_conf *c, const struct ctl_args *a)
{
	struct proto_record r;
	char err[CTL_ERR_MAX];

	if (ctl_rec_single(a->cmd, a->kind, a->value, c->source, a->reason,
	        a->ttl_ms, mx_unix_ms(), &r, err, sizeof(err)) != 0)
		return ctl_main_fail(CTL_EXIT_REFUSED, a->kind, err);
	return ctl_main_submit(c, a, &r, 1);
}

/* ctl_main_sig - sig add and sig test */
static int
ctl_main_sig(const struct ctl_conf *c, const struct ctl_args *a)
{
	struct proto_content_result *res = NULL;
	struct proto_record *recs = NULL;
	char err[CTL_ERR_MAX];
	int rv, n;

	if ((rv = ctl_main_analyze(a->file, &res)) != CTL_EXIT_OK)
		return rv;
	if (a->cmd == CTL_CMD_SIG_TEST) {
		ctl_sig_print(stdout, a->file, res, a->is_json);
		rv = CTL_EXIT_OK;
		goto out;
	}
	recs = mx_calloc(CTL_SIG_RECS, sizeof(*recs));
	n = ctl_rec_sig(res, c->source, a->reason, a->ttl_ms, mx_unix_ms(),
	    recs, err, sizeof(err));
	if (n < 0) {
		rv = ctl_main_fail(CTL_EXIT_REFUSED, a->file, err);
		goto out;
	}
	rv = ctl_main_submit(c, a, recs, (size_t)n);
out:
	mx_free(recs);
	mx_free(res);
	return rv;
}

/* the edges seen so far */
struct ctl_main_edges {
	struct ctl_edge *v;
	size_t n;
	size_t bad;  /* payloads that did not decode */
	int is_conn; /* CONNACK accepted */
	int is_lost; /* connection dropped or refused */
};

/* ctl_main_on_connect - CONNACK */
static void
ctl_main_on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct ctl_main_edges *ed = arg;

	(void)m;
	if (rc == 0)
		ed->is_conn = 1;
	else
		ed->is_lost = 1;
}

/* ctl_main_on_status - one edge's status; the latest per edge wins */
static void
ctl_main_on_status(
    struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct ctl_main_edges *ed = arg;
	struct ctl_edge e;
	size_t i;

	(void)m;
	if (msg->payloadlen <= 0)
		return; /* a cleared retained status */
	if (ctl_status_decode(msg->payload, (size_t)msg->payloadlen, &e) != 0) {
		ed->bad++;
		return;
	}
	for (i = 0; i < ed->n; i++)
		if (strcmp(ed->v[i].edge_id, e.edge_id) == 0)
			break;
	if (i == ed->n) {
		if (ed->n == CTL_EDGES_MAX)
			return;
		ed->n++;
	}
	ed->v[i] = e;
}

/* ctl_main_metrics - the hub's position from HOST:PORT/metrics */
static int
ctl_main_metrics(const char *hostport, struct ctl_hub_metrics *hm)
{
	struct ctl_http_answer ans;
	char err[CTL_ERR_MAX];
	int rc;

	rc = ctl_http_get(hostport, "/metrics", "", &ans, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "mxctl: --hub-metrics: %s\n", err);
		return rc == MX_EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_BROKER;
	}
	if (ans.status != 200) {
		fprintf(stderr, "mxctl: --hub-metrics %s: HTTP %d\n", hostport,
		    ans.status);
		ctl_http_free(&ans);
		return CTL_EXIT_BROKER;
	}
	ctl_status_metrics_parse(ans.body, ans.body_len, hm);
	if (!hm->is_known)
		fprintf(stderr,
		    "mxctl: --hub-metrics %s: no "
		    "mxhub_update_seq/epoch: lag not shown\n",
		    hostport);
	ctl_http_free(&ans);
	return CTL_EXIT_OK;
}

/*
 * ctl_main_query - ask the hub's query endpoint; the body goes to stdout
 * (200, and 404 for show: exit 3), a refusal's first line to stderr
 */
static int
ctl_main_query(const struct ctl_conf *c, const char *what, const char *target)
{
	struct ctl_http_answer ans;
	char err[CTL_ERR_MAX];
	size_t n;
	int rc, rv;

	rc = ctl_http_get(
	    c->hub_query, target, c->hub_query_token, &ans, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "mxctl: hub_query %s\n", err);
		return rc == MX_EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_BROKER;
	}
	switch (ans.status) {
	case 200:
	case 404:
		if (ans.is_cut)
			fprintf(stderr, "mxctl: %s: answer cut at %u bytes\n",
			    what, CTL_HTTP_MAX);
		fwrite(ans.body, 1, ans.body_len, stdout);
		rv = ans.status == 200 ? CTL_EXIT_OK : CTL_EXIT_NOTFOUND;
		if (ans.status == 404 && ans.body_len == 0)
			fprintf(stderr,
			    "mxctl: %s: the hub has no query endpoint there "
			    "(hub_query)\n",
			    what);
		break;
	case 400:
		n = strcspn(ans.body, "\n");
		fprintf(stderr, "mxctl: %s: %.*s\n", what,
		    (int)(n < 300 ? n : 300), ans.body);
		rv = CTL_EXIT_REFUSED;
		break;
	case 401:
		fprintf(stderr,
		    "mxctl: %s: the hub refused the query token "
		    "(hub_query_token_file)\n",
		    what);
		rv = CTL_EXIT_USAGE;
		break;
	default:
		fprintf(stderr, "mxctl: %s: hub answered HTTP %d\n", what,
		    ans.status);
		rv = CTL_EXIT_BROKER;
		break;
	}
	ctl_http_free(&ans);
	return rv;
}

/* ctl_main_show - a record, its provenance and counters at the hub */
static int
ctl_main_show(const struct ctl_conf *c, const struct ctl_args *a)
{
	uint8_t key[PROTO_KEY_MAX];
	char target[2048];
	size_t klen;
	int kind = proto_kind_parse(a->kind, strlen(a->kind));
	const char *params[] = {"kind", a->kind, "value", a->value, "format",
	    a->is_json ? "json" : "", NULL};

	if (kind < PROTO_KIND_MIN || kind > PROTO_KIND_MAX) {
		fprintf(stderr,
		    "mxctl: show: kind '%.32s' is not ip, net, domain, fp, "
		    "hash, rcpt-policy or config\n",
		    a->kind);
		return CTL_EXIT_REFUSED;
	}
	if (proto_key_parse(kind, a->value, strlen(a->value), key, &klen) !=
	    0) {
		fprintf(stderr,
		    "mxctl: show: '%.64s' is not a valid %s value\n", a->value,
		    a->kind);
		return CTL_EXIT_REFUSED;
	}
	if (ctl_http_query(target, sizeof(target), "/v1/show", params) != 0) {
		fprintf(stderr, "mxctl: show: value too long\n");
		return CTL_EXIT_REFUSED;
	}
	return ctl_main_query(c, "show", target);
}

/* ctl_main_top - the worst offenders at the hub */
static int
ctl_main_top(const struct ctl_conf *c, const struct ctl_args *a)
{
	char target[512];
	uint64_t v;
	const char *params[] = {"kind", a->kind, "by", a->by ? a->by : "",
	    "since", a->since ? a->since : "", "n", a->limit ? a->limit : "",
	    "format", a->is_json ? "json" : "", NULL};

	if (a->since != NULL && mx_parse_duration_ms(a->since, strlen(a->since),
	                            1000, 2592000000u, &v) != 0) {
		fprintf(stderr,
		    "mxctl: top: --since '%.32s' is not a duration of "
		    "1s..30d\n",
		    a->since);
		return CTL_EXIT_REFUSED;
	}
	if (a->limit != NULL &&
	    mx_parse_u64(a->limit, strlen(a->limit), 1, 1000, &v) != 0) {
		fprintf(stderr, "mxctl: top: --limit '%.32s' is not 1..1000\n",
		    a->limit);
		return CTL_EXIT_REFUSED;
	}
	if (ctl_http_query(target, sizeof(target), "/v1/top", params) != 0) {
		fprintf(stderr, "mxctl: top: arguments too long\n");
		return CTL_EXIT_REFUSED;
	}
	return ctl_main_query(c, "top", target);
}

/* ctl_main_edges - subscribe to every status for --wait; print */
static int
ctl_main_edges(const struct ctl_conf *c, const struct ctl_args *a)
{
	struct ctl_main_edges ed;
	struct ctl_hub_metrics hm;
	struct mosquitto *m = NULL;
	char id[64];
	uint64_t deadline;
	int rv = CTL_EXIT_BROKER, rc;

	memset(&ed, 0, sizeof(ed));
	memset(&hm, 0, sizeof(hm));
	if (a->hub_metrics != NULL &&
	    (rv = ctl_main_metrics(a->hub_metrics, &hm)) != CTL_EXIT_OK)
		return rv;
	rv = CTL_EXIT_BROKER;
	ed.v = mx_calloc(CTL_EDGES_MAX, sizeof(*ed.v));
	mosquitto_lib_init();
	snprintf(id, sizeof(id), "mxctl-edges-%ld", (long)getpid());
	if ((m = mosquitto_new(id, true, &ed)) == NULL) {
		fprintf(stderr, "mxctl: MQTT client: %s\n", strerror(errno));
		goto out;
	}
	mosquitto_connect_callback_set(m, ctl_main_on_connect);
	mosquitto_message_callback_set(m, ctl_main_on_status);
	if ((c->broker_username[0] != '\0' &&
	        mosquitto_username_pw_set(m, c->broker_username,
	            c->broker_password[0] ? c->broker_password : NULL) !=
	            MOSQ_ERR_SUCCESS) ||
	    (c->broker_cafile[0] != '\0' &&
	        mosquitto_tls_set(m, c->broker_cafile, NULL,
	            c->broker_certfile[0] ? c->broker_certfile : NULL,
	            c->broker_keyfile[0] ? c->broker_keyfile : NULL,
	            NULL) != MOSQ_ERR_SUCCESS)) {
		fprintf(stderr, "mxctl: MQTT client: credentials or TLS files "
		                "refused\n");
		rv = CTL_EXIT_USAGE;
		goto out;
	}
	if ((rc = mosquitto_connect(m, c->broker_host, c->broker_port, 30)) !=
	    MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mxctl: broker %s:%u: %s\n", c->broker_host,
		    (unsigned)c->broker_port, mosquitto_strerror(rc));
		goto out;
	}
	deadline = mx_mono_ms() + c->publish_timeout;
	while (!ed.is_conn && !ed.is_lost && mx_mono_ms() < deadline)
		if (mosquitto_loop(m, CTL_TURN_MS, 1) != MOSQ_ERR_SUCCESS)
			ed.is_lost = 1;
	if (!ed.is_conn) {
		fprintf(stderr, "mxctl: broker %s:%u: no CONNACK\n",
		    c->broker_host, (unsigned)c->broker_port);
		goto out;
	}
	if (mosquitto_subscribe(m, NULL, PROTO_SUB_STATUS, 0) !=
	    MOSQ_ERR_SUCCESS) {
		fprintf(
		    stderr, "mxctl: subscribe %s failed\n", PROTO_SUB_STATUS);
		goto out;
	}
	/* retained statuses come at once; --wait bounds the rest */
	deadline = mx_mono_ms() + a->wait_ms;
	while (mx_mono_ms() < deadline)
		if (mosquitto_loop(m, CTL_TURN_MS, 1) != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "mxctl: broker connection lost\n");
			goto out;
		}
	if (ed.bad > 0)
		fprintf(stderr, "mxctl: %zu status payloads did not decode\n",
		    ed.bad);
	ctl_status_print(stdout, ed.v, ed.n, a->hub_metrics ? &hm : NULL,
	    mx_unix_ms(), a->is_json);
	rv = CTL_EXIT_OK;
out:
	if (m != NULL) {
		if (ed.is_conn)
			mosquitto_disconnect(m);
		mosquitto_destroy(m);
	}
	mosquitto_lib_cleanup();
	mx_free(ed.v);
	return rv;
}

int
main(int argc, char **argv)
{
	struct ctl_conf *c = NULL;
	struct ctl_args a;
	char **rest = NULL, err[CTL_ERR_MAX];
	int n_rest = 0, rv;

	if (ctl_args_split(argc, argv, &a, &rest, &n_rest, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "mxctl: %s\n", err);
		return CTL_EXIT_USAGE;
	}
	c = ctl_conf_load(n_rest, rest, &a);
	mx_free(rest);
	if (c == NULL) {
		fprintf(stderr, "mxctl: configuration refused\n");
		return CTL_EXIT_USAGE;
	}
	mx_log_open("mxctl", 1, c->verbose ? MX_LOG_DEBUG : MX_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	switch (a.cmd) {
	case CTL_CMD_BLOCK:
	case CTL_CMD_ALLOW:
	case CTL_CMD_REVOKE:
		rv = ctl_main_single(c, &a);
		break;
	case CTL_CMD_SIG_ADD:
	case CTL_CMD_SIG_TEST:
		rv = ctl_main_sig(c, &a);
		break;
	case CTL_CMD_EDGES:
		rv = ctl_main_edges(c, &a);
		break;
	case CTL_CMD_SHOW:
		rv = ctl_main_show(c, &a);
		break;
	case CTL_CMD_TOP:
		rv = ctl_main_top(c, &a);
		break;
	default:
		printf("mxctl: configuration ok\n");
		rv = CTL_EXIT_OK;
		break;
	}
	ctl_conf_free(c);
	return rv;
}
