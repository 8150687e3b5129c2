/*
 * proto_record_test.c - record validation and canonical keys
 *
 * Trust: test inputs only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/mx_err.h"
#include "proto/proto_record.h"

/* key_of - canonical key via fn, as a length or a negative error */
static int
key_of(int (*fn)(const char *, size_t, uint8_t *, size_t *), const char *t,
    uint8_t *out)
{
	size_t len = 0;
	int rc = fn(t, strlen(t), out, &len);

	return rc != 0 ? rc : (int)len;
}

static void
test_ip_v4_v6_and_mapped(void **state)
{
	uint8_t k[PROTO_KEY_MAX];
	static const uint8_t v4[4] = {192, 0, 2, 1};

	(void)state;
	assert_int_equal(key_of(proto_key_ip, "192.0.2.1", k), 4);
	assert_memory_equal(k, v4, 4);
	assert_int_equal(key_of(proto_key_ip, "::ffff:192.0.2.1", k), 4);
	assert_memory_equal(k, v4, 4);
	assert_int_equal(key_of(proto_key_ip, "2001:db8::1", k), 16);
	assert_int_equal(k[0], 0x20);
	assert_int_equal(k[15], 1);
	assert_int_equal(key_of(proto_key_ip, "192.0.2.256", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_ip, "", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_ip, "1.2.3.4 ", k), MX_EINVAL);
	assert_int_equal(
	    proto_key_ip("1.2.3.4\0", 8, k, &(size_t){0}), MX_EINVAL);
}

static void
test_net_canonical_and_host_bits_refused(void **state)
{
	uint8_t k[PROTO_KEY_MAX];

	(void)state;
	assert_int_equal(key_of(proto_key_net, "10.0.0.0/8", k), 5);
	assert_int_equal(k[0], 8);
	assert_int_equal(k[1], 10);
	assert_int_equal(key_of(proto_key_net, "0.0.0.0/0", k), 5);
	assert_int_equal(k[0], 0);
	assert_int_equal(key_of(proto_key_net, "192.0.2.1/32", k), 5);
	assert_int_equal(key_of(proto_key_net, "10.0.0.1/8", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_net, "10.0.0.0/33", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_net, "10.0.0.0/08", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_net, "10.0.0.0/", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_net, "10.0.0.0", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_net, "2001:db8::/32", k), 17);
	assert_int_equal(k[0], 32);
	assert_int_equal(key_of(proto_key_net, "::/0", k), 17);
	assert_int_equal(key_of(proto_key_net, "2001:db8::1/128", k), 17);
	assert_int_equal(key_of(proto_key_net, "2001:db8::/129", k), MX_EINVAL);
	/* a v4-mapped prefix of 96 or more is the IPv4 network */
	assert_int_equal(key_of(proto_key_net, "::ffff:10.0.0.0/104", k), 5);
	assert_int_equal(k[0], 8);
	assert_int_equal(k[1], 10);
}

static void
test_domain_reversed_lowercase(void **state)
{
	uint8_t k[PROTO_KEY_MAX];
	int n;

	(void)state;
	n = key_of(proto_key_domain, "Mail.Example.COM.", k);
	assert_int_equal(n, 16);
	assert_memory_equal(k, "com.example.mail", 16);
	n = key_of(proto_key_domain, "xn--bcher-kva.example", k);
	assert_int_equal(n, 21);
	assert_memory_equal(k, "example.xn--bcher-kva", 21);
	assert_int_equal(key_of(proto_key_domain, "com", k), 3);
	assert_int_equal(key_of(proto_key_domain, "", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_domain, ".", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_domain, "a..b", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_domain, ".a.b", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_domain, "-a.b", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_domain, "a-.b", k), MX_EINVAL);
	assert_int_equal(
	    key_of(proto_key_domain, "b\xc3\xbc.de", k), MX_EINVAL);
	assert_int_equal(key_of(proto_key_domain, "a b.c", k), MX_EINVAL);
}

static void
test_domain_label_and_name_limits(void **state)
{
	char name[300];
	uint8_t k[PROTO_KEY_MAX];

	(void)state;
	memset(name, 'a', 63);
	memcpy(name + 63, ".com", 5);
	assert_int_equal(key_of(proto_key_domain, name, k), 67);
	memset(name, 'a', 64);
	memcpy(name + 64, ".com", 5);
	assert_int_equal(key_of(proto_key_domain, name, k), MX_EINVAL);
	/* 253 bytes: 63.63.63.61 */
	memset(name, 'a', 253);
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	assert_int_equal(key_of(proto_key_domain, name, k), 253);
	name[253] = 'a';
	name[254] = '\0';
	assert_int_equal(key_of(proto_key_domain, name, k), MX_EINVAL);
}

