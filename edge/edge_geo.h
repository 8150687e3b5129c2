/*
 * edge_geo.h - country and AS lookups from MaxMind DB files, and the
 * per-country / per-AS policy rules of mxedge's geo layer
 *
 * Two independent parts, both free of session code. The databases: one
 * country database (GeoLite2-Country layout, or any database whose type
 * names "Country" or "City") and an optional ASN database (GeoLite2-ASN
 * layout), opened with libmaxminddb in mmap mode and checked in full at
 * open, so a database that opens answers every lookup. The rules: the
 * values of the repeatable config parameter geo_policy ("DE=reject",
 * "AS64500=score:5"), parsed into a bounded table, and the decision for a
 * (country, AS) pair. docs/geo.md describes both for operators.
 * Trust: database files are operator-supplied but may be truncated,
 * corrupt or of the wrong kind: every record is validated at open (search
 * tree pointers, and the fields this layer reads) and a bad file is a
 * clear error, never a crash. Rule text is operator input, parsed as
 * hostile: at most EDGE_GEO_RULE_TEXT_MAX bytes per rule and
 * EDGE_GEO_RULES_MAX rules; numbers through mx_parse_*. Client addresses
 * are 16 bytes, IPv4 as v4-mapped.
 */
#ifndef EDGE_GEO_H
#define EDGE_GEO_H

#include <stddef.h>
#include <stdint.h>

#define EDGE_GEO_RULES_MAX 512     /* geo_policy values per config */
#define EDGE_GEO_RULE_TEXT_MAX 64  /* bytes of one geo_policy value */
#define EDGE_GEO_SCORE_MIN (-1000) /* score:N lower bound */
#define EDGE_GEO_SCORE_MAX 1000    /* score:N upper bound */
#define EDGE_GEO_ID_MAX 24         /* reason id buffer: "geo:asn:4294967295" */
#define EDGE_GEO_ERR_MAX 256       /* a comfortable error buffer */

/* ---- databases ---- */

/* the opened databases; opaque */
struct edge_geo;

/*
 * edge_geo_open - open the country database country_db and, when asn_db
 * is neither NULL nor "", the ASN database asn_db, both mmap'ed
 * read-only. Each file is checked: it must open as a MaxMind DB, its
 * metadata database_type must contain "Country" or "City" (country role)
 * or "ASN" (ASN role), every search-tree record reachable from the root
 * must point inside the file within the address width, and every data
 * record must decode along the paths lookups read.
 * On success *out holds the databases; the caller frees them with
 * edge_geo_free. On failure *out is untouched and err (errlen bytes; may
 * be NULL) names the file and the cause.
 * Returns 0, MX_EINVAL (country_db empty or NULL), MX_EIO (missing,
 * unreadable, or not a MaxMind DB: corrupt or truncated), MX_ETYPE (the
 * database is of the wrong kind for its role).
 * Any thread; it reads whole files (the check walks the search tree once,
 * roughly node_count steps), so call it at startup or from a reload
 * path, never from a session callback.
 */
int edge_geo_open(const char *country_db, const char *asn_db,
    struct edge_geo **out, char *err, size_t errlen);

/*
 * edge_geo_free - close the databases and free g; NULL does nothing.
 * No lookup may be running on g (free the old one of a reload only when
 * its last user is done, as with any config snapshot).
 */
void edge_geo_free(struct edge_geo *g);

/*
 * edge_geo_lookup - the country and AS of a client address
 * addr16 is the address in network order, IPv4 as ::ffff:a.b.c.d. cc
 * receives the upper-case ISO 3166 code from country/iso_code, falling
 * back to registered_country/iso_code, or "" when unknown; *asn the AS
 * number (autonomous_system_number) or 0 when unknown or when there is no
 * ASN database. An IPv6 address asked of an IPv4-only database is
 * unknown there, not an error.
 * Returns 0 (cc or asn known), MX_ENOTFOUND (neither known; cc is "" and
 * *asn 0), MX_EIO (a database read failed; cc and *asn untouched).
 * Thread-safe: any number of threads may look up concurrently in one
 * opened edge_geo; it allocates nothing and does not block.
 */
int edge_geo_lookup(const struct edge_geo *g, const uint8_t addr16[16],
    char cc[3], uint32_t *asn);

