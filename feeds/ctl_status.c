/*
 * ctl_status.c - the edges' status as mxctl edges shows it
 *
 * Each edge publishes a retained status (protocol.md section 5): state,
 * version, POP, load and its position in each hub's update stream. This
 * module copies a decoded status out of its payload, reads a hub's
 * stream position from its metrics page, and prints the edges sorted by
 * id, with the lag of each position of the hub's epoch.
 * Trust: status payloads come from the broker: proto_status_decode
 * checks them, strings are copied cut to their limits and escaped when
 * printed. The metrics page comes from the network: only two gauges are
 * read, through the checked number parser.
 */
#include "feeds/ctl.h"

#include <stdlib.h>
#include <string.h>

#include "lib/mx_err.h"
#include "lib/mx_parse.h"

/* ctl_status_copy - a view into a NUL-ended buffer of size bytes */
static void
ctl_status_copy(char *dst, size_t size, const struct proto_str *s)
{
	size_t n = s->len < size - 1 ? s->len : size - 1;

	if (n > 0)
		memcpy(dst, s->p, n);
	dst[n] = '\0';
}

/* ctl_status_decode - a status payload into an edge */
int
ctl_status_decode(const uint8_t *buf, size_t len, struct ctl_edge *out)
{
	struct proto_status st;
	uint16_t i;
	int rc;

	memset(&st, 0, sizeof(st));
	if ((rc = proto_status_decode(buf, len, &st)) != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	ctl_status_copy(out->edge_id, sizeof(out->edge_id), &st.edge_id);
	ctl_status_copy(out->pop, sizeof(out->pop), &st.pop);
	ctl_status_copy(out->version, sizeof(out->version), &st.version);
	out->state = st.state;
	out->ts_ms = st.ts_ms;
	out->uptime_s = st.uptime_s;
	out->sessions = st.sessions;
	out->msgs_per_min = st.msgs_per_min;
	out->n_hubs = st.n_hubs < PROTO_STATUS_HUBS_MAX ? st.n_hubs
	                                                : PROTO_STATUS_HUBS_MAX;
	for (i = 0; i < out->n_hubs; i++) {
		ctl_status_copy(out->hubs[i].hub_id,
		    sizeof(out->hubs[i].hub_id), &st.hubs[i].hub_id);
		out->hubs[i].epoch = st.hubs[i].epoch;
		out->hubs[i].seq = st.hubs[i].seq;
	}
	return 0;
}

/* ctl_status_state_name - the state as a word */
const char *
ctl_status_state_name(int state)
{
	switch (state) {
	case PROTO_EDGE_ONLINE:
		return "online";
	case PROTO_EDGE_OFFLINE:
		return "offline";
	case PROTO_EDGE_DRAINING:
		return "draining";
	default:
		return "unknown";
	}
}

/* ctl_status_gauge - the value of a metric line "NAME VALUE" */
static int
ctl_status_gauge(const char *line, size_t len, const char *name, uint64_t *v)
{
	size_t nl = strlen(name), e;

	if (len <= nl + 1 || memcmp(line, name, nl) != 0 || line[nl] != ' ')
		return MX_ENOTFOUND;
	e = len;
	while (e > nl + 1 && (line[e - 1] == '\r' || line[e - 1] == ' '))
		e--;
	return mx_parse_u64(line + nl + 1, e - nl - 1, 0, UINT64_MAX, v);
}

/* ctl_status_metrics_parse - the hub's stream position */
void
ctl_status_metrics_parse(
    const char *text, size_t len, struct ctl_hub_metrics *out)
{
	const char *p = text, *end = text + len, *nl;
	int has_seq = 0, has_epoch = 0;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (ctl_status_gauge(p, (size_t)(nl - p), "mxhub_update_seq",
		        &out->seq) == 0)
			has_seq = 1;
		else if (ctl_status_gauge(p, (size_t)(nl - p),
		             "mxhub_update_epoch", &out->epoch) == 0)
			has_epoch = 1;
		p = nl + 1;
	}
	out->is_known = has_seq && has_epoch;
}