/* rec - a valid record of a kind with a key */
static struct proto_record
rec(int kind, const void *key, size_t len)
{
	struct proto_record r;

	memset(&r, 0, sizeof(r));
	r.kind = (uint8_t)kind;
	r.op = PROTO_OP_PUT;
	r.action = PROTO_ACT_REJECT;
	memcpy(r.key, key, len);
	r.key_len = (uint16_t)len;
	proto_record_set_text(&r, "test", "because");
	return r;
}

static void
test_record_check_each_field(void **state)
{
	uint8_t h[33] = {PROTO_HASH_BODY};
	struct proto_record r;

	(void)state;
	r = rec(PROTO_KIND_IP, "\x0a\x00\x00\x01", 4);
	assert_int_equal(proto_record_check(&r), 0);
	r.kind = 0;
	assert_int_equal(proto_record_check(&r), MX_ERANGE);
	r.kind = PROTO_KIND_MAX + 1;
	assert_int_equal(proto_record_check(&r), MX_ERANGE);
	r = rec(PROTO_KIND_IP, "\x0a\x00\x00\x01", 4);
	r.op = 3;
	assert_int_equal(proto_record_check(&r), MX_ERANGE);
	r.op = PROTO_OP_DEL;
	r.action = PROTO_ACT_MAX + 1;
	assert_int_equal(proto_record_check(&r), MX_ERANGE);
	r.action = 0;
	r.flags = 0x80;
	assert_int_equal(proto_record_check(&r), MX_ERANGE);
	r.flags = PROTO_RF_OBSERVE;
	assert_int_equal(proto_record_check(&r), 0);
	r.reason[0] = '\n';
	assert_int_equal(proto_record_check(&r), MX_EINVAL);
	r = rec(PROTO_KIND_IP, "\x0a\x00\x00", 3);
	assert_int_equal(proto_record_check(&r), MX_EINVAL);
	r = rec(PROTO_KIND_IP, "", 0);
	assert_int_equal(proto_record_check(&r), MX_EINVAL);
	r = rec(PROTO_KIND_NET, "\x08\x0a\x00\x00\x00", 5);
	assert_int_equal(proto_record_check(&r), 0);
	r = rec(PROTO_KIND_NET, "\x08\x0a\x00\x00\x01", 5);
	assert_int_equal(proto_record_check(&r), MX_EINVAL);
	r = rec(PROTO_KIND_NET, "\x21\x0a\x00\x00\x00", 5);
	assert_int_equal(proto_record_check(&r), MX_EINVAL);
	r = rec(PROTO_KIND_DOMAIN, "com.example", 11);
	assert_int_equal(proto_record_check(&r), 0);
	r = rec(PROTO_KIND_DOMAIN, "com.Example", 11);
	assert_int_equal(proto_record_check(&r), MX_EINVAL);
	r = rec(PROTO_KIND_DOMAIN, "com.example.", 12);
	assert_int_equal(proto_record_check(&r), MX_EINVAL);
	r = rec(PROTO_KIND_HASH, h, 33);
	assert_int_equal(proto_record_check(&r), 0);
	h[0] = 9;
	r = rec(PROTO_KIND_HASH, h, 33);
	assert_int_equal(proto_record_check(&r), MX_EINVAL);
	r = rec(PROTO_KIND_CONFIG, "policy.reject_score", 19);
	assert_int_equal(proto_record_check(&r), 0);
	r = rec(PROTO_KIND_CONFIG, "a b", 3);
	assert_int_equal(proto_record_check(&r), MX_EINVAL);
}

static void
test_key_format_round_trip(void **state)
{
	uint8_t k[PROTO_KEY_MAX];
	char out[300];
	size_t len;

	(void)state;
	assert_int_equal(proto_key_net("2001:db8::/32", 13, k, &len), 0);
	assert_int_equal(
	    proto_key_format(PROTO_KIND_NET, k, len, out, sizeof(out)), 0);
	assert_string_equal(out, "2001:db8::/32");
	assert_int_equal(proto_key_domain("A.B.Example.com", 15, k, &len), 0);
	assert_int_equal(
	    proto_key_format(PROTO_KIND_DOMAIN, k, len, out, sizeof(out)), 0);
	assert_string_equal(out, "a.b.example.com");
	assert_int_equal(
	    proto_key_format(PROTO_KIND_DOMAIN, k, len, out, 5), MX_ETOOBIG);
	assert_int_equal(proto_key_ip("10.1.2.3", 8, k, &len), 0);
	assert_int_equal(
	    proto_key_format(PROTO_KIND_IP, k, len, out, sizeof(out)), 0);
	assert_string_equal(out, "10.1.2.3");
	assert_int_equal(proto_key_format(PROTO_KIND_FP,
	                     (const uint8_t *)"\x01\xab", 2, out, sizeof(out)),
	    0);
	assert_string_equal(out, "01ab");
}

