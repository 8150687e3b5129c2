/*
 * proto_content.h - streaming content analysis of one message
 *
 * The content layer that mxedge runs in-stream and mxctl runs on a sample
 * file must compute the same outputs bit for bit (DESIGN section 8), so it
 * lives here. One analyser takes the unstuffed message bytes in chunks
 * split anywhere, walks the MIME tree, decodes base64 and quoted-printable,
 * folds charsets to UTF-8, turns HTML into text, normalises the text and
 * produces: the top-level Subject, From and Message-ID; a near-duplicate
 * fingerprint (min-hash bands, looked up as PROTO_KIND_FP records); the
 * SHA-256 of the normalised body and of each attachment (PROTO_KIND_HASH);
 * the host of every URL (PROTO_KIND_DOMAIN or PROTO_KIND_IP); attachment
 * names and types detected by magic bytes; structural flags. An optional
 * callback sees each output as soon as it is known. docs/content.md gives
 * the pipeline, the fingerprint scheme and the key formats.
 * Trust: every input byte is hostile. Limits: the state of one message is
 * at most PROTO_CONTENT_MEM_MAX bytes whatever its size (no part, line or
 * header is ever buffered whole); MIME nesting PROTO_MIME_DEPTH_MAX, parts
 * PROTO_MIME_PARTS_MAX, header value PROTO_CONTENT_HDR_MAX bytes, URL hosts
 * PROTO_EV_URLS_MAX, attachments PROTO_EV_ATTACH_MAX. Past a limit the
 * analyser sets a flag and goes on; malformed input is never an error.
 * Pure: no I/O, no logging, no global state; one analyser per thread.
 */
#ifndef PROTO_CONTENT_H
#define PROTO_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto_record.h"

/* limits */
#define PROTO_CONTENT_HDR_MAX 4096  /* bytes of one unfolded header kept */
#define PROTO_MIME_BOUNDARY_MAX 128 /* longest boundary (RFC 2046: 70) */
#define PROTO_MIME_DEPTH_MAX 16     /* multipart + message/rfc822 levels */
#define PROTO_MIME_PARTS_MAX 1000   /* parts analysed per message */
#define PROTO_EV_URLS_MAX 64        /* distinct URL hosts kept */
#define PROTO_EV_ATTACH_MAX 16      /* attachments kept in the result */
#define PROTO_EV_SUBJECT_MAX 255    /* bytes of decoded Subject (UTF-8) */
#define PROTO_EV_NAME_MAX 127       /* bytes of decoded From display name */
#define PROTO_EV_ADDR_MAX 254       /* bytes of the From address */
#define PROTO_EV_MSGID_MAX 255      /* bytes of Message-ID, no brackets */
#define PROTO_ATTACH_NAME_MAX 255   /* bytes of a decoded file name */

/* the whole per-message state, result included: see proto_content_mem */
#define PROTO_CONTENT_MEM_MAX (48 * 1024)

/*
 * Fingerprint: one-permutation min-hash of 3-word shingles over the
 * normalised, depersonalised text, PROTO_FP_K bins, cut into
 * PROTO_FP_BANDS bands of PROTO_FP_ROWS bins. Each band gives a store key
 * of PROTO_FP_KEY_LEN bytes: [PROTO_FP_VERSION][band index][8-byte band
 * hash]. An edge finds candidates by exact gets of the band keys: two
 * messages of Jaccard similarity s share one with probability
 * 1 - (1 - s^ROWS)^BANDS (s = 0.5: 0.87, s = 0.6: 0.98, s = 0.3: 0.23).
 * A candidate is a near-duplicate when the similarity, counted on the
 * compact signature (PROTO_FP_SIG_LEN bytes, carried in the fp record's
 * data), is at least PROTO_FP_SIM_MIN of PROTO_FP_K bins.
 */
