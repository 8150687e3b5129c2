/*
 * proto_attach.c - attachment digest and type detection
 *
 * Each attachment's decoded bytes are hashed (SHA-256) as they stream and
 * typed by their content, not only by their name: magic numbers in the
 * first PROTO_ATTACH_HEAD bytes (PE, ELF, Mach-O, shebang scripts, LNK,
 * zip, rar, 7z, gzip/bzip2/xz/tar, cab, OLE2, RTF, PDF, images, HTML) and
 * "CD001" at offset 0x8001 for ISO images. Two scans run over the whole
 * stream without buffering it: zip local file headers ("PK\3\4": entry
 * names, the encryption bit), which is how an OOXML document holding
 * vbaProject.bin (a macro project) or an archive holding an executable
 * is found; and the UTF-16LE directory name "_VBA_PROJECT" of an OLE2
 * file with macros. The name gives a second type; the two are compared
 * (docs/content.md lists the rules) and double extensions
 * ("invoice.pdf.exe") and right-to-left overrides are flagged.
 * Trust: content and names are hostile. Limits: PROTO_ATTACH_HEAD bytes of
 * head, PROTO_ZIP_NAME_MAX bytes of a zip entry name, a fixed carry for
 * the OLE2 pattern; nothing grows with the attachment.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/mx_ascii.h"
#include "lib/mx_err.h"
#include "proto/proto_content_int.h"

#define PROTO_ISO_OFF 0x8001 /* ISO 9660 volume descriptor id */
#define PROTO_ZIP_FIXED 26   /* local header after the signature */

/* what a type is, for the name/content comparison */
enum {
	PROTO_CLS_NONE = 0,
	PROTO_CLS_EXEC,
	PROTO_CLS_SCRIPT,
	PROTO_CLS_ARCHIVE,
	PROTO_CLS_OFFICE,
	PROTO_CLS_PDF,
	PROTO_CLS_IMAGE,
	PROTO_CLS_TEXT,
};

struct proto_ext {
	const char *ext;
	uint8_t type;     /* enum proto_atype */
	uint8_t is_macro; /* macro-enabled office format */
};

