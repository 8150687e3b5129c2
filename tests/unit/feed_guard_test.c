/*
 * feed_guard_test.c - mxfeed's guardrails: own, allow-listed and
 * provider networks and domains
 *
 * An entry is refused when it meets a guarded network (holds it or lies
 * in it) or is, holds or lies under a guarded domain, including the
 * built-in large providers unless provider_defaults is off. The reader
 * reports a guarded entry like any refused line (FILE:LINE: covers ...)
 * and counts it towards max_bad_share.
 * Trust: test inputs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_err.h"
#include "feeds/feed.h"

static const struct feed_rules t_rules = {8, 32, 0, 0};
static const struct feed_rules t_wide = {8, 32, 0, 1};

/* guard_new - own 45.9.148.0/24 and 2a0b:4140::/32, allow 185.1.2.3,
 * provider net 66.102.0.0/20, provider domain corp.example */
static struct feed_guard *
guard_new(void)
{
	struct feed_guard *g = calloc(1, sizeof(*g));
	char err[128];

	assert_non_null(g);
	g->provider_defaults = 1;
	assert_int_equal(
	    feed_guard_net_add(&g->own, "45.9.148.0/24", 13, err, sizeof(err)),
	    0);
	assert_int_equal(
	    feed_guard_net_add(&g->own, "2a0b:4140::/32", 14, err, sizeof(err)),
	    0);
	assert_int_equal(
	    feed_guard_net_add(&g->allow, "185.1.2.3", 9, err, sizeof(err)), 0);
	assert_int_equal(feed_guard_net_add(&g->provider, "66.102.0.0/20", 13,
	                     err, sizeof(err)),
	    0);
	assert_int_equal(feed_guard_dom_add(&g->provider_dom, "Corp.Example.",
	                     13, err, sizeof(err)),
	    0);
	assert_int_equal(feed_guard_dom_add(&g->allow_dom, "partner.example",
	                     15, err, sizeof(err)),
	    0);
	return g;
}

/* check - parse one line of fmt and run the guard on its entry */
static int
check(const struct feed_guard *g, int fmt, const struct feed_rules *r,
    const char *line, char *why, size_t whylen)
{
	struct feed_line ln;

	if (feed_parse_line(fmt, r, line, strlen(line), &ln) != FEED_LINE_OK)
		fail_msg("'%s' does not parse: %s", line, ln.why);
	assert_int_equal(ln.n, 1);
	return feed_guard_check(g, &ln.e[0], why, whylen);
}

/* assert_guarded - refused, and why names part */
static void
assert_guarded(const struct feed_guard *g, int fmt, const struct feed_rules *r,
    const char *line, const char *part)
{
	char why[FEED_WHY_MAX];

	why[0] = '\0';
	if (check(g, fmt, r, line, why, sizeof(why)) != MX_EINVAL)
		fail_msg("'%s' not guarded", line);
	if (strstr(why, part) == NULL)
		fail_msg("'%s': why '%s' lacks '%s'", line, why, part);
}

/* assert_free - not refused */
static void
assert_free(const struct feed_guard *g, int fmt, const struct feed_rules *r,
    const char *line)
{
	char why[FEED_WHY_MAX];

	if (check(g, fmt, r, line, why, sizeof(why)) != 0)
		fail_msg("'%s' guarded: %s", line, why);
}

static void
test_own_net_covered(void **state)
{
	struct feed_guard *g = guard_new();

	(void)state;
	/* wider than, equal to, and inside the own network */
	assert_guarded(g, FEED_FMT_IP, &t_rules, "45.9.0.0/16",
	    "covers own_net 45.9.148.0/24");
	assert_guarded(
	    g, FEED_FMT_IP, &t_rules, "45.9.148.0/24", "own_net 45.9.148.0/24");
	assert_guarded(g, FEED_FMT_IP, &t_rules, "45.9.148.128/25", "own_net");
	assert_guarded(
	    g, FEED_FMT_DROP, &t_rules, "45.9.148.7 ; SBL1", "own_net");
	assert_guarded(g, FEED_FMT_IP, &t_rules, "2a0b:4140:9::/48",
	    "own_net 2a0b:4140::/32");
	assert_guarded(g, FEED_FMT_IP, &t_wide, "2a00::/12", "own_net");
	/* next door is fine; a v6 entry never meets a v4 network */
	assert_free(g, FEED_FMT_IP, &t_rules, "45.9.149.0/24");
	assert_free(g, FEED_FMT_IP, &t_rules, "45.9.147.255");
	assert_free(g, FEED_FMT_IP, &t_rules, "2a0b:4141::/32");
	free(g);
}

static void
test_allow_and_provider_nets(void **state)
{
	struct feed_guard *g = guard_new();

	(void)state;
	assert_guarded(g, FEED_FMT_IP, &t_rules, "185.1.2.3",
	    "covers allow_net 185.1.2.3/32");
	assert_guarded(g, FEED_FMT_IP, &t_rules, "185.1.0.0/16", "allow_net");
	assert_free(g, FEED_FMT_IP, &t_rules, "185.1.2.4");
	assert_guarded(g, FEED_FMT_IP, &t_rules, "66.102.4.0/24",
	    "covers provider_net 66.102.0.0/20");
	assert_guarded(g, FEED_FMT_IP, &t_rules, "66.0.0.0/8", "provider_net");
	assert_free(g, FEED_FMT_IP, &t_rules, "66.102.16.0/24");
	/* no guard at all */
	{
		struct feed_line ln;
		char why[8];

		assert_int_equal(feed_parse_line(FEED_FMT_IP, &t_rules,
		                     "45.9.148.7", 10, &ln),
		    FEED_LINE_OK);
		assert_int_equal(
		    feed_guard_check(NULL, &ln.e[0], why, sizeof(why)), 0);
	}
	free(g);
}

