/*
 * proto_content_int.h - internals of the content analyser
 *
 * Shared by proto_content.c (API, part pipeline, events), proto_mime.c
 * (headers and MIME tree), proto_decode.c (transfer encodings, charsets,
 * RFC 2047), proto_html.c (HTML to text), proto_text.c (normalisation and
 * shingles), proto_fp.c (min-hash), proto_url.c (URL hosts) and
 * proto_attach.c (attachment types). Outside proto/ only the unit tests
 * and fuzz targets of these stages include it.
 * Trust: every stage takes hostile bytes as (pointer, length) and writes
 * only into fixed arrays of the state, each write checked against the
 * array size stated here; all of them fit in PROTO_CONTENT_MEM_MAX.
 */
#ifndef PROTO_CONTENT_INT_H
#define PROTO_CONTENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "lib/mx_buf.h"
#include "proto/proto_content.h"

/* ---- proto_decode.c: base64, quoted-printable, charsets, RFC 2047 ---- */

#define PROTO_QP_WS_MAX 8 /* trailing blanks held by the QP decoder */
#define PROTO_QP_SLACK 16 /* QP output room beyond twice the input */
#define PROTO_CS_SLACK 16 /* charset output room beyond 3 x input */

struct proto_b64 {
	uint32_t acc;   /* sextets of the current quantum */
	uint8_t n;      /* sextets in acc, 0..3 */
	uint8_t is_bad; /* junk bytes or a stray sextet seen */
};

struct proto_qp {
	uint8_t st;                  /* PROTO_QP_* state */
	uint8_t is_cr;               /* a CR waits for its LF */
	uint8_t hex;                 /* first hex digit after '=' (as read) */
	uint8_t nws;                 /* blanks held in ws */
	uint8_t ws[PROTO_QP_WS_MAX]; /* blanks that may end a line */
};

enum proto_cs_id {
	PROTO_CS_AUTO = 0, /* UTF-8 where valid, else Windows-1252 */
	PROTO_CS_UTF8,     /* invalid sequences become U+FFFD */
	PROTO_CS_ASCII,    /* 8-bit bytes become U+FFFD */
	PROTO_CS_CP1252,   /* Windows-1252; also ISO-8859-1 (WHATWG) */
	PROTO_CS_LATIN9,   /* ISO-8859-15 */
};

struct proto_cs {
	uint8_t id;     /* enum proto_cs_id */
	uint8_t need;   /* UTF-8 continuation bytes still expected */
	uint8_t have;   /* bytes held in seq */
	uint8_t lo, hi; /* allowed range of the next continuation byte */
	uint8_t seq[4]; /* bytes of the sequence being read */
};

/* proto_decode_b64_init - empty decoder state */
void proto_decode_b64_init(struct proto_b64 *s);
/* proto_decode_b64 - decode in[0..len) into out (room len + 3); bytes out */
size_t proto_decode_b64(
    struct proto_b64 *s, const uint8_t *in, size_t len, uint8_t *out);
/* proto_decode_b64_end - flush a partial quantum into out (room 3) */
size_t proto_decode_b64_end(struct proto_b64 *s, uint8_t *out);
/*
 * proto_decode_b64_encode - base64 of in[0..len) (no line breaks) into
 * out; returns the length, or 0 when cap is too small (tests, fuzzing).
 */
size_t proto_decode_b64_encode(
    const uint8_t *in, size_t len, char *out, size_t cap);
/* proto_decode_qp_init - empty decoder state */
void proto_decode_qp_init(struct proto_qp *s);
/*
 * proto_decode_qp - decode into out (room 2 x len + PROTO_QP_SLACK: a bare
 * LF line end becomes CRLF)
 */
size_t proto_decode_qp(
    struct proto_qp *s, const uint8_t *in, size_t len, uint8_t *out);
