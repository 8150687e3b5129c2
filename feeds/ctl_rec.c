/*
 * ctl_rec.c - the records mxctl submits, and how it prints them
 *
 * block, allow and revoke make one record for a value that proto's
 * canonical key functions accept (so the hub and the edges see exactly
 * the key they would compute); sig add makes the fingerprint band
 * records of a sample message, each carrying the compact signature as
 * mxcache's sig does, plus its normalised body hash. sig test prints the
 * same analysis without submitting anything.
 * Trust: values and sample files are the analyst's, but a sample is a
 * hostile message: it is only analysed by proto_content (bounded state)
 * and its strings are escaped when printed.
 */
#include "feeds/ctl.h"

#include <stdio.h>
#include <string.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_json.h"

/* ctl_rec_value - a value's canonical key */
int
ctl_rec_value(const char *kind, const char *value, uint8_t *kind_out,
    uint8_t key[PROTO_KEY_MAX], uint16_t *key_len, char *err, size_t errlen)
{
	size_t n = strlen(value), kl = 0;
	int rc;

	if (strcmp(kind, "ip") == 0) {
		rc = proto_key_ip(value, n, key, &kl);
		*kind_out = PROTO_KIND_IP;
		if (rc != 0)
			snprintf(err, errlen,
			    "'%.64s' is not an IPv4 or IPv6 "
			    "address",
			    value);
	} else if (strcmp(kind, "net") == 0) {
		rc = proto_key_net(value, n, key, &kl);
		*kind_out = PROTO_KIND_NET;
		if (rc != 0)
			snprintf(err, errlen,
			    "'%.64s' is not a network "
			    "ADDRESS/PREFIX with the host bits clear",
			    value);
	} else if (strcmp(kind, "domain") == 0) {
		rc = proto_key_domain(value, n, key, &kl);
		*kind_out = PROTO_KIND_DOMAIN;
		if (rc != 0)
			snprintf(err, errlen,
			    "'%.64s' is not a domain name "
			    "(labels of a-z 0-9 - _; IDNs as A-labels)",
			    value);
	} else {
		snprintf(
		    err, errlen, "kind '%.32s' is not ip, net or domain", kind);
		return MX_EINVAL;
	}
	if (rc != 0)
		return MX_EINVAL;
	*key_len = (uint16_t)kl;
	return 0;
}

/* ctl_rec_base - the fields every record of a submission shares */
static void
ctl_rec_base(struct proto_record *r, const char *source, const char *reason,
    uint64_t ttl_ms, uint64_t now_ms)
{
	memset(r, 0, sizeof(*r));
	r->op = PROTO_OP_PUT;
	r->action = PROTO_ACT_REJECT;
	r->ts_ms = now_ms;
	r->expires = ttl_ms ? (now_ms + ttl_ms) / 1000 : 0;
	proto_record_set_text(r, source, reason ? reason : "");
}

/* ctl_rec_single - the record of block, allow or revoke */
int
ctl_rec_single(int cmd, const char *kind, const char *value, const char *source,
    const char *reason, uint64_t ttl_ms, uint64_t now_ms,
    struct proto_record *out, char *err, size_t errlen)
{
	struct proto_record r;
	int rc;

	ctl_rec_base(
	    &r, source, reason, cmd == CTL_CMD_REVOKE ? 0 : ttl_ms, now_ms);
	if ((rc = ctl_rec_value(
	         kind, value, &r.kind, r.key, &r.key_len, err, errlen)) != 0)
		return rc;
	if (cmd == CTL_CMD_ALLOW)
		r.action = PROTO_ACT_ALLOW;
	else if (cmd == CTL_CMD_REVOKE)
		r.op = PROTO_OP_DEL;
	if (proto_record_check(&r) != 0) {
		snprintf(err, errlen, "the reason has control characters");
		return MX_EINVAL;
	}
	*out = r;
	return 0;
}

/* ctl_rec_sig - fp band records and the body hash of a message */
int
ctl_rec_sig(const struct proto_content_result *res, const char *source,
    const char *reason, uint64_t ttl_ms, uint64_t now_ms,
    struct proto_record *out, char *err, size_t errlen)
{
	unsigned b;
	int n = 0;

	if (!res->fp.is_valid) {
		snprintf(err, errlen,
		    "too little text for a fingerprint "
		    "(%u shingles)",
		    (unsigned)res->fp.shingles);
		return MX_EINVAL;
	}
	for (b = 0; b < PROTO_FP_BANDS; b++) {
		struct proto_record *r = &out[n++];

		ctl_rec_base(r, source, reason, ttl_ms, now_ms);
		r->kind = PROTO_KIND_FP;
		memcpy(r->key, res->fp.keys[b], PROTO_FP_KEY_LEN);
		r->key_len = PROTO_FP_KEY_LEN;
		proto_fp_sig8(&res->fp, r->data);
		r->data_len = PROTO_FP_SIG_LEN;
	}
	if (res->has_body_hash) {
		struct proto_record *r = &out[n++];

		ctl_rec_base(r, source, reason, ttl_ms, now_ms);
		r->kind = PROTO_KIND_HASH;
		proto_content_hash_key(
		    PROTO_HASH_BODY, res->body_sha256, r->key);
		r->key_len = PROTO_HASH_KEY_LEN;
	}
	for (b = 0; b < (unsigned)n; b++)
		if (proto_record_check(&out[b]) != 0) {
			snprintf(err, errlen,
			    "the reason has control "
			    "characters");
			return MX_EINVAL;
		}
	return n;
}

