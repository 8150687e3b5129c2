/*
 * fuzz_url.c - libFuzzer target for URL host extraction
 *
 * The input is scanned as text, whole and in pieces the first byte
 * chooses: the hosts found, in order, must be the same. Every host is
 * canonical (a domain proto_key_domain takes with at least two labels, or
 * an IP literal inet_pton reads) and normalising it again changes nothing.
 * The input is also read as an attribute URL (proto_url_href) and as an
 * authority (proto_url_host), and its bytes as code points for the
 * punycode encoder, whose output must stay within its cap.
 * Trust: arbitrary bytes.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto_content_int.h"
#include "proto/proto_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX 16384
#define FZ_HOSTS 4096

struct fz_hosts {
	char h[FZ_HOSTS][PROTO_DOMAIN_MAX + 1];
	uint8_t ip[FZ_HOSTS];
	size_t n;
};

static struct fz_hosts fz_a, fz_b;

/* fz_check_host - canonical and a fixed point of the normaliser */
static void
fz_check_host(const char *host, size_t len, int ip)
{
	uint8_t key[PROTO_KEY_MAX], bin[16];
	char again[PROTO_DOMAIN_MAX + 1];
	size_t klen, alen;
	int aip;

	if (len == 0 || len > PROTO_DOMAIN_MAX || strlen(host) != len)
		abort();
	if (ip == 0 && (proto_key_domain(host, len, key, &klen) != 0 ||
	                   memchr(host, '.', len) == NULL))
		abort();
	if (ip == 4 && inet_pton(AF_INET, host, bin) != 1)
		abort();
	if (ip == 6 && inet_pton(AF_INET6, host, bin) != 1)
		abort();
	if (ip == 6) /* the normaliser reads IPv6 in brackets */
		return;
	if (proto_url_host((const uint8_t *)host, len, again, &alen, &aip) !=
	        0 ||
	    alen != len || memcmp(again, host, len) != 0 || aip != ip)
		abort();
}

/* fz_found - collect a host from the scanner */
static void
fz_found(void *arg, const char *host, size_t len, int ip, int is_href)
{
	struct fz_hosts *s = arg;

	(void)is_href;
	fz_check_host(host, len, ip);
	if (s->n == FZ_HOSTS)
		return;
	memcpy(s->h[s->n], host, len + 1);
	s->ip[s->n++] = (uint8_t)ip;
}

/* LLVMFuzzerTestOneInput - scan whole and cut; href; host; punycode */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_url_scan s;
	char host[PROTO_DOMAIN_MAX + 1], puny[64];
	uint32_t cp[64];
	uint64_t seed;
	size_t i, k, len;
	uint8_t mod;
	int ip, rc;

	if (size < 1)
		return 0;
	mod = data[0];
	seed = mod;
	data++;
	size--;
	if (size > FZ_MAX)
		size = FZ_MAX;
	fz_a.n = fz_b.n = 0;
	proto_url_scan_init(&s);
	proto_url_scan(&s, data, size, fz_found, &fz_a);
	proto_url_scan_end(&s, fz_found, &fz_a);
	for (i = 0; i < size; i += k) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		k = 1 + (size_t)((seed >> 33) % ((size_t)mod + 1));
		if (k > size - i)
			k = size - i;
		proto_url_scan(&s, data + i, k, fz_found, &fz_b);
	}
	proto_url_scan_end(&s, fz_found, &fz_b);
	if (fz_a.n != fz_b.n)
		abort();
	for (i = 0; i < fz_a.n; i++)
		if (strcmp(fz_a.h[i], fz_b.h[i]) != 0 ||
		    fz_a.ip[i] != fz_b.ip[i])
			abort();
	if (proto_url_href(data, size, host, &len, &ip) == 0)
		fz_check_host(host, len, ip);
	if (proto_url_host(data, size, host, &len, &ip) == 0)
		fz_check_host(host, len, ip);
	for (i = 0, k = 0; i + 2 < size && k < 64; i += 3)
		cp[k++] = ((uint32_t)data[i] << 16 |
		              (uint32_t)data[i + 1] << 8 | data[i + 2]) %
		          0x110000;
	rc = proto_url_punycode(cp, k, puny, (size_t)mod % sizeof(puny), &len);
	if (rc == 0 && len > (size_t)mod % sizeof(puny))
		abort();
	return 0;
}
