/*
 * edge_ip.c - the ip layer: exact address and longest-prefix network
 * records from the LMDB cache, at connect (after any PROXY header)
 *
 * Cost: one exact get and one index seek (proto_store_lookup_net) on the
 * worker's read transaction, renewed and ended around the lookups so no
 * snapshot is held across the event loop.
 * Trust: the address is the kernel's or a validated PROXY header's;
 * records were checked when written. Limits: none beyond the store's.
 */
#include "edge/edge_int.h"

#include <stdio.h>
#include <time.h>

#include "lib/mx_err.h"

/* edge_ip_hit - turn a record into a hit named after its key */
static void
edge_ip_hit(struct edge_fctx *f, const struct proto_record *r)
{
	char key[56], id[EDGE_FILTER_HIT_ID_MAX];

	if (proto_key_format(r->kind, r->key, r->key_len, key, sizeof(key)) !=
	    0)
		snprintf(key, sizeof(key), "?");
	snprintf(id, sizeof(id), "%s:%s",
	    r->kind == PROTO_KIND_IP ? "ip" : "net", key);
	edge_filter_hit_add(f, EDGE_LAYER_IP, r, id, r->score, r->action);
}

/* edge_ip_connect - look the client up */
static void
edge_ip_connect(struct edge_fctx *f)
{
	struct proto_record r;
	uint8_t key[16];
	size_t klen = 0;
	uint64_t now = (uint64_t)time(NULL);
	int rc;

	if (f->rtxn == NULL || proto_key_ip_bin(f->peer, 16, key, &klen) != 0)
		return;
	if (proto_store_read_renew(f->rtxn) != 0) {
		edge_filter_layer_failed(f, EDGE_LAYER_IP);
		return;
	}
	rc = proto_store_get(f->rtxn, PROTO_KIND_IP, key, klen, now, &r);
	if (rc == 0)
		edge_ip_hit(f, &r);
	else if (rc != MX_ENOTFOUND)
		edge_filter_layer_failed(f, EDGE_LAYER_IP);
	rc = proto_store_lookup_net(f->rtxn, key, klen, now, &r);
	if (rc == 0)
		edge_ip_hit(f, &r);
	else if (rc != MX_ENOTFOUND)
		edge_filter_layer_failed(f, EDGE_LAYER_IP);
	proto_store_read_end(f->rtxn);
}

const struct edge_layer edge_layer_ip = {
    .name = "ip",
    .connect = edge_ip_connect,
};
