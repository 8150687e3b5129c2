/*
 * edge_geo.c - MaxMind DB lookups and geo_policy rules of mxedge
 *
 * The geo layer's library, free of session code. edge_geo_open maps a
 * country database (GeoLite2-Country layout) and an optional ASN database
 * (GeoLite2-ASN layout) with libmaxminddb, checks each one's type against
 * its role and then checks it in full: every search-tree record reachable
 * from the root must point to a node, to "empty" or into the data section
 * within the address width, and every data record must decode along the
 * paths edge_geo_lookup reads (country/iso_code,
 * registered_country/iso_code, autonomous_system_number). A database
 * that opens therefore answers every lookup, and a corrupt file is an
 * error at start or at reload (where the caller keeps the old one), not a
 * stream of failures under traffic. edge_geo_lookup is read-only on the
 * mapping and allocates nothing (MMDB_aget_value with static paths, not
 * MMDB_get_value, which mallocs), so worker threads share one edge_geo.
 * The rules half parses geo_policy values ("DE=reject", "AS64500=score:5")
 * into a fixed table and decides for a (country, AS) pair.
 * Trust: database files come from the operator (downloaded by
 * geoipupdate) and may be truncated, corrupt or the wrong file: libmaxminddb
 * bounds-checks its decoding, and the open-time walk rejects what it would
 * only find later; values read are checked for type and shape (a country
 * code is exactly two ASCII letters, an AS number 1..2^32-1) and anything
 * else counts as unknown. The walk's bitmap is bounded by the data section
 * of a file already mapped. Rule text is operator input treated as
 * hostile. Limits: EDGE_GEO_RULE_TEXT_MAX bytes per rule,
 * EDGE_GEO_RULES_MAX rules, scores within EDGE_GEO_SCORE_MIN..MAX.
 */
#include "edge/edge.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <maxminddb.h>

#include "lib/mx_alloc.h"
#include "lib/mx_ascii.h"
#include "lib/mx_err.h"
#include "lib/mx_parse.h"

#include "proto/proto_record.h"

/* which database a file plays */
enum edge_geo_role {
	EDGE_GEO_ROLE_COUNTRY = 0,
	EDGE_GEO_ROLE_ASN = 1,
};

struct edge_geo {
	MMDB_s country; /* country database, always open */
	MMDB_s asn;     /* ASN database when has_asn */
	int has_asn;    /* an ASN database is configured */
};

/* paths read from data records; static so lookups allocate nothing */
static const char *const edge_geo_path_cc[] = {"country", "iso_code", NULL};
static const char *const edge_geo_path_rcc[] = {
    "registered_country", "iso_code", NULL};
static const char *const edge_geo_path_asn[] = {
    "autonomous_system_number", NULL};

static const uint8_t edge_geo_v4mapped[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static const char *const edge_geo_param[] = {"geo_db", "geo_asn_db"};

static void edge_geo_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* edge_geo_err - format an error message; a cut message ends in "..." */
static void
edge_geo_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n < 0) {
		err[0] = '\0';
		return;
	}
	/* truncated: say so rather than end mid-word */
	if ((size_t)n >= errlen && errlen >= 4)
		memcpy(err + errlen - 4, "...", 4);
}

/* edge_geo_get - one value along path: 0, MX_ENOTFOUND or MX_EIO */
static int
edge_geo_get(
    const MMDB_entry_s *e, const char *const *path, MMDB_entry_data_s *d)
{
	MMDB_entry_s start = *e;
	int rc;

	rc = MMDB_aget_value(&start, d, path);
	/* a key absent, or a map where a string was expected: no value */
	if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
		return MX_ENOTFOUND;
	if (rc != MMDB_SUCCESS)
		return MX_EIO;
	return d->has_data ? 0 : MX_ENOTFOUND;
}

