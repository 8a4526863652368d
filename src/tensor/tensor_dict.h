/* Named tensors in memory (a state_dict): what checkpoint readers produce
 * (PyTorch zip, safetensors), what weight loading consumes and what
 * checkpoint writers take. Insertion order is kept; names are unique. */
#ifndef CZ_TENSOR_TENSOR_DICT_H
#define CZ_TENSOR_TENSOR_DICT_H
#include <stddef.h>

#include "tensor/tensor.h"
#include "util/err.h"

typedef struct {
  char *name;
  cz_dtype dtype;
  cz_shape shape; /* logical, row-major */
  void *data;     /* owned, row-major, numel * dtype size bytes */
} cz_named_tensor;

typedef struct {
  int n, cap;
  cz_named_tensor *t;
  int *index; /* name hash table: slots entries, each an index into t or -1 */
  int slots;
} cz_tensor_dict;

cz_tensor_dict *cz_tdict_new(void);
void cz_tdict_free(cz_tensor_dict *d);
/* Copies `data` (NULL: zeros). Error on a duplicate name. */
cz_err *cz_tdict_add(cz_tensor_dict *d, const char *name, cz_dtype dt, cz_shape shape,
                     const void *data);
/* Takes ownership of `data` (malloc'd, numel * size bytes). */
cz_err *cz_tdict_add_owned(cz_tensor_dict *d, const char *name, cz_dtype dt, cz_shape shape,
                           void *data);
/* NULL when absent. */
const cz_named_tensor *cz_tdict_get(const cz_tensor_dict *d, const char *name);
/* Renames every entry starting with `prefix` to the rest of its name
 * (e.g. DataParallel's "module."); returns how many were renamed. */
int cz_tdict_strip_prefix(cz_tensor_dict *d, const char *prefix);
#endif
