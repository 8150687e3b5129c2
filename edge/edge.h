/*
 * edge.h - the pure core of mxedge (library mxedgecore)
 *
 * Declarations of the parts of edge/ that do no I/O, grouped by file; the
 * daemon's own parts (sessions, filters, telemetry) are in edge_int.h,
 * which includes this one. The parsers here (edge_cmd.c, edge_data.c,
 * edge_proxy.c) are pure: no I/O, no allocation, no logging, no global
 * state; edge_geo.c reads MaxMind files opened once at configuration. The
 * session code feeds them bytes it has read and turns their results into SMTP
 * replies, log lines and counters; unit tests and fuzzers call them directly.
 * Trust: every byte these parsers see comes from the Internet (or from a
 * load balancer speaking for it). Each one is bounded: a command line by
 * the caller's line limit plus the RFC 5321 element limits below, a DATA
 * line by edge_data_cfg.line_max, a message by edge_data_cfg.size_max, a
 * PROXY header by EDGE_PROXY_V1_MAX / EDGE_PROXY_V2_MAX (a proxy_trusted
 * entry by EDGE_PROXY_NET_TEXT_MAX), a geo rule by
 * EDGE_GEO_RULE_TEXT_MAX and EDGE_GEO_RULES_MAX.
 */
#ifndef EDGE_H
#define EDGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * ---------------------------------------------------------------------
 * edge_cmd.c - SMTP command line parser (RFC 5321, 1870, 6152, 6531)
 * ---------------------------------------------------------------------
 */

#define EDGE_CMD_LINE_MAX 512   /* RFC 5321 command line incl. CRLF */
#define EDGE_CMD_LOCAL_MAX 64   /* local part, octets as sent */
#define EDGE_CMD_DOMAIN_MAX 255 /* domain or address literal, octets */
#define EDGE_CMD_LABEL_MAX 63   /* one DNS label, octets */
#define EDGE_CMD_PATH_MAX 256   /* "<" ... ">" including both brackets */
#define EDGE_CMD_PARAM_MAX 16   /* ESMTP parameters on one MAIL or RCPT */

enum edge_cmd_verb {
	EDGE_CMD_UNKNOWN = 0, /* not a command we know; reply 500 5.5.1 */
	EDGE_CMD_HELO,
	EDGE_CMD_EHLO,
	EDGE_CMD_MAIL,
	EDGE_CMD_RCPT,
	EDGE_CMD_DATA,
	EDGE_CMD_RSET,
	EDGE_CMD_NOOP,
	EDGE_CMD_QUIT,
	EDGE_CMD_VRFY,
	EDGE_CMD_EXPN,
	EDGE_CMD_HELP,
	EDGE_CMD_STARTTLS,
	EDGE_CMD_BDAT,
	EDGE_CMD_AUTH,
	EDGE_CMD_ETRN,
	EDGE_CMD_HTTP, /* GET/POST/HEAD/PUT/CONNECT/OPTIONS/DELETE: not SMTP */
};

/*
 * Why a line was refused. Each value has its own reply (edge_cmd_reply)
 * and, in the daemon, its own counter.
 */
