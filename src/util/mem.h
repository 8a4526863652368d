/* Allocation that never returns NULL: running out of memory aborts with a
 * message, so callers need no checks. Also printf-style string building. */
#ifndef CZ_UTIL_MEM_H
#define CZ_UTIL_MEM_H

#include <stdarg.h>
#include <stddef.h>

void *cz_xmalloc(size_t n);
void *cz_xcalloc(size_t count, size_t size);
void *cz_xrealloc(void *p, size_t n);
char *cz_xstrdup(const char *s);
char *cz_xstrndup(const char *s, size_t n);
char *cz_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *cz_vasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

#endif
