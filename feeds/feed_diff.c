/*
 * feed_diff.c - the difference between a new list and the last import,
 * the change-share hold, the records, and recording the import
 *
 * One merge walk over the sorted list and the state's entries (both in
 * LMDB key order) sorts every entry into added (only on the list),
 * removed (only in the state), renewed (on both, but published
 * differently from what would be published now: another tag, action or
 * score, or an expiry that needs renewing) and unchanged. Renewal keeps
 * records with a ttl alive: an entry still listed is put again once less
 * than half its ttl is left (or when its expiry is further out than the
 * ttl now allows), so run mxfeed more often than ttl / 2.
 * The hold: a list that adds or removes more than max_change_share
 * percent of the last import's entries is held for confirmation
 * (--force). The first import is never held: there is nothing to
 * compare with.
 * Trust: the list was validated; state values were checked as read.
 * Limits: the plan holds an index per put and a packed copy of each
 * removed entry: bounded by the list's and the state's sizes.
 */
#include "feeds/feed.h"

#include <stdio.h>
#include <string.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"

/* feed_diff_put - remember a put of list entry i */
static void
feed_diff_put(struct feed_plan *p, size_t *cap, size_t i, uint8_t why)
{
	if (p->n_puts == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		p->puts = mx_realloc(p->puts, *cap * sizeof(*p->puts));
		p->put_why = mx_realloc(p->put_why, *cap);
	}
	p->puts[p->n_puts] = i;
	p->put_why[p->n_puts++] = why;
	if (why == FEED_CH_ADD)
		p->n_added++;
	else
		p->n_renewed++;
}

/* feed_diff_expiry - the expiry a put made now gets */
static uint64_t
feed_diff_expiry(const struct feed_rec_conf *rc, uint64_t now_s)
{
	return rc->ttl_s > 0 ? now_s + rc->ttl_s : 0;
}

/* feed_diff_needs_renew - is s published otherwise than e would be now */
static int
feed_diff_needs_renew(const struct feed_stored *s, const struct feed_entry *e,
    const struct feed_rec_conf *rc, uint64_t now_s)
{
	if (s->e.tag_len != e->tag_len ||
	    memcmp(s->e.tag, e->tag, e->tag_len) != 0)
		return 1;
	if (s->action != rc->action || s->score != rc->score)
		return 1;
	if (rc->ttl_s == 0)
		return s->expires != 0;
	if (s->expires == 0)
		return 1;
	/* half the ttl gone, or an expiry beyond what the ttl allows now */
	return s->expires < now_s + rc->ttl_s / 2 ||
	       s->expires > now_s + rc->ttl_s;
}

/* feed_diff_plan - merge the list with the last import */
int
feed_diff_plan(struct feed_state *st, const struct feed_list *l,
    const struct feed_rec_conf *rc, uint64_t now_s, struct feed_plan *p)
{
	struct feed_state_info info;
	struct feed_state_iter *it = NULL;
	struct feed_stored s;
	struct feed_entry e;
	size_t i = 0, cap = 0;
	int have, rc2, c;

	memset(p, 0, sizeof(*p));
	feed_list_init(&p->dels, SIZE_MAX);
	p->now_s = now_s;
	p->n_new = l->n;
	if ((rc2 = feed_state_get_info(st, &info)) != 0)
		return rc2;
	p->has_prev = info.has_import;
	if ((rc2 = feed_state_iter_begin(st, &it)) != 0)
		return rc2;
	rc2 = feed_state_iter_next(it, &s);
	have = rc2 == 0;
	while (have || i < l->n) {
		if (rc2 != 0 && rc2 != MX_ENOTFOUND)
			goto out;
		if (i < l->n)
			feed_list_get(l, i, &e);
		c = !have ? -1 : i >= l->n ? 1 : feed_entry_cmp(&e, &s.e);
		if (c < 0) {
			feed_diff_put(p, &cap, i++, FEED_CH_ADD);
			continue;
		}
		if (c > 0) {
			feed_list_add(&p->dels, &s.e);
		} else {
			if (feed_diff_needs_renew(&s, &e, rc, now_s))
				feed_diff_put(p, &cap, i, FEED_CH_RENEW);
			else
				p->n_unchanged++;
			i++;
		}
		p->n_prev++;
		rc2 = feed_state_iter_next(it, &s);
		have = rc2 == 0;
	}
	rc2 = rc2 == MX_ENOTFOUND ? 0 : rc2;
out:
	feed_state_iter_end(it);
	if (rc2 != 0)
		feed_plan_fini(p);
	return rc2;
}

