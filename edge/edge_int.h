/*
 * edge_int.h - mxedge daemon internals: configuration, workers, sessions,
 * downstream client, filters, metrics, telemetry
 *
 * The pure parsers (commands, DATA stream, PROXY) are declared in edge.h;
 * this header holds the parts that do I/O. Threads: the main thread owns
 * configuration and signals; each worker thread owns its event base and
 * its sessions; the metrics thread serves HTTP; the MQTT thread owns the
 * broker session. Shared between threads: the refcounted configuration
 * snapshot, the LMDB store, the per-IP table, the telemetry queue (one
 * mutex, never held across I/O) and the counters (relaxed atomics).
 * Trust: see each .c file.
 */
#ifndef EDGE_INT_H
#define EDGE_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "lib/mx_buf.h"
#include "lib/mx_cfg.h"
#include "lib/mx_log.h"
#include "proto/proto_msg.h"
#include "proto/proto_sign.h"
#include "proto/proto_store.h"
#include "edge/edge.h"

/*
 * ---- edge_filter.c and the layers (edge_ip.c, edge_geolayer.c,
 * edge_protocol.c, edge_envelope.c, edge_content.c, edge_policy.c) ----
 *
 * A layer is a component with a fixed interface, called at each stage of
 * a session (connect, helo, mail, rcpt, data, body chunk, end of data).
 * Each may add score and hits, or decide an action. Layers publish what
 * they learn (URL hosts, fingerprints, hashes, attachments) on the event
 * channel and subscribe to what they need; telemetry is one more
 * subscriber. Adding a layer is one new file and one entry in the table
 * in edge_filter.c. Each layer can be switched off, has a time budget,
 * and a fail-open or fail-closed rule applied when it overruns or fails.
 */

struct edge_conf;
struct proto_txn;
struct proto_content;
struct proto_key;

#define EDGE_FILTER_HITS_MAX 16   /* hits kept per transaction */
#define EDGE_FILTER_HIT_ID_MAX 64 /* reason id bytes */
#define EDGE_FILTER_LAYERS_MAX 8  /* entries in the layer table */

/* layers, in the order they run (cheapest first) */
enum edge_layer_id {
	EDGE_LAYER_IP = 0,
	EDGE_LAYER_GEO,
	EDGE_LAYER_PROTOCOL,
	EDGE_LAYER_ENVELOPE,
	EDGE_LAYER_CONTENT,
	EDGE_LAYER_POLICY,
	EDGE_LAYER__COUNT
};

/* one thing that scored or decided: a record or a rule */
struct edge_filter_hit {
	uint8_t layer;      /* enum edge_layer_id */
	uint8_t kind;       /* record kind, or 0 for a configured rule */
	uint8_t action;     /* enum proto_action */
	uint8_t is_observe; /* record in observe mode: reported, not acted */
	int32_t score;
	uint64_t version;                  /* record ts_ms (0 for rules) */
	char id[EDGE_FILTER_HIT_ID_MAX];   /* "ip:192.0.2.7", "geo:XX" */
	char source[PROTO_SOURCE_MAX + 1]; /* record source, or "rule" */
};

/* what the event channel carries */
enum edge_fev {
	EDGE_FEV_URL_HOST = 0, /* a URL host (lower case, A-label) */
	EDGE_FEV_FP_BAND,      /* a fingerprint band key (PROTO_KIND_FP) */
	EDGE_FEV_HASH,         /* a body or attachment hash key */
	EDGE_FEV_ATTACH,       /* an attachment (struct proto_attach) */
	EDGE_FEV_FP_SIG,       /* the compact signature, PROTO_FP_SIG_LEN */
	EDGE_FEV__COUNT
};

/* protocol facts the session notes for the protocol layer */
#define EDGE_PF_EARLY_TALKER 0x01u   /* spoke before the greeting */
#define EDGE_PF_BAD_PIPELINING 0x02u /* pipelined without PIPELINING */
#define EDGE_PF_NON_SMTP 0x04u       /* HTTP verb or similar */
#define EDGE_PF_BAD_HELO 0x08u       /* HELO not a domain or literal */
#define EDGE_PF_HELO_MISMATCH 0x10u  /* [literal] is not the client */
#define EDGE_PF_HELO_IS_US 0x20u     /* HELO claims our own name */

#define EDGE_TRAPS_MAX 1024 /* spam_trap addresses */

/* an attach_policy rule */
#define EDGE_ATTACH_RULES_MAX 16
struct edge_attach_rule {
	uint16_t flag;    /* PROTO_AF_* class */
	uint8_t action;   /* enum proto_action */
	int32_t score;    /* for PROTO_ACT_SCORE */
	const char *name; /* class name (static) */
};

/* a subscriber outside the layer table (the session's telemetry) */
typedef void (*edge_filter_listener_fn)(
    void *arg, enum edge_fev ev, const uint8_t *p, size_t len);

/*
 * Per-session filter state. Connection-level fields last the session;
 * transaction-level fields are reset by edge_filter_txn_begin.
 */
struct edge_fctx {
	const struct edge_conf *conf; /* the session's snapshot */
	struct proto_txn *rtxn;       /* worker's read handle, or NULL */
	uint8_t peer[16];             /* client address, IPv4 v4-mapped */
	/* connection level */
	int32_t conn_score;
	uint8_t conn_action;     /* strongest action at connect/helo */
	char country[3];         /* ISO code from the geo layer, or "" */
	uint32_t asn;            /* 0 = unknown */
	int is_early_talker;     /* spoke before the greeting */
	int is_allowed;          /* an allow record/rule matched the client */
	uint32_t proto_flags;    /* EDGE_PF_* noted by the session */
	uint32_t proto_reported; /* EDGE_PF_* already turned into hits */
	edge_filter_listener_fn listener; /* extra subscriber, or NULL */
	void *listener_arg;
	uint16_t n_conn_hits;
	struct edge_filter_hit conn_hits[EDGE_FILTER_HITS_MAX / 2];
	/* transaction level */
	int in_txn;           /* MAIL seen, transaction not ended */
	int64_t reject_score; /* threshold; rcpt-policy may lower it */
	int rcpt_refused;     /* the current RCPT is refused locally */
	int rcpt_unknown;     /* ... as an unknown user (spam trap) */
	int rcpt_dir;         /* ... because the hubs' directory lists it */
	uint8_t rcpt_action;  /* ... with this action */
	char rcpt_reason[EDGE_FILTER_HIT_ID_MAX]; /* ... for this reason */
	int content_ok;         /* the analyser runs for this message */
	int content_lite;       /* ... structure only, past its budget */
	int fp_matched;         /* a fingerprint record matched */
	uint32_t content_flags; /* PROTO_CF_* of the message */
	int32_t score;          /* transaction hits */
	uint8_t action;         /* strongest action decided so far */
	int is_txn_allowed;     /* allow-list hit in this transaction */
	int is_trap;            /* a spam-trap recipient was seen */
	uint16_t n_hits;
	uint16_t n_hits_dropped; /* hits past EDGE_FILTER_HITS_MAX */
	struct edge_filter_hit hits[EDGE_FILTER_HITS_MAX];
	struct proto_content *content; /* content analyser, or NULL */
	char test_verdict[16];         /* X-Mxs-Test-Verdict value (tests) */
	int in_body;                   /* test header scan state */
	size_t hlen;
	char hbuf[128];
	uint64_t layer_ns[EDGE_LAYER__COUNT]; /* time used this transaction */
	uint32_t layer_failed; /* bit per layer that failed or overran */
	char reason[EDGE_FILTER_HIT_ID_MAX]; /* reason id of the verdict */
};

