/*
 * feed_read.c - read one list file into the import's list
 *
 * Lines are split out of a FEED_READ_BUF buffer (a file of any size is
 * streamed; a line over FEED_LINE_MAX is refused and skipped to its end
 * without being stored). The format is the one configured, or detected
 * from the first buffer. Each line is parsed and validated (feed_parse)
 * and each entry checked against the guardrails (feed_guard); a refused
 * line is reported as FILE:LINE: reason and counted. At the end of the
 * file the refuse-whole-file rule applies: more than max_bad_share
 * percent of the data lines refused, or no entry at all, and nothing of
 * the file is kept: a truncated download, an error page or the wrong
 * file must not replace a list.
 * Trust: file contents are hostile. Limits: FEED_LINE_MAX bytes a line,
 * max_bytes per file, the list's max entries.
 */
#include "feeds/feed.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"

/* a byte source: a FILE or a memory block */
struct feed_read_src {
	FILE *f;
	const char *mem;
	size_t mem_len, mem_pos;
	char buf[FEED_READ_BUF];
	size_t len;     /* bytes in buf */
	size_t pos;     /* next unread byte in buf */
	int is_eof;     /* the source is exhausted */
	int is_error;   /* a read failed */
	uint64_t total; /* bytes read so far */
};

/* feed_read_fill - move the unread bytes to the front and read more */
static void
feed_read_fill(struct feed_read_src *s)
{
	size_t room, n;

	if (s->pos > 0) {
		memmove(s->buf, s->buf + s->pos, s->len - s->pos);
		s->len -= s->pos;
		s->pos = 0;
	}
	while (!s->is_eof && s->len < sizeof(s->buf)) {
		room = sizeof(s->buf) - s->len;
		if (s->f != NULL) {
			n = fread(s->buf + s->len, 1, room, s->f);
			if (n == 0) {
				if (ferror(s->f))
					s->is_error = 1;
				s->is_eof = 1;
			}
		} else {
			n = s->mem_len - s->mem_pos;
			if (n > room)
				n = room;
			memcpy(s->buf + s->len, s->mem + s->mem_pos, n);
			s->mem_pos += n;
			if (s->mem_pos == s->mem_len)
				s->is_eof = 1;
		}
		s->len += n;
		s->total += n;
	}
}

/*
 * feed_read_line - the next line (without "\n") as a view into the
 * buffer; *is_long when it was longer than FEED_LINE_MAX (then its bytes
 * were skipped, *len is 0). Returns 0 at the end of the input.
 */
static int
feed_read_line(
    struct feed_read_src *s, const char **line, size_t *len, int *is_long)
{
	const char *nl;

	*is_long = 0;
	for (;;) {
		nl = memchr(s->buf + s->pos, '\n', s->len - s->pos);
		if (nl != NULL) {
			*line = s->buf + s->pos;
			*len = (size_t)(nl - *line);
			s->pos += *len + 1;
			if (*len > FEED_LINE_MAX + 1 ||
			    (*len == FEED_LINE_MAX + 1 &&
			        (*line)[FEED_LINE_MAX] != '\r')) {
				*is_long = 1;
				*len = 0;
			}
			return 1;
		}
		if (s->len - s->pos > FEED_LINE_MAX + 1) {
			/* no end in sight: drop what we have, find the end */
			*is_long = 1;
			s->pos = s->len;
			while (!s->is_eof) {
				feed_read_fill(s);
				nl = memchr(s->buf, '\n', s->len);
				if (nl != NULL) {
					s->pos = (size_t)(nl - s->buf) + 1;
					break;
				}
				s->pos = s->len;
			}
			*line = s->buf;
			*len = 0;
			return 1;
		}
		if (s->is_eof) {
			if (s->pos == s->len)
				return 0;
			*line = s->buf + s->pos; /* the last line, no "\n" */
			*len = s->len - s->pos;
			s->pos = s->len;
			return 1;
		}
		feed_read_fill(s);
	}
}

/* feed_read_report - a refused line or file, within the report budget */
static void
feed_read_report(const struct feed_read_opts *o, const char *name, size_t line,
    const char *why, size_t *reported)
{
	if (o->report == NULL)
		return;
	if (line > 0 && (*reported)++ >= FEED_REPORTS_MAX)
		return;
	o->report(o->arg, name, line, why);
}

/* feed_read_src_run - the common reader */
static int
feed_read_src_run(const struct feed_read_opts *o, const char *name,
    struct feed_read_src *s, struct feed_list *l, struct feed_read_stats *st)
{
	size_t start = l->n, reported = 0, i, len, data = 0;
	struct feed_line ln;
	const char *line;
	char why[FEED_WHY_MAX + 64];
	int fmt = o->fmt, is_long, rc = 0, res;