/* proto_decode_qp_end - flush held bytes (room PROTO_QP_SLACK) */
size_t proto_decode_qp_end(struct proto_qp *s, uint8_t *out);
/* proto_decode_cs_lookup - enum proto_cs_id for a charset label */
int proto_decode_cs_lookup(const uint8_t *name, size_t len);
/* proto_decode_cs_init - converter for a charset */
void proto_decode_cs_init(struct proto_cs *s, int id);
/* proto_decode_cs - to UTF-8 into out (room 3 x len + PROTO_CS_SLACK) */
size_t proto_decode_cs(
    struct proto_cs *s, const uint8_t *in, size_t len, uint8_t *out);
/* proto_decode_cs_end - flush a cut sequence (room PROTO_CS_SLACK) */
size_t proto_decode_cs_end(struct proto_cs *s, uint8_t *out);
/*
 * proto_decode_words - header text with RFC 2047 encoded words to UTF-8
 * into out (at most cap bytes, cut on a character boundary; *is_cut set
 * when cut). Control characters become spaces. Returns the length.
 */
size_t proto_decode_words(
    const uint8_t *in, size_t len, char *out, size_t cap, int *is_cut);
/* proto_decode_utf8_put - code point as UTF-8 into out (4 bytes room) */
size_t proto_decode_utf8_put(uint32_t cp, uint8_t *out);

/* ---- proto_html.c: streaming HTML to text ---- */

#define PROTO_HTML_NAME_MAX 16  /* tag and attribute name bytes kept */
#define PROTO_HTML_ENT_MAX 32   /* entity name bytes kept */
#define PROTO_HTML_VAL_MAX 1024 /* URL attribute bytes kept */

/* what a captured attribute value is */
#define PROTO_HTML_URL 1  /* href, src, action...: a URL reference */
#define PROTO_HTML_SCAN 2 /* meta content: text that may hold URLs */

struct proto_html_sink {
	void (*text)(void *arg, const uint8_t *p, size_t n); /* visible */
	/* a captured value, kind PROTO_HTML_URL or PROTO_HTML_SCAN */
	void (*attr)(void *arg, int kind, const uint8_t *p, size_t n);
	void *arg; /* passed to both */
};

struct proto_html {
	uint8_t st;       /* PROTO_HS_* state */
	uint8_t ent_ret;  /* state to resume after an entity */
	uint8_t tag_len;  /* bytes in tag */
	uint8_t attr_len; /* bytes in attr */
	uint8_t ent_len;  /* bytes in ent */
	uint8_t is_end;   /* end tag (</x>) */
	uint8_t raw;      /* inside script (1) or style (2) */
	uint8_t raw_pos;  /* bytes of "</script" matched */
	uint8_t quote;    /* quote closing the attribute value, or 0 */
	uint8_t capture;  /* PROTO_HTML_URL/SCAN: keep this value */
	uint8_t dashes;   /* '-' seen in a row inside a comment */
	uint8_t is_meta;  /* the tag is <meta> */
	uint16_t val_len; /* bytes in val */
	char tag[PROTO_HTML_NAME_MAX];   /* tag name, lower case */
	char attr[PROTO_HTML_NAME_MAX];  /* attribute name, lower case */
	char ent[PROTO_HTML_ENT_MAX];    /* reference body after '&' */
	uint8_t val[PROTO_HTML_VAL_MAX]; /* captured attribute value */
};

/* proto_html_init - converter at the start of a document */
void proto_html_init(struct proto_html *h);
/* proto_html_feed - UTF-8 HTML in; text and attributes out through o */
void proto_html_feed(struct proto_html *h, const uint8_t *p, size_t n,
    const struct proto_html_sink *o);
/* proto_html_end - end of document: flush a pending entity */
void proto_html_end(struct proto_html *h, const struct proto_html_sink *o);

/* ---- proto_url.c: URL hosts from text and attributes ---- */

#define PROTO_URL_AUTH_MAX 320 /* authority bytes kept from text */

