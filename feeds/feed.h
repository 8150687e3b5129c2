/*
 * feed.h - mxfeed internals: list formats, validation, guardrails, the
 * in-memory list, the state store and the diff
 *
 * mxfeed reads external blocklists (Spamhaus DROP/EDROP, plain IP/CIDR,
 * domain and hosts-file lists), validates every line, refuses what must
 * never be listed (private and reserved space, overly wide networks,
 * DNSBL answer sentinels, the deployment's own and allow-listed networks,
 * large mail providers), diffs the result against the previous import of
 * the same source (kept in a small LMDB store) and submits only the
 * changes to the hub (feed_submit.h). The parsers are pure functions over
 * (bytes, length) so the unit tests and the fuzzer call them directly.
 * Trust: list files are hostile (downloaded from third parties, possibly
 * truncated, replaced by an error page or tampered with). Limits:
 * FEED_LINE_MAX bytes per line, max_entries per import, max_input_size
 * bytes per file, max_bad_share and max_change_share.
 */
#ifndef FEED_H
#define FEED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/proto_record.h"
#include "proto/proto_sign.h"

#define FEED_LINE_MAX 1024     /* bytes per input line, without its end */
#define FEED_LINE_NAMES_MAX 8  /* host names on one hosts-file line */
#define FEED_TAG_MAX 32        /* the list's own id of an entry (SBL id) */
#define FEED_WHY_MAX 192       /* why a line was refused, with the NUL */
#define FEED_DETECT_LINES 1000 /* data lines format detection looks at */
#define FEED_READ_BUF 65536    /* read buffer; detection sample, bytes */
#define FEED_REPORTS_MAX 100   /* refused lines reported per file */
#define FEED_NETS_MAX 256      /* entries of each network guard list */
#define FEED_DOMAINS_MAX 256   /* entries of each domain guard list */
#define FEED_SCORE_MAX 1000    /* |score| of a feed's records */
#define FEED_SECRET_MAX 256    /* longest broker password */
#define FEED_TEXT_MAX 300      /* an entry as text ("kind key"), bytes */

enum feed_format {
	FEED_FMT_AUTO = 0,   /* detect from the first lines */
	FEED_FMT_DROP = 1,   /* "CIDR ; SBLnnn", ';' comments */
	FEED_FMT_IP = 2,     /* one address or CIDR a line */
	FEED_FMT_DOMAIN = 3, /* one domain a line */
	FEED_FMT_HOSTS = 4,  /* "0.0.0.0 name ..." / "127.0.0.1 name ..." */
};
#define FEED_FMT_MAX FEED_FMT_HOSTS

/* what one line is */
enum feed_line_result {
	FEED_LINE_SKIP = 0, /* blank, comment or hosts-file boilerplate */
	FEED_LINE_OK = 1,   /* one or more entries */
	FEED_LINE_BAD = 2,  /* refused; why says so */
};

/* one list entry: a canonical proto key and the list's own id for it */
struct feed_entry {
	uint8_t kind; /* PROTO_KIND_IP, PROTO_KIND_NET or PROTO_KIND_DOMAIN */
	uint8_t key_len; /* bytes in key */
	uint8_t key[PROTO_KEY_MAX];
	uint8_t tag_len; /* bytes in tag; 0 = none */
	char tag[FEED_TAG_MAX];
};

/* the outcome of one line */
struct feed_line {
	size_t n; /* entries, FEED_LINE_OK only */
	struct feed_entry e[FEED_LINE_NAMES_MAX];
	char why[FEED_WHY_MAX]; /* FEED_LINE_BAD only, NUL-ended */
};

/* validation every entry passes, whatever the list says */
struct feed_rules {
	unsigned min_prefix_v4; /* shortest v4 prefix taken, bits */
	unsigned min_prefix_v6; /* shortest v6 prefix taken, bits */
	int allow_private;      /* take private and reserved space */
	int allow_wide;         /* take wider networks and bare TLDs */
};

/* a network of a guard list */
struct feed_net {
	uint8_t alen; /* 4 or 16 */
	uint8_t plen; /* prefix length, bits */
	uint8_t addr[16];
};

struct feed_netlist {
	size_t n;
	struct feed_net v[FEED_NETS_MAX];
};

