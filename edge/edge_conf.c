/*
 * edge_conf.c - mxedge parameters, listeners and routes
 *
 * One table holds every parameter with its default and range (Postfix
 * main.cf style); the config key is the struct field, the command-line
 * option is the same name with dashes. Listeners and routes are parsed
 * into addresses here, once, so the hot path never parses text or resolves
 * names: a route host that is not an address literal is resolved at load
 * time (and again on SIGHUP).
 * Trust: operator input. Limits: EDGE_LISTEN_MAX listeners,
 * EDGE_ROUTE_MAX routes, EDGE_PROXY_TRUST_MAX proxy_trusted entries,
 * PROTO_KEYRING_MAX hubs of EDGE_HUB_KEYS_MAX keys each, the ranges in
 * the table; every problem names its file and line or its option.
 */
#include "edge/edge_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_parse.h"
#include "proto/proto_topic.h"

#define EDGE_CONF_OFF(f) offsetof(struct edge_conf, f)
#define EDGE_MS_DAY (86400ULL * 1000)

static int edge_conf_listen_fn(
    void *conf, const char *v, char *err, size_t errlen);
static int edge_conf_trap_fn(
    void *conf, const char *v, char *err, size_t errlen);
static int edge_conf_attach_fn(
    void *conf, const char *v, char *err, size_t errlen);
static int edge_conf_geo_fn(
    void *conf, const char *v, char *err, size_t errlen);
static int edge_conf_fail_fn(
    void *conf, const char *v, char *err, size_t errlen);
static int edge_conf_route_fn(
    void *conf, const char *v, char *err, size_t errlen);
static int edge_conf_hub_key_fn(
    void *conf, const char *v, char *err, size_t errlen);
static int edge_conf_proxy_trusted_fn(
    void *conf, const char *v, char *err, size_t errlen);

