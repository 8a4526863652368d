/* Reading torch.save zip files (torch_file.h). The layout follows
 * torch/serialization.py (_save / _load) and caffe2's PyTorchStreamReader:
 * "<archive>/data.pkl" holds the pickle, "<archive>/data/<key>" the raw
 * little-endian bytes of each storage, "<archive>/version" the format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file_bytes.h"
#include "io/pickle_read.h"
#include "io/torch_file.h"
#include "io/zip_read.h"
#include "util/mem.h"

bool cz_torch_is_legacy(const uint8_t *buf, size_t size) {
  static const uint8_t magic[] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  /* PROTO n, then the magic number as LONG1. */
  return size >= 2 + sizeof magic && buf[0] == 0x80 && memcmp(buf + 2, magic, sizeof magic) == 0;
}

typedef struct {
  const cz_zip *z;
  const char *prefix; /* "<archive>/" */
  const char *what;
  uint8_t **owned; /* inflated records, freed at the end */
  int nowned;
} ctx;

static cz_err *find_storage(void *p, const char *key, uint64_t want, const uint8_t **bytes,
                            size_t *size) {
  (void)want;
  ctx *c = p;
  char *name = cz_asprintf("%sdata/%s", c->prefix, key);
  int i = cz_zip_find(c->z, name);
  free(name);
  if (i < 0) return cz_err_new(CZ_EXIT_RUNTIME, "%s: storage '%s' has no record data/%s in the archive", c->what, key, key);
  uint8_t *owned = NULL;
  cz_err *e = cz_zip_read(c->z, i, bytes, size, &owned);
  if (owned) {
    c->owned = cz_xrealloc(c->owned, (size_t)(c->nowned + 1) * sizeof *c->owned);
    c->owned[c->nowned++] = owned;
  }
  return e;
}

/* torch >= 2.0 records the byte order of the storages; czoo reads
 * little-endian data only (what every x86 and ARM machine writes). */
static cz_err *check_byteorder(const cz_zip *z, const char *prefix, const char *what) {
  char *name = cz_asprintf("%sbyteorder", prefix);
  int i = cz_zip_find(z, name);
  free(name);
  if (i < 0) return NULL;
  const uint8_t *b;
  size_t n;
  uint8_t *owned;
  cz_err *e = cz_zip_read(z, i, &b, &n, &owned);
  if (!e && !(n == 6 && memcmp(b, "little", 6) == 0))
    e = cz_err_new(CZ_EXIT_RUNTIME, "%s: storages are not little-endian (byteorder record), which czoo does not read", what);
  free(owned);
  return e;
}

cz_err *cz_torch_load_mem(const uint8_t *buf, size_t size, const char *what, cz_pyval **out) {
  *out = NULL;
  if (cz_torch_is_legacy(buf, size))
    return cz_err_new(CZ_EXIT_RUNTIME,
                      "%s: a legacy (non-zip) torch.save file, which czoo does not read: re-save it "
                      "with torch >= 1.6 (torch.save(torch.load(f), f))", what);
  cz_zip *z = NULL;
  cz_err *e = cz_zip_open(buf, size, what, &z);
  if (e) return e;
  /* The archive's folder is whatever the first record lives in. */
  const char *slash = z->n ? strchr(z->e[0].name, '/') : NULL;
  if (!slash) {
    cz_zip_close(z);
    return cz_err_new(CZ_EXIT_RUNTIME, "%s: not a torch.save archive (no <archive>/data.pkl record)", what);
  }
  char *prefix = cz_xstrndup(z->e[0].name, (size_t)(slash - z->e[0].name) + 1);
  char *pkl_name = cz_asprintf("%sdata.pkl", prefix);
  int pi = cz_zip_find(z, pkl_name);
  free(pkl_name);
  ctx c = {z, prefix, what, NULL, 0};
  const uint8_t *pkl = NULL;
  size_t pkl_size = 0;
  uint8_t *pkl_owned = NULL;
  if (pi < 0)
    e = cz_err_new(CZ_EXIT_RUNTIME, "%s: not a torch.save archive (no %sdata.pkl record)", what, prefix);
  else
    e = check_byteorder(z, prefix, what);
  if (!e) e = cz_zip_read(z, pi, &pkl, &pkl_size, &pkl_owned);
  if (!e) {
    /* Tensor data may take up to 8x the file (float16 and views become
     * float32 copies), plus a floor for tiny files with large expanded views. */
    uint64_t budget = (uint64_t)size * 8 + (64u << 20);
    cz_unpickle_opts o = {what, find_storage, &c, budget};
    e = cz_unpickle(pkl, pkl_size, &o, out);
  }
  free(pkl_owned);
  for (int i = 0; i < c.nowned; i++) free(c.owned[i]);
  free(c.owned);
  free(prefix);
  cz_zip_close(z);
  return e;
}

cz_err *cz_torch_load(const char *path, cz_pyval **out) {
  *out = NULL;
  uint8_t *buf;
  size_t n;
  cz_err *e = cz_read_file_bytes(path, &buf, &n);
  if (!e) e = cz_torch_load_mem(buf, n, path, out);
  free(buf);
  return e;
}
