/*
 * proto_content_corpus_test.c - the content analyser on 3,000 real mails
 *
 * Unpacks ../shared/corpus/spamassassin-dev.tgz (found from MX_SOURCE_DIR,
 * which ctest sets to the repository root; a missing corpus FAILS) into a
 * temporary directory under MX_TEST_TMP with tar, converts each message
 * to CRLF as it would arrive over SMTP and analyses every one of them.
 * Asserts: all 500 spam and 2,500 ham parse without an internal error;
 * the structural defects found are exactly the ones explained below; one
 * message in seven gives the same result when fed in random splits; the
 * outputs of eight messages checked by hand; a digest of every message's
 * body hash and fingerprint, pinned. Prints the near-duplicate
 * clusters among the spam and the false-match rate of ham against spam.
 * Trust: the corpus is real, hostile-shaped mail; paths come from the
 * environment and are checked before they reach the shell.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "lib/mx_err.h"
#include "proto/proto_content.h"

#define CC_SPAM 500
#define CC_HAM 2500
#define CC_PATH_MAX 4096

struct cc_msg {
	char name[32]; /* "spam-1/00001.eml" */
	uint8_t *data; /* CRLF message */
	size_t len;
	struct proto_content_result *res;
};

static struct cc_msg *cc_msgs;
static size_t cc_n;
static char cc_dir[CC_PATH_MAX];

/*
 * Explained defects. Multiparts never closed: the closing delimiter is
 * missing from these messages (checked: each has its opening delimiters
 * and no "--boundary--" line; spamware that stops after the last part).
 * spam-1/00467 declares boundary "=Multipart Boundary 0925021429" but its
 * delimiters read "--= Multipart Boundary...", so no part is ever seen and
 * the whole body is read as text. Base64 with junk: a mailing-list footer
 * appended to a base64 body (00260, 00313) and lines of non-base64
 * characters inside an image (00307).
 */
static const char *const cc_unclosed[] = {"spam-1/00022.eml",
    "spam-1/00023.eml", "spam-1/00038.eml", "spam-1/00039.eml",
    "spam-1/00074.eml", "spam-1/00078.eml", "spam-1/00087.eml",
    "spam-1/00092.eml", "spam-1/00095.eml", "spam-1/00115.eml",
    "spam-1/00128.eml", "spam-1/00135.eml", "spam-1/00180.eml",
    "spam-1/00187.eml", "spam-1/00198.eml", "spam-1/00206.eml",
    "spam-1/00219.eml", "spam-1/00241.eml", "spam-1/00275.eml",
    "spam-1/00299.eml", "spam-1/00303.eml", "spam-1/00339.eml",
    "spam-1/00340.eml", "spam-1/00370.eml", "spam-1/00440.eml",
    "spam-1/00467.eml", "spam-1/00472.eml"};
static const char *const cc_unseen[] = {"spam-1/00467.eml"};
static const char *const cc_bad_b64[] = {
    "spam-1/00260.eml", "spam-1/00307.eml", "spam-1/00313.eml"};

/* cc_path_ok - no byte the shell command could misread */
static int
cc_path_ok(const char *p)
{
	for (; *p; p++)
		if (*p == '\'' || *p == '\n' || *p == '\\')
			return 0;
	return 1;
}