#define PROTO_FP_VERSION 1
#define PROTO_FP_SHINGLE 3          /* words per shingle */
#define PROTO_FP_K 128              /* min-hash bins */
#define PROTO_FP_BANDS 32           /* LSH bands (store keys) */
#define PROTO_FP_ROWS 4             /* bins per band */
#define PROTO_FP_KEY_LEN 10         /* bytes of one band key */
#define PROTO_FP_MIN_BINS 12        /* non-empty bins for a valid fingerprint */
#define PROTO_FP_SIM_MIN 64         /* similar: >= 64 of 128 bins equal (0.5) */
#define PROTO_FP_SIG_LEN PROTO_FP_K /* compact signature: a byte a bin */
#define PROTO_HASH_KEY_LEN 33       /* PROTO_KIND_HASH key: type + SHA-256 */
struct proto_fp {
	uint8_t is_valid;         /* enough text: sig and keys are meaningful */
	uint16_t bins_filled;     /* non-empty bins before densification */
	uint32_t shingles;        /* shingles hashed */
	uint32_t sig[PROTO_FP_K]; /* densified minimum per bin, low 32 bits */
	uint8_t keys[PROTO_FP_BANDS][PROTO_FP_KEY_LEN]; /* band store keys */
};

/* attachment types, detected from content (magic bytes) or from a name */
enum proto_atype {
	PROTO_AT_NONE = 0, /* unknown content, or no file name extension */
	PROTO_AT_TEXT,     /* plain text, csv, eml: no magic to check */
	PROTO_AT_HTML,     /* HTML document */
	PROTO_AT_PE,       /* Windows PE / DOS executable ("MZ") */
	PROTO_AT_ELF,      /* ELF executable */
	PROTO_AT_MACHO,    /* Mach-O, fat Mach-O or Java class */
	PROTO_AT_EXE,      /* executable by name only (.exe, .scr, .com...) */
	PROTO_AT_SCRIPT,   /* shebang, or .js .vbs .ps1 .bat .cmd .hta .wsf */
	PROTO_AT_LNK,      /* Windows shortcut */
	PROTO_AT_ZIP,      /* zip (not office) */
	PROTO_AT_RAR,
	PROTO_AT_7Z,
	PROTO_AT_GZIP,  /* gzip, bzip2, xz */
	PROTO_AT_ISO,   /* ISO 9660 image */
	PROTO_AT_CAB,   /* Microsoft cabinet */
	PROTO_AT_OLE2,  /* OLE2 compound file: .doc .xls .ppt .msi */
	PROTO_AT_OOXML, /* zip holding an Office Open XML document */
	PROTO_AT_RTF,
	PROTO_AT_PDF,
	PROTO_AT_IMAGE, /* PNG, JPEG, GIF, BMP */
	PROTO_AT_OTHER, /* a name extension we do not classify */
};
#define PROTO_AT_MAX PROTO_AT_OTHER

/* attachment flags */
#define PROTO_AF_EXEC 0x0001u       /* executable by content or name */
#define PROTO_AF_SCRIPT 0x0002u     /* script by content or name */
#define PROTO_AF_ARCHIVE 0x0004u    /* archive or disk image */
#define PROTO_AF_MACRO 0x0008u      /* VBA project, or macro-enabled name */
#define PROTO_AF_MISMATCH 0x0010u   /* name and content disagree */
#define PROTO_AF_DOUBLE_EXT 0x0020u /* "invoice.pdf.exe" */
#define PROTO_AF_RLO 0x0040u        /* right-to-left override in name */
#define PROTO_AF_ARCH_EXEC 0x0080u  /* archive entry named as executable */
#define PROTO_AF_ENCRYPTED 0x0100u  /* encrypted zip entry */
#define PROTO_AF_NAME_CUT 0x0200u   /* name truncated to the cap */

struct proto_attach {
	char name[PROTO_ATTACH_NAME_MAX + 1]; /* decoded UTF-8, NUL-ended */
	uint16_t name_len;  /* bytes in name; 0 = no name given */
	uint8_t type;       /* enum proto_atype from content */
	uint8_t name_type;  /* enum proto_atype from the name's extension */
	uint16_t flags;     /* PROTO_AF_* */
	uint16_t index;     /* attachment number in the message, from 0 */
	uint64_t size;      /* decoded bytes */
	uint8_t sha256[32]; /* SHA-256 of the decoded bytes */
};

struct proto_url {
	char host[PROTO_DOMAIN_MAX +
	          1];     /* lower-case A-label or IP, NUL-ended */
	uint8_t host_len; /* bytes in host */
	uint8_t ip;       /* 0 domain, 4 IPv4 dotted quad, 6 IPv6 text */
	uint8_t is_href;  /* first seen in an HTML attribute */
};

