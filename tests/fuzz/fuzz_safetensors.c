/* libFuzzer target for safetensors files through cz_safetensors_read_mem:
 * every input must load (every tensor readable in full) or fail with a
 * message. Input: the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = malloc(size ? size : 1); /* exact size: overreads are reported */
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  (void)cz_safetensors_sniff(copy, size);
  cz_tensor_dict *d = NULL;
  cz_err *e = cz_safetensors_read_mem(copy, size, "fuzz", &d);
  if (e) {
    const char *msg = cz_err_msg(e);
    if (!msg || !msg[0] || d) __builtin_trap();
    cz_err_free(e);
  } else {
    if (!d) __builtin_trap();
    unsigned sum = 0;
    for (int i = 0; i < d->n; i++) {
      size_t n = (size_t)cz_shape_numel(&d->t[i].shape) * cz_dtype_size(d->t[i].dtype);
      for (size_t k = 0; k < n; k++) sum += ((const uint8_t *)d->t[i].data)[k];
    }
    __asm__ volatile("" : : "r"(sum));
    cz_tdict_free(d);
  }
  free(copy);
  return 0;
}
