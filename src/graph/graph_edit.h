/* Whole-graph edits that passes build on: a deep copy, and pruning of the
 * nodes and values the graph outputs no longer need (ids are renumbered). */
#ifndef CZ_GRAPH_GRAPH_EDIT_H
#define CZ_GRAPH_GRAPH_EDIT_H
#include "graph/graph.h"

/* A deep copy (data, attributes, quantization parameters); parsed op state
 * is rebuilt by the next cz_graph_infer. */
cz_graph *cz_graph_clone(const cz_graph *g);
/* Redirects every use of value `from` (node inputs, graph outputs) to `to`. */
void cz_graph_replace_uses(cz_graph *g, int from, int to);
/* Drops nodes whose outputs nothing needed reads (graph outputs are
 * needed) and values no remaining node, input or output refers to. Graph
 * inputs stay. Value and node ids change. */
void cz_graph_prune(cz_graph *g);
#endif