/* sorted by strcmp for bsearch */
static const struct proto_ext proto_exts[] = {
    {"7z", PROTO_AT_7Z, 0},
    {"ace", PROTO_AT_GZIP, 0},
    {"apk", PROTO_AT_EXE, 0},
    {"arj", PROTO_AT_GZIP, 0},
    {"bat", PROTO_AT_SCRIPT, 0},
    {"bmp", PROTO_AT_IMAGE, 0},
    {"bz2", PROTO_AT_GZIP, 0},
    {"cab", PROTO_AT_CAB, 0},
    {"cmd", PROTO_AT_SCRIPT, 0},
    {"com", PROTO_AT_EXE, 0},
    {"cpl", PROTO_AT_EXE, 0},
    {"csv", PROTO_AT_TEXT, 0},
    {"dll", PROTO_AT_EXE, 0},
    {"doc", PROTO_AT_OLE2, 0},
    {"docm", PROTO_AT_OOXML, 1},
    {"docx", PROTO_AT_OOXML, 0},
    {"dot", PROTO_AT_OLE2, 0},
    {"dotm", PROTO_AT_OOXML, 1},
    {"dotx", PROTO_AT_OOXML, 0},
    {"eml", PROTO_AT_TEXT, 0},
    {"exe", PROTO_AT_EXE, 0},
    {"gif", PROTO_AT_IMAGE, 0},
    {"gz", PROTO_AT_GZIP, 0},
    {"hta", PROTO_AT_SCRIPT, 0},
    {"htm", PROTO_AT_HTML, 0},
    {"html", PROTO_AT_HTML, 0},
    {"ico", PROTO_AT_IMAGE, 0},
    {"img", PROTO_AT_ISO, 0},
    {"iso", PROTO_AT_ISO, 0},
    {"jar", PROTO_AT_EXE, 0},
    {"jpeg", PROTO_AT_IMAGE, 0},
    {"jpg", PROTO_AT_IMAGE, 0},
    {"js", PROTO_AT_SCRIPT, 0},
    {"jse", PROTO_AT_SCRIPT, 0},
    {"lnk", PROTO_AT_LNK, 0},
    {"log", PROTO_AT_TEXT, 0},
    {"lzh", PROTO_AT_GZIP, 0},
    {"msi", PROTO_AT_EXE, 0},
    {"msp", PROTO_AT_EXE, 0},
    {"odp", PROTO_AT_OOXML, 0},
    {"ods", PROTO_AT_OOXML, 0},
    {"odt", PROTO_AT_OOXML, 0},
    {"pdf", PROTO_AT_PDF, 0},
    {"pif", PROTO_AT_EXE, 0},
    {"png", PROTO_AT_IMAGE, 0},
    {"pot", PROTO_AT_OLE2, 0},
    {"potm", PROTO_AT_OOXML, 1},
    {"potx", PROTO_AT_OOXML, 0},
    {"pps", PROTO_AT_OLE2, 0},
    {"ppsm", PROTO_AT_OOXML, 1},
    {"ppsx", PROTO_AT_OOXML, 0},
    {"ppt", PROTO_AT_OLE2, 0},
    {"pptm", PROTO_AT_OOXML, 1},
    {"pptx", PROTO_AT_OOXML, 0},
    {"ps1", PROTO_AT_SCRIPT, 0},
    {"psm1", PROTO_AT_SCRIPT, 0},
    {"rar", PROTO_AT_RAR, 0},
    {"reg", PROTO_AT_SCRIPT, 0},
    {"rtf", PROTO_AT_RTF, 0},
    {"scr", PROTO_AT_EXE, 0},
    {"sh", PROTO_AT_SCRIPT, 0},
    {"shtml", PROTO_AT_HTML, 0},
    {"svg", PROTO_AT_HTML, 0},
    {"sys", PROTO_AT_EXE, 0},
    {"tar", PROTO_AT_GZIP, 0},
    {"tgz", PROTO_AT_GZIP, 0},
    {"tif", PROTO_AT_IMAGE, 0},
    {"tiff", PROTO_AT_IMAGE, 0},
    {"txt", PROTO_AT_TEXT, 0},
    {"vb", PROTO_AT_SCRIPT, 0},
    {"vbe", PROTO_AT_SCRIPT, 0},
    {"vbs", PROTO_AT_SCRIPT, 0},
    {"webp", PROTO_AT_IMAGE, 0},
    {"wsf", PROTO_AT_SCRIPT, 0},
    {"wsh", PROTO_AT_SCRIPT, 0},
    {"xhtml", PROTO_AT_HTML, 0},
    {"xla", PROTO_AT_OLE2, 0},
    {"xlam", PROTO_AT_OOXML, 1},
    {"xls", PROTO_AT_OLE2, 0},
    {"xlsb", PROTO_AT_OOXML, 1},
    {"xlsm", PROTO_AT_OOXML, 1},
    {"xlsx", PROTO_AT_OOXML, 0},
    {"xlt", PROTO_AT_OLE2, 0},
    {"xltm", PROTO_AT_OOXML, 1},
    {"xltx", PROTO_AT_OOXML, 0},
    {"xz", PROTO_AT_GZIP, 0},
    {"zip", PROTO_AT_ZIP, 0},
};

static const char *const proto_atype_names[] = {"none", "text", "html", "pe",
    "elf", "macho", "exe", "script", "lnk", "zip", "rar", "7z", "gzip", "iso",
    "cab", "ole2", "ooxml", "rtf", "pdf", "image", "other"};

_Static_assert(sizeof(proto_atype_names) / sizeof(proto_atype_names[0]) ==
                   PROTO_AT_MAX + 1,
    "one name per type");

static const uint8_t proto_ole_vba[PROTO_OLE_PAT] = {'_', 0, 'V', 0, 'B', 0,
    'A', 0, '_', 0, 'P', 0, 'R', 0, 'O', 0, 'J', 0, 'E', 0, 'C', 0, 'T', 0};

/* proto_atype_name - short name of a type */
const char *
proto_atype_name(int type)
{
	if (type < 0 || type > PROTO_AT_MAX)
		return "none";
	return proto_atype_names[type];
}

