/* The op table: every op the graph IR knows, by ONNX name. Adding an op is
 * one src/ops/op_<name>.c file and one row here. */
#include <string.h>

#include "ops/op.h"

#define CZ_OPS(X)                                                                          \
  X(Conv) X(FusedConv) X(BatchNormalization) X(Gemm) X(MatMul)                                          \
  X(Relu) X(Clip) X(HardSwish) X(HardSigmoid) X(Sigmoid) X(Silu) X(Tanh) X(Gelu)            \
  X(LeakyRelu)                                                                             \
  X(MaxPool) X(AveragePool) X(GlobalAveragePool)                                           \
  X(Add) X(Sub) X(Mul) X(Div)                                                              \
  X(Concat) X(Split) X(Slice) X(Reshape) X(Flatten) X(Transpose) X(Pad) X(Identity)        \
  X(QuantizeLinear) X(DequantizeLinear)                                                 \
  X(Dropout) X(DropPath)                                                                   \
  X(Softmax) X(LayerNormalization)                                                         \
  X(SoftmaxCrossEntropyLoss) X(SoftTargetCrossEntropy) X(BCEWithLogits)            \
  X(JsdCrossEntropy)

#define CZ_DECLARE(name) extern const cz_op cz_op_##name;
CZ_OPS(CZ_DECLARE)

#define CZ_ROW(name) &cz_op_##name,
static const cz_op *const table[] = {CZ_OPS(CZ_ROW) NULL};

const cz_op *cz_op_find(const char *name) {
  for (const cz_op *const *p = table; *p; p++)
    if (strcmp((*p)->name, name) == 0) return *p;
  return NULL;
}

const cz_op *const *cz_op_all(void) { return table; }