/* ctl_json_str - a JSON string (mx_json_quote: always valid JSON) */
void
ctl_json_str(FILE *out, const char *s, size_t len)
{
	size_t cap = MX_JSON_QUOTED_MAX(len);
	char *q = mx_malloc(cap);

	fwrite(q, 1, mx_json_quote(q, cap, s, len), out);
	mx_free(q);
}

/* ctl_rec_print - submitted records, human or JSON */
void
ctl_rec_print(FILE *out, const struct proto_record *recs, size_t n, int is_json)
{
	char key[PROTO_KEY_MAX * 4 + 8];
	size_t i;

	if (is_json)
		fputc('[', out);
	for (i = 0; i < n; i++) {
		const struct proto_record *r = &recs[i];

		if (proto_key_format(
		        r->kind, r->key, r->key_len, key, sizeof(key)) != 0)
			snprintf(key, sizeof(key), "?");
		if (is_json) {
			fprintf(out,
			    "%s{\"op\":\"%s\",\"kind\":\"%s\","
			    "\"key\":",
			    i ? "," : "", r->op == PROTO_OP_DEL ? "del" : "put",
			    proto_kind_name(r->kind));
			ctl_json_str(out, key, strlen(key));
			fprintf(out,
			    ",\"action\":\"%s\",\"expires\":%llu,"
			    "\"reason\":",
			    proto_action_name(r->action),
			    (unsigned long long)r->expires);
			ctl_json_str(out, r->reason, r->reason_len);
			fputc('}', out);
		} else {
			fprintf(out,
			    "%c %s %s action=%s expires=%llu "
			    "reason=\"%.*s\"\n",
			    r->op == PROTO_OP_DEL ? '-' : '+',
			    proto_kind_name(r->kind), key,
			    proto_action_name(r->action),
			    (unsigned long long)r->expires, (int)r->reason_len,
			    r->reason);
		}
	}
	if (is_json)
		fputc(']', out);
}

/* ctl_sig_hex - bytes as lower-case hex into out (2 * n + 1 bytes) */
static void
ctl_sig_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ctl_sig_print - what an edge computes for a message */
void
ctl_sig_print(FILE *out, const char *file,
    const struct proto_content_result *res, int is_json)
{
	char hex[2 * PROTO_HASH_KEY_LEN + 1];
	uint8_t hk[PROTO_HASH_KEY_LEN];
	unsigned b;

	if (is_json) {
		fputs("{\"file\":", out);
		ctl_json_str(out, file, strlen(file));
		fprintf(out, ",\"fp_valid\":%s,\"fp_bands\":[",
		    res->fp.is_valid ? "true" : "false");
	} else {
		fprintf(out, "file %s\n", file);
		fprintf(out, "fingerprint %s (%u shingles, %u bins filled)\n",
		    res->fp.is_valid ? "valid" : "invalid: too little text",
		    (unsigned)res->fp.shingles, (unsigned)res->fp.bins_filled);
	}
	for (b = 0; res->fp.is_valid && b < PROTO_FP_BANDS; b++) {
		ctl_sig_hex(res->fp.keys[b], PROTO_FP_KEY_LEN, hex);
		if (is_json)
			fprintf(out, "%s\"%s\"", b ? "," : "", hex);
		else
			fprintf(out, "fp %s\n", hex);
	}
	if (res->has_body_hash) {
		proto_content_hash_key(PROTO_HASH_BODY, res->body_sha256, hk);
		ctl_sig_hex(hk, PROTO_HASH_KEY_LEN, hex);
	}
	if (is_json)
		fprintf(out, "],\"body_hash\":%s%s%s,\"attachments\":[",
		    res->has_body_hash ? "\"" : "",
		    res->has_body_hash ? hex : "null",
		    res->has_body_hash ? "\"" : "");
	else if (res->has_body_hash)
		fprintf(out, "hash %s body\n", hex);
	for (b = 0; b < res->n_attach; b++) {
		const struct proto_attach *at = &res->attach[b];

		proto_content_hash_key(PROTO_HASH_ATTACH, at->sha256, hk);
		ctl_sig_hex(hk, PROTO_HASH_KEY_LEN, hex);
		if (is_json) {
			fprintf(out,
			    "%s{\"hash\":\"%s\",\"type\":\"%s\","
			    "\"size\":%llu,\"name\":",
			    b ? "," : "", hex, proto_atype_name(at->type),
			    (unsigned long long)at->size);
			ctl_json_str(out, at->name, at->name_len);
			fputc('}', out);
		} else {
			fprintf(out,
			    "hash %s attachment type=%s size=%llu "
			    "name=\"",
			    hex, proto_atype_name(at->type),
			    (unsigned long long)at->size);
			/* a hostile name: no control bytes to the terminal */
			for (size_t i = 0; i < at->name_len; i++) {
				unsigned char c = (unsigned char)at->name[i];

				fputc(
				    c < 0x20 || c == 0x7f || c == '"' ? '?' : c,
				    out);
			}
			fputs("\"\n", out);
		}
	}
	if (is_json)
		fputs("],\"urls\":[", out);
	for (b = 0; b < res->n_urls; b++) {
		const struct proto_url *u = &res->urls[b];

		if (is_json) {
			if (b)
				fputc(',', out);
			ctl_json_str(out, u->host, u->host_len);
		} else {
			fprintf(out, "url %s %.*s\n", u->ip ? "ip" : "domain",
			    (int)u->host_len, u->host);
		}
	}
	if (is_json)
		fputs("]}\n", out);
}