/* a host found: lower-case A-label domain or IP text */
typedef void (*proto_url_fn)(
    void *arg, const char *host, size_t len, int ip, int is_href);

struct proto_url_scan {
	uint64_t tail; /* last 8 bytes, ASCII lower-cased */
	uint8_t st;    /* 0 text, 1 authority, 2 skip to its end */
	uint16_t n;    /* bytes in buf */
	uint8_t buf[PROTO_URL_AUTH_MAX]; /* authority being collected */
};

/* proto_url_scan_init - scanner at the start of a text */
void proto_url_scan_init(struct proto_url_scan *s);
/* proto_url_scan - find http(s)/ftp:// and www. URLs in UTF-8 text */
void proto_url_scan(struct proto_url_scan *s, const uint8_t *p, size_t n,
    proto_url_fn fn, void *arg);
/* proto_url_scan_end - end of text: report a URL still open */
void proto_url_scan_end(struct proto_url_scan *s, proto_url_fn fn, void *arg);
/*
 * proto_url_host - normalise a URL authority (userinfo, port, percent
 * escapes, IDN, IP forms) into host (PROTO_DOMAIN_MAX + 1 bytes, NUL-ended)
 * Returns 0 (sets *len, *ip = 0, 4 or 6) or MX_EINVAL.
 */
int proto_url_host(
    const uint8_t *auth, size_t n, char *host, size_t *len, int *ip);
/* proto_url_href - host of an absolute or scheme-relative URL reference */
int proto_url_href(
    const uint8_t *v, size_t n, char *host, size_t *len, int *ip);
/*
 * proto_url_punycode - RFC 3492 encoding of n code points into out
 * (cap bytes); returns 0 and sets *outlen, or MX_ETOOBIG / MX_ERANGE.
 */
int proto_url_punycode(
    const uint32_t *cp, size_t n, char *out, size_t cap, size_t *outlen);

/* ---- proto_fp.c: one-permutation min-hash ---- */

struct proto_fp_acc {
	uint64_t bins[PROTO_FP_K]; /* minimum per bin; UINT64_MAX = empty */
	uint32_t shingles;         /* shingles added */
};

/* proto_fp_mix - splitmix64 finaliser: a well-spread hash of x */
uint64_t proto_fp_mix(uint64_t x);
/* proto_fp_acc_init - empty accumulator */
void proto_fp_acc_init(struct proto_fp_acc *a);
/* proto_fp_acc_add - add one shingle hash */
void proto_fp_acc_add(struct proto_fp_acc *a, uint64_t h);
/* proto_fp_final - densify, sign and cut into band keys */
void proto_fp_final(const struct proto_fp_acc *a, struct proto_fp *out);

/* ---- proto_text.c: normalisation, hash text, shingles ---- */

#define PROTO_TEXT_OUT 1024    /* normalised bytes staged for SHA-256 */
#define PROTO_TEXT_QUEUE 16    /* words held until their chunk ends */
#define PROTO_TEXT_WORD_MAX 40 /* longer words are dropped */

