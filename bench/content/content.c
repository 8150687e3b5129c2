/*
 * content.c - bench_content: throughput of the content analyser
 *
 * Runs proto/proto_content.h alone, the way mxedge feeds it (one analyser
 * reused with proto_content_reset, the message in --chunk byte pieces),
 * over two corpora held in memory:
 * - the real corpus: ../shared/corpus/spamassassin-dev.tgz (3,000
 *   messages, unpacked with tar into a temporary directory, converted to
 *   CRLF), or a directory of .eml files given with --corpus;
 * - a generated corpus of --gen messages of 2 KiB to 2 MiB (log-uniform
 *   sizes): plain text, multipart/alternative with quoted-printable HTML,
 *   multipart/mixed with base64 attachments (zip, PDF, PE, random bytes),
 *   base64 HTML with links.
 * Prints, per corpus and pass, CPU seconds (CLOCK_PROCESS_CPUTIME_ID),
 * MB and messages per CPU-second (one core), and the peak per-message
 * state (proto_content_mem) against PROTO_CONTENT_MEM_MAX.
 * Trust: command-line arguments only, parsed with mx_parse_u64; paths go
 * to tar through a quoted command after a check for quote characters.
 * Limits: --gen up to 100,000, --reps up to 100, --chunk 1..16 MiB.
 */
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/mx_err.h"
#include "lib/mx_parse.h"
#include "proto/proto_content.h"

#define BENCH_GEN_MAX 100000ULL /* --gen limit */
#define BENCH_REPS_MAX 100ULL   /* --reps limit */
#define BENCH_CHUNK_MAX (16ULL * 1024 * 1024)
#define BENCH_PATH 4096
#define BENCH_MIN_SIZE 2048.0 /* generated sizes, bytes */
#define BENCH_MAX_SIZE (2048.0 * 1024.0)

struct bench_msg {
	uint8_t *p;
	size_t n;
};

struct bench_set {
	struct bench_msg *m;
	size_t n, cap;
	uint64_t bytes;
};

struct bench_opts {
	const char *corpus; /* directory with spam-1/ and easy-ham-1/ */
	const char *tgz;    /* corpus archive */
	uint64_t gen;       /* generated messages */
	uint64_t reps;      /* timed passes per corpus */
	uint64_t chunk;     /* bytes per feed call */
};

struct bench_buf {
	char *p;
	size_t n, cap;
};

/* bench_cpu - process CPU time, seconds */
static double
bench_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* bench_rand - splitmix64 */
static uint64_t
bench_rand(uint64_t *s)
{
	uint64_t x = (*s += 0x9e3779b97f4a7c15ULL);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* bench_add - append bytes, growing (exits on allocation failure) */
static void
bench_add(struct bench_buf *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;

		while (cap < b->n + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL) {
			fprintf(stderr, "bench_content: out of memory\n");
			exit(1);
		}
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* bench_adds - append a string */
static void
bench_adds(struct bench_buf *b, const char *s)
{
	bench_add(b, s, strlen(s));
}

/* bench_set_add - keep a message (takes ownership of p) */
static void
bench_set_add(struct bench_set *s, uint8_t *p, size_t n)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->m = realloc(s->m, s->cap * sizeof(*s->m));
		if (s->m == NULL) {
			fprintf(stderr, "bench_content: out of memory\n");
			exit(1);
		}
	}
	s->m[s->n].p = p;
	s->m[s->n].n = n;
	s->n++;
	s->bytes += n;
}

/* bench_read_crlf - a file as CRLF text; NULL on error */
static uint8_t *
bench_read_crlf(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *raw, *out;
	long sz;
	size_t n, i, k = 0;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	raw = malloc((size_t)sz + 1);
	out = malloc(2 * (size_t)sz + 1);
	if (raw == NULL || out == NULL) {
		fclose(f);
		free(raw);
		free(out);
		return NULL;
	}
	n = fread(raw, 1, (size_t)sz, f);
	fclose(f);
	for (i = 0; i < n; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			out[k++] = '\r';
		out[k++] = raw[i];
	}
	free(raw);
	*len = k;
	return out;
}

