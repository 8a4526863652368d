/* The numpy-broadcasting engine behind Add, Sub, Mul and Div: shape rule,
 * forward and backward over operands of any layout. Each op's file holds
 * its own cz_op; the arithmetic differs only in the per-element formula. */
#ifndef CZ_OPS_OP_BINARY_H
#define CZ_OPS_OP_BINARY_H
#include "ops/op.h"

typedef enum { CZ_BIN_ADD, CZ_BIN_SUB, CZ_BIN_MUL, CZ_BIN_DIV } cz_binop;

/* Both inputs float32; output = the broadcast shape (error names both). */
cz_err *cz_binary_infer(cz_graph *g, cz_node *n);
void cz_binary_forward(cz_kctx *k, cz_binop op);
/* Gradients of both inputs; broadcast axes are summed in a fixed order
 * (per-chunk partials in k->work, chunk count from shapes only), so the
 * result does not depend on the thread count. */
void cz_binary_backward(cz_kctx *k, cz_binop op);
size_t cz_binary_work_bytes(const cz_graph *g, const cz_node *n, bool backward);
#endif