/* proto_attach_class - the family a type belongs to */
static int
proto_attach_class(int t)
{
	switch (t) {
	case PROTO_AT_PE:
	case PROTO_AT_ELF:
	case PROTO_AT_MACHO:
	case PROTO_AT_EXE:
	case PROTO_AT_LNK:
		return PROTO_CLS_EXEC;
	case PROTO_AT_SCRIPT:
		return PROTO_CLS_SCRIPT;
	case PROTO_AT_ZIP:
	case PROTO_AT_RAR:
	case PROTO_AT_7Z:
	case PROTO_AT_GZIP:
	case PROTO_AT_ISO:
	case PROTO_AT_CAB:
		return PROTO_CLS_ARCHIVE;
	case PROTO_AT_OLE2:
	case PROTO_AT_OOXML:
	case PROTO_AT_RTF:
		return PROTO_CLS_OFFICE;
	case PROTO_AT_PDF:
		return PROTO_CLS_PDF;
	case PROTO_AT_IMAGE:
		return PROTO_CLS_IMAGE;
	case PROTO_AT_TEXT:
	case PROTO_AT_HTML:
		return PROTO_CLS_TEXT;
	default:
		return PROTO_CLS_NONE;
	}
}

/* proto_ext_cmp - bsearch comparison */
static int
proto_ext_cmp(const void *key, const void *elem)
{
	return strcmp((const char *)key, ((const struct proto_ext *)elem)->ext);
}

/* proto_ext_find - table entry for an extension p[0..n), or NULL */
static const struct proto_ext *
proto_ext_find(const char *p, size_t n)
{
	char e[8];

	if (n == 0 || n >= sizeof(e))
		return NULL;
	mx_ascii_lower_copy(e, p, n);
	e[n] = '\0';
	return bsearch(e, proto_exts,
	    sizeof(proto_exts) / sizeof(proto_exts[0]), sizeof(proto_exts[0]),
	    proto_ext_cmp);
}

/* proto_attach_name_type - type from the last extension of a name */
int
proto_attach_name_type(const char *name, size_t n, uint16_t *flags)
{
	const struct proto_ext *x, *prev;
	size_t i, s = 0, dot, pdot, pend;
	int t, c;

	for (i = 0; i + 2 < n; i++)
		if ((uint8_t)name[i] == 0xe2 && (uint8_t)name[i + 1] == 0x80 &&
		    (uint8_t)name[i + 2] == 0xae)
			*flags |= PROTO_AF_RLO | PROTO_AF_MISMATCH;
	for (i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == '\\')
			s = i + 1;
	/* Windows ignores trailing dots and blanks */
	while (n > s && (name[n - 1] == '.' || name[n - 1] == ' '))
		n--;
	for (dot = n; dot > s && name[dot - 1] != '.'; dot--)
		;
	if (dot == s)
		return PROTO_AT_NONE;
	x = proto_ext_find(name + dot, n - dot);
	if (x == NULL)
		return PROTO_AT_OTHER;
	t = x->type;
	if (x->is_macro)
		*flags |= PROTO_AF_MACRO;
	c = proto_attach_class(t);
	if (c != PROTO_CLS_EXEC && c != PROTO_CLS_SCRIPT)
		return t;
	/* "invoice.pdf.exe", "invoice.pdf      .exe" */
	pend = dot - 1;
	while (pend > s && name[pend - 1] == ' ')
		pend--;
	for (pdot = pend; pdot > s && name[pdot - 1] != '.'; pdot--)
		;
	if (pdot > s) {
		prev = proto_ext_find(name + pdot, pend - pdot);
		if (prev != NULL &&
		    proto_attach_class(prev->type) != PROTO_CLS_EXEC &&
		    proto_attach_class(prev->type) != PROTO_CLS_SCRIPT)
			*flags |= PROTO_AF_DOUBLE_EXT | PROTO_AF_MISMATCH;
	}
	return t;
}

/* proto_has - p[off..] starts with lit (len bytes) */
static int
proto_has(const uint8_t *p, size_t n, size_t off, const char *lit, size_t len)
{
	return n >= off + len && memcmp(p + off, lit, len) == 0;
}

#define PROTO_HAS(off, lit) proto_has(p, n, off, lit, sizeof(lit) - 1)