	memset(st, 0, sizeof(*st));
	feed_read_fill(s);
	if (s->len >= 3 && memcmp(s->buf, "\xef\xbb\xbf", 3) == 0)
		s->pos = 3; /* a UTF-8 byte order mark */
	if (fmt == FEED_FMT_AUTO) {
		fmt = feed_parse_detect(
		    s->buf + s->pos, s->len - s->pos, s->is_eof, &data);
		if (fmt == FEED_FMT_AUTO) {
			st->fmt = FEED_FMT_AUTO;
			if (s->is_error) {
				rc = MX_EIO;
				goto out;
			}
			/* nothing but blanks and comments is "no entries" */
			if (data == 0 && s->is_eof && o->allow_empty)
				goto out;
			feed_read_report(o, name, 0,
			    data == 0 && s->is_eof
			        ? "refused: no entries (--force takes it)"
			        : "refused: format not recognised in the "
			          "first lines (set format)",
			    &reported);
			rc = MX_EINVAL;
			goto out;
		}
	}
	st->fmt = fmt;
	while (feed_read_line(s, &line, &len, &is_long)) {
		st->lines++;
		if (o->max_bytes > 0 && s->total > o->max_bytes)
			break;
		if (is_long) {
			st->data++;
			st->bad++;
			snprintf(why, sizeof(why), "line longer than %d bytes",
			    FEED_LINE_MAX);
			feed_read_report(o, name, st->lines, why, &reported);
			continue;
		}
		res = feed_parse_line(fmt, o->rules, line, len, &ln);
		if (res == FEED_LINE_SKIP)
			continue;
		st->data++;
		for (i = 0; res == FEED_LINE_OK && i < ln.n; i++)
			if (feed_guard_check(o->guard, &ln.e[i], ln.why,
			        sizeof(ln.why)) != 0)
				res = FEED_LINE_BAD;
		if (res == FEED_LINE_BAD) {
			st->bad++;
			feed_read_report(o, name, st->lines, ln.why, &reported);
			continue;
		}
		for (i = 0; i < ln.n; i++) {
			if ((rc = feed_list_add(l, &ln.e[i])) != 0) {
				snprintf(why, sizeof(why),
				    "refused: more than %zu entries "
				    "(max_entries)",
				    l->max);
				feed_read_report(o, name, 0, why, &reported);
				goto out;
			}
			st->entries++;
		}
	}
	if (s->is_error) {
		rc = MX_EIO;
		goto out;
	}
	if (o->max_bytes > 0 && s->total > o->max_bytes) {
		snprintf(why, sizeof(why),
		    "refused: larger than %llu bytes (max_input_size)",
		    (unsigned long long)o->max_bytes);
		feed_read_report(o, name, 0, why, &reported);
		rc = MX_ETOOBIG;
		goto out;
	}
	if (reported > FEED_REPORTS_MAX) {
		snprintf(why, sizeof(why), "%zu more refused lines not shown",
		    reported - FEED_REPORTS_MAX);
		feed_read_report(o, name, 0, why, &reported);
	}
	/* integer percent: bad / data > share / 100 */
	if (st->data > 0 &&
	    (uint64_t)st->bad * 100 > o->max_bad_share * (uint64_t)st->data) {
		snprintf(why, sizeof(why),
		    "refused: %zu of %zu lines bad, more than max_bad_share "
		    "%llu%%",
		    st->bad, st->data, (unsigned long long)o->max_bad_share);
		feed_read_report(o, name, 0, why, &reported);
		rc = MX_EINVAL;
		goto out;
	}
	if (st->entries == 0 && !o->allow_empty) {
		feed_read_report(o, name, 0,
		    "refused: no entries (--force takes it)", &reported);
		rc = MX_EINVAL;
		goto out;
	}
out:
	if (rc != 0) {
		feed_list_truncate(l, start);
		st->entries = 0;
	}
	return rc;
}

/* feed_read_file - one list from a FILE */
int
feed_read_file(const struct feed_read_opts *o, const char *name, FILE *f,
    struct feed_list *l, struct feed_read_stats *st)
{
	/* FEED_READ_BUF is too big for the stack */
	struct feed_read_src *s = mx_calloc(1, sizeof(*s));
	int rc;

	s->f = f;
	rc = feed_read_src_run(o, name, s, l, st);
	mx_free(s);
	return rc;
}

/* feed_read_mem - one list from memory */
int
feed_read_mem(const struct feed_read_opts *o, const char *name, const char *buf,
    size_t len, struct feed_list *l, struct feed_read_stats *st)
{
	struct feed_read_src *s = mx_calloc(1, sizeof(*s));
	int rc;

	s->mem = buf;
	s->mem_len = len;
	s->is_eof = len == 0;
	rc = feed_read_src_run(o, name, s, l, st);
	mx_free(s);
	return rc;
}