/* a domain of a guard list, as its proto key (labels reversed) */
struct feed_dom {
	uint8_t len;
	uint8_t key[PROTO_DOMAIN_MAX];
};

struct feed_domlist {
	size_t n;
	struct feed_dom v[FEED_DOMAINS_MAX];
};

/* guardrails: what no entry may cover */
struct feed_guard {
	struct feed_netlist own;          /* own_net */
	struct feed_netlist allow;        /* allow_net */
	struct feed_netlist provider;     /* provider_net */
	struct feed_domlist provider_dom; /* provider_domain */
	struct feed_domlist allow_dom;    /* allow_domain */
	int provider_defaults; /* also the built-in provider domains */
};

/* ---- feed_parse.c ---- */

/* feed_format_name - "auto", "drop", "ip", "domain", "hosts" */
const char *feed_format_name(int fmt);
/* feed_format_parse - the format for a name, or MX_EINVAL */
int feed_format_parse(const char *name, size_t len);

/*
 * feed_parse_line - parse and validate one line (len bytes, without its
 * "\n"; a trailing "\r" and white space are ignored) of format fmt, which
 * must not be FEED_FMT_AUTO. Lines over FEED_LINE_MAX bytes, NUL and
 * control bytes, malformed addresses and names, host bits set, networks
 * wider than the rules allow, private and reserved space (unless
 * allowed) and DNSBL answer sentinels (always) are FEED_LINE_BAD with
 * out->why set. Returns a feed_line_result. Pure: any thread.
 */
int feed_parse_line(int fmt, const struct feed_rules *r, const char *p,
    size_t len, struct feed_line *out);

/*
 * feed_parse_detect - the format of a list from its first bytes: each of
 * the first FEED_DETECT_LINES data lines votes for every format that
 * parses it (syntax only); the most votes win, ties in the order drop,
 * hosts, ip, domain. A last line without "\n" is left out unless is_end.
 * *n_data (may be NULL) gets the data lines looked at. Returns the
 * format, or FEED_FMT_AUTO when no line parses in any.
 */
int feed_parse_detect(const char *buf, size_t len, int is_end, size_t *n_data);

/*
 * feed_net_overlaps - does a/pa meet b/pb (one holds the other); both of
 * alen (4 or 16) bytes
 */
int feed_net_overlaps(
    const uint8_t *a, unsigned pa, const uint8_t *b, unsigned pb, size_t alen);

/*
 * feed_entry_net - an ip or net entry as address and prefix; returns 0,
 * or MX_EINVAL for a domain entry
 */
int feed_entry_net(
    const struct feed_entry *e, size_t *alen, uint8_t addr[16], unsigned *plen);

/* feed_entry_text - "net 192.0.2.0/24" into out (NUL-ended, cut to fit) */
void feed_entry_text(const struct feed_entry *e, char *out, size_t outlen);

/* ---- feed_guard.c ---- */

/*
 * feed_guard_net_add - "ADDR" or "ADDR/PLEN" (host bits clear) to a list
 * Returns 0, MX_EINVAL (malformed) or MX_ELIMIT (list full), with why in
 * err.
 */
int feed_guard_net_add(struct feed_netlist *l, const char *text, size_t len,
    char *err, size_t errlen);
/* feed_guard_dom_add - a domain name to a list; as feed_guard_net_add */
int feed_guard_dom_add(struct feed_domlist *l, const char *text, size_t len,
    char *err, size_t errlen);
/*
 * feed_guard_check - 0 when e covers nothing guarded; MX_EINVAL with why
 * set when it meets an own, allow-listed or provider network (either
 * holds the other), or is, holds or lies under a provider or allow-listed
 * domain. g may be NULL (no guard).
 */
int feed_guard_check(const struct feed_guard *g, const struct feed_entry *e,
    char *why, size_t whylen);

/* ---- feed_list.c ---- */

/*
 * The entries of one import, packed in an arena ([kind][key_len][tag_len]
 * [key][tag] each) and indexed by offset. feed_list_finish sorts them in
 * the state store's key order and drops duplicates.
 */
