/* onnxruntime's scale / zero-point rule and its default op set
 * (onnxruntime 1.20.1, quantization/quant_utils.py compute_scale_zp and
 * get_qmin_qmax_for_qType, registry.py QLinearOpsRegistry + QDQRegistry,
 * which quantize_static takes when op_types_to_quantize is empty). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "quant/quant_priv.h"

void q_qrange(cz_dtype t, bool symmetric, int32_t *qmin, int32_t *qmax) {
  if (t == CZ_U8) *qmin = 0, *qmax = symmetric ? 254 : 255;
  else *qmin = symmetric ? -127 : -128, *qmax = 127;
}

void q_scale_zp(float rmin, float rmax, int32_t qmin, int32_t qmax, bool symmetric, float *scale,
                int32_t *zp) {
  rmin = fminf(rmin, 0.0f);
  rmax = fmaxf(rmax, 0.0f);
  if (symmetric) {
    float a = fmaxf(fabsf(rmin), fabsf(rmax));
    rmin = -a, rmax = a;
  }
  double dr = (double)(rmax - rmin); /* float32 difference, as numpy does */
  double s = dr / ((double)qmax - (double)qmin);
  if (s < FLT_MIN) {
    *scale = 1.0f, *zp = 0;
    return;
  }
  double z = symmetric ? nearbyint((qmin + qmax) / 2.0) : nearbyint((double)qmin - rmin / s);
  *zp = (int32_t)z;
  *scale = (float)s;
}

static const char *const default_ops[] = {
    /* QLinearOpsRegistry (with CommonOpsRegistry) */
    "ArgMax", "Conv", "Gemm", "MatMul", "Add", "Mul", "Relu", "Clip", "LeakyRelu", "Sigmoid",
    "MaxPool", "GlobalAveragePool", "Split", "Pad", "Reshape", "Squeeze", "Unsqueeze", "Resize",
    "AveragePool", "Concat", "Softmax", "Where", "Gather", "Transpose", "EmbedLayerNormalization",
    /* QDQRegistry additions */
    "ConvTranspose", "Slice", "GatherElements", "InstanceNormalization", "LayerNormalization",
    "BatchNormalization", NULL};

bool q_op_selected(const cz_quant_opts *o, const char *op) {
  const char *const *l = o->op_types_to_quantize && o->op_types_to_quantize[0]
                             ? o->op_types_to_quantize
                             : default_ops;
  for (; *l; l++)
    if (strcmp(*l, op) == 0) return true;
  return false;
}
