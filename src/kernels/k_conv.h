/* Fast 2-D convolution kernels on NHWC activations: depthwise (direct,
 * vectorized over channels), pointwise (one GEMM, no im2col) and general:
 * direct implicit GEMM for small kernels (k_conv_direct.h), im2col in
 * cache-sized tiles of output pixels + GEMM otherwise; forward and
 * backward. Weights are OIHW row-major ([M, C/group, kH, kW]).
 * Deterministic: results depend only on the shapes and the instruction
 * set, never on the thread count (reductions use a fixed number of
 * partial sums added in a fixed order). */
#ifndef CZ_KERNELS_K_CONV_H
#define CZ_KERNELS_K_CONV_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  int64_t N, C, H, W;  /* input */
  int64_t M, Ho, Wo;   /* output channels and size */
  int64_t kh, kw;      /* kernel */
  int64_t sh, sw;      /* strides */
  int64_t dh, dw;      /* dilations */
  int64_t pt, pl;      /* leading pads (trailing pads only shape Ho, Wo) */
  int64_t group;
  /* Fused activation (forward only): y = min(max(conv + b, lo), hi), each
   * output block clamped while it is in cache (Conv + Clip/Relu in one). */
  bool clamp;
  float lo, hi;
} cz_k_conv;

typedef enum { CZ_K_CONV_DEPTHWISE, CZ_K_CONV_POINTWISE, CZ_K_CONV_IM2COL } cz_k_conv_path;
cz_k_conv_path cz_k_conv_path_of(const cz_k_conv *p);

/* Scratch bytes of one forward or backward call. */
size_t cz_k_conv_work_bytes(const cz_k_conv *p, bool backward);

/* y = conv(x, w) + b (b may be NULL). */
void cz_k_conv_forward(const cz_k_conv *p, const float *x, const float *w, const float *b,
                       float *y, void *work);

/* Inference with constant weights: the weights packed once for the
 * kernel path (bytes, 64-byte aligned buffer), and the forward reading
 * them (packed NULL, or made for another instruction set: packs w per
 * call as cz_k_conv_forward does). Same sums, bit-identical results. */
size_t cz_k_conv_packed_bytes(const cz_k_conv *p);
void cz_k_conv_pack(const cz_k_conv *p, const float *w, void *packed);
void cz_k_conv_forward_packed(const cz_k_conv *p, const float *x, const float *w, const float *b,
                              float *y, void *work, const void *packed);

/* Gradients wanted (NULL: not wanted); each overwritten, or added to when
 * its acc flag is set. dw is OIHW row-major like w. */
typedef struct {
  float *dx;
  bool dx_acc;
  float *dw;
  bool dw_acc;
  float *db;
  bool db_acc;
} cz_k_conv_grads;

void cz_k_conv_backward(const cz_k_conv *p, const float *x, const float *w, const float *dy,
                        const cz_k_conv_grads *gr, void *work);
#endif
