/*
 * proto_record.h - the record model shared by hub, edges and feeds
 *
 * A record is one fact the network distributes: {kind, key, op, score,
 * action, expires, source, reason}. Keys are compact binary per kind (see
 * proto_key_*), identical on the wire and in the LMDB store, so an edge
 * applies a record without re-encoding it.
 * Trust: records arrive from the wire; proto_record_check() validates
 * every field whatever the signature said.
 */
#ifndef PROTO_RECORD_H
#define PROTO_RECORD_H

#include <stddef.h>
#include <stdint.h>

enum proto_kind {
	PROTO_KIND_IP = 1,          /* key: 4 or 16 address bytes */
	PROTO_KIND_NET = 2,         /* key: prefix length, 4 or 16 bytes */
	PROTO_KIND_DOMAIN = 3,      /* key: labels reversed, lower case */
	PROTO_KIND_FP = 4,          /* key: content fingerprint bytes */
	PROTO_KIND_HASH = 5,        /* key: hash type byte + digest */
	PROTO_KIND_RCPT_POLICY = 6, /* key: policy subject text */
	PROTO_KIND_CONFIG = 7,      /* key: parameter name; value in data */
};
#define PROTO_KIND_MIN PROTO_KIND_IP
#define PROTO_KIND_MAX PROTO_KIND_CONFIG
/*
 * Store-only kinds: kept in an edge's or hub's LMDB store, never valid on
 * the wire (proto_record_check refuses them).
 * PROTO_KIND_LOCAL_RCPT: recipient cache; key "domain@local" as printable
 * bytes; action ALLOW = the destination accepted, REJECT = unknown user.
 */
#define PROTO_KIND_LOCAL_RCPT 8
#define PROTO_STORE_KIND_MAX PROTO_KIND_LOCAL_RCPT

enum proto_op {
	PROTO_OP_PUT = 1,
	PROTO_OP_DEL = 2,
};

/* what an edge does when a record matches; ordered by severity */
enum proto_action {
	PROTO_ACT_SCORE = 0,    /* add score only; policy decides */
	PROTO_ACT_ALLOW = 1,    /* allow-list: wins over scores */
	PROTO_ACT_TAG = 2,      /* accept with a tag header */
	PROTO_ACT_TEMPFAIL = 3, /* 4xx */
	PROTO_ACT_REJECT = 4,   /* 5xx */
};
#define PROTO_ACT_MAX PROTO_ACT_REJECT

/* record flags */
#define PROTO_RF_OBSERVE 0x01u /* evaluate and report, do not act */
#define PROTO_RF_ALL 0x01u

/* hash key type bytes (first byte of a PROTO_KIND_HASH key) */
#define PROTO_HASH_BODY 1   /* SHA-256 of the normalised body */
#define PROTO_HASH_ATTACH 2 /* SHA-256 of an attachment's decoded bytes */

#define PROTO_KEY_MAX 255    /* longest key of any kind, bytes */
#define PROTO_DOMAIN_MAX 253 /* longest domain name, without final dot */
#define PROTO_SOURCE_MAX 32  /* longest source name */
#define PROTO_REASON_MAX 128 /* longest reason text */
#define PROTO_DATA_MAX 255   /* longest data value (config values) */
#define PROTO_ID_MAX 64      /* longest hub, edge, pop or feed id */

struct proto_record {
	uint8_t kind;     /* enum proto_kind */
	uint8_t op;       /* enum proto_op */
	uint8_t action;   /* enum proto_action */
	uint8_t flags;    /* PROTO_RF_* */
	int32_t score;    /* points; negative = good */
	uint64_t expires; /* unix seconds; 0 = never */
	uint64_t ts_ms;   /* unix ms of the change; orders versions */
	uint16_t key_len; /* bytes in key */
	uint8_t key[PROTO_KEY_MAX];
	uint8_t source_len; /* bytes in source */
	char source[PROTO_SOURCE_MAX];
	uint8_t reason_len; /* bytes in reason */
	char reason[PROTO_REASON_MAX];
	uint16_t data_len; /* bytes in data */
	uint8_t data[PROTO_DATA_MAX];
};

/*
 * proto_record_check - validate every field of r
 * Returns 0, MX_ERANGE (kind, op, action, flags out of range) or
 * MX_EINVAL (key not canonical for its kind, empty key, bad text).
 */
int proto_record_check(const struct proto_record *r);

/*
 * proto_record_set_text - set source and reason (truncated to their
 * maximum); helpers for tools and tests.
 */
void proto_record_set_text(
    struct proto_record *r, const char *source, const char *reason);

/* proto_kind_name - "ip", "net", "domain", "fp", "hash", "rcpt-policy",
 * "config", or NULL when out of range */
const char *proto_kind_name(int kind);
/* proto_kind_parse - the kind for a name, or MX_EINVAL */
int proto_kind_parse(const char *name, size_t len);
/* proto_action_name - "score", "allow", "tag", "tempfail", "reject" */
const char *proto_action_name(int action);
/* proto_action_parse - the action for a name, or MX_EINVAL */
int proto_action_parse(const char *name, size_t len);

/*
 * Canonical keys. Each writes at most PROTO_KEY_MAX bytes to out and sets
 * *outlen; returns 0 or MX_EINVAL.
 *
 * proto_key_ip - text address ("192.0.2.1", "2001:db8::1") to 4 or 16
 *   bytes; an IPv4-mapped IPv6 address becomes its 4-byte IPv4 form.
 * proto_key_ip_bin - the same canonicalisation for 4 or 16 raw bytes.
 * proto_key_net - "192.0.2.0/24" to [plen, address bytes] with host bits
 *   cleared; a v4-mapped v6 prefix of length >= 96 becomes IPv4.
 *   Host bits set in the text are refused (MX_EINVAL): "10.0.0.1/8" is
 *   almost always a typo.
 * proto_key_domain - "Mail.Example.COM." to "com.example.mail": lower
 *   case, one trailing dot removed, labels reversed. Labels are 1..63
 *   bytes of [a-z0-9_-] (A-labels "xn--..." allowed), not starting or
 *   ending with '-'; at most PROTO_DOMAIN_MAX bytes. Non-ASCII refused:
 *   callers convert IDNs to A-labels first.
 */
int proto_key_ip(const char *text, size_t len, uint8_t *out, size_t *outlen);
int proto_key_ip_bin(
    const uint8_t *addr, size_t alen, uint8_t *out, size_t *outlen);
int proto_key_net(const char *text, size_t len, uint8_t *out, size_t *outlen);
int proto_key_domain(
    const char *text, size_t len, uint8_t *out, size_t *outlen);

/*
 * proto_key_format - render a key of a kind as text into out (NUL-ended)
 * ip and net as addresses, domain in normal label order, fp and hash as
 * hex, the rest as escaped text. Returns 0, MX_EINVAL or MX_ETOOBIG.
 */
int proto_key_format(
    int kind, const uint8_t *key, size_t keylen, char *out, size_t outlen);

/*
 * proto_key_parse - the inverse of proto_key_format: text as an operator
 * types it to the canonical key of kind (ip, net and domain through the
 * functions above; fp and hash from hex, either case; the other kinds
 * from printable text with "\xHH" escapes). Writes at most PROTO_KEY_MAX
 * bytes. Returns 0 or MX_EINVAL (not a key of that kind, or empty).
 */
int proto_key_parse(
    int kind, const char *text, size_t len, uint8_t *out, size_t *outlen);

#endif /* PROTO_RECORD_H */