/* edge_geo_cc_path - a two-letter code along path, upper-cased */
static int
edge_geo_cc_path(const MMDB_entry_s *e, const char *const *path, char cc[3])
{
	MMDB_entry_data_s d;
	char a, b;
	int rc;

	if ((rc = edge_geo_get(e, path, &d)) != 0)
		return rc;
	if (d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size != 2)
		return MX_ENOTFOUND;
	a = d.utf8_string[0];
	b = d.utf8_string[1];
	if (a >= 'a' && a <= 'z')
		a = (char)(a - 32);
	if (b >= 'a' && b <= 'z')
		b = (char)(b - 32);
	if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
		return MX_ENOTFOUND;
	cc[0] = a;
	cc[1] = b;
	cc[2] = '\0';
	return 0;
}

/* edge_geo_read_cc - country/iso_code, else registered_country/iso_code */
static int
edge_geo_read_cc(const MMDB_entry_s *e, char cc[3])
{
	int rc;

	rc = edge_geo_cc_path(e, edge_geo_path_cc, cc);
	if (rc != MX_ENOTFOUND)
		return rc;
	return edge_geo_cc_path(e, edge_geo_path_rcc, cc);
}

/* edge_geo_read_asn - autonomous_system_number as 1..UINT32_MAX */
static int
edge_geo_read_asn(const MMDB_entry_s *e, uint32_t *asn)
{
	MMDB_entry_data_s d;
	uint64_t v;
	int rc;

	if ((rc = edge_geo_get(e, edge_geo_path_asn, &d)) != 0)
		return rc;
	switch (d.type) {
	case MMDB_DATA_TYPE_UINT16:
		v = d.uint16;
		break;
	case MMDB_DATA_TYPE_UINT32:
		v = d.uint32;
		break;
	case MMDB_DATA_TYPE_UINT64:
		v = d.uint64;
		break;
	default:
		return MX_ENOTFOUND;
	}
	if (v == 0 || v > UINT32_MAX)
		return MX_ENOTFOUND;
	*asn = (uint32_t)v;
	return 0;
}

/* edge_geo_read_role - read what the role needs from one data record */
static int
edge_geo_read_role(const MMDB_entry_s *e, enum edge_geo_role role)
{
	char cc[3];
	uint32_t asn;

	if (role == EDGE_GEO_ROLE_COUNTRY)
		return edge_geo_read_cc(e, cc);
	return edge_geo_read_asn(e, &asn);
}

/* edge_geo_type_ok - does the metadata type suit the role? */
static int
edge_geo_type_ok(const char *type, enum edge_geo_role role)
{
	if (type == NULL)
		return 0;
	if (role == EDGE_GEO_ROLE_ASN)
		return strstr(type, "ASN") != NULL;
	/* City databases carry the same country maps as Country ones */
	return strstr(type, "Country") != NULL || strstr(type, "City") != NULL;
}

/* a node waiting in edge_geo_verify's walk */
struct edge_geo_walk {
	uint32_t node;  /* node number */
	uint32_t depth; /* bits consumed to reach it */
};

/* the walk's stack: one pending sibling per level, plus the root */
#define EDGE_GEO_WALK_MAX (2 * (128 + 2))

/* edge_geo_verify_data - read one data record once; 0 or MX_EIO */
static int
edge_geo_verify_data(const MMDB_entry_s *e, enum edge_geo_role role,
    uint8_t *seen, uint32_t section)
{
	uint32_t off = e->offset;

	/* libmaxminddb typed the record DATA, so off < section; recheck */
	if (off >= section)
		return MX_EIO;
	if (seen[off / 8] & (1u << (off % 8)))
		return 0;
	seen[off / 8] |= (uint8_t)(1u << (off % 8));
	return edge_geo_read_role(e, role) == MX_EIO ? MX_EIO : 0;
}