/*
 * edge_geo_describe - one line naming the databases for a log line:
 * "country=GeoLite2-Country built=2024-05-07 asn=GeoLite2-ASN built=…"
 * Returns 0 or MX_ETOOBIG (buf too small; buf then holds a cut line).
 */
int edge_geo_describe(const struct edge_geo *g, char *buf, size_t len);

/* ---- policy rules ---- */

enum edge_geo_rule_kind {
	EDGE_GEO_RULE_COUNTRY = 1, /* key is a country code */
	EDGE_GEO_RULE_ASN = 2,     /* key is an AS number */
};

/* one geo_policy value */
struct edge_geo_rule {
	uint32_t asn;   /* AS number (ASN rules), else 0 */
	int32_t score;  /* N of score:N; 0 for the other actions */
	uint8_t kind;   /* enum edge_geo_rule_kind */
	uint8_t action; /* enum proto_action: SCORE, ALLOW, TEMPFAIL, REJECT */
	char cc[3];     /* upper-case country code (country rules), else "" */
};

/* the rule table of one config; embedded, fixed size */
struct edge_geo_rules {
	size_t n; /* rules in use */
	struct edge_geo_rule rule[EDGE_GEO_RULES_MAX];
};

/* edge_geo_rules_init - an empty table */
void edge_geo_rules_init(struct edge_geo_rules *r);

/* edge_geo_rules_fini - forget every rule (the table holds no memory) */
void edge_geo_rules_fini(struct edge_geo_rules *r);

/*
 * edge_geo_rule_add - parse one geo_policy value text[0..len) and add it
 * Syntax: KEY=ACTION, blanks allowed around '=' and at the ends. KEY is
 * a two-letter country code (case-insensitive, stored upper case; "AS"
 * alone is American Samoa) or AS<number> with 1 <= number <= 4294967295
 * ("as" case-insensitive). ACTION is reject, tempfail, allow or score:N,
 * EDGE_GEO_SCORE_MIN <= N <= EDGE_GEO_SCORE_MAX (case-insensitive).
 * text need not be NUL-terminated. On failure r is unchanged and err
 * (errlen bytes; may be NULL) says why, quoting at most
 * EDGE_GEO_RULE_TEXT_MAX bytes of text with non-printables as '?'.
 * Returns 0, MX_ETOOBIG (len > EDGE_GEO_RULE_TEXT_MAX), MX_EINVAL
 * (syntax), MX_ERANGE (AS number or score out of range), MX_EDUP (a rule
 * for the same key exists), MX_ELIMIT (EDGE_GEO_RULES_MAX rules already).
 * Config loading only: no reader may use r while rules are added.
 */
int edge_geo_rule_add(struct edge_geo_rules *r, const char *text, size_t len,
    char *err, size_t errlen);

/*
 * edge_geo_rule_format - the canonical text of a rule ("DE=reject",
 * "AS64500=score:-5"), which edge_geo_rule_add reads back to the same
 * rule. Returns 0, MX_EINVAL (not a valid rule) or MX_ETOOBIG (len too
 * small; at most EDGE_GEO_RULE_TEXT_MAX + 1 is ever needed).
 */
int edge_geo_rule_format(
    const struct edge_geo_rule *rule, char *buf, size_t len);

/*
 * edge_geo_decide - apply the rules to a client's country and AS
 * cc is the lookup's code ("" or NULL: unknown), asn its AS (0:
 * unknown). The most specific matching rule decides alone: the AS rule
 * when there is one, else the country rule; scores of the two are not
 * added. *score is the rule's N for score:N, else 0; *action its enum
 * proto_action; id (idlen bytes; NULL when not wanted) the reason
 * id "geo:asn:64500" or "geo:country:DE". Outputs are set only on 0.
 * Returns 0 (a rule matched), MX_ENOTFOUND (none did), MX_ETOOBIG (id
 * does not fit; EDGE_GEO_ID_MAX always does).
 * Pure; thread-safe on a table nobody is changing.
 */
int edge_geo_decide(const struct edge_geo_rules *r, const char *cc,
    uint32_t asn, int32_t *score, uint8_t *action, char *id, size_t idlen);

#endif /* EDGE_GEO_H */
