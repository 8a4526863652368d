/* TEMPORARY stand-in for the ONNX importer (src/onnx/onnx_import.h) until
 * the importer's branch merges; the merge deletes this file. */
#include "onnx/onnx_import.h"

cz_err *cz_onnx_import(const char *path, cz_graph **out) {
  *out = NULL;
  return cz_err_new(CZ_EXIT_NOTIMPL, "%s: ONNX import is not built yet", path);
}

cz_err *cz_onnx_import_mem(const uint8_t *buf, size_t size, const char *what, cz_graph **out) {
  (void)buf, (void)size;
  *out = NULL;
  return cz_err_new(CZ_EXIT_NOTIMPL, "%s: ONNX import is not built yet", what);
}
