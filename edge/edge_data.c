/*
 * edge_data.c - the DATA stream state machine of mxedge
 *
 * Consumes the sender's bytes after "354" in chunks split anywhere and
 * produces two streams through one callback: WIRE, the bytes to forward
 * downstream at once, and CONTENT, the dot-unstuffed message for the
 * filters. It finds the end of data and says how many input bytes it
 * consumed, so pipelined commands after the end go back to the command
 * reader.
 *
 * The SMTP smuggling defence lives here. The end of data is "\r\n.\r\n"
 * (or ".\r\n" as the first line) and nothing else, in both modes. In
 * strict mode (bare_newline = reject) a bare CR or LF is an error, and
 * since no WIRE byte is emitted after the first error, the destination
 * only ever sees well-formed CRLF lines, none of them a lone ".". In
 * normalize mode every bare CR or LF ends a line and is sent as CRLF, and
 * a lone "." line that is not the end is sent as "..". Either way the
 * destination cannot read an end of data that this scanner did not see.
 * The final ".\r\n" is never emitted: the session sends it after the
 * filters' verdict.
 *
 * Speed: lines are found with memchr (one pass for LF, one for CR, one per
 * chunk for NUL), and output is coalesced into runs: a clean chunk gives
 * one WIRE and one CONTENT callback, both segments of the input. Only the
 * 1-2 bytes that are still ambiguous at the end of a chunk ("\r", ".",
 * ".\r") are held back, as scanner state, never copied; they are emitted
 * from constants once resolved.
 *
 * Trust: every byte is the sender's. Limits: cfg.line_max per line
 * (content + CRLF; the transparency dot is not counted, RFC 5321
 * 4.5.3.1.6), cfg.size_max on content bytes. Counters are uint64 and
 * checked against the limits before they are added to.
 */
#include "edge/edge.h"

#include <string.h>

#include "lib/mx_err.h"

enum edge_data_state {
	EDGE_DATA_ST_BOL = 0, /* at the start of a line */
	EDGE_DATA_ST_MID,     /* inside a line */
	EDGE_DATA_ST_DOT,     /* held: "." that starts a line */
	EDGE_DATA_ST_DOT_CR,  /* held: ".\r" that starts a line */
	EDGE_DATA_ST_CR,      /* held: "\r" that ended the previous chunk */
};

/* one call's view of its chunk and of the output not yet emitted */
struct edge_data_run {
	const char *p;       /* the chunk */
	size_t len;          /* its length */
	size_t wire_from;    /* first WIRE byte of p not yet emitted */
	size_t content_from; /* first CONTENT byte of p not yet emitted */
	size_t hold_at;      /* first held byte in p (0: held before p) */
	int is_held_before;  /* the held bytes came with an earlier chunk */
	size_t nul_at;       /* first NUL in p, or len */
};

/* edge_data_emit - hand n bytes of one kind to the callback */
static void
edge_data_emit(
    struct edge_data *d, enum edge_data_kind kind, const char *p, size_t n)
{
	if (n == 0 || d->err != EDGE_DATA_OK)
		return;
	if (kind == EDGE_DATA_WIRE)
		d->wire_bytes += n;
	d->fn(d->fn_arg, kind, p, n);
}

/* edge_data_flush - emit both pending runs up to p[upto] (exclusive) */
static void
edge_data_flush(struct edge_data *d, struct edge_data_run *r, size_t upto)
{
	if (upto > r->wire_from) {
		edge_data_emit(d, EDGE_DATA_WIRE, r->p + r->wire_from,
		    upto - r->wire_from);
		r->wire_from = upto;
	}
	if (upto > r->content_from) {
		edge_data_emit(d, EDGE_DATA_CONTENT, r->p + r->content_from,
		    upto - r->content_from);
		r->content_from = upto;
	}
}

/*
 * edge_data_fail - record the first error; the output stops before p[at]
 * (held bytes included), and nothing is emitted after it
 */
static void
edge_data_fail(struct edge_data *d, struct edge_data_run *r,
    enum edge_data_err err, size_t at)
{
	if (d->err != EDGE_DATA_OK)
		return;
	edge_data_flush(d, r, at);
	d->err = err;
}

/* edge_data_resume - skip p[..at) in both runs after emitting constants */
static void
edge_data_resume(struct edge_data_run *r, size_t at)
{
	r->wire_from = at;
	r->content_from = at;
}

/*
 * edge_data_skip_dot - the stuffed dot at p[hold_at] stays in the WIRE run
 * but is cut out of the CONTENT run
 */
static void
edge_data_skip_dot(struct edge_data *d, struct edge_data_run *r)
{
	if (r->hold_at > r->content_from)
		edge_data_emit(d, EDGE_DATA_CONTENT, r->p + r->content_from,
		    r->hold_at - r->content_from);
	r->content_from = r->hold_at + 1;
}

/*
 * edge_data_content - account content bytes p[s..e) of the current line:
 * the first NUL, the line cap or the size cap cuts them and fails
 */
