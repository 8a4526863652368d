/* Reader of test tensor bundles (format in tensor_file.h). */
#include "tensor_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static void fail(const char *path, const char *what) {
  fprintf(stderr, "tensor bundle %s: %s\n", path, what);
  abort();
}

static void get(FILE *f, const char *path, void *p, size_t n) {
  if (n && fread(p, 1, n, f) != n) fail(path, "truncated");
}

ct_bundle *ct_bundle_read(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) fail(path, "cannot open (did the oracle script run?)");
  char magic[4];
  uint32_t count;
  get(f, path, magic, 4);
  if (memcmp(magic, "CZT1", 4) != 0) fail(path, "not a CZT1 file");
  get(f, path, &count, 4);
  if (count > 100000) fail(path, "implausible tensor count");
  ct_bundle *b = cz_xcalloc(1, sizeof *b);
  b->t = cz_xcalloc(count ? count : 1, sizeof *b->t);
  for (uint32_t i = 0; i < count; i++) {
    ct_tensor *t = &b->t[b->n++];
    uint16_t len;
    uint8_t kind, rank;
    get(f, path, &len, 2);
    t->name = cz_xcalloc(len + 1u, 1);
    get(f, path, t->name, len);
    get(f, path, &kind, 1);
    get(f, path, &rank, 1);
    if (rank > CZ_MAX_RANK || kind > 5) fail(path, "bad tensor header");
    t->shape.rank = rank;
    for (int k = 0; k < rank; k++) get(f, path, &t->shape.d[k], 8);
    static const cz_dtype kinds[] = {CZ_F32, CZ_I64, CZ_I32, CZ_I8, CZ_U8, CZ_U8};
    t->dtype = kinds[kind];
    t->is_text = kind == 5;
    t->bytes = (size_t)cz_shape_numel(&t->shape) * cz_dtype_size(t->dtype);
    t->data = cz_xcalloc(t->bytes + 1, 1);
    get(f, path, t->data, t->bytes);
  }
  fclose(f);
  return b;
}

const ct_tensor *ct_bundle_get(const ct_bundle *b, const char *name) {
  for (int i = 0; i < b->n; i++)
    if (strcmp(b->t[i].name, name) == 0) return &b->t[i];
  return NULL;
}

const ct_tensor *ct_bundle_need(const ct_bundle *b, const char *name) {
  const ct_tensor *t = ct_bundle_get(b, name);
  if (!t) {
    fprintf(stderr, "tensor bundle: no tensor '%s'\n", name);
    abort();
  }
  return t;
}

void ct_bundle_free(ct_bundle *b) {
  if (!b) return;
  for (int i = 0; i < b->n; i++) {
    free(b->t[i].name);
    free(b->t[i].data);
  }
  free(b->t);
  free(b);
}

cz_tensor_dict *ct_bundle_to_dict(const ct_bundle *b, const char *prefix) {
  cz_tensor_dict *d = cz_tdict_new();
  size_t k = strlen(prefix);
  for (int i = 0; i < b->n; i++) {
    const ct_tensor *t = &b->t[i];
    if (t->is_text || strncmp(t->name, prefix, k) != 0) continue;
    cz_err *e = cz_tdict_add(d, t->name + k, t->dtype, t->shape, t->data);
    if (e) {
      fprintf(stderr, "%s\n", cz_err_msg(e));
      abort();
    }
  }
  return d;
}
