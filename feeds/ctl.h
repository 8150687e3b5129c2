/*
 * ctl.h - mxctl internals: command line, records, edge status
 *
 * mxctl is the analyst's tool: it blocks, allows and revokes single ip,
 * net and domain values, turns a sample message into fingerprint and
 * body-hash records, and shows the edges' status. Submissions are signed
 * with the analyst's key and sent through feed_submit.h like mxfeed's.
 * The pieces here are pure (argument parsing, value validation, record
 * building, status formatting) so the unit tests call them directly;
 * ctl_main.c does the I/O.
 * Trust: the command line, config and sample files are the analyst's;
 * edge status and hub metrics come over the network and are decoded
 * strictly (proto_status_decode) and cut to their limits.
 */
#ifndef CTL_H
#define CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/proto_content.h"
#include "proto/proto_msg.h"
#include "proto/proto_record.h"
#include "proto/proto_sign.h"

#define CTL_ERR_MAX 256                   /* an error line, with the NUL */
#define CTL_EDGES_MAX 1024                /* edges kept by `edges` */
#define CTL_SIG_RECS (PROTO_FP_BANDS + 1) /* fp bands + body hash */
#define CTL_SAMPLE_MAX (16u << 20)        /* bytes of a sample message */
#define CTL_SECRET_MAX 256                /* longest broker password */

/* exit codes (docs/ctl.md) */
enum ctl_exit {
	CTL_EXIT_OK = 0,       /* done */
	CTL_EXIT_USAGE = 1,    /* usage or configuration */
	CTL_EXIT_REFUSED = 2,  /* refused input: a bad value or file */
	CTL_EXIT_NOTFOUND = 3, /* show: the hub knows nothing of the value */
	CTL_EXIT_BROKER = 4,   /* broker or hub unreachable, or not
	                          confirmed in time */
};

enum ctl_cmd {
	CTL_CMD_NONE = 0,
	CTL_CMD_BLOCK,    /* block KIND VALUE */
	CTL_CMD_ALLOW,    /* allow KIND VALUE */
	CTL_CMD_REVOKE,   /* revoke KIND VALUE */
	CTL_CMD_SIG_ADD,  /* sig add FILE */
	CTL_CMD_SIG_TEST, /* sig test FILE */
	CTL_CMD_EDGES,    /* edges */
	CTL_CMD_SHOW,     /* show KIND VALUE */
	CTL_CMD_TOP,      /* top [ips|nets|domains|urls|fps] */
};

/* the command line besides config parameters */
struct ctl_args {
	int cmd;                 /* enum ctl_cmd */
	const char *kind;        /* block/allow/revoke: ip, net or domain */
	const char *value;       /* block/allow/revoke: the value */
	const char *file;        /* sig: the sample message */
	const char *reason;      /* --reason, or NULL */
	uint64_t ttl_ms;         /* --ttl; 0 = never expires */
	uint64_t wait_ms;        /* --wait: edges, confirmation (default 2 s) */
	const char *confirm;     /* --confirm HUB_ID, or NULL */
	const char *hub_metrics; /* --hub-metrics HOST:PORT, or NULL */
	const char *by;          /* top: --by FIELD, or NULL */
	const char *since;       /* top: --since DURATION, or NULL */
	const char *limit;       /* top: --limit N, or NULL */
	int is_json;             /* --json */
	int is_no_confirm;       /* --no-confirm */
};

/* ---- ctl_conf.c ---- */