struct proto_text {
	EVP_MD_CTX *sha;          /* body digest (borrowed) */
	struct proto_fp_acc *acc; /* fingerprint bins (borrowed) */
	uint64_t bytes;           /* normalised bytes hashed */
	uint16_t out_len;         /* bytes in out */
	uint8_t is_ws;            /* a space is due before the next char */
	uint8_t is_started;       /* some text was hashed */
	uint8_t need;             /* UTF-8 continuation bytes expected */
	uint32_t cp;              /* code point being decoded */
	/* word */
	uint64_t wh;            /* FNV-1a of the folded word */
	uint16_t wlen;          /* code points in the word */
	uint8_t wdigit;         /* the word has a digit */
	uint8_t wflips;         /* case changes inside the word */
	uint8_t wupper, wlower; /* letters of each case (capped) */
	uint8_t wlastcase;      /* 0 none, 1 lower, 2 upper */
	/* chunk: a run of non-blank characters */
	uint8_t cwords; /* words begun in the chunk (capped) */
	uint8_t cat;    /* '@' after a word */
	uint8_t catdot; /* '.' after that '@' */
	uint8_t cemail; /* a word after that '.' */
	uint8_t cskip;  /* URL: ignore the rest of the chunk */
	uint8_t cfull;  /* queue overflowed: plain words */
	uint8_t cpos;   /* characters in the chunk (capped) */
	uint32_t chead; /* first 4 characters, ASCII */
	uint32_t clast; /* last 3 characters, ASCII */
	uint8_t nq;     /* words in queue */
	uint64_t queue[PROTO_TEXT_QUEUE]; /* word hashes of the chunk */
	/* shingles */
	uint8_t nw;                  /* words in the window, 0..2 */
	uint64_t w1, w2;             /* the two previous words */
	uint8_t out[PROTO_TEXT_OUT]; /* normalised bytes not yet digested */
};

/* proto_text_init - normaliser hashing into sha, shingling into acc */
void proto_text_init(
    struct proto_text *t, EVP_MD_CTX *sha, struct proto_fp_acc *acc);
/* proto_text_part_begin - a new text part: separate it, reset shingles */
void proto_text_part_begin(struct proto_text *t);
/* proto_text_feed - UTF-8 text in; 0 or MX_EIO (digest) */
int proto_text_feed(struct proto_text *t, const uint8_t *p, size_t n);
/* proto_text_part_end - end words and chunks of the part; 0 or MX_EIO */
int proto_text_part_end(struct proto_text *t);
/* proto_text_flush - hash the staged bytes; 0 or MX_EIO */
int proto_text_flush(struct proto_text *t);
/* proto_text_fold - case fold one code point (see docs/content.md) */
uint32_t proto_text_fold(uint32_t cp);

/* ---- proto_attach.c: attachment types ---- */

#define PROTO_ATTACH_HEAD 512  /* first bytes kept for magic numbers */
#define PROTO_ZIP_HDR 30       /* zip local file header, fixed part */
#define PROTO_ZIP_NAME_MAX 255 /* entry name bytes checked */
#define PROTO_OLE_PAT 24       /* "_VBA_PROJECT" in UTF-16LE */

struct proto_attach_st {
	struct proto_attach *a; /* the entry being filled */
	EVP_MD_CTX *sha;        /* attachment digest (borrowed) */
	uint64_t off;           /* decoded bytes so far */
	uint16_t head_len;      /* bytes in head */
	uint16_t zflags;        /* PROTO_AF_* found in zip entries */
	uint8_t is_ooxml;       /* zip has office entries */
	uint8_t is_vba;         /* "_VBA_PROJECT" seen (OLE2 macros) */
	uint8_t iso[5];         /* bytes at 0x8001 ("CD001" for ISO) */
	uint8_t zst;            /* zip scan: signature bytes matched, or 4 */
	uint16_t zlen;          /* bytes in zbuf */
	uint16_t zneed;         /* bytes zbuf must reach */
	uint8_t ncarry;         /* bytes in carry */
	uint8_t carry[PROTO_OLE_PAT]; /* last bytes, for a cut pattern */
	uint8_t zbuf[PROTO_ZIP_HDR + PROTO_ZIP_NAME_MAX]; /* zip header */
	uint8_t head[PROTO_ATTACH_HEAD]; /* first bytes, for magic */
};

/* proto_attach_begin - start an attachment into a (name already set) */
int proto_attach_begin(
    struct proto_attach_st *s, struct proto_attach *a, EVP_MD_CTX *sha);
