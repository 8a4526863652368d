/* Placeholders: Conv, Gemm, MatMul (being written). */
#include "ops/op_stub.h"
CZ_OP_STUB(Conv)
CZ_OP_STUB(Gemm)
CZ_OP_STUB(MatMul)
