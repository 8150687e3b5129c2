/*
 * feed_guard.c - guardrails: what no imported entry may cover
 *
 * A list that suddenly names the deployment's own networks, a range the
 * operator allow-listed or a large mail provider is wrong (a mistake or
 * an attack on the list), and enforcing it would stop mail that must
 * flow. Networks (own_net, allow_net, provider_net) are refused when an
 * entry and the network meet (either holds the other); domains
 * (provider_domain plus a built-in list of large providers, allow_domain)
 * when an entry is the domain, a parent of it or under it. The checks
 * compare canonical proto keys, so case, trailing dots and IDN forms
 * cannot slip past.
 * Trust: entries come from hostile lists (already parsed); the guard
 * lists from the operator's configuration. Limits: FEED_NETS_MAX and
 * FEED_DOMAINS_MAX entries per list.
 */
#include "feeds/feed.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "lib/mx_err.h"

/* large mail providers no list may block (provider_defaults), each with
 * its proto key (labels reversed) */
static const struct {
	const char *name;
	const char *key;
} feed_guard_providers[] = {
    {"gmail.com", "com.gmail"},
    {"googlemail.com", "com.googlemail"},
    {"outlook.com", "com.outlook"},
    {"hotmail.com", "com.hotmail"},
    {"live.com", "com.live"},
    {"yahoo.com", "com.yahoo"},
    {"icloud.com", "com.icloud"},
    {"me.com", "com.me"},
    {"aol.com", "com.aol"},
    {"gmx.net", "net.gmx"},
    {"web.de", "de.web"},
    {"mail.ru", "ru.mail"},
    {"yandex.ru", "ru.yandex"},
    {"protonmail.com", "com.protonmail"},
    {"proton.me", "me.proton"},
    {"zoho.com", "com.zoho"},
};

/* feed_guard_net_add - one configured network */
int
feed_guard_net_add(struct feed_netlist *l, const char *text, size_t len,
    char *err, size_t errlen)
{
	uint8_t key[PROTO_KEY_MAX];
	size_t klen;
	struct feed_net *n;

	if (l->n == FEED_NETS_MAX) {
		snprintf(err, errlen, "more than %d networks", FEED_NETS_MAX);
		return MX_ELIMIT;
	}
	n = &l->v[l->n];
	memset(n, 0, sizeof(*n));
	if (memchr(text, '/', len) != NULL) {
		if (proto_key_net(text, len, key, &klen) != 0)
			goto bad;
		n->plen = key[0];
		n->alen = (uint8_t)(klen - 1);
		memcpy(n->addr, key + 1, klen - 1);
	} else {
		if (proto_key_ip(text, len, key, &klen) != 0)
			goto bad;
		n->alen = (uint8_t)klen;
		n->plen = (uint8_t)(klen * 8);
		memcpy(n->addr, key, klen);
	}
	l->n++;
	return 0;
bad:
	snprintf(err, errlen,
	    "'%.*s' is not ADDRESS or NETWORK/PREFIX (host bits clear)",
	    (int)(len < 64 ? len : 64), text);
	return MX_EINVAL;
}

/* feed_guard_dom_add - one configured domain */
int
feed_guard_dom_add(struct feed_domlist *l, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct feed_dom *d;
	size_t klen;

	if (l->n == FEED_DOMAINS_MAX) {
		snprintf(err, errlen, "more than %d domains", FEED_DOMAINS_MAX);
		return MX_ELIMIT;
	}
	d = &l->v[l->n];
	if (proto_key_domain(text, len, d->key, &klen) != 0) {
		snprintf(err, errlen, "'%.*s' is not a domain name",
		    (int)(len < 64 ? len : 64), text);
		return MX_EINVAL;
	}
	d->len = (uint8_t)klen;
	l->n++;
	return 0;
}

/* feed_guard_nets - the first network of l that e meets, or NULL */
static const struct feed_net *
feed_guard_nets(const struct feed_netlist *l, const uint8_t *addr, size_t alen,
    unsigned plen)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].alen == alen &&
		    feed_net_overlaps(
		        addr, plen, l->v[i].addr, l->v[i].plen, alen))
			return &l->v[i];
	return NULL;
}

/*
 * feed_guard_dom_meets - is one reversed key a label-wise prefix of the
 * other ("com.example" and "com.example.mail" meet; "com.exam" does not)
 */
static int
feed_guard_dom_meets(
    const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	if (memcmp(a, b, n) != 0)
		return 0;
	if (alen == blen)
		return 1;
	return (alen > blen ? a[n] : b[n]) == '.';
}

/* feed_guard_check_net - the network guards */
static int
feed_guard_check_net(const struct feed_guard *g, const struct feed_entry *e,
    char *why, size_t whylen)
{
	static const struct {
		size_t off;
		const char *name;
	} lists[] = {
	    {offsetof(struct feed_guard, own), "own_net"},
	    {offsetof(struct feed_guard, allow), "allow_net"},
	    {offsetof(struct feed_guard, provider), "provider_net"},
	};
	char shown[INET6_ADDRSTRLEN];
	uint8_t addr[16];
	size_t alen, i;
	unsigned plen;

	if (feed_entry_net(e, &alen, addr, &plen) != 0)
		return 0;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		const struct feed_netlist *l =
		    (const void *)((const char *)g + lists[i].off);
		const struct feed_net *hit =
		    feed_guard_nets(l, addr, alen, plen);

		if (hit == NULL)
			continue;
		if (inet_ntop(hit->alen == 4 ? AF_INET : AF_INET6, hit->addr,
		        shown, sizeof(shown)) == NULL)
			shown[0] = '\0';
		snprintf(why, whylen, "covers %s %s/%u", lists[i].name, shown,
		    hit->plen);
		return MX_EINVAL;
	}
	return 0;
}

/* feed_guard_check - may e be listed */
int
feed_guard_check(const struct feed_guard *g, const struct feed_entry *e,
    char *why, size_t whylen)
{
	char shown[PROTO_DOMAIN_MAX + 1];
	size_t i;

	if (g == NULL)
		return 0;
	if (e->kind != PROTO_KIND_DOMAIN)
		return feed_guard_check_net(g, e, why, whylen);
	for (i = 0; i < g->provider_dom.n; i++) {
		const struct feed_dom *d = &g->provider_dom.v[i];

		if (!feed_guard_dom_meets(e->key, e->key_len, d->key, d->len))
			continue;
		proto_key_format(
		    PROTO_KIND_DOMAIN, d->key, d->len, shown, sizeof(shown));
		snprintf(why, whylen, "covers provider_domain %s", shown);
		return MX_EINVAL;
	}
	for (i = 0; i < g->allow_dom.n; i++) {
		const struct feed_dom *d = &g->allow_dom.v[i];

		if (!feed_guard_dom_meets(e->key, e->key_len, d->key, d->len))
			continue;
		proto_key_format(
		    PROTO_KIND_DOMAIN, d->key, d->len, shown, sizeof(shown));
		snprintf(why, whylen, "covers allow_domain %s", shown);
		return MX_EINVAL;
	}
	if (!g->provider_defaults)
		return 0;
	for (i = 0;
	     i < sizeof(feed_guard_providers) / sizeof(feed_guard_providers[0]);
	     i++) {
		const char *key = feed_guard_providers[i].key;

		if (feed_guard_dom_meets(e->key, e->key_len,
		        (const uint8_t *)key, strlen(key))) {
			snprintf(why, whylen,
			    "covers the mail provider %s (provider_defaults)",
			    feed_guard_providers[i].name);
			return MX_EINVAL;
		}
	}
	return 0;
}
