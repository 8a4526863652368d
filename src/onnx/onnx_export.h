/* ONNX export: writes a graph as an ONNX model for deployment tools
 * (onnxruntime, Netron, ST's toolchain) in inference form: input `input`
 * NCHW float32 [batch, C, H, W] with a symbolic batch dimension "batch",
 * output `output`, BatchNormalization folded into the preceding Conv,
 * Dropout and DropPath removed, initializers and nodes keeping the model's
 * parameter and node names. */
#ifndef CZ_ONNX_ONNX_EXPORT_H
#define CZ_ONNX_ONNX_EXPORT_H
#include "graph/graph.h"
#include "util/err.h"

#define CZ_ONNX_OPSET_DEFAULT 17
#define CZ_ONNX_OPSET_MIN 13
#define CZ_ONNX_OPSET_MAX 20

typedef struct {
  int opset; /* default-domain opset, 13 to 20; 0: CZ_ONNX_OPSET_DEFAULT */
} cz_onnx_export_opts;

/* The IR version that goes with an opset (ONNX's versioning table), or 0
 * outside 13..20. */
int cz_onnx_ir_version(int opset);

/* Writes g (not modified; o may be NULL for the defaults) to path
 * atomically. The graph must have one rank-4 float input and one output.
 * An op with no ONNX form at the chosen opset is an error naming the node. */
cz_err *cz_onnx_export(const cz_graph *g, const cz_onnx_export_opts *o, const char *path);
#endif