/* a layer: any hook may be NULL */
struct edge_layer {
	const char *name;
	void (*connect)(struct edge_fctx *f);
	void (*helo)(struct edge_fctx *f, const char *helo, size_t len);
	void (*mail)(struct edge_fctx *f, const char *domain, size_t len);
	void (*rcpt)(struct edge_fctx *f, const char *local, size_t llen,
	    const char *domain, size_t dlen);
	void (*data)(struct edge_fctx *f);
	void (*body)(struct edge_fctx *f, const char *p, size_t len);
	void (*eod)(struct edge_fctx *f);
	/* the transaction is over (any outcome, even after the layer
	 * failed): release what it holds for one message */
	void (*txn_end)(struct edge_fctx *f);
	/*
	 * the layer went over its time budget (may be NULL): return 1 when it
	 * carries on degraded, cheaper, with a fresh budget (at most once a
	 * message: a second overrun fails it), 0 to fail now. Not asked when
	 * the layer fails closed.
	 */
	int (*overrun)(struct edge_fctx *f);
	/* event channel: called for each event this layer subscribes to */
	uint32_t subscribes; /* bit per enum edge_fev */
	void (*on_event)(struct edge_fctx *f, enum edge_fev ev,
	    const uint8_t *p, size_t len);
};

/* the verdict of a stage */
struct edge_fverdict {
	uint8_t action;     /* enum proto_action: SCORE/ALLOW/TAG = go on */
	int32_t score;      /* total score */
	const char *reason; /* reason id (borrowed from the context) */
};

/* ---- edge_filter.c: the chain ---- */

/* edge_filter_session_begin - a new session (after any PROXY header) */
void edge_filter_session_begin(struct edge_fctx *f, const struct edge_conf *c,
    struct proto_txn *rtxn, const uint8_t peer[16]);
/* edge_filter_session_end - release what the session holds */
void edge_filter_session_end(struct edge_fctx *f);
/*
 * Stage calls. Each runs every enabled layer's hook, then the policy, and
 * returns the verdict so far: action TEMPFAIL or REJECT means refuse this
 * stage (connect: 554 5.7.1 or 421; rcpt: 550 5.7.1 or 450 4.7.1; end of
 * data: 550 5.7.1 or 451 4.7.1).
 */
void edge_filter_connect(struct edge_fctx *f, struct edge_fverdict *v);
void edge_filter_helo(
    struct edge_fctx *f, const char *helo, size_t len, struct edge_fverdict *v);
void edge_filter_txn_begin(struct edge_fctx *f);
void edge_filter_mail(struct edge_fctx *f, const char *domain, size_t len,
    struct edge_fverdict *v);
void edge_filter_rcpt(struct edge_fctx *f, const char *local, size_t llen,
    const char *domain, size_t dlen, struct edge_fverdict *v);
void edge_filter_data(struct edge_fctx *f);
void edge_filter_body(struct edge_fctx *f, const char *p, size_t len);
void edge_filter_eod(struct edge_fctx *f, struct edge_fverdict *v);
/* edge_filter_hits_text - the hits' ids, comma-separated (logs) */
void edge_filter_hits_text(const struct edge_fctx *f, char *buf, size_t len);
/* edge_filter_peek - the verdict so far (e.g. to tag before the body) */
void edge_filter_peek(struct edge_fctx *f, struct edge_fverdict *v);

/* edge_filter_txn_end - the transaction is over (any outcome) */
void edge_filter_txn_end(struct edge_fctx *f);
/* edge_filter_layer_name - "ip", "geo", ... */
const char *edge_filter_layer_name(int layer);
/*
 * edge_policy_rule_parse - one attach_policy value (CLASS=ACTION) into
 * rules[*n]; 0, MX_EINVAL, MX_EEXIST or MX_ELIMIT with err set
 */
int edge_policy_rule_parse(struct edge_attach_rule *rules, size_t *n,
    const char *v, char *err, size_t errlen);

/*
 * edge_filter_hit_add - record a hit in the transaction (or the connection
 * while no transaction is open) and fold its action and score in. Layers
 * call it; observe-mode records are kept but do not act.
 */
void edge_filter_hit_add(struct edge_fctx *f, enum edge_layer_id layer,
    const struct proto_record *r, const char *id, int32_t score,
    uint8_t action);
/* edge_filter_publish - put an event on the channel (synchronous) */
void edge_filter_publish(
    struct edge_fctx *f, enum edge_fev ev, const uint8_t *p, size_t len);
/* edge_filter_layer_failed - a layer could not do its job (fail rule) */
void edge_filter_layer_failed(struct edge_fctx *f, enum edge_layer_id layer);

extern const struct edge_layer edge_layer_ip;
extern const struct edge_layer edge_layer_geo;
extern const struct edge_layer edge_layer_protocol;
extern const struct edge_layer edge_layer_envelope;
extern const struct edge_layer edge_layer_content;
/*
 * edge_content_pool_drain - free the calling worker thread's idle
 * analysers (at the thread's exit)
 */
void edge_content_pool_drain(void);
extern const struct edge_layer edge_layer_policy;

