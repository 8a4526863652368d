/* Inference rewrite: a Conv whose only reader is a Clip with constant
 * bounds (ReLU6 is Clip(0, 6)) becomes one FusedConv node (op_conv.c) that
 * clamps each output block while it is still in cache, instead of a
 * second pass over the whole activation. Same results bit for bit (the
 * same sums, then Clip's formula). For inference only, after
 * cz_pass_fold_bn (a BatchNormalization between the two blocks it); the
 * result has no ONNX form and no backward, so never export or train it. */
#ifndef CZ_GRAPH_PASS_FUSE_ACT_H
#define CZ_GRAPH_PASS_FUSE_ACT_H
#include "graph/graph.h"
#include "util/err.h"

/* Fuses every eligible Conv -> Clip pair in place, prunes the graph and
 * re-infers shapes; *fused gets the number fused (may be NULL). */
cz_err *cz_pass_fuse_act(cz_graph *g, int *fused);
#endif
