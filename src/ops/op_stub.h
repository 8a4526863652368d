/* Placeholder ops while an op family is being written: the op is in the
 * table, and using it is a clear "not implemented" error at shape time. */
#ifndef CZ_OPS_OP_STUB_H
#define CZ_OPS_OP_STUB_H
#include "ops/op.h"

cz_err *cz_op_stub_infer(cz_graph *g, cz_node *n);

#define CZ_OP_STUB(opname)                                                      \
  const cz_op cz_op_##opname = {.name = #opname, .min_in = 0, .max_in = CZ_MAX_IO, \
                                .min_out = 0, .max_out = CZ_MAX_IO,            \
                                .infer = cz_op_stub_infer};
#endif
