/*
 * mx_err.h - error codes shared by every mxsentry module
 *
 * Fallible functions return 0 or one of the negative codes below; callers
 * name them with mx_strerror(). Each failure mode a decoder or the store
 * can meet has its own code so that metrics and tests can tell them apart.
 * Trust: none; plain constants.
 */
#ifndef MX_ERR_H
#define MX_ERR_H

enum mx_err {
	MX_OK = 0,
	MX_EINVAL = -1,    /* invalid argument or malformed text */
	MX_ETOOBIG = -2,   /* a size limit was hit */
	MX_EPROTO = -3,    /* protocol violation by the peer */
	MX_EIO = -4,       /* system call or library I/O failure */
	MX_ENOTFOUND = -5, /* no such record or entry */
	MX_EFULL = -6,     /* storage full (LMDB map size reached) */
	MX_EVERSION = -7,  /* unknown payload or layout version */
	MX_ETYPE = -8,     /* wrong msgpack type for a field */
	MX_ETRUNC = -9,    /* input ends before the value does */
	MX_ETRAIL = -10,   /* bytes left over after the value */
	MX_ELIMIT = -11,   /* a count limit was hit */
	MX_EMISSING = -12, /* a required field is absent */
	MX_EDUP = -13,     /* a field appears twice */
	MX_ERANGE = -14,   /* number or enum value out of range */
	MX_ESIG = -15,     /* signature does not verify */
	MX_EKEY = -16,     /* key unusable: wrong type, unreadable */
	MX_EDEPTH = -17,   /* nesting deeper than allowed */
	MX_ESTALE = -18,   /* sequence already applied (replay) */
	MX_EGAP = -19,     /* sequence gap: a batch is missing */
	MX_EEPOCH = -20,   /* epoch differs from the applied one */
	MX_EEXIST = -21,   /* entry exists already */
	MX_ETIMEOUT = -22, /* time limit reached */
	MX_ESTATE = -23,   /* call not valid in the current state */
};

#define MX_ERR_MIN MX_ESTATE

/*
 * mx_strerror - a short constant description of an mx_err code
 * ("invalid argument" for MX_EINVAL). Returns a static string; codes
 * outside MX_ERR_MIN..MX_OK give "unknown error".
 */
const char *mx_strerror(int err);

#endif /* MX_ERR_H */
