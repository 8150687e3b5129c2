/*
 * edge_geolayer.c - the geo layer: country and AS of the client from the
 * MaxMind databases (edge_geo.c), and the geo_policy rules
 *
 * Runs at connect (after any PROXY header). The country and AS are kept
 * in the filter context for telemetry; a matching rule adds a hit with
 * its score or action (reject, tempfail, allow). A database that fails a
 * lookup applies the layer's fail rule; a database that cannot be opened
 * stops the start, or keeps the previous configuration on reload.
 * Trust: the address is the kernel's or a validated PROXY header's.
 */
#include "edge/edge_int.h"

#include <string.h>

#include "lib/mx_err.h"

/* edge_geolayer_connect - look the client up and apply the rules */
static void
edge_geolayer_connect(struct edge_fctx *f)
{
	const struct edge_conf *c = f->conf;
	char id[EDGE_GEO_ID_MAX];
	int32_t score = 0;
	uint8_t action = PROTO_ACT_SCORE;
	uint32_t asn = 0;
	char cc[3] = "";
	int rc;

	if (c->geo == NULL)
		return;
	rc = edge_geo_lookup(c->geo, f->peer, cc, &asn);
	if (rc == MX_EIO) {
		edge_filter_layer_failed(f, EDGE_LAYER_GEO);
		return;
	}
	memcpy(f->country, cc, sizeof(f->country));
	f->asn = asn;
	if (rc != 0)
		return;
	if (edge_geo_decide(
	        &c->geo_rules, cc, asn, &score, &action, id, sizeof(id)) == 0)
		edge_filter_hit_add(f, EDGE_LAYER_GEO, NULL, id, score, action);
}

const struct edge_layer edge_layer_geo = {
    .name = "geo",
    .connect = edge_geolayer_connect,
};