const struct mx_cfg_param edge_conf_table[] = {
    {"listen", MX_CFG_FN, 0, NULL, 0, 0, edge_conf_listen_fn,
        "ADDR:PORT[,proxy] to accept SMTP on (repeatable)"},
    {"proxy_trusted", MX_CFG_FN, 0, EDGE_PROXY_TRUSTED_DEFAULT, 0, 0,
        edge_conf_proxy_trusted_fn,
        "ADDR[/PLEN],... that may send a PROXY header to a proxy "
        "listener (repeatable; the first value replaces the default)"},
    {"route", MX_CFG_FN, 0, NULL, 0, 0, edge_conf_route_fn,
        "DOMAIN=HOST:PORT[,tls=require] (repeatable; * = default)"},
    {"data_dir", MX_CFG_STR, EDGE_CONF_OFF(data_dir), "/var/lib/mxedge", 1,
        4096, NULL, "LMDB cache directory"},
    {"hostname", MX_CFG_STR, EDGE_CONF_OFF(hostname), "", 0, EDGE_HOSTNAME_MAX,
        NULL, "name in greeting and Received header"},
    {"metrics", MX_CFG_STR, EDGE_CONF_OFF(metrics), "", 0, 80, NULL,
        "ADDR:PORT of the /metrics and /healthz endpoint (empty: off)"},
    {"tls_cert", MX_CFG_STR, EDGE_CONF_OFF(tls_cert), "", 0, 4096, NULL,
        "PEM certificate chain for inbound STARTTLS"},
    {"tls_key", MX_CFG_STR, EDGE_CONF_OFF(tls_key), "", 0, 4096, NULL,
        "PEM private key for inbound STARTTLS"},
    {"bare_newline", MX_CFG_STR, EDGE_CONF_OFF(bare_newline), "reject", 1, 16,
        NULL, "reject | normalize: bare CR or LF in DATA"},
    {"max_size", MX_CFG_SIZE, EDGE_CONF_OFF(max_size), "50m", 1024, 1ULL << 34,
        NULL, "largest message, bytes (SIZE)"},
    {"max_rcpt", MX_CFG_U64, EDGE_CONF_OFF(max_rcpt), "100", 1, 10000, NULL,
        "recipients per transaction"},
    {"workers", MX_CFG_U64, EDGE_CONF_OFF(workers), "0", 0, EDGE_WORKERS_MAX,
        NULL, "worker threads (0: one per core)"},
    {"smtp_line_limit", MX_CFG_SIZE, EDGE_CONF_OFF(smtp_line_limit), "2048",
        512, 65536, NULL, "longest command line, bytes"},
    {"data_line_limit", MX_CFG_SIZE, EDGE_CONF_OFF(data_line_limit), "64k",
        1000, 16ULL << 20, NULL, "hard cap on one DATA line, bytes"},
    {"max_errors", MX_CFG_U64, EDGE_CONF_OFF(max_errors), "10", 1, 1000, NULL,
        "sender errors before the session ends with 421"},
    {"max_commands", MX_CFG_U64, EDGE_CONF_OFF(max_commands), "10000", 10,
        1000000, NULL, "commands per session"},
    {"per_ip_sessions", MX_CFG_U64, EDGE_CONF_OFF(per_ip_sessions), "20", 1,
        100000, NULL, "concurrent sessions per client address"},
    {"max_sessions", MX_CFG_U64, EDGE_CONF_OFF(max_sessions), "10000", 1,
        1000000, NULL, "concurrent sessions per process"},
    {"smtp_command_time", MX_CFG_MS, EDGE_CONF_OFF(smtp_command_time), "5m",
        100, EDGE_MS_DAY, NULL, "total time for one command"},
    {"smtp_data_time", MX_CFG_MS, EDGE_CONF_OFF(smtp_data_time), "10m", 100,
        EDGE_MS_DAY, NULL, "total time for one DATA phase"},
    {"smtp_session_time", MX_CFG_MS, EDGE_CONF_OFF(smtp_session_time), "1h",
        1000, 7 * EDGE_MS_DAY, NULL, "total time for one session"},
    {"connect_time", MX_CFG_MS, EDGE_CONF_OFF(connect_time), "30s", 100,
        EDGE_MS_DAY, NULL, "downstream connect and greeting"},
    {"reply_time", MX_CFG_MS, EDGE_CONF_OFF(reply_time), "5m", 100, EDGE_MS_DAY,
        NULL, "wait for one downstream reply"},
    {"drain_time", MX_CFG_MS, EDGE_CONF_OFF(drain_time), "2m", 0, EDGE_MS_DAY,
        NULL, "graceful shutdown bound"},
    {"drain_accept_time", MX_CFG_MS, EDGE_CONF_OFF(drain_accept_time), "0", 0,
        600000, NULL,
        "after SIGTERM, /healthz says draining but new sessions are "
        "still taken this long (a load balancer's time to notice)"},
    {"rcpt_cache_ttl_ok", MX_CFG_MS, EDGE_CONF_OFF(rcpt_cache_ttl_ok), "1d", 0,
        365 * EDGE_MS_DAY, NULL, "remember a valid recipient"},
    {"rcpt_cache_ttl_unknown", MX_CFG_MS, EDGE_CONF_OFF(rcpt_cache_ttl_unknown),
        "1h", 0, 365 * EDGE_MS_DAY, NULL, "remember an unknown recipient"},
    {"rcpt_cache_max", MX_CFG_U64, EDGE_CONF_OFF(rcpt_cache_max), "1000000", 0,
        100000000, NULL, "recipient cache entries (0: off)"},
    {"map_size", MX_CFG_SIZE, EDGE_CONF_OFF(map_size), "1g", 1ULL << 20,
        1ULL << 40, NULL, "LMDB map size"},
    {"broker", MX_CFG_STR, EDGE_CONF_OFF(broker), "", 0, 300, NULL,
        "HOST:PORT of the MQTT broker for telemetry (empty: standalone)"},
    {"edge_id", MX_CFG_STR, EDGE_CONF_OFF(edge_id), "", 0, PROTO_ID_MAX, NULL,
        "this edge's id in topics (default: from the host name)"},
    {"pop", MX_CFG_STR, EDGE_CONF_OFF(pop), "default", 1, PROTO_ID_MAX, NULL,
        "point of presence id in telemetry topics"},
    {"broker_cafile", MX_CFG_STR, EDGE_CONF_OFF(broker_cafile), "", 0, 4096,
        NULL, "PEM CA file: TLS to the broker (empty: plain)"},
    {"broker_certfile", MX_CFG_STR, EDGE_CONF_OFF(broker_certfile), "", 0, 4096,
        NULL, "PEM client certificate for the broker"},
    {"broker_keyfile", MX_CFG_STR, EDGE_CONF_OFF(broker_keyfile), "", 0, 4096,
        NULL, "PEM client key for the broker"},
    {"broker_username", MX_CFG_STR, EDGE_CONF_OFF(broker_username), "", 0, 256,
        NULL, "MQTT user name"},
    {"broker_password_file", MX_CFG_STR, EDGE_CONF_OFF(broker_password_file),
        "", 0, 4096, NULL, "file holding the MQTT password"},
    {"rcpt_salt_file", MX_CFG_STR, EDGE_CONF_OFF(rcpt_salt_file), "", 0, 4096,
        NULL,
        "file holding the deployment salt of local-part hashes (16..64 "
        "bytes; empty: random per process)"},
    {"telemetry_queue", MX_CFG_U64, EDGE_CONF_OFF(telemetry_queue), "10000", 1,
        1000000, NULL, "telemetry events held while the broker is away"},
    {"telemetry_queue_bytes", MX_CFG_SIZE, EDGE_CONF_OFF(telemetry_queue_bytes),
        "64m", 1ULL << 20, 16ULL << 30, NULL,
        "bytes of telemetry events held while the broker is away"},
    {"telemetry_batch", MX_CFG_U64, EDGE_CONF_OFF(telemetry_batch), "500", 1,
        PROTO_BATCH_EVENTS_MAX, NULL, "telemetry events per batch"},
    {"telemetry_flush_time", MX_CFG_MS, EDGE_CONF_OFF(telemetry_flush_time),
        "1s", 10, 3600 * 1000, NULL, "publish queued telemetry this often"},
    {"status_interval", MX_CFG_MS, EDGE_CONF_OFF(status_interval), "10s", 1000,
        EDGE_MS_DAY, NULL, "refresh the retained status this often"},
    {"hub_key", MX_CFG_FN, 0, NULL, 0, 0, edge_conf_hub_key_fn,
        "HUB_ID=PATH: trust that hub's signed updates, Ed25519 public key "
        "in PEM (repeatable; two keys per hub while rotating)"},
    {"snapshot_max", MX_CFG_SIZE, EDGE_CONF_OFF(snapshot_max), "256m",
        1ULL << 20, 16ULL << 30, NULL,
        "bytes of one hub snapshot held until it is complete"},
    {"ip_filter", MX_CFG_BOOL, EDGE_CONF_OFF(ip_filter), "yes", 0, 1, NULL,
        "ip layer: address and network records"},
    {"geo_filter", MX_CFG_BOOL, EDGE_CONF_OFF(geo_filter), "yes", 0, 1, NULL,
        "geo layer (needs geo_db)"},
    {"protocol_filter", MX_CFG_BOOL, EDGE_CONF_OFF(protocol_filter), "yes", 0,
        1, NULL, "protocol layer: early talkers, bad HELO, pipelining"},
    {"envelope_filter", MX_CFG_BOOL, EDGE_CONF_OFF(envelope_filter), "yes", 0,
        1, NULL, "envelope layer: domains, traps, recipient policy"},
    {"content_filter", MX_CFG_BOOL, EDGE_CONF_OFF(content_filter), "yes", 0, 1,
        NULL, "content layer: fingerprints, hashes, URLs, attachments"},
    {"fail_closed", MX_CFG_FN, 0, NULL, 0, 0, edge_conf_fail_fn,
        "a layer that fails or overruns tempfails (repeatable layer name)"},
    {"filter_budget_time", MX_CFG_MS, EDGE_CONF_OFF(filter_budget_time),
        "250ms", 1, 60000, NULL, "time one layer may use per transaction"},
    {"reject_score", MX_CFG_U64, EDGE_CONF_OFF(reject_score), "10", 0, 100000,
        NULL, "summed score that rejects (0: off)"},
    {"tempfail_score", MX_CFG_U64, EDGE_CONF_OFF(tempfail_score), "0", 0,
        100000, NULL, "summed score that defers (0: off)"},
    {"tag_score", MX_CFG_U64, EDGE_CONF_OFF(tag_score), "0", 0, 100000, NULL,
        "summed score that adds an X-Mxs-Score header (0: off)"},
    {"spam_trap", MX_CFG_FN, 0, NULL, 0, 0, edge_conf_trap_fn,
        "a spam-trap address (repeatable)"},
    {"trap_score", MX_CFG_U64, EDGE_CONF_OFF(trap_score), "10", 0, 100000, NULL,
        "score a spam-trap hit adds to its transaction"},
    {"attach_policy", MX_CFG_FN, 0, NULL, 0, 0, edge_conf_attach_fn,
        "CLASS=reject|tempfail|score:N for attachments (repeatable)"},
    {"geo_db", MX_CFG_STR, EDGE_CONF_OFF(geo_db), "", 0, 4096, NULL,
        "MaxMind country database (.mmdb)"},
    {"geo_asn_db", MX_CFG_STR, EDGE_CONF_OFF(geo_asn_db), "", 0, 4096, NULL,
        "MaxMind ASN database (.mmdb)"},
    {"geo_policy", MX_CFG_FN, 0, NULL, 0, 0, edge_conf_geo_fn,
        "CC=ACTION or AS<n>=ACTION (repeatable; docs/geo.md)"},
    {"pregreet_time", MX_CFG_MS, EDGE_CONF_OFF(pregreet_time), "0", 0, 30000,
        NULL, "wait before the greeting to catch early talkers"},
    {"score_early_talker", MX_CFG_U64, EDGE_CONF_OFF(score_early_talker), "5",
        0, 1000, NULL, "score of a client talking before the greeting"},
    {"score_bad_pipelining", MX_CFG_U64, EDGE_CONF_OFF(score_bad_pipelining),
        "3", 0, 1000, NULL, "score of pipelining without PIPELINING"},
    {"score_non_smtp", MX_CFG_U64, EDGE_CONF_OFF(score_non_smtp), "5", 0, 1000,
        NULL, "score of a non-SMTP (HTTP) command"},
    {"score_bad_helo", MX_CFG_U64, EDGE_CONF_OFF(score_bad_helo), "2", 0, 1000,
        NULL, "score of a bad, mismatched or forged HELO"},
    {"test_verdict_header", MX_CFG_BOOL, EDGE_CONF_OFF(test_verdict_header),
        "no", 0, 1, NULL, "honour X-Mxs-Test-Verdict (tests only)"},
    {"foreground", MX_CFG_BOOL, EDGE_CONF_OFF(foreground), "no", 0, 1, NULL,
        "stay in the foreground, log to stderr"},
    {"verbose", MX_CFG_BOOL, EDGE_CONF_OFF(verbose), "no", 0, 1, NULL,
        "debug logging"},
    {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* edge_conf_resolve - host text and port to one socket address */
static int
edge_conf_resolve(const char *host, uint16_t port, int numeric,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct addrinfo hints, *res = NULL;
	char ps[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0);
	snprintf(ps, sizeof(ps), "%u", (unsigned)port);
	if ((rc = getaddrinfo(host, ps, &hints, &res)) != 0 || res == NULL)
		return MX_EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* edge_conf_listen_fn - parse one --listen value */
static int
edge_conf_listen_fn(void *conf, const char *v, char *err, size_t errlen)
{
	struct edge_conf *c = conf;
	struct edge_listen *l;
	const char *comma = strchr(v, ',');
	size_t alen = comma ? (size_t)(comma - v) : strlen(v);
	char host[INET6_ADDRSTRLEN + 1];
	uint16_t port;

	if (c->n_listen >= EDGE_LISTEN_MAX) {
		snprintf(err, errlen, "listen: more than %d listeners",
		    EDGE_LISTEN_MAX);
		return MX_ELIMIT;
	}
	l = &c->listen[c->n_listen];
	memset(l, 0, sizeof(*l));
	if (comma != NULL) {
		if (strcmp(comma + 1, "proxy") != 0) {
			snprintf(err, errlen,
			    "listen: unknown flag '%.32s' (only 'proxy')",
			    comma + 1);
			return MX_EINVAL;
		}
		l->is_proxy = 1;
	}
	if (mx_parse_hostport(v, alen, host, sizeof(host), &port) != 0 ||
	    edge_conf_resolve(host, port, 1, &l->addr, &l->addrlen) != 0) {
		snprintf(err, errlen,
		    "listen: '%.64s' is not ADDR:PORT with a numeric address",
		    v);
		return MX_EINVAL;
	}
	snprintf(l->text, sizeof(l->text), "%.*s", (int)alen, v);
	c->n_listen++;
	return 0;
}

/*
 * edge_conf_proxy_trusted_fn - ADDR[/PLEN] entries, comma-separated; the
 * first value given replaces the default list, later ones add to it
 */
static int
edge_conf_proxy_trusted_fn(void *conf, const char *v, char *err, size_t errlen)
{
	struct edge_conf *c = conf;
	struct edge_proxy_net nets[EDGE_PROXY_TRUST_MAX];
	const char *p = v, *end, *q;
	size_t n = 0, base;
	char why[160];

	base = c->proxy_trusted_is_default ? 0 : c->n_proxy_trusted;
	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		for (q = end; q > p && (q[-1] == ' ' || q[-1] == '\t'); q--)
			;
		if (q == p) {
			snprintf(err, errlen,
			    "proxy_trusted: an empty entry in '%.64s' (want "
			    "ADDR[/PLEN],...)",
			    v);
			return MX_EINVAL;
		}
		if (base + n >= EDGE_PROXY_TRUST_MAX) {
			snprintf(err, errlen,
			    "proxy_trusted: more than %d entries",
			    EDGE_PROXY_TRUST_MAX);
			return MX_ELIMIT;
		}
		if (edge_proxy_net_parse(
		        p, (size_t)(q - p), &nets[n], why, sizeof(why)) != 0) {
			snprintf(err, errlen, "proxy_trusted: %s", why);
			return MX_EINVAL;
		}
		n++;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	memcpy(&c->proxy_trusted[base], nets, n * sizeof(nets[0]));
	c->n_proxy_trusted = base + n;
	c->proxy_trusted_is_default = 0;
	return 0;
}

/* edge_conf_route_fn - parse one --route value */
static int
edge_conf_route_fn(void *conf, const char *v, char *err, size_t errlen)
{
	struct edge_conf *c = conf;
	struct edge_route r;
	const char *eq = strchr(v, '='), *hp, *comma;
	char host[256];
	uint16_t port;
	size_t dl, i;

	memset(&r, 0, sizeof(r));
	if (eq == NULL || eq == v) {
		snprintf(err, errlen,
		    "route: '%.64s' is not DOMAIN=HOST:PORT[,tls=require]", v);
		return MX_EINVAL;
	}
	dl = (size_t)(eq - v);
	if (dl >= sizeof(r.domain)) {
		snprintf(err, errlen, "route: domain too long");
		return MX_EINVAL;
	}
	for (i = 0; i < dl; i++) {
		char ch = v[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch + 32);
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		        ch == '-' || ch == '.' || ch == '_' ||
		        (ch == '*' && dl == 1))) {
			snprintf(err, errlen,
			    "route: bad character in domain '%.*s'", (int)dl,
			    v);
			return MX_EINVAL;
		}
		r.domain[i] = ch;
	}
	hp = eq + 1;
	comma = strchr(hp, ',');
	if (comma != NULL) {
		if (strcmp(comma + 1, "tls=require") != 0) {
			snprintf(err, errlen,
			    "route: unknown flag '%.32s' (only tls=require)",
			    comma + 1);
			return MX_EINVAL;
		}
		r.tls_require = 1;
	}
	if (mx_parse_hostport(hp, comma ? (size_t)(comma - hp) : strlen(hp),
	        host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "route: '%.64s' is not HOST:PORT", hp);
		return MX_EINVAL;
	}
	if (edge_conf_resolve(host, port, 0, &r.addr, &r.addrlen) != 0) {
		snprintf(err, errlen, "route: cannot resolve '%.64s'", host);
		return MX_EINVAL;
	}
	if (c->n_routes >= EDGE_ROUTE_MAX) {
		snprintf(
		    err, errlen, "route: more than %d routes", EDGE_ROUTE_MAX);
		return MX_ELIMIT;
	}
	for (i = 0; i < c->n_routes; i++) {
		if (strcmp(c->routes[i].domain, r.domain) == 0) {
			snprintf(
			    err, errlen, "route: '%s' given twice", r.domain);
			return MX_EEXIST;
		}
	}
	snprintf(r.text, sizeof(r.text), "%.299s", v);
	c->routes = mx_realloc(
	    c->routes, (c->n_routes + 1) * sizeof(struct edge_route));
	c->routes[c->n_routes++] = r;
	return 0;
}

/* edge_conf_trap_fn - one spam-trap address, stored lower case */
static int
edge_conf_trap_fn(void *conf, const char *v, char *err, size_t errlen)
{
	struct edge_conf *c = conf;
	size_t i, n = strlen(v);
	const char *at = strchr(v, '@');
	char *low;

	if (at == NULL || at == v || at[1] == '\0' || n > EDGE_CMD_PATH_MAX) {
		snprintf(
		    err, errlen, "spam_trap: '%.64s' is not local@domain", v);
		return MX_EINVAL;
	}
	if (c->n_traps >= EDGE_TRAPS_MAX) {
		snprintf(err, errlen, "spam_trap: more than %d traps",
		    EDGE_TRAPS_MAX);
		return MX_ELIMIT;
	}
	low = mx_strndup(v, n);
	for (i = 0; i < n; i++)
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] = (char)(low[i] + 32);
	c->traps = mx_realloc(c->traps, (c->n_traps + 1) * sizeof(char *));
	c->traps[c->n_traps++] = low;
	return 0;
}