static void
test_provider_domains(void **state)
{
	struct feed_guard *g = guard_new();

	(void)state;
	/* built-in: the domain, a name under it, a parent of it */
	assert_guarded(g, FEED_FMT_DOMAIN, &t_rules, "gmail.com",
	    "covers the mail provider gmail.com (provider_defaults)");
	assert_guarded(g, FEED_FMT_DOMAIN, &t_rules, "GMAIL.COM.", "gmail.com");
	assert_guarded(
	    g, FEED_FMT_DOMAIN, &t_rules, "smtp.googlemail.com", "googlemail");
	assert_guarded(g, FEED_FMT_DOMAIN, &t_wide, "ru", "mail.ru");
	assert_guarded(g, FEED_FMT_DOMAIN, &t_rules, "proton.me", "proton.me");
	assert_guarded(
	    g, FEED_FMT_HOSTS, &t_rules, "0.0.0.0 mx.yahoo.com", "yahoo.com");
	/* configured ones */
	assert_guarded(g, FEED_FMT_DOMAIN, &t_rules, "mx1.corp.example",
	    "covers provider_domain corp.example");
	assert_guarded(g, FEED_FMT_DOMAIN, &t_rules, "partner.example",
	    "covers allow_domain partner.example");
	/* label-wise: a longer or shorter label is another domain */
	assert_free(g, FEED_FMT_DOMAIN, &t_rules, "notgmail.com");
	assert_free(g, FEED_FMT_DOMAIN, &t_rules, "gmail.co");
	assert_free(g, FEED_FMT_DOMAIN, &t_rules, "gmail.com.evil.example");
	assert_free(g, FEED_FMT_DOMAIN, &t_rules, "xcorp.example");
	/* the built-in list can be turned off; configured ones stay */
	g->provider_defaults = 0;
	assert_free(g, FEED_FMT_DOMAIN, &t_rules, "gmail.com");
	assert_guarded(
	    g, FEED_FMT_DOMAIN, &t_rules, "corp.example", "provider_domain");
	free(g);
}

static void
test_guard_lists_refuse_bad_values(void **state)
{
	struct feed_guard *g = calloc(1, sizeof(*g));
	char err[128], net[32];
	int i;

	(void)state;
	assert_non_null(g);
	assert_int_equal(
	    feed_guard_net_add(&g->own, "10.0.0.1/8", 10, err, sizeof(err)),
	    MX_EINVAL);
	assert_non_null(strstr(err, "host bits clear"));
	assert_int_equal(
	    feed_guard_net_add(&g->own, "nonsense", 8, err, sizeof(err)),
	    MX_EINVAL);
	assert_int_equal(
	    feed_guard_dom_add(&g->allow_dom, "a..b", 4, err, sizeof(err)),
	    MX_EINVAL);
	/* a bound on each list: FEED_NETS_MAX, then MX_ELIMIT */
	for (i = 0; i < FEED_NETS_MAX; i++) {
		int n = snprintf(
		    net, sizeof(net), "45.%d.%d.0/24", i / 256, i % 256);

		assert_int_equal(feed_guard_net_add(&g->allow, net, (size_t)n,
		                     err, sizeof(err)),
		    0);
	}
	assert_int_equal(
	    feed_guard_net_add(&g->allow, "46.0.0.0/24", 11, err, sizeof(err)),
	    MX_ELIMIT);
	assert_int_equal(g->allow.n, FEED_NETS_MAX);
	free(g);
}

/* a report callback that counts and keeps the last */
struct seen {
	size_t n;
	size_t line;
	char why[FEED_WHY_MAX + 64];
};

static void
on_report(void *arg, const char *file, size_t line, const char *why)
{
	struct seen *s = arg;

	(void)file;
	if (line > 0 && s->line == 0) {
		s->line = line;
		snprintf(s->why, sizeof(s->why), "%s", why);
	}
	s->n++;
}

static void
test_reader_reports_guarded_lines(void **state)
{
	static const char text[] = "1.10.16.0/20 ; SBL1\n"
	                           "45.9.148.0/22 ; SBL2\n"
	                           "1.19.0.0/16 ; SBL3\n"
	                           "2.56.192.0/22 ; SBL4\n";
	struct feed_guard *g = guard_new();
	struct feed_read_stats st;
	struct feed_read_opts o;
	struct feed_list l;
	struct seen s;

	(void)state;
	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	o.fmt = FEED_FMT_AUTO;
	o.rules = &t_rules;
	o.guard = g;
	o.max_bad_share = 25;
	o.report = on_report;
	o.arg = &s;
	feed_list_init(&l, 100);
	assert_int_equal(
	    feed_read_mem(&o, "drop.txt", text, strlen(text), &l, &st), 0);
	assert_int_equal(st.bad, 1);
	assert_int_equal(l.n, 3);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.line, 2);
	assert_non_null(strstr(s.why, "covers own_net 45.9.148.0/24"));
	/* counted towards the share like any bad line */
	o.max_bad_share = 24;
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    feed_read_mem(&o, "drop.txt", text, strlen(text), &l, &st),
	    MX_EINVAL);
	assert_int_equal(l.n, 3);
	feed_list_fini(&l);
	free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_own_net_covered),
	    cmocka_unit_test(test_allow_and_provider_nets),
	    cmocka_unit_test(test_provider_domains),
	    cmocka_unit_test(test_guard_lists_refuse_bad_values),
	    cmocka_unit_test(test_reader_reports_guarded_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