/* bench_load_dir - every regular file of dir/sub into s */
static int
bench_load_dir(struct bench_set *s, const char *dir, const char *sub)
{
	char path[BENCH_PATH];
	struct dirent *e;
	DIR *d;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (n < 0 || (size_t)n >= sizeof(path) || (d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char file[BENCH_PATH];
		uint8_t *p;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		n = snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(file))
			continue;
		if ((p = bench_read_crlf(file, &len)) != NULL)
			bench_set_add(s, p, len);
	}
	closedir(d);
	return 0;
}

/* bench_quote_ok - safe inside single quotes */
static int
bench_quote_ok(const char *p)
{
	return strchr(p, '\'') == NULL && strchr(p, '\n') == NULL;
}

/* bench_real - load the real corpus (unpacking the archive if given) */
static int
bench_real(const struct bench_opts *o, struct bench_set *s)
{
	char tmp[BENCH_PATH], cmd[3 * BENCH_PATH];
	const char *dir = o->corpus, *root;
	int n, rc = -1;

	if (dir == NULL) {
		struct stat st;

		if (stat(o->tgz, &st) != 0) {
			fprintf(stderr,
			    "bench_content: %s not found (use --tgz or "
			    "--corpus)\n",
			    o->tgz);
			return -1;
		}
		root = getenv("TMPDIR");
		n = snprintf(tmp, sizeof(tmp), "%s/mxcontent.XXXXXX",
		    root && *root ? root : "/tmp");
		if (n < 0 || (size_t)n >= sizeof(tmp) || !bench_quote_ok(tmp) ||
		    !bench_quote_ok(o->tgz) || mkdtemp(tmp) == NULL)
			return -1;
		n = snprintf(
		    cmd, sizeof(cmd), "tar xzf '%s' -C '%s'", o->tgz, tmp);
		if (n < 0 || (size_t)n >= sizeof(cmd) || system(cmd) != 0)
			goto leave;
		dir = tmp;
	}
	if (bench_load_dir(s, dir, "spam-1") != 0 ||
	    bench_load_dir(s, dir, "easy-ham-1") != 0) {
		fprintf(stderr,
		    "bench_content: no spam-1/ and easy-ham-1/ in %s\n", dir);
		goto leave;
	}
	rc = 0;
leave:
	if (o->corpus == NULL) {
		n = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (n > 0 && (size_t)n < sizeof(cmd) && system(cmd) != 0)
			fprintf(stderr, "bench_content: could not remove %s\n",
			    tmp);
	}
	return rc;
}

static const char *const bench_words[] = {"account", "offer", "meeting", "the",
    "and", "your", "report", "please", "free", "order", "today", "click",
    "project", "review", "price", "customer", "we", "will", "delivery",
    "update", "security", "team", "thanks", "invoice", "new", "limited", "time",
    "information", "message", "service", "change", "available", "support",
    "week", "results", "best", "regards"};

/* bench_text - size bytes of word salad with sentences and URLs */
static void
bench_text(struct bench_buf *b, size_t size, uint64_t *seed, int is_html)
{
	size_t start = b->n, col = 0;

	while (b->n - start < size) {
		uint64_t r = bench_rand(seed);
		const char *w = bench_words[r % (sizeof(bench_words) /
		                                    sizeof(bench_words[0]))];
		char url[96];

		if (r % 97 == 0) {
			int n = snprintf(url, sizeof(url),
			    is_html
			        ? "<a "
			          "href=\"http://www.site%u.example/p?id=%u\">"
			          "link</a> "
			        : "http://www.site%u.example/p?id=%u ",
			    (unsigned)(r >> 40) % 500,
			    (unsigned)(r >> 20) % 100000);

			if (n > 0 && (size_t)n < sizeof(url))
				bench_add(b, url, (size_t)n);
		} else if (is_html && r % 23 == 0) {
			bench_adds(b, "<b>");
			bench_adds(b, w);
			bench_adds(b, "</b> ");
		} else {
			bench_adds(b, w);
			bench_adds(b, r % 11 == 0 ? ". " : " ");
		}
		col += strlen(w) + 1;
		if (col > 66) {
			bench_adds(
			    b, is_html && r % 3 == 0 ? "<br>\r\n" : "\r\n");
			col = 0;
		}
	}
}

