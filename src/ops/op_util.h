/* Small helpers shared by op shape rules and kernels. */
#ifndef CZ_OPS_OP_UTIL_H
#define CZ_OPS_OP_UTIL_H
#include "ops/op.h"

/* Element count below which elementwise loops stay single-threaded. */
#define CZ_PAR_MIN 32768

/* Output 0 gets input 0's shape; input 0 must be float32. */
cz_err *cz_op_same_shape_float(cz_graph *g, cz_node *n);
/* Input i must be float32 (error names the node and the value). */
cz_err *cz_op_want_float(const cz_graph *g, const cz_node *n, int i);
/* Input i must have the given rank. */
cz_err *cz_op_want_rank(const cz_graph *g, const cz_node *n, int i, int rank);
#endif
