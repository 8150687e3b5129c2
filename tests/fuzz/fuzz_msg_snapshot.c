/*
 * fuzz_msg_snapshot.c - libFuzzer target for proto_snapshot_body_decode
 *
 * The input is a snapshot body (the map inside a signed envelope). Oracles
 * (fuzz_msg.h): every record handed to the callback passes
 * proto_record_check(); an accepted body re-encodes without error, decodes
 * again to the same header and records, re-encodes to the same bytes,
 * and is never longer than the input; views point inside the input.
 * Trust: the input is arbitrary bytes, passed as (pointer, length).
 */
#include <stddef.h>
#include <stdint.h>

#include "proto/proto_msg.h"
#include "tests/fuzz/fuzz_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one input through the snapshot body decoder */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_msg_body(PROTO_MSG_SNAPSHOT, data, size);
	return 0;
}
