/*
 * mx_alloc.h - allocation that never returns NULL
 *
 * mx_malloc and friends abort the process (mx_panic) when memory runs out,
 * like Postfix mymalloc. That is only safe because no input can drive an
 * allocation without a bound: every caller sizes from a limit, never from
 * a count the peer claims. Trust: none.
 */
#ifndef MX_ALLOC_H
#define MX_ALLOC_H

#include <stddef.h>

/* mx_malloc - allocate n bytes (n == 0 gives a valid 1-byte block) */
void *mx_malloc(size_t n);
/* mx_calloc - allocate and zero nmemb * size bytes; overflow panics */
void *mx_calloc(size_t nmemb, size_t size);
/* mx_realloc - resize p to n bytes; p may be NULL */
void *mx_realloc(void *p, size_t n);
/* mx_strndup - copy at most n bytes of s and NUL-terminate; caller frees */
char *mx_strndup(const char *s, size_t n);
/* mx_strdup - copy a NUL-terminated string; caller frees */
char *mx_strdup(const char *s);
/* mx_free - free p; NULL does nothing */
void mx_free(void *p);

#endif /* MX_ALLOC_H */
