/*
 * fuzz_mime.c - libFuzzer target for the whole content analyser
 *
 * The first input byte chooses how the rest, a message, is cut into
 * chunks; the message is analysed whole and then in those chunks, and the
 * two results must be identical (the edge sees arbitrary TCP segments).
 * Beyond memory safety the oracle checks the limits and invariants of the
 * result: state within PROTO_CONTENT_MEM_MAX, URL hosts canonical (a
 * domain proto_key_domain takes, or an IP literal), strings NUL-ended at
 * their length, counts within their caps, MIME_BROKEN exactly when a
 * structural defect flag is set.
 * Trust: arbitrary bytes.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mx_err.h"
#include "proto/proto_content.h"
#include "proto/proto_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct proto_content *fz_c;
static struct proto_content_result fz_whole;

/* fz_check - invariants of one result */
static void
fz_check(const struct proto_content_result *r)
{
	uint8_t key[PROTO_KEY_MAX], bin[16];
	size_t i, klen;
	uint32_t defects = PROTO_CF_UNCLOSED | PROTO_CF_BOUNDARY_UNSEEN |
	                   PROTO_CF_HDR_BROKEN | PROTO_CF_BAD_BOUNDARY;

	if (r->n_urls > PROTO_EV_URLS_MAX ||
	    r->n_attach > PROTO_EV_ATTACH_MAX ||
	    r->n_attach > r->attach_total ||
	    r->subject_len > PROTO_EV_SUBJECT_MAX ||
	    strlen(r->subject) != r->subject_len ||
	    strlen(r->from_name) != r->from_name_len ||
	    strlen(r->from_addr) != r->from_addr_len ||
	    strlen(r->message_id) != r->message_id_len ||
	    r->max_depth > PROTO_MIME_DEPTH_MAX || r->parts == 0 ||
	    r->has_body_hash != (r->text_bytes > 0) ||
	    !!(r->flags & PROTO_CF_MIME_BROKEN) != !!(r->flags & defects))
		abort();
	for (i = 0; i < r->n_urls; i++) {
		const struct proto_url *u = &r->urls[i];

		if (strlen(u->host) != u->host_len || u->host_len == 0)
			abort();
		if (u->ip == 0 &&
		    proto_key_domain(u->host, u->host_len, key, &klen) != 0)
			abort();
		if (u->ip == 4 && inet_pton(AF_INET, u->host, bin) != 1)
			abort();
		if (u->ip == 6 && inet_pton(AF_INET6, u->host, bin) != 1)
			abort();
	}
	for (i = 0; i < r->n_attach; i++)
		if (strlen(r->attach[i].name) != r->attach[i].name_len ||
		    r->attach[i].type > PROTO_AT_MAX)
			abort();
}

/* LLVMFuzzerTestOneInput - whole versus cut, then invariants */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed;
	size_t i;

	if (size < 1)
		return 0;
	if (fz_c == NULL && proto_content_new(NULL, NULL, &fz_c) != 0)
		abort();
	seed = data[0];
	data++;
	size--;
	if (proto_content_reset(fz_c) != 0 ||
	    proto_content_feed(fz_c, data, size) != 0 ||
	    proto_content_finish(fz_c) != 0)
		abort();
	fz_whole = *proto_content_result(fz_c);
	fz_check(&fz_whole);
	if (proto_content_reset(fz_c) != 0)
		abort();
	for (i = 0; i < size;) {
		size_t k;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		k = 1 + (size_t)((seed >> 33) % ((data[-1] & 0x3f) + 1));
		if (k > size - i)
			k = size - i;
		if (proto_content_feed(fz_c, data + i, k) != 0)
			abort();
		if (proto_content_mem(fz_c) > PROTO_CONTENT_MEM_MAX)
			abort();
		i += k;
	}
	if (proto_content_finish(fz_c) != 0)
		abort();
	if (memcmp(&fz_whole, proto_content_result(fz_c), sizeof(fz_whole)) !=
	    0)
		abort();
	return 0;
}