static void
edge_data_content(
    struct edge_data *d, struct edge_data_run *r, size_t s, size_t e)
{
	size_t cut = e - s, room;
	enum edge_data_err why = EDGE_DATA_OK;
	uint64_t size_room;

	if (d->err != EDGE_DATA_OK)
		return;
	/* nul_at >= s: a NUL already passed would have failed */
	if (r->nul_at < e) {
		cut = r->nul_at - s;
		why = EDGE_DATA_E_NUL;
	}
	/* line_len <= line_max - 2 holds while there is no error */
	room = d->cfg.line_max - 2 - d->line_len;
	if (room < cut) {
		cut = room;
		why = EDGE_DATA_E_LINE_TOO_LONG;
	}
	size_room = d->cfg.size_max - d->content_bytes;
	if (size_room < cut) {
		cut = (size_t)size_room;
		why = EDGE_DATA_E_TOO_BIG;
	}
	d->line_len += cut;
	d->content_bytes += cut;
	if (why != EDGE_DATA_OK)
		edge_data_fail(d, r, why, s + cut);
}

/*
 * edge_data_eol - a line ends at p[at]; resume is the first byte after
 * its terminator. is_crlf: terminator was CRLF, else a bare CR or LF.
 * is_in_run: the terminator's bytes are in the pending runs (an in-chunk
 * CRLF), else it is written out as a constant CRLF.
 */
static void
edge_data_eol(struct edge_data *d, struct edge_data_run *r, size_t at,
    size_t resume, int is_crlf, int is_in_run)
{
	if (!is_crlf) {
		d->bare_newlines++;
		if (d->cfg.mode == EDGE_DATA_STRICT)
			edge_data_fail(d, r, EDGE_DATA_E_BARE_NEWLINE, at);
	}
	if (d->err == EDGE_DATA_OK) {
		if (d->cfg.size_max - d->content_bytes < 2) {
			edge_data_fail(d, r, EDGE_DATA_E_TOO_BIG, at);
		} else {
			d->content_bytes += 2;
			d->lines++;
			if (d->line_len + 2 > d->line_len_max)
				d->line_len_max = d->line_len + 2;
			if (!is_in_run) {
				edge_data_flush(d, r, at);
				edge_data_emit(d, EDGE_DATA_WIRE, "\r\n", 2);
				edge_data_emit(d, EDGE_DATA_CONTENT, "\r\n", 2);
				edge_data_resume(r, resume);
			}
		}
	}
	d->st = EDGE_DATA_ST_BOL;
	d->is_bol_crlf = is_crlf;
	d->line_len = 0;
}

/*
 * edge_data_dotline - a line that is exactly "." but not the end of data
 * (it follows a bare newline, or ends in one). The content is "."; on the
 * wire it goes out stuffed, "..\r\n", so no downstream parser can take it
 * for the end. at: the dot (or 0 when held from an earlier chunk).
 */
static void
edge_data_dotline(struct edge_data *d, struct edge_data_run *r, size_t at,
    size_t resume, int is_crlf)
{
	if (!is_crlf) {
		d->bare_newlines++;
		if (d->cfg.mode == EDGE_DATA_STRICT)
			edge_data_fail(d, r, EDGE_DATA_E_BARE_NEWLINE, at);
	}
	if (d->err == EDGE_DATA_OK) {
		if (d->cfg.size_max - d->content_bytes < 3) {
			edge_data_fail(d, r, EDGE_DATA_E_TOO_BIG, at);
		} else {
			d->content_bytes += 3;
			d->lines++;
			if (d->line_len_max < 3)
				d->line_len_max = 3;
			edge_data_flush(d, r, at);
			edge_data_emit(d, EDGE_DATA_WIRE, "..\r\n", 4);
			edge_data_emit(d, EDGE_DATA_CONTENT, ".\r\n", 3);
			edge_data_resume(r, resume);
		}
	}
	d->st = EDGE_DATA_ST_BOL;
	d->is_bol_crlf = is_crlf;
	d->line_len = 0;
}

/*
 * edge_data_mid - scan the inside of a line from p[pos]; returns the new
 * position (the state says what was found)
 */
static size_t
edge_data_mid(struct edge_data *d, struct edge_data_run *r, size_t pos)
{
	const char *p = r->p, *lf, *cr;
	size_t len = r->len, lfi, e;

	lf = memchr(p + pos, '\n', len - pos);
	lfi = lf != NULL ? (size_t)(lf - p) : len;
	cr = memchr(p + pos, '\r', lfi - pos);
	e = cr != NULL ? (size_t)(cr - p) : lfi;
	edge_data_content(d, r, pos, e);
	if (e == len)
		return len;
	if (p[e] == '\n') {
		/* no CR right before it in this chunk: bare LF */
		edge_data_eol(d, r, e, e + 1, 0, 0);
		return e + 1;
	}
	if (e + 1 == len) {
		/* CR last in the chunk: LF or not decides, hold it */
		d->st = EDGE_DATA_ST_CR;
		r->hold_at = e;
		r->is_held_before = 0;
		return len;
	}
	if (p[e + 1] == '\n') {
		edge_data_eol(d, r, e, e + 2, 1, 1);
		return e + 2;
	}
	edge_data_eol(d, r, e, e + 1, 0, 0);
	return e + 1;
}

