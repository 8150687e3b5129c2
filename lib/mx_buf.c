/*
 * mx_buf.c - bounded byte buffers
 *
 * Trust: appends are checked against max before any copy or growth.
 */
#include "lib/mx_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"

/* mx_buf_init - set up an empty bounded buffer */
void
mx_buf_init(struct mx_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* mx_buf_fini - free storage */
void
mx_buf_fini(struct mx_buf *b)
{
	mx_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* mx_buf_reset - empty, keeping storage */
void
mx_buf_reset(struct mx_buf *b)
{
	b->len = 0;
}

/* mx_buf_room - bytes left before max */
size_t
mx_buf_room(const struct mx_buf *b)
{
	return b->max - b->len;
}

/* mx_buf_reserve - grow storage for n more bytes, within max */
int
mx_buf_reserve(struct mx_buf *b, size_t n)
{
	size_t need, cap;

	if (n > b->max - b->len)
		return MX_ETOOBIG;
	need = b->len + n;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	/* the first block is no bigger than max: storage never passes it */
	if (cap > b->max)
		cap = b->max;
	while (cap < need)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	if (cap < need)
		cap = need;
	b->data = mx_realloc(b->data, cap);
	b->cap = cap;
	return 0;
}

/* mx_buf_append - bounded append */
int
mx_buf_append(struct mx_buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = mx_buf_reserve(b, n)) != 0)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* mx_buf_append_byte - bounded append of one byte */
int
mx_buf_append_byte(struct mx_buf *b, uint8_t c)
{
	return mx_buf_append(b, &c, 1);
}

/* mx_buf_printf - bounded formatted append */
int
mx_buf_printf(struct mx_buf *b, const char *fmt, ...)
{
	char small[256], *tmp = small;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return MX_EINVAL;
	if ((size_t)n > mx_buf_room(b))
		return MX_ETOOBIG;
	if ((size_t)n >= sizeof(small)) {
		tmp = mx_malloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(tmp, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	rc = mx_buf_append(b, tmp, (size_t)n);
	if (tmp != small)
		mx_free(tmp);
	return rc;
}

/* mx_buf_consume - drop bytes from the front */
void
mx_buf_consume(struct mx_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}
