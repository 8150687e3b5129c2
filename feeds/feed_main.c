/*
 * feed_main.c - mxfeed: import external blocklists and submit the changes
 *
 *   mxfeed -c /etc/mxsentry/drop.conf drop.txt edrop.txt
 *
 * Reads every list given (files, or "-" for stdin) as one import of the
 * configured source: each line validated, refused lines reported as
 * FILE:LINE: reason, a file with too many of them refused as a whole.
 * The entries are diffed against the source's last import; a change of
 * more than max_change_share is held for --force; only the difference
 * is signed and published to the hub (feed_submit.h), and the import
 * becomes the new baseline once the broker acknowledged every message.
 * --dry-run prints the difference and touches nothing.
 * Exit codes: 0 done or nothing to do, 1 usage, configuration or state
 * unusable, 2 a list refused, 3 held for confirmation, 4 publishing
 * failed (the baseline is unchanged: the next run sends it all again).
 * Trust: list files are hostile (feed_read.c, feed_parse.c); the command
 * line and config file are the operator's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "lib/mx_time.h"
#include "proto/proto_msg.h"
#include "feeds/feed.h"
#include "feeds/feed_submit.h"

enum feed_main_exit {
	FEED_EXIT_OK = 0,      /* imported, or nothing to do */
	FEED_EXIT_USAGE = 1,   /* usage, configuration, state unusable */
	FEED_EXIT_REFUSED = 2, /* a list refused (bad lines, empty, ...) */
	FEED_EXIT_HELD = 3,    /* too big a change: --force to publish */
	FEED_EXIT_PUBLISH = 4, /* broker or publishing failed */
};

/* feed_main_report - FILE:LINE: why, or FILE: why for a whole file */
static void
feed_main_report(void *arg, const char *file, size_t line, const char *why)
{
	(void)arg;
	if (line > 0)
		fprintf(stderr, "%s:%zu: %s\n", file, line, why);
	else
		fprintf(stderr, "%s: %s\n", file, why);
}

/* feed_main_read - every list into l; an exit code */
static int
feed_main_read(
    const struct feed_conf *c, const struct feed_args *a, struct feed_list *l)
{
	struct feed_read_opts o;
	struct feed_read_stats st;
	size_t i;
	int rc;

	memset(&o, 0, sizeof(o));
	o.fmt = c->fmt;
	o.rules = &c->rules;
	o.guard = &c->guard;
	o.max_bad_share = c->max_bad_share;
	o.max_bytes = c->max_input_size;
	o.allow_empty = a->is_force;
	o.report = feed_main_report;
	for (i = 0; i < a->n_files; i++) {
		const char *path = a->files[i];
		int is_stdin = strcmp(path, "-") == 0;
		const char *name = is_stdin ? "<stdin>" : path;
		FILE *f = is_stdin ? stdin : fopen(path, "re");

		if (f == NULL) {
			fprintf(stderr, "%s: cannot open: %s\n", path,
			    strerror(errno));
			return FEED_EXIT_REFUSED;
		}
		rc = feed_read_file(&o, name, f, l, &st);
		if (!is_stdin)
			fclose(f);
		if (rc == MX_EIO)
			fprintf(stderr, "%s: read error\n", name);
		if (rc != 0)
			return FEED_EXIT_REFUSED;
		mx_debug("READ file=%s format=%s lines=%zu data=%zu bad=%zu "
		         "entries=%zu",
		    name, feed_format_name(st.fmt), st.lines, st.data, st.bad,
		    st.entries);
	}
	feed_list_finish(l);
	return FEED_EXIT_OK;
}

/* feed_main_print - the plan's records, one line each, to stdout */
static void
feed_main_print(const struct feed_plan *p, const struct feed_list *l,
    const struct feed_rec_conf *rc, uint64_t now_ms, struct proto_record *recs)
{
	size_t total = feed_diff_count(p), from, k, j;
	char key[PROTO_DOMAIN_MAX + 64];

	for (from = 0; from < total; from += k) {
		k = feed_diff_records(
		    p, l, rc, now_ms, from, recs, PROTO_BATCH_RECORDS_MAX);
		for (j = 0; j < k; j++) {
			const struct proto_record *r = &recs[j];
			size_t at = from + j;
			char mark = at < p->dels.n ? '-'
			            : p->put_why[at - p->dels.n] == FEED_CH_ADD
			                ? '+'
			                : '~';

			if (proto_key_format(r->kind, r->key, r->key_len, key,
			        sizeof(key)) != 0)
				snprintf(key, sizeof(key), "?");
			printf("%c %s %s reason=\"%.*s\"\n", mark,
			    proto_kind_name(r->kind), key, (int)r->reason_len,
			    r->reason);
		}
	}
}

