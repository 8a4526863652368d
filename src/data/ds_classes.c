/* The classes file (dataset.classes_file_path): one class name per line.
 * Files written on Windows work: CRLF endings and a UTF-8 BOM are dropped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/ds.h"
#include "util/mem.h"

static cz_err *slurp(const char *path, char **buf, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return cz_err_new(CZ_EXIT_USAGE, "dataset.classes_file_path = %s: cannot open it: %s",
                      path, strerror(errno));
  size_t cap = 4096, n = 0;
  char *b = cz_xmalloc(cap);
  size_t r;
  while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (cap - n - 1 == 0) b = cz_xrealloc(b, cap *= 2);
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(b);
    return cz_err_new(CZ_EXIT_USAGE, "dataset.classes_file_path = %s: cannot read it", path);
  }
  b[n] = 0;
  *buf = b;
  *len = n;
  return NULL;
}

cz_err *cz_ds_read_class_file(const char *path, char ***names, size_t *count) {
  char *buf = NULL;
  size_t len = 0;
  cz_err *e = slurp(path, &buf, &len);
  if (e) return e;
  char *p = buf, *end = buf + len;
  if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
  char **v = NULL;
  size_t n = 0, cap = 0, blank_line = 0, lineno = 0;
  while (p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *stop = nl ? nl : end;
    size_t l = (size_t)(stop - p);
    if (l && p[l - 1] == '\r') l--;
    lineno++;
    if (memchr(p, 0, l)) {
      e = cz_err_new(CZ_EXIT_USAGE, "dataset.classes_file_path = %s: line %zu has a NUL "
                     "byte: expected text", path, lineno);
      break;
    }
    if (l == 0) {
      if (!blank_line) blank_line = lineno;
    } else {
      if (blank_line) {
        /* A hole in the list would shift every later label by one. */
        e = cz_err_new(CZ_EXIT_USAGE, "dataset.classes_file_path = %s: line %zu is blank: "
                       "expected one class name per line", path, blank_line);
        break;
      }
      if (n == cap) v = cz_xrealloc(v, (cap = cap ? 2 * cap : 16) * sizeof *v);
      v[n++] = cz_xstrndup(p, l);
    }
    p = nl ? nl + 1 : end;
  }
  free(buf);
  if (!e && n == 0)
    e = cz_err_new(CZ_EXIT_USAGE, "dataset.classes_file_path = %s: no class names in it: "
                   "expected one per line", path);
  if (e) {
    cz_ds_free_names(v, n);
    return e;
  }
  *names = v;
  *count = n;
  return NULL;
}
