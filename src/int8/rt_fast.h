/* Fast host variants of the int8 kernels (AVX2, chosen at run time through
 * kernels/k_simd.h), bit-exact with the reference kernels of rt_kernels.h:
 * integer sums are exact in any order, and the requantization is the same
 * function. Weights are repacked once at plan time (host code: it
 * allocates; the kernels themselves take caller scratch). */
#ifndef CZ_INT8_RT_FAST_H
#define CZ_INT8_RT_FAST_H
#include <stddef.h>
#include <stdint.h>

#include "int8/rt_kernels.h"

typedef enum { RT_CONV_REF = 0, RT_CONV_GEMM, RT_CONV_DW } rt_conv_kind;

/* A convolution (or fully connected layer, as a 1x1 convolution over a 1x1
 * map) with its weights packed for the fast path. Owns wpack and bias_eff;
 * p's pointers stay the caller's. */
typedef struct {
  rt_conv_p p;
  rt_conv_kind kind;
  int k, kpad;       /* GEMM: reduction length kh*kw*c and its even round-up */
  int im2col;        /* GEMM over gathered rows (not a plain 1x1) */
  int16_t *wpack;    /* GEMM: [ceil(oc/16)][kpad/2][16][2]; DW: [kh*kw][c] (w - w_zp) */
  int32_t *bias_eff; /* bias - in_zp * sum(w - w_zp), per output channel */
  int32_t *mult_c, *right_c; /* per output channel multiplier and right shift */
  int vec_rq;        /* every shift <= 0: the vector requantization applies */
  /* Vector requantization constants (vec_rq), per block of 8 channels:
   * [4 rounding offsets of the even channels][4 of the odd ones][4 shift
   * counts even][4 odd] (rt_avx2.h's rt_avx2_requant_k), and per channel
   * the low 32 bits of the offset taken back after the shift, minus the
   * output zero point (so the result includes it). */
  int64_t *rq64;
  int32_t *rq_sub;
  int16_t *wdw; /* DW: [ceil(c/16)][ceil(taps/2)][32] (w - w_zp), tap pairs interleaved */
  int8_t *zrow; /* DW: c + 32 bytes of the input zero point, what padding taps read */
  int8_t *wpack8; /* GEMM over a 1x1 map (fully connected): wpack's values as int8 (they
                   * fit: symmetric weights), for single rows, which stream the weights
                   * once per row (half the bytes); NULL otherwise */
} rt_conv_fast;

/* Packs p's weights; the kind is chosen from the shape (GEMM for groups 1,
 * DW for depthwise with one output per channel, REF otherwise). */
void rt_conv_fast_init(rt_conv_fast *f, const rt_conv_p *p);
void rt_conv_fast_free(rt_conv_fast *f);
/* Scratch bytes one call (one thread) needs. */
size_t rt_conv_fast_scratch(const rt_conv_fast *f);
/* Output rows [r0, r1) as rt_conv_ref; scratch: rt_conv_fast_scratch bytes,
 * 32-byte aligned. Runs the reference when the CPU lacks AVX2. */
void rt_conv_fast_run(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0, int r1,
                      void *scratch);

/* Output channels are computed in this many blocks (1 where the path
 * cannot split them), and rt_conv_fast_run_cols computes blocks [j0, j1)
 * of rows [r0, r1) (all channels when j0 == 0 on such a path, nothing
 * otherwise): a fully connected layer of a single image split between
 * threads. */
int rt_conv_fast_col_blocks(const rt_conv_fast *f);
void rt_conv_fast_run_cols(const rt_conv_fast *f, const int8_t *x, int8_t *y, int r0, int r1,
                           int j0, int j1, void *scratch);

/* The fully connected layer as a 1x1 convolution (rows = batch rows). */
void rt_fc_as_conv(const rt_fc_p *fc, int rows, rt_conv_p *out);

/* Global average pooling, fast variant (bit-exact with rt_gavgpool_ref;
 * acc: c int32 of scratch). */
void rt_gavgpool_fast(const rt_pool_p *p, const int8_t *x, int8_t *y, int32_t *acc, int r0,
                      int r1);

/* Element-wise Add, fast variant (bit-exact with rt_add_ref). */
void rt_add_fast(const rt_add_p *p, const int8_t *a, const int8_t *b, int8_t *y, int r0, int r1);
#endif
