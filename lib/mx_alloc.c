/*
 * mx_alloc.c - allocation that aborts on exhaustion
 *
 * Trust: sizes come from callers, who bound them (STYLE section 4).
 */
#include "lib/mx_alloc.h"

#include <stdlib.h>
#include <string.h>

#include "lib/mx_log.h"

/* mx_malloc - allocate or panic */
void *
mx_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		mx_panic("out of memory allocating %zu bytes", n);
	return p;
}

/* mx_calloc - allocate zeroed memory or panic */
void *
mx_calloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	p = calloc(nmemb, size);
	if (p == NULL)
		mx_panic(
		    "out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

/* mx_realloc - resize or panic */
void *
mx_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		mx_panic("out of memory reallocating %zu bytes", n);
	return q;
}

/* mx_strndup - bounded string copy */
char *
mx_strndup(const char *s, size_t n)
{
	const char *end = memchr(s, '\0', n);
	size_t len = end ? (size_t)(end - s) : n;
	char *p = mx_malloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* mx_strdup - string copy */
char *
mx_strdup(const char *s)
{
	return mx_strndup(s, strlen(s));
}

/* mx_free - release memory */
void
mx_free(void *p)
{
	free(p);
}