/* proto_key_parse reads what proto_key_format writes, for every kind */
static void
test_key_parse_inverts_format(void **state)
{
	static const struct {
		int kind;
		const char *text;
	} ok[] = {
	    {PROTO_KIND_IP, "192.0.2.7"},
	    {PROTO_KIND_IP, "2001:db8::1"},
	    {PROTO_KIND_NET, "198.51.100.0/24"},
	    {PROTO_KIND_DOMAIN, "mail.example.com"},
	    {PROTO_KIND_FP, "01ab00ff"},
	    {PROTO_KIND_HASH, "01deadbeef"},
	    {PROTO_KIND_RCPT_POLICY, "u0a1b@example.com"},
	    {PROTO_KIND_CONFIG, "odd\\x20name\\x5c"},
	};
	uint8_t k[PROTO_KEY_MAX];
	char out[600];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(proto_key_parse(ok[i].kind, ok[i].text,
		                     strlen(ok[i].text), k, &len),
		    0);
		assert_int_equal(
		    proto_key_format(ok[i].kind, k, len, out, sizeof(out)), 0);
		assert_string_equal(out, ok[i].text);
	}
	/* upper-case hex is taken and written back in lower case */
	assert_int_equal(proto_key_parse(PROTO_KIND_FP, "AB", 2, k, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(k[0], 0xab);
	/* the config escape decodes to one byte */
	assert_int_equal(
	    proto_key_parse(PROTO_KIND_CONFIG, "a\\x20b", 6, k, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(k, "a b", 3);
	/* refused: odd or bad hex, sign or space in hex, empty, too long,
	 * a bare or cut escape, a space, a kind that does not exist */
	assert_int_equal(
	    proto_key_parse(PROTO_KIND_FP, "abc", 3, k, &len), MX_EINVAL);
	assert_int_equal(
	    proto_key_parse(PROTO_KIND_FP, "+1", 2, k, &len), MX_EINVAL);
	assert_int_equal(
	    proto_key_parse(PROTO_KIND_HASH, " 1", 2, k, &len), MX_EINVAL);
	assert_int_equal(
	    proto_key_parse(PROTO_KIND_IP, "", 0, k, &len), MX_EINVAL);
	memset(out, 'a', PROTO_KEY_MAX * 2 + 2);
	assert_int_equal(
	    proto_key_parse(PROTO_KIND_FP, out, PROTO_KEY_MAX * 2 + 2, k, &len),
	    MX_EINVAL);
	assert_int_equal(
	    proto_key_parse(PROTO_KIND_CONFIG, out, PROTO_KEY_MAX + 1, k, &len),
	    MX_EINVAL);
	assert_int_equal(
	    proto_key_parse(PROTO_KIND_CONFIG, "a\\x2", 4, k, &len), MX_EINVAL);
	assert_int_equal(
	    proto_key_parse(PROTO_KIND_CONFIG, "a\\y20", 5, k, &len),
	    MX_EINVAL);
	assert_int_equal(
	    proto_key_parse(PROTO_KIND_CONFIG, "a b", 3, k, &len), MX_EINVAL);
	assert_int_equal(proto_key_parse(99, "a", 1, k, &len), MX_EINVAL);
	assert_int_equal(
	    proto_key_parse(PROTO_KIND_NET, "10.0.0.1/8", 10, k, &len),
	    MX_EINVAL);
}

static void
test_kind_and_action_names(void **state)
{
	int k;

	(void)state;
	for (k = PROTO_KIND_MIN; k <= PROTO_KIND_MAX; k++) {
		const char *n = proto_kind_name(k);

		assert_non_null(n);
		assert_int_equal(proto_kind_parse(n, strlen(n)), k);
	}
	assert_null(proto_kind_name(0));
	assert_int_equal(proto_kind_parse("ipx", 3), MX_EINVAL);
	assert_int_equal(proto_action_parse("reject", 6), PROTO_ACT_REJECT);
	assert_string_equal(proto_action_name(PROTO_ACT_TEMPFAIL), "tempfail");
	assert_null(proto_action_name(PROTO_ACT_MAX + 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ip_v4_v6_and_mapped),
	    cmocka_unit_test(test_net_canonical_and_host_bits_refused),
	    cmocka_unit_test(test_domain_reversed_lowercase),
	    cmocka_unit_test(test_domain_label_and_name_limits),
	    cmocka_unit_test(test_record_check_each_field),
	    cmocka_unit_test(test_key_format_round_trip),
	    cmocka_unit_test(test_key_parse_inverts_format),
	    cmocka_unit_test(test_kind_and_action_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