/*
 * edge_geo_verify - walk the search tree as lookups do, from the root:
 * every record reachable must be a node, "empty" or a data record that
 * reads cleanly, and no path may run past the address width (a lookup
 * would then end on a node and read garbage). A node reached again by a
 * deeper path (IPv4 aliases reach the IPv4 subtree at several depths) is
 * walked again only when the new path is deeper, so each node is walked
 * at most depth times and a normal database about once per node.
 */
static int
edge_geo_verify(const MMDB_s *db, enum edge_geo_role role, const char *path,
    char *err, size_t errlen)
{
	struct edge_geo_walk stack[EDGE_GEO_WALK_MAX], w;
	uint32_t nodes = db->metadata.node_count, width = db->depth;
	uint8_t *seen = NULL, *reached = NULL, type;
	const MMDB_entry_s *ent;
	MMDB_search_node_s node;
	uint64_t rec;
	size_t top = 0;
	int rc = 0, mrc, side;

	if (width == 0 || width > 128) {
		edge_geo_err(err, errlen, "%s %s: bad tree depth %u",
		    edge_geo_param[role], path, (unsigned)width);
		return MX_EIO;
	}
	/* one bit per data-section byte: each data record is read once */
	seen = mx_calloc((size_t)db->data_section_size / 8 + 1, 1);
	/* per node: 1 + deepest depth it was walked at, 0 = not yet */
	reached = mx_calloc(nodes, 1);
	stack[top].node = 0;
	stack[top].depth = 0;
	top++;
	while (top > 0) {
		w = stack[--top];
		if (reached[w.node] > w.depth)
			continue;
		reached[w.node] = (uint8_t)(w.depth + 1);
		mrc = MMDB_read_node(db, w.node, &node);
		if (mrc != MMDB_SUCCESS ||
		    node.left_record_type == MMDB_RECORD_TYPE_INVALID ||
		    node.right_record_type == MMDB_RECORD_TYPE_INVALID) {
			edge_geo_err(err, errlen,
			    "%s %s: corrupt search tree at node %u (%s)",
			    edge_geo_param[role], path, (unsigned)w.node,
			    mrc != MMDB_SUCCESS ? MMDB_strerror(mrc)
			                        : "bad record");
			rc = MX_EIO;
			goto cleanup;
		}
		/* right first, so the left (all-zero, IPv4) path runs first */
		for (side = 1; side >= 0; side--) {
			type = side ? node.right_record_type
			            : node.left_record_type;
			ent = side ? &node.right_record_entry
			           : &node.left_record_entry;
			rec = side ? node.right_record : node.left_record;
			if (type == MMDB_RECORD_TYPE_DATA &&
			    edge_geo_verify_data(
			        ent, role, seen, db->data_section_size) != 0) {
				edge_geo_err(err, errlen,
				    "%s %s: corrupt data record at offset %u",
				    edge_geo_param[role], path,
				    (unsigned)ent->offset);
				rc = MX_EIO;
				goto cleanup;
			}
			if (type != MMDB_RECORD_TYPE_SEARCH_NODE)
				continue;
			if (rec >= nodes || w.depth + 1 >= width ||
			    top >= EDGE_GEO_WALK_MAX) {
				edge_geo_err(err, errlen,
				    "%s %s: corrupt search tree at node %u "
				    "(path deeper than %u bits)",
				    edge_geo_param[role], path,
				    (unsigned)w.node, (unsigned)width);
				rc = MX_EIO;
				goto cleanup;
			}
			stack[top].node = (uint32_t)rec;
			stack[top].depth = w.depth + 1;
			top++;
		}
	}
cleanup:
	mx_free(reached);
	mx_free(seen);
	return rc;
}

