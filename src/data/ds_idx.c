/* IDX files (MNIST, Fashion-MNIST): big-endian header, then raw bytes.
 * zlib's gz reader takes gzipped and plain files alike. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data/ds.h"
#include "util/mem.h"

/* Reads exactly n bytes; returns how many came (fewer at end of file), or
 * -1 on a zlib/gzip error. */
static long long gz_read_all(gzFile f, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    size_t chunk = n - got > (1u << 30) ? (1u << 30) : n - got;
    int r = gzread(f, (char *)buf + got, (unsigned)chunk);
    if (r < 0) return -1;
    if (r == 0) break;
    got += (size_t)r;
  }
  return (long long)got;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static cz_err *gz_fail(gzFile f, const char *path) {
  int zerr = 0;
  const char *m = gzerror(f, &zerr);
  return cz_err_new(CZ_EXIT_RUNTIME, "IDX file %s: cannot read it: %s", path,
                    zerr == Z_ERRNO ? strerror(errno) : m);
}

/* Opens path, checks the magic (type 0x08 = unsigned byte, ndim) and reads
 * the ndim sizes. */
static cz_err *open_idx(const char *path, int ndim, gzFile *out, uint32_t *dims) {
  gzFile f = gzopen(path, "rb");
  if (!f)
    return cz_err_new(CZ_EXIT_RUNTIME, "IDX file %s: cannot open it: %s", path,
                      errno ? strerror(errno) : "out of memory");
  unsigned char hdr[16];
  size_t want = 4 + 4 * (size_t)ndim;
  long long got = gz_read_all(f, hdr, want);
  cz_err *e = NULL;
  if (got < 0) {
    e = gz_fail(f, path);
  } else if ((size_t)got < want) {
    e = cz_err_new(CZ_EXIT_RUNTIME, "IDX file %s: truncated header: %lld of %zu bytes",
                   path, got, want);
  } else {
    uint32_t magic = be32(hdr), expect = 0x0800u | (uint32_t)ndim;
    if (magic != expect)
      e = cz_err_new(CZ_EXIT_RUNTIME,
                     "IDX file %s: magic number 0x%08x: expected 0x%08x (unsigned "
                     "bytes, %d dimension%s)",
                     path, magic, expect, ndim, ndim == 1 ? "" : "s");
    for (int i = 0; i < ndim && !e; i++) dims[i] = be32(hdr + 4 + 4 * i);
  }
  if (e) {
    gzclose(f);
    return e;
  }
  *out = f;
  return NULL;
}

/* Reads the body (n bytes) and checks that nothing follows it. */
static cz_err *read_body(gzFile f, const char *path, void *buf, size_t n) {
  long long got = gz_read_all(f, buf, n);
  if (got < 0) return gz_fail(f, path);
  if ((size_t)got < n)
    return cz_err_new(CZ_EXIT_RUNTIME, "IDX file %s: truncated: %lld of %zu data bytes",
                      path, got, n);
  unsigned char extra;
  got = gz_read_all(f, &extra, 1);
  if (got < 0) return gz_fail(f, path);
  if (got > 0)
    return cz_err_new(CZ_EXIT_RUNTIME,
                      "IDX file %s: data continues past the %zu bytes the header gives",
                      path, n);
  return NULL;
}

cz_err *cz_ds_idx_read(const char *images_path, const char *labels_path,
                       cz_ds_images *images, uint8_t **labels) {
  gzFile fi = NULL, fl = NULL;
  uint32_t di[3] = {0}, dl[1] = {0};
  uint8_t *pix = NULL, *lab = NULL;
  cz_err *e = open_idx(images_path, 3, &fi, di);
  if (!e) e = open_idx(labels_path, 1, &fl, dl);
  if (!e && (di[1] == 0 || di[2] == 0 || di[1] > 4096 || di[2] > 4096))
    e = cz_err_new(CZ_EXIT_RUNTIME,
                   "IDX file %s: image size %ux%u: expected 1 to 4096 pixels a side",
                   images_path, di[1], di[2]);
  if (!e && di[0] != dl[0])
    e = cz_err_new(CZ_EXIT_RUNTIME, "IDX files %s (%u images) and %s (%u labels): expected "
                   "as many labels as images", images_path, di[0], labels_path, dl[0]);
  if (!e && di[0] == 0)
    e = cz_err_new(CZ_EXIT_RUNTIME, "IDX file %s: no images", images_path);
  size_t n = di[0], px = (size_t)di[1] * di[2];
  if (!e) {
    lab = cz_xmalloc(n);
    e = read_body(fl, labels_path, lab, n);
  }
  if (!e) {
    pix = cz_xmalloc(n * px);
    e = read_body(fi, images_path, pix, n * px);
  }
  if (fi) gzclose(fi);
  if (fl) gzclose(fl);
  if (e) {
    free(pix);
    free(lab);
    return e;
  }
  *images = (cz_ds_images){pix, n, di[1], di[2]};
  *labels = lab;
  return NULL;
}

static int is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

cz_err *cz_ds_idx_find(const char *dir, const char *sub, const char *name, char **path) {
  /* torchvision keeps the files in <root>/<Class>/raw; Debian's package
   * puts them straight in the folder. Plain before gzipped, like
   * torchvision after extraction. */
  for (int where = 0; where < (sub ? 2 : 1); where++) {
    for (int gz = 0; gz < 2; gz++) {
      char *p = where ? cz_asprintf("%s/%s/raw/%s%s", dir, sub, name, gz ? ".gz" : "")
                      : cz_asprintf("%s/%s%s", dir, name, gz ? ".gz" : "");
      if (is_file(p)) {
        *path = p;
        return NULL;
      }
      free(p);
    }
  }
  if (sub)
    return cz_err_new(CZ_EXIT_USAGE,
                      "dataset.data_dir = %s: no %s or %s.gz in it or in %s/raw: expected "
                      "the IDX files there", dir, name, name, sub);
  return cz_err_new(CZ_EXIT_USAGE, "dataset.data_dir = %s: no %s or %s.gz in it: expected "
                    "the IDX files there", dir, name, name);
}