/* message flags */
#define PROTO_CF_MIME_BROKEN 0x00001u      /* any structural defect below */
#define PROTO_CF_UNCLOSED 0x00002u         /* a multipart never closed */
#define PROTO_CF_BOUNDARY_UNSEEN 0x00004u  /* multipart with no part */
#define PROTO_CF_HDR_BROKEN 0x00008u       /* non-header line in a header */
#define PROTO_CF_TOO_MANY_PARTS 0x00010u   /* PROTO_MIME_PARTS_MAX passed */
#define PROTO_CF_TOO_DEEP 0x00020u         /* PROTO_MIME_DEPTH_MAX passed */
#define PROTO_CF_HDR_TRUNCATED 0x00040u    /* a header passed the cap */
#define PROTO_CF_BAD_B64 0x00080u          /* base64 with junk or stray bits */
#define PROTO_CF_HTML_ONLY 0x00100u        /* HTML text and no plain text */
#define PROTO_CF_HAS_EXEC 0x00200u         /* an attachment is executable */
#define PROTO_CF_HAS_SCRIPT 0x00400u       /* an attachment is a script */
#define PROTO_CF_HAS_MACRO 0x00800u        /* an office macro */
#define PROTO_CF_HAS_ARCHIVE 0x01000u      /* an archive or disk image */
#define PROTO_CF_NAME_MISMATCH 0x02000u    /* some name/content disagree */
#define PROTO_CF_URLS_TRUNCATED 0x04000u   /* more hosts than the cap */
#define PROTO_CF_ATTACH_TRUNCATED 0x08000u /* more attachments than kept */
#define PROTO_CF_BAD_BOUNDARY 0x10000u     /* multipart boundary unusable */
#define PROTO_CF_LITE 0x20000u /* text skipped from some point on (lite) */

struct proto_content_result {
	char subject[PROTO_EV_SUBJECT_MAX + 1];  /* decoded, UTF-8, NUL-ended */
	char from_name[PROTO_EV_NAME_MAX + 1];   /* display name, UTF-8 */
	char from_addr[PROTO_EV_ADDR_MAX + 1];   /* addr-spec as written */
	char message_id[PROTO_EV_MSGID_MAX + 1]; /* without < > */
	uint16_t subject_len, from_name_len;     /* bytes in each string */
	uint16_t from_addr_len, message_id_len;  /* bytes in each string */
	uint16_t received;       /* Received: headers at top level */
	uint16_t max_depth;      /* deepest nesting reached */
	uint32_t flags;          /* PROTO_CF_* */
	uint32_t parts;          /* MIME parts seen (the message is one) */
	uint32_t text_parts;     /* text parts in the fingerprint */
	uint64_t bytes;          /* message bytes fed */
	uint64_t text_bytes;     /* bytes of normalised text hashed */
	uint8_t has_body_hash;   /* text_bytes > 0 */
	uint8_t body_sha256[32]; /* SHA-256 of the normalised text */
	struct proto_fp fp;      /* near-duplicate fingerprint */
	uint16_t n_urls;         /* entries in urls */
	uint32_t urls_dropped;   /* distinct hosts past the cap */
	struct proto_url urls[PROTO_EV_URLS_MAX]; /* in order of appearance */
	uint16_t n_attach;                        /* entries in attach */
	uint32_t attach_total; /* attachments seen, kept or not */
	struct proto_attach attach[PROTO_EV_ATTACH_MAX]; /* the first ones */
};

enum proto_cev {
	PROTO_CEV_HEADERS = 1, /* top-level headers done: subject, from... */
	PROTO_CEV_URL = 2,     /* a new URL host: ev->url */
	PROTO_CEV_ATTACH = 3,  /* an attachment ended: ev->attach */
	PROTO_CEV_END = 4,     /* message done: fp, body hash, flags final */
};

struct proto_content_event {
	int kind;                          /* enum proto_cev */
	const struct proto_url *url;       /* PROTO_CEV_URL, else NULL */
	const struct proto_attach *attach; /* PROTO_CEV_ATTACH, else NULL */
	const struct proto_content_result *res; /* the result so far */
};

/*
 * proto_content_fn - output callback. Called from inside feed/finish on
 * the caller's thread; the pointers are valid only during the call. It
 * must not call back into the same analyser.
 */
typedef void (*proto_content_fn)(
    void *arg, const struct proto_content_event *ev);

struct proto_content;

/*
 * proto_content_new - an analyser ready for a first message
 * fn may be NULL. Returns 0 and sets *out (caller frees with
 * proto_content_free), or MX_EIO when OpenSSL cannot give a digest.
 */