/* edge_geo_open_one - open, type-check and verify one database */
static int
edge_geo_open_one(const char *path, enum edge_geo_role role, MMDB_s *db,
    char *err, size_t errlen)
{
	const char *param = edge_geo_param[role];
	struct sockaddr_in sin;
	const char *type;
	struct stat st;
	int mrc, saved, rc = 0, is_open = 0;

	/* for a clear message only; MMDB_open checks for itself */
	if (stat(path, &st) != 0) {
		edge_geo_err(err, errlen, "%s %s: cannot open: %s", param, path,
		    strerror(errno));
		rc = MX_EIO;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		edge_geo_err(err, errlen, "%s %s: %s", param, path,
		    S_ISREG(st.st_mode) ? "empty file, not a MaxMind DB"
		                        : "not a regular file");
		rc = MX_EIO;
		goto cleanup;
	}
	errno = 0;
	mrc = MMDB_open(path, MMDB_MODE_MMAP, db);
	saved = errno;
	if (mrc == MMDB_FILE_OPEN_ERROR || mrc == MMDB_IO_ERROR) {
		edge_geo_err(err, errlen, "%s %s: cannot read: %s", param, path,
		    saved != 0 ? strerror(saved) : MMDB_strerror(mrc));
		rc = MX_EIO;
		goto cleanup;
	}
	if (mrc != MMDB_SUCCESS) {
		edge_geo_err(err, errlen,
		    "%s %s: not a usable MaxMind DB (corrupt or truncated?): "
		    "%s",
		    param, path, MMDB_strerror(mrc));
		rc = MX_EIO;
		goto cleanup;
	}
	is_open = 1;
	type = db->metadata.database_type;
	if (!edge_geo_type_ok(type, role)) {
		edge_geo_err(err, errlen,
		    "%s %s: database type '%.64s' is not %s", param, path,
		    type != NULL ? type : "",
		    role == EDGE_GEO_ROLE_ASN
		        ? "an ASN database (GeoLite2-ASN)"
		        : "a Country or City database (GeoLite2-Country)");
		rc = MX_ETYPE;
		goto cleanup;
	}
	if ((db->metadata.ip_version != 4 && db->metadata.ip_version != 6) ||
	    (db->metadata.record_size != 24 && db->metadata.record_size != 28 &&
	        db->metadata.record_size != 32) ||
	    db->metadata.node_count == 0) {
		edge_geo_err(err, errlen,
		    "%s %s: unsupported layout (ip_version %u, record_size "
		    "%u, node_count %u)",
		    param, path, (unsigned)db->metadata.ip_version,
		    (unsigned)db->metadata.record_size,
		    (unsigned)db->metadata.node_count);
		rc = MX_EIO;
		goto cleanup;
	}
	if ((rc = edge_geo_verify(db, role, path, err, errlen)) != 0)
		goto cleanup;
	/*
	 * One IPv4 lookup while the database is still ours alone: older
	 * libmaxminddb releases find and cache the IPv4 start node on the
	 * first IPv4 lookup rather than in MMDB_open, a write that must not
	 * race between worker threads.
	 */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	(void)MMDB_lookup_sockaddr(db, (const struct sockaddr *)&sin, &mrc);
cleanup:
	if (rc != 0 && is_open)
		MMDB_close(db);
	return rc;
}

/* edge_geo_open - open and check the country and optional ASN databases */
int
edge_geo_open(const char *country_db, const char *asn_db, struct edge_geo **out,
    char *err, size_t errlen)
{
	struct edge_geo *g = NULL;
	int rc, has_country = 0;

	if (country_db == NULL || country_db[0] == '\0') {
		edge_geo_err(err, errlen, "geo_db: no country database set");
		return MX_EINVAL;
	}
	g = mx_calloc(1, sizeof(*g));
	rc = edge_geo_open_one(
	    country_db, EDGE_GEO_ROLE_COUNTRY, &g->country, err, errlen);
	if (rc != 0)
		goto cleanup;
	has_country = 1;
	if (asn_db != NULL && asn_db[0] != '\0') {
		rc = edge_geo_open_one(
		    asn_db, EDGE_GEO_ROLE_ASN, &g->asn, err, errlen);
		if (rc != 0)
			goto cleanup;
		g->has_asn = 1;
	}
	*out = g;
	g = NULL;
cleanup:
	if (g != NULL) {
		if (has_country)
			MMDB_close(&g->country);
		mx_free(g);
	}
	return rc;
}

