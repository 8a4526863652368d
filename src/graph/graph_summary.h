/* A printable table of a graph: one row per node with its output shape,
 * parameter count and MACC, then the totals (what `czoo models NAME` and
 * the benchmark report print). */
#ifndef CZ_GRAPH_GRAPH_SUMMARY_H
#define CZ_GRAPH_GRAPH_SUMMARY_H
#include "graph/graph.h"

/* Malloc'd text; shapes are the graph's current ones (set the batch to 1
 * first for per-image MACC). */
char *cz_graph_summary(const cz_graph *g);
#endif