enum edge_cmd_err {
	EDGE_CMD_OK = 0,
	EDGE_CMD_E_NUL,             /* NUL byte in the line */
	EDGE_CMD_E_BARE_NEWLINE,    /* CR or LF inside the line */
	EDGE_CMD_E_LINE_TOO_LONG,   /* never set by the parser (caller's) */
	EDGE_CMD_E_UNRECOGNIZED,    /* never set: reply for EDGE_CMD_UNKNOWN */
	EDGE_CMD_E_NOT_IMPLEMENTED, /* never set: reply for BDAT, AUTH, ... */
	EDGE_CMD_E_NO_ARGS,         /* DATA, RSET, QUIT, STARTTLS with text */
	EDGE_CMD_E_ARG_REQUIRED,    /* HELO, EHLO, VRFY, EXPN without text */
	EDGE_CMD_E_PATH_SYNTAX,     /* no FROM:/TO:, no <...>, junk after */
	EDGE_CMD_E_ADDR_SYNTAX,     /* bad local part, domain, or route */
	EDGE_CMD_E_LOCAL_TOO_LONG,  /* local part over EDGE_CMD_LOCAL_MAX */
	EDGE_CMD_E_DOMAIN_TOO_LONG, /* domain over EDGE_CMD_DOMAIN_MAX */
	EDGE_CMD_E_PATH_TOO_LONG,   /* path over EDGE_CMD_PATH_MAX */
	EDGE_CMD_E_UTF8_ADDR,       /* non-ASCII address without SMTPUTF8 */
	EDGE_CMD_E_PARAM_SYNTAX,    /* malformed keyword[=value] */
	EDGE_CMD_E_PARAM_UNKNOWN,   /* parameter we do not support */
	EDGE_CMD_E_PARAM_VALUE,     /* SIZE not digits, BODY not 7BIT/8BIT */
	EDGE_CMD_E_PARAM_DUP,       /* same parameter twice */
	EDGE_CMD_E_PARAM_TOO_MANY,  /* over EDGE_CMD_PARAM_MAX parameters */
};

enum edge_cmd_body {
	EDGE_CMD_BODY_NONE = 0, /* no BODY= parameter */
	EDGE_CMD_BODY_7BIT,
	EDGE_CMD_BODY_8BITMIME,
};

/* flags for edge_cmd_domain_parse */
#define EDGE_CMD_DOM_LITERAL 0x1 /* accept [IPv4] and [IPv6:...] */
#define EDGE_CMD_DOM_UTF8 0x2    /* accept UTF-8 (U-label) bytes */

/*
 * A parsed MAIL FROM or RCPT TO path. The views (local, domain_raw) point
 * into the line given to edge_cmd_parse and are valid as long as it is;
 * domain is a lower-cased copy owned by the struct.
 */
struct edge_cmd_path {
	int is_null;       /* MAIL FROM:<> (null reverse-path) */
	int is_postmaster; /* RCPT TO:<Postmaster>, no domain */
	int is_quoted;     /* local part is a quoted string */
	int is_literal;    /* domain is an address literal [...] */
	int has_utf8;      /* non-ASCII octets in local part or domain */
	int had_route;     /* a source route @a,@b: was given and dropped */
	const char *local; /* local part as sent (quotes kept), or NULL */
	size_t local_len;  /* octets at local */
	const char *domain_raw;               /* domain as sent, or NULL */
	size_t domain_len;                    /* octets at domain_raw */
	char domain[EDGE_CMD_DOMAIN_MAX + 1]; /* lower-cased, NUL-terminated */
};

/* A parsed command line. */
struct edge_cmd {
	enum edge_cmd_verb verb;   /* what the line asks for */
	const char *arg;           /* text after the verb and its spaces */
	size_t arg_len;            /* octets at arg, trailing SP/HT trimmed */
	struct edge_cmd_path path; /* MAIL and RCPT only, else zeroed */
	uint64_t size;             /* SIZE= in bytes (UINT64_MAX: huge) */
	int has_size;              /* SIZE= was given */
	enum edge_cmd_body body;   /* BODY= value */
	int is_smtputf8;           /* SMTPUTF8 was given */
	unsigned nparams;          /* ESMTP parameters on the line */
};

/*
 * edge_cmd_parse - parse one SMTP command line
 * line, len: the line without its CRLF (the caller has split the stream
 *   and checked the line limit; a CR or LF still inside is refused).
 * cmd: filled on success only. Its views borrow from line.
 * why: on failure, set to the reason (map it with edge_cmd_reply); on
 *   success set to EDGE_CMD_OK. May not be NULL.
 * verb_out: may be NULL; else set to the verb on success AND on failure
 *   (EDGE_CMD_UNKNOWN when the line failed before the verb was known), so
 *   the reply can name the command.
 * An unknown verb is not an error: it returns 0 with EDGE_CMD_UNKNOWN.
 * Returns 0; MX_EPROTO (syntax, NUL, bare newline, unsupported or bad
 * parameter, non-ASCII address without SMTPUTF8); MX_ETOOBIG (local part,
 * domain or path over its limit); MX_ELIMIT (too many parameters).
 * Pure: any thread.
 */