#define EDGE_VERSION "0.1.0"
#define EDGE_LISTEN_MAX 16  /* listeners per process */
#define EDGE_ROUTE_MAX 4096 /* route table entries */
#define EDGE_WORKERS_MAX 64 /* worker threads */
#define EDGE_HOSTNAME_MAX 255
#define EDGE_TEL_SALT_MIN 16 /* bytes of the local-part hash salt */
#define EDGE_TEL_SALT_MAX 64
#define EDGE_SECRET_MAX 1024 /* longest broker password */
/* proxy_trusted default, loopback only: a proxy on this host may speak for
 * its clients, nothing off the host may (docs/edge.md "Behind a proxy") */
#define EDGE_PROXY_TRUSTED_DEFAULT "127.0.0.0/8,::1/128"

/* ---- edge_conf.c: parameters, listeners, routes ---- */

struct edge_listen {
	struct sockaddr_storage addr; /* bind address */
	socklen_t addrlen;
	int is_proxy;  /* expects a PROXY v1/v2 header first */
	char text[80]; /* as configured, for logs */
};

struct edge_route {
	char domain[256]; /* lower case; "*" default; ".x" = subdomains */
	struct sockaddr_storage addr; /* destination */
	socklen_t addrlen;
	int tls_require; /* no STARTTLS downstream -> 4xx */
	char text[300];  /* as configured, for logs */
};

enum edge_bare_mode {
	EDGE_BARE_REJECT = 0,    /* bare CR/LF in DATA refused */
	EDGE_BARE_NORMALIZE = 1, /* re-framed as CRLF lines */
};

/* keys one hub may have: the current and the next, for a rotation */
#define EDGE_HUB_KEYS_MAX 2

/* a trusted hub: one or two hub_key = HUB_ID=PATH lines */
struct edge_hub_key {
	char id[PROTO_ID_MAX + 1];                 /* proto_id_check() valid */
	size_t n_keys;                             /* 1..EDGE_HUB_KEYS_MAX */
	struct proto_key *keys[EDGE_HUB_KEYS_MAX]; /* Ed25519 public keys,
	                                              owned, in config order */
};

struct edge_conf {
	atomic_int refs; /* sessions and workers holding this snapshot */

	/* table parameters (names equal the config keys) */
	char *data_dir;                  /* LMDB cache directory */
	char *hostname;                  /* name in greeting and Received */
	char *metrics;                   /* ADDR:PORT of /metrics, or empty */
	char *tls_cert;                  /* PEM certificate chain, or empty */
	char *tls_key;                   /* PEM private key, or empty */
	char *bare_newline;              /* "reject" or "normalize" */
	uint64_t max_size;               /* bytes per message */
	uint64_t max_rcpt;               /* recipients per transaction */
	uint64_t workers;                /* threads; 0 = number of cores */
	uint64_t smtp_line_limit;        /* bytes per command line */
	uint64_t data_line_limit;        /* bytes per DATA line (hard cap) */
	uint64_t max_errors;             /* sender errors before 421 */
	uint64_t max_commands;           /* commands per session */
	uint64_t per_ip_sessions;        /* concurrent sessions per client IP */
	uint64_t max_sessions;           /* concurrent sessions per process */
	uint64_t smtp_command_time;      /* ms: total time for one command */
	uint64_t smtp_data_time;         /* ms: total time for one DATA phase */
	uint64_t smtp_session_time;      /* ms: total time for one session */
	uint64_t connect_time;           /* ms: downstream connect + greeting */
	uint64_t reply_time;             /* ms: downstream reply wait */
	uint64_t drain_time;             /* ms: graceful shutdown bound */
	uint64_t drain_accept_time;      /* ms still accepting after SIGTERM */
	uint64_t rcpt_cache_ttl_ok;      /* ms: remember a valid recipient */
	uint64_t rcpt_cache_ttl_unknown; /* ms: remember an unknown one */
	uint64_t rcpt_cache_max;         /* entries in the recipient cache */
	uint64_t map_size;               /* LMDB map size, bytes */
	char *broker;          /* HOST:PORT of the MQTT broker, or empty */
	char *edge_id;         /* this edge's id (default: from hostname) */
	char *pop;             /* point of presence id */
	char *broker_cafile;   /* PEM CA file: TLS to the broker */
	char *broker_certfile; /* PEM client certificate, or empty */
	char *broker_keyfile;  /* PEM client key, or empty */
	char *broker_username; /* MQTT user name, or empty */
	char *broker_password_file; /* file holding the password, or empty */
	char *rcpt_salt_file;       /* file holding the local-part hash salt */
	uint64_t telemetry_queue;   /* events held while the broker is away */
	uint64_t telemetry_queue_bytes; /* ... and their bytes */
	uint64_t telemetry_batch;       /* events per batch */
	uint64_t telemetry_flush_time;  /* ms: publish interval */
	uint64_t status_interval;       /* ms: retained status refresh */
	uint64_t snapshot_max;   /* bytes of one hub snapshot collected */
	int test_verdict_header; /* honour X-Mxs-Test-Verdict */
	/* filter chain (edge_filter.c) */
	int ip_filter; /* layer switches */
	int geo_filter;
	int protocol_filter;
	int envelope_filter;
	int content_filter;
	uint64_t filter_budget_time; /* ms a layer may use per transaction */
	uint64_t reject_score;       /* summed score that rejects (0: off) */
	uint64_t tempfail_score;     /* ... that defers (0: off) */
	uint64_t tag_score;          /* ... that tags (0: off) */
	uint64_t trap_score;         /* score a spam-trap hit adds */
	uint64_t pregreet_time;      /* ms to wait before the greeting */
	uint64_t score_early_talker;
	uint64_t score_bad_pipelining;
	uint64_t score_non_smtp;
	uint64_t score_bad_helo;
	char *geo_db;     /* MaxMind country (or city) database */
	char *geo_asn_db; /* MaxMind ASN database, or empty */
	int foreground;   /* log to stderr, stay in foreground */
	int verbose;      /* debug logging */