/* feed_main_publish - send the plan; an exit code */
static int
feed_main_publish(const struct feed_conf *c, struct feed_state *st,
    const struct feed_plan *p, const struct feed_list *l,
    const struct feed_rec_conf *rc, uint64_t now_ms, struct proto_record *recs)
{
	struct feed_submit_conf sc;
	struct feed_submit *s = NULL;
	size_t total = feed_diff_count(p), from, k, msgs = 0, m, resent = 0;
	uint64_t first = 0, last = 0, f, lst, seq = 0;
	char err[512];
	int rv = FEED_EXIT_PUBLISH, e;

	memset(&sc, 0, sizeof(sc));
	sc.host = c->broker_host;
	sc.port = c->broker_port;
	sc.cafile = c->broker_cafile;
	sc.certfile = c->broker_certfile;
	sc.keyfile = c->broker_keyfile;
	sc.username = c->broker_username;
	sc.password = c->broker_password;
	sc.source = c->source;
	sc.who = c->who;
	sc.key = c->sign_key;
	sc.timeout_ms = c->publish_timeout;
	if ((e = feed_submit_open(&sc, st, &s, err, sizeof(err))) != 0) {
		mx_err("PUBLISH_FAILED source=%s err=\"%s\"", c->source, err);
		goto out;
	}
	/* subscribed before the first send: no batch can slip past */
	if (c->confirm_hub[0] != '\0' &&
	    (e = feed_submit_watch(
	         s, c->confirm_hub, c->verify_key, err, sizeof(err))) != 0) {
		mx_err("PUBLISH_FAILED source=%s err=\"confirm: %s\"",
		    c->source, err);
		goto out;
	}
	for (from = 0; from < total; from += k) {
		k = feed_diff_records(
		    p, l, rc, now_ms, from, recs, PROTO_BATCH_RECORDS_MAX);
		if ((e = feed_submit_send(
		         s, recs, k, &m, &f, &lst, err, sizeof(err))) != 0) {
			mx_err("PUBLISH_FAILED source=%s sent=%zu of %zu "
			       "err=\"%s\" (the last import stays the "
			       "baseline: the next run sends it again)",
			    c->source, from, total, err);
			goto out;
		}
		if (msgs == 0)
			first = f;
		last = lst;
		msgs += m;
	}
	/*
	 * a PUBACK means the broker has it, not the hub: with confirm_hub
	 * the baseline moves only once the hub's updates carried every
	 * record, else the next run sends the difference again
	 */
	if (c->confirm_hub[0] != '\0' &&
	    (e = feed_submit_confirm(
	         s, c->confirm_time, &seq, &resent, err, sizeof(err))) != 0) {
		mx_err("NOT_CONFIRMED source=%s hub=%s err=\"%s\" (the last "
		       "import stays the baseline: the next run sends it "
		       "again)",
		    c->source, c->confirm_hub, err);
		goto out;
	}
	if ((e = feed_diff_commit(st, p, l, rc, now_ms)) != 0) {
		mx_err("STATE_FAILED source=%s err=\"%s\" (published, but not "
		       "recorded: the next run sends it again)",
		    c->source, mx_strerror(e));
		goto out;
	}
	printf("mxfeed: %s: published %zu records in %zu messages (serials "
	       "%llu..%llu)",
	    c->source, total, msgs, (unsigned long long)first,
	    (unsigned long long)last);
	if (c->confirm_hub[0] != '\0')
		printf("; confirmed by %s at seq %llu (%zu resent)",
		    c->confirm_hub, (unsigned long long)seq, resent);
	printf("\n");
	rv = FEED_EXIT_OK;
out:
	feed_submit_close(s);
	return rv;
}

