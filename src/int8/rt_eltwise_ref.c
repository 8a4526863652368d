/* Reference int8 element-wise kernels: Add and Mul of two quantized
 * tensors, table lookup for unary ops, requantizing copies (Concat,
 * scale changes). Portable C99, no allocation, no libc. */
#include "int8/rt_kernels.h"
#include "int8/rt_requant.h"

static inline int8_t clamp8(int64_t v, int32_t lo, int32_t hi) {
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return (int8_t)v;
}

static inline const int8_t *b_row(const rt_bcast *bc, const int8_t *b, int r) {
  return b + (long)(r / bc->div) * bc->row_stride;
}

void rt_add_ref(const rt_add_p *p, const int8_t *a, const int8_t *b, int8_t *y, int r0, int r1) {
  const int32_t lift = (int32_t)1 << p->left_shift;
  for (int r = r0; r < r1; r++) {
    const int8_t *ar = a + (long)r * p->row_len, *br = b_row(&p->b, b, r);
    int8_t *yr = y + (long)r * p->row_len;
    for (int i = 0, j = 0; i < p->row_len; i++) {
      const int32_t va = ((int32_t)ar[i] - p->a_zp) * lift;
      const int32_t vb = ((int32_t)br[j] - p->b_zp) * lift;
      const int32_t sa = rt_requant(va, p->a_mult, p->a_shift);
      const int32_t sb = rt_requant(vb, p->b_mult, p->b_shift);
      yr[i] = clamp8((int64_t)rt_requant(sa + sb, p->out_mult, p->out_shift) + p->out_zp,
                     p->act_min, p->act_max);
      if (++j == p->b.len) j = 0;
    }
  }
}

void rt_mul_ref(const rt_mul_p *p, const int8_t *a, const int8_t *b, int8_t *y, int r0, int r1) {
  for (int r = r0; r < r1; r++) {
    const int8_t *ar = a + (long)r * p->row_len, *br = b_row(&p->b, b, r);
    int8_t *yr = y + (long)r * p->row_len;
    for (int i = 0, j = 0; i < p->row_len; i++) {
      const int32_t prod = ((int32_t)ar[i] - p->a_zp) * ((int32_t)br[j] - p->b_zp);
      yr[i] = rt_requant_out(prod, p->mult, p->shift, p->out_zp, p->act_min, p->act_max);
      if (++j == p->b.len) j = 0;
    }
  }
}

void rt_lut_ref(const int8_t table[256], int row_len, const int8_t *x, int8_t *y, int r0,
                int r1) {
  for (long i = (long)r0 * row_len; i < (long)r1 * row_len; i++) y[i] = table[x[i] + 128];
}

void rt_requant_copy_ref(const rt_requant_copy_p *p, const int8_t *x, int8_t *y, int r0,
                         int r1) {
  for (int r = r0; r < r1; r++) {
    const int8_t *xr = x + (long)r * p->x_stride;
    int8_t *yr = y + (long)r * p->y_stride;
    if (p->identity) {
      for (int i = 0; i < p->len; i++) yr[i] = xr[i];
      continue;
    }
    for (int i = 0; i < p->len; i++)
      yr[i] = rt_requant_out((int32_t)xr[i] - p->in_zp, p->mult, p->shift, p->out_zp,
                             p->act_min, p->act_max);
  }
}