	/* derived from the parameters above */
	size_t n_listen;
	struct edge_listen listen[EDGE_LISTEN_MAX];
	size_t n_proxy_trusted; /* proxy_trusted entries */
	struct edge_proxy_net proxy_trusted[EDGE_PROXY_TRUST_MAX]; /* may send
	                          a PROXY header to a proxy listener */
	int proxy_trusted_is_default; /* the next value replaces the list */
	size_t n_routes;
	struct edge_route *routes;   /* n_routes entries, owned */
	uint32_t filter_off;         /* bit per enum edge_layer_id turned off */
	uint32_t filter_fail_closed; /* bit per layer that fails closed */
	size_t n_traps;
	char **traps; /* spam-trap addresses, lower case, owned */
	size_t n_attach_rules;
	struct edge_attach_rule attach_rules[EDGE_ATTACH_RULES_MAX];
	struct edge_geo *geo;            /* opened geo_db, or NULL */
	struct edge_geo_rules geo_rules; /* geo_policy */
	int bare_mode;                   /* enum edge_bare_mode */
	SSL_CTX *tls_server;             /* inbound STARTTLS, or NULL */
	SSL_CTX *tls_client;             /* downstream STARTTLS */
	char broker_host[256];           /* from broker; "" = telemetry off */
	uint16_t broker_port;
	char *broker_password; /* read from the file; owned, wiped */
	uint8_t rcpt_salt[EDGE_TEL_SALT_MAX]; /* read from rcpt_salt_file */
	size_t rcpt_salt_len;                 /* 0: none configured */
	size_t n_hub_keys;                    /* trusted hubs */
	struct edge_hub_key hub_keys[PROTO_KEYRING_MAX]; /* their keys */
};

extern const struct mx_cfg_param edge_conf_table[];

/*
 * edge_conf_load - build a configuration from argv (and the -c file it
 * names). Problems are printed to stderr as FILE:LINE: reason or
 * "option --x: reason". Returns the new snapshot (refs = 1), or NULL when
 * there was any problem. check_only is set when --check-config was given.
 */
struct edge_conf *edge_conf_load(int argc, char **argv, int *check_only);
/* edge_conf_ref / edge_conf_unref - share a snapshot; last unref frees */
struct edge_conf *edge_conf_ref(struct edge_conf *c);
void edge_conf_unref(struct edge_conf *c);
/*
 * edge_conf_route - the route for a recipient domain (lower case, len
 * bytes): exact entry, then ".parent" entries, then "*". NULL: no route
 * (the domain is not ours: relaying is refused).
 */
const struct edge_route *edge_conf_route(
    const struct edge_conf *c, const char *domain, size_t len);

/* ---- edge_metrics.c: counters, histogram, HTTP endpoint ---- */

enum edge_ctr {
	EDGE_C_CONN_ACCEPTED,
	EDGE_C_CONN_REFUSED_PER_IP,
	EDGE_C_CONN_REFUSED_MAX,
	EDGE_C_CONN_REFUSED_PROXY, /* proxy listener, source not trusted */
	EDGE_C_SESSIONS_OPEN,      /* gauge */
	EDGE_C_TXN_ACCEPTED,       /* destination said 250 at end of data */
	EDGE_C_TXN_REJECTED,       /* filter verdict reject */
	EDGE_C_TXN_TEMPFAILED,     /* filter verdict tempfail */
	EDGE_C_TXN_DS_REFUSED,     /* destination said 4xx/5xx at end of data */
	EDGE_C_TXN_FAILED,         /* downstream fault: sender got 4xx */
	EDGE_C_RCPT_FORWARDED,
	EDGE_C_RCPT_CACHE_REFUSED,
	EDGE_C_RCPT_RELAY_DENIED,
	EDGE_C_RCPT_OTHER_ROUTE,
	EDGE_C_RCPT_TOO_MANY,
	EDGE_C_BYTES_IN,  /* message bytes from senders */
	EDGE_C_BYTES_OUT, /* message bytes to destinations */
	EDGE_C_DS_CONNECT,
	EDGE_C_DS_TIMEOUT,
	EDGE_C_DS_RESET,
	EDGE_C_DS_TLS,
	EDGE_C_DS_PROTO,
	EDGE_C_DS_REPLY_4XX,
	EDGE_C_DS_REPLY_5XX,
	EDGE_C_REJ_LINE_TOO_LONG,
	EDGE_C_REJ_SYNTAX,
	EDGE_C_REJ_BAD_SEQUENCE,
	EDGE_C_REJ_UNKNOWN_CMD,
	EDGE_C_REJ_TOO_MANY_ERRORS,
	EDGE_C_REJ_TIMEOUT,
	EDGE_C_REJ_SIZE,
	EDGE_C_REJ_BARE_NEWLINE,
	EDGE_C_REJ_NUL,
	EDGE_C_REJ_DATA_LINE,
	EDGE_C_REJ_PROXY,
	EDGE_C_REJ_TLS,
	EDGE_C_REJ_NO_TLS_NEEDED,
	EDGE_C_REJ_STARTTLS_PIPE,  /* bytes sent in the clear after STARTTLS */
	EDGE_C_CONTENT_LITE,       /* messages the content layer read for
	                              structure only, past its budget */
	EDGE_C_BARE_NL_NORMALIZED, /* messages re-framed (bare_newline =
	                              normalize): a smuggling try, or a
	                              broken client */
	EDGE_C_TLS_INBOUND,
	EDGE_C_TLS_OUTBOUND,
	EDGE_C_RCACHE_WRITE_DROPPED,
	EDGE_C_RCACHE_FULL,
	EDGE_C_RELOADS,
	EDGE_C_RELOAD_FAILED,
	EDGE_C_TEL_EVENTS,     /* telemetry events built */
	EDGE_C_TEL_SENT,       /* events the broker acknowledged */
	EDGE_C_TEL_DROPPED,    /* events dropped (queue full, exit) */
	EDGE_C_TEL_BATCHES,    /* batches the broker acknowledged */
	EDGE_C_MQTT_CONNECTS,  /* broker connections made */
	EDGE_C_TEL_QUEUED,     /* gauge: events waiting for the broker */
	EDGE_C_MQTT_CONNECTED, /* gauge: 1 while the broker session is up */
	EDGE_C_LAYER_FAIL_IP,  /* a layer failed or overran: six, in */
	EDGE_C_LAYER_FAIL_GEO, /* enum edge_layer_id order */
	EDGE_C_LAYER_FAIL_PROTOCOL,
	EDGE_C_LAYER_FAIL_ENVELOPE,
	EDGE_C_LAYER_FAIL_CONTENT,
	EDGE_C_LAYER_FAIL_POLICY,
	EDGE_C_FILTER_OBSERVED,     /* observe-mode record hits */
	EDGE_C_RCPT_TRAP,           /* spam-trap recipients refused */
	EDGE_C_RCPT_DIR,            /* refused: the hubs list them unknown */
	EDGE_C_REJ_POLICY_CONNECT,  /* connections refused by the filters */
	EDGE_C_REJ_POLICY_ENVELOPE, /* HELO/MAIL/RCPT refused by the filters */
	EDGE_C_TXN_TAGGED,          /* messages passed with a tag header */
	EDGE_C_CF_MIME_BROKEN,      /* messages the content analyser flagged: */
	EDGE_C_CF_UNCLOSED,         /* one per PROTO_CF_* bit, in bit order */
	EDGE_C_CF_BOUNDARY_UNSEEN,
	EDGE_C_CF_HDR_BROKEN,
	EDGE_C_CF_TOO_MANY_PARTS,
	EDGE_C_CF_TOO_DEEP,
	EDGE_C_CF_HDR_TRUNCATED,
	EDGE_C_CF_BAD_B64,
	EDGE_C_CF_HTML_ONLY,
	EDGE_C_CF_HAS_EXEC,
	EDGE_C_CF_HAS_SCRIPT,
	EDGE_C_CF_HAS_MACRO,
	EDGE_C_CF_HAS_ARCHIVE,
	EDGE_C_CF_NAME_MISMATCH,
	EDGE_C_CF_URLS_TRUNCATED,
	EDGE_C_CF_ATTACH_TRUNCATED,
	EDGE_C_CF_BAD_BOUNDARY,
	EDGE_C_CF_LITE,
	EDGE_C_UPD_APPLIED, /* mxedge_updates_total: one counter per */
	EDGE_C_UPD_STALE,   /* enum edge_upd_result, in its order */
	EDGE_C_UPD_GAP,
	EDGE_C_UPD_DEFERRED,
	EDGE_C_UPD_FORGED,
	EDGE_C_UPD_UNTRUSTED,
	EDGE_C_UPD_MALFORMED,
	EDGE_C_UPD_REFUSED,
	EDGE_C_UPD_FAILED,
	EDGE_C_UPD_CHUNK_KEPT,
	EDGE_C_UPD_SNAP_LOADED,
	EDGE_C_UPD_SNAP_REFUSED,
	EDGE_C_UPD_IGNORED,
	EDGE_C_UPD_BUF_DROPPED, /* deferred deltas dropped past the bounds */
	EDGE_C_UPD_BUFFERED,    /* gauge: deferred deltas held */
	EDGE_C_UPD_RECORDS,     /* records applied from delta batches */
	EDGE_C_SNAP_LOADED,     /* snapshots loaded */
	EDGE_C_SNAP_REFUSED,    /* snapshots refused (size, epoch, damage) */
	EDGE_C_SNAP_FAILED,     /* snapshots the store could not take */
	EDGE_C_SNAP_RECORDS,    /* records applied from snapshots */
	EDGE_C__COUNT
};

