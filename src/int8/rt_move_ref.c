/* Reference int8 data-movement and Softmax kernels (rt_kernels.h):
 * rt_move_ref, the strided gather behind Transpose, Split, Slice and
 * reshapes that reorder a map, and rt_softmax_ref, the table-based
 * Softmax. Portable C99, no allocation, no libc. */
#include "int8/rt_kernels.h"
#include "int8/rt_requant.h"

void rt_move_ref(const rt_move_p *p, const int8_t *x, int8_t *y, int r0, int r1) {
  const int nd = p->ndim;
  for (int r = r0; r < r1; r++) {
    const long img = r / p->rows, row = r % p->rows;
    const int8_t *xr = x + img * p->x_image + p->x_off + row * p->row_stride;
    int8_t *yr = y + (long)r * p->row_len;
    int j[RT_MOVE_MAX_DIMS] = {0};
    long off = 0; /* input offset of index j */
    const int inner = p->size[nd - 1];
    const long is = p->x_stride[nd - 1];
    for (long done = 0; done < p->row_len; done += inner) {
      const int8_t *src = xr + off;
      if (p->identity) {
        for (int i = 0; i < inner; i++) yr[done + i] = src[i * is];
      } else {
        for (int i = 0; i < inner; i++)
          yr[done + i] = rt_requant_out((int32_t)src[i * is] - p->in_zp, p->mult, p->shift,
                                        p->out_zp, p->act_min, p->act_max);
      }
      /* next index of the outer dims, odometer style */
      for (int k = nd - 2; k >= 0; k--) {
        off += p->x_stride[k];
        if (++j[k] < p->size[k]) break;
        off -= (long)p->size[k] * p->x_stride[k];
        j[k] = 0;
      }
    }
  }
}

void rt_softmax_ref(const rt_softmax_p *p, const int8_t *x, int8_t *y, int r0, int r1) {
  const int total = 31 - (int)p->shift; /* 1..62: checked by the plan */
  for (int r = r0; r < r1; r++) {
    const int8_t *xr = x + (long)r * p->len;
    int8_t *yr = y + (long)r * p->len;
    int m = -128;
    for (int i = 0; i < p->len; i++) m = xr[i] > m ? xr[i] : m;
    int64_t sum = 0;
    for (int i = 0; i < p->len; i++) sum += p->exp_tab[m - xr[i]];
    const int64_t den = sum << total; /* sum * 2^(31 - shift) */
    for (int i = 0; i < p->len; i++) {
      const int64_t num = (int64_t)p->exp_tab[m - xr[i]] * p->mult;
      const int64_t v = (num + (den >> 1)) / den + p->out_zp; /* both >= 0: floor */
      yr[i] = (int8_t)(v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v);
    }
  }
}
