/* libFuzzer target for PyTorch checkpoints: the zip reader and the
 * restricted unpickler through cz_torch_load_mem, then the state_dict pick
 * and the pickle writer on whatever loads. Every input must load or fail
 * with a message. Input: one control byte, then the data. Control byte
 * even: the data is a whole file. Odd: the data is a bare pickle whose
 * storages all resolve to made-up records of the right size, so that mutations reach the
 * unpickler without first having to fix the archive's CRCs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/pickle_read.h"
#include "io/pickle_write.h"
#include "io/torch_file.h"
#include "util/err.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bare pickles: every storage gets a record of the size its id asks for
 * (up to 64 KiB), filled with a pattern; freed after each input. */
static uint8_t *g_records[256];
static int g_nrecords;

static cz_err *any_storage(void *ctx, const char *key, uint64_t want, const uint8_t **bytes, size_t *size) {
  (void)ctx;
  if (want > 65536 || g_nrecords == 256)
    return cz_err_new(CZ_EXIT_RUNTIME, "fuzz: storage '%s' too large", key);
  uint8_t *r = malloc(want ? want : 1);
  if (!r) abort();
  for (uint64_t i = 0; i < want; i++) r[i] = (uint8_t)(i * 37);
  g_records[g_nrecords++] = r;
  *bytes = r;
  *size = want;
  return NULL;
}

/* Shared values make a tree a DAG: the walk stops after so many visits. */
static long g_visits;

static void touch(const cz_pyval *v) {
  if (++g_visits > 100000) return;
  /* Reading every tensor byte: a short buffer is an ASan report. */
  if (v->kind == CZ_PY_TENSOR) {
    size_t n = (size_t)cz_shape_numel(&v->tensor.shape) * cz_dtype_size(v->tensor.dtype);
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum += ((const uint8_t *)v->tensor.data)[i];
    __asm__ volatile("" : : "r"(sum));
  } else if (v->kind == CZ_PY_LIST || v->kind == CZ_PY_TUPLE) {
    for (int i = 0; i < v->seq.n; i++) touch(v->seq.items[i]);
  } else if (v->kind == CZ_PY_DICT) {
    for (int i = 0; i < v->dict.n && i < 64; i++) touch(v->dict.vals[i]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int bare = data[0] & 1;
  data++;
  size--;
  uint8_t *copy = malloc(size ? size : 1); /* exact size: overreads are reported */
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  cz_pyval *root = NULL;
  cz_err *e;
  if (bare) {
    cz_unpickle_opts o = {"fuzz", any_storage, NULL, 1u << 20};
    e = cz_unpickle(copy, size, &o, &root);
  } else {
    e = cz_torch_load_mem(copy, size, "fuzz", &root);
  }
  if (e) {
    const char *msg = cz_err_msg(e);
    if (!msg || !msg[0] || root) __builtin_trap();
    cz_err_free(e);
  } else {
    if (!root) __builtin_trap();
    g_visits = 0;
    touch(root);
    cz_tensor_dict *d = NULL;
    e = cz_torch_state_dict(root, "fuzz", &d);
    if (e) {
      if (d) __builtin_trap();
      cz_err_free(e);
    }
    cz_tdict_free(d);
    cz_strbuf sb;
    cz_sb_init(&sb);
    const cz_pyval **t = NULL;
    int nt = 0;
    e = cz_pickle_write(root, "fuzz", &sb, &t, &nt);
    if (e) __builtin_trap(); /* every loaded tree can be saved */
    free(t);
    cz_sb_free(&sb);
    cz_py_free(root);
  }
  for (int i = 0; i < g_nrecords; i++) free(g_records[i]);
  g_nrecords = 0;
  free(copy);
  return 0;
}