/* edge_geo_free - close both databases */
void
edge_geo_free(struct edge_geo *g)
{
	if (g == NULL)
		return;
	if (g->has_asn)
		MMDB_close(&g->asn);
	MMDB_close(&g->country);
	mx_free(g);
}

/* edge_geo_find - the data record of an address: 0, ENOTFOUND or EIO */
static int
edge_geo_find(const MMDB_s *db, const struct sockaddr *sa, MMDB_entry_s *e)
{
	MMDB_lookup_result_s res;
	int merr = MMDB_SUCCESS;

	res = MMDB_lookup_sockaddr(db, sa, &merr);
	/* an IPv4-only database knows nothing of IPv6: unknown, not broken */
	if (merr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
		return MX_ENOTFOUND;
	if (merr != MMDB_SUCCESS)
		return MX_EIO;
	if (!res.found_entry)
		return MX_ENOTFOUND;
	*e = res.entry;
	return 0;
}

/* edge_geo_lookup - country code and AS number of a client address */
int
edge_geo_lookup(const struct edge_geo *g, const uint8_t addr16[16], char cc[3],
    uint32_t *asn)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa;
	MMDB_entry_s e;
	char c[3] = "";
	uint32_t a = 0;
	int rc;

	/* v4-mapped goes in as IPv4 so IPv4-only databases answer it */
	if (memcmp(addr16, edge_geo_v4mapped, sizeof(edge_geo_v4mapped)) == 0) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, addr16 + 12, 4);
		sa = (const struct sockaddr *)&sin;
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, addr16, 16);
		sa = (const struct sockaddr *)&sin6;
	}
	rc = edge_geo_find(&g->country, sa, &e);
	if (rc == 0)
		rc = edge_geo_read_cc(&e, c);
	if (rc == MX_EIO)
		return MX_EIO;
	if (g->has_asn) {
		rc = edge_geo_find(&g->asn, sa, &e);
		if (rc == 0)
			rc = edge_geo_read_asn(&e, &a);
		if (rc == MX_EIO)
			return MX_EIO;
	}
	memcpy(cc, c, 3);
	*asn = a;
	return c[0] != '\0' || a != 0 ? 0 : MX_ENOTFOUND;
}

/* edge_geo_describe_one - "type built=YYYY-MM-DD" of one database */
static int
edge_geo_describe_one(
    const MMDB_s *db, const char *label, char *buf, size_t len, size_t *at)
{
	char day[16] = "?";
	struct tm tm;
	time_t t;
	int n;

	if (db->metadata.build_epoch <= (uint64_t)INT32_MAX) {
		t = (time_t)db->metadata.build_epoch;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(day, sizeof(day), "%Y-%m-%d", &tm) == 0)
			memcpy(day, "?", 2);
	}
	n = snprintf(buf + *at, len - *at, "%s%s=%.64s built=%s",
	    *at > 0 ? " " : "", label,
	    db->metadata.database_type != NULL ? db->metadata.database_type
	                                       : "?",
	    day);
	if (n < 0 || (size_t)n >= len - *at)
		return MX_ETOOBIG;
	*at += (size_t)n;
	return 0;
}

/* edge_geo_describe - name the databases and their build dates */
int
edge_geo_describe(const struct edge_geo *g, char *buf, size_t len)
{
	size_t at = 0;
	int rc;

	if (len == 0)
		return MX_ETOOBIG;
	buf[0] = '\0';
	rc = edge_geo_describe_one(&g->country, "country", buf, len, &at);
	if (rc == 0 && g->has_asn)
		rc = edge_geo_describe_one(&g->asn, "asn", buf, len, &at);
	return rc;
}

