/* The int8 kernel library: one plain reference kernel per op, in portable
 * C99 with no allocation and no libc beyond string.h (scratch comes from
 * the caller), so the same file builds for the host and for Cortex-M.
 * Activations are int8 NHWC (uint8 tensors are shifted by -128 at plan
 * time, value and zero point alike, which represents the same reals), a
 * tensor's real value is scale * (q - zero_point), accumulation is int32
 * and every output is requantized with rt_requant (rt_requant.h),
 * offset by the output zero point and clamped to [act_min, act_max] (the
 * int8 range, narrowed by a fused Relu/Clip).
 *
 * Every kernel computes a range of output rows [r0, r1) of the flattened
 * N x OH (or N for 2-D tensors), so the host executor can split a call
 * between threads and the microcontroller calls it once with the whole
 * range. The fast host variants (rt_fast.h) compute exactly the same bits. */
#ifndef CZ_INT8_RT_KERNELS_H
#define CZ_INT8_RT_KERNELS_H
#include <stdint.h>

/* Output requantization of one output channel set: the real multiplier of
 * channel c is mult[c] * 2^(shift[c] - 31) (per_channel) or mult[0] ... */
typedef struct {
  const int32_t *mult;  /* per output channel, or one value */
  const int32_t *shift; /* idem */
  int per_channel;      /* 1: index by output channel; 0: use [0] */
  int32_t out_zp;
  int32_t act_min, act_max;
} rt_requant_p;

/* Convolution, NHWC in and out, weights OHWI ([oc][kh][kw][c / groups]),
 * groups dividing c and oc (depthwise: groups == c). Padding taps read the
 * input zero point (real 0). acc = bias[oc] + sum (x - in_zp)(w - w_zp[oc]). */
typedef struct {
  int n, h, w, c;       /* input */
  int oh, ow, oc;       /* output */
  int kh, kw, sh, sw, dh, dw, pad_t, pad_l;
  int groups;
  int32_t in_zp;
  const int8_t *weight;
  const int32_t *w_zp; /* per output channel; NULL: all 0 */
  const int32_t *bias; /* per output channel; NULL: none */
  rt_requant_p rq;
} rt_conv_p;
void rt_conv_ref(const rt_conv_p *p, const int8_t *x, int8_t *y, int r0, int r1);

/* Fully connected: y[n][o] from x[n][k] and weight [o][k] (Gemm with
 * transB = 1 / MatMul with a constant right side, transposed at plan
 * time). Rows are batch rows. */
typedef struct {
  int k, o;
  int32_t in_zp;
  const int8_t *weight;
  const int32_t *w_zp; /* per output; NULL: all 0 */
  const int32_t *bias; /* per output; NULL: none */
  rt_requant_p rq;
} rt_fc_p;
void rt_fc_ref(const rt_fc_p *p, const int8_t *x, int8_t *y, int r0, int r1);

/* Where the b operand of a binary op is read: element i of a's row r
 * pairs with b[(r / div) * row_stride + i % len]. Same shape: len =
 * row_len, div = 1, row_stride = row_len. SE gate [N,C,1,1] against
 * [N,C,H,W] (a's rows are N*H, row_len W*C): len = C, div = H,
 * row_stride = C. A constant per-channel operand: len = C, row_stride 0. */
typedef struct {
  int len, div, row_stride;
} rt_bcast;

/* Element-wise Add of two int8 tensors with their own scales. Each input
 * is lifted by 2^left_shift, brought to a common scale by its multiplier,
 * summed, then requantized to the output (TFLite's scheme). */
typedef struct {
  int row_len;
  rt_bcast b;
  int32_t a_zp, b_zp;
  int32_t a_mult, a_shift, b_mult, b_shift;
  int32_t left_shift;
  int32_t out_mult, out_shift, out_zp, act_min, act_max;
} rt_add_p;
void rt_add_ref(const rt_add_p *p, const int8_t *a, const int8_t *b, int8_t *y, int r0, int r1);

/* Element-wise Mul: (a - a_zp)(b - b_zp) requantized by mult/shift. */
typedef struct {
  int row_len;
  rt_bcast b;
  int32_t a_zp, b_zp;
  int32_t mult, shift, out_zp, act_min, act_max;
} rt_mul_p;
void rt_mul_ref(const rt_mul_p *p, const int8_t *a, const int8_t *b, int8_t *y, int r0, int r1);

