/* Div (ONNX): y = a / b with numpy broadcasting; division by zero gives IEEE
 * inf/NaN, as in PyTorch. The broadcasting engine is shared (op_binary.c);
 * MACC: one per output element. */
#include "ops/op_binary.h"
#include "ops/op_pointwise.h"

static cz_err *div_infer(cz_graph *g, cz_node *n) { return cz_binary_infer(g, n); }
static void div_forward(cz_kctx *k) { cz_binary_forward(k, CZ_BIN_DIV); }
static void div_backward(cz_kctx *k) { cz_binary_backward(k, CZ_BIN_DIV); }

const cz_op cz_op_Div = {
    .name = "Div", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = div_infer, .forward = div_forward, .backward = div_backward,
    .macc = cz_macc_per_out, .bwd_needs = CZ_NEED_IN(0) | CZ_NEED_IN(1),
    .work_bytes = cz_binary_work_bytes,
};