/* proto_attach_feed - decoded bytes; 0 or MX_EIO */
int proto_attach_feed(struct proto_attach_st *s, const uint8_t *p, size_t n);
/* proto_attach_end - type, flags and digest into the entry; 0 or MX_EIO */
int proto_attach_end(struct proto_attach_st *s);
/* proto_attach_magic - type from the first n bytes of content */
int proto_attach_magic(const uint8_t *p, size_t n);
/* proto_attach_name_type - type implied by a name; sets PROTO_AF_* bits */
int proto_attach_name_type(const char *name, size_t n, uint16_t *flags);

/* ---- proto_mime.c and proto_content.c: the message ---- */

#define PROTO_MIME_LOOK_MAX 256 /* line start held to test for a boundary */
#define PROTO_MIME_HNAME_MAX 64 /* header name bytes (and blanks) kept */
#define PROTO_DEC_BUF 2048      /* transfer-decoded bytes per step */
#define PROTO_CS_IN 512         /* bytes converted per charset step */

/* content types that matter */
enum proto_ct {
	PROTO_CT_TEXT = 0, /* text/plain and unknown text */
	PROTO_CT_HTML,
	PROTO_CT_TEXT_OTHER, /* text/ other than plain and html */
	PROTO_CT_MULTI,
	PROTO_CT_MESSAGE, /* message/rfc822, message/global */
	PROTO_CT_OTHER,
};

enum proto_cte { PROTO_CTE_ID = 0, PROTO_CTE_B64, PROTO_CTE_QP };

/* what the current leaf's bytes feed */
enum proto_leaf {
	PROTO_LEAF_NONE = 0, /* skipped: past a limit */
	PROTO_LEAF_TEXT,     /* a text part: fingerprint, hash, URLs */
	PROTO_LEAF_PREAMBLE, /* kept as text unless a part follows */
	PROTO_LEAF_URLS,     /* epilogue: URLs only */
	PROTO_LEAF_ATTACH,   /* attachment */
};

struct proto_mime_frame {
	uint8_t blen;      /* bytes in b */
	uint8_t depth;     /* nesting depth of the multipart */
	uint8_t has_part;  /* first boundary seen */
	uint8_t is_digest; /* multipart/digest: parts default to rfc822 */
	char b[PROTO_MIME_BOUNDARY_MAX]; /* the boundary, no "--" */
};

/* what a part's headers said */
struct proto_part_info {
	uint8_t ct;          /* enum proto_ct */
	uint8_t has_ct;      /* Content-Type seen (the first one counts) */
	uint8_t has_cte;     /* Content-Transfer-Encoding seen */
	uint8_t has_cd;      /* Content-Disposition seen */
	uint8_t is_digest;   /* multipart/digest */
	uint8_t cte;         /* enum proto_cte */
	uint8_t cs;          /* enum proto_cs_id */
	uint8_t is_attach;   /* Content-Disposition: attachment */
	uint8_t blen;        /* bytes in boundary; 0 = none */
	uint8_t is_bad_b;    /* boundary parameter unusable */
	uint8_t name_rank;   /* where name came from: 0 none .. 4 filename* */
	uint8_t is_name_cut; /* name passed PROTO_ATTACH_NAME_MAX */
	uint16_t name_len;   /* bytes in name */
	char boundary[PROTO_MIME_BOUNDARY_MAX]; /* multipart boundary */
	char name[PROTO_ATTACH_NAME_MAX + 1];   /* file name, UTF-8 */
};

/* a checkpoint of the text state taken before a preamble */
struct proto_text_ckpt {
	uint64_t bytes;                      /* proto_text bytes */
	uint8_t is_ws, is_started, is_plain; /* text and content flags */
	uint32_t text_parts;                 /* result text_parts */
	struct proto_fp_acc acc;             /* fingerprint bins */
};

