/*
 * edge_cachectl.c - mxcache: look at and edit an edge's LMDB cache
 *
 * An operator's and a test's tool: put, delete, get and look up records
 * in the cache a running mxedge reads (LMDB allows one writer at a time
 * across processes; readers never wait). In production the cache is fed
 * by the hub's signed updates; a record put by hand is overwritten by the
 * next update for the same key.
 *   mxcache -d DIR put KIND KEY [--action A] [--score N] [--ttl T]
 *           [--source S] [--reason R] [--observe] [--data-hex HEX]
 *   mxcache -d DIR del KIND KEY
 *   mxcache -d DIR get KIND KEY
 *   mxcache -d DIR lookup ip ADDRESS | domain NAME
 *   mxcache -d DIR sig FILE.eml [--action A] [--ttl T] [--source S]
 *           [--reason R] [--observe]
 *   mxcache -d DIR forget-hub HUB_ID
 * "sig" computes a message's near-duplicate fingerprint exactly as the
 * edge's content layer does (proto_content.h) and puts one fp record per
 * band, each carrying the signature, so the next similar message matches.
 * "forget-hub" removes what a hub that is no longer trusted left behind:
 * every record of its origin slot, and its stream position, in one write
 * transaction (docs/edge.md "Removing a hub").
 * KIND: ip, net, domain, fp (hex key), hash (hex key), rcpt-policy,
 * config. Exit: 0 done or found, 1 not found (a record, or a hub the
 * cache never knew), 2 bad usage or input.
 * Trust: the operator's command line; every key goes through the same
 * canonicalisation and proto_record_check as the wire, a hub id through
 * proto_id_check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_parse.h"
#include "proto/proto_content.h"
#include "proto/proto_record.h"
#include "proto/proto_store.h"
#include "proto/proto_topic.h"

/* edge_cachectl_usage - print usage, return the usage exit code */
static int
edge_cachectl_usage(void)
{
	fprintf(stderr,
	    "usage: mxcache -d DIR put KIND KEY [--action A] [--score N] "
	    "[--ttl T]\n"
	    "                  [--source S] [--reason R] [--observe] "
	    "[--data-hex HEX]\n"
	    "       mxcache -d DIR del|get KIND KEY\n"
	    "       mxcache -d DIR lookup ip ADDRESS | domain NAME\n"
	    "       mxcache -d DIR sig FILE.eml [--action A] [--ttl T] ...\n"
	    "       mxcache -d DIR forget-hub HUB_ID\n"
	    "KIND: ip net domain fp hash rcpt-policy config; "
	    "A: score allow tag tempfail reject\n");
	return 2;
}

