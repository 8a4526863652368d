/* The quantizer's entry (quant.h): options, the float graph's inference
 * form, which tensors calibration watches, then the QDQ rewrite. */
#include "quant/quant.h"

#include <stdlib.h>

#include "graph/graph_edit.h"
#include "graph/pass_fold_bn.h"
#include "ops/op.h"
#include "quant/quant_priv.h"
#include "util/mem.h"

cz_quant_opts cz_quant_default_opts(void) {
  return (cz_quant_opts){.per_channel = true, .weight_type = CZ_I8, .act_type = CZ_I8,
                         .calib = CZ_QCAL_MINMAX, .weight_symmetric = 1,
                         .averaging_constant = 0.01, .quantize_bias = true};
}

/* select_tensors_to_calibrate: float inputs and outputs of selected op
 * types that are not initializers. */
static bool *calib_targets(const cz_graph *g, const cz_quant_opts *o) {
  bool *want = cz_xcalloc((size_t)g->n_values + 1, 1);
  for (int i = 0; i < g->n_nodes; i++) {
    const cz_node *n = &g->nodes[i];
    if (!q_op_selected(o, n->op->name)) continue;
    for (int k = 0; k < n->n_in + n->n_out; k++) {
      int v = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
      if (v < 0) continue;
      const cz_value *x = &g->values[v];
      if (x->dtype == CZ_F32 && (x->kind == CZ_V_ACT || x->kind == CZ_V_INPUT)) want[v] = true;
    }
  }
  return want;
}

cz_err *cz_quantize(const cz_graph *src, const cz_quant_opts *o, const cz_quant_data *d,
                    cz_graph **out) {
  *out = NULL;
  if ((o->weight_type != CZ_I8 && o->weight_type != CZ_U8) ||
      (o->act_type != CZ_I8 && o->act_type != CZ_U8))
    return cz_err_new(CZ_EXIT_USAGE, "quantization: weight and activation types must be int8 or "
                      "uint8");
  if (o->averaging_constant < 0 || o->averaging_constant > 1)
    return cz_err_new(CZ_EXIT_USAGE, "quantization: CalibMovingAverageConstant = %g: expected a "
                      "value in [0, 1]", o->averaging_constant);
  if (cz_graph_has_qdq(src) || cz_graph_is_quantized(src))
    return cz_err_new(CZ_EXIT_USAGE, "quantization: the model is already quantized");
  if (src->n_inputs != 1 || src->n_outputs < 1)
    return cz_err_new(CZ_EXIT_USAGE, "quantization: expected one input and an output");
  cz_graph *g = cz_graph_clone(src);
  cz_graph_set_training(g, false);
  cz_err *err = cz_graph_infer(g);
  if (!err) err = cz_pass_fold_bn(g, NULL);
  bool *want = NULL;
  q_range *rng = NULL;
  if (!err) {
    want = calib_targets(g, o);
    rng = cz_xcalloc((size_t)g->n_values + 1, sizeof *rng);
    err = q_calibrate(g, o, d, want, rng);
  }
  if (!err) err = cz_graph_set_batch(g, 1);
  if (!err) err = q_rewrite(g, o, rng);
  free(want), free(rng);
  if (err) {
    cz_graph_free(g);
    return err;
  }
  *out = g;
  return NULL;
}
