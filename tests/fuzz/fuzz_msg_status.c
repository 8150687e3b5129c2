/*
 * fuzz_msg_status.c - libFuzzer target for proto_status_decode
 *
 * Oracles: an accepted status peeks as type 4; every view points inside
 * the input; it re-encodes without error, decodes again to the same
 * fields, re-encodes to the same bytes, and is never longer than the
 * input. A broken oracle aborts.
 * Trust: the input is arbitrary bytes, passed as (pointer, length).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/mx_buf.h"
#include "proto/proto_msg.h"
#include "tests/fuzz/fuzz_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_msg_status_eq - every field of two statuses */
static bool
fuzz_msg_status_eq(const struct proto_status *a, const struct proto_status *b)
{
	size_t i;

	if (!fuzz_msg_view_eq(a->edge_id, b->edge_id) ||
	    !fuzz_msg_view_eq(a->pop, b->pop) ||
	    !fuzz_msg_view_eq(a->version, b->version) || a->state != b->state ||
	    a->ts_ms != b->ts_ms || a->uptime_s != b->uptime_s ||
	    a->sessions != b->sessions || a->msgs_per_min != b->msgs_per_min ||
	    a->n_hubs != b->n_hubs || a->n_hubs > PROTO_STATUS_HUBS_MAX)
		return false;
	for (i = 0; i < a->n_hubs; i++)
		if (!fuzz_msg_view_eq(a->hubs[i].hub_id, b->hubs[i].hub_id) ||
		    a->hubs[i].epoch != b->hubs[i].epoch ||
		    a->hubs[i].seq != b->hubs[i].seq)
			return false;
	return true;
}

/* fuzz_msg_status_in - every view inside the input */
static bool
fuzz_msg_status_in(const struct proto_status *st, const uint8_t *p, size_t n)
{
	size_t i;

	if (!fuzz_msg_view_in(st->edge_id, p, n) ||
	    !fuzz_msg_view_in(st->pop, p, n) ||
	    !fuzz_msg_view_in(st->version, p, n))
		return false;
	for (i = 0; i < st->n_hubs; i++)
		if (!fuzz_msg_view_in(st->hubs[i].hub_id, p, n))
			return false;
	return true;
}

/* LLVMFuzzerTestOneInput - one input through the status decoder */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_status st, st2;
	struct mx_buf out, out2;
	unsigned type;
	int rc;

	rc = proto_status_decode(data, size, &st);
	if (rc != 0) {
		fuzz_msg_check(rc < 0);
		return 0;
	}
	fuzz_msg_check(
	    proto_msg_peek(data, size, &type) == 0 && type == PROTO_MSG_STATUS);
	fuzz_msg_check(fuzz_msg_status_in(&st, data, size));

	mx_buf_init(&out, PROTO_MSG_MAX);
	mx_buf_init(&out2, PROTO_MSG_MAX);
	fuzz_msg_check(proto_status_encode(&out, &st) == 0);
	fuzz_msg_check(proto_status_decode(out.data, out.len, &st2) == 0);
	fuzz_msg_check(fuzz_msg_status_eq(&st, &st2));
	fuzz_msg_check(proto_status_encode(&out2, &st2) == 0);
	fuzz_msg_check(
	    out.len == out2.len && memcmp(out.data, out2.data, out.len) == 0);
	fuzz_msg_check(out.len <= size);
	mx_buf_fini(&out2);
	mx_buf_fini(&out);
	return 0;
}