struct feed_list {
	uint8_t *arena; /* packed entries */
	size_t len;     /* bytes used */
	size_t cap;     /* bytes allocated */
	size_t *off;    /* entry offsets into arena */
	size_t n;       /* entries */
	size_t n_cap;   /* offsets allocated */
	size_t max;     /* entries at most (max_entries) */
	size_t dups;    /* duplicates dropped by feed_list_finish */
};

/* feed_list_init - empty list of at most max entries; no allocation */
void feed_list_init(struct feed_list *l, size_t max);
/* feed_list_fini - release; the list is empty afterwards */
void feed_list_fini(struct feed_list *l);
/* feed_list_add - append a copy of e; 0 or MX_ELIMIT (list full) */
int feed_list_add(struct feed_list *l, const struct feed_entry *e);
/* feed_list_truncate - drop the entries from index n on */
void feed_list_truncate(struct feed_list *l, size_t n);
/*
 * feed_list_finish - sort by (kind, key) in LMDB byte order and keep the
 * first of duplicates (in the order they were added)
 */
void feed_list_finish(struct feed_list *l);
/* feed_list_get - a copy of entry i (i < l->n) */
void feed_list_get(const struct feed_list *l, size_t i, struct feed_entry *out);
/* feed_entry_cmp - order of (kind, key) as the state store sorts them */
int feed_entry_cmp(const struct feed_entry *a, const struct feed_entry *b);

/* ---- feed_read.c ---- */

/* a refused line (line > 0) or a refused file (line 0) */
typedef void (*feed_report_fn)(
    void *arg, const char *file, size_t line, const char *why);

struct feed_read_opts {
	int fmt;                        /* enum feed_format; AUTO detects */
	const struct feed_rules *rules; /* validation */
	const struct feed_guard *guard; /* guardrails, or NULL */
	uint64_t max_bad_share;         /* percent of data lines */
	uint64_t max_bytes;             /* bytes per input at most */
	int allow_empty;                /* a file without entries is fine */
	feed_report_fn report;          /* may be NULL */
	void *arg;
};

struct feed_read_stats {
	int fmt;        /* the format read (given or detected) */
	size_t lines;   /* lines read */
	size_t data;    /* lines neither blank nor comments */
	size_t bad;     /* of them refused (invalid or guarded) */
	size_t entries; /* entries added to the list */
};

/*
 * feed_read_file / feed_read_mem - read one list (name is used in
 * reports) into l. Every refused line is reported as (name, line, why),
 * at most FEED_REPORTS_MAX per file and then one summary. A whole file
 * is refused when more than max_bad_share percent of its data lines are
 * refused, when it has no entries (unless allow_empty), when its format
 * cannot be detected, or when it is larger than max_bytes; then nothing
 * of it stays in l and the reason is reported with line 0.
 * Returns 0, MX_EINVAL (file refused), MX_ETOOBIG (over max_bytes),
 * MX_ELIMIT (l is full: max_entries) or MX_EIO (read error).
 */
int feed_read_file(const struct feed_read_opts *o, const char *name, FILE *f,
    struct feed_list *l, struct feed_read_stats *st);
int feed_read_mem(const struct feed_read_opts *o, const char *name,
    const char *buf, size_t len, struct feed_list *l,
    struct feed_read_stats *st);

/* ---- feed_state.c ---- */

/*
 * The state of one source: an LMDB environment in STATE_DIR/SOURCE/ with
 * two databases: "entries" (the last import that the broker acknowledged,
 * key = kind byte + proto key, value = how it was published) and "meta"
 * (the last reserved serial and what the last import was).
 */
struct feed_state;
struct feed_state_iter;

/* an entry of the last import, as it was published */
struct feed_stored {
	struct feed_entry e;
	uint8_t action;   /* enum proto_action */
	int32_t score;    /* points */
	uint64_t expires; /* unix seconds, 0 = never */
};

/* what the state holds about the last import */
struct feed_state_info {
	int has_import;      /* an import was recorded */
	uint64_t ts_ms;      /* when, unix ms */
	uint64_t entries;    /* entries it had */
	uint64_t serial;     /* the last serial reserved before it */
	uint64_t serial_max; /* the last serial reserved at all */
};