int proto_content_new(
    proto_content_fn fn, void *arg, struct proto_content **out);
/* proto_content_free - release an analyser; NULL does nothing */
void proto_content_free(struct proto_content *c);
/*
 * proto_content_reset - forget the message, keep storage and callback,
 * ready for the next one. Returns 0 or MX_EIO (digest init failed).
 */
int proto_content_reset(struct proto_content *c);
/*
 * proto_content_bind - give a (pooled) analyser a new event callback;
 * fn may be NULL. Call before the first feed of a message.
 */
void proto_content_bind(
    struct proto_content *c, proto_content_fn fn, void *arg);
/*
 * proto_content_feed - push message bytes (CRLF or LF line ends, the
 * transparency dots already removed), split anywhere. Returns 0,
 * MX_ESTATE after finish, MX_EIO when a digest fails (internal fault).
 */
int proto_content_feed(struct proto_content *c, const void *p, size_t len);
/*
 * proto_content_finish - end of message: close open parts, compute the
 * fingerprint and body hash, fire PROTO_CEV_END. Returns 0, MX_ESTATE
 * when called twice, MX_EIO on a digest failure.
 */
int proto_content_finish(struct proto_content *c);

/*
 * proto_content_lite - from now on read the message's structure only:
 * the MIME tree, every attachment (type, names, archive entries, hash)
 * as before, but no text part is decoded, folded, fingerprinted or
 * scanned for URLs. For a caller whose time budget ran out: what an
 * attachment is can still be judged at a fraction of the cost. The
 * result then has no fingerprint and no body hash (the text is partial)
 * and carries PROTO_CF_LITE. Idempotent; proto_content_reset ends it.
 */
void proto_content_lite(struct proto_content *c);
/* proto_content_result - the result; borrowed, valid until reset/free */
const struct proto_content_result *proto_content_result(
    const struct proto_content *c);
/*
 * proto_content_mem - bytes of per-message state held now, result
 * included (the OpenSSL digest contexts, allocated once by
 * proto_content_new, are not counted); never more than
 * PROTO_CONTENT_MEM_MAX.
 */
size_t proto_content_mem(const struct proto_content *c);

/*
 * proto_content_analyze - one-shot: analyse msg[0..len) into *out
 * Returns 0 or MX_EIO. For tools and tests (mxctl).
 */
int proto_content_analyze(
    const void *msg, size_t len, struct proto_content_result *out);

/*
 * proto_fp_similarity - number of equal signature bins of a and b
 * (0..PROTO_FP_K); 0 when either is invalid.
 */
unsigned proto_fp_similarity(
    const struct proto_fp *a, const struct proto_fp *b);
/*
 * proto_fp_sig8 - the compact signature of fp (the low byte of each bin)
 * into out, for the data of the fp records a hub or mxctl publishes.
 */
void proto_fp_sig8(const struct proto_fp *fp, uint8_t out[PROTO_FP_SIG_LEN]);
/*
 * proto_fp_similarity8 - equal bins of fp and a compact signature; 0 when
 * fp is invalid or len is not PROTO_FP_SIG_LEN. Chance makes about
 * K(1 - s)/256 more bins equal than proto_fp_similarity counts.
 */
unsigned proto_fp_similarity8(
    const struct proto_fp *fp, const uint8_t *sig8, size_t len);
/* proto_fp_band_hit - 1 when a and b share a band key (a store hit) */
int proto_fp_band_hit(const struct proto_fp *a, const struct proto_fp *b);
/*
 * proto_fp_match - the near-duplicate test an edge applies: a shared band
 * key and a similarity of at least PROTO_FP_SIM_MIN.
 */
int proto_fp_match(const struct proto_fp *a, const struct proto_fp *b);

/*
 * proto_content_hash_key - the PROTO_KIND_HASH key for a digest:
 * [type][sha256], type PROTO_HASH_BODY or PROTO_HASH_ATTACH; writes
 * PROTO_HASH_KEY_LEN bytes to out.
 */
void proto_content_hash_key(
    int type, const uint8_t sha256[32], uint8_t out[PROTO_HASH_KEY_LEN]);

/* proto_atype_name - "pe", "zip", ... for an enum proto_atype; never NULL */
const char *proto_atype_name(int type);

#endif /* PROTO_CONTENT_H */
