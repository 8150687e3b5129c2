/*
 * fuzz_feed_line.c - libFuzzer target for mxfeed's list parsers
 * (feed_parse_line in every format, feed_parse_detect, feed_read_mem)
 *
 * The input is a list file. Each of its lines, and the whole input as one
 * line, goes through feed_parse_line in every format under the default
 * rules and under rules that allow everything. Oracles: the verdict is
 * skip, ok or bad; a line over FEED_LINE_MAX (its CR aside) is bad; a bad
 * line has a reason and no entries; an entry is an ip, net or domain
 * whose key passes proto_record_check, and it formats to text that
 * parses back to the same key; only DROP entries carry a tag, only hosts
 * lines more than one entry; what the default rules take the permissive
 * ones take too, with the same entries. Then the whole input is read as
 * a file (format detected): the counts agree with each other and a
 * refused file leaves nothing in the list. A broken oracle aborts.
 * Trust: the input is arbitrary bytes, passed as (pointer, length).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mx_err.h"
#include "proto/proto_record.h"
#include "feeds/feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct feed_rules fuzz_feed_rules = {8, 32, 0, 0};
static const struct feed_rules fuzz_feed_any = {0, 0, 1, 1};

/* fuzz_feed_check_entry - one entry is canonical and round-trips */
static void
fuzz_feed_check_entry(int fmt, const struct feed_entry *e)
{
	struct proto_record r;
	struct feed_line back;
	char text[PROTO_DOMAIN_MAX + 64];

	if (e->kind != PROTO_KIND_IP && e->kind != PROTO_KIND_NET &&
	    e->kind != PROTO_KIND_DOMAIN)
		abort();
	if (e->tag_len > FEED_TAG_MAX || (fmt != FEED_FMT_DROP && e->tag_len))
		abort();
	if ((fmt == FEED_FMT_DOMAIN || fmt == FEED_FMT_HOSTS) !=
	    (e->kind == PROTO_KIND_DOMAIN))
		abort();
	memset(&r, 0, sizeof(r));
	r.kind = e->kind;
	r.op = PROTO_OP_PUT;
	r.key_len = e->key_len;
	memcpy(r.key, e->key, e->key_len);
	if (proto_record_check(&r) != 0)
		abort();
	if (proto_key_format(e->kind, e->key, e->key_len, text, sizeof(text)) !=
	    0)
		abort();
	if (feed_parse_line(
	        e->kind == PROTO_KIND_DOMAIN ? FEED_FMT_DOMAIN : FEED_FMT_IP,
	        &fuzz_feed_any, text, strlen(text), &back) != FEED_LINE_OK)
		abort();
	if (back.n != 1 || back.e[0].kind != e->kind ||
	    back.e[0].key_len != e->key_len ||
	    memcmp(back.e[0].key, e->key, e->key_len) != 0)
		abort();
}

/* fuzz_feed_line - one line in one format under both rule sets */
static void
fuzz_feed_line(int fmt, const char *p, size_t len)
{
	struct feed_line a, b;
	size_t i, eff = len;
	int ra, rb;

	ra = feed_parse_line(fmt, &fuzz_feed_rules, p, len, &a);
	rb = feed_parse_line(fmt, &fuzz_feed_any, p, len, &b);
	if (eff > 0 && p[eff - 1] == '\r')
		eff--;
	if (eff > FEED_LINE_MAX && (ra != FEED_LINE_BAD || rb != FEED_LINE_BAD))
		abort();
	if (ra == FEED_LINE_BAD &&
	    (a.n != 0 || a.why[0] == '\0' ||
	        memchr(a.why, '\0', sizeof(a.why)) == NULL))
		abort();
	if (ra == FEED_LINE_SKIP && rb != FEED_LINE_SKIP)
		abort();
	if (ra == FEED_LINE_OK) {
		if (a.n == 0 || a.n > FEED_LINE_NAMES_MAX ||
		    (fmt != FEED_FMT_HOSTS && a.n != 1))
			abort();
		/* the permissive rules take whatever the default ones do */
		if (rb != FEED_LINE_OK || b.n != a.n)
			abort();
		for (i = 0; i < a.n; i++) {
			fuzz_feed_check_entry(fmt, &a.e[i]);
			if (feed_entry_cmp(&a.e[i], &b.e[i]) != 0)
				abort();
		}
	}
	if (rb == FEED_LINE_OK)
		for (i = 0; i < b.n; i++)
			fuzz_feed_check_entry(fmt, &b.e[i]);
	else if (rb != FEED_LINE_SKIP && rb != FEED_LINE_BAD)
		abort();
}

/* LLVMFuzzerTestOneInput - every line in every format, then the file */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct feed_read_opts o;
	struct feed_read_stats st;
	struct feed_list l;
	size_t pos = 0, n_data;
	int fmt, rc;

	for (fmt = FEED_FMT_DROP; fmt <= FEED_FMT_MAX; fmt++) {
		fuzz_feed_line(fmt, s, size);
		for (pos = 0; pos < size;) {
			const char *nl = memchr(s + pos, '\n', size - pos);
			size_t len = nl ? (size_t)(nl - (s + pos)) : size - pos;

			fuzz_feed_line(fmt, s + pos, len);
			pos += len + 1;
		}
	}
	fmt = feed_parse_detect(s, size, 1, &n_data);
	if (fmt < FEED_FMT_AUTO || fmt > FEED_FMT_MAX)
		abort();
	memset(&o, 0, sizeof(o));
	o.fmt = FEED_FMT_AUTO;
	o.rules = &fuzz_feed_rules;
	o.max_bad_share = 10;
	o.max_bytes = 1 << 20;
	feed_list_init(&l, 5000);
	rc = feed_read_mem(&o, "fuzz", s, size, &l, &st);
	if (rc != 0 && rc != MX_EINVAL && rc != MX_ELIMIT && rc != MX_ETOOBIG)
		abort();
	if (st.bad > st.data || st.data > st.lines)
		abort();
	if (rc == 0 && (l.n != st.entries || st.bad * 100 > 10 * st.data ||
	                   st.entries == 0))
		abort();
	if (rc != 0 && l.n != 0)
		abort();
	feed_list_finish(&l);
	for (pos = 1; pos < l.n; pos++) {
		struct feed_entry a, b;

		feed_list_get(&l, pos - 1, &a);
		feed_list_get(&l, pos, &b);
		if (feed_entry_cmp(&a, &b) >= 0) /* sorted, no duplicates */
			abort();
	}
	feed_list_fini(&l);
	return 0;
}