int edge_cmd_parse(const char *line, size_t len, struct edge_cmd *cmd,
    enum edge_cmd_err *why, enum edge_cmd_verb *verb_out);

/*
 * edge_cmd_domain_parse - check a domain (dot-atoms of [A-Za-z0-9-]
 * labels, 1..63 octets each, no leading or trailing hyphen) or, with
 * EDGE_CMD_DOM_LITERAL, an address literal [a.b.c.d] or [IPv6:...]
 * s, len: the text; out: NULL, or out_size >= len + 1 bytes that receive
 *   the lower-cased domain, NUL-terminated (written on success only).
 * why: set on failure to EDGE_CMD_E_ADDR_SYNTAX or
 *   EDGE_CMD_E_DOMAIN_TOO_LONG. May not be NULL.
 * Returns 0, MX_EPROTO (syntax), MX_ETOOBIG (over EDGE_CMD_DOMAIN_MAX),
 * MX_EINVAL (out_size too small). Pure: any thread.
 */
int edge_cmd_domain_parse(const char *s, size_t len, unsigned flags, char *out,
    size_t out_size, enum edge_cmd_err *why);

/*
 * edge_cmd_reply - the SMTP reply for a refusal, with enhanced status code
 * and without CRLF, e.g. "553 5.1.3 Bad recipient address syntax".
 * verb picks MAIL or RCPT wording where they differ. Returns a static
 * string; never NULL (EDGE_CMD_OK or an unknown value gives a 451 4.3.0
 * internal-fault reply, so a bug can never answer 250).
 */
const char *edge_cmd_reply(enum edge_cmd_err err, enum edge_cmd_verb verb);

/* edge_cmd_verb_name - the verb in upper case ("MAIL"), static string */
const char *edge_cmd_verb_name(enum edge_cmd_verb verb);

/*
 * ---------------------------------------------------------------------
 * edge_data.c - DATA stream: end of data, dot-unstuffing, bare newlines
 * ---------------------------------------------------------------------
 */

#define EDGE_DATA_LINE_MAX_DEFAULT 65536 /* bytes per line incl. CRLF */
#define EDGE_DATA_LINE_MAX_MIN 3         /* parser floor: ".\r\n" */

enum edge_data_mode {
	EDGE_DATA_STRICT = 0,    /* bare_newline = reject (default) */
	EDGE_DATA_NORMALIZE = 1, /* bare_newline = normalize: re-frame */
};

enum edge_data_kind {
	EDGE_DATA_WIRE = 0,    /* bytes to write downstream, in order */
	EDGE_DATA_CONTENT = 1, /* unstuffed message for the filters */
};

enum edge_data_err {
	EDGE_DATA_OK = 0,
	EDGE_DATA_E_BARE_NEWLINE,  /* bare CR or LF (strict mode) */
	EDGE_DATA_E_NUL,           /* NUL byte in the message */
	EDGE_DATA_E_LINE_TOO_LONG, /* a line over line_max */
	EDGE_DATA_E_TOO_BIG,       /* content over size_max */
};

/*
 * edge_data_fn - receives output. kind says which stream; p, len are
 * borrowed for the call only (a segment of the fed chunk or a constant).
 * Called in stream order; never with len == 0.
 */
typedef void (*edge_data_fn)(
    void *arg, enum edge_data_kind kind, const char *p, size_t len);

struct edge_data_cfg {
	enum edge_data_mode mode; /* what a bare CR or LF does */
	size_t line_max;          /* hard cap, content line + CRLF, bytes */
	uint64_t size_max;        /* cap on content bytes (UINT64_MAX: none) */
};

/*
 * One message's DATA phase. Fields below "results" may be read by the
 * caller at any time; the others are private to edge_data.c.
 */
