/*
 * mx_err.c - names for mx_err codes
 *
 * Trust: none.
 */
#include "lib/mx_err.h"

static const char *const mx_err_names[] = {
    "success",
    "invalid argument",
    "size limit exceeded",
    "protocol violation",
    "I/O error",
    "not found",
    "storage full",
    "unknown version",
    "wrong type",
    "truncated input",
    "trailing bytes",
    "count limit exceeded",
    "required field missing",
    "duplicate field",
    "value out of range",
    "bad signature",
    "unusable key",
    "nesting too deep",
    "stale sequence (replay)",
    "sequence gap",
    "epoch mismatch",
    "already exists",
    "timed out",
    "invalid state",
};

/* a code added to mx_err.h without a name here must not read past it */
_Static_assert(sizeof(mx_err_names) / sizeof(mx_err_names[0]) == 1 - MX_ERR_MIN,
    "mx_err_names does not match enum mx_err");

/* mx_strerror - name an error code */
const char *
mx_strerror(int err)
{
	if (err > 0 || err < MX_ERR_MIN)
		return "unknown error";
	return mx_err_names[-err];
}
