/*
 * mx_parse.h - the one checked parser for numbers, sizes and durations
 *
 * Never atoi: every number from a config file, a command line or a peer
 * goes through these, with explicit bounds (OpenSMTPD ERANGE habit).
 * Trust: input is (pointer, length), not NUL-terminated, and may be hostile.
 */
#ifndef MX_PARSE_H
#define MX_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * mx_parse_u64 - parse decimal digits s[0..len) into *out
 * Returns 0, MX_EINVAL (empty, sign, non-digit) or MX_ERANGE (overflow, or
 * outside [min, max]). *out is set only on success.
 */
int mx_parse_u64(
    const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);

/* mx_parse_i64 - as mx_parse_u64, with an optional leading '-' */
int mx_parse_i64(
    const char *s, size_t len, int64_t min, int64_t max, int64_t *out);

/*
 * mx_parse_size - a byte count with an optional suffix k, m, g (powers of
 * 1024, case-insensitive): "10m" = 10485760. Same errors as mx_parse_u64.
 */
int mx_parse_size(
    const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);

/*
 * mx_parse_duration_ms - a duration in milliseconds: digits with a suffix
 * ms, s, m, h or d ("30s", "5m"); plain digits are seconds.
 */
int mx_parse_duration_ms(
    const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);

/*
 * mx_parse_bool - yes/no, true/false, on/off, 1/0 (case-insensitive)
 * Returns 0 or MX_EINVAL.
 */
int mx_parse_bool(const char *s, size_t len, int *out);

/*
 * mx_parse_hostport - "host:port" or "[v6]:port" (port 1..65535) into
 * host (NUL-ended, hostlen bytes at most with the NUL) and *port.
 * Returns 0 or MX_EINVAL; nothing is resolved.
 */
int mx_parse_hostport(
    const char *s, size_t len, char *host, size_t hostlen, uint16_t *port);

#endif /* MX_PARSE_H */
