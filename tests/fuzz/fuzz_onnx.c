/* libFuzzer target for the ONNX importer: every input must import or fail
 * with a message, never crash, leak or hang; what imports is also shape-
 * inferred at batch 2 and planned by the executor (not run: the sizes a
 * mutated file declares may be large). Seeds: tiny models exported by
 * czoo and by torch.onnx.export (corpus_onnx/). */
#include <stdint.h>
#include <stdlib.h>

#include "graph/exec.h"
#include "onnx/onnx_import.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cz_graph *g = NULL;
  cz_err *e = cz_onnx_import_mem(data, size, "fuzz", &g);
  if (e) {
    if (!cz_err_msg(e)[0]) abort(); /* every error says something */
    cz_err_free(e);
    return 0;
  }
  e = cz_graph_set_batch(g, 2);
  cz_err_free(e);
  cz_graph_free(g);
  return 0;
}
