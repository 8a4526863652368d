/* Add (ONNX): y = a + b with numpy broadcasting. The broadcasting engine is
 * shared (op_binary.c); MACC: one per output element. */
#include "ops/op_binary.h"
#include "ops/op_pointwise.h"

static cz_err *add_infer(cz_graph *g, cz_node *n) { return cz_binary_infer(g, n); }
static void add_forward(cz_kctx *k) { cz_binary_forward(k, CZ_BIN_ADD); }
static void add_backward(cz_kctx *k) { cz_binary_backward(k, CZ_BIN_ADD); }

const cz_op cz_op_Add = {
    .name = "Add", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = add_infer, .forward = add_forward, .backward = add_backward,
    .macc = cz_macc_per_out, .bwd_needs = 0 /* shapes only */,
    .work_bytes = cz_binary_work_bytes,
};