/*
 * edge_conf_hub_key_fn - one trusted hub key: HUB_ID=PATH of an Ed25519
 * public key. A hub may be named twice, with two different keys (the
 * current one and the next, during a rotation); never three times, and
 * no key may belong to two hubs.
 */
static int
edge_conf_hub_key_fn(void *conf, const char *v, char *err, size_t errlen)
{
	struct edge_conf *c = conf;
	struct edge_hub_key *h = NULL;
	uint8_t raw[PROTO_PUBKEY_LEN], other[PROTO_PUBKEY_LEN];
	const char *eq = strchr(v, '=');
	struct proto_key *k = NULL;
	size_t idlen, i, j;
	int rc;

	if (eq == NULL || eq == v || eq[1] == '\0') {
		snprintf(err, errlen, "hub_key: '%.64s' is not HUB_ID=PATH", v);
		return MX_EINVAL;
	}
	idlen = (size_t)(eq - v);
	if (proto_id_check(v, idlen) != 0) {
		snprintf(err, errlen,
		    "hub_key: '%.*s' is not a hub id (1..64 of "
		    "[A-Za-z0-9._-])",
		    (int)(idlen > 64 ? 64 : idlen), v);
		return MX_EINVAL;
	}
	for (i = 0; i < c->n_hub_keys; i++)
		if (strlen(c->hub_keys[i].id) == idlen &&
		    memcmp(c->hub_keys[i].id, v, idlen) == 0)
			h = &c->hub_keys[i];
	if (h != NULL && h->n_keys >= EDGE_HUB_KEYS_MAX) {
		snprintf(err, errlen,
		    "hub_key: hub '%s' has %d keys already (the current and "
		    "the next; remove the old one first)",
		    h->id, EDGE_HUB_KEYS_MAX);
		return MX_ELIMIT;
	}
	if (h == NULL && c->n_hub_keys >= PROTO_KEYRING_MAX) {
		snprintf(err, errlen, "hub_key: more than %d hubs",
		    PROTO_KEYRING_MAX);
		return MX_ELIMIT;
	}
	rc = proto_key_load_public(eq + 1, &k);
	if (rc != 0) {
		snprintf(err, errlen,
		    rc == MX_EIO ? "hub_key: cannot read '%.160s'"
		                 : "hub_key: '%.160s' is not an Ed25519 "
		                   "public key (PEM)",
		    eq + 1);
		return rc;
	}
	if (proto_key_public_raw(k, raw) != 0) {
		proto_key_free(k);
		snprintf(err, errlen, "hub_key: '%.160s' is unusable", eq + 1);
		return MX_EKEY;
	}
	/* one key per hub: a shared key lets one hub speak for another */
	for (i = 0; i < c->n_hub_keys; i++) {
		const struct edge_hub_key *o = &c->hub_keys[i];

		for (j = 0; j < o->n_keys; j++) {
			if (proto_key_public_raw(o->keys[j], other) != 0 ||
			    memcmp(raw, other, sizeof(raw)) != 0)
				continue;
			proto_key_free(k);
			if (o == h)
				snprintf(err, errlen,
				    "hub_key: '%.160s' is a key of hub '%s' "
				    "already",
				    eq + 1, o->id);
			else
				snprintf(err, errlen,
				    "hub_key: hub '%.*s' has the key of hub "
				    "'%s' (one key per hub)",
				    (int)idlen, v, o->id);
			return MX_EEXIST;
		}
	}
	if (h == NULL) {
		h = &c->hub_keys[c->n_hub_keys++];
		memcpy(h->id, v, idlen);
		h->id[idlen] = '\0';
	}
	h->keys[h->n_keys++] = k;
	return 0;
}

