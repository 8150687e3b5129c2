/*
 * edge_geo_test.c - unit tests of edge_geo.c: MaxMind DB lookups and the
 * geo_policy rules
 *
 * The group setup builds small databases at test time with
 * tests/data/make_mmdb.pl (MaxMind::DB::Writer, Debian's
 * libmaxmind-db-writer-perl) from tests/data/geo_test.spec into a scratch
 * directory under MX_TEST_TMP: a GeoLite2-Country and a GeoLite2-ASN
 * layout database (IPv6 with IPv4 aliased), an IPv4-only pair and a
 * "GeoLite2-City" typed one. A missing Perl module fails the test with
 * the reason; nothing is skipped. Asserted: v4, v4-mapped, v6, 6to4 and
 * not-found lookups, the registered_country fallback, ASN-only answers,
 * IPv6 asked of an IPv4-only database, concurrent readers; open errors
 * (missing, empty, truncated, garbled tree, garbled data record, wrong
 * type for the role) and that a database garbled at random either fails
 * to open or answers every lookup without MX_EIO; a database overwritten
 * in place under a reader gives MX_EIO with outputs untouched. Rules:
 * every syntax error, ranges, duplicates, the text and count limits at
 * the limit and one past, canonical format round trips; decide: AS over
 * country, allow, scores, ids and their buffer limit.
 * Trust: test data only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/mx_err.h"

#include "proto/proto_record.h"

#include "edge/edge.h"

#define GT_PATH_MAX 1024
#define GT_THREADS 4
#define GT_MUTANTS 300 /* randomly garbled copies opened and queried */

static char gt_dir[GT_PATH_MAX];      /* scratch directory */
static char gt_country[GT_PATH_MAX];  /* GeoLite2-Country, v6 + v4 alias */
static char gt_asn[GT_PATH_MAX];      /* GeoLite2-ASN, v6 + v4 alias */
static char gt_country4[GT_PATH_MAX]; /* IPv4-only country */
static char gt_asn4[GT_PATH_MAX];     /* IPv4-only ASN */
static char gt_city[GT_PATH_MAX];     /* typed GeoLite2-City */

/* gt_path_ok - safe to put inside single quotes in a shell command */
static int
gt_path_ok(const char *p)
{
	return strchr(p, '\'') == NULL;
}

/* gt_join - dir/name into out, asserting it fits */
static void
gt_join(char *out, const char *dir, const char *name)
{
	int w = snprintf(out, GT_PATH_MAX, "%s/%s", dir, name);

	assert_true(w > 0 && w < GT_PATH_MAX);
}

