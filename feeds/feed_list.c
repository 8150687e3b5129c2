/*
 * feed_list.c - the entries of one import, packed and sorted
 *
 * A list can hold millions of domains, so entries are not kept in the
 * fixed-size struct feed_entry (about 290 bytes each) but packed into one
 * arena as [kind][key_len][tag_len][key][tag] and indexed by offset.
 * feed_list_finish sorts the index in the order LMDB keeps the state's
 * keys (kind byte, then key bytes, a shorter key first when one is a
 * prefix of the other), so the diff is one merge walk over both.
 * Trust: entries were validated by feed_parse. Limits: max entries; the
 * arena grows geometrically and is bounded by max times the largest
 * packed entry.
 */
#include "feeds/feed.h"

#include <stdlib.h>
#include <string.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"

#define FEED_LIST_HDR 3 /* kind, key_len, tag_len */

/* feed_list_init - empty list */
void
feed_list_init(struct feed_list *l, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->max = max;
}

/* feed_list_fini - release */
void
feed_list_fini(struct feed_list *l)
{
	size_t max = l->max;

	mx_free(l->arena);
	mx_free(l->off);
	feed_list_init(l, max);
}

/* feed_list_add - append a copy of e */
int
feed_list_add(struct feed_list *l, const struct feed_entry *e)
{
	size_t need = FEED_LIST_HDR + (size_t)e->key_len + e->tag_len;
	uint8_t *p;

	if (l->n >= l->max)
		return MX_ELIMIT;
	if (l->n == l->n_cap) {
		l->n_cap = l->n_cap ? l->n_cap * 2 : 1024;
		if (l->n_cap > l->max)
			l->n_cap = l->max;
		l->off = mx_realloc(l->off, l->n_cap * sizeof(*l->off));
	}
	if (l->cap - l->len < need) {
		size_t cap = l->cap ? l->cap : 65536;

		while (cap - l->len < need)
			cap *= 2;
		l->arena = mx_realloc(l->arena, cap);
		l->cap = cap;
	}
	p = l->arena + l->len;
	p[0] = e->kind;
	p[1] = e->key_len;
	p[2] = e->tag_len;
	memcpy(p + FEED_LIST_HDR, e->key, e->key_len);
	memcpy(p + FEED_LIST_HDR + e->key_len, e->tag, e->tag_len);
	l->off[l->n++] = l->len;
	l->len += need;
	return 0;
}

/* feed_list_truncate - drop entries from n on (arena too, when last) */
void
feed_list_truncate(struct feed_list *l, size_t n)
{
	if (n >= l->n)
		return;
	/* entries are only truncated before sorting: offsets ascend */
	l->len = l->off[n];
	l->n = n;
}

/* feed_list_cmp_raw - (kind, key) order of two packed entries */
static int
feed_list_cmp_raw(const uint8_t *a, const uint8_t *b)
{
	size_t n = a[1] < b[1] ? a[1] : b[1];
	int c;

	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	if ((c = memcmp(a + FEED_LIST_HDR, b + FEED_LIST_HDR, n)) != 0)
		return c;
	return (int)a[1] - (int)b[1];
}

/* feed_list_sort_cmp - qsort_r: key order, then the order added */
static int
feed_list_sort_cmp(const void *x, const void *y, void *arg)
{
	const uint8_t *arena = arg;
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int c = feed_list_cmp_raw(arena + a, arena + b);

	if (c != 0)
		return c;
	/* offsets grow in the order entries were added: first one wins */
	return a < b ? -1 : a > b;
}

/* feed_list_finish - sort and drop duplicates */
void
feed_list_finish(struct feed_list *l)
{
	size_t i, o = 0;

	if (l->n == 0)
		return;
	qsort_r(l->off, l->n, sizeof(*l->off), feed_list_sort_cmp, l->arena);
	for (i = 0; i < l->n; i++) {
		if (o > 0 && feed_list_cmp_raw(l->arena + l->off[o - 1],
		                 l->arena + l->off[i]) == 0) {
			l->dups++;
			continue;
		}
		l->off[o++] = l->off[i];
	}
	l->n = o;
}

/* feed_list_get - a copy of entry i */
void
feed_list_get(const struct feed_list *l, size_t i, struct feed_entry *out)
{
	const uint8_t *p = l->arena + l->off[i];

	memset(out, 0, sizeof(*out));
	out->kind = p[0];
	out->key_len = p[1];
	out->tag_len = p[2];
	memcpy(out->key, p + FEED_LIST_HDR, p[1]);
	memcpy(out->tag, p + FEED_LIST_HDR + p[1], p[2]);
}

/* feed_entry_cmp - (kind, key) order */
int
feed_entry_cmp(const struct feed_entry *a, const struct feed_entry *b)
{
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if ((c = memcmp(a->key, b->key, n)) != 0)
		return c;
	return (int)a->key_len - (int)b->key_len;
}