#define EDGE_LAT_BUCKETS 16

/*
 * edge_metrics_add - add n to a counter (any thread; relaxed atomics)
 * edge_metrics_latency - record one end-of-data latency in microseconds
 */
void edge_metrics_add(enum edge_ctr c, int64_t n);
#define edge_metrics_inc(c) edge_metrics_add((c), 1)
void edge_metrics_latency(uint64_t us);
/* edge_metrics_get - current value (tests, status) */
int64_t edge_metrics_get(enum edge_ctr c);
/*
 * edge_metrics_start - serve /metrics and /healthz on addr (ADDR:PORT)
 * from a thread of its own. Returns 0 or MX_EINVAL / MX_EIO.
 */
int edge_metrics_start(const char *addr);
/* edge_metrics_set_draining - /healthz answers 503 from now on */
void edge_metrics_set_draining(void);
void edge_metrics_stop(void);

/* ---- edge_iplimit.c: concurrent sessions per client address ---- */

/*
 * edge_iplimit_acquire - count a session for addr (16-byte, v4-mapped for
 * IPv4); returns 0, or MX_ELIMIT when max sessions are open already.
 * edge_iplimit_release - the session ended. Thread-safe.
 */
int edge_iplimit_acquire(const uint8_t addr[16], uint64_t max);
void edge_iplimit_release(const uint8_t addr[16]);

/* ---- edge_rcache.c: recipient auto-discovery cache ---- */

enum edge_rcache_state {
	EDGE_RCACHE_NONE = 0,    /* nothing known */
	EDGE_RCACHE_VALID = 1,   /* the destination accepted it */
	EDGE_RCACHE_UNKNOWN = 2, /* the destination said 550 5.1.1 */
};

/*
 * edge_rcache_start - open the cache writer thread over the store.
 * edge_rcache_lookup - what is known of addr (any worker thread; one short
 *   LMDB read). edge_rcache_learn - queue what a destination said; never
 *   blocks: a full queue drops the write and counts it.
 */
int edge_rcache_start(struct proto_store *st, uint64_t max_entries);
void edge_rcache_stop(void);
int edge_rcache_lookup(
    struct proto_txn *rtxn, const char *addr, size_t len, uint64_t now_ms);
void edge_rcache_learn(
    const char *addr, size_t len, int state, uint64_t ttl_ms);

/* ---- edge_updates.c: the hubs' signed updates and snapshots ---- */

/* what became of one message (each is counted in mxedge_updates_total) */
enum edge_upd_result {
	EDGE_UPD_APPLIED = 0,  /* the next delta: applied */
	EDGE_UPD_STALE,        /* already applied (duplicate, replay) */
	EDGE_UPD_GAP,          /* past a gap or a new epoch: deferred, and
	                          the hub now waits for a snapshot */
	EDGE_UPD_DEFERRED,     /* deferred while the hub waits already */
	EDGE_UPD_FORGED,       /* the signature does not verify */
	EDGE_UPD_UNTRUSTED,    /* hub not configured, or another hub's key */
	EDGE_UPD_MALFORMED,    /* not a signed message of the topic's type */
	EDGE_UPD_REFUSED,      /* a record or field invalid, or hub ids
	                          (or chunk numbers) of body and topic differ */
	EDGE_UPD_FAILED,       /* the store failed: nothing applied */
	EDGE_UPD_CHUNK_KEPT,   /* a snapshot chunk, collected */
	EDGE_UPD_SNAP_LOADED,  /* the last chunk: the snapshot is loaded */
	EDGE_UPD_SNAP_REFUSED, /* the snapshot is refused (snapshot_max, an
	                          older epoch, disagreeing chunks) */
	EDGE_UPD_IGNORED,      /* not for us: empty chunk, a chunk nobody
	                          needs, an old or duplicate chunk */
	EDGE_UPD__COUNT
};

struct edge_upd;