/* feed_plan_fini - release */
void
feed_plan_fini(struct feed_plan *p)
{
	mx_free(p->puts);
	mx_free(p->put_why);
	p->puts = NULL;
	p->put_why = NULL;
	p->n_puts = 0;
	feed_list_fini(&p->dels);
}

/* feed_diff_is_held - more change than max_change_share allows */
int
feed_diff_is_held(const struct feed_plan *p, uint64_t max_change_share)
{
	uint64_t base = p->n_prev;

	if (!p->has_prev)
		return 0;
	/* integer percent: changed / base > share / 100 */
	return (uint64_t)p->n_added * 100 > max_change_share * base ||
	       (uint64_t)p->dels.n * 100 > max_change_share * base;
}

/* feed_diff_count - dels and puts */
size_t
feed_diff_count(const struct feed_plan *p)
{
	return p->dels.n + p->n_puts;
}

/* feed_diff_reason - the record's reason: the list's id, or the list */
static void
feed_diff_reason(struct proto_record *r, const struct feed_entry *e,
    const struct feed_rec_conf *rc, int is_del)
{
	char reason[PROTO_REASON_MAX + 1];

	if (e->tag_len > 0)
		snprintf(reason, sizeof(reason), "%s%.*s",
		    is_del ? "delisted " : "", (int)e->tag_len, e->tag);
	else
		snprintf(reason, sizeof(reason), "%slist %s",
		    is_del ? "delisted from " : "", rc->source);
	/* the hub sets the source from the topic; ours says the same */
	proto_record_set_text(r, rc->source, reason);
}

/* feed_diff_records - a window of the plan's records */
size_t
feed_diff_records(const struct feed_plan *p, const struct feed_list *l,
    const struct feed_rec_conf *rc, uint64_t now_ms, size_t from,
    struct proto_record *out, size_t max)
{
	struct feed_entry e;
	size_t n = 0, j;

	while (n < max && from + n < feed_diff_count(p)) {
		struct proto_record *r = &out[n];

		j = from + n;
		memset(r, 0, sizeof(*r));
		if (j < p->dels.n) {
			feed_list_get(&p->dels, j, &e);
			r->op = PROTO_OP_DEL;
		} else {
			feed_list_get(l, p->puts[j - p->dels.n], &e);
			r->op = PROTO_OP_PUT;
			r->action = rc->action;
			r->score = rc->score;
			r->expires = feed_diff_expiry(rc, now_ms / 1000);
		}
		r->kind = e.kind;
		r->key_len = e.key_len;
		memcpy(r->key, e.key, e.key_len);
		r->ts_ms = now_ms;
		feed_diff_reason(r, &e, rc, r->op == PROTO_OP_DEL);
		n++;
	}
	return n;
}

/* feed_diff_commit - the plan becomes the last import */
int
feed_diff_commit(struct feed_state *st, const struct feed_plan *p,
    const struct feed_list *l, const struct feed_rec_conf *rc, uint64_t now_ms)
{
	struct feed_state_txn *t = NULL;
	struct feed_stored s;
	struct feed_entry e;
	size_t j;
	int rc2;

	if ((rc2 = feed_state_write_begin(st, &t)) != 0)
		return rc2;
	for (j = 0; j < p->dels.n; j++) {
		feed_list_get(&p->dels, j, &e);
		if ((rc2 = feed_state_del(t, &e)) != 0)
			goto fail;
	}
	memset(&s, 0, sizeof(s));
	s.action = rc->action;
	s.score = rc->score;
	/* the expiry the records carried, as feed_diff_records made them */
	s.expires = feed_diff_expiry(rc, now_ms / 1000);
	for (j = 0; j < p->n_puts; j++) {
		feed_list_get(l, p->puts[j], &s.e);
		if ((rc2 = feed_state_put(t, &s)) != 0)
			goto fail;
	}
	if ((rc2 = feed_state_set_import(t, now_ms, l->n)) != 0)
		goto fail;
	return feed_state_commit(t);
fail:
	feed_state_abort(t);
	return rc2;
}
