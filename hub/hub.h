/*
 * hub.h - mxhub internals: configuration, the loop, ingest, rules,
 * feeds, the publisher and metrics
 *
 * mxhub is one thread around one libevent loop: libmosquitto's socket is
 * an event on it (mosquitto_loop_read/write/misc), so telemetry, feed
 * submissions, batch flushes, snapshots and the metrics endpoint never
 * race. Its state is two LMDB environments in data_dir: records/ (the
 * proto_store of every record this hub publishes, with its stream
 * position) and counters/ (hub_ctr.h).
 * Trust: everything that arrives over MQTT is hostile until decoded by
 * proto and, for feeds, verified against a configured key.
 */
#ifndef HUB_H
#define HUB_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto_msg.h"
#include "proto/proto_record.h"
#include "proto/proto_sign.h"
#include "proto/proto_topic.h"

#define HUB_FEEDS_MAX PROTO_KEYRING_MAX /* feed/analyst keys */
#define HUB_BATCH_RECORDS 1000          /* records per update batch or chunk */
#define HUB_OUTQ_MAX 256                /* signed batches held while offline */
#define HUB_SECRET_MAX 256              /* longest broker password */
#define HUB_FILTERS_MAX 8    /* telemetry subscription filters (shards) */
#define HUB_FEED_WHO_MAX 160 /* "feed:SOURCE/WHO" in the audit log */

#define HUB_FEED_KEYS 2 /* keys per source: the current and the next */

/*
 * a trusted submitter: feed or analyst source name and its keys (two
 * while a key is being rotated: a submission verifies with either)
 */
struct hub_feed {
	char source[PROTO_ID_MAX + 1];
	size_t n_keys;
	struct proto_key *key[HUB_FEED_KEYS]; /* owned */
};

/* one automatic rule's action */
struct hub_rule_act {
	uint8_t action; /* enum proto_action */
	int32_t score;
};

struct hub_conf {
	/* strings owned by the config table (mx_cfg_fini) */
	char *hub_id;
	char *data_dir;
	char *key;     /* private key (PEM) the hub signs with */
	char *metrics; /* HOST:PORT of /metrics, "" = off */
	char *broker;  /* HOST:PORT */
	char *broker_cafile;
	char *broker_certfile;
	char *broker_keyfile;
	char *broker_username;
	char *broker_password_file;
	char *rule_trap_action;
	char *rule_dict_action;
	char *rule_proto_action;
	char *rule_net_action;
	char *rule_fp_action;
	char *observe_rules;    /* rules whose new records start in observe */
	char *telemetry_filter; /* comma-separated subscription filters */
	char *query;            /* HOST:PORT of the analyst queries, "" off */
	char *query_token_file; /* bearer token they need, "" = none */
	uint64_t batch_time;    /* ms between update batches */
	uint64_t snapshot_time; /* ms between snapshots */
	uint64_t snapshot_min_time;   /* ms at least between asked snapshots */
	uint64_t half_life;           /* counter decay, ms */
	uint64_t counter_commit_time; /* ms between counter commits */
	uint64_t record_ttl;       /* ms a rule's record lives unless renewed */
	uint64_t counter_entries;  /* counter keys per kind */
	uint64_t store_map_size;   /* bytes */
	uint64_t counter_map_size; /* bytes */
	uint64_t rule_score;       /* score of a rule's record */
	uint64_t rule_trap_hits;   /* decayed trap hits; 0 = rule off */
	uint64_t rule_dict_unknown; /* decayed unknown recipients; 0 = off */
	uint64_t rule_dict_ratio;   /* percent of recipients unknown */
	uint64_t rule_proto_hits;   /* decayed protocol violations; 0 = off */
	uint64_t rule_net_bad_ips;  /* IPs of a /24 or /48 with a record */
	uint64_t rule_fp_sources;   /* distinct sources of a fingerprint */
	uint64_t rule_fp_traps;     /* ... and its decayed trap hits */
	uint64_t rule_rcpt_unknown; /* unknown answers for a directory entry */
	uint64_t rule_rcpt_ttl;     /* ms a directory entry lives */
	uint64_t rule_dict_pops;    /* POPs a dictionary attack spans */
	uint64_t observe_time;      /* ms a new rule record observes; 0 off */
	uint64_t breaker_volume;    /* a clean IP this busy is "good" */
	int foreground;
	int verbose;
	/* derived */
	char broker_host[256];
	uint16_t broker_port;
	char broker_password[HUB_SECRET_MAX + 1];
	char query_token[HUB_SECRET_MAX + 2];
	struct hub_rule_act act_trap, act_dict, act_proto, act_net, act_fp;
	struct proto_key *sign_key; /* owned */
	size_t n_filters;           /* telemetry filters, then feed/+ */
	char filters[HUB_FILTERS_MAX + 2][PROTO_TOPIC_MAX];
	size_t n_feeds;
	struct hub_feed feeds[HUB_FEEDS_MAX];
};