/*
 * feed_state_open - open (creating STATE_DIR/SOURCE/ when writable) the
 * state of source under dir. A writer takes an exclusive lock on the
 * source's "run.lock" (one run per source at a time). A reader
 * (read_only, for --dry-run) creates nothing and takes no lock; a state
 * never written reads as empty. map_bytes: LMDB map size.
 * Returns 0, MX_EINVAL (bad source), MX_EEXIST (another run holds the
 * lock), MX_EVERSION (unknown layout) or MX_EIO, with why in err.
 * Caller closes with feed_state_close.
 */
int feed_state_open(const char *dir, const char *source, uint64_t map_bytes,
    int read_only, struct feed_state **out, char *err, size_t errlen);
/* feed_state_close - close and unlock; NULL does nothing */
void feed_state_close(struct feed_state *st);
/* feed_state_info - the last import and serial; 0 or MX_EIO */
int feed_state_get_info(struct feed_state *st, struct feed_state_info *out);

/*
 * feed_state_serial_reserve - reserve n serials for messages about to be
 * published: first = max(last + 1, now_ms), last = first + n - 1,
 * committed (fsync) before returning, so a serial is never reused even
 * when the run dies right after. Returns 0, MX_ESTATE (read-only),
 * MX_ERANGE (serials exhausted), MX_EFULL or MX_EIO.
 */
int feed_state_serial_reserve(
    struct feed_state *st, size_t n, uint64_t now_ms, uint64_t *first);

/*
 * Iteration over the last import in key order, in one read transaction
 * (never held across publishing). feed_state_iter_next returns 0 with
 * *out filled, MX_ENOTFOUND at the end, MX_EVERSION or MX_EIO (damaged
 * value).
 */
int feed_state_iter_begin(struct feed_state *st, struct feed_state_iter **out);
int feed_state_iter_next(struct feed_state_iter *it, struct feed_stored *out);
void feed_state_iter_end(struct feed_state_iter *it);

/*
 * Recording an import: one write transaction; puts and deletes of
 * entries, then the import's summary; commit fsyncs. Any error leaves
 * the transaction to abort. Return 0, MX_ESTATE (read-only), MX_EFULL or
 * MX_EIO.
 */
struct feed_state_txn;
int feed_state_write_begin(struct feed_state *st, struct feed_state_txn **out);
int feed_state_put(struct feed_state_txn *t, const struct feed_stored *s);
int feed_state_del(struct feed_state_txn *t, const struct feed_entry *e);
int feed_state_set_import(
    struct feed_state_txn *t, uint64_t ts_ms, uint64_t entries);
int feed_state_commit(struct feed_state_txn *t);
void feed_state_abort(struct feed_state_txn *t);

/* ---- feed_diff.c ---- */

/* how records are made from entries */
struct feed_rec_conf {
	const char *source; /* feed source id */
	uint8_t action;     /* enum proto_action of puts */
	int32_t score;      /* score of puts */
	uint64_t ttl_s;     /* 0 = puts never expire */
};

/* why an entry is put */
enum feed_change {
	FEED_CH_ADD = 1,   /* new on the list */
	FEED_CH_RENEW = 2, /* listed before; tag, action, score or expiry */
};

/*
 * The difference between the new list and the last import: puts are
 * list indexes (ascending), dels the entries gone from the list (with
 * the tags they had).
 */
struct feed_plan {
	int has_prev;          /* an import was recorded before */
	size_t n_prev;         /* entries of the last import */
	size_t n_new;          /* entries of the new list */
	size_t n_added;        /* puts that are new */
	size_t n_renewed;      /* puts that renew an entry */
	size_t n_unchanged;    /* entries on both, nothing to send */
	size_t *puts;          /* list indexes */
	uint8_t *put_why;      /* enum feed_change per put */
	size_t n_puts;         /* n_added + n_renewed */
	struct feed_list dels; /* entries removed from the list */
	uint64_t now_s;        /* the clock of the plan, unix seconds */
};

/*
 * feed_diff_plan - compare a finished list with the state's last import
 * at time now_s. Returns 0, or an iteration error (MX_EIO, MX_EVERSION).
 * Caller releases p with feed_plan_fini.
 */
