/* Whole-file reads (file_bytes.h). */
#include "io/file_bytes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/mem.h"

cz_err *cz_read_file_bytes(const char *path, uint8_t **buf, size_t *size) {
  *buf = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return cz_err_new(CZ_EXIT_RUNTIME, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: not a regular file", path);
  }
  size_t n = (size_t)st.st_size;
  uint8_t *b = cz_xmalloc(n + 1);
  size_t got = fread(b, 1, n, f);
  int bad = ferror(f) || got != n;
  fclose(f);
  if (bad) {
    free(b);
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: read failed", path);
  }
  b[n] = 0;
  *buf = b;
  *size = n;
  return NULL;
}
