/*
 * xmalloc.h — allocation wrappers that abort on out-of-memory, so callers
 * never test for NULL.  Also a few string helpers that allocate.
 */
#ifndef PARLEY_XMALLOC_H
#define PARLEY_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
int xasprintf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a copy of s to the list *v of *n strings, unless it holds s already. */
void xstrv_add_once(char ***v, size_t *n, const char *s);

#endif