struct edge_data {
	struct edge_data_cfg cfg; /* copied at init */
	edge_data_fn fn;          /* output callback */
	void *fn_arg;             /* its first argument */
	int st;                   /* scanner state (edge_data.c) */
	int is_bol_crlf;          /* this line follows CRLF or the start */
	size_t line_len;          /* content bytes of the current line */
	/* results */
	int is_done;            /* the end of data was seen */
	enum edge_data_err err; /* first error, sticky; OK if none */
	uint64_t raw_bytes;     /* input consumed, final ".\r\n" included */
	uint64_t content_bytes; /* CONTENT bytes emitted */
	uint64_t wire_bytes;    /* WIRE bytes emitted */
	uint64_t lines;         /* lines emitted */
	size_t line_len_max;    /* longest line emitted, incl. CRLF */
	uint64_t bare_newlines; /* bare CR/LF seen (normalize: re-framed) */
};

/*
 * edge_data_init - start a message. cfg is copied; fn(arg, ...) receives
 * the output. Returns 0 or MX_EINVAL (fn NULL, mode unknown, line_max
 * below EDGE_DATA_LINE_MAX_MIN). Pure: no allocation, no _fini needed.
 */
int edge_data_init(struct edge_data *d, const struct edge_data_cfg *cfg,
    edge_data_fn fn, void *arg);

/*
 * edge_data_feed - push the sender's bytes (after "354") through the
 * scanner. Chunks may be split anywhere; at most two ambiguous bytes
 * ("\r", ".", ".\r") are held back between calls.
 * Output, through the callback, before this returns:
 *   WIRE: strict mode: the sender's bytes unchanged (zero copy), minus
 *     the final ".\r\n". Normalize mode: the same, except that a bare CR
 *     or LF becomes CRLF and a lone "." line that is not the end becomes
 *     "..", so the destination reads exactly the lines parsed here.
 *   CONTENT: the message as the filters see it: dot-unstuffed, every line
 *     ending in CRLF, final ".\r\n" excluded.
 * The end of data is "\r\n.\r\n", or ".\r\n" as the first line, in both
 * modes; nothing else. *used is set to the bytes consumed: len, or fewer
 * when the end was seen inside p (the rest, e.g. pipelined commands,
 * belongs to the command reader).
 * Errors are not returned: the first one is stored in d->err, after which
 * no WIRE or CONTENT byte is emitted for the rest of this message (the
 * WIRE output stops before the offending byte), but scanning goes on to
 * the real end so the session stays in sync. The session may abort the
 * downstream transfer as soon as d->err is set and answers
 * edge_data_reply(d->err) once d->is_done.
 * Returns 0, or MX_ESTATE when called after the end was seen.
 * Pure; one thread per struct edge_data.
 */
int edge_data_feed(
    struct edge_data *d, const char *p, size_t len, size_t *used);

/*
 * edge_data_reply - the reply for a DATA error, without CRLF:
 *   BARE_NEWLINE  "550 5.6.11 bare newline in message"
 *   NUL           "550 5.6.0 NUL byte in message"
 *   LINE_TOO_LONG "550 5.6.0 Message line too long"
 *   TOO_BIG       "552 5.3.4 Message size exceeds fixed limit"
 * Static string; EDGE_DATA_OK or an unknown value gives 451 4.3.0.
 */
const char *edge_data_reply(enum edge_data_err err);

/*
 * edge_data_strerror - a short stable token for logs and counters
 * ("bare_newline", "nul", "line_too_long", "too_big", "ok").
 */
const char *edge_data_strerror(enum edge_data_err err);

/*
 * ---------------------------------------------------------------------
 * edge_proxy.c - PROXY protocol v1 (text) and v2 (binary) headers
 * ---------------------------------------------------------------------
 */

#define EDGE_PROXY_V1_MAX 107 /* v1 line incl. CRLF (spec 2.1) */
#define EDGE_PROXY_V2_MAX 536 /* v2 header incl. 16-byte fixed part */
#define EDGE_PROXY_V2_HDR 16  /* v2 fixed part */

