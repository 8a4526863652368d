/* Named tensors in memory (tensor_dict.h). Names are indexed by an
 * open-addressing hash table (FNV-1a, linear probing, at most half full),
 * so reading a checkpoint of n tensors costs O(n), not O(n^2): a hostile
 * file with millions of tiny tensors must not stall the reader. */
#include "tensor/tensor_dict.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static uint64_t name_hash(const char *s) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (; *s; s++) h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
  return h;
}

/* Rebuilds the index for the current entries into `slots` slots (a power
 * of two, at least twice the capacity). */
static void reindex(cz_tensor_dict *d, int slots) {
  free(d->index);
  d->index = cz_xmalloc((size_t)slots * sizeof *d->index);
  for (int i = 0; i < slots; i++) d->index[i] = -1;
  d->slots = slots;
  for (int i = 0; i < d->n; i++) {
    size_t k = (size_t)name_hash(d->t[i].name) & (size_t)(slots - 1);
    while (d->index[k] >= 0) k = (k + 1) & (size_t)(slots - 1);
    d->index[k] = i;
  }
}

cz_tensor_dict *cz_tdict_new(void) { return cz_xcalloc(1, sizeof(cz_tensor_dict)); }

void cz_tdict_free(cz_tensor_dict *d) {
  if (!d) return;
  for (int i = 0; i < d->n; i++) {
    free(d->t[i].name);
    free(d->t[i].data);
  }
  free(d->t);
  free(d->index);
  free(d);
}

const cz_named_tensor *cz_tdict_get(const cz_tensor_dict *d, const char *name) {
  if (!d->slots) return NULL;
  size_t k = (size_t)name_hash(name) & (size_t)(d->slots - 1);
  for (; d->index[k] >= 0; k = (k + 1) & (size_t)(d->slots - 1))
    if (strcmp(d->t[d->index[k]].name, name) == 0) return &d->t[d->index[k]];
  return NULL;
}

cz_err *cz_tdict_add_owned(cz_tensor_dict *d, const char *name, cz_dtype dt, cz_shape shape,
                           void *data) {
  if (cz_tdict_get(d, name)) {
    free(data);
    return cz_err_new(CZ_EXIT_RUNTIME, "tensor '%s' appears twice", name);
  }
  if (d->n == d->cap) {
    d->cap = d->cap ? 2 * d->cap : 64;
    d->t = cz_xrealloc(d->t, (size_t)d->cap * sizeof *d->t);
  }
  d->t[d->n++] = (cz_named_tensor){cz_xstrdup(name), dt, shape, data};
  if (2 * d->n > d->slots) reindex(d, d->slots ? 2 * d->slots : 128);
  else {
    size_t k = (size_t)name_hash(name) & (size_t)(d->slots - 1);
    while (d->index[k] >= 0) k = (k + 1) & (size_t)(d->slots - 1);
    d->index[k] = d->n - 1;
  }
  return NULL;
}

cz_err *cz_tdict_add(cz_tensor_dict *d, const char *name, cz_dtype dt, cz_shape shape,
                     const void *data) {
  size_t bytes = (size_t)cz_shape_numel(&shape) * cz_dtype_size(dt);
  void *copy = cz_xcalloc(1, bytes ? bytes : 1);
  if (data) memcpy(copy, data, bytes);
  return cz_tdict_add_owned(d, name, dt, shape, copy);
}

int cz_tdict_strip_prefix(cz_tensor_dict *d, const char *prefix) {
  size_t k = strlen(prefix);
  int n = 0;
  for (int i = 0; i < d->n; i++) {
    if (strncmp(d->t[i].name, prefix, k) != 0) continue;
    memmove(d->t[i].name, d->t[i].name + k, strlen(d->t[i].name + k) + 1);
    n++;
  }
  if (n && d->slots) reindex(d, d->slots);
  return n;
}
