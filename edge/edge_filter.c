/*
 * edge_filter.c - the stream-filter hook of mxedge
 *
 * Sees the unstuffed message as it streams past and gives the verdict at
 * the end of data. Until the filter layers land (issue 4) it accepts
 * everything, except that a test deployment (test_verdict_header = yes)
 * can force a verdict with a header "X-Mxs-Test-Verdict: reject" or
 * "tempfail", so the abort path is exercised end to end. It keeps only
 * the first EDGE_FILTER_HDR_MAX bytes of each header line: memory per
 * session stays fixed whatever the message size.
 * Trust: message bytes from the Internet; the header is honoured only
 * when the operator turned it on, never in production.
 */
#include "edge/edge_int.h"

#include <string.h>
#include <strings.h>

#define EDGE_FILTER_TEST_HDR "x-mxs-test-verdict:"

/* edge_filter_begin - reset for a new message */
void
edge_filter_begin(struct edge_filter *f, const struct edge_conf *c)
{
	memset(f, 0, sizeof(*f));
	f->test_header = c->test_verdict_header;
	f->forced = EDGE_VERDICT_ACCEPT;
}

/* edge_filter_header - one header line start (hbuf) is complete */
static void
edge_filter_header(struct edge_filter *f)
{
	size_t n = sizeof(EDGE_FILTER_TEST_HDR) - 1;
	const char *v;
	size_t vl;

	if (!f->test_header || f->hlen < n ||
	    strncasecmp(f->hbuf, EDGE_FILTER_TEST_HDR, n) != 0)
		return;
	v = f->hbuf + n;
	vl = f->hlen - n;
	while (vl > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
		vl--;
	if (vl == 6 && strncasecmp(v, "reject", 6) == 0) {
		f->forced = EDGE_VERDICT_REJECT;
		memcpy(f->reason, "test_header", 12);
	} else if (vl == 8 && strncasecmp(v, "tempfail", 8) == 0) {
		f->forced = EDGE_VERDICT_TEMPFAIL;
		memcpy(f->reason, "test_header", 12);
	}
}

/* edge_filter_content - scan header lines until the blank line */
void
edge_filter_content(struct edge_filter *f, const char *p, size_t len)
{
	while (len > 0 && !f->in_body) {
		const char *nl = memchr(p, '\n', len);
		size_t take = nl ? (size_t)(nl - p) : len;
		size_t room = sizeof(f->hbuf) - f->hlen;

		if (!f->hskip) {
			size_t c = take < room ? take : room;

			memcpy(f->hbuf + f->hlen, p, c);
			f->hlen += c;
			if (take > room)
				f->hskip = 1;
		}
		if (nl == NULL)
			return;
		/* a complete line: blank ends the header */
		if (f->hlen == 0 || (f->hlen == 1 && f->hbuf[0] == '\r'))
			f->in_body = 1;
		else
			edge_filter_header(f);
		f->hlen = 0;
		f->hskip = 0;
		p = nl + 1;
		len -= take + 1;
	}
}

/* edge_filter_verdict - the decision at the end of data */
enum edge_verdict
edge_filter_verdict(struct edge_filter *f, const char **reason)
{
	*reason = f->reason[0] ? f->reason : NULL;
	return (enum edge_verdict)f->forced;
}