/* cc_cmp_name - qsort of file names */
static int
cc_cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* cc_read - a file as CRLF text */
static void
cc_read(const char *path, struct cc_msg *m)
{
	FILE *f = fopen(path, "rb");
	uint8_t *raw;
	long sz;
	size_t n, i, k = 0;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	assert_true(sz >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	raw = malloc((size_t)sz + 1);
	assert_non_null(raw);
	n = fread(raw, 1, (size_t)sz, f);
	fclose(f);
	assert_int_equal(n, (size_t)sz);
	m->data = malloc(2 * n + 1);
	assert_non_null(m->data);
	for (i = 0; i < n; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			m->data[k++] = '\r';
		m->data[k++] = raw[i];
	}
	m->len = k;
	free(raw);
}

/* cc_load_dir - every .eml of one corpus folder, sorted */
static void
cc_load_dir(const char *sub, size_t want)
{
	char path[CC_PATH_MAX], *names[4096];
	struct dirent *e;
	size_t n = 0, i;
	DIR *d;
	int w;

	w = snprintf(path, sizeof(path), "%s/%s", cc_dir, sub);
	assert_true(w > 0 && (size_t)w < sizeof(path));
	d = opendir(path);
	if (d == NULL)
		fail_msg("corpus folder %s missing after unpacking", path);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l < 5 || strcmp(e->d_name + l - 4, ".eml") != 0)
			continue;
		assert_true(n < 4096);
		names[n] = strdup(e->d_name);
		assert_non_null(names[n]);
		n++;
	}
	closedir(d);
	assert_int_equal(n, want);
	qsort(names, n, sizeof(names[0]), cc_cmp_name);
	for (i = 0; i < n; i++) {
		struct cc_msg *m = &cc_msgs[cc_n++];

		w = snprintf(m->name, sizeof(m->name), "%s/%s", sub, names[i]);
		assert_true(w > 0 && (size_t)w < sizeof(m->name));
		w = snprintf(path, sizeof(path), "%s/%s", cc_dir, m->name);
		assert_true(w > 0 && (size_t)w < sizeof(path));
		cc_read(path, m);
		free(names[i]);
	}
}