struct proto_content {
	proto_content_fn fn;  /* output callback, or NULL */
	void *arg;            /* its argument */
	EVP_MD *md;           /* SHA-256, fetched once */
	EVP_MD_CTX *sha_body; /* normalised text */
	EVP_MD_CTX *sha_ckpt; /* body digest before a preamble */
	EVP_MD_CTX *sha_att;  /* current attachment */
	int err;              /* sticky internal fault (MX_EIO) */
	uint8_t is_done;      /* finish was called */
	uint8_t is_lite;      /* structure only: text is no longer read */
	uint8_t in_body;      /* 0: in a header block, 1: in a body */
	uint8_t is_cr;        /* a CR ended the last chunk */
	/* header block */
	uint8_t hst;       /* PROTO_H_* line state */
	uint8_t hid;       /* PROTO_HDR_* of the header being read */
	uint8_t hname_len; /* name bytes in hname (blanks excluded) */
	uint8_t hraw_len;  /* bytes in hname, blanks included */
	uint8_t is_top;    /* the top-level header block */
	uint8_t is_first;  /* on the first line of the block */
	uint8_t is_hcut;   /* current header value passed the cap */
	uint8_t depth;     /* depth of the part being read */
	char hname[PROTO_MIME_HNAME_MAX]; /* header name (and blanks) */
	struct mx_buf hval;        /* unfolded value of an interesting header */
	struct proto_part_info pi; /* the part being read */
	/* body lines */
	uint8_t bst;        /* PROTO_B_* line state */
	uint8_t is_eol;     /* a line end is due before the next line */
	struct mx_buf look; /* start of a line that may be a boundary */
	uint8_t nframes;    /* open multiparts */
	struct proto_mime_frame frames[PROTO_MIME_DEPTH_MAX]; /* stack */
	/* leaf pipeline */
	uint8_t leaf;                /* enum proto_leaf */
	uint8_t cte;                 /* enum proto_cte of the leaf */
	uint8_t is_html;             /* leaf text is HTML */
	uint8_t is_urls;             /* attachment text scanned for URLs */
	uint8_t has_ckpt;            /* a preamble checkpoint is held */
	uint8_t is_plain;            /* a plain text part was seen */
	uint8_t is_htmlpart;         /* an HTML text part was seen */
	struct proto_b64 b64;        /* leaf base64 decoder */
	struct proto_qp qp;          /* leaf quoted-printable decoder */
	struct proto_cs cs;          /* leaf charset converter */
	struct proto_html html;      /* leaf HTML converter */
	struct proto_url_scan scan;  /* leaf URL scanner */
	struct proto_text text;      /* normaliser of all text parts */
	struct proto_fp_acc acc;     /* fingerprint bins */
	struct proto_text_ckpt ckpt; /* text state before a preamble */
	struct proto_attach_st att;  /* attachment scans */
	struct proto_attach cur;     /* attachment being read */
	uint8_t dec[PROTO_DEC_BUF + PROTO_QP_SLACK];     /* decoded bytes */
	uint8_t csout[3 * PROTO_CS_IN + PROTO_CS_SLACK]; /* UTF-8 bytes */
	struct proto_content_result res;                 /* the outputs */
};

/* proto_mime_init - message start: top-level header block */
void proto_mime_init(struct proto_content *c);
/* proto_mime_feed - message bytes through the header and body machines */
void proto_mime_feed(struct proto_content *c, const uint8_t *p, size_t n);
/* proto_mime_finish - end of input: close the line, the parts, frames */
void proto_mime_finish(struct proto_content *c);

/* proto_content_part_begin - headers done: start the leaf for pi */
void proto_content_part_begin(struct proto_content *c, int leaf);
/* proto_content_leaf - bytes of the current leaf (before decoding) */
void proto_content_leaf(struct proto_content *c, const uint8_t *p, size_t n);
/* proto_content_leaf_end - the current leaf ends */
void proto_content_leaf_end(struct proto_content *c);
/* proto_content_preamble - keep (commit) or drop a preamble's text */
void proto_content_preamble(struct proto_content *c, int is_kept);
/* proto_content_headers_done - top-level headers known: fire the event */
void proto_content_headers_done(struct proto_content *c);

#endif /* PROTO_CONTENT_INT_H */