/* bench_qp - quoted-printable of src (76-column lines) */
static void
bench_qp(struct bench_buf *b, const char *src, size_t n)
{
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		char q[8];
		unsigned char c = (unsigned char)src[i];

		if (c == '\r' && i + 1 < n && src[i + 1] == '\n') {
			bench_adds(b, "\r\n");
			i++;
			col = 0;
			continue;
		}
		if (col >= 72) {
			bench_adds(b, "=\r\n");
			col = 0;
		}
		if (c == '=' || c >= 0x7f || c < 0x20) {
			int w = snprintf(q, sizeof(q), "=%02X", c);

			if (w != 3)
				exit(1);
			bench_add(b, q, 3);
			col += 3;
		} else {
			bench_add(b, &c, 1);
			col++;
		}
	}
	bench_adds(b, "\r\n");
}

/* bench_b64 - base64 of n bytes, 76-column lines */
static void
bench_b64(struct bench_buf *b, const uint8_t *u, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char line[80];
	size_t i, k = 0;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)u[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)u[i + 1] << 8;
		if (i + 2 < n)
			v |= u[i + 2];
		line[k++] = a[v >> 18];
		line[k++] = a[(v >> 12) & 63];
		line[k++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
		line[k++] = i + 2 < n ? a[v & 63] : '=';
		if (k == 76) {
			line[k++] = '\r';
			line[k++] = '\n';
			bench_add(b, line, k);
			k = 0;
		}
	}
	line[k++] = '\r';
	line[k++] = '\n';
	bench_add(b, line, k);
}

/* bench_blob - attachment bytes with a magic number, mostly random */
static uint8_t *
bench_blob(size_t n, uint64_t *seed, const char **name)
{
	static const char *const names[] = {
	    "photo.jpg", "report.pdf", "setup.exe", "files.zip", "data.bin"};
	static const char *const magic[] = {
	    "\xff\xd8\xff\xe0", "%PDF-1.5\n", "MZ\x90", "PK\x03\x04", ""};
	uint8_t *p = malloc(n + 16);
	size_t i, k = (size_t)(bench_rand(seed) % 5);

	if (p == NULL) {
		fprintf(stderr, "bench_content: out of memory\n");
		exit(1);
	}
	for (i = 0; i < n; i += 8) {
		uint64_t r = bench_rand(seed);

		memcpy(p + i, &r, 8);
	}
	memcpy(p, magic[k], strlen(magic[k]));
	*name = names[k];
	return p;
}

