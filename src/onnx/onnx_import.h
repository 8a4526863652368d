/* ONNX import: a float ONNX model file (what torch.onnx.export writes for
 * the zoo's architectures, opsets 11-20; ST's float models; czoo's own
 * exports) into the graph IR, with NCHW input converted to the engine's
 * NHWC layout once. An op or attribute czoo does not support is one error
 * naming it and the node: never a wrong answer. */
#ifndef CZ_ONNX_ONNX_IMPORT_H
#define CZ_ONNX_ONNX_IMPORT_H
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "util/err.h"

/* Reads and imports `path`. The graph has one float input (batch dim
 * settable with cz_graph_set_batch) and the model's outputs, in eval mode,
 * shape-inferred. */
cz_err *cz_onnx_import(const char *path, cz_graph **out);
/* The same from memory (fuzzing); `what` names the source in messages. */
cz_err *cz_onnx_import_mem(const uint8_t *buf, size_t size, const char *what, cz_graph **out);
#endif