/* ctl_status_cmp - edges by id */
static int
ctl_status_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ctl_edge *)a)->edge_id,
	    ((const struct ctl_edge *)b)->edge_id);
}

/* ctl_status_age_ms - how old a status is; 0 when from the future */
static uint64_t
ctl_status_age_ms(const struct ctl_edge *e, uint64_t now_ms)
{
	return now_ms > e->ts_ms ? now_ms - e->ts_ms : 0;
}

/* ctl_status_print - every edge, human or JSON */
void
ctl_status_print(FILE *out, struct ctl_edge *edges, size_t n,
    const struct ctl_hub_metrics *hm, uint64_t now_ms, int is_json)
{
	size_t i;
	uint16_t h;

	qsort(edges, n, sizeof(*edges), ctl_status_cmp);
	if (is_json)
		fputc('[', out);
	else if (n == 0)
		fputs("no edge status seen\n", out);
	for (i = 0; i < n; i++) {
		const struct ctl_edge *e = &edges[i];

		if (is_json) {
			fputs(i ? ",{\"edge\":" : "{\"edge\":", out);
			ctl_json_str(out, e->edge_id, strlen(e->edge_id));
			fprintf(out, ",\"state\":\"%s\",\"version\":",
			    ctl_status_state_name(e->state));
			ctl_json_str(out, e->version, strlen(e->version));
			fputs(",\"pop\":", out);
			ctl_json_str(out, e->pop, strlen(e->pop));
			fprintf(out,
			    ",\"sessions\":%u,\"msgs_per_min\":%u,"
			    "\"uptime_s\":%llu,\"ts_ms\":%llu,"
			    "\"age_ms\":%llu,\"hubs\":[",
			    (unsigned)e->sessions, (unsigned)e->msgs_per_min,
			    (unsigned long long)e->uptime_s,
			    (unsigned long long)e->ts_ms,
			    (unsigned long long)ctl_status_age_ms(e, now_ms));
		} else {
			fprintf(out, "%s %s version=", e->edge_id,
			    ctl_status_state_name(e->state));
			ctl_json_str(out, e->version, strlen(e->version));
			fprintf(out,
			    " pop=%s sessions=%u msgs_per_min=%u "
			    "uptime=%llus age=%.1fs\n",
			    e->pop, (unsigned)e->sessions,
			    (unsigned)e->msgs_per_min,
			    (unsigned long long)e->uptime_s,
			    (double)ctl_status_age_ms(e, now_ms) / 1000.0);
		}
		for (h = 0; h < e->n_hubs; h++) {
			const struct ctl_hub_pos *p = &e->hubs[h];
			int has_lag =
			    hm != NULL && hm->is_known && hm->epoch == p->epoch;
			long long lag =
			    has_lag ? (long long)(hm->seq - p->seq) : 0;

			if (is_json) {
				fputs(h ? ",{\"hub\":" : "{\"hub\":", out);
				ctl_json_str(out, p->hub_id, strlen(p->hub_id));
				fprintf(out, ",\"epoch\":%llu,\"seq\":%llu",
				    (unsigned long long)p->epoch,
				    (unsigned long long)p->seq);
				if (has_lag)
					fprintf(out, ",\"lag\":%lld", lag);
				fputc('}', out);
			} else {
				fprintf(out, "  hub %s epoch=%llu seq=%llu",
				    p->hub_id, (unsigned long long)p->epoch,
				    (unsigned long long)p->seq);
				if (has_lag)
					fprintf(out, " lag=%lld", lag);
				else if (hm != NULL && hm->is_known)
					fputs(" lag=? (other epoch)", out);
				fputc('\n', out);
			}
		}
		if (is_json)
			fputs("]}", out);
	}
	if (is_json)
		fputs("]\n", out);
}
