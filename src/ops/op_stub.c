/* The shared shape rule of placeholder ops (see op_stub.h). */
#include "ops/op_stub.h"

cz_err *cz_op_stub_infer(cz_graph *g, cz_node *n) {
  return cz_node_err(g, n, "op %s is not implemented yet", n->op->name);
}