/* ---- rules ---- */

/* edge_geo_rules_init - an empty table */
void
edge_geo_rules_init(struct edge_geo_rules *r)
{
	r->n = 0;
}

/* edge_geo_rules_fini - forget every rule */
void
edge_geo_rules_fini(struct edge_geo_rules *r)
{
	r->n = 0;
}

/* edge_geo_is_blank - space or tab */
static int
edge_geo_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* edge_geo_trim - drop blanks at both ends of s[0..*len) */
static const char *
edge_geo_trim(const char *s, size_t *len)
{
	while (*len > 0 && edge_geo_is_blank(s[0])) {
		s++;
		(*len)--;
	}
	while (*len > 0 && edge_geo_is_blank(s[*len - 1]))
		(*len)--;
	return s;
}

/* edge_geo_eq - s[0..len) equals lower-case word, ignoring case */
static int
edge_geo_eq(const char *s, size_t len, const char *word)
{
	size_t i;

	if (len != strlen(word))
		return 0;
	for (i = 0; i < len; i++)
		if ((char)mx_ascii_lower((uint8_t)s[i]) != word[i])
			return 0;
	return 1;
}

/* edge_geo_show - printable copy of text for a message, cut to the max */
static void
edge_geo_show(const char *s, size_t len, char out[EDGE_GEO_RULE_TEXT_MAX + 1])
{
	size_t i;

	if (len > EDGE_GEO_RULE_TEXT_MAX)
		len = EDGE_GEO_RULE_TEXT_MAX;
	for (i = 0; i < len; i++)
		out[i] =
		    s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'' ? s[i] : '?';
	out[len] = '\0';
}

/* edge_geo_parse_key - country code or AS<number> into rule */
static int
edge_geo_parse_key(const char *k, size_t len, struct edge_geo_rule *rule,
    char *err, size_t errlen)
{
	uint64_t v;
	char show[EDGE_GEO_RULE_TEXT_MAX + 1];
	int rc;

	if (len == 2 && mx_ascii_is_alpha((uint8_t)k[0]) &&
	    mx_ascii_is_alpha((uint8_t)k[1])) {
		rule->kind = EDGE_GEO_RULE_COUNTRY;
		rule->cc[0] = (char)mx_ascii_upper((uint8_t)k[0]);
		rule->cc[1] = (char)mx_ascii_upper((uint8_t)k[1]);
		rule->cc[2] = '\0';
		return 0;
	}
	edge_geo_show(k, len, show);
	if (len > 2 && (char)mx_ascii_lower((uint8_t)k[0]) == 'a' &&
	    (char)mx_ascii_lower((uint8_t)k[1]) == 's') {
		rc = mx_parse_u64(k + 2, len - 2, 1, UINT32_MAX, &v);
		if (rc == MX_ERANGE) {
			edge_geo_err(err, errlen,
			    "geo_policy: '%s' is out of range "
			    "(AS1..AS4294967295)",
			    show);
			return MX_ERANGE;
		}
		if (rc != 0) {
			edge_geo_err(err, errlen,
			    "geo_policy: '%s' is not AS followed by digits",
			    show);
			return MX_EINVAL;
		}
		rule->kind = EDGE_GEO_RULE_ASN;
		rule->asn = (uint32_t)v;
		return 0;
	}
	edge_geo_err(err, errlen,
	    "geo_policy: key '%s' is neither a two-letter country code nor "
	    "AS<number>",
	    show);
	return MX_EINVAL;
}