/* gt_run - run a shell command; fail with a hint when it does not exit 0 */
static void
gt_run(const char *cmd)
{
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("'%s' failed (status %d, exit %d): make_mmdb.pl needs "
		         "/usr/bin/perl with MaxMind::DB::Writer "
		         "(libmaxmind-db-writer-perl; ops/bootstrap installs "
		         "it); see its message above",
		    cmd, st, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* gt_setup - build the test databases with the Perl writer */
static int
gt_setup(void **state)
{
	const char *src = getenv("MX_SOURCE_DIR"), *tmp = getenv("MX_TEST_TMP");
	char script[GT_PATH_MAX], spec[GT_PATH_MAX], cmd[8 * GT_PATH_MAX];
	int w;

	(void)state;
	if (src == NULL)
		fail_msg("MX_SOURCE_DIR is not set (ctest sets it to the "
		         "repository root)");
	gt_join(script, src, "tests/data/make_mmdb.pl");
	gt_join(spec, src, "tests/data/geo_test.spec");
	if (access("/usr/bin/perl", X_OK) != 0)
		fail_msg("/usr/bin/perl not found: this test builds its "
		         "databases with Perl and does not skip");
	w = snprintf(gt_dir, sizeof(gt_dir), "%s/edge_geo_test.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_true(w > 0 && (size_t)w < sizeof(gt_dir));
	if (mkdtemp(gt_dir) == NULL)
		fail_msg("cannot create a directory %s", gt_dir);
	gt_join(gt_country, gt_dir, "country.mmdb");
	gt_join(gt_asn, gt_dir, "asn.mmdb");
	gt_join(gt_country4, gt_dir, "country4.mmdb");
	gt_join(gt_asn4, gt_dir, "asn4.mmdb");
	gt_join(gt_city, gt_dir, "city.mmdb");
	assert_true(
	    gt_path_ok(script) && gt_path_ok(spec) && gt_path_ok(gt_dir));
	w = snprintf(cmd, sizeof(cmd),
	    "/usr/bin/perl '%s' --spec '%s' --country '%s' --asn '%s'", script,
	    spec, gt_country, gt_asn);
	assert_true(w > 0 && (size_t)w < sizeof(cmd));
	gt_run(cmd);
	w = snprintf(cmd, sizeof(cmd),
	    "/usr/bin/perl '%s' --ip-version 4 --entry 'country 127.0.0.2/32 "
	    "DE' --entry 'asn 127.0.0.0/24 64500' --country '%s' --asn '%s'",
	    script, gt_country4, gt_asn4);
	assert_true(w > 0 && (size_t)w < sizeof(cmd));
	gt_run(cmd);
	w = snprintf(cmd, sizeof(cmd),
	    "/usr/bin/perl '%s' --country-type GeoLite2-City --spec '%s' "
	    "--country '%s'",
	    script, spec, gt_city);
	assert_true(w > 0 && (size_t)w < sizeof(cmd));
	gt_run(cmd);
	return 0;
}

/* gt_teardown - remove the scratch directory */
static int
gt_teardown(void **state)
{
	char cmd[GT_PATH_MAX + 32];
	int w;

	(void)state;
	if (gt_dir[0] == '\0' || !gt_path_ok(gt_dir))
		return 0;
	w = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", gt_dir);
	if (w > 0 && (size_t)w < sizeof(cmd) && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", gt_dir);
	return 0;
}

/* gt_addr - text address to 16 bytes, IPv4 as v4-mapped */
static void
gt_addr(const char *text, uint8_t out[16])
{
	uint8_t v4[4];

	if (inet_pton(AF_INET, text, v4) == 1) {
		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, v4, 4);
		return;
	}
	if (inet_pton(AF_INET6, text, out) != 1)
		fail_msg("bad test address %s", text);
}

/* gt_expect - lookup of text gives rc, cc and asn */
static void
gt_expect(const struct edge_geo *g, const char *text, int rc, const char *cc,
    uint32_t asn)
{
	uint8_t a[16];
	char got_cc[3] = "ZZ";
	uint32_t got_asn = 777;
	int got;

	gt_addr(text, a);
	got = edge_geo_lookup(g, a, got_cc, &got_asn);
	if (got != rc || strcmp(got_cc, cc) != 0 || got_asn != asn)
		fail_msg("%s: got rc %d cc '%s' asn %u, want rc %d cc '%s' "
		         "asn %u",
		    text, got, got_cc, (unsigned)got_asn, rc, cc,
		    (unsigned)asn);
}

/* gt_open - open country (+ asn) and assert success */
static struct edge_geo *
gt_open(const char *country, const char *asn)
{
	struct edge_geo *g = NULL;
	char err[EDGE_GEO_ERR_MAX] = "";
	int rc;

	rc = edge_geo_open(country, asn, &g, err, sizeof(err));
	if (rc != 0)
		fail_msg(
		    "open %s / %s: %d %s", country, asn ? asn : "-", rc, err);
	assert_non_null(g);
	return g;
}

/* gt_open_fails - open gives rc and an error mentioning each fragment */
static void
gt_open_fails(const char *country, const char *asn, int rc, const char *frag1,
    const char *frag2)
{
	struct edge_geo *g = (struct edge_geo *)&g;
	struct edge_geo *const sentinel = g;
	char err[EDGE_GEO_ERR_MAX] = "";
	int got;

	got = edge_geo_open(country, asn, &g, err, sizeof(err));
	if (got != rc)
		fail_msg("open %s / %s: got %d (%s), want %d",
		    country ? country : "(null)", asn ? asn : "-", got, err,
		    rc);
	assert_ptr_equal(g, sentinel);
	if (frag1 != NULL && strstr(err, frag1) == NULL)
		fail_msg("error '%s' lacks '%s'", err, frag1);
	if (frag2 != NULL && strstr(err, frag2) == NULL)
		fail_msg("error '%s' lacks '%s'", err, frag2);
}

/* gt_read - a whole file into a malloc'ed buffer */
static uint8_t *
gt_read(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *p;
	FILE *f;

	assert_int_equal(stat(path, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(p, 1, (size_t)st.st_size, f), st.st_size);
	fclose(f);
	*len = (size_t)st.st_size;
	return p;
}

/* gt_write - write bytes to path (replacing it) */
static void
gt_write(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (len > 0)
		assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* gt_layout - where the data section starts and the data offset of ip */
static void
gt_layout(
    const char *path, const char *ip, size_t *data_start, uint32_t *offset)
{
	MMDB_s db;
	MMDB_lookup_result_s res;
	int gai, merr;

	assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &db), MMDB_SUCCESS);
	*data_start = (size_t)(db.data_section - db.file_content);
	res = MMDB_lookup_string(&db, ip, &gai, &merr);
	assert_int_equal(gai, 0);
	assert_int_equal(merr, MMDB_SUCCESS);
	assert_true(res.found_entry);
	*offset = res.entry.offset;
	MMDB_close(&db);
}

/* ---- lookups ---- */

/* gt_lookup_v4 - IPv4 clients in the loopback test ranges */
static void
gt_lookup_v4(void **state)
{
	struct edge_geo *g = gt_open(gt_country, gt_asn);

	(void)state;
	gt_expect(g, "127.0.0.2", 0, "DE", 64500);
	gt_expect(g, "127.0.0.3", 0, "CN", 0);
	gt_expect(g, "127.0.1.5", 0, "US", 64501);
	gt_expect(g, "127.0.1.127", 0, "US", 64501);
	gt_expect(g, "127.0.1.128", 0, "GB", 64501); /* longer prefix */
	gt_expect(g, "127.0.1.255", 0, "GB", 64501);
	gt_expect(g, "127.0.2.9", 0, "FR", 0);   /* registered_country only */
	gt_expect(g, "127.0.3.1", 0, "", 64502); /* ASN known, country not */
	gt_expect(g, "127.0.0.1", MX_ENOTFOUND, "", 0);
	gt_expect(g, "127.0.0.4", MX_ENOTFOUND, "", 0);
	gt_expect(g, "192.0.2.1", MX_ENOTFOUND, "", 0);
	gt_expect(g, "0.0.0.0", MX_ENOTFOUND, "", 0);
	gt_expect(g, "255.255.255.255", MX_ENOTFOUND, "", 0);
	edge_geo_free(g);
}

/* gt_lookup_mapped - v4-mapped given as IPv6 text is the IPv4 client */
static void
gt_lookup_mapped(void **state)
{
	struct edge_geo *g = gt_open(gt_country, gt_asn);

	(void)state;
	gt_expect(g, "::ffff:127.0.0.2", 0, "DE", 64500);
	gt_expect(g, "::ffff:127.0.1.200", 0, "GB", 64501);
	gt_expect(g, "::ffff:127.0.0.1", MX_ENOTFOUND, "", 0);
	edge_geo_free(g);
}

/* gt_lookup_v6 - IPv6 clients, 6to4 aliasing and IPv6 not found */
static void
gt_lookup_v6(void **state)
{
	struct edge_geo *g = gt_open(gt_country, gt_asn);

	(void)state;
	gt_expect(g, "2001:db8::5", 0, "NL", 64496);
	gt_expect(g, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 0, "NL", 64496);
	gt_expect(g, "::1", 0, "US", 0);
	/* 6to4 2002:7f00:0002::/48 is aliased to 127.0.0.2 */
	gt_expect(g, "2002:7f00:2::1", 0, "DE", 64500);
	gt_expect(g, "2001:db9::1", MX_ENOTFOUND, "", 0);
	gt_expect(g, "100::1", MX_ENOTFOUND, "", 0);
	gt_expect(g, "fe80::1", MX_ENOTFOUND, "", 0);
	gt_expect(
	    g, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", MX_ENOTFOUND, "", 0);
	edge_geo_free(g);
}

/* gt_lookup_no_asn_db - without an ASN database asn is always 0 */
static void
gt_lookup_no_asn_db(void **state)
{
	struct edge_geo *g;

	(void)state;
	g = gt_open(gt_country, NULL);
	gt_expect(g, "127.0.0.2", 0, "DE", 0);
	gt_expect(g, "127.0.3.1", MX_ENOTFOUND, "", 0);
	gt_expect(g, "2001:db8::5", 0, "NL", 0);
	edge_geo_free(g);
	g = gt_open(gt_country, "");
	gt_expect(g, "127.0.0.2", 0, "DE", 0);
	edge_geo_free(g);
}

/* gt_lookup_ipv4_db - IPv6 asked of an IPv4-only database is unknown */
static void
gt_lookup_ipv4_db(void **state)
{
	struct edge_geo *g = gt_open(gt_country4, gt_asn4);

	(void)state;
	gt_expect(g, "127.0.0.2", 0, "DE", 64500);
	gt_expect(g, "::ffff:127.0.0.2", 0, "DE", 64500);
	gt_expect(g, "127.0.0.9", 0, "", 64500);
	gt_expect(g, "127.0.1.1", MX_ENOTFOUND, "", 0);
	gt_expect(g, "2001:db8::5", MX_ENOTFOUND, "", 0);
	gt_expect(g, "::1", MX_ENOTFOUND, "", 0);
	edge_geo_free(g);
	/* an IPv6 country database with an IPv4-only ASN database */
	g = gt_open(gt_country, gt_asn4);
	gt_expect(g, "2001:db8::5", 0, "NL", 0);
	gt_expect(g, "127.0.0.3", 0, "CN", 64500);
	edge_geo_free(g);
}

/* gt_lookup_city - a City-typed database serves the country role */
static void
gt_lookup_city(void **state)
{
	struct edge_geo *g = gt_open(gt_city, gt_asn);
	char line[256];

	(void)state;
	gt_expect(g, "127.0.0.2", 0, "DE", 64500);
	assert_int_equal(edge_geo_describe(g, line, sizeof(line)), 0);
	assert_non_null(strstr(line, "country=GeoLite2-City built="));
	edge_geo_free(g);
}

/* gt_describe - the log line names both databases; buffer limit */
static void
gt_describe(void **state)
{
	struct edge_geo *g = gt_open(gt_country, gt_asn);
	char line[256], small[20];

	(void)state;
	assert_int_equal(edge_geo_describe(g, line, sizeof(line)), 0);
	assert_non_null(strstr(line, "country=GeoLite2-Country built=20"));
	assert_non_null(strstr(line, " asn=GeoLite2-ASN built=20"));
	assert_int_equal(
	    edge_geo_describe(g, small, sizeof(small)), MX_ETOOBIG);
	assert_true(strlen(small) < sizeof(small));
	assert_int_equal(edge_geo_describe(g, small, 0), MX_ETOOBIG);
	edge_geo_free(g);
	edge_geo_free(NULL);
}

/* what one reader thread checks */
struct gt_reader {
	const struct edge_geo *g;
	int bad; /* wrong answers seen */
};

/* gt_reader_run - many lookups with known answers */
static void *
gt_reader_run(void *arg)
{
	struct gt_reader *r = arg;
	uint8_t de[16], nl[16], none[16];
	char cc[3];
	uint32_t asn;
	int i;

	gt_addr("127.0.0.2", de);
	gt_addr("2001:db8::7", nl);
	gt_addr("127.0.0.1", none);
	for (i = 0; i < 20000; i++) {
		if (edge_geo_lookup(r->g, de, cc, &asn) != 0 ||
		    strcmp(cc, "DE") != 0 || asn != 64500)
			r->bad++;
		if (edge_geo_lookup(r->g, nl, cc, &asn) != 0 ||
		    strcmp(cc, "NL") != 0 || asn != 64496)
			r->bad++;
		if (edge_geo_lookup(r->g, none, cc, &asn) != MX_ENOTFOUND)
			r->bad++;
	}
	return NULL;
}

/* gt_lookup_threads - concurrent readers share one edge_geo */
static void
gt_lookup_threads(void **state)
{
	struct edge_geo *g = gt_open(gt_country, gt_asn);
	struct gt_reader r[GT_THREADS];
	pthread_t t[GT_THREADS];
	int i;

	(void)state;
	for (i = 0; i < GT_THREADS; i++) {
		r[i].g = g;
		r[i].bad = 0;
		assert_int_equal(
		    pthread_create(&t[i], NULL, gt_reader_run, &r[i]), 0);
	}
	for (i = 0; i < GT_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(r[i].bad, 0);
	}
	edge_geo_free(g);
}

/* gt_lookup_overwritten - a file rewritten in place under a reader */
static void
gt_lookup_overwritten(void **state)
{
	char path[GT_PATH_MAX];
	uint8_t a[16], *p;
	struct edge_geo *g;
	char cc[3] = "QQ";
	uint32_t asn = 4242, off;
	size_t len, data_start;
	int fd;

	(void)state;
	gt_join(path, gt_dir, "inplace.mmdb");
	p = gt_read(gt_country, &len);
	gt_write(path, p, len);
	g = gt_open(path, NULL);
	gt_expect(g, "127.0.0.2", 0, "DE", 0);
	/*
	 * cp over a live database rewrites the mapped pages: here every
	 * search-tree record now points past the file (the whole tree,
	 * since IPv4 lookups start at a node found at open, not the root).
	 * The reader must see MX_EIO with its outputs untouched; operators
	 * replace the file by rename, as geoipupdate does.
	 */
	gt_layout(gt_country, "127.0.0.2", &data_start, &off);
	assert_true(data_start > 16 && data_start < len);
	memset(p, 0xff, data_start - 16);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(
	    pwrite(fd, p, data_start - 16, 0), (ssize_t)(data_start - 16));
	assert_int_equal(close(fd), 0);
	free(p);
	gt_addr("127.0.0.2", a);
	assert_int_equal(edge_geo_lookup(g, a, cc, &asn), MX_EIO);
	assert_string_equal(cc, "QQ");
	assert_int_equal(asn, 4242);
	gt_addr("2001:db8::1", a);
	assert_int_equal(edge_geo_lookup(g, a, cc, &asn), MX_EIO);
	edge_geo_free(g);
	/* and the rewritten file no longer opens */
	gt_open_fails(path, NULL, MX_EIO, "geo_db", "corrupt search tree");
	unlink(path);
}

/* ---- open errors ---- */

/* gt_open_missing - a missing file names the parameter, path and errno */
static void
gt_open_missing(void **state)
{
	char path[GT_PATH_MAX];

	(void)state;
	gt_join(path, gt_dir, "no-such.mmdb");
	gt_open_fails(path, NULL, MX_EIO, "geo_db", "No such file");
	gt_open_fails(path, NULL, MX_EIO, path, NULL);
	gt_open_fails(gt_country, path, MX_EIO, "geo_asn_db", "No such file");
	gt_open_fails(NULL, gt_asn, MX_EINVAL, "geo_db", NULL);
	gt_open_fails("", gt_asn, MX_EINVAL, "geo_db", NULL);
	gt_open_fails(gt_dir, NULL, MX_EIO, gt_dir, "not a regular file");
}

/* gt_open_corrupt - empty, truncated, garbled tree, garbled data */
static void
gt_open_corrupt(void **state)
{
	char path[GT_PATH_MAX];
	uint8_t *p, *q, bad_ptr[5] = {0x38, 0xff, 0xff, 0xff, 0xff};
	size_t len, data_start;
	uint32_t off;

	(void)state;
	gt_join(path, gt_dir, "corrupt.mmdb");
	p = gt_read(gt_country, &len);
	q = malloc(len);
	assert_non_null(q);

	gt_write(path, p, 0);
	gt_open_fails(path, NULL, MX_EIO, "geo_db", "empty file");

	/* the metadata sits at the end: a cut file has none */
	gt_write(path, p, len / 2);
	gt_open_fails(path, NULL, MX_EIO, "geo_db", "not a usable MaxMind");
	gt_write(path, p, len - 8);
	gt_open_fails(path, NULL, MX_EIO, "geo_db", "not a usable MaxMind");

	/* not a database at all */
	memset(q, 'x', len);
	gt_write(path, q, len);
	gt_open_fails(path, NULL, MX_EIO, "geo_db", "not a usable MaxMind");

	/* root node's records point past the file */
	memcpy(q, p, len);
	memset(q, 0xff, 6);
	gt_write(path, q, len);
	gt_open_fails(path, NULL, MX_EIO, "geo_db", "corrupt search tree");

	/* a search node whose records loop back on themselves */
	memcpy(q, p, len);
	memset(q + 3, 0, 3);
	gt_write(path, q, len);
	gt_open_fails(path, NULL, MX_EIO, "geo_db", "corrupt search tree");

	/* DE's record becomes a pointer far past the data section */
	gt_layout(gt_country, "127.0.0.2", &data_start, &off);
	memcpy(q, p, len);
	assert_true(data_start + off + sizeof(bad_ptr) <= len);
	memcpy(q + data_start + off, bad_ptr, sizeof(bad_ptr));
	gt_write(path, q, len);
	gt_open_fails(path, NULL, MX_EIO, "geo_db", "corrupt data record");

	/* the same damage in the ASN database names geo_asn_db */
	free(p);
	p = gt_read(gt_asn, &len);
	gt_layout(gt_asn, "127.0.0.2", &data_start, &off);
	assert_true(data_start + off + sizeof(bad_ptr) <= len);
	memcpy(p + data_start + off, bad_ptr, sizeof(bad_ptr));
	gt_write(path, p, len);
	gt_open_fails(
	    gt_country, path, MX_EIO, "geo_asn_db", "corrupt data record");
	unlink(path);
	free(q);
	free(p);
}

/* gt_open_wrong_type - a database of the wrong kind for its role */
static void
gt_open_wrong_type(void **state)
{
	(void)state;
	gt_open_fails(gt_country, gt_country, MX_ETYPE, "geo_asn_db",
	    "'GeoLite2-Country' is not an ASN database");
	gt_open_fails(gt_asn, NULL, MX_ETYPE, "geo_db",
	    "'GeoLite2-ASN' is not a Country or City database");
	gt_open_fails(gt_asn, gt_country, MX_ETYPE, "geo_db", NULL);
	gt_open_fails(gt_country, gt_city, MX_ETYPE, "geo_asn_db", NULL);
}

/* gt_open_err_buffers - tiny and missing error buffers */
static void
gt_open_err_buffers(void **state)
{
	struct edge_geo *g = NULL;
	char err[8];

	(void)state;
	assert_int_equal(edge_geo_open(gt_asn, NULL, &g, NULL, 0), MX_ETYPE);
	memset(err, 'x', sizeof(err));
	assert_int_equal(
	    edge_geo_open(gt_asn, NULL, &g, err, sizeof(err)), MX_ETYPE);
	assert_string_equal(err, "geo_...");
	assert_null(g);
}

/* gt_next - xorshift32, so every run garbles the same bytes */
static uint32_t
gt_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* gt_open_random_garble - open fails cleanly or every lookup answers */
static void
gt_open_random_garble(void **state)
{
	static const char *const ips[] = {"127.0.0.2", "127.0.0.3", "127.0.1.5",
	    "127.0.1.200", "127.0.2.9", "127.0.3.1", "127.0.0.1", "192.0.2.1",
	    "2001:db8::5", "::1", "2002:7f00:2::1", "100::1", "0.0.0.0",
	    "255.255.255.255", "ffff::1", "::"};
	const char *srcs[2] = {gt_country, gt_asn};
	char path[GT_PATH_MAX], cc[3];
	uint8_t *p, *q, a[16];
	struct edge_geo *g;
	uint32_t seed = 0x6e6f7465, asn;
	size_t len, i, k, n_open = 0, n_fail = 0;
	int m, rc, role;

	(void)state;
	gt_join(path, gt_dir, "garbled.mmdb");
	for (role = 0; role < 2; role++) {
		p = gt_read(srcs[role], &len);
		q = malloc(len);
		assert_non_null(q);
		for (m = 0; m < GT_MUTANTS; m++) {
			memcpy(q, p, len);
			/* one to four bytes anywhere in the file */
			for (k = gt_next(&seed) % 4 + 1; k > 0; k--)
				q[gt_next(&seed) % len] =
				    (uint8_t)gt_next(&seed);
			gt_write(path, q, len);
			g = NULL;
			rc = role == 0
			         ? edge_geo_open(path, NULL, &g, NULL, 0)
			         : edge_geo_open(gt_country, path, &g, NULL, 0);
			if (rc != 0) {
				assert_true(rc == MX_EIO || rc == MX_ETYPE);
				n_fail++;
				continue;
			}
			n_open++;
			for (i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
				gt_addr(ips[i], a);
				rc = edge_geo_lookup(g, a, cc, &asn);
				if (rc != 0 && rc != MX_ENOTFOUND)
					fail_msg("mutant %d of role %d: %s "
					         "gives %d after a clean open",
					    m, role, ips[i], rc);
				assert_true(strlen(cc) == 0 || strlen(cc) == 2);
			}
			edge_geo_free(g);
		}
		free(q);
		free(p);
	}
	/* both outcomes happen, or the test is not testing much */
	assert_true(n_open > 0 && n_fail > 0);
	unlink(path);
}

/* ---- rules ---- */

/* gt_add - add a NUL-terminated rule; returns the code */
static int
gt_add(struct edge_geo_rules *r, const char *text)
{
	char err[EDGE_GEO_ERR_MAX] = "";
	size_t n = r->n;
	int rc;

	rc = edge_geo_rule_add(r, text, strlen(text), err, sizeof(err));
	if (rc != 0) {
		/* failure: a reason, and the table untouched */
		assert_true(err[0] != '\0');
		assert_int_equal(r->n, n);
	} else {
		assert_int_equal(r->n, n + 1);
	}
	return rc;
}

/* gt_rule_is - the last rule added */
static void
gt_rule_is(const struct edge_geo_rules *r, uint8_t kind, const char *cc,
    uint32_t asn, uint8_t action, int32_t score)
{
	const struct edge_geo_rule *x = &r->rule[r->n - 1];

	assert_int_equal(x->kind, kind);
	assert_string_equal(x->cc, cc);
	assert_int_equal(x->asn, asn);
	assert_int_equal(x->action, action);
	assert_int_equal(x->score, score);
}

/* gt_rules_valid - every form the syntax allows */
static void
gt_rules_valid(void **state)
{
	static struct edge_geo_rules r;

	(void)state;
	edge_geo_rules_init(&r);
	assert_int_equal(gt_add(&r, "DE=reject"), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_COUNTRY, "DE", 0, PROTO_ACT_REJECT, 0);
	assert_int_equal(gt_add(&r, "cn=TEMPFAIL"), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_COUNTRY, "CN", 0, PROTO_ACT_TEMPFAIL, 0);
	assert_int_equal(gt_add(&r, " \tuS =\t Allow  "), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_COUNTRY, "US", 0, PROTO_ACT_ALLOW, 0);
	assert_int_equal(gt_add(&r, "Gb=Score:7"), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_COUNTRY, "GB", 0, PROTO_ACT_SCORE, 7);
	/* "AS" alone is American Samoa, not an AS number */
	assert_int_equal(gt_add(&r, "AS=reject"), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_COUNTRY, "AS", 0, PROTO_ACT_REJECT, 0);
	assert_int_equal(gt_add(&r, "AS64500=score:5"), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_ASN, "", 64500, PROTO_ACT_SCORE, 5);
	assert_int_equal(gt_add(&r, "as64501 = score:-1000"), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_ASN, "", 64501, PROTO_ACT_SCORE, -1000);
	assert_int_equal(gt_add(&r, "aS4294967295=score:1000"), 0);
	gt_rule_is(
	    &r, EDGE_GEO_RULE_ASN, "", 4294967295u, PROTO_ACT_SCORE, 1000);
	assert_int_equal(gt_add(&r, "AS1=allow"), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_ASN, "", 1, PROTO_ACT_ALLOW, 0);
	assert_int_equal(gt_add(&r, "AS007=tempfail"), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_ASN, "", 7, PROTO_ACT_TEMPFAIL, 0);
	assert_int_equal(gt_add(&r, "NL=score:0"), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_COUNTRY, "NL", 0, PROTO_ACT_SCORE, 0);
	assert_int_equal(gt_add(&r, "FR=score:-0"), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_COUNTRY, "FR", 0, PROTO_ACT_SCORE, 0);
	/* only the first len bytes count */
	assert_int_equal(edge_geo_rule_add(&r, "IT=allowXX", 8, NULL, 0), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_COUNTRY, "IT", 0, PROTO_ACT_ALLOW, 0);
	edge_geo_rules_fini(&r);
	assert_int_equal(r.n, 0);
}

/* gt_rules_invalid - each syntax error is MX_EINVAL with a reason */
static void
gt_rules_invalid(void **state)
{
	static const char *const bad[] = {"", " ", "\t\t", "DE", "reject",
	    "=reject", "=", "DE=", "DE= ", " =allow", "DEU=reject", "D=reject",
	    "D1=reject", "1D=reject", "D-=reject", "*=reject",
	    "AS=", "AS=score", "ASN64500=reject", "AS0x10=reject",
	    "AS-5=reject", "AS+5=reject", "AS 64500=reject", "AS64500x=reject",
	    "A S=reject", "64500=reject", "DE=block", "DE=rejects",
	    "DE=re ject", "DE=Reject!", "DE=score", "DE=score:", "DE=score: 5",
	    "DE=score:+5", "DE=score:5x", "DE=score:1.5", "DE=score:--5",
	    "DE=score=5", "DE=reject=allow", "DE==reject", "DE=reject\n",
	    "DE\n=reject", "DE=reject\r", "\xc3\x84\xc3\x96=reject",
	    "D\xff=reject", "DE=\xff"};
	static struct edge_geo_rules r;
	char err[EDGE_GEO_ERR_MAX];
	size_t i;

	(void)state;
	edge_geo_rules_init(&r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (gt_add(&r, bad[i]) != MX_EINVAL)
			fail_msg("'%s' not refused as MX_EINVAL", bad[i]);
	}
	/* an embedded NUL is a byte like any other */
	assert_int_equal(
	    edge_geo_rule_add(&r, "D\0=reject", 9, err, sizeof(err)),
	    MX_EINVAL);
	assert_int_equal(
	    edge_geo_rule_add(&r, "DE=reject\0", 10, err, sizeof(err)),
	    MX_EINVAL);
	assert_int_equal(r.n, 0);
	/* messages say what is wrong, and never carry control bytes */
	assert_int_equal(
	    edge_geo_rule_add(&r, "DE=block\x01", 9, err, sizeof(err)),
	    MX_EINVAL);
	assert_non_null(strstr(err, "action 'block?'"));
	assert_non_null(strstr(err, "reject, tempfail, allow or score:N"));
	assert_int_equal(gt_add(&r, "DEU=reject"), MX_EINVAL);
	assert_int_equal(
	    edge_geo_rule_add(&r, "DEU=x", 5, err, sizeof(err)), MX_EINVAL);
	assert_non_null(strstr(err, "key 'DEU'"));
	assert_int_equal(
	    edge_geo_rule_add(&r, "nothing", 7, err, sizeof(err)), MX_EINVAL);
	assert_non_null(strstr(err, "KEY=ACTION"));
	/* a tiny buffer gets a cut, terminated message */
	assert_int_equal(edge_geo_rule_add(&r, "DEU=x", 5, err, 10), MX_EINVAL);
	assert_int_equal(strlen(err), 9);
	assert_string_equal(err + 6, "...");
	assert_int_equal(edge_geo_rule_add(&r, "DEU=x", 5, NULL, 0), MX_EINVAL);
}

/* gt_rules_range - numbers outside their bounds are MX_ERANGE */
static void
gt_rules_range(void **state)
{
	static const char *const bad[] = {"AS0=reject", "AS00=reject",
	    "AS4294967296=reject", "AS99999999999999999999999=reject",
	    "DE=score:1001", "DE=score:-1001", "DE=score:2147483648",
	    "DE=score:-99999999999999999999", "AS1=score:1001"};
	static struct edge_geo_rules r;
	char err[EDGE_GEO_ERR_MAX];
	size_t i;

	(void)state;
	edge_geo_rules_init(&r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (gt_add(&r, bad[i]) != MX_ERANGE)
			fail_msg("'%s' not refused as MX_ERANGE", bad[i]);
	}
	assert_int_equal(
	    edge_geo_rule_add(&r, "AS0=allow", 9, err, sizeof(err)), MX_ERANGE);
	assert_non_null(strstr(err, "AS1..AS4294967295"));
	assert_int_equal(
	    edge_geo_rule_add(&r, "DE=score:1001", 13, err, sizeof(err)),
	    MX_ERANGE);
	assert_non_null(strstr(err, "score:-1000..score:1000"));
}

/* gt_rules_dup - a second rule for the same key is refused */
static void
gt_rules_dup(void **state)
{
	static struct edge_geo_rules r;
	char err[EDGE_GEO_ERR_MAX];

	(void)state;
	edge_geo_rules_init(&r);
	assert_int_equal(gt_add(&r, "DE=reject"), 0);
	assert_int_equal(gt_add(&r, "DE=reject"), MX_EDUP);
	assert_int_equal(gt_add(&r, "de=allow"), MX_EDUP);
	assert_int_equal(gt_add(&r, "AS64500=allow"), 0);
	assert_int_equal(gt_add(&r, "AS064500=score:3"), MX_EDUP);
	assert_int_equal(
	    edge_geo_rule_add(&r, "as64500=reject", 14, err, sizeof(err)),
	    MX_EDUP);
	assert_non_null(strstr(err, "second rule for AS64500"));
	assert_int_equal(
	    edge_geo_rule_add(&r, " De = tempfail", 14, err, sizeof(err)),
	    MX_EDUP);
	assert_non_null(strstr(err, "second rule for country DE"));
	/* a country and an AS are different keys; so is American Samoa */
	assert_int_equal(gt_add(&r, "AS=score:1"), 0);
	assert_int_equal(gt_add(&r, "AS1=score:1"), 0);
	assert_int_equal(r.n, 4);
}

/* gt_rules_text_limit - EDGE_GEO_RULE_TEXT_MAX bytes, and one more */
static void
gt_rules_text_limit(void **state)
{
	static struct edge_geo_rules r;
	char text[EDGE_GEO_RULE_TEXT_MAX + 2], err[EDGE_GEO_ERR_MAX];
	size_t len;

	(void)state;
	edge_geo_rules_init(&r);
	/* "AS000…0064500=reject", exactly the limit long */
	memset(text, '0', sizeof(text));
	memcpy(text, "AS", 2);
	memcpy(text + EDGE_GEO_RULE_TEXT_MAX - 12, "64500=reject", 12);
	len = EDGE_GEO_RULE_TEXT_MAX;
	assert_int_equal(edge_geo_rule_add(&r, text, len, err, sizeof(err)), 0);
	gt_rule_is(&r, EDGE_GEO_RULE_ASN, "", 64500, PROTO_ACT_REJECT, 0);
	/* one byte more, even of blanks, is refused before parsing */
	text[len] = ' ';
	assert_int_equal(
	    edge_geo_rule_add(&r, text, len + 1, err, sizeof(err)), MX_ETOOBIG);
	assert_non_null(strstr(err, "longer than 64 bytes"));
	memset(text, ' ', sizeof(text));
	memcpy(text, "FR=allow", 8);
	assert_int_equal(edge_geo_rule_add(&r, text, len, err, sizeof(err)), 0);
	assert_int_equal(
	    edge_geo_rule_add(&r, text, len + 1, err, sizeof(err)), MX_ETOOBIG);
	assert_int_equal(r.n, 2);
}

/* gt_rules_count_limit - EDGE_GEO_RULES_MAX rules, and one more */
static void
gt_rules_count_limit(void **state)
{
	static struct edge_geo_rules r;
	char text[32], err[EDGE_GEO_ERR_MAX];
	int i, w;

	(void)state;
	edge_geo_rules_init(&r);
	for (i = 1; i <= EDGE_GEO_RULES_MAX; i++) {
		w = snprintf(text, sizeof(text), "AS%d=score:%d", i, i % 100);
		assert_true(w > 0 && (size_t)w < sizeof(text));
		assert_int_equal(gt_add(&r, text), 0);
	}
	assert_int_equal(r.n, EDGE_GEO_RULES_MAX);
	assert_int_equal(
	    edge_geo_rule_add(&r, "DE=reject", 9, err, sizeof(err)), MX_ELIMIT);
	assert_non_null(strstr(err, "more than 512 rules"));
	/* syntax and duplicates are still told apart at the limit */
	assert_int_equal(gt_add(&r, "AS1=allow"), MX_EDUP);
	assert_int_equal(gt_add(&r, "D=allow"), MX_EINVAL);
	assert_int_equal(r.n, EDGE_GEO_RULES_MAX);
	/* the last one counts like the first */
	{
		int32_t score = 0;
		uint8_t action = 9;

		assert_int_equal(edge_geo_decide(&r, "", EDGE_GEO_RULES_MAX,
		                     &score, &action, NULL, 0),
		    0);
		assert_int_equal(score, EDGE_GEO_RULES_MAX % 100);
	}
}

/* gt_rules_format - canonical text reads back to the same rule */
static void
gt_rules_format(void **state)
{
	static const char *const in[] = {"de=REJECT", " cn = tempfail",
	    "US=allow", "gb=score:-1000", "AS=score:1000", "as64500=allow",
	    "AS0004294967295=score:-3", "AS1=reject"};
	static const char *const want[] = {"DE=reject", "CN=tempfail",
	    "US=allow", "GB=score:-1000", "AS=score:1000", "AS64500=allow",
	    "AS4294967295=score:-3", "AS1=reject"};
	static struct edge_geo_rules r, r2;
	struct edge_geo_rule bad;
	char buf[EDGE_GEO_RULE_TEXT_MAX + 1];
	size_t i;

	(void)state;
	edge_geo_rules_init(&r);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_int_equal(gt_add(&r, in[i]), 0);
		assert_int_equal(
		    edge_geo_rule_format(&r.rule[i], buf, sizeof(buf)), 0);
		assert_string_equal(buf, want[i]);
		edge_geo_rules_init(&r2);
		assert_int_equal(gt_add(&r2, buf), 0);
		gt_rule_is(&r2, r.rule[i].kind, r.rule[i].cc, r.rule[i].asn,
		    r.rule[i].action, r.rule[i].score);
	}
	/* "AS4294967295=score:-3" is 21 bytes: 22 fit, 21 do not */
	assert_int_equal(edge_geo_rule_format(&r.rule[6], buf, 22), 0);
	assert_int_equal(edge_geo_rule_format(&r.rule[6], buf, 21), MX_ETOOBIG);
	assert_int_equal(edge_geo_rule_format(&r.rule[6], buf, 0), MX_ETOOBIG);
	memset(&bad, 0, sizeof(bad));
	assert_int_equal(
	    edge_geo_rule_format(&bad, buf, sizeof(buf)), MX_EINVAL);
	bad = r.rule[0];
	bad.action = 99;
	assert_int_equal(
	    edge_geo_rule_format(&bad, buf, sizeof(buf)), MX_EINVAL);
	bad = r.rule[3];
	bad.score = 5000;
	assert_int_equal(
	    edge_geo_rule_format(&bad, buf, sizeof(buf)), MX_EINVAL);
}

/* ---- decide ---- */

/* gt_decide_is - decide(cc, asn) matches with action, score and id */
static void
gt_decide_is(const struct edge_geo_rules *r, const char *cc, uint32_t asn,
    uint8_t action, int32_t score, const char *id)
{
	char got_id[EDGE_GEO_ID_MAX];
	int32_t got_score = 12345;
	uint8_t got_action = 99;
	int rc;

	rc = edge_geo_decide(
	    r, cc, asn, &got_score, &got_action, got_id, sizeof(got_id));
	if (rc != 0)
		fail_msg("decide(%s, %u) gave %d", cc ? cc : "(null)",
		    (unsigned)asn, rc);
	assert_int_equal(got_action, action);
	assert_int_equal(got_score, score);
	assert_string_equal(got_id, id);
}

/* gt_decide_none - decide(cc, asn) matches nothing; outputs untouched */
static void
gt_decide_none(const struct edge_geo_rules *r, const char *cc, uint32_t asn)
{
	char id[EDGE_GEO_ID_MAX] = "untouched";
	int32_t score = 12345;
	uint8_t action = 99;

	assert_int_equal(
	    edge_geo_decide(r, cc, asn, &score, &action, id, sizeof(id)),
	    MX_ENOTFOUND);
	assert_int_equal(score, 12345);
	assert_int_equal(action, 99);
	assert_string_equal(id, "untouched");
}

/* gt_decide_precedence - the AS rule decides over the country rule */
static void
gt_decide_precedence(void **state)
{
	static const char *const rules[] = {"DE=reject", "CN=score:5",
	    "US=allow", "GB=score:2", "AS64500=allow", "AS64501=score:-3",
	    "AS64502=tempfail", "AS64503=reject", "AS4294967295=score:1"};
	static struct edge_geo_rules r;
	size_t i;

	(void)state;
	edge_geo_rules_init(&r);
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		assert_int_equal(gt_add(&r, rules[i]), 0);
	/* country only */
	gt_decide_is(&r, "DE", 0, PROTO_ACT_REJECT, 0, "geo:country:DE");
	gt_decide_is(&r, "CN", 0, PROTO_ACT_SCORE, 5, "geo:country:CN");
	gt_decide_is(&r, "US", 0, PROTO_ACT_ALLOW, 0, "geo:country:US");
	gt_decide_is(&r, "de", 0, PROTO_ACT_REJECT, 0, "geo:country:DE");
	/* an AS without a rule leaves the country rule */
	gt_decide_is(&r, "CN", 99999, PROTO_ACT_SCORE, 5, "geo:country:CN");
	/* AS rule wins: allow over a country reject */
	gt_decide_is(&r, "DE", 64500, PROTO_ACT_ALLOW, 0, "geo:asn:64500");
	/* a reject AS inside an allowed country */
	gt_decide_is(&r, "US", 64503, PROTO_ACT_REJECT, 0, "geo:asn:64503");
	/* scores do not add up: the AS rule's alone (-3, not 2) */
	gt_decide_is(&r, "CN", 64501, PROTO_ACT_SCORE, -3, "geo:asn:64501");
	gt_decide_is(&r, "GB", 64501, PROTO_ACT_SCORE, -3, "geo:asn:64501");
	/* AS only */
	gt_decide_is(&r, "", 64502, PROTO_ACT_TEMPFAIL, 0, "geo:asn:64502");
	gt_decide_is(&r, NULL, 64502, PROTO_ACT_TEMPFAIL, 0, "geo:asn:64502");
	gt_decide_is(
	    &r, "FR", 4294967295u, PROTO_ACT_SCORE, 1, "geo:asn:4294967295");
	/* nothing */
	gt_decide_none(&r, "", 0);
	gt_decide_none(&r, NULL, 0);
	gt_decide_none(&r, "FR", 0);
	gt_decide_none(&r, "FR", 7);
	gt_decide_none(&r, "D", 0);
	gt_decide_none(&r, "DEU", 0);
	edge_geo_rules_init(&r);
	gt_decide_none(&r, "DE", 64500);
}

/* gt_decide_id_buffer - the id fits or nothing is written */
static void
gt_decide_id_buffer(void **state)
{
	static struct edge_geo_rules r;
	char id[EDGE_GEO_ID_MAX];
	int32_t score = 12345;
	uint8_t action = 99;

	(void)state;
	edge_geo_rules_init(&r);
	assert_int_equal(gt_add(&r, "DE=score:4"), 0);
	/* "geo:country:DE" is 14 bytes: 15 fit, 14 do not */
	memcpy(id, "untouched", 10);
	assert_int_equal(
	    edge_geo_decide(&r, "DE", 0, &score, &action, id, 14), MX_ETOOBIG);
	assert_string_equal(id, "untouched");
	assert_int_equal(score, 12345);
	assert_int_equal(action, 99);
	assert_int_equal(
	    edge_geo_decide(&r, "DE", 0, &score, &action, id, 0), MX_ETOOBIG);
	assert_int_equal(
	    edge_geo_decide(&r, "DE", 0, &score, &action, id, 15), 0);
	assert_string_equal(id, "geo:country:DE");
	assert_int_equal(score, 4);
	assert_int_equal(action, PROTO_ACT_SCORE);
	/* no id wanted */
	score = 0;
	assert_int_equal(
	    edge_geo_decide(&r, "DE", 0, &score, &action, NULL, 0), 0);
	assert_int_equal(score, 4);
}

/* gt_lookup_then_decide - the layer's path: lookup, then the rules */
static void
gt_lookup_then_decide(void **state)
{
	static struct edge_geo_rules r;
	struct edge_geo *g = gt_open(gt_country, gt_asn);
	char cc[3], id[EDGE_GEO_ID_MAX];
	uint8_t a[16], action;
	uint32_t asn;
	int32_t score;

	(void)state;
	edge_geo_rules_init(&r);
	assert_int_equal(gt_add(&r, "DE=reject"), 0);
	assert_int_equal(gt_add(&r, "AS64500=score:3"), 0);
	assert_int_equal(gt_add(&r, "NL=tempfail"), 0);
	gt_addr("127.0.0.2", a);
	assert_int_equal(edge_geo_lookup(g, a, cc, &asn), 0);
	assert_int_equal(
	    edge_geo_decide(&r, cc, asn, &score, &action, id, sizeof(id)), 0);
	assert_string_equal(id, "geo:asn:64500");
	assert_int_equal(score, 3);
	gt_addr("2001:db8::99", a);
	assert_int_equal(edge_geo_lookup(g, a, cc, &asn), 0);
	assert_int_equal(
	    edge_geo_decide(&r, cc, asn, &score, &action, id, sizeof(id)), 0);
	assert_string_equal(id, "geo:country:NL");
	assert_int_equal(action, PROTO_ACT_TEMPFAIL);
	gt_addr("127.0.0.1", a);
	assert_int_equal(edge_geo_lookup(g, a, cc, &asn), MX_ENOTFOUND);
	assert_int_equal(
	    edge_geo_decide(&r, cc, asn, &score, &action, id, sizeof(id)),
	    MX_ENOTFOUND);
	edge_geo_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(gt_lookup_v4),
	    cmocka_unit_test(gt_lookup_mapped),
	    cmocka_unit_test(gt_lookup_v6),
	    cmocka_unit_test(gt_lookup_no_asn_db),
	    cmocka_unit_test(gt_lookup_ipv4_db),
	    cmocka_unit_test(gt_lookup_city),
	    cmocka_unit_test(gt_describe),
	    cmocka_unit_test(gt_lookup_threads),
	    cmocka_unit_test(gt_lookup_overwritten),
	    cmocka_unit_test(gt_open_missing),
	    cmocka_unit_test(gt_open_corrupt),
	    cmocka_unit_test(gt_open_wrong_type),
	    cmocka_unit_test(gt_open_err_buffers),
	    cmocka_unit_test(gt_open_random_garble),
	    cmocka_unit_test(gt_rules_valid),
	    cmocka_unit_test(gt_rules_invalid),
	    cmocka_unit_test(gt_rules_range),
	    cmocka_unit_test(gt_rules_dup),
	    cmocka_unit_test(gt_rules_text_limit),
	    cmocka_unit_test(gt_rules_count_limit),
	    cmocka_unit_test(gt_rules_format),
	    cmocka_unit_test(gt_decide_precedence),
	    cmocka_unit_test(gt_decide_id_buffer),
	    cmocka_unit_test(gt_lookup_then_decide),
	};

	return cmocka_run_group_tests(tests, gt_setup, gt_teardown);
}
