/* Layout arithmetic of the int8 lowering's data-movement ops (Transpose,
 * Split, Slice, Reshape, Flatten): where each element of an op's output
 * lies in its input's bytes, as a list of (size, stride) dims, turned
 * into a strided gather (rt_move_p) or recognised as no movement at all.
 * An int8 tensor of the plan stores one image after another; within an
 * image, its logical dims 1..rank-1 in a physical order: NHWC for 4-D
 * maps (what the convolution kernels read), row-major otherwise, or, for
 * the intermediate tensors of a reshape -> transpose -> reshape chain
 * (ShuffleNet's channel shuffle), whatever order leaves the bytes where
 * they are. Host code (plan time). */
#ifndef CZ_INT8_RT_LOWER_LAYOUT_H
#define CZ_INT8_RT_LOWER_LAYOUT_H
#include <stdbool.h>
#include <stdint.h>

#include "int8/rt_kernels.h"
#include "tensor/tensor.h"

/* Factors of an op's output: more than the rank when a reshape splits or
 * merges dims. */
#define RTL_MAX_F 16

typedef struct {
  cz_shape shape;           /* logical (d[0], the batch, is not part of an image) */
  int8_t ord[CZ_MAX_RANK];  /* physical order of the logical dims, outermost first; ord[0] = 0 */
} rtl_layout;

/* NHWC (0, 2, 3, 1) for rank 4, the identity otherwise. */
void rtl_default(const cz_shape *s, rtl_layout *l);
bool rtl_is_default(const rtl_layout *l);

/* Output element (logical index i over dims 1..rank-1) -> input element
 * base + sum over factors f of j_f * stride[f], where output dim k is the
 * row-major product of its factors (dim[f] == k, outermost first). */
typedef struct {
  int n;
  int64_t size[RTL_MAX_F], stride[RTL_MAX_F];
  int dim[RTL_MAX_F];
  int64_t base;
  cz_shape out; /* the output's logical shape */
} rtl_map;

/* y = Transpose(x, perm): perm[0] must be 0 (the batch stays first). */
bool rtl_map_transpose(const rtl_layout *x, const int *perm, rtl_map *m);
/* y = x[start : : step] per dim (Slice; Split with start on one axis):
 * out is y's shape; start/step for dim 0 must be 0/1. */
bool rtl_map_slice(const rtl_layout *x, const int64_t *start, const int64_t *step,
                   const cz_shape *out, rtl_map *m);
/* y = Reshape(x, out) (same batch, row-major element order): false when
 * the two shapes have no common refinement (e.g. [6,4] -> [4,6]). */
bool rtl_map_reshape(const rtl_layout *x, const cz_shape *out, rtl_map *m);

/* An order for a non-4-D output that keeps the bytes in place when one
 * exists (the output's layout then aliases the input's bytes); else the
 * default. */
void rtl_pick_order(const rtl_map *m, int64_t in_elems, rtl_layout *y);
/* True when output layout y reads exactly the input's bytes in order
 * (no movement: the output may alias the input). */
bool rtl_is_identity(const rtl_map *m, const rtl_layout *y, int64_t in_elems);
/* The gather writing output layout y from the input (quantization fields
 * left to the caller); false when it needs more than RT_MOVE_MAX_DIMS + 1
 * dims or its offsets overflow. */
bool rtl_gather(const rtl_map *m, const rtl_layout *y, int64_t in_elems, rt_move_p *p);
#endif