/* edge_conf_attach_fn - one attach_policy rule */
static int
edge_conf_attach_fn(void *conf, const char *v, char *err, size_t errlen)
{
	struct edge_conf *c = conf;

	return edge_policy_rule_parse(
	    c->attach_rules, &c->n_attach_rules, v, err, errlen);
}

/* edge_conf_geo_fn - one geo_policy rule */
static int
edge_conf_geo_fn(void *conf, const char *v, char *err, size_t errlen)
{
	struct edge_conf *c = conf;

	return edge_geo_rule_add(&c->geo_rules, v, strlen(v), err, errlen);
}

/* edge_conf_fail_fn - a layer that fails closed */
static int
edge_conf_fail_fn(void *conf, const char *v, char *err, size_t errlen)
{
	struct edge_conf *c = conf;
	int i;

	for (i = 0; i < EDGE_LAYER__COUNT; i++) {
		if (strcmp(edge_filter_layer_name(i), v) == 0) {
			c->filter_fail_closed |= 1u << i;
			return 0;
		}
	}
	snprintf(err, errlen,
	    "fail_closed: '%.32s' is not a layer (ip, geo, protocol, "
	    "envelope, content, policy)",
	    v);
	return MX_EINVAL;
}

/* edge_conf_filter - layer switches and the geo databases */
static int
edge_conf_filter(struct edge_conf *c)
{
	char err[EDGE_GEO_ERR_MAX];
	int rc;

	c->filter_off = (c->ip_filter ? 0 : 1u << EDGE_LAYER_IP) |
	                (c->geo_filter ? 0 : 1u << EDGE_LAYER_GEO) |
	                (c->protocol_filter ? 0 : 1u << EDGE_LAYER_PROTOCOL) |
	                (c->envelope_filter ? 0 : 1u << EDGE_LAYER_ENVELOPE) |
	                (c->content_filter ? 0 : 1u << EDGE_LAYER_CONTENT);
	if (c->geo_db[0] == '\0') {
		if (c->geo_asn_db[0] != '\0' || c->geo_rules.n > 0) {
			fprintf(stderr, "geo_db: geo_asn_db and geo_policy "
			                "need a country database\n");
			return 1;
		}
		return 0;
	}
	rc = edge_geo_open(c->geo_db, c->geo_asn_db, &c->geo, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	return 0;
}

/* edge_conf_route - find the route of a domain */
const struct edge_route *
edge_conf_route(const struct edge_conf *c, const char *domain, size_t len)
{
	const struct edge_route *def = NULL;
	size_t i, pos;

	for (i = 0; i < c->n_routes; i++) {
		const struct edge_route *r = &c->routes[i];

		if (strlen(r->domain) == len &&
		    strncasecmp(r->domain, domain, len) == 0)
			return r;
		if (r->domain[0] == '*')
			def = r;
	}
	/* ".example.com" routes every subdomain of example.com */
	for (pos = 0; pos < len; pos++) {
		if (domain[pos] != '.')
			continue;
		for (i = 0; i < c->n_routes; i++) {
			const struct edge_route *r = &c->routes[i];

			if (r->domain[0] == '.' &&
			    strlen(r->domain) == len - pos &&
			    strncasecmp(r->domain, domain + pos, len - pos) ==
			        0)
				return r;
		}
	}
	return def;
}

/*
 * edge_conf_read_secret - mx_cfg_read_secret, the reason printed naming
 * the option (never the contents). Returns the length or -1.
 */
static ssize_t
edge_conf_read_secret(const char *opt, const char *path, char *out, size_t max)
{
	char err[MX_CFG_ERR_MAX];
	long n = mx_cfg_read_secret(path, out, max, err, sizeof(err));

	if (n < 0)
		fprintf(stderr, "%s: %s\n", opt, err);
	return (ssize_t)n;
}

/* edge_conf_default_id - a valid edge id from the host name */
static void
edge_conf_default_id(struct edge_conf *c)
{
	char hn[EDGE_HOSTNAME_MAX + 1], id[PROTO_ID_MAX + 1];
	size_t i;

	if (gethostname(hn, sizeof(hn)) != 0)
		hn[0] = '\0';
	hn[EDGE_HOSTNAME_MAX] = '\0';
	/* ids are [A-Za-z0-9._-]: anything else becomes '-' */
	for (i = 0; hn[i] != '\0' && i < PROTO_ID_MAX; i++) {
		char ch = hn[i];

		id[i] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		                (ch >= '0' && ch <= '9') || ch == '.' ||
		                ch == '_' || ch == '-'
		            ? ch
		            : '-';
	}
	id[i] = '\0';
	if (proto_id_check(id, i) != 0)
		snprintf(id, sizeof(id), "edge");
	mx_free(c->edge_id);
	c->edge_id = mx_strdup(id);
}

/* edge_conf_telemetry - check the telemetry parameters, read the files */
static int
edge_conf_telemetry(struct edge_conf *c)
{
	char buf[EDGE_SECRET_MAX + 2];
	int problems = 0;
	ssize_t n;

	if (c->edge_id[0] == '\0')
		edge_conf_default_id(c);
	if (proto_id_check(c->edge_id, strlen(c->edge_id)) != 0) {
		fprintf(stderr,
		    "edge_id: '%.64s' is not 1..64 of [A-Za-z0-9._-] "
		    "(and not '.' or '..')\n",
		    c->edge_id);
		problems++;
	}
	if (proto_id_check(c->pop, strlen(c->pop)) != 0) {
		fprintf(stderr,
		    "pop: '%.64s' is not 1..64 of [A-Za-z0-9._-] "
		    "(and not '.' or '..')\n",
		    c->pop);
		problems++;
	}
	{
		struct mx_cfg_broker b = {c->broker, c->broker_cafile,
		    c->broker_certfile, c->broker_keyfile, c->broker_username,
		    c->broker_password_file};

		problems += mx_cfg_broker_check(&b, c->broker_host,
		    sizeof(c->broker_host), &c->broker_port, buf, sizeof(buf),
		    mx_cfg_report_stderr, NULL);
		if (buf[0] != '\0')
			c->broker_password = mx_strndup(buf, strlen(buf));
		explicit_bzero(buf, sizeof(buf));
	}
	if (c->rcpt_salt_file[0] != '\0') {
		n = edge_conf_read_secret("rcpt_salt_file", c->rcpt_salt_file,
		    buf, EDGE_TEL_SALT_MAX);
		if (n >= 0 && (size_t)n < EDGE_TEL_SALT_MIN) {
			fprintf(stderr,
			    "rcpt_salt_file: '%.256s' holds %zd bytes, "
			    "fewer than %d\n",
			    c->rcpt_salt_file, n, EDGE_TEL_SALT_MIN);
			problems++;
		} else if (n < 0) {
			problems++;
		} else {
			memcpy(c->rcpt_salt, buf, (size_t)n);
			c->rcpt_salt_len = (size_t)n;
		}
		explicit_bzero(buf, sizeof(buf));
	}
	return problems;
}

/* edge_conf_tls - build the inbound and downstream TLS contexts */
static int
edge_conf_tls(struct edge_conf *c)
{
	int problems = 0;

	c->tls_client = SSL_CTX_new(TLS_client_method());
	if (c->tls_client == NULL)
		return 1;
	SSL_CTX_set_min_proto_version(c->tls_client, TLS1_2_VERSION);
	/* opportunistic TLS to the destination: MX certificates are rarely
	 * verifiable (RFC 7435); tls=require demands encryption only */
	SSL_CTX_set_verify(c->tls_client, SSL_VERIFY_NONE, NULL);
	if (c->tls_cert[0] == '\0' && c->tls_key[0] == '\0')
		return 0;
	if (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0') {
		fprintf(stderr, "tls_cert and tls_key go together\n");
		return 1;
	}
	c->tls_server = SSL_CTX_new(TLS_server_method());
	if (c->tls_server == NULL)
		return 1;
	SSL_CTX_set_min_proto_version(c->tls_server, TLS1_2_VERSION);
	SSL_CTX_set_options(c->tls_server, SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(c->tls_server, c->tls_cert) !=
	    1) {
		fprintf(stderr, "tls_cert: cannot load '%s'\n", c->tls_cert);
		problems++;
	} else if (SSL_CTX_use_PrivateKey_file(
	               c->tls_server, c->tls_key, SSL_FILETYPE_PEM) != 1 ||
	           SSL_CTX_check_private_key(c->tls_server) != 1) {
		fprintf(stderr,
		    "tls_key: cannot load '%s' or it does not "
		    "match tls_cert\n",
		    c->tls_key);
		problems++;
	}
	ERR_clear_error();
	return problems;
}

/* edge_conf_free - release a snapshot */
static void
edge_conf_free(struct edge_conf *c)
{
	if (c == NULL)
		return;
	if (c->broker_password != NULL) {
		explicit_bzero(c->broker_password, strlen(c->broker_password));
		mx_free(c->broker_password);
	}
	explicit_bzero(c->rcpt_salt, sizeof(c->rcpt_salt));
	while (c->n_hub_keys > 0) {
		struct edge_hub_key *h = &c->hub_keys[--c->n_hub_keys];

		while (h->n_keys > 0)
			proto_key_free(h->keys[--h->n_keys]);
	}
	mx_cfg_fini(edge_conf_table, c);
	mx_free(c->routes);
	while (c->n_traps > 0)
		mx_free(c->traps[--c->n_traps]);
	mx_free(c->traps);
	edge_geo_free(c->geo);
	SSL_CTX_free(c->tls_server);
	SSL_CTX_free(c->tls_client);
	mx_free(c);
}

/* edge_conf_ref - take a reference */
struct edge_conf *
edge_conf_ref(struct edge_conf *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

/* edge_conf_unref - drop a reference; the last one frees */
void
edge_conf_unref(struct edge_conf *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1)
		edge_conf_free(c);
}

/* edge_conf_load - defaults, then the file, then the command line */
struct edge_conf *
edge_conf_load(int argc, char **argv, int *check_only)
{
	struct edge_conf *c = mx_calloc(1, sizeof(*c));
	char err[MX_CFG_ERR_MAX];
	struct mx_cfg_cli cli;
	int problems;

	atomic_init(&c->refs, 1);
	if (mx_cfg_init(edge_conf_table, c, err, sizeof(err)) != 0)
		mx_panic("edge_conf_table default: %s", err);
	/* the table's proxy_trusted is a default: a value given replaces it */
	c->proxy_trusted_is_default = 1;
	problems = mx_cfg_load_cli(
	    edge_conf_table, c, argc, argv, mx_cfg_report_stderr, NULL, &cli);
	if (cli.is_help) {
		mx_cfg_usage(edge_conf_table,
		    "usage: mxedge [-c FILE] [-f] [-v] [--check-config] "
		    "[--NAME VALUE ...]",
		    stderr);
		problems++;
	}
	c->foreground = cli.is_foreground;
	c->verbose = cli.is_verbose;
	*check_only = cli.is_check;
	if (strcmp(c->bare_newline, "reject") == 0)
		c->bare_mode = EDGE_BARE_REJECT;
	else if (strcmp(c->bare_newline, "normalize") == 0)
		c->bare_mode = EDGE_BARE_NORMALIZE;
	else {
		fprintf(stderr,
		    "bare_newline: '%.16s' is not reject or "
		    "normalize\n",
		    c->bare_newline);
		problems++;
	}
	if (c->n_listen == 0) {
		fprintf(stderr, "listen: no listener configured\n");
		problems++;
	}
	if (c->n_routes == 0) {
		fprintf(stderr, "route: no route configured (mxedge relays "
		                "only to routed domains)\n");
		problems++;
	}
	if (c->hostname[0] == '\0') {
		char hn[EDGE_HOSTNAME_MAX + 1];

		if (gethostname(hn, sizeof(hn)) != 0)
			snprintf(hn, sizeof(hn), "localhost");
		hn[EDGE_HOSTNAME_MAX] = '\0';
		mx_free(c->hostname);
		c->hostname = mx_strdup(hn);
	}
	problems += edge_conf_telemetry(c);
	problems += edge_conf_tls(c);
	if (problems == 0)
		problems += edge_conf_filter(c);
	if (problems > 0) {
		edge_conf_free(c);
		return NULL;
	}
	return c;
}