/* edge_geo_parse_action - reject, tempfail, allow or score:N into rule */
static int
edge_geo_parse_action(const char *a, size_t len, struct edge_geo_rule *rule,
    char *err, size_t errlen)
{
	char show[EDGE_GEO_RULE_TEXT_MAX + 1];
	int64_t v;
	int rc;

	if (edge_geo_eq(a, len, "reject")) {
		rule->action = PROTO_ACT_REJECT;
		return 0;
	}
	if (edge_geo_eq(a, len, "tempfail")) {
		rule->action = PROTO_ACT_TEMPFAIL;
		return 0;
	}
	if (edge_geo_eq(a, len, "allow")) {
		rule->action = PROTO_ACT_ALLOW;
		return 0;
	}
	edge_geo_show(a, len, show);
	if (len >= 6 && edge_geo_eq(a, 6, "score:")) {
		rc = mx_parse_i64(
		    a + 6, len - 6, EDGE_GEO_SCORE_MIN, EDGE_GEO_SCORE_MAX, &v);
		if (rc == MX_ERANGE) {
			edge_geo_err(err, errlen,
			    "geo_policy: '%s' is out of range (score:%d.."
			    "score:%d)",
			    show, EDGE_GEO_SCORE_MIN, EDGE_GEO_SCORE_MAX);
			return MX_ERANGE;
		}
		if (rc != 0) {
			edge_geo_err(err, errlen,
			    "geo_policy: '%s' is not score:N with N a "
			    "decimal number",
			    show);
			return MX_EINVAL;
		}
		rule->action = PROTO_ACT_SCORE;
		rule->score = (int32_t)v;
		return 0;
	}
	edge_geo_err(err, errlen,
	    "geo_policy: action '%s' is not reject, tempfail, allow or "
	    "score:N",
	    show);
	return MX_EINVAL;
}

/* edge_geo_rule_find - the rule of rule's key, or NULL */
static const struct edge_geo_rule *
edge_geo_rule_find(
    const struct edge_geo_rules *r, uint8_t kind, const char *cc, uint32_t asn)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct edge_geo_rule *x = &r->rule[i];

		if (x->kind != kind)
			continue;
		if (kind == EDGE_GEO_RULE_ASN
		        ? x->asn == asn
		        : (x->cc[0] == cc[0] && x->cc[1] == cc[1]))
			return x;
	}
	return NULL;
}

/* edge_geo_rule_add - parse one geo_policy value into the table */
int
edge_geo_rule_add(struct edge_geo_rules *r, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct edge_geo_rule rule;
	char show[EDGE_GEO_RULE_TEXT_MAX + 1];
	const char *s, *eq, *k, *a;
	size_t n, klen, alen;
	int rc;

	if (len > EDGE_GEO_RULE_TEXT_MAX) {
		edge_geo_err(err, errlen,
		    "geo_policy: rule longer than %d bytes",
		    EDGE_GEO_RULE_TEXT_MAX);
		return MX_ETOOBIG;
	}
	memset(&rule, 0, sizeof(rule));
	n = len;
	s = edge_geo_trim(text, &n);
	edge_geo_show(s, n, show);
	eq = n > 0 ? memchr(s, '=', n) : NULL;
	if (eq == NULL) {
		edge_geo_err(err, errlen,
		    "geo_policy: '%s' is not KEY=ACTION (CC=reject, "
		    "AS64500=score:5)",
		    show);
		return MX_EINVAL;
	}
	klen = (size_t)(eq - s);
	alen = n - klen - 1;
	k = edge_geo_trim(s, &klen);
	a = edge_geo_trim(eq + 1, &alen);
	if ((rc = edge_geo_parse_key(k, klen, &rule, err, errlen)) != 0)
		return rc;
	if ((rc = edge_geo_parse_action(a, alen, &rule, err, errlen)) != 0)
		return rc;
	if (edge_geo_rule_find(r, rule.kind, rule.cc, rule.asn) != NULL) {
		if (rule.kind == EDGE_GEO_RULE_ASN)
			edge_geo_err(err, errlen,
			    "geo_policy: second rule for AS%u",
			    (unsigned)rule.asn);
		else
			edge_geo_err(err, errlen,
			    "geo_policy: second rule for country %s", rule.cc);
		return MX_EDUP;
	}
	if (r->n >= EDGE_GEO_RULES_MAX) {
		edge_geo_err(err, errlen, "geo_policy: more than %d rules",
		    EDGE_GEO_RULES_MAX);
		return MX_ELIMIT;
	}
	r->rule[r->n++] = rule;
	return 0;
}

