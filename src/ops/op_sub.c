/* Sub (ONNX): y = a - b with numpy broadcasting. The broadcasting engine is
 * shared (op_binary.c); MACC: one per output element. */
#include "ops/op_binary.h"
#include "ops/op_pointwise.h"

static cz_err *sub_infer(cz_graph *g, cz_node *n) { return cz_binary_infer(g, n); }
static void sub_forward(cz_kctx *k) { cz_binary_forward(k, CZ_BIN_SUB); }
static void sub_backward(cz_kctx *k) { cz_binary_backward(k, CZ_BIN_SUB); }

const cz_op cz_op_Sub = {
    .name = "Sub", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = sub_infer, .forward = sub_forward, .backward = sub_backward,
    .macc = cz_macc_per_out, .bwd_needs = 0 /* shapes only */,
    .work_bytes = cz_binary_work_bytes,
};
