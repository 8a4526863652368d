/* The model a service runs: model.model_path (.onnx through the importer;
 * .pt/.pth/.pth.tar/.safetensors weights into the zoo's model_name) or a
 * zoo model alone, in eval mode, plus the name its outputs carry. */
#ifndef CZ_SERVICES_MODEL_OPEN_H
#define CZ_SERVICES_MODEL_OPEN_H
#include <stdbool.h>

#include "config/cfg.h"
#include "graph/graph.h"
#include "util/err.h"

typedef struct {
  cz_graph *g;    /* eval mode, BatchNorm folded, batch 1 */
  char *stem;     /* file name without folder and extension, or model_name */
  bool quantized; /* a QDQ file, or the chain says so: runs on the int8 engine */
  int c, h, w;    /* input [C, H, W] */
  int num_classes; /* logits per image */
} cz_model;

/* Opens `path` (NULL: cfg's model.model_name with pretrained weights, if
 * any) for a dataset of num_classes classes (<= 0: unknown, the zoo's 1000
 * unless dataset.num_classes says). Errors: unknown extension, PyTorch
 * weights without model.model_name, a model whose output is not
 * [batch, classes] or whose class count differs from num_classes. */
cz_err *cz_model_open(const cz_config *cfg, const char *path, bool quantized, int num_classes,
                      cz_model *out);
/* The same without the kernel fusions (FusedConv): plain ONNX ops, what
 * the quantizer rewrites. */
cz_err *cz_model_open_plain(const cz_config *cfg, const char *path, int num_classes,
                            cz_model *out);
void cz_model_close(cz_model *m);

/* A quantized (QDQ) model: one int8 or uint8 constant, the test the tool
 * we replace applies (its has_QDQ_nodes sees the DequantizeLinear of one). */
bool cz_model_is_qdq(const cz_graph *g);

/* "float" or "quantized". */
const char *cz_model_kind(const cz_model *m);
#endif
