/* Weights files by content (weights_file.h). */
#include "io/weights_file.h"

#include <stdlib.h>

#include "io/file_bytes.h"
#include "io/safetensors.h"
#include "io/torch_file.h"
#include "io/zip_read.h"

cz_err *cz_weights_read(const char *path, cz_tensor_dict **out) {
  *out = NULL;
  uint8_t *buf;
  size_t n;
  cz_err *e = cz_read_file_bytes(path, &buf, &n);
  if (e) return e;
  if (cz_zip_sniff(buf, n) || cz_torch_is_legacy(buf, n)) {
    cz_pyval *root = NULL;
    e = cz_torch_load_mem(buf, n, path, &root);
    free(buf);
    if (!e) e = cz_torch_state_dict_take(root, path, out);
    return e;
  }
  if (cz_safetensors_sniff(buf, n)) {
    e = cz_safetensors_read_mem(buf, n, path, out);
  } else {
    e = cz_err_new(CZ_EXIT_RUNTIME,
                   "%s: not a weights file: expected a PyTorch checkpoint (torch.save zip format) or "
                   "a safetensors file", path);
  }
  free(buf);
  return e;
}