/* edge_cachectl_hex - hex text to bytes */
static int
edge_cachectl_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(s), i;

	if (n == 0 || n % 2 != 0 || n / 2 > max)
		return MX_EINVAL;
	for (i = 0; i < n; i += 2) {
		unsigned v;

		if (sscanf(s + i, "%2x", &v) != 1)
			return MX_EINVAL;
		out[i / 2] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

/* edge_cachectl_key - the canonical key of KIND KEY */
static int
edge_cachectl_key(int kind, const char *text, uint8_t *key, size_t *len)
{
	return proto_key_parse(kind, text, strlen(text), key, len);
}

/*
 * edge_cachectl_sig - put the fingerprint bands of a message file, each
 * with the compact signature, in one write transaction
 */
static int
edge_cachectl_sig(
    struct proto_store *st, const char *path, struct proto_record *r)
{
	struct proto_content_result *res = NULL;
	struct proto_txn *t = NULL;
	uint8_t *msg = NULL;
	size_t len = 0, cap = 1 << 20;
	FILE *f = fopen(path, "rb");
	unsigned b;
	int rc = MX_EIO;

	if (f == NULL) {
		fprintf(stderr, "mxcache: %s: cannot open\n", path);
		return MX_EIO;
	}
	msg = mx_malloc(cap);
	len = fread(msg, 1, cap, f);
	if (!feof(f)) {
		fprintf(stderr, "mxcache: %s: larger than 1 MiB\n", path);
		rc = MX_ETOOBIG;
		goto out;
	}
	res = mx_calloc(1, sizeof(*res));
	if ((rc = proto_content_analyze(msg, len, res)) != 0)
		goto out;
	if (!res->fp.is_valid) {
		fprintf(stderr,
		    "mxcache: %s: too little text for a "
		    "fingerprint\n",
		    path);
		rc = MX_EINVAL;
		goto out;
	}
	r->kind = PROTO_KIND_FP;
	proto_fp_sig8(&res->fp, r->data);
	r->data_len = PROTO_FP_SIG_LEN;
	if ((rc = proto_store_write_begin(st, &t)) != 0)
		goto out;
	for (b = 0; b < PROTO_FP_BANDS && rc == 0; b++) {
		memcpy(r->key, res->fp.keys[b], PROTO_FP_KEY_LEN);
		r->key_len = PROTO_FP_KEY_LEN;
		rc = proto_store_apply(t, r);
	}
	if (rc != 0)
		proto_store_abort(t);
	else
		rc = proto_store_commit(t);
	if (rc == 0)
		printf("fp bands=%u file=%s\n", PROTO_FP_BANDS, path);
out:
	if (f != NULL)
		fclose(f);
	mx_free(res);
	mx_free(msg);
	return rc;
}

/*
 * edge_cachectl_forget - delete every record of a hub's origin and its
 * stream position, in one write transaction. Without a position the hub
 * is as if never seen: were it trusted again, its next batch would wait
 * for a snapshot, which loads. A position left as it was would be wrong:
 * the next batch would apply over records that are gone, and a snapshot
 * at that seq would be ignored. Returns the exit status.
 */
static int
edge_cachectl_forget(struct proto_store *st, const char *hub_id)
{
	struct proto_txn *t = NULL;
	uint64_t epoch = 0, seq = 0;
	size_t removed = 0;
	int has_slot, has_pos, rc;
	uint8_t slot = 0;

	if (proto_id_check(hub_id, strlen(hub_id)) != 0) {
		fprintf(stderr,
		    "mxcache: '%.64s' is not a hub id (1..64 of "
		    "[A-Za-z0-9._-])\n",
		    hub_id);
		return 2;
	}
	/* a read txn first: in a write txn the slot lookup would give an
	 * unknown hub a slot */
	if ((rc = proto_store_read_begin(st, &t)) != 0)
		goto fail;
	rc = proto_store_origin_slot(t, hub_id, &slot);
	has_slot = rc == 0;
	if (rc == 0 || rc == MX_ENOTFOUND)
		rc = proto_store_pos_get(t, hub_id, &epoch, &seq);
	has_pos = rc == 0;
	proto_store_read_free(t);
	t = NULL;
	if (rc != 0 && rc != MX_ENOTFOUND)
		goto fail;
	if (!has_slot && !has_pos) {
		fprintf(stderr,
		    "mxcache: hub '%s' is unknown to this cache (it holds "
		    "no record and no position of it); nothing removed\n",
		    hub_id);
		return 1;
	}
	if ((rc = proto_store_write_begin(st, &t)) != 0)
		goto fail;
	if (has_slot &&
	    ((rc = proto_store_origin_slot(t, hub_id, &slot)) != 0 ||
	        (rc = proto_store_clear_origin(t, slot, &removed)) != 0))
		goto fail;
	/* read again inside the txn: an edge may have moved it meanwhile */
	rc = proto_store_pos_get(t, hub_id, &epoch, &seq);
	has_pos = rc == 0;
	if (rc == 0)
		rc = proto_store_pos_del(t, hub_id);
	if (rc != 0 && rc != MX_ENOTFOUND)
		goto fail;
	rc = proto_store_commit(t);
	t = NULL;
	if (rc != 0)
		goto fail;
	if (has_pos)
		printf("forget-hub hub=%s removed=%zu position=deleted "
		       "was_epoch=%llu was_seq=%llu\n",
		    hub_id, removed, (unsigned long long)epoch,
		    (unsigned long long)seq);
	else
		printf("forget-hub hub=%s removed=%zu position=none\n", hub_id,
		    removed);
	return 0;
fail:
	if (t != NULL)
		proto_store_abort(t);
	fprintf(stderr, "mxcache: forget-hub %s: %s; nothing removed\n", hub_id,
	    mx_strerror(rc));
	return 2;
}

/* edge_cachectl_print - one record as a line of key=value */
static void
edge_cachectl_print(const struct proto_record *r)
{
	char key[PROTO_KEY_MAX * 4 + 8];

	if (proto_key_format(r->kind, r->key, r->key_len, key, sizeof(key)) !=
	    0)
		snprintf(key, sizeof(key), "?");
	printf("kind=%s key=%s action=%s score=%d expires=%llu observe=%d "
	       "source=\"%.*s\" reason=\"%.*s\" version=%llu\n",
	    proto_kind_name(r->kind), key, proto_action_name(r->action),
	    (int)r->score, (unsigned long long)r->expires,
	    (r->flags & PROTO_RF_OBSERVE) != 0, (int)r->source_len, r->source,
	    (int)r->reason_len, r->reason, (unsigned long long)r->ts_ms);
}

int
main(int argc, char **argv)
{
	struct proto_store_opts o = {0};
	struct proto_store *st = NULL;
	struct proto_txn *t = NULL;
	struct proto_record r;
	const char *dir = NULL, *cmd, *source = "mxcache", *reason = "";
	uint64_t ttl_ms = 0, now = (uint64_t)time(NULL);
	int i, kind, rc, status = 2;
	size_t klen = 0;

	memset(&r, 0, sizeof(r));
	if (argc < 5 || strcmp(argv[1], "-d") != 0)
		return edge_cachectl_usage();
	dir = argv[2];
	cmd = argv[3];
	if (strcmp(cmd, "forget-hub") == 0) {
		if (argc != 5)
			return edge_cachectl_usage();
		if ((rc = proto_store_open(dir, &o, &st)) != 0) {
			fprintf(
			    stderr, "mxcache: %s: %s\n", dir, mx_strerror(rc));
			return 2;
		}
		status = edge_cachectl_forget(st, argv[4]);
		goto out;
	}
	kind = proto_kind_parse(argv[4], strlen(argv[4]));
	if (strcmp(cmd, "sig") == 0) {
		kind = PROTO_KIND_FP;
	} else if (strcmp(cmd, "lookup") == 0) {
		if (argc != 6)
			return edge_cachectl_usage();
	} else if (kind < 0 || argc < 6) {
		fprintf(stderr, "mxcache: unknown kind '%s'\n", argv[4]);
		return 2;
	}
	r.kind = (uint8_t)(kind > 0 ? kind : 0);
	r.op = PROTO_OP_PUT;
	r.action = PROTO_ACT_REJECT;
	/* options follow KIND KEY, or FILE for sig */
	for (i = strcmp(cmd, "sig") == 0 ? 5 : 6; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t sv;

		if (strcmp(a, "--observe") == 0) {
			r.flags |= PROTO_RF_OBSERVE;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "mxcache: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--action") == 0) {
			int act = proto_action_parse(v, strlen(v));

			if (act < 0) {
				fprintf(stderr,
				    "mxcache: unknown action '%s'\n", v);
				return 2;
			}
			r.action = (uint8_t)act;
		} else if (strcmp(a, "--score") == 0 &&
		           mx_parse_i64(v, strlen(v), -1000000, 1000000, &sv) ==
		               0) {
			r.score = (int32_t)sv;
		} else if (strcmp(a, "--ttl") == 0 &&
		           mx_parse_duration_ms(
		               v, strlen(v), 1000, 1ULL << 40, &ttl_ms) == 0) {
			r.expires = now + ttl_ms / 1000;
		} else if (strcmp(a, "--source") == 0) {
			source = v;
		} else if (strcmp(a, "--reason") == 0) {
			reason = v;
		} else if (strcmp(a, "--data-hex") == 0) {
			size_t dl = 0;

			if (edge_cachectl_hex(v, r.data, PROTO_DATA_MAX, &dl) !=
			    0) {
				fprintf(stderr, "mxcache: bad --data-hex\n");
				return 2;
			}
			r.data_len = (uint16_t)dl;
		} else {
			fprintf(stderr, "mxcache: bad option %s %s\n", a, v);
			return 2;
		}
	}
	proto_record_set_text(&r, source, reason);
	r.ts_ms = now * 1000;
	o.map_bytes = 0;
	if ((rc = proto_store_open(dir, &o, &st)) != 0) {
		fprintf(stderr, "mxcache: %s: %s\n", dir, mx_strerror(rc));
		return 2;
	}
	if (strcmp(cmd, "sig") == 0) {
		rc = edge_cachectl_sig(st, argv[4], &r);
		if (rc != 0 && rc != MX_EINVAL && rc != MX_ETOOBIG &&
		    rc != MX_EIO)
			fprintf(stderr, "mxcache: %s\n", mx_strerror(rc));
		status = rc == 0 ? 0 : 2;
		goto out;
	}
	if (strcmp(cmd, "lookup") == 0) {
		uint8_t key[16];

		if ((rc = proto_store_read_begin(st, &t)) != 0)
			goto out;
		if (strcmp(argv[4], "ip") == 0 &&
		    proto_key_ip(argv[5], strlen(argv[5]), key, &klen) == 0) {
			rc = proto_store_get(
			    t, PROTO_KIND_IP, key, klen, now, &r);
			if (rc == 0)
				edge_cachectl_print(&r);
			rc = proto_store_lookup_net(t, key, klen, now, &r) == 0
			         ? (edge_cachectl_print(&r), 0)
			         : rc;
		} else if (strcmp(argv[4], "domain") == 0) {
			rc = proto_store_lookup_domain(
			    t, argv[5], strlen(argv[5]), now, &r);
			if (rc == 0)
				edge_cachectl_print(&r);
		} else {
			proto_store_read_free(t);
			t = NULL;
			status = edge_cachectl_usage();
			goto out;
		}
		proto_store_read_free(t);
		t = NULL;
		status = rc == 0 ? 0 : 1;
		goto out;
	}
	if (edge_cachectl_key(kind, argv[5], r.key, &klen) != 0) {
		fprintf(stderr, "mxcache: '%s' is not a valid %s key\n",
		    argv[5], argv[4]);
		goto out;
	}
	r.key_len = (uint16_t)klen;
	if (strcmp(cmd, "get") == 0) {
		if ((rc = proto_store_read_begin(st, &t)) != 0)
			goto out;
		rc = proto_store_get(t, kind, r.key, klen, now, &r);
		if (rc == 0)
			edge_cachectl_print(&r);
		proto_store_read_free(t);
		status = rc == 0 ? 0 : 1;
		goto out;
	}
	if (strcmp(cmd, "put") == 0 || strcmp(cmd, "del") == 0) {
		r.op = cmd[0] == 'p' ? PROTO_OP_PUT : PROTO_OP_DEL;
		if ((rc = proto_record_check(&r)) != 0) {
			fprintf(stderr, "mxcache: record refused: %s\n",
			    mx_strerror(rc));
			goto out;
		}
		if ((rc = proto_store_write_begin(st, &t)) != 0 ||
		    (rc = proto_store_apply(t, &r)) != 0) {
			if (t != NULL)
				proto_store_abort(t);
			fprintf(stderr, "mxcache: %s\n", mx_strerror(rc));
			goto out;
		}
		if ((rc = proto_store_commit(t)) != 0) {
			fprintf(
			    stderr, "mxcache: commit: %s\n", mx_strerror(rc));
			goto out;
		}
		status = 0;
		goto out;
	}
	status = edge_cachectl_usage();
out:
	proto_store_close(st);
	return status;
}
