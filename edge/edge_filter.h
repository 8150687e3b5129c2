/*
 * edge_filter.h - the filter chain of mxedge: layers, the per-session
 * filter context, the in-process event channel and the policy decision
 *
 * A layer is a component with a fixed interface, called at each stage of
 * a session (connect, helo, mail, rcpt, data, body chunk, end of data).
 * Each may add score and hits, or decide an action. Layers publish what
 * they learn (URL hosts, fingerprints, hashes, verdict facts) on the event
 * channel and subscribe to what they need; telemetry is one more
 * subscriber. Adding a layer is one new file and one entry in the table in
 * edge_filter.c. Each layer can be switched off, has a time budget, and a
 * fail-open or fail-closed rule applied when it overruns or fails.
 * Trust: hooks see sender input (HELO, addresses, message bytes) already
 * bounded by the SMTP parsers; records come from the LMDB cache.
 */
#ifndef EDGE_FILTER_H
#define EDGE_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto_record.h"

struct edge_conf;
struct proto_txn;
struct proto_content;

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
	uint8_t rcpt_action;  /* ... with this action */
	char rcpt_reason[EDGE_FILTER_HIT_ID_MAX]; /* ... for this reason */
	int content_ok;         /* the analyser runs for this message */
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
extern const struct edge_layer edge_layer_policy;

#endif /* EDGE_FILTER_H */