/*
 * edge_upd_new - a receiver over st (borrowed, must outlive it) keeping
 * at most snapshot_max bytes of chunks per snapshot (0: 256 MiB). Free
 * with edge_upd_free (NULL does nothing).
 * edge_upd_trust - trust hub_id (an id of proto_id_check) with its
 *   public key; takes ownership of key on success. A second call for the
 *   same hub adds its other key (at most EDGE_HUB_KEYS_MAX, for a key
 *   rotation): a message verifies if either key verifies it. Returns 0,
 *   MX_EINVAL, MX_EEXIST (that hub has that key already) or MX_ELIMIT
 *   (PROTO_KEYRING_MAX hubs, or EDGE_HUB_KEYS_MAX keys for the hub).
 * edge_upd_handle - one message: topic (NUL-terminated, as the broker
 *   gave it), payload (len bytes, borrowed for the call), now_ms (unix
 *   ms; rate-limits logs and snapshot requests). Applies what it may to
 *   the store (docs/edge.md "Updates from hubs"), counts the result and
 *   returns it. Never fails otherwise; any input is safe.
 * edge_upd_hub_count / edge_upd_hub_id - the trusted hubs (ids valid
 *   while the receiver lives).
 * edge_upd_resub_due - 1 when hub i waits for a snapshot and its
 *   retained chunks should be asked for again (subscribe once more), at
 *   most once per 30 s; edge_upd_subscribed - every hub's topics were
 *   just subscribed (retained chunks are on their way).
 * edge_upd_positions - the applied (hub_id, epoch, seq) of each hub that
 *   has one, at most max; hub_id views stay valid while the receiver
 *   lives. Returns the count.
 * edge_upd_buffered - deltas one hub holds until a snapshot (tests).
 * One thread uses a receiver (the MQTT thread); it writes the store,
 * workers only read it.
 */
struct edge_upd *edge_upd_new(struct proto_store *st, uint64_t snapshot_max);
int edge_upd_trust(
    struct edge_upd *u, const char *hub_id, struct proto_key *key);
void edge_upd_free(struct edge_upd *u);
enum edge_upd_result edge_upd_handle(struct edge_upd *u, const char *topic,
    const uint8_t *payload, size_t len, uint64_t now_ms);
const char *edge_upd_result_name(enum edge_upd_result r);
size_t edge_upd_hub_count(const struct edge_upd *u);
const char *edge_upd_hub_id(const struct edge_upd *u, size_t i);
int edge_upd_resub_due(struct edge_upd *u, size_t i, uint64_t now_ms);
void edge_upd_subscribed(struct edge_upd *u, uint64_t now_ms);
size_t edge_upd_positions(
    struct edge_upd *u, struct proto_hub_pos *out, size_t max);
size_t edge_upd_buffered(const struct edge_upd *u, const char *hub_id);

/* ---- edge_telemetry.c: events and status over MQTT ---- */

/* the list and text fields of an event (scalars: struct edge_tel_head) */
enum edge_tel_field {
	EDGE_TEL_F_HELO = 0,      /* one, 0..PROTO_HELO_MAX (longer is cut) */
	EDGE_TEL_F_SENDER_DOMAIN, /* one, 0..PROTO_DOMAIN_MAX */
	EDGE_TEL_F_COUNTRY,       /* one, 0..2 */
	EDGE_TEL_F_REASON,        /* list, 1..PROTO_REASON_ID_MAX (cut) */
	EDGE_TEL_F_FP,            /* list, 1..PROTO_FP_MAX */
	EDGE_TEL_F_HASH,          /* list, 1..EDGE_TEL_KEY_MAX */
	EDGE_TEL_F_URL,           /* list, 1..PROTO_DOMAIN_MAX */
	EDGE_TEL_F_RCPT,          /* list: edge_tel_rcpt only */
	EDGE_TEL_F_FP_SIG,        /* one, 0 or PROTO_EV_FP_SIG_LEN */
	EDGE_TEL_F__COUNT
};

#define EDGE_TEL_ARENA_MAX 16384 /* bytes of one event's records */
#define EDGE_TEL_KEY_MAX 64      /* longest body/attachment hash key */
#define EDGE_TEL_HASH_LEN 16     /* bytes of a hashed local part */

/* the fixed-size part of an event */
struct edge_tel_head {
	uint64_t ts_ms;        /* unix ms; submit sets it */
	uint64_t size;         /* message content bytes, 0 without DATA */
	uint32_t flags;        /* PROTO_EVF_* */
	uint32_t asn;          /* 0 = unknown */
	uint32_t rcpt_ok;      /* recipients accepted */
	uint32_t rcpt_unknown; /* recipients refused as unknown */
	int32_t score;         /* policy score */
	uint8_t type;          /* enum proto_ev_type */
	uint8_t verdict;       /* enum proto_verdict */
	uint8_t ip_len;        /* 4 or 16 */
	uint8_t ip[16];        /* client address */
	uint16_t n[EDGE_TEL_F__COUNT]; /* entries of each field */
};

/*
 * One event being built by a session. The strings live in the arena as
 * records (field byte, 16-bit length, bytes), so a session carries a few
 * dozen bytes until it has something to say and never more than
 * EDGE_TEL_ARENA_MAX; a record that does not fit is left out.
 */
struct edge_tel {
	struct edge_tel_head h; /* scalars: set them directly */
	struct mx_buf arena;    /* records, bounded */
	int is_active;          /* begun, telemetry on, not yet submitted */
};

struct edge_tel_conf {
	char broker_host[256];          /* name or address of the broker */
	uint16_t broker_port;           /* its MQTT port */
	char edge_id[PROTO_ID_MAX + 1]; /* proto_id_check() valid */
	char pop[PROTO_ID_MAX + 1];     /* proto_id_check() valid */
	/* borrowed for edge_tel_start only; "" = not set */
	const char *cafile;   /* TLS to the broker when set */
	const char *certfile; /* client certificate, with keyfile */
	const char *keyfile;
	const char *username;
	const char *password;
	size_t queue_max;         /* events held while the broker is away */
	uint64_t queue_bytes_max; /* ... and their bytes */
	size_t batch_max;         /* events per batch */
	uint64_t flush_ms;        /* publish queued events this often */
	uint64_t status_ms;       /* refresh the retained status this often */
	uint8_t salt[EDGE_TEL_SALT_MAX]; /* HMAC key of local-part hashes */
	size_t salt_len;                 /* EDGE_TEL_SALT_MIN.. bytes */
	/* the hubs' updates, or NULL: edge_tel_start takes ownership (also
	 * when it fails). With it the client keeps a persistent session
	 * under the edge id and subscribes to every trusted hub's topics */
	struct edge_upd *upd;
};

