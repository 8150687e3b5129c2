/*
 * fuzz_proxy.c - libFuzzer target for edge_proxy_parse and
 * edge_proxy_detect
 *
 * The input is the first bytes of a connection. Beyond memory safety, the
 * oracle checks that parsing is prefix-consistent, as it must be for a
 * parser that is called again each time more bytes arrive: when the whole
 * input parses, every shorter prefix is MX_ETRUNC up to the header's end
 * and gives the same header from there on; when it is invalid, no prefix
 * parses; when it needs more bytes, so does every prefix. Results stay
 * within the limits, and detect agrees with parse.
 * Trust: arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mx_err.h"

#include "edge/edge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* prefixes past this cannot change the answer (v2 cap plus slack) */
#define FZ_PREFIX_MAX (EDGE_PROXY_V2_MAX + 64)

/* fz_check_hdr - limits and consistency of a parsed header */
static void
fz_check_hdr(const struct edge_proxy_hdr *h, const uint8_t *data, size_t size)
{
	enum edge_proxy_sig sig = edge_proxy_detect(data, size);

	if (h->consumed > size || h->consumed == 0)
		abort();
	if (h->version == 1) {
		if (sig != EDGE_PROXY_SIG_V1 ||
		    h->consumed > EDGE_PROXY_V1_MAX ||
		    data[h->consumed - 1] != '\n' ||
		    data[h->consumed - 2] != '\r')
			abort();
	} else if (h->version == 2) {
		if (sig != EDGE_PROXY_SIG_V2 ||
		    h->consumed < EDGE_PROXY_V2_HDR ||
		    h->consumed > EDGE_PROXY_V2_MAX)
			abort();
	} else {
		abort();
	}
	if (h->is_local) {
		if (h->src.ss_family != AF_UNSPEC ||
		    h->dst.ss_family != AF_UNSPEC)
			abort();
	} else {
		if (h->src.ss_family != h->dst.ss_family ||
		    (h->src.ss_family != AF_INET &&
		        h->src.ss_family != AF_INET6))
			abort();
	}
}

/* LLVMFuzzerTestOneInput - parse, then check every prefix agrees */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct edge_proxy_hdr h, h2;
	enum edge_proxy_sig sig;
	size_t k, lim;
	int rc, rk;

	sig = edge_proxy_detect(data, size);
	memset(&h, 0, sizeof(h));
	rc = edge_proxy_parse(data, size, &h);
	if (rc != 0 && rc != MX_ETRUNC && rc != MX_EPROTO)
		abort();
	if (rc == MX_ETRUNC &&
	    (sig == EDGE_PROXY_SIG_NONE || size >= EDGE_PROXY_V2_MAX))
		abort();
	if (sig == EDGE_PROXY_SIG_NONE && rc != MX_EPROTO)
		abort();
	if (rc == 0)
		fz_check_hdr(&h, data, size);

	lim = size < FZ_PREFIX_MAX ? size : FZ_PREFIX_MAX;
	for (k = 0; k < lim; k++) {
		memset(&h2, 0, sizeof(h2));
		rk = edge_proxy_parse(data, k, &h2);
		if (rc == 0) {
			if (k < h.consumed && rk != MX_ETRUNC)
				abort();
			if (k >= h.consumed &&
			    (rk != 0 || memcmp(&h, &h2, sizeof(h)) != 0))
				abort();
		} else if (rc == MX_EPROTO) {
			if (rk == 0)
				abort();
		} else if (rk != MX_ETRUNC) {
			abort();
		}
	}
	return 0;
}
