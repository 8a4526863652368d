/* Post-training static quantization to ONNX QDQ form, with onnxruntime
 * 1.20.1's quantize_static meaning (quant_format QDQ): calibration of the
 * float graph's activations on caller-supplied images, then
 * QuantizeLinear/DequantizeLinear pairs on activations, int8/uint8 weights
 * behind DequantizeLinear, int32 biases (scale = input scale x weight
 * scale), named as onnxruntime names them. The float graph is not
 * modified. */
#ifndef CZ_QUANT_QUANT_H
#define CZ_QUANT_QUANT_H
#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"
#include "util/err.h"

typedef enum { CZ_QCAL_MINMAX, CZ_QCAL_ENTROPY, CZ_QCAL_PERCENTILE } cz_qcalib;

typedef struct {
  bool per_channel;        /* weights per output channel (Conv axis 0, Gemm by transB) */
  cz_dtype weight_type;    /* CZ_I8 or CZ_U8 */
  cz_dtype act_type;       /* CZ_I8 or CZ_U8 */
  cz_qcalib calib;
  int weight_symmetric;    /* WeightSymmetric: 1, 0, or -1 unset (signed type -> symmetric) */
  bool act_symmetric;      /* ActivationSymmetric */
  bool moving_average;     /* CalibMovingAverage (MinMax): mean of per-image min / max */
  double averaging_constant; /* CalibMovingAverageConstant, in [0, 1] */
  bool quantize_bias;      /* QuantizeBias */
  /* onnx_quant_parameters filters (NULL-terminated, NULL = none) */
  const char *const *op_types_to_quantize, *const *nodes_to_quantize, *const *nodes_to_exclude;
} cz_quant_opts;

/* onnxruntime's defaults as the tool we replace passes them: per channel,
 * int8 weights and activations, MinMax, WeightSymmetric true, biases
 * quantized. */
cz_quant_opts cz_quant_default_opts(void);

/* Where calibration images come from: start() begins a pass (the
 * Percentile method makes two), next() hands out up to `batch` NHWC float
 * images (n = 0 at the end of the pass). total: images per pass, for the
 * progress line. */
typedef struct {
  void *ctx;
  cz_err *(*start)(void *ctx);
  cz_err *(*next)(void *ctx, const float **x_nhwc, int64_t *n);
  int64_t total;
  int64_t batch; /* the most images next() hands out at once */
} cz_quant_data;

/* Quantizes the float graph g (eval mode; BatchNormalization after Conv is
 * folded first) into a new QDQ graph *out at batch 1. Options that
 * onnxruntime rejects are errors, as are ops czoo cannot quantize. */
cz_err *cz_quantize(const cz_graph *g, const cz_quant_opts *o, const cz_quant_data *d,
                    cz_graph **out);
#endif
