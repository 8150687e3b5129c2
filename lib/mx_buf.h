/*
 * mx_buf.h - bounded byte buffers
 *
 * Every buffer fed from outside is an mx_buf with a hard max set at
 * creation. An append past max returns MX_ETOOBIG and leaves the buffer as
 * it was (STYLE section 4). Storage grows geometrically up to max.
 * Trust: contents are arbitrary bytes; lengths are always explicit.
 */
#ifndef MX_BUF_H
#define MX_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "lib/mx_log.h"

struct mx_buf {
	uint8_t *data; /* storage, or NULL before the first append */
	size_t len;    /* bytes in use */
	size_t cap;    /* bytes allocated */
	size_t max;    /* hard limit on len */
};

/* mx_buf_init - empty buffer that may hold up to max bytes; no allocation */
void mx_buf_init(struct mx_buf *b, size_t max);
/* mx_buf_fini - release storage; the buffer is empty afterwards */
void mx_buf_fini(struct mx_buf *b);
/* mx_buf_reset - drop the contents, keep the storage */
void mx_buf_reset(struct mx_buf *b);
/*
 * mx_buf_reserve - make room for n more bytes without changing len
 * Returns 0 or MX_ETOOBIG when len + n would pass max.
 */
int mx_buf_reserve(struct mx_buf *b, size_t n);
/* mx_buf_append - append n bytes; 0 or MX_ETOOBIG (buffer unchanged) */
int mx_buf_append(struct mx_buf *b, const void *p, size_t n);
/* mx_buf_append_byte - append one byte; 0 or MX_ETOOBIG */
int mx_buf_append_byte(struct mx_buf *b, uint8_t c);
/* mx_buf_printf - append formatted text (no NUL); 0, MX_ETOOBIG, MX_EINVAL */
int mx_buf_printf(struct mx_buf *b, const char *fmt, ...) MX_PRINTF(2, 3);
/* mx_buf_consume - remove the first n bytes (n > len empties the buffer) */
void mx_buf_consume(struct mx_buf *b, size_t n);
/* mx_buf_room - bytes that can still be appended before max */
size_t mx_buf_room(const struct mx_buf *b);

#endif /* MX_BUF_H */