/* feed_main_run - one import; an exit code */
static int
feed_main_run(const struct feed_conf *c, const struct feed_args *a)
{
	struct feed_list l;
	struct feed_plan p;
	struct feed_state *st = NULL;
	struct feed_state_info info;
	struct feed_rec_conf rc;
	struct proto_record *recs = NULL;
	uint64_t now_ms = mx_unix_ms();
	char err[512];
	int rv, e;

	memset(&p, 0, sizeof(p));
	feed_list_init(&p.dels, 0);
	feed_list_init(&l, (size_t)c->max_entries);
	if ((rv = feed_main_read(c, a, &l)) != FEED_EXIT_OK)
		goto out;
	if ((e = feed_state_open(c->state_dir, c->source, c->state_map_size,
	         a->is_dry_run, &st, err, sizeof(err))) != 0) {
		fprintf(stderr, "mxfeed: %s\n", err);
		rv = FEED_EXIT_USAGE;
		goto out;
	}
	if ((e = feed_state_get_info(st, &info)) != 0) {
		fprintf(stderr, "mxfeed: state: %s\n", mx_strerror(e));
		rv = FEED_EXIT_USAGE;
		goto out;
	}
	if (info.serial_max > info.serial)
		mx_notice("UNFINISHED source=%s serial=%llu: an earlier run "
		          "reserved serials but did not record its import; its "
		          "difference is sent again",
		    c->source, (unsigned long long)info.serial_max);
	memset(&rc, 0, sizeof(rc));
	rc.source = c->source;
	rc.action = c->act;
	rc.score = c->score;
	rc.ttl_s = c->ttl / 1000;
	if ((e = feed_diff_plan(st, &l, &rc, now_ms / 1000, &p)) != 0) {
		fprintf(stderr, "mxfeed: state: %s\n", mx_strerror(e));
		rv = FEED_EXIT_USAGE;
		goto out;
	}
	recs = mx_calloc(PROTO_BATCH_RECORDS_MAX, sizeof(*recs));
	if (a->is_dry_run || c->verbose)
		feed_main_print(&p, &l, &rc, now_ms, recs);
	printf("mxfeed: %s: %zu entries (%zu duplicates dropped); last "
	       "import: %zu entries%s; %zu added, %zu removed, %zu renewed, "
	       "%zu unchanged\n",
	    c->source, l.n, l.dups, p.n_prev, p.has_prev ? "" : " (none yet)",
	    p.n_added, p.dels.n, p.n_renewed, p.n_unchanged);
	if (feed_diff_is_held(&p, c->max_change_share) && !a->is_force) {
		fprintf(stderr,
		    "mxfeed: %s: held: %zu added and %zu removed of %zu is "
		    "more than max_change_share %llu%%; check the list, then "
		    "run again with --force\n",
		    c->source, p.n_added, p.dels.n, p.n_prev,
		    (unsigned long long)c->max_change_share);
		rv = FEED_EXIT_HELD;
		goto out;
	}
	if (a->is_dry_run) {
		printf("mxfeed: %s: dry run: nothing published or recorded\n",
		    c->source);
		rv = FEED_EXIT_OK;
		goto out;
	}
	if (feed_diff_count(&p) == 0) {
		/* a first import with no entries (--force) is still one */
		if (!p.has_prev &&
		    (e = feed_diff_commit(st, &p, &l, &rc, now_ms)) != 0) {
			fprintf(stderr, "mxfeed: state: %s\n", mx_strerror(e));
			rv = FEED_EXIT_USAGE;
			goto out;
		}
		printf("mxfeed: %s: nothing to publish\n", c->source);
		rv = FEED_EXIT_OK;
		goto out;
	}
	rv = feed_main_publish(c, st, &p, &l, &rc, now_ms, recs);
out:
	mx_free(recs);
	feed_plan_fini(&p);
	feed_state_close(st);
	feed_list_fini(&l);
	return rv;
}

int
main(int argc, char **argv)
{
	struct feed_conf *c;
	struct feed_args a;
	int rv;

	c = feed_conf_load(argc, argv, &a);
	if (c == NULL) {
		fprintf(stderr, "mxfeed: configuration refused\n");
		mx_free(a.files);
		return FEED_EXIT_USAGE;
	}
	mx_log_open("mxfeed", 1, c->verbose ? MX_LOG_DEBUG : MX_LOG_INFO);
	/* a broker that closes the connection is an error, not a kill */
	signal(SIGPIPE, SIG_IGN);
	if (a.is_check) {
		printf("mxfeed: configuration ok (source %s)\n", c->source);
		rv = FEED_EXIT_OK;
	} else {
		rv = feed_main_run(c, &a);
	}
	feed_conf_free(c);
	mx_free(a.files);
	return rv;
}
