/* Test-only tensor bundles ("CZT1"), the files through which the PyTorch
 * oracle scripts hand inputs, weights and expected results to C tests.
 * Layout (little-endian): "CZT1", u32 count, then per tensor: u16 name
 * length, name bytes, u8 kind (0 f32, 1 i64, 2 i32, 3 i8, 4 u8, 5 text),
 * u8 rank, i64 dims[rank], the elements in row-major (logical) order.
 * Writer: tests/oracle/czt.py. */
#ifndef CZ_TEST_TENSOR_FILE_H
#define CZ_TEST_TENSOR_FILE_H
#include <stdbool.h>
#include <stddef.h>

#include "tensor/tensor.h"
#include "tensor/tensor_dict.h"

typedef struct {
  char *name;
  bool is_text; /* data is a NUL-terminated string of `bytes` characters */
  cz_dtype dtype;
  cz_shape shape;
  void *data;
  size_t bytes;
} ct_tensor;

typedef struct {
  int n;
  ct_tensor *t;
} ct_bundle;

/* Reads a bundle; a missing or malformed file aborts the test with a
 * message naming it. */
ct_bundle *ct_bundle_read(const char *path);
/* NULL when absent. */
const ct_tensor *ct_bundle_get(const ct_bundle *b, const char *name);
/* Like ct_bundle_get, but aborts naming the tensor when absent. */
const ct_tensor *ct_bundle_need(const ct_bundle *b, const char *name);
void ct_bundle_free(ct_bundle *b);
/* The non-text tensors whose names start with `prefix` (e.g. "sd/"), as a
 * state_dict with the prefix removed. */
cz_tensor_dict *ct_bundle_to_dict(const ct_bundle *b, const char *prefix);
#endif
