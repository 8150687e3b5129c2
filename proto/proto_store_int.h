/*
 * proto_store_int.h - internals of the LMDB store, shared by its files
 *
 * proto_store.c is the store proper (environment, records, expiry index,
 * net counts, lookups); proto_store_nx.c keeps "netidx", the net interval
 * index behind longest-prefix match. Both see the store and transaction
 * handles and the few helpers declared here. Nothing outside
 * proto/proto_store*.c includes this header.
 * Trust: as proto_store.h; nothing here reads input of its own.
 */
#ifndef PROTO_STORE_INT_H
#define PROTO_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "proto/proto_store.h"

#define PROTO_STORE_NL_V4 33  /* IPv4 lengths 0..32 */
#define PROTO_STORE_NL_V6 129 /* IPv6 lengths 0..128 */
#define PROTO_STORE_NL_SLOTS (PROTO_STORE_NL_V4 + PROTO_STORE_NL_V6)
#define PROTO_STORE_NL_BYTES (PROTO_STORE_NL_SLOTS * 8) /* "netlens" size */
#define PROTO_STORE_NX_NONE 0xff /* netidx value plen: no covering net */

struct proto_store {
	MDB_env *env;                               /* the environment */
	MDB_dbi dbi_kind[PROTO_STORE_KIND_MAX + 1]; /* per kind; [0] unused */
	MDB_dbi dbi_meta;          /* layout, pos:*, netlens, netidx */
	MDB_dbi dbi_expiry;        /* [be64 expires][kind][key] */
	MDB_dbi dbi_netidx;        /* [family][start] -> covering net key */
	int has_netidx;            /* dbi_netidx exists (always if writable) */
	MDB_dbi dbi_notes;         /* [kind][key] -> caller's note */
	int has_notes;             /* opened with opts.notes and it exists */
	int is_read_only;          /* opened with MDB_RDONLY */
	int has_mutexes;           /* both mutexes initialised */
	atomic_int is_remapping;   /* a thread is remapping */
	pthread_mutex_t remap_mtx; /* held while remapping */
	pthread_mutex_t reg_mtx;   /* guards handles */
	struct proto_txn *handles; /* every live handle */
};

struct proto_txn {
	struct proto_store *s;         /* owning store */
	MDB_txn *txn;                  /* LMDB txn, NULL if never begun */
	int is_write;                  /* write transaction */
	atomic_int is_active;          /* touching the map (see remap) */
	int err;                       /* write: first fatal MX_E* */
	struct proto_txn *prev, *next; /* store's handle list */
	int nl_is_loaded;              /* nl_count valid */
	int nl_is_dirty;               /* write: counts changed, save */
	int nl_lists_stale;            /* nl_v4/nl_v6 need rebuilding */
	size_t nl_txnid;               /* read: snapshot of nl_count */
	uint64_t nl_count[PROTO_STORE_NL_SLOTS]; /* nets per family, plen */
	uint8_t nl_v4[PROTO_STORE_NL_V4]; /* present plens, longest 1st */
	uint8_t nl_v6[PROTO_STORE_NL_V6]; /* present plens, longest 1st */
	unsigned nl_v4_n;                 /* entries in nl_v4 */
	unsigned nl_v6_n;                 /* entries in nl_v6 */
	int nx_is_usable;    /* netidx may answer lookups (with nl_count) */
	int nx_is_damaged;   /* write: index unreadable, rebuild at commit */
	int nx_cur_is_stale; /* read: renew nx_cur before its next use */
	MDB_cursor *nx_cur;  /* netidx cursor, opened on first use */
};

/* proto_store_err - LMDB return code to MX_E* */
int proto_store_err(int mrc);
/* proto_store_nl_slot - netlens slot of a net key, or -1 if malformed */
int proto_store_nl_slot(const uint8_t *key, size_t keylen);
/* proto_store_nl_ready - make t's present-length lists current */
int proto_store_nl_ready(struct proto_txn *t);
/* proto_store_mask - [plen][address with host bits cleared] into key */
void proto_store_mask(
    const uint8_t *addr, size_t alen, unsigned plen, uint8_t *key);

/*
 * proto_store_nx_rebuild - recount "netlens" and rebuild netidx from the
 * net database in write txn t; 0, MX_EFULL or MX_EIO
 */
int proto_store_nx_rebuild(struct proto_txn *t);
/*
 * proto_store_nx_change - index (is_add) or unindex the net key about to
 * be or just deleted, in write txn t; 0, MX_EFULL or MX_EIO. A damaged
 * index is marked for a rebuild at commit instead of failing.
 */
int proto_store_nx_change(
    struct proto_txn *t, const uint8_t *key, size_t keylen, int is_add);
/*
 * proto_store_nx_find - the net netidx names for the n-byte address a:
 * 0 with its key in nkey (1 + n bytes), MX_ENOTFOUND if no net covers a,
 * MX_EIO if the entry is malformed or does not cover a
 */
int proto_store_nx_find(
    struct proto_txn *t, const uint8_t *a, size_t n, uint8_t *nkey);

#endif /* PROTO_STORE_INT_H */
