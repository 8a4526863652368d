/* Mul (ONNX): y = a * b with numpy broadcasting. The broadcasting engine is
 * shared (op_binary.c); MACC: one per output element. */
#include "ops/op_binary.h"
#include "ops/op_pointwise.h"

static cz_err *mul_infer(cz_graph *g, cz_node *n) { return cz_binary_infer(g, n); }
static void mul_forward(cz_kctx *k) { cz_binary_forward(k, CZ_BIN_MUL); }
static void mul_backward(cz_kctx *k) { cz_binary_backward(k, CZ_BIN_MUL); }

const cz_op cz_op_Mul = {
    .name = "Mul", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = mul_infer, .forward = mul_forward, .backward = mul_backward,
    .macc = cz_macc_per_out, .bwd_needs = CZ_NEED_IN(0) | CZ_NEED_IN(1),
    .work_bytes = cz_binary_work_bytes,
};
