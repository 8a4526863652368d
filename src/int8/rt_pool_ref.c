/* Reference int8 pooling (average, max, global average), NHWC. Portable
 * C99, no allocation, no libc. */
#include "int8/rt_kernels.h"
#include "int8/rt_requant.h"

void rt_avgpool_ref(const rt_pool_p *p, const int8_t *x, int8_t *y, int r0, int r1) {
  for (int r = r0; r < r1; r++) {
    const int b = r / p->oh, oy = r % p->oh;
    const int8_t *xb = x + (long)b * p->h * p->w * p->c;
    for (int ox = 0; ox < p->ow; ox++) {
      int8_t *yo = y + ((long)r * p->ow + ox) * p->c;
      for (int ch = 0; ch < p->c; ch++) {
        int32_t acc = 0;
        int count = 0;
        for (int ky = 0; ky < p->kh; ky++) {
          const int iy = oy * p->sh - p->pad_t + ky;
          for (int kx = 0; kx < p->kw; kx++) {
            const int ix = ox * p->sw - p->pad_l + kx;
            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) {
              /* A padded tap counts but adds real 0 (x = in_zp). */
              count += p->count_include_pad;
              continue;
            }
            acc += (int32_t)xb[((long)iy * p->w + ix) * p->c + ch] - p->in_zp;
            count++;
          }
        }
        yo[ch] = rt_requant_out(acc, p->mult[count], p->shift[count], p->out_zp, p->act_min,
                                p->act_max);
      }
    }
  }
}

void rt_maxpool_ref(const rt_pool_p *p, const int8_t *x, int8_t *y, int r0, int r1) {
  for (int r = r0; r < r1; r++) {
    const int b = r / p->oh, oy = r % p->oh;
    const int8_t *xb = x + (long)b * p->h * p->w * p->c;
    for (int ox = 0; ox < p->ow; ox++) {
      int8_t *yo = y + ((long)r * p->ow + ox) * p->c;
      for (int ch = 0; ch < p->c; ch++) {
        int32_t m = -129; /* below every int8: a window of padding only stays empty */
        for (int ky = 0; ky < p->kh; ky++) {
          const int iy = oy * p->sh - p->pad_t + ky;
          if (iy < 0 || iy >= p->h) continue;
          for (int kx = 0; kx < p->kw; kx++) {
            const int ix = ox * p->sw - p->pad_l + kx;
            if (ix < 0 || ix >= p->w) continue;
            const int32_t v = xb[((long)iy * p->w + ix) * p->c + ch];
            if (v > m) m = v;
          }
        }
        if (m == -129) m = p->in_zp < -128 ? -128 : (p->in_zp > 127 ? 127 : p->in_zp);
        if (p->identity) {
          int32_t v = m < p->act_min ? p->act_min : m;
          yo[ch] = (int8_t)(v > p->act_max ? p->act_max : v);
        } else {
          yo[ch] = rt_requant_out(m - p->in_zp, p->mult[0], p->shift[0], p->out_zp, p->act_min,
                                  p->act_max);
        }
      }
    }
  }
}

void rt_gavgpool_ref(const rt_pool_p *p, const int8_t *x, int8_t *y, int32_t *acc, int r0,
                     int r1) {
  const long hw = (long)p->h * p->w;
  for (int r = r0; r < r1; r++) {
    const int8_t *xb = x + (long)r * hw * p->c;
    for (int ch = 0; ch < p->c; ch++) acc[ch] = 0;
    for (long i = 0; i < hw; i++)
      for (int ch = 0; ch < p->c; ch++) acc[ch] += xb[i * p->c + ch];
    for (int ch = 0; ch < p->c; ch++)
      y[(long)r * p->c + ch] =
          rt_requant_out(acc[ch] - (int32_t)(hw * p->in_zp), p->mult[0], p->shift[0], p->out_zp,
                         p->act_min, p->act_max);
  }
}
