/*
 * bench_tel.h - synthetic telemetry batches for the hub benchmarks
 *
 * bench_hub (the hub's modules without a broker) and bench_hub_pub (a
 * publisher through a real broker) feed mxhub the same batches: a
 * generator that is a pure function of its seed and the batch number, so
 * two runs with the same options encode the same bytes. The mix is what
 * bench/README.md ("hub") describes: client addresses from a pool
 * (skewed: a few send much), sender domains, 0-3 URL domains, 16
 * fingerprint band keys on half of the events, 1-3 recipients with their
 * results, a few spam-trap hits, refused connections.
 * Trust: none needed; everything here is generated.
 * Limits: BENCH_TEL_EDGES edges, PROTO_BATCH_EVENTS_MAX events per batch.
 */
#ifndef BENCH_TEL_H
#define BENCH_TEL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/mx_buf.h"
#include "proto/proto_msg.h"

#define BENCH_TEL_EDGES 8 /* edges the batches come from, 2 per POP */

struct bench_tel_opts {
	uint64_t seed;   /* generator seed */
	uint32_t ips;    /* client address pool */
	uint32_t events; /* events per batch, 1..PROTO_BATCH_EVENTS_MAX */
};

struct bench_tel {
	struct bench_tel_opts o;
	uint64_t batch;                   /* batches made so far */
	uint64_t seq[BENCH_TEL_EDGES];    /* last seq per edge */
	struct proto_event *evs;          /* o.events events */
	char *arena;                      /* text and bytes of one batch */
	size_t arena_len, arena_max;      /* bytes used, bytes allocated */
	uint64_t n_traps, n_fps, n_rcpts; /* events with a trap, with fps;
	                                     recipient answers */
};

/* bench_tel_init - a generator over o; bench_tel_fini releases it */
void bench_tel_init(struct bench_tel *g, const struct bench_tel_opts *o);
void bench_tel_fini(struct bench_tel *g);

/*
 * bench_tel_next - encode the next batch into out (reset first) with every
 * event at ts_ms; *edge and *pop name the edge it comes from (static
 * strings), matching its topic mxs/v1/telemetry/<pop>/<edge>. Returns 0
 * or the encoder's MX_E* code.
 */
int bench_tel_next(struct bench_tel *g, uint64_t ts_ms, struct mx_buf *out,
    const char **edge, const char **pop);

#endif /* BENCH_TEL_H */
