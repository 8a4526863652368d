/* Lowering of a QDQ graph (DequantizeLinear -> op -> QuantizeLinear, as
 * onnxruntime's quantize_static and czoo's quantizer write them) to an
 * int8 plan (rt_plan.h). Every float op must sit between dequantized int8
 * inputs (activations, or constant weights) and a QuantizeLinear of its
 * output (Relu / Clip in between become the output clamp); anything else
 * is one error naming the node: no op ever falls back to float, since
 * that would misstate what the microcontroller computes. */
#ifndef CZ_INT8_RT_LOWER_H
#define CZ_INT8_RT_LOWER_H
#include "graph/graph.h"
#include "int8/rt_plan.h"
#include "util/err.h"

/* g: an imported QDQ graph (inference form, shapes inferred at any
 * batch); batch: the largest batch the plan will run. `what` names the
 * model in errors. */
cz_err *rt_lower(const cz_graph *g, int batch, const char *what, rt_plan **out);
#endif
