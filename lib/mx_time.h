/*
 * mx_time.h - the two clocks every program reads, in milliseconds
 *
 * mx_unix_ms: wall clock (record times, expiries, serials, logs of when);
 * mx_mono_ms: monotonic (timers, timeouts, durations), never stepped
 * back by a clock change.
 */
#ifndef MX_TIME_H
#define MX_TIME_H

#include <stdint.h>
#include <time.h>

/* mx_clock_ms - one clock in milliseconds */
static inline uint64_t
mx_clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* mx_unix_ms - unix milliseconds */
static inline uint64_t
mx_unix_ms(void)
{
	return mx_clock_ms(CLOCK_REALTIME);
}

/* mx_mono_ms - monotonic milliseconds */
static inline uint64_t
mx_mono_ms(void)
{
	return mx_clock_ms(CLOCK_MONOTONIC);
}

#endif /* MX_TIME_H */
