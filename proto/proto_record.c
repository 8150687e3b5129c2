/*
 * proto_record.c - record validation and canonical keys
 *
 * Every record that enters a store or leaves a program passes
 * proto_record_check(). Keys are canonical, so one fact always has one
 * key: IPv4-mapped IPv6 addresses become IPv4, network host bits are
 * zero, domain names are lower case with labels reversed.
 * Trust: text keys come from feeds, analysts and the wire. Limits:
 * PROTO_KEY_MAX, PROTO_DOMAIN_MAX, 63-byte labels, PROTO_SOURCE_MAX,
 * PROTO_REASON_MAX, PROTO_DATA_MAX.
 */
#include "proto/proto_record.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lib/mx_ascii.h"
#include "lib/mx_err.h"
#include "lib/mx_parse.h"

static const char *const proto_kind_names[] = {
    NULL,
    "ip",
    "net",
    "domain",
    "fp",
    "hash",
    "rcpt-policy",
    "config",
};

static const char *const proto_action_names[] = {
    "score",
    "allow",
    "tag",
    "tempfail",
    "reject",
};

static const uint8_t proto_v4mapped[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* proto_kind_name - kind to name */
const char *
proto_kind_name(int kind)
{
	if (kind < PROTO_KIND_MIN || kind > PROTO_KIND_MAX)
		return NULL;
	return proto_kind_names[kind];
}

/* proto_kind_parse - name to kind */
int
proto_kind_parse(const char *name, size_t len)
{
	int k;

	for (k = PROTO_KIND_MIN; k <= PROTO_KIND_MAX; k++)
		if (strlen(proto_kind_names[k]) == len &&
		    memcmp(proto_kind_names[k], name, len) == 0)
			return k;
	return MX_EINVAL;
}

/* proto_action_name - action to name */
const char *
proto_action_name(int action)
{
	if (action < 0 || action > PROTO_ACT_MAX)
		return NULL;
	return proto_action_names[action];
}

/* proto_action_parse - name to action */
int
proto_action_parse(const char *name, size_t len)
{
	int a;

	for (a = 0; a <= PROTO_ACT_MAX; a++)
		if (strlen(proto_action_names[a]) == len &&
		    memcmp(proto_action_names[a], name, len) == 0)
			return a;
	return MX_EINVAL;
}

/* proto_key_ip_bin - canonical 4- or 16-byte address key */
int
proto_key_ip_bin(const uint8_t *addr, size_t alen, uint8_t *out, size_t *outlen)
{
	if (alen == 16 && memcmp(addr, proto_v4mapped, 12) == 0) {
		memcpy(out, addr + 12, 4);
		*outlen = 4;
		return 0;
	}
	if (alen != 4 && alen != 16)
		return MX_EINVAL;
	memcpy(out, addr, alen);
	*outlen = alen;
	return 0;
}

/* proto_key_addr_text - parse an address; bounded copy for inet_pton */
static int
proto_key_addr_text(
    const char *text, size_t len, uint8_t addr[16], size_t *alen)
{
	char tmp[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(tmp) || memchr(text, '\0', len))
		return MX_EINVAL;
	memcpy(tmp, text, len);
	tmp[len] = '\0';
	if (memchr(tmp, ':', len) != NULL) {
		if (inet_pton(AF_INET6, tmp, addr) != 1)
			return MX_EINVAL;
		*alen = 16;
	} else {
		if (inet_pton(AF_INET, tmp, addr) != 1)
			return MX_EINVAL;
		*alen = 4;
	}
	return 0;
}

/* proto_key_ip - text address to canonical key */
int
proto_key_ip(const char *text, size_t len, uint8_t *out, size_t *outlen)
{
	uint8_t addr[16];
	size_t alen;
	int rc;

	if ((rc = proto_key_addr_text(text, len, addr, &alen)) != 0)
		return rc;
	return proto_key_ip_bin(addr, alen, out, outlen);
}

/* proto_net_host_bits_zero - are all bits past plen clear */
static int
proto_net_host_bits_zero(const uint8_t *a, size_t alen, unsigned plen)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned bit = (unsigned)i * 8;
		uint8_t mask;

		if (bit + 8 <= plen)
			continue;
		mask = bit >= plen ? 0xff : (uint8_t)(0xff >> (plen - bit));
		if (a[i] & mask)
			return 0;
	}
	return 1;
}

/* proto_key_net - "addr/plen" to [plen, addr] */
int
proto_key_net(const char *text, size_t len, uint8_t *out, size_t *outlen)
{
	const char *slash = memchr(text, '/', len);
	uint8_t addr[16];
	size_t alen;
	uint64_t plen;
	int rc;

	if (slash == NULL)
		return MX_EINVAL;
	if ((rc = proto_key_addr_text(
	         text, (size_t)(slash - text), addr, &alen)) != 0)
		return rc;
	if ((rc = mx_parse_u64(slash + 1, len - (size_t)(slash - text) - 1, 0,
	         alen * 8, &plen)) != 0)
		return MX_EINVAL;
	if (slash + 2 < text + len && slash[1] == '0')
		return MX_EINVAL; /* leading zero: "/024" */
	if (!proto_net_host_bits_zero(addr, alen, (unsigned)plen))
		return MX_EINVAL;
	if (alen == 16 && plen >= 96 && memcmp(addr, proto_v4mapped, 12) == 0) {
		out[0] = (uint8_t)(plen - 96);
		memcpy(out + 1, addr + 12, 4);
		*outlen = 5;
		return 0;
	}
	out[0] = (uint8_t)plen;
	memcpy(out + 1, addr, alen);
	*outlen = 1 + alen;
	return 0;
}

