/* Initial weights by the reference's own law, for the families whose
 * reference does not use the zoo's common one (zoo_build.c: He normal
 * fan_out convolutions, normal(0, 0.01) linears): ST's models and
 * pytorchcv's. Runs after the common initialization; other families are
 * left as they are. */
#ifndef CZ_ZOO_ZOO_INIT_H
#define CZ_ZOO_ZOO_INIT_H
#include <stdint.h>

#include "graph/graph.h"
#include "zoo/zoo.h"

void cz_zoo_reference_init(cz_graph *g, const cz_zoo_entry *e, uint64_t seed);
#endif