struct ctl_conf {
	/* strings owned by the config table (mx_cfg_fini) */
	char *source;      /* the analyst source the hub knows (feed_key) */
	char *who;         /* the analyst, in the hub's audit log */
	char *key;         /* Ed25519 private key (PEM) */
	char *state_dir;   /* DIR/SOURCE/ holds the serial */
	char *confirm_hub; /* confirm every submission with this hub */
	char *hub_key;     /* the hub's public key (PEM), or "" */
	char *hub_query;   /* the hub's query HOST:PORT (show, top) */
	char *hub_query_token_file; /* its bearer token, or "" */
	char *broker;               /* HOST:PORT */
	char *broker_cafile;
	char *broker_certfile;
	char *broker_keyfile;
	char *broker_username;
	char *broker_password_file;
	uint64_t publish_timeout; /* ms: connect, PUBACKs, SUBACK */
	uint64_t state_map_size;  /* bytes of the LMDB map */
	/* derived */
	char broker_host[256];
	uint16_t broker_port;
	char broker_password[CTL_SECRET_MAX + 1];
	char hub_query_token[CTL_SECRET_MAX + 2];
	struct proto_key *sign_key;   /* owned */
	struct proto_key *verify_key; /* owned, or NULL */
	int verbose;
};

/*
 * ctl_args_split - take the command, its arguments and mxctl's flags
 * (--reason, --ttl, --wait, --confirm, --hub-metrics, --json,
 * --no-confirm) out of argv; the rest (argv[0] first, NULL-ended) is put
 * in *rest for mx_cfg_load_cli (caller frees with mx_free). Returns 0, or
 * MX_EINVAL with one line in err (unknown command, wrong arguments, bad
 * --ttl or --wait). Pure.
 */
int ctl_args_split(int argc, char **argv, struct ctl_args *a, char ***rest,
    int *n_rest, char *err, size_t errlen);

/*
 * ctl_conf_load - defaults, -c FILE, then options, then the checks the
 * command needs (key, source, state_dir for submissions; broker for
 * those and edges). Problems are printed to stderr. Returns the config
 * (caller frees with ctl_conf_free) or NULL.
 */
struct ctl_conf *ctl_conf_load(
    int n_rest, char **rest, const struct ctl_args *a);
/* ctl_conf_free - release; NULL does nothing */
void ctl_conf_free(struct ctl_conf *c);
/* ctl_conf_usage - commands and the option list */
void ctl_conf_usage(FILE *out);

/* ---- ctl_rec.c ---- */

/*
 * ctl_rec_value - the canonical key of a "ip", "net" or "domain" value
 * (proto_key_ip / proto_key_net / proto_key_domain). Returns 0 with
 * *kind, key and *key_len set, or MX_EINVAL with one line in err.
 */
int ctl_rec_value(const char *kind, const char *value, uint8_t *kind_out,
    uint8_t key[PROTO_KEY_MAX], uint16_t *key_len, char *err, size_t errlen);

/*
 * ctl_rec_single - the record of block (reject), allow (allow) or revoke
 * (op del) for a value, at now_ms, expiring after ttl_ms (0 = never).
 * Returns 0, or MX_EINVAL with one line in err (bad value, bad reason).
 */
int ctl_rec_single(int cmd, const char *kind, const char *value,
    const char *source, const char *reason, uint64_t ttl_ms, uint64_t now_ms,
    struct proto_record *out, char *err, size_t errlen);

/*
 * ctl_rec_sig - the records of sig add for an analysed message: one fp
 * record per band, each carrying the compact signature, then the body
 * hash (when the message has text). Returns how many were written to
 * out (at most CTL_SIG_RECS), or MX_EINVAL with why in err (too little
 * text for a fingerprint).
 */
int ctl_rec_sig(const struct proto_content_result *res, const char *source,
    const char *reason, uint64_t ttl_ms, uint64_t now_ms,
    struct proto_record *out, char *err, size_t errlen);

/*
 * ctl_rec_print - records as lines ("+ fp 01..." human, or a JSON array),
 * for what was submitted
 */
void ctl_rec_print(
    FILE *out, const struct proto_record *recs, size_t n, int is_json);

/*
 * ctl_sig_print - what an edge computes for a message: fingerprint
 * bands, body hash, attachment hashes, URL hosts (human or JSON)
 */