/*
 * The builder, used by the worker that owns the session:
 * edge_tel_init / edge_tel_fini - an empty builder / release its arena.
 * edge_tel_begin - start an event (type: enum proto_ev_type) from the
 *   client address (16 bytes, IPv4 v4-mapped). With telemetry off it does
 *   nothing and every call below is a no-op returning 0.
 * edge_tel_add - a text field (one-valued: a second value is MX_EEXIST;
 *   empty is left out) or a list entry (empty is MX_EINVAL). HELO and
 *   reason ids are cut to their maxima; other fields over theirs are
 *   MX_ETOOBIG. A list at its protocol maximum is MX_ELIMIT; a full arena
 *   MX_ETOOBIG. Nothing is stored on error. p is copied.
 * edge_tel_rcpt - a recipient answer (enum proto_rcpt_result): the local
 *   part (as sent, llen <= EDGE_CMD_LOCAL_MAX + 2) is hashed with the
 *   salt (HMAC-SHA-256 of the lower-cased bytes, first EDGE_TEL_HASH_LEN
 *   bytes) and never stored; domain is stored as given (pass it lower
 *   case). MX_ELIMIT past PROTO_EV_RCPTS_MAX answers or for a domain over
 *   PROTO_DOMAIN_MAX; MX_ETOOBIG when the arena is full. The counts in
 *   the head are the caller's to keep.
 * edge_tel_submit - stamp the time and queue a copy; never blocks. A full
 *   queue drops its oldest events (counted). The builder is reusable.
 * edge_tel_cancel - forget the event.
 */
void edge_tel_init(struct edge_tel *t);
void edge_tel_fini(struct edge_tel *t);
void edge_tel_begin(struct edge_tel *t, uint8_t type, const uint8_t peer[16]);
int edge_tel_add(
    struct edge_tel *t, enum edge_tel_field f, const void *p, size_t len);
/*
 * edge_tel_rcpt_hash - the salted hash of a local part (case folded), as
 * telemetry sends it: 0, or MX_ENOTFOUND before telemetry has a salt,
 * MX_ELIMIT for a local part over EDGE_CMD_LOCAL_MAX + 2, MX_EIO
 */
int edge_tel_rcpt_hash(
    const char *local, size_t llen, uint8_t out[EDGE_TEL_HASH_LEN]);
int edge_tel_rcpt(struct edge_tel *t, const char *local, size_t llen,
    const char *domain, size_t dlen, uint8_t result);
void edge_tel_submit(struct edge_tel *t);
void edge_tel_cancel(struct edge_tel *t);
/*
 * edge_tel_start - copy c, start the MQTT thread (main thread, before the
 * workers). The broker may be down: the thread connects when it can.
 * With c->upd the thread also receives the hubs' updates (the only
 * writer of hub records) and lists their positions in the status.
 * Returns 0, MX_EINVAL (bad id, or libmosquitto refused the TLS or
 * credential settings) or MX_EIO.
 */
int edge_tel_start(const struct edge_tel_conf *c);
/*
 * edge_tel_stop - after the workers have stopped: publish what is queued
 * (bounded by EDGE_TEL_STOP_MS), say offline when say_offline (else, an
 * upgrade: the successor owns the status), disconnect, free. Events not
 * handed to the broker by then are counted as dropped.
 */
void edge_tel_stop(int say_offline);

/* ---- edge_smtp_in.c / edge_smtp_out.c: one SMTP session ---- */

#define EDGE_IN_HIGH (64 * 1024)  /* sender input buffered at most */
#define EDGE_DS_HIGH (256 * 1024) /* downstream output before pausing */
#define EDGE_DS_LOW (64 * 1024)   /* ... and resuming the sender */
#define EDGE_REPLY_MAX 8192       /* one downstream reply, all lines */
#define EDGE_REPLY_LINES 64       /* lines in one downstream reply */
#define EDGE_PATH_TEXT_MAX 600    /* "<path>" plus parameters we pass on */

enum edge_in_state {
	EDGE_IN_PROXY = 0, /* waiting for the PROXY header */
	EDGE_IN_PREGREET,  /* waiting before the greeting (pregreet_time) */
	EDGE_IN_CMD,       /* reading commands */
	EDGE_IN_DATA,      /* streaming the message */
	EDGE_IN_CLOSING,   /* flushing the last reply */
};

/* what a command waiting on the destination is */
enum edge_wait {
	EDGE_WAIT_NONE = 0,
	EDGE_WAIT_RCPT,
	EDGE_WAIT_DATA,
	EDGE_WAIT_EOD,
	EDGE_WAIT_RSET,
};

enum edge_ds_state {
	EDGE_DS_NONE = 0,  /* no connection */
	EDGE_DS_CONNECT,   /* TCP connect in progress */
	EDGE_DS_GREET,     /* waiting for 220 */
	EDGE_DS_EHLO,      /* EHLO sent */
	EDGE_DS_HELO,      /* HELO sent after EHLO was refused */
	EDGE_DS_STARTTLS,  /* STARTTLS sent */
	EDGE_DS_HANDSHAKE, /* TLS handshake */
	EDGE_DS_MAIL,      /* MAIL sent */
	EDGE_DS_RCPT,      /* RCPT sent */
	EDGE_DS_DATA,      /* DATA sent */
	EDGE_DS_BODY,      /* streaming the body */
	EDGE_DS_DOT,       /* final dot sent */
	EDGE_DS_RSET,      /* RSET sent */
	EDGE_DS_READY,     /* connected, between transactions */
	EDGE_DS_INTXN,     /* MAIL accepted, waiting for the next RCPT */
};

/* capabilities the destination announced in its EHLO reply */
#define EDGE_DS_CAP_PIPELINING 0x01u
#define EDGE_DS_CAP_SIZE 0x02u
#define EDGE_DS_CAP_8BITMIME 0x04u
#define EDGE_DS_CAP_STARTTLS 0x08u

/* a complete reply from the destination, or one made up for it */
struct edge_reply {
	int code;     /* 3-digit code */
	int is_local; /* made by the edge: the destination did not answer */
	struct mx_buf text; /* all lines, each ending in CRLF */
};

struct edge_worker;

