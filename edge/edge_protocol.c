/*
 * edge_protocol.c - the protocol layer: how the client speaks SMTP
 *
 * Scores what legitimate MTAs do not do: talking before the greeting
 * (seen during the pre-greet wait, pregreet_time), pipelining commands
 * without having negotiated PIPELINING, commands of another protocol
 * (HTTP verbs), and a bad HELO: not a valid domain or address literal,
 * an address literal that is not the client's address, or our own name.
 * The session notes the facts in f->proto_flags; this layer turns each
 * into one hit with a reason id, scored from the configuration.
 * Trust: HELO text from the sender, bounded by the command parser.
 */
#include "edge/edge_int.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* the facts, once each: bit, reason id, which configured score */
static const struct {
	uint32_t bit;
	const char *id;
} edge_protocol_facts[] = {
    {EDGE_PF_EARLY_TALKER, "proto:early_talker"},
    {EDGE_PF_BAD_PIPELINING, "proto:pipelining_not_offered"},
    {EDGE_PF_NON_SMTP, "proto:non_smtp_command"},
    {EDGE_PF_BAD_HELO, "proto:bad_helo"},
    {EDGE_PF_HELO_MISMATCH, "proto:helo_literal_mismatch"},
    {EDGE_PF_HELO_IS_US, "proto:helo_is_us"},
};

/* edge_protocol_score - the configured score of a fact */
static int32_t
edge_protocol_score(const struct edge_conf *c, uint32_t bit)
{
	switch (bit) {
	case EDGE_PF_EARLY_TALKER:
		return (int32_t)c->score_early_talker;
	case EDGE_PF_BAD_PIPELINING:
		return (int32_t)c->score_bad_pipelining;
	case EDGE_PF_NON_SMTP:
		return (int32_t)c->score_non_smtp;
	default:
		return (int32_t)c->score_bad_helo;
	}
}

/* edge_protocol_report - one hit per fact not reported yet */
static void
edge_protocol_report(struct edge_fctx *f)
{
	size_t i;

	for (i = 0;
	     i < sizeof(edge_protocol_facts) / sizeof(edge_protocol_facts[0]);
	     i++) {
		uint32_t bit = edge_protocol_facts[i].bit;

		if (!(f->proto_flags & bit) || (f->proto_reported & bit))
			continue;
		f->proto_reported |= bit;
		edge_filter_hit_add(f, EDGE_LAYER_PROTOCOL, NULL,
		    edge_protocol_facts[i].id,
		    edge_protocol_score(f->conf, bit), PROTO_ACT_SCORE);
	}
}

/* edge_protocol_helo - judge the HELO argument */
static void
edge_protocol_helo(struct edge_fctx *f, const char *helo, size_t len)
{
	enum edge_cmd_err why;

	if (len > 2 && helo[0] == '[' && helo[len - 1] == ']') {
		char lit[INET6_ADDRSTRLEN + 8];
		uint8_t a[16];
		size_t l = len - 2;
		const char *p = helo + 1;

		if (l > 5 && strncasecmp(p, "IPv6:", 5) == 0) {
			p += 5;
			l -= 5;
		}
		memset(a, 0, sizeof(a));
		if (l < sizeof(lit)) {
			memcpy(lit, p, l);
			lit[l] = '\0';
			if (inet_pton(AF_INET, lit, a + 12) == 1) {
				a[10] = a[11] = 0xff;
			} else if (inet_pton(AF_INET6, lit, a) != 1) {
				f->proto_flags |= EDGE_PF_BAD_HELO;
				goto out;
			}
			if (memcmp(a, f->peer, 16) != 0)
				f->proto_flags |= EDGE_PF_HELO_MISMATCH;
		} else {
			f->proto_flags |= EDGE_PF_BAD_HELO;
		}
		goto out;
	}
	if (edge_cmd_domain_parse(helo, len, 0, NULL, 0, &why) != 0 ||
	    memchr(helo, '.', len) == NULL)
		f->proto_flags |= EDGE_PF_BAD_HELO;
	else if (strlen(f->conf->hostname) == len &&
	         strncasecmp(f->conf->hostname, helo, len) == 0)
		f->proto_flags |= EDGE_PF_HELO_IS_US;
out:
	edge_protocol_report(f);
}

/* edge_protocol_stage - report facts noted since the last stage */
static void
edge_protocol_connect(struct edge_fctx *f)
{
	edge_protocol_report(f);
}

/* edge_protocol_mail - report facts noted since HELO */
static void
edge_protocol_mail(struct edge_fctx *f, const char *domain, size_t len)
{
	(void)domain;
	(void)len;
	edge_protocol_report(f);
}

const struct edge_layer edge_layer_protocol = {
    .name = "protocol",
    .connect = edge_protocol_connect,
    .helo = edge_protocol_helo,
    .mail = edge_protocol_mail,
};