/* edge_geo_rule_format - canonical text of a rule */
int
edge_geo_rule_format(const struct edge_geo_rule *rule, char *buf, size_t len)
{
	char key[16], act[24];
	int n;

	if (rule->kind == EDGE_GEO_RULE_ASN && rule->asn != 0)
		n = snprintf(key, sizeof(key), "AS%u", (unsigned)rule->asn);
	else if (rule->kind == EDGE_GEO_RULE_COUNTRY && rule->cc[0] >= 'A' &&
	         rule->cc[0] <= 'Z' && rule->cc[1] >= 'A' &&
	         rule->cc[1] <= 'Z' && rule->cc[2] == 0)
		n = snprintf(key, sizeof(key), "%s", rule->cc);
	else
		return MX_EINVAL;
	if (n < 0 || (size_t)n >= sizeof(key))
		return MX_EINVAL;
	switch (rule->action) {
	case PROTO_ACT_REJECT:
		n = snprintf(act, sizeof(act), "reject");
		break;
	case PROTO_ACT_TEMPFAIL:
		n = snprintf(act, sizeof(act), "tempfail");
		break;
	case PROTO_ACT_ALLOW:
		n = snprintf(act, sizeof(act), "allow");
		break;
	case PROTO_ACT_SCORE:
		if (rule->score < EDGE_GEO_SCORE_MIN ||
		    rule->score > EDGE_GEO_SCORE_MAX)
			return MX_EINVAL;
		n = snprintf(act, sizeof(act), "score:%d", (int)rule->score);
		break;
	default:
		return MX_EINVAL;
	}
	if (n < 0 || (size_t)n >= sizeof(act))
		return MX_EINVAL;
	n = snprintf(buf, len, "%s=%s", key, act);
	if (n < 0 || (size_t)n >= len)
		return MX_ETOOBIG;
	return 0;
}

/* edge_geo_decide - the most specific rule for (cc, asn) */
int
edge_geo_decide(const struct edge_geo_rules *r, const char *cc, uint32_t asn,
    int32_t *score, uint8_t *action, char *id, size_t idlen)
{
	const struct edge_geo_rule *x = NULL;
	char up[3], tmp[EDGE_GEO_ID_MAX];
	int n;

	if (asn != 0)
		x = edge_geo_rule_find(r, EDGE_GEO_RULE_ASN, NULL, asn);
	if (x == NULL && cc != NULL && cc[0] != '\0' && cc[1] != '\0' &&
	    cc[2] == '\0') {
		up[0] = (char)mx_ascii_upper((uint8_t)cc[0]);
		up[1] = (char)mx_ascii_upper((uint8_t)cc[1]);
		up[2] = '\0';
		x = edge_geo_rule_find(r, EDGE_GEO_RULE_COUNTRY, up, 0);
	}
	if (x == NULL)
		return MX_ENOTFOUND;
	if (x->kind == EDGE_GEO_RULE_ASN)
		n = snprintf(tmp, sizeof(tmp), "geo:asn:%u", (unsigned)x->asn);
	else
		n = snprintf(tmp, sizeof(tmp), "geo:country:%s", x->cc);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return MX_ETOOBIG;
	/* the id is filled only when it fits: outputs change only on 0 */
	if (id != NULL) {
		if ((size_t)n >= idlen)
			return MX_ETOOBIG;
		memcpy(id, tmp, (size_t)n + 1);
	}
	*score = x->action == PROTO_ACT_SCORE ? x->score : 0;
	*action = x->action;
	return 0;
}
