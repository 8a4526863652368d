/* Slice's parsed view, for passes that lower it (the int8 engine). */
#ifndef CZ_OPS_OP_SLICE_H
#define CZ_OPS_OP_SLICE_H
#include <stdint.h>

#include "graph/graph.h"

/* The first selected index and the step of every axis of a Slice node
 * whose shapes are inferred (axes it does not slice: 0 and 1). */
void cz_slice_view(const cz_node *n, int64_t start[CZ_MAX_RANK], int64_t step[CZ_MAX_RANK]);
#endif
