/* Inference rewrite: a BatchNormalization that only rescales a Conv's
 * output is folded into that Conv's weights and bias (eval-mode semantics:
 * running statistics). Used before inference, ONNX export and
 * quantization; never on a graph that is still being trained. */
#ifndef CZ_GRAPH_PASS_FOLD_BN_H
#define CZ_GRAPH_PASS_FOLD_BN_H
#include "graph/graph.h"
#include "util/err.h"

/* Folds every eligible Conv -> BatchNormalization pair in place, prunes the
 * graph and re-infers shapes; *folded gets the number folded (may be NULL). */
cz_err *cz_pass_fold_bn(cz_graph *g, int *folded);
#endif