/* edge_data_init - start a message */
int
edge_data_init(struct edge_data *d, const struct edge_data_cfg *cfg,
    edge_data_fn fn, void *arg)
{
	if (fn == NULL || cfg->line_max < EDGE_DATA_LINE_MAX_MIN ||
	    (cfg->mode != EDGE_DATA_STRICT && cfg->mode != EDGE_DATA_NORMALIZE))
		return MX_EINVAL;
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->fn = fn;
	d->fn_arg = arg;
	d->st = EDGE_DATA_ST_BOL;
	d->is_bol_crlf = 1;
	return 0;
}

/* edge_data_feed - push DATA bytes through the scanner */
int
edge_data_feed(struct edge_data *d, const char *p, size_t len, size_t *used)
{
	struct edge_data_run r;
	const char *nul;
	size_t pos = 0;
	char c;

	if (d->is_done)
		return MX_ESTATE;
	r.p = p;
	r.len = len;
	r.wire_from = 0;
	r.content_from = 0;
	r.hold_at = 0;
	r.is_held_before = d->st == EDGE_DATA_ST_DOT ||
	                   d->st == EDGE_DATA_ST_DOT_CR ||
	                   d->st == EDGE_DATA_ST_CR;
	r.nul_at = len;
	if (d->err == EDGE_DATA_OK && len > 0 &&
	    (nul = memchr(p, '\0', len)) != NULL)
		r.nul_at = (size_t)(nul - p);

	while (pos < len && !d->is_done) {
		c = p[pos];
		switch (d->st) {
		case EDGE_DATA_ST_BOL:
			d->line_len = 0;
			if (c == '.') {
				d->st = EDGE_DATA_ST_DOT;
				r.hold_at = pos;
				r.is_held_before = 0;
				pos++;
			} else {
				d->st = EDGE_DATA_ST_MID;
			}
			break;
		case EDGE_DATA_ST_MID:
			pos = edge_data_mid(d, &r, pos);
			break;
		case EDGE_DATA_ST_DOT:
			if (c == '\r') {
				d->st = EDGE_DATA_ST_DOT_CR;
				pos++;
			} else if (c == '\n') {
				edge_data_dotline(d, &r, r.hold_at, pos + 1, 0);
				pos++;
			} else {
				/* a stuffed dot: on the wire, not in content */
				if (r.is_held_before)
					edge_data_emit(
					    d, EDGE_DATA_WIRE, ".", 1);
				else
					edge_data_skip_dot(d, &r);
				d->st = EDGE_DATA_ST_MID;
			}
			break;
		case EDGE_DATA_ST_DOT_CR:
			if (c == '\n' && d->is_bol_crlf) {
				edge_data_flush(d, &r, r.hold_at);
				d->is_done = 1;
				pos++;
			} else if (c == '\n') {
				edge_data_dotline(d, &r, r.hold_at, pos + 1, 1);
				pos++;
			} else {
				/* ".\r" then not LF: the CR is bare */
				edge_data_dotline(d, &r, r.hold_at, pos, 0);
			}
			break;
		case EDGE_DATA_ST_CR:
			if (c == '\n') {
				edge_data_eol(d, &r, r.hold_at, pos + 1, 1,
				    !r.is_held_before);
				pos++;
			} else {
				edge_data_eol(d, &r, r.hold_at, pos, 0, 0);
			}
			break;
		}
	}
	if (!d->is_done) {
		if (d->st == EDGE_DATA_ST_DOT || d->st == EDGE_DATA_ST_DOT_CR ||
		    d->st == EDGE_DATA_ST_CR)
			edge_data_flush(d, &r, r.hold_at);
		else
			edge_data_flush(d, &r, len);
	}
	d->raw_bytes += pos;
	*used = pos;
	return 0;
}

/* edge_data_reply - reply text for a DATA error */
const char *
edge_data_reply(enum edge_data_err err)
{
	switch (err) {
	case EDGE_DATA_E_BARE_NEWLINE:
		return "550 5.6.11 bare newline in message";
	case EDGE_DATA_E_NUL:
		return "550 5.6.0 NUL byte in message";
	case EDGE_DATA_E_LINE_TOO_LONG:
		return "550 5.6.0 Message line too long";
	case EDGE_DATA_E_TOO_BIG:
		return "552 5.3.4 Message size exceeds fixed limit";
	case EDGE_DATA_OK:
		break;
	}
	return "451 4.3.0 Internal error";
}

/* edge_data_strerror - stable token for logs and counters */
const char *
edge_data_strerror(enum edge_data_err err)
{
	switch (err) {
	case EDGE_DATA_OK:
		return "ok";
	case EDGE_DATA_E_BARE_NEWLINE:
		return "bare_newline";
	case EDGE_DATA_E_NUL:
		return "nul";
	case EDGE_DATA_E_LINE_TOO_LONG:
		return "line_too_long";
	case EDGE_DATA_E_TOO_BIG:
		return "too_big";
	}
	return "unknown";
}
