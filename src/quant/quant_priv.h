/* Shared by the quantizer's files (not a public interface): calibrated
 * ranges, onnxruntime's scale / zero-point rule and the op sets. */
#ifndef CZ_QUANT_QUANT_PRIV_H
#define CZ_QUANT_QUANT_PRIV_H
#include "quant/quant.h"

typedef struct {
  bool set;
  float lo, hi;
} q_range;

/* Integer range of a type (symmetric: int8 [-127, 127], uint8 [0, 254]). */
void q_qrange(cz_dtype t, bool symmetric, int32_t *qmin, int32_t *qmax);
/* onnxruntime's compute_scale_zp (quant_utils.py), same arithmetic: the
 * range widened to hold 0, symmetrized if asked, the float32 difference
 * divided in double by (qmax - qmin), zero point rounded half to even;
 * scale 1 and zero point 0 when the range is below FLT_MIN. */
void q_scale_zp(float rmin, float rmax, int32_t qmin, int32_t qmax, bool symmetric, float *scale,
                int32_t *zp);

/* Is op type `op` quantized (onnx_quant_parameters.op_types_to_quantize, or
 * onnxruntime's default set: QLinearOps + QDQ registries)? */
bool q_op_selected(const cz_quant_opts *o, const char *op);

/* Calibration: ranges[v] for every value v marked in want[] (inputs and
 * outputs of selected ops), by o->calib, over the images of d. g is run at
 * batch d->batch (its batch is changed). */
cz_err *q_calibrate(cz_graph *g, const cz_quant_opts *o, const cz_quant_data *d,
                    const bool *want, q_range *ranges);

/* The QDQ rewrite of g (float, inference form) given the ranges. */
cz_err *q_rewrite(cz_graph *g, const cz_quant_opts *o, const q_range *ranges);
#endif
