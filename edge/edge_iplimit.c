/*
 * edge_iplimit.c - concurrent sessions per client address
 *
 * A small chained hash table behind one mutex, shared by the workers; an
 * entry lives while its address has a session open, so its size is
 * bounded by max_sessions. IPv6 clients are counted per address, like
 * postscreen; per-network limits belong to the reputation layer.
 * Trust: addresses come from accept() or a validated PROXY header.
 */
#include "edge/edge_int.h"

#include <string.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"

#define EDGE_IPLIMIT_BUCKETS 4096

struct edge_iplimit_ent {
	struct edge_iplimit_ent *next;
	uint8_t addr[16];
	uint64_t count; /* open sessions of this address */
};

static pthread_mutex_t edge_iplimit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct edge_iplimit_ent *edge_iplimit_tab[EDGE_IPLIMIT_BUCKETS];

/* edge_iplimit_hash - FNV-1a over the address */
static size_t
edge_iplimit_hash(const uint8_t addr[16])
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h % EDGE_IPLIMIT_BUCKETS;
}

/* edge_iplimit_acquire - count a session unless the address is at max */
int
edge_iplimit_acquire(const uint8_t addr[16], uint64_t max)
{
	size_t b = edge_iplimit_hash(addr);
	struct edge_iplimit_ent *e;
	int rc = 0;

	pthread_mutex_lock(&edge_iplimit_lock);
	for (e = edge_iplimit_tab[b]; e != NULL; e = e->next)
		if (memcmp(e->addr, addr, 16) == 0)
			break;
	if (e == NULL) {
		e = mx_calloc(1, sizeof(*e));
		memcpy(e->addr, addr, 16);
		e->next = edge_iplimit_tab[b];
		edge_iplimit_tab[b] = e;
	}
	if (e->count >= max)
		rc = MX_ELIMIT;
	else
		e->count++;
	pthread_mutex_unlock(&edge_iplimit_lock);
	/* max >= 1, so a new entry always got its session counted: a
	 * refusal only happens for an entry that other sessions hold */
	return rc;
}

/* edge_iplimit_release - a session of addr ended */
void
edge_iplimit_release(const uint8_t addr[16])
{
	size_t b = edge_iplimit_hash(addr);
	struct edge_iplimit_ent **pp, *e;

	pthread_mutex_lock(&edge_iplimit_lock);
	for (pp = &edge_iplimit_tab[b]; (e = *pp) != NULL; pp = &e->next) {
		if (memcmp(e->addr, addr, 16) != 0)
			continue;
		if (e->count > 0)
			e->count--;
		if (e->count == 0) {
			*pp = e->next;
			mx_free(e);
		}
		break;
	}
	pthread_mutex_unlock(&edge_iplimit_lock);
}