void ctl_sig_print(FILE *out, const char *file,
    const struct proto_content_result *res, int is_json);

/* ctl_json_str - s[0..len) as a JSON string, quotes included */
void ctl_json_str(FILE *out, const char *s, size_t len);

/* ---- ctl_http.c ---- */

#define CTL_HTTP_MAX (4u << 20) /* bytes of an answer */
#define CTL_HTTP_TIMEOUT_S 10   /* connect, send, each read */

/* an HTTP answer: status, and the body inside buf (NUL-ended) */
struct ctl_http_answer {
	int status;
	char *buf; /* owned: ctl_http_free */
	const char *body;
	size_t body_len;
	int is_cut; /* the answer was longer than CTL_HTTP_MAX */
};

/*
 * ctl_http_query - "path?n1=v1&n2=v2" into out (cap bytes) from params
 * (names and values alternating, NULL-ended; a value "" is left out),
 * each percent-encoded. Returns 0 or MX_ETOOBIG. Pure.
 */
int ctl_http_query(
    char *out, size_t cap, const char *path, const char *const *params);
/*
 * ctl_http_parse - the status code of an HTTP/1.x answer and where its
 * body starts. Returns 0 or MX_EPROTO. Pure.
 */
int ctl_http_parse(const char *buf, size_t len, int *status, size_t *body_off);
/*
 * ctl_http_get - GET target (path and query) from HOST:PORT over
 * HTTP/1.0, with "Authorization: Bearer token" when token is not "".
 * Returns 0 with *ans filled (any status), MX_EINVAL (bad HOST:PORT) or
 * MX_EIO (cannot connect, send, or no HTTP answer), with why in err.
 */
int ctl_http_get(const char *hostport, const char *target, const char *token,
    struct ctl_http_answer *ans, char *err, size_t errlen);
void ctl_http_free(struct ctl_http_answer *ans);

/* ---- ctl_status.c ---- */

struct ctl_hub_pos {
	char hub_id[PROTO_ID_MAX + 1];
	uint64_t epoch;
	uint64_t seq;
};

/* one edge's last status, copied out of the payload */
struct ctl_edge {
	char edge_id[PROTO_ID_MAX + 1];
	char pop[PROTO_ID_MAX + 1];
	char version[PROTO_VERSION_STR_MAX + 1];
	uint8_t state;     /* enum proto_edge_state */
	uint64_t ts_ms;    /* when the edge wrote it, unix ms */
	uint64_t uptime_s; /* seconds */
	uint32_t sessions; /* open now */
	uint32_t msgs_per_min;
	uint16_t n_hubs;
	struct ctl_hub_pos hubs[PROTO_STATUS_HUBS_MAX];
};

/* a hub's position from its metrics (--hub-metrics) */
struct ctl_hub_metrics {
	int is_known; /* both gauges read */
	uint64_t epoch;
	uint64_t seq;
};

/*
 * ctl_status_decode - a status payload into an edge; 0 or the
 * proto_status_decode error. Strings are copied and cut to fit.
 */
int ctl_status_decode(const uint8_t *buf, size_t len, struct ctl_edge *out);

/* ctl_status_state_name - "online", "offline", "draining" or "unknown" */
const char *ctl_status_state_name(int state);

/*
 * ctl_status_metrics_parse - mxhub_update_seq and mxhub_update_epoch
 * from a Prometheus text page; out->is_known when both were there
 */
void ctl_status_metrics_parse(
    const char *text, size_t len, struct ctl_hub_metrics *out);

/*
 * ctl_status_print - the edges sorted by id, one block each (human) or a
 * JSON array; hm (may be NULL) gives the lag of positions of its epoch;
 * now_ms dates the age of each status.
 */
void ctl_status_print(FILE *out, struct ctl_edge *edges, size_t n,
    const struct ctl_hub_metrics *hm, uint64_t now_ms, int is_json);

#endif /* CTL_H */