/* ---- hub_conf.c ---- */

/*
 * hub_conf_load - defaults, -c FILE, then options; every problem is
 * printed with its file and line. NULL when any problem was found.
 */
struct hub_conf *hub_conf_load(int argc, char **argv, int *check_only);
/* hub_conf_free - release; NULL does nothing */
void hub_conf_free(struct hub_conf *c);
/* hub_conf_feed - the feed entry for source, or NULL */
const struct hub_feed *hub_conf_feed(
    const struct hub_conf *c, const char *source, size_t len);

/* ---- hub_metrics.c ---- */

enum hub_metric {
	HUB_M_TEL_BATCHES = 0,  /* telemetry batches decoded */
	HUB_M_TEL_EVENTS,       /* events counted */
	HUB_M_TEL_DROPPED,      /* events the edges said they dropped */
	HUB_M_TEL_DUP,          /* batches seen again (QoS 1 resend) */
	HUB_M_BAD_TOPIC,        /* message on a topic outside the tree */
	HUB_M_BAD_TELEMETRY,    /* telemetry refused by the decoder */
	HUB_M_BAD_FEED,         /* feed: malformed */
	HUB_M_FEED_FORGED,      /* feed: signature does not verify */
	HUB_M_FEED_UNTRUSTED,   /* feed: source without a key here */
	HUB_M_FEED_REPLAY,      /* feed: serial not above the last one */
	HUB_M_FEED_ACCEPTED,    /* feed submissions merged */
	HUB_M_FEED_RECORDS,     /* records merged from feeds */
	HUB_M_RULE_RECORDS,     /* records made or renewed by rules */
	HUB_M_CTR_FULL,         /* counter updates refused: kind full */
	HUB_M_CTR_ERRORS,       /* counter store failures */
	HUB_M_STORE_ERRORS,     /* record store failures */
	HUB_M_PENDING_FULL,     /* changes refused: pending list full */
	HUB_M_BATCHES,          /* update batches published */
	HUB_M_RECORDS_OUT,      /* records in them */
	HUB_M_OUTQ_DROPPED,     /* batches dropped while the broker was away */
	HUB_M_SNAPSHOTS,        /* snapshots published */
	HUB_M_SNAPSHOT_RECORDS, /* records in the last snapshot (gauge) */
	HUB_M_SEQ,              /* last published seq (gauge) */
	HUB_M_EPOCH,            /* epoch (gauge) */
	HUB_M_SNAPSHOT_MS,      /* unix ms of the last snapshot (gauge) */
	HUB_M_CONNECTED,        /* 1 while connected to the broker (gauge) */
	HUB_M_OBSERVE_HITS,     /* would-have-hits the edges reported */
	HUB_M_BREAKER,          /* observe records revoked by the breaker */
	HUB_M_PROMOTED,         /* observe records promoted to enforcing */
	HUB_M_STATUS,           /* edge status messages read */
	HUB_M_BAD_STATUS,       /* ... refused by the decoder */
	HUB_M_SNAP_ASKED,       /* snapshots asked by a lagging edge */
	HUB_M_SUBSCRIBED,       /* 1 once the broker acknowledged the
	                           subscriptions of this session (gauge) */
	HUB_M_QUERIES,          /* analyst queries answered */
	HUB_M_QUERY_BAD,        /* ... refused: bad path or parameter */
	HUB_M_QUERY_DENIED,     /* ... refused: no or a wrong token */
	HUB_M__COUNT
};

void hub_metrics_inc(enum hub_metric c);
void hub_metrics_add(enum hub_metric c, int64_t n);
void hub_metrics_set(enum hub_metric c, int64_t v);
int64_t hub_metrics_get(enum hub_metric c);
struct event_base;
/* hub_metrics_start - serve /metrics and /healthz on the loop */
int hub_metrics_start(struct event_base *base, const char *addr);
void hub_metrics_stop(void);

/* ---- hub_state.c: the record store, the stream and the audit log ---- */

struct hub_state;

/* hub_publish_fn - hand one payload to the broker (retain: 0 or 1) */
typedef void (*hub_publish_fn)(
    void *arg, const char *topic, const uint8_t *p, size_t len, int retain);

/*
 * hub_state_open - open data_dir/records and data_dir/audit.log, load or
 * start the stream position (a store without one starts a new epoch:
 * the current unix ms). Returns 0 or an MX_E* code with why in err.
 */
int hub_state_open(
    const struct hub_conf *c, struct hub_state **out, char *err, size_t errlen);
void hub_state_close(struct hub_state *s);
/* hub_state_epoch / hub_state_seq - the stream position published */
uint64_t hub_state_epoch(const struct hub_state *s);
uint64_t hub_state_seq(const struct hub_state *s);
/*
 * hub_state_get - the live record of (kind, key) as the hub holds it,
 * pending changes included. 0, MX_ENOTFOUND or an error.
 */