/* cc_setup - unpack the corpus; fails loudly when it is not there */
static int
cc_setup(void **state)
{
	const char *src = getenv("MX_SOURCE_DIR"), *tmp = getenv("MX_TEST_TMP");
	char tgz[CC_PATH_MAX], cmd[3 * CC_PATH_MAX];
	struct stat st;
	int w;

	(void)state;
	if (src == NULL)
		fail_msg("MX_SOURCE_DIR is not set (ctest sets it to the "
		         "repository root)");
	w = snprintf(
	    tgz, sizeof(tgz), "%s/../shared/corpus/spamassassin-dev.tgz", src);
	assert_true(w > 0 && (size_t)w < sizeof(tgz));
	if (stat(tgz, &st) != 0)
		fail_msg(
		    "real-mail corpus %s not found: this test needs it and "
		    "does not skip",
		    tgz);
	w = snprintf(cc_dir, sizeof(cc_dir), "%s/content_corpus.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_true(w > 0 && (size_t)w < sizeof(cc_dir));
	if (mkdtemp(cc_dir) == NULL)
		fail_msg("cannot create a directory under %s", cc_dir);
	assert_true(cc_path_ok(tgz) && cc_path_ok(cc_dir));
	w = snprintf(cmd, sizeof(cmd), "tar xzf '%s' -C '%s'", tgz, cc_dir);
	assert_true(w > 0 && (size_t)w < sizeof(cmd));
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
	cc_msgs = calloc(CC_SPAM + CC_HAM, sizeof(*cc_msgs));
	assert_non_null(cc_msgs);
	cc_load_dir("spam-1", CC_SPAM);
	cc_load_dir("easy-ham-1", CC_HAM);
	return 0;
}

/* cc_teardown - remove the unpacked corpus */
static int
cc_teardown(void **state)
{
	char cmd[CC_PATH_MAX + 32];
	size_t i;
	int w;

	(void)state;
	for (i = 0; i < cc_n; i++) {
		free(cc_msgs[i].data);
		free(cc_msgs[i].res);
	}
	free(cc_msgs);
	if (cc_dir[0] != '\0' && cc_path_ok(cc_dir)) {
		w = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cc_dir);
		if (w > 0 && (size_t)w < sizeof(cmd) && system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", cc_dir);
	}
	return 0;
}

/* cc_in - is name in a list */
static int
cc_in(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

/* cc_find - the analysed message of a name */
static const struct proto_content_result *
cc_find(const char *name)
{
	size_t i;

	for (i = 0; i < cc_n; i++)
		if (strcmp(cc_msgs[i].name, name) == 0)
			return cc_msgs[i].res;
	fail_msg("%s not in the corpus", name);
	return NULL;
}

/* cc_hex - 64 hex digits to 32 bytes */
static void
cc_hex(const char *hex, uint8_t out[32])
{
	size_t i;

	assert_int_equal(strlen(hex), 64);
	for (i = 0; i < 32; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* cc_attach - check one attachment's name, type, size and digest */
static void
cc_attach(const struct proto_attach *a, const char *name, int type,
    uint64_t size, const char *sha)
{
	uint8_t want[32];

	assert_string_equal(a->name, name);
	assert_int_equal(a->type, type);
	assert_int_equal(a->size, size);
	cc_hex(sha, want);
	assert_memory_equal(a->sha256, want, 32);
}

/* cc_body - the body hash is SHA-256 of this normalised text */
static void
cc_body(const struct proto_content_result *r, const char *norm)
{
	uint8_t want[32];
	unsigned int dl = 0;

	assert_int_equal(
	    EVP_Digest(norm, strlen(norm), want, &dl, EVP_sha256(), NULL), 1);
	assert_true(r->has_body_hash);
	assert_int_equal(r->text_bytes, strlen(norm));
	assert_memory_equal(r->body_sha256, want, 32);
}

/* cc_split - analyse m in random pieces */
static void
cc_split(struct proto_content *c, const struct cc_msg *m, uint64_t seed)
{
	size_t i = 0;

	assert_int_equal(proto_content_reset(c), 0);
	while (i < m->len) {
		size_t k;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		k = 1 + (size_t)((seed >> 33) % 97);
		if (k > m->len - i)
			k = m->len - i;
		assert_int_equal(proto_content_feed(c, m->data + i, k), 0);
		i += k;
	}
	assert_int_equal(proto_content_finish(c), 0);
}

static void
test_every_message_parses(void **state)
{
	struct proto_content *c;
	size_t i, n_unclosed = 0, n_unseen = 0, n_b64 = 0, n_fp = 0, n_url = 0;
	size_t n_att = 0, n_html = 0, bytes = 0;

	(void)state;
	assert_int_equal(proto_content_new(NULL, NULL, &c), 0);
	for (i = 0; i < cc_n; i++) {
		struct cc_msg *m = &cc_msgs[i];
		const struct proto_content_result *r;
		uint32_t f;

		assert_int_equal(proto_content_reset(c), 0);
		assert_int_equal(proto_content_feed(c, m->data, m->len), 0);
		assert_int_equal(proto_content_finish(c), 0);
		assert_true(proto_content_mem(c) <= PROTO_CONTENT_MEM_MAX);
		m->res = malloc(sizeof(*m->res));
		assert_non_null(m->res);
		*m->res = *proto_content_result(c);
		r = m->res;
		f = r->flags;
		bytes += m->len;
		/* every defect is one of the explained ones */
		if (cc_in(m->name, cc_unclosed,
		        sizeof(cc_unclosed) / sizeof(char *))) {
			assert_true(f & PROTO_CF_UNCLOSED);
			n_unclosed++;
		} else {
			assert_false(f & PROTO_CF_UNCLOSED);
		}
		if (cc_in(m->name, cc_unseen,
		        sizeof(cc_unseen) / sizeof(char *))) {
			assert_true(f & PROTO_CF_BOUNDARY_UNSEEN);
			n_unseen++;
		} else {
			assert_false(f & PROTO_CF_BOUNDARY_UNSEEN);
		}
		if (cc_in(m->name, cc_bad_b64,
		        sizeof(cc_bad_b64) / sizeof(char *))) {
			assert_true(f & PROTO_CF_BAD_B64);
			n_b64++;
		} else {
			assert_false(f & PROTO_CF_BAD_B64);
		}
		assert_int_equal(
		    f & (PROTO_CF_HDR_BROKEN | PROTO_CF_BAD_BOUNDARY |
		            PROTO_CF_TOO_DEEP | PROTO_CF_TOO_MANY_PARTS |
		            PROTO_CF_HDR_TRUNCATED | PROTO_CF_URLS_TRUNCATED |
		            PROTO_CF_ATTACH_TRUNCATED),
		    0);
		assert_int_equal(!!(f & PROTO_CF_MIME_BROKEN),
		    !!(f & (PROTO_CF_UNCLOSED | PROTO_CF_BOUNDARY_UNSEEN)));
		n_fp += r->fp.is_valid;
		n_url += r->n_urls > 0;
		n_att += r->n_attach;
		n_html += !!(f & PROTO_CF_HTML_ONLY);
		/* streaming: random cuts give the same result */
		if (i % 7 == 0) {
			cc_split(c, m, i);
			assert_memory_equal(
			    proto_content_result(c), r, sizeof(*r));
		}
	}
	proto_content_free(c);
	assert_int_equal(cc_n, CC_SPAM + CC_HAM);
	assert_int_equal(n_unclosed, 27);
	assert_int_equal(n_unseen, 1);
	assert_int_equal(n_b64, 3);
	printf("corpus: %zu messages parsed (%zu spam, %zu ham), %zu bytes as "
	       "CRLF; %zu with a fingerprint, %zu with URLs, %zu attachments, "
	       "%zu HTML-only; explained defects: %zu unclosed multiparts, %zu "
	       "boundary never seen, %zu base64 with junk\n",
	    cc_n, (size_t)CC_SPAM, (size_t)CC_HAM, bytes, n_fp, n_url, n_att,
	    n_html, n_unclosed, n_unseen, n_b64);
}

/*
 * test_lite_finds_the_same_structure - lite mode reads structure only: on
 * every corpus message, lite from the first byte and fed in random
 * pieces, the parts and every attachment (name, types, flags, size,
 * digest) are those of the full analysis; no fingerprint, no body hash,
 * PROTO_CF_LITE set
 */
static void
test_lite_finds_the_same_structure(void **state)
{
	struct proto_content *c = NULL;
	const struct proto_content_result *r;
	size_t i, k, n_att = 0;

	(void)state;
	assert_int_equal(proto_content_new(NULL, NULL, &c), 0);
	for (i = 0; i < cc_n; i++) {
		const struct cc_msg *m = &cc_msgs[i];
		size_t at = 0;
		uint64_t seed = i + 1;

		assert_int_equal(proto_content_reset(c), 0);
		proto_content_lite(c);
		while (at < m->len) {
			seed = seed * 6364136223846793005ULL +
			       1442695040888963407ULL;
			k = 1 + (size_t)((seed >> 33) % 4093);
			if (k > m->len - at)
				k = m->len - at;
			assert_int_equal(
			    proto_content_feed(c, m->data + at, k), 0);
			at += k;
		}
		assert_int_equal(proto_content_finish(c), 0);
		r = proto_content_result(c);
		assert_int_equal(r->parts, m->res->parts);
		assert_int_equal(r->n_attach, m->res->n_attach);
		assert_int_equal(r->attach_total, m->res->attach_total);
		for (k = 0; k < r->n_attach; k++)
			assert_memory_equal(&r->attach[k], &m->res->attach[k],
			    sizeof(r->attach[k]));
		assert_false(r->fp.is_valid);
		assert_false(r->has_body_hash);
		assert_true(r->flags & PROTO_CF_LITE);
		/* the structural findings are the same */
		assert_int_equal(
		    r->flags & ~(PROTO_CF_LITE | PROTO_CF_HTML_ONLY |
		                   PROTO_CF_URLS_TRUNCATED | PROTO_CF_BAD_B64),
		    m->res->flags &
		        ~(PROTO_CF_HTML_ONLY | PROTO_CF_URLS_TRUNCATED |
		            PROTO_CF_BAD_B64));
		n_att += r->n_attach;
	}
	proto_content_free(c);
	assert_true(n_att > 0);
	printf("lite: %zu messages, %zu attachments: the same as in full\n",
	    cc_n, n_att);
}

static void
test_hand_checked_messages(void **state)
{
	const struct proto_content_result *r;
	static const uint8_t key0[PROTO_FP_KEY_LEN] = {
	    0x01, 0x00, 0xd0, 0xd6, 0x37, 0x00, 0x42, 0xa4, 0x1b, 0xbc};

	(void)state;
	/* QP HTML, ISO-8859-1: one link, HTML only, regression key */
	r = cc_find("spam-1/00001.eml");
	assert_string_equal(r->subject, "Life Insurance - Why Pay More?");
	assert_string_equal(r->from_addr, "12a1mailbot1@web.de");
	assert_string_equal(r->message_id, "0103c1042001882DD_IT7@dd_it7");
	assert_int_equal(r->received, 4);
	assert_int_equal(r->flags, PROTO_CF_HTML_ONLY);
	assert_int_equal(r->n_urls, 1);
	assert_string_equal(r->urls[0].host, "website.e365.cc");
	assert_true(r->fp.is_valid);
	assert_memory_equal(r->fp.keys[0], key0, sizeof(key0));

	/* an HTML page as attachment: scanned for URLs, no text body */
	r = cc_find("spam-1/00036.eml");
	assert_int_equal(r->n_attach, 1);
	cc_attach(&r->attach[0], "filename.html", PROTO_AT_HTML, 18397,
	    "2492eb636df1075a865000f087f7aa6b4a45b990b9bb52971d526d1a25b7ea88");
	assert_int_equal(r->n_urls, 1);
	assert_string_equal(r->urls[0].host, "www.myhomeontheweb.com");
	assert_false(r->has_body_hash);
	assert_false(r->fp.is_valid);

	/* base64 image with junk lines (coreutils base64 -d agrees) */
	r = cc_find("spam-1/00307.eml");
	assert_int_equal(r->n_attach, 2);
	cc_attach(&r->attach[0], "image001.png", PROTO_AT_IMAGE, 81105,
	    "4a96530111f5dcb27d460382435ac22ec5b9dd0ca2cf49a0bb8da9cdc4f93046");
	cc_attach(&r->attach[1], "./MassMail-1509_files/image002.jpg",
	    PROTO_AT_IMAGE, 51544,
	    "9822c0cd4b7246df1414587c18f0ae4e886b1e6a165a42a272a9120856268de1");
	assert_int_equal(r->flags, PROTO_CF_HTML_ONLY | PROTO_CF_BAD_B64);

	/* multipart/related with a gif; URLs from text and href */
	r = cc_find("spam-1/00341.eml");
	assert_int_equal(r->n_attach, 1);
	cc_attach(&r->attach[0], "ecp10cc.gif", PROTO_AT_IMAGE, 168963,
	    "3dcea7a6a85e8b13a3b76854690f55ce91a372e7016d7beae0db5bb4826e363a");
	assert_int_equal(r->n_urls, 3);
	assert_string_equal(r->urls[0].host, "www.johnsonhome2276.com");
	assert_string_equal(r->urls[1].host, "home.attbi.com");
	assert_string_equal(r->urls[2].host, "johnson2276.itctv.com");

	/* a shell script sent as application/octet-stream, no extension */
	r = cc_find("easy-ham-1/00993.eml");
	assert_int_equal(r->n_attach, 1);
	cc_attach(&r->attach[0], "swasort", PROTO_AT_SCRIPT, 602,
	    "f070cf48dc8e5693d9395cd57f24c531061c504a1d38a22dd7a1a77f5cf84fde");
	assert_int_equal(r->attach[0].flags, PROTO_AF_SCRIPT);
	assert_int_equal(r->flags, PROTO_CF_HAS_SCRIPT);

	/* a PGP signature part (7bit: digest of the CRLF text) */
	r = cc_find("easy-ham-1/00014.eml");
	assert_int_equal(r->n_attach, 1);
	cc_attach(&r->attach[0], "", PROTO_AT_NONE, 243,
	    "0d1927ef777accbbf385c18f6c73284c8c24a4012d42475f5a43eaac90975ea1");

	/* short plain messages: the normalised text written out by hand */
	r = cc_find("easy-ham-1/00643.eml");
	cc_body(r, "chuck murcko wrote: >[...stuff...] yawn. r");
	assert_false(r->fp.is_valid);
	r = cc_find("easy-ham-1/00834.eml");
	cc_body(r, "http://www.thecliffguy.com/cliffs.htm numerous artists "
	           "drawing characters on a cliff.");
	assert_int_equal(r->n_urls, 1);
	assert_string_equal(r->urls[0].host, "www.thecliffguy.com");
	r = cc_find("easy-ham-1/00675.eml");
	cc_body(r, "you around? c -- \"i don't take no stocks in mathematics, "
	           "anyway\" --huckleberry finn");
	assert_string_equal(r->subject, "calling wayne baisley@#!");

	/* the wrong boundary: the whole body is the text */
	r = cc_find("spam-1/00467.eml");
	assert_int_equal(r->flags, PROTO_CF_MIME_BROKEN | PROTO_CF_UNCLOSED |
	                               PROTO_CF_BOUNDARY_UNSEEN);
	assert_true(r->fp.is_valid);
}

struct cc_key {
	uint8_t key[PROTO_FP_KEY_LEN];
	uint32_t idx; /* spam message */
};

/* cc_key_cmp - order of band keys */
static int
cc_key_cmp(const void *a, const void *b)
{
	return memcmp(((const struct cc_key *)a)->key,
	    ((const struct cc_key *)b)->key, PROTO_FP_KEY_LEN);
}

/* cc_root - union-find root */
static size_t
cc_root(size_t *par, size_t x)
{
	while (par[x] != x)
		x = par[x] = par[par[x]];
	return x;
}

/*
 * What every edge, mxctl and the hub compute from a message is part of
 * the wire: a signature made from a sample by one version must match what
 * another version computes for the same mail. This digest covers, for all
 * 3,000 messages in name order, the body hash, the text bytes and the
 * whole fingerprint (validity, signature bins, band keys), so a change of
 * normalisation, tokenising or hashing anywhere shows here even when each
 * message still looks plausible. A deliberate change updates the value
 * and says so in docs/content.md (the old signatures stop matching).
 */
#define CC_OUTPUT_DIGEST                                                       \
	"2bd0e7ae16ea855009b7b0b369a3f37f585c0f4de8134960928afe10714c34dc"
_Static_assert(4 * PROTO_FP_K >= 8, "le below holds a uint64_t too");

static void
test_corpus_outputs_pinned(void **state)
{
	uint8_t want[32], got[32];
	unsigned int dl = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t i;
	char hex[65];

	(void)state;
	assert_non_null(md);
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	for (i = 0; i < cc_n; i++) {
		const struct proto_content_result *r = cc_msgs[i].res;
		uint8_t le[4 * PROTO_FP_K]; /* the bins; text_bytes uses 8 */
		size_t j;

		assert_int_equal(EVP_DigestUpdate(md, cc_msgs[i].name,
		                     strlen(cc_msgs[i].name) + 1),
		    1);
		assert_int_equal(EVP_DigestUpdate(md, &r->has_body_hash, 1), 1);
		assert_int_equal(EVP_DigestUpdate(md, r->body_sha256, 32), 1);
		/* numbers little-endian, whatever the machine */
		for (j = 0; j < 8; j++)
			le[j] = (uint8_t)(r->text_bytes >> (8 * j));
		assert_int_equal(EVP_DigestUpdate(md, le, 8), 1);
		assert_int_equal(EVP_DigestUpdate(md, &r->fp.is_valid, 1), 1);
		for (j = 0; j < 4 * PROTO_FP_K; j++)
			le[j] = (uint8_t)(r->fp.sig[j / 4] >> (8 * (j % 4)));
		assert_int_equal(EVP_DigestUpdate(md, le, 4 * PROTO_FP_K), 1);
		assert_int_equal(
		    EVP_DigestUpdate(md, r->fp.keys, sizeof(r->fp.keys)), 1);
	}
	assert_int_equal(EVP_DigestFinal_ex(md, got, &dl), 1);
	EVP_MD_CTX_free(md);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", got[i]);
	cc_hex(CC_OUTPUT_DIGEST, want);
	if (memcmp(got, want, 32) != 0)
		fail_msg("the corpus outputs changed: digest %s, pinned %s",
		    hex, CC_OUTPUT_DIGEST);
}

static void
test_clusters_and_false_matches(void **state)
{
	struct cc_key *keys;
	size_t nk = 0, i, j, b, par[CC_SPAM], size[CC_SPAM];
	size_t pairs = 0, clusters = 0, clustered = 0, biggest = 0,
	       big_root = 0;
	size_t ham_valid = 0, ham_band = 0, ham_false = 0;

	(void)state;
	for (i = 0; i < CC_SPAM; i++) {
		par[i] = i;
		size[i] = 0;
	}
	for (i = 0; i < CC_SPAM; i++)
		for (j = i + 1; j < CC_SPAM; j++)
			if (proto_fp_match(
			        &cc_msgs[i].res->fp, &cc_msgs[j].res->fp)) {
				pairs++;
				par[cc_root(par, i)] = cc_root(par, j);
			}
	for (i = 0; i < CC_SPAM; i++)
		size[cc_root(par, i)]++;
	for (i = 0; i < CC_SPAM; i++) {
		if (size[i] < 2)
			continue;
		clusters++;
		clustered += size[i];
		if (size[i] > biggest) {
			biggest = size[i];
			big_root = i;
		}
	}
	printf("spam near-duplicates: %zu matching pairs, %zu clusters "
	       "holding %zu of %d spam; largest cluster %zu messages:",
	    pairs, clusters, clustered, CC_SPAM, biggest);
	for (i = 0, j = 0; i < CC_SPAM && j < 6; i++)
		if (biggest > 0 && cc_root(par, i) == cc_root(par, big_root)) {
			printf(" %s", cc_msgs[i].name);
			j++;
		}
	printf("%s\n", biggest > 6 ? " ..." : "");

	/* every spam band key in a sorted table, as an edge store holds */
	keys = calloc(CC_SPAM * PROTO_FP_BANDS, sizeof(*keys));
	assert_non_null(keys);
	for (i = 0; i < CC_SPAM; i++) {
		if (!cc_msgs[i].res->fp.is_valid)
			continue;
		for (b = 0; b < PROTO_FP_BANDS; b++) {
			memcpy(keys[nk].key, cc_msgs[i].res->fp.keys[b],
			    PROTO_FP_KEY_LEN);
			keys[nk++].idx = (uint32_t)i;
		}
	}
	qsort(keys, nk, sizeof(*keys), cc_key_cmp);
	for (i = CC_SPAM; i < cc_n; i++) {
		const struct proto_fp *h = &cc_msgs[i].res->fp;
		int is_band = 0, is_false = 0;

		if (!h->is_valid)
			continue;
		ham_valid++;
		for (b = 0; b < PROTO_FP_BANDS; b++) {
			struct cc_key k, *f;

			memcpy(k.key, h->keys[b], PROTO_FP_KEY_LEN);
			f = bsearch(&k, keys, nk, sizeof(k), cc_key_cmp);
			if (f == NULL)
				continue;
			while (f > keys && cc_key_cmp(f - 1, &k) == 0)
				f--;
			for (; f < keys + nk && cc_key_cmp(f, &k) == 0; f++) {
				const struct proto_fp *s =
				    &cc_msgs[f->idx].res->fp;

				is_band = 1;
				if (!is_false && proto_fp_similarity(h, s) >=
				                     PROTO_FP_SIM_MIN) {
					is_false = 1;
					printf("  false match: %s ~ %s "
					       "(similarity "
					       "%u/%d)\n",
					    cc_msgs[i].name,
					    cc_msgs[f->idx].name,
					    proto_fp_similarity(h, s),
					    PROTO_FP_K);
				}
			}
		}
		ham_band += (size_t)is_band;
		ham_false += (size_t)is_false;
	}
	printf("ham vs spam: %zu of %zu ham with a fingerprint share a band "
	       "key with a spam (%.2f %%); false matches after the similarity "
	       "check: %zu (%.2f %%)\n",
	    ham_band, ham_valid, 100.0 * (double)ham_band / (double)ham_valid,
	    ham_false, 100.0 * (double)ham_false / (double)ham_valid);
	/* both are spam whose only text is a mailing-list footer */
	assert_true(ham_false <= 3);
	assert_true(clusters >= 80);
	free(keys);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_message_parses),
	    cmocka_unit_test(test_lite_finds_the_same_structure),
	    cmocka_unit_test(test_hand_checked_messages),
	    cmocka_unit_test(test_corpus_outputs_pinned),
	    cmocka_unit_test(test_clusters_and_false_matches),
	};

	return cmocka_run_group_tests(tests, cc_setup, cc_teardown);
}
