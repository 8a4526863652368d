/* Checked allocation and string formatting. */
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *p, size_t n) {
  if (!p && n) {
    fprintf(stderr, "czoo: fatal: out of memory allocating %zu bytes\n", n);
    abort();
  }
  return p;
}

void *cz_xmalloc(size_t n) { return check(malloc(n ? n : 1), n); }
void *cz_xcalloc(size_t count, size_t size) {
  return check(calloc(count ? count : 1, size ? size : 1), count * size);
}
void *cz_xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1), n); }
char *cz_xstrdup(const char *s) { return cz_xstrndup(s, strlen(s)); }

char *cz_xstrndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *d = cz_xmalloc(len + 1);
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

char *cz_vasprintf(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) n = 0;
  char *s = cz_xmalloc((size_t)n + 1);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

char *cz_asprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = cz_vasprintf(fmt, ap);
  va_end(ap);
  return s;
}