enum edge_proxy_sig {
	EDGE_PROXY_SIG_NONE = 0, /* not a PROXY header */
	EDGE_PROXY_SIG_PARTIAL,  /* a prefix of one: need more bytes */
	EDGE_PROXY_SIG_V1,       /* starts with "PROXY " */
	EDGE_PROXY_SIG_V2,       /* starts with the 12-byte v2 signature */
};

struct edge_proxy_hdr {
	int version;                 /* 1 or 2 */
	int is_local;                /* no addresses: use the socket's own */
	struct sockaddr_storage src; /* client; AF_UNSPEC when is_local */
	struct sockaddr_storage dst; /* address it connected to */
	size_t consumed;             /* header bytes to drop from the input */
};

/*
 * edge_proxy_detect - does p[0..len) start like a PROXY header? Used on
 * listeners not configured for PROXY to refuse one as a protocol error,
 * and by edge_proxy_parse. len 0 gives EDGE_PROXY_SIG_PARTIAL. Pure.
 */
enum edge_proxy_sig edge_proxy_detect(const uint8_t *p, size_t len);

/*
 * edge_proxy_parse - parse a PROXY v1 or v2 header at the start of the
 * bytes buffered on a new connection. Never blocks, never reads past len.
 * v1: "PROXY TCP4|TCP6 src dst sport dport\r\n" (single spaces, strict
 *   decimal ports without leading zeros, addresses checked by inet_pton)
 *   or "PROXY UNKNOWN...\r\n" (is_local), at most EDGE_PROXY_V1_MAX.
 * v2: version 2, LOCAL (is_local) or PROXY over TCP/IPv4 or TCP/IPv6;
 *   AF_UNSPEC and AF_UNIX give is_local; declared length at most
 *   EDGE_PROXY_V2_MAX - 16; TLVs are walked for structure and skipped.
 * out is filled on success only; out->consumed bytes are the header.
 * Returns 0; MX_ETRUNC when p is a valid prefix and more bytes are needed;
 * MX_EPROTO when the bytes are not a valid header (or too long).
 * Pure: any thread.
 */
int edge_proxy_parse(const uint8_t *p, size_t len, struct edge_proxy_hdr *out);

#define EDGE_PROXY_TRUST_MAX 64    /* proxy_trusted entries */
#define EDGE_PROXY_NET_TEXT_MAX 49 /* longest entry: IPv6 text + "/128" */

/* a source allowed to send a PROXY header: one address or a CIDR block */
struct edge_proxy_net {
	int family;       /* AF_INET or AF_INET6 */
	unsigned plen;    /* prefix length: 0..32 (IPv4) or 0..128 (IPv6) */
	uint8_t addr[16]; /* the network, host bits zero (IPv4: 4 bytes) */
};

/*
 * edge_proxy_net_parse - one proxy_trusted entry, "ADDR" or "ADDR/PLEN"
 * (p, len bytes, no blanks), into *out. ADDR is IPv4 or IPv6 text (an
 * address alone is a /32 or /128); PLEN is decimal without sign or
 * leading zero, at most 32 or 128. The bits past PLEN must be zero
 * ("10.0.0.1/8" is refused: it is a typo for /32 or for 10.0.0.0/8), and
 * an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is refused, so that an
 * IPv4 client is matched by IPv4 entries only. out is set on success
 * only; on failure err (errlen bytes) says why. Returns 0 or MX_EINVAL.
 * Pure: any thread.
 */
int edge_proxy_net_parse(const char *p, size_t len, struct edge_proxy_net *out,
    char *err, size_t errlen);

/*
 * edge_proxy_trusted - is the connecting address sa (AF_INET or AF_INET6;
 * an IPv4-mapped IPv6 address counts as IPv4) inside one of the n nets?
 * Returns 1 or 0 (any other family: 0). Pure: any thread.
 */
int edge_proxy_trusted(
    const struct edge_proxy_net *nets, size_t n, const struct sockaddr *sa);

/*
 * ---------------------------------------------------------------------
 * edge_geo.c - country and AS lookups from MaxMind databases, and the
 * geo_policy rules (pure of session code; docs/geo.md)
 * ---------------------------------------------------------------------
 */

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

#endif /* EDGE_H */
