/* Reference int8 convolution and fully connected layer: the definition the
 * fast variants are tested against, and the code the microcontroller runs.
 * Portable C99, no allocation, no libc. */
#include "int8/rt_kernels.h"
#include "int8/rt_requant.h"

static inline int32_t rq_mult(const rt_requant_p *q, int c) {
  return q->per_channel ? q->mult[c] : q->mult[0];
}
static inline int32_t rq_shift(const rt_requant_p *q, int c) {
  return q->per_channel ? q->shift[c] : q->shift[0];
}

void rt_conv_ref(const rt_conv_p *p, const int8_t *x, int8_t *y, int r0, int r1) {
  const int cg = p->c / p->groups, og = p->oc / p->groups;
  for (int r = r0; r < r1; r++) {
    const int b = r / p->oh, oy = r % p->oh;
    const int8_t *xb = x + (long)b * p->h * p->w * p->c;
    for (int ox = 0; ox < p->ow; ox++) {
      int8_t *yo = y + ((long)r * p->ow + ox) * p->oc;
      for (int o = 0; o < p->oc; o++) {
        const int g = o / og;
        const int32_t wz = p->w_zp ? p->w_zp[o] : 0;
        const int8_t *wo = p->weight + (long)o * p->kh * p->kw * cg;
        int32_t acc = p->bias ? p->bias[o] : 0;
        for (int ky = 0; ky < p->kh; ky++) {
          const int iy = oy * p->sh - p->pad_t + ky * p->dh;
          if (iy < 0 || iy >= p->h) continue; /* padding: x - in_zp = 0 */
          for (int kx = 0; kx < p->kw; kx++) {
            const int ix = ox * p->sw - p->pad_l + kx * p->dw;
            if (ix < 0 || ix >= p->w) continue;
            const int8_t *xi = xb + ((long)iy * p->w + ix) * p->c + g * cg;
            const int8_t *wk = wo + (ky * p->kw + kx) * cg;
            for (int i = 0; i < cg; i++)
              acc += ((int32_t)xi[i] - p->in_zp) * ((int32_t)wk[i] - wz);
          }
        }
        yo[o] = rt_requant_out(acc, rq_mult(&p->rq, o), rq_shift(&p->rq, o), p->rq.out_zp,
                               p->rq.act_min, p->rq.act_max);
      }
    }
  }
}

void rt_fc_ref(const rt_fc_p *p, const int8_t *x, int8_t *y, int r0, int r1) {
  for (int r = r0; r < r1; r++) {
    const int8_t *xr = x + (long)r * p->k;
    for (int o = 0; o < p->o; o++) {
      const int32_t wz = p->w_zp ? p->w_zp[o] : 0;
      const int8_t *wo = p->weight + (long)o * p->k;
      int32_t acc = p->bias ? p->bias[o] : 0;
      for (int i = 0; i < p->k; i++) acc += ((int32_t)xr[i] - p->in_zp) * ((int32_t)wo[i] - wz);
      y[(long)r * p->o + o] = rt_requant_out(acc, rq_mult(&p->rq, o), rq_shift(&p->rq, o),
                                             p->rq.out_zp, p->rq.act_min, p->rq.act_max);
    }
  }
}