/* proto_attach_html - does the content start like an HTML document */
static int
proto_attach_html(const uint8_t *p, size_t n)
{
	static const char *const tags[] = {"<!doctype html", "<html", "<head",
	    "<body", "<script", "<iframe", "<svg"};
	size_t i = 0, t, k;

	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	while (i < n &&
	       (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	for (t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
		size_t len = strlen(tags[t]);

		if (n - i < len)
			continue;
		for (k = 0; k < len; k++)
			if ((p[i + k] | (tags[t][k] >= 'a' ? 0x20 : 0)) !=
			    (uint8_t)tags[t][k])
				break;
		if (k == len)
			return 1;
	}
	return 0;
}

/* proto_attach_magic - content type from the first bytes */
int
proto_attach_magic(const uint8_t *p, size_t n)
{
	if (PROTO_HAS(0, "MZ"))
		return PROTO_AT_PE;
	if (PROTO_HAS(0, "\x7f"
	                 "ELF"))
		return PROTO_AT_ELF;
	if (PROTO_HAS(0, "\xfe\xed\xfa\xce") ||
	    PROTO_HAS(0, "\xfe\xed\xfa\xcf") ||
	    PROTO_HAS(0, "\xce\xfa\xed\xfe") ||
	    PROTO_HAS(0, "\xcf\xfa\xed\xfe") ||
	    PROTO_HAS(0, "\xca\xfe\xba\xbe"))
		return PROTO_AT_MACHO;
	if (PROTO_HAS(0, "#!"))
		return PROTO_AT_SCRIPT;
	if (PROTO_HAS(0, "L\0\0\0\x01\x14\x02\0"))
		return PROTO_AT_LNK;
	if (PROTO_HAS(0, "PK\x03\x04") || PROTO_HAS(0, "PK\x05\x06") ||
	    PROTO_HAS(0, "PK\x07\x08"))
		return PROTO_AT_ZIP;
	if (PROTO_HAS(0, "Rar!\x1a\x07"))
		return PROTO_AT_RAR;
	if (PROTO_HAS(0, "7z\xbc\xaf\x27\x1c"))
		return PROTO_AT_7Z;
	if (PROTO_HAS(0, "\x1f\x8b") || PROTO_HAS(0, "BZh") ||
	    PROTO_HAS(0, "\xfd"
	                 "7zXZ\0") ||
	    PROTO_HAS(257, "ustar"))
		return PROTO_AT_GZIP;
	if (PROTO_HAS(0, "MSCF"))
		return PROTO_AT_CAB;
	if (PROTO_HAS(0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"))
		return PROTO_AT_OLE2;
	if (PROTO_HAS(0, "{\\rtf"))
		return PROTO_AT_RTF;
	if (memmem(p, n, "%PDF-", 5) != NULL)
		return PROTO_AT_PDF;
	if (PROTO_HAS(0, "\x89PNG") || PROTO_HAS(0, "\xff\xd8\xff") ||
	    PROTO_HAS(0, "GIF87a") || PROTO_HAS(0, "GIF89a"))
		return PROTO_AT_IMAGE;
	if (PROTO_HAS(0, "BM") && n >= 18 && p[15] == 0 && p[16] == 0 &&
	    p[17] == 0 &&
	    (p[14] == 12 || p[14] == 40 || p[14] == 52 || p[14] == 56 ||
	        p[14] == 108 || p[14] == 124))
		return PROTO_AT_IMAGE;
	if (proto_attach_html(p, n))
		return PROTO_AT_HTML;
	return PROTO_AT_NONE;
}

/* proto_attach_begin - fresh scans for a new attachment */
int
proto_attach_begin(
    struct proto_attach_st *s, struct proto_attach *a, EVP_MD_CTX *sha)
{
	s->a = a;
	s->sha = sha;
	s->off = 0;
	s->head_len = 0;
	s->zflags = 0;
	s->is_ooxml = 0;
	s->is_vba = 0;
	memset(s->iso, 0, sizeof(s->iso));
	s->zst = 0;
	s->zlen = 0;
	s->zneed = 0;
	s->ncarry = 0;
	a->size = 0;
	a->type = PROTO_AT_NONE;
	a->name_type =
	    (uint8_t)proto_attach_name_type(a->name, a->name_len, &a->flags);
	return 0;
}

/* proto_zip_entry - a local file header's fixed part and name are in */
static void
proto_zip_entry(struct proto_attach_st *s)
{
	const uint8_t *h = s->zbuf;
	const char *name = (const char *)h + PROTO_ZIP_FIXED;
	size_t n = (size_t)s->zneed - PROTO_ZIP_FIXED;
	uint16_t f = 0;
	int c;

	if (h[2] & 1)
		s->zflags |= PROTO_AF_ENCRYPTED;
	if (n >= 14 && strncasecmp(name + n - 14, "vbaProject.bin", 14) == 0)
		s->zflags |= PROTO_AF_MACRO;
	if ((n == 19 && memcmp(name, "[Content_Types].xml", 19) == 0) ||
	    (n > 5 && memcmp(name, "word/", 5) == 0) ||
	    (n > 3 && memcmp(name, "xl/", 3) == 0) ||
	    (n > 4 && memcmp(name, "ppt/", 4) == 0))
		s->is_ooxml = 1;
	c = proto_attach_class(proto_attach_name_type(name, n, &f));
	if (c == PROTO_CLS_EXEC || c == PROTO_CLS_SCRIPT)
		s->zflags |= PROTO_AF_ARCH_EXEC;
}

/* proto_zip_scan - find local file headers anywhere in the stream */
static void
proto_zip_scan(struct proto_attach_st *s, const uint8_t *p, size_t n)
{
	static const uint8_t sig[4] = {'P', 'K', 3, 4};
	size_t i = 0;

	while (i < n) {
		if (s->zst == 4) {
			size_t k = (size_t)(s->zneed - s->zlen);

			if (k > n - i)
				k = n - i;
			memcpy(s->zbuf + s->zlen, p + i, k);
			s->zlen = (uint16_t)(s->zlen + k);
			i += k;
			if (s->zlen == PROTO_ZIP_FIXED &&
			    s->zneed == PROTO_ZIP_FIXED) {
				size_t nl = (size_t)s->zbuf[22] |
				            (size_t)s->zbuf[23] << 8;

				if (nl > PROTO_ZIP_NAME_MAX)
					nl = 0; /* not a name we can check */
				s->zneed = (uint16_t)(PROTO_ZIP_FIXED + nl);
			}
			if (s->zlen == s->zneed) {
				proto_zip_entry(s);
				s->zst = 0;
			}
			continue;
		}
		if (s->zst == 0) {
			const uint8_t *q = memchr(p + i, 'P', n - i);

			if (q == NULL)
				return;
			i = (size_t)(q - p);
		}
		if (p[i] == sig[s->zst])
			s->zst++;
		else
			s->zst = p[i] == 'P' ? 1 : 0;
		i++;
		if (s->zst == 4) {
			s->zlen = 0;
			s->zneed = PROTO_ZIP_FIXED;
		}
	}
}

/* proto_ole_scan - "_VBA_PROJECT" in UTF-16LE, across chunk cuts too */
static void
proto_ole_scan(struct proto_attach_st *s, const uint8_t *p, size_t n)
{
	uint8_t j[2 * PROTO_OLE_PAT];
	size_t k = n < PROTO_OLE_PAT - 1 ? n : PROTO_OLE_PAT - 1, keep;

	if (s->is_vba)
		return;
	memcpy(j, s->carry, s->ncarry);
	memcpy(j + s->ncarry, p, k);
	if (memmem(j, s->ncarry + k, proto_ole_vba, PROTO_OLE_PAT) != NULL ||
	    memmem(p, n, proto_ole_vba, PROTO_OLE_PAT) != NULL) {
		s->is_vba = 1;
		return;
	}
	/* keep the last PAT - 1 bytes of carry + p */
	if (n >= PROTO_OLE_PAT - 1) {
		memcpy(
		    s->carry, p + n - (PROTO_OLE_PAT - 1), PROTO_OLE_PAT - 1);
		s->ncarry = PROTO_OLE_PAT - 1;
		return;
	}
	keep = (size_t)s->ncarry + n;
	if (keep > PROTO_OLE_PAT - 1)
		keep = PROTO_OLE_PAT - 1;
	memmove(j, j + (s->ncarry + n - keep), keep);
	memcpy(s->carry, j, keep);
	s->ncarry = (uint8_t)keep;
}

/* proto_attach_feed - hash and scan decoded bytes */
int
proto_attach_feed(struct proto_attach_st *s, const uint8_t *p, size_t n)
{
	size_t k;

	if (n == 0)
		return 0;
	if (!EVP_DigestUpdate(s->sha, p, n))
		return MX_EIO;
	if (s->head_len < PROTO_ATTACH_HEAD) {
		k = PROTO_ATTACH_HEAD - s->head_len;
		if (k > n)
			k = n;
		memcpy(s->head + s->head_len, p, k);
		s->head_len = (uint16_t)(s->head_len + k);
	}
	if (s->off < PROTO_ISO_OFF + 5 && s->off + n > PROTO_ISO_OFF) {
		for (k = 0; k < 5; k++)
			if (s->off <= PROTO_ISO_OFF + k &&
			    PROTO_ISO_OFF + k < s->off + n)
				s->iso[k] = p[PROTO_ISO_OFF + k - s->off];
	}
	proto_zip_scan(s, p, n);
	proto_ole_scan(s, p, n);
	if (__builtin_add_overflow(s->off, n, &s->off))
		s->off = UINT64_MAX;
	s->a->size = s->off;
	return 0;
}

/* proto_attach_compat - a name family that may hold this content */
static int
proto_attach_compat(int nt, int ct)
{
	int nc = proto_attach_class(nt), cc = proto_attach_class(ct);

	if (nc == cc)
		return 1;
	if (nc == PROTO_CLS_OFFICE && cc == PROTO_CLS_ARCHIVE)
		return 1; /* OOXML whose markers were not in the headers */
	if (nt == PROTO_AT_EXE &&
	    (cc == PROTO_CLS_ARCHIVE || cc == PROTO_CLS_OFFICE))
		return 1; /* .jar/.apk are zips, .msi is OLE2 */
	if (nc == PROTO_CLS_SCRIPT && cc == PROTO_CLS_TEXT)
		return 1;
	return 0;
}

/* proto_attach_end - final type, flags and digest */
int
proto_attach_end(struct proto_attach_st *s)
{
	struct proto_attach *a = s->a;
	unsigned int dl = 0;
	int t, nc, cc;

	t = proto_attach_magic(s->head, s->head_len);
	if (t == PROTO_AT_NONE && memcmp(s->iso, "CD001", 5) == 0)
		t = PROTO_AT_ISO;
	if (t == PROTO_AT_ZIP && s->is_ooxml)
		t = PROTO_AT_OOXML;
	a->type = (uint8_t)t;
	if (t == PROTO_AT_ZIP || t == PROTO_AT_OOXML)
		a->flags |= s->zflags;
	if (t == PROTO_AT_OLE2 && s->is_vba)
		a->flags |= PROTO_AF_MACRO;
	nc = proto_attach_class(a->name_type);
	cc = proto_attach_class(t);
	if (nc == PROTO_CLS_EXEC || cc == PROTO_CLS_EXEC)
		a->flags |= PROTO_AF_EXEC;
	if (nc == PROTO_CLS_SCRIPT || cc == PROTO_CLS_SCRIPT)
		a->flags |= PROTO_AF_SCRIPT;
	if (nc == PROTO_CLS_ARCHIVE || cc == PROTO_CLS_ARCHIVE)
		a->flags |= PROTO_AF_ARCHIVE;
	if (a->name_len > 0) {
		if (cc == PROTO_CLS_EXEC && nc != PROTO_CLS_EXEC)
			a->flags |= PROTO_AF_MISMATCH;
		else if (cc != PROTO_CLS_NONE && nc != PROTO_CLS_NONE &&
		         !proto_attach_compat(a->name_type, t))
			a->flags |= PROTO_AF_MISMATCH;
	}
	if (!EVP_DigestFinal_ex(s->sha, a->sha256, &dl) || dl != 32)
		return MX_EIO;
	return 0;
}
