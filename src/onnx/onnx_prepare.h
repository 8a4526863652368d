/* The inference form of a graph that ONNX export writes: an eval-mode
 * copy with Dropout and DropPath removed (identities in inference) and
 * BatchNormalization folded into the preceding Conv, the folded weights
 * renamed back to the Conv's own parameter names. */
#ifndef CZ_ONNX_ONNX_PREPARE_H
#define CZ_ONNX_ONNX_PREPARE_H
#include "graph/graph.h"
#include "util/err.h"

/* A new graph (the caller frees it) in *out; g is not modified. */
cz_err *cz_onnx_prepare(const cz_graph *g, cz_graph **out);
#endif