/* y = table[x + 128]: any unary op (Relu, Clip, HardSwish, Sigmoid, ...)
 * between a dequantize and a quantize, tabulated at plan time. Rows are
 * units of row_len elements. */
void rt_lut_ref(const int8_t table[256], int row_len, const int8_t *x, int8_t *y, int r0,
                int r1);

/* Requantize a tensor to another scale / zero point (also a Concat input's
 * copy into its slice): y[r*y_stride + i] for i < len. */
typedef struct {
  int len;              /* elements per row */
  int x_stride, y_stride; /* row strides, elements */
  int32_t in_zp;
  int32_t mult, shift, out_zp, act_min, act_max;
  int identity;         /* same scale and zero point: a plain copy */
} rt_requant_copy_p;
void rt_requant_copy_ref(const rt_requant_copy_p *p, const int8_t *x, int8_t *y, int r0,
                         int r1);

/* Pooling, NHWC. Average: sum of (x - in_zp) over the window's counted
 * taps, requantized by mult/shift[count] (one per possible tap count, so
 * count_include_pad = 0 edges are exact). Max: the largest tap (padding
 * never wins), then requantized when the scales differ (max commutes with
 * a positive affine map). Global average is a window of the whole map. */
typedef struct {
  int n, h, w, c, oh, ow;
  int kh, kw, sh, sw, pad_t, pad_l;
  int count_include_pad;
  int32_t in_zp;
  const int32_t *mult;  /* [kh*kw + 1] by tap count (avg) or [1] (max) */
  const int32_t *shift;
  int32_t out_zp, act_min, act_max;
  int identity; /* max pool with equal input and output quantization */
} rt_pool_p;
void rt_avgpool_ref(const rt_pool_p *p, const int8_t *x, int8_t *y, int r0, int r1);
void rt_maxpool_ref(const rt_pool_p *p, const int8_t *x, int8_t *y, int r0, int r1);
/* Global average: rows are images; acc[c] scratch of c int32. */
void rt_gavgpool_ref(const rt_pool_p *p, const int8_t *x, int8_t *y, int32_t *acc, int r0,
                     int r1);

/* Data movement (Transpose, Split, Slice, Reshape that reorders a map),
 * as one strided gather: output row r of image i is written contiguously
 * from x[i * x_image + x_off + (r % rows) * row_stride + sum_k j_k *
 * x_stride[k]] over the row's dims j (outermost first, sizes `size`).
 * Requantized like rt_requant_copy_p (identity: a plain copy, the usual
 * case: onnxruntime and czoo give these ops their input's parameters). */
#define RT_MOVE_MAX_DIMS 6
typedef struct {
  int ndim;
  int size[RT_MOVE_MAX_DIMS];
  long x_stride[RT_MOVE_MAX_DIMS]; /* input elements per step (may be negative) */
  int rows;        /* output rows per image */
  long row_stride; /* input elements between an image's rows */
  long x_image;    /* input elements per image */
  long x_off;      /* input element of the image's first output */
  int row_len;     /* product of size: output elements per row */
  int32_t in_zp;
  int32_t mult, shift, out_zp, act_min, act_max;
  int identity;
} rt_move_p;
void rt_move_ref(const rt_move_p *p, const int8_t *x, int8_t *y, int r0, int r1);

/* Softmax along a contiguous row of len elements (the last physical axis:
 * channels of an NHWC map, classes of logits), table-based: with m the
 * row's largest input and d = m - x in [0, 255], e = exp_tab[d] =
 * round(2^q * exp(-in_scale * d)) (tabulated at plan time, exp_tab[0] =
 * 2^q), sum = sum of e over the row, and the output is out_zp +
 * round(e * (1 / out_scale) / sum) rounded half up, with 1 / out_scale =
 * mult * 2^(shift - 31): one 64-bit product and one 64-bit division per
 * element, exact integer arithmetic after the table, so within rounding of
 * the table entries (relative 2^-(q+1)) of the real softmax the QDQ file
 * means. The plan picks q so that len * 2^q * 2^(31 - shift) < 2^62. */
typedef struct {
  int len;
  int q;
  const int32_t *exp_tab; /* [256] */
  int32_t mult, shift, out_zp, act_min, act_max;
} rt_softmax_p;
void rt_softmax_ref(const rt_softmax_p *p, const int8_t *x, int8_t *y, int r0, int r1);
#endif
