/*
 * fuzz_msg_signed.c - libFuzzer target for proto_signed_decode and
 * proto_msg_peek
 *
 * Oracles: peek runs on every input; an accepted envelope peeks as the
 * same signed type, its body and signature are views inside the input and
 * the signature is PROTO_SIG_LEN bytes; it re-encodes without error,
 * splits again into the same type, body and signature, re-encodes to the
 * same bytes, and is never longer than the input. The body then goes
 * through its body decoder with the oracles of fuzz_msg.h.
 * Trust: the input is arbitrary bytes, passed as (pointer, length).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/mx_buf.h"
#include "proto/proto_msg.h"
#include "tests/fuzz/fuzz_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one input through the signed envelope */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_str body, sig, body2, sig2;
	struct mx_buf out, out2;
	unsigned type, type2, peeked;
	int rc, prc;

	prc = proto_msg_peek(data, size, &peeked);
	fuzz_msg_check(prc <= 0);
	rc = proto_signed_decode(data, size, &type, &body, &sig);
	if (rc != 0) {
		fuzz_msg_check(rc < 0);
		return 0;
	}
	fuzz_msg_check(prc == 0 && peeked == type);
	fuzz_msg_check(type == PROTO_MSG_UPDATE || type == PROTO_MSG_SNAPSHOT ||
	               type == PROTO_MSG_FEED);
	fuzz_msg_check(sig.len == PROTO_SIG_LEN);
	fuzz_msg_check(fuzz_msg_view_in(body, data, size) &&
	               fuzz_msg_view_in(sig, data, size));

	mx_buf_init(&out, PROTO_MSG_MAX);
	mx_buf_init(&out2, PROTO_MSG_MAX);
	fuzz_msg_check(
	    proto_signed_encode(&out, type, body.p, body.len, sig.p) == 0);
	fuzz_msg_check(
	    proto_signed_decode(out.data, out.len, &type2, &body2, &sig2) == 0);
	fuzz_msg_check(type2 == type && fuzz_msg_view_eq(body, body2) &&
	               fuzz_msg_view_eq(sig, sig2));
	fuzz_msg_check(
	    proto_signed_encode(&out2, type2, body2.p, body2.len, sig2.p) == 0);
	fuzz_msg_check(
	    out.len == out2.len && memcmp(out.data, out2.data, out.len) == 0);
	fuzz_msg_check(out.len <= size);
	mx_buf_fini(&out2);
	mx_buf_fini(&out);

	fuzz_msg_body(type, body.p, body.len);
	return 0;
}
