/* Named tensors in memory (tensor_dict.h). */
#include "tensor/tensor_dict.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

cz_tensor_dict *cz_tdict_new(void) { return cz_xcalloc(1, sizeof(cz_tensor_dict)); }

void cz_tdict_free(cz_tensor_dict *d) {
  if (!d) return;
  for (int i = 0; i < d->n; i++) {
    free(d->t[i].name);
    free(d->t[i].data);
  }
  free(d->t);
  free(d);
}

const cz_named_tensor *cz_tdict_get(const cz_tensor_dict *d, const char *name) {
  for (int i = 0; i < d->n; i++)
    if (strcmp(d->t[i].name, name) == 0) return &d->t[i];
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
  return n;
}