int hub_state_get(struct hub_state *s, int kind, const uint8_t *key, size_t len,
    struct proto_record *out);
/* a record's provenance, kept beside it (hub_state.c) */
struct hub_prov {
	uint64_t first_ms;          /* when the record was made, unix ms */
	uint32_t changes;           /* puts since */
	char who[HUB_FEED_WHO_MAX]; /* the last submitter or rule */
};
/*
 * hub_state_provenance - the provenance of the record (kind, key), pending
 * changes included. 0, MX_ENOTFOUND (no record, or one made before
 * provenance was kept), MX_EIO (damaged) or an error.
 */
int hub_state_provenance(struct hub_state *s, int kind, const uint8_t *key,
    size_t len, struct hub_prov *out);
/*
 * hub_state_change - put or delete r in the store (inside the open batch),
 * queue it for the next update batch and write the audit line naming who
 * made it and why. Returns 0, MX_ELIMIT (pending list full) or a store
 * error (counted; the change is not made).
 */
int hub_state_change(
    struct hub_state *s, const struct proto_record *r, const char *who);
/*
 * hub_state_feed_serial / hub_state_set_feed_serial - the last serial
 * accepted from a feed source (0 = none), kept with the records
 */
uint64_t hub_state_feed_serial(struct hub_state *s, const char *source);
int hub_state_set_feed_serial(
    struct hub_state *s, const char *source, uint64_t serial);
/* hub_state_set_publisher - where a flush forced by a full queue goes */
void hub_state_set_publisher(struct hub_state *s, hub_publish_fn fn, void *arg);
/* hub_state_pending - changes waiting for the next batch */
size_t hub_state_pending(const struct hub_state *s);
/*
 * hub_state_flush - commit the open batch (records, position, feed
 * serials) and sign the update batches for the pending changes; each
 * signed payload is handed to publish in seq order. Returns 0 or an
 * error (the batch is rolled back and the changes are lost: counted).
 */
int hub_state_flush(struct hub_state *s, hub_publish_fn publish, void *arg);
/*
 * hub_state_snapshot - sign every live record as snapshot chunks of one
 * new snapshot id and hand them to publish (retained); then empty
 * retained payloads clear the chunks a bigger previous snapshot left.
 */
int hub_state_snapshot(struct hub_state *s, hub_publish_fn publish, void *arg);
/*
 * hub_state_each - every live committed record of a kind (proto_store_each
 * in a read transaction); fn must not change the state
 */
int hub_state_each(struct hub_state *s, int kind,
    int (*fn)(void *arg, const struct proto_record *r), void *arg);
/* hub_state_sweep - drop expired records from the store (a few at once) */
void hub_state_sweep(struct hub_state *s);

/* ---- hub_ingest.c: telemetry into counters, counters into records ---- */

struct hub_ingest;

int hub_ingest_open(const struct hub_conf *c, struct hub_state *st,
    struct hub_ingest **out, char *err, size_t errlen);
void hub_ingest_close(struct hub_ingest *g);
/* hub_ingest_telemetry - one telemetry payload from topic's edge */
void hub_ingest_telemetry(struct hub_ingest *g, const char *pop,
    const char *edge_id, const uint8_t *p, size_t len, uint64_t now_ms);
/* hub_ingest_commit - commit the counters' open transaction */
void hub_ingest_commit(struct hub_ingest *g);
/*
 * hub_ingest_promote - observe-mode rule records older than observe_time
 * become enforcing (at most HUB_INGEST_PROMOTE_MAX a call)
 */
void hub_ingest_promote(struct hub_ingest *g, uint64_t now_ms);
/* hub_ingest_sweep - drop idle counters (a bounded number) */
void hub_ingest_sweep(struct hub_ingest *g, uint64_t now_ms);
struct hub_ctr;
/* hub_ingest_counters - the counter store, for queries (read only) */
struct hub_ctr *hub_ingest_counters(struct hub_ingest *g);

/* ---- hub_query.c: the analyst's questions (/v1/show, /v1/top) ---- */

/* hub_query_start - serve c->query on the loop; 0 or an MX_E* code */
int hub_query_start(struct event_base *base, const struct hub_conf *c,
    struct hub_state *st, struct hub_ingest *g);
void hub_query_stop(void);

/* ---- hub_feed.c: feed and analyst submissions ---- */

/* hub_feed_submit - one payload from mxs/v1/feed/<source> */
void hub_feed_submit(const struct hub_conf *c, struct hub_state *st,
    const char *source, const uint8_t *p, size_t len);

/* ---- hub_loop.c: the broker connection and timers ---- */

int hub_loop_run(struct hub_conf *c);

#endif /* HUB_H */