int feed_diff_plan(struct feed_state *st, const struct feed_list *l,
    const struct feed_rec_conf *rc, uint64_t now_s, struct feed_plan *p);
/* feed_plan_fini - release; NULL-safe on a zeroed plan */
void feed_plan_fini(struct feed_plan *p);
/*
 * feed_diff_is_held - does the plan change more than max_change_share
 * percent of the last import (entries added, or entries removed, each
 * against the last import's size)? Never for a first import.
 */
int feed_diff_is_held(const struct feed_plan *p, uint64_t max_change_share);
/* feed_diff_count - records the plan sends: dels then puts */
size_t feed_diff_count(const struct feed_plan *p);
/*
 * feed_diff_records - records from..from+max-1 of the plan (dels first,
 * then puts) into out at time now_ms; returns how many were written
 */
size_t feed_diff_records(const struct feed_plan *p, const struct feed_list *l,
    const struct feed_rec_conf *rc, uint64_t now_ms, size_t from,
    struct proto_record *out, size_t max);
/*
 * feed_diff_commit - make the plan the state's last import (one
 * transaction). Returns as feed_state_commit.
 */
int feed_diff_commit(struct feed_state *st, const struct feed_plan *p,
    const struct feed_list *l, const struct feed_rec_conf *rc, uint64_t now_ms);

/* ---- feed_conf.c ---- */

struct feed_conf {
	/* strings owned by the config table (mx_cfg_fini) */
	char *source;    /* feed source id: topic, state, hub's feed_key */
	char *who;       /* submitter identity in the hub's audit log */
	char *key;       /* Ed25519 private key (PEM) */
	char *state_dir; /* STATE_DIR/SOURCE/ holds the state */
	char *format;    /* auto, drop, ip, domain, hosts */
	char *action;    /* action of the records */
	char *broker;    /* HOST:PORT */
	char *broker_cafile;
	char *broker_certfile;
	char *broker_keyfile;
	char *broker_username;
	char *broker_password_file;
	char *confirm_hub;         /* confirm in this hub's updates, or "" */
	char *hub_key;             /* the hub's public key (PEM), or "" */
	int32_t score;             /* score of the records */
	uint64_t ttl;              /* ms; 0 = records never expire */
	uint64_t max_bad_share;    /* percent of a file's data lines */
	uint64_t max_change_share; /* percent of the last import */
	uint64_t min_prefix_v4;    /* bits */
	uint64_t min_prefix_v6;    /* bits */
	uint64_t max_entries;      /* entries per import */
	uint64_t max_input_size;   /* bytes per input file */
	uint64_t state_map_size;   /* bytes of the LMDB map */
	uint64_t publish_timeout;  /* ms: connect, and PUBACKs of a batch */
	uint64_t confirm_time;     /* ms to wait for the confirmation */
	int allow_private;
	int allow_wide;
	struct feed_guard guard; /* own/allow/provider lists */
	/* derived */
	int fmt;     /* enum feed_format */
	uint8_t act; /* enum proto_action */
	struct feed_rules rules;
	char broker_host[256];
	uint16_t broker_port;
	char broker_password[FEED_SECRET_MAX + 1];
	struct proto_key *sign_key;   /* owned */
	struct proto_key *verify_key; /* owned, or NULL */
	int verbose;
};

/* the command line besides config parameters */
struct feed_args {
	int is_dry_run; /* --dry-run: print the diff, touch nothing */
	int is_force;   /* --force: publish a held change, take empty files */
	int is_check;   /* --check-config */
	size_t n_files;
	char **files; /* borrowed from argv; "-" is stdin */
};

/*
 * feed_conf_load - defaults, -c FILE, then options; files and the flags
 * --dry-run and --force are taken out of argv first. Every problem is
 * printed with its file and line. Returns the config (caller frees with
 * feed_conf_free) or NULL; *args is filled either way (args->files is
 * allocated: free with mx_free).
 */
struct feed_conf *feed_conf_load(int argc, char **argv, struct feed_args *a);
/* feed_conf_free - release; NULL does nothing */
void feed_conf_free(struct feed_conf *c);
/* feed_conf_usage - the option list */
void feed_conf_usage(FILE *out);

#endif /* FEED_H */