/* bench_gen_one - one generated message of about size bytes */
static void
bench_gen_one(struct bench_buf *b, size_t size, uint64_t *seed, unsigned id)
{
	struct bench_buf t = {NULL, 0, 0};
	uint64_t kind = bench_rand(seed) % 4;
	char hdr[512];
	int n;

	n = snprintf(hdr, sizeof(hdr),
	    "Return-Path: <b%u@sender.example>\r\n"
	    "Received: from mx.sender.example ([192.0.2.%u]) by "
	    "mx.example.com\r\n"
	    "From: \"Sender %u\" <s%u@sender.example>\r\n"
	    "To: <user@example.com>\r\nSubject: "
	    "=?UTF-8?Q?Message_%u_=E2=82=AC?=\r\n"
	    "Date: Tue, 4 Jun 2024 10:00:00 +0000\r\n"
	    "Message-ID: <%u.%llx@sender.example>\r\nMIME-Version: 1.0\r\n",
	    id, id % 250, id, id, id, id, (unsigned long long)bench_rand(seed));
	if (n > 0 && (size_t)n < sizeof(hdr))
		bench_add(b, hdr, (size_t)n);
	if (kind == 0) { /* plain */
		bench_adds(
		    b, "Content-Type: text/plain; charset=utf-8\r\n\r\n");
		bench_text(b, size, seed, 0);
	} else if (kind == 1) { /* alternative, QP */
		bench_adds(b,
		    "Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
		    "\r\n--alt\r\nContent-Type: text/plain; "
		    "charset=utf-8\r\nContent-Transfer-Encoding: "
		    "quoted-printable\r\n\r\n");
		bench_text(&t, size / 2, seed, 0);
		bench_qp(b, t.p, t.n);
		t.n = 0;
		bench_adds(b,
		    "--alt\r\nContent-Type: text/html; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		bench_adds(&t, "<html><body><p>");
		bench_text(&t, size / 2, seed, 1);
		bench_adds(&t, "</p></body></html>");
		bench_qp(b, t.p, t.n);
		bench_adds(b, "--alt--\r\n");
	} else if (kind == 2) { /* mixed with base64 attachments */
		size_t left = size, part;

		bench_adds(b,
		    "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n"
		    "--mix\r\nContent-Type: text/plain\r\n\r\n");
		bench_text(b, 1500, seed, 0);
		while (left > 1024) {
			const char *name;
			uint8_t *blob;

			part = left > 4096 ? 3 * left / 8 : left;
			blob = bench_blob(part * 3 / 4, seed, &name);
			n = snprintf(hdr, sizeof(hdr),
			    "--mix\r\nContent-Type: application/octet-stream; "
			    "name=\"%s\"\r\nContent-Disposition: attachment; "
			    "filename=\"%s\"\r\nContent-Transfer-Encoding: "
			    "base64\r\n\r\n",
			    name, name);
			if (n > 0 && (size_t)n < sizeof(hdr))
				bench_add(b, hdr, (size_t)n);
			bench_b64(b, blob, part * 3 / 4);
			free(blob);
			left -= part;
		}
		bench_adds(b, "--mix--\r\n");
	} else { /* base64 HTML */
		bench_adds(b, "Content-Type: text/html; charset=iso-8859-1\r\n"
		              "Content-Transfer-Encoding: base64\r\n\r\n");
		bench_adds(&t, "<html><head><style>p{}</style></head><body>");
		bench_text(&t, size * 3 / 4, seed, 1);
		bench_adds(&t, "</body></html>");
		bench_b64(b, (const uint8_t *)t.p, t.n);
	}
	free(t.p);
}

/* bench_generate - n messages, log-uniform 2 KiB to 2 MiB */
static void
bench_generate(struct bench_set *s, uint64_t n)
{
	uint64_t seed = 42, i;

	for (i = 0; i < n; i++) {
		struct bench_buf b = {NULL, 0, 0};
		double u =
		    (double)(bench_rand(&seed) >> 11) / 9007199254740992.0;
		size_t size =
		    (size_t)(BENCH_MIN_SIZE *
		             exp(u * log(BENCH_MAX_SIZE / BENCH_MIN_SIZE)));

		bench_gen_one(&b, size, &seed, (unsigned)i);
		bench_set_add(s, (uint8_t *)b.p, b.n);
	}
}

/* bench_run - reps timed passes over a set; prints one line per pass */
static int
bench_run(
    const char *label, const struct bench_set *s, const struct bench_opts *o)
{
	struct proto_content *c;
	uint64_t r;
	size_t i, peak = 0, urls = 0, att = 0, fps = 0;

	if (proto_content_new(NULL, NULL, &c) != 0)
		return -1;
	printf("%s: %zu messages, %.1f MB (CRLF), fed in %llu-byte chunks\n",
	    label, s->n, (double)s->bytes / 1e6, (unsigned long long)o->chunk);
	for (r = 0; r < o->reps; r++) {
		double t0 = bench_cpu(), dt;

		for (i = 0; i < s->n; i++) {
			const struct bench_msg *m = &s->m[i];
			size_t off = 0;

			if (proto_content_reset(c) != 0)
				goto fail;
			while (off < m->n) {
				size_t k = m->n - off < o->chunk
				               ? m->n - off
				               : (size_t)o->chunk;

				if (proto_content_feed(c, m->p + off, k) != 0)
					goto fail;
				off += k;
			}
			if (proto_content_finish(c) != 0)
				goto fail;
			if (proto_content_mem(c) > peak)
				peak = proto_content_mem(c);
			if (r == 0) {
				const struct proto_content_result *res =
				    proto_content_result(c);

				urls += res->n_urls;
				att += res->attach_total;
				fps += res->fp.is_valid;
			}
		}
		dt = bench_cpu() - t0;
		printf(
		    "  pass %llu: %.3f CPU s, %.1f MB/s, %.0f messages/s per "
		    "core\n",
		    (unsigned long long)r + 1, dt, (double)s->bytes / 1e6 / dt,
		    (double)s->n / dt);
	}
	printf("  outputs: %zu URL hosts, %zu attachments, %zu fingerprints; "
	       "peak state per message %zu bytes (bound %d)\n",
	    urls, att, fps, peak, PROTO_CONTENT_MEM_MAX);
	proto_content_free(c);
	return 0;
fail:
	fprintf(stderr, "bench_content: analyser failed\n");
	proto_content_free(c);
	return -1;
}

/* bench_usage - options */
static void
bench_usage(const char *argv0)
{
	fprintf(stderr,
	    "usage: %s [--tgz FILE | --corpus DIR] [--gen N] [--reps R] "
	    "[--chunk BYTES]\n",
	    argv0);
}

/* bench_num - one numeric option value */
static int
bench_num(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	return v == NULL ? MX_EINVAL
	                 : mx_parse_u64(v, strlen(v), min, max, out);
}

/* bench_args - parse the command line */
static int
bench_args(int argc, char **argv, struct bench_opts *o)
{
	int i;

	/* every option takes a value: two words a turn */
	for (i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (strcmp(argv[i], "--tgz") == 0 && v != NULL)
			o->tgz = v;
		else if (strcmp(argv[i], "--corpus") == 0 && v != NULL)
			o->corpus = v;
		else if (strcmp(argv[i], "--gen") == 0)
			rc = bench_num(v, 0, BENCH_GEN_MAX, &o->gen);
		else if (strcmp(argv[i], "--reps") == 0)
			rc = bench_num(v, 1, BENCH_REPS_MAX, &o->reps);
		else if (strcmp(argv[i], "--chunk") == 0)
			rc = bench_num(v, 1, BENCH_CHUNK_MAX, &o->chunk);
		else
			return -1;
		if (rc != 0)
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench_opts o = {NULL, NULL, 300, 3, 16384};
	struct bench_set real = {NULL, 0, 0, 0}, gen = {NULL, 0, 0, 0};
	char tgz[BENCH_PATH];
	const char *src = getenv("MX_SOURCE_DIR");
	size_t i;
	int rc = 1, n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	n = snprintf(tgz, sizeof(tgz),
	    "%s/../shared/corpus/spamassassin-dev.tgz",
	    src != NULL ? src : ".");
	if (n < 0 || (size_t)n >= sizeof(tgz))
		return 1;
	o.tgz = tgz;
	if (bench_args(argc, argv, &o) != 0) {
		bench_usage(argv[0]);
		return 2;
	}
	if (bench_real(&o, &real) != 0)
		goto leave;
	bench_generate(&gen, o.gen);
	if (bench_run("real corpus (spamassassin-dev)", &real, &o) != 0)
		goto leave;
	if (gen.n > 0 &&
	    bench_run("generated corpus (2 KiB - 2 MiB)", &gen, &o) != 0)
		goto leave;
	rc = 0;
leave:
	for (i = 0; i < real.n; i++)
		free(real.m[i].p);
	for (i = 0; i < gen.n; i++)
		free(gen.m[i].p);
	free(real.m);
	free(gen.m);
	return rc;
}