struct edge_session {
	struct edge_worker *w;            /* owner; the session never moves */
	struct edge_conf *conf;           /* snapshot (one ref) */
	struct edge_session *next, *prev; /* worker's session list */
	char id[20];                      /* session id for logs and Received */
	struct bufferevent *bev; /* sender side (a TLS filter after STARTTLS) */
	struct event *timer;     /* the one deadline timer */
	int listen_proxy;        /* listener expects PROXY */
	uint8_t peer[16];        /* client address, IPv4 as v4-mapped */
	char peer_text[64];      /* client address for logs */
	uint16_t peer_port;
	int iplimit_held; /* edge_iplimit_acquire succeeded */
	enum edge_in_state st;
	enum edge_wait wait; /* command blocked on the destination */
	int is_closing;      /* freeing on the next loop turn */
	unsigned batch;      /* nesting of edge_in_process: replies wait */
	int rcpt_known_ok;   /* the cache already holds rcpt_cur as valid */
	unsigned ds_skip;    /* pipelined replies to discard */
	int ds_rcpt_sent;    /* RCPT went out with MAIL (PIPELINING) */
	int is_tls;          /* inbound STARTTLS done */
	int is_esmtp;        /* EHLO (not HELO) */
	int paused;          /* sender reads off for back-pressure */
	char helo[256];      /* HELO argument, escaped for logs */
	char helo_raw[PROTO_HELO_MAX]; /* HELO argument as given, cut */
	size_t helo_raw_len;           /* bytes in helo_raw */
	unsigned errors;               /* sender errors so far */
	uint64_t commands;             /* commands so far */
	uint64_t start_ms;             /* session start, monotonic */
	uint64_t deadline_ms;          /* current phase deadline, monotonic */
	int skip_line; /* discarding an over-long command line */
	char *line;    /* the command being handled (line limit) */
	/* transaction */
	int has_mail;
	char mail[EDGE_PATH_TEXT_MAX];  /* "<path>" as re-sent downstream */
	char mail_log[MX_LOG_ESC_SIZE]; /* escaped sender for logs */
	uint64_t mail_size;             /* SIZE= of MAIL, 0 if none */
	int mail_8bit;                  /* BODY=8BITMIME */
	unsigned n_rcpt;                /* RCPT commands this transaction */
	unsigned n_rcpt_ok;             /* accepted by the destination */
	char first_rcpt[EDGE_CMD_PATH_MAX + 1]; /* for Received "for" */
	char rcpt_cur[EDGE_CMD_PATH_MAX + 1];   /* RCPT waiting on reply */
	char rcpt_key[EDGE_CMD_PATH_MAX + 1];   /* its cache key */
	const struct edge_route *route; /* destination of this session */
	int route_failed;               /* destination unusable this txn */
	struct edge_reply route_err;    /* what to answer while it is */
	uint64_t txn_start_ms;
	uint64_t eod_us;          /* end of data seen, monotonic us */
	struct edge_data data;    /* DATA scanner */
	struct edge_fctx filter;  /* filter chain state */
	int filter_begun;         /* edge_filter_session_begin done */
	int greeted;              /* the greeting went out */
	int ds_lost_in_data;      /* downstream died during DATA */
	int has_data;             /* 354 given: the message is streaming */
	unsigned n_rcpt_answered; /* RCPTs answered, whatever the answer */
	struct edge_tel tel;      /* this transaction's telemetry event */
	/* downstream */
	struct bufferevent *ds; /* destination, or NULL */
	enum edge_ds_state ds_st;
	unsigned ds_caps; /* EDGE_DS_CAP_* */
	int ds_is_tls;
	struct edge_reply ds_reply; /* reply being read */
	unsigned ds_reply_lines;
};

/* edge_in_accept - a new connection on a worker; takes ownership of fd */
void edge_in_accept(struct edge_worker *w, int fd, struct sockaddr *sa,
    int salen, int is_proxy);
/* edge_in_destroy - free a session now (shutdown; else edge_in_close) */
void edge_in_destroy(struct edge_session *s);
/* edge_in_ds_done - the destination answered what the session waits on */
void edge_in_ds_done(struct edge_session *s, const struct edge_reply *r);
/* edge_in_resume_reading - downstream drained: read the sender again */
void edge_in_resume_reading(struct edge_session *s);
/* edge_in_close_all - drain: tell idle sessions 421 and close them */
void edge_in_drain(struct edge_worker *w);

/* edge_out_rcpt - send RCPT for s->rcpt_cur, connecting first if needed */
void edge_out_rcpt(struct edge_session *s);
/* edge_out_data - send DATA */
void edge_out_data(struct edge_session *s);
/* edge_out_body - write message bytes downstream */
void edge_out_body(struct edge_session *s, const char *p, size_t len);
/* edge_out_dot - write the final dot */
void edge_out_dot(struct edge_session *s);
/* edge_out_rset - end the downstream transaction (reply via ds_done) */
void edge_out_rset(struct edge_session *s);
/* edge_out_abort - drop the connection without a final dot */
void edge_out_abort(struct edge_session *s);
/* edge_out_quit - say QUIT and drop the connection */
void edge_out_quit(struct edge_session *s);
/* edge_out_flush - write queued downstream bytes now (write-through) */
void edge_out_flush(struct edge_session *s);
/* edge_out_pending - downstream output bytes not yet written */
size_t edge_out_pending(const struct edge_session *s);

/* edge_reply_set - a local reply: one line, CRLF added */
void edge_reply_set(
    struct edge_reply *r, int code, int is_local, const char *line);

/* ---- edge_server.c: workers, listeners, signals ---- */

struct edge_worker {
	pthread_t thread;
	size_t index;
	struct event_base *base;
	struct evconnlistener *lev[EDGE_LISTEN_MAX];
	size_t n_lev;
	struct edge_session *sessions; /* list of open sessions */
	size_t n_sessions;
	struct proto_txn *rtxn; /* reusable read transaction handle */
	struct event *drain_ev; /* wakes the loop to start draining */
	int is_draining;
};

/* the process-wide state the workers share */
struct edge_server {
	pthread_mutex_t lock;      /* guards conf */
	struct edge_conf *conf;    /* current snapshot (one ref held) */
	struct proto_store *store; /* LMDB cache, or NULL */
	size_t n_workers;
	struct edge_worker *workers[EDGE_WORKERS_MAX];
	atomic_int draining; /* stop accepting, finish sessions */
	atomic_int sessions; /* open sessions, all workers */
	atomic_int handover; /* SIGUSR2: a successor takes over */
};

extern struct edge_server edge_srv;

/* edge_server_conf - a ref on the current snapshot (unref when done) */
struct edge_conf *edge_server_conf(void);
/* edge_server_set_args - the command line, kept for SIGHUP reloads */
void edge_server_set_args(int argc, char **argv);
/* edge_server_run - start workers and run until drained; returns exit code */
int edge_server_run(struct edge_conf *conf);

#endif /* EDGE_INT_H */
