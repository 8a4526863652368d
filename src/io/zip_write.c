/* ZIP archive writer in PyTorch's layout (zip_write.h). */
#include "io/zip_write.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/mem.h"

enum { ALIGN = 64 };

typedef struct {
  char *name;
  uint32_t crc;
  uint64_t size, off;
} rec;

struct cz_zipw {
  FILE *f;
  char *what;
  uint64_t pos;
  int n, cap;
  rec *r;
  bool failed;
};

static void put(cz_zipw *w, const void *p, size_t n) {
  if (n && fwrite(p, 1, n, w->f) != n) w->failed = true;
  w->pos += n;
}
static void put16(cz_zipw *w, uint32_t v) {
  uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  put(w, b, 2);
}
static void put32(cz_zipw *w, uint32_t v) {
  put16(w, v & 0xFFFF);
  put16(w, v >> 16);
}
static void put64(cz_zipw *w, uint64_t v) {
  put32(w, (uint32_t)v);
  put32(w, (uint32_t)(v >> 32));
}

cz_zipw *cz_zipw_new(FILE *f, const char *what) {
  cz_zipw *w = cz_xcalloc(1, sizeof *w);
  w->f = f;
  w->what = cz_xstrdup(what);
  return w;
}

void cz_zipw_free(cz_zipw *w) {
  if (!w) return;
  for (int i = 0; i < w->n; i++) free(w->r[i].name);
  free(w->r);
  free(w->what);
  free(w);
}

static uint32_t crc_of(const uint8_t *p, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n) {
    uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;
    c = crc32(c, p, k);
    p += k;
    n -= k;
  }
  return (uint32_t)c;
}

/* A fixed DOS date (1980-01-01 00:00): archives are reproducible. */
#define DOS_TIME 0
#define DOS_DATE 0x21

cz_err *cz_zipw_add(cz_zipw *w, const char *name, const void *data, size_t size) {
  size_t nlen = strlen(name);
  if (nlen == 0 || nlen > 0xFFFF) return cz_err_new(CZ_EXIT_RUNTIME, "%s: bad zip entry name '%s'", w->what, name);
  bool z64 = size >= 0xFFFFFFFFu || w->pos >= 0xFFFFFFFFu;
  /* Local header, then an extra field: ZIP64 sizes if needed, then padding
   * (header id 0x4246 "FB", as PyTorch uses) so that the data starts at a
   * multiple of 64. */
  uint64_t fixed = 30 + nlen + (z64 ? 20 : 0);
  uint64_t pad = (ALIGN - (w->pos + fixed + 4) % ALIGN) % ALIGN;
  uint32_t crc = crc_of(data, size);
  if (w->n == w->cap) {
    w->cap = w->cap ? 2 * w->cap : 16;
    w->r = cz_xrealloc(w->r, (size_t)w->cap * sizeof *w->r);
  }
  w->r[w->n++] = (rec){cz_xstrdup(name), crc, size, w->pos};
  put32(w, 0x04034b50);
  put16(w, z64 ? 45 : 20); /* version needed */
  put16(w, 0x0800);        /* flags: UTF-8 names */
  put16(w, 0);             /* stored */
  put16(w, DOS_TIME);
  put16(w, DOS_DATE);
  put32(w, crc);
  put32(w, z64 ? 0xFFFFFFFFu : (uint32_t)size);
  put32(w, z64 ? 0xFFFFFFFFu : (uint32_t)size);
  put16(w, (uint32_t)nlen);
  put16(w, (uint32_t)((z64 ? 20 : 0) + 4 + pad));
  put(w, name, nlen);
  if (z64) {
    put16(w, 1);
    put16(w, 16);
    put64(w, size);
    put64(w, size);
  }
  put16(w, 0x4246);
  put16(w, (uint32_t)pad);
  static const char zeros[ALIGN] = {0};
  put(w, zeros, pad);
  put(w, data, size);
  if (w->failed) return cz_err_new(CZ_EXIT_RUNTIME, "%s: write failed", w->what);
  return NULL;
}

cz_err *cz_zipw_finish(cz_zipw *w) {
  uint64_t cd_off = w->pos;
  for (int i = 0; i < w->n; i++) {
    const rec *r = &w->r[i];
    bool big_size = r->size >= 0xFFFFFFFFu, big_off = r->off >= 0xFFFFFFFFu;
    size_t nlen = strlen(r->name);
    uint32_t xlen = (big_size || big_off) ? 4 + (big_size ? 16 : 0) + (big_off ? 8 : 0) : 0;
    put32(w, 0x02014b50);
    put16(w, 0x0300 | ((big_size || big_off) ? 45 : 20)); /* made by: UNIX */
    put16(w, (big_size || big_off) ? 45 : 20);
    put16(w, 0x0800);
    put16(w, 0);
    put16(w, DOS_TIME);
    put16(w, DOS_DATE);
    put32(w, r->crc);
    put32(w, big_size ? 0xFFFFFFFFu : (uint32_t)r->size);
    put32(w, big_size ? 0xFFFFFFFFu : (uint32_t)r->size);
    put16(w, (uint32_t)nlen);
    put16(w, xlen);
    put16(w, 0); /* comment */
    put16(w, 0); /* disk */
    put16(w, 0); /* internal attributes */
    put32(w, 0100644u << 16); /* external: a regular file, rw-r--r-- */
    put32(w, big_off ? 0xFFFFFFFFu : (uint32_t)r->off);
    put(w, r->name, nlen);
    if (xlen) {
      put16(w, 1);
      put16(w, xlen - 4);
      if (big_size) {
        put64(w, r->size);
        put64(w, r->size);
      }
      if (big_off) put64(w, r->off);
    }
  }
  uint64_t cd_size = w->pos - cd_off;
  bool z64 = w->n >= 0xFFFF || cd_off >= 0xFFFFFFFFu || cd_size >= 0xFFFFFFFFu;
  if (z64) {
    uint64_t rec_off = w->pos;
    put32(w, 0x06064b50);
    put64(w, 44);
    put16(w, 0x032D);
    put16(w, 45);
    put32(w, 0);
    put32(w, 0);
    put64(w, (uint64_t)w->n);
    put64(w, (uint64_t)w->n);
    put64(w, cd_size);
    put64(w, cd_off);
    put32(w, 0x07064b50);
    put32(w, 0);
    put64(w, rec_off);
    put32(w, 1);
  }
  put32(w, 0x06054b50);
  put16(w, 0);
  put16(w, 0);
  put16(w, z64 ? 0xFFFF : (uint32_t)w->n);
  put16(w, z64 ? 0xFFFF : (uint32_t)w->n);
  put32(w, z64 ? 0xFFFFFFFFu : (uint32_t)cd_size);
  put32(w, z64 ? 0xFFFFFFFFu : (uint32_t)cd_off);
  put16(w, 0);
  cz_err *err = w->failed ? cz_err_new(CZ_EXIT_RUNTIME, "%s: write failed", w->what) : NULL;
  cz_zipw_free(w);
  return err;
}