/* proto_label_ok - one DNS label: [a-z0-9_-], 1..63, no edge hyphen */
static int
proto_label_ok(const uint8_t *l, size_t len)
{
	size_t i;

	if (len == 0 || len > 63 || l[0] == '-' || l[len - 1] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		uint8_t c = l[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/* proto_key_domain - domain text to reversed lower-case key */
int
proto_key_domain(const char *text, size_t len, uint8_t *out, size_t *outlen)
{
	uint8_t low[PROTO_DOMAIN_MAX];
	size_t end, o = 0;

	if (len > 0 && text[len - 1] == '.')
		len--;
	if (len == 0 || len > PROTO_DOMAIN_MAX)
		return MX_EINVAL;
	mx_ascii_lower_copy(low, text, len);
	/* walk labels from the right, writing them left to right */
	end = len;
	while (end > 0) {
		size_t start = end;

		while (start > 0 && low[start - 1] != '.')
			start--;
		if (!proto_label_ok(low + start, end - start))
			return MX_EINVAL;
		if (o > 0)
			out[o++] = '.';
		memcpy(out + o, low + start, end - start);
		o += end - start;
		if (start == 0)
			break;
		end = start - 1;
		if (end == 0)
			return MX_EINVAL; /* leading dot */
	}
	*outlen = o;
	return 0;
}

/* proto_key_check - is key canonical for its kind */
static int
proto_key_check(int kind, const uint8_t *key, size_t len)
{
	size_t i;

	if (len == 0 || len > PROTO_KEY_MAX)
		return MX_EINVAL;
	switch (kind) {
	case PROTO_KIND_IP:
		if (len != 4 && len != 16)
			return MX_EINVAL;
		if (len == 16 && memcmp(key, proto_v4mapped, 12) == 0)
			return MX_EINVAL;
		return 0;
	case PROTO_KIND_NET:
		if (len != 5 && len != 17)
			return MX_EINVAL;
		if (key[0] > (len - 1) * 8)
			return MX_EINVAL;
		if (!proto_net_host_bits_zero(key + 1, len - 1, key[0]))
			return MX_EINVAL;
		if (len == 17 && key[0] >= 96 &&
		    memcmp(key + 1, proto_v4mapped, 12) == 0)
			return MX_EINVAL;
		return 0;
	case PROTO_KIND_DOMAIN: {
		size_t start = 0;

		/* canonical: lower-case labels, no empty label */
		if (len > PROTO_DOMAIN_MAX)
			return MX_EINVAL;
		for (i = 0; i <= len; i++) {
			if (i < len && key[i] != '.')
				continue;
			if (!proto_label_ok(key + start, i - start))
				return MX_EINVAL;
			start = i + 1;
		}
		return 0;
	}
	case PROTO_KIND_HASH:
		if (len != 33 ||
		    (key[0] != PROTO_HASH_BODY && key[0] != PROTO_HASH_ATTACH))
			return MX_EINVAL;
		return 0;
	case PROTO_KIND_FP:
		return 0;
	case PROTO_KIND_RCPT_POLICY:
	case PROTO_KIND_CONFIG:
		for (i = 0; i < len; i++)
			if (key[i] < 0x21 || key[i] > 0x7e)
				return MX_EINVAL;
		return 0;
	}
	return MX_ERANGE;
}

/* proto_text_ok - printable ASCII or UTF-8 bytes, no controls */
static int
proto_text_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((uint8_t)s[i] < 0x20 || (uint8_t)s[i] == 0x7f)
			return 0;
	return 1;
}

/* proto_record_check - validate a record */
int
proto_record_check(const struct proto_record *r)
{
	if (r->kind < PROTO_KIND_MIN || r->kind > PROTO_KIND_MAX)
		return MX_ERANGE;
	if (r->op != PROTO_OP_PUT && r->op != PROTO_OP_DEL)
		return MX_ERANGE;
	if (r->action > PROTO_ACT_MAX || (r->flags & ~PROTO_RF_ALL) != 0)
		return MX_ERANGE;
	if (r->source_len > PROTO_SOURCE_MAX ||
	    r->reason_len > PROTO_REASON_MAX || r->data_len > PROTO_DATA_MAX)
		return MX_EINVAL;
	if (!proto_text_ok(r->source, r->source_len) ||
	    !proto_text_ok(r->reason, r->reason_len))
		return MX_EINVAL;
	return proto_key_check(r->kind, r->key, r->key_len);
}

/* proto_record_set_text - set source and reason, truncating */
void
proto_record_set_text(
    struct proto_record *r, const char *source, const char *reason)
{
	size_t n;

	n = source ? strlen(source) : 0;
	if (n > PROTO_SOURCE_MAX)
		n = PROTO_SOURCE_MAX;
	if (n > 0)
		memcpy(r->source, source, n);
	r->source_len = (uint8_t)n;
	n = reason ? strlen(reason) : 0;
	if (n > PROTO_REASON_MAX)
		n = PROTO_REASON_MAX;
	if (n > 0)
		memcpy(r->reason, reason, n);
	r->reason_len = (uint8_t)n;
}

/* proto_key_format - key to text */
int
proto_key_format(
    int kind, const uint8_t *key, size_t keylen, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	char addr[INET6_ADDRSTRLEN];
	size_t i, o = 0;
	int n;

	if (outlen == 0)
		return MX_ETOOBIG;
	switch (kind) {
	case PROTO_KIND_IP:
		if (keylen != 4 && keylen != 16)
			return MX_EINVAL;
		if (inet_ntop(keylen == 4 ? AF_INET : AF_INET6, key, addr,
		        sizeof(addr)) == NULL)
			return MX_EINVAL;
		n = snprintf(out, outlen, "%s", addr);
		return n < 0 || (size_t)n >= outlen ? MX_ETOOBIG : 0;
	case PROTO_KIND_NET:
		if (keylen != 5 && keylen != 17)
			return MX_EINVAL;
		if (inet_ntop(keylen == 5 ? AF_INET : AF_INET6, key + 1, addr,
		        sizeof(addr)) == NULL)
			return MX_EINVAL;
		n = snprintf(out, outlen, "%s/%u", addr, key[0]);
		return n < 0 || (size_t)n >= outlen ? MX_ETOOBIG : 0;
	case PROTO_KIND_DOMAIN: {
		size_t end = keylen;

		if (keylen + 1 > outlen)
			return MX_ETOOBIG;
		while (end > 0) {
			size_t start = end;

			while (start > 0 && key[start - 1] != '.')
				start--;
			if (o > 0)
				out[o++] = '.';
			memcpy(out + o, key + start, end - start);
			o += end - start;
			if (start == 0)
				break;
			end = start - 1;
		}
		out[o] = '\0';
		return 0;
	}
	case PROTO_KIND_FP:
	case PROTO_KIND_HASH:
		if (keylen * 2 + 1 > outlen)
			return MX_ETOOBIG;
		for (i = 0; i < keylen; i++) {
			out[o++] = hex[key[i] >> 4];
			out[o++] = hex[key[i] & 15];
		}
		out[o] = '\0';
		return 0;
	default:
		for (i = 0; i < keylen; i++) {
			uint8_t c = key[i];

			if (c >= 0x21 && c <= 0x7e && c != '\\') {
				if (o + 2 > outlen)
					return MX_ETOOBIG;
				out[o++] = (char)c;
			} else {
				if (o + 5 > outlen)
					return MX_ETOOBIG;
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[c >> 4];
				out[o++] = hex[c & 15];
			}
		}
		out[o] = '\0';
		return 0;
	}
}

/* proto_key_parse - text to key */
int
proto_key_parse(
    int kind, const char *text, size_t len, uint8_t *out, size_t *outlen)
{
	size_t i, o = 0;
	int hi, lo;

	if (text == NULL || out == NULL || outlen == NULL || len == 0)
		return MX_EINVAL;
	switch (kind) {
	case PROTO_KIND_IP:
		return proto_key_ip(text, len, out, outlen);
	case PROTO_KIND_NET:
		return proto_key_net(text, len, out, outlen);
	case PROTO_KIND_DOMAIN:
		return proto_key_domain(text, len, out, outlen);
	case PROTO_KIND_FP:
	case PROTO_KIND_HASH:
		if (len % 2 != 0 || len / 2 > PROTO_KEY_MAX)
			return MX_EINVAL;
		for (i = 0; i < len; i += 2) {
			hi = mx_ascii_hexval((uint8_t)text[i]);
			lo = mx_ascii_hexval((uint8_t)text[i + 1]);
			if (hi < 0 || lo < 0)
				return MX_EINVAL;
			out[o++] = (uint8_t)(hi << 4 | lo);
		}
		*outlen = o;
		return 0;
	default:
		if (proto_kind_name(kind) == NULL)
			return MX_EINVAL;
		for (i = 0; i < len; i++) {
			uint8_t c = (uint8_t)text[i];

			if (o >= PROTO_KEY_MAX)
				return MX_EINVAL;
			if (c == '\\') {
				if (i + 3 >= len || text[i + 1] != 'x' ||
				    (hi = mx_ascii_hexval(
				         (uint8_t)text[i + 2])) < 0 ||
				    (lo = mx_ascii_hexval(
				         (uint8_t)text[i + 3])) < 0)
					return MX_EINVAL;
				out[o++] = (uint8_t)(hi << 4 | lo);
				i += 3;
			} else if (c >= 0x21 && c <= 0x7e) {
				out[o++] = c;
			} else {
				return MX_EINVAL;
			}
		}
		*outlen = o;
		return 0;
	}
}
